/* cuda_int8.c - the W8A8 INT8 GEMM on the CUDA backend, host side: shape
 * and alignment checks, the kernel configuration, the workspace, the launch.
 * The core has validated every argument it can (src/core/validate.c); the
 * kernels (gemm_int8.cu) give the CPU oracle's results bit for bit.
 *
 * Layout: the GEMM takes the CANONICAL weight ([n][k] int8, K-major per
 * output channel, which is already the tensor cores' "col" B operand).
 * There is no CUDA packed layout, so qblas_prepack_size / qblas_prepack
 * answer NOT_SUPPORTED with that reason.
 *
 * Requirements (NOT_SUPPORTED from gemm_query and gemm, before anything is
 * written): k % 16 == 0; X's pointer and ldx multiples of 16 bytes; the
 * weight data 16-byte aligned (its rows are then too, k % 16 == 0);
 * n <= 65535 * 128 (grid rows of the n blocks).
 *
 * Zero points: acc - zx[m] * colsum[n] needs the weight's column sums,
 * computed per call into the workspace (n int32) when X has zero points.
 * zx lives in device memory, so the colsum launch also checks it (a device
 * check, docs/API.md) and leaves its verdict in the workspace after the
 * sums; a zero point outside -128..127 makes the GEMM kernel write nothing
 * and is reported by qblas_device_status.
 */
#include "../core/tuning.h"
#include "cuda_backend.h"

#define LL(x) ((long long)(x))
#define ALIGN256(x) (((x) + (size_t)255) & ~(size_t)255)
#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)

#define I8_MAX_N ((int64_t)65535 * 128)
#define I8_MAX_M ((int64_t)1 << 30)

typedef struct {
    const qb_cuda_cfg *cfg;
    size_t ws_bytes; /* column sums (n int32, from a 256-byte boundary), then the zero points' verdict; or 0 */
} i8_plan;

qblas_status_t qb_cuda_int8_init(qblas_handle_t h)
{
    const qb_cuda_state *s = qb_cuda(h);
    size_t most = qb_cuda_cfg_max_smem(s->arch, QB_FAM_INT8, QB_DTYPE_ANY, -1);
    QB_CUDA_TRY(h, qb_int8_prepare(most < (size_t)s->smem_optin ? (int)most : s->smem_optin));
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_int8_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes)
{
    (void)w, (void)bytes;
    return UNSUPPORTED("the CUDA INT8 GEMM takes the CANONICAL weight layout directly: there is nothing to prepack");
}

qblas_status_t qb_cuda_int8_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,
                                    qblas_weight_t *packed, void *stream)
{
    (void)dst, (void)dst_bytes, (void)packed, (void)stream;
    return qb_cuda_int8_prepack_size(h, w, NULL);
}

/* Shapes and alignments the kernels take. */
static qblas_status_t check_problem(qblas_handle_t h, const qb_gemm_args *a)
{
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    if (w->layout != QBLAS_LAYOUT_CANONICAL)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "weight layout %d: the CUDA INT8 GEMM takes CANONICAL weights",
                       (int)w->layout);
    if (a->k % 16)
        return UNSUPPORTED("CUDA INT8 needs k %% 16 == 0 (k=%lld): rows are copied in 16-byte chunks", LL(a->k));
    if (a->n > I8_MAX_N || a->m > I8_MAX_M)
        return UNSUPPORTED("CUDA INT8 handles n <= %lld and m <= %lld (n=%lld m=%lld)", LL(I8_MAX_N), LL(I8_MAX_M),
                           LL(a->n), LL(a->m));
    return qb_cuda_check_rows16(h, x, w->data, "INT8");
}

/* fixed: a plan's (or the query's) choice; NULL: select. */
static qblas_status_t make_plan(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, i8_plan *p)
{
    qblas_tuning_entry_t key;
    qblas_status_t st = check_problem(h, a);
    if (st) return st;
    qb_tuning_gemm_key(a, &key);
    const qb_cuda_need need = {QB_FAM_INT8, QB_DTYPE_ANY, -1, a->m, &key};
    if (!(p->cfg = qb_cuda_select(h, &need, fixed, &st))) return st;
    /* column sums and the verdict, used from the workspace's first 256-byte boundary */
    p->ws_bytes = a->x->zeros ? ALIGN256((size_t)a->n * sizeof(int32_t)) + 256 + 255 : 0;
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_int8_query(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed, qb_choice *chosen,
                                  qblas_kernel_info_t *info)
{
    i8_plan p = {0};
    qblas_status_t st = make_plan(h, a, fixed, &p);
    if (st) return st;
    qb_kernel_info(info, p.ws_bytes, p.cfg->name);
    *chosen = qb_cuda_choice(p.cfg, 1);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_int8_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws,
                                 size_t ws_bytes, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    const qblas_weight_t *w = a->w;
    const qblas_act_t *x = a->x;
    i8_plan p = {0};
    qblas_status_t st = make_plan(h, a, c, &p);
    if (st || (st = qb_cuda_on_device(h))) return st;
    (void)ws_bytes; /* the core checked it against the query */
    uint8_t *base = x->zeros ? (uint8_t *)(((uintptr_t)ws + 255) & ~(uintptr_t)255) : NULL;
    int32_t *colsum = (int32_t *)base;
    unsigned long long *verdict = base ? (unsigned long long *)(base + ALIGN256((size_t)a->n * sizeof(int32_t))) : NULL;
    qb_int8_kparams kp = {
        .x = x->data, .ldx = x->ld, .w = w->data, .sx = x->scales, .sw = w->scales,
        .sx_per_row = x->scale_mode == QBLAS_SCALE_PER_ROW, .sw_per_row = w->scale_mode == QBLAS_SCALE_PER_ROW,
        .zx = x->zeros, .colsum = colsum, .verdict = verdict, .m = (int)a->m, .n = (int)a->n, .k = (int)a->k,
        .y = a->y, .ldy = a->ldy, .y_dtype = (int)a->y_dtype, .bias = a->bias,
    };
    if (colsum)
        QB_CUDA_TRY(h, qb_int8_colsum(kp.w, kp.n, kp.k, colsum, kp.zx, kp.m, verdict, &qb_cuda(h)->dev->status, s));
    QB_CUDA_TRY(h, qb_int8_launch(p.cfg->bm, p.cfg->bn, p.cfg->stages, &kp, s));
    return QBLAS_STATUS_SUCCESS;
}
