/* qb_test.h - what every qblas test shares.
 *
 *  - Random data: a splitmix64 stream seeded from $QBLAS_TEST_SEED, or from
 *    the clock (printed at start and in failure messages) so each run sees
 *    fresh data. Never zeros.
 *  - Guard bands: qbt_alloc() surrounds every buffer with 64 canary bytes on
 *    each side; qbt_guard_ok() proves nothing was written out of bounds.
 *  - Poison: qbt_poison() fills outputs with 0xFF bytes, which read as NaN
 *    in f32/f16/bf16 (and as 0xFF in integer outputs), so any element a
 *    kernel forgets to write fails the comparison (NaN never passes).
 *
 * Each test file defines `Suite *qbt_suite(void)`; qb_test_main.c runs it.
 */
#ifndef QB_TEST_H
#define QB_TEST_H

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qblas.h"
#include "../src/common/qblas_numeric.h"

#ifdef __cplusplus /* C++ test programs (tests/sim) share the C helpers */
extern "C" {
#endif

Suite *qbt_suite(void);

/* ---- random numbers ---- */
extern uint64_t qbt_seed; /* the run's seed, for messages */
typedef struct { uint64_t s; } qbt_rng;
static inline qbt_rng qbt_rng_make(uint64_t stream) { qbt_rng r = {qbt_seed ^ (stream * 0x9E3779B97F4A7C15ull)}; return r; }
static inline uint64_t qbt_next(qbt_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline double qbt_uniform(qbt_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(qbt_next(r) >> 11) * (1.0 / 9007199254740992.0));
}
static inline int64_t qbt_int(qbt_rng *r, int64_t lo, int64_t hi) /* inclusive */
{
    return lo + (int64_t)(qbt_next(r) % (uint64_t)(hi - lo + 1));
}

/* Fill n elements of dtype t (f32/f16/bf16) with uniform values in [lo, hi). */
void qbt_fill(qbt_rng *r, qblas_dtype_t t, void *p, int64_t n, double lo, double hi);
/* Fill n bytes with uniform random bytes. */
void qbt_fill_bytes(qbt_rng *r, void *p, size_t n);
/* Element i of an f32/f16/bf16/fp8/i8/u8/i32 array as double. */
double qbt_get(qblas_dtype_t t, const void *p, int64_t i);

/* ---- guarded buffers ---- */
void *qbt_alloc(size_t bytes);          /* 64-byte aligned, canaries around, contents random */
bool qbt_guard_ok(const void *p);       /* canaries intact */
void qbt_free(void *p);                 /* NULL ok; also checks canaries (ck_assert) */
void qbt_poison(void *p, size_t bytes); /* 0xFF bytes */
size_t qbt_size(const void *p);         /* bytes requested at qbt_alloc */
/* Snapshot/compare: true when [p, p+bytes) still equals the snapshot. */
void *qbt_snapshot(const void *p, size_t bytes);
bool qbt_unchanged(const void *p, const void *snap, size_t bytes);

/* ---- comparisons ----
 * |got - ref| <= tol, and got is not NaN (NaN never passes, even if ref is NaN). */
static inline bool qbt_close(double got, double ref, double tol)
{
    return got == got && fabs(got - ref) <= tol;
}
/* Half an ulp of dtype t at |v| (the rounding error of storing v in t):
 * f16 2^-11, bf16 2^-8, f32 2^-24 relative, with the subnormal floor. */
double qbt_half_ulp(qblas_dtype_t t, double v);
/* Unit roundoff of fp32 summation of k products: gamma_k = k*u/(1-k*u), u = 2^-24. */
static inline double qbt_gamma32(int64_t k) { double u = k * 0x1p-24; return u / (1.0 - u); }

/* Check a condition without calling into Check when it holds: every
 * ck_assert* reports a passing check through a pipe, which dominates loops
 * over elements. */
#define QBT_EXPECT(cond, ...)                     \
    do {                                          \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);   \
    } while (0)

#define QBT_U32 0x1p-24 /* unit roundoff of fp32 */

/* ---- handles and workspaces ---- */
qblas_handle_t qbt_cpu(void);           /* a CPU handle (ck_assert on failure) */

/* qblas_gemm with a workspace of the size qblas_gemm_query gives (the
 * query's status if it fails). kernel, when not NULL, receives the kernel
 * name (QBLAS_KERNEL_NAME_MAX bytes). */
qblas_status_t qbt_gemm(qblas_handle_t h, int64_t m, const qblas_act_t *x, const qblas_weight_t *w,
                        const void *bias, qblas_dtype_t y_dtype, void *y, int64_t ldy, char *kernel);

/* Invariants of every GEMM: with y holding the result of a run, running
 * again with 2 and 3 threads and on the prepacked weight (each into a fresh
 * poisoned buffer) must give the same bytes. Restores the thread count. */
void qbt_gemm_invariants(qblas_handle_t h, int64_t m, const qblas_act_t *x, const qblas_weight_t *w,
                         const void *bias, qblas_dtype_t y_dtype, const void *y, int64_t ldy, size_t ybytes);

#define QBT_OK(call)                                                                                   \
    do {                                                                                               \
        qblas_status_t st_ = (call);                                                                   \
        ck_assert_msg(st_ == QBLAS_STATUS_SUCCESS, "%s -> %s (%s) [seed %llu]", #call,               \
                      qblas_status_string(st_), qblas_last_error(NULL), (unsigned long long)qbt_seed); \
    } while (0)
#define QBT_STATUS(call, want)                                                                         \
    do {                                                                                               \
        qblas_status_t st_ = (call);                                                                   \
        ck_assert_msg(st_ == (want), "%s -> %s, want %s [seed %llu]", #call, qblas_status_string(st_), \
                      qblas_status_string(want), (unsigned long long)qbt_seed);                        \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif /* QB_TEST_H */
