/* hip_layout.h - the index arithmetic of the AMD kernels as plain functions
 * (C and HIP, host and device), so that the host test suite checks it
 * (tests/test_hip_layout.c) against cases worked by hand from AMD's
 * documents, CuTe-style: the kernels (hip_gemm.cuh) and the prepack
 * compute every lane / register / byte position through these.
 *
 * MFMA 16x16 register layouts (CDNA2 and CDNA3 ISA, chapter 7 "Matrix
 * Arithmetic Instructions"; AMD Matrix Instruction Calculator, e.g.
 * `--architecture cdna3 --instruction v_mfma_f32_16x16x16_f16
 * --register-layout --A-matrix`: A[0][0..3] -> lane 0 (v0.lo, v0.hi, v1.lo,
 * v1.hi), A[0][4] -> lane 16, A[1][0] -> lane 1; D[0][0] -> v0 lane 0,
 * D[1][0] -> v1 lane 0, D[4][0] -> v0 lane 16, D[0][1] -> v0 lane 1):
 *   A[i][k] (16 x K):  lane 16 * (k / E) + i, element k % E of the lane;
 *   B[k][j] (K x 16):  lane 16 * (k / E) + j, element k % E;
 *   D[i][j] (16 x 16): lane 16 * (i / 4) + j, accumulator register i % 4;
 * E = K / 4 elements per lane: 4 for v_mfma_f32_16x16x16_{f16,bf16} and
 * v_mfma_i32_16x16x16_i8 (gfx90a), 8 for v_mfma_i32_16x16x32_i8 and
 * v_mfma_f32_16x16x32_{fp8,bf8}_{fp8,bf8} (gfx942). Elements sit in a
 * lane's registers in k order, lowest bits first.
 */
#ifndef QBLAS_HIP_LAYOUT_H
#define QBLAS_HIP_LAYOUT_H

#include <stdint.h>

#include "common/qblas_numeric.h" /* QB_HD */

/* ---- MFMA 16x16xK operand and result positions ---- */
/* lane of A[i][k] (also of B[k][i]); E elements per lane */
QB_HD int qb_amd_mfma16_ab_lane(int i, int k, int e) { return 16 * (k / e) + i; }
/* element (within the lane's E) of A[i][k] / B[k][i] */
QB_HD int qb_amd_mfma16_ab_elem(int k, int e) { return k % e; }
/* lane and accumulator register of D[i][j] */
QB_HD int qb_amd_mfma16_d_lane(int i, int j) { return 16 * (i / 4) + j; }
QB_HD int qb_amd_mfma16_d_reg(int i) { return i % 4; }

/* ---- the GEMM's k order (hip_gemm.cuh) ----
 * A stage covers k [64 t, 64 t + 64). Lane group g = lane / 16 loads the
 * run k [64 t + 16 g, 64 t + 16 g + 16); MFMA step s of the stage (E
 * elements per lane, 16 / E steps) feeds elements [E s, E s + E) of the
 * run as its operand k' = E g + e. The map below, k' of step s -> the k of
 * the problem, is the same for A (weights) and B (activations): every k of
 * the stage meets itself in exactly one (step, k') (the test checks it). */
QB_HD int qb_amd_stage_k(int t, int s, int kprime, int e)
{
    const int g = kprime / e, el = kprime % e;
    return 64 * t + 16 * g + e * s + el;
}

/* ---- packed u4 weights (QBLAS_LAYOUT_HIP_W4A16, QBLAS_LAYOUT_HIP_W4A8) ----
 * Chunks of 32 weight rows x 64 k, 1024 bytes, chunk (r / 32, k / 64) at
 * ((r / 32) * kt + k / 64) * 1024; lane l (i = l % 16, g = l / 16) owns
 * bytes [16 l, 16 l + 16): rows 32 (r / 32) + i (bytes 0-7) and
 * 32 (r / 32) + 16 + i (bytes 8-15) at k = 64 t + 16 g + kl; byte 4 q + j
 * (q = 0, 1) holds kl = 8 q + j (low nibble) and kl = 8 q + 4 + j (high). So
 * one 16-byte load gives a lane both of its tiles' runs, and MFMA step s
 * (E = 4) reads byte j of word s / 2 at nibble s % 2: kl = 4 s + j. */
QB_HD long long qb_amd_u4_byte(int r, int k, int kt)
{
    const int r32 = r / 32, rr = r % 32, t = k / 64, kk = k % 64;
    const int lane = 16 * (kk / 16) + rr % 16, kl = kk % 16;
    const int byte = 8 * (rr / 16) + 4 * (kl / 8) + kl % 4;
    return ((long long)r32 * kt + t) * 1024 + 16 * lane + byte;
}
/* 0: low nibble, 4: high */
QB_HD int qb_amd_u4_shift(int k) { return 4 * ((k % 8) / 4); }
/* The other code in (r, k)'s byte: (r, k ^ 4), at the other nibble (kl =
 * 8 q + j and 8 q + 4 + j share byte 4 q + j). So the four bytes of row r's
 * k [8 a, 8 a + 8) hold exactly those eight codes: a writer that owns such
 * a run owns whole bytes (the prepack's gather, hip_prepack.hip). */
QB_HD int qb_amd_u4_partner(int k) { return k ^ 4; }

/* ---- fp8 codes as the CDNA3 MFMA reads them (FNUZ) ----
 * Four codes at once, as the kernels convert activations in registers and
 * the prepack converts weights. OCP E4M3 (bias 7) read as E4M3FNUZ (bias 8)
 * is worth exactly half for every finite code, normal or subnormal (same
 * mantissa, exponent one lower), OCP E5M2 -> E5M2FNUZ likewise (bias 15 ->
 * 16); the GEMM multiplies its fp32 block sums by 2 per such operand (exact).
 * Only the codes without a fnuz meaning change: -0 (0x80 is the fnuz NaN)
 * -> 0x00; NaN (E4M3: 0x7F, 0xFF; E5M2: exponent field 31, inf included:
 * fnuz has no infinity) -> 0x80 (NaN). e5m2: 0 for E4M3 input, 1 for E5M2. */
QB_HD uint32_t qb_amd_fp8x4_to_fnuz(uint32_t w, int e5m2)
{
    const uint32_t field = e5m2 ? 0x7C7C7C7Cu : 0x7F7F7F7Fu; /* all ones: NaN (or inf) */
    const uint32_t one = e5m2 ? 0x04040404u : 0x01010101u;
    const uint32_t special = ((w & field) + one) & 0x80808080u;   /* bit 7 of the bytes whose field is all ones */
    const uint32_t nonzero = ((w & 0x7F7F7F7Fu) + 0x7F7F7F7Fu) & 0x80808080u; /* bit 7: magnitude != 0 */
    const uint32_t negzero = w & ~nonzero & 0x80808080u;
    const uint32_t sel = (special >> 7) * 0xFFu; /* 0xFF in the special bytes */
    w &= ~negzero;                               /* -0 -> +0 */
    return (w & ~sel) | special;                 /* NaN (inf) -> 0x80 */
}

/* ---- W4A8: u4 codes widened to the int8 weight in registers ----
 * w8 = code * s2 - z * s2 (docs/FORMATS.md, W4A8), four lanes of a word at
 * once (QServe's multiply-then-subtract, made carry-safe): with
 * kc = 0x80808080 - z s2 0x01010101 (mod 2^32), codes * s2 + kc equals
 * sum_i (w8_i + 128) 256^i mod 2^32 (polynomial identity at 256), and every
 * coefficient lies in [0, 255] because the prepack content check bounds w8
 * to [-128, 127] (s2 in [1, 127]); so byte i is w8_i + 128 exactly and the
 * xor with 0x80 makes it w8_i's two's complement. hi: the high nibbles. */
QB_HD uint32_t qb_amd_w4a8_kc(uint32_t z, uint32_t s2) { return 0x80808080u - z * s2 * 0x01010101u; }
QB_HD uint32_t qb_amd_widen_u4x4(uint32_t q, int hi, uint32_t s2, uint32_t kc)
{
    const uint32_t codes = (hi ? q >> 4 : q) & 0x0F0F0F0Fu;
    return (codes * s2 + kc) ^ 0x80808080u;
}

#endif /* QBLAS_HIP_LAYOUT_H */
