/* PLACEHOLDER: replaced by the real implementation before landing. */
#include "cpu_internal.h"
#define PH return qb_fail(NULL, QBLAS_STATUS_NOT_SUPPORTED, "placeholder")
qblas_status_t qb_cpu_setup_sparse24(qblas_handle_t h, qb_cpu_gemm_plan *p) { PH; }
qblas_status_t qb_quantize_sparse24(const float *s, qblas_weight_t *o) { PH; }
void qb_dequant_sparse24(const qblas_weight_t *w, int64_t n0, int64_t r, float *o) {}
qblas_status_t qblas_sparse24_prune(int64_t n, int64_t k, qblas_dtype_t t, const void *s, int64_t l, void *d, int64_t ld) { PH; }
qblas_status_t qblas_sparse24_compress(int64_t n, int64_t k, qblas_dtype_t t, const void *d, int64_t ld, void *v, void *m) { PH; }
qblas_status_t qblas_sparse24_decompress(int64_t n, int64_t k, qblas_dtype_t t, const void *v, const void *m, void *d, int64_t ld) { PH; }
