/* gemm_reduce.cu - the split-K reductions of the byte-operand GEMMs (W4A8,
 * FP8 with OUTER scales). Vendor-neutral (no instruction of either vendor):
 * the CUDA kernels and the AMD kernels (src/hip) write their partial sums in
 * the same layouts, and a HIP build compiles this file for gfx90a / gfx942
 * unchanged. The W4A16 reduce is w4a16_aux.cu's, which is neutral too.
 *
 *   W4A8  partial [splits][m][np] int32: the sum is exact (mod 2^32, and the
 *         true sum fits in int32), so Y does not depend on the split count
 *         or order and equals the unsplit kernel's; then the epilogue
 *         rn(rn(rn_f32(acc) * sx) * s1) (+ bias).
 *   FP8   partial [splits][m][n] fp32, unscaled: added in split order
 *         (deterministic), then rn(rn(S * sx) * sw) (+ bias).
 */
#include "kernels_fp8.h"
#include "kernels_w4a8.h"
#include "qb_vendor.cuh"
#include "qblas/qblas_types.h"
#include "w4a16_out.cuh"

namespace {

constexpr int RED_THREADS = 256;

template <typename Y> __global__ void __launch_bounds__(RED_THREADS) w4a8_reduce_kernel(const qb_w4a8_kparams p)
{
    const long long total = (long long)p.m * p.n;
    for (long long i = blockIdx.x * (long long)RED_THREADS + threadIdx.x; i < total;
         i += (long long)gridDim.x * RED_THREADS) {
        const int m = (int)(i / p.n), n = (int)(i % p.n);
        uint32_t sum = 0;
        for (int s = 0; s < p.splits; ++s) sum += (uint32_t)p.partial[((long long)s * p.m + m) * p.np + n];
        /* as the unsplit epilogue (epilogue_i8) computes it */
        float v = __fmul_rn(__fmul_rn(__int2float_rn((int32_t)sum), p.sx_per_row ? p.sx[m] : p.sx[0]), p.s1[n]);
        if (p.bias) v = __fadd_rn(v, qb::load_as_f32(p.y_dtype, p.bias, n));
        qb::put_y(static_cast<Y *>(p.y) + (long long)m * p.ldy + n, v);
    }
}

__global__ void __launch_bounds__(RED_THREADS) fp8_reduce_kernel(const qb_fp8_kparams p)
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

} // namespace

extern "C" cudaError_t qb_w4a8_reduce(const qb_w4a8_kparams *p, cudaStream_t s)
{
    const long long total = (long long)p->m * p->n;
    const long long want = (total + RED_THREADS - 1) / RED_THREADS;
    const unsigned blocks = (unsigned)(want < 65535 ? want : 65535);
    if (p->y_dtype == QBLAS_DTYPE_F16)
        QB_LAUNCH(blocks, RED_THREADS, 0, s, w4a8_reduce_kernel<__half>)(*p);
    else if (p->y_dtype == QBLAS_DTYPE_BF16)
        QB_LAUNCH(blocks, RED_THREADS, 0, s, w4a8_reduce_kernel<__nv_bfloat16>)(*p);
    else
        QB_LAUNCH(blocks, RED_THREADS, 0, s, w4a8_reduce_kernel<float>)(*p);
    return cudaGetLastError();
}

extern "C" cudaError_t qb_fp8_splitk_reduce(const qb_fp8_kparams *p, cudaStream_t s)
{
    const long long plane = (long long)p->m * p->n;
    const long long blocks = (plane + RED_THREADS - 1) / RED_THREADS;
    QB_LAUNCH((unsigned)(blocks < 4096 ? blocks : 4096), RED_THREADS, 0, s, fp8_reduce_kernel)(*p);
    return cudaGetLastError();
}
