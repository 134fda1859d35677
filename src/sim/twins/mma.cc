/* mma.cc - twins of mma.sync and mma.sp (warp-level matrix multiply-accumulate).
 *
 * Source: PTX ISA 9.1 (https://docs.nvidia.com/cuda/parallel-thread-execution/):
 *   9.7.14.5.8   Matrix Fragments for mma.m16n8k16 with floating point type (Figures 79, 81, 83)
 *   9.7.14.5.10  Matrix Fragments for mma.m16n8k32 (Figures 88, 90, 91, 92)
 *   9.7.14.5.14  Multiply-and-Accumulate Instruction: mma ("Precision and rounding")
 *   9.7.14.6.1   Sparse matrix storage (metadata values, sparsity selector)
 *   9.7.14.6.2.2 Matrix Fragments for sparse mma.m16n8k32 with .f16 and .bf16 types (Figures 120-122)
 *   9.7.14.6.2.6 Matrix Fragments for sparse mma.m16n8k64 with .u8/.s8/.e4m3/.e5m2 type (Figures 130-137)
 *   9.7.14.6.3   Multiply-and-Accumulate Instruction: mma.sp / mma.sp::ordered_metadata
 *
 * Each twin unpacks the warp's registers into whole matrices (row-major A
 * 16xK, B Kx8), multiplies, and packs D back with the C/D layout. One
 * position function per fragment layout, shared by every variant using it.
 *
 * Floating point (NOT BIT-EXACT, see ptx_twins.h): products are exact in
 * double; C and the products are added in double in increasing k order and
 * rounded once to fp32 (nearest even); subnormal inputs are used as they are
 * (the ISA leaves order, rounding and subnormal handling unspecified). A NaN
 * result is the canonical 0x7FFFFFFF (the ISA specifies no NaN bits).
 */
#include <string.h>

#include "sim/twins/ptx_twins.h"
#include "sim/twins/twin_fp.h"
#include "common/qblas_numeric.h"

namespace qbsim {
namespace ptx {

namespace {

constexpr int kM = 16, kN = 8; /* every shape here is m16n8 */
constexpr int kMaxK = 64;

struct Pos {
    int r, c; /* row, column of the matrix the fragment belongs to */
};

int group(int lane) { return lane >> 2; }  /* groupID */
int tig(int lane) { return lane & 3; }     /* threadID_in_group */

/* C/D (16x8), register i (Figures 83, 92): row groupID (+8 for c2, c3),
 * column 2*threadID_in_group + (i & 1). */
Pos cd_pos(int lane, int i) { return {group(lane) + 8 * (i >> 1), 2 * tig(lane) + (i & 1)}; }

/* A with 16-bit elements, register j, half h (element a(2j+h)), Figure 79:
 * a0,a1 row g; a2,a3 row g+8; a4..a7 the same 8 columns to the right. Also
 * sparse m16n8k32 A (Figure 120) in compressed columns: each register holds
 * the two kept elements of one 4-wide chunk, chunk t for a0..a3 and t + 4
 * for a4..a7, i.e. compressed columns 2t, 2t+1 (+8). */
Pos a16_pos(int lane, int j, int h) { return {group(lane) + 8 * (j & 1), 2 * tig(lane) + h + 8 * (j >> 1)}; }

/* B with 16-bit elements as (k, n), register j, half h, Figure 81: b0,b1
 * rows 2t, 2t+1; b2,b3 rows 2t+8, 2t+9; column groupID. Sparse m16n8k32
 * (Figure 121, four registers) continues the pattern: register j holds rows
 * 8j + 2t + h. */
Pos b16_pos(int lane, int j, int h) { return {8 * j + 2 * tig(lane) + h, group(lane)}; }

/* A with 8-bit elements, register j, byte i (element a(4j+i)), Figure 88:
 * a0..a3 row g, a4..a7 row g+8, columns 4t..4t+3; a8..a15 the same 16
 * columns further right. Also sparse m16n8k64 A (Figures 130, 131) in
 * compressed columns: register j holds the 4 kept elements of dense columns
 * 8t..8t+7 (+32 for a8..a15), i.e. compressed columns 4t..4t+3 (+16). */
Pos a8_pos(int lane, int j, int i) { return {group(lane) + 8 * (j & 1), 4 * tig(lane) + i + 16 * (j >> 1)}; }

/* B with 8-bit elements as (k, n), register j, byte i, Figures 90, 91: rows
 * 4t..4t+3 (+16 for b4..b7), column groupID. Sparse m16n8k64 (Figures
 * 132-135, four registers) continues it: register j holds rows 16j + 4t + i. */
Pos b8_pos(int lane, int j, int i) { return {16 * j + 4 * tig(lane) + i, group(lane)}; }

/* Metadata nibble (two 2-bit indices) of 4-wide chunk q of row r.
 * Sparse m16n8k32 .f16/.bf16, Figure 122: the thread pair T(4g+2s),
 * T(4g+2s+1) of selector s holds rows g and g+8; the first thread chunks
 * 0-3 (columns 0-15), the second chunks 4-7; bits 15..0 row g, 31..16 row
 * g+8, 4 bits per chunk from the LSB. */
uint32_t nibble_k32(const uint32_t e[kWarp], int s, int r, int q)
{
    return e[4 * (r % 8) + 2 * s + q / 4] >> (4 * (q % 4) + 16 * (r / 8)) & 0xF;
}
/* Sparse m16n8k64 8-bit, Figures 136, 137 (selector 0, all four threads):
 * T(4g) row g chunks 0-7 (columns 0-31), T(4g+1) row g+8 chunks 0-7,
 * T(4g+2) row g chunks 8-15, T(4g+3) row g+8 chunks 8-15; 4 bits per chunk
 * from the LSB. */
uint32_t nibble_k64(const uint32_t e[kWarp], int r, int q)
{
    return e[4 * (r % 8) + r / 8 + 2 * (q / 8)] >> (4 * (q % 8)) & 0xF;
}

/* Every element of a fragment (nreg registers per lane, `per` elements of
 * 32/per bits each, element 0 in the low bits) into matrix m (ld columns). */
template <class T, class PosFn, class DecFn>
void unpack(T *m, int ld, const uint32_t *frag, int nreg, int per, PosFn pos, DecFn dec)
{
    const int bits = 32 / per;
    const uint32_t mask = bits == 32 ? ~0u : (1u << bits) - 1;
    for (int l = 0; l < kWarp; ++l)
        for (int j = 0; j < nreg; ++j)
            for (int i = 0; i < per; ++i) {
                Pos p = pos(l, j, i);
                m[p.r * ld + p.c] = dec(frag[l * nreg + j] >> (bits * i) & mask);
            }
}

double dec16(F16 t, uint32_t v) { return t == F16::F16 ? qb_f16_to_f32((uint16_t)v) : qb_bf16_to_f32((uint16_t)v); }
double dec8(Fp8 t, uint32_t v) { return qb_fp8_decode((uint8_t)v, t == Fp8::E4M3 ? QB_FP8_E4M3 : QB_FP8_E5M2); }
int32_t decs8(uint32_t v) { return (int8_t)(uint8_t)v; }

/* The operand matrices of one instruction. kept[r][k] is false where a
 * sparse A has no element. Such positions take no part in the sum: the ISA
 * only calls them zeros, and taking them as 0 * B would turn an inf or NaN
 * in a B row the metadata does not select into NaN; the sparse tensor core
 * multiplies just the B rows the metadata selects (a choice the GPU
 * conformance run should confirm). */
template <class T> struct Operands { /* ~13 KiB: one per thread, off the (possibly small fiber) stack */
    int K;
    T a[kM * kMaxK], b[kMaxK * kN];
    bool kept[kM * kMaxK];
};

/* D = A*B + C, fp32 (9.7.14.5.14): see the file comment. d may alias c:
 * each D element reads only its own C element, first. */
void multiply(const Operands<double> &o, float d[kWarp][4], const float c[kWarp][4])
{
    for (int l = 0; l < kWarp; ++l)
        for (int i = 0; i < 4; ++i) {
            Pos p = cd_pos(l, i);
            double acc = c[l][i];
            for (int k = 0; k < o.K; ++k)
                if (o.kept[p.r * o.K + k]) acc += o.a[p.r * o.K + k] * o.b[k * kN + p.c];
            d[l][i] = twin::round_acc_f32(acc);
        }
}

/* D = A*B + C, s32 without .satfinite: "the accumulated value is wrapped". */
void multiply(const Operands<int32_t> &o, int32_t d[kWarp][4], const int32_t c[kWarp][4])
{
    for (int l = 0; l < kWarp; ++l)
        for (int i = 0; i < 4; ++i) {
            Pos p = cd_pos(l, i);
            uint32_t acc = (uint32_t)c[l][i];
            for (int k = 0; k < o.K; ++k)
                if (o.kept[p.r * o.K + k]) acc += (uint32_t)(o.a[p.r * o.K + k] * o.b[k * kN + p.c]);
            d[l][i] = (int32_t)acc;
        }
}

/* A dense operand set: every A position takes part. */
template <class T> void dense(Operands<T> &o, int K)
{
    o.K = K;
    for (int i = 0; i < kM * K; ++i) o.kept[i] = true;
}

/* Places the compressed A (16 x K/2, already unpacked in `comp`) at the
 * positions the metadata names (9.7.14.6.1): in chunk q of a row, compressed
 * columns 2q and 2q+1 go to 4q + bits[1:0] and 4q + bits[3:2] of its nibble.
 * Undefined metadata: the two indices equal (0b0000, 0b0101, 0b1010, 0b1111
 * "will result in undefined behavior"), or, for ::ordered_metadata, not
 * increasing from the LSB (9.7.14.6.3). */
template <class T, class NibbleFn>
const char *expand(Operands<T> &o, const T *comp, int K, bool ordered, NibbleFn nibble)
{
    o.K = K;
    for (int i = 0; i < kM * K; ++i) o.kept[i] = false, o.a[i] = T();
    for (int r = 0; r < kM; ++r)
        for (int q = 0; q < K / 4; ++q) {
            uint32_t n = nibble(r, q), i0 = n & 3, i1 = n >> 2;
            if (i0 == i1) return "mma.sp: metadata names one position twice in a 4-element chunk (undefined, PTX ISA 9.7.14.6.1)";
            if (ordered && i0 > i1)
                return "mma.sp::ordered_metadata: metadata indices of a chunk not increasing from the LSB (undefined, PTX ISA 9.7.14.6.3)";
            for (int s = 0; s < 2; ++s) {
                int k = 4 * q + (int)(s ? i1 : i0);
                o.a[r * K + k] = comp[r * (K / 2) + 2 * q + s];
                o.kept[r * K + k] = true;
            }
        }
    return nullptr;
}

/* Sparsity selector (9.7.14.6.1): m16n8k32 .f16/.bf16 takes 0 (T0, T1) or 1
 * (T2, T3); m16n8k64 8-bit takes 0 only; anything else is undefined. */
const char *check_selector_k32(int s)
{
    return s == 0 || s == 1 ? nullptr : "mma.sp m16n8k32: sparsity selector must be 0 or 1 (PTX ISA 9.7.14.6.1)";
}
const char *check_selector_k64(int s)
{
    return s == 0 ? nullptr : "mma.sp m16n8k64: sparsity selector must be 0 (PTX ISA 9.7.14.6.1)";
}

} // namespace

/* mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32 */
void mma_m16n8k16_f32(F16 t, float d[kWarp][4], const uint32_t a[kWarp][4], const uint32_t b[kWarp][2],
                      const float c[kWarp][4])
{
    static thread_local Operands<double> o;
    auto dec = [t](uint32_t v) { return dec16(t, v); };
    dense(o, 16);
    unpack(o.a, 16, &a[0][0], 4, 2, a16_pos, dec);
    unpack(o.b, kN, &b[0][0], 2, 2, b16_pos, dec);
    multiply(o, d, c);
}

/* mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 (no .satfinite) */
void mma_m16n8k32_s32_s8(int32_t d[kWarp][4], const uint32_t a[kWarp][4], const uint32_t b[kWarp][2],
                         const int32_t c[kWarp][4])
{
    static thread_local Operands<int32_t> o;
    dense(o, 32);
    unpack(o.a, 32, &a[0][0], 4, 4, a8_pos, decs8);
    unpack(o.b, kN, &b[0][0], 2, 4, b8_pos, decs8);
    multiply(o, d, c);
}

/* mma.sync.aligned.m16n8k32.row.col.f32.{e4m3,e5m2}.{e4m3,e5m2}.f32 */
void mma_m16n8k32_f32_fp8(Fp8 ta, Fp8 tb, float d[kWarp][4], const uint32_t a[kWarp][4], const uint32_t b[kWarp][2],
                          const float c[kWarp][4])
{
    static thread_local Operands<double> o;
    dense(o, 32);
    unpack(o.a, 32, &a[0][0], 4, 4, a8_pos, [ta](uint32_t v) { return dec8(ta, v); });
    unpack(o.b, kN, &b[0][0], 2, 4, b8_pos, [tb](uint32_t v) { return dec8(tb, v); });
    multiply(o, d, c);
}

/* mma.sp{::ordered_metadata}.sync.aligned.m16n8k32.row.col.f32.{f16,bf16}.{f16,bf16}.f32 */
const char *mma_sp_m16n8k32_f32(F16 t, bool ordered, float d[kWarp][4], const uint32_t a[kWarp][4],
                                const uint32_t b[kWarp][4], const float c[kWarp][4], const uint32_t e[kWarp],
                                int selector)
{
    static thread_local Operands<double> o;
    double comp[kM * 16];
    auto dec = [t](uint32_t v) { return dec16(t, v); };
    if (const char *err = check_selector_k32(selector)) return err;
    unpack(comp, 16, &a[0][0], 4, 2, a16_pos, dec);
    if (const char *err = expand(o, comp, 32, ordered, [&](int r, int q) { return nibble_k32(e, selector, r, q); }))
        return err;
    unpack(o.b, kN, &b[0][0], 4, 2, b16_pos, dec);
    multiply(o, d, c);
    return nullptr;
}

/* mma.sp{::ordered_metadata}.sync.aligned.m16n8k64.row.col.s32.s8.s8.s32 (no .satfinite) */
const char *mma_sp_m16n8k64_s32_s8(bool ordered, int32_t d[kWarp][4], const uint32_t a[kWarp][4],
                                   const uint32_t b[kWarp][4], const int32_t c[kWarp][4], const uint32_t e[kWarp],
                                   int selector)
{
    static thread_local Operands<int32_t> o;
    int32_t comp[kM * 32];
    if (const char *err = check_selector_k64(selector)) return err;
    unpack(comp, 32, &a[0][0], 4, 4, a8_pos, decs8);
    if (const char *err = expand(o, comp, 64, ordered, [&](int r, int q) { return nibble_k64(e, r, q); })) return err;
    unpack(o.b, kN, &b[0][0], 4, 4, b8_pos, decs8);
    multiply(o, d, c);
    return nullptr;
}

/* mma.sp{::ordered_metadata}.sync.aligned.m16n8k64.row.col.f32.{e4m3,e5m2}.{e4m3,e5m2}.f32
 * (the sm_89 form without .kind; its metadata rules are the general ones of
 * 9.7.14.6.1 - the "ordered values only" paragraph there is for .kind::f8f6f4). */
const char *mma_sp_m16n8k64_f32_fp8(Fp8 ta, Fp8 tb, bool ordered, float d[kWarp][4], const uint32_t a[kWarp][4],
                                    const uint32_t b[kWarp][4], const float c[kWarp][4], const uint32_t e[kWarp],
                                    int selector)
{
    static thread_local Operands<double> o;
    double comp[kM * 32];
    if (const char *err = check_selector_k64(selector)) return err;
    unpack(comp, 32, &a[0][0], 4, 4, a8_pos, [ta](uint32_t v) { return dec8(ta, v); });
    if (const char *err = expand(o, comp, 64, ordered, [&](int r, int q) { return nibble_k64(e, r, q); })) return err;
    unpack(o.b, kN, &b[0][0], 4, 4, b8_pos, [tb](uint32_t v) { return dec8(tb, v); });
    multiply(o, d, c);
    return nullptr;
}

} // namespace ptx
} // namespace qbsim
