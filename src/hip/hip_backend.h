/* hip_backend.h - the HIP (AMD) backend's host side (plain C): handle state,
 * error mapping, kernel selection, and every family's entry points. The
 * kernels are reached only through the launcher table of the device's gfx
 * target (hip_kernels.h, qb_hip_kernels_<target>). */
#ifndef QBLAS_HIP_BACKEND_H
#define QBLAS_HIP_BACKEND_H

#include <hip/hip_runtime_api.h>

#include "core/qblas_internal.h"
#include "hip_kernels.h"
#include "hip_registry.h"

typedef struct qb_hip_state {
    int device;
    int cus;                         /* compute units */
    const qb_hip_target *target;     /* registry entry of the device's gfx target */
    const qb_hip_kernels *k;         /* its launcher table */
    const qb_hip_cfg *forced;        /* $QBLAS_HIP_KERNEL, or NULL */
    qb_dev_block *dev;               /* device memory: the device-side checks' status and prepack verdict
                                      * (cuda_kernels.h, shared with the CUDA backend) */
} qb_hip_state;

static inline qb_hip_state *qb_hip(qblas_handle_t h) { return (qb_hip_state *)h->backend_state; }

/* A HIP error (from the runtime or a launcher) as a status, recorded on h
 * with the call and HIP's message. */
qblas_status_t qb_hip_status(qblas_handle_t h, hipError_t e, const char *call);
#define QB_HIP_TRY(h, call)                                                         \
    do {                                                                            \
        hipError_t qb_e_ = (hipError_t)(call);                                      \
        if (qb_e_ != hipSuccess) return qb_hip_status((h), qb_e_, #call);           \
    } while (0)

/* p (may be NULL) is memory of the handle's device (or managed): else INVALID_VALUE naming `what`. */
qblas_status_t qb_hip_device_ptr(qblas_handle_t h, const void *p, const char *what);
/* The handle's device is the current one. */
qblas_status_t qb_hip_on_device(qblas_handle_t h);

/* The configuration a GEMM runs (hip_registry.c's lists of the handle's
 * target), in the CUDA selector's order: a plan's (fixed), then
 * $QBLAS_HIP_KERNEL when it names a configuration of this format, then the
 * handle's tuning row (key, may be NULL), then the first configuration of
 * (format, act) whose max_m covers m. */
const qb_hip_cfg *qb_hip_select(qblas_handle_t h, qblas_wformat_t f, qblas_dtype_t act, int64_t m,
                                const qblas_tuning_entry_t *key, const qb_choice *fixed, qblas_status_t *st);
qb_choice qb_hip_choice(qblas_handle_t h, const qb_hip_cfg *c, int64_t splits);

/* X rows copied into ws (from its start, which must be 256-byte aligned):
 * rows of ldo_bytes, zero-filled past k_bytes; k_bytes and ldx_bytes even,
 * x 2-byte aligned (the copy moves 16-bit elements: the table's
 * w4a16_gather_x, perm optional, in elements). */
qblas_status_t qb_hip_stage_x(qblas_handle_t h, const void *x, int64_t ldx_bytes, const int32_t *perm, int64_t m,
                              int64_t k_bytes, int64_t ldo_bytes, void *ws, hipStream_t s);

/* GEMM families (hip_gemm.c) */
qblas_status_t qb_hip_gemm_query(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, qb_choice *chosen,
                                 qblas_kernel_info_t *info);
qblas_status_t qb_hip_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws, size_t ws_bytes,
                           void *stream);
qblas_status_t qb_hip_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes);
qblas_status_t qb_hip_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                              qblas_weight_t *packed, void *stream);

/* activation quantization, attention, KV append (hip_attention.c) */
qblas_status_t qb_hip_quantize_act(qblas_handle_t h, const qb_qact_args *a, void *stream);
qblas_status_t qb_hip_attention_query(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                      const qb_choice *fixed, qb_choice *chosen, qblas_kernel_info_t *info);
qblas_status_t qb_hip_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                const qb_choice *c, void *ws, size_t ws_bytes, void *stream);
qblas_status_t qb_hip_kv_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a, void *stream);

/* device-side checks (hip_device_status.c) */
/* The handle's prepack verdict, reset to QB_DEV_PASS on s: a prepack's
 * check kernels record into it, then dev_publish, then its writing kernels
 * take it as their gate (as CUDA's qb_cuda_prepack_verdict). */
qblas_status_t qb_hip_prepack_verdict(qblas_handle_t h, hipStream_t s, unsigned long long **verdict);
qblas_status_t qb_hip_device_status(qblas_handle_t h, void *stream, qblas_status_t *status);

#endif /* QBLAS_HIP_BACKEND_H */
