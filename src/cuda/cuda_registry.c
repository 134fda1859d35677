/* cuda_registry.c - which kernel configuration a call runs (BLIS-style
 * configuration registry, DeepGEMM's single get_best_config as the model).
 *
 * The table below is built from kernel_configs.h, the one list the kernels'
 * translation units build their instances from. qblas_create picks the
 * architecture by compute capability (its column of the lists); every
 * family then asks qb_cuda_select, the one selector:
 *
 *   1. a plan's configuration (qblas_gemm_planned, qblas_attention_planned),
 *      checked to run this call;
 *   2. $QBLAS_CUDA_KERNEL, when it names a configuration of this family
 *      (other families keep their defaults);
 *   3. the handle's tuning row covering the call, when its configuration
 *      runs the call and fits this device's shared memory;
 *   4. the architecture's default: of the configurations that run the call
 *      and fit, the one with the smallest M bound covering M.
 *
 *   sm_80   A100 (and 8.6/8.7, which run sm_80 code).
 *   sm_89   L40/4090: sm_80's configurations plus the fp8 ones.
 *   sm_90a  H100/H200: own configurations for decode-sized M and wgmma FP8.
 */
#include <string.h>

#include "../core/tuning.h"
#include "cuda_backend.h"
#include "kernel_configs.h"
#include "kernels_fp8.h"
#include "kernels_sparse24.h"
#include "kernels_w4a8.h"

/* Every configuration gets an enumerator: a name listed twice does not compile. */
#define QB_CFG_ENUM(name, ...) QB_CFG_##name,
enum {
    QB_W4A16_CONFIGS(QB_CFG_ENUM) QB_INT8_CONFIGS(QB_CFG_ENUM) QB_FP8_MMA_CONFIGS(QB_CFG_ENUM)
        QB_FP8_WGMMA_CONFIGS(QB_CFG_ENUM) QB_W4A8_CONFIGS(QB_CFG_ENUM) QB_SP24_CONFIGS(QB_CFG_ENUM)
            QB_ATTN_DECODE_CONFIGS(QB_CFG_ENUM) QB_ATTN_PREFILL_CONFIGS(QB_CFG_ENUM) QB_CFG_COUNT
};
#undef QB_CFG_ENUM

/* ... and a compiled configuration no architecture lists does not compile either. */
#define QB_CFG_LISTED(name, a80, a89, a90, ...) \
    _Static_assert((a80) != QB_NO || (a89) != QB_NO || (a90) != QB_NO, #name " is built but on no architecture");
QB_W4A16_CONFIGS(QB_CFG_LISTED)
QB_INT8_CONFIGS(QB_CFG_LISTED)
QB_FP8_MMA_CONFIGS(QB_CFG_LISTED)
QB_FP8_WGMMA_CONFIGS(QB_CFG_LISTED)
QB_W4A8_CONFIGS(QB_CFG_LISTED)
QB_SP24_CONFIGS(QB_CFG_LISTED)
QB_ATTN_DECODE_CONFIGS(QB_CFG_LISTED)
QB_ATTN_PREFILL_CONFIGS(QB_CFG_LISTED)
#undef QB_CFG_LISTED

/* ---- the table: one row per configuration, in the enumerators' order ---- */
#define DT(t) QBLAS_DTYPE_##t
#define ROW(id, fam_, a80, a89, a90) .name = #id, .fam = fam_, .max_m = {a80, a89, a90}
#define W4A16_ROW(id, a80, a89, a90, act, mt, st)                                                          \
    {ROW(id, QB_FAM_W4A16, a80, a89, a90), .dtype = DT(act), .bm = 16 * (mt), .bn = QB_W4_BN, .stages = st, \
     .smem = (size_t)(st) * QB_W4_STAGE_BYTES(mt)},
#define INT8_ROW(id, a80, a89, a90, bm_, bn_, st, ...)                                                         \
    {ROW(id, QB_FAM_INT8, a80, a89, a90), .dtype = QB_DTYPE_ANY, .bm = bm_, .bn = bn_, .stages = st,           \
     .smem = (size_t)(st) * QB_I8_STAGE_BYTES(bm_, bn_)},
#define FP8_MMA_ROW(id, a80, a89, a90, bm_, st, ...)                                                                 \
    {ROW(id, QB_FAM_FP8, a80, a89, a90), .dtype = QB_DTYPE_ANY, .bm = bm_, .bn = QB_FP8_MMA_BN, .stages = st,        \
     .smem = (size_t)(st) * QB_FP8_MMA_STAGE_BYTES(bm_)},
#define FP8_WGMMA_ROW(id, a80, a89, a90, bm_, st)                                                                    \
    {ROW(id, QB_FAM_FP8, a80, a89, a90), .dtype = QB_DTYPE_ANY, .bm = bm_, .bn = QB_FP8_MMA_BN, .stages = st,        \
     .variant = 1, .smem = QB_FP8_WGMMA_SMEM(bm_, st)},
#define W4A8_ROW(id, a80, a89, a90, bm_, st, ...)                                                                     \
    {ROW(id, QB_FAM_W4A8, a80, a89, a90), .dtype = QB_DTYPE_ANY, .bm = bm_, .bn = QB_W4A8_BN, .stages = st,           \
     .smem = (size_t)(st) * QB_W4A8_STAGE_BYTES(bm_)},
#define SP24_ROW(id, a80, a89, a90, dt, bx, st, blk, ...)                                                             \
    {ROW(id, QB_FAM_SPARSE24, a80, a89, a90), .dtype = DT(dt), .bm = bx, .bn = QB_SP24_BW, .stages = st,              \
     .variant = blk, .smem = (size_t)(st) * QB_SP24_STAGE_BYTES(bx, DT(dt) == DT(F16) || DT(dt) == DT(BF16) ? 2 : 1)},
#define DECODE_ROW(id, a80, a89, a90, ctas, min_tok, max_s)                                                     \
    {ROW(id, QB_FAM_ATTN_DECODE, a80, a89, a90), .dtype = QB_DTYPE_ANY, .ctas_per_sm = ctas,                    \
     .min_split_tokens = min_tok, .max_splits = max_s},
#define PREFILL_ROW(id, a80, a89, a90) {ROW(id, QB_FAM_ATTN_PREFILL, a80, a89, a90), .dtype = QB_DTYPE_ANY},

static const qb_cuda_cfg table[QB_CFG_COUNT] = {
    QB_W4A16_CONFIGS(W4A16_ROW) QB_INT8_CONFIGS(INT8_ROW) QB_FP8_MMA_CONFIGS(FP8_MMA_ROW)
        QB_FP8_WGMMA_CONFIGS(FP8_WGMMA_ROW) QB_W4A8_CONFIGS(W4A8_ROW) QB_SP24_CONFIGS(SP24_ROW)
            QB_ATTN_DECODE_CONFIGS(DECODE_ROW) QB_ATTN_PREFILL_CONFIGS(PREFILL_ROW)};

static const qb_cuda_arch archs[] = {
    {.name = "sm_90a", .cc_min = 90, .cc_max = 90, .col = 2},
    {.name = "sm_89", .cc_min = 89, .cc_max = 89, .col = 1},
    {.name = "sm_80", .cc_min = 80, .cc_max = 88, .col = 0},
};

const qb_cuda_arch *qb_cuda_arch_for(int cc)
{
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (cc >= archs[i].cc_min && cc <= archs[i].cc_max) return &archs[i];
    return NULL;
}

const char *qb_cuda_family_name(qb_cuda_family f)
{
    static const char *const names[QB_FAM_COUNT] = {"w4a16", "int8", "fp8", "w4a8", "sparse24", "attn_decode",
                                                    "attn_prefill"};
    return names[f];
}

const qb_cuda_cfg *qb_cuda_cfg_at(int32_t index)
{
    return index >= 0 && index < QB_CFG_COUNT ? &table[index] : NULL;
}

int32_t qb_cuda_cfg_index(const qb_cuda_cfg *c) { return (int32_t)(c - table); }

bool qb_cuda_cfg_on(const qb_cuda_cfg *c, const qb_cuda_arch *a) { return c->max_m[a->col] != QB_NO; }

const qb_cuda_cfg *qb_cuda_cfg_find(const qb_cuda_arch *a, const char *name)
{
    for (int i = 0; i < QB_CFG_COUNT; i++)
        if (qb_cuda_cfg_on(&table[i], a) && strcmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

size_t qb_cuda_cfg_max_smem(const qb_cuda_arch *a, qb_cuda_family f, qblas_dtype_t dtype, int variant)
{
    size_t most = 0;
    for (int i = 0; i < QB_CFG_COUNT; i++) {
        const qb_cuda_cfg *c = &table[i];
        if (c->fam == f && qb_cuda_cfg_on(c, a) && (dtype == QB_DTYPE_ANY || c->dtype == dtype) &&
            (variant < 0 || c->variant == variant) && c->smem > most)
            most = c->smem;
    }
    return most;
}

size_t qb_cuda_cfg_names(const qb_cuda_arch *a, const qb_cuda_need *need, const char **names, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < QB_CFG_COUNT; i++) {
        const qb_cuda_cfg *c = &table[i];
        if (c->fam != need->fam || !qb_cuda_cfg_on(c, a) || !qb_cuda_cfg_runs(c, need)) continue;
        if (n < cap) names[n] = c->name;
        n++;
    }
    return n;
}

bool qb_cuda_cfg_runs(const qb_cuda_cfg *c, const qb_cuda_need *need)
{
    return c->fam == need->fam && (need->dtype == QB_DTYPE_ANY || c->dtype == need->dtype) &&
           (need->variant < 0 || c->variant == need->variant);
}

/* Every configuration cc's architecture lists, by family and base name. The
 * GPU harness checks that each ran (tests/gpu/gpu_harness.c). Returns how
 * many; 0 for an unknown cc. */
int qb_cuda_catalog(int cc, void (*fn)(void *ctx, const char *family, const char *name), void *ctx)
{
    const qb_cuda_arch *a = qb_cuda_arch_for(cc);
    int n = 0;
    for (int i = 0; a && i < QB_CFG_COUNT; i++)
        if (qb_cuda_cfg_on(&table[i], a)) fn(ctx, qb_cuda_family_name(table[i].fam), table[i].name), n++;
    return n;
}

/* ---- the selector ---- */

static const char *dtype_or_any(qblas_dtype_t t) { return t == QB_DTYPE_ANY ? "any" : qblas_dtype_name(t); }

/* A configuration named from outside (a plan, $QBLAS_CUDA_KERNEL): it must
 * run this call here; `status` says what answers when it does not. */
static const qb_cuda_cfg *named(qblas_handle_t h, const qb_cuda_cfg *c, const qb_cuda_need *need, const char *who,
                                qblas_status_t status, qblas_status_t *st)
{
    const qb_cuda_state *s = qb_cuda(h);
    if (!qb_cuda_cfg_runs(c, need))
        *st = qb_fail(h, status, "%s%s is a %s configuration (dtype %s, variant %d); this call needs %s (dtype %s%s)",
                      who, c->name, qb_cuda_family_name(c->fam), dtype_or_any(c->dtype), c->variant,
                      qb_cuda_family_name(need->fam), dtype_or_any(need->dtype),
                      need->variant == 1 ? ", block scales" : "");
    else if (!qb_cuda_cfg_on(c, s->arch))
        *st = qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "%s%s is not a configuration of %s", who, c->name, s->arch->name);
    else if (c->smem > (size_t)s->smem_optin)
        *st = qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, "%s%s needs %zu bytes of shared memory, the device has %d", who,
                      c->name, c->smem, s->smem_optin);
    else
        return c;
    return NULL;
}

/* The tuning row's configuration, when it runs the call and fits. */
static const qb_cuda_cfg *tuned(qblas_handle_t h, const qb_cuda_need *need)
{
    const qb_cuda_state *s = qb_cuda(h);
    const qblas_tuning_entry_t *r = need->key ? qb_tuning_find(h, need->key, need->m) : NULL;
    const qb_cuda_cfg *c = r ? qb_cuda_cfg_find(s->arch, r->kernel) : NULL; /* the loader checked the name */
    return c && qb_cuda_cfg_runs(c, need) && c->smem <= (size_t)s->smem_optin ? c : NULL;
}

const qb_cuda_cfg *qb_cuda_select(qblas_handle_t h, const qb_cuda_need *need, const qb_choice *fixed,
                                  qblas_status_t *st)
{
    const qb_cuda_state *s = qb_cuda(h);
    const qb_cuda_cfg *c;
    *st = QBLAS_STATUS_SUCCESS;
    if (fixed) {
        if (!(c = qb_cuda_cfg_at(fixed->config)) || strcmp(c->name, fixed->name) != 0) {
            *st = qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "the plan names configuration %d '%s', which this build lacks",
                          (int)fixed->config, fixed->name);
            return NULL;
        }
        return named(h, c, need, "the plan's configuration ", QBLAS_STATUS_INVALID_VALUE, st);
    }
    if (s->forced && s->forced->fam == need->fam)
        return named(h, s->forced, need, "QBLAS_CUDA_KERNEL=", QBLAS_STATUS_NOT_SUPPORTED, st);
    if ((c = tuned(h, need))) return c;
    const qb_cuda_cfg *best = NULL;
    for (int i = 0; i < QB_CFG_COUNT; i++) {
        c = &table[i];
        const int64_t bound = c->max_m[s->arch->col];
        if (bound <= QB_OPT || !qb_cuda_cfg_runs(c, need) || c->smem > (size_t)s->smem_optin || need->m > bound)
            continue;
        if (!best || bound < best->max_m[s->arch->col]) best = c;
    }
    if (!best)
        *st = qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, "no %s kernel of %s (dtype %s) fits in %d bytes of shared memory",
                      qb_cuda_family_name(need->fam), s->arch->name, dtype_or_any(need->dtype), s->smem_optin);
    return best;
}
