/* fp8_mma_dispatch.cu - the extern "C" entry points of the mma.sync FP8
 * GEMM (kernels_fp8.h): pick the dtype pair's translation unit
 * (fp8_mma_<x>x<w>.cu), then the split-K reduction (gemm_reduce.cu). */
#include "fp8_mma.cuh"
#include "qb_vendor.cuh"

namespace {

cudaError_t launch_pair(int bm, int stages, const qb_fp8_kparams *p, cudaStream_t s)
{
#define QB_FP8_PICK(NAME, XT, WT) \
    if (p->x_dtype == XT && p->w_dtype == WT) return qb::fp8_mma_launch_##NAME(bm, stages, p, s);
    QB_FP8_MMA_PAIRS(QB_FP8_PICK)
#undef QB_FP8_PICK
    return cudaErrorInvalidValue;
}

} // namespace

extern "C" cudaError_t qb_fp8_mma_launch(int bm, int stages, const qb_fp8_kparams *p, cudaStream_t s)
{
    if (p->splits < 1 || (p->splits > 1 && (p->scales != QB_FP8_SCALES_OUTER || !p->partial)))
        return cudaErrorInvalidValue;
    cudaError_t e = launch_pair(bm, stages, p, s);
    if (e != cudaSuccess || p->splits == 1) return e;
    return qb_fp8_splitk_reduce(p, s);
}

extern "C" cudaError_t qb_fp8_mma_prepare(int smem_max)
{
    cudaError_t e = cudaSuccess;
#define QB_FP8_PREP(NAME, XT, WT) \
    if (e == cudaSuccess) e = qb::fp8_mma_prepare_##NAME(smem_max);
    QB_FP8_MMA_PAIRS(QB_FP8_PREP)
#undef QB_FP8_PREP
    return e;
}
