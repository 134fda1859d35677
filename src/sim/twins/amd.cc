/* amd.cc - twins of the AMD wave64 instructions: the 16x16 MFMA forms of
 * gfx90a / gfx942 and ds_bpermute_b32 (declared, with their sources, in
 * amd_twins.h).
 *
 * Sources: CDNA3 / CDNA2 ISA chapter 7 "Matrix Arithmetic Instructions"
 * (7.1.2 MFMA rules, 7.1.4.1 "Input layout", 7.1.4.2 "Output layout"), 12.12
 * "LDS Instructions" (DS_BPERMUTE_B32); AMD Matrix Instruction Calculator;
 * the CDNA3 FNUZ fp8/bf8 formats (see amd_twins.h).
 *
 * Each MFMA twin reads the wavefront's registers into whole matrices (A
 * 16 x K, B K x 16, values), multiplies, and writes D back with the C/D
 * layout. One position function per layout, shared by every form: the
 * forms differ only in K, the element width and the element decoder.
 *
 * Floating point (NOT BIT-EXACT, see amd_twins.h): products exact in
 * double, C first and then k ascending, in double, one rounding to fp32
 * (src/sim/twins/twin_fp.h, as the PTX mma twins).
 */
#include "sim/twins/amd_twins.h"

#include <math.h>

#include "common/qblas_numeric.h"
#include "sim/twins/twin_fp.h"

namespace qbsim {
namespace amd {

namespace {

constexpr int kM = 16, kN = 16; /* every form here is 16x16 */
constexpr int kMaxK = 32;

/* 7.1.4.1: with M = N = 16 and one block, K_L = K / (64 / 16) = K / 4 = E;
 * A[i][k] is item k % E of lane i + 16 * (k / E), B[k][j] item k % E of lane
 * j + 16 * (k / E). The calculator prints the same, e.g. for
 * v_mfma_f32_16x16x16_f16 "A[i][k] Lane: 16 * floor(k / 4) + i". */
int ab_lane(int row_or_col, int k, int e) { return 16 * (k / e) + row_or_col; }

/* 7.1.4.2 with H = 4, B_I = ceil(64 / (16 * 16 / 4)) = 1, M_I = 64 / 16 = 4,
 * G = 16 / (4 * 4) = 1: D[i][j] is item (i % 4) of lane j + 16 * (i / 4). */
int d_lane(int i, int j) { return j + 16 * (i / 4); }
int d_reg(int i) { return i % 4; }

/* Item e of a lane's operand: items of `bits` bits pack little-endian into
 * the lane's consecutive 32-bit registers (7.1.4: "16-bit quantities ... odd
 * items in bits 31-16", "8-bit quantities, four items are packed into a
 * register"). */
uint32_t item(const uint32_t *regs, int bits, int e)
{
    const int per = 32 / bits;
    return regs[e / per] >> (bits * (e % per)) & ((1u << bits) - 1);
}

template <class T> struct Operands { /* ~6 KiB: one per thread, off the (possibly small fiber) stack */
    int K;
    T a[kM][kMaxK], b[kMaxK][kN];
};

/* A and B of a form with K columns of A, `nreg` registers per lane of
 * `bits`-bit elements, decoded by deca / decb. */
template <class T, class DecA, class DecB>
void gather(Operands<T> &o, int K, const uint32_t *a, const uint32_t *b, int nreg, int bits, DecA deca, DecB decb)
{
    const int e = K / 4;
    o.K = K;
    for (int k = 0; k < K; ++k)
        for (int x = 0; x < 16; ++x) {
            const int lane = ab_lane(x, k, e);
            o.a[x][k] = deca(item(a + lane * nreg, bits, k % e));
            o.b[k][x] = decb(item(b + lane * nreg, bits, k % e));
        }
}

/* D = A*B + C in fp32 (file comment). d may alias c: every D element reads
 * only its own C element, before it is written. */
void multiply(const Operands<double> &o, float d[kWave][4], const float c[kWave][4])
{
    for (int i = 0; i < kM; ++i)
        for (int j = 0; j < kN; ++j) {
            const int l = d_lane(i, j), r = d_reg(i);
            double acc = c[l][r];
            for (int k = 0; k < o.K; ++k) acc += o.a[i][k] * o.b[k][j];
            d[l][r] = twin::round_acc_f32(acc);
        }
}

/* D = A*B + C in i32, clamp off: "the carry out bits are dropped" (7.1.2). */
void multiply(const Operands<int32_t> &o, int32_t d[kWave][4], const int32_t c[kWave][4])
{
    for (int i = 0; i < kM; ++i)
        for (int j = 0; j < kN; ++j) {
            const int l = d_lane(i, j), r = d_reg(i);
            uint32_t acc = (uint32_t)c[l][r];
            for (int k = 0; k < o.K; ++k) acc += (uint32_t)(o.a[i][k] * o.b[k][j]);
            d[l][r] = (int32_t)acc;
        }
}

double dec16(F16 t, uint32_t v) { return t == F16::F16 ? qb_f16_to_f32((uint16_t)v) : qb_bf16_to_f32((uint16_t)v); }
int32_t decs8(uint32_t v) { return (int8_t)(uint8_t)v; }

} // namespace

/* E4M3FNUZ / E5M2FNUZ, amd_twins.h: bias 2^(ebits-1), no inf, 0x80 NaN. */
float f8_to_f32(F8 t, uint8_t code)
{
    const int mbits = t == F8::FP8 ? 3 : 2, bias = t == F8::FP8 ? 8 : 16;
    if (code == 0x80) return twin::round_acc_f32(NAN);
    const int e = (code & 0x7F) >> mbits, m = code & ((1 << mbits) - 1);
    const float mag = e == 0 ? ldexpf((float)m, 1 - bias - mbits) : ldexpf((float)((1 << mbits) + m), e - bias - mbits);
    return code & 0x80 ? -mag : mag;
}

/* v_mfma_f32_16x16x16_f16, v_mfma_f32_16x16x16bf16_1k / _bf16 */
void mfma_f32_16x16x16(F16 t, float d[kWave][4], const uint32_t a[kWave][2], const uint32_t b[kWave][2],
                       const float c[kWave][4])
{
    static thread_local Operands<double> o;
    auto dec = [t](uint32_t v) { return dec16(t, v); };
    gather(o, 16, &a[0][0], &b[0][0], 2, 16, dec, dec);
    multiply(o, d, c);
}

/* v_mfma_i32_16x16x16_i8 (gfx90a) */
void mfma_i32_16x16x16_i8(int32_t d[kWave][4], const uint32_t a[kWave], const uint32_t b[kWave],
                          const int32_t c[kWave][4])
{
    static thread_local Operands<int32_t> o;
    gather(o, 16, a, b, 1, 8, decs8, decs8);
    multiply(o, d, c);
}

/* v_mfma_i32_16x16x32_i8 (gfx942) */
void mfma_i32_16x16x32_i8(int32_t d[kWave][4], const uint32_t a[kWave][2], const uint32_t b[kWave][2],
                          const int32_t c[kWave][4])
{
    static thread_local Operands<int32_t> o;
    gather(o, 32, &a[0][0], &b[0][0], 2, 8, decs8, decs8);
    multiply(o, d, c);
}

/* v_mfma_f32_16x16x32_{fp8,bf8}_{fp8,bf8} (gfx942): ta decodes A (SRC0), tb B (SRC1) */
void mfma_f32_16x16x32_f8(F8 ta, F8 tb, float d[kWave][4], const uint32_t a[kWave][2], const uint32_t b[kWave][2],
                          const float c[kWave][4])
{
    static thread_local Operands<double> o;
    gather(o, 32, &a[0][0], &b[0][0], 2, 8, [ta](uint32_t v) { return (double)f8_to_f32(ta, (uint8_t)v); },
           [tb](uint32_t v) { return (double)f8_to_f32(tb, (uint8_t)v); });
    multiply(o, d, c);
}

/* DS_BPERMUTE_B32 (12.12): the pseudo-code's two loops, tmp zeroed first. */
void ds_bpermute_b32(uint32_t out[kWave], const uint32_t addr[kWave], const uint32_t data[kWave], uint64_t exec)
{
    uint32_t tmp[kWave];
    for (int l = 0; l < kWave; ++l) {
        const int src = (int)(addr[l] / 4 % kWave); /* "ADDR needs to be divided by 4. High-order bits are ignored." */
        tmp[l] = exec >> src & 1 ? data[src] : 0;   /* "EXEC is applied to the source VGPR reads." */
    }
    for (int l = 0; l < kWave; ++l)
        if (exec >> l & 1) out[l] = tmp[l];
}

} // namespace amd
} // namespace qbsim
