/* attn_append.cu - qblas_kv_append on the GPU: quantize new K/V rows into
 * their cache slots in one kernel (docs/FORMATS.md, "KV append").
 *
 * One warp per (token, kv head, K or V) row; lane i owns the E = D/warp
 * consecutive elements [i*E, i*E + E), so index order is lane order (a
 * 64-wide AMD wavefront with D = 64 has E = 1: U4 pairs lanes for a byte). The
 * row's range over its finite values comes from warp reductions:
 *   I8  amax = max |x| (order-free: |x| has no signed zero);
 *   U4  lo = min x, hi = max x with the oracle's tie rule - among equal
 *       values the first in index order wins (the lane scan uses strict
 *       comparisons, the butterfly keeps the lower lane's value unless the
 *       upper one is strictly better), so even the sign of a zero lo, and
 *       with it the sign of zero = -lo / s, matches the CPU bit for bit.
 * Scales, zeros and codes then use the same fp32 operations as the oracle
 * (correctly rounded divisions, no reciprocals; qblas_quant_math.h where
 * the formula is shared): results equal the CPU's bit for bit.
 *
 * Device data the host cannot check: slot_mapping[t] < 0 skips the token;
 * >= num_pages * page_size writes nothing for it (the CPU returns
 * INVALID_VALUE instead). Tokens naming the same slot race: the slot ends
 * up holding one of them, which one is unspecified. An E4M3 scale that is
 * 0, negative or not finite encodes x / s by the usual rules (inf and NaN
 * codes saturate or stay NaN); the CPU rejects such scales.
 */
#include "attn_common.cuh"
#include "common/qblas_quant_math.h"
#include "qb_vendor.cuh"

namespace qb {
namespace attn {

constexpr int kAppendThreads = 128;

__device__ __forceinline__ float src_f32(int dtype, const void *p, long long i)
{
    if (dtype == QBLAS_DTYPE_F16) return __half2float(static_cast<const __half *>(p)[i]);
    if (dtype == QBLAS_DTYPE_BF16) return __bfloat162float(static_cast<const __nv_bfloat16 *>(p)[i]);
    return static_cast<const float *>(p)[i];
}

/* The lower lane's candidate unless the upper lane's is strictly better
 * (LESS: smaller; else larger): the first in index order among ties. */
template <bool LESS> __device__ __forceinline__ float first_extreme(float v, int lane)
{
#pragma unroll
    for (int o = 1; o < QB_WARP_SIZE; o <<= 1) {
        const float w = QB_SHFL_XOR(v, o);
        const bool upper = lane & o; /* w comes from the lower lane */
        const float lower_v = upper ? w : v, upper_v = upper ? v : w;
        v = (LESS ? upper_v < lower_v : upper_v > lower_v) ? upper_v : lower_v;
    }
    return v;
}

template <int D> __global__ void __launch_bounds__(kAppendThreads) kv_append_kernel(const qb_kv_append_kparams a)
{
    constexpr int E = D / QB_WARP_SIZE;
    const int lane = threadIdx.x % QB_WARP_SIZE;
    const long long w = (long long)blockIdx.x * (kAppendThreads / QB_WARP_SIZE) + threadIdx.x / QB_WARP_SIZE;
    const int Hkv = a.num_kv_heads;
    if (w >= a.num_tokens * Hkv * 2) return;
    const bool is_v = w & 1;
    const long long th = w >> 1, t = th / Hkv;
    const int h = (int)(th % Hkv);
    const long long slot = a.slot_mapping[t];
    if (slot < 0 || slot >= (long long)a.num_pages * a.page_size) return; /* skip / out of the cache */

    float x[E];
    const void *src = is_v ? a.v_new : a.k_new;
#pragma unroll
    for (int e = 0; e < E; ++e) x[e] = src_f32(a.src_dtype, src, th * D + lane * E + e);

    const long long r = slot * Hkv + h;
    void *data = is_v ? a.v : a.k;
    float *scale = is_v ? a.v_scale : a.k_scale;
    const long long base = r * D + lane * E; /* element index of this lane's first element */

    switch (a.dtype) {
    case QBLAS_DTYPE_F16:
#pragma unroll
        for (int e = 0; e < E; ++e) static_cast<__half *>(data)[base + e] = __float2half_rn(x[e]);
        return;
    case QBLAS_DTYPE_BF16:
#pragma unroll
        for (int e = 0; e < E; ++e) static_cast<__nv_bfloat16 *>(data)[base + e] = __float2bfloat16_rn(x[e]);
        return;
    case QBLAS_DTYPE_E4M3: {
        const float s = scale[a.scale_per_head ? h : 0];
#pragma unroll
        for (int e = 0; e < E; ++e) static_cast<uint8_t *>(data)[base + e] = qb_qact_fp8(x[e], s, QB_FP8_E4M3);
        return;
    }
    case QBLAS_DTYPE_I8: {
        float amax = 0.f;
#pragma unroll
        for (int e = 0; e < E; ++e) amax = fmaxf(amax, qb_qact_finite_abs(x[e]));
#pragma unroll
        for (int o = QB_WARP_SIZE / 2; o > 0; o >>= 1) amax = fmaxf(amax, QB_SHFL_XOR(amax, o));
        const float s = qb_qact_sym_scale(amax, QB_QACT_I8_QMAX); /* amax / 127, 0 -> 1 */
#pragma unroll
        for (int e = 0; e < E; ++e) static_cast<int8_t *>(data)[base + e] = qb_qact_i8_sym(x[e], s);
        if (lane == 0) scale[r] = s;
        return;
    }
    default: { /* U4 */
        float lo = INFINITY, hi = -INFINITY;
#pragma unroll
        for (int e = 0; e < E; ++e)
            if (isfinite(x[e])) {
                lo = x[e] < lo ? x[e] : lo;
                hi = x[e] > hi ? x[e] : hi;
            }
        lo = first_extreme<true>(lo, lane);
        hi = first_extreme<false>(hi, lane);
        if (lo > hi) lo = hi = 0.f; /* no finite value */
        const float s = qb_qact_usable(__fdiv_rn(__fsub_rn(hi, lo), 15.0f));
        if constexpr (E == 1) {
            /* one element per lane (a 64-wide wavefront with D = 64): lanes
             * 2i and 2i+1 hold the two nibbles of byte i */
            const int c = qb_round_clamp(__fdiv_rn(__fsub_rn(x[0], lo), s), 0, 15);
            const int c_odd = QB_SHFL_XOR(c, 1);
            if (!(lane & 1)) static_cast<uint8_t *>(data)[r * (D / 2) + lane / 2] = (uint8_t)(c | (c_odd << 4));
        } else {
            uint8_t *q = static_cast<uint8_t *>(data) + r * (D / 2) + lane * (E / 2);
#pragma unroll
            for (int e = 0; e < E; e += 2) {
                const int c0 = qb_round_clamp(__fdiv_rn(__fsub_rn(x[e], lo), s), 0, 15);
                const int c1 = qb_round_clamp(__fdiv_rn(__fsub_rn(x[e + 1], lo), s), 0, 15);
                q[e / 2] = (uint8_t)(c0 | (c1 << 4));
            }
        }
        if (lane == 0) {
            scale[r] = s;
            (is_v ? a.v_zero : a.k_zero)[r] = __fdiv_rn(-lo, s);
        }
        return;
    }
    }
}

} // namespace attn
} // namespace qb

extern "C" cudaError_t qb_kv_append_launch(const qb_kv_append_kparams *a, cudaStream_t s)
{
    constexpr int warps = qb::attn::kAppendThreads / QB_WARP_SIZE;
    const long long rows = a->num_tokens * a->num_kv_heads * 2;
    const unsigned blocks = (unsigned)((rows + warps - 1) / warps);
    switch (a->head_dim) {
    case 64: QB_LAUNCH(blocks, qb::attn::kAppendThreads, 0, s, qb::attn::kv_append_kernel<64>)(*a); break;
    case 128: QB_LAUNCH(blocks, qb::attn::kAppendThreads, 0, s, qb::attn::kv_append_kernel<128>)(*a); break;
    case 256: QB_LAUNCH(blocks, qb::attn::kAppendThreads, 0, s, qb::attn::kv_append_kernel<256>)(*a); break;
    default: return cudaErrorInvalidValue;
    }
    return cudaGetLastError();
}
