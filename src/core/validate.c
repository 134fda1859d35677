/* validate.c - argument checks shared by every backend.
 *
 * Everything that can be decided from the descriptors alone (no reads of
 * device memory) is checked here, once, so each backend sees only valid
 * calls. The rules are the ones docs/FORMATS.md states per format.
 */
#include "qblas_internal.h"

#define INVALID(...) qb_fail(h, QBLAS_STATUS_INVALID_VALUE, __VA_ARGS__)
#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)
#define LL(x) ((long long)(x))

/* bytes = a * b * c with overflow check */
static bool mul3(int64_t a, int64_t b, int64_t c, size_t *out)
{
    int64_t t, r;
    if (!qb_mul(a, b, &t) || !qb_mul(t, c, &r)) return false;
    *out = (size_t)r;
    return true;
}

static bool is_scale_dtype16(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_F16 || t == QBLAS_DTYPE_BF16 || t == QBLAS_DTYPE_F32;
}

/* Scale array of a floating weight format (INT8, FP8, sparse i8/fp8): count of floats. */
static qblas_status_t float_scales(qblas_handle_t h, const qblas_weight_t *w, bool allow_block, int64_t *count)
{
    if (w->scale_dtype != QBLAS_DTYPE_F32) return INVALID("weight scales must be f32");
    switch (w->scale_mode) {
    case QBLAS_SCALE_PER_TENSOR: *count = 1; return QBLAS_STATUS_SUCCESS;
    case QBLAS_SCALE_PER_ROW: *count = w->n; return QBLAS_STATUS_SUCCESS;
    case QBLAS_SCALE_BLOCK_128X128:
        if (!allow_block) break;
        if (!qb_mul(qb_cdiv(w->n, 128), qb_cdiv(w->k, 128), count)) return INVALID("scale count overflows");
        return QBLAS_STATUS_SUCCESS;
    default: break;
    }
    return INVALID("weight scale_mode %d not valid for this format", (int)w->scale_mode);
}

qblas_status_t qb_check_weight(qblas_handle_t h, const qblas_weight_t *w, qblas_weight_sizes_t *s)
{
    qblas_weight_sizes_t z = {0};
    int64_t nscales = 0, rowb;
    if (!w) return INVALID("weight descriptor is NULL");
    if (w->n < 1 || w->k < 1) return INVALID("weight shape n=%lld k=%lld must be >= 1", LL(w->n), LL(w->k));
    if (!qb_dtype_valid(w->dtype)) return INVALID("weight dtype %d unknown", (int)w->dtype);
    switch (w->format) {
    case QBLAS_WFORMAT_W4A16: {
        if (w->dtype != QBLAS_DTYPE_U4) return INVALID("W4A16 weights are u4");
        int32_t g = w->group_size;
        if (g != 0 && g != 32 && g != 64 && g != 128)
            return INVALID("W4A16 group_size %d not in {0, 32, 64, 128}", g);
        if (g > 0 && w->k % g != 0) return INVALID("group_size %d does not divide k=%lld", g, LL(w->k));
        if (g == 0 && w->g_idx) return INVALID("act-order (g_idx) needs a group_size");
        if (w->scale_mode != QBLAS_SCALE_PER_GROUP) return INVALID("W4A16 scale_mode must be PER_GROUP");
        if (!is_scale_dtype16(w->scale_dtype)) return INVALID("W4A16 scales must be f16, bf16 or f32");
        int64_t G = g ? w->k / g : 1;
        if (!qb_row_bytes(QBLAS_DTYPE_U4, w->k, &rowb) || !mul3(w->n, rowb, 1, &z.data) ||
            !mul3(G, w->n, (int64_t)qb_dtype_size(w->scale_dtype), &z.scales) || !mul3(G, w->n, 1, &z.zeros) ||
            !mul3(w->k, 4, 1, &z.g_idx))
            return INVALID("W4A16 weight sizes overflow");
        break;
    }
    case QBLAS_WFORMAT_INT8:
        if (w->dtype != QBLAS_DTYPE_I8) return INVALID("INT8 weights are i8");
        if (w->k > QB_INT_GEMM_MAX_K) return UNSUPPORTED("INT8 k=%lld > %d", LL(w->k), QB_INT_GEMM_MAX_K);
        if (float_scales(h, w, false, &nscales)) return QBLAS_STATUS_INVALID_VALUE;
        if (!mul3(w->n, w->k, 1, &z.data) || !mul3(nscales, 4, 1, &z.scales)) return INVALID("INT8 sizes overflow");
        break;
    case QBLAS_WFORMAT_FP8:
        if (!qb_is_fp8(w->dtype)) return INVALID("FP8 weights are e4m3, e5m2 or e4m3fnuz");
        if (float_scales(h, w, true, &nscales)) return QBLAS_STATUS_INVALID_VALUE;
        if (!mul3(w->n, w->k, 1, &z.data) || !mul3(nscales, 4, 1, &z.scales)) return INVALID("FP8 sizes overflow");
        break;
    case QBLAS_WFORMAT_W4A8: {
        if (w->dtype != QBLAS_DTYPE_U4) return INVALID("W4A8 weights are u4");
        if (w->k % 2) return INVALID("W4A8 k=%lld must be even", LL(w->k));
        if (w->k > QB_INT_GEMM_MAX_K) return UNSUPPORTED("W4A8 k=%lld > %d", LL(w->k), QB_INT_GEMM_MAX_K);
        if (w->scale_dtype != QBLAS_DTYPE_F16) return INVALID("W4A8 channel scales are f16");
        int64_t G;
        if (w->group_size == 128) {
            if (w->k % 128) return INVALID("group_size 128 does not divide k=%lld", LL(w->k));
            if (w->scale_mode != QBLAS_SCALE_PER_GROUP) return INVALID("W4A8 g128 scale_mode must be PER_GROUP");
            G = w->k / 128;
            if (!mul3(G, w->n, 1, &z.group_scales)) return INVALID("W4A8 sizes overflow");
        } else if (w->group_size == 0) {
            if (w->scale_mode != QBLAS_SCALE_PER_ROW) return INVALID("W4A8 per-channel scale_mode must be PER_ROW");
            if (w->group_scales) return INVALID("W4A8 per-channel has no group scales");
            G = 1;
        } else {
            return INVALID("W4A8 group_size %d not in {0, 128}", w->group_size);
        }
        if (!mul3(w->n, w->k / 2, 1, &z.data) || !mul3(w->n, 2, 1, &z.scales) || !mul3(G, w->n, 1, &z.zeros))
            return INVALID("W4A8 sizes overflow");
        break;
    }
    case QBLAS_WFORMAT_SPARSE24: {
        if (w->k % 4) return INVALID("2:4 sparse k=%lld must be a multiple of 4", LL(w->k));
        qblas_dtype_t t = w->dtype;
        if (qb_is_float16ish(t)) {
            if (w->scale_mode != QBLAS_SCALE_NONE) return INVALID("f16/bf16 2:4 weights take no scales");
        } else if (t == QBLAS_DTYPE_I8) {
            if (w->k > QB_INT_GEMM_MAX_K) return UNSUPPORTED("2:4 int8 k=%lld > %d", LL(w->k), QB_INT_GEMM_MAX_K);
            if (float_scales(h, w, false, &nscales)) return QBLAS_STATUS_INVALID_VALUE;
        } else if (t == QBLAS_DTYPE_E4M3 || t == QBLAS_DTYPE_E5M2) {
            if (float_scales(h, w, true, &nscales)) return QBLAS_STATUS_INVALID_VALUE;
        } else {
            return INVALID("2:4 sparse dtype %s not supported", qblas_dtype_name(t));
        }
        if (!mul3(w->n, w->k / 2, (int64_t)qb_dtype_size(t), &z.data) || !mul3(w->n, qb_cdiv(w->k, 8), 1, &z.meta) ||
            !mul3(nscales, 4, 1, &z.scales))
            return INVALID("2:4 sizes overflow");
        break;
    }
    default: return INVALID("weight format %d unknown", (int)w->format);
    }
    if (w->format != QBLAS_WFORMAT_W4A16 && w->g_idx) return INVALID("g_idx is for W4A16 only");
    if (w->format != QBLAS_WFORMAT_W4A8 && w->group_scales) return INVALID("group_scales are for W4A8 only");
    if (w->format != QBLAS_WFORMAT_SPARSE24 && w->meta) return INVALID("meta is for 2:4 weights only");
    if (w->format != QBLAS_WFORMAT_W4A16 && w->format != QBLAS_WFORMAT_W4A8 && w->zeros)
        return INVALID("zeros are for W4A16 / W4A8 weights only");
    if (s) *s = z;
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_weight_sizes(const qblas_weight_t *w, qblas_weight_sizes_t *sizes)
{
    if (!sizes) return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "sizes is NULL");
    qblas_status_t st = qb_check_weight(NULL, w, sizes);
    if (st == QBLAS_STATUS_SUCCESS) qb_clear_error(NULL);
    return st;
}

/* ---- aliasing ---- */

void qb_span_add(qb_spans *l, const void *p, int64_t bytes, bool out, const char *what)
{
    if (!p || bytes <= 0 || l->n == QB_SPANS_MAX) return; /* no call has more than QB_SPANS_MAX arguments */
    l->s[l->n++] = (qb_span){p, bytes, out, what};
}

void qb_weight_spans(qb_spans *l, const qblas_weight_t *w, bool out, bool g_idx_out)
{
    qblas_weight_sizes_t z = {1, 1, 1, 1, 1, 1};
    if (w->layout == QBLAS_LAYOUT_CANONICAL || w->layout == QBLAS_LAYOUT_CPU_BLOB)
        qb_check_weight(NULL, w, &z); /* a validated weight: succeeds, records nothing */
    qb_span_add(l, w->data, (int64_t)z.data, out, "weight data");
    qb_span_add(l, w->meta, (int64_t)z.meta, out, "weight meta");
    qb_span_add(l, w->scales, (int64_t)z.scales, out, "weight scales");
    qb_span_add(l, w->zeros, (int64_t)z.zeros, out, "weight zeros");
    qb_span_add(l, w->group_scales, (int64_t)z.group_scales, out, "weight group scales");
    qb_span_add(l, w->g_idx, (int64_t)z.g_idx, g_idx_out, "g_idx");
}

qblas_status_t qb_check_spans(qblas_handle_t h, const qb_spans *l)
{
    for (int i = 0; i < l->n; i++)
        for (int j = i + 1; j < l->n; j++) {
            const qb_span *a = &l->s[i], *b = &l->s[j];
            if ((a->out || b->out) && qb_overlap(a->p, a->bytes, b->p, b->bytes))
                return INVALID("%s and %s overlap: an output may share no memory with another argument", a->what,
                               b->what);
        }
    return QBLAS_STATUS_SUCCESS;
}

/* A workspace's range as the caller gave it (any size_t). */
static int64_t ws_span(size_t ws_bytes) { return ws_bytes > (size_t)INT64_MAX ? INT64_MAX : (int64_t)ws_bytes; }

/* a * b for a range's size; beyond int64 a range covers every address anyway */
static int64_t mul_sat(int64_t a, int64_t b)
{
    int64_t r;
    return qb_mul(a, b, &r) ? r : INT64_MAX;
}

/* Pointers of a canonical weight: present where the format needs them, aligned. */
qblas_status_t qb_check_weight_ptrs(qblas_handle_t h, const qblas_weight_t *w)
{
    if (!w->data) return INVALID("weight data is NULL");
    if (!qb_aligned(w->data, w->dtype)) return INVALID("weight data misaligned");
    bool need_scales = w->scale_mode != QBLAS_SCALE_NONE;
    if (need_scales && !w->scales) return INVALID("weight scales are NULL");
    if (w->scales && !qb_aligned(w->scales, w->scale_dtype)) return INVALID("weight scales misaligned");
    if (w->format == QBLAS_WFORMAT_SPARSE24 && !w->meta) return INVALID("2:4 meta is NULL");
    if (w->format == QBLAS_WFORMAT_W4A8) {
        if (!w->zeros) return INVALID("W4A8 zeros are NULL");
        if (w->group_size == 128 && !w->group_scales) return INVALID("W4A8 group_scales are NULL");
    }
    if (w->g_idx && ((uintptr_t)w->g_idx % 4)) return INVALID("g_idx misaligned");
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t check_act_scales(qblas_handle_t h, const qblas_act_t *x, int64_t m, int64_t k,
                                       qblas_scale_mode_t wmode)
{
    (void)m, (void)k;
    bool wblock = wmode == QBLAS_SCALE_BLOCK_128X128;
    switch (x->scale_mode) {
    case QBLAS_SCALE_PER_TENSOR:
    case QBLAS_SCALE_PER_ROW:
        if (wblock) return INVALID("128x128 weight scales need 1x128 activation scales");
        break;
    case QBLAS_SCALE_BLOCK_1X128:
        if (!wblock) return INVALID("1x128 activation scales need 128x128 weight scales");
        break;
    default: return INVALID("activation scale_mode %d not valid here", (int)x->scale_mode);
    }
    if (!x->scales) return INVALID("activation scales are NULL");
    if ((uintptr_t)x->scales % 4) return INVALID("activation scales misaligned");
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_check_gemm_problem(qblas_handle_t h, const qb_gemm_args *a)
{
    const qblas_act_t *x = a->x;
    const qblas_weight_t *w = a->w;
    if (a->m < 1 || a->n < 1 || a->k < 1)
        return INVALID("m=%lld n=%lld k=%lld must all be >= 1", LL(a->m), LL(a->n), LL(a->k));
    if (!x || !w) return INVALID("activation or weight descriptor is NULL");
    qblas_status_t st = qb_check_weight(h, w, NULL);
    if (st) return st;
    if (w->n != a->n || w->k != a->k)
        return INVALID("weight is %lldx%lld but the call says n=%lld k=%lld", LL(w->n), LL(w->k), LL(a->n), LL(a->k));
    if (w->layout == QBLAS_LAYOUT_CANONICAL && (st = qb_check_weight_ptrs(h, w))) return st;
    if (w->layout != QBLAS_LAYOUT_CANONICAL && !w->data) return INVALID("packed weight data is NULL");

    /* activation dtype and scales per format */
    qblas_dtype_t xt = x->dtype;
    switch (w->format) {
    case QBLAS_WFORMAT_W4A16:
        if (!qb_is_float16ish(xt)) return INVALID("W4A16 activations are f16 or bf16");
        break;
    case QBLAS_WFORMAT_INT8:
    case QBLAS_WFORMAT_W4A8:
        if (xt != QBLAS_DTYPE_I8) return INVALID("%s activations are i8", w->format == QBLAS_WFORMAT_INT8 ? "INT8" : "W4A8");
        break;
    case QBLAS_WFORMAT_FP8:
        if (!qb_is_fp8(xt)) return INVALID("FP8 activations are fp8");
        break;
    case QBLAS_WFORMAT_SPARSE24:
        if (qb_is_fp8(w->dtype) ? !qb_is_fp8(xt) : xt != w->dtype)
            return INVALID("2:4 %s weights need %s activations", qblas_dtype_name(w->dtype), qblas_dtype_name(w->dtype));
        break;
    default: return INVALID("weight format unknown");
    }
    if (qb_is_float16ish(xt)) {
        if (x->scale_mode != QBLAS_SCALE_NONE || x->scales) return INVALID("f16/bf16 activations take no scales");
    } else if ((st = check_act_scales(h, x, a->m, a->k, w->scale_mode))) {
        return st;
    }
    if (x->zeros) {
        bool int8 = w->format == QBLAS_WFORMAT_INT8 || (w->format == QBLAS_WFORMAT_SPARSE24 && xt == QBLAS_DTYPE_I8);
        if (!int8) return INVALID("activation zero points are for INT8 GEMMs only");
        if (x->scale_mode != QBLAS_SCALE_PER_ROW) return INVALID("activation zero points need PER_ROW scales");
        if ((uintptr_t)x->zeros % 4) return INVALID("activation zeros misaligned");
    }
    if (!x->data) return INVALID("activation data is NULL");
    if (!qb_aligned(x->data, xt)) return INVALID("activation data misaligned");
    int64_t bytes;
    if (x->ld < a->k) return INVALID("ldx=%lld < k=%lld", LL(x->ld), LL(a->k));
    if (!qb_span_bytes(xt, a->m, a->k, x->ld, &bytes)) return INVALID("activation size overflows");

    if (a->y_dtype != QBLAS_DTYPE_F16 && a->y_dtype != QBLAS_DTYPE_BF16 && a->y_dtype != QBLAS_DTYPE_F32)
        return INVALID("output dtype must be f16, bf16 or f32");
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_check_gemm(qblas_handle_t h, const qb_gemm_args *a, const void *ws, size_t ws_bytes)
{
    const qblas_act_t *x = a->x;
    int64_t ybytes, xbytes;
    qblas_status_t st = qb_check_gemm_problem(h, a);
    if (st) return st;
    if (!a->y) return INVALID("output is NULL");
    if (a->ldy < a->n) return INVALID("ldy=%lld < n=%lld", LL(a->ldy), LL(a->n));
    if (!qb_span_bytes(a->y_dtype, a->m, a->n, a->ldy, &ybytes)) return INVALID("output size overflows");
    if (!qb_aligned(a->y, a->y_dtype)) return INVALID("output misaligned");
    if (a->bias && !qb_aligned(a->bias, a->y_dtype)) return INVALID("bias misaligned");
    /* Y against everything else the call touches */
    qb_span_bytes(x->dtype, a->m, a->k, x->ld, &xbytes); /* checked by the problem */
    int64_t sx = x->scale_mode == QBLAS_SCALE_PER_ROW       ? a->m
                 : x->scale_mode == QBLAS_SCALE_BLOCK_1X128 ? mul_sat(a->m, qb_cdiv(a->k, 128))
                                                            : 1;
    qb_spans l = {0};
    qb_span_add(&l, a->y, ybytes, true, "Y");
    qb_span_add(&l, ws, ws_span(ws_bytes), true, "the workspace");
    qb_span_add(&l, x->data, xbytes, false, "X");
    qb_span_add(&l, x->scales, mul_sat(sx, 4), false, "X scales");
    qb_span_add(&l, x->zeros, mul_sat(a->m, 4), false, "X zeros");
    qb_span_add(&l, a->bias, mul_sat(a->n, (int64_t)qb_dtype_size(a->y_dtype)), false, "bias");
    qb_weight_spans(&l, a->w, false, false);
    return qb_check_spans(h, &l);
}

qblas_status_t qb_check_qact(qblas_handle_t h, const qb_qact_args *a)
{
    if (a->m < 1 || a->k < 1) return INVALID("m=%lld k=%lld must be >= 1", LL(a->m), LL(a->k));
    if (a->x_dtype != QBLAS_DTYPE_F32 && !qb_is_float16ish(a->x_dtype)) return INVALID("input must be f32, f16 or bf16");
    bool fp8 = qb_is_fp8(a->q_dtype);
    if (!fp8 && a->q_dtype != QBLAS_DTYPE_I8) return INVALID("quantized dtype must be i8 or fp8");
    switch (a->mode) {
    case QBLAS_SCALE_PER_TENSOR:
    case QBLAS_SCALE_PER_ROW: break;
    case QBLAS_SCALE_BLOCK_1X128:
        if (!fp8) return INVALID("1x128 block scales are for fp8");
        break;
    default: return INVALID("scale mode %d not valid for activations", (int)a->mode);
    }
    if (a->zeros && (a->q_dtype != QBLAS_DTYPE_I8 || a->mode != QBLAS_SCALE_PER_ROW))
        return INVALID("zero points are for per-token int8 only");
    if (!a->x || !a->q || !a->scales) return INVALID("x, q or scales is NULL");
    if (!qb_aligned(a->x, a->x_dtype) || ((uintptr_t)a->scales % 4) || (a->zeros && ((uintptr_t)a->zeros % 4)))
        return INVALID("misaligned pointer");
    int64_t xbytes, qbytes;
    if (a->ldx < a->k || a->ldq < a->k) return INVALID("leading dimension < k");
    if (!qb_span_bytes(a->x_dtype, a->m, a->k, a->ldx, &xbytes) || !qb_span_bytes(a->q_dtype, a->m, a->k, a->ldq, &qbytes))
        return INVALID("size overflows");
    /* the codes, scales and zero points against x and each other (a static scale is read, not written) */
    bool tensor = a->mode == QBLAS_SCALE_PER_TENSOR;
    int64_t ns = tensor ? 1 : a->mode == QBLAS_SCALE_PER_ROW ? a->m : mul_sat(a->m, qb_cdiv(a->k, 128));
    qb_spans l = {0};
    qb_span_add(&l, a->q, qbytes, true, "the codes");
    qb_span_add(&l, a->scales, mul_sat(ns, 4), !tensor, "the scales");
    qb_span_add(&l, a->zeros, mul_sat(a->m, 4), true, "the zero points");
    qb_span_add(&l, a->x, xbytes, false, "x");
    return qb_check_spans(h, &l);
}

qblas_status_t qb_check_kv(qblas_handle_t h, const qblas_kv_cache_t *kv)
{
    if (!kv) return INVALID("kv cache descriptor is NULL");
    if (kv->num_pages < 1 || kv->page_size < 1 || kv->num_kv_heads < 1)
        return INVALID("kv cache num_pages=%d page_size=%d num_kv_heads=%d must be >= 1", kv->num_pages, kv->page_size,
                       kv->num_kv_heads);
    if (kv->head_dim != 64 && kv->head_dim != 128 && kv->head_dim != 256)
        return INVALID("head_dim %d not in {64, 128, 256}", kv->head_dim);
    if (!kv->k || !kv->v) return INVALID("kv cache k or v is NULL");
    /* enums first: the size below depends on the dtype, and an unknown one must be named as such */
    bool want_scales = true, want_zero = false;
    switch (kv->dtype) {
    case QBLAS_DTYPE_F16:
    case QBLAS_DTYPE_BF16:
        if (kv->scale_mode != QBLAS_SCALE_NONE) return INVALID("f16/bf16 kv caches take no scales");
        want_scales = false;
        break;
    case QBLAS_DTYPE_E4M3:
        if (kv->scale_mode != QBLAS_SCALE_PER_TENSOR && kv->scale_mode != QBLAS_SCALE_PER_HEAD)
            return INVALID("fp8 kv caches take PER_TENSOR or PER_HEAD scales");
        break;
    case QBLAS_DTYPE_I8:
        if (kv->scale_mode != QBLAS_SCALE_PER_TOKEN_HEAD) return INVALID("int8 kv caches take PER_TOKEN_HEAD scales");
        break;
    case QBLAS_DTYPE_U4:
        if (kv->scale_mode != QBLAS_SCALE_PER_TOKEN_HEAD) return INVALID("int4 kv caches take PER_TOKEN_HEAD scales");
        want_zero = true;
        break;
    default: return INVALID("kv cache dtype %s (%d) not supported", qblas_dtype_name(kv->dtype), (int)kv->dtype);
    }
    int64_t tokens, elems, bytes;
    if (!qb_mul(kv->num_pages, kv->page_size, &tokens) || !qb_mul(tokens, kv->num_kv_heads, &elems) ||
        !qb_mul(elems, kv->head_dim, &elems) || !qb_row_bytes(kv->dtype, elems, &bytes))
        return INVALID("kv cache size overflows");
    if (want_scales && (!kv->k_scale || !kv->v_scale)) return INVALID("kv cache scales are NULL");
    if (want_zero && (!kv->k_zero || !kv->v_zero)) return INVALID("int4 kv cache zeros are NULL");
    if (!want_scales && (kv->k_scale || kv->v_scale)) return INVALID("this kv cache dtype takes no scales");
    if (!want_zero && (kv->k_zero || kv->v_zero)) return INVALID("only int4 kv caches take zeros");
    if (!qb_aligned(kv->k, kv->dtype) || !qb_aligned(kv->v, kv->dtype) || ((uintptr_t)kv->k_scale % 4) ||
        ((uintptr_t)kv->v_scale % 4) || ((uintptr_t)kv->k_zero % 4) || ((uintptr_t)kv->v_zero % 4))
        return INVALID("kv cache pointer misaligned");
    return QBLAS_STATUS_SUCCESS;
}

/* The ranges of a valid cache: K and V, their scales and zero points. */
static void kv_spans(qb_spans *l, const qblas_kv_cache_t *kv, bool cache_out, bool params_out)
{
    int64_t rows = (int64_t)kv->num_pages * kv->page_size * kv->num_kv_heads, bytes;
    qb_row_bytes(kv->dtype, rows * kv->head_dim, &bytes); /* checked by qb_check_kv */
    int64_t ns = kv->scale_mode == QBLAS_SCALE_PER_TENSOR ? 1 : kv->scale_mode == QBLAS_SCALE_PER_HEAD ? kv->num_kv_heads : rows;
    qb_span_add(l, kv->k, bytes, cache_out, "the K cache");
    qb_span_add(l, kv->v, bytes, cache_out, "the V cache");
    qb_span_add(l, kv->k_scale, 4 * ns, params_out, "the K scales");
    qb_span_add(l, kv->v_scale, 4 * ns, params_out, "the V scales");
    qb_span_add(l, kv->k_zero, 4 * rows, params_out, "the K zeros");
    qb_span_add(l, kv->v_zero, 4 * rows, params_out, "the V zeros");
}

qblas_status_t qb_check_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                  const void *ws, size_t ws_bytes)
{
    qblas_status_t st = qb_check_kv(h, kv);
    if (st) return st;
    if (!p) return INVALID("attention params are NULL");
    if (p->num_seqs < 1 || p->num_q_tokens < 1 || p->num_q_heads < 1)
        return INVALID("num_seqs=%d num_q_tokens=%d num_q_heads=%d must be >= 1", p->num_seqs, p->num_q_tokens,
                       p->num_q_heads);
    if (p->num_q_heads % kv->num_kv_heads)
        return INVALID("num_q_heads %d is not a multiple of num_kv_heads %d", p->num_q_heads, kv->num_kv_heads);
    if (!qb_is_float16ish(p->q_dtype)) return INVALID("queries are f16 or bf16");
    if (!p->q || !p->o || !p->seq_lens || !p->block_tables) return INVALID("q, o, seq_lens or block_tables is NULL");
    if (!p->qo_indptr && p->num_q_tokens != p->num_seqs)
        return INVALID("decode (qo_indptr NULL) needs num_q_tokens == num_seqs");
    if (p->block_table_stride < 1) return INVALID("block_table_stride must be >= 1");
    int64_t cap;
    if (p->max_seq_len < 0 || !qb_mul(p->block_table_stride, kv->page_size, &cap) || p->max_seq_len > cap)
        return INVALID("max_seq_len %d outside 0..block_table_stride*page_size", p->max_seq_len);
    if (!(p->sm_scale == p->sm_scale) || isinf(p->sm_scale)) return INVALID("sm_scale must be finite");
    if (!(p->logit_softcap >= 0.0f) || isinf(p->logit_softcap)) return INVALID("logit_softcap must be finite and >= 0");
    if (p->window_left < -1) return INVALID("window_left must be >= -1");
    if (p->causal != 0 && p->causal != 1) return INVALID("causal must be 0 or 1");
    if (!qb_aligned(p->q, p->q_dtype) || !qb_aligned(p->o, p->q_dtype) || ((uintptr_t)p->lse % 4) ||
        ((uintptr_t)p->seq_lens % 4) || ((uintptr_t)p->block_tables % 4) || ((uintptr_t)p->qo_indptr % 4))
        return INVALID("attention pointer misaligned");
    int64_t elems, qbytes;
    if (!qb_mul(p->num_q_tokens, p->num_q_heads, &elems) || !qb_mul(elems, kv->head_dim, &qbytes) ||
        !qb_mul(qbytes, 2, &qbytes))
        return INVALID("query size overflows");
    /* O, lse and the workspace against everything else the call touches */
    qb_spans l = {0};
    qb_span_add(&l, p->o, qbytes, true, "O");
    qb_span_add(&l, p->lse, 4 * elems, true, "lse");
    qb_span_add(&l, ws, ws_span(ws_bytes), true, "the workspace");
    qb_span_add(&l, p->q, qbytes, false, "Q");
    kv_spans(&l, kv, false, false);
    qb_span_add(&l, p->seq_lens, 4 * (int64_t)p->num_seqs, false, "seq_lens");
    qb_span_add(&l, p->block_tables, mul_sat((int64_t)p->num_seqs * p->block_table_stride, 4), false, "block_tables");
    qb_span_add(&l, p->qo_indptr, 4 * ((int64_t)p->num_seqs + 1), false, "qo_indptr");
    return qb_check_spans(h, &l);
}

qblas_status_t qb_check_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a)
{
    qblas_status_t st = qb_check_kv(h, kv);
    if (st) return st;
    if (a->num_tokens < 1) return INVALID("num_tokens=%lld must be >= 1", LL(a->num_tokens));
    if (a->src_dtype != QBLAS_DTYPE_F32 && !qb_is_float16ish(a->src_dtype)) return INVALID("new K/V are f32, f16 or bf16");
    if (!a->k_new || !a->v_new || !a->slot_mapping) return INVALID("k_new, v_new or slot_mapping is NULL");
    if (!qb_aligned(a->k_new, a->src_dtype) || !qb_aligned(a->v_new, a->src_dtype) || ((uintptr_t)a->slot_mapping % 8))
        return INVALID("append pointer misaligned");
    int64_t elems, bytes;
    if (!qb_mul(a->num_tokens, kv->num_kv_heads, &elems) || !qb_mul(elems, kv->head_dim, &elems) ||
        !qb_mul(elems, 4, &bytes))
        return INVALID("append size overflows");
    /* the cache (and the int8/int4 scales and zeros it writes) against the new rows and slots */
    qb_spans l = {0};
    kv_spans(&l, kv, true, kv->dtype == QBLAS_DTYPE_I8 || kv->dtype == QBLAS_DTYPE_U4);
    qb_span_add(&l, a->k_new, elems * (int64_t)qb_dtype_size(a->src_dtype), false, "k_new");
    qb_span_add(&l, a->v_new, elems * (int64_t)qb_dtype_size(a->src_dtype), false, "v_new");
    qb_span_add(&l, a->slot_mapping, 8 * a->num_tokens, false, "slot_mapping");
    return qb_check_spans(h, &l);
}
