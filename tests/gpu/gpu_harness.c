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

static char *g_kernels[128];
static int g_n_kernels;
void note_kernel(const char *name)
{
    if (!name || !*name) return;
    for (int i = 0; i < g_n_kernels; i++)
        if (strcmp(g_kernels[i], name) == 0) return;
    if (g_n_kernels < 128) g_kernels[g_n_kernels++] = strdup(name);
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
        ck_assert_msg(g_fail == before, "%d %s case(s) failed [seed %llu]", g_fail - before, #g,                  \
                      (unsigned long long)g_seed);                                                                \
    }                                                                                                             \
    END_TEST
QBG_GROUPS(QBG_TEST)
#undef QBG_TEST

int main(int argc, char **argv)
{
    const char *env = getenv("QBLAS_TEST_SEED"), *quick = getenv("QBLAS_GPU_QUICK");
    g_quick = (quick && *quick && strcmp(quick, "0") != 0) || (argc > 1 && strcmp(argv[1], "--quick") == 0);
    g_seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    g_rng_state = g_seed;
    printf("seed %llu (set QBLAS_TEST_SEED to repeat)%s\n", (unsigned long long)g_seed, g_quick ? ", quick list" : "");

    if (!qblas_backend_available(QBLAS_BACKEND_CUDA)) {
        printf("SKIP: no usable CUDA device (sm_80+), the GPU harness did not run\n");
        return 77;
    }
    qblas_status_t st = qblas_create(&g_gh, QBLAS_BACKEND_CUDA, 0);
    if (st) {
        printf("SKIP: CUDA handle: %s (%s)\n", qblas_status_string(st), qblas_last_error(NULL));
        return 77;
    }
    if (qblas_create(&g_cpu, QBLAS_BACKEND_CPU, 0)) fatal("CPU handle: %s", qblas_last_error(NULL));
    struct cudaDeviceProp prop;
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
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
    printf("kernels seen:");
    for (int i = 0; i < g_n_kernels; i++) printf(" %s", g_kernels[i]);
    printf("\n%d cases passed, %d failed\n", g_pass, g_fail);
    return failed || g_fail ? 1 : 0;
}
