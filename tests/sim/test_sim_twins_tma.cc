/* test_sim_twins_tma.cc - the TMA twins (src/sim/twins/tma.cc):
 *  - cuTensorMapEncodeTiled: one test per documented requirement (the
 *    rejection names the rule; the map without the violation is accepted),
 *    encode/decode round trip, garbage and corrupted maps rejected;
 *  - box sizes of literal boxes;
 *  - 2D tile loads of a small tensor at interior, edge, negative and
 *    past-the-end coordinates against literal byte tables (zero fill);
 *  - the 128B / 64B / 32B swizzles: literal shared-memory offsets of
 *    (row, 16-byte chunk) pairs, worked out from the PTX ISA 5.5.7 tables,
 *    for destinations on and off the pattern's period;
 *  - element strides, and the load's errors.
 */
#include <check.h>
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
using namespace qbsim::ptx::tmap;

alignas(128) static uint8_t g_tensor[1 << 16];
alignas(64) static uint8_t g_map[256];
static uint8_t g_dst[4096];

/* The small tensor: 20 x 5 bytes, row pitch 32, element (x, y) = 32y + x + 1. */
static void fill_small(void)
{
    memset(g_tensor, 0xCD, sizeof g_tensor);
    for (int y = 0; y < 5; ++y)
        for (int x = 0; x < 20; ++x) g_tensor[32 * y + x] = (uint8_t)(32 * y + x + 1);
}

static TensorMapParams small_map(void)
{
    TensorMapParams p;
    memset(&p, 0, sizeof p);
    p.data_type = kUint8;
    p.rank = 2;
    p.global_address = g_tensor;
    p.global_dim[0] = 20;
    p.global_dim[1] = 5;
    p.global_strides[0] = 32;
    p.box_dim[0] = 16;
    p.box_dim[1] = 3;
    p.element_strides[0] = p.element_strides[1] = 1;
    p.interleave = kInterleaveNone;
    p.swizzle = kSwizzleNone;
    p.l2_promotion = kL2_256B;
    p.oob_fill = kOobFillNone;
    return p;
}

/* A valid rank-3 map (8 x 4 x 4 u16, NC/8HWC8-like) for the interleave rules. */
static TensorMapParams rank3_map(void)
{
    TensorMapParams p = small_map();
    p.data_type = kUint16;
    p.rank = 3;
    p.global_dim[0] = 8, p.global_dim[1] = 4, p.global_dim[2] = 4;
    p.global_strides[0] = 64, p.global_strides[1] = 256;
    p.box_dim[0] = 8, p.box_dim[1] = 4, p.box_dim[2] = 4;
    p.element_strides[2] = 1;
    return p;
}

/* A valid map of a packed type: 128 x 2 values, rows 96 bytes (or 64) apart. */
static TensorMapParams packed_map(int type)
{
    TensorMapParams p = small_map();
    p.data_type = type;
    p.global_dim[0] = 128;
    p.global_dim[1] = 2;
    p.global_strides[0] = type == k16U4Align8B ? 64 : 96;
    p.box_dim[0] = 128;
    p.box_dim[1] = 2;
    return p;
}

static const char *encode(const TensorMapParams &p) { return tensor_map_encode(g_map, p); }

#define ACCEPTS(p)                                                                      \
    do {                                                                                \
        const char *e_ = encode(p);                                                     \
        ck_assert_msg(e_ == NULL, "rejected a valid map: %s", e_);                      \
    } while (0)
#define REJECTS(p, rule)                                                                \
    do {                                                                                \
        const char *e_ = encode(p);                                                     \
        ck_assert_msg(e_ != NULL, "accepted a map violating: %s", rule);                \
        ck_assert_msg(strstr(e_, rule) != NULL, "rejected for \"%s\", want \"%s\"", e_, rule); \
    } while (0)

/* ---------------------------------------------------------------- one test per rule */

START_TEST(test_rule_map_alignment)
{
    TensorMapParams p = small_map();
    ACCEPTS(p);
    ck_assert_ptr_nonnull(tensor_map_encode(g_map + 16, p));
    ck_assert_ptr_nonnull(strstr(tensor_map_encode(g_map + 32, p), "aligned to 64"));
}
END_TEST

START_TEST(test_rule_data_type)
{
    TensorMapParams p = small_map();
    p.data_type = kBfloat16; /* 16 x 2 bytes: still a multiple of 16 */
    ACCEPTS(p);
    p.data_type = 16;
    REJECTS(p, "tensorDataType");
    p.data_type = -1;
    REJECTS(p, "tensorDataType");
}
END_TEST

START_TEST(test_rule_rank)
{
    TensorMapParams p = small_map();
    p.rank = 1;
    ACCEPTS(p);
    p.rank = 0;
    REJECTS(p, "tensorRank must be non-zero");
    p = small_map();
    p.rank = 5;
    for (int i = 2; i < 5; ++i) p.global_dim[i] = 2, p.box_dim[i] = 1, p.element_strides[i] = 1;
    p.global_strides[1] = 160, p.global_strides[2] = 320, p.global_strides[3] = 640;
    ACCEPTS(p);
    p.rank = 6;
    REJECTS(p, "tensorRank must be non-zero");
}
END_TEST

START_TEST(test_rule_interleave_rank)
{
    TensorMapParams p = rank3_map();
    p.interleave = kInterleave16B;
    ACCEPTS(p);
    p = small_map();
    p.interleave = kInterleave16B;
    REJECTS(p, "at least 3");
}
END_TEST

START_TEST(test_rule_global_address_16)
{
    TensorMapParams p = small_map();
    p.global_address = g_tensor + 16;
    ACCEPTS(p);
    p.global_address = g_tensor + 8;
    REJECTS(p, "globalAddress must be 16 byte aligned");
}
END_TEST

START_TEST(test_rule_global_address_32_interleave)
{
    TensorMapParams p = rank3_map();
    p.interleave = kInterleave32B;
    p.swizzle = kSwizzle32B;
    p.global_address = g_tensor + 32;
    ACCEPTS(p);
    p.global_address = g_tensor + 16;
    REJECTS(p, "32 byte aligned when interleave");
}
END_TEST

START_TEST(test_rule_global_address_32_packed)
{
    TensorMapParams p = packed_map(k16U4Align16B);
    p.global_address = g_tensor + 32;
    ACCEPTS(p);
    p.global_address = g_tensor + 16;
    REJECTS(p, "32 byte aligned for the 16U4_ALIGN16B");
}
END_TEST

START_TEST(test_rule_global_dim_range)
{
    TensorMapParams p = small_map();
    p.global_dim[0] = 1ull << 32;
    ACCEPTS(p);
    p.global_dim[0] = (1ull << 32) + 1;
    REJECTS(p, "globalDim must be non-zero");
    p = small_map();
    p.global_dim[1] = 0;
    REJECTS(p, "globalDim must be non-zero");
}
END_TEST

START_TEST(test_rule_global_dim_packed)
{
    TensorMapParams p = packed_map(k16U6Align16B);
    ACCEPTS(p);
    p.global_dim[0] = 192;
    REJECTS(p, "multiple of 128");
    p = packed_map(k16U4Align8B);
    p.global_dim[0] = 130;
    ACCEPTS(p);
    p.global_dim[0] = 129;
    REJECTS(p, "multiple of 2");
}
END_TEST

START_TEST(test_rule_stride_multiple_16)
{
    TensorMapParams p = small_map();
    p.global_strides[0] = 48;
    ACCEPTS(p);
    p.global_strides[0] = 40;
    REJECTS(p, "globalStrides must be a multiple of 16");
}
END_TEST

START_TEST(test_rule_stride_below_2_40)
{
    TensorMapParams p = small_map();
    p.global_strides[0] = (1ull << 40) - 16;
    ACCEPTS(p);
    p.global_strides[0] = 1ull << 40;
    REJECTS(p, "less than 2^40");
}
END_TEST

START_TEST(test_rule_stride_32_interleave)
{
    TensorMapParams p = rank3_map();
    p.interleave = kInterleave32B;
    p.swizzle = kSwizzle32B;
    ACCEPTS(p);
    p.global_strides[1] = 272;
    REJECTS(p, "multiple of 32 when interleave");
}
END_TEST

START_TEST(test_rule_stride_32_packed)
{
    TensorMapParams p = packed_map(k16U6Align16B);
    p.global_strides[0] = 128;
    ACCEPTS(p);
    p.global_strides[0] = 112;
    REJECTS(p, "multiple of 32 for the 16U4_ALIGN16B");
}
END_TEST

START_TEST(test_rule_box_dim_range)
{
    TensorMapParams p = small_map();
    p.box_dim[0] = 256;
    p.box_dim[1] = 256;
    ACCEPTS(p);
    p.box_dim[1] = 257;
    REJECTS(p, "boxDim must be non-zero");
    p.box_dim[1] = 0;
    REJECTS(p, "boxDim must be non-zero");
}
END_TEST

START_TEST(test_rule_box_inner_multiple_16)
{
    TensorMapParams p = small_map();
    p.box_dim[0] = 12;
    REJECTS(p, "multiple of 16 bytes");
    p.data_type = kFloat32;
    p.box_dim[0] = 6; /* 24 bytes */
    REJECTS(p, "multiple of 16 bytes");
    p.box_dim[0] = 4;
    ACCEPTS(p);
    p = rank3_map(); /* the rule is for non-interleaved maps only */
    p.interleave = kInterleave16B;
    p.box_dim[0] = 3;
    ACCEPTS(p);
}
END_TEST

START_TEST(test_rule_box_packed_128)
{
    TensorMapParams p = packed_map(k16U4Align16B);
    ACCEPTS(p);
    p.box_dim[0] = 64;
    REJECTS(p, "boxDim[0] must be 128");
}
END_TEST

START_TEST(test_rule_element_strides)
{
    TensorMapParams p = small_map();
    p.element_strides[1] = 8;
    ACCEPTS(p);
    p.element_strides[1] = 9;
    REJECTS(p, "elementStrides");
    p.element_strides[1] = 0;
    REJECTS(p, "elementStrides");
}
END_TEST

START_TEST(test_rule_interleave_enum)
{
    TensorMapParams p = rank3_map();
    p.interleave = 3;
    REJECTS(p, "CUtensorMapInterleave");
    p.interleave = -1;
    REJECTS(p, "CUtensorMapInterleave");
}
END_TEST

START_TEST(test_rule_swizzle_enum)
{
    TensorMapParams p = small_map();
    p.swizzle = kSwizzle128BAtom64B;
    ACCEPTS(p);
    p.swizzle = 7;
    REJECTS(p, "CUtensorMapSwizzle");
}
END_TEST

START_TEST(test_rule_interleave_32_needs_swizzle_32)
{
    TensorMapParams p = rank3_map();
    p.interleave = kInterleave32B;
    p.swizzle = kSwizzle32B;
    ACCEPTS(p);
    p.swizzle = kSwizzle64B;
    REJECTS(p, "must be CU_TENSOR_MAP_SWIZZLE_32B");
    p.interleave = kInterleave16B; /* other interleaves take any swizzle */
    ACCEPTS(p);
}
END_TEST

START_TEST(test_rule_swizzle_inner_32)
{
    TensorMapParams p = small_map();
    p.swizzle = kSwizzle32B;
    p.box_dim[0] = 32;
    ACCEPTS(p);
    p.box_dim[0] = 48;
    REJECTS(p, "SWIZZLE_32B requires");
}
END_TEST

START_TEST(test_rule_swizzle_inner_64)
{
    TensorMapParams p = small_map();
    p.swizzle = kSwizzle64B;
    p.data_type = kFloat16;
    p.box_dim[0] = 32;
    ACCEPTS(p);
    p.box_dim[0] = 40;
    REJECTS(p, "SWIZZLE_64B requires");
}
END_TEST

START_TEST(test_rule_swizzle_inner_128)
{
    TensorMapParams p = small_map();
    p.swizzle = kSwizzle128B;
    p.box_dim[0] = 128;
    ACCEPTS(p);
    p.box_dim[0] = 144;
    REJECTS(p, "SWIZZLE_128B* require");
    p.swizzle = kSwizzle128BAtom32B;
    REJECTS(p, "SWIZZLE_128B* require");
}
END_TEST

START_TEST(test_rule_u6_128b_swizzle_interleave)
{
    TensorMapParams p = packed_map(k16U6Align16B);
    p.rank = 3;
    p.global_dim[2] = 2;
    p.global_strides[1] = 192;
    p.box_dim[2] = 2;
    p.element_strides[2] = 1;
    p.interleave = kInterleave16B;
    ACCEPTS(p);
    p.swizzle = kSwizzle128B;
    REJECTS(p, "requires interleave");
    p.interleave = kInterleaveNone;
    ACCEPTS(p);
}
END_TEST

START_TEST(test_rule_packed_swizzle_modes)
{
    TensorMapParams p = packed_map(k16U6Align16B);
    p.swizzle = kSwizzle128BAtom64B;
    ACCEPTS(p);
    p.swizzle = kSwizzle128BAtom32BFlip8B;
    REJECTS(p, "16U6_ALIGN16B supports only");
    p = packed_map(k16U4Align16B);
    p.swizzle = kSwizzle128BAtom32B;
    ACCEPTS(p);
    p.swizzle = kSwizzle128BAtom64B;
    REJECTS(p, "16U4_ALIGN16B supports only");
}
END_TEST

START_TEST(test_rule_l2_promotion_enum)
{
    TensorMapParams p = small_map();
    p.l2_promotion = kL2None;
    ACCEPTS(p);
    p.l2_promotion = 4;
    REJECTS(p, "CUtensorMapL2promotion");
}
END_TEST

START_TEST(test_rule_oob_fill_enum)
{
    TensorMapParams p = small_map();
    p.oob_fill = 2;
    REJECTS(p, "CUtensorMapFloatOOBfill");
}
END_TEST

START_TEST(test_rule_oob_nan_needs_float)
{
    TensorMapParams p = small_map();
    p.data_type = kFloat32;
    p.box_dim[0] = 4;
    p.oob_fill = kOobFillNanRequestZeroFma;
    ACCEPTS(p);
    p.data_type = kInt32;
    REJECTS(p, "NAN_REQUEST_ZERO_FMA");
    p = packed_map(k16U4Align8B);
    p.oob_fill = kOobFillNanRequestZeroFma;
    REJECTS(p, "NAN_REQUEST_ZERO_FMA");
}
END_TEST

/* ---------------------------------------------------------------- decode */

static bool same(const TensorMapParams &a, const TensorMapParams &b)
{
    if (a.data_type != b.data_type || a.rank != b.rank || a.global_address != b.global_address ||
        a.interleave != b.interleave || a.swizzle != b.swizzle || a.l2_promotion != b.l2_promotion ||
        a.oob_fill != b.oob_fill)
        return false;
    for (uint32_t i = 0; i < a.rank; ++i)
        if (a.global_dim[i] != b.global_dim[i] || a.box_dim[i] != b.box_dim[i] ||
            a.element_strides[i] != b.element_strides[i] || (i + 1 < a.rank && a.global_strides[i] != b.global_strides[i]))
            return false;
    return true;
}

START_TEST(test_decode_round_trip)
{
    TensorMapParams p = small_map(), q;
    p.swizzle = kSwizzle32B;
    p.oob_fill = kOobFillNone;
    ACCEPTS(p);
    ck_assert_ptr_null(tensor_map_decode(g_map, q));
    ck_assert(same(p, q));
    p = rank3_map();
    p.interleave = kInterleave32B, p.swizzle = kSwizzle32B, p.global_dim[2] = 1ull << 32, p.box_dim[2] = 256;
    p.element_strides[2] = 7, p.global_strides[1] = (1ull << 40) - 32, p.l2_promotion = kL2_64B;
    ACCEPTS(p);
    ck_assert_ptr_null(tensor_map_decode(g_map, q));
    ck_assert(same(p, q));
}
END_TEST

START_TEST(test_decode_rejects_garbage)
{
    TensorMapParams q;
    memset(g_map, 0, 128);
    ck_assert_ptr_nonnull(tensor_map_decode(g_map, q));
    qbt_rng r = qbt_rng_make(77);
    for (int t = 0; t < 100; ++t) {
        qbt_fill_bytes(&r, g_map, 128);
        ck_assert_ptr_nonnull(tensor_map_decode(g_map, q));
    }
    /* a real map with any one byte changed */
    const TensorMapParams p = small_map();
    for (int i = 0; i < 128; i += 5) {
        ACCEPTS(p);
        g_map[i] ^= 0x10;
        QBT_EXPECT(tensor_map_decode(g_map, q) != NULL, "map with byte %d flipped decoded", i);
    }
}
END_TEST

/* ---------------------------------------------------------------- box bytes */

START_TEST(test_box_bytes)
{
    TensorMapParams p = small_map(); /* 16 x 3 u8 */
    ck_assert_uint_eq(tensor_map_box_bytes(p), 48);
    p.box_dim[0] = 128, p.box_dim[1] = 8;
    ck_assert_uint_eq(tensor_map_box_bytes(p), 1024);
    p.data_type = kFloat32, p.box_dim[0] = 8;
    ck_assert_uint_eq(tensor_map_box_bytes(p), 256);
    p = small_map();
    p.box_dim[1] = 5, p.element_strides[1] = 2; /* ceil(5 / 2) = 3 rows */
    ck_assert_uint_eq(tensor_map_box_bytes(p), 48);
    p.element_strides[0] = 4; /* ignored: non-interleaved dimension 0 */
    ck_assert_uint_eq(tensor_map_box_bytes(p), 48);
    p = rank3_map(); /* 8 x 4 x 4 u16, stride 2 in dim 2: 8 * 2 * 4 * 2 */
    p.element_strides[2] = 2;
    ck_assert_uint_eq(tensor_map_box_bytes(p), 128);
    p = packed_map(k16U4Align8B); /* 128 x 2 four-bit values, no gaps */
    ck_assert_uint_eq(tensor_map_box_bytes(p), 128);
    p = packed_map(k16U4Align16B); /* 16 values per 16 bytes */
    ck_assert_uint_eq(tensor_map_box_bytes(p), 256);
}
END_TEST

/* ---------------------------------------------------------------- tile loads, no swizzle */

static void expect_bytes(const uint8_t *got, const uint8_t *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; ++i)
        QBT_EXPECT(got[i] == want[i], "%s: byte %zu = %u, want %u", what, i, got[i], want[i]);
}

static void load_small(int32_t c0, int32_t c1, const uint8_t want[48], const char *what)
{
    fill_small();
    const TensorMapParams p = small_map();
    memset(g_dst, 0xAB, sizeof g_dst);
    const char *e = tma_load_tile_2d(p, c0, c1, g_dst, 256);
    ck_assert_msg(e == NULL, "%s: %s", what, e);
    expect_bytes(g_dst, want, 48, what);
    for (size_t i = 48; i < sizeof g_dst; ++i) QBT_EXPECT(g_dst[i] == 0xAB, "%s: wrote byte %zu past the box", what, i);
}

START_TEST(test_load_interior)
{
    static const uint8_t want[48] = {35, 36, 37, 38, 39,  40,  41,  42,  43,  44,  45,  46,  47,  48,  49,  50,
                                     67, 68, 69, 70, 71,  72,  73,  74,  75,  76,  77,  78,  79,  80,  81,  82,
                                     99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114};
    load_small(2, 1, want, "interior (2, 1)");
}
END_TEST

START_TEST(test_load_edge)
{
    static const uint8_t want[48] = {105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 0, 0, 0, 0,
                                     137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 0, 0, 0, 0,
                                     0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0, 0, 0, 0};
    load_small(8, 3, want, "edge (8, 3)");
}
END_TEST

START_TEST(test_load_negative)
{
    static const uint8_t want1[48] = {0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
                                      0, 0, 0, 0, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                                      0, 0, 0, 0, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44};
    load_small(-4, -1, want1, "negative (-4, -1)");
    uint8_t want2[48] = {0};
    want2[47] = 1; /* only element (0, 0), at box row 2, column 15 */
    load_small(-15, -2, want2, "negative (-15, -2)");
}
END_TEST

START_TEST(test_load_past_the_end)
{
    static const uint8_t zeros[48] = {0};
    load_small(20, 5, zeros, "past the end (20, 5)");
    load_small(20, 0, zeros, "past the end (20, 0)");
    load_small(0, 5, zeros, "past the end (0, 5)");
    load_small(-16, 0, zeros, "before the start (-16, 0)");
    load_small(INT32_MAX, INT32_MIN, zeros, "far away (INT32_MAX, INT32_MIN)");
    load_small(INT32_MIN, 2, zeros, "far away (INT32_MIN, 2)");
}
END_TEST

START_TEST(test_load_element_stride)
{
    fill_small();
    TensorMapParams p = small_map();
    p.box_dim[1] = 4, p.element_strides[1] = 2; /* rows c1 and c1 + 2 */
    p.element_strides[0] = 3;                     /* ignored: non-interleaved dimension 0 */
    static const uint8_t want1[32] = {33, 34, 35, 36, 37, 38, 39,  40,  41,  42,  43,  44,  45,  46,  47,  48,
                                      97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112};
    static const uint8_t want2[32] = {101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116,
                                      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0};
    ck_assert_ptr_null(tma_load_tile_2d(p, 0, 1, g_dst, 0));
    expect_bytes(g_dst, want1, 32, "stride 2 at (0, 1)");
    ck_assert_ptr_null(tma_load_tile_2d(p, 4, 3, g_dst, 0));
    expect_bytes(g_dst, want2, 32, "stride 2 at (4, 3)");
}
END_TEST

/* ---------------------------------------------------------------- tile loads, swizzled
 * Each case: the logical 16-byte chunk `chunk` of box row `row` must sit at
 * byte `off` of the destination (worked out from the 5.5.7 tables: line
 * (dst + linear) / 128 of the address, chunk XOR (line % 8, 4 or 2)). */
struct Placement {
    int row, chunk;
    uint32_t off;
};

/* A tensor of 256 x 16 bytes (pitch 256): element (x, y) = (x + 13 y) mod 251 + 1. */
static uint8_t big_value(int64_t x, int64_t y) { return (uint8_t)((x + 13 * y) % 251 + 1); }
static void fill_big(void)
{
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 256; ++x) g_tensor[256 * y + x] = big_value(x, y);
}

static TensorMapParams big_map(int swizzle, uint32_t box0, uint32_t box1)
{
    TensorMapParams p = small_map();
    p.global_dim[0] = 256, p.global_dim[1] = 16, p.global_strides[0] = 256;
    p.box_dim[0] = box0, p.box_dim[1] = box1;
    p.swizzle = swizzle;
    return p;
}

static void check_placements(const TensorMapParams &p, int32_t c0, int32_t c1, uint32_t saddr, const Placement *pl,
                             size_t n, const char *what)
{
    fill_big();
    memset(g_dst, 0xAB, sizeof g_dst);
    const char *e = tma_load_tile_2d(p, c0, c1, g_dst, saddr);
    ck_assert_msg(e == NULL, "%s: %s", what, e);
    const uint32_t esize = p.data_type == kUint8 ? 1 : 2;
    for (size_t i = 0; i < n; ++i)
        for (int b = 0; b < 16; ++b) {
            const int64_t x = c0 + (16 * pl[i].chunk + b) / esize, y = c1 + pl[i].row;
            const bool in = x >= 0 && x < (int64_t)p.global_dim[0] && y >= 0 && y < (int64_t)p.global_dim[1];
            uint8_t want = 0;
            if (in) want = g_tensor[256 * y + 16 * pl[i].chunk + b + c0 * esize]; /* the global bytes of the chunk */
            QBT_EXPECT(g_dst[pl[i].off + b] == want, "%s: row %d chunk %d byte %d at %u = %u, want %u", what,
                       pl[i].row, pl[i].chunk, b, pl[i].off + b, g_dst[pl[i].off + b], want);
        }
}
#define CHECK_PLACEMENTS(p, c0, c1, saddr, pl, what) check_placements(p, c0, c1, saddr, pl, sizeof pl / sizeof pl[0], what)

START_TEST(test_load_swizzle_128b)
{
    const TensorMapParams p = big_map(kSwizzle128B, 128, 8);
    static const Placement at1024[] = {{0, 0, 0}, {0, 5, 80}, {1, 0, 144}, {3, 7, 448}, {5, 2, 752}, {7, 7, 896}};
    CHECK_PLACEMENTS(p, 64, 3, 1024, at1024, "128B at 1024");
    /* 1408 = 1024 + 3 lines: the pattern is keyed on the address, row 0 uses line 3 */
    static const Placement at1408[] = {{0, 0, 48}, {0, 5, 96}, {1, 0, 192}, {3, 7, 400}, {5, 2, 672}, {7, 7, 976}};
    CHECK_PLACEMENTS(p, 64, 3, 1408, at1408, "128B at 1408");
}
END_TEST

START_TEST(test_load_swizzle_128b_oob)
{
    /* box x 192..319 (chunks 4..7 outside), y 12..19 (rows 4..7 outside), zeros swizzled like data */
    const TensorMapParams p = big_map(kSwizzle128B, 128, 8);
    static const Placement pl[] = {{0, 3, 48}, {0, 4, 64}, {1, 0, 144}, {1, 5, 192}, {3, 7, 448}, {4, 0, 576}, {7, 7, 896}};
    CHECK_PLACEMENTS(p, 192, 12, 0, pl, "128B edge");
    ck_assert_uint_eq(g_dst[144], big_value(192, 13));
    ck_assert_uint_eq(g_dst[192], 0);
}
END_TEST

START_TEST(test_load_swizzle_64b)
{
    const TensorMapParams p = big_map(kSwizzle64B, 64, 8);
    static const Placement at0[] = {{0, 0, 0}, {1, 3, 112}, {2, 0, 144}, {3, 1, 192}, {5, 2, 320}, {7, 3, 448}};
    CHECK_PLACEMENTS(p, 16, 2, 0, at0, "64B at 0");
    static const Placement at128[] = {{0, 0, 16}, {1, 3, 96}, {2, 0, 160}, {3, 1, 240}, {5, 2, 336}, {7, 3, 496}};
    CHECK_PLACEMENTS(p, 16, 2, 128, at128, "64B at 128");
    static const Placement at384[] = {{0, 0, 48}, {1, 3, 64}, {2, 0, 128}, {3, 1, 208}, {5, 2, 368}, {7, 3, 464}};
    CHECK_PLACEMENTS(p, 16, 2, 384, at384, "64B at 384");
}
END_TEST

START_TEST(test_load_swizzle_32b_f16)
{
    /* 16 f16 = 32 bytes a row: same byte placement as u8 */
    TensorMapParams p = big_map(kSwizzle32B, 16, 8);
    p.data_type = kFloat16;
    p.global_dim[0] = 128; /* 128 halves = the 256-byte rows */
    static const Placement at0[] = {{0, 0, 0}, {0, 1, 16}, {3, 1, 112}, {4, 0, 144}, {5, 1, 160}, {7, 0, 240}};
    CHECK_PLACEMENTS(p, 8, 1, 0, at0, "32B f16 at 0");
    static const Placement at128[] = {{0, 0, 16}, {0, 1, 0}, {3, 1, 96}, {4, 0, 128}, {5, 1, 176}, {7, 0, 224}};
    CHECK_PLACEMENTS(p, 8, 1, 128, at128, "32B f16 at 128");
}
END_TEST

/* ---------------------------------------------------------------- load errors */

START_TEST(test_load_errors)
{
    fill_small();
    TensorMapParams p = small_map();
    memset(g_dst, 0xAB, sizeof g_dst);
    ck_assert_ptr_nonnull(tma_load_tile_2d(p, 0, 0, g_dst, 64)); /* 128-byte aligned shared address */
    ck_assert_ptr_null(tma_load_tile_2d(p, 0, 0, g_dst, 128));
    p = rank3_map();
    ck_assert_ptr_nonnull(tma_load_tile_2d(p, 0, 0, g_dst, 0));
    p = small_map();
    p.swizzle = kSwizzle128BAtom32B;
    ck_assert_ptr_nonnull(tma_load_tile_2d(p, 0, 0, g_dst, 0));
    p = small_map();
    p.data_type = kTfloat32, p.box_dim[0] = 4;
    ck_assert_ptr_nonnull(tma_load_tile_2d(p, 0, 0, g_dst, 0));
    p = packed_map(k16U4Align8B);
    ck_assert_ptr_nonnull(tma_load_tile_2d(p, 0, 0, g_dst, 0));
    p = small_map();
    p.box_dim[0] = 12; /* not a valid map */
    ck_assert_ptr_nonnull(tma_load_tile_2d(p, 0, 0, g_dst, 0));
}
END_TEST

START_TEST(test_load_oob_nan_fill)
{
    fill_small();
    TensorMapParams p = small_map();
    p.data_type = kFloat32, p.global_dim[0] = 5, p.box_dim[0] = 4, p.box_dim[1] = 2;
    p.oob_fill = kOobFillNanRequestZeroFma;
    ck_assert_ptr_null(tma_load_tile_2d(p, 0, 0, g_dst, 0)); /* inside: a plain copy */
    ck_assert_uint_eq(g_dst[0], 1);
    memset(g_dst, 0xAB, 64);
    ck_assert_ptr_nonnull(tma_load_tile_2d(p, 2, 0, g_dst, 0)); /* x 2..5 reaches past 5 */
    for (int i = 0; i < 64; ++i) QBT_EXPECT(g_dst[i] == 0xAB, "wrote byte %d on error", i);
}
END_TEST

START_TEST(test_load_swizzle_partial_line)
{
    /* one 64-byte row under the 128B swizzle: lines whose phase keeps its chunks in cells 0..3 work,
     * others would put them past the box */
    fill_big();
    const TensorMapParams p = big_map(kSwizzle128B, 64, 1);
    ck_assert_uint_eq(tensor_map_box_bytes(p), 64);
    ck_assert_ptr_null(tma_load_tile_2d(p, 0, 0, g_dst, 1024 + 3 * 128)); /* phase 3: cells 3 2 1 0 */
    ck_assert_uint_eq(g_dst[0], big_value(48, 0));
    ck_assert_uint_eq(g_dst[48], big_value(0, 0));
    memset(g_dst, 0xAB, sizeof g_dst);
    ck_assert_ptr_nonnull(tma_load_tile_2d(p, 0, 0, g_dst, 1024 + 4 * 128)); /* phase 4: cells 4..7 */
    for (int i = 0; i < 128; ++i) QBT_EXPECT(g_dst[i] == 0xAB, "wrote byte %d on error", i);
}
END_TEST

extern "C" Suite *qbt_suite(void)
{
    Suite *s = suite_create("sim_twins_tma");
    TCase *rules = tcase_create("encode_rules");
    tcase_add_test(rules, test_rule_map_alignment);
    tcase_add_test(rules, test_rule_data_type);
    tcase_add_test(rules, test_rule_rank);
    tcase_add_test(rules, test_rule_interleave_rank);
    tcase_add_test(rules, test_rule_global_address_16);
    tcase_add_test(rules, test_rule_global_address_32_interleave);
    tcase_add_test(rules, test_rule_global_address_32_packed);
    tcase_add_test(rules, test_rule_global_dim_range);
    tcase_add_test(rules, test_rule_global_dim_packed);
    tcase_add_test(rules, test_rule_stride_multiple_16);
    tcase_add_test(rules, test_rule_stride_below_2_40);
    tcase_add_test(rules, test_rule_stride_32_interleave);
    tcase_add_test(rules, test_rule_stride_32_packed);
    tcase_add_test(rules, test_rule_box_dim_range);
    tcase_add_test(rules, test_rule_box_inner_multiple_16);
    tcase_add_test(rules, test_rule_box_packed_128);
    tcase_add_test(rules, test_rule_element_strides);
    tcase_add_test(rules, test_rule_interleave_enum);
    tcase_add_test(rules, test_rule_swizzle_enum);
    tcase_add_test(rules, test_rule_interleave_32_needs_swizzle_32);
    tcase_add_test(rules, test_rule_swizzle_inner_32);
    tcase_add_test(rules, test_rule_swizzle_inner_64);
    tcase_add_test(rules, test_rule_swizzle_inner_128);
    tcase_add_test(rules, test_rule_u6_128b_swizzle_interleave);
    tcase_add_test(rules, test_rule_packed_swizzle_modes);
    tcase_add_test(rules, test_rule_l2_promotion_enum);
    tcase_add_test(rules, test_rule_oob_fill_enum);
    tcase_add_test(rules, test_rule_oob_nan_needs_float);
    suite_add_tcase(s, rules);
    TCase *dec = tcase_create("decode");
    tcase_add_test(dec, test_decode_round_trip);
    tcase_add_test(dec, test_decode_rejects_garbage);
    tcase_add_test(dec, test_box_bytes);
    suite_add_tcase(s, dec);
    TCase *load = tcase_create("tile_load");
    tcase_add_test(load, test_load_interior);
    tcase_add_test(load, test_load_edge);
    tcase_add_test(load, test_load_negative);
    tcase_add_test(load, test_load_past_the_end);
    tcase_add_test(load, test_load_element_stride);
    tcase_add_test(load, test_load_swizzle_128b);
    tcase_add_test(load, test_load_swizzle_128b_oob);
    tcase_add_test(load, test_load_swizzle_64b);
    tcase_add_test(load, test_load_swizzle_32b_f16);
    tcase_add_test(load, test_load_errors);
    tcase_add_test(load, test_load_oob_nan_fill);
    tcase_add_test(load, test_load_swizzle_partial_line);
    suite_add_tcase(s, load);
    return s;
}
