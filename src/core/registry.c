/* registry.c - the backends compiled into this build.
 *
 * AUTO prefers a GPU backend that has a usable device, then the CPU. GPU
 * backends register here when their folders are built (QBLAS_HAVE_CUDA /
 * QBLAS_HAVE_HIP, set by CMake); per-architecture kernel choice is each
 * backend's own registry. */
#include "registry.h"

#ifdef QBLAS_HAVE_CUDA
extern const qb_backend_ops qb_cuda_backend_ops;
int qb_cuda_device_count(void);
#endif
#ifdef QBLAS_HAVE_HIP
extern const qb_backend_ops qb_hip_backend_ops;
int qb_hip_device_count(void);
#endif

const qb_backend_ops *qb_registry_find(qblas_backend_t b)
{
    switch (b) {
    case QBLAS_BACKEND_CPU: return &qb_cpu_backend_ops;
#ifdef QBLAS_HAVE_CUDA
    case QBLAS_BACKEND_CUDA: return &qb_cuda_backend_ops;
#endif
#ifdef QBLAS_HAVE_HIP
    case QBLAS_BACKEND_HIP: return &qb_hip_backend_ops;
#endif
    default: return NULL;
    }
}

int qb_registry_usable(qblas_backend_t b)
{
    switch (b) {
    case QBLAS_BACKEND_CPU: return 1;
#ifdef QBLAS_HAVE_CUDA
    case QBLAS_BACKEND_CUDA: return qb_cuda_device_count() > 0;
#endif
#ifdef QBLAS_HAVE_HIP
    case QBLAS_BACKEND_HIP: return qb_hip_device_count() > 0;
#endif
    default: return 0;
    }
}

qblas_backend_t qb_registry_best(void)
{
    static const qblas_backend_t order[] = {QBLAS_BACKEND_CUDA, QBLAS_BACKEND_HIP};
    for (unsigned i = 0; i < sizeof order / sizeof order[0]; i++)
        if (qb_registry_find(order[i]) && qb_registry_usable(order[i])) return order[i];
    return QBLAS_BACKEND_CPU;
}
