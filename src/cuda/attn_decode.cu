/* attn_decode.cu - the decode attention entry points (kernels_attention.h):
 * dispatch to the per-KV-dtype kernels (attn_decode_<dtype>.cu), the
 * workspace of the split (flash-decoding) path, and the kernel that merges
 * the splits' partials by log-sum-exp.
 *
 * Workspace (num_splits > 1), from the first 256-byte boundary:
 *   acc [num_q_tokens][Hq][num_splits][D] f32   sum of p * v relative to m
 *   ml  [num_q_tokens][Hq][num_splits]    f32x2 (m, l); m = -inf: empty split
 * The merge: M = max m_s, w_s = exp(m_s - M), l = sum l_s w_s,
 * o = (sum acc_s w_s) / l, lse = M + log(l), splits in index order (the
 * result does not depend on timing: deterministic).
 */
#include "attn_decode.cuh"
#include "qb_vendor.cuh"

namespace qb {
namespace attn {

/* One warp per (token, query head); lane owns d = lane + 32 i. */
template <int D>
__global__ void __launch_bounds__(128) attn_merge_kernel(const qb_attn_kparams p, const int num_splits,
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

template <int DT, int D, int GT> constexpr size_t smem_of() { return (size_t)DecodeCfg<DT, D, GT>::SMEM; }

template <int DT, int D> size_t smem_d(int gt)
{
    switch (gt) {
    case 1: return smem_of<DT, D, 1>();
    case 2: return smem_of<DT, D, 2>();
    case 4: return smem_of<DT, D, 4>();
    case 8: return smem_of<DT, D, 8>();
    default: return 0;
    }
}

template <int DT> size_t smem_dt(int d, int gt)
{
    switch (d) {
    case 64: return smem_d<DT, 64>(gt);
    case 128: return smem_d<DT, 128>(gt);
    case 256: return smem_d<DT, 256>(gt);
    default: return 0;
    }
}

} // namespace attn
} // namespace qb

using namespace qb::attn;

extern "C" size_t qb_attn_decode_smem(int kv_dtype, int head_dim, int group_tile)
{
    switch (kv_dtype) {
    case QBLAS_DTYPE_F16: return smem_dt<QBLAS_DTYPE_F16>(head_dim, group_tile);
    case QBLAS_DTYPE_BF16: return smem_dt<QBLAS_DTYPE_BF16>(head_dim, group_tile);
    case QBLAS_DTYPE_E4M3: return smem_dt<QBLAS_DTYPE_E4M3>(head_dim, group_tile);
    case QBLAS_DTYPE_I8: return smem_dt<QBLAS_DTYPE_I8>(head_dim, group_tile);
    case QBLAS_DTYPE_U4: return smem_dt<QBLAS_DTYPE_U4>(head_dim, group_tile);
    default: return 0;
    }
}

extern "C" int qb_attn_decode_tile(int head_dim) { return 4096 / head_dim; }

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

extern "C" cudaError_t qb_attn_decode_launch(const qb_attn_kparams *p, int group_tile, int num_splits, void *ws,
                                             cudaStream_t s)
{
    float *acc = NULL;
    float2 *ml = NULL;
    if (num_splits > 1) {
        acc = reinterpret_cast<float *>(((uintptr_t)ws + 255) & ~(uintptr_t)255);
        ml = reinterpret_cast<float2 *>(reinterpret_cast<uint8_t *>(acc) + ws_acc_bytes(p, num_splits));
    }
    cudaError_t e;
    switch (p->kv.dtype) {
    case QBLAS_DTYPE_F16: e = decode_launch_f16(*p, group_tile, num_splits, acc, ml, s); break;
    case QBLAS_DTYPE_BF16: e = decode_launch_bf16(*p, group_tile, num_splits, acc, ml, s); break;
    case QBLAS_DTYPE_E4M3: e = decode_launch_e4m3(*p, group_tile, num_splits, acc, ml, s); break;
    case QBLAS_DTYPE_I8: e = decode_launch_i8(*p, group_tile, num_splits, acc, ml, s); break;
    case QBLAS_DTYPE_U4: e = decode_launch_u4(*p, group_tile, num_splits, acc, ml, s); break;
    default: return cudaErrorInvalidValue;
    }
    if (e != cudaSuccess || num_splits <= 1) return e;
    const long long rows = (long long)p->num_q_tokens * p->num_q_heads;
    const unsigned blocks = (unsigned)((rows + 3) / 4);
    switch (p->kv.head_dim) {
    case 64: QB_LAUNCH(blocks, 128, 0, s, attn_merge_kernel<64>)(*p, num_splits, acc, ml); break;
    case 128: QB_LAUNCH(blocks, 128, 0, s, attn_merge_kernel<128>)(*p, num_splits, acc, ml); break;
    case 256: QB_LAUNCH(blocks, 128, 0, s, attn_merge_kernel<256>)(*p, num_splits, acc, ml); break;
    default: return cudaErrorInvalidValue;
    }
    return cudaGetLastError();
}

extern "C" cudaError_t qb_attn_decode_prepare(int smem_max)
{
    cudaError_t e = decode_prepare_f16(smem_max);
    if (e == cudaSuccess) e = decode_prepare_bf16(smem_max);
    if (e == cudaSuccess) e = decode_prepare_e4m3(smem_max);
    if (e == cudaSuccess) e = decode_prepare_i8(smem_max);
    if (e == cudaSuccess) e = decode_prepare_u4(smem_max);
    return e;
}
