/* api.c - public entry points of the handle-based operations.
 *
 * Each one: check arguments (validate.c), check the workspace against the
 * backend's own query, call the backend, record which kernel ran. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

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
    qb_choice c;
    qblas_status_t st = qb_check_gemm_problem(h, &a);
    if (st) return st;
    return finish(h, h->ops->gemm_query(h, &a, NULL, &c, info), NULL);
}

/* The workspace check of a call: against the plan's figure when there is
 * one (plan_ws non-NULL), which must cover what the call needs. */
static qblas_status_t check_call_ws(qblas_handle_t h, const size_t *plan_ws, size_t need, const void *ws,
                                    size_t ws_bytes)
{
    if (plan_ws && need > *plan_ws)
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE,
                       "this call needs %zu bytes of workspace with the plan's choice, the plan says %zu: it was made "
                       "for another problem (e.g. X alignment, zero points, act-order)",
                       need, *plan_ws);
    return check_ws(h, plan_ws ? *plan_ws : need, ws, ws_bytes);
}

/* Query (with a plan's choice, or selecting), check the workspace, run with
 * what the query chose. */
static qblas_status_t gemm_run(qblas_handle_t h, const qb_gemm_args *a, const qblas_gemm_plan_t *plan,
                               const qb_choice *fixed, void *ws, size_t ws_bytes, void *stream)
{
    qblas_kernel_info_t info;
    qb_choice c;
    qblas_status_t st = qb_check_gemm(h, a, ws, ws_bytes);
    if (st) return st;
    if ((st = h->ops->gemm_query(h, a, fixed, &c, &info))) return finish(h, st, NULL);
    if ((st = check_call_ws(h, plan ? &plan->workspace_bytes : NULL, info.workspace_bytes, ws, ws_bytes))) return st;
    return finish(h, h->ops->gemm(h, a, &c, ws, ws_bytes, stream), info.kernel_name);
}

qblas_status_t qblas_gemm(qblas_handle_t h, int64_t m, int64_t n, int64_t k, const qblas_act_t *x,
                          const qblas_weight_t *w, const void *bias, qblas_dtype_t y_dtype, void *y, int64_t ldy,
                          void *ws, size_t ws_bytes, void *stream)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    qb_gemm_args a = {m, n, k, x, w, bias, y_dtype, y, ldy};
    return gemm_run(h, &a, NULL, NULL, ws, ws_bytes, stream);
}

/* ---- plans ---- */

/* What every plan records of where it was made (checked by plan_made_here). */
#define PLAN_ORIGIN(pl, h, magic_)                                      \
    ((pl)->magic = (magic_), (pl)->version = QBLAS_VERSION, (pl)->backend = (h)->backend, (pl)->device = (h)->arch_id)

static qblas_status_t plan_made_here(qblas_handle_t h, uint32_t magic, uint32_t want, int32_t version,
                                     qblas_backend_t backend, uint64_t device, const char *what)
{
    if (magic != want) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "not a %s plan: make one with qblas_%s_plan", what, what);
    if (version != QBLAS_VERSION)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "the %s plan was made by qblas version %d; this is %d", what,
                       (int)version, QBLAS_VERSION);
    if (backend != h->backend || device != h->arch_id)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH,
                       "the %s plan was made on backend %d, device 0x%llx; this handle is backend %d, device 0x%llx",
                       what, (int)backend, (unsigned long long)device, (int)h->backend, (unsigned long long)h->arch_id);
    return QBLAS_STATUS_SUCCESS;
}

static void plan_choice(int32_t *config, int32_t *splits, char *name, const qb_choice *c)
{
    *config = c->config, *splits = c->splits;
    snprintf(name, QBLAS_KERNEL_NAME_MAX, "%s", c->name);
}

/* The problem fields of a GEMM plan, from a call's arguments. */
static void gemm_problem(qblas_gemm_plan_t *pl, const qb_gemm_args *a)
{
    pl->m = a->m, pl->n = a->n, pl->k = a->k, pl->format = a->w->format;
    pl->x_dtype = a->x->dtype, pl->w_dtype = a->w->dtype, pl->y_dtype = a->y_dtype;
    pl->x_scale_mode = a->x->scale_mode, pl->w_scale_mode = a->w->scale_mode;
}

qblas_status_t qblas_gemm_plan(qblas_handle_t h, int64_t m, int64_t n, int64_t k, const qblas_act_t *x,
                               const qblas_weight_t *w, qblas_dtype_t y_dtype, qblas_gemm_plan_t *plan)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    if (!plan) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "plan is NULL");
    qb_gemm_args a = {m, n, k, x, w, NULL, y_dtype, NULL, 0};
    qblas_kernel_info_t info;
    qb_choice c;
    qblas_status_t st = qb_check_gemm_problem(h, &a);
    if (st || (st = h->ops->gemm_query(h, &a, NULL, &c, &info))) return finish(h, st, NULL);
    qblas_gemm_plan_t pl;
    memset(&pl, 0, sizeof pl);
    PLAN_ORIGIN(&pl, h, QBLAS_GEMM_PLAN_MAGIC);
    gemm_problem(&pl, &a);
    plan_choice(&pl.config, &pl.splits, pl.config_name, &c);
    pl.workspace_bytes = info.workspace_bytes;
    memcpy(pl.kernel_name, info.kernel_name, sizeof pl.kernel_name);
    *plan = pl;
    return finish(h, QBLAS_STATUS_SUCCESS, NULL);
}

qblas_status_t qblas_gemm_planned(qblas_handle_t h, const qblas_gemm_plan_t *plan, int64_t m, int64_t n, int64_t k,
                                  const qblas_act_t *x, const qblas_weight_t *w, const void *bias,
                                  qblas_dtype_t y_dtype, void *y, int64_t ldy, void *ws, size_t ws_bytes,
                                  void *stream)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    if (!plan) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "plan is NULL");
    qb_gemm_args a = {m, n, k, x, w, bias, y_dtype, y, ldy};
    qblas_status_t st = plan_made_here(h, plan->magic, QBLAS_GEMM_PLAN_MAGIC, plan->version, plan->backend,
                                       plan->device, "gemm");
    if (st || (st = qb_check_gemm_problem(h, &a))) return st;
    /* want: the plan with this call's problem written over it; the bytes from
     * n up to the choice are then the problem fields alone */
    qblas_gemm_plan_t want = *plan;
    gemm_problem(&want, &a);
    if (m > plan->m || memcmp(&want.n, &plan->n, offsetof(qblas_gemm_plan_t, config) - offsetof(qblas_gemm_plan_t, n)))
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE,
                       "the plan was made for M <= %lld, N=%lld, K=%lld, format %d, X/W/Y %s/%s/%s, scales %d/%d; this "
                       "call has M=%lld, N=%lld, K=%lld, format %d, X/W/Y %s/%s/%s, scales %d/%d",
                       (long long)plan->m, (long long)plan->n, (long long)plan->k, (int)plan->format,
                       qblas_dtype_name(plan->x_dtype), qblas_dtype_name(plan->w_dtype),
                       qblas_dtype_name(plan->y_dtype), (int)plan->x_scale_mode, (int)plan->w_scale_mode,
                       (long long)m, (long long)n, (long long)k, (int)want.format, qblas_dtype_name(want.x_dtype),
                       qblas_dtype_name(want.w_dtype), qblas_dtype_name(want.y_dtype), (int)want.x_scale_mode,
                       (int)want.w_scale_mode);
    const qb_choice c = {plan->config, plan->splits, plan->config_name};
    return gemm_run(h, &a, plan, &c, ws, ws_bytes, stream);
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
    qb_choice c;
    qblas_status_t st = qb_check_attention(h, kv, p, NULL, 0);
    if (st) return st;
    if (!h->ops->attention_query) return missing(h, "attention");
    return finish(h, h->ops->attention_query(h, kv, p, NULL, &c, info), NULL);
}

/* As gemm_run. */
static qblas_status_t attention_run(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                    const qblas_attention_plan_t *plan, const qb_choice *fixed, void *ws,
                                    size_t ws_bytes, void *stream)
{
    qblas_kernel_info_t info;
    qb_choice c;
    qblas_status_t st = qb_check_attention(h, kv, p, ws, ws_bytes);
    if (st) return st;
    if (!h->ops->attention_query || !h->ops->attention) return missing(h, "attention");
    if ((st = h->ops->attention_query(h, kv, p, fixed, &c, &info))) return finish(h, st, NULL);
    if ((st = check_call_ws(h, plan ? &plan->workspace_bytes : NULL, info.workspace_bytes, ws, ws_bytes))) return st;
    return finish(h, h->ops->attention(h, kv, p, &c, ws, ws_bytes, stream), info.kernel_name);
}

qblas_status_t qblas_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                               void *ws, size_t ws_bytes, void *stream)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    return attention_run(h, kv, p, NULL, NULL, ws, ws_bytes, stream);
}

/* The problem fields of an attention plan, from a call's arguments. */
static void attention_problem(qblas_attention_plan_t *pl, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p)
{
    pl->prefill = p->qo_indptr != NULL;
    pl->num_seqs = p->num_seqs, pl->num_q_tokens = p->num_q_tokens;
    pl->num_q_heads = p->num_q_heads, pl->num_kv_heads = kv->num_kv_heads, pl->head_dim = kv->head_dim;
    pl->q_dtype = p->q_dtype, pl->kv_dtype = kv->dtype, pl->kv_scale_mode = kv->scale_mode;
}

qblas_status_t qblas_attention_plan(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                    qblas_attention_plan_t *plan)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    if (!plan) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "plan is NULL");
    qblas_kernel_info_t info;
    qb_choice c;
    qblas_status_t st = qb_check_attention(h, kv, p, NULL, 0);
    if (st) return st;
    if (!h->ops->attention_query) return missing(h, "attention");
    if ((st = h->ops->attention_query(h, kv, p, NULL, &c, &info))) return finish(h, st, NULL);
    qblas_attention_plan_t pl;
    memset(&pl, 0, sizeof pl);
    PLAN_ORIGIN(&pl, h, QBLAS_ATTENTION_PLAN_MAGIC);
    attention_problem(&pl, kv, p);
    plan_choice(&pl.config, &pl.splits, pl.config_name, &c);
    pl.workspace_bytes = info.workspace_bytes;
    memcpy(pl.kernel_name, info.kernel_name, sizeof pl.kernel_name);
    *plan = pl;
    return finish(h, QBLAS_STATUS_SUCCESS, NULL);
}

qblas_status_t qblas_attention_planned(qblas_handle_t h, const qblas_attention_plan_t *plan,
                                       const qblas_kv_cache_t *kv, const qblas_attention_params_t *p, void *ws,
                                       size_t ws_bytes, void *stream)
{
    NEED_HANDLE(h);
    h->last_error[0] = '\0';
    if (!plan) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "plan is NULL");
    qblas_status_t st = plan_made_here(h, plan->magic, QBLAS_ATTENTION_PLAN_MAGIC, plan->version, plan->backend,
                                       plan->device, "attention");
    if (st || (st = qb_check_attention(h, kv, p, NULL, 0))) return st;
    qblas_attention_plan_t want = *plan; /* as in qblas_gemm_planned */
    attention_problem(&want, kv, p);
    if (want.prefill != plan->prefill || want.num_seqs > plan->num_seqs || want.num_q_tokens > plan->num_q_tokens ||
        memcmp(&want.num_q_heads, &plan->num_q_heads,
               offsetof(qblas_attention_plan_t, config) - offsetof(qblas_attention_plan_t, num_q_heads)))
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE,
                       "the plan was made for %s, sequences <= %d, query tokens <= %d, heads %d/%d, head_dim %d, q %s, "
                       "kv %s (scales %d); this call is %s, %d, %d, %d/%d, %d, %s, %s (%d)",
                       plan->prefill ? "prefill" : "decode", (int)plan->num_seqs, (int)plan->num_q_tokens,
                       (int)plan->num_q_heads, (int)plan->num_kv_heads, (int)plan->head_dim,
                       qblas_dtype_name(plan->q_dtype), qblas_dtype_name(plan->kv_dtype), (int)plan->kv_scale_mode,
                       want.prefill ? "prefill" : "decode", (int)want.num_seqs, (int)want.num_q_tokens,
                       (int)want.num_q_heads, (int)want.num_kv_heads, (int)want.head_dim,
                       qblas_dtype_name(want.q_dtype), qblas_dtype_name(want.kv_dtype), (int)want.kv_scale_mode);
    const qb_choice c = {plan->config, plan->splits, plan->config_name};
    return attention_run(h, kv, p, plan, &c, ws, ws_bytes, stream);
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
