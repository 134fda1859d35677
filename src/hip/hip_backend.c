/* hip_backend.c - the HIP (AMD) backend's operation table (registered
 * through QBLAS_BACKEND_OPS like every backend: no core file names it):
 * device checks at handle creation, HIP error mapping, the kernel
 * selector, the X staging helper, tuning identity and kernel lists.
 *
 * The kernels are reached only through the launcher table of the device's
 * gfx target (hip_kernels.h: qb_hip_kernels_gfx90a / qb_hip_kernels_gfx942;
 * the built targets' tables are named strongly, QB_HIP_HAS_<target>, and a
 * target not built is a weak NULL reference whose device answers
 * ARCH_MISMATCH). device_count counts the devices whose
 * target has a registry entry and a table in this build, and is 0 - quietly
 * - when the HIP runtime finds no device or no driver (the CI machines:
 * libamdhip64 is there, /dev/kfd is not).
 *
 * As with the CUDA backend, the handle's device must be the current device
 * when an operation is called (qblas_create makes it current).
 *
 * The families' host code: hip_gemm.c (GEMMs, prepack), hip_attention.c
 * (activation quantization, decode attention, KV append),
 * hip_device_status.c (the device-side checks' words). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tuning.h"
#include "hip_backend.h"

qblas_status_t qb_hip_status(qblas_handle_t h, hipError_t e, const char *call)
{
    qblas_status_t st;
    switch (e) {
    case hipErrorOutOfMemory: st = QBLAS_STATUS_ALLOC_FAILED; break;
    case hipErrorNoDevice:
    case hipErrorInvalidDevice:
    case hipErrorInsufficientDriver:
    case hipErrorNoBinaryForGpu:
    case hipErrorInvalidDeviceFunction: st = QBLAS_STATUS_ARCH_MISMATCH; break;
    default: st = QBLAS_STATUS_EXECUTION_FAILED; break;
    }
    (void)hipGetLastError(); /* clear a non-sticky error so the next call starts clean */
    return qb_fail(h, st, "%s: %s (%s)", call, hipGetErrorString(e), hipGetErrorName(e));
}

/* The device's gfx name without its feature suffix ("gfx942" from
 * "gfx942:sramecc+:xnack-") into arch; its registry entry or NULL. */
static const qb_hip_target *target_of(int d, char *arch, size_t cap)
{
    hipDeviceProp_t prop;
    if (hipGetDeviceProperties(&prop, d) != hipSuccess) return NULL;
    snprintf(arch, cap, "%s", prop.gcnArchName);
    char *colon = strchr(arch, ':');
    if (colon) *colon = '\0';
    return qb_hip_target_find(arch);
}

/* The launcher table of a target, or NULL when this build has none. */
static const qb_hip_kernels *table_of(const qb_hip_target *t)
{
    const qb_hip_kernels *k = NULL;
    if (t && strcmp(t->name, "gfx90a") == 0) k = &qb_hip_kernels_gfx90a;
    if (t && strcmp(t->name, "gfx942") == 0) k = &qb_hip_kernels_gfx942;
    return k;
}

static int hip_device_count(void)
{
    int n = 0, usable = 0;
    char arch[256];
    if (hipGetDeviceCount(&n) != hipSuccess) {
        (void)hipGetLastError();
        return 0;
    }
    for (int d = 0; d < n; d++) usable += table_of(target_of(d, arch, sizeof arch)) != NULL;
    (void)hipGetLastError();
    return usable;
}

/* "gfx90a" -> 0x90a: the target in a plan's device identity */
static uint64_t gfx_number(const char *name) { return strtoull(name + 3, NULL, 16); }

static qblas_status_t hip_init_state(qblas_handle_t h, qb_hip_state *s)
{
    int n = 0;
    char arch[256];
    const hipError_t e = hipGetDeviceCount(&n);
    if (e != hipSuccess || n == 0) {
        (void)hipGetLastError();
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "no HIP device (%s)",
                       e != hipSuccess ? hipGetErrorString(e) : "the runtime reports none");
    }
    if (h->device >= n)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "HIP device %d requested, %d present", h->device, n);
    s->device = h->device;
    QB_HIP_TRY(h, hipSetDevice(s->device));
    if (!(s->target = target_of(s->device, arch, sizeof arch)))
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "HIP device %d is %s: the HIP backend has code for gfx90a and gfx942",
                       h->device, arch[0] ? arch : "of an unknown target");
    if (!(s->k = table_of(s->target)))
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "HIP device %d is %s: this build has no %s kernels",
                       h->device, s->target->name, s->target->name);
    QB_HIP_TRY(h, hipDeviceGetAttribute(&s->cus, hipDeviceAttributeMultiprocessorCount, s->device));
    if (s->cus < 1) s->cus = 1;
    /* what plans made here carry: the target and the CU count */
    h->arch_id = (uint64_t)gfx_number(s->target->name) << 32 | (uint32_t)s->cus;
    const char *force = getenv("QBLAS_HIP_KERNEL");
    if (force && *force) {
        for (const qb_hip_cfg *const *c = s->target->cfgs; *c && !s->forced; c++)
            if (strcmp((*c)->name, force) == 0) s->forced = *c;
        if (!s->forced)
            return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "QBLAS_HIP_KERNEL=%s names no kernel configuration of %s",
                           force, s->target->name);
    }
    /* the device-side checks' words, set before any stream can run a kernel that records into them */
    QB_HIP_TRY(h, hipMalloc((void **)&s->dev, sizeof *s->dev));
    QB_HIP_TRY(h, hipMemset(s->dev, 0, sizeof *s->dev));
    QB_HIP_TRY(h, hipDeviceSynchronize());
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t hip_init(qblas_handle_t h)
{
    qb_hip_state *s = calloc(1, sizeof *s);
    if (!s) return qb_fail(h, QBLAS_STATUS_ALLOC_FAILED, "no memory for the HIP handle state");
    h->backend_state = s;
    qblas_status_t st = hip_init_state(h, s);
    if (st) {
        if (s->dev) (void)hipFree(s->dev);
        (void)hipGetLastError();
        free(s);
        h->backend_state = NULL;
    }
    return st;
}

static void hip_fini(qblas_handle_t h)
{
    qb_hip_state *s = qb_hip(h);
    if (!s) return;
    (void)hipFree(s->dev); /* waits for the handle's work; nothing to report from a destroy */
    (void)hipGetLastError();
    free(s);
    h->backend_state = NULL;
}

qblas_status_t qb_hip_on_device(qblas_handle_t h)
{
    int cur;
    QB_HIP_TRY(h, hipGetDevice(&cur));
    if (cur != qb_hip(h)->device)
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "the handle belongs to HIP device %d but device %d is current",
                       qb_hip(h)->device, cur);
    return QBLAS_STATUS_SUCCESS;
}

/* ---- the selector ---- */

static const char *dt_name(qblas_dtype_t t) { return qblas_dtype_name(t); }

static int cfg_index(const qb_hip_target *t, const qb_hip_cfg *c)
{
    for (int i = 0; t->cfgs[i]; i++)
        if (t->cfgs[i] == c) return i;
    return -1;
}

static const qb_hip_cfg *cfg_named(const qb_hip_target *t, const char *name)
{
    for (const qb_hip_cfg *const *c = t->cfgs; *c; c++)
        if (strcmp((*c)->name, name) == 0) return *c;
    return NULL;
}

const qb_hip_cfg *qb_hip_select(qblas_handle_t h, qblas_wformat_t f, qblas_dtype_t act, int64_t m,
                                const qblas_tuning_entry_t *key, const qb_choice *fixed, qblas_status_t *st)
{
    const qb_hip_state *s = qb_hip(h);
    const qb_hip_target *t = s->target;
    const qb_hip_cfg *c = NULL;
    *st = QBLAS_STATUS_SUCCESS;
    if (fixed) {
        int n = 0;
        while (t->cfgs[n]) n++;
        if (fixed->config < 0 || fixed->config >= n || strcmp(t->cfgs[fixed->config]->name, fixed->name) != 0) {
            *st = qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "the plan names configuration %d '%s', which %s lacks",
                          (int)fixed->config, fixed->name, t->name);
            return NULL;
        }
        c = t->cfgs[fixed->config];
        if (c->format != f || c->act != act) {
            *st = qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "the plan's configuration %s does not run this call (format %d, %s)",
                          c->name, (int)f, dt_name(act));
            return NULL;
        }
        return c;
    }
    if (s->forced && s->forced->format == f) {
        if (s->forced->act != act) {
            *st = qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, "QBLAS_HIP_KERNEL=%s takes %s; this call needs %s",
                          s->forced->name, dt_name(s->forced->act), dt_name(act));
            return NULL;
        }
        return s->forced;
    }
    const qblas_tuning_entry_t *r = key ? qb_tuning_find(h, key, m) : NULL;
    if (r && (c = cfg_named(t, r->kernel)) && c->format == f && c->act == act) return c;
    for (const qb_hip_cfg *const *p = t->cfgs; *p; p++)
        if ((*p)->format == f && (*p)->act == act && ((*p)->max_m < 0 || m <= (*p)->max_m)) return *p;
    *st = qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, "no %s kernel of weight format %d with %s operands", t->name, (int)f,
                  dt_name(act));
    return NULL;
}

qb_choice qb_hip_choice(qblas_handle_t h, const qb_hip_cfg *c, int64_t splits)
{
    return (qb_choice){cfg_index(qb_hip(h)->target, c), (int32_t)splits, c->name};
}

qblas_status_t qb_hip_device_ptr(qblas_handle_t h, const void *p, const char *what)
{
    /* hipPointerGetAttribute, not hipPointerGetAttributes: its struct changed between HIP 5 and 6 */
    enum hipMemoryType type = hipMemoryTypeHost;
    int dev = -1;
    if (!p) return QBLAS_STATUS_SUCCESS;
    if (hipPointerGetAttribute(&type, HIP_POINTER_ATTRIBUTE_MEMORY_TYPE, (hipDeviceptr_t)(uintptr_t)p) != hipSuccess ||
        hipPointerGetAttribute(&dev, HIP_POINTER_ATTRIBUTE_DEVICE_ORDINAL, (hipDeviceptr_t)(uintptr_t)p) != hipSuccess) {
        (void)hipGetLastError(); /* the failed query left an error: clear it */
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "%s is not a HIP pointer", what);
    }
    if (type == hipMemoryTypeUnified) return QBLAS_STATUS_SUCCESS; /* (HIP 5.2 has no hipMemoryTypeManaged) */
    if (type != hipMemoryTypeDevice || dev != qb_hip(h)->device)
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "%s is not memory of HIP device %d", what, qb_hip(h)->device);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_hip_stage_x(qblas_handle_t h, const void *x, int64_t ldx_bytes, const int32_t *perm, int64_t m,
                              int64_t k_bytes, int64_t ldo_bytes, void *ws, hipStream_t s)
{
    if (ldo_bytes > k_bytes) QB_HIP_TRY(h, hipMemsetAsync(ws, 0, (size_t)m * (size_t)ldo_bytes, s));
    QB_HIP_TRY(h, qb_hip(h)->k->w4a16_gather_x(x, ldx_bytes / 2, perm, (int)m, (int)(k_bytes / 2), ws,
                                               (int)(ldo_bytes / 2), s));
    return QBLAS_STATUS_SUCCESS;
}

/* ---- tuning files ---- */

/* HIP versions are major * 10^7 + minor * 10^5 + patch */
static void hip_version(char *dst, size_t cap, int v) { snprintf(dst, cap, "%d.%d", v / 10000000, v / 100000 % 100); }

static qblas_status_t hip_tuning_device(qblas_handle_t h, qblas_tuning_header_t *id)
{
    const qb_hip_state *s = qb_hip(h);
    hipDeviceProp_t prop;
    int drv = 0, rt = 0;
    QB_HIP_TRY(h, hipGetDeviceProperties(&prop, s->device));
    QB_HIP_TRY(h, hipDriverGetVersion(&drv));
    QB_HIP_TRY(h, hipRuntimeGetVersion(&rt));
    qb_tuning_device_name(id->device, sizeof id->device, prop.name);
    id->cc = prop.major * 10 + prop.minor; /* gfx90a: 90, gfx942: 94 */
    id->sms = s->cus;
    hip_version(id->driver, sizeof id->driver, drv);
    hip_version(id->runtime, sizeof id->runtime, rt);
    return QBLAS_STATUS_SUCCESS;
}

/* The configurations a GEMM row may name: its format's and activation
 * dtype's (2:4: the weight dtype's; fp8 activations run weights of either
 * fp8 dtype; e4m3fnuz activations run the e4m3 kernels). Attention rows
 * name no configuration on HIP (one decode policy, no prefill). */
static size_t hip_tuning_kernels(qblas_handle_t h, const qblas_tuning_entry_t *key, const char **names, size_t cap)
{
    const qb_hip_target *t = qb_hip(h)->target;
    if (key->op == QBLAS_TUNING_ATTN_DECODE || key->op == QBLAS_TUNING_ATTN_PREFILL) return 0;
    qblas_dtype_t act = key->act;
    if (key->format == QBLAS_WFORMAT_INT8 || key->format == QBLAS_WFORMAT_W4A8) act = QBLAS_DTYPE_I8;
    if (key->format == QBLAS_WFORMAT_FP8 && act == QBLAS_DTYPE_E4M3FNUZ) act = QBLAS_DTYPE_E4M3;
    if (key->format == QBLAS_WFORMAT_SPARSE24 && qb_is_fp8(act)) {
        size_t n = qb_hip_target_kernels(t, key->format, QBLAS_DTYPE_E4M3, names, cap), used = n < cap ? n : cap;
        return n + qb_hip_target_kernels(t, key->format, QBLAS_DTYPE_E5M2, cap ? names + used : names, cap - used);
    }
    return qb_hip_target_kernels(t, key->format, act, names, cap);
}

const qb_backend_ops qb_hip_backend_ops = {
    .name = "hip",
    .id = QBLAS_BACKEND_HIP,
    .device_count = hip_device_count,
    .init = hip_init,
    .fini = hip_fini,
    .gemm_query = qb_hip_gemm_query,
    .gemm = qb_hip_gemm,
    .prepack_size = qb_hip_prepack_size,
    .prepack = qb_hip_prepack,
    .quantize_act = qb_hip_quantize_act,
    .attention_query = qb_hip_attention_query,
    .attention = qb_hip_attention,
    .kv_append = qb_hip_kv_append,
    .device_status = qb_hip_device_status,
    .tuning_device = hip_tuning_device,
    .tuning_kernels = hip_tuning_kernels,
};
