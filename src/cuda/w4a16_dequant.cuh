/* w4a16_dequant.cuh - u4 codes to f16/bf16 mma B fragments in registers.
 *
 * The oracle's weight is w = round_to_act_dtype((code - zero) * scale) with
 * the product formed in fp32 (docs/FORMATS.md, W4A16). Here:
 *
 *  1. Magic-number trick (Marlin, tinygemm): OR a nibble v into the low
 *     mantissa bits of a constant whose ulp is 1. f16 1024.0 (0x6400) has
 *     ulp 1 on [1024, 2048), bf16 128.0 (0x4300) on [128, 256), so
 *     magic | v reads as exactly magic + v. lop3 does (q & 0x000f000f) |
 *     magic for two nibbles (one per half) in one instruction.
 *  2. Subtract (magic + zero), built the same way: the difference of two
 *     exact small integers is exact, so this gives code - zero exactly.
 *  3. Scale, rounded once:
 *     - native path (scales stored in the activation dtype): one f16x2 /
 *       bf16x2 multiply, rounded to nearest even. (code - zero) has at most
 *       4 significant bits and the scale 11 (f16) or 8 (bf16), so the
 *       product the oracle forms in fp32 is exact there too and both round
 *       the same exact product once: bit-identical, subnormals included.
 *     - fp32 path (f32 scales, or 16-bit scales of the other type): the
 *       exact integer widens to fp32, one fp32 multiply (round to nearest,
 *       no FMA contraction), one conversion to the activation dtype: the
 *       oracle's operations, in the oracle's order.
 *
 * Fragment order (docs/FORMATS.md, "CUDA W4A16 packed layout"): the 32-bit word q of
 * a lane holds nibbles v0..v7 (v_i in bits 4i..4i+3) with
 *   (v0, v4) = k (2t, 2t+1), (v1, v5) = k (2t+8, 2t+9) of n8 tile 2j
 *   (v2, v6), (v3, v7)                                    of n8 tile 2j+1
 * so q, q >> 4, q >> 8 and q >> 12 masked with 0x000f000f give the four
 * b registers b0 b1 (tile 2j) and b0 b1 (tile 2j+1), each a pair of
 * consecutive k in the low and high half. The shifts work for both types
 * (Marlin's f16-only 16x shortcut would overflow bf16's 7-bit mantissa).
 */
#ifndef QBLAS_W4A16_DEQUANT_CUH
#define QBLAS_W4A16_DEQUANT_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cuda_ptx.cuh"

namespace qb {

/* lop3 truth table of (a & b) | c */
constexpr int kAndOr = (0xF0 & 0xCC) | 0xAA;

template <typename T> struct W4Type;

template <> struct W4Type<__half> {
    static constexpr uint32_t kMagic = 0x64006400u; /* 1024.0 in both halves */
    static __device__ __forceinline__ uint32_t sub(uint32_t a, uint32_t b) { return sub_rn_f16x2(a, b); }
    static __device__ __forceinline__ uint32_t mul(uint32_t a, uint32_t b) { return mul_rn_f16x2(a, b); }
    static __device__ __forceinline__ float lo_f32(uint32_t v) { return __half2float(__ushort_as_half((unsigned short)(v & 0xFFFFu))); }
    static __device__ __forceinline__ float hi_f32(uint32_t v) { return __half2float(__ushort_as_half((unsigned short)(v >> 16))); }
    static __device__ __forceinline__ uint32_t pack_rn(float lo, float hi)
    {
        __half2 h = __floats2half2_rn(lo, hi); /* cvt.rn.f16x2.f32: round to nearest even */
        return *reinterpret_cast<uint32_t *>(&h);
    }
    static __device__ __forceinline__ void mma(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
    {
        mma_f16(d, a, b0, b1);
    }
};

template <> struct W4Type<__nv_bfloat16> {
    static constexpr uint32_t kMagic = 0x43004300u; /* 128.0 in both halves */
    /* a - b as a * 1 + (-b): sub.bf16x2 needs sm_90, fma.rn.bf16x2 is sm_80;
     * with a and b small integers every step is exact. */
    static __device__ __forceinline__ uint32_t sub(uint32_t a, uint32_t b)
    {
        return fma_rn_bf16x2(a, 0x3F803F80u, b ^ 0x80008000u);
    }
    /* a * b + (-0.0): the exact product rounded once; -0.0 keeps the sign of a zero product. */
    static __device__ __forceinline__ uint32_t mul(uint32_t a, uint32_t b) { return fma_rn_bf16x2(a, b, 0x80008000u); }
    static __device__ __forceinline__ float lo_f32(uint32_t v) { return __uint_as_float(v << 16); }
    static __device__ __forceinline__ float hi_f32(uint32_t v) { return __uint_as_float(v & 0xFFFF0000u); }
    static __device__ __forceinline__ uint32_t pack_rn(float lo, float hi)
    {
        __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi); /* cvt.rn.bf16x2.f32 */
        return *reinterpret_cast<uint32_t *>(&h);
    }
    static __device__ __forceinline__ void mma(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
    {
        mma_bf16(d, a, b0, b1);
    }
};

/* Step 3 for one b register v = (code - zero) in both halves. */
template <typename T> __device__ __forceinline__ uint32_t apply_scale(uint32_t v, uint32_t scale2)
{
    return W4Type<T>::mul(v, scale2);
}
template <typename T> __device__ __forceinline__ uint32_t apply_scale(uint32_t v, float scale)
{
    using TT = W4Type<T>;
    return TT::pack_rn(__fmul_rn(TT::lo_f32(v), scale), __fmul_rn(TT::hi_f32(v), scale));
}

/* One packed word -> b fragments of n8 tiles 2j (b[0], b[1]) and 2j+1
 * (b[2], b[3]). zz*: magic + zero of each tile's column, s*: its scale
 * (uint32_t: two copies in the activation dtype; float: fp32 path). */
template <typename T, typename S>
__device__ __forceinline__ void dequant_word(uint32_t q, uint32_t zz0, uint32_t zz1, S s0, S s1, uint32_t b[4])
{
    using TT = W4Type<T>;
    const uint32_t mask = 0x000F000Fu;
    const uint32_t v0 = lop3<kAndOr>(q, mask, TT::kMagic);
    const uint32_t v1 = lop3<kAndOr>(q >> 4, mask, TT::kMagic);
    const uint32_t v2 = lop3<kAndOr>(q >> 8, mask, TT::kMagic);
    const uint32_t v3 = lop3<kAndOr>(q >> 12, mask, TT::kMagic);
    b[0] = apply_scale<T>(TT::sub(v0, zz0), s0);
    b[1] = apply_scale<T>(TT::sub(v1, zz0), s0);
    b[2] = apply_scale<T>(TT::sub(v2, zz1), s1);
    b[3] = apply_scale<T>(TT::sub(v3, zz1), s1);
}

} // namespace qb
#endif /* QBLAS_W4A16_DEQUANT_CUH */
