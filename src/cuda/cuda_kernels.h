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

/* ---- device-side checks: the records (src/common/qblas_dev_records.h) ---- */
#include "../common/qblas_dev_records.h"

/* The handle's device block (allocated and zeroed by qblas_create). The
 * verdict and the counts belong to the running prepack: prepacks of one
 * handle must not overlap on the device. */
#define QB_DEV_COUNTS 65536 /* act-order groups counted per pass over g_idx */
typedef struct qb_dev_block {
    unsigned long long status;  /* the first record since the last qblas_device_status; 0: none */
    unsigned long long taken;   /* where qblas_device_status moves it */
    unsigned long long verdict; /* prepack's verdict */
    int32_t counts[QB_DEV_COUNTS];
} qb_dev_block;

/* status -> taken, status = 0, atomically (a kernel of one thread). */
cudaError_t qb_dev_take(qb_dev_block *b, cudaStream_t s);
/* A failed *verdict becomes the status, unless one is recorded already. */
cudaError_t qb_dev_publish(const unsigned long long *verdict, unsigned long long *status, cudaStream_t s);
/* *verdict = the record of the first m < count whose zx[m] is outside
 * -128..127 (recorded as the status too), or QB_DEV_PASS; one block. */
cudaError_t qb_dev_check_i8_zeros(const int32_t *zx, long long count, unsigned long long *verdict,
                                  unsigned long long *status, cudaStream_t s);
/* dst = src (bytes) unless *verdict failed. */
cudaError_t qb_dev_copy(void *dst, const void *src, size_t bytes, const unsigned long long *verdict, cudaStream_t s);

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

/* Helpers (w4a16_aux.cu). Prepack's checks record into its verdict (the
 * device-side checks above); its writers write nothing once it failed
 * (verdict NULL: nothing was checked). */
/* The content checks of a canonical weight: zeros (or NULL) [groups][n]
 * <= 15, and g_idx (or NULL) [k] inside 0..groups-1 with every group
 * holding exactly gs columns (act-order on CUDA); counts: QB_DEV_COUNTS
 * ints of scratch (the handle's). */
cudaError_t qb_w4a16_check(const uint8_t *zeros, const int32_t *g_idx, int n, int k, int groups, int gs,
                           unsigned long long *verdict, int32_t *counts, cudaStream_t s);
/* perm[k] = the columns of group 0 in ascending k, then group 1, ... (a
 * checked g_idx); cursor: groups ints of scratch (part of dst). gs <= 128. */
cudaError_t qb_w4a16_act_order(const int32_t *g_idx, int k, int groups, int gs, int32_t *cursor, int32_t *perm,
                               const unsigned long long *verdict, cudaStream_t s);
/* Canonical u4 codes [n][ceil(k/2)] -> packed codes; perm (device, [k]) or NULL. */
cudaError_t qb_w4a16_pack_codes(const uint8_t *src, int n, int k, const int32_t *perm, int np, int kt_total,
                                uint32_t *dst, const unsigned long long *verdict, cudaStream_t s);
/* [groups][n] elements of elem_bytes (1, 2 or 4) -> packed [groups][np] order; pad fills n..np-1. */
cudaError_t qb_w4a16_pack_groups(const void *src, int groups, int n, int np, int elem_bytes, uint32_t pad,
                                 void *dst, const unsigned long long *verdict, cudaStream_t s);
/* out[m][kk] = x[m][perm ? perm[kk] : kk] for kk < k (16-bit elements), rows of ldo elements. */
cudaError_t qb_w4a16_gather_x(const void *x, long long ldx, const int32_t *perm, int m, int k, void *out, int ldo,
                              cudaStream_t s);
/* y = sum over splits of partial (+ bias), converted to y_dtype. */
cudaError_t qb_w4a16_reduce(const qb_w4a16_kparams *p, cudaStream_t s);

/* ---- activation quantization (quant_act.cu) ----
 * One call of qblas_quantize_act, as validated by the core and the host side
 * (cuda_quant_act.c). dtypes and mode are qblas_dtype_t / qblas_scale_mode_t
 * values. PER_TENSOR: the kernel reads the static scale scales[0] itself
 * and writes q only; a scale that is not finite and > 0 writes nothing and
 * is recorded in *status (QB_DEV_QACT_SCALE). */
typedef struct qb_qact_kparams {
    const void *x;        /* [m][ldx] of x_dtype: F32, F16 or BF16 */
    long long ldx;
    void *q;              /* [m][ldq] one byte per code: I8 or an fp8 dtype */
    long long ldq;
    long long m, k;
    int x_dtype, q_dtype, mode;
    float *scales;        /* PER_ROW [m], BLOCK_1X128 [m][ceil(k/128)] (written) */
    int32_t *zeros;       /* PER_ROW int8 asymmetric [m] (written), or NULL */
    unsigned long long *status; /* the handle's device status (PER_TENSOR) */
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
    const unsigned long long *verdict; /* when zx: the zero points' check (qb_int8_colsum); failed: write nothing */
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
/* out[n] = sum_k w[n][k] (rows of k bytes, k % 16 == 0, 16-byte aligned),
 * and in the same launch the check of the m zero points zx: *verdict and
 * *status as qb_dev_check_i8_zeros. */
cudaError_t qb_int8_colsum(const int8_t *w, int n, int k, int32_t *out, const int32_t *zx, int m,
                           unsigned long long *verdict, unsigned long long *status, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_CUDA_KERNELS_H */
