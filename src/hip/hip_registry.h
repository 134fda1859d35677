/* hip_registry.h - which AMD kernels each gfx target has (the HIP
 * counterpart of src/cuda/cuda_registry.c): one entry per target, found by
 * the device's gcnArchName; each GEMM family lists its configurations, the
 * first whose max_m covers M being the default. Kernel names say the target
 * and the MFMA instruction (the C++ symbols do too: namespace qb_hip_<target>,
 * src/hip/hip_names.h). */
#ifndef QBLAS_HIP_REGISTRY_H
#define QBLAS_HIP_REGISTRY_H

#include <stddef.h>

#include "qblas/qblas_types.h"

typedef struct qb_hip_cfg {
    const char *name;
    qblas_wformat_t format;
    qblas_dtype_t act; /* the activation dtype the kernel takes */
    int shape;         /* QB_HIP_SHAPE_* (hip_kernels.h): m16, m64, m128 tokens x n128 */
    int max_m;         /* -1: any M */
} qb_hip_cfg;

typedef struct qb_hip_target {
    const char *name; /* "gfx90a", "gfx942" */
    int has_fp8;      /* fp8/bf8 MFMA (gfx942) */
    const qb_hip_cfg *const *cfgs; /* NULL-terminated */
} qb_hip_target;

/* The target of that name, or NULL (no code for it in this library). */
const qb_hip_target *qb_hip_target_find(const char *gfx);
/* The kernels of (format, act) on t: how many, the first cap in names. */
size_t qb_hip_target_kernels(const qb_hip_target *t, qblas_wformat_t f, qblas_dtype_t act, const char **names,
                             size_t cap);

/* Every configuration of the target gfx (fn per configuration; tests'
 * registry coverage, as qb_cuda_catalog): how many there are. */
int qb_hip_catalog(const char *gfx, void (*fn)(void *ctx, const char *family, const char *name), void *ctx);

#endif /* QBLAS_HIP_REGISTRY_H */
