/* cuda_fp8.h - the CUDA FP8 GEMM (e4m3/e5m2; per-tensor, per-row, 1x128 x 128x128 block scales), host side:
 * its registry configuration type and entry points (cuda_fp8.c). Included by
 * cuda_backend.h; the kernels' launch interface is in kernels_fp8.h. */
#ifndef QBLAS_CUDA_FP8_H
#define QBLAS_CUDA_FP8_H

/* One kernel configuration of the registry (cuda_registry.c). */
typedef struct qb_cuda_fp8_cfg {
    const char *name; /* base name, "fp8_<arch>_<mma|wgmma>_<tile>"; the reported name inserts the dtype
                       * pair after "fp8_" and appends "_block128" for block scales
                       * (fp8_e4m3xe4m3_sm90a_wgmma_m128n128k128_block128) */
    int64_t max_m;    /* chosen for M <= max_m (the lists are ordered by it); -1: any M */
    int wgmma;        /* 0: mma.sync (qb_fp8_mma_launch); 1: sm_90a wgmma (qb_fp8_sm90a_launch) */
    int bm, stages;   /* mma.sync: block rows (16, 64, 128) and pipeline depth */
    int sm90a_cfg;    /* wgmma: QB_FP8_SM90A_M128 or QB_FP8_SM90A_M64 */
} qb_cuda_fp8_cfg;

qblas_status_t qb_cuda_fp8_init(qblas_handle_t h); /* kernel attributes for this device */
qblas_status_t qb_cuda_fp8_query(qblas_handle_t h, const qb_gemm_args *a, qblas_kernel_info_t *info);
qblas_status_t qb_cuda_fp8_gemm(qblas_handle_t h, const qb_gemm_args *a, void *ws, size_t ws_bytes, void *stream);
qblas_status_t qb_cuda_fp8_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes);
qblas_status_t qb_cuda_fp8_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                   qblas_weight_t *packed, void *stream);

#endif /* QBLAS_CUDA_FP8_H */
