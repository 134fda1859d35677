/* fp8_mma.cuh - the FP8 GEMM on mma.sync (sm_89+: m16n8k32 e4m3/e5m2 x
 * e4m3/e5m2 -> f32), for sm_89 and for small M on sm_90a.
 *
 *   P(m,n,kb) = sum of x*w over the 128-k block kb       tensor cores, fp32 out
 *   OUTER:    S = sum over kb of P;  Y = ((S * sx) * sw) (+ bias)
 *   BLOCK128: acc = 0; for kb: acc = acc + ((P * sx(m,kb)) * sw(n,kb));  Y = acc (+ bias)
 *
 * Promotion. FP8 tensor cores add the 32 products of an m16n8k32 step and
 * the accumulator with less than fp32 precision (DeepSeek-V3 measured about
 * 14 bits on Hopper). So, as DeepGEMM does, each 128-k block is summed into
 * a fresh set of fp32 accumulators (`part`) and then promoted into the main
 * ones (`acc`) with ordinary fp32 instructions: the reduced-precision chain
 * is at most 4 mma steps long whatever K is. In BLOCK128 mode the promotion
 * is where the block's scales apply, in the oracle's order with explicit
 * round-to-nearest intrinsics (no fused multiply-add); in OUTER mode it is
 * an unscaled add and the scales come in the epilogue, as for INT8. A k128
 * block is exactly two k64 pipeline stages (stage t is in block t / 2), so
 * the promotion runs after every odd stage and after the last one.
 *
 * Layout: an m16n8k32 fp8 fragment is byte for byte an s8 one (4 codes per
 * register where f16 has 2), so shared memory, the swizzle and the ldmatrix
 * addressing are int8_kernel.cuh's (i8_off: rows of 64 bytes = k64, chunk
 * c of row r at c ^ ((r >> 1) & 3), conflict-free ldmatrix phases); A is X
 * [m][k], B is W [n][k] (K-major: the "col" operand, no transposition).
 *
 * Block: WM x WN warps, each MT m16 tiles by NT n8 tiles; BN = 128 always,
 * so a block's columns share one 128x128 weight scale per k block (BLOCK128
 * reads one sw per k block and block). Block rows 16 / 64 run 4 warps, 128
 * runs 8 (4 x 2), so every thread holds 2 x MT x NT x 4 <= 128 accumulators.
 * The scales of a k block are loaded when its first stage starts and used
 * after its second, so their latency hides behind two stages of mma.
 *
 * Tails: rows past M or N and chunks past K are zero-filled by cp.async and
 * never stored; K % 16 == 0 makes every 16-byte chunk wholly in or out of
 * K; a k32 step wholly past K is skipped (block-uniform). Zero-filled codes
 * are +0, and 0 * 0 adds nothing; a NaN in a real row still meets only real
 * or zero codes, so it reaches its whole row (column) of Y as the format says.
 *
 * The kernels compile to a trap below sm_89 (the registry lists none there).
 */
#ifndef QBLAS_FP8_MMA_CUH
#define QBLAS_FP8_MMA_CUH

#include "cuda_ptx.cuh"    /* mma_fp8 */
#include "int8_kernel.cuh" /* load_tile, mma_stage_k64 (the i8_off swizzle), zero_acc, put_y, load_as_f32 */
#include "kernel_configs.h"
#include "kernels_fp8.h"
#include "qb_vendor.cuh"

namespace qb {

static_assert(QB_FP8_MMA_BK == QB_I8_BK, "the int8 swizzle assumes 64-byte rows");

/* D = A.B + D for fp8 codes XT (A) x WT (B): the mma functor of mma_stage_k64. */
template <int XT, int WT> struct MmaFp8 {
    __device__ __forceinline__ void operator()(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1) const
    {
        mma_fp8<XT, WT>(d, a, b0, b1);
    }
};

/* Y from the promoted accumulators. Accumulator c0 c1 is row g, columns
 * 2t, 2t+1 of its n8 tile; c2 c3 row g + 8. OUTER: ((S * sx) * sw) then
 * + bias; BLOCK128: acc (+ bias). No add without a bias (-0 stays -0). */
template <typename Y, bool BLOCK, int MT, int NT>
__device__ __forceinline__ void fp8_epilogue(const qb_fp8_kparams &p, const float (&acc)[MT][NT][4], int m0, int n0,
                                             int lane)
{
    const int g = lane >> 2, t = lane & 3;
    float csw[NT][2], cb[NT][2];
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int n = n0 + j * 8 + 2 * t + e;
            const bool ok = n < p.n;
            csw[j][e] = !BLOCK && ok ? (p.sw_per_row ? p.sw[n] : p.sw[0]) : 0.0f;
            cb[j][e] = ok && p.bias ? load_as_f32(p.y_dtype, p.bias, n) : 0.0f;
        }
#pragma unroll
    for (int i = 0; i < MT * 2; ++i) { /* m16 tile i / 2, half i % 2 */
        const int m = m0 + i * 8 + g;
        if (m >= p.m) continue;
        const float sx = BLOCK ? 0.0f : (p.sx_per_row ? p.sx[m] : p.sx[0]);
        Y *yr = static_cast<Y *>(p.y) + (long long)m * p.ldy + n0 + 2 * t;
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                if (n0 + j * 8 + 2 * t + e >= p.n) continue;
                float v = acc[i / 2][j][2 * (i % 2) + e];
                if (!BLOCK) v = __fmul_rn(__fmul_rn(v, sx), csw[j][e]);
                if (p.bias) v = __fadd_rn(v, cb[j][e]);
                put_y(yr + j * 8 + e, v);
            }
    }
}

/* Split-K: this split's unscaled sums S to partial[z][m][n] (the reduce
 * kernel scales them); same element mapping as fp8_epilogue. */
template <int MT, int NT>
__device__ __forceinline__ void fp8_store_partial(const qb_fp8_kparams &p, const float (&acc)[MT][NT][4], int m0,
                                                  int n0, int lane)
{
    const int g = lane >> 2, t = lane & 3;
    float *part = p.partial + (long long)blockIdx.z * p.m * p.n;
#pragma unroll
    for (int i = 0; i < MT * 2; ++i) {
        const int m = m0 + i * 8 + g;
        if (m >= p.m) continue;
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const int n = n0 + j * 8 + 2 * t + e;
                if (n < p.n) part[(long long)m * p.n + n] = acc[i / 2][j][2 * (i % 2) + e];
            }
    }
}

template <int XT, int WT, bool BLOCK, int WM, int WN, int MT, int NT, int STAGES>
__global__ void __launch_bounds__(WM * WN * QB_WARP_SIZE) fp8_mma_kernel(const qb_fp8_kparams p)
{
    QB_IF_ARCH_GE(890) {
        constexpr int THREADS = WM * WN * QB_WARP_SIZE, BM = WM * MT * 16, BN = WN * NT * 8;
        constexpr int A_BYTES = BM * QB_FP8_MMA_BK, STAGE = QB_FP8_MMA_STAGE_BYTES(BM);
        static_assert(BN == QB_FP8_MMA_BN && THREADS == QB_FP8_MMA_THREADS(BM), "the block shapes of kernels_fp8.h");
        static_assert(NT % 2 == 0, "B is loaded two n8 tiles per ldmatrix.x4");
        static_assert(STAGES >= 2 && STAGES <= 8, "cp.async wait_group takes 0..6 here");
        QB_DYNAMIC_SMEM(uint8_t, smem, 128);
        const int tid = threadIdx.x, warp = tid / QB_WARP_SIZE, lane = tid % QB_WARP_SIZE;
        const int wm = warp / WN, wn = warp % WN;
        const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
        /* this split's k64 tiles [t0, t0 + ktiles); t0 is even, so k128 blocks stay whole */
        const int t0 = blockIdx.z * p.split_tiles;
        const int ktiles = min((p.k + QB_FP8_MMA_BK - 1) / QB_FP8_MMA_BK - t0, p.split_tiles);
        /* one block row reads the weights once (small M): keep them from evicting X */
        const uint64_t pol_w = gridDim.x == 1 ? l2_evict_first() : l2_evict_normal();
        const uint64_t pol_x = l2_evict_last();
        const uint8_t *xg = p.x + (long long)m0 * p.ldx, *wg = p.w + (long long)n0 * p.k;
        const int wm0 = m0 + wm * MT * 16, g = lane >> 2; /* this thread's rows: wm0 + mt*16 + h*8 + g */

        float acc[MT][NT][4], part[MT][NT][4];
        zero_acc(acc);
        zero_acc(part);
        float bsx[MT][2], bsw = 0.0f; /* BLOCK128: the scales of the running k block */

        /* prologue: steps 0 .. STAGES-2 in flight, one commit group each (empty
         * groups past the end keep the count uniform) */
#pragma unroll
        for (int s = 0; s < STAGES - 1; ++s) {
            if (s < ktiles) {
                load_tile<BM, THREADS>(smem + s * STAGE, xg, p.ldx, p.m - m0, p.k, t0 + s, tid, pol_x);
                load_tile<BN, THREADS>(smem + s * STAGE + A_BYTES, wg, p.k, p.n - n0, p.k, t0 + s, tid, pol_w);
            }
            cp_async_commit();
        }
        int rd = 0, wr = STAGES - 1;
        for (int t = 0; t < ktiles; ++t) {
            cp_async_wait<STAGES - 2>(); /* this thread's copies of step t have landed */
            __syncthreads();             /* everyone's have; and step t-1's buffer is free */
            const int nt = t + STAGES - 1;
            if (nt < ktiles) {
                load_tile<BM, THREADS>(smem + wr * STAGE, xg, p.ldx, p.m - m0, p.k, t0 + nt, tid, pol_x);
                load_tile<BN, THREADS>(smem + wr * STAGE + A_BYTES, wg, p.k, p.n - n0, p.k, t0 + nt, tid, pol_w);
            }
            cp_async_commit();
            if constexpr (BLOCK) {
                if ((t & 1) == 0) { /* first stage of k block t / 2: fetch its scales now, use them two stages later */
                    const int kb = (t0 + t) >> 1;
                    bsw = __ldg(p.sw + (long long)(n0 / QB_FP8_MMA_BN) * p.kb + kb);
#pragma unroll
                    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                        for (int h = 0; h < 2; ++h) {
                            const int m = wm0 + mt * 16 + h * 8 + g;
                            bsx[mt][h] = m < p.m ? __ldg(p.sx + (long long)m * p.kb + kb) : 0.0f;
                        }
                }
            }
            mma_stage_k64<MT, NT>(smem + rd * STAGE, smem + rd * STAGE + A_BYTES, p.k - (t0 + t) * QB_FP8_MMA_BK, wm,
                                  wn, lane, part, MmaFp8<XT, WT>());
            if ((t & 1) || t + 1 == ktiles) { /* end of a k block (t0 even): promote part into acc */
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                    for (int j = 0; j < NT; ++j)
#pragma unroll
                        for (int c = 0; c < 4; ++c) {
                            float v = part[mt][j][c];
                            if constexpr (BLOCK) v = __fmul_rn(__fmul_rn(v, bsx[mt][c >> 1]), bsw);
                            acc[mt][j][c] = __fadd_rn(acc[mt][j][c], v);
                            part[mt][j][c] = 0.0f;
                        }
            }
            rd = rd + 1 == STAGES ? 0 : rd + 1;
            wr = wr + 1 == STAGES ? 0 : wr + 1;
        }
        cp_async_wait<0>();
        const int en = n0 + wn * NT * 8;
        if (!BLOCK && p.splits > 1)
            fp8_store_partial(p, acc, wm0, en, lane);
        else if (p.y_dtype == QBLAS_DTYPE_F16)
            fp8_epilogue<__half, BLOCK>(p, acc, wm0, en, lane);
        else if (p.y_dtype == QBLAS_DTYPE_BF16)
            fp8_epilogue<__nv_bfloat16, BLOCK>(p, acc, wm0, en, lane);
        else
            fp8_epilogue<float, BLOCK>(p, acc, wm0, en, lane);
    } else {
        __trap(); /* no fp8 tensor cores: the registry never launches these kernels here */
    }
}

/* The registry's configurations, QB_FP8_MMA_CONFIGS (kernel_configs.h):
 * (BM, STAGES) -> warps WM x WN, m16 x n8 tiles per warp MT x NT. Only
 * these are built (x 2 scale modes x 4 pairs). */

template <int XT, int WT>
cudaError_t fp8_mma_launch_pair(int bm, int stages, const qb_fp8_kparams *p, cudaStream_t s)
{
    const dim3 grid((unsigned)((p->m + bm - 1) / bm), (unsigned)((p->n + QB_FP8_MMA_BN - 1) / QB_FP8_MMA_BN),
                    (unsigned)p->splits);
    const int smem = stages * QB_FP8_MMA_STAGE_BYTES(bm);
    const bool block = p->scales == QB_FP8_SCALES_BLOCK128;
#define QB_FP8_LAUNCH(name, a80, a89, a90, BM, ST, WM, WN, MT, NT)                                                  \
    if (bm == BM && stages == ST) {                                                                                  \
        if (block)                                                                                                   \
            QB_LAUNCH(grid, WM * WN * QB_WARP_SIZE, smem, s, fp8_mma_kernel<XT, WT, true, WM, WN, MT, NT, ST>)(*p);  \
        else                                                                                                         \
            QB_LAUNCH(grid, WM * WN * QB_WARP_SIZE, smem, s, fp8_mma_kernel<XT, WT, false, WM, WN, MT, NT, ST>)(*p); \
        return cudaGetLastError();                                                                                   \
    }
    QB_FP8_MMA_CONFIGS(QB_FP8_LAUNCH)
#undef QB_FP8_LAUNCH
    return cudaErrorInvalidValue;
}

template <int XT, int WT> cudaError_t fp8_mma_prepare_pair(int smem_max)
{
    cudaError_t e = cudaSuccess;
#define QB_FP8_PREPARE(name, a80, a89, a90, BM, ST, WM, WN, MT, NT)                                \
    if (e == cudaSuccess)                                                                           \
        e = cudaFuncSetAttribute(fp8_mma_kernel<XT, WT, false, WM, WN, MT, NT, ST>,                 \
                                 cudaFuncAttributeMaxDynamicSharedMemorySize, smem_max);            \
    if (e == cudaSuccess)                                                                           \
        e = cudaFuncSetAttribute(fp8_mma_kernel<XT, WT, true, WM, WN, MT, NT, ST>,                  \
                                 cudaFuncAttributeMaxDynamicSharedMemorySize, smem_max);
    QB_FP8_MMA_CONFIGS(QB_FP8_PREPARE)
#undef QB_FP8_PREPARE
    return e;
}

/* One translation unit per dtype pair (fp8_mma_<x>x<w>.cu) instantiates
 * the templates above; fp8_mma_dispatch.cu picks the pair. */
#define QB_FP8_MMA_PAIRS(X)                              \
    X(e4m3xe4m3, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E4M3)     \
    X(e4m3xe5m2, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2)     \
    X(e5m2xe4m3, QBLAS_DTYPE_E5M2, QBLAS_DTYPE_E4M3)     \
    X(e5m2xe5m2, QBLAS_DTYPE_E5M2, QBLAS_DTYPE_E5M2)
#define QB_FP8_MMA_DECLARE(NAME, XT, WT)                                                        \
    cudaError_t fp8_mma_launch_##NAME(int bm, int stages, const qb_fp8_kparams *p, cudaStream_t s); \
    cudaError_t fp8_mma_prepare_##NAME(int smem_max);
QB_FP8_MMA_PAIRS(QB_FP8_MMA_DECLARE)
#undef QB_FP8_MMA_DECLARE

} // namespace qb

/* The body of fp8_mma_<x>x<w>.cu. */
#define QB_FP8_MMA_DEFINE(NAME, XT, WT)                                                                       \
    cudaError_t qb::fp8_mma_launch_##NAME(int bm, int stages, const qb_fp8_kparams *p, cudaStream_t s)        \
    {                                                                                                         \
        return qb::fp8_mma_launch_pair<XT, WT>(bm, stages, p, s);                                             \
    }                                                                                                         \
    cudaError_t qb::fp8_mma_prepare_##NAME(int smem_max) { return qb::fp8_mma_prepare_pair<XT, WT>(smem_max); }

#endif /* QBLAS_FP8_MMA_CUH */
