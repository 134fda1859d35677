/* w4a8_gemm_m32.cu - the W4A8 GEMM kernels (w4a8_kernel.cuh) with m32 block
 * rows (small batches), g128 and per-channel; one translation unit per
 * block-row size keeps each file's compile time short. */
#include "w4a8_kernel.cuh"

namespace qb {
QB_W4A8_DEFINE_LAUNCHERS(32)
} // namespace qb
