/* hip_gemm_i8.hip - the i8 family's launchers (hip_gemm.cuh): INT8 (the
 * canonical weight), W4A8 (the packed u4 weight) and the 2:4 i8 weights'
 * dense path, for the three block shapes. gfx90a runs v_mfma_i32_16x16x16_i8,
 * gfx942 v_mfma_i32_16x16x32_i8 (the same k runs, hip_gemm.cuh). */
#include "hip_gemm.cuh"
#include "hip_launch.h"
#include "hip_launchers.h"

namespace qb {
namespace amd {

template <bool W4A8> struct I8Kernels {
    template <int SHAPE> static hipError_t run(const GemmArgs &a, int nrows, hipStream_t s)
    {
        QB_LAUNCH(gemm_grid<SHAPE>(a, nrows), QB_HIP_THREADS, 0, s, gemm_i8_kernel<SHAPE, W4A8>)(a);
        return hipGetLastError();
    }
};

} // namespace amd
} // namespace qb

using namespace qb::amd;

/* X rows of k bytes with k % 16 == 0 (the format's CUDA/HIP rule), or a
 * zero-padded copy: kx = k rounded up to 16. */
static int padded16(int k) { return (k + 15) / 16 * 16; }

extern "C" int QB_HIP_SYM(int8)(int shape, const qb_int8_kparams *p, void *stream)
{
    GemmArgs a = {};
    a.x = reinterpret_cast<const uint8_t *>(p->x), a.ldx = p->ldx;
    a.w = reinterpret_cast<const uint8_t *>(p->w), a.ldw = p->k;
    a.m = p->m, a.n = p->n, a.k = p->k, a.np = p->n, a.kt = (p->k + QB_HIP_BK - 1) / QB_HIP_BK;
    a.kx = a.kw = p->k;
    a.tiles_per_split = a.kt, a.splits = 1;
    a.sx = p->sx, a.sw = p->sw, a.sx_per_row = p->sx_per_row, a.sw_per_row = p->sw_per_row;
    a.zx = p->zx, a.colsum = p->colsum, a.verdict = p->zx ? p->verdict : nullptr;
    a.y = p->y, a.ldy = p->ldy, a.y_dtype = p->y_dtype, a.bias = p->bias;
    return by_shape<I8Kernels<false>>(shape, a, p->n, static_cast<hipStream_t>(stream));
}

extern "C" int QB_HIP_SYM(w4a8)(int shape, const qb_w4a8_kparams *p, void *stream)
{
    GemmArgs a = {};
    a.x = reinterpret_cast<const uint8_t *>(p->x), a.ldx = p->ldx;
    a.w = reinterpret_cast<const uint8_t *>(p->codes);
    a.m = p->m, a.n = p->n, a.k = p->k, a.np = p->np, a.kt = p->kt_total;
    a.kx = padded16(p->k);
    a.tiles_per_split = p->tiles_per_split, a.splits = p->splits;
    a.params = p->params, a.group_shift = p->group_shift;
    a.sx = p->sx, a.sx_per_row = p->sx_per_row, a.sw = p->s1, a.sw_per_row = 1;
    a.y = p->y, a.ldy = p->ldy, a.y_dtype = p->y_dtype, a.bias = p->bias;
    a.partial = p->partial, a.partial_ld = p->np;
    return by_shape<I8Kernels<true>>(shape, a, p->np, static_cast<hipStream_t>(stream));
}

/* 2:4 i8, dense path: vals = the decompressed weight [np][kt * 64]. */
extern "C" int QB_HIP_SYM(sp24_dense_i8)(int shape, const qb_sp24_kparams *p, void *stream)
{
    GemmArgs a = {};
    a.x = static_cast<const uint8_t *>(p->x), a.ldx = p->ldx;
    a.w = p->vals, a.ldw = (long long)p->kt * QB_HIP_BK;
    a.m = p->m, a.n = p->n, a.k = p->k, a.np = p->n, a.kt = p->kt;
    a.kx = padded16(p->k), a.kw = p->kt * QB_HIP_BK;
    a.tiles_per_split = p->kt, a.splits = 1;
    a.sx = p->sx, a.sw = p->sw, a.sx_per_row = p->sx_per_row, a.sw_per_row = p->sw_per_row;
    a.zx = p->zx, a.colsum = p->colsum, a.verdict = p->zx ? p->verdict : nullptr;
    a.y = p->y, a.ldy = p->ldy, a.y_dtype = p->y_dtype, a.bias = p->bias;
    return by_shape<I8Kernels<false>>(shape, a, p->n, static_cast<hipStream_t>(stream));
}
