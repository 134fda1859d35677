/* hip/hip_fp16.h (simulator): HIP's half type has CUDA's names (__half,
 * __float2half_rn, ...); the simulator's are src/sim/include/cuda_fp16.h. */
#ifndef QBSIM_HIP_FP16_H
#define QBSIM_HIP_FP16_H
#include "../cuda_fp16.h"
#endif
