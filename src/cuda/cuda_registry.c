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

/* ---- FP8 ---- */
static const qb_cuda_fp8_cfg *const sm80_fp8[] = {NULL}; /* no fp8 tensor cores */
static const qb_cuda_fp8_cfg *const sm89_fp8[] = {NULL};
static const qb_cuda_fp8_cfg *const sm90a_fp8[] = {NULL};

/* ---- W4A8 ---- */
static const qb_cuda_w4a8_cfg *const sm80_w4a8[] = {NULL};
static const qb_cuda_w4a8_cfg *const sm90a_w4a8[] = {NULL};

/* ---- 2:4 sparse ---- */
static const qb_cuda_sparse24_cfg *const sm80_sparse24[] = {NULL};
static const qb_cuda_sparse24_cfg *const sm89_sparse24[] = {NULL};
static const qb_cuda_sparse24_cfg *const sm90a_sparse24[] = {NULL};

/* ---- attention ---- */
static const qb_cuda_attn_cfg *const sm80_attn[] = {NULL};
static const qb_cuda_attn_cfg *const sm90a_attn[] = {NULL};

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
