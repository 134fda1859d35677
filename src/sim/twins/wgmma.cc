/* wgmma.cc - software twins of wgmma.mma_async (m64n128k32, .f32 from
 * .e4m3/.e5m2, both operands in shared memory) and of the shared-memory
 * matrix descriptor and swizzle it reads through (ptx_twins.h).
 *
 * Sources (NVIDIA PTX ISA, "Asynchronous Warpgroup Level Matrix Multiply-
 * Accumulate Instructions", 9.7.15 in ISA 8.x):
 *   9.7.15.5.1.2.2  Matrix Descriptor Format: the bit fields, and "base
 *                   offset = (pattern start addr >> 0x7) & 0x7", 0 when the
 *                   repeating pattern starts on a 1024 (128B), 512 (64B) or
 *                   256 (32B) byte boundary.
 *   9.7.15.5.1.2.1  Leading / stride dimension byte offsets (K-major: LBO is
 *                   the offset between the two 16-byte columns of the 8x2
 *                   no-swizzle tile, "not used" when swizzled; SBO the
 *                   offset from the first 8 rows to the next 8 rows).
 *   9.7.15.5.1.2.1.3 Canonical Layouts, K-major, in elements with T = 128 /
 *                   element bits (16 for 8-bit types, so 1 element = 1 byte):
 *                     none: ((8,m),(T,2k)):((1T,SBO),(1,LBO))  Swizzle<0,4,3>
 *                     32B:  ((8,m),(T,2k)):((2T,SBO),(1,T))    Swizzle<1,4,3>
 *                     64B:  ((8,m),(T,2k)):((4T,SBO),(1,T))    Swizzle<2,4,3>
 *                     128B: ((8,m),(T,2k)):((8T,SBO),(1,T))    Swizzle<3,4,3>
 *   9.7.15.5.1.1.3  Figure "WGMMA .m64nNk32 register fragment layout for
 *                   accumulator matrix D".
 *   9.7.15.5.2      wgmma.mma_async: D = A*B (+D unless scale-d is false),
 *                   imm-scale-a/-b = -1 negate A/B, accumulation order and
 *                   precision unspecified.
 * Facts cross-checked (not code) against CUTLASS: cute/arch/mma_sm90_desc.hpp
 * (GmmaDescriptor bit fields), cute/atom/mma_traits_sm90_gmma.hpp
 * (Layout_K_SW*_Atom: Swizzle<B,4,3> applied to the shared-memory pointer;
 * CLayout_64xN: the accumulator fragment).
 */
#include <string.h>

#include "common/qblas_numeric.h"
#include "sim/twins/ptx_twins.h"
#include "sim/twins/twin_fp.h"

namespace qbsim {
namespace ptx {

/* ---------------------------------------------------------------- swizzle */

/* PTX ISA 5.5.7 "Swizzling Modes" (tables of 16-byte cells per 128-byte
 * shared-memory line: 32B swaps cells in every second line, 64B XORs the
 * cell with line % 4, 128B with line % 8; the "swizzle base offset" of a
 * destination is (dstMem / 128) % 2, 4 or 8, i.e. the pattern is keyed on
 * the address), the CUDA programming guide's "Swizzle Pattern Pointer
 * Offset Computation" (smem[y][((y + offset) % 8) ^ x], offset = (smem_ptr /
 * 128) % 8), and 9.7.15.5.1.2.1.3 (Swizzle<B,4,3>: bits [4,4+B) ^= bits
 * [7,7+B)) describe the same function of the address.
 *
 * base_offset (descriptor bits 49-51) is read literally from 9.7.15.5.1.2.2:
 * it is 0 when the repeating pattern starts on the period boundary, else
 * (pattern start addr >> 7) & 7, so it names the 128-byte line where row 0
 * of the pattern lies, and a line's row in the pattern is its distance from
 * there: ((addr >> 7) - base_offset) mod 2^B. With base_offset 0 this is the
 * address-keyed pattern TMA writes. The ISA gives no example of a non-zero
 * value; the conformance program should confirm this reading on hardware. */
uint32_t smem_swizzle(uint32_t addr, uint32_t span_bytes, uint32_t base_offset)
{
    if (span_bytes == 0) return addr;
    const uint32_t mask = span_bytes / 16 - 1;                /* 1, 3 or 7: the B chunk bits */
    const uint32_t line = ((addr >> 7) - base_offset) & mask; /* row of the repeating pattern */
    return addr ^ (line << 4);
}

/* ---------------------------------------------------------------- descriptor */

/* 9.7.15.5.1.2.2: matrix-descriptor-encode(x) = (x & 0x3FFFF) >> 4, so each
 * 14-bit field holds a byte quantity in 16-byte units. */
static uint32_t field14(uint64_t desc, int lsb) { return (uint32_t)((desc >> lsb) & 0x3FFF) << 4; }

SmemDesc smem_desc_decode(uint64_t desc)
{
    SmemDesc d;
    d.start = field14(desc, 0);
    d.lbo = field14(desc, 16);
    d.sbo = field14(desc, 32);
    d.base_offset = (uint32_t)(desc >> 49) & 7;
    d.swizzle = (int)(desc >> 62);
    return d;
}

/* Bits the format table defines: 0-13, 16-29, 32-45, 49-51, 62-63. */
static const uint64_t kDescFields = 0x3FFFull | (0x3FFFull << 16) | (0x3FFFull << 32) | (7ull << 49) | (3ull << 62);

const char *smem_desc_check(uint64_t desc)
{
    if (desc & ~kDescFields)
        return "wgmma matrix descriptor: bits outside the documented fields (14-15, 30-31, 46-48, 52-61) are set "
               "(PTX ISA 9.7.15.5.1.2.2)";
    const SmemDesc d = smem_desc_decode(desc);
    if (d.swizzle == 0 && d.base_offset != 0)
        return "wgmma matrix descriptor: non-zero base offset with the no-swizzle mode (the field is valid for all "
               "swizzling modes except no-swizzle, PTX ISA 9.7.15.5.1.2.2)";
    return NULL;
}

/* Swizzle span of the descriptor's mode: 1 128B, 2 64B, 3 32B. */
static uint32_t desc_span(int swizzle) { return swizzle == 0 ? 0 : 256u >> swizzle; }

/* Canonical K-major layouts (see the file comment) for 8-bit elements, one
 * k32 step: rows r0 = row % 8 of a group lie a 16-byte cell (no swizzle)
 * or a whole swizzle span (32/64/128 bytes) apart, groups of 8 rows SBO
 * apart; the 32 bytes of a row are contiguous when swizzled (the span holds
 * them) and two 16-byte cells LBO apart when not. */
uint32_t smem_desc_kmajor_addr(const SmemDesc &d, int row, int kbyte)
{
    const uint32_t r0 = (uint32_t)row % 8, r1 = (uint32_t)row / 8, k = (uint32_t)kbyte;
    const uint32_t span = desc_span(d.swizzle);
    uint32_t off = r1 * d.sbo;
    if (span == 0)
        off += r0 * 16 + (k / 16) * d.lbo + k % 16;
    else
        off += r0 * span + k;
    return smem_swizzle(d.start + off, span, d.base_offset);
}

/* ---------------------------------------------------------------- operands */

static const char *read_operand(const SmemReader &smem, uint64_t desc, int rows, uint8_t out[][32], const char *oob)
{
    const SmemDesc d = smem_desc_decode(desc);
    for (int r = 0; r < rows; ++r)
        for (int k = 0; k < 32; ++k) {
            const uint32_t a = smem_desc_kmajor_addr(d, r, k);
            if (a >= smem.size) return oob;
            out[r][k] = smem.base[a];
        }
    return NULL;
}

/* Exact value of an fp8 code (OCP e4m3fn: S.1111.111 is NaN, no infinity;
 * e5m2: IEEE-like with infinities); every code is exact in double. */
static double fp8_value(Fp8 t, uint8_t code)
{
    return (double)qb_fp8_decode(code, t == Fp8::E4M3 ? QB_FP8_E4M3 : QB_FP8_E5M2);
}

/* Accumulator fragment, 9.7.15.5.1.1.3 (Figure "WGMMA .m64nNk32 register
 * fragment layout for accumulator matrix D"): warp w of the warpgroup holds
 * rows 16w..16w+15; within the warp, lane l's registers 4j..4j+3 cover
 * columns 8j + 2*(l%4) + {0,1} of rows l/4 (registers 4j, 4j+1) and
 * l/4 + 8 (4j+2, 4j+3). */
static void d_coords(int t, int i, int &m, int &n)
{
    const int w = t / 32, l = t % 32;
    m = 16 * w + l / 4 + 8 * ((i / 2) % 2);
    n = 8 * (i / 4) + 2 * (l % 4) + i % 2;
}

/* ---------------------------------------------------------------- wgmma */

const char *wgmma_m64n128k32_f32_fp8(Fp8 ta, Fp8 tb, float d[kWarpgroup][64], uint64_t desc_a, uint64_t desc_b,
                                     bool scale_d, const SmemReader &smem, int scale_a, int scale_b)
{
    enum { M = 64, N = 128, K = 32 };
    if ((scale_a != 1 && scale_a != -1) || (scale_b != 1 && scale_b != -1))
        return "wgmma: imm-scale-a / imm-scale-b must be 1 or -1 (PTX ISA 9.7.15.5.2)";
    const char *err = smem_desc_check(desc_a);
    if (!err) err = smem_desc_check(desc_b);
    if (err) return err;

    static thread_local uint8_t a8[M][K], b8[N][K];
    err = read_operand(smem, desc_a, M, a8, "wgmma: an A operand byte lies outside the shared window");
    if (!err) err = read_operand(smem, desc_b, N, b8, "wgmma: a B operand byte lies outside the shared window");
    if (err) return err;

    static thread_local double a[M][K], b[N][K];
    for (int m = 0; m < M; ++m)
        for (int k = 0; k < K; ++k) a[m][k] = scale_a * fp8_value(ta, a8[m][k]);
    for (int n = 0; n < N; ++n)
        for (int k = 0; k < K; ++k) b[n][k] = scale_b * fp8_value(tb, b8[n][k]);

    for (int t = 0; t < kWarpgroup; ++t)
        for (int i = 0; i < 64; ++i) {
            int m, n;
            d_coords(t, i, m, n);
            /* -0.0 is the additive identity that keeps a sum of -0 products -0 */
            double acc = scale_d ? (double)d[t][i] : -0.0;
            for (int k = 0; k < K; ++k) acc += a[m][k] * b[n][k]; /* each product exact in double */
            d[t][i] = twin::round_acc_f32(acc);
        }
    return NULL;
}

} // namespace ptx
} // namespace qbsim
