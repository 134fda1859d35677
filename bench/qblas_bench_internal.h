/* qblas_bench_internal.h - what the shim (qblas_bench_shim.c) and the peer
 * libraries (qblas_bench_peers.c) share: the environment, memory in the
 * handle's space, random fills, and the peer interface. Not used by the C++
 * side, which sees qblas_bench_shim.h only. */
#ifndef QBLAS_BENCH_INTERNAL_H
#define QBLAS_BENCH_INTERNAL_H

#include <qblas.h>

#include "qblas_bench_shim.h"

#define QBB_MAX_COPIES 64

struct qbb_env {
    qblas_handle_t h;
    int gpu;              /* 1: the handle's memory is CUDA device memory */
    size_t l2_bytes;      /* 0 on the CPU: weights are not rotated there */
    double copy_bps;
    uint64_t rng;         /* splitmix64 state: every fill draws fresh values */
    char device[320];
    void *ev0, *ev1;      /* cudaEvent_t pair for timing (GPU only) */
};

/* Record a reason and return the status (for "return qbb_err(...)"). */
int qbb_err(char *err, size_t err_len, int status, const char *fmt, ...);

/* Memory in the handle's space (device or host), 256-byte aligned. */
void *qbb_alloc(qbb_env_t *env, size_t bytes);
void qbb_free(qbb_env_t *env, void *p);
int qbb_upload(qbb_env_t *env, void *dst, const void *host, size_t bytes);
int qbb_copy(qbb_env_t *env, void *dst, const void *src, size_t bytes);
/* Allocate bytes in the handle's space and fill it from a host buffer. */
void *qbb_alloc_upload(qbb_env_t *env, const void *host, size_t bytes);

/* How many copies of a weight of this size rotate: enough to exceed twice
 * the L2 cache on a GPU (so every call streams its weight from memory), one
 * on the CPU. */
int qbb_copies_for(const qbb_env_t *env, size_t bytes);

/* Host random fills. */
uint64_t qbb_rand(qbb_env_t *env);
void qbb_fill_bytes(qbb_env_t *env, void *dst, size_t bytes);
/* 16-bit floats of magnitude in [2^-4, 1), random sign (bf16: 1, f16: 0). */
void qbb_fill_half(qbb_env_t *env, uint16_t *dst, size_t count, int bf16);
/* e4m3 codes of magnitude below 2 (never NaN). */
void qbb_fill_e4m3(qbb_env_t *env, uint8_t *dst, size_t count);
/* floats uniform in [lo, hi). */
void qbb_fill_f32(qbb_env_t *env, float *dst, size_t count, float lo, float hi);

/* Events around one call on the default stream (GPU): seconds it took. */
int qbb_gpu_time_begin(qbb_env_t *env);
int qbb_gpu_time_end(qbb_env_t *env, double *seconds);

/* Peers (qblas_bench_peers.c): a directly called vendor library. */
typedef struct qbb_peer qbb_peer_t;
int qbb_peer_create(qbb_env_t *env, qbb_op_t op, int64_t m_max, int64_t n, int64_t k, qbb_peer_t **out, char *err,
                    size_t err_len);
int qbb_peer_run(qbb_peer_t *peer, int64_t m, char *err, size_t err_len);
void qbb_peer_info(const qbb_peer_t *peer, int64_t m, qbb_case_info_t *info);
void qbb_peer_destroy(qbb_peer_t *peer);

#endif /* QBLAS_BENCH_INTERNAL_H */
