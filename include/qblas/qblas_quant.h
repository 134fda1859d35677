/* qblas_quant.h - quantizers, checkpoint importers and 2:4 tools.
 *
 * qblas_quantize_act() runs on the handle's backend (it sits on the inference
 * hot path). The other calls here are host functions that work on host
 * memory, need no handle and are deterministic; their results go to the
 * device with the user's own copy, then through qblas_prepack().
 * docs/FORMATS.md gives every formula.
 */
#ifndef QBLAS_QUANT_H
#define QBLAS_QUANT_H

#include "qblas_gemm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Convert n elements between f32, f16, bf16 and the fp8 formats (host),
 * with the library's exact rounding (docs/FORMATS.md: nearest-even,
 * fp8 saturating). src and dst must not overlap, except dst == src when both
 * dtypes have the same size (in place). */
qblas_status_t qblas_convert(int64_t n, qblas_dtype_t src_dtype, const void *src,
                             qblas_dtype_t dst_dtype, void *dst);

/* Dynamic activation quantization, one pass over X[m, k] (f32, f16 or bf16).
 *  q_dtype I8, mode PER_ROW:      scales[m] = amax/127 (out); zeros == NULL: symmetric;
 *                                 zeros != NULL: asymmetric, min/max, zeros[m] (out).
 *  q_dtype E4M3|E5M2|E4M3FNUZ, mode PER_ROW: scales[m] = amax/fp8_max (out).
 *  q_dtype fp8, mode BLOCK_1X128: scales[m][ceil(k/128)] (out).
 *  q_dtype I8 or fp8, mode PER_TENSOR: static: scales[0] is read, not written;
 *                                 it must be finite and > 0 (on a GPU a device-side
 *                                 check: qblas_device_status, docs/API.md).
 * q has leading dimension ldq >= k. */
qblas_status_t qblas_quantize_act(qblas_handle_t handle, int64_t m, int64_t k,
                                  qblas_dtype_t x_dtype, const void *x, int64_t ldx,
                                  qblas_dtype_t q_dtype, void *q, int64_t ldq,
                                  qblas_scale_mode_t mode, float *scales, int32_t *zeros,
                                  void *stream);

/* Round-to-nearest weight quantizer (host). src is W[n, k] (f32, f16 or bf16,
 * leading dimension ld). The caller fills *out with the target format
 * (format, dtype, n, k, scale_mode, scale_dtype, group_size, g_idx) and
 * points data/scales/zeros/group_scales/meta at writable host buffers of the
 * sizes qblas_weight_sizes() gives; this call fills those buffers.
 * W4A16: zeros != NULL selects asymmetric (min/max) quantization, NULL the
 * symmetric one; g_idx (act-order) is honoured. SPARSE24: src must already be
 * 2:4 sparse (see qblas_sparse24_prune). An f32 src is read in place; f16 and
 * bf16 ones are converted to a temporary f32 copy first. */
qblas_status_t qblas_quantize_weight(int64_t n, int64_t k, qblas_dtype_t src_dtype,
                                     const void *src, int64_t ld, qblas_weight_t *out);

/* Dequantize a canonical weight back to W[n, k] in dst_dtype (f32, f16 or
 * bf16) with leading dimension ld, exactly as the GEMM oracle does (host). */
qblas_status_t qblas_dequantize_weight(const qblas_weight_t *w, qblas_dtype_t dst_dtype,
                                       void *dst, int64_t ld);

/* GPTQ checkpoint -> canonical W4A16 (host).
 *  qweight int32 [k/8][n]:  code(k, n) = (qweight[k/8][n] >> 4*(k%8)) & 15
 *  qzeros  int32 [G][n/8]:  zero(g, n) = (word >> 4*(n%8)) & 15, word = (uint32)qzeros[g][n/8],
 *                           plus 0x11111111 (mod 2^32) when zeros_minus_one: GPTQ v1
 *                           files store the packed zeros minus that constant, borrows included
 *  scales  [G][n] of scale_dtype;  g_idx int32 [k] or NULL.
 * out: format/dtype/shape/group_size are set by this call; the caller points
 * data, scales, zeros (or NULL: then every zero must be 8, i.e. symmetric)
 * and g_idx (needed only when g_idx is not the trivial k/group_size; set to
 * NULL by this call when it is trivial) at host buffers. */
qblas_status_t qblas_import_gptq(int64_t k, int64_t n, int32_t group_size,
                                 const int32_t *qweight, const int32_t *qzeros,
                                 const void *scales, qblas_dtype_t scale_dtype,
                                 const int32_t *g_idx, int zeros_minus_one,
                                 qblas_weight_t *out);

/* AWQ checkpoint -> canonical W4A16 (host).
 *  qweight int32 [k][n/8], qzeros int32 [G][n/8]: nibble i of word j holds
 *  column 8*j + {0,2,4,6,1,3,5,7}[i]; scales [G][n] of scale_dtype.
 * out as for qblas_import_gptq (zeros required; g_idx unused). */
qblas_status_t qblas_import_awq(int64_t k, int64_t n, int32_t group_size,
                                const int32_t *qweight, const int32_t *qzeros,
                                const void *scales, qblas_dtype_t scale_dtype,
                                qblas_weight_t *out);

/* 2:4 tools (host). dtype: f16, bf16, i8, e4m3, e5m2 (f32 for prune only).
 * k must be a multiple of 4. prune keeps the two entries of largest magnitude
 * in every 4 consecutive k (the lower index wins ties) and zeroes the rest.
 * compress fails with INVALID_VALUE (writing nothing) if a group of four has
 * more than two non-zeros. */
qblas_status_t qblas_sparse24_prune(int64_t n, int64_t k, qblas_dtype_t dtype,
                                    const void *src, int64_t ld_src, void *dst, int64_t ld_dst);
qblas_status_t qblas_sparse24_compress(int64_t n, int64_t k, qblas_dtype_t dtype,
                                       const void *dense, int64_t ld,
                                       void *values, void *meta);
qblas_status_t qblas_sparse24_decompress(int64_t n, int64_t k, qblas_dtype_t dtype,
                                         const void *values, const void *meta,
                                         void *dense, int64_t ld);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_QUANT_H */
