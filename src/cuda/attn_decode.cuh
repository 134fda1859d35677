/* attn_decode.cuh - decode attention over the paged, quantized KV cache:
 * one query token per sequence, all G query heads of a kv head together
 * (GQA/MQA: every K/V byte is read once per CTA), online softmax in fp32.
 * Ideas from FlashInfer's batch decode (facts, not code): lanes split the
 * head dimension, a cp.async multi-stage pipeline streams K/V pages into
 * shared memory, the block table is prefetched a tile ahead, per-token
 * scales ride in the same pipeline, and long contexts are split across
 * CTAs (flash-decoding) with a log-sum-exp merge.
 *
 * CTA = 128 threads: 4 warps (CUDA; 2 wavefronts of 64 on AMD). A token's
 * row (D elements) is handled by TX = D/8 lanes, 8 elements each (one
 * 16/8/4-byte shared load for f16/8-bit/u4), so a warp holds TY =
 * QB_WARP_SIZE/TX token groups and the CTA NG = 128/TX = 1024/D of them.
 * A pipeline tile is TILE = 4*NG tokens (64, 32, 16 for D = 64, 128, 256):
 * group grp takes tile tokens k*NG + grp, k = 0..3, so the TY groups of a
 * warp read adjacent rows and every shared load phase is one contiguous
 * span (no bank conflicts). K and V tiles are TILE*D*bits/8 bytes: 8 KB
 * (f16/bf16), 4 KB (e4m3/i8), 2 KB (u4) each, whatever D is.
 *
 * Per tile, each group: logits of its 4 tokens for all GT heads (fp32
 * dots of its 8 elements, then an xor butterfly over its TX lanes, so all
 * TX lanes hold the same bits), one online-softmax update (running max m,
 * sum l, accumulator acc[GT][8] rescaled once per tile), then P.V.
 * At the end the NG groups' (m, l, acc) are merged in shared memory in a
 * fixed order. Everything is deterministic: no atomics, fixed orders.
 *
 * Scales once per token: K and V elements are decoded without their scale
 * (unscaled8: exact for e4m3/i8, (float)code - z for u4); the K scale
 * multiplies the dot product (as sm_scale * s_k, one product per token),
 * the V scale the probability (p * s_v per token and head; e4m3's per-CTA
 * scale the accumulator at the end). Against the definition (round each
 * element's k = y * s, then the dot) this moves one fp32 rounding per term:
 * the logit stays within gamma_(D+3) |sm_scale| sum |q_d k_d| and each
 * p.v term within 2u of p * v, inside the tolerance FORMATS.md gives
 * (gamma_(D+4) for logits; the sums' gamma_n), and it saves a multiply per
 * element and operand.
 *
 * Pipeline (S stages; tile i in buffer i % S): iteration i waits for tile
 * i, publishes the cache rows of tile i+S-1 (computed by "row threads" tid
 * < TILE from the block-table entry they loaded one iteration earlier),
 * barriers, issues tile i+S-1 (16-byte cp.async per chunk, 4-byte cp.async
 * for I8/U4 scales and zeros, zero-fill for tokens outside the CTA's range
 * or with a bad page, whose mask is -inf), loads the block-table entries of
 * tile i+S, then computes tile i.
 *
 * Masks: the CTA covers keys [lo, hi) of the visible range [first, L) (L
 * clamped to [0, max_seq_len], first = max(0, L-1-window_left) with a
 * window): split s of S takes chunk = roundup(ceil(n/S), TILE) keys, n =
 * L - first. A split past the end writes m = -inf, l = 0 (an empty partial).
 */
#ifndef QBLAS_ATTN_DECODE_CUH
#define QBLAS_ATTN_DECODE_CUH

#include <math.h>

#include "attn_common.cuh"
#include "qb_vendor.cuh"

namespace qb {
namespace attn {

template <int DT, int D, int GT> struct DecodeCfg {
    using T = KvType<DT>;
    /* 4 warps of 32 (CUDA) or 2 wavefronts of 64 (AMD): the same 128
     * threads, NG = 128 / TX groups either way */
    static constexpr int kThreads = 128, kWarps = kThreads / QB_WARP_SIZE;
    static constexpr int TX = D / 8, TY = QB_WARP_SIZE / TX, NG = kWarps * TY, KPT = 4, TILE = KPT * NG;
    static constexpr int RB = T::row_bytes(D), CH = RB / 16, NCPT = TILE * CH / kThreads;
    /* stages: 16-32 KB of K/V in flight per CTA whatever the dtype */
    static constexpr int S = T::kBits == 16 ? 3 : (T::kBits == 8 ? 4 : 6);
    static constexpr int TILE_BYTES = TILE * RB, KV_BYTES = S * 2 * TILE_BYTES;
    /* the end-of-CTA merge reuses the K/V buffers: acc [NG][GT][D], m, l, w [NG][GT], M, L [GT] */
    static constexpr int MERGE_BYTES = (NG * GT * D + 3 * NG * GT + 2 * GT) * 4;
    static constexpr int MAIN = ((KV_BYTES > MERGE_BYTES ? KV_BYTES : MERGE_BYTES) + 15) / 16 * 16;
    /* then per stage: cache rows (long long) [S][TILE], mask [S][TILE], scales [S][4][TILE] */
    static constexpr int SMEM = MAIN + S * TILE * 8 + S * TILE * 4 + S * 4 * TILE * 4;
    static_assert(TILE * CH % kThreads == 0 && NCPT >= 1, "whole chunks per thread");
    static_assert(TILE <= kThreads, "one row thread per tile token");
    static_assert(GT * TX <= 2 * kThreads, "output vectors: two per thread at most");
};

template <int DT, int D, int GT>
__global__ void __launch_bounds__(128) attn_decode_kernel(const qb_attn_kparams p, const int num_splits,
                                                          const int gchunks, float *__restrict__ ws_acc,
                                                          float2 *__restrict__ ws_ml)
{
    using C = DecodeCfg<DT, D, GT>;
    using T = KvType<DT>;
    constexpr int TILE = C::TILE, NG = C::NG, TX = C::TX, S = C::S, RB = C::RB;
    QB_DYNAMIC_SMEM(uint8_t, smem, 16);
    long long *s_row = reinterpret_cast<long long *>(smem + C::MAIN);
    float *s_mask = reinterpret_cast<float *>(s_row + S * TILE);
    float *s_scale = s_mask + S * TILE; /* [S][k scale, v scale, k zero, v zero][TILE] */

    const int tid = threadIdx.x, lane = tid % QB_WARP_SIZE, warp = tid / QB_WARP_SIZE;
    const int tx = lane % TX, grp = warp * C::TY + lane / TX;
    const int seq = blockIdx.x / num_splits, split = blockIdx.x % num_splits;
    const int kvh = blockIdx.y / gchunks, g0 = (blockIdx.y % gchunks) * GT;
    const int G = p.group, gn = min(GT, G - g0), Hq = p.num_q_heads;
    const int P = p.kv.page_size, num_pages = p.kv.num_pages;

    /* this CTA's keys [lo, hi) */
    const int L = seq_len(p, seq);
    const int first = p.window_left >= 0 ? max(0, L - 1 - p.window_left) : 0;
    const long long n = L > first ? L - first : 0;
    const long long chunk = ((n + num_splits - 1) / num_splits + TILE - 1) / TILE * TILE;
    const long long lo64 = first + split * chunk;
    const int lo = (int)min(lo64, (long long)L), hi = (int)min(lo64 + chunk, (long long)L);
    const int ntiles = hi > lo ? (hi - lo + TILE - 1) / TILE : 0;

    float q[GT][8];
#pragma unroll
    for (int g = 0; g < GT; ++g) {
        if (g < gn) {
            load8_f32(p.q_dtype, static_cast<const uint16_t *>(p.q) + ((long long)seq * Hq + kvh * G + g0 + g) * D + tx * 8,
                      q[g]);
        } else {
#pragma unroll
            for (int e = 0; e < 8; ++e) q[g][e] = 0.f;
        }
    }
    /* scales are applied once per token, not per element (file comment) */
    const float lsc = T::kFp8 ? __fmul_rn(p.sm_scale, fp8_scale(p.kv, p.kv.k_scale, kvh)) : p.sm_scale;
    const float vsc = T::kFp8 ? fp8_scale(p.kv, p.kv.v_scale, kvh) : 1.f;

    /* ---- loads ---- */
    const int32_t *bt = bt_row(p, seq);
    const uint64_t pol = l2_evict_first(); /* K/V are streamed once */
    /* row thread tid: the raw block-table entry of token tid of a tile */
    /* (64-bit j: tiles past the end are asked for too; j < hi < 2^31 before any use as int) */
    auto fetch_page = [&](int tile) -> int {
        const long long j = (long long)lo + (long long)tile * TILE + tid;
        return (tid < TILE && tile < ntiles && j < hi) ? bt[(int)j / P] : -1;
    };
    auto to_row = [&](int tile, int pg) -> long long {
        const long long j = (long long)lo + (long long)tile * TILE + tid;
        return (tid < TILE && tile < ntiles && j < hi && pg >= 0 && pg < num_pages)
                   ? kv_row(p.kv, pg, (int)j % P, kvh)
                   : -1;
    };
    auto issue = [&](int tile) {
        if (tile >= ntiles) return;
        const int b = tile % S;
        uint8_t *sk = smem + b * 2 * C::TILE_BYTES, *sv = sk + C::TILE_BYTES;
        const long long *rows = s_row + b * TILE;
#pragma unroll
        for (int i = 0; i < C::NCPT; ++i) {
            const int c = tid + i * C::kThreads, t = c / C::CH, ch = c % C::CH;
            const long long r = rows[t];
            const bool ok = r >= 0;
            const long long off = ok ? r * RB + ch * 16 : 0;
            cp_async16(sk + c * 16, static_cast<const uint8_t *>(p.kv.k) + off, ok ? 16 : 0, pol);
            cp_async16(sv + c * 16, static_cast<const uint8_t *>(p.kv.v) + off, ok ? 16 : 0, pol);
        }
        if (tid < TILE) {
            const long long r = rows[tid];
            const bool ok = r >= 0;
            s_mask[b * TILE + tid] = ok ? 0.f : -INFINITY;
            if constexpr (T::kPerToken) {
                float *sc = s_scale + b * 4 * TILE + tid;
                const long long ri = ok ? r : 0;
                cp_async4(sc, p.kv.k_scale + ri, ok ? 4 : 0);
                cp_async4(sc + TILE, p.kv.v_scale + ri, ok ? 4 : 0);
                if constexpr (T::kZero) {
                    cp_async4(sc + 2 * TILE, p.kv.k_zero + ri, ok ? 4 : 0);
                    cp_async4(sc + 3 * TILE, p.kv.v_zero + ri, ok ? 4 : 0);
                }
            }
        }
    };

    /* ---- state ---- */
    float m[GT], l[GT], acc[GT][8];
#pragma unroll
    for (int g = 0; g < GT; ++g) {
        m[g] = -INFINITY, l[g] = 0.f;
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[g][e] = 0.f;
    }

    auto compute = [&](int b) {
        const uint8_t *sk = smem + b * 2 * C::TILE_BYTES, *sv = sk + C::TILE_BYTES;
        const float *msk = s_mask + b * TILE, *sc = s_scale + b * 4 * TILE;
        float s[C::KPT][GT];
#pragma unroll
        for (int k = 0; k < C::KPT; ++k) {
            const int t = k * NG + grp;
            float kf[8];
            unscaled8<DT>(load_raw8<DT>(sk + t * RB + tx * T::bytes_of(8)), T::kZero ? sc[2 * TILE + t] : 0.f, kf);
#pragma unroll
            for (int g = 0; g < GT; ++g) {
                float d = 0.f;
#pragma unroll
                for (int e = 0; e < 8; ++e) d = fmaf(q[g][e], kf[e], d);
                s[k][g] = d;
            }
        }
        /* sum over the TX lanes of the group; all of them end with the same bits */
#pragma unroll
        for (int o = TX / 2; o > 0; o >>= 1)
#pragma unroll
            for (int k = 0; k < C::KPT; ++k)
#pragma unroll
                for (int g = 0; g < GT; ++g) s[k][g] += QB_SHFL_XOR(s[k][g], o);
#pragma unroll
        for (int k = 0; k < C::KPT; ++k) {
            const int t = k * NG + grp;
            const bool vis = msk[t] == 0.f;
            const float ls = T::kPerToken ? __fmul_rn(p.sm_scale, sc[t]) : lsc;
#pragma unroll
            for (int g = 0; g < GT; ++g) {
                float x = __fmul_rn(ls, s[k][g]);
                if (p.logit_softcap > 0.f) x = __fmul_rn(p.logit_softcap, tanhf(__fdiv_rn(x, p.logit_softcap)));
                s[k][g] = vis ? x : -INFINITY;
            }
        }
        /* online softmax: one rescale per tile; s becomes p */
#pragma unroll
        for (int g = 0; g < GT; ++g) {
            float mt = s[0][g];
#pragma unroll
            for (int k = 1; k < C::KPT; ++k) mt = fmaxf(mt, s[k][g]);
            const float mn = fmaxf(m[g], mt);
            if (mn == -INFINITY) { /* nothing visible yet: p = 0, state unchanged */
#pragma unroll
                for (int k = 0; k < C::KPT; ++k) s[k][g] = 0.f;
                continue;
            }
            const float scale = exp2f(__fmul_rn(__fsub_rn(m[g], mn), kLog2e)); /* m = -inf -> 0 */
            float sum = 0.f;
#pragma unroll
            for (int k = 0; k < C::KPT; ++k) {
                s[k][g] = exp2f(__fmul_rn(__fsub_rn(s[k][g], mn), kLog2e));
                sum += s[k][g];
            }
            l[g] = fmaf(l[g], scale, sum);
            m[g] = mn;
#pragma unroll
            for (int e = 0; e < 8; ++e) acc[g][e] *= scale;
        }
#pragma unroll
        for (int k = 0; k < C::KPT; ++k) {
            const int t = k * NG + grp;
            float vf[8];
            unscaled8<DT>(load_raw8<DT>(sv + t * RB + tx * T::bytes_of(8)), T::kZero ? sc[3 * TILE + t] : 0.f, vf);
#pragma unroll
            for (int g = 0; g < GT; ++g) {
                const float pw = T::kPerToken ? __fmul_rn(s[k][g], sc[TILE + t]) : s[k][g]; /* p * s_v */
#pragma unroll
                for (int e = 0; e < 8; ++e) acc[g][e] = fmaf(pw, vf[e], acc[g][e]);
            }
        }
    };

    /* ---- pipeline ---- */
    if (tid < TILE) {
#pragma unroll
        for (int t = 0; t < S - 1; ++t) s_row[t * TILE + tid] = to_row(t, fetch_page(t));
    }
    __syncthreads();
#pragma unroll
    for (int t = 0; t < S - 1; ++t) {
        issue(t);
        cp_async_commit();
    }
    int pf = fetch_page(S - 1);
    for (int it = 0; it < ntiles; ++it) {
        cp_async_wait<S - 2>(); /* tile it has landed (this thread's copies) */
        if (tid < TILE) s_row[((it + S - 1) % S) * TILE + tid] = to_row(it + S - 1, pf);
        __syncthreads(); /* tile it visible to all; buffer (it-1) % S free; rows published */
        issue(it + S - 1);
        cp_async_commit();
        pf = fetch_page(it + S); /* in flight while tile it is computed */
        compute(it % S);
    }
    cp_async_wait<0>();
    __syncthreads();

    /* ---- merge the NG groups (fixed order) ---- */
    float *s_acc = reinterpret_cast<float *>(smem); /* [NG][GT][D] */
    float *s_m = s_acc + NG * GT * D, *s_l = s_m + NG * GT, *s_w = s_l + NG * GT, *s_M = s_w + NG * GT,
          *s_L = s_M + GT;
#pragma unroll
    for (int g = 0; g < GT; ++g) {
        if constexpr (T::kFp8) { /* the fp8 V scale, once per accumulator */
#pragma unroll
            for (int e = 0; e < 8; ++e) acc[g][e] = __fmul_rn(acc[g][e], vsc);
        }
        float4 *dst = reinterpret_cast<float4 *>(s_acc + (grp * GT + g) * D + tx * 8);
        dst[0] = make_float4(acc[g][0], acc[g][1], acc[g][2], acc[g][3]);
        dst[1] = make_float4(acc[g][4], acc[g][5], acc[g][6], acc[g][7]);
        if (tx == 0) s_m[grp * GT + g] = m[g], s_l[grp * GT + g] = l[g];
    }
    __syncthreads();
    if (tid < GT) {
        float M = -INFINITY, Ls = 0.f;
        for (int j = 0; j < NG; ++j) M = fmaxf(M, s_m[j * GT + tid]);
        for (int j = 0; j < NG; ++j) {
            const float mj = s_m[j * GT + tid];
            const float w = mj == -INFINITY ? 0.f : exp2f(__fmul_rn(__fsub_rn(mj, M), kLog2e));
            s_w[j * GT + tid] = w;
            Ls = fmaf(s_l[j * GT + tid], w, Ls);
        }
        s_M[tid] = M, s_L[tid] = Ls;
    }
    __syncthreads();
    const long long tok = seq;
    for (int v = tid; v < GT * TX; v += C::kThreads) {
        const int g = v / TX, x = v % TX;
        if (g >= gn) continue;
        float o[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
        for (int j = 0; j < NG; ++j) {
            const float w = s_w[j * GT + g];
            const float *a = s_acc + (j * GT + g) * D + x * 8;
#pragma unroll
            for (int e = 0; e < 8; ++e) o[e] = fmaf(a[e], w, o[e]);
        }
        const long long hq = (long long)kvh * G + g0 + g;
        if (num_splits > 1) {
            float4 *dst = reinterpret_cast<float4 *>(ws_acc + ((tok * Hq + hq) * num_splits + split) * D + x * 8);
            dst[0] = make_float4(o[0], o[1], o[2], o[3]);
            dst[1] = make_float4(o[4], o[5], o[6], o[7]);
        } else {
            const float M = s_M[g], Ls = s_L[g];
#pragma unroll
            for (int e = 0; e < 8; ++e) o[e] = M == -INFINITY ? 0.f : __fdiv_rn(o[e], Ls);
            store8_f32(p.q_dtype, static_cast<uint16_t *>(p.o) + (tok * Hq + hq) * D + x * 8, o);
        }
    }
    if (tid < gn) {
        const long long hq = (long long)kvh * G + g0 + tid;
        const float M = s_M[tid], Ls = s_L[tid];
        if (num_splits > 1)
            ws_ml[(tok * Hq + hq) * num_splits + split] = make_float2(M, Ls);
        else if (p.lse)
            p.lse[tok * Hq + hq] = M == -INFINITY ? -INFINITY : __fadd_rn(M, logf(Ls));
    }
}

/* Host side of one KV dtype: launch / prepare for every (D, GT). */
template <int DT, int D, int GT>
cudaError_t decode_launch_cfg(const qb_attn_kparams &p, int num_splits, float *ws_acc, float2 *ws_ml, cudaStream_t s)
{
    using C = DecodeCfg<DT, D, GT>;
    const int gchunks = (p.group + GT - 1) / GT;
    const dim3 grid((unsigned)(p.num_seqs * num_splits), (unsigned)(p.kv.num_kv_heads * gchunks));
    QB_LAUNCH(grid, C::kThreads, C::SMEM, s, attn_decode_kernel<DT, D, GT>)(p, num_splits, gchunks, ws_acc, ws_ml);
    return cudaGetLastError();
}

template <int DT, int D>
cudaError_t decode_launch_d(const qb_attn_kparams &p, int gt, int num_splits, float *ws_acc, float2 *ws_ml,
                            cudaStream_t s)
{
    switch (gt) {
    case 1: return decode_launch_cfg<DT, D, 1>(p, num_splits, ws_acc, ws_ml, s);
    case 2: return decode_launch_cfg<DT, D, 2>(p, num_splits, ws_acc, ws_ml, s);
    case 4: return decode_launch_cfg<DT, D, 4>(p, num_splits, ws_acc, ws_ml, s);
    case 8: return decode_launch_cfg<DT, D, 8>(p, num_splits, ws_acc, ws_ml, s);
    default: return cudaErrorInvalidValue;
    }
}

template <int DT>
cudaError_t decode_launch_dtype(const qb_attn_kparams &p, int gt, int num_splits, float *ws_acc, float2 *ws_ml,
                                cudaStream_t s)
{
    switch (p.kv.head_dim) {
    case 64: return decode_launch_d<DT, 64>(p, gt, num_splits, ws_acc, ws_ml, s);
    case 128: return decode_launch_d<DT, 128>(p, gt, num_splits, ws_acc, ws_ml, s);
    case 256: return decode_launch_d<DT, 256>(p, gt, num_splits, ws_acc, ws_ml, s);
    default: return cudaErrorInvalidValue;
    }
}

template <int DT, int D, int GT> cudaError_t decode_prepare_cfg(int smem_max)
{
    const int need = DecodeCfg<DT, D, GT>::SMEM;
    return cudaFuncSetAttribute(attn_decode_kernel<DT, D, GT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                need < smem_max ? need : smem_max);
}

template <int DT> cudaError_t decode_prepare_dtype(int smem_max)
{
    cudaError_t e = cudaSuccess;
#define QB_DEC_PREP(D)                                                    \
    if (e == cudaSuccess) e = decode_prepare_cfg<DT, D, 1>(smem_max);     \
    if (e == cudaSuccess) e = decode_prepare_cfg<DT, D, 2>(smem_max);     \
    if (e == cudaSuccess) e = decode_prepare_cfg<DT, D, 4>(smem_max);     \
    if (e == cudaSuccess) e = decode_prepare_cfg<DT, D, 8>(smem_max);
    QB_DEC_PREP(64)
    QB_DEC_PREP(128)
    QB_DEC_PREP(256)
#undef QB_DEC_PREP
    return e;
}

/* Defined in attn_decode_<dtype>.cu (one translation unit per KV dtype). */
#define QB_ATTN_DECODE_DECL(name)                                                                            \
    cudaError_t decode_launch_##name(const qb_attn_kparams &p, int gt, int num_splits, float *ws_acc,        \
                                     float2 *ws_ml, cudaStream_t s);                                         \
    cudaError_t decode_prepare_##name(int smem_max);
QB_ATTN_DECODE_DECL(f16)
QB_ATTN_DECODE_DECL(bf16)
QB_ATTN_DECODE_DECL(e4m3)
QB_ATTN_DECODE_DECL(i8)
QB_ATTN_DECODE_DECL(u4)
#undef QB_ATTN_DECODE_DECL

#define QB_ATTN_DECODE_DEFINE(name, DT)                                                                      \
    cudaError_t decode_launch_##name(const qb_attn_kparams &p, int gt, int num_splits, float *ws_acc,        \
                                     float2 *ws_ml, cudaStream_t s)                                          \
    {                                                                                                        \
        return decode_launch_dtype<DT>(p, gt, num_splits, ws_acc, ws_ml, s);                                 \
    }                                                                                                        \
    cudaError_t decode_prepare_##name(int smem_max) { return decode_prepare_dtype<DT>(smem_max); }

} // namespace attn
} // namespace qb
#endif /* QBLAS_ATTN_DECODE_CUH */
