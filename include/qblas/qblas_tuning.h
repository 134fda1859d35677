/* qblas_tuning.h - tuning files: which kernel configuration each GEMM and
 * attention shape runs on one device, as measured by qblas-tune (autotune/).
 *
 * A tuning file is a versioned, line-based text file (docs/TUNING.md gives
 * the exact grammar): a header naming what it is valid for (library
 * version, device name, compute capability, SM count, driver and runtime
 * versions), then one row per shape and M bucket naming a kernel
 * configuration and its measured time: GEMM rows (format, activation
 * dtype, M bucket, N, K) and, since format version 2, attention rows
 * (decode or prefill, query and cache dtypes, M bucket of sequences or
 * query tokens, query heads, KV heads, head dim).
 *
 * A handle holds at most one loaded file. A call whose shape matches a row
 * runs the row's kernel configuration; other shapes (and handles without a
 * file) use the built-in per-architecture defaults. $QBLAS_TUNING_FILE, when
 * set and non-empty, is loaded by qblas_create, and a file that does not
 * load makes qblas_create fail with the loader's status.
 *
 * Loading is all or nothing: a file that fails any check leaves the rows the
 * handle had before untouched.
 *   INVALID_VALUE  malformed file (grammar, limits, duplicate or overlapping
 *                  rows), or a row naming a kernel this backend does not have
 *   ARCH_MISMATCH  well-formed, but made for another library version,
 *                  device name, compute capability or SM count
 */
#ifndef QBLAS_TUNING_H
#define QBLAS_TUNING_H

#include "qblas_handle.h"
#include "qblas_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QBLAS_TUNING_FORMAT_VERSION 2       /* written; version 1 files (GEMM rows only) are read too */
#define QBLAS_TUNING_MAX_LINE 255                 /* bytes of a line, without its '\n' */
#define QBLAS_TUNING_MAX_ROWS 4096
#define QBLAS_TUNING_MAX_BYTES (2 * 1024 * 1024) /* whole file */
#define QBLAS_TUNING_DEVICE_MAX 64                /* device name, with its NUL */
#define QBLAS_TUNING_TOKEN_MAX 32                 /* library, driver, runtime, with the NUL */
#define QBLAS_TUNING_CONFIG_MAX 64                /* config string, with the NUL */

/* What a file is valid for. */
typedef struct qblas_tuning_header {
    char library[QBLAS_TUNING_TOKEN_MAX];  /* "0.1.0": must equal qblas_get_version_string() */
    char device[QBLAS_TUNING_DEVICE_MAX];  /* "NVIDIA H100 80GB HBM3"; "cpu" on the CPU backend */
    int cc;                                /* compute capability major*10+minor; 0 on the CPU */
    int sms;                               /* multiprocessors; 0 on the CPU */
    char driver[QBLAS_TUNING_TOKEN_MAX];   /* "12.4"; "none" on the CPU (recorded, not matched) */
    char runtime[QBLAS_TUNING_TOKEN_MAX];  /* "12.4"; "none" on the CPU (recorded, not matched) */
} qblas_tuning_header_t;

/* One row: GEMMs with this format and activation dtype, m_min <= M <= m_max,
 * and exactly this N and K run `kernel`. */
typedef struct qblas_tuning_row {
    qblas_wformat_t format;
    qblas_dtype_t act;                      /* activation dtype (W4A16: f16 or bf16) */
    int64_t m_min, m_max, n, k;             /* each in 1 .. 2^31-1 */
    char kernel[QBLAS_KERNEL_NAME_MAX];     /* a name qblas_tuning_kernels() lists */
    char config[QBLAS_TUNING_CONFIG_MAX];   /* informational ("mt=1,stages=6"); "-" for none */
    double time_us;                         /* measured; a multiple of 0.001 in 0.001 .. 999999999.999 */
} qblas_tuning_row_t;

/* Format version 2: every row, GEMM or attention, as one value. */
typedef enum qblas_tuning_op {
    QBLAS_TUNING_GEMM = 0,         /* "gemm" rows */
    QBLAS_TUNING_ATTN_DECODE = 1,  /* "attn_decode" rows: qblas_attention with qo_indptr NULL */
    QBLAS_TUNING_ATTN_PREFILL = 2  /* "attn_prefill" rows: qblas_attention with qo_indptr */
} qblas_tuning_op_t;

typedef struct qblas_tuning_entry {
    qblas_tuning_op_t op;
    qblas_wformat_t format;                 /* GEMM: the weight format; attention: QBLAS_WFORMAT_INVALID */
    qblas_dtype_t act;                      /* GEMM: activation dtype; attention: the query dtype (f16, bf16) */
    qblas_dtype_t kv_dtype;                 /* attention: the cache dtype; GEMM: 0 */
    int64_t m_min, m_max;                   /* GEMM: M; decode: sequences; prefill: query tokens */
    int64_t n, k;                           /* GEMM: N and K; attention: query heads and KV heads */
    int64_t head_dim;                       /* attention: 64, 128 or 256; GEMM: 0 */
    char kernel[QBLAS_KERNEL_NAME_MAX];     /* a name qblas_tuning_candidates() lists */
    char config[QBLAS_TUNING_CONFIG_MAX];   /* informational; "-" for none */
    double time_us;                         /* measured; a multiple of 0.001 in 0.001 .. 999999999.999 */
} qblas_tuning_entry_t;

/* Load a tuning file into the handle, replacing its rows (all or nothing). */
qblas_status_t qblas_tuning_load_file(qblas_handle_t handle, const char *path);
/* The same from memory: len bytes (no terminating NUL needed; a NUL byte inside is malformed). */
qblas_status_t qblas_tuning_load_buffer(qblas_handle_t handle, const void *buf, size_t len);
/* Drop the loaded rows: the built-in defaults apply again. */
qblas_status_t qblas_tuning_clear(qblas_handle_t handle);
/* GEMM rows in use (0 without a file). */
qblas_status_t qblas_tuning_row_count(qblas_handle_t handle, size_t *rows);
/* GEMM row i of the loaded file, in canonical order (format, act, n, k, m_min). */
qblas_status_t qblas_tuning_get_row(qblas_handle_t handle, size_t i, qblas_tuning_row_t *row);
/* Every row in use, GEMM and attention (0 without a file). */
qblas_status_t qblas_tuning_entry_count(qblas_handle_t handle, size_t *entries);
/* Row i of the loaded file, in canonical order (op, format, act, kv_dtype,
 * n, k, head_dim, m_min): the GEMM rows first, as qblas_tuning_get_row gives them. */
qblas_status_t qblas_tuning_get_entry(qblas_handle_t handle, size_t i, qblas_tuning_entry_t *entry);
/* The header a file must carry to load on this handle (driver and runtime:
 * this machine's, for writing a file). */
qblas_status_t qblas_tuning_device(qblas_handle_t handle, qblas_tuning_header_t *header);
/* Kernel configurations a row for (format, act) may name on this handle:
 * *count receives how many there are, names[0 .. min(cap, count)) static
 * strings. names may be NULL when cap is 0. */
qblas_status_t qblas_tuning_kernels(qblas_handle_t handle, qblas_wformat_t format, qblas_dtype_t act,
                                    const char **names, size_t cap, size_t *count);
/* The same for any row: the configurations a row with key's op, format,
 * act and kv_dtype may name on this handle (the other fields are ignored).
 * These are also the names $QBLAS_CUDA_KERNEL takes. */
qblas_status_t qblas_tuning_candidates(qblas_handle_t handle, const qblas_tuning_entry_t *key, const char **names,
                                       size_t cap, size_t *count);

/* Write a tuning file (host only, no handle): header and nrows rows, in the
 * order given, into buf. *len receives the file's length in bytes; the text
 * is NUL-terminated when cap > *len. INVALID_VALUE (nothing written) for a
 * field the grammar does not allow, rows that a load would reject as
 * overlapping, or cap <= *len. time_us is rounded to 0.001. */
qblas_status_t qblas_tuning_write(const qblas_tuning_header_t *header, const qblas_tuning_row_t *rows, size_t nrows,
                                  char *buf, size_t cap, size_t *len);
/* The same for rows of every kind (GEMM entries must have kv_dtype and head_dim 0). */
qblas_status_t qblas_tuning_write_entries(const qblas_tuning_header_t *header, const qblas_tuning_entry_t *entries,
                                          size_t n, char *buf, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_TUNING_H */
