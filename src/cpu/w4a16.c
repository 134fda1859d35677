/* w4a16.c - W4A16 on the CPU oracle: the GEMM plan, the round-to-nearest
 * quantizer and the host dequantizer (docs/FORMATS.md, "W4A16").
 *
 *   code(n,k) = u4 k of row n (row = ceil(k/2) bytes, even k in the low nibble)
 *   g(k)      = g_idx ? g_idx[k] : (group_size ? k / group_size : 0)
 *   s(g,n)    = scales[g*n_total + n] (f16, bf16 or f32)
 *   z(g,n)    = zeros ? zeros[g*n_total + n] : 8
 *   GEMM:  w  = round_to(x dtype, fp32 (code - z) * s); Y = fp32 sum_k x*w
 *   tools: w  = fp32 (code - z) * s   (not rounded)
 *
 * The GEMM rounds the weight to the activation dtype because every GPU
 * W4A16 kernel dequantizes into that type before the tensor-core product.
 */
#include <stdlib.h>

#include "cpu_internal.h"

#define LL(x) ((long long)(x))

static int64_t num_groups(const qblas_weight_t *w) { return w->group_size ? w->k / w->group_size : 1; }

static int64_t group_of(const qblas_weight_t *w, int64_t k)
{
    if (w->g_idx) return w->g_idx[k];
    return w->group_size ? k / w->group_size : 0;
}

/* (code - z) * s in fp32, rounded to dtype rt (F32: left as is). */
static float dequant_value(const qblas_weight_t *w, int64_t g, int64_t n, int code, qblas_dtype_t rt)
{
    int64_t i = g * w->n + n;
    float s = qb_load_f32(w->scale_dtype, w->scales, i);
    int zero = w->zeros ? ((const uint8_t *)w->zeros)[i] : 8;
    return qb_round_to(rt, (float)(code - zero) * s);
}

/* ---- content checks (host memory on the CPU backend) ---- */
static qblas_status_t check_g_idx(qblas_handle_t h, const qblas_weight_t *w)
{
    if (!w->g_idx) return QBLAS_STATUS_SUCCESS;
    int64_t G = num_groups(w);
    for (int64_t k = 0; k < w->k; k++)
        if (w->g_idx[k] < 0 || w->g_idx[k] >= G)
            return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "g_idx[%lld] = %d outside 0..%lld", LL(k), w->g_idx[k],
                           LL(G - 1));
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t check_zeros(qblas_handle_t h, const qblas_weight_t *w)
{
    if (!w->zeros) return QBLAS_STATUS_SUCCESS;
    const uint8_t *z = w->zeros;
    int64_t count = num_groups(w) * w->n;
    for (int64_t i = 0; i < count; i++)
        if (z[i] > 15)
            return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "W4A16 zero %d (group %lld, row %lld) outside 0..15", z[i],
                           LL(i / w->n), LL(i % w->n));
    return QBLAS_STATUS_SUCCESS;
}

/* ---- GEMM plan ---- */

/* Codes k0 .. k0+len-1 of a packed row through a 16-entry table, a byte
 * (two codes) at a time. k0 is even: groups start at multiples of an even
 * group size, or at 0. */
static void decode_run(const uint8_t *codes, int64_t k0, int64_t len, const float *lut, float *out)
{
    const uint8_t *b = codes + k0 / 2;
    float *o = out + k0;
    int64_t i = 0;
    for (; i + 2 <= len; i += 2) {
        uint8_t v = b[i / 2];
        o[i] = lut[v & 15];
        o[i + 1] = lut[v >> 4];
    }
    if (i < len) o[i] = lut[b[i / 2] & 15]; /* odd k: the padding nibble is not a weight */
}

/* Rows n0 .. n0+rows-1 as the activation dtype holds them. scratch holds one
 * 16-entry table per group: every value a code can take in that group. */
static void w4a16_w(const qb_cpu_gemm_plan *p, int64_t n0, int64_t rows, float *out, void *scratch)
{
    const qblas_weight_t *w = &p->w;
    const qblas_dtype_t xt = p->a->x->dtype;
    const int64_t k = w->k, G = num_groups(w), rowb = qb_cdiv(k, 2);
    const int64_t glen = w->group_size ? w->group_size : k;
    float *lut = scratch;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t n = n0 + r;
        const uint8_t *codes = (const uint8_t *)w->data + n * rowb;
        float *o = out + r * k;
        for (int64_t g = 0; g < G; g++)
            for (int c = 0; c < 16; c++) lut[g * 16 + c] = dequant_value(w, g, n, c, xt);
        if (w->g_idx) {
            for (int64_t i = 0; i < k; i++) o[i] = lut[16 * w->g_idx[i] + qb_u4_get(codes, i)];
        } else {
            for (int64_t g = 0; g < G; g++) decode_run(codes, g * glen, glen, lut + 16 * g, o);
        }
    }
}

/* names: [x bf16][group 32, 64, 128, K][zero points][act-order] */
#define W4A16_VARIANTS(x, g)                                                                \
    {{"cpu_ref_w4a16_" x "_" g, "cpu_ref_w4a16_" x "_" g "_actorder"},                      \
     {"cpu_ref_w4a16_" x "_" g "_zp", "cpu_ref_w4a16_" x "_" g "_zp_actorder"}}
#define W4A16_GROUPS(x) \
    {W4A16_VARIANTS(x, "g32"), W4A16_VARIANTS(x, "g64"), W4A16_VARIANTS(x, "g128"), W4A16_VARIANTS(x, "gK")}
static const char *const w4a16_names[2][4][2][2] = {W4A16_GROUPS("f16"), W4A16_GROUPS("bf16")};

static const char *kernel_name(const qb_cpu_gemm_plan *p)
{
    int gs = p->w.group_size;
    int gi = gs == 32 ? 0 : gs == 64 ? 1 : gs == 128 ? 2 : 3;
    return w4a16_names[p->a->x->dtype == QBLAS_DTYPE_BF16][gi][p->w.zeros != NULL][p->w.g_idx != NULL];
}

qblas_status_t qb_check_content_w4a16(qblas_handle_t h, const qblas_weight_t *w)
{
    qblas_status_t st = check_g_idx(h, w);
    return st ? st : check_zeros(h, w);
}

qblas_status_t qb_cpu_setup_w4a16(qblas_handle_t h, qb_cpu_gemm_plan *p)
{
    qblas_status_t st = qb_check_content_w4a16(h, &p->w);
    if (st) return st;
    p->is_int = 0;
    p->kblock = 0;
    p->x_f32 = qb_cpu_x_f32;
    p->w_f32 = w4a16_w;
    p->epi_f32 = NULL;
    p->w_scratch = (size_t)num_groups(&p->w) * 16 * sizeof(float);
    p->kernel = kernel_name(p);
    return QBLAS_STATUS_SUCCESS;
}

/* ---- host dequantizer (qblas_dequantize_weight ran qb_check_content_w4a16) ---- */
void qb_dequant_w4a16(const qblas_weight_t *w, int64_t n0, int64_t rows, float *out)
{
    const int64_t k = w->k, rowb = qb_cdiv(k, 2);
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *codes = (const uint8_t *)w->data + (n0 + r) * rowb;
        for (int64_t i = 0; i < k; i++) {
            int64_t g = group_of(w, i);
            out[r * k + i] = dequant_value(w, g, n0 + r, qb_u4_get(codes, i), QBLAS_DTYPE_F32);
        }
    }
}

/* ---- quantizer ---- */
typedef struct {
    float lo, hi; /* min(min w, 0), max(max w, 0) over the finite w of the group */
    float scale;  /* as stored */
    int zero;
} qb_w4_group;

/* Scale as the scale dtype stores it; 0, inf (and NaN) become 1 so that
 * dividing by it stays finite and an all-zero group keeps zero codes. */
static float stored_scale(qblas_dtype_t t, float s)
{
    float v = qb_round_to(t, s);
    return v > 0.0f && !isinf(v) ? v : 1.0f;
}

static void group_params(qb_w4_group *q, qblas_dtype_t sdt, bool asym)
{
    if (asym) {
        q->scale = stored_scale(sdt, (q->hi - q->lo) / 15.0f);
        q->zero = qb_round_clamp(-q->lo / q->scale, 0, 15);
    } else {
        float amax = fmaxf(-q->lo, q->hi);
        q->scale = stored_scale(sdt, (2.0f * amax) / 15.0f);
        q->zero = 8;
    }
}

static int quantize_value(float v, const qb_w4_group *q, bool asym)
{
    if (isnan(v)) v = 0.0f; /* NaN gets the code of 0.0 */
    if (asym) return qb_round_clamp(rintf(v / q->scale) + (float)q->zero, 0, 15);
    return qb_round_clamp(v / q->scale, -8, 7) + 8;
}

static void quantize_row(const float *src, int64_t n, qblas_weight_t *w, qb_w4_group *grp)
{
    const int64_t k = w->k, G = num_groups(w), rowb = qb_cdiv(k, 2);
    const bool asym = w->zeros != NULL;
    for (int64_t g = 0; g < G; g++) grp[g].lo = grp[g].hi = 0.0f; /* an empty group reads as all-zero */
    for (int64_t i = 0; i < k; i++) {
        if (!isfinite(src[i])) continue; /* inf saturates to an end code, NaN maps to 0.0: neither sets the range */
        qb_w4_group *q = &grp[group_of(w, i)];
        q->lo = fminf(q->lo, src[i]);
        q->hi = fmaxf(q->hi, src[i]);
    }
    for (int64_t g = 0; g < G; g++) {
        group_params(&grp[g], w->scale_dtype, asym);
        qb_store_f32(w->scale_dtype, (void *)w->scales, g * w->n + n, grp[g].scale);
        if (asym) ((uint8_t *)w->zeros)[g * w->n + n] = (uint8_t)grp[g].zero;
    }
    uint8_t *codes = (uint8_t *)w->data + n * rowb;
    memset(codes, 0, (size_t)rowb); /* odd k: the padding nibble is 0 */
    for (int64_t i = 0; i < k; i++) qb_u4_set(codes, i, quantize_value(src[i], &grp[group_of(w, i)], asym));
}

qblas_status_t qb_quantize_w4a16(const float *src, int64_t ld, qblas_weight_t *out)
{
    qblas_status_t st = check_g_idx(NULL, out);
    if (st) return st;
    qb_w4_group *grp = malloc((size_t)num_groups(out) * sizeof *grp);
    if (!grp) return qb_fail(NULL, QBLAS_STATUS_ALLOC_FAILED, "no memory for %lld groups", LL(num_groups(out)));
    for (int64_t n = 0; n < out->n; n++) quantize_row(src + n * ld, n, out, grp);
    free(grp);
    return QBLAS_STATUS_SUCCESS;
}
