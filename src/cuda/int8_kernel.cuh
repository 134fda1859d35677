/* int8_kernel.cuh - the W8A8 INT8 tensor-core GEMM (sm_80+, mma.sync
 * m16n8k32 s8 x s8 -> s32).
 *
 *   acc[m, n]  = sum_k X[m, k] * W[n, k]                  exact int32
 *   acc'[m, n] = acc[m, n] - zx[m] * colsum[n]            (zero points only)
 *   Y[m, n]    = ((float)acc' * sx) * sw  (+ bias[n])     fp32, rounded once to y
 *
 * acc' equals the oracle's sum_k (X - zx) * W exactly (both are the same
 * integer, |.| < 2^31 for k <= 65536), and the fp32 epilogue performs the
 * oracle's operations in its order with explicit round-to-nearest
 * intrinsics (no fused multiply-add), so Y is bit-identical to the CPU.
 *
 * Block: 4 warps as WM x WN; each warp owns MT m16 tiles by NT n8 tiles, so
 * the block tile is BM = WM*MT*16 by BN = WN*NT*8, k64 per pipeline stage.
 *
 * Shared memory, per stage: A (BM rows) then B (BN rows), each row 64 bytes
 * (k64) in four 16-byte chunks; chunk c of row r sits at chunk
 * c ^ ((r >> 1) & 3), so the 8 row addresses of an ldmatrix phase (8
 * consecutive rows, one chunk column) cover all 32 banks exactly once.
 *
 * Fragments: an m16n8k32 s8 fragment has the byte layout of an m16n8k16
 * f16 fragment (4 int8 per register where f16 has 2), so ldmatrix.x4 of
 * 8x8 b16 tiles (8 rows x 16 bytes) loads A exactly as for f16, and B
 * ([n][k], k contiguous: the "col" operand) without transposition.
 *
 * Tails: rows past M or N and chunks past K are zero-filled by cp.async
 * (they add 0 to the sums) and never stored; K % 16 == 0 makes every chunk
 * either wholly inside K or wholly past it.
 *
 * Shared with the other byte-operand kernels: load_tile (any thread count;
 * W4A8's partial last chunk), mma_stage_k64 (the ldmatrix addressing, over
 * an mma functor: s8 here, fp8 in fp8_mma.cuh) and zero_acc.
 */
#ifndef QBLAS_INT8_KERNEL_CUH
#define QBLAS_INT8_KERNEL_CUH

#include <type_traits>

#include "cuda_kernels.h"
#include "cuda_ptx.cuh" /* cp_async16, ldmatrix_x4, mma_s8, l2_evict_* */
#include "dev_check.cuh"
#include "qb_vendor.cuh"
#include "w4a16_out.cuh"

namespace qb {

/* Byte offset of chunk c (0..3) of row r in a tile. */
__device__ __forceinline__ int i8_off(int r, int c) { return r * QB_I8_BK + ((c ^ ((r >> 1) & 3)) << 4); }

template <int WM, int WN, int MT, int NT> struct I8Tile {
    static constexpr int BM = WM * MT * 16, BN = WN * NT * 8;
    static constexpr int A_BYTES = BM * QB_I8_BK, STAGE = QB_I8_STAGE_BYTES(BM, BN);
    static_assert(WM * WN * 32 == QB_I8_THREADS, "four warps");
    static_assert(NT % 2 == 0, "B is loaded two n8 tiles per ldmatrix.x4");
};

/* ROWS x 4 chunks of one byte operand (ld bytes per row, `rows_left`
 * valid rows), k step kt, into a swizzled tile by THREADS threads; chunks
 * past K or past the last row are zero-filled. The INT8, FP8 (mma.sync) and
 * W4A8 (its X tile) kernels all load their k64 byte tiles with it. PARTIAL:
 * the last chunk may end inside K (K even but not a multiple of 16): copy
 * its bytes and zero-fill the rest. */
template <int ROWS, int THREADS = QB_I8_THREADS, bool PARTIAL = false, typename E>
__device__ __forceinline__ void load_tile(uint8_t *tile, const E *g, long long ld, int rows_left, int k, int kt,
                                          int tid, uint64_t pol)
{
    static_assert(sizeof(E) == 1, "byte operands");
#pragma unroll
    for (int i = 0; i < (ROWS * 4 + THREADS - 1) / THREADS; ++i) {
        const int c = tid + i * THREADS, r = c >> 2, ch = c & 3;
        if ((ROWS * 4) % THREADS != 0 && c >= ROWS * 4) break;
        const int kk = kt * QB_I8_BK + ch * 16;
        if constexpr (PARTIAL) {
            const int bytes = r < rows_left && kk < k ? min(16, k - kk) : 0;
            cp_async16(tile + i8_off(r, ch), bytes ? g + (long long)r * ld + kk : g, bytes, pol);
        } else {
            const bool ok = r < rows_left && kk < k;
            const E *src = ok ? g + (long long)r * ld + kk : g;
            cp_async16(tile + i8_off(r, ch), src, ok ? 16 : 0, pol);
        }
    }
}

/* D = A.B + D for int8 (the mma functor of mma_stage_k64). */
struct MmaS8 {
    __device__ __forceinline__ void operator()(int32_t d[4], const uint32_t a[4], uint32_t b0, uint32_t b1) const
    {
        mma_s8(d, a, b0, b1);
    }
};

/* One k64 stage of A (sa: [m][k] rows) x B (sb: [n][k] rows), both tiles in
 * the i8_off layout: two k32 steps of Mma (an m16n8k32 mma.sync on byte
 * operands: s8 or fp8) for every (m16, n8) tile of the warp, into acc. */
template <int MT, int NT, typename Mma, typename Acc>
__device__ __forceinline__ void mma_stage_k64(const uint8_t *sa, const uint8_t *sb, int k_left, int wm, int wn,
                                              int lane, Acc (&acc)[MT][NT][4], Mma mma)
{
    static_assert(NT % 2 == 0, "B is loaded two n8 tiles per ldmatrix.x4");
    /* A: lane l addresses row (l & 7) + 8 * ((l >> 3) & 1), k chunk l >> 4 of
     * the k32 step: matrices a0 (rows 0-7, k 0-15), a1 (rows 8-15), a2, a3 (k 16-31).
     * B: lane l addresses n row (l & 7) + 8 * (l >> 4), chunk (l >> 3) & 1:
     * matrices b0, b1 of n8 tile j, then b0, b1 of tile j + 1. */
    const int arow = (lane & 7) + 8 * ((lane >> 3) & 1), achunk = lane >> 4;
    const int brow = (lane & 7) + 8 * (lane >> 4), bchunk = (lane >> 3) & 1;
#pragma unroll
    for (int ks = 0; ks < 2; ++ks) {
        if (ks * 32 >= k_left) continue; /* K tail: the step is all zero-fill (block-uniform) */
        uint32_t a[MT][4], b[NT][2];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
            ldmatrix_x4(a[mt], sa + i8_off((wm * MT + mt) * 16 + arow, ks * 2 + achunk));
#pragma unroll
        for (int j = 0; j < NT; j += 2) {
            uint32_t r[4];
            ldmatrix_x4(r, sb + i8_off((wn * NT + j) * 8 + brow, ks * 2 + bchunk));
            b[j][0] = r[0], b[j][1] = r[1], b[j + 1][0] = r[2], b[j + 1][1] = r[3];
        }
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int j = 0; j < NT; ++j) mma(acc[mt][j], a[mt], b[j][0], b[j][1]);
    }
}

/* Every accumulator of a thread's MT x NT fragments to zero. */
template <typename Acc, int MT, int NT> __device__ __forceinline__ void zero_acc(Acc (&acc)[MT][NT][4])
{
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int c = 0; c < 4; ++c) acc[mt][j][c] = 0;
}

/* The oracle's epilogue (see the file comment); Y is the output's storage
 * type. Accumulator c0 c1 is row g, columns 2t, 2t+1 of its n8 tile; c2 c3
 * row g + 8. The per-column operands (sw, colsum, bias) are read once into
 * registers first: that keeps the fully unrolled body small enough for the
 * accumulators to stay in registers. */
template <typename Y, int MT, int NT>
__device__ __forceinline__ void epilogue_i8(const qb_int8_kparams &p, const int32_t (&acc)[MT][NT][4], int m0, int n0,
                                            int lane)
{
    const int g = lane >> 2, t = lane & 3;
    float csw[NT][2], cb[NT][2];
    int32_t ccs[NT][2];
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int n = n0 + j * 8 + 2 * t + e;
            const bool ok = n < p.n;
            csw[j][e] = ok ? (p.sw_per_row ? p.sw[n] : p.sw[0]) : 0.0f;
            ccs[j][e] = ok && p.zx ? p.colsum[n] : 0;
            cb[j][e] = ok && p.bias ? load_as_f32(p.y_dtype, p.bias, n) : 0.0f;
        }
#pragma unroll
    for (int i = 0; i < MT * 2; ++i) { /* m16 tile i / 2, half i % 2 */
        const int m = m0 + i * 8 + g;
        if (m >= p.m) continue;
        const float sx = p.sx_per_row ? p.sx[m] : p.sx[0];
        const uint32_t zx = p.zx ? (uint32_t)p.zx[m] : 0u;
        Y *yr = static_cast<Y *>(p.y) + (long long)m * p.ldy + n0 + 2 * t;
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                if (n0 + j * 8 + 2 * t + e >= p.n) continue;
                /* acc - zx * colsum: exact mod 2^32, and the true value fits in int32 */
                const int32_t a = (int32_t)((uint32_t)acc[i / 2][j][2 * (i % 2) + e] - zx * (uint32_t)ccs[j][e]);
                float v = __fmul_rn(__fmul_rn(__int2float_rn(a), sx), csw[j][e]);
                if (p.bias) v = __fadd_rn(v, cb[j][e]); /* no add without bias: -0 stays -0 */
                put_y(yr + j * 8 + e, v);
            }
    }
}

template <int WM, int WN, int MT, int NT, int STAGES>
__global__ void __launch_bounds__(QB_I8_THREADS) int8_mma_kernel(const qb_int8_kparams p)
{
    using T = I8Tile<WM, WN, MT, NT>;
    static_assert(STAGES >= 2 && STAGES <= 8, "cp.async wait_group takes 0..6 here");
    if (dev_failed(p.verdict)) return; /* a zero point outside int8: Y stays as it was */
    QB_DYNAMIC_SMEM(uint8_t, smem, 128);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp / WN, wn = warp % WN;
    const int m0 = blockIdx.x * T::BM, n0 = blockIdx.y * T::BN;
    const int ktiles = (p.k + QB_I8_BK - 1) / QB_I8_BK;
    /* one block row reads the weights once (small M): keep them from evicting X */
    const uint64_t pol_w = gridDim.x == 1 ? l2_evict_first() : l2_evict_normal();
    const uint64_t pol_x = l2_evict_last();
    const int8_t *xg = p.x + (long long)m0 * p.ldx, *wg = p.w + (long long)n0 * p.k;

    int32_t acc[MT][NT][4];
    zero_acc(acc);

    /* prologue: steps 0 .. STAGES-2 in flight, one commit group each (empty
     * groups past the end keep the count uniform) */
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < ktiles) {
            load_tile<T::BM>(smem + s * T::STAGE, xg, p.ldx, p.m - m0, p.k, s, tid, pol_x);
            load_tile<T::BN>(smem + s * T::STAGE + T::A_BYTES, wg, p.k, p.n - n0, p.k, s, tid, pol_w);
        }
        cp_async_commit();
    }
    int rd = 0, wr = STAGES - 1;
    for (int t = 0; t < ktiles; ++t) {
        cp_async_wait<STAGES - 2>(); /* this thread's copies of step t have landed */
        __syncthreads();             /* everyone's have; and step t-1's buffer is free */
        const int nt = t + STAGES - 1;
        if (nt < ktiles) {
            load_tile<T::BM>(smem + wr * T::STAGE, xg, p.ldx, p.m - m0, p.k, nt, tid, pol_x);
            load_tile<T::BN>(smem + wr * T::STAGE + T::A_BYTES, wg, p.k, p.n - n0, p.k, nt, tid, pol_w);
        }
        cp_async_commit();
        const uint8_t *st = smem + rd * T::STAGE;
        mma_stage_k64<MT, NT>(st, st + T::A_BYTES, p.k - t * QB_I8_BK, wm, wn, lane, acc, MmaS8());
        rd = rd + 1 == STAGES ? 0 : rd + 1;
        wr = wr + 1 == STAGES ? 0 : wr + 1;
    }
    cp_async_wait<0>();
    const int em = m0 + wm * MT * 16, en = n0 + wn * NT * 8;
    if (p.y_dtype == QBLAS_DTYPE_F16)
        epilogue_i8<__half>(p, acc, em, en, lane);
    else if (p.y_dtype == QBLAS_DTYPE_BF16)
        epilogue_i8<__nv_bfloat16>(p, acc, em, en, lane);
    else
        epilogue_i8<float>(p, acc, em, en, lane);
}

} // namespace qb
#endif /* QBLAS_INT8_KERNEL_CUH */
