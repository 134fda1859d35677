/* hip_gemm_fp8.hip - the fp8 family's launchers (hip_gemm.cuh, gfx942 only:
 * gfx90a has no fp8 MFMA and its launchers answer hipErrorInvalidValue;
 * its registry lists no FP8 configuration). FP8 (the packed fnuz weight,
 * [n][k]) and the 2:4 fp8 weights' dense path ([np][kt * 64] fnuz codes),
 * for activations E4M3, E5M2 or E4M3FNUZ. */
#include "hip_gemm.cuh"
#include "hip_launch.h"
#include "hip_launchers.h"

namespace qb {
namespace amd {

template <int XT, bool WBF8> struct Fp8Kernels {
    template <int SHAPE> static hipError_t run(const GemmArgs &a, int nrows, hipStream_t s)
    {
        QB_LAUNCH(gemm_grid<SHAPE>(a, nrows), QB_HIP_THREADS, 0, s, gemm_fp8_kernel<SHAPE, XT, WBF8>)(a);
        return hipGetLastError();
    }
};

/* w_e5m2: the weight's canonical dtype was E5M2 (packed as E5M2FNUZ). */
template <bool WBF8> hipError_t by_x(int shape, int x_dtype, const GemmArgs &a, int nrows, hipStream_t s)
{
    switch (x_dtype) {
    case QBLAS_DTYPE_E4M3: return by_shape<Fp8Kernels<QBLAS_DTYPE_E4M3, WBF8>>(shape, a, nrows, s);
    case QBLAS_DTYPE_E5M2: return by_shape<Fp8Kernels<QBLAS_DTYPE_E5M2, WBF8>>(shape, a, nrows, s);
    case QBLAS_DTYPE_E4M3FNUZ: return by_shape<Fp8Kernels<QBLAS_DTYPE_E4M3FNUZ, WBF8>>(shape, a, nrows, s);
    default: return hipErrorInvalidValue;
    }
}

hipError_t launch_fp8(int shape, int x_dtype, int w_dtype, const GemmArgs &a, int nrows, hipStream_t s)
{
    if constexpr (!QB_HIP_GFX942) return hipErrorInvalidValue;
    return w_dtype == QBLAS_DTYPE_E5M2 ? by_x<true>(shape, x_dtype, a, nrows, s)
                                       : by_x<false>(shape, x_dtype, a, nrows, s);
}

/* OCP codes read as fnuz are worth half: one power of two per such operand. */
int exp2_adjust(int x_dtype, int w_dtype)
{
    return (x_dtype != QBLAS_DTYPE_E4M3FNUZ) + (w_dtype != QBLAS_DTYPE_E4M3FNUZ);
}

} // namespace amd
} // namespace qb

using namespace qb::amd;

extern "C" int QB_HIP_SYM(fp8)(int shape, const qb_fp8_kparams *p, void *stream)
{
    GemmArgs a = {};
    a.x = p->x, a.ldx = p->ldx;
    a.w = p->w, a.ldw = p->k;
    a.m = p->m, a.n = p->n, a.k = p->k, a.np = p->n, a.kt = (p->k + QB_HIP_BK - 1) / QB_HIP_BK;
    a.kx = a.kw = p->k; /* k % 16 == 0 */
    a.splits = p->splits, a.tiles_per_split = p->splits > 1 ? p->split_tiles : a.kt;
    a.sx = p->sx, a.sw = p->sw, a.sx_per_row = p->sx_per_row, a.sw_per_row = p->sw_per_row;
    a.block_scales = p->scales == QB_FP8_SCALES_BLOCK128, a.kb = p->kb;
    a.exp2_adjust = exp2_adjust(p->x_dtype, p->w_dtype);
    a.w_ocp = !p->w_fnuz && p->w_dtype != QBLAS_DTYPE_E4M3FNUZ;
    a.y = p->y, a.ldy = p->ldy, a.y_dtype = p->y_dtype, a.bias = p->bias;
    a.partial = p->partial, a.partial_ld = p->n;
    return launch_fp8(shape, p->x_dtype, p->w_dtype, a, p->n, static_cast<hipStream_t>(stream));
}

/* 2:4 fp8, dense path. w_dtype: the canonical weight dtype (E4M3 or E5M2). */
extern "C" int QB_HIP_SYM(sp24_dense_fp8)(int shape, int w_dtype, int x_dtype, int block_scales,
                                          const qb_sp24_kparams *p, void *stream)
{
    GemmArgs a = {};
    a.x = static_cast<const uint8_t *>(p->x), a.ldx = p->ldx;
    a.w = p->vals, a.ldw = (long long)p->kt * QB_HIP_BK;
    a.m = p->m, a.n = p->n, a.k = p->k, a.np = p->n, a.kt = p->kt;
    a.kx = (p->k + 15) / 16 * 16, a.kw = p->kt * QB_HIP_BK;
    a.tiles_per_split = p->kt, a.splits = 1;
    a.sx = p->sx, a.sw = p->sw, a.sx_per_row = p->sx_per_row, a.sw_per_row = p->sw_per_row;
    a.block_scales = block_scales, a.kb = p->kb;
    a.exp2_adjust = exp2_adjust(x_dtype, w_dtype);
    a.y = p->y, a.ldy = p->ldy, a.y_dtype = p->y_dtype, a.bias = p->bias;
    return launch_fp8(shape, x_dtype, w_dtype, a, p->n, static_cast<hipStream_t>(stream));
}
