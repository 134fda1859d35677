/* cuda_tuning.c - the CUDA backend's side of tuning files (src/core/tuning.c):
 * the identity a file must match, the W4A16 configurations a row may name,
 * and the lookup the W4A16 dispatcher makes before the registry defaults. */
#include <stdio.h>
#include <string.h>

#include "../core/tuning.h"
#include "cuda_backend.h"

/* The device name as the grammar allows it: printable ASCII, at most 63
 * bytes, no leading or trailing space (the same on writing and matching). */
static void clean_name(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    while (*src == ' ') src++;
    for (; *src && n + 1 < cap; src++) dst[n++] = (*src >= 0x20 && *src <= 0x7E) ? *src : '_';
    while (n > 0 && dst[n - 1] == ' ') n--;
    dst[n] = '\0';
    if (n == 0) snprintf(dst, cap, "unknown");
}

static void cuda_version(char *dst, size_t cap, int v) { snprintf(dst, cap, "%d.%d", v / 1000, (v % 1000) / 10); }

qblas_status_t qb_cuda_tuning_device(qblas_handle_t h, qblas_tuning_header_t *id)
{
    const qb_cuda_state *s = qb_cuda(h);
    struct cudaDeviceProp prop;
    int drv = 0, rt = 0;
    QB_CUDA_TRY(h, cudaGetDeviceProperties(&prop, s->device));
    QB_CUDA_TRY(h, cudaDriverGetVersion(&drv));
    QB_CUDA_TRY(h, cudaRuntimeGetVersion(&rt));
    clean_name(id->device, sizeof id->device, prop.name);
    id->cc = s->cc;
    id->sms = s->sms;
    cuda_version(id->driver, sizeof id->driver, drv);
    cuda_version(id->runtime, sizeof id->runtime, rt);
    return QBLAS_STATUS_SUCCESS;
}

size_t qb_cuda_tuning_kernels(qblas_handle_t h, qblas_wformat_t f, qblas_dtype_t act, const char **names, size_t cap)
{
    size_t n = 0;
    if (f != QBLAS_WFORMAT_W4A16) return 0; /* the only CUDA GEMM so far */
    for (const qb_cuda_w4a16_cfg *const *c = qb_cuda(h)->arch->w4a16; *c; c++) {
        if ((*c)->act != act) continue;
        if (n < cap) names[n] = (*c)->names[0][0];
        n++;
    }
    return n;
}

const qb_cuda_w4a16_cfg *qb_cuda_w4a16_tuned(qblas_handle_t h, qblas_dtype_t act, int64_t m, int64_t n, int64_t k)
{
    const qb_cuda_state *s = qb_cuda(h);
    const qblas_tuning_row_t *r = qb_tuning_find(h, QBLAS_WFORMAT_W4A16, act, m, n, k);
    const qb_cuda_w4a16_cfg *c = r ? qb_cuda_w4a16_find(s->arch, r->kernel) : NULL;
    /* the loader checked the name; shared memory is this device's to say */
    return c && c->act == act && qb_cuda_w4a16_smem(c) <= (size_t)s->smem_optin ? c : NULL;
}
