/* qb_hip_devlib.h - the device-library functions the shared kernels call,
 * for builds without the device library (QB_HIP_NOGPULIB: the gfx942 objects
 * of a Debian HIP 5.2 toolchain, compiled with clang -nogpulib, since HIP
 * 5.2's ROCm-Device-Libs have no gfx942 build). With a device library
 * (hipcc, a current ROCm) these are the library's own and nothing is defined.
 *
 * Only functions that a shared kernel really calls are here, each lowered to
 * the LLVM intrinsic the AMDGPU backend selects natively:
 *   logf   attn_merge.cu's lse = M + log(l) (attention's tolerance covers
 *          the ~1 ulp of v_log_f32; docs/FORMATS.md).
 * A missing one shows as an "undefined hidden symbol: __ocml_..." link error
 * of the device code, never as a wrong result. */
#ifndef QBLAS_HIP_DEVLIB_H
#define QBLAS_HIP_DEVLIB_H

#if defined(QB_HIP_NOGPULIB) && defined(__HIP_DEVICE_COMPILE__)
extern "C" __device__ __attribute__((weak)) float __ocml_log_f32(float x) { return __builtin_logf(x); }
#endif

#endif /* QBLAS_HIP_DEVLIB_H */
