/* fp8_sm90a_wgmma_e4m3xe5m2.cu - the sm_90a wgmma FP8 GEMM kernels (both
 * configurations) for X e4m3 x W e5m2; one dtype pair per file keeps
 * each translation unit's compile time short. */
#include "fp8_sm90a_wgmma.cuh"

namespace qb {
namespace fp8w {
QB_FP8_SM90A_INSTANTIATE(false, true)
} // namespace fp8w
} // namespace qb
