/* cuda_w4a8.h - the CUDA W4A8 GEMM (QServe QoQ: int4 weights widened to int8, int8 tensor cores), host side:
 * its registry configuration type and entry points (cuda_w4a8.c). Included by
 * cuda_backend.h; the kernels' launch interface is in kernels_w4a8.h. */
#ifndef QBLAS_CUDA_W4A8_H
#define QBLAS_CUDA_W4A8_H

/* One kernel configuration of the registry (cuda_registry.c): 4 warps,
 * block tile bm x n128, k64 per stage (w4a8_kernel.cuh builds exactly the
 * registry's (bm, stages) pairs). names[variant][split]: variant 0 g128,
 * 1 per-channel; split 1 when split-K runs (int32 partials + reduce). */
typedef struct qb_cuda_w4a8_cfg {
    const char *names[2][2]; /* what the "which kernel" queries report */
    int bm, stages;
    int64_t max_m;    /* chosen for M <= max_m (the lists are ordered by it); -1: any M */
} qb_cuda_w4a8_cfg;

qblas_status_t qb_cuda_w4a8_init(qblas_handle_t h); /* kernel attributes for this device */
qblas_status_t qb_cuda_w4a8_query(qblas_handle_t h, const qb_gemm_args *a, qblas_kernel_info_t *info);
qblas_status_t qb_cuda_w4a8_gemm(qblas_handle_t h, const qb_gemm_args *a, void *ws, size_t ws_bytes, void *stream);
qblas_status_t qb_cuda_w4a8_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes);
qblas_status_t qb_cuda_w4a8_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                   qblas_weight_t *packed, void *stream);

#endif /* QBLAS_CUDA_W4A8_H */
