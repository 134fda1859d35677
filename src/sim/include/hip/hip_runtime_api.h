/* hip/hip_runtime_api.h (simulator) - the HIP runtime names the HIP backend
 * uses (host code in C, kernel launchers in C++), on the simulated device of
 * src/sim: the same runtime as the CUDA names (src/sim/runtime.cc), seen
 * through HIP's spellings, as HIP itself mirrors CUDA's API. The device
 * exists for these names only when it is an AMD one (QBLAS_SIM_ARCH=gfx90a
 * or gfx942): hipGetDeviceCount says 1 then, cudaGetDeviceCount 0.
 *
 * Only what qblas calls is here; a missing name is a compile error, never a
 * different behaviour. HIP's own types are the CUDA stand-ins under another
 * name (hipError_t is cudaError_t), so error codes and streams cross freely. */
#ifndef QBSIM_HIP_RUNTIME_API_H
#define QBSIM_HIP_RUNTIME_API_H

#include <stddef.h>

#include "../cuda_runtime_api.h" /* the simulator's runtime (explicit path: the HIP prelude shadows the name) */

#define QBSIM_HIP 1

typedef cudaError_t hipError_t;
typedef cudaStream_t hipStream_t;
typedef cudaEvent_t hipEvent_t;
typedef enum cudaFuncAttribute hipFuncAttribute;
typedef enum cudaMemcpyKind hipMemcpyKind;
typedef enum cudaStreamCaptureStatus hipStreamCaptureStatus;
#define hipStreamCaptureStatusNone cudaStreamCaptureStatusNone
#define hipStreamCaptureStatusActive cudaStreamCaptureStatusActive
#define hipStreamCaptureStatusInvalidated cudaStreamCaptureStatusInvalidated
/* the hipDeviceAttribute_t values qblas asks for (hipDeviceGetAttribute) */
typedef enum hipDeviceAttribute_t {
    hipDeviceAttributeMaxThreadsPerBlock = 1,
    hipDeviceAttributeWarpSize = 2,
    hipDeviceAttributeMultiprocessorCount = 3,
    hipDeviceAttributeMaxSharedMemoryPerBlock = 4,
} hipDeviceAttribute_t;

#define hipSuccess cudaSuccess
#define hipErrorInvalidValue cudaErrorInvalidValue
#define hipErrorInvalidDevice cudaErrorInvalidDevice
#define hipErrorInvalidDeviceFunction cudaErrorInvalidDeviceFunction
#define hipErrorNoBinaryForGpu cudaErrorNoKernelImageForDevice
#define hipErrorNoDevice cudaErrorNoDevice
#define hipErrorNotReady cudaErrorNotReady
#define hipErrorOutOfMemory cudaErrorMemoryAllocation
#define hipErrorInsufficientDriver cudaErrorInsufficientDriver
#define hipErrorStreamCaptureImplicit cudaErrorStreamCaptureImplicit
#define hipFuncAttributeMaxDynamicSharedMemorySize cudaFuncAttributeMaxDynamicSharedMemorySize
#define hipMemcpyHostToDevice cudaMemcpyHostToDevice
#define hipMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define hipMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define hipMemcpyDefault cudaMemcpyDefault
#define hipStreamNonBlocking cudaStreamNonBlocking

/* pointer attributes (hipPointerGetAttribute), HIP 5's enum values */
typedef void *hipDeviceptr_t;
typedef enum hipMemoryType { hipMemoryTypeHost, hipMemoryTypeDevice, hipMemoryTypeArray, hipMemoryTypeUnified } hipMemoryType;
typedef enum hipPointer_attribute {
    HIP_POINTER_ATTRIBUTE_MEMORY_TYPE = 2,
    HIP_POINTER_ATTRIBUTE_DEVICE_ORDINAL = 9,
} hipPointer_attribute;

/* hipDeviceProp_t: the fields qblas reads, named as in HIP's header */
typedef struct hipDeviceProp_t {
    char name[256];
    char gcnArchName[256]; /* "gfx942:sramecc+:xnack-" */
    size_t totalGlobalMem;
    size_t sharedMemPerBlock;
    int warpSize;
    int maxThreadsPerBlock;
    int multiProcessorCount;
    int l2CacheSize;
    int maxThreadsPerMultiProcessor;
    int major, minor;
    int clockRate; /* kHz */
} hipDeviceProp_t;

#ifdef __cplusplus
extern "C" {
#endif
/* src/sim/hip_runtime.cc */
hipError_t hipGetDeviceCount(int *count);
hipError_t hipGetDeviceProperties(hipDeviceProp_t *prop, int device);
hipError_t hipGetDevice(int *device);
hipError_t hipSetDevice(int device);
hipError_t hipDeviceGetAttribute(int *value, hipDeviceAttribute_t attr, int device);
#ifdef __cplusplus
}
#endif

/* the rest are the CUDA runtime's functions under HIP's names */
static inline hipError_t hipGetLastError(void) { return cudaGetLastError(); }
static inline hipError_t hipPeekAtLastError(void) { return cudaPeekAtLastError(); }
static inline const char *hipGetErrorString(hipError_t e) { return cudaGetErrorString(e); }
static inline const char *hipGetErrorName(hipError_t e) { return cudaGetErrorName(e); }
static inline hipError_t hipMalloc(void **p, size_t n) { return cudaMalloc(p, n); }
static inline hipError_t hipFree(void *p) { return cudaFree(p); }
static inline hipError_t hipHostMalloc(void **p, size_t n, unsigned flags)
{
    (void)flags;
    return cudaMallocHost(p, n);
}
static inline hipError_t hipHostFree(void *p) { return cudaFreeHost(p); }
static inline hipError_t hipMemcpy(void *d, const void *s, size_t n, hipMemcpyKind k) { return cudaMemcpy(d, s, n, k); }
static inline hipError_t hipMemcpyAsync(void *d, const void *s, size_t n, hipMemcpyKind k, hipStream_t st)
{
    return cudaMemcpyAsync(d, s, n, k, st);
}
static inline hipError_t hipMemset(void *p, int v, size_t n) { return cudaMemset(p, v, n); }
static inline hipError_t hipMemsetAsync(void *p, int v, size_t n, hipStream_t st) { return cudaMemsetAsync(p, v, n, st); }
static inline hipError_t hipDeviceSynchronize(void) { return cudaDeviceSynchronize(); }
static inline hipError_t hipStreamCreate(hipStream_t *s) { return cudaStreamCreate(s); }
static inline hipError_t hipStreamCreateWithFlags(hipStream_t *s, unsigned f) { return cudaStreamCreateWithFlags(s, f); }
static inline hipError_t hipStreamDestroy(hipStream_t s) { return cudaStreamDestroy(s); }
static inline hipError_t hipStreamSynchronize(hipStream_t s) { return cudaStreamSynchronize(s); }
static inline hipError_t hipStreamQuery(hipStream_t s) { return cudaStreamQuery(s); }
static inline hipError_t hipMemGetInfo(size_t *f, size_t *t) { return cudaMemGetInfo(f, t); }
static inline hipError_t hipRuntimeGetVersion(int *v) { return cudaRuntimeGetVersion(v); }
static inline hipError_t hipDriverGetVersion(int *v) { return cudaDriverGetVersion(v); }
/* the CUDA runtime's pointer attributes under HIP's per-attribute query */
static inline hipError_t hipPointerGetAttribute(void *data, hipPointer_attribute attr, hipDeviceptr_t p)
{
    struct cudaPointerAttributes at;
    const hipError_t e = cudaPointerGetAttributes(&at, p);
    if (e != hipSuccess) return e;
    if (attr == HIP_POINTER_ATTRIBUTE_MEMORY_TYPE) {
        /* unregistered host memory is host memory to HIP */
        *(hipMemoryType *)data = at.type == cudaMemoryTypeDevice ? hipMemoryTypeDevice : hipMemoryTypeHost;
        return hipSuccess;
    }
    if (attr == HIP_POINTER_ATTRIBUTE_DEVICE_ORDINAL) {
        *(int *)data = at.device;
        return hipSuccess;
    }
    return hipErrorInvalidValue;
}
static inline hipError_t hipStreamIsCapturing(hipStream_t s, hipStreamCaptureStatus *st)
{
    return cudaStreamIsCapturing(s, st);
}
static inline hipError_t hipFuncSetAttribute(const void *f, hipFuncAttribute a, int v)
{
    return cudaFuncSetAttribute(f, a, v);
}

#endif /* QBSIM_HIP_RUNTIME_API_H */
