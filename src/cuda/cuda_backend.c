/* cuda_backend.c - the CUDA backend's operation table: device checks at
 * handle creation, CUDA error mapping, and the dispatch of each GEMM to its
 * weight format's host file (cuda_<format>.c).
 *
 * The handle's device must be the current device when an operation is
 * called (qblas_create makes it current), as with cuBLAS handles.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cuda_backend.h"

qblas_status_t qb_cuda_status(qblas_handle_t h, cudaError_t e, const char *call)
{
    qblas_status_t st;
    switch (e) {
    case cudaErrorMemoryAllocation: st = QBLAS_STATUS_ALLOC_FAILED; break;
    case cudaErrorNoDevice:
    case cudaErrorInvalidDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorInvalidDeviceFunction:
    case cudaErrorUnsupportedPtxVersion: st = QBLAS_STATUS_ARCH_MISMATCH; break;
    default: st = QBLAS_STATUS_EXECUTION_FAILED; break;
    }
    (void)cudaGetLastError(); /* clear a non-sticky error so the next call starts clean */
    return qb_fail(h, st, "%s: %s (%s)", call, cudaGetErrorString(e), cudaGetErrorName(e));
}

/* Devices this build can run on (compute capability with an entry in the
 * registry); 0 when there is no driver or no device. */
int qb_cuda_device_count(void)
{
    int n = 0, usable = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    for (int d = 0; d < n; d++) {
        int major = 0, minor = 0;
        if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, d) != cudaSuccess ||
            cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, d) != cudaSuccess) {
            (void)cudaGetLastError();
            continue;
        }
        usable += qb_cuda_arch_for(major * 10 + minor) != NULL;
    }
    return usable;
}

static qblas_status_t device_attrs(qblas_handle_t h, qb_cuda_state *s)
{
    int major, minor, d = s->device;
    QB_CUDA_TRY(h, cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, d));
    QB_CUDA_TRY(h, cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, d));
    QB_CUDA_TRY(h, cudaDeviceGetAttribute(&s->sms, cudaDevAttrMultiProcessorCount, d));
    QB_CUDA_TRY(h, cudaDeviceGetAttribute(&s->smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, d));
    QB_CUDA_TRY(h, cudaDeviceGetAttribute(&s->smem_per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, d));
    s->cc = major * 10 + minor;
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t cuda_init_state(qblas_handle_t h, qb_cuda_state *s)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        (void)cudaGetLastError();
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "no CUDA device (%s)",
                       e != cudaSuccess ? cudaGetErrorString(e) : "the driver reports none");
    }
    if (h->device >= n)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "CUDA device %d requested, %d present", h->device, n);
    s->device = h->device;
    QB_CUDA_TRY(h, cudaSetDevice(s->device));
    qblas_status_t st = device_attrs(h, s);
    if (st) return st;
    if (s->cc < 80)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "compute capability %d.%d < 8.0: qblas needs sm_80 or newer",
                       s->cc / 10, s->cc % 10);
    s->arch = qb_cuda_arch_for(s->cc);
    if (!s->arch)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH,
                       "compute capability %d.%d: this build has kernels for sm_80 (8.x), sm_89 and sm_90a only",
                       s->cc / 10, s->cc % 10);
    h->arch_id = (uint64_t)s->cc << 32 | (uint32_t)s->sms; /* what plans made here carry */
    /* one configuration of any family (the others keep their defaults) */
    const char *force = getenv("QBLAS_CUDA_KERNEL");
    if (force && *force && !(s->forced = qb_cuda_cfg_find(s->arch, force)))
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "QBLAS_CUDA_KERNEL=%s names no kernel configuration of %s",
                       force, s->arch->name);
    /* zeroed before any stream can run a kernel that records into it */
    QB_CUDA_TRY(h, cudaMalloc((void **)&s->dev, sizeof *s->dev));
    QB_CUDA_TRY(h, cudaMemset(s->dev, 0, sizeof *s->dev));
    QB_CUDA_TRY(h, cudaDeviceSynchronize());
    if ((st = qb_cuda_w4a16_init(h)) || (st = qb_cuda_int8_init(h)) || (st = qb_cuda_fp8_init(h)) ||
        (st = qb_cuda_w4a8_init(h)) || (st = qb_cuda_sparse24_init(h)))
        return st;
    return qb_cuda_attention_init(h);
}

static qblas_status_t cuda_init(qblas_handle_t h)
{
    qb_cuda_state *s = calloc(1, sizeof *s);
    if (!s) return qb_fail(h, QBLAS_STATUS_ALLOC_FAILED, "no memory for the CUDA handle state");
    h->backend_state = s;
    qblas_status_t st = cuda_init_state(h, s);
    if (st) {
        cudaFree(s->dev);
        free(s);
        h->backend_state = NULL;
    }
    return st;
}

static void cuda_fini(qblas_handle_t h)
{
    cudaFree(qb_cuda(h)->dev); /* waits for the handle's work; nothing to report from a destroy */
    (void)cudaGetLastError();
    free(h->backend_state);
    h->backend_state = NULL;
}

/* Each weight format's entry points (cuda_<format>.c). */
typedef struct {
    qblas_status_t (*query)(qblas_handle_t, const qb_gemm_args *, const qb_choice *, qb_choice *,
                            qblas_kernel_info_t *);
    qblas_status_t (*gemm)(qblas_handle_t, const qb_gemm_args *, const qb_choice *, void *, size_t, void *);
    qblas_status_t (*prepack_size)(qblas_handle_t, const qblas_weight_t *, size_t *);
    qblas_status_t (*prepack)(qblas_handle_t, const qblas_weight_t *, void *, size_t, qblas_weight_t *, void *);
} gemm_family;

#define FAMILY(f) {qb_cuda_##f##_query, qb_cuda_##f##_gemm, qb_cuda_##f##_prepack_size, qb_cuda_##f##_prepack}
static const gemm_family fam_w4a16 = FAMILY(w4a16), fam_int8 = FAMILY(int8), fam_fp8 = FAMILY(fp8),
                         fam_w4a8 = FAMILY(w4a8), fam_sparse24 = FAMILY(sparse24);

/* The core validated the format value. */
static const gemm_family *family(qblas_wformat_t f)
{
    switch (f) {
    case QBLAS_WFORMAT_INT8: return &fam_int8;
    case QBLAS_WFORMAT_FP8: return &fam_fp8;
    case QBLAS_WFORMAT_W4A8: return &fam_w4a8;
    case QBLAS_WFORMAT_SPARSE24: return &fam_sparse24;
    default: return &fam_w4a16;
    }
}

static qblas_status_t cuda_gemm_query(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed,
                                      qb_choice *chosen, qblas_kernel_info_t *info)
{
    return family(a->w->format)->query(h, a, fixed, chosen, info);
}

qb_choice qb_cuda_choice(const qb_cuda_cfg *c, int64_t splits)
{
    return (qb_choice){qb_cuda_cfg_index(c), (int32_t)splits, c->name};
}

qblas_status_t qb_cuda_on_device(qblas_handle_t h)
{
    int cur;
    QB_CUDA_TRY(h, cudaGetDevice(&cur));
    if (cur != qb_cuda(h)->device)
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "the handle belongs to CUDA device %d but device %d is current",
                       qb_cuda(h)->device, cur);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_device_ptr(qblas_handle_t h, const void *p, const char *what)
{
    struct cudaPointerAttributes at;
    if (!p) return QBLAS_STATUS_SUCCESS;
    if (cudaPointerGetAttributes(&at, p) != cudaSuccess) {
        (void)cudaGetLastError(); /* the failed query left a (non-sticky) error: clear it */
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "%s is not a CUDA pointer", what);
    }
    if (at.type == cudaMemoryTypeManaged) return QBLAS_STATUS_SUCCESS;
    if (at.type != cudaMemoryTypeDevice || at.device != qb_cuda(h)->device)
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "%s is not memory of CUDA device %d", what, qb_cuda(h)->device);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_check_rows16(qblas_handle_t h, const qblas_act_t *x, const void *w_data, const char *family)
{
    if ((uintptr_t)x->data % 16 || x->ld % 16)
        return qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED,
                       "CUDA %s needs 16-byte aligned activation rows (pointer and ldx=%lld multiples of 16)", family,
                       (long long)x->ld);
    if ((uintptr_t)w_data % 16)
        return qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, "CUDA %s needs the weight data 16-byte aligned", family);
    return QBLAS_STATUS_SUCCESS;
}

void qb_cuda_plan_splits(const qb_cuda_state *s, int64_t m, int64_t blocks, size_t smem, int64_t kt, int64_t kp,
                         int64_t max_splits, const qb_choice *fixed, int64_t *tiles_per_split, int64_t *splits)
{
    int64_t per_sm = s->smem_per_sm / (int64_t)(smem + 1024);
    per_sm = per_sm < 1 ? 1 : per_sm > 4 ? 4 : per_sm;
    qb_plan_splits(s->sms * per_sm, m, blocks, kt, kp, max_splits, fixed, tiles_per_split, splits);
}

static qblas_status_t cuda_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws,
                                size_t ws_bytes, void *stream)
{
    return family(a->w->format)->gemm(h, a, c, ws, ws_bytes, stream);
}

static qblas_status_t cuda_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes)
{
    return family(w->format)->prepack_size(h, w, bytes);
}

static qblas_status_t cuda_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                   qblas_weight_t *packed, void *stream)
{
    return family(w->format)->prepack(h, w, dst, dst_bytes, packed, stream);
}

const qb_backend_ops qb_cuda_backend_ops = {
    .name = "cuda",
    .id = QBLAS_BACKEND_CUDA,
    .device_count = qb_cuda_device_count,
    .tuning_device = qb_cuda_tuning_device,
    .tuning_kernels = qb_cuda_tuning_kernels,
    .init = cuda_init,
    .fini = cuda_fini,
    .gemm_query = cuda_gemm_query,
    .gemm = cuda_gemm,
    .prepack_size = cuda_prepack_size,
    .prepack = cuda_prepack,
    .quantize_act = qb_cuda_quantize_act,
    .attention_query = qb_cuda_attention_query,
    .attention = qb_cuda_attention,
    .kv_append = qb_cuda_kv_append,
    .device_status = qb_cuda_device_status,
};
