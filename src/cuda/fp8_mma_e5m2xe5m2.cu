/* fp8_mma_e5m2xe5m2.cu - the mma.sync FP8 GEMM kernels (fp8_mma.cuh) for X e5m2 x W e5m2:
 * every configuration of QB_FP8_MMA_CONFIGS, both scale modes. One dtype
 * pair per file keeps each translation unit's compile time short. */
#include "fp8_mma.cuh"

QB_FP8_MMA_DEFINE(e5m2xe5m2, QBLAS_DTYPE_E5M2, QBLAS_DTYPE_E5M2)
