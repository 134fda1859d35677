/* test_attention.c - the CPU oracle of paged, quantized-KV attention against a
 * naive float64 reference written here from the format definition
 * (docs/FORMATS.md, "Attention and the KV cache").
 *
 * Caches are filled directly with random codes, scales and zeros (no
 * qblas_kv_append), pages are handed out in shuffled order, block-table
 * entries past the used ones hold garbage, and outputs are poisoned before
 * every run.
 */
#include "qb_test_kv.h"


typedef struct {
    int D, Hkv, G, P;
    int prefill, causal, window;
    float sm_mult; /* sm_scale = sm_mult / sqrt(D) */
    float softcap;
    int lse;
    qblas_dtype_t q_dtype;
} shape;

/* Everything one attention call needs, in guarded buffers. */
typedef struct {
    shape sh;
    kv_format f;
    qblas_kv_cache_t kv;
    qblas_attention_params_t p;
    int32_t *seq_lens, *indptr, *bt;
    int64_t *tok_seq, *tok_pos; /* per query token: its sequence and position (built here, not by the oracle) */
    void *q, *o;
    float *lse;
    size_t o_bytes, lse_bytes;
    int64_t cache_tokens;       /* num_pages * page_size */
} acase;

/* ---- building a case ---- */

static float *random_floats(qbt_rng *r, int64_t n, double lo, double hi)
{
    float *s = qbt_alloc((size_t)n * 4);
    qbt_fill(r, QBLAS_DTYPE_F32, s, n, lo, hi);
    return s;
}

/* Random codes of the cache dtype (e4m3: any code but the NaNs S.1111.111). */
static void *random_codes(qbt_rng *r, const kv_format *f, int64_t elems)
{
    if (f->dtype == QBLAS_DTYPE_F16 || f->dtype == QBLAS_DTYPE_BF16) {
        void *p = qbt_alloc((size_t)elems * 2);
        qbt_fill(r, f->dtype, p, elems, -1.0, 1.0);
        return p;
    }
    size_t bytes = (size_t)(f->dtype == QBLAS_DTYPE_U4 ? elems / 2 : elems);
    uint8_t *p = qbt_alloc(bytes);
    qbt_fill_bytes(r, p, bytes);
    if (f->dtype == QBLAS_DTYPE_E4M3)
        for (size_t i = 0; i < bytes; i++)
            if ((p[i] & 0x7F) == 0x7F) p[i] ^= 1;
    return p;
}

/* Scales sized so the dequantized values lie within about [-4, 4]. */
static void fill_cache(qbt_rng *r, acase *c)
{
    const kv_format *f = &c->f;
    const int64_t th = c->cache_tokens * c->sh.Hkv, elems = th * c->sh.D;
    qblas_kv_cache_t *kv = &c->kv;
    kv->dtype = f->dtype;
    kv->scale_mode = f->mode;
    kv->k = random_codes(r, f, elems);
    kv->v = random_codes(r, f, elems);
    switch (f->dtype) {
    case QBLAS_DTYPE_E4M3: {
        int64_t n = f->mode == QBLAS_SCALE_PER_HEAD ? c->sh.Hkv : 1;
        kv->k_scale = random_floats(r, n, 1.0 / 448, 4.0 / 448);
        kv->v_scale = random_floats(r, n, 1.0 / 448, 4.0 / 448);
        break;
    }
    case QBLAS_DTYPE_I8:
        kv->k_scale = random_floats(r, th, 0.5 / 127, 2.0 / 127);
        kv->v_scale = random_floats(r, th, 0.5 / 127, 2.0 / 127);
        break;
    case QBLAS_DTYPE_U4: /* zeros are any fp32 number; these are mostly non-integer */
        kv->k_scale = random_floats(r, th, 0.05, 0.25);
        kv->v_scale = random_floats(r, th, 0.05, 0.25);
        kv->k_zero = random_floats(r, th, 0.0, 15.0);
        kv->v_zero = random_floats(r, th, 0.0, 15.0);
        break;
    default: break;
    }
}

/* Block tables: pages in shuffled order; entries past ceil(L/P) are garbage
 * (out of range), which the oracle must neither read nor check. */
static void fill_block_tables(qbt_rng *r, acase *c, int64_t num_pages)
{
    const int64_t ns = c->p.num_seqs, stride = c->p.block_table_stride, P = c->sh.P;
    int32_t *perm = qbt_alloc((size_t)num_pages * 4);
    for (int64_t i = 0; i < num_pages; i++) perm[i] = (int32_t)i;
    for (int64_t i = num_pages - 1; i > 0; i--) {
        int64_t j = qbt_int(r, 0, i);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    c->bt = qbt_alloc((size_t)(ns * stride) * 4);
    int64_t next = 0;
    for (int64_t s = 0; s < ns; s++)
        for (int64_t b = 0; b < stride; b++) {
            bool used = b < (c->seq_lens[s] + P - 1) / P;
            c->bt[s * stride + b] = used ? perm[next++] : (b % 2 ? -1 : (int32_t)num_pages + 7);
        }
    qbt_free(perm);
}

/* Queries: decode (one per sequence at L-1) or prefill with qo_len in 1..L
 * (sequences 0 and 1 take qo_len == L). */
static void fill_queries(qbt_rng *r, acase *c)
{
    const int64_t ns = c->p.num_seqs;
    int64_t T = 0;
    c->indptr = c->sh.prefill ? qbt_alloc((size_t)(ns + 1) * 4) : NULL;
    c->tok_seq = qbt_alloc(8 * 512);
    c->tok_pos = qbt_alloc(8 * 512);
    for (int64_t s = 0; s < ns; s++) {
        int64_t L = c->seq_lens[s], qo = 1;
        if (c->sh.prefill) {
            c->indptr[s] = (int32_t)T;
            qo = L == 0 ? 0 : s < 2 ? L : qbt_int(r, 1, L);
        }
        for (int64_t i = 0; i < qo; i++, T++) {
            ck_assert(T < 512);
            c->tok_seq[T] = s;
            c->tok_pos[T] = L - qo + i;
        }
    }
    if (c->sh.prefill) c->indptr[ns] = (int32_t)T;
    const int64_t Hq = (int64_t)c->sh.Hkv * c->sh.G;
    c->p.num_q_tokens = (int32_t)T;
    c->q = qbt_alloc((size_t)(T * Hq * c->sh.D) * 2);
    qbt_fill(r, c->sh.q_dtype, c->q, T * Hq * c->sh.D, -1.0, 1.0);
    c->o_bytes = (size_t)(T * Hq * c->sh.D) * 2;
    c->o = qbt_alloc(c->o_bytes);
    c->lse_bytes = (size_t)(T * Hq) * 4;
    c->lse = c->sh.lse ? qbt_alloc(c->lse_bytes) : NULL;
}

static void build(acase *c, qbt_rng *r, const kv_format *f, const shape *sh, const int *lens, int ns)
{
    memset(c, 0, sizeof *c);
    c->sh = *sh;
    c->f = *f;
    const int64_t P = sh->P;
    c->seq_lens = qbt_alloc((size_t)ns * 4);
    int64_t max_len = 0, pages = 0;
    for (int s = 0; s < ns; s++) {
        c->seq_lens[s] = lens[s];
        max_len = lens[s] > max_len ? lens[s] : max_len;
        pages += (lens[s] + P - 1) / P;
    }
    qblas_attention_params_t *p = &c->p;
    p->num_seqs = ns;
    p->num_q_heads = sh->Hkv * sh->G;
    p->q_dtype = sh->q_dtype;
    p->seq_lens = c->seq_lens;
    p->max_seq_len = (int32_t)(max_len + qbt_int(r, 0, 2));
    p->block_table_stride = (int32_t)((p->max_seq_len + P - 1) / P + 1);
    p->sm_scale = (float)(sh->sm_mult / sqrt((double)sh->D));
    p->logit_softcap = sh->softcap;
    p->window_left = sh->window;
    p->causal = sh->causal;
    const int64_t num_pages = pages + 3; /* spare pages hold random data nobody reads */
    c->cache_tokens = num_pages * P;
    c->kv.num_pages = (int32_t)num_pages;
    c->kv.page_size = sh->P;
    c->kv.num_kv_heads = sh->Hkv;
    c->kv.head_dim = sh->D;
    fill_cache(r, c);
    fill_block_tables(r, c, num_pages);
    fill_queries(r, c);
    p->q = c->q;
    p->o = c->o;
    p->lse = c->lse;
    p->qo_indptr = c->indptr;
    p->block_tables = c->bt;
}

static void destroy(acase *c)
{
    void *bufs[] = {c->kv.k, c->kv.v, c->kv.k_scale, c->kv.v_scale, c->kv.k_zero, c->kv.v_zero, c->seq_lens,
                    c->indptr, c->bt, c->tok_seq, c->tok_pos, c->q, c->o, c->lse};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) qbt_free(bufs[i]);
}

/* ---- the float64 reference ---- */

/* Element (cache token ti = page * P + slot, head h, dim d) of K or V as the
 * format defines it: ((ti * Hkv + h) * D + d), u4 two per byte, even d low. */
static double ref_elem(const acase *c, int is_v, int64_t ti, int64_t h, int64_t d)
{
    const qblas_kv_cache_t *kv = &c->kv;
    const int64_t th = ti * kv->num_kv_heads + h, e = th * kv->head_dim + d;
    const void *data = is_v ? kv->v : kv->k;
    const float *sc = is_v ? kv->v_scale : kv->k_scale;
    switch (kv->dtype) {
    case QBLAS_DTYPE_F16: return qb_f16_to_f32(((const uint16_t *)data)[e]);
    case QBLAS_DTYPE_BF16: return qb_bf16_to_f32(((const uint16_t *)data)[e]);
    case QBLAS_DTYPE_E4M3:
        return (double)qb_fp8_decode(((const uint8_t *)data)[e], QB_FP8_E4M3) *
               sc[kv->scale_mode == QBLAS_SCALE_PER_HEAD ? h : 0];
    case QBLAS_DTYPE_I8: return (double)((const int8_t *)data)[e] * sc[th];
    default: {
        const uint8_t byte = ((const uint8_t *)data)[e / 2];
        const int q = d % 2 ? byte >> 4 : byte & 15;
        return ((double)q - (is_v ? kv->v_zero : kv->k_zero)[th]) * sc[th];
    }
    }
}

/* The whole cache, dequantized once: [cache_tokens][Hkv][D] doubles. */
static double *ref_cache(const acase *c, int is_v)
{
    const int64_t H = c->sh.Hkv, D = c->sh.D;
    double *out = qbt_alloc((size_t)(c->cache_tokens * H * D) * 8);
    for (int64_t ti = 0; ti < c->cache_tokens; ti++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t d = 0; d < D; d++) out[(ti * H + h) * D + d] = ref_elem(c, is_v, ti, h, d);
    return out;
}

typedef struct {
    int64_t n;              /* visible keys */
    double o[256], tol[256];
    double lse, lse_tol;
} ref_result;

static bool visible(const acase *c, int64_t j, int64_t pos)
{
    int causal = c->sh.prefill ? c->sh.causal : 1; /* decode behaves as causal */
    return (!causal || j <= pos) && (c->sh.window < 0 || j >= pos - c->sh.window);
}

static const double *ref_row(const acase *c, const double *cache, int64_t seq, int64_t j, int64_t h)
{
    const int64_t P = c->sh.P;
    const int64_t ti = (int64_t)c->bt[seq * c->p.block_table_stride + j / P] * P + j % P;
    return cache + (ti * c->sh.Hkv + h) * c->sh.D;
}

/* Tolerances (u = 2^-24; gamma_k = k u / (1 - k u)):
 *  logit error e_j: the fp32 dot of D exactly converted q with keys that
 *    took at most two roundings to dequantize (u4: (q - z), then * s), plus
 *    the product roundings, the pairwise sum and the sm_scale multiply:
 *    gamma_{D+4} |sm| sum_d |q_d k_d|. The soft-cap (1-Lipschitz) adds u|x|
 *    for x / cap (inside gamma_{D+4} as |x| <= |sm| sum|q k|), 2 ulp of
 *    tanhf and the multiply by cap: 8 u cap.
 *  E: every p_j = expf(l_j - max) is exp(l_j - c + eta_j) for one common c
 *    with |eta_j| <= max e + u |l_j - max| (the subtraction; the oracle's max
 *    is within max e of ours) + 2u (expf within 1 ulp).
 *  o: normalised weights are off by a factor within exp(+-2E), so
 *    |sum w^ v - sum w v| <= expm1(2E) W with W = sum_j w_j |v_j[d]|; values
 *    took <= 2 roundings (3u), the fp32 sums of p v and of p (<= n terms) and
 *    the division add gamma_{3n+2} relative, all over sum w^|v^| <=
 *    exp(2E)(1+3u) W. Storing as f16/bf16 adds half an ulp of the result.
 *  lse = max + logf(l): the max cancels exactly; log l is off by E +
 *    2 gamma_n (the sum), logf by 1 ulp <= 2u (log n + 1) (l <= n(1+gamma_n)
 *    as every p <= 1), the final add by u |lse|. */
static void ref_query(const acase *c, const double *K, const double *V, int64_t tok, int64_t hq, double *lg,
                      double *ab, ref_result *out)
{
    const int64_t D = c->sh.D, h = hq / c->sh.G, seq = c->tok_seq[tok], pos = c->tok_pos[tok];
    const int64_t L = c->seq_lens[seq];
    const double sm = c->p.sm_scale, cap = c->p.logit_softcap;
    double q[256], m = -INFINITY, emax = 0, dmax = 0, l = 0;
    for (int64_t d = 0; d < D; d++) q[d] = qbt_get(c->sh.q_dtype, c->q, (tok * c->p.num_q_heads + hq) * D + d);
    out->n = 0;
    for (int64_t j = 0; j < L; j++) {
        lg[j] = NAN;
        if (!visible(c, j, pos)) continue;
        const double *k = ref_row(c, K, seq, j, h);
        double dot = 0, a = 0;
        for (int64_t d = 0; d < D; d++) dot += q[d] * k[d], a += fabs(q[d] * k[d]);
        lg[j] = cap > 0 ? cap * tanh(sm * dot / cap) : sm * dot;
        ab[j] = qbt_gamma32(D + 4) * fabs(sm) * a + (cap > 0 ? 8 * QBT_U32 * cap : 0);
        m = fmax(m, lg[j]);
        emax = fmax(emax, ab[j]);
        out->n++;
    }
    for (int64_t j = 0; j < L; j++)
        if (lg[j] == lg[j]) l += exp(lg[j] - m), dmax = fmax(dmax, m - lg[j]);
    const double E = emax + QBT_U32 * (dmax + 2 * emax) + 2 * QBT_U32, grow = exp(2 * E);
    for (int64_t d = 0; d < D; d++) {
        double o = 0, W = 0;
        for (int64_t j = 0; j < L; j++)
            if (lg[j] == lg[j]) {
                double w = exp(lg[j] - m) / l, v = ref_row(c, V, seq, j, h)[d];
                o += w * v, W += w * fabs(v);
            }
        out->o[d] = o;
        out->tol[d] = (expm1(2 * E) + grow * (1 + 3 * QBT_U32) * (3 * QBT_U32 + qbt_gamma32(3 * out->n + 2))) * W;
    }
    out->lse = out->n ? m + log(l) : -INFINITY;
    out->lse_tol = E + 2 * qbt_gamma32(out->n) + 2 * QBT_U32 * (log((double)out->n + 1) + 1) + 2 * QBT_U32 * fabs(out->lse);
}

static void check_query(const acase *c, int64_t tok, int64_t hq, const ref_result *ref)
{
    const int64_t D = c->sh.D, base = (tok * c->p.num_q_heads + hq) * D;
    for (int64_t d = 0; d < D; d++) {
        double got = qbt_get(c->sh.q_dtype, c->o, base + d), want = ref->o[d], tol = ref->tol[d];
        tol += qbt_half_ulp(c->sh.q_dtype, fabs(want) + tol);
        bool ok = ref->n ? qbt_close(got, want, tol) : got == 0.0;
        ck_assert_msg(ok, "%s/%d D=%d G=%d P=%d prefill=%d causal=%d win=%d cap=%g tok %lld head %lld d %lld: "
                      "got %.9g want %.9g tol %.3g (%lld keys) [seed %llu]",
                      qblas_dtype_name(c->f.dtype), (int)c->f.mode, c->sh.D, c->sh.G, c->sh.P, c->sh.prefill,
                      c->sh.causal, c->sh.window, (double)c->sh.softcap, (long long)tok, (long long)hq,
                      (long long)d, got, want, tol, (long long)ref->n, (unsigned long long)qbt_seed);
    }
    if (!c->lse) return;
    double got = c->lse[tok * c->p.num_q_heads + hq];
    bool ok = ref->n ? qbt_close(got, ref->lse, ref->lse_tol) : got == -INFINITY;
    ck_assert_msg(ok, "%s lse tok %lld head %lld: got %.9g want %.9g tol %.3g [seed %llu]",
                  qblas_dtype_name(c->f.dtype), (long long)tok, (long long)hq, got, ref->lse, ref->lse_tol,
                  (unsigned long long)qbt_seed);
}

static void check_all(const acase *c)
{
    double *K = ref_cache(c, 0), *V = ref_cache(c, 1);
    double *lg = qbt_alloc((size_t)(c->p.max_seq_len + 1) * 8), *ab = qbt_alloc((size_t)(c->p.max_seq_len + 1) * 8);
    ref_result *ref = qbt_alloc(sizeof *ref);
    for (int64_t tok = 0; tok < c->p.num_q_tokens; tok++)
        for (int64_t hq = 0; hq < c->p.num_q_heads; hq++) {
            ref_query(c, K, V, tok, hq, lg, ab, ref);
            check_query(c, tok, hq, ref);
        }
    qbt_free(ref);
    qbt_free(ab);
    qbt_free(lg);
    qbt_free(V);
    qbt_free(K);
}

/* ---- running the oracle ---- */

static void *query_ws(qblas_handle_t h, const acase *c, size_t *bytes)
{
    qblas_kernel_info_t info;
    QBT_OK(qblas_attention_query(h, &c->kv, &c->p, &info));
    *bytes = info.workspace_bytes;
    return qbt_alloc(*bytes ? *bytes : 1);
}

static void poison_outputs(acase *c)
{
    qbt_poison(c->o, c->o_bytes);
    if (c->lse) qbt_poison(c->lse, c->lse_bytes);
}

static void run(qblas_handle_t h, acase *c)
{
    size_t bytes;
    void *ws = query_ws(h, c, &bytes);
    poison_outputs(c);
    QBT_OK(qblas_attention(h, &c->kv, &c->p, ws, bytes, NULL));
    qbt_free(ws);
}

/* ---- tests ---- */

/* Ragged lengths: 1, 17, 0 (empty), 100, 5. */
static const int lens5[] = {1, 17, 0, 100, 5};

/* Together these cover head dims 64/128/256, GQA 1/4/8, page sizes 1/5/16/64,
 * decode, causal and non-causal prefill, sliding windows, soft-cap, lse and
 * both query dtypes. */
static const shape shapes[] = {
    /* D  Hkv G  P  prefill causal window sm  cap  lse q */
    {64, 2, 1, 1, 0, 0, -1, 1.0f, 0.0f, 1, QBLAS_DTYPE_F16},
    {128, 2, 4, 16, 1, 1, -1, 1.0f, 0.0f, 1, QBLAS_DTYPE_BF16},
    {256, 1, 8, 64, 1, 0, -1, 1.0f, 0.0f, 0, QBLAS_DTYPE_F16},
    {128, 2, 4, 5, 0, 1, 7, 4.0f, 2.0f, 1, QBLAS_DTYPE_BF16},
    {64, 3, 4, 5, 1, 1, 10, 4.0f, 1.5f, 1, QBLAS_DTYPE_F16},
    {64, 1, 8, 16, 1, 0, 20, 2.0f, 0.0f, 1, QBLAS_DTYPE_BF16},
    {256, 2, 1, 64, 0, 1, -1, 2.0f, 3.0f, 1, QBLAS_DTYPE_BF16},
    {128, 1, 1, 1, 1, 1, 0, 1.0f, 0.0f, 1, QBLAS_DTYPE_F16},
};

START_TEST(attention_vs_reference)
{
    const kv_format *f = &formats[_i];
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(100 + (uint64_t)_i);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        acase c;
        build(&c, &r, f, &shapes[s], lens5, 5);
        run(h, &c);
        check_all(&c);
        destroy(&c);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

static const shape mixed = {64, 2, 4, 5, 1, 1, 12, 3.0f, 2.0f, 1, QBLAS_DTYPE_F16};

/* Results do not depend on the thread count; the workspace need not be aligned. */
START_TEST(attention_threads_bit_identical)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(200 + (uint64_t)_i);
    acase c;
    build(&c, &r, &formats[_i], &mixed, lens5, 5);
    QBT_OK(qblas_set_num_threads(h, 1));
    run(h, &c);
    void *o1 = qbt_snapshot(c.o, c.o_bytes), *l1 = qbt_snapshot(c.lse, c.lse_bytes);
    QBT_OK(qblas_set_num_threads(h, 2));
    size_t bytes;
    uint8_t *ws = query_ws(h, &c, &bytes);
    uint8_t *odd = qbt_alloc(bytes + 1);
    poison_outputs(&c);
    QBT_OK(qblas_attention(h, &c.kv, &c.p, odd + 1, bytes, NULL));
    ck_assert_msg(qbt_unchanged(c.o, o1, c.o_bytes) && qbt_unchanged(c.lse, l1, c.lse_bytes),
                  "1 and 2 threads differ [seed %llu]", (unsigned long long)qbt_seed);
    check_all(&c);
    free(o1);
    free(l1);
    qbt_free(odd);
    qbt_free(ws);
    destroy(&c);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Expect INVALID_VALUE and untouched outputs. */
static void expect_invalid(qblas_handle_t h, acase *c, const char *what)
{
    size_t bytes;
    void *ws = query_ws(h, c, &bytes);
    ck_assert(c->lse != NULL);
    poison_outputs(c);
    void *o = qbt_snapshot(c->o, c->o_bytes), *l = qbt_snapshot(c->lse, c->lse_bytes);
    qblas_status_t st = qblas_attention(h, &c->kv, &c->p, ws, bytes, NULL);
    ck_assert_msg(st == QBLAS_STATUS_INVALID_VALUE, "%s -> %s [seed %llu]", what, qblas_status_string(st),
                  (unsigned long long)qbt_seed);
    ck_assert_msg(qbt_unchanged(c->o, o, c->o_bytes) && qbt_unchanged(c->lse, l, c->lse_bytes),
                  "%s wrote outputs [seed %llu]", what, (unsigned long long)qbt_seed);
    free(o);
    free(l);
    qbt_free(ws);
}

START_TEST(attention_content_checks_decode)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(300);
    const shape sh = {64, 2, 2, 5, 0, 1, -1, 1.0f, 0.0f, 1, QBLAS_DTYPE_F16};
    acase c;
    build(&c, &r, &formats[5], &sh, lens5, 5);
    int32_t *L = c.seq_lens, *bt = c.bt, stride = c.p.block_table_stride;
    L[1] = -1, expect_invalid(h, &c, "seq_len -1"), L[1] = 17;
    L[3] = c.p.max_seq_len + 1, expect_invalid(h, &c, "seq_len > max_seq_len"), L[3] = 100;
    /* sequence 3 (L = 100, P = 5) uses entries 0..19 */
    int32_t keep = bt[3 * stride + 19];
    bt[3 * stride + 19] = c.kv.num_pages, expect_invalid(h, &c, "block table entry == num_pages");
    bt[3 * stride + 19] = -1, expect_invalid(h, &c, "block table entry -1");
    bt[3 * stride + 19] = keep;
    keep = bt[1 * stride + 0];
    bt[1 * stride + 0] = INT32_MAX, expect_invalid(h, &c, "block table entry INT32_MAX"), bt[1 * stride + 0] = keep;
    run(h, &c); /* restored: valid again */
    check_all(&c);
    destroy(&c);
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(attention_content_checks_prefill)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(301);
    const shape sh = {64, 1, 4, 16, 1, 1, -1, 1.0f, 0.0f, 1, QBLAS_DTYPE_BF16};
    acase c;
    build(&c, &r, &formats[0], &sh, lens5, 5);
    int32_t *ip = c.indptr, keep;
    const int32_t T = c.p.num_q_tokens;
    ip[0] = 1, expect_invalid(h, &c, "qo_indptr[0] != 0"), ip[0] = 0;
    /* sequence 2 is empty (ip[2] == ip[3]): make it -1 long */
    keep = ip[3], ip[3] = ip[2] - 1, expect_invalid(h, &c, "qo_indptr decreasing"), ip[3] = keep;
    ip[5] = T - 1, expect_invalid(h, &c, "qo_indptr[num_seqs] != num_q_tokens"), ip[5] = T;
    /* sequence 0 has L = 1: two queries are too many */
    keep = ip[1], ip[1] = keep + 1, expect_invalid(h, &c, "qo_len > seq_len"), ip[1] = keep;
    c.seq_lens[1] = 16, expect_invalid(h, &c, "seq_len below its qo_len"), c.seq_lens[1] = 17;
    run(h, &c);
    check_all(&c);
    destroy(&c);
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(attention_workspace_and_kernel)
{
    static const char *const names[] = {"cpu_ref_attention_f16",  "cpu_ref_attention_bf16",
                                        "cpu_ref_attention_e4m3", "cpu_ref_attention_e4m3",
                                        "cpu_ref_attention_i8",   "cpu_ref_attention_u4"};
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(400 + (uint64_t)_i);
    acase c;
    build(&c, &r, &formats[_i], &mixed, lens5, 5);
    qblas_kernel_info_t info;
    QBT_OK(qblas_attention_query(h, &c.kv, &c.p, &info));
    ck_assert_str_eq(info.kernel_name, names[_i]);
    ck_assert(info.workspace_bytes > 0);
    void *ws = qbt_alloc(info.workspace_bytes);
    poison_outputs(&c);
    void *o = qbt_snapshot(c.o, c.o_bytes);
    QBT_STATUS(qblas_attention(h, &c.kv, &c.p, ws, info.workspace_bytes - 1, NULL),
               QBLAS_STATUS_INSUFFICIENT_WORKSPACE);
    ck_assert(qbt_unchanged(c.o, o, c.o_bytes));
    QBT_OK(qblas_attention(h, &c.kv, &c.p, ws, info.workspace_bytes, NULL));
    char kernel[QBLAS_KERNEL_NAME_MAX];
    QBT_OK(qblas_last_kernel(h, kernel, sizeof kernel));
    ck_assert_str_eq(kernel, names[_i]);
    check_all(&c);
    free(o);
    qbt_free(ws);
    destroy(&c);
    QBT_OK(qblas_destroy(h));
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("attention");
    TCase *tc = tcase_create("cpu");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, attention_vs_reference, 0, NFORMATS);
    tcase_add_loop_test(tc, attention_threads_bit_identical, 0, NFORMATS);
    tcase_add_test(tc, attention_content_checks_decode);
    tcase_add_test(tc, attention_content_checks_prefill);
    tcase_add_loop_test(tc, attention_workspace_and_kernel, 0, NFORMATS);
    suite_add_tcase(s, tc);
    return s;
}
