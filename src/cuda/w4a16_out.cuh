/* w4a16_out.cuh - the epilogue's last step, shared by the GEMM kernels and
 * the split-K reductions (of every vendor: no instruction here): y[m, n] =
 * round_to_y_dtype(v + bias[n]), the sum in fp32 and one conversion (round
 * to nearest even), as the oracle does. */
#ifndef QBLAS_W4A16_OUT_CUH
#define QBLAS_W4A16_OUT_CUH

#include <type_traits>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "qblas/qblas_types.h"
#include "cuda_kernels.h"

namespace qb {

__device__ __forceinline__ float load_as_f32(int dtype, const void *p, long long i)
{
    if (dtype == QBLAS_DTYPE_F16) return __half2float(static_cast<const __half *>(p)[i]);
    if (dtype == QBLAS_DTYPE_BF16) return __bfloat162float(static_cast<const __nv_bfloat16 *>(p)[i]);
    return static_cast<const float *>(p)[i];
}

/* v stored as Y (the output's storage type), one RNE conversion. */
template <typename Y> __device__ __forceinline__ void put_y(Y *y, float v)
{
    if constexpr (std::is_same<Y, __half>::value)
        *y = __float2half_rn(v);
    else if constexpr (std::is_same<Y, __nv_bfloat16>::value)
        *y = __float2bfloat16_rn(v);
    else
        *y = v;
}

__device__ __forceinline__ void store_out(const qb_w4a16_kparams &p, int m, int n, float v)
{
    if (p.bias) v = __fadd_rn(v, load_as_f32(p.y_dtype, p.bias, n));
    const long long i = (long long)m * p.ldy + n;
    if (p.y_dtype == QBLAS_DTYPE_F16)
        static_cast<__half *>(p.y)[i] = __float2half_rn(v);
    else if (p.y_dtype == QBLAS_DTYPE_BF16)
        static_cast<__nv_bfloat16 *>(p.y)[i] = __float2bfloat16_rn(v);
    else
        static_cast<float *>(p.y)[i] = v;
}

} // namespace qb
#endif /* QBLAS_W4A16_OUT_CUH */
