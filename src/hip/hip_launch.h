/* hip_launch.h - what the GEMM launchers (hip_gemm_*.hip) share: the
 * run-time block shape to the compile-time one. */
#ifndef QBLAS_HIP_LAUNCH_H
#define QBLAS_HIP_LAUNCH_H

#include "hip_gemm.cuh"

namespace qb {
namespace amd {

/* K::run<SHAPE>(a, nrows, s) for the shape index of hip_kernels.h. */
template <class K> hipError_t by_shape(int shape, const GemmArgs &a, int nrows, hipStream_t s)
{
    switch (shape) {
    case QB_HIP_SHAPE_M16: return K::template run<QB_HIP_SHAPE_M16>(a, nrows, s);
    case QB_HIP_SHAPE_M64: return K::template run<QB_HIP_SHAPE_M64>(a, nrows, s);
    case QB_HIP_SHAPE_M128: return K::template run<QB_HIP_SHAPE_M128>(a, nrows, s);
    default: return hipErrorInvalidValue;
    }
}

} // namespace amd
} // namespace qb

#endif /* QBLAS_HIP_LAUNCH_H */
