/* test_quant_weight.c - INT8 and FP8 weight quantizers (qblas_quantize_weight,
 * qblas_dequantize_weight, qblas_weight_sizes) against the formulas of
 * docs/FORMATS.md re-derived here in f32, their reconstruction error, and the
 * INT8/FP8 GEMMs on quantized data against the float GEMM.
 */
#include "qb_test.h"
#include "cpu/cpu_internal.h" /* qb_dequant_int8/fp8: the row dequantizers */

typedef struct {
    qblas_wformat_t format;
    qblas_dtype_t dtype;
    qblas_scale_mode_t mode;
} qw_cfg;

static const qw_cfg cfgs[] = {
    {QBLAS_WFORMAT_INT8, QBLAS_DTYPE_I8, QBLAS_SCALE_PER_TENSOR},
    {QBLAS_WFORMAT_INT8, QBLAS_DTYPE_I8, QBLAS_SCALE_PER_ROW},
    {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3, QBLAS_SCALE_PER_TENSOR},
    {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3, QBLAS_SCALE_PER_ROW},
    {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3, QBLAS_SCALE_BLOCK_128X128},
    {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E5M2, QBLAS_SCALE_PER_TENSOR},
    {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E5M2, QBLAS_SCALE_PER_ROW},
    {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E5M2, QBLAS_SCALE_BLOCK_128X128},
    {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3FNUZ, QBLAS_SCALE_PER_TENSOR},
    {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3FNUZ, QBLAS_SCALE_PER_ROW},
    {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3FNUZ, QBLAS_SCALE_BLOCK_128X128},
};
#define NCFG ((int)(sizeof cfgs / sizeof cfgs[0]))

/* ---- format constants, from the format definitions ---- */
static float qmax_of(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_I8 ? 127.0f : t == QBLAS_DTYPE_E4M3 ? 448.0f : t == QBLAS_DTYPE_E5M2 ? 57344.0f : 240.0f;
}
static qb_fp8_fmt fmt_of(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_E4M3 ? QB_FP8_E4M3 : t == QBLAS_DTYPE_E5M2 ? QB_FP8_E5M2 : QB_FP8_E4M3FNUZ;
}
static int mbits_of(qblas_dtype_t t) { return t == QBLAS_DTYPE_E5M2 ? 2 : 3; }
static int bias_of(qblas_dtype_t t) { return t == QBLAS_DTYPE_E4M3 ? 7 : t == QBLAS_DTYPE_E5M2 ? 15 : 8; }
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

static int64_t scale_count(qblas_scale_mode_t mode, int64_t n, int64_t k)
{
    return mode == QBLAS_SCALE_PER_TENSOR ? 1 : mode == QBLAS_SCALE_PER_ROW ? n : cdiv(n, 128) * cdiv(k, 128);
}

/* index of the scale of element (r, c) */
static int64_t scale_index(qblas_scale_mode_t mode, int64_t k, int64_t r, int64_t c)
{
    return mode == QBLAS_SCALE_PER_TENSOR ? 0 : mode == QBLAS_SCALE_PER_ROW ? r : (r / 128) * cdiv(k, 128) + c / 128;
}

/* Largest error of code * s against a finite w inside the code range (derivation in check_reconstruction). */
static double quant_err(qblas_dtype_t t, double w, double s)
{
    if (t == QBLAS_DTYPE_I8) return s * (0.5 + 128.0 * QBT_U32);
    return (ldexp(1.0, -(mbits_of(t) + 1)) + 2.0 * QBT_U32) * fabs(w) + s * ldexp(1.0, -bias_of(t) - mbits_of(t));
}

/* ---- the reference quantizer, in f32 ---- */
static void ref_quantize(const qw_cfg *c, const float *w, int64_t n, int64_t k, float *scales, uint8_t *codes)
{
    int64_t ns = scale_count(c->mode, n, k);
    for (int64_t i = 0; i < ns; i++) scales[i] = 0.0f; /* amax so far */
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < k; j++) {
            float v = w[r * k + j];
            float *a = &scales[scale_index(c->mode, k, r, j)];
            if (isfinite(v)) *a = fmaxf(*a, fabsf(v));
        }
    for (int64_t i = 0; i < ns; i++) {
        scales[i] = scales[i] / qmax_of(c->dtype);
        if (scales[i] == 0.0f) scales[i] = 1.0f;
    }
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < k; j++) {
            float q = w[r * k + j] / scales[scale_index(c->mode, k, r, j)];
            codes[r * k + j] = c->dtype == QBLAS_DTYPE_I8 ? (uint8_t)(int8_t)qb_round_clamp(q, -127, 127)
                                                          : qb_fp8_encode(q, fmt_of(c->dtype));
        }
}

static double code_value(qblas_dtype_t t, uint8_t code) { return qbt_get(t, &code, 0); }

static size_t esize(qblas_dtype_t t) { return t == QBLAS_DTYPE_F32 ? 4 : 2; }

static void set_val(qblas_dtype_t t, void *p, int64_t i, float v)
{
    switch (t) {
    case QBLAS_DTYPE_F32: ((float *)p)[i] = v; break;
    case QBLAS_DTYPE_F16: ((uint16_t *)p)[i] = qb_f32_to_f16(v); break;
    default: ((uint16_t *)p)[i] = qb_f32_to_bf16(v); break;
    }
}

/* W[n][k] (leading dimension ld) of dtype t: rows of random magnitudes; a
 * row of zeros; the largest values on the last and first rows/columns of
 * 128-blocks (so a block range off by one changes a scale); when specials,
 * NaN and +-inf somewhere. Returns it as f32. */
static float *make_src(qbt_rng *r, qblas_dtype_t t, void *src, int64_t n, int64_t k, int64_t ld, bool specials)
{
    float *f = malloc(sizeof(float) * (size_t)(n * k));
    for (int64_t i = 0; i < n; i++) {
        double a = ldexp(1.0, (int)qbt_int(r, -6, 6)) * qbt_uniform(r, 1.0, 2.0);
        bool zero_row = n > 2 && i == n / 2;
        for (int64_t j = 0; j < k; j++) set_val(t, src, i * ld + j, zero_row ? 0.0f : (float)qbt_uniform(r, -a, a));
    }
    const int64_t edges[3][2] = {{127, 0}, {1, 255}, {n - 1, k - 1}}; /* (row, column) */
    for (int e = 0; e < 3; e++) /* |value| in [256, 512): above every row's magnitude */
        if (edges[e][0] < n && edges[e][1] < k)
            set_val(t, src, edges[e][0] * ld + edges[e][1],
                    (float)((qbt_int(r, 0, 1) ? 1 : -1) * qbt_uniform(r, 256.0, 512.0)));
    if (specials)
        for (int s = 0; s < 3; s++)
            set_val(t, src, qbt_int(r, 0, n - 1) * ld + qbt_int(r, 0, k - 1), (float[]){NAN, INFINITY, -INFINITY}[s]);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++) f[i * k + j] = (float)qbt_get(t, src, i * ld + j);
    return f;
}

static qblas_weight_t weight_desc(const qw_cfg *c, int64_t n, int64_t k)
{
    return (qblas_weight_t){.format = c->format, .layout = QBLAS_LAYOUT_CANONICAL, .dtype = c->dtype, .n = n,
                            .k = k, .scale_mode = c->mode, .scale_dtype = QBLAS_DTYPE_F32};
}

/* failure context: format prefix and its arguments (the arguments go first) */
#define CTX_F "(%s mode %d n=%lld k=%lld) [seed %llu]: "
#define CTX_A qblas_dtype_name(c->dtype), c->mode, (long long)n, (long long)k, (unsigned long long)qbt_seed

START_TEST(weight_sizes)
{
    static const int64_t shapes[][2] = {{1, 1}, {7, 5}, {130, 300}, {256, 256}};
    for (int ci = 0; ci < NCFG; ci++)
        for (int s = 0; s < 4; s++) {
            const qw_cfg *c = &cfgs[ci];
            int64_t n = shapes[s][0], k = shapes[s][1];
            qblas_weight_t w = weight_desc(c, n, k);
            qblas_weight_sizes_t z;
            memset(&z, 0xFF, sizeof z);
            QBT_OK(qblas_weight_sizes(&w, &z));
            QBT_EXPECT(z.data == (size_t)(n * k), CTX_F "data %zu", CTX_A, z.data);
            QBT_EXPECT(z.scales == 4 * (size_t)scale_count(c->mode, n, k), CTX_F "scales %zu", CTX_A, z.scales);
            ck_assert(z.meta == 0 && z.zeros == 0 && z.group_scales == 0 && z.g_idx == 0);
        }
    /* what the two formats refuse */
    qblas_weight_sizes_t z;
    qblas_weight_t w = weight_desc(&cfgs[0], 7, 5);
    w.scale_mode = QBLAS_SCALE_BLOCK_128X128; /* INT8 has no block scales */
    QBT_STATUS(qblas_weight_sizes(&w, &z), QBLAS_STATUS_INVALID_VALUE);
    w = weight_desc(&cfgs[1], 7, 65537); /* integer GEMMs stop at k = 65536 */
    QBT_STATUS(qblas_weight_sizes(&w, &z), QBLAS_STATUS_NOT_SUPPORTED);
    w = weight_desc(&cfgs[3], 7, 5);
    w.scale_dtype = QBLAS_DTYPE_F16; /* scales are f32 */
    QBT_STATUS(qblas_weight_sizes(&w, &z), QBLAS_STATUS_INVALID_VALUE);
    w = weight_desc(&cfgs[3], 7, 5);
    w.dtype = QBLAS_DTYPE_I8; /* FP8 data is fp8 */
    QBT_STATUS(qblas_weight_sizes(&w, &z), QBLAS_STATUS_INVALID_VALUE);
}
END_TEST

/* Reconstruction: |dequant - w| <= the quantization error (quant_err: for int8
 * |w/s| <= 127(1+u), so the f32 division errs by <= 128u and rint by 1/2, in
 * units of s; for fp8 the rounding is 2^-(mbits+1) relative in the normal
 * range or half the subnormal quantum 2^(-bias-mbits) absolute, plus u twice
 * for the f32 division and saturation at the top) plus half an f32 ulp for
 * the dequantizer's own product code * s. */
static void check_reconstruction(const qw_cfg *c, const float *f, const float *deq, int64_t n, int64_t k,
                                 const float *scales)
{
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < k; j++) {
            double w = f[r * k + j], d = deq[r * k + j], s = scales[scale_index(c->mode, k, r, j)];
            if (isnan(w)) {
                QBT_EXPECT(c->dtype == QBLAS_DTYPE_I8 ? d == 0.0 : isnan(d), CTX_F "NaN -> %g", CTX_A, d);
            } else if (isinf(w)) {
                float top = (float)((double)qmax_of(c->dtype) * s); /* the largest code, dequantized */
                QBT_EXPECT(d == (w > 0 ? top : -top), CTX_F "inf -> %g", CTX_A, d);
            } else {
                double tol = quant_err(c->dtype, w, s) + qbt_half_ulp(QBLAS_DTYPE_F32, d);
                QBT_EXPECT(qbt_close(d, w, tol), CTX_F "w[%lld][%lld] = %.9g -> %.9g (tol %.3g)", CTX_A, (long long)r,
                       (long long)j, w, d, tol);
            }
        }
}

/* The oracle's row dequantizer (which the public call drives one row at a
 * time) gives the same for any row range: rows [n0, n0 + rows) at once. */
static void check_dequant_rows(const qblas_weight_t *w, const float *want)
{
    int64_t n0 = w->n / 3, rows = w->n - n0;
    float *out = malloc(sizeof(float) * (size_t)(rows * w->k));
    (w->format == QBLAS_WFORMAT_INT8 ? qb_dequant_int8 : qb_dequant_fp8)(w, n0, rows, out);
    QBT_EXPECT(memcmp(out, want + n0 * w->k, sizeof(float) * (size_t)(rows * w->k)) == 0,
           "rows %lld..%lld dequantized at once differ [seed %llu]", (long long)n0, (long long)w->n - 1,
           (unsigned long long)qbt_seed);
    free(out);
}

/* qbt_poison (0xFF: NaN scales, a NaN or -1 code) or another byte: an
 * element left unwritten cannot match the expected value after both. */
static void prefill(void *p, size_t bytes, int b)
{
    if (b == 0xFF)
        qbt_poison(p, bytes);
    else
        memset(p, b, bytes);
}

/* Quantize (all formats, modes and source dtypes): codes and scales bit-exact;
 * dequantize: exactly code * s rounded once to f32 (then to f16/bf16), within
 * the reconstruction bound, ld padding untouched. */
START_TEST(weight_quantize_dequantize)
{
    static const int64_t shapes[][2] = {{1, 1}, {7, 5}, {33, 64}, {130, 300}, {3, 129}};
    static const qblas_dtype_t dts[3] = {QBLAS_DTYPE_F32, QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16};
    qbt_rng rng = qbt_rng_make(1101);
    int it = 0;
    for (int ci = 0; ci < NCFG; ci++)
        for (int di = 0; di < 3; di++, it++) {
            const qw_cfg *c = &cfgs[ci];
            int64_t n = shapes[it % 5][0], k = shapes[it % 5][1], ld = k + (it % 2 ? 3 : 0);
            qblas_dtype_t st = dts[di];
            void *src = qbt_alloc((size_t)(n * ld) * esize(st));
            float *f = make_src(&rng, st, src, n, k, ld, it % 3 == 0);
            qblas_weight_t w = weight_desc(c, n, k);
            qblas_weight_sizes_t z;
            QBT_OK(qblas_weight_sizes(&w, &z));
            uint8_t *data = qbt_alloc(z.data), *eq = malloc(z.data);
            float *scales = qbt_alloc(z.scales), *es = malloc(z.scales);
            w.data = data;
            w.scales = scales;
            ref_quantize(c, f, n, k, es, eq);
            static const int fills[2] = {0xFF, 0x5A};
            for (int fi = 0; fi < 2; fi++) {
                prefill(data, z.data, fills[fi]);
                prefill(scales, z.scales, fills[fi]);
                QBT_OK(qblas_quantize_weight(n, k, st, src, ld, &w));
                QBT_EXPECT(memcmp(scales, es, z.scales) == 0, CTX_F "scales differ", CTX_A);
                for (size_t i = 0; i < z.data; i++)
                    QBT_EXPECT(data[i] == eq[i], CTX_F "code %zu = 0x%02x, want 0x%02x", CTX_A, i, data[i], eq[i]);
            }
            /* dequantize to every dtype, with ld > k */
            for (int oi = 0; oi < 3; oi++) {
                qblas_dtype_t ot = dts[oi];
                int64_t ldo = k + 2;
                size_t bytes = (size_t)(n * ldo) * esize(ot);
                void *out = qbt_alloc(bytes);
                float *deq = malloc(sizeof(float) * (size_t)(n * k));
                qbt_poison(out, bytes);
                QBT_OK(qblas_dequantize_weight(&w, ot, out, ldo));
                for (int64_t r = 0; r < n; r++) {
                    for (int64_t j = 0; j < k; j++) {
                        /* code * s is exact in double; one rounding to f32 is the oracle's product */
                        float want32 = (float)(code_value(c->dtype, data[r * k + j]) *
                                               scales[scale_index(c->mode, k, r, j)]);
                        uint16_t want16 = ot == QBLAS_DTYPE_F16 ? qb_f32_to_f16(want32) : qb_f32_to_bf16(want32);
                        bool ok = ot == QBLAS_DTYPE_F32 ? memcmp(&want32, (float *)out + r * ldo + j, 4) == 0
                                                        : ((uint16_t *)out)[r * ldo + j] == want16;
                        QBT_EXPECT(ok, CTX_F "dequant[%lld][%lld] to %s", CTX_A, (long long)r, (long long)j,
                               qblas_dtype_name(ot));
                        deq[r * k + j] = want32;
                    }
                    const uint8_t *pad = (const uint8_t *)out + (size_t)(r * ldo + k) * esize(ot);
                    for (size_t b = 0; b < 2 * esize(ot); b++) QBT_EXPECT(pad[b] == 0xFF, "ld padding written");
                }
                check_reconstruction(c, f, deq, n, k, scales);
                if (oi == 0) check_dequant_rows(&w, deq);
                free(deq);
                qbt_free(out);
            }
            free(eq);
            free(es);
            free(f);
            qbt_free(data);
            qbt_free(scales);
            qbt_free(src);
        }
}
END_TEST

/* ---- GEMM on quantized activations and weights vs the float GEMM ---- */
typedef struct {
    qblas_dtype_t xq;         /* i8 or fp8 */
    qblas_scale_mode_t xmode; /* PER_ROW, BLOCK_1X128 (dynamic) or PER_TENSOR (static) */
    bool asym;
    qw_cfg w;
} qg_cfg;

/* Largest |x - x_hat| for activation element x with scale s (same derivation
 * as quant_err; asymmetric int8: 1/2 from rint plus f32 roundings of five
 * quotients/differences of magnitude <= 256, under 4 * 256u, in units of s). */
static double act_err(const qg_cfg *g, double x, double s)
{
    if (g->asym) return s * (0.5 + 1024.0 * QBT_U32);
    return quant_err(g->xq, x, s);
}

static int64_t act_scale_index(qblas_scale_mode_t mode, int64_t nkb, int64_t m, int64_t k)
{
    return mode == QBLAS_SCALE_PER_TENSOR ? 0 : mode == QBLAS_SCALE_PER_ROW ? m : m * nkb + k / 128;
}

/* Quantize X with qblas_quantize_act and W with qblas_quantize_weight, run
 * the quantized GEMM, and compare with the float GEMM of the originals. */
START_TEST(weight_gemm_vs_float)
{
    static const qg_cfg gs[] = {
        {QBLAS_DTYPE_I8, QBLAS_SCALE_PER_ROW, false, {QBLAS_WFORMAT_INT8, QBLAS_DTYPE_I8, QBLAS_SCALE_PER_ROW}},
        {QBLAS_DTYPE_I8, QBLAS_SCALE_PER_ROW, true, {QBLAS_WFORMAT_INT8, QBLAS_DTYPE_I8, QBLAS_SCALE_PER_TENSOR}},
        {QBLAS_DTYPE_I8, QBLAS_SCALE_PER_TENSOR, false, {QBLAS_WFORMAT_INT8, QBLAS_DTYPE_I8, QBLAS_SCALE_PER_ROW}},
        {QBLAS_DTYPE_E4M3, QBLAS_SCALE_PER_ROW, false, {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3, QBLAS_SCALE_PER_ROW}},
        {QBLAS_DTYPE_E4M3, QBLAS_SCALE_BLOCK_1X128, false,
         {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3, QBLAS_SCALE_BLOCK_128X128}},
        {QBLAS_DTYPE_E5M2, QBLAS_SCALE_PER_TENSOR, false,
         {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3FNUZ, QBLAS_SCALE_PER_TENSOR}},
        {QBLAS_DTYPE_E4M3FNUZ, QBLAS_SCALE_BLOCK_1X128, false,
         {QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E5M2, QBLAS_SCALE_BLOCK_128X128}},
    };
    const int64_t M = 3, N = 130, K = 300, nkb = cdiv(K, 128);
    qblas_handle_t h = qbt_cpu();
    qbt_rng rng = qbt_rng_make(1102);
    for (size_t gi = 0; gi < sizeof gs / sizeof gs[0]; gi++) {
        const qg_cfg *g = &gs[gi];
        /* float operands; activations skewed (a zero point far from 0) and
         * every row holds both signs (the asymmetric bound needs 0 inside [min, max]) */
        float *x = qbt_alloc(4 * (size_t)(M * K)), *wf = qbt_alloc(4 * (size_t)(N * K));
        qbt_fill(&rng, QBLAS_DTYPE_F32, x, M * K, -0.25, 1.0);
        for (int64_t m = 0; m < M; m++) x[m * K] = -fabsf(x[m * K]), x[m * K + 1] = fabsf(x[m * K + 1]);
        float *wfv = make_src(&rng, QBLAS_DTYPE_F32, wf, N, K, K, false);
        /* quantize both */
        int64_t nsx = g->xmode == QBLAS_SCALE_PER_TENSOR ? 1 : g->xmode == QBLAS_SCALE_PER_ROW ? M : M * nkb;
        uint8_t *xq = qbt_alloc((size_t)(M * K));
        float *sx = qbt_alloc(4 * (size_t)nsx);
        int32_t *zx = g->asym ? qbt_alloc(4 * (size_t)M) : NULL;
        if (g->xmode == QBLAS_SCALE_PER_TENSOR) sx[0] = 1.25f / qmax_of(g->xq); /* static: |x| < 1 stays in range */
        QBT_OK(qblas_quantize_act(h, M, K, QBLAS_DTYPE_F32, x, K, g->xq, xq, K, g->xmode, sx, zx, NULL));
        qblas_weight_t w = weight_desc(&g->w, N, K);
        qblas_weight_sizes_t z;
        QBT_OK(qblas_weight_sizes(&w, &z));
        uint8_t *wq = qbt_alloc(z.data);
        float *sw = qbt_alloc(z.scales);
        w.data = wq;
        w.scales = sw;
        QBT_OK(qblas_quantize_weight(N, K, QBLAS_DTYPE_F32, wf, K, &w));
        /* quantized GEMM, f32 out */
        qblas_act_t act = {g->xq, xq, K, g->xmode, sx, zx};
        qblas_kernel_info_t info;
        QBT_OK(qblas_gemm_query(h, M, N, K, &act, &w, QBLAS_DTYPE_F32, &info));
        void *ws = qbt_alloc(info.workspace_bytes);
        float *y = qbt_alloc(4 * (size_t)(M * N));
        qbt_poison(y, 4 * (size_t)(M * N));
        QBT_OK(qblas_gemm(h, M, N, K, &act, &w, NULL, QBLAS_DTYPE_F32, y, N, ws, info.workspace_bytes, NULL));
        /* |sum x w - sum xh wh| <= sum |x| ew + |wh| ex  (x w - xh wh = x (w - wh) + wh (x - xh)), with the
         * derived per-element bounds ew, ex; plus the GEMM's own f32 error on sum xh wh: gamma_{k+2}
         * (block: gamma_{128+2+nkb}) times sum |xh wh|, which also covers the int8 epilogue's gamma_3. */
        double gamma = g->xmode == QBLAS_SCALE_BLOCK_1X128 ? qbt_gamma32(128 + 2 + nkb) : qbt_gamma32(K + 2);
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double ref = 0.0, fabs_ref = 0.0, qerr = 0.0, habs = 0.0;
                for (int64_t k = 0; k < K; k++) {
                    double xv = x[m * K + k], wv = wfv[n * K + k];
                    double s_x = sx[act_scale_index(g->xmode, nkb, m, k)];
                    double s_w = sw[scale_index(g->w.mode, K, n, k)];
                    double xh = g->xq == QBLAS_DTYPE_I8 ? s_x * ((int8_t)xq[m * K + k] - (zx ? zx[m] : 0))
                                                        : s_x * code_value(g->xq, xq[m * K + k]);
                    double wh = s_w * code_value(g->w.dtype, wq[n * K + k]);
                    ref += xv * wv;
                    fabs_ref += fabs(xv * wv);
                    qerr += fabs(xv) * quant_err(g->w.dtype, wv, s_w) + fabs(wh) * act_err(g, xv, s_x);
                    habs += fabs(xh * wh);
                }
                /* last term: the double reference's own roundings */
                double tol = qerr + gamma * habs + (double)(K + 4) * 0x1p-53 * fabs_ref;
                QBT_EXPECT(qbt_close(y[m * N + n], ref, tol),
                       "config %zu Y[%lld][%lld] = %.9g, float %.9g, tol %.3g [seed %llu]", gi, (long long)m,
                       (long long)n, (double)y[m * N + n], ref, tol, (unsigned long long)qbt_seed);
            }
        free(wfv);
        qbt_free(x);
        qbt_free(wf);
        qbt_free(xq);
        qbt_free(sx);
        qbt_free(zx);
        qbt_free(wq);
        qbt_free(sw);
        qbt_free(ws);
        qbt_free(y);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("quant_weight");
    TCase *tc = tcase_create("int8_fp8");
    tcase_add_test(tc, weight_sizes);
    tcase_add_test(tc, weight_quantize_dequantize);
    tcase_add_test(tc, weight_gemm_vs_float);
    suite_add_tcase(s, tc);
    return s;
}
