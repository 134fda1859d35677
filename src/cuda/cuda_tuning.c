/* cuda_tuning.c - the CUDA backend's side of tuning files (src/core/tuning.c):
 * the identity a file must match and the configurations a row may name
 * (the selector, cuda_registry.c, looks the rows up). */
#include <stdio.h>
#include <string.h>

#include "../core/tuning.h"
#include "cuda_backend.h"

static void cuda_version(char *dst, size_t cap, int v) { snprintf(dst, cap, "%d.%d", v / 1000, (v % 1000) / 10); }

qblas_status_t qb_cuda_tuning_device(qblas_handle_t h, qblas_tuning_header_t *id)
{
    const qb_cuda_state *s = qb_cuda(h);
    struct cudaDeviceProp prop;
    int drv = 0, rt = 0;
    QB_CUDA_TRY(h, cudaGetDeviceProperties(&prop, s->device));
    QB_CUDA_TRY(h, cudaDriverGetVersion(&drv));
    QB_CUDA_TRY(h, cudaRuntimeGetVersion(&rt));
    qb_tuning_device_name(id->device, sizeof id->device, prop.name);
    id->cc = s->cc;
    id->sms = s->sms;
    cuda_version(id->driver, sizeof id->driver, drv);
    cuda_version(id->runtime, sizeof id->runtime, rt);
    return QBLAS_STATUS_SUCCESS;
}

/* The configurations a row of key's kind may name: the families' (and
 * dtypes') the row's calls select among. 2:4 rows are keyed by the
 * activation dtype: fp8 activations run weights of either fp8 dtype. */
size_t qb_cuda_tuning_kernels(qblas_handle_t h, const qblas_tuning_entry_t *key, const char **names, size_t cap)
{
    const qb_cuda_arch *arch = qb_cuda(h)->arch;
    qb_cuda_need need = {.dtype = QB_DTYPE_ANY, .variant = -1};
    if (key->op == QBLAS_TUNING_ATTN_DECODE || key->op == QBLAS_TUNING_ATTN_PREFILL) {
        need.fam = key->op == QBLAS_TUNING_ATTN_DECODE ? QB_FAM_ATTN_DECODE : QB_FAM_ATTN_PREFILL;
        return qb_cuda_cfg_names(arch, &need, names, cap);
    }
    switch (key->format) {
    case QBLAS_WFORMAT_W4A16: need.fam = QB_FAM_W4A16, need.dtype = key->act; break;
    case QBLAS_WFORMAT_INT8: need.fam = QB_FAM_INT8; break;
    case QBLAS_WFORMAT_FP8:
        if (key->act == QBLAS_DTYPE_E4M3FNUZ) return 0; /* no NVIDIA tensor-core type */
        need.fam = QB_FAM_FP8;
        break;
    case QBLAS_WFORMAT_W4A8: need.fam = QB_FAM_W4A8; break;
    default:
        need.fam = QB_FAM_SPARSE24;
        if (key->act == QBLAS_DTYPE_E4M3 || key->act == QBLAS_DTYPE_E5M2) {
            need.dtype = QBLAS_DTYPE_E4M3;
            size_t n = qb_cuda_cfg_names(arch, &need, names, cap), used = n < cap ? n : cap;
            need.dtype = QBLAS_DTYPE_E5M2;
            return n + qb_cuda_cfg_names(arch, &need, cap ? names + used : names, cap - used);
        }
        need.dtype = key->act;
        break;
    }
    return qb_cuda_cfg_names(arch, &need, names, cap);
}
