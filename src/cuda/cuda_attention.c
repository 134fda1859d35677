/* cuda_attention.c - attention over the paged KV cache and KV append on the
 * CUDA backend, host side. (Scaffold: NOT_SUPPORTED until its kernels land.) */
#include "cuda_backend.h"

#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)

qblas_status_t qb_cuda_attention_init(qblas_handle_t h) { return QBLAS_STATUS_SUCCESS; }

qblas_status_t qb_cuda_attention_query(qblas_handle_t h, const qblas_kv_cache_t *kv,
                                       const qblas_attention_params_t *p, qblas_kernel_info_t *info)
{
    return UNSUPPORTED("CUDA backend: attention is not supported in this version");
}

qblas_status_t qb_cuda_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                 void *ws, size_t ws_bytes, void *stream)
{
    return qb_cuda_attention_query(h, kv, p, NULL);
}

qblas_status_t qb_cuda_kv_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a, void *stream)
{
    return UNSUPPORTED("CUDA backend: KV append is not supported in this version");
}
