/* qblas_types.h - status codes, data types and the other frozen enums.
 *
 * Every enum value in this file is part of the ABI: values are never
 * renumbered or reused; new values are only appended.
 */
#ifndef QBLAS_TYPES_H
#define QBLAS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QBLAS_VERSION_MAJOR 0
#define QBLAS_VERSION_MINOR 1
#define QBLAS_VERSION_PATCH 0
/* One integer that orders versions: major*10000 + minor*100 + patch. */
#define QBLAS_VERSION \
    (QBLAS_VERSION_MAJOR * 10000 + QBLAS_VERSION_MINOR * 100 + QBLAS_VERSION_PATCH)

typedef enum qblas_status {
    QBLAS_STATUS_SUCCESS = 0,
    QBLAS_STATUS_INVALID_VALUE = 1,          /* a bad argument: null, size, stride, alignment, format */
    QBLAS_STATUS_NOT_SUPPORTED = 2,          /* valid, but this backend/arch does not do it */
    QBLAS_STATUS_INSUFFICIENT_WORKSPACE = 3, /* workspace_bytes below what the query said */
    QBLAS_STATUS_ARCH_MISMATCH = 4,          /* data prepacked for another backend/arch, or no such device */
    QBLAS_STATUS_ALLOC_FAILED = 5,           /* the library could not allocate host memory it needs */
    QBLAS_STATUS_EXECUTION_FAILED = 6,       /* a kernel launch or device call failed */
    QBLAS_STATUS_INTERNAL_ERROR = 7          /* a bug in qblas: please report */
} qblas_status_t;

/* Element types. "Packed" 4-bit types hold two values per byte: the element
 * with the even index in bits 0..3, the odd one in bits 4..7. */
typedef enum qblas_dtype {
    QBLAS_DTYPE_F32 = 0,
    QBLAS_DTYPE_F16 = 1,       /* IEEE binary16 */
    QBLAS_DTYPE_BF16 = 2,      /* bfloat16 */
    QBLAS_DTYPE_I8 = 3,
    QBLAS_DTYPE_U8 = 4,
    QBLAS_DTYPE_I4 = 5,        /* packed signed 4-bit, two's complement */
    QBLAS_DTYPE_U4 = 6,        /* packed unsigned 4-bit */
    QBLAS_DTYPE_E4M3 = 7,      /* OCP fp8 E4M3 ("fn": no inf, NaN = S.1111.111), bias 7, max 448 */
    QBLAS_DTYPE_E5M2 = 8,      /* OCP fp8 E5M2 (IEEE-like, has inf), bias 15, max 57344 */
    QBLAS_DTYPE_E4M3FNUZ = 9,  /* AMD fp8 E4M3 "fnuz": bias 8, no -0, NaN = 0x80, max 240 */
    QBLAS_DTYPE_I32 = 10
} qblas_dtype_t;

typedef enum qblas_backend {
    QBLAS_BACKEND_AUTO = 0,    /* the best backend present: CUDA, then HIP, then CPU */
    QBLAS_BACKEND_CPU = 1,
    QBLAS_BACKEND_CUDA = 2,
    QBLAS_BACKEND_HIP = 3
} qblas_backend_t;

/* How a scale (or scale array) maps onto a matrix. See docs/FORMATS.md. */
typedef enum qblas_scale_mode {
    QBLAS_SCALE_NONE = 0,
    QBLAS_SCALE_PER_TENSOR = 1,     /* one float */
    QBLAS_SCALE_PER_ROW = 2,        /* activations: one per token [M]; weights: one per output channel [N] */
    QBLAS_SCALE_BLOCK_1X128 = 3,    /* activations: [M][ceil(K/128)], one per 128 consecutive k of a row */
    QBLAS_SCALE_BLOCK_128X128 = 4,  /* weights: [ceil(N/128)][ceil(K/128)] */
    QBLAS_SCALE_PER_GROUP = 5,      /* 4-bit weights: [G][N], G = K / group_size */
    QBLAS_SCALE_PER_HEAD = 6,       /* KV cache: [num_kv_heads] */
    QBLAS_SCALE_PER_TOKEN_HEAD = 7  /* KV cache: [num_pages][page_size][num_kv_heads] */
} qblas_scale_mode_t;

/* Quantized weight formats: together with the activation dtype they pick the GEMM. */
typedef enum qblas_wformat {
    QBLAS_WFORMAT_INVALID = 0,
    QBLAS_WFORMAT_W4A16 = 1,    /* u4 codes, group scales, optional zero points, optional act-order */
    QBLAS_WFORMAT_INT8 = 2,     /* i8, per-tensor or per-channel fp32 scales */
    QBLAS_WFORMAT_FP8 = 3,      /* e4m3 / e5m2 / e4m3fnuz, per-tensor, per-channel or 128x128 scales */
    QBLAS_WFORMAT_W4A8 = 4,     /* QServe QoQ: u4 codes, int8 group scales + u4 zeros, fp16 channel scales */
    QBLAS_WFORMAT_SPARSE24 = 5  /* 2:4 along K: values [N][K/2] + 2-bit indices */
} qblas_wformat_t;

/* Memory layout of a weight. CANONICAL is the documented interchange layout
 * (docs/FORMATS.md); other values are produced by qblas_prepack() for one
 * backend/architecture and are opaque. */
typedef enum qblas_layout {
    QBLAS_LAYOUT_CANONICAL = 0,
    QBLAS_LAYOUT_CPU_BLOB = 1,       /* CPU backend: all tensors of the weight in one buffer */
    /* 16..31: CUDA layouts */
    QBLAS_LAYOUT_CUDA_W4A16 = 16,    /* CUDA, sm_80+: W4A16 codes in mma-fragment order (docs/FORMATS.md) */
    QBLAS_LAYOUT_CUDA_W4A8 = 17,     /* CUDA, sm_80+: W4A8 codes and scales in int8 mma-fragment order */
    QBLAS_LAYOUT_CUDA_SPARSE24 = 18, /* CUDA, sm_80+: 2:4 values and metadata in mma.sp order */
    /* 32..47: HIP (AMD) layouts (docs/FORMATS.md, "HIP (AMD) backend") */
    QBLAS_LAYOUT_HIP_W4A16 = 32,     /* gfx90a/gfx942: u4 codes in 32-row x 64-k MFMA chunks, scales/zeros [groups][np] */
    QBLAS_LAYOUT_HIP_W4A8 = 33,      /* gfx90a/gfx942: W4A8 codes in the same chunks, (s2 | z << 8) params [groups][np] */
    QBLAS_LAYOUT_HIP_FP8 = 34,       /* gfx942: fp8 weight codes converted to FNUZ (E4M3FNUZ / E5M2FNUZ) */
    QBLAS_LAYOUT_HIP_SPARSE24 = 35   /* gfx90a/gfx942: 2:4 weight decompressed to dense rows (no sparse MFMA used) */
} qblas_layout_t;

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_TYPES_H */
