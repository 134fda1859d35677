# The HIP (AMD) backend: src/hip, plus the vendor-neutral src/cuda sources
# compiled for AMD through the vendor header (src/cuda/qb_vendor.cuh ->
# src/hip/qb_vendor_hip.h, prelude src/hip/include/cuda_runtime.h).
#
# QBLAS_HIP: ON builds it (a HIP compiler required), OFF skips it, AUTO
# builds it when hipcc is found. No AMD GPU is needed to build.
#
# Every kernel source is compiled once per gfx target in QBLAS_HIP_TARGETS
# (default gfx90a;gfx942), each object holding that target's code object
# only, with its names made target-specific (src/hip/hip_names.h), so both
# targets live in one libqblas. The compiler of each target is
# QBLAS_HIP_COMPILER_<target>:
#   gfx90a  default hipcc (Debian: HIP 5.2, clang 15, rocm-device-libs);
#   gfx942  default clang++-19 (or -20/-18) -x hip -nogpulib with the
#           system's HIP headers: HIP 5.2 ships no gfx942 device library, so
#           the kernels take thread/block ids from the amdgcn builtins
#           (src/hip/hip_isa.h) and the few device-library functions they
#           call from src/hip/qb_hip_devlib.h (QB_HIP_NOGPULIB).
# A compiler whose name is hipcc is used with its device library; any other
# gets -nogpulib. With a current ROCm (6.x: hipcc knows gfx942):
#   cmake -DQBLAS_HIP=ON -DQBLAS_HIP_COMPILER_gfx90a=/opt/rocm/bin/hipcc \
#         -DQBLAS_HIP_COMPILER_gfx942=/opt/rocm/bin/hipcc ...
# The host code (src/hip/*.c, plain C) links libamdhip64.
set(QBLAS_HIP_TARGETS "gfx90a;gfx942" CACHE STRING "AMD gfx targets of the HIP backend")
set(QBLAS_WITH_HIP OFF)

find_program(QBLAS_HIPCC hipcc HINTS /opt/rocm/bin)
find_program(QBLAS_HIP_CLANG NAMES clang++-19 clang++-20 clang++-18 HINTS /opt/rocm/llvm/bin)
mark_as_advanced(QBLAS_HIPCC QBLAS_HIP_CLANG)
find_library(QBLAS_AMDHIP64 amdhip64 HINTS /opt/rocm/lib)
find_path(QBLAS_HIP_INCLUDE hip/hip_runtime_api.h HINTS /opt/rocm/include)
mark_as_advanced(QBLAS_AMDHIP64 QBLAS_HIP_INCLUDE)

set(qb_want_hip OFF)
if(QBLAS_HIP STREQUAL "ON")
  set(qb_want_hip ON)
elseif(QBLAS_HIP STREQUAL "AUTO" AND QBLAS_CUDA_SIM)
  # the simulator build runs the HIP backend on the simulated device instead (cmake/sim.cmake)
elseif(QBLAS_HIP STREQUAL "AUTO" AND QBLAS_HIPCC AND QBLAS_AMDHIP64 AND QBLAS_HIP_INCLUDE)
  set(qb_want_hip ON)
endif()

if(qb_want_hip)
  if(NOT QBLAS_AMDHIP64 OR NOT QBLAS_HIP_INCLUDE)
    message(FATAL_ERROR "QBLAS_HIP=ON: libamdhip64 / hip/hip_runtime_api.h not found (Debian: libamdhip64-dev)")
  endif()
  set(qb_hip_dir ${PROJECT_SOURCE_DIR}/src/hip)
  include(${CMAKE_CURRENT_LIST_DIR}/hip_sources.cmake) # qb_hip_kernel_sources
  set(qb_hip_kernels ${qb_hip_kernel_sources})

  set(qb_hip_objects "")
  foreach(t ${QBLAS_HIP_TARGETS})
    if(t MATCHES "^gfx94[012]$")
      set(qb_gfx942 1)
      set(qb_default_cxx "${QBLAS_HIP_CLANG}")
      if(NOT qb_default_cxx)
        set(qb_default_cxx "${QBLAS_HIPCC}")
      endif()
    elseif(t STREQUAL "gfx90a")
      set(qb_gfx942 0)
      set(qb_default_cxx "${QBLAS_HIPCC}")
    else()
      message(FATAL_ERROR "QBLAS_HIP_TARGETS: ${t} is not a target of the HIP backend (gfx90a, gfx942)")
    endif()
    set(QBLAS_HIP_COMPILER_${t} "${qb_default_cxx}" CACHE FILEPATH "HIP compiler of the ${t} objects")
    set(cxx "${QBLAS_HIP_COMPILER_${t}}")
    if(NOT cxx)
      message(FATAL_ERROR "QBLAS_HIP: no compiler for ${t} (hipcc, or clang++-19 for gfx942)")
    endif()
    get_filename_component(cxx_name "${cxx}" NAME)
    set(flags -x hip --offload-arch=${t} -O3 -std=c++17 -ffp-contract=off -fPIC
        -I${qb_hip_dir}/include -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/src
        -include cuda_runtime.h -DQB_HIP_TARGET=${t} -DQB_HIP_GFX942=${qb_gfx942})
    if(NOT cxx_name MATCHES "^hipcc")
      list(APPEND flags -nogpulib -DQB_HIP_NOGPULIB)
    endif()
    set(odir ${PROJECT_BINARY_DIR}/hip/${t})
    file(MAKE_DIRECTORY ${odir})
    foreach(src ${qb_hip_kernels})
      get_filename_component(n ${src} NAME_WE)
      set(obj ${odir}/${n}.o)
      add_custom_command(OUTPUT ${obj}
        COMMAND ${cxx} ${flags} -MD -MF ${obj}.d -c ${src} -o ${obj}
        DEPENDS ${src}
        DEPFILE ${obj}.d
        COMMENT "HIP ${t}: ${n}"
        VERBATIM)
      list(APPEND qb_hip_objects ${obj})
    endforeach()
    message(STATUS "qblas: HIP ${t} objects compiled by ${cxx}")
  endforeach()
  set_source_files_properties(${qb_hip_objects} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  add_custom_target(qblas_hip_objects DEPENDS ${qb_hip_objects})
  set(QBLAS_HIP_OBJECT_DIR ${PROJECT_BINARY_DIR}/hip) # tests/hip_mfma_check.sh reads them

  file(GLOB QBLAS_HIP_HOST_SRC CONFIGURE_DEPENDS ${qb_hip_dir}/*.c)
  target_sources(qblas PRIVATE ${QBLAS_HIP_HOST_SRC} ${qb_hip_objects})
  add_dependencies(qblas qblas_hip_objects)
  # src/hip/include first: the kernels' parameter headers (src/cuda/kernels_*.h,
  # read through hip_kernels.h) include <cuda_runtime_api.h>, HIP's there
  set(qb_hip_has "")
  foreach(t ${QBLAS_HIP_TARGETS})
    list(APPEND qb_hip_has QB_HIP_HAS_${t}=1) # the host code names the built targets' launcher tables
  endforeach()
  set_source_files_properties(${QBLAS_HIP_HOST_SRC} PROPERTIES
    COMPILE_DEFINITIONS "__HIP_PLATFORM_AMD__=1;${qb_hip_has}"
    INCLUDE_DIRECTORIES "${qb_hip_dir}/include;${PROJECT_SOURCE_DIR}/src;${QBLAS_HIP_INCLUDE}")
  # the kernel objects' host halves register their code objects with the HIP
  # runtime and use the C++ runtime
  target_link_libraries(qblas PUBLIC ${QBLAS_AMDHIP64} stdc++)
  set(QBLAS_WITH_HIP ON)
  list(APPEND QBLAS_BACKEND_OPS qb_hip_backend_ops)
  get_filename_component(qb_hip_libdir ${QBLAS_AMDHIP64} DIRECTORY)
  string(APPEND QBLAS_PC_LIBS_PRIVATE " -L${qb_hip_libdir} -lamdhip64 -lstdc++")
  message(STATUS "qblas: HIP backend built (${QBLAS_HIP_TARGETS})")
else()
  message(STATUS "qblas: HIP backend not built (QBLAS_HIP=${QBLAS_HIP})")
endif()
