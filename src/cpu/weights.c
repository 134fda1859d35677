/* weights.c - qblas_quantize_weight / qblas_dequantize_weight: validate,
 * bring the source to f32 rows (an f32 source is read where it is), hand
 * over to the format's own code. */
#include <stdlib.h>

#include "cpu_internal.h"

typedef qblas_status_t (*qb_quant_fn)(const float *, int64_t, qblas_weight_t *);
typedef void (*qb_dequant_fn)(const qblas_weight_t *, int64_t, int64_t, float *);

static const qb_quant_fn quantizers[] = {
    [QBLAS_WFORMAT_W4A16] = qb_quantize_w4a16, [QBLAS_WFORMAT_INT8] = qb_quantize_int8,
    [QBLAS_WFORMAT_FP8] = qb_quantize_fp8,     [QBLAS_WFORMAT_W4A8] = qb_quantize_w4a8,
    [QBLAS_WFORMAT_SPARSE24] = qb_quantize_sparse24,
};
static const qb_dequant_fn dequantizers[] = {
    [QBLAS_WFORMAT_W4A16] = qb_dequant_w4a16, [QBLAS_WFORMAT_INT8] = qb_dequant_int8,
    [QBLAS_WFORMAT_FP8] = qb_dequant_fp8,     [QBLAS_WFORMAT_W4A8] = qb_dequant_w4a8,
    [QBLAS_WFORMAT_SPARSE24] = qb_dequant_sparse24,
};

typedef qblas_status_t (*qb_content_fn)(qblas_handle_t, const qblas_weight_t *);
static const qb_content_fn content_checks[] = {
    [QBLAS_WFORMAT_W4A16] = qb_check_content_w4a16,
    [QBLAS_WFORMAT_W4A8] = qb_check_content_w4a8,
    [QBLAS_WFORMAT_SPARSE24] = qb_check_content_sparse24,
};
#define NUM_CHECKS ((int)(sizeof content_checks / sizeof content_checks[0]))

/* The canonical buffers the format needs must be given and aligned: the
 * GEMM front end's own check (host functions check what it checks, minus
 * the activation). */
static qblas_status_t check_buffers(const qblas_weight_t *w)
{
    if (w->layout != QBLAS_LAYOUT_CANONICAL)
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "host weight tools take CANONICAL weights");
    return qb_check_weight_ptrs(NULL, w);
}

qblas_status_t qblas_quantize_weight(int64_t n, int64_t k, qblas_dtype_t src_dtype, const void *src, int64_t ld,
                                     qblas_weight_t *out)
{
    qblas_status_t st;
    if (!out || !src) return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "src or out is NULL");
    if (out->n != n || out->k != k)
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "out describes %lldx%lld, src is %lldx%lld",
                       (long long)out->n, (long long)out->k, (long long)n, (long long)k);
    if ((st = qb_check_weight(NULL, out, NULL)) || (st = check_buffers(out))) return st;
    if (src_dtype != QBLAS_DTYPE_F32 && !qb_is_float16ish(src_dtype))
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "src must be f32, f16 or bf16");
    int64_t bytes;
    if (ld < k || !qb_span_bytes(src_dtype, n, k, ld, &bytes) || !qb_aligned(src, src_dtype))
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "src ld=%lld, size or alignment bad", (long long)ld);
    /* the outputs against the source (read in place) and the descriptor they are read from */
    qb_spans l = {0};
    qb_weight_spans(&l, out, true, false);
    qb_span_add(&l, src, bytes, false, "src");
    qb_span_add(&l, out, sizeof *out, false, "the weight descriptor");
    if ((st = qb_check_spans(NULL, &l))) return st;
    if (src_dtype == QBLAS_DTYPE_F32) {
        /* read in place: a copy would cost another 4 bytes a weight (256 MiB for 8192 x 8192) */
        st = quantizers[out->format](src, ld, out);
    } else {
        /* f16/bf16: the formats work on f32 rows, converted once (n x k, contiguous) */
        if (!qb_mul(n, k, &bytes) || !qb_mul(bytes, sizeof(float), &bytes))
            return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "an f32 copy of %lldx%lld overflows", (long long)n,
                           (long long)k);
        float *f = malloc((size_t)bytes);
        if (!f) return qb_fail(NULL, QBLAS_STATUS_ALLOC_FAILED, "no memory for %lldx%lld f32", (long long)n, (long long)k);
        size_t es = qb_dtype_size(src_dtype);
        for (int64_t r = 0; r < n; r++)
            qb_row_to_f32(src_dtype, (const uint8_t *)src + (size_t)(r * ld) * es, k, f + r * k);
        st = quantizers[out->format](f, k, out);
        free(f);
    }
    if (st == QBLAS_STATUS_SUCCESS) qb_clear_error(NULL);
    return st;
}

qblas_status_t qblas_dequantize_weight(const qblas_weight_t *w, qblas_dtype_t dst_dtype, void *dst, int64_t ld)
{
    qblas_status_t st;
    if (!dst) return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "dst is NULL");
    if ((st = qb_check_weight(NULL, w, NULL)) || (st = check_buffers(w))) return st;
    if ((int)w->format < NUM_CHECKS && content_checks[w->format] && (st = content_checks[w->format](NULL, w))) return st;
    if (dst_dtype != QBLAS_DTYPE_F32 && !qb_is_float16ish(dst_dtype))
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "dst must be f32, f16 or bf16");
    int64_t bytes;
    if (ld < w->k || !qb_span_bytes(dst_dtype, w->n, w->k, ld, &bytes) || !qb_aligned(dst, dst_dtype))
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "dst ld=%lld, size or alignment bad", (long long)ld);
    qb_spans l = {0};
    qb_span_add(&l, dst, bytes, true, "dst");
    qb_weight_spans(&l, w, false, false);
    if ((st = qb_check_spans(NULL, &l))) return st;
    if (!qb_mul(w->k, sizeof(float), &bytes)) /* dst's checks bound k in its dtype, not in f32 */
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "an f32 row of k=%lld overflows", (long long)w->k);
    float *row = malloc((size_t)bytes);
    if (!row) return qb_fail(NULL, QBLAS_STATUS_ALLOC_FAILED, "no memory");
    for (int64_t r = 0; r < w->n; r++) {
        dequantizers[w->format](w, r, 1, row);
        for (int64_t i = 0; i < w->k; i++) qb_store_f32(dst_dtype, dst, r * ld + i, row[i]);
    }
    free(row);
    qb_clear_error(NULL);
    return QBLAS_STATUS_SUCCESS;
}
