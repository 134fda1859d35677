/* qblas_internal.h - what the backend-neutral core shares with the backends:
 * the handle, the backend operation table, error reporting, dtype helpers and
 * overflow-checked size arithmetic.
 *
 * Flow of every call: the public entry point (src/core/api_*.c) checks every
 * argument that can be checked without reading device memory, then calls the
 * backend through its ops table. A backend only adds checks that are its own
 * (unsupported combinations, its packed layouts, host-readable contents).
 */
#ifndef QBLAS_INTERNAL_H
#define QBLAS_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>

#include "qblas.h"
#include "../common/qblas_numeric.h"

#define QB_ERRMSG_MAX 256

/* Normalised arguments of one GEMM call (already validated by the core). */
typedef struct qb_gemm_args {
    int64_t m, n, k;
    const qblas_act_t *x;
    const qblas_weight_t *w;
    const void *bias;
    qblas_dtype_t y_dtype;
    void *y;
    int64_t ldy;
} qb_gemm_args;

/* Normalised arguments of one activation-quantization call. */
typedef struct qb_qact_args {
    int64_t m, k;
    qblas_dtype_t x_dtype;
    const void *x;
    int64_t ldx;
    qblas_dtype_t q_dtype;
    void *q;
    int64_t ldq;
    qblas_scale_mode_t mode;
    float *scales;
    int32_t *zeros;
} qb_qact_args;

typedef struct qb_append_args {
    int64_t num_tokens;
    qblas_dtype_t src_dtype;
    const void *k_new, *v_new;
    const int64_t *slot_mapping;
} qb_append_args;

/* A backend's choice for one call: which of its configurations, how many
 * splits. Its query fills one; the run takes it back (one selection per
 * call), and a plan (src/core/api.c) keeps it, so the calls of a plan
 * select nothing. */
typedef struct qb_choice {
    int32_t config;   /* the backend's configuration index; -1: the backend has none (CPU) */
    int32_t splits;   /* K splits (GEMM) or context splits (decode attention); 1: none */
    const char *name; /* the configuration's base name (tuning rows, QBLAS_CUDA_KERNEL); never NULL */
} qb_choice;

/* One backend: each entry may return NOT_SUPPORTED for combinations it lacks;
 * the operation entries (all but init/fini/gemm_query/gemm/prepack*) may be
 * NULL for a backend that does not have the operation, and the core then
 * answers NOT_SUPPORTED. */
/* Everything core asks of a backend (ggml's backend interface is the model):
 * core reaches every backend only through this table, found by id in the one
 * registration list CMake generates (qb_backends.c). */
typedef struct qb_backend_ops {
    const char *name;
    qblas_backend_t id;
    int (*device_count)(void);                          /* usable devices (CPU: 1) */
    qblas_status_t (*init)(qblas_handle_t h);           /* may set h->backend_state */
    void (*fini)(qblas_handle_t h);
    /* The query selects (fixed NULL) or takes a plan's choice (fixed), and
     * says what it chose; the run gets the query's choice back. */
    qblas_status_t (*gemm_query)(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, qb_choice *chosen,
                                 qblas_kernel_info_t *info);
    qblas_status_t (*gemm)(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws, size_t ws_bytes,
                           void *stream);
    qblas_status_t (*prepack_size)(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes);
    qblas_status_t (*prepack)(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                              qblas_weight_t *packed, void *stream);
    qblas_status_t (*quantize_act)(qblas_handle_t h, const qb_qact_args *a, void *stream);
    qblas_status_t (*attention_query)(qblas_handle_t h, const qblas_kv_cache_t *kv,
                                      const qblas_attention_params_t *p, const qb_choice *fixed, qb_choice *chosen,
                                      qblas_kernel_info_t *info);
    qblas_status_t (*attention)(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                const qb_choice *c, void *ws, size_t ws_bytes, void *stream);
    qblas_status_t (*kv_append)(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a,
                                void *stream);
    /* qblas_device_status: wait for stream, take and clear the first error
     * the kernels recorded into *status (left SUCCESS when none), its reason
     * recorded with qb_fail; the return value says whether the read worked.
     * NULL: the backend checks everything on the host (the CPU), so there
     * never is one. */
    qblas_status_t (*device_status)(qblas_handle_t h, void *stream, qblas_status_t *status);
    /* Tuning files (src/core/tuning.c): the identity a file must match
     * (device, cc, SMs, driver, runtime; core fills the library version),
     * and the kernel names a row of key's (op, format, act, kv_dtype) may
     * give on this handle: how many there are, the first cap in names. */
    qblas_status_t (*tuning_device)(qblas_handle_t h, qblas_tuning_header_t *id);
    size_t (*tuning_kernels)(qblas_handle_t h, const qblas_tuning_entry_t *key, const char **names, size_t cap);
} qb_backend_ops;

struct qblas_handle_s {
    qblas_backend_t backend;
    int device;
    int num_threads;                 /* CPU backend worker threads */
    const qb_backend_ops *ops;
    void *backend_state;
    uint64_t arch_id;                /* what a plan must have been made on (backend init sets it; CPU: 0) */
    char last_error[QB_ERRMSG_MAX];
    char last_kernel[QBLAS_KERNEL_NAME_MAX];
    struct qb_tuning *tuning;        /* loaded tuning file (src/core/tuning.h), NULL: defaults */
};

/* Backends compiled in (src/core/registry.c lists them). */
/* The backends compiled into this build, CPU first, NULL-terminated
 * (qb_backends.c, generated by CMake from QBLAS_BACKEND_OPS). */
extern const qb_backend_ops *const qb_backends[];

/* ---- errors ----
 * qb_fail records a message (on the handle, or per thread when h is NULL, for
 * the host-only functions) and returns the status, so a check reads
 *     if (bad) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "k=%lld ...", ...);
 */
/* A device-side check's record (src/common/qblas_dev_records.h) as its
 * status, the reason recorded on h; backend names the backend in messages. */
qblas_status_t qb_dev_explain(qblas_handle_t h, unsigned long long rec, const char *backend);

qblas_status_t qb_fail(qblas_handle_t h, qblas_status_t st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void qb_clear_error(qblas_handle_t h);
void qb_set_kernel(qblas_handle_t h, const char *name);
void qb_kernel_info(qblas_kernel_info_t *info, size_t ws, const char *name);

/* ---- dtype helpers ---- */
/* Bytes per element; 0 for the packed 4-bit types and invalid values. */
size_t qb_dtype_size(qblas_dtype_t t);
bool qb_dtype_valid(qblas_dtype_t t);
bool qb_is_fp8(qblas_dtype_t t);
bool qb_is_float16ish(qblas_dtype_t t); /* F16 or BF16 */
/* Bytes of a row of `cols` elements (packed 4-bit: ceil(cols/2)); false on overflow. */
bool qb_row_bytes(qblas_dtype_t t, int64_t cols, int64_t *bytes);
/* Bytes spanned by `rows` rows of `cols` elements with leading dimension ld. */
bool qb_span_bytes(qblas_dtype_t t, int64_t rows, int64_t cols, int64_t ld, int64_t *bytes);
/* Pointer aligned to the element size of t (1 for packed 4-bit)? */
bool qb_aligned(const void *p, qblas_dtype_t t);

static inline qb_fp8_fmt qb_fp8_fmt_of(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_E5M2 ? QB_FP8_E5M2 : t == QBLAS_DTYPE_E4M3FNUZ ? QB_FP8_E4M3FNUZ : QB_FP8_E4M3;
}
static inline float qb_fp8_max(qblas_dtype_t t) { return qb_fp8_fmt_of(t).maxv; }

/* Element i of a f32/f16/bf16/i8/u8/i32/fp8 array, as float. */
float qb_load_f32(qblas_dtype_t t, const void *p, int64_t i);
/* Store v (rounded as the dtype's conversion says) as element i: f32/f16/bf16/fp8. */
void qb_store_f32(qblas_dtype_t t, void *p, int64_t i, float v);
/* A row of n f32/f16/bf16/fp8 elements to float. */
void qb_row_to_f32(qblas_dtype_t t, const void *src, int64_t n, float *dst);
/* Round a float to what dtype t can hold and back (f16/bf16/f32). */
float qb_round_to(qblas_dtype_t t, float v);

/* u4 code i of a packed row */
static inline int qb_u4_get(const uint8_t *row, int64_t i)
{
    return (row[i >> 1] >> ((i & 1) * 4)) & 15;
}
static inline void qb_u4_set(uint8_t *row, int64_t i, int v)
{
    int sh = (int)(i & 1) * 4;
    row[i >> 1] = (uint8_t)((row[i >> 1] & ~(15 << sh)) | ((v & 15) << sh));
}

/* ---- overflow-checked arithmetic on sizes ---- */
static inline bool qb_mul(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool qb_add(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }
/* ceil(a / b) for b > 0; no a + b - 1, which overflows for a near INT64_MAX */
static inline int64_t qb_cdiv(int64_t a, int64_t b) { return a / b + (a % b > 0); }

/* ---- aliasing (src/core/validate.c) ----
 * An output must share no byte with anything else its call reads or writes
 * (an input, another output, the workspace): the kernels read inputs after
 * outputs are written, so an overlap gives wrong results, on the GPU in no
 * fixed way. Each call lists the byte ranges of its arguments, from the
 * first to the last byte of each (row gaps included), and the ranges are
 * compared as addresses only, so device pointers are checked without being
 * touched. Inputs may overlap each other. */
typedef struct {
    const void *p;
    int64_t bytes;
    bool out;         /* written by the call */
    const char *what; /* named in the error */
} qb_span;
#define QB_SPANS_MAX 16
typedef struct {
    qb_span s[QB_SPANS_MAX];
    int n;
} qb_spans;

/* Do [a, a + abytes) and [b, b + bbytes) share a byte? (bytes > 0; no address arithmetic can wrap) */
static inline bool qb_overlap(const void *a, int64_t abytes, const void *b, int64_t bbytes)
{
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    return pa <= pb ? pb - pa < (uint64_t)abytes : pa - pb < (uint64_t)bbytes;
}
/* Add a range (NULL or empty ones are not arguments of the call: skipped). */
void qb_span_add(qb_spans *l, const void *p, int64_t bytes, bool out, const char *what);
/* The ranges of a valid weight's tensors: canonical sizes for CANONICAL and
 * CPU_BLOB layouts, the first byte of each tensor for a GPU layout (whose
 * extents are its backend's). g_idx is written only by the importers. */
void qb_weight_spans(qb_spans *l, const qblas_weight_t *w, bool out, bool g_idx_out);
/* INVALID_VALUE naming the first two ranges that overlap where one is an output. */
qblas_status_t qb_check_spans(qblas_handle_t h, const qb_spans *l);

/* ---- shared argument checks (src/core/validate.c) ----
 * Each returns SUCCESS or records the reason on h and returns the status. */
qblas_status_t qb_check_weight(qblas_handle_t h, const qblas_weight_t *w, qblas_weight_sizes_t *sizes);
/* the buffers a canonical (or CPU_BLOB) weight's format needs are there and aligned */
qblas_status_t qb_check_weight_ptrs(qblas_handle_t h, const qblas_weight_t *w);
/* problem: sizes, descriptors, dtypes; gemm: the problem plus output, ldy,
 * bias, and no output overlapping an argument or the workspace */
qblas_status_t qb_check_gemm_problem(qblas_handle_t h, const qb_gemm_args *a);
qblas_status_t qb_check_gemm(qblas_handle_t h, const qb_gemm_args *a, const void *ws, size_t ws_bytes);
qblas_status_t qb_check_qact(qblas_handle_t h, const qb_qact_args *a);
qblas_status_t qb_check_kv(qblas_handle_t h, const qblas_kv_cache_t *kv);
/* ws NULL (the query): no workspace to compare */
qblas_status_t qb_check_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                  const void *ws, size_t ws_bytes);
qblas_status_t qb_check_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a);

/* ---- split-K planning of the 4-bit weight GEMMs (src/core/splits.c) ----
 * Their blocks (`blocks` of them) cover the M x Np output: split K when the
 * grid alone leaves fewer than `target` blocks (the device's compute units
 * times the blocks each holds), aiming at target. Each split covers at
 * least 4 of the kt k tiles, and the 4-byte partial sums (written and read
 * back: 8 * M * Np bytes per split) stay within a quarter of the weight
 * bytes (Np * Kp / 2), so splits <= Kp / (64 M); at most max_splits. A
 * plan's choice (fixed) gives the count instead (kept within 1 ..
 * max_splits and kt). Sets *tiles_per_split and *splits (no split is empty). */
void qb_plan_splits(int64_t target, int64_t m, int64_t blocks, int64_t kt, int64_t kp, int64_t max_splits,
                    const qb_choice *fixed, int64_t *tiles_per_split, int64_t *splits);

/* Largest K for integer GEMMs: keeps |sum (x - zx) * w| < 2^31 (255*128*65536 < 2^31). */
#define QB_INT_GEMM_MAX_K 65536

#endif /* QBLAS_INTERNAL_H */
