/* hip_launchers.h - the extern "C" launchers of the AMD kernels (src/hip/
 * *.hip), named per target (QB_HIP_SYM, hip_names.h): declared once here so
 * that each definition (hip_gemm_*.hip, hip_prepack.hip) and the table that
 * lists them (hip_table.hip) are checked against the same prototype. HIP
 * translation units only; the host code reaches them through the table
 * (hip_kernels.h), whose fields they match. Every launcher returns a
 * hipError_t as an int and takes the stream as void *. */
#ifndef QBLAS_HIP_LAUNCHERS_H
#define QBLAS_HIP_LAUNCHERS_H

#ifndef QB_HIP_TARGET
#error "hip_launchers.h: HIP objects only (QB_HIP_TARGET names the gfx target)"
#endif

#include <stdint.h>

#include "hip_kernels.h"

extern "C" {

/* ---- GEMMs (hip_gemm_{f16,i8,fp8}.hip); shape: QB_HIP_SHAPE_* ---- */
int QB_HIP_SYM(w4a16)(int shape, int act, const qb_w4a16_kparams *p, void *stream);
int QB_HIP_SYM(sp24_dense_f16)(int shape, int act, const qb_sp24_kparams *p, void *stream);
int QB_HIP_SYM(int8)(int shape, const qb_int8_kparams *p, void *stream);
int QB_HIP_SYM(w4a8)(int shape, const qb_w4a8_kparams *p, void *stream);
int QB_HIP_SYM(sp24_dense_i8)(int shape, const qb_sp24_kparams *p, void *stream);
int QB_HIP_SYM(fp8)(int shape, const qb_fp8_kparams *p, void *stream);
int QB_HIP_SYM(sp24_dense_fp8)(int shape, int w_dtype, int x_dtype, int block_scales, const qb_sp24_kparams *p,
                               void *stream);

/* ---- prepack (hip_prepack.hip); the meaning of each: hip_kernels.h ---- */
int QB_HIP_SYM(pack_u4)(const uint8_t *src, int n, int k, const int32_t *perm, int np, int kt, int pad_code,
                        uint8_t *dst, const unsigned long long *verdict, void *stream);
int QB_HIP_SYM(pack_w4a8_params)(const int8_t *s2, const uint8_t *z, const uint16_t *s1, int n, int groups, int g128,
                                 int np, uint16_t *params, float *s1_out, const unsigned long long *verdict,
                                 void *stream);
int QB_HIP_SYM(pack_rows)(const void *src, int rows, int n, int np, int elem_bytes, uint32_t pad, void *dst,
                          const unsigned long long *verdict, void *stream);
int QB_HIP_SYM(pack_fp8)(const uint8_t *src, long long count, int src_dtype, uint8_t *dst, void *stream);
int QB_HIP_SYM(sp24_decompress)(const void *vals, const uint8_t *meta, int w_dtype, int n, int k, int np, int kp,
                                void *dst, const unsigned long long *verdict, void *stream);

} /* extern "C" */

#endif /* QBLAS_HIP_LAUNCHERS_H */
