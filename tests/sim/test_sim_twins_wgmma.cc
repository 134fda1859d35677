/* test_sim_twins_wgmma.cc - the wgmma twins (src/sim/twins/wgmma.cc)
 * against cases worked out by hand from the PTX ISA:
 *  - descriptor fields of literal 64-bit values (9.7.15.5.1.2.2);
 *  - K-major addresses of literal (row, byte) pairs for every swizzle mode,
 *    for 1024-aligned, k-stepped, unaligned and base-offset descriptors;
 *  - the swizzle against the literal tables of 5.5.7 "Swizzling Modes";
 *  - one-hot A and B giving a one-hot D at a literal (thread, register) of
 *    the m64nNk32 accumulator figure;
 *  - random operands placed in shared memory by the test's own placement
 *    code (the documents' patterns written out independently: cell
 *    (k/16) ^ row, the programming guide's ((y + offset) % 8) ^ x), against
 *    a naive triple loop;
 *  - NaN / infinity / signed zero, imm-scale, scale-d and the errors.
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "qb_test.h" /* C helpers (qb_test_main.c): C linkage */
}
#include "sim/twins/ptx_twins.h"

using namespace qbsim::ptx;

enum { WIN = 1 << 16 };
static uint8_t g_smem[WIN];
static const SmemReader g_reader = {g_smem, WIN};
static float g_d[kWarpgroup][64];

static const uint8_t E4M3_ONE = 0x38, E5M2_ONE = 0x3C; /* 1.0 */

/* A descriptor from byte quantities (the encoder side of 9.7.15.5.1.2.2). */
static uint64_t make_desc(uint32_t start, uint32_t lbo, uint32_t sbo, uint32_t base, uint32_t swz)
{
    return (uint64_t)((start & 0x3FFFF) >> 4) | ((uint64_t)((lbo & 0x3FFFF) >> 4) << 16) |
           ((uint64_t)((sbo & 0x3FFFF) >> 4) << 32) | ((uint64_t)base << 49) | ((uint64_t)swz << 62);
}

/* ---------------------------------------------------------------- descriptor */

START_TEST(test_desc_decode_literals)
{
    static const struct {
        uint64_t desc;
        uint32_t start, lbo, sbo, base;
        int swz;
    } t[] = {
        {0x4000004000010200ull, 0x2000, 16, 1024, 0, 1},   /* 128B, SBO 1024, LBO "1" */
        {0x8006002000040123ull, 0x1230, 64, 512, 3, 2},    /* 64B, base offset 3 */
        {0xC000001000000008ull, 0x80, 0, 256, 0, 3},       /* 32B */
        {0x0000001000080010ull, 0x100, 128, 256, 0, 0},    /* no swizzle, LBO 128 */
        {0x00003FFF3FFF3FFFull, 0x3FFF0, 0x3FFF0, 0x3FFF0, 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; ++i) {
        const SmemDesc d = smem_desc_decode(t[i].desc);
        ck_assert_msg(d.start == t[i].start && d.lbo == t[i].lbo && d.sbo == t[i].sbo &&
                          d.base_offset == t[i].base && d.swizzle == t[i].swz,
                      "desc %#llx: start %#x lbo %u sbo %u base %u swz %d", (unsigned long long)t[i].desc, d.start,
                      d.lbo, d.sbo, d.base_offset, d.swizzle);
    }
}
END_TEST

START_TEST(test_desc_check)
{
    ck_assert_ptr_null(smem_desc_check(0x4000004000010200ull));
    ck_assert_ptr_null(smem_desc_check(0x8006002000040123ull));
    ck_assert_ptr_null(smem_desc_check(0x00003FFF3FFF3FFFull));
    ck_assert_ptr_nonnull(smem_desc_check(0x4000004000014200ull)); /* bit 14 */
    ck_assert_ptr_nonnull(smem_desc_check(0x4000004040010200ull)); /* bit 30 */
    ck_assert_ptr_nonnull(smem_desc_check(0x4001004000010200ull)); /* bit 48 */
    ck_assert_ptr_nonnull(smem_desc_check(0x4010004000010200ull)); /* bit 52 */
    ck_assert_ptr_nonnull(smem_desc_check(0x2000004000010200ull)); /* bit 61 */
    ck_assert_ptr_nonnull(smem_desc_check(0x0002001000080010ull)); /* base offset 1, no swizzle */
}
END_TEST

/* ---------------------------------------------------------------- K-major addresses */

struct AddrCase {
    int row, kbyte;
    uint32_t addr;
};
static void check_addrs(uint64_t desc, const AddrCase *c, size_t n)
{
    const SmemDesc d = smem_desc_decode(desc);
    for (size_t i = 0; i < n; ++i) {
        const uint32_t a = smem_desc_kmajor_addr(d, c[i].row, c[i].kbyte);
        ck_assert_msg(a == c[i].addr, "desc %#llx row %d byte %d: %u, want %u", (unsigned long long)desc, c[i].row,
                      c[i].kbyte, a, c[i].addr);
    }
}
#define CHECK_ADDRS(desc, cases) check_addrs(desc, cases, sizeof cases / sizeof cases[0])

START_TEST(test_kmajor_128b)
{
    /* tile at 0: row r at 128r (SBO 1024 per 8 rows), cell c of row r at cell c ^ (r % 8) */
    static const AddrCase aligned[] = {{0, 0, 0},    {0, 16, 16},     {1, 0, 144},    {1, 16, 128},
                                       {2, 5, 293},  {7, 31, 1007},   {8, 0, 1024},   {9, 17, 1153}};
    CHECK_ADDRS(make_desc(0, 16, 1024, 0, 1), aligned);
    /* the second k32 step of a tile at 1024 (start + 32): cells 2 and 3 of each row */
    static const AddrCase kstep[] = {{0, 0, 1056}, {3, 0, 1424}, {3, 16, 1408}};
    CHECK_ADDRS(make_desc(1056, 16, 1024, 0, 1), kstep);
    /* a tile at 384 (line 3 of the pattern), base offset 0: the address keys the pattern */
    static const AddrCase unaligned[] = {{0, 0, 432}, {4, 0, 1008}, {5, 20, 1044}};
    CHECK_ADDRS(make_desc(384, 16, 1024, 0, 1), unaligned);
    /* the same tile with base offset 3: the pattern starts at 384 */
    static const AddrCase based[] = {{0, 0, 384}, {1, 0, 528}, {5, 20, 1092}};
    CHECK_ADDRS(make_desc(384, 16, 1024, 3, 1), based);
}
END_TEST

START_TEST(test_kmajor_64b)
{
    /* rows 64 bytes apart, 8 rows = 512 (SBO); cell bits [4,6) ^= line (addr >> 7) % 4 */
    static const AddrCase c[] = {{0, 0, 0}, {1, 0, 64}, {2, 0, 144}, {3, 16, 192}, {6, 31, 431}, {8, 0, 512}};
    CHECK_ADDRS(make_desc(0, 16, 512, 0, 2), c);
}
END_TEST

START_TEST(test_kmajor_32b)
{
    /* rows 32 bytes apart, 8 rows = 256 (SBO); cell bit 4 ^= line % 2 */
    static const AddrCase c[] = {{0, 0, 0}, {3, 16, 112}, {4, 0, 144}, {5, 17, 161}, {8, 0, 256}};
    CHECK_ADDRS(make_desc(0, 16, 256, 0, 3), c);
}
END_TEST

START_TEST(test_kmajor_none)
{
    /* 8x16-byte core matrices: rows 16 bytes apart, second 16-byte column at LBO 128, next 8 rows at SBO 256 */
    static const AddrCase c[] = {{0, 0, 0},    {1, 0, 16},   {7, 15, 127},  {0, 16, 128},
                                 {3, 20, 180}, {8, 0, 256},  {10, 31, 431}};
    CHECK_ADDRS(make_desc(0, 128, 256, 0, 0), c);
    /* the k-column-major arrangement: 8-row groups 128 apart (SBO), the second 16-byte column 1024 on (LBO) */
    static const AddrCase kcol[] = {{0, 0, 4096},  {1, 0, 4112},   {8, 0, 4224},
                                    {9, 3, 4243},  {0, 16, 5120},  {63, 31, 6143}};
    CHECK_ADDRS(make_desc(4096, 1024, 128, 0, 0), kcol);
}
END_TEST

/* PTX ISA 5.5.7 "Swizzling Modes": cell p of line r holds logical cell T[r][p]. */
static const int kT128[8][8] = {{0, 1, 2, 3, 4, 5, 6, 7}, {1, 0, 3, 2, 5, 4, 7, 6}, {2, 3, 0, 1, 6, 7, 4, 5},
                                {3, 2, 1, 0, 7, 6, 5, 4}, {4, 5, 6, 7, 0, 1, 2, 3}, {5, 4, 7, 6, 1, 0, 3, 2},
                                {6, 7, 4, 5, 2, 3, 0, 1}, {7, 6, 5, 4, 3, 2, 1, 0}};
static const int kT64[4][8] = {{0, 1, 2, 3, 4, 5, 6, 7}, {1, 0, 3, 2, 5, 4, 7, 6}, {2, 3, 0, 1, 6, 7, 4, 5},
                               {3, 2, 1, 0, 7, 6, 5, 4}};
static const int kT32[2][8] = {{0, 1, 2, 3, 4, 5, 6, 7}, {1, 0, 3, 2, 5, 4, 7, 6}};

static void check_table(uint32_t span, const int (*table)[8], int lines)
{
    for (uint32_t period = 0; period < 3; ++period) /* the pattern repeats every `lines` lines */
        for (int r = 0; r < lines; ++r)
            for (int p = 0; p < 8; ++p) {
                const uint32_t line = period * lines + r;
                const uint32_t logical = line * 128 + 16 * table[r][p] + 5, want = line * 128 + 16 * p + 5;
                const uint32_t got = smem_swizzle(logical, span, 0);
                ck_assert_msg(got == want, "span %u line %u cell %d: %u, want %u", span, line, table[r][p], got, want);
            }
}

START_TEST(test_swizzle_doc_tables)
{
    check_table(128, kT128, 8);
    check_table(64, kT64, 4);
    check_table(32, kT32, 2);
    for (uint32_t a = 0; a < 4096; a += 7) ck_assert_uint_eq(smem_swizzle(a, 0, 0), a);
}
END_TEST

/* ---------------------------------------------------------------- operand placement
 * The test's own placement of a logical K-major operand (rows x row_bytes
 * bytes) into g_smem, written from the documents' pictures rather than the
 * twin's address formula. */
enum Mode { NONE = 0, SW128 = 1, SW64 = 2, SW32 = 3 };
static uint32_t span_of(Mode m) { return m == SW128 ? 128 : m == SW64 ? 64 : m == SW32 ? 32 : 0; }
static uint32_t sbo_of(Mode m) { return m == NONE ? 256 : 8 * span_of(m); }

/* Byte (row, k) of an operand whose tile starts at `tile`: swizzled modes
 * hold a row in one span; the row's 16-byte cell k/16 goes to cell
 * (k/16) ^ (line % cells) of its 128-byte line, line = the programming
 * guide's y + offset with offset = (tile / 128) % ... (aligned tiles have
 * offset 0). No swizzle: 8x16-byte core matrices, LBO 128, SBO 256. */
static uint32_t place(Mode m, uint32_t tile, int row, int k)
{
    if (m == NONE) return tile + (row / 8) * 256 + (row % 8) * 16 + (k / 16) * 128 + k % 16;
    const uint32_t span = span_of(m), per_line = 128 / span, cells_x = span / 16;
    const uint32_t rowaddr = tile + (uint32_t)row * span;           /* rows packed, SBO = 8 spans */
    const uint32_t y = (tile / 128) + (uint32_t)row / per_line;     /* 128-byte line number */
    const uint32_t x = (uint32_t)k / 16;                            /* cell within the row's span */
    const uint32_t phase = y % (cells_x == 8 ? 8 : cells_x == 4 ? 4 : 2);
    /* XOR acts on the cell's index within the 128-byte line (cell bits above x stay: they index the row) */
    const uint32_t cell_in_line = ((uint32_t)row % per_line) * cells_x + x;
    const uint32_t swz = cell_in_line ^ phase;
    return (rowaddr & ~127u) + swz * 16 + (uint32_t)k % 16;
}

static void store_operand(Mode m, uint32_t tile, int rows, int row_bytes, const uint8_t *v)
{
    for (int r = 0; r < rows; ++r)
        for (int k = 0; k < row_bytes; ++k) g_smem[place(m, tile, r, k)] = v[r * row_bytes + k];
}

/* Inverse of the accumulator figure written as (m, n) -> (thread, register). */
static void d_slot(int m, int n, int &t, int &reg)
{
    t = 32 * (m / 16) + 4 * (m % 8) + (n % 8) / 2;
    reg = 4 * (n / 8) + 2 * ((m % 16) / 8) + n % 2;
}

/* ---------------------------------------------------------------- one-hot */

START_TEST(test_wgmma_onehot_fragment)
{
    /* (m, n) of the one-hot product -> literal (thread, register) */
    static const struct {
        int m, n, t, reg;
    } c[] = {{0, 0, 0, 0},   {0, 1, 0, 1},    {8, 0, 0, 2},     {1, 2, 5, 0},
             {17, 9, 36, 5}, {40, 70, 67, 34}, {63, 127, 127, 63}, {31, 64, 60, 34}};
    const uint32_t ta = 0, tb = 8192;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; ++i)
        for (int kk = 0; kk < 4; ++kk) {
            static uint8_t a[64 * 128], b[128 * 128];
            memset(a, 0, sizeof a);
            memset(b, 0, sizeof b);
            const int k = 32 * kk + (int)(i * 7 % 32); /* some byte of this k32 step */
            a[c[i].m * 128 + k] = E4M3_ONE;
            b[c[i].n * 128 + k] = E4M3_ONE;
            memset(g_smem, 0, WIN);
            store_operand(SW128, ta, 64, 128, a);
            store_operand(SW128, tb, 128, 128, b);
            memset(g_d, 0xFF, sizeof g_d);
            const char *e = wgmma_m64n128k32_f32_fp8(Fp8::E4M3, Fp8::E4M3, g_d, make_desc(ta + 32 * kk, 16, 1024, 0, 1),
                                                     make_desc(tb + 32 * kk, 16, 1024, 0, 1), false, g_reader);
            ck_assert_msg(e == NULL, "%s", e);
            for (int t = 0; t < kWarpgroup; ++t)
                for (int r = 0; r < 64; ++r) {
                    const float want = (t == c[i].t && r == c[i].reg) ? 1.0f : 0.0f;
                    QBT_EXPECT(g_d[t][r] == want, "one-hot (%d,%d) k %d: d[%d][%d] = %g, want %g", c[i].m, c[i].n, k,
                               t, r, g_d[t][r], want);
                }
        }
}
END_TEST

/* ---------------------------------------------------------------- random vs naive */

static uint8_t finite_code(qbt_rng *r, Fp8 t)
{
    for (;;) {
        const uint8_t c = (uint8_t)qbt_next(r);
        const uint8_t mag = c & 0x7F;
        if (t == Fp8::E4M3 ? mag != 0x7F : mag < 0x7C) return c;
    }
}

static double code_value(Fp8 t, uint8_t c) { return qb_fp8_decode(c, t == Fp8::E4M3 ? QB_FP8_E4M3 : QB_FP8_E5M2); }

/* One m64n128k32 step over logical operands a (64 x row_bytes) and b (128 x
 * row_bytes) at byte offset k0, with D = C + A*B, checked against the naive
 * triple loop. */
static void random_case(Mode mode, uint32_t ta, uint32_t tb, int row_bytes, int kk, Fp8 fa, Fp8 fb, int sa, int sb,
                        uint64_t stream)
{
    qbt_rng r = qbt_rng_make(stream);
    static uint8_t a[64 * 128], b[128 * 128];
    for (int i = 0; i < 64 * row_bytes; ++i) a[i] = finite_code(&r, fa);
    for (int i = 0; i < 128 * row_bytes; ++i) b[i] = finite_code(&r, fb);
    memset(g_smem, 0xEE, WIN);
    store_operand(mode, ta, 64, row_bytes, a);
    store_operand(mode, tb, 128, row_bytes, b);
    static float c[64][128];
    for (int m = 0; m < 64; ++m)
        for (int n = 0; n < 128; ++n) {
            c[m][n] = (float)qbt_uniform(&r, -64, 64);
            int t, reg;
            d_slot(m, n, t, reg);
            g_d[t][reg] = c[m][n];
        }
    const uint32_t k0 = 32 * kk;
    const uint64_t da = mode == NONE ? make_desc(ta, 128, 256, 0, 0) : make_desc(ta + k0, 16, sbo_of(mode), 0, mode);
    const uint64_t db = mode == NONE ? make_desc(tb, 128, 256, 0, 0) : make_desc(tb + k0, 16, sbo_of(mode), 0, mode);
    const char *e = wgmma_m64n128k32_f32_fp8(fa, fb, g_d, da, db, true, g_reader, sa, sb);
    ck_assert_msg(e == NULL, "%s", e);
    for (int m = 0; m < 64; ++m)
        for (int n = 0; n < 128; ++n) {
            double ref = c[m][n];
            for (int k = 0; k < 32; ++k)
                ref += (sa * code_value(fa, a[m * row_bytes + k0 + k])) * (sb * code_value(fb, b[n * row_bytes + k0 + k]));
            int t, reg;
            d_slot(m, n, t, reg);
            QBT_EXPECT(g_d[t][reg] == (float)ref, "mode %d kk %d D[%d][%d] = %.9g, want %.9g [seed %llu]", (int)mode, kk,
                       m, n, g_d[t][reg], (float)ref, (unsigned long long)qbt_seed);
        }
}

START_TEST(test_wgmma_random_128b)
{
    for (int kk = 0; kk < 4; ++kk) random_case(SW128, 0, 8192, 128, kk, Fp8::E4M3, Fp8::E4M3, 1, 1, 100 + kk);
}
END_TEST

START_TEST(test_wgmma_random_128b_unaligned_tiles)
{
    /* tiles at 384 and 9216 + 640 (not 1024-aligned): TMA's address-keyed pattern, base offset 0 */
    for (int kk = 0; kk < 4; ++kk) random_case(SW128, 384, 9856, 128, kk, Fp8::E5M2, Fp8::E4M3, 1, 1, 200 + kk);
}
END_TEST

START_TEST(test_wgmma_random_64b_32b_none)
{
    for (int kk = 0; kk < 2; ++kk) random_case(SW64, 512, 8192, 64, kk, Fp8::E4M3, Fp8::E5M2, 1, 1, 300 + kk);
    random_case(SW32, 256, 4096, 32, 0, Fp8::E5M2, Fp8::E5M2, 1, 1, 310);
    random_case(NONE, 0, 4096, 32, 0, Fp8::E4M3, Fp8::E4M3, 1, 1, 320);
}
END_TEST

START_TEST(test_wgmma_imm_scale)
{
    random_case(SW128, 0, 8192, 128, 1, Fp8::E4M3, Fp8::E5M2, -1, 1, 400);
    random_case(SW128, 0, 8192, 128, 2, Fp8::E4M3, Fp8::E4M3, 1, -1, 401);
    random_case(SW128, 0, 8192, 128, 3, Fp8::E5M2, Fp8::E4M3, -1, -1, 402);
}
END_TEST

/* base offset 3: data laid out with the pattern starting at 384 (row y of the
 * tile uses cell ^ (y % 8)), read with a descriptor naming that start. */
START_TEST(test_wgmma_base_offset)
{
    const uint32_t ta = 384, tb = 8192 + 384;
    static uint8_t a[64 * 128], b[128 * 128];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    a[5 * 128 + 40] = E4M3_ONE; /* A[5][k=40]: second k32 step, byte 8 */
    b[9 * 128 + 40] = E4M3_ONE; /* B[9][40] */
    memset(g_smem, 0, WIN);
    for (int r = 0; r < 64; ++r)
        for (int k = 0; k < 128; ++k) g_smem[ta + r * 128 + (((k / 16) ^ (r % 8)) * 16) + k % 16] = a[r * 128 + k];
    for (int r = 0; r < 128; ++r)
        for (int k = 0; k < 128; ++k) g_smem[tb + r * 128 + (((k / 16) ^ (r % 8)) * 16) + k % 16] = b[r * 128 + k];
    const char *e = wgmma_m64n128k32_f32_fp8(Fp8::E4M3, Fp8::E4M3, g_d, make_desc(ta + 32, 16, 1024, 3, 1),
                                             make_desc(tb + 32, 16, 1024, 3, 1), false, g_reader);
    ck_assert_msg(e == NULL, "%s", e);
    for (int t = 0; t < kWarpgroup; ++t)
        for (int r = 0; r < 64; ++r) {
            const float want = (t == 20 && r == 5) ? 1.0f : 0.0f; /* (m 5, n 9): thread 20, register 5 */
            QBT_EXPECT(g_d[t][r] == want, "d[%d][%d] = %g, want %g", t, r, g_d[t][r], want);
        }
}
END_TEST

/* ---------------------------------------------------------------- TMA then wgmma
 * The two twins together: 128B-swizzled tile loads of X (64 x 128 bytes)
 * and W (128 x 128 bytes) with cuTensorMapEncodeTiled-style maps, then the
 * four k32 steps of wgmma reading them through descriptors (start + 32 kk,
 * SBO 1024), against a naive k128 dot product. Tiles on and off the
 * 1024-byte period: both sides key the pattern on the address. */
static void tma_wgmma_case(uint32_t sa, uint32_t sb, uint64_t stream)
{
    alignas(128) static uint8_t x[70 * 144], w[130 * 144]; /* a little larger than the tiles: rows 144 apart */
    qbt_rng r = qbt_rng_make(stream);
    for (size_t i = 0; i < sizeof x; ++i) x[i] = finite_code(&r, Fp8::E4M3);
    for (size_t i = 0; i < sizeof w; ++i) w[i] = finite_code(&r, Fp8::E5M2);
    alignas(64) static uint8_t mx[128], mw[128];
    TensorMapParams p;
    memset(&p, 0, sizeof p);
    p.data_type = tmap::kUint8, p.rank = 2, p.global_address = x;
    p.global_dim[0] = 144, p.global_dim[1] = 70, p.global_strides[0] = 144;
    p.box_dim[0] = 128, p.box_dim[1] = 64, p.element_strides[0] = p.element_strides[1] = 1;
    p.swizzle = tmap::kSwizzle128B;
    ck_assert_ptr_null(tensor_map_encode(mx, p));
    p.global_address = w, p.global_dim[1] = 130, p.box_dim[1] = 128;
    ck_assert_ptr_null(tensor_map_encode(mw, p));
    TensorMapParams px, pw;
    ck_assert_ptr_null(tensor_map_decode(mx, px));
    ck_assert_ptr_null(tensor_map_decode(mw, pw));
    memset(g_smem, 0, WIN);
    /* boxes at (k 16, row 3) and (k 16, row 2) */
    ck_assert_ptr_null(tma_load_tile_2d(px, 16, 3, g_smem + sa, sa));
    ck_assert_ptr_null(tma_load_tile_2d(pw, 16, 2, g_smem + sb, sb));
    for (int kk = 0; kk < 4; ++kk) {
        const char *e = wgmma_m64n128k32_f32_fp8(Fp8::E4M3, Fp8::E5M2, g_d, make_desc(sa + 32 * kk, 16, 1024, 0, 1),
                                                 make_desc(sb + 32 * kk, 16, 1024, 0, 1), kk > 0, g_reader);
        ck_assert_msg(e == NULL, "%s", e);
    }
    for (int m = 0; m < 64; ++m)
        for (int n = 0; n < 128; ++n) {
            double ref = 0; /* four k32 sums, each rounded to fp32, as four wgmmas round */
            for (int kk = 0; kk < 4; ++kk) {
                double part = ref;
                for (int k = 32 * kk; k < 32 * kk + 32; ++k)
                    part += code_value(Fp8::E4M3, x[(3 + m) * 144 + 16 + k]) * code_value(Fp8::E5M2, w[(2 + n) * 144 + 16 + k]);
                ref = (float)part;
            }
            int t, reg;
            d_slot(m, n, t, reg);
            QBT_EXPECT(g_d[t][reg] == (float)ref, "tiles at %u/%u: D[%d][%d] = %.9g, want %.9g [seed %llu]", sa, sb, m, n,
                       g_d[t][reg], ref, (unsigned long long)qbt_seed);
        }
}

START_TEST(test_tma_then_wgmma)
{
    tma_wgmma_case(0, 8192, 500);
    tma_wgmma_case(1024 + 384, 16384 + 640, 501);
}
END_TEST

/* ---------------------------------------------------------------- special values */

/* A and B as given (64 / 128 rows of 32 bytes, k32 step 0) in the no-swizzle layout. */
static const char *run_raw(Fp8 fa, Fp8 fb, const uint8_t *a, const uint8_t *b, bool scale_d)
{
    memset(g_smem, 0, WIN);
    store_operand(NONE, 0, 64, 32, a);
    store_operand(NONE, 4096, 128, 32, b);
    return wgmma_m64n128k32_f32_fp8(fa, fb, g_d, make_desc(0, 128, 256, 0, 0), make_desc(4096, 128, 256, 0, 0),
                                    scale_d, g_reader);
}

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

START_TEST(test_wgmma_nan_inf)
{
    static uint8_t a[64 * 32], b[128 * 32];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    a[3 * 32 + 7] = 0x7F;             /* e4m3 NaN at A[3][7]: row 3 is NaN everywhere (NaN * 0 = NaN) */
    a[10 * 32 + 1] = E4M3_ONE;        /* A[10][1] = 1 */
    b[4 * 32 + 1] = 0x7C;             /* e5m2 +inf at B[4][1]: D[10][4] = +inf */
    a[20 * 32 + 2] = E4M3_ONE;        /* A[20][2] = 1, A[20][3] = -1 */
    a[20 * 32 + 3] = 0xB8;
    b[6 * 32 + 2] = 0x7C;             /* B[6][2] = +inf, B[6][3] = +inf: inf + -inf = NaN at D[20][6] */
    b[6 * 32 + 3] = 0x7C;
    ck_assert_ptr_null(run_raw(Fp8::E4M3, Fp8::E5M2, a, b, false));
    for (int m = 0; m < 64; ++m)
        for (int n = 0; n < 128; ++n) {
            int t, reg;
            d_slot(m, n, t, reg);
            const float v = g_d[t][reg];
            /* B[4][1] = inf meets the zeros of other rows (inf * 0 = NaN); column 6 is NaN everywhere */
            if (m == 3 || (n == 4 && m != 10) || n == 6)
                QBT_EXPECT(isnan(v) && bits_of(v) == 0x7FFFFFFFu, "D[%d][%d] = %g (%#x), want NaN 0x7fffffff", m, n,
                           v, bits_of(v));
            else if (m == 10 && n == 4)
                QBT_EXPECT(isinf(v) && v > 0, "D[10][4] = %g, want +inf", v);
            else
                QBT_EXPECT(v == 0.0f, "D[%d][%d] = %g, want 0", m, n, v);
        }
}
END_TEST

START_TEST(test_wgmma_scale_d_and_signed_zero)
{
    static uint8_t a[64 * 32], b[128 * 32];
    memset(a, 0x80, sizeof a); /* every A = -0 */
    memset(b, 0x00, sizeof b); /* every B = +0: every product -0 */
    memset(g_d, 0xFF, sizeof g_d); /* NaN accumulators: scale-d false must not read them */
    ck_assert_ptr_null(run_raw(Fp8::E4M3, Fp8::E4M3, a, b, false));
    for (int t = 0; t < kWarpgroup; ++t)
        for (int r = 0; r < 64; ++r)
            QBT_EXPECT(bits_of(g_d[t][r]) == 0x80000000u, "D = A*B of -0 products: %#x, want -0", bits_of(g_d[t][r]));
    /* scale-d true: D = A*B + D with D = 2.5 */
    a[0] = E5M2_ONE; /* A[0][0] = 1 (e5m2), B[0][0] = 1: D[0][0] = 3.5 */
    b[0] = E5M2_ONE;
    for (int t = 0; t < kWarpgroup; ++t)
        for (int r = 0; r < 64; ++r) g_d[t][r] = 2.5f;
    ck_assert_ptr_null(run_raw(Fp8::E5M2, Fp8::E5M2, a, b, true));
    ck_assert_float_eq(g_d[0][0], 3.5f);
    ck_assert_float_eq(g_d[0][1], 2.5f);
    ck_assert_float_eq(g_d[127][63], 2.5f);
}
END_TEST

/* ---------------------------------------------------------------- errors */

START_TEST(test_wgmma_errors)
{
    const uint64_t good_a = make_desc(0, 16, 1024, 0, 1), good_b = make_desc(8192, 16, 1024, 0, 1);
    memset(g_smem, 0, WIN);
    ck_assert_ptr_null(wgmma_m64n128k32_f32_fp8(Fp8::E4M3, Fp8::E4M3, g_d, good_a, good_b, false, g_reader));
    /* B spans 16 KiB from 56 KiB: past the 64 KiB window */
    ck_assert_ptr_nonnull(
        wgmma_m64n128k32_f32_fp8(Fp8::E4M3, Fp8::E4M3, g_d, good_a, make_desc(57344, 16, 1024, 0, 1), false, g_reader));
    /* A's last byte is the window's last byte: in range; one 8-row group further is not */
    const SmemReader small = {g_smem, 8192};
    ck_assert_ptr_null(wgmma_m64n128k32_f32_fp8(Fp8::E4M3, Fp8::E4M3, g_d, good_a, good_a, false,
                                                SmemReader{g_smem, 16384}));
    ck_assert_ptr_nonnull(wgmma_m64n128k32_f32_fp8(Fp8::E4M3, Fp8::E4M3, g_d, good_a, good_a, false, small));
    ck_assert_ptr_nonnull(
        wgmma_m64n128k32_f32_fp8(Fp8::E4M3, Fp8::E4M3, g_d, good_a | (1ull << 15), good_b, false, g_reader));
    ck_assert_ptr_nonnull(
        wgmma_m64n128k32_f32_fp8(Fp8::E4M3, Fp8::E4M3, g_d, good_a, make_desc(0, 128, 256, 1, 0), false, g_reader));
    ck_assert_ptr_nonnull(wgmma_m64n128k32_f32_fp8(Fp8::E4M3, Fp8::E4M3, g_d, good_a, good_b, false, g_reader, 2, 1));
    ck_assert_ptr_nonnull(wgmma_m64n128k32_f32_fp8(Fp8::E4M3, Fp8::E4M3, g_d, good_a, good_b, false, g_reader, 1, 0));
}
END_TEST

extern "C" Suite *qbt_suite(void)
{
    Suite *s = suite_create("sim_twins_wgmma");
    TCase *tc = tcase_create("wgmma");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_desc_decode_literals);
    tcase_add_test(tc, test_desc_check);
    tcase_add_test(tc, test_kmajor_128b);
    tcase_add_test(tc, test_kmajor_64b);
    tcase_add_test(tc, test_kmajor_32b);
    tcase_add_test(tc, test_kmajor_none);
    tcase_add_test(tc, test_swizzle_doc_tables);
    tcase_add_test(tc, test_wgmma_onehot_fragment);
    tcase_add_test(tc, test_wgmma_random_128b);
    tcase_add_test(tc, test_wgmma_random_128b_unaligned_tiles);
    tcase_add_test(tc, test_wgmma_random_64b_32b_none);
    tcase_add_test(tc, test_wgmma_imm_scale);
    tcase_add_test(tc, test_wgmma_base_offset);
    tcase_add_test(tc, test_tma_then_wgmma);
    tcase_add_test(tc, test_wgmma_nan_inf);
    tcase_add_test(tc, test_wgmma_scale_d_and_signed_zero);
    tcase_add_test(tc, test_wgmma_errors);
    suite_add_tcase(s, tc);
    return s;
}
