/* test_sim_twins_alu.cc - the scalar PTX twins (src/sim/twins/alu.cc) against
 * the PTX ISA's definitions.
 *
 * Expectations are literal values worked out by hand from the ISA text
 * (section numbers of PTX ISA 9.1), or come from references written here
 * independently of the twins: an IEEE decoder from the format definitions
 * and a round-to-nearest-even on exact integers (value = N * 2^-S).
 *
 * NaN results: the ISA leaves their bits unspecified; the twins return the
 * canonical NaN (0x7FFF, 0x7FFFFFFF), which is checked as their documented
 * choice.
 */
extern "C" {
#include "qb_test.h"
}

#include "sim/twins/ptx_twins.h"

using namespace qbsim::ptx;

namespace {

/* ---- independent references ---- */

struct Fmt {
    int ebits, mbits; /* exponent / mantissa field widths */
};
constexpr Fmt kHalf = {5, 10}, kBf16 = {8, 7};

/* Value of an IEEE-style code (sign, ebits exponent with bias 2^(ebits-1)-1, mbits mantissa). */
double ref_decode(uint32_t c, Fmt f)
{
    int bias = (1 << (f.ebits - 1)) - 1;
    int s = (int)(c >> (f.ebits + f.mbits)) & 1, e = (int)(c >> f.mbits) & ((1 << f.ebits) - 1);
    double m = (double)(c & ((1u << f.mbits) - 1)), mag;
    if (e == (1 << f.ebits) - 1)
        mag = m != 0 ? NAN : INFINITY;
    else if (e == 0)
        mag = ldexp(m, 1 - bias - f.mbits);
    else
        mag = ldexp(1.0 + ldexp(m, -f.mbits), e - bias);
    return s ? -mag : mag;
}

/* N * 2^-S rounded to nearest even in format f, as a code: integer shifts
 * with a round bit and a sticky remainder (N != 0). */
uint32_t ref_round(__int128 n, int S, Fmt f, bool neg_zero = false)
{
    int bias = (1 << (f.ebits - 1)) - 1, p = f.mbits + 1, emin = 1 - bias, emax = bias;
    uint32_t sign = n < 0 || (n == 0 && neg_zero) ? 1u << (f.ebits + f.mbits) : 0;
    unsigned __int128 u = n < 0 ? -(unsigned __int128)n : (unsigned __int128)n;
    if (u == 0) return sign;
    int msb = 127;
    while (!(u >> msb & 1)) --msb;
    int E = msb - S < emin ? emin : msb - S; /* exponent of the leading place */
    int shift = E - (p - 1) + S;            /* bits of u below the last kept place */
    unsigned __int128 m;
    if (shift <= 0) {
        m = u << -shift;
    } else {
        m = u >> shift;
        unsigned __int128 rem = u - (m << shift), half = (unsigned __int128)1 << (shift - 1);
        if (rem > half || (rem == half && (m & 1))) ++m;
    }
    if (m >> p) m >>= 1, ++E;                 /* carried into a new binade */
    if (E > emax) return sign | ((1u << f.ebits) - 1) << f.mbits; /* infinity */
    if (!(m >> (p - 1))) return sign | (uint32_t)m; /* subnormal */
    return sign | (uint32_t)(E + bias) << f.mbits | ((uint32_t)m & ((1u << f.mbits) - 1));
}

/* v * 2^S as an integer (v finite and a multiple of 2^-S). */
__int128 ref_exact(double v, int S)
{
    double x = ldexp(v, S);
    QBT_EXPECT(x == floor(x) && fabs(x) < 0x1p120, "ref_exact: %a is no multiple of 2^-%d", v, S);
    return (__int128)x;
}
__int128 ref_scaled(uint32_t c, Fmt f, int S) { return ref_exact(ref_decode(c, f), S); }

/* e4m3 as 5.2.3 defines it: bias 7, no infinities, S.1111.111 the only NaN. */
double ref_e4m3(uint32_t c)
{
    int e = (int)(c >> 3) & 15, m = (int)c & 7;
    double mag = e == 15 && m == 7 ? NAN : e == 0 ? ldexp(m, -9) : ldexp(1.0 + m / 8.0, e - 7);
    return c & 0x80 ? -mag : mag;
}

/* The f16 code of a value that f16 represents exactly (or infinity). */
uint32_t ref_f16_of(double v)
{
    if (isinf(v)) return v < 0 ? 0xFC00u : 0x7C00u;
    return ref_round(ref_exact(v, 40), 40, kHalf, signbit(v));
}

bool is_nan16(uint16_t h, Fmt f) { return ref_decode(h, f) != ref_decode(h, f); }
uint32_t f32_bits(float v) { uint32_t u; memcpy(&u, &v, 4); return u; }
uint32_t pack(uint16_t hi, uint16_t lo) { return (uint32_t)hi << 16 | lo; }

} // namespace

/* ---------------------------------------------------------------- lop3 */

START_TEST(lop3_definition)
{
    /* 9.7.8.6: immLut = F(0xF0, 0xCC, 0xAA) for every F, so applying lut to
     * those constants (replicated over the 4 bytes) returns lut itself. */
    for (int lut = 0; lut < 256; ++lut) {
        uint32_t d = lop3_b32(0xF0F0F0F0u, 0xCCCCCCCCu, 0xAAAAAAAAu, (uint8_t)lut);
        QBT_EXPECT(d == 0x01010101u * (uint32_t)lut, "lop3 lut 0x%02X on ta,tb,tc: 0x%08X", lut, d);
    }
}
END_TEST

START_TEST(lop3_named_functions)
{
    qbt_rng r = qbt_rng_make(1);
    for (int i = 0; i < 1000; ++i) {
        uint32_t a = (uint32_t)qbt_next(&r), b = (uint32_t)qbt_next(&r), c = (uint32_t)qbt_next(&r);
        ck_assert_uint_eq(lop3_b32(a, b, c, 0x96), a ^ b ^ c);
        ck_assert_uint_eq(lop3_b32(a, b, c, 0xE8), (a & b) | (b & c) | (a & c)); /* majority */
        ck_assert_uint_eq(lop3_b32(a, b, c, 0xF0), a);
        ck_assert_uint_eq(lop3_b32(a, b, c, 0xCC), b);
        ck_assert_uint_eq(lop3_b32(a, b, c, 0xAA), c);
        /* the ISA's own examples */
        ck_assert_uint_eq(lop3_b32(a, b, c, 0x80), a & b & c);
        ck_assert_uint_eq(lop3_b32(a, b, c, 0xFE), a | b | c);
        ck_assert_uint_eq(lop3_b32(a, b, c, 0x40), a & b & ~c);
        ck_assert_uint_eq(lop3_b32(a, b, c, 0x1A), ((a & b) | c) ^ a);
        ck_assert_uint_eq(lop3_b32(a, b, c, 0x00), 0u);
        ck_assert_uint_eq(lop3_b32(a, b, c, 0xFF), 0xFFFFFFFFu);
    }
}
END_TEST

/* ---------------------------------------------------------------- prmt
 * Only the generic (default) form exists as a twin: the kernels use no mode. */

START_TEST(prmt_byte_select)
{
    const uint32_t a = 0x03020100u, b = 0x07060504u; /* source byte i holds i */
    ck_assert_uint_eq(prmt_b32(a, b, 0x3210), 0x03020100u);
    ck_assert_uint_eq(prmt_b32(a, b, 0x7654), 0x07060504u);
    ck_assert_uint_eq(prmt_b32(a, b, 0x0123), 0x00010203u);
    ck_assert_uint_eq(prmt_b32(a, b, 0x4567), 0x04050607u);
    ck_assert_uint_eq(prmt_b32(a, b, 0x1010), 0x01000100u);
    ck_assert_uint_eq(prmt_b32(a, b, 0x7340), 0x07030400u);
    ck_assert_uint_eq(prmt_b32(a, b, 0xFFFF3210u), 0x03020100u); /* c[31:16] unused */
    ck_assert_uint_eq(prmt_b32(0xDDCCBBAAu, 0x44332211u, 0x5140), 0x22BB11AAu); /* b5 b1 b4 b0 */
}
END_TEST

START_TEST(prmt_sign_replicate)
{
    /* selector msb set: the byte becomes 8 copies of the source byte's msb */
    const uint32_t a = 0x7F80FF01u, b = 0x80000000u; /* b0 01, b1 FF, b2 80, b3 7F, b7 80 */
    ck_assert_uint_eq(prmt_b32(a, b, 0x8888), 0x00000000u);
    ck_assert_uint_eq(prmt_b32(a, b, 0x9999), 0xFFFFFFFFu);
    ck_assert_uint_eq(prmt_b32(a, b, 0xBA98), 0x00FFFF00u);
    ck_assert_uint_eq(prmt_b32(a, b, 0x3B10), 0x7F00FF01u);
    ck_assert_uint_eq(prmt_b32(a, b, 0x000F), 0x010101FFu);
    ck_assert_uint_eq(prmt_b32(a, b, 0xC004), 0x00010100u); /* b4 = 0x00 copied; sign of b4 = 0 */
}
END_TEST

/* ---------------------------------------------------------------- dp4a */

START_TEST(dp4a_signed_bytes)
{
    /* a bytes (LSB first) 1, -128, 127, -1 */
    ck_assert_int_eq(dp4a_s32((int32_t)0xFF7F8001u, 0x01010101, 0), 1 - 128 + 127 - 1);
    ck_assert_int_eq(dp4a_s32((int32_t)0xFF7F8001u, 0x01010101, 1000), 999);
    /* b bytes 2, 3, -4, 5 with a bytes 1, -128, 127, -1: 2 - 384 - 508 - 5 */
    ck_assert_int_eq(dp4a_s32((int32_t)0xFF7F8001u, 0x05FC0302, -7), 2 - 384 - 508 - 5 - 7);
    ck_assert_int_eq(dp4a_s32((int32_t)0x80808080u, (int32_t)0x80808080u, 0), 4 * 16384);
    /* wraps in 32 bits */
    ck_assert_int_eq(dp4a_s32(0x7F7F7F7F, 0x7F7F7F7F, INT32_MAX), (int32_t)(0x7FFFFFFFu + 4u * 16129u));
    ck_assert_int_eq(dp4a_s32(0x000000FF, 0x00000001, INT32_MIN), INT32_MAX); /* -1 + INT32_MIN */
}
END_TEST

/* ---------------------------------------------------------------- f16x2 / bf16x2 arithmetic */

START_TEST(f16x2_literal_cases)
{
    /* ties to even (ulp 2 in [2048, 4096)): 2048 + 1 -> 2048, 2050 + 1 -> 2052 */
    ck_assert_uint_eq(sub_rn_f16x2(pack(0x6800, 0x6801), pack(0xBC00, 0xBC00)), pack(0x6800, 0x6802));
    /* the halves are independent: 1.5 - 0.5 = 1 (low), 2 - (-2) = 4 (high) */
    ck_assert_uint_eq(sub_rn_f16x2(pack(0x4000, 0x3E00), pack(0xC000, 0x3800)), pack(0x4400, 0x3C00));
    /* overflow: 65504 + 16 is the midpoint to 65536 and rounds to even = inf; 65504 + 8 stays */
    ck_assert_uint_eq(sub_rn_f16x2(pack(0x7BFF, 0x7BFF), pack(0xCC00, 0xC800)), pack(0x7C00, 0x7BFF));
    ck_assert_uint_eq(mul_rn_f16x2(pack(0x7BFF, 0xFBFF), pack(0x4000, 0x4000)), pack(0x7C00, 0xFC00));
    /* (1 + 2^-10)^2 = 1 + 2^-9 + 2^-20 -> 1 + 2^-9 */
    ck_assert_uint_eq(mul_rn_f16x2(pack(0x3C01, 0x3C01), pack(0x3C01, 0x3C00)), pack(0x3C02, 0x3C01));
    /* subnormal results: 2^-14 * 0.5 = 2^-15 (0x0200); 2^-24 * 0.5 ties to 0;
     * 3 * 2^-24 * 0.5 ties to 2 * 2^-24; 2^-24 * 0.75 -> 2^-24 */
    ck_assert_uint_eq(mul_rn_f16x2(pack(0x0400, 0x0001), pack(0x3800, 0x3800)), pack(0x0200, 0x0000));
    ck_assert_uint_eq(mul_rn_f16x2(pack(0x0003, 0x0001), pack(0x3800, 0x3A00)), pack(0x0002, 0x0001));
    ck_assert_uint_eq(mul_rn_f16x2(pack(0x8001, 0x0001), pack(0x3800, 0xB800)), pack(0x8000, 0x8000));
    /* subnormal inputs are not flushed: 2^-24 * 2^10 = 2^-14 */
    ck_assert_uint_eq(mul_rn_f16x2(pack(0x0001, 0x0001), pack(0x6400, 0x6400)), pack(0x0400, 0x0400));
    /* signed zeros: +0 - +0 = +0, -0 - +0 = -0, -0 - -0 = +0, -1 * 0 = -0 */
    ck_assert_uint_eq(sub_rn_f16x2(pack(0x8000, 0x0000), pack(0x0000, 0x0000)), pack(0x8000, 0x0000));
    ck_assert_uint_eq(sub_rn_f16x2(pack(0x8000, 0x3C00), pack(0x8000, 0x3C00)), pack(0x0000, 0x0000));
    ck_assert_uint_eq(mul_rn_f16x2(pack(0xBC00, 0x3C00), pack(0x0000, 0x8000)), pack(0x8000, 0x8000));
    /* fused: (1 + 2^-10)(1 - 2^-11) - 1 = 1023 * 2^-21 exactly (0x0FFE); mul then sub would give 0 */
    ck_assert_uint_eq(fma_rn_f16x2(pack(0x3C01, 0x3C01), pack(0x3BFF, 0x3BFF), pack(0xBC00, 0xBC00)),
                      pack(0x0FFE, 0x0FFE));
    ck_assert_uint_eq(sub_rn_f16x2(mul_rn_f16x2(0x3C01, 0x3BFF), 0x3C00), 0u);
    /* fma signed zeros: +0 * -1 + -0 = -0; 1 * -0 + +0 = +0 */
    ck_assert_uint_eq(fma_rn_f16x2(pack(0x0000, 0x3C00), pack(0xBC00, 0x8000), pack(0x8000, 0x0000)),
                      pack(0x8000, 0x0000));
}
END_TEST

START_TEST(f16x2_nan_and_inf)
{
    const uint16_t qnan = 0x7E00, snan = 0x7C01, inf = 0x7C00, ninf = 0xFC00;
    /* NaN in either half of any operand: that half is NaN (canonical), the other half is untouched */
    ck_assert_uint_eq(sub_rn_f16x2(pack(0x3C00, qnan), pack(0x3C00, 0x3C00)), pack(0x0000, 0x7FFF));
    ck_assert_uint_eq(mul_rn_f16x2(pack(snan, 0x4000), pack(0x3C00, 0x4000)), pack(0x7FFF, 0x4400));
    ck_assert_uint_eq(fma_rn_f16x2(pack(0x3C00, 0x3C00), pack(0x3C00, 0x3C00), pack(0xFFFF, 0x3C00)),
                      pack(0x7FFF, 0x4000));
    /* invalid operations: inf * 0, inf - inf, inf * 1 + -inf */
    ck_assert_uint_eq(mul_rn_f16x2(pack(inf, 0x0000), pack(0x8000, ninf)), pack(0x7FFF, 0x7FFF));
    ck_assert_uint_eq(sub_rn_f16x2(pack(inf, ninf), pack(inf, 0x3C00)), pack(0x7FFF, ninf));
    ck_assert_uint_eq(fma_rn_f16x2(pack(inf, 0x3C00), pack(0x3C00, 0x3C00), pack(ninf, inf)), pack(0x7FFF, inf));
    ck_assert(is_nan16(0x7FFF, kHalf));
}
END_TEST

START_TEST(bf16x2_fma_literal_cases)
{
    /* (1 + 2^-7)^2 + 0 = 1 + 2^-6 + 2^-14 -> 1 + 2^-6 (0x3F82) */
    ck_assert_uint_eq(fma_rn_bf16x2(pack(0x3F81, 0x3F81), pack(0x3F81, 0x3F80), 0), pack(0x3F82, 0x3F81));
    /* ties: 1 + 2^-8 -> 1.0 (even); 1 + 2^-7 + 2^-8 -> 1 + 2^-6 (even) */
    ck_assert_uint_eq(fma_rn_bf16x2(pack(0x3F81, 0x3F80), pack(0x3F80, 0x3F80), pack(0x3B80, 0x3B80)),
                      pack(0x3F82, 0x3F80));
    /* fused: (1 + 2^-7)(1 - 2^-8) - 1 = 127 * 2^-15 exactly (0x3B7E) */
    ck_assert_uint_eq(fma_rn_bf16x2(0x3F81, 0x3F7F, 0xBF80), 0x3B7Eu);
    /* a single rounding: 1.5 * (1 + 2^-7) = 1 + 131/256 is a midpoint of the bf16 grid;
     * adding -2^-60 puts the exact result just below it (-> 0x3FC1), +2^-60 just above
     * (-> 0x3FC2). Rounding the sum to double first would make both ties (-> 0x3FC2). */
    ck_assert_uint_eq(fma_rn_bf16x2(pack(0x3FC0, 0x3FC0), pack(0x3F81, 0x3F81), pack(0xA180, 0x2180)),
                      pack(0x3FC1, 0x3FC2));
    /* overflow to inf; subnormal results 2^-127 (0x0040), 2^-134 ties to 0, 3 * 2^-134 ties to 2^-132 */
    ck_assert_uint_eq(fma_rn_bf16x2(pack(0x7F7F, 0xFF7F), pack(0x4000, 0x4000), 0), pack(0x7F80, 0xFF80));
    ck_assert_uint_eq(fma_rn_bf16x2(pack(0x0080, 0x0001), pack(0x3F00, 0x3F00), 0), pack(0x0040, 0x0000));
    ck_assert_uint_eq(fma_rn_bf16x2(pack(0x0003, 0x8001), pack(0x3F00, 0x3F00), pack(0, 0x8000)),
                      pack(0x0002, 0x8000));
    /* NaN (canonical 0x7FFF) and inf * 0 */
    ck_assert_uint_eq(fma_rn_bf16x2(pack(0x7FC0, 0x7F80), pack(0x3F80, 0x0000), 0), pack(0x7FFF, 0x7FFF));
    /* w4a16's dequantization pattern: a * 1 + (-b) and a * b + (-0) */
    ck_assert_uint_eq(fma_rn_bf16x2(pack(0x4340, 0x4300), 0x3F803F80u, pack(0x4300, 0x4300) ^ 0x80008000u),
                      pack(0x4280, 0x0000)); /* 192 - 128 = 64, 128 - 128 = +0 */
}
END_TEST

START_TEST(half_fma_random_vs_exact)
{
    /* Random operands against the exact integer reference: value * 2^S is an
     * integer (S = 48 for f16; bf16 operands drawn with exponents in
     * [-20, 20], S = 68) and the sum is exact in 128 bits. */
    qbt_rng r = qbt_rng_make(2);
    for (int it = 0; it < 200000; ++it) {
        bool bf = it & 1;
        Fmt f = bf ? kBf16 : kHalf;
        int S = bf ? 68 : 48;
        uint16_t v[3];
        for (int i = 0; i < 3; ++i) {
            for (;;) {
                v[i] = (uint16_t)qbt_next(&r);
                double x = ref_decode(v[i], f);
                if (x != x || isinf(x)) continue;
                if (bf && x != 0 && (fabs(x) < 0x1p-20 || fabs(x) >= 0x1p20)) continue;
                break;
            }
        }
        /* product and sum as exact integers times 2^-S */
        __int128 pa = ref_scaled(v[0], f, S / 2), pb = ref_scaled(v[1], f, S / 2), pc = ref_scaled(v[2], f, S);
        __int128 n = pa * pb + pc;
        /* IEEE: an exact zero sum is -0 only if both addends are zeros of sign - */
        bool pneg = (v[0] ^ v[1]) >> 15, zero_neg = pa * pb == 0 && pc == 0 && pneg && (v[2] >> 15);
        uint32_t want = ref_round(n, S, f, zero_neg);
        uint32_t got = bf ? fma_rn_bf16x2(v[0], v[1], v[2]) & 0xFFFF : fma_rn_f16x2(v[0], v[1], v[2]) & 0xFFFF;
        QBT_EXPECT(got == want, "%s fma(0x%04X, 0x%04X, 0x%04X) = 0x%04X, want 0x%04X [seed %llu]",
                   bf ? "bf16" : "f16", v[0], v[1], v[2], got, want, (unsigned long long)qbt_seed);
        if (!bf) { /* sub and mul are fma special cases of the definition; check them too */
            uint32_t s = sub_rn_f16x2(v[0], v[2]) & 0xFFFF;
            __int128 ns = ref_scaled(v[0], f, S) - pc;
            bool sz = ns == 0 && (v[0] >> 15) && !(v[2] >> 15);
            QBT_EXPECT(s == ref_round(ns, S, f, sz), "sub(0x%04X, 0x%04X) = 0x%04X", v[0], v[2], s);
            uint32_t m = mul_rn_f16x2(v[0], v[1]) & 0xFFFF;
            QBT_EXPECT(m == ref_round(pa * pb, S, f, pneg), "mul(0x%04X, 0x%04X) = 0x%04X", v[0], v[1], m);
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- conversions */

START_TEST(cvt_fp8x2_to_f16x2_literal)
{
    /* e4m3 (5.2.3): 0x38 = 1.0, 0xB8 = -1.0, upper byte -> upper half (9.7.9.21) */
    ck_assert_uint_eq(cvt_rn_f16x2_e4m3x2(0xB838), pack(0xBC00, 0x3C00));
    /* 0x01 = 2^-9 (subnormal e4m3, normal f16 0x1800); 0x7E = 448 (0x5F00); 0x78 = 256, not inf */
    ck_assert_uint_eq(cvt_rn_f16x2_e4m3x2(0x7E01), pack(0x5F00, 0x1800));
    ck_assert_uint_eq(cvt_rn_f16x2_e4m3x2(0x78FE), pack(0x5C00, 0xDF00));
    /* the only NaNs: 0x7F and 0xFF; signed zeros */
    ck_assert_uint_eq(cvt_rn_f16x2_e4m3x2(0x7FFF), pack(0x7FFF, 0x7FFF));
    ck_assert_uint_eq(cvt_rn_f16x2_e4m3x2(0x8000), pack(0x8000, 0x0000));
    /* e5m2: 0x3C = 1.0, 0x7C = inf, 0x01 = 2^-16 (f16 subnormal 0x0100), 0x7D NaN */
    ck_assert_uint_eq(cvt_rn_f16x2_e5m2x2(0x3C7C), pack(0x3C00, 0x7C00));
    ck_assert_uint_eq(cvt_rn_f16x2_e5m2x2(0x8101), pack(0x8100, 0x0100));
    ck_assert_uint_eq(cvt_rn_f16x2_e5m2x2(0xFB7D), pack(0xFB00, 0x7FFF));
}
END_TEST

START_TEST(cvt_fp8x2_to_f16x2_all_codes)
{
    /* every code pair, against the format definitions: e4m3 = bias 7, no
     * infinities, S.1111.111 NaN; e5m2 = IEEE with bias 15 */
    for (uint32_t c = 0; c < 0x10000; ++c) {
        uint32_t d4 = cvt_rn_f16x2_e4m3x2((uint16_t)c), d5 = cvt_rn_f16x2_e5m2x2((uint16_t)c);
        for (int h = 0; h < 2; ++h) {
            uint32_t code = c >> 8 * h & 0xFF;
            uint16_t g4 = (uint16_t)(d4 >> 16 * h), g5 = (uint16_t)(d5 >> 16 * h);
            double v4 = ref_e4m3(code), v5 = ref_decode(code, Fmt{5, 2});
            uint32_t w4 = v4 != v4 ? 0x7FFF : ref_f16_of(v4), w5 = v5 != v5 ? 0x7FFF : ref_f16_of(v5);
            QBT_EXPECT(g4 == w4, "e4m3 0x%02X -> 0x%04X, want 0x%04X", code, g4, w4);
            QBT_EXPECT(g5 == w5, "e5m2 0x%02X -> 0x%04X, want 0x%04X", code, g5, w5);
        }
    }
}
END_TEST

START_TEST(cvt_f32_to_half_literal)
{
    ck_assert_uint_eq(cvt_rn_f16_f32(1.0f), 0x3C00);
    ck_assert_uint_eq(cvt_rn_f16_f32(-0.0f), 0x8000);
    ck_assert_uint_eq(cvt_rn_f16_f32(2049.0f), 0x6800);   /* tie -> even */
    ck_assert_uint_eq(cvt_rn_f16_f32(2051.0f), 0x6802);
    ck_assert_uint_eq(cvt_rn_f16_f32(nextafterf(2049.0f, INFINITY)), 0x6801); /* just above the tie */
    ck_assert_uint_eq(cvt_rn_f16_f32(65519.996f), 0x7BFF);
    ck_assert_uint_eq(cvt_rn_f16_f32(65520.0f), 0x7C00);  /* midpoint to 2^16 -> inf */
    ck_assert_uint_eq(cvt_rn_f16_f32(-1e30f), 0xFC00);
    ck_assert_uint_eq(cvt_rn_f16_f32(INFINITY), 0x7C00);
    ck_assert_uint_eq(cvt_rn_f16_f32(0x1p-24f), 0x0001);
    ck_assert_uint_eq(cvt_rn_f16_f32(0x1p-25f), 0x0000);  /* tie -> even (0) */
    ck_assert_uint_eq(cvt_rn_f16_f32(0x1.000002p-25f), 0x0001);
    ck_assert_uint_eq(cvt_rn_f16_f32(0x1.8p-24f), 0x0002); /* 1.5 units -> 2 */
    ck_assert_uint_eq(cvt_rn_f16_f32(0x1.ffcp-15f), 0x0400); /* 1023.5 units -> 1024 = smallest normal */
    ck_assert_uint_eq(cvt_rn_f16_f32(NAN), 0x7FFF);
    ck_assert_uint_eq(cvt_rn_f16_f32(-NAN), 0x7FFF);

    ck_assert_uint_eq(cvt_rn_bf16_f32(1.0f), 0x3F80);
    ck_assert_uint_eq(cvt_rn_bf16_f32(0x1.01p0f), 0x3F80);  /* 1 + 2^-8: tie -> even */
    ck_assert_uint_eq(cvt_rn_bf16_f32(0x1.03p0f), 0x3F82);  /* 1 + 3*2^-8: tie -> even */
    ck_assert_uint_eq(cvt_rn_bf16_f32(0x1.010002p0f), 0x3F81);
    ck_assert_uint_eq(cvt_rn_bf16_f32(0x1.ffp127f), 0x7F80); /* midpoint above the largest finite -> inf */
    ck_assert_uint_eq(cvt_rn_bf16_f32(-0x1.fep127f), 0xFF7F);
    ck_assert_uint_eq(cvt_rn_bf16_f32(0x1p-133f), 0x0001); /* subnormal */
    ck_assert_uint_eq(cvt_rn_bf16_f32(0x1p-134f), 0x0000); /* tie -> even */
    ck_assert_uint_eq(cvt_rn_bf16_f32(-0x1p-149f), 0x8000);
    ck_assert_uint_eq(cvt_rn_bf16_f32(NAN), 0x7FFF);
}
END_TEST

START_TEST(cvt_f32_to_half_midpoints)
{
    /* Every f16 / bf16 code with a finite successor: the code's value rounds
     * to itself, the exact midpoint to the even neighbour, the floats just
     * either side of the midpoint to the nearer one. */
    for (int bf = 0; bf < 2; ++bf) {
        Fmt f = bf ? kBf16 : kHalf;
        for (uint32_t lo = 0, hi = 1; !isinf(ref_decode(hi, f)); ++lo, ++hi) {
            double vl = ref_decode(lo, f), vh = ref_decode(hi, f);
            float mid = (float)((vl + vh) / 2); /* exact: f16/bf16 midpoints have <= 12 / 9 bits */
            uint16_t (*cvt)(float) = bf ? cvt_rn_bf16_f32 : cvt_rn_f16_f32;
            QBT_EXPECT(cvt((float)vl) == lo && cvt((float)-vl) == (lo | 0x8000u),
                       "%s code 0x%04X does not round to itself", bf ? "bf16" : "f16", lo);
            uint32_t even = lo & 1 ? hi : lo;
            QBT_EXPECT(cvt(mid) == even, "%s midpoint after 0x%04X -> 0x%04X", bf ? "bf16" : "f16", lo, cvt(mid));
            QBT_EXPECT(cvt(nextafterf(mid, 0.0f)) == lo && cvt(nextafterf(mid, INFINITY)) == hi,
                       "%s around the midpoint after 0x%04X", bf ? "bf16" : "f16", lo);
        }
    }
}
END_TEST

START_TEST(cvt_half_to_f32_all_codes)
{
    for (uint32_t c = 0; c < 0x10000; ++c) {
        float h = cvt_f32_f16((uint16_t)c), b = cvt_f32_bf16((uint16_t)c);
        double rh = ref_decode(c, kHalf), rb = ref_decode(c, kBf16);
        if (rh != rh)
            QBT_EXPECT(f32_bits(h) == 0x7FFFFFFFu, "f16 NaN 0x%04X -> 0x%08X", c, f32_bits(h));
        else
            QBT_EXPECT((double)h == rh && signbit(h) == signbit(rh), "f16 0x%04X -> %a", c, (double)h);
        if (rb != rb)
            QBT_EXPECT(f32_bits(b) == 0x7FFFFFFFu, "bf16 NaN 0x%04X -> 0x%08X", c, f32_bits(b));
        else
            QBT_EXPECT((double)b == rb && signbit(b) == signbit(rb), "bf16 0x%04X -> %a", c, (double)b);
    }
}
END_TEST

extern "C" Suite *qbt_suite(void)
{
    Suite *s = suite_create("sim_twins_alu");
    TCase *tc = tcase_create("alu");
    tcase_add_test(tc, lop3_definition);
    tcase_add_test(tc, lop3_named_functions);
    tcase_add_test(tc, prmt_byte_select);
    tcase_add_test(tc, prmt_sign_replicate);
    tcase_add_test(tc, dp4a_signed_bytes);
    tcase_add_test(tc, f16x2_literal_cases);
    tcase_add_test(tc, f16x2_nan_and_inf);
    tcase_add_test(tc, bf16x2_fma_literal_cases);
    tcase_add_test(tc, half_fma_random_vs_exact);
    tcase_add_test(tc, cvt_fp8x2_to_f16x2_literal);
    tcase_add_test(tc, cvt_fp8x2_to_f16x2_all_codes);
    tcase_add_test(tc, cvt_f32_to_half_literal);
    tcase_add_test(tc, cvt_f32_to_half_midpoints);
    tcase_add_test(tc, cvt_half_to_f32_all_codes);
    suite_add_tcase(s, tc);
    return s;
}
