/* ops_int8.c - W8A8 INT8 GEMM on the GPU against the oracle.
 *
 * W8A8 INT8 (canonical weights): M in {1, 3, 16, 17, 100, 256, 1000} (every
 * kernel configuration of the registry), N and K on and off the n128 / k64
 * tiles, PER_TENSOR / PER_ROW scales on both sides, with and without zero
 * points and bias, y f16/bf16/f32, ldx and ldy gaps; Y equal bit for bit to
 * the oracle and to the definition evaluated here; k % 16 != 0 and
 * misaligned X / W return NOT_SUPPORTED with Y untouched; zero points
 * outside -128..127 (a device check, docs/API.md) leave Y untouched and are
 * reported by qblas_device_status.
 */
#include "gpu_harness.h"

/* ---------------------------------------------------------------- W8A8 INT8 */
/* INT8 GEMMs compare BIT FOR BIT, against the oracle and against the format
 * definition evaluated here: acc = sum_k (x - zx) * w is an integer
 * (|acc| <= 255 * 128 * k < 2^31), exact on every side whatever the order
 * of the sums or the zero-point algebra; after it the definition is a fixed
 * sequence of correctly rounded fp32 operations, ((float)acc * sx) * sw,
 * then + bias (only with a bias), then one rounding to y's dtype, so there
 * is no freedom left for any result to differ. */
typedef struct {
    int64_t m, n, k, ldx, ldy;
    bool x_row, w_row, zp, bias;
    qblas_dtype_t ydt;
} i8shape;

/* The definition (docs/FORMATS.md, INT8 GEMM); the fp32 steps are separate
 * statements on floats (C11, FLT_EVAL_METHOD 0), one rounding each. */
static float i8_expected(const i8shape *s, const int8_t *x, const int8_t *w, const float *sx, const float *sw,
                         const int32_t *zx, const void *bias, int64_t m, int64_t n)
{
    int64_t acc = 0;
    const int64_t z = zx ? zx[m] : 0;
    for (int64_t k = 0; k < s->k; k++) acc += ((int64_t)x[m * s->ldx + k] - z) * w[n * s->k + k];
    float v = (float)(int32_t)acc;
    v = v * (s->x_row ? sx[m] : sx[0]);
    v = v * (s->w_row ? sw[n] : sw[0]);
    if (bias) v = v + to_f32(s->ydt, bias, n);
    return round_to(s->ydt, v);
}


static void int8_case(qblas_handle_t gh, qblas_handle_t cpu, const i8shape *s)
{
    char what[160], kernel[QBLAS_KERNEL_NAME_MAX] = "";
    snprintf(what, sizeof what, "int8 m=%lld n=%lld k=%lld ldx=%lld sx:%s sw:%s%s y%s%s%s", (long long)s->m,
             (long long)s->n, (long long)s->k, (long long)s->ldx, s->x_row ? "row" : "tensor",
             s->w_row ? "row" : "tensor", s->zp ? " zp" : "", dn(s->ydt), s->bias ? " bias" : "", s->ldy > s->n ? " ldy+" : "");
    case_begin();
    const size_t ye = dsize(s->ydt), xn = (size_t)(s->m * s->ldx), wn = (size_t)(s->n * s->k);
    const int64_t nsx = s->x_row ? s->m : 1, nsw = s->w_row ? s->n : 1, yelems = s->m * s->ldy;
    int8_t *x = xmalloc(xn), *w = xmalloc(wn);
    float *sx = xmalloc((size_t)nsx * 4), *sw = xmalloc((size_t)nsw * 4);
    int32_t *zx = s->zp ? xmalloc((size_t)s->m * 4) : NULL;
    void *bias = s->bias ? xmalloc((size_t)s->n * ye) : NULL;
    for (size_t i = 0; i < xn; i++) x[i] = (int8_t)rnd(); /* the ldx gap too: it must never be read */
    for (size_t i = 0; i < wn; i++) w[i] = (int8_t)rnd();
    fill_scales(sx, nsx);
    fill_scales(sw, nsw);
    for (int64_t i = 0; zx && i < s->m; i++) zx[i] = (int32_t)irand(-128, 127);
    fill_bias(s->ydt, bias, s->n);

    qblas_weight_t cw = {0};
    cw.format = QBLAS_WFORMAT_INT8, cw.layout = QBLAS_LAYOUT_CANONICAL, cw.dtype = QBLAS_DTYPE_I8;
    cw.n = s->n, cw.k = s->k, cw.data = w, cw.scales = sw;
    cw.scale_mode = s->w_row ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_PER_TENSOR, cw.scale_dtype = QBLAS_DTYPE_F32;
    qblas_act_t xa = {QBLAS_DTYPE_I8, x, s->ldx, s->x_row ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_PER_TENSOR, sx, zx};

    /* the oracle */
    void *ycpu = xmalloc((size_t)yelems * ye), *ygpu = xmalloc((size_t)yelems * ye);
    const qblas_status_t st = run_oracle(cpu, s->m, s->n, s->k, &xa, &cw, bias, s->ydt, ycpu, s->ldy);

    /* the GPU, on device copies of everything */
    qblas_weight_t dw = cw;
    qblas_act_t dx = xa;
    dw.data = dcopy(w, wn), dw.scales = dcopy(sw, (size_t)nsw * 4);
    dx.data = dcopy(x, xn), dx.scales = dcopy(sx, (size_t)nsx * 4), dx.zeros = dcopy(zx, (size_t)s->m * 4);
    void *bd = dcopy(bias, (size_t)s->n * ye);
    if (!st) {
        run_guarded(gh, s->m, s->n, s->k, &dx, &dw, bd, s->ydt, s->ldy, ygpu, kernel);
        char pre[16];
        snprintf(pre, sizeof pre, "int8_%s", arch_tag());
        expect(strncmp(kernel, pre, strlen(pre)) == 0, "kernel name '%s' is not an INT8 kernel", kernel);
        note_kernel(kernel);
        for (int64_t m = 0; m < s->m && g_case_ok; m++)
            for (int64_t n = 0; n < s->n; n++) {
                const float want = i8_expected(s, x, w, sx, sw, zx, bias, m, n);
                if (!expect_bits(s->ydt, ygpu, ycpu, m * s->ldy + n, want, m, n)) break;
            }
    }
    cudaFree((void *)dw.data), cudaFree((void *)dw.scales), cudaFree((void *)dx.data), cudaFree((void *)dx.scales);
    cudaFree((void *)dx.zeros), cudaFree(bd);
    free(x), free(w), free(sx), free(sw), free(zx), free(bias), free(ycpu), free(ygpu);
    case_end(what, kernel);
}

static void int8_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    /* quick: one M per configuration (m16, m32, m64, and sm_90a's m128 beyond 256) */
    static const int64_t full_m[] = {1, 3, 16, 17, 100, 256, 1000}, quick_m[] = {1, 17, 100, 300};
    static const int64_t ns[] = {1, 7, 128, 200, 513, 33, 256};
    static const int64_t ks[] = {16, 48, 64, 80, 1040, 4096, 208};
    const int64_t *ms = g_quick ? quick_m : full_m;
    const int nm = g_quick ? 4 : 7, per_m = g_quick ? 4 : 8;
    const int64_t limit = g_quick ? 2000000 : 16000000;
    printf("W8A8 INT8 GEMMs vs the oracle and the definition (bit for bit):\n");
    int seq = 0;
    for (int mi = 0; mi < nm; mi++)
        for (int j = 0; j < per_m; j++, seq++) {
            i8shape s = {.m = ms[mi], .n = ns[(seq + mi) % 7], .k = ks[seq % 7]};
            /* keep the host references cheap: shrink n, then k (to a multiple of 16), until m*n*k <= limit */
            while (s.m * s.n * s.k > limit && s.n > 1) s.n = (s.n + 1) / 2;
            while (s.m * s.n * s.k > limit && s.k > 16) s.k = (s.k / 32) * 16;
            s.x_row = seq % 2 == 0, s.w_row = (seq / 2) % 2 == 0;
            s.zp = s.x_row && seq % 3 != 1; /* zero points need PER_ROW activation scales */
            s.bias = seq % 4 < 2;
            s.ydt = kY[seq % 3];
            s.ldx = s.k + (seq % 5 == 1 ? 16 : seq % 5 == 3 ? 48 : 0);
            s.ldy = s.n + (seq % 2 ? 5 : 0);
            int8_case(gh, cpu, &s);
        }
}

/* INT8 requirements: NOT_SUPPORTED with a reason, Y untouched; no prepack;
 * a short workspace with zero points. X and W share one random buffer. */
static void int8_error_cases(qblas_handle_t gh)
{
    printf("W8A8 INT8 unsupported shapes and bad inputs (status, nothing written):\n");
    const int64_t m = 4, n = 40, k = 64;
    const size_t bytes = (size_t)(n * k) + 64, ybytes = (size_t)(m * n) * 2;
    int8_t *hb = xmalloc(bytes);
    for (size_t i = 0; i < bytes; i++) hb[i] = (int8_t)rnd();
    const float sh[4] = {0.01f, 0.02f, 0.03f, 0.04f};
    const int32_t zh[4] = {1, -2, 3, -4};
    uint8_t *buf = dcopy(hb, bytes), *y = dpoisoned(ybytes);
    float *sc = dcopy(sh, sizeof sh);
    int32_t *zd = dcopy(zh, sizeof zh);
    qblas_weight_t wd = {0};
    wd.format = QBLAS_WFORMAT_INT8, wd.dtype = QBLAS_DTYPE_I8, wd.n = n, wd.k = k, wd.data = buf;
    wd.scale_mode = QBLAS_SCALE_PER_TENSOR, wd.scale_dtype = QBLAS_DTYPE_F32, wd.scales = sc;
    qblas_act_t xa = {QBLAS_DTYPE_I8, buf, k, QBLAS_SCALE_PER_ROW, sc, NULL};
    qblas_kernel_info_t info;
    case_begin();
    /* k % 16 != 0: the query says why */
    qblas_weight_t w40 = wd;
    w40.k = 40;
    EXPECT_STATUS(qblas_gemm_query(gh, m, n, 40, &xa, &w40, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_NOT_SUPPORTED);
    expect(strlen(qblas_last_error(gh)) > 0, "NOT_SUPPORTED without a reason");
    /* the GEMM with k % 16 != 0, ldx % 16 != 0, X and W pointers off 16 bytes */
    expect_align_refusals(gh, m, n, k, &xa, &wd, y);
    /* zero points need a workspace (the column sums) */
    qblas_act_t xz = xa;
    xz.zeros = zd;
    qblas_status_t st = qblas_gemm_query(gh, m, n, k, &xz, &wd, QBLAS_DTYPE_F16, &info);
    expect(st == QBLAS_STATUS_SUCCESS, "gemm_query with zero points: %s (%s)", qblas_status_string(st),
           qblas_last_error(gh));
    void *ws = NULL;
    if (!st) {
        expect(info.workspace_bytes >= (size_t)n * 4, "zero points need n int32 of workspace");
        ws = dalloc(info.workspace_bytes);
        EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xz, &wd, NULL, QBLAS_DTYPE_F16, y, n, ws, info.workspace_bytes - 1,
                                 NULL),
                      QBLAS_STATUS_INSUFFICIENT_WORKSPACE);
    }
    /* no CUDA packed layout */
    size_t pbytes = 0;
    EXPECT_STATUS(qblas_prepack_size(gh, &wd, &pbytes), QBLAS_STATUS_NOT_SUPPORTED);
    CUDA_OK(cudaDeviceSynchronize());
    expect_untouched(y, ybytes, "Y");
    case_end("int8: k % 16 / ldx / X and W alignment / workspace / prepack", "");
    free(hb);
    cudaFree(buf), cudaFree(y), cudaFree(sc), cudaFree(zd), cudaFree(ws);
}

/* Zero points outside -128..127, a device check (expect_zero_point_checks). */
static void int8_zero_point_cases(qblas_handle_t gh)
{
    case_begin();
    const int64_t m = 5, n = 40, k = 64;
    int8_t *hb = xmalloc((size_t)(n * k));
    for (int64_t i = 0; i < n * k; i++) hb[i] = (int8_t)rnd();
    const float sh[5] = {0.01f, 0.02f, 0.03f, 0.04f, 0.05f};
    uint8_t *buf = dcopy(hb, (size_t)(n * k));
    float *sc = dcopy(sh, sizeof sh);
    int32_t *zd = dalloc((size_t)m * 4);
    qblas_weight_t wd = {0};
    wd.format = QBLAS_WFORMAT_INT8, wd.dtype = QBLAS_DTYPE_I8, wd.n = n, wd.k = k, wd.data = buf;
    wd.scale_mode = QBLAS_SCALE_PER_TENSOR, wd.scale_dtype = QBLAS_DTYPE_F32, wd.scales = sc;
    qblas_act_t xa = {QBLAS_DTYPE_I8, buf, k, QBLAS_SCALE_PER_ROW, sc, zd};
    expect_zero_point_checks(gh, n, k, &xa, &wd);
    free(hb);
    cudaFree(buf), cudaFree(sc), cudaFree(zd);
    case_end("int8 zero points outside int8 -> nothing written, device status (first kept); valid -> written", "");
}

void qbg_int8(qblas_handle_t gh, qblas_handle_t cpu)
{
    int8_cases(gh, cpu);
    int8_error_cases(gh);
    int8_zero_point_cases(gh);
}
