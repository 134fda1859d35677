/* int8_fp8.c - round-to-nearest INT8 and FP8 weight quantizers and their
 * dequantizers (host).
 *
 * Both are symmetric: s = amax / qmax over the finite values of the scale's
 * region (the whole tensor, one output row, or one 128x128 block), with
 * qmax = 127 for int8 and the format's largest finite value for fp8; a zero
 * s becomes 1. Codes are round_clamp(w / s, -127, 127) or fp8_encode(w / s),
 * so NaN becomes 0 (int8) or NaN (fp8) and inf saturates. Dequantization is
 * code * s in f32. docs/FORMATS.md gives the layouts.
 */
#include "cpu_internal.h"

/* Largest |w| over the finite w of rows [r0, r1) x cols [c0, c1) of src (leading dimension ld; 0 when none). */
static float finite_amax(const float *src, int64_t ld, int64_t r0, int64_t r1, int64_t c0, int64_t c1)
{
    float m = 0.0f;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t c = c0; c < c1; c++) {
            float v = src[r * ld + c];
            if (isfinite(v) && fabsf(v) > m) m = fabsf(v);
        }
    return m;
}

/* s = amax / qmax; a zero s (all-zero region, or underflow) would divide by zero: use 1.
 * (amax is finite and qmax >= 127, so s is finite.) */
static float sym_scale(float amax, float qmax)
{
    float s = amax / qmax;
    return s == 0.0f ? 1.0f : s;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Scale of weight element (row n, column c), f32 scales in any of the three modes. */
static float scale_at(const qblas_weight_t *w, int64_t n, int64_t c)
{
    const float *s = w->scales;
    switch (w->scale_mode) {
    case QBLAS_SCALE_PER_ROW: return s[n];
    case QBLAS_SCALE_BLOCK_128X128: return s[(n / 128) * qb_cdiv(w->k, 128) + c / 128];
    default: return s[0];
    }
}

/* Fill the scale array of w from src (leading dimension ld): one amax per tensor, row or 128x128 block. */
static void fill_scales(const float *src, int64_t ld, const qblas_weight_t *w, float qmax, float *scales)
{
    int64_t n = w->n, k = w->k;
    switch (w->scale_mode) {
    case QBLAS_SCALE_PER_ROW:
        for (int64_t r = 0; r < n; r++) scales[r] = sym_scale(finite_amax(src, ld, r, r + 1, 0, k), qmax);
        break;
    case QBLAS_SCALE_BLOCK_128X128: {
        int64_t nkb = qb_cdiv(k, 128);
        for (int64_t nb = 0; nb < qb_cdiv(n, 128); nb++)
            for (int64_t kb = 0; kb < nkb; kb++)
                scales[nb * nkb + kb] = sym_scale(
                    finite_amax(src, ld, nb * 128, min64(n, nb * 128 + 128), kb * 128, min64(k, kb * 128 + 128)),
                    qmax);
        break;
    }
    default: scales[0] = sym_scale(finite_amax(src, ld, 0, n, 0, k), qmax); break;
    }
}

qblas_status_t qb_quantize_int8(const float *src, int64_t ld, qblas_weight_t *out)
{
    float *scales = (float *)out->scales;
    int8_t *q = (int8_t *)out->data;
    fill_scales(src, ld, out, 127.0f, scales);
    for (int64_t r = 0; r < out->n; r++)
        for (int64_t c = 0; c < out->k; c++)
            q[r * out->k + c] = (int8_t)qb_round_clamp(src[r * ld + c] / scale_at(out, r, c), -127, 127);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_quantize_fp8(const float *src, int64_t ld, qblas_weight_t *out)
{
    float *scales = (float *)out->scales;
    uint8_t *q = (uint8_t *)out->data;
    qb_fp8_fmt f = qb_fp8_fmt_of(out->dtype);
    fill_scales(src, ld, out, f.maxv, scales);
    for (int64_t r = 0; r < out->n; r++)
        for (int64_t c = 0; c < out->k; c++)
            q[r * out->k + c] = qb_fp8_encode(src[r * ld + c] / scale_at(out, r, c), f);
    return QBLAS_STATUS_SUCCESS;
}

/* Rows [n0, n0+rows) as code * scale; i8 and fp8 codes are both one byte. */
static void dequant_bytes(const qblas_weight_t *w, int64_t n0, int64_t rows, float *out)
{
    int64_t k = w->k;
    for (int64_t r = 0; r < rows; r++) {
        float *o = out + r * k;
        qb_row_to_f32(w->dtype, (const uint8_t *)w->data + (n0 + r) * k, k, o);
        for (int64_t c = 0; c < k; c++) o[c] *= scale_at(w, n0 + r, c);
    }
}

void qb_dequant_int8(const qblas_weight_t *w, int64_t n0, int64_t rows, float *out)
{
    dequant_bytes(w, n0, rows, out);
}

void qb_dequant_fp8(const qblas_weight_t *w, int64_t n0, int64_t rows, float *out)
{
    dequant_bytes(w, n0, rows, out);
}
