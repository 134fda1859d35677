/* sparse24.c - 2:4 sparse weights along K: the host tools (prune, compress,
 * decompress), the GEMM plan, the quantizer and the dequantizer.
 *
 * Group j of a row is w[4j .. 4j+3]; it keeps two entries at indices
 * i0 < i1, stored as values[2j], values[2j+1], with the 4-bit field
 * i0 | i1 << 2 in meta byte j/2 (low nibble for even j). The GEMM, the
 * quantizer and the dequantizer decompress and then do exactly what the
 * dense format of the same dtype does. docs/FORMATS.md gives the layouts.
 */
#include <stdlib.h>

#include "cpu_internal.h"

#define LL(x) ((long long)(x))
#define INVALID(...) qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, __VA_ARGS__)

/* ---- the group format ---- */

static int64_t meta_row_bytes(int64_t k) { return qb_cdiv(k, 8); }

static int nibble_at(const uint8_t *meta_row, int64_t j) { return (meta_row[j >> 1] >> ((j & 1) * 4)) & 15; }

/* Only the six pairs i0 < i1 are valid fields. */
static bool nibble_ok(int nib) { return (nib & 3) < (nib >> 2); }

/* Non-zero as compress sees it: NaN compares unequal to 0, so it counts;
 * +0, -0 and the fp8 zero codes do not. */
static bool elem_nonzero(qblas_dtype_t t, const uint8_t *p) { return qb_load_f32(t, p, 0) != 0.0f; }

/* Bit i set when element i of the group at g is non-zero. */
static unsigned group_mask(qblas_dtype_t t, size_t es, const uint8_t *g)
{
    unsigned m = 0;
    for (int i = 0; i < 4; i++) m |= (unsigned)elem_nonzero(t, g + i * es) << i;
    return m;
}

static int bits4(unsigned m) { return (int)((m & 1) + (m >> 1 & 1) + (m >> 2 & 1) + (m >> 3 & 1)); }

/* The field of a group with non-zero mask nz (at most two bits): the
 * non-zeros' indices, completed by the lowest unused indices. */
static int pair_nibble(unsigned nz)
{
    unsigned sel = nz;
    for (int i = 0; i < 4 && bits4(sel) < 2; i++) sel |= 1u << i;
    int i0 = -1, i1 = -1;
    for (int i = 0; i < 4; i++)
        if (sel >> i & 1) {
            if (i0 < 0)
                i0 = i;
            else
                i1 = i;
        }
    return i0 | i1 << 2;
}

/* Groups [j0, j1) of one compressed row to dense elements; group j0 lands at
 * dense[0]. Unkept entries are all-zero bytes (+0 in every dtype). */
static void decompress_groups(size_t es, const uint8_t *vals, const uint8_t *meta, int64_t j0, int64_t j1,
                              uint8_t *dense)
{
    for (int64_t j = j0; j < j1; j++) {
        uint8_t *g = dense + (size_t)(j - j0) * 4 * es;
        int nib = nibble_at(meta, j);
        memset(g, 0, 4 * es);
        memcpy(g + (size_t)(nib & 3) * es, vals + (size_t)(2 * j) * es, es);
        memcpy(g + (size_t)(nib >> 2) * es, vals + (size_t)(2 * j + 1) * es, es);
    }
}

/* One dense row (already known to be 2:4) to its values and meta. */
static void compress_row(qblas_dtype_t t, int64_t k, const uint8_t *dense, uint8_t *vals, uint8_t *meta)
{
    size_t es = qb_dtype_size(t);
    for (int64_t j = 0; j < k / 4; j++) {
        const uint8_t *g = dense + (size_t)(4 * j) * es;
        int nib = pair_nibble(group_mask(t, es, g));
        memcpy(vals + (size_t)(2 * j) * es, g + (size_t)(nib & 3) * es, es);
        memcpy(vals + (size_t)(2 * j + 1) * es, g + (size_t)(nib >> 2) * es, es);
        /* an even group starts its byte, so an unused high nibble stays 0 */
        if (j & 1)
            meta[j >> 1] |= (uint8_t)(nib << 4);
        else
            meta[j >> 1] = (uint8_t)nib;
    }
}

/* First group of dense [n][k] (leading dimension ld) with more than two non-zeros. */
static bool find_dense_violation(int64_t n, int64_t k, qblas_dtype_t t, const void *dense, int64_t ld, int64_t *row,
                                 int64_t *grp)
{
    size_t es = qb_dtype_size(t);
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < k / 4; j++)
            if (bits4(group_mask(t, es, (const uint8_t *)dense + (size_t)(r * ld + 4 * j) * es)) > 2) {
                *row = r, *grp = j;
                return true;
            }
    return false;
}

/* First meta field with i0 >= i1 (the unused high nibble at a row end is not read). */
static bool find_meta_violation(int64_t n, int64_t k, const uint8_t *meta, int64_t *row, int64_t *grp)
{
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < k / 4; j++)
            if (!nibble_ok(nibble_at(meta + r * meta_row_bytes(k), j))) {
                *row = r, *grp = j;
                return true;
            }
    return false;
}

/* ---- host tools ---- */

static bool tool_dtype(qblas_dtype_t t, bool allow_f32)
{
    return qb_is_float16ish(t) || t == QBLAS_DTYPE_I8 || t == QBLAS_DTYPE_E4M3 || t == QBLAS_DTYPE_E5M2 ||
           (allow_f32 && t == QBLAS_DTYPE_F32);
}

static qblas_status_t check_shape(int64_t n, int64_t k, qblas_dtype_t t, bool allow_f32)
{
    if (n < 1 || k < 1 || k % 4) return INVALID("2:4: n=%lld k=%lld: need n >= 1 and k a positive multiple of 4", LL(n), LL(k));
    if (!tool_dtype(t, allow_f32)) return INVALID("2:4: dtype %s not supported", qblas_dtype_name(t));
    return QBLAS_STATUS_SUCCESS;
}

/* A rows x cols matrix of t with leading dimension ld: present, aligned, its size representable. */
static qblas_status_t check_matrix(const void *p, qblas_dtype_t t, int64_t rows, int64_t cols, int64_t ld,
                                   const char *what, int64_t *bytes)
{
    if (!p) return INVALID("2:4: %s is NULL", what);
    if (!qb_aligned(p, t)) return INVALID("2:4: %s misaligned", what);
    if (ld < cols) return INVALID("2:4: %s leading dimension %lld < %lld", what, LL(ld), LL(cols));
    if (!qb_span_bytes(t, rows, cols, ld, bytes)) return INVALID("2:4: %s size overflows", what);
    return QBLAS_STATUS_SUCCESS;
}

/* values [n][k/2] of t and meta u8 [n][ceil(k/8)], both contiguous; the
 * dense matrix (dense_bytes) is the other side of the call: neither packed
 * tensor may overlap it or the other (out: the packed ones are written) */
static qblas_status_t check_packed(int64_t n, int64_t k, qblas_dtype_t t, const void *values, const void *meta,
                                   const void *dense, int64_t dense_bytes, bool out)
{
    int64_t vbytes, mbytes;
    qblas_status_t st = check_matrix(values, t, n, k / 2, k / 2, "values", &vbytes);
    if (st || (st = check_matrix(meta, QBLAS_DTYPE_U8, n, meta_row_bytes(k), meta_row_bytes(k), "meta", &mbytes)))
        return st;
    qb_spans l = {0};
    qb_span_add(&l, values, vbytes, out, "values");
    qb_span_add(&l, meta, mbytes, out, "meta");
    qb_span_add(&l, dense, dense_bytes, !out, "the dense matrix");
    return qb_check_spans(NULL, &l);
}

qblas_status_t qblas_sparse24_compress(int64_t n, int64_t k, qblas_dtype_t t, const void *dense, int64_t ld,
                                       void *values, void *meta)
{
    int64_t bytes, r, j;
    qblas_status_t st;
    if ((st = check_shape(n, k, t, false)) || (st = check_matrix(dense, t, n, k, ld, "dense", &bytes)) ||
        (st = check_packed(n, k, t, values, meta, dense, bytes, true)))
        return st;
    /* the whole matrix is checked before the first byte is written */
    if (find_dense_violation(n, k, t, dense, ld, &r, &j))
        return INVALID("2:4 compress: row %lld group %lld has more than two non-zeros", LL(r), LL(j));
    size_t es = qb_dtype_size(t);
    for (r = 0; r < n; r++)
        compress_row(t, k, (const uint8_t *)dense + (size_t)(r * ld) * es, (uint8_t *)values + (size_t)(r * (k / 2)) * es,
                     (uint8_t *)meta + r * meta_row_bytes(k));
    qb_clear_error(NULL);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_sparse24_decompress(int64_t n, int64_t k, qblas_dtype_t t, const void *values, const void *meta,
                                         void *dense, int64_t ld)
{
    int64_t bytes, r, j;
    qblas_status_t st;
    if ((st = check_shape(n, k, t, false)) || (st = check_matrix(dense, t, n, k, ld, "dense", &bytes)) ||
        (st = check_packed(n, k, t, values, meta, dense, bytes, false)))
        return st;
    if (find_meta_violation(n, k, meta, &r, &j))
        return INVALID("2:4 decompress: row %lld group %lld has a meta field with i0 >= i1", LL(r), LL(j));
    size_t es = qb_dtype_size(t);
    for (r = 0; r < n; r++)
        decompress_groups(es, (const uint8_t *)values + (size_t)(r * (k / 2)) * es,
                          (const uint8_t *)meta + r * meta_row_bytes(k), 0, k / 4,
                          (uint8_t *)dense + (size_t)(r * ld) * es);
    qb_clear_error(NULL);
    return QBLAS_STATUS_SUCCESS;
}

/* Does entry a (index ia) rank above entry b (index ib)? Larger magnitude
 * wins, NaN above everything, the lower index breaks ties. */
static bool outranks(float a, int ia, float b, int ib)
{
    bool an = a != a, bn = b != b;
    if (an != bn) return an;
    if (an || a == b) return ia < ib;
    return a > b;
}

/* Keep the two top-ranked entries of one group (read fully before writing, so in place works). */
static void prune_group(qblas_dtype_t t, size_t es, const uint8_t *src, uint8_t *dst)
{
    float gbuf[4]; /* float storage: aligned for every dtype's loads */
    uint8_t *g = (uint8_t *)gbuf;
    float mag[4];
    memcpy(g, src, 4 * es);
    for (int i = 0; i < 4; i++) mag[i] = fabsf(qb_load_f32(t, g, i));
    for (int i = 0; i < 4; i++) {
        int above = 0;
        for (int j = 0; j < 4; j++) above += j != i && outranks(mag[j], j, mag[i], i);
        if (above < 2)
            memcpy(dst + i * es, g + i * es, es);
        else
            memset(dst + i * es, 0, es);
    }
}

qblas_status_t qblas_sparse24_prune(int64_t n, int64_t k, qblas_dtype_t t, const void *src, int64_t ld_src, void *dst,
                                    int64_t ld_dst)
{
    int64_t sbytes, dbytes;
    qblas_status_t st;
    if ((st = check_shape(n, k, t, true)) || (st = check_matrix(src, t, n, k, ld_src, "src", &sbytes)) ||
        (st = check_matrix(dst, t, n, k, ld_dst, "dst", &dbytes)))
        return st;
    /* in place is fine (each group is read before it is written); any other overlap is not */
    if (qb_overlap(src, sbytes, dst, dbytes) && !(src == dst && ld_src == ld_dst))
        return INVALID("2:4 prune: src and dst overlap without being the same matrix");
    size_t es = qb_dtype_size(t);
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < k / 4; j++)
            prune_group(t, es, (const uint8_t *)src + (size_t)(r * ld_src + 4 * j) * es,
                        (uint8_t *)dst + (size_t)(r * ld_dst + 4 * j) * es);
    qb_clear_error(NULL);
    return QBLAS_STATUS_SUCCESS;
}

/* ---- GEMM plan: decompress each weight row into scratch, then the dense plan ---- */

static const uint8_t *values_row(const qblas_weight_t *w, int64_t n)
{
    return (const uint8_t *)w->data + (size_t)(n * (w->k / 2)) * qb_dtype_size(w->dtype);
}

static const uint8_t *meta_row(const qblas_weight_t *w, int64_t n)
{
    return (const uint8_t *)w->meta + n * meta_row_bytes(w->k);
}

static void dense_row(const qblas_weight_t *w, int64_t n, uint8_t *out)
{
    decompress_groups(qb_dtype_size(w->dtype), values_row(w, n), meta_row(w, n), 0, w->k / 4, out);
}

static void sparse_w_f32(const qb_cpu_gemm_plan *p, int64_t n0, int64_t rows, float *out, void *scratch)
{
    int64_t k = p->a->k;
    for (int64_t r = 0; r < rows; r++) {
        dense_row(&p->w, n0 + r, scratch);
        qb_row_to_f32(p->w.dtype, scratch, k, out + r * k);
    }
}

static void sparse_w_i16(const qb_cpu_gemm_plan *p, int64_t n0, int64_t rows, int16_t *out, void *scratch)
{
    int64_t k = p->a->k;
    const int8_t *d = scratch;
    for (int64_t r = 0; r < rows; r++) {
        dense_row(&p->w, n0 + r, scratch);
        for (int64_t i = 0; i < k; i++) out[r * k + i] = d[i];
    }
}

/* fp8 names: [x dtype: e4m3, e5m2, e4m3fnuz][w dtype: e4m3, e5m2][block] */
#define SP_FP8_NAMES(x)                                                                              \
    {{"cpu_ref_sparse24_fp8_" x "xe4m3", "cpu_ref_sparse24_fp8_" x "xe4m3_block128"},              \
     {"cpu_ref_sparse24_fp8_" x "xe5m2", "cpu_ref_sparse24_fp8_" x "xe5m2_block128"}}
static const char *const sparse_fp8_names[3][2][2] = {SP_FP8_NAMES("e4m3"), SP_FP8_NAMES("e5m2"),
                                                      SP_FP8_NAMES("e4m3fnuz")};

qblas_status_t qb_check_content_sparse24(qblas_handle_t h, const qblas_weight_t *w)
{
    int64_t r, j;
    if (find_meta_violation(w->n, w->k, w->meta, &r, &j))
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "2:4 weight row %lld group %lld has a meta field with i0 >= i1",
                       LL(r), LL(j));
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cpu_setup_sparse24(qblas_handle_t h, qb_cpu_gemm_plan *p)
{
    qblas_dtype_t t = p->w.dtype;
    qblas_status_t st = qb_check_content_sparse24(h, &p->w);
    if (st) return st;
    if (qb_is_float16ish(t)) {
        p->is_int = 0;
        p->x_f32 = qb_cpu_x_f32;
        p->w_f32 = sparse_w_f32;
        p->kernel = t == QBLAS_DTYPE_F16 ? "cpu_ref_sparse24_f16" : "cpu_ref_sparse24_bf16";
    } else if (t == QBLAS_DTYPE_I8) {
        /* INT8 semantics (scales, zero points and their check), own weight decoder */
        if ((st = qb_cpu_setup_int8(h, p))) return st;
        p->w_i16 = sparse_w_i16;
        p->kernel = p->a->x->zeros ? "cpu_ref_sparse24_i8_asym" : "cpu_ref_sparse24_i8";
    } else if (t == QBLAS_DTYPE_E4M3 || t == QBLAS_DTYPE_E5M2) {
        /* FP8 semantics (scales, 128-k blocks), own weight decoder */
        if ((st = qb_cpu_setup_fp8(h, p))) return st;
        p->w_f32 = sparse_w_f32;
        p->kernel = sparse_fp8_names[p->a->x->dtype - QBLAS_DTYPE_E4M3][t - QBLAS_DTYPE_E4M3][p->kblock > 0];
    } else {
        return qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, "2:4 %s weights", qblas_dtype_name(t));
    }
    p->w_scratch = (size_t)p->w.k * qb_dtype_size(t);
    return QBLAS_STATUS_SUCCESS;
}

/* ---- quantizer and dequantizer: the dense format's own, on the decompressed matrix ---- */

/* A dense INT8/FP8 weight of shape n x k with the scale layout of w. */
static qblas_weight_t dense_view(const qblas_weight_t *w, int64_t n, int64_t k, const void *data, const void *scales)
{
    qblas_weight_t d = {0};
    d.format = w->dtype == QBLAS_DTYPE_I8 ? QBLAS_WFORMAT_INT8 : QBLAS_WFORMAT_FP8;
    d.layout = QBLAS_LAYOUT_CANONICAL;
    d.dtype = w->dtype;
    d.n = n, d.k = k;
    d.data = data;
    d.scale_mode = w->scale_mode;
    d.scale_dtype = w->scale_dtype;
    d.scales = scales;
    return d;
}

/* src (leading dimension ld) as the dense n x k matrix of out->dtype: rounded
 * (f16/bf16) or quantized (i8/fp8, scales to `scales`). */
static qblas_status_t quantize_dense(const float *src, int64_t ld, const qblas_weight_t *out, uint8_t *dense,
                                     float *scales)
{
    if (qb_is_float16ish(out->dtype)) {
        for (int64_t r = 0; r < out->n; r++)
            for (int64_t c = 0; c < out->k; c++) qb_store_f32(out->dtype, dense, r * out->k + c, src[r * ld + c]);
        return QBLAS_STATUS_SUCCESS;
    }
    qblas_weight_t d = dense_view(out, out->n, out->k, dense, scales);
    return out->dtype == QBLAS_DTYPE_I8 ? qb_quantize_int8(src, ld, &d) : qb_quantize_fp8(src, ld, &d);
}

qblas_status_t qb_quantize_sparse24(const float *src, int64_t ld, qblas_weight_t *out)
{
    int64_t n = out->n, k = out->k, r, j;
    qblas_weight_sizes_t sz;
    qblas_status_t st = qb_check_weight(NULL, out, &sz);
    if (st) return st;
    if (find_dense_violation(n, k, QBLAS_DTYPE_F32, src, ld, &r, &j))
        return INVALID("2:4 quantize: source row %lld group %lld has more than two non-zeros", LL(r), LL(j));
    /* quantize into temporaries, so a failure leaves out's buffers untouched */
    uint8_t *dense = malloc((size_t)(n * k) * qb_dtype_size(out->dtype));
    float *scales = sz.scales ? malloc(sz.scales) : NULL;
    if (!dense || (sz.scales && !scales)) {
        st = qb_fail(NULL, QBLAS_STATUS_ALLOC_FAILED, "2:4 quantize: no memory for a %lldx%lld dense copy", LL(n), LL(k));
    } else if (!(st = quantize_dense(src, ld, out, dense, scales)) &&
               find_dense_violation(n, k, out->dtype, dense, k, &r, &j)) {
        st = qb_fail(NULL, QBLAS_STATUS_INTERNAL_ERROR, "2:4 quantize: quantizing made row %lld group %lld dense",
                     LL(r), LL(j));
    }
    if (!st) {
        size_t es = qb_dtype_size(out->dtype);
        for (r = 0; r < n; r++)
            compress_row(out->dtype, k, dense + (size_t)(r * k) * es, (uint8_t *)out->data + (size_t)(r * (k / 2)) * es,
                         (uint8_t *)out->meta + r * meta_row_bytes(k));
        if (sz.scales) memcpy((void *)out->scales, scales, sz.scales);
    }
    free(dense);
    free(scales);
    return st;
}

/* Scale array of a one-row dense view of row n, columns from k0 (a multiple of 128). */
static const float *row_scales(const qblas_weight_t *w, int64_t n, int64_t k0)
{
    const float *s = w->scales;
    switch (w->scale_mode) {
    case QBLAS_SCALE_PER_ROW: return s + n;
    case QBLAS_SCALE_BLOCK_128X128: return s + (n / 128) * qb_cdiv(w->k, 128) + k0 / 128;
    default: return s;
    }
}

/* Columns per step: a multiple of 128 (a chunk starts a scale block) and of 4 (whole groups). */
#define SP_CHUNK 512

/* qblas_dequantize_weight ran qb_check_content_sparse24 (valid meta). */
void qb_dequant_sparse24(const qblas_weight_t *w, int64_t n0, int64_t rows, float *out)
{
    uint16_t buf[SP_CHUNK]; /* 2-byte elements at most, aligned for them */
    uint8_t *dense = (uint8_t *)buf;
    qblas_dtype_t t = w->dtype;
    for (int64_t r = 0; r < rows; r++) {
        int64_t n = n0 + r;
        for (int64_t k0 = 0; k0 < w->k; k0 += SP_CHUNK) {
            int64_t len = w->k - k0 < SP_CHUNK ? w->k - k0 : SP_CHUNK;
            float *o = out + r * w->k + k0;
            decompress_groups(qb_dtype_size(t), values_row(w, n), meta_row(w, n), k0 / 4, (k0 + len) / 4, dense);
            if (qb_is_float16ish(t)) {
                qb_row_to_f32(t, dense, len, o);
                continue;
            }
            qblas_weight_t d = dense_view(w, 1, len, dense, row_scales(w, n, k0));
            if (t == QBLAS_DTYPE_I8)
                qb_dequant_int8(&d, 0, 1, o);
            else
                qb_dequant_fp8(&d, 0, 1, o);
        }
    }
}
