/* cuda_fp16.h (HIP build) - HIP's own half type and conversions (hip_fp16.h
 * has CUDA's names: __half, __half2, __half2float, __float2half_rn, ...);
 * the shared kernels use only conversions, which are single instructions
 * (v_cvt_f32_f16, v_cvt_f16_f32 round to nearest even) and need no device
 * library. */
#ifndef QBLAS_HIP_CUDA_FP16_H
#define QBLAS_HIP_CUDA_FP16_H
#include <hip/hip_fp16.h>
#endif
