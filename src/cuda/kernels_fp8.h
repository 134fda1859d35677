/* kernels_fp8.h - the FP8 GEMM kernels' launch interface (POD + extern "C",
 * like cuda_kernels.h): what the host side (cuda_fp8.c) plans and the
 * kernels (fp8_*.cu) read. Semantics: docs/FORMATS.md, "FP8 GEMM".
 *
 * Two kernel families share these parameters:
 *   - mma.sync m16n8k32 (sm_89, and sm_90a at small M): fp8_mma.cuh;
 *   - wgmma fed by TMA, warp-specialized (sm_90a): fp8_sm90a_wgmma.cu.
 */
#ifndef QBLAS_KERNELS_FP8_H
#define QBLAS_KERNELS_FP8_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { QB_FP8_SCALES_OUTER = 0, QB_FP8_SCALES_BLOCK128 = 1 };

/* One FP8 GEMM launch. Scales and bias are device pointers (f32 scales). */
typedef struct qb_fp8_kparams {
    const uint8_t *x;       /* [m][ldx] fp8 codes */
    long long ldx;
    const uint8_t *w;       /* [n][k] fp8 codes (canonical, K-major per output channel) */
    int x_dtype, w_dtype;   /* qblas_dtype_t: E4M3 or E5M2 (E4M3FNUZ has no NVIDIA tensor-core type) */
    int w_fnuz;             /* HIP only: w holds the FNUZ codes of w_dtype's values (layout 34), not w_dtype's */
    int scales;             /* QB_FP8_SCALES_OUTER or QB_FP8_SCALES_BLOCK128 */
    const float *sx, *sw;   /* OUTER: [m] or [1], [n] or [1]; BLOCK128: [m][kb], [ceil(n/128)][kb] */
    int sx_per_row, sw_per_row; /* OUTER only */
    int m, n, k, kb;        /* kb = ceil(k / 128) */
    void *y;                /* output, y_dtype (F16, BF16 or F32), leading dimension ldy */
    long long ldy;
    int y_dtype;
    const void *bias;       /* [n] of y_dtype, or NULL */
    /* mma.sync split-K (OUTER scales only; the wgmma kernels ignore these):
     * grid z = splits, split z runs k64 tiles [z * split_tiles, +split_tiles)
     * (split_tiles even: whole k128 blocks) and, when splits > 1, stores its
     * unscaled fp32 sums to partial [splits][m][n]; a reduce kernel adds the
     * splits in order and applies the epilogue. splits == 1: no partial. */
    float *partial;
    int splits, split_tiles;
} qb_fp8_kparams;

/* ---- sm_90a: wgmma + TMA, warp-specialized (fp8_sm90a_wgmma*.cu) ----
 * Configurations: QB_FP8_WGMMA_CONFIGS (kernel_configs.h), block bm x n128
 * (bm 64 or 128: bm / 64 consumer warpgroups), k128 per stage.
 * Requirements the host checks: k % 16 == 0, ldx % 16 == 0, x and w
 * 16-byte aligned (TMA global strides and addresses). */
#define QB_FP8_WGMMA_BK 128
/* Dynamic shared memory of a configuration: 1024 bytes of alignment slack,
 * the stages' tiles (bm + 128 rows of 128 bytes), 2 mbarriers per stage. */
#define QB_FP8_WGMMA_SMEM(bm, stages) \
    ((size_t)1024 + (size_t)(stages) * (((bm) + QB_FP8_MMA_BN) * QB_FP8_WGMMA_BK) + (size_t)(stages) * 2 * 8)
/* Launch the bm configuration for p on s (builds the TMA descriptors);
 * cudaErrorInvalidValue for a configuration or dtype pair this build lacks. */
cudaError_t qb_fp8_sm90a_launch(int bm, const qb_fp8_kparams *p, cudaStream_t s);
/* Allow up to smem_max bytes of dynamic shared memory for every sm_90a kernel. */
cudaError_t qb_fp8_sm90a_prepare(int smem_max);

/* ---- sm_89+: mma.sync m16n8k32, cp.async pipeline (fp8_mma.cuh, fp8_mma_<x>x<w>.cu) ----
 * Block tile bm x n128, k64 per stage; bm 16 and 64 run 4 warps, bm 128
 * runs 8; (bm, stages) pairs are the registry's (cuda_registry.c, FP8).
 * Requirements the host checks: k % 16 == 0, ldx % 16 == 0, x and w
 * 16-byte aligned; x_dtype, w_dtype in {E4M3, E5M2}. */
#define QB_FP8_MMA_BN 128
#define QB_FP8_MMA_BK 64
#define QB_FP8_MMA_THREADS(bm) ((bm) >= 128 ? 256 : 128)
#define QB_FP8_MMA_STAGE_BYTES(bm) (((bm) + QB_FP8_MMA_BN) * QB_FP8_MMA_BK) /* A rows then B rows, 64 bytes each */
/* Launch the (bm, stages) configuration for p's dtype pair and scale mode
 * (and, with p->splits > 1, the split reduction after it);
 * cudaErrorInvalidValue for a combination this build lacks. grid = (m
 * blocks, n blocks, splits). */
cudaError_t qb_fp8_mma_launch(int bm, int stages, const qb_fp8_kparams *p, cudaStream_t s);
/* Allow up to smem_max bytes of dynamic shared memory for every mma.sync FP8 kernel. */
cudaError_t qb_fp8_mma_prepare(int smem_max);

/* The split-K reduction (gemm_reduce.cu, vendor-neutral): y from the
 * p->splits planes of unscaled fp32 sums in p->partial ([splits][m][n]),
 * added in split order, then the OUTER epilogue. */
cudaError_t qb_fp8_splitk_reduce(const qb_fp8_kparams *p, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_KERNELS_FP8_H */
