/* hip_ptx_decls.h - what a HIP build sees of src/cuda/cuda_ptx.cuh: the
 * names of the NVIDIA instruction wrappers that vendor-neutral shared
 * sources mention in branches a HIP target never takes (QB_IF_ARCH_GE is
 * false there: QB_CUDA_ARCH is 0), declared and never defined. Calling one
 * is a link error, not a silent wrong result. */
#ifndef QBLAS_HIP_PTX_DECLS_H
#define QBLAS_HIP_PTX_DECLS_H

#include <stdint.h>

namespace qb {
/* attn_common.cuh, e4m3x4_f32: the sm_89 hardware e4m3 -> f16x2 conversion */
__device__ uint32_t cvt_f16x2_e4m3x2(unsigned short v);
} // namespace qb

#endif /* QBLAS_HIP_PTX_DECLS_H */
