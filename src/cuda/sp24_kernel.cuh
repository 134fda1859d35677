/* sp24_kernel.cuh - the 2:4 sparse GEMM on sparse tensor cores (sm_80+,
 * mma.sp m16n8k32 f16/bf16 -> f32, m16n8k64 s8 -> s32; sm_89+ m16n8k64
 * e4m3/e5m2 -> f32).
 *
 * Orientation: the weight W[N][K] is the sparse operand, and mma.sp makes
 * A (the m16 x k side) sparse, so a block computes Y^T = W . X^T: weight
 * rows are the mma's M (m16 tiles), tokens its N (n8 tiles). Decode sizes
 * then put the narrow n8 side on the few tokens (the trick of cuSPARSELt
 * and Sparse-Marlin for sparse weights).
 *
 * Block: 4 warps as WW (along weight rows) x WX (along tokens); a warp owns
 * WT m16 weight tiles x XT n8 token tiles; a block covers 128 weight rows x
 * BX = WX*XT*8 tokens. One pipeline stage = 128 bytes of every X row (k64
 * f16/bf16, k128 i8) = two mma k steps (k32 / k64 each).
 *
 * Packed weight (the blob, written by sp24_prepack.cu): for weight block nb
 * (rows 128nb..) and stage kt, the values of its 8 m16 tiles x 2 k steps are
 * 8 KB contiguous, tile (i, j) at ((i*2 + j) * 512): exactly the A
 * fragments, lane l's 16 bytes at l*16, so one 16-byte shared load per lane
 * gives the four A registers. With g = l/4, t = l%4 (PTX ISA, sparse A):
 *   f16/bf16 register r: row g + 8*(r&1), the two kept values of 4-group
 *            t + 4*(r>>1) of the k32 step (lower half: the lower index);
 *   i8, fp8  register r: row g + 8*(r&1), the four kept values of 4-groups
 *            2t, 2t+1 (+8 when r >= 2) of the k64 step.
 * The metadata words follow the same (nb, kt, i, j) order, 64 bytes (f16:
 * 16 words) or 128 bytes (i8: 32 words) per tile step; nibble q of a word is
 * the canonical 4-bit field (i0 | i1 << 2) of one 4-group, and with
 * sparsity selector 0:
 *   f16/bf16 (lanes t = 0, 1 supply it): word 2g + t holds row g in bits
 *            0-15 and row g+8 in bits 16-31, 4-groups 4t .. 4t+3 of the step;
 *            lane l reads word 2g + (l & 1) (lanes t = 2, 3 read a copy).
 *   i8, fp8  (every lane supplies one): word l holds row g + 8*(l&1), the
 *            eight 4-groups 8*((l>>1)&1) .. +7 of the k64 step.
 * (Sources: PTX ISA "Matrix fragments for mma.sp" for the values; the
 * metadata lane maps as the MLIR sparse-mma sm_80 test (16-bit) and a
 * hardware probe of Triton's dot_sparse (8-bit) established them. The
 * emulation in the report checks pack + fragment reads against them.)
 *
 * Shared memory per stage: values (8 KB), metadata (1 or 2 KB), X (BX rows
 * x 128 bytes). X rows are 8 chunks of 16 bytes; chunk c of row r sits at
 * c ^ (r & 7), so the 8 rows of an ldmatrix phase hit 8 distinct bank
 * groups. The dense B fragment (X rows are k-contiguous: the "col" operand)
 * of one n8 tile and one k step is one ldmatrix.x4 without .trans: matrix q
 * = chunk 4j + q is b register q for both dtypes (f16: k 8q..8q+7, i8:
 * k 16q..16q+15), lane l addressing row l & 7 of matrix l >> 3.
 *
 * Tails: weight rows and k are padded in the blob (zero values, a valid
 * field); X rows past M and bytes past K are zero-filled by cp.async and
 * never stored. Nothing reads outside X, the blob or the per-row arrays.
 *
 * Epilogue: f16/bf16 acc (+ bias, one fp32 add) -> y; i8 the INT8 one of
 * int8_kernel.cuh, (float)(acc - zx*colsum) * sx * sw (+ bias), with the
 * column sums of the decompressed rows from the blob: bit-exact. fp8: the
 * partial sums of each stage (one 128-k block) are promoted into fp32 totals
 * (the DeepGEMM remedy for the tensor cores' short fp8 accumulators), with
 * the block scales applied there, or the outer scales in the epilogue.
 *
 * Only kept positions are multiplied: a NaN/inf activation at a pruned
 * position does not reach Y (the format's dense definition gives NaN);
 * finite activations give the definition's results.
 */
#ifndef QBLAS_SP24_KERNEL_CUH
#define QBLAS_SP24_KERNEL_CUH

#include <type_traits>

#include "cuda_ptx.cuh"
#include "int8_kernel.cuh" /* zero_acc, put_y, load_as_f32 */
#include "kernel_configs.h"
#include "kernels_sparse24.h"
#include "qb_vendor.cuh"

namespace qb {

/* Element types: f16, bf16, i8, and fp8 as SP24_FP8 + 2*(weights e5m2) + (activations e5m2). */
enum { SP24_F16 = 0, SP24_BF16 = 1, SP24_I8 = 2, SP24_FP8 = 4 };
__host__ __device__ constexpr bool sp24_fp8(int dt) { return dt >= SP24_FP8; }

/* D = A.B + D with sparse A (the weight), metadata e, sparsity selector 0
 * (cuda_ptx.cuh's mma_sp_* wrappers: the ::ordered_metadata form, our
 * fields always having i0 < i1). */
template <int DT> __device__ __forceinline__ void mma_sp(float (&d)[4], const uint4 &a, const uint32_t (&b)[4], uint32_t e)
{
    if constexpr (sp24_fp8(DT)) {
        QB_IF_ARCH_GE(890) {
            /* A = the weight (sparse): e5m2 if bit 1 of DT - SP24_FP8; B = the activations: bit 0 */
            constexpr int AT = ((DT - SP24_FP8) & 2) ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3;
            constexpr int BT = ((DT - SP24_FP8) & 1) ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3;
            mma_sp_fp8<AT, BT>(d, a, b, e);
        } else {
            __trap(); /* no fp8 tensor cores: the registry never launches these kernels here */
        }
    } else if constexpr (DT == SP24_F16)
        mma_sp_f16(d, a, b, e);
    else
        mma_sp_bf16(d, a, b, e);
}
template <int DT>
__device__ __forceinline__ void mma_sp(int32_t (&d)[4], const uint4 &a, const uint32_t (&b)[4], uint32_t e)
{
    mma_sp_s8(d, a, b, e);
}

template <int DT, int WW, int WX, int WT, int XT> struct Sp24Tile {
    static constexpr int ES = DT == SP24_F16 || DT == SP24_BF16 ? 2 : 1; /* element bytes */
    static constexpr int BX = WX * XT * 8;                /* tokens per block */
    static constexpr int BK = QB_SP24_BK(ES);             /* dense k per stage */
    static constexpr int KMMA = BK / 2;                   /* dense k per mma step */
    static constexpr int META_TILE = QB_SP24_META_TILE(ES);
    static constexpr int META_OFF = QB_SP24_VAL_STAGE;
    static constexpr int X_OFF = QB_SP24_VAL_STAGE + QB_SP24_META_STAGE(ES);
    static constexpr int STAGE = QB_SP24_STAGE_BYTES(BX, ES);
    static constexpr int W_CHUNKS = (QB_SP24_VAL_STAGE + QB_SP24_META_STAGE(ES)) / 16;
    static constexpr int X_CHUNKS = BX * (QB_SP24_ROW_BYTES / 16);
    using Acc = typename std::conditional<DT == SP24_I8, int32_t, float>::type;
    static_assert(WW * WX * 32 == QB_SP24_THREADS, "four warps");
    static_assert(WW * WT * 16 == QB_SP24_BW, "a block covers 128 weight rows");
};

/* Stage kt into st: the weight block's values + metadata (contiguous in the
 * blob, as in shared memory), and BX rows of X (zero past M and past K). */
template <class T>
__device__ __forceinline__ void sp24_load_stage(uint8_t *st, const uint8_t *gv, const uint8_t *gm,
                                                const uint8_t *xg, long long ldx_bytes, int rows_left, int k, int kt,
                                                int tid, uint64_t pol_w, uint64_t pol_x)
{
    const uint8_t *v = gv + (long long)kt * QB_SP24_VAL_STAGE, *mt = gm + (long long)kt * (T::X_OFF - T::META_OFF);
#pragma unroll
    for (int i = 0; i < (T::W_CHUNKS + QB_SP24_THREADS - 1) / QB_SP24_THREADS; ++i) {
        const int c = tid + i * QB_SP24_THREADS;
        if (T::W_CHUNKS % QB_SP24_THREADS != 0 && c >= T::W_CHUNKS) break;
        const int off = c * 16;
        const uint8_t *src = off < QB_SP24_VAL_STAGE ? v + off : mt + (off - QB_SP24_VAL_STAGE);
        cp_async16(st + off, src, 16, pol_w);
    }
#pragma unroll
    for (int i = 0; i < (T::X_CHUNKS + QB_SP24_THREADS - 1) / QB_SP24_THREADS; ++i) {
        const int c = tid + i * QB_SP24_THREADS, r = c >> 3, ch = c & 7;
        if (T::X_CHUNKS % QB_SP24_THREADS != 0 && c >= T::X_CHUNKS) break;
        const int kk = kt * T::BK + ch * (16 / T::ES); /* first element of the chunk */
        const int left = (k - kk) * T::ES;             /* bytes of the row from kk on; K % 4 == 0 */
        const int bytes = r < rows_left && left > 0 ? (left < 16 ? left : 16) : 0;
        const uint8_t *src = bytes ? xg + (long long)r * ldx_bytes + (long long)kk * T::ES : xg;
        cp_async16(st + T::X_OFF + r * QB_SP24_ROW_BYTES + ((ch ^ (r & 7)) << 4), src, bytes, pol_x);
    }
}

/* The two mma k steps of one stage for the warp's WT x XT tiles. */
template <class T, int DT, int WT, int XT>
__device__ __forceinline__ void sp24_compute_stage(const uint8_t *st, int k_left, int ww, int wx, int lane,
                                                   typename T::Acc (&acc)[WT][XT][4])
{
    const int widx = T::ES == 2 ? ((lane >> 2) << 1) | (lane & 1) : lane; /* metadata word (file comment) */
#pragma unroll
    for (int j = 0; j < 2; ++j) {
        if (j * T::KMMA >= k_left) continue; /* K tail: the step is all zero-fill (block-uniform) */
        uint4 a[WT];
        uint32_t e[WT];
#pragma unroll
        for (int wt = 0; wt < WT; ++wt) {
            const int tile = (ww * WT + wt) * 2 + j;
            a[wt] = *reinterpret_cast<const uint4 *>(st + tile * QB_SP24_TILE_BYTES + lane * 16);
            e[wt] = *reinterpret_cast<const uint32_t *>(st + T::META_OFF + tile * T::META_TILE + widx * 4);
        }
#pragma unroll
        for (int xt = 0; xt < XT; ++xt) {
            const int row = (wx * XT + xt) * 8 + (lane & 7), ch = 4 * j + (lane >> 3);
            uint32_t b[4];
            ldmatrix_x4(b, st + T::X_OFF + row * QB_SP24_ROW_BYTES + ((ch ^ (row & 7)) << 4));
#pragma unroll
            for (int wt = 0; wt < WT; ++wt) mma_sp<DT>(acc[wt][xt], a[wt], b, e[wt]);
        }
    }
}

/* Accumulator c of tile (wt, xt): weight row n0 + wt*16 + g + 8*(c >> 1),
 * token m0 + xt*8 + 2t + (c & 1). Y is the output's storage type. acc holds
 * the sums (f16/bf16, i8, fp8 with outer scales) or, for fp8 block scales,
 * the promoted total. */
template <typename Y, int DT, bool BLOCK, int WT, int XT, typename Acc>
__device__ __forceinline__ void sp24_epilogue(const qb_sp24_kparams &p, const Acc (&acc)[WT][XT][4], int n0, int m0,
                                              int lane)
{
    constexpr bool OUTER = DT == SP24_I8 || (sp24_fp8(DT) && !BLOCK); /* scales applied here */
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int wt = 0; wt < WT; ++wt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int n = n0 + wt * 16 + g + 8 * h;
            if (n >= p.n) continue;
            const float b = p.bias ? load_as_f32(p.y_dtype, p.bias, n) : 0.0f;
            float sw = 0.0f;
            uint32_t cs = 0u;
            if constexpr (OUTER) sw = p.sw_per_row ? p.sw[n] : p.sw[0];
            if constexpr (DT == SP24_I8) cs = p.zx ? (uint32_t)p.colsum[n] : 0u;
#pragma unroll
            for (int xt = 0; xt < XT; ++xt)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const int m = m0 + xt * 8 + 2 * t + e;
                    if (m >= p.m) continue;
                    float v;
                    if constexpr (DT == SP24_I8) {
                        /* acc - zx * colsum: exact mod 2^32, and the true value fits in int32 */
                        const uint32_t zx = p.zx ? (uint32_t)p.zx[m] : 0u;
                        v = __int2float_rn((int32_t)((uint32_t)acc[wt][xt][2 * h + e] - zx * cs));
                    } else {
                        v = acc[wt][xt][2 * h + e];
                    }
                    if constexpr (OUTER) v = __fmul_rn(__fmul_rn(v, p.sx_per_row ? p.sx[m] : p.sx[0]), sw);
                    if (p.bias) v = __fadd_rn(v, b); /* no add without bias: -0 stays -0 */
                    put_y(static_cast<Y *>(p.y) + (long long)m * p.ldy + n, v);
                }
        }
}

template <int DT, bool BLOCK, int WT, int XT, typename Acc>
__device__ __forceinline__ void sp24_store(const qb_sp24_kparams &p, const Acc (&acc)[WT][XT][4], int n0, int m0,
                                           int lane)
{
    if (p.y_dtype == QBLAS_DTYPE_F16)
        sp24_epilogue<__half, DT, BLOCK, WT, XT>(p, acc, n0, m0, lane);
    else if (p.y_dtype == QBLAS_DTYPE_BF16)
        sp24_epilogue<__nv_bfloat16, DT, BLOCK, WT, XT>(p, acc, n0, m0, lane);
    else
        sp24_epilogue<float, DT, BLOCK, WT, XT>(p, acc, n0, m0, lane);
}

/* fp8: the tensor cores accumulate fp8 products with reduced precision, so
 * every stage's partial sums P (one 128-k block: k128 per stage, kb = kt)
 * are promoted into fp32 totals and reset. Block scales:
 * tot += fp32(fp32(P * sx(m, kb)) * sw(n/128, kb)) (the block's weight rows
 * share n/128 = nb; tokens past M use scale 0); outer scales: tot += P. */
template <bool BLOCK, int WT, int XT>
__device__ __forceinline__ void sp24_promote(const qb_sp24_kparams &p, float (&acc)[WT][XT][4],
                                             float (&tot)[WT][XT][4], int nb, int kb, int m0, int lane)
{
    float sw = 1.0f, sx[XT][2];
    if constexpr (BLOCK) {
        sw = p.sw[(long long)nb * p.kb + kb];
#pragma unroll
        for (int xt = 0; xt < XT; ++xt)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const int m = m0 + xt * 8 + 2 * (lane & 3) + e;
                sx[xt][e] = m < p.m ? p.sx[(long long)m * p.kb + kb] : 0.0f;
            }
    }
#pragma unroll
    for (int wt = 0; wt < WT; ++wt)
#pragma unroll
        for (int xt = 0; xt < XT; ++xt)
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                if constexpr (BLOCK)
                    tot[wt][xt][c] =
                        __fadd_rn(tot[wt][xt][c], __fmul_rn(__fmul_rn(acc[wt][xt][c], sx[xt][c & 1]), sw));
                else
                    tot[wt][xt][c] = __fadd_rn(tot[wt][xt][c], acc[wt][xt][c]);
                acc[wt][xt][c] = 0.0f;
            }
}

template <int DT, int WW, int WX, int WT, int XT, int STAGES, bool BLOCK>
__global__ void __launch_bounds__(QB_SP24_THREADS) sp24_mma_kernel(const qb_sp24_kparams p)
{
    using T = Sp24Tile<DT, WW, WX, WT, XT>;
    static_assert(STAGES >= 2 && STAGES <= 8, "cp.async wait_group takes 0..6 here");
    static_assert(!BLOCK || sp24_fp8(DT), "block scales are fp8's");
    if (dev_failed(p.verdict)) return; /* a zero point outside int8: Y stays as it was */
    QB_DYNAMIC_SMEM(uint8_t, smem, 128);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int ww = warp / WX, wx = warp % WX;
    const int nb = blockIdx.x, m0 = blockIdx.y * T::BX;
    /* one block row of tokens reads the weights once (small M): keep them from evicting X */
    const uint64_t pol_w = gridDim.y == 1 ? l2_evict_first() : l2_evict_normal();
    const uint64_t pol_x = l2_evict_last();
    const uint8_t *gv = p.vals + (long long)nb * p.kt * QB_SP24_VAL_STAGE;
    const uint8_t *gm = p.meta + (long long)nb * p.kt * QB_SP24_META_STAGE(T::ES);
    const long long ldx_bytes = p.ldx * T::ES;
    const uint8_t *xg = static_cast<const uint8_t *>(p.x) + (long long)m0 * ldx_bytes;
    const int rows_left = p.m - m0;
    const int en = nb * QB_SP24_BW + ww * WT * 16, em = m0 + wx * XT * 8;

    constexpr bool FP8 = sp24_fp8(DT);
    typename T::Acc acc[WT][XT][4];
    float tot[FP8 ? WT : 1][FP8 ? XT : 1][4]; /* fp8: the promoted sums */
    zero_acc(acc);
    if constexpr (FP8) zero_acc(tot);

    /* prologue: stages 0 .. STAGES-2 in flight, one commit group each (empty
     * groups past the end keep the count uniform) */
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < p.kt)
            sp24_load_stage<T>(smem + s * T::STAGE, gv, gm, xg, ldx_bytes, rows_left, p.k, s, tid, pol_w, pol_x);
        cp_async_commit();
    }
    int rd = 0, wr = STAGES - 1;
    for (int t = 0; t < p.kt; ++t) {
        cp_async_wait<STAGES - 2>(); /* this thread's copies of stage t have landed */
        __syncthreads();             /* everyone's have; and stage t-1's buffer is free */
        const int nt = t + STAGES - 1;
        if (nt < p.kt)
            sp24_load_stage<T>(smem + wr * T::STAGE, gv, gm, xg, ldx_bytes, rows_left, p.k, nt, tid, pol_w, pol_x);
        cp_async_commit();
        sp24_compute_stage<T, DT, WT, XT>(smem + rd * T::STAGE, p.k - t * T::BK, ww, wx, lane, acc);
        if constexpr (FP8) sp24_promote<BLOCK, WT, XT>(p, acc, tot, nb, t, em, lane);
        rd = rd + 1 == STAGES ? 0 : rd + 1;
        wr = wr + 1 == STAGES ? 0 : wr + 1;
    }
    cp_async_wait<0>();
    if constexpr (FP8)
        sp24_store<DT, BLOCK, WT, XT>(p, tot, en, em, lane);
    else
        sp24_store<DT, BLOCK, WT, XT>(p, acc, en, em, lane);
}

/* The weight dtype (qblas_dtype_t) of an element-type code. */
constexpr int sp24_weight_dtype(int dt)
{
    return dt == SP24_F16    ? QBLAS_DTYPE_F16
           : dt == SP24_BF16 ? QBLAS_DTYPE_BF16
           : dt == SP24_I8   ? QBLAS_DTYPE_I8
           : ((dt - SP24_FP8) & 2) ? QBLAS_DTYPE_E5M2
                                   : QBLAS_DTYPE_E4M3;
}

/* The configurations: QB_SP24_CONFIGS (kernel_configs.h), those of DT's
 * weight dtype: (tokens per block, stages, block scales) -> warp layout
 * WW x WX, tiles per warp WT x XT. Only these are built. */
template <int DT> cudaError_t sp24_launch(int bx, int stages, bool block, const qb_sp24_kparams *p, cudaStream_t s)
{
    constexpr int ES = DT == SP24_F16 || DT == SP24_BF16 ? 2 : 1;
    const dim3 grid((unsigned)((p->n + QB_SP24_BW - 1) / QB_SP24_BW), (unsigned)((p->m + bx - 1) / bx));
    const size_t smem = (size_t)stages * QB_SP24_STAGE_BYTES(bx, ES);
#define QB_SP24_LAUNCH(name, a80, a89, a90, WDT, BX, ST, BLK, WW, WX, WT, XT)                                   \
    if constexpr (QBLAS_DTYPE_##WDT == sp24_weight_dtype(DT)) {                                                 \
        if (bx == BX && stages == ST && block == (BLK != 0)) {                                                  \
            QB_LAUNCH(grid, QB_SP24_THREADS, smem, s, sp24_mma_kernel<DT, WW, WX, WT, XT, ST, BLK != 0>)(*p);   \
            return cudaGetLastError();                                                                          \
        }                                                                                                       \
    }
    QB_SP24_CONFIGS(QB_SP24_LAUNCH)
#undef QB_SP24_LAUNCH
    return cudaErrorInvalidValue;
}

template <int DT> cudaError_t sp24_prepare(int smem_max)
{
    cudaError_t e = cudaSuccess;
#define QB_SP24_PREPARE(name, a80, a89, a90, WDT, BX, ST, BLK, WW, WX, WT, XT)                                  \
    if constexpr (QBLAS_DTYPE_##WDT == sp24_weight_dtype(DT)) {                                                 \
        if (e == cudaSuccess)                                                                                   \
            e = cudaFuncSetAttribute(sp24_mma_kernel<DT, WW, WX, WT, XT, ST, BLK != 0>,                         \
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, smem_max);                    \
    }
    QB_SP24_CONFIGS(QB_SP24_PREPARE)
#undef QB_SP24_PREPARE
    return e;
}

} // namespace qb
#endif /* QBLAS_SP24_KERNEL_CUH */
