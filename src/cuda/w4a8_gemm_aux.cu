/* w4a8_gemm_aux.cu - the W4A8 GEMM's entry points: the launch and
 * shared-memory dispatch over the translation units of its configurations
 * (w4a8_gemm_m16/m32/m64/m128.cu). The split-K reduce is gemm_reduce.cu's. */
#include "qb_vendor.cuh"
#include "w4a8_kernel.cuh"

/* Every configuration's block rows have their translation unit. */
static constexpr bool has_tu(int bm)
{
#define QB_W4A8_OR_IS(BM) || bm == BM
    return false QB_W4A8_BLOCK_ROWS(QB_W4A8_OR_IS);
#undef QB_W4A8_OR_IS
}
#define QB_W4A8_HAS_TU(name, a80, a89, a90, BM, ...) \
    static_assert(has_tu(BM), #name ": no w4a8_gemm_m<BM>.cu builds it");
QB_W4A8_CONFIGS(QB_W4A8_HAS_TU)
#undef QB_W4A8_HAS_TU

extern "C" cudaError_t qb_w4a8_launch(int bm, int stages, const qb_w4a8_kparams *p, cudaStream_t s)
{
#define QB_W4A8_PICK(BM) \
    if (bm == BM) return qb::w4a8_launch_m##BM(bm, stages, p, s);
    QB_W4A8_BLOCK_ROWS(QB_W4A8_PICK)
#undef QB_W4A8_PICK
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t qb_w4a8_prepare(int smem_max)
{
    cudaError_t e = cudaSuccess;
#define QB_W4A8_PREP(BM) \
    if (e == cudaSuccess) e = qb::w4a8_prepare_m##BM(smem_max);
    QB_W4A8_BLOCK_ROWS(QB_W4A8_PREP)
#undef QB_W4A8_PREP
    return e;
}
