// qblas_bench.cc - Google Benchmark over every qblas operation, through the
// C shim only (qblas_bench_shim.h), with the peers a user would otherwise
// call measured in the same run.
//
//   qblas_bench [--qblas_preset=short|full] [--qblas_backend=auto|cpu|cuda]
//               [Google Benchmark flags: --benchmark_filter, --benchmark_out=FILE ...]
//
// GEMM shapes: Llama-3 8B/70B layers (N, K) = (6144, 4096), (28672, 4096),
// (4096, 14336), (57344, 8192), (8192, 28672); M in {1, 16, 64, 256, 1024,
// 4096}. Attention: decode, Hq 32, Hkv 8, D 128, batch x context 1 x 32768,
// 16 x 4096, 64 x 4096. The short preset (the default) takes the first two
// GEMM shapes, M in {1, 16, 256} and the 16 x 4096 attention shape. The CPU
// backend caps M (its GEMMs at M = 4096 take minutes) and runs the short
// preset on the 8B shapes at M in {1, 16} so that it finishes in about a
// minute on two cores.
//
// On the simulated device (a QBLAS_CUDA_SIM build, src/sim) the preset is
// "sim": small shapes that run every kernel family in a minute or two. Its
// times are host time of a CPU simulation: the run says so, and they mean
// nothing about a GPU.
//
// Time: on a GPU, CUDA events around each call (manual time); on the CPU,
// wall-clock time. Counters per case: TFLOP/s, GB/s of compulsory bytes,
// bw_frac = GB/s over the device's measured copy bandwidth, and ratio =
// baseline time / this time, the baseline measured earlier in the same run:
// cuBLAS fp16 for GEMMs on a GPU, qblas W4A16 g128 f16 on the CPU, and the
// f16-KV attention of the same backend for attention.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "qblas_bench_shim.h"

namespace {

struct Shape {
    int64_t n, k;
};

struct Config {
    std::vector<Shape> gemm;
    std::vector<int64_t> ms;
    std::vector<Shape> attention; // n = batch, k = context
};

qbb_env_t *g_env = nullptr;
double g_copy_bps = 0;
int g_qblas_errors = 0; // qblas cases that failed (not skipped): the run exits 1

// Baseline seconds per (op shape, m), filled by the baseline's own cases.
std::map<std::tuple<int64_t, int64_t, int64_t>, double> g_baseline;

// One problem at a time: the cases of one (op, shape) run back to back
// (registration order) and share it across M.
struct Cached {
    qbb_op_t op = QBB_OP_COUNT;
    int64_t n = 0, k = 0, m_max = 0;
    qbb_problem_t *p = nullptr;
    int rc = QBB_OK;
    std::string err;
} g_cache;

qbb_problem_t *get_problem(qbb_op_t op, int64_t n, int64_t k, int64_t m_max, int *rc, std::string *err, bool *fresh)
{
    Cached &c = g_cache;
    *fresh = c.op != op || c.n != n || c.k != k || c.m_max != m_max;
    if (*fresh) {
        qbb_problem_destroy(c.p);
        char buf[512] = "";
        c = Cached{};
        c.op = op, c.n = n, c.k = k, c.m_max = m_max;
        c.rc = qbb_problem_create(g_env, op, m_max, n, k, &c.p, buf, sizeof buf);
        c.err = buf;
    }
    *rc = c.rc;
    *err = c.err;
    return c.p;
}

void run_case(benchmark::State &state, qbb_op_t op, qbb_op_t base, int64_t n, int64_t k, int64_t m, int64_t m_max)
{
    int rc = QBB_OK;
    std::string err;
    bool fresh = false;
    qbb_problem_t *p = get_problem(op, n, k, m_max, &rc, &err, &fresh);
    char buf[512] = "";
    // One untimed call first: on a GPU before every case (lazy module loading,
    // the peer's heuristic for this M), on the CPU when the problem is new
    // (first touch of the output and workspace pages, the worker threads).
    if (rc == QBB_OK && (fresh || qbb_env_is_gpu(g_env))) {
        double s;
        rc = qbb_problem_run(p, m, &s, buf, sizeof buf);
        err = buf;
    }
    if (rc != QBB_OK) {
        state.SkipWithError(((rc == QBB_SKIP ? "skipped: " : "error: ") + err).c_str());
        g_qblas_errors += rc == QBB_ERROR && !qbb_op_is_peer(op);
        return;
    }
    double total = 0;
    int64_t iters = 0;
    for (auto _ : state) {
        double s = 0;
        rc = qbb_problem_run(p, m, &s, buf, sizeof buf);
        if (rc != QBB_OK) {
            state.SkipWithError((std::string(rc == QBB_SKIP ? "skipped: " : "error: ") + buf).c_str());
            g_qblas_errors += rc == QBB_ERROR && !qbb_op_is_peer(op);
            break;
        }
        if (qbb_env_is_gpu(g_env)) state.SetIterationTime(s);
        total += s, iters++;
    }
    if (rc != QBB_OK || iters == 0) return;
    const double t = total / (double)iters;
    qbb_case_info_t info;
    qbb_problem_info(p, m, &info);
    auto key = std::make_tuple(n, k, m);
    if (op == base) g_baseline[key] = t;
    auto it = g_baseline.find(key);
    const double gbps = info.bytes / t * 1e-9;
    state.counters["M"] = (double)m;
    state.counters["N"] = (double)n;
    state.counters["K"] = (double)k;
    state.counters["TFLOPs"] = info.flops / t * 1e-12;
    state.counters["GBps"] = gbps;
    state.counters["bw_frac"] = g_copy_bps > 0 ? gbps * 1e9 / g_copy_bps : 0.0;
    // no ratio when the baseline did not run (e.g. filtered out): a 0 would read as a measurement
    if (it != g_baseline.end()) state.counters["ratio"] = it->second / t;
    state.SetLabel(std::string(info.kernel) + " | baseline " + qbb_op_name(base) +
                   (it != g_baseline.end() ? "" : " (not run)"));
}

void add_case(qbb_op_t op, qbb_op_t base, const std::string &shape, int64_t n, int64_t k, int64_t m, int64_t m_max,
              const char *mname)
{
    std::string name = std::string(qbb_op_name(op)) + "/" + shape + "/" + mname + "=" + std::to_string(m);
    auto *b = benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &st) {
        run_case(st, op, base, n, k, m, m_max);
    });
    b->Unit(benchmark::kMicrosecond);
    if (qbb_env_is_gpu(g_env)) {
        b->UseManualTime()->MinTime(0.05);
    } else {
        b->UseRealTime()->MinTime(0.01); // one call per case when a call takes 10 ms or more
    }
}

void register_all(const Config &cfg, bool gpu)
{
    // GEMM operations, each followed by its peer; the baseline first
    static const qbb_op_t gpu_ops[] = {QBB_PEER_CUBLAS_F16,  QBB_W4A16_F16,           QBB_W4A16_BF16,
                                       QBB_PEER_CUBLAS_BF16, QBB_INT8,                QBB_PEER_LT_INT8,
                                       QBB_FP8_TENSOR,       QBB_PEER_LT_FP8_TENSOR,  QBB_FP8_CHANNEL,
                                       QBB_PEER_LT_FP8_CHANNEL, QBB_FP8_BLOCK,        QBB_PEER_LT_FP8_BLOCK,
                                       QBB_W4A8,             QBB_W4A8_CHANNEL,        QBB_SPARSE24_F16,
                                       QBB_PEER_CUSPARSELT_F16, QBB_SPARSE24_BF16,    QBB_SPARSE24_I8};
    static const qbb_op_t cpu_ops[] = {QBB_W4A16_F16, QBB_W4A16_BF16, QBB_INT8,         QBB_FP8_TENSOR,
                                       QBB_FP8_CHANNEL, QBB_FP8_BLOCK, QBB_W4A8,         QBB_W4A8_CHANNEL,
                                       QBB_SPARSE24_F16, QBB_SPARSE24_BF16, QBB_SPARSE24_I8};
    std::vector<qbb_op_t> ops = gpu ? std::vector<qbb_op_t>(std::begin(gpu_ops), std::end(gpu_ops))
                                    : std::vector<qbb_op_t>(std::begin(cpu_ops), std::end(cpu_ops));
    const qbb_op_t base = ops[0];
    const int64_t m_max = cfg.ms.back();
    for (const Shape &s : cfg.gemm) {
        const std::string shape = std::to_string(s.n) + "x" + std::to_string(s.k);
        for (qbb_op_t op : ops)
            for (int64_t m : cfg.ms) add_case(op, base, shape, s.n, s.k, m, m_max, "M");
    }
    static const qbb_op_t attn[] = {QBB_ATTN_F16, QBB_ATTN_BF16, QBB_ATTN_E4M3, QBB_ATTN_I8, QBB_ATTN_U4};
    for (const Shape &s : cfg.attention) {
        const std::string shape = "ctx" + std::to_string(s.k);
        for (qbb_op_t op : attn) add_case(op, QBB_ATTN_F16, shape, s.k, 0, s.n, s.n, "batch");
    }
}

Config make_config(const std::string &preset, bool gpu)
{
    Config c;
    const std::vector<Shape> all = {{6144, 4096}, {28672, 4096}, {4096, 14336}, {57344, 8192}, {8192, 28672}};
    const std::vector<Shape> attn = {{1, 32768}, {16, 4096}, {64, 4096}};
    if (preset == "sim") { // the simulated device: every kernel family at small shapes
        c.gemm = {{256, 512}};
        c.ms = {1, 16};
        c.attention = {{2, 256}};
    } else if (preset == "full") {
        c.gemm = all;
        c.ms = gpu ? std::vector<int64_t>{1, 16, 64, 256, 1024, 4096} : std::vector<int64_t>{1, 16, 64, 256};
        c.attention = attn;
    } else if (gpu) {
        c.gemm = {all[0], all[1]};
        c.ms = {1, 16, 256};
        c.attention = {attn[1]};
    } else { // the 8B shapes whose weights fit the run's minute
        c.gemm = {all[0], all[2]};
        c.ms = {1, 16};
        c.attention = {attn[1]};
    }
    return c;
}

// Take --qblas_* flags out of argv (Google Benchmark rejects flags it does not know).
std::string take_flag(int *argc, char **argv, const char *name, const char *dflt)
{
    std::string value = dflt, prefix = std::string("--") + name + "=";
    int j = 1;
    for (int i = 1; i < *argc; i++) {
        if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) value = argv[i] + prefix.size();
        else argv[j++] = argv[i];
    }
    *argc = j;
    return value;
}

} // namespace

int main(int argc, char **argv)
{
    std::string preset = take_flag(&argc, argv, "qblas_preset", "short");
    const std::string backend = take_flag(&argc, argv, "qblas_backend", "auto");
    if (preset != "short" && preset != "full" && preset != "sim") {
        std::fprintf(stderr, "qblas_bench: --qblas_preset must be short, full or sim\n");
        return 2;
    }
    const int be = backend == "cpu" ? 1 : backend == "cuda" ? 2 : 0;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    char err[512] = "";
    if (qbb_env_create(&g_env, be, err, sizeof err) != QBB_OK) {
        std::fprintf(stderr, "qblas_bench: %s\n", err);
        return 1;
    }
    const bool gpu = qbb_env_is_gpu(g_env) != 0;
    const bool simulated = qbb_env_is_simulated(g_env) != 0;
    if (simulated) {
        preset = "sim";
        std::fprintf(stderr, "qblas_bench: SIMULATED DEVICE (%s): every time below is host time of a CPU simulation of "
                             "the kernels; it says nothing about a GPU. Preset \"sim\": small shapes.\n",
                     qbb_env_device(g_env));
        benchmark::AddCustomContext("qblas_timing", "SIMULATED DEVICE: host time of a CPU simulation, not a GPU's");
    }
    g_copy_bps = qbb_env_copy_bytes_per_s(g_env);
    char bw[64];
    std::snprintf(bw, sizeof bw, "%.1f", g_copy_bps * 1e-9);
    benchmark::AddCustomContext("qblas_device", qbb_env_device(g_env));
    benchmark::AddCustomContext("qblas_backend", gpu ? "cuda" : "cpu");
    benchmark::AddCustomContext("qblas_preset", preset);
    benchmark::AddCustomContext("qblas_copy_GBps", bw);
    benchmark::AddCustomContext("qblas_copy_method", gpu ? "cudaMemcpy device to device, 256 MiB, read + write"
                                                         : "memcpy, 256 MiB, read + write, one thread");
    benchmark::AddCustomContext("qblas_gemm_baseline", gpu ? "cublas_f16" : "w4a16_g128_f16 (qblas CPU)");
    benchmark::AddCustomContext("qblas_attention_baseline", "attn_decode_f16kv (same backend)");
    register_all(make_config(preset, gpu), gpu);
    benchmark::RunSpecifiedBenchmarks();
    qbb_problem_destroy(g_cache.p);
    g_cache.p = nullptr;
    qbb_env_destroy(g_env);
    benchmark::Shutdown();
    if (g_qblas_errors) std::fprintf(stderr, "qblas_bench: %d qblas case(s) failed\n", g_qblas_errors);
    return g_qblas_errors ? 1 : 0;
}
