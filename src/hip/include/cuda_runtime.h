/* cuda_runtime.h (HIP build) - the prelude of every HIP translation unit of
 * qblas (the build passes `-include cuda_runtime.h`, as nvcc includes the
 * real one implicitly and the simulator build includes its own): the HIP
 * runtime and device language, CUDA's runtime names mapped onto HIP
 * (cuda_runtime_api.h here), the HIP half of the vendor header
 * (qb_vendor_hip.h: wavefront width, shuffles, launch geometry and barriers
 * from the hardware) and, where the device library is absent, the few exact
 * math functions the kernels call (qb_hip_devlib.h). */
#ifndef QBLAS_HIP_CUDA_RUNTIME_H
#define QBLAS_HIP_CUDA_RUNTIME_H

#include "../hip_names.h" /* per-target names: before any qblas code */
#include "cuda_runtime_api.h"

#ifdef __cplusplus
#include <hip/hip_runtime.h>
#include <hip/hip_fp16.h>

#include "../qb_vendor_hip.h"
#include "../qb_hip_devlib.h"
#endif

#endif /* QBLAS_HIP_CUDA_RUNTIME_H */
