/* hip_gemm.c - the GEMMs of the HIP (AMD) backend, host side: prepack into
 * the HIP layouts 32..35, and each format's plan (checks, kernel
 * configuration, split-K, workspace) shared by query and run, then the
 * launches through the target's table (hip_kernels.h). The core validated
 * every argument it can (src/core/validate.c); what is checked here is the
 * AMD kernels' own (docs/FORMATS.md, "HIP (AMD) backend").
 *
 *   W4A16    layout 32 (prepack required). k % 16 == 0 (the launcher reads
 *            X in whole 16-element runs of k * 2 bytes). Act-order (g_idx,
 *            group_size <= 128): as CUDA's, the permutation computed on the
 *            device at prepack (w4a16_act_order), the codes packed through
 *            it and X gathered through it into the workspace. X is also
 *            staged (w4a16_gather_x) when its rows are not 16-byte aligned.
 *            Split-K as CUDA plans it (qb_plan_splits), reduced by
 *            w4a16_reduce.
 *   INT8     the CANONICAL weight (nothing to prepack: NOT_SUPPORTED, as
 *            CUDA). k % 16 == 0, X rows and W 16-byte aligned. Zero points:
 *            their range checked on the device (the verdict gates the
 *            GEMM) and the column sums per call into the workspace (the
 *            table's sp24_colsum over rows of k bytes, read as 2:4 values
 *            of 2k).
 *   FP8      gfx942 only (gfx90a: NOT_SUPPORTED); the CANONICAL weight (its
 *            OCP codes converted to FNUZ in registers, as the activations'
 *            are) or layout 34 (converted once at prepack, pack_fp8).
 *            k % 16 == 0, X rows 16-byte aligned. No split-K (splits = 1).
 *   W4A8     layout 33 (prepack required). Any even k: X is staged into a
 *            zero-padded copy when k % 16 != 0 (the launcher reads X rows up
 *            to k rounded up to 16). X rows 16-byte aligned. Split-K as
 *            W4A16, reduced by w4a8_reduce.
 *   SPARSE24 layout 35 (prepack required): the weight decompressed to dense
 *            rows (sp24_decompress), run by the dense MFMA kernel of its
 *            dtype; fp8 weights gfx942 only. X rows 16-byte aligned; X
 *            staged into a zero-padded copy when k % 16 != 0 (the launcher
 *            reads rows up to k rounded up to 16: past the last row's end,
 *            and a NaN there would meet the zero padding). No split-K.
 *
 * Packed blobs (docs/FORMATS.md, "HIP (AMD) backend", "Packed blobs"):
 * every section starts on a 256-byte boundary from the blob's first
 * 256-byte boundary in dst (so prepack_size adds 255); packed.data points
 * at the first section and the GEMM recomputes the others' offsets from
 * n, k and the descriptor's fields, and checks the pointers against them.
 *
 * Prepack writes with the caller's dst and stream only (no allocation, no
 * synchronization): the table's packing kernels (padding included) and,
 * for FP8's scale copy, hipMemcpyAsync (device to device).
 * Content checks (W4A16 zero points and g_idx, W4A8 parameters, 2:4 meta)
 * run first and record their verdict; as CUDA's, the writers take it as
 * their gate (a failed check writes nothing into dst) and the first
 * record becomes qblas_device_status's answer.
 */
#include <stdio.h>
#include <string.h>

#include "core/tuning.h"
#include "hip_backend.h"

#define LL(x) ((long long)(x))
#define ALIGN256(x) (((x) + (size_t)255) & ~(size_t)255)
#define INVALID(...) qb_fail(h, QBLAS_STATUS_INVALID_VALUE, __VA_ARGS__)
#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)

#define MAX_N ((int64_t)65535 * QB_HIP_SHAPE_BN) /* grid y: n blocks */
#define MAX_MK ((int64_t)1 << 30)                /* int indices in the kernels */
#define MAX_SPLITS 32
#define BLOCKS_PER_CU 2 /* split-K target: 4-wavefront blocks resident per CU */

static uint8_t *align256(const void *p) { return (uint8_t *)(((uintptr_t)p + 255) & ~(uintptr_t)255); }
static bool al16(const void *p) { return ((uintptr_t)p & 15) == 0; }
static int64_t pad16(int64_t k) { return qb_cdiv(k, 16) * 16; }
static int shape_of(const qb_hip_cfg *c) { return c->shape; }
static int64_t bm_of(const qb_hip_cfg *c) { return QB_HIP_SHAPE_BM(c->shape); }

/* A weight packed for another backend (or another format). */
static qblas_status_t foreign(qblas_handle_t h, const qblas_weight_t *w, qblas_layout_t want, const char *fam)
{
    if (w->layout != QBLAS_LAYOUT_CANONICAL && w->layout != want)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "weight layout %d was packed for another backend (HIP %s: %d)",
                       (int)w->layout, fam, (int)want);
    return QBLAS_STATUS_SUCCESS;
}

/* A packed weight of this format (after foreign() and the shape checks, so
 * that a weight this target can never run is not told to prepack). */
static qblas_status_t check_layout(qblas_handle_t h, const qblas_weight_t *w, qblas_layout_t want, const char *fam)
{
    (void)want;
    if (w->layout == QBLAS_LAYOUT_CANONICAL)
        return UNSUPPORTED("the HIP %s GEMM takes weights packed by qblas_prepack() on a HIP handle: prepack first",
                           fam);
    if ((uintptr_t)w->data % 256) return INVALID("packed %s weight data misaligned (not as qblas_prepack() left it)", fam);
    return QBLAS_STATUS_SUCCESS;
}

/* X rows as the byte-operand and 2:4 kernels load them: 16-byte aligned pointer and pitch. */
static qblas_status_t check_rows16(qblas_handle_t h, const qblas_act_t *x, int64_t es, const char *fam)
{
    if (!al16(x->data) || (x->ld * es) % 16)
        return UNSUPPORTED("HIP %s needs 16-byte aligned activation rows (pointer and ldx=%lld elements of %lld bytes: "
                           "multiples of 16 bytes)",
                           fam, LL(x->ld), LL(es));
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t check_m(qblas_handle_t h, int64_t m, const char *fam)
{
    if (m > MAX_MK) return UNSUPPORTED("HIP %s handles m <= %lld (m=%lld)", fam, LL(MAX_MK), LL(m));
    return QBLAS_STATUS_SUCCESS;
}

static void plan_splits(qblas_handle_t h, int64_t m, const qb_hip_cfg *c, int64_t np, int64_t kt,
                        const qb_choice *fixed, int64_t *tps, int64_t *splits)
{
    const int64_t blocks = qb_cdiv(m, bm_of(c)) * (np / QB_HIP_SHAPE_BN);
    qb_plan_splits((int64_t)qb_hip(h)->cus * BLOCKS_PER_CU, m, blocks, kt, kt * QB_HIP_BK, MAX_SPLITS, fixed, tps,
                   splits);
}

/* ======================================================================= W4A16 (layout 32) */

typedef struct {
    int64_t np, kt, groups;
    int esz, group_shift;
    size_t codes, scales, zeros, perm, total; /* offsets from the blob's start; bytes dst must hold */
} w4_geo;

static qblas_status_t w4_geo_of(qblas_handle_t h, const qblas_weight_t *w, bool has_zeros, w4_geo *g)
{
    if (w->g_idx && w->group_size > 128)
        return UNSUPPORTED("HIP W4A16 act-order needs group_size <= 128 (group_size=%d)", w->group_size);
    if (w->k % 16)
        return UNSUPPORTED("HIP W4A16 needs k %% 16 == 0 (k=%lld): X is read in whole 16-element runs", LL(w->k));
    if (w->n > MAX_N || w->k > MAX_MK)
        return UNSUPPORTED("HIP W4A16 handles n <= %lld and k <= %lld (n=%lld k=%lld)", LL(MAX_N), LL(MAX_MK),
                           LL(w->n), LL(w->k));
    const int gs = w->group_size;
    g->np = qb_cdiv(w->n, QB_HIP_NP_ALIGN) * QB_HIP_NP_ALIGN;
    g->kt = qb_cdiv(w->k, QB_HIP_BK);
    g->groups = gs ? w->k / gs : 1;
    g->esz = (int)qb_dtype_size(w->scale_dtype);
    g->group_shift = gs == 32 ? 5 : gs == 64 ? 6 : gs == 128 ? 7 : 30;
    size_t off = 0;
    g->codes = off;
    off += ALIGN256((size_t)(g->np / 32) * (size_t)g->kt * QB_HIP_U4_CHUNK);
    g->scales = off;
    off += ALIGN256((size_t)g->groups * (size_t)g->np * (size_t)g->esz);
    g->zeros = off;
    if (has_zeros) off += ALIGN256((size_t)g->groups * (size_t)g->np);
    g->perm = off; /* act-order: packed k position -> canonical column */
    if (w->g_idx) off += ALIGN256((size_t)w->k * sizeof(int32_t));
    g->total = off + 255;
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t w4a16_prepack(qblas_handle_t h, const qblas_weight_t *w, uint8_t *base, qblas_weight_t *out,
                                    hipStream_t s)
{
    const qb_hip_kernels *K = qb_hip(h)->k;
    w4_geo g = {0};
    qblas_status_t st = w4_geo_of(h, w, w->zeros != NULL, &g);
    if (st) return st;
    if (!w->scales) return INVALID("weight scales are NULL");
    /* as CUDA's: the content checks (zeros <= 15; g_idx in range, whole
     * groups), then the writers gated by their verdict; the permutation's
     * cursors borrow the codes section, which pack_u4 writes afterwards */
    qb_dev_block *dev = qb_hip(h)->dev;
    unsigned long long *v = NULL;
    int32_t *perm = w->g_idx ? (int32_t *)(base + g.perm) : NULL;
    const int n = (int)w->n, k = (int)w->k, groups = (int)g.groups;
    if (w->zeros || w->g_idx) {
        if ((st = qb_hip_prepack_verdict(h, s, &v))) return st;
        QB_HIP_TRY(h, K->w4a16_check((const uint8_t *)w->zeros, w->g_idx, n, k, groups, w->group_size, v, dev->counts,
                                     s));
        QB_HIP_TRY(h, K->dev_publish(v, &dev->status, s));
    }
    if (perm)
        QB_HIP_TRY(h, K->w4a16_act_order(w->g_idx, k, groups, w->group_size, (int32_t *)(base + g.codes), perm, v, s));
    QB_HIP_TRY(h, K->pack_u4((const uint8_t *)w->data, n, k, perm, (int)g.np, (int)g.kt, 8, base + g.codes, v, s));
    QB_HIP_TRY(h, K->pack_rows(w->scales, groups, n, (int)g.np, g.esz, 0, base + g.scales, v, s));
    if (w->zeros) QB_HIP_TRY(h, K->pack_rows(w->zeros, groups, n, (int)g.np, 1, 8, base + g.zeros, v, s));
    out->layout = QBLAS_LAYOUT_HIP_W4A16;
    out->data = base + g.codes;
    out->scales = base + g.scales;
    out->zeros = w->zeros ? base + g.zeros : NULL;
    out->g_idx = perm; /* packed: the permutation */
    return QBLAS_STATUS_SUCCESS;
}

typedef struct {
    const qb_hip_cfg *cfg;
    int64_t splits, tps;
    int stage_x;           /* X copied to the workspace */
    size_t x_off, p_off, ws_bytes;
    w4_geo g;
} w4_plan;

static qblas_status_t w4a16_plan(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, w4_plan *p)
{
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    qblas_tuning_entry_t key;
    qblas_status_t st;
    if ((st = foreign(h, w, QBLAS_LAYOUT_HIP_W4A16, "W4A16")) || (st = w4_geo_of(h, w, w->zeros != NULL, &p->g)) ||
        (st = check_layout(h, w, QBLAS_LAYOUT_HIP_W4A16, "W4A16")) ||
        (st = check_m(h, a->m, "W4A16")))
        return st;
    const uint8_t *base = (const uint8_t *)w->data;
    if ((const uint8_t *)w->scales != base + p->g.scales || (w->zeros && (const uint8_t *)w->zeros != base + p->g.zeros) ||
        (w->g_idx && (const uint8_t *)w->g_idx != base + p->g.perm))
        return INVALID("packed W4A16 weight pointers are not as qblas_prepack() left them");
    qb_tuning_gemm_key(a, &key);
    if (!(p->cfg = qb_hip_select(h, QBLAS_WFORMAT_W4A16, x->dtype, a->m, &key, fixed, &st))) return st;
    p->stage_x = w->g_idx != NULL || !al16(x->data) || (x->ld * 2) % 16; /* act-order: X gathered by the permutation */
    plan_splits(h, a->m, p->cfg, p->g.np, p->g.kt, fixed, &p->tps, &p->splits);
    /* no overflow: m, k <= 2^30, np < 2^23, splits <= 32 */
    size_t off = 0;
    p->x_off = off;
    if (p->stage_x) off += ALIGN256((size_t)a->m * (size_t)a->k * 2);
    p->p_off = off;
    if (p->splits > 1) off += ALIGN256((size_t)p->splits * (size_t)a->m * (size_t)p->g.np * sizeof(float));
    p->ws_bytes = off ? off + 255 : 0;
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t w4a16_query(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, qb_choice *chosen,
                                  qblas_kernel_info_t *info)
{
    w4_plan p = {0};
    char name[QBLAS_KERNEL_NAME_MAX];
    qblas_status_t st = w4a16_plan(h, a, fixed, &p);
    if (st) return st;
    snprintf(name, sizeof name, "%s%s", p.cfg->name, p.splits > 1 ? "_splitk" : "");
    qb_kernel_info(info, p.ws_bytes, name);
    *chosen = qb_hip_choice(h, p.cfg, p.splits);
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t w4a16_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws, hipStream_t s)
{
    const qb_hip_kernels *K = qb_hip(h)->k;
    const qblas_weight_t *w = a->w;
    w4_plan p = {0};
    qblas_status_t st = w4a16_plan(h, a, c, &p);
    if (st) return st;
    uint8_t *base = p.ws_bytes ? align256(ws) : NULL;
    qb_w4a16_kparams kp = {
        .x = a->x->data, .ldx = a->x->ld, .codes = w->data, .scales = w->scales, .zeros = (const uint8_t *)w->zeros,
        .scale_dtype = (int)w->scale_dtype, .m = (int)a->m, .n = (int)a->n, .k = (int)a->k, .np = (int)p.g.np,
        .kt_total = (int)p.g.kt, .group_shift = p.g.group_shift, .tiles_per_split = (int)p.tps,
        .splits = (int)p.splits, .stages = 1, .y = a->y, .ldy = a->ldy, .y_dtype = (int)a->y_dtype,
        .bias = a->bias, .partial = p.splits > 1 ? (float *)(base + p.p_off) : NULL,
    };
    if (p.stage_x) {
        if ((st = qb_hip_stage_x(h, a->x->data, a->x->ld * 2, w->g_idx, a->m, a->k * 2, a->k * 2, base + p.x_off, s)))
            return st;
        kp.x = base + p.x_off;
        kp.ldx = a->k;
    }
    QB_HIP_TRY(h, K->w4a16(shape_of(p.cfg), (int)a->x->dtype, &kp, s));
    if (p.splits > 1) QB_HIP_TRY(h, K->w4a16_reduce(&kp, s));
    return QBLAS_STATUS_SUCCESS;
}

/* ======================================================================= INT8 (canonical) */

typedef struct {
    const qb_hip_cfg *cfg;
    size_t ws_bytes; /* column sums (n int32, from the first 256-byte boundary), or 0 */
} i8_plan;

static qblas_status_t int8_plan(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, i8_plan *p)
{
    const qblas_weight_t *w = a->w;
    qblas_tuning_entry_t key;
    qblas_status_t st;
    if (w->layout != QBLAS_LAYOUT_CANONICAL)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "weight layout %d: the HIP INT8 GEMM takes CANONICAL weights",
                       (int)w->layout);
    if (a->k % 16)
        return UNSUPPORTED("HIP INT8 needs k %% 16 == 0 (k=%lld): weight rows are read in 16-byte runs", LL(a->k));
    if (a->n > MAX_N) return UNSUPPORTED("HIP INT8 handles n <= %lld (n=%lld)", LL(MAX_N), LL(a->n));
    if ((st = check_m(h, a->m, "INT8")) || (st = check_rows16(h, a->x, 1, "INT8"))) return st;
    if (!al16(w->data)) return UNSUPPORTED("HIP INT8 needs the weight data 16-byte aligned");
    qb_tuning_gemm_key(a, &key);
    if (!(p->cfg = qb_hip_select(h, QBLAS_WFORMAT_INT8, QBLAS_DTYPE_I8, a->m, &key, fixed, &st))) return st;
    /* zero points: the column sums (n int32), then the zero points' verdict */
    p->ws_bytes = a->x->zeros ? ALIGN256((size_t)a->n * sizeof(int32_t)) + sizeof(unsigned long long) + 255 : 0;
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t int8_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws, hipStream_t s)
{
    const qb_hip_kernels *K = qb_hip(h)->k;
    const qblas_act_t *x = a->x;
    const qblas_weight_t *w = a->w;
    i8_plan p = {0};
    qblas_status_t st = int8_plan(h, a, c, &p);
    if (st) return st;
    int32_t *colsum = x->zeros ? (int32_t *)align256(ws) : NULL;
    unsigned long long *verdict =
        colsum ? (unsigned long long *)((uint8_t *)colsum + ALIGN256((size_t)a->n * sizeof(int32_t))) : NULL;
    qb_int8_kparams kp = {
        .x = (const int8_t *)x->data, .ldx = x->ld, .w = (const int8_t *)w->data, .sx = x->scales,
        .sw = (const float *)w->scales, .sx_per_row = x->scale_mode == QBLAS_SCALE_PER_ROW,
        .sw_per_row = w->scale_mode == QBLAS_SCALE_PER_ROW, .zx = x->zeros, .colsum = colsum, .verdict = verdict,
        .m = (int)a->m,
        .n = (int)a->n, .k = (int)a->k, .y = a->y, .ldy = a->ldy, .y_dtype = (int)a->y_dtype, .bias = a->bias,
    };
    /* sum_k W[n][k]: rows of k bytes are the value rows of a 2:4 weight of 2k columns */
    if (colsum) {
        /* the zero points' range (their verdict gates the GEMM, their record is the status), and sum_k W[n][k]:
         * rows of k bytes are the value rows of a 2:4 weight of 2k columns */
        QB_HIP_TRY(h, K->dev_check_i8_zeros(x->zeros, a->m, verdict, &qb_hip(h)->dev->status, s));
        QB_HIP_TRY(h, K->sp24_colsum(kp.w, kp.n, 2 * kp.k, kp.n, colsum, NULL, s));
    }
    QB_HIP_TRY(h, K->int8(shape_of(p.cfg), &kp, s));
    return QBLAS_STATUS_SUCCESS;
}

/* ======================================================================= FP8 (layout 34, gfx942) */

static int64_t nscales_of(const qblas_weight_t *w)
{
    switch (w->scale_mode) {
    case QBLAS_SCALE_PER_TENSOR: return 1;
    case QBLAS_SCALE_PER_ROW: return w->n;
    case QBLAS_SCALE_BLOCK_128X128: return qb_cdiv(w->n, 128) * qb_cdiv(w->k, 128);
    default: return 0;
    }
}

static const char *dname(qblas_dtype_t t)
{
    switch (t) {
    case QBLAS_DTYPE_E4M3: return "e4m3";
    case QBLAS_DTYPE_E5M2: return "e5m2";
    case QBLAS_DTYPE_E4M3FNUZ: return "e4m3fnuz";
    default: return qblas_dtype_name(t);
    }
}

typedef struct {
    size_t codes, scales, total;
} fp8_geo;

static qblas_status_t fp8_geo_of(qblas_handle_t h, const qblas_weight_t *w, fp8_geo *g)
{
    if (!qb_hip(h)->target->has_fp8)
        return UNSUPPORTED("HIP FP8 needs fp8 MFMA (gfx942); %s has none", qb_hip(h)->target->name);
    if (w->k % 16) return UNSUPPORTED("HIP FP8 needs k %% 16 == 0 (k=%lld): rows are read in 16-byte runs", LL(w->k));
    if (w->n > MAX_N || w->k > MAX_MK)
        return UNSUPPORTED("HIP FP8 handles n <= %lld and k <= %lld (n=%lld k=%lld)", LL(MAX_N), LL(MAX_MK), LL(w->n),
                           LL(w->k));
    g->codes = 0;
    g->scales = ALIGN256((size_t)w->n * (size_t)w->k);
    g->total = g->scales + ALIGN256((size_t)nscales_of(w) * sizeof(float)) + 255;
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t fp8_prepack(qblas_handle_t h, const qblas_weight_t *w, uint8_t *base, qblas_weight_t *out,
                                  hipStream_t s)
{
    fp8_geo g = {0};
    qblas_status_t st = fp8_geo_of(h, w, &g);
    if (st) return st;
    QB_HIP_TRY(h, qb_hip(h)->k->pack_fp8((const uint8_t *)w->data, (long long)w->n * w->k, (int)w->dtype,
                                         base + g.codes, s));
    QB_HIP_TRY(h, hipMemcpyAsync(base + g.scales, w->scales, (size_t)nscales_of(w) * sizeof(float),
                                 hipMemcpyDeviceToDevice, s));
    out->layout = QBLAS_LAYOUT_HIP_FP8;
    out->data = base + g.codes;
    out->scales = base + g.scales;
    return QBLAS_STATUS_SUCCESS;
}

typedef struct {
    const qb_hip_cfg *cfg;
} fp8_plan;

static qblas_status_t fp8_plan_of(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, fp8_plan *p)
{
    const qblas_weight_t *w = a->w;
    qblas_tuning_entry_t key;
    fp8_geo g = {0};
    qblas_status_t st;
    /* the CANONICAL weight (as CUDA takes it: OCP codes converted to FNUZ in
     * registers) or the packed one (layout 34: FNUZ already) */
    if ((st = foreign(h, w, QBLAS_LAYOUT_HIP_FP8, "FP8")) || (st = fp8_geo_of(h, w, &g)) ||
        (st = check_m(h, a->m, "FP8")) || (st = check_rows16(h, a->x, 1, "FP8")))
        return st;
    if (w->layout == QBLAS_LAYOUT_CANONICAL) {
        if (!al16(w->data) || w->k % 16) return UNSUPPORTED("HIP FP8 needs the weight rows 16-byte aligned");
    } else if ((uintptr_t)w->data % 256 || (const uint8_t *)w->scales != (const uint8_t *)w->data + g.scales) {
        return INVALID("packed FP8 weight pointers are not as qblas_prepack() left them");
    }
    /* e4m3fnuz activations are read as they are by the e4m3 (fp8) kernels */
    const qblas_dtype_t act = a->x->dtype == QBLAS_DTYPE_E5M2 ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3;
    qb_tuning_gemm_key(a, &key);
    if (!(p->cfg = qb_hip_select(h, QBLAS_WFORMAT_FP8, act, a->m, &key, fixed, &st))) return st;
    return QBLAS_STATUS_SUCCESS;
}

static void fp8_name(const qb_gemm_args *a, const fp8_plan *p, char name[QBLAS_KERNEL_NAME_MAX])
{
    /* as CUDA's: fp8_<x>x<w>_<target>_..., the configuration's name after its "fp8_" */
    snprintf(name, QBLAS_KERNEL_NAME_MAX, "fp8_%sx%s_%s%s", dname(a->x->dtype), dname(a->w->dtype),
             p->cfg->name + strlen("fp8_"), a->w->scale_mode == QBLAS_SCALE_BLOCK_128X128 ? "_block128" : "");
}

static qblas_status_t fp8_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, hipStream_t s)
{
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    fp8_plan p = {0};
    qblas_status_t st = fp8_plan_of(h, a, c, &p);
    if (st) return st;
    const int block = w->scale_mode == QBLAS_SCALE_BLOCK_128X128;
    qb_fp8_kparams kp = {
        .x = (const uint8_t *)x->data, .ldx = x->ld, .w = (const uint8_t *)w->data, .x_dtype = (int)x->dtype,
        .w_dtype = (int)w->dtype, .scales = block ? QB_FP8_SCALES_BLOCK128 : QB_FP8_SCALES_OUTER, .sx = x->scales,
        .sw = (const float *)w->scales, .sx_per_row = x->scale_mode == QBLAS_SCALE_PER_ROW,
        .sw_per_row = w->scale_mode == QBLAS_SCALE_PER_ROW, .m = (int)a->m, .n = (int)a->n, .k = (int)a->k,
        .kb = (int)qb_cdiv(a->k, 128), .y = a->y, .ldy = a->ldy, .y_dtype = (int)a->y_dtype, .bias = a->bias,
        .partial = NULL, .splits = 1, .split_tiles = (int)qb_cdiv(a->k, QB_HIP_BK),
        .w_fnuz = w->layout == QBLAS_LAYOUT_HIP_FP8,
    };
    QB_HIP_TRY(h, qb_hip(h)->k->fp8(shape_of(p.cfg), &kp, s));
    return QBLAS_STATUS_SUCCESS;
}

/* ======================================================================= W4A8 (layout 33) */

typedef struct {
    int64_t np, kt, groups;
    int g128;
    size_t codes, params, s1, total;
} w8_geo;

/* The core validated the format: k even, k <= 65536, g128 => k % 128 == 0. */
static qblas_status_t w8_geo_of(qblas_handle_t h, const qblas_weight_t *w, w8_geo *g)
{
    if (w->n > MAX_N) return UNSUPPORTED("HIP W4A8 handles n <= %lld (n=%lld)", LL(MAX_N), LL(w->n));
    g->g128 = w->group_size == 128;
    g->np = qb_cdiv(w->n, QB_HIP_NP_ALIGN) * QB_HIP_NP_ALIGN;
    g->kt = qb_cdiv(w->k, QB_HIP_BK);
    g->groups = g->g128 ? w->k / 128 : 1;
    size_t off = 0;
    g->codes = off;
    off += ALIGN256((size_t)(g->np / 32) * (size_t)g->kt * QB_HIP_U4_CHUNK);
    g->params = off;
    off += ALIGN256((size_t)g->groups * (size_t)g->np * sizeof(uint16_t));
    g->s1 = off;
    off += ALIGN256((size_t)g->np * sizeof(float));
    g->total = off + 255;
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t w4a8_prepack(qblas_handle_t h, const qblas_weight_t *w, uint8_t *base, qblas_weight_t *out,
                                   hipStream_t s)
{
    const qb_hip_kernels *K = qb_hip(h)->k;
    w8_geo g = {0};
    qblas_status_t st = w8_geo_of(h, w, &g);
    if (st) return st;
    const int n = (int)w->n, k = (int)w->k;
    /* the content check, then the writers, gated by its verdict (as CUDA's) */
    unsigned long long *v;
    if ((st = qb_hip_prepack_verdict(h, s, &v))) return st;
    QB_HIP_TRY(h, K->w4a8_check((const uint8_t *)w->data, (const int8_t *)w->group_scales, (const uint8_t *)w->zeros,
                                n, k, g.g128, v, s));
    QB_HIP_TRY(h, K->dev_publish(v, &qb_hip(h)->dev->status, s));
    QB_HIP_TRY(h, K->pack_u4((const uint8_t *)w->data, n, k, NULL, (int)g.np, (int)g.kt, 0, base + g.codes, v, s));
    QB_HIP_TRY(h, K->pack_w4a8_params((const int8_t *)w->group_scales, (const uint8_t *)w->zeros,
                                      (const uint16_t *)w->scales, n, (int)g.groups, g.g128, (int)g.np,
                                      (uint16_t *)(base + g.params), (float *)(base + g.s1), v, s));
    /* as CUDA's: data the codes, zeros the lane parameters (s2 | z << 8), scales the f32 channel scales */
    out->layout = QBLAS_LAYOUT_HIP_W4A8;
    out->data = base + g.codes;
    out->zeros = base + g.params;
    out->scales = base + g.s1;
    out->group_scales = NULL; /* folded into the parameters */
    return QBLAS_STATUS_SUCCESS;
}

typedef struct {
    const qb_hip_cfg *cfg;
    w8_geo g;
    int64_t splits, tps, kx; /* kx: X row bytes the kernel reads (k rounded up to 16) */
    int stage_x;
    size_t x_off, p_off, ws_bytes;
} w8_plan;

static qblas_status_t w4a8_plan(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, w8_plan *p)
{
    const qblas_weight_t *w = a->w;
    qblas_tuning_entry_t key;
    qblas_status_t st;
    if ((st = foreign(h, w, QBLAS_LAYOUT_HIP_W4A8, "W4A8")) || (st = w8_geo_of(h, w, &p->g)) ||
        (st = check_layout(h, w, QBLAS_LAYOUT_HIP_W4A8, "W4A8")) ||
        (st = check_m(h, a->m, "W4A8")) || (st = check_rows16(h, a->x, 1, "W4A8")))
        return st;
    const uint8_t *base = (const uint8_t *)w->data;
    if ((const uint8_t *)w->zeros != base + p->g.params || (const uint8_t *)w->scales != base + p->g.s1)
        return INVALID("packed W4A8 weight pointers are not as qblas_prepack() left them");
    qb_tuning_gemm_key(a, &key);
    if (!(p->cfg = qb_hip_select(h, QBLAS_WFORMAT_W4A8, QBLAS_DTYPE_I8, a->m, &key, fixed, &st))) return st;
    p->kx = pad16(a->k);
    p->stage_x = p->kx != a->k; /* bytes k .. kx of X rows must read as zeros */
    plan_splits(h, a->m, p->cfg, p->g.np, p->g.kt, fixed, &p->tps, &p->splits);
    size_t off = 0;
    p->x_off = off;
    if (p->stage_x) off += ALIGN256((size_t)a->m * (size_t)p->kx);
    p->p_off = off;
    if (p->splits > 1) off += ALIGN256((size_t)p->splits * (size_t)a->m * (size_t)p->g.np * sizeof(int32_t));
    p->ws_bytes = off ? off + 255 : 0;
    return QBLAS_STATUS_SUCCESS;
}

static void w4a8_name(const w8_plan *p, char name[QBLAS_KERNEL_NAME_MAX])
{
    snprintf(name, QBLAS_KERNEL_NAME_MAX, "w4a8_%s_%s%s", p->g.g128 ? "g128" : "perchannel",
             p->cfg->name + strlen("w4a8_"), p->splits > 1 ? "_splitk" : "");
}

static qblas_status_t w4a8_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws, hipStream_t s)
{
    const qb_hip_kernels *K = qb_hip(h)->k;
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    w8_plan p;
    memset(&p, 0, sizeof p);
    qblas_status_t st = w4a8_plan(h, a, c, &p);
    if (st) return st;
    uint8_t *base = p.ws_bytes ? align256(ws) : NULL;
    qb_w4a8_kparams kp = {
        .x = (const int8_t *)x->data, .ldx = x->ld, .codes = (const uint32_t *)w->data,
        .params = (const uint16_t *)w->zeros, .per_channel = !p.g.g128, .s1 = (const float *)w->scales,
        .sx = x->scales, .sx_per_row = x->scale_mode == QBLAS_SCALE_PER_ROW, .m = (int)a->m, .n = (int)a->n,
        .k = (int)a->k, .np = (int)p.g.np, .kt_total = (int)p.g.kt, .group_shift = p.g.g128 ? 1 : 30,
        .tiles_per_split = (int)p.tps, .splits = (int)p.splits, .y = a->y, .ldy = a->ldy,
        .y_dtype = (int)a->y_dtype, .bias = a->bias,
        .partial = p.splits > 1 ? (int32_t *)(base + p.p_off) : NULL,
    };
    if (p.stage_x) {
        if ((st = qb_hip_stage_x(h, x->data, x->ld, NULL, a->m, a->k, p.kx, base + p.x_off, s))) return st;
        kp.x = (const int8_t *)(base + p.x_off);
        kp.ldx = p.kx;
    }
    QB_HIP_TRY(h, K->w4a8(shape_of(p.cfg), &kp, s));
    if (p.splits > 1) QB_HIP_TRY(h, K->w4a8_reduce(&kp, s));
    return QBLAS_STATUS_SUCCESS;
}

/* ======================================================================= 2:4 sparse (layout 35) */

typedef struct {
    int64_t es, kt, kp, nsw;
    size_t dense, scales, colsum, total;
} sp_geo;

static qblas_status_t sp_geo_of(qblas_handle_t h, const qblas_weight_t *w, sp_geo *g)
{
    const bool fp8 = w->dtype == QBLAS_DTYPE_E4M3 || w->dtype == QBLAS_DTYPE_E5M2;
    g->es = qb_is_float16ish(w->dtype) ? 2 : 1;
    if (fp8 && !qb_hip(h)->target->has_fp8)
        return UNSUPPORTED("HIP 2:4 fp8 weights need fp8 MFMA (gfx942); %s has none", qb_hip(h)->target->name);
    if (w->n > MAX_N || w->k > MAX_MK)
        return UNSUPPORTED("HIP 2:4 sparse handles n <= %lld and k <= %lld (n=%lld k=%lld)", LL(MAX_N), LL(MAX_MK),
                           LL(w->n), LL(w->k));
    g->kt = qb_cdiv(w->k, QB_HIP_BK);
    g->kp = g->kt * QB_HIP_BK;
    g->nsw = qb_is_float16ish(w->dtype) ? 0 : nscales_of(w);
    size_t off = 0;
    g->dense = off;
    off += ALIGN256((size_t)w->n * (size_t)g->kp * (size_t)g->es);
    g->scales = off;
    off += ALIGN256((size_t)g->nsw * sizeof(float));
    g->colsum = off;
    if (w->dtype == QBLAS_DTYPE_I8) off += ALIGN256((size_t)w->n * sizeof(int32_t));
    g->total = off + 255;
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t sp24_prepack(qblas_handle_t h, const qblas_weight_t *w, uint8_t *base, qblas_weight_t *out,
                                   hipStream_t s)
{
    const qb_hip_kernels *K = qb_hip(h)->k;
    sp_geo g = {0};
    qblas_status_t st = sp_geo_of(h, w, &g);
    if (st) return st;
    const int n = (int)w->n, k = (int)w->k;
    /* the meta check, then the writers, gated by its verdict (as CUDA's) */
    unsigned long long *v;
    if ((st = qb_hip_prepack_verdict(h, s, &v))) return st;
    QB_HIP_TRY(h, K->sp24_check_meta((const uint8_t *)w->meta, n, k, v, s));
    QB_HIP_TRY(h, K->dev_publish(v, &qb_hip(h)->dev->status, s));
    QB_HIP_TRY(h, K->sp24_decompress(w->data, (const uint8_t *)w->meta, (int)w->dtype, n, k, n, (int)g.kp,
                                     base + g.dense, v, s));
    if (g.nsw) QB_HIP_TRY(h, K->dev_copy(base + g.scales, w->scales, (size_t)g.nsw * sizeof(float), v, s));
    if (w->dtype == QBLAS_DTYPE_I8)
        QB_HIP_TRY(h, K->sp24_colsum((const int8_t *)w->data, n, k, n, (int32_t *)(base + g.colsum), v, s));
    out->layout = QBLAS_LAYOUT_HIP_SPARSE24;
    out->data = base + g.dense;
    out->meta = NULL; /* decompressed: no metadata */
    out->scales = g.nsw ? base + g.scales : NULL;
    return QBLAS_STATUS_SUCCESS;
}

typedef struct {
    const qb_hip_cfg *cfg;
    sp_geo g;
    int stage_x;
    int64_t ldo; /* staged X: row bytes (k rounded up to 16 elements) */
    int zx_verdict;
    size_t v_off, ws_bytes;
} sp_plan;

static qblas_status_t sp24_plan(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, sp_plan *p)
{
    const qblas_weight_t *w = a->w;
    qblas_tuning_entry_t key;
    qblas_status_t st;
    if ((st = foreign(h, w, QBLAS_LAYOUT_HIP_SPARSE24, "2:4 sparse")) || (st = sp_geo_of(h, w, &p->g)) ||
        (st = check_layout(h, w, QBLAS_LAYOUT_HIP_SPARSE24, "2:4 sparse")) ||
        (st = check_m(h, a->m, "2:4 sparse")) || (st = check_rows16(h, a->x, p->g.es, "2:4 sparse")))
        return st;
    if (w->meta || (p->g.nsw && (const uint8_t *)w->scales != (const uint8_t *)w->data + p->g.scales))
        return INVALID("packed 2:4 weight pointers are not as qblas_prepack() left them");
    qb_tuning_gemm_key(a, &key);
    if (!(p->cfg = qb_hip_select(h, QBLAS_WFORMAT_SPARSE24, w->dtype, a->m, &key, fixed, &st))) return st;
    /* elements k .. k rounded up to 16 are read: past the last row's end, and they must be zeros (a NaN
     * would meet the zero padding) */
    p->stage_x = a->k % 16 != 0;
    p->ldo = pad16(a->k) * p->g.es;
    /* the staged X, then (i8 with zero points) the zero points' verdict */
    p->zx_verdict = w->dtype == QBLAS_DTYPE_I8 && a->x->zeros;
    size_t off = p->stage_x ? ALIGN256((size_t)a->m * (size_t)p->ldo) : 0;
    p->v_off = off;
    if (p->zx_verdict) off += sizeof(unsigned long long);
    p->ws_bytes = off ? off + 255 : 0;
    return QBLAS_STATUS_SUCCESS;
}

static void sp24_name(const qb_gemm_args *a, const sp_plan *p, char name[QBLAS_KERNEL_NAME_MAX])
{
    const bool fp8 = qb_is_fp8(a->w->dtype);
    snprintf(name, QBLAS_KERNEL_NAME_MAX, "%s%s%s%s", p->cfg->name, fp8 ? "_x" : "", fp8 ? dname(a->x->dtype) : "",
             a->x->scale_mode == QBLAS_SCALE_BLOCK_1X128 ? "_block128" : "");
}

static qblas_status_t sp24_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws, hipStream_t s)
{
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    sp_plan p;
    memset(&p, 0, sizeof p);
    qblas_status_t st = sp24_plan(h, a, c, &p);
    if (st) return st;
    const uint8_t *base = (const uint8_t *)w->data;
    const bool i8 = w->dtype == QBLAS_DTYPE_I8, scaled = p.g.nsw > 0;
    qb_sp24_kparams kp = {
        .x = x->data, .ldx = x->ld, .vals = base + p.g.dense, .meta = NULL, .kt = (int)p.g.kt, .m = (int)a->m,
        .n = (int)a->n, .k = (int)a->k, .sx = scaled ? x->scales : NULL, .sw = scaled ? (const float *)w->scales : NULL,
        .sx_per_row = x->scale_mode == QBLAS_SCALE_PER_ROW, .sw_per_row = w->scale_mode == QBLAS_SCALE_PER_ROW,
        .kb = (int)qb_cdiv(a->k, 128), .zx = i8 ? x->zeros : NULL,
        .colsum = i8 ? (const int32_t *)(base + p.g.colsum) : NULL, .verdict = NULL, .y = a->y, .ldy = a->ldy,
        .y_dtype = (int)a->y_dtype, .bias = a->bias,
    };
    if (p.zx_verdict) {
        /* the zero points' range: its verdict gates the GEMM, its record is the status */
        unsigned long long *v = (unsigned long long *)(align256(ws) + p.v_off);
        QB_HIP_TRY(h, qb_hip(h)->k->dev_check_i8_zeros(x->zeros, a->m, v, &qb_hip(h)->dev->status, s));
        kp.verdict = v;
    }
    if (p.stage_x) {
        uint8_t *xs = align256(ws);
        if ((st = qb_hip_stage_x(h, x->data, x->ld * p.g.es, NULL, a->m, a->k * p.g.es, p.ldo, xs, s))) return st;
        kp.x = xs;
        kp.ldx = p.ldo / p.g.es;
    }
    const int block = x->scale_mode == QBLAS_SCALE_BLOCK_1X128;
    QB_HIP_TRY(h, qb_hip(h)->k->sp24_dense(shape_of(p.cfg), (int)w->dtype, (int)x->dtype, block, &kp, s));
    return QBLAS_STATUS_SUCCESS;
}

/* ======================================================================= the operation table's entries */

qblas_status_t qb_hip_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes)
{
    qblas_status_t st = QBLAS_STATUS_SUCCESS;
    switch (w->format) {
    case QBLAS_WFORMAT_W4A16: {
        w4_geo g = {0};
        if (!(st = w4_geo_of(h, w, w->zeros != NULL, &g))) *bytes = g.total;
        break;
    }
    case QBLAS_WFORMAT_INT8:
        return UNSUPPORTED("the HIP INT8 GEMM takes the CANONICAL weight layout directly: there is nothing to prepack");
    case QBLAS_WFORMAT_FP8: {
        fp8_geo g = {0};
        if (!(st = fp8_geo_of(h, w, &g))) *bytes = g.total;
        break;
    }
    case QBLAS_WFORMAT_W4A8: {
        w8_geo g = {0};
        if (!(st = w8_geo_of(h, w, &g))) *bytes = g.total;
        break;
    }
    default: {
        sp_geo g = {0};
        if (!(st = sp_geo_of(h, w, &g))) *bytes = g.total;
        break;
    }
    }
    return st;
}

qblas_status_t qb_hip_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                              qblas_weight_t *packed, void *stream)
{
    hipStream_t s = (hipStream_t)stream;
    size_t need = 0;
    (void)dst_bytes; /* the core checked it against prepack_size */
    qblas_status_t st = qb_hip_prepack_size(h, w, &need);
    if (st || (st = qb_hip_on_device(h))) return st;
    /* the kernels read and write these: device memory of this device (a host pointer would fault) */
    if ((st = qb_hip_device_ptr(h, w->data, "weight data")) || (st = qb_hip_device_ptr(h, w->scales, "weight scales")) ||
        (st = qb_hip_device_ptr(h, w->zeros, "weight zeros")) ||
        (st = qb_hip_device_ptr(h, w->group_scales, "group scales")) ||
        (st = qb_hip_device_ptr(h, w->g_idx, "g_idx")) || (st = qb_hip_device_ptr(h, w->meta, "2:4 meta")) ||
        (st = qb_hip_device_ptr(h, dst, "prepack dst")))
        return st;
    uint8_t *base = align256(dst);
    qblas_weight_t out = *w; /* the canonical format fields stay (the core validates them on every GEMM) */
    switch (w->format) {
    case QBLAS_WFORMAT_W4A16: st = w4a16_prepack(h, w, base, &out, s); break;
    case QBLAS_WFORMAT_FP8: st = fp8_prepack(h, w, base, &out, s); break;
    case QBLAS_WFORMAT_W4A8: st = w4a8_prepack(h, w, base, &out, s); break;
    default: st = sp24_prepack(h, w, base, &out, s); break;
    }
    if (!st) *packed = out;
    return st;
}

qblas_status_t qb_hip_gemm_query(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, qb_choice *chosen,
                                 qblas_kernel_info_t *info)
{
    char name[QBLAS_KERNEL_NAME_MAX];
    qblas_status_t st;
    switch (a->w->format) {
    case QBLAS_WFORMAT_W4A16: return w4a16_query(h, a, fixed, chosen, info);
    case QBLAS_WFORMAT_INT8: {
        i8_plan p = {0};
        if ((st = int8_plan(h, a, fixed, &p))) return st;
        qb_kernel_info(info, p.ws_bytes, p.cfg->name);
        *chosen = qb_hip_choice(h, p.cfg, 1);
        return QBLAS_STATUS_SUCCESS;
    }
    case QBLAS_WFORMAT_FP8: {
        fp8_plan p = {0};
        if ((st = fp8_plan_of(h, a, fixed, &p))) return st;
        fp8_name(a, &p, name);
        qb_kernel_info(info, 0, name);
        *chosen = qb_hip_choice(h, p.cfg, 1);
        return QBLAS_STATUS_SUCCESS;
    }
    case QBLAS_WFORMAT_W4A8: {
        w8_plan p;
        memset(&p, 0, sizeof p);
        if ((st = w4a8_plan(h, a, fixed, &p))) return st;
        w4a8_name(&p, name);
        qb_kernel_info(info, p.ws_bytes, name);
        *chosen = qb_hip_choice(h, p.cfg, p.splits);
        return QBLAS_STATUS_SUCCESS;
    }
    default: {
        sp_plan p;
        memset(&p, 0, sizeof p);
        if ((st = sp24_plan(h, a, fixed, &p))) return st;
        sp24_name(a, &p, name);
        qb_kernel_info(info, p.ws_bytes, name);
        *chosen = qb_hip_choice(h, p.cfg, 1);
        return QBLAS_STATUS_SUCCESS;
    }
    }
}

qblas_status_t qb_hip_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws, size_t ws_bytes,
                           void *stream)
{
    hipStream_t s = (hipStream_t)stream;
    (void)ws_bytes; /* the core checked it against the query */
    qblas_status_t st = qb_hip_on_device(h);
    if (st) return st;
    switch (a->w->format) {
    case QBLAS_WFORMAT_W4A16: return w4a16_gemm(h, a, c, ws, s);
    case QBLAS_WFORMAT_INT8: return int8_gemm(h, a, c, ws, s);
    case QBLAS_WFORMAT_FP8: return fp8_gemm(h, a, c, s);
    case QBLAS_WFORMAT_W4A8: return w4a8_gemm(h, a, c, ws, s);
    default: return sp24_gemm(h, a, c, ws, s);
    }
}
