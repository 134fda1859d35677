/* test_w4a8.c - W4A8 (QServe QoQ): the CPU oracle against a naive reference
 * written here from the format definition, its content checks, the
 * progressive quantizer and the dequantizer.
 *
 * Reference: w8 = (code - z) * s2 (g128) or code - z (per-channel), the dot
 * product exact in int64, scales applied in double.
 */
#include "qb_test.h"

#define EXPECT_INT(op, a, b) QBT_EXPECT(cmp_##op((long long)(a), (long long)(b)), "%s (%lld) " #op " %s (%lld)", #a, (long long)(a), #b, (long long)(b))
static bool cmp_le(long long a, long long b) { return a <= b; }
static bool cmp_ge(long long a, long long b) { return a >= b; }
static bool cmp_eq(long long a, long long b) { return a == b; }

/* ---- a canonical W4A8 weight owned by the test ---- */
typedef struct {
    int g128;
    int64_t n, k, G;
    uint8_t *codes;  /* u4 [n][k/2] */
    uint16_t *s1;    /* f16 [n] */
    int8_t *gs;      /* [G][n] (g128) */
    uint8_t *zeros;  /* [G][n] */
    qblas_weight_t w;
} tw;

static void tw_alloc(tw *t, int g128, int64_t n, int64_t k)
{
    memset(t, 0, sizeof *t);
    t->g128 = g128, t->n = n, t->k = k, t->G = g128 ? k / 128 : 1;
    t->codes = qbt_alloc((size_t)(n * k / 2));
    t->s1 = qbt_alloc((size_t)n * 2);
    t->zeros = qbt_alloc((size_t)(t->G * n));
    t->gs = g128 ? qbt_alloc((size_t)(t->G * n)) : NULL;
    t->w = (qblas_weight_t){.format = QBLAS_WFORMAT_W4A8,
                            .layout = QBLAS_LAYOUT_CANONICAL,
                            .dtype = QBLAS_DTYPE_U4,
                            .n = n,
                            .k = k,
                            .data = t->codes,
                            .scale_mode = g128 ? QBLAS_SCALE_PER_GROUP : QBLAS_SCALE_PER_ROW,
                            .scale_dtype = QBLAS_DTYPE_F16,
                            .scales = t->s1,
                            .zeros = t->zeros,
                            .group_scales = t->gs,
                            .group_size = g128 ? 128 : 0};
}

static void tw_free(tw *t)
{
    qbt_free(t->codes);
    qbt_free(t->s1);
    qbt_free(t->zeros);
    qbt_free(t->gs);
}

/* Random codes (all of 0..15), channel scales, and (s2, z) pairs for which
 * every code gives a w8 inside int8: -z*s2 >= -128 and (15 - z)*s2 <= 127. */
static void tw_random(tw *t, qbt_rng *r)
{
    qbt_fill_bytes(r, t->codes, (size_t)(t->n * t->k / 2));
    for (int64_t n = 0; n < t->n; n++) t->s1[n] = qb_f32_to_f16((float)qbt_uniform(r, 0.002, 0.02));
    for (int64_t i = 0; i < t->G * t->n; i++) {
        if (!t->g128) {
            t->zeros[i] = (uint8_t)qbt_int(r, 0, 15);
            continue;
        }
        int s2 = (int)qbt_int(r, 1, 16);
        int zmin = 15 - 127 / s2 > 0 ? 15 - 127 / s2 : 0, zmax = 128 / s2 < 15 ? 128 / s2 : 15;
        t->gs[i] = (int8_t)s2;
        t->zeros[i] = (uint8_t)qbt_int(r, zmin, zmax);
    }
}

static int tw_code(const tw *t, int64_t n, int64_t i)
{
    uint8_t b = t->codes[n * (t->k / 2) + i / 2];
    return (i & 1) ? b >> 4 : b & 15;
}

static void tw_set_code(tw *t, int64_t n, int64_t i, int v)
{
    uint8_t *b = &t->codes[n * (t->k / 2) + i / 2];
    *b = (i & 1) ? (uint8_t)((*b & 0x0F) | v << 4) : (uint8_t)((*b & 0xF0) | v);
}

/* The format's weight integer, from its definition. */
static int tw_w8(const tw *t, int64_t n, int64_t i)
{
    if (!t->g128) return tw_code(t, n, i) - t->zeros[n];
    int64_t gi = (i / 128) * t->n + n;
    return tw_code(t, n, i) * t->gs[gi] - t->zeros[gi] * t->gs[gi];
}

static double tw_s1(const tw *t, int64_t n) { return qb_f16_to_f32(t->s1[n]); }

/* ---- GEMM plumbing ---- */
static qblas_handle_t cpu_threads(int nt)
{
    qblas_handle_t h = qbt_cpu();
    QBT_OK(qblas_set_num_threads(h, nt));
    return h;
}

/* Error bound of the fp32 epilogue v = fl(fl(fl(acc) * sx) * s1) [then fl(v + bias)], stored in ydt:
 *  - three roundings (acc to float, two products), each <= u relative: ((1+u)^3 - 1)|P|;
 *  - the bias add rounds once more: u (|P| (1+u)^3 + |b|);
 *  - the reference is evaluated in double: 2^-50 (|P| + |b|) covers its roundings;
 *  - the store to f16/bf16 adds half an ulp of the stored value, which is at
 *    most |ref| + the fp32 error in magnitude. */
static double tol_epilogue(double absP, double absb, int has_bias, qblas_dtype_t ydt, double ref)
{
    double rel = pow(1.0 + QBT_U32, 3) - 1.0;
    double e = rel * absP + 0x1p-50 * (absP + absb);
    if (has_bias) e += QBT_U32 * (absP * (1.0 + rel) + absb);
    if (ydt != QBLAS_DTYPE_F32) e += qbt_half_ulp(ydt, fabs(ref) + e);
    return e;
}

/* ---- oracle vs reference: shapes x activation scale modes x output dtypes ---- */
static const qblas_dtype_t ydts[3] = {QBLAS_DTYPE_F32, QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16};

static bool padding_poisoned(const uint8_t *y, int64_t m, int64_t n, int64_t ldy, size_t es)
{
    for (int64_t r = 0; r < m; r++)
        for (size_t b = (size_t)n * es; b < (size_t)ldy * es; b++)
            if (y[(size_t)r * ldy * es + b] != 0xFF) return false;
    return true;
}

static void gemm_case(qblas_handle_t h1, int g128, int64_t m, int64_t n, int64_t k,
                      qblas_scale_mode_t xmode, qblas_dtype_t ydt, int has_bias, uint64_t stream)
{
    qbt_rng r = qbt_rng_make(stream);
    tw t;
    tw_alloc(&t, g128, n, k);
    tw_random(&t, &r);
    int64_t ldx = k + 5, ldy = n + 3;
    size_t es = ydt == QBLAS_DTYPE_F32 ? 4 : 2, ybytes = (size_t)(m * ldy) * es;
    int8_t *xq = qbt_alloc((size_t)(m * ldx));
    int64_t nsx = xmode == QBLAS_SCALE_PER_ROW ? m : 1;
    float *sx = qbt_alloc((size_t)nsx * 4);
    for (int64_t i = 0; i < nsx; i++) sx[i] = (float)qbt_uniform(&r, 0.005, 0.05);
    void *bias = has_bias ? qbt_alloc((size_t)n * es) : NULL;
    if (bias) qbt_fill(&r, ydt, bias, n, -2.0, 2.0);
    qblas_act_t x = {QBLAS_DTYPE_I8, xq, ldx, xmode, sx, NULL};

    void *y1 = qbt_alloc(ybytes);
    char kernel[QBLAS_KERNEL_NAME_MAX];
    qbt_poison(y1, ybytes);
    QBT_OK(qbt_gemm(h1, m, &x, &t.w, bias, ydt, y1, ldy, kernel));
    ck_assert_str_eq(kernel, g128 ? "cpu_ref_w4a8_g128" : "cpu_ref_w4a8_perchannel");

    /* naive reference */
    int *w8 = malloc((size_t)(n * k) * sizeof(int));
    for (int64_t nn = 0; nn < n; nn++)
        for (int64_t i = 0; i < k; i++) w8[nn * k + i] = tw_w8(&t, nn, i);
    for (int64_t mm = 0; mm < m; mm++)
        for (int64_t nn = 0; nn < n; nn++) {
            int64_t acc = 0;
            for (int64_t i = 0; i < k; i++) acc += (int64_t)xq[mm * ldx + i] * w8[nn * k + i];
            double P = (double)acc * sx[xmode == QBLAS_SCALE_PER_ROW ? mm : 0] * tw_s1(&t, nn);
            double b = bias ? qbt_get(ydt, bias, nn) : 0.0, ref = P + b;
            double got = qbt_get(ydt, y1, mm * ldy + nn);
            double tol = tol_epilogue(fabs(P), fabs(b), has_bias, ydt, ref);
            QBT_EXPECT(qbt_close(got, ref, tol),
                          "%s m=%lld n=%lld k=%lld y[%lld][%lld] = %.9g, ref %.9g, tol %.3g [seed %llu]", kernel,
                          (long long)m, (long long)n, (long long)k, (long long)mm, (long long)nn, got, ref, tol,
                          (unsigned long long)qbt_seed);
        }
    free(w8);
    QBT_EXPECT(padding_poisoned(y1, m, n, ldy, es), "ldy padding written");

    /* more threads and a prepacked weight give the same bits */
    qbt_gemm_invariants(h1, m, &x, &t.w, bias, ydt, y1, ldy, ybytes);

    qbt_free(y1);
    qbt_free(bias);
    qbt_free(sx);
    qbt_free(xq);
    tw_free(&t);
}

static void gemm_sweep(int g128, const int64_t *ks, int nk)
{
    static const int64_t ms[] = {1, 3, 17, 130}, ns[] = {1, 7, 33};
    static const qblas_scale_mode_t modes[] = {QBLAS_SCALE_PER_ROW, QBLAS_SCALE_PER_TENSOR};
    qblas_handle_t h1 = cpu_threads(1);
    int c = 0;
    for (int im = 0; im < 4; im++)
        for (int in = 0; in < 3; in++)
            for (int ik = 0; ik < nk; ik++)
                for (int md = 0; md < 2; md++, c++)
                    gemm_case(h1, g128, ms[im], ns[in], ks[ik], modes[md], ydts[c % 3], (c / 3) % 2,
                              (uint64_t)(100000 * g128 + c));
    qblas_destroy(h1);
}

START_TEST(gemm_g128)
{
    static const int64_t ks[] = {128, 256, 384};
    gemm_sweep(1, ks, 3);
}
END_TEST

START_TEST(gemm_perchannel)
{
    /* even, not multiples of 128 (and one that is) */
    static const int64_t ks[] = {2, 6, 130, 254, 256};
    gemm_sweep(0, ks, 5);
}
END_TEST

/* ---- content checks: INVALID_VALUE and Y untouched ---- */
static void expect_invalid(qblas_handle_t h, const tw *t)
{
    /* the host dequantizer runs the same checks */
    float *d = qbt_alloc((size_t)(t->n * t->k) * 4);
    void *dsnap = qbt_snapshot(d, qbt_size(d));
    QBT_STATUS(qblas_dequantize_weight(&t->w, QBLAS_DTYPE_F32, d, t->k), QBLAS_STATUS_INVALID_VALUE);
    ck_assert_msg(qbt_unchanged(d, dsnap, qbt_size(d)), "a failing dequantize wrote");
    free(dsnap);
    qbt_free(d);

    int64_t m = 3, k = t->k, n = t->n;
    qbt_rng r = qbt_rng_make(77);
    int8_t *xq = qbt_alloc((size_t)(m * k));
    float sx = 0.01f;
    qblas_act_t x = {QBLAS_DTYPE_I8, xq, k, QBLAS_SCALE_PER_TENSOR, &sx, NULL};
    size_t ybytes = (size_t)(m * n) * 4, wsb = (size_t)1 << 20;
    float *y = qbt_alloc(ybytes);
    void *ws = qbt_alloc(wsb);
    qbt_fill(&r, QBLAS_DTYPE_F32, y, m * n, -1.0, 1.0);
    void *snap = qbt_snapshot(y, ybytes);
    qblas_kernel_info_t info;
    QBT_STATUS(qblas_gemm_query(h, m, n, k, &x, &t->w, QBLAS_DTYPE_F32, &info), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_gemm(h, m, n, k, &x, &t->w, NULL, QBLAS_DTYPE_F32, y, n, ws, wsb, NULL),
               QBLAS_STATUS_INVALID_VALUE);
    QBT_EXPECT(qbt_unchanged(y, snap, ybytes), "a failing GEMM wrote Y");
    ck_assert(qblas_last_error(h)[0] != '\0');
    free(snap);
    qbt_free(ws);
    qbt_free(y);
    qbt_free(xq);
}

static void expect_ok(qblas_handle_t h, const tw *t)
{
    int64_t m = 2;
    int8_t *xq = qbt_alloc((size_t)(m * t->k));
    float sx = 0.01f;
    qblas_act_t x = {QBLAS_DTYPE_I8, xq, t->k, QBLAS_SCALE_PER_TENSOR, &sx, NULL};
    float *y = qbt_alloc((size_t)(m * t->n) * 4);
    QBT_OK(qbt_gemm(h, m, &x, &t->w, NULL, QBLAS_DTYPE_F32, y, t->n, NULL));
    qbt_free(y);
    qbt_free(xq);
}

START_TEST(content_checks)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(3);
    tw t;
    tw_alloc(&t, 1, 7, 256);
    tw_random(&t, &r);
    expect_ok(h, &t);
    int64_t gi = 1 * t.n + 4; /* group 1, row 4 */
    int8_t s2 = t.gs[gi];
    uint8_t z = t.zeros[gi];

    t.gs[gi] = 0; /* group scale must be >= 1 */
    expect_invalid(h, &t);
    t.gs[gi] = -3;
    expect_invalid(h, &t);
    t.gs[gi] = s2;
    t.zeros[gi] = 16; /* zeros are 0..15 */
    expect_invalid(h, &t);
    t.zeros[gi] = z;
    expect_ok(h, &t);

    /* w8 range is checked on the codes present: s2 16, z 0 is fine while codes <= 7 (w8 <= 112) */
    t.gs[gi] = 16, t.zeros[gi] = 0;
    for (int64_t i = 128; i < 256; i++) tw_set_code(&t, 4, i, tw_code(&t, 4, i) & 7);
    expect_ok(h, &t);
    tw_set_code(&t, 4, 200, 8); /* w8 = 128 */
    expect_invalid(h, &t);
    /* and at the low end: s2 16, z 8 reaches -128 with code 0; z 9 gives -144 */
    tw_set_code(&t, 4, 200, 0);
    t.zeros[gi] = 8;
    expect_ok(h, &t);
    t.zeros[gi] = 9;
    expect_invalid(h, &t);
    tw_free(&t);

    tw_alloc(&t, 0, 5, 10);
    tw_random(&t, &r);
    expect_ok(h, &t);
    t.zeros[3] = 16;
    expect_invalid(h, &t);
    tw_free(&t);
    qblas_destroy(h);
}
END_TEST

/* ---- quantizer ---- */

/* Quantize src [n][k] f32 into t (buffers poisoned first). */
static void quantize(tw *t, const float *src)
{
    qbt_poison(t->codes, (size_t)(t->n * t->k / 2));
    qbt_poison(t->s1, (size_t)t->n * 2);
    qbt_poison(t->zeros, (size_t)(t->G * t->n));
    if (t->gs) qbt_poison(t->gs, (size_t)(t->G * t->n));
    QBT_OK(qblas_quantize_weight(t->n, t->k, QBLAS_DTYPE_F32, src, t->k, &t->w));
}

/* Stored parameters in their documented ranges. */
static void check_params(const tw *t)
{
    for (int64_t n = 0; n < t->n; n++) {
        double s1 = tw_s1(t, n);
        QBT_EXPECT(isfinite(s1) && s1 > 0, "s1[%lld] = %g", (long long)n, s1);
    }
    for (int64_t i = 0; i < t->G * t->n; i++) {
        EXPECT_INT(le, t->zeros[i], 15);
        if (t->gs) QBT_EXPECT(t->gs[i] >= 1 && t->gs[i] <= 16, "s2 = %d", t->gs[i]);
    }
}

/* A priori bound of |w - s1 * w8| for an element of row n (see the derivations below). */
static double recon_bound(const tw *t, int64_t n, int64_t i)
{
    double s1 = tw_s1(t, n);
    if (t->g128) {
        /* stage 1: w8 = rint(fl(w / s1)); s1 = f16(fl(amax/119)) >= amax/119 (1-u)(1-2^-11) (s1 normal),
         *   so fl(|w/s1|) <= 119 (1+u) / ((1-u)(1-2^-11)) < 119.5: no clamp,
         *   and |w/s1 - w8| <= 1/2 + u * 120 (the division's rounding);
         * stage 2: |w8 - (code - z) s2| <= s2 / 2 (proved in w4a8.c, checked exhaustively below). */
        return s1 * (0.5 + 120.0 * QBT_U32) + s1 * t->gs[(i / 128) * t->n + n] / 2.0;
    }
    /* per-channel: s1 = f16(fl(fl(hi - lo) / 15)) >= (hi - lo)/15 (1-u)^2 (1 - 2^-11), so
     * (hi - lo)/s1 <= 15 + D0 with D0 = 15 (1/((1-u)^2 (1-2^-11)) - 1). An unclamped code errs
     * by <= 1/2 plus the rounding of fl(w/s1) (<= u * 15.01); a code clamped at 15 by <=
     * (hi - lo)/s1 - 14.5 plus the roundings of fl(w/s1) and fl(-lo/s1): 1/2 + D0 + 32u. */
    double D0 = 15.0 * (1.0 / ((1.0 - QBT_U32) * (1.0 - QBT_U32) * (1.0 - 0x1p-11)) - 1.0);
    return s1 * (0.5 + D0 + 32.0 * QBT_U32);
}

/* Random weights: rows of magnitude 0.5..50 (element 0 pins the row's amax,
 * which keeps s1 a normal f16), and in each row one group (or quarter) of one
 * sign, which the widened-to-0 range must still cover. */
static float *random_src(qbt_rng *r, int64_t n, int64_t k)
{
    float *src = qbt_alloc((size_t)(n * k) * 4);
    for (int64_t row = 0; row < n; row++) {
        double mag = qbt_uniform(r, 0.5, 50.0);
        float *w = src + row * k;
        qbt_fill(r, QBLAS_DTYPE_F32, w, k, -mag, mag);
        w[0] = (float)(qbt_int(r, 0, 1) ? mag : -mag);
        int64_t seg = k >= 256 ? 128 : (k + 3) / 4, s0 = k - seg;
        for (int64_t i = s0; i < k; i++) w[i] = (float)qbt_uniform(r, 0.5 * mag, mag);
    }
    return src;
}

static void quantizer_case(int g128, int64_t n, int64_t k, uint64_t stream)
{
    qbt_rng r = qbt_rng_make(stream);
    float *src = random_src(&r, n, k);
    tw t;
    tw_alloc(&t, g128, n, k);
    quantize(&t, src);
    check_params(&t);
    for (int64_t nn = 0; nn < n; nn++)
        for (int64_t i = 0; i < k; i++) {
            int w8 = tw_w8(&t, nn, i);
            QBT_EXPECT(w8 >= -127 && w8 <= 127, "w8 = %d", w8);
            double w = src[nn * k + i], deq = tw_s1(&t, nn) * w8, eb = recon_bound(&t, nn, i);
            QBT_EXPECT(qbt_close(deq, w, eb), "row %lld col %lld: w %.9g, dequantized %.9g, bound %.3g [seed %llu]",
                          (long long)nn, (long long)i, w, deq, eb, (unsigned long long)qbt_seed);
        }

    /* dequantize: s1 * w8 is exact in f32 (11-bit s1 times |w8| < 2^8), f16/bf16 round it once */
    float *d32 = qbt_alloc((size_t)(n * (k + 1)) * 4);
    uint16_t *d16 = qbt_alloc((size_t)(n * k) * 2);
    qbt_poison(d32, (size_t)(n * (k + 1)) * 4);
    qbt_poison(d16, (size_t)(n * k) * 2);
    QBT_OK(qblas_dequantize_weight(&t.w, QBLAS_DTYPE_F32, d32, k + 1));
    QBT_OK(qblas_dequantize_weight(&t.w, QBLAS_DTYPE_BF16, d16, k));
    for (int64_t nn = 0; nn < n; nn++) {
        for (int64_t i = 0; i < k; i++) {
            double exact = tw_s1(&t, nn) * tw_w8(&t, nn, i);
            QBT_EXPECT(qbt_close(d32[nn * (k + 1) + i], exact, 0.0), "dequant f32 %g vs %g", d32[nn * (k + 1) + i],
                          exact);
            EXPECT_INT(eq, d16[nn * k + i], qb_f32_to_bf16((float)exact));
        }
        QBT_EXPECT(qb_f32_bits(d32[nn * (k + 1) + k]) == 0xFFFFFFFFu, "dequant wrote the ld padding");
    }
    qbt_free(d32);
    qbt_free(d16);
    tw_free(&t);
    qbt_free(src);
}

START_TEST(quantizer)
{
    static const int64_t ns[] = {1, 7, 33};
    static const int64_t kg[] = {128, 384}, kp[] = {2, 6, 130};
    for (int in = 0; in < 3; in++) {
        for (int ik = 0; ik < 2; ik++) quantizer_case(1, ns[in], kg[ik], 200 + in * 10 + ik);
        for (int ik = 0; ik < 3; ik++) quantizer_case(0, ns[in], kp[ik], 300 + in * 10 + ik);
    }
}
END_TEST

/* Stage 2 over every group range: rows pin s1 = 1 (amax 119, so w8 = w), and
 * row lo, group hi holds integers sweeping [lo, hi] for all -119 <= lo <= hi <= 119. */
START_TEST(stage2_exhaustive)
{
    const int64_t n = 239, G = 240, k = 128 * G;
    float *src = qbt_alloc((size_t)(n * k) * 4);
    for (int64_t row = 0; row < n; row++) {
        int lo = (int)row - 119;
        float *w = src + row * k;
        for (int i = 0; i < 128; i++) w[i] = 119.0f; /* group 0 pins amax */
        for (int64_t g = 1; g < G; g++) {
            int hi = lo + (int)(g - 1) > 119 ? lo : lo + (int)(g - 1);
            for (int i = 0; i < 128; i++) w[g * 128 + i] = (float)(lo + (int)lrint((double)(hi - lo) * i / 127.0));
        }
    }
    tw t;
    tw_alloc(&t, 1, n, k);
    quantize(&t, src);
    check_params(&t);
    for (int64_t row = 0; row < n; row++) {
        EXPECT_INT(eq, t.s1[row], 0x3C00); /* f16 1.0 */
        for (int64_t i = 0; i < k; i++) {
            int w8 = tw_w8(&t, row, i), s2 = t.gs[(i / 128) * n + row];
            double err = fabs(src[row * k + i] - w8);
            QBT_EXPECT(w8 >= -127 && w8 <= 127, "w8 = %d", w8);
            QBT_EXPECT(err <= s2 / 2.0, "row %lld col %lld: w %g, w8 %d, s2 %d", (long long)row, (long long)i,
                          src[row * k + i], w8, s2);
        }
    }
    tw_free(&t);
    qbt_free(src);
}
END_TEST

/* Edge rows: all zero and huge (s1 would be 0 or inf: it becomes 1),
 * with NaN and inf (NaN quantizes to 0, inf to the end of the range). */
START_TEST(quantizer_edges)
{
    for (int g128 = 0; g128 < 2; g128++) {
        const int64_t n = 3, k = 128;
        float *src = qbt_alloc((size_t)(n * k) * 4);
        qbt_rng r = qbt_rng_make(9);
        qbt_fill(&r, QBLAS_DTYPE_F32, src, n * k, -1.0, 1.0);
        for (int64_t i = 0; i < k; i++) src[i] = 0.0f;
        src[k] = 1e9f;
        src[2 * k + 5] = NAN;
        src[2 * k + 6] = INFINITY;
        tw t;
        tw_alloc(&t, g128, n, k);
        quantize(&t, src);
        check_params(&t);
        EXPECT_INT(eq, t.s1[0], 0x3C00);
        for (int64_t i = 0; i < k; i++) EXPECT_INT(eq, tw_w8(&t, 0, i), 0);
        EXPECT_INT(eq, t.s1[1], 0x3C00);
        EXPECT_INT(eq, tw_w8(&t, 2, 5), 0);
        /* inf is the row's largest entry: stage 1 clamps it to 119 (g128), per-channel to code 15 */
        for (int64_t i = 0; i < k; i++) EXPECT_INT(ge, tw_w8(&t, 2, 6), tw_w8(&t, 2, i));
        if (!g128) EXPECT_INT(eq, tw_code(&t, 2, 6), 15);
        tw_free(&t);
        qbt_free(src);
    }
}
END_TEST

/* The GEMM on quantized weights and per-row quantized activations approximates
 * the float GEMM: |Y - sum x w| <= sum |x| eb(w) + sum (sx/2) |w^| + the fp32 epilogue,
 * with eb the reconstruction bound above and |x - xq sx| <= sx / 2. */
START_TEST(quantized_gemm)
{
    for (int g128 = 0; g128 < 2; g128++) {
        const int64_t m = 5, n = 33, k = g128 ? 256 : 130;
        qbt_rng r = qbt_rng_make(500 + g128);
        float *src = random_src(&r, n, k);
        float *xf = qbt_alloc((size_t)(m * k) * 4);
        qbt_fill(&r, QBLAS_DTYPE_F32, xf, m * k, -1.0, 1.0);
        int8_t *xq = qbt_alloc((size_t)(m * k));
        float *sx = qbt_alloc((size_t)m * 4);
        for (int64_t mm = 0; mm < m; mm++) {
            double amax = 0;
            for (int64_t i = 0; i < k; i++) amax = fmax(amax, fabs(xf[mm * k + i]));
            sx[mm] = (float)(amax / 127.0);
            for (int64_t i = 0; i < k; i++) {
                double q = rint(xf[mm * k + i] / sx[mm]);
                xq[mm * k + i] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
            }
        }
        tw t;
        tw_alloc(&t, g128, n, k);
        quantize(&t, src);
        qblas_handle_t h = qbt_cpu();
        qblas_act_t x = {QBLAS_DTYPE_I8, xq, k, QBLAS_SCALE_PER_ROW, sx, NULL};
        float *y = qbt_alloc((size_t)(m * n) * 4);
        qbt_poison(y, (size_t)(m * n) * 4);
        QBT_OK(qbt_gemm(h, m, &x, &t.w, NULL, QBLAS_DTYPE_F32, y, n, NULL));
        for (int64_t mm = 0; mm < m; mm++)
            for (int64_t nn = 0; nn < n; nn++) {
                double ref = 0, bound = 0, absP = 0, absref = 0;
                for (int64_t i = 0; i < k; i++) {
                    double xv = xf[mm * k + i], wh = tw_s1(&t, nn) * tw_w8(&t, nn, i);
                    ref += xv * src[nn * k + i];
                    absref += fabs(xv * src[nn * k + i]);
                    bound += fabs(xv) * recon_bound(&t, nn, i) + sx[mm] / 2.0 * fabs(wh);
                    absP += fabs(xq[mm * k + i] * sx[mm] * wh);
                }
                /* plus the double reference's own summation error, gamma_k in double */
                bound += tol_epilogue(absP, 0, 0, QBLAS_DTYPE_F32, 0) + (double)(k + 1) * 0x1p-53 * 2 * absref;
                QBT_EXPECT(qbt_close(y[mm * n + nn], ref, bound), "y %g vs float %g, bound %g [seed %llu]",
                              y[mm * n + nn], ref, bound, (unsigned long long)qbt_seed);
            }
        qblas_destroy(h);
        qbt_free(y);
        tw_free(&t);
        qbt_free(sx);
        qbt_free(xq);
        qbt_free(xf);
        qbt_free(src);
    }
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("w4a8");
    /* one case per test, so CK_RUN_CASE can pick one */
    const struct { const char *name; const TTest *fn; } tests[] = {
        {"gemm_g128", gemm_g128},         {"gemm_perchannel", gemm_perchannel},
        {"content_checks", content_checks}, {"quantizer", quantizer},
        {"stage2_exhaustive", stage2_exhaustive}, {"quantizer_edges", quantizer_edges},
        {"quantized_gemm", quantized_gemm},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        TCase *tc = tcase_create(tests[i].name);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, tests[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}
