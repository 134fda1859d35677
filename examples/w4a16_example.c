/* w4a16_example.c - the API walk-through of docs/API.md, as a program.
 *
 * Quantize a float weight to W4A16 (int4, group 128, zero points), run
 * Y = X . W^T on the CPU backend, and check it against the product with the
 * dequantized weight.
 * Build against an installed qblas:
 *   cc w4a16_example.c $(pkg-config --cflags --libs --static qblas)
 * or with CMake: find_package(qblas) + target_link_libraries(app qblas::qblas).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <qblas.h>

#define CHECK(call)                                                                    \
    do {                                                                               \
        qblas_status_t st_ = (call);                                                   \
        if (st_ != QBLAS_STATUS_SUCCESS) {                                             \
            fprintf(stderr, "%s: %s (%s)\n", #call, qblas_status_string(st_),         \
                    qblas_last_error(h));                                              \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

int main(void)
{
    enum { M = 4, N = 256, K = 512 };
    qblas_handle_t h = NULL;
    CHECK(qblas_create(&h, QBLAS_BACKEND_CPU, 0));

    /* a float weight and activations */
    float *wf = malloc(sizeof(float) * N * K), *xf = malloc(sizeof(float) * M * K);
    uint16_t *x16 = malloc(2 * M * K), *y16 = malloc(2 * M * N);
    srand(1);
    for (int i = 0; i < N * K; i++) wf[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < M * K; i++) xf[i] = (float)rand() / RAND_MAX - 0.5f;
    CHECK(qblas_convert(M * K, QBLAS_DTYPE_F32, xf, QBLAS_DTYPE_F16, x16));
    CHECK(qblas_convert(M * K, QBLAS_DTYPE_F16, x16, QBLAS_DTYPE_F32, xf)); /* the values X really holds */

    /* 1. describe the quantized weight, ask for buffer sizes, quantize */
    qblas_weight_t w = {
        .format = QBLAS_WFORMAT_W4A16, .dtype = QBLAS_DTYPE_U4, .n = N, .k = K,
        .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = QBLAS_DTYPE_F16, .group_size = 128,
    };
    qblas_weight_sizes_t sz;
    CHECK(qblas_weight_sizes(&w, &sz));
    w.data = malloc(sz.data);
    w.scales = malloc(sz.scales);
    w.zeros = malloc(sz.zeros); /* zero points: asymmetric (AWQ-style) */
    CHECK(qblas_quantize_weight(N, K, QBLAS_DTYPE_F32, wf, K, &w));

    /* 2. prepack into the backend's own layout (a copy on the CPU) */
    size_t packed_bytes;
    CHECK(qblas_prepack_size(h, &w, &packed_bytes));
    void *blob = malloc(packed_bytes);
    qblas_weight_t wp;
    CHECK(qblas_prepack(h, &w, blob, packed_bytes, &wp, NULL));
    /* On a GPU the weight's content is checked on the device: read the
     * verdict once, outside any graph capture (the CPU checked it already). */
    qblas_status_t dev;
    CHECK(qblas_device_status(h, NULL, &dev));
    CHECK(dev);

    /* 3. ask which kernel will run and how much workspace it needs */
    qblas_act_t x = {.dtype = QBLAS_DTYPE_F16, .data = x16, .ld = K};
    qblas_kernel_info_t info;
    CHECK(qblas_gemm_query(h, M, N, K, &x, &wp, QBLAS_DTYPE_F16, &info));
    void *ws = malloc(info.workspace_bytes ? info.workspace_bytes : 1);

    /* 4. Y = X . W^T */
    CHECK(qblas_gemm(h, M, N, K, &x, &wp, NULL, QBLAS_DTYPE_F16, y16, N, ws, info.workspace_bytes, NULL));

    /* Check: Y against X . dequant(W)^T in double. What differs is the
     * kernel's own rounding (weights rounded to f16, fp32 sums, f16 output),
     * well under 1% of |Y|. The int4 quantization error itself (Y against the
     * float weight) is reported, not checked: it is the format's, not a bug. */
    float *yf = malloc(sizeof(float) * M * N), *wq = malloc(sizeof(float) * N * K);
    CHECK(qblas_convert(M * N, QBLAS_DTYPE_F16, y16, QBLAS_DTYPE_F32, yf));
    CHECK(qblas_dequantize_weight(&w, QBLAS_DTYPE_F32, wq, K));
    double max_err = 0, max_ref = 0, q_err2 = 0, ref2 = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double ref = 0, ref_float = 0;
            for (int k = 0; k < K; k++) {
                ref += (double)xf[i * K + k] * wq[j * K + k];
                ref_float += (double)xf[i * K + k] * wf[j * K + k];
            }
            max_err = fmax(max_err, fabs(yf[i * N + j] - ref));
            max_ref = fmax(max_ref, fabs(ref));
            q_err2 += (yf[i * N + j] - ref_float) * (yf[i * N + j] - ref_float);
            ref2 += ref_float * ref_float;
        }
    printf("qblas %s, kernel %s, workspace %zu bytes\n", qblas_get_version_string(), info.kernel_name,
           info.workspace_bytes);
    printf("W4A16 g128 %dx%dx%d: max |Y - X.dequant(W)^T| = %.5f (max |Y| %.2f); int4 error vs float W: %.1f%% rms\n",
           M, N, K, max_err, max_ref, 100.0 * sqrt(q_err2 / ref2));
    int ok = max_err < 0.01 * max_ref;
    printf("%s\n", ok ? "OK" : "FAILED: Y differs from the dequantized product by more than rounding explains");

    free(ws), free(blob), free((void *)w.data), free((void *)w.scales), free((void *)w.zeros);
    free(wf), free(xf), free(x16), free(y16), free(yf), free(wq);
    qblas_destroy(h);
    return ok ? 0 : 1;
}
