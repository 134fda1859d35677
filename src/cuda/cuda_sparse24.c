/* cuda_sparse24.c - the 2:4 sparse GEMM on the CUDA backend, host side:
 * prepack (the meta check, the reorder kernels), and the GEMM plan (shape
 * and alignment checks, kernel configuration, launch) shared by query and
 * run. Kernels: sp24_kernel.cuh (layout), sp24_*.cu, sp24_prepack.cu.
 *
 * Supported: f16 x f16 and bf16 x bf16 (fp32 accumulation), i8 x i8 with
 * the INT8 scale epilogue and activation zero points (bit-exact), and on
 * sm_89+ fp8 e4m3/e5m2 weights x e4m3/e5m2 activations with the FP8 scale
 * semantics (per-tensor / per-row, or 1x128 x 128x128 blocks promoted every
 * 128 k). e4m3fnuz has no NVIDIA tensor-core type: NOT_SUPPORTED.
 *
 * Layout (docs/FORMATS.md, "CUDA 2:4 packed layout"): the GEMM takes only
 * weights packed by qblas_prepack on a CUDA handle (layout
 * CUDA_SPARSE24); a CANONICAL 2:4 weight answers NOT_SUPPORTED ("prepack
 * first"). The blob holds, from its first 256-byte boundary: values in
 * mma.sp A-fragment order, metadata words in per-lane order, for i8 and
 * fp8 the weight scales, and for i8 the decompressed rows' sums.
 * packed.data points at the values, packed.meta and packed.scales into the
 * blob; the GEMM recomputes the offsets from n and k and checks them.
 *
 * Prepack checks every meta field on the device (a device check,
 * docs/API.md): a field with i0 >= i1 makes its writing kernels write
 * nothing to dst and is reported by qblas_device_status. It never
 * synchronizes.
 *
 * Requirements (NOT_SUPPORTED from gemm_query and gemm, nothing written):
 * X's pointer and row pitch (ldx * element size) multiples of 16 bytes
 * (16-byte asynchronous copies of X rows). Any M, N and K (K % 4 == 0 is
 * the format's) work: the blob pads N to 128 and K to the stage (64 f16,
 * 128 i8) with zero values, X is zero-filled past M and K.
 *
 * Non-finite activations at pruned positions are never multiplied (the
 * format's dense definition would turn them into NaN): documented.
 *
 * Zero points: acc - zx[m] * colsum[n], colsum from the blob. zx lives in
 * device memory: a one-block kernel checks it first and leaves its verdict
 * in the workspace (256 bytes, i8 with zero points only); a zero point
 * outside -128..127 makes the GEMM kernel write nothing and is reported by
 * qblas_device_status.
 */
#include <stdlib.h>

#include "../core/tuning.h"
#include "cuda_backend.h"
#include "kernels_sparse24.h"

#define LL(x) ((long long)(x))
#define ALIGN256(x) (((x) + (size_t)255) & ~(size_t)255)
#define INVALID(...) qb_fail(h, QBLAS_STATUS_INVALID_VALUE, __VA_ARGS__)
#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)

/* Index limits that keep every kernel index an int: rows and k; grid.y
 * holds ceil(m / bx) <= 65535 blocks (checked per configuration). */
#define SP_MAX_N ((int64_t)1 << 30)
#define SP_MAX_K ((int64_t)1 << 30)

/* ---- packed geometry ---- */
typedef struct {
    int es;                /* element bytes: 2 (f16, bf16) or 1 (i8) */
    int64_t np, kp, kt;    /* padded n, padded k, stages */
    int64_t nsw;           /* i8 weight scales kept in the blob: 1 or n; 0 otherwise */
    size_t vals, meta, scales, colsum; /* offsets from the 256-byte aligned start */
    size_t total;          /* bytes the caller must provide */
} sp_geo;

static qblas_status_t geo_of(qblas_handle_t h, const qblas_weight_t *w, sp_geo *g)
{
    switch (w->dtype) {
    case QBLAS_DTYPE_F16:
    case QBLAS_DTYPE_BF16: g->es = 2; break;
    case QBLAS_DTYPE_I8:
    case QBLAS_DTYPE_E4M3:
    case QBLAS_DTYPE_E5M2: g->es = 1; break;
    default: return UNSUPPORTED("CUDA 2:4 sparse: %s weights are not supported", qblas_dtype_name(w->dtype));
    }
    if (w->n > SP_MAX_N || w->k > SP_MAX_K)
        return UNSUPPORTED("CUDA 2:4 sparse handles n <= %lld and k <= %lld (n=%lld k=%lld)", LL(SP_MAX_N),
                           LL(SP_MAX_K), LL(w->n), LL(w->k));
    const int64_t bk = QB_SP24_BK(g->es);
    g->np = qb_cdiv(w->n, QB_SP24_BW) * QB_SP24_BW;
    g->kp = qb_cdiv(w->k, bk) * bk;
    g->kt = g->kp / bk;
    switch (w->scale_mode) { /* the weight scales the blob keeps (core-validated modes) */
    case QBLAS_SCALE_PER_TENSOR: g->nsw = 1; break;
    case QBLAS_SCALE_PER_ROW: g->nsw = w->n; break;
    case QBLAS_SCALE_BLOCK_128X128: g->nsw = qb_cdiv(w->n, 128) * qb_cdiv(w->k, 128); break;
    default: g->nsw = 0; break; /* f16, bf16 */
    }
    size_t off = 0;
    g->vals = off;
    off += ALIGN256((size_t)(g->np / QB_SP24_BW) * (size_t)g->kt * QB_SP24_VAL_STAGE);
    g->meta = off;
    off += ALIGN256((size_t)(g->np / QB_SP24_BW) * (size_t)g->kt * QB_SP24_META_STAGE(g->es));
    g->scales = off;
    off += ALIGN256((size_t)g->nsw * sizeof(float));
    g->colsum = off;
    if (w->dtype == QBLAS_DTYPE_I8) off += ALIGN256((size_t)g->np * sizeof(int32_t));
    g->total = off + 255; /* dst may start anywhere: the blob starts at its first 256-byte boundary */
    return QBLAS_STATUS_SUCCESS;
}

static uint8_t *align256(void *p) { return (uint8_t *)(((uintptr_t)p + 255) & ~(uintptr_t)255); }

qblas_status_t qb_cuda_sparse24_init(qblas_handle_t h)
{
    const qb_cuda_state *s = qb_cuda(h);
    /* each weight dtype's kernels: those the architecture lists */
    static const qblas_dtype_t dts[5] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_I8, QBLAS_DTYPE_E4M3,
                                         QBLAS_DTYPE_E5M2};
    static cudaError_t (*const prepare[5])(int) = {qb_sp24_prepare_f16, qb_sp24_prepare_bf16, qb_sp24_prepare_i8,
                                                   qb_sp24_prepare_fp8_e4m3, qb_sp24_prepare_fp8_e5m2};
    for (int i = 0; i < 5; i++) {
        size_t most = qb_cuda_cfg_max_smem(s->arch, QB_FAM_SPARSE24, dts[i], -1);
        if (most > (size_t)s->smem_optin) most = (size_t)s->smem_optin;
        if (most) QB_CUDA_TRY(h, prepare[i]((int)most));
    }
    return QBLAS_STATUS_SUCCESS;
}

/* ================= prepack ================= */

qblas_status_t qb_cuda_sparse24_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes)
{
    sp_geo g = {0};
    qblas_status_t st = geo_of(h, w, &g);
    if (st) return st;
    *bytes = g.total;
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_sparse24_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                        qblas_weight_t *packed, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    sp_geo g = {0};
    qblas_status_t st = geo_of(h, w, &g);
    (void)dst_bytes; /* the core checked it against prepack_size */
    if (st || (st = qb_cuda_on_device(h)) || (st = qb_cuda_device_ptr(h, w->data, "weight data")) ||
        (st = qb_cuda_device_ptr(h, w->meta, "weight meta")) || (st = qb_cuda_device_ptr(h, w->scales, "weight scales")) ||
        (st = qb_cuda_device_ptr(h, dst, "prepack dst")))
        return st;
    /* the meta check, then the writers, each gated by its verdict */
    unsigned long long *v;
    if ((st = qb_cuda_prepack_verdict(h, s, &v))) return st;
    QB_CUDA_TRY(h, qb_sp24_check_meta(w->meta, (int)w->n, (int)w->k, v, s));
    QB_CUDA_TRY(h, qb_dev_publish(v, &qb_cuda(h)->dev->status, s));
    uint8_t *base = align256(dst);
    QB_CUDA_TRY(h, qb_sp24_pack(w->data, w->meta, g.es, (int)w->n, (int)w->k, (int)g.np, (int)g.kt, base + g.vals,
                                base + g.meta, v, s));
    if (g.nsw) QB_CUDA_TRY(h, qb_dev_copy(base + g.scales, w->scales, (size_t)g.nsw * sizeof(float), v, s));
    if (w->dtype == QBLAS_DTYPE_I8)
        QB_CUDA_TRY(h, qb_sp24_colsum(w->data, (int)w->n, (int)w->k, (int)g.np, (int32_t *)(base + g.colsum), v, s));
    qblas_weight_t out = *w;
    out.layout = QBLAS_LAYOUT_CUDA_SPARSE24;
    out.data = base + g.vals;
    out.meta = base + g.meta;
    out.scales = g.nsw ? base + g.scales : NULL;
    *packed = out;
    return QBLAS_STATUS_SUCCESS;
}

/* ================= GEMM ================= */

typedef struct {
    const qb_cuda_cfg *cfg;
    sp_geo g;
    size_t ws_bytes; /* i8 with zero points: their verdict, from the first 256-byte boundary; else 0 */
} sp_plan;

static qblas_status_t check_packed(qblas_handle_t h, const qblas_weight_t *w, sp_geo *g)
{
    if (w->layout == QBLAS_LAYOUT_CANONICAL)
        return UNSUPPORTED("the CUDA 2:4 GEMM takes weights packed by qblas_prepack() on a CUDA handle: prepack first");
    if (w->layout != QBLAS_LAYOUT_CUDA_SPARSE24)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "weight layout %d was packed for another backend", (int)w->layout);
    qblas_status_t st = geo_of(h, w, g);
    if (st) return st;
    const uint8_t *base = (const uint8_t *)w->data;
    if ((uintptr_t)base % 256 || (const uint8_t *)w->meta != base + g->meta ||
        (g->nsw && (const uint8_t *)w->scales != base + g->scales))
        return INVALID("packed 2:4 weight pointers are not as qblas_prepack() left them");
    return QBLAS_STATUS_SUCCESS;
}

/* fixed: a plan's (or the query's) choice; NULL: select. */
static qblas_status_t make_plan(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, sp_plan *p)
{
    const qb_cuda_state *s = qb_cuda(h);
    const qblas_act_t *x = a->x;
    qblas_tuning_entry_t key;
    qblas_status_t st = check_packed(h, a->w, &p->g);
    if (st) return st;
    if ((uintptr_t)x->data % 16 || (x->ld * p->g.es) % 16)
        return UNSUPPORTED("CUDA 2:4 sparse needs 16-byte aligned activation rows (pointer and ldx=%lld elements of "
                           "%d bytes: multiples of 16 bytes)",
                           LL(x->ld), p->g.es);
    const bool fp8 = a->w->dtype == QBLAS_DTYPE_E4M3 || a->w->dtype == QBLAS_DTYPE_E5M2;
    const int block = x->scale_mode == QBLAS_SCALE_BLOCK_1X128;
    if (fp8 && x->dtype != QBLAS_DTYPE_E4M3 && x->dtype != QBLAS_DTYPE_E5M2)
        return UNSUPPORTED("CUDA 2:4 fp8 takes e4m3 and e5m2 activations: %s has no NVIDIA tensor-core type",
                           qblas_dtype_name(x->dtype));
    if (fp8 && s->cc < 89)
        return UNSUPPORTED("CUDA 2:4 fp8 needs fp8 tensor cores (sm_89 or newer); this device is %s", s->arch->name);
    qb_tuning_gemm_key(a, &key);
    const qb_cuda_need need = {QB_FAM_SPARSE24, a->w->dtype, block, a->m, &key};
    if (!(p->cfg = qb_cuda_select(h, &need, fixed, &st))) return st;
    if (qb_cdiv(a->m, p->cfg->bm) > 65535)
        return UNSUPPORTED("CUDA 2:4 sparse handles m <= %lld (m=%lld)", LL((int64_t)65535 * p->cfg->bm), LL(a->m));
    p->ws_bytes = a->w->dtype == QBLAS_DTYPE_I8 && x->zeros ? 256 + 255 : 0;
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_sparse24_query(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed,
                                      qb_choice *chosen, qblas_kernel_info_t *info)
{
    sp_plan p = {0};
    qblas_status_t st = make_plan(h, a, fixed, &p);
    if (st) return st;
    qb_kernel_info(info, p.ws_bytes, p.cfg->name);
    *chosen = qb_cuda_choice(p.cfg, 1);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_sparse24_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws,
                                     size_t ws_bytes, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    sp_plan p = {0};
    qblas_status_t st = make_plan(h, a, c, &p);
    if (st || (st = qb_cuda_on_device(h))) return st;
    (void)ws_bytes; /* the core checked it against the query */
    const uint8_t *base = (const uint8_t *)w->data;
    const bool i8 = w->dtype == QBLAS_DTYPE_I8, scaled = p.g.nsw > 0; /* i8 and fp8 */
    unsigned long long *verdict = p.ws_bytes ? (unsigned long long *)align256(ws) : NULL;
    if (verdict) QB_CUDA_TRY(h, qb_dev_check_i8_zeros(x->zeros, a->m, verdict, &qb_cuda(h)->dev->status, s));
    qb_sp24_kparams kp = {
        .x = x->data, .ldx = x->ld, .vals = base + p.g.vals, .meta = base + p.g.meta, .kt = (int)p.g.kt,
        .m = (int)a->m, .n = (int)a->n, .k = (int)a->k,
        .sx = scaled ? x->scales : NULL, .sw = scaled ? (const float *)w->scales : NULL,
        .sx_per_row = x->scale_mode == QBLAS_SCALE_PER_ROW, .sw_per_row = w->scale_mode == QBLAS_SCALE_PER_ROW,
        .kb = (int)qb_cdiv(a->k, 128),
        .zx = i8 ? x->zeros : NULL, .colsum = i8 ? (const int32_t *)(base + p.g.colsum) : NULL, .verdict = verdict,
        .y = a->y, .ldy = a->ldy, .y_dtype = (int)a->y_dtype, .bias = a->bias,
    };
    const int bx = p.cfg->bm, stg = p.cfg->stages, blk = p.cfg->variant, x5 = x->dtype == QBLAS_DTYPE_E5M2;
    cudaError_t e;
    switch (w->dtype) {
    case QBLAS_DTYPE_F16: e = qb_sp24_launch_f16(bx, stg, &kp, s); break;
    case QBLAS_DTYPE_BF16: e = qb_sp24_launch_bf16(bx, stg, &kp, s); break;
    case QBLAS_DTYPE_I8: e = qb_sp24_launch_i8(bx, stg, &kp, s); break;
    case QBLAS_DTYPE_E4M3: e = qb_sp24_launch_fp8_e4m3(x5, blk, bx, stg, &kp, s); break;
    default: e = qb_sp24_launch_fp8_e5m2(x5, blk, bx, stg, &kp, s); break;
    }
    QB_CUDA_TRY(h, e);
    return QBLAS_STATUS_SUCCESS;
}
