/* registry.h - which backends this build has and which one AUTO picks. */
#ifndef QBLAS_REGISTRY_H
#define QBLAS_REGISTRY_H
#include "qblas_internal.h"

const qb_backend_ops *qb_registry_find(qblas_backend_t b); /* NULL: not compiled in */
int qb_registry_usable(qblas_backend_t b);                  /* has a device to run on */
qblas_backend_t qb_registry_best(void);
#endif
