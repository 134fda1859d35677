/* sp24_fp8_e4m3.cu - the 2:4 sparse GEMM kernels (sp24_kernel.cuh) for fp8 e4m3
 * weights, with e4m3 or e5m2 activations, per-tensor / per-row or block
 * scales. mma.sp with fp8 types needs sm_89: on sm_80 the kernels are
 * built as traps and the registry never lists them there. */
#include "sp24_kernel.cuh"

extern "C" cudaError_t qb_sp24_launch_fp8_e4m3(int x_e5m2, int block, int bx, int stages, const qb_sp24_kparams *p,
                                    cudaStream_t s)
{
    constexpr int W = qb::SP24_FP8 + 0;
    return x_e5m2 ? qb::sp24_launch<W + 1>(bx, stages, block != 0, p, s)
                  : qb::sp24_launch<W>(bx, stages, block != 0, p, s);
}

extern "C" cudaError_t qb_sp24_prepare_fp8_e4m3(int smem_max)
{
    constexpr int W = qb::SP24_FP8 + 0;
    cudaError_t e = qb::sp24_prepare<W>(smem_max);
    return e == cudaSuccess ? qb::sp24_prepare<W + 1>(smem_max) : e;
}
