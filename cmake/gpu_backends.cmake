# GPU backends. QBLAS_CUDA / QBLAS_HIP: AUTO builds a backend when its
# compiler and its sources are present; ON requires them; OFF skips.
# Until src/cuda and src/hip hold kernels there is nothing to build, and the
# handle answers NOT_SUPPORTED for those backends.
foreach(be CUDA HIP)
  string(TOLOWER ${be} be_dir)
  file(GLOB_RECURSE be_src CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${be_dir}/*.c ${PROJECT_SOURCE_DIR}/src/${be_dir}/*.cu
       ${PROJECT_SOURCE_DIR}/src/${be_dir}/*.cpp)
  if(QBLAS_${be} STREQUAL "ON" AND NOT be_src)
    message(FATAL_ERROR "QBLAS_${be}=ON but src/${be_dir} has no backend sources yet")
  endif()
  if(QBLAS_${be} STREQUAL "OFF" OR NOT be_src)
    message(STATUS "qblas: ${be} backend not built (QBLAS_${be}=${QBLAS_${be}}, sources: ${be_src})")
  endif()
endforeach()
