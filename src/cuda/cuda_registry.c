/* cuda_registry.c - which kernels each GPU architecture gets (BLIS-style
 * configuration registry). qblas_create picks the architecture entry by
 * compute capability; each GEMM picks the first configuration of that entry
 * whose max_m covers its M. $QBLAS_CUDA_KERNEL=<base name> forces one
 * configuration for every M (tests use it to run each kernel on every shape).
 *
 *   sm_80   A100 (and 8.6/8.7, which run sm_80 code): mma.sync kernels with a
 *           4-stage cp.async pipeline, m16 / m32 / m64 block rows.
 *   sm_89   L40/4090: inherits sm_80's configurations unchanged (99 KB of
 *           shared memory per block fits every 4-stage one); the code is
 *           compiled for sm_89 itself.
 *   sm_90a  H100: own m16 / m32 configurations with a 6-stage pipeline (more
 *           bytes in flight per SM for HBM3 at small M); inherits sm_80's m64.
 *
 * Every configuration: 4 warps, block tile n256 x k64 per stage, split-K
 * when the grid would not fill the GPU (cuda_w4a16.c plans it).
 *
 * W8A8 INT8 (mma.sync m16n8k32 s8, 4 warps, n128 x k64 per stage):
 *   sm_80   m16 (M <= 16), m32 (M <= 32), m64 (any M), 4-stage pipelines.
 *   sm_89   inherits sm_80's list.
 *   sm_90a  own m16 with 6 stages (more bytes in flight for HBM3 at decode
 *           sizes) and m128 with 3 stages for M > 256; sm_80's m32, m64.
 */
#include <string.h>

#include "cuda_backend.h"

#define W4_NAME(dt, arch, m, s) "w4a16_" #dt "_" #arch "_mma_m" #m "n256k64_s" #s
#define W4_ACT_f16 QBLAS_DTYPE_F16
#define W4_ACT_bf16 QBLAS_DTYPE_BF16
#define W4_CFG(var, dt, arch, mt, m, s, max_m)                                                             \
    static const qb_cuda_w4a16_cfg var = {                                                                 \
        {{W4_NAME(dt, arch, m, s), W4_NAME(dt, arch, m, s) "_f32dq"},                                      \
         {W4_NAME(dt, arch, m, s) "_splitk", W4_NAME(dt, arch, m, s) "_f32dq_splitk"}},                    \
        W4_ACT_##dt, mt, s, max_m}

/* ---- sm_80 ---- */
W4_CFG(f16_sm80_m16, f16, sm80, 1, 16, 4, 16);
W4_CFG(f16_sm80_m32, f16, sm80, 2, 32, 4, 32);
W4_CFG(f16_sm80_m64, f16, sm80, 4, 64, 4, -1);
W4_CFG(bf16_sm80_m16, bf16, sm80, 1, 16, 4, 16);
W4_CFG(bf16_sm80_m32, bf16, sm80, 2, 32, 4, 32);
W4_CFG(bf16_sm80_m64, bf16, sm80, 4, 64, 4, -1);
static const qb_cuda_w4a16_cfg *const sm80_w4a16[] = {&f16_sm80_m16,  &f16_sm80_m32,  &f16_sm80_m64,
                                                      &bf16_sm80_m16, &bf16_sm80_m32, &bf16_sm80_m64, NULL};

/* ---- sm_90a ---- */
W4_CFG(f16_sm90a_m16, f16, sm90a, 1, 16, 6, 16);
W4_CFG(f16_sm90a_m32, f16, sm90a, 2, 32, 6, 32);
W4_CFG(bf16_sm90a_m16, bf16, sm90a, 1, 16, 6, 16);
W4_CFG(bf16_sm90a_m32, bf16, sm90a, 2, 32, 6, 32);
static const qb_cuda_w4a16_cfg *const sm90a_w4a16[] = {&f16_sm90a_m16,  &f16_sm90a_m32,  &f16_sm80_m64,
                                                       &bf16_sm90a_m16, &bf16_sm90a_m32, &bf16_sm80_m64, NULL};

/* ---- INT8 ---- */
#define I8_CFG(var, arch, bm, bn, s, max_m) \
    static const qb_cuda_int8_cfg var = {"int8_" #arch "_mma_m" #bm "n" #bn "k64_s" #s, bm, bn, s, max_m}
I8_CFG(i8_sm80_m16, sm80, 16, 128, 4, 16);
I8_CFG(i8_sm80_m32, sm80, 32, 128, 4, 32);
I8_CFG(i8_sm80_m64, sm80, 64, 128, 4, -1);
I8_CFG(i8_sm90a_m16, sm90a, 16, 128, 6, 16);
I8_CFG(i8_sm80_m64_mid, sm80, 64, 128, 4, 256); /* sm_90a: up to M = 256, then m128 */
I8_CFG(i8_sm90a_m128, sm90a, 128, 128, 3, -1);
static const qb_cuda_int8_cfg *const sm80_int8[] = {&i8_sm80_m16, &i8_sm80_m32, &i8_sm80_m64, NULL};
static const qb_cuda_int8_cfg *const sm90a_int8[] = {&i8_sm90a_m16, &i8_sm80_m32, &i8_sm80_m64_mid, &i8_sm90a_m128,
                                                     NULL};

/* ---- FP8 ----
 * e4m3/e5m2 x e4m3/e5m2 (cuda_fp8.c builds the reported name from the base
 * name: dtype pair after "fp8_", "_block128" for block scales, "_splitk"
 * when the mma.sync path splits K to fill the GPU).
 *   sm_80   none: no fp8 tensor cores (NOT_SUPPORTED).
 *   sm_89   mma.sync m16n8k32 (fp8_mma.cuh), n128 x k64 per stage: m16 with 6
 *           stages (M <= 16: weight streaming, bytes in flight), m64 with 4
 *           (M <= 256), m128 (8 warps, 64 rows x 64 columns each) with 3.
 *   sm_90a  the same mma.sync m16 (M <= 16) and m64 (M <= 64), where the
 *           GEMM streams weights and wgmma's 64-row minimum would idle;
 *           above, wgmma + TMA warp-specialized (fp8_sm90a_wgmma*.cu): m64
 *           (one consumer warpgroup) up to M = 256, where m128 would leave
 *           most of the 132 SMs idle at common N, and m128 beyond. */
#include "kernels_fp8.h"
#define FP8_MMA_CFG(var, arch, bm, s, max_m) \
    static const qb_cuda_fp8_cfg var = {"fp8_" #arch "_mma_m" #bm "n128k64_s" #s, max_m, 0, bm, s, 0}
#define FP8_WGMMA_CFG(var, bm, cfg, max_m) \
    static const qb_cuda_fp8_cfg var = {"fp8_sm90a_wgmma_m" #bm "n128k128", max_m, 1, bm, 0, cfg}
FP8_MMA_CFG(fp8_sm89_m16, sm89, 16, 6, 16);
FP8_MMA_CFG(fp8_sm89_m64, sm89, 64, 4, 256);
FP8_MMA_CFG(fp8_sm89_m64_small, sm89, 64, 4, 64); /* sm_90a: up to M = 64, then wgmma */
FP8_MMA_CFG(fp8_sm89_m128, sm89, 128, 3, -1);
FP8_WGMMA_CFG(fp8_sm90a_m64, 64, QB_FP8_SM90A_M64, 256);
FP8_WGMMA_CFG(fp8_sm90a_m128, 128, QB_FP8_SM90A_M128, -1);
static const qb_cuda_fp8_cfg *const sm80_fp8[] = {NULL}; /* no fp8 tensor cores */
static const qb_cuda_fp8_cfg *const sm89_fp8[] = {&fp8_sm89_m16, &fp8_sm89_m64, &fp8_sm89_m128, NULL};
static const qb_cuda_fp8_cfg *const sm90a_fp8[] = {&fp8_sm89_m16, &fp8_sm89_m64_small, &fp8_sm90a_m64,
                                                   &fp8_sm90a_m128, NULL};

/* ---- W4A8 ----
 * (QServe QoQ: u4 codes widened to int8 in registers, mma.sync m16n8k32 s8,
 * 4 warps, n128 x k64 per stage; split-K with exact int32 partials when the
 * grid would not fill the GPU.)
 *   sm_80   m16, m32 (4 stages), m64 (M <= 256), m128 (3 stages) for larger M.
 *   sm_89   inherits sm_80's list.
 *   sm_90a  own m16 / m32 with 6 stages (bytes in flight for HBM3 at decode
 *           sizes) and m128 with 4 stages; sm_80's m64. */
#define W8_NAME(v, arch, m, s) "w4a8_" #v "_" #arch "_mma_m" #m "n128k64_s" #s
#define W8_CFG(var, arch, bm, s, max_m)                                                                      \
    static const qb_cuda_w4a8_cfg var = {{{W8_NAME(g128, arch, bm, s), W8_NAME(g128, arch, bm, s) "_splitk"}, \
                                          {W8_NAME(perchannel, arch, bm, s),                                 \
                                           W8_NAME(perchannel, arch, bm, s) "_splitk"}},                     \
                                         bm, s, max_m}
W8_CFG(w8_sm80_m16, sm80, 16, 4, 16);
W8_CFG(w8_sm80_m32, sm80, 32, 4, 32);
W8_CFG(w8_sm80_m64, sm80, 64, 4, 256);
W8_CFG(w8_sm80_m128, sm80, 128, 3, -1);
W8_CFG(w8_sm90a_m16, sm90a, 16, 6, 16);
W8_CFG(w8_sm90a_m32, sm90a, 32, 6, 32);
W8_CFG(w8_sm90a_m128, sm90a, 128, 4, -1);
static const qb_cuda_w4a8_cfg *const sm80_w4a8[] = {&w8_sm80_m16, &w8_sm80_m32, &w8_sm80_m64, &w8_sm80_m128, NULL};
static const qb_cuda_w4a8_cfg *const sm90a_w4a8[] = {&w8_sm90a_m16, &w8_sm90a_m32, &w8_sm80_m64, &w8_sm90a_m128,
                                                     NULL};

/* ---- 2:4 sparse ----
 * mma.sp (m16n8k32 f16/bf16, m16n8k64 s8/e4m3/e5m2), 4 warps, a block of
 * 128 weight rows x bx tokens, one stage = 128 bytes of each X row (k64
 * f16/bf16, k128 i8/fp8). Name:
 * sp24_<w dtype>_<arch>_mmasp_n128m<bx>k<stage k>_s<stages>[_block128].
 *   sm_80   f16, bf16, i8: m16 with 6 stages (M <= 16, decode: bytes in
 *           flight), m32 with 4 (M <= 32), m128 with 3 (any M; 2 blocks per
 *           SM by registers).
 *   sm_89   the same, plus fp8 (e4m3/e5m2 weights), per-tensor/per-row or
 *           block scales: m16 (M <= 16) and m32 (any M: the fp32 sums
 *           promoted every 128 k double the accumulators).
 *   sm_90a  the same, but fp8 only m16 (any M): ptxas expands fp8 mma.sp on
 *           sm_90 (168 registers for m16, the m32 kernels spill); Hopper's
 *           fp8 path is wgmma(.sp), future work. */
#define SP24_CFG(var, dt, DT, arch, bx, k, s, block, sfx, max_m)                                                 \
    static const qb_cuda_sparse24_cfg var = {"sp24_" #dt "_" #arch "_mmasp_n128m" #bx "k" #k "_s" #s sfx, DT, bx, s, \
                                             block, max_m}
SP24_CFG(sp24_f16_m16, f16, QBLAS_DTYPE_F16, sm80, 16, 64, 6, 0, "", 16);
SP24_CFG(sp24_f16_m32, f16, QBLAS_DTYPE_F16, sm80, 32, 64, 4, 0, "", 32);
SP24_CFG(sp24_f16_m128, f16, QBLAS_DTYPE_F16, sm80, 128, 64, 3, 0, "", -1);
SP24_CFG(sp24_bf16_m16, bf16, QBLAS_DTYPE_BF16, sm80, 16, 64, 6, 0, "", 16);
SP24_CFG(sp24_bf16_m32, bf16, QBLAS_DTYPE_BF16, sm80, 32, 64, 4, 0, "", 32);
SP24_CFG(sp24_bf16_m128, bf16, QBLAS_DTYPE_BF16, sm80, 128, 64, 3, 0, "", -1);
SP24_CFG(sp24_i8_m16, i8, QBLAS_DTYPE_I8, sm80, 16, 128, 6, 0, "", 16);
SP24_CFG(sp24_i8_m32, i8, QBLAS_DTYPE_I8, sm80, 32, 128, 4, 0, "", 32);
SP24_CFG(sp24_i8_m128, i8, QBLAS_DTYPE_I8, sm80, 128, 128, 3, 0, "", -1);
SP24_CFG(sp24_e4m3_m16, e4m3, QBLAS_DTYPE_E4M3, sm89, 16, 128, 6, 0, "", 16);
SP24_CFG(sp24_e4m3_m32, e4m3, QBLAS_DTYPE_E4M3, sm89, 32, 128, 4, 0, "", -1);
SP24_CFG(sp24_e4m3_m16_b, e4m3, QBLAS_DTYPE_E4M3, sm89, 16, 128, 6, 1, "_block128", 16);
SP24_CFG(sp24_e4m3_m32_b, e4m3, QBLAS_DTYPE_E4M3, sm89, 32, 128, 4, 1, "_block128", -1);
SP24_CFG(sp24_e5m2_m16, e5m2, QBLAS_DTYPE_E5M2, sm89, 16, 128, 6, 0, "", 16);
SP24_CFG(sp24_e5m2_m32, e5m2, QBLAS_DTYPE_E5M2, sm89, 32, 128, 4, 0, "", -1);
SP24_CFG(sp24_e5m2_m16_b, e5m2, QBLAS_DTYPE_E5M2, sm89, 16, 128, 6, 1, "_block128", 16);
SP24_CFG(sp24_e5m2_m32_b, e5m2, QBLAS_DTYPE_E5M2, sm89, 32, 128, 4, 1, "_block128", -1);
SP24_CFG(sp24_e4m3_m16_any, e4m3, QBLAS_DTYPE_E4M3, sm89, 16, 128, 6, 0, "", -1); /* sm_90a */
SP24_CFG(sp24_e4m3_m16_b_any, e4m3, QBLAS_DTYPE_E4M3, sm89, 16, 128, 6, 1, "_block128", -1);
SP24_CFG(sp24_e5m2_m16_any, e5m2, QBLAS_DTYPE_E5M2, sm89, 16, 128, 6, 0, "", -1);
SP24_CFG(sp24_e5m2_m16_b_any, e5m2, QBLAS_DTYPE_E5M2, sm89, 16, 128, 6, 1, "_block128", -1);
#define SP24_BASE                                                                                     \
    &sp24_f16_m16, &sp24_f16_m32, &sp24_f16_m128, &sp24_bf16_m16, &sp24_bf16_m32, &sp24_bf16_m128, \
        &sp24_i8_m16, &sp24_i8_m32, &sp24_i8_m128
#define SP24_FP8                                                                                         \
    &sp24_e4m3_m16, &sp24_e4m3_m32, &sp24_e4m3_m16_b, &sp24_e4m3_m32_b, &sp24_e5m2_m16, &sp24_e5m2_m32, \
        &sp24_e5m2_m16_b, &sp24_e5m2_m32_b
static const qb_cuda_sparse24_cfg *const sm80_sparse24[] = {SP24_BASE, NULL};
static const qb_cuda_sparse24_cfg *const sm89_sparse24[] = {SP24_BASE, SP24_FP8, NULL};
static const qb_cuda_sparse24_cfg *const sm90a_sparse24[] = {SP24_BASE, &sp24_e4m3_m16_any, &sp24_e4m3_m16_b_any,
                                                             &sp24_e5m2_m16_any, &sp24_e5m2_m16_b_any, NULL};
#undef SP24_BASE
#undef SP24_FP8

/* ---- attention ----
 * Decode (attn_decode*.cu): one kernel template for every architecture
 * (4 warps, cp.async pipeline of 3/4/6 stages for 16/8/4-bit caches, 16-32 KB
 * in flight per CTA); names "attn_decode_<kv>_d<D>_g<GT>_<tag>[_split]".
 * sm_80 and sm_89 (which shares sm_80's list) report "sm80", except e4m3
 * caches on cc >= 8.9, which decode fp8 with the hardware conversion and
 * report "sm89". The planner fills ctas_per_sm resident CTAs per SM (the
 * G = 8 kernels use ~250 registers: two 128-thread CTAs per SM) by splitting
 * the context, each split at least min_split_tokens keys of max_seq_len.
 * sm_90a: the same kernels and policy (the sm_80 code path, "sm80" names).
 * Prefill (attn_prefill*.cu, qo_indptr given) names its own kernels. */
static const qb_cuda_attn_cfg attn_decode_cfg = {"attn_decode", "sm80", 2, 256, 64};
static const qb_cuda_attn_cfg *const sm80_attn[] = {&attn_decode_cfg, NULL};
static const qb_cuda_attn_cfg *const sm90a_attn[] = {&attn_decode_cfg, NULL};

static const qb_cuda_arch archs[] = {
    {.name = "sm_90a", .cc_min = 90, .cc_max = 90, .inherits = "sm_80 (m64)", .w4a16 = sm90a_w4a16,
     .int8 = sm90a_int8, .fp8 = sm90a_fp8, .w4a8 = sm90a_w4a8, .sparse24 = sm90a_sparse24, .attn = sm90a_attn},
    {.name = "sm_89", .cc_min = 89, .cc_max = 89, .inherits = "sm_80", .w4a16 = sm80_w4a16, .int8 = sm80_int8,
     .fp8 = sm89_fp8, .w4a8 = sm80_w4a8, .sparse24 = sm89_sparse24, .attn = sm80_attn},
    {.name = "sm_80", .cc_min = 80, .cc_max = 88, .inherits = NULL, .w4a16 = sm80_w4a16, .int8 = sm80_int8,
     .fp8 = sm80_fp8, .w4a8 = sm80_w4a8, .sparse24 = sm80_sparse24, .attn = sm80_attn},
};

const qb_cuda_arch *qb_cuda_arch_for(int cc)
{
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (cc >= archs[i].cc_min && cc <= archs[i].cc_max) return &archs[i];
    return NULL;
}

const qb_cuda_w4a16_cfg *qb_cuda_w4a16_pick(const qb_cuda_arch *arch, qblas_dtype_t act, int64_t m, int smem_optin)
{
    for (const qb_cuda_w4a16_cfg *const *c = arch->w4a16; *c; c++) {
        if ((*c)->act != act || qb_cuda_w4a16_smem(*c) > (size_t)smem_optin) continue;
        if ((*c)->max_m < 0 || m <= (*c)->max_m) return *c;
    }
    return NULL;
}

const qb_cuda_w4a16_cfg *qb_cuda_w4a16_find(const qb_cuda_arch *arch, const char *name)
{
    for (const qb_cuda_w4a16_cfg *const *c = arch->w4a16; *c; c++)
        if (strcmp((*c)->names[0][0], name) == 0) return *c;
    return NULL;
}

size_t qb_cuda_w4a16_max_smem(const qb_cuda_arch *arch)
{
    size_t most = 0;
    for (const qb_cuda_w4a16_cfg *const *c = arch->w4a16; *c; c++)
        if (qb_cuda_w4a16_smem(*c) > most) most = qb_cuda_w4a16_smem(*c);
    return most;
}

const qb_cuda_int8_cfg *qb_cuda_int8_pick(const qb_cuda_arch *arch, int64_t m, int smem_optin)
{
    for (const qb_cuda_int8_cfg *const *c = arch->int8; *c; c++) {
        if (qb_cuda_int8_smem(*c) > (size_t)smem_optin) continue;
        if ((*c)->max_m < 0 || m <= (*c)->max_m) return *c;
    }
    return NULL;
}

size_t qb_cuda_int8_max_smem(const qb_cuda_arch *arch)
{
    size_t most = 0;
    for (const qb_cuda_int8_cfg *const *c = arch->int8; *c; c++)
        if (qb_cuda_int8_smem(*c) > most) most = qb_cuda_int8_smem(*c);
    return most;
}

/* Every GEMM configuration the architecture of compute capability cc lists,
 * by family and the name its kernels report (fp8: the base name; the
 * reported one inserts the dtype pair after "fp8_"). The GPU harness checks
 * that each ran (tests/gpu/gpu_harness.c). Returns how many; 0 for an
 * unknown cc. */
int qb_cuda_catalog(int cc, void (*fn)(void *ctx, const char *family, const char *name), void *ctx)
{
    const qb_cuda_arch *a = qb_cuda_arch_for(cc);
    int n = 0;
    if (!a) return 0;
    for (const qb_cuda_w4a16_cfg *const *c = a->w4a16; *c; c++, n++) fn(ctx, "w4a16", (*c)->names[0][0]);
    for (const qb_cuda_int8_cfg *const *c = a->int8; *c; c++, n++) fn(ctx, "int8", (*c)->name);
    for (const qb_cuda_fp8_cfg *const *c = a->fp8; *c; c++, n++) fn(ctx, "fp8", (*c)->name);
    for (const qb_cuda_w4a8_cfg *const *c = a->w4a8; *c; c++, n += 2) {
        fn(ctx, "w4a8", (*c)->names[0][0]);
        fn(ctx, "w4a8", (*c)->names[1][0]);
    }
    for (const qb_cuda_sparse24_cfg *const *c = a->sparse24; *c; c++, n++) fn(ctx, "sparse24", (*c)->name);
    return n;
}
