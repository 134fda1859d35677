/* cuda_w4a16.c - W4A16 on the CUDA backend, host side: prepack (content
 * checks, act-order permutation, the packing kernels), and the GEMM plan
 * (kernel configuration, split-K, workspace) shared by query and run.
 *
 * Shapes (docs/FORMATS.md, "CUDA W4A16 packed layout"):
 *   k % 16 == 0 is required (NOT_SUPPORTED otherwise, from prepack_size,
 *   prepack, gemm_query and gemm alike, before anything is written); k is
 *   padded to a multiple of 64 and n to a multiple of 256 in the packed
 *   layout, so every other n and k works.
 *   Act-order needs every group to hold exactly group_size columns (as
 *   GPTQ's g_idx does): prepack sorts k by group, so the GEMM sees plain
 *   contiguous groups, and stores the permutation; the GEMM gathers X's
 *   columns through it into the workspace first.
 *
 * Content (zeros <= 15, g_idx in range, whole groups) lives on the device
 * and is checked there (device-side checks, docs/API.md): a failure makes
 * every packing kernel write nothing and is reported by
 * qblas_device_status. The permutation is computed on the device too, so
 * prepack never synchronizes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tuning.h"
#include "cuda_backend.h"

#define LL(x) ((long long)(x))
#define ALIGN256(x) (((x) + (size_t)255) & ~(size_t)255)
#define INVALID(...) qb_fail(h, QBLAS_STATUS_INVALID_VALUE, __VA_ARGS__)
#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)

/* Limits that keep every kernel index in range: grid.y holds n / 256
 * blocks (<= 65535), ints hold k and m. */
#define W4_MAX_N ((int64_t)65535 * QB_W4_BN)
#define W4_MAX_K ((int64_t)1 << 30)
#define W4_MAX_M ((int64_t)1 << 30)
#define W4_MAX_SPLITS 32

/* ---- packed geometry ---- */
typedef struct {
    int64_t np, kp, kt; /* padded n, padded k, k tiles */
    int64_t groups;
    int esz;            /* bytes per stored scale */
    int group_shift;    /* log2(group size), 30: one group */
} w4_dims;

typedef struct {
    size_t codes, scales, zeros, perm; /* offsets from the 256-byte aligned start */
    size_t total;                      /* bytes the caller must provide */
} w4_blob;

static qblas_status_t dims_of(qblas_handle_t h, const qblas_weight_t *w, w4_dims *d)
{
    if (w->k % 16)
        return UNSUPPORTED("CUDA W4A16 needs k %% 16 == 0 (k=%lld): the tensor-core step is k16", LL(w->k));
    if (w->n > W4_MAX_N || w->k > W4_MAX_K)
        return UNSUPPORTED("CUDA W4A16 handles n <= %lld and k <= %lld (n=%lld k=%lld)", LL(W4_MAX_N), LL(W4_MAX_K),
                           LL(w->n), LL(w->k));
    const int g = w->group_size;
    d->np = qb_cdiv(w->n, QB_W4_BN) * QB_W4_BN;
    d->kp = qb_cdiv(w->k, QB_W4_BK) * QB_W4_BK;
    d->kt = d->kp / QB_W4_BK;
    d->groups = g ? w->k / g : 1;
    d->esz = (int)qb_dtype_size(w->scale_dtype);
    d->group_shift = g == 32 ? 5 : g == 64 ? 6 : g == 128 ? 7 : 30;
    return QBLAS_STATUS_SUCCESS;
}

static void blob_layout(const qblas_weight_t *w, const w4_dims *d, w4_blob *b)
{
    size_t off = 0;
    b->codes = off;
    off += ALIGN256((size_t)d->np * (size_t)d->kp / 2);
    b->scales = off;
    off += ALIGN256((size_t)d->groups * (size_t)d->np * (size_t)d->esz);
    b->zeros = off;
    if (w->zeros) off += ALIGN256((size_t)d->groups * (size_t)d->np);
    b->perm = off;
    if (w->g_idx) off += ALIGN256((size_t)w->k * sizeof(int32_t));
    b->total = off + 255; /* dst may start anywhere: the blob starts at its first 256-byte boundary */
}

static uint8_t *align256(void *p) { return (uint8_t *)(((uintptr_t)p + 255) & ~(uintptr_t)255); }

qblas_status_t qb_cuda_w4a16_init(qblas_handle_t h)
{
    const qb_cuda_state *s = qb_cuda(h);
    size_t most = qb_cuda_cfg_max_smem(s->arch, QB_FAM_W4A16, QB_DTYPE_ANY, -1);
    int smem = most < (size_t)s->smem_optin ? (int)most : s->smem_optin;
    QB_CUDA_TRY(h, qb_w4a16_prepare_f16(smem));
    QB_CUDA_TRY(h, qb_w4a16_prepare_f16_f32dq(smem));
    QB_CUDA_TRY(h, qb_w4a16_prepare_bf16(smem));
    QB_CUDA_TRY(h, qb_w4a16_prepare_bf16_f32dq(smem));
    return QBLAS_STATUS_SUCCESS;
}

/* ================= prepack ================= */

qblas_status_t qb_cuda_w4a16_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes)
{
    w4_dims d = {0};
    w4_blob b = {0};
    qblas_status_t st = dims_of(h, w, &d);
    if (st) return st;
    blob_layout(w, &d, &b);
    *bytes = b.total;
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t prepack_checks(qblas_handle_t h, const qblas_weight_t *w)
{
    if (!w->scales) return INVALID("weight scales are NULL");
    if (!qb_aligned(w->scales, w->scale_dtype)) return INVALID("weight scales misaligned");
    if (w->g_idx && ((uintptr_t)w->g_idx % 4)) return INVALID("g_idx misaligned");
    qblas_status_t st = qb_cuda_on_device(h);
    if (!st) st = qb_cuda_device_ptr(h, w->data, "weight data");
    if (!st) st = qb_cuda_device_ptr(h, w->scales, "weight scales");
    if (!st) st = qb_cuda_device_ptr(h, w->zeros, "weight zeros");
    if (!st) st = qb_cuda_device_ptr(h, w->g_idx, "g_idx");
    return st;
}

/* The content checks (when there is content to check), then the writers,
 * gated by their verdict. The permutation's cursors borrow the codes
 * section, which pack_codes writes afterwards. */
static qblas_status_t write_blob(qblas_handle_t h, const qblas_weight_t *w, const w4_dims *d, const w4_blob *b,
                                 uint8_t *base, cudaStream_t s)
{
    qb_dev_block *dev = qb_cuda(h)->dev;
    unsigned long long *v = NULL;
    int32_t *perm = w->g_idx ? (int32_t *)(base + b->perm) : NULL;
    const int n = (int)w->n, k = (int)w->k, groups = (int)d->groups;
    if (w->zeros || w->g_idx) {
        qblas_status_t st = qb_cuda_prepack_verdict(h, s, &v);
        if (st) return st;
        QB_CUDA_TRY(h, qb_w4a16_check(w->zeros, w->g_idx, n, k, groups, w->group_size, v, dev->counts, s));
        QB_CUDA_TRY(h, qb_dev_publish(v, &dev->status, s));
    }
    if (perm) QB_CUDA_TRY(h, qb_w4a16_act_order(w->g_idx, k, groups, w->group_size, (int32_t *)(base + b->codes), perm, v, s));
    QB_CUDA_TRY(h, qb_w4a16_pack_codes(w->data, n, k, perm, (int)d->np, (int)d->kt, (uint32_t *)(base + b->codes), v, s));
    QB_CUDA_TRY(h, qb_w4a16_pack_groups(w->scales, groups, n, (int)d->np, d->esz, 0, base + b->scales, v, s));
    if (w->zeros) QB_CUDA_TRY(h, qb_w4a16_pack_groups(w->zeros, groups, n, (int)d->np, 1, 8, base + b->zeros, v, s));
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_w4a16_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                     qblas_weight_t *packed, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    w4_dims d = {0};
    w4_blob b = {0};
    qblas_status_t st = dims_of(h, w, &d);
    if (st || (st = prepack_checks(h, w)) || (st = qb_cuda_device_ptr(h, dst, "prepack dst"))) return st;
    blob_layout(w, &d, &b);
    uint8_t *base = align256(dst);
    if ((st = write_blob(h, w, &d, &b, base, s))) return st;
    qblas_weight_t out = *w;
    out.layout = QBLAS_LAYOUT_CUDA_W4A16;
    out.data = base + b.codes;
    out.scales = base + b.scales;
    out.zeros = w->zeros ? base + b.zeros : NULL;
    out.g_idx = w->g_idx ? (const int32_t *)(base + b.perm) : NULL; /* packed: the permutation */
    *packed = out;
    return QBLAS_STATUS_SUCCESS;
}

/* ================= GEMM ================= */

typedef struct {
    const qb_cuda_cfg *cfg;
    w4_dims d;
    int native;      /* scales stored in the activation dtype */
    int stage_x;     /* X goes through the workspace (act-order, or not 16-byte aligned rows) */
    int64_t mblocks, nblocks, splits, tiles_per_split;
    size_t x_off, p_off, ws_bytes;
} w4_plan;

static qblas_status_t check_packed(qblas_handle_t h, const qblas_weight_t *w)
{
    if (w->layout == QBLAS_LAYOUT_CANONICAL)
        return UNSUPPORTED("the CUDA W4A16 GEMM takes weights packed by qblas_prepack() on a CUDA handle");
    if (w->layout != QBLAS_LAYOUT_CUDA_W4A16)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "weight layout %d was packed for another backend", (int)w->layout);
    if (!w->scales) return INVALID("packed weight scales are NULL");
    if (((uintptr_t)w->data | (uintptr_t)w->scales | (uintptr_t)w->zeros) % 16 || (uintptr_t)w->g_idx % 4)
        return INVALID("packed weight pointers misaligned (not as qblas_prepack() left them)");
    return QBLAS_STATUS_SUCCESS;
}

/* fixed: a plan's (or the query's) choice; NULL: select. */
static qblas_status_t make_plan(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, w4_plan *p)
{
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    qblas_status_t st;
    qblas_tuning_entry_t key;
    memset(p, 0, sizeof *p);
    if ((st = check_packed(h, w)) || (st = dims_of(h, w, &p->d))) return st;
    if (a->m > W4_MAX_M) return UNSUPPORTED("CUDA W4A16 handles m <= %lld (m=%lld)", LL(W4_MAX_M), LL(a->m));
    qb_tuning_gemm_key(a, &key);
    const qb_cuda_need need = {QB_FAM_W4A16, x->dtype, -1, a->m, &key};
    if (!(p->cfg = qb_cuda_select(h, &need, fixed, &st))) return st;
    p->native = w->scale_dtype == x->dtype;
    p->stage_x = w->g_idx != NULL || (uintptr_t)x->data % 16 != 0 || x->ld % 8 != 0;
    p->mblocks = qb_cdiv(a->m, p->cfg->bm);
    p->nblocks = p->d.np / QB_W4_BN;
    qb_cuda_plan_splits(qb_cuda(h), a->m, p->mblocks * p->nblocks, p->cfg->smem, p->d.kt, p->d.kp, W4_MAX_SPLITS,
                        fixed, &p->tiles_per_split, &p->splits);
    /* no overflow: m, kp <= 2^30, np < 2^24 and splits <= 32 keep each term below 2^62 */
    size_t off = 0;
    p->x_off = off;
    if (p->stage_x) off += ALIGN256((size_t)a->m * (size_t)p->d.kp * 2);
    p->p_off = off;
    if (p->splits > 1) off += ALIGN256((size_t)p->splits * (size_t)a->m * (size_t)p->d.np * sizeof(float));
    p->ws_bytes = off ? off + 255 : 0; /* the workspace may start anywhere: used from its first 256-byte boundary */
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_w4a16_query(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, qb_choice *chosen,
                                   qblas_kernel_info_t *info)
{
    w4_plan p;
    char name[QBLAS_KERNEL_NAME_MAX];
    qblas_status_t st = make_plan(h, a, fixed, &p);
    if (st) return st;
    /* the base name, the fp32-dequant path and split-K */
    snprintf(name, sizeof name, "%s%s%s", p.cfg->name, p.native ? "" : "_f32dq", p.splits > 1 ? "_splitk" : "");
    qb_kernel_info(info, p.ws_bytes, name);
    *chosen = qb_cuda_choice(p.cfg, p.splits);
    return QBLAS_STATUS_SUCCESS;
}

static cudaError_t launch(const w4_plan *p, const qb_w4a16_kparams *kp, cudaStream_t s)
{
    const int mt = p->cfg->bm / 16;
    if (p->cfg->dtype == QBLAS_DTYPE_F16)
        return p->native ? qb_w4a16_launch_f16(mt, kp, p->cfg->smem, s) : qb_w4a16_launch_f16_f32dq(mt, kp, p->cfg->smem, s);
    return p->native ? qb_w4a16_launch_bf16(mt, kp, p->cfg->smem, s) : qb_w4a16_launch_bf16_f32dq(mt, kp, p->cfg->smem, s);
}

qblas_status_t qb_cuda_w4a16_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws,
                                  size_t ws_bytes, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    const qblas_weight_t *w = a->w;
    w4_plan p;
    qblas_status_t st = make_plan(h, a, c, &p);
    if (st || (st = qb_cuda_on_device(h))) return st;
    uint8_t *base = p.ws_bytes ? align256(ws) : NULL;
    qb_w4a16_kparams kp = {
        .x = a->x->data, .ldx = a->x->ld, .codes = w->data, .scales = w->scales, .zeros = w->zeros,
        .scale_dtype = (int)w->scale_dtype, .m = (int)a->m, .n = (int)a->n, .k = (int)a->k, .np = (int)p.d.np,
        .kt_total = (int)p.d.kt, .group_shift = p.d.group_shift, .tiles_per_split = (int)p.tiles_per_split,
        .splits = (int)p.splits, .stages = p.cfg->stages, .evict_first = p.mblocks == 1, .y = a->y, .ldy = a->ldy,
        .y_dtype = (int)a->y_dtype, .bias = a->bias, .partial = p.splits > 1 ? (float *)(base + p.p_off) : NULL,
    };
    if (p.stage_x) {
        QB_CUDA_TRY(h, qb_w4a16_gather_x(a->x->data, a->x->ld, w->g_idx, (int)a->m, (int)a->k, base + p.x_off,
                                         (int)p.d.kp, s));
        kp.x = base + p.x_off;
        kp.ldx = p.d.kp;
    }
    QB_CUDA_TRY(h, launch(&p, &kp, s));
    if (p.splits > 1) QB_CUDA_TRY(h, qb_w4a16_reduce(&kp, s));
    return QBLAS_STATUS_SUCCESS;
}
