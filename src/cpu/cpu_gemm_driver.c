/* cpu_gemm_driver.c - the two GEMM drivers of the CPU oracle, the plan
 * pieces every format shares, and the INT8 and FP8 plans (which are nothing
 * but those pieces).
 *
 * Blocking: X is decoded QB_MB rows at a time into the workspace (shared by
 * all threads); threads split the N dimension into panels of QB_NB weight
 * rows, decode their panel into a private buffer and dot it with every
 * decoded X row of the chunk. A panel (QB_NB * k floats) stays in L2, an X row
 * in L1 across the QB_NB dots that reuse it. Each output element is computed
 * by one thread in a fixed order, so results do not depend on the number of
 * threads.
 */
#include "cpu_internal.h"

#define QB_NB 16  /* weight rows per panel */
#define QB_MB 128 /* activation rows per chunk */

static int64_t num_kblocks(const qb_cpu_gemm_plan *p)
{
    return p->kblock > 0 ? qb_cdiv(p->a->k, p->kblock) : 1;
}

static int effective_threads(const qb_cpu_gemm_plan *p, int nthreads)
{
    int64_t panels = qb_cdiv(p->a->n, QB_NB);
    return nthreads < panels ? nthreads : (int)panels;
}

static int64_t elem_bytes(const qb_cpu_gemm_plan *p) { return p->is_int ? sizeof(int16_t) : sizeof(float); }

/* x rounded up to a multiple of 64 bytes; false when that overflows */
static bool align64(int64_t x, int64_t *out)
{
    if (!qb_add(x, 63, out)) return false;
    *out &= ~(int64_t)63;
    return true;
}

/* The workspace of a plan: the decoded X chunk (xbytes), then one area per
 * thread (a decoded weight panel, the decoder's scratch, the partial sums),
 * from the workspace's first 64-byte boundary (total includes the slack).
 * Every product is overflow-checked: K near 2^57 would wrap them. */
typedef struct {
    int64_t xbytes, panel, scratch, per_thread, total;
} ws_layout;

static bool workspace_layout(const qb_cpu_gemm_plan *p, int nthreads, ws_layout *l)
{
    const int64_t mb = p->a->m < QB_MB ? p->a->m : QB_MB;
    int64_t partial, areas;
    return qb_mul(mb * elem_bytes(p), p->a->k, &l->xbytes) && align64(l->xbytes, &l->xbytes) &&
           qb_mul(QB_NB * elem_bytes(p), p->a->k, &l->panel) && align64(l->panel, &l->panel) &&
           p->w_scratch <= (size_t)INT64_MAX && align64((int64_t)p->w_scratch, &l->scratch) &&
           qb_mul(num_kblocks(p), 4 * (int64_t)sizeof(float), &partial) && align64(partial, &partial) &&
           qb_add(l->panel, l->scratch, &l->per_thread) && qb_add(l->per_thread, partial, &l->per_thread) &&
           qb_mul(l->per_thread, effective_threads(p, nthreads), &areas) && qb_add(l->xbytes, areas, &l->total) &&
           qb_add(l->total, QB_WS_SLACK, &l->total);
}

bool qb_cpu_gemm_workspace(const qb_cpu_gemm_plan *p, int nthreads, size_t *bytes)
{
    ws_layout l;
    if (!workspace_layout(p, nthreads, &l)) return false;
    *bytes = (size_t)l.total;
    return true;
}

/* ---- dot products ----
 * Eight independent partial sums per output let the compiler vectorise
 * without reassociating; four weight rows per pass reuse each x load. */
static void dot4_f32(const float *x, const float *w, int64_t ldw, int64_t len, int nr, float out[4])
{
    float acc[4][8] = {{0}};
    const float *w0 = w, *w1 = w + (nr > 1) * ldw, *w2 = w + (nr > 2) * 2 * ldw, *w3 = w + (nr > 3) * 3 * ldw;
    int64_t i = 0;
    for (; i + 8 <= len; i += 8)
        for (int l = 0; l < 8; l++) {
            float xv = x[i + l];
            acc[0][l] += xv * w0[i + l];
            acc[1][l] += xv * w1[i + l];
            acc[2][l] += xv * w2[i + l];
            acc[3][l] += xv * w3[i + l];
        }
    for (int l = 0; i < len; i++, l++) {
        acc[0][l] += x[i] * w0[i];
        acc[1][l] += x[i] * w1[i];
        acc[2][l] += x[i] * w2[i];
        acc[3][l] += x[i] * w3[i];
    }
    for (int r = 0; r < 4; r++) {
        float *a = acc[r];
        out[r] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    }
}

static void dot4_i16(const int16_t *x, const int16_t *w, int64_t ldw, int64_t len, int nr, int32_t out[4])
{
    int32_t acc[4][8] = {{0}};
    const int16_t *w0 = w, *w1 = w + (nr > 1) * ldw, *w2 = w + (nr > 2) * 2 * ldw, *w3 = w + (nr > 3) * 3 * ldw;
    int64_t i = 0;
    for (; i + 8 <= len; i += 8)
        for (int l = 0; l < 8; l++) {
            int32_t xv = x[i + l];
            acc[0][l] += xv * w0[i + l];
            acc[1][l] += xv * w1[i + l];
            acc[2][l] += xv * w2[i + l];
            acc[3][l] += xv * w3[i + l];
        }
    for (int l = 0; i < len; i++, l++) {
        acc[0][l] += x[i] * w0[i];
        acc[1][l] += x[i] * w1[i];
        acc[2][l] += x[i] * w2[i];
        acc[3][l] += x[i] * w3[i];
    }
    for (int r = 0; r < 4; r++) {
        int32_t s = 0;
        for (int l = 0; l < 8; l++) s += acc[r][l];
        out[r] = s;
    }
}

/* ---- the run ---- */
typedef struct {
    const qb_cpu_gemm_plan *p;
    uint8_t *ws;       /* X chunk, then per-thread areas */
    ws_layout l;
    int64_t m0, mrows; /* current X chunk */
} qb_run;

static void store(const qb_cpu_gemm_plan *p, int64_t m, int64_t n, float v)
{
    const qb_gemm_args *a = p->a;
    if (a->bias) v += qb_load_f32(a->y_dtype, a->bias, n);
    qb_store_f32(a->y_dtype, a->y, m * a->ldy + n, v);
}

static void decode_x(void *ctx, int64_t r0, int64_t r1, int tid)
{
    qb_run *run = ctx;
    const qb_cpu_gemm_plan *p = run->p;
    int64_t k = p->a->k;
    if (p->is_int)
        p->x_i16(p, run->m0 + r0, r1 - r0, (int16_t *)run->ws + r0 * k);
    else
        p->x_f32(p, run->m0 + r0, r1 - r0, (float *)run->ws + r0 * k);
}

static void panels(void *ctx, int64_t b, int64_t e, int tid)
{
    qb_run *run = ctx;
    const qb_cpu_gemm_plan *p = run->p;
    const int64_t k = p->a->k, n = p->a->n, nkb = num_kblocks(p);
    const int64_t kb_len = p->kblock > 0 ? p->kblock : k;
    uint8_t *mine = run->ws + run->l.xbytes + (size_t)tid * (size_t)run->l.per_thread;
    void *wbuf = mine;
    void *scratch = mine + run->l.panel;
    float *partial = (float *)((uint8_t *)scratch + run->l.scratch);

    for (int64_t panel = b; panel < e; panel++) {
        int64_t n0 = panel * QB_NB, nrows = n - n0 < QB_NB ? n - n0 : QB_NB;
        if (p->is_int)
            p->w_i16(p, n0, nrows, wbuf, scratch);
        else
            p->w_f32(p, n0, nrows, wbuf, scratch);
        for (int64_t r = 0; r < run->mrows; r++) {
            int64_t m = run->m0 + r;
            for (int64_t j = 0; j < nrows; j += 4) {
                int nr = nrows - j < 4 ? (int)(nrows - j) : 4;
                if (p->is_int) {
                    int32_t acc[4];
                    dot4_i16((const int16_t *)run->ws + r * k, (const int16_t *)wbuf + j * k, k, k, nr, acc);
                    for (int t = 0; t < nr; t++) store(p, m, n0 + j + t, p->epi_i32(p, m, n0 + j + t, acc[t]));
                    continue;
                }
                /* float: partial sums per k block for rows j..j+nr of the panel */
                for (int64_t kb = 0; kb < nkb; kb++) {
                    int64_t k0 = kb * kb_len, len = k - k0 < kb_len ? k - k0 : kb_len;
                    float out[4];
                    dot4_f32((const float *)run->ws + r * k + k0, (const float *)wbuf + j * k + k0, k, len, nr, out);
                    for (int t = 0; t < nr; t++) partial[t * nkb + kb] = out[t];
                }
                for (int t = 0; t < nr; t++) {
                    int64_t nn = n0 + j + t;
                    const float *pt = partial + t * nkb;
                    store(p, m, nn, p->epi_f32 ? p->epi_f32(p, m, nn, pt) : pt[0]);
                }
            }
        }
    }
}

void qb_cpu_gemm_run(const qb_cpu_gemm_plan *p, void *ws, int nthreads)
{
    const qb_gemm_args *a = p->a;
    int nt = effective_threads(p, nthreads);
    qb_run run = {p, qb_ws_align(ws), {0}, 0, 0};
    workspace_layout(p, nthreads, &run.l); /* the query that sized ws found no overflow */
    for (int64_t m0 = 0; m0 < a->m; m0 += QB_MB) {
        run.m0 = m0;
        run.mrows = a->m - m0 < QB_MB ? a->m - m0 : QB_MB;
        qb_parallel_for(nthreads, run.mrows, decode_x, &run);
        qb_parallel_for(nt, qb_cdiv(a->n, QB_NB), panels, &run);
    }
}

/* ---- shared plan pieces ---- */
void qb_cpu_x_f32(const qb_cpu_gemm_plan *p, int64_t m0, int64_t rows, float *out)
{
    const qblas_act_t *x = p->a->x;
    size_t es = qb_dtype_size(x->dtype);
    for (int64_t r = 0; r < rows; r++)
        qb_row_to_f32(x->dtype, (const uint8_t *)x->data + (size_t)(m0 + r) * x->ld * es, p->a->k, out + r * p->a->k);
}

void qb_cpu_x_i16(const qb_cpu_gemm_plan *p, int64_t m0, int64_t rows, int16_t *out)
{
    const qblas_act_t *x = p->a->x;
    int64_t k = p->a->k;
    for (int64_t r = 0; r < rows; r++) {
        const int8_t *src = (const int8_t *)x->data + (m0 + r) * x->ld;
        int32_t zx = x->zeros ? x->zeros[m0 + r] : 0; /* range-checked in setup: |x - zx| <= 255 */
        for (int64_t i = 0; i < k; i++) out[r * k + i] = (int16_t)(src[i] - zx);
    }
}

float qb_cpu_x_scale(const qblas_act_t *x, int64_t k, int64_t m, int64_t kb)
{
    switch (x->scale_mode) {
    case QBLAS_SCALE_PER_ROW: return x->scales[m];
    case QBLAS_SCALE_BLOCK_1X128: return x->scales[m * qb_cdiv(k, 128) + kb];
    default: return x->scales[0];
    }
}

static float w_scale(const qblas_weight_t *w, int64_t n, int64_t kb)
{
    const float *s = w->scales;
    switch (w->scale_mode) {
    case QBLAS_SCALE_PER_ROW: return s[n];
    case QBLAS_SCALE_BLOCK_128X128: return s[(n / 128) * qb_cdiv(w->k, 128) + kb];
    default: return s[0];
    }
}

float qb_cpu_epi_scaled_f32(const qb_cpu_gemm_plan *p, int64_t m, int64_t n, const float *partial)
{
    const qblas_act_t *x = p->a->x;
    int64_t k = p->a->k;
    if (p->w.scale_mode != QBLAS_SCALE_BLOCK_128X128)
        return partial[0] * qb_cpu_x_scale(x, k, m, 0) * w_scale(&p->w, n, 0);
    /* block scales: promote each 128-k partial sum with its own scales */
    float acc = 0.0f;
    for (int64_t kb = 0; kb < qb_cdiv(k, 128); kb++)
        acc += partial[kb] * qb_cpu_x_scale(x, k, m, kb) * w_scale(&p->w, n, kb);
    return acc;
}

float qb_cpu_epi_scaled_i32(const qb_cpu_gemm_plan *p, int64_t m, int64_t n, int32_t acc)
{
    return (float)acc * qb_cpu_x_scale(p->a->x, p->a->k, m, 0) * w_scale(&p->w, n, 0);
}

/* Host-readable content check shared by the integer GEMMs: zero points in i8 range. */
static qblas_status_t check_x_zeros(qblas_handle_t h, const qb_cpu_gemm_plan *p)
{
    const qblas_act_t *x = p->a->x;
    if (!x->zeros) return QBLAS_STATUS_SUCCESS;
    for (int64_t m = 0; m < p->a->m; m++)
        if (x->zeros[m] < -128 || x->zeros[m] > 127)
            return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "activation zero point %d (row %lld) outside -128..127",
                           x->zeros[m], (long long)m);
    return QBLAS_STATUS_SUCCESS;
}

/* ---- INT8: exact int32 dot, then acc * sx * sw ---- */
static void int8_w(const qb_cpu_gemm_plan *p, int64_t n0, int64_t rows, int16_t *out, void *scratch)
{
    int64_t k = p->a->k;
    const int8_t *w = (const int8_t *)p->w.data + n0 * k;
    for (int64_t i = 0; i < rows * k; i++) out[i] = w[i];
}

qblas_status_t qb_cpu_setup_int8(qblas_handle_t h, qb_cpu_gemm_plan *p)
{
    p->is_int = 1;
    p->x_i16 = qb_cpu_x_i16;
    p->w_i16 = int8_w;
    p->epi_i32 = qb_cpu_epi_scaled_i32;
    p->kernel = p->a->x->zeros ? "cpu_ref_int8_asym" : "cpu_ref_int8";
    return check_x_zeros(h, p);
}

/* ---- FP8: exact products, fp32 sums (per 128-k block for block scales) ---- */
static void fp8_w(const qb_cpu_gemm_plan *p, int64_t n0, int64_t rows, float *out, void *scratch)
{
    int64_t k = p->a->k;
    const uint8_t *w = (const uint8_t *)p->w.data + n0 * k;
    qb_row_to_f32(p->w.dtype, w, rows * k, out);
}

/* names: [x dtype][w dtype][block], dtypes in enum order e4m3, e5m2, e4m3fnuz */
#define FP8_NAMES(x)                                                                                     \
    {{"cpu_ref_fp8_" x "xe4m3", "cpu_ref_fp8_" x "xe4m3_block128"},                                    \
     {"cpu_ref_fp8_" x "xe5m2", "cpu_ref_fp8_" x "xe5m2_block128"},                                    \
     {"cpu_ref_fp8_" x "xe4m3fnuz", "cpu_ref_fp8_" x "xe4m3fnuz_block128"}}
static const char *const fp8_names[3][3][2] = {FP8_NAMES("e4m3"), FP8_NAMES("e5m2"), FP8_NAMES("e4m3fnuz")};

qblas_status_t qb_cpu_setup_fp8(qblas_handle_t h, qb_cpu_gemm_plan *p)
{
    int block = p->w.scale_mode == QBLAS_SCALE_BLOCK_128X128;
    p->is_int = 0;
    p->kblock = block ? 128 : 0;
    p->x_f32 = qb_cpu_x_f32;
    p->w_f32 = fp8_w;
    p->epi_f32 = qb_cpu_epi_scaled_f32;
    p->kernel = fp8_names[p->a->x->dtype - QBLAS_DTYPE_E4M3][p->w.dtype - QBLAS_DTYPE_E4M3][block];
    return QBLAS_STATUS_SUCCESS;
}
