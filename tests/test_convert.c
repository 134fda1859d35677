/* test_convert.c - the scalar conversions of src/common/qblas_numeric.h are
 * bit-exact.
 *
 * Every expectation here comes from decoders and a round-to-nearest-even
 * routine written in this file, in double arithmetic, straight from the
 * format definitions (docs/FORMATS.md, "Scalar conversions"):
 *   - every code of f16, bf16 and the three fp8 formats decodes to the value
 *     the definition gives, and re-encodes to itself;
 *   - the exact midpoint between any two adjacent finite values rounds to the
 *     even code, and the nearest f32 on either side of it rounds to that side;
 *   - overflow, saturation, NaN, negative zero and the subnormal range;
 *   - qb_round_clamp;
 *   - millions of random f32 inputs against the reference rounding.
 */
#include <float.h>

#include "qb_test.h"

/* Check's ck_assert records a mark point (file I/O) on every pass; loops over
 * millions of values use this instead and only call into Check on failure. */
/* ---- reference decoders (double, from the definitions) ---- */

/* IEEE-style binary format with ebits exponent bits, mbits mantissa bits and
 * bias 2^(ebits-1)-1: e == 0 subnormal, e == max inf (m == 0) or NaN. */
static double ref_ieee_decode(uint32_t c, int ebits, int mbits)
{
    int bias = (1 << (ebits - 1)) - 1;
    int s = (int)(c >> (ebits + mbits)) & 1;
    int e = (int)(c >> mbits) & ((1 << ebits) - 1);
    double m = (double)(c & ((1u << mbits) - 1));
    double mag;
    if (e == (1 << ebits) - 1)
        mag = m != 0.0 ? NAN : INFINITY;
    else if (e == 0)
        mag = ldexp(m, 1 - bias - mbits);
    else
        mag = ldexp(1.0 + ldexp(m, -mbits), e - bias);
    return s ? -mag : mag;
}

static double ref_f16(uint16_t c) { return ref_ieee_decode(c, 5, 10); }
static double ref_bf16(uint16_t c) { return ref_ieee_decode(c, 8, 7); }

/* The three fp8 formats as the definitions state them. */
typedef enum { K_E4M3, K_E5M2, K_FNUZ } fp8_kind;
typedef struct {
    const char *name;
    fp8_kind kind;
    qb_fp8_fmt fmt; /* the library's parameter set, only passed through */
    int mbits, bias;
    double maxv;    /* largest finite value, from the definition */
    uint8_t maxc;   /* its positive code */
} fp8_def;

static fp8_def fp8_defs(int i)
{
    switch (i) {
    case 0: return (fp8_def){"e4m3", K_E4M3, QB_FP8_E4M3, 3, 7, 448.0, 0x7E};
    case 1: return (fp8_def){"e5m2", K_E5M2, QB_FP8_E5M2, 2, 15, 57344.0, 0x7B};
    default: return (fp8_def){"e4m3fnuz", K_FNUZ, QB_FP8_E4M3FNUZ, 3, 8, 240.0, 0x7F};
    }
}

static double ref_fp8(uint8_t c, const fp8_def *d)
{
    int ebits = 7 - d->mbits;
    int s = c >> 7;
    int e = (c >> d->mbits) & ((1 << ebits) - 1);
    int m = c & ((1 << d->mbits) - 1);
    switch (d->kind) {
    case K_E4M3: /* no inf; S.1111.111 is the only NaN */
        if (e == 15 && m == 7) return NAN;
        break;
    case K_E5M2: /* IEEE-like: exponent 31 holds inf and NaN */
        if (e == 31) return m ? NAN : (s ? -INFINITY : INFINITY);
        break;
    case K_FNUZ: /* 0x80 ("negative zero") is the only NaN */
        if (c == 0x80) return NAN;
        break;
    }
    double mag = e == 0 ? ldexp(m, 1 - d->bias - d->mbits) : ldexp(1.0 + ldexp(m, -d->mbits), e - d->bias);
    return s ? -mag : mag;
}

static bool fp8_is_nan_code(uint8_t c, const fp8_def *d) { return isnan(ref_fp8(c, d)); }

/* ---- reference rounding ----
 * Round a >= 0 (finite) to the nearest multiple of the quantum of its binade
 * in a format with mbits mantissa bits and smallest normal exponent emin (the
 * subnormal range shares the quantum of the lowest binade); ties go to the
 * even multiple, which is the even code. Exponent range is unbounded above:
 * callers apply overflow. a / q is exact in double (a has <= 24 bits). */
static double ref_rne(double a, int mbits, int emin)
{
    int e;
    frexp(a, &e); /* a in [2^(e-1), 2^e); a == 0 gives e == 0 */
    int ex = e - 1 < emin ? emin : e - 1;
    double q = ldexp(1.0, ex - mbits);
    double n = a / q, fl = floor(n), d = n - fl;
    if (d > 0.5 || (d == 0.5 && fmod(fl, 2.0) != 0.0)) fl += 1.0;
    return fl * q;
}

#define F16_MAX 65504.0
#define BF16_MAX 0x1.FEp127

/* Expected value of f32 -> f16 / bf16 (IEEE overflow: beyond max is inf). */
static double ref_to_f16(float x)
{
    double a = fabs((double)x);
    double r = isinf(a) ? INFINITY : ref_rne(a, 10, -14);
    if (r > F16_MAX) r = INFINITY;
    return signbit(x) ? -r : r;
}

static double ref_to_bf16(float x)
{
    double a = fabs((double)x);
    double r = isinf(a) ? INFINITY : ref_rne(a, 7, -126);
    if (r > BF16_MAX) r = INFINITY;
    return signbit(x) ? -r : r;
}

/* Expected code of f32 -> fp8: RNE, saturating to +-max (inf included),
 * NaN to the format's NaN code, zero keeps its sign except in fnuz. */
static uint8_t ref_to_fp8(float x, const fp8_def *d)
{
    uint8_t sign = signbit(x) ? 0x80 : 0x00;
    if (isnan(x)) return d->kind == K_FNUZ ? 0x80 : (uint8_t)(sign | 0x7F);
    double a = fabs((double)x);
    double r = isinf(a) ? d->maxv : ref_rne(a, d->mbits, 1 - d->bias);
    if (r > d->maxv) r = d->maxv;
    if (r == 0.0) return d->kind == K_FNUZ ? 0x00 : sign;
    for (int c = 0; c < 128; c++)
        if (ref_fp8((uint8_t)c, d) == r) return (uint8_t)(sign | c);
    ck_abort_msg("%s: %.17g has no code", d->name, r);
    return 0;
}

/* same value and same sign (so -0 != +0); NaN never matches */
static bool same_value(double got, double want)
{
    return got == want && signbit(got) == signbit(want);
}

static bool f16_is_nan_code(uint16_t c) { return (c & 0x7C00) == 0x7C00 && (c & 0x3FF); }
static bool bf16_is_nan_code(uint16_t c) { return (c & 0x7F80) == 0x7F80 && (c & 0x7F); }

/* ---- every code decodes to its definition ---- */

START_TEST(f16_decode_all)
{
    for (uint32_t c = 0; c < 65536; c++) {
        float got = qb_f16_to_f32((uint16_t)c);
        double want = ref_f16((uint16_t)c);
        if (isnan(want))
            QBT_EXPECT(isnan(got), "f16 0x%04x: NaN code decodes to %a", c, got);
        else
            QBT_EXPECT(same_value(got, want), "f16 0x%04x: got %a want %a", c, got, want);
    }
}
END_TEST

START_TEST(bf16_decode_all)
{
    for (uint32_t c = 0; c < 65536; c++) {
        float got = qb_bf16_to_f32((uint16_t)c);
        double want = ref_bf16((uint16_t)c);
        if (isnan(want))
            QBT_EXPECT(isnan(got), "bf16 0x%04x: NaN code decodes to %a", c, got);
        else
            QBT_EXPECT(same_value(got, want), "bf16 0x%04x: got %a want %a", c, got, want);
    }
}
END_TEST

START_TEST(fp8_decode_all)
{
    for (int i = 0; i < 3; i++) {
        fp8_def d = fp8_defs(i);
        double maxfin = 0.0;
        int nans = 0;
        for (int c = 0; c < 256; c++) {
            float got = qb_fp8_decode((uint8_t)c, d.fmt);
            double want = ref_fp8((uint8_t)c, &d);
            if (isnan(want)) {
                nans++;
                QBT_EXPECT(isnan(got), "%s 0x%02x: NaN code decodes to %a", d.name, c, got);
                continue;
            }
            QBT_EXPECT(same_value(got, want), "%s 0x%02x: got %a want %a", d.name, c, got, want);
            if (isfinite(want) && fabs(want) > maxfin) maxfin = fabs(want);
        }
        /* the definitions' constants: max finite and the number of NaN codes */
        QBT_EXPECT(maxfin == d.maxv, "%s: max finite %g", d.name, maxfin);
        ck_assert(ref_fp8(d.maxc, &d) == d.maxv);
        ck_assert_int_eq(nans, d.kind == K_E4M3 ? 2 : d.kind == K_E5M2 ? 6 : 1);
        /* zero: OCP formats have +0 and -0, fnuz only +0 */
        ck_assert(same_value(qb_fp8_decode(0x00, d.fmt), 0.0));
        if (d.kind != K_FNUZ) ck_assert(same_value(qb_fp8_decode(0x80, d.fmt), -0.0));
    }
}
END_TEST

/* ---- every code survives decode -> encode ---- */

START_TEST(f16_roundtrip_all)
{
    for (uint32_t c = 0; c < 65536; c++) {
        uint16_t back = qb_f32_to_f16(qb_f16_to_f32((uint16_t)c));
        if (f16_is_nan_code((uint16_t)c))
            QBT_EXPECT(f16_is_nan_code(back), "f16 NaN 0x%04x re-encodes to 0x%04x", c, back);
        else
            QBT_EXPECT(back == c, "f16 0x%04x re-encodes to 0x%04x", c, back);
    }
}
END_TEST

START_TEST(bf16_roundtrip_all)
{
    for (uint32_t c = 0; c < 65536; c++) {
        uint16_t back = qb_f32_to_bf16(qb_bf16_to_f32((uint16_t)c));
        if (bf16_is_nan_code((uint16_t)c))
            QBT_EXPECT(bf16_is_nan_code(back), "bf16 NaN 0x%04x re-encodes to 0x%04x", c, back);
        else
            QBT_EXPECT(back == c, "bf16 0x%04x re-encodes to 0x%04x", c, back);
    }
}
END_TEST

START_TEST(fp8_roundtrip_all)
{
    for (int i = 0; i < 3; i++) {
        fp8_def d = fp8_defs(i);
        for (int c = 0; c < 256; c++) {
            uint8_t back = qb_fp8_encode(qb_fp8_decode((uint8_t)c, d.fmt), d.fmt);
            if (isinf(ref_fp8((uint8_t)c, &d))) /* e5m2 +-inf: encoding saturates, inf included */
                QBT_EXPECT(back == ((c & 0x80) | d.maxc), "e5m2 inf 0x%02x re-encodes to 0x%02x", c, back);
            else if (!fp8_is_nan_code((uint8_t)c, &d))
                QBT_EXPECT(back == c, "%s 0x%02x re-encodes to 0x%02x", d.name, c, back);
            else if (d.kind == K_E4M3) /* the only NaN codes, sign kept */
                QBT_EXPECT(back == c, "e4m3 NaN 0x%02x re-encodes to 0x%02x", c, back);
            else
                QBT_EXPECT(fp8_is_nan_code(back, &d), "%s NaN 0x%02x re-encodes to 0x%02x", d.name, c, back);
        }
    }
}
END_TEST

/* ---- midpoints between adjacent finite values ----
 * For positive codes c and c+1 (both finite; positive codes are ordered by
 * value in all five formats) the midpoint, when representable in f32, must
 * round to the even one of the two, and the neighbouring f32 values of the
 * midpoint to the nearer side. The same holds mirrored for negatives. */
typedef uint32_t (*enc_fn)(float x, const void *ctx);
typedef double (*dec_fn)(uint32_t c, const void *ctx);

static uint32_t enc_f16(float x, const void *ctx) { (void)ctx; return qb_f32_to_f16(x); }
static uint32_t enc_bf16(float x, const void *ctx) { (void)ctx; return qb_f32_to_bf16(x); }
static uint32_t enc_fp8(float x, const void *ctx) { return qb_fp8_encode(x, ((const fp8_def *)ctx)->fmt); }
static double dec_f16(uint32_t c, const void *ctx) { (void)ctx; return ref_f16((uint16_t)c); }
static double dec_bf16(uint32_t c, const void *ctx) { (void)ctx; return ref_bf16((uint16_t)c); }
static double dec_fp8(uint32_t c, const void *ctx) { return ref_fp8((uint8_t)c, ctx); }

/* Checks codes 0..last (last = largest finite positive code); sign_bit is the
 * code's sign bit; zero_neg is the code -0 rounds to. Returns pairs tested. */
static int check_midpoints(const char *name, enc_fn enc, dec_fn dec, const void *ctx, uint32_t last,
                           uint32_t sign_bit, uint32_t zero_neg)
{
    int tested = 0;
    for (uint32_t c = 0; c < last; c++) {
        double a = dec(c, ctx), b = dec(c + 1, ctx), mid = (a + b) / 2.0;
        QBT_EXPECT(a < b, "%s: codes 0x%x, 0x%x not increasing", name, c, c + 1);
        float fm = (float)mid;
        if ((double)fm != mid) continue; /* not an f32: nothing to feed the encoder */
        uint32_t even = (c & 1) ? c + 1 : c;
        float below = nextafterf(fm, 0.0f), above = nextafterf(fm, INFINITY);
        QBT_EXPECT(enc(fm, ctx) == even, "%s: midpoint %a of 0x%x/0x%x -> 0x%x, want 0x%x", name, fm, c, c + 1,
                      enc(fm, ctx), even);
        QBT_EXPECT(enc(below, ctx) == c, "%s: %a (just below a midpoint) -> 0x%x, want 0x%x", name, below,
                      enc(below, ctx), c);
        QBT_EXPECT(enc(above, ctx) == c + 1, "%s: %a (just above a midpoint) -> 0x%x, want 0x%x", name, above,
                      enc(above, ctx), c + 1);
        /* mirrored: a negative result of magnitude 0 is the format's -0 (or +0) */
        uint32_t neg_even = even ? (sign_bit | even) : zero_neg, neg_c = c ? (sign_bit | c) : zero_neg;
        QBT_EXPECT(enc(-fm, ctx) == neg_even, "%s: %a -> 0x%x, want 0x%x", name, -fm, enc(-fm, ctx), neg_even);
        QBT_EXPECT(enc(-below, ctx) == neg_c, "%s: %a -> 0x%x, want 0x%x", name, -below, enc(-below, ctx), neg_c);
        QBT_EXPECT(enc(-above, ctx) == (sign_bit | (c + 1)), "%s: %a -> 0x%x", name, -above, enc(-above, ctx));
        tested++;
    }
    return tested;
}

START_TEST(f16_midpoints)
{
    /* every f16 midpoint has 12 significant bits and lies in f32's normal range */
    int n = check_midpoints("f16", enc_f16, dec_f16, NULL, 0x7BFF, 0x8000, 0x8000);
    ck_assert_int_eq(n, 0x7BFF);
}
END_TEST

START_TEST(bf16_midpoints)
{
    /* 9 significant bits; the subnormal midpoints are f32 subnormals (2^-134 steps) */
    int n = check_midpoints("bf16", enc_bf16, dec_bf16, NULL, 0x7F7F, 0x8000, 0x8000);
    ck_assert_int_eq(n, 0x7F7F);
}
END_TEST

START_TEST(fp8_midpoints)
{
    for (int i = 0; i < 3; i++) {
        fp8_def d = fp8_defs(i);
        uint32_t zero_neg = d.kind == K_FNUZ ? 0x00 : 0x80;
        int n = check_midpoints(d.name, enc_fp8, dec_fp8, &d, d.maxc, 0x80, zero_neg);
        ck_assert_int_eq(n, d.maxc);
    }
}
END_TEST

/* ---- overflow, saturation, NaN, signed zero ---- */

START_TEST(f16_overflow)
{
    /* 65520 is the midpoint of 65504 (0x7BFF, odd) and 2^16 (the inf code, even) */
    ck_assert_uint_eq(qb_f32_to_f16(65520.0f), 0x7C00);
    ck_assert_uint_eq(qb_f32_to_f16(nextafterf(65520.0f, 0.0f)), 0x7BFF); /* 65519.996 */
    ck_assert_uint_eq(qb_f32_to_f16(65519.99f), 0x7BFF);
    ck_assert_uint_eq(qb_f32_to_f16(65504.0f), 0x7BFF);
    ck_assert_uint_eq(qb_f32_to_f16(65536.0f), 0x7C00);
    ck_assert_uint_eq(qb_f32_to_f16(1e10f), 0x7C00);
    ck_assert_uint_eq(qb_f32_to_f16(FLT_MAX), 0x7C00);
    ck_assert_uint_eq(qb_f32_to_f16(INFINITY), 0x7C00);
    ck_assert_uint_eq(qb_f32_to_f16(-65520.0f), 0xFC00);
    ck_assert_uint_eq(qb_f32_to_f16(-65519.99f), 0xFBFF);
    ck_assert_uint_eq(qb_f32_to_f16(-INFINITY), 0xFC00);
    ck_assert_uint_eq(qb_f32_to_f16(0.0f), 0x0000);
    ck_assert_uint_eq(qb_f32_to_f16(-0.0f), 0x8000);
    ck_assert(f16_is_nan_code(qb_f32_to_f16(NAN)));
    ck_assert(f16_is_nan_code(qb_f32_to_f16(-NAN)));
    /* a NaN whose payload sits only in the low 13 bits still stays NaN */
    ck_assert(f16_is_nan_code(qb_f32_to_f16(qb_bits_f32(0x7F800001u))));
    ck_assert(f16_is_nan_code(qb_f32_to_f16(qb_bits_f32(0xFF800001u))));
}
END_TEST

START_TEST(bf16_overflow)
{
    /* 0x7F7F8000 is the midpoint of the largest finite bf16 (0x7F7F, odd) and 2^128 */
    ck_assert_uint_eq(qb_f32_to_bf16(qb_bits_f32(0x7F7F8000u)), 0x7F80);
    ck_assert_uint_eq(qb_f32_to_bf16(qb_bits_f32(0x7F7F7FFFu)), 0x7F7F);
    ck_assert_uint_eq(qb_f32_to_bf16(FLT_MAX), 0x7F80);
    ck_assert_uint_eq(qb_f32_to_bf16(-FLT_MAX), 0xFF80);
    ck_assert_uint_eq(qb_f32_to_bf16(INFINITY), 0x7F80);
    ck_assert_uint_eq(qb_f32_to_bf16(-INFINITY), 0xFF80);
    ck_assert_uint_eq(qb_f32_to_bf16(0.0f), 0x0000);
    ck_assert_uint_eq(qb_f32_to_bf16(-0.0f), 0x8000);
    ck_assert(bf16_is_nan_code(qb_f32_to_bf16(NAN)));
    ck_assert(bf16_is_nan_code(qb_f32_to_bf16(-NAN)));
    /* payload only in the dropped 16 bits: must not turn into inf */
    ck_assert(bf16_is_nan_code(qb_f32_to_bf16(qb_bits_f32(0x7F800001u))));
    ck_assert(bf16_is_nan_code(qb_f32_to_bf16(qb_bits_f32(0xFF80FFFFu))));
    ck_assert(bf16_is_nan_code(qb_f32_to_bf16(qb_bits_f32(0x7FFFFFFFu))));
}
END_TEST

START_TEST(fp8_saturation)
{
    for (int i = 0; i < 3; i++) {
        fp8_def d = fp8_defs(i);
        float mx = (float)d.maxv;
        /* the value one max-binade quantum above max, as if the format went on */
        float step = (float)ldexp(1.0, (int)floor(log2(d.maxv)) - d.mbits);
        const float above[] = {mx, nextafterf(mx, INFINITY), mx + step / 2, mx + step, 2 * mx, 1e30f, FLT_MAX, INFINITY};
        for (unsigned j = 0; j < sizeof above / sizeof above[0]; j++) {
            QBT_EXPECT(qb_fp8_encode(above[j], d.fmt) == d.maxc, "%s(%a) -> 0x%02x", d.name, above[j],
                          qb_fp8_encode(above[j], d.fmt));
            QBT_EXPECT(qb_fp8_encode(-above[j], d.fmt) == (0x80 | d.maxc), "%s(%a) -> 0x%02x", d.name, -above[j],
                          qb_fp8_encode(-above[j], d.fmt));
        }
        /* NaN: e4m3 S.1111.111 with the sign kept, e5m2 any NaN code, fnuz 0x80 */
        uint8_t pn = qb_fp8_encode(NAN, d.fmt), nn = qb_fp8_encode(-NAN, d.fmt);
        switch (d.kind) {
        case K_E4M3: ck_assert_uint_eq(pn, 0x7F); ck_assert_uint_eq(nn, 0xFF); break;
        case K_E5M2: ck_assert(fp8_is_nan_code(pn, &d) && fp8_is_nan_code(nn, &d)); break;
        case K_FNUZ: ck_assert_uint_eq(pn, 0x80); ck_assert_uint_eq(nn, 0x80); break;
        }
        /* signed zero: OCP keeps -0 (0x80), fnuz has none (0x00) */
        ck_assert_uint_eq(qb_fp8_encode(0.0f, d.fmt), 0x00);
        ck_assert_uint_eq(qb_fp8_encode(-0.0f, d.fmt), d.kind == K_FNUZ ? 0x00 : 0x80);
    }
}
END_TEST

/* ---- subnormals and the bottom of the range ---- */

typedef struct {
    const char *name;
    enc_fn enc;
    dec_fn dec;
    const void *ctx;
    double min_sub;     /* smallest subnormal, from the definition */
    uint32_t n_sub;     /* subnormal codes 1..n_sub */
    uint32_t neg_zero;  /* code of -0 (fnuz: 0) */
    uint32_t sign_bit;
} bottom_def;

static void check_bottom(const bottom_def *b)
{
    /* each subnormal k * min_sub is code k, exactly, both ways */
    for (uint32_t k = 1; k <= b->n_sub; k++) {
        double v = k * b->min_sub;
        QBT_EXPECT(b->dec(k, b->ctx) == v, "%s: subnormal code 0x%x", b->name, k);
        QBT_EXPECT(b->enc((float)v, b->ctx) == k, "%s: %a -> 0x%x", b->name, v, b->enc((float)v, b->ctx));
        QBT_EXPECT(b->enc((float)-v, b->ctx) == (b->sign_bit | k), "%s: -%a", b->name, v);
    }
    /* the first normal follows the last subnormal by one quantum */
    ck_assert(b->dec(b->n_sub + 1, b->ctx) == (b->n_sub + 1) * b->min_sub);
    float half = (float)(b->min_sub / 2);
    /* half the smallest subnormal is a tie between 0 (even) and code 1 */
    QBT_EXPECT(b->enc(half, b->ctx) == 0, "%s: half min subnormal", b->name);
    QBT_EXPECT(b->enc(-half, b->ctx) == b->neg_zero, "%s: -half min subnormal", b->name);
    ck_assert(b->enc(nextafterf(half, INFINITY), b->ctx) == 1);
    /* everything below rounds to (signed) zero, down to the smallest f32 */
    const float tiny[] = {nextafterf(half, 0.0f), half / 2, 0x1p-100f, 0x1p-149f};
    for (unsigned j = 0; j < sizeof tiny / sizeof tiny[0]; j++) {
        if (tiny[j] >= half) continue; /* 2^-100 is a normal bf16 */
        QBT_EXPECT(b->enc(tiny[j], b->ctx) == 0, "%s: %a", b->name, tiny[j]);
        QBT_EXPECT(b->enc(-tiny[j], b->ctx) == b->neg_zero, "%s: %a", b->name, -tiny[j]);
    }
}

START_TEST(subnormals)
{
    fp8_def e4 = fp8_defs(0), e5 = fp8_defs(1), fz = fp8_defs(2);
    const bottom_def defs[] = {
        {"f16", enc_f16, dec_f16, NULL, 0x1p-24, 1023, 0x8000, 0x8000},
        {"bf16", enc_bf16, dec_bf16, NULL, 0x1p-133, 127, 0x8000, 0x8000},
        {"e4m3", enc_fp8, dec_fp8, &e4, 0x1p-9, 7, 0x80, 0x80},
        {"e5m2", enc_fp8, dec_fp8, &e5, 0x1p-16, 3, 0x80, 0x80},
        {"e4m3fnuz", enc_fp8, dec_fp8, &fz, 0x1p-10, 7, 0x00, 0x80},
    };
    for (unsigned i = 0; i < sizeof defs / sizeof defs[0]; i++) check_bottom(&defs[i]);
}
END_TEST

/* ---- qb_round_clamp ---- */

START_TEST(round_clamp)
{
    /* ties to even */
    const float tv[] = {0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, 126.5f, -127.5f};
    const int32_t tw[] = {0, 2, 2, 4, 0, -2, -2, 126, -128};
    for (unsigned i = 0; i < sizeof tv / sizeof tv[0]; i++)
        QBT_EXPECT(qb_round_clamp(tv[i], -1000, 1000) == tw[i], "round_clamp(%g) = %d", tv[i],
                      qb_round_clamp(tv[i], -1000, 1000));
    ck_assert_int_eq(qb_round_clamp(nextafterf(0.5f, 1.0f), -8, 7), 1);
    ck_assert_int_eq(qb_round_clamp(nextafterf(2.5f, 0.0f), -8, 7), 2);
    /* clamping, infinities included */
    ck_assert_int_eq(qb_round_clamp(127.5f, -127, 127), 127); /* rounds to 128, clamps */
    ck_assert_int_eq(qb_round_clamp(200.0f, -127, 127), 127);
    ck_assert_int_eq(qb_round_clamp(-200.0f, -127, 127), -127);
    ck_assert_int_eq(qb_round_clamp(-128.5f, -128, 127), -128);
    ck_assert_int_eq(qb_round_clamp(INFINITY, 0, 15), 15);
    ck_assert_int_eq(qb_round_clamp(-INFINITY, 0, 15), 0);
    ck_assert_int_eq(qb_round_clamp(15.49f, 0, 15), 15);
    ck_assert_int_eq(qb_round_clamp(-0.49f, 0, 15), 0);
    ck_assert_int_eq(qb_round_clamp(1e30f, INT32_MIN, INT32_MAX), INT32_MAX);
    ck_assert_int_eq(qb_round_clamp(-1e30f, INT32_MIN, INT32_MAX), INT32_MIN);
    /* 2^31 is INT32_MAX + 1: must clamp, not wrap (volatile: evaluated at run
     * time, where an out-of-range float -> int conversion is not folded) */
    volatile float two31 = 2147483648.0f;
    ck_assert_int_eq(qb_round_clamp(two31, INT32_MIN, INT32_MAX), INT32_MAX);
    ck_assert_int_eq(qb_round_clamp(-two31, INT32_MIN, INT32_MAX), INT32_MIN);
    ck_assert_int_eq(qb_round_clamp(two31, 0, 16777217), 16777217);
    /* NaN of either sign maps to 0 */
    ck_assert_int_eq(qb_round_clamp(NAN, -127, 127), 0);
    ck_assert_int_eq(qb_round_clamp(-NAN, -8, 7), 0);
    /* random values against floor-based RNE in double */
    qbt_rng r = qbt_rng_make(11);
    for (int i = 0; i < 200000; i++) {
        float v = (float)qbt_uniform(&r, -300.0, 300.0);
        if (i % 4 == 0) v = (float)(floor(v) + 0.5); /* force ties */
        double fl = floor(v), d = v - fl;
        if (d > 0.5 || (d == 0.5 && fmod(fl, 2.0) != 0.0)) fl += 1.0;
        double want = fl < -128 ? -128 : fl > 127 ? 127 : fl;
        QBT_EXPECT(qb_round_clamp(v, -128, 127) == (int32_t)want, "round_clamp(%a) = %d, want %g", v,
                      qb_round_clamp(v, -128, 127), want);
    }
}
END_TEST

/* ---- random f32 inputs against the reference rounding ---- */

/* A random f32: a third fully random bits, the rest with an exponent in
 * [elo, ehi] (biased) and random mantissa, a third of those forced onto a
 * tie of a target with tie_bit (the bit below the kept mantissa). */
static float random_f32(qbt_rng *r, int i, int elo, int ehi, int tie_bit)
{
    uint32_t u = (uint32_t)qbt_next(r);
    if (i % 3 == 0) return qb_bits_f32(u);
    uint32_t e = (uint32_t)qbt_int(r, elo, ehi);
    u = (u & 0x807FFFFFu) | (e << 23);
    if (i % 3 == 2 && tie_bit > 0) u = (u & ~((1u << (tie_bit + 1)) - 1)) | (1u << tie_bit);
    return qb_bits_f32(u);
}

#define RANDOM_16 3000000 /* random inputs per 16-bit format */

START_TEST(f16_random)
{
    qbt_rng r = qbt_rng_make(21);
    /* exponents 2^-27 .. 2^17 cover the subnormal range, all binades and overflow */
    for (int i = 0; i < RANDOM_16; i++) {
        float x = random_f32(&r, i, 127 - 27, 127 + 17, 12);
        uint16_t got = qb_f32_to_f16(x);
        if (isnan(x)) {
            QBT_EXPECT(f16_is_nan_code(got), "f16(%a) = 0x%04x", x, got);
            continue;
        }
        double want = ref_to_f16(x);
        QBT_EXPECT(same_value(ref_f16(got), want), "f16(%a) = 0x%04x (%a), want %a [seed %llu]", x, got,
                      ref_f16(got), want, (unsigned long long)qbt_seed);
    }
}
END_TEST

START_TEST(bf16_random)
{
    qbt_rng r = qbt_rng_make(22);
    for (int i = 0; i < RANDOM_16; i++) {
        float x = random_f32(&r, i, 1, 254, 15);
        uint16_t got = qb_f32_to_bf16(x);
        if (isnan(x)) {
            QBT_EXPECT(bf16_is_nan_code(got), "bf16(%a) = 0x%04x", x, got);
            continue;
        }
        double want = ref_to_bf16(x);
        QBT_EXPECT(same_value(ref_bf16(got), want), "bf16(%a) = 0x%04x (%a), want %a [seed %llu]", x, got,
                      ref_bf16(got), want, (unsigned long long)qbt_seed);
    }
}
END_TEST

START_TEST(fp8_random)
{
    qbt_rng r = qbt_rng_make(23);
    for (int f = 0; f < 3; f++) {
        fp8_def d = fp8_defs(f);
        /* exponents from below half the smallest subnormal to beyond max */
        int elo = 127 + 1 - d.bias - d.mbits - 3, ehi = 127 + (int)log2(d.maxv) + 3;
        for (int i = 0; i < 500000; i++) {
            float x = random_f32(&r, i, elo, ehi, 23 - d.mbits - 1);
            uint8_t got = qb_fp8_encode(x, d.fmt), want = ref_to_fp8(x, &d);
            if (isnan(x) && d.kind == K_E5M2)
                QBT_EXPECT(fp8_is_nan_code(got, &d), "e5m2(%a) = 0x%02x", x, got);
            else
                QBT_EXPECT(got == want, "%s(%a) = 0x%02x, want 0x%02x [seed %llu]", d.name, x, got, want,
                              (unsigned long long)qbt_seed);
        }
    }
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("convert");
    TCase *tc = tcase_create("exhaustive");
    tcase_add_test(tc, f16_decode_all);
    tcase_add_test(tc, bf16_decode_all);
    tcase_add_test(tc, fp8_decode_all);
    tcase_add_test(tc, f16_roundtrip_all);
    tcase_add_test(tc, bf16_roundtrip_all);
    tcase_add_test(tc, fp8_roundtrip_all);
    tcase_add_test(tc, f16_midpoints);
    tcase_add_test(tc, bf16_midpoints);
    tcase_add_test(tc, fp8_midpoints);
    suite_add_tcase(s, tc);
    TCase *edges = tcase_create("edges");
    tcase_add_test(edges, f16_overflow);
    tcase_add_test(edges, bf16_overflow);
    tcase_add_test(edges, fp8_saturation);
    tcase_add_test(edges, subnormals);
    tcase_add_test(edges, round_clamp);
    suite_add_tcase(s, edges);
    TCase *rnd = tcase_create("random");
    tcase_add_test(rnd, f16_random);
    tcase_add_test(rnd, bf16_random);
    tcase_add_test(rnd, fp8_random);
    suite_add_tcase(s, rnd);
    return s;
}
