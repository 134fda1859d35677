/* hip_runtime.cc - the HIP runtime's device queries on the simulated device
 * (the rest of HIP's names are the CUDA runtime's, src/sim/include/hip/
 * hip_runtime_api.h). The device is HIP's when it is an AMD one
 * (QBLAS_SIM_ARCH=gfx90a or gfx942), and then the CUDA names see none. */
#include <stdio.h>
#include <string.h>

#include "hip/hip_runtime_api.h"
#include "sim/sim_internal.h"

using qbsim::device;

extern "C" {

hipError_t hipGetDeviceCount(int *count)
{
    if (!count) return hipErrorInvalidValue;
    *count = device().amd ? 1 : 0;
    return hipSuccess;
}

hipError_t hipGetDevice(int *d)
{
    if (!d) return hipErrorInvalidValue;
    *d = 0;
    return device().amd ? hipSuccess : hipErrorNoDevice;
}

hipError_t hipSetDevice(int d) { return device().amd && d == 0 ? hipSuccess : hipErrorInvalidDevice; }

hipError_t hipGetDeviceProperties(hipDeviceProp_t *p, int d)
{
    if (!p) return hipErrorInvalidValue;
    if (!device().amd || d != 0) return hipErrorInvalidDevice;
    const qbsim::DeviceSpec &s = device();
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", s.name);
    /* as ROCm reports it: the target, then its features */
    snprintf(p->gcnArchName, sizeof p->gcnArchName, "%s:sramecc+:xnack-", s.arch);
    p->totalGlobalMem = s.global_bytes;
    p->sharedMemPerBlock = (size_t)s.smem_optin;
    p->warpSize = s.warp;
    p->maxThreadsPerBlock = 1024;
    p->multiProcessorCount = s.sms;
    p->l2CacheSize = s.l2_bytes;
    p->maxThreadsPerMultiProcessor = s.max_threads_per_sm;
    p->major = 9, p->minor = 0; /* gfx9 */
    p->clockRate = strcmp(s.arch, "gfx942") == 0 ? 2100000 : 1700000;
    return hipSuccess;
}

hipError_t hipDeviceGetAttribute(int *value, hipDeviceAttribute_t attr, int d)
{
    if (!value) return hipErrorInvalidValue;
    if (!device().amd || d != 0) return hipErrorInvalidDevice;
    switch (attr) {
    case hipDeviceAttributeMaxThreadsPerBlock: *value = 1024; return hipSuccess;
    case hipDeviceAttributeWarpSize: *value = device().warp; return hipSuccess;
    case hipDeviceAttributeMultiprocessorCount: *value = device().sms; return hipSuccess;
    case hipDeviceAttributeMaxSharedMemoryPerBlock: *value = device().smem_optin; return hipSuccess;
    }
    return hipErrorInvalidValue; /* an attribute this stand-in does not model */
}

} // extern "C"
