/* PLACEHOLDER: replaced by the real implementation before landing. */
#include "cpu_internal.h"
#define PH return qb_fail(NULL, QBLAS_STATUS_NOT_SUPPORTED, "placeholder")
qblas_status_t qb_quantize_int8(const float *s, qblas_weight_t *o) { PH; }
qblas_status_t qb_quantize_fp8(const float *s, qblas_weight_t *o) { PH; }
void qb_dequant_int8(const qblas_weight_t *w, int64_t n0, int64_t r, float *o) {}
void qb_dequant_fp8(const qblas_weight_t *w, int64_t n0, int64_t r, float *o) {}
