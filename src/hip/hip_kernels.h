/* hip_kernels.h - the boundary between the HIP backend's host code (plain C,
 * src/hip/hip_*.c) and its kernels (the .hip files here and the vendor-neutral
 * src/cuda sources, compiled once per gfx target). Only POD types and
 * function tables cross it.
 *
 * One object per (source, target): a gfx90a object holds a gfx90a code
 * object only, and its launchers are named for the target (hip_names.h), so
 * both targets live in one libqblas. Each target's objects export one table
 * of launchers, qb_hip_kernels_<target>; the host code will pick the table
 * of the device's target and call nothing else (hip_table.hip defines it;
 * not written yet: the host dispatch that calls it, so hip_backend.c
 * launches nothing).
 *
 * Parameter structs: the shared kernels' own (cuda_kernels.h, kernels_*.h,
 * compiled against src/hip/include, where their CUDA runtime names are
 * HIP's), and the AMD GEMMs' below. The AMD GEMM geometry (docs/FORMATS.md,
 * "HIP (AMD) backend"): 4 wavefronts of 64 lanes, 16x16 MFMA tiles, a block
 * of BN weight rows x BM tokens, k64 per stage; lane group g = lane / 16 of
 * a wavefront owns the 16 consecutive k [64 t + 16 g, 64 t + 16 g + 16) of
 * stage t (the MFMA steps of a stage take their k from those runs, the same
 * permutation for both operands, so the dot products are unchanged).
 */
#ifndef QBLAS_HIP_KERNELS_H
#define QBLAS_HIP_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../cuda/cuda_kernels.h"       /* qb_w4a16_kparams, qb_int8_kparams, qb_qact_kparams */
#include "../cuda/kernels_attention.h"  /* qb_attn_kparams, qb_kv_append_kparams */
#include "../cuda/kernels_fp8.h"        /* qb_fp8_kparams */
#include "../cuda/kernels_sparse24.h"   /* qb_sp24_kparams (checks, column sums) */
#include "../cuda/kernels_w4a8.h"       /* qb_w4a8_kparams */

#ifdef __cplusplus
extern "C" {
#endif

#include "hip_kernels_shapes.h" /* QB_HIP_THREADS, QB_HIP_BK, QB_HIP_SHAPE_* */

/* ---- packed 4-bit weights (QBLAS_LAYOUT_HIP_W4A16 = 32, QBLAS_LAYOUT_HIP_W4A8 = 33;
 * positions: hip_layout.h, qb_amd_u4_byte) ----
 * Chunks of 32 weight rows x 64 k, 1024 bytes: chunk (r32, t) at byte
 * (r32 * KT + t) * 1024; lane l's 16 bytes at l * 16 hold, for i = l % 16
 * and g = l / 16, rows 32 r32 + i (bytes 0-7) and 32 r32 + 16 + i (bytes
 * 8-15), k = 64 t + 16 g + kl for kl = 0..15: byte 4 q + j (q = 0, 1 per
 * row) holds kl = 8 q + j in its low nibble and kl = 8 q + 4 + j in its
 * high nibble. */
#define QB_HIP_U4_CHUNK 1024

/* The W4A16 GEMM takes qb_w4a16_kparams (cuda_kernels.h) as the CUDA
 * kernels do, with `codes` the HIP packed codes above, `scales` [groups][np]
 * (scale_dtype) and `zeros` [groups][np] (or NULL): so the split-K reduce
 * (qb_w4a16_reduce, shared) reads the same struct. W4A8 takes
 * qb_w4a8_kparams (codes: the HIP layout; params, s1, partial: CUDA's), FP8
 * qb_fp8_kparams (w: the packed fnuz codes, [n][k]), INT8 qb_int8_kparams
 * (the canonical weight). The 2:4 GEMMs take qb_sp24_kparams with `vals`
 * the weight decompressed at prepack, [np][kt * 64] of the weight dtype
 * (fp8: fnuz codes), `kt` its stages; `act` the weight dtype (F16, BF16,
 * I8, E4M3 or E5M2: the dense kernel of that format runs) and x_dtype the
 * activations' (fp8 only). */

/* The launchers of one gfx target (every function returns a hipError_t,
 * as an int so that this table reads the same from C and C++; the stream is
 * a hipStream_t). The shared sources' launchers are those of the CUDA
 * backend (their headers say what they do); the writers of a prepack take
 * its verdict (cuda_kernels.h, device-side checks: a failed check writes
 * nothing; NULL: nothing was checked). */
typedef struct qb_hip_kernels {
    const char *target;     /* "gfx90a", "gfx942" */
    int has_fp8, has_smfmac;
    /* shared sources */
    int (*qact)(const qb_qact_kparams *p, int cus, void *stream);
    int (*kv_append)(const qb_kv_append_kparams *p, void *stream);
    int (*w4a16_gather_x)(const void *x, long long ldx, const int32_t *perm, int m, int k, void *out, int ldo,
                          void *stream);
    int (*w4a16_reduce)(const qb_w4a16_kparams *p, void *stream);
    int (*w4a8_check)(const uint8_t *codes, const int8_t *s2, const uint8_t *z, int n, int k, int g128,
                      unsigned long long *verdict, void *stream);
    int (*w4a8_reduce)(const qb_w4a8_kparams *p, void *stream);
    int (*fp8_reduce)(const qb_fp8_kparams *p, void *stream);
    int (*sp24_check_meta)(const uint8_t *meta, int n, int k, unsigned long long *verdict, void *stream);
    /* out [np]: the kept i8 values' sum per row (0 past n) */
    int (*sp24_colsum)(const int8_t *vals, int n, int k, int np, int32_t *out, const unsigned long long *verdict,
                       void *stream);
    int (*attn_merge)(const qb_attn_kparams *p, int num_splits, void *ws, void *stream);
    /* W4A16 prepack: zeros <= 15, g_idx in range with gs columns per group
     * (counts: QB_DEV_COUNTS ints of scratch); perm (act-order, gs <= 128) */
    int (*w4a16_check)(const uint8_t *zeros, const int32_t *g_idx, int n, int k, int groups, int gs,
                       unsigned long long *verdict, int32_t *counts, void *stream);
    int (*w4a16_act_order)(const int32_t *g_idx, int k, int groups, int gs, int32_t *cursor, int32_t *perm,
                           const unsigned long long *verdict, void *stream);
    /* device-side checks (dev_check.cu) */
    int (*dev_take)(qb_dev_block *b, void *stream);
    int (*dev_publish)(const unsigned long long *verdict, unsigned long long *status, void *stream);
    int (*dev_check_i8_zeros)(const int32_t *zx, long long count, unsigned long long *verdict,
                              unsigned long long *status, void *stream);
    int (*dev_copy)(void *dst, const void *src, size_t bytes, const unsigned long long *verdict, void *stream);
    /* AMD kernels: prepack (hip_prepack.hip) */
    /* canonical u4 codes (rows of ceil(k/2) bytes, even k low) -> the chunks
     * above, np rows (a multiple of 32, >= n) x kt * 64 k (>= k); packed
     * position p holds canonical column perm[p] (act-order: perm from
     * w4a16_act_order, X gathered by the same perm), or p when perm is NULL;
     * rows >= n and positions >= k hold pad_code */
    int (*pack_u4)(const uint8_t *src, int n, int k, const int32_t *perm, int np, int kt, int pad_code, uint8_t *dst,
                   const unsigned long long *verdict, void *stream);
    /* W4A8: params [groups][np] = s2 | z << 8 (per-channel, groups 1: s2 = 1;
     * padding 1: s2 = 1, z = 0) and s1_out [np] = s1 (f16 bits) as f32,
     * padding 0 */
    int (*pack_w4a8_params)(const int8_t *s2, const uint8_t *z, const uint16_t *s1, int n, int groups, int g128,
                            int np, uint16_t *params, float *s1_out, const unsigned long long *verdict,
                            void *stream);
    /* [rows][n] -> [rows][np] of elem_bytes (1, 2, 4), columns >= n = pad's
     * bits (W4A16 scales [groups][np], pad 0; zeros, pad 8) */
    int (*pack_rows)(const void *src, int rows, int n, int np, int elem_bytes, uint32_t pad, void *dst,
                     const unsigned long long *verdict, void *stream);
    /* fp8 codes of src_dtype (E4M3, E5M2, E4M3FNUZ) -> the fnuz codes the MFMA reads (docs/FORMATS.md) */
    int (*pack_fp8)(const uint8_t *src, long long count, int src_dtype, uint8_t *dst, void *stream);
    /* canonical 2:4 values + meta -> dense [np][kp] of w_dtype (fp8: as fnuz codes), zero padding */
    int (*sp24_decompress)(const void *vals, const uint8_t *meta, int w_dtype, int n, int k, int np, int kp,
                           void *dst, const unsigned long long *verdict, void *stream);
    /* AMD kernels: GEMMs (hip_gemm_*.hip); shape: QB_HIP_SHAPE_* */
    int (*w4a16)(int shape, int act_dtype, const qb_w4a16_kparams *p, void *stream);
    int (*int8)(int shape, const qb_int8_kparams *p, void *stream);
    int (*w4a8)(int shape, const qb_w4a8_kparams *p, void *stream);
    int (*fp8)(int shape, const qb_fp8_kparams *p, void *stream);
    int (*sp24_dense)(int shape, int w_dtype, int x_dtype, int block_scales, const qb_sp24_kparams *p, void *stream);
    /* shared source: the decode attention (attn_decode.cu) */
    int (*attn_decode)(const qb_attn_kparams *p, int group_tile, int num_splits, void *ws, void *stream);
} qb_hip_kernels;

/* Defined by the objects of each target the build compiles (hip_table.hip).
 * The host code is told which (QB_HIP_HAS_<target>, from cmake/hip.cmake /
 * sim.cmake) and names those tables strongly, so that they are linked from
 * the static libqblas.a (a weak reference pulls no archive member); a
 * target not built stays a weak, NULL reference. */
#if defined(QB_HIP_HAS_gfx90a)
extern const qb_hip_kernels qb_hip_kernels_gfx90a;
#else
extern const qb_hip_kernels qb_hip_kernels_gfx90a __attribute__((weak));
#endif
#if defined(QB_HIP_HAS_gfx942)
extern const qb_hip_kernels qb_hip_kernels_gfx942;
#else
extern const qb_hip_kernels qb_hip_kernels_gfx942 __attribute__((weak));
#endif

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_HIP_KERNELS_H */
