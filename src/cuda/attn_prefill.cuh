/* attn_prefill.cuh - prefill / extend attention over the paged, quantized KV
 * cache on tensor cores (mma.sync m16n8k16, f16 or bf16 in, fp32 out; sm_80+),
 * FlashAttention-2 style (one pass over the keys, online softmax).
 *
 * Work: a CTA owns BQ = 64 "packed rows" of one sequence and one kv head.
 * Packed row pk = i * G + g is query token i of the sequence, query head
 * h * G + g (FlashInfer's GQA packing): the G heads that share a kv head
 * share every K/V tile, so a tile is loaded and dequantized once for them
 * all. 4 warps, warp w owns packed rows 16w .. 16w+15 (one m16 tile).
 * A tiny planning kernel (attn_prefill.cu) turns qo_indptr into the prefix
 * sum of q tiles per sequence; CTA x finds its (sequence, q tile) by binary
 * search in it, last q tile of a sequence first (it sees the most keys).
 *
 * Per K/V tile of BK keys (64; 32 for D = 256 to keep the fp32 O accumulator
 * of 16 x 256 per warp in registers):
 *   S = Q K^T        Q fragments in registers (D <= 128) or ldmatrix from
 *                    smem (D = 256); K [key][d] is the mma "col" operand
 *                    as stored, plain ldmatrix.
 *   x = sm_scale*S, soft-cap cap*tanhf(x/cap), *log2(e), mask -> -inf
 *   online softmax   m = running max (log2 units), p = exp2f(x - m),
 *                    l and O rescaled by exp2f(m_old - m_new)
 *   O += P V         P taken straight from the S accumulators (the C
 *                    fragment of two n8 tiles is the A fragment of one k16
 *                    step), rounded to the query dtype; V [key][d] needs
 *                    the transposed operand: ldmatrix.trans.
 * l sums the unrounded fp32 p, O the rounded ones (as FA2 does): the
 * rounding is a relative error of half an ulp of the query dtype per p.
 *
 * Shared memory: Q (64 x D), K and V tiles (BK x D) in the query dtype,
 * rows of D/8 16-byte chunks, chunk c of row r stored at c ^ (r & 7): the 8
 * row addresses of every ldmatrix phase (8 consecutive rows, one logical
 * chunk) hit 8 different bank quads. A cache of the query's dtype is copied
 * there directly (cp.async); any other cache lands raw in a staging tile
 * (BK rows of row_bytes, with per-token scales/zeros for I8/U4), is
 * dequantized with attn_common.cuh's exact fp32 decoders, rounded RNE to
 * the query dtype and written into the K/V tile. Pipeline: V(t) and K(t+1)
 * are in flight while S(t) and P(t)V(t) are computed (cp.async groups).
 *
 * Masks: key j is visible to a row at pos iff lo <= j <= hi with
 * hi = causal ? pos : L-1, lo = window_left >= 0 ? pos - window_left : 0;
 * tiles that every row of the CTA sees whole skip the mask. A block-table
 * entry outside [0, num_pages) is not read: its keys load as zero rows
 * (logit 0, value 0) - unspecified outputs for that sequence, no OOB.
 * Rows with no visible key (only possible with such bad data, since a
 * prefill query always sees itself) store O = +0 and lse = -inf.
 */
#ifndef QBLAS_ATTN_PREFILL_CUH
#define QBLAS_ATTN_PREFILL_CUH

#include <math.h>
#include <stdint.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "attn_common.cuh"
#include "cuda_ptx.cuh"
#include "kernels_attention.h"
#include "qb_vendor.cuh"
#include "qblas/qblas_types.h"

namespace qb {
namespace attn_pf {

/* mma fragment math below is NVIDIA's 32-lane layout. */
static_assert(QB_WARP_SIZE == 32, "mma.sync fragments assume 32 lanes");
constexpr int kBQ = QB_ATTN_PREFILL_ROWS, kWarps = 4, kThreads = kWarps * QB_WARP_SIZE;

/* Shared addresses of chunk 2kk + c1 (c1 = 0/1, per lane) of a row r whose
 * r & 7 is fixed per lane: with kk = 4a + b the chunk's swizzle only
 * touches its low 3 bits, so the address is base[b] + 128 a (an immediate):
 * four registers instead of one per kk. */
struct ChunkAddr {
    uint32_t base[4];
    __device__ __forceinline__ ChunkAddr(uint32_t row_addr, int row, int c1)
    {
#pragma unroll
        for (int b = 0; b < 4; ++b) base[b] = row_addr + ((((2 * b + c1) ^ (row & 7))) << 4);
    }
    __device__ __forceinline__ uint32_t at(int kk) const { return base[kk & 3] + 128 * (kk >> 2); }
};

/* The query dtype: packing two fp32 (RNE, lower index in the low half) and the mma. */
template <typename QT> struct QOps;
template <> struct QOps<__half> {
    static constexpr int dtype = QBLAS_DTYPE_F16;
    static __device__ __forceinline__ uint32_t pack(float lo, float hi)
    {
        const __half2 h = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<const uint32_t *>(&h);
    }
    static __device__ __forceinline__ void mma(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
    {
        mma_f16(d, a, b0, b1);
    }
};
template <> struct QOps<__nv_bfloat16> {
    static constexpr int dtype = QBLAS_DTYPE_BF16;
    static __device__ __forceinline__ uint32_t pack(float lo, float hi)
    {
        const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
        return *reinterpret_cast<const uint32_t *>(&h);
    }
    static __device__ __forceinline__ void mma(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
    {
        mma_bf16(d, a, b0, b1);
    }
};

/* Geometry and shared-memory map of one instantiation. */
template <typename QT, int KV, int D> struct Cfg {
    using KT = attn::KvType<KV>;
    static constexpr int BK = D == 256 ? 32 : 64;
    static constexpr bool DIRECT = KV == QOps<QT>::dtype; /* cache already in the mma dtype */
    static constexpr int ROW = D * 2;                       /* bytes of a Q/K/V smem row */
    static constexpr int RAW_ROW = KT::row_bytes(D);        /* bytes of a cache row */
    static constexpr int QCH = D / 8;                       /* 16-byte chunks per smem row */
    static constexpr int RCH = RAW_ROW / 16;                /* 16-byte chunks per cache row */
    static constexpr int Q_BYTES = kBQ * ROW, T_BYTES = BK * ROW;
    static constexpr int RAW_BYTES = DIRECT ? 0 : BK * RAW_ROW;
    static constexpr int SC_BYTES = KT::kPerToken ? BK * 4 : 0;
    static constexpr int Z_BYTES = KT::kZero ? BK * 4 : 0;
    static constexpr int OFF_K = Q_BYTES, OFF_V = OFF_K + T_BYTES, OFF_RK = OFF_V + T_BYTES;
    static constexpr int OFF_RV = OFF_RK + RAW_BYTES, OFF_SK = OFF_RV + RAW_BYTES, OFF_SV = OFF_SK + SC_BYTES;
    static constexpr int OFF_ZK = OFF_SV + SC_BYTES, OFF_ZV = OFF_ZK + Z_BYTES, SMEM = OFF_ZV + Z_BYTES;
    static constexpr bool QREG = D <= 128; /* Q fragments live in registers */
    /* chunks of a K/V tile load per thread (128 % chunks-per-row == 0: a thread keeps its column) */
    static constexpr int LCH = DIRECT ? QCH : RCH, LOADS = BK * LCH / kThreads;
    static_assert(QCH >= 8, "the swizzle needs 8 chunks per row");
    static_assert(kThreads % LCH == 0 && (BK * LCH) % kThreads == 0, "whole rows per load pass");
    static_assert((kBQ * QCH) % kThreads == 0, "Q load");
    static_assert(RAW_ROW % 16 == 0, "cache rows are whole 16-byte chunks");
    static_assert(SMEM <= 99 * 1024, "fits the opt-in shared memory of sm_86/sm_89 (the smallest served)");
};

/* Byte offset of 16-byte chunk c of row r in a Q/K/V tile of D/8 chunks per row. */
template <int D> __device__ __forceinline__ int swz(int r, int c) { return r * (D * 2) + ((c ^ (r & 7)) << 4); }

/* Sequence s with the device data clamped (kernels_attention.h): L in
 * [0, max_seq_len], its query tokens [start, start + qo_len) inside
 * [0, num_q_tokens), qo_len <= L. */
struct SeqInfo {
    int L, start, qo_len;
};
__device__ __forceinline__ SeqInfo seq_info(const qb_attn_kparams &p, int s)
{
    const int L = attn::seq_len(p, s);
    const int a = min(max(p.qo_indptr[s], 0), p.num_q_tokens);
    const int b = min(max(p.qo_indptr[s + 1], a), p.num_q_tokens);
    return SeqInfo{L, a, min(b - a, L)};
}
/* q tiles of a sequence: ceil(qo_len * G / 64). */
__device__ __forceinline__ long long seq_tiles(const SeqInfo &si, int G)
{
    return ((long long)si.qo_len * G + kBQ - 1) / kBQ;
}

/* Issue the cp.async copies of keys t0 .. t0+BK-1 of K or V: into the mma
 * tile (DIRECT, swizzled) or the raw staging tile (+ scales, zeros). Keys
 * past L or on a bad page are zero-filled without a read. */
template <typename QT, int KV, int D>
__device__ __forceinline__ void load_kv(const qb_attn_kparams &p, const uint8_t *g, const float *gs, const float *gz,
                                        uint8_t *dst, float *ssc, float *szr, const int32_t *bt, int t0, int L, int h,
                                        int tid, uint64_t pol)
{
    using C = Cfg<QT, KV, D>;
    const int col = tid % C::LCH;
#pragma unroll
    for (int i = 0; i < C::LOADS; ++i) {
        const int row = tid / C::LCH + i * (kThreads / C::LCH);
        const unsigned j = (unsigned)t0 + row; /* no signed overflow even for absurd lengths */
        long long r = -1;
        if (j < (unsigned)L) {
            const int pg = attn::page_of(bt, (int)j, p.kv.page_size, p.kv.num_pages);
            if (pg >= 0) r = attn::kv_row(p.kv, pg, (int)j % p.kv.page_size, h);
        }
        const uint8_t *src = r >= 0 ? g + r * C::RAW_ROW + col * 16 : g;
        uint8_t *d = C::DIRECT ? dst + swz<D>(row, col) : dst + row * C::RAW_ROW + col * 16;
        cp_async16(d, src, r >= 0 ? 16 : 0, pol);
        if constexpr (C::KT::kPerToken) {
            if (col == 0) {
                cp_async4(ssc + row, r >= 0 ? gs + r : gs, r >= 0 ? 4 : 0);
                if constexpr (C::KT::kZero) cp_async4(szr + row, r >= 0 ? gz + r : gz, r >= 0 ? 4 : 0);
            }
        }
    }
}

/* Raw staging tile -> K/V tile in the query dtype: exact fp32 dequantization
 * (attn_common.cuh), one RNE rounding to QT. s_fp8: the E4M3 scale. */
template <typename QT, int KV, int D>
__device__ __forceinline__ void dequant_tile(const uint8_t *raw, const float *ssc, const float *szr, float s_fp8,
                                             uint8_t *tile, int tid)
{
    using C = Cfg<QT, KV, D>;
    constexpr int PER = C::KT::kPer16; /* elements per raw chunk: 8, 16 or 32 */
    const int col = tid % C::RCH;
#pragma unroll
    for (int i = 0; i < C::LOADS; ++i) {
        const int row = tid / C::RCH + i * (kThreads / C::RCH);
        const uint4 w = *reinterpret_cast<const uint4 *>(raw + row * C::RAW_ROW + col * 16);
        const float s = C::KT::kPerToken ? ssc[row] : s_fp8;
        const float z = C::KT::kZero ? szr[row] : 0.f;
        float x[PER];
        attn::dequant16<KV>(w, s, z, x);
#pragma unroll
        for (int c = 0; c < PER / 8; ++c) {
            uint4 o;
            o.x = QOps<QT>::pack(x[8 * c + 0], x[8 * c + 1]);
            o.y = QOps<QT>::pack(x[8 * c + 2], x[8 * c + 3]);
            o.z = QOps<QT>::pack(x[8 * c + 4], x[8 * c + 5]);
            o.w = QOps<QT>::pack(x[8 * c + 6], x[8 * c + 7]);
            *reinterpret_cast<uint4 *>(tile + swz<D>(row, col * (PER / 8) + c)) = o;
        }
    }
}

template <typename QT, int KV, int D>
__global__ void __launch_bounds__(kThreads) prefill_kernel(const qb_attn_kparams p, const int *__restrict__ tile_ptr)
{
    using C = Cfg<QT, KV, D>;
    using Q = QOps<QT>;
    constexpr int BK = C::BK, NT = BK / 8, DT = D / 8;
    QB_DYNAMIC_SMEM(uint8_t, smem, 128);
    const int tid = threadIdx.x, warp = tid / QB_WARP_SIZE, lane = tid % QB_WARP_SIZE;
    const int T = blockIdx.x, h = blockIdx.y, G = p.group;

    /* (sequence, q tile) of this CTA */
    if (T >= tile_ptr[p.num_seqs]) return;
    int s = 0;
    for (int hi = p.num_seqs - 1; s < hi;) { /* last s with tile_ptr[s] <= T (skips empty sequences) */
        const int mid = (s + hi + 1) >> 1;
        if (tile_ptr[mid] <= T) s = mid;
        else hi = mid - 1;
    }
    const SeqInfo si = seq_info(p, s);
    const long long rows_total = (long long)si.qo_len * G, row_base = (long long)(tile_ptr[s + 1] - 1 - T) * kBQ;
    if (row_base >= rows_total) return; /* only when the plan saturated (absurd device data) */
    const int rows_valid = (int)min((long long)kBQ, rows_total - row_base);
    const int L = si.L, q0pos = L - si.qo_len; /* query i sits at q0pos + i */
    const bool causal = p.causal != 0, win = p.window_left >= 0;

    /* packed row row_base + r is query i0 + (g0 + r) / G, head (g0 + r) % G:
     * 32-bit divisions (g0 + r < G + 64) */
    const int i0 = (int)(row_base / G), g0 = (int)(row_base % G);
    /* this thread's two rows (g and g + 8 of its warp's m16 tile) */
    int lo[2], hi[2];
    long long orow[2]; /* element offset of the row in q/o: (token * Hq + hq) * D, or -1 */
#pragma unroll
    for (int rr = 0; rr < 2; ++rr) {
        const int r = warp * 16 + lane / 4 + 8 * rr;
        if (r < rows_valid) {
            const int i = i0 + (g0 + r) / G, g = (g0 + r) % G, pos = q0pos + i;
            hi[rr] = causal ? pos : L - 1;
            lo[rr] = win ? pos - p.window_left : 0;
            orow[rr] = ((long long)(si.start + i) * p.num_q_heads + (long long)h * G + g) * D;
        } else {
            hi[rr] = -1, lo[rr] = 0, orow[rr] = -1;
        }
    }
    /* keys any row sees: [kv_lo, kv_hi]; keys every row sees: [full_lo, full_hi] */
    const int pos_first = q0pos + i0, pos_last = q0pos + i0 + (g0 + rows_valid - 1) / G;
    const int kv_hi = causal ? pos_last : L - 1, full_hi = causal ? pos_first : L - 1;
    const int kv_lo = win ? max(0, pos_first - p.window_left) : 0;
    const int full_lo = win ? pos_last - p.window_left : 0;
    const int t_begin = kv_lo / BK * BK;

    uint8_t *sQ = smem, *sK = smem + C::OFF_K, *sV = smem + C::OFF_V;
    uint8_t *rK = smem + C::OFF_RK, *rV = smem + C::OFF_RV;
    float *scK = reinterpret_cast<float *>(smem + C::OFF_SK), *scV = reinterpret_cast<float *>(smem + C::OFF_SV);
    float *zK = reinterpret_cast<float *>(smem + C::OFF_ZK), *zV = reinterpret_cast<float *>(smem + C::OFF_ZV);
    const int32_t *bt = attn::bt_row(p, s);
    const uint8_t *gk = static_cast<const uint8_t *>(p.kv.k), *gv = static_cast<const uint8_t *>(p.kv.v);
    float fp8_k = 1.f, fp8_v = 1.f;
    if constexpr (C::KT::kFp8) fp8_k = attn::fp8_scale(p.kv, p.kv.k_scale, h), fp8_v = attn::fp8_scale(p.kv, p.kv.v_scale, h);
    const uint64_t pol_q = l2_evict_first(), pol_kv = l2_evict_last(); /* K/V pages are re-read by every q tile */

    /* prologue: Q and K(t_begin) */
#pragma unroll
    for (int i = 0; i < kBQ * C::QCH / kThreads; ++i) {
        const int c = tid + i * kThreads, r = c / C::QCH, col = c % C::QCH;
        const uint8_t *src = static_cast<const uint8_t *>(p.q);
        bool ok = r < rows_valid;
        if (ok) {
            const int ti = i0 + (g0 + r) / G, g = (g0 + r) % G;
            src += (((long long)(si.start + ti) * p.num_q_heads + (long long)h * G + g) * D + col * 8) * 2;
        }
        cp_async16(sQ + swz<D>(r, col), src, ok ? 16 : 0, pol_q);
    }
    load_kv<QT, KV, D>(p, gk, p.kv.k_scale, p.kv.k_zero, C::DIRECT ? sK : rK, scK, zK, bt, t_begin, L, h, tid, pol_kv);
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();

    /* A fragment of rows 16w.. of k16 step kk: lanes 0-15 rows 0-15 at
     * chunk 2kk, lanes 16-31 the same rows at chunk 2kk+1 */
    const int a_row = warp * 16 + (lane & 15);
    const ChunkAddr qa(smem_u32(sQ) + a_row * C::ROW, a_row, lane >> 4);
    uint32_t qf[C::QREG ? D / 16 : 1][4];
    if constexpr (C::QREG) {
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) ldmatrix_x4(qf[kk], qa.at(kk));
    }
    /* K as the col operand: x4 = (b0, b1) of n8 tiles 2jp and 2jp+1
     * (lanes 0-7 keys 0-7 chunk 2kk, 8-15 keys 0-7 chunk 2kk+1, 16-31 keys 8-15) */
    const int k_row = (lane & 7) + 8 * (lane >> 4);
    const ChunkAddr ka(smem_u32(sK) + k_row * C::ROW, k_row, (lane >> 3) & 1);
    /* V transposed: x4 = (b0, b1) of d8 tiles 2dp and 2dp+1 (lanes 0-7 keys
     * 0-7, 8-15 keys 8-15 at chunk 2dp; lanes 16-31 the same at 2dp+1) */
    const int v_row = (lane & 7) + 8 * ((lane >> 3) & 1);
    const ChunkAddr va(smem_u32(sV) + v_row * C::ROW, v_row, lane >> 4);
    const int kq = 2 * (lane & 3); /* key (S) / d (O) column of c0 within an n8 tile */
    const float sm_scale = p.sm_scale, cap = p.logit_softcap;
    constexpr float kLog2e = 1.4426950408889634f;

    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f}, acc[DT][4];
#pragma unroll
    for (int d = 0; d < DT; ++d) acc[d][0] = acc[d][1] = acc[d][2] = acc[d][3] = 0.f;

    const int ntiles = (kv_hi - t_begin) / BK + 1; /* counted, so t0 never steps past INT_MAX */
    for (int it = 0; it < ntiles; ++it) {
        const int t0 = t_begin + it * BK;
        const bool more = it + 1 < ntiles;
        if constexpr (C::DIRECT) __syncthreads(); /* the last P.V is done with sV */
        load_kv<QT, KV, D>(p, gv, p.kv.v_scale, p.kv.v_zero, C::DIRECT ? sV : rV, scV, zV, bt, t0, L, h, tid, pol_kv);
        cp_async_commit();
        cp_async_wait<1>(); /* K(t0) is in */
        __syncthreads();
        if constexpr (!C::DIRECT) {
            dequant_tile<QT, KV, D>(rK, scK, zK, fp8_k, sK, tid);
            __syncthreads(); /* sK written; rK free */
            if (more)
                load_kv<QT, KV, D>(p, gk, p.kv.k_scale, p.kv.k_zero, rK, scK, zK, bt, t0 + BK, L, h, tid, pol_kv);
            cp_async_commit();
        }

        /* S = Q K^T: warp rows x BK keys */
        float sc[NT][4];
#pragma unroll
        for (int j = 0; j < NT; ++j) sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
            uint32_t a[4];
            if constexpr (C::QREG) a[0] = qf[kk][0], a[1] = qf[kk][1], a[2] = qf[kk][2], a[3] = qf[kk][3];
            else ldmatrix_x4(a, qa.at(kk));
#pragma unroll
            for (int jp = 0; jp < NT / 2; ++jp) {
                uint32_t b[4];
                ldmatrix_x4(b, ka.at(kk) + jp * 16 * C::ROW);
                Q::mma(sc[2 * jp], a, b[0], b[1]);
                Q::mma(sc[2 * jp + 1], a, b[2], b[3]);
            }
        }
        if constexpr (C::DIRECT) {
            __syncthreads(); /* every warp is done with sK */
            if (more)
                load_kv<QT, KV, D>(p, gk, p.kv.k_scale, p.kv.k_zero, sK, scK, zK, bt, t0 + BK, L, h, tid, pol_kv);
            cp_async_commit();
        }

        /* logits in log2 units, masked; c0 c1: row g, keys kq, kq+1; c2 c3: row g+8 */
        const bool need_mask = !(t0 >= full_lo && t0 <= full_hi - (BK - 1));
        /* the rows' bounds relative to t0 (no overflow: lo >= -INT_MAX, t0 >= 0) */
        const int rlo[2] = {lo[0] - t0, lo[1] - t0}, rhi[2] = {hi[0] - t0, hi[1] - t0};
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                float x = __fmul_rn(sc[j][e], sm_scale);
                if (cap > 0.f) x = __fmul_rn(cap, tanhf(__fdiv_rn(x, cap))); /* the oracle's operations */
                x = __fmul_rn(x, kLog2e);
                const int key = j * 8 + kq + (e & 1), rr = e >> 1; /* key t0 + key */
                if (need_mask && (key < rlo[rr] || key > rhi[rr])) x = -INFINITY;
                sc[j][e] = x;
            }
        /* online softmax per row: the 4 lanes of a quad share a row */
#pragma unroll
        for (int rr = 0; rr < 2; ++rr) {
            float mx = -INFINITY;
#pragma unroll
            for (int j = 0; j < NT; ++j) mx = fmaxf(mx, fmaxf(sc[j][2 * rr], sc[j][2 * rr + 1]));
            mx = fmaxf(mx, QB_SHFL_XOR(mx, 1));
            mx = fmaxf(mx, QB_SHFL_XOR(mx, 2));
            const float m_new = fmaxf(m[rr], mx);
            const float m_use = m_new == -INFINITY ? 0.f : m_new; /* nothing visible yet: p = 0, not NaN */
            const float alpha = exp2f(__fsub_rn(m[rr], m_use));   /* m_old = -inf -> 0 */
            m[rr] = m_new;
            float sum = 0.f;
#pragma unroll
            for (int j = 0; j < NT; ++j)
#pragma unroll
                for (int e = 2 * rr; e < 2 * rr + 2; ++e) {
                    const float pv = exp2f(__fsub_rn(sc[j][e], m_use));
                    sc[j][e] = pv;
                    sum = __fadd_rn(sum, pv);
                }
            l[rr] = __fadd_rn(__fmul_rn(l[rr], alpha), sum);
#pragma unroll
            for (int d = 0; d < DT; ++d)
                acc[d][2 * rr] = __fmul_rn(acc[d][2 * rr], alpha), acc[d][2 * rr + 1] = __fmul_rn(acc[d][2 * rr + 1], alpha);
        }

        cp_async_wait<1>(); /* V(t0) is in (K(t0+BK) may still fly) */
        __syncthreads();
        if constexpr (!C::DIRECT) {
            dequant_tile<QT, KV, D>(rV, scV, zV, fp8_v, sV, tid);
            __syncthreads();
        }

        /* O += P V: k16 step kk takes keys 16kk.. = the C fragments of n8 tiles 2kk, 2kk+1 */
#pragma unroll
        for (int kk = 0; kk < BK / 16; ++kk) {
            uint32_t a[4];
            a[0] = Q::pack(sc[2 * kk][0], sc[2 * kk][1]);
            a[1] = Q::pack(sc[2 * kk][2], sc[2 * kk][3]);
            a[2] = Q::pack(sc[2 * kk + 1][0], sc[2 * kk + 1][1]);
            a[3] = Q::pack(sc[2 * kk + 1][2], sc[2 * kk + 1][3]);
#pragma unroll
            for (int dp = 0; dp < DT / 2; ++dp) {
                uint32_t b[4];
                ldmatrix_x4_trans(b, va.at(dp) + kk * 16 * C::ROW);
                Q::mma(acc[2 * dp], a, b[0], b[1]);
                Q::mma(acc[2 * dp + 1], a, b[2], b[3]);
            }
        }
    }
    cp_async_wait<0>(); /* nothing may land after exit */

    /* epilogue: O = acc / l (one division, RNE to q dtype); lse = m ln2 + ln l */
#pragma unroll
    for (int rr = 0; rr < 2; ++rr) {
        float lr = l[rr];
        lr = __fadd_rn(lr, QB_SHFL_XOR(lr, 1));
        lr = __fadd_rn(lr, QB_SHFL_XOR(lr, 2));
        if (orow[rr] < 0) continue;
        const bool any = m[rr] != -INFINITY;
        uint32_t *o = reinterpret_cast<uint32_t *>(static_cast<uint8_t *>(p.o) + (orow[rr] + kq) * 2);
#pragma unroll
        for (int d = 0; d < DT; ++d) {
            const float v0 = any ? __fdiv_rn(acc[d][2 * rr], lr) : 0.f;
            const float v1 = any ? __fdiv_rn(acc[d][2 * rr + 1], lr) : 0.f;
            o[d * 4] = Q::pack(v0, v1); /* d8 tile d: columns 8d + kq, +1 (4 words apart) */
        }
        if (p.lse && (lane & 3) == 0)
            p.lse[orow[rr] / D] = any ? __fadd_rn(__fmul_rn(m[rr], 0.6931471805599453f), logf(lr)) : -INFINITY;
    }
}

/* Per-(q dtype, D) launchers, one translation unit each (attn_prefill_<q>_d<D>.cu). */
#define QB_PF_DECLARE(QN, D)                                                                                   \
    cudaError_t launch_##QN##_d##D(int kv, const qb_attn_kparams &p, const int *tile_ptr, dim3 grid,          \
                                   cudaStream_t s);                                                            \
    cudaError_t prepare_##QN##_d##D(int smem_max);
QB_PF_DECLARE(f16, 64)
QB_PF_DECLARE(f16, 128)
QB_PF_DECLARE(f16, 256)
QB_PF_DECLARE(bf16, 64)
QB_PF_DECLARE(bf16, 128)
QB_PF_DECLARE(bf16, 256)
#undef QB_PF_DECLARE

/* The five cache dtypes of one (q dtype, D): what each attn_prefill_<q>_d<D>.cu instantiates. */
template <typename QT, int KV, int D>
cudaError_t launch_one(const qb_attn_kparams &p, const int *tile_ptr, dim3 grid, cudaStream_t s)
{
    constexpr int smem = Cfg<QT, KV, D>::SMEM; /* named: its commas would split QB_LAUNCH's arguments */
    QB_LAUNCH(grid, kThreads, smem, s, prefill_kernel<QT, KV, D>)(p, tile_ptr);
    return cudaGetLastError();
}
template <typename QT, int D>
cudaError_t launch_all(int kv, const qb_attn_kparams &p, const int *tile_ptr, dim3 grid, cudaStream_t s)
{
    switch (kv) {
    case QBLAS_DTYPE_F16: return launch_one<QT, QBLAS_DTYPE_F16, D>(p, tile_ptr, grid, s);
    case QBLAS_DTYPE_BF16: return launch_one<QT, QBLAS_DTYPE_BF16, D>(p, tile_ptr, grid, s);
    case QBLAS_DTYPE_E4M3: return launch_one<QT, QBLAS_DTYPE_E4M3, D>(p, tile_ptr, grid, s);
    case QBLAS_DTYPE_I8: return launch_one<QT, QBLAS_DTYPE_I8, D>(p, tile_ptr, grid, s);
    case QBLAS_DTYPE_U4: return launch_one<QT, QBLAS_DTYPE_U4, D>(p, tile_ptr, grid, s);
    default: return cudaErrorInvalidValue;
    }
}
/* Allow each kernel the dynamic shared memory it needs. Every kernel needs
 * <= 96 KiB (static_assert in Cfg), within the opt-in limit of every
 * architecture served; a smaller smem_max leaves the kernel alone (its
 * launch would then fail with a CUDA error instead of at init). */
template <typename QT, int KV, int D> cudaError_t prepare_one(int smem_max)
{
    if (Cfg<QT, KV, D>::SMEM > smem_max) return cudaSuccess;
    return cudaFuncSetAttribute(prefill_kernel<QT, KV, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                Cfg<QT, KV, D>::SMEM);
}
template <typename QT, int D> cudaError_t prepare_all(int smem_max)
{
    cudaError_t e = prepare_one<QT, QBLAS_DTYPE_F16, D>(smem_max);
    if (e == cudaSuccess) e = prepare_one<QT, QBLAS_DTYPE_BF16, D>(smem_max);
    if (e == cudaSuccess) e = prepare_one<QT, QBLAS_DTYPE_E4M3, D>(smem_max);
    if (e == cudaSuccess) e = prepare_one<QT, QBLAS_DTYPE_I8, D>(smem_max);
    if (e == cudaSuccess) e = prepare_one<QT, QBLAS_DTYPE_U4, D>(smem_max);
    return e;
}
#define QB_PF_DEFINE(QT, QN, D)                                                                                \
    cudaError_t launch_##QN##_d##D(int kv, const qb_attn_kparams &p, const int *tile_ptr, dim3 grid,          \
                                   cudaStream_t s)                                                             \
    {                                                                                                          \
        return launch_all<QT, D>(kv, p, tile_ptr, grid, s);                                                    \
    }                                                                                                          \
    cudaError_t prepare_##QN##_d##D(int smem_max) { return prepare_all<QT, D>(smem_max); }

} // namespace attn_pf
} // namespace qb
#endif /* QBLAS_ATTN_PREFILL_CUH */
