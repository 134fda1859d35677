/* kernels_sparse24.h - the 2:4 sparse GEMM kernels' launch interface (POD +
 * extern "C", like cuda_kernels.h): what the host side (cuda_sparse24.c)
 * plans and the kernels (sp24_*.cu, sp24_kernel.cuh, sp24_prepack.cu) read.
 * Semantics: docs/FORMATS.md "2:4 sparse"; the packed layout: "CUDA 2:4
 * packed layout" (the comment of sp24_kernel.cuh has the details).
 *
 * Y^T = W . X^T on sparse tensor cores: the weight rows are the mma's M
 * side (the sparse operand A), the tokens its N side (dense B).
 */
#ifndef QBLAS_KERNELS_SPARSE24_H
#define QBLAS_KERNELS_SPARSE24_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QB_SP24_THREADS 128    /* 4 warps */
#define QB_SP24_BW 128         /* weight rows per block; N is padded to a multiple in the blob */
#define QB_SP24_ROW_BYTES 128  /* X bytes per token row per stage: k64 (f16/bf16) or k128 (i8) */
#define QB_SP24_TILE_BYTES 512 /* packed values of one m16 weight tile for one mma k step */
#define QB_SP24_VAL_STAGE (QB_SP24_BW / 16 * 2 * QB_SP24_TILE_BYTES) /* 8 tiles x 2 mma steps = 8 KB */
/* metadata of one m16 tile for one mma k step: 16 words (f16/bf16, k32) or 32 words (i8, k64) */
#define QB_SP24_META_TILE(es) ((es) == 2 ? 64 : 128)
#define QB_SP24_META_STAGE(es) (QB_SP24_BW / 16 * 2 * QB_SP24_META_TILE(es))
#define QB_SP24_BK(es) (QB_SP24_ROW_BYTES / (es)) /* dense k per stage: K is padded to a multiple */
#define QB_SP24_STAGE_BYTES(bx, es) (QB_SP24_VAL_STAGE + QB_SP24_META_STAGE(es) + (bx) * QB_SP24_ROW_BYTES)

/* One 2:4 GEMM launch. Every pointer is device memory. */
typedef struct qb_sp24_kparams {
    const void *x;          /* [m][ldx] activations, rows 16-byte aligned */
    long long ldx;          /* elements */
    const uint8_t *vals;    /* packed values (blob) */
    const uint8_t *meta;    /* packed metadata words (blob) */
    int kt;                 /* stages: padded k / QB_SP24_BK */
    int m, n, k;
    /* i8 and fp8 */
    const float *sx, *sw;   /* [m] or [1]; [n] or [1]; fp8 block: [m][kb], [np/128][kb] */
    int sx_per_row, sw_per_row;
    int kb;                 /* fp8 block scales: ceil(k / 128) */
    /* i8 only */
    const int32_t *zx;      /* [m] activation zero points, or NULL */
    const int32_t *colsum;  /* [np] sum of each decompressed weight row (blob) */
    const unsigned long long *verdict; /* when zx: qb_dev_check_i8_zeros's; failed: write nothing */
    void *y;                /* output, y_dtype, leading dimension ldy */
    long long ldy;
    int y_dtype;
    const void *bias;       /* [n] of y_dtype, or NULL */
} qb_sp24_kparams;

/* Launch the (bx tokens per block, stages) configuration; grid = (np / 128,
 * ceil(m / bx)). cudaErrorInvalidValue when this build lacks it. */
cudaError_t qb_sp24_launch_f16(int bx, int stages, const qb_sp24_kparams *p, cudaStream_t s);
cudaError_t qb_sp24_launch_bf16(int bx, int stages, const qb_sp24_kparams *p, cudaStream_t s);
cudaError_t qb_sp24_launch_i8(int bx, int stages, const qb_sp24_kparams *p, cudaStream_t s);
/* fp8 weights e4m3 / e5m2 (sm_89+); x_e5m2: the activations are e5m2 (else
 * e4m3); block: 1x128 x 128x128 block scales (else per-tensor / per-row). */
cudaError_t qb_sp24_launch_fp8_e4m3(int x_e5m2, int block, int bx, int stages, const qb_sp24_kparams *p,
                                    cudaStream_t s);
cudaError_t qb_sp24_launch_fp8_e5m2(int x_e5m2, int block, int bx, int stages, const qb_sp24_kparams *p,
                                    cudaStream_t s);
/* Allow up to smem_max bytes of dynamic shared memory for every kernel of the dtype. */
cudaError_t qb_sp24_prepare_f16(int smem_max);
cudaError_t qb_sp24_prepare_bf16(int smem_max);
cudaError_t qb_sp24_prepare_i8(int smem_max);
cudaError_t qb_sp24_prepare_fp8_e4m3(int smem_max);
cudaError_t qb_sp24_prepare_fp8_e5m2(int smem_max);

/* ---- prepack (sp24_prepack.cu) ----
 * The check records into the prepack's verdict (cuda_kernels.h, device-side
 * checks); the writers write nothing once it failed. */
/* The first meta field of the canonical meta [n][ceil(k/8)] with i0 >= i1
 * (QB_DEV_SP24_META, atomicMin into *verdict). */
cudaError_t qb_sp24_check_meta(const uint8_t *meta, int n, int k, unsigned long long *verdict, cudaStream_t s);
/* Canonical values [n][k/2] (es = 2 or 1 bytes) and meta -> the blob's values
 * and metadata for np rows and kt stages (padding: zero values, field 0x4). */
cudaError_t qb_sp24_pack(const void *vals, const uint8_t *meta, int es, int n, int k, int np, int kt, uint8_t *dvals,
                         uint8_t *dmeta, const unsigned long long *verdict, cudaStream_t s);
/* out[r] = sum of the kept i8 values of row r (= the decompressed row's sum), 0 for r in [n, np). */
cudaError_t qb_sp24_colsum(const int8_t *vals, int n, int k, int np, int32_t *out, const unsigned long long *verdict,
                           cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_KERNELS_SPARSE24_H */
