/* w4a8.c - W4A8 (QServe QoQ): the GEMM plan, the progressive quantizer and
 * the dequantizer (host).
 *
 * A weight element is the 8-bit integer
 *   g128:        w8 = code * s2 - z * s2   (s2 = group scale, z = group zero)
 *   per-channel: w8 = code - z
 * and its real value is s1[n] * w8 (s1 = f16 channel scale). The GEMM is the
 * exact int32 dot of i8 X with w8, then Y = ((float)acc * sx[m]) * s1[n].
 * docs/FORMATS.md gives the layouts.
 */
#include "cpu_internal.h"

#define LL(x) ((long long)(x))
#define W4A8_G 128          /* group size of the g128 variant */
#define W4A8_STAGE1_MAX 119 /* g128 stage-1 range: keeps |(code - z) * s2| <= 127 (see stage2_group) */

/* ---- the weight's integers ---- */

static const uint8_t *codes_row(const qblas_weight_t *w, int64_t n)
{
    return (const uint8_t *)w->data + n * (w->k / 2);
}

/* w8 of row n, columns [i0, i0 + len): g128 applies each column's group scale and zero. */
static void w8_range(const qblas_weight_t *w, int64_t n, int64_t i0, int64_t len, int16_t *out)
{
    const uint8_t *c = codes_row(w, n), *zeros = w->zeros;
    const int8_t *gs = w->group_scales;
    for (int64_t i = i0; i < i0 + len; i++) {
        int code = qb_u4_get(c, i);
        if (w->group_size == 0) {
            out[i - i0] = (int16_t)(code - zeros[n]);
        } else {
            int64_t gi = (i / W4A8_G) * w->n + n;
            out[i - i0] = (int16_t)(code * gs[gi] - zeros[gi] * gs[gi]);
        }
    }
}

static float channel_scale(const qblas_weight_t *w, int64_t n) { return qb_f16_to_f32(((const uint16_t *)w->scales)[n]); }

/* ---- GEMM plan: integer driver ---- */

static void w4a8_w(const qb_cpu_gemm_plan *p, int64_t n0, int64_t rows, int16_t *out, void *scratch)
{
    for (int64_t r = 0; r < rows; r++) w8_range(&p->w, n0 + r, 0, p->a->k, out + r * p->a->k);
}

static float w4a8_epi(const qb_cpu_gemm_plan *p, int64_t m, int64_t n, int32_t acc)
{
    float sx = qb_cpu_x_scale(p->a->x, p->a->k, m, 0);
    return ((float)acc * sx) * channel_scale(&p->w, n);
}

/* Content checks (host-readable on the CPU), before anything is written:
 * group scales >= 1, zeros 0..15, and every w8 of the group inside int8. */
static qblas_status_t check_g128(qblas_handle_t h, const qblas_weight_t *w)
{
    const int8_t *gs = w->group_scales;
    const uint8_t *zeros = w->zeros;
    for (int64_t g = 0; g < w->k / W4A8_G; g++)
        for (int64_t n = 0; n < w->n; n++) {
            int s2 = gs[g * w->n + n], z = zeros[g * w->n + n];
            if (s2 < 1)
                return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "W4A8 group scale %d (group %lld, row %lld) < 1", s2,
                               LL(g), LL(n));
            if (z > 15)
                return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "W4A8 zero %d (group %lld, row %lld) > 15", z, LL(g),
                               LL(n));
            /* w8 is monotonic in the code, so the group's extreme codes bound it */
            const uint8_t *c = codes_row(w, n);
            int cmin = 15, cmax = 0;
            for (int64_t i = g * W4A8_G; i < (g + 1) * W4A8_G; i++) {
                int v = qb_u4_get(c, i);
                cmin = v < cmin ? v : cmin;
                cmax = v > cmax ? v : cmax;
            }
            if (cmin * s2 - z * s2 < -128 || cmax * s2 - z * s2 > 127)
                return qb_fail(h, QBLAS_STATUS_INVALID_VALUE,
                               "W4A8 group %lld row %lld: (code - %d) * %d leaves int8 for codes %d..%d", LL(g), LL(n),
                               z, s2, cmin, cmax);
        }
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t check_perchannel(qblas_handle_t h, const qblas_weight_t *w)
{
    const uint8_t *zeros = w->zeros;
    for (int64_t n = 0; n < w->n; n++)
        if (zeros[n] > 15)
            return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "W4A8 zero %d (row %lld) > 15", zeros[n], LL(n));
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_check_content_w4a8(qblas_handle_t h, const qblas_weight_t *w)
{
    return w->group_size == W4A8_G ? check_g128(h, w) : check_perchannel(h, w);
}

qblas_status_t qb_cpu_setup_w4a8(qblas_handle_t h, qb_cpu_gemm_plan *p)
{
    int g128 = p->w.group_size == W4A8_G;
    qblas_status_t st = qb_check_content_w4a8(h, &p->w);
    if (st) return st;
    p->is_int = 1;
    p->x_i16 = qb_cpu_x_i16;
    p->w_i16 = w4a8_w;
    p->epi_i32 = w4a8_epi;
    p->kernel = g128 ? "cpu_ref_w4a8_g128" : "cpu_ref_w4a8_perchannel";
    return QBLAS_STATUS_SUCCESS;
}

/* ---- quantizer ---- */

/* f16 bits of a channel scale: 0 (all-zero row, or underflow) and inf
 * (overflow) become 1, as in every quantizer (docs: common conventions),
 * so every stored scale is positive and finite. */
static uint16_t f16_scale(float s)
{
    uint16_t mag = qb_f32_to_f16(s) & 0x7FFF;
    return mag == 0 || mag >= 0x7C00 ? 0x3C00 : mag;
}

/* Smallest and largest finite value of row[0, k), widened to include 0. */
static void range_with_zero(const float *row, int64_t k, float *lo, float *hi)
{
    qb_finite_minmax(row, k, lo, hi);
    *lo = *lo < 0.0f ? *lo : 0.0f;
    *hi = *hi > 0.0f ? *hi : 0.0f;
}

/* Stage 2 of g128 on one group of stage-1 integers w8 (|w8| <= 119):
 * asymmetric u4 with an int8 scale s2 and a zero z over [lo, hi], widened to
 * include 0 (as GPTQ does) so a group of one sign keeps its whole range.
 * Bound |(code - z) * s2| <= 127, and |w8 - (code - z) * s2| <= s2 / 2:
 * s2 = ceil((hi - lo) / 15) <= ceil(238 / 15) = 16. z = rint(-lo/s2) is in
 * 0..15 unclamped (0 <= -lo <= 15*s2), so rint(w8/s2) + z >= rint(lo/s2) + z
 * = 0: no code clamps at 0. An unclamped code gives (code - z) * s2 =
 * rint(w8/s2) * s2, within s2/2 <= 8 of w8, so inside [-127, 127]. A code
 * clamped at 15 gives 0 <= (15 - z) * s2 < rint(w8/s2) * s2 <= 127, and
 * w8/s2 <= lo/s2 + 15 <= 15.5 - z keeps it within s2/2 of w8. */
static void stage2_group(const int8_t *w8, uint8_t *codes_row_out, int64_t i0, int8_t *s2_out, uint8_t *z_out)
{
    int lo = 0, hi = 0;
    for (int i = 0; i < W4A8_G; i++) {
        lo = w8[i] < lo ? w8[i] : lo;
        hi = w8[i] > hi ? w8[i] : hi;
    }
    int s2 = (hi - lo + 14) / 15; /* ceil((hi - lo) / 15) */
    if (s2 < 1) s2 = 1;
    int z = qb_round_clamp((float)-lo / (float)s2, 0, 15);
    for (int i = 0; i < W4A8_G; i++)
        qb_u4_set(codes_row_out, i0 + i, z + qb_round_clamp((float)w8[i] / (float)s2, -z, 15 - z));
    *s2_out = (int8_t)s2;
    *z_out = (uint8_t)z;
}

static void quantize_g128_row(const float *row, qblas_weight_t *out, int64_t n)
{
    uint16_t s1b = f16_scale(qb_finite_amax(row, out->k) / (float)W4A8_STAGE1_MAX);
    float s1 = qb_f16_to_f32(s1b);
    ((uint16_t *)out->scales)[n] = s1b;
    uint8_t *codes = (uint8_t *)out->data + n * (out->k / 2);
    for (int64_t g = 0; g < out->k / W4A8_G; g++) {
        int8_t w8[W4A8_G];
        for (int i = 0; i < W4A8_G; i++)
            w8[i] = (int8_t)qb_round_clamp(row[g * W4A8_G + i] / s1, -W4A8_STAGE1_MAX, W4A8_STAGE1_MAX);
        stage2_group(w8, codes, g * W4A8_G, (int8_t *)out->group_scales + g * out->n + n,
                     (uint8_t *)out->zeros + g * out->n + n);
    }
}

static void quantize_perchannel_row(const float *row, qblas_weight_t *out, int64_t n)
{
    float lo, hi;
    range_with_zero(row, out->k, &lo, &hi);
    uint16_t s1b = f16_scale((hi - lo) / 15.0f);
    float s1 = qb_f16_to_f32(s1b);
    int z = qb_round_clamp(-lo / s1, 0, 15);
    ((uint16_t *)out->scales)[n] = s1b;
    ((uint8_t *)out->zeros)[n] = (uint8_t)z;
    uint8_t *codes = (uint8_t *)out->data + n * (out->k / 2);
    /* clamp(rint(w/s1) + z, 0, 15) written as z + clamp(rint(w/s1), -z, 15 - z): NaN becomes code z, value 0 */
    for (int64_t i = 0; i < out->k; i++) qb_u4_set(codes, i, z + qb_round_clamp(row[i] / s1, -z, 15 - z));
}

qblas_status_t qb_quantize_w4a8(const float *src, int64_t ld, qblas_weight_t *out)
{
    for (int64_t n = 0; n < out->n; n++) {
        if (out->group_size == W4A8_G)
            quantize_g128_row(src + n * ld, out, n);
        else
            quantize_perchannel_row(src + n * ld, out, n);
    }
    return QBLAS_STATUS_SUCCESS;
}

/* ---- dequantizer (qblas_dequantize_weight ran qb_check_content_w4a8):
 * s1 * w8, exact in f32 (11-bit s1 times |w8| <= 128) ---- */
void qb_dequant_w4a8(const qblas_weight_t *w, int64_t n0, int64_t rows, float *out)
{
    int16_t w8[W4A8_G];
    for (int64_t r = 0; r < rows; r++) {
        float s1 = channel_scale(w, n0 + r);
        float *o = out + r * w->k;
        /* one group (or chunk of a per-channel row) at a time keeps the buffer small */
        for (int64_t i0 = 0; i0 < w->k; i0 += W4A8_G) {
            int64_t len = w->k - i0 < W4A8_G ? w->k - i0 : W4A8_G;
            w8_range(w, n0 + r, i0, len, w8);
            for (int64_t i = 0; i < len; i++) o[i0 + i] = s1 * (float)w8[i];
        }
    }
}
