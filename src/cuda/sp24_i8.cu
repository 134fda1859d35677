/* sp24_i8.cu - the 2:4 sparse GEMM kernels (sp24_kernel.cuh) for i8 weights
 * and activations, one translation unit per dtype to keep compile times short. */
#include "sp24_kernel.cuh"

extern "C" cudaError_t qb_sp24_launch_i8(int bx, int stages, const qb_sp24_kparams *p, cudaStream_t s)
{
    return qb::sp24_launch<qb::SP24_I8>(bx, stages, false, p, s);
}

extern "C" cudaError_t qb_sp24_prepare_i8(int smem_max) { return qb::sp24_prepare<qb::SP24_I8>(smem_max); }
