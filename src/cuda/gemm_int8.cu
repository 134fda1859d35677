/* gemm_int8.cu - the W8A8 INT8 GEMM kernels (int8_kernel.cuh) for the
 * configurations of QB_INT8_CONFIGS (kernel_configs.h: only these are
 * built), and the weight column sums that the zero-point correction needs
 * (with the zero points' check). */
#include "dev_check.cuh"
#include "int8_kernel.cuh"
#include "kernel_configs.h"
#include "qb_vendor.cuh"

namespace {

/* colsum[n] = sum_k W[n, k], exact int32 (|.| <= 128 * 65536): a warp per
 * row, 16 bytes per lane per step (k % 16 == 0, rows 16-byte aligned). The
 * last block checks the zero points instead (one launch less per call). */
constexpr int CS_THREADS = 256, CS_WARPS = CS_THREADS / QB_WARP_SIZE;

__global__ void __launch_bounds__(CS_THREADS) colsum_kernel(const int8_t *w, int n, int k, int32_t *out,
                                                            const int32_t *zx, int m, unsigned long long *verdict,
                                                            unsigned long long *status)
{
    if (blockIdx.x == gridDim.x - 1) {
        qb::check_i8_zeros_block<CS_THREADS>(zx, m, verdict, status);
        return;
    }
    const int lane = threadIdx.x % QB_WARP_SIZE;
    const int row = blockIdx.x * CS_WARPS + threadIdx.x / QB_WARP_SIZE;
    if (row >= n) return;
    const int4 *r = reinterpret_cast<const int4 *>(w + (long long)row * k);
    int sum = 0;
    for (int i = lane; i < k / 16; i += QB_WARP_SIZE) {
        const int4 v = r[i];
        const int words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) sum = __dp4a(words[j], 0x01010101, sum); /* sum of 4 signed bytes */
    }
#pragma unroll
    for (int o = QB_WARP_SIZE / 2; o > 0; o >>= 1) sum += QB_SHFL_XOR(sum, o);
    if (lane == 0) out[row] = sum;
}

} // namespace

extern "C" cudaError_t qb_int8_launch(int bm, int bn, int stages, const qb_int8_kparams *p, cudaStream_t s)
{
    const dim3 grid((unsigned)((p->m + bm - 1) / bm), (unsigned)((p->n + bn - 1) / bn));
    const int smem = stages * QB_I8_STAGE_BYTES(bm, bn);
#define QB_I8_LAUNCH(name, a80, a89, a90, BM, BN, ST, WM, WN, MT, NT)                         \
    if (bm == BM && bn == BN && stages == ST) {                                               \
        QB_LAUNCH(grid, QB_I8_THREADS, smem, s, qb::int8_mma_kernel<WM, WN, MT, NT, ST>)(*p); \
        return cudaGetLastError();                                                            \
    }
    QB_INT8_CONFIGS(QB_I8_LAUNCH)
#undef QB_I8_LAUNCH
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t qb_int8_prepare(int smem_max)
{
    cudaError_t e = cudaSuccess;
#define QB_I8_PREPARE(name, a80, a89, a90, BM, BN, ST, WM, WN, MT, NT)                                     \
    if (e == cudaSuccess)                                                                                  \
        e = cudaFuncSetAttribute(qb::int8_mma_kernel<WM, WN, MT, NT, ST>,                                  \
                                 cudaFuncAttributeMaxDynamicSharedMemorySize, smem_max);
    QB_INT8_CONFIGS(QB_I8_PREPARE)
#undef QB_I8_PREPARE
    return e;
}

extern "C" cudaError_t qb_int8_colsum(const int8_t *w, int n, int k, int32_t *out, const int32_t *zx, int m,
                                      unsigned long long *verdict, unsigned long long *status, cudaStream_t s)
{
    QB_LAUNCH((unsigned)((n + CS_WARPS - 1) / CS_WARPS + 1), CS_THREADS, 0, s, colsum_kernel)(w, n, k, out, zx, m,
                                                                                       verdict, status);
    return cudaGetLastError();
}
