/* attn_common.cuh - what every kernel over the paged, quantized KV cache
 * shares (decode attn_decode*.cu, prefill attn_prefill*.cu, append
 * attn_append.cu): the cache element types, paged addressing with the
 * device-data bounds rules of kernels_attention.h, and the dequantization of
 * K/V elements to the fp32 values docs/FORMATS.md defines, bit for bit.
 *
 * ---- How to use it (a kernel over the cache) ----
 *   using T = KvType<DT>;                     DT: QBLAS_DTYPE_F16/BF16/E4M3/I8/U4
 *   int L = seq_len(p, s);                    clamped to [0, max_seq_len]
 *   int page = page_of(bt_row(p, s), t, P, p.kv.num_pages);   -1: the entry is outside
 *                                             [0, num_pages) -> read nothing, skip the key
 *   long long r = kv_row(p.kv, page, t % P, h);   token-head row: (page*P + slot)*Hkv + h
 *   const uint8_t *krow = (const uint8_t *)p.kv.k + r * T::row_bytes(D);
 *   float s = T::kPerToken ? p.kv.k_scale[r] : fp8_scale(p.kv, p.kv.k_scale, h);
 *   float z = T::kZero ? p.kv.k_zero[r] : 0.f;
 *   float x[8]; dequant8<DT>(load_raw8<DT>(krow + T::bytes_of(d0)), s, z, x);  // d0 % 8 == 0
 * Row bytes are 16-byte multiples for every D (64/128/256) and dtype, so a
 * row can be copied in 16-byte cp.async chunks (kv base pointers 16-byte
 * aligned: the host checks). One 16-byte chunk holds T::kPer16 elements
 * (8 f16/bf16, 16 e4m3/i8, 32 u4); dequant16<DT> converts a whole chunk.
 *
 * ---- Exactness (each value is the format's, not an approximation) ----
 *   F16, BF16  the element widened to fp32 (exact).
 *   E4M3       decode(code) * s: the code is decoded exactly (sm_89+: the
 *              hardware cvt.rn.f16x2.e4m3x2, exact since every e4m3 value is
 *              an f16 value; sm_80: the 7 magnitude bits placed under an
 *              fp32 exponent and scaled by 2^120, exact for normals and
 *              subnormals alike, codes 0x7F/0xFF forced to NaN), then one
 *              fp32 multiply (__fmul_rn: never fused with a later add).
 *   I8         (float)q * s: q + 128 placed in the mantissa of 2^23 by one
 *              byte permute, minus 2^23 + 128 (exact), one __fmul_rn.
 *   U4         ((float)code - z) * s: the nibble under 2^23, minus 2^23
 *              (exact), then __fsub_rn(., z) and __fmul_rn(., s).
 * Nothing here depends on fp32 denormal flushing being off except the sm_80
 * e4m3 subnormals; the build never uses -ftz/fast-math.
 */
#ifndef QBLAS_ATTN_COMMON_CUH
#define QBLAS_ATTN_COMMON_CUH

#include <stdint.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "qblas/qblas_types.h"
#include "cuda_ptx.cuh"
#include "kernels_attention.h"
#include "qb_vendor.cuh"

namespace qb {
namespace attn {

constexpr float kLog2e = 1.4426950408889634f; /* exp(x) = exp2(x * log2 e) */

/* ---- cache element types ---- */
template <int DT> struct KvType;
#define QB_KV_TYPE(DT, BITS_, PER_TOKEN, ZERO, NAME)                                                 \
    template <> struct KvType<DT> {                                                                 \
        static constexpr int kBits = BITS_;                                                         \
        static constexpr bool kPerToken = PER_TOKEN; /* scale[r] per token-head row (I8, U4) */     \
        static constexpr bool kZero = ZERO;          /* zero[r] (U4) */                             \
        static constexpr bool kFp8 = DT == QBLAS_DTYPE_E4M3; /* scale[0] or scale[h] */             \
        static constexpr int kPer16 = 128 / BITS_;   /* elements per 16-byte chunk */               \
        __host__ __device__ static constexpr int bytes_of(int elems) { return elems * BITS_ / 8; } \
        __host__ __device__ static constexpr int row_bytes(int d) { return d * BITS_ / 8; }        \
        static constexpr const char *name = NAME;                                                   \
    };
QB_KV_TYPE(QBLAS_DTYPE_F16, 16, false, false, "f16")
QB_KV_TYPE(QBLAS_DTYPE_BF16, 16, false, false, "bf16")
QB_KV_TYPE(QBLAS_DTYPE_E4M3, 8, false, false, "e4m3")
QB_KV_TYPE(QBLAS_DTYPE_I8, 8, true, false, "i8")
QB_KV_TYPE(QBLAS_DTYPE_U4, 4, true, true, "u4")
#undef QB_KV_TYPE

/* The bytes of 8 consecutive elements of a row: 16 (f16/bf16), 8 (e4m3/i8), 4 (u4). */
template <int BITS> struct RawOf;
template <> struct RawOf<16> { using type = uint4; };
template <> struct RawOf<8> { using type = uint2; };
template <> struct RawOf<4> { using type = uint32_t; };
template <int DT> using Raw8 = typename RawOf<KvType<DT>::kBits>::type;

/* 8 elements starting at p (shared or global; aligned to their size). */
template <int DT> __device__ __forceinline__ Raw8<DT> load_raw8(const void *p)
{
    return *static_cast<const Raw8<DT> *>(p);
}

/* ---- paged addressing (docs/FORMATS.md "Sequences and queries") ---- */

/* seq_lens[s] clamped to [0, max_seq_len] (device data the host cannot check). */
__device__ __forceinline__ int seq_len(const qb_attn_kparams &p, int s)
{
    const int L = p.seq_lens[s];
    return L < 0 ? 0 : (L > p.max_seq_len ? p.max_seq_len : L);
}

/* Block-table row of sequence s. Only entries t / P for t < seq_len are read,
 * and max_seq_len <= block_table_stride * P (core check) keeps them in the row. */
__device__ __forceinline__ const int32_t *bt_row(const qb_attn_kparams &p, int s)
{
    return p.block_tables + (long long)s * p.block_table_stride;
}

/* Page of token t (0 <= t < seq_len) of the row, or -1 when the entry lies
 * outside [0, num_pages): such a key is skipped (nothing of it is read). */
__device__ __forceinline__ int page_of(const int32_t *row, int t, int page_size, int num_pages)
{
    const int pg = row[t / page_size];
    return (pg >= 0 && pg < num_pages) ? pg : -1;
}

/* Token-head row r = (page*P + slot)*Hkv + h: element d of K is at
 * k + r * row_bytes(D) + bytes_of(d); scale[r] and zero[r] index by r. */
__device__ __forceinline__ long long kv_row(const qb_kv_kparams &kv, int page, int slot, int h)
{
    return ((long long)page * kv.page_size + slot) * kv.num_kv_heads + h;
}

/* The E4M3 scale of kv head h: scale[h] (PER_HEAD) or scale[0]. */
__device__ __forceinline__ float fp8_scale(const qb_kv_kparams &kv, const float *scale, int h)
{
    return scale[kv.scale_per_head ? h : 0];
}

/* ---- exact element decoders ---- */

/* Signed byte j of w as an exact fp32: bits 0x4B0000xx with xx = q + 128
 * (q ^ 0x80) are 2^23 + q + 128. wx = w ^ 0x80808080. */
template <int J> __device__ __forceinline__ float i8_byte_f32(uint32_t wx)
{
    return __fsub_rn(__uint_as_float(__byte_perm(wx, 0x4B000000u, 0x7540 | J)), 8388736.0f);
}

/* Nibble e (bits 4e..4e+3) of w as an exact fp32. */
template <int E> __device__ __forceinline__ float u4_nib_f32(uint32_t w)
{
    return __fsub_rn(__uint_as_float(((w >> (4 * E)) & 0xFu) | 0x4B000000u), 8388608.0f);
}

/* The four e4m3 codes of w, exactly, in byte order. */
__device__ __forceinline__ void e4m3x4_f32(uint32_t w, float *x)
{
    QB_IF_ARCH_GE(890) {
        const uint32_t lo = cvt_f16x2_e4m3x2(static_cast<unsigned short>(w & 0xFFFFu));
        const uint32_t hi = cvt_f16x2_e4m3x2(static_cast<unsigned short>(w >> 16));
        const float2 a = __half22float2(*reinterpret_cast<const __half2 *>(&lo));
        const float2 b = __half22float2(*reinterpret_cast<const __half2 *>(&hi));
        x[0] = a.x, x[1] = a.y, x[2] = b.x, x[3] = b.y;
    } else {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const uint32_t c = (w >> (8 * j)) & 0xFFu;
            /* S.EEEE.MMM -> fp32 sign, exponent field EEEE (bias 127), mantissa
             * MMM at the top: value 2^(E-127)(1 + M/8), or M * 2^-129 for E = 0;
             * times 2^120 this is the e4m3 value, exactly */
            const float v = __fmul_rn(__uint_as_float(((c & 0x80u) << 24) | ((c & 0x7Fu) << 20)), 0x1p120f);
            x[j] = (c & 0x7Fu) == 0x7Fu ? __uint_as_float(0x7FC00000u | ((c & 0x80u) << 24)) : v;
        }
    }
}

/* ---- dequantization: 8 consecutive elements ----
 * s: the scale (ignored by F16/BF16), z: the U4 zero point (else ignored). */
template <int DT>
__device__ __forceinline__ void dequant8(const Raw8<DT> &w, float s, float z, float (&x)[8])
{
    if constexpr (DT == QBLAS_DTYPE_F16) {
        const uint32_t u[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const float2 f = __half22float2(*reinterpret_cast<const __half2 *>(&u[i]));
            x[2 * i] = f.x, x[2 * i + 1] = f.y;
        }
    } else if constexpr (DT == QBLAS_DTYPE_BF16) {
        const uint32_t u[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            x[2 * i] = __uint_as_float(u[i] << 16);
            x[2 * i + 1] = __uint_as_float(u[i] & 0xFFFF0000u);
        }
    } else if constexpr (DT == QBLAS_DTYPE_E4M3) {
        e4m3x4_f32(w.x, x);
        e4m3x4_f32(w.y, x + 4);
#pragma unroll
        for (int i = 0; i < 8; ++i) x[i] = __fmul_rn(x[i], s);
    } else if constexpr (DT == QBLAS_DTYPE_I8) {
        const uint32_t a = w.x ^ 0x80808080u, b = w.y ^ 0x80808080u;
        x[0] = i8_byte_f32<0>(a), x[1] = i8_byte_f32<1>(a), x[2] = i8_byte_f32<2>(a), x[3] = i8_byte_f32<3>(a);
        x[4] = i8_byte_f32<0>(b), x[5] = i8_byte_f32<1>(b), x[6] = i8_byte_f32<2>(b), x[7] = i8_byte_f32<3>(b);
#pragma unroll
        for (int i = 0; i < 8; ++i) x[i] = __fmul_rn(x[i], s);
    } else { /* U4: even element in the low nibble of its byte -> element e at bits 4e */
        x[0] = u4_nib_f32<0>(w), x[1] = u4_nib_f32<1>(w), x[2] = u4_nib_f32<2>(w), x[3] = u4_nib_f32<3>(w);
        x[4] = u4_nib_f32<4>(w), x[5] = u4_nib_f32<5>(w), x[6] = u4_nib_f32<6>(w), x[7] = u4_nib_f32<7>(w);
#pragma unroll
        for (int i = 0; i < 8; ++i) x[i] = __fmul_rn(__fsub_rn(x[i], z), s);
    }
}

/* The same 8 elements before the scale: y with value = y * s for E4M3/I8/U4
 * (decode(code), (float)q, (float)code - z: exact, exact, one rounding) and
 * the value itself for F16/BF16. A kernel that applies s once per token
 * (to a dot product or a probability) instead of once per element moves
 * one fp32 rounding per term; the attention tolerance has room for it
 * (attn_decode.cuh explains). */
template <int DT>
__device__ __forceinline__ void unscaled8(const Raw8<DT> &w, float z, float (&x)[8])
{
    if constexpr (DT == QBLAS_DTYPE_F16 || DT == QBLAS_DTYPE_BF16) {
        dequant8<DT>(w, 1.f, 0.f, x);
    } else if constexpr (DT == QBLAS_DTYPE_E4M3) {
        e4m3x4_f32(w.x, x);
        e4m3x4_f32(w.y, x + 4);
    } else if constexpr (DT == QBLAS_DTYPE_I8) {
        const uint32_t a = w.x ^ 0x80808080u, b = w.y ^ 0x80808080u;
        x[0] = i8_byte_f32<0>(a), x[1] = i8_byte_f32<1>(a), x[2] = i8_byte_f32<2>(a), x[3] = i8_byte_f32<3>(a);
        x[4] = i8_byte_f32<0>(b), x[5] = i8_byte_f32<1>(b), x[6] = i8_byte_f32<2>(b), x[7] = i8_byte_f32<3>(b);
    } else {
        x[0] = u4_nib_f32<0>(w), x[1] = u4_nib_f32<1>(w), x[2] = u4_nib_f32<2>(w), x[3] = u4_nib_f32<3>(w);
        x[4] = u4_nib_f32<4>(w), x[5] = u4_nib_f32<5>(w), x[6] = u4_nib_f32<6>(w), x[7] = u4_nib_f32<7>(w);
#pragma unroll
        for (int i = 0; i < 8; ++i) x[i] = __fsub_rn(x[i], z);
    }
}

/* One 16-byte chunk (KvType<DT>::kPer16 elements) at once. */
template <int DT>
__device__ __forceinline__ void dequant16(const uint4 &c, float s, float z, float (&x)[KvType<DT>::kPer16])
{
    const Raw8<DT> *r = reinterpret_cast<const Raw8<DT> *>(&c);
#pragma unroll
    for (int i = 0; i < KvType<DT>::kPer16 / 8; ++i) {
        float t[8];
        dequant8<DT>(r[i], s, z, t);
#pragma unroll
        for (int e = 0; e < 8; ++e) x[8 * i + e] = t[e];
    }
}

/* ---- q and o ---- */

/* q/o elements (F16 or BF16, runtime) <-> fp32, 8 at a time (16 bytes). */
__device__ __forceinline__ void load8_f32(int dtype, const void *p, float (&x)[8])
{
    const uint4 w = *static_cast<const uint4 *>(p);
    if (dtype == QBLAS_DTYPE_F16)
        dequant8<QBLAS_DTYPE_F16>(w, 1.f, 0.f, x);
    else
        dequant8<QBLAS_DTYPE_BF16>(w, 1.f, 0.f, x);
}

/* RNE to the q dtype (f16 overflow -> inf, as the oracle's qb_store_f32). */
__device__ __forceinline__ void store8_f32(int dtype, void *p, const float (&x)[8])
{
    uint32_t u[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        if (dtype == QBLAS_DTYPE_F16) {
            const __half2 h = __floats2half2_rn(x[2 * i], x[2 * i + 1]);
            u[i] = *reinterpret_cast<const uint32_t *>(&h);
        } else {
            const __nv_bfloat162 h = __floats2bfloat162_rn(x[2 * i], x[2 * i + 1]);
            u[i] = *reinterpret_cast<const uint32_t *>(&h);
        }
    }
    *static_cast<uint4 *>(p) = make_uint4(u[0], u[1], u[2], u[3]);
}

} // namespace attn
} // namespace qb
#endif /* QBLAS_ATTN_COMMON_CUH */
