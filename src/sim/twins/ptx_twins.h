/* ptx_twins.h - software twins of the PTX instructions the CUDA kernels use:
 * pure functions, written from the PTX ISA document (each definition cites
 * its section), never from the kernels' own assumptions.
 *
 * A twin computes what the instruction computes, for a whole warp (or
 * warpgroup) at once where the instruction is collective: fragment arrays
 * are indexed [lane][register], exactly the registers each thread holds
 * before and after the instruction. The simulator (src/sim/exec.*) gathers
 * the lanes, resolves shared-memory addresses, checks alignment and calls
 * these; the conformance program (tests/gpu/conformance*) runs the real
 * instruction on a GPU and compares with them.
 *
 * Faithfulness: every twin is bit-exact to the ISA's definition except where
 * the ISA leaves the result open; those cases are listed in docs/SIM.md
 * ("What the twins cannot know") and marked "NOT BIT-EXACT" below.
 *
 * Errors: a twin that can detect an operand the ISA calls undefined returns
 * a static message (otherwise NULL); the simulator turns it into a launch
 * failure naming the kernel, block and thread.
 */
#ifndef QBSIM_PTX_TWINS_H
#define QBSIM_PTX_TWINS_H

#include <stddef.h>
#include <stdint.h>

namespace qbsim {
namespace ptx {

constexpr int kWarp = 32;       /* lanes of a warp */
constexpr int kWarpgroup = 128; /* threads of a warpgroup (4 consecutive warps) */

enum class F16 { F16, BF16 };   /* 16-bit floating-point operand types */
enum class Fp8 { E4M3, E5M2 };  /* 8-bit floating-point operand types (OCP e4m3fn / e5m2) */

/* ---------------------------------------------------------------- scalar ALU
 * One thread each (src/sim/twins/alu.cc); PTX ISA 9.1 sections: lop3
 * 9.7.8.6, prmt 9.7.9.7, dp4a 9.7.1.23, half-precision sub / mul / fma
 * 9.7.4.2-4, cvt 9.7.9.21 (formats 5.2.3). Results are exact or rounded
 * once to nearest even, subnormals kept (no .ftz).
 *
 * NOT BIT-EXACT (NaN bits only): the ISA leaves the NaN these produce
 * unspecified; the twins return the canonical NaN (0x7FFF, 0x7FFFFFFF). */
uint32_t lop3_b32(uint32_t a, uint32_t b, uint32_t c, uint8_t lut); /* lop3.b32 */
uint32_t prmt_b32(uint32_t a, uint32_t b, uint32_t sel);            /* prmt.b32, generic form (no .mode): __byte_perm */
int32_t dp4a_s32(int32_t a, int32_t b, int32_t c);                  /* dp4a.s32.s32 */
uint32_t sub_rn_f16x2(uint32_t a, uint32_t b);                      /* sub.rn.f16x2 */
uint32_t mul_rn_f16x2(uint32_t a, uint32_t b);                      /* mul.rn.f16x2 */
uint32_t fma_rn_f16x2(uint32_t a, uint32_t b, uint32_t c);          /* fma.rn.f16x2 */
uint32_t fma_rn_bf16x2(uint32_t a, uint32_t b, uint32_t c);         /* fma.rn.bf16x2 */
uint32_t cvt_rn_f16x2_e4m3x2(uint16_t a);                           /* cvt.rn.f16x2.e4m3x2 (sm_89+) */
uint32_t cvt_rn_f16x2_e5m2x2(uint16_t a);                           /* cvt.rn.f16x2.e5m2x2 (sm_89+) */
uint16_t cvt_rn_f16_f32(float a);                                   /* cvt.rn.f16.f32 (__float2half_rn) */
uint16_t cvt_rn_bf16_f32(float a);                                  /* cvt.rn.bf16.f32 (__float2bfloat16_rn) */
float cvt_f32_f16(uint16_t a);                                      /* cvt.f32.f16 (exact) */
float cvt_f32_bf16(uint16_t a);                                     /* cvt.f32.bf16 (exact) */

/* ---------------------------------------------------------------- mma.sync
 * Warp-level matrix multiply-accumulate, .row.col, PTX ISA 9.7.14.5
 * ("Matrix multiply-accumulate operation using mma instruction", src/sim/
 * twins/mma.cc); fragment layouts from its figures for m16n8k16 (.f16/.bf16,
 * 9.7.14.5.8) and m16n8k32 (.s8, .e4m3/.e5m2, 9.7.14.5.10); semantics
 * 9.7.14.5.14. D = A * B + C; d may be the same array as c.
 *
 * NOT BIT-EXACT (floating-point kinds): the ISA leaves the order, internal
 * precision and rounding of the fp32 accumulation and the handling of
 * subnormal inputs open. The twin forms every product exactly (subnormals
 * included), adds C and them in double in k order and rounds once to fp32
 * (round to nearest even); a NaN result is the canonical 0x7FFFFFFF.
 * Integer kinds are exact (no .satfinite: wrapping mod 2^32). */
void mma_m16n8k16_f32(F16 t, float d[kWarp][4], const uint32_t a[kWarp][4], const uint32_t b[kWarp][2],
                      const float c[kWarp][4]);
void mma_m16n8k32_s32_s8(int32_t d[kWarp][4], const uint32_t a[kWarp][4], const uint32_t b[kWarp][2],
                         const int32_t c[kWarp][4]);
void mma_m16n8k32_f32_fp8(Fp8 ta, Fp8 tb, float d[kWarp][4], const uint32_t a[kWarp][4], const uint32_t b[kWarp][2],
                          const float c[kWarp][4]);

/* ---------------------------------------------------------------- mma.sp
 * Sparse A (2:4 along k), PTX ISA 9.7.14.6 ("Matrix multiply-accumulate
 * operation using mma.sp instruction with sparse matrix A"; storage and
 * selector 9.7.14.6.1, fragments and metadata 9.7.14.6.2.2 / 9.7.14.6.2.6,
 * instruction 9.7.14.6.3): A holds the kept half of each group of four,
 * e[lane] the metadata register, `selector` the sparsity selector (which
 * threads' metadata is used: 0 or 1 for m16n8k32 .f16/.bf16, 0 for
 * m16n8k64 .s8/.e4m3/.e5m2; other values return an error). `ordered`: the
 * ::ordered_metadata form (PTX ISA 8.5+, sm_80+), whose two indices of a
 * group must increase from the LSB. A metadata field the instruction does
 * not define returns an error: equal indices (0b0000, 0b0101, 0b1010,
 * 0b1111), or, when ordered, not increasing; the plain form accepts the two
 * indices in either order (only the metadata the selector picks is read).
 * Accumulation as mma.sync (NOT BIT-EXACT for floating point); positions
 * the metadata leaves empty take no part, so inf/NaN in the B rows they
 * would meet does not reach D (the ISA only calls them zeros). */
const char *mma_sp_m16n8k32_f32(F16 t, bool ordered, float d[kWarp][4], const uint32_t a[kWarp][4],
                                const uint32_t b[kWarp][4], const float c[kWarp][4], const uint32_t e[kWarp],
                                int selector);
const char *mma_sp_m16n8k64_s32_s8(bool ordered, int32_t d[kWarp][4], const uint32_t a[kWarp][4],
                                   const uint32_t b[kWarp][4], const int32_t c[kWarp][4], const uint32_t e[kWarp],
                                   int selector);
const char *mma_sp_m16n8k64_f32_fp8(Fp8 ta, Fp8 tb, bool ordered, float d[kWarp][4], const uint32_t a[kWarp][4],
                                    const uint32_t b[kWarp][4], const float c[kWarp][4], const uint32_t e[kWarp],
                                    int selector);

/* ---------------------------------------------------------------- ldmatrix
 * ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16, PTX ISA 9.7.14.5.15:
 * row[l] is the 16 bytes lane l addressed (row l % 8 of matrix l / 8, the
 * simulator has checked its 16-byte alignment and bounds); r[l][i] is the
 * register i lane l receives. */
void ldmatrix_x4(uint32_t r[kWarp][4], const uint8_t *const row[kWarp], bool trans);

/* ---------------------------------------------------------------- wgmma
 * Asynchronous warpgroup MMA, PTX ISA 9.7.15 ("Asynchronous Warpgroup Level
 * Matrix Multiply-Accumulate Instructions"): the shared-memory matrix
 * descriptor (9.7.15.5.1.2.2 "Matrix Descriptor Format"), the K-major
 * canonical layouts with their swizzling modes (9.7.15.5.1.2 "Shared Memory
 * Matrix Layout", 9.7.15.5.1.2.1.3 "Canonical Layouts") and the m64nNk32
 * .e4m3/.e5m2 -> .f32 accumulator fragment (9.7.15.5.1.1.3, Figure "WGMMA
 * .m64nNk32 register fragment layout for accumulator matrix D"). */
struct SmemDesc {
    uint32_t start;       /* byte address in the shared window (bits 0-13 << 4) */
    uint32_t lbo, sbo;    /* leading / stride dimension byte offsets (bits 16-29, 32-45, << 4) */
    uint32_t base_offset; /* bits 49-51 */
    int swizzle;          /* bits 62-63: 0 none, 1 128B, 2 64B, 3 32B */
};
SmemDesc smem_desc_decode(uint64_t desc);
/* NULL, or why the ISA leaves the descriptor undefined: bits outside the
 * documented fields set, or a base offset with the no-swizzle mode (the
 * field "is valid for all swizzling modes except the no-swizzle mode"). */
const char *smem_desc_check(uint64_t desc);
/* Shared-window byte address of byte `kbyte` (0..31: one k32 step of 8-bit
 * elements) of row `row` (0..255) of a K-major operand described by d: the
 * canonical layout's offset from d.start, then smem_swizzle. */
uint32_t smem_desc_kmajor_addr(const SmemDesc &d, int row, int kbyte);
/* The shared-memory swizzle, one pattern for wgmma operands and tensor
 * copies (PTX ISA 5.5.7 "Swizzling Modes", 9.7.15.5.1.2.1.3 Swizzle<B,4,3>):
 * the physical address of byte address `addr` when the pattern spans
 * `span_bytes` (0: none, 32, 64, 128): the 16-byte chunk bits [4, 4+B) are
 * XORed with the 128-byte line number ((addr >> 7) - base_offset) mod
 * 2^B, B = log2(span / 16). The pattern is keyed on the address itself:
 * it repeats every 8 lines of span (256/512/1024 bytes). base_offset (the
 * descriptor field; 0 for TMA) names the line where the repeating pattern
 * starts; see wgmma.cc for that reading of 9.7.15.5.1.2.2. */
uint32_t smem_swizzle(uint32_t addr, uint32_t span_bytes, uint32_t base_offset);
/* The CTA's shared window as the twin reads it: an operand byte at or past
 * `size` makes the twin return an error. */
struct SmemReader {
    const uint8_t *base; /* host address of shared-window address 0 */
    uint32_t size;       /* bytes of the window */
};
/* d[t][*] are thread t's 64 accumulators of m64n128 (t = 0..127 of the
 * warpgroup): register i of thread t = 32w + l holds D[16w + l/4 + 8*((i/2)%2)]
 * [8*(i/4) + 2*(l%4) + i%2]. scale_d false: D = A*B, else D = A*B + D.
 * A: 64 x 32 fp8 (desc_a), B: 128 (n) x 32 fp8 (desc_b), both K-major.
 * scale_a / scale_b: imm-scale-a / imm-scale-b (1, or -1 to negate the
 * operand). Errors: an undefined descriptor (smem_desc_check), an operand
 * byte outside the window, a scale other than +-1.
 * NOT BIT-EXACT: the accumulation precision (Hopper's fp8 path keeps fewer
 * than fp32's bits; the twin forms every product exactly, adds D (when
 * scale_d) and the products in increasing k in double and rounds once to
 * fp32; a NaN result is written as 0x7FFFFFFF). */
const char *wgmma_m64n128k32_f32_fp8(Fp8 ta, Fp8 tb, float d[kWarpgroup][64], uint64_t desc_a, uint64_t desc_b,
                                     bool scale_d, const SmemReader &smem, int scale_a = 1, int scale_b = 1);

/* ---------------------------------------------------------------- TMA
 * The driver's cuTensorMapEncodeTiled (CUDA driver API reference, "Tensor
 * Map Object Management") and cp.async.bulk.tensor.2d tile loads (PTX ISA
 * "cp.async.bulk.tensor", 5.5 "Tensors", 5.5.7 "Swizzling Modes"; CUDA C++
 * Programming Guide, "Tensor Memory Access" / "The Swizzle Modes"). The
 * 128-byte CUtensorMap is opaque to programs; the twin stores its own
 * encoding in it.
 *
 * The enum values of cuda.h the twins use (the driver API reference lists
 * each enum in this order, the first = 0): */
namespace tmap {
/* CUtensorMapDataType */
constexpr int kUint8 = 0, kUint16 = 1, kUint32 = 2, kInt32 = 3, kUint64 = 4, kInt64 = 5, kFloat16 = 6,
              kFloat32 = 7, kFloat64 = 8, kBfloat16 = 9, kFloat32Ftz = 10, kTfloat32 = 11, kTfloat32Ftz = 12,
              k16U4Align8B = 13, k16U4Align16B = 14, k16U6Align16B = 15;
/* CUtensorMapInterleave */
constexpr int kInterleaveNone = 0, kInterleave16B = 1, kInterleave32B = 2;
/* CUtensorMapSwizzle */
constexpr int kSwizzleNone = 0, kSwizzle32B = 1, kSwizzle64B = 2, kSwizzle128B = 3, kSwizzle128BAtom32B = 4,
              kSwizzle128BAtom32BFlip8B = 5, kSwizzle128BAtom64B = 6;
/* CUtensorMapL2promotion */
constexpr int kL2None = 0, kL2_64B = 1, kL2_128B = 2, kL2_256B = 3;
/* CUtensorMapFloatOOBfill */
constexpr int kOobFillNone = 0, kOobFillNanRequestZeroFma = 1;
} // namespace tmap

struct TensorMapParams {
    int data_type;               /* CUtensorMapDataType value */
    uint32_t rank;
    void *global_address;
    uint64_t global_dim[5];
    uint64_t global_strides[4];  /* bytes, dims 1..rank-1 */
    uint32_t box_dim[5];
    uint32_t element_strides[5];
    int interleave, swizzle, l2_promotion, oob_fill; /* CUtensorMap* enum values */
};
/* Validate as the driver documents and encode into map (128 bytes, 64-byte
 * aligned like CUtensorMap); returns NULL on success or the violated
 * requirement (the driver returns CUDA_ERROR_INVALID_VALUE). Entries past
 * rank are ignored (stored as 0). */
const char *tensor_map_encode(void *map128, const TensorMapParams &p);
/* NULL and p, or why map128 is not a map tensor_map_encode wrote. */
const char *tensor_map_decode(const void *map128, TensorMapParams &p);
/* Bytes one tile load of this map moves into shared memory: the box, out-of-
 * bounds parts included, ceil(boxDim[i] / elementStrides[i]) elements along
 * each dimension (dimension 0 of a non-interleaved map ignores its stride). */
uint32_t tensor_map_box_bytes(const TensorMapParams &p);
/* The tile of the box at coordinates (c0, c1) into dst (tensor_map_box_bytes
 * bytes, the shared-window address dst_saddr decides the swizzle phase):
 * elements outside the tensor are zero. The caller has checked that every
 * global byte the box reads inside the tensor is readable. Errors: a map
 * this twin does not model (rank other than 2, sub-byte or converting data
 * types, the 128B_ATOM_* swizzles, OOB-NaN fill of an element outside the
 * tensor), dst_saddr not 128-byte aligned, or a swizzled 16-byte chunk
 * that would land outside the box's bytes (a box not a whole number of
 * 128-byte lines). Nothing is written on error. */
const char *tma_load_tile_2d(const TensorMapParams &p, int32_t c0, int32_t c1, uint8_t *dst, uint32_t dst_saddr);

} // namespace ptx
} // namespace qbsim

#endif /* QBSIM_PTX_TWINS_H */
