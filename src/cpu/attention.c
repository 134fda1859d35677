/* PLACEHOLDER: replaced by the real implementation before landing. */
#include "cpu_internal.h"
#define PH return qb_fail(NULL, QBLAS_STATUS_NOT_SUPPORTED, "placeholder")
qblas_status_t qb_cpu_attention_query(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p, qblas_kernel_info_t *i) { PH; }
qblas_status_t qb_cpu_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p, void *ws, size_t wb) { PH; }
qblas_status_t qb_cpu_kv_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a) { PH; }
