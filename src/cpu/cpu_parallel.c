/* cpu_parallel.c - a fork/join parallel-for over pthreads.
 * Threads are made per call: a call costs tens of microseconds, nothing next
 * to the oracle's work, and no pool state outlives a call. */
#include <pthread.h>

#include "cpu_internal.h"

typedef struct {
    qb_range_fn fn;
    void *ctx;
    int64_t begin, end;
    int tid;
} qb_job;

static void *run_job(void *arg)
{
    qb_job *j = arg;
    j->fn(j->ctx, j->begin, j->end, j->tid);
    return NULL;
}

void qb_parallel_for(int nthreads, int64_t n, qb_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (nthreads < 1) nthreads = 1;
    if (nthreads > n) nthreads = (int)n;
    if (nthreads > 256) nthreads = 256;
    qb_job jobs[256];
    pthread_t tids[256];
    bool started[256] = {false};
    for (int t = 0; t < nthreads; t++) {
        jobs[t] = (qb_job){fn, ctx, n * t / nthreads, n * (t + 1) / nthreads, t};
        if (t > 0) started[t] = pthread_create(&tids[t], NULL, run_job, &jobs[t]) == 0;
    }
    run_job(&jobs[0]);
    for (int t = 1; t < nthreads; t++) {
        if (started[t]) pthread_join(tids[t], NULL);
        else run_job(&jobs[t]); /* could not start a thread: do its share here */
    }
}
