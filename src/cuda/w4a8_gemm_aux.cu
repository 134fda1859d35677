/* w4a8_gemm_aux.cu - the W4A8 GEMM's entry points: the launch and
 * shared-memory dispatch over the translation units of its configurations
 * (w4a8_gemm_m16/m32/m64/m128.cu). The split-K reduce is gemm_reduce.cu's. */
#include "qb_vendor.cuh"
#include "w4a8_kernel.cuh"

extern "C" cudaError_t qb_w4a8_launch(int bm, int stages, const qb_w4a8_kparams *p, cudaStream_t s)
{
    switch (bm) {
    case 16: return qb::w4a8_launch_m16(bm, stages, p, s);
    case 32: return qb::w4a8_launch_m32(bm, stages, p, s);
    case 64: return qb::w4a8_launch_m64(bm, stages, p, s);
    case 128: return qb::w4a8_launch_m128(bm, stages, p, s);
    default: return cudaErrorInvalidValue;
    }
}

extern "C" cudaError_t qb_w4a8_prepare(int smem_max)
{
    cudaError_t e = qb::w4a8_prepare_m16(smem_max);
    if (e == cudaSuccess) e = qb::w4a8_prepare_m32(smem_max);
    if (e == cudaSuccess) e = qb::w4a8_prepare_m64(smem_max);
    if (e == cudaSuccess) e = qb::w4a8_prepare_m128(smem_max);
    return e;
}
