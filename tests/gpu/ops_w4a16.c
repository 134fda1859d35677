/* ops_w4a16.c - W4A16 GEMM (GPTQ/AWQ int4 weights) on the GPU against the oracle.
 *
 * W4A16 checks, per case:
 *  - exactness: X = the identity (M = K rows), y f32: Y[m][n] = W[n][m]
 *    exactly (one nonzero product per sum), compared with the dequantized
 *    weight computed here from the format definition, for every (n, k):
 *    proves layout, act-order permutation, zero points and the rounding of
 *    the scale product bit for bit, with scales spanning subnormal to large;
 *  - random GEMMs: GPU vs oracle vs a float64 sum, tolerance derived below;
 *  - outputs poisoned (0xFF: NaN in f16/bf16/f32) before each GPU run, NaN
 *    never passes, guard bands around Y and the ldy gap stay poisoned;
 *  - the same call twice gives identical bits (split-K reduces in order);
 *  - the reported kernel name is the one that ran;
 *  - bad inputs: documented status, outputs untouched.
 */
#include "gpu_harness.h"

/* ---------------------------------------------------------------- W4A16 data */
typedef struct {
    int64_t n, k;
    int gs;               /* 0: one group over k */
    qblas_dtype_t sdt;    /* scale dtype */
    bool zp, actorder, wide_scales;
    int64_t groups;
    uint8_t *codes;       /* [n][k/2] */
    void *scales;         /* [groups][n] */
    uint8_t *zeros;       /* [groups][n] or NULL */
    int32_t *g_idx;       /* [k] or NULL */
} hweight;

/* A random scale. Narrow: |s| in [0.01, 0.1]. Wide: random bits over the
 * range that keeps 15*|s| finite in f16 (|s| < 2^12): f16 scales from the
 * subnormals up (exponent field 0..26); bf16/f32 scales from 2^-126 up, so
 * a nonzero weight is never an fp32 subnormal (the exactness check must not
 * depend on how the tensor cores treat those). */
static float random_scale(qblas_dtype_t t, bool wide)
{
    float sign = (rnd() & 1) ? -1.0f : 1.0f;
    if (!wide) return sign * (float)uni(0.01, 0.1);
    if (t == QBLAS_DTYPE_F16)
        return qb_f16_to_f32((uint16_t)(((rnd() & 1) << 15) | (irand(0, 26) << 10) | (rnd() & 1023)));
    uint32_t e = (uint32_t)irand(1, 127 + 11);
    return sign * qb_bits_f32((e << 23) | (uint32_t)(rnd() & 0x7FFFFF));
}

static void make_weight(hweight *w)
{
    const int64_t rowb = (w->k + 1) / 2;
    w->groups = w->gs ? w->k / w->gs : 1;
    w->codes = xmalloc((size_t)(w->n * rowb));
    for (int64_t i = 0; i < w->n * rowb; i++) w->codes[i] = (uint8_t)rnd();
    w->scales = xmalloc((size_t)(w->groups * w->n) * dsize(w->sdt));
    for (int64_t i = 0; i < w->groups * w->n; i++) from_f32(w->sdt, w->scales, i, random_scale(w->sdt, w->wide_scales));
    w->zeros = NULL;
    if (w->zp) {
        w->zeros = xmalloc((size_t)(w->groups * w->n));
        for (int64_t i = 0; i < w->groups * w->n; i++) w->zeros[i] = (uint8_t)irand(0, 15);
    }
    w->g_idx = NULL;
    if (w->actorder) {
        /* a random permutation p of 0..k-1; column p[i] joins group i / gs: every group has exactly gs columns */
        int32_t *p = xmalloc((size_t)w->k * sizeof *p);
        for (int64_t i = 0; i < w->k; i++) p[i] = (int32_t)i;
        for (int64_t i = w->k - 1; i > 0; i--) {
            int64_t j = irand(0, i);
            int32_t t = p[i];
            p[i] = p[j], p[j] = t;
        }
        w->g_idx = xmalloc((size_t)w->k * sizeof *w->g_idx);
        for (int64_t i = 0; i < w->k; i++) w->g_idx[p[i]] = (int32_t)(i / w->gs);
        free(p);
    }
}

static void free_weight(hweight *w) { free(w->codes), free(w->scales), free(w->zeros), free(w->g_idx); }

static qblas_weight_t canonical(const hweight *w, const void *codes, const void *scales, const void *zeros,
                                const int32_t *g_idx)
{
    qblas_weight_t d = {0};
    d.format = QBLAS_WFORMAT_W4A16;
    d.layout = QBLAS_LAYOUT_CANONICAL;
    d.dtype = QBLAS_DTYPE_U4;
    d.n = w->n, d.k = w->k;
    d.data = codes, d.scales = scales, d.zeros = zeros, d.g_idx = g_idx;
    d.scale_mode = QBLAS_SCALE_PER_GROUP;
    d.scale_dtype = w->sdt;
    d.group_size = w->gs;
    return d;
}

/* The weight as the W4A16 GEMM uses it, from docs/FORMATS.md:
 * round_to(act dtype, fp32 (code - zero) * scale), group g_idx[k] or k / gs. */
static void dequant_row(const hweight *w, qblas_dtype_t act, int64_t n, float *out)
{
    const int64_t rowb = (w->k + 1) / 2;
    for (int64_t k = 0; k < w->k; k++) {
        int64_t g = w->g_idx ? w->g_idx[k] : w->gs ? k / w->gs : 0;
        int code = (w->codes[n * rowb + k / 2] >> (4 * (k & 1))) & 15;
        int zero = w->zeros ? w->zeros[g * w->n + n] : 8;
        float s = to_f32(w->sdt, w->scales, g * w->n + n);
        out[k] = round_to(act, (float)(code - zero) * s);
    }
}

/* A weight on the device, prepacked by the CUDA handle. */
typedef struct {
    void *codes, *scales, *zeros, *g_idx, *blob;
    qblas_weight_t packed;
} dweight;

static bool upload_and_pack(qblas_handle_t gh, const hweight *w, dweight *d)
{
    size_t rowb = (size_t)(w->k + 1) / 2, gn = (size_t)(w->groups * w->n);
    memset(d, 0, sizeof *d);
    d->codes = dcopy(w->codes, (size_t)w->n * rowb);
    d->scales = dcopy(w->scales, gn * dsize(w->sdt));
    d->zeros = dcopy(w->zeros, gn);
    d->g_idx = dcopy(w->g_idx, (size_t)w->k * 4);
    qblas_weight_t c = canonical(w, d->codes, d->scales, d->zeros, d->g_idx);
    size_t bytes = 0;
    qblas_status_t st = qblas_prepack_size(gh, &c, &bytes);
    expect(st == QBLAS_STATUS_SUCCESS, "prepack_size: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    if (st) return false;
    d->blob = dalloc(bytes);
    st = qblas_prepack(gh, &c, d->blob, bytes, &d->packed, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "prepack: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    CUDA_OK(cudaDeviceSynchronize());
    return st == QBLAS_STATUS_SUCCESS;
}

static void free_dweight(dweight *d)
{
    cudaFree(d->codes), cudaFree(d->scales), cudaFree(d->zeros), cudaFree(d->g_idx), cudaFree(d->blob);
}

/* ---------------------------------------------------------------- one W4A16 GEMM on the GPU */
typedef struct {
    int64_t m, n, k, ldx, ldy;
    int x_off;            /* elements X starts past a 256-byte boundary: 1 makes its rows misaligned */
    qblas_dtype_t act, ydt;
    bool bias;
} gshape;

/* A W4A16 GEMM: X (and bias) uploaded, X placed x_off elements past alignment. */
static void gpu_gemm(qblas_handle_t gh, const gshape *s, const dweight *d, const void *xh, const void *biash,
                     void *y_out, char *kernel)
{
    const size_t xe = dsize(s->act), ye = dsize(s->ydt);
    const size_t xbytes = (size_t)((s->m - 1) * s->ldx + s->k) * xe;
    uint8_t *xd = dalloc(xbytes + 256);
    CUDA_OK(cudaMemcpy(xd + s->x_off * xe, xh, xbytes, cudaMemcpyHostToDevice));
    void *bd = s->bias ? dcopy(biash, (size_t)s->n * ye) : NULL;
    qblas_act_t x = {s->act, xd + s->x_off * xe, s->ldx, QBLAS_SCALE_NONE, NULL, NULL};
    run_guarded(gh, s->m, s->n, s->k, &x, &d->packed, bd, s->ydt, s->ldy, y_out, kernel);
    cudaFree(xd), cudaFree(bd);
}

/* ---------------------------------------------------------------- W4A16 cases */
typedef struct {
    qblas_dtype_t act;
    int gs;
    bool zp, actorder;
} variant;

static const char *base_names[16];
static int n_base_names;

/* The base names of the W4A16 kernels that ran (forced_cases runs each on other shapes). */
static void note_base(const char *name)
{
    note_kernel(name);
    char base[QBLAS_KERNEL_NAME_MAX];
    snprintf(base, sizeof base, "%s", name);
    char *cut;
    if ((cut = strstr(base, "_f32dq"))) *cut = '\0';
    if ((cut = strstr(base, "_splitk"))) *cut = '\0';
    for (int i = 0; i < n_base_names; i++)
        if (strcmp(base_names[i], base) == 0) return;
    if (n_base_names < 16) base_names[n_base_names++] = strdup(base);
}

static void describe(char *buf, size_t len, const char *kind, const variant *v, qblas_dtype_t sdt, const gshape *s)
{
    char g[8];
    snprintf(g, sizeof g, v->gs ? "g%d" : "gK", v->gs);
    snprintf(buf, len, "%s %s s%s %s%s%s m=%lld n=%lld k=%lld y%s%s%s", kind, dn(v->act), dn(sdt), g,
             v->zp ? " zp" : "", v->actorder ? " act" : "", (long long)s->m, (long long)s->n, (long long)s->k,
             dn(s->ydt), s->bias ? " bias" : "", (s->ldx % 8 || s->x_off) ? " xmis" : "");
}

/* Exactness: row r of X is one-hot at column col[r], y f32, so Y[r][n] must
 * equal W[n][col[r]] exactly (one nonzero product per sum, whatever the
 * order or split). m == k: X = I, every weight element is checked; m < k:
 * random columns (a long k with few rows goes through split-K). */
static void exact_case(qblas_handle_t gh, const variant *v, qblas_dtype_t sdt, int64_t m, int64_t n, int64_t k)
{
    char what[160], kernel[QBLAS_KERNEL_NAME_MAX] = "";
    hweight w = {.n = n, .k = k, .gs = v->gs, .sdt = sdt, .zp = v->zp, .actorder = v->actorder, .wide_scales = true};
    gshape s = {.m = m, .n = n, .k = k, .ldx = k, .ldy = n, .act = v->act, .ydt = QBLAS_DTYPE_F32};
    case_begin();
    make_weight(&w);
    describe(what, sizeof what, "exact", v, sdt, &s);
    int64_t *col = xmalloc((size_t)m * sizeof *col);
    void *x = xmalloc((size_t)(m * k) * 2);
    for (int64_t r = 0; r < m; r++) {
        col[r] = m == k ? r : irand(0, k - 1);
        for (int64_t i = 0; i < k; i++) from_f32(v->act, x, r * k + i, i == col[r] ? 1.0f : 0.0f);
    }
    float *y = xmalloc((size_t)(m * n) * 4), *row = xmalloc((size_t)k * 4);
    dweight d;
    if (upload_and_pack(gh, &w, &d)) {
        gpu_gemm(gh, &s, &d, x, NULL, y, kernel);
        for (int64_t nn = 0; nn < n && g_case_ok; nn++) {
            dequant_row(&w, v->act, nn, row);
            for (int64_t r = 0; r < m; r++)
                if (!(y[r * n + nn] == row[col[r]])) {
                    expect(false, "W[%lld][%lld]: gpu %a, format %a", (long long)nn, (long long)col[r], y[r * n + nn],
                           row[col[r]]);
                    break;
                }
        }
        note_base(kernel);
    }
    free_dweight(&d);
    free(x), free(y), free(row), free(col);
    free_weight(&w);
    case_end(what, kernel);
}

/* Random GEMM: GPU vs the CPU oracle and vs a float64 sum.
 *
 * Tolerance. With S = sum_k |x_k w_k| + |bias| (the weights as dequantized,
 * identical on both sides, so every product is the same exact number):
 *  - oracle: fp32 sums of K products plus the bias, round to nearest:
 *      |err| <= gamma_{K+1}(2^-24) * S;
 *  - GPU: tensor-core fp32 accumulation (its adds may truncate rather than
 *    round: < 1 ulp each, so u = 2^-23), one accumulator add per k16 step,
 *    up to 32 split-K partial sums, the bias: at most K + K/16 + 34 adds,
 *      |err| <= gamma_{K+K/16+34}(2^-23) * S;
 *  - each side then rounds its own fp32 result to the output type once:
 *    half an ulp each at the largest magnitude either can have.
 * vs float64: the GPU bound plus one half ulp. */
static void random_case(qblas_handle_t gh, qblas_handle_t cpu, const variant *v, qblas_dtype_t sdt, const gshape *s)
{
    char what[160], kernel[QBLAS_KERNEL_NAME_MAX] = "";
    hweight w = {.n = s->n, .k = s->k, .gs = v->gs, .sdt = sdt, .zp = v->zp, .actorder = v->actorder};
    case_begin();
    describe(what, sizeof what, "gemm", v, sdt, s);
    make_weight(&w);
    const size_t xe = dsize(s->act), ye = dsize(s->ydt);
    const int64_t xelems = (s->m - 1) * s->ldx + s->k, yelems = s->m * s->ldy;
    void *x = xmalloc((size_t)xelems * xe), *bias = s->bias ? xmalloc((size_t)s->n * ye) : NULL;
    for (int64_t i = 0; i < xelems; i++) from_f32(s->act, x, i, (float)uni(-1.0, 1.0));
    fill_bias(s->ydt, bias, s->n);
    void *ycpu = xmalloc((size_t)yelems * ye), *ygpu = xmalloc((size_t)yelems * ye);

    /* the oracle, on the canonical weight */
    qblas_weight_t cw = canonical(&w, w.codes, w.scales, w.zeros, w.g_idx);
    qblas_act_t xa = {s->act, x, s->ldx, QBLAS_SCALE_NONE, NULL, NULL};
    const qblas_status_t st = run_oracle(cpu, s->m, s->n, s->k, &xa, &cw, bias, s->ydt, ycpu, s->ldy);

    dweight d;
    if (!st && upload_and_pack(gh, &w, &d)) {
        gpu_gemm(gh, s, &d, x, bias, ygpu, kernel);
        note_base(kernel);
        float *xf = xmalloc((size_t)(s->m * s->k) * 4), *row = xmalloc((size_t)s->k * 4);
        for (int64_t m = 0; m < s->m; m++)
            for (int64_t k = 0; k < s->k; k++) xf[m * s->k + k] = to_f32(s->act, x, m * s->ldx + k);
        const double gpu_rel = gamma_n((double)(s->k + s->k / 16 + 34), 0x1p-23);
        const double cpu_rel = gamma_n((double)(s->k + 1), 0x1p-24);
        for (int64_t n = 0; n < s->n && g_case_ok; n++) {
            dequant_row(&w, s->act, n, row);
            const double b = s->bias ? to_f32(s->ydt, bias, n) : 0.0;
            for (int64_t m = 0; m < s->m && g_case_ok; m++) {
                double sum = b, S = fabs(b);
                for (int64_t k = 0; k < s->k; k++) {
                    double p = (double)xf[m * s->k + k] * (double)row[k];
                    sum += p, S += fabs(p);
                }
                const double g = to_f32(s->ydt, ygpu, m * s->ldy + n), c = to_f32(s->ydt, ycpu, m * s->ldy + n);
                expect_near(s->ydt, g, c, sum, S, gpu_rel, cpu_rel, m, n); /* a failure ends both loops */
            }
        }
        free(xf), free(row);
    }
    if (!st) free_dweight(&d);
    free(x), free(bias), free(ycpu), free(ygpu);
    free_weight(&w);
    case_end(what, kernel);
}

/* ---------------------------------------------------------------- case lists */

static qblas_dtype_t scale_dtype(qblas_dtype_t act, int i)
{
    /* native (same as act), fp32 path from f32, fp32 path from the other 16-bit type */
    const qblas_dtype_t other = act == QBLAS_DTYPE_F16 ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16;
    return i % 3 == 0 ? act : i % 3 == 1 ? QBLAS_DTYPE_F32 : other;
}

/* K choices that are and are not multiples of the k64 tile, for a group size */
static int64_t pick_k(int gs, int which)
{
    const int64_t unit = gs ? gs : 16;
    switch (which % 4) {
    case 0: return unit;                       /* one group / one k16 step */
    case 1: return 3 * (gs ? gs : 32);         /* 96 for g32: a half k64 tile at the end */
    case 2: return 1024 + (gs ? gs : 48);      /* several tiles, tail */
    default: return 4096;                      /* enough tiles for split-K */
    }
}

static void shape_for(const variant *v, int64_t m, int i, gshape *s, int64_t limit)
{
    static const int64_t ns[] = {4096, 7, 300, 1, 1000, 33, 256, 513};
    s->m = m;
    s->n = ns[i % 8];
    s->k = pick_k(v->gs, i / 2 + (int)m);
    /* keep the host oracle cheap: shrink n, then k, until m*n*k <= limit */
    while (s->m * s->n * s->k > limit && s->n > 1) s->n = (s->n + 1) / 2;
    while (s->m * s->n * s->k > limit && s->k > (v->gs ? v->gs : 16) && s->k % (2 * (v->gs ? v->gs : 16)) == 0)
        s->k /= 2;
    s->act = v->act;
    s->ydt = kY[i % 3];
    s->bias = i % 2 == 1;
    s->ldx = s->k + (i % 4 == 1 ? 8 : i % 4 == 3 ? 3 : 0); /* +3: rows not 16-byte aligned */
    s->x_off = i % 5 == 2;                                   /* X pointer 2 bytes past alignment */
    s->ldy = s->n + (i % 2 ? 5 : 0);
}

static int all_variants(variant *out)
{
    static const int gss[] = {32, 64, 128, 0};
    int n = 0;
    for (int a = 0; a < 2; a++)
        for (int g = 0; g < 4; g++)
            for (int zp = 0; zp < 2; zp++)
                for (int ao = 0; ao < (gss[g] ? 2 : 1); ao++)
                    out[n++] = (variant){a ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16, gss[g], zp, ao};
    return n;
}

static void w4a16_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    static const int64_t full_m[] = {1, 2, 3, 7, 16, 17, 31, 64, 100, 256, 1000};
    static const int64_t quick_m[] = {1, 17, 100};
    const int64_t *ms = g_quick ? quick_m : full_m;
    const int nm = g_quick ? 3 : 11;
    const int64_t limit = g_quick ? 2000000 : 16000000;
    variant vs[32];
    int nv = all_variants(vs);

    printf("W4A16 exactness (one-hot X, weight elements bit for bit):\n");
    for (int i = 0; i < nv; i++) {
        for (int sd = 0; sd < (g_quick ? 1 : 3); sd++) {
            int64_t k = vs[i].gs ? 3 * vs[i].gs : 80; /* X = I; 96 and 80 end in half a k64 tile */
            if (g_quick && k > 96) k = vs[i].gs;
            exact_case(gh, &vs[i], scale_dtype(vs[i].act, sd + i), k, 300, k);
        }
        /* few rows, long k: split-K and its reduction */
        exact_case(gh, &vs[i], scale_dtype(vs[i].act, i + 1), 5, 300, g_quick ? 1024 : 4096);
    }

    printf("W4A16 random GEMMs vs the oracle:\n");
    for (int i = 0; i < nv; i++)
        for (int j = 0; j < nm; j++) {
            gshape s;
            shape_for(&vs[i], ms[j], i + j, &s, limit);
            random_case(gh, cpu, &vs[i], scale_dtype(vs[i].act, i + 2 * j), &s);
        }
    if (!g_quick) {
        /* the largest M once, on a small n and k */
        for (int a = 0; a < 2; a++) {
            variant v = {a ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16, 128, true, false};
            gshape s = {4096, 96, 128, 128, 96, 0, v.act, QBLAS_DTYPE_F16, true};
            random_case(gh, cpu, &v, v.act, &s);
        }
    }
}

/* Every kernel the dispatcher chose, forced onto other M (QBLAS_CUDA_KERNEL). */
static void forced_cases(qblas_handle_t cpu)
{
    static const int64_t ms[] = {1, 17, 100};
    printf("W4A16 kernels forced with QBLAS_CUDA_KERNEL:\n");
    for (int b = 0; b < n_base_names; b++) {
        qblas_handle_t fh = NULL;
        setenv(kernel_env(), base_names[b], 1);
        qblas_status_t st = qblas_create(&fh, gpu_backend(), 0);
        unsetenv(kernel_env());
        case_begin();
        expect(st == QBLAS_STATUS_SUCCESS, "create with %s=%s: %s", kernel_env(), base_names[b], qblas_status_string(st));
        case_end("forced handle", base_names[b]);
        if (st) continue;
        const qblas_dtype_t act = strstr(base_names[b], "_bf16_") ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16;
        variant ev = {act, 64, true, true};
        exact_case(fh, &ev, scale_dtype(act, b), 192, 300, 192);
        for (int j = 0; j < (g_quick ? 1 : 3); j++) {
            variant v = {act, j == 1 ? 32 : j == 2 ? 0 : 128, j != 0, j == 1};
            gshape s;
            shape_for(&v, ms[j], 7 * b + j, &s, g_quick ? 1000000 : 8000000);
            random_case(fh, cpu, &v, scale_dtype(act, j + b), &s);
        }
        qblas_destroy(fh);
    }
}

/* ---------------------------------------------------------------- bad inputs */

static void error_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    printf("W4A16 bad inputs (status, nothing written):\n");
    variant v = {QBLAS_DTYPE_F16, 32, true, true};
    hweight w = {.n = 40, .k = 64, .gs = 32, .sdt = QBLAS_DTYPE_F16, .zp = true, .actorder = true};
    make_weight(&w);
    const size_t ybytes = 4 * 40 * 2;
    uint8_t *y = dalloc(ybytes), *x = dalloc(4 * 64 * 2);
    CUDA_OK(cudaMemset(x, 0, 4 * 64 * 2));
    qblas_act_t xa = {QBLAS_DTYPE_F16, x, 64, QBLAS_SCALE_NONE, NULL, NULL};
    qblas_kernel_info_t info;
    dweight d;
    (void)v;

    case_begin();
    CUDA_OK(cudaMemset(y, 0xFF, ybytes));
    if (upload_and_pack(gh, &w, &d)) {
        /* canonical weights: prepack first */
        qblas_weight_t c = canonical(&w, d.codes, d.scales, d.zeros, d.g_idx);
        EXPECT_STATUS(qblas_gemm_query(gh, 4, 40, 64, &xa, &c, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_NOT_SUPPORTED);
        EXPECT_STATUS(qblas_gemm(gh, 4, 40, 64, &xa, &c, NULL, QBLAS_DTYPE_F16, y, 40, NULL, 0, NULL),
                      QBLAS_STATUS_NOT_SUPPORTED);
        /* a CPU blob on the GPU, the GPU layout on the CPU */
        qblas_weight_t blob = d.packed;
        blob.layout = QBLAS_LAYOUT_CPU_BLOB;
        EXPECT_STATUS(qblas_gemm(gh, 4, 40, 64, &xa, &blob, NULL, QBLAS_DTYPE_F16, y, 40, NULL, 0, NULL),
                      QBLAS_STATUS_ARCH_MISMATCH);
        qblas_act_t hx = {QBLAS_DTYPE_F16, w.codes, 64, QBLAS_SCALE_NONE, NULL, NULL};
        EXPECT_STATUS(qblas_gemm_query(cpu, 4, 40, 64, &hx, &d.packed, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_ARCH_MISMATCH);
        /* too small a workspace (act-order needs one for the gathered X) */
        EXPECT_STATUS(qblas_gemm_query(gh, 4, 40, 64, &xa, &d.packed, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_SUCCESS);
        expect(info.workspace_bytes > 0, "act-order needs a workspace");
        void *ws = dalloc(info.workspace_bytes);
        EXPECT_STATUS(qblas_gemm(gh, 4, 40, 64, &xa, &d.packed, NULL, QBLAS_DTYPE_F16, y, 40, ws,
                                 info.workspace_bytes - 1, NULL),
                      QBLAS_STATUS_INSUFFICIENT_WORKSPACE);
        /* a workspace at any address: one byte past the allocation's start gives the aligned run's bytes */
        uint8_t *ws1 = dalloc(info.workspace_bytes + 1), *y1 = dalloc(ybytes), *y2 = dalloc(ybytes);
        EXPECT_STATUS(qblas_gemm(gh, 4, 40, 64, &xa, &d.packed, NULL, QBLAS_DTYPE_F16, y1, 40, ws,
                                 info.workspace_bytes, NULL),
                      QBLAS_STATUS_SUCCESS);
        EXPECT_STATUS(qblas_gemm(gh, 4, 40, 64, &xa, &d.packed, NULL, QBLAS_DTYPE_F16, y2, 40, ws1 + 1,
                                 info.workspace_bytes, NULL),
                      QBLAS_STATUS_SUCCESS);
        uint8_t *h1 = xmalloc(ybytes), *h2 = xmalloc(ybytes);
        CUDA_OK(cudaMemcpy(h1, y1, ybytes, cudaMemcpyDeviceToHost));
        CUDA_OK(cudaMemcpy(h2, y2, ybytes, cudaMemcpyDeviceToHost));
        expect(memcmp(h1, h2, ybytes) == 0, "a workspace at +1 changes Y");
        free(h1), free(h2);
        cudaFree(ws), cudaFree(ws1), cudaFree(y1), cudaFree(y2);
        /* k not a multiple of 16: NOT_SUPPORTED from every entry point */
        qblas_weight_t odd = d.packed;
        odd.k = 56, odd.group_size = 0, odd.g_idx = NULL;
        EXPECT_STATUS(qblas_gemm_query(gh, 4, 40, 56, &xa, &odd, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_NOT_SUPPORTED);
        EXPECT_STATUS(qblas_gemm(gh, 4, 40, 56, &xa, &odd, NULL, QBLAS_DTYPE_F16, y, 40, NULL, 0, NULL),
                      QBLAS_STATUS_NOT_SUPPORTED);
        qblas_weight_t codd = canonical(&w, d.codes, d.scales, d.zeros, NULL);
        codd.k = 56, codd.group_size = 0;
        size_t bytes;
        EXPECT_STATUS(qblas_prepack_size(gh, &codd, &bytes), QBLAS_STATUS_NOT_SUPPORTED);
        /* K = 2^57 (valid descriptors, nothing read): the CUDA limits answer before any workspace product */
        qblas_weight_t huge = d.packed;
        huge.k = (int64_t)1 << 57, huge.group_size = 0, huge.g_idx = NULL;
        qblas_act_t hxa = xa;
        hxa.ld = huge.k;
        EXPECT_STATUS(qblas_gemm_query(gh, 1, 40, huge.k, &hxa, &huge, QBLAS_DTYPE_F16, &info),
                      QBLAS_STATUS_NOT_SUPPORTED);
    }
    expect_untouched(y, ybytes, "Y");
    case_end("gemm: canonical / foreign layout / workspace (size, any address) / k % 16 / k = 2^57", "");

    /* prepack content checks on the device: zero > 15, g_idx out of range, unbalanced groups (each: the call
     * succeeds, dst stays untouched, qblas_device_status tells); host memory (synchronous INVALID_VALUE) */
    case_begin();
    {
        size_t bytes = 0;
        qblas_weight_t c = canonical(&w, d.codes, d.scales, d.zeros, d.g_idx);
        EXPECT_STATUS(qblas_prepack_size(gh, &c, &bytes), QBLAS_STATUS_SUCCESS);
        uint8_t *dst = dalloc(bytes);
        qblas_weight_t out;
        CUDA_OK(cudaMemset(dst, 0xFF, bytes));
        uint8_t *bad_z = xmalloc((size_t)(w.groups * w.n));
        memcpy(bad_z, w.zeros, (size_t)(w.groups * w.n));
        bad_z[w.groups * w.n - 1] = 16;
        void *dz = dcopy(bad_z, (size_t)(w.groups * w.n));
        qblas_weight_t cz = canonical(&w, d.codes, d.scales, dz, d.g_idx);
        char why[64];
        EXPECT_STATUS(qblas_prepack(gh, &cz, dst, bytes, &out, NULL), QBLAS_STATUS_SUCCESS);
        snprintf(why, sizeof why, "zeros[%lld] = 16", (long long)(w.groups * w.n - 1));
        expect_device_status(gh, QBLAS_STATUS_INVALID_VALUE, why);
        int32_t *bad_g = xmalloc((size_t)w.k * 4);
        memcpy(bad_g, w.g_idx, (size_t)w.k * 4);
        bad_g[5] = (int32_t)w.groups, bad_g[9] = -1; /* out of range: the first is named */
        void *dg = dcopy(bad_g, (size_t)w.k * 4);
        qblas_weight_t cg = canonical(&w, d.codes, d.scales, d.zeros, dg);
        EXPECT_STATUS(qblas_prepack(gh, &cg, dst, bytes, &out, NULL), QBLAS_STATUS_SUCCESS);
        expect_device_status(gh, QBLAS_STATUS_INVALID_VALUE, "g_idx[5]");
        for (int64_t k = 0; k < w.k; k++) bad_g[k] = k < 40 ? 0 : 1; /* valid groups, 40 + 24 members */
        CUDA_OK(cudaMemcpy(dg, bad_g, (size_t)w.k * 4, cudaMemcpyHostToDevice));
        EXPECT_STATUS(qblas_prepack(gh, &cg, dst, bytes, &out, NULL), QBLAS_STATUS_SUCCESS);
        expect_device_status(gh, QBLAS_STATUS_NOT_SUPPORTED, "group 0 does not");
        qblas_weight_t ch = canonical(&w, w.codes, d.scales, d.zeros, d.g_idx); /* host codes */
        EXPECT_STATUS(qblas_prepack(gh, &ch, dst, bytes, &out, NULL), QBLAS_STATUS_INVALID_VALUE);
        expect_device_status(gh, QBLAS_STATUS_SUCCESS, NULL);
        expect_untouched(dst, bytes, "prepack dst");
        free(bad_z), free(bad_g);
        cudaFree(dz), cudaFree(dg), cudaFree(dst);
    }
    case_end("prepack: zeros > 15 / g_idx range / unbalanced (device status) / host ptr", "");

    /* operations of later issues */
    case_begin();
    {
        qblas_handle_t bad = NULL;
        setenv(kernel_env(), "no_such_kernel", 1);
        EXPECT_STATUS(qblas_create(&bad, gpu_backend(), 0), QBLAS_STATUS_INVALID_VALUE);
        unsetenv(kernel_env());
        expect(bad == NULL, "failed create left a handle");
        EXPECT_STATUS(qblas_create(&bad, gpu_backend(), 4096), QBLAS_STATUS_ARCH_MISMATCH);
    }
    case_end("QBLAS_CUDA_KERNEL / device", "");

    free_dweight(&d);
    cudaFree(x), cudaFree(y);
    free_weight(&w);
}

void qbg_w4a16(qblas_handle_t gh, qblas_handle_t cpu)
{
    w4a16_cases(gh, cpu);
    forced_cases(cpu);
    error_cases(gh, cpu);
}
