/* gpu_harness.h - what the GPU test groups (ops_*.c) share: the run's random
 * stream, per-case pass/fail bookkeeping, device buffers with poisoned guard
 * bands, dtype helpers, and one guarded GEMM runner.
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
    X(qact)

#define QBG_DECLARE(g) void qbg_##g(qblas_handle_t gh, qblas_handle_t cpu);
QBG_GROUPS(QBG_DECLARE)
#undef QBG_DECLARE

/* ---- the run ---- */
extern uint64_t g_seed, g_rng_state; /* $QBLAS_TEST_SEED or the clock; printed in every failure */
extern int g_pass, g_fail;           /* cases */
extern bool g_quick;                 /* --quick / QBLAS_GPU_QUICK=1: a reduced list (compute-sanitizer) */
extern bool g_case_ok;               /* the running case has not failed yet */

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

/* Run Y = X.W^T (+bias) twice on the GPU into poisoned, guarded buffers;
 * check guards, the ldy gap, run-to-run identity and the kernel name.
 * x, w and bias_d are device-side descriptors/pointers; y_out: m x ldy
 * elements of ydt (the first run); kernel: QBLAS_KERNEL_NAME_MAX bytes. */
void run_guarded(qblas_handle_t gh, int64_t m, int64_t n, int64_t k, const qblas_act_t *x, const qblas_weight_t *w,
                 const void *bias_d, qblas_dtype_t ydt, int64_t ldy, void *y_out, char *kernel);

#endif /* QB_GPU_HARNESS_H */
