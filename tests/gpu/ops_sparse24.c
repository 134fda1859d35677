/* ops_sparse24.c - the 2:4 sparse GEMM (mma.sp) on the GPU against the oracle.
 *
 * Random 2:4 weights (every one of the six meta fields, values that are
 * zero so groups keep zero or one non-zero, and a garbage high nibble at
 * the end of each meta row when K % 8 == 4, which every reader ignores),
 * packed by qblas_prepack on the CUDA handle; the canonical device buffers
 * are freed before the GEMM (the blob must be self-contained). M in
 * {1, 7, 16, 33, 100, 256, 1000} (every configuration), N and K on and off
 * the n128 / stage tiles (K % 4 == 0 is all the kernels need), ldx and ldy
 * gaps, bias on/off, y f16/bf16/f32:
 *   - f16/bf16: vs the oracle and a float64 sum, tolerance derived below;
 *     plus an exactness case (one-hot X gives the decompressed W);
 *   - i8 (PER_TENSOR/PER_ROW scales, zero points): BIT-EXACT vs the oracle
 *     and the INT8 definition evaluated here;
 *   - fp8 (sm_89+; e4m3/e5m2 x e4m3/e5m2, outer and block-128 scales):
 *     small-integer data bit-exact vs the oracle and the FP8 definition,
 *     wide-range data within the derived tolerance, a NaN weight's column.
 * Errors: a CANONICAL weight in the GEMM (NOT_SUPPORTED, prepack first),
 * e4m3fnuz activations and (sm_80-class) any fp8 GEMM (NOT_SUPPORTED),
 * misaligned X rows (NOT_SUPPORTED), a packed descriptor whose pointers
 * were moved (INVALID_VALUE); Y untouched. Device checks (docs/API.md): an
 * invalid meta field (prepack writes nothing to dst) and i8 zero points
 * outside -128..127 (the GEMM writes nothing to Y) are reported by
 * qblas_device_status as INVALID_VALUE.
 * The kernels are deterministic (no atomics, a fixed summation order):
 * run_guarded checks that two runs give the same bits.
 */
#include "gpu_harness.h"

typedef struct {
    int64_t m, n, k, ldx, ldy;
    qblas_dtype_t wt, ydt;   /* weight = activation dtype: F16, BF16, I8 */
    bool bias, x_row, w_row, zp; /* the last three: i8 only */
    bool onehot;             /* X rows one-hot (exactness case) */
} spshape;

static const uint8_t kFields[6] = {0x4, 0x8, 0xC, 0x9, 0xD, 0xE};

/* Canonical 2:4 weight: values [n][k/2] (es bytes), meta [n][ceil(k/8)],
 * and its decompression as floats (dense [n][k]). About 1 in 6 values is
 * zero, so some groups keep one or no non-zero. */
static void make_weight(const spshape *s, uint8_t *vals, uint8_t *meta, float *dense)
{
    const int64_t kh = s->k / 2, mrow = (s->k + 7) / 8;
    memset(meta, 0, (size_t)(s->n * mrow));
    memset(dense, 0, (size_t)(s->n * s->k) * sizeof(float));
    for (int64_t r = 0; r < s->n; r++) {
        for (int64_t j = 0; j < s->k / 4; j++) {
            const uint8_t f = kFields[rnd() % 6];
            meta[r * mrow + j / 2] |= (uint8_t)(f << (4 * (j % 2)));
            for (int e = 0; e < 2; e++) {
                const int64_t c = r * kh + 2 * j + e;
                float v;
                if (s->wt == QBLAS_DTYPE_I8) {
                    const int8_t q = rnd() % 6 == 0 ? 0 : (int8_t)rnd();
                    ((int8_t *)vals)[c] = q;
                    v = q;
                } else {
                    v = rnd() % 6 == 0 ? 0.0f : round_to(s->wt, signed_uni(0.25, 2.0));
                    from_f32(s->wt, vals, c, v);
                }
                dense[r * s->k + 4 * j + (e ? f >> 2 : f & 3)] = v;
            }
        }
        if (s->k % 8 == 4) meta[r * mrow + mrow - 1] |= 0xF0; /* belongs to no group: ignored */
    }
}

/* The INT8 definition (docs/FORMATS.md, INT8 GEMM, on the decompressed W). */
static float i8_expected(const spshape *s, const int8_t *x, const float *dense, const float *sx, const float *sw,
                         const int32_t *zx, const void *bias, int64_t m, int64_t n)
{
    int64_t acc = 0;
    const int64_t z = zx ? zx[m] : 0;
    for (int64_t k = 0; k < s->k; k++) acc += ((int64_t)x[m * s->ldx + k] - z) * (int64_t)dense[n * s->k + k];
    float v = (float)(int32_t)acc;
    v = v * (s->x_row ? sx[m] : sx[0]);
    v = v * (s->w_row ? sw[n] : sw[0]);
    if (bias) v = v + to_f32(s->ydt, bias, n);
    return round_to(s->ydt, v);
}

/* Upload the canonical weight, prepack it on the GPU handle, free the
 * canonical device copies. Returns the blob (NULL on failure). */
static void *pack_on_gpu(qblas_handle_t gh, const qblas_weight_t *hw, size_t vbytes, size_t mbytes, size_t sbytes,
                         qblas_weight_t *packed)
{
    qblas_weight_t dw = *hw;
    dw.data = dcopy(hw->data, vbytes), dw.meta = dcopy(hw->meta, mbytes);
    dw.scales = hw->scales ? dcopy(hw->scales, sbytes) : NULL;
    size_t bytes = 0;
    void *blob = NULL;
    qblas_status_t st = qblas_prepack_size(gh, &dw, &bytes);
    expect(st == QBLAS_STATUS_SUCCESS, "prepack_size: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    if (!st) {
        blob = dalloc(bytes);
        st = qblas_prepack(gh, &dw, blob, bytes, packed, NULL);
        expect(st == QBLAS_STATUS_SUCCESS, "prepack: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
        expect(st || packed->layout == (g_amd ? QBLAS_LAYOUT_HIP_SPARSE24 : QBLAS_LAYOUT_CUDA_SPARSE24), "packed layout %d", (int)packed->layout);
        if (st) cudaFree(blob), blob = NULL;
    }
    CUDA_OK(cudaDeviceSynchronize());
    cudaFree((void *)dw.data), cudaFree((void *)dw.meta), cudaFree((void *)dw.scales);
    return blob;
}

static void sp_case(qblas_handle_t gh, qblas_handle_t cpu, const spshape *s)
{
    char what[176], kernel[QBLAS_KERNEL_NAME_MAX] = "";
    const bool i8 = s->wt == QBLAS_DTYPE_I8;
    snprintf(what, sizeof what, "2:4 %s m=%lld n=%lld k=%lld ldx=%lld%s%s%s y%s%s%s%s", dn(s->wt), (long long)s->m,
             (long long)s->n, (long long)s->k, (long long)s->ldx, i8 ? (s->x_row ? " sx:row" : " sx:tensor") : "",
             i8 ? (s->w_row ? " sw:row" : " sw:tensor") : "", s->zp ? " zp" : "", dn(s->ydt), s->bias ? " bias" : "",
             s->ldy > s->n ? " ldy+" : "", s->onehot ? " one-hot" : "");
    case_begin();
    const size_t es = i8 ? 1 : 2, ye = dsize(s->ydt);
    const size_t vbytes = (size_t)(s->n * (s->k / 2)) * es, mbytes = (size_t)(s->n * ((s->k + 7) / 8));
    const size_t xbytes = (size_t)(s->m * s->ldx) * es;
    const int64_t nsx = s->x_row ? s->m : 1, nsw = s->w_row ? s->n : 1, yelems = s->m * s->ldy;
    uint8_t *vals = xmalloc(vbytes), *meta = xmalloc(mbytes), *x = xmalloc(xbytes);
    float *dense = xmalloc((size_t)(s->n * s->k) * sizeof(float));
    float *sx = i8 ? xmalloc((size_t)nsx * 4) : NULL, *sw = i8 ? xmalloc((size_t)nsw * 4) : NULL;
    int32_t *zx = s->zp ? xmalloc((size_t)s->m * 4) : NULL;
    void *bias = s->bias ? xmalloc((size_t)s->n * ye) : NULL;
    make_weight(s, vals, meta, dense);
    for (int64_t m = 0; m < s->m; m++) /* the ldx gap too: it must never be read */
        for (int64_t k = 0; k < s->ldx; k++) {
            const int64_t i = m * s->ldx + k;
            if (s->onehot)
                from_f32(s->wt, x, i, k == (m * 7919) % s->k ? 1.0f : 0.0f);
            else if (i8)
                ((int8_t *)x)[i] = (int8_t)rnd();
            else
                from_f32(s->wt, x, i, k < s->k ? signed_uni(0.25, 2.0) : NAN);
        }
    fill_scales(sx, nsx);
    fill_scales(sw, nsw);
    for (int64_t i = 0; zx && i < s->m; i++) zx[i] = (int32_t)irand(-128, 127);
    fill_bias(s->ydt, bias, s->n);

    qblas_weight_t cw = {0};
    cw.format = QBLAS_WFORMAT_SPARSE24, cw.layout = QBLAS_LAYOUT_CANONICAL, cw.dtype = s->wt;
    cw.n = s->n, cw.k = s->k, cw.data = vals, cw.meta = meta;
    if (i8)
        cw.scales = sw, cw.scale_dtype = QBLAS_DTYPE_F32,
        cw.scale_mode = s->w_row ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_PER_TENSOR;
    qblas_act_t xa = {s->wt, x, s->ldx, QBLAS_SCALE_NONE, NULL, NULL};
    if (i8) xa.scale_mode = s->x_row ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_PER_TENSOR, xa.scales = sx, xa.zeros = zx;

    /* the oracle */
    void *ycpu = xmalloc((size_t)yelems * ye), *ygpu = xmalloc((size_t)yelems * ye);
    const qblas_status_t st = run_oracle(cpu, s->m, s->n, s->k, &xa, &cw, bias, s->ydt, ycpu, s->ldy);

    qblas_weight_t pw;
    void *blob = st ? NULL : pack_on_gpu(gh, &cw, vbytes, mbytes, (size_t)nsw * 4, &pw);
    qblas_act_t dx = xa;
    dx.data = dcopy(x, xbytes), dx.scales = dcopy(sx, (size_t)nsx * 4), dx.zeros = dcopy(zx, (size_t)s->m * 4);
    void *bd = dcopy(bias, (size_t)s->n * ye);
    if (blob) {
        run_guarded(gh, s->m, s->n, s->k, &dx, &pw, bd, s->ydt, s->ldy, ygpu, kernel);
        char pre[16];
        snprintf(pre, sizeof pre, "sp24_%s_", dn(s->wt));
        expect(strncmp(kernel, pre, strlen(pre)) == 0, "kernel name '%s' is not a 2:4 %s kernel", kernel, dn(s->wt));
        note_kernel(kernel);
        /* f16/bf16 tolerance. Products x*w are exact in fp32 (11+11 or 8+8
         * significant bits). The GPU sums them on tensor cores, whose adds
         * may truncate instead of rounding (u = 2^-23 each): at most K/2
         * products per output (the kept ones) in a tree per mma, K/32 adds
         * of mma results into the fp32 accumulator, one bias add; bounded
         * by gamma(K + K/16 + 34) with u = 2^-23 (generous, as for W4A16).
         * The oracle: K fp32 adds + the bias add, rounded, u = 2^-24. Both
         * relative to S = sum |x*w| + |bias|; then one rounding each to y
         * (half an ulp of y at the value, for both sides). */
        const double gpu_rel = gamma_n((double)(s->k + s->k / 16 + 34), 0x1p-23);
        const double cpu_rel = gamma_n((double)(s->k + 1), 0x1p-24);
        for (int64_t m = 0; m < s->m && g_case_ok; m++)
            for (int64_t n = 0; n < s->n; n++) {
                const int64_t i = m * s->ldy + n;
                const float g = to_f32(s->ydt, ygpu, i), c = to_f32(s->ydt, ycpu, i);
                if (i8) {
                    const float want = i8_expected(s, (const int8_t *)x, dense, sx, sw, zx, bias, m, n);
                    if (!expect_bits(s->ydt, ygpu, ycpu, i, want, m, n)) break;
                    continue;
                }
                double sum = bias ? to_f32(s->ydt, bias, n) : 0.0, S = fabs(sum);
                for (int64_t k = 0; k < s->k; k++) {
                    const double p = (double)to_f32(s->wt, x, m * s->ldx + k) * (double)dense[n * s->k + k];
                    sum += p, S += fabs(p);
                }
                if (s->onehot) {
                    /* one product is the decompressed weight, every other is 0: exact on any hardware */
                    if (!(g == round_to(s->ydt, (float)sum) && c == g)) {
                        expect(false, "one-hot y[%lld][%lld]: gpu %a, oracle %a, W %a", (long long)m, (long long)n,
                               g, c, sum);
                        break;
                    }
                    continue;
                }
                if (!expect_near(s->ydt, g, c, sum, S, gpu_rel, cpu_rel, m, n)) break;
            }
    }
    cudaFree(blob), cudaFree((void *)dx.data), cudaFree((void *)dx.scales), cudaFree((void *)dx.zeros), cudaFree(bd);
    free(vals), free(meta), free(x), free(dense), free(sx), free(sw), free(zx), free(bias), free(ycpu), free(ygpu);
    case_end(what, kernel);
}

/* ---------------------------------------------------------------- fp8 */
/* f8shape, the random codes, the scales and the result check (the NaN
 * column, the exact-data definition, the wide-data tolerance: derived
 * there) are the dense FP8 group's: gpu_harness.c, "FP8 GEMM results".
 * Here `nan` puts a NaN code among the kept values of one weight row. */

static void sp8_case(qblas_handle_t gh, qblas_handle_t cpu, const f8shape *s)
{
    char what[192], kernel[QBLAS_KERNEL_NAME_MAX] = "";
    snprintf(what, sizeof what, "2:4 fp8 %sx%s m=%lld n=%lld k=%lld ldx=%lld %s y%s%s%s %s%s", dn(s->xt), dn(s->wt),
             (long long)s->m, (long long)s->n, (long long)s->k, (long long)s->ldx, fp8_mode_name(s->mode), dn(s->ydt),
             s->bias ? " bias" : "", s->ldy > s->n ? " ldy+" : "", s->exact ? "int" : "wide", s->nan ? " nan" : "");
    case_begin();
    const size_t ye = dsize(s->ydt), xbytes = (size_t)(s->m * s->ldx);
    const size_t vbytes = (size_t)(s->n * (s->k / 2)), mbytes = (size_t)(s->n * ((s->k + 7) / 8));
    const int64_t yelems = s->m * s->ldy, kh = s->k / 2, mrow = (s->k + 7) / 8;
    const size_t nsx = fp8_nsx(s), nsw = fp8_nsw(s);
    uint8_t *x = xmalloc(xbytes), *vals = xmalloc(vbytes), *meta = xmalloc(mbytes);
    double *wf = xmalloc((size_t)(s->n * s->k) * 8), *xf = xmalloc((size_t)(s->m * s->k) * 8);
    float *sx = xmalloc(nsx * 4), *sw = xmalloc(nsw * 4);
    void *bias = s->bias ? xmalloc((size_t)s->n * ye) : NULL;
    memset(x, 0xFF, xbytes); /* the ldx gap holds NaN codes: a kernel reading it would poison Y */
    for (int64_t m = 0; m < s->m; m++)
        for (int64_t k = 0; k < s->k; k++) {
            x[m * s->ldx + k] = fp8_rand_code(s->xt, s->exact);
            xf[m * s->k + k] = qb_fp8_decode(x[m * s->ldx + k], fp8_fmt(s->xt));
        }
    memset(meta, 0, mbytes);
    memset(wf, 0, (size_t)(s->n * s->k) * 8);
    for (int64_t r = 0; r < s->n; r++)
        for (int64_t j = 0; j < s->k / 4; j++) {
            const uint8_t f = kFields[rnd() % 6];
            meta[r * mrow + j / 2] |= (uint8_t)(f << (4 * (j % 2)));
            for (int e = 0; e < 2; e++) {
                const uint8_t c = rnd() % 6 == 0 ? 0x00 : fp8_rand_code(s->wt, s->exact);
                vals[r * kh + 2 * j + e] = c;
                wf[r * s->k + 4 * j + (e ? f >> 2 : f & 3)] = qb_fp8_decode(c, fp8_fmt(s->wt));
            }
        }
    int64_t nan_n = -1;
    if (s->nan) { /* a kept weight value: every Y[m][nan_n] is NaN on both sides (X is finite) */
        nan_n = irand(0, s->n - 1);
        vals[nan_n * kh + irand(0, kh - 1)] = 0xFF;
    }
    fill_scales(sx, (int64_t)nsx);
    fill_scales(sw, (int64_t)nsw);
    fill_bias(s->ydt, bias, s->n);

    qblas_weight_t cw = {0};
    cw.format = QBLAS_WFORMAT_SPARSE24, cw.layout = QBLAS_LAYOUT_CANONICAL, cw.dtype = s->wt;
    cw.n = s->n, cw.k = s->k, cw.data = vals, cw.meta = meta, cw.scales = sw, cw.scale_dtype = QBLAS_DTYPE_F32;
    cw.scale_mode = fp8_w_mode(s);
    qblas_act_t xa = {s->xt, x, s->ldx, fp8_x_mode(s), sx, NULL};
    void *ycpu = xmalloc((size_t)yelems * ye), *ygpu = xmalloc((size_t)yelems * ye);
    const qblas_status_t st = run_oracle(cpu, s->m, s->n, s->k, &xa, &cw, bias, s->ydt, ycpu, s->ldy);

    qblas_weight_t pw;
    void *blob = st ? NULL : pack_on_gpu(gh, &cw, vbytes, mbytes, nsw * 4, &pw);
    qblas_act_t dx = xa;
    dx.data = dcopy(x, xbytes), dx.scales = dcopy(sx, nsx * 4);
    void *bd = dcopy(bias, (size_t)s->n * ye);
    if (blob) {
        run_guarded(gh, s->m, s->n, s->k, &dx, &pw, bd, s->ydt, s->ldy, ygpu, kernel);
        char pre[16];
        snprintf(pre, sizeof pre, "sp24_%s_", dn(s->wt));
        expect(strncmp(kernel, pre, strlen(pre)) == 0 && (s->mode == 4) == (strstr(kernel, "_block128") != NULL),
               "kernel name '%s' is not a 2:4 %s %s kernel", kernel, dn(s->wt), fp8_mode_name(s->mode));
        note_kernel(kernel);
        fp8_check(s, xf, wf, sx, sw, bias, ygpu, ycpu, -1, nan_n);
    }
    cudaFree(blob), cudaFree((void *)dx.data), cudaFree((void *)dx.scales), cudaFree(bd);
    free(x), free(vals), free(meta), free(wf), free(xf), free(sx), free(sw), free(bias), free(ycpu), free(ygpu);
    case_end(what, kernel);
}

/* fp8 needs sm_89+: on an sm_80-class device every 2:4 fp8 GEMM is NOT_SUPPORTED. */
static bool fp8_device(void)
{
    return gpu_has_fp8();
}

static void sp8_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    static const int64_t full_m[] = {1, 7, 16, 33, 100, 256, 1000}, quick_m[] = {1, 33};
    static const int64_t ns[] = {1, 20, 128, 130, 300, 64, 257};
    static const int64_t ks[] = {4, 132, 128, 260, 1028, 4096, 12};
    static const qblas_dtype_t f8[2] = {QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2};
    const int64_t *ms = g_quick ? quick_m : full_m;
    /* quick: 10 cases per M give both weight dtypes every scale mode (m16 and m32 configurations) */
    const int nm = g_quick ? 2 : 7, per_m = g_quick ? 10 : 8;
    const int64_t limit = g_quick ? 2000000 : 16000000;
    if (!fp8_device()) {
        printf("2:4 fp8: sm_80-class device, checking NOT_SUPPORTED only\n");
        return;
    }
    printf("2:4 fp8 GEMMs (exact data bit for bit, wide data within the derived tolerance):\n");
    int seq = 0;
    for (int mi = 0; mi < nm; mi++)
        for (int j = 0; j < per_m; j++, seq++) {
            f8shape s = {.m = ms[mi], .n = ns[(seq + mi) % 7], .k = ks[seq % 7]};
            while (s.m * s.n * s.k > limit && s.n > 1) s.n = (s.n + 1) / 2;
            while (s.m * s.n * s.k > limit && s.k > 4) s.k = (s.k / 8) * 4;
            s.xt = f8[seq % 2], s.wt = f8[(seq / 5) % 2];
            s.mode = seq % 5;
            s.exact = seq % 3 == 0;
            s.nan = seq % 7 == 3;
            s.bias = seq % 4 < 2;
            s.ydt = kY[(seq / 3) % 3];
            s.ldx = (s.k + 15) / 16 * 16 + (seq % 5 == 1 ? 16 : 0);
            s.ldy = s.n + (seq % 2 ? 3 : 0);
            sp8_case(gh, cpu, &s);
        }
}

static void sp_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    /* quick: one M per configuration (m16, m32, m128) */
    static const int64_t full_m[] = {1, 7, 16, 20, 33, 100, 256, 1000}, quick_m[] = {1, 20, 100};
    static const int64_t ns[] = {1, 20, 128, 130, 300, 64, 257};
    static const int64_t ks[] = {4, 12, 64, 100, 132, 1028, 4096}; /* off every stage size but 64 and 4096 */
    static const qblas_dtype_t wts[3] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_I8};
    const int64_t *ms = g_quick ? quick_m : full_m;
    const int nm = g_quick ? 3 : 8, per_m = g_quick ? 3 : 9;
    const int64_t limit = g_quick ? 2000000 : 16000000;
    printf("2:4 sparse GEMMs (f16/bf16 within the derived tolerance, i8 bit for bit):\n");
    int seq = 0;
    for (int mi = 0; mi < nm; mi++)
        for (int j = 0; j < per_m; j++, seq++) {
            spshape s = {.m = ms[mi], .n = ns[(seq + mi) % 7], .k = ks[seq % 7], .wt = wts[j % 3]};
            /* keep the host references cheap: shrink n, then k (to a multiple of 4), until m*n*k <= limit */
            while (s.m * s.n * s.k > limit && s.n > 1) s.n = (s.n + 1) / 2;
            while (s.m * s.n * s.k > limit && s.k > 4) s.k = (s.k / 8) * 4;
            const bool i8 = s.wt == QBLAS_DTYPE_I8;
            s.x_row = i8 && seq % 2 == 0, s.w_row = i8 && (seq / 2) % 2 == 0;
            s.zp = s.x_row && seq % 3 != 1; /* zero points need PER_ROW activation scales */
            s.bias = seq % 4 < 2;
            s.ydt = kY[(seq / 3) % 3];
            /* rows of 16-byte multiples (the kernels' requirement), sometimes with a gap */
            const int64_t a = i8 ? 16 : 8;
            s.ldx = (s.k + a - 1) / a * a + (seq % 5 == 1 ? a : seq % 5 == 3 ? 3 * a : 0);
            s.ldy = s.n + (seq % 2 ? 5 : 0);
            sp_case(gh, cpu, &s);
        }
    /* exactness: one-hot X rows give the decompressed W exactly (f32 and f16 y hold any f16 value) */
    for (int i = 0; i < 2; i++) {
        spshape s = {.m = i ? 33 : 5, .n = 130, .k = i ? 1028 : 100, .wt = i ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16,
                     .ydt = i ? QBLAS_DTYPE_F32 : QBLAS_DTYPE_F16, .onehot = true};
        s.ldx = (s.k + 7) / 8 * 8, s.ldy = s.n;
        sp_case(gh, cpu, &s);
    }
}

/* Statuses of bad inputs; Y (and the prepack dst) stay poisoned. */
static void sp_error_cases(qblas_handle_t gh)
{
    printf("2:4 sparse unsupported inputs and bad weights (status, nothing written):\n");
    const int64_t m = 4, n = 40, k = 64, mrow = k / 8;
    const size_t vbytes = (size_t)(n * k / 2) * 2, ybytes = (size_t)(m * n) * 2;
    uint16_t *hv = xmalloc(vbytes);
    uint8_t *hm = xmalloc((size_t)(n * mrow));
    for (size_t i = 0; i < vbytes / 2; i++) from_f32(QBLAS_DTYPE_F16, hv, (int64_t)i, signed_uni(0.25, 2.0));
    for (int64_t i = 0; i < n * mrow; i++) hm[i] = (uint8_t)(kFields[rnd() % 6] | kFields[rnd() % 6] << 4);
    uint8_t *dv = dcopy(hv, vbytes), *dm = dcopy(hm, (size_t)(n * mrow)), *y = dpoisoned(ybytes);
    uint8_t *xbuf = dcopy(hv, vbytes); /* X: m rows of k f16 fit in it (with a 2-byte offset too) */
    qblas_weight_t wd = {0};
    wd.format = QBLAS_WFORMAT_SPARSE24, wd.dtype = QBLAS_DTYPE_F16, wd.n = n, wd.k = k, wd.data = dv, wd.meta = dm;
    qblas_act_t xa = {QBLAS_DTYPE_F16, xbuf, k, QBLAS_SCALE_NONE, NULL, NULL};
    qblas_kernel_info_t info;
    case_begin();
    /* a canonical weight in the GEMM: prepack first */
    EXPECT_STATUS(qblas_gemm_query(gh, m, n, k, &xa, &wd, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_NOT_SUPPORTED);
    expect(strlen(qblas_last_error(gh)) > 0, "NOT_SUPPORTED without a reason");
    EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xa, &wd, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                  QBLAS_STATUS_NOT_SUPPORTED);
    /* fp8: e4m3fnuz activations have no NVIDIA type; on sm_80-class devices no fp8 at all */
    qblas_weight_t w8 = wd, p8;
    float one = 1.0f;
    float *d1 = dcopy(&one, 4);
    w8.dtype = QBLAS_DTYPE_E4M3, w8.scale_mode = QBLAS_SCALE_PER_TENSOR, w8.scale_dtype = QBLAS_DTYPE_F32, w8.scales = d1;
    size_t pbytes = 0;
    /* an AMD target without fp8 MFMA (gfx90a) refuses fp8 weights at prepack already; CUDA packs them
     * everywhere and refuses the GEMM */
    const bool amd_no_fp8 = g_amd && !fp8_device();
    EXPECT_STATUS(qblas_prepack_size(gh, &w8, &pbytes), amd_no_fp8 ? QBLAS_STATUS_NOT_SUPPORTED : QBLAS_STATUS_SUCCESS);
    if (amd_no_fp8) expect(strlen(qblas_last_error(gh)) > 0, "NOT_SUPPORTED without a reason");
    uint8_t *blob8 = dalloc(pbytes ? pbytes : 1);
    qblas_status_t st = amd_no_fp8 ? QBLAS_STATUS_NOT_SUPPORTED : qblas_prepack(gh, &w8, blob8, pbytes, &p8, NULL);
    expect(amd_no_fp8 || st == QBLAS_STATUS_SUCCESS, "fp8 prepack: %s (%s)", qblas_status_string(st),
           qblas_last_error(gh));
    if (!st) {
        qblas_act_t x8 = {QBLAS_DTYPE_E4M3FNUZ, xbuf, k, QBLAS_SCALE_PER_TENSOR, d1, NULL};
        if (!g_amd) /* no NVIDIA type (AMD reads it natively) */
            EXPECT_STATUS(qblas_gemm(gh, m, n, k, &x8, &p8, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                          QBLAS_STATUS_NOT_SUPPORTED);
        if (!fp8_device()) {
            x8.dtype = QBLAS_DTYPE_E4M3;
            EXPECT_STATUS(qblas_gemm(gh, m, n, k, &x8, &p8, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                          QBLAS_STATUS_NOT_SUPPORTED);
        }
    }
    /* a valid prepack, then misaligned X rows (ldx, pointer) and moved blob pointers */
    qblas_weight_t pw;
    st = qblas_prepack_size(gh, &wd, &pbytes);
    expect(st == QBLAS_STATUS_SUCCESS, "prepack_size: %s", qblas_status_string(st));
    uint8_t *blob = dalloc(pbytes ? pbytes : 1);
    if (!st) st = qblas_prepack(gh, &wd, blob, pbytes, &pw, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "prepack: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    if (!st) {
        qblas_act_t xl = xa, xp = xa;
        xl.ld = k + 4;                     /* 136-byte rows */
        xp.data = (const uint16_t *)xbuf + 1; /* 2-byte aligned, not 16 */
        EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xl, &pw, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                      QBLAS_STATUS_NOT_SUPPORTED);
        EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xp, &pw, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                      QBLAS_STATUS_NOT_SUPPORTED);
        qblas_weight_t moved = pw;
        /* CUDA's blob has its meta 256 bytes on; HIP's has none (decompressed): any meta is not prepack's */
        moved.meta = pw.meta ? (const uint8_t *)pw.meta + 256 : (const uint8_t *)pw.data;
        EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xa, &moved, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                      QBLAS_STATUS_INVALID_VALUE);
        qblas_weight_t other = pw;
        other.layout = g_amd ? QBLAS_LAYOUT_HIP_W4A16 : QBLAS_LAYOUT_CUDA_W4A16;
        EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xa, &other, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                      QBLAS_STATUS_ARCH_MISMATCH);
    }
    CUDA_OK(cudaDeviceSynchronize());
    expect_untouched(y, ybytes, "Y");
    case_end("2:4: canonical weight / fp8 fnuz (sm_80: fp8) / X alignment / moved blob / layout", "");

    /* invalid meta fields (i0 >= i1) in the last group of the last row, a device check: the call succeeds,
     * dst stays untouched, qblas_device_status says INVALID_VALUE and names the byte */
    static const uint8_t bad_fields[4] = {0x0, 0x5, 0x6, 0xF};
    for (int b = 0; b < 4; b++) {
        case_begin();
        uint8_t *hb = xmalloc((size_t)(n * mrow));
        memcpy(hb, hm, (size_t)(n * mrow));
        hb[n * mrow - 1] = (uint8_t)((hb[n * mrow - 1] & 0x0F) | bad_fields[b] << 4);
        uint8_t *dbad = dcopy(hb, (size_t)(n * mrow));
        qblas_weight_t wb = wd;
        wb.meta = dbad;
        uint8_t *dst = dalloc(pbytes ? pbytes : 1);
        CUDA_OK(cudaMemset(dst, 0xFF, pbytes));
        qblas_weight_t out;
        EXPECT_STATUS(qblas_prepack(gh, &wb, dst, pbytes, &out, NULL), QBLAS_STATUS_SUCCESS);
        char byte[48];
        snprintf(byte, sizeof byte, "meta byte %lld, high nibble: field 0x%X", (long long)(n * mrow - 1), bad_fields[b]);
        expect_device_status(gh, QBLAS_STATUS_INVALID_VALUE, byte);
        expect_untouched(dst, pbytes, "prepack dst");
        char what[80];
        snprintf(what, sizeof what, "2:4 prepack: meta field 0x%X -> device status INVALID_VALUE", bad_fields[b]);
        case_end(what, "");
        cudaFree(dbad), cudaFree(dst), free(hb);
    }
    free(hv), free(hm);
    cudaFree(dv), cudaFree(dm), cudaFree(y), cudaFree(xbuf), cudaFree(d1), cudaFree(blob), cudaFree(blob8);
}

/* i8 activation zero points outside -128..127, a device check
 * (expect_zero_point_checks). */
static void sp_zero_point_cases(qblas_handle_t gh)
{
    case_begin();
    const int64_t m = 5, n = 40, k = 64, mrow = k / 8;
    uint8_t *hm = xmalloc((size_t)(n * mrow));
    for (int64_t i = 0; i < n * mrow; i++) hm[i] = (uint8_t)(kFields[rnd() % 6] | kFields[rnd() % 6] << 4);
    int8_t *hx = xmalloc((size_t)(n * k));
    for (int64_t i = 0; i < n * k; i++) hx[i] = (int8_t)rnd();
    const float sc[5] = {0.01f, 0.02f, 0.03f, 0.04f, 0.05f};
    qblas_weight_t wd = {0}, pw;
    wd.format = QBLAS_WFORMAT_SPARSE24, wd.dtype = QBLAS_DTYPE_I8, wd.n = n, wd.k = k, wd.data = hx, wd.meta = hm;
    wd.scale_mode = QBLAS_SCALE_PER_TENSOR, wd.scale_dtype = QBLAS_DTYPE_F32, wd.scales = (float *)sc;
    void *blob = pack_on_gpu(gh, &wd, (size_t)(n * k / 2), (size_t)(n * mrow), 4, &pw);
    int32_t *zd = dalloc((size_t)m * 4);
    qblas_act_t x = {QBLAS_DTYPE_I8, dcopy(hx, (size_t)(m * k)), k, QBLAS_SCALE_PER_ROW, dcopy(sc, sizeof sc), zd};
    if (blob) expect_zero_point_checks(gh, n, k, &x, &pw);
    cudaFree((void *)x.data), cudaFree((void *)x.scales), cudaFree(zd), cudaFree(blob);
    free(hm), free(hx);
    case_end("2:4 i8 zero points outside int8 -> nothing written, device status; valid -> written", "");
}

void qbg_sparse24(qblas_handle_t gh, qblas_handle_t cpu)
{
    sp_cases(gh, cpu);
    sp8_cases(gh, cpu);
    sp_error_cases(gh);
    sp_zero_point_cases(gh);
}
