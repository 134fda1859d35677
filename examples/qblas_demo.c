/* qblas_demo.c - the README's main job: every qblas operation once, at a
 * Llama-3-8B layer shape, through the public API, timed, with the kernel that
 * ran. It runs on the CPU backend (the reference implementation); GPU timings
 * live in bench/.
 *
 *   qblas_demo [M]      M = tokens in the batch (default 16)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qblas.h>

static qblas_handle_t h;

static void check(qblas_status_t st, const char *what)
{
    if (st == QBLAS_STATUS_SUCCESS) return;
    fprintf(stderr, "%s: %s (%s)\n", what, qblas_status_string(st), qblas_last_error(h));
    exit(1);
}
#define CHECK(call) check((call), #call)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float frand(void) { return (float)rand() / RAND_MAX * 2.0f - 1.0f; }

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
    return p;
}

/* Quantize a random float weight into the format *w describes. */
static void make_weight(qblas_weight_t *w, const float *wf)
{
    qblas_weight_sizes_t s;
    CHECK(qblas_weight_sizes(w, &s));
    w->data = xmalloc(s.data);
    if (w->scale_mode != QBLAS_SCALE_NONE) w->scales = xmalloc(s.scales);
    if (w->format == QBLAS_WFORMAT_W4A16 || w->format == QBLAS_WFORMAT_W4A8) w->zeros = xmalloc(s.zeros);
    if (s.group_scales) w->group_scales = xmalloc(s.group_scales);
    if (w->format == QBLAS_WFORMAT_SPARSE24) w->meta = xmalloc(s.meta);
    CHECK(qblas_quantize_weight(w->n, w->k, QBLAS_DTYPE_F32, wf, w->k, w));
}

static void free_weight(qblas_weight_t *w)
{
    free((void *)w->data), free((void *)w->scales), free((void *)w->zeros);
    free((void *)w->group_scales), free((void *)w->meta);
}

static void run_gemm(const char *label, int64_t m, const qblas_act_t *x, qblas_weight_t *w)
{
    int64_t n = w->n, k = w->k;
    qblas_kernel_info_t info;
    CHECK(qblas_gemm_query(h, m, n, k, x, w, QBLAS_DTYPE_F16, &info));
    void *ws = xmalloc(info.workspace_bytes), *y = xmalloc((size_t)m * n * 2);
    double t0 = now();
    CHECK(qblas_gemm(h, m, n, k, x, w, NULL, QBLAS_DTYPE_F16, y, n, ws, info.workspace_bytes, NULL));
    double dt = now() - t0;
    printf("  %-22s %5lldx%5lldx%5lld  %8.1f ms  %7.2f GFLOP/s  %s\n", label, (long long)m, (long long)n,
           (long long)k, dt * 1e3, 2.0 * m * n * k / dt * 1e-9, info.kernel_name);
    free(ws), free(y);
}

static void demo_gemms(int64_t m, int64_t n, int64_t k)
{
    float *wf = xmalloc(sizeof(float) * n * k), *xf = xmalloc(sizeof(float) * m * k);
    for (int64_t i = 0; i < n * k; i++) wf[i] = frand() * 0.05f;
    for (int64_t i = 0; i < m * k; i++) xf[i] = frand();
    uint16_t *x16 = xmalloc((size_t)m * k * 2);
    int8_t *x8 = xmalloc((size_t)m * k);
    uint8_t *xe4 = xmalloc((size_t)m * k);
    float *sx = xmalloc(sizeof(float) * m * ((k + 127) / 128));
    CHECK(qblas_convert(m * k, QBLAS_DTYPE_F32, xf, QBLAS_DTYPE_F16, x16));

    qblas_weight_t w4 = {.format = QBLAS_WFORMAT_W4A16, .dtype = QBLAS_DTYPE_U4, .n = n, .k = k,
                         .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = QBLAS_DTYPE_F16, .group_size = 128};
    make_weight(&w4, wf);
    qblas_act_t a16 = {.dtype = QBLAS_DTYPE_F16, .data = x16, .ld = k};
    run_gemm("W4A16 g128 (f16 X)", m, &a16, &w4);
    free_weight(&w4);

    /* int8 activations: quantized per token on the fly, as an engine would */
    CHECK(qblas_quantize_act(h, m, k, QBLAS_DTYPE_F16, x16, k, QBLAS_DTYPE_I8, x8, k, QBLAS_SCALE_PER_ROW, sx, NULL,
                             NULL));
    qblas_act_t a8 = {.dtype = QBLAS_DTYPE_I8, .data = x8, .ld = k, .scale_mode = QBLAS_SCALE_PER_ROW, .scales = sx};
    qblas_weight_t wi8 = {.format = QBLAS_WFORMAT_INT8, .dtype = QBLAS_DTYPE_I8, .n = n, .k = k,
                          .scale_mode = QBLAS_SCALE_PER_ROW, .scale_dtype = QBLAS_DTYPE_F32};
    make_weight(&wi8, wf);
    run_gemm("W8A8 int8", m, &a8, &wi8);
    free_weight(&wi8);

    qblas_weight_t wqq = {.format = QBLAS_WFORMAT_W4A8, .dtype = QBLAS_DTYPE_U4, .n = n, .k = k,
                          .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = QBLAS_DTYPE_F16, .group_size = 128};
    make_weight(&wqq, wf);
    run_gemm("W4A8 QoQ g128", m, &a8, &wqq);
    free_weight(&wqq);

    CHECK(qblas_quantize_act(h, m, k, QBLAS_DTYPE_F16, x16, k, QBLAS_DTYPE_E4M3, xe4, k, QBLAS_SCALE_BLOCK_1X128, sx,
                             NULL, NULL));
    qblas_act_t ae4 = {.dtype = QBLAS_DTYPE_E4M3, .data = xe4, .ld = k, .scale_mode = QBLAS_SCALE_BLOCK_1X128,
                       .scales = sx};
    qblas_weight_t wf8 = {.format = QBLAS_WFORMAT_FP8, .dtype = QBLAS_DTYPE_E4M3, .n = n, .k = k,
                          .scale_mode = QBLAS_SCALE_BLOCK_128X128, .scale_dtype = QBLAS_DTYPE_F32};
    make_weight(&wf8, wf);
    run_gemm("FP8 e4m3 block-128", m, &ae4, &wf8);
    free_weight(&wf8);

    float *wp = xmalloc(sizeof(float) * n * k);
    CHECK(qblas_sparse24_prune(n, k, QBLAS_DTYPE_F32, wf, k, wp, k));
    qblas_weight_t ws = {.format = QBLAS_WFORMAT_SPARSE24, .dtype = QBLAS_DTYPE_F16, .n = n, .k = k};
    make_weight(&ws, wp);
    run_gemm("2:4 sparse f16", m, &a16, &ws);
    free_weight(&ws);

    free(wf), free(xf), free(x16), free(x8), free(xe4), free(sx), free(wp);
}

/* Decode attention over a paged cache filled through qblas_kv_append. */
static void demo_attention(int batch, int ctx, qblas_dtype_t kv_dtype)
{
    enum { HQ = 32, HKV = 8, D = 128, P = 16 };
    int pages_per_seq = (ctx + P - 1) / P, num_pages = batch * pages_per_seq;
    int64_t slots = (int64_t)num_pages * P;
    qblas_kv_cache_t kv = {.dtype = kv_dtype, .num_pages = num_pages, .page_size = P, .num_kv_heads = HKV,
                           .head_dim = D};
    size_t row = kv_dtype == QBLAS_DTYPE_U4 ? D / 2 : kv_dtype == QBLAS_DTYPE_F16 ? 2 * D : D;
    kv.k = xmalloc(slots * HKV * row), kv.v = xmalloc(slots * HKV * row);
    if (kv_dtype == QBLAS_DTYPE_I8 || kv_dtype == QBLAS_DTYPE_U4) {
        kv.scale_mode = QBLAS_SCALE_PER_TOKEN_HEAD;
        kv.k_scale = xmalloc(sizeof(float) * slots * HKV), kv.v_scale = xmalloc(sizeof(float) * slots * HKV);
        if (kv_dtype == QBLAS_DTYPE_U4)
            kv.k_zero = xmalloc(sizeof(float) * slots * HKV), kv.v_zero = xmalloc(sizeof(float) * slots * HKV);
    }
    /* fill every slot through the append path */
    int64_t ntok = slots;
    float *kn = xmalloc(sizeof(float) * ntok * HKV * D), *vn = xmalloc(sizeof(float) * ntok * HKV * D);
    int64_t *slot = xmalloc(sizeof(int64_t) * ntok);
    for (int64_t i = 0; i < ntok * HKV * D; i++) kn[i] = frand(), vn[i] = frand();
    for (int64_t i = 0; i < ntok; i++) slot[i] = i;
    CHECK(qblas_kv_append(h, &kv, ntok, QBLAS_DTYPE_F32, kn, vn, slot, NULL));

    int32_t *lens = xmalloc(sizeof(int32_t) * batch), *bt = xmalloc(sizeof(int32_t) * num_pages);
    for (int s = 0; s < batch; s++) lens[s] = ctx;
    for (int i = 0; i < num_pages; i++) bt[i] = i;
    uint16_t *q = xmalloc(2 * batch * HQ * D), *o = xmalloc(2 * batch * HQ * D);
    float *qf = xmalloc(sizeof(float) * batch * HQ * D);
    for (int i = 0; i < batch * HQ * D; i++) qf[i] = frand();
    CHECK(qblas_convert(batch * HQ * D, QBLAS_DTYPE_F32, qf, QBLAS_DTYPE_F16, q));
    qblas_attention_params_t p = {.num_seqs = batch, .num_q_tokens = batch, .num_q_heads = HQ,
                                  .q_dtype = QBLAS_DTYPE_F16, .q = q, .o = o, .seq_lens = lens,
                                  .block_tables = bt, .block_table_stride = pages_per_seq, .max_seq_len = ctx,
                                  .sm_scale = 1.0f / sqrtf((float)D), .window_left = -1};
    qblas_kernel_info_t info;
    CHECK(qblas_attention_query(h, &kv, &p, &info));
    void *ws = xmalloc(info.workspace_bytes);
    double t0 = now();
    CHECK(qblas_attention(h, &kv, &p, ws, info.workspace_bytes, NULL));
    double dt = now() - t0;
    double kv_bytes = 2.0 * batch * ctx * HKV * (double)row;
    printf("  decode %-6s batch %2d x ctx %5d  %8.1f ms  %7.2f GB/s of KV  %s\n", qblas_dtype_name(kv_dtype), batch,
           ctx, dt * 1e3, kv_bytes / dt * 1e-9, info.kernel_name);
    free(kv.k), free(kv.v), free(kv.k_scale), free(kv.v_scale), free(kv.k_zero), free(kv.v_zero);
    free(kn), free(vn), free(slot), free(lens), free(bt), free(q), free(o), free(qf), free(ws);
}

int main(int argc, char **argv)
{
    int64_t m = argc > 1 ? atoll(argv[1]) : 16;
    if (m < 1) m = 16;
    srand(7);
    CHECK(qblas_create(&h, QBLAS_BACKEND_CPU, 0));
    int threads;
    CHECK(qblas_get_num_threads(h, &threads));
    printf("qblas %s demo on the CPU backend (%d threads)\n", qblas_get_version_string(), threads);
    printf("GEMMs, Llama-3-8B q/k/v-sized layer, Y in f16:\n");
    demo_gemms(m, 4096, 4096);
    printf("Paged-KV decode attention, Hq 32, Hkv 8, D 128, page 16:\n");
    demo_attention(4, 2048, QBLAS_DTYPE_F16);
    demo_attention(4, 2048, QBLAS_DTYPE_I8);
    demo_attention(4, 2048, QBLAS_DTYPE_U4);
    qblas_destroy(h);
    return 0;
}
