/* sp24_bf16.cu - the 2:4 sparse GEMM kernels (sp24_kernel.cuh) for bf16 weights
 * and activations, one translation unit per dtype to keep compile times short. */
#include "sp24_kernel.cuh"

extern "C" cudaError_t qb_sp24_launch_bf16(int bx, int stages, const qb_sp24_kparams *p, cudaStream_t s)
{
    return qb::sp24_launch<qb::SP24_BF16>(bx, stages, false, p, s);
}

extern "C" cudaError_t qb_sp24_prepare_bf16(int smem_max) { return qb::sp24_prepare<qb::SP24_BF16>(smem_max); }
