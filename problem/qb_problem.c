/* qb_problem.c - the problem builder of qb_problem.h: random canonical
 * inputs valid for their format, uploaded and prepacked through the public
 * API, weight copies that rotate through L2, the workspace, and the oracle
 * check. A GPU build (QBP_HAVE_CUDA) allocates device memory with the CUDA
 * runtime (the simulator's, on the simulated device). */
#define _POSIX_C_SOURCE 200809L
#include "qb_problem.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef QBP_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#define SAMPLES 8 /* rows (sequences) the oracle check computes */

static int fail(char *err, size_t len, int status, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return status;
}

static int status_of(qblas_status_t st) { return st == QBLAS_STATUS_NOT_SUPPORTED ? QBP_SKIP : QBP_ERROR; }

/* ================= memory in the handle's space ================= */

void *qbp_alloc(const qbp_env *env, size_t bytes)
{
    if (bytes == 0) bytes = 1;
#ifdef QBP_HAVE_CUDA
    if (env->gpu) {
        void *p = NULL;
        return cudaMalloc(&p, bytes) == cudaSuccess ? p : NULL;
    }
#endif
    (void)env;
    return aligned_alloc(256, (bytes + 255) / 256 * 256);
}

void qbp_free(const qbp_env *env, void *p)
{
    if (!p) return;
#ifdef QBP_HAVE_CUDA
    if (env->gpu) {
        cudaFree(p);
        return;
    }
#endif
    (void)env;
    free(p);
}

/* kind: 0 host to handle, 1 handle to handle, 2 handle to host */
static int transfer(const qbp_env *env, void *dst, const void *src, size_t bytes, int kind)
{
#ifdef QBP_HAVE_CUDA
    if (env->gpu) {
        const enum cudaMemcpyKind k = kind == 0 ? cudaMemcpyHostToDevice
                                      : kind == 1 ? cudaMemcpyDeviceToDevice
                                                  : cudaMemcpyDeviceToHost;
        return cudaMemcpy(dst, src, bytes, k) == cudaSuccess ? QBP_OK : QBP_ERROR;
    }
#endif
    (void)env, (void)kind;
    memcpy(dst, src, bytes);
    return QBP_OK;
}

int qbp_upload(const qbp_env *env, void *dst, const void *host, size_t bytes) { return transfer(env, dst, host, bytes, 0); }
int qbp_copy(const qbp_env *env, void *dst, const void *src, size_t bytes) { return transfer(env, dst, src, bytes, 1); }
int qbp_download(const qbp_env *env, void *host, const void *src, size_t bytes)
{
    return transfer(env, host, src, bytes, 2);
}

void *qbp_alloc_upload(const qbp_env *env, const void *host, size_t bytes)
{
    void *d = qbp_alloc(env, bytes);
    if (d && bytes && qbp_upload(env, d, host, bytes) != QBP_OK) {
        qbp_free(env, d);
        return NULL;
    }
    return d;
}

int qbp_copies_for(const qbp_env *env, size_t bytes)
{
    if (!env->gpu || !env->l2_bytes || bytes == 0) return 1;
    size_t c = (2 * env->l2_bytes + bytes - 1) / bytes + 1;
    return c < 2 ? 2 : c > QBP_MAX_COPIES ? QBP_MAX_COPIES : (int)c;
}

/* ================= random fills ================= */

uint64_t qbp_rand(qbp_env *env)
{
    uint64_t z = (env->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void qbp_fill_bytes(qbp_env *env, void *dst, size_t bytes)
{
    uint8_t *d = dst;
    for (size_t i = 0; i < bytes; i += 8) {
        uint64_t r = qbp_rand(env);
        memcpy(d + i, &r, bytes - i < 8 ? bytes - i : 8);
    }
}

void qbp_fill_half(qbp_env *env, uint16_t *dst, size_t count, int bf16)
{
    for (size_t i = 0; i < count; i += 4) {
        uint64_t r = qbp_rand(env);
        for (size_t j = 0; j < 4 && i + j < count; j++, r >>= 16) {
            /* sign, one of 4 exponents just below 1.0, random mantissa */
            unsigned s = r & 1, e = (r >> 1) & 3, m = (unsigned)(r >> 3);
            dst[i + j] = bf16 ? (uint16_t)(s << 15 | (123u + e) << 7 | (m & 127))
                              : (uint16_t)(s << 15 | (11u + e) << 10 | (m & 1023));
        }
    }
}

void qbp_fill_e4m3(qbp_env *env, uint8_t *dst, size_t count)
{
    qbp_fill_bytes(env, dst, count);
    for (size_t i = 0; i < count; i++) dst[i] &= 0xBF; /* e4m3: exponent <= 7, |v| < 2; as e5m2: < 4, finite */
}

void qbp_fill_f32(qbp_env *env, float *dst, size_t count, float lo, float hi)
{
    for (size_t i = 0; i < count; i++) dst[i] = lo + (hi - lo) * (float)(qbp_rand(env) >> 40) * 0x1p-24f;
}

/* Scales of the fills below: f32 weight scales in [SW_LO, SW_HI], others in [S_LO, S_HI]. */
#define SW_LO 0.5e-3f
#define SW_HI 1.5e-3f
#define S_LO 0.5e-2f
#define S_HI 1.5e-2f

/* ================= the environment and names ================= */

int qbp_env_init(qbp_env *env, qblas_handle_t h, qblas_handle_t oracle, uint64_t seed, char *err, size_t err_len)
{
    qblas_backend_t b = QBLAS_BACKEND_CPU;
    memset(env, 0, sizeof *env);
    env->h = h, env->oracle = oracle, env->rng = seed;
    if (qblas_get_backend(h, &b) != QBLAS_STATUS_SUCCESS) return fail(err, err_len, QBP_ERROR, "no handle");
    env->gpu = b != QBLAS_BACKEND_CPU;
#ifdef QBP_HAVE_CUDA
    int dev = 0, l2 = 0;
    if (env->gpu && (cudaGetDevice(&dev) != cudaSuccess ||
                     cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev) != cudaSuccess))
        return fail(err, err_len, QBP_ERROR, "CUDA runtime: cannot query the device's L2 size");
    env->l2_bytes = env->gpu && l2 > 0 ? (size_t)l2 : 0;
#else
    if (env->gpu) return fail(err, err_len, QBP_ERROR, "a GPU handle in a build without CUDA");
#endif
    return QBP_OK;
}

void qbp_spec_name(const qbp_spec *s, char *buf, size_t len)
{
    static const char *const fmts[] = {"?", "w4a16", "int8", "fp8", "w4a8", "sparse24"};
    const char *f = (unsigned)s->format < 6 ? fmts[s->format] : "?";
    if (s->kind != QBP_GEMM)
        snprintf(buf, len, "attn_%s_q%s_%skv", s->kind == QBP_DECODE ? "decode" : "prefill",
                 qblas_dtype_name(s->q_dtype), qblas_dtype_name(s->kv_dtype));
    else if (s->format == QBLAS_WFORMAT_W4A16)
        snprintf(buf, len, "w4a16_g%d_%s%s", (int)s->group_size, qblas_dtype_name(s->x_dtype), s->zeros ? "_zp" : "");
    else if (s->format == QBLAS_WFORMAT_W4A8)
        snprintf(buf, len, s->group_size ? "w4a8_g128" : "w4a8_perchannel");
    else
        snprintf(buf, len, "%s_%sx%s_%s", f, qblas_dtype_name(s->x_dtype), qblas_dtype_name(s->w_dtype),
                 s->w_scale == QBLAS_SCALE_PER_TENSOR ? "tensor" : s->w_scale == QBLAS_SCALE_PER_ROW ? "row"
                 : s->w_scale == QBLAS_SCALE_BLOCK_128X128 ? "block128" : "none");
}

/* ================= GEMM problems ================= */

static size_t align256(size_t v) { return (v + 255) / 256 * 256; }

/* The weight descriptor and activation dtype of a spec (no buffers yet). */
static void describe(const qbp_spec *s, qblas_weight_t *w)
{
    memset(w, 0, sizeof *w);
    w->format = s->format, w->n = s->n, w->k = s->k, w->dtype = s->w_dtype;
    w->scale_mode = s->w_scale, w->group_size = s->group_size;
    switch (s->format) {
    case QBLAS_WFORMAT_W4A16:
        w->dtype = QBLAS_DTYPE_U4, w->scale_mode = QBLAS_SCALE_PER_GROUP, w->scale_dtype = s->x_dtype;
        break;
    case QBLAS_WFORMAT_W4A8:
        w->dtype = QBLAS_DTYPE_U4, w->scale_dtype = QBLAS_DTYPE_F16;
        w->scale_mode = s->group_size ? QBLAS_SCALE_PER_GROUP : QBLAS_SCALE_PER_ROW;
        break;
    case QBLAS_WFORMAT_SPARSE24:
        if (s->w_dtype != QBLAS_DTYPE_F16 && s->w_dtype != QBLAS_DTYPE_BF16) w->scale_dtype = QBLAS_DTYPE_F32;
        break;
    default: w->scale_dtype = QBLAS_DTYPE_F32; break;
    }
}

/* The largest |dequantized weight| the fill below gives: the check's scale. */
static float weight_bound(const qbp_spec *s)
{
    const float fp8_max = s->w_dtype == QBLAS_DTYPE_E5M2 ? 4.0f : 2.0f;
    switch (s->format) {
    case QBLAS_WFORMAT_W4A16: return 15.0f * S_HI * 1.01f;  /* |code - zero| <= 15, f16/bf16 scales */
    case QBLAS_WFORMAT_INT8: return 128.0f * SW_HI;
    case QBLAS_WFORMAT_FP8: return fp8_max * SW_HI;
    case QBLAS_WFORMAT_W4A8: return 15.0f * 8.0f * S_HI * 1.01f; /* |code - z| * s2 * s1 */
    default:
        return s->w_dtype == QBLAS_DTYPE_I8 ? 128.0f * SW_HI
               : s->w_dtype == QBLAS_DTYPE_F16 || s->w_dtype == QBLAS_DTYPE_BF16 ? 1.0f
                                                                              : fp8_max * SW_HI;
    }
}

/* Random content for each canonical tensor of the weight, valid for its format. */
static void fill_weight(qbp_env *env, const qblas_weight_t *w, const qblas_weight_sizes_t *s, uint8_t *data,
                        uint8_t *meta, uint8_t *scales, uint8_t *zeros, uint8_t *gscales)
{
    static const uint8_t fields[6] = {0x4, 0x8, 0xC, 0x9, 0xD, 0xE}; /* the valid 2:4 index pairs */
    if (w->dtype == QBLAS_DTYPE_E4M3 || w->dtype == QBLAS_DTYPE_E5M2)
        qbp_fill_e4m3(env, data, s->data);
    else if (w->dtype == QBLAS_DTYPE_F16 || w->dtype == QBLAS_DTYPE_BF16)
        qbp_fill_half(env, (uint16_t *)data, s->data / 2, w->dtype == QBLAS_DTYPE_BF16);
    else
        qbp_fill_bytes(env, data, s->data); /* u4 and i8 codes: every bit pattern is valid */
    if (s->scales) {
        if (w->scale_dtype == QBLAS_DTYPE_F32) {
            qbp_fill_f32(env, (float *)scales, s->scales / 4, SW_LO, SW_HI);
        } else {
            size_t cnt = s->scales / 2;
            float *f = malloc(cnt * sizeof *f);
            if (f) {
                qbp_fill_f32(env, f, cnt, S_LO, S_HI);
                qblas_convert((int64_t)cnt, QBLAS_DTYPE_F32, f, w->scale_dtype, scales);
            }
            free(f);
        }
    }
    if (zeros) {
        qbp_fill_bytes(env, zeros, s->zeros);
        for (size_t i = 0; i < s->zeros; i++) zeros[i] &= 15;
    }
    if (gscales) { /* W4A8 group scales 1..8: |(code - z) * s2| <= 120 stays in int8 for any code */
        qbp_fill_bytes(env, gscales, s->group_scales);
        for (size_t i = 0; i < s->group_scales; i++) gscales[i] = (uint8_t)(1 + (gscales[i] & 7));
    }
    if (meta)
        for (size_t i = 0; i < s->meta; i++) {
            uint64_t r = qbp_rand(env);
            meta[i] = (uint8_t)(fields[r % 6] | fields[(r >> 8) % 6] << 4);
        }
}

/* Point w's buffers into one blob laid out at off[] (size 0: unused). */
static void point_into(qblas_weight_t *w, uint8_t *base, const size_t off[5], const size_t sz[5])
{
    w->data = base + off[0];
    w->meta = sz[1] ? base + off[1] : NULL;
    w->scales = sz[2] ? base + off[2] : NULL;
    w->zeros = sz[3] ? base + off[3] : NULL;
    w->group_scales = sz[4] ? base + off[4] : NULL;
}

/* The canonical weight as one blob, on the host (kept with an oracle),
 * uploaded and prepacked when the backend has its own layout. */
static int make_weight(qbp_problem *p, char *err, size_t err_len)
{
    qbp_env *env = p->env;
    qblas_weight_t w;
    qblas_weight_sizes_t s;
    describe(&p->spec, &w);
    qblas_status_t st = qblas_weight_sizes(&w, &s);
    if (st) return fail(err, err_len, QBP_ERROR, "qblas_weight_sizes: %s", qblas_status_string(st));
    const int want_zeros = p->spec.format == QBLAS_WFORMAT_W4A8 || (p->spec.format == QBLAS_WFORMAT_W4A16 && p->spec.zeros);
    size_t off[5] = {0}, total = 0, sz[5] = {s.data, s.meta, s.scales, want_zeros ? s.zeros : 0, s.group_scales};
    for (int i = 0; i < 5; i++) off[i] = total, total += align256(sz[i]);
    uint8_t *host = aligned_alloc(256, total ? total : 256);
    if (!host) return fail(err, err_len, QBP_ERROR, "out of host memory (%zu bytes)", total);
    fill_weight(env, &w, &s, host + off[0], sz[1] ? host + off[1] : NULL, host + off[2], sz[3] ? host + off[3] : NULL,
                sz[4] ? host + off[4] : NULL);
    p->weight_bytes = (double)(sz[0] + sz[1] + sz[2] + sz[3] + sz[4]);
    uint8_t *dev = qbp_alloc_upload(env, host, total);
    if (env->oracle) {
        p->host_weight = host;
        p->w_host = w;
        point_into(&p->w_host, host, off, sz);
    } else {
        free(host);
    }
    if (!dev) return fail(err, err_len, QBP_ERROR, "cannot allocate/upload %zu bytes of weight", total);
    point_into(&w, dev, off, sz);
    size_t packed_bytes = 0;
    st = qblas_prepack_size(env->h, &w, &packed_bytes);
    if (st == QBLAS_STATUS_SUCCESS) {
        void *blob = qbp_alloc(env, packed_bytes);
        st = blob ? qblas_prepack(env->h, &w, blob, packed_bytes, &p->w[0], NULL) : QBLAS_STATUS_ALLOC_FAILED;
        /* the content checks of a GPU prepack run on the device (docs/API.md);
         * reading their verdict also waits for the prepack before its source is freed */
        qblas_status_t dev_st = QBLAS_STATUS_SUCCESS;
        if (!st && !(st = qblas_device_status(env->h, NULL, &dev_st))) st = dev_st;
        qbp_free(env, dev);
        if (st) {
            qbp_free(env, blob);
            return fail(err, err_len, status_of(st), "qblas_prepack: %s (%s)", qblas_status_string(st),
                        qblas_last_error(env->h));
        }
        p->blob[0] = blob, p->blob_bytes = packed_bytes;
    } else if (st == QBLAS_STATUS_NOT_SUPPORTED) { /* no own layout: the canonical form is what it runs */
        p->w[0] = w, p->blob[0] = dev, p->blob_bytes = total;
    } else {
        qbp_free(env, dev);
        return fail(err, err_len, QBP_ERROR, "qblas_prepack_size: %s (%s)", qblas_status_string(st),
                    qblas_last_error(env->h));
    }
    p->copies = 1;
    return QBP_OK;
}

/* A pointer of a weight descriptor that lies in blob 0, moved into blob i. */
static const void *moved(const void *ptr, const qbp_problem *p, int i)
{
    const char *c = ptr, *b0 = p->blob[0];
    if (!c || c < b0 || c >= b0 + p->blob_bytes) return ptr;
    return (const char *)p->blob[i] + (c - b0);
}

/* Copies of blob 0 (device to device: every descriptor pointer points into the blob). */
static int rotate_weight(qbp_problem *p, char *err, size_t err_len)
{
    int want = qbp_copies_for(p->env, p->blob_bytes);
    for (int i = 1; i < want; i++) {
        p->blob[i] = qbp_alloc(p->env, p->blob_bytes);
        if (!p->blob[i] || qbp_copy(p->env, p->blob[i], p->blob[0], p->blob_bytes) != QBP_OK)
            return fail(err, err_len, QBP_ERROR, "cannot allocate weight copy %d of %zu bytes", i, p->blob_bytes);
        p->copies = i + 1;
        qblas_weight_t *w = &p->w[i];
        *w = p->w[0];
        w->data = moved(w->data, p, i), w->meta = moved(w->meta, p, i), w->scales = moved(w->scales, p, i);
        w->zeros = moved(w->zeros, p, i), w->group_scales = moved(w->group_scales, p, i);
        w->g_idx = moved(w->g_idx, p, i);
    }
    return QBP_OK;
}

static size_t x_scale_count(const qblas_act_t *x, int64_t m, int64_t k)
{
    switch (x->scale_mode) {
    case QBLAS_SCALE_PER_TENSOR: return 1;
    case QBLAS_SCALE_PER_ROW: return (size_t)m;
    case QBLAS_SCALE_BLOCK_1X128: return (size_t)(m * ((k + 127) / 128));
    default: return 0;
    }
}

/* Activations [m_max][k] and their scales (one blob: X, then the scales), the output [m_max][n]. */
static int make_gemm_io(qbp_problem *p, char *err, size_t err_len)
{
    qbp_env *env = p->env;
    const qbp_spec *s = &p->spec;
    const int64_t m = s->m_max, k = s->k;
    qblas_act_t x = {.dtype = s->x_dtype, .ld = k, .scale_mode = s->x_scale};
    const int half = x.dtype == QBLAS_DTYPE_F16 || x.dtype == QBLAS_DTYPE_BF16;
    const size_t xbytes = (size_t)(m * k) * (half ? 2 : 1), nsc = x_scale_count(&x, m, k);
    const size_t total = align256(xbytes) + nsc * sizeof(float);
    uint8_t *hx = aligned_alloc(256, align256(total));
    if (!hx) return fail(err, err_len, QBP_ERROR, "out of host memory");
    if (half)
        qbp_fill_half(env, (uint16_t *)hx, xbytes / 2, x.dtype == QBLAS_DTYPE_BF16);
    else if (x.dtype == QBLAS_DTYPE_E4M3 || x.dtype == QBLAS_DTYPE_E5M2)
        qbp_fill_e4m3(env, hx, xbytes);
    else
        qbp_fill_bytes(env, hx, xbytes);
    qbp_fill_f32(env, (float *)(hx + align256(xbytes)), nsc, S_LO, S_HI);
    uint8_t *dx = qbp_alloc_upload(env, hx, total);
    p->x = x;
    p->x.data = dx;
    p->x.scales = nsc && dx ? (const float *)(dx + align256(xbytes)) : NULL;
    if (env->oracle) {
        p->host_io = hx;
        p->x_host = x;
        p->x_host.data = hx;
        p->x_host.scales = nsc ? (const float *)(hx + align256(xbytes)) : NULL;
    } else {
        free(hx);
    }
    p->x_row_bytes = (double)xbytes / (double)m + (x.scale_mode == QBLAS_SCALE_PER_TENSOR ? 0.0 : 4.0 * (double)nsc / (double)m);
    const size_t ye = s->y_dtype == QBLAS_DTYPE_F32 ? 4 : 2;
    p->y = qbp_alloc(env, (size_t)(m * s->n) * ye);
    if (!dx || !p->y) return fail(err, err_len, QBP_ERROR, "cannot allocate activations/output");
    return QBP_OK;
}

/* ================= attention problems ================= */

/* The largest |dequantized V| the cache fill gives: the check's scale. */
static float value_bound(qblas_dtype_t kv)
{
    switch (kv) {
    case QBLAS_DTYPE_E4M3: return 2.0f * S_HI;
    case QBLAS_DTYPE_I8: return 128.0f * S_HI;
    case QBLAS_DTYPE_U4: return 10.0f * S_HI; /* |q - zero| <= 10: codes 0..15, zeros in [6, 10] */
    default: return 1.0f;
    }
}

/* The paged cache (each sequence owns its pages), the queries, the output.
 * Decode: m_max sequences of `context` keys, one query each. Prefill:
 * m_max query tokens, the last m_max / seqs positions of each sequence. */
static int make_attention(qbp_problem *p, char *err, size_t err_len)
{
    qbp_env *env = p->env;
    const qbp_spec *s = &p->spec;
    const qblas_dtype_t dt = s->kv_dtype;
    const int prefill = s->kind == QBP_PREFILL, D = s->head_dim, P = s->page_size ? s->page_size : 16;
    const int32_t seqs = prefill ? (s->seqs > 0 ? s->seqs : 1) : (int32_t)s->m_max;
    const int32_t tokens = (int32_t)s->m_max, ctx = s->context, pps = (ctx + P - 1) / P;
    if (prefill && (tokens % seqs || tokens / seqs > ctx))
        return fail(err, err_len, QBP_ERROR, "prefill: %d query tokens over %d sequences of %d keys", tokens, seqs, ctx);
    const int half = dt == QBLAS_DTYPE_F16 || dt == QBLAS_DTYPE_BF16;
    const size_t slots = (size_t)seqs * pps * P, row = dt == QBLAS_DTYPE_U4 ? (size_t)D / 2 : half ? 2 * (size_t)D : (size_t)D;
    const size_t cache = slots * s->heads_kv * row;
    const size_t nsc = half ? 0 : dt == QBLAS_DTYPE_E4M3 ? (size_t)s->heads_kv : slots * s->heads_kv;
    qblas_kv_cache_t *kv = &p->kv;
    kv->dtype = dt, kv->num_pages = seqs * pps, kv->page_size = P, kv->num_kv_heads = s->heads_kv, kv->head_dim = D;
    kv->scale_mode = half ? QBLAS_SCALE_NONE : dt == QBLAS_DTYPE_E4M3 ? QBLAS_SCALE_PER_HEAD : QBLAS_SCALE_PER_TOKEN_HEAD;
    /* host: K, V, their scales and zeros, block tables + lengths + indptr, queries: one blob */
    const size_t qbytes = (size_t)tokens * s->heads_q * D * 2, nsc4 = nsc * 4;
    const size_t ints = (size_t)seqs * pps + seqs + (prefill ? (size_t)seqs + 1 : 0);
    size_t off[8], total = 0;
    const size_t part[8] = {cache, cache, nsc4, nsc4, dt == QBLAS_DTYPE_U4 ? nsc4 : 0, dt == QBLAS_DTYPE_U4 ? nsc4 : 0,
                            ints * 4, qbytes};
    for (int i = 0; i < 8; i++) off[i] = total, total += align256(part[i]);
    uint8_t *h = aligned_alloc(256, align256(total));
    if (!h) return fail(err, err_len, QBP_ERROR, "out of host memory (%zu bytes)", total);
    for (int t = 0; t < 2; t++) { /* K, then V */
        if (half) qbp_fill_half(env, (uint16_t *)(h + off[t]), cache / 2, dt == QBLAS_DTYPE_BF16);
        else if (dt == QBLAS_DTYPE_E4M3) qbp_fill_e4m3(env, h + off[t], cache);
        else qbp_fill_bytes(env, h + off[t], cache);
        qbp_fill_f32(env, (float *)(h + off[2 + t]), nsc, S_LO, S_HI);
        if (dt == QBLAS_DTYPE_U4) qbp_fill_f32(env, (float *)(h + off[4 + t]), nsc, 6.0f, 10.0f);
    }
    int32_t *bt = (int32_t *)(h + off[6]), *lens = bt + (size_t)seqs * pps, *indptr = lens + seqs;
    for (int32_t i = 0; i < seqs * pps; i++) bt[i] = i; /* sequence s owns pages s*pps .. */
    for (int32_t i = 0; i < seqs; i++) lens[i] = ctx;
    for (int32_t i = 0; prefill && i <= seqs; i++) indptr[i] = i * (tokens / seqs);
    qbp_fill_half(env, (uint16_t *)(h + off[7]), qbytes / 2, s->q_dtype == QBLAS_DTYPE_BF16);
    uint8_t *d = qbp_alloc_upload(env, h, total);
    if (!d) {
        free(h);
        return fail(err, err_len, QBP_ERROR, "cannot allocate the KV cache (%zu bytes)", total);
    }
    qblas_attention_params_t *a = &p->ap;
    a->num_seqs = seqs, a->num_q_tokens = tokens, a->num_q_heads = s->heads_q, a->q_dtype = s->q_dtype;
    a->block_table_stride = pps, a->max_seq_len = ctx, a->sm_scale = 1.0f / sqrtf((float)D), a->window_left = -1;
    a->causal = 1;
    /* both copies point into their blob the same way */
    for (int c = 0; c < 2; c++) {
        uint8_t *b = c ? h : d;
        qblas_kv_cache_t *k = c ? &p->kv_host : kv;
        qblas_attention_params_t *q = c ? &p->ap_host : a;
        if (c) *k = *kv, *q = *a;
        k->k = b + off[0], k->v = b + off[1];
        k->k_scale = nsc ? (float *)(b + off[2]) : NULL, k->v_scale = nsc ? (float *)(b + off[3]) : NULL;
        k->k_zero = dt == QBLAS_DTYPE_U4 ? (float *)(b + off[4]) : NULL;
        k->v_zero = dt == QBLAS_DTYPE_U4 ? (float *)(b + off[5]) : NULL;
        q->block_tables = (const int32_t *)(b + off[6]);
        q->seq_lens = q->block_tables + (size_t)seqs * pps;
        q->qo_indptr = prefill ? q->seq_lens + seqs : NULL;
        q->q = b + off[7];
    }
    p->blob[0] = d, p->copies = 1; /* the device blob, freed by qbp_destroy */
    if (env->oracle) {
        p->host_io = h;
    } else {
        free(h);
        memset(&p->kv_host, 0, sizeof p->kv_host);
        memset(&p->ap_host, 0, sizeof p->ap_host);
    }
    p->y = qbp_alloc(env, qbytes);
    a->o = p->y;
    if (!p->y) return fail(err, err_len, QBP_ERROR, "cannot allocate the output");
    /* bytes one sequence's decode reads: K and V rows, plus per-token-head scales (and u4 zeros) */
    const int per_token = dt == QBLAS_DTYPE_I8 || dt == QBLAS_DTYPE_U4;
    p->kv_bytes_per_seq = 2.0 * ((double)ctx * s->heads_kv * (double)row +
                                 (per_token ? (double)ctx * s->heads_kv * 4.0 * (dt == QBLAS_DTYPE_U4 ? 2 : 1) : 0.0));
    p->vmax = value_bound(dt);
    return QBP_OK;
}

/* ================= problems ================= */

int qbp_create(qbp_env *env, const qbp_spec *spec, qbp_problem **out, char *err, size_t err_len)
{
    *out = NULL;
    if (spec->m_max < 1 || (spec->kind == QBP_GEMM && (spec->n < 1 || spec->k < 1)) ||
        (spec->kind != QBP_GEMM && (spec->heads_q < 1 || spec->heads_kv < 1 || spec->context < 1)))
        return fail(err, err_len, QBP_ERROR, "bad problem spec");
    qbp_problem *p = calloc(1, sizeof *p);
    if (!p) return fail(err, err_len, QBP_ERROR, "out of memory");
    p->env = env, p->spec = *spec;
    int rc;
    if (spec->kind == QBP_GEMM) {
        rc = make_weight(p, err, err_len);
        if (rc == QBP_OK) rc = make_gemm_io(p, err, err_len);
        if (rc == QBP_OK) { /* a NOT_SUPPORTED backend skips before the copies */
            qblas_kernel_info_t info;
            qblas_status_t st = qbp_query(p, spec->m_max, &info);
            if (st) rc = fail(err, err_len, status_of(st), "qblas_gemm_query: %s (%s)", qblas_status_string(st),
                              qblas_last_error(env->h));
        }
        if (rc == QBP_OK) rc = rotate_weight(p, err, err_len);
    } else {
        rc = make_attention(p, err, err_len);
        if (rc == QBP_OK) {
            qblas_kernel_info_t info;
            qblas_status_t st = qbp_query(p, spec->m_max, &info);
            if (st) rc = fail(err, err_len, status_of(st), "qblas_attention_query: %s (%s)", qblas_status_string(st),
                              qblas_last_error(env->h));
        }
    }
    if (rc != QBP_OK) {
        qbp_destroy(p);
        return rc;
    }
    *out = p;
    return QBP_OK;
}

void qbp_destroy(qbp_problem *p)
{
    if (!p) return;
    const qbp_env *env = p->env;
    for (int i = 0; i < QBP_MAX_COPIES; i++) qbp_free(env, p->blob[i]);
    qbp_free(env, (void *)p->x.data), qbp_free(env, p->y), qbp_free(env, p->ws);
    free(p->host_weight), free(p->host_io);
    free(p);
}

/* The call's attention parameters for m sequences (decode; prefill: all). */
static qblas_attention_params_t attn_params(const qbp_problem *p, int64_t m)
{
    qblas_attention_params_t a = p->ap;
    if (p->spec.kind == QBP_DECODE) a.num_seqs = a.num_q_tokens = (int32_t)m;
    return a;
}

static qblas_status_t grow_ws(qbp_problem *p, size_t need)
{
    if (need <= p->ws_bytes) return QBLAS_STATUS_SUCCESS;
    qbp_free(p->env, p->ws);
    p->ws = qbp_alloc(p->env, need);
    p->ws_bytes = p->ws ? need : 0;
    return p->ws ? QBLAS_STATUS_SUCCESS : QBLAS_STATUS_ALLOC_FAILED;
}

qblas_status_t qbp_query(qbp_problem *p, int64_t m, qblas_kernel_info_t *info)
{
    qblas_status_t st;
    if (p->spec.kind == QBP_GEMM) {
        st = qblas_gemm_query(p->env->h, m, p->spec.n, p->spec.k, &p->x, &p->w[0], p->spec.y_dtype, info);
    } else {
        const qblas_attention_params_t a = attn_params(p, m);
        st = qblas_attention_query(p->env->h, &p->kv, &a, info);
    }
    return st ? st : grow_ws(p, info->workspace_bytes);
}

qblas_status_t qbp_plan_make(qbp_problem *p, int64_t m, qbp_plan *pl)
{
    qblas_status_t st;
    size_t ws;
    memset(pl, 0, sizeof *pl);
    if (p->spec.kind == QBP_GEMM) {
        st = qblas_gemm_plan(p->env->h, m, p->spec.n, p->spec.k, &p->x, &p->w[0], p->spec.y_dtype, &pl->gemm);
        ws = pl->gemm.workspace_bytes;
    } else {
        const qblas_attention_params_t a = attn_params(p, m);
        st = qblas_attention_plan(p->env->h, &p->kv, &a, &pl->attn);
        ws = pl->attn.workspace_bytes;
    }
    return st ? st : grow_ws(p, ws);
}

const char *qbp_plan_config(const qbp_problem *p, const qbp_plan *pl)
{
    return p->spec.kind == QBP_GEMM ? pl->gemm.config_name : pl->attn.config_name;
}

const char *qbp_plan_kernel(const qbp_problem *p, const qbp_plan *pl)
{
    return p->spec.kind == QBP_GEMM ? pl->gemm.kernel_name : pl->attn.kernel_name;
}

qblas_status_t qbp_run(qbp_problem *p, int64_t m, const qbp_plan *plan, void *stream)
{
    qblas_handle_t h = p->env->h;
    if (!plan) { /* selecting: the workspace this call asks for */
        qblas_kernel_info_t info;
        qblas_status_t st = qbp_query(p, m, &info);
        if (st) return st;
    }
    if (p->spec.kind != QBP_GEMM) {
        const qblas_attention_params_t a = attn_params(p, m);
        return plan ? qblas_attention_planned(h, &plan->attn, &p->kv, &a, p->ws, p->ws_bytes, stream)
                    : qblas_attention(h, &p->kv, &a, p->ws, p->ws_bytes, stream);
    }
    const qblas_weight_t *w = &p->w[p->next];
    p->next = (p->next + 1) % p->copies;
    const qbp_spec *s = &p->spec;
    return plan ? qblas_gemm_planned(h, &plan->gemm, m, s->n, s->k, &p->x, w, NULL, s->y_dtype, p->y, s->n, p->ws,
                                     p->ws_bytes, stream)
                : qblas_gemm(h, m, s->n, s->k, &p->x, w, NULL, s->y_dtype, p->y, s->n, p->ws, p->ws_bytes, stream);
}

/* ================= the oracle check ================= */

static int64_t pick(qbp_env *env, int i, int64_t count)
{
    return i == 0 ? 0 : i == 1 ? count - 1 : (int64_t)(qbp_rand(env) % (uint64_t)count);
}

/* up to SAMPLES distinct indices in [0, count): the first, the last, random ones */
static int sample(qbp_env *env, int64_t count, int64_t *idx)
{
    int n = 0;
    for (int tries = 0; n < SAMPLES && tries < 4 * SAMPLES; tries++) {
        int64_t r = pick(env, tries, count), dup = 0;
        for (int i = 0; i < n; i++) dup |= idx[i] == r;
        if (!dup) idx[n++] = r;
    }
    return n;
}

static double gamma_n(double n, double u) { return n * u / (1.0 - n * u); }

/* Half an ulp of dtype t at |a| (subnormal floor included). */
static double half_ulp(qblas_dtype_t t, double a)
{
    const int mant = t == QBLAS_DTYPE_F16 ? 10 : t == QBLAS_DTYPE_BF16 ? 7 : 23;
    const double min_normal = t == QBLAS_DTYPE_F16 ? 0x1p-14 : 0x1p-126;
    int e;
    frexp(fabs(a) < min_normal ? min_normal : fabs(a), &e);
    return ldexp(1.0, e - mant - 2);
}

static int x_is_fp8(qblas_dtype_t t) { return t == QBLAS_DTYPE_E4M3 || t == QBLAS_DTYPE_E5M2; }
static size_t x_elem(qblas_dtype_t t) { return t == QBLAS_DTYPE_I8 || x_is_fp8(t) ? 1 : 2; }

/* sum_k |x(r, k)| of row r (dequantized with its scales). */
static double x_abs_sum(const qbp_problem *p, int64_t r)
{
    const qblas_act_t *x = &p->x_host;
    const int64_t k = p->spec.k, kb = (k + 127) / 128;
    float *row = malloc((size_t)k * sizeof *row);
    double sum = 0;
    if (!row) return INFINITY;
    if (x->dtype == QBLAS_DTYPE_I8) /* qblas_convert does the float types */
        for (int64_t c = 0; c < k; c++) row[c] = (float)((const int8_t *)x->data)[r * k + c];
    else
        qblas_convert(k, x->dtype, (const uint8_t *)x->data + (size_t)(r * k) * x_elem(x->dtype), QBLAS_DTYPE_F32, row);
    for (int64_t c = 0; c < k; c++) {
        const float sc = x->scale_mode == QBLAS_SCALE_PER_TENSOR ? x->scales[0]
                         : x->scale_mode == QBLAS_SCALE_PER_ROW  ? x->scales[r]
                         : x->scale_mode == QBLAS_SCALE_BLOCK_1X128 ? x->scales[r * kb + c / 128]
                                                                    : 1.0f;
        sum += fabs((double)row[c] * sc);
    }
    free(row);
    return sum;
}

static double y_value(qblas_dtype_t t, const void *y, int64_t i)
{
    float v;
    qblas_convert(1, t, (const uint8_t *)y + (size_t)i * (t == QBLAS_DTYPE_F32 ? 4 : 2), QBLAS_DTYPE_F32, &v);
    return v;
}

/* The bound (derivation): both sides form the same exact products (the
 * formats define the dequantized operands bit for bit) and sum them in
 * fp32 in different orders: at most 2 gamma_K(2^-24) * S, S = sum_k |x w|
 * <= wmax * sum_k |x|. fp8 operands run on tensor cores whose adds keep
 * fewer bits (assumed 2^-13 per add over a 128-k chain, as the harness
 * assumes): + gamma_min(K,128)(2^-13) * S. Each side rounds once to Y:
 * 2 half ulps. The GPU harness holds the tight per-family bounds; this one
 * serves any configuration, and a wrong configuration (unwritten, NaN,
 * wrong tile or scale) misses it by far. */
static int check_gemm(qbp_problem *p, int64_t m, char *why, size_t why_len)
{
    qbp_env *env = p->env;
    const qbp_spec *s = &p->spec;
    const int64_t n = s->n, k = s->k, kb = (k + 127) / 128;
    const size_t ye = s->y_dtype == QBLAS_DTYPE_F32 ? 4 : 2, xe = x_elem(s->x_dtype);
    int64_t rows[SAMPLES];
    const int nr = sample(env, m, rows);
    /* the sampled rows of X (and their scales) as a problem of nr rows */
    uint8_t *xs = malloc((size_t)(nr * k) * xe);
    float *sc = malloc((size_t)(nr * kb + 1) * sizeof *sc);
    uint8_t *yc = malloc((size_t)(nr * n) * ye), *yg = malloc((size_t)(nr * n) * ye);
    qblas_act_t xa = p->x_host;
    int ok = xs && sc && yc && yg;
    if (!ok) snprintf(why, why_len, "out of host memory");
    for (int i = 0; ok && i < nr; i++) {
        memcpy(xs + (size_t)(i * k) * xe, (const uint8_t *)xa.data + (size_t)(rows[i] * k) * xe, (size_t)k * xe);
        if (xa.scale_mode == QBLAS_SCALE_PER_ROW) sc[i] = xa.scales[rows[i]];
        if (xa.scale_mode == QBLAS_SCALE_BLOCK_1X128) memcpy(sc + i * kb, xa.scales + rows[i] * kb, (size_t)kb * 4);
        if (xa.scale_mode == QBLAS_SCALE_PER_TENSOR) sc[0] = xa.scales[0];
        ok = qbp_download(env, yg + (size_t)(i * n) * ye, (const uint8_t *)p->y + (size_t)(rows[i] * n) * ye,
                          (size_t)n * ye) == QBP_OK;
        if (!ok) snprintf(why, why_len, "cannot read Y back (a kernel fault?)");
    }
    xa.data = xs, xa.scales = xa.scales ? sc : NULL;
    qblas_kernel_info_t info;
    qblas_status_t st = ok ? qblas_gemm_query(env->oracle, nr, n, k, &xa, &p->w_host, s->y_dtype, &info) : 0;
    void *ws = ok && !st ? malloc(info.workspace_bytes ? info.workspace_bytes : 1) : NULL;
    if (ok && !st) st = qblas_gemm(env->oracle, nr, n, k, &xa, &p->w_host, NULL, s->y_dtype, yc, n, ws,
                                   info.workspace_bytes, NULL);
    if (ok && st) ok = 0, snprintf(why, why_len, "the oracle: %s (%s)", qblas_status_string(st), qblas_last_error(env->oracle));
    const int fp8 = x_is_fp8(s->x_dtype);
    const double wmax = weight_bound(s);
    const double rel = 2.0 * gamma_n((double)k, 0x1p-24) + (fp8 ? gamma_n(k < 128 ? (double)k : 128.0, 0x1p-13) : 0.0);
    for (int i = 0; ok && i < nr; i++) {
        const double S = wmax * x_abs_sum(p, rows[i]);
        for (int64_t j = 0; ok && j < n; j++) {
            const double g = y_value(s->y_dtype, yg, i * n + j), c = y_value(s->y_dtype, yc, i * n + j);
            const double tol = rel * S + 2.0 * half_ulp(s->y_dtype, fabs(c) + rel * S);
            if (!(fabs(g - c) <= tol)) {
                snprintf(why, why_len, "y[%lld][%lld] = %.9g, the oracle %.9g (bound %.3g)", (long long)rows[i],
                         (long long)j, g, c, tol);
                ok = 0;
            }
        }
    }
    free(xs), free(sc), free(yc), free(yg), free(ws);
    return ok;
}

/* The bound (derivation): O is a convex combination of V rows, computed on
 * both sides from the same dequantized values with fp32 softmax; the GPU
 * rounds P to the query dtype for the P.V products (relative 2^-8 for bf16)
 * and Q.K^T runs on tensor cores: |O_gpu - O_cpu| <= 2^-6 * max|V| covers
 * both with room, plus the output rounding (2 half ulps). A wrong row,
 * head or mask misses it by far (such errors are of the size of |V|). */
static int check_attention(qbp_problem *p, int64_t m, char *why, size_t why_len)
{
    qbp_env *env = p->env;
    const qbp_spec *s = &p->spec;
    const int D = s->head_dim, H = s->heads_q, pps = p->ap.block_table_stride;
    const size_t qrow = (size_t)H * D * 2;
    int64_t seq[SAMPLES];
    int ns;
    qblas_attention_params_t a = p->ap_host;
    int32_t *bt = NULL, *lens = NULL, indptr[2] = {0, 0};
    int64_t tokens;
    if (s->kind == QBP_DECODE) { /* sampled sequences as a batch of their own */
        ns = sample(env, m, seq);
        tokens = ns;
        bt = malloc((size_t)ns * pps * 4), lens = malloc((size_t)ns * 4);
    } else { /* the first sequence's queries */
        ns = 1, seq[0] = 0;
        tokens = p->ap_host.qo_indptr[1];
        indptr[1] = (int32_t)tokens;
        a.qo_indptr = indptr;
    }
    uint8_t *q = malloc((size_t)tokens * qrow), *oc = malloc((size_t)tokens * qrow), *og = malloc((size_t)tokens * qrow);
    int ok = q && oc && og && (s->kind != QBP_DECODE || (bt && lens));
    if (!ok) snprintf(why, why_len, "out of host memory");
    for (int i = 0; ok && s->kind == QBP_DECODE && i < ns; i++) {
        memcpy(bt + (size_t)i * pps, p->ap_host.block_tables + seq[i] * pps, (size_t)pps * 4);
        lens[i] = p->ap_host.seq_lens[seq[i]];
        memcpy(q + i * qrow, (const uint8_t *)p->ap_host.q + seq[i] * qrow, qrow);
        ok = qbp_download(env, og + i * qrow, (const uint8_t *)p->y + seq[i] * qrow, qrow) == QBP_OK;
    }
    if (ok && s->kind == QBP_PREFILL) {
        memcpy(q, p->ap_host.q, (size_t)tokens * qrow);
        ok = qbp_download(env, og, p->y, (size_t)tokens * qrow) == QBP_OK;
    }
    if (!ok && !why[0]) snprintf(why, why_len, "cannot read O back (a kernel fault?)");
    if (s->kind == QBP_DECODE) a.block_tables = bt, a.seq_lens = lens;
    a.num_seqs = ns, a.num_q_tokens = (int32_t)tokens, a.q = q, a.o = oc, a.lse = NULL;
    qblas_kernel_info_t info;
    qblas_status_t st = ok ? qblas_attention_query(env->oracle, &p->kv_host, &a, &info) : 0;
    void *ws = ok && !st ? malloc(info.workspace_bytes ? info.workspace_bytes : 1) : NULL;
    if (ok && !st) st = qblas_attention(env->oracle, &p->kv_host, &a, ws, info.workspace_bytes, NULL);
    if (ok && st) ok = 0, snprintf(why, why_len, "the oracle: %s (%s)", qblas_status_string(st), qblas_last_error(env->oracle));
    const double tol = 0x1p-6 * p->vmax + 2.0 * half_ulp(s->q_dtype, p->vmax);
    for (int64_t i = 0; ok && i < tokens * H * D; i++) {
        const double g = y_value(s->q_dtype, og, i), c = y_value(s->q_dtype, oc, i);
        if (!(fabs(g - c) <= tol)) {
            snprintf(why, why_len, "o[%lld] (token %lld of the sample) = %.9g, the oracle %.9g (bound %.3g)",
                     (long long)i, (long long)(i / ((int64_t)H * D)), g, c, tol);
            ok = 0;
        }
    }
    free(bt), free(lens), free(q), free(oc), free(og), free(ws);
    return ok;
}

int qbp_check(qbp_problem *p, int64_t m, char *why, size_t why_len)
{
    why[0] = '\0';
    if (!p->env->oracle) return snprintf(why, why_len, "no oracle handle"), 0;
#ifdef QBP_HAVE_CUDA
    if (p->env->gpu && cudaDeviceSynchronize() != cudaSuccess)
        return snprintf(why, why_len, "the run failed on the device: %s", cudaGetErrorString(cudaGetLastError())), 0;
#endif
    return p->spec.kind == QBP_GEMM ? check_gemm(p, m, why, why_len) : check_attention(p, m, why, why_len);
}

/* ================= the tunable families ================= */

#define GEMM_KEY(f, a) {.op = QBLAS_TUNING_GEMM, .format = f, .act = a}
#define GEMM_SPEC(f, xt, wt, xs, ws, g)                                                                       \
    {.kind = QBP_GEMM, .m_max = 40, .format = f, .x_dtype = xt, .w_dtype = wt, .y_dtype = QBLAS_DTYPE_F16,    \
     .x_scale = xs, .w_scale = ws, .group_size = g, .zeros = 1, .n = 256, .k = 384}
#define ATTN_KEY(op_) {.op = op_, .act = QBLAS_DTYPE_F16, .kv_dtype = QBLAS_DTYPE_F16}
#define ATTN_SPEC(kind_, m)                                                                                   \
    {.kind = kind_, .m_max = m, .q_dtype = QBLAS_DTYPE_F16, .kv_dtype = QBLAS_DTYPE_F16, .heads_q = 8,        \
     .heads_kv = 2, .head_dim = 64, .context = 300, .page_size = 16, .seqs = 2}
#define DT(t) QBLAS_DTYPE_##t
#define SC(s) QBLAS_SCALE_##s
#define WF(f) QBLAS_WFORMAT_##f

const qbp_family qbp_families[] = {
    {"w4a16_f16", GEMM_KEY(WF(W4A16), DT(F16)), GEMM_SPEC(WF(W4A16), DT(F16), DT(U4), SC(NONE), SC(PER_GROUP), 128)},
    {"w4a16_bf16", GEMM_KEY(WF(W4A16), DT(BF16)), GEMM_SPEC(WF(W4A16), DT(BF16), DT(U4), SC(NONE), SC(PER_GROUP), 128)},
    {"int8", GEMM_KEY(WF(INT8), DT(I8)), GEMM_SPEC(WF(INT8), DT(I8), DT(I8), SC(PER_ROW), SC(PER_ROW), 0)},
    {"fp8", GEMM_KEY(WF(FP8), DT(E4M3)), GEMM_SPEC(WF(FP8), DT(E4M3), DT(E4M3), SC(PER_ROW), SC(PER_ROW), 0)},
    {"w4a8", GEMM_KEY(WF(W4A8), DT(I8)), GEMM_SPEC(WF(W4A8), DT(I8), DT(U4), SC(PER_ROW), SC(PER_GROUP), 128)},
    {"sparse24_f16", GEMM_KEY(WF(SPARSE24), DT(F16)), GEMM_SPEC(WF(SPARSE24), DT(F16), DT(F16), SC(NONE), SC(NONE), 0)},
    {"sparse24_bf16", GEMM_KEY(WF(SPARSE24), DT(BF16)),
     GEMM_SPEC(WF(SPARSE24), DT(BF16), DT(BF16), SC(NONE), SC(NONE), 0)},
    {"sparse24_i8", GEMM_KEY(WF(SPARSE24), DT(I8)), GEMM_SPEC(WF(SPARSE24), DT(I8), DT(I8), SC(PER_ROW), SC(PER_ROW), 0)},
    /* fp8 activations: one key for e4m3 and e5m2 weights, per-row or block scales (qbp_family_spec) */
    {"sparse24_fp8", GEMM_KEY(WF(SPARSE24), DT(E4M3)),
     GEMM_SPEC(WF(SPARSE24), DT(E4M3), DT(E4M3), SC(PER_ROW), SC(PER_ROW), 0)},
    {"attn_decode", ATTN_KEY(QBLAS_TUNING_ATTN_DECODE), ATTN_SPEC(QBP_DECODE, 3)},
    {"attn_prefill", ATTN_KEY(QBLAS_TUNING_ATTN_PREFILL), ATTN_SPEC(QBP_PREFILL, 96)},
};
const int qbp_nfamilies = (int)(sizeof qbp_families / sizeof qbp_families[0]);

const qbp_family *qbp_family_named(const char *name)
{
    for (int i = 0; i < qbp_nfamilies; i++)
        if (strcmp(qbp_families[i].name, name) == 0) return &qbp_families[i];
    return NULL;
}

qbp_spec qbp_family_spec(const qbp_family *f, int64_t m_max, int64_t n, int64_t k, int32_t head_dim,
                         const char *config)
{
    qbp_spec s = f->spec;
    s.m_max = m_max;
    if (s.kind == QBP_GEMM) {
        s.n = n, s.k = k;
    } else {
        s.heads_q = (int32_t)n, s.heads_kv = (int32_t)k;
        if (head_dim) s.head_dim = head_dim;
    }
    if (config && strncmp(config, "sp24_e5m2", 9) == 0) s.w_dtype = QBLAS_DTYPE_E5M2;
    if (config && strstr(config, "_block128")) s.x_scale = QBLAS_SCALE_BLOCK_1X128, s.w_scale = QBLAS_SCALE_BLOCK_128X128;
    return s;
}

qblas_tuning_entry_t qbp_tuning_row(const qbp_family *f, const qbp_spec *s, int64_t m_min, int64_t m_max,
                                    const char *config)
{
    qblas_tuning_entry_t r = f->key;
    const int attn = s->kind != QBP_GEMM;
    r.m_min = m_min, r.m_max = m_max, r.time_us = 1.0;
    r.n = attn ? s->heads_q : s->n, r.k = attn ? s->heads_kv : s->k, r.head_dim = attn ? s->head_dim : 0;
    snprintf(r.kernel, sizeof r.kernel, "%s", config);
    snprintf(r.config, sizeof r.config, "-");
    return r;
}

qblas_status_t qbp_tuning_load(qblas_handle_t h, const qblas_tuning_entry_t *rows, size_t n)
{
    qblas_tuning_header_t hd;
    const size_t cap = 256 * (n + 16); /* a line is at most 255 bytes and '\n' */
    size_t len;
    char *buf = malloc(cap);
    if (!buf) return QBLAS_STATUS_ALLOC_FAILED;
    qblas_status_t st = qblas_tuning_device(h, &hd);
    if (!st) st = qblas_tuning_write_entries(&hd, rows, n, buf, cap, &len);
    if (!st) st = qblas_tuning_load_buffer(h, buf, len);
    free(buf);
    return st;
}
