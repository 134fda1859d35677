/* hip_prepack.hip - the AMD prepack kernels: canonical weights (docs/FORMATS.md)
 * -> the layouts the AMD GEMMs read (hip_kernels.h; docs/FORMATS.md, "HIP
 * (AMD) backend", layouts 32..35).
 *
 *   pack_u4           u4 codes -> the packed chunks (W4A16 and W4A8)
 *   pack_w4a8_params  W4A8 s2, z, s1 -> params [groups][np], s1 f32 [np]
 *   pack_rows         [rows][n] -> [rows][np] with padding (W4A16 scales, zeros)
 *   pack_fp8          OCP fp8 codes -> the FNUZ codes CDNA3's MFMA reads
 *   sp24_decompress   2:4 values + meta -> dense [np][kp] (fp8: FNUZ codes)
 *
 * Setup-time kernels, written to be simple: gather form, one thread per
 * output byte, word or element, each computed whole from the canonical
 * inputs, so no two threads write the same byte and the result does not
 * depend on the order the threads run in; grid-stride loops over 64-bit
 * index spaces, 256 threads a block. The work items are hip_prepack.h's
 * functions (tested on the host), every position hip_layout.h's.
 * The writers of checked formats pass the prepack's verdict first
 * (dev_check.cuh: a failed content check writes nothing; NULL: unchecked),
 * as the CUDA prepack's writers do. No host synchronization or allocation:
 * the launchers may be captured into a graph.
 */
#include <stdint.h>

#include "../cuda/dev_check.cuh" /* qb::dev_failed */
#include "../cuda/qb_vendor.cuh"
#include "common/qblas_numeric.h"
#include "hip_kernels.h"
#include "hip_launchers.h"
#include "hip_layout.h"
#include "hip_prepack.h"
#include "qblas/qblas_types.h"

namespace qb {
namespace amd {

constexpr int kPackThreads = 256;

/* Blocks for a grid-stride loop over `count` items: at least 1, at most
 * 65535 * 16 (the loops cover the rest). */
static unsigned pack_blocks(long long count)
{
    const long long b = (count + kPackThreads - 1) / kPackThreads;
    return (unsigned)(b < 1 ? 1 : b > 65535LL * 16 ? 65535LL * 16 : b);
}

__device__ __forceinline__ long long pack_first() { return (long long)blockIdx.x * kPackThreads + threadIdx.x; }
__device__ __forceinline__ long long pack_stride() { return (long long)gridDim.x * kPackThreads; }

/* One thread per (row r < np, k octet a < kt * 8): qb_amd_pack_u4_octet,
 * the four whole bytes of those eight codes. */
__global__ void __launch_bounds__(kPackThreads)
    pack_u4_kernel(const uint8_t *src, int n, int k, const int32_t *perm, int np, int kt, uint32_t pad, uint8_t *dst,
                   const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    const long long octets = (long long)kt * 8; /* per row */
    const long long total = (long long)np * octets;
    for (long long i = pack_first(); i < total; i += pack_stride())
        qb_amd_pack_u4_octet(src, n, k, perm, kt, pad, (int)(i / octets), (int)(i % octets), dst);
}

/* One thread per params element (g, col) of [groups][np]:
 * qb_amd_w4a8_param. s1_out (written by the g = 0 threads): the f16 channel
 * scales widened exactly, padding 0 (never stored). */
__global__ void __launch_bounds__(kPackThreads)
    pack_w4a8_params_kernel(const int8_t *s2, const uint8_t *z, const uint16_t *s1, int n, int groups, int g128,
                            int np, uint16_t *params, float *s1_out, const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    const long long total = (long long)groups * np;
    for (long long i = pack_first(); i < total; i += pack_stride()) {
        const int col = (int)(i % np), g = (int)(i / np);
        params[i] = qb_amd_w4a8_param(s2, z, n, g128, g, col);
        if (g == 0) s1_out[col] = col < n ? qb_f16_to_f32(s1[col]) : 0.0f;
    }
}

/* One thread per element (row, col) of [rows][np]: src[row][col], or pad for
 * col >= n. E: the element's size. */
template <typename E>
__global__ void __launch_bounds__(kPackThreads)
    pack_rows_kernel(const E *src, int rows, int n, int np, E pad, E *dst, const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    const long long total = (long long)rows * np;
    for (long long i = pack_first(); i < total; i += pack_stride()) {
        const int col = (int)(i % np);
        const long long row = i / np;
        dst[i] = col < n ? src[row * n + col] : pad;
    }
}

/* One thread per 4-byte word of the codes (the last one may be short: its
 * bytes past count are neither read nor written): qb_amd_fp8x4_to_fnuz, or a
 * copy (E4M3FNUZ: FNUZ already). Byte loads and stores: no alignment asked
 * of src or dst. */
__global__ void __launch_bounds__(kPackThreads)
    pack_fp8_kernel(const uint8_t *src, long long count, int convert, int e5m2, uint8_t *dst)
{
    const long long words = (count + 3) / 4;
    for (long long w = pack_first(); w < words; w += pack_stride()) {
        const long long b0 = 4 * w;
        const int nb = count - b0 < 4 ? (int)(count - b0) : 4;
        uint32_t v = 0;
        for (int b = 0; b < nb; ++b) v |= (uint32_t)src[b0 + b] << (8 * b);
        if (convert) v = qb_amd_fp8x4_to_fnuz(v, e5m2);
        for (int b = 0; b < nb; ++b) dst[b0 + b] = (uint8_t)(v >> (8 * b));
    }
}

/* One thread per dense group (r, j) of 4 elements of [np][kp]:
 * qb_amd_sp24_group, stored as ES aligned 32-bit words (kp % 4 == 0, dst
 * 4-byte aligned: the launcher checks). */
template <int ES>
__global__ void __launch_bounds__(kPackThreads)
    sp24_decompress_kernel(const void *vals, const uint8_t *meta, int fnuz, int e5m2, int n, int k, int np, int kp,
                           uint8_t *dst, const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    const int kpg = kp / 4;
    const long long total = (long long)np * kpg;
    for (long long i = pack_first(); i < total; i += pack_stride()) {
        const int r = (int)(i / kpg), j = (int)(i % kpg);
        uint32_t w[2];
        qb_amd_sp24_group(vals, meta, ES, fnuz, e5m2, n, k, r, j, w);
        uint32_t *out = reinterpret_cast<uint32_t *>(dst + ((long long)r * kp + 4 * j) * ES);
#pragma unroll
        for (int h = 0; h < ES; ++h) out[h] = w[h];
    }
}

} // namespace amd
} // namespace qb

using namespace qb::amd;

/* n, k >= 1; np: a multiple of 32 (whole chunks), >= n; kt * 64 >= k. */
extern "C" int QB_HIP_SYM(pack_u4)(const uint8_t *src, int n, int k, const int32_t *perm, int np, int kt,
                                   int pad_code, uint8_t *dst, const unsigned long long *verdict, void *stream)
{
    if (n < 1 || k < 1 || np < n || np % 32 || kt < 1 || (long long)kt * QB_HIP_BK < k || pad_code < 0 || pad_code > 15)
        return (int)hipErrorInvalidValue;
    const long long octets = (long long)np * kt * 8;
    QB_LAUNCH(pack_blocks(octets), kPackThreads, 0, static_cast<hipStream_t>(stream), pack_u4_kernel)(
        src, n, k, perm, np, kt, (uint32_t)pad_code, dst, verdict);
    return (int)hipGetLastError();
}

/* groups: K / 128 (g128) or 1 (per-channel: s2 unread, may be NULL). */
extern "C" int QB_HIP_SYM(pack_w4a8_params)(const int8_t *s2, const uint8_t *z, const uint16_t *s1, int n, int groups,
                                            int g128, int np, uint16_t *params, float *s1_out,
                                            const unsigned long long *verdict, void *stream)
{
    if (n < 1 || groups < 1 || np < n || (!g128 && groups != 1)) return (int)hipErrorInvalidValue;
    QB_LAUNCH(pack_blocks((long long)groups * np), kPackThreads, 0, static_cast<hipStream_t>(stream),
              pack_w4a8_params_kernel)(s2, z, s1, n, groups, g128, np, params, s1_out, verdict);
    return (int)hipGetLastError();
}

/* elem_bytes 1, 2 or 4; pad: the padding element's bits. */
extern "C" int QB_HIP_SYM(pack_rows)(const void *src, int rows, int n, int np, int elem_bytes, uint32_t pad, void *dst,
                                     const unsigned long long *verdict, void *stream)
{
    if (rows < 1 || n < 1 || np < n) return (int)hipErrorInvalidValue;
    const unsigned grid = pack_blocks((long long)rows * np);
    const hipStream_t s = static_cast<hipStream_t>(stream);
    switch (elem_bytes) {
    case 1:
        QB_LAUNCH(grid, kPackThreads, 0, s, pack_rows_kernel<uint8_t>)(static_cast<const uint8_t *>(src), rows, n, np,
                                                                       (uint8_t)pad, static_cast<uint8_t *>(dst),
                                                                       verdict);
        break;
    case 2:
        QB_LAUNCH(grid, kPackThreads, 0, s, pack_rows_kernel<uint16_t>)(static_cast<const uint16_t *>(src), rows, n,
                                                                        np, (uint16_t)pad,
                                                                        static_cast<uint16_t *>(dst), verdict);
        break;
    case 4:
        QB_LAUNCH(grid, kPackThreads, 0, s, pack_rows_kernel<uint32_t>)(static_cast<const uint32_t *>(src), rows, n,
                                                                        np, pad, static_cast<uint32_t *>(dst),
                                                                        verdict);
        break;
    default: return (int)hipErrorInvalidValue;
    }
    return (int)hipGetLastError();
}

/* src_dtype: E4M3, E5M2 (converted) or E4M3FNUZ (copied). dst may be src. */
extern "C" int QB_HIP_SYM(pack_fp8)(const uint8_t *src, long long count, int src_dtype, uint8_t *dst, void *stream)
{
    if (count < 1 || (src_dtype != QBLAS_DTYPE_E4M3 && src_dtype != QBLAS_DTYPE_E5M2 &&
                      src_dtype != QBLAS_DTYPE_E4M3FNUZ))
        return (int)hipErrorInvalidValue;
    QB_LAUNCH(pack_blocks((count + 3) / 4), kPackThreads, 0, static_cast<hipStream_t>(stream), pack_fp8_kernel)(
        src, count, src_dtype != QBLAS_DTYPE_E4M3FNUZ, src_dtype == QBLAS_DTYPE_E5M2, dst);
    return (int)hipGetLastError();
}

/* w_dtype: F16, BF16, I8, E4M3 or E5M2 (the 2:4 format's dtypes); k % 4 == 0;
 * kp (the dense row length: kt * 64 for the GEMM) >= k, kp % 4 == 0; np >= n;
 * dst 4-byte aligned. */
extern "C" int QB_HIP_SYM(sp24_decompress)(const void *vals, const uint8_t *meta, int w_dtype, int n, int k, int np,
                                           int kp, void *dst, const unsigned long long *verdict, void *stream)
{
    if (n < 1 || k < 4 || k % 4 || np < n || kp < k || kp % 4 || reinterpret_cast<uintptr_t>(dst) % 4)
        return (int)hipErrorInvalidValue;
    const unsigned grid = pack_blocks((long long)np * (kp / 4));
    const hipStream_t s = static_cast<hipStream_t>(stream);
    uint8_t *d = static_cast<uint8_t *>(dst);
    switch (w_dtype) {
    case QBLAS_DTYPE_F16:
    case QBLAS_DTYPE_BF16:
        QB_LAUNCH(grid, kPackThreads, 0, s, sp24_decompress_kernel<2>)(vals, meta, 0, 0, n, k, np, kp, d, verdict);
        break;
    case QBLAS_DTYPE_I8:
    case QBLAS_DTYPE_E4M3:
    case QBLAS_DTYPE_E5M2:
        QB_LAUNCH(grid, kPackThreads, 0, s, sp24_decompress_kernel<1>)(vals, meta, w_dtype != QBLAS_DTYPE_I8,
                                                                       w_dtype == QBLAS_DTYPE_E5M2, n, k, np, kp, d,
                                                                       verdict);
        break;
    default: return (int)hipErrorInvalidValue;
    }
    return (int)hipGetLastError();
}
