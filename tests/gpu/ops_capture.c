/* ops_capture.c - every call that launches GPU work, captured into a CUDA
 * graph (docs/API.md, "Graph capture").
 *
 * Each family's call (activation quantization in its three modes, the
 * W4A16, W4A8 and 2:4 prepacks, the W4A16, INT8, FP8, W4A8 and 2:4 GEMMs
 * with the paths that add kernels: act-order, split-K, zero points, decode
 * and prefill attention, KV append) runs once uncaptured, then is captured
 * with cudaStreamBeginCapture in global mode on a non-default stream, so
 * the runtime (the real one, or the simulator, which refuses exactly what
 * the real one does) refuses any synchronization, allocation or synchronous
 * copy; the graph's bytes must equal the uncaptured call's
 * (expect_captured), and the results the CPU oracle's on host copies of
 * the inputs (bytes for the bit-exact calls; the prepack blobs, which have
 * no CPU twin, through the GEMM that reads them). Last, a captured call with
 * an invalid device value: the graph writes nothing and records the error,
 * and it reads the value afresh at every launch.
 */
#include "gpu_harness.h"

static void fill(void *p, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++) ((uint8_t *)p)[i] = (uint8_t)rnd();
}
static void *drand_bytes(size_t bytes)
{
    uint8_t *h = xmalloc(bytes);
    fill(h, bytes);
    void *d = dcopy(h, bytes);
    free(h);
    return d;
}
/* n values uniform in [lo, hi] of t (F32, F16, BF16; I32: integers), on the device. */
static void *drandom(qblas_dtype_t t, size_t n, double lo, double hi)
{
    uint32_t *h = xmalloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        if (t == QBLAS_DTYPE_I32)
            ((int32_t *)h)[i] = (int32_t)irand((int64_t)lo, (int64_t)hi);
        else
            from_f32(t, h, (int64_t)i, (float)uni(lo, hi));
    }
    void *d = dcopy(h, n * (t == QBLAS_DTYPE_F16 || t == QBLAS_DTYPE_BF16 ? 2 : 4));
    free(h);
    return d;
}

/* ---------------------------------------------------------------- the calls */
typedef struct {
    qblas_handle_t h;
    int64_t m, k;
    qblas_dtype_t xt, qt;
    const void *x;
    void *q;
    qblas_scale_mode_t mode;
    float *scales;
    int32_t *zeros;
} qact_call;
static qblas_status_t issue_qact(void *ctx, cudaStream_t s)
{
    const qact_call *c = ctx;
    return qblas_quantize_act(c->h, c->m, c->k, c->xt, c->x, c->k, c->qt, c->q, c->k, c->mode, c->scales, c->zeros, s);
}

typedef struct {
    qblas_handle_t h;
    qblas_weight_t w, packed;
    void *dst;
    size_t bytes;
} prepack_call;
static qblas_status_t issue_prepack(void *ctx, cudaStream_t s)
{
    prepack_call *c = ctx;
    return qblas_prepack(c->h, &c->w, c->dst, c->bytes, &c->packed, s);
}

typedef struct {
    qblas_handle_t h;
    int64_t m;
    qblas_act_t x;
    const qblas_weight_t *w;
    void *y, *ws;
    size_t ws_bytes;
} gemm_call;
static qblas_status_t issue_gemm(void *ctx, cudaStream_t s)
{
    const gemm_call *c = ctx;
    return qblas_gemm(c->h, c->m, c->w->n, c->w->k, &c->x, c->w, NULL, QBLAS_DTYPE_F16, c->y, c->w->n, c->ws,
                      c->ws_bytes, s);
}

typedef struct {
    qblas_handle_t h;
    qblas_kv_cache_t kv;
    qblas_attention_params_t p;
    void *ws;
    size_t ws_bytes;
    int64_t tokens; /* append */
    const void *k_new, *v_new;
    const int64_t *slots;
} attn_call;
static qblas_status_t issue_attention(void *ctx, cudaStream_t s)
{
    const attn_call *c = ctx;
    return qblas_attention(c->h, &c->kv, &c->p, c->ws, c->ws_bytes, s);
}
static qblas_status_t issue_append(void *ctx, cudaStream_t s)
{
    const attn_call *c = ctx;
    return qblas_kv_append(c->h, &c->kv, c->tokens, QBLAS_DTYPE_F16, c->k_new, c->v_new, c->slots, s);
}

/* ---------------------------------------------------------------- the oracle */
static void *to_host(const void *d, size_t bytes)
{
    if (!d) return NULL;
    void *h = xmalloc(bytes ? bytes : 1);
    CUDA_OK(cudaMemcpy(h, d, bytes, cudaMemcpyDeviceToHost));
    return h;
}

/* n values of t (F16 or F32) on the device against the oracle's within 1%
 * of the oracle's max |value| (the groups hold the derived bounds). */
static void expect_close(qblas_dtype_t t, const void *dev, const void *ref, int64_t n, const char *what)
{
    void *g = to_host(dev, (size_t)n * (t == QBLAS_DTYPE_F32 ? 4 : 2));
    double amax = 0;
    for (int64_t i = 0; i < n; i++) amax = fmax(amax, fabs(to_f32(t, ref, i)));
    for (int64_t i = 0; i < n; i++) {
        const double a = to_f32(t, g, i), b = to_f32(t, ref, i);
        if (!(fabs(a - b) <= 0.01 * amax)) {
            expect(false, "graph's %s[%lld] = %g, the oracle's %g", what, (long long)i, a, b);
            break;
        }
    }
    free(g);
}

/* Y (m x n f16, device, the graph's) against the CPU oracle run on host
 * copies of X and the canonical weight: the same bytes for the bit-exact
 * families (INT8, W4A8, 2:4 i8), else expect_close. */
static void expect_oracle(qblas_handle_t cpu, int64_t m, const qblas_act_t *x, const qblas_weight_t *canon,
                          const void *y, bool exact)
{
    const int64_t n = canon->n, k = canon->k;
    qblas_weight_sizes_t sz;
    qblas_status_t st = qblas_weight_sizes(canon, &sz);
    expect(st == QBLAS_STATUS_SUCCESS, "qblas_weight_sizes: %s", qblas_status_string(st));
    if (st) return;
    qblas_weight_t w = *canon;
    w.data = to_host(canon->data, sz.data), w.meta = to_host(canon->meta, sz.meta);
    w.scales = to_host(canon->scales, sz.scales), w.zeros = to_host(canon->zeros, sz.zeros);
    w.group_scales = to_host(canon->group_scales, sz.group_scales), w.g_idx = to_host(canon->g_idx, sz.g_idx);
    const size_t xsz = x->dtype == QBLAS_DTYPE_F16 || x->dtype == QBLAS_DTYPE_BF16 ? 2 : 1;
    const int64_t ns = x->scale_mode == QBLAS_SCALE_PER_TENSOR ? 1
                       : x->scale_mode == QBLAS_SCALE_PER_ROW  ? m
                       : x->scale_mode == QBLAS_SCALE_BLOCK_1X128 ? m * ((k + 127) / 128) : 0;
    qblas_act_t xh = *x;
    xh.data = to_host(x->data, (size_t)(m * x->ld) * xsz);
    xh.scales = ns ? to_host(x->scales, (size_t)ns * 4) : NULL, xh.zeros = to_host(x->zeros, (size_t)m * 4);
    uint16_t *yc = xmalloc((size_t)(m * n) * 2), *yg = to_host(y, (size_t)(m * n) * 2);
    st = run_oracle(cpu, m, n, k, &xh, &w, NULL, QBLAS_DTYPE_F16, yc, n);
    if (!st && !exact) expect_close(QBLAS_DTYPE_F16, y, yc, m * n, "Y");
    for (int64_t i = 0; !st && exact && i < m * n; i++)
        if (yg[i] != yc[i]) {
            expect(false, "graph's Y[%lld] = %g, the oracle's %g", (long long)i, to_f32(QBLAS_DTYPE_F16, yg, i),
                   to_f32(QBLAS_DTYPE_F16, yc, i));
            break;
        }
    free((void *)w.data), free((void *)w.meta), free((void *)w.scales), free((void *)w.zeros);
    free((void *)w.group_scales), free((void *)w.g_idx);
    free((void *)xh.data), free((void *)xh.scales), free((void *)xh.zeros), free(yc), free(yg);
}

/* ---------------------------------------------------------------- the families */
/* A GEMM on a prepared weight w (canon: its canonical form, for the oracle):
 * its workspace from the query, Y m x n f16. */
static void capture_gemm(qblas_handle_t gh, qblas_handle_t cpu, const char *what, int64_t m, qblas_act_t x,
                         const qblas_weight_t *canon, const qblas_weight_t *w, bool exact)
{
    char kernel[QBLAS_KERNEL_NAME_MAX] = "";
    case_begin();
    qblas_kernel_info_t info;
    gemm_call c = {gh, m, x, w, dalloc((size_t)(m * w->n) * 2), NULL, 0};
    qblas_status_t st = qblas_gemm_query(gh, m, w->n, w->k, &x, w, QBLAS_DTYPE_F16, &info);
    expect(st == QBLAS_STATUS_SUCCESS, "gemm_query: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    if (!st) {
        snprintf(kernel, sizeof kernel, "%s", info.kernel_name);
        c.ws_bytes = info.workspace_bytes;
        c.ws = c.ws_bytes ? dalloc(c.ws_bytes) : NULL;
        dev_out out = {c.y, (size_t)(m * w->n) * 2};
        expect_captured(gh, issue_gemm, &c, &out, 1);
        expect_oracle(cpu, m, &x, canon, c.y, exact);
    }
    cudaFree(c.y), cudaFree(c.ws);
    case_end(what, kernel);
}

/* A prepack into a fresh dst; *packed is the descriptor (dst then holds the graph's blob). */
static void capture_prepack(qblas_handle_t gh, const char *what, const qblas_weight_t *w, prepack_call *c)
{
    case_begin();
    memset(c, 0, sizeof *c);
    c->h = gh, c->w = *w;
    qblas_status_t st = qblas_prepack_size(gh, w, &c->bytes);
    expect(st == QBLAS_STATUS_SUCCESS, "prepack_size: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    if (!st) {
        c->dst = dalloc(c->bytes);
        dev_out out = {c->dst, c->bytes};
        expect_captured(gh, issue_prepack, c, &out, 1);
    }
    case_end(what, "");
}

static void capture_qact(qblas_handle_t gh, qblas_handle_t cpu)
{
    static const struct {
        qblas_dtype_t xt, qt;
        qblas_scale_mode_t mode;
        bool asym;
        const char *what;
    } v[] = {
        {QBLAS_DTYPE_F16, QBLAS_DTYPE_I8, QBLAS_SCALE_PER_TENSOR, false, "capture: quantize_act i8 static scale"},
        {QBLAS_DTYPE_F32, QBLAS_DTYPE_I8, QBLAS_SCALE_PER_ROW, true, "capture: quantize_act i8 asym per row"},
        {QBLAS_DTYPE_BF16, QBLAS_DTYPE_E4M3, QBLAS_SCALE_BLOCK_1X128, false, "capture: quantize_act e4m3 block128"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        case_begin();
        const int64_t m = 5, k = 300, nkb = 3;
        const size_t ns = v[i].mode == QBLAS_SCALE_PER_TENSOR ? 1 : v[i].mode == QBLAS_SCALE_PER_ROW ? m : m * nkb;
        qact_call c = {gh, m, k, v[i].xt, v[i].qt, NULL, dalloc((size_t)(m * k)), v[i].mode, NULL, NULL};
        c.x = drandom(v[i].xt, (size_t)(m * k), -3, 3);
        c.scales = v[i].mode == QBLAS_SCALE_PER_TENSOR ? drandom(QBLAS_DTYPE_F32, 1, 0.02, 0.03) : dalloc(ns * 4);
        c.zeros = v[i].asym ? dalloc((size_t)m * 4) : NULL;
        dev_out outs[3] = {{c.q, (size_t)(m * k)}, {c.scales, ns * 4}, {c.zeros, (size_t)m * 4}};
        /* a static scale is an input: only q is written */
        const int n_outs = v[i].mode == QBLAS_SCALE_PER_TENSOR ? 1 : v[i].asym ? 3 : 2;
        expect_captured(gh, issue_qact, &c, outs, n_outs);
        /* the oracle on host copies: the same bytes (both evaluate qblas_quant_math.h) */
        qact_call o = c;
        o.h = cpu, o.x = to_host(c.x, (size_t)(m * k) * (v[i].xt == QBLAS_DTYPE_F32 ? 4 : 2));
        o.q = xmalloc((size_t)(m * k)), o.scales = to_host(c.scales, ns * 4), o.zeros = to_host(c.zeros, (size_t)m * 4);
        EXPECT_STATUS(issue_qact(&o, NULL), QBLAS_STATUS_SUCCESS);
        void *ho[3] = {o.q, o.scales, o.zeros};
        for (int j = 0; j < n_outs; j++) {
            uint8_t *g = to_host(outs[j].p, outs[j].bytes);
            expect(memcmp(g, ho[j], outs[j].bytes) == 0, "graph's output %d differs from the oracle's", j);
            free(g);
        }
        free((void *)o.x), free(o.q), free(o.scales), free(o.zeros);
        cudaFree((void *)c.x), cudaFree(c.q), cudaFree(c.scales), cudaFree(c.zeros);
        case_end(v[i].what, "");
    }
}

/* W4A16 with zero points and act-order (the device sort), then the GEMM
 * (the X gather and split-K) on the graph's blob. */
static void capture_w4a16(qblas_handle_t gh, qblas_handle_t cpu)
{
    const int64_t n = 300, k = 1024, gs = 128, G = k / gs;
    int32_t *p = xmalloc((size_t)k * 4), *gi = xmalloc((size_t)k * 4);
    for (int64_t i = 0; i < k; i++) p[i] = (int32_t)i;
    for (int64_t i = k - 1; i > 0; i--) {
        const int64_t j = irand(0, i);
        const int32_t t = p[i];
        p[i] = p[j], p[j] = t;
    }
    for (int64_t i = 0; i < k; i++) gi[p[i]] = (int32_t)(i / gs); /* every group gs columns */
    uint8_t *z = xmalloc((size_t)(G * n));
    for (int64_t i = 0; i < G * n; i++) z[i] = (uint8_t)irand(0, 15);
    qblas_weight_t w = {0};
    w.format = QBLAS_WFORMAT_W4A16, w.dtype = QBLAS_DTYPE_U4, w.n = n, w.k = k;
    w.data = drand_bytes((size_t)(n * k / 2)), w.scales = drandom(QBLAS_DTYPE_F16, (size_t)(G * n), 0.01, 0.1);
    w.zeros = dcopy(z, (size_t)(G * n)), w.g_idx = dcopy(gi, (size_t)k * 4);
    w.scale_mode = QBLAS_SCALE_PER_GROUP, w.scale_dtype = QBLAS_DTYPE_F16, w.group_size = (int)gs;
    prepack_call pc;
    capture_prepack(gh, "capture: prepack w4a16 g128 zp act-order", &w, &pc);
    if (pc.dst) {
        qblas_act_t x = {QBLAS_DTYPE_F16, drandom(QBLAS_DTYPE_F16, (size_t)(5 * k), -1, 1), k, QBLAS_SCALE_NONE, NULL, NULL};
        capture_gemm(gh, cpu, "capture: gemm w4a16 act-order m=5 (gather, split-K)", 5, x, &w, &pc.packed, false);
        cudaFree((void *)x.data);
    }
    cudaFree((void *)w.data), cudaFree((void *)w.scales), cudaFree((void *)w.zeros), cudaFree((void *)w.g_idx);
    cudaFree(pc.dst);
    free(p), free(gi), free(z);
}

static void capture_int8(qblas_handle_t gh, qblas_handle_t cpu)
{
    const int64_t m = 17, n = 200, k = 128;
    qblas_weight_t w = {0};
    w.format = QBLAS_WFORMAT_INT8, w.dtype = QBLAS_DTYPE_I8, w.n = n, w.k = k, w.data = drand_bytes((size_t)(n * k));
    w.scale_mode = QBLAS_SCALE_PER_ROW, w.scale_dtype = QBLAS_DTYPE_F32, w.scales = drandom(QBLAS_DTYPE_F32, (size_t)n, 0.005, 0.02);
    qblas_act_t x = {QBLAS_DTYPE_I8, drand_bytes((size_t)(m * k)), k, QBLAS_SCALE_PER_ROW,
                     drandom(QBLAS_DTYPE_F32, (size_t)m, 0.005, 0.02), drandom(QBLAS_DTYPE_I32, (size_t)m, -128, 127)};
    capture_gemm(gh, cpu, "capture: gemm int8 zero points (colsum, check)", m, x, &w, &w, true);
    cudaFree((void *)w.data), cudaFree((void *)w.scales);
    cudaFree((void *)x.data), cudaFree((void *)x.scales), cudaFree((void *)x.zeros);
}

static void capture_fp8(qblas_handle_t gh, qblas_handle_t cpu)
{
    if (!gpu_has_fp8()) return; /* no fp8 matrix instructions: NOT_SUPPORTED (ops_fp8.c) */
    const int64_t m = 17, n = 130, k = 256;
    uint8_t *h = xmalloc((size_t)((m + n) * k));
    for (int64_t i = 0; i < (m + n) * k; i++) h[i] = qb_fp8_encode((float)uni(-2, 2), QB_FP8_E4M3);
    qblas_weight_t w = {0};
    w.format = QBLAS_WFORMAT_FP8, w.dtype = QBLAS_DTYPE_E4M3, w.n = n, w.k = k, w.data = dcopy(h + m * k, (size_t)(n * k));
    w.scale_mode = QBLAS_SCALE_PER_ROW, w.scale_dtype = QBLAS_DTYPE_F32, w.scales = drandom(QBLAS_DTYPE_F32, (size_t)n, 0.005, 0.02);
    qblas_act_t x = {QBLAS_DTYPE_E4M3, dcopy(h, (size_t)(m * k)), k, QBLAS_SCALE_PER_ROW, drandom(QBLAS_DTYPE_F32, (size_t)m, 0.005, 0.02),
                     NULL};
    capture_gemm(gh, cpu, "capture: gemm fp8 e4m3 per row", m, x, &w, &w, false);
    cudaFree((void *)w.data), cudaFree((void *)w.scales), cudaFree((void *)x.data), cudaFree((void *)x.scales);
    free(h);
}

/* W4A8 g128: s2 <= 8 keeps every (code - z) * s2 inside int8, so any codes pass the content checks. */
static void capture_w4a8(qblas_handle_t gh, qblas_handle_t cpu)
{
    const int64_t n = 128, k = 2048, G = k / 128;
    uint8_t *z = xmalloc((size_t)(G * n));
    int8_t *s2 = xmalloc((size_t)(G * n));
    for (int64_t i = 0; i < G * n; i++) z[i] = (uint8_t)irand(0, 15), s2[i] = (int8_t)irand(1, 8);
    qblas_weight_t w = {0};
    w.format = QBLAS_WFORMAT_W4A8, w.dtype = QBLAS_DTYPE_U4, w.n = n, w.k = k, w.data = drand_bytes((size_t)(n * k / 2));
    w.scales = drandom(QBLAS_DTYPE_F16, (size_t)n, 0.002, 0.03), w.scale_dtype = QBLAS_DTYPE_F16;
    w.zeros = dcopy(z, (size_t)(G * n)), w.group_scales = dcopy(s2, (size_t)(G * n));
    w.group_size = 128, w.scale_mode = QBLAS_SCALE_PER_GROUP;
    prepack_call pc;
    capture_prepack(gh, "capture: prepack w4a8 g128 (content check)", &w, &pc);
    if (pc.dst) {
        qblas_act_t x = {QBLAS_DTYPE_I8, drand_bytes((size_t)k), k, QBLAS_SCALE_PER_TENSOR, drandom(QBLAS_DTYPE_F32, 1, 0.01, 0.02), NULL};
        capture_gemm(gh, cpu, "capture: gemm w4a8 g128 m=1 (split-K)", 1, x, &w, &pc.packed, true);
        cudaFree((void *)x.data), cudaFree((void *)x.scales);
    }
    cudaFree((void *)w.data), cudaFree((void *)w.scales), cudaFree((void *)w.zeros), cudaFree((void *)w.group_scales);
    cudaFree(pc.dst);
    free(z), free(s2);
}

/* 2:4 i8 (meta check, scales copy, row sums), then the GEMM with zero points (their check). */
static void capture_sparse24(qblas_handle_t gh, qblas_handle_t cpu)
{
    static const uint8_t fields[6] = {0x4, 0x8, 0xC, 0x9, 0xD, 0xE};
    const int64_t m = 17, n = 130, k = 128, mrow = k / 8;
    uint8_t *meta = xmalloc((size_t)(n * mrow));
    for (int64_t i = 0; i < n * mrow; i++) meta[i] = (uint8_t)(fields[rnd() % 6] | fields[rnd() % 6] << 4);
    qblas_weight_t w = {0};
    w.format = QBLAS_WFORMAT_SPARSE24, w.dtype = QBLAS_DTYPE_I8, w.n = n, w.k = k;
    w.data = drand_bytes((size_t)(n * k / 2)), w.meta = dcopy(meta, (size_t)(n * mrow));
    w.scale_mode = QBLAS_SCALE_PER_ROW, w.scale_dtype = QBLAS_DTYPE_F32, w.scales = drandom(QBLAS_DTYPE_F32, (size_t)n, 0.005, 0.02);
    prepack_call pc;
    capture_prepack(gh, "capture: prepack 2:4 i8 (meta check)", &w, &pc);
    if (pc.dst) {
        qblas_act_t x = {QBLAS_DTYPE_I8, drand_bytes((size_t)(m * k)), k, QBLAS_SCALE_PER_ROW,
                         drandom(QBLAS_DTYPE_F32, (size_t)m, 0.005, 0.02), drandom(QBLAS_DTYPE_I32, (size_t)m, -128, 127)};
        capture_gemm(gh, cpu, "capture: gemm 2:4 i8 zero points (check)", m, x, &w, &pc.packed, true);
        cudaFree((void *)x.data), cudaFree((void *)x.scales), cudaFree((void *)x.zeros);
    }
    cudaFree((void *)w.data), cudaFree((void *)w.meta), cudaFree((void *)w.scales), cudaFree(pc.dst);
    free(meta);
}

/* Decode (split) and prefill over one f16 cache, then append into an i8 cache. */
static void capture_attention(qblas_handle_t gh, qblas_handle_t cpu)
{
    const int D = 128, Hkv = 2, G = 4, P = 16, Hq = Hkv * G, stride = 20, pages = 21;
    const int32_t lens[2] = {300, 17}, indptr[3] = {0, 5, 22}, T = 22;
    int32_t bt[2 * 20];
    for (int i = 0; i < 2 * stride; i++) bt[i] = i < 19 ? i : i >= stride && i < stride + 2 ? 19 + i - stride : -1;
    const size_t cache = (size_t)pages * P * Hkv * D;
    attn_call c = {0};
    c.h = gh;
    c.kv = (qblas_kv_cache_t){QBLAS_DTYPE_F16, pages, P, Hkv, D, drandom(QBLAS_DTYPE_F16, cache, -1, 1),
                              drandom(QBLAS_DTYPE_F16, cache, -1, 1), QBLAS_SCALE_NONE, NULL, NULL, NULL, NULL};
    int32_t *dl = dcopy(lens, sizeof lens), *dbt = dcopy(bt, sizeof bt), *dip = dcopy(indptr, sizeof indptr);
    const void *q = drandom(QBLAS_DTYPE_F16, (size_t)T * Hq * D, -1, 1);
    void *o = dalloc((size_t)T * Hq * D * 2), *lse = dalloc((size_t)T * Hq * 4);
    for (int prefill = 0; prefill < (g_amd ? 1 : 2); prefill++) { /* AMD: no prefill kernel (ops_attention_prefill.c) */
        char kernel[QBLAS_KERNEL_NAME_MAX] = "";
        const int tok = prefill ? T : 2;
        case_begin();
        c.p = (qblas_attention_params_t){2, tok, Hq, QBLAS_DTYPE_F16, q, o, lse, prefill ? dip : NULL, dl, dbt,
                                         stride, 320, 0.1f, 0.0f, -1, 1};
        qblas_kernel_info_t info;
        qblas_status_t st = qblas_attention_query(gh, &c.kv, &c.p, &info);
        expect(st == QBLAS_STATUS_SUCCESS, "attention_query: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
        if (!st) {
            snprintf(kernel, sizeof kernel, "%s", info.kernel_name);
            c.ws_bytes = info.workspace_bytes, c.ws = c.ws_bytes ? dalloc(c.ws_bytes) : NULL;
            dev_out outs[2] = {{o, (size_t)tok * Hq * D * 2}, {lse, (size_t)tok * Hq * 4}};
            expect_captured(gh, issue_attention, &c, outs, 2);
            cudaFree(c.ws);
            /* the oracle on host copies */
            attn_call r = c;
            r.h = cpu, r.kv.k = to_host(c.kv.k, cache * 2), r.kv.v = to_host(c.kv.v, cache * 2);
            r.p.q = to_host(q, (size_t)tok * Hq * D * 2), r.p.o = xmalloc((size_t)tok * Hq * D * 2);
            r.p.lse = xmalloc((size_t)tok * Hq * 4), r.p.seq_lens = to_host(dl, sizeof lens);
            r.p.block_tables = to_host(dbt, sizeof bt), r.p.qo_indptr = prefill ? to_host(dip, sizeof indptr) : NULL;
            st = qblas_attention_query(cpu, &r.kv, &r.p, &info);
            r.ws_bytes = st ? 0 : info.workspace_bytes, r.ws = xmalloc(r.ws_bytes + 1);
            if (!st) st = issue_attention(&r, NULL);
            expect(st == QBLAS_STATUS_SUCCESS, "oracle attention: %s (%s)", qblas_status_string(st), qblas_last_error(cpu));
            if (!st) {
                expect_close(QBLAS_DTYPE_F16, o, r.p.o, (int64_t)tok * Hq * D, "o");
                expect_close(QBLAS_DTYPE_F32, lse, r.p.lse, (int64_t)tok * Hq, "lse");
            }
            free(r.kv.k), free(r.kv.v), free((void *)r.p.q), free(r.p.o), free(r.p.lse), free((void *)r.p.seq_lens);
            free((void *)r.p.block_tables), free((void *)r.p.qo_indptr), free(r.ws);
        }
        case_end(prefill ? "capture: attention prefill f16 causal" : "capture: attention decode f16 (split)", kernel);
    }
    cudaFree(c.kv.k), cudaFree(c.kv.v), cudaFree(dl), cudaFree(dbt), cudaFree(dip), cudaFree((void *)q), cudaFree(o);
    cudaFree(lse);

    /* append 7 tokens into distinct slots of an i8 cache (codes and per-token scales written) */
    case_begin();
    const int64_t slots[7] = {3, 40, 41, 100, -1, 7, 250};
    const size_t rows = (size_t)pages * P * Hkv;
    attn_call a = {0};
    a.h = gh, a.tokens = 7;
    a.kv = (qblas_kv_cache_t){QBLAS_DTYPE_I8, pages, P, Hkv, D, dalloc(rows * D), dalloc(rows * D),
                              QBLAS_SCALE_PER_TOKEN_HEAD, dalloc(rows * 4), dalloc(rows * 4), NULL, NULL};
    a.k_new = drandom(QBLAS_DTYPE_F16, (size_t)7 * Hkv * D, -2, 2), a.v_new = drandom(QBLAS_DTYPE_F16, (size_t)7 * Hkv * D, -2, 2);
    a.slots = dcopy(slots, sizeof slots);
    dev_out outs[4] = {{a.kv.k, rows * D}, {a.kv.v, rows * D}, {a.kv.k_scale, rows * 4}, {a.kv.v_scale, rows * 4}};
    expect_captured(gh, issue_append, &a, outs, 4);
    /* the oracle on host copies of the inputs and of the cache as it was (poisoned): the same bytes */
    attn_call r = a;
    void *hc[4];
    for (int i = 0; i < 4; i++) memset(hc[i] = xmalloc(outs[i].bytes), 0xFF, outs[i].bytes);
    r.h = cpu, r.kv.k = hc[0], r.kv.v = hc[1], r.kv.k_scale = hc[2], r.kv.v_scale = hc[3];
    r.k_new = to_host(a.k_new, (size_t)7 * Hkv * D * 2), r.v_new = to_host(a.v_new, (size_t)7 * Hkv * D * 2);
    r.slots = to_host(a.slots, sizeof slots);
    EXPECT_STATUS(issue_append(&r, NULL), QBLAS_STATUS_SUCCESS);
    for (int i = 0; i < 4; i++) {
        uint8_t *g = to_host(outs[i].p, outs[i].bytes);
        expect(memcmp(g, hc[i], outs[i].bytes) == 0, "graph's append output %d differs from the oracle's", i);
        free(g), free(hc[i]);
    }
    free((void *)r.k_new), free((void *)r.v_new), free((void *)r.slots);
    cudaFree(a.kv.k), cudaFree(a.kv.v), cudaFree(a.kv.k_scale), cudaFree(a.kv.v_scale);
    cudaFree((void *)a.k_new), cudaFree((void *)a.v_new), cudaFree((void *)a.slots);
    case_end("capture: kv_append i8", "");
}

/* A call captured while a device value it checks is invalid: each graph
 * launch writes nothing to out (poisoned) and records the error (reason
 * holding needle); the graph reads the value when it runs, so once `fix`
 * (host bytes) is stored at `value`, the next launch writes out. */
static void expect_captured_check(qblas_handle_t gh, issue_fn fn, void *ctx, dev_out out, const char *needle,
                                  void *value, const void *fix, size_t fix_bytes)
{
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    cudaGraph_t g = NULL;
    cudaGraphExec_t ge = NULL;
    CUDA_OK(cudaMemset(out.p, 0xFF, out.bytes));
    CUDA_OK(cudaDeviceSynchronize());
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    EXPECT_STATUS(fn(ctx, s), QBLAS_STATUS_SUCCESS);
    const cudaError_t e = cudaStreamEndCapture(s, &g);
    expect(e == cudaSuccess, "cudaStreamEndCapture: %s", cudaGetErrorString(e));
    if (e == cudaSuccess) {
        CUDA_OK(cudaGraphInstantiate(&ge, g, 0));
        for (int r = 0; r < 2; r++) { /* every launch checks again */
            CUDA_OK(cudaGraphLaunch(ge, s));
            CUDA_OK(cudaStreamSynchronize(s));
            expect_untouched(out.p, out.bytes, "output (invalid device value, graph)");
            expect_device_status(gh, QBLAS_STATUS_INVALID_VALUE, needle);
        }
        CUDA_OK(cudaMemcpy(value, fix, fix_bytes, cudaMemcpyHostToDevice));
        CUDA_OK(cudaGraphLaunch(ge, s));
        CUDA_OK(cudaStreamSynchronize(s));
        expect(!dev_all_ff(out.p, out.bytes), "output not written by the graph after the value was fixed");
        expect_device_status(gh, QBLAS_STATUS_SUCCESS, NULL);
        CUDA_OK(cudaGraphExecDestroy(ge));
        CUDA_OK(cudaGraphDestroy(g));
    }
    (void)cudaGetLastError();
    CUDA_OK(cudaStreamDestroy(s));
}

/* Reported through the device status, never a host synchronization: an
 * invalid static scale and an invalid INT8 zero point inside graphs; and
 * the status read's own argument check. */
static void capture_device_checks(qblas_handle_t gh)
{
    case_begin();
    const int64_t m = 3, k = 129;
    const float bad = -1.0f, good = 0.05f;
    qact_call c = {.h = gh, .m = m, .k = k, .xt = QBLAS_DTYPE_F16, .qt = QBLAS_DTYPE_I8,
                   .x = drandom(QBLAS_DTYPE_F16, (size_t)(m * k), -3, 3), .q = dalloc((size_t)(m * k)),
                   .mode = QBLAS_SCALE_PER_TENSOR, .scales = dcopy(&bad, 4)};
    expect_captured_check(gh, issue_qact, &c, (dev_out){c.q, (size_t)(m * k)}, "static activation scale -1", c.scales,
                          &good, 4);
    cudaFree((void *)c.x), cudaFree(c.q), cudaFree(c.scales);
    case_end("capture: invalid static scale in a graph -> nothing written, device status; fixed -> written", "");

    case_begin();
    const int64_t n = 64, kk = 64, mm = 4;
    const int32_t zh[4] = {1, -2, 300, 4}, fixed = 3;
    qblas_weight_t w = {0};
    w.format = QBLAS_WFORMAT_INT8, w.dtype = QBLAS_DTYPE_I8, w.n = n, w.k = kk, w.data = drand_bytes((size_t)(n * kk));
    w.scale_mode = QBLAS_SCALE_PER_TENSOR, w.scale_dtype = QBLAS_DTYPE_F32, w.scales = drandom(QBLAS_DTYPE_F32, 1, 0.01, 0.02);
    qblas_act_t x = {QBLAS_DTYPE_I8, drand_bytes((size_t)(mm * kk)), kk, QBLAS_SCALE_PER_ROW,
                     drandom(QBLAS_DTYPE_F32, (size_t)mm, 0.01, 0.02), dcopy(zh, sizeof zh)};
    qblas_kernel_info_t info = {0};
    const qblas_status_t st = qblas_gemm_query(gh, mm, n, kk, &x, &w, QBLAS_DTYPE_F16, &info);
    expect(st == QBLAS_STATUS_SUCCESS, "gemm_query: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    gemm_call gc = {gh, mm, x, &w, dalloc((size_t)(mm * n) * 2), dalloc(info.workspace_bytes), info.workspace_bytes};
    if (!st)
        expect_captured_check(gh, issue_gemm, &gc, (dev_out){gc.y, (size_t)(mm * n) * 2}, "zeros[2]",
                              (int32_t *)x.zeros + 2, &fixed, 4);
    cudaFree((void *)w.data), cudaFree((void *)w.scales), cudaFree((void *)x.data), cudaFree((void *)x.scales);
    cudaFree((void *)x.zeros), cudaFree(gc.y), cudaFree(gc.ws);
    case_end("capture: invalid int8 zero point in a graph -> nothing written, device status; fixed -> written", "");

    case_begin();
    EXPECT_STATUS(qblas_device_status(gh, NULL, NULL), QBLAS_STATUS_INVALID_VALUE);
    qblas_status_t dev = QBLAS_STATUS_INTERNAL_ERROR;
    EXPECT_STATUS(qblas_device_status(NULL, NULL, &dev), QBLAS_STATUS_INVALID_VALUE);
    /* on a capturing stream: refused with a reason, the capture survives */
    cudaStream_t s;
    cudaGraph_t g = NULL;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    EXPECT_STATUS(qblas_device_status(gh, s, &dev), QBLAS_STATUS_INVALID_VALUE);
    expect(strstr(qblas_last_error(gh), "capturing") != NULL, "reason: %s", qblas_last_error(gh));
    expect(dev == QBLAS_STATUS_INTERNAL_ERROR, "a refused read wrote *status");
    cudaError_t e = cudaStreamEndCapture(s, &g);
    expect(e == cudaSuccess, "cudaStreamEndCapture after the refused read: %s", cudaGetErrorString(e));
    (void)cudaGetLastError();
    if (g) CUDA_OK(cudaGraphDestroy(g));
    CUDA_OK(cudaStreamDestroy(s));
    /* the default stream while a blocking stream captures: the same */
    g = NULL;
    CUDA_OK(cudaStreamCreate(&s));
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    EXPECT_STATUS(qblas_device_status(gh, NULL, &dev), QBLAS_STATUS_INVALID_VALUE);
    e = cudaStreamEndCapture(s, &g);
    expect(e == cudaSuccess, "cudaStreamEndCapture (blocking) after the refused read: %s", cudaGetErrorString(e));
    (void)cudaGetLastError();
    if (g) CUDA_OK(cudaGraphDestroy(g));
    CUDA_OK(cudaStreamDestroy(s));
    case_end("device status: NULL status / NULL handle / capturing stream -> INVALID_VALUE", "");
}

void qbg_capture(qblas_handle_t gh, qblas_handle_t cpu)
{
    printf("every family's call captured into a graph (global mode) vs the uncaptured call:\n");
    capture_qact(gh, cpu);
    capture_w4a16(gh, cpu);
    capture_int8(gh, cpu);
    capture_fp8(gh, cpu);
    capture_w4a8(gh, cpu);
    capture_sparse24(gh, cpu);
    capture_attention(gh, cpu);
    capture_device_checks(gh);
}
