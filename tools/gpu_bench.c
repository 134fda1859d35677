/* gpu_bench.c - qblas W4A16 (group 128; f16 and bf16 activations, scales in
 * the activation dtype) against cuBLAS fp16 (cublasGemmEx, fp32 accumulate)
 * in the same process, on the layer shapes of docs/PERF.md.
 *
 *   qblas_gpu_bench [--json FILE] [--text FILE] [--quick]
 *
 * Y[M,N] = X[M,K] . W[N,K]^T for (N, K) = (6144, 4096), (28672, 4096),
 * (4096, 14336), (57344, 8192), (8192, 28672) and M = 1, 16, 64, 256, 1024,
 * 4096 (--quick: the first two shapes, M = 1, 16, 256). Each iteration reads
 * the next of several copies of the weight (together well over the L2
 * cache), so every run streams its weights from HBM as in a real model.
 * Time: CUDA events around a loop of iterations (after warm-up), the mean
 * per call. GB/s counts weight bytes only: u4 codes + scales for qblas,
 * fp16 for cuBLAS.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "qblas.h"

#define ROTATE_BYTES ((size_t)512 << 20) /* weight copies per shape add up to at least this */
#define MAX_COPIES 64

static void die(const char *what, const char *why)
{
    fprintf(stderr, "gpu_bench: %s: %s\n", what, why);
    exit(1);
}
#define CK(call)                                                     \
    do {                                                             \
        cudaError_t e_ = (call);                                     \
        if (e_ != cudaSuccess) die(#call, cudaGetErrorString(e_));   \
    } while (0)
#define CB(call)                                                     \
    do {                                                             \
        cublasStatus_t e_ = (call);                                  \
        if (e_ != CUBLAS_STATUS_SUCCESS) die(#call, "cuBLAS error"); \
    } while (0)
static qblas_handle_t g_h; /* whose last error a failing call reports */
#define QB(call)                                                                                  \
    do {                                                                                          \
        qblas_status_t e_ = (call);                                                               \
        if (e_ != QBLAS_STATUS_SUCCESS) die(#call, qblas_last_error(g_h));                        \
    } while (0)

static uint64_t rng = 0x5EED1234ABCDull;
static uint64_t next(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void *dmalloc(size_t bytes)
{
    void *p;
    CK(cudaMalloc(&p, bytes));
    return p;
}

/* Fill device memory with random 16-bit values from a small table of
 * |v| <= 0.1 (f16 or bf16 bit patterns) or random bytes (codes): a 16 MB
 * random block, replicated. */
static void fill(void *dst, size_t bytes, int kind /* 0 bytes, 1 f16, 2 bf16 */)
{
    const size_t chunk = (size_t)16 << 20;
    uint16_t *h = malloc(chunk);
    if (!h) die("fill", "out of host memory");
    for (size_t i = 0; i < chunk / 2; i++) {
        uint64_t r = next();
        if (kind == 0) h[i] = (uint16_t)r;
        else if (kind == 1) h[i] = (uint16_t)(((r & 1) << 15) | (((r >> 1) % 9 + 4) << 10) | ((r >> 8) & 1023)); /* 2^-11 .. 2^-3 */
        else h[i] = (uint16_t)(((r & 1) << 15) | (((r >> 1) % 9 + 116) << 7) | ((r >> 8) & 127));
    }
    size_t first = bytes < chunk ? bytes : chunk;
    CK(cudaMemcpy(dst, h, first, cudaMemcpyHostToDevice));
    for (size_t off = first; off < bytes; off += first)
        CK(cudaMemcpy((char *)dst + off, dst, bytes - off < first ? bytes - off : first, cudaMemcpyDeviceToDevice));
    free(h);
}

typedef struct {
    int64_t n, k;
    int copies;
    void *blob[MAX_COPIES];
    qblas_weight_t w[MAX_COPIES]; /* descriptors of each copy */
    size_t weight_bytes;          /* codes + scales actually read */
} qweight;

/* One canonical g128 weight (scales of type sdt), prepacked once, copied. */
static void make_qweight(qblas_handle_t h, int64_t n, int64_t k, qblas_dtype_t sdt, qweight *q)
{
    qblas_weight_t c = {0};
    c.format = QBLAS_WFORMAT_W4A16, c.layout = QBLAS_LAYOUT_CANONICAL, c.dtype = QBLAS_DTYPE_U4;
    c.n = n, c.k = k, c.group_size = 128;
    c.scale_mode = QBLAS_SCALE_PER_GROUP, c.scale_dtype = sdt;
    void *codes = dmalloc((size_t)(n * k / 2)), *scales = dmalloc((size_t)(n * k / 128) * 2);
    fill(codes, (size_t)(n * k / 2), 0);
    fill(scales, (size_t)(n * k / 128) * 2, sdt == QBLAS_DTYPE_BF16 ? 2 : 1);
    c.data = codes, c.scales = scales;
    size_t bytes;
    QB(qblas_prepack_size(h, &c, &bytes));
    q->n = n, q->k = k;
    q->weight_bytes = (size_t)(n * k / 2) + (size_t)(n * k / 128) * 2;
    q->copies = (int)((ROTATE_BYTES + bytes - 1) / bytes);
    q->copies = q->copies < 2 ? 2 : q->copies > MAX_COPIES ? MAX_COPIES : q->copies;
    q->blob[0] = dmalloc(bytes);
    QB(qblas_prepack(h, &c, q->blob[0], bytes, &q->w[0], NULL));
    CK(cudaDeviceSynchronize());
    for (int i = 1; i < q->copies; i++) {
        q->blob[i] = dmalloc(bytes);
        CK(cudaMemcpy(q->blob[i], q->blob[0], bytes, cudaMemcpyDeviceToDevice));
        /* the packed descriptor points into its blob: move the pointers along */
        q->w[i] = q->w[0];
        ptrdiff_t d = (char *)q->blob[i] - (char *)q->blob[0];
        q->w[i].data = (char *)q->w[0].data + d;
        q->w[i].scales = (char *)q->w[0].scales + d;
    }
    CK(cudaFree(codes));
    CK(cudaFree(scales));
}

static void free_qweight(qweight *q)
{
    for (int i = 0; i < q->copies; i++) CK(cudaFree(q->blob[i]));
}

typedef struct {
    int impl; /* 0 qblas f16, 1 qblas bf16, 2 cuBLAS f16 */
    int64_t m, n, k;
    qblas_handle_t h;
    const qweight *q;
    void *x, *y, *ws;
    size_t ws_bytes;
    cublasHandle_t cb;
    void **wh; /* cuBLAS weight copies */
    int wh_copies;
} runner;

static void run_once(const runner *r, int it)
{
    if (r->impl < 2) {
        const qblas_dtype_t t = r->impl == 0 ? QBLAS_DTYPE_F16 : QBLAS_DTYPE_BF16;
        qblas_act_t x = {t, r->x, r->k, QBLAS_SCALE_NONE, NULL, NULL};
        QB(qblas_gemm(r->h, r->m, r->n, r->k, &x, &r->q->w[it % r->q->copies], NULL, t, r->y, r->n, r->ws,
                      r->ws_bytes, NULL));
    } else {
        const float one = 1.0f, zero = 0.0f;
        /* row-major Y[M,N] = X[M,K] W[N,K]^T is column-major Y^T = W^T(op T of the K x N matrix) X^T */
        CB(cublasGemmEx(r->cb, CUBLAS_OP_T, CUBLAS_OP_N, (int)r->n, (int)r->m, (int)r->k, &one,
                        r->wh[it % r->wh_copies], CUDA_R_16F, (int)r->k, r->x, CUDA_R_16F, (int)r->k, &zero, r->y,
                        CUDA_R_16F, (int)r->n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
}

/* Mean microseconds per call: warm up, size the loop to about 30 ms, time it. */
static double time_us(const runner *r)
{
    cudaEvent_t a, b;
    float ms;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    for (int i = 0; i < 3; i++) run_once(r, i);
    CK(cudaEventRecord(a, NULL));
    for (int i = 0; i < 3; i++) run_once(r, i);
    CK(cudaEventRecord(b, NULL));
    CK(cudaEventSynchronize(b));
    CK(cudaEventElapsedTime(&ms, a, b));
    int iters = (int)(30.0 / (ms / 3.0 + 1e-3));
    iters = iters < 5 ? 5 : iters > 500 ? 500 : iters;
    CK(cudaEventRecord(a, NULL));
    for (int i = 0; i < iters; i++) run_once(r, i);
    CK(cudaEventRecord(b, NULL));
    CK(cudaEventSynchronize(b));
    CK(cudaEventElapsedTime(&ms, a, b));
    CK(cudaEventDestroy(a));
    CK(cudaEventDestroy(b));
    return 1000.0 * ms / iters;
}

int main(int argc, char **argv)
{
    const char *json_path = NULL, *text_path = NULL;
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!strcmp(argv[i], "--text") && i + 1 < argc) text_path = argv[++i];
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else die("usage", "qblas_gpu_bench [--json FILE] [--text FILE] [--quick]");
    }
    static const int64_t shapes[][2] = {{6144, 4096}, {28672, 4096}, {4096, 14336}, {57344, 8192}, {8192, 28672}};
    static const int64_t ms_full[] = {1, 16, 64, 256, 1024, 4096}, ms_quick[] = {1, 16, 256};
    const int nshapes = quick ? 2 : 5, nm = quick ? 3 : 6;
    const int64_t *ms = quick ? ms_quick : ms_full;

    qblas_handle_t h;
    QB(qblas_create(&h, QBLAS_BACKEND_CUDA, 0));
    g_h = h;
    cublasHandle_t cb;
    CB(cublasCreate(&cb));
    struct cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));

    FILE *json = json_path ? fopen(json_path, "w") : NULL, *text = text_path ? fopen(text_path, "w") : NULL;
    if ((json_path && !json) || (text_path && !text)) die("fopen", "cannot write the output files");
    char line[512];
#define OUT(...)                                        \
    do {                                                \
        snprintf(line, sizeof line, __VA_ARGS__);       \
        fputs(line, stdout);                            \
        if (text) fputs(line, text);                    \
    } while (0)
    OUT("device: %s (sm_%d%d, %d SMs), qblas %s\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount,
        qblas_get_version_string());
    OUT("%6s %6s %5s | %10s %7s | %10s %7s | %10s %7s | %6s %6s | %s\n", "N", "K", "M", "w4a16 f16", "GB/s",
        "w4a16 bf16", "GB/s", "cuBLAS f16", "GB/s", "x f16", "x bf16", "qblas kernel (f16)");
    if (json) fprintf(json, "{\n  \"device\": \"%s\",\n  \"results\": [\n", prop.name);
    int first = 1;

    for (int s = 0; s < nshapes; s++) {
        const int64_t n = shapes[s][0], k = shapes[s][1], mmax = ms[nm - 1];
        qweight qf16, qbf16;
        make_qweight(h, n, k, QBLAS_DTYPE_F16, &qf16);
        make_qweight(h, n, k, QBLAS_DTYPE_BF16, &qbf16);
        const size_t wbytes = (size_t)(n * k) * 2;
        int wc = (int)((ROTATE_BYTES + wbytes - 1) / wbytes);
        wc = wc < 2 ? 2 : wc > MAX_COPIES ? MAX_COPIES : wc;
        void *wh[MAX_COPIES];
        for (int i = 0; i < wc; i++) {
            wh[i] = dmalloc(wbytes);
            if (i == 0) fill(wh[0], wbytes, 1);
            else CK(cudaMemcpy(wh[i], wh[0], wbytes, cudaMemcpyDeviceToDevice));
        }
        void *x16 = dmalloc((size_t)(mmax * k) * 2), *xb16 = dmalloc((size_t)(mmax * k) * 2);
        void *y = dmalloc((size_t)(mmax * n) * 2);
        fill(x16, (size_t)(mmax * k) * 2, 1);
        fill(xb16, (size_t)(mmax * k) * 2, 2);
        for (int mi = 0; mi < nm; mi++) {
            const int64_t m = ms[mi];
            double us[3], gbs[3];
            char kname[QBLAS_KERNEL_NAME_MAX] = "";
            for (int impl = 0; impl < 3; impl++) {
                runner r = {impl, m, n, k, h, impl == 1 ? &qbf16 : &qf16, impl == 1 ? xb16 : x16, y, NULL, 0, cb, wh, wc};
                if (impl < 2) {
                    qblas_kernel_info_t info;
                    const qblas_dtype_t t = impl == 0 ? QBLAS_DTYPE_F16 : QBLAS_DTYPE_BF16;
                    qblas_act_t xa = {t, r.x, k, QBLAS_SCALE_NONE, NULL, NULL};
                    QB(qblas_gemm_query(h, m, n, k, &xa, &r.q->w[0], t, &info));
                    r.ws_bytes = info.workspace_bytes;
                    r.ws = r.ws_bytes ? dmalloc(r.ws_bytes) : NULL;
                    if (impl == 0) snprintf(kname, sizeof kname, "%s", info.kernel_name);
                }
                us[impl] = time_us(&r);
                gbs[impl] = (impl < 2 ? (double)r.q->weight_bytes : (double)wbytes) / (us[impl] * 1e3);
                if (r.ws) CK(cudaFree(r.ws));
                if (json) {
                    static const char *names[3] = {"qblas_w4a16_g128_f16", "qblas_w4a16_g128_bf16", "cublas_f16"};
                    fprintf(json, "%s    {\"impl\": \"%s\", \"n\": %lld, \"k\": %lld, \"m\": %lld, \"us\": %.3f, "
                                  "\"weight_gbps\": %.1f, \"kernel\": \"%s\"}",
                            first ? "" : ",\n", names[impl], (long long)n, (long long)k, (long long)m, us[impl],
                            gbs[impl], impl == 0 ? kname : impl == 1 ? "" : "cublasGemmEx");
                    first = 0;
                }
            }
            OUT("%6lld %6lld %5lld | %10.2f %7.0f | %10.2f %7.0f | %10.2f %7.0f | %6.2f %6.2f | %s\n", (long long)n,
                (long long)k, (long long)m, us[0], gbs[0], us[1], gbs[1], us[2], gbs[2], us[2] / us[0], us[2] / us[1],
                kname);
        }
        for (int i = 0; i < wc; i++) CK(cudaFree(wh[i]));
        CK(cudaFree(x16));
        CK(cudaFree(xb16));
        CK(cudaFree(y));
        free_qweight(&qf16);
        free_qweight(&qbf16);
    }
    OUT("times: microseconds per call (mean); x f16 / x bf16: cuBLAS time / qblas time (> 1: qblas faster)\n");
    if (json) {
        fprintf(json, "\n  ]\n}\n");
        fclose(json);
    }
    if (text) fclose(text);
    CB(cublasDestroy(cb));
    qblas_destroy(h);
    return 0;
}
