/* hip_prepack.h - the AMD prepack kernels' work items as plain functions (C
 * and HIP, host and device), so that the host test suite checks them
 * (tests/test_hip_layout.c: against the CPU oracle's tools and the GEMMs'
 * readers, hip_layout.h) and the kernels (hip_prepack.hip) are grid-stride
 * loops over them. Each item computes its output bytes whole from the
 * canonical inputs (gather form): no two items write the same byte.
 * Canonical formats: docs/FORMATS.md ("W4A16" and "W4A8" canonical layouts,
 * "2:4 sparse" Layout); packed ones: hip_kernels.h, hip_layout.h.
 */
#ifndef QBLAS_HIP_PREPACK_H
#define QBLAS_HIP_PREPACK_H

#include <stdint.h>

#include "common/qblas_numeric.h" /* QB_HD */
#include "hip_layout.h"

/* Code k of row r of a canonical u4 weight: rows of rowb = ceil(K / 2)
 * bytes, even k in the low nibble (W4A16; W4A8's rows are K / 2 bytes, K
 * even: the same). */
QB_HD uint32_t qb_amd_canonical_u4(const uint8_t *src, long long rowb, int r, int k)
{
    return (src[(long long)r * rowb + k / 2] >> (4 * (k & 1))) & 15u;
}

/* The code packed at (row r, k position p): canonical column perm[p] of row
 * r (act-order, the CUDA prepack's meaning: W'[n][p] = W[n][perm[p]], X
 * gathered by the same perm), or column p without perm; pad for r >= n or
 * p >= k (and for a perm entry outside [0, k): never from w4a16_act_order's
 * perm, but it keeps a bad one from reading outside src). */
QB_HD uint32_t qb_amd_u4_source(const uint8_t *src, int n, int k, const int32_t *perm, uint32_t pad, int r, int p)
{
    if (r >= n || p >= k) return pad;
    const int c = perm ? perm[p] : p;
    return c >= 0 && c < k ? qb_amd_canonical_u4(src, ((long long)k + 1) / 2, r, c) : pad;
}

/* Item (r, a) of pack_u4: row r's k positions [8 a, 8 a + 8), whose eight
 * codes fill four whole bytes of the chunks (qb_amd_u4_partner). */
QB_HD void qb_amd_pack_u4_octet(const uint8_t *src, int n, int k, const int32_t *perm, int kt, uint32_t pad, int r,
                                int a, uint8_t *dst)
{
    for (int j = 0; j < 4; ++j) {
        const int p = 8 * a + j, q = qb_amd_u4_partner(p);
        const uint32_t v = qb_amd_u4_source(src, n, k, perm, pad, r, p) << qb_amd_u4_shift(p) |
                           qb_amd_u4_source(src, n, k, perm, pad, r, q) << qb_amd_u4_shift(q);
        dst[qb_amd_u4_byte(r, p, kt)] = (uint8_t)v;
    }
}

/* W4A8 params element (g, col): s2 | z << 8, as the W4A8 GEMM reads it
 * (hip_gemm.cuh, gemm_i8_kernel: s2 = bits 0-7, z = bits 8-15; canonical s2
 * and z at g * n + col, docs/FORMATS.md "W4A8" Tensors). Per-channel
 * (g128 = 0): s2 = 1, so w8 = code - z. Padding columns (col >= n): s2 = 1,
 * z = 0, w8 = the pad code: inside the widening's range (hip_layout.h),
 * and never stored. The CUDA prepack's values (w4a8_prepack.cu). */
QB_HD uint16_t qb_amd_w4a8_param(const int8_t *s2, const uint8_t *z, int n, int g128, int g, int col)
{
    if (col >= n) return 1u;
    const long long i = (long long)g * n + col;
    return (uint16_t)((g128 ? (uint32_t)(uint8_t)s2[i] : 1u) | (uint32_t)z[i] << 8);
}

/* Item (r, j) of sp24_decompress: dense group j (columns 4 j .. 4 j + 3) of
 * row r as es-byte elements (es 1 or 2), little-endian in out[0] (es = 1:
 * the four bytes) or out[0], out[1] (es = 2: two elements each). The
 * canonical form keeps values[r][2 j] at column 4 j + i0 and values[r][2 j
 * + 1] at 4 j + i1, field = (meta[r][j / 2] >> 4 (j % 2)) & 15, i0 = field &
 * 3, i1 = field >> 2 (rows of K / 2 values, ceil(K / 8) meta bytes); every
 * other element is +0, all-zero bits. Rows >= n and groups >= K / 4: zeros.
 * (A field with i0 >= i1 fails the meta check, whose verdict gates the
 * kernel; unchecked, i1's value wins.) fnuz (es = 1, fp8 weights): the
 * four codes through qb_amd_fp8x4_to_fnuz (zeros stay zeros); e5m2: the
 * weight is E5M2. */
QB_HD void qb_amd_sp24_group(const void *vals, const uint8_t *meta, int es, int fnuz, int e5m2, int n, int k, int r,
                             int j, uint32_t out[2])
{
    uint32_t e0 = 0, e1 = 0, e2 = 0, e3 = 0;
    if (r < n && j < k / 4) {
        const int f = (meta[(long long)r * ((k + 7) / 8) + j / 2] >> (4 * (j & 1))) & 15;
        const int i0 = f & 3, i1 = f >> 2;
        const long long v = (long long)r * (k / 2) + 2 * j;
        const uint32_t v0 = es == 1 ? ((const uint8_t *)vals)[v] : ((const uint16_t *)vals)[v];
        const uint32_t v1 = es == 1 ? ((const uint8_t *)vals)[v + 1] : ((const uint16_t *)vals)[v + 1];
        e0 = 0 == i1 ? v1 : 0 == i0 ? v0 : 0u; /* i1 = 0 only for an invalid field */
        e1 = 1 == i1 ? v1 : 1 == i0 ? v0 : 0u;
        e2 = 2 == i1 ? v1 : 2 == i0 ? v0 : 0u;
        e3 = 3 == i1 ? v1 : 3 == i0 ? v0 : 0u;
    }
    if (es == 1) {
        const uint32_t w = e0 | e1 << 8 | e2 << 16 | e3 << 24;
        out[0] = fnuz ? qb_amd_fp8x4_to_fnuz(w, e5m2) : w;
        out[1] = 0u;
    } else {
        out[0] = e0 | e1 << 16;
        out[1] = e2 | e3 << 16;
    }
}

#endif /* QBLAS_HIP_PREPACK_H */
