/* cuda_kernels.h - the boundary between the CUDA backend's host code (plain
 * C, compiled by the C compiler) and its kernels (.cu, compiled by nvcc).
 * Only POD types and extern "C" launchers cross it, so the host side never
 * needs a C++ compiler and the kernels never see the core's internals.
 *
 * W4A16 tile geometry (docs/FORMATS.md, "CUDA W4A16 packed layout"):
 *   a block is 4 warps side by side along n, each warp owns n64, so a block
 *   covers n256; a pipeline stage holds k64; a warp's B operand for one k16
 *   step is one 16-byte load per lane (n64 x k16 = 1024 nibbles = 512 bytes).
 *   M is covered by MT m16 tiles per block (MT = 1, 2 or 4).
 */
#ifndef QBLAS_CUDA_KERNELS_H
#define QBLAS_CUDA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#include "../common/qblas_numeric.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QB_W4_THREADS 128 /* 4 warps */
#define QB_W4_BN 256      /* n per block: N is padded to a multiple at prepack */
#define QB_W4_WN 64       /* n per warp */
#define QB_W4_BK 64       /* k per stage: K is padded to a multiple at prepack */
#define QB_W4_TILE_BYTES 8192 /* packed codes of one (n256, k64) block tile */

/* Shared memory of one pipeline stage: A (MT*16 rows x 128 bytes, swizzled),
 * B (8 KB of packed codes), scales (2 group slots x 256 columns x up to
 * 4 bytes), zero points (2 slots x 256 bytes). */
#define QB_W4_A_BYTES(mt) ((mt) * 16 * 128)
#define QB_W4_S_SLOT_BYTES 1024
#define QB_W4_Z_SLOT_BYTES 256
#define QB_W4_STAGE_BYTES(mt) (QB_W4_A_BYTES(mt) + QB_W4_TILE_BYTES + 2 * QB_W4_S_SLOT_BYTES + 2 * QB_W4_Z_SLOT_BYTES)

/* One W4A16 GEMM launch, as the host planned it. */
typedef struct qb_w4a16_kparams {
    const void *x;          /* activations: row starts 16-byte aligned, ldx % 8 == 0 */
    long long ldx;
    const void *codes;      /* packed codes */
    const void *scales;     /* packed scales, scale_dtype */
    const uint8_t *zeros;   /* packed zero points, or NULL (symmetric: zero 8) */
    int scale_dtype;        /* qblas_dtype_t of the stored scales: F16, BF16 or F32 */
    int m, n, k;            /* logical shape; k % 16 == 0 */
    int np;                 /* n padded to QB_W4_BN */
    int kt_total;           /* k tiles: ceil(k / 64) */
    int group_shift;        /* log2(group size); 30 when one group spans k */
    int tiles_per_split;    /* k tiles per split (grid z) */
    int splits;             /* > 1: fp32 partial sums go to `partial`, a reduce kernel finishes */
    int stages;             /* cp.async pipeline depth, 2..8 */
    int evict_first;        /* weights with an L2 evict-first hint (one block row reads them) */
    void *y;                /* output, y_dtype, leading dimension ldy */
    long long ldy;
    int y_dtype;
    const void *bias;       /* [n] of y_dtype, or NULL */
    float *partial;         /* [splits][m][np] when splits > 1 */
} qb_w4a16_kparams;

/* GEMM kernels, one translation unit per (activation dtype, dequant path).
 * native: scales are stored in the activation dtype (one 16-bit multiply);
 * otherwise the fp32 path (fp32 multiply, one rounding). grid = (m blocks,
 * n blocks, splits). */
cudaError_t qb_w4a16_launch_f16(int mt, const qb_w4a16_kparams *p, size_t smem, cudaStream_t s);
cudaError_t qb_w4a16_launch_f16_f32dq(int mt, const qb_w4a16_kparams *p, size_t smem, cudaStream_t s);
cudaError_t qb_w4a16_launch_bf16(int mt, const qb_w4a16_kparams *p, size_t smem, cudaStream_t s);
cudaError_t qb_w4a16_launch_bf16_f32dq(int mt, const qb_w4a16_kparams *p, size_t smem, cudaStream_t s);
/* Allow up to smem_max bytes of dynamic shared memory for every GEMM kernel
 * (on the current device); fails with cudaErrorNoKernelImageForDevice /
 * cudaErrorInvalidDeviceFunction when this build has no code for the device. */
cudaError_t qb_w4a16_prepare_f16(int smem_max);
cudaError_t qb_w4a16_prepare_f16_f32dq(int smem_max);
cudaError_t qb_w4a16_prepare_bf16(int smem_max);
cudaError_t qb_w4a16_prepare_bf16_f32dq(int smem_max);

/* Helpers (w4a16_aux.cu). */
/* Canonical u4 codes [n][ceil(k/2)] -> packed codes; perm (device, [k]) or NULL. */
cudaError_t qb_w4a16_pack_codes(const uint8_t *src, int n, int k, const int32_t *perm, int np, int kt_total,
                                uint32_t *dst, cudaStream_t s);
/* [groups][n] elements of elem_bytes (1, 2 or 4) -> packed [groups][np] order; pad fills n..np-1. */
cudaError_t qb_w4a16_pack_groups(const void *src, int groups, int n, int np, int elem_bytes, uint32_t pad,
                                 void *dst, cudaStream_t s);
/* out[m][kk] = x[m][perm ? perm[kk] : kk] for kk < k (16-bit elements), rows of ldo elements. */
cudaError_t qb_w4a16_gather_x(const void *x, long long ldx, const int32_t *perm, int m, int k, void *out, int ldo,
                              cudaStream_t s);
/* y = sum over splits of partial (+ bias), converted to y_dtype. */
cudaError_t qb_w4a16_reduce(const qb_w4a16_kparams *p, cudaStream_t s);

/* ---- activation quantization (quant_act.cu) ----
 * One call of qblas_quantize_act, as validated by the core and the host side
 * (cuda_quant_act.c). dtypes and mode are qblas_dtype_t / qblas_scale_mode_t
 * values. PER_TENSOR: tensor_scale is the static scale, already read from
 * scales[0] and checked (finite, > 0); the kernel writes q only. */
typedef struct qb_qact_kparams {
    const void *x;        /* [m][ldx] of x_dtype: F32, F16 or BF16 */
    long long ldx;
    void *q;              /* [m][ldq] one byte per code: I8 or an fp8 dtype */
    long long ldq;
    long long m, k;
    int x_dtype, q_dtype, mode;
    float *scales;        /* PER_ROW [m], BLOCK_1X128 [m][ceil(k/128)] (written) */
    int32_t *zeros;       /* PER_ROW int8 asymmetric [m] (written), or NULL */
    float tensor_scale;
    float qmax;           /* largest code magnitude: 127 (int8) or the fp8 maximum */
    qb_fp8_fmt fp8;       /* the fp8 format of q_dtype (unused for int8) */
} qb_qact_kparams;

/* Launch the kernel for p's mode on s; sms sizes the grid. */
cudaError_t qb_qact_launch(const qb_qact_kparams *p, int sms, cudaStream_t s);

/* ---- W8A8 INT8 GEMM (gemm_int8.cu, int8_kernel.cuh) ----
 * 4 warps per block, k64 per pipeline stage; block shapes BM x BN and
 * pipeline depths are the registry's (cuda_registry.c). Requirements the
 * host checked: k % 16 == 0; X and W rows 16-byte aligned. */
#define QB_I8_THREADS 128
#define QB_I8_BK 64
#define QB_I8_STAGE_BYTES(bm, bn) (((bm) + (bn)) * QB_I8_BK) /* A rows then B rows, 64 bytes each */

/* One INT8 GEMM launch. Scales, zero points, column sums and bias are
 * device pointers. */
typedef struct qb_int8_kparams {
    const int8_t *x;        /* [m][ldx] */
    long long ldx;
    const int8_t *w;        /* [n][k], the canonical layout */
    const float *sx, *sw;   /* [m] or [1]; [n] or [1] */
    int sx_per_row, sw_per_row;
    const int32_t *zx;      /* [m] activation zero points, or NULL */
    const int32_t *colsum;  /* [n] sum_k W[n][k], when zx */
    int m, n, k;
    void *y;                /* output, y_dtype, leading dimension ldy */
    long long ldy;
    int y_dtype;
    const void *bias;       /* [n] of y_dtype, or NULL */
} qb_int8_kparams;

/* Launch the (bm, bn, stages) configuration; cudaErrorInvalidValue if this
 * build has no such kernel. grid = (m blocks, n blocks). */
cudaError_t qb_int8_launch(int bm, int bn, int stages, const qb_int8_kparams *p, cudaStream_t s);
/* Allow up to smem_max bytes of dynamic shared memory for every INT8 kernel. */
cudaError_t qb_int8_prepare(int smem_max);
/* out[n] = sum_k w[n][k] (rows of k bytes, k % 16 == 0, 16-byte aligned). */
cudaError_t qb_int8_colsum(const int8_t *w, int n, int k, int32_t *out, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_CUDA_KERNELS_H */
