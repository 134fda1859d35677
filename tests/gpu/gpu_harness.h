/* gpu_harness.h - what the GPU test groups (ops_*.c) share: the run's random
 * stream, per-case pass/fail bookkeeping, device buffers with poisoned guard
 * bands, dtype helpers, one guarded GEMM runner, and the pieces of a GEMM
 * case several groups repeat (random scales and bias, the oracle call, the
 * bit-exact and the toleranced comparison, the 16-byte alignment refusals,
 * the whole FP8 result check of the dense and 2:4 FP8 groups).
 *
 * Conventions every group follows (ggml's test-backend-ops idea):
 *  - fresh random inputs each run (never zeros), the same call on a CPU
 *    handle (the oracle) and on the CUDA handle, outputs compared;
 *  - outputs poisoned with 0xFF bytes first (NaN in f16/bf16/f32), so an
 *    unwritten element fails, and NaN never passes a comparison;
 *  - guard bands around every output and the gaps between rows stay 0xFF;
 *  - each tolerance is derived next to the comparison that uses it;
 *  - bad inputs return their documented status and write nothing.
 *
 * A case is case_begin() ... expect(...) ... case_end(what, kernel); a
 * group is one function `void qbg_<group>(qblas_handle_t gh, qblas_handle_t cpu)`
 * listed in QBG_GROUPS, which gpu_harness.c runs as one Check test each.
 */
#ifndef QB_GPU_HARNESS_H
#define QB_GPU_HARNESS_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* setenv, strdup */
#endif
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "common/qblas_numeric.h"
#include "qblas.h"

/* The groups, in the order they run (one ops_<group>.c each). */
#define QBG_GROUPS(X) \
    X(w4a16)          \
    X(int8)           \
    X(w4a8)           \
    X(fp8)            \
    X(sparse24)       \
    X(attention)      \
    X(attention_prefill) \
    X(qact)           \
    X(configs)        \
    X(capture)

#define QBG_DECLARE(g) void qbg_##g(qblas_handle_t gh, qblas_handle_t cpu);
QBG_GROUPS(QBG_DECLARE)
#undef QBG_DECLARE

/* ---- the run ---- */
extern uint64_t g_seed, g_rng_state; /* $QBLAS_TEST_SEED or the clock; printed in every failure */
extern int g_pass, g_fail;           /* cases */
extern bool g_quick;                 /* --quick / QBLAS_GPU_QUICK=1: a reduced list (compute-sanitizer) */
extern bool g_case_ok;               /* the running case has not failed yet */
extern bool g_amd;                   /* the device is an AMD one (the HIP backend; on the simulator: gfx90a, gfx942) */
/* what kernel names say after their family: "sm" (sm80, sm89, sm90a) or "gfx" (gfx90a, gfx942) */
static inline const char *arch_tag(void) { return g_amd ? "gfx" : "sm"; }
extern const char *g_gfx;            /* g_amd: the target, "gfx90a" or "gfx942" */
/* the GPU handle's backend, and the variable that forces its kernel choice */
static inline qblas_backend_t gpu_backend(void) { return g_amd ? QBLAS_BACKEND_HIP : QBLAS_BACKEND_CUDA; }
static inline const char *kernel_env(void) { return g_amd ? "QBLAS_HIP_KERNEL" : "QBLAS_CUDA_KERNEL"; }
/* fp8 matrix instructions: sm_89+, gfx942 */
bool gpu_has_fp8(void);

uint64_t rnd(void);                      /* splitmix64 */
double uni(double lo, double hi);        /* uniform in [lo, hi) */
int64_t irand(int64_t lo, int64_t hi);   /* uniform in [lo, hi], inclusive */
float signed_uni(double lo, double hi);  /* +-uni(lo, hi), random sign */

void fatal(const char *fmt, ...);        /* harness failure (not a kernel's): exit 1 */
#define CUDA_OK(call)                                                                                       \
    do {                                                                                                    \
        cudaError_t e_ = (call);                                                                            \
        if (e_ != cudaSuccess) fatal("%s:%d %s: %s", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
    } while (0)

/* ---- cases ---- */
void case_begin(void);
void expect(bool ok, const char *fmt, ...); /* a failed expectation prints (8 per case at most) and fails the case */
void case_end(const char *what, const char *kernel);
void note_kernel(const char *name); /* a kernel that ran: main lists them all at the end */
#define EXPECT_STATUS(call, want)                                                                               \
    do {                                                                                                        \
        qblas_status_t st_ = (call);                                                                            \
        expect(st_ == (want), "%s -> %s, want %s", #call, qblas_status_string(st_), qblas_status_string(want)); \
    } while (0)

/* ---- dtypes (F32, F16, BF16) ---- */
size_t dsize(qblas_dtype_t t); /* 4 for F32, else 2 */
float to_f32(qblas_dtype_t t, const void *p, int64_t i);
void from_f32(qblas_dtype_t t, void *p, int64_t i, float v); /* RNE */
float round_to(qblas_dtype_t t, float v);
double half_ulp(qblas_dtype_t t, double a);  /* half an ulp of t at |a|, subnormal floor included */
double gamma_n(double n, double u);          /* n*u / (1 - n*u) */
const char *dn(qblas_dtype_t t);             /* dtype name */
extern const qblas_dtype_t kY[3];            /* the output dtypes: F16, BF16, F32 */

/* ---- memory ---- */
#define GUARD 256 /* poisoned bytes each side of a guarded device buffer */
void *xmalloc(size_t bytes);                      /* host; fatal on failure */
void *dalloc(size_t bytes);                       /* device */
void *dcopy(const void *h, size_t bytes);         /* device copy of host bytes; NULL stays NULL */
bool all_ff(const uint8_t *p, size_t n);          /* host bytes all 0xFF */
bool dev_all_ff(const void *p, size_t n);         /* device bytes all 0xFF */
void expect_ff(const uint8_t *p, size_t n, const char *what);            /* host bytes still poisoned */
void expect_untouched(const void *dptr, size_t bytes, const char *what); /* device bytes still poisoned */
uint8_t *guarded(const void *src, size_t n); /* device: GUARD 0xFF, n bytes of src (or 0xFF), GUARD 0xFF */
uint8_t *fetch(const uint8_t *d, size_t n);  /* host copy of a guarded buffer, guards included */

/* Run Y = X.W^T (+bias) twice on the GPU into poisoned, guarded buffers,
 * the second time through a plan (qblas_gemm_plan / qblas_gemm_planned);
 * check guards, the ldy gap, run-to-run identity and the kernel name.
 * x, w and bias_d are device-side descriptors/pointers; y_out: m x ldy
 * elements of ydt (the first run); kernel: QBLAS_KERNEL_NAME_MAX bytes. */
void run_guarded(qblas_handle_t gh, int64_t m, int64_t n, int64_t k, const qblas_act_t *x, const qblas_weight_t *w,
                 const void *bias_d, qblas_dtype_t ydt, int64_t ldy, void *y_out, char *kernel);

/* The plan of an attention call (the attention groups' second runs, as
 * run_guarded's for GEMMs): made, checked to agree with the query's info,
 * its configuration noted for the registry coverage. False: no plan. */
bool attention_plan_for(qblas_handle_t gh, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                        const qblas_kernel_info_t *info, qblas_attention_plan_t *plan);
/* ---- graph capture and device-side checks (docs/API.md) ---- */
/* One qblas call issued on `stream`, the only stream it may use; returns its status. */
typedef qblas_status_t (*issue_fn)(void *ctx, cudaStream_t stream);
typedef struct {
    void *p;      /* device memory the call writes */
    size_t bytes;
} dev_out;

/* The call run eagerly on a non-default stream (outputs poisoned first)
 * gives the reference bytes; then, outputs poisoned again, it is captured
 * into a graph (cudaStreamBeginCapture, global mode: the runtime refuses
 * any synchronization, allocation or synchronous copy) and must return
 * SUCCESS with the capture intact and nothing run; the graph, launched
 * twice, must reproduce the reference bytes (which the outputs then hold);
 * no device error is recorded. */
void expect_captured(qblas_handle_t gh, issue_fn fn, void *ctx, const dev_out *outs, int n_outs);

/* qblas_device_status(gh) reports `want`, with a reason holding `needle`
 * (NULL: any reason) when want is not SUCCESS; a second read reports
 * SUCCESS (reading clears). */
void expect_device_status(qblas_handle_t gh, qblas_status_t want, const char *needle);

/* An i8 GEMM (m = 5) whose x->zeros (5 device int32) are made invalid: the
 * call succeeds, Y stays untouched, the device status names the first bad
 * row (the first error kept until read); valid ones then write Y. */
void expect_zero_point_checks(qblas_handle_t gh, int64_t n, int64_t k, const qblas_act_t *x, const qblas_weight_t *w);

/* ---- pieces of a GEMM case the groups share ---- */
void fill_scales(float *sc, int64_t n);                  /* +-[0.005, 0.02), random sign; sc NULL: nothing */
void fill_bias(qblas_dtype_t t, void *bias, int64_t n);  /* uniform in [-2, 2) as t; bias NULL: nothing */
uint8_t *dpoisoned(size_t bytes);                        /* device bytes, all 0xFF */

/* The oracle: poison y (m x ldy of ydt) with 0xFF, run the call on the CPU
 * handle with the workspace its query asks for, expect success. */
qblas_status_t run_oracle(qblas_handle_t cpu, int64_t m, int64_t n, int64_t k, const qblas_act_t *x,
                          const qblas_weight_t *w, const void *bias, qblas_dtype_t ydt, void *y, int64_t ldy);

/* Bit-exact results (INT8-class GEMMs): element i of ygpu has the same bytes
 * as ycpu's and decodes to exactly `want` (the definition; NaN never equals).
 * False (and the case failed) otherwise. */
bool expect_bits(qblas_dtype_t ydt, const void *ygpu, const void *ycpu, int64_t i, float want, int64_t m, int64_t n);

/* Float results within the two derived bounds (f16/bf16 GEMMs): g (GPU) vs
 * c (oracle) within eg + ec + 2 half ulps of y, and g vs the float64 sum
 * within eg + 1 half ulp, where eg = gpu_rel * S, ec = cpu_rel * S and
 * S = sum |x w| + |bias|. g NaN fails. False (and the case failed) otherwise. */
bool expect_near(qblas_dtype_t ydt, double g, double c, double sum, double S, double gpu_rel, double cpu_rel,
                 int64_t m, int64_t n);

/* The refusals every 16-byte-aligned GEMM (INT8, FP8) shares, each
 * NOT_SUPPORTED: k = 40 (k % 16 != 0), ldx = k + 8, X data one byte off, W
 * data one byte off (k = 16 keeps both inside the buffer). xa->data and
 * wd->data are one device buffer of >= n * k + 64 one-byte codes; y: m x n
 * f16, poisoned (the caller checks it stays so). */
void expect_align_refusals(qblas_handle_t gh, int64_t m, int64_t n, int64_t k, const qblas_act_t *xa,
                           const qblas_weight_t *wd, void *y);

/* ---- FP8 GEMM results (dense ops_fp8.c and 2:4 ops_sparse24.c) ---- */
typedef struct {
    int64_t m, n, k, ldx, ldy;
    qblas_dtype_t xt, wt, ydt;
    int mode;   /* 0..3: PER_TENSOR/PER_ROW for X (bit 0) and W (bit 1); 4: BLOCK 1x128 x 128x128 */
    bool bias;
    bool exact; /* small-integer codes: exact sums */
    bool nan;   /* NaN codes planted (where: see each group) */
} f8shape;

int64_t cdiv64(int64_t a, int64_t b);
qb_fp8_fmt fp8_fmt(qblas_dtype_t t);                  /* E4M3, E5M2 or (AMD) E4M3FNUZ */
uint8_t fp8_nan_code(qblas_dtype_t t);                /* a NaN code of t (0x7F; FNUZ: 0x80) */
uint8_t fp8_rand_code(qblas_dtype_t t, bool exact);   /* see gpu_harness.c */
const char *fp8_mode_name(int mode);
size_t fp8_nsx(const f8shape *s);                     /* how many X scales the mode has */
size_t fp8_nsw(const f8shape *s);                     /* how many W scales */
qblas_scale_mode_t fp8_x_mode(const f8shape *s);
qblas_scale_mode_t fp8_w_mode(const f8shape *s);
float fp8_xscale(const f8shape *s, const float *sx, int64_t m, int64_t kb); /* X's scale of row m, 128-k block kb */
float fp8_wscale(const f8shape *s, const float *sw, int64_t n, int64_t kb); /* W's scale of row n, block kb */

/* Check Y of an FP8 problem s against the oracle and the definition.
 * xf: decoded X (m x k, float64), wf: decoded (2:4: decompressed) W (n x k);
 * nan_m / nan_n: the row of X / of W holding a NaN code (-1: none), whose
 * row / column of Y must be NaN on both sides. Exact data: both sides equal
 * the definition bit for bit; wide data: within fp8_tolerance. */
void fp8_check(const f8shape *s, const double *xf, const double *wf, const float *sx, const float *sw,
               const void *bias, const void *ygpu, const void *ycpu, int64_t nan_m, int64_t nan_n);

#endif /* QB_GPU_HARNESS_H */
