/* attn_prefill_bf16_d128.cu - the prefill kernels (attn_prefill.cuh) for
 * bf16 queries and head dim 128, all five cache dtypes (one file per
 * (q dtype, D) keeps each compile short). */
#include "attn_prefill.cuh"

namespace qb {
namespace attn_pf {
QB_PF_DEFINE(__nv_bfloat16, bf16, 128)
} // namespace attn_pf
} // namespace qb
