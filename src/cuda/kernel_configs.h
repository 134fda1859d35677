/* kernel_configs.h - every kernel configuration of the CUDA backend, named
 * once. Plain preprocessor lists, read by both sides of the boundary:
 *
 *   - the registry (cuda_registry.c) builds its one configuration table
 *     from them: names, per-architecture selection bounds, tile geometry,
 *     shared memory;
 *   - the kernels' translation units (*.cu) build their template instances
 *     and launch dispatch from the same lists.
 *
 * So a configuration the registry lists is compiled, and a compiled one is
 * listed: there is no second list to disagree with (and the .cu files
 * static_assert what they cannot derive, e.g. the wgmma stage counts).
 *
 * Columns every list starts with:
 *   name               the base name: what QBLAS_CUDA_KERNEL, tuning rows and
 *                      plans name (the reported kernel name starts with it or,
 *                      for FP8 and W4A8, inserts a variant after the family)
 *   sm_80 sm_89 sm_90a per architecture, when the default selection takes it:
 *                      n      the default for M <= n: of the configurations
 *                             that fit, the smallest bound covering M wins
 *                      QB_ANY the default above every other bound
 *                      QB_OPT available (forced, tuned, planned), never a default
 *                      QB_NO  not on this architecture
 * then the family's own columns. One X(...) per configuration.
 */
#ifndef QBLAS_CUDA_KERNEL_CONFIGS_H
#define QBLAS_CUDA_KERNEL_CONFIGS_H

#define QB_NO (-1)
#define QB_OPT 0
#define QB_ANY 0x7FFFFFFFFFFFFFFFLL

/* ---- W4A16 (cuda_w4a16.c, w4a16_kernel.cuh) ----
 * 4 warps, block n256 x k64 per stage; act: the activation dtype (the
 * QBLAS_DTYPE_ suffix), mt: m16 tiles per block, st: cp.async stages (a
 * kernel argument: the template instances are per mt).
 *   sm_80/89: 4 stages, m16 / m32 / m64 block rows.
 *   sm_90a:   own m16 / m32 with 6 stages (bytes in flight for HBM3 at small
 *             M); sm_80's m64 above. */
#define QB_W4A16_CONFIGS(X)                                                        \
    /* name                              sm_80   sm_89   sm_90a  act   mt st */   \
    X(w4a16_f16_sm80_mma_m16n256k64_s4,  16,     16,     QB_NO,  F16,  1, 4)      \
    X(w4a16_f16_sm80_mma_m32n256k64_s4,  32,     32,     QB_NO,  F16,  2, 4)      \
    X(w4a16_f16_sm80_mma_m64n256k64_s4,  QB_ANY, QB_ANY, QB_ANY, F16,  4, 4)      \
    X(w4a16_f16_sm90a_mma_m16n256k64_s6, QB_NO,  QB_NO,  16,     F16,  1, 6)      \
    X(w4a16_f16_sm90a_mma_m32n256k64_s6, QB_NO,  QB_NO,  32,     F16,  2, 6)      \
    X(w4a16_bf16_sm80_mma_m16n256k64_s4, 16,     16,     QB_NO,  BF16, 1, 4)      \
    X(w4a16_bf16_sm80_mma_m32n256k64_s4, 32,     32,     QB_NO,  BF16, 2, 4)      \
    X(w4a16_bf16_sm80_mma_m64n256k64_s4, QB_ANY, QB_ANY, QB_ANY, BF16, 4, 4)      \
    X(w4a16_bf16_sm90a_mma_m16n256k64_s6, QB_NO, QB_NO,  16,     BF16, 1, 6)      \
    X(w4a16_bf16_sm90a_mma_m32n256k64_s6, QB_NO, QB_NO,  32,     BF16, 2, 6)

/* ---- W8A8 INT8 (cuda_int8.c, gemm_int8.cu) ----
 * mma.sync m16n8k32 s8, 4 warps, block bm x bn, k64 per stage; warps
 * wm x wn, m16 x n8 tiles per warp mt x nt.
 *   sm_80/89: m16 (M <= 16), m32, m64 (any M), 4 stages.
 *   sm_90a:   own m16 with 6 stages (decode) and m128 with 3 for M > 256;
 *             sm_80's m32, m64. */
#define QB_INT8_CONFIGS(X)                                                                 \
    /* name                           sm_80   sm_89   sm_90a  bm   bn   st wm wn mt nt */ \
    X(int8_sm80_mma_m16n128k64_s4,    16,     16,     QB_NO,  16,  128, 4, 1, 4, 1, 4)    \
    X(int8_sm80_mma_m32n128k64_s4,    32,     32,     32,     32,  128, 4, 2, 2, 1, 8)    \
    X(int8_sm80_mma_m64n128k64_s4,    QB_ANY, QB_ANY, 256,    64,  128, 4, 2, 2, 2, 8)    \
    X(int8_sm90a_mma_m16n128k64_s6,   QB_NO,  QB_NO,  16,     16,  128, 6, 1, 4, 1, 4)    \
    X(int8_sm90a_mma_m128n128k64_s3,  QB_NO,  QB_NO,  QB_ANY, 128, 128, 3, 2, 2, 4, 8)

/* ---- FP8 (cuda_fp8.c) ----
 * e4m3/e5m2 x e4m3/e5m2; the reported name inserts the dtype pair after
 * "fp8_" and appends "_block128" for block scales or "_splitk".
 * mma.sync m16n8k32 (fp8_mma.cuh, sm_89+): block bm x n128, k64 per stage,
 * warps wm x wn, tiles mt x nt.
 *   sm_80:  none (no fp8 tensor cores).
 *   sm_89:  m16 with 6 stages (M <= 16), m64 with 4 (M <= 256), m128 (8 warps) with 3.
 *   sm_90a: the same m16 (M <= 16) and m64 (M <= 64), where the GEMM
 *           streams weights and wgmma's 64-row minimum would idle. */
#define QB_FP8_MMA_CONFIGS(X)                                                          \
    /* name                          sm_80  sm_89   sm_90a  bm   st wm wn mt nt */     \
    X(fp8_sm89_mma_m16n128k64_s6,    QB_NO, 16,     16,     16,  6, 1, 4, 1, 4)        \
    X(fp8_sm89_mma_m64n128k64_s4,    QB_NO, 256,    64,     64,  4, 2, 2, 2, 8)        \
    X(fp8_sm89_mma_m128n128k64_s3,   QB_NO, QB_ANY, QB_NO,  128, 3, 4, 2, 2, 8)
/* wgmma + TMA, warp-specialized (fp8_sm90a_wgmma*.cu, sm_90a): block bm x
 * n128, k128 per stage, bm / 64 consumer warpgroups, st stages (the
 * kernel's own constant, checked against this column). m64 up to M = 256,
 * where m128 would leave most SMs idle at common N; m128 beyond. */
#define QB_FP8_WGMMA_CONFIGS(X)                                      \
    /* name                          sm_80  sm_89  sm_90a  bm   st */ \
    X(fp8_sm90a_wgmma_m64n128k128,   QB_NO, QB_NO, 256,    64,  8)   \
    X(fp8_sm90a_wgmma_m128n128k128,  QB_NO, QB_NO, QB_ANY, 128, 6)

/* ---- W4A8, QServe QoQ (cuda_w4a8.c, w4a8_kernel.cuh) ----
 * u4 codes widened to int8 in registers, mma.sync m16n8k32 s8, 4 warps,
 * block bm x n128, k64 per stage; warps wm x wn, tiles mt x nt. One
 * translation unit per bm (w4a8_gemm_m<bm>.cu). The reported name inserts
 * "g128" or "perchannel" after "w4a8_".
 *   sm_80/89: m16, m32 (4 stages), m64 (M <= 256), m128 (3 stages).
 *   sm_90a:   own m16 / m32 with 6 stages and m128 with 4; sm_80's m64. */
#define QB_W4A8_CONFIGS(X)                                                              \
    /* name                          sm_80   sm_89   sm_90a  bm   st wm wn mt nt */      \
    X(w4a8_sm80_mma_m16n128k64_s4,   16,     16,     QB_NO,  16,  4, 1, 4, 1, 4)         \
    X(w4a8_sm80_mma_m32n128k64_s4,   32,     32,     QB_NO,  32,  4, 2, 2, 1, 8)         \
    X(w4a8_sm80_mma_m64n128k64_s4,   256,    256,    256,    64,  4, 2, 2, 2, 8)         \
    X(w4a8_sm80_mma_m128n128k64_s3,  QB_ANY, QB_ANY, QB_NO,  128, 3, 2, 2, 4, 8)         \
    X(w4a8_sm90a_mma_m16n128k64_s6,  QB_NO,  QB_NO,  16,     16,  6, 1, 4, 1, 4)         \
    X(w4a8_sm90a_mma_m32n128k64_s6,  QB_NO,  QB_NO,  32,     32,  6, 2, 2, 1, 8)         \
    X(w4a8_sm90a_mma_m128n128k64_s4, QB_NO,  QB_NO,  QB_ANY, 128, 4, 2, 2, 4, 8)

/* ---- 2:4 sparse (cuda_sparse24.c, sp24_kernel.cuh) ----
 * mma.sp (m16n8k32 f16/bf16, m16n8k64 s8/e4m3/e5m2), 4 warps, a block of
 * 128 weight rows x bx tokens, a stage = 128 bytes of each X row (k64
 * f16/bf16, k128 one-byte types); dt: the weight dtype (QBLAS_DTYPE_
 * suffix), blk: fp8 block scales (1x128 x 128x128); warps ww x wx, tiles
 * wt x xt.
 *   sm_80:  f16, bf16, i8: m16 with 6 stages (M <= 16), m32 with 4, m128
 *           with 3 (any M).
 *   sm_89:  the same, plus fp8 weights: m16 (M <= 16) and m32 (any M; the
 *           promoted fp32 sums double the accumulators).
 *   sm_90a: the same, but fp8 only m16 (any M): ptxas expands fp8 mma.sp on
 *           sm_90 (the m32 kernels spill). */
#define QB_SP24_CONFIGS(X)                                                                                  \
    /* name                                         sm_80   sm_89   sm_90a  dt    bx   st blk ww wx wt xt */ \
    X(sp24_f16_sm80_mmasp_n128m16k64_s6,            16,     16,     16,     F16,  16,  6, 0,  4, 1, 2, 2)    \
    X(sp24_f16_sm80_mmasp_n128m32k64_s4,            32,     32,     32,     F16,  32,  4, 0,  4, 1, 2, 4)    \
    X(sp24_f16_sm80_mmasp_n128m128k64_s3,           QB_ANY, QB_ANY, QB_ANY, F16,  128, 3, 0,  2, 2, 4, 8)    \
    X(sp24_bf16_sm80_mmasp_n128m16k64_s6,           16,     16,     16,     BF16, 16,  6, 0,  4, 1, 2, 2)    \
    X(sp24_bf16_sm80_mmasp_n128m32k64_s4,           32,     32,     32,     BF16, 32,  4, 0,  4, 1, 2, 4)    \
    X(sp24_bf16_sm80_mmasp_n128m128k64_s3,          QB_ANY, QB_ANY, QB_ANY, BF16, 128, 3, 0,  2, 2, 4, 8)    \
    X(sp24_i8_sm80_mmasp_n128m16k128_s6,            16,     16,     16,     I8,   16,  6, 0,  4, 1, 2, 2)    \
    X(sp24_i8_sm80_mmasp_n128m32k128_s4,            32,     32,     32,     I8,   32,  4, 0,  4, 1, 2, 4)    \
    X(sp24_i8_sm80_mmasp_n128m128k128_s3,           QB_ANY, QB_ANY, QB_ANY, I8,   128, 3, 0,  2, 2, 4, 8)    \
    X(sp24_e4m3_sm89_mmasp_n128m16k128_s6,          QB_NO,  16,     QB_ANY, E4M3, 16,  6, 0,  4, 1, 2, 2)    \
    X(sp24_e4m3_sm89_mmasp_n128m32k128_s4,          QB_NO,  QB_ANY, QB_NO,  E4M3, 32,  4, 0,  4, 1, 2, 4)    \
    X(sp24_e4m3_sm89_mmasp_n128m16k128_s6_block128, QB_NO,  16,     QB_ANY, E4M3, 16,  6, 1,  4, 1, 2, 2)    \
    X(sp24_e4m3_sm89_mmasp_n128m32k128_s4_block128, QB_NO,  QB_ANY, QB_NO,  E4M3, 32,  4, 1,  4, 1, 2, 4)    \
    X(sp24_e5m2_sm89_mmasp_n128m16k128_s6,          QB_NO,  16,     QB_ANY, E5M2, 16,  6, 0,  4, 1, 2, 2)    \
    X(sp24_e5m2_sm89_mmasp_n128m32k128_s4,          QB_NO,  QB_ANY, QB_NO,  E5M2, 32,  4, 0,  4, 1, 2, 4)    \
    X(sp24_e5m2_sm89_mmasp_n128m16k128_s6_block128, QB_NO,  16,     QB_ANY, E5M2, 16,  6, 1,  4, 1, 2, 2)    \
    X(sp24_e5m2_sm89_mmasp_n128m32k128_s4_block128, QB_NO,  QB_ANY, QB_NO,  E5M2, 32,  4, 1,  4, 1, 2, 4)

/* ---- attention (cuda_attention.c): host-side policies, one kernel set ----
 * Decode (attn_decode*.cu): the same kernels everywhere; a configuration is
 * the flash-decoding split policy: fill ctas resident CTAs per SM by
 * splitting each sequence, a split at least min_tok keys of max_seq_len, at
 * most max_s splits (max_s 1: never split). The default fills 2 CTAs per SM
 * (the G = 8 kernels use ~250 registers: two 128-thread CTAs per SM);
 * fill4 splits finer (long contexts, small batches), nosplit never.
 * Prefill (attn_prefill*.cu): one configuration (q64 tiles, mma.sync). */
#define QB_ATTN_DECODE_CONFIGS(X)                                        \
    /* name                   sm_80   sm_89   sm_90a  ctas min_tok max_s */ \
    X(attn_decode_sm80_fill2,   QB_ANY, QB_ANY, QB_ANY, 2,   256,    64)    \
    X(attn_decode_sm80_fill4,   QB_OPT, QB_OPT, QB_OPT, 4,   128,    64)    \
    X(attn_decode_sm80_nosplit, QB_OPT, QB_OPT, QB_OPT, 1,   256,    1)
#define QB_ATTN_PREFILL_CONFIGS(X)                       \
    /* name                       sm_80   sm_89   sm_90a */ \
    X(attn_prefill_sm80_mma_q64,  QB_ANY, QB_ANY, QB_ANY)

#endif /* QBLAS_CUDA_KERNEL_CONFIGS_H */
