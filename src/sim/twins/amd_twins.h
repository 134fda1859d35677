/* amd_twins.h - software twins of the AMD wave64 instructions the HIP kernels
 * use (src/hip/hip_isa.h), for gfx90a (CDNA2, MI200) and gfx942 (CDNA3,
 * MI300): pure functions, written from AMD's documents (each definition
 * cites its section), never from the kernels' own assumptions.
 *
 * Sources (facts only, no code):
 *  - "AMD Instinct MI300 (CDNA3) Instruction Set Architecture" and the MI200
 *    (CDNA2) edition, chapter 7 "Matrix Arithmetic Instructions": 7.1
 *    "Matrix fused-multiply-add (MFMA)", 7.1.2 (the rules of the MFMA
 *    instructions: denorm, clamp, round mode), 7.1.4 "General input and
 *    output layout" (7.1.4.1 "Input layout", 7.1.4.2 "Output layout");
 *    12.12 "LDS Instructions" (DS_BPERMUTE_B32). The text at hand was the
 *    CDNA4 edition of these sections (it lists the same 16x16 MFMA forms
 *    and gives the general layout and the DS pseudo-code); its fp8/bf8 are
 *    the OCP formats, so the CDNA3 formats come from the sources below.
 *  - AMD's Matrix Instruction Calculator (github.com/ROCm/
 *    amd_matrix_instruction_calculator, --register-layout, --detail-
 *    instruction) for every MFMA form below, CDNA2 and CDNA3; its tables
 *    are transcribed in tests/sim/test_sim_twins_amd.cc.
 *  - The CDNA3 fp8/bf8 formats (FNUZ): AMD's ROCm blog "Matrix Core
 *    Programming on AMD CDNA3 and CDNA4" (CDNA3 uses E4M3FNUZ / E5M2FNUZ,
 *    CDNA4 the OCP formats) and AMD's format table in composable_kernel
 *    (ck_tile float8.hpp, "NANOO" column); the calculator names them
 *    "AMD 4-bit exponent, 3-bit mantissa" / "5-bit exponent, 2-bit mantissa".
 *
 * Register arrays are indexed [lane][register] for the 64 lanes of a
 * wavefront, exactly what each lane holds before and after the instruction.
 * The wave64 executor gathers the lanes and calls these.
 *
 * MFMA layouts (7.1.4; K_L = K / (64 / M) = E elements per lane, M = N = 16,
 * one block): A[i][k] (16 x K) is element k % E of lane 16 * (k / E) + i;
 * B[k][j] (K x 16) element k % E of lane 16 * (k / E) + j; D[i][j] and C[i][j]
 * register i % 4 of lane 16 * (i / 4) + j. Elements pack little-endian into
 * a lane's 32-bit registers: element e of b-bit elements sits in bits
 * b * (e % (32 / b)) of register e / (32 / b). E = 4 for the K = 16 forms,
 * 8 for the K = 32 forms.
 *
 * Semantics: D[i][j] = C[i][j] + sum_k A[i][k] * B[k][j] (7.1.4). The MFMA
 * rules (7.1.2) keep input and output denormals (the MODE denorm control is
 * ignored), round to nearest even, and without clamp (a modifier bit the
 * builtins of hip_isa.h do not set) let fp32 overflow to +-inf and drop
 * the carry-out of i32 results.
 *   Integer forms: exact, wrapping mod 2^32.
 *   Float forms, NOT BIT-EXACT: the ISA leaves the order and internal
 *   precision of the accumulation open. The twins form every product
 *   exactly, add C first and then the products in increasing k in double,
 *   and round once to fp32 (nearest even; subnormals kept, overflow to
 *   inf), as the PTX mma twin does (src/sim/twins/mma.cc). A NaN result is
 *   the canonical 0x7FFFFFFF (the ISA names no NaN bits).
 * d may be the same array as c.
 */
#ifndef QBSIM_AMD_TWINS_H
#define QBSIM_AMD_TWINS_H

#include <stddef.h>
#include <stdint.h>

namespace qbsim {
namespace amd {

constexpr int kWave = 64; /* lanes of a wavefront */

enum class F16 { F16, BF16 }; /* 16-bit MFMA operand types (IEEE binary16, bfloat16) */
enum class F8 { FP8, BF8 };   /* CDNA3 fp8 = E4M3FNUZ (bias 8), bf8 = E5M2FNUZ (bias 16) */

/* ---------------------------------------------------------------- element decoders
 * One fp8/bf8 code as the CDNA3 MFMA reads it, exactly. FNUZ formats: no
 * infinities, one zero (0x00), and 0x80 (what would be -0) is the only NaN
 * (returned as 0x7FFFFFFF). Every other code is finite, subnormals included:
 *   FP8 (E4M3FNUZ): s.eeee.mmm, bias 8: e = 0: (m / 8) * 2^(1 - 8) (smallest
 *     0x01 = 2^-10); else (1 + m / 8) * 2^(e - 8) (largest 0x7F = 240).
 *   BF8 (E5M2FNUZ): s.eeeee.mm, bias 16: e = 0: (m / 4) * 2^(1 - 16) (0x01 =
 *     2^-17); else (1 + m / 4) * 2^(e - 16) (0x7F = 57344). */
float f8_to_f32(F8 t, uint8_t code);

/* ---------------------------------------------------------------- MFMA 16x16
 * v_mfma_f32_16x16x16_f16 (gfx90a, gfx942) / v_mfma_f32_16x16x16bf16_1k
 * (gfx90a; v_mfma_f32_16x16x16_bf16 on gfx942): a, b: per lane 4 16-bit
 * elements, element e in bits 16 * (e % 2) of word e / 2; c, d: per lane 4
 * f32 accumulator registers. bf16 inputs are decoded exactly. */
void mfma_f32_16x16x16(F16 t, float d[kWave][4], const uint32_t a[kWave][2], const uint32_t b[kWave][2],
                       const float c[kWave][4]);
/* v_mfma_i32_16x16x16_i8 (gfx90a): one word per lane, byte e = element e (signed). */
void mfma_i32_16x16x16_i8(int32_t d[kWave][4], const uint32_t a[kWave], const uint32_t b[kWave],
                          const int32_t c[kWave][4]);
/* v_mfma_i32_16x16x32_i8 (gfx942): two words per lane = 8 bytes, byte e of the
 * 64-bit pair (word 0 low) = element e (signed). */
void mfma_i32_16x16x32_i8(int32_t d[kWave][4], const uint32_t a[kWave][2], const uint32_t b[kWave][2],
                          const int32_t c[kWave][4]);
/* v_mfma_f32_16x16x32_{fp8,bf8}_{fp8,bf8} (gfx942): the first type names A
 * (SRC0), the second B (SRC1); 8 codes per lane as for the i8 form. */
void mfma_f32_16x16x32_f8(F8 ta, F8 tb, float d[kWave][4], const uint32_t a[kWave][2], const uint32_t b[kWave][2],
                          const float c[kWave][4]);

/* ---------------------------------------------------------------- cross-lane
 * ds_bpermute_b32 (12.12 "LDS Instructions", DS_BPERMUTE_B32): for every
 * lane l in exec, out[l] = data[src] with src = (addr[l] / 4) mod 64, i.e.
 * bits [7:2] of the byte address (the ISA: "High-order bits are ignored";
 * the low two bits are dropped by the division), or 0 when lane src is not
 * in exec ("EXEC is applied to the source VGPR reads"). Lanes not in exec
 * keep out[l]. addr[l] is the 32-bit sum the ISA forms, VGPR address plus
 * the instruction's OFFSET field (the executor adds it; the kernels use 0).
 * out may be the same array as addr or data (all sources are read first). */
void ds_bpermute_b32(uint32_t out[kWave], const uint32_t addr[kWave], const uint32_t data[kWave], uint64_t exec);

} // namespace amd
} // namespace qbsim

#endif /* QBSIM_AMD_TWINS_H */
