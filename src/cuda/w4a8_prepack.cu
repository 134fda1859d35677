/* w4a8_prepack.cu - the W4A8 prepack on the device: the format's content
 * checks (one thread per (group, row), first failure by atomicMin in the
 * oracle's order, into the prepack's verdict) and the canonical -> packed
 * rewrite (docs/FORMATS.md, "CUDA W4A8 packed layout"), which writes
 * nothing once the verdict failed. Setup-time kernels: simple, one output
 * element per thread, grid-stride loops over 64-bit index spaces. */
#include <cuda_fp16.h>

#include "dev_check.cuh"
#include "kernels_w4a8.h"
#include "qb_vendor.cuh"

namespace {

constexpr int THREADS = 256;

unsigned blocks_for(long long n)
{
    const long long b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b < 65535 ? (b < 1 ? 1 : b) : 65535);
}

/* Code k of row n of the canonical [n][k/2] bytes: bits 0-3 for even k, 4-7 for odd k. */
__device__ __forceinline__ uint32_t code_at(const uint8_t *codes, int k, int n, int kk)
{
    return (codes[(long long)n * (k / 2) + kk / 2] >> ((kk & 1) * 4)) & 15u;
}

/* Reasons in the oracle's order per (group, row): 1 s2 < 1, 2 z > 15, 3 a w8 outside int8. */
__global__ void __launch_bounds__(THREADS) check_kernel(const uint8_t *codes, const int8_t *s2, const uint8_t *z, int n,
                                                        int k, int g128, unsigned long long *verdict)
{
    const long long total = g128 ? (long long)(k / 128) * n : n;
    for (long long i = blockIdx.x * (long long)THREADS + threadIdx.x; i < total; i += (long long)gridDim.x * THREADS) {
        const int row = (int)(i % n), g = (int)(i / n);
        const int sc = g128 ? s2[i] : 1, zz = z[i];
        int reason = 0;
        if (sc < 1) {
            reason = 1;
        } else if (zz > 15) {
            reason = 2;
        } else if (g128) {
            /* w8 = (code - z) * s2 is monotonic in the code: the group's extreme codes bound it */
            int cmin = 15, cmax = 0;
            for (int kk = g * 128; kk < g * 128 + 128; ++kk) {
                const int c = (int)code_at(codes, k, row, kk);
                cmin = c < cmin ? c : cmin;
                cmax = c > cmax ? c : cmax;
            }
            if ((cmin - zz) * sc < -128 || (cmax - zz) * sc > 127) reason = 3;
        }
        if (reason) atomicMin(verdict, QB_DEV_RECORD(QB_DEV_W4A8, i, reason));
    }
}

/* Packed word w (of np * kp / 8): tile (nb, kt) = w / 1024, unit u (n16) =
 * (w / 128) % 8, lane = (w / 4) % 32, word q = w % 4 = ks * 2 + jj. Its
 * column n = nb*128 + u*16 + jj*8 + lane/4; byte i holds the codes of
 * k = kt*64 + ks*32 + 4*(lane%4) + i (bits 0-3, fragment b0) and k + 16
 * (bits 4-7, fragment b1). Past N or K: code 0 (X is zero there). */
__global__ void __launch_bounds__(THREADS) pack_codes_kernel(const uint8_t *codes, int n, int k, int kt_total,
                                                             long long words, uint32_t *out,
                                                             const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    for (long long w = blockIdx.x * (long long)THREADS + threadIdx.x; w < words; w += (long long)gridDim.x * THREADS) {
        const long long tile = w >> 10;
        const int within = (int)(w & 1023), u = within >> 7, lane = (within >> 2) & 31, q = within & 3;
        const int ks = q >> 1, jj = q & 1;
        const int nb = (int)(tile / kt_total), kt = (int)(tile % kt_total);
        const int col = nb * 128 + u * 16 + jj * 8 + (lane >> 2);
        const int k0 = kt * 64 + ks * 32 + 4 * (lane & 3);
        uint32_t v = 0;
        if (col < n)
            for (int i = 0; i < 4; ++i) {
                const uint32_t lo = k0 + i < k ? code_at(codes, k, col, k0 + i) : 0u;
                const uint32_t hi = k0 + 16 + i < k ? code_at(codes, k, col, k0 + 16 + i) : 0u;
                v |= (lo | hi << 4) << (8 * i);
            }
        out[w] = v;
    }
}

/* params[g][col] = s2 | z << 8 (per-channel: s2 = 1; padding: 1, i.e. s2 = 1, z = 0);
 * s1 as f32 (exact), padding 0. */
__global__ void __launch_bounds__(THREADS) pack_params_kernel(const int8_t *s2, const uint8_t *z, const uint16_t *s1,
                                                              int n, int groups, int g128, int np, uint16_t *params,
                                                              float *s1_out, const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    const long long total = (long long)groups * np;
    for (long long i = blockIdx.x * (long long)THREADS + threadIdx.x; i < total; i += (long long)gridDim.x * THREADS) {
        const int col = (int)(i % np), g = (int)(i / np);
        uint32_t v = 1;
        if (col < n) {
            const long long src = (long long)g * n + col;
            v = (g128 ? (uint32_t)(uint8_t)s2[src] : 1u) | (uint32_t)z[src] << 8;
        }
        params[i] = (uint16_t)v;
        if (g == 0) s1_out[col] = col < n ? __half2float(__ushort_as_half(s1[col])) : 0.0f;
    }
}

} // namespace

extern "C" cudaError_t qb_w4a8_check(const uint8_t *codes, const int8_t *s2, const uint8_t *z, int n, int k, int g128,
                                     unsigned long long *verdict, cudaStream_t s)
{
    const long long total = g128 ? (long long)(k / 128) * n : n;
    QB_LAUNCH(blocks_for(total), THREADS, 0, s, check_kernel)(codes, s2, z, n, k, g128, verdict);
    return cudaGetLastError();
}

extern "C" cudaError_t qb_w4a8_pack(const uint8_t *codes, const int8_t *s2, const uint8_t *z, const uint16_t *s1_f16,
                                    int n, int k, int g128, int np, int kt_total, uint32_t *codes_out,
                                    uint16_t *params_out, float *s1_out, const unsigned long long *verdict,
                                    cudaStream_t s)
{
    const long long words = (long long)np * kt_total * 64 / 8;
    QB_LAUNCH(blocks_for(words), THREADS, 0, s, pack_codes_kernel)(codes, n, k, kt_total, words, codes_out, verdict);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    const int groups = g128 ? k / 128 : 1;
    QB_LAUNCH(blocks_for((long long)groups * np), THREADS, 0, s, pack_params_kernel)(s2, z, s1_f16, n, groups, g128, np,
                                                                             params_out, s1_out, verdict);
    return cudaGetLastError();
}
