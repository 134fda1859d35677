/* api.c - public entry points of the handle-based operations.
 *
 * Each one: check arguments (validate.c), check the workspace against the
 * backend's own query, call the backend, record which kernel ran. */
#include "qblas_internal.h"

#define NEED_HANDLE(h) \
    do { if (!(h)) return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "handle is NULL"); } while (0)

static qblas_status_t check_ws(qblas_handle_t h, size_t need, const void *ws, size_t ws_bytes)
{
    if (ws_bytes < need)
        return qb_fail(h, QBLAS_STATUS_INSUFFICIENT_WORKSPACE, "workspace of %zu bytes, need %zu", ws_bytes, need);
    if (need > 0 && !ws) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "workspace is NULL");
    return QBLAS_STATUS_SUCCESS;
}

/* An operation the handle's backend leaves out (a NULL ops entry). */
static qblas_status_t missing(qblas_handle_t h, const char *what)
{
    return qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, "the %s backend has no %s in this version", h->ops->name, what);
}

/* Run a backend call and keep last_error/last_kernel consistent. */
static qblas_status_t finish(qblas_handle_t h, qblas_status_t st, const char *kernel)
{
    if (st == QBLAS_STATUS_SUCCESS) {
        qb_clear_error(h);
        if (kernel) qb_set_kernel(h, kernel);
    } else if (!h->last_error[0]) {
        qb_fail(h, st, "%s", qblas_status_string(st));
    }
    return st;
}

qblas_status_t qblas_gemm_query(qblas_handle_t h, int64_t m, int64_t n, int64_t k, const qblas_act_t *x,
                                const qblas_weight_t *w, qblas_dtype_t y_dtype, qblas_kernel_info_t *info)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    if (!info) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "info is NULL");
    qb_gemm_args a = {m, n, k, x, w, NULL, y_dtype, NULL, 0}; /* no output: not part of the question */
    qblas_status_t st = qb_check_gemm_problem(h, &a);
    if (st) return st;
    return finish(h, h->ops->gemm_query(h, &a, info), NULL);
}

qblas_status_t qblas_gemm(qblas_handle_t h, int64_t m, int64_t n, int64_t k, const qblas_act_t *x,
                          const qblas_weight_t *w, const void *bias, qblas_dtype_t y_dtype, void *y, int64_t ldy,
                          void *ws, size_t ws_bytes, void *stream)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    qb_gemm_args a = {m, n, k, x, w, bias, y_dtype, y, ldy};
    qblas_kernel_info_t info;
    qblas_status_t st = qb_check_gemm(h, &a, ws, ws_bytes);
    if (st) return st;
    if ((st = h->ops->gemm_query(h, &a, &info))) return finish(h, st, NULL);
    if ((st = check_ws(h, info.workspace_bytes, ws, ws_bytes))) return st;
    return finish(h, h->ops->gemm(h, &a, ws, ws_bytes, stream), info.kernel_name);
}

qblas_status_t qblas_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    if (!bytes) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "bytes is NULL");
    qblas_status_t st = qb_check_weight(h, w, NULL);
    if (st) return st;
    if (w->layout != QBLAS_LAYOUT_CANONICAL) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "prepack takes a CANONICAL weight");
    /* every canonical buffer the format needs must be there: prepack reads them */
    if ((st = qb_check_weight_ptrs(h, w))) return st;
    return finish(h, h->ops->prepack_size(h, w, bytes), NULL);
}

qblas_status_t qblas_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                             qblas_weight_t *packed, void *stream)
{
    size_t need;
    qblas_status_t st = qblas_prepack_size(h, w, &need);
    if (st) return st;
    if (!packed || !dst) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "dst or packed is NULL");
    if (dst_bytes < need) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "dst holds %zu bytes, prepack needs %zu", dst_bytes, need);
    /* dst and the descriptor written last against the weight's tensors (packed == w is fine: read first) */
    qb_spans l = {0};
    qb_span_add(&l, dst, (int64_t)need, true, "prepack dst");
    qb_span_add(&l, packed, sizeof *packed, true, "the packed descriptor");
    qb_weight_spans(&l, w, false, false);
    if ((st = qb_check_spans(h, &l))) return st;
    return finish(h, h->ops->prepack(h, w, dst, dst_bytes, packed, stream), NULL);
}

qblas_status_t qblas_quantize_act(qblas_handle_t h, int64_t m, int64_t k, qblas_dtype_t x_dtype, const void *x,
                                  int64_t ldx, qblas_dtype_t q_dtype, void *q, int64_t ldq, qblas_scale_mode_t mode,
                                  float *scales, int32_t *zeros, void *stream)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    qb_qact_args a = {m, k, x_dtype, x, ldx, q_dtype, q, ldq, mode, scales, zeros};
    qblas_status_t st = qb_check_qact(h, &a);
    if (st) return st;
    if (!h->ops->quantize_act) return missing(h, "activation quantization");
    return finish(h, h->ops->quantize_act(h, &a, stream), NULL);
}

qblas_status_t qblas_attention_query(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                     qblas_kernel_info_t *info)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    if (!info) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "info is NULL");
    qblas_status_t st = qb_check_attention(h, kv, p, NULL, 0);
    if (st) return st;
    if (!h->ops->attention_query) return missing(h, "attention");
    return finish(h, h->ops->attention_query(h, kv, p, info), NULL);
}

qblas_status_t qblas_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                               void *ws, size_t ws_bytes, void *stream)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    qblas_kernel_info_t info;
    qblas_status_t st = qb_check_attention(h, kv, p, ws, ws_bytes);
    if (st) return st;
    if (!h->ops->attention_query || !h->ops->attention) return missing(h, "attention");
    if ((st = h->ops->attention_query(h, kv, p, &info))) return finish(h, st, NULL);
    if ((st = check_ws(h, info.workspace_bytes, ws, ws_bytes))) return st;
    return finish(h, h->ops->attention(h, kv, p, ws, ws_bytes, stream), info.kernel_name);
}

qblas_status_t qblas_kv_append(qblas_handle_t h, const qblas_kv_cache_t *kv, int64_t num_tokens,
                               qblas_dtype_t src_dtype, const void *k_new, const void *v_new,
                               const int64_t *slot_mapping, void *stream)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    qb_append_args a = {num_tokens, src_dtype, k_new, v_new, slot_mapping};
    qblas_status_t st = qb_check_append(h, kv, &a);
    if (st) return st;
    if (!h->ops->kv_append) return missing(h, "KV append");
    return finish(h, h->ops->kv_append(h, kv, &a, stream), NULL);
}

qblas_status_t qblas_device_status(qblas_handle_t h, void *stream, qblas_status_t *status)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    if (!status) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "status is NULL");
    /* *status is written only by a read that worked; a device error's
     * reason stays in last_error although the read itself succeeded */
    qblas_status_t dev = QBLAS_STATUS_SUCCESS;
    const qblas_status_t st = h->ops->device_status ? h->ops->device_status(h, stream, &dev) : QBLAS_STATUS_SUCCESS;
    if (!st) *status = dev;
    return st;
}
