/* gpu_harness.c - the GPU test program: the shared helpers of gpu_harness.h
 * and main, which runs each group of QBG_GROUPS as a Check test.
 *
 *   test_backend_ops           every case
 *   test_backend_ops --quick   a reduced list (for compute-sanitizer); also QBLAS_GPU_QUICK=1
 *   CK_RUN_CASE=<group>        one group (Check's own filter)
 *
 * Exit 0: all passed; 1: a failure; 77: no usable GPU (ctest reports it
 * skipped). The seed is printed first; QBLAS_TEST_SEED=<seed> repeats a run.
 */
#include "gpu_harness.h"

#include <check.h>
#include <time.h>

uint64_t g_seed, g_rng_state;
int g_pass, g_fail;
bool g_quick;

uint64_t rnd(void)
{
    uint64_t z = (g_rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
double uni(double lo, double hi) { return lo + (hi - lo) * ((double)(rnd() >> 11) * 0x1p-53); }
int64_t irand(int64_t lo, int64_t hi) { return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1)); }

void fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FATAL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " [seed %llu]\n", (unsigned long long)g_seed);
    va_end(ap);
    exit(1);
}


/* A failed expectation prints once and marks the running case failed. */
bool g_case_ok;
static int g_case_msgs;
void expect(bool ok, const char *fmt, ...)
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
void case_begin(void) { g_case_ok = true, g_case_msgs = 0; }
void case_end(const char *what, const char *kernel)
{
    g_case_ok ? g_pass++ : g_fail++;
    if (!g_case_ok || !g_quick) printf("  %-64s %-48s %s\n", what, kernel ? kernel : "", g_case_ok ? "OK" : "FAIL");
}

size_t dsize(qblas_dtype_t t) { return t == QBLAS_DTYPE_F32 ? 4 : 2; }

float to_f32(qblas_dtype_t t, const void *p, int64_t i)
{
    switch (t) {
    case QBLAS_DTYPE_F16: return qb_f16_to_f32(((const uint16_t *)p)[i]);
    case QBLAS_DTYPE_BF16: return qb_bf16_to_f32(((const uint16_t *)p)[i]);
    default: return ((const float *)p)[i];
    }
}
void from_f32(qblas_dtype_t t, void *p, int64_t i, float v)
{
    switch (t) {
    case QBLAS_DTYPE_F16: ((uint16_t *)p)[i] = qb_f32_to_f16(v); break;
    case QBLAS_DTYPE_BF16: ((uint16_t *)p)[i] = qb_f32_to_bf16(v); break;
    default: ((float *)p)[i] = v; break;
    }
}
float round_to(qblas_dtype_t t, float v)
{
    float b; /* room for any of the three dtypes */
    if (t == QBLAS_DTYPE_F32) return v;
    from_f32(t, &b, 0, v);
    return to_f32(t, &b, 0);
}
/* half an ulp of dtype t at magnitude a (subnormal floor included) */
double half_ulp(qblas_dtype_t t, double a)
{
    int mant = t == QBLAS_DTYPE_F16 ? 10 : t == QBLAS_DTYPE_BF16 ? 7 : 23;
    double min_normal = t == QBLAS_DTYPE_F16 ? 0x1p-14 : 0x1p-126;
    int e;
    a = fabs(a) < min_normal ? min_normal : fabs(a);
    frexp(a, &e);
    return ldexp(1.0, e - mant - 2);
}
double gamma_n(double n, double u) { return n * u / (1.0 - n * u); }
const char *dn(qblas_dtype_t t) { return qblas_dtype_name(t); }
const qblas_dtype_t kY[3] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_F32};

bool g_amd;
const char *g_gfx = "";
bool gpu_has_fp8(void)
{
    if (g_amd) return strcmp(g_gfx, "gfx942") == 0;
    int dev = 0, major = 0, minor = 0;
    CUDA_OK(cudaGetDevice(&dev));
    CUDA_OK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    CUDA_OK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
    return major * 10 + minor >= 89;
}
static char *g_kernels[1024];
static int g_n_kernels;
void note_kernel(const char *name)
{
    if (!name || !*name) return;
    for (int i = 0; i < g_n_kernels; i++)
        if (strcmp(g_kernels[i], name) == 0) return;
    if (g_n_kernels < 1024) g_kernels[g_n_kernels++] = strdup(name);
}

void *dalloc(size_t bytes)
{
    void *p = NULL;
    CUDA_OK(cudaMalloc(&p, bytes ? bytes : 1));
    return p;
}
void *dcopy(const void *h, size_t bytes)
{
    if (!h) return NULL;
    void *d = dalloc(bytes);
    CUDA_OK(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice));
    return d;
}
void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) fatal("out of host memory (%zu bytes)", bytes);
    return p;
}
bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF) return false;
    return true;
}
/* device bytes [p, p+n) still 0xFF? */
bool dev_all_ff(const void *p, size_t n)
{
    uint8_t *h = xmalloc(n);
    CUDA_OK(cudaMemcpy(h, p, n, cudaMemcpyDeviceToHost));
    bool ok = all_ff(h, n);
    free(h);
    return ok;
}
/* Bytes [0, n) of p all 0xFF, reporting what. */
void expect_ff(const uint8_t *p, size_t n, const char *what)
{
    expect(all_ff(p, n), "%s was written", what);
}

/* Device copy of n bytes with GUARD poisoned bytes each side; src NULL: all poisoned. */
uint8_t *guarded(const void *src, size_t n)
{
    uint8_t *d = dalloc(n + 2 * GUARD);
    CUDA_OK(cudaMemset(d, 0xFF, n + 2 * GUARD));
    if (src) CUDA_OK(cudaMemcpy(d + GUARD, src, n, cudaMemcpyHostToDevice));
    return d;
}
uint8_t *fetch(const uint8_t *d, size_t n)
{
    uint8_t *h = xmalloc(n + 2 * GUARD);
    CUDA_OK(cudaMemcpy(h, d, n + 2 * GUARD, cudaMemcpyDeviceToHost));
    return h;
}

void expect_untouched(const void *dptr, size_t bytes, const char *what)
{
    expect(dev_all_ff(dptr, bytes), "%s was written by a failing call", what);
}

float signed_uni(double lo, double hi) { return (float)((rnd() & 1) ? uni(lo, hi) : -uni(lo, hi)); }


/* Run Y = X.W^T (+bias) twice on the GPU into poisoned, guarded buffers;
 * check guards, the ldy gap, run-to-run identity and the kernel name.
 * x, w and bias_d are device-side descriptors/pointers; y_out: m x ldy
 * elements of ydt (the first run). */
void run_guarded(qblas_handle_t gh, int64_t m, int64_t n, int64_t k, const qblas_act_t *x,
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
    /* the second run through a plan: the same choice, the same bits */
    qblas_gemm_plan_t plan;
    st = qblas_gemm_plan(gh, m, n, k, x, w, ydt, &plan);
    expect(st == QBLAS_STATUS_SUCCESS, "gemm_plan: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    expect(!st && !strcmp(plan.kernel_name, info.kernel_name) && plan.workspace_bytes == info.workspace_bytes,
           "the plan says %s (%zu bytes), the query %s (%zu bytes)", plan.kernel_name, plan.workspace_bytes,
           info.kernel_name, info.workspace_bytes);
    if (st) return;
    note_kernel(plan.config_name); /* the configuration, for the registry coverage */
    void *ws = info.workspace_bytes ? dalloc(info.workspace_bytes) : NULL;
    uint8_t *yd[2], *yh[2];
    for (int r = 0; r < 2; r++) {
        yd[r] = dalloc(ybytes + 2 * GUARD);
        CUDA_OK(cudaMemset(yd[r], 0xFF, ybytes + 2 * GUARD));
        st = r == 0 ? qblas_gemm(gh, m, n, k, x, w, bias_d, ydt, yd[r] + GUARD, ldy, ws, info.workspace_bytes, NULL)
                    : qblas_gemm_planned(gh, &plan, m, n, k, x, w, bias_d, ydt, yd[r] + GUARD, ldy, ws,
                                         info.workspace_bytes, NULL);
        expect(st == QBLAS_STATUS_SUCCESS, "gemm%s: %s (%s)", r ? "_planned" : "", qblas_status_string(st),
               qblas_last_error(gh));
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
    expect(memcmp(yh[0], yh[1], ybytes + 2 * GUARD) == 0, "two runs of the same call (selected, planned) differ");
    char last[QBLAS_KERNEL_NAME_MAX];
    expect(qblas_last_kernel(gh, last, sizeof last) == QBLAS_STATUS_SUCCESS && strcmp(last, info.kernel_name) == 0,
           "last_kernel '%s' != query '%s'", last, info.kernel_name);
    memcpy(y_out, yh[0] + GUARD, ybytes);
    for (int r = 0; r < 2; r++) free(yh[r]), cudaFree(yd[r]);
    cudaFree(ws);
}


bool attention_plan_for(qblas_handle_t gh, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                        const qblas_kernel_info_t *info, qblas_attention_plan_t *plan)
{
    qblas_status_t st = qblas_attention_plan(gh, kv, p, plan);
    expect(st == QBLAS_STATUS_SUCCESS, "attention_plan: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    if (st) return false;
    expect(!strcmp(plan->kernel_name, info->kernel_name) && plan->workspace_bytes == info->workspace_bytes,
           "the plan says %s (%zu bytes), the query %s (%zu bytes)", plan->kernel_name, plan->workspace_bytes,
           info->kernel_name, info->workspace_bytes);
    note_kernel(plan->config_name);
    return true;
}

/* ---------------------------------------------------------------- capture, device status */
static void poison(const dev_out *outs, int n)
{
    for (int i = 0; i < n; i++) CUDA_OK(cudaMemset(outs[i].p, 0xFF, outs[i].bytes));
    CUDA_OK(cudaDeviceSynchronize());
}

static void expect_outs(const dev_out *outs, int n, uint8_t *const *ref, const char *when)
{
    for (int i = 0; i < n; i++) {
        uint8_t *h = xmalloc(outs[i].bytes);
        CUDA_OK(cudaMemcpy(h, outs[i].p, outs[i].bytes, cudaMemcpyDeviceToHost));
        size_t j = 0;
        if (ref) /* the first differing byte, if any */
            while (j < outs[i].bytes && h[j] == ref[i][j]) j++;
        if (ref && j < outs[i].bytes)
            expect(false, "%s: output %d byte %zu is %02x, the uncaptured call wrote %02x", when, i, j, h[j], ref[i][j]);
        if (!ref) expect(all_ff(h, outs[i].bytes), "%s: output %d was written", when, i);
        free(h);
    }
}

void expect_captured(qblas_handle_t gh, issue_fn fn, void *ctx, const dev_out *outs, int n)
{
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    uint8_t *ref[8];
    if (n > 8) fatal("expect_captured: %d outputs", n);
    poison(outs, n);
    qblas_status_t st = fn(ctx, s);
    expect(st == QBLAS_STATUS_SUCCESS, "uncaptured call: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    CUDA_OK(cudaStreamSynchronize(s));
    for (int i = 0; i < n; i++) {
        ref[i] = xmalloc(outs[i].bytes);
        CUDA_OK(cudaMemcpy(ref[i], outs[i].p, outs[i].bytes, cudaMemcpyDeviceToHost));
    }
    poison(outs, n);

    cudaGraph_t g = NULL;
    cudaGraphExec_t ge = NULL;
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    st = fn(ctx, s);
    expect(st == QBLAS_STATUS_SUCCESS, "captured call: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    const cudaError_t e = cudaStreamEndCapture(s, &g);
    expect(e == cudaSuccess, "cudaStreamEndCapture: %s (the call broke the capture)", cudaGetErrorString(e));
    (void)cudaGetLastError();
    expect_outs(outs, n, NULL, "during capture");
    if (e == cudaSuccess && g) {
        CUDA_OK(cudaGraphInstantiate(&ge, g, 0));
        for (int r = 0; r < 2; r++) { /* a graph is made to be replayed; the outputs keep the last launch's */
            if (r) poison(outs, n);
            CUDA_OK(cudaGraphLaunch(ge, s));
            CUDA_OK(cudaStreamSynchronize(s));
            expect_outs(outs, n, ref, r ? "second graph launch" : "graph launch");
        }
        CUDA_OK(cudaGraphExecDestroy(ge));
        CUDA_OK(cudaGraphDestroy(g));
    }
    expect_device_status(gh, QBLAS_STATUS_SUCCESS, NULL);
    for (int i = 0; i < n; i++) free(ref[i]);
    CUDA_OK(cudaStreamDestroy(s));
}

void expect_device_status(qblas_handle_t gh, qblas_status_t want, const char *needle)
{
    qblas_status_t dev = QBLAS_STATUS_INTERNAL_ERROR;
    qblas_status_t st = qblas_device_status(gh, NULL, &dev);
    expect(st == QBLAS_STATUS_SUCCESS, "qblas_device_status: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    expect(dev == want, "device status %s (%s), want %s", qblas_status_string(dev), qblas_last_error(gh),
           qblas_status_string(want));
    if (want != QBLAS_STATUS_SUCCESS && needle)
        expect(strstr(qblas_last_error(gh), needle) != NULL, "device error '%s' does not say '%s'",
               qblas_last_error(gh), needle);
    st = qblas_device_status(gh, NULL, &dev);
    expect(st == QBLAS_STATUS_SUCCESS && dev == QBLAS_STATUS_SUCCESS, "a second qblas_device_status: %s / %s",
           qblas_status_string(st), qblas_status_string(dev));
}

/* The zero-point device check of an i8 GEMM (INT8, 2:4): rows 3 and 4 get
 * bad values, row 3 named; a second failing call before the read does not
 * replace the first error; valid values then write Y. */
void expect_zero_point_checks(qblas_handle_t gh, int64_t n, int64_t k, const qblas_act_t *x, const qblas_weight_t *w)
{
    const int64_t m = 5;
    const size_t ybytes = (size_t)(m * n) * 2;
    int32_t zh[5] = {0, 127, -128, 3, 0};
    static const int32_t bad[4] = {128, -129, INT32_MAX, INT32_MIN};
    uint8_t *y = dpoisoned(ybytes);
    qblas_kernel_info_t info;
    qblas_status_t st = qblas_gemm_query(gh, m, n, k, x, w, QBLAS_DTYPE_F16, &info);
    expect(st == QBLAS_STATUS_SUCCESS, "gemm_query: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    expect(st || info.workspace_bytes > 0, "zero points need a workspace (their verdict)");
    void *ws = st ? NULL : dalloc(info.workspace_bytes), *zd = (void *)x->zeros; /* the caller's device buffer */
#define ZP_GEMM() qblas_gemm(gh, m, n, k, x, w, NULL, QBLAS_DTYPE_F16, y, n, ws, info.workspace_bytes, NULL)
    for (int b = 0; b < 4 && !st; b++) {
        zh[3] = bad[b], zh[4] = bad[(b + 1) % 4]; /* the first bad row is 3 */
        CUDA_OK(cudaMemcpy(zd, zh, sizeof zh, cudaMemcpyHostToDevice));
        EXPECT_STATUS(ZP_GEMM(), QBLAS_STATUS_SUCCESS);
        if (b == 1) { /* a second failing call before the read: the first error is the one reported */
            zh[3] = 0, zh[1] = -200;
            CUDA_OK(cudaMemcpy(zd, zh, sizeof zh, cudaMemcpyHostToDevice));
            EXPECT_STATUS(ZP_GEMM(), QBLAS_STATUS_SUCCESS);
            zh[1] = 127;
        }
        expect_device_status(gh, QBLAS_STATUS_INVALID_VALUE, "zeros[3]");
        expect_untouched(y, ybytes, "Y");
    }
    zh[3] = 5, zh[4] = -7;
    CUDA_OK(cudaMemcpy(zd, zh, sizeof zh, cudaMemcpyHostToDevice));
    if (!st) EXPECT_STATUS(ZP_GEMM(), QBLAS_STATUS_SUCCESS);
#undef ZP_GEMM
    expect_device_status(gh, QBLAS_STATUS_SUCCESS, NULL);
    expect(!st && !dev_all_ff(y, ybytes), "valid zero points: Y not written");
    cudaFree(y), cudaFree(ws);
}

/* ---------------------------------------------------------------- GEMM case pieces */
void fill_scales(float *sc, int64_t n)
{
    for (int64_t i = 0; sc && i < n; i++) sc[i] = signed_uni(0.005, 0.02);
}
void fill_bias(qblas_dtype_t t, void *bias, int64_t n)
{
    for (int64_t i = 0; bias && i < n; i++) from_f32(t, bias, i, (float)uni(-2.0, 2.0));
}
uint8_t *dpoisoned(size_t bytes)
{
    uint8_t *d = dalloc(bytes);
    CUDA_OK(cudaMemset(d, 0xFF, bytes));
    return d;
}

qblas_status_t run_oracle(qblas_handle_t cpu, int64_t m, int64_t n, int64_t k, const qblas_act_t *x,
                          const qblas_weight_t *w, const void *bias, qblas_dtype_t ydt, void *y, int64_t ldy)
{
    memset(y, 0xFF, (size_t)(m * ldy) * dsize(ydt));
    qblas_kernel_info_t ci;
    qblas_status_t st = qblas_gemm_query(cpu, m, n, k, x, w, ydt, &ci);
    void *cws = st ? NULL : xmalloc(ci.workspace_bytes);
    if (!st) st = qblas_gemm(cpu, m, n, k, x, w, bias, ydt, y, ldy, cws, ci.workspace_bytes, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "cpu oracle: %s (%s)", qblas_status_string(st), qblas_last_error(cpu));
    free(cws);
    return st;
}

bool expect_bits(qblas_dtype_t ydt, const void *ygpu, const void *ycpu, int64_t i, float want, int64_t m, int64_t n)
{
    const size_t ye = dsize(ydt);
    const bool same_cpu = memcmp((const uint8_t *)ygpu + i * ye, (const uint8_t *)ycpu + i * ye, ye) == 0;
    const float g = to_f32(ydt, ygpu, i);
    if (same_cpu && memcmp(&g, &want, 4) == 0) return true; /* NaN (poison) never matches a finite value */
    expect(false, "y[%lld][%lld]: gpu %a, oracle %a, definition %a", (long long)m, (long long)n, g,
           to_f32(ydt, ycpu, i), want);
    return false;
}

bool expect_near(qblas_dtype_t ydt, double g, double c, double sum, double S, double gpu_rel, double cpu_rel,
                 int64_t m, int64_t n)
{
    const double eg = gpu_rel * S, ec = cpu_rel * S;
    const double tol_cpu = eg + ec + 2.0 * half_ulp(ydt, fabs(c) + eg + ec);
    const double tol_64 = eg + half_ulp(ydt, fabs(sum) + eg);
    if (!(g == g && fabs(g - c) <= tol_cpu)) {
        expect(false, "y[%lld][%lld]: gpu %.9g, oracle %.9g, |diff| %.3g > tol %.3g", (long long)m, (long long)n, g, c,
               fabs(g - c), tol_cpu);
        return false;
    }
    if (!(fabs(g - sum) <= tol_64)) {
        expect(false, "y[%lld][%lld]: gpu %.9g, float64 %.9g, |diff| %.3g > tol %.3g", (long long)m, (long long)n, g,
               sum, fabs(g - sum), tol_64);
        return false;
    }
    return true;
}

void expect_align_refusals(qblas_handle_t gh, int64_t m, int64_t n, int64_t k, const qblas_act_t *xa,
                           const qblas_weight_t *wd, void *y)
{
    const uint8_t *buf = wd->data;
    /* k % 16 != 0 */
    qblas_weight_t w40 = *wd;
    w40.k = 40;
    EXPECT_STATUS(qblas_gemm(gh, m, n, 40, xa, &w40, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                  QBLAS_STATUS_NOT_SUPPORTED);
    /* ldx not a multiple of 16; X pointer, then W pointer, off 16-byte alignment (k = 16 keeps them in the buffer) */
    qblas_act_t xl = *xa, xp = *xa;
    xl.ld = k + 8;
    xp.data = buf + 1;
    qblas_weight_t w16 = *wd, wp = *wd;
    w16.k = 16, wp.k = 16, wp.data = buf + 1;
    EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xl, wd, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                  QBLAS_STATUS_NOT_SUPPORTED);
    EXPECT_STATUS(qblas_gemm(gh, m, n, 16, &xp, &w16, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                  QBLAS_STATUS_NOT_SUPPORTED);
    EXPECT_STATUS(qblas_gemm(gh, m, n, 16, xa, &wp, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                  QBLAS_STATUS_NOT_SUPPORTED);
}

/* ---------------------------------------------------------------- FP8 GEMM results */
int64_t cdiv64(int64_t a, int64_t b) { return (a + b - 1) / b; }
qb_fp8_fmt fp8_fmt(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_E4M3 ? QB_FP8_E4M3 : t == QBLAS_DTYPE_E4M3FNUZ ? QB_FP8_E4M3FNUZ : QB_FP8_E5M2;
}
uint8_t fp8_nan_code(qblas_dtype_t t) { return t == QBLAS_DTYPE_E4M3FNUZ ? 0x80 : 0x7F; }

/* A random code: a small integer in [-4, 4], or +-2^e with e uniform over
 * the format's subnormals up to 32 (the sums stay far from f16 overflow:
 * |x*w| <= 1024, |Y| < 1024 * 4112 * 0.02^2 < 2000). */
uint8_t fp8_rand_code(qblas_dtype_t t, bool exact)
{
    if (exact) return qb_fp8_encode((float)irand(-4, 4), fp8_fmt(t));
    const double e = uni(t == QBLAS_DTYPE_E5M2 ? -18.0 : -11.0, 5.0);
    return qb_fp8_encode((float)((rnd() & 1 ? 1.0 : -1.0) * exp2(e)), fp8_fmt(t));
}

const char *fp8_mode_name(int mode)
{
    static const char *const names[5] = {"tensor*tensor", "row*tensor", "tensor*row", "row*row", "block128"};
    return names[mode];
}
size_t fp8_nsx(const f8shape *s)
{
    return (size_t)(s->mode == 4 ? s->m * cdiv64(s->k, 128) : (s->mode & 1) ? s->m : 1);
}
size_t fp8_nsw(const f8shape *s)
{
    return (size_t)(s->mode == 4 ? cdiv64(s->n, 128) * cdiv64(s->k, 128) : (s->mode & 2) ? s->n : 1);
}
qblas_scale_mode_t fp8_x_mode(const f8shape *s)
{
    return s->mode == 4 ? QBLAS_SCALE_BLOCK_1X128 : (s->mode & 1) ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_PER_TENSOR;
}
qblas_scale_mode_t fp8_w_mode(const f8shape *s)
{
    return s->mode == 4 ? QBLAS_SCALE_BLOCK_128X128 : (s->mode & 2) ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_PER_TENSOR;
}

float fp8_xscale(const f8shape *s, const float *sx, int64_t m, int64_t kb)
{
    return s->mode == 4 ? sx[m * cdiv64(s->k, 128) + kb] : (s->mode & 1) ? sx[m] : sx[0];
}
float fp8_wscale(const f8shape *s, const float *sw, int64_t n, int64_t kb)
{
    return s->mode == 4 ? sw[(n / 128) * cdiv64(s->k, 128) + kb] : (s->mode & 2) ? sw[n] : sw[0];
}

/* Tolerance of |gpu - oracle| and |gpu - exact| for wide-range data.
 * B = sum over 128-k blocks of |sx sw| * sum_k |x w| (float64; products are
 * exact on every side: fp8 x fp8 has <= 8 significant bits).
 *  - GPU partial sums: the tensor cores add the 32 products of an mma step
 *    and the accumulator with reduced precision. ASSUMPTION (conservative,
 *    DeepSeek-V3 measured ~14 bits for Hopper fp8 accumulation): each add
 *    has relative error <= 2^-13. A partial sum spans one 128-k block (the
 *    dense kernels: 4 mma steps; the 2:4 kernels: one stage), promoted into
 *    fp32 afterwards, so its chain has <= min(K, 128) adds (2:4: only K/2
 *    products are kept ones, the bound counts all): gamma(min(K,128), 2^-13) * B.
 *  - The oracle's fp32 sums, in an order the format leaves open: <= K
 *    adds: gamma(K, 2^-24) * B.
 *  - Each side's fp32 scaling and promotion: 2 multiplications per block,
 *    <= KB promotion adds and, with split-K, <= KB adds of the splits'
 *    sums, plus the bias add: gamma(2 KB + 3, 2^-24) * B each side, and
 *    2^-24 * |bias| each side.
 *  - Each side rounds once to y: half an ulp of y at <= B + |bias|. */
static double fp8_tolerance(const f8shape *s, double B, double bias)
{
    const double u = 0x1p-24, kb = (double)cdiv64(s->k, 128), chain = s->k < 128 ? (double)s->k : 128.0;
    return B * (gamma_n(chain, 0x1p-13) + gamma_n((double)s->k, u) + 2.0 * gamma_n(2.0 * kb + 3.0, u)) +
           2.0 * u * fabs(bias) + 2.0 * half_ulp(s->ydt, B + fabs(bias));
}

/* The definition in the oracle's fp32 operation order (separate statements
 * on floats, one rounding each) from exact per-block sums P[kb]; only
 * meaningful when each P[kb] (and their total) is exact in fp32. */
static float fp8_definition(const f8shape *s, const double *P, const float *sx, const float *sw, const void *bias,
                            int64_t m, int64_t n)
{
    const int64_t nkb = cdiv64(s->k, 128);
    float v;
    if (s->mode == 4) {
        v = 0.0f;
        for (int64_t kb = 0; kb < nkb; kb++) {
            float t = (float)P[kb];
            t = t * fp8_xscale(s, sx, m, kb);
            t = t * fp8_wscale(s, sw, n, kb);
            v = v + t;
        }
    } else {
        double S = 0;
        for (int64_t kb = 0; kb < nkb; kb++) S += P[kb];
        v = (float)S;
        v = v * fp8_xscale(s, sx, m, 0);
        v = v * fp8_wscale(s, sw, n, 0);
    }
    if (bias) v = v + to_f32(s->ydt, bias, n);
    return round_to(s->ydt, v);
}

void fp8_check(const f8shape *s, const double *xf, const double *wf, const float *sx, const float *sw,
               const void *bias, const void *ygpu, const void *ycpu, int64_t nan_m, int64_t nan_n)
{
    const int64_t nkb = cdiv64(s->k, 128);
    double *P = xmalloc((size_t)nkb * 8); /* per-block exact sums in float64 */
    for (int64_t m = 0; m < s->m && g_case_ok; m++)
        for (int64_t n = 0; n < s->n; n++) {
            const int64_t i = m * s->ldy + n;
            const float g = to_f32(s->ydt, ygpu, i), c = to_f32(s->ydt, ycpu, i);
            if (m == nan_m || n == nan_n) { /* the format: NaN codes propagate to the whole row / column */
                if (!isnan(g) || !isnan(c)) {
                    expect(false, "y[%lld][%lld]: gpu %a, oracle %a, want NaN (NaN code in %s)", (long long)m,
                           (long long)n, g, c, m == nan_m ? "this row of X" : "this row of W");
                    break;
                }
                continue;
            }
            double B = 0, yt = 0;
            const double b = bias ? to_f32(s->ydt, bias, n) : 0.0;
            for (int64_t kb = 0; kb < nkb; kb++) {
                double p = 0, a = 0;
                for (int64_t k = kb * 128; k < s->k && k < kb * 128 + 128; k++) {
                    const double t = xf[m * s->k + k] * wf[n * s->k + k]; /* exact */
                    p += t, a += fabs(t);
                }
                const double sc = (double)fp8_xscale(s, sx, m, kb) * fp8_wscale(s, sw, n, kb);
                P[kb] = p, B += fabs(sc) * a, yt += sc * p;
            }
            yt += b;
            if (s->exact) {
                /* integers, |P| <= 128 * 16 per block (2:4: 64 * 16), |S| <= 16 K < 2^24: exact in fp32 and
                 * in the tensor cores (>= 13 bits); the rest is a fixed sequence of fp32 roundings */
                const float want = fp8_definition(s, P, sx, sw, bias, m, n);
                if (!(g == want && c == want)) {
                    expect(false, "y[%lld][%lld]: gpu %a, oracle %a, definition %a (exact data)", (long long)m,
                           (long long)n, g, c, want);
                    break;
                }
            } else {
                const double tol = fp8_tolerance(s, B, b);
                if (!(fabs((double)g - c) <= tol && fabs((double)g - yt) <= tol)) {
                    expect(false, "y[%lld][%lld]: gpu %a, oracle %a, exact %a, tolerance %.3g", (long long)m,
                           (long long)n, g, c, yt, tol);
                    break;
                }
            }
        }
    free(P);
}


/* ---------------------------------------------------------------- coverage */
/* The CUDA backend's list of its configurations (src/cuda/cuda_registry.c, from kernel_configs.h), and the HIP
 * backend's of a gfx target (src/hip/hip_registry.c; weak: a build without the HIP backend has none). */
int qb_cuda_catalog(int cc, void (*fn)(void *ctx, const char *family, const char *name), void *ctx);
int qb_hip_catalog(const char *gfx, void (*fn)(void *ctx, const char *family, const char *name), void *ctx)
    __attribute__((weak));

/* Every run notes its plan's configuration name (run_guarded, the
 * attention groups, ops_configs.c): a configuration ran when its name was noted. */
static int g_uncovered;
static void check_covered(void *ctx, const char *family, const char *name)
{
    (void)ctx;
    for (int i = 0; i < g_n_kernels; i++)
        if (strcmp(name, g_kernels[i]) == 0) return;
    printf("  NOT RUN: %s kernel %s\n", family, name);
    g_uncovered++;
}

/* ---------------------------------------------------------------- main */
static qblas_handle_t g_gh, g_cpu;

/* One Check test per group: it fails when any of the group's cases did.
 * No fork: a CUDA context does not survive fork(). */
#define QBG_TEST(g)                                                                                               \
    START_TEST(test_##g)                                                                                          \
    {                                                                                                             \
        const int before = g_fail;                                                                                \
        printf("== %s\n", #g);                                                                                    \
        qbg_##g(g_gh, g_cpu);                                                                                     \
        case_begin(); /* the group's valid calls recorded no device error, its invalid ones were read */         \
        expect_device_status(g_gh, QBLAS_STATUS_SUCCESS, NULL);                                                   \
        case_end("device status after the group", "");                                                           \
        ck_assert_msg(g_fail == before, "%d %s case(s) failed [seed %llu]", g_fail - before, #g,                  \
                      (unsigned long long)g_seed);                                                                \
    }                                                                                                             \
    END_TEST
QBG_GROUPS(QBG_TEST)
#undef QBG_TEST

int main(int argc, char **argv)
{
    const char *env = getenv("QBLAS_TEST_SEED"), *quick = getenv("QBLAS_GPU_QUICK"), *sim = getenv("QBLAS_GPU_SIM");
    /* the simulated device (QBLAS_GPU_SIM=1, set by ctest's sim tests) runs the quick list: every
     * kernel configuration, tile edge, split-K and pipeline path at small shapes */
    g_quick = (quick && *quick && strcmp(quick, "0") != 0) || (sim && *sim && strcmp(sim, "0") != 0) ||
              (argc > 1 && strcmp(argv[1], "--quick") == 0);
    g_seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    g_rng_state = g_seed;
    printf("seed %llu (set QBLAS_TEST_SEED to repeat)%s\n", (unsigned long long)g_seed, g_quick ? ", quick list" : "");

    /* the CUDA backend's device, else (the simulated gfx90a / gfx942) the HIP backend's */
    g_amd = !qblas_backend_available(QBLAS_BACKEND_CUDA) && qblas_backend_available(QBLAS_BACKEND_HIP);
    const qblas_backend_t backend = g_amd ? QBLAS_BACKEND_HIP : QBLAS_BACKEND_CUDA;
    if (!qblas_backend_available(backend)) {
        printf("SKIP: no usable CUDA device (sm_80+) or HIP device (gfx90a, gfx942), the GPU harness did not run\n");
        return 77;
    }
    qblas_status_t st = qblas_create(&g_gh, backend, 0);
    if (st) {
        printf("SKIP: %s handle: %s (%s)\n", g_amd ? "HIP" : "CUDA", qblas_status_string(st), qblas_last_error(NULL));
        return 77;
    }
    if (qblas_create(&g_cpu, QBLAS_BACKEND_CPU, 0)) fatal("CPU handle: %s", qblas_last_error(NULL));
    /* (the harness moves memory through the CUDA runtime's names: on the simulator they serve both devices) */
    struct cudaDeviceProp prop;
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    const char *gfx = getenv("QBLAS_SIM_ARCH");
    if (g_amd && gfx) g_gfx = gfx;
    if (g_amd)
        printf("device: %s (%s, %d CUs)\n", prop.name, gfx ? gfx : "?", prop.multiProcessorCount);
    else
        printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);

    /* one TCase per group, named after it: CK_RUN_CASE=<group> runs one */
    Suite *s = suite_create("gpu_backend_ops");
#define QBG_ADD(g)                        \
    {                                     \
        TCase *tc = tcase_create(#g);     \
        tcase_set_timeout(tc, 0);         \
        tcase_add_test(tc, test_##g);     \
        suite_add_tcase(s, tc);           \
    }
    QBG_GROUPS(QBG_ADD)
#undef QBG_ADD
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    qblas_destroy(g_gh);
    qblas_destroy(g_cpu);
    printf("kernels seen on %s:", prop.name);
    for (int i = 0; i < g_n_kernels; i++) printf(" %s", g_kernels[i]);
    printf("\n");
    /* a run of every group must have run every GEMM configuration of the device's architecture */
    const char *only = getenv("CK_RUN_CASE");
    if (!only || !*only) {
        const int listed = g_amd ? (qb_hip_catalog ? qb_hip_catalog(gfx, check_covered, NULL) : 0)
                                 : qb_cuda_catalog(prop.major * 10 + prop.minor, check_covered, NULL);
        printf("registry coverage: %d of %d configurations ran\n", listed - g_uncovered, listed);
    }
    printf("%d cases passed, %d failed\n", g_pass, g_fail);
    return failed || g_fail || g_uncovered ? 1 : 0;
}
