/* amd_kernels.cc - the AMD MFMA GEMM kernels (src/hip/hip_gemm*.hip) on the
 * simulated gfx90a / gfx942, called through their launchers with operands
 * laid out by hand (the packed u4 layout from hip_layout.h, which
 * tests/test_hip_layout.c checks against AMD's documents), against a naive
 * reference on the host. This is the kernels' own check, below the library:
 * the harness (tests/gpu) checks the HIP backend end to end against the CPU
 * oracle.
 *
 * Run once per target (ctest amd_kernels_gfx90a / _gfx942: QBLAS_SIM_ARCH).
 * Every output starts poisoned (0xFF: NaN in f32/f16/bf16) and sits between
 * guard bands; integer paths must match bit for bit (exact sums, the
 * epilogue's operations in the oracle's order), float paths within the
 * fp32-accumulation bound below. */
extern "C" {
#include "qb_test.h"
}

#include <math.h>
#include <string.h>

#include <vector>

#include "cuda_runtime_api.h"
#include "cuda/kernels_fp8.h"
#include "hip/hip_kernels.h"
#include "hip/hip_layout.h"

/* the launchers of both targets (hip_names.h: qb_hip_<target>_<name>) */
#define QB_AMD_DECL(tgt)                                                                                      \
    extern "C" int qb_hip_##tgt##_int8(int shape, const qb_int8_kparams *p, void *stream);                  \
    extern "C" int qb_hip_##tgt##_w4a16(int shape, int act, const qb_w4a16_kparams *p, void *stream);       \
    extern "C" int qb_hip_##tgt##_fp8(int shape, const qb_fp8_kparams *p, void *stream);
QB_AMD_DECL(gfx90a)
QB_AMD_DECL(gfx942)

namespace {

bool is942() { const char *a = getenv("QBLAS_SIM_ARCH"); return a && strcmp(a, "gfx942") == 0; }

constexpr size_t kGuard = 256;

/* A device buffer between two guard bands of 0xA5. */
struct Dev {
    uint8_t *base = nullptr;
    size_t n = 0;
    explicit Dev(size_t bytes, const void *src = nullptr, int fill = 0xFF) : n(bytes)
    {
        ck_assert_int_eq(cudaMalloc((void **)&base, n + 2 * kGuard), cudaSuccess);
        std::vector<uint8_t> h(n + 2 * kGuard, 0xA5);
        if (src) memcpy(h.data() + kGuard, src, n);
        else memset(h.data() + kGuard, fill, n);
        ck_assert_int_eq(cudaMemcpy(base, h.data(), h.size(), cudaMemcpyHostToDevice), cudaSuccess);
    }
    ~Dev() { cudaFree(base); }
    void *p() const { return base + kGuard; }
    std::vector<uint8_t> get() const
    {
        std::vector<uint8_t> h(n + 2 * kGuard);
        ck_assert_int_eq(cudaMemcpy(h.data(), base, h.size(), cudaMemcpyDeviceToHost), cudaSuccess);
        for (size_t i = 0; i < kGuard; ++i)
            ck_assert_msg(h[i] == 0xA5 && h[kGuard + n + i] == 0xA5, "write outside the output (guard byte %zu)", i);
        return std::vector<uint8_t>(h.begin() + kGuard, h.begin() + kGuard + n);
    }
};

void run(int e)
{
    ck_assert_msg(e == 0, "launch: %s", cudaGetErrorString((cudaError_t)e));
    const cudaError_t s = cudaDeviceSynchronize();
    ck_assert_msg(s == cudaSuccess, "kernel: %s", cudaGetErrorString(s));
}

float f32_at(const std::vector<uint8_t> &v, size_t i)
{
    float f;
    memcpy(&f, v.data() + 4 * i, 4);
    return f;
}

struct Shape3 { int m, n, k; };
/* round and odd: tails of every block dimension, one and several k stages */
const Shape3 kShapes[] = {{1, 128, 64}, {5, 130, 48}, {17, 200, 144}, {64, 256, 128}, {70, 136, 80}, {130, 40, 272}};

/* ---- INT8: exact ---- */
void int8_case(int shape, Shape3 s, bool zp, int y_dtype, uint64_t stream)
{
    qbt_rng r = qbt_rng_make(stream);
    std::vector<int8_t> x((size_t)s.m * s.k), w((size_t)s.n * s.k);
    for (auto &v : x) v = (int8_t)qbt_int(&r, -128, 127);
    for (auto &v : w) v = (int8_t)qbt_int(&r, -128, 127);
    std::vector<float> sx(s.m), sw(s.n);
    for (auto &v : sx) v = (float)qbt_uniform(&r, 0.001, 0.02);
    for (auto &v : sw) v = (float)qbt_uniform(&r, 0.001, 0.02);
    std::vector<int32_t> zx(s.m), colsum(s.n, 0);
    for (auto &v : zx) v = (int32_t)qbt_int(&r, -20, 20);
    for (int n = 0; n < s.n; ++n)
        for (int k = 0; k < s.k; ++k) colsum[n] += w[(size_t)n * s.k + k];
    const size_t ys = y_dtype == QBLAS_DTYPE_F32 ? 4 : 2;
    Dev dx(x.size(), x.data()), dw(w.size(), w.data()), dsx(4 * sx.size(), sx.data()), dsw(4 * sw.size(), sw.data()),
        dzx(4 * zx.size(), zx.data()), dcs(4 * colsum.size(), colsum.data()), dy((size_t)s.m * s.n * ys);
    qb_int8_kparams p = {};
    p.x = (const int8_t *)dx.p(), p.ldx = s.k, p.w = (const int8_t *)dw.p();
    p.sx = (const float *)dsx.p(), p.sw = (const float *)dsw.p(), p.sx_per_row = 1, p.sw_per_row = 1;
    p.zx = zp ? (const int32_t *)dzx.p() : nullptr, p.colsum = zp ? (const int32_t *)dcs.p() : nullptr;
    p.m = s.m, p.n = s.n, p.k = s.k, p.y = dy.p(), p.ldy = s.n, p.y_dtype = y_dtype;
    run(is942() ? qb_hip_gfx942_int8(shape, &p, nullptr) : qb_hip_gfx90a_int8(shape, &p, nullptr));
    const std::vector<uint8_t> y = dy.get();
    for (int m = 0; m < s.m; ++m)
        for (int n = 0; n < s.n; ++n) {
            int32_t acc = 0;
            for (int k = 0; k < s.k; ++k) acc += (int32_t)x[(size_t)m * s.k + k] * w[(size_t)n * s.k + k];
            if (zp) acc = (int32_t)((uint32_t)acc - (uint32_t)zx[m] * (uint32_t)colsum[n]);
            const float want = ((float)acc * sx[m]) * sw[n];
            const size_t i = (size_t)m * s.n + n;
            uint32_t got_bits, want_bits;
            if (ys == 4) {
                got_bits = qb_f32_bits(f32_at(y, i)), want_bits = qb_f32_bits(want);
            } else {
                uint16_t g;
                memcpy(&g, y.data() + 2 * i, 2);
                got_bits = g;
                want_bits = y_dtype == QBLAS_DTYPE_F16 ? qb_f32_to_f16(want) : qb_f32_to_bf16(want);
            }
            ck_assert_msg(got_bits == want_bits, "INT8 shape %d m%d n%d k%d%s: y[%d][%d] = 0x%x, want 0x%x (seed %llu)",
                          shape, s.m, s.n, s.k, zp ? " zp" : "", m, n, got_bits, want_bits,
                          (unsigned long long)qbt_seed);
        }
}

START_TEST(int8_exact)
{
    for (int shape = 0; shape < QB_HIP_SHAPES; ++shape)
        for (size_t i = 0; i < sizeof kShapes / sizeof kShapes[0]; ++i)
            int8_case(shape, kShapes[i], i % 2 == 1, i % 3 == 0 ? QBLAS_DTYPE_F32 : i % 3 == 1 ? QBLAS_DTYPE_F16 : QBLAS_DTYPE_BF16,
                      100 * shape + i);
}
END_TEST

/* ---- W4A16: u4 codes packed by hip_layout.h, fp32 accumulation ----
 * Each weight (code - z) * s rounded to the activation dtype is exact in
 * fp32, as is each product; the kernel adds them in fp32 (the MFMA's and its
 * own stage additions), so |y - exact| <= k * 2^-23 * sum |x w| (a
 * generous bound on k roundings of partial sums each within sum |x w|). */
void w4a16_case(int shape, Shape3 s, int group, bool zp, bool bf16, uint64_t stream)
{
    qbt_rng r = qbt_rng_make(stream);
    const int np = (s.n + QB_HIP_NP_ALIGN - 1) / QB_HIP_NP_ALIGN * QB_HIP_NP_ALIGN, kt = (s.k + 63) / 64;
    const int groups = group ? s.k / group : 1, gshift = group ? __builtin_ctz(group) : 30;
    std::vector<uint8_t> code((size_t)s.n * s.k), zero((size_t)groups * np, 8);
    std::vector<uint16_t> x((size_t)s.m * s.k), scale((size_t)groups * np, 0);
    for (auto &v : code) v = (uint8_t)qbt_int(&r, 0, 15);
    for (auto &v : x) v = bf16 ? qb_f32_to_bf16((float)qbt_uniform(&r, -1, 1)) : qb_f32_to_f16((float)qbt_uniform(&r, -1, 1));
    for (int g = 0; g < groups; ++g)
        for (int n = 0; n < s.n; ++n) {
            scale[(size_t)g * np + n] = qb_f32_to_f16((float)qbt_uniform(&r, 0.005, 0.05));
            if (zp) zero[(size_t)g * np + n] = (uint8_t)qbt_int(&r, 0, 15);
        }
    std::vector<uint8_t> packed((size_t)np / 32 * kt * QB_HIP_U4_CHUNK, 0);
    for (int n = 0; n < s.n; ++n)
        for (int k = 0; k < s.k; ++k)
            packed[qb_amd_u4_byte(n, k, kt)] |= (uint8_t)(code[(size_t)n * s.k + k] << qb_amd_u4_shift(k));
    Dev dx(2 * x.size(), x.data()), dc(packed.size(), packed.data()), ds(2 * scale.size(), scale.data()),
        dz(zero.size(), zero.data()), dy((size_t)s.m * s.n * 4);
    qb_w4a16_kparams p = {};
    p.x = dx.p(), p.ldx = s.k, p.codes = dc.p(), p.scales = ds.p(), p.zeros = zp ? (const uint8_t *)dz.p() : nullptr;
    p.scale_dtype = QBLAS_DTYPE_F16, p.m = s.m, p.n = s.n, p.k = s.k, p.np = np, p.kt_total = kt;
    p.group_shift = gshift, p.tiles_per_split = kt, p.splits = 1;
    p.y = dy.p(), p.ldy = s.n, p.y_dtype = QBLAS_DTYPE_F32;
    const int act = bf16 ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16;
    run(is942() ? qb_hip_gfx942_w4a16(shape, act, &p, nullptr) : qb_hip_gfx90a_w4a16(shape, act, &p, nullptr));
    const std::vector<uint8_t> y = dy.get();
    for (int m = 0; m < s.m; ++m)
        for (int n = 0; n < s.n; ++n) {
            double exact = 0, mag = 0;
            for (int k = 0; k < s.k; ++k) {
                const size_t gi = (size_t)(group ? k / group : 0) * np + n;
                const float wf = (float)((int)code[(size_t)n * s.k + k] - (int)zero[gi]) * qb_f16_to_f32(scale[gi]);
                const float wq = bf16 ? qb_bf16_to_f32(qb_f32_to_bf16(wf)) : qb_f16_to_f32(qb_f32_to_f16(wf));
                const uint16_t xv = x[(size_t)m * s.k + k];
                const double xf = bf16 ? qb_bf16_to_f32(xv) : qb_f16_to_f32(xv);
                exact += xf * wq, mag += fabs(xf * wq);
            }
            const double got = f32_at(y, (size_t)m * s.n + n), tol = s.k * ldexp(1.0, -23) * mag + 1e-30;
            ck_assert_msg(fabs(got - exact) <= tol, "W4A16 %s shape %d m%d n%d k%d g%d%s: y[%d][%d] = %.9g, want %.9g +- %.3g (seed %llu)",
                          bf16 ? "bf16" : "f16", shape, s.m, s.n, s.k, group, zp ? " zp" : "", m, n, got, exact, tol,
                          (unsigned long long)qbt_seed);
        }
}

START_TEST(w4a16_close)
{
    for (int shape = 0; shape < QB_HIP_SHAPES; ++shape)
        for (size_t i = 0; i < sizeof kShapes / sizeof kShapes[0]; ++i) {
            const Shape3 s = kShapes[i];
            const int group = s.k % 32 == 0 && i % 2 ? 32 : s.k % 16 == 0 && i % 3 == 2 ? 16 : 0;
            w4a16_case(shape, s, group, i % 2 == 0, (i + shape) % 2 == 1, 200 * shape + i);
        }
}
END_TEST

/* ---- FP8 (gfx942): OCP codes read as FNUZ by the MFMA, weights converted
 * as the prepack does (qb_amd_fp8x4_to_fnuz, the layout's definition); the
 * kernel doubles its sums once per OCP operand. Products are exact in fp32;
 * the same fp32 accumulation bound as W4A16, times the scales. gfx90a has
 * no fp8 MFMA: its launcher refuses. */
void fp8_case(int shape, Shape3 s, bool x5, bool w5, uint64_t stream)
{
    qbt_rng r = qbt_rng_make(stream);
    std::vector<uint8_t> x((size_t)s.m * s.k), w((size_t)s.n * s.k), wf(w.size());
    const qb_fp8_fmt fx = x5 ? QB_FP8_E5M2 : QB_FP8_E4M3, fw = w5 ? QB_FP8_E5M2 : QB_FP8_E4M3;
    for (auto &v : x) v = qb_fp8_encode((float)qbt_uniform(&r, -4, 4), fx);
    for (auto &v : w) v = qb_fp8_encode((float)qbt_uniform(&r, -4, 4), fw);
    for (size_t i = 0; i < w.size(); i += 4) {
        uint32_t q;
        memcpy(&q, &w[i], 4);
        q = qb_amd_fp8x4_to_fnuz(q, w5);
        memcpy(&wf[i], &q, 4);
    }
    std::vector<float> sx(s.m), sw(s.n);
    for (auto &v : sx) v = (float)qbt_uniform(&r, 0.5, 2);
    for (auto &v : sw) v = (float)qbt_uniform(&r, 0.5, 2);
    Dev dx(x.size(), x.data()), dw(wf.size(), wf.data()), dsx(4 * sx.size(), sx.data()), dsw(4 * sw.size(), sw.data()),
        dy((size_t)s.m * s.n * 4);
    qb_fp8_kparams p = {};
    p.x = (const uint8_t *)dx.p(), p.ldx = s.k, p.w = (const uint8_t *)dw.p();
    p.x_dtype = x5 ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3, p.w_dtype = w5 ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3;
    p.scales = QB_FP8_SCALES_OUTER, p.sx = (const float *)dsx.p(), p.sw = (const float *)dsw.p();
    p.sx_per_row = 1, p.sw_per_row = 1, p.m = s.m, p.n = s.n, p.k = s.k, p.kb = (s.k + 127) / 128;
    p.y = dy.p(), p.ldy = s.n, p.y_dtype = QBLAS_DTYPE_F32, p.splits = 1;
    if (!is942()) {
        ck_assert_int_eq(qb_hip_gfx90a_fp8(shape, &p, nullptr), cudaErrorInvalidValue);
        return;
    }
    run(qb_hip_gfx942_fp8(shape, &p, nullptr));
    const std::vector<uint8_t> y = dy.get();
    for (int m = 0; m < s.m; ++m)
        for (int n = 0; n < s.n; ++n) {
            double exact = 0, mag = 0;
            for (int k = 0; k < s.k; ++k) {
                const double t = (double)qb_fp8_decode(x[(size_t)m * s.k + k], fx) * qb_fp8_decode(w[(size_t)n * s.k + k], fw);
                exact += t, mag += fabs(t);
            }
            const double sc = (double)sx[m] * sw[n];
            const double got = f32_at(y, (size_t)m * s.n + n), tol = (s.k * ldexp(1.0, -23) * mag + 1e-30) * sc * 2;
            ck_assert_msg(fabs(got - exact * sc) <= tol, "FP8 %s x %s shape %d m%d n%d k%d: y[%d][%d] = %.9g, want %.9g +- %.3g (seed %llu)",
                          x5 ? "e5m2" : "e4m3", w5 ? "e5m2" : "e4m3", shape, s.m, s.n, s.k, m, n, got, exact * sc, tol,
                          (unsigned long long)qbt_seed);
        }
}

START_TEST(fp8_close)
{
    for (int shape = 0; shape < QB_HIP_SHAPES; ++shape)
        for (size_t i = 0; i < sizeof kShapes / sizeof kShapes[0]; ++i)
            fp8_case(shape, kShapes[i], (i + shape) % 2 == 1, i % 3 == 1, 300 * shape + i);
}
END_TEST

} // namespace

extern "C" Suite *qbt_suite(void)
{
    Suite *s = suite_create("amd_kernels");
    TCase *tc = tcase_create("gemm");
    tcase_set_timeout(tc, 0);
    tcase_add_test(tc, int8_exact);
    tcase_add_test(tc, w4a16_close);
    tcase_add_test(tc, fp8_close);
    suite_add_tcase(s, tc);
    return s;
}
