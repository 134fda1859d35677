/* qb_hip_devlib.h - the device-library functions the shared kernels call,
 * for builds without the device library (QB_HIP_NOGPULIB: the gfx942 objects
 * of a Debian HIP 5.2 toolchain, compiled with clang -nogpulib, since HIP
 * 5.2's ROCm-Device-Libs have no gfx942 build). With a device library
 * (hipcc, a current ROCm) these are the library's own and nothing is defined.
 *
 * Only functions that a shared kernel really calls are here, each lowered to
 * the LLVM intrinsic the AMDGPU backend selects natively:
 *   logf   attn_merge.cu's / the decode kernel's lse = M + log(l)
 *          (attention's tolerance covers the ~1 ulp of v_log_f32);
 *   tanhf  the decode kernel's logit soft-cap (see below).
 * (docs/FORMATS.md, "Attention" tolerances.)
 * A missing one shows as an "undefined hidden symbol: __ocml_..." link error
 * of the device code, never as a wrong result. */
#ifndef QBLAS_HIP_DEVLIB_H
#define QBLAS_HIP_DEVLIB_H

#if defined(QB_HIP_NOGPULIB) && defined(__HIP_DEVICE_COMPILE__)
extern "C" __device__ __attribute__((weak)) float __ocml_log_f32(float x) { return __builtin_logf(x); }
/* tanh(x) = sign(x) (1 - 2 / (e^(2|x|) + 1)): absolute error a few ulp of 1
 * (the cancellation near 0 is absolute, not relative), inside the soft-cap
 * term 6u(|x| + cap) of the attention tolerance once multiplied by cap;
 * e^(2|x|) overflowing to inf gives 1; NaN stays NaN. */
extern "C" __device__ __attribute__((weak)) float __ocml_tanh_f32(float x)
{
    const float e = __builtin_exp2f(2.0f * 1.4426950408889634f * __builtin_fabsf(x));
    return __builtin_copysignf(1.0f - 2.0f / (e + 1.0f), x);
}
#endif

#endif /* QBLAS_HIP_DEVLIB_H */
