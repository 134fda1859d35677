/* qb_vendor.cuh - the few vendor-specific spellings the kernels need, in one
 * place so a HIP build can share the kernel sources: the warp (wavefront)
 * width and the warp shuffle. Kernels never write the width as a literal.
 *
 * Also the spellings a host C++ compiler cannot parse: kernel launches,
 * __shared__ arrays and architecture conditions. The CPU simulator
 * (QBLAS_CUDA_SIM, src/sim) compiles these same kernel sources with
 * clang++/g++ and turns them into calls of its runtime; nvcc (and hipcc)
 * see the usual CUDA forms and produce the same code as before. */
#ifndef QBLAS_VENDOR_CUH
#define QBLAS_VENDOR_CUH

#if defined(__HIPCC__) || defined(QB_HIP_SIM)
/* QB_WARP_SIZE from the target (64 on CDNA), QB_SHFL_XOR, and the launch
 * geometry and barriers taken from the hardware, not the device library */
#include "../hip/qb_vendor_hip.h"
#else
constexpr int QB_WARP_SIZE = 32;
#define QB_SHFL_XOR(v, lane) __shfl_xor_sync(0xFFFFFFFFu, (v), (lane), QB_WARP_SIZE)
#endif

/* QB_LAUNCH(grid, block, smem, stream, kernel)(args): the kernel comes last
 * (__VA_ARGS__) so that the commas of its template arguments need no
 * parentheses. QB_DYNAMIC_SMEM: the launch's dynamic shared memory, aligned
 * to `align` (16 is what CUDA guarantees for it). QB_SHARED_ARRAY: a static
 * __shared__ array; the simulator's is a pointer, so code never takes
 * sizeof of it. QB_IF_ARCH_GE(cc) / QB_IF_SM90A: the statement that follows
 * runs only on compute capability >= cc / on sm_90a; nvcc sees if constexpr
 * on a compile-time constant, so the branch of another architecture is never
 * instantiated (templates) or emitted, and the simulator picks at run time
 * the architecture it emulates. */
#if defined(QBLAS_CUDA_SIM) || defined(QB_HIP_SIM)
#include "sim/qbsim_device.h" /* ::qbsim::launch (qbsim_launch.h), dynamic_smem, static_smem, arch, arch_sm90a */
#define QB_LAUNCH(grid, block, smem, stream, ...) ::qbsim::launch<&__VA_ARGS__>((grid), (block), (smem), (stream))
#define QB_DYNAMIC_SMEM(T, name, align) T *const name = static_cast<T *>(::qbsim::dynamic_smem(align))
#define QB_SHARED_ARRAY(T, name, count) T *const name = ::qbsim::static_smem<T>((count), __FILE__, __LINE__)
#if defined(QB_HIP_SIM)
/* AMD objects on the simulated device: no NVIDIA branch, as for hipcc */
#define QB_IF_ARCH_GE(cc) if constexpr (false)
#define QB_IF_SM90A if constexpr (false)
#else
#define QB_IF_ARCH_GE(cc) if (::qbsim::arch() >= (cc))
#define QB_IF_SM90A if (::qbsim::arch_sm90a())
#endif
#else
/* hipcc takes these CUDA forms as they are (there QB_CUDA_ARCH is 0). The
 * AMD objects of a simulator build (QB_HIP_SIM: the HIP sources compiled
 * as C++ for the simulated gfx90a / gfx942, cmake/sim.cmake) take the
 * simulator's forms above. */
#define QB_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<(grid), (block), (smem), (stream)>>>
#define QB_DYNAMIC_SMEM(T, name, align) extern __shared__ __align__(align) T name[]
#define QB_SHARED_ARRAY(T, name, count) __shared__ T name[count]
/* __CUDA_ARCH__ in nvcc's device passes, 0 in its host pass */
#if defined(__CUDA_ARCH__)
#define QB_CUDA_ARCH __CUDA_ARCH__
#else
#define QB_CUDA_ARCH 0
#endif
/* the sm_90a feature set (wgmma, setmaxnreg): only the compute_90a pass defines it */
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define QB_CUDA_FEAT_SM90A 1
#else
#define QB_CUDA_FEAT_SM90A 0
#endif
#define QB_IF_ARCH_GE(cc) if constexpr (QB_CUDA_ARCH >= (cc))
#define QB_IF_SM90A if constexpr (QB_CUDA_ARCH >= 900 && QB_CUDA_FEAT_SM90A)
#endif

#endif /* QBLAS_VENDOR_CUH */
