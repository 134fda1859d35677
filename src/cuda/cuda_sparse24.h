/* cuda_sparse24.h - the CUDA 2:4 sparse GEMM (mma.sp: f16/bf16, int8, fp8 e4m3), host side:
 * its registry configuration type and entry points (cuda_sparse24.c). Included by
 * cuda_backend.h; the kernels' launch interface is in kernels_sparse24.h. */
#ifndef QBLAS_CUDA_SPARSE24_H
#define QBLAS_CUDA_SPARSE24_H

/* One kernel configuration of the registry (cuda_registry.c): a block of
 * 128 weight rows x bx tokens, 4 warps, `stages` cp.async stages of 128
 * bytes per X row (kernels_sparse24.h; sp24_kernel.cuh builds exactly the
 * registry's (bx, stages) pairs for every dtype). */
typedef struct qb_cuda_sparse24_cfg {
    const char *name;    /* what the "which kernel" queries report */
    qblas_dtype_t dtype; /* weight dtype: F16, BF16, I8 (= the activations'), E4M3 or E5M2 */
    int bx, stages;
    int block;           /* fp8 with 1x128 x 128x128 block scales */
    int64_t max_m;       /* chosen for M <= max_m (the lists are ordered by it); -1: any M */
} qb_cuda_sparse24_cfg;

qblas_status_t qb_cuda_sparse24_init(qblas_handle_t h); /* kernel attributes for this device */
qblas_status_t qb_cuda_sparse24_query(qblas_handle_t h, const qb_gemm_args *a, qblas_kernel_info_t *info);
qblas_status_t qb_cuda_sparse24_gemm(qblas_handle_t h, const qb_gemm_args *a, void *ws, size_t ws_bytes, void *stream);
qblas_status_t qb_cuda_sparse24_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes);
qblas_status_t qb_cuda_sparse24_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                   qblas_weight_t *packed, void *stream);

#endif /* QBLAS_CUDA_SPARSE24_H */
