/* qblas_bench_shim.c - benchmark problems over the public qblas C API.
 *
 * The problems come from the builder the GPU harness and qblas-tune share
 * (problem/qb_problem.h): inputs generated directly in their quantized
 * canonical form, as an engine gets them from a checkpoint, uploaded to the
 * handle's memory, prepacked when the backend has its own layout, weights
 * rotating through copies that cover twice the GPU's L2 cache. The calls
 * run through plans (qblas_gemm_planned, qblas_attention_planned), made
 * outside the timed region, as an engine calls. A GPU build (QBB_HAVE_CUDA)
 * times with CUDA events. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qblas_bench_internal.h"

#ifdef QBB_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

enum { HQ = 32, HKV = 8, HEAD_DIM = 128, PAGE = 16 };

static const char *const op_names[QBB_OP_COUNT] = {
    [QBB_W4A16_F16] = "w4a16_g128_f16",
    [QBB_W4A16_BF16] = "w4a16_g128_bf16",
    [QBB_INT8] = "int8_w8a8",
    [QBB_FP8_TENSOR] = "fp8_e4m3_tensor",
    [QBB_FP8_CHANNEL] = "fp8_e4m3_channel",
    [QBB_FP8_BLOCK] = "fp8_e4m3_block128",
    [QBB_W4A8] = "w4a8_qoq_g128",
    [QBB_W4A8_CHANNEL] = "w4a8_qoq_channel",
    [QBB_SPARSE24_F16] = "sparse24_f16",
    [QBB_SPARSE24_BF16] = "sparse24_bf16",
    [QBB_SPARSE24_I8] = "sparse24_i8",
    [QBB_ATTN_F16] = "attn_decode_f16kv",
    [QBB_ATTN_BF16] = "attn_decode_bf16kv",
    [QBB_ATTN_E4M3] = "attn_decode_e4m3kv",
    [QBB_ATTN_I8] = "attn_decode_i8kv",
    [QBB_ATTN_U4] = "attn_decode_u4kv",
    [QBB_PEER_CUBLAS_F16] = "cublas_f16",
    [QBB_PEER_CUBLAS_BF16] = "cublas_bf16",
    [QBB_PEER_LT_FP8_TENSOR] = "cublaslt_fp8_tensor",
    [QBB_PEER_LT_FP8_CHANNEL] = "cublaslt_fp8_channel",
    [QBB_PEER_LT_FP8_BLOCK] = "cublaslt_fp8_block128",
    [QBB_PEER_LT_INT8] = "cublaslt_int8",
    [QBB_PEER_CUSPARSELT_F16] = "cusparselt_f16",
};

const char *qbb_op_name(qbb_op_t op) { return op >= 0 && op < QBB_OP_COUNT ? op_names[op] : "unknown"; }
int qbb_op_is_attention(qbb_op_t op) { return op >= QBB_ATTN_F16 && op <= QBB_ATTN_U4; }
int qbb_op_is_peer(qbb_op_t op) { return op >= QBB_PEER_CUBLAS_F16 && op < QBB_OP_COUNT; }


int qbb_err(char *err, size_t err_len, int status, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* ---- timing ---- */

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int qbb_gpu_time_begin(qbb_env_t *env)
{
#ifdef QBB_HAVE_CUDA
    return cudaEventRecord((cudaEvent_t)env->ev0, 0) == cudaSuccess ? QBB_OK : QBB_ERROR;
#else
    (void)env;
    return QBB_ERROR;
#endif
}

int qbb_gpu_time_end(qbb_env_t *env, double *seconds)
{
#ifdef QBB_HAVE_CUDA
    float ms = 0;
    if (cudaEventRecord((cudaEvent_t)env->ev1, 0) != cudaSuccess ||
        cudaEventSynchronize((cudaEvent_t)env->ev1) != cudaSuccess ||
        cudaEventElapsedTime(&ms, (cudaEvent_t)env->ev0, (cudaEvent_t)env->ev1) != cudaSuccess)
        return QBB_ERROR;
    *seconds = 1e-3 * ms;
    return QBB_OK;
#else
    (void)env, (void)seconds;
    return QBB_ERROR;
#endif
}

/* ---- environment ---- */

/* Copy bandwidth: a 256 MiB copy (read + write counted), best of 3. */
static double measure_copy(qbb_env_t *env)
{
    const size_t bytes = (size_t)256 << 20;
    void *a = qbp_alloc(&env->pe, bytes), *b = qbp_alloc(&env->pe, bytes);
    double best = 0;
    if (a && b) {
        if (!env->pe.gpu) memset(a, 1, bytes), memset(b, 2, bytes); /* fault the pages in before timing */
        for (int i = 0; i < 4; i++) {
            double s = 0, t0 = wall();
            if (env->pe.gpu) {
                if (qbb_gpu_time_begin(env) || qbp_copy(&env->pe, b, a, bytes) || qbb_gpu_time_end(env, &s)) break;
            } else {
                memcpy(b, a, bytes);
                s = wall() - t0;
            }
            if (i > 0 && s > 0 && 2.0 * bytes / s > best) best = 2.0 * bytes / s; /* i == 0 warms up */
        }
    }
    qbp_free(&env->pe, a), qbp_free(&env->pe, b);
    return best;
}

static int env_gpu_setup(qbb_env_t *env, char *err, size_t err_len)
{
#ifdef QBB_HAVE_CUDA
    struct cudaDeviceProp prop;
    cudaEvent_t a, b;
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess || cudaEventCreate(&a) != cudaSuccess ||
        cudaEventCreate(&b) != cudaSuccess)
        return qbb_err(err, err_len, QBB_ERROR, "CUDA runtime: cannot query device 0 or create events");
    env->ev0 = a, env->ev1 = b;
    snprintf(env->device, sizeof env->device, "%s (sm_%d%d, %d SMs, L2 %d MiB)", prop.name, prop.major, prop.minor,
             prop.multiProcessorCount, prop.l2CacheSize >> 20);
    return QBB_OK;
#else
    (void)env;
    return qbb_err(err, err_len, QBB_ERROR, "a GPU handle in a build without CUDA");
#endif
}

int qbb_env_create(qbb_env_t **out, int backend, char *err, size_t err_len)
{
    qbb_env_t *env = calloc(1, sizeof *env);
    if (!env) return qbb_err(err, err_len, QBB_ERROR, "out of memory");
    qblas_handle_t h = NULL;
    qblas_status_t st = qblas_create(&h, (qblas_backend_t)backend, 0);
    if (st != QBLAS_STATUS_SUCCESS) {
        qbb_err(err, err_len, QBB_ERROR, "qblas_create: %s", qblas_status_string(st));
        free(env);
        return QBB_ERROR;
    }
    /* the problem builder's environment: backend, L2 size, random stream (no oracle: no host copies) */
    if (qbp_env_init(&env->pe, h, NULL, 0x5EED0001ull ^ (uint64_t)time(NULL), err, err_len) != QBP_OK) {
        qblas_destroy(h);
        free(env);
        return QBB_ERROR;
    }
    if (env->pe.gpu) {
        if (env_gpu_setup(env, err, err_len) != QBB_OK) {
            qbb_env_destroy(env);
            return QBB_ERROR;
        }
    } else {
        int threads = 1;
        qblas_get_num_threads(env->pe.h, &threads);
        snprintf(env->device, sizeof env->device, "CPU backend, %d threads", threads);
    }
    env->copy_bps = measure_copy(env);
    *out = env;
    return QBB_OK;
}

void qbb_env_destroy(qbb_env_t *env)
{
    if (!env) return;
#ifdef QBB_HAVE_CUDA
    if (env->ev0) cudaEventDestroy((cudaEvent_t)env->ev0);
    if (env->ev1) cudaEventDestroy((cudaEvent_t)env->ev1);
#endif
    qblas_destroy(env->pe.h);
    free(env);
}

int qbb_env_is_gpu(const qbb_env_t *env) { return env->pe.gpu; }
int qbb_env_is_simulated(const qbb_env_t *env)
{
#ifdef QBLAS_CUDA_SIM_RUNTIME /* the simulator's cuda_runtime_api.h */
    return env->pe.gpu;
#else
    (void)env;
    return 0;
#endif
}
const char *qbb_env_device(const qbb_env_t *env) { return env->device; }
double qbb_env_copy_bytes_per_s(const qbb_env_t *env) { return env->copy_bps; }

/* ---- problems ---- */

struct qbb_problem {
    qbb_env_t *env;
    qbb_op_t op;
    int64_t m_max, n, k;
    qbb_peer_t *peer;
    qbp_problem *qp;  /* the qblas operations */
    qbp_plan plan;    /* for plan_m rows (0: none yet) */
    int64_t plan_m;
};

/* What op builds: m_max rows (sequences), weight n x k (attention: n keys per sequence). */
static qbp_spec spec_of(qbb_op_t op, int64_t m_max, int64_t n, int64_t k)
{
    qbp_spec s = {.kind = QBP_GEMM, .m_max = m_max, .n = n, .k = k, .y_dtype = QBLAS_DTYPE_F16};
    switch (op) {
    case QBB_W4A16_F16:
    case QBB_W4A16_BF16: /* GPTQ-style: group 128, no zero points; Y in X's dtype */
        s.format = QBLAS_WFORMAT_W4A16, s.w_dtype = QBLAS_DTYPE_U4, s.w_scale = QBLAS_SCALE_PER_GROUP, s.group_size = 128;
        s.x_dtype = s.y_dtype = op == QBB_W4A16_F16 ? QBLAS_DTYPE_F16 : QBLAS_DTYPE_BF16;
        break;
    case QBB_INT8:
        s.format = QBLAS_WFORMAT_INT8, s.x_dtype = s.w_dtype = QBLAS_DTYPE_I8;
        s.x_scale = s.w_scale = QBLAS_SCALE_PER_ROW;
        break;
    case QBB_FP8_TENSOR:
    case QBB_FP8_CHANNEL:
    case QBB_FP8_BLOCK:
        s.format = QBLAS_WFORMAT_FP8, s.x_dtype = s.w_dtype = QBLAS_DTYPE_E4M3;
        s.w_scale = op == QBB_FP8_TENSOR ? QBLAS_SCALE_PER_TENSOR
                    : op == QBB_FP8_CHANNEL ? QBLAS_SCALE_PER_ROW
                                            : QBLAS_SCALE_BLOCK_128X128;
        s.x_scale = op == QBB_FP8_TENSOR ? QBLAS_SCALE_PER_TENSOR
                    : op == QBB_FP8_CHANNEL ? QBLAS_SCALE_PER_ROW
                                            : QBLAS_SCALE_BLOCK_1X128;
        break;
    case QBB_W4A8:
    case QBB_W4A8_CHANNEL:
        s.format = QBLAS_WFORMAT_W4A8, s.x_dtype = QBLAS_DTYPE_I8, s.w_dtype = QBLAS_DTYPE_U4;
        s.x_scale = QBLAS_SCALE_PER_ROW, s.group_size = op == QBB_W4A8 ? 128 : 0;
        break;
    case QBB_SPARSE24_I8:
        s.format = QBLAS_WFORMAT_SPARSE24, s.x_dtype = s.w_dtype = QBLAS_DTYPE_I8;
        s.x_scale = s.w_scale = QBLAS_SCALE_PER_ROW;
        break;
    case QBB_SPARSE24_F16:
    case QBB_SPARSE24_BF16:
        s.format = QBLAS_WFORMAT_SPARSE24;
        s.x_dtype = s.w_dtype = s.y_dtype = op == QBB_SPARSE24_BF16 ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16;
        break;
    default: { /* decode attention over m_max sequences of n keys; bf16 queries for a bf16 cache */
        const qblas_dtype_t kv = op == QBB_ATTN_F16    ? QBLAS_DTYPE_F16
                                 : op == QBB_ATTN_BF16 ? QBLAS_DTYPE_BF16
                                 : op == QBB_ATTN_E4M3 ? QBLAS_DTYPE_E4M3
                                 : op == QBB_ATTN_I8   ? QBLAS_DTYPE_I8
                                                       : QBLAS_DTYPE_U4;
        s = (qbp_spec){.kind = QBP_DECODE, .m_max = m_max, .kv_dtype = kv, .heads_q = HQ, .heads_kv = HKV,
                       .head_dim = HEAD_DIM, .context = (int32_t)n, .page_size = PAGE,
                       .q_dtype = kv == QBLAS_DTYPE_BF16 ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16};
        break;
    }
    }
    return s;
}

int qbb_problem_create(qbb_env_t *env, qbb_op_t op, int64_t m_max, int64_t n, int64_t k, qbb_problem_t **out,
                       char *err, size_t err_len)
{
    *out = NULL;
    if (op < 0 || op >= QBB_OP_COUNT || m_max < 1 || n < 1 || n > 2147483647 || (!qbb_op_is_attention(op) && k < 1))
        return qbb_err(err, err_len, QBB_ERROR, "bad problem arguments");
    qbb_problem_t *p = calloc(1, sizeof *p);
    if (!p) return qbb_err(err, err_len, QBB_ERROR, "out of memory");
    p->env = env, p->op = op, p->m_max = m_max, p->n = n, p->k = k;
    int rc;
    if (qbb_op_is_peer(op)) {
        rc = qbb_peer_create(env, op, m_max, n, k, &p->peer, err, err_len);
    } else {
        const qbp_spec s = spec_of(op, m_max, n, k);
        rc = qbp_create(&env->pe, &s, &p->qp, err, err_len); /* QBP_ codes are QBB_'s */
    }
    if (rc != QBB_OK) {
        qbb_problem_destroy(p);
        return rc;
    }
    *out = p;
    return QBB_OK;
}

void qbb_problem_destroy(qbb_problem_t *p)
{
    if (!p) return;
    qbb_peer_destroy(p->peer);
    qbp_destroy(p->qp);
    free(p);
}

/* The plan for m rows (made once per m, outside any timing). */
static int prepare(qbb_problem_t *p, int64_t m, char *err, size_t err_len)
{
    if (p->plan_m == m) return QBB_OK;
    qblas_status_t st = qbp_plan_make(p->qp, m, &p->plan);
    if (st != QBLAS_STATUS_SUCCESS)
        return qbb_err(err, err_len, st == QBLAS_STATUS_NOT_SUPPORTED ? QBB_SKIP : QBB_ERROR, "%s: plan: %s (%s)",
                       qbb_op_name(p->op), qblas_status_string(st), qblas_last_error(p->env->pe.h));
    p->plan_m = m;
    return QBB_OK;
}

/* Issue the call (asynchronous on a GPU). */
static int issue(qbb_problem_t *p, int64_t m, char *err, size_t err_len)
{
    if (p->peer) return qbb_peer_run(p->peer, m, err, err_len);
    qblas_status_t st = qbp_run(p->qp, m, &p->plan, NULL);
    if (st != QBLAS_STATUS_SUCCESS)
        return qbb_err(err, err_len, st == QBLAS_STATUS_NOT_SUPPORTED ? QBB_SKIP : QBB_ERROR, "%s: %s (%s)",
                       qbb_op_name(p->op), qblas_status_string(st), qblas_last_error(p->env->pe.h));
    return QBB_OK;
}

int qbb_problem_run(qbb_problem_t *p, int64_t m, double *seconds, char *err, size_t err_len)
{
    if (m < 1 || m > p->m_max) return qbb_err(err, err_len, QBB_ERROR, "m = %lld outside 1..%lld", (long long)m, (long long)p->m_max);
    int rc = p->peer ? QBB_OK : prepare(p, m, err, err_len);
    if (rc != QBB_OK) return rc;
    if (p->env->pe.gpu && seconds) {
        if (qbb_gpu_time_begin(p->env) != QBB_OK) return qbb_err(err, err_len, QBB_ERROR, "cudaEventRecord failed");
        rc = issue(p, m, err, err_len);
        if (rc == QBB_OK && qbb_gpu_time_end(p->env, seconds) != QBB_OK)
            rc = qbb_err(err, err_len, QBB_ERROR, "CUDA event timing failed (a kernel fault?)");
        return rc;
    }
    double t0 = wall();
    rc = issue(p, m, err, err_len);
    if (seconds) *seconds = wall() - t0;
    return rc;
}

void qbb_problem_info(const qbb_problem_t *p, int64_t m, qbb_case_info_t *info)
{
    memset(info, 0, sizeof *info);
    if (p->peer) {
        qbb_peer_info(p->peer, m, info);
        return;
    }
    const qbp_problem *q = p->qp;
    if (p->plan_m) snprintf(info->kernel, sizeof info->kernel, "%s", qbp_plan_kernel(q, &p->plan));
    if (qbb_op_is_attention(p->op)) {
        info->flops = 4.0 * (double)m * HQ * (double)p->n * HEAD_DIM; /* q.k and p.v per key and head */
        info->bytes = (double)m * q->kv_bytes_per_seq + 2.0 * (double)m * HQ * HEAD_DIM * 2; /* + Q and O */
        return;
    }
    info->flops = 2.0 * (double)m * (double)p->n * (double)p->k;
    info->bytes = q->weight_bytes + (double)m * q->x_row_bytes + 2.0 * (double)m * (double)p->n;
}
