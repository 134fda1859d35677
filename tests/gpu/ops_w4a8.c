/* ops_w4a8.c - W4A8 (QServe QoQ) GEMM on the GPU against the oracle.
 *
 * g128 and per-channel weights, prepacked on the device; M in {1, 3, 16,
 * 17, 64, 100, 256, 1000} (every kernel configuration of the registry, and
 * split-K where the grid is small), N and K on and off the n128 / k64 tiles
 * (per-channel: any even K, including K % 16 != 0), PER_TENSOR / PER_ROW
 * activation scales, with and without bias, y f16/bf16/f32, ldx and ldy
 * gaps; group scales up to 127 (c * s2 > 255: the widening must not carry
 * across byte lanes); Y equal bit for bit to the oracle and to the
 * definition evaluated here. Bad inputs: canonical weights in the GEMM
 * (NOT_SUPPORTED, prepack first), prepack content violations (a device
 * check: dst untouched, qblas_device_status INVALID_VALUE naming the
 * oracle's first (group, row)), misaligned X (NOT_SUPPORTED), a short
 * split-K workspace, a CUDA-packed weight on the CPU handle (ARCH_MISMATCH).
 */
#include "gpu_harness.h"

/* ---------------------------------------------------------------- host weight */
typedef struct {
    int64_t n, k, groups;
    bool g128;
    uint8_t *codes;   /* [n][k/2] */
    uint16_t *s1;     /* f16 [n] */
    int8_t *s2;       /* [groups][n], g128 only */
    uint8_t *z;       /* [groups][n] */
} w8host;

static int code_of(const w8host *w, int64_t n, int64_t k) { return (w->codes[n * (w->k / 2) + k / 2] >> ((k & 1) * 4)) & 15; }
static void set_code(w8host *w, int64_t n, int64_t k, int c) { w->codes[n * (w->k / 2) + k / 2] |= (uint8_t)(c << ((k & 1) * 4)); }

/* The definition's weight integer (docs/FORMATS.md, W4A8: "The weight integer"). */
static int w8_of(const w8host *w, int64_t n, int64_t k)
{
    if (!w->g128) return code_of(w, n, k) - w->z[n];
    const int64_t gi = (k / 128) * w->n + n;
    return code_of(w, n, k) * w->s2[gi] - w->z[gi] * w->s2[gi];
}

/* Random weight that satisfies the content checks, built the way they read:
 * pick s2 and z, then codes c with (c - z) * s2 inside [-128, 127].
 * wide: s2 up to 127 (so c * s2 reaches 1905: byte-lane carries would show);
 * else the quantizer's range s2 <= 16. */
static void make_weight(w8host *w, int64_t n, int64_t k, bool g128, bool wide)
{
    memset(w, 0, sizeof *w);
    w->n = n, w->k = k, w->g128 = g128, w->groups = g128 ? k / 128 : 1;
    w->codes = xmalloc((size_t)(n * k / 2));
    memset(w->codes, 0, (size_t)(n * k / 2));
    w->s1 = xmalloc((size_t)n * 2);
    w->z = xmalloc((size_t)(w->groups * n));
    w->s2 = g128 ? xmalloc((size_t)(w->groups * n)) : NULL;
    for (int64_t i = 0; i < n; i++) w->s1[i] = qb_f32_to_f16(signed_uni(0.002, 0.03));
    for (int64_t g = 0; g < w->groups; g++)
        for (int64_t r = 0; r < n; r++) {
            const int64_t gi = g * n + r;
            const int z = (int)irand(0, 15);
            w->z[gi] = (uint8_t)z;
            int lo = 0, hi = 15;
            if (g128) {
                static const int pick[] = {1, 2, 15, 16, 17, 64, 100, 127};
                const int s = wide ? (rnd() & 1 ? pick[rnd() % 8] : (int)irand(1, 127)) : (int)irand(1, 16);
                w->s2[gi] = (int8_t)s;
                lo = z - 128 / s < 0 ? 0 : z - 128 / s;
                hi = z + 127 / s > 15 ? 15 : z + 127 / s;
            }
            const int64_t k0 = g128 ? g * 128 : 0, k1 = g128 ? k0 + 128 : k;
            for (int64_t kk = k0; kk < k1; kk++) set_code(w, r, kk, (int)irand(lo, hi));
        }
}

static void free_weight(w8host *w) { free(w->codes), free(w->s1), free(w->s2), free(w->z); }

static qblas_weight_t canonical(const w8host *w, const void *codes, const void *s1, const void *s2, const void *z)
{
    qblas_weight_t c = {0};
    c.format = QBLAS_WFORMAT_W4A8, c.layout = QBLAS_LAYOUT_CANONICAL, c.dtype = QBLAS_DTYPE_U4;
    c.n = w->n, c.k = w->k, c.data = codes, c.scales = s1, c.scale_dtype = QBLAS_DTYPE_F16, c.zeros = z;
    c.group_scales = w->g128 ? s2 : NULL;
    c.group_size = w->g128 ? 128 : 0;
    c.scale_mode = w->g128 ? QBLAS_SCALE_PER_GROUP : QBLAS_SCALE_PER_ROW;
    return c;
}

/* The weight on the device, prepacked into a guarded blob (guards checked). */
typedef struct {
    void *codes, *s1, *s2, *z;
    uint8_t *blob; /* guarded: GUARD bytes, then `bytes` */
    size_t bytes;
    qblas_weight_t canon, packed;
} w8dev;

static bool upload_and_pack(qblas_handle_t gh, const w8host *w, w8dev *d)
{
    const size_t gn = (size_t)(w->groups * w->n);
    memset(d, 0, sizeof *d);
    d->codes = dcopy(w->codes, (size_t)(w->n * w->k / 2));
    d->s1 = dcopy(w->s1, (size_t)w->n * 2);
    d->s2 = dcopy(w->s2, gn);
    d->z = dcopy(w->z, gn);
    d->canon = canonical(w, d->codes, d->s1, d->s2, d->z);
    qblas_status_t st = qblas_prepack_size(gh, &d->canon, &d->bytes);
    expect(st == QBLAS_STATUS_SUCCESS, "prepack_size: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    if (st) return false;
    d->blob = guarded(NULL, d->bytes);
    st = qblas_prepack(gh, &d->canon, d->blob + GUARD, d->bytes, &d->packed, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "prepack: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    CUDA_OK(cudaDeviceSynchronize());
    uint8_t *h = fetch(d->blob, d->bytes);
    expect(all_ff(h, GUARD) && all_ff(h + GUARD + d->bytes, GUARD), "prepack wrote outside dst");
    free(h);
    expect(st || d->packed.layout == (g_amd ? QBLAS_LAYOUT_HIP_W4A8 : QBLAS_LAYOUT_CUDA_W4A8), "packed layout %d", (int)d->packed.layout);
    return st == QBLAS_STATUS_SUCCESS;
}

static void free_dev(w8dev *d) { cudaFree(d->codes), cudaFree(d->s1), cudaFree(d->s2), cudaFree(d->z), cudaFree(d->blob); }

/* ---------------------------------------------------------------- GEMMs */
/* W4A8 GEMMs compare BIT FOR BIT, against the oracle and against the format
 * definition evaluated here: acc = sum_k x * w8 is an integer
 * (|acc| <= 128 * 128 * k < 2^31 for k <= 65536), exact on every side
 * whatever the order of the sums, the split-K partition or the widening
 * arithmetic; after it the definition is a fixed sequence of correctly
 * rounded fp32 operations, ((float)acc * sx) * s1, then + bias (only with a
 * bias), then one rounding to y's dtype: no freedom is left for any result
 * to differ. The kernels are deterministic (no atomics; split-K sums int32
 * partials in a fixed order, and integer sums are exact anyway). */
typedef struct {
    int64_t m, n, k, ldx, ldy;
    bool g128, wide, x_row, bias;
    qblas_dtype_t ydt;
} w8shape;

static float w8_expected(const w8shape *s, const w8host *w, const int8_t *x, const float *sx, const void *bias,
                         int64_t m, int64_t n)
{
    int64_t acc = 0;
    for (int64_t k = 0; k < s->k; k++) acc += (int64_t)x[m * s->ldx + k] * w8_of(w, n, k);
    float v = (float)(int32_t)acc;
    v = v * (s->x_row ? sx[m] : sx[0]);
    v = v * qb_f16_to_f32(w->s1[n]);
    if (bias) v = v + to_f32(s->ydt, bias, n);
    return round_to(s->ydt, v);
}

static void w4a8_case(qblas_handle_t gh, qblas_handle_t cpu, const w8shape *s)
{
    char what[160], kernel[QBLAS_KERNEL_NAME_MAX] = "";
    snprintf(what, sizeof what, "w4a8 %s%s m=%lld n=%lld k=%lld ldx=%lld sx:%s y%s%s%s",
             s->g128 ? "g128" : "perchannel", s->wide ? "(s2<=127)" : "", (long long)s->m, (long long)s->n,
             (long long)s->k, (long long)s->ldx, s->x_row ? "row" : "tensor", dn(s->ydt), s->bias ? " bias" : "",
             s->ldy > s->n ? " ldy+" : "");
    case_begin();
    const size_t ye = dsize(s->ydt), xn = (size_t)(s->m * s->ldx);
    const int64_t nsx = s->x_row ? s->m : 1, yelems = s->m * s->ldy;
    w8host w;
    make_weight(&w, s->n, s->k, s->g128, s->wide);
    int8_t *x = xmalloc(xn);
    float *sx = xmalloc((size_t)nsx * 4);
    void *bias = s->bias ? xmalloc((size_t)s->n * ye) : NULL;
    for (size_t i = 0; i < xn; i++) x[i] = (int8_t)rnd(); /* -128..127, the ldx gap too: it must never be read */
    fill_scales(sx, nsx);
    fill_bias(s->ydt, bias, s->n);
    qblas_act_t xa = {QBLAS_DTYPE_I8, x, s->ldx, s->x_row ? QBLAS_SCALE_PER_ROW : QBLAS_SCALE_PER_TENSOR, sx, NULL};

    /* the oracle, on the canonical host weight */
    qblas_weight_t cw = canonical(&w, w.codes, w.s1, w.s2, w.z);
    void *ycpu = xmalloc((size_t)yelems * ye), *ygpu = xmalloc((size_t)yelems * ye);
    const qblas_status_t st = run_oracle(cpu, s->m, s->n, s->k, &xa, &cw, bias, s->ydt, ycpu, s->ldy);

    /* the GPU: prepack, then the GEMM on device copies */
    w8dev d;
    qblas_act_t dx = xa;
    dx.data = dcopy(x, xn), dx.scales = dcopy(sx, (size_t)nsx * 4);
    void *bd = dcopy(bias, (size_t)s->n * ye);
    if (upload_and_pack(gh, &w, &d) && !st) {
        run_guarded(gh, s->m, s->n, s->k, &dx, &d.packed, bd, s->ydt, s->ldy, ygpu, kernel);
        char want_prefix[32];
        snprintf(want_prefix, sizeof want_prefix, "w4a8_%s_%s", s->g128 ? "g128" : "perchannel", arch_tag());
        expect(strncmp(kernel, want_prefix, strlen(want_prefix)) == 0, "kernel name '%s' is not %s*", kernel,
               want_prefix);
        note_kernel(kernel);
        for (int64_t m = 0; m < s->m && g_case_ok; m++)
            for (int64_t n = 0; n < s->n; n++) {
                const float want = w8_expected(s, &w, x, sx, bias, m, n);
                if (!expect_bits(s->ydt, ygpu, ycpu, m * s->ldy + n, want, m, n)) break;
            }
    }
    free_dev(&d);
    cudaFree((void *)dx.data), cudaFree((void *)dx.scales), cudaFree(bd);
    free_weight(&w), free(x), free(sx), free(bias), free(ycpu), free(ygpu);
    case_end(what, kernel);
}

static void w4a8_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    /* quick: one M per configuration (m16, m32, m64 up to 256, m128 beyond) */
    static const int64_t full_m[] = {1, 3, 16, 17, 64, 100, 256, 1000}, quick_m[] = {1, 17, 100, 300};
    static const int64_t ns[] = {1, 7, 128, 200, 513, 33, 256};
    static const int64_t kg[] = {128, 256, 1024, 384, 4096, 640, 2048};  /* g128: multiples of 128 */
    static const int64_t kc[] = {2, 64, 100, 1040, 4094, 18, 130, 4096}; /* per-channel: any even k */
    const int64_t *ms = g_quick ? quick_m : full_m;
    const int nm = g_quick ? 4 : 8, per_m = g_quick ? 4 : 8;
    const int64_t limit = g_quick ? 2000000 : 12000000;
    printf("W4A8 GEMMs vs the oracle and the definition (bit for bit):\n");
    int seq = 0;
    for (int mi = 0; mi < nm; mi++)
        for (int j = 0; j < per_m; j++, seq++) {
            w8shape s = {.m = ms[mi], .n = ns[(seq + mi) % 7]};
            s.g128 = seq % 2 == 0;
            s.k = s.g128 ? kg[(seq / 2) % 7] : kc[(seq / 2) % 8];
            /* keep the host references cheap: shrink n, then k (g128: whole groups; per-channel: stays even) */
            while (s.m * s.n * s.k > limit && s.n > 1) s.n = (s.n + 1) / 2;
            while (s.m * s.n * s.k > limit && s.k > 128) s.k = s.g128 ? (s.k / 256) * 128 : (s.k / 4) * 2;
            s.wide = s.g128 && (seq / 2) % 2 == 1;
            s.x_row = (seq / 3) % 2 == 0;
            s.bias = seq % 4 < 2;
            s.ydt = kY[seq % 3];
            s.ldx = (s.k + 15) / 16 * 16 + (seq % 5 == 1 ? 16 : seq % 5 == 3 ? 48 : 0);
            s.ldy = s.n + (seq % 2 ? 5 : 0);
            w4a8_case(gh, cpu, &s);
        }
    /* split-K on a larger decode shape (many k tiles, few n blocks), both variants */
    for (int v = 0; v < 2; v++) {
        w8shape s = {.m = g_quick ? 1 : 5, .n = 300, .k = 4096, .g128 = v == 0, .wide = v == 0, .x_row = true,
                     .bias = true, .ydt = QBLAS_DTYPE_BF16};
        s.ldx = s.k, s.ldy = s.n;
        w4a8_case(gh, cpu, &s);
    }
}

/* ---------------------------------------------------------------- bad inputs */
/* Prepack content violations: dst untouched and the device status
 * INVALID_VALUE, for each of the format's checks; the GEMM's requirements:
 * NOT_SUPPORTED with a reason and Y untouched. */
static void w4a8_error_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    printf("W4A8 bad inputs (status, nothing written):\n");
    const int64_t m = 4, n = 40, k = 256;
    const size_t ybytes = (size_t)(m * n) * 2;
    w8host w;
    make_weight(&w, n, k, true, false);
    w8dev d;
    case_begin();
    const bool packed = upload_and_pack(gh, &w, &d);
    int8_t *xh = xmalloc((size_t)(m * k) + 64);
    for (int64_t i = 0; i < m * k + 64; i++) xh[i] = (int8_t)rnd();
    const float sh[4] = {0.01f, 0.02f, 0.03f, 0.04f};
    int8_t *xd = dcopy(xh, (size_t)(m * k) + 64);
    float *sd = dcopy(sh, sizeof sh);
    uint8_t *y = dpoisoned(ybytes);
    qblas_act_t xa = {QBLAS_DTYPE_I8, xd, k, QBLAS_SCALE_PER_ROW, sd, NULL};
    qblas_kernel_info_t info;
    /* canonical weights: prepack first */
    EXPECT_STATUS(qblas_gemm_query(gh, m, n, k, &xa, &d.canon, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_NOT_SUPPORTED);
    expect(strstr(qblas_last_error(gh), "prepack") != NULL, "the reason does not say prepack: %s", qblas_last_error(gh));
    EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xa, &d.canon, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                  QBLAS_STATUS_NOT_SUPPORTED);
    if (packed) {
        /* X rows: pointer off 16 bytes, ldx not a multiple of 16 */
        qblas_act_t xp = xa, xl = xa;
        xp.data = xd + 1;
        xl.ld = k + 8;
        EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xp, &d.packed, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                      QBLAS_STATUS_NOT_SUPPORTED);
        EXPECT_STATUS(qblas_gemm(gh, m, n, k, &xl, &d.packed, NULL, QBLAS_DTYPE_F16, y, n, NULL, 0, NULL),
                      QBLAS_STATUS_NOT_SUPPORTED);
        /* a CUDA-packed weight on the CPU handle */
        EXPECT_STATUS(qblas_gemm_query(cpu, m, n, k, &xa, &d.packed, QBLAS_DTYPE_F16, &info),
                      QBLAS_STATUS_ARCH_MISMATCH);
    }
    CUDA_OK(cudaDeviceSynchronize());
    expect_untouched(y, ybytes, "Y");
    case_end("w4a8: canonical weight / X alignment / ldx / CPU handle", "");

    /* split-K needs its workspace: one byte short */
    case_begin();
    {
        w8host wl;
        w8dev dl;
        make_weight(&wl, 64, 8192, true, false);
        if (upload_and_pack(gh, &wl, &dl)) {
            qblas_act_t x1 = xa;
            x1.data = dalloc(8192), x1.ld = 8192;
            CUDA_OK(cudaMemset((void *)x1.data, 1, 8192));
            qblas_status_t st = qblas_gemm_query(gh, 1, 64, 8192, &x1, &dl.packed, QBLAS_DTYPE_F16, &info);
            expect(st == QBLAS_STATUS_SUCCESS, "gemm_query: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
            expect(st || strstr(info.kernel_name, "_splitk") != NULL, "m=1 n=64 k=8192 does not split k (%s)",
                   info.kernel_name);
            if (!st && info.workspace_bytes) {
                void *ws = dalloc(info.workspace_bytes);
                EXPECT_STATUS(qblas_gemm(gh, 1, 64, 8192, &x1, &dl.packed, NULL, QBLAS_DTYPE_F16, y, 64, ws,
                                         info.workspace_bytes - 1, NULL),
                              QBLAS_STATUS_INSUFFICIENT_WORKSPACE);
                cudaFree(ws);
            }
            cudaFree((void *)x1.data);
            CUDA_OK(cudaDeviceSynchronize());
            expect_untouched(y, ybytes, "Y");
        }
        free_dev(&dl);
        free_weight(&wl);
    }
    case_end("w4a8: split-K workspace one byte short", "");

    /* prepack content checks, one violation each, in a fresh copy of the valid weight */
    case_begin();
    {
        const size_t gn = (size_t)(w.groups * n);
        size_t bytes = 0;
        EXPECT_STATUS(qblas_prepack_size(gh, &d.canon, &bytes), QBLAS_STATUS_SUCCESS);
        uint8_t *dst = guarded(NULL, bytes);
        qblas_weight_t out;
        /* (group 1, row 7): s2 = 0; then z = 16; then s2 = 16, z = 0 with a code of 8: w8 = 128 */
        for (int bad = 0; bad < 3; bad++) {
            int8_t *s2 = xmalloc(gn);
            uint8_t *z = xmalloc(gn), *codes = xmalloc((size_t)(n * k / 2));
            memcpy(s2, w.s2, gn), memcpy(z, w.z, gn), memcpy(codes, w.codes, (size_t)(n * k / 2));
            const int64_t gi = 1 * n + 7;
            if (bad == 0) s2[gi] = 0;
            if (bad == 1) z[gi] = 16;
            if (bad == 2) {
                s2[gi] = 16, z[gi] = 0;
                for (int64_t kk = 128; kk < 256; kk++) codes[7 * (k / 2) + kk / 2] &= (uint8_t)(kk & 1 ? 0x0F : 0xF0);
                codes[7 * (k / 2) + 200 / 2] |= 8; /* code 8 at k = 200 (even: low nibble) */
            }
            void *s2d = dcopy(s2, gn), *zd = dcopy(z, gn), *cd = dcopy(codes, (size_t)(n * k / 2));
            qblas_weight_t c = canonical(&w, cd, d.s1, s2d, zd);
            static const char *const why[3] = {"group scale s2 < 1", "zero point z > 15", "(code - z) * s2 leaves int8"};
            EXPECT_STATUS(qblas_prepack(gh, &c, dst + GUARD, bytes, &out, NULL), QBLAS_STATUS_SUCCESS);
            char at[96]; /* (group 1, row 7) of [groups][n], and the check */
            snprintf(at, sizeof at, "element %lld of [groups][n]: %s", (long long)gi, why[bad]);
            expect_device_status(gh, QBLAS_STATUS_INVALID_VALUE, at);
            /* the oracle agrees (same checks, host side) */
            qblas_weight_t ch = canonical(&w, codes, w.s1, s2, z);
            qblas_act_t xh1 = {QBLAS_DTYPE_I8, xh, k, QBLAS_SCALE_PER_TENSOR, sh, NULL};
            EXPECT_STATUS(qblas_gemm_query(cpu, 1, n, k, &xh1, &ch, QBLAS_DTYPE_F16, &info), QBLAS_STATUS_INVALID_VALUE);
            cudaFree(s2d), cudaFree(zd), cudaFree(cd);
            free(s2), free(z), free(codes);
        }
        /* per-channel: z = 16 */
        w8host wp;
        make_weight(&wp, n, 18, false, false);
        wp.z[5] = 16;
        void *cd = dcopy(wp.codes, (size_t)(n * 9)), *s1d = dcopy(wp.s1, (size_t)n * 2), *zd = dcopy(wp.z, (size_t)n);
        qblas_weight_t c = canonical(&wp, cd, s1d, NULL, zd);
        EXPECT_STATUS(qblas_prepack(gh, &c, dst + GUARD, bytes, &out, NULL), QBLAS_STATUS_SUCCESS);
        expect_device_status(gh, QBLAS_STATUS_INVALID_VALUE, "element 5 of [groups][n]: zero point z > 15");
        cudaFree(cd), cudaFree(s1d), cudaFree(zd);
        free_weight(&wp);
        expect_untouched(dst, bytes + 2 * GUARD, "prepack dst");
        cudaFree(dst);
    }
    case_end("w4a8 prepack: s2 < 1 / z > 15 / w8 outside int8 / per-channel z > 15 (device status)", "");
    free_dev(&d);
    free_weight(&w);
    free(xh);
    cudaFree(xd), cudaFree(sd), cudaFree(y);
}

void qbg_w4a8(qblas_handle_t gh, qblas_handle_t cpu)
{
    w4a8_cases(gh, cpu);
    w4a8_error_cases(gh, cpu);
}
