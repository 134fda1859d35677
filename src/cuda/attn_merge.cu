/* attn_merge.cu - the split (flash-decoding) path of decode attention: the
 * partials' workspace and the kernel that merges them by log-sum-exp.
 * Vendor-neutral: the CUDA decode kernels (attn_decode.cuh) and the AMD ones
 * (src/hip) write the same partials, and a HIP build compiles this file for
 * gfx90a / gfx942 unchanged (its warp is the target's: 32 or 64 lanes).
 *
 * Workspace (num_splits > 1), from the first 256-byte boundary:
 *   acc [num_q_tokens][Hq][num_splits][D] f32   sum of p * v relative to m
 *   ml  [num_q_tokens][Hq][num_splits]    f32x2 (m, l); m = -inf: empty split
 * The merge: M = max m_s, w_s = exp(m_s - M), l = sum l_s w_s,
 * o = (sum acc_s w_s) / l, lse = M + log(l), splits in index order (the
 * result does not depend on timing: deterministic).
 */
#include "attn_common.cuh"
#include "kernels_attention.h"
#include "qb_vendor.cuh"

namespace qb {
namespace attn {

constexpr int kMergeThreads = 128;

/* One warp per (token, query head); lane owns d = lane + warp * i. */
template <int D>
__global__ void __launch_bounds__(kMergeThreads) attn_merge_kernel(const qb_attn_kparams p, const int num_splits,
                                                         const float *__restrict__ ws_acc,
                                                         const float2 *__restrict__ ws_ml)
{
    constexpr int E = D / QB_WARP_SIZE;
    const int lane = threadIdx.x % QB_WARP_SIZE;
    const long long idx = (long long)blockIdx.x * (blockDim.x / QB_WARP_SIZE) + threadIdx.x / QB_WARP_SIZE;
    if (idx >= (long long)p.num_q_tokens * p.num_q_heads) return;
    const float2 *ml = ws_ml + idx * num_splits;
    float M = -INFINITY;
    for (int s = 0; s < num_splits; ++s) M = fmaxf(M, ml[s].x);
    float o[E], l = 0.f;
#pragma unroll
    for (int i = 0; i < E; ++i) o[i] = 0.f;
    if (M != -INFINITY) {
        for (int s = 0; s < num_splits; ++s) {
            const float2 v = ml[s];
            if (v.x == -INFINITY) continue; /* empty split: its acc is not read */
            const float w = exp2f(__fmul_rn(__fsub_rn(v.x, M), kLog2e));
            l = fmaf(v.y, w, l);
            const float *a = ws_acc + (idx * num_splits + s) * D;
#pragma unroll
            for (int i = 0; i < E; ++i) o[i] = fmaf(a[lane + QB_WARP_SIZE * i], w, o[i]);
        }
    }
#pragma unroll
    for (int i = 0; i < E; ++i) {
        const float v = M == -INFINITY ? 0.f : __fdiv_rn(o[i], l);
        const long long at = idx * D + lane + QB_WARP_SIZE * i;
        if (p.q_dtype == QBLAS_DTYPE_F16)
            static_cast<__half *>(p.o)[at] = __float2half_rn(v);
        else
            static_cast<__nv_bfloat16 *>(p.o)[at] = __float2bfloat16_rn(v);
    }
    if (lane == 0 && p.lse) p.lse[idx] = M == -INFINITY ? -INFINITY : __fadd_rn(M, logf(l));
}

} // namespace attn
} // namespace qb

using namespace qb::attn;

static size_t ws_acc_bytes(const qb_attn_kparams *p, int num_splits)
{
    return (size_t)p->num_q_tokens * (size_t)p->num_q_heads * (size_t)num_splits * (size_t)p->kv.head_dim * 4;
}

extern "C" size_t qb_attn_decode_workspace(const qb_attn_kparams *p, int num_splits)
{
    if (num_splits <= 1) return 0;
    const size_t ml = (size_t)p->num_q_tokens * (size_t)p->num_q_heads * (size_t)num_splits * 8;
    return 255 + ws_acc_bytes(p, num_splits) + ml; /* acc's size is a multiple of 8: ml stays aligned */
}

extern "C" void qb_attn_decode_partials(const qb_attn_kparams *p, int num_splits, void *ws, float **acc, float **ml)
{
    *acc = reinterpret_cast<float *>(((uintptr_t)ws + 255) & ~(uintptr_t)255);
    *ml = *acc + ws_acc_bytes(p, num_splits) / sizeof(float);
}

extern "C" cudaError_t qb_attn_decode_merge(const qb_attn_kparams *p, int num_splits, void *ws, cudaStream_t s)
{
    float *acc, *ml_pairs;
    qb_attn_decode_partials(p, num_splits, ws, &acc, &ml_pairs);
    const float2 *ml = reinterpret_cast<const float2 *>(ml_pairs);
    constexpr int warps = kMergeThreads / QB_WARP_SIZE;
    const long long rows = (long long)p->num_q_tokens * p->num_q_heads;
    const unsigned blocks = (unsigned)((rows + warps - 1) / warps);
    switch (p->kv.head_dim) {
    case 64: QB_LAUNCH(blocks, kMergeThreads, 0, s, attn_merge_kernel<64>)(*p, num_splits, acc, ml); break;
    case 128: QB_LAUNCH(blocks, kMergeThreads, 0, s, attn_merge_kernel<128>)(*p, num_splits, acc, ml); break;
    case 256: QB_LAUNCH(blocks, kMergeThreads, 0, s, attn_merge_kernel<256>)(*p, num_splits, acc, ml); break;
    default: return cudaErrorInvalidValue;
    }
    return cudaGetLastError();
}
