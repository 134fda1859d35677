/* conformance.cu - the instruction twins (src/sim/twins) held to the real
 * instructions. Every inline-PTX wrapper of src/cuda/cuda_ptx.cuh, and the
 * CUDA intrinsics the kernels use that have twins, runs in a small kernel on
 * many random inputs (special values included); each lane's outputs come
 * back, the twin computes them on the host from the same inputs, and the two
 * are compared bit for bit. One line per instruction: "N inputs, M
 * mismatches", then the first mismatches with unit, lane, register and the
 * lane's input words, so the first GPU session can fix the twins from the log.
 *
 *   real CUDA build (label gpu):  the hardware against the twins; exit 77
 *                                  (skipped) without a usable GPU
 *   simulator build (label sim):  the simulator's side of each wrapper
 *                                  (src/sim/ptx_exec.cc: lane gathering and
 *                                  scattering, shared-memory addresses,
 *                                  asynchronous completion) against the twins
 *                                  called directly, once per QBLAS_SIM_ARCH
 *
 * Architecture groups: sm_80 everywhere; sm_89 (fp8 mma / mma.sp, cvt from
 * e4m3x2) from compute capability 8.9; sm_90 (mbarrier parity waits, TMA)
 * from 9.0; sm_90a (wgmma) on 9.0 only. The wrappers trap elsewhere, so a
 * group the device lacks is not run; the program says which and why.
 *
 * Documented exceptions (docs/SIM.md, "What the twins cannot know"):
 *  - NaN bits. The ISA leaves the NaN an instruction produces unspecified
 *    (f16/bf16/f32 arithmetic, cvt, mma accumulators), and the twins return
 *    the canonical NaN: there only NaN-ness is compared. Each line counts the
 *    NaNs whose bits differ, with an example, so the log shows the hardware's
 *    pattern.
 *  - Floating-point accumulation in mma, mma.sp and wgmma: compared with the
 *    bound below, and an exact-input subset (one unit in three: small
 *    integers times a power of two) compared bit for bit.
 *
 * Accumulation bound. D = C + sum of n - 1 products (n terms). The products
 * are exact (the operands drawn here keep them inside fp32's range); what
 * the ISA leaves open is how the terms are added (Fasi, Higham, Mikaitis, Pranesh, "Numerical behavior of
 * NVIDIA tensor cores", PeerJ CS 2021: the terms of one step are aligned to
 * the largest exponent among them and truncated to p significand bits, then
 * the sum normalized, again by truncation; DeepSeek-V3 technical report 3.3.2:
 * Hopper's fp8 path keeps about 14 bits). One step with g new terms errs by
 * less than one unit in the p-th place of its largest term per aligned term
 * and one more for the normalization: (g + 1) * 2^(1-p) * max|term|. Every
 * term and partial sum is at most S = |C| + sum |a_k b_k| in magnitude (to
 * first order), and the steps add the n terms once each, so over all steps
 * sum (g + 1) <= 2n and
 *     |hw - exact| <= 2n * 2^(1-p) * S.
 * The twin rounds the exact sum once: |twin - exact| <= 2^-24 |twin|. So
 *     |hw - twin| <= 2n * 2^(1-p) * S * (1 + 2^-20) + 2^-24 |twin| + FLT_MIN
 * (FLT_MIN: an fp32 subnormal result may be flushed), with p = 23 for
 * f16/bf16 (fp32 accumulation keeps at least 24 bits; one of margin) and
 * p = 13 for fp8 (14 measured; one of margin). The ISA also leaves open how
 * subnormal inputs are treated; a result that differs by more than the bound
 * but less than the bound plus the sum of |products with a subnormal factor|
 * (and |C| when C is subnormal) passes and is counted as a note ("subnormal
 * allowance"), so the log says whether the hardware flushes them. S and the
 * allowance are computed by the twin itself on |A|, |B|, |C| and on the
 * subnormal elements alone, so the bound needs no fragment layout of its own.
 * (An exact emulation of that hardware model, steps of 1 to 32 terms with
 * p = 13 or 14 (fp8) and 24 (f16), stayed below 0.07 of the bound on the
 * operands drawn here: the bound is loose enough for the hardware, and a
 * misplaced element, which moves a result by about S / n, mostly exceeds it.)
 * Exact subset: every term an integer multiple of 2^e below 2^11 * 2^e in
 * magnitude, so every partial sum is exact with 12 bits, in any order: the
 * result must be bit-exact.
 *
 * Launches go through QB_LAUNCH and shared memory through QB_DYNAMIC_SMEM
 * (src/cuda/qb_vendor.cuh), as in the library's kernels. Each Check test
 * runs in its own process (Check's fork mode): a trap or a hang (Check's
 * time-out) on the GPU takes only its own instruction with it. Input counts
 * are small on the simulator (QBLAS_CUDA_SIM_RUNTIME), large on a GPU.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda/cuda_ptx.cuh"
#include "cuda/qb_vendor.cuh"
#include "qb_test.h"
#include "sim/twins/ptx_twins.h"

namespace {

namespace tw = ::qbsim::ptx;

#if defined(QBLAS_CUDA_SIM_RUNTIME)
constexpr bool kSim = true; /* the simulator's runtime: a few thousand inputs per instruction */
#else
constexpr bool kSim = false;
#endif

/* ================================================================ the device */

int g_cc; /* compute capability x 10 of device 0 */

/* Architecture groups and what each needs. sm_90a code runs on 9.0 alone. */
enum Group { kSm80, kSm89, kSm90, kSm90a, kGroups };
const struct {
    const char *name, *what;
} kGroupInfo[kGroups] = {
    {"sm_80", "lop3, prmt, dp4a, f16x2/bf16x2 arithmetic, f16/bf16 conversions, mma and mma.sp f16/bf16/s8, "
              "ldmatrix, cp.async"},
    {"sm_89", "cvt.rn.f16x2.e4m3x2, mma and mma.sp with e4m3/e5m2"},
    {"sm_90", "mbarrier phases and parity, TMA 2D tile loads"},
    {"sm_90a", "wgmma.mma_async m64n128k32 e4m3/e5m2"},
};
bool group_runs(Group g)
{
    switch (g) {
    case kSm80: return g_cc >= 80;
    case kSm89: return g_cc >= 89;
    case kSm90: return g_cc >= 90;
    default: return g_cc == 90;
    }
}

/* ================================================================ values */

uint32_t r32(qbt_rng *r) { return (uint32_t)qbt_next(r); }
int rin(qbt_rng *r, int lo, int hi) { return (int)qbt_int(r, lo, hi); }
bool one_in(qbt_rng *r, int n) { return qbt_next(r) % (uint64_t)n == 0; }

uint32_t f2u(float f) { return qb_f32_bits(f); }
float u2f(uint32_t u) { return qb_bits_f32(u); }

/* A binary floating-point format: width, mantissa and exponent bits. e4m3
 * (OCP "fn") has no infinity and one NaN mantissa (S.1111.111). */
struct Fmt {
    int bits, mant, exp;
    bool fn; /* e4m3: S.1111.111 the only NaN, no infinity */
};
constexpr Fmt kF16 = {16, 10, 5, false}, kBF16 = {16, 7, 8, false}, kE4M3 = {8, 3, 4, true}, kE5M2 = {8, 2, 5, false},
              kF32 = {32, 23, 8, false};
Fmt fmt_fp8(bool e5) { return e5 ? kE5M2 : kE4M3; }

uint32_t expf_(Fmt f, uint32_t c) { return c >> f.mant & ((1u << f.exp) - 1); }
uint32_t mantf(Fmt f, uint32_t c) { return c & ((1u << f.mant) - 1); }
uint32_t signbit_(Fmt f) { return 1u << (f.bits - 1); }
bool is_nan(Fmt f, uint32_t c)
{
    if (f.fn) return (c & 0x7F) == 0x7F;
    return expf_(f, c) == (1u << f.exp) - 1 && mantf(f, c) != 0;
}
bool is_inf(Fmt f, uint32_t c) { return !f.fn && expf_(f, c) == (1u << f.exp) - 1 && mantf(f, c) == 0; }
bool is_sub(Fmt f, uint32_t c) { return expf_(f, c) == 0 && mantf(f, c) != 0; }
uint32_t abs_code(Fmt f, uint32_t c) { return c & ~signbit_(f); }
uint32_t sub_only(Fmt f, uint32_t c) { return is_sub(f, c) ? abs_code(f, c) : 0; }

/* A finite code: any sign, the exponent field uniform (bf16 within 2^+-40, so
 * no fp32 sum overflows), one in 16 a zero. */
uint32_t gen_finite(qbt_rng *r, Fmt f)
{
    const uint32_t sign = (r32(r) & 1u) ? signbit_(f) : 0;
    if (one_in(r, 16)) return sign;
    const uint32_t all1 = (1u << f.exp) - 1;
    uint32_t e;
    if (f.exp == 8)
        e = one_in(r, 16) ? 0 : (uint32_t)rin(r, 127 - 40, 127 + 40);
    else
        e = (uint32_t)rin(r, 0, (int)all1 - (f.fn ? 0 : 1));
    uint32_t c = sign | e << f.mant | (r32(r) & ((1u << f.mant) - 1));
    if (is_nan(f, c)) c ^= 1; /* e4m3 S.1111.111 -> S.1111.110 (448) */
    return c;
}

/* NaN (any payload), infinity (e4m3: its NaN again) or -0. */
uint32_t gen_special(qbt_rng *r, Fmt f)
{
    const uint32_t sign = (r32(r) & 1u) ? signbit_(f) : 0, top = ((1u << f.exp) - 1) << f.mant;
    const uint32_t mmask = (1u << f.mant) - 1;
    switch (r32(r) % 3) {
    case 0: return sign | top | (f.fn ? mmask : 1 + r32(r) % mmask);
    case 1: return sign | top | (f.fn ? mmask : 0);
    default: return signbit_(f);
    }
}

/* Scalar-operand codes: random bits (every class at its natural rate), and
 * specials, subnormals, the extremes of the format more often than that. */
uint32_t gen_any(qbt_rng *r, Fmt f)
{
    const uint32_t sign = (r32(r) & 1u) ? signbit_(f) : 0, mmask = (1u << f.mant) - 1, all1 = (1u << f.exp) - 1;
    switch (r32(r) % 10) {
    case 0: return gen_special(r, f);
    case 1: return sign | (1 + r32(r) % mmask);         /* subnormal */
    case 2: return sign | (all1 - 1) << f.mant | mmask; /* largest finite */
    case 3: return sign | 1u << f.mant | (r32(r) & 1);  /* smallest normals */
    case 4: return sign | (r32(r) & 3);                 /* zero and the smallest subnormals */
    default: return r32(r) & (f.bits == 32 ? ~0u : (1u << f.bits) - 1);
    }
}

/* The code of m * 2^e (|m| <= 8), which the caller keeps representable. */
uint32_t exact_code(Fmt f, int m, int e)
{
    if (m == 0) return 0;
    const uint32_t a = (uint32_t)(m < 0 ? -m : m);
    const int top = 31 - __builtin_clz(a); /* a = 1.frac * 2^top */
    const uint32_t frac = a - (1u << top), bias = (1u << (f.exp - 1)) - 1;
    const uint32_t ef = (uint32_t)(top + e + (int)bias);
    return (m < 0 ? signbit_(f) : 0) | ef << f.mant | frac << (f.mant - top);
}

/* Elements of width f.bits packed into a 32-bit register, element 0 lowest. */
template <class Fn> uint32_t pack(Fmt f, Fn gen)
{
    uint32_t w = 0;
    for (int i = 0; i < 32 / f.bits; ++i) w |= (gen() & ((1u << f.bits) - 1)) << (f.bits * i);
    return w;
}
template <class Fn> uint32_t map_elems(uint32_t w, Fmt f, Fn fn)
{
    uint32_t o = 0;
    const uint32_t mask = (1u << f.bits) - 1;
    for (int i = 0; i < 32 / f.bits; ++i) o |= (fn(f, w >> (f.bits * i) & mask) & mask) << (f.bits * i);
    return o;
}

/* How an operand set is drawn, one choice per unit (one instruction). */
enum Flavor : uint32_t {
    kRandom,   /* finite random codes: compared within the bound */
    kSpecials, /* the same with NaN / infinity / -0 codes injected */
    kExact,    /* small integers times powers of two: compared bit for bit */
};

/* fp32 accumulator inputs: moderate magnitudes, zeros, subnormals; exact:
 * integers below 64 times 2^e. */
uint32_t gen_acc(qbt_rng *r, Flavor fl, int e)
{
    if (fl == kExact) return f2u(ldexpf((float)rin(r, -64, 64), e));
    switch (r32(r) % 16) {
    case 0: return (r32(r) & 1u) << 31;         /* +-0 */
    case 1: return (r32(r) & 0x807FFFFFu) | 1u; /* subnormal */
    default: return f2u(ldexpf((float)(r32(r) >> 8) * 0x1p-24f * ((r32(r) & 1) ? -1 : 1), rin(r, -20, 20)));
    }
}
uint32_t gen_acc_special(qbt_rng *r)
{
    return (r32(r) & 0x80000000u) | (one_in(r, 2) ? 0x7F800000u : 0x7FC00000u | (r32(r) & 0x3FFFFF));
}

/* ================================================================ comparison */

enum Kind : uint8_t {
    kSkip,    /* not compared */
    kBits,    /* bit for bit */
    kF32w,    /* fp32, bit for bit; a NaN only as NaN (its bits are unspecified) */
    kF16x2w,  /* two f16 halves, each like kF32w */
    kBF16x2w, /* two bf16 halves, each like kF32w */
    kF32Tol,  /* fp32 within tol (the accumulation bound); twin NaN / inf are kF32w */
};
struct Want {
    uint32_t bits = 0;
    Kind kind = kSkip;
    double tol = 0, tol_strict = 0; /* kF32Tol: with and without the subnormal allowance */
};
Want want_bits(uint32_t b, Kind k = kBits)
{
    Want w;
    w.bits = b, w.kind = k;
    return w;
}

/* A floating-point accumulation result of n terms with p kept bits: see the bound at the top. */
Want bounded(uint32_t twin, float S, double allowance, int n, int p)
{
    if (is_nan(kF32, twin) || is_inf(kF32, twin)) return want_bits(twin, kF32w);
    Want w = want_bits(twin, kF32Tol);
    w.tol_strict =
        2.0 * n * ldexp(1.0, 1 - p) * (double)S * (1 + 0x1p-20) + 0x1p-24 * fabs((double)u2f(twin)) + FLT_MIN;
    w.tol = w.tol_strict + allowance * (1 + 0x1p-20);
    return w;
}

struct Verdict {
    bool ok = true, nan_bits = false, allowance = false;
    double ratio = 0; /* |hw - twin| / strict bound */
};
/* One narrow float (width f.bits) against the twin's. */
void judge_float(Verdict &v, Fmt f, uint32_t hw, uint32_t tw_)
{
    if (is_nan(f, tw_)) {
        if (!is_nan(f, hw))
            v.ok = false;
        else if (hw != tw_)
            v.nan_bits = true;
    } else if (hw != tw_) {
        v.ok = false;
    }
}
Verdict judge(uint32_t hw, const Want &w)
{
    Verdict v;
    switch (w.kind) {
    case kSkip: break;
    case kBits: v.ok = hw == w.bits; break;
    case kF32w: judge_float(v, kF32, hw, w.bits); break;
    case kF16x2w:
    case kBF16x2w: {
        const Fmt f = w.kind == kF16x2w ? kF16 : kBF16;
        judge_float(v, f, hw & 0xFFFF, w.bits & 0xFFFF);
        judge_float(v, f, hw >> 16, w.bits >> 16);
        break;
    }
    case kF32Tol: {
        const double diff = fabs((double)u2f(hw) - (double)u2f(w.bits));
        v.ok = !is_nan(kF32, hw) && diff <= w.tol;
        v.allowance = v.ok && diff > w.tol_strict;
        v.ratio = diff / w.tol_strict;
        break;
    }
    }
    return v;
}

/* One instruction's tally over all its launches. */
struct Tally {
    std::string name;
    long inputs = 0, units = 0, regs = 0, exact = 0, bounded = 0, bad = 0, nan_bits = 0, allowance = 0;
    double worst = 0;
    std::string nan_example, fault;
};

void show_value(char *buf, size_t n, uint32_t v, Kind k)
{
    if (k == kF32w || k == kF32Tol)
        snprintf(buf, n, "0x%08x (%.9g)", v, (double)u2f(v));
    else
        snprintf(buf, n, "0x%08x", v);
}

/* ================================================================ the generic runner
 *
 * An instruction check is an Op: a unit is one execution of the instruction
 * (a warp's, a warpgroup's, or a block's), kThreads threads with kIn input
 * words and kOut output words each. The kernel hands every thread its words;
 * the host draws the inputs (gen), computes what every output word must be
 * from them (twin; `hw` gives the twin the unit's outputs for the few words
 * that name where the kernel put things, e.g. a shared-memory address), and
 * compares. */
struct NoParam {};

struct OpBase {
    using Param = NoParam;
    Param param{};
    static constexpr int kInputsPerUnit = 1; /* independent operand sets per unit */
    size_t smem_bytes() const { return 0; }
    const char *prepare(const std::vector<uint32_t> &, int) { return nullptr; } /* after gen, before the launch */
    void release() {}
    /* the name of output word j of thread t, for mismatch reports */
    void where(char *buf, size_t n, int, int j) const { snprintf(buf, n, "output word %d", j); }
};

template <class Op>
__global__ void conf_kernel(const uint32_t *in, uint32_t *out, const __grid_constant__ typename Op::Param prm)
{
    QB_DYNAMIC_SMEM(uint8_t, smem, 16);
    const size_t t = (size_t)blockIdx.x * Op::kThreads + threadIdx.x;
    Op::run(prm, in + t * Op::kIn, out + t * Op::kOut, smem);
}

const char *err_name(cudaError_t e) { return cudaGetErrorName(e); }

/* Run `units` units of op on the device and compare every output word with
 * the twin's; false if the device failed (tally.fault says how). */
template <class Op> bool run_units(Op &op, Tally &tl, qbt_rng *r, int units)
{
    constexpr int T = Op::kThreads;
    const size_t nin = (size_t)T * Op::kIn, nout = (size_t)T * Op::kOut;
    std::vector<uint32_t> in(nin * units), out(nout * units);
    for (int u = 0; u < units; ++u) op.gen(r, u, &in[nin * u]);
    if (const char *why = op.prepare(in, units)) {
        tl.fault = why;
        op.release();
        return false;
    }
    uint32_t *din = nullptr, *dout = nullptr;
    cudaError_t e = cudaMalloc(&din, in.size() * 4);
    if (e == cudaSuccess) e = cudaMalloc(&dout, out.size() * 4);
    if (e == cudaSuccess) e = cudaMemcpy(din, in.data(), in.size() * 4, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaMemset(dout, 0xFF, out.size() * 4); /* poison: a word never written reads NaN */
    if (e == cudaSuccess) {
        QB_LAUNCH(units, T, op.smem_bytes(), 0, conf_kernel<Op>)(din, dout, op.param);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaDeviceSynchronize();
    if (e == cudaSuccess) e = cudaMemcpy(out.data(), dout, out.size() * 4, cudaMemcpyDeviceToHost);
    cudaFree(din);
    cudaFree(dout);
    op.release();
    if (e != cudaSuccess) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s: %s (launch of %d units)", err_name(e), cudaGetErrorString(e), units);
        tl.fault = buf;
        return false;
    }

    std::vector<Want> want(nout);
    for (int u = 0; u < units; ++u) {
        const uint32_t *ui = &in[nin * u], *uo = &out[nout * u];
        for (Want &w : want) w = Want();
        if (const char *why = op.twin(u, ui, uo, want.data())) {
            if (tl.fault.empty()) tl.fault = std::string("the twin refused the inputs: ") + why;
            tl.bad++;
            continue;
        }
        tl.units++, tl.inputs += Op::kInputsPerUnit;
        for (int t = 0; t < T; ++t)
            for (int j = 0; j < Op::kOut; ++j) {
                const Want &w = want[(size_t)t * Op::kOut + j];
                if (w.kind == kSkip) continue;
                const uint32_t hw = uo[(size_t)t * Op::kOut + j];
                const Verdict v = judge(hw, w);
                tl.regs++;
                if (w.kind == kF32Tol) {
                    tl.bounded++;
                    if (v.ok && !v.allowance && v.ratio > tl.worst) tl.worst = v.ratio;
                } else {
                    tl.exact++;
                }
                tl.allowance += v.allowance;
                if (v.nan_bits && tl.nan_bits++ == 0) {
                    char a[64], b[64];
                    show_value(a, sizeof a, hw, kBits), show_value(b, sizeof b, w.bits, kBits);
                    tl.nan_example = std::string("hw ") + a + ", twin " + b;
                }
                if (v.ok) continue;
                if (tl.bad++ >= 6) continue;
                char where[96], hv[64], tv[64];
                op.where(where, sizeof where, t, j);
                show_value(hv, sizeof hv, hw, w.kind), show_value(tv, sizeof tv, w.bits, w.kind);
                printf("     MISMATCH unit %d thread %d, %s: hw %s, twin %s", u, t, where, hv, tv);
                if (w.kind == kF32Tol) printf(" (bound %.3g, strict %.3g)", w.tol, w.tol_strict);
                printf("\n       thread %d inputs:", t);
                for (int k = 0; k < Op::kIn;
                     ++k) { /* long lists: the first 16 and the last 8 (the unit's parameters) */
                    if (Op::kIn > 24 && k == 16) printf(" ..."), k = Op::kIn - 8;
                    printf(" %08x", ui[(size_t)t * Op::kIn + k]);
                }
                printf("\n");
            }
    }
    return true;
}

/* The one line per instruction, then the verdict for Check. */
void report(const Tally &tl)
{
    printf("CONF %-62s %8ld inputs, %ld mismatches", tl.name.c_str(), tl.inputs, tl.bad);
    printf("  (%ld units; registers compared: %ld bit for bit", tl.units, tl.exact);
    if (tl.bounded)
        printf(", %ld within the accumulation bound, the largest |hw - twin| %.3g of it", tl.bounded, tl.worst);
    printf(")\n");
    if (tl.nan_bits)
        printf("     note: %ld NaN results with other bits than the twin's canonical NaN (the ISA leaves them open), "
               "first: %s\n",
               tl.nan_bits, tl.nan_example.c_str());
    if (tl.allowance)
        printf(
            "     note: %ld results within the bound only with the subnormal allowance (subnormal inputs flushed?)\n",
            tl.allowance);
    if (!tl.fault.empty()) printf("     FAULT: %s\n", tl.fault.c_str());
    fflush(stdout);
    ck_assert_msg(tl.bad == 0 && tl.fault.empty(), "%s: %ld mismatches%s%s [seed %llu]", tl.name.c_str(), tl.bad,
                  tl.fault.empty() ? "" : "; ", tl.fault.c_str(), (unsigned long long)qbt_seed);
}

uint64_t name_stream(const std::string &s)
{
    uint64_t h = 1469598103934665603ull;
    for (char c : s) h = (h ^ (uint8_t)c) * 1099511628211ull;
    return h;
}

/* The whole check of one instruction: units on the simulator / on a GPU. */
template <class Op> void check(Op op, int sim_units, int gpu_units)
{
    Tally tl;
    tl.name = op.name();
    qbt_rng r = qbt_rng_make(name_stream(tl.name));
    run_units(op, tl, &r, kSim ? sim_units : gpu_units);
    report(tl);
}

/* ================================================================ scalar instructions
 * One warp of independent lanes per unit; S gives the instruction: its
 * input words (kIn), eval on the device, the twin and the generator (index:
 * the input's number, for exhaustive coverage of 16-bit operands). */
template <class S> struct ScalarOp : OpBase {
    static constexpr int kThreads = 32, kIn = S::kIn, kOut = 1, kInputsPerUnit = 32;
    std::string name() const { return S::name(); }
    __device__ static void run(const NoParam &, const uint32_t *in, uint32_t *out, uint8_t *) { out[0] = S::eval(in); }
    void gen(qbt_rng *r, int u, uint32_t *in) const
    {
        for (int l = 0; l < 32; ++l) S::gen(r, (long)u * 32 + l, in + l * kIn);
    }
    const char *twin(int, const uint32_t *in, const uint32_t *, Want *w) const
    {
        for (int l = 0; l < 32; ++l) w[l] = S::twin(in + l * kIn);
        return nullptr;
    }
};

/* lop3.b32 with every LUT: the immediate is a template argument, so the
 * lane's LUT picks one of 256 instantiations. */
template <size_t... L>
__device__ uint32_t lop3_any(uint32_t lut, uint32_t a, uint32_t b, uint32_t c, std::index_sequence<L...>)
{
    uint32_t d = 0;
    ((lut == L ? (void)(d = qb::lop3<(int)L>(a, b, c)) : (void)0), ...);
    return d;
}
uint32_t gen_word(qbt_rng *r)
{
    switch (r32(r) % 6) {
    case 0: return 0;
    case 1: return ~0u;
    default: return r32(r);
    }
}
struct Lop3 {
    static constexpr int kIn = 4;
    static const char *name() { return "lop3.b32 (all 256 LUTs)"; }
    __device__ static uint32_t eval(const uint32_t *in)
    {
        return lop3_any(in[3], in[0], in[1], in[2], std::make_index_sequence<256>());
    }
    static Want twin(const uint32_t *in) { return want_bits(tw::lop3_b32(in[0], in[1], in[2], (uint8_t)in[3])); }
    static void gen(qbt_rng *r, long i, uint32_t *in)
    {
        in[0] = gen_word(r), in[1] = gen_word(r), in[2] = gen_word(r), in[3] = (uint32_t)(i % 256);
    }
};

/* __byte_perm(x, y, s): CUDA documents selector nibbles of 3 bits (s & 0x7777;
 * nvcc emits and.b32 0x7777 before prmt.b32), so the twin is prmt.b32 with the
 * selector masked; selectors with bit 3 and the upper half set test that. */
struct BytePerm {
    static constexpr int kIn = 3;
    static const char *name() { return "__byte_perm (prmt.b32, selector & 0x7777)"; }
    __device__ static uint32_t eval(const uint32_t *in) { return __byte_perm(in[0], in[1], in[2]); }
    static Want twin(const uint32_t *in) { return want_bits(tw::prmt_b32(in[0], in[1], in[2] & 0x7777u)); }
    static void gen(qbt_rng *r, long, uint32_t *in) { in[0] = r32(r), in[1] = r32(r), in[2] = r32(r); }
};

uint32_t gen_s8x4(qbt_rng *r)
{
    static const uint8_t kEdge[6] = {0x80, 0x7F, 0x00, 0xFF, 0x81, 0x01};
    uint32_t w = 0;
    for (int i = 0; i < 4; ++i) w |= (uint32_t)(one_in(r, 3) ? kEdge[r32(r) % 6] : (uint8_t)r32(r)) << (8 * i);
    return w;
}
uint32_t gen_s32(qbt_rng *r)
{
    switch (r32(r) % 6) {
    case 0: return 0x7FFFFFFFu - (r32(r) & 0xFFFF); /* near INT_MAX: the sum wraps */
    case 1: return 0x80000000u + (r32(r) & 0xFFFF); /* near INT_MIN */
    case 2: return r32(r) & 0xFFFF;
    default: return r32(r);
    }
}
struct Dp4a {
    static constexpr int kIn = 3;
    static const char *name() { return "__dp4a (dp4a.s32.s32)"; }
    __device__ static uint32_t eval(const uint32_t *in) { return (uint32_t)__dp4a((int)in[0], (int)in[1], (int)in[2]); }
    static Want twin(const uint32_t *in)
    {
        return want_bits((uint32_t)tw::dp4a_s32((int32_t)in[0], (int32_t)in[1], (int32_t)in[2]));
    }
    static void gen(qbt_rng *r, long, uint32_t *in) { in[0] = gen_s8x4(r), in[1] = gen_s8x4(r), in[2] = gen_s32(r); }
};

/* Two 16-bit codes; b sometimes a neighbour of a (cancellation, rounding). */
uint32_t gen_pair16(qbt_rng *r, Fmt f, uint32_t *b)
{
    uint32_t a = pack(f, [&] { return gen_any(r, f); });
    *b = pack(f, [&] { return gen_any(r, f); });
    if (one_in(r, 4)) *b = a ^ (r32(r) & 0x00030003u) ^ (one_in(r, 2) ? 0x80008000u : 0);
    return a;
}
struct SubF16x2 {
    static constexpr int kIn = 2;
    static const char *name() { return "sub.rn.f16x2"; }
    __device__ static uint32_t eval(const uint32_t *in) { return qb::sub_rn_f16x2(in[0], in[1]); }
    static Want twin(const uint32_t *in) { return want_bits(tw::sub_rn_f16x2(in[0], in[1]), kF16x2w); }
    static void gen(qbt_rng *r, long, uint32_t *in) { in[0] = gen_pair16(r, kF16, &in[1]); }
};
struct MulF16x2 {
    static constexpr int kIn = 2;
    static const char *name() { return "mul.rn.f16x2"; }
    __device__ static uint32_t eval(const uint32_t *in) { return qb::mul_rn_f16x2(in[0], in[1]); }
    static Want twin(const uint32_t *in) { return want_bits(tw::mul_rn_f16x2(in[0], in[1]), kF16x2w); }
    static void gen(qbt_rng *r, long, uint32_t *in) { in[0] = gen_pair16(r, kF16, &in[1]); }
};
struct FmaBF16x2 {
    static constexpr int kIn = 3;
    static const char *name() { return "fma.rn.bf16x2"; }
    __device__ static uint32_t eval(const uint32_t *in) { return qb::fma_rn_bf16x2(in[0], in[1], in[2]); }
    static Want twin(const uint32_t *in) { return want_bits(tw::fma_rn_bf16x2(in[0], in[1], in[2]), kBF16x2w); }
    static void gen(qbt_rng *r, long, uint32_t *in)
    {
        in[0] = gen_pair16(r, kBF16, &in[1]);
        in[2] = pack(kBF16, [&] { return gen_any(r, kBF16); });
        if (one_in(r, 3)) { /* c near -(a*b): cancellation, the single rounding of the fma */
            uint32_t c = 0;
            for (int h = 0; h < 2; ++h) {
                const float p =
                    qb_bf16_to_f32((uint16_t)(in[0] >> 16 * h)) * qb_bf16_to_f32((uint16_t)(in[1] >> 16 * h));
                c |= (uint32_t)(uint16_t)(qb_f32_to_bf16(-p) ^ (r32(r) & 1)) << 16 * h;
            }
            in[2] = c;
        }
    }
};

/* 16-bit operands, exhaustively on a GPU (65536 inputs), randomly on the simulator. */
uint32_t code16(qbt_rng *r, long i) { return kSim ? r32(r) & 0xFFFF : (uint32_t)(i & 0xFFFF); }
struct CvtE4M3 {
    static constexpr int kIn = 1;
    static const char *name() { return "cvt.rn.f16x2.e4m3x2"; }
    __device__ static uint32_t eval(const uint32_t *in) { return qb::cvt_f16x2_e4m3x2((uint16_t)in[0]); }
    static Want twin(const uint32_t *in) { return want_bits(tw::cvt_rn_f16x2_e4m3x2((uint16_t)in[0]), kF16x2w); }
    static void gen(qbt_rng *r, long i, uint32_t *in) { in[0] = code16(r, i); }
};
struct H2F {
    static constexpr int kIn = 1;
    static const char *name() { return "__half2float (cvt.f32.f16)"; }
    __device__ static uint32_t eval(const uint32_t *in)
    {
        return __float_as_uint(__half2float(__ushort_as_half((unsigned short)in[0])));
    }
    static Want twin(const uint32_t *in) { return want_bits(f2u(tw::cvt_f32_f16((uint16_t)in[0])), kF32w); }
    static void gen(qbt_rng *r, long i, uint32_t *in) { in[0] = code16(r, i); }
};
struct BF2F {
    static constexpr int kIn = 1;
    static const char *name() { return "__bfloat162float (cvt.f32.bf16)"; }
    __device__ static uint32_t eval(const uint32_t *in)
    {
        return __float_as_uint(__bfloat162float(__ushort_as_bfloat16((unsigned short)in[0])));
    }
    static Want twin(const uint32_t *in) { return want_bits(f2u(tw::cvt_f32_bf16((uint16_t)in[0])), kF32w); }
    static void gen(qbt_rng *r, long i, uint32_t *in) { in[0] = code16(r, i); }
};

/* fp32 operands of a conversion to f (f16 or bf16): values of f's range,
 * exact ties between two codes of f and their neighbours, the overflow
 * threshold, subnormals, NaNs whose payload lies in the bits f drops. */
uint32_t gen_f32_to(qbt_rng *r, Fmt f)
{
    const uint32_t sign = r32(r) & 0x80000000u;
    switch (r32(r) % 8) {
    case 0: {
        static const uint32_t kSpecial[] = {0x7F800001u, 0x7FC00000u, 0x7FFFFFFFu, 0x7F800000u,
                                            0,           0x7F7FFFFFu, 0x00000001u};
        return sign | kSpecial[r32(r) % 7];
    }
    case 1:
    case 2: { /* a code of f widened, plus half its ulp (a tie) -1, 0, +1 */
        const uint32_t c = gen_finite(r, f) & 0x7FFF;
        const uint32_t w = f.exp == 8 ? c << 16 : f2u(qb_f16_to_f32((uint16_t)c));
        if (f.exp == 8 || expf_(f, c) != 0) {
            const uint32_t half = f.exp == 8 ? 0x8000u : 0x1000u; /* the f32 bits below f's mantissa, halved */
            return sign | (w + half + (uint32_t)rin(r, -1, 1));
        }
        return sign | w;
    }
    case 3:
        return sign |
               (f.exp == 8 ? 0x7F7F0000u + (r32(r) & 0xFFFF) : 0x477FE000u + (r32(r) & 0x3FFF)); /* near overflow */
    case 4: return sign | (f.exp == 8 ? r32(r) & 0x007FFFFFu : 0x33000000u + (r32(r) & 0x03FFFFFFu)); /* tiny */
    default: return sign | (uint32_t)(127 + rin(r, -30, 20)) << 23 | (r32(r) & 0x7FFFFF);
    }
}
struct F2H {
    static constexpr int kIn = 1;
    static const char *name() { return "__float2half_rn (cvt.rn.f16.f32)"; }
    __device__ static uint32_t eval(const uint32_t *in)
    {
        return __half_as_ushort(__float2half_rn(__uint_as_float(in[0])));
    }
    static Want twin(const uint32_t *in) { return want_bits(tw::cvt_rn_f16_f32(u2f(in[0])), kF16x2w); }
    static void gen(qbt_rng *r, long, uint32_t *in) { in[0] = gen_f32_to(r, kF16); }
};
struct F2BF {
    static constexpr int kIn = 1;
    static const char *name() { return "__float2bfloat16_rn (cvt.rn.bf16.f32)"; }
    __device__ static uint32_t eval(const uint32_t *in)
    {
        return __bfloat16_as_ushort(__float2bfloat16_rn(__uint_as_float(in[0])));
    }
    static Want twin(const uint32_t *in) { return want_bits(tw::cvt_rn_bf16_f32(u2f(in[0])), kBF16x2w); }
    static void gen(qbt_rng *r, long, uint32_t *in) { in[0] = gen_f32_to(r, kBF16); }
};

/* ================================================================ ldmatrix
 * Each lane stores 16 bytes at row slot `lane` of a buffer placed at a
 * random 16-byte offset, then gives the address of a random slot: the twin
 * reads the same rows from the lanes' inputs. */
template <bool TRANS> struct LdmatrixOp : OpBase {
    static constexpr int kThreads = 32, kIn = 6, kOut = 4; /* row[4], slot, buffer offset / 16 */
    std::string name() const
    {
        return TRANS ? "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16" : "ldmatrix.sync.aligned.m8n8.x4.shared.b16";
    }
    size_t smem_bytes() const { return 1024 + 32 * 16; }
    __device__ static void run(const NoParam &, const uint32_t *in, uint32_t *out, uint8_t *smem)
    {
        const int lane = threadIdx.x % 32;
        uint8_t *const buf = smem + 16 * in[5];
        uint32_t *const mine = reinterpret_cast<uint32_t *>(buf + 16 * lane);
        for (int i = 0; i < 4; ++i) mine[i] = in[i];
        __syncwarp();
        uint32_t r[4];
        const uint8_t *row = buf + 16 * in[4];
        if (TRANS)
            qb::ldmatrix_x4_trans(r, qb::smem_u32(row));
        else if (blockIdx.x & 1) /* both overloads: generic pointer and shared address */
            qb::ldmatrix_x4(r, row);
        else
            qb::ldmatrix_x4(r, qb::smem_u32(row));
        for (int i = 0; i < 4; ++i) out[i] = r[i];
    }
    void gen(qbt_rng *r, int, uint32_t *in) const
    {
        const uint32_t off = (uint32_t)rin(r, 0, 63);
        for (int l = 0; l < 32; ++l) {
            for (int i = 0; i < 4; ++i) in[l * kIn + i] = r32(r);
            in[l * kIn + 4] = r32(r) % 32, in[l * kIn + 5] = off;
        }
    }
    const char *twin(int, const uint32_t *in, const uint32_t *, Want *w) const
    {
        uint8_t buf[32 * 16];
        const uint8_t *rows[32];
        for (int l = 0; l < 32; ++l) memcpy(buf + 16 * l, in + l * kIn, 16);
        for (int l = 0; l < 32; ++l) rows[l] = buf + 16 * in[l * kIn + 4];
        uint32_t d[32][4];
        tw::ldmatrix_x4(d, rows, TRANS);
        for (int l = 0; l < 32; ++l)
            for (int i = 0; i < 4; ++i) w[l * kOut + i] = want_bits(d[l][i]);
        return nullptr;
    }
    void where(char *buf, size_t n, int t, int j) const
    {
        snprintf(buf, n, "matrix %d (reg %d), fragment row %d cols %d-%d", j, j, t / 4, 2 * (t % 4), 2 * (t % 4) + 1);
    }
};

/* ================================================================ cp.async
 * Each lane copies SIZE bytes from another lane's input words (the source
 * lane is an input) with a random src-size 0..SIZE into its own shared slot
 * of 2 * SIZE bytes, whose upper half holds a sentinel; after wait_group 0 it
 * reads the slot back. The twin is the ISA's definition (the copy, zeros
 * after src-size bytes; the simulator implements it in ptx_exec.cc). 16-byte
 * copies use the three L2 cache policies. */
constexpr uint32_t kSentinel = 0xA5C3A5C3u;
template <int SIZE> struct CpAsyncOp : OpBase {
    static constexpr int kThreads = 32, kIn = 8, kOut = 2 * SIZE / 4,
                         kInputsPerUnit = 32; /* data[4], src lane, src-size, policy */
    std::string name() const
    {
        return SIZE == 16 ? "cp.async.cg.shared.global.L2::cache_hint 16 (src-size 0..16)"
                          : "cp.async.ca.shared.global 4 (src-size 0..4)";
    }
    size_t smem_bytes() const { return 32 * 2 * SIZE; }
    __device__ static void run(const NoParam &, const uint32_t *in, uint32_t *out, uint8_t *smem)
    {
        const int lane = threadIdx.x % 32;
        uint32_t *const slot = reinterpret_cast<uint32_t *>(smem + 2 * SIZE * lane);
        for (int i = SIZE / 4; i < 2 * SIZE / 4; ++i) slot[i] = kSentinel; /* past the copy: must survive it */
        const uint32_t *src = in + ((int)in[4] - lane) * kIn;              /* the source lane's data words */
        if (SIZE == 16) {
            const uint64_t pol = in[6] == 0   ? qb::l2_evict_first()
                                 : in[6] == 1 ? qb::l2_evict_normal()
                                              : qb::l2_evict_last();
            qb::cp_async16(slot, src, (int)in[5], pol);
        } else {
            qb::cp_async4(slot, src, (int)in[5]);
        }
        qb::cp_async_commit();
        qb::cp_async_wait<0>();
        for (int i = 0; i < kOut; ++i) out[i] = slot[i];
    }
    void gen(qbt_rng *r, int, uint32_t *in) const
    {
        for (int l = 0; l < 32; ++l) {
            uint32_t *p = in + l * kIn;
            for (int i = 0; i < 4; ++i) p[i] = r32(r);
            p[4] = r32(r) % 32, p[5] = (uint32_t)rin(r, 0, SIZE), p[6] = r32(r) % 3, p[7] = 0;
        }
    }
    const char *twin(int, const uint32_t *in, const uint32_t *, Want *w) const
    {
        for (int l = 0; l < 32; ++l) {
            uint8_t bytes[2 * SIZE];
            const uint32_t *p = in + l * kIn;
            memset(bytes, 0, SIZE);
            memcpy(bytes, in + p[4] * kIn, p[5]);
            for (int i = SIZE; i < 2 * SIZE; i += 4) memcpy(bytes + i, &kSentinel, 4);
            for (int i = 0; i < kOut; ++i) {
                uint32_t v;
                memcpy(&v, bytes + 4 * i, 4);
                w[l * kOut + i] = want_bits(v);
            }
        }
        return nullptr;
    }
    void where(char *buf, size_t n, int, int j) const
    {
        snprintf(buf, n, "slot word %d (%s)", j, 4 * j < SIZE ? "copied / zero-filled" : "sentinel past the copy");
    }
};

/* ================================================================ mma.sync and mma.sp
 * One warp per unit; per lane: A (4 registers), B (2, or 4 for mma.sp), C
 * (4; D comes back in place), the metadata (mma.sp) and the unit's flavor.
 * An instruction traits class Tr gives the device call and the twin over
 * whole-warp arrays (B always [32][4], unused registers zero; C and D as bit
 * patterns, fp32 or s32). */
__device__ __forceinline__ void words_to_f(float (&f)[4], const uint32_t (&w)[4])
{
    for (int i = 0; i < 4; ++i) f[i] = __uint_as_float(w[i]);
}
__device__ __forceinline__ void f_to_words(uint32_t (&w)[4], const float (&f)[4])
{
    for (int i = 0; i < 4; ++i) w[i] = __float_as_uint(f[i]);
}

/* mma.sp with sparsity selector 1 (m16n8k32 .f16/.bf16 allow 0 and 1; the
 * library's wrappers fix 0), spelled as cuda_ptx.cuh spells them. */
template <bool BF>
__device__ __forceinline__ void mma_sp16_sel1(float (&d)[4], const uint4 &a, const uint32_t (&b)[4], uint32_t e)
{
#if defined(QBLAS_CUDA_SIM)
    const uint32_t av[4] = {a.x, a.y, a.z, a.w};
    if (BF)
        ::qbsim::mma_sp_bf16(QB_MMA_SP_ORDERED, d, av, b, e, 1);
    else
        ::qbsim::mma_sp_f16(QB_MMA_SP_ORDERED, d, av, b, e, 1);
#else
    if constexpr (BF)
        asm(QB_MMA_SP ".m16n8k32.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, "
                      "{%0,%1,%2,%3}, %12, 0x1;\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
    else
        asm(QB_MMA_SP ".m16n8k32.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, "
                      "{%0,%1,%2,%3}, %12, 0x1;\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
#endif
}

using Warp4 = uint32_t[32][4];
std::string sp_name(const char *shape, const std::string &types)
{
    return std::string(QB_MMA_SP_ORDERED ? "mma.sp::ordered_metadata" : "mma.sp") + ".sync.aligned." + shape +
           ".row.col." + types;
}
const char *fp8_name(bool e5) { return e5 ? "e5m2" : "e4m3"; }

template <bool BF> struct MmaF16 { /* mma.sync m16n8k16 .f32.{f16,bf16} */
    static constexpr int kNB = 2, kTerms = 16, kP = 23;
    static constexpr bool kInt = false, kSparse = false;
    static Fmt fa() { return BF ? kBF16 : kF16; }
    static Fmt fb() { return fa(); }
    static std::string name()
    {
        return BF ? "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"
                  : "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32";
    }
    __device__ static void exec(uint32_t (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[4], uint32_t)
    {
        float f[4];
        words_to_f(f, d);
        if (BF)
            qb::mma_bf16(f, a, b[0], b[1]);
        else
            qb::mma_f16(f, a, b[0], b[1]);
        f_to_words(d, f);
    }
    static const char *twin(Warp4 d, const Warp4 a, const Warp4 b, const Warp4 c, const uint32_t *)
    {
        uint32_t b2[32][2];
        float cf[32][4], df[32][4];
        for (int l = 0; l < 32; ++l) b2[l][0] = b[l][0], b2[l][1] = b[l][1];
        memcpy(cf, c, sizeof cf);
        tw::mma_m16n8k16_f32(BF ? tw::F16::BF16 : tw::F16::F16, df, a, b2, cf);
        memcpy(d, df, sizeof df);
        return nullptr;
    }
};
struct MmaS8 { /* mma.sync m16n8k32 .s32.s8.s8.s32 */
    static constexpr int kNB = 2, kTerms = 32, kP = 0;
    static constexpr bool kInt = true, kSparse = false;
    static Fmt fa() { return kE4M3; } /* unused: integers */
    static Fmt fb() { return kE4M3; }
    static std::string name() { return "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32"; }
    __device__ static void exec(uint32_t (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[4], uint32_t)
    {
        int32_t v[4];
        for (int i = 0; i < 4; ++i) v[i] = (int32_t)d[i];
        qb::mma_s8(v, a, b[0], b[1]);
        for (int i = 0; i < 4; ++i) d[i] = (uint32_t)v[i];
    }
    static const char *twin(Warp4 d, const Warp4 a, const Warp4 b, const Warp4 c, const uint32_t *)
    {
        uint32_t b2[32][2];
        int32_t ci[32][4], di[32][4];
        for (int l = 0; l < 32; ++l) b2[l][0] = b[l][0], b2[l][1] = b[l][1];
        memcpy(ci, c, sizeof ci);
        tw::mma_m16n8k32_s32_s8(di, a, b2, ci);
        memcpy(d, di, sizeof di);
        return nullptr;
    }
};
template <bool XE5, bool WE5> struct MmaFp8 { /* mma.sync m16n8k32 .f32.<x>.<w> (sm_89) */
    static constexpr int kNB = 2, kTerms = 32, kP = 13;
    static constexpr bool kInt = false, kSparse = false;
    static Fmt fa() { return fmt_fp8(XE5); }
    static Fmt fb() { return fmt_fp8(WE5); }
    static std::string name()
    {
        return std::string("mma.sync.aligned.m16n8k32.row.col.f32.") + fp8_name(XE5) + "." + fp8_name(WE5) + ".f32";
    }
    __device__ static void exec(uint32_t (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[4], uint32_t)
    {
        float f[4];
        words_to_f(f, d);
        qb::mma_fp8<XE5 ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3, WE5 ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3>(f, a, b[0],
                                                                                                          b[1]);
        f_to_words(d, f);
    }
    static const char *twin(Warp4 d, const Warp4 a, const Warp4 b, const Warp4 c, const uint32_t *)
    {
        uint32_t b2[32][2];
        float cf[32][4], df[32][4];
        for (int l = 0; l < 32; ++l) b2[l][0] = b[l][0], b2[l][1] = b[l][1];
        memcpy(cf, c, sizeof cf);
        tw::mma_m16n8k32_f32_fp8(XE5 ? tw::Fp8::E5M2 : tw::Fp8::E4M3, WE5 ? tw::Fp8::E5M2 : tw::Fp8::E4M3, df, a, b2,
                                 cf);
        memcpy(d, df, sizeof df);
        return nullptr;
    }
};
template <bool BF, int SEL> struct MmaSp16 { /* mma.sp m16n8k32 .f32.{f16,bf16}, selector SEL */
    static constexpr int kNB = 4, kTerms = 16, kP = 23;
    static constexpr bool kInt = false, kSparse = true;
    static Fmt fa() { return BF ? kBF16 : kF16; }
    static Fmt fb() { return fa(); }
    static std::string name()
    {
        return sp_name("m16n8k32", BF ? "f32.bf16.bf16.f32" : "f32.f16.f16.f32") + ", selector " + (SEL ? "1" : "0");
    }
    __device__ static void exec(uint32_t (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[4], uint32_t e)
    {
        float f[4];
        words_to_f(f, d);
        const uint4 av = make_uint4(a[0], a[1], a[2], a[3]);
        if (SEL)
            mma_sp16_sel1<BF>(f, av, b, e);
        else if (BF)
            qb::mma_sp_bf16(f, av, b, e);
        else
            qb::mma_sp_f16(f, av, b, e);
        f_to_words(d, f);
    }
    static const char *twin(Warp4 d, const Warp4 a, const Warp4 b, const Warp4 c, const uint32_t *e)
    {
        float cf[32][4], df[32][4];
        memcpy(cf, c, sizeof cf);
        const char *err =
            tw::mma_sp_m16n8k32_f32(BF ? tw::F16::BF16 : tw::F16::F16, QB_MMA_SP_ORDERED, df, a, b, cf, e, SEL);
        memcpy(d, df, sizeof df);
        return err;
    }
};
struct MmaSpS8 { /* mma.sp m16n8k64 .s32.s8.s8.s32 */
    static constexpr int kNB = 4, kTerms = 32, kP = 0;
    static constexpr bool kInt = true, kSparse = true;
    static Fmt fa() { return kE4M3; }
    static Fmt fb() { return kE4M3; }
    static std::string name() { return sp_name("m16n8k64", "s32.s8.s8.s32"); }
    __device__ static void exec(uint32_t (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[4], uint32_t e)
    {
        int32_t v[4];
        for (int i = 0; i < 4; ++i) v[i] = (int32_t)d[i];
        qb::mma_sp_s8(v, make_uint4(a[0], a[1], a[2], a[3]), b, e);
        for (int i = 0; i < 4; ++i) d[i] = (uint32_t)v[i];
    }
    static const char *twin(Warp4 d, const Warp4 a, const Warp4 b, const Warp4 c, const uint32_t *e)
    {
        int32_t ci[32][4], di[32][4];
        memcpy(ci, c, sizeof ci);
        const char *err = tw::mma_sp_m16n8k64_s32_s8(QB_MMA_SP_ORDERED, di, a, b, ci, e, 0);
        memcpy(d, di, sizeof di);
        return err;
    }
};
template <bool AE5, bool BE5> struct MmaSpFp8 { /* mma.sp m16n8k64 .f32.<a>.<b> (sm_89) */
    static constexpr int kNB = 4, kTerms = 32, kP = 13;
    static constexpr bool kInt = false, kSparse = true;
    static Fmt fa() { return fmt_fp8(AE5); }
    static Fmt fb() { return fmt_fp8(BE5); }
    static std::string name()
    {
        return sp_name("m16n8k64", std::string("f32.") + fp8_name(AE5) + "." + fp8_name(BE5) + ".f32");
    }
    __device__ static void exec(uint32_t (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[4], uint32_t e)
    {
        float f[4];
        words_to_f(f, d);
        qb::mma_sp_fp8<AE5 ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3, BE5 ? QBLAS_DTYPE_E5M2 : QBLAS_DTYPE_E4M3>(
            f, make_uint4(a[0], a[1], a[2], a[3]), b, e);
        f_to_words(d, f);
    }
    static const char *twin(Warp4 d, const Warp4 a, const Warp4 b, const Warp4 c, const uint32_t *e)
    {
        float cf[32][4], df[32][4];
        memcpy(cf, c, sizeof cf);
        const char *err =
            tw::mma_sp_m16n8k64_f32_fp8(AE5 ? tw::Fp8::E5M2 : tw::Fp8::E4M3, BE5 ? tw::Fp8::E5M2 : tw::Fp8::E4M3,
                                        QB_MMA_SP_ORDERED, df, a, b, cf, e, 0);
        memcpy(d, df, sizeof df);
        return err;
    }
};

/* Sparse metadata: every 4-bit field a valid ordered index pair (i0 < i1,
 * i0 in bits 1:0), in every lane (the selector decides which lanes count). */
uint32_t gen_meta(qbt_rng *r)
{
    static const uint8_t kPair[6] = {0x4, 0x8, 0xC, 0x9, 0xD, 0xE}; /* (0,1) (0,2) (0,3) (1,2) (1,3) (2,3) */
    uint32_t e = 0;
    for (int i = 0; i < 8; ++i) e |= (uint32_t)kPair[r32(r) % 6] << (4 * i);
    return e;
}

template <class Tr> struct MmaOp : OpBase {
    static constexpr int kThreads = 32, kNB = Tr::kNB;
    static constexpr int kC = 4 + kNB, kE = kC + 4, kFl = kE + 1, kIn = kFl + 1, kOut = 4; /* word offsets */
    std::string name() const { return Tr::name(); }
    __device__ static void run(const NoParam &, const uint32_t *in, uint32_t *out, uint8_t *)
    {
        uint32_t a[4], b[4] = {0, 0, 0, 0}, d[4];
        for (int i = 0; i < 4; ++i) a[i] = in[i], d[i] = in[kC + i];
        for (int i = 0; i < kNB; ++i) b[i] = in[4 + i];
        Tr::exec(d, a, b, in[kE]);
        for (int i = 0; i < 4; ++i) out[i] = d[i];
    }
    void gen(qbt_rng *r, int u, uint32_t *in) const
    {
        const Flavor fl = Tr::kInt ? kRandom : (Flavor)(u % 3);
        const Fmt fa = Tr::fa(), fb = Tr::fb();
        /* exact: |elements| <= 4 (fp8) or 8 (16-bit) times 2^e, exponents kept inside each format */
        const int lim = fa.bits == 8 ? 4 : 8, span = fa.bits == 8 ? 3 : fa.exp == 8 ? 40 : 6;
        const int ea = rin(r, -span, span), eb = rin(r, -span, span);
        auto elem = [&](Fmt f, int e) -> uint32_t {
            if (Tr::kInt) return (uint32_t)(one_in(r, 3) ? (r32(r) % 2 ? 0x80 : 0x7F) : r32(r));
            return fl == kExact ? exact_code(f, rin(r, -lim, lim), e) : gen_finite(r, f);
        };
        for (int l = 0; l < 32; ++l) {
            uint32_t *p = in + l * kIn;
            for (int i = 0; i < 4; ++i) p[i] = pack(fa, [&] { return elem(fa, ea); });
            for (int i = 0; i < kNB; ++i) p[4 + i] = pack(fb, [&] { return elem(fb, eb); });
            for (int i = 0; i < 4; ++i) p[kC + i] = Tr::kInt ? gen_s32(r) : gen_acc(r, fl, ea + eb);
            p[kE] = Tr::kSparse ? gen_meta(r) : 0;
            p[kFl] = fl;
        }
        if (fl == kSpecials)
            for (int n = rin(r, 1, 3); n > 0; --n) { /* a NaN / infinity / -0 in A, B or C */
                uint32_t *p = in + rin(r, 0, 31) * kIn;
                const int which = rin(r, 0, 2), el = rin(r, 0, 32 / fa.bits - 1);
                if (which == 2) {
                    p[kC + rin(r, 0, 3)] = gen_acc_special(r);
                } else {
                    const Fmt f = which ? fb : fa;
                    uint32_t &w = p[which ? 4 + rin(r, 0, kNB - 1) : rin(r, 0, 3)];
                    const int sh = f.bits * (el % (32 / f.bits));
                    w = (w & ~(((1u << f.bits) - 1) << sh)) | gen_special(r, f) << sh;
                }
            }
    }
    const char *twin(int, const uint32_t *in, const uint32_t *, Want *w) const
    {
        uint32_t a[32][4], b[32][4] = {}, c[32][4], e[32], d[32][4];
        for (int l = 0; l < 32; ++l) {
            const uint32_t *p = in + l * kIn;
            for (int i = 0; i < 4; ++i) a[l][i] = p[i], c[l][i] = p[kC + i];
            for (int i = 0; i < kNB; ++i) b[l][i] = p[4 + i];
            e[l] = p[kE];
        }
        if (const char *err = Tr::twin(d, a, b, c, e)) return err;
        const Flavor fl = (Flavor)in[kFl];
        if (Tr::kInt || fl == kExact) {
            for (int l = 0; l < 32; ++l)
                for (int i = 0; i < 4; ++i) w[l * kOut + i] = want_bits(d[l][i], Tr::kInt ? kBits : kF32w);
            return nullptr;
        }
        /* the bound's S and subnormal allowance, from the twin on transformed operands */
        const Fmt fa = Tr::fa(), fb = Tr::fb();
        uint32_t aa[32][4], ba[32][4] = {}, ca[32][4], as[32][4], bs[32][4] = {}, zero[32][4] = {};
        uint32_t s[32][4], s1[32][4], s2[32][4];
        for (int l = 0; l < 32; ++l) {
            for (int i = 0; i < 4; ++i) {
                aa[l][i] = map_elems(a[l][i], fa, abs_code), as[l][i] = map_elems(a[l][i], fa, sub_only);
                ca[l][i] = c[l][i] & 0x7FFFFFFFu;
            }
            for (int i = 0; i < kNB; ++i)
                ba[l][i] = map_elems(b[l][i], fb, abs_code), bs[l][i] = map_elems(b[l][i], fb, sub_only);
        }
        Tr::twin(s, aa, ba, ca, e);
        Tr::twin(s1, as, ba, zero, e);
        Tr::twin(s2, aa, bs, zero, e);
        for (int l = 0; l < 32; ++l)
            for (int i = 0; i < 4; ++i) {
                const double allow = (double)u2f(s1[l][i]) + (double)u2f(s2[l][i]) +
                                     (is_sub(kF32, c[l][i]) ? fabs((double)u2f(c[l][i])) : 0.0);
                w[l * kOut + i] = bounded(d[l][i], u2f(s[l][i]), allow, Tr::kTerms + 1, Tr::kP);
            }
        return nullptr;
    }
    void where(char *buf, size_t n, int t, int j) const
    {
        snprintf(buf, n, "d%d = D[%d][%d]", j, t / 4 + 8 * (j / 2), 2 * (t % 4) + j % 2);
    }
};

/* ================================================================ mbarrier phases and parity
 * A producer warp hands kRounds rounds of 32 words to two consumer warps
 * through kStages shared slots: full[s] (count 1: the producer's lane 0)
 * and empty[s] (count 2: each consumer warp's lane 0), waited on with the
 * phase parity as the library's pipelines do (the producer's first pass
 * waits on parity 1 of a fresh barrier, which counts as complete). Every
 * consumer lane must receive the producer's words in order; a wrong parity
 * rule shows as stale words (or a hang, which Check's time-out ends). */
struct MbarOp : OpBase {
    static constexpr int kRounds = 12, kStages = 3;
    static constexpr int kThreads = 96, kIn = kRounds, kOut = kRounds;
    std::string name() const { return "mbarrier init / arrive / try_wait.parity (3-stage exchange)"; }
    size_t smem_bytes() const { return kStages * 32 * 4 + 2 * kStages * 8; }
    __device__ static void run(const NoParam &, const uint32_t *in, uint32_t *out, uint8_t *smem)
    {
        uint32_t *const slot = reinterpret_cast<uint32_t *>(smem);
        const uint32_t bars = qb::smem_u32(smem) + kStages * 32 * 4; /* full[s], then empty[s] */
        const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
        if (threadIdx.x == 0) {
            for (int s = 0; s < kStages; ++s) {
                qb::mbar_init(bars + 8 * s, 1);
                qb::mbar_init(bars + 8 * (kStages + s), 2);
            }
            qb::fence_mbarrier_init();
        }
        __syncthreads();
        for (int i = 0; i < kRounds; ++i) {
            const int s = i % kStages;
            const uint32_t ph = (uint32_t)(i / kStages) & 1u, full = bars + 8 * s, empty = bars + 8 * (kStages + s);
            if (warp == 0) {
                if (lane == 0)
                    while (!qb::mbar_try_wait(empty, ph ^ 1u)) {
                    }
                __syncwarp();
                slot[32 * s + lane] = in[i];
                __syncwarp();
                if (lane == 0) qb::mbar_arrive(full);
                out[i] = 0;
            } else {
                while (!qb::mbar_try_wait(full, ph)) {
                }
                out[i] = slot[32 * s + lane];
                __syncwarp();
                if (lane == 0) qb::mbar_arrive(empty);
            }
        }
    }
    void gen(qbt_rng *r, int, uint32_t *in) const
    {
        for (int t = 0; t < kThreads * kIn; ++t) in[t] = t < 32 * kIn ? r32(r) : 0;
    }
    const char *twin(int, const uint32_t *in, const uint32_t *, Want *w) const
    {
        for (int t = 32; t < kThreads; ++t)
            for (int i = 0; i < kRounds; ++i) w[t * kOut + i] = want_bits(in[(t % 32) * kIn + i]);
        return nullptr;
    }
    void where(char *buf, size_t n, int t, int j) const
    {
        snprintf(buf, n, "consumer warp %d lane %d, round %d", t / 32, t % 32, j);
    }
};

/* ================================================================ TMA
 * The driver's cuTensorMapEncodeTiled, looked up as src/cuda/fp8_sm90a_wgmma.cu does. */
PFN_cuTensorMapEncodeTiled_v12000 encode_fn()
{
    void *f = nullptr;
    cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
#if CUDART_VERSION >= 12050
    cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q);
#else
    cudaError_t e = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &f, cudaEnableDefault, &q);
#endif
    if (e != cudaSuccess || q != cudaDriverEntryPointSuccess) {
        (void)cudaGetLastError();
        return nullptr;
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
}

/* Encode p (rank 2, over device memory dev) with the driver; NULL or why not. */
const char *encode_map(CUtensorMap *map, const tw::TensorMapParams &p, void *dev)
{
    static char why[96];
    PFN_cuTensorMapEncodeTiled_v12000 enc = encode_fn();
    if (!enc) return "the driver has no cuTensorMapEncodeTiled";
    const cuuint64_t dims[2] = {p.global_dim[0], p.global_dim[1]}, strides[1] = {p.global_strides[0]};
    const cuuint32_t box[2] = {p.box_dim[0], p.box_dim[1]}, es[2] = {p.element_strides[0], p.element_strides[1]};
    const CUresult r =
        enc(map, (CUtensorMapDataType)p.data_type, 2, dev, dims, strides, box, es, (CUtensorMapInterleave)p.interleave,
            (CUtensorMapSwizzle)p.swizzle, (CUtensorMapL2promotion)p.l2_promotion, (CUtensorMapFloatOOBfill)p.oob_fill);
    if (r == CUDA_SUCCESS) return nullptr;
    snprintf(why, sizeof why, "cuTensorMapEncodeTiled returned %d", (int)r);
    return why;
}

/* A global tensor on the device and its copy on the host (the twin's source). */
struct DevTensor {
    std::vector<uint8_t> host;
    void *dev = nullptr;
    bool upload()
    {
        return cudaMalloc(&dev, host.size()) == cudaSuccess &&
               cudaMemcpy(dev, host.data(), host.size(), cudaMemcpyHostToDevice) == cudaSuccess;
    }
    void free_dev()
    {
        cudaFree(dev);
        dev = nullptr;
    }
};

/* One 2D tile load per unit into shared memory at a 1024-byte boundary plus
 * 128 * j (j = 0, or 1..7 for the probe of the address-keyed swizzle),
 * mbarrier-completed, then every byte of the box read back. The tensor map
 * (one per launch) varies element size, swizzle, box, tensor extents and row
 * pitch; the units' coordinates put the box inside, across the edges and
 * wholly outside the tensor (zero fill). */
struct TmaOp : OpBase {
    static constexpr int kThreads = 128, kBoxWords = 32, kIn = 4, kOut = kBoxWords + 1; /* j, c0, c1, box bytes */
    static constexpr uint32_t kMaxBox = kThreads * kBoxWords * 4;                       /* 16 KiB */
    using Param = CUtensorMap;
    Param param{};
    tw::TensorMapParams p{};
    DevTensor g;
    bool probe = false;
    std::string name() const
    {
        return probe ? "cp.async.bulk.tensor.2d (TMA), destination off the swizzle period (address-keyed pattern)"
                     : "cp.async.bulk.tensor.2d (TMA) tile load, swizzle and out-of-bounds fill";
    }
    size_t smem_bytes() const { return 1024 + 1024 + kMaxBox + 8; }
    __device__ static void run(const Param &map, const uint32_t *in, uint32_t *out, uint8_t *smem)
    {
        const uint32_t s0 = qb::smem_u32(smem), a1024 = (s0 + 1023u) & ~1023u;
        const uint32_t dst = a1024 + 128 * in[0], bar = a1024 + 1024 + kMaxBox, nwords = in[3] / 4;
        const int t = threadIdx.x;
        if (t == 0) {
            qb::mbar_init(bar, 1);
            qb::fence_mbarrier_init();
            qb::fence_proxy_async_shared();
        }
        __syncthreads();
        if (t == 0) {
            qb::mbar_arrive_expect_tx(bar, in[3]); /* the whole box counts, zero-filled parts included */
            qb::tma_load_2d(dst, &map, bar, (int)in[1], (int)in[2]);
        }
        while (!qb::mbar_try_wait(bar, 0)) {
        }
        const uint32_t *tile = reinterpret_cast<const uint32_t *>(smem + (dst - s0));
        for (int w = 0; w < kBoxWords; ++w) {
            const uint32_t k = (uint32_t)t * kBoxWords + w;
            out[w] = k < nwords ? tile[k] : 0;
        }
        out[kBoxWords] = dst;
    }
    /* A random map: its tensor (host and device) and the driver's encoding. */
    const char *setup(qbt_rng *r)
    {
        static const int kType[4] = {tw::tmap::kUint8, tw::tmap::kUint8, tw::tmap::kFloat16, tw::tmap::kFloat32};
        static const int kEsize[4] = {1, 1, 2, 4};
        const int ti = rin(r, 0, 3), es = kEsize[ti];
        memset(&p, 0, sizeof p);
        p.data_type = kType[ti], p.rank = 2;
        p.swizzle =
            probe ? rin(r, tw::tmap::kSwizzle32B, tw::tmap::kSwizzle128B)
                  : (one_in(r, 2) ? tw::tmap::kSwizzle128B : rin(r, tw::tmap::kSwizzleNone, tw::tmap::kSwizzle64B));
        const uint32_t span = p.swizzle == 0 ? 16u * (uint32_t)rin(r, 1, 16) : 16u << p.swizzle; /* box row bytes */
        p.box_dim[0] = span / (uint32_t)es;
        p.box_dim[1] = 8u * (uint32_t)rin(r, 1, (int)std::min<uint32_t>(32, kMaxBox / (8 * span)));
        p.element_strides[0] = p.element_strides[1] = 1;
        p.global_dim[0] = (uint64_t)rin(r, 1, 300), p.global_dim[1] = (uint64_t)rin(r, 1, 300);
        p.global_strides[0] = ((p.global_dim[0] * es + 15) / 16 + (uint64_t)rin(r, 0, 2)) * 16;
        p.interleave = tw::tmap::kInterleaveNone, p.oob_fill = tw::tmap::kOobFillNone;
        p.l2_promotion = rin(r, tw::tmap::kL2None, tw::tmap::kL2_256B);
        g.host.resize(p.global_strides[0] * p.global_dim[1]);
        for (uint8_t &b : g.host) b = (uint8_t)r32(r);
        if (!g.upload()) return "cudaMalloc / cudaMemcpy of the tensor failed";
        p.global_address = g.host.data();
        return encode_map(&param, p, g.dev);
    }
    /* a coordinate putting the box inside, across an edge or outside extent dim */
    static int coord(qbt_rng *r, uint64_t dim, uint32_t box)
    {
        const int d = (int)dim, b = (int)box;
        switch (r32(r) % 4) {
        case 0: return d >= b ? rin(r, 0, d - b) : 0;
        case 1: return rin(r, -b + 1, -1);
        case 2: return rin(r, std::max(0, d - b + 1), d - 1);
        default: return rin(r, -b - 8, d + 8);
        }
    }
    void gen(qbt_rng *r, int, uint32_t *in) const
    {
        const uint32_t j = probe ? (uint32_t)rin(r, 1, 7) : 0, bytes = tw::tensor_map_box_bytes(p);
        const int c0 = coord(r, p.global_dim[0], p.box_dim[0]), c1 = coord(r, p.global_dim[1], p.box_dim[1]);
        for (int t = 0; t < kThreads; ++t) {
            uint32_t *q = in + t * kIn;
            q[0] = j, q[1] = (uint32_t)c0, q[2] = (uint32_t)c1, q[3] = bytes;
        }
    }
    const char *twin(int, const uint32_t *in, const uint32_t *hw, Want *w) const
    {
        const uint32_t bytes = in[3], dst = hw[kBoxWords]; /* the kernel's own destination address */
        std::vector<uint8_t> box(bytes);
        if (const char *err = tw::tma_load_tile_2d(p, (int32_t)in[1], (int32_t)in[2], box.data(), dst)) return err;
        for (int t = 0; t < kThreads; ++t)
            for (int k = 0; k < kBoxWords; ++k) {
                const uint32_t i = (uint32_t)t * kBoxWords + k;
                uint32_t v = 0;
                if (4 * i < bytes) memcpy(&v, &box[4 * i], 4);
                w[t * kOut + k] = 4 * i < bytes ? want_bits(v) : Want();
            }
        return nullptr;
    }
    void where(char *buf, size_t n, int t, int j) const
    {
        const int off = 4 * (t * kBoxWords + j);
        snprintf(
            buf, n,
            "box byte %d (shared line %d, chunk %d; map: type %d swizzle %d box %ux%u tensor %llux%llu pitch %llu)",
            off, off / 128, off % 128 / 16, p.data_type, p.swizzle, p.box_dim[0], p.box_dim[1],
            (unsigned long long)p.global_dim[0], (unsigned long long)p.global_dim[1],
            (unsigned long long)p.global_strides[0]);
    }
};

/* Several maps, a few units each, one tally. */
void check_tma(bool probe, int sim_maps, int gpu_maps, int units)
{
    Tally tl;
    TmaOp op;
    op.probe = probe;
    tl.name = op.name();
    qbt_rng r = qbt_rng_make(name_stream(tl.name));
    for (int m = 0, maps = kSim ? sim_maps : gpu_maps; m < maps && tl.fault.empty(); ++m) {
        TmaOp mop;
        mop.probe = probe;
        if (const char *why = mop.setup(&r))
            tl.fault = std::string("map ") + std::to_string(m) + ": " + why;
        else
            run_units(mop, tl, &r, units);
        mop.g.free_dev();
    }
    report(tl);
}

/* ================================================================ wgmma
 * One warpgroup per unit: A (64 x 128 bytes) and B (128 x 128 bytes) tiles
 * of fp8 codes, K-major with the 128-byte swizzle, placed in shared memory
 * by plain stores (the swizzle computed here: chunk c of row r at c ^ (r % 8))
 * or by TMA (CU_TENSOR_MAP_SWIZZLE_128B), as the library's Hopper GEMM lays
 * them out; then one wgmma.mma_async m64n128k32 at k step kk (descriptor
 * start + 32 kk, SBO 1024) with scale-d 0 or 1. Compared: the 64
 * accumulators of every thread (bound or bit-exact) and the tiles as they
 * lie in shared memory (bit for bit). The base-offset probe places the
 * tiles 128 * j bytes past a 1024-byte boundary with the pattern starting at
 * the tile and descriptor base offset j: the twin's reading of the
 * descriptor's base-offset field (unused by the library). */
enum WgMode { kPlain, kTmaPlaced, kBaseOffset };
constexpr uint32_t kTileA = 64 * 128, kTileB = 128 * 128, kTiles = kTileA + kTileB;

/* Byte o (row o / 128, k o % 128) of a 128-byte-row tile, 128B-swizzled relative to the tile start. */
__host__ __device__ inline uint32_t swz128(uint32_t o)
{
    const uint32_t r = o / 128, k = o % 128;
    return r * 128 + ((((k >> 4) ^ (r & 7)) << 4) | (k & 15));
}
/* K-major, 128B swizzle, SBO 1024 (8 rows of 128 bytes), LBO unused: as the library's smem_desc, plus the base offset.
 */
__host__ __device__ inline uint64_t wg_desc(uint32_t addr, uint32_t base_offset)
{
    return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)(1024 >> 4) << 32) | ((uint64_t)(base_offset & 7) << 49) |
           (1ull << 62);
}

template <bool XE5, bool WE5, int MODE> struct WgmmaOp : OpBase {
    static constexpr int kThreads = 128, kTileWords = kTiles / 4 / kThreads; /* 48 */
    static constexpr int kD = kTileWords, kKk = kD + 64, kScale = kKk + 1, kJ = kKk + 2, kFl = kKk + 3, kIn = kFl + 1;
    static constexpr int kDump = 64, kBase = kDump + kTileWords, kOut = kBase + 1;
    struct Param {
        CUtensorMap a, b;
    };
    Param param{};
    DevTensor ga, gb;
    tw::TensorMapParams pa{}, pb{};
    std::string name() const
    {
        std::string s = std::string("wgmma.mma_async.m64n128k32.f32.") + fp8_name(XE5) + "." + fp8_name(WE5);
        return s + (MODE == kPlain       ? " (tiles by plain stores)"
                    : MODE == kTmaPlaced ? " (tiles by TMA)"
                                         : " (base-offset probe)");
    }
    size_t smem_bytes() const { return 1024 + 1024 + kTiles + 8; }
    __device__ static void run(const Param &prm, const uint32_t *in, uint32_t *out, uint8_t *smem)
    {
        const uint32_t s0 = qb::smem_u32(smem), a1024 = (s0 + 1023u) & ~1023u, j = in[kJ];
        const uint32_t base = a1024 + 128 * j, ta = base, tb = base + kTileA, bar = a1024 + 1024 + kTiles;
        const int t = threadIdx.x;
        if constexpr (MODE == kTmaPlaced) {
            if (t == 0) {
                qb::mbar_init(bar, 1);
                qb::fence_mbarrier_init();
                qb::fence_proxy_async_shared();
            }
            __syncthreads();
            if (t == 0) {
                qb::mbar_arrive_expect_tx(bar, kTiles);
                qb::tma_load_2d(ta, &prm.a, bar, 0, (int)blockIdx.x * 64);
                qb::tma_load_2d(tb, &prm.b, bar, 0, (int)blockIdx.x * 128);
            }
            while (!qb::mbar_try_wait(bar, 0)) {
            }
        } else {
            for (int w = 0; w < kTileWords; ++w) {
                const uint32_t off = 4u * (uint32_t)(t * kTileWords + w); /* logical byte of A, then B */
                const uint32_t at = off < kTileA ? ta + swz128(off) : tb + swz128(off - kTileA);
                *reinterpret_cast<uint32_t *>(smem + (at - s0)) = in[w];
            }
            qb::fence_proxy_async_shared(); /* generic-proxy stores, read by the async proxy */
            __syncthreads();
        }
        float d[64];
        for (int i = 0; i < 64; ++i) d[i] = __uint_as_float(in[kD + i]);
        const uint32_t kk = in[kKk];
        const uint64_t da = wg_desc(ta + 32 * kk, j), db = wg_desc(tb + 32 * kk, j);
        qb::fence_acc(d);
        qb::wgmma_fence();
        qb::wgmma_m64n128k32<XE5, WE5>(d, da, db, in[kScale]);
        qb::wgmma_commit();
        qb::fence_acc(d);
        qb::wgmma_wait0();
        qb::fence_acc(d);
        for (int i = 0; i < 64; ++i) out[i] = __float_as_uint(d[i]);
        for (int w = 0; w < kTileWords; ++w)
            out[kDump + w] =
                *reinterpret_cast<const uint32_t *>(smem + (base + 4u * (uint32_t)(t * kTileWords + w) - s0));
        out[kBase] = base;
    }
    void gen(qbt_rng *r, int u, uint32_t *in) const
    {
        const Flavor fl = (Flavor)(u % 3);
        const Fmt fa = fmt_fp8(XE5), fb = fmt_fp8(WE5);
        const int ea = rin(r, -3, 3), eb = rin(r, -3, 3), kk = rin(r, 0, 3), scale = rin(r, 0, 1);
        const uint32_t j = MODE == kBaseOffset ? (uint32_t)rin(r, 1, 7) : 0;
        uint8_t tiles[kTiles];
        for (uint32_t i = 0; i < kTiles; ++i) {
            const Fmt f = i < kTileA ? fa : fb;
            tiles[i] = (uint8_t)(fl == kExact ? exact_code(f, rin(r, -4, 4), i < kTileA ? ea : eb) : gen_finite(r, f));
        }
        if (fl == kSpecials)
            for (int n = rin(r, 1, 3); n > 0; --n) {
                const uint32_t i = r32(r) % kTiles;
                tiles[i] = (uint8_t)gen_special(r, i < kTileA ? fa : fb);
            }
        for (int t = 0; t < kThreads; ++t) {
            uint32_t *q = in + t * kIn;
            memcpy(q, tiles + 4 * kTileWords * t, 4 * kTileWords);
            for (int i = 0; i < 64; ++i)
                q[kD + i] = !scale && one_in(r, 8) ? gen_acc_special(r) /* ignored with scale-d 0 */
                                                   : gen_acc(r, fl, ea + eb);
            q[kKk] = (uint32_t)kk, q[kScale] = (uint32_t)scale, q[kJ] = j, q[kFl] = fl;
        }
        if (fl == kSpecials && scale) in[rin(r, 0, kThreads - 1) * kIn + kD + rin(r, 0, 63)] = gen_acc_special(r);
    }
    /* the logical tiles of every unit, as global tensors for the TMA mode */
    const char *prepare(const std::vector<uint32_t> &in, int units)
    {
        return MODE == kTmaPlaced ? tile_maps(in, units) : nullptr;
    }
    const char *tile_maps(const std::vector<uint32_t> &in, int units)
    {
        ga.host.resize((size_t)units * kTileA), gb.host.resize((size_t)units * kTileB);
        for (int u = 0; u < units; ++u) {
            uint8_t tiles[kTiles];
            for (int t = 0; t < kThreads; ++t)
                memcpy(tiles + 4 * kTileWords * t, &in[((size_t)u * kThreads + t) * kIn], 4 * kTileWords);
            memcpy(&ga.host[(size_t)u * kTileA], tiles, kTileA);
            memcpy(&gb.host[(size_t)u * kTileB], tiles + kTileA, kTileB);
        }
        auto map = [&](tw::TensorMapParams &p, DevTensor &g, CUtensorMap &m, uint32_t rows) {
            memset(&p, 0, sizeof p);
            p.data_type = tw::tmap::kUint8, p.rank = 2, p.swizzle = tw::tmap::kSwizzle128B;
            p.global_dim[0] = 128, p.global_dim[1] = (uint64_t)units * rows, p.global_strides[0] = 128;
            p.box_dim[0] = 128, p.box_dim[1] = rows, p.element_strides[0] = p.element_strides[1] = 1;
            p.l2_promotion = tw::tmap::kL2_256B;
            if (!g.upload()) return "cudaMalloc / cudaMemcpy of a tile tensor failed";
            p.global_address = g.host.data();
            return encode_map(&m, p, g.dev);
        };
        const char *err = map(pa, ga, param.a, 64);
        return err ? err : map(pb, gb, param.b, 128);
    }
    void release()
    {
        ga.free_dev();
        gb.free_dev();
    }
    /* The shared window as the tiles should lie in it, base = the kernel's tile address. */
    const char *window(int u, const uint32_t *in, uint32_t base, std::vector<uint8_t> &win) const
    {
        win.assign(base + kTiles, 0);
        if constexpr (MODE == kTmaPlaced) {
            const char *err = tw::tma_load_tile_2d(pa, 0, u * 64, &win[base], base);
            return err ? err : tw::tma_load_tile_2d(pb, 0, u * 128, &win[base + kTileA], base + kTileA);
        } else {
            for (int t = 0; t < kThreads; ++t)
                for (int k = 0; k < 4 * kTileWords; ++k) {
                    const uint32_t off = (uint32_t)(4 * kTileWords * t + k);
                    const uint8_t byte = (uint8_t)(in[t * kIn + k / 4] >> (8 * (k % 4)));
                    win[off < kTileA ? base + swz128(off) : base + kTileA + swz128(off - kTileA)] = byte;
                }
            return nullptr;
        }
    }
    const char *twin(int u, const uint32_t *in, const uint32_t *hw, Want *w) const
    {
        const uint32_t base = hw[kBase], kk = in[kKk], j = in[kJ];
        const bool scale = in[kScale] != 0;
        const Flavor fl = (Flavor)in[kFl];
        std::vector<uint8_t> win;
        if (const char *err = window(u, in, base, win)) return err;
        for (int t = 0; t < kThreads; ++t)
            for (int k = 0; k < kTileWords; ++k) {
                uint32_t v;
                memcpy(&v, &win[base + 4 * (t * kTileWords + k)], 4);
                w[t * kOut + kDump + k] = want_bits(v);
            }
        const uint64_t da = wg_desc(base + 32 * kk, j), db = wg_desc(base + kTileA + 32 * kk, j);
        const tw::Fp8 ta = XE5 ? tw::Fp8::E5M2 : tw::Fp8::E4M3, tb = WE5 ? tw::Fp8::E5M2 : tw::Fp8::E4M3;
        static float d[kThreads][64], s[kThreads][64], s1[kThreads][64], s2[kThreads][64];
        for (int t = 0; t < kThreads; ++t)
            for (int i = 0; i < 64; ++i) d[t][i] = u2f(in[t * kIn + kD + i]);
        auto mma = [&](float(*acc)[64], const std::vector<uint8_t> &wv) {
            return tw::wgmma_m64n128k32_f32_fp8(ta, tb, acc, da, db, scale,
                                                tw::SmemReader{wv.data(), (uint32_t)wv.size()});
        };
        if (const char *err = mma(d, win)) return err;
        if (fl == kExact) {
            for (int t = 0; t < kThreads; ++t)
                for (int i = 0; i < 64; ++i) w[t * kOut + i] = want_bits(f2u(d[t][i]), kF32w);
            return nullptr;
        }
        /* S: |A|, |B|, |D|; allowance: subnormal A with |B|, |A| with subnormal B (A codes are ta's, B's tb's) */
        std::vector<uint8_t> wabs(win);
        for (uint32_t i = base; i < base + kTiles; ++i)
            wabs[i] = (uint8_t)abs_code(fmt_fp8(i < base + kTileA ? XE5 : WE5), win[i]);
        std::vector<uint8_t> wsa_b(wabs), wsb_a(wabs);
        for (uint32_t i = base; i < base + kTiles; ++i) {
            const bool in_a = i < base + kTileA;
            (in_a ? wsa_b : wsb_a)[i] = (uint8_t)sub_only(fmt_fp8(in_a ? XE5 : WE5), win[i]);
        }
        for (int t = 0; t < kThreads; ++t)
            for (int i = 0; i < 64; ++i) s[t][i] = fabsf(u2f(in[t * kIn + kD + i])), s1[t][i] = s2[t][i] = 0;
        mma(s, wabs);
        mma(s1, wsa_b);
        mma(s2, wsb_a);
        for (int t = 0; t < kThreads; ++t)
            for (int i = 0; i < 64; ++i) {
                const uint32_t c = in[t * kIn + kD + i];
                const double allow =
                    (double)s1[t][i] + (double)s2[t][i] + (scale && is_sub(kF32, c) ? fabs((double)u2f(c)) : 0.0);
                w[t * kOut + i] = bounded(f2u(d[t][i]), s[t][i], allow, 32 + (scale ? 1 : 0), 13);
            }
        return nullptr;
    }
    void where(char *buf, size_t n, int t, int j) const
    {
        const int wp = t / 32, l = t % 32;
        if (j < 64)
            snprintf(buf, n, "d[%d] = D[%d][%d]", j, 16 * wp + l / 4 + 8 * ((j / 2) % 2),
                     8 * (j / 4) + 2 * (l % 4) + j % 2);
        else if (j < kBase)
            snprintf(buf, n, "shared tile byte %d (%s)", 4 * (t * kTileWords + j - kDump),
                     4 * (t * kTileWords + j - kDump) < (int)kTileA ? "A" : "B");
        else
            snprintf(buf, n, "tile address");
    }
};

} // namespace

/* ================================================================ the tests
 * One Check test per instruction form, one TCase per architecture group;
 * units on the simulator / on a GPU. */
#define CONF(test, ...)                                                                                                \
    START_TEST(test) { __VA_ARGS__; }                                                                                  \
    END_TEST

/* sm_80 */
CONF(lop3, check(ScalarOp<Lop3>(), 64, 4096))
CONF(byte_perm, check(ScalarOp<BytePerm>(), 64, 2048))
CONF(dp4a, check(ScalarOp<Dp4a>(), 64, 2048))
CONF(sub_f16x2, check(ScalarOp<SubF16x2>(), 64, 4096))
CONF(mul_f16x2, check(ScalarOp<MulF16x2>(), 64, 4096))
CONF(fma_bf16x2, check(ScalarOp<FmaBF16x2>(), 64, 4096))
CONF(float2half, check(ScalarOp<F2H>(), 64, 4096))
CONF(float2bfloat16, check(ScalarOp<F2BF>(), 64, 4096))
CONF(half2float, check(ScalarOp<H2F>(), 64, 2048))
CONF(bfloat162float, check(ScalarOp<BF2F>(), 64, 2048))
CONF(mma_f16, check(MmaOp<MmaF16<false>>(), 96, 3000))
CONF(mma_bf16, check(MmaOp<MmaF16<true>>(), 96, 3000))
CONF(mma_s8, check(MmaOp<MmaS8>(), 96, 3000))
CONF(mma_sp_f16, check(MmaOp<MmaSp16<false, 0>>(), 96, 3000))
CONF(mma_sp_f16_sel1, check(MmaOp<MmaSp16<false, 1>>(), 96, 3000))
CONF(mma_sp_bf16, check(MmaOp<MmaSp16<true, 0>>(), 96, 3000))
CONF(mma_sp_bf16_sel1, check(MmaOp<MmaSp16<true, 1>>(), 96, 3000))
CONF(mma_sp_s8, check(MmaOp<MmaSpS8>(), 96, 3000))
CONF(ldmatrix_x4, check(LdmatrixOp<false>(), 64, 2000))
CONF(ldmatrix_x4_trans, check(LdmatrixOp<true>(), 64, 2000))
CONF(cp_async16, check(CpAsyncOp<16>(), 64, 2000))
CONF(cp_async4, check(CpAsyncOp<4>(), 64, 2000))
/* sm_89 */
CONF(cvt_e4m3x2, check(ScalarOp<CvtE4M3>(), 64, 2048))
CONF(mma_e4m3_e4m3, check(MmaOp<MmaFp8<false, false>>(), 96, 3000))
CONF(mma_e4m3_e5m2, check(MmaOp<MmaFp8<false, true>>(), 96, 3000))
CONF(mma_e5m2_e4m3, check(MmaOp<MmaFp8<true, false>>(), 96, 3000))
CONF(mma_e5m2_e5m2, check(MmaOp<MmaFp8<true, true>>(), 96, 3000))
CONF(mma_sp_e4m3_e4m3, check(MmaOp<MmaSpFp8<false, false>>(), 96, 3000))
CONF(mma_sp_e4m3_e5m2, check(MmaOp<MmaSpFp8<false, true>>(), 96, 3000))
CONF(mma_sp_e5m2_e4m3, check(MmaOp<MmaSpFp8<true, false>>(), 96, 3000))
CONF(mma_sp_e5m2_e5m2, check(MmaOp<MmaSpFp8<true, true>>(), 96, 3000))
/* sm_90 */
CONF(mbarrier_exchange, check(MbarOp(), 16, 512))
CONF(tma_tile, check_tma(false, 12, 64, kSim ? 3 : 16))
CONF(tma_tile_off_period, check_tma(true, 8, 32, kSim ? 3 : 16))
/* sm_90a */
CONF(wgmma_e4m3_e4m3, check(WgmmaOp<false, false, kPlain>(), 9, 300))
CONF(wgmma_e4m3_e5m2, check(WgmmaOp<false, true, kPlain>(), 9, 300))
CONF(wgmma_e5m2_e4m3, check(WgmmaOp<true, false, kPlain>(), 9, 300))
CONF(wgmma_e5m2_e5m2, check(WgmmaOp<true, true, kPlain>(), 9, 300))
CONF(wgmma_e4m3_e4m3_tma, check(WgmmaOp<false, false, kTmaPlaced>(), 6, 200))
CONF(wgmma_e4m3_e5m2_tma, check(WgmmaOp<false, true, kTmaPlaced>(), 6, 200))
CONF(wgmma_e5m2_e4m3_tma, check(WgmmaOp<true, false, kTmaPlaced>(), 6, 200))
CONF(wgmma_e5m2_e5m2_tma, check(WgmmaOp<true, true, kTmaPlaced>(), 6, 200))
CONF(wgmma_base_offset, check(WgmmaOp<false, false, kBaseOffset>(), 6, 200))

namespace {

/* Device 0's compute capability and name, asked in a child process: Check
 * forks every test, and a CUDA context does not survive fork, so the parent
 * never creates one. 0 with the reason when there is no usable device. */
int probe_device(char *what, size_t n)
{
    struct {
        int cc;
        char text[320];
    } res = {0, "the probe process failed"};
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(what, n, "pipe() failed");
        return 0;
    }
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        int count = 0;
        cudaDeviceProp prop;
        cudaError_t e = cudaGetDeviceCount(&count);
        if (e == cudaSuccess && count == 0) e = cudaErrorNoDevice;
        if (e == cudaSuccess) e = cudaGetDeviceProperties(&prop, 0);
        if (e == cudaSuccess) {
            res.cc = prop.major * 10 + prop.minor;
            snprintf(res.text, sizeof res.text, "%.256s, compute capability %d.%d", prop.name, prop.major, prop.minor);
        } else {
            snprintf(res.text, sizeof res.text, "%s (%s)", cudaGetErrorName(e), cudaGetErrorString(e));
        }
        if (write(fd[1], &res, sizeof res) != (ssize_t)sizeof res) _exit(1);
        _exit(0);
    }
    close(fd[1]);
    if (pid > 0) {
        if (read(fd[0], &res, sizeof res) != (ssize_t)sizeof res) res.cc = 0;
        waitpid(pid, nullptr, 0);
    }
    close(fd[0]);
    snprintf(what, n, "%s", res.text);
    return res.cc;
}

} // namespace

Suite *qbt_suite(void)
{
    char what[400];
    g_cc = probe_device(what, sizeof what);
    if (g_cc < 80) {
        printf("conformance: no usable GPU: %s%s\n", what, g_cc ? " (below sm_80)" : "");
        fflush(stdout);
        exit(77); /* ctest: skipped */
    }
    printf("conformance on %s%s\n", what,
           kSim ? " (the simulated device: its side of each wrapper against the twins)" : "");
    Suite *s = suite_create("conformance");
    TCase *tc[kGroups] = {}; /* only the groups the device runs (a TCase left out of the suite would leak) */
    for (int g = 0; g < kGroups; ++g) {
        if (group_runs((Group)g)) {
            tc[g] = tcase_create(kGroupInfo[g].name);
            tcase_set_timeout(tc[g], kSim ? 120 : 20); /* a hang (mbarrier, TMA) ends its test, not the program */
            suite_add_tcase(s, tc[g]);
        } else {
            printf("SKIP group %s (%s): compute capability %d.%d %s\n", kGroupInfo[g].name, kGroupInfo[g].what,
                   g_cc / 10, g_cc % 10,
                   g == kSm90a ? "is not 9.0 (sm_90a code runs on 9.0 only)" : "is below it (the wrappers trap there)");
        }
    }
#define QB_CONF_ADD(g, test)                                                                                           \
    if (tc[g]) tcase_add_test(tc[g], test)
    QB_CONF_ADD(kSm80, lop3);
    QB_CONF_ADD(kSm80, byte_perm);
    QB_CONF_ADD(kSm80, dp4a);
    QB_CONF_ADD(kSm80, sub_f16x2);
    QB_CONF_ADD(kSm80, mul_f16x2);
    QB_CONF_ADD(kSm80, fma_bf16x2);
    QB_CONF_ADD(kSm80, float2half);
    QB_CONF_ADD(kSm80, float2bfloat16);
    QB_CONF_ADD(kSm80, half2float);
    QB_CONF_ADD(kSm80, bfloat162float);
    QB_CONF_ADD(kSm80, mma_f16);
    QB_CONF_ADD(kSm80, mma_bf16);
    QB_CONF_ADD(kSm80, mma_s8);
    QB_CONF_ADD(kSm80, mma_sp_f16);
    QB_CONF_ADD(kSm80, mma_sp_f16_sel1);
    QB_CONF_ADD(kSm80, mma_sp_bf16);
    QB_CONF_ADD(kSm80, mma_sp_bf16_sel1);
    QB_CONF_ADD(kSm80, mma_sp_s8);
    QB_CONF_ADD(kSm80, ldmatrix_x4);
    QB_CONF_ADD(kSm80, ldmatrix_x4_trans);
    QB_CONF_ADD(kSm80, cp_async16);
    QB_CONF_ADD(kSm80, cp_async4);
    QB_CONF_ADD(kSm89, cvt_e4m3x2);
    QB_CONF_ADD(kSm89, mma_e4m3_e4m3);
    QB_CONF_ADD(kSm89, mma_e4m3_e5m2);
    QB_CONF_ADD(kSm89, mma_e5m2_e4m3);
    QB_CONF_ADD(kSm89, mma_e5m2_e5m2);
    QB_CONF_ADD(kSm89, mma_sp_e4m3_e4m3);
    QB_CONF_ADD(kSm89, mma_sp_e4m3_e5m2);
    QB_CONF_ADD(kSm89, mma_sp_e5m2_e4m3);
    QB_CONF_ADD(kSm89, mma_sp_e5m2_e5m2);
    QB_CONF_ADD(kSm90, mbarrier_exchange);
    QB_CONF_ADD(kSm90, tma_tile);
    QB_CONF_ADD(kSm90, tma_tile_off_period);
    QB_CONF_ADD(kSm90a, wgmma_e4m3_e4m3);
    QB_CONF_ADD(kSm90a, wgmma_e4m3_e5m2);
    QB_CONF_ADD(kSm90a, wgmma_e5m2_e4m3);
    QB_CONF_ADD(kSm90a, wgmma_e5m2_e5m2);
    QB_CONF_ADD(kSm90a, wgmma_e4m3_e4m3_tma);
    QB_CONF_ADD(kSm90a, wgmma_e4m3_e5m2_tma);
    QB_CONF_ADD(kSm90a, wgmma_e5m2_e4m3_tma);
    QB_CONF_ADD(kSm90a, wgmma_e5m2_e5m2_tma);
    QB_CONF_ADD(kSm90a, wgmma_base_offset);
#undef QB_CONF_ADD
    fflush(stdout);
    return s;
}
