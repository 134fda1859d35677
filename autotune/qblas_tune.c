/* qblas_tune.c - qblas-tune: time every kernel configuration of the current
 * GPU, for every tunable family (problem/: qbp_families), per layer shape
 * and M bucket of a model preset, and write one tuning file (docs/TUNING.md).
 *
 *   qblas-tune [--preset llama3-8b|llama3-70b|tiny] [--family NAME]... [--shapes FILE]
 *              [-o FILE] [--device N] [--min-ms MS] [--min-iters N]
 *
 * For each family, shape and M bucket (GEMM: rows of X; decode: sequences;
 * prefill: query tokens; each bucket measured at its upper end, the last
 * reaching to any M) it
 *   - plans and runs the built-in default (no tuning rows), checks it
 *     against the CPU oracle and times it;
 *   - forces each configuration qblas_tuning_candidates() lists, by loading
 *     a one-row tuning file (the path users' files take), and checks that
 *     the plan then names it;
 *   - runs it and compares sampled output rows with the CPU oracle: a
 *     configuration that is wrong there never wins;
 *   - times it with CUDA events, through the plan (as an engine calls),
 *     over weight copies rotating through twice the L2 cache.
 * It writes one row per (family, shape, bucket) naming the fastest correct
 * configuration, loads the written file back, checks that the library's
 * queries then pick every row's configuration, and prints a summary.
 *
 * QBLAS_CUDA_KERNEL must be unset (it overrides tuning files). Needs a CUDA
 * build of qblas; on the simulated device (src/sim) it runs the same logic
 * with meaningless times (the tiny preset is the CI's end-to-end test).
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

#include "qb_problem.h"
#include "qblas.h"

#define MAX_SHAPES 64
#define MAX_BUCKETS 16
#define MAX_CANDIDATES 32
#define MAX_ITERS 2000
#define M_ANY 2147483647LL /* the last bucket's upper bound: any M */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\nqblas-tune: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

#define QB(call, h)                                                                                                 \
    do {                                                                                                            \
        qblas_status_t st_ = (call);                                                                                \
        if (st_ != QBLAS_STATUS_SUCCESS) die("%s: %s (%s)", #call, qblas_status_string(st_), qblas_last_error(h)); \
    } while (0)
#define CU(call)                                                              \
    do {                                                                      \
        cudaError_t e_ = (call);                                              \
        if (e_ != cudaSuccess) die("%s: %s", #call, cudaGetErrorString(e_)); \
    } while (0)

/* ---- presets: a model's layer shapes and the M buckets tuned ---- */
typedef struct {
    int64_t n, k;
    const char *what;
} shape;

typedef struct {
    const char *name;
    shape gemm[MAX_SHAPES];
    int64_t gemm_m[MAX_BUCKETS];          /* bucket upper ends, ascending, 0-terminated */
    int32_t heads_q, heads_kv, head_dim;  /* attention */
    int32_t context;                      /* keys per sequence */
    int64_t decode_m[MAX_BUCKETS];        /* sequences */
    int64_t prefill_m[MAX_BUCKETS];       /* query tokens (over ceil(tokens / context) sequences) */
} preset;

#define POW2_BUCKETS {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}
static const preset presets[] = {
    /* Llama-3-8B: hidden 4096, 32 query / 8 KV heads of 128, MLP 14336: qkv, o, gate+up, down.
     * Prefill buckets stop at 2048 tokens (the last covers any M): the CPU
     * oracle's check of a longer causal prefill takes minutes. */
    {"llama3-8b",
     {{6144, 4096, "qkv_proj"}, {4096, 4096, "o_proj"}, {28672, 4096, "gate_up_proj"}, {4096, 14336, "down_proj"}},
     POW2_BUCKETS, 32, 8, 128, 4096, {1, 2, 4, 8, 16, 32, 64, 128, 256}, {128, 512, 2048}},
    /* Llama-3-70B: hidden 8192, 64 query / 8 KV heads of 128, MLP 28672 */
    {"llama3-70b",
     {{10240, 8192, "qkv_proj"}, {8192, 8192, "o_proj"}, {57344, 8192, "gate_up_proj"}, {8192, 28672, "down_proj"}},
     POW2_BUCKETS, 64, 8, 128, 4096, {1, 2, 4, 8, 16, 32, 64, 128, 256}, {128, 512, 2048}},
    /* the CI's end-to-end run on the simulated device: the harness's small shapes, two buckets each */
    {"tiny", {{256, 384, "tiny"}}, {4, 40}, 8, 2, 64, 300, {1, 3}, {32, 96}},
};
#define NPRESETS ((int)(sizeof presets / sizeof presets[0]))

static int count(const int64_t *v)
{
    int n = 0;
    while (n < MAX_BUCKETS && v[n]) n++;
    return n;
}

/* ---- options and state ---- */
typedef struct {
    preset p;
    int nshapes;
    const qbp_family *fams[32];
    int nfams;
    const char *out;
    int device;
    double min_ms; /* each timing runs at least this long ... */
    int min_iters; /* ... and at least this many calls */
} options;

static struct {
    qblas_handle_t h, cpu;
    qbp_env env;      /* runs: weight copies rotating through 2x L2, host copies for the oracle */
    cudaStream_t stream;
    cudaEvent_t ev0, ev1;
    qblas_tuning_header_t header;
    int tty, steps, step;
} g;

/* One (family, shape, bucket) of the summary. */
typedef struct {
    const qbp_family *f;
    const shape *s;
    int64_t m_min, m_max, m;
    char dflt[QBLAS_KERNEL_NAME_MAX], best[QBLAS_KERNEL_NAME_MAX];
    double dflt_us, best_us;
    int rejected;
} result;

/* ---- progress: a bar on a terminal, nothing else (the per-case lines say it) ---- */
static void progress(const char *what)
{
    g.step++;
    if (!g.tty) return;
    const int width = 30, done = g.steps ? g.step * width / g.steps : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < done ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %3d%% %-70.70s", bar, g.steps ? 100 * g.step / g.steps : 100, what);
    fflush(stderr);
}

/* ---- problems ---- */
static const int64_t *buckets_of(const options *o, const qbp_family *f)
{
    return f->spec.kind == QBP_GEMM ? o->p.gemm_m : f->spec.kind == QBP_DECODE ? o->p.decode_m : o->p.prefill_m;
}

/* GEMM families: every shape; attention: the preset's one head layout. */
static int shapes_of(const options *o, const qbp_family *f) { return f->spec.kind == QBP_GEMM ? o->nshapes : 1; }

/* The spec of family f at shape si for runs up to m (config: see qbp_family_spec). */
static qbp_spec spec_of(const options *o, const qbp_family *f, int si, int64_t m, const char *config)
{
    const preset *p = &o->p;
    qbp_spec s = f->spec.kind == QBP_GEMM ? qbp_family_spec(f, m, p->gemm[si].n, p->gemm[si].k, 0, config)
                                          : qbp_family_spec(f, m, p->heads_q, p->heads_kv, p->head_dim, config);
    if (s.kind != QBP_GEMM) {
        /* prefill: m tokens over enough sequences of `context` keys */
        s.seqs = s.kind == QBP_PREFILL ? (int32_t)((m + p->context - 1) / p->context) : s.seqs;
        s.context = s.kind == QBP_PREFILL && m < p->context ? (int32_t)m : p->context;
        if (s.kind == QBP_PREFILL && m % s.seqs) die("preset %s: prefill bucket %lld over %d sequences", p->name,
                                                     (long long)m, s.seqs);
    }
    return s;
}

/* NULL: the family does not run on this device (NOT_SUPPORTED). */
static qbp_problem *make_problem(qbp_env *env, const qbp_spec *s)
{
    char err[256], name[64];
    qbp_problem *p = NULL;
    const int rc = qbp_create(env, s, &p, err, sizeof err);
    qbp_spec_name(s, name, sizeof name);
    if (rc == QBP_ERROR) die("problem %s: %s", name, err);
    return p;
}

/* The plan for m with the handle's rows as they are; dies on failure. */
static void plan(qbp_problem *p, int64_t m, qbp_plan *pl) { QB(qbp_plan_make(p, m, pl), g.h); }

/* One run with the plan into poisoned output, checked against the oracle. */
static int correct(qbp_problem *p, int64_t m, const qbp_plan *pl, char *why, size_t len)
{
    const qbp_spec *s = &p->spec;
    const size_t ybytes = s->kind == QBP_GEMM ? (size_t)(m * s->n) * (s->y_dtype == QBLAS_DTYPE_F32 ? 4 : 2)
                                              : (size_t)s->m_max * s->heads_q * s->head_dim * 2;
    CU(cudaMemsetAsync(p->y, 0xFF, ybytes, g.stream)); /* NaN: a row the kernel skips fails the check */
    qblas_status_t st = qbp_run(p, m, pl, g.stream);
    if (st) return snprintf(why, len, "%s (%s)", qblas_status_string(st), qblas_last_error(g.h)), 0;
    return qbp_check(p, m, why, len);
}

/* Microseconds per call with the plan, rotating over the weight copies. */
static double time_us(qbp_problem *p, int64_t m, const qbp_plan *pl, const options *o)
{
    QB(qbp_run(p, m, pl, g.stream), g.h); /* warm-up: module load, first touch */
    for (int iters = o->min_iters;; iters *= 2) {
        float ms = 0.0f;
        CU(cudaEventRecord(g.ev0, g.stream));
        for (int i = 0; i < iters; i++) QB(qbp_run(p, m, pl, g.stream), g.h);
        CU(cudaEventRecord(g.ev1, g.stream));
        CU(cudaEventSynchronize(g.ev1));
        CU(cudaEventElapsedTime(&ms, g.ev0, g.ev1));
        if (ms >= o->min_ms || iters * 2 > MAX_ITERS) return (double)ms * 1000.0 / iters;
    }
}

/* The configurations a row of f may name here (static strings of the library). */
static size_t candidates(const qbp_family *f, const char **names)
{
    size_t n = 0;
    QB(qblas_tuning_candidates(g.h, &f->key, names, MAX_CANDIDATES, &n), g.h);
    return n < MAX_CANDIDATES ? n : MAX_CANDIDATES;
}

/* ---- one (family, shape, bucket) ---- */

/* 1 and *row filled when a correct configuration won. */
static int tune_bucket(const options *o, const qbp_family *f, int si, qbp_problem *p, int64_t m_min, int64_t m,
                       int64_t m_max, const char *const *cands, size_t nc, result *res, qblas_tuning_entry_t *row)
{
    char what[160], why[256], label[64];
    qbp_plan pl;
    memset(res, 0, sizeof *res);
    res->f = f, res->s = &o->p.gemm[si], res->m_min = m_min, res->m_max = m_max, res->m = m;
    snprintf(label, sizeof label, "%s %s m=%lld", f->name, f->spec.kind == QBP_GEMM ? o->p.gemm[si].what : "attn",
             (long long)m);
    QB(qblas_tuning_clear(g.h), g.h);
    plan(p, m, &pl);
    snprintf(res->dflt, sizeof res->dflt, "%s", qbp_plan_config(p, &pl));
    if (!correct(p, m, &pl, why, sizeof why))
        die("%s: the default %s is wrong (%s): run the GPU test suite", label, res->dflt, why);
    res->dflt_us = time_us(p, m, &pl, o);
    snprintf(what, sizeof what, "%s default", label);
    progress(what);
    res->best_us = INFINITY;
    qblas_tuning_entry_t won = {0};
    for (size_t c = 0; c < nc; c++) {
        snprintf(what, sizeof what, "%s %s", label, cands[c]);
        progress(what);
        /* one key, several weights (2:4 fp8: e5m2, block scales): this problem's only */
        const qbp_spec want = spec_of(o, f, si, p->spec.m_max, cands[c]);
        if (want.w_dtype != p->spec.w_dtype || want.w_scale != p->spec.w_scale || want.x_scale != p->spec.x_scale)
            continue;
        const qblas_tuning_entry_t one = qbp_tuning_row(f, &p->spec, m, m, cands[c]);
        QB(qbp_tuning_load(g.h, &one, 1), g.h);
        plan(p, m, &pl);
        if (strcmp(qbp_plan_config(p, &pl), cands[c]) != 0)
            die("%s: a row naming %s, but the library chose %s", label, cands[c], qbp_plan_config(p, &pl));
        if (!correct(p, m, &pl, why, sizeof why)) {
            res->rejected++;
            fprintf(stderr, "%sqblas-tune: %s: %s is wrong (%s): not a candidate\n", g.tty ? "\n" : "", label,
                    cands[c], why);
            continue;
        }
        const double us = time_us(p, m, &pl, o);
        if (us < res->best_us) {
            res->best_us = us;
            snprintf(res->best, sizeof res->best, "%s", cands[c]);
            won = qbp_tuning_row(f, &p->spec, m_min, m_max, cands[c]);
            const int32_t splits = f->spec.kind == QBP_GEMM ? pl.gemm.splits : pl.attn.splits;
            if (splits > 1) snprintf(won.config, sizeof won.config, "splits=%d", (int)splits);
        }
    }
    QB(qblas_tuning_clear(g.h), g.h);
    if (!g.tty)
        printf("%-40s default %-40s %10.2f us   best %-40s %10.2f us\n", label, res->dflt, res->dflt_us,
               res->best[0] ? res->best : "-", res->best_us);
    if (!res->best[0]) return 0;
    won.time_us = res->best_us < 0.001 ? 0.001 : res->best_us > 999999999.0 ? 999999999.0 : res->best_us;
    *row = won;
    return 1;
}

/* ---- options ---- */
static void usage(void)
{
    printf("usage: qblas-tune [--preset NAME] [--family NAME]... [--shapes FILE] [-o FILE] [--device N]\n"
           "                  [--min-ms MS] [--min-iters N]\n"
           "  --preset NAME    llama3-8b (default), llama3-70b, tiny (the CI's run on the simulated device)\n"
           "  --family NAME    tune only these families (repeatable; default all):");
    for (int i = 0; i < qbp_nfamilies; i++) printf(" %s", qbp_families[i].name);
    printf("\n  --shapes FILE    GEMM shapes instead of the preset's: lines 'N K [name]' ('#' comments)\n"
           "  -o FILE          tuning file to write (default qblas_tuning.txt)\n"
           "  --device N       CUDA device (default 0)\n"
           "  --min-ms MS      each timing runs at least MS milliseconds (default 20) ...\n"
           "  --min-iters N    ... and at least N calls (default 10)\n"
           "Load the result with QBLAS_TUNING_FILE=FILE or qblas_tuning_load_file(); docs/TUNING.md.\n");
}

static void read_shapes(const char *path, options *o)
{
    FILE *f = fopen(path, "r");
    char line[256];
    if (!f) die("cannot open %s", path);
    o->nshapes = 0;
    memset(o->p.gemm, 0, sizeof o->p.gemm);
    for (int ln = 1; fgets(line, sizeof line, f); ln++) {
        long long n, k;
        char name[64] = "";
        char *c = line + strspn(line, " \t");
        if (*c == '#' || *c == '\n' || *c == '\0') continue;
        if (sscanf(c, "%lld %lld %63s", &n, &k, name) < 2 || n < 1 || n > (1 << 24) || k < 128 || k > (1 << 20) ||
            k % 128)
            die("%s:%d: want 'N K [name]', 1 <= N <= 2^24, K a multiple of 128 up to 2^20", path, ln);
        if (o->nshapes == MAX_SHAPES) die("%s: more than %d shapes", path, MAX_SHAPES);
        o->p.gemm[o->nshapes++] = (shape){n, k, name[0] ? strdup(name) : "shape"};
    }
    fclose(f);
    if (o->nshapes == 0) die("%s holds no shapes", path);
}

static void parse_args(int argc, char **argv, options *o)
{
    const char *shapes = NULL;
    memset(o, 0, sizeof *o);
    o->out = "qblas_tuning.txt";
    o->p = presets[0];
    o->min_ms = 20.0;
    o->min_iters = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage(), exit(0);
        if (!v) die("%s needs a value (--help)", a);
        i++;
        if (!strcmp(a, "--preset")) {
            int p = 0;
            while (p < NPRESETS && strcmp(presets[p].name, v)) p++;
            if (p == NPRESETS) die("unknown preset %s (--help)", v);
            o->p = presets[p];
        } else if (!strcmp(a, "--family")) {
            const qbp_family *f = qbp_family_named(v);
            if (!f) die("unknown family %s (--help)", v);
            if (o->nfams == (int)(sizeof o->fams / sizeof o->fams[0])) die("too many --family");
            o->fams[o->nfams++] = f;
        } else if (!strcmp(a, "--shapes")) {
            shapes = v;
        } else if (!strcmp(a, "-o")) {
            o->out = v;
        } else if (!strcmp(a, "--device")) {
            o->device = atoi(v);
        } else if (!strcmp(a, "--min-ms")) {
            o->min_ms = atof(v);
            if (!(o->min_ms >= 0.0)) die("--min-ms wants milliseconds >= 0");
        } else if (!strcmp(a, "--min-iters")) {
            o->min_iters = atoi(v);
            if (o->min_iters < 1 || o->min_iters > MAX_ITERS) die("--min-iters wants 1..%d", MAX_ITERS);
        } else {
            die("unknown option %s (--help)", a);
        }
    }
    if (shapes) read_shapes(shapes, o); /* after --preset, whichever came first */
    while (!shapes && o->nshapes < MAX_SHAPES && o->p.gemm[o->nshapes].n) o->nshapes++;
    for (int i = 0; o->nfams == 0 && i < qbp_nfamilies; i++) o->fams[i] = &qbp_families[i];
    if (o->nfams == 0) o->nfams = qbp_nfamilies;
}

/* ---- setup, writing, checking the file, summary ---- */
static void setup(const options *o)
{
    const char *forced = getenv("QBLAS_CUDA_KERNEL");
    char err[256];
    if (forced && *forced) die("QBLAS_CUDA_KERNEL=%s is set: it overrides tuning files; unset it", forced);
    unsetenv("QBLAS_TUNING_FILE"); /* a stale file must not fail qblas_create or bias the defaults */
    CU(cudaSetDevice(o->device));
    QB(qblas_create(&g.h, QBLAS_BACKEND_CUDA, o->device), NULL);
    QB(qblas_create(&g.cpu, QBLAS_BACKEND_CPU, 0), NULL);
    QB(qblas_tuning_device(g.h, &g.header), g.h);
    if (qbp_env_init(&g.env, g.h, g.cpu, 0x2545F4914F6CDD1Dull, err, sizeof err) != QBP_OK) die("%s", err);
    CU(cudaStreamCreate(&g.stream));
    CU(cudaEventCreate(&g.ev0));
    CU(cudaEventCreate(&g.ev1));
    g.tty = isatty(STDERR_FILENO);
}

static void write_file(const char *path, const qblas_tuning_entry_t *rows, size_t n)
{
    const size_t cap = 256 * (n + 16); /* a line is at most 255 bytes and '\n' */
    size_t len;
    char *buf = malloc(cap);
    if (!buf) die("out of host memory");
    QB(qblas_tuning_write_entries(&g.header, rows, n, buf, cap, &len), g.h);
    FILE *f = fopen(path, "w");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) die("cannot write %s", path);
    free(buf);
}

/* The row of (f, shape) covering m, or NULL. */
static const qblas_tuning_entry_t *row_for(const qblas_tuning_entry_t *rows, size_t n, const qbp_family *f,
                                           const qbp_spec *s, int64_t m)
{
    const qblas_tuning_entry_t key = qbp_tuning_row(f, s, m, m, "-");
    for (size_t i = 0; i < n; i++)
        if (rows[i].op == key.op && rows[i].format == key.format && rows[i].act == key.act &&
            rows[i].kv_dtype == key.kv_dtype && rows[i].n == key.n && rows[i].k == key.k &&
            rows[i].head_dim == key.head_dim && rows[i].m_min <= m && m <= rows[i].m_max)
            return &rows[i];
    return NULL;
}

/* The written file loads, and the library then picks every row's
 * configuration at both ends of its bucket: the plan names it, and the
 * which-kernel query names the plan's kernel. Problems without rotation
 * or oracle: only queries. */
static void verify(const options *o, const qblas_tuning_entry_t *rows, size_t n)
{
    qbp_env env;
    char err[256];
    size_t loaded = 0, checked = 0;
    QB(qblas_tuning_load_file(g.h, o->out), g.h);
    QB(qblas_tuning_entry_count(g.h, &loaded), g.h);
    if (loaded != n) die("%s: wrote %zu rows, the library loaded %zu", o->out, n, loaded);
    if (qbp_env_init(&env, g.h, NULL, 1, err, sizeof err) != QBP_OK) die("%s", err);
    env.l2_bytes = 0; /* one weight copy */
    for (int fi = 0; fi < o->nfams; fi++) {
        const qbp_family *f = o->fams[fi];
        const int64_t *b = buckets_of(o, f);
        const int nb = count(b);
        for (int si = 0; si < shapes_of(o, f); si++)
            for (int bi = 0; bi < nb; bi++) {
                /* prefill problems have one M; the others serve every bucket's */
                if (f->spec.kind != QBP_PREFILL && bi < nb - 1) continue;
                const int first = f->spec.kind == QBP_PREFILL ? bi : 0;
                const qbp_spec s = spec_of(o, f, si, b[bi], NULL);
                qbp_problem *p = make_problem(&env, &s);
                for (int j = first; p && j <= bi; j++) {
                    const int64_t lo = j ? b[j - 1] + 1 : 1, ms[2] = {f->spec.kind == QBP_PREFILL ? b[j] : lo, b[j]};
                    for (int e = 0; e < 2; e++) {
                        const qblas_tuning_entry_t *r = row_for(rows, n, f, &s, ms[e]);
                        if (!r) continue; /* no correct configuration: no row */
                        qbp_plan pl;
                        qblas_kernel_info_t info;
                        plan(p, ms[e], &pl);
                        QB(qbp_query(p, ms[e], &info), g.h);
                        if (strcmp(qbp_plan_config(p, &pl), r->kernel) || strcmp(info.kernel_name, qbp_plan_kernel(p, &pl)))
                            die("%s loaded, but %s m=%lld plans %s (query: %s) instead of the row's %s", o->out,
                                f->name, (long long)ms[e], qbp_plan_config(p, &pl), info.kernel_name, r->kernel);
                        checked++;
                    }
                }
                qbp_destroy(p);
            }
    }
    QB(qblas_tuning_clear(g.h), g.h);
    if (n && !checked) die("%s: no row was checked", o->out);
}

static void summary(const result *res, int nres, const options *o, size_t rows)
{
    double log_gain = 0.0;
    int counted = 0, rejected = 0;
    printf("%sqblas-tune: %s (cc %d, %d SMs), preset %s: %d families\n", g.tty ? "\n" : "", g.header.device,
           g.header.cc, g.header.sms, o->p.name, o->nfams);
    printf("%-14s %-14s %-19s %10s %10s %6s  %s\n", "family", "layer", "M", "default us", "tuned us", "gain",
           "configuration");
    for (int i = 0; i < nres; i++) {
        const result *r = &res[i];
        char mr[32];
        snprintf(mr, sizeof mr, "%lld..%lld", (long long)r->m_min, (long long)r->m_max);
        rejected += r->rejected;
        const char *layer = r->f->spec.kind == QBP_GEMM ? r->s->what : "attention";
        if (!r->best[0]) {
            printf("%-14s %-14s %-19s %10.2f %10s %6s  (no correct configuration)\n", r->f->name, layer, mr,
                   r->dflt_us, "-", "-");
            continue;
        }
        const double gain = r->dflt_us / r->best_us;
        if (gain > 0.0 && isfinite(gain)) log_gain += log(gain), counted++;
        printf("%-14s %-14s %-19s %10.2f %10.2f %5.2fx  %s\n", r->f->name, layer, mr, r->dflt_us, r->best_us, gain,
               r->best);
    }
    printf("geometric-mean gain over the built-in defaults: %.3fx over %d cases; %d wrong configurations rejected\n",
           counted ? exp(log_gain / counted) : 1.0, counted, rejected);
    printf("wrote %s: %zu rows; the library loads it and picks the tuned configurations (checked)\n", o->out, rows);
}

int main(int argc, char **argv)
{
    options o;
    parse_args(argc, argv, &o);
    setup(&o);
    /* the work, for the progress bar: (candidates + default) per bucket */
    int cases = 0;
    for (int fi = 0; fi < o.nfams; fi++) {
        const char *names[MAX_CANDIDATES];
        const int nc = (int)candidates(o.fams[fi], names), nb = count(buckets_of(&o, o.fams[fi]));
        cases += nc ? shapes_of(&o, o.fams[fi]) * nb : 0;
        g.steps += nc ? shapes_of(&o, o.fams[fi]) * nb * (nc + 1) : 0;
    }
    result *res = calloc((size_t)cases + 1, sizeof *res);
    qblas_tuning_entry_t *rows = calloc((size_t)cases + 1, sizeof *rows);
    if (!res || !rows) die("out of host memory");
    size_t nrows = 0;
    int nres = 0;
    for (int fi = 0; fi < o.nfams; fi++) {
        const qbp_family *f = o.fams[fi];
        const char *cands[MAX_CANDIDATES];
        const size_t nc = candidates(f, cands);
        const int64_t *b = buckets_of(&o, f);
        const int nb = count(b);
        if (nc == 0) {
            printf("%s: no configurations on %s: skipped\n", f->name, g.header.device);
            continue;
        }
        for (int si = 0; si < shapes_of(&o, f); si++) {
            /* one problem for every bucket (prefill: one per bucket, its M is the problem's) */
            qbp_problem *p = NULL;
            for (int bi = 0; bi < nb; bi++) {
                if (!p || f->spec.kind == QBP_PREFILL) {
                    qbp_destroy(p);
                    const qbp_spec s = spec_of(&o, f, si, f->spec.kind == QBP_PREFILL ? b[bi] : b[nb - 1], NULL);
                    if (!(p = make_problem(&g.env, &s))) break; /* NOT_SUPPORTED here */
                }
                const int64_t lo = bi ? b[bi - 1] + 1 : 1, hi = bi == nb - 1 ? M_ANY : b[bi];
                nrows += tune_bucket(&o, f, si, p, lo, b[bi], hi, cands, nc, &res[nres++], &rows[nrows]);
            }
            if (!p) printf("%s: not supported on %s at this shape: skipped\n", f->name, g.header.device);
            qbp_destroy(p);
        }
    }
    write_file(o.out, rows, nrows);
    verify(&o, rows, nrows);
    summary(res, nres, &o, nrows);
    free(res), free(rows);
    qblas_destroy(g.h);
    qblas_destroy(g.cpu);
    return 0;
}
