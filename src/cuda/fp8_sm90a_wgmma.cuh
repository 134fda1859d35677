/* fp8_sm90a_wgmma.cuh - the FP8 GEMM on Hopper (sm_90a): wgmma fed by TMA,
 * a producer/consumer warp-specialized pipeline, persistent CTAs.
 *
 *   P(m,n,kb) = sum of x*w over the 128-k block kb       wgmma, fp32 out
 *   OUTER:    S = sum over kb of P;  Y = ((S * sx) * sw) (+ bias)
 *   BLOCK128: acc = 0; for kb: acc = acc + ((P * sx(m,kb)) * sw(n,kb));  Y = acc (+ bias)
 *
 * Ideas (DeepGEMM's sm90 FP8 GEMM, CUTLASS's warp-specialized kernels):
 * TMA loads whole k128 tiles with one instruction and no address math in
 * the main loop; wgmma reads both operands straight from shared memory; one
 * producer thread keeps STAGES tiles in flight while 1 or 2 consumer
 * warpgroups run the tensor cores; setmaxnreg moves registers from the
 * producer warpgroup (40) to the consumers (232); CTAs are persistent (one
 * per SM) and walk the output tiles in a grouped order, so the epilogue of
 * one tile overlaps the producer's loads of the next and concurrent CTAs
 * share operand tiles in L2.
 *
 * Threads: warpgroup 0 is the producer (one elected thread issues TMA, the
 * others exit after giving up their registers); warpgroups 1..NC are the
 * consumers, consumer c owns rows 64c..64c+63 of the m(64*NC) x n128 tile.
 *
 * Shared memory (base rounded up to 1024 bytes, the 128-byte swizzle's
 * period): STAGES stages of [A: BM rows][B: 128 rows], each row one k128
 * slice of X or W (128 bytes), then full[STAGES] and empty[STAGES] mbarriers.
 * Swizzle: TMA (CU_TENSOR_MAP_SWIZZLE_128B) stores 16-byte chunk j of row r
 * at chunk j ^ (r % 8) of that row; wgmma's 128B-swizzle mode applies the
 * same XOR to address bits [4,7) from bits [7,10) of the final address. So a
 * K-major descriptor with start = tile + 32*kk (the kk-th k32 step), SBO =
 * 1024 (next 8-row group), LBO unused (a k32 step never leaves the 128-byte
 * row) reads logical chunks 2kk, 2kk+1 of every row: both sides agree
 * because every tile starts on a 1024-byte boundary (a host emulation of
 * both address maps agrees for every stage, k32 step and row).
 *
 * Pipeline: full[s] (count 1) completes when the producer's arrive.expect_tx
 * and the TMA bytes of stage s have all arrived; empty[s] (count 4*NC, one
 * arrival per consumer warp) completes when every consumer has finished the
 * wgmmas that read stage s. Producer and consumers walk the same sequence
 * of (stage, parity) over all k steps of all tiles of the CTA; the
 * producer's first pass waits on parity 1 of a fresh barrier, which
 * counts as already complete.
 *
 * Promotion: FP8 wgmma accumulates with less than fp32 precision (DeepSeek
 * measured about 14 bits), so each k128 stage is summed by 4 m64n128k32
 * wgmmas into fresh accumulators (scale-d = 0 on the first) and then added
 * into separate fp32 registers with ordinary instructions: BLOCK128 applies
 * the block's scales there, in the oracle's order with explicit
 * round-to-nearest intrinsics; OUTER adds P unscaled and scales in the
 * epilogue (the INT8 epilogue's order). The scales of a stage are loaded
 * before waiting on its data, so their latency hides behind the wait.
 *
 * Accumulator fragment of wgmma m64nN (f32): warp w of the warpgroup owns
 * rows 16w..16w+15; register 4j+q of lane l is row 16w + l/4 + 8*(q/2),
 * column 8j + 2*(l%4) + q%2 (the mma.sync m16n8 C layout, repeated per n8).
 *
 * Tails: TMA zero-fills rows past M or N and columns past K (the tensor
 * maps' extents are m, n and k, not ldx), so they add exact zeros. A k32
 * step wholly past K still runs: a branch between the wgmmas of a stage
 * makes ptxas fence each one (C7519), which costs more than the last
 * stage's few zero steps. Stores are masked to m < M, n < N; block scales
 * are read only for rows < M.
 *
 * Requirements (host-checked before launch): k % 16 == 0 and ldx % 16 == 0
 * (TMA global strides), x and w 16-byte aligned, dtypes E4M3 / E5M2.
 * The kernels compile to a trap outside sm_90a; the registry lists them
 * for sm_90a only.
 */
#ifndef QBLAS_FP8_SM90A_WGMMA_CUH
#define QBLAS_FP8_SM90A_WGMMA_CUH

#include <cuda.h> /* CUtensorMap (the type only: no driver calls here) */

#include "cuda_ptx.cuh" /* the mbarrier, TMA, setmaxnreg and wgmma wrappers */
#include "int8_kernel.cuh" /* put_y, load_as_f32, smem_u32 */
#include "kernel_configs.h"
#include "kernels_fp8.h"
#include "qb_vendor.cuh"

namespace qb {
namespace fp8w {

constexpr int BN = 128, BK = 128, WG_THREADS = 128;
constexpr int GROUP_M = 8; /* tile rows per raster group */

template <int NC> struct Cfg {
    static constexpr int BM = 64 * NC;
    static constexpr int THREADS = WG_THREADS * (NC + 1);
    static constexpr int A_BYTES = BM * BK, B_BYTES = BN * BK, STAGE = A_BYTES + B_BYTES;
    static constexpr int STAGES = NC == 2 ? 6 : 8; /* 192 KiB of tiles either way */
    /* 1024 bytes of alignment slack, the stages, 2 * STAGES mbarriers */
    static constexpr size_t SMEM = 1024 + (size_t)STAGES * STAGE + 2 * STAGES * 8;
    static_assert(A_BYTES % 1024 == 0 && STAGE % 1024 == 0, "tiles must start on the swizzle period");
};

/* Output tile `tile` of a tiles_m x tiles_n grid in grouped order: GROUP_M
 * tile rows at a time, column-major inside the group, so the CTAs running
 * at once share a few X row blocks and W column blocks. */
__host__ __device__ __forceinline__ void tile_coords(int tile, int tiles_m, int tiles_n, int &tm, int &tn)
{
    const int per_group = GROUP_M * tiles_n;
    const int g = tile / per_group, first = g * GROUP_M;
    const int gm = tiles_m - first < GROUP_M ? tiles_m - first : GROUP_M;
    const int r = tile - g * per_group;
    tm = first + r % gm;
    tn = r / gm;
}

/* Spin until the phase with parity `parity` of mbarrier bar has completed. */
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity)
{
    while (!mbar_try_wait(bar, parity)) {
    }
}

/* K-major operand in shared memory, 128-byte swizzle: start address,
 * LBO 0 (unused), SBO 1024 bytes between 8-row groups, layout type 1. */
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr)
{
    return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)(1024 >> 4) << 32) | (1ull << 62);
}

/* Rows r0 and r0 + 8 of this thread, columns n_base + 8j (+1), of a
 * promoted m64n128 accumulator: ((acc * sx) * sw) (OUTER) + bias -> Y. */
template <typename Y>
__device__ __forceinline__ void store_tile(const qb_fp8_kparams &p, const float (&acc)[64], int r0, int n_base)
{
    const bool outer = p.scales == QB_FP8_SCALES_OUTER;
    float sxr[2];
    int ok_row[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int r = r0 + 8 * h;
        ok_row[h] = r < p.m;
        sxr[h] = outer && ok_row[h] ? (p.sx_per_row ? p.sx[r] : p.sx[0]) : 1.0f;
    }
    /* a pair of columns is one aligned 2-element store when ldy and y allow it */
    const bool vec = (p.ldy % 2 == 0) && (reinterpret_cast<uintptr_t>(p.y) % (2 * sizeof(Y)) == 0);
    Y *const y = static_cast<Y *>(p.y);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
        const int n = n_base + 8 * j;
        if (n >= p.n) break; /* n grows with j */
        const bool ok1 = n + 1 < p.n;
        float sw[2], b[2];
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const bool ok = e == 0 || ok1;
            sw[e] = outer && ok ? (p.sw_per_row ? p.sw[n + e] : p.sw[0]) : 1.0f;
            b[e] = ok && p.bias ? load_as_f32(p.y_dtype, p.bias, n + e) : 0.0f;
        }
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            if (!ok_row[h]) continue;
            float v[2];
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                v[e] = acc[4 * j + 2 * h + e];
                if (outer) v[e] = __fmul_rn(__fmul_rn(v[e], sxr[h]), sw[e]);
                if (p.bias) v[e] = __fadd_rn(v[e], b[e]); /* no add without bias: -0 stays -0 */
            }
            Y *dst = y + (long long)(r0 + 8 * h) * p.ldy + n;
            if (vec && ok1) {
                if constexpr (std::is_same<Y, __half>::value)
                    *reinterpret_cast<__half2 *>(dst) = __halves2half2(__float2half_rn(v[0]), __float2half_rn(v[1]));
                else if constexpr (std::is_same<Y, __nv_bfloat16>::value)
                    *reinterpret_cast<__nv_bfloat162 *>(dst) =
                        __halves2bfloat162(__float2bfloat16_rn(v[0]), __float2bfloat16_rn(v[1]));
                else
                    *reinterpret_cast<float2 *>(dst) = make_float2(v[0], v[1]);
            } else {
                put_y(dst, v[0]);
                if (ok1) put_y(dst + 1, v[1]);
            }
        }
    }
}

/* One CTA per SM, looping over output tiles; see the file comment. */
template <int NC, bool XE5, bool WE5>
__global__ void __launch_bounds__(Cfg<NC>::THREADS, 1)
    fp8_sm90a_wgmma_kernel(const qb_fp8_kparams p, const __grid_constant__ CUtensorMap tmx,
                           const __grid_constant__ CUtensorMap tmw)
{
    QB_IF_SM90A {
        using C = Cfg<NC>;
        QB_DYNAMIC_SMEM(uint8_t, smem_raw, 16);
        const uint32_t base = (smem_u32(smem_raw) + 1023u) & ~1023u;
        const uint32_t bars = base + C::STAGES * C::STAGE; /* full[s], then empty[s] */
        const int wg = threadIdx.x / WG_THREADS;
        const int tiles_m = (p.m + C::BM - 1) / C::BM, tiles_n = (p.n + BN - 1) / BN;
        const int ntiles = tiles_m * tiles_n, ktiles = (p.k + BK - 1) / BK;

        if (threadIdx.x == 0) {
#pragma unroll
            for (int s = 0; s < C::STAGES; ++s) {
                mbar_init(bars + 8 * s, 1);
                mbar_init(bars + 8 * (C::STAGES + s), 4 * NC);
            }
            /* the barriers must be initialized before the async proxy (TMA) sees them */
            fence_mbarrier_init();
            fence_proxy_async_shared();
        }
        __syncthreads();

        if (wg == 0) {
            /* ---- producer ---- */
            setmaxnreg_dec<40>();
            if (threadIdx.x == 0) {
                tma_prefetch_desc(&tmx);
                tma_prefetch_desc(&tmw);
                int s = 0;       /* stage of the next k step ... */
                uint32_t ph = 0; /* ... and the parity of its use */
                for (int tile = blockIdx.x; tile < ntiles; tile += gridDim.x) {
                    int tm, tn;
                    tile_coords(tile, tiles_m, tiles_n, tm, tn);
                    for (int kt = 0; kt < ktiles; ++kt) {
                        const uint32_t full = bars + 8 * s, empty = bars + 8 * (C::STAGES + s);
                        mbar_wait(empty, ph ^ 1u); /* consumers released the previous use */
                        /* a box counts its full size, zero-filled parts included */
                        mbar_arrive_expect_tx(full, C::STAGE);
                        const uint32_t st = base + s * C::STAGE;
                        tma_load_2d(st, &tmx, full, kt * BK, tm * C::BM);
                        tma_load_2d(st + C::A_BYTES, &tmw, full, kt * BK, tn * BN);
                        if (++s == C::STAGES) s = 0, ph ^= 1u;
                    }
                }
            }
        } else {
            /* ---- consumers ---- */
            setmaxnreg_inc<232>();
            const int cw = wg - 1, warp = (threadIdx.x / QB_WARP_SIZE) % 4, lane = threadIdx.x % QB_WARP_SIZE;
            const bool block = p.scales == QB_FP8_SCALES_BLOCK128;
            float d[64], acc[64];
#pragma unroll
            for (int i = 0; i < 64; ++i) d[i] = 0.0f;
            int s = 0;       /* the producer's sequence of stages and parities */
            uint32_t ph = 0;
            for (int tile = blockIdx.x; tile < ntiles; tile += gridDim.x) {
                int tm, tn;
                tile_coords(tile, tiles_m, tiles_n, tm, tn);
                const int r0 = tm * C::BM + cw * 64 + warp * 16 + lane / 4; /* and r0 + 8 */
#pragma unroll
                for (int i = 0; i < 64; ++i) acc[i] = 0.0f;
                for (int kt = 0; kt < ktiles; ++kt) {
                    float sx0 = 0.0f, sx1 = 0.0f, sw = 0.0f;
                    if (block) { /* issued before the wait: the latency hides behind it */
                        sx0 = r0 < p.m ? __ldg(p.sx + (long long)r0 * p.kb + kt) : 0.0f;
                        sx1 = r0 + 8 < p.m ? __ldg(p.sx + (long long)(r0 + 8) * p.kb + kt) : 0.0f;
                        sw = __ldg(p.sw + (long long)tn * p.kb + kt);
                    }
                    mbar_wait(bars + 8 * s, ph);
                    const uint32_t st = base + s * C::STAGE;
                    const uint64_t da = smem_desc(st + cw * 64 * BK), db = smem_desc(st + C::A_BYTES);
                    fence_acc(d);
                    wgmma_fence();
#pragma unroll
                    for (int kk = 0; kk < BK / 32; ++kk) {
                        /* +32 bytes per k32 step = +2 in the descriptor's 16-byte address units */
                        wgmma_m64n128k32<XE5, WE5>(d, da + 2 * kk, db + 2 * kk, kk > 0 ? 1u : 0u);
                    }
                    wgmma_commit();
                    fence_acc(d);
                    wgmma_wait0();
                    fence_acc(d);
                    __syncwarp();
                    if (lane == 0) mbar_arrive(bars + 8 * (C::STAGES + s)); /* stage s may be refilled */
                    if (block) {
#pragma unroll
                        for (int i = 0; i < 64; ++i) {
                            const float sxr = (i & 2) ? sx1 : sx0; /* q = i % 4 >= 2: row r0 + 8 */
                            acc[i] = __fadd_rn(acc[i], __fmul_rn(__fmul_rn(d[i], sxr), sw));
                        }
                    } else {
#pragma unroll
                        for (int i = 0; i < 64; ++i) acc[i] = __fadd_rn(acc[i], d[i]);
                    }
                    if (++s == C::STAGES) s = 0, ph ^= 1u;
                }
                const int n_base = tn * BN + 2 * (lane % 4);
                if (p.y_dtype == QBLAS_DTYPE_F16)
                    store_tile<__half>(p, acc, r0, n_base);
                else if (p.y_dtype == QBLAS_DTYPE_BF16)
                    store_tile<__nv_bfloat16>(p, acc, r0, n_base);
                else
                    store_tile<float>(p, acc, r0, n_base);
            }
        }
    } else {
        __trap(); /* never launched: the registry lists these kernels for sm_90a only */
    }
}

/* The registry's configurations (QB_FP8_WGMMA_CONFIGS) are these kernels:
 * their stage counts and shared memory are the kernels' own constants. */
#define QB_FP8_WGMMA_CHECK(name, a80, a89, a90, bm_, st_)                                                 \
    static_assert(bm_ % 64 == 0 && Cfg<bm_ / 64>::BM == bm_ && Cfg<bm_ / 64>::STAGES == st_ &&            \
                      Cfg<bm_ / 64>::SMEM == QB_FP8_WGMMA_SMEM(bm_, st_),                                 \
                  #name ": kernel_configs.h disagrees with the kernel's Cfg");
QB_FP8_WGMMA_CONFIGS(QB_FP8_WGMMA_CHECK)
#undef QB_FP8_WGMMA_CHECK

/* Host side of one dtype pair (instantiated in fp8_sm90a_wgmma_<x>x<w>.cu). */
template <bool XE5, bool WE5>
cudaError_t fp8_sm90a_run(int bm, const qb_fp8_kparams &p, const CUtensorMap &tmx, const CUtensorMap &tmw, int grid,
                          cudaStream_t s)
{
#define QB_FP8_WGMMA_RUN(name, a80, a89, a90, BM, ST)                                                      \
    if (bm == BM) {                                                                                        \
        QB_LAUNCH(grid, Cfg<BM / 64>::THREADS, Cfg<BM / 64>::SMEM, s,                                      \
                  fp8_sm90a_wgmma_kernel<BM / 64, XE5, WE5>)(p, tmx, tmw);                                 \
        return cudaGetLastError();                                                                         \
    }
    QB_FP8_WGMMA_CONFIGS(QB_FP8_WGMMA_RUN)
#undef QB_FP8_WGMMA_RUN
    return cudaErrorInvalidValue;
}

/* Each configuration whose shared memory fits in smem_max may ask for it. */
template <bool XE5, bool WE5> cudaError_t fp8_sm90a_attr(int smem_max)
{
    cudaError_t e = cudaSuccess;
#define QB_FP8_WGMMA_ATTR(name, a80, a89, a90, BM, ST)                                                     \
    if (e == cudaSuccess && (size_t)smem_max >= Cfg<BM / 64>::SMEM)                                        \
        e = cudaFuncSetAttribute(fp8_sm90a_wgmma_kernel<BM / 64, XE5, WE5>,                                \
                                 cudaFuncAttributeMaxDynamicSharedMemorySize, (int)Cfg<BM / 64>::SMEM);
    QB_FP8_WGMMA_CONFIGS(QB_FP8_WGMMA_ATTR)
#undef QB_FP8_WGMMA_ATTR
    return e;
}

#define QB_FP8_SM90A_PAIRS(X) X(false, false) X(false, true) X(true, false) X(true, true)
#define QB_FP8_SM90A_EXTERN(XE5, WE5)                                                                                 \
    extern template cudaError_t fp8_sm90a_run<XE5, WE5>(int, const qb_fp8_kparams &, const CUtensorMap &,             \
                                                        const CUtensorMap &, int, cudaStream_t);                      \
    extern template cudaError_t fp8_sm90a_attr<XE5, WE5>(int);
#define QB_FP8_SM90A_INSTANTIATE(XE5, WE5)                                                                            \
    template cudaError_t fp8_sm90a_run<XE5, WE5>(int, const qb_fp8_kparams &, const CUtensorMap &,                    \
                                                 const CUtensorMap &, int, cudaStream_t);                             \
    template cudaError_t fp8_sm90a_attr<XE5, WE5>(int);

} // namespace fp8w
} // namespace qb
#endif /* QBLAS_FP8_SM90A_WGMMA_CUH */
