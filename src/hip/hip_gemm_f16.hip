/* hip_gemm_f16.hip - the f16 family's launchers (hip_gemm.cuh): W4A16 and
 * the 2:4 f16/bf16 weights' dense path, for the three block shapes. */
#include "hip_gemm.cuh"
#include "hip_launch.h"
#include "hip_launchers.h"

namespace qb {
namespace amd {

template <bool BF16, bool U4> struct F16Kernels {
    template <int SHAPE> static hipError_t run(const GemmArgs &a, int nrows, hipStream_t s)
    {
        QB_LAUNCH(gemm_grid<SHAPE>(a, nrows), QB_HIP_THREADS, 0, s, gemm_f16_kernel<SHAPE, BF16, U4>)(a);
        return hipGetLastError();
    }
};

template <bool U4> hipError_t launch_f16(int shape, int act, const GemmArgs &a, int nrows, hipStream_t s)
{
    if (act == QBLAS_DTYPE_BF16) return by_shape<F16Kernels<true, U4>>(shape, a, nrows, s);
    if (act == QBLAS_DTYPE_F16) return by_shape<F16Kernels<false, U4>>(shape, a, nrows, s);
    return hipErrorInvalidValue;
}

} // namespace amd
} // namespace qb

using namespace qb::amd;

extern "C" int QB_HIP_SYM(w4a16)(int shape, int act, const qb_w4a16_kparams *p, void *stream)
{
    GemmArgs a = {};
    a.x = static_cast<const uint8_t *>(p->x), a.ldx = p->ldx * 2;
    a.w = static_cast<const uint8_t *>(p->codes);
    a.m = p->m, a.n = p->n, a.k = p->k, a.np = p->np, a.kt = p->kt_total;
    a.kx = p->k * 2; /* k % 16 == 0: whole runs */
    a.tiles_per_split = p->tiles_per_split, a.splits = p->splits;
    a.scales = p->scales, a.zeros = p->zeros, a.scale_dtype = p->scale_dtype, a.group_shift = p->group_shift;
    a.group_max = (p->group_shift >= 30 ? 1 : p->k >> p->group_shift) - 1;
    a.y = p->y, a.ldy = p->ldy, a.y_dtype = p->y_dtype, a.bias = p->bias;
    a.partial = p->partial, a.partial_ld = p->np;
    return launch_f16<true>(shape, act, a, p->np, static_cast<hipStream_t>(stream));
}

/* 2:4 f16/bf16, dense path: vals = the decompressed weight [np][kt * 64];
 * X rows of k elements (the host stages X when k % 16 != 0). */
extern "C" int QB_HIP_SYM(sp24_dense_f16)(int shape, int act, const qb_sp24_kparams *p, void *stream)
{
    GemmArgs a = {};
    a.x = static_cast<const uint8_t *>(p->x), a.ldx = p->ldx * 2;
    a.w = p->vals, a.ldw = (long long)p->kt * QB_HIP_BK * 2;
    a.m = p->m, a.n = p->n, a.k = p->k, a.np = p->n, a.kt = p->kt;
    a.kx = (p->k + 15) / 16 * 32, a.kw = p->kt * QB_HIP_BK * 2;
    a.tiles_per_split = p->kt, a.splits = 1;
    a.y = p->y, a.ldy = p->ldy, a.y_dtype = p->y_dtype, a.bias = p->bias;
    return launch_f16<false>(shape, act, a, p->n, static_cast<hipStream_t>(stream));
}
