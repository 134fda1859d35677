/* tma.cc - software twins of cuTensorMapEncodeTiled and of the 2D tile load
 * cp.async.bulk.tensor.2d.shared::cluster.global.tile (ptx_twins.h).
 *
 * Sources:
 *  - CUDA driver API reference, "Tensor Map Object Management",
 *    cuTensorMapEncodeTiled: every requirement validate() checks, in the
 *    order the reference lists them, and the enum values (ptx_twins.h
 *    namespace tmap).
 *  - PTX ISA 5.5 "Tensors": 5.5.3.1 Bounding Box, 5.5.3.2 Traversal-Stride
 *    (dimension 0 strides only in interleaved layouts), 5.5.3.3 Out of
 *    Boundary Access (zero fill / OOB-NaN fill), 5.5.7 Swizzling Modes; the
 *    shared-memory side of a tensor copy is "linear data".
 *  - CUDA C++ Programming Guide, "Tensor Memory Access": negative and
 *    out-of-bounds tile corners are allowed for loads and the out-of-bounds
 *    part is zero-filled; the shared-memory address must be 128-byte
 *    aligned (table "Alignment requirements for multi-dimensional bulk
 *    tensor asynchronous copy operations"); "The Swizzle Modes" (the
 *    pattern is keyed on the shared-memory address, repeating every 256 /
 *    512 / 1024 bytes).
 */
#include <stdint.h>
#include <string.h>

#include <vector>

#include "sim/twins/ptx_twins.h"

namespace qbsim {
namespace ptx {

using namespace tmap;

/* ---------------------------------------------------------------- types */

static bool is_packed(int t) { return t == k16U4Align8B || t == k16U4Align16B || t == k16U6Align16B; }
static bool is_align16b_packed(int t) { return t == k16U4Align16B || t == k16U6Align16B; }
static bool is_float(int t) { return t >= kFloat16 && t <= kTfloat32Ftz; } /* 6..12 */

/* Bits of one element in global memory (the driver's list: 1, 2, 4, 8
 * bytes, 4 or 6 bits for the packed types). */
static uint32_t global_bits(int t)
{
    static const uint8_t bits[16] = {8, 16, 32, 32, 64, 64, 16, 32, 64, 16, 32, 32, 32, 4, 4, 6};
    return bits[t];
}

/* Bits one element occupies in shared memory: the ALIGN16B types put 16
 * values in 16 bytes ("8 byte gaps between every 8 byte chunk", "4 byte
 * gaps between every 12 byte chunk"). */
static uint32_t smem_bits(int t) { return is_align16b_packed(t) ? 8 : global_bits(t); }

/* Span of a swizzle mode in bytes (all 128B_ATOM_* variants span 128). */
static uint32_t swizzle_span(int s) { return s == kSwizzleNone ? 0 : s == kSwizzle32B ? 32 : s == kSwizzle64B ? 64 : 128; }

/* ---------------------------------------------------------------- validation
 * cuTensorMapEncodeTiled's requirements, one message per rule. */

static const char *check_enums(const TensorMapParams &p)
{
    if (p.data_type < 0 || p.data_type > k16U6Align16B)
        return "tensorDataType is not a CUtensorMapDataType (0..15)";
    if (p.rank < 1 || p.rank > 5) return "tensorRank must be non-zero and at most 5";
    if (p.interleave < kInterleaveNone || p.interleave > kInterleave32B)
        return "interleave is not a CUtensorMapInterleave (0..2)";
    if (p.swizzle < kSwizzleNone || p.swizzle > kSwizzle128BAtom64B)
        return "swizzle is not a CUtensorMapSwizzle (0..6)";
    if (p.l2_promotion < kL2None || p.l2_promotion > kL2_256B)
        return "l2Promotion is not a CUtensorMapL2promotion (0..3)";
    if (p.oob_fill < kOobFillNone || p.oob_fill > kOobFillNanRequestZeroFma)
        return "oobFill is not a CUtensorMapFloatOOBfill (0..1)";
    return NULL;
}

static const char *check_rank_and_address(const TensorMapParams &p)
{
    if (p.interleave != kInterleaveNone && p.rank < 3)
        return "tensorRank must be at least 3 when interleave is not CU_TENSOR_MAP_INTERLEAVE_NONE";
    const uintptr_t ga = (uintptr_t)p.global_address;
    if (ga % 16) return "globalAddress must be 16 byte aligned";
    if (p.interleave == kInterleave32B && ga % 32)
        return "globalAddress must be 32 byte aligned when interleave is CU_TENSOR_MAP_INTERLEAVE_32B";
    if (is_align16b_packed(p.data_type) && ga % 32)
        return "globalAddress must be 32 byte aligned for the 16U4_ALIGN16B / 16U6_ALIGN16B data types";
    return NULL;
}

static const char *check_dims_and_strides(const TensorMapParams &p)
{
    for (uint32_t i = 0; i < p.rank; ++i)
        if (p.global_dim[i] == 0 || p.global_dim[i] > (1ull << 32))
            return "globalDim must be non-zero and at most 2^32";
    if (is_align16b_packed(p.data_type) && p.global_dim[0] % 128)
        return "globalDim[0] must be a multiple of 128 for the 16U4_ALIGN16B / 16U6_ALIGN16B data types";
    if (p.data_type == k16U4Align8B && p.global_dim[0] % 2)
        return "globalDim[0] must be a multiple of 2 for the 16U4_ALIGN8B data type";
    for (uint32_t i = 0; i + 1 < p.rank; ++i) {
        const uint64_t s = p.global_strides[i];
        if (s % 16) return "globalStrides must be a multiple of 16";
        if (s >= (1ull << 40)) return "globalStrides must be less than 2^40";
        if (p.interleave == kInterleave32B && s % 32)
            return "globalStrides must be a multiple of 32 when interleave is CU_TENSOR_MAP_INTERLEAVE_32B";
        if (is_align16b_packed(p.data_type) && s % 32)
            return "globalStrides must be a multiple of 32 for the 16U4_ALIGN16B / 16U6_ALIGN16B data types";
    }
    return NULL;
}

static const char *check_box(const TensorMapParams &p)
{
    for (uint32_t i = 0; i < p.rank; ++i)
        if (p.box_dim[i] == 0 || p.box_dim[i] > 256) return "boxDim must be non-zero and at most 256";
    if (p.interleave == kInterleaveNone && ((uint64_t)p.box_dim[0] * global_bits(p.data_type)) % 128)
        return "boxDim[0] * elementSize must be a multiple of 16 bytes when interleave is CU_TENSOR_MAP_INTERLEAVE_NONE";
    if (is_align16b_packed(p.data_type) && p.box_dim[0] != 128)
        return "boxDim[0] must be 128 for the 16U4_ALIGN16B / 16U6_ALIGN16B data types";
    for (uint32_t i = 0; i < p.rank; ++i)
        if (p.element_strides[i] == 0 || p.element_strides[i] > 8)
            return "elementStrides must be non-zero and at most 8";
    return NULL;
}

static const char *check_swizzle(const TensorMapParams &p)
{
    if (p.interleave == kInterleave32B && p.swizzle != kSwizzle32B)
        return "swizzle must be CU_TENSOR_MAP_SWIZZLE_32B when interleave is CU_TENSOR_MAP_INTERLEAVE_32B";
    const uint32_t span = swizzle_span(p.swizzle);
    if (p.interleave == kInterleaveNone && span != 0 && (uint64_t)p.box_dim[0] * smem_bits(p.data_type) > span * 8u)
        return span == 32   ? "CU_TENSOR_MAP_SWIZZLE_32B requires the bounding box inner dimension to be <= 32 bytes"
               : span == 64 ? "CU_TENSOR_MAP_SWIZZLE_64B requires the bounding box inner dimension to be <= 64 bytes"
                            : "CU_TENSOR_MAP_SWIZZLE_128B* require the bounding box inner dimension to be <= 128 bytes";
    if (p.data_type == k16U6Align16B && span == 128 && p.interleave != kInterleaveNone)
        return "16U6_ALIGN16B with a 128B swizzle requires interleave CU_TENSOR_MAP_INTERLEAVE_NONE";
    if (p.data_type == k16U6Align16B && p.swizzle != kSwizzleNone && p.swizzle != kSwizzle128B &&
        p.swizzle != kSwizzle128BAtom32B && p.swizzle != kSwizzle128BAtom64B)
        return "16U6_ALIGN16B supports only the NONE, 128B, 128B_ATOM_32B and 128B_ATOM_64B swizzles";
    if (p.data_type == k16U4Align16B && p.swizzle != kSwizzleNone && p.swizzle != kSwizzle128B &&
        p.swizzle != kSwizzle128BAtom32B)
        return "16U4_ALIGN16B supports only the NONE, 128B and 128B_ATOM_32B swizzles";
    return NULL;
}

static const char *check_oob_fill(const TensorMapParams &p)
{
    if (p.oob_fill == kOobFillNanRequestZeroFma && (!is_float(p.data_type) || is_packed(p.data_type)))
        return "CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA needs a floating-point, non-packed tensorDataType";
    return NULL;
}

static const char *validate(const TensorMapParams &p)
{
    const char *e = check_enums(p);
    if (!e) e = check_rank_and_address(p);
    if (!e) e = check_dims_and_strides(p);
    if (!e) e = check_box(p);
    if (!e) e = check_swizzle(p);
    if (!e) e = check_oob_fill(p);
    return e;
}

/* ---------------------------------------------------------------- encoding
 * The twin's own layout of the opaque 128 bytes (little-endian fields):
 *   0 magic | 8 data_type, rank, interleave, swizzle, l2, oob_fill (u8) |
 *   16 global_address | 24 global_dim[5] | 64 global_strides[4] |
 *   96 box_dim[5] (u16) | 106 element_strides[5] (u8) | 124 FNV-1a of 0..123. */
static const uint64_t kMagic = 0x31504D54534D4951ull; /* "QIMSTMP1" */
enum { kOffFlags = 8, kOffAddr = 16, kOffDim = 24, kOffStride = 64, kOffBox = 96, kOffEstride = 106, kOffSum = 124 };

static uint32_t fnv1a(const uint8_t *b, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 16777619u;
    return h;
}

template <typename T> static void put(uint8_t *m, size_t off, T v) { memcpy(m + off, &v, sizeof v); }
template <typename T> static T get(const uint8_t *m, size_t off)
{
    T v;
    memcpy(&v, m + off, sizeof v);
    return v;
}

const char *tensor_map_encode(void *map128, const TensorMapParams &p)
{
    if ((uintptr_t)map128 % 64) return "tensorMap address must be aligned to 64 bytes";
    const char *e = validate(p);
    if (e) return e;
    uint8_t *m = (uint8_t *)map128;
    memset(m, 0, 128);
    put(m, 0, kMagic);
    const int flags[6] = {p.data_type, (int)p.rank, p.interleave, p.swizzle, p.l2_promotion, p.oob_fill};
    for (int i = 0; i < 6; ++i) m[kOffFlags + i] = (uint8_t)flags[i];
    put(m, kOffAddr, (uint64_t)(uintptr_t)p.global_address);
    for (uint32_t i = 0; i < p.rank; ++i) {
        put(m, kOffDim + 8 * i, p.global_dim[i]);
        put(m, kOffBox + 2 * i, (uint16_t)p.box_dim[i]);
        m[kOffEstride + i] = (uint8_t)p.element_strides[i];
        if (i + 1 < p.rank) put(m, kOffStride + 8 * i, p.global_strides[i]);
    }
    put(m, kOffSum, fnv1a(m, kOffSum));
    return NULL;
}

const char *tensor_map_decode(const void *map128, TensorMapParams &p)
{
    const uint8_t *m = (const uint8_t *)map128;
    if (get<uint64_t>(m, 0) != kMagic || get<uint32_t>(m, kOffSum) != fnv1a(m, kOffSum))
        return "not a tensor map written by cuTensorMapEncodeTiled (bad magic or checksum)";
    TensorMapParams q;
    memset(&q, 0, sizeof q);
    q.data_type = m[kOffFlags];
    q.rank = m[kOffFlags + 1];
    q.interleave = m[kOffFlags + 2];
    q.swizzle = m[kOffFlags + 3];
    q.l2_promotion = m[kOffFlags + 4];
    q.oob_fill = m[kOffFlags + 5];
    q.global_address = (void *)(uintptr_t)get<uint64_t>(m, kOffAddr);
    for (uint32_t i = 0; i < q.rank && i < 5; ++i) {
        q.global_dim[i] = get<uint64_t>(m, kOffDim + 8 * i);
        q.box_dim[i] = get<uint16_t>(m, kOffBox + 2 * i);
        q.element_strides[i] = m[kOffEstride + i];
        if (i + 1 < q.rank) q.global_strides[i] = get<uint64_t>(m, kOffStride + 8 * i);
    }
    const char *e = validate(q);
    if (e) return "tensor map fails the encoder's own requirements (corrupted)";
    p = q;
    return NULL;
}

/* ---------------------------------------------------------------- tile load */

/* Elements the box covers along dimension i: ceil(boxDim / elementStrides)
 * (driver reference, elementStrides); dimension 0 of a non-interleaved map
 * ignores its stride (PTX ISA 5.5.3.2). */
static uint32_t box_count(const TensorMapParams &p, uint32_t i)
{
    const uint32_t s = (i == 0 && p.interleave == kInterleaveNone) ? 1 : p.element_strides[i];
    return (p.box_dim[i] + s - 1) / s;
}

uint32_t tensor_map_box_bytes(const TensorMapParams &p)
{
    uint64_t bits = (uint64_t)box_count(p, 0) * smem_bits(p.data_type);
    for (uint32_t i = 1; i < p.rank && i < 5; ++i) bits *= box_count(p, i);
    return (uint32_t)(bits / 8);
}

static const char *check_loadable(const TensorMapParams &p, uint32_t dst_saddr)
{
    const char *e = validate(p);
    if (e) return e;
    if (p.rank != 2) return "cp.async.bulk.tensor.2d: the tensor map's rank is not 2";
    if (p.interleave != kInterleaveNone) return "cp.async.bulk.tensor.2d: interleaved layouts are not modelled";
    if (is_packed(p.data_type)) return "cp.async.bulk.tensor twin: packed sub-byte data types are not modelled";
    if (p.data_type == kFloat32Ftz || p.data_type == kTfloat32 || p.data_type == kTfloat32Ftz)
        return "cp.async.bulk.tensor twin: the converting FTZ / TFLOAT32 data types are not modelled";
    if (p.swizzle > kSwizzle128B) return "cp.async.bulk.tensor twin: the 128B_ATOM_* swizzles are not modelled";
    if (dst_saddr % 128)
        return "cp.async.bulk.tensor: the shared-memory address must be 128 byte aligned (CUDA programming guide, "
               "TMA alignment table)";
    return NULL;
}

/* Where linear byte `off` of the box lands, relative to the box: the
 * box is linear in shared memory (PTX ISA 5.5) and the swizzle permutes its
 * 16-byte chunks by address (5.5.7). */
static uint32_t placed(const TensorMapParams &p, uint32_t dst_saddr, uint32_t off)
{
    return smem_swizzle(dst_saddr + off, swizzle_span(p.swizzle), 0) - dst_saddr;
}

const char *tma_load_tile_2d(const TensorMapParams &p, int32_t c0, int32_t c1, uint8_t *dst, uint32_t dst_saddr)
{
    const char *e = check_loadable(p, dst_saddr);
    if (e) return e;
    const uint32_t esize = global_bits(p.data_type) / 8, row_bytes = p.box_dim[0] * esize;
    const uint32_t rows = box_count(p, 1), bytes = rows * row_bytes, ystep = p.element_strides[1];
    for (uint32_t off = 0; off < bytes; off += 16)
        if (placed(p, dst_saddr, off) >= bytes)
            return "cp.async.bulk.tensor: a swizzled 16-byte chunk lands past the box (the box is not a whole number "
                   "of 128-byte lines; the CUDA programming guide asks for the full swizzle width to be allocated)";

    /* the box in linear order, out-of-bounds elements zero (PTX ISA 5.5.3.3) */
    std::vector<uint8_t> box(bytes, 0);
    bool oob = false;
    const uint8_t *g = (const uint8_t *)p.global_address;
    for (uint32_t j = 0; j < rows; ++j) {
        const int64_t y = (int64_t)c1 + (int64_t)j * ystep;
        for (uint32_t i = 0; i < p.box_dim[0]; ++i) {
            const int64_t x = (int64_t)c0 + i;
            if (x < 0 || y < 0 || (uint64_t)x >= p.global_dim[0] || (uint64_t)y >= p.global_dim[1]) {
                oob = true;
                continue;
            }
            memcpy(&box[j * row_bytes + i * esize], g + (uint64_t)y * p.global_strides[0] + (uint64_t)x * esize, esize);
        }
    }
    if (oob && p.oob_fill == kOobFillNanRequestZeroFma)
        return "cp.async.bulk.tensor twin: OOB-NaN fill is not modelled (the OOB-NaN constant is not documented)";
    for (uint32_t off = 0; off < bytes; off += 16) memcpy(dst + placed(p, dst_saddr, off), &box[off], 16);
    return NULL;
}

} // namespace ptx
} // namespace qbsim
