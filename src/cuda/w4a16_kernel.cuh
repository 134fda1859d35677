/* w4a16_kernel.cuh - the W4A16 tensor-core GEMM (sm_80+, mma.sync m16n8k16).
 *
 *   Y[m, n] = sum_k X[m, k] * W[n, k]   (+ bias[n]),   fp32 accumulation
 *
 * Block: 4 warps side by side along n (n256), MT m16 tiles along m, one
 * k split of the K range (grid z). Each warp owns n64 = eight n8 mma tiles
 * for every m16 tile, so its accumulators are acc[MT][8][4] floats.
 *
 * Pipeline: `stages` shared-memory buffers, each holding one k64 step:
 *   A  MT*16 rows x 64 halves, 16-byte chunks XOR-swizzled by (row & 7) so
 *      that the 8 row addresses of every ldmatrix phase hit 8 different
 *      bank groups (no conflicts), rows past M zero-filled by cp.async;
 *   B  the 8 KB packed tile (n256 x k64) exactly as prepack laid it out:
 *      warp w's lane l reads the 16 bytes at ((kk*4 + w)*32 + l)*16 for k16
 *      step kk, which are the nibbles of its own b fragments - no shuffles;
 *   S/Z the scales and zero points of the (at most two) groups the k64
 *      step touches: 32-wide groups give two per step, wider ones one.
 * cp.async keeps stages-1 steps in flight; weights carry an L2 evict-first
 * hint when a single block row reads them (small M), activations
 * evict-last (every block column rereads them).
 *
 * K tail: K is a multiple of 16, the packed K of 64; a k16 step at or past
 * K is skipped (the packed bytes there are padding and never used). N tail:
 * packed N is a multiple of 256; columns past N are computed from padding
 * and never stored. M tail: rows past M are zero-filled and never stored.
 */
#ifndef QBLAS_W4A16_KERNEL_CUH
#define QBLAS_W4A16_KERNEL_CUH

#include <type_traits>

#include "cuda_kernels.h"
#include "cuda_ptx.cuh"
#include "kernel_configs.h"
#include "qb_vendor.cuh"
#include "w4a16_dequant.cuh"
#include "w4a16_out.cuh"

namespace qb {

/* ---- loading one k64 step into a stage ---- */
template <int MT>
__device__ __forceinline__ void load_stage(const qb_w4a16_kparams &p, uint8_t *st, int kt, int nb, int m0, int tid,
                                           uint64_t pol_w, uint64_t pol_x)
{
    /* B: the block's 8 KB tile is contiguous; 4 chunks of 16 bytes per thread */
    const uint8_t *gb = static_cast<const uint8_t *>(p.codes) + ((size_t)nb * p.kt_total + kt) * QB_W4_TILE_BYTES;
    uint8_t *sb = st + QB_W4_A_BYTES(MT);
#pragma unroll
    for (int i = 0; i < QB_W4_TILE_BYTES / 16 / QB_W4_THREADS; ++i) {
        const int c = tid + i * QB_W4_THREADS;
        cp_async16(sb + c * 16, gb + c * 16, 16, pol_w);
    }
    /* A: row r, chunk c (8 halves) goes to chunk c ^ (r & 7) of row r */
    const uint16_t *x = static_cast<const uint16_t *>(p.x);
#pragma unroll
    for (int i = 0; i < MT; ++i) {
        const int c = tid + i * QB_W4_THREADS, row = c >> 3, ch = c & 7;
        const int m = m0 + row, k = kt * QB_W4_BK + ch * 8;
        const bool ok = m < p.m && k < p.k;
        const uint16_t *src = ok ? x + (long long)m * p.ldx + k : x;
        cp_async16(st + row * 128 + ((ch ^ (row & 7)) << 4), src, ok ? 16 : 0, pol_x);
    }
    /* groups: slot 0 holds the group of k = kt*64, slot 1 that of kt*64 + 32
     * when groups are 32 wide (and that k exists). Packed scales/zeros are
     * [group][np] in the per-thread order, so the block's 256 are contiguous. */
    const int esz = p.scale_dtype == QBLAS_DTYPE_F32 ? 4 : 2;
    const int s_chunks = QB_W4_BN * esz / 16;         /* 32 or 64: threads 0.. copy scales */
    const int z_first = QB_W4_THREADS - QB_W4_BN / 16; /* threads 112..127 copy the 16 chunks of zeros */
    const int nslots = (p.group_shift == 5 && kt * QB_W4_BK + 32 < p.k) ? 2 : 1;
    uint8_t *ss = sb + QB_W4_TILE_BYTES, *sz = ss + 2 * QB_W4_S_SLOT_BYTES;
    for (int slot = 0; slot < nslots; ++slot) {
        const size_t g = (size_t)((kt * QB_W4_BK + 32 * slot) >> p.group_shift);
        const size_t col0 = g * p.np + (size_t)nb * QB_W4_BN;
        if (tid < s_chunks)
            cp_async16(ss + slot * QB_W4_S_SLOT_BYTES + tid * 16,
                       static_cast<const uint8_t *>(p.scales) + col0 * esz + tid * 16, 16, pol_w);
        else if (p.zeros && tid >= z_first)
            cp_async16(sz + slot * QB_W4_Z_SLOT_BYTES + (tid - z_first) * 16, p.zeros + col0 + (tid - z_first) * 16,
                       16, pol_w);
    }
}

/* ---- this thread's zero points and scales for one group slot ----
 * Lane l (g = l / 4) of warp w uses columns w*64 + 8i + g, i = 0..7 (one per
 * n8 tile); prepack stored those 8 values next to each other. */
template <typename T, typename S>
__device__ __forceinline__ void load_group(const qb_w4a16_kparams &p, const uint8_t *ss, const uint8_t *sz, int idx,
                                           uint32_t (&zz)[8], S (&sc)[8])
{
    using TT = W4Type<T>;
    if (p.zeros) {
        const uint2 z = *reinterpret_cast<const uint2 *>(sz + idx * 8);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            const uint32_t zi = ((i < 4 ? z.x : z.y) >> (8 * (i & 3))) & 0xFFu;
            zz[i] = TT::kMagic | zi | (zi << 16);
        }
    } else {
#pragma unroll
        for (int i = 0; i < 8; ++i) zz[i] = TT::kMagic | 0x00080008u; /* symmetric: zero 8 */
    }
    if constexpr (std::is_same<S, uint32_t>::value) {
        /* native: the stored 16-bit scale, copied into both halves */
        const uint4 v = *reinterpret_cast<const uint4 *>(ss + idx * 16);
        const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int i = 0; i < 8; ++i) sc[i] = __byte_perm(w[i >> 1], 0, (i & 1) ? 0x3232 : 0x1010);
    } else if (p.scale_dtype == QBLAS_DTYPE_F32) {
        const float4 a = *reinterpret_cast<const float4 *>(ss + idx * 32);
        const float4 b = *reinterpret_cast<const float4 *>(ss + idx * 32 + 16);
        const float f[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
        for (int i = 0; i < 8; ++i) sc[i] = f[i];
    } else {
        /* 16-bit scales of the other type: widen exactly to fp32 */
        const uint4 v = *reinterpret_cast<const uint4 *>(ss + idx * 16);
        const uint32_t w[4] = {v.x, v.y, v.z, v.w};
        const bool f16 = p.scale_dtype == QBLAS_DTYPE_F16;
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            const uint32_t h = (w[i >> 1] >> (16 * (i & 1))) & 0xFFFFu;
            sc[i] = f16 ? __half2float(__ushort_as_half((unsigned short)h)) : __uint_as_float(h << 16);
        }
    }
}

/* ---- one k64 step from a stage ---- */
template <typename T, int MT, typename S>
__device__ __forceinline__ void compute_stage(const qb_w4a16_kparams &p, const uint8_t *st, int kt, int warp, int lane,
                                              float (&acc)[MT][8][4])
{
    using TT = W4Type<T>;
    const uint8_t *sb = st + QB_W4_A_BYTES(MT), *ss = sb + QB_W4_TILE_BYTES, *sz = ss + 2 * QB_W4_S_SLOT_BYTES;
    const int idx = warp * 8 + (lane >> 2);
    uint32_t zz[8];
    S sc[8];
    /* ldmatrix: lane l addresses row (l & 7) + 8 * ((l >> 3) & 1) of the m16
     * tile, k chunk (l >> 4) of the k16 step (matrices in a0a1, a2a3, a4a5,
     * a6a7 order: rows 0-7/8-15 x k 0-7, then k 8-15) */
    const int arow = (lane & 7) + 8 * ((lane >> 3) & 1), achunk = lane >> 4;
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
        if (kt * QB_W4_BK + kk * 16 >= p.k) break; /* K tail (block-uniform) */
        if (kk == 0 || (kk == 2 && p.group_shift == 5))
            load_group<T>(p, ss + (kk >> 1) * QB_W4_S_SLOT_BYTES, sz + (kk >> 1) * QB_W4_Z_SLOT_BYTES, idx, zz, sc);
        uint32_t a[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
            const int row = mt * 16 + arow, ch = kk * 2 + achunk;
            ldmatrix_x4(a[mt], st + row * 128 + ((ch ^ (row & 7)) << 4));
        }
        const uint4 q4 = *reinterpret_cast<const uint4 *>(sb + ((kk * 4 + warp) * 32 + lane) * 16);
        const uint32_t q[4] = {q4.x, q4.y, q4.z, q4.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            uint32_t b[4];
            dequant_word<T>(q[j], zz[2 * j], zz[2 * j + 1], sc[2 * j], sc[2 * j + 1], b);
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                TT::mma(acc[mt][2 * j], a[mt], b[0], b[1]);
                TT::mma(acc[mt][2 * j + 1], a[mt], b[2], b[3]);
            }
        }
    }
}

/* ---- epilogue: accumulator c0 c1 is row g, columns 2t, 2t+1 of its n8
 * tile; c2 c3 the same columns of row g + 8 ---- */
template <int MT>
__device__ __forceinline__ void epilogue(const qb_w4a16_kparams &p, const float (&acc)[MT][8][4], int m0, int nb,
                                         int split, int warp, int lane)
{
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int m = m0 + mt * 16 + g + 8 * h;
            if (m >= p.m) continue;
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                const int n = nb * QB_W4_BN + warp * QB_W4_WN + i * 8 + 2 * t;
                const float v0 = acc[mt][i][2 * h], v1 = acc[mt][i][2 * h + 1];
                if (p.splits > 1) {
                    /* padded columns too: np is even and rows are 8-byte aligned */
                    float *dst = p.partial + ((size_t)split * p.m + m) * p.np + n;
                    *reinterpret_cast<float2 *>(dst) = make_float2(v0, v1);
                } else {
                    if (n < p.n) store_out(p, m, n, v0);
                    if (n + 1 < p.n) store_out(p, m, n + 1, v1);
                }
            }
        }
}

template <typename T, int MT, bool NATIVE>
__global__ void __launch_bounds__(QB_W4_THREADS, MT == 1 ? 4 : MT == 2 ? 2 : 1)
w4a16_mma_kernel(const qb_w4a16_kparams p)
{
    using S = typename std::conditional<NATIVE, uint32_t, float>::type;
    QB_DYNAMIC_SMEM(uint8_t, smem, 128);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int m0 = blockIdx.x * 16 * MT, nb = blockIdx.y, split = blockIdx.z;
    const int kt0 = split * p.tiles_per_split;
    const int ntiles = min(p.tiles_per_split, p.kt_total - kt0); /* >= 1: the host never plans an empty split */
    const int stage_bytes = QB_W4_STAGE_BYTES(MT);
    const uint64_t pol_w = p.evict_first ? l2_evict_first() : l2_evict_normal();
    const uint64_t pol_x = l2_evict_last();

    float acc[MT][8][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
            for (int c = 0; c < 4; ++c) acc[mt][i][c] = 0.0f;

    /* prologue: steps 0 .. stages-2 in flight (one commit group each, empty
     * groups past the end keep the count uniform) */
    for (int s = 0; s < p.stages - 1; ++s) {
        if (s < ntiles) load_stage<MT>(p, smem + s * stage_bytes, kt0 + s, nb, m0, tid, pol_w, pol_x);
        cp_async_commit();
    }
    int rd = 0, wr = p.stages - 1;
    for (int t = 0; t < ntiles; ++t) {
        cp_async_wait_pending(p.stages - 2); /* this thread's copies of step t have landed */
        __syncthreads();                     /* everyone's have; and step t-1's buffer is free */
        if (t + p.stages - 1 < ntiles)
            load_stage<MT>(p, smem + wr * stage_bytes, kt0 + t + p.stages - 1, nb, m0, tid, pol_w, pol_x);
        cp_async_commit();
        compute_stage<T, MT, S>(p, smem + rd * stage_bytes, kt0 + t, warp, lane, acc);
        rd = rd + 1 == p.stages ? 0 : rd + 1;
        wr = wr + 1 == p.stages ? 0 : wr + 1;
    }
    cp_async_wait<0>();
    epilogue<MT>(p, acc, m0, nb, split, warp, lane);
}

/* ---- host side of one translation unit: T and NATIVE fixed, MT chosen ----
 * The instances are those of QB_W4A16_CONFIGS (kernel_configs.h) for T's
 * dtype: one per m16-tile count (the stage count is a kernel argument). */
template <typename T> constexpr int act_dtype() { return std::is_same<T, __half>::value ? QBLAS_DTYPE_F16 : QBLAS_DTYPE_BF16; }

template <typename T, bool NATIVE> static cudaError_t launch(int mt, const qb_w4a16_kparams *p, size_t smem, cudaStream_t s)
{
    const dim3 grid((unsigned)((p->m + 16 * mt - 1) / (16 * mt)), (unsigned)(p->np / QB_W4_BN), (unsigned)p->splits);
#define QB_W4A16_LAUNCH(name, a80, a89, a90, ACT, MT, ST)                                 \
    if constexpr (QBLAS_DTYPE_##ACT == act_dtype<T>()) {                                  \
        if (mt == MT) {                                                                   \
            QB_LAUNCH(grid, QB_W4_THREADS, smem, s, w4a16_mma_kernel<T, MT, NATIVE>)(*p); \
            return cudaGetLastError();                                                    \
        }                                                                                 \
    }
    QB_W4A16_CONFIGS(QB_W4A16_LAUNCH)
#undef QB_W4A16_LAUNCH
    return cudaErrorInvalidValue;
}

template <typename T, bool NATIVE> static cudaError_t prepare(int smem_max)
{
    cudaError_t e = cudaSuccess;
#define QB_W4A16_PREPARE(name, a80, a89, a90, ACT, MT, ST)                                              \
    if constexpr (QBLAS_DTYPE_##ACT == act_dtype<T>()) {                                                \
        if (e == cudaSuccess)                                                                           \
            e = cudaFuncSetAttribute(w4a16_mma_kernel<T, MT, NATIVE>,                                   \
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, smem_max);            \
    }
    QB_W4A16_CONFIGS(QB_W4A16_PREPARE)
#undef QB_W4A16_PREPARE
    return e;
}

} // namespace qb
#endif /* QBLAS_W4A16_KERNEL_CUH */
