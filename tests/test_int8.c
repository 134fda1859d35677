/* test_int8.c - the INT8 GEMM oracle against an independent reference.
 *
 * Reference (docs/FORMATS.md, INT8): acc = sum_k (x - zx) * w exactly (int64
 * here), Y = acc * sx[m] * sw[n] (+ bias) evaluated in double.
 * The oracle computes e = ((float)acc * sx) * sw in f32 (three roundings of
 * relative size <= u = 2^-24 each), adds the bias in f32 (one rounding, half
 * an f32 ulp) and stores to y (half an ulp of y's dtype). The reference's own
 * double evaluation adds two roundings of 2^-53. So
 *     |Y - ref| <= (gamma_3 + 2^-52) |v| + [bias] halfulp_f32 + [f16/bf16] halfulp_y,
 * each half ulp taken at |ref| plus the error before it (half ulps only grow
 * with the magnitude, so that bounds the value actually rounded).
 * Since acc is exact, the documented f32 order also fixes Y bit for bit,
 * which check_y verifies as well.
 */
#include "qb_test.h"

typedef struct {
    int64_t m, n, k, ldx, ldy;
    qblas_scale_mode_t xmode, wmode;
    bool asym, bias;
    qblas_dtype_t yt;
} i8_case;

typedef struct {
    i8_case c;
    int8_t *x, *w;
    float *sx, *sw;
    int32_t *zx;
    void *bias, *y;
    size_t ybytes;
    qblas_act_t act;
    qblas_weight_t wt;
} i8_prob;

static size_t ysize(qblas_dtype_t t) { return t == QBLAS_DTYPE_F32 ? 4 : 2; }

static void prob_make(i8_prob *p, const i8_case *c, qbt_rng *r)
{
    memset(p, 0, sizeof *p);
    p->c = *c;
    /* X padding (ldx > k) is random junk as well: reading it would change Y */
    p->x = qbt_alloc((size_t)(c->m * c->ldx));
    p->w = qbt_alloc((size_t)(c->n * c->k));
    qbt_fill_bytes(r, p->x, (size_t)(c->m * c->ldx));
    qbt_fill_bytes(r, p->w, (size_t)(c->n * c->k)); /* full i8 range, -128 included */
    p->sx = qbt_alloc(4 * (size_t)c->m);
    p->sw = qbt_alloc(4 * (size_t)c->n);
    for (int64_t i = 0; i < c->m; i++) p->sx[i] = (float)qbt_uniform(r, 0.5, 2.0) / 128.0f;
    for (int64_t i = 0; i < c->n; i++) p->sw[i] = (float)qbt_uniform(r, 0.5, 2.0) / 128.0f;
    if (c->asym) {
        p->zx = qbt_alloc(4 * (size_t)c->m);
        for (int64_t i = 0; i < c->m; i++) p->zx[i] = (int32_t)qbt_int(r, -128, 127);
    }
    if (c->bias) {
        p->bias = qbt_alloc((size_t)c->n * ysize(c->yt));
        qbt_fill(r, c->yt, p->bias, c->n, -4.0, 4.0);
    }
    p->ybytes = (size_t)(c->m * c->ldy) * ysize(c->yt);
    p->y = qbt_alloc(p->ybytes);
    p->act = (qblas_act_t){QBLAS_DTYPE_I8, p->x, c->ldx, c->xmode, p->sx, p->zx};
    p->wt = (qblas_weight_t){.format = QBLAS_WFORMAT_INT8, .layout = QBLAS_LAYOUT_CANONICAL,
                             .dtype = QBLAS_DTYPE_I8, .n = c->n, .k = c->k, .data = p->w,
                             .scale_mode = c->wmode, .scale_dtype = QBLAS_DTYPE_F32, .scales = p->sw};
}

static void prob_free(i8_prob *p)
{
    qbt_free(p->x);
    qbt_free(p->w);
    qbt_free(p->sx);
    qbt_free(p->sw);
    qbt_free(p->zx);
    qbt_free(p->bias);
    qbt_free(p->y);
}

/* Poison Y, run the GEMM with weight wt (canonical or packed), return the status. */
static qblas_status_t run(qblas_handle_t h, i8_prob *p, const qblas_weight_t *wt)
{
    const i8_case *c = &p->c;
    qblas_kernel_info_t info;
    qblas_status_t qst = qblas_gemm_query(h, c->m, c->n, c->k, &p->act, wt, c->yt, &info);
    QBT_EXPECT(qst == QBLAS_STATUS_SUCCESS, "query: %s", qblas_last_error(h));
    void *ws = qbt_alloc(info.workspace_bytes);
    qbt_poison(p->y, p->ybytes);
    qblas_status_t st = qblas_gemm(h, c->m, c->n, c->k, &p->act, wt, p->bias, c->yt, p->y, c->ldy, ws,
                                   info.workspace_bytes, NULL);
    qbt_free(ws);
    return st;
}

/* The exact sum makes the documented f32 evaluation order fully determine
 * Y: ((float)acc * sx) * sw, + bias in f32, one conversion to y's dtype. */
static bool same_bits(qblas_dtype_t t, const void *y, int64_t i, float e)
{
    if (t == QBLAS_DTYPE_F32) return memcmp((const float *)y + i, &e, 4) == 0;
    uint16_t want = t == QBLAS_DTYPE_F16 ? qb_f32_to_f16(e) : qb_f32_to_bf16(e);
    return ((const uint16_t *)y)[i] == want;
}

static void check_y(const i8_prob *p)
{
    const i8_case *c = &p->c;
    size_t es = ysize(c->yt);
    for (int64_t m = 0; m < c->m; m++) {
        float sx = p->sx[c->xmode == QBLAS_SCALE_PER_ROW ? m : 0];
        int64_t zx = p->zx ? p->zx[m] : 0;
        for (int64_t n = 0; n < c->n; n++) {
            float sw = p->sw[c->wmode == QBLAS_SCALE_PER_ROW ? n : 0];
            int64_t acc = 0;
            for (int64_t k = 0; k < c->k; k++) acc += ((int64_t)p->x[m * c->ldx + k] - zx) * p->w[n * c->k + k];
            double b = c->bias ? qbt_get(c->yt, p->bias, n) : 0.0;
            double v = (double)acc * sx * sw, ref = v + b;
            double e1 = (qbt_gamma32(3) + 0x1p-52) * fabs(v);
            double e2 = c->bias ? qbt_half_ulp(QBLAS_DTYPE_F32, fabs(ref) + e1) : 0.0;
            double e3 = c->yt == QBLAS_DTYPE_F32 ? 0.0 : qbt_half_ulp(c->yt, fabs(ref) + e1 + e2);
            double got = qbt_get(c->yt, p->y, m * c->ldy + n);
            QBT_EXPECT(qbt_close(got, ref, e1 + e2 + e3),
                   "m=%lld n=%lld (M=%lld N=%lld K=%lld xmode=%d wmode=%d asym=%d y=%s): got %.9g ref %.9g "
                   "tol %.3g [seed %llu]",
                   (long long)m, (long long)n, (long long)c->m, (long long)c->n, (long long)c->k, c->xmode, c->wmode,
                   c->asym, qblas_dtype_name(c->yt), got, ref, e1 + e2 + e3, (unsigned long long)qbt_seed);
            float e = (float)acc;
            e = e * sx;
            e = e * sw;
            if (c->bias) e = e + (float)b;
            QBT_EXPECT(same_bits(c->yt, p->y, m * c->ldy + n, e),
                   "m=%lld n=%lld: got %.9g, the documented f32 order gives %.9g [seed %llu]", (long long)m,
                   (long long)n, got, (double)e, (unsigned long long)qbt_seed);
        }
        /* ldy padding keeps its poison */
        const uint8_t *row = (const uint8_t *)p->y + (size_t)(m * c->ldy) * es;
        for (size_t i = (size_t)c->n * es; i < (size_t)c->ldy * es; i++)
            QBT_EXPECT(row[i] == 0xFF, "ldy padding of row %lld written", (long long)m);
    }
}

static const qblas_dtype_t ydtypes[3] = {QBLAS_DTYPE_F32, QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16};

/* Every shape x every (x scales, w scales, zero points) combination; zero
 * points need PER_ROW x scales. Bias, y dtype, padding and threads rotate. */
START_TEST(int8_shapes)
{
    static const int64_t Ms[] = {1, 3, 17, 130}, Ns[] = {1, 7, 33}, Ks[] = {1, 5, 64, 300};
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(801);
    int it = 0;
    for (int mi = 0; mi < 4; mi++)
        for (int ni = 0; ni < 3; ni++)
            for (int ki = 0; ki < 4; ki++)
                for (int v = 0; v < 6; v++, it++) {
                    i8_case c = {Ms[mi], Ns[ni], Ks[ki], Ks[ki] + (it % 3 == 0 ? 3 : 0), Ns[ni] + (it % 4 == 1 ? 5 : 0),
                                 v >= 2 ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_PER_TENSOR,
                                 v & 1 ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_PER_TENSOR, v >= 4, it % 2 == 0,
                                 ydtypes[it % 3]};
                    QBT_OK(qblas_set_num_threads(h, 1 + it % 2));
                    i8_prob p;
                    prob_make(&p, &c, &r);
                    QBT_OK(run(h, &p, &p.wt));
                    check_y(&p);
                    prob_free(&p);
                }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Results do not depend on the thread count or on prepacking: bit-identical. */
START_TEST(int8_threads_and_prepack)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(802);
    for (int v = 0; v < 2; v++) {
        i8_case c = {130, 33, 300, 301, 35, QBLAS_SCALE_PER_ROW, v ? QBLAS_SCALE_PER_TENSOR : QBLAS_SCALE_PER_ROW,
                     v == 0, true, v ? QBLAS_DTYPE_F16 : QBLAS_DTYPE_BF16};
        i8_prob p;
        prob_make(&p, &c, &r);
        QBT_OK(qblas_set_num_threads(h, 1));
        QBT_OK(run(h, &p, &p.wt));
        check_y(&p);
        qbt_gemm_invariants(h, c.m, &p.act, &p.wt, p.bias, c.yt, p.y, c.ldy, p.ybytes);
        prob_free(&p);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* k = 65536 is the largest allowed: the extreme |(x - zx) * w| = 255 * 128
 * summed 65536 times is 2139095040 < 2^31, exact in int32 and in f32. */
START_TEST(int8_max_k)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(803);
    i8_case c = {2, 3, 65536, 65536, 3, QBLAS_SCALE_PER_ROW, QBLAS_SCALE_PER_ROW, true, false, QBLAS_DTYPE_F32};
    i8_prob p;
    prob_make(&p, &c, &r);
    QBT_OK(run(h, &p, &p.wt));
    check_y(&p); /* random data at the largest k */
    memset(p.x, 0x80, (size_t)c.k * 2); /* x = -128 */
    memset(p.w, 0x80, (size_t)c.k * 3); /* w = -128 */
    p.zx[0] = p.zx[1] = 127;
    p.sx[0] = p.sx[1] = p.sw[0] = p.sw[1] = p.sw[2] = 1.0f;
    QBT_OK(run(h, &p, &p.wt));
    for (int i = 0; i < 6; i++) QBT_EXPECT(((float *)p.y)[i] == 2139095040.0f, "extreme sum %.9g", ((float *)p.y)[i]);
    /* one more k is refused */
    p.wt.k = 65537;
    QBT_STATUS(qblas_gemm(h, 2, 3, 65537, &p.act, &p.wt, NULL, c.yt, p.y, 3, NULL, 0, NULL),
               QBLAS_STATUS_NOT_SUPPORTED);
    prob_free(&p);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* A zero point outside -128..127 is refused before anything is written. */
START_TEST(int8_bad_zero_point)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(804);
    static const int32_t bad[] = {128, -129, 1 << 20, INT32_MIN};
    for (int b = 0; b < 4; b++) {
        i8_case c = {17, 7, 5, 5, 7, QBLAS_SCALE_PER_ROW, QBLAS_SCALE_PER_ROW, true, true, QBLAS_DTYPE_F16};
        i8_prob p;
        prob_make(&p, &c, &r);
        p.zx[qbt_int(&r, 0, c.m - 1)] = bad[b];
        qblas_kernel_info_t info;
        QBT_STATUS(qblas_gemm_query(h, c.m, c.n, c.k, &p.act, &p.wt, c.yt, &info), QBLAS_STATUS_INVALID_VALUE);
        qbt_poison(p.y, p.ybytes);
        void *snap = qbt_snapshot(p.y, p.ybytes);
        void *ws = qbt_alloc(1 << 20);
        QBT_STATUS(qblas_gemm(h, c.m, c.n, c.k, &p.act, &p.wt, p.bias, c.yt, p.y, c.ldy, ws, 1 << 20, NULL),
                   QBLAS_STATUS_INVALID_VALUE);
        QBT_EXPECT(qbt_unchanged(p.y, snap, p.ybytes), "Y written by a failing call");
        ck_assert(strlen(qblas_last_error(h)) > 0);
        qbt_free(ws);
        free(snap);
        prob_free(&p);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(int8_kernel_name)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(805);
    for (int asym = 0; asym < 2; asym++) {
        const char *want = asym ? "cpu_ref_int8_asym" : "cpu_ref_int8";
        i8_case c = {3, 7, 5, 5, 7, QBLAS_SCALE_PER_ROW, QBLAS_SCALE_PER_TENSOR, asym, false, QBLAS_DTYPE_F32};
        i8_prob p;
        prob_make(&p, &c, &r);
        qblas_kernel_info_t info;
        QBT_OK(qblas_gemm_query(h, c.m, c.n, c.k, &p.act, &p.wt, c.yt, &info));
        ck_assert_str_eq(info.kernel_name, want);
        QBT_OK(run(h, &p, &p.wt));
        char name[QBLAS_KERNEL_NAME_MAX];
        QBT_OK(qblas_last_kernel(h, name, sizeof name));
        ck_assert_str_eq(name, want);
        prob_free(&p);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("int8");
    TCase *tc = tcase_create("gemm");
    tcase_add_test(tc, int8_shapes);
    tcase_add_test(tc, int8_threads_and_prepack);
    tcase_add_test(tc, int8_max_k);
    tcase_add_test(tc, int8_bad_zero_point);
    tcase_add_test(tc, int8_kernel_name);
    suite_add_tcase(s, tc);
    return s;
}
