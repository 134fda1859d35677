/* qb_vendor.cuh - the few vendor-specific spellings the kernels need, in one
 * place so a HIP build can share the kernel sources: the warp (wavefront)
 * width and the warp shuffle. Kernels never write the width as a literal. */
#ifndef QBLAS_VENDOR_CUH
#define QBLAS_VENDOR_CUH

#if defined(__HIPCC__)
constexpr int QB_WARP_SIZE = 64; /* CDNA wavefront */
#define QB_SHFL_XOR(v, lane) __shfl_xor((v), (lane), QB_WARP_SIZE)
#else
constexpr int QB_WARP_SIZE = 32;
#define QB_SHFL_XOR(v, lane) __shfl_xor_sync(0xFFFFFFFFu, (v), (lane), QB_WARP_SIZE)
#endif

#endif /* QBLAS_VENDOR_CUH */
