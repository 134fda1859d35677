/* attention.c - the CPU oracle of attention over a paged, quantized KV cache,
 * and of qblas_kv_append (docs/FORMATS.md, "Attention and the KV cache").
 *
 * Attention: one work item is (query token, kv head). It handles the G query
 * heads that share that kv head together, so each visible key and value row
 * is dequantized once per item:
 *   1. logits of the G heads for every visible key (fp32 dots, soft-cap),
 *   2. p = expf(logit - max) and l = sum p, per head,
 *   3. acc = sum p * v (fp32, key order), o = acc / l, lse = max + logf(l).
 * Each item is computed by one thread in a fixed order, so results do not
 * depend on the number of threads.
 *
 * Append: every (token, head) row is converted to fp32 and quantized on its
 * own; threads split the heads and each walks the tokens in order, so a slot
 * named twice ends up holding the last token that names it.
 */
#include "cpu_internal.h"

#define QB_ALIGN(x) (((x) + 63) & ~(size_t)63)
#define LL(x) ((long long)(x))
#define INVALID(...) qb_fail(h, QBLAS_STATUS_INVALID_VALUE, __VA_ARGS__)

/* ---- cache rows ---- */

/* Dequantize one token-head row of K or V: cache token ti = page * page_size
 * + slot, head kh, into out[head_dim] (fp32, one rounding per operation). */
static void kv_row_f32(const qblas_kv_cache_t *kv, const void *data, const float *scale, const float *zero,
                       int64_t ti, int64_t kh, float *out)
{
    const int64_t D = kv->head_dim, r = ti * kv->num_kv_heads + kh;
    switch (kv->dtype) {
    case QBLAS_DTYPE_U4: {
        const uint8_t *row = (const uint8_t *)data + r * (D / 2);
        const float s = scale[r], z = zero[r];
        for (int64_t d = 0; d < D; d++) out[d] = ((float)qb_u4_get(row, d) - z) * s;
        return;
    }
    case QBLAS_DTYPE_I8: {
        const int8_t *row = (const int8_t *)data + r * D;
        const float s = scale[r];
        for (int64_t d = 0; d < D; d++) out[d] = (float)row[d] * s;
        return;
    }
    case QBLAS_DTYPE_E4M3: {
        const float s = scale[kv->scale_mode == QBLAS_SCALE_PER_HEAD ? kh : 0];
        qb_row_to_f32(kv->dtype, (const uint8_t *)data + r * D, D, out);
        for (int64_t d = 0; d < D; d++) out[d] *= s;
        return;
    }
    default: /* f16, bf16: exact */
        qb_row_to_f32(kv->dtype, (const uint8_t *)data + r * D * 2, D, out);
        return;
    }
}

/* fp32 dot product: eight interleaved partial sums (vectorisable without
 * reassociation by the compiler), combined pairwise. */
static float dot_f32(const float *a, const float *b, int64_t n)
{
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += a[i + l] * b[i + l];
    for (int l = 0; i < n; i++, l++) acc[l] += a[i] * b[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* ---- attention: content checks ---- */

static qblas_status_t check_seq_lens(qblas_handle_t h, const qblas_attention_params_t *p)
{
    for (int32_t s = 0; s < p->num_seqs; s++)
        if (p->seq_lens[s] < 0 || p->seq_lens[s] > p->max_seq_len)
            return INVALID("seq_lens[%d]=%d outside 0..max_seq_len=%d", s, p->seq_lens[s], p->max_seq_len);
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t check_qo_indptr(qblas_handle_t h, const qblas_attention_params_t *p)
{
    const int32_t *ip = p->qo_indptr;
    if (!ip) return QBLAS_STATUS_SUCCESS;
    if (ip[0] != 0) return INVALID("qo_indptr[0]=%d, must be 0", ip[0]);
    for (int32_t s = 0; s < p->num_seqs; s++) {
        int64_t qo_len = (int64_t)ip[s + 1] - ip[s];
        if (qo_len < 0) return INVALID("qo_indptr decreases at %d", s + 1);
        if (qo_len > p->seq_lens[s])
            return INVALID("sequence %d has %lld queries but seq_lens %d", s, LL(qo_len), p->seq_lens[s]);
    }
    if (ip[p->num_seqs] != p->num_q_tokens)
        return INVALID("qo_indptr[%d]=%d != num_q_tokens=%d", p->num_seqs, ip[p->num_seqs], p->num_q_tokens);
    return QBLAS_STATUS_SUCCESS;
}

/* Only the first ceil(seq_len / page_size) entries of a row are read. */
static qblas_status_t check_block_tables(qblas_handle_t h, const qblas_kv_cache_t *kv,
                                         const qblas_attention_params_t *p)
{
    for (int32_t s = 0; s < p->num_seqs; s++) {
        const int32_t *bt = p->block_tables + (int64_t)s * p->block_table_stride;
        int64_t used = qb_cdiv(p->seq_lens[s], kv->page_size);
        for (int64_t b = 0; b < used; b++)
            if (bt[b] < 0 || bt[b] >= kv->num_pages)
                return INVALID("block_tables[%d][%lld]=%d outside 0..num_pages-1=%d", s, LL(b), bt[b],
                               kv->num_pages - 1);
    }
    return QBLAS_STATUS_SUCCESS;
}

/* Host-readable contents, all checked before anything is written. */
static qblas_status_t check_attention_contents(qblas_handle_t h, const qblas_kv_cache_t *kv,
                                               const qblas_attention_params_t *p)
{
    qblas_status_t st = check_seq_lens(h, p);
    if (!st) st = check_qo_indptr(h, p);
    if (!st) st = check_block_tables(h, kv, p);
    return st;
}

/* ---- attention: workspace ---- */

/* Per thread: scores [G][max_seq_len], q [G][D], acc [G][D], one row [D],
 * max [G] and l [G], all fp32. */
static bool thread_floats(const qblas_kv_cache_t *kv, const qblas_attention_params_t *p, int64_t *floats)
{
    int64_t G = p->num_q_heads / kv->num_kv_heads, D = kv->head_dim, scores, rest;
    if (!qb_mul(G, p->max_seq_len, &scores) || !qb_mul(G, 2 * D + 2, &rest)) return false;
    return qb_add(scores, rest, floats) && qb_add(*floats, D, floats);
}

static int64_t work_items(const qblas_kv_cache_t *kv, const qblas_attention_params_t *p)
{
    return (int64_t)p->num_q_tokens * kv->num_kv_heads;
}

static int attention_threads(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p)
{
    int64_t items = work_items(kv, p);
    return h->num_threads < items ? h->num_threads : (int)items;
}

/* QB_WS_SLACK bytes of slack let the run align a workspace of any alignment. */
static bool attention_ws_bytes(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                               size_t *per_thread, size_t *total)
{
    int64_t floats, bytes, all;
    if (!thread_floats(kv, p, &floats) || !qb_mul(floats, 4, &bytes) || bytes > INT64_MAX - 64) return false;
    bytes = (int64_t)QB_ALIGN((size_t)bytes);
    if (!qb_mul(bytes, attention_threads(h, kv, p), &all) || !qb_add(all, QB_WS_SLACK, &all)) return false;
    *per_thread = (size_t)bytes;
    *total = (size_t)all;
    return true;
}

static const char *attention_kernel(qblas_dtype_t t)
{
    switch (t) {
    case QBLAS_DTYPE_F16: return "cpu_ref_attention_f16";
    case QBLAS_DTYPE_BF16: return "cpu_ref_attention_bf16";
    case QBLAS_DTYPE_E4M3: return "cpu_ref_attention_e4m3";
    case QBLAS_DTYPE_I8: return "cpu_ref_attention_i8";
    default: return "cpu_ref_attention_u4";
    }
}

qblas_status_t qb_cpu_attention_query(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                      qblas_kernel_info_t *info)
{
    size_t per_thread, total;
    if (!attention_ws_bytes(h, kv, p, &per_thread, &total)) return INVALID("attention workspace size overflows");
    qb_kernel_info(info, total, attention_kernel(kv->dtype));
    return QBLAS_STATUS_SUCCESS;
}

/* ---- attention: the run ---- */

typedef struct {
    const qblas_kv_cache_t *kv;
    const qblas_attention_params_t *p;
    uint8_t *ws;        /* 64-byte aligned start of the per-thread areas */
    size_t per_thread;
    int64_t G, D;
} attn_run;

/* One query token: its index, its sequence and the visible keys
 * [first, last] (none when first > last). */
typedef struct {
    int64_t tok, seq, first, last;
} attn_query;

/* The sequence of prefill query token tok: the last s with qo_indptr[s] <= tok
 * (it has qo_indptr[s+1] > tok, so empty sequences are skipped). */
static int64_t seq_of_token(const qblas_attention_params_t *p, int64_t tok)
{
    int64_t lo = 0, hi = p->num_seqs - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (p->qo_indptr[mid] <= tok) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static attn_query locate(const qblas_attention_params_t *p, int64_t tok)
{
    attn_query q = {tok, tok, 0, -1};
    int64_t L, pos;
    if (!p->qo_indptr) {
        L = p->seq_lens[tok];
        pos = L - 1; /* decode: the newest token, causal */
        q.last = pos;
    } else {
        q.seq = seq_of_token(p, tok);
        const int64_t start = p->qo_indptr[q.seq], qo_len = p->qo_indptr[q.seq + 1] - start;
        L = p->seq_lens[q.seq];
        pos = L - qo_len + (tok - start);
        q.last = p->causal ? pos : L - 1;
    }
    if (p->window_left >= 0 && pos - p->window_left > 0) q.first = pos - p->window_left;
    return q;
}

/* Cache token index (page * page_size + slot) of token j of sequence s. */
static int64_t cache_token(const qblas_kv_cache_t *kv, const qblas_attention_params_t *p, int64_t s, int64_t j)
{
    int64_t page = p->block_tables[s * p->block_table_stride + j / kv->page_size];
    return page * kv->page_size + j % kv->page_size;
}

static float capped_logit(const qblas_attention_params_t *p, float dot)
{
    float x = p->sm_scale * dot;
    return p->logit_softcap > 0.0f ? p->logit_softcap * tanhf(x / p->logit_softcap) : x;
}

/* Step 1: scores[g][j - first] for every visible key j. */
static void logits(const attn_run *r, const attn_query *q, int64_t kh, const float *qf, float *scores, float *row)
{
    const int64_t n = q->last - q->first + 1;
    for (int64_t j = q->first; j <= q->last; j++) {
        kv_row_f32(r->kv, r->kv->k, r->kv->k_scale, r->kv->k_zero, cache_token(r->kv, r->p, q->seq, j), kh, row);
        for (int64_t g = 0; g < r->G; g++)
            scores[g * n + (j - q->first)] = capped_logit(r->p, dot_f32(qf + g * r->D, row, r->D));
    }
}

/* Step 2: scores become p = expf(logit - max), in place; mx[g], l[g]. */
static void softmax(const attn_run *r, int64_t n, float *scores, float *mx, float *l)
{
    for (int64_t g = 0; g < r->G; g++) {
        float *s = scores + g * n, m = -INFINITY, sum = 0.0f;
        for (int64_t i = 0; i < n; i++)
            if (s[i] > m) m = s[i];
        for (int64_t i = 0; i < n; i++) {
            s[i] = expf(s[i] - m);
            sum += s[i];
        }
        mx[g] = m;
        l[g] = sum;
    }
}

/* Step 3: acc[g][d] = sum over keys of p * v[d], in key order. */
static void weighted_values(const attn_run *r, const attn_query *q, int64_t kh, const float *probs, float *acc,
                            float *row)
{
    const int64_t n = q->last - q->first + 1, D = r->D;
    for (int64_t i = 0; i < r->G * D; i++) acc[i] = 0.0f;
    for (int64_t j = q->first; j <= q->last; j++) {
        kv_row_f32(r->kv, r->kv->v, r->kv->v_scale, r->kv->v_zero, cache_token(r->kv, r->p, q->seq, j), kh, row);
        for (int64_t g = 0; g < r->G; g++) {
            const float pj = probs[g * n + (j - q->first)];
            float *a = acc + g * D;
            for (int64_t d = 0; d < D; d++) a[d] += pj * row[d];
        }
    }
}

/* o = acc / l (RNE to q_dtype) and lse = max + logf(l); with no visible key
 * (n == 0) o = 0 and lse = -inf. */
static void store_outputs(const attn_run *r, const attn_query *q, int64_t kh, const float *acc, const float *mx,
                          const float *l)
{
    const qblas_attention_params_t *p = r->p;
    const int64_t D = r->D, n = q->last - q->first + 1;
    for (int64_t g = 0; g < r->G; g++) {
        const int64_t hq = kh * r->G + g, obase = (q->tok * p->num_q_heads + hq) * D;
        for (int64_t d = 0; d < D; d++) qb_store_f32(p->q_dtype, p->o, obase + d, n > 0 ? acc[g * D + d] / l[g] : 0.0f);
        if (p->lse) p->lse[q->tok * p->num_q_heads + hq] = n > 0 ? mx[g] + logf(l[g]) : -INFINITY;
    }
}

static void attend(const attn_run *r, int64_t tok, int64_t kh, float *ws)
{
    const qblas_attention_params_t *p = r->p;
    const int64_t G = r->G, D = r->D;
    float *scores = ws, *qf = scores + G * p->max_seq_len, *acc = qf + G * D, *row = acc + G * D;
    float *mx = row + D, *l = mx + G;
    const attn_query q = locate(p, tok);
    const int64_t n = q.last - q.first + 1;
    if (n > 0) {
        /* the G query heads of kv head kh are contiguous in q */
        qb_row_to_f32(p->q_dtype, (const uint16_t *)p->q + (tok * p->num_q_heads + kh * G) * D, G * D, qf);
        logits(r, &q, kh, qf, scores, row);
        softmax(r, n, scores, mx, l);
        weighted_values(r, &q, kh, scores, acc, row);
    }
    store_outputs(r, &q, kh, acc, mx, l);
}

static void attention_items(void *ctx, int64_t begin, int64_t end, int tid)
{
    const attn_run *r = ctx;
    const int64_t hkv = r->kv->num_kv_heads;
    float *ws = (float *)(r->ws + (size_t)tid * r->per_thread);
    for (int64_t item = begin; item < end; item++) attend(r, item / hkv, item % hkv, ws);
}

qblas_status_t qb_cpu_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                void *ws, size_t ws_bytes)
{
    size_t per_thread, total;
    qblas_status_t st = check_attention_contents(h, kv, p);
    if (st) return st;
    if (!attention_ws_bytes(h, kv, p, &per_thread, &total)) return INVALID("attention workspace size overflows");
    if (ws_bytes < total) return qb_fail(h, QBLAS_STATUS_INSUFFICIENT_WORKSPACE, "attention workspace too small");
    attn_run r = {kv, p, qb_ws_align(ws), per_thread, p->num_q_heads / kv->num_kv_heads,
                  kv->head_dim};
    qb_parallel_for(attention_threads(h, kv, p), work_items(kv, p), attention_items, &r);
    return QBLAS_STATUS_SUCCESS;
}

/* ---- KV append ---- */

static bool fp8_scale_ok(float s) { return isfinite(s) && s > 0.0f; }

static qblas_status_t check_append_contents(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a)
{
    const int64_t slots = (int64_t)kv->num_pages * kv->page_size;
    for (int64_t t = 0; t < a->num_tokens; t++)
        if (a->slot_mapping[t] >= slots)
            return INVALID("slot_mapping[%lld]=%lld >= num_pages*page_size=%lld", LL(t), LL(a->slot_mapping[t]),
                           LL(slots));
    if (kv->dtype != QBLAS_DTYPE_E4M3) return QBLAS_STATUS_SUCCESS;
    const int64_t count = kv->scale_mode == QBLAS_SCALE_PER_HEAD ? kv->num_kv_heads : 1;
    for (int64_t i = 0; i < count; i++)
        if (!fp8_scale_ok(kv->k_scale[i]) || !fp8_scale_ok(kv->v_scale[i]))
            return INVALID("fp8 kv scale %lld (k %g, v %g) must be finite and > 0", LL(i), (double)kv->k_scale[i],
                           (double)kv->v_scale[i]);
    return QBLAS_STATUS_SUCCESS;
}

/* int8: symmetric, s = amax / 127 over the finite values (0 -> 1). */
static void quantize_i8(const float *x, int64_t D, int8_t *q, float *scale)
{
    float s = qb_finite_amax(x, D) / 127.0f;
    if (s == 0.0f) s = 1.0f; /* an all-zero row would divide by zero */
    for (int64_t d = 0; d < D; d++) q[d] = (int8_t)qb_round_clamp(x[d] / s, -127, 127);
    *scale = s;
}

/* u4: asymmetric over [lo, hi] = [min, max] of the finite values (none:
 * [0, 0]). The zero point is stored as an fp32 number, so it is kept exact
 * (-lo / s, not rounded, not clamped): a row that does not straddle 0 keeps
 * its 16 levels instead of saturating. */
static void quantize_u4(const float *x, int64_t D, uint8_t *q, float *scale, float *zero)
{
    float lo, hi;
    qb_finite_minmax(x, D, &lo, &hi);
    float s = (hi - lo) / 15.0f;
    if (s == 0.0f || isinf(s)) s = 1.0f; /* a constant row, or a range beyond FLT_MAX */
    for (int64_t d = 0; d < D; d++) qb_u4_set(q, d, qb_round_clamp((x[d] - lo) / s, 0, 15));
    *scale = s;
    *zero = -lo / s;
}

/* Quantize x[head_dim] into row r = cache_token * num_kv_heads + kh of K or V. */
static void store_row(const qblas_kv_cache_t *kv, void *data, float *scale, float *zero, int64_t r, int64_t kh,
                      const float *x)
{
    const int64_t D = kv->head_dim;
    switch (kv->dtype) {
    case QBLAS_DTYPE_U4: quantize_u4(x, D, (uint8_t *)data + r * (D / 2), scale + r, zero + r); return;
    case QBLAS_DTYPE_I8: quantize_i8(x, D, (int8_t *)data + r * D, scale + r); return;
    case QBLAS_DTYPE_E4M3: {
        const float s = scale[kv->scale_mode == QBLAS_SCALE_PER_HEAD ? kh : 0];
        uint8_t *q = (uint8_t *)data + r * D;
        for (int64_t d = 0; d < D; d++) q[d] = qb_fp8_encode(x[d] / s, QB_FP8_E4M3);
        return;
    }
    default: /* f16, bf16: RNE */
        for (int64_t d = 0; d < D; d++) qb_store_f32(kv->dtype, data, r * D + d, x[d]);
        return;
    }
}

typedef struct {
    const qblas_kv_cache_t *kv;
    const qb_append_args *a;
} append_run;

static void append_heads(void *ctx, int64_t h0, int64_t h1, int tid)
{
    const append_run *r = ctx;
    const qblas_kv_cache_t *kv = r->kv;
    const qb_append_args *a = r->a;
    const int64_t D = kv->head_dim, hkv = kv->num_kv_heads;
    const size_t es = qb_dtype_size(a->src_dtype);
    float x[256]; /* head_dim <= 256 */
    for (int64_t t = 0; t < a->num_tokens; t++) {
        const int64_t slot = a->slot_mapping[t];
        if (slot < 0) continue;
        for (int64_t kh = h0; kh < h1; kh++) {
            const size_t src = (size_t)((t * hkv + kh) * D) * es, row = (size_t)(slot * hkv + kh);
            qb_row_to_f32(a->src_dtype, (const uint8_t *)a->k_new + src, D, x);
            store_row(kv, kv->k, kv->k_scale, kv->k_zero, (int64_t)row, kh, x);
            qb_row_to_f32(a->src_dtype, (const uint8_t *)a->v_new + src, D, x);
            store_row(kv, kv->v, kv->v_scale, kv->v_zero, (int64_t)row, kh, x);
        }
    }
}

static const char *append_kernel(qblas_dtype_t t)
{
    switch (t) {
    case QBLAS_DTYPE_F16: return "cpu_ref_kv_append_f16";
    case QBLAS_DTYPE_BF16: return "cpu_ref_kv_append_bf16";
    case QBLAS_DTYPE_E4M3: return "cpu_ref_kv_append_e4m3";
    case QBLAS_DTYPE_I8: return "cpu_ref_kv_append_i8";
    default: return "cpu_ref_kv_append_u4";
    }
}

qblas_status_t qb_cpu_kv_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a)
{
    qblas_status_t st = check_append_contents(h, kv, a);
    if (st) return st;
    append_run r = {kv, a};
    qb_parallel_for(h->num_threads, kv->num_kv_heads, append_heads, &r);
    /* the core names no kernel for append: record it here */
    qb_set_kernel(h, append_kernel(kv->dtype));
    return QBLAS_STATUS_SUCCESS;
}
