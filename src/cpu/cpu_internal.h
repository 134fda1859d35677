/* cpu_internal.h - the CPU backend (reference oracle) inside.
 *
 * Every GEMM is one of two drivers (cpu_gemm_driver.c):
 *   float driver:   Y[m,n] = epi( partial dot products of decoded X row m and
 *                   decoded W row n over blocks of kblock k )
 *   integer driver: Y[m,n] = epi( exact int32 dot of X row m and W row n )
 * A format only says how to decode a row range of X and of W, and how to
 * turn the dot product(s) into a float (its "plan", set up by
 * qb_cpu_setup_<format>). The driver handles blocking, threads, bias and the
 * output conversion, so the math of each format reads in a few lines.
 *
 * Decoders write rows x k values, contiguous (row r at out + r*k).
 */
#ifndef QBLAS_CPU_INTERNAL_H
#define QBLAS_CPU_INTERNAL_H

#include "../core/qblas_internal.h"

/* ---- threads ---- */
typedef void (*qb_range_fn)(void *ctx, int64_t begin, int64_t end, int tid);
/* Split [0, n) into at most nthreads contiguous ranges, run fn on each
 * (tid 0 on the calling thread), wait for all. Falls back to fewer threads
 * if threads cannot be created; never fails. */
void qb_parallel_for(int nthreads, int64_t n, qb_range_fn fn, void *ctx);

/* ---- workspaces ----
 * A workspace may start at any address: the CPU operations ask for
 * QB_WS_SLACK bytes more than they use and work from its first 64-byte
 * boundary, so every float and int16 store into it is aligned. */
#define QB_WS_SLACK 64
static inline uint8_t *qb_ws_align(void *ws) { return (uint8_t *)(((uintptr_t)ws + 63) & ~(uintptr_t)63); }

/* ---- GEMM plans ---- */
typedef struct qb_cpu_gemm_plan qb_cpu_gemm_plan;
struct qb_cpu_gemm_plan {
    const qb_gemm_args *a;
    qblas_weight_t w;       /* the weight, canonical view (pointers resolved from a packed blob) */
    const char *kernel;     /* name reported by the which-kernel queries */
    int is_int;             /* 0: float driver, 1: integer driver */
    int64_t kblock;         /* float driver: partial sums over blocks of this many k (0: one block = k) */
    size_t w_scratch;       /* bytes of per-thread scratch the weight decoder needs (0: none) */

    /* float driver */
    void (*x_f32)(const qb_cpu_gemm_plan *p, int64_t m0, int64_t rows, float *out);
    void (*w_f32)(const qb_cpu_gemm_plan *p, int64_t n0, int64_t rows, float *out, void *scratch);
    /* partial[kb] for kb < ceil(k / kblock) -> the value before bias; NULL: partial[0] */
    float (*epi_f32)(const qb_cpu_gemm_plan *p, int64_t m, int64_t n, const float *partial);

    /* integer driver (|values| < 2^15, k <= QB_INT_GEMM_MAX_K keeps int32 exact) */
    void (*x_i16)(const qb_cpu_gemm_plan *p, int64_t m0, int64_t rows, int16_t *out);
    void (*w_i16)(const qb_cpu_gemm_plan *p, int64_t n0, int64_t rows, int16_t *out, void *scratch);
    float (*epi_i32)(const qb_cpu_gemm_plan *p, int64_t m, int64_t n, int32_t acc);
};

/* Driver: workspace for a plan (false: its size overflows), and the run itself. */
bool qb_cpu_gemm_workspace(const qb_cpu_gemm_plan *p, int nthreads, size_t *bytes);
void qb_cpu_gemm_run(const qb_cpu_gemm_plan *p, void *ws, int nthreads);

/* Shared plan pieces (cpu_gemm_driver.c), usable by any format:
 *  X decoders: f16/bf16/fp8 -> float (no scale); i8 -> int16 minus the
 *  per-token zero point when x->zeros is set.
 *  Epilogues applying the activation scale (x->scale_mode) and a float
 *  weight scale array (w.scales, w.scale_mode: PER_TENSOR, PER_ROW, or
 *  BLOCK_128X128 with x BLOCK_1X128 - then kblock must be 128). */
void qb_cpu_x_f32(const qb_cpu_gemm_plan *p, int64_t m0, int64_t rows, float *out);
void qb_cpu_x_i16(const qb_cpu_gemm_plan *p, int64_t m0, int64_t rows, int16_t *out);
float qb_cpu_epi_scaled_f32(const qb_cpu_gemm_plan *p, int64_t m, int64_t n, const float *partial);
float qb_cpu_epi_scaled_i32(const qb_cpu_gemm_plan *p, int64_t m, int64_t n, int32_t acc);
/* activation scale of row m for k block kb (kb ignored unless BLOCK_1X128) */
float qb_cpu_x_scale(const qblas_act_t *x, int64_t k, int64_t m, int64_t kb);

/* Per-format setup: fill p (p->a and p->w are set by the caller). Return
 * NOT_SUPPORTED (via qb_fail) for combinations the oracle does not define. */
qblas_status_t qb_cpu_setup_w4a16(qblas_handle_t h, qb_cpu_gemm_plan *p);   /* w4a16.c */
qblas_status_t qb_cpu_setup_int8(qblas_handle_t h, qb_cpu_gemm_plan *p);    /* cpu_gemm_driver.c */
qblas_status_t qb_cpu_setup_fp8(qblas_handle_t h, qb_cpu_gemm_plan *p);     /* cpu_gemm_driver.c */
qblas_status_t qb_cpu_setup_w4a8(qblas_handle_t h, qb_cpu_gemm_plan *p);    /* w4a8.c */
qblas_status_t qb_cpu_setup_sparse24(qblas_handle_t h, qb_cpu_gemm_plan *p); /* sparse24.c */

/* Content checks of a canonical weight in host memory (indices, zero points,
 * group scales in range), per format; NULL where a format has none. The GEMM
 * setups and the host tools run them before writing anything. */
qblas_status_t qb_check_content_w4a16(qblas_handle_t h, const qblas_weight_t *w);
qblas_status_t qb_check_content_w4a8(qblas_handle_t h, const qblas_weight_t *w);
qblas_status_t qb_check_content_sparse24(qblas_handle_t h, const qblas_weight_t *w);

/* ---- ranges for the quantizers: over the finite values only ---- */
/* Largest |v| (0 when no value is finite). */
static inline float qb_finite_amax(const float *v, int64_t n)
{
    float m = 0.0f;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i]) && fabsf(v[i]) > m) m = fabsf(v[i]);
    return m;
}
/* Smallest and largest v (both 0 when no value is finite). */
static inline void qb_finite_minmax(const float *v, int64_t n, float *lo, float *hi)
{
    float l = INFINITY, h = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            l = v[i] < l ? v[i] : l;
            h = v[i] > h ? v[i] : h;
        }
    if (l > h) l = h = 0.0f;
    *lo = l, *hi = h;
}

/* ---- host weight tools, per format ----
 * quantize: fill out's buffers from the f32 matrix src W[n,k] with leading
 * dimension ld (validated by qblas_quantize_weight, which passes an f32
 * source as it is and converts f16/bf16 ones to f32 rows first). dequant:
 * rows [n0, n0+rows) of a canonical weight as the real-valued f32 weight
 * (scales applied), rows x k contiguous. */
qblas_status_t qb_quantize_w4a16(const float *src, int64_t ld, qblas_weight_t *out);
qblas_status_t qb_quantize_int8(const float *src, int64_t ld, qblas_weight_t *out);
qblas_status_t qb_quantize_fp8(const float *src, int64_t ld, qblas_weight_t *out);
qblas_status_t qb_quantize_w4a8(const float *src, int64_t ld, qblas_weight_t *out);
qblas_status_t qb_quantize_sparse24(const float *src, int64_t ld, qblas_weight_t *out);
void qb_dequant_w4a16(const qblas_weight_t *w, int64_t n0, int64_t rows, float *out);
void qb_dequant_int8(const qblas_weight_t *w, int64_t n0, int64_t rows, float *out);
void qb_dequant_fp8(const qblas_weight_t *w, int64_t n0, int64_t rows, float *out);
void qb_dequant_w4a8(const qblas_weight_t *w, int64_t n0, int64_t rows, float *out);
void qb_dequant_sparse24(const qblas_weight_t *w, int64_t n0, int64_t rows, float *out);

/* ---- other operations ---- */
qblas_status_t qb_cpu_quantize_act(qblas_handle_t h, const qb_qact_args *a);          /* quant_act.c */
qblas_status_t qb_cpu_attention_query(qblas_handle_t h, const qblas_kv_cache_t *kv,
                                      const qblas_attention_params_t *p, qblas_kernel_info_t *info); /* attention.c */
qblas_status_t qb_cpu_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                void *ws, size_t ws_bytes);
qblas_status_t qb_cpu_kv_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a);

#endif /* QBLAS_CPU_INTERNAL_H */
