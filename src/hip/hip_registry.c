/* hip_registry.c - the AMD kernels of each gfx target (hip_registry.h).
 *
 *   gfx90a  (MI200, CDNA2) v_mfma_f32_16x16x16_{f16,bf16} (W4A16, 2:4
 *           f16/bf16 dense path), v_mfma_i32_16x16x16_i8 (INT8, W4A8, 2:4 i8
 *           dense path); no fp8 MFMA: FP8 and 2:4 fp8 are NOT_SUPPORTED.
 *   gfx942  (MI300, CDNA3) the same f16/bf16 MFMA, v_mfma_i32_16x16x32_i8,
 *           v_mfma_f32_16x16x32_{fp8,bf8}_{fp8,bf8} (FP8, 2:4 fp8 dense path).
 *
 * Every configuration: 4 wavefronts of 64 lanes, block n128 (weight rows) x
 * m16 / m64 / m128 (tokens), k64 per stage, operands from global memory
 * into registers (hip_gemm.cuh). 2:4 runs dense with the weight
 * decompressed at prepack on both targets (the names say "dense"): the
 * gfx942 smfmac forms are wrapped (hip_isa.h) but no kernel uses them yet.
 * The host dispatch (hip_backend.c, qb_hip_select) picks among them and
 * launches the shape through the target's launcher table; the choice index
 * of a plan is a position in the target's list. */
#include <string.h>

#include "hip_kernels_shapes.h"
#include "hip_registry.h"

#define CFG(var, name_, fmt, act_, shape_, max_m_) \
    static const qb_hip_cfg var = {name_, QBLAS_WFORMAT_##fmt, QBLAS_DTYPE_##act_, shape_, max_m_}
/* names: <family>_<target>_<instruction>_<block> (the CUDA names' order, <family>_sm<cc>_...) */
#define SHAPES3(pfx, fam, fmt, act, tgt, inst)                                                         \
    CFG(pfx##_m16, fam "_" tgt "_" inst "_m16n128k64", fmt, act, QB_HIP_SHAPE_M16, 16);               \
    CFG(pfx##_m64, fam "_" tgt "_" inst "_m64n128k64", fmt, act, QB_HIP_SHAPE_M64, 64);               \
    CFG(pfx##_m128, fam "_" tgt "_" inst "_m128n128k64", fmt, act, QB_HIP_SHAPE_M128, -1)
#define LIST3(pfx) &pfx##_m16, &pfx##_m64, &pfx##_m128

/* ---- gfx90a ---- */
SHAPES3(w4a16_f16_90a, "w4a16_f16", W4A16, F16, "gfx90a", "mfma_f32_16x16x16_f16");
SHAPES3(w4a16_bf16_90a, "w4a16_bf16", W4A16, BF16, "gfx90a", "mfma_f32_16x16x16_bf16");
SHAPES3(int8_90a, "int8", INT8, I8, "gfx90a", "mfma_i32_16x16x16_i8");
SHAPES3(w4a8_90a, "w4a8", W4A8, I8, "gfx90a", "mfma_i32_16x16x16_i8");
SHAPES3(sp24_f16_90a, "sp24_f16", SPARSE24, F16, "gfx90a", "dense_mfma_f32_16x16x16_f16");
SHAPES3(sp24_bf16_90a, "sp24_bf16", SPARSE24, BF16, "gfx90a", "dense_mfma_f32_16x16x16_bf16");
SHAPES3(sp24_i8_90a, "sp24_i8", SPARSE24, I8, "gfx90a", "dense_mfma_i32_16x16x16_i8");
static const qb_hip_cfg *const gfx90a_cfgs[] = {
    LIST3(w4a16_f16_90a), LIST3(w4a16_bf16_90a), LIST3(int8_90a),    LIST3(w4a8_90a),
    LIST3(sp24_f16_90a),  LIST3(sp24_bf16_90a),  LIST3(sp24_i8_90a), NULL};

/* ---- gfx942 ---- */
SHAPES3(w4a16_f16_942, "w4a16_f16", W4A16, F16, "gfx942", "mfma_f32_16x16x16_f16");
SHAPES3(w4a16_bf16_942, "w4a16_bf16", W4A16, BF16, "gfx942", "mfma_f32_16x16x16_bf16");
SHAPES3(int8_942, "int8", INT8, I8, "gfx942", "mfma_i32_16x16x32_i8");
SHAPES3(w4a8_942, "w4a8", W4A8, I8, "gfx942", "mfma_i32_16x16x32_i8");
SHAPES3(fp8_e4m3_942, "fp8", FP8, E4M3, "gfx942", "mfma_f32_16x16x32_fp8");
SHAPES3(fp8_e5m2_942, "fp8", FP8, E5M2, "gfx942", "mfma_f32_16x16x32_bf8");
SHAPES3(sp24_f16_942, "sp24_f16", SPARSE24, F16, "gfx942", "dense_mfma_f32_16x16x16_f16");
SHAPES3(sp24_bf16_942, "sp24_bf16", SPARSE24, BF16, "gfx942", "dense_mfma_f32_16x16x16_bf16");
SHAPES3(sp24_i8_942, "sp24_i8", SPARSE24, I8, "gfx942", "dense_mfma_i32_16x16x32_i8");
SHAPES3(sp24_e4m3_942, "sp24_e4m3", SPARSE24, E4M3, "gfx942", "dense_mfma_f32_16x16x32_fp8");
SHAPES3(sp24_e5m2_942, "sp24_e5m2", SPARSE24, E5M2, "gfx942", "dense_mfma_f32_16x16x32_bf8");
static const qb_hip_cfg *const gfx942_cfgs[] = {
    LIST3(w4a16_f16_942), LIST3(w4a16_bf16_942), LIST3(int8_942),      LIST3(w4a8_942),
    LIST3(fp8_e4m3_942),  LIST3(fp8_e5m2_942),   LIST3(sp24_f16_942),  LIST3(sp24_bf16_942),
    LIST3(sp24_i8_942),   LIST3(sp24_e4m3_942),  LIST3(sp24_e5m2_942), NULL};

static const qb_hip_target targets[] = {
    {"gfx90a", 0, gfx90a_cfgs},
    {"gfx942", 1, gfx942_cfgs},
};

const qb_hip_target *qb_hip_target_find(const char *gfx)
{
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (gfx && strcmp(gfx, targets[i].name) == 0) return &targets[i];
    return NULL;
}

size_t qb_hip_target_kernels(const qb_hip_target *t, qblas_wformat_t f, qblas_dtype_t act, const char **names,
                             size_t cap)
{
    size_t n = 0;
    for (const qb_hip_cfg *const *c = t->cfgs; *c; c++) {
        if ((*c)->format != f || (*c)->act != act) continue;
        if (n < cap) names[n] = (*c)->name;
        n++;
    }
    return n;
}

int qb_hip_catalog(const char *gfx, void (*fn)(void *ctx, const char *family, const char *name), void *ctx)
{
    const qb_hip_target *t = qb_hip_target_find(gfx);
    int n = 0;
    if (!t) return 0;
    static const char *const fam[] = {[QBLAS_WFORMAT_W4A16] = "w4a16", [QBLAS_WFORMAT_INT8] = "int8",
                                      [QBLAS_WFORMAT_FP8] = "fp8", [QBLAS_WFORMAT_W4A8] = "w4a8",
                                      [QBLAS_WFORMAT_SPARSE24] = "sparse24"};
    for (const qb_hip_cfg *const *c = t->cfgs; *c; c++, n++) fn(ctx, fam[(*c)->format], (*c)->name);
    return n;
}
