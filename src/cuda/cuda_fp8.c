/* cuda_fp8.c - the FP8 GEMM on the CUDA backend, host side: what the
 * tensor cores can take, the kernel configuration, the launch. The core has
 * validated every argument it can (src/core/validate.c: dtypes are fp8,
 * scale modes pair up, scales f32, shapes and pointers). Semantics:
 * docs/FORMATS.md, "FP8 GEMM"; kernels: fp8_mma.cuh (mma.sync, sm_89+) and
 * fp8_sm90a_wgmma*.cu (wgmma + TMA, sm_90a), both behind kernels_fp8.h.
 *
 * Layout: the GEMM takes the CANONICAL weight ([n][k] codes, K-major per
 * output channel: the tensor cores' "col" B operand as it is). There is no
 * CUDA packed layout, so qblas_prepack_size / qblas_prepack answer
 * NOT_SUPPORTED with that reason.
 *
 * Requirements (NOT_SUPPORTED from gemm_query and gemm, before anything is
 * written): an sm_89+ device (sm_80 has no fp8 tensor cores); X and W each
 * E4M3 or E5M2 (E4M3FNUZ, AMD's variant, has no NVIDIA tensor-core type);
 * k % 16 == 0; X's pointer and ldx multiples of 16 bytes; the weight data
 * 16-byte aligned (its rows then are too); n <= 65535 * 128, m and k <= 2^30.
 *
 * Split-K (mma.sync, OUTER scales): when the m x n blocks cannot fill the
 * GPU (decode: M <= 16 and N = 4096 make 32 blocks for 132 SMs), K is split
 * into whole k128 blocks over grid z; each split stores unscaled fp32 sums
 * into the workspace ([splits][m][n] f32 from its first 256-byte boundary)
 * and a reduce kernel adds them in split order (deterministic) and applies
 * the epilogue. BLOCK128 never splits: its promotions follow the kb order
 * of the format. Otherwise no workspace.
 *
 * Scales and bias are device data, used as given (a NaN or
 * infinite scale gives NaN or inf, as in the oracle); nothing device-side
 * is an index, so no input can make a kernel read out of bounds.
 */
#include "../core/tuning.h"
#include "cuda_backend.h"
#include "kernels_fp8.h"

#include <stdio.h>

#define LL(x) ((long long)(x))
#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)

#define FP8_MAX_N ((int64_t)65535 * QB_FP8_MMA_BN) /* grid rows of the n blocks */
#define FP8_MAX_MK ((int64_t)1 << 30)              /* int offsets inside the kernels */

#define ALIGN256(x) (((x) + (size_t)255) & ~(size_t)255)
#define FP8_MAX_SPLITS 16
#define FP8_MIN_SPLIT_TILES 4 /* k64 tiles per split: the pipeline's fill is paid per split */

typedef struct {
    const qb_cuda_cfg *cfg;
    int splits, split_tiles; /* grid z and k64 tiles per split (even) */
    size_t ws_bytes;         /* splits > 1: partial sums, from the workspace's first 256-byte boundary */
} fp8_plan;

qblas_status_t qb_cuda_fp8_init(qblas_handle_t h)
{
    const qb_cuda_state *s = qb_cuda(h);
    const size_t mma = qb_cuda_cfg_max_smem(s->arch, QB_FAM_FP8, QB_DTYPE_ANY, 0);
    const size_t wgmma = qb_cuda_cfg_max_smem(s->arch, QB_FAM_FP8, QB_DTYPE_ANY, 1);
    /* sm_80 lists nothing: no kernel attribute to set; only sm_90a lists wgmma configurations */
    if (mma) QB_CUDA_TRY(h, qb_fp8_mma_prepare(mma < (size_t)s->smem_optin ? (int)mma : s->smem_optin));
    if (wgmma) QB_CUDA_TRY(h, qb_fp8_sm90a_prepare(wgmma < (size_t)s->smem_optin ? (int)wgmma : s->smem_optin));
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_fp8_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes)
{
    (void)w, (void)bytes;
    return UNSUPPORTED("the CUDA FP8 GEMM takes the CANONICAL weight layout directly: there is nothing to prepack");
}

qblas_status_t qb_cuda_fp8_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                   qblas_weight_t *packed, void *stream)
{
    (void)dst, (void)dst_bytes, (void)packed, (void)stream;
    return qb_cuda_fp8_prepack_size(h, w, NULL);
}

static const char *fp8_name(qblas_dtype_t t) { return t == QBLAS_DTYPE_E4M3 ? "e4m3" : "e5m2"; }

/* Shapes, dtypes and alignments the kernels take. */
static qblas_status_t check_problem(qblas_handle_t h, const qb_gemm_args *a)
{
    const qb_cuda_state *s = qb_cuda(h);
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    if (w->layout != QBLAS_LAYOUT_CANONICAL)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "weight layout %d: the CUDA FP8 GEMM takes CANONICAL weights",
                       (int)w->layout);
    if (!qb_cuda_cfg_max_smem(s->arch, QB_FAM_FP8, QB_DTYPE_ANY, -1))
        return UNSUPPORTED("FP8 tensor cores need sm_89+ (this device is sm_%d%d, served by %s)", s->cc / 10,
                           s->cc % 10, s->arch->name);
    if (x->dtype == QBLAS_DTYPE_E4M3FNUZ || w->dtype == QBLAS_DTYPE_E4M3FNUZ)
        return UNSUPPORTED("CUDA FP8 takes e4m3 and e5m2: e4m3fnuz (%s) has no NVIDIA tensor-core type",
                           x->dtype == QBLAS_DTYPE_E4M3FNUZ ? "activations" : "weights");
    if ((x->dtype != QBLAS_DTYPE_E4M3 && x->dtype != QBLAS_DTYPE_E5M2) ||
        (w->dtype != QBLAS_DTYPE_E4M3 && w->dtype != QBLAS_DTYPE_E5M2))
        return UNSUPPORTED("CUDA FP8 takes e4m3 and e5m2 activations and weights");
    if (a->k % 16)
        return UNSUPPORTED("CUDA FP8 needs k %% 16 == 0 (k=%lld): rows are copied in 16-byte chunks", LL(a->k));
    if (a->n > FP8_MAX_N || a->m > FP8_MAX_MK || a->k > FP8_MAX_MK)
        return UNSUPPORTED("CUDA FP8 handles n <= %lld, m and k <= %lld (n=%lld m=%lld k=%lld)", LL(FP8_MAX_N),
                           LL(FP8_MAX_MK), LL(a->n), LL(a->m), LL(a->k));
    return qb_cuda_check_rows16(h, x, w->data, "FP8");
}

/* fixed: a plan's (or the query's) choice; NULL: select. */
static qblas_status_t make_plan(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, fp8_plan *p)
{
    const qb_cuda_state *s = qb_cuda(h);
    qblas_tuning_entry_t key;
    qblas_status_t st = check_problem(h, a);
    if (st) return st;
    qb_tuning_gemm_key(a, &key);
    const qb_cuda_need need = {QB_FAM_FP8, QB_DTYPE_ANY, -1, a->m, &key};
    if (!(p->cfg = qb_cuda_select(h, &need, fixed, &st))) return st;
    const int64_t ktiles = (a->k + QB_FP8_MMA_BK - 1) / QB_FP8_MMA_BK;
    p->splits = 1, p->split_tiles = (int)ktiles, p->ws_bytes = 0;
    if (p->cfg->variant == 1 || a->w->scale_mode == QBLAS_SCALE_BLOCK_128X128) return QBLAS_STATUS_SUCCESS;
    /* split K while the m x n blocks leave SMs idle: up to about one wave, <= 16 splits, >= 4 tiles each
     * (a plan's count within the same limits) */
    const int64_t blocks = ((a->m + p->cfg->bm - 1) / p->cfg->bm) * ((a->n + QB_FP8_MMA_BN - 1) / QB_FP8_MMA_BN);
    int64_t want = fixed ? fixed->splits : s->sms / blocks, most = ktiles / FP8_MIN_SPLIT_TILES;
    if (want > FP8_MAX_SPLITS) want = FP8_MAX_SPLITS;
    if (want > most) want = most;
    if (want < 2) return QBLAS_STATUS_SUCCESS;
    int64_t tiles = (ktiles + want - 1) / want;
    tiles += tiles & 1; /* whole k128 blocks per split */
    p->split_tiles = (int)tiles;
    p->splits = (int)((ktiles + tiles - 1) / tiles); /* every split non-empty */
    if (p->splits < 2) {
        p->splits = 1, p->split_tiles = (int)ktiles;
        return QBLAS_STATUS_SUCCESS;
    }
    /* no overflow: splits <= 16, m <= 2^30, n < 2^23 (check_problem) keep it below 2^60 */
    p->ws_bytes = ALIGN256((size_t)p->splits * (size_t)a->m * (size_t)a->n * sizeof(float)) + 255;
    return QBLAS_STATUS_SUCCESS;
}

/* The reported name: the base name with the dtype pair after "fp8_", and "_block128" for block scales. */
static void full_name(const qb_gemm_args *a, const fp8_plan *p, char name[QBLAS_KERNEL_NAME_MAX])
{
    const char *base = p->cfg->name + 4; /* past "fp8_" */
    snprintf(name, QBLAS_KERNEL_NAME_MAX, "fp8_%sx%s_%s%s", fp8_name(a->x->dtype), fp8_name(a->w->dtype), base,
             a->w->scale_mode == QBLAS_SCALE_BLOCK_128X128 ? "_block128" : p->splits > 1 ? "_splitk" : "");
}

qblas_status_t qb_cuda_fp8_query(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, qb_choice *chosen,
                                 qblas_kernel_info_t *info)
{
    fp8_plan p = {0};
    qblas_status_t st = make_plan(h, a, fixed, &p);
    if (st) return st;
    char name[QBLAS_KERNEL_NAME_MAX];
    full_name(a, &p, name);
    qb_kernel_info(info, p.ws_bytes, name);
    *chosen = qb_cuda_choice(p.cfg, p.splits);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_fp8_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *choice, void *ws,
                                size_t ws_bytes, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    fp8_plan p = {0};
    qblas_status_t st = make_plan(h, a, choice, &p);
    if (st || (st = qb_cuda_on_device(h))) return st;
    (void)ws_bytes; /* the core checked it against the query */
    const qb_cuda_cfg *c = p.cfg;
    const int block = w->scale_mode == QBLAS_SCALE_BLOCK_128X128;
    qb_fp8_kparams kp = {
        .x = x->data, .ldx = x->ld, .w = w->data, .x_dtype = (int)x->dtype, .w_dtype = (int)w->dtype,
        .scales = block ? QB_FP8_SCALES_BLOCK128 : QB_FP8_SCALES_OUTER, .sx = x->scales, .sw = w->scales,
        .sx_per_row = x->scale_mode == QBLAS_SCALE_PER_ROW, .sw_per_row = w->scale_mode == QBLAS_SCALE_PER_ROW,
        .m = (int)a->m, .n = (int)a->n, .k = (int)a->k, .kb = (int)((a->k + 127) / 128),
        .y = a->y, .ldy = a->ldy, .y_dtype = (int)a->y_dtype, .bias = a->bias,
        .partial = p.splits > 1 ? (float *)(((uintptr_t)ws + 255) & ~(uintptr_t)255) : NULL,
        .splits = p.splits, .split_tiles = p.split_tiles,
    };
    if (c->variant == 1)
        QB_CUDA_TRY(h, qb_fp8_sm90a_launch(c->bm, &kp, s));
    else
        QB_CUDA_TRY(h, qb_fp8_mma_launch(c->bm, c->stages, &kp, s));
    return QBLAS_STATUS_SUCCESS;
}
