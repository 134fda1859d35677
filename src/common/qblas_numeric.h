/* qblas_numeric.h - bit-exact scalar conversions between f32 and the 16- and
 * 8-bit float formats, and the rounding helpers every backend shares.
 *
 * Header-only so the CPU oracle and GPU kernels compile the same definitions
 * (QB_HD marks them host+device under nvcc/hipcc). All f32 -> narrow
 * conversions round to nearest, ties to even. NaN stays NaN. Narrow fp8
 * conversions saturate to the largest finite value (inf included), as the
 * hardware "satfinite" conversions do.
 */
#ifndef QBLAS_NUMERIC_H
#define QBLAS_NUMERIC_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define QB_HD __host__ __device__ __forceinline__
#else
#define QB_HD static inline
#endif

QB_HD uint32_t qb_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
QB_HD float qb_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* ---- IEEE binary16 ---- */
QB_HD float qb_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 31u, m = h & 1023u;
    if (e == 0) { /* zero or subnormal: m * 2^-24, exact in f32 */
        float v = (float)m * (1.0f / 16777216.0f);
        return qb_bits_f32(qb_f32_bits(v) | sign);
    }
    if (e == 31) return qb_bits_f32(sign | 0x7F800000u | (m << 13)); /* inf / NaN, payload kept */
    return qb_bits_f32(sign | ((e + 112u) << 23) | (m << 13));
}

QB_HD uint16_t qb_f32_to_f16(float f)
{
    uint32_t x = qb_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return (uint16_t)(sign | 0x7E00u | ((ax >> 13) & 0x3FFu)); /* quiet NaN */
    if (ax >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* >= 65520 rounds to inf */
    if (ax >= 0x38800000u) { /* normal result: drop 13 bits with RNE, rebias 127 -> 15 */
        ax += 0xFFFu + ((ax >> 13) & 1u);
        return (uint16_t)(sign | ((ax - 0x38000000u) >> 13));
    }
    if (ax <= 0x33000000u) return sign; /* <= 2^-25 (half the smallest subnormal): ties to 0 */
    /* subnormal: the value in units of 2^-24, rounded to even (exact scaling) */
    return (uint16_t)(sign | (uint16_t)rintf(qb_bits_f32(ax) * 16777216.0f));
}

/* ---- bfloat16 ---- */
QB_HD float qb_bf16_to_f32(uint16_t b) { return qb_bits_f32((uint32_t)b << 16); }

QB_HD uint16_t qb_f32_to_bf16(float f)
{
    uint32_t x = qb_f32_bits(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((x >> 16) | 0x0040u); /* quiet NaN */
    x += 0x7FFFu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* ---- 8-bit floats ----
 * One generic codec, described by a small parameter set, serves all three
 * formats so the rounding logic exists once. */
typedef struct qb_fp8_fmt {
    int mbits;    /* mantissa bits */
    int bias;     /* exponent bias */
    float maxv;   /* largest finite value */
    uint8_t maxc; /* its code (positive) */
    int kind;     /* 0: OCP e4m3fn, 1: IEEE-like e5m2, 2: fnuz */
} qb_fp8_fmt;

#define QB_FP8_E4M3 ((qb_fp8_fmt){3, 7, 448.0f, 0x7E, 0})
#define QB_FP8_E5M2 ((qb_fp8_fmt){2, 15, 57344.0f, 0x7B, 1})
#define QB_FP8_E4M3FNUZ ((qb_fp8_fmt){3, 8, 240.0f, 0x7F, 2})

QB_HD float qb_fp8_decode(uint8_t c, qb_fp8_fmt f)
{
    int ebits = 7 - f.mbits;
    uint32_t sign = (uint32_t)(c >> 7);
    int e = (c >> f.mbits) & ((1 << ebits) - 1);
    int m = c & ((1 << f.mbits) - 1);
    if (f.kind == 2) {
        if (c == 0x80) return NAN;
    } else if (f.kind == 0) {
        if (e == 15 && m == 7) return sign ? -NAN : NAN;
    } else if (e == 31) {
        if (m == 0) return sign ? -INFINITY : INFINITY;
        return sign ? -NAN : NAN;
    }
    float v = (e == 0) ? ldexpf((float)m, 1 - f.bias - f.mbits)
                       : ldexpf(1.0f + (float)m / (float)(1 << f.mbits), e - f.bias);
    return sign ? -v : v;
}

QB_HD uint8_t qb_fp8_encode(float x, qb_fp8_fmt f)
{
    uint8_t sign = (uint8_t)((qb_f32_bits(x) >> 31) << 7);
    if (x != x) return f.kind == 2 ? 0x80 : (uint8_t)(sign | 0x7F); /* NaN */
    float a = fabsf(x);
    if (a >= f.maxv) return (uint8_t)(sign | f.maxc); /* saturate, inf included */
    int emin = 1 - f.bias, e2;
    (void)frexpf(a, &e2);
    int ex = e2 - 1; /* a = 1.x * 2^ex */
    if (ex < emin) ex = emin;
    /* quantum of the binade (or of the subnormal range); a/quantum is exact */
    float q = rintf(ldexpf(a, f.mbits - ex));
    float r = ldexpf(q, ex - f.mbits); /* the rounded value, <= maxv */
    if (r == 0.0f) return f.kind == 2 ? 0 : sign;
    (void)frexpf(r, &e2);
    ex = e2 - 1;
    uint8_t code;
    if (ex < emin) { /* subnormal: exponent field 0 */
        code = (uint8_t)ldexpf(r, f.mbits - emin);
    } else {
        int mant = (int)ldexpf(r, f.mbits - ex) - (1 << f.mbits);
        code = (uint8_t)(((ex + f.bias) << f.mbits) | mant);
    }
    return (uint8_t)(sign | code);
}

/* ---- integer rounding used by every quantizer ---- */
/* Round to nearest even and clamp to [lo, hi]; NaN maps to 0. */
QB_HD int32_t qb_round_clamp(float v, int32_t lo, int32_t hi)
{
    if (v != v) return 0;
    float r = rintf(v);
    /* compare in double: (float)INT32_MAX is 2^31, which would let r = 2^31
     * through to an out-of-range (undefined) float -> int32 conversion */
    if ((double)r < (double)lo) return lo;
    if ((double)r > (double)hi) return hi;
    return (int32_t)r;
}

#endif /* QBLAS_NUMERIC_H */
