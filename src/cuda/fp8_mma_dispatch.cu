/* fp8_mma_dispatch.cu - the extern "C" entry points of the mma.sync FP8
 * GEMM (kernels_fp8.h): pick the dtype pair's translation unit
 * (fp8_mma_<x>x<w>.cu), and the split-K reduction. */
#include "fp8_mma.cuh"
#include "qb_vendor.cuh"

namespace {

constexpr int RED_THREADS = 256;

/* y = ((sum over splits z, in order, of partial[z]) * sx) * sw (+ bias):
 * fp32, each step rounded once (OUTER scales; the order makes it deterministic). */
__global__ void __launch_bounds__(RED_THREADS) fp8_splitk_reduce(const qb_fp8_kparams p)
{
    const long long plane = (long long)p.m * p.n;
    for (long long i = blockIdx.x * (long long)RED_THREADS + threadIdx.x; i < plane;
         i += (long long)gridDim.x * RED_THREADS) {
        const int m = (int)(i / p.n), n = (int)(i % p.n);
        float s = p.partial[i];
        for (int z = 1; z < p.splits; ++z) s = __fadd_rn(s, p.partial[z * plane + i]);
        float v = __fmul_rn(__fmul_rn(s, p.sx_per_row ? p.sx[m] : p.sx[0]), p.sw_per_row ? p.sw[n] : p.sw[0]);
        if (p.bias) v = __fadd_rn(v, qb::load_as_f32(p.y_dtype, p.bias, n)); /* no add without bias: -0 stays */
        const long long o = (long long)m * p.ldy + n;
        if (p.y_dtype == QBLAS_DTYPE_F16)
            qb::put_y(static_cast<__half *>(p.y) + o, v);
        else if (p.y_dtype == QBLAS_DTYPE_BF16)
            qb::put_y(static_cast<__nv_bfloat16 *>(p.y) + o, v);
        else
            qb::put_y(static_cast<float *>(p.y) + o, v);
    }
}

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
    const long long plane = (long long)p->m * p->n;
    const long long blocks = (plane + RED_THREADS - 1) / RED_THREADS;
    QB_LAUNCH((unsigned)(blocks < 4096 ? blocks : 4096), RED_THREADS, 0, s, fp8_splitk_reduce)(*p);
    return cudaGetLastError();
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
