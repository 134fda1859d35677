/* test_import.c - GPTQ and AWQ checkpoints -> canonical W4A16.
 *
 * Checkpoints are packed here from their published layouts (eight u4 per
 * int32, value i in bits 4i..4i+3):
 *   GPTQ qweight [k/8][n]: k-th code of column n in word (k/8, n), nibble k%8
 *        qzeros  [G][n/8]: word (g, n/8), nibble n%8; v1 files store the
 *                          packed word minus 0x11111111 (GPTQModel's v1 writer)
 *   AWQ  qweight [k][n/8]: nibble i of word (k, j) holds column 8j + ORDER[i]
 *        qzeros  [G][n/8]: the same nibble order, ORDER = {0,2,4,6,1,3,5,7}
 * and the imported weight, dequantized by the library, is compared with
 * (code - zero) * scale computed here from the checkpoint tensors.
 */
#include "qb_test.h"

static const int AWQ_ORDER[8] = {0, 2, 4, 6, 1, 3, 5, 7};

static size_t esize(qblas_dtype_t t) { return t == QBLAS_DTYPE_F32 ? 4 : 2; }

/* A checkpoint: the true codes/zeros it encodes, and its packed tensors. */
typedef struct {
    bool awq, minus_one;
    int64_t k, n, G;
    int gs; /* as the checkpoint config spells it: -1 / 0 per-channel */
    qblas_dtype_t sdt;
    uint8_t *codes; /* [k][n] */
    uint8_t *zeros; /* [G][n] true zero points */
    uint32_t *qweight, *qzeros;
    void *scales;    /* [G][n] */
    int32_t *g_idx;  /* [k] or NULL */
} ckpt;

static void put_nibble(uint32_t *word, int i, int v) { *word |= (uint32_t)(v & 15) << (4 * i); }
static int get_nibble(uint32_t word, int i) { return (int)((word >> (4 * i)) & 15u); }

/* GPTQ v1 as GPTQModel writes it: one 32-bit subtraction per packed word,
 * so a zero of 0 borrows from the next nibble (and the top one out of the word). */
#define GPTQ_V1_ONES 0x11111111u

static void pack(ckpt *c)
{
    int64_t k = c->k, n = c->n;
    memset(c->qweight, 0, qbt_size(c->qweight));
    memset(c->qzeros, 0, qbt_size(c->qzeros));
    for (int64_t g = 0; g < c->G; g++)
        for (int64_t j = 0; j < n / 8; j++) {
            uint32_t *word = &c->qzeros[g * (n / 8) + j];
            for (int i = 0; i < 8; i++) put_nibble(word, i, c->zeros[g * n + 8 * j + (c->awq ? AWQ_ORDER[i] : i)]);
            if (c->minus_one) *word -= GPTQ_V1_ONES;
        }
    if (c->awq) {
        for (int64_t kk = 0; kk < k; kk++)
            for (int64_t j = 0; j < n / 8; j++)
                for (int i = 0; i < 8; i++)
                    put_nibble(&c->qweight[kk * (n / 8) + j], i, c->codes[kk * n + 8 * j + AWQ_ORDER[i]]);
    } else {
        for (int64_t kk = 0; kk < k; kk++)
            for (int64_t col = 0; col < n; col++)
                put_nibble(&c->qweight[(kk / 8) * n + col], (int)(kk % 8), c->codes[kk * n + col]);
    }
}

/* Code read back from the packed tensor (zeros: the true ones, c->zeros). */
static int ck_code(const ckpt *c, int64_t k, int64_t n)
{
    if (!c->awq) return get_nibble(c->qweight[(k / 8) * c->n + n], (int)(k % 8));
    for (int i = 0; i < 8; i++)
        if (AWQ_ORDER[i] == n % 8) return get_nibble(c->qweight[k * (c->n / 8) + n / 8], i);
    return -1;
}

static int64_t ck_group(const ckpt *c, int64_t k)
{
    if (c->g_idx) return c->g_idx[k];
    return c->gs > 0 ? k / c->gs : 0;
}

static float ck_dequant(const ckpt *c, int64_t k, int64_t n)
{
    int64_t g = ck_group(c, k);
    /* exact double product of a 4-bit integer and the scale, rounded once to fp32 */
    return (float)((double)(ck_code(c, k, n) - c->zeros[g * c->n + n]) * qbt_get(c->sdt, c->scales, g * c->n + n));
}

/* g_idx: 0 none, 1 trivial (k / group_size), 2 act-order permutation */
static void ck_make(ckpt *c, qbt_rng *r, bool awq, int64_t k, int64_t n, int gs, qblas_dtype_t sdt, bool minus_one,
                    int gmode, bool all8)
{
    memset(c, 0, sizeof *c);
    c->awq = awq, c->minus_one = minus_one, c->k = k, c->n = n, c->gs = gs, c->sdt = sdt;
    c->G = gs > 0 ? k / gs : 1;
    if (gs > 0 && k % gs) c->G = 1; /* invalid on purpose: the import must refuse it */
    c->codes = qbt_alloc((size_t)(k * n));
    c->zeros = qbt_alloc((size_t)(c->G * n));
    c->qweight = qbt_alloc((size_t)(awq ? k * (n / 8) : (k / 8 + (k % 8 != 0)) * n) * 4);
    c->qzeros = qbt_alloc((size_t)(c->G * (n / 8 > 0 ? n / 8 : 1)) * 4);
    c->scales = qbt_alloc((size_t)(c->G * n) * esize(sdt));
    for (int64_t i = 0; i < k * n; i++) c->codes[i] = (uint8_t)qbt_int(r, 0, 15);
    for (int64_t i = 0; i < c->G * n; i++) c->zeros[i] = all8 ? 8 : (uint8_t)qbt_int(r, 0, 15);
    qbt_fill(r, sdt, c->scales, c->G * n, 0.001, 0.05);
    if (gmode) {
        c->g_idx = qbt_alloc((size_t)k * 4);
        for (int64_t i = 0; i < k; i++) c->g_idx[i] = (int32_t)(gs > 0 ? i / gs : 0);
        for (int64_t i = k - 1; gmode == 2 && i > 0; i--) {
            int64_t j = qbt_int(r, 0, i);
            int32_t t = c->g_idx[i];
            c->g_idx[i] = c->g_idx[j], c->g_idx[j] = t;
        }
    }
    if (n % 8 == 0 && (awq || k % 8 == 0)) pack(c);
}

static void ck_free(ckpt *c)
{
    qbt_free(c->codes), qbt_free(c->zeros), qbt_free(c->qweight), qbt_free(c->qzeros), qbt_free(c->scales);
    qbt_free(c->g_idx);
}

/* Output buffers as a caller gives them: pointers only. */
typedef struct {
    qblas_weight_t w;
    void *data, *scales, *zeros, *g_idx;
} outbuf;

static void out_make(outbuf *o, const ckpt *c, bool zeros, bool g_idx)
{
    memset(o, 0, sizeof *o);
    o->data = qbt_alloc((size_t)(c->n * ((c->k + 1) / 2)));
    o->scales = qbt_alloc((size_t)(c->G * c->n) * esize(c->sdt));
    if (zeros) o->zeros = qbt_alloc((size_t)(c->G * c->n));
    if (g_idx) o->g_idx = qbt_alloc((size_t)c->k * 4);
    o->w.data = o->data, o->w.scales = o->scales, o->w.zeros = o->zeros, o->w.g_idx = o->g_idx;
}

static void out_free(outbuf *o) { qbt_free(o->data), qbt_free(o->scales), qbt_free(o->zeros), qbt_free(o->g_idx); }

static qblas_status_t do_import(const ckpt *c, outbuf *o)
{
    if (c->awq)
        return qblas_import_awq(c->k, c->n, c->gs, (const int32_t *)c->qweight, (const int32_t *)c->qzeros,
                                c->scales, c->sdt, &o->w);
    return qblas_import_gptq(c->k, c->n, c->gs, (const int32_t *)c->qweight, (const int32_t *)c->qzeros, c->scales,
                             c->sdt, c->g_idx, c->minus_one, &o->w);
}

/* The imported descriptor and what the library dequantizes from it. */
static void check_import(const ckpt *c, const outbuf *o, bool nontrivial)
{
    const qblas_weight_t *w = &o->w;
    ck_assert_int_eq(w->format, QBLAS_WFORMAT_W4A16);
    ck_assert_int_eq(w->layout, QBLAS_LAYOUT_CANONICAL);
    ck_assert_int_eq(w->dtype, QBLAS_DTYPE_U4);
    ck_assert_int_eq(w->n, c->n);
    ck_assert_int_eq(w->k, c->k);
    ck_assert_int_eq(w->group_size, c->gs > 0 ? c->gs : 0);
    ck_assert_int_eq(w->scale_mode, QBLAS_SCALE_PER_GROUP);
    ck_assert_int_eq(w->scale_dtype, c->sdt);
    ck_assert_ptr_eq(w->data, o->data);
    ck_assert_ptr_eq(w->zeros, o->zeros);
    ck_assert_ptr_eq(w->g_idx, nontrivial ? o->g_idx : NULL);
    if (nontrivial) ck_assert(memcmp(o->g_idx, c->g_idx, (size_t)c->k * 4) == 0);
    if (o->zeros)
        for (int64_t i = 0; i < c->G * c->n; i++) ck_assert_int_eq(((uint8_t *)o->zeros)[i], c->zeros[i]);
    int64_t ld = c->k + 1;
    float *dst = qbt_alloc((size_t)(c->n * ld) * 4);
    qbt_poison(dst, qbt_size(dst));
    QBT_OK(qblas_dequantize_weight(w, QBLAS_DTYPE_F32, dst, ld));
    for (int64_t n = 0; n < c->n; n++)
        for (int64_t k = 0; k < c->k; k++) {
            /* the same fp32 product on both sides: exact equality */
            float want = ck_dequant(c, k, n), got = dst[n * ld + k];
            ck_assert_msg(got == want, "w[%lld,%lld] = %.9g, want %.9g (awq %d gs %d) [seed %llu]", (long long)n,
                          (long long)k, got, want, c->awq, c->gs, (unsigned long long)qbt_seed);
            /* and the packing in this test is the one the codes were drawn for */
            ck_assert_int_eq(ck_code(c, k, n), c->codes[k * c->n + n]);
        }
    qbt_free(dst);
}

START_TEST(gptq_import)
{
    static const int GS[5] = {32, 64, 128, 0, -1};
    static const qblas_dtype_t SDT[3] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_F32};
    int idx = 0;
    for (int gi = 0; gi < 5; gi++)
        for (int gmode = 0; gmode < (GS[gi] > 0 ? 3 : 2); gmode++)
            for (int m1 = 0; m1 < 2; m1++, idx++) {
                qbt_rng r = qbt_rng_make(100 + idx);
                int64_t k = GS[gi] > 0 ? GS[gi] * (1 + idx % 3) : 8 * (1 + idx % 9), n = 8 * (1 + idx % 5);
                ckpt c;
                ck_make(&c, &r, false, k, n, GS[gi], SDT[idx % 3], m1, gmode, false);
                outbuf o;
                out_make(&o, &c, true, gmode == 2);
                QBT_OK(do_import(&c, &o));
                check_import(&c, &o, gmode == 2);
                out_free(&o);
                ck_free(&c);
            }
}
END_TEST

START_TEST(awq_import)
{
    static const int GS[4] = {32, 64, 128, 0};
    static const qblas_dtype_t SDT[3] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_F32};
    for (int gi = 0; gi < 4; gi++)
        for (int si = 0; si < 3; si++) {
            qbt_rng r = qbt_rng_make(200 + gi * 3 + si);
            /* per-channel AWQ: k need not be a multiple of 8 (or even) */
            int64_t k = GS[gi] ? GS[gi] * (1 + si) : 8 * si + 5, n = 8 * (1 + gi + si);
            ckpt c;
            ck_make(&c, &r, true, k, n, GS[gi], SDT[si], false, 0, false);
            outbuf o;
            out_make(&o, &c, true, false);
            QBT_OK(do_import(&c, &o));
            check_import(&c, &o, false);
            if (k % 2) /* odd k: the padding nibble is 0 */
                for (int64_t row = 0; row < n; row++)
                    ck_assert_int_eq(((uint8_t *)o.data)[row * ((k + 1) / 2) + k / 2] >> 4, 0);
            out_free(&o);
            ck_free(&c);
        }
}
END_TEST

/* out->zeros NULL: fine when every zero is 8 (stored 7 in v1 files). */
START_TEST(symmetric_import)
{
    qbt_rng r = qbt_rng_make(300);
    for (int awq = 0; awq < 2; awq++)
        for (int m1 = 0; m1 < (awq ? 1 : 2); m1++) {
            ckpt c;
            ck_make(&c, &r, awq, 128, 24, 64, QBLAS_DTYPE_F16, m1, 0, true);
            outbuf o;
            out_make(&o, &c, false, false);
            QBT_OK(do_import(&c, &o));
            check_import(&c, &o, false);
            out_free(&o);
            ck_free(&c);
        }
}
END_TEST

/* GPTQ v1 zero points are read by the whole-word rule: GPTQModel stores
 * packed(zeros) - 0x11111111 as one 32-bit subtraction, so a zero of 0
 * borrows from the nibble above it. The repro: K = 128, N = 16,
 * group_size -1, true zeros of word 0 = [5,5,0,14,5,5,5,5] (0x5555E055),
 * stored 0x4444CF44; a per-nibble "+1" reads zero 3 as 13. Word 1 holds
 * only zeros of 0: every nibble borrows, the top one out of the word. */
START_TEST(gptq_v1_zero_borrow)
{
    qbt_rng r = qbt_rng_make(350);
    ckpt c;
    ck_make(&c, &r, false, 128, 16, -1, QBLAS_DTYPE_F16, true, 0, false);
    static const uint8_t z0[8] = {5, 5, 0, 14, 5, 5, 5, 5};
    for (int i = 0; i < 8; i++) c.zeros[i] = z0[i], c.zeros[8 + i] = 0;
    pack(&c);
    ck_assert_uint_eq(c.qzeros[0], 0x4444CF44u);
    ck_assert_uint_eq(c.qzeros[1], 0xEEEEEEEFu);
    outbuf o;
    out_make(&o, &c, true, false);
    QBT_OK(do_import(&c, &o));
    const uint8_t *z = o.zeros;
    ck_assert_msg(z[3] == 14, "zeros[3] = %d, want 14", z[3]);
    check_import(&c, &o, false); /* every zero and every dequantized weight */
    out_free(&o);
    ck_free(&c);
}
END_TEST

/* g_idx is kept when it differs from k / group_size at a single k (and then
 * needs out->g_idx); equal at every k, it is dropped (FORMATS.md wording). */
START_TEST(gptq_g_idx_one_k_differs)
{
    qbt_rng r = qbt_rng_make(360);
    ckpt c;
    ck_make(&c, &r, false, 128, 16, 32, QBLAS_DTYPE_F16, false, 1, false); /* trivial g_idx */
    outbuf o;
    out_make(&o, &c, true, true);
    QBT_OK(do_import(&c, &o));
    check_import(&c, &o, false); /* trivial: g_idx = NULL */
    out_free(&o);
    c.g_idx[5] = 3; /* column 5 of group 0 moved to group 3: G = 4 groups stay valid */
    out_make(&o, &c, true, true);
    QBT_OK(do_import(&c, &o));
    check_import(&c, &o, true);
    out_free(&o);
    out_make(&o, &c, true, false);
    QBT_STATUS(do_import(&c, &o), QBLAS_STATUS_INVALID_VALUE); /* nowhere to keep it */
    out_free(&o);
    ck_free(&c);
}
END_TEST

/* A failing import: INVALID_VALUE, no buffer and not the descriptor written. */
static void expect_refused(const ckpt *c, outbuf *o)
{
    void *sd = qbt_snapshot(o->data, qbt_size(o->data)), *ss = qbt_snapshot(o->scales, qbt_size(o->scales));
    void *sz = o->zeros ? qbt_snapshot(o->zeros, qbt_size(o->zeros)) : NULL;
    void *sg = o->g_idx ? qbt_snapshot(o->g_idx, qbt_size(o->g_idx)) : NULL;
    qblas_weight_t before = o->w;
    QBT_STATUS(do_import(c, o), QBLAS_STATUS_INVALID_VALUE);
    ck_assert(before.data == o->w.data && before.scales == o->w.scales && before.zeros == o->w.zeros &&
              before.g_idx == o->w.g_idx && before.format == o->w.format && before.n == o->w.n &&
              before.k == o->w.k && before.group_size == o->w.group_size);
    ck_assert(qbt_unchanged(o->data, sd, qbt_size(o->data)));
    ck_assert(qbt_unchanged(o->scales, ss, qbt_size(o->scales)));
    if (sz) ck_assert(qbt_unchanged(o->zeros, sz, qbt_size(o->zeros)));
    if (sg) ck_assert(qbt_unchanged(o->g_idx, sg, qbt_size(o->g_idx)));
    free(sd), free(ss), free(sz), free(sg);
}

static void refuse(bool awq, int64_t k, int64_t n, int gs, bool zeros_out, bool gidx_out, int gmode, bool all8,
                   int64_t bad_gidx_at)
{
    qbt_rng r = qbt_rng_make(400 + (uint64_t)(k * 131 + n * 7 + gs));
    ckpt c;
    ck_make(&c, &r, awq, k, n, gs, QBLAS_DTYPE_BF16, false, gmode, all8);
    if (bad_gidx_at >= 0) c.g_idx[bad_gidx_at] = (int32_t)c.G;
    outbuf o;
    out_make(&o, &c, zeros_out, gidx_out);
    expect_refused(&c, &o);
    out_free(&o);
    ck_free(&c);
}

START_TEST(import_refusals)
{
    refuse(false, 36, 16, -1, true, false, 0, false, -1);   /* GPTQ k % 8 */
    refuse(false, 64, 12, 32, true, false, 0, false, -1);   /* GPTQ n % 8 */
    refuse(true, 64, 12, 32, true, false, 0, false, -1);    /* AWQ n % 8 */
    refuse(false, 96, 16, 64, true, false, 0, false, -1);   /* group does not divide k */
    refuse(true, 96, 16, 64, true, false, 0, false, -1);
    refuse(false, 128, 16, 48, true, false, 0, false, -1);  /* group size not 32/64/128/0/-1 */
    refuse(false, 128, 16, 32, true, true, 2, false, 77);   /* g_idx out of range */
    refuse(false, 128, 16, 32, true, false, 2, false, -1);  /* act-order g_idx, out->g_idx NULL */
    refuse(false, 128, 16, 32, false, false, 0, false, -1); /* out->zeros NULL, zeros not all 8 */
    refuse(true, 128, 16, 32, false, false, 0, false, -1);
    /* one non-8 zero is enough */
    qbt_rng r = qbt_rng_make(499);
    ckpt c;
    ck_make(&c, &r, false, 128, 16, 64, QBLAS_DTYPE_F16, false, 0, true);
    c.zeros[qbt_int(&r, 0, c.G * c.n - 1)] = 9;
    pack(&c);
    outbuf o;
    out_make(&o, &c, false, false);
    expect_refused(&c, &o);
    out_free(&o);
    ck_free(&c);
    /* NULL tensors */
    ck_make(&c, &r, false, 64, 8, 32, QBLAS_DTYPE_F16, false, 0, false);
    out_make(&o, &c, true, false);
    QBT_STATUS(qblas_import_gptq(64, 8, 32, NULL, (const int32_t *)c.qzeros, c.scales, c.sdt, NULL, 0, &o.w),
               QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_import_awq(64, 8, 32, (const int32_t *)c.qweight, NULL, c.scales, c.sdt, &o.w),
               QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_import_gptq(64, 8, 32, (const int32_t *)c.qweight, (const int32_t *)c.qzeros, c.scales, c.sdt,
                                 NULL, 0, NULL),
               QBLAS_STATUS_INVALID_VALUE);
    out_free(&o);
    ck_free(&c);
}
END_TEST

/* An imported act-order checkpoint runs through the GEMM like any weight. */
START_TEST(imported_gemm_runs)
{
    qbt_rng r = qbt_rng_make(600);
    ckpt c;
    ck_make(&c, &r, false, 256, 16, 128, QBLAS_DTYPE_F16, true, 2, false);
    outbuf o;
    out_make(&o, &c, true, true);
    QBT_OK(do_import(&c, &o));
    qblas_handle_t h = qbt_cpu();
    const int64_t m = 3;
    void *x = qbt_alloc((size_t)(m * c.k) * 2);
    float *y = qbt_alloc((size_t)(m * c.n) * 4);
    qbt_fill(&r, QBLAS_DTYPE_F16, x, m * c.k, -1, 1);
    qbt_poison(y, qbt_size(y));
    qblas_act_t xa = {QBLAS_DTYPE_F16, x, c.k, QBLAS_SCALE_NONE, NULL, NULL};
    qblas_kernel_info_t info;
    QBT_OK(qblas_gemm_query(h, m, c.n, c.k, &xa, &o.w, QBLAS_DTYPE_F32, &info));
    void *ws = qbt_alloc(info.workspace_bytes ? info.workspace_bytes : 1);
    QBT_OK(qblas_gemm(h, m, c.n, c.k, &xa, &o.w, NULL, QBLAS_DTYPE_F32, y, c.n, ws, info.workspace_bytes, NULL));
    for (int64_t mm = 0; mm < m; mm++)
        for (int64_t n = 0; n < c.n; n++) {
            double ref = 0, mag = 0;
            for (int64_t k = 0; k < c.k; k++) {
                /* the GEMM weight is the fp32 dequantized value rounded to f16 (x's dtype) */
                double wv = qb_f16_to_f32(qb_f32_to_f16(ck_dequant(&c, k, n)));
                double p = qbt_get(QBLAS_DTYPE_F16, x, mm * c.k + k) * wv;
                ref += p, mag += fabs(p);
            }
            /* exact f16 x f16 products summed in fp32 (gamma_k), stored as f32 (half an ulp) */
            double e = qbt_gamma32(c.k) * mag, tol = e + qbt_half_ulp(QBLAS_DTYPE_F32, fabs(ref) + e);
            ck_assert(qbt_close(y[mm * c.n + n], ref, tol));
        }
    qbt_free(ws), qbt_free(x), qbt_free(y);
    QBT_OK(qblas_destroy(h));
    out_free(&o);
    ck_free(&c);
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("import");
    TCase *tc = tcase_create("import");
    tcase_add_test(tc, gptq_import);
    tcase_add_test(tc, awq_import);
    tcase_add_test(tc, symmetric_import);
    tcase_add_test(tc, gptq_v1_zero_borrow);
    tcase_add_test(tc, gptq_g_idx_one_k_differs);
    tcase_add_test(tc, import_refusals);
    tcase_add_test(tc, imported_gemm_runs);
    suite_add_tcase(s, tc);
    return s;
}
