/* ops_fp8.c - the FP8 GEMM on the GPU against the oracle.
 *
 * All four NVIDIA dtype pairs (e4m3/e5m2 x e4m3/e5m2); scales PER_TENSOR /
 * PER_ROW on each side and 1x128 x 128x128 blocks; y f16/bf16/f32; bias on
 * and off; M in {1, 7, 16, 33, 64, 100, 256, 1000} (every configuration of
 * the sm_89 and sm_90a registries), N and K on and off the n128 / k64 /
 * k128 tiles, ldx and ldy gaps (the ldx gap holds NaN codes: reading it
 * would show). Three kinds of data:
 *   - small integers (|x|, |w| <= 4): every sum is exact on every side, so
 *     Y must equal the definition evaluated here (and the oracle) exactly;
 *   - wide-range codes (subnormals to 32): compared within a tolerance
 *     derived from the arithmetic (fp8_tolerance in gpu_harness.c);
 *   - one-hot X rows with unit scales: Y = W dequantized exactly, over
 *     every finite code of W (checks the tensor cores' decoding).
 * NaN codes in a row of X (a row of W) make that row (column) of Y NaN.
 * Small M x N with long K take the split-K path (its workspace comes from
 * the query, run_guarded allocates it).
 * E4M3FNUZ, k % 16 != 0 and misaligned X / W give NOT_SUPPORTED with Y
 * untouched; on an sm_80-class device every FP8 GEMM is NOT_SUPPORTED.
 */
#include "gpu_harness.h"

/* ---------------------------------------------------------------- data */
/* f8shape, the random codes, the scales and the result check (NaN rows and
 * columns, the exact-data definition, the wide-data tolerance) are shared
 * with the 2:4 fp8 group: gpu_harness.c, "FP8 GEMM results". Here `nan`
 * puts a NaN code in one row of X and one row of W. */
static const char *f8n(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_E4M3 ? "e4m3" : t == QBLAS_DTYPE_E4M3FNUZ ? "e4m3fnuz" : "e5m2";
}

/* Any finite code of t (no NaN, no e5m2 infinity). */
static uint8_t finite_code(qblas_dtype_t t)
{
    for (;;) {
        const uint8_t c = (uint8_t)rnd();
        if (isfinite(qb_fp8_decode(c, fp8_fmt(t)))) return c;
    }
}

/* The descriptors of one problem (host pointers; the caller swaps in device copies). */
static void describe(const f8shape *s, const uint8_t *x, const uint8_t *w, const float *sx, const float *sw,
                     qblas_act_t *xa, qblas_weight_t *cw)
{
    memset(cw, 0, sizeof *cw);
    cw->format = QBLAS_WFORMAT_FP8, cw->layout = QBLAS_LAYOUT_CANONICAL, cw->dtype = s->wt;
    cw->n = s->n, cw->k = s->k, cw->data = w, cw->scales = sw, cw->scale_dtype = QBLAS_DTYPE_F32;
    cw->scale_mode = fp8_w_mode(s);
    xa->dtype = s->xt, xa->data = x, xa->ld = s->ldx, xa->scales = sx, xa->zeros = NULL;
    xa->scale_mode = fp8_x_mode(s);
}

/* The reported name says the dtype pair and the scale mode (block scales:
 * "_block128"; split-K, OUTER only: "_splitk"). */
static void check_name(const f8shape *s, const char *kernel)
{
    char pre[32];
    snprintf(pre, sizeof pre, "fp8_%sx%s_%s", f8n(s->xt), f8n(s->wt), arch_tag());
    const size_t len = strlen(kernel);
    const bool block = len > 9 && strcmp(kernel + len - 9, "_block128") == 0;
    expect(strncmp(kernel, pre, strlen(pre)) == 0 && block == (s->mode == 4),
           "kernel name '%s' does not say %s... and the scale mode", kernel, pre);
}

/* Run s on the oracle and the GPU: Y into ycpu, ygpu (m x ldy of ydt) and the kernel name. */
static bool run_both(qblas_handle_t gh, qblas_handle_t cpu, const f8shape *s, const uint8_t *x, const uint8_t *w,
                     const float *sx, const float *sw, const void *bias, void *ycpu, void *ygpu, char *kernel)
{
    const size_t ye = dsize(s->ydt), xn = (size_t)(s->m * s->ldx), wn = (size_t)(s->n * s->k);
    const size_t nsx = fp8_nsx(s), nsw = fp8_nsw(s);
    qblas_act_t xa;
    qblas_weight_t cw;
    describe(s, x, w, sx, sw, &xa, &cw);
    if (run_oracle(cpu, s->m, s->n, s->k, &xa, &cw, bias, s->ydt, ycpu, s->ldy)) return false;
    qblas_weight_t dw = cw;
    qblas_act_t dx = xa;
    dw.data = dcopy(w, wn), dw.scales = dcopy(sw, nsw * 4);
    dx.data = dcopy(x, xn), dx.scales = dcopy(sx, nsx * 4);
    void *bd = dcopy(bias, (size_t)s->n * ye);
    run_guarded(gh, s->m, s->n, s->k, &dx, &dw, bd, s->ydt, s->ldy, ygpu, kernel);
    check_name(s, kernel);
    note_kernel(kernel);
    cudaFree((void *)dw.data), cudaFree((void *)dw.scales), cudaFree((void *)dx.data), cudaFree((void *)dx.scales);
    cudaFree(bd);
    return g_case_ok;
}

/* ---------------------------------------------------------------- random problems */
static void fp8_case(qblas_handle_t gh, qblas_handle_t cpu, const f8shape *s)
{
    char what[192], kernel[QBLAS_KERNEL_NAME_MAX] = "";
    snprintf(what, sizeof what, "fp8 %sx%s m=%lld n=%lld k=%lld ldx=%lld %s y%s%s%s %s%s", f8n(s->xt), f8n(s->wt),
             (long long)s->m, (long long)s->n, (long long)s->k, (long long)s->ldx, fp8_mode_name(s->mode), dn(s->ydt),
             s->bias ? " bias" : "", s->ldy > s->n ? " ldy+" : "", s->exact ? "int" : "wide", s->nan ? " nan" : "");
    case_begin();
    const size_t ye = dsize(s->ydt), xn = (size_t)(s->m * s->ldx), wn = (size_t)(s->n * s->k);
    const int64_t yelems = s->m * s->ldy;
    const size_t nsx = fp8_nsx(s), nsw = fp8_nsw(s);
    uint8_t *x = xmalloc(xn), *w = xmalloc(wn);
    float *sx = xmalloc(nsx * 4), *sw = xmalloc(nsw * 4);
    void *bias = s->bias ? xmalloc((size_t)s->n * ye) : NULL;
    /* the ldx gap holds NaN codes (0xFF in both formats): a kernel reading it would poison Y */
    memset(x, fp8_nan_code(s->xt) | 0x80, xn); /* 0xFF in e4m3 / e5m2, 0x80 in e4m3fnuz */
    for (int64_t m = 0; m < s->m; m++)
        for (int64_t k = 0; k < s->k; k++) x[m * s->ldx + k] = fp8_rand_code(s->xt, s->exact);
    for (size_t i = 0; i < wn; i++) w[i] = fp8_rand_code(s->wt, s->exact);
    fill_scales(sx, (int64_t)nsx);
    fill_scales(sw, (int64_t)nsw);
    fill_bias(s->ydt, bias, s->n);
    int64_t nan_m = -1, nan_n = -1;
    if (s->nan) {
        nan_m = irand(0, s->m - 1), nan_n = irand(0, s->n - 1);
        x[nan_m * s->ldx + irand(0, s->k - 1)] = fp8_nan_code(s->xt);
        w[nan_n * s->k + irand(0, s->k - 1)] = fp8_nan_code(s->wt) | 0x80;
    }
    void *ycpu = xmalloc((size_t)yelems * ye), *ygpu = xmalloc((size_t)yelems * ye);
    if (run_both(gh, cpu, s, x, w, sx, sw, bias, ycpu, ygpu, kernel)) {
        /* decoded operands (float64, exact) */
        double *xf = xmalloc((size_t)(s->m * s->k) * 8), *wf = xmalloc(wn * 8);
        for (int64_t m = 0; m < s->m; m++)
            for (int64_t k = 0; k < s->k; k++) xf[m * s->k + k] = qb_fp8_decode(x[m * s->ldx + k], fp8_fmt(s->xt));
        for (size_t i = 0; i < wn; i++) wf[i] = qb_fp8_decode(w[i], fp8_fmt(s->wt));
        fp8_check(s, xf, wf, sx, sw, bias, ygpu, ycpu, nan_m, nan_n);
        free(xf), free(wf);
    }
    free(x), free(w), free(sx), free(sw), free(bias), free(ycpu), free(ygpu);
    case_end(what, kernel);
}

static void fp8_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    /* quick: each configuration of sm_89 (m16, m64 up to 256, m128) and sm_90a (mma m16, m64 up to 64, wgmma
     * m64 up to 256, m128) */
    static const int64_t full_m[] = {1, 7, 16, 33, 64, 100, 256, 1000}, quick_m[] = {1, 33, 100, 256, 300};
    static const int64_t ns[] = {1, 7, 128, 200, 513, 33, 256};
    static const int64_t ks[] = {16, 112, 128, 144, 4112, 640, 272, 48, 1040};
    static const qblas_dtype_t f8[2] = {QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2};
    const int64_t *ms = g_quick ? quick_m : full_m;
    const int nm = g_quick ? 5 : 8, per_m = g_quick ? 5 : 10;
    const int64_t limit = g_quick ? 2000000 : 24000000;
    printf("FP8 GEMMs vs the oracle and the definition (exact data bit for bit, wide data within tolerance):\n");
    int seq = 0;
    for (int mi = 0; mi < nm; mi++)
        for (int j = 0; j < per_m; j++, seq++) {
            f8shape s = {.m = ms[mi], .n = ns[(seq + mi) % 7], .k = ks[seq % 9]};
            /* keep the host references cheap: shrink n, then k (to a multiple of 16), until m*n*k <= limit */
            while (s.m * s.n * s.k > limit && s.n > 130) s.n = (s.n + 1) / 2;
            while (s.m * s.n * s.k > limit && s.k > 16) s.k = (s.k / 32) * 16;
            while (s.m * s.n * s.k > limit && s.n > 1) s.n = (s.n + 1) / 2;
            s.xt = f8[seq % 2], s.wt = f8[(seq / 2) % 2]; /* the four pairs */
            if (g_amd && seq % 5 == 1) s.xt = QBLAS_DTYPE_E4M3FNUZ; /* AMD's own format, on either side */
            if (g_amd && seq % 7 == 4) s.wt = QBLAS_DTYPE_E4M3FNUZ;
            s.mode = (seq / 4) % 5;                        /* with each scale mode over 20 cases */
            s.ydt = kY[seq % 3];
            s.bias = seq % 7 < 4;
            s.exact = (seq / 3) % 2 == 0;
            s.nan = !s.exact && seq % 5 == 2;
            s.ldx = s.k + (seq % 5 == 1 ? 16 : seq % 5 == 3 ? 48 : 0);
            s.ldy = s.n + (seq % 2 ? 5 : 0);
            fp8_case(gh, cpu, &s);
        }
}

/* ---------------------------------------------------------------- one-hot rows */
/* X row m is one-hot at column (37 m) % K with code 1.0 and unit scales, W
 * holds random finite codes (all of them: subnormals, the largest values)
 * with random scales: each sum has one nonzero product, w(n, k_m) * 1, so
 * Y = fp32(w * sw) exactly = the dequantized weight; in block mode the
 * other blocks add +0 (acc + (0 * 1) * sw). y f32, no bias. */
static void fp8_onehot_case(qblas_handle_t gh, qblas_handle_t cpu, f8shape s)
{
    char what[160], kernel[QBLAS_KERNEL_NAME_MAX] = "";
    snprintf(what, sizeof what, "fp8 one-hot %sx%s m=%lld n=%lld k=%lld %s", f8n(s.xt), f8n(s.wt), (long long)s.m,
             (long long)s.n, (long long)s.k, fp8_mode_name(s.mode));
    case_begin();
    s.ydt = QBLAS_DTYPE_F32, s.bias = false, s.ldx = s.k, s.ldy = s.n;
    const size_t xn = (size_t)(s.m * s.k), wn = (size_t)(s.n * s.k);
    const size_t nsx = fp8_nsx(&s), nsw = fp8_nsw(&s);
    uint8_t *x = xmalloc(xn), *w = xmalloc(wn);
    float *sx = xmalloc(nsx * 4), *sw = xmalloc(nsw * 4), *yc = xmalloc((size_t)(s.m * s.n) * 4),
          *yg = xmalloc((size_t)(s.m * s.n) * 4);
    const uint8_t one = qb_fp8_encode(1.0f, fp8_fmt(s.xt));
    memset(x, 0, xn); /* +0 codes */
    for (int64_t m = 0; m < s.m; m++) x[m * s.k + (37 * m) % s.k] = one;
    for (size_t i = 0; i < wn; i++) w[i] = finite_code(s.wt);
    for (size_t i = 0; i < nsx; i++) sx[i] = 1.0f;
    fill_scales(sw, (int64_t)nsw);
    if (run_both(gh, cpu, &s, x, w, sx, sw, NULL, yc, yg, kernel)) {
        for (int64_t m = 0; m < s.m && g_case_ok; m++)
            for (int64_t n = 0; n < s.n; n++) {
                const int64_t k = (37 * m) % s.k;
                const float want = qb_fp8_decode(w[n * s.k + k], fp8_fmt(s.wt)) * fp8_wscale(&s, sw, n, k / 128);
                if (!(yg[m * s.n + n] == want && yc[m * s.n + n] == want)) { /* -0 == +0: the sums' zeros */
                    expect(false, "y[%lld][%lld]: gpu %a, oracle %a, w*sw %a (code 0x%02x)", (long long)m,
                           (long long)n, yg[m * s.n + n], yc[m * s.n + n], want, w[n * s.k + k]);
                    break;
                }
            }
    }
    free(x), free(w), free(sx), free(sw), free(yc), free(yg);
    case_end(what, kernel);
}

static void fp8_onehot_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    printf("FP8 one-hot X: Y = W dequantized exactly:\n");
    static const qblas_dtype_t f8[2] = {QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2};
    static const int64_t shapes[][3] = {{16, 200, 144}, {100, 130, 272}, {300, 256, 1040}};
    const int nshapes = g_quick ? 1 : 3;
    for (int p = 0; p < 4; p++)
        for (int i = 0; i < nshapes; i++) {
            f8shape s = {.m = shapes[i][0], .n = shapes[i][1], .k = shapes[i][2]};
            s.xt = f8[p % 2], s.wt = f8[p / 2];
            s.mode = (p + i) % 2 ? 4 : 2; /* block, or per-row W (the dequantizer's scale per channel) */
            fp8_onehot_case(gh, cpu, s);
        }
}

/* ---------------------------------------------------------------- refusals */
/* The operands of a refusal case, m = 4, n = 40, k = 64: one device buffer
 * of n k + 64 random small-integer e4m3 codes serving as X and W (so their
 * pointers can be moved inside it), four scales, an E4M3 weight (PER_TENSOR)
 * and activation (scale mode xmode), and Y (m x n f16) poisoned. */
typedef struct {
    int64_t m, n, k;
    uint8_t *hb, *buf, *y;
    float *sc;
    size_t ybytes;
    qblas_weight_t wd;
    qblas_act_t xa;
} refusal;

static void refusal_begin(refusal *r, qblas_scale_mode_t xmode)
{
    r->m = 4, r->n = 40, r->k = 64;
    const size_t bytes = (size_t)(r->n * r->k) + 64;
    r->ybytes = (size_t)(r->m * r->n) * 2;
    r->hb = xmalloc(bytes);
    for (size_t i = 0; i < bytes; i++) r->hb[i] = fp8_rand_code(QBLAS_DTYPE_E4M3, true);
    const float sh[4] = {0.01f, 0.02f, 0.03f, 0.04f};
    r->buf = dcopy(r->hb, bytes), r->y = dpoisoned(r->ybytes);
    r->sc = dcopy(sh, sizeof sh);
    memset(&r->wd, 0, sizeof r->wd);
    r->wd.format = QBLAS_WFORMAT_FP8, r->wd.dtype = QBLAS_DTYPE_E4M3, r->wd.n = r->n, r->wd.k = r->k;
    r->wd.data = r->buf, r->wd.scale_mode = QBLAS_SCALE_PER_TENSOR, r->wd.scale_dtype = QBLAS_DTYPE_F32;
    r->wd.scales = r->sc;
    r->xa = (qblas_act_t){QBLAS_DTYPE_E4M3, r->buf, r->k, xmode, r->sc, NULL};
    case_begin();
}

/* Y still poisoned after every refusal; the case ends as `what`. */
static void refusal_end(refusal *r, const char *what)
{
    CUDA_OK(cudaDeviceSynchronize());
    expect_untouched(r->y, r->ybytes, "Y");
    case_end(what, "");
    free(r->hb);
    cudaFree(r->buf), cudaFree(r->y), cudaFree(r->sc);
}

/* NOT_SUPPORTED with a reason and Y untouched: E4M3FNUZ on either side,
 * k % 16 != 0, ldx % 16 != 0, X or W pointer off 16 bytes; no prepack. */
static void fp8_error_cases(qblas_handle_t gh)
{
    printf("FP8 unsupported inputs (status, nothing written):\n");
    refusal r;
    refusal_begin(&r, QBLAS_SCALE_PER_ROW);
    const int64_t m = r.m, n = r.n, k = r.k;
    void *y = r.y;
    qblas_kernel_info_t info;
    /* the valid call works (the refusals below are about one thing each) */
    EXPECT_STATUS(qblas_gemm_query(gh, m, n, k, &r.xa, &r.wd, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_SUCCESS);
    /* e4m3fnuz on either side: no NVIDIA type (AMD runs it: the random cases) */
    if (!g_amd) {
        qblas_act_t xz = r.xa;
        xz.dtype = QBLAS_DTYPE_E4M3FNUZ;
        qblas_weight_t wz = r.wd;
        wz.dtype = QBLAS_DTYPE_E4M3FNUZ;
        EXPECT_STATUS(qblas_gemm_query(gh, m, n, k, &xz, &r.wd, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_NOT_SUPPORTED);
        expect(strlen(qblas_last_error(gh)) > 0, "NOT_SUPPORTED without a reason");
        EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xz, &r.wd, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                      QBLAS_STATUS_NOT_SUPPORTED);
        EXPECT_STATUS(qblas_gemm(gh, m, n, k, &r.xa, &wz, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                      QBLAS_STATUS_NOT_SUPPORTED);
    }
    /* k % 16 != 0, ldx % 16 != 0, X and W pointers off 16 bytes */
    expect_align_refusals(gh, m, n, k, &r.xa, &r.wd, y);
    /* K = 2^57 (valid descriptors, nothing read): refused by the k limit, never a wrapped workspace size */
    qblas_act_t xh = r.xa;
    qblas_weight_t wh = r.wd;
    wh.k = xh.ld = (int64_t)1 << 57;
    EXPECT_STATUS(qblas_gemm_query(gh, m, n, wh.k, &xh, &wh, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_NOT_SUPPORTED);
    /* Y over X and W (one device buffer here): refused by address range, the buffer left as it was */
    const size_t bytes = (size_t)(n * k) + 64;
    EXPECT_STATUS(qblas_gemm(gh, m, n, k, &r.xa, &r.wd, NULL, QBLAS_DTYPE_F16, r.buf + 16, n, NULL, 0, NULL),
                  QBLAS_STATUS_INVALID_VALUE);
    uint8_t *back = xmalloc(bytes);
    CUDA_OK(cudaMemcpy(back, r.buf, bytes, cudaMemcpyDeviceToHost));
    expect(memcmp(back, r.hb, bytes) == 0, "a refused GEMM wrote over its inputs");
    free(back);
    /* no CUDA packed layout; the HIP one (34: FNUZ codes) is optional, the GEMM takes canonical weights too */
    size_t pbytes = 0;
    EXPECT_STATUS(qblas_prepack_size(gh, &r.wd, &pbytes), g_amd ? QBLAS_STATUS_SUCCESS : QBLAS_STATUS_NOT_SUPPORTED);
    refusal_end(&r, "fp8: e4m3fnuz / k % 16 / ldx / X and W alignment / k = 2^57 / Y over X / prepack");
}

/* sm_80-class devices have no fp8 tensor cores: every FP8 GEMM is refused. */
static void fp8_no_tensor_cores(qblas_handle_t gh)
{
    refusal r;
    refusal_begin(&r, QBLAS_SCALE_PER_TENSOR);
    qblas_kernel_info_t info;
    EXPECT_STATUS(qblas_gemm_query(gh, r.m, r.n, r.k, &r.xa, &r.wd, QBLAS_DTYPE_F16, &info),
                  QBLAS_STATUS_NOT_SUPPORTED);
    expect(strlen(qblas_last_error(gh)) > 0, "NOT_SUPPORTED without a reason");
    EXPECT_STATUS(qblas_gemm(gh, r.m, r.n, r.k, &r.xa, &r.wd, NULL, QBLAS_DTYPE_F16, r.y, r.n, NULL, 0, NULL),
                  QBLAS_STATUS_NOT_SUPPORTED);
    refusal_end(&r, "fp8 on a device without fp8 tensor cores: NOT_SUPPORTED");
}

void qbg_fp8(qblas_handle_t gh, qblas_handle_t cpu)
{
    if (!gpu_has_fp8()) {
        printf("FP8: the device has no fp8 matrix instructions (sm_89+, gfx942)\n");
        fp8_no_tensor_cores(gh);
        return;
    }
    fp8_cases(gh, cpu);
    fp8_onehot_cases(gh, cpu);
    fp8_error_cases(gh);
}
