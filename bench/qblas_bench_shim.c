/* qblas_bench_shim.c - benchmark problems over the public qblas C API.
 *
 * Inputs are generated directly in their quantized canonical form (random
 * codes, positive scales, valid zero points and 2:4 metadata), as an engine
 * gets them from a checkpoint, then uploaded to the handle's memory and
 * prepacked with qblas_prepack() when the backend has its own layout. A GPU
 * build (QBB_HAVE_CUDA) allocates device memory with the CUDA runtime. */
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

/* ---- memory in the handle's space ---- */

void *qbb_alloc(qbb_env_t *env, size_t bytes)
{
    (void)env; /* read only when CUDA is built */
    if (bytes == 0) bytes = 1;
#ifdef QBB_HAVE_CUDA
    if (env->gpu) {
        void *p = NULL;
        return cudaMalloc(&p, bytes) == cudaSuccess ? p : NULL;
    }
#endif
    return aligned_alloc(256, (bytes + 255) / 256 * 256);
}

void qbb_free(qbb_env_t *env, void *p)
{
    (void)env;
    if (!p) return;
#ifdef QBB_HAVE_CUDA
    if (env->gpu) {
        cudaFree(p);
        return;
    }
#endif
    free(p);
}

static int transfer(qbb_env_t *env, void *dst, const void *src, size_t bytes, int device_src)
{
#ifdef QBB_HAVE_CUDA
    if (env->gpu)
        return cudaMemcpy(dst, src, bytes, device_src ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice) ==
                       cudaSuccess
                   ? QBB_OK
                   : QBB_ERROR;
#endif
    (void)env, (void)device_src;
    memcpy(dst, src, bytes);
    return QBB_OK;
}

int qbb_upload(qbb_env_t *env, void *dst, const void *host, size_t bytes) { return transfer(env, dst, host, bytes, 0); }
int qbb_copy(qbb_env_t *env, void *dst, const void *src, size_t bytes) { return transfer(env, dst, src, bytes, 1); }

void *qbb_alloc_upload(qbb_env_t *env, const void *host, size_t bytes)
{
    void *d = qbb_alloc(env, bytes);
    if (d && bytes && qbb_upload(env, d, host, bytes) != QBB_OK) {
        qbb_free(env, d);
        return NULL;
    }
    return d;
}

int qbb_copies_for(const qbb_env_t *env, size_t bytes)
{
    if (!env->gpu || bytes == 0) return 1;
    size_t c = (2 * env->l2_bytes + bytes - 1) / bytes + 1;
    return c < 2 ? 2 : c > QBB_MAX_COPIES ? QBB_MAX_COPIES : (int)c;
}

/* ---- random fills (host) ---- */

uint64_t qbb_rand(qbb_env_t *env)
{
    uint64_t z = (env->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void qbb_fill_bytes(qbb_env_t *env, void *dst, size_t bytes)
{
    uint8_t *d = dst;
    for (size_t i = 0; i < bytes; i += 8) {
        uint64_t r = qbb_rand(env);
        size_t n = bytes - i < 8 ? bytes - i : 8;
        memcpy(d + i, &r, n);
    }
}

void qbb_fill_half(qbb_env_t *env, uint16_t *dst, size_t count, int bf16)
{
    for (size_t i = 0; i < count; i += 4) {
        uint64_t r = qbb_rand(env);
        for (size_t j = 0; j < 4 && i + j < count; j++, r >>= 16) {
            /* sign, one of 4 exponents just below 1.0, random mantissa */
            unsigned s = r & 1, e = (r >> 1) & 3, m = (unsigned)(r >> 3);
            dst[i + j] = bf16 ? (uint16_t)(s << 15 | (123u + e) << 7 | (m & 127))
                              : (uint16_t)(s << 15 | (11u + e) << 10 | (m & 1023));
        }
    }
}

void qbb_fill_e4m3(qbb_env_t *env, uint8_t *dst, size_t count)
{
    qbb_fill_bytes(env, dst, count);
    for (size_t i = 0; i < count; i++) dst[i] &= 0xBF; /* exponent <= 7: |v| < 2, never the NaN code */
}

void qbb_fill_f32(qbb_env_t *env, float *dst, size_t count, float lo, float hi)
{
    for (size_t i = 0; i < count; i++) dst[i] = lo + (hi - lo) * (float)(qbb_rand(env) >> 40) * 0x1p-24f;
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
    void *a = qbb_alloc(env, bytes), *b = qbb_alloc(env, bytes);
    double best = 0;
    if (a && b) {
        if (!env->gpu) memset(a, 1, bytes), memset(b, 2, bytes); /* fault the pages in before timing */
        for (int i = 0; i < 4; i++) {
            double s = 0, t0 = wall();
            if (env->gpu) {
                if (qbb_gpu_time_begin(env) || qbb_copy(env, b, a, bytes) || qbb_gpu_time_end(env, &s)) break;
            } else {
                memcpy(b, a, bytes);
                s = wall() - t0;
            }
            if (i > 0 && s > 0 && 2.0 * bytes / s > best) best = 2.0 * bytes / s; /* i == 0 warms up */
        }
    }
    qbb_free(env, a), qbb_free(env, b);
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
    env->l2_bytes = (size_t)prop.l2CacheSize;
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
    env->rng = 0x5EED0001ull ^ (uint64_t)time(NULL);
    qblas_status_t st = qblas_create(&env->h, (qblas_backend_t)backend, 0);
    qblas_backend_t be = QBLAS_BACKEND_CPU;
    if (st != QBLAS_STATUS_SUCCESS || qblas_get_backend(env->h, &be) != QBLAS_STATUS_SUCCESS) {
        qbb_err(err, err_len, QBB_ERROR, "qblas_create: %s", qblas_status_string(st));
        qbb_env_destroy(env);
        return QBB_ERROR;
    }
    env->gpu = be != QBLAS_BACKEND_CPU;
    if (env->gpu) {
        if (env_gpu_setup(env, err, err_len) != QBB_OK) {
            qbb_env_destroy(env);
            return QBB_ERROR;
        }
    } else {
        int threads = 1;
        qblas_get_num_threads(env->h, &threads);
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
    qblas_destroy(env->h);
    free(env);
}

int qbb_env_is_gpu(const qbb_env_t *env) { return env->gpu; }
int qbb_env_is_simulated(const qbb_env_t *env)
{
#ifdef QBLAS_CUDA_SIM_RUNTIME /* the simulator's cuda_runtime_api.h */
    return env->gpu;
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
    /* GEMM: rotating weight copies, each one blob (canonical tensors or the prepacked form) */
    int copies, next;
    size_t blob_bytes;
    void *blob[QBB_MAX_COPIES];
    qblas_weight_t w[QBB_MAX_COPIES];
    double weight_bytes;  /* canonical bytes a call reads */
    qblas_act_t x;
    double x_row_bytes;   /* activation bytes per row, scales included */
    void *x_scales_dev;
    void *y, *ws;
    size_t ws_bytes;
    /* attention */
    qblas_kv_cache_t kv;
    qblas_attention_params_t ap;
    double kv_bytes_per_seq;
    char kernel[QBLAS_KERNEL_NAME_MAX];
};

static size_t align256(size_t v) { return (v + 255) / 256 * 256; }

/* Describe the weight of a GEMM op (no buffers yet) and its activations. */
static void describe(qbb_op_t op, int64_t n, int64_t k, qblas_weight_t *w, qblas_act_t *x)
{
    memset(w, 0, sizeof *w);
    memset(x, 0, sizeof *x);
    w->n = n, w->k = k;
    switch (op) {
    case QBB_W4A16_F16:
    case QBB_W4A16_BF16:
        w->format = QBLAS_WFORMAT_W4A16, w->dtype = QBLAS_DTYPE_U4, w->group_size = 128;
        w->scale_mode = QBLAS_SCALE_PER_GROUP;
        w->scale_dtype = x->dtype = op == QBB_W4A16_F16 ? QBLAS_DTYPE_F16 : QBLAS_DTYPE_BF16;
        break;
    case QBB_INT8:
        w->format = QBLAS_WFORMAT_INT8, w->dtype = QBLAS_DTYPE_I8;
        w->scale_mode = x->scale_mode = QBLAS_SCALE_PER_ROW, w->scale_dtype = QBLAS_DTYPE_F32;
        x->dtype = QBLAS_DTYPE_I8;
        break;
    case QBB_FP8_TENSOR:
    case QBB_FP8_CHANNEL:
    case QBB_FP8_BLOCK:
        w->format = QBLAS_WFORMAT_FP8, w->dtype = x->dtype = QBLAS_DTYPE_E4M3, w->scale_dtype = QBLAS_DTYPE_F32;
        w->scale_mode = op == QBB_FP8_TENSOR ? QBLAS_SCALE_PER_TENSOR
                        : op == QBB_FP8_CHANNEL ? QBLAS_SCALE_PER_ROW
                                                : QBLAS_SCALE_BLOCK_128X128;
        x->scale_mode = op == QBB_FP8_TENSOR ? QBLAS_SCALE_PER_TENSOR
                        : op == QBB_FP8_CHANNEL ? QBLAS_SCALE_PER_ROW
                                                : QBLAS_SCALE_BLOCK_1X128;
        break;
    case QBB_W4A8:
    case QBB_W4A8_CHANNEL:
        w->format = QBLAS_WFORMAT_W4A8, w->dtype = QBLAS_DTYPE_U4, w->scale_dtype = QBLAS_DTYPE_F16;
        w->group_size = op == QBB_W4A8 ? 128 : 0;
        w->scale_mode = op == QBB_W4A8 ? QBLAS_SCALE_PER_GROUP : QBLAS_SCALE_PER_ROW;
        x->dtype = QBLAS_DTYPE_I8, x->scale_mode = QBLAS_SCALE_PER_ROW;
        break;
    case QBB_SPARSE24_I8:
        w->format = QBLAS_WFORMAT_SPARSE24, w->dtype = x->dtype = QBLAS_DTYPE_I8;
        w->scale_mode = x->scale_mode = QBLAS_SCALE_PER_ROW, w->scale_dtype = QBLAS_DTYPE_F32;
        break;
    default: /* QBB_SPARSE24_F16, QBB_SPARSE24_BF16 */
        w->format = QBLAS_WFORMAT_SPARSE24;
        w->dtype = x->dtype = op == QBB_SPARSE24_BF16 ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16;
        break;
    }
}

/* Random content for each canonical tensor of the weight, valid for its format. */
static void fill_weight(qbb_env_t *env, qbb_op_t op, const qblas_weight_t *w, const qblas_weight_sizes_t *s,
                        uint8_t *data, uint8_t *meta, uint8_t *scales, uint8_t *zeros, uint8_t *gscales)
{
    static const uint8_t fields[6] = {0x4, 0x8, 0xC, 0x9, 0xD, 0xE}; /* the valid 2:4 index pairs */
    if (w->dtype == QBLAS_DTYPE_E4M3) qbb_fill_e4m3(env, data, s->data);
    else if (w->dtype == QBLAS_DTYPE_F16 || w->dtype == QBLAS_DTYPE_BF16)
        qbb_fill_half(env, (uint16_t *)data, s->data / 2, w->dtype == QBLAS_DTYPE_BF16);
    else qbb_fill_bytes(env, data, s->data); /* u4 and i8 codes: every bit pattern is valid */
    if (s->scales) {
        if (w->scale_dtype == QBLAS_DTYPE_F32) {
            qbb_fill_f32(env, (float *)scales, s->scales / 4, 0.5e-3f, 1.5e-3f);
        } else {
            size_t cnt = s->scales / 2;
            float *f = malloc(cnt * sizeof *f);
            if (f) {
                qbb_fill_f32(env, f, cnt, 0.5e-2f, 1.5e-2f);
                qblas_convert((int64_t)cnt, QBLAS_DTYPE_F32, f, w->scale_dtype, scales);
            }
            free(f);
        }
    }
    if (zeros) {
        qbb_fill_bytes(env, zeros, s->zeros);
        for (size_t i = 0; i < s->zeros; i++) zeros[i] &= 15;
    }
    if (gscales) { /* W4A8 group scales 1..8: |(code - z) * s2| <= 120 stays in int8 for any code */
        qbb_fill_bytes(env, gscales, s->group_scales);
        for (size_t i = 0; i < s->group_scales; i++) gscales[i] = (uint8_t)(1 + (gscales[i] & 7));
    }
    if (meta) {
        for (size_t i = 0; i < s->meta; i++) {
            uint64_t r = qbb_rand(env);
            meta[i] = (uint8_t)(fields[r % 6] | fields[(r >> 8) % 6] << 4);
        }
    }
    (void)op;
}

/* Build the canonical weight on the host as one blob, upload it, and
 * prepack it when the backend has its own layout. */
static int make_weight(qbb_problem_t *p, char *err, size_t err_len)
{
    qbb_env_t *env = p->env;
    qblas_weight_t w;
    qblas_act_t x;
    describe(p->op, p->n, p->k, &w, &x);
    p->x = x;
    qblas_weight_sizes_t s;
    qblas_status_t st = qblas_weight_sizes(&w, &s);
    if (st != QBLAS_STATUS_SUCCESS) return qbb_err(err, err_len, QBB_ERROR, "qblas_weight_sizes: %s", qblas_status_string(st));
    /* W4A16 runs symmetric (GPTQ u4b8): zeros stay NULL */
    int want_zeros = p->op == QBB_W4A8 || p->op == QBB_W4A8_CHANNEL;
    size_t off[5] = {0}, total = 0, sz[5] = {s.data, s.meta, s.scales, want_zeros ? s.zeros : 0, s.group_scales};
    for (int i = 0; i < 5; i++) off[i] = total, total += align256(sz[i]);
    uint8_t *host = aligned_alloc(256, total ? total : 256);
    if (!host) return qbb_err(err, err_len, QBB_ERROR, "out of host memory (%zu bytes)", total);
    fill_weight(env, p->op, &w, &s, host + off[0], sz[1] ? host + off[1] : NULL, host + off[2],
                sz[3] ? host + off[3] : NULL, sz[4] ? host + off[4] : NULL);
    uint8_t *dev = qbb_alloc_upload(env, host, total);
    free(host);
    if (!dev) return qbb_err(err, err_len, QBB_ERROR, "cannot allocate/upload %zu bytes of weight", total);
    w.data = dev + off[0];
    w.meta = sz[1] ? dev + off[1] : NULL;
    w.scales = sz[2] ? dev + off[2] : NULL;
    w.zeros = sz[3] ? dev + off[3] : NULL;
    w.group_scales = sz[4] ? dev + off[4] : NULL;
    p->weight_bytes = (double)(sz[0] + sz[1] + sz[2] + sz[3] + sz[4]);

    size_t packed_bytes = 0;
    st = qblas_prepack_size(env->h, &w, &packed_bytes);
    if (st == QBLAS_STATUS_SUCCESS) {
        void *blob = qbb_alloc(env, packed_bytes);
        st = blob ? qblas_prepack(env->h, &w, blob, packed_bytes, &p->w[0], NULL) : QBLAS_STATUS_ALLOC_FAILED;
        qbb_free(env, dev);
        if (st != QBLAS_STATUS_SUCCESS) {
            qbb_free(env, blob);
            return qbb_err(err, err_len, st == QBLAS_STATUS_NOT_SUPPORTED ? QBB_SKIP : QBB_ERROR, "qblas_prepack: %s (%s)",
                           qblas_status_string(st), qblas_last_error(env->h));
        }
        p->blob[0] = blob, p->blob_bytes = packed_bytes;
    } else if (st == QBLAS_STATUS_NOT_SUPPORTED) { /* no own layout: the canonical form is what it runs */
        p->w[0] = w, p->blob[0] = dev, p->blob_bytes = total;
    } else {
        qbb_free(env, dev);
        return qbb_err(err, err_len, QBB_ERROR, "qblas_prepack_size: %s (%s)", qblas_status_string(st),
                       qblas_last_error(env->h));
    }
    p->copies = 1;
    return QBB_OK;
}

/* Move every pointer of a weight descriptor that lies in blob 0 into blob i. */
static const void *moved(const void *ptr, const qbb_problem_t *p, int i)
{
    const char *c = ptr, *b0 = p->blob[0];
    if (!c || c < b0 || c >= b0 + p->blob_bytes) return ptr;
    return (const char *)p->blob[i] + (c - b0);
}

static int rotate_weight(qbb_problem_t *p, char *err, size_t err_len)
{
    int want = qbb_copies_for(p->env, p->blob_bytes);
    for (int i = 1; i < want; i++) {
        p->blob[i] = qbb_alloc(p->env, p->blob_bytes);
        if (!p->blob[i] || qbb_copy(p->env, p->blob[i], p->blob[0], p->blob_bytes) != QBB_OK)
            return qbb_err(err, err_len, QBB_ERROR, "cannot allocate weight copy %d of %zu bytes", i, p->blob_bytes);
        p->copies = i + 1;
        qblas_weight_t *w = &p->w[i];
        *w = p->w[0];
        w->data = moved(w->data, p, i), w->meta = moved(w->meta, p, i), w->scales = moved(w->scales, p, i);
        w->zeros = moved(w->zeros, p, i), w->group_scales = moved(w->group_scales, p, i);
        w->g_idx = moved(w->g_idx, p, i);
    }
    return QBB_OK;
}

/* Activations [m_max][k] and their scales, output [m_max][n], workspace. */
static int make_gemm_io(qbb_problem_t *p, char *err, size_t err_len)
{
    qbb_env_t *env = p->env;
    const int64_t m = p->m_max, k = p->k;
    const int half = p->x.dtype == QBLAS_DTYPE_F16 || p->x.dtype == QBLAS_DTYPE_BF16;
    size_t xbytes = (size_t)(m * k) * (half ? 2 : 1), nsc = 0;
    if (p->x.scale_mode == QBLAS_SCALE_PER_TENSOR) nsc = 1;
    if (p->x.scale_mode == QBLAS_SCALE_PER_ROW) nsc = (size_t)m;
    if (p->x.scale_mode == QBLAS_SCALE_BLOCK_1X128) nsc = (size_t)(m * ((k + 127) / 128));
    uint8_t *hx = malloc(xbytes);
    float *hs = malloc((nsc ? nsc : 1) * sizeof *hs);
    if (!hx || !hs) {
        free(hx), free(hs);
        return qbb_err(err, err_len, QBB_ERROR, "out of host memory");
    }
    if (half) qbb_fill_half(env, (uint16_t *)hx, xbytes / 2, p->x.dtype == QBLAS_DTYPE_BF16);
    else if (p->x.dtype == QBLAS_DTYPE_E4M3) qbb_fill_e4m3(env, hx, xbytes);
    else qbb_fill_bytes(env, hx, xbytes);
    qbb_fill_f32(env, hs, nsc, 0.5e-2f, 1.5e-2f);
    p->x.data = qbb_alloc_upload(env, hx, xbytes);
    p->x_scales_dev = nsc ? qbb_alloc_upload(env, hs, nsc * sizeof *hs) : NULL;
    p->x.scales = p->x_scales_dev;
    p->x.ld = k;
    free(hx), free(hs);
    p->x_row_bytes = (double)xbytes / (double)m + (p->x.scale_mode == QBLAS_SCALE_PER_TENSOR ? 0.0 : 4.0 * (double)nsc / (double)m);
    p->y = qbb_alloc(env, (size_t)(m * p->n) * 2);
    if (!p->x.data || (nsc && !p->x_scales_dev) || !p->y)
        return qbb_err(err, err_len, QBB_ERROR, "cannot allocate activations/output");
    return QBB_OK;
}

/* Keep the kernel name a query gave, and grow the problem's workspace to
 * what it needs (kept across M: the largest so far). */
static int adopt_plan(qbb_problem_t *p, const qblas_kernel_info_t *info, char *err, size_t err_len)
{
    snprintf(p->kernel, sizeof p->kernel, "%s", info->kernel_name);
    if (info->workspace_bytes > p->ws_bytes) {
        qbb_free(p->env, p->ws);
        p->ws = qbb_alloc(p->env, info->workspace_bytes);
        p->ws_bytes = p->ws ? info->workspace_bytes : 0;
        if (!p->ws) return qbb_err(err, err_len, QBB_ERROR, "cannot allocate %zu bytes of workspace", info->workspace_bytes);
    }
    return QBB_OK;
}

/* Query the call for m rows; grow the workspace when it needs more. */
static int gemm_prepare(qbb_problem_t *p, int64_t m, char *err, size_t err_len)
{
    qblas_kernel_info_t info;
    const qblas_dtype_t yt = p->x.dtype == QBLAS_DTYPE_BF16 ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16;
    qblas_status_t st = qblas_gemm_query(p->env->h, m, p->n, p->k, &p->x, &p->w[0], yt, &info);
    if (st != QBLAS_STATUS_SUCCESS)
        return qbb_err(err, err_len, st == QBLAS_STATUS_NOT_SUPPORTED ? QBB_SKIP : QBB_ERROR, "qblas_gemm_query: %s (%s)",
                       qblas_status_string(st), qblas_last_error(p->env->h));
    return adopt_plan(p, &info, err, err_len);
}

/* Paged KV cache of m_max sequences x n tokens, random contents, decode queries. */
static int make_attention(qbb_problem_t *p, char *err, size_t err_len)
{
    qbb_env_t *env = p->env;
    const qblas_dtype_t dt = p->op == QBB_ATTN_F16    ? QBLAS_DTYPE_F16
                             : p->op == QBB_ATTN_BF16 ? QBLAS_DTYPE_BF16
                             : p->op == QBB_ATTN_E4M3 ? QBLAS_DTYPE_E4M3
                             : p->op == QBB_ATTN_I8   ? QBLAS_DTYPE_I8
                                                      : QBLAS_DTYPE_U4;
    const int half = dt == QBLAS_DTYPE_F16 || dt == QBLAS_DTYPE_BF16;
    const qblas_dtype_t qdt = dt == QBLAS_DTYPE_BF16 ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16;
    const int32_t batch = (int32_t)p->m_max, ctx = (int32_t)p->n, pps = (ctx + PAGE - 1) / PAGE;
    const size_t slots = (size_t)batch * pps * PAGE, row = dt == QBLAS_DTYPE_U4 ? HEAD_DIM / 2 : half ? 2 * HEAD_DIM : HEAD_DIM;
    /* scales: per token-head (i8, u4), per head (e4m3), none (f16, bf16) */
    const size_t cache = slots * HKV * row, nsc = half ? 0 : dt == QBLAS_DTYPE_E4M3 ? HKV : slots * HKV;
    qblas_kv_cache_t *kv = &p->kv;
    kv->dtype = dt, kv->num_pages = batch * pps, kv->page_size = PAGE, kv->num_kv_heads = HKV, kv->head_dim = HEAD_DIM;
    kv->scale_mode = half ? QBLAS_SCALE_NONE : dt == QBLAS_DTYPE_E4M3 ? QBLAS_SCALE_PER_HEAD : QBLAS_SCALE_PER_TOKEN_HEAD;
    uint8_t *h = malloc(cache);
    float *hs = malloc((nsc ? nsc : 1) * sizeof *hs);
    int32_t *hi = malloc(sizeof(int32_t) * ((size_t)batch * pps + batch));
    uint16_t *hq = malloc((size_t)batch * HQ * HEAD_DIM * 2);
    int rc = QBB_OK;
    if (!h || !hs || !hi || !hq) rc = qbb_err(err, err_len, QBB_ERROR, "out of host memory");
    for (int t = 0; rc == QBB_OK && t < 2; t++) { /* K, then V */
        if (half) qbb_fill_half(env, (uint16_t *)h, cache / 2, dt == QBLAS_DTYPE_BF16);
        else if (dt == QBLAS_DTYPE_E4M3) qbb_fill_e4m3(env, h, cache);
        else qbb_fill_bytes(env, h, cache);
        void *d = qbb_alloc_upload(env, h, cache);
        *(t ? &kv->v : &kv->k) = d;
        if (nsc) {
            qbb_fill_f32(env, hs, nsc, 0.5e-2f, 1.5e-2f);
            *(t ? &kv->v_scale : &kv->k_scale) = qbb_alloc_upload(env, hs, nsc * sizeof *hs);
        }
        if (dt == QBLAS_DTYPE_U4) {
            qbb_fill_f32(env, hs, nsc, 6.0f, 10.0f);
            *(t ? &kv->v_zero : &kv->k_zero) = qbb_alloc_upload(env, hs, nsc * sizeof *hs);
        }
    }
    if (rc == QBB_OK) {
        for (int32_t i = 0; i < batch * pps; i++) hi[i] = i; /* sequence s owns pages s*pps .. */
        for (int32_t s = 0; s < batch; s++) hi[batch * pps + s] = ctx;
        qbb_fill_half(env, hq, (size_t)batch * HQ * HEAD_DIM, qdt == QBLAS_DTYPE_BF16);
        qblas_attention_params_t *a = &p->ap;
        a->num_seqs = a->num_q_tokens = batch, a->num_q_heads = HQ, a->q_dtype = qdt;
        a->q = qbb_alloc_upload(env, hq, (size_t)batch * HQ * HEAD_DIM * 2);
        a->o = qbb_alloc(env, (size_t)batch * HQ * HEAD_DIM * 2);
        a->block_tables = qbb_alloc_upload(env, hi, sizeof(int32_t) * batch * pps);
        a->seq_lens = qbb_alloc_upload(env, hi + batch * pps, sizeof(int32_t) * batch);
        a->block_table_stride = pps, a->max_seq_len = ctx, a->sm_scale = 0.08838834764f; /* 1/sqrt(128) */
        a->window_left = -1;
        if (!kv->k || !kv->v || (nsc && (!kv->k_scale || !kv->v_scale)) || !a->q || !a->o || !a->block_tables ||
            !a->seq_lens)
            rc = qbb_err(err, err_len, QBB_ERROR, "cannot allocate the KV cache (%zu bytes each for K and V)", cache);
    }
    /* bytes one sequence's decode reads: K and V rows, plus per-token-head scales (and u4 zeros) */
    const int per_token = dt == QBLAS_DTYPE_I8 || dt == QBLAS_DTYPE_U4;
    p->kv_bytes_per_seq = 2.0 * ((double)ctx * HKV * (double)row + (per_token ? (double)ctx * HKV * 4.0 * (dt == QBLAS_DTYPE_U4 ? 2 : 1) : 0.0));
    free(h), free(hs), free(hi), free(hq);
    return rc;
}

static int attention_prepare(qbb_problem_t *p, int64_t m, char *err, size_t err_len)
{
    qblas_kernel_info_t info;
    p->ap.num_seqs = p->ap.num_q_tokens = (int32_t)m;
    qblas_status_t st = qblas_attention_query(p->env->h, &p->kv, &p->ap, &info);
    if (st != QBLAS_STATUS_SUCCESS)
        return qbb_err(err, err_len, st == QBLAS_STATUS_NOT_SUPPORTED ? QBB_SKIP : QBB_ERROR,
                       "qblas_attention_query: %s (%s)", qblas_status_string(st), qblas_last_error(p->env->h));
    return adopt_plan(p, &info, err, err_len);
}

int qbb_problem_create(qbb_env_t *env, qbb_op_t op, int64_t m_max, int64_t n, int64_t k, qbb_problem_t **out,
                       char *err, size_t err_len)
{
    *out = NULL;
    if (op < 0 || op >= QBB_OP_COUNT || m_max < 1 || n < 1 || (!qbb_op_is_attention(op) && k < 1))
        return qbb_err(err, err_len, QBB_ERROR, "bad problem arguments");
    qbb_problem_t *p = calloc(1, sizeof *p);
    if (!p) return qbb_err(err, err_len, QBB_ERROR, "out of memory");
    p->env = env, p->op = op, p->m_max = m_max, p->n = n, p->k = k;
    int rc;
    if (qbb_op_is_peer(op)) {
        rc = qbb_peer_create(env, op, m_max, n, k, &p->peer, err, err_len);
    } else if (qbb_op_is_attention(op)) {
        rc = make_attention(p, err, err_len);
        if (rc == QBB_OK) rc = attention_prepare(p, m_max, err, err_len);
    } else {
        rc = make_weight(p, err, err_len);
        if (rc == QBB_OK) rc = make_gemm_io(p, err, err_len);
        if (rc == QBB_OK) rc = gemm_prepare(p, m_max, err, err_len); /* a NOT_SUPPORTED backend skips before copying */
        if (rc == QBB_OK) rc = rotate_weight(p, err, err_len);
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
    qbb_env_t *env = p->env;
    qbb_peer_destroy(p->peer);
    for (int i = 0; i < QBB_MAX_COPIES; i++) qbb_free(env, p->blob[i]);
    qbb_free(env, (void *)p->x.data), qbb_free(env, p->x_scales_dev), qbb_free(env, p->y), qbb_free(env, p->ws);
    qbb_free(env, p->kv.k), qbb_free(env, p->kv.v), qbb_free(env, p->kv.k_scale), qbb_free(env, p->kv.v_scale);
    qbb_free(env, p->kv.k_zero), qbb_free(env, p->kv.v_zero);
    qbb_free(env, (void *)p->ap.q), qbb_free(env, p->ap.o);
    qbb_free(env, (void *)p->ap.block_tables), qbb_free(env, (void *)p->ap.seq_lens);
    free(p);
}

/* Issue the call (asynchronous on a GPU). */
static int issue(qbb_problem_t *p, int64_t m, char *err, size_t err_len)
{
    qblas_status_t st;
    if (p->peer) return qbb_peer_run(p->peer, m, err, err_len);
    if (qbb_op_is_attention(p->op)) {
        st = qblas_attention(p->env->h, &p->kv, &p->ap, p->ws, p->ws_bytes, NULL);
    } else {
        const qblas_weight_t *w = &p->w[p->next];
        p->next = (p->next + 1) % p->copies;
        const qblas_dtype_t yt = p->x.dtype == QBLAS_DTYPE_BF16 ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16;
        st = qblas_gemm(p->env->h, m, p->n, p->k, &p->x, w, NULL, yt, p->y, p->n, p->ws, p->ws_bytes, NULL);
    }
    if (st != QBLAS_STATUS_SUCCESS)
        return qbb_err(err, err_len, st == QBLAS_STATUS_NOT_SUPPORTED ? QBB_SKIP : QBB_ERROR, "%s: %s (%s)",
                       qbb_op_name(p->op), qblas_status_string(st), qblas_last_error(p->env->h));
    return QBB_OK;
}

int qbb_problem_run(qbb_problem_t *p, int64_t m, double *seconds, char *err, size_t err_len)
{
    if (m < 1 || m > p->m_max) return qbb_err(err, err_len, QBB_ERROR, "m = %lld outside 1..%lld", (long long)m, (long long)p->m_max);
    int rc = QBB_OK;
    if (!p->peer) rc = qbb_op_is_attention(p->op) ? attention_prepare(p, m, err, err_len) : gemm_prepare(p, m, err, err_len);
    if (rc != QBB_OK) return rc;
    if (p->env->gpu && seconds) {
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
    snprintf(info->kernel, sizeof info->kernel, "%s", p->kernel);
    if (qbb_op_is_attention(p->op)) {
        info->flops = 4.0 * (double)m * HQ * (double)p->n * HEAD_DIM; /* q.k and p.v per key and head */
        info->bytes = (double)m * p->kv_bytes_per_seq + 2.0 * (double)m * HQ * HEAD_DIM * 2; /* + Q and O */
        return;
    }
    info->flops = 2.0 * (double)m * (double)p->n * (double)p->k;
    info->bytes = p->weight_bytes + (double)m * p->x_row_bytes + 2.0 * (double)m * (double)p->n;
}
