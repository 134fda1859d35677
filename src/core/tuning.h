/* tuning.h - the handle's loaded tuning file (src/core/tuning.c). */
#ifndef QBLAS_TUNING_INTERNAL_H
#define QBLAS_TUNING_INTERNAL_H

#include "qblas_internal.h"

typedef struct qb_tuning {
    qblas_tuning_header_t header; /* as the file says (driver/runtime included) */
    qblas_tuning_entry_t *rows;   /* canonical order: op, format, act, kv_dtype, n, k, head_dim, m_min */
    size_t nrows;
    size_t ngemm;                 /* the GEMM rows: rows[0 .. ngemm) */
} qb_tuning;

/* Parse a file without looking at any device: grammar, limits, overlaps.
 * On success *out owns its rows (qb_tuning_free); on failure *out is empty
 * and the reason is recorded on h (per thread when h is NULL). */
qblas_status_t qb_tuning_parse(qblas_handle_t h, const char *buf, size_t len, qb_tuning *out);
void qb_tuning_free(qb_tuning *t);    /* its rows (t stays); NULL ok */
void qb_tuning_destroy(qb_tuning *t); /* rows and t (from malloc); NULL ok */

/* qblas_create: load $QBLAS_TUNING_FILE when set; its status fails the creation. */
qblas_status_t qb_tuning_on_create(qblas_handle_t h);

/* The row with key's key fields (op, format, act, kv_dtype, n, k,
 * head_dim) covering m, or NULL (no file, or no row for the shape). */
const qblas_tuning_entry_t *qb_tuning_find(qblas_handle_t h, const qblas_tuning_entry_t *key, int64_t m);

/* The key fields of the row a call looks up (the rest zeroed). */
void qb_tuning_gemm_key(const qb_gemm_args *a, qblas_tuning_entry_t *key);
void qb_tuning_attention_key(const qblas_kv_cache_t *kv, const qblas_attention_params_t *p, qblas_tuning_entry_t *key);

/* A device's name as a tuning file holds it (backends' tuning_device):
 * printable ASCII, no leading or trailing space, "unknown" when empty. */
void qb_tuning_device_name(char *dst, size_t cap, const char *src);

/* (What each backend contributes, tuning_device and tuning_kernels, is in
 * its operation table: qblas_internal.h.) */

#endif /* QBLAS_TUNING_INTERNAL_H */
