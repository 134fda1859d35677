/* qblas_tune.c - qblas-tune: time every W4A16 kernel configuration of the
 * current GPU per shape and M bucket, and write a tuning file (docs/TUNING.md).
 *
 *   qblas-tune [--preset llama3-8b | --shapes FILE] [-o FILE] [--act f16|bf16] [--device N]
 *
 * For each weight shape (N, K) and each M bucket (1, 2, 4, ... 4096; the
 * bucket of 4096 reaches to any M) it
 *   - forces each configuration qblas_tuning_kernels() lists, by loading a
 *     one-row tuning file into the handle (the same path users' files take),
 *     and checks with qblas_gemm_query() that the library picked it;
 *   - runs it on fresh random data and compares sampled rows of Y with the
 *     CPU oracle; a configuration that is wrong there never wins;
 *   - times it with CUDA events over weight copies that rotate through more
 *     than twice the L2 cache, so small-M timings are memory-bound as in
 *     decoding;
 *   - times the built-in default (no tuning rows) the same way.
 * It writes one row per (shape, bucket) naming the fastest correct
 * configuration, and prints a summary with the gain over the defaults.
 *
 * Weights are GPTQ-style: random u4 codes, symmetric (zero point 8), f16
 * group scales, group 128, no act-order. QBLAS_CUDA_KERNEL must be unset (it
 * overrides tuning files). Needs a CUDA build of qblas and a GPU.
 */
#define _POSIX_C_SOURCE 200809L
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qblas.h"
#include "../src/common/qblas_numeric.h"

#define MAX_SHAPES 64
#define MAX_CANDIDATES 16
#define SAMPLE_ROWS 8
#define GROUP 128
#define MIN_TIME_MS 20.0f /* each timing runs at least this long ... */
#define MIN_ITERS 10      /* ... and at least this many GEMMs */
#define MAX_ITERS 2000

static const int64_t buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
#define NBUCKETS ((int)(sizeof buckets / sizeof buckets[0]))

typedef struct {
    int64_t n, k;
    const char *what;
} shape;

/* Llama-3-8B's linear layers: qkv, o, gate+up, down. */
static const shape llama3_8b[] = {
    {6144, 4096, "qkv_proj"}, {4096, 4096, "o_proj"}, {28672, 4096, "gate_up_proj"}, {4096, 14336, "down_proj"}};

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "qblas-tune: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

#define QB(call)                                                                                                    \
    do {                                                                                                            \
        qblas_status_t st_ = (call);                                                                                \
        if (st_ != QBLAS_STATUS_SUCCESS) die("%s: %s (%s)", #call, qblas_status_string(st_), qblas_last_error(g.h)); \
    } while (0)
#define CU(call)                                                                 \
    do {                                                                         \
        cudaError_t e_ = (call);                                                 \
        if (e_ != cudaSuccess) die("%s: %s", #call, cudaGetErrorString(e_));    \
    } while (0)

/* ---- options and state ---- */
typedef struct {
    shape shapes[MAX_SHAPES];
    int nshapes;
    const char *out;
    qblas_dtype_t act;
    int device;
} options;

typedef struct {
    qblas_handle_t h, cpu;
    cudaStream_t stream;
    cudaEvent_t ev0, ev1;
    qblas_tuning_header_t header;
    size_t l2_bytes;
    int tty;
    int steps, step; /* progress */
} globals;
static globals g;

/* One result row of the summary. */
typedef struct {
    const shape *s;
    int64_t m_min, m_max, m;
    char best[QBLAS_KERNEL_NAME_MAX], dflt[QBLAS_KERNEL_NAME_MAX];
    float best_us, dflt_us;
    int rejected;
} result;

/* ---- random data ---- */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)((double)(rng() >> 40) / 16777216.0); }

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) die("out of host memory (%zu bytes)", bytes);
    return p;
}

/* ---- the weight of one shape: host canonical copy + rotating packed copies ---- */
#define MAX_COPIES 64
typedef struct {
    const shape *s;
    uint8_t *codes;     /* host [N][K/2] */
    uint16_t *scales;   /* host f16 [K/128][N] */
    float *wmax;        /* [N]: max_k |w(n,k)| <= 8 * max_g s(g,n) (codes - 8 in -8..7) */
    qblas_weight_t host;   /* canonical, host pointers: the CPU oracle's */
    qblas_weight_t packed[MAX_COPIES];
    void *blobs[MAX_COPIES];
    int copies;
    size_t packed_bytes;
} weight;

static qblas_weight_t canonical(const shape *s, const void *codes, const void *scales)
{
    qblas_weight_t w = {.format = QBLAS_WFORMAT_W4A16, .layout = QBLAS_LAYOUT_CANONICAL, .dtype = QBLAS_DTYPE_U4,
                        .n = s->n, .k = s->k, .data = codes, .scale_mode = QBLAS_SCALE_PER_GROUP,
                        .scale_dtype = QBLAS_DTYPE_F16, .scales = scales, .group_size = GROUP};
    return w;
}

static void fill_host_weight(weight *w)
{
    const int64_t n = w->s->n, k = w->s->k, groups = k / GROUP;
    w->codes = xmalloc((size_t)(n * k / 2));
    w->scales = xmalloc((size_t)(groups * n) * 2);
    w->wmax = xmalloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n * k / 2; i++) w->codes[i] = (uint8_t)rng();
    for (int64_t j = 0; j < n; j++) w->wmax[j] = 0.0f;
    for (int64_t gi = 0; gi < groups; gi++)
        for (int64_t j = 0; j < n; j++) {
            uint16_t sc = qb_f32_to_f16(uniform(0.001f, 0.02f));
            w->scales[gi * n + j] = sc;
            float bound = 8.0f * qb_f16_to_f32(sc);
            if (bound > w->wmax[j]) w->wmax[j] = bound;
        }
    w->host = canonical(w->s, w->codes, w->scales);
}

/* Enough prepacked copies to cover twice the L2 cache (at least 2), within half the free memory. */
static int copies_for(const shape *s, size_t bytes)
{
    size_t free_b = 0, total_b = 0;
    CU(cudaMemGetInfo(&free_b, &total_b));
    size_t want = (2 * g.l2_bytes + bytes - 1) / bytes;
    if (want < 2) want = 2;
    if (want > MAX_COPIES) want = MAX_COPIES;
    while (want > 1 && want * bytes > free_b / 2) want--;
    if (want * bytes > free_b / 2) die("shape n=%lld k=%lld does not fit in GPU memory", (long long)s->n, (long long)s->k);
    return (int)want;
}

static void make_weight(const shape *s, weight *w)
{
    memset(w, 0, sizeof *w);
    w->s = s;
    fill_host_weight(w);
    void *dcodes, *dscales;
    size_t cbytes = (size_t)(s->n * s->k / 2), sbytes = (size_t)(s->k / GROUP * s->n) * 2;
    CU(cudaMalloc(&dcodes, cbytes));
    CU(cudaMalloc(&dscales, sbytes));
    CU(cudaMemcpy(dcodes, w->codes, cbytes, cudaMemcpyHostToDevice));
    CU(cudaMemcpy(dscales, w->scales, sbytes, cudaMemcpyHostToDevice));
    qblas_weight_t dev = canonical(s, dcodes, dscales);
    QB(qblas_prepack_size(g.h, &dev, &w->packed_bytes));
    w->copies = copies_for(s, w->packed_bytes);
    for (int c = 0; c < w->copies; c++) {
        CU(cudaMalloc(&w->blobs[c], w->packed_bytes));
        QB(qblas_prepack(g.h, &dev, w->blobs[c], w->packed_bytes, &w->packed[c], g.stream));
    }
    CU(cudaStreamSynchronize(g.stream));
    CU(cudaFree(dcodes));
    CU(cudaFree(dscales));
}

static void free_weight(weight *w)
{
    for (int c = 0; c < w->copies; c++) CU(cudaFree(w->blobs[c]));
    free(w->codes), free(w->scales), free(w->wmax);
}

/* ---- one problem: X [M][K], Y [M][N], and the oracle's sampled rows ---- */
typedef struct {
    int64_t m;
    void *x_dev, *y_dev;
    int64_t rows[SAMPLE_ROWS];
    int nrows;
    float *ref;   /* [nrows][N], the CPU oracle in f32 */
    double *tol;  /* [nrows][N] */
} problem;

static qblas_dtype_t act_dtype;

static uint16_t act_bits(float v) { return act_dtype == QBLAS_DTYPE_BF16 ? qb_f32_to_bf16(v) : qb_f32_to_f16(v); }
static float act_value(uint16_t b) { return act_dtype == QBLAS_DTYPE_BF16 ? qb_bf16_to_f32(b) : qb_f16_to_f32(b); }

/* Half an ulp of the activation dtype at |v| (f16: 11 significant bits, bf16: 8), with the subnormal floor. */
static double half_ulp(double v)
{
    int e;
    const int bits = act_dtype == QBLAS_DTYPE_BF16 ? 8 : 11;
    const double floor_ = act_dtype == QBLAS_DTYPE_BF16 ? ldexp(1.0, -134) : ldexp(1.0, -25);
    frexp(fabs(v), &e);
    double h = ldexp(1.0, e - 1 - bits);
    return h > floor_ ? h : floor_;
}

static void pick_rows(problem *p)
{
    p->nrows = 0;
    for (int tries = 0; p->nrows < SAMPLE_ROWS && tries < 4 * SAMPLE_ROWS; tries++) {
        int64_t r = tries == 0 ? 0 : tries == 1 ? p->m - 1 : (int64_t)(rng() % (uint64_t)p->m);
        int dup = 0;
        for (int i = 0; i < p->nrows; i++) dup |= p->rows[i] == r;
        if (!dup) p->rows[p->nrows++] = r;
    }
}

/* The oracle on the sampled rows, and each element's tolerance:
 * both sides sum the same K exact products (w is rounded to the activation
 * dtype first on both, docs/FORMATS.md) in fp32 in different orders, so
 * they differ by at most 2 * gamma_K * sum_k |x*w| <= 2 * gamma_K * S_r * wmax_n
 * (S_r = sum_k |x(r,k)|); the GPU then rounds to the activation dtype: half
 * an ulp at the result's magnitude. */
static void oracle(const weight *w, const uint16_t *x, problem *p)
{
    const int64_t n = w->s->n, k = w->s->k;
    uint16_t *xs = xmalloc((size_t)(p->nrows * k) * 2);
    for (int i = 0; i < p->nrows; i++) memcpy(xs + i * k, x + p->rows[i] * k, (size_t)k * 2);
    qblas_act_t xa = {.dtype = act_dtype, .data = xs, .ld = k};
    qblas_kernel_info_t info;
    QB(qblas_gemm_query(g.cpu, p->nrows, n, k, &xa, &w->host, QBLAS_DTYPE_F32, &info));
    void *ws = xmalloc(info.workspace_bytes);
    p->ref = xmalloc((size_t)(p->nrows * n) * sizeof(float));
    p->tol = xmalloc((size_t)(p->nrows * n) * sizeof(double));
    QB(qblas_gemm(g.cpu, p->nrows, n, k, &xa, &w->host, NULL, QBLAS_DTYPE_F32, p->ref, n, ws, info.workspace_bytes, NULL));
    const double u = ldexp(1.0, -24), gamma = k * u / (1.0 - k * u);
    for (int i = 0; i < p->nrows; i++) {
        double sx = 0.0;
        for (int64_t c = 0; c < k; c++) sx += fabs(act_value(xs[i * k + c]));
        for (int64_t j = 0; j < n; j++) {
            double sum_err = 2.0 * gamma * sx * w->wmax[j];
            p->tol[i * n + j] = sum_err + half_ulp(fabs(p->ref[i * n + j]) + sum_err);
        }
    }
    free(ws), free(xs);
}

static void make_problem(const weight *w, int64_t m, problem *p)
{
    const int64_t k = w->s->k;
    memset(p, 0, sizeof *p);
    p->m = m;
    uint16_t *x = xmalloc((size_t)(m * k) * 2);
    for (int64_t i = 0; i < m * k; i++) x[i] = act_bits(uniform(-1.0f, 1.0f));
    CU(cudaMalloc(&p->x_dev, (size_t)(m * k) * 2));
    CU(cudaMalloc(&p->y_dev, (size_t)(m * w->s->n) * 2));
    CU(cudaMemcpy(p->x_dev, x, (size_t)(m * k) * 2, cudaMemcpyHostToDevice));
    pick_rows(p);
    oracle(w, x, p);
    free(x);
}

static void free_problem(problem *p)
{
    CU(cudaFree(p->x_dev));
    CU(cudaFree(p->y_dev));
    free(p->ref), free(p->tol);
}

/* ---- running, checking, timing ---- */
static void *ws_dev;
static size_t ws_cap;

static qblas_act_t act_of(const problem *p, const weight *w)
{
    qblas_act_t x = {.dtype = act_dtype, .data = p->x_dev, .ld = w->s->k};
    return x;
}

/* The kernel the library would run now, and room for its workspace. */
static void query(const weight *w, const problem *p, char *name)
{
    qblas_kernel_info_t info;
    qblas_act_t x = act_of(p, w);
    QB(qblas_gemm_query(g.h, p->m, w->s->n, w->s->k, &x, &w->packed[0], act_dtype, &info));
    if (info.workspace_bytes > ws_cap) {
        if (ws_dev) CU(cudaFree(ws_dev));
        CU(cudaMalloc(&ws_dev, info.workspace_bytes));
        ws_cap = info.workspace_bytes;
    }
    snprintf(name, QBLAS_KERNEL_NAME_MAX, "%s", info.kernel_name);
}

static void run(const weight *w, const problem *p, int copy)
{
    qblas_act_t x = act_of(p, w);
    QB(qblas_gemm(g.h, p->m, w->s->n, w->s->k, &x, &w->packed[copy], NULL, act_dtype, p->y_dev, w->s->n, ws_dev,
                  ws_cap, g.stream));
}

/* Y poisoned (0xFF: NaN), one run, sampled rows against the oracle. */
static int correct(const weight *w, const problem *p)
{
    const int64_t n = w->s->n;
    uint16_t *row = xmalloc((size_t)n * 2);
    int ok = 1;
    CU(cudaMemsetAsync(p->y_dev, 0xFF, (size_t)(p->m * n) * 2, g.stream));
    run(w, p, 0);
    CU(cudaStreamSynchronize(g.stream));
    for (int i = 0; i < p->nrows && ok; i++) {
        CU(cudaMemcpy(row, (const uint16_t *)p->y_dev + p->rows[i] * n, (size_t)n * 2, cudaMemcpyDeviceToHost));
        for (int64_t j = 0; j < n && ok; j++) {
            double got = act_value(row[j]), ref = p->ref[i * n + j];
            ok = got == got && fabs(got - ref) <= p->tol[i * n + j];
        }
    }
    free(row);
    return ok;
}

/* Microseconds per GEMM, rotating over the weight copies. */
static float time_us(const weight *w, const problem *p)
{
    for (int i = 0; i < 3; i++) run(w, p, i % w->copies);
    for (int iters = MIN_ITERS;; iters *= 2) {
        float ms = 0.0f;
        CU(cudaEventRecord(g.ev0, g.stream));
        for (int i = 0; i < iters; i++) run(w, p, i % w->copies);
        CU(cudaEventRecord(g.ev1, g.stream));
        CU(cudaEventSynchronize(g.ev1));
        CU(cudaEventElapsedTime(&ms, g.ev0, g.ev1));
        if (ms >= MIN_TIME_MS || iters * 2 > MAX_ITERS) return ms * 1000.0f / (float)iters;
    }
}

/* Make the handle run `kernel` for this shape: a one-row tuning file. */
static void force(const weight *w, const problem *p, const char *kernel)
{
    qblas_tuning_row_t r = {.format = QBLAS_WFORMAT_W4A16, .act = act_dtype, .m_min = p->m, .m_max = p->m,
                            .n = w->s->n, .k = w->s->k, .config = "-", .time_us = 1.0};
    char buf[1024];
    size_t len;
    snprintf(r.kernel, sizeof r.kernel, "%s", kernel);
    QB(qblas_tuning_write(&g.header, &r, 1, buf, sizeof buf, &len));
    QB(qblas_tuning_load_buffer(g.h, buf, len));
}

/* ---- progress ---- */
static void progress(const char *what)
{
    g.step++;
    if (!g.tty) return;
    const int width = 30, done = g.steps ? g.step * width / g.steps : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < done ? '#' : '.';
    bar[width] = '\0';
    printf("\r[%s] %3d%% %-60.60s", bar, g.steps ? 100 * g.step / g.steps : 100, what);
    fflush(stdout);
}

/* ---- tuning one (shape, bucket) ---- */
static void config_of(const char *ran, const char *base, char *config)
{
    const char *v = ran + strlen(base); /* "", "_f32dq", "_splitk", "_f32dq_splitk" */
    size_t n = 0;
    for (v += *v == '_'; *v && n + 1 < QBLAS_TUNING_CONFIG_MAX; v++) config[n++] = *v == '_' ? ',' : *v;
    config[n] = '\0';
    if (n == 0) snprintf(config, QBLAS_TUNING_CONFIG_MAX, "-");
}

/* 1 and *row filled when a correct configuration was found. */
static int tune_bucket(const weight *w, int b, const char *const *cands, size_t ncands, result *res,
                       qblas_tuning_row_t *row)
{
    problem p;
    char ran[QBLAS_KERNEL_NAME_MAX], what[128], config[QBLAS_TUNING_CONFIG_MAX] = "-";
    make_problem(w, buckets[b], &p);
    memset(res, 0, sizeof *res);
    res->s = w->s;
    res->m = p.m;
    res->m_min = b ? buckets[b - 1] + 1 : 1;
    res->m_max = b == NBUCKETS - 1 ? 2147483647 : buckets[b];
    QB(qblas_tuning_clear(g.h));
    query(w, &p, res->dflt);
    if (!correct(w, &p)) die("the default kernel %s is wrong at n=%lld k=%lld m=%lld: run the GPU test suite",
                             res->dflt, (long long)w->s->n, (long long)w->s->k, (long long)p.m);
    res->dflt_us = time_us(w, &p);
    snprintf(what, sizeof what, "%s m=%lld default", w->s->what, (long long)p.m);
    progress(what);
    res->best_us = INFINITY;
    for (size_t c = 0; c < ncands; c++) {
        force(w, &p, cands[c]);
        query(w, &p, ran);
        if (strncmp(ran, cands[c], strlen(cands[c])) != 0) die("forced %s but the library chose %s", cands[c], ran);
        snprintf(what, sizeof what, "%s m=%lld %s", w->s->what, (long long)p.m, cands[c]);
        progress(what);
        if (!correct(w, &p)) {
            res->rejected++;
            fprintf(stderr, "%sqblas-tune: %s gives wrong results at n=%lld k=%lld m=%lld: not a candidate\n",
                    g.tty ? "\n" : "", ran, (long long)w->s->n, (long long)w->s->k, (long long)p.m);
            continue;
        }
        float us = time_us(w, &p);
        if (us < res->best_us) {
            res->best_us = us;
            snprintf(res->best, sizeof res->best, "%s", cands[c]);
            config_of(ran, cands[c], config);
        }
    }
    QB(qblas_tuning_clear(g.h));
    free_problem(&p);
    if (!g.tty)
        printf("%-14s n=%-6lld k=%-6lld m=%-5lld default %8.2f us  best %s %8.2f us\n", w->s->what,
               (long long)w->s->n, (long long)w->s->k, (long long)res->m, res->dflt_us, res->best, res->best_us);
    if (!res->best[0]) return 0;
    *row = (qblas_tuning_row_t){.format = QBLAS_WFORMAT_W4A16, .act = act_dtype, .m_min = res->m_min,
                                .m_max = res->m_max, .n = w->s->n, .k = w->s->k, .time_us = res->best_us};
    snprintf(row->kernel, sizeof row->kernel, "%s", res->best);
    snprintf(row->config, sizeof row->config, "%s", config);
    return 1;
}

/* ---- options ---- */
static void usage(void)
{
    printf("usage: qblas-tune [--preset llama3-8b | --shapes FILE] [-o FILE] [--act f16|bf16] [--device N]\n"
           "  --preset llama3-8b  Llama-3-8B linear layers (default)\n"
           "  --shapes FILE       lines 'N K [name]' ('#' comments); K a multiple of 128\n"
           "  -o FILE             tuning file to write (default qblas_tuning.txt)\n"
           "  --act f16|bf16      activation dtype to tune (default f16)\n"
           "  --device N          CUDA device (default 0)\n"
           "Load the result with QBLAS_TUNING_FILE=FILE or qblas_tuning_load_file(); docs/TUNING.md.\n");
}

static void read_shapes(const char *path, options *o)
{
    FILE *f = fopen(path, "r");
    char line[256];
    if (!f) die("cannot open %s", path);
    o->nshapes = 0;
    for (int ln = 1; fgets(line, sizeof line, f); ln++) {
        long long n, k;
        char name[64] = "";
        char *c = line + strspn(line, " \t");
        if (*c == '#' || *c == '\n' || *c == '\0') continue;
        if (sscanf(c, "%lld %lld %63s", &n, &k, name) < 2 || n < 1 || n > (1 << 24) || k < GROUP || k > (1 << 20) ||
            k % GROUP)
            die("%s:%d: want 'N K [name]', 1 <= N <= 2^24, K a multiple of %d up to 2^20", path, ln, GROUP);
        if (o->nshapes == MAX_SHAPES) die("%s: more than %d shapes", path, MAX_SHAPES);
        shape *s = &o->shapes[o->nshapes++];
        s->n = n;
        s->k = k;
        s->what = name[0] ? strdup(name) : "shape";
    }
    fclose(f);
    if (o->nshapes == 0) die("%s holds no shapes", path);
}

static void parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->out = "qblas_tuning.txt";
    o->act = QBLAS_DTYPE_F16;
    memcpy(o->shapes, llama3_8b, sizeof llama3_8b);
    o->nshapes = (int)(sizeof llama3_8b / sizeof llama3_8b[0]);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(), exit(0);
        if (!v) die("%s needs a value (--help)", a);
        i++;
        if (!strcmp(a, "--preset")) {
            if (strcmp(v, "llama3-8b")) die("unknown preset %s (llama3-8b)", v);
            memcpy(o->shapes, llama3_8b, sizeof llama3_8b);
            o->nshapes = (int)(sizeof llama3_8b / sizeof llama3_8b[0]);
        } else if (!strcmp(a, "--shapes")) {
            read_shapes(v, o);
        } else if (!strcmp(a, "-o")) {
            o->out = v;
        } else if (!strcmp(a, "--act")) {
            if (strcmp(v, "f16") && strcmp(v, "bf16")) die("--act is f16 or bf16");
            o->act = strcmp(v, "bf16") ? QBLAS_DTYPE_F16 : QBLAS_DTYPE_BF16;
        } else if (!strcmp(a, "--device")) {
            o->device = atoi(v);
        } else {
            die("unknown option %s (--help)", a);
        }
    }
}

/* ---- setup, writing, checking the file, summary ---- */
static void setup(const options *o)
{
    const char *forced = getenv("QBLAS_CUDA_KERNEL");
    int l2 = 0;
    if (forced && *forced) die("QBLAS_CUDA_KERNEL=%s is set: it overrides tuning files; unset it", forced);
    unsetenv("QBLAS_TUNING_FILE"); /* a stale file must not fail qblas_create or bias the defaults */
    CU(cudaSetDevice(o->device));
    QB(qblas_create(&g.h, QBLAS_BACKEND_CUDA, o->device));
    QB(qblas_create(&g.cpu, QBLAS_BACKEND_CPU, 0));
    QB(qblas_tuning_device(g.h, &g.header));
    CU(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, o->device));
    g.l2_bytes = l2 > 0 ? (size_t)l2 : (size_t)64 << 20;
    CU(cudaStreamCreate(&g.stream));
    CU(cudaEventCreate(&g.ev0));
    CU(cudaEventCreate(&g.ev1));
    g.tty = isatty(STDOUT_FILENO);
    act_dtype = o->act;
}

static void write_file(const char *path, const qblas_tuning_row_t *rows, size_t n)
{
    size_t cap = 256 * (n + 16), len;
    char *buf = xmalloc(cap);
    QB(qblas_tuning_write(&g.header, rows, n, buf, cap, &len));
    FILE *f = fopen(path, "w");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) die("cannot write %s", path);
    free(buf);
}

/* The written file loads, and the library then picks each row's kernel. */
static void verify(const char *path, const qblas_tuning_row_t *rows, size_t n, const options *o)
{
    QB(qblas_tuning_load_file(g.h, path));
    for (size_t i = 0; i < n; i++) {
        const shape s = {rows[i].n, rows[i].k, ""};
        qblas_weight_t probe = {.format = QBLAS_WFORMAT_W4A16, .layout = QBLAS_LAYOUT_CUDA_W4A16,
                                  .dtype = QBLAS_DTYPE_U4, .n = s.n, .k = s.k, .scale_mode = QBLAS_SCALE_PER_GROUP,
                                  .scale_dtype = QBLAS_DTYPE_F16, .group_size = GROUP};
        static const uint16_t dummy[8] __attribute__((aligned(16)));
        probe.data = probe.scales = dummy; /* the query reads no weight memory */
        qblas_act_t x = {.dtype = o->act, .data = dummy, .ld = s.k};
        qblas_kernel_info_t info;
        QB(qblas_gemm_query(g.h, rows[i].m_min, s.n, s.k, &x, &probe, o->act, &info));
        if (strncmp(info.kernel_name, rows[i].kernel, strlen(rows[i].kernel)) != 0)
            die("%s loaded, but n=%lld k=%lld m=%lld runs %s instead of %s", path, (long long)s.n, (long long)s.k,
                (long long)rows[i].m_min, info.kernel_name, rows[i].kernel);
    }
    QB(qblas_tuning_clear(g.h));
}

static void summary(const result *res, int nres, const options *o, size_t rows)
{
    double log_gain = 0.0;
    int counted = 0, rejected = 0;
    printf("%sqblas-tune: %s (cc %d, %d SMs), %s activations, %d shapes x %d M buckets\n", g.tty ? "\n" : "",
           g.header.device, g.header.cc, g.header.sms, qblas_dtype_name(o->act), o->nshapes, NBUCKETS);
    printf("%-14s %6s %6s %-17s %10s %10s %6s  %s\n", "layer", "N", "K", "M", "default us", "tuned us", "gain",
           "kernel");
    for (int i = 0; i < nres; i++) {
        const result *r = &res[i];
        char mr[32];
        snprintf(mr, sizeof mr, "%lld..%lld", (long long)r->m_min, (long long)r->m_max);
        rejected += r->rejected;
        if (!r->best[0]) {
            printf("%-14s %6lld %6lld %-17s %10.2f %10s %6s  (no correct configuration)\n", r->s->what,
                   (long long)r->s->n, (long long)r->s->k, mr, r->dflt_us, "-", "-");
            continue;
        }
        double gain = r->dflt_us / r->best_us;
        log_gain += log(gain);
        counted++;
        printf("%-14s %6lld %6lld %-17s %10.2f %10.2f %5.2fx  %s\n", r->s->what, (long long)r->s->n,
               (long long)r->s->k, mr, r->dflt_us, r->best_us, gain, r->best);
    }
    printf("geometric-mean gain over the built-in defaults: %.3fx over %d cases; %d wrong configurations rejected\n",
           counted ? exp(log_gain / counted) : 1.0, counted, rejected);
    printf("wrote %s: %zu rows; the library loads it and picks the tuned kernels (checked)\n", o->out, rows);
}

int main(int argc, char **argv)
{
    options o;
    const char *cands[MAX_CANDIDATES];
    size_t ncands = 0;
    parse_args(argc, argv, &o);
    setup(&o);
    QB(qblas_tuning_kernels(g.h, QBLAS_WFORMAT_W4A16, o.act, cands, MAX_CANDIDATES, &ncands));
    if (ncands == 0) die("this GPU has no W4A16 %s configurations", qblas_dtype_name(o.act));
    if (ncands > MAX_CANDIDATES) ncands = MAX_CANDIDATES;
    const int cases = o.nshapes * NBUCKETS;
    result *res = xmalloc((size_t)cases * sizeof *res);
    qblas_tuning_row_t *rows = xmalloc((size_t)cases * sizeof *rows);
    size_t nrows = 0;
    g.steps = cases * (int)(ncands + 1);
    for (int s = 0; s < o.nshapes; s++) {
        weight w;
        make_weight(&o.shapes[s], &w);
        for (int b = 0; b < NBUCKETS; b++) nrows += tune_bucket(&w, b, cands, ncands, &res[s * NBUCKETS + b], &rows[nrows]);
        free_weight(&w);
    }
    write_file(o.out, rows, nrows);
    verify(o.out, rows, nrows, &o);
    summary(res, cases, &o, nrows);
    free(res), free(rows);
    if (ws_dev) CU(cudaFree(ws_dev));
    qblas_destroy(g.h);
    qblas_destroy(g.cpu);
    return 0;
}
