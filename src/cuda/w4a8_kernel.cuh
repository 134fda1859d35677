/* w4a8_kernel.cuh - the W4A8 (QServe QoQ) GEMM: int8 tensor cores
 * (mma.sync m16n8k32 s8 x s8 -> s32, sm_80+) fed with u4 weight codes that
 * are widened to int8 in registers.
 *
 *   w8[n, k]  = (code - z) * s2       g128: s2, z per (k / 128, n); per-channel: s2 = 1
 *   acc[m, n] = sum_k X[m, k] * w8[n, k]                   exact int32
 *   Y[m, n]   = ((float)acc * sx) * s1[n]  (+ bias[n])     fp32, rounded once to y
 *
 * Y is the oracle's bit for bit: acc is the same integer, and the epilogue
 * is the int8 kernel's epilogue_i8 itself (the oracle's operations, its
 * order, explicit round-to-nearest, no fma).
 *
 * Ideas (QServe, Marlin): the weights stream at 4 bits (half of W8A8's
 * bytes), prepack puts every lane's codes where one 16-byte shared-memory
 * load yields the B fragments of two n8 tiles for a whole k64 stage, and the
 * widening stays in 32-bit integer ops on four 8-bit lanes at once (no
 * per-element conversion, no floating point before the epilogue).
 *
 * Widening (4 weights of one column n per 32-bit register; the m16n8k32 B
 * fragment register holds k = 4t..4t+3 (b0) or 16+4t..16+4t+3 (b1) of
 * column g, lane = 4g + t). A packed word holds, in byte i, the code of
 * b0's byte i in bits 0-3 and b1's in bits 4-7, so
 *   c  = w & 0x0F0F0F0F   (or (w >> 4) & ...)   codes c_i in byte lanes
 *   b  = (c * s2 + kc) ^ 0x80808080,   kc = 0x80808080 - z * s2 * 0x01010101 (mod 2^32)
 * Why it is exact with no carry across lanes: as integers mod 2^32,
 *   c * s2 + kc = sum_i (c_i * s2 - z * s2 + 128) * 256^i = sum_i (w8_i + 128) * 256^i,
 * and the format guarantees w8_i in [-128, 127], so every coefficient
 * w8_i + 128 lies in [0, 255]: the sum IS the byte representation, whatever
 * carries c_i * s2 alone would make (c_i * s2 may exceed 255, e.g.
 * s2 = 100, z = c = 15). XOR 0x80 per byte maps w8_i + 128 to w8_i's two's
 * complement byte. Cost per register of 4 weights: and (+shift), one
 * integer multiply-add, one xor; the pre-scaled zero kc is per (group, n)
 * and is rebuilt only when the group changes (every 2 stages).
 *
 * Per-channel (w8 = code - z, z per column) takes the cheaper exact form
 * with z folded out of the sum:
 *   acc = sum_k x * code - z[n] * rowsum[m],   rowsum[m] = sum_k x[m, k]
 * The codes 0..15 are valid s8 operands as they are, so the widening is
 * only the mask (and shift); the row sums come from the A fragments
 * already in registers (dp4a of each A register with 0x01010101: 4 per
 * m16 tile per k32, against 2 saved instructions per n8 tile and k32),
 * summed over the 4 lanes of a quad at the end. Every term is an exact
 * int32 (|sum x * code| <= 128 * 15 * 65536 < 2^31, |rowsum| <= 2^23), the
 * difference is evaluated mod 2^32 and the true value fits: exact. K-tail
 * and padding codes are 0 and meet X's zero-fill, so they add 0 to both sums.
 *
 * Block: 4 warps as WM x WN, each warp MT m16 tiles by NT n8 tiles, block
 * tile BM x n128, k64 per stage, multi-stage cp.async pipeline. Shared
 * memory per stage: A (BM rows x 64 bytes, the int8 kernel's swizzle and
 * ldmatrix loads), the 4 KB codes tile (16 bytes per lane per n16 unit,
 * read as one conflict-free 128-bit load) and, for g128, the tile's 128
 * lane parameters (u16 s2 | z << 8).
 *
 * Tails: rows past M and bytes past K are zero-filled by cp.async (they add
 * 0 whatever the padded codes widen to); n past N exists in the blob
 * (padded at prepack) and is never stored. Split-K (grid z) writes exact
 * int32 partial sums; the reduce sums them (exact, any order) and runs the
 * same epilogue, so split and unsplit results are identical.
 */
#ifndef QBLAS_W4A8_KERNEL_CUH
#define QBLAS_W4A8_KERNEL_CUH

#include "int8_kernel.cuh" /* mma_s8 (cuda_ptx.cuh), load_tile + i8_off (the X tile), zero_acc, epilogue_i8 */
#include "kernel_configs.h"
#include "kernels_w4a8.h"
#include "qb_vendor.cuh"

namespace qb {

template <int WM, int WN, int MT, int NT> struct W4A8Tile {
    static constexpr int BM = WM * MT * 16, BN = WN * NT * 8;
    static constexpr int A_BYTES = BM * QB_W4A8_BK;
    static constexpr int P_OFF = A_BYTES + QB_W4A8_TILE_BYTES;
    static constexpr int STAGE = QB_W4A8_STAGE_BYTES(BM);
    static_assert(WM * WN * 32 == QB_W4A8_THREADS, "four warps");
    static_assert(BN == QB_W4A8_BN, "the packed codes come in n128 tiles");
    static_assert(NT % 2 == 0, "codes are read one n16 unit (two n8 tiles) per load");
};

/* Widen one packed word (see the file comment) into the two B fragment registers. */
__device__ __forceinline__ void w4a8_widen(uint32_t w, uint32_t s2, uint32_t kc, uint32_t &b0, uint32_t &b1)
{
    b0 = ((w & 0x0F0F0F0Fu) * s2 + kc) ^ 0x80808080u;
    b1 = (((w >> 4) & 0x0F0F0F0Fu) * s2 + kc) ^ 0x80808080u;
}

/* The X tile is int8_kernel.cuh's (load_tile, i8_off) with a partial last
 * chunk: K is even, not necessarily a multiple of 16. */
static_assert(QB_W4A8_BK == QB_I8_BK, "the int8 swizzle assumes 64-byte rows");

/* The codes tile (n128 block nb, k tile kt: 4 KB, contiguous in the blob)
 * and (g128) its group's 128 parameters (256 bytes). */
template <int BM, bool PC>
__device__ __forceinline__ void w4a8_load_b(uint8_t *st, const qb_w4a8_kparams &p, int nb, int kt, int tid,
                                            uint64_t pol)
{
    constexpr int A_BYTES = BM * QB_W4A8_BK;
    const uint8_t *src = reinterpret_cast<const uint8_t *>(p.codes) +
                         ((long long)nb * p.kt_total + kt) * QB_W4A8_TILE_BYTES;
#pragma unroll
    for (int i = 0; i < QB_W4A8_TILE_BYTES / 16 / QB_W4A8_THREADS; ++i) {
        const int c = (tid + i * QB_W4A8_THREADS) * 16;
        cp_async16(st + A_BYTES + c, src + c, 16, pol);
    }
    if (!PC && tid < QB_W4A8_P_BYTES / 16) { /* per-channel: z is applied in the epilogue */
        const uint16_t *ps = p.params + (long long)(kt >> p.group_shift) * p.np + (long long)nb * QB_W4A8_BN;
        cp_async16(st + A_BYTES + QB_W4A8_TILE_BYTES + tid * 16, reinterpret_cast<const uint8_t *>(ps) + tid * 16, 16,
                   pol);
    }
}

/* One k64 stage: load this lane's codes (one 128-bit load per n16 unit),
 * then two k32 steps of widening and mma for every (m16, n8) tile of the warp. */
template <int WM, int WN, int MT, int NT, bool PC>
__device__ __forceinline__ void w4a8_compute_stage(const uint8_t *st, int k_left, int wm, int wn, int lane,
                                                   const uint32_t (&s2)[NT], const uint32_t (&kc)[NT],
                                                   int32_t (&acc)[MT][NT][4], int32_t (&rs)[MT][2])
{
    using T = W4A8Tile<WM, WN, MT, NT>;
    const uint8_t *sa = st, *sb = st + T::A_BYTES;
    uint4 q[NT / 2];
#pragma unroll
    for (int u = 0; u < NT / 2; ++u)
        q[u] = *reinterpret_cast<const uint4 *>(sb + ((wn * (NT / 2) + u) * 32 + lane) * 16);
    /* A as in the int8 kernel: lane l addresses row (l & 7) + 8 * ((l >> 3) & 1), k chunk l >> 4 */
    const int arow = (lane & 7) + 8 * ((lane >> 3) & 1), achunk = lane >> 4;
#pragma unroll
    for (int ks = 0; ks < 2; ++ks) {
        if (ks * 32 >= k_left) continue; /* K tail: the step is all zero-fill (block-uniform) */
        uint32_t a[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
            ldmatrix_x4(a[mt], sa + i8_off((wm * MT + mt) * 16 + arow, ks * 2 + achunk));
            if constexpr (PC) { /* row g: a0 a2, row g + 8: a1 a3 (this lane's 8 of the k32) */
                rs[mt][0] = __dp4a((int)a[mt][2], 0x01010101, __dp4a((int)a[mt][0], 0x01010101, rs[mt][0]));
                rs[mt][1] = __dp4a((int)a[mt][3], 0x01010101, __dp4a((int)a[mt][1], 0x01010101, rs[mt][1]));
            }
        }
#pragma unroll
        for (int u = 0; u < NT / 2; ++u)
#pragma unroll
            for (int jj = 0; jj < 2; ++jj) {
                /* word ks * 2 + jj of the unit: n8 tile 2u + jj, k32 step ks */
                const uint32_t w = ks == 0 ? (jj == 0 ? q[u].x : q[u].y) : (jj == 0 ? q[u].z : q[u].w);
                const int j = 2 * u + jj;
                uint32_t b0, b1;
                if constexpr (PC)
                    b0 = w & 0x0F0F0F0Fu, b1 = (w >> 4) & 0x0F0F0F0Fu; /* the codes themselves */
                else
                    w4a8_widen(w, s2[j], kc[j], b0, b1);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) mma_s8(acc[mt][j], a[mt], b0, b1);
            }
    }
}

/* The unsplit epilogue is the int8 kernel's (epilogue_i8): the same
 * operations in the same order, with s1 as its per-column weight scale and
 * no zero points. */
__device__ __forceinline__ qb_int8_kparams w4a8_epilogue_params(const qb_w4a8_kparams &p)
{
    qb_int8_kparams e = {};
    e.sx = p.sx, e.sx_per_row = p.sx_per_row;
    e.sw = p.s1, e.sw_per_row = 1;
    e.zx = nullptr, e.colsum = nullptr;
    e.m = p.m, e.n = p.n, e.k = p.k;
    e.y = p.y, e.ldy = p.ldy, e.y_dtype = p.y_dtype, e.bias = p.bias;
    return e;
}

/* Split-K: this split's exact int32 sums to partial[z][m][n] (n < np: the
 * block's n128 lies inside the padded width; columns past N are never read). */
template <int MT, int NT>
__device__ __forceinline__ void w4a8_store_partial(const qb_w4a8_kparams &p, const int32_t (&acc)[MT][NT][4], int m0,
                                                   int n0, int lane)
{
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int i = 0; i < MT * 2; ++i) {
        const int m = m0 + i * 8 + g;
        if (m >= p.m) continue;
        int32_t *pr = p.partial + ((long long)blockIdx.z * p.m + m) * p.np + n0 + 2 * t;
#pragma unroll
        for (int j = 0; j < NT; ++j)
            *reinterpret_cast<int2 *>(pr + j * 8) = make_int2(acc[i / 2][j][2 * (i % 2)], acc[i / 2][j][2 * (i % 2) + 1]);
    }
}

/* Per-channel: acc -= z[n] * rowsum[m] (see the file comment); rs holds
 * this lane's partial row sums of rows g and g + 8 of each m16 tile. */
template <int MT, int NT>
__device__ __forceinline__ void w4a8_fold_zero(const qb_w4a8_kparams &p, int32_t (&acc)[MT][NT][4],
                                               int32_t (&rs)[MT][2], int n0, int lane)
{
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) { /* the quad's 4 lanes hold the 4 k slices of each row */
            rs[mt][h] += QB_SHFL_XOR(rs[mt][h], 1);
            rs[mt][h] += QB_SHFL_XOR(rs[mt][h], 2);
        }
    const int t = lane & 3;
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            /* column n0 + j*8 + 2t + e < np: padded columns have z = 0 */
            const uint32_t z = p.params[n0 + j * 8 + 2 * t + e] >> 8;
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int h = 0; h < 2; ++h)
                    acc[mt][j][2 * h + e] = (int32_t)((uint32_t)acc[mt][j][2 * h + e] - z * (uint32_t)rs[mt][h]);
        }
}

template <int WM, int WN, int MT, int NT, int STAGES, bool PC>
__global__ void __launch_bounds__(QB_W4A8_THREADS) w4a8_mma_kernel(const qb_w4a8_kparams p)
{
    using T = W4A8Tile<WM, WN, MT, NT>;
    static_assert(STAGES >= 2 && STAGES <= 8, "cp.async wait_group takes 0..6 here");
    QB_DYNAMIC_SMEM(uint8_t, smem, 128);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp / WN, wn = warp % WN;
    const int m0 = blockIdx.x * T::BM, nb = blockIdx.y, n0 = nb * QB_W4A8_BN;
    const int kt0 = blockIdx.z * p.tiles_per_split;
    const int kt1 = min(p.kt_total, kt0 + p.tiles_per_split);
    const int ktiles = kt1 - kt0; /* >= 1: the host plans no empty split */
    /* one block row reads the weights once (small M): keep them from evicting X */
    const uint64_t pol_w = gridDim.x == 1 ? l2_evict_first() : l2_evict_normal();
    const uint64_t pol_x = l2_evict_last();
    const int8_t *xg = p.x + (long long)m0 * p.ldx;

    int32_t acc[MT][NT][4];
    zero_acc(acc);

    /* prologue: steps 0 .. STAGES-2 in flight, one commit group each */
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < ktiles) {
            load_tile<T::BM, QB_W4A8_THREADS, true>(smem + s * T::STAGE, xg, p.ldx, p.m - m0, p.k, kt0 + s, tid,
                                                    pol_x);
            w4a8_load_b<T::BM, PC>(smem + s * T::STAGE, p, nb, kt0 + s, tid, pol_w);
        }
        cp_async_commit();
    }
    uint32_t s2[NT], kc[NT];
    int32_t rs[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) rs[mt][0] = rs[mt][1] = 0;
    int cur_group = -1;
    int rd = 0, wr = STAGES - 1;
    for (int t = 0; t < ktiles; ++t) {
        cp_async_wait<STAGES - 2>(); /* this thread's copies of step t have landed */
        __syncthreads();             /* everyone's have; and step t-1's buffer is free */
        const int nt = t + STAGES - 1;
        if (nt < ktiles) {
            load_tile<T::BM, QB_W4A8_THREADS, true>(smem + wr * T::STAGE, xg, p.ldx, p.m - m0, p.k, kt0 + nt, tid,
                                                    pol_x);
            w4a8_load_b<T::BM, PC>(smem + wr * T::STAGE, p, nb, kt0 + nt, tid, pol_w);
        }
        cp_async_commit();
        const uint8_t *st = smem + rd * T::STAGE;
        const int kt = kt0 + t, group = kt >> p.group_shift;
        if (!PC && group != cur_group) { /* block-uniform: every 2 stages */
            const uint16_t *sp = reinterpret_cast<const uint16_t *>(st + T::P_OFF);
#pragma unroll
            for (int j = 0; j < NT; ++j) {
                const uint32_t v = sp[wn * NT * 8 + j * 8 + (lane >> 2)];
                s2[j] = v & 0xFFu;
                kc[j] = 0x80808080u - (v >> 8) * s2[j] * 0x01010101u; /* 128 - z*s2 in every lane, mod 2^32 */
            }
            cur_group = group;
        }
        w4a8_compute_stage<WM, WN, MT, NT, PC>(st, p.k - kt * QB_W4A8_BK, wm, wn, lane, s2, kc, acc, rs);
        rd = rd + 1 == STAGES ? 0 : rd + 1;
        wr = wr + 1 == STAGES ? 0 : wr + 1;
    }
    cp_async_wait<0>();
    const int em = m0 + wm * MT * 16, en = n0 + wn * NT * 8;
    if constexpr (PC) w4a8_fold_zero(p, acc, rs, en, lane);
    if (p.splits > 1) {
        w4a8_store_partial(p, acc, em, en, lane);
        return;
    }
    const qb_int8_kparams ep = w4a8_epilogue_params(p);
    if (p.y_dtype == QBLAS_DTYPE_F16)
        epilogue_i8<__half>(ep, acc, em, en, lane);
    else if (p.y_dtype == QBLAS_DTYPE_BF16)
        epilogue_i8<__nv_bfloat16>(ep, acc, em, en, lane);
    else
        epilogue_i8<float>(ep, acc, em, en, lane);
}

/* The configurations: QB_W4A8_CONFIGS (kernel_configs.h), (BM, stages) ->
 * warps WM x WN, tiles MT x NT. One translation unit per block-row size
 * (w4a8_gemm_m<BM>.cu; each builds both variants for three architectures:
 * keep the units small) builds the configurations of its BM. */
template <int BMSEL> cudaError_t w4a8_launch_bm(int bm, int stages, const qb_w4a8_kparams *p, cudaStream_t s)
{
    const dim3 grid((unsigned)((p->m + bm - 1) / bm), (unsigned)(p->np / QB_W4A8_BN), (unsigned)p->splits);
    const int smem = stages * QB_W4A8_STAGE_BYTES(bm);
#define QB_W4A8_LAUNCH_ONE(name, a80, a89, a90, BM, ST, WM, WN, MT, NT)                                    \
    if constexpr (BM == BMSEL) {                                                                           \
        if (bm == BM && stages == ST) {                                                                    \
            if (p->per_channel)                                                                            \
                QB_LAUNCH(grid, QB_W4A8_THREADS, smem, s, w4a8_mma_kernel<WM, WN, MT, NT, ST, true>)(*p);  \
            else                                                                                           \
                QB_LAUNCH(grid, QB_W4A8_THREADS, smem, s, w4a8_mma_kernel<WM, WN, MT, NT, ST, false>)(*p); \
            return cudaGetLastError();                                                                     \
        }                                                                                                  \
    }
    QB_W4A8_CONFIGS(QB_W4A8_LAUNCH_ONE)
#undef QB_W4A8_LAUNCH_ONE
    return cudaErrorInvalidValue;
}

template <int BMSEL> cudaError_t w4a8_prepare_bm(int smem_max)
{
    cudaError_t e = cudaSuccess;
#define QB_W4A8_PREPARE_ONE(name, a80, a89, a90, BM, ST, WM, WN, MT, NT)                                   \
    if constexpr (BM == BMSEL) {                                                                           \
        if (e == cudaSuccess)                                                                              \
            e = cudaFuncSetAttribute(w4a8_mma_kernel<WM, WN, MT, NT, ST, false>,                           \
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, smem_max);               \
        if (e == cudaSuccess)                                                                              \
            e = cudaFuncSetAttribute(w4a8_mma_kernel<WM, WN, MT, NT, ST, true>,                            \
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, smem_max);               \
    }
    QB_W4A8_CONFIGS(QB_W4A8_PREPARE_ONE)
#undef QB_W4A8_PREPARE_ONE
    return e;
}

/* Per translation unit: launch / allow smem for the configurations it builds
 * (launch: cudaErrorInvalidValue when (bm, stages) is not one of them). */
#define QB_W4A8_BLOCK_ROWS(X) X(16) X(32) X(64) X(128)
#define QB_W4A8_DECLARE(BM)                                                                                \
    cudaError_t w4a8_launch_m##BM(int bm, int stages, const qb_w4a8_kparams *p, cudaStream_t s);           \
    cudaError_t w4a8_prepare_m##BM(int smem_max);
QB_W4A8_BLOCK_ROWS(QB_W4A8_DECLARE)
#undef QB_W4A8_DECLARE
#define QB_W4A8_DEFINE_LAUNCHERS(BM)                                                                       \
    cudaError_t w4a8_launch_m##BM(int bm, int stages, const qb_w4a8_kparams *p, cudaStream_t s)            \
    {                                                                                                      \
        return w4a8_launch_bm<BM>(bm, stages, p, s);                                                       \
    }                                                                                                      \
    cudaError_t w4a8_prepare_m##BM(int smem_max) { return w4a8_prepare_bm<BM>(smem_max); }

} // namespace qb
#endif /* QBLAS_W4A8_KERNEL_CUH */
