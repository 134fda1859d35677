/* test_w4a16.c - the W4A16 oracle (GEMM, quantizer, dequantizer) against a
 * float64 reference written here from the format definition:
 *   code(n,k) = nibble k of row n (row = ceil(k/2) bytes, even k low nibble)
 *   g(k) = g_idx ? g_idx[k] : (group_size ? k / group_size : 0)
 *   GEMM weight = round_to(x dtype, fp32 (code - zero) * scale)
 *   Y = sum_k x * w (+ bias), stored as y dtype.
 */
#include "qb_test.h"

static const qblas_dtype_t FLOATS[3] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_F32};
static const int GROUPS[4] = {32, 64, 128, 0};

static size_t esize(qblas_dtype_t t) { return t == QBLAS_DTYPE_F32 ? 4 : 2; }

/* f32 -> dtype t -> f32 with the public conversions (tested exhaustively elsewhere) */
static float round_to(qblas_dtype_t t, float f)
{
    if (t == QBLAS_DTYPE_F16) return qb_f16_to_f32(qb_f32_to_f16(f));
    if (t == QBLAS_DTYPE_BF16) return qb_bf16_to_f32(qb_f32_to_bf16(f));
    return f;
}

/* ---- a W4A16 weight with its own buffers ---- */
typedef struct {
    qblas_weight_t w;
    int64_t G;
    uint8_t *data, *zeros;
    void *scales;
    int32_t *g_idx;
} w4buf;

/* Random permutation of the trivial k / group_size: every group keeps its size. */
static void random_g_idx(qbt_rng *r, int32_t *g_idx, int64_t k, int gs)
{
    for (int64_t i = 0; i < k; i++) g_idx[i] = (int32_t)(i / gs);
    for (int64_t i = k - 1; i > 0; i--) {
        int64_t j = qbt_int(r, 0, i);
        int32_t t = g_idx[i];
        g_idx[i] = g_idx[j], g_idx[j] = t;
    }
}

/* Buffers for an n x k weight; random contents when r is given. */
static void w4_make(w4buf *b, qbt_rng *r, int64_t n, int64_t k, int gs, qblas_dtype_t sdt, bool zp, bool act)
{
    memset(b, 0, sizeof *b);
    b->G = gs ? k / gs : 1;
    b->data = qbt_alloc((size_t)(n * ((k + 1) / 2)));
    b->scales = qbt_alloc((size_t)(b->G * n) * esize(sdt));
    if (zp) b->zeros = qbt_alloc((size_t)(b->G * n));
    if (act) b->g_idx = qbt_alloc((size_t)k * 4);
    if (r) {
        qbt_fill_bytes(r, b->data, qbt_size(b->data));
        qbt_fill(r, sdt, b->scales, b->G * n, -0.05, 0.05);
        for (int64_t i = 0; zp && i < b->G * n; i++) b->zeros[i] = (uint8_t)qbt_int(r, 0, 15);
        if (act) random_g_idx(r, b->g_idx, k, gs);
    }
    b->w = (qblas_weight_t){.format = QBLAS_WFORMAT_W4A16, .layout = QBLAS_LAYOUT_CANONICAL,
                            .dtype = QBLAS_DTYPE_U4, .n = n, .k = k, .data = b->data,
                            .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = sdt, .scales = b->scales,
                            .zeros = b->zeros, .g_idx = b->g_idx, .group_size = gs};
}

static void w4_free(w4buf *b)
{
    qbt_free(b->data);
    qbt_free(b->scales);
    qbt_free(b->zeros);
    qbt_free(b->g_idx);
}

static int t_code(const w4buf *b, int64_t n, int64_t k)
{
    uint8_t byte = b->data[n * ((b->w.k + 1) / 2) + k / 2];
    return k % 2 ? byte >> 4 : byte & 15;
}

static int64_t t_group(const w4buf *b, int64_t k)
{
    if (b->g_idx) return b->g_idx[k];
    return b->w.group_size ? k / b->w.group_size : 0;
}

static int t_zero(const w4buf *b, int64_t g, int64_t n) { return b->zeros ? b->zeros[g * b->w.n + n] : 8; }

/* fp32 (code - zero) * scale: the double product is exact (4-bit integer times
 * a <= 24-bit scale), so the float cast is the one fp32 rounding. */
static float t_dequant(const w4buf *b, int64_t n, int64_t k)
{
    int64_t g = t_group(b, k);
    double s = qbt_get(b->w.scale_dtype, b->scales, g * b->w.n + n);
    return (float)((double)(t_code(b, n, k) - t_zero(b, g, n)) * s);
}

/* ---- GEMM ---- */
typedef struct {
    qblas_dtype_t xt, sdt, yt;
    int gs;
    bool zp, act, bias;
    int64_t m, n, k, ldx, ldy;
} gcase;

static void gemm_run(qblas_handle_t h, const gcase *c, const qblas_act_t *x, const qblas_weight_t *w,
                     const void *bias, void *y, char *kernel)
{
    qblas_kernel_info_t info;
    QBT_OK(qblas_gemm_query(h, c->m, c->n, c->k, x, w, c->yt, &info));
    void *ws = qbt_alloc(info.workspace_bytes ? info.workspace_bytes : 1);
    qbt_poison(y, (size_t)(c->m * c->ldy) * esize(c->yt));
    QBT_OK(qblas_gemm(h, c->m, c->n, c->k, x, w, bias, c->yt, y, c->ldy, ws, info.workspace_bytes, NULL));
    char last[QBLAS_KERNEL_NAME_MAX];
    QBT_OK(qblas_last_kernel(h, last, sizeof last));
    ck_assert_str_eq(last, info.kernel_name);
    if (kernel) snprintf(kernel, QBLAS_KERNEL_NAME_MAX, "%s", last);
    qbt_free(ws);
}

static void expect_name(const gcase *c, const char *got)
{
    char want[QBLAS_KERNEL_NAME_MAX], g[8];
    if (c->gs) snprintf(g, sizeof g, "g%d", c->gs);
    else snprintf(g, sizeof g, "gK");
    snprintf(want, sizeof want, "cpu_ref_w4a16_%s_%s%s%s", c->xt == QBLAS_DTYPE_F16 ? "f16" : "bf16", g,
             c->zp ? "_zp" : "", c->act ? "_actorder" : "");
    ck_assert_str_eq(got, want);
}

/* Y against the float64 reference; padding columns n..ldy-1 untouched. */
static void check_y(const gcase *c, const w4buf *b, const void *x, const void *bias, const void *y)
{
    float *wd = malloc((size_t)(c->n * c->k) * sizeof(float));
    ck_assert(wd != NULL);
    for (int64_t n = 0; n < c->n; n++)
        for (int64_t k = 0; k < c->k; k++) wd[n * c->k + k] = round_to(c->xt, t_dequant(b, n, k));
    for (int64_t m = 0; m < c->m; m++) {
        for (int64_t n = 0; n < c->n; n++) {
            double ref = 0, mag = 0;
            for (int64_t k = 0; k < c->k; k++) {
                double p = qbt_get(c->xt, x, m * c->ldx + k) * (double)wd[n * c->k + k];
                ref += p, mag += fabs(p);
            }
            if (bias) {
                double bv = qbt_get(c->yt, bias, n);
                ref += bv, mag += fabs(bv);
            }
            /* x and w are f16 (11-bit) or bf16 (8-bit) values, so each product is
             * exact in fp32; the k products and the bias are k+1 terms summed in
             * fp32: |err| <= gamma_k * sum|terms| (gamma_{k+1} over-bounds it).
             * Storing the fp32 result in y dtype adds half an ulp at its size. */
            double e32 = qbt_gamma32(c->k + 1) * mag;
            double tol = e32 + qbt_half_ulp(c->yt, fabs(ref) + e32);
            double got = qbt_get(c->yt, y, m * c->ldy + n);
            ck_assert_msg(qbt_close(got, ref, tol),
                          "y[%lld,%lld] = %.9g, want %.9g +- %.3g (m=%lld n=%lld k=%lld gs=%d zp=%d act=%d) [seed %llu]",
                          (long long)m, (long long)n, got, ref, tol, (long long)c->m, (long long)c->n,
                          (long long)c->k, c->gs, c->zp, c->act, (unsigned long long)qbt_seed);
        }
        /* padding bytes still hold the poison */
        const uint8_t *pad = (const uint8_t *)y + (size_t)(m * c->ldy + c->n) * esize(c->yt);
        for (size_t i = 0; i < (size_t)(c->ldy - c->n) * esize(c->yt); i++) ck_assert_uint_eq(pad[i], 0xFF);
    }
    free(wd);
}

static void run_case(qblas_handle_t h, const gcase *c, uint64_t stream)
{
    qbt_rng r = qbt_rng_make(stream);
    w4buf b;
    w4_make(&b, &r, c->n, c->k, c->gs, c->sdt, c->zp, c->act);
    size_t xes = esize(c->xt), yes = esize(c->yt), ybytes = (size_t)(c->m * c->ldy) * yes;
    void *x = qbt_alloc((size_t)(c->m * c->ldx) * xes);
    qbt_poison(x, qbt_size(x)); /* NaN in the ldx padding: reading it would show in Y */
    for (int64_t m = 0; m < c->m; m++) qbt_fill(&r, c->xt, (uint8_t *)x + (size_t)(m * c->ldx) * xes, c->k, -1, 1);
    void *bias = NULL;
    if (c->bias) {
        bias = qbt_alloc((size_t)c->n * yes);
        qbt_fill(&r, c->yt, bias, c->n, -2, 2);
    }
    qblas_act_t xa = {c->xt, x, c->ldx, QBLAS_SCALE_NONE, NULL, NULL};
    void *y1 = qbt_alloc(ybytes);
    char name[QBLAS_KERNEL_NAME_MAX];

    QBT_OK(qblas_set_num_threads(h, 1));
    gemm_run(h, c, &xa, &b.w, bias, y1, name);
    expect_name(c, name);
    check_y(c, &b, x, bias, y1);

    /* each output is computed by one thread in a fixed order; prepacking moves bytes only */
    qbt_gemm_invariants(h, c->m, &xa, &b.w, bias, c->yt, y1, c->ldy, ybytes);

    qbt_free(y1), qbt_free(bias), qbt_free(x);
    w4_free(&b);
}

/* Every (x, scale, y) dtype triple for every (group, zero point, act-order)
 * variant; shapes, bias and padding cycle with the case number. */
START_TEST(gemm_vs_reference)
{
    static const int64_t Ms[4] = {1, 3, 17, 64}, Ns[4] = {1, 7, 33, 64};
    static const int64_t Kodd[5] = {1, 7, 33, 96, 129};
    qblas_handle_t h = qbt_cpu();
    int idx = 0;
    for (int gi = 0; gi < 4; gi++)
        for (int zp = 0; zp < 2; zp++)
            for (int act = 0; act < (GROUPS[gi] ? 2 : 1); act++)
                for (int xi = 0; xi < 2; xi++)
                    for (int si = 0; si < 3; si++)
                        for (int yi = 0; yi < 3; yi++, idx++) {
                            gcase c = {FLOATS[xi], FLOATS[si], FLOATS[yi], GROUPS[gi], zp, act, idx % 2 == 0};
                            c.m = Ms[idx % 4];
                            c.n = Ns[(idx / 4 + idx) % 4];
                            c.k = c.gs ? c.gs * (1 + (idx / 3) % 3) : Kodd[idx % 5];
                            c.ldx = c.k + (idx % 3 == 0 ? 5 : 0);
                            c.ldy = c.n + (idx % 3 == 1 ? 3 : 0);
                            run_case(h, &c, 1000 + idx);
                        }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Larger K with many groups: the blocked dot over long rows. */
START_TEST(gemm_long_k)
{
    qblas_handle_t h = qbt_cpu();
    gcase c1 = {QBLAS_DTYPE_F16, QBLAS_DTYPE_F16, QBLAS_DTYPE_F32, 128, true, true, true, 5, 48, 1024, 1024, 48};
    gcase c2 = {QBLAS_DTYPE_BF16, QBLAS_DTYPE_F32, QBLAS_DTYPE_BF16, 32, false, false, false, 130, 20, 512, 520, 21};
    gcase c3 = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_F16, 0, true, false, true, 9, 17, 1001, 1001, 17};
    run_case(h, &c1, 1);
    run_case(h, &c2, 2);
    run_case(h, &c3, 3);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* The oracle's own content checks: INVALID_VALUE, Y untouched. */
static void expect_invalid(qblas_handle_t h, const qblas_weight_t *w, int64_t m, const void *x)
{
    qblas_act_t xa = {QBLAS_DTYPE_F16, x, w->k, QBLAS_SCALE_NONE, NULL, NULL};
    qblas_kernel_info_t info;
    QBT_STATUS(qblas_gemm_query(h, m, w->n, w->k, &xa, w, QBLAS_DTYPE_F32, &info), QBLAS_STATUS_INVALID_VALUE);
    size_t ybytes = (size_t)(m * w->n) * 4, wsb = 1 << 20;
    void *y = qbt_alloc(ybytes), *ws = qbt_alloc(wsb);
    qbt_poison(y, ybytes);
    void *snap = qbt_snapshot(y, ybytes);
    QBT_STATUS(qblas_gemm(h, m, w->n, w->k, &xa, w, NULL, QBLAS_DTYPE_F32, y, w->n, ws, wsb, NULL),
               QBLAS_STATUS_INVALID_VALUE);
    ck_assert(qbt_unchanged(y, snap, ybytes));
    ck_assert(strlen(qblas_last_error(h)) > 0);
    free(snap), qbt_free(y), qbt_free(ws);
}

START_TEST(gemm_content_checks)
{
    qbt_rng r = qbt_rng_make(77);
    qblas_handle_t h = qbt_cpu();
    const int64_t m = 3, n = 8, k = 128;
    void *x = qbt_alloc((size_t)(m * k) * 2);
    qbt_fill(&r, QBLAS_DTYPE_F16, x, m * k, -1, 1);
    w4buf b;
    w4_make(&b, &r, n, k, 32, QBLAS_DTYPE_F16, true, true);
    int64_t pos = qbt_int(&r, 0, k - 1);
    int32_t keep = b.g_idx[pos];
    b.g_idx[pos] = (int32_t)b.G; /* one past the last group */
    expect_invalid(h, &b.w, m, x);
    b.g_idx[pos] = -1;
    expect_invalid(h, &b.w, m, x);
    b.g_idx[pos] = keep;
    int64_t zpos = qbt_int(&r, 0, b.G * n - 1);
    b.zeros[zpos] = 16;
    expect_invalid(h, &b.w, m, x);
    b.zeros[zpos] = 255;
    expect_invalid(h, &b.w, m, x);
    w4_free(&b);
    qbt_free(x);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* ---- quantizer ---- */
typedef struct {
    qblas_dtype_t sdt, src_dt;
    int gs;
    bool zp, act;
    int64_t n, k, ld;
} qcase;

/* Scale and zero of group (n, g) from the definition, over float values. */
static void t_group_params(const qcase *c, const w4buf *b, const float *w, int64_t n, int64_t g, float *s, int *zero)
{
    float lo = 0.0f, hi = 0.0f;
    for (int64_t k = 0; k < c->k; k++) {
        float v = w[n * c->k + k];
        if (t_group(b, k) != g || !isfinite(v)) continue;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    float raw = c->zp ? (hi - lo) / 15.0f : (2.0f * (-lo > hi ? -lo : hi)) / 15.0f;
    *s = round_to(c->sdt, raw);
    if (!(*s > 0.0f) || isinf(*s)) *s = 1.0f;
    *zero = 8;
    if (c->zp) {
        float z = rintf(-lo / *s);
        *zero = z < 0 ? 0 : z > 15 ? 15 : (int)z;
    }
}

/* code from the definition (NaN reads as 0.0; inf clamps) */
static int t_quant_code(float v, float s, int zero, bool zp)
{
    if (isnan(v)) v = 0.0f;
    float t = zp ? rintf(v / s) + (float)zero : rintf(v / s);
    int lo = zp ? 0 : -8, hi = zp ? 15 : 7;
    int q = t < lo ? lo : t > hi ? hi : (int)t;
    return zp ? q : q + 8;
}

/* Quantize src (n x k f32, contiguous) into b; fills w (the f32 view of src). */
static void quantize_into(const qcase *c, qbt_rng *r, w4buf *b, float *w)
{
    size_t es = esize(c->src_dt);
    void *src = qbt_alloc((size_t)(c->n * c->ld) * es);
    qbt_poison(src, qbt_size(src));
    for (int64_t n = 0; n < c->n; n++) {
        /* a random range per row, not always straddling 0, so asymmetric zeros vary */
        double a = qbt_uniform(r, -3, 0.5), span = qbt_uniform(r, 0.01, 4);
        qbt_fill(r, c->src_dt, (uint8_t *)src + (size_t)(n * c->ld) * es, c->k, a, a + span);
        for (int64_t k = 0; k < c->k; k++) w[n * c->k + k] = (float)qbt_get(c->src_dt, src, n * c->ld + k);
    }
    QBT_OK(qblas_quantize_weight(c->n, c->k, c->src_dt, src, c->ld, &b->w));
    qbt_free(src);
}

/* Scales/zeros/codes exactly as defined; round trip within half a step. */
static void check_quantized(const qcase *c, const w4buf *b, const float *w)
{
    int64_t inrange = 0;
    for (int64_t n = 0; n < c->n; n++)
        for (int64_t g = 0; g < b->G; g++) {
            float s;
            int zero;
            t_group_params(c, b, w, n, g, &s, &zero);
            ck_assert_msg(qbt_get(c->sdt, b->scales, g * c->n + n) == s, "scale (%lld,%lld) [seed %llu]", (long long)n,
                          (long long)g, (unsigned long long)qbt_seed);
            if (c->zp) ck_assert_int_eq(b->zeros[g * c->n + n], zero);
            for (int64_t k = 0; k < c->k; k++) {
                if (t_group(b, k) != g) continue;
                float v = w[n * c->k + k];
                int q = t_code(b, n, k);
                ck_assert_int_eq(q, t_quant_code(v, s, zero, c->zp));
                /* Half a step for values inside the code range: q = rint(t), t =
                 * fl(v/s) = v/s (1+d), |d| <= 2^-24, so |(q - z) s - v| <= s/2 + |v| 2^-24;
                 * dequantizing in fp32 adds <= 2^-24 |(q - z) s| <= 2^-24 * 16 s.
                 * Outside it the code saturates at 0 or 15. */
                double t = (double)v / s + (c->zp ? zero : 0), lo = c->zp ? -0.5 : -8.5, hi = c->zp ? 15.5 : 7.5;
                double deq = t_dequant(b, n, k);
                if (t >= lo && t <= hi) {
                    double tol = 0.5 * s + 0x1p-24 * (fabs(v) + 16.0 * s) * 1.0001;
                    ck_assert_msg(qbt_close(deq, v, tol), "w[%lld,%lld] = %.9g -> %.9g (s %.9g) [seed %llu]",
                                  (long long)n, (long long)k, v, deq, s, (unsigned long long)qbt_seed);
                    inrange++;
                } else {
                    ck_assert_int_eq(q, t < lo ? 0 : 15);
                }
            }
        }
    /* not vacuous: only values at a group's ends can leave the code range
     * (through the rounding of the stored scale), so most are in it */
    if (c->n * c->k >= 64)
        ck_assert_msg(inrange * 2 >= c->n * c->k, "only %lld of %lld in range", (long long)inrange,
                      (long long)(c->n * c->k));
    if (c->k % 2) /* odd k: the padding nibble is 0 */
        for (int64_t n = 0; n < c->n; n++) ck_assert_int_eq(b->data[n * ((c->k + 1) / 2) + c->k / 2] >> 4, 0);
}

/* qblas_dequantize_weight against t_dequant: f32 exactly; f16/bf16 as that
 * rounding of the same f32 value; ld padding untouched. */
static void check_dequantize(const w4buf *b)
{
    for (int di = 0; di < 3; di++) {
        qblas_dtype_t dt = FLOATS[di];
        int64_t n = b->w.n, k = b->w.k, ld = k + 2;
        size_t bytes = (size_t)(n * ld) * esize(dt);
        void *dst = qbt_alloc(bytes);
        qbt_poison(dst, bytes);
        QBT_OK(qblas_dequantize_weight(&b->w, dt, dst, ld));
        for (int64_t r = 0; r < n; r++) {
            for (int64_t i = 0; i < k; i++) {
                double want = round_to(dt, t_dequant(b, r, i)), got = qbt_get(dt, dst, r * ld + i);
                ck_assert_msg(got == want, "dequant[%lld,%lld] %s = %.9g, want %.9g [seed %llu]", (long long)r,
                              (long long)i, qblas_dtype_name(dt), got, want, (unsigned long long)qbt_seed);
            }
            const uint8_t *pad = (const uint8_t *)dst + (size_t)(r * ld + k) * esize(dt);
            for (size_t i = 0; i < 2 * esize(dt); i++) ck_assert_uint_eq(pad[i], 0xFF);
        }
        qbt_free(dst);
    }
}

START_TEST(quantize_roundtrip)
{
    static const int64_t Ns[3] = {1, 7, 33}, Kodd[4] = {1, 7, 33, 64};
    static const qblas_dtype_t SRC[3] = {QBLAS_DTYPE_F32, QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16};
    int idx = 0;
    for (int gi = 0; gi < 4; gi++)
        for (int zp = 0; zp < 2; zp++)
            for (int act = 0; act < (GROUPS[gi] ? 2 : 1); act++)
                for (int si = 0; si < 3; si++, idx++) {
                    qbt_rng r = qbt_rng_make(5000 + idx);
                    qcase c = {FLOATS[si], SRC[idx % 3], GROUPS[gi], zp, act};
                    c.n = Ns[idx % 3];
                    c.k = c.gs ? c.gs * (1 + idx % 3) : Kodd[idx % 4];
                    c.ld = c.k + idx % 2;
                    w4buf b;
                    w4_make(&b, NULL, c.n, c.k, c.gs, c.sdt, zp, act);
                    if (act) random_g_idx(&r, b.g_idx, c.k, c.gs);
                    float *w = malloc((size_t)(c.n * c.k) * sizeof(float));
                    ck_assert(w != NULL);
                    quantize_into(&c, &r, &b, w);
                    check_quantized(&c, &b, w);
                    check_dequantize(&b);
                    free(w);
                    w4_free(&b);
                }
}
END_TEST

/* NaN -> code of 0.0, +-inf -> end codes, neither sets the range; an
 * all-zero group and a group act-order leaves empty get scale 1. */
START_TEST(quantize_edges)
{
    qbt_rng r = qbt_rng_make(91);
    for (int zp = 0; zp < 2; zp++) {
        const int64_t n = 2, k = 64;
        qcase c = {QBLAS_DTYPE_F16, QBLAS_DTYPE_F32, 32, zp, true, n, k, k};
        w4buf b;
        w4_make(&b, NULL, n, k, 32, c.sdt, zp, true);
        /* act-order that puts every k in group 0: group 1 is empty */
        for (int64_t i = 0; i < k; i++) b.g_idx[i] = 0;
        float *w = qbt_alloc((size_t)(n * k) * 4);
        qbt_fill(&r, QBLAS_DTYPE_F32, w, n * k, -1, 1);
        w[3] = NAN, w[4] = INFINITY, w[5] = -INFINITY;
        for (int64_t i = 0; i < k; i++) w[k + i] = 0.0f; /* row 1: all zero */
        QBT_OK(qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, w, k, &b.w));
        float s0;
        int z0;
        t_group_params(&c, &b, w, 0, 0, &s0, &z0);
        ck_assert(qbt_get(c.sdt, b.scales, 0) == s0); /* from the finite values only */
        ck_assert_int_eq(t_code(&b, 0, 3), zp ? z0 : 8);
        ck_assert_int_eq(t_code(&b, 0, 4), 15);
        ck_assert_int_eq(t_code(&b, 0, 5), 0);
        for (int64_t row = 0; row < n; row++) ck_assert(qbt_get(c.sdt, b.scales, 1 * n + row) == 1.0); /* empty */
        ck_assert(qbt_get(c.sdt, b.scales, 0 * n + 1) == 1.0);                                       /* all zero */
        for (int64_t i = 0; i < k; i++) ck_assert_int_eq(t_code(&b, 1, i), zp ? 0 : 8);
        if (zp) ck_assert_int_eq(b.zeros[1 * n + 0], 0);
        qbt_free(w);
        w4_free(&b);
    }
}
END_TEST

/* Bad g_idx: INVALID_VALUE from the quantizer, no buffer written. */
START_TEST(quantize_bad_g_idx)
{
    qbt_rng r = qbt_rng_make(92);
    const int64_t n = 5, k = 64;
    w4buf b;
    w4_make(&b, &r, n, k, 32, QBLAS_DTYPE_BF16, true, true);
    b.g_idx[17] = 2;
    float *w = qbt_alloc((size_t)(n * k) * 4);
    qbt_fill(&r, QBLAS_DTYPE_F32, w, n * k, -1, 1);
    void *sd = qbt_snapshot(b.data, qbt_size(b.data)), *ss = qbt_snapshot(b.scales, qbt_size(b.scales));
    void *sz = qbt_snapshot(b.zeros, qbt_size(b.zeros));
    QBT_STATUS(qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, w, k, &b.w), QBLAS_STATUS_INVALID_VALUE);
    ck_assert(qbt_unchanged(b.data, sd, qbt_size(b.data)));
    ck_assert(qbt_unchanged(b.scales, ss, qbt_size(b.scales)));
    ck_assert(qbt_unchanged(b.zeros, sz, qbt_size(b.zeros)));
    free(sd), free(ss), free(sz);
    qbt_free(w);
    w4_free(&b);
}
END_TEST

/* The host dequantizer runs the same content checks as the GEMM: a g_idx
 * outside 0..G-1 or a zero point above 15 is refused, dst untouched. */
START_TEST(dequantize_content_checks)
{
    qbt_rng r = qbt_rng_make(93);
    const int64_t n = 5, k = 64;
    w4buf b;
    w4_make(&b, &r, n, k, 32, QBLAS_DTYPE_F16, true, true);
    float *dst = qbt_alloc((size_t)(n * k) * 4);
    qbt_poison(dst, qbt_size(dst));
    void *snap = qbt_snapshot(dst, qbt_size(dst));
    b.g_idx[3] = 2; /* G = 2 */
    QBT_STATUS(qblas_dequantize_weight(&b.w, QBLAS_DTYPE_F32, dst, k), QBLAS_STATUS_INVALID_VALUE);
    ck_assert(qbt_unchanged(dst, snap, qbt_size(dst)));
    b.g_idx[3] = 0;
    b.zeros[7] = 16;
    QBT_STATUS(qblas_dequantize_weight(&b.w, QBLAS_DTYPE_F32, dst, k), QBLAS_STATUS_INVALID_VALUE);
    ck_assert(qbt_unchanged(dst, snap, qbt_size(dst)));
    b.zeros[7] = 15;
    QBT_OK(qblas_dequantize_weight(&b.w, QBLAS_DTYPE_F32, dst, k));
    free(snap);
    qbt_free(dst);
    w4_free(&b);
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("w4a16");
    TCase *tc = tcase_create("gemm");
    tcase_add_test(tc, gemm_vs_reference);
    tcase_add_test(tc, gemm_long_k);
    tcase_add_test(tc, gemm_content_checks);
    suite_add_tcase(s, tc);
    TCase *tq = tcase_create("quant");
    tcase_add_test(tq, quantize_roundtrip);
    tcase_add_test(tq, quantize_edges);
    tcase_add_test(tq, quantize_bad_g_idx);
    tcase_add_test(tq, dequantize_content_checks);
    suite_add_tcase(s, tq);
    return s;
}
