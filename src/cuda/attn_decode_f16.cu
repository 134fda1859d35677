/* attn_decode_f16.cu - decode attention kernels (attn_decode.cuh) for f16 KV
 * caches: head dims 64/128/256 x group tiles 1/2/4/8. One translation unit
 * per KV dtype keeps each nvcc job to twelve kernels per architecture. */
#include "attn_decode.cuh"

namespace qb {
namespace attn {
QB_ATTN_DECODE_DEFINE(f16, QBLAS_DTYPE_F16)
} // namespace attn
} // namespace qb
