/* PLACEHOLDER: replaced by the real implementation before landing. */
#include "cpu_internal.h"
#define PH return qb_fail(NULL, QBLAS_STATUS_NOT_SUPPORTED, "placeholder")
qblas_status_t qblas_import_gptq(int64_t k, int64_t n, int32_t g, const int32_t *qw, const int32_t *qz, const void *s, qblas_dtype_t st, const int32_t *gi, int z1, qblas_weight_t *o) { PH; }
qblas_status_t qblas_import_awq(int64_t k, int64_t n, int32_t g, const int32_t *qw, const int32_t *qz, const void *s, qblas_dtype_t st, qblas_weight_t *o) { PH; }
