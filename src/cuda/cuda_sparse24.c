/* cuda_sparse24.c - the 2:4 sparse GEMM on the CUDA backend, host side.
 * (Scaffold: answers NOT_SUPPORTED until its kernels land.) */
#include "cuda_backend.h"

#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)

qblas_status_t qb_cuda_sparse24_init(qblas_handle_t h) { return QBLAS_STATUS_SUCCESS; }

qblas_status_t qb_cuda_sparse24_query(qblas_handle_t h, const qb_gemm_args *a, qblas_kernel_info_t *info)
{
    return UNSUPPORTED("CUDA backend: the 2:4 sparse GEMM is not supported in this version");
}

qblas_status_t qb_cuda_sparse24_gemm(qblas_handle_t h, const qb_gemm_args *a, void *ws, size_t ws_bytes, void *stream)
{
    return qb_cuda_sparse24_query(h, a, NULL);
}

qblas_status_t qb_cuda_sparse24_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes)
{
    return UNSUPPORTED("CUDA backend: prepacking 2:4 sparse weights is not supported in this version");
}

qblas_status_t qb_cuda_sparse24_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                   qblas_weight_t *packed, void *stream)
{
    return qb_cuda_sparse24_prepack_size(h, w, NULL);
}
