/* ops_qact.c - activation quantization on the GPU against the oracle.
 *
 * Activation quantization (qblas_quantize_act): every q dtype and scale
 * mode, X in f32/f16/bf16, odd and round m and k (a long-row path past
 * k = 16384 included), ldx/ldq gaps; codes, scales and zero points equal to
 * the oracle's bit for bit; the ldq gap and guard bands stay poisoned; rows
 * all zero, all positive/negative, with +-inf/+-NaN, subnormal and near
 * FLT_MAX. Bad static scales (a device check, docs/API.md): the call
 * succeeds, q stays untouched, qblas_device_status reports INVALID_VALUE
 * with the scale; a valid scale then works.
 */
#include "gpu_harness.h"
#include "../qb_test_qact.h" /* the variants, shared with the CPU test */

/* ---------------------------------------------------------------- activation quantization */
/* qblas_quantize_act on the GPU against the CPU oracle: codes, scales and
 * zero points must match bit for bit (both backends evaluate the same
 * functions of src/common/qblas_quant_math.h on the same exact f32 values,
 * over ranges that no reduction order changes). Outputs are poisoned; the
 * q gap between k and ldq and guard bands around q, scales and zeros must
 * stay poisoned. */

typedef struct {
    int64_t m, k, ldx, ldq;
    int x_off; /* elements X starts past an allocation: scalar alignment only */
    qblas_dtype_t xdt;
} qshape;

/* One row of X. kind: 0 all zero; 1 random with +-inf and +-NaN sprinkled;
 * 2 all positive; 3 all negative; 4 tiny (subnormal range of the dtype:
 * scales underflow to 0 and become 1); 5 huge (f32: hi - lo overflows);
 * otherwise random with a random binade. */
static void fill_row(qblas_dtype_t t, void *x, int64_t off, int64_t k, int kind)
{
    const int emax = t == QBLAS_DTYPE_F16 ? 14 : 120;
    const float tiny = t == QBLAS_DTYPE_F16 ? 0x1p-20f : 0x1p-135f;
    const float huge = t == QBLAS_DTYPE_F16 ? 60000.0f : 3e38f;
    const float mag = ldexpf(1.0f, (int)irand(-emax / 2, emax / 2));
    for (int64_t i = 0; i < k; i++) {
        float v = (float)uni(-1.0, 1.0) * mag;
        switch (kind) {
        case 0: v = (rnd() & 1) ? 0.0f : -0.0f; break;
        case 1:
            if (rnd() % 8 == 0) {
                static const uint32_t special[4] = {0x7F800000u, 0xFF800000u, 0x7FC00000u, 0xFFC00000u};
                v = qb_bits_f32(special[rnd() % 4]); /* +inf, -inf, NaN, -NaN */
            }
            break;
        case 2: v = fabsf(v) + mag / 64; break;
        case 3: v = -fabsf(v) - mag / 64; break;
        case 4: v = (float)uni(-1.0, 1.0) * tiny; break;
        case 5: v = (float)uni(-1.0, 1.0) * huge; break;
        default: break;
        }
        from_f32(t, x, off + i, v);
    }
}


/* A static scale near amax / qmax of the whole input: some codes saturate. */
static float static_scale_for(const qbt_qact_variant *v, const qshape *s, const void *x)
{
    double amax = 0;
    for (int64_t r = 0; r < s->m; r++)
        for (int64_t i = 0; i < s->k; i++) {
            double a = fabs(to_f32(s->xdt, x, s->x_off + r * s->ldx + i));
            if (isfinite(a) && a > amax) amax = a;
        }
    const double qmax = v->qt == QBLAS_DTYPE_I8     ? 127
                        : v->qt == QBLAS_DTYPE_E5M2 ? 57344
                        : v->qt == QBLAS_DTYPE_E4M3 ? 448
                                                     : 240;
    float sc = (float)(amax / qmax * uni(0.5, 2.0));
    return sc > 0 && isfinite(sc) ? sc : 1.0f;
}

static void qact_case(qblas_handle_t gh, qblas_handle_t cpu, const qbt_qact_variant *v, const qshape *s, int seq)
{
    char what[160];
    snprintf(what, sizeof what, "quant %s%s %s x %s m%lld k%lld ldx%lld ldq%lld%s", dn(v->qt), v->asym ? " asym" : "",
             v->mode == QBLAS_SCALE_PER_TENSOR ? "tensor" : v->mode == QBLAS_SCALE_PER_ROW ? "row" : "block128",
             dn(s->xdt), (long long)s->m, (long long)s->k, (long long)s->ldx, (long long)s->ldq, s->x_off ? " +1" : "");
    case_begin();
    const size_t xe = dsize(s->xdt), xn = (size_t)(s->m * s->ldx + s->x_off);
    const int64_t nkb = (s->k + 127) / 128;
    const int64_t ns = v->mode == QBLAS_SCALE_PER_TENSOR ? 1 : v->mode == QBLAS_SCALE_PER_ROW ? s->m : s->m * nkb;
    const size_t qbytes = (size_t)(s->m * s->ldq), sbytes = (size_t)ns * 4, zbytes = v->asym ? (size_t)s->m * 4 : 0;
    uint8_t *x = xmalloc(xn * xe);
    for (size_t i = 0; i < xn; i++) from_f32(s->xdt, x, (int64_t)i, 60000.0f); /* gaps: would dominate any range read */
    for (int64_t r = 0; r < s->m; r++) fill_row(s->xdt, x, s->x_off + r * s->ldx, s->k, (int)((r + seq) % 9));

    /* the oracle */
    uint8_t *qc = xmalloc(qbytes);
    float *sc = xmalloc(sbytes);
    int32_t *zc = xmalloc(zbytes);
    memset(qc, 0xFF, qbytes), memset(sc, 0xFF, sbytes), memset(zc, 0xFF, zbytes);
    if (v->mode == QBLAS_SCALE_PER_TENSOR) sc[0] = static_scale_for(v, s, x);
    const float static_scale = sc[0];
    qblas_status_t st = qblas_quantize_act(cpu, s->m, s->k, s->xdt, x + s->x_off * xe, s->ldx, v->qt, qc, s->ldq,
                                           v->mode, sc, v->asym ? zc : NULL, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "oracle: %s (%s)", qblas_status_string(st), qblas_last_error(cpu));

    /* the GPU, into poisoned, guarded buffers */
    uint8_t *xd = dcopy(x, xn * xe);
    uint8_t *qd = guarded(NULL, qbytes), *sd = guarded(v->mode == QBLAS_SCALE_PER_TENSOR ? sc : NULL, sbytes);
    uint8_t *zd = guarded(NULL, zbytes);
    st = qblas_quantize_act(gh, s->m, s->k, s->xdt, xd + s->x_off * xe, s->ldx, v->qt, qd + GUARD, s->ldq, v->mode,
                            (float *)(sd + GUARD), v->asym ? (int32_t *)(zd + GUARD) : NULL, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "gpu: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    CUDA_OK(cudaDeviceSynchronize());
    char kernel[QBLAS_KERNEL_NAME_MAX] = "", want[QBLAS_KERNEL_NAME_MAX];
    snprintf(want, sizeof want, "quant_%s%s_%s_%s", dn(v->qt), v->asym ? "asym" : "",
             v->mode == QBLAS_SCALE_PER_TENSOR ? "tensor" : v->mode == QBLAS_SCALE_PER_ROW ? "row" : "block128",
             g_amd ? g_gfx : "sm80");
    expect(qblas_last_kernel(gh, kernel, sizeof kernel) == QBLAS_STATUS_SUCCESS && strcmp(kernel, want) == 0,
           "kernel name '%s', want '%s'", kernel, want);

    uint8_t *qh = fetch(qd, qbytes), *sh = fetch(sd, sbytes), *zh = fetch(zd, zbytes);
    expect_ff(qh, GUARD, "q's front guard"), expect_ff(qh + GUARD + qbytes, GUARD, "q's back guard");
    expect_ff(sh, GUARD, "scales' front guard"), expect_ff(sh + GUARD + sbytes, GUARD, "scales' back guard");
    expect_ff(zh, GUARD, "zeros' front guard"), expect_ff(zh + GUARD + zbytes, GUARD, "zeros' back guard");
    for (int64_t r = 0; r < s->m; r++) {
        const uint8_t *g = qh + GUARD + r * s->ldq, *c = qc + r * s->ldq;
        for (int64_t i = 0; i < s->k; i++)
            if (g[i] != c[i]) {
                expect(false, "q[%lld][%lld]: gpu 0x%02x, oracle 0x%02x (x = %.9g)", (long long)r, (long long)i, g[i],
                       c[i], to_f32(s->xdt, x, s->x_off + r * s->ldx + i));
                break;
            }
        if (!all_ff(g + s->k, (size_t)(s->ldq - s->k))) expect(false, "row %lld: a write between k and ldq", (long long)r);
    }
    if (v->mode == QBLAS_SCALE_PER_TENSOR)
        expect(memcmp(sh + GUARD, &static_scale, 4) == 0, "the static scale was written");
    for (int64_t i = 0; i < ns && v->mode != QBLAS_SCALE_PER_TENSOR; i++) {
        float g;
        memcpy(&g, sh + GUARD + 4 * i, 4);
        if (memcmp(&g, &sc[i], 4) != 0) expect(false, "scale[%lld]: gpu %.9g, oracle %.9g", (long long)i, g, sc[i]);
    }
    for (int64_t r = 0; v->asym && r < s->m; r++) {
        int32_t g;
        memcpy(&g, zh + GUARD + 4 * r, 4);
        if (g != zc[r]) expect(false, "zero[%lld]: gpu %d, oracle %d", (long long)r, g, zc[r]);
    }
    case_end(what, kernel);
    free(x), free(qc), free(sc), free(zc), free(qh), free(sh), free(zh);
    cudaFree(xd), cudaFree(qd), cudaFree(sd), cudaFree(zd);
}

static void qact_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    static const int64_t full_m[] = {1, 3, 17, 1000}, full_k[] = {1, 127, 128, 129, 300, 4096, 14336, 20000};
    static const int64_t quick_m[] = {1, 17}, quick_k[] = {1, 129, 300};
    const int64_t *ms = g_quick ? quick_m : full_m, *ks = g_quick ? quick_k : full_k;
    const int nm = g_quick ? 2 : 4, nk = g_quick ? 3 : 8;
    printf("activation quantization vs the oracle (bit for bit):\n");
    int seq = 0;
    for (int vi = 0; vi < QBT_N_QACT_VARIANTS; vi++)
        for (int xi = 0; xi < 3; xi++)
            for (int mi = 0; mi < nm; mi++)
                for (int ki = 0; ki < nk; ki++, seq++) {
                    qshape s = {ms[mi], ks[ki], 0, 0, seq % 4 == 3, qbt_qact_inputs[xi]};
                    /* the largest inputs (m1000 at k >= 4096) for a third of the variants */
                    if (s.m * s.k > (1 << 22) && (vi + xi) % 3 != 0) continue;
                    s.ldx = s.k + (seq % 3 == 0 ? 0 : seq % 3 == 1 ? 5 : 128);
                    s.ldq = s.k + (seq % 2 ? 3 : 0);
                    qact_case(gh, cpu, &qbt_qact_variants[vi], &s, seq);
                }
}

/* A static scale that is not finite and > 0: the call succeeds, q stays
 * untouched, the device status says INVALID_VALUE; then a valid scale
 * writes q. */
static void qact_error_cases(qblas_handle_t gh)
{
    printf("activation quantization bad static scales (device status, nothing written):\n");
    static const float bad[] = {0.0f, -0.0f, -1.0f, NAN, INFINITY};
    const int64_t m = 3, k = 129, ldq = 131;
    uint16_t *x = xmalloc((size_t)(m * k) * 2);
    for (int64_t i = 0; i < m * k; i++) x[i] = qb_f32_to_f16((float)uni(-4, 4));
    uint8_t *xd = dcopy(x, (size_t)(m * k) * 2), *qd = guarded(NULL, (size_t)(m * ldq));
    for (int q = 0; q < 2; q++)
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            char what[96];
            const qblas_dtype_t qdt = q ? QBLAS_DTYPE_E4M3 : QBLAS_DTYPE_I8;
            snprintf(what, sizeof what, "quant %s tensor: static scale %g", dn(qdt), (double)bad[b]);
            case_begin();
            float *sd = dcopy(&bad[b], 4);
            EXPECT_STATUS(qblas_quantize_act(gh, m, k, QBLAS_DTYPE_F16, xd, k, qdt, qd + GUARD, ldq,
                                             QBLAS_SCALE_PER_TENSOR, sd, NULL, NULL),
                          QBLAS_STATUS_SUCCESS);
            char reason[64];
            snprintf(reason, sizeof reason, "static activation scale %g ", (double)bad[b]);
            expect_device_status(gh, QBLAS_STATUS_INVALID_VALUE, reason);
            expect_untouched(qd, (size_t)(m * ldq) + 2 * GUARD, "q");
            cudaFree(sd);
            case_end(what, "");
        }
    case_begin();
    const float good = 0.03f;
    float *sd = dcopy(&good, 4);
    EXPECT_STATUS(qblas_quantize_act(gh, m, k, QBLAS_DTYPE_F16, xd, k, QBLAS_DTYPE_I8, qd + GUARD, ldq,
                                     QBLAS_SCALE_PER_TENSOR, sd, NULL, NULL),
                  QBLAS_STATUS_SUCCESS);
    expect_device_status(gh, QBLAS_STATUS_SUCCESS, NULL);
    expect(!dev_all_ff(qd + GUARD, (size_t)(m * ldq)), "a valid static scale after the bad ones: q not written");
    cudaFree(sd);
    case_end("quant i8 tensor: a valid static scale afterwards -> written", "");
    free(x);
    cudaFree(xd), cudaFree(qd);
}

void qbg_qact(qblas_handle_t gh, qblas_handle_t cpu)
{
    qact_cases(gh, cpu);
    qact_error_cases(gh);
}
