/* test_kv_append.c - qblas_kv_append on the CPU oracle: the written codes,
 * scales and zeros bit for bit against the formulas of docs/FORMATS.md
 * recomputed here in fp32; skipped and untouched slots; content checks; and
 * an end-to-end check that attention over the appended (quantized) cache
 * stays within the quantization error bound of float64 attention over the
 * original values.
 */
#include "qb_test_kv.h"

static const qblas_dtype_t srcs[] = {QBLAS_DTYPE_F32, QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16};
static const int dims[] = {64, 128, 256};

/* ---- a cache in guarded buffers, contents random ---- */

typedef struct {
    qblas_kv_cache_t kv;
    int64_t slots;        /* num_pages * page_size */
    size_t data_bytes;    /* of K (and of V) */
    size_t scale_bytes, zero_bytes;
} cache;

static size_t row_bytes(const kv_format *f, int64_t D)
{
    if (f->dtype == QBLAS_DTYPE_U4) return (size_t)D / 2;
    return (size_t)D * (f->dtype == QBLAS_DTYPE_F16 || f->dtype == QBLAS_DTYPE_BF16 ? 2 : 1);
}

static float *random_floats(qbt_rng *r, int64_t n, double lo, double hi)
{
    float *s = qbt_alloc((size_t)n * 4);
    qbt_fill(r, QBLAS_DTYPE_F32, s, n, lo, hi);
    return s;
}

/* fp8 scales in [fp8_lo, fp8_hi); per-token-head arrays hold random bytes. */
static void cache_make(cache *c, qbt_rng *r, const kv_format *f, int pages, int P, int Hkv, int D, double fp8_lo,
                       double fp8_hi)
{
    memset(c, 0, sizeof *c);
    qblas_kv_cache_t *kv = &c->kv;
    kv->dtype = f->dtype;
    kv->scale_mode = f->mode;
    kv->num_pages = pages;
    kv->page_size = P;
    kv->num_kv_heads = Hkv;
    kv->head_dim = D;
    c->slots = (int64_t)pages * P;
    c->data_bytes = (size_t)(c->slots * Hkv) * row_bytes(f, D);
    kv->k = qbt_alloc(c->data_bytes);
    kv->v = qbt_alloc(c->data_bytes);
    if (f->dtype == QBLAS_DTYPE_E4M3) {
        int64_t n = f->mode == QBLAS_SCALE_PER_HEAD ? Hkv : 1;
        c->scale_bytes = (size_t)n * 4;
        kv->k_scale = random_floats(r, n, fp8_lo, fp8_hi);
        kv->v_scale = random_floats(r, n, fp8_lo, fp8_hi);
    } else if (f->dtype == QBLAS_DTYPE_I8 || f->dtype == QBLAS_DTYPE_U4) {
        c->scale_bytes = (size_t)(c->slots * Hkv) * 4;
        kv->k_scale = qbt_alloc(c->scale_bytes);
        kv->v_scale = qbt_alloc(c->scale_bytes);
    }
    if (f->dtype == QBLAS_DTYPE_U4) {
        c->zero_bytes = c->scale_bytes;
        kv->k_zero = qbt_alloc(c->zero_bytes);
        kv->v_zero = qbt_alloc(c->zero_bytes);
    }
}

static void cache_free(cache *c)
{
    qblas_kv_cache_t *kv = &c->kv;
    void *bufs[] = {kv->k, kv->v, kv->k_scale, kv->v_scale, kv->k_zero, kv->v_zero};
    for (int i = 0; i < 6; i++) qbt_free(bufs[i]);
}

/* Snapshot of every cache array, to prove what a call did not touch. */
typedef struct {
    void *k, *v, *ks, *vs, *kz, *vz;
} cache_snap;

static void *snap_or_null(const void *p, size_t bytes) { return p ? qbt_snapshot(p, bytes) : NULL; }

static cache_snap snap(const cache *c)
{
    const qblas_kv_cache_t *kv = &c->kv;
    cache_snap s = {snap_or_null(kv->k, c->data_bytes),    snap_or_null(kv->v, c->data_bytes),
                    snap_or_null(kv->k_scale, c->scale_bytes), snap_or_null(kv->v_scale, c->scale_bytes),
                    snap_or_null(kv->k_zero, c->zero_bytes),   snap_or_null(kv->v_zero, c->zero_bytes)};
    return s;
}

static bool same(const void *p, const void *s, size_t bytes) { return !p || qbt_unchanged(p, s, bytes); }

static bool cache_unchanged(const cache *c, const cache_snap *s)
{
    const qblas_kv_cache_t *kv = &c->kv;
    return same(kv->k, s->k, c->data_bytes) && same(kv->v, s->v, c->data_bytes) &&
           same(kv->k_scale, s->ks, c->scale_bytes) && same(kv->v_scale, s->vs, c->scale_bytes) &&
           same(kv->k_zero, s->kz, c->zero_bytes) && same(kv->v_zero, s->vz, c->zero_bytes);
}

static void snap_free(cache_snap *s)
{
    free(s->k), free(s->v), free(s->ks), free(s->vs), free(s->kz), free(s->vz);
}

/* ---- new rows ---- */

/* n values of src dtype t from the f32 values x (rounded RNE for f16/bf16). */
static void *to_src(qblas_dtype_t t, const float *x, int64_t n)
{
    void *p = qbt_alloc((size_t)n * (t == QBLAS_DTYPE_F32 ? 4 : 2));
    for (int64_t i = 0; i < n; i++) {
        if (t == QBLAS_DTYPE_F32) ((float *)p)[i] = x[i];
        else if (t == QBLAS_DTYPE_F16) ((uint16_t *)p)[i] = qb_f32_to_f16(x[i]);
        else ((uint16_t *)p)[i] = qb_f32_to_bf16(x[i]);
    }
    return p;
}

/* Rows [T][H][D]: random in [-2, 2], and per token a pattern:
 * 0 with +-3e38 (u4 range overflows: scale 1; f16 sources make them inf),
 * 1 constant 0.37 (zero range), 3 all zero, 4 with +inf, NaN, -inf,
 * 5 with +-1000 (saturates fp8), 6 all in [1, 2) (u4: a row that does not
 * straddle 0 keeps its 16 levels). */
static float *new_rows(qbt_rng *r, int64_t T, int64_t H, int64_t D)
{
    float *x = random_floats(r, T * H * D, -2.0, 2.0);
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = t * H * D; i < (t + 1) * H * D; i++) {
            int64_t d = i % D;
            switch (t) {
            case 0: x[i] = d == 0 ? 3e38f : d == 1 ? -3e38f : x[i]; break;
            case 1: x[i] = 0.37f; break;
            case 3: x[i] = 0.0f; break;
            case 4: x[i] = d == 0 ? INFINITY : d == 1 ? NAN : d == 2 ? -INFINITY : x[i]; break;
            case 5: x[i] = d % 3 == 0 ? 1000.0f : d % 3 == 1 ? -1000.0f : x[i]; break;
            case 6: x[i] = 1.5f + x[i] / 4.0f; break;
            default: break;
            }
        }
    return x;
}

/* ---- the expected row, from the format definition, in fp32 ---- */

typedef struct {
    uint8_t code[512];
    float scale, zero;
} row_expect;

static void expect_i8(const float *x, int D, row_expect *e)
{
    float amax = 0.0f;
    for (int d = 0; d < D; d++)
        if (isfinite(x[d])) amax = fmaxf(amax, fabsf(x[d]));
    float s = amax / 127.0f;
    if (s == 0.0f) s = 1.0f;
    for (int d = 0; d < D; d++) e->code[d] = (uint8_t)(int8_t)qb_round_clamp(x[d] / s, -127, 127);
    e->scale = s;
}

static void expect_u4(const float *x, int D, row_expect *e)
{
    float lo = INFINITY, hi = -INFINITY;
    for (int d = 0; d < D; d++)
        if (isfinite(x[d])) lo = fminf(lo, x[d]), hi = fmaxf(hi, x[d]);
    if (lo > hi) lo = hi = 0.0f;
    float s = (hi - lo) / 15.0f;
    if (s == 0.0f || isinf(s)) s = 1.0f;
    memset(e->code, 0, (size_t)D / 2);
    for (int d = 0; d < D; d++) {
        int q = qb_round_clamp((x[d] - lo) / s, 0, 15);
        e->code[d / 2] |= (uint8_t)(q << (4 * (d % 2)));
    }
    e->scale = s;
    e->zero = -lo / s;
}

static void expect_row(const kv_format *f, const float *x, int D, float fp8_scale, row_expect *e)
{
    switch (f->dtype) {
    case QBLAS_DTYPE_F16:
    case QBLAS_DTYPE_BF16:
        for (int d = 0; d < D; d++) {
            uint16_t b = f->dtype == QBLAS_DTYPE_F16 ? qb_f32_to_f16(x[d]) : qb_f32_to_bf16(x[d]);
            memcpy(e->code + 2 * d, &b, 2);
        }
        break;
    case QBLAS_DTYPE_E4M3:
        for (int d = 0; d < D; d++) e->code[d] = qb_fp8_encode(x[d] / fp8_scale, QB_FP8_E4M3);
        break;
    case QBLAS_DTYPE_I8: expect_i8(x, D, e); break;
    default: expect_u4(x, D, e); break;
    }
}

/* ---- bit-exact append ---- */

typedef struct {
    const kv_format *f;
    qblas_dtype_t src;
    int T, H, D;
    cache c;
    int64_t *slot_map;
    float *xk, *xv;       /* the rows as f32 values of the source dtype */
    void *k_new, *v_new;
} append_case;

/* Slots: distinct random ones, two skipped (-1, -3), token 8 repeats token
 * 3's slot (the later token wins), token 9 takes the last slot. */
static int64_t *slot_mapping(qbt_rng *r, int64_t slots, int T)
{
    int64_t *m = qbt_alloc((size_t)T * 8), *perm = qbt_alloc((size_t)slots * 8);
    for (int64_t i = 0; i < slots; i++) perm[i] = i;
    for (int64_t i = slots - 2; i > 0; i--) { /* the last slot stays last */
        int64_t j = qbt_int(r, 0, i), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int t = 0; t < T; t++) m[t] = perm[t];
    m[2] = -1;
    m[7] = -3;
    m[8] = m[3];
    m[9] = slots - 1;
    qbt_free(perm);
    return m;
}

static void append_make(append_case *a, qbt_rng *r, int i)
{
    memset(a, 0, sizeof *a);
    a->f = &formats[i / 3];
    a->src = srcs[i % 3];
    a->T = 10, a->H = 3, a->D = dims[(i / 3 + i) % 3];
    cache_make(&a->c, r, a->f, 4, 5, a->H, a->D, 0.005, 0.02);
    a->slot_map = slot_mapping(r, a->c.slots, a->T);
    float *k = new_rows(r, a->T, a->H, a->D), *v = new_rows(r, a->T, a->H, a->D);
    const int64_t n = (int64_t)a->T * a->H * a->D;
    a->k_new = to_src(a->src, k, n);
    a->v_new = to_src(a->src, v, n);
    /* what the oracle sees: the source values as f32 */
    for (int64_t e = 0; e < n; e++) k[e] = (float)qbt_get(a->src, a->k_new, e), v[e] = (float)qbt_get(a->src, a->v_new, e);
    a->xk = k, a->xv = v;
}

static void append_free(append_case *a)
{
    cache_free(&a->c);
    qbt_free(a->slot_map), qbt_free(a->xk), qbt_free(a->xv), qbt_free(a->k_new), qbt_free(a->v_new);
}

/* The token whose row a slot must hold after the append (-1: none). */
static int writer(const append_case *a, int64_t slot)
{
    int w = -1;
    for (int t = 0; t < a->T; t++)
        if (a->slot_map[t] == slot) w = t;
    return w;
}

static void check_rows(const append_case *a, const cache_snap *s, int is_v)
{
    const qblas_kv_cache_t *kv = &a->c.kv;
    const size_t rb = row_bytes(a->f, a->D);
    const uint8_t *data = is_v ? kv->v : kv->k, *before = is_v ? s->v : s->k;
    const float *sc = is_v ? kv->v_scale : kv->k_scale, *zr = is_v ? kv->v_zero : kv->k_zero;
    const float *sc0 = is_v ? s->vs : s->ks, *zr0 = is_v ? s->vz : s->kz;
    const bool per_row = a->f->dtype == QBLAS_DTYPE_I8 || a->f->dtype == QBLAS_DTYPE_U4;
    row_expect e;
    for (int64_t slot = 0; slot < a->c.slots; slot++)
        for (int64_t h = 0; h < a->H; h++) {
            const int64_t row = slot * a->H + h;
            const int t = writer(a, slot);
            if (t < 0) {
                ck_assert_msg(!memcmp(data + row * rb, before + row * rb, rb), "untouched slot %lld written", (long long)slot);
                if (per_row) ck_assert(!memcmp(sc + row, sc0 + row, 4));
                if (zr) ck_assert(!memcmp(zr + row, zr0 + row, 4));
                continue;
            }
            const float fp8_s = sc ? sc[a->f->mode == QBLAS_SCALE_PER_HEAD ? h : 0] : 0.0f;
            expect_row(a->f, (is_v ? a->xv : a->xk) + ((int64_t)t * a->H + h) * a->D, a->D, fp8_s, &e);
            ck_assert_msg(!memcmp(data + row * rb, e.code, rb), "%s %s src %s: token %d head %lld codes differ [seed %llu]",
                          qblas_dtype_name(a->f->dtype), is_v ? "V" : "K", qblas_dtype_name(a->src), t, (long long)h,
                          (unsigned long long)qbt_seed);
            if (per_row)
                ck_assert_msg(!memcmp(sc + row, &e.scale, 4), "token %d head %lld scale %.9g want %.9g", t,
                              (long long)h, (double)sc[row], (double)e.scale);
            if (zr)
                ck_assert_msg(!memcmp(zr + row, &e.zero, 4), "token %d head %lld zero %g want %g", t, (long long)h,
                              (double)zr[row], (double)e.zero);
        }
}

START_TEST(append_bit_exact)
{
    static const char *const names[] = {"cpu_ref_kv_append_f16",  "cpu_ref_kv_append_bf16", "cpu_ref_kv_append_e4m3",
                                        "cpu_ref_kv_append_e4m3", "cpu_ref_kv_append_i8",   "cpu_ref_kv_append_u4"};
    qblas_handle_t h = qbt_cpu();
    QBT_OK(qblas_set_num_threads(h, 1 + _i % 2));
    qbt_rng r = qbt_rng_make(500 + (uint64_t)_i);
    append_case a;
    append_make(&a, &r, _i);
    cache_snap s = snap(&a.c);
    QBT_OK(qblas_kv_append(h, &a.c.kv, a.T, a.src, a.k_new, a.v_new, a.slot_map, NULL));
    check_rows(&a, &s, 0);
    check_rows(&a, &s, 1);
    if (a.f->dtype == QBLAS_DTYPE_E4M3) /* fp8 scales are inputs */
        ck_assert(same(a.c.kv.k_scale, s.ks, a.c.scale_bytes) && same(a.c.kv.v_scale, s.vs, a.c.scale_bytes));
    char kernel[QBLAS_KERNEL_NAME_MAX];
    QBT_OK(qblas_last_kernel(h, kernel, sizeof kernel));
    ck_assert_str_eq(kernel, names[_i / 3]);
    snap_free(&s);
    append_free(&a);
    QBT_OK(qblas_destroy(h));
}
END_TEST

static void expect_invalid(qblas_handle_t h, append_case *a, const char *what)
{
    cache_snap s = snap(&a->c);
    qblas_status_t st = qblas_kv_append(h, &a->c.kv, a->T, a->src, a->k_new, a->v_new, a->slot_map, NULL);
    ck_assert_msg(st == QBLAS_STATUS_INVALID_VALUE, "%s: %s -> %s [seed %llu]", qblas_dtype_name(a->f->dtype), what,
                  qblas_status_string(st), (unsigned long long)qbt_seed);
    ck_assert_msg(cache_unchanged(&a->c, &s), "%s: %s wrote the cache", qblas_dtype_name(a->f->dtype), what);
    snap_free(&s);
}

/* A slot past the cache, on the last token, fails the whole call before any write. */
START_TEST(append_bad_slot)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(600 + (uint64_t)_i);
    append_case a;
    append_make(&a, &r, _i);
    int64_t keep = a.slot_map[a.T - 1];
    a.slot_map[a.T - 1] = a.c.slots, expect_invalid(h, &a, "slot == num_pages * page_size");
    a.slot_map[a.T - 1] = INT64_MAX, expect_invalid(h, &a, "slot INT64_MAX");
    a.slot_map[a.T - 1] = keep;
    QBT_OK(qblas_kv_append(h, &a.c.kv, a.T, a.src, a.k_new, a.v_new, a.slot_map, NULL));
    append_free(&a);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* fp8 scales must be finite and > 0, checked even when every token is skipped. */
START_TEST(append_fp8_bad_scale)
{
    static const float bad[] = {0.0f, -0.0f, -1.0f, NAN, INFINITY};
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(700 + (uint64_t)_i);
    append_case a;
    append_make(&a, &r, (2 + _i % 2) * 3 + _i % 3); /* e4m3 per-tensor, then per-head */
    const int last = a.f->mode == QBLAS_SCALE_PER_HEAD ? a.H - 1 : 0;
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        float *sc = b % 2 ? a.c.kv.v_scale : a.c.kv.k_scale, keep = sc[last];
        sc[last] = bad[b];
        expect_invalid(h, &a, "bad fp8 scale");
        for (int t = 0; t < a.T; t++) a.slot_map[t] = -1 - t;
        expect_invalid(h, &a, "bad fp8 scale, all tokens skipped");
        sc[last] = keep;
        qbt_free(a.slot_map);
        a.slot_map = slot_mapping(&r, a.c.slots, a.T);
    }
    append_free(&a);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* ---- end to end: append, then attention vs float64 on the original values ---- */

/* Error bound of one stored element x, from the scales the append wrote:
 *  f16 / bf16: RNE, half an ulp of x.
 *  e4m3 (|x / s| < 448, no saturation): x / s rounds (u), the fp8 RNE is
 *    within 2^-4 relative or 2^-10 absolute (subnormal step 2^-9), the
 *    dequantizing multiply rounds (u): (2^-4 + 4u)|x| + 2^-10 s (1 + u).
 *  i8 (|x| <= amax = 127 s): |q - x/s| <= 1/2 + u|x/s|, the multiply adds
 *    u|q s|: (1/2 + u) s + 2u|x|.
 *  u4: q = rint((x - lo) / s) is within 1/2 step of (x - lo) / s plus the
 *    fp32 roundings of hi - lo, / 15, x - lo and / s on at most 16 steps
 *    (< 2^-16 steps); the stored zero -lo / s rounds once (u |lo| / s steps),
 *    q - zero rounds once (u (|lo| / s + 16) steps), the multiply adds
 *    u |x|; with |lo| <= |x| + 15 s all of it is within
 *    (1/2 + 2^-16) s + 8u (|x| + 16 s). */
static double quant_bound(qblas_dtype_t t, double x, double s)
{
    switch (t) {
    case QBLAS_DTYPE_F16:
    case QBLAS_DTYPE_BF16: return qbt_half_ulp(t, x);
    case QBLAS_DTYPE_E4M3: return (0x1p-4 + 4 * QBT_U32) * fabs(x) + 0x1p-10 * s * (1 + QBT_U32);
    case QBLAS_DTYPE_I8: return (0.5 + QBT_U32) * s + 2 * QBT_U32 * fabs(x);
    default: return (0.5 + 0x1p-16) * s + 8 * QBT_U32 * (fabs(x) + 16 * s);
    }
}

typedef struct {
    append_case a;           /* cache, original rows (T = all cached tokens), slots */
    int ns, G, P;
    int32_t *lens, *indptr, *bt;
    int64_t *tok_seq, *tok_pos;
    int stride, T_q;
    qblas_attention_params_t p;
    void *q, *o;
    float *lse;
} e2e_case;

static const int e2e_lens[] = {37, 64, 1, 20};
static const int e2e_qo[] = {5, 64, 1, 3};

/* Pages handed out in shuffled order; sequence s token j goes to slot
 * bt[s][j / P] * P + j % P. */
static void e2e_layout(e2e_case *c, qbt_rng *r, int pages)
{
    int32_t *perm = qbt_alloc((size_t)pages * 4);
    for (int i = 0; i < pages; i++) perm[i] = i;
    for (int i = pages - 1; i > 0; i--) {
        int j = (int)qbt_int(r, 0, i), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    c->bt = qbt_alloc((size_t)(c->ns * c->stride) * 4);
    c->lens = qbt_alloc((size_t)c->ns * 4);
    int next = 0, T = 0;
    for (int s = 0; s < c->ns; s++) {
        c->lens[s] = e2e_lens[s];
        for (int b = 0; b < c->stride; b++) c->bt[s * c->stride + b] = b * c->P < e2e_lens[s] ? perm[next++] : -1;
        for (int j = 0; j < e2e_lens[s]; j++, T++)
            c->a.slot_map[T] = (int64_t)c->bt[s * c->stride + j / c->P] * c->P + j % c->P;
    }
    qbt_free(perm);
}

static void e2e_queries(e2e_case *c, qbt_rng *r)
{
    const int Hq = c->a.H * c->G, D = c->a.D;
    c->indptr = qbt_alloc((size_t)(c->ns + 1) * 4);
    c->tok_seq = qbt_alloc(8 * 128), c->tok_pos = qbt_alloc(8 * 128);
    int T = 0;
    for (int s = 0; s < c->ns; s++) {
        c->indptr[s] = T;
        for (int i = 0; i < e2e_qo[s]; i++, T++) c->tok_seq[T] = s, c->tok_pos[T] = e2e_lens[s] - e2e_qo[s] + i;
    }
    c->indptr[c->ns] = c->T_q = T;
    c->q = qbt_alloc((size_t)T * Hq * D * 2);
    qbt_fill(r, QBLAS_DTYPE_F16, c->q, (int64_t)T * Hq * D, -1.0, 1.0);
    c->o = qbt_alloc((size_t)T * Hq * D * 2);
    c->lse = qbt_alloc((size_t)T * Hq * 4);
    c->p = (qblas_attention_params_t){.num_seqs = c->ns, .num_q_tokens = T, .num_q_heads = Hq,
                                      .q_dtype = QBLAS_DTYPE_F16, .q = c->q, .o = c->o, .lse = c->lse,
                                      .qo_indptr = c->indptr, .seq_lens = c->lens, .block_tables = c->bt,
                                      .block_table_stride = c->stride, .max_seq_len = 64,
                                      .sm_scale = (float)(1.0 / sqrt((double)D)), .logit_softcap = 0.0f,
                                      .window_left = -1, .causal = 1};
}

/* i picks the cache format; the source dtype and head dim rotate with it.
 * Values are in [-1, 1] and fp8 scales in [1/300, 1/200): |x / s| <= 300 < 448. */
static void e2e_make(e2e_case *c, qbt_rng *r, int i)
{
    memset(c, 0, sizeof *c);
    append_case *a = &c->a;
    a->f = &formats[i];
    a->src = srcs[i % 3];
    a->H = 2, a->D = dims[i % 3], a->T = 37 + 64 + 1 + 20;
    c->ns = 4, c->G = 4, c->P = 16, c->stride = 64 / 16 + 1;
    const int pages = 3 + 4 + 1 + 2 + 2; /* two spare pages */
    cache_make(&a->c, r, a->f, pages, c->P, a->H, a->D, 1.0 / 300, 1.0 / 200);
    a->slot_map = qbt_alloc((size_t)a->T * 8);
    e2e_layout(c, r, pages);
    const int64_t n = (int64_t)a->T * a->H * a->D;
    float *k = random_floats(r, n, -1.0, 1.0), *v = random_floats(r, n, -1.0, 1.0);
    a->k_new = to_src(a->src, k, n), a->v_new = to_src(a->src, v, n);
    for (int64_t e = 0; e < n; e++) k[e] = (float)qbt_get(a->src, a->k_new, e), v[e] = (float)qbt_get(a->src, a->v_new, e);
    a->xk = k, a->xv = v;
    e2e_queries(c, r);
}

static void e2e_free(e2e_case *c)
{
    append_free(&c->a);
    void *bufs[] = {c->lens, c->indptr, c->bt, c->tok_seq, c->tok_pos, c->q, c->o, c->lse};
    for (int i = 0; i < 8; i++) qbt_free(bufs[i]);
}

/* The stored element (cache row, dim d) of K or V dequantized as the format
 * defines it, and its scale (for the bound). */
static double stored(const cache *c, int is_v, int64_t row, int64_t h, int64_t d, double *scale)
{
    const qblas_kv_cache_t *kv = &c->kv;
    const void *data = is_v ? kv->v : kv->k;
    const float *sc = is_v ? kv->v_scale : kv->k_scale;
    const int64_t e = row * kv->head_dim + d;
    *scale = 0;
    switch (kv->dtype) {
    case QBLAS_DTYPE_F16: return qb_f16_to_f32(((const uint16_t *)data)[e]);
    case QBLAS_DTYPE_BF16: return qb_bf16_to_f32(((const uint16_t *)data)[e]);
    case QBLAS_DTYPE_E4M3:
        *scale = sc[kv->scale_mode == QBLAS_SCALE_PER_HEAD ? h : 0];
        return qb_fp8_decode(((const uint8_t *)data)[e], QB_FP8_E4M3) * *scale;
    case QBLAS_DTYPE_I8: *scale = sc[row]; return ((const int8_t *)data)[e] * *scale;
    default: {
        const uint8_t byte = ((const uint8_t *)data)[e / 2];
        *scale = sc[row];
        return ((d % 2 ? byte >> 4 : byte & 15) - (double)(is_v ? kv->v_zero : kv->k_zero)[row]) * *scale;
    }
    }
}

/* Every appended element within its bound; returns the bounds [T][H][D]. */
static double *element_bounds(const e2e_case *c, int is_v)
{
    const append_case *a = &c->a;
    double *bound = qbt_alloc((size_t)a->T * a->H * a->D * 8);
    for (int64_t t = 0; t < a->T; t++)
        for (int64_t h = 0; h < a->H; h++)
            for (int64_t d = 0; d < a->D; d++) {
                const int64_t i = (t * a->H + h) * a->D + d;
                double s, got = stored(&a->c, is_v, a->slot_map[t] * a->H + h, h, d, &s);
                double x = (is_v ? a->xv : a->xk)[i], b = quant_bound(a->f->dtype, x, s);
                ck_assert_msg(qbt_close(got, x, b), "%s %s token %lld head %lld d %lld: stored %.9g original %.9g "
                              "bound %.3g [seed %llu]", qblas_dtype_name(a->f->dtype), is_v ? "V" : "K", (long long)t,
                              (long long)h, (long long)d, got, x, b, (unsigned long long)qbt_seed);
                bound[i] = b;
            }
    return bound;
}

/* Attention tolerance with perturbed keys and values (u = 2^-24):
 *  logit error e_j = |sm| sum_d |q_d| dk_jd (quantization, dk the element
 *    bound) + gamma_{D+4} |sm| sum_d |q_d| (|k_jd| + dk_jd) (the fp32 dot
 *    and sm_scale multiply on the stored keys);
 *  E = max e + u (max |l_j - max| + 2 max e) + 2u bounds the error of every
 *    exponent (subtraction, expf within 1 ulp) relative to one common shift,
 *    so normalised weights are off by a factor within exp(+-2E);
 *  o: expm1(2E) W (W = sum w |v|) + exp(2E) (sum w dv + gamma_{3n+2}
 *    sum w (|v| + dv)) (value error, fp32 sums of p v and p, division),
 *    then half an f16 ulp for the output;
 *  lse: E + 2 gamma_n + 2u (log n + 1) + 2u |lse| (sum, logf, final add). */
static void e2e_check_query(const e2e_case *c, const double *dk, const double *dv, int64_t tok, int64_t hq,
                            double *lg)
{
    const append_case *a = &c->a;
    const int64_t D = a->D, h = hq / c->G, seq = c->tok_seq[tok], pos = c->tok_pos[tok];
    const double sm = c->p.sm_scale;
    int64_t first = 0;
    for (int64_t s = 0; s < seq; s++) first += e2e_lens[s]; /* row index of the sequence's token 0 */
    double q[256], m = -INFINITY, emax = 0, dmax = 0, l = 0;
    for (int64_t d = 0; d < D; d++) q[d] = qbt_get(QBLAS_DTYPE_F16, c->q, (tok * c->p.num_q_heads + hq) * D + d);
    for (int64_t j = 0; j <= pos; j++) {
        const int64_t i0 = ((first + j) * a->H + h) * D;
        double dot = 0, qd = 0, qa = 0;
        for (int64_t d = 0; d < D; d++) {
            dot += q[d] * a->xk[i0 + d];
            qd += fabs(q[d]) * dk[i0 + d];
            qa += fabs(q[d]) * (fabs(a->xk[i0 + d]) + dk[i0 + d]);
        }
        lg[j] = sm * dot;
        emax = fmax(emax, fabs(sm) * qd + qbt_gamma32(D + 4) * fabs(sm) * qa);
        m = fmax(m, lg[j]);
    }
    for (int64_t j = 0; j <= pos; j++) l += exp(lg[j] - m), dmax = fmax(dmax, m - lg[j]);
    const double E = emax + QBT_U32 * (dmax + 2 * emax) + 2 * QBT_U32, grow = exp(2 * E);
    const int64_t n = pos + 1;
    for (int64_t d = 0; d < D; d++) {
        double o = 0, W = 0, Wd = 0;
        for (int64_t j = 0; j <= pos; j++) {
            const int64_t i = ((first + j) * a->H + h) * D + d;
            const double w = exp(lg[j] - m) / l;
            o += w * a->xv[i], W += w * fabs(a->xv[i]), Wd += w * dv[i];
        }
        double tol = expm1(2 * E) * W + grow * (Wd + qbt_gamma32(3 * n + 2) * (W + Wd));
        tol += qbt_half_ulp(QBLAS_DTYPE_F16, fabs(o) + tol);
        double got = qbt_get(QBLAS_DTYPE_F16, c->o, (tok * c->p.num_q_heads + hq) * D + d);
        ck_assert_msg(qbt_close(got, o, tol), "%s e2e tok %lld head %lld d %lld: got %.9g want %.9g tol %.3g [seed %llu]",
                      qblas_dtype_name(a->f->dtype), (long long)tok, (long long)hq, (long long)d, got, o, tol,
                      (unsigned long long)qbt_seed);
    }
    const double lse = m + log(l), got = c->lse[tok * c->p.num_q_heads + hq];
    const double tol = E + 2 * qbt_gamma32(n) + 2 * QBT_U32 * (log((double)n) + 1) + 2 * QBT_U32 * fabs(lse);
    ck_assert_msg(qbt_close(got, lse, tol), "%s e2e lse tok %lld head %lld: got %.9g want %.9g tol %.3g",
                  qblas_dtype_name(a->f->dtype), (long long)tok, (long long)hq, got, lse, tol);
}

START_TEST(append_then_attention)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(800 + (uint64_t)_i);
    e2e_case c;
    e2e_make(&c, &r, _i);
    append_case *a = &c.a;
    QBT_OK(qblas_kv_append(h, &a->c.kv, a->T, a->src, a->k_new, a->v_new, a->slot_map, NULL));
    double *dk = element_bounds(&c, 0), *dv = element_bounds(&c, 1);
    qblas_kernel_info_t info;
    QBT_OK(qblas_attention_query(h, &a->c.kv, &c.p, &info));
    void *ws = qbt_alloc(info.workspace_bytes);
    const size_t o_bytes = (size_t)c.T_q * c.p.num_q_heads * a->D * 2;
    qbt_poison(c.o, o_bytes);
    qbt_poison(c.lse, (size_t)c.T_q * c.p.num_q_heads * 4);
    QBT_OK(qblas_attention(h, &a->c.kv, &c.p, ws, info.workspace_bytes, NULL));
    double *lg = qbt_alloc(64 * 8);
    for (int64_t tok = 0; tok < c.T_q; tok++)
        for (int64_t hq = 0; hq < c.p.num_q_heads; hq++) e2e_check_query(&c, dk, dv, tok, hq, lg);
    qbt_free(lg);
    qbt_free(ws);
    qbt_free(dk);
    qbt_free(dv);
    e2e_free(&c);
    QBT_OK(qblas_destroy(h));
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("kv_append");
    TCase *tc = tcase_create("cpu");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, append_bit_exact, 0, NFORMATS * 3);
    tcase_add_loop_test(tc, append_bad_slot, 0, NFORMATS * 3);
    tcase_add_loop_test(tc, append_fp8_bad_scale, 0, 6);
    tcase_add_loop_test(tc, append_then_attention, 0, NFORMATS);
    suite_add_tcase(s, tc);
    return s;
}
