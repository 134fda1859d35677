/* cuda_fp16.h (simulator) - the half-precision storage types and the
 * conversions qblas's kernels use. Conversions are the instruction twins
 * (src/sim/twins: cvt.rn.f16.f32 and cvt.f32.f16), so the conformance
 * program checks them against a GPU like every other instruction. */
#ifndef QBSIM_CUDA_FP16_H
#define QBSIM_CUDA_FP16_H

#include <stdint.h>

#include "sim/twins/ptx_twins.h"
#include "cuda_runtime_api.h"

struct __half {
    unsigned short __x;
};
struct alignas(4) __half2 {
    __half x, y;
};
static_assert(sizeof(__half) == 2 && sizeof(__half2) == 4, "CUDA's sizes");

inline __half __ushort_as_half(unsigned short v) { return __half{v}; }
inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline float __half2float(__half h) { return qbsim::ptx::cvt_f32_f16(h.__x); }
inline __half __float2half_rn(float f) { return __half{qbsim::ptx::cvt_rn_f16_f32(f)}; }
inline __half __float2half(float f) { return __float2half_rn(f); }
inline __half2 __halves2half2(__half lo, __half hi) { return __half2{lo, hi}; }
inline __half2 __floats2half2_rn(float lo, float hi) { return __half2{__float2half_rn(lo), __float2half_rn(hi)}; }
inline __half2 __float2half2_rn(float f) { return __floats2half2_rn(f, f); }
inline float2 __half22float2(__half2 h) { return float2{__half2float(h.x), __half2float(h.y)}; }
inline float __low2float(__half2 h) { return __half2float(h.x); }
inline float __high2float(__half2 h) { return __half2float(h.y); }

#endif /* QBSIM_CUDA_FP16_H */
