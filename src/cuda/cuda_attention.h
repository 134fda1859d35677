/* cuda_attention.h - attention over the paged, quantized KV cache and KV
 * append on the CUDA backend, host side (cuda_attention.c). Included by
 * cuda_backend.h; the kernels' launch interface is in kernels_attention.h.
 * The decode split policies and the prefill configuration are registry
 * configurations (kernel_configs.h, families attn_decode / attn_prefill). */
#ifndef QBLAS_CUDA_ATTENTION_H
#define QBLAS_CUDA_ATTENTION_H

qblas_status_t qb_cuda_attention_init(qblas_handle_t h); /* kernel attributes for this device */
/* As the GEMM families' query and run (cuda_backend.h). */
qblas_status_t qb_cuda_attention_query(qblas_handle_t h, const qblas_kv_cache_t *kv,
                                       const qblas_attention_params_t *p, const qb_choice *fixed, qb_choice *chosen,
                                       qblas_kernel_info_t *info);
qblas_status_t qb_cuda_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                 const qb_choice *c, void *ws, size_t ws_bytes, void *stream);
qblas_status_t qb_cuda_kv_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a,
                                 void *stream);

#endif /* QBLAS_CUDA_ATTENTION_H */
