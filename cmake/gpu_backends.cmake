# GPU backends.
#
# QBLAS_CUDA: ON builds src/cuda (nvcc required), OFF skips it, AUTO builds it
# when a CUDA compiler is found (no GPU is needed to build: CI compiles every
# target on a GPU-less machine).
# QBLAS_HIP: AUTO/ON/OFF likewise (cmake/hip.cmake).
#
# The CUDA build: kernels (src/cuda/*.cu) compile in an object library for
# sm_80, sm_89 and sm_90a (explicit -gencode: CMake 3.25 cannot spell 90a
# in CUDA_ARCHITECTURES) and are merged into libqblas.a together with the
# backend's host code (src/cuda/*.c, plain C). libqblas then links the
# static CUDA runtime publicly; the installed package finds it again through
# find_dependency(CUDAToolkit), pkg-config through Libs.private.
set(QBLAS_CUDA_GENCODE
    "-gencode=arch=compute_80,code=sm_80"
    "-gencode=arch=compute_89,code=sm_89"
    "-gencode=arch=compute_90a,code=sm_90a"
    CACHE STRING "nvcc -gencode flags of the CUDA kernels")
mark_as_advanced(QBLAS_CUDA_GENCODE)

set(QBLAS_WITH_CUDA OFF)          # read by tests/ and the package files
set(QBLAS_CONFIG_DEPENDENCIES "") # extra lines for qblasConfig.cmake
set(QBLAS_PC_LIBS_PRIVATE "")     # extra Libs.private for qblas.pc

file(GLOB QBLAS_CUDA_HOST_SRC CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/cuda/*.c)
file(GLOB QBLAS_CUDA_KERNEL_SRC CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/cuda/*.cu)

set(qb_want_cuda OFF)
if(QBLAS_CUDA STREQUAL "ON")
  set(qb_want_cuda ON)
elseif(QBLAS_CUDA STREQUAL "AUTO")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(qb_want_cuda ON)
  endif()
endif()

if(qb_want_cuda)
  if(NOT QBLAS_CUDA_KERNEL_SRC)
    message(FATAL_ERROR "QBLAS_CUDA=${QBLAS_CUDA} but src/cuda has no kernels")
  endif()
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES OFF) # targets below pass their own -gencode
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)

  add_library(qblas_cuda_kernels OBJECT ${QBLAS_CUDA_KERNEL_SRC})
  # Start from no options: the directory's (e.g. -fsanitize for the C code)
  # are host-compiler flags nvcc does not take.
  set_target_properties(qblas_cuda_kernels PROPERTIES
    COMPILE_OPTIONS ""
    CUDA_ARCHITECTURES OFF
    CUDA_STANDARD 17
    CUDA_STANDARD_REQUIRED ON
    POSITION_INDEPENDENT_CODE ON)
  target_include_directories(qblas_cuda_kernels PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  # -lineinfo: compute-sanitizer and profilers point at source lines; no effect on the code.
  target_compile_options(qblas_cuda_kernels PRIVATE ${QBLAS_CUDA_GENCODE} -lineinfo -O3)

  target_sources(qblas PRIVATE ${QBLAS_CUDA_HOST_SRC} $<TARGET_OBJECTS:qblas_cuda_kernels>)
  set_target_properties(qblas PROPERTIES CUDA_ARCHITECTURES OFF) # its CUDA code is the object library's
  target_compile_definitions(qblas PRIVATE QBLAS_HAVE_CUDA)
  # nvcc's host-side launch code uses the C++ runtime (static-local guards):
  # name it, so that C programs (and C-only CMake projects) link libqblas too.
  target_link_libraries(qblas PUBLIC CUDA::cudart_static stdc++)

  set(QBLAS_WITH_CUDA ON)
  list(APPEND QBLAS_BACKEND_OPS qb_cuda_backend_ops)
  set(QBLAS_CONFIG_DEPENDENCIES "find_dependency(CUDAToolkit)")
  set(QBLAS_PC_LIBS_PRIVATE " -L${CUDAToolkit_LIBRARY_DIR} -lcudart_static -ldl -lrt -lstdc++")
  message(STATUS "qblas: CUDA backend built (${CMAKE_CUDA_COMPILER_VERSION}; ${QBLAS_CUDA_GENCODE})")

  # GPU timings (tools/gpu-check, tools/main) come from bench/qblas_bench, which links cuBLAS/cuBLASLt itself.
else()
  message(STATUS "qblas: CUDA backend not built (QBLAS_CUDA=${QBLAS_CUDA}${CMAKE_CUDA_COMPILER})")
endif()

include(${CMAKE_CURRENT_LIST_DIR}/hip.cmake) # QBLAS_HIP: src/hip for gfx90a and gfx942
