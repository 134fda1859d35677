/* sp24_f16.cu - the 2:4 sparse GEMM kernels (sp24_kernel.cuh) for f16 weights
 * and activations, one translation unit per dtype to keep compile times short. */
#include "sp24_kernel.cuh"

extern "C" cudaError_t qb_sp24_launch_f16(int bx, int stages, const qb_sp24_kparams *p, cudaStream_t s)
{
    return qb::sp24_launch<qb::SP24_F16>(bx, stages, false, p, s);
}

extern "C" cudaError_t qb_sp24_prepare_f16(int smem_max) { return qb::sp24_prepare<qb::SP24_F16>(smem_max); }
