/* qblas_gemm.h - quantized GEMMs and weight prepacking.
 *
 *   Y[M,N] = X[M,K] . W[N,K]^T (+ bias[N])
 *
 * X is described by qblas_act_t, W by qblas_weight_t; the pair (weight format,
 * activation dtype) selects the operation:
 *
 *   W format   X dtype            X scales                  W scales
 *   W4A16      f16 | bf16         -                         PER_GROUP (f16|bf16|f32), zeros optional, g_idx optional
 *   INT8       i8                 PER_TENSOR | PER_ROW      PER_TENSOR | PER_ROW (f32); X zero points optional
 *   FP8        e4m3|e5m2|e4m3fnuz PER_TENSOR | PER_ROW      PER_TENSOR | PER_ROW (f32)
 *                                 BLOCK_1X128               BLOCK_128X128 (f32)   (block only with block)
 *   W4A8       i8                 PER_TENSOR | PER_ROW      PER_GROUP (g128) or PER_ROW (per-channel only)
 *   SPARSE24   f16|bf16|i8|fp8    as the dense format of the same dtype
 *
 * Y is f16, bf16 or f32; bias, when given, has Y's dtype. Accumulation is fp32
 * (floating formats) or exact integer (integer formats). docs/FORMATS.md
 * defines every layout and every formula bit-exactly.
 *
 * All pointers are in the handle's memory space (host for CPU, device for
 * CUDA/HIP). Leading dimensions are in elements and must be >= the row length.
 * Pointers must be aligned to their element size (4-bit types: 1 byte).
 * On any failure nothing is written.
 */
#ifndef QBLAS_GEMM_H
#define QBLAS_GEMM_H

#include "qblas_handle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Activations X[M, K], row-major with leading dimension ld. */
typedef struct qblas_act {
    qblas_dtype_t dtype;
    const void *data;
    int64_t ld;                    /* elements between rows, >= K */
    qblas_scale_mode_t scale_mode; /* NONE for f16/bf16 */
    const float *scales;           /* see the table above */
    const int32_t *zeros;          /* INT8 only: per-token zero points [M] (asymmetric), or NULL */
} qblas_act_t;

/* A quantized weight W[n, k] and everything needed to dequantize it.
 * Unused fields must be zero/NULL. Canonical layouts (docs/FORMATS.md):
 *  W4A16   data u4 [n][ceil(k/2)] bytes; scales [G][n] of scale_dtype;
 *          zeros u8 [G][n] (values 0..15) or NULL = symmetric (zero 8);
 *          g_idx int32 [k] (act-order: group of each k) or NULL = k / group_size.
 *          group_size 32, 64, 128 or 0 (= one group over all of k).
 *  INT8    data i8 [n][k]; scales f32 [1] or [n].
 *  FP8     data [n][k]; scales f32 [1], [n] or [ceil(n/128)][ceil(k/128)].
 *  W4A8    data u4 [n][k/2]; scales f16 [n] (channel scales);
 *          group_size 128: group_scales i8 [k/128][n] (>= 1), zeros u8 [k/128][n] (0..15);
 *          group_size 0:   zeros u8 [n] (0..15), group_scales NULL.
 *  SPARSE24 data [n][k/2] of dtype; meta u8 [n][ceil(k/8)]; scales as the dense format. */
typedef struct qblas_weight {
    qblas_wformat_t format;
    qblas_layout_t layout;         /* CANONICAL, or the value qblas_prepack() returned */
    qblas_dtype_t dtype;           /* element type of data */
    int64_t n, k;                  /* logical shape */
    const void *data;
    const void *meta;              /* SPARSE24 index metadata */
    qblas_scale_mode_t scale_mode;
    qblas_dtype_t scale_dtype;
    const void *scales;
    const void *zeros;
    const void *group_scales;      /* W4A8 int8 group scales */
    const int32_t *g_idx;          /* W4A16 act-order */
    int32_t group_size;
} qblas_weight_t;

/* Byte sizes of each buffer of a weight in the CANONICAL layout (0 = unused). */
typedef struct qblas_weight_sizes {
    size_t data, meta, scales, zeros, group_scales, g_idx;
} qblas_weight_sizes_t;

/* Check a weight descriptor (format, dtypes, shape, group size) without
 * touching its buffers, and say how large each canonical buffer is. Host. */
qblas_status_t qblas_weight_sizes(const qblas_weight_t *w, qblas_weight_sizes_t *sizes);

/* Workspace and kernel name for a GEMM with these arguments. */
qblas_status_t qblas_gemm_query(qblas_handle_t handle, int64_t m, int64_t n, int64_t k,
                                const qblas_act_t *x, const qblas_weight_t *w,
                                qblas_dtype_t y_dtype, qblas_kernel_info_t *info);

/* Y = X . W^T (+ bias). y has y_dtype, leading dimension ldy >= n.
 * workspace must hold at least qblas_gemm_query(...).workspace_bytes
 * (else INSUFFICIENT_WORKSPACE), at any address. Y and the workspace must
 * not overlap each other, X, W or the bias (INVALID_VALUE; no in-place
 * GEMM). stream: cudaStream_t/hipStream_t, NULL on CPU. */
qblas_status_t qblas_gemm(qblas_handle_t handle, int64_t m, int64_t n, int64_t k,
                          const qblas_act_t *x, const qblas_weight_t *w, const void *bias,
                          qblas_dtype_t y_dtype, void *y, int64_t ldy,
                          void *workspace, size_t workspace_bytes, void *stream);

/* ---- plans: select once, run many times ----
 * qblas_gemm_plan answers what qblas_gemm_query answers (the kernel, the
 * workspace) and keeps the choice behind it (the configuration, the K
 * splits) in a plain value. qblas_gemm_planned runs a call with that
 * choice: no selection, no tuning-row lookup, no split planning; an engine
 * plans once per shape bucket (e.g. per captured batch size) and reuses the
 * plan for every later call. A plan may be copied, stored and shared
 * between handles; it is never edited.
 *
 * A plan serves calls with 1 <= M <= its m and everything else as it was
 * made: n, k, the weight format, the X, W and Y dtypes and the scale modes.
 * Otherwise qblas_gemm_planned answers INVALID_VALUE (another problem, or
 * not a plan: the magic) or ARCH_MISMATCH (made by another library version,
 * for another backend, or on another kind of device: compute capability
 * and SM count on CUDA), and writes nothing. The workspace must hold the
 * plan's workspace_bytes (else INSUFFICIENT_WORKSPACE). */
#define QBLAS_GEMM_PLAN_MAGIC 0x504D4751u /* "QGMP" */
typedef struct qblas_gemm_plan {
    uint32_t magic;                 /* QBLAS_GEMM_PLAN_MAGIC once made */
    int32_t version;                /* QBLAS_VERSION of the library that made it */
    qblas_backend_t backend;        /* made on a handle of this backend */
    uint64_t device;                /* ... on a device of this identity (backend-defined; CUDA: cc << 32 | SMs) */
    int64_t m, n, k;                /* for calls with M <= m and this N and K */
    qblas_wformat_t format;
    qblas_dtype_t x_dtype, w_dtype, y_dtype;
    qblas_scale_mode_t x_scale_mode, w_scale_mode;
    int32_t config;                 /* the choice: the backend's configuration index (-1: it has none) */
    int32_t splits;                 /* K splits (1: none) */
    size_t workspace_bytes;         /* what every call of the plan needs */
    char config_name[QBLAS_KERNEL_NAME_MAX]; /* the configuration, as tuning rows and $QBLAS_CUDA_KERNEL name it */
    char kernel_name[QBLAS_KERNEL_NAME_MAX]; /* the kernel, as qblas_gemm_query names it for M = m */
} qblas_gemm_plan_t;

/* Select for a GEMM with these arguments (as qblas_gemm_query) and fill *plan. */
qblas_status_t qblas_gemm_plan(qblas_handle_t handle, int64_t m, int64_t n, int64_t k, const qblas_act_t *x,
                               const qblas_weight_t *w, qblas_dtype_t y_dtype, qblas_gemm_plan_t *plan);
/* qblas_gemm with the plan's choice (see above for what it must match). */
qblas_status_t qblas_gemm_planned(qblas_handle_t handle, const qblas_gemm_plan_t *plan, int64_t m, int64_t n,
                                  int64_t k, const qblas_act_t *x, const qblas_weight_t *w, const void *bias,
                                  qblas_dtype_t y_dtype, void *y, int64_t ldy, void *workspace,
                                  size_t workspace_bytes, void *stream);

/* Prepack: rewrite a CANONICAL weight (in the handle's memory) into the
 * handle's own layout. qblas_prepack_size() says how large dst must be;
 * qblas_prepack() fills dst and describes the result in *packed (whose
 * pointers point into dst), ready to pass to qblas_gemm() on a handle of the
 * same backend and architecture (another one answers ARCH_MISMATCH). */
qblas_status_t qblas_prepack_size(qblas_handle_t handle, const qblas_weight_t *w, size_t *bytes);
qblas_status_t qblas_prepack(qblas_handle_t handle, const qblas_weight_t *w,
                             void *dst, size_t dst_bytes, qblas_weight_t *packed, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_GEMM_H */
