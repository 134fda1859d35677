/* test_fp8.c - the FP8 GEMM oracle against an independent reference.
 *
 * Reference (docs/FORMATS.md, FP8), in double:
 *   per-tensor / per-row:  Y = (sum_k x*w) * sx * sw (+ bias)
 *   block:                 Y = sum_kb (sum_{k in block kb} x*w) * sx[m][kb] * sw[n/128][kb] (+ bias)
 * Error of the oracle: fp8 x fp8 products are exact in f32 (<= 8 significant
 * bits, exponents within f32's normal range), so only the f32 additions and
 * the two scale multiplications round. Per output, with A = sum |x*w*sx*sw|:
 *   per-tensor / per-row: k-1 additions + 2 products  -> gamma_{k+2} * A
 *   block: each block's len-1 additions + 2 products, then nkb-1 additions
 *          of the scaled partials                      -> gamma_{128+2+nkb} * A
 * plus half an f32 ulp for the bias addition, half an ulp of y's dtype for the
 * store, and (k+4) * 2^-53 * A for the double reference's own roundings.
 */
#include "qb_test.h"

typedef struct {
    int64_t m, n, k, ldx, ldy;
    qblas_dtype_t xt, wt;
    qblas_scale_mode_t xmode, wmode; /* block: BLOCK_1X128 with BLOCK_128X128 */
    bool bias;
    qblas_dtype_t yt;
} f8_case;

typedef struct {
    f8_case c;
    uint8_t *x, *w;
    float *sx, *sw;
    void *bias, *y;
    size_t ybytes;
    qblas_act_t act;
    qblas_weight_t wd;
} f8_prob;

static size_t ysize(qblas_dtype_t t) { return t == QBLAS_DTYPE_F32 ? 4 : 2; }
static bool is_block(const f8_case *c) { return c->wmode == QBLAS_SCALE_BLOCK_128X128; }
static int64_t nkb_of(const f8_case *c) { return (c->k + 127) / 128; }

/* fp8 value of a code, from the public decoder */
static double fp8(qblas_dtype_t t, uint8_t code) { return qbt_get(t, &code, 0); }

static double fmax_of(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_E4M3 ? 448.0 : t == QBLAS_DTYPE_E5M2 ? 57344.0 : 240.0;
}

/* A random code with a finite value (NaN and e5m2's inf codes excluded). */
static uint8_t finite_code(qbt_rng *r, qblas_dtype_t t)
{
    for (;;) {
        uint8_t c = (uint8_t)qbt_next(r);
        if (isfinite(fp8(t, c))) return c;
    }
}

static uint8_t nan_code(qblas_dtype_t t) { return t == QBLAS_DTYPE_E4M3FNUZ ? 0x80 : 0x7F; }

static int64_t xscale_count(const f8_case *c)
{
    return c->xmode == QBLAS_SCALE_PER_TENSOR ? 1 : c->xmode == QBLAS_SCALE_PER_ROW ? c->m : c->m * nkb_of(c);
}

static int64_t wscale_count(const f8_case *c)
{
    if (c->wmode == QBLAS_SCALE_PER_TENSOR) return 1;
    return c->wmode == QBLAS_SCALE_PER_ROW ? c->n : ((c->n + 127) / 128) * nkb_of(c);
}

/* Random scales around 1/fmax, so |x * sx| and |w * sw| stay near 1..2 and Y fits f16. */
static float *make_scales(qbt_rng *r, int64_t count, qblas_dtype_t t)
{
    float *s = qbt_alloc(4 * (size_t)count);
    for (int64_t i = 0; i < count; i++) s[i] = (float)(qbt_uniform(r, 0.5, 2.0) / fmax_of(t));
    return s;
}

static void prob_make(f8_prob *p, const f8_case *c, qbt_rng *r)
{
    memset(p, 0, sizeof *p);
    p->c = *c;
    p->x = qbt_alloc((size_t)(c->m * c->ldx));
    p->w = qbt_alloc((size_t)(c->n * c->k));
    qbt_fill_bytes(r, p->x, (size_t)(c->m * c->ldx)); /* padding: random junk, NaN codes included */
    for (int64_t m = 0; m < c->m; m++)
        for (int64_t k = 0; k < c->k; k++) p->x[m * c->ldx + k] = finite_code(r, c->xt);
    for (int64_t i = 0; i < c->n * c->k; i++) p->w[i] = finite_code(r, c->wt);
    p->sx = make_scales(r, xscale_count(c), c->xt);
    p->sw = make_scales(r, wscale_count(c), c->wt);
    if (c->bias) {
        p->bias = qbt_alloc((size_t)c->n * ysize(c->yt));
        qbt_fill(r, c->yt, p->bias, c->n, -4.0, 4.0);
    }
    p->ybytes = (size_t)(c->m * c->ldy) * ysize(c->yt);
    p->y = qbt_alloc(p->ybytes);
    p->act = (qblas_act_t){c->xt, p->x, c->ldx, c->xmode, p->sx, NULL};
    p->wd = (qblas_weight_t){.format = QBLAS_WFORMAT_FP8, .layout = QBLAS_LAYOUT_CANONICAL, .dtype = c->wt,
                             .n = c->n, .k = c->k, .data = p->w, .scale_mode = c->wmode,
                             .scale_dtype = QBLAS_DTYPE_F32, .scales = p->sw};
}

static void prob_free(f8_prob *p)
{
    qbt_free(p->x);
    qbt_free(p->w);
    qbt_free(p->sx);
    qbt_free(p->sw);
    qbt_free(p->bias);
    qbt_free(p->y);
}

static qblas_status_t run(qblas_handle_t h, f8_prob *p, const qblas_weight_t *wd)
{
    const f8_case *c = &p->c;
    qblas_kernel_info_t info;
    qblas_status_t st = qblas_gemm_query(h, c->m, c->n, c->k, &p->act, wd, c->yt, &info);
    QBT_EXPECT(st == QBLAS_STATUS_SUCCESS, "query: %s", qblas_last_error(h));
    void *ws = qbt_alloc(info.workspace_bytes);
    qbt_poison(p->y, p->ybytes);
    st = qblas_gemm(h, c->m, c->n, c->k, &p->act, wd, p->bias, c->yt, p->y, c->ldy, ws, info.workspace_bytes, NULL);
    qbt_free(ws);
    return st;
}

static double x_scale(const f8_prob *p, int64_t m, int64_t kb)
{
    const f8_case *c = &p->c;
    if (c->xmode == QBLAS_SCALE_PER_TENSOR) return p->sx[0];
    return c->xmode == QBLAS_SCALE_PER_ROW ? p->sx[m] : p->sx[m * nkb_of(c) + kb];
}

static double w_scale(const f8_prob *p, int64_t n, int64_t kb)
{
    const f8_case *c = &p->c;
    if (c->wmode == QBLAS_SCALE_PER_TENSOR) return p->sw[0];
    return c->wmode == QBLAS_SCALE_PER_ROW ? p->sw[n] : p->sw[(n / 128) * nkb_of(c) + kb];
}

/* Reference value and error bound of Y[m][n] before bias (see the top of the file). */
static void reference(const f8_prob *p, int64_t m, int64_t n, double *ref, double *tol)
{
    const f8_case *c = &p->c;
    double v = 0.0, a = 0.0;
    /* blocks of 128 k; without block scales the scales are the same for every block */
    for (int64_t kb = 0; kb < nkb_of(c); kb++) {
        double s = 0.0, sa = 0.0, sc = x_scale(p, m, kb) * w_scale(p, n, kb);
        for (int64_t k = kb * 128; k < c->k && k < kb * 128 + 128; k++) {
            double prod = fp8(c->xt, p->x[m * c->ldx + k]) * fp8(c->wt, p->w[n * c->k + k]);
            s += prod;
            sa += fabs(prod);
        }
        v += s * sc;
        a += sa * sc;
    }
    double g = is_block(c) ? qbt_gamma32(128 + 2 + nkb_of(c)) : qbt_gamma32(c->k + 2);
    *ref = v;
    *tol = (g + (double)(c->k + 4) * 0x1p-53) * a;
}

/* Compare Y; rows listed in nan_row (or -1) must be NaN everywhere. */
static void check_y(const f8_prob *p, int64_t nan_row)
{
    const f8_case *c = &p->c;
    size_t es = ysize(c->yt);
    for (int64_t m = 0; m < c->m; m++) {
        for (int64_t n = 0; n < c->n; n++) {
            double got = qbt_get(c->yt, p->y, m * c->ldy + n);
            if (m == nan_row) {
                QBT_EXPECT(isnan(got), "NaN in x row %lld did not reach Y[%lld][%lld] = %g", (long long)m, (long long)m,
                       (long long)n, got);
                continue;
            }
            double v, e1;
            reference(p, m, n, &v, &e1);
            double ref = v + (c->bias ? qbt_get(c->yt, p->bias, n) : 0.0);
            double e2 = c->bias ? qbt_half_ulp(QBLAS_DTYPE_F32, fabs(ref) + e1) : 0.0;
            double e3 = c->yt == QBLAS_DTYPE_F32 ? 0.0 : qbt_half_ulp(c->yt, fabs(ref) + e1 + e2);
            QBT_EXPECT(qbt_close(got, ref, e1 + e2 + e3),
                   "Y[%lld][%lld] (M=%lld N=%lld K=%lld %sx%s modes %d/%d y=%s): got %.9g ref %.9g tol %.3g "
                   "[seed %llu]",
                   (long long)m, (long long)n, (long long)c->m, (long long)c->n, (long long)c->k,
                   qblas_dtype_name(c->xt), qblas_dtype_name(c->wt), c->xmode, c->wmode,
                   qblas_dtype_name(c->yt), got, ref, e1 + e2 + e3, (unsigned long long)qbt_seed);
        }
        const uint8_t *row = (const uint8_t *)p->y + (size_t)(m * c->ldy) * es;
        for (size_t b = (size_t)c->n * es; b < (size_t)c->ldy * es; b++)
            QBT_EXPECT(row[b] == 0xFF, "ldy padding of row %lld written", (long long)m);
    }
}

static const qblas_dtype_t fp8s[3] = {QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2, QBLAS_DTYPE_E4M3FNUZ};
static const qblas_dtype_t ydtypes[3] = {QBLAS_DTYPE_F32, QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16};
/* (x mode, w mode) pairs the FP8 GEMM takes */
static const qblas_scale_mode_t modes[5][2] = {
    {QBLAS_SCALE_PER_TENSOR, QBLAS_SCALE_PER_TENSOR}, {QBLAS_SCALE_PER_TENSOR, QBLAS_SCALE_PER_ROW},
    {QBLAS_SCALE_PER_ROW, QBLAS_SCALE_PER_TENSOR},    {QBLAS_SCALE_PER_ROW, QBLAS_SCALE_PER_ROW},
    {QBLAS_SCALE_BLOCK_1X128, QBLAS_SCALE_BLOCK_128X128}};

/* All 9 dtype pairs x all 5 scale modes; shapes, y dtype, bias, padding and threads rotate. */
START_TEST(fp8_combinations)
{
    static const int64_t Ms[] = {1, 3, 17}, Ns[] = {1, 7, 33, 130}, Ks[] = {1, 5, 64, 129, 300};
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(901);
    int it = 0;
    for (int xi = 0; xi < 3; xi++)
        for (int wi = 0; wi < 3; wi++)
            for (int mo = 0; mo < 5; mo++, it++) {
                int64_t M = Ms[it % 3], N = Ns[it % 4], K = Ks[it % 5];
                f8_case c = {M, N, K, K + (it % 3 == 1 ? 7 : 0), N + (it % 2 ? 2 : 0), fp8s[xi], fp8s[wi],
                             modes[mo][0], modes[mo][1], it % 4 < 2, ydtypes[(it / 2) % 3]};
                QBT_OK(qblas_set_num_threads(h, 1 + it % 2));
                f8_prob p;
                prob_make(&p, &c, &r);
                QBT_OK(run(h, &p, &p.wd));
                check_y(&p, -1);
                char want[QBLAS_KERNEL_NAME_MAX], got[QBLAS_KERNEL_NAME_MAX];
                snprintf(want, sizeof want, "cpu_ref_fp8_%sx%s%s", qblas_dtype_name(c.xt), qblas_dtype_name(c.wt),
                         is_block(&c) ? "_block128" : "");
                QBT_OK(qblas_last_kernel(h, got, sizeof got));
                ck_assert_str_eq(got, want);
                prob_free(&p);
            }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Block scales with k not a multiple of 128 (last block short, or 1 long),
 * n not a multiple of 128 and crossing a 128-row weight block, every y dtype. */
START_TEST(fp8_block_edges)
{
    static const int64_t Ks[] = {128, 129, 300, 383};
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(902);
    for (int ki = 0; ki < 4; ki++)
        for (int yi = 0; yi < 3; yi++) {
            f8_case c = {3, 130, Ks[ki], Ks[ki] + 1, 131, fp8s[(ki + yi) % 3], fp8s[ki % 3], QBLAS_SCALE_BLOCK_1X128,
                         QBLAS_SCALE_BLOCK_128X128, yi != 1, ydtypes[yi]};
            f8_prob p;
            prob_make(&p, &c, &r);
            QBT_OK(run(h, &p, &p.wd));
            check_y(&p, -1);
            prob_free(&p);
        }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* More than 128 rows (two X chunks), and bit-identical across threads and prepacking. */
START_TEST(fp8_threads_and_prepack)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(903);
    for (int v = 0; v < 2; v++) {
        f8_case c = {130, 33, 300, 300, 33, QBLAS_DTYPE_E4M3, v ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3,
                     v ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_BLOCK_1X128,
                     v ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_BLOCK_128X128, true, QBLAS_DTYPE_BF16};
        f8_prob p;
        prob_make(&p, &c, &r);
        QBT_OK(qblas_set_num_threads(h, 1));
        QBT_OK(run(h, &p, &p.wd));
        check_y(&p, -1);
        qbt_gemm_invariants(h, c.m, &p.act, &p.wd, p.bias, c.yt, p.y, c.ldy, p.ybytes);
        prob_free(&p);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* A NaN code in X makes its whole output row NaN (NaN propagates, it is not
 * saturated or dropped); the other rows are unaffected. */
START_TEST(fp8_nan_propagates)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(904);
    for (int i = 0; i < 6; i++) {
        bool block = i >= 3;
        f8_case c = {3, 7, 200, 200, 7, fp8s[i % 3], fp8s[(i + 1) % 3],
                     block ? QBLAS_SCALE_BLOCK_1X128 : QBLAS_SCALE_PER_ROW,
                     block ? QBLAS_SCALE_BLOCK_128X128 : QBLAS_SCALE_PER_TENSOR, i % 2 == 0, ydtypes[i % 3]};
        f8_prob p;
        prob_make(&p, &c, &r);
        int64_t row = qbt_int(&r, 0, c.m - 1);
        p.x[row * c.ldx + qbt_int(&r, 0, c.k - 1)] = nan_code(c.xt);
        QBT_OK(run(h, &p, &p.wd));
        check_y(&p, row);
        prob_free(&p);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Block activation scales only go with block weight scales, and back. */
START_TEST(fp8_mixed_block_modes_refused)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(905);
    f8_case c = {3, 7, 129, 129, 7, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E4M3, QBLAS_SCALE_BLOCK_1X128,
                 QBLAS_SCALE_BLOCK_128X128, false, QBLAS_DTYPE_F32};
    f8_prob p;
    prob_make(&p, &c, &r);
    qbt_poison(p.y, p.ybytes);
    void *snap = qbt_snapshot(p.y, p.ybytes), *ws = qbt_alloc(1 << 20);
    p.wd.scale_mode = QBLAS_SCALE_PER_ROW; /* x block, w per-row */
    QBT_STATUS(qblas_gemm(h, c.m, c.n, c.k, &p.act, &p.wd, NULL, c.yt, p.y, c.ldy, ws, 1 << 20, NULL),
               QBLAS_STATUS_INVALID_VALUE);
    p.wd.scale_mode = QBLAS_SCALE_BLOCK_128X128;
    p.act.scale_mode = QBLAS_SCALE_PER_ROW; /* x per-row, w block */
    QBT_STATUS(qblas_gemm(h, c.m, c.n, c.k, &p.act, &p.wd, NULL, c.yt, p.y, c.ldy, ws, 1 << 20, NULL),
               QBLAS_STATUS_INVALID_VALUE);
    QBT_EXPECT(qbt_unchanged(p.y, snap, p.ybytes), "Y written by a failing call");
    qbt_free(ws);
    free(snap);
    prob_free(&p);
    QBT_OK(qblas_destroy(h));
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("fp8");
    TCase *tc = tcase_create("gemm");
    tcase_add_test(tc, fp8_combinations);
    tcase_add_test(tc, fp8_block_edges);
    tcase_add_test(tc, fp8_threads_and_prepack);
    tcase_add_test(tc, fp8_nan_propagates);
    tcase_add_test(tc, fp8_mixed_block_modes_refused);
    suite_add_tcase(s, tc);
    return s;
}
