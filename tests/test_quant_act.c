/* test_quant_act.c - activation quantization (qblas_quantize_act) against the
 * formulas of docs/FORMATS.md, re-derived here.
 *
 * The formulas are defined in f32, so the reference evaluates them in f32 in
 * the same order and the codes, scales and zero points must match bit for
 * bit. On top of that, semantic checks that do not depend on re-deriving the
 * formula: NaN -> 0 / NaN, +-inf saturates, all-zero rows get scale 1, and
 * the reconstruction error bounds derived at check_bounds().
 */
#include <float.h>

#include "qb_test.h"
#include "qb_test_qact.h"


typedef struct {
    int64_t m, k, ldx, ldq;
    qblas_dtype_t xt;
    qbt_qact_variant cfg;
    void *x;
    uint8_t *q;
    float *scales;
    int32_t *zeros;
    int64_t nscales;
    /* expected results */
    float *f; /* x as f32, m x k */
    uint8_t *eq;
    float *es;
    int32_t *ez;
} qa_prob;

/* ---- the reference, in f32 ---- */
static float fp8_max(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_E4M3 ? 448.0f : t == QBLAS_DTYPE_E5M2 ? 57344.0f : 240.0f;
}
static qb_fp8_fmt fmt_of(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_E4M3 ? QB_FP8_E4M3 : t == QBLAS_DTYPE_E5M2 ? QB_FP8_E5M2 : QB_FP8_E4M3FNUZ;
}
static float qmax_of(qblas_dtype_t t) { return t == QBLAS_DTYPE_I8 ? 127.0f : fp8_max(t); }

static float ref_amax(const float *v, int64_t n)
{
    float a = 0.0f;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i])) a = fmaxf(a, fabsf(v[i]));
    return a;
}

/* min and max over the finite values; 0, 0 when there are none */
static void ref_minmax(const float *v, int64_t n, float *lo, float *hi)
{
    float l = INFINITY, h = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i])) l = fminf(l, v[i]), h = fmaxf(h, v[i]);
    *lo = isfinite(l) ? l : 0.0f;
    *hi = isfinite(h) ? h : 0.0f;
}

static uint8_t ref_code(qblas_dtype_t qt, float x, float s)
{
    if (qt == QBLAS_DTYPE_I8) return (uint8_t)(int8_t)qb_round_clamp(x / s, -127, 127);
    return qb_fp8_encode(x / s, fmt_of(qt));
}

/* symmetric span: returns its scale */
static float ref_sym(qblas_dtype_t qt, const float *x, int64_t n, uint8_t *q)
{
    float s = ref_amax(x, n) / qmax_of(qt);
    if (s == 0.0f) s = 1.0f;
    for (int64_t i = 0; i < n; i++) q[i] = ref_code(qt, x[i], s);
    return s;
}

static void ref_asym(const float *x, int64_t n, uint8_t *q, float *scale, int32_t *zero)
{
    float lo, hi;
    ref_minmax(x, n, &lo, &hi);
    lo = fminf(lo, 0.0f), hi = fmaxf(hi, 0.0f); /* the range always holds 0 */
    float s = (hi - lo) / 255.0f;
    if (s == 0.0f || !isfinite(s)) s = 1.0f; /* hi - lo can overflow */
    int32_t z = qb_round_clamp(-128.0f - lo / s, -128, 127);
    for (int64_t i = 0; i < n; i++) q[i] = (uint8_t)(int8_t)qb_round_clamp(rintf(x[i] / s) + (float)z, -128, 127);
    *scale = s;
    *zero = z;
}

static void reference(qa_prob *p)
{
    const int64_t k = p->k, nkb = (k + 127) / 128;
    for (int64_t r = 0; r < p->m; r++) {
        const float *f = p->f + r * k;
        uint8_t *q = p->eq + r * k;
        switch (p->cfg.mode) {
        case QBLAS_SCALE_PER_TENSOR:
            for (int64_t i = 0; i < k; i++) q[i] = ref_code(p->cfg.qt, f[i], p->es[0]);
            break;
        case QBLAS_SCALE_PER_ROW:
            if (p->cfg.asym)
                ref_asym(f, k, q, &p->es[r], &p->ez[r]);
            else
                p->es[r] = ref_sym(p->cfg.qt, f, k, q);
            break;
        default:
            for (int64_t kb = 0; kb < nkb; kb++) {
                int64_t k0 = kb * 128, len = k - k0 < 128 ? k - k0 : 128;
                p->es[r * nkb + kb] = ref_sym(p->cfg.qt, f + k0, len, q + k0);
            }
        }
    }
}

/* ---- inputs ---- */
static size_t xsize(qblas_dtype_t t) { return t == QBLAS_DTYPE_F32 ? 4 : 2; }

static void set_x(qblas_dtype_t t, void *x, int64_t i, float v)
{
    switch (t) {
    case QBLAS_DTYPE_F32: ((float *)x)[i] = v; break;
    case QBLAS_DTYPE_F16: ((uint16_t *)x)[i] = qb_f32_to_f16(v); break;
    default: ((uint16_t *)x)[i] = qb_f32_to_bf16(v); break;
    }
}

/* Row kinds: the edge cases rotate through the rows of every call. */
enum { ROW_SYM, ROW_SKEWED, ROW_SPECIALS, ROW_ZEROS, ROW_POSITIVE, ROW_NONFINITE, ROW_TIES, ROW_KINDS };

static float special(int i) { return i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY; }

/* A row whose scale is exactly 3 and whose other values are exact ties of
 * the rounding (halfway between two codes) when divided by 3: only x / s
 * evaluated as the formula says (not x * (1/s), not another order) rounds
 * them the same way. Exact for f32 input; f16/bf16 round some of them. */
static void fill_ties(qbt_rng *r, qa_prob *p, int64_t row)
{
    const qblas_dtype_t qt = p->cfg.qt;
    const int mb = qt == QBLAS_DTYPE_E5M2 ? 2 : 3;
    void *x = p->x;
    int64_t base = row * p->ldx;
    for (int64_t i = 0; i < p->k; i++) {
        double t;
        if (qt == QBLAS_DTYPE_I8)
            t = (double)qbt_int(r, -127, 126) + 0.5; /* |t| <= 126.5: inside both int8 ranges */
        else
            t = (qbt_int(r, 0, 1) ? 1 : -1) *
                ldexp(1.0 + (2.0 * (double)qbt_int(r, 0, (1 << mb) - 1) + 1.0) / (double)(2 << mb),
                      (int)qbt_int(r, -3, 5));
        set_x(p->xt, x, base + i, (float)(3.0 * t));
    }
    /* the range that makes s = 3: amax = 3 * qmax, or max - min = 3 * 255 with min = -3 * 127 */
    set_x(p->xt, x, base, -3.0f * (p->cfg.asym ? 127.0f : qmax_of(qt)));
    if (p->k > 1) set_x(p->xt, x, base + 1, p->cfg.asym ? 3.0f * 128.0f : 3.0f * qmax_of(qt));
}

static void fill_row(qbt_rng *r, qa_prob *p, int64_t row, int kind)
{
    double a = ldexp(1.0, (int)qbt_int(r, -8, 8)) * qbt_uniform(r, 1.0, 2.0); /* row magnitude */
    double lo = -a, hi = a;
    if (kind == ROW_SKEWED) lo = -a * qbt_uniform(r, 0.05, 1.0), hi = a * qbt_uniform(r, 0.05, 1.0);
    if (kind == ROW_POSITIVE) lo = a, hi = 2 * a;
    for (int64_t i = 0; i < p->k; i++) {
        float v = (float)qbt_uniform(r, lo, hi);
        if (kind == ROW_ZEROS) v = 0.0f;
        if (kind == ROW_NONFINITE) v = special((int)i);
        set_x(p->xt, p->x, row * p->ldx + i, v);
    }
    if (kind == ROW_SPECIALS)
        for (int s = 0; s < 3; s++) set_x(p->xt, p->x, row * p->ldx + qbt_int(r, 0, p->k - 1), special(s));
    if (kind == ROW_TIES) fill_ties(r, p, row);
}

static int64_t scale_count(const qbt_qact_variant *c, int64_t m, int64_t k)
{
    return c->mode == QBLAS_SCALE_PER_TENSOR ? 1 : c->mode == QBLAS_SCALE_PER_ROW ? m : m * ((k + 127) / 128);
}

/* Expected results for the current x (and, PER_TENSOR, a new static scale). */
static void prob_refresh(qa_prob *p, qbt_rng *r)
{
    for (int64_t row = 0; row < p->m; row++)
        for (int64_t i = 0; i < p->k; i++) p->f[row * p->k + i] = (float)qbt_get(p->xt, p->x, row * p->ldx + i);
    if (p->cfg.mode == QBLAS_SCALE_PER_TENSOR) {
        /* static scale around the data's range, so that some values saturate */
        float amax = ref_amax(p->f, p->m * p->k);
        p->scales[0] = (amax > 0.0f ? amax : 1.0f) / qmax_of(p->cfg.qt) * (float)qbt_uniform(r, 0.5, 1.5);
        p->es[0] = p->scales[0];
    }
    reference(p);
}

static void prob_make(qa_prob *p, const qbt_qact_variant *cfg, qblas_dtype_t xt, int64_t m, int64_t k, int64_t ldx,
                      int64_t ldq, qbt_rng *r, int kind0)
{
    *p = (qa_prob){.m = m, .k = k, .ldx = ldx, .ldq = ldq, .xt = xt, .cfg = *cfg};
    p->x = qbt_alloc((size_t)(m * ldx) * xsize(xt)); /* padding stays random junk */
    for (int64_t row = 0; row < m; row++) fill_row(r, p, row, (int)((kind0 + row) % ROW_KINDS));
    p->q = qbt_alloc((size_t)(m * ldq));
    p->nscales = scale_count(cfg, m, k);
    p->scales = qbt_alloc(4 * (size_t)p->nscales);
    if (cfg->asym) p->zeros = qbt_alloc(4 * (size_t)m);
    p->f = malloc(sizeof(float) * (size_t)(m * k));
    p->eq = malloc((size_t)(m * k));
    p->es = malloc(4 * (size_t)p->nscales);
    p->ez = malloc(4 * (size_t)m);
    prob_refresh(p, r);
}

static void prob_free(qa_prob *p)
{
    qbt_free(p->x);
    qbt_free(p->q);
    qbt_free(p->scales);
    qbt_free(p->zeros);
    free(p->f);
    free(p->eq);
    free(p->es);
    free(p->ez);
}

static qblas_status_t run(qblas_handle_t h, qa_prob *p)
{
    return qblas_quantize_act(h, p->m, p->k, p->xt, p->x, p->ldx, p->cfg.qt, p->q, p->ldq, p->cfg.mode, p->scales,
                              p->zeros, NULL);
}

/* Fill every output with byte b first (two different bytes over two runs
 * catch an element left unwritten even where the poison is a valid code). */
static void prefill(qa_prob *p, int b)
{
    if (b == 0xFF)
        qbt_poison(p->q, (size_t)(p->m * p->ldq));
    else
        memset(p->q, b, (size_t)(p->m * p->ldq));
    if (p->cfg.mode != QBLAS_SCALE_PER_TENSOR) memset(p->scales, b, 4 * (size_t)p->nscales); /* 0xFF: NaN */
    if (p->zeros) memset(p->zeros, b == 0xFF ? 0x5A : b, 4 * (size_t)p->m); /* never a valid zero point */
}

/* failure context: format prefix and its arguments (the arguments go first) */
#define CTX_F "(%s->%s mode %d asym %d m=%lld k=%lld) [seed %llu]: "
#define CTX_A                                                                                       \
    qblas_dtype_name(p->xt), qblas_dtype_name(p->cfg.qt), p->cfg.mode, p->cfg.asym, (long long)p->m, \
        (long long)p->k, (unsigned long long)qbt_seed

static void check_exact(const qa_prob *p, int fill)
{
    for (int64_t r = 0; r < p->m; r++) {
        for (int64_t i = 0; i < p->k; i++)
            QBT_EXPECT(p->q[r * p->ldq + i] == p->eq[r * p->k + i], CTX_F "q[%lld][%lld] = 0x%02x, want 0x%02x", CTX_A,
                   (long long)r, (long long)i, p->q[r * p->ldq + i], p->eq[r * p->k + i]);
        for (int64_t i = p->k; i < p->ldq; i++)
            QBT_EXPECT(p->q[r * p->ldq + i] == fill, CTX_F "ldq padding of row %lld written", CTX_A, (long long)r);
        if (p->zeros) QBT_EXPECT(p->zeros[r] == p->ez[r], CTX_F "zeros[%lld] = %d, want %d", CTX_A, (long long)r,
                             p->zeros[r], p->ez[r]);
    }
    /* bit patterns: a static scale must come back unchanged too */
    QBT_EXPECT(memcmp(p->scales, p->es, 4 * (size_t)p->nscales) == 0, CTX_F "scales differ", CTX_A);
}

static double decode(qblas_dtype_t qt, uint8_t c) { return qbt_get(qt, &c, 0); }

/* Scale that applies to element (r, i). */
static double scale_at(const qa_prob *p, int64_t r, int64_t i)
{
    switch (p->cfg.mode) {
    case QBLAS_SCALE_PER_TENSOR: return p->scales[0];
    case QBLAS_SCALE_PER_ROW: return p->scales[r];
    default: return p->scales[r * ((p->k + 127) / 128) + i / 128];
    }
}

/* Semantic checks and reconstruction bounds, independent of the formula's details. */
static void check_bounds(const qa_prob *p)
{
    const qblas_dtype_t qt = p->cfg.qt;
    const int mb = qt == QBLAS_DTYPE_E5M2 ? 2 : 3;
    const int bias = qt == QBLAS_DTYPE_E4M3 ? 7 : qt == QBLAS_DTYPE_E5M2 ? 15 : 8;
    const bool stat = p->cfg.mode == QBLAS_SCALE_PER_TENSOR;
    for (int64_t r = 0; r < p->m; r++) {
        const float *f = p->f + r * p->k;
        for (int64_t i = 0; i < p->k; i++) {
            double x = f[i], s = scale_at(p, r, i);
            uint8_t c = p->q[r * p->ldq + i];
            double deq = qt == QBLAS_DTYPE_I8 ? s * ((int8_t)c - (p->zeros ? p->zeros[r] : 0)) : s * decode(qt, c);
            if (isnan(x)) { /* int8: code 0 (also asymmetric: rint(NaN) + z is NaN); fp8: NaN */
                QBT_EXPECT(qt == QBLAS_DTYPE_I8 ? c == 0 : isnan(deq), CTX_F "NaN at [%lld][%lld] gave code 0x%02x", CTX_A,
                       (long long)r, (long long)i, c);
                continue;
            }
            if (isinf(x)) { /* saturates to the largest code of x's sign */
                double top = qt != QBLAS_DTYPE_I8 ? fp8_max(qt) : 127.0;
                double got = qt == QBLAS_DTYPE_I8 ? (double)(int8_t)c : decode(qt, c);
                if (p->zeros && x < 0) top = 128.0;
                QBT_EXPECT(got == (x > 0 ? top : -top), CTX_F "inf at [%lld][%lld] gave %g", CTX_A, (long long)r,
                       (long long)i, got);
                continue;
            }
            double tol;
            if (qt == QBLAS_DTYPE_I8 && !p->zeros) {
                /* |x/s| <= 127(1+u): f32 division error <= 128u, rint <= 1/2 */
                if (stat && fabs(x) > 127.0 * s) continue; /* static scale: saturated on purpose */
                tol = s * (0.5 + 128.0 * QBT_U32);
            } else if (qt == QBLAS_DTYPE_I8) {
                /* 1/2 from rint, plus f32 rounding of hi-lo, (hi-lo)/255, x/s, lo/s and -128-lo/s,
                 * quotients of magnitude <= 256: under 4 * 256u in units of s */
                tol = s * (0.5 + 1024.0 * QBT_U32);
            } else {
                /* fp8 rounding: 2^-(mb+1) relative (normal) or half the subnormal quantum
                 * 2^(-bias-mb) absolute; x/s in f32 adds u (twice, to cover saturation at the top) */
                if (stat && fabs(x) > fp8_max(qt) * s) continue;
                tol = (ldexp(1.0, -(mb + 1)) + 2.0 * QBT_U32) * fabs(x) + s * ldexp(1.0, -bias - mb);
            }
            QBT_EXPECT(qbt_close(deq, x, tol), CTX_F "x[%lld][%lld] = %.9g reconstructs as %.9g (tol %.3g)", CTX_A,
                   (long long)r, (long long)i, x, deq, tol);
        }
    }
}

/* Rows of zeros only: scale 1 (and q = 0 for the symmetric formats). */
static void check_zero_rows(const qa_prob *p, int kind0)
{
    if (p->cfg.mode == QBLAS_SCALE_PER_TENSOR) return;
    for (int64_t r = 0; r < p->m; r++) {
        if ((kind0 + r) % ROW_KINDS != ROW_ZEROS) continue;
        int64_t nkb = p->cfg.mode == QBLAS_SCALE_BLOCK_1X128 ? (p->k + 127) / 128 : 1;
        for (int64_t kb = 0; kb < nkb; kb++)
            QBT_EXPECT(p->scales[r * nkb + kb] == 1.0f, "zero row %lld: scale not 1", (long long)r);
        if (!p->zeros)
            for (int64_t i = 0; i < p->k; i++)
                QBT_EXPECT(decode(p->cfg.qt, p->q[r * p->ldq + i]) == 0.0, "zero row %lld: code not 0", (long long)r);
    }
}

static const char *want_kernel(const qbt_qact_variant *c)
{
    static const char *const names[4][3] = {
        {"cpu_ref_quant_i8_tensor", "cpu_ref_quant_i8_row", NULL},
        {"cpu_ref_quant_e4m3_tensor", "cpu_ref_quant_e4m3_row", "cpu_ref_quant_e4m3_block128"},
        {"cpu_ref_quant_e5m2_tensor", "cpu_ref_quant_e5m2_row", "cpu_ref_quant_e5m2_block128"},
        {"cpu_ref_quant_e4m3fnuz_tensor", "cpu_ref_quant_e4m3fnuz_row", "cpu_ref_quant_e4m3fnuz_block128"}};
    if (c->asym) return "cpu_ref_quant_i8asym_row";
    int t = c->qt == QBLAS_DTYPE_I8 ? 0 : c->qt == QBLAS_DTYPE_E4M3 ? 1 : c->qt == QBLAS_DTYPE_E5M2 ? 2 : 3;
    int m = c->mode == QBLAS_SCALE_PER_TENSOR ? 0 : c->mode == QBLAS_SCALE_PER_ROW ? 1 : 2;
    return names[t][m];
}

/* Every format and mode x every input dtype x odd k; rows, padding and threads rotate. */
START_TEST(quant_act_all)
{
    static const int64_t Ms[] = {1, 3, 17}, Ks[] = {1, 127, 129, 300};
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(1001);
    int it = 0;
    for (int ci = 0; ci < QBT_N_QACT_VARIANTS; ci++)
        for (int xi = 0; xi < 3; xi++)
            for (int ki = 0; ki < 4; ki++, it++) {
                int64_t m = Ms[it % 3], k = Ks[ki];
                qa_prob p;
                int kind0 = (int)qbt_int(&r, 0, ROW_KINDS - 1);
                prob_make(&p, &qbt_qact_variants[ci], qbt_qact_inputs[xi], m, k, k + (it % 2 ? 5 : 0), k + (it % 4 < 2 ? 3 : 0), &r,
                          kind0);
                QBT_OK(qblas_set_num_threads(h, 1 + it % 2));
                static const int fills[2] = {0xFF, 0x5A};
                for (int f = 0; f < 2; f++) {
                    prefill(&p, fills[f]);
                    qblas_status_t st = run(h, &p);
                    QBT_EXPECT(st == QBLAS_STATUS_SUCCESS, "%s: %s", qblas_status_string(st), qblas_last_error(h));
                    check_exact(&p, fills[f]);
                }
                check_bounds(&p);
                check_zero_rows(&p, kind0);
                char name[QBLAS_KERNEL_NAME_MAX];
                QBT_OK(qblas_last_kernel(h, name, sizeof name));
                ck_assert_str_eq(name, want_kernel(&qbt_qact_variants[ci]));
                prob_free(&p);
            }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* 1, 2 and 3 threads give identical bytes (each row is one thread's work). */
START_TEST(quant_act_threads)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(1002);
    for (int ci = 0; ci < QBT_N_QACT_VARIANTS; ci++) {
        qa_prob p;
        prob_make(&p, &qbt_qact_variants[ci], QBLAS_DTYPE_BF16, 17, 300, 300, 301, &r, ci);
        for (int t = 1; t <= 3; t++) {
            QBT_OK(qblas_set_num_threads(h, t));
            prefill(&p, 0xFF);
            QBT_OK(run(h, &p));
            check_exact(&p, 0xFF);
        }
        prob_free(&p);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* A static scale that is 0, negative, NaN or inf is refused; nothing is written. */
START_TEST(quant_act_bad_static_scale)
{
    static const float bad[] = {0.0f, -0.0f, -1.0f, NAN, INFINITY, -INFINITY};
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(1003);
    for (int b = 0; b < 6; b++)
        for (int ci = 0; ci < QBT_N_QACT_VARIANTS; ci++) {
            if (qbt_qact_variants[ci].mode != QBLAS_SCALE_PER_TENSOR) continue;
            qa_prob p;
            prob_make(&p, &qbt_qact_variants[ci], qbt_qact_inputs[b % 3], 3, 129, 129, 130, &r, b);
            p.scales[0] = bad[b];
            qbt_poison(p.q, (size_t)(p.m * p.ldq));
            void *snap = qbt_snapshot(p.q, (size_t)(p.m * p.ldq));
            QBT_STATUS(run(h, &p), QBLAS_STATUS_INVALID_VALUE);
            QBT_EXPECT(qbt_unchanged(p.q, snap, (size_t)(p.m * p.ldq)), "q written by a failing call");
            ck_assert(memcmp(&p.scales[0], &bad[b], 4) == 0);
            ck_assert(strlen(qblas_last_error(h)) > 0);
            free(snap);
            prob_free(&p);
        }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Ranges near FLT_MAX: max - min overflows to inf, and an infinite scale
 * is replaced by 1 like a zero one (asymmetric: z then clamps to 127). */
START_TEST(quant_act_huge_range)
{
    static const float rows[2][5] = {{-3e38f, 3e38f, 1.5f, -2.5f, 0.75f}, {FLT_MAX, -FLT_MAX, 7.0f, NAN, -1e30f}};
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(1004);
    for (int ci = 0; ci < QBT_N_QACT_VARIANTS; ci++) {
        qa_prob p;
        prob_make(&p, &qbt_qact_variants[ci], QBLAS_DTYPE_F32, 2, 5, 5, 5, &r, 0);
        memcpy(p.x, rows, sizeof rows);
        prob_refresh(&p, &r);
        prefill(&p, 0xFF);
        QBT_OK(run(h, &p));
        check_exact(&p, 0xFF);
        if (p.zeros)
            for (int row = 0; row < 2; row++) ck_assert(p.scales[row] == 1.0f && p.zeros[row] == 127);
        prob_free(&p);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Asymmetric int8 keeps 0 in a row's range (FORMATS.md says why, against
 * vLLM's true min/max): a row of one sign gets s = max|x| / 255 and the end
 * zero point, every value still round-trips within s/2, and the zero points
 * are int8 values, which the INT8 GEMM takes (its content check). */
START_TEST(quant_act_asym_range_holds_zero)
{
    enum { M = 3, K = 64 };
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(1005);
    float x[M][K];
    for (int i = 0; i < K; i++) {
        x[0][i] = 2.0f + (float)i / (K - 1);  /* [2, 3]: vLLM would use s = 1/255, z = -638 */
        x[1][i] = -x[0][i];                   /* [-3, -2] */
        x[2][i] = (float)qbt_uniform(&r, -1.0, 2.0);
    }
    int8_t q[M][K];
    float s[M];
    int32_t z[M];
    QBT_OK(qblas_quantize_act(h, M, K, QBLAS_DTYPE_F32, x, K, QBLAS_DTYPE_I8, q, K, QBLAS_SCALE_PER_ROW, s, z, NULL));
    ck_assert(s[0] == 3.0f / 255.0f && z[0] == -128);
    ck_assert(s[1] == 3.0f / 255.0f && z[1] == 127);
    for (int m = 0; m < M; m++) {
        ck_assert(z[m] >= -128 && z[m] <= 127);
        for (int i = 0; i < K; i++) {
            double back = (double)s[m] * (q[m][i] - z[m]);
            /* s/2, plus the fp32 rounding of x / s (at most |q - z| <= 255 half-ulps of s) */
            QBT_EXPECT(fabs(back - x[m][i]) <= s[m] * (0.5 + 255 * QBT_U32), "row %d col %d: %g -> %g", m, i,
                       (double)x[m][i], back);
        }
    }
    /* the zero points feed the INT8 GEMM as they are */
    int8_t w[2][K];
    float sw[2] = {0.01f, 0.02f}, y[M][2];
    for (int i = 0; i < 2 * K; i++) w[i / K][i % K] = (int8_t)qbt_int(&r, -127, 127);
    qblas_act_t xa = {QBLAS_DTYPE_I8, q, K, QBLAS_SCALE_PER_ROW, s, z};
    qblas_weight_t wd = {.format = QBLAS_WFORMAT_INT8, .dtype = QBLAS_DTYPE_I8, .n = 2, .k = K, .data = w,
                         .scale_mode = QBLAS_SCALE_PER_ROW, .scale_dtype = QBLAS_DTYPE_F32, .scales = sw};
    QBT_OK(qbt_gemm(h, M, &xa, &wd, NULL, QBLAS_DTYPE_F32, y, 2, NULL));
    QBT_OK(qblas_destroy(h));
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("quant_act");
    TCase *tc = tcase_create("quant_act");
    tcase_add_test(tc, quant_act_all);
    tcase_add_test(tc, quant_act_threads);
    tcase_add_test(tc, quant_act_bad_static_scale);
    tcase_add_test(tc, quant_act_huge_range);
    tcase_add_test(tc, quant_act_asym_range_holds_zero);
    suite_add_tcase(s, tc);
    return s;
}
