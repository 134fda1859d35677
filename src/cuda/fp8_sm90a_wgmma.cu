/* fp8_sm90a_wgmma.cu - the extern "C" entry points of the sm_90a wgmma FP8
 * GEMM (kernels_fp8.h): the TMA descriptors, the persistent grid, and the
 * dispatch to the dtype pair's translation unit (fp8_sm90a_wgmma_<x>x<w>.cu).
 *
 * cuTensorMapEncodeTiled is a driver API function: it is looked up through
 * the runtime (cudaGetDriverEntryPoint[ByVersion]) so libqblas does not
 * link libcuda; only the driver headers are included here.
 */
#include <limits.h>
#include <stdint.h>

#include <cuda.h>
#include <cudaTypedefs.h>

#include "fp8_sm90a_wgmma.cuh"

namespace qb {
namespace fp8w {
QB_FP8_SM90A_PAIRS(QB_FP8_SM90A_EXTERN)

static PFN_cuTensorMapEncodeTiled_v12000 encode_fn()
{
    /* looked up once (thread-safe static initialization); NULL if the driver lacks it */
    static const PFN_cuTensorMapEncodeTiled_v12000 fn = []() -> PFN_cuTensorMapEncodeTiled_v12000 {
        void *f = nullptr;
        cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
#if CUDART_VERSION >= 12050
        cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q);
#else
        cudaError_t e = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &f, cudaEnableDefault, &q);
#endif
        if (e != cudaSuccess || q != cudaDriverEntryPointSuccess) {
            (void)cudaGetLastError(); /* do not leave a sticky-looking error for the next call */
            return nullptr;
        }
        return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
    }();
    return fn;
}

/* A [rows][k] byte matrix with row pitch ld as a 2D tensor (k innermost),
 * read in boxes of k128 x box_rows with the 128-byte swizzle; everything
 * outside rows x k (including columns k..ld-1) reads as zero. */
static bool make_map(CUtensorMap *map, const void *ptr, long long rows, long long k, long long ld, int box_rows)
{
    PFN_cuTensorMapEncodeTiled_v12000 enc = encode_fn();
    if (!enc) return false;
    const cuuint64_t dims[2] = {(cuuint64_t)k, (cuuint64_t)rows};
    const cuuint64_t strides[1] = {(cuuint64_t)ld};
    const cuuint32_t box[2] = {(cuuint32_t)BK, (cuuint32_t)box_rows};
    const cuuint32_t elem_strides[2] = {1, 1};
    return enc(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<void *>(ptr), dims, strides, box, elem_strides,
               CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
               CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

static bool is_fp8(int dt) { return dt == QBLAS_DTYPE_E4M3 || dt == QBLAS_DTYPE_E5M2; }

} // namespace fp8w
} // namespace qb

using namespace qb::fp8w;

extern "C" cudaError_t qb_fp8_sm90a_prepare(int smem_max)
{
    cudaError_t e = cudaSuccess;
#define QB_FP8_SM90A_PREP(XE5, WE5) \
    if (e == cudaSuccess) e = fp8_sm90a_attr<XE5, WE5>(smem_max);
    QB_FP8_SM90A_PAIRS(QB_FP8_SM90A_PREP)
#undef QB_FP8_SM90A_PREP
    return e;
}

extern "C" cudaError_t qb_fp8_sm90a_launch(int bm, const qb_fp8_kparams *p, cudaStream_t s)
{
    if (!p || bm <= 0 || bm % 64 != 0) return cudaErrorInvalidValue; /* a listed bm: fp8_sm90a_run */
    if (!is_fp8(p->x_dtype) || !is_fp8(p->w_dtype)) return cudaErrorInvalidValue;
    if (p->scales != QB_FP8_SCALES_OUTER && p->scales != QB_FP8_SCALES_BLOCK128) return cudaErrorInvalidValue;
    if (p->m < 0 || p->n < 0 || p->k <= 0 || p->ldy < p->n) return cudaErrorInvalidValue;
    if (p->m > INT_MAX - 256 || p->n > INT_MAX - 256) return cudaErrorInvalidValue; /* row/column indices + tile stay in int */
    if (!p->x || !p->w || !p->sx || !p->sw || !p->y) return cudaErrorInvalidValue;
    if (p->y_dtype != QBLAS_DTYPE_F16 && p->y_dtype != QBLAS_DTYPE_BF16 && p->y_dtype != QBLAS_DTYPE_F32)
        return cudaErrorInvalidValue;
    /* the kernel's own tail and TMA requirements (the host has checked them; a
     * violation here would be silent corruption, so refuse rather than trust) */
    if (p->k % 16 != 0 || p->ldx % 16 != 0 || p->ldx < p->k || p->kb != (p->k + BK - 1) / BK)
        return cudaErrorInvalidValue;
    if (reinterpret_cast<uintptr_t>(p->x) % 16 != 0 || reinterpret_cast<uintptr_t>(p->w) % 16 != 0)
        return cudaErrorInvalidValue;
    if (p->m == 0 || p->n == 0) return cudaSuccess;

    const long long tiles = (long long)((p->m + bm - 1) / bm) * ((p->n + BN - 1) / BN);
    if (tiles > INT_MAX) return cudaErrorInvalidValue;

    CUtensorMap tmx, tmw;
    if (!make_map(&tmx, p->x, p->m, p->k, p->ldx, bm) || !make_map(&tmw, p->w, p->n, p->k, p->k, BN))
        return cudaErrorInvalidValue;

    int dev = 0, sms = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e == cudaSuccess) e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    if (e != cudaSuccess) return e;
    const int grid = (int)(tiles < sms ? tiles : sms); /* persistent: one CTA per SM at most */

#define QB_FP8_SM90A_RUN(XE5, WE5)                                            \
    if (p->x_dtype == (XE5 ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3) &&          \
        p->w_dtype == (WE5 ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3))            \
        return fp8_sm90a_run<XE5, WE5>(bm, *p, tmx, tmw, grid, s);
    QB_FP8_SM90A_PAIRS(QB_FP8_SM90A_RUN)
#undef QB_FP8_SM90A_RUN
    return cudaErrorInvalidValue;
}
