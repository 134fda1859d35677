/* cuda_bf16.h (HIP build) - CUDA's bfloat16 storage types and the
 * conversions the shared kernels use. HIP 5.2 has no __hip_bfloat16 (newer
 * ROCm does, but not with CUDA's names), so they are defined here on the
 * bit-exact conversions every backend shares (src/common/qblas_numeric.h:
 * RNE, NaN kept quiet), exactly the oracle's rounding. */
#ifndef QBLAS_HIP_CUDA_BF16_H
#define QBLAS_HIP_CUDA_BF16_H

#include <hip/hip_runtime.h>

#include "common/qblas_numeric.h"

struct __nv_bfloat16 {
    unsigned short __x;
};
struct alignas(4) __nv_bfloat162 {
    __nv_bfloat16 x, y;
};
static_assert(sizeof(__nv_bfloat16) == 2 && sizeof(__nv_bfloat162) == 4, "CUDA's sizes");

static __host__ __device__ inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short v) { return __nv_bfloat16{v}; }
static __host__ __device__ inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.__x; }
static __host__ __device__ inline float __bfloat162float(__nv_bfloat16 h) { return qb_bf16_to_f32(h.__x); }
static __host__ __device__ inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16{qb_f32_to_bf16(f)}; }
static __host__ __device__ inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
static __host__ __device__ inline __nv_bfloat162 __floats2bfloat162_rn(float lo, float hi)
{
    return __nv_bfloat162{__float2bfloat16_rn(lo), __float2bfloat16_rn(hi)};
}
static __host__ __device__ inline float2 __bfloat1622float2(__nv_bfloat162 h)
{
    return float2{__bfloat162float(h.x), __bfloat162float(h.y)};
}

#endif /* QBLAS_HIP_CUDA_BF16_H */
