/* PLACEHOLDER: replaced by the real implementation before landing. */
#include "cpu_internal.h"
#define PH return qb_fail(NULL, QBLAS_STATUS_NOT_SUPPORTED, "placeholder")
qblas_status_t qb_cpu_quantize_act(qblas_handle_t h, const qb_qact_args *a) { PH; }
