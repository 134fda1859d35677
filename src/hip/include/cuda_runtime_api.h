/* cuda_runtime_api.h (HIP build) - the CUDA runtime names that the shared
 * kernel sources and their launch interfaces (src/cuda/cuda_kernels.h,
 * kernels_*.h) use, mapped onto the HIP runtime, as ggml's vendors/hip.h
 * maps ggml-cuda onto HIP. HIP builds put src/hip/include ahead of every
 * other include directory (as src/sim/include does for the simulator), so a
 * shared source compiled for gfx90a / gfx942 declares and returns HIP types:
 * `cudaError_t qb_qact_launch(...)` is a hipError_t function there.
 *
 * C and C++: the HIP backend's host code (src/hip/hip_*.c, plain C) reads
 * the kernels' parameter structs through the same headers. Only names the
 * shared code uses are mapped; HIP host code itself calls hip* directly. */
#ifndef QBLAS_HIP_CUDA_RUNTIME_API_H
#define QBLAS_HIP_CUDA_RUNTIME_API_H

#ifndef __HIP_PLATFORM_AMD__
#define __HIP_PLATFORM_AMD__ 1
#endif
#include <hip/hip_runtime_api.h>

#define QBLAS_HIP_RUNTIME 1 /* the CUDA names below are HIP's */

/* On the simulated device (src/sim/include/hip) the HIP names are the
 * simulator's CUDA ones already: nothing to map. */
#if !defined(QBSIM_HIP)

#define cudaError_t hipError_t
#define cudaStream_t hipStream_t
#define cudaSuccess hipSuccess
#define cudaErrorInvalidValue hipErrorInvalidValue
#define cudaErrorInvalidDeviceFunction hipErrorInvalidDeviceFunction
#define cudaErrorNoKernelImageForDevice hipErrorNoBinaryForGpu
#define cudaGetLastError hipGetLastError
#define cudaMemsetAsync hipMemsetAsync
#define cudaMemcpyAsync hipMemcpyAsync
#define cudaFuncAttributeMaxDynamicSharedMemorySize hipFuncAttributeMaxDynamicSharedMemorySize

#ifdef __cplusplus
/* a kernel's dynamic shared memory limit (LDS on AMD) */
template <class F> static inline hipError_t cudaFuncSetAttribute(F *f, hipFuncAttribute a, int v)
{
    return hipFuncSetAttribute(reinterpret_cast<const void *>(f), a, v);
}
#endif

#endif /* !QBSIM_HIP */

#endif /* QBLAS_HIP_CUDA_RUNTIME_API_H */
