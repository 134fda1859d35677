/* kernels_w4a8.h - the W4A8 (QServe QoQ) kernels' launch interface (POD +
 * extern "C", like cuda_kernels.h): what the host side (cuda_w4a8.c) plans
 * and the kernels (w4a8_kernel.cuh, w4a8_gemm_*.cu, w4a8_prepack.cu) read.
 * Semantics: docs/FORMATS.md "W4A8"; the packed blob: "CUDA W4A8 packed layout".
 *
 * Geometry: every configuration has 4 warps and a block tile of n128 x k64
 * per stage (the packed codes are ordered in (n128, k64) tiles of 4 KB);
 * block rows BM = 16, 32, 64 or 128.
 */
#ifndef QBLAS_KERNELS_W4A8_H
#define QBLAS_KERNELS_W4A8_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QB_W4A8_THREADS 128
#define QB_W4A8_BN 128          /* n per block: N is padded to a multiple at prepack */
#define QB_W4A8_BK 64           /* k per stage: K is padded to a multiple at prepack */
#define QB_W4A8_TILE_BYTES 4096 /* packed codes of one (n128, k64) tile */
#define QB_W4A8_P_BYTES 256     /* lane parameters (u16) of one n128 block row */
/* Shared memory of one stage: A (bm rows x 64 bytes, swizzled), the codes tile, the parameters. */
#define QB_W4A8_STAGE_BYTES(bm) ((bm) * QB_W4A8_BK + QB_W4A8_TILE_BYTES + QB_W4A8_P_BYTES)

/* One W4A8 GEMM launch. All pointers are device pointers. */
typedef struct qb_w4a8_kparams {
    const int8_t *x;         /* [m][ldx]: pointer and ldx multiples of 16 bytes */
    long long ldx;
    const uint32_t *codes;   /* packed codes [np/128][kp/64][4096 bytes] */
    const uint16_t *params;  /* [groups][np]: s2 | z << 8 (per-channel: s2 = 1) */
    int per_channel;         /* 1: w8 = code - z with z folded out of the sum (w4a8_kernel.cuh) */
    const float *s1;         /* [np] channel scales (f16 values, widened exactly) */
    const float *sx;         /* [m] or [1] */
    int sx_per_row;
    int m, n, k;             /* logical shape */
    int np, kt_total;        /* padded n; k tiles = kp / 64 */
    int group_shift;         /* log2 of k tiles per group: 1 (g128); per-channel: unused */
    int tiles_per_split, splits; /* splits > 1: int32 partial sums to `partial`, qb_w4a8_reduce finishes */
    void *y;                 /* output, y_dtype (F16, BF16, F32), leading dimension ldy */
    long long ldy;
    int y_dtype;
    const void *bias;        /* [n] of y_dtype, or NULL */
    int32_t *partial;        /* [splits][m][np] when splits > 1 */
} qb_w4a8_kparams;

/* Launch block rows bm (16, 32, 64, 128) with `stages` pipeline stages;
 * cudaErrorInvalidValue if this build has no such kernel. grid = (m blocks,
 * n blocks, splits). */
cudaError_t qb_w4a8_launch(int bm, int stages, const qb_w4a8_kparams *p, cudaStream_t s);
/* Allow up to smem_max bytes of dynamic shared memory for every W4A8 GEMM kernel. */
cudaError_t qb_w4a8_prepare(int smem_max);
/* Y from the split-K partial sums (exact int32 sums, then the epilogue;
 * gemm_reduce.cu, vendor-neutral). */
cudaError_t qb_w4a8_reduce(const qb_w4a8_kparams *p, cudaStream_t s);

/* ---- prepack (w4a8_prepack.cu) ---- */
/* The format's content checks on the canonical weight (device arrays): the
 * first failing (group, row) in the oracle's order (g outer) goes into the
 * prepack's *verdict (atomicMin of QB_DEV_RECORD(QB_DEV_W4A8, g * n + row,
 * reason), reason 1: s2 < 1, 2: z > 15, 3: a w8 outside int8). */
cudaError_t qb_w4a8_check(const uint8_t *codes, const int8_t *s2, const uint8_t *z, int n, int k, int g128,
                          unsigned long long *verdict, cudaStream_t s);
/* Canonical -> packed blob parts (np, kt_total as in qb_w4a8_kparams); nothing once *verdict failed. */
cudaError_t qb_w4a8_pack(const uint8_t *codes, const int8_t *s2, const uint8_t *z, const uint16_t *s1_f16, int n,
                         int k, int g128, int np, int kt_total, uint32_t *codes_out, uint16_t *params_out,
                         float *s1_out, const unsigned long long *verdict, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_KERNELS_W4A8_H */
