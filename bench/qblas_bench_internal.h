/* qblas_bench_internal.h - what the shim (qblas_bench_shim.c) and the peer
 * libraries (qblas_bench_peers.c) share: the environment (memory in the
 * handle's space, random fills and weight rotation come from the problem
 * builder, problem/qb_problem.h), and the peer interface. Not used by the C++
 * side, which sees qblas_bench_shim.h only. */
#ifndef QBLAS_BENCH_INTERNAL_H
#define QBLAS_BENCH_INTERNAL_H

#include <qblas.h>

#include "qb_problem.h"
#include "qblas_bench_shim.h"

struct qbb_env {
    qbp_env pe;           /* the handle, its memory space, L2 size and random stream (problem/qb_problem.h) */
    double copy_bps;
    char device[320];
    void *ev0, *ev1;      /* cudaEvent_t pair for timing (GPU only) */
};

/* Record a reason and return the status (for "return qbb_err(...)"). */
int qbb_err(char *err, size_t err_len, int status, const char *fmt, ...);

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
