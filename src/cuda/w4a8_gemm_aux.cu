/* w4a8_gemm_aux.cu - the W4A8 GEMM's entry points: the launch and
 * shared-memory dispatch over the translation units of its configurations
 * (w4a8_gemm_m16/m32/m64/m128.cu), and the split-K reduce. */
#include "qb_vendor.cuh"
#include "w4a8_kernel.cuh"

namespace {

constexpr int RED_THREADS = 256;

/* y[m, n] = epilogue(sum over splits of partial[s][m][n]): the int32 sum is
 * exact (mod 2^32, and the true sum fits in int32), so the result does not
 * depend on the split count or order and equals the unsplit kernel's. */
template <typename Y> __global__ void __launch_bounds__(RED_THREADS) reduce_kernel(const qb_w4a8_kparams p)
{
    const long long total = (long long)p.m * p.n;
    for (long long i = blockIdx.x * (long long)RED_THREADS + threadIdx.x; i < total;
         i += (long long)gridDim.x * RED_THREADS) {
        const int m = (int)(i / p.n), n = (int)(i % p.n);
        uint32_t sum = 0;
        for (int s = 0; s < p.splits; ++s) sum += (uint32_t)p.partial[((long long)s * p.m + m) * p.np + n];
        float v = qb::w4a8_scale((int32_t)sum, p.sx_per_row ? p.sx[m] : p.sx[0], p.s1[n]);
        if (p.bias) v = __fadd_rn(v, qb::load_as_f32(p.y_dtype, p.bias, n));
        qb::put_y(static_cast<Y *>(p.y) + (long long)m * p.ldy + n, v);
    }
}

} // namespace

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

extern "C" cudaError_t qb_w4a8_reduce(const qb_w4a8_kparams *p, cudaStream_t s)
{
    const long long total = (long long)p->m * p->n;
    const long long want = (total + RED_THREADS - 1) / RED_THREADS;
    const unsigned blocks = (unsigned)(want < 65535 ? want : 65535);
    if (p->y_dtype == QBLAS_DTYPE_F16)
        QB_LAUNCH(blocks, RED_THREADS, 0, s, reduce_kernel<__half>)(*p);
    else if (p->y_dtype == QBLAS_DTYPE_BF16)
        QB_LAUNCH(blocks, RED_THREADS, 0, s, reduce_kernel<__nv_bfloat16>)(*p);
    else
        QB_LAUNCH(blocks, RED_THREADS, 0, s, reduce_kernel<float>)(*p);
    return cudaGetLastError();
}
