/* cpu_backend.c - the CPU backend's operation table.
 *
 * Which plan each GEMM gets (the CPU "registry": one reference kernel per
 * format; tuned GPU backends have their own registries per architecture). */
#include <stdio.h>
#include <string.h>

#include "cpu_internal.h"

typedef qblas_status_t (*qb_setup_fn)(qblas_handle_t, qb_cpu_gemm_plan *);
static const qb_setup_fn setups[] = {
    [QBLAS_WFORMAT_W4A16] = qb_cpu_setup_w4a16, [QBLAS_WFORMAT_INT8] = qb_cpu_setup_int8,
    [QBLAS_WFORMAT_FP8] = qb_cpu_setup_fp8,     [QBLAS_WFORMAT_W4A8] = qb_cpu_setup_w4a8,
    [QBLAS_WFORMAT_SPARSE24] = qb_cpu_setup_sparse24,
};

static qblas_status_t make_plan(qblas_handle_t h, const qb_gemm_args *a, qb_cpu_gemm_plan *p)
{
    memset(p, 0, sizeof *p);
    p->a = a;
    p->w = *a->w;
    /* CPU_BLOB pointers already point into the blob: the view is canonical */
    if (p->w.layout != QBLAS_LAYOUT_CANONICAL && p->w.layout != QBLAS_LAYOUT_CPU_BLOB)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "weight layout %d was packed for another backend",
                       (int)p->w.layout);
    p->w.layout = QBLAS_LAYOUT_CANONICAL;
    qblas_status_t st = qb_check_weight_ptrs(h, &p->w); /* a blob's pointers too */
    return st ? st : setups[a->w->format](h, p);
}

/* The CPU's one "configuration" per operation: the reference kernel, by the
 * name its tuning rows give (a plan of the CPU keeps no choice). */
static const char *const ref_names[] = {
    [QBLAS_WFORMAT_W4A16] = "cpu_ref_w4a16", [QBLAS_WFORMAT_INT8] = "cpu_ref_int8",
    [QBLAS_WFORMAT_FP8] = "cpu_ref_fp8",     [QBLAS_WFORMAT_W4A8] = "cpu_ref_w4a8",
    [QBLAS_WFORMAT_SPARSE24] = "cpu_ref_sparse24",
};
#define CPU_REF_ATTENTION "cpu_ref_attention"

static qb_choice ref_choice(const char *name) { return (qb_choice){-1, 1, name}; }

static qblas_status_t cpu_gemm_query(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed,
                                     qb_choice *chosen, qblas_kernel_info_t *info)
{
    qb_cpu_gemm_plan p;
    size_t ws;
    (void)fixed;
    *chosen = ref_choice(ref_names[a->w->format]);
    qblas_status_t st = make_plan(h, a, &p);
    if (st) return st;
    if (!qb_cpu_gemm_workspace(&p, h->num_threads, &ws))
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "GEMM workspace size overflows (m=%lld k=%lld)",
                       (long long)a->m, (long long)a->k);
    qb_kernel_info(info, ws, p.kernel);
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t cpu_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws, size_t ws_bytes,
                               void *stream)
{
    qb_cpu_gemm_plan p;
    qblas_status_t st = make_plan(h, a, &p);
    if (st) return st;
    qb_cpu_gemm_run(&p, ws, h->num_threads);
    return QBLAS_STATUS_SUCCESS;
}

/* ---- prepack: gather the canonical tensors into one 64-byte aligned blob ---- */
#define BLOB_ALIGN(x) (((x) + 63) & ~(size_t)63)

typedef struct { const void **field; size_t bytes; } blob_part;

static int blob_parts(qblas_weight_t *w, const qblas_weight_sizes_t *s, blob_part parts[6])
{
    int n = 0;
    parts[n++] = (blob_part){&w->data, s->data};
    if (w->meta) parts[n++] = (blob_part){&w->meta, s->meta};
    if (w->scales) parts[n++] = (blob_part){&w->scales, s->scales};
    if (w->zeros) parts[n++] = (blob_part){&w->zeros, s->zeros};
    if (w->group_scales) parts[n++] = (blob_part){&w->group_scales, s->group_scales};
    if (w->g_idx) parts[n++] = (blob_part){(const void **)&w->g_idx, s->g_idx};
    return n;
}

static qblas_status_t cpu_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes)
{
    qblas_weight_sizes_t s;
    qblas_weight_t copy = *w;
    blob_part parts[6];
    qblas_status_t st = qb_check_weight(h, w, &s);
    if (st) return st;
    int n = blob_parts(&copy, &s, parts);
    *bytes = 0;
    for (int i = 0; i < n; i++) *bytes += BLOB_ALIGN(parts[i].bytes);
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t cpu_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                  qblas_weight_t *packed, void *stream)
{
    qblas_weight_sizes_t s;
    qblas_weight_t out = *w;
    blob_part parts[6];
    qblas_status_t st = qb_check_weight(h, w, &s);
    if (st) return st;
    int n = blob_parts(&out, &s, parts);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        memcpy((uint8_t *)dst + off, *parts[i].field, parts[i].bytes);
        *parts[i].field = (uint8_t *)dst + off;
        off += BLOB_ALIGN(parts[i].bytes);
    }
    out.layout = QBLAS_LAYOUT_CPU_BLOB;
    *packed = out;
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t cpu_quantize_act(qblas_handle_t h, const qb_qact_args *a, void *stream)
{
    return qb_cpu_quantize_act(h, a);
}

static qblas_status_t cpu_attention_query(qblas_handle_t h, const qblas_kv_cache_t *kv,
                                          const qblas_attention_params_t *p, const qb_choice *fixed, qb_choice *chosen,
                                          qblas_kernel_info_t *info)
{
    (void)fixed;
    *chosen = ref_choice(CPU_REF_ATTENTION);
    return qb_cpu_attention_query(h, kv, p, info);
}

static qblas_status_t cpu_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                    const qb_choice *c, void *ws, size_t ws_bytes, void *stream)
{
    return qb_cpu_attention(h, kv, p, ws, ws_bytes);
}

static qblas_status_t cpu_kv_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a,
                                    void *stream)
{
    return qb_cpu_kv_append(h, kv, a);
}

static int cpu_device_count(void) { return 1; }

static qblas_status_t cpu_tuning_device(qblas_handle_t h, qblas_tuning_header_t *id)
{
    (void)h;
    snprintf(id->device, sizeof id->device, "cpu");
    snprintf(id->driver, sizeof id->driver, "none");
    snprintf(id->runtime, sizeof id->runtime, "none");
    id->cc = 0;
    id->sms = 0;
    return QBLAS_STATUS_SUCCESS;
}

/* One reference kernel per format, one for attention (the core checked the key's dtypes). */
static size_t cpu_tuning_kernels(qblas_handle_t h, const qblas_tuning_entry_t *key, const char **names, size_t cap)
{
    (void)h;
    if (cap > 0) names[0] = key->op == QBLAS_TUNING_GEMM ? ref_names[key->format] : CPU_REF_ATTENTION;
    return 1;
}

const qb_backend_ops qb_cpu_backend_ops = {
    .name = "cpu",
    .id = QBLAS_BACKEND_CPU,
    .device_count = cpu_device_count,
    .tuning_device = cpu_tuning_device,
    .tuning_kernels = cpu_tuning_kernels,
    .gemm_query = cpu_gemm_query,
    .gemm = cpu_gemm,
    .prepack_size = cpu_prepack_size,
    .prepack = cpu_prepack,
    .quantize_act = cpu_quantize_act,
    .attention_query = cpu_attention_query,
    .attention = cpu_attention,
    .kv_append = cpu_kv_append,
};
