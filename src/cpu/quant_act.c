/* quant_act.c - dynamic (and static per-tensor) activation quantization.
 *
 * Each row of X is converted to f32 once, then quantized span by span:
 * the whole row (PER_ROW), each 128-k block (BLOCK_1X128) or with the one
 * caller-given scale (PER_TENSOR). Ranges (amax, min, max) look at finite
 * values only, so one inf or NaN does not wipe out a row's resolution; inf
 * then saturates and NaN becomes 0 (int8) or NaN (fp8). The formulas are
 * the ones docs/FORMATS.md states, evaluated in f32 in that order; the
 * per-element math is src/common/qblas_quant_math.h, which the GPU kernels
 * share, so their results match these bit for bit.
 */
#include <stdlib.h>

#include "cpu_internal.h"
#include "../common/qblas_quant_math.h"

typedef struct {
    const qb_qact_args *a;
    float *rows;        /* per-thread f32 copy of the current row, k floats each */
    float tensor_scale; /* PER_TENSOR: the caller's scale */
} qact_ctx;

/* Largest code magnitude the symmetric scale maps amax onto. */
static float qmax_of(qblas_dtype_t t) { return t == QBLAS_DTYPE_I8 ? QB_QACT_I8_QMAX : qb_fp8_max(t); }

/* Symmetric quantization of n values with scale s: i8 codes or fp8 codes. */
static void quant_span(qblas_dtype_t t, const float *x, int64_t n, float s, uint8_t *q)
{
    if (t == QBLAS_DTYPE_I8) {
        for (int64_t i = 0; i < n; i++) ((int8_t *)q)[i] = qb_qact_i8_sym(x[i], s);
        return;
    }
    qb_fp8_fmt f = qb_fp8_fmt_of(t);
    for (int64_t i = 0; i < n; i++) q[i] = qb_qact_fp8(x[i], s, f);
}

/* Dynamic symmetric span: scale from its own amax, returned for the caller to store. */
static float quant_span_dynamic(qblas_dtype_t t, const float *x, int64_t n, uint8_t *q)
{
    float s = qb_qact_sym_scale(qb_finite_amax(x, n), qmax_of(t));
    quant_span(t, x, n, s, q);
    return s;
}

/* Asymmetric int8 row: [min(lo, 0), max(hi, 0)] onto -128..127 with zero point z. */
static void quant_row_asym(const float *x, int64_t n, int8_t *q, float *scale, int32_t *zero)
{
    float lo, hi, s;
    int32_t z;
    qb_finite_minmax(x, n, &lo, &hi);
    qb_qact_asym_params(lo, hi, &s, &z);
    for (int64_t i = 0; i < n; i++) q[i] = qb_qact_i8_asym(x[i], s, z);
    *scale = s;
    *zero = z;
}

static void quant_rows(void *vctx, int64_t r0, int64_t r1, int tid)
{
    const qact_ctx *c = vctx;
    const qb_qact_args *a = c->a;
    const int64_t k = a->k, nkb = qb_cdiv(k, 128);
    const size_t xes = qb_dtype_size(a->x_dtype);
    float *f = c->rows + (size_t)tid * (size_t)k;
    for (int64_t r = r0; r < r1; r++) {
        qb_row_to_f32(a->x_dtype, (const uint8_t *)a->x + (size_t)(r * a->ldx) * xes, k, f);
        uint8_t *q = (uint8_t *)a->q + r * a->ldq; /* i8 and fp8 are both one byte */
        if (a->mode == QBLAS_SCALE_PER_TENSOR) {
            quant_span(a->q_dtype, f, k, c->tensor_scale, q);
        } else if (a->mode == QBLAS_SCALE_PER_ROW && a->zeros) {
            quant_row_asym(f, k, (int8_t *)q, &a->scales[r], &a->zeros[r]);
        } else if (a->mode == QBLAS_SCALE_PER_ROW) {
            a->scales[r] = quant_span_dynamic(a->q_dtype, f, k, q);
        } else { /* BLOCK_1X128: the last block of a row may be short */
            for (int64_t kb = 0; kb < nkb; kb++) {
                int64_t k0 = kb * 128, len = k - k0 < 128 ? k - k0 : 128;
                a->scales[r * nkb + kb] = quant_span_dynamic(a->q_dtype, f + k0, len, q + k0);
            }
        }
    }
}

/* Kernel names: [q dtype: i8, e4m3, e5m2, e4m3fnuz][mode: tensor, row, block]; "i8asym_row" separately. */
static const char *const kernel_names[4][3] = {
    {"cpu_ref_quant_i8_tensor", "cpu_ref_quant_i8_row", ""},
    {"cpu_ref_quant_e4m3_tensor", "cpu_ref_quant_e4m3_row", "cpu_ref_quant_e4m3_block128"},
    {"cpu_ref_quant_e5m2_tensor", "cpu_ref_quant_e5m2_row", "cpu_ref_quant_e5m2_block128"},
    {"cpu_ref_quant_e4m3fnuz_tensor", "cpu_ref_quant_e4m3fnuz_row", "cpu_ref_quant_e4m3fnuz_block128"},
};

static const char *kernel_name(const qb_qact_args *a)
{
    if (a->zeros) return "cpu_ref_quant_i8asym_row";
    int t = a->q_dtype == QBLAS_DTYPE_I8 ? 0 : 1 + (int)(a->q_dtype - QBLAS_DTYPE_E4M3);
    int m = a->mode == QBLAS_SCALE_PER_TENSOR ? 0 : a->mode == QBLAS_SCALE_PER_ROW ? 1 : 2;
    return kernel_names[t][m];
}

qblas_status_t qb_cpu_quantize_act(qblas_handle_t h, const qb_qact_args *a)
{
    qact_ctx c = {a, NULL, 0.0f};
    if (a->mode == QBLAS_SCALE_PER_TENSOR) {
        /* static scale: read before anything is written, so a bad one writes nothing */
        c.tensor_scale = a->scales[0];
        if (!isfinite(c.tensor_scale) || !(c.tensor_scale > 0.0f))
            return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "static activation scale %g must be finite and > 0",
                           (double)c.tensor_scale);
    }
    int nt = h->num_threads < a->m ? h->num_threads : (int)a->m;
    int64_t bytes; /* the checks bound k's input bytes, not 4 bytes a value per thread */
    if (!qb_mul(nt, a->k, &bytes) || !qb_mul(bytes, sizeof(float), &bytes))
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "%d rows of k=%lld f32 values overflow", nt, (long long)a->k);
    c.rows = malloc((size_t)bytes);
    if (!c.rows)
        return qb_fail(h, QBLAS_STATUS_ALLOC_FAILED, "no memory for %d rows of %lld floats", nt, (long long)a->k);
    qb_parallel_for(nt, a->m, quant_rows, &c);
    free(c.rows);
    qb_set_kernel(h, kernel_name(a));
    return QBLAS_STATUS_SUCCESS;
}
