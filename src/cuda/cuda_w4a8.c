/* cuda_w4a8.c - the W4A8 (QServe QoQ) GEMM on the CUDA backend, host side:
 * prepack (device content checks, the packing kernels), and the GEMM plan
 * (kernel configuration, split-K, workspace) shared by query and run. The
 * kernels (w4a8_kernel.cuh) give the CPU oracle's results bit for bit.
 *
 * Layout (docs/FORMATS.md, "CUDA W4A8 packed layout"): the GEMM takes only
 * weights packed by qblas_prepack() on a CUDA handle (CANONICAL ones answer
 * NOT_SUPPORTED "prepack first"). N is padded to 128 and K to 64 in the
 * blob, so every N and every even K works.
 *
 * Content checks: the canonical weight lives on the device, so prepack runs
 * a check kernel (a device check, docs/API.md): a failure makes the packing
 * kernels write nothing to dst and is reported by qblas_device_status with
 * the oracle's first failing (group, row). Prepack never synchronizes. The
 * packed weight was checked, so the GEMM reads it unchecked; a blob altered
 * after prepack gives unspecified Y but never an out-of-bounds access
 * (every index comes from the shape).
 *
 * GEMM requirements (NOT_SUPPORTED from gemm_query and gemm, before
 * anything is written): X's pointer and ldx multiples of 16 bytes (rows are
 * copied in 16-byte chunks); n <= 65535 * 128 (grid rows of n blocks);
 * m <= 2^30.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tuning.h"
#include "cuda_backend.h"
#include "kernels_w4a8.h"

#define LL(x) ((long long)(x))
#define ALIGN256(x) (((x) + (size_t)255) & ~(size_t)255)
#define INVALID(...) qb_fail(h, QBLAS_STATUS_INVALID_VALUE, __VA_ARGS__)
#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)

#define W8_MAX_N ((int64_t)65535 * QB_W4A8_BN)
#define W8_MAX_M ((int64_t)1 << 30)
#define W8_MAX_SPLITS 32

/* ---- packed geometry ---- */
typedef struct {
    int64_t np, kp, kt, groups;
    int g128;
} w8_dims;

typedef struct {
    size_t codes, params, s1; /* offsets from the 256-byte aligned start */
    size_t total;             /* bytes the caller must provide */
} w8_blob;

/* The core validated the format: k even, k <= 65536, g128 => k % 128 == 0. */
static qblas_status_t dims_of(qblas_handle_t h, const qblas_weight_t *w, w8_dims *d)
{
    if (w->n > W8_MAX_N) return UNSUPPORTED("CUDA W4A8 handles n <= %lld (n=%lld)", LL(W8_MAX_N), LL(w->n));
    d->g128 = w->group_size == 128;
    d->np = qb_cdiv(w->n, QB_W4A8_BN) * QB_W4A8_BN;
    d->kp = qb_cdiv(w->k, QB_W4A8_BK) * QB_W4A8_BK;
    d->kt = d->kp / QB_W4A8_BK;
    d->groups = d->g128 ? w->k / 128 : 1;
    return QBLAS_STATUS_SUCCESS;
}

static void blob_layout(const w8_dims *d, w8_blob *b)
{
    size_t off = 0;
    b->codes = off;
    off += ALIGN256((size_t)d->np * (size_t)d->kp / 2);
    b->params = off;
    off += ALIGN256((size_t)d->groups * (size_t)d->np * sizeof(uint16_t));
    b->s1 = off;
    off += ALIGN256((size_t)d->np * sizeof(float));
    b->total = off + 255; /* dst may start anywhere: the blob starts at its first 256-byte boundary */
}

static uint8_t *align256(void *p) { return (uint8_t *)(((uintptr_t)p + 255) & ~(uintptr_t)255); }

qblas_status_t qb_cuda_w4a8_init(qblas_handle_t h)
{
    const qb_cuda_state *s = qb_cuda(h);
    size_t most = qb_cuda_cfg_max_smem(s->arch, QB_FAM_W4A8, QB_DTYPE_ANY, -1);
    if (!most) return QBLAS_STATUS_SUCCESS;
    QB_CUDA_TRY(h, qb_w4a8_prepare(most < (size_t)s->smem_optin ? (int)most : s->smem_optin));
    return QBLAS_STATUS_SUCCESS;
}

/* ================= prepack ================= */

qblas_status_t qb_cuda_w4a8_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes)
{
    w8_dims d = {0};
    w8_blob b = {0};
    qblas_status_t st = dims_of(h, w, &d);
    if (st) return st;
    blob_layout(&d, &b);
    *bytes = b.total;
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_w4a8_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                    qblas_weight_t *packed, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    w8_dims d = {0};
    w8_blob b = {0};
    (void)dst_bytes; /* the core checked it against prepack_size */
    qblas_status_t st = dims_of(h, w, &d);
    if (st || (st = qb_cuda_on_device(h))) return st;
    if ((st = qb_cuda_device_ptr(h, w->data, "weight data")) || (st = qb_cuda_device_ptr(h, w->scales, "weight scales")) ||
        (st = qb_cuda_device_ptr(h, w->zeros, "weight zeros")) || (st = qb_cuda_device_ptr(h, w->group_scales, "group scales")) ||
        (st = qb_cuda_device_ptr(h, dst, "prepack dst")))
        return st;
    blob_layout(&d, &b);
    /* the content checks, then the writers, gated by their verdict */
    unsigned long long *v;
    if ((st = qb_cuda_prepack_verdict(h, s, &v))) return st;
    QB_CUDA_TRY(h, qb_w4a8_check(w->data, w->group_scales, w->zeros, (int)w->n, (int)w->k, d.g128, v, s));
    QB_CUDA_TRY(h, qb_dev_publish(v, &qb_cuda(h)->dev->status, s));
    uint8_t *base = align256(dst);
    QB_CUDA_TRY(h, qb_w4a8_pack(w->data, w->group_scales, w->zeros, w->scales, (int)w->n, (int)w->k, d.g128,
                                (int)d.np, (int)d.kt, (uint32_t *)(base + b.codes), (uint16_t *)(base + b.params),
                                (float *)(base + b.s1), v, s));
    /* The descriptor keeps the canonical format fields (the core validates
     * them on every GEMM); its pointers now mean: data the packed codes,
     * zeros the lane parameters (s2 | z << 8), scales the f32 channel scales. */
    qblas_weight_t out = *w;
    out.layout = QBLAS_LAYOUT_CUDA_W4A8;
    out.data = base + b.codes;
    out.zeros = base + b.params;
    out.scales = base + b.s1;
    out.group_scales = NULL; /* folded into the parameters */
    *packed = out;
    return QBLAS_STATUS_SUCCESS;
}

/* ================= GEMM ================= */

typedef struct {
    const qb_cuda_cfg *cfg;
    w8_dims d;
    int64_t mblocks, nblocks, splits, tiles_per_split;
    size_t ws_bytes;
} w8_plan;

static qblas_status_t check_problem(qblas_handle_t h, const qb_gemm_args *a)
{
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    if (w->layout == QBLAS_LAYOUT_CANONICAL)
        return UNSUPPORTED("the CUDA W4A8 GEMM takes weights packed by qblas_prepack() on a CUDA handle: prepack first");
    if (w->layout != QBLAS_LAYOUT_CUDA_W4A8)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "weight layout %d was packed for another backend", (int)w->layout);
    if (!w->scales || !w->zeros) return INVALID("packed W4A8 weight scales or parameters are NULL");
    if (((uintptr_t)w->data | (uintptr_t)w->scales | (uintptr_t)w->zeros) % 256)
        return INVALID("packed W4A8 weight pointers misaligned (not as qblas_prepack() left them)");
    if (a->m > W8_MAX_M) return UNSUPPORTED("CUDA W4A8 handles m <= %lld (m=%lld)", LL(W8_MAX_M), LL(a->m));
    return qb_cuda_check_rows16(h, x, NULL, "W4A8"); /* the packed weights were checked above */
}

/* fixed: a plan's (or the query's) choice; NULL: select. */
static qblas_status_t make_plan(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, w8_plan *p)
{
    qblas_status_t st;
    qblas_tuning_entry_t key;
    memset(p, 0, sizeof *p);
    if ((st = check_problem(h, a)) || (st = dims_of(h, a->w, &p->d))) return st;
    qb_tuning_gemm_key(a, &key);
    const qb_cuda_need need = {QB_FAM_W4A8, QB_DTYPE_ANY, -1, a->m, &key};
    if (!(p->cfg = qb_cuda_select(h, &need, fixed, &st))) return st;
    p->mblocks = qb_cdiv(a->m, p->cfg->bm);
    p->nblocks = p->d.np / QB_W4A8_BN;
    /* decode: N / 128 blocks on 100+ SMs; exact integer sums: splitting never changes Y */
    qb_cuda_plan_splits(qb_cuda(h), a->m, p->mblocks * p->nblocks, p->cfg->smem, p->d.kt, p->d.kp, W8_MAX_SPLITS,
                        fixed, &p->tiles_per_split, &p->splits);
    /* no overflow: splits <= 32, m <= 2^30, np < 2^23 keep it below 2^60 */
    p->ws_bytes = p->splits > 1 ? ALIGN256((size_t)p->splits * (size_t)a->m * (size_t)p->d.np * sizeof(int32_t)) + 255 : 0;
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_w4a8_query(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, qb_choice *chosen,
                                  qblas_kernel_info_t *info)
{
    w8_plan p;
    char name[QBLAS_KERNEL_NAME_MAX];
    qblas_status_t st = make_plan(h, a, fixed, &p);
    if (st) return st;
    /* the variant after "w4a8_", then split-K */
    snprintf(name, sizeof name, "w4a8_%s_%s%s", p.d.g128 ? "g128" : "perchannel", p.cfg->name + strlen("w4a8_"),
             p.splits > 1 ? "_splitk" : "");
    qb_kernel_info(info, p.ws_bytes, name);
    *chosen = qb_cuda_choice(p.cfg, p.splits);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_w4a8_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws,
                                 size_t ws_bytes, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    w8_plan p;
    qblas_status_t st = make_plan(h, a, c, &p);
    if (st || (st = qb_cuda_on_device(h))) return st;
    (void)ws_bytes; /* the core checked it against the query */
    qb_w4a8_kparams kp = {
        .x = x->data, .ldx = x->ld, .codes = w->data, .params = w->zeros, .s1 = w->scales, .sx = x->scales,
        .sx_per_row = x->scale_mode == QBLAS_SCALE_PER_ROW, .m = (int)a->m, .n = (int)a->n, .k = (int)a->k,
        .np = (int)p.d.np, .kt_total = (int)p.d.kt, .group_shift = p.d.g128 ? 1 : 30, .per_channel = !p.d.g128,
        .tiles_per_split = (int)p.tiles_per_split, .splits = (int)p.splits, .y = a->y, .ldy = a->ldy,
        .y_dtype = (int)a->y_dtype, .bias = a->bias,
        .partial = p.splits > 1 ? (int32_t *)align256(ws) : NULL,
    };
    QB_CUDA_TRY(h, qb_w4a8_launch(p.cfg->bm, p.cfg->stages, &kp, s));
    if (p.splits > 1) QB_CUDA_TRY(h, qb_w4a8_reduce(&kp, s));
    return QBLAS_STATUS_SUCCESS;
}
