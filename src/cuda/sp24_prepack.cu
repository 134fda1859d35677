/* sp24_prepack.cu - the 2:4 prepack kernels: the meta check, the reorder of
 * canonical values + meta into the blob the GEMM reads (the layout is in
 * sp24_kernel.cuh's comment), and the i8 row sums for zero points. The
 * writers pass the check's verdict first (dev_check.cuh). */
#include "dev_check.cuh"
#include "kernels_sparse24.h"
#include "qb_vendor.cuh"

namespace {

constexpr int PK_THREADS = 256;

__device__ __forceinline__ int field_at(const uint8_t *meta, int mrow, int n, int kg, int row, int grp)
{
    /* padding rows and groups: field 0x4 (i0 = 0, i1 = 1) over zero values */
    if (row >= n || grp >= kg) return 0x4;
    return (meta[(long long)row * mrow + (grp >> 1)] >> ((grp & 1) * 4)) & 15;
}

__global__ void __launch_bounds__(PK_THREADS) check_kernel(const uint8_t *meta, int n, int k,
                                                           unsigned long long *verdict)
{
    const int kg = k / 4, mrow = (k + 7) / 8;
    const long long total = (long long)n * kg;
    for (long long i = blockIdx.x * (long long)PK_THREADS + threadIdx.x; i < total;
         i += (long long)gridDim.x * PK_THREADS) {
        const int row = (int)(i / kg), grp = (int)(i % kg);
        const int f = field_at(meta, mrow, n, kg, row, grp);
        if ((f & 3) >= (f >> 2)) /* the six valid fields have i0 < i1 */
            atomicMin(verdict, QB_DEV_RECORD(QB_DEV_SP24_META, (long long)row * mrow + (grp >> 1),
                                             (grp & 1) << 4 | f));
    }
}

/* One thread per (m16 tile, mma k step, lane): its 16 value bytes and its
 * metadata word (f16: lanes 0..15 write the 16 words; i8: all 32). */
__global__ void __launch_bounds__(PK_THREADS) pack_kernel(const uint8_t *vals, const uint8_t *meta, int es, int n,
                                                          int k, int np, int kt, uint8_t *dvals, uint8_t *dmeta,
                                                          const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    const int kg = k / 4, mrow = (k + 7) / 8, rowb = k / 2 * es; /* value bytes per canonical row */
    const int steps = kt * 2, kmma = es == 2 ? 32 : 64, meta_tile = QB_SP24_META_TILE(es);
    const long long total = (long long)(np / 16) * steps * 32;
    for (long long i = blockIdx.x * (long long)PK_THREADS + threadIdx.x; i < total;
         i += (long long)gridDim.x * PK_THREADS) {
        const int lane = (int)(i & 31), ks = (int)((i >> 5) % steps), mt = (int)((i >> 5) / steps);
        const int g = lane >> 2, t = lane & 3;
        /* blob position: (block, stage, tile in block, step in stage) */
        const long long tile = ((long long)(mt >> 3) * kt + (ks >> 1)) * 16 + (mt & 7) * 2 + (ks & 1);
        uint32_t r4[4];
        for (int r = 0; r < 4; ++r) {
            const int row = mt * 16 + g + 8 * (r & 1);
            /* first compressed column of the register: f16 group t (+4), i8 groups 2t, 2t+1 (+8) */
            const int c0 = ks * (kmma / 2) + t * (4 / es) + (kmma / 4) * (r >> 1);
            uint32_t w = 0;
            for (int b = 0; b < 4; ++b) {
                const int cb = c0 * es + b; /* byte within the canonical row */
                if (row < n && cb < rowb) w |= (uint32_t)vals[(long long)row * rowb + cb] << (8 * b);
            }
            r4[r] = w;
        }
        *reinterpret_cast<uint4 *>(dvals + tile * QB_SP24_TILE_BYTES + lane * 16) = make_uint4(r4[0], r4[1], r4[2], r4[3]);
        uint32_t word = 0;
        if (es == 2) {
            if (lane >= 16) continue;
            /* word 2g + h: row g (bits 0-15) and g + 8 (bits 16-31), groups 4h .. 4h+3 of the k32 step */
            const int gg = lane >> 1, h = lane & 1;
            for (int q = 0; q < 4; ++q) {
                const int grp = ks * 8 + 4 * h + q;
                word |= (uint32_t)field_at(meta, mrow, n, kg, mt * 16 + gg, grp) << (4 * q);
                word |= (uint32_t)field_at(meta, mrow, n, kg, mt * 16 + gg + 8, grp) << (16 + 4 * q);
            }
        } else {
            /* word l: row g + 8*(l&1), groups 8*((l>>1)&1) .. +7 of the k64 step */
            const int row = mt * 16 + g + 8 * (lane & 1);
            for (int q = 0; q < 8; ++q)
                word |= (uint32_t)field_at(meta, mrow, n, kg, row, ks * 16 + 8 * ((lane >> 1) & 1) + q) << (4 * q);
        }
        *reinterpret_cast<uint32_t *>(dmeta + tile * meta_tile + lane * 4) = word;
    }
}

/* A warp per row: the sum of its k/2 kept values (all others are zero). */
__global__ void __launch_bounds__(PK_THREADS) colsum_kernel(const int8_t *vals, int n, int k, int np, int32_t *out,
                                                            const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    const int lane = threadIdx.x % QB_WARP_SIZE;
    const int row = blockIdx.x * (PK_THREADS / QB_WARP_SIZE) + threadIdx.x / QB_WARP_SIZE;
    if (row >= np) return;
    int sum = 0;
    if (row < n)
        for (int c = lane; c < k / 2; c += QB_WARP_SIZE) sum += vals[(long long)row * (k / 2) + c];
#pragma unroll
    for (int o = QB_WARP_SIZE / 2; o > 0; o >>= 1) sum += QB_SHFL_XOR(sum, o);
    if (lane == 0) out[row] = sum;
}

unsigned grid_for(long long total)
{
    const long long b = (total + PK_THREADS - 1) / PK_THREADS;
    return (unsigned)(b < 1 ? 1 : b > 65535 * 16 ? 65535 * 16 : b); /* grid-stride loops cover the rest */
}

} // namespace

extern "C" cudaError_t qb_sp24_check_meta(const uint8_t *meta, int n, int k, unsigned long long *verdict,
                                          cudaStream_t s)
{
    QB_LAUNCH(grid_for((long long)n * (k / 4)), PK_THREADS, 0, s, check_kernel)(meta, n, k, verdict);
    return cudaGetLastError();
}

extern "C" cudaError_t qb_sp24_pack(const void *vals, const uint8_t *meta, int es, int n, int k, int np, int kt,
                                    uint8_t *dvals, uint8_t *dmeta, const unsigned long long *verdict, cudaStream_t s)
{
    QB_LAUNCH(grid_for((long long)(np / 16) * kt * 2 * 32), PK_THREADS, 0, s, pack_kernel)(
        static_cast<const uint8_t *>(vals), meta, es, n, k, np, kt, dvals, dmeta, verdict);
    return cudaGetLastError();
}

extern "C" cudaError_t qb_sp24_colsum(const int8_t *vals, int n, int k, int np, int32_t *out,
                                     const unsigned long long *verdict, cudaStream_t s)
{
    constexpr int rows = PK_THREADS / QB_WARP_SIZE;
    QB_LAUNCH((unsigned)((np + rows - 1) / rows), PK_THREADS, 0, s, colsum_kernel)(vals, n, k, np, out, verdict);
    return cudaGetLastError();
}
