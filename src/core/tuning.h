/* tuning.h - the handle's loaded tuning file (src/core/tuning.c). */
#ifndef QBLAS_TUNING_INTERNAL_H
#define QBLAS_TUNING_INTERNAL_H

#include "qblas_internal.h"

typedef struct qb_tuning {
    qblas_tuning_header_t header; /* as the file says (driver/runtime included) */
    qblas_tuning_row_t *rows;     /* canonical order: format, act, n, k, m_min */
    size_t nrows;
} qb_tuning;

/* Parse a file without looking at any device: grammar, limits, overlaps.
 * On success *out owns its rows (qb_tuning_free); on failure *out is empty
 * and the reason is recorded on h (per thread when h is NULL). */
qblas_status_t qb_tuning_parse(qblas_handle_t h, const char *buf, size_t len, qb_tuning *out);
void qb_tuning_free(qb_tuning *t);    /* its rows (t stays); NULL ok */
void qb_tuning_destroy(qb_tuning *t); /* rows and t (from malloc); NULL ok */

/* qblas_create: load $QBLAS_TUNING_FILE when set; its status fails the creation. */
qblas_status_t qb_tuning_on_create(qblas_handle_t h);

/* The row covering this GEMM, or NULL (no file, or no row for the shape). */
const qblas_tuning_row_t *qb_tuning_find(qblas_handle_t h, qblas_wformat_t f, qblas_dtype_t act, int64_t m, int64_t n,
                                         int64_t k);

/* (What each backend contributes, tuning_device and tuning_kernels, is in
 * its operation table: qblas_internal.h.) */

#endif /* QBLAS_TUNING_INTERNAL_H */
