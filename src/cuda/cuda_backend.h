/* cuda_backend.h - the CUDA backend's host side (plain C): handle state,
 * the per-architecture kernel registry, CUDA error mapping, the W4A16 and
 * INT8 entry points. Kernels are reached only through cuda_kernels.h. */
#ifndef QBLAS_CUDA_BACKEND_H
#define QBLAS_CUDA_BACKEND_H

#include "../core/qblas_internal.h"
#include "cuda_kernels.h"

/* ---- errors ----
 * Every CUDA runtime call goes through QB_CUDA_TRY: a failure is recorded on
 * the handle with the call and CUDA's own message, and becomes a status
 * (qb_cuda_status says which). Nothing aborts, nothing prints. */
qblas_status_t qb_cuda_status(qblas_handle_t h, cudaError_t e, const char *call);
#define QB_CUDA_TRY(h, call)                                                 \
    do {                                                                     \
        cudaError_t qb_e_ = (call);                                          \
        if (qb_e_ != cudaSuccess) return qb_cuda_status((h), qb_e_, #call); \
    } while (0)

/* ---- registry (cuda_registry.c) ----
 * One W4A16 kernel configuration. All share the block shape (4 warps, n256,
 * k64 per stage, see cuda_kernels.h); they differ in m16 tiles per block
 * and pipeline depth. names[split_k][fp32_dequant] is what the "which
 * kernel" queries report; names[0][0] is the base name QBLAS_CUDA_KERNEL
 * matches. */
typedef struct qb_cuda_w4a16_cfg {
    const char *names[2][2];
    qblas_dtype_t act;    /* F16 or BF16 */
    int mt;               /* m16 tiles per block: 1, 2 or 4 */
    int stages;           /* cp.async pipeline depth */
    int64_t max_m;        /* chosen for M <= max_m (the lists are ordered by it); -1: any M */
} qb_cuda_w4a16_cfg;

/* One W8A8 INT8 kernel configuration: 4 warps, block tile bm x bn, k64
 * per stage (gemm_int8.cu builds exactly the registry's combinations). */
typedef struct qb_cuda_int8_cfg {
    const char *name;     /* what the "which kernel" queries report */
    int bm, bn, stages;
    int64_t max_m;        /* chosen for M <= max_m (the lists are ordered by it); -1: any M */
} qb_cuda_int8_cfg;

/* The other families' configuration types and entry points. */
#include "cuda_attention.h"
#include "cuda_fp8.h"
#include "cuda_sparse24.h"
#include "cuda_w4a8.h"

/* One architecture: the configurations it runs (its own and those it inherits). */
typedef struct qb_cuda_arch {
    const char *name;    /* "sm_90a" */
    int cc_min, cc_max;  /* compute capabilities (major*10 + minor) it serves */
    const char *inherits; /* the architecture whose kernels it reuses, for documentation and errors */
    const qb_cuda_w4a16_cfg *const *w4a16; /* NULL-terminated */
    const qb_cuda_int8_cfg *const *int8;   /* NULL-terminated */
    const qb_cuda_fp8_cfg *const *fp8;     /* NULL-terminated; empty: FP8 not supported */
    const qb_cuda_w4a8_cfg *const *w4a8;   /* NULL-terminated */
    const qb_cuda_sparse24_cfg *const *sparse24; /* NULL-terminated */
    const qb_cuda_attn_cfg *const *attn;   /* NULL-terminated */
} qb_cuda_arch;

const qb_cuda_arch *qb_cuda_arch_for(int cc);
/* Every GEMM configuration of cc's architecture, by family and reported name (cuda_registry.c). */
int qb_cuda_catalog(int cc, void (*fn)(void *ctx, const char *family, const char *name), void *ctx);
/* The first configuration for activations act that covers M and fits in smem_optin; NULL: none. */
const qb_cuda_w4a16_cfg *qb_cuda_w4a16_pick(const qb_cuda_arch *arch, qblas_dtype_t act, int64_t m, int smem_optin);
/* A configuration of this architecture by base name; NULL: unknown. */
const qb_cuda_w4a16_cfg *qb_cuda_w4a16_find(const qb_cuda_arch *arch, const char *name);
/* The configuration the handle's tuning file names for this GEMM (cuda_tuning.c); NULL: none. */
const qb_cuda_w4a16_cfg *qb_cuda_w4a16_tuned(qblas_handle_t h, qblas_dtype_t act, int64_t m, int64_t n, int64_t k);
/* Largest dynamic shared memory any configuration of arch asks for. */
size_t qb_cuda_w4a16_max_smem(const qb_cuda_arch *arch);
static inline size_t qb_cuda_w4a16_smem(const qb_cuda_w4a16_cfg *c)
{
    return (size_t)c->stages * QB_W4_STAGE_BYTES(c->mt);
}
static inline size_t qb_cuda_int8_smem(const qb_cuda_int8_cfg *c)
{
    return (size_t)c->stages * QB_I8_STAGE_BYTES(c->bm, c->bn);
}
/* The first INT8 configuration that covers M and fits in smem_optin; NULL: none. */
const qb_cuda_int8_cfg *qb_cuda_int8_pick(const qb_cuda_arch *arch, int64_t m, int smem_optin);
/* Largest dynamic shared memory any INT8 configuration of arch asks for. */
size_t qb_cuda_int8_max_smem(const qb_cuda_arch *arch);

/* ---- what the core's operation table asks (cuda_backend.c, cuda_tuning.c) ---- */
int qb_cuda_device_count(void);
qblas_status_t qb_cuda_tuning_device(qblas_handle_t h, qblas_tuning_header_t *id);
size_t qb_cuda_tuning_kernels(qblas_handle_t h, qblas_wformat_t f, qblas_dtype_t act, const char **names, size_t cap);

/* ---- handle state ---- */
typedef struct qb_cuda_state {
    int device;
    int cc;               /* major*10 + minor */
    int sms;              /* multiprocessors */
    int smem_optin;       /* max dynamic shared memory per block */
    int smem_per_sm;
    const qb_cuda_arch *arch;
    const qb_cuda_w4a16_cfg *forced; /* $QBLAS_CUDA_KERNEL at qblas_create, or NULL */
    qb_dev_block *dev;    /* device memory: the device-side checks' status and prepack scratch */
} qb_cuda_state;

static inline qb_cuda_state *qb_cuda(qblas_handle_t h) { return (qb_cuda_state *)h->backend_state; }

/* ---- W4A16 (cuda_w4a16.c) ---- */
qblas_status_t qb_cuda_w4a16_init(qblas_handle_t h); /* kernel attributes for this device */
qblas_status_t qb_cuda_w4a16_query(qblas_handle_t h, const qb_gemm_args *a, qblas_kernel_info_t *info);
qblas_status_t qb_cuda_w4a16_gemm(qblas_handle_t h, const qb_gemm_args *a, void *ws, size_t ws_bytes, void *stream);
qblas_status_t qb_cuda_w4a16_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes);
qblas_status_t qb_cuda_w4a16_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                     qblas_weight_t *packed, void *stream);

/* ---- W8A8 INT8 (cuda_int8.c) ---- */
qblas_status_t qb_cuda_int8_init(qblas_handle_t h); /* kernel attributes for this device */
qblas_status_t qb_cuda_int8_query(qblas_handle_t h, const qb_gemm_args *a, qblas_kernel_info_t *info);
qblas_status_t qb_cuda_int8_gemm(qblas_handle_t h, const qb_gemm_args *a, void *ws, size_t ws_bytes, void *stream);
qblas_status_t qb_cuda_int8_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes);
qblas_status_t qb_cuda_int8_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                    qblas_weight_t *packed, void *stream);

/* ---- activation quantization (cuda_quant_act.c) ---- */
qblas_status_t qb_cuda_quantize_act(qblas_handle_t h, const qb_qact_args *a, void *stream);

/* ---- device-side checks (cuda_device_status.c) ---- */
qblas_status_t qb_cuda_device_status(qblas_handle_t h, void *stream, qblas_status_t *status);
/* The handle's prepack verdict, reset to QB_DEV_PASS on s: a prepack's
 * check kernels record into it, then qb_dev_publish, then its writing
 * kernels are gated by it. */
qblas_status_t qb_cuda_prepack_verdict(qblas_handle_t h, cudaStream_t s, unsigned long long **verdict);

/* The handle's device is the current one (CUDA calls act on the current device). */
qblas_status_t qb_cuda_on_device(qblas_handle_t h);
/* p (when not NULL) is memory of the handle's device, or managed memory: the
 * canonical buffers a prepack reads and the blob it writes. INVALID_VALUE
 * naming `what` otherwise. */
qblas_status_t qb_cuda_device_ptr(qblas_handle_t h, const void *p, const char *what);
/* The byte-operand GEMMs (INT8, FP8, W4A8) copy X rows, and canonical
 * weight rows, in 16-byte chunks: x->data, x->ld and w_data (NULL: not
 * checked) must be multiples of 16; NOT_SUPPORTED naming the family
 * ("INT8") otherwise. */
qblas_status_t qb_cuda_check_rows16(qblas_handle_t h, const qblas_act_t *x, const void *w_data, const char *family);
/* Split-K planning of the 4-bit weight GEMMs (W4A16, W4A8), whose blocks
 * (`blocks` of them, smem bytes each) cover the M x Np output: split K when
 * the grid alone would leave SMs idle, aiming at every SM holding as many
 * blocks as fit (at most 4). Each split covers at least 4 of the kt k
 * tiles, and the 4-byte partial sums (written and read back: 8 * M * Np
 * bytes per split) stay within a quarter of the weight bytes (Np * Kp / 2),
 * so splits <= Kp / (64 M); at most max_splits. Sets *tiles_per_split and
 * *splits (no split is empty). */
void qb_cuda_plan_splits(const qb_cuda_state *s, int64_t m, int64_t blocks, size_t smem, int64_t kt, int64_t kp,
                         int64_t max_splits, int64_t *tiles_per_split, int64_t *splits);

#endif /* QBLAS_CUDA_BACKEND_H */
