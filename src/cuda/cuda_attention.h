/* cuda_attention.h - attention over the paged, quantized KV cache and KV
 * append on the CUDA backend, host side (cuda_attention.c). Included by
 * cuda_backend.h; the kernels' launch interface is in kernels_attention.h. */
#ifndef QBLAS_CUDA_ATTENTION_H
#define QBLAS_CUDA_ATTENTION_H

/* One decode configuration of the registry (cuda_registry.c): the kernels
 * themselves are the same templates everywhere (attn_decode.cuh); an
 * architecture picks the name tag and the split policy. */
typedef struct qb_cuda_attn_cfg {
    const char *name;      /* the configuration, for documentation and errors */
    const char *tag;       /* architecture tag in kernel names ("sm80"); e4m3 caches on
                              cc >= 8.9 report "sm89" (hardware fp8 -> f16x2 conversion) */
    int ctas_per_sm;       /* resident decode CTAs per SM the split planner fills */
    int min_split_tokens;  /* a split covers at least this many keys of max_seq_len */
    int max_splits;
} qb_cuda_attn_cfg;

qblas_status_t qb_cuda_attention_init(qblas_handle_t h); /* kernel attributes for this device */
qblas_status_t qb_cuda_attention_query(qblas_handle_t h, const qblas_kv_cache_t *kv,
                                       const qblas_attention_params_t *p, qblas_kernel_info_t *info);
qblas_status_t qb_cuda_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                 void *ws, size_t ws_bytes, void *stream);
qblas_status_t qb_cuda_kv_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a,
                                 void *stream);

#endif /* QBLAS_CUDA_ATTENTION_H */
