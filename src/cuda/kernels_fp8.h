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
    int scales;             /* QB_FP8_SCALES_OUTER or QB_FP8_SCALES_BLOCK128 */
    const float *sx, *sw;   /* OUTER: [m] or [1], [n] or [1]; BLOCK128: [m][kb], [ceil(n/128)][kb] */
    int sx_per_row, sw_per_row; /* OUTER only */
    int m, n, k, kb;        /* kb = ceil(k / 128) */
    void *y;                /* output, y_dtype (F16, BF16 or F32), leading dimension ldy */
    long long ldy;
    int y_dtype;
    const void *bias;       /* [n] of y_dtype, or NULL */
} qb_fp8_kparams;

/* ---- sm_90a: wgmma + TMA, warp-specialized (fp8_sm90a_wgmma*.cu) ----
 * Configurations (the registry names them, cuda_fp8.c picks):
 *   QB_FP8_SM90A_M128: block m128 x n128, k128 per stage, two consumer warpgroups;
 *   QB_FP8_SM90A_M64:  block m64 x n128, k128 per stage, one consumer warpgroup.
 * Requirements the host checks: k % 16 == 0, ldx % 16 == 0, x and w
 * 16-byte aligned (TMA global strides and addresses). */
enum { QB_FP8_SM90A_M128 = 0, QB_FP8_SM90A_M64 = 1 };
/* Launch configuration cfg for p on s (builds the TMA descriptors);
 * cudaErrorInvalidValue for a configuration or dtype pair this build lacks. */
cudaError_t qb_fp8_sm90a_launch(int cfg, const qb_fp8_kparams *p, cudaStream_t s);
/* Dynamic shared memory configuration cfg asks for. */
size_t qb_fp8_sm90a_smem(int cfg);
/* Allow up to smem_max bytes of dynamic shared memory for every sm_90a kernel. */
cudaError_t qb_fp8_sm90a_prepare(int smem_max);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_KERNELS_FP8_H */
