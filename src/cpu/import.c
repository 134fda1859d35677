/* import.c - GPTQ and AWQ checkpoints -> canonical W4A16 (host).
 *
 * Both store eight u4 values per int32, value i in bits 4i..4i+3:
 *   GPTQ  qweight [k/8][n]: word (k/8, n), nibble k%8
 *   AWQ   qweight [k][n/8]: word (k, n/8), nibble i holds column 8*(n/8) + AWQ_ORDER[i]
 *   both  qzeros  [G][n/8]: word (g, n/8), nibble n%8 (GPTQ) / as qweight (AWQ)
 * GPTQ v1 files store zero - 1 (zeros_minus_one) as one 32-bit subtraction
 * of 0x11111111 per word (GPTQModel), so it is undone per word, not per
 * nibble. Every content check runs before the first write, so a failing
 * import writes nothing.
 */
#include <string.h>

#include "cpu_internal.h"

#define LL(x) ((long long)(x))
#define INVALID(...) qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, __VA_ARGS__)

/* AWQ_NIBBLE[c]: the nibble that holds column c (of 8), the inverse of AWQ's
 * packing order {0, 2, 4, 6, 1, 3, 5, 7} (nibble i holds column order[i]). */
static const int AWQ_NIBBLE[8] = {0, 4, 1, 5, 2, 6, 3, 7};

typedef struct {
    int awq;
    int64_t k, n, G;
    const int32_t *qweight, *qzeros, *g_idx;
    int zeros_minus_one;
} qb_ckpt;

static int nibble(uint32_t word, int i) { return (int)((word >> (4 * i)) & 15u); }

/* What GPTQ v1 subtracted from every qzeros word: one per nibble, borrows included. */
#define GPTQ_V1_ONES 0x11111111u

/* nibble position of column n inside a word packing eight columns */
static int col_nibble(const qb_ckpt *c, int64_t n) { return c->awq ? AWQ_NIBBLE[n % 8] : (int)(n % 8); }

static int ckpt_code(const qb_ckpt *c, int64_t k, int64_t n)
{
    if (c->awq) return nibble((uint32_t)c->qweight[k * (c->n / 8) + n / 8], col_nibble(c, n));
    return nibble((uint32_t)c->qweight[(k / 8) * c->n + n], (int)(k % 8));
}

/* v1: add the constant back to the whole word, so a zero of 0 (stored 0xF,
 * with a borrow from the nibble above) carries into that nibble again. */
static int ckpt_zero(const qb_ckpt *c, int64_t g, int64_t n)
{
    uint32_t word = (uint32_t)c->qzeros[g * (c->n / 8) + n / 8];
    if (c->zeros_minus_one) word += GPTQ_V1_ONES;
    return nibble(word, col_nibble(c, n));
}

/* g_idx in range; *trivial says whether it equals k / group_size everywhere. */
static qblas_status_t check_g_idx(const qb_ckpt *c, int32_t group_size, bool *trivial)
{
    *trivial = true;
    if (!c->g_idx) return QBLAS_STATUS_SUCCESS;
    for (int64_t k = 0; k < c->k; k++) {
        int32_t g = c->g_idx[k];
        if (g < 0 || g >= c->G) return INVALID("g_idx[%lld] = %d outside 0..%lld", LL(k), g, LL(c->G - 1));
        if (g != (group_size ? k / group_size : 0)) *trivial = false;
    }
    return QBLAS_STATUS_SUCCESS;
}

/* Without a zeros buffer the weight is symmetric: every zero must be 8. */
static qblas_status_t check_symmetric(const qb_ckpt *c)
{
    for (int64_t g = 0; g < c->G; g++)
        for (int64_t n = 0; n < c->n; n++)
            if (ckpt_zero(c, g, n) != 8)
                return INVALID("out->zeros is NULL but zero(%lld, %lld) = %d, not 8", LL(g), LL(n), ckpt_zero(c, g, n));
    return QBLAS_STATUS_SUCCESS;
}

static void write_weight(const qb_ckpt *c, const void *scales, const qblas_weight_sizes_t *sz, qblas_weight_t *w)
{
    const int64_t rowb = qb_cdiv(c->k, 2);
    uint8_t *data = (uint8_t *)w->data;
    memset(data, 0, sz->data); /* odd k (AWQ): the padding nibble is 0 */
    for (int64_t n = 0; n < c->n; n++)
        for (int64_t k = 0; k < c->k; k++) qb_u4_set(data + n * rowb, k, ckpt_code(c, k, n));
    memcpy((void *)w->scales, scales, sz->scales); /* same [G][n] layout and dtype */
    if (w->zeros)
        for (int64_t g = 0; g < c->G; g++)
            for (int64_t n = 0; n < c->n; n++) ((uint8_t *)w->zeros)[g * c->n + n] = (uint8_t)ckpt_zero(c, g, n);
    if (w->g_idx) memcpy((void *)w->g_idx, c->g_idx, sz->g_idx);
}

static qblas_status_t import(qb_ckpt *c, int32_t group_size, const void *scales, qblas_dtype_t scale_dtype,
                             qblas_weight_t *out)
{
    const char *fmt = c->awq ? "AWQ" : "GPTQ";
    if (!out) return INVALID("%s import: out is NULL", fmt);
    if (!c->qweight || !c->qzeros || !scales) return INVALID("%s import: qweight, qzeros or scales is NULL", fmt);
    if (!out->data || !out->scales) return INVALID("%s import: out->data or out->scales is NULL", fmt);
    if (group_size == -1) group_size = 0; /* the per-channel spelling of GPTQ configs */
    qblas_weight_t w = {
        .format = QBLAS_WFORMAT_W4A16, .layout = QBLAS_LAYOUT_CANONICAL, .dtype = QBLAS_DTYPE_U4,
        .n = c->n, .k = c->k, .data = out->data, .scale_mode = QBLAS_SCALE_PER_GROUP,
        .scale_dtype = scale_dtype, .scales = out->scales, .zeros = out->zeros, .group_size = group_size,
    };
    qblas_weight_sizes_t sz;
    qblas_status_t st = qb_check_weight(NULL, &w, &sz);
    if (st) return st;
    /* the checkpoint tensors are read here: aligned like every other pointer (scale_dtype is valid now) */
    if (!qb_aligned(c->qweight, QBLAS_DTYPE_I32) || !qb_aligned(c->qzeros, QBLAS_DTYPE_I32) ||
        !qb_aligned(c->g_idx, QBLAS_DTYPE_I32) || !qb_aligned(scales, scale_dtype))
        return INVALID("%s import: qweight, qzeros, g_idx or scales misaligned", fmt);
    if (c->n % 8 || (!c->awq && c->k % 8))
        return INVALID("%s import: n=%lld%s must be a multiple of 8", fmt, LL(c->n), c->awq ? "" : " and k");
    c->G = group_size ? c->k / group_size : 1;
    bool trivial;
    if ((st = check_g_idx(c, group_size, &trivial))) return st;
    if (!trivial) {
        if (!out->g_idx) return INVALID("%s import: act-order g_idx needs out->g_idx", fmt);
        w.g_idx = out->g_idx;
        if ((st = qb_check_weight(NULL, &w, &sz))) return st;
    }
    if ((st = qb_check_weight_ptrs(NULL, &w))) return st; /* the output buffers: present and aligned */
    /* outputs (and *out, written last) against the checkpoint tensors */
    const int64_t words = c->awq ? c->k * (c->n / 8) : (c->k / 8) * c->n; /* qweight; <= data bytes / 4 */
    qb_spans l = {0};
    qb_weight_spans(&l, &w, true, true);
    qb_span_add(&l, out, sizeof *out, true, "the output descriptor");
    qb_span_add(&l, c->qweight, 4 * words, false, "qweight");
    qb_span_add(&l, c->qzeros, 4 * (c->G * (c->n / 8)), false, "qzeros");
    qb_span_add(&l, scales, (int64_t)sz.scales, false, "scales");
    qb_span_add(&l, c->g_idx, 4 * c->k, false, "g_idx");
    if ((st = qb_check_spans(NULL, &l))) return st;
    if (!w.zeros && (st = check_symmetric(c))) return st;
    write_weight(c, scales, &sz, &w);
    *out = w;
    qb_clear_error(NULL);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_import_gptq(int64_t k, int64_t n, int32_t group_size, const int32_t *qweight,
                                 const int32_t *qzeros, const void *scales, qblas_dtype_t scale_dtype,
                                 const int32_t *g_idx, int zeros_minus_one, qblas_weight_t *out)
{
    qb_ckpt c = {0, k, n, 0, qweight, qzeros, g_idx, zeros_minus_one != 0};
    return import(&c, group_size, scales, scale_dtype, out);
}

qblas_status_t qblas_import_awq(int64_t k, int64_t n, int32_t group_size, const int32_t *qweight,
                                const int32_t *qzeros, const void *scales, qblas_dtype_t scale_dtype,
                                qblas_weight_t *out)
{
    qb_ckpt c = {1, k, n, 0, qweight, qzeros, NULL, 0};
    return import(&c, group_size, scales, scale_dtype, out);
}
