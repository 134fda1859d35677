/* alu.cc - twins of the scalar (one thread each) PTX instructions.
 *
 * Source: PTX ISA 9.1 (https://docs.nvidia.com/cuda/parallel-thread-execution/),
 * section numbers as that edition numbers them.
 *
 * NaN results (NOT BIT-EXACT): the ISA gives no NaN bit pattern for any
 * instruction here ("Half-precision instructions return an unspecified NaN",
 * 9.7.4; "Single-precision instructions return an unspecified NaN", 9.7.3;
 * "For cvt.f32.bf16, NaN input yields unspecified NaN", 9.7.9.21), so every
 * NaN a twin returns is the canonical one: 0x7FFF (f16, bf16), 0x7FFFFFFF (f32).
 * Only the .relu forms, which no kernel uses, specify canonical NaN.
 */
#include <math.h>
#include <string.h>

#include "sim/twins/ptx_twins.h"
#include "common/qblas_numeric.h"

namespace qbsim {
namespace ptx {

namespace {

constexpr uint16_t kNaN16 = 0x7FFF;
constexpr uint32_t kNaN32 = 0x7FFFFFFFu;

struct Fmt16 {     /* a 16-bit binary floating-point format */
    int p;         /* significand bits, hidden bit included */
    int emin;      /* exponent of the smallest normal */
    double maxv;   /* largest finite value */
};
constexpr Fmt16 kF16 = {11, -14, 65504.0};
constexpr Fmt16 kBF16 = {8, -126, 0x1.FEp127};

double value16(F16 t, uint16_t h) { return t == F16::F16 ? qb_f16_to_f32(h) : qb_bf16_to_f32(h); }

/* x rounded to nearest, ties to even, in format f (IEEE 754 roundTiesToEven,
 * gradual underflow, overflow to infinity); NaN gives the canonical NaN.
 * Every value of f is a float, so once rounded, the encoders of
 * qblas_numeric.h store it without rounding again. */
uint16_t round16(double x, F16 t)
{
    if (x != x) return kNaN16;
    const Fmt16 &f = t == F16::F16 ? kF16 : kBF16;
    double a = fabs(x);
    if (a != 0 && a != INFINITY) {
        int e;
        (void)frexp(a, &e); /* a = m * 2^e, 0.5 <= m < 1 */
        int lead = e - 1 < f.emin ? f.emin : e - 1;
        double y = ldexp(a, f.p - 1 - lead); /* a in units of the last place: exact */
        double r = floor(y), frac = y - r;
        if (frac > 0.5 || (frac == 0.5 && fmod(r, 2.0) != 0)) r += 1;
        a = ldexp(r, lead - (f.p - 1));
        if (a > f.maxv) a = INFINITY;
    }
    float v = (float)copysign(a, x); /* exact */
    return t == F16::F16 ? qb_f32_to_f16(v) : qb_f32_to_bf16(v);
}

/* p + c rounded to odd: the sum truncated toward zero, its last bit set when
 * inexact. Rounding that once more to a format of at most 51 bits gives the
 * correctly rounded sum (Boldo & Melquiond, "Emulation of FMA and correctly
 * rounded sums: proved algorithms using rounding to odd", 2008). */
double add_round_to_odd(double p, double c)
{
    double s = p + c;
    if (!isfinite(s)) return s;
    double bp = s - c, e = (p - bp) + (c - (s - bp)); /* TwoSum: s + e == p + c exactly */
    if (e == 0) return s;
    uint64_t bits;
    memcpy(&bits, &s, 8);
    if ((e < 0) != (s < 0)) bits -= 1; /* s was rounded away from zero: step back */
    bits |= 1;
    memcpy(&s, &bits, 8);
    return s;
}

/* d = a * b + c, rounded once (the products of two 16-bit values are exact in double). */
uint16_t fma16(F16 t, uint16_t a, uint16_t b, uint16_t c)
{
    return round16(add_round_to_odd(value16(t, a) * value16(t, b), value16(t, c)), t);
}

/* The two halves of a .f16x2 / .bf16x2 operand, low half first (9.7.4.x Semantics: fA[0] = a[0:15]). */
uint32_t fma16x2(F16 t, uint32_t a, uint32_t b, uint32_t c)
{
    uint16_t lo = fma16(t, (uint16_t)a, (uint16_t)b, (uint16_t)c);
    uint16_t hi = fma16(t, (uint16_t)(a >> 16), (uint16_t)(b >> 16), (uint16_t)(c >> 16));
    return (uint32_t)hi << 16 | lo;
}

constexpr uint32_t kOnes16x2 = 0x3C003C00u; /* 1.0 in both f16 halves */
constexpr uint32_t kSigns = 0x80008000u;     /* sign bit of both halves */

uint32_t fp8x2_to_f16x2(uint16_t a, qb_fp8_fmt fmt)
{
    /* 9.7.9.21: the upper byte of a goes to the upper half of d. Every e4m3
     * and e5m2 value is an f16 value, so the conversion is exact. */
    uint32_t d = 0;
    for (int i = 0; i < 2; ++i) d |= (uint32_t)round16(qb_fp8_decode((uint8_t)(a >> 8 * i), fmt), F16::F16) << 16 * i;
    return d;
}

float f32_or_canonical_nan(float v)
{
    if (v == v) return v;
    float n;
    memcpy(&n, &kNaN32, 4);
    return n;
}

} // namespace

/* lop3.b32, 9.7.8.6: immLut = F(0xF0, 0xCC, 0xAA), so bit (4a + 2b + c) of
 * the table is F at input bits (a, b, c). */
uint32_t lop3_b32(uint32_t a, uint32_t b, uint32_t c, uint8_t lut)
{
    uint32_t d = 0;
    for (int i = 0; i < 8; ++i) {
        if (!(lut >> i & 1)) continue;
        uint32_t ma = i & 4 ? a : ~a, mb = i & 2 ? b : ~b, mc = i & 1 ? c : ~c;
        d |= ma & mb & mc;
    }
    return d;
}

/* prmt.b32 generic form (no mode), 9.7.9.7: bytes {b, a} = b7..b4, b3..b0;
 * nibble i of c picks byte i of d: bits 2..0 the source byte, bit 3 set
 * replicates that byte's sign bit instead of copying it. c[31:16] is unused. */
uint32_t prmt_b32(uint32_t a, uint32_t b, uint32_t sel)
{
    uint64_t src = (uint64_t)b << 32 | a;
    uint32_t d = 0;
    for (int i = 0; i < 4; ++i) {
        uint32_t ctl = sel >> 4 * i & 0xF;
        uint32_t byte = (uint32_t)(src >> 8 * (ctl & 7)) & 0xFF;
        if (ctl & 8) byte = byte & 0x80 ? 0xFF : 0x00;
        d |= byte << 8 * i;
    }
    return d;
}

/* dp4a.s32.s32, 9.7.1.23: c plus the four products of sign-extended bytes,
 * in the 32-bit destination (wraps mod 2^32). */
int32_t dp4a_s32(int32_t a, int32_t b, int32_t c)
{
    uint32_t d = (uint32_t)c;
    for (int i = 0; i < 4; ++i) d += (uint32_t)((int8_t)(a >> 8 * i) * (int8_t)(b >> 8 * i));
    return (int32_t)d;
}

/* sub.rn.f16x2 (9.7.4.2), mul.rn.f16x2 (9.7.4.3), fma.rn.f16x2 / .bf16x2
 * (9.7.4.4): each half rounded once to nearest even, subnormals kept (no
 * .ftz). a - b is computed as a*1 + (-b) and a*b as a*b + (-0): both exact
 * rewrites (x*1 is exact; x + (-0) == x including the sign of a zero x), so
 * the single fused rounding gives the same results. */
uint32_t sub_rn_f16x2(uint32_t a, uint32_t b) { return fma16x2(F16::F16, a, kOnes16x2, b ^ kSigns); }
uint32_t mul_rn_f16x2(uint32_t a, uint32_t b) { return fma16x2(F16::F16, a, b, kSigns); }
uint32_t fma_rn_f16x2(uint32_t a, uint32_t b, uint32_t c) { return fma16x2(F16::F16, a, b, c); }
uint32_t fma_rn_bf16x2(uint32_t a, uint32_t b, uint32_t c) { return fma16x2(F16::BF16, a, b, c); }

/* cvt.rn.f16x2.e4m3x2 / .e5m2x2, 9.7.9.21; formats 5.2.3 (e4m3: no
 * infinities, NaN only 0x7F/0xFF; e5m2: IEEE-like). qb_fp8_decode implements
 * exactly these encodings (OCP e4m3fn and e5m2). */
uint32_t cvt_rn_f16x2_e4m3x2(uint16_t a) { return fp8x2_to_f16x2(a, QB_FP8_E4M3); }
uint32_t cvt_rn_f16x2_e5m2x2(uint16_t a) { return fp8x2_to_f16x2(a, QB_FP8_E5M2); }

/* cvt.rn.f16.f32 / cvt.rn.bf16.f32, 9.7.9.21 (.rn: ties to even). Overflow
 * gives infinity, as IEEE round-to-nearest does (6.5.1's "~131,000 for f16"
 * is no f16 value). */
uint16_t cvt_rn_f16_f32(float a) { return round16(a, F16::F16); }
uint16_t cvt_rn_bf16_f32(float a) { return round16(a, F16::BF16); }

/* cvt.f32.f16 / cvt.f32.bf16: widening, exact. */
float cvt_f32_f16(uint16_t a) { return f32_or_canonical_nan(qb_f16_to_f32(a)); }
float cvt_f32_bf16(uint16_t a) { return f32_or_canonical_nan(qb_bf16_to_f32(a)); }

} // namespace ptx
} // namespace qbsim
