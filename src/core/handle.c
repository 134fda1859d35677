/* handle.c - handle lifetime, version, status strings, error recording. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qblas_internal.h"
#include "registry.h"
#include "tuning.h"

#define QB_STR2(x) #x
#define QB_STR(x) QB_STR2(x)

int qblas_get_version(void) { return QBLAS_VERSION; }

const char *qblas_get_version_string(void)
{
    return QB_STR(QBLAS_VERSION_MAJOR) "." QB_STR(QBLAS_VERSION_MINOR) "." QB_STR(QBLAS_VERSION_PATCH);
}

const char *qblas_status_string(qblas_status_t s)
{
    switch (s) {
    case QBLAS_STATUS_SUCCESS: return "QBLAS_STATUS_SUCCESS";
    case QBLAS_STATUS_INVALID_VALUE: return "QBLAS_STATUS_INVALID_VALUE";
    case QBLAS_STATUS_NOT_SUPPORTED: return "QBLAS_STATUS_NOT_SUPPORTED";
    case QBLAS_STATUS_INSUFFICIENT_WORKSPACE: return "QBLAS_STATUS_INSUFFICIENT_WORKSPACE";
    case QBLAS_STATUS_ARCH_MISMATCH: return "QBLAS_STATUS_ARCH_MISMATCH";
    case QBLAS_STATUS_ALLOC_FAILED: return "QBLAS_STATUS_ALLOC_FAILED";
    case QBLAS_STATUS_EXECUTION_FAILED: return "QBLAS_STATUS_EXECUTION_FAILED";
    case QBLAS_STATUS_INTERNAL_ERROR: return "QBLAS_STATUS_INTERNAL_ERROR";
    }
    return "QBLAS_STATUS_UNKNOWN";
}

/* Errors of host-only calls (no handle) are kept per thread. */
static _Thread_local char tls_error[QB_ERRMSG_MAX];

qblas_status_t qb_fail(qblas_handle_t h, qblas_status_t st, const char *fmt, ...)
{
    char *buf = h ? h->last_error : tls_error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, QB_ERRMSG_MAX, fmt, ap);
    va_end(ap);
    return st;
}

void qb_clear_error(qblas_handle_t h)
{
    (h ? h->last_error : tls_error)[0] = '\0';
}

const char *qblas_last_error(qblas_handle_t h) { return h ? h->last_error : tls_error; }

void qb_set_kernel(qblas_handle_t h, const char *name)
{
    snprintf(h->last_kernel, sizeof h->last_kernel, "%s", name);
}

void qb_kernel_info(qblas_kernel_info_t *info, size_t ws, const char *name)
{
    info->workspace_bytes = ws;
    snprintf(info->kernel_name, sizeof info->kernel_name, "%s", name);
}

qblas_status_t qblas_last_kernel(qblas_handle_t h, char *buf, size_t len)
{
    if (!h || !buf || len == 0) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "handle, buf or len is NULL/0");
    if (strlen(h->last_kernel) + 1 > len) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "buffer of %zu bytes too small", len);
    strcpy(buf, h->last_kernel);
    return QBLAS_STATUS_SUCCESS;
}

static int default_threads(void)
{
    const char *env = getenv("QBLAS_NUM_THREADS");
    if (env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*env && !*end && v >= 1 && v <= 1024) return (int)v;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 && n <= 1024 ? (int)n : 1;
}

int qblas_backend_available(qblas_backend_t b)
{
    if (b == QBLAS_BACKEND_AUTO) return 1; /* the CPU backend is always there */
    const qb_backend_ops *ops = qb_registry_find(b);
    return ops && qb_registry_usable(b);
}

qblas_status_t qblas_create(qblas_handle_t *out, qblas_backend_t backend, int device)
{
    if (!out) return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "qblas_create: out is NULL");
    *out = NULL;
    if (device < 0) return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "qblas_create: device %d < 0", device);
    if ((int)backend < QBLAS_BACKEND_AUTO || (int)backend > QBLAS_BACKEND_HIP)
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "qblas_create: unknown backend %d", (int)backend);
    if (backend == QBLAS_BACKEND_AUTO) backend = qb_registry_best();
    const qb_backend_ops *ops = qb_registry_find(backend);
    if (!ops)
        return qb_fail(NULL, QBLAS_STATUS_NOT_SUPPORTED, "qblas_create: backend %d is not compiled into this build",
                       (int)backend);
    qblas_handle_t h = calloc(1, sizeof *h);
    if (!h) return qb_fail(NULL, QBLAS_STATUS_ALLOC_FAILED, "qblas_create: out of memory");
    h->backend = backend;
    h->device = device;
    h->num_threads = default_threads();
    h->ops = ops;
    qblas_status_t st = ops->init ? ops->init(h) : QBLAS_STATUS_SUCCESS;
    if (st != QBLAS_STATUS_SUCCESS) {
        qb_fail(NULL, st, "qblas_create: %s backend: %s", ops->name, h->last_error);
        free(h);
        return st;
    }
    if ((st = qb_tuning_on_create(h)) != QBLAS_STATUS_SUCCESS) {
        /* a tuning file that was asked for and does not load fails loudly */
        qb_fail(NULL, st, "qblas_create: %s", h->last_error);
        qblas_destroy(h);
        return st;
    }
    *out = h;
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_destroy(qblas_handle_t h)
{
    if (!h) return QBLAS_STATUS_SUCCESS;
    if (h->ops->fini) h->ops->fini(h);
    qb_tuning_destroy(h->tuning);
    free(h);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_get_backend(qblas_handle_t h, qblas_backend_t *b)
{
    if (!h || !b) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "handle or backend is NULL");
    *b = h->backend;
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_set_num_threads(qblas_handle_t h, int n)
{
    if (!h) return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "handle is NULL");
    if (n < 1 || n > 1024) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "num_threads %d outside 1..1024", n);
    h->num_threads = n;
    qb_clear_error(h);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_get_num_threads(qblas_handle_t h, int *n)
{
    if (!h || !n) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "handle or num_threads is NULL");
    *n = h->num_threads;
    return QBLAS_STATUS_SUCCESS;
}
