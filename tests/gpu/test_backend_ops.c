/* test_backend_ops.c - the GPU backend against the CPU oracle, case by case
 * (ggml's test-backend-ops idea): fresh random inputs on the host, the same
 * call on a CPU handle and on a CUDA handle, outputs compared.
 *
 *   test_backend_ops           every case
 *   test_backend_ops --quick   a reduced list (for compute-sanitizer); also QBLAS_GPU_QUICK=1
 *
 * Exit 0: all passed; 1: a failure; 77: no usable GPU (ctest reports it
 * skipped). The seed is printed first; QBLAS_TEST_SEED=<seed> repeats a run.
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
 *
 * W8A8 INT8 (canonical weights): M in {1, 3, 16, 17, 100, 256, 1000} (every
 * kernel configuration of the registry), N and K on and off the n128 / k64
 * tiles, PER_TENSOR / PER_ROW scales on both sides, with and without zero
 * points and bias, y f16/bf16/f32, ldx and ldy gaps; Y equal bit for bit to
 * the oracle and to the definition evaluated here; k % 16 != 0 and
 * misaligned X / W return NOT_SUPPORTED with Y untouched.
 *
 * Activation quantization (qblas_quantize_act): every q dtype and scale
 * mode, X in f32/f16/bf16, odd and round m and k (a long-row path past
 * k = 16384 included), ldx/ldq gaps; codes, scales and zero points equal to
 * the oracle's bit for bit; the ldq gap and guard bands stay poisoned; rows
 * all zero, all positive/negative, with +-inf/+-NaN, subnormal and near
 * FLT_MAX; bad static scales return INVALID_VALUE with q untouched.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, strdup */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda_runtime_api.h>

#include "common/qblas_numeric.h"
#include "qblas.h"
#include "../qb_test_qact.h" /* the activation-quantization variants, shared with the CPU test */

/* ---------------------------------------------------------------- basics */
static uint64_t g_seed, g_rng_state;
static int g_pass, g_fail;
static bool g_quick;

static uint64_t rnd(void)
{
    uint64_t z = (g_rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double uni(double lo, double hi) { return lo + (hi - lo) * ((double)(rnd() >> 11) * 0x1p-53); }
static int64_t irand(int64_t lo, int64_t hi) { return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1)); }

static void fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FATAL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " [seed %llu]\n", (unsigned long long)g_seed);
    va_end(ap);
    exit(1);
}

#define CUDA_OK(call)                                                                              \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) fatal("%s:%d %s: %s", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
    } while (0)

/* A failed expectation prints once and marks the running case failed. */
static bool g_case_ok;
static int g_case_msgs;
static void expect(bool ok, const char *fmt, ...)
{
    if (ok) return;
    g_case_ok = false;
    if (g_case_msgs++ >= 8) return;
    va_list ap;
    va_start(ap, fmt);
    printf("    FAIL: ");
    vprintf(fmt, ap);
    printf(" [seed %llu]\n", (unsigned long long)g_seed);
    va_end(ap);
}
static void case_begin(void) { g_case_ok = true, g_case_msgs = 0; }
static void case_end(const char *what, const char *kernel)
{
    g_case_ok ? g_pass++ : g_fail++;
    if (!g_case_ok || !g_quick) printf("  %-64s %-48s %s\n", what, kernel ? kernel : "", g_case_ok ? "OK" : "FAIL");
}
#define EXPECT_STATUS(call, want)                                                                     \
    do {                                                                                              \
        qblas_status_t st_ = (call);                                                                  \
        expect(st_ == (want), "%s -> %s, want %s", #call, qblas_status_string(st_), qblas_status_string(want)); \
    } while (0)

static size_t dsize(qblas_dtype_t t) { return t == QBLAS_DTYPE_F32 ? 4 : 2; }

static float to_f32(qblas_dtype_t t, const void *p, int64_t i)
{
    switch (t) {
    case QBLAS_DTYPE_F16: return qb_f16_to_f32(((const uint16_t *)p)[i]);
    case QBLAS_DTYPE_BF16: return qb_bf16_to_f32(((const uint16_t *)p)[i]);
    default: return ((const float *)p)[i];
    }
}
static void from_f32(qblas_dtype_t t, void *p, int64_t i, float v)
{
    switch (t) {
    case QBLAS_DTYPE_F16: ((uint16_t *)p)[i] = qb_f32_to_f16(v); break;
    case QBLAS_DTYPE_BF16: ((uint16_t *)p)[i] = qb_f32_to_bf16(v); break;
    default: ((float *)p)[i] = v; break;
    }
}
static float round_to(qblas_dtype_t t, float v)
{
    uint16_t b;
    if (t == QBLAS_DTYPE_F32) return v;
    from_f32(t, &b, 0, v);
    return to_f32(t, &b, 0);
}
/* half an ulp of dtype t at magnitude a (subnormal floor included) */
static double half_ulp(qblas_dtype_t t, double a)
{
    int mant = t == QBLAS_DTYPE_F16 ? 10 : t == QBLAS_DTYPE_BF16 ? 7 : 23;
    double min_normal = t == QBLAS_DTYPE_F16 ? 0x1p-14 : 0x1p-126;
    int e;
    a = fabs(a) < min_normal ? min_normal : fabs(a);
    frexp(a, &e);
    return ldexp(1.0, e - mant - 2);
}
static double gamma_n(double n, double u) { return n * u / (1.0 - n * u); }
static const char *dn(qblas_dtype_t t) { return qblas_dtype_name(t); }

static void *dalloc(size_t bytes)
{
    void *p = NULL;
    CUDA_OK(cudaMalloc(&p, bytes ? bytes : 1));
    return p;
}
static void *dcopy(const void *h, size_t bytes)
{
    if (!h) return NULL;
    void *d = dalloc(bytes);
    CUDA_OK(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice));
    return d;
}
static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) fatal("out of host memory (%zu bytes)", bytes);
    return p;
}
static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF) return false;
    return true;
}
/* device bytes [p, p+n) still 0xFF? */
static bool dev_all_ff(const void *p, size_t n)
{
    uint8_t *h = xmalloc(n);
    CUDA_OK(cudaMemcpy(h, p, n, cudaMemcpyDeviceToHost));
    bool ok = all_ff(h, n);
    free(h);
    return ok;
}

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

/* ---------------------------------------------------------------- one GEMM on the GPU */
typedef struct {
    int64_t m, n, k, ldx, ldy;
    int x_off;            /* elements X starts past a 256-byte boundary: 1 makes its rows misaligned */
    qblas_dtype_t act, ydt;
    bool bias;
} gshape;

#define GUARD 256

/* Run Y = X.W^T (+bias) twice on the GPU into poisoned, guarded buffers;
 * check guards, the ldy gap, run-to-run identity and the kernel name.
 * x, w and bias_d are device-side descriptors/pointers; y_out: m x ldy
 * elements of ydt (the first run). */
static void run_guarded(qblas_handle_t gh, int64_t m, int64_t n, int64_t k, const qblas_act_t *x,
                        const qblas_weight_t *w, const void *bias_d, qblas_dtype_t ydt, int64_t ldy, void *y_out,
                        char *kernel)
{
    const size_t ye = dsize(ydt), ybytes = (size_t)(m * ldy) * ye;
    qblas_kernel_info_t info;
    qblas_status_t st = qblas_gemm_query(gh, m, n, k, x, w, ydt, &info);
    expect(st == QBLAS_STATUS_SUCCESS, "gemm_query: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    kernel[0] = '\0';
    if (st) return;
    snprintf(kernel, QBLAS_KERNEL_NAME_MAX, "%s", info.kernel_name);
    void *ws = info.workspace_bytes ? dalloc(info.workspace_bytes) : NULL;
    uint8_t *yd[2], *yh[2];
    for (int r = 0; r < 2; r++) {
        yd[r] = dalloc(ybytes + 2 * GUARD);
        CUDA_OK(cudaMemset(yd[r], 0xFF, ybytes + 2 * GUARD));
        st = qblas_gemm(gh, m, n, k, x, w, bias_d, ydt, yd[r] + GUARD, ldy, ws, info.workspace_bytes, NULL);
        expect(st == QBLAS_STATUS_SUCCESS, "gemm: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
        CUDA_OK(cudaDeviceSynchronize());
        yh[r] = xmalloc(ybytes + 2 * GUARD);
        CUDA_OK(cudaMemcpy(yh[r], yd[r], ybytes + 2 * GUARD, cudaMemcpyDeviceToHost));
        expect(all_ff(yh[r], GUARD) && all_ff(yh[r] + GUARD + ybytes, GUARD), "a write outside Y (guard band)");
        for (int64_t i = 0; i < m && ldy > n; i++)
            if (!all_ff(yh[r] + GUARD + (size_t)(i * ldy + n) * ye, (size_t)(ldy - n) * ye)) {
                expect(false, "row %lld: a write between n and ldy", (long long)i);
                break;
            }
    }
    expect(memcmp(yh[0], yh[1], ybytes + 2 * GUARD) == 0, "two runs of the same call differ");
    char last[QBLAS_KERNEL_NAME_MAX];
    expect(qblas_last_kernel(gh, last, sizeof last) == QBLAS_STATUS_SUCCESS && strcmp(last, info.kernel_name) == 0,
           "last_kernel '%s' != query '%s'", last, info.kernel_name);
    memcpy(y_out, yh[0] + GUARD, ybytes);
    for (int r = 0; r < 2; r++) free(yh[r]), cudaFree(yd[r]);
    cudaFree(ws);
}

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

static void note_kernel(const char *name)
{
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
        note_kernel(kernel);
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
    for (int64_t i = 0; s->bias && i < s->n; i++) from_f32(s->ydt, bias, i, (float)uni(-2.0, 2.0));
    void *ycpu = xmalloc((size_t)yelems * ye), *ygpu = xmalloc((size_t)yelems * ye);
    memset(ycpu, 0xFF, (size_t)yelems * ye);

    /* the oracle, on the canonical weight */
    qblas_weight_t cw = canonical(&w, w.codes, w.scales, w.zeros, w.g_idx);
    qblas_act_t xa = {s->act, x, s->ldx, QBLAS_SCALE_NONE, NULL, NULL};
    qblas_kernel_info_t ci;
    qblas_status_t st = qblas_gemm_query(cpu, s->m, s->n, s->k, &xa, &cw, s->ydt, &ci);
    void *cws = st ? NULL : xmalloc(ci.workspace_bytes);
    if (!st) st = qblas_gemm(cpu, s->m, s->n, s->k, &xa, &cw, bias, s->ydt, ycpu, s->ldy, cws, ci.workspace_bytes, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "cpu oracle: %s (%s)", qblas_status_string(st), qblas_last_error(cpu));
    free(cws);

    dweight d;
    if (!st && upload_and_pack(gh, &w, &d)) {
        gpu_gemm(gh, s, &d, x, bias, ygpu, kernel);
        note_kernel(kernel);
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
                const double eg = gpu_rel * S, ec = cpu_rel * S;
                const double tol_cpu = eg + ec + 2.0 * half_ulp(s->ydt, fabs(c) + eg + ec);
                const double tol_64 = eg + half_ulp(s->ydt, fabs(sum) + eg);
                if (!(g == g && fabs(g - c) <= tol_cpu))
                    expect(false, "y[%lld][%lld]: gpu %.9g, oracle %.9g, |diff| %.3g > tol %.3g", (long long)m,
                           (long long)n, g, c, fabs(g - c), tol_cpu);
                else if (!(fabs(g - sum) <= tol_64))
                    expect(false, "y[%lld][%lld]: gpu %.9g, float64 %.9g, |diff| %.3g > tol %.3g", (long long)m,
                           (long long)n, g, sum, fabs(g - sum), tol_64);
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
static const qblas_dtype_t kY[3] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_F32};

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
        setenv("QBLAS_CUDA_KERNEL", base_names[b], 1);
        qblas_status_t st = qblas_create(&fh, QBLAS_BACKEND_CUDA, 0);
        unsetenv("QBLAS_CUDA_KERNEL");
        case_begin();
        expect(st == QBLAS_STATUS_SUCCESS, "create with QBLAS_CUDA_KERNEL=%s: %s", base_names[b], qblas_status_string(st));
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
static void expect_untouched(const void *dptr, size_t bytes, const char *what)
{
    expect(dev_all_ff(dptr, bytes), "%s was written by a failing call", what);
}

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
        cudaFree(ws);
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
    }
    expect_untouched(y, ybytes, "Y");
    case_end("gemm: canonical / foreign layout / workspace / k % 16", "");

    /* prepack content checks: zero > 15, g_idx out of range, unbalanced groups, host memory */
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
        EXPECT_STATUS(qblas_prepack(gh, &cz, dst, bytes, &out, NULL), QBLAS_STATUS_INVALID_VALUE);
        int32_t *bad_g = xmalloc((size_t)w.k * 4);
        memcpy(bad_g, w.g_idx, (size_t)w.k * 4);
        bad_g[5] = (int32_t)w.groups; /* out of range */
        void *dg = dcopy(bad_g, (size_t)w.k * 4);
        qblas_weight_t cg = canonical(&w, d.codes, d.scales, d.zeros, dg);
        EXPECT_STATUS(qblas_prepack(gh, &cg, dst, bytes, &out, NULL), QBLAS_STATUS_INVALID_VALUE);
        for (int64_t k = 0; k < w.k; k++) bad_g[k] = k < 40 ? 0 : 1; /* valid groups, 40 + 24 members */
        CUDA_OK(cudaMemcpy(dg, bad_g, (size_t)w.k * 4, cudaMemcpyHostToDevice));
        EXPECT_STATUS(qblas_prepack(gh, &cg, dst, bytes, &out, NULL), QBLAS_STATUS_NOT_SUPPORTED);
        qblas_weight_t ch = canonical(&w, w.codes, d.scales, d.zeros, d.g_idx); /* host codes */
        EXPECT_STATUS(qblas_prepack(gh, &ch, dst, bytes, &out, NULL), QBLAS_STATUS_INVALID_VALUE);
        CUDA_OK(cudaDeviceSynchronize());
        expect_untouched(dst, bytes, "prepack dst");
        free(bad_z), free(bad_g);
        cudaFree(dz), cudaFree(dg), cudaFree(dst);
    }
    case_end("prepack: zeros > 15 / g_idx range / unbalanced / host ptr", "");

    /* operations of later issues */
    case_begin();
    {
        qblas_handle_t bad = NULL;
        setenv("QBLAS_CUDA_KERNEL", "no_such_kernel", 1);
        EXPECT_STATUS(qblas_create(&bad, QBLAS_BACKEND_CUDA, 0), QBLAS_STATUS_INVALID_VALUE);
        unsetenv("QBLAS_CUDA_KERNEL");
        expect(bad == NULL, "failed create left a handle");
        EXPECT_STATUS(qblas_create(&bad, QBLAS_BACKEND_CUDA, 4096), QBLAS_STATUS_ARCH_MISMATCH);
    }
    case_end("QBLAS_CUDA_KERNEL / device", "");

    free_dweight(&d);
    cudaFree(x), cudaFree(y);
    free_weight(&w);
}

/* ---------------------------------------------------------------- W8A8 INT8 */
/* INT8 GEMMs compare BIT FOR BIT, against the oracle and against the format
 * definition evaluated here: acc = sum_k (x - zx) * w is an integer
 * (|acc| <= 255 * 128 * k < 2^31), exact on every side whatever the order
 * of the sums or the zero-point algebra; after it the definition is a fixed
 * sequence of correctly rounded fp32 operations, ((float)acc * sx) * sw,
 * then + bias (only with a bias), then one rounding to y's dtype, so there
 * is no freedom left for any result to differ. */
typedef struct {
    int64_t m, n, k, ldx, ldy;
    bool x_row, w_row, zp, bias;
    qblas_dtype_t ydt;
} i8shape;

/* The definition (docs/FORMATS.md, INT8 GEMM); the fp32 steps are separate
 * statements on floats (C11, FLT_EVAL_METHOD 0), one rounding each. */
static float i8_expected(const i8shape *s, const int8_t *x, const int8_t *w, const float *sx, const float *sw,
                         const int32_t *zx, const void *bias, int64_t m, int64_t n)
{
    int64_t acc = 0;
    const int64_t z = zx ? zx[m] : 0;
    for (int64_t k = 0; k < s->k; k++) acc += ((int64_t)x[m * s->ldx + k] - z) * w[n * s->k + k];
    float v = (float)(int32_t)acc;
    v = v * (s->x_row ? sx[m] : sx[0]);
    v = v * (s->w_row ? sw[n] : sw[0]);
    if (bias) v = v + to_f32(s->ydt, bias, n);
    return round_to(s->ydt, v);
}

static float signed_uni(double lo, double hi) { return (float)((rnd() & 1) ? uni(lo, hi) : -uni(lo, hi)); }

static void int8_case(qblas_handle_t gh, qblas_handle_t cpu, const i8shape *s)
{
    char what[160], kernel[QBLAS_KERNEL_NAME_MAX] = "";
    snprintf(what, sizeof what, "int8 m=%lld n=%lld k=%lld ldx=%lld sx:%s sw:%s%s y%s%s%s", (long long)s->m,
             (long long)s->n, (long long)s->k, (long long)s->ldx, s->x_row ? "row" : "tensor",
             s->w_row ? "row" : "tensor", s->zp ? " zp" : "", dn(s->ydt), s->bias ? " bias" : "", s->ldy > s->n ? " ldy+" : "");
    case_begin();
    const size_t ye = dsize(s->ydt), xn = (size_t)(s->m * s->ldx), wn = (size_t)(s->n * s->k);
    const int64_t nsx = s->x_row ? s->m : 1, nsw = s->w_row ? s->n : 1, yelems = s->m * s->ldy;
    int8_t *x = xmalloc(xn), *w = xmalloc(wn);
    float *sx = xmalloc((size_t)nsx * 4), *sw = xmalloc((size_t)nsw * 4);
    int32_t *zx = s->zp ? xmalloc((size_t)s->m * 4) : NULL;
    void *bias = s->bias ? xmalloc((size_t)s->n * ye) : NULL;
    for (size_t i = 0; i < xn; i++) x[i] = (int8_t)rnd(); /* the ldx gap too: it must never be read */
    for (size_t i = 0; i < wn; i++) w[i] = (int8_t)rnd();
    for (int64_t i = 0; i < nsx; i++) sx[i] = signed_uni(0.005, 0.02);
    for (int64_t i = 0; i < nsw; i++) sw[i] = signed_uni(0.005, 0.02);
    for (int64_t i = 0; zx && i < s->m; i++) zx[i] = (int32_t)irand(-128, 127);
    for (int64_t i = 0; bias && i < s->n; i++) from_f32(s->ydt, bias, i, (float)uni(-2.0, 2.0));

    qblas_weight_t cw = {0};
    cw.format = QBLAS_WFORMAT_INT8, cw.layout = QBLAS_LAYOUT_CANONICAL, cw.dtype = QBLAS_DTYPE_I8;
    cw.n = s->n, cw.k = s->k, cw.data = w, cw.scales = sw;
    cw.scale_mode = s->w_row ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_PER_TENSOR, cw.scale_dtype = QBLAS_DTYPE_F32;
    qblas_act_t xa = {QBLAS_DTYPE_I8, x, s->ldx, s->x_row ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_PER_TENSOR, sx, zx};

    /* the oracle */
    void *ycpu = xmalloc((size_t)yelems * ye), *ygpu = xmalloc((size_t)yelems * ye);
    memset(ycpu, 0xFF, (size_t)yelems * ye);
    qblas_kernel_info_t ci;
    qblas_status_t st = qblas_gemm_query(cpu, s->m, s->n, s->k, &xa, &cw, s->ydt, &ci);
    void *cws = st ? NULL : xmalloc(ci.workspace_bytes);
    if (!st) st = qblas_gemm(cpu, s->m, s->n, s->k, &xa, &cw, bias, s->ydt, ycpu, s->ldy, cws, ci.workspace_bytes, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "cpu oracle: %s (%s)", qblas_status_string(st), qblas_last_error(cpu));
    free(cws);

    /* the GPU, on device copies of everything */
    qblas_weight_t dw = cw;
    qblas_act_t dx = xa;
    dw.data = dcopy(w, wn), dw.scales = dcopy(sw, (size_t)nsw * 4);
    dx.data = dcopy(x, xn), dx.scales = dcopy(sx, (size_t)nsx * 4), dx.zeros = dcopy(zx, (size_t)s->m * 4);
    void *bd = dcopy(bias, (size_t)s->n * ye);
    if (!st) {
        run_guarded(gh, s->m, s->n, s->k, &dx, &dw, bd, s->ydt, s->ldy, ygpu, kernel);
        expect(strncmp(kernel, "int8_sm", 7) == 0, "kernel name '%s' is not an INT8 kernel", kernel);
        note_kernel(kernel);
        for (int64_t m = 0; m < s->m && g_case_ok; m++)
            for (int64_t n = 0; n < s->n; n++) {
                const int64_t i = m * s->ldy + n;
                const float want = i8_expected(s, x, w, sx, sw, zx, bias, m, n);
                const bool same_cpu = memcmp((uint8_t *)ygpu + i * ye, (uint8_t *)ycpu + i * ye, ye) == 0;
                const float g = to_f32(s->ydt, ygpu, i);
                if (!same_cpu || memcmp(&g, &want, 4) != 0) {
                    expect(false, "y[%lld][%lld]: gpu %a, oracle %a, definition %a", (long long)m, (long long)n, g,
                           to_f32(s->ydt, ycpu, i), want);
                    break;
                }
            }
    }
    cudaFree((void *)dw.data), cudaFree((void *)dw.scales), cudaFree((void *)dx.data), cudaFree((void *)dx.scales);
    cudaFree((void *)dx.zeros), cudaFree(bd);
    free(x), free(w), free(sx), free(sw), free(zx), free(bias), free(ycpu), free(ygpu);
    case_end(what, kernel);
}

static void int8_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    static const int64_t full_m[] = {1, 3, 16, 17, 100, 256, 1000}, quick_m[] = {1, 17, 100};
    static const int64_t ns[] = {1, 7, 128, 200, 513, 33, 256};
    static const int64_t ks[] = {16, 48, 64, 80, 1040, 4096, 208};
    const int64_t *ms = g_quick ? quick_m : full_m;
    const int nm = g_quick ? 3 : 7, per_m = g_quick ? 4 : 8;
    const int64_t limit = g_quick ? 2000000 : 16000000;
    printf("W8A8 INT8 GEMMs vs the oracle and the definition (bit for bit):\n");
    int seq = 0;
    for (int mi = 0; mi < nm; mi++)
        for (int j = 0; j < per_m; j++, seq++) {
            i8shape s = {.m = ms[mi], .n = ns[(seq + mi) % 7], .k = ks[seq % 7]};
            /* keep the host references cheap: shrink n, then k (to a multiple of 16), until m*n*k <= limit */
            while (s.m * s.n * s.k > limit && s.n > 1) s.n = (s.n + 1) / 2;
            while (s.m * s.n * s.k > limit && s.k > 16) s.k = (s.k / 32) * 16;
            s.x_row = seq % 2 == 0, s.w_row = (seq / 2) % 2 == 0;
            s.zp = s.x_row && seq % 3 != 1; /* zero points need PER_ROW activation scales */
            s.bias = seq % 4 < 2;
            s.ydt = kY[seq % 3];
            s.ldx = s.k + (seq % 5 == 1 ? 16 : seq % 5 == 3 ? 48 : 0);
            s.ldy = s.n + (seq % 2 ? 5 : 0);
            int8_case(gh, cpu, &s);
        }
}

/* INT8 requirements: NOT_SUPPORTED with a reason, Y untouched; no prepack;
 * a short workspace with zero points. X and W share one random buffer. */
static void int8_error_cases(qblas_handle_t gh)
{
    printf("W8A8 INT8 unsupported shapes and bad inputs (status, nothing written):\n");
    const int64_t m = 4, n = 40, k = 64;
    const size_t bytes = (size_t)(n * k) + 64, ybytes = (size_t)(m * n) * 2;
    int8_t *hb = xmalloc(bytes);
    for (size_t i = 0; i < bytes; i++) hb[i] = (int8_t)rnd();
    const float sh[4] = {0.01f, 0.02f, 0.03f, 0.04f};
    const int32_t zh[4] = {1, -2, 3, -4};
    uint8_t *buf = dcopy(hb, bytes), *y = dalloc(ybytes);
    float *sc = dcopy(sh, sizeof sh);
    int32_t *zd = dcopy(zh, sizeof zh);
    CUDA_OK(cudaMemset(y, 0xFF, ybytes));
    qblas_weight_t wd = {0};
    wd.format = QBLAS_WFORMAT_INT8, wd.dtype = QBLAS_DTYPE_I8, wd.n = n, wd.k = k, wd.data = buf;
    wd.scale_mode = QBLAS_SCALE_PER_TENSOR, wd.scale_dtype = QBLAS_DTYPE_F32, wd.scales = sc;
    qblas_act_t xa = {QBLAS_DTYPE_I8, buf, k, QBLAS_SCALE_PER_ROW, sc, NULL};
    qblas_kernel_info_t info;
    case_begin();
    /* k % 16 != 0 */
    qblas_weight_t w40 = wd;
    w40.k = 40;
    EXPECT_STATUS(qblas_gemm_query(gh, m, n, 40, &xa, &w40, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_NOT_SUPPORTED);
    expect(strlen(qblas_last_error(gh)) > 0, "NOT_SUPPORTED without a reason");
    EXPECT_STATUS(qblas_gemm(gh, m, n, 40, &xa, &w40, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                  QBLAS_STATUS_NOT_SUPPORTED);
    /* ldx not a multiple of 16; X pointer, then W pointer, off 16-byte alignment (k = 16 keeps them in the buffer) */
    qblas_act_t xl = xa, xp = xa;
    xl.ld = k + 8;
    xp.data = buf + 1;
    qblas_weight_t w16 = wd, wp = wd;
    w16.k = 16, wp.k = 16, wp.data = buf + 1;
    EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xl, &wd, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                  QBLAS_STATUS_NOT_SUPPORTED);
    EXPECT_STATUS(qblas_gemm(gh, m, n, 16, &xp, &w16, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                  QBLAS_STATUS_NOT_SUPPORTED);
    EXPECT_STATUS(qblas_gemm(gh, m, n, 16, &xa, &wp, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                  QBLAS_STATUS_NOT_SUPPORTED);
    /* zero points need a workspace (the column sums) */
    qblas_act_t xz = xa;
    xz.zeros = zd;
    qblas_status_t st = qblas_gemm_query(gh, m, n, k, &xz, &wd, QBLAS_DTYPE_F16, &info);
    expect(st == QBLAS_STATUS_SUCCESS, "gemm_query with zero points: %s (%s)", qblas_status_string(st),
           qblas_last_error(gh));
    void *ws = NULL;
    if (!st) {
        expect(info.workspace_bytes >= (size_t)n * 4, "zero points need n int32 of workspace");
        ws = dalloc(info.workspace_bytes);
        EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xz, &wd, NULL, QBLAS_DTYPE_F16, y, n, ws, info.workspace_bytes - 1,
                                 NULL),
                      QBLAS_STATUS_INSUFFICIENT_WORKSPACE);
    }
    /* no CUDA packed layout */
    size_t pbytes = 0;
    EXPECT_STATUS(qblas_prepack_size(gh, &wd, &pbytes), QBLAS_STATUS_NOT_SUPPORTED);
    CUDA_OK(cudaDeviceSynchronize());
    expect_untouched(y, ybytes, "Y");
    case_end("int8: k % 16 / ldx / X and W alignment / workspace / prepack", "");
    free(hb);
    cudaFree(buf), cudaFree(y), cudaFree(sc), cudaFree(zd), cudaFree(ws);
}

/* ---------------------------------------------------------------- activation quantization */
/* qblas_quantize_act on the GPU against the CPU oracle: codes, scales and
 * zero points must match bit for bit (both backends evaluate the same
 * functions of src/common/qblas_quant_math.h on the same exact f32 values,
 * over ranges that no reduction order changes). Outputs are poisoned; the
 * q gap between k and ldq and guard bands around q, scales and zeros must
 * stay poisoned. */

typedef struct {
    int64_t m, k, ldx, ldq;
    int x_off; /* elements X starts past an allocation: scalar alignment only */
    qblas_dtype_t xdt;
} qshape;

/* One row of X. kind: 0 all zero; 1 random with +-inf and +-NaN sprinkled;
 * 2 all positive; 3 all negative; 4 tiny (subnormal range of the dtype:
 * scales underflow to 0 and become 1); 5 huge (f32: hi - lo overflows);
 * otherwise random with a random binade. */
static void fill_row(qblas_dtype_t t, void *x, int64_t off, int64_t k, int kind)
{
    const int emax = t == QBLAS_DTYPE_F16 ? 14 : 120;
    const float tiny = t == QBLAS_DTYPE_F16 ? 0x1p-20f : 0x1p-135f;
    const float huge = t == QBLAS_DTYPE_F16 ? 60000.0f : 3e38f;
    const float mag = ldexpf(1.0f, (int)irand(-emax / 2, emax / 2));
    for (int64_t i = 0; i < k; i++) {
        float v = (float)uni(-1.0, 1.0) * mag;
        switch (kind) {
        case 0: v = (rnd() & 1) ? 0.0f : -0.0f; break;
        case 1:
            if (rnd() % 8 == 0) {
                static const uint32_t special[4] = {0x7F800000u, 0xFF800000u, 0x7FC00000u, 0xFFC00000u};
                v = qb_bits_f32(special[rnd() % 4]); /* +inf, -inf, NaN, -NaN */
            }
            break;
        case 2: v = fabsf(v) + mag / 64; break;
        case 3: v = -fabsf(v) - mag / 64; break;
        case 4: v = (float)uni(-1.0, 1.0) * tiny; break;
        case 5: v = (float)uni(-1.0, 1.0) * huge; break;
        default: break;
        }
        from_f32(t, x, off + i, v);
    }
}

/* Bytes [0, n) of p all 0xFF, reporting what. */
static void expect_ff(const uint8_t *p, size_t n, const char *what)
{
    expect(all_ff(p, n), "%s was written", what);
}

/* Device copy of n bytes with GUARD poisoned bytes each side; src NULL: all poisoned. */
static uint8_t *guarded(const void *src, size_t n)
{
    uint8_t *d = dalloc(n + 2 * GUARD);
    CUDA_OK(cudaMemset(d, 0xFF, n + 2 * GUARD));
    if (src) CUDA_OK(cudaMemcpy(d + GUARD, src, n, cudaMemcpyHostToDevice));
    return d;
}
static uint8_t *fetch(const uint8_t *d, size_t n)
{
    uint8_t *h = xmalloc(n + 2 * GUARD);
    CUDA_OK(cudaMemcpy(h, d, n + 2 * GUARD, cudaMemcpyDeviceToHost));
    return h;
}

/* A static scale near amax / qmax of the whole input: some codes saturate. */
static float static_scale_for(const qbt_qact_variant *v, const qshape *s, const void *x)
{
    double amax = 0;
    for (int64_t r = 0; r < s->m; r++)
        for (int64_t i = 0; i < s->k; i++) {
            double a = fabs(to_f32(s->xdt, x, s->x_off + r * s->ldx + i));
            if (isfinite(a) && a > amax) amax = a;
        }
    const double qmax = v->qt == QBLAS_DTYPE_I8     ? 127
                        : v->qt == QBLAS_DTYPE_E5M2 ? 57344
                        : v->qt == QBLAS_DTYPE_E4M3 ? 448
                                                     : 240;
    float sc = (float)(amax / qmax * uni(0.5, 2.0));
    return sc > 0 && isfinite(sc) ? sc : 1.0f;
}

static void qact_case(qblas_handle_t gh, qblas_handle_t cpu, const qbt_qact_variant *v, const qshape *s, int seq)
{
    char what[160];
    snprintf(what, sizeof what, "quant %s%s %s x %s m%lld k%lld ldx%lld ldq%lld%s", dn(v->qt), v->asym ? " asym" : "",
             v->mode == QBLAS_SCALE_PER_TENSOR ? "tensor" : v->mode == QBLAS_SCALE_PER_ROW ? "row" : "block128",
             dn(s->xdt), (long long)s->m, (long long)s->k, (long long)s->ldx, (long long)s->ldq, s->x_off ? " +1" : "");
    case_begin();
    const size_t xe = dsize(s->xdt), xn = (size_t)(s->m * s->ldx + s->x_off);
    const int64_t nkb = (s->k + 127) / 128;
    const int64_t ns = v->mode == QBLAS_SCALE_PER_TENSOR ? 1 : v->mode == QBLAS_SCALE_PER_ROW ? s->m : s->m * nkb;
    const size_t qbytes = (size_t)(s->m * s->ldq), sbytes = (size_t)ns * 4, zbytes = v->asym ? (size_t)s->m * 4 : 0;
    uint8_t *x = xmalloc(xn * xe);
    for (size_t i = 0; i < xn; i++) from_f32(s->xdt, x, (int64_t)i, 60000.0f); /* gaps: would dominate any range read */
    for (int64_t r = 0; r < s->m; r++) fill_row(s->xdt, x, s->x_off + r * s->ldx, s->k, (int)((r + seq) % 9));

    /* the oracle */
    uint8_t *qc = xmalloc(qbytes);
    float *sc = xmalloc(sbytes);
    int32_t *zc = xmalloc(zbytes);
    memset(qc, 0xFF, qbytes), memset(sc, 0xFF, sbytes), memset(zc, 0xFF, zbytes);
    if (v->mode == QBLAS_SCALE_PER_TENSOR) sc[0] = static_scale_for(v, s, x);
    const float static_scale = sc[0];
    qblas_status_t st = qblas_quantize_act(cpu, s->m, s->k, s->xdt, x + s->x_off * xe, s->ldx, v->qt, qc, s->ldq,
                                           v->mode, sc, v->asym ? zc : NULL, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "oracle: %s (%s)", qblas_status_string(st), qblas_last_error(cpu));

    /* the GPU, into poisoned, guarded buffers */
    uint8_t *xd = dcopy(x, xn * xe);
    uint8_t *qd = guarded(NULL, qbytes), *sd = guarded(v->mode == QBLAS_SCALE_PER_TENSOR ? sc : NULL, sbytes);
    uint8_t *zd = guarded(NULL, zbytes);
    st = qblas_quantize_act(gh, s->m, s->k, s->xdt, xd + s->x_off * xe, s->ldx, v->qt, qd + GUARD, s->ldq, v->mode,
                            (float *)(sd + GUARD), v->asym ? (int32_t *)(zd + GUARD) : NULL, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "gpu: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    CUDA_OK(cudaDeviceSynchronize());
    char kernel[QBLAS_KERNEL_NAME_MAX] = "", want[QBLAS_KERNEL_NAME_MAX];
    snprintf(want, sizeof want, "quant_%s%s_%s_sm80", dn(v->qt), v->asym ? "asym" : "",
             v->mode == QBLAS_SCALE_PER_TENSOR ? "tensor" : v->mode == QBLAS_SCALE_PER_ROW ? "row" : "block128");
    expect(qblas_last_kernel(gh, kernel, sizeof kernel) == QBLAS_STATUS_SUCCESS && strcmp(kernel, want) == 0,
           "kernel name '%s', want '%s'", kernel, want);

    uint8_t *qh = fetch(qd, qbytes), *sh = fetch(sd, sbytes), *zh = fetch(zd, zbytes);
    expect_ff(qh, GUARD, "q's front guard"), expect_ff(qh + GUARD + qbytes, GUARD, "q's back guard");
    expect_ff(sh, GUARD, "scales' front guard"), expect_ff(sh + GUARD + sbytes, GUARD, "scales' back guard");
    expect_ff(zh, GUARD, "zeros' front guard"), expect_ff(zh + GUARD + zbytes, GUARD, "zeros' back guard");
    for (int64_t r = 0; r < s->m; r++) {
        const uint8_t *g = qh + GUARD + r * s->ldq, *c = qc + r * s->ldq;
        for (int64_t i = 0; i < s->k; i++)
            if (g[i] != c[i]) {
                expect(false, "q[%lld][%lld]: gpu 0x%02x, oracle 0x%02x (x = %.9g)", (long long)r, (long long)i, g[i],
                       c[i], to_f32(s->xdt, x, s->x_off + r * s->ldx + i));
                break;
            }
        if (!all_ff(g + s->k, (size_t)(s->ldq - s->k))) expect(false, "row %lld: a write between k and ldq", (long long)r);
    }
    if (v->mode == QBLAS_SCALE_PER_TENSOR)
        expect(memcmp(sh + GUARD, &static_scale, 4) == 0, "the static scale was written");
    for (int64_t i = 0; i < ns && v->mode != QBLAS_SCALE_PER_TENSOR; i++) {
        float g;
        memcpy(&g, sh + GUARD + 4 * i, 4);
        if (memcmp(&g, &sc[i], 4) != 0) expect(false, "scale[%lld]: gpu %.9g, oracle %.9g", (long long)i, g, sc[i]);
    }
    for (int64_t r = 0; v->asym && r < s->m; r++) {
        int32_t g;
        memcpy(&g, zh + GUARD + 4 * r, 4);
        if (g != zc[r]) expect(false, "zero[%lld]: gpu %d, oracle %d", (long long)r, g, zc[r]);
    }
    case_end(what, kernel);
    free(x), free(qc), free(sc), free(zc), free(qh), free(sh), free(zh);
    cudaFree(xd), cudaFree(qd), cudaFree(sd), cudaFree(zd);
}

static void qact_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    static const int64_t full_m[] = {1, 3, 17, 1000}, full_k[] = {1, 127, 128, 129, 300, 4096, 14336, 20000};
    static const int64_t quick_m[] = {1, 17}, quick_k[] = {1, 129, 300};
    const int64_t *ms = g_quick ? quick_m : full_m, *ks = g_quick ? quick_k : full_k;
    const int nm = g_quick ? 2 : 4, nk = g_quick ? 3 : 8;
    printf("activation quantization vs the oracle (bit for bit):\n");
    int seq = 0;
    for (int vi = 0; vi < QBT_N_QACT_VARIANTS; vi++)
        for (int xi = 0; xi < 3; xi++)
            for (int mi = 0; mi < nm; mi++)
                for (int ki = 0; ki < nk; ki++, seq++) {
                    qshape s = {ms[mi], ks[ki], 0, 0, seq % 4 == 3, qbt_qact_inputs[xi]};
                    /* the largest inputs (m1000 at k >= 4096) for a third of the variants */
                    if (s.m * s.k > (1 << 22) && (vi + xi) % 3 != 0) continue;
                    s.ldx = s.k + (seq % 3 == 0 ? 0 : seq % 3 == 1 ? 5 : 128);
                    s.ldq = s.k + (seq % 2 ? 3 : 0);
                    qact_case(gh, cpu, &qbt_qact_variants[vi], &s, seq);
                }
}

/* A static scale that is not finite and > 0: INVALID_VALUE, q untouched. */
static void qact_error_cases(qblas_handle_t gh)
{
    printf("activation quantization bad static scales (status, nothing written):\n");
    static const float bad[] = {0.0f, -0.0f, -1.0f, NAN, INFINITY};
    const int64_t m = 3, k = 129, ldq = 131;
    uint16_t *x = xmalloc((size_t)(m * k) * 2);
    for (int64_t i = 0; i < m * k; i++) x[i] = qb_f32_to_f16((float)uni(-4, 4));
    uint8_t *xd = dcopy(x, (size_t)(m * k) * 2), *qd = guarded(NULL, (size_t)(m * ldq));
    for (int q = 0; q < 2; q++)
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            char what[96];
            const qblas_dtype_t qdt = q ? QBLAS_DTYPE_E4M3 : QBLAS_DTYPE_I8;
            snprintf(what, sizeof what, "quant %s tensor: static scale %g", dn(qdt), (double)bad[b]);
            case_begin();
            float *sd = dcopy(&bad[b], 4);
            EXPECT_STATUS(qblas_quantize_act(gh, m, k, QBLAS_DTYPE_F16, xd, k, qdt, qd + GUARD, ldq,
                                             QBLAS_SCALE_PER_TENSOR, sd, NULL, NULL),
                          QBLAS_STATUS_INVALID_VALUE);
            CUDA_OK(cudaDeviceSynchronize());
            expect_untouched(qd, (size_t)(m * ldq) + 2 * GUARD, "q");
            cudaFree(sd);
            case_end(what, "");
        }
    free(x);
    cudaFree(xd), cudaFree(qd);
}

/* ---------------------------------------------------------------- main */
int main(int argc, char **argv)
{
    const char *env = getenv("QBLAS_TEST_SEED"), *quick = getenv("QBLAS_GPU_QUICK");
    g_quick = (quick && *quick && strcmp(quick, "0") != 0) || (argc > 1 && strcmp(argv[1], "--quick") == 0);
    g_seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    g_rng_state = g_seed;
    printf("seed %llu (set QBLAS_TEST_SEED to repeat)%s\n", (unsigned long long)g_seed, g_quick ? ", quick list" : "");

    qblas_handle_t gh = NULL, cpu = NULL;
    if (!qblas_backend_available(QBLAS_BACKEND_CUDA)) {
        printf("SKIP: no usable CUDA device (sm_80+), the GPU harness did not run\n");
        return 77;
    }
    qblas_status_t st = qblas_create(&gh, QBLAS_BACKEND_CUDA, 0);
    if (st) {
        printf("SKIP: CUDA handle: %s (%s)\n", qblas_status_string(st), qblas_last_error(NULL));
        return 77;
    }
    if (qblas_create(&cpu, QBLAS_BACKEND_CPU, 0)) fatal("CPU handle: %s", qblas_last_error(NULL));
    struct cudaDeviceProp prop;
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);

    w4a16_cases(gh, cpu);
    forced_cases(cpu);
    error_cases(gh, cpu);
    int8_cases(gh, cpu);
    int8_error_cases(gh);
    qact_cases(gh, cpu);
    qact_error_cases(gh);

    qblas_destroy(gh);
    qblas_destroy(cpu);
    printf("kernels seen:");
    for (int i = 0; i < n_base_names; i++) printf(" %s", base_names[i]);
    printf("\n%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
