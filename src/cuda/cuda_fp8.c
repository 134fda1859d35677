/* cuda_fp8.c - the FP8 GEMM on the CUDA backend, host side.
 * (Scaffold: answers NOT_SUPPORTED until its kernels land.) */
#include "cuda_backend.h"

#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)

qblas_status_t qb_cuda_fp8_init(qblas_handle_t h) { return QBLAS_STATUS_SUCCESS; }

qblas_status_t qb_cuda_fp8_query(qblas_handle_t h, const qb_gemm_args *a, qblas_kernel_info_t *info)
{
    return UNSUPPORTED("CUDA backend: the FP8 GEMM is not supported in this version");
}

qblas_status_t qb_cuda_fp8_gemm(qblas_handle_t h, const qb_gemm_args *a, void *ws, size_t ws_bytes, void *stream)
{
    return qb_cuda_fp8_query(h, a, NULL);
}

qblas_status_t qb_cuda_fp8_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes)
{
    return UNSUPPORTED("CUDA backend: prepacking FP8 weights is not supported in this version");
}

qblas_status_t qb_cuda_fp8_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                   qblas_weight_t *packed, void *stream)
{
    return qb_cuda_fp8_prepack_size(h, w, NULL);
}
