/* dtype.c - element sizes, names and scalar load/store for every dtype. */
#include "qblas_internal.h"

static const struct { const char *name; size_t size; } dtypes[] = {
    [QBLAS_DTYPE_F32] = {"f32", 4},   [QBLAS_DTYPE_F16] = {"f16", 2},     [QBLAS_DTYPE_BF16] = {"bf16", 2},
    [QBLAS_DTYPE_I8] = {"i8", 1},     [QBLAS_DTYPE_U8] = {"u8", 1},       [QBLAS_DTYPE_I4] = {"i4", 0},
    [QBLAS_DTYPE_U4] = {"u4", 0},     [QBLAS_DTYPE_E4M3] = {"e4m3", 1},   [QBLAS_DTYPE_E5M2] = {"e5m2", 1},
    [QBLAS_DTYPE_E4M3FNUZ] = {"e4m3fnuz", 1}, [QBLAS_DTYPE_I32] = {"i32", 4},
};
#define NDTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

bool qb_dtype_valid(qblas_dtype_t t) { return (int)t >= 0 && (int)t < NDTYPES; }

const char *qblas_dtype_name(qblas_dtype_t t) { return qb_dtype_valid(t) ? dtypes[t].name : "unknown"; }

size_t qb_dtype_size(qblas_dtype_t t) { return qb_dtype_valid(t) ? dtypes[t].size : 0; }

bool qb_is_fp8(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_E4M3 || t == QBLAS_DTYPE_E5M2 || t == QBLAS_DTYPE_E4M3FNUZ;
}

bool qb_is_float16ish(qblas_dtype_t t) { return t == QBLAS_DTYPE_F16 || t == QBLAS_DTYPE_BF16; }

bool qb_row_bytes(qblas_dtype_t t, int64_t cols, int64_t *bytes)
{
    if (!qb_dtype_valid(t) || cols < 0) return false;
    if (t == QBLAS_DTYPE_U4 || t == QBLAS_DTYPE_I4) {
        *bytes = cols / 2 + (cols & 1);
        return true;
    }
    return qb_mul(cols, (int64_t)dtypes[t].size, bytes);
}

bool qb_span_bytes(qblas_dtype_t t, int64_t rows, int64_t cols, int64_t ld, int64_t *bytes)
{
    int64_t last, lead, elems;
    if (rows < 1 || cols < 0 || ld < cols) return false;
    if (!qb_mul(rows - 1, ld, &lead) || !qb_add(lead, cols, &elems)) return false;
    (void)last;
    return qb_row_bytes(t, elems, bytes);
}

bool qb_aligned(const void *p, qblas_dtype_t t)
{
    size_t s = qb_dtype_size(t);
    return s <= 1 || ((uintptr_t)p % s) == 0;
}

float qb_load_f32(qblas_dtype_t t, const void *p, int64_t i)
{
    switch (t) {
    case QBLAS_DTYPE_F32: return ((const float *)p)[i];
    case QBLAS_DTYPE_F16: return qb_f16_to_f32(((const uint16_t *)p)[i]);
    case QBLAS_DTYPE_BF16: return qb_bf16_to_f32(((const uint16_t *)p)[i]);
    case QBLAS_DTYPE_I8: return (float)((const int8_t *)p)[i];
    case QBLAS_DTYPE_U8: return (float)((const uint8_t *)p)[i];
    case QBLAS_DTYPE_I32: return (float)((const int32_t *)p)[i];
    case QBLAS_DTYPE_E4M3:
    case QBLAS_DTYPE_E5M2:
    case QBLAS_DTYPE_E4M3FNUZ: return qb_fp8_decode(((const uint8_t *)p)[i], qb_fp8_fmt_of(t));
    default: return NAN;
    }
}

void qb_store_f32(qblas_dtype_t t, void *p, int64_t i, float v)
{
    switch (t) {
    case QBLAS_DTYPE_F32: ((float *)p)[i] = v; break;
    case QBLAS_DTYPE_F16: ((uint16_t *)p)[i] = qb_f32_to_f16(v); break;
    case QBLAS_DTYPE_BF16: ((uint16_t *)p)[i] = qb_f32_to_bf16(v); break;
    case QBLAS_DTYPE_E4M3:
    case QBLAS_DTYPE_E5M2:
    case QBLAS_DTYPE_E4M3FNUZ: ((uint8_t *)p)[i] = qb_fp8_encode(v, qb_fp8_fmt_of(t)); break;
    default: break; /* integer stores go through the quantizers, never here */
    }
}

void qb_row_to_f32(qblas_dtype_t t, const void *src, int64_t n, float *dst)
{
    switch (t) {
    case QBLAS_DTYPE_F32:
        for (int64_t i = 0; i < n; i++) dst[i] = ((const float *)src)[i];
        break;
    case QBLAS_DTYPE_F16:
        for (int64_t i = 0; i < n; i++) dst[i] = qb_f16_to_f32(((const uint16_t *)src)[i]);
        break;
    case QBLAS_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) dst[i] = qb_bf16_to_f32(((const uint16_t *)src)[i]);
        break;
    case QBLAS_DTYPE_I32:
        for (int64_t i = 0; i < n; i++) dst[i] = (float)((const int32_t *)src)[i];
        break;
    default: {
        /* fp8, i8, u8: decode through a 256-entry table built per row */
        float lut[256];
        for (int c = 0; c < 256; c++)
            lut[c] = qb_is_fp8(t) ? qb_fp8_decode((uint8_t)c, qb_fp8_fmt_of(t))
                     : t == QBLAS_DTYPE_I8 ? (float)(int8_t)c : (float)c;
        for (int64_t i = 0; i < n; i++) dst[i] = lut[((const uint8_t *)src)[i]];
    }
    }
}

float qb_round_to(qblas_dtype_t t, float v)
{
    switch (t) {
    case QBLAS_DTYPE_F16: return qb_f16_to_f32(qb_f32_to_f16(v));
    case QBLAS_DTYPE_BF16: return qb_bf16_to_f32(qb_f32_to_bf16(v));
    default: return v;
    }
}

static bool convertible(qblas_dtype_t t) { return t == QBLAS_DTYPE_F32 || qb_is_float16ish(t) || qb_is_fp8(t); }

qblas_status_t qblas_convert(int64_t n, qblas_dtype_t src_dtype, const void *src, qblas_dtype_t dst_dtype, void *dst)
{
    int64_t bytes;
    if (!src || !dst) return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "src or dst is NULL");
    if (n < 1 || !qb_row_bytes(QBLAS_DTYPE_F32, n, &bytes))
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "n=%lld must be >= 1", (long long)n);
    if (!qb_dtype_valid(src_dtype) || !qb_dtype_valid(dst_dtype) || !convertible(src_dtype) || !convertible(dst_dtype))
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "convert takes f32, f16, bf16 and fp8 dtypes");
    if (!qb_aligned(src, src_dtype) || !qb_aligned(dst, dst_dtype))
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "misaligned pointer");
    /* in place works when both dtypes have one size (each chunk is read before it is written); any other overlap does not */
    int64_t sbytes = n * (int64_t)qb_dtype_size(src_dtype), dbytes = n * (int64_t)qb_dtype_size(dst_dtype);
    if (qb_overlap(src, sbytes, dst, dbytes) && !(src == dst && sbytes == dbytes))
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "src and dst overlap without being the same array of one size");
    float buf[256];
    size_t es = qb_dtype_size(src_dtype);
    for (int64_t i0 = 0; i0 < n; i0 += 256) {
        int64_t len = n - i0 < 256 ? n - i0 : 256;
        qb_row_to_f32(src_dtype, (const uint8_t *)src + (size_t)i0 * es, len, buf);
        for (int64_t i = 0; i < len; i++) qb_store_f32(dst_dtype, dst, i0 + i, buf[i]);
    }
    qb_clear_error(NULL);
    return QBLAS_STATUS_SUCCESS;
}
