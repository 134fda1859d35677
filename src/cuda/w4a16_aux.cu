/* w4a16_aux.cu - the small kernels around the W4A16 GEMM: prepack (the
 * content checks, the act-order permutation, codes and per-group tensors
 * into the layout of docs/FORMATS.md, "CUDA W4A16 packed layout"), the
 * activation gather (act-order permutation, or a misaligned X copied to an
 * aligned one) and the split-K reduction. Grid-stride loops over 64-bit
 * indices: one thread per output element or word. Prepack's writers pass
 * the checks' verdict first (dev_check.cuh).
 */
#include "cuda_kernels.h"
#include "dev_check.cuh"
#include "qb_vendor.cuh"
#include "w4a16_out.cuh"

namespace {

unsigned grid_for(size_t count)
{
    size_t blocks = (count + 255) / 256;
    return (unsigned)(blocks < (1u << 20) ? (blocks ? blocks : 1) : (1u << 20));
}

/* Packed word wi = (((nb*kt_total + kt)*4 + kk)*4 + warp)*32 + lane)*4 + j
 * holds, for g = lane/4, t = lane%4, n0 = nb*256 + warp*64 + 16j + g and
 * k0 = kt*64 + kk*16 + 2t, nibble p (bits 4p..4p+3) = code of
 *   n = n0 + 8 * ((p >> 1) & 1),  k = k0 + 8 * (p & 1) + (p >> 2)
 * i.e. (v0, v4) (v1, v5) are b0 b1 of n8 tile 2j, (v2, v6) (v3, v7) of 2j+1.
 * Positions past n or k hold code 8; the GEMM never uses them. */
__global__ void pack_codes_kernel(const uint8_t *src, int n, int k, const int32_t *perm, int kt_total, uint32_t *dst,
                                  size_t words, const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    const size_t rowb = ((size_t)k + 1) / 2;
    for (size_t wi = blockIdx.x * (size_t)blockDim.x + threadIdx.x; wi < words; wi += (size_t)gridDim.x * blockDim.x) {
        const int j = (int)(wi & 3), lane = (int)((wi >> 2) & 31), warp = (int)((wi >> 7) & 3);
        const int kk = (int)((wi >> 9) & 3);
        const size_t tile = wi >> 11;
        const int kt = (int)(tile % (size_t)kt_total);
        const size_t nb = tile / (size_t)kt_total;
        const long long n0 = (long long)nb * QB_W4_BN + warp * QB_W4_WN + 16 * j + (lane >> 2);
        const int k0 = kt * QB_W4_BK + kk * 16 + 2 * (lane & 3);
        uint32_t word = 0;
#pragma unroll
        for (int p = 0; p < 8; ++p) {
            const long long nn = n0 + 8 * ((p >> 1) & 1);
            const int kc = k0 + 8 * (p & 1) + (p >> 2);
            uint32_t code = 8;
            if (nn < n && kc < k) {
                const int ks = perm ? perm[kc] : kc; /* act-order: column kc of the sorted weight */
                code = (src[(size_t)nn * rowb + ks / 2] >> (4 * (ks & 1))) & 15u;
            }
            word |= code << (4 * p);
        }
        dst[wi] = word;
    }
}

/* [groups][n] -> [groups][np]: column c = 64*b + 8*i + r goes to index
 * 64*b + 8*r + i, so lane group r of a warp finds the values of its eight
 * columns (one per n8 tile i) side by side. */
template <typename E>
__global__ void pack_groups_kernel(const E *src, int groups, int n, int np, E pad, E *dst,
                                   const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    const size_t count = (size_t)groups * np;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x) {
        const size_t g = i / (size_t)np;
        const int c = (int)(i % (size_t)np);
        const size_t to = g * np + (c & ~63) + 8 * (c & 7) + ((c & 63) >> 3);
        dst[to] = c < n ? src[g * n + c] : pad;
    }
}

/* ---- prepack's content checks: each failure atomicMin's its record into the verdict ---- */
__global__ void zeros_check_kernel(const uint8_t *z, size_t count, unsigned long long *verdict)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x)
        if (z[i] > 15) atomicMin(verdict, QB_DEV_RECORD(QB_DEV_W4A16_ZERO, i, z[i]));
}

/* counts[g - c0] = columns of group g, for the groups of [c0, c0 + cn); the
 * first pass (c0 == 0) also checks every g_idx against 0..groups-1. */
__global__ void group_count_kernel(const int32_t *gi, int k, int groups, int c0, int cn, int32_t *counts,
                                   unsigned long long *verdict)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (size_t)k; i += (size_t)gridDim.x * blockDim.x) {
        const int g = gi[i];
        if (g < 0 || g >= groups) {
            if (c0 == 0) atomicMin(verdict, QB_DEV_RECORD(QB_DEV_W4A16_GIDX, i, 0));
        } else if (g >= c0 && g - c0 < cn) {
            atomicAdd(&counts[g - c0], 1);
        }
    }
}

__global__ void group_verify_kernel(const int32_t *counts, int c0, int cn, int gs, unsigned long long *verdict)
{
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < cn; j += gridDim.x * blockDim.x)
        if (counts[j] != gs) atomicMin(verdict, QB_DEV_RECORD(QB_DEV_W4A16_GROUP, (long long)c0 + j, 0));
}

/* ---- act-order permutation (checked g_idx: every group holds gs columns) ----
 * A stable counting sort by group whose offsets need no scan (group g
 * starts at g * gs): the columns are scattered into their group's slots in
 * any order (atomic cursors), then each group's gs columns are put in
 * ascending order. */
__global__ void fill_kernel(int32_t *p, int count, int32_t value, const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) p[i] = value;
}

__global__ void scatter_kernel(const int32_t *gi, int k, int gs, int32_t *cursor, int32_t *perm,
                               const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < k; i += gridDim.x * blockDim.x) {
        const int g = gi[i];
        perm[(long long)g * gs + atomicAdd(&cursor[g], 1)] = i;
    }
}

/* A block of gs threads per group: each column's rank among its group's
 * (distinct) columns is its place. */
constexpr int SORT_MAX = 128; /* the largest group size with act-order */
__global__ void __launch_bounds__(SORT_MAX) sort_groups_kernel(int32_t *perm, int groups, int gs,
                                                               const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    QB_SHARED_ARRAY(int32_t, cols, SORT_MAX);
    const int t = threadIdx.x;
    for (int g = blockIdx.x; g < groups; g += gridDim.x) {
        int32_t *p = perm + (long long)g * gs;
        const int32_t mine = p[t];
        cols[t] = mine;
        __syncthreads();
        int rank = 0;
        for (int j = 0; j < gs; ++j) rank += cols[j] < mine;
        __syncthreads(); /* all of cols read before the next group's overwrite it */
        p[rank] = mine;
    }
}

__global__ void gather_x_kernel(const uint16_t *x, long long ldx, const int32_t *perm, int m, int k, uint16_t *out,
                                int ldo)
{
    const size_t count = (size_t)m * k;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x) {
        const size_t r = i / (size_t)k;
        const int c = (int)(i % (size_t)k);
        out[r * ldo + c] = x[(long long)r * ldx + (perm ? perm[c] : c)];
    }
}

/* Splits summed in order 0, 1, ... in fp32 (deterministic), then bias and
 * the output conversion. */
__global__ void reduce_kernel(const qb_w4a16_kparams p)
{
    const size_t count = (size_t)p.m * p.n;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x) {
        const int m = (int)(i / (size_t)p.n), n = (int)(i % (size_t)p.n);
        const float *src = p.partial + (size_t)m * p.np + n;
        const size_t stride = (size_t)p.m * p.np;
        float v = src[0];
        for (int s = 1; s < p.splits; ++s) v = __fadd_rn(v, src[s * stride]);
        qb::store_out(p, m, n, v);
    }
}

} // namespace

cudaError_t qb_w4a16_check(const uint8_t *zeros, const int32_t *g_idx, int n, int k, int groups, int gs,
                           unsigned long long *verdict, int32_t *counts, cudaStream_t s)
{
    if (zeros)
        QB_LAUNCH(grid_for((size_t)groups * n), 256, 0, s, zeros_check_kernel)(zeros, (size_t)groups * n, verdict);
    /* QB_DEV_COUNTS groups per pass over g_idx: one pass up to k = 2^21 at group size 32 */
    for (int c0 = 0; g_idx && c0 < groups; c0 += QB_DEV_COUNTS) {
        const int cn = groups - c0 < QB_DEV_COUNTS ? groups - c0 : QB_DEV_COUNTS;
        cudaError_t e = cudaMemsetAsync(counts, 0, (size_t)cn * sizeof *counts, s);
        if (e != cudaSuccess) return e;
        QB_LAUNCH(grid_for((size_t)k), 256, 0, s, group_count_kernel)(g_idx, k, groups, c0, cn, counts, verdict);
        QB_LAUNCH(grid_for((size_t)cn), 256, 0, s, group_verify_kernel)(counts, c0, cn, gs, verdict);
    }
    return cudaGetLastError();
}

cudaError_t qb_w4a16_act_order(const int32_t *g_idx, int k, int groups, int gs, int32_t *cursor, int32_t *perm,
                               const unsigned long long *verdict, cudaStream_t s)
{
    if (gs > SORT_MAX) return cudaErrorInvalidValue;
    QB_LAUNCH(grid_for((size_t)groups), 256, 0, s, fill_kernel)(cursor, groups, 0, verdict);
    QB_LAUNCH(grid_for((size_t)k), 256, 0, s, scatter_kernel)(g_idx, k, gs, cursor, perm, verdict);
    QB_LAUNCH((unsigned)(groups < 65536 ? groups : 65536), gs, 0, s, sort_groups_kernel)(perm, groups, gs, verdict);
    return cudaGetLastError();
}

cudaError_t qb_w4a16_pack_codes(const uint8_t *src, int n, int k, const int32_t *perm, int np, int kt_total,
                                uint32_t *dst, const unsigned long long *verdict, cudaStream_t s)
{
    const size_t words = (size_t)np * kt_total * QB_W4_BK / 8;
    QB_LAUNCH(grid_for(words), 256, 0, s, pack_codes_kernel)(src, n, k, perm, kt_total, dst, words, verdict);
    return cudaGetLastError();
}

cudaError_t qb_w4a16_pack_groups(const void *src, int groups, int n, int np, int elem_bytes, uint32_t pad, void *dst,
                                 const unsigned long long *verdict, cudaStream_t s)
{
    const unsigned grid = grid_for((size_t)groups * np);
    switch (elem_bytes) {
    case 1:
        QB_LAUNCH(grid, 256, 0, s, pack_groups_kernel<uint8_t>)(static_cast<const uint8_t *>(src), groups, n, np,
                                                          (uint8_t)pad, static_cast<uint8_t *>(dst), verdict);
        break;
    case 2:
        QB_LAUNCH(grid, 256, 0, s, pack_groups_kernel<uint16_t>)(static_cast<const uint16_t *>(src), groups, n, np,
                                                           (uint16_t)pad, static_cast<uint16_t *>(dst), verdict);
        break;
    case 4:
        QB_LAUNCH(grid, 256, 0, s, pack_groups_kernel<uint32_t>)(static_cast<const uint32_t *>(src), groups, n, np, pad,
                                                           static_cast<uint32_t *>(dst), verdict);
        break;
    default: return cudaErrorInvalidValue;
    }
    return cudaGetLastError();
}

cudaError_t qb_w4a16_gather_x(const void *x, long long ldx, const int32_t *perm, int m, int k, void *out, int ldo,
                              cudaStream_t s)
{
    QB_LAUNCH(grid_for((size_t)m * k), 256, 0, s, gather_x_kernel)(static_cast<const uint16_t *>(x), ldx, perm, m, k,
                                                            static_cast<uint16_t *>(out), ldo);
    return cudaGetLastError();
}

cudaError_t qb_w4a16_reduce(const qb_w4a16_kparams *p, cudaStream_t s)
{
    QB_LAUNCH(grid_for((size_t)p->m * p->n), 256, 0, s, reduce_kernel)(*p);
    return cudaGetLastError();
}
