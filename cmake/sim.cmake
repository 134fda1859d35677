# QBLAS_CUDA_SIM: the CUDA backend on a simulated device (src/sim), and the
# HIP backend on a simulated AMD device (the same simulator: wave64).
#
# The backend's host code (src/cuda/*.c) and its kernels (src/cuda/*.cu,
# compiled as C++ by the host compiler) are built against the simulator's
# runtime and device headers (src/sim/include) instead of NVIDIA's; the
# library then drives a simulated sm_80 / sm_89 / sm_90a device
# (QBLAS_SIM_ARCH at run time). No GPU and no CUDA toolkit are needed.
# With clang the kernels are compiled with load/store tracing, which the
# simulator's memory and race checks need (src/sim/memcheck.cc); other
# compilers build a simulator without them (it says so when it starts).
option(QBLAS_CUDA_SIM "Build the CUDA backend against the simulated device (src/sim) instead of a real GPU" OFF)
set(QBLAS_WITH_CUDA_SIM OFF)
if(NOT QBLAS_CUDA_SIM)
  return()
endif()
if(QBLAS_WITH_CUDA OR QBLAS_WITH_HIP)
  message(FATAL_ERROR "QBLAS_CUDA_SIM replaces the real GPU backends: configure it with -DQBLAS_CUDA=OFF -DQBLAS_HIP=OFF")
endif()
find_package(Boost 1.74 REQUIRED COMPONENTS context)

file(GLOB QBLAS_SIM_SRC CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/sim/*.cc ${PROJECT_SOURCE_DIR}/src/sim/twins/*.cc)
set(qb_sim_kernel_flags -x c++ -include cuda_runtime.h -ffp-contract=off -fno-strict-aliasing -Wno-unused-parameter)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND qb_sim_kernel_flags -fsanitize-coverage=func,inline-8bit-counters,trace-loads,trace-stores)
  if(QBLAS_SANITIZE)
    # Kernels under ASan, UBSan's alignment check (the vector loads' types say
    # what the hardware needs) and -O1: the rest of UBSan and debug info make
    # the heavily unrolled kernels compile 5x slower for little. Locals stay
    # on the fiber's stack, where the memory check expects them.
    list(APPEND qb_sim_kernel_flags -O1 -g0 -fno-sanitize=undefined -fsanitize=alignment
         -fsanitize-address-use-after-return=never)
  endif()
  set(QBLAS_SIM_MEMCHECK 1)
else()
  message(WARNING "qblas: QBLAS_CUDA_SIM without clang: the simulator's memory and race checks are off")
  set(QBLAS_SIM_MEMCHECK 0)
endif()
set_source_files_properties(${QBLAS_CUDA_KERNEL_SRC} PROPERTIES LANGUAGE CXX COMPILE_OPTIONS "${qb_sim_kernel_flags}")

# Each kernel's __launch_bounds__, as nvcc compiles them (.maxntid of the
# PTX, compute_90a), so the simulator refuses what the driver refuses. nvcc
# only emits PTX here (no ptxas): seconds per file. Without nvcc the table
# is empty and the simulator says launch bounds are not checked.
find_program(QBLAS_SIM_NVCC nvcc HINTS /usr/local/cuda/bin)
set(qb_lb ${CMAKE_CURRENT_BINARY_DIR}/sim_launch_bounds.cc)
set(qb_ptxs "")
if(QBLAS_SIM_NVCC)
  # the library's kernels and the simulator's own test kernels
  file(GLOB qb_sim_test_cu CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/sim/*.cu ${PROJECT_SOURCE_DIR}/tests/gpu/*.cu)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/sim-ptx)
  foreach(cu ${QBLAS_CUDA_KERNEL_SRC} ${qb_sim_test_cu})
    get_filename_component(n ${cu} NAME_WE)
    set(ptx ${CMAKE_CURRENT_BINARY_DIR}/sim-ptx/${n}.ptx)
    add_custom_command(OUTPUT ${ptx}
      COMMAND ${QBLAS_SIM_NVCC} -std=c++17 -O3 -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/src
              -I${PROJECT_SOURCE_DIR}/tests --ptx
              -arch=compute_90a ${cu} -o ${ptx}
      DEPENDS ${cu} IMPLICIT_DEPENDS CXX ${cu}
      COMMENT "nvcc --ptx ${n}.cu (the simulator's launch-bounds table)" VERBATIM)
    list(APPEND qb_ptxs ${ptx})
  endforeach()
endif()
add_custom_command(OUTPUT ${qb_lb}
  COMMAND ${CMAKE_COMMAND} -DOUT=${qb_lb} "-DPTX=${qb_ptxs}" -P ${PROJECT_SOURCE_DIR}/cmake/sim_launch_bounds.cmake
  DEPENDS ${qb_ptxs} ${PROJECT_SOURCE_DIR}/cmake/sim_launch_bounds.cmake VERBATIM)

target_sources(qblas PRIVATE ${QBLAS_CUDA_HOST_SRC} ${QBLAS_CUDA_KERNEL_SRC} ${QBLAS_SIM_SRC} ${qb_lb})
# the simulator's stand-ins for the toolkit headers come first, for the
# library and for every program built on it (tests, bench, examples)
target_include_directories(qblas BEFORE PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src/sim/include>)
target_include_directories(qblas PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(qblas PRIVATE QBLAS_HAVE_CUDA QBLAS_CUDA_SIM QBLAS_SIM_MEMCHECK=${QBLAS_SIM_MEMCHECK})
target_link_libraries(qblas PUBLIC Boost::context stdc++ ${CMAKE_DL_LIBS})
set(QBLAS_WITH_CUDA ON)
set(QBLAS_WITH_CUDA_SIM ON)
list(APPEND QBLAS_BACKEND_OPS qb_cuda_backend_ops)

# The HIP backend on the simulated gfx90a / gfx942 (QBLAS_SIM_ARCH=gfx90a or
# gfx942 at run time). Its kernels (src/hip/*.hip and the vendor-neutral
# src/cuda sources cmake/hip.cmake lists) are compiled as C++ once per
# target, exactly as for the real targets (names per target, hip_names.h;
# the HIP prelude src/hip/include) except that QB_HIP_SIM makes the
# instruction wrappers (src/hip/hip_isa.h) call the simulator and the HIP
# runtime names are the simulator's (src/sim/include/hip). The host code
# (src/hip/*.c) is the real backend's, on the simulator's HIP runtime.
include(${CMAKE_CURRENT_LIST_DIR}/hip_sources.cmake) # qb_hip_kernel_sources
set_source_files_properties(${qb_hip_kernel_sources} PROPERTIES LANGUAGE CXX COMPILE_OPTIONS "${qb_sim_kernel_flags}")
foreach(t gfx90a gfx942)
  set(gfx942 0)
  if(t STREQUAL "gfx942")
    set(gfx942 1)
  endif()
  add_library(qblas_hipsim_${t} OBJECT ${qb_hip_kernel_sources})
  set_target_properties(qblas_hipsim_${t} PROPERTIES POSITION_INDEPENDENT_CODE ON CXX_STANDARD 17)
  # the HIP prelude first (its cuda_runtime.h), then the simulator's headers
  target_include_directories(qblas_hipsim_${t} BEFORE PRIVATE ${PROJECT_SOURCE_DIR}/src/hip/include
                             ${PROJECT_SOURCE_DIR}/src/sim/include)
  target_include_directories(qblas_hipsim_${t} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(qblas_hipsim_${t} PRIVATE QB_HIP_SIM QB_HIP_TARGET=${t} QB_HIP_GFX942=${gfx942}
                             QB_HIP_WAVE_SIZE=64 QBLAS_SIM_MEMCHECK=${QBLAS_SIM_MEMCHECK})
  target_sources(qblas PRIVATE $<TARGET_OBJECTS:qblas_hipsim_${t}>)
endforeach()
file(GLOB qb_hip_host_src CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/hip/*.c)
target_sources(qblas PRIVATE ${qb_hip_host_src})
set_source_files_properties(${qb_hip_host_src} PROPERTIES COMPILE_DEFINITIONS "QB_HIP_HAS_gfx90a=1;QB_HIP_HAS_gfx942=1")
list(APPEND QBLAS_BACKEND_OPS qb_hip_backend_ops)
set(QBLAS_WITH_HIP_SIM ON)
message(STATUS "qblas: CUDA and HIP backends on the simulated device (src/sim; memory checks ${QBLAS_SIM_MEMCHECK})")
