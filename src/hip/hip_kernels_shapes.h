/* hip_kernels_shapes.h - the AMD GEMMs' block geometry, shared by the
 * kernels (hip_gemm.cuh, through hip_kernels.h) and the host registry
 * (hip_registry.c, plain C without the HIP runtime headers). */
#ifndef QBLAS_HIP_KERNELS_SHAPES_H
#define QBLAS_HIP_KERNELS_SHAPES_H

#define QB_HIP_THREADS 256  /* 4 wavefronts */
#define QB_HIP_BK 64        /* k per stage */
#define QB_HIP_NP_ALIGN 128 /* packed weights pad N to a multiple of this */

/* The block shapes every AMD GEMM family is built for (a config index):
 * weight rows x tokens per block. */
enum { QB_HIP_SHAPE_M16 = 0, QB_HIP_SHAPE_M64 = 1, QB_HIP_SHAPE_M128 = 2, QB_HIP_SHAPES = 3 };
#define QB_HIP_SHAPE_BN 128
#define QB_HIP_SHAPE_BM(shape) ((shape) == QB_HIP_SHAPE_M16 ? 16 : (shape) == QB_HIP_SHAPE_M64 ? 64 : 128)

#endif /* QBLAS_HIP_KERNELS_SHAPES_H */
