/* attn_prefill.cu - the prefill / extend entry points of kernels_attention.h:
 * workspace, the planning kernel, the launch and the kernel names. The
 * kernels are attn_prefill.cuh, instantiated in attn_prefill_<q>_d<D>.cu.
 *
 * The host cannot read qo_indptr, so the launch is two kernels on the
 * stream: plan_kernel (one block) writes tile_ptr[s] = the q tiles of the
 * sequences before s (a tile is 64 packed (token, head) rows of one
 * sequence), then the grid (tile bound, Hkv) runs, each CTA finding its
 * (sequence, tile) in tile_ptr. The grid's x is an upper bound computed on
 * the host: sum_s ceil(qo_len_s * G / 64) <= num_q_tokens * G / 64 + num_seqs
 * for valid qo_indptr; the CTAs past tile_ptr[num_seqs] exit at once.
 * Workspace: tile_ptr, (num_seqs + 1) int32.
 */
#include <limits.h>

#include "attn_prefill.cuh"
#include "qb_vendor.cuh"

namespace {

constexpr int kPlanThreads = 1024, kPlanWarps = kPlanThreads / QB_WARP_SIZE;

/* tile_ptr[0] = 0, tile_ptr[s+1] = tile_ptr[s] + tiles of s (clamped device
 * data, saturating at INT_MAX): a block-wide scan over chunks of 1024 sequences. */
__global__ void __launch_bounds__(kPlanThreads) plan_kernel(const qb_attn_kparams p, int *tile_ptr)
{
    QB_SHARED_ARRAY(long long, warp_sum, kPlanWarps);
    const int tid = threadIdx.x, lane = tid % QB_WARP_SIZE, warp = tid / QB_WARP_SIZE;
    long long carry = 0;
    if (tid == 0) tile_ptr[0] = 0;
    for (int base = 0; base < p.num_seqs; base += kPlanThreads) {
        const int s = base + tid;
        long long v = s < p.num_seqs ? qb::attn_pf::seq_tiles(qb::attn_pf::seq_info(p, s), p.group) : 0;
        for (int o = 1; o < QB_WARP_SIZE; o <<= 1) { /* inclusive warp scan */
            const long long u = __shfl_up_sync(0xFFFFFFFFu, v, o, QB_WARP_SIZE);
            if (lane >= o) v += u;
        }
        if (lane == QB_WARP_SIZE - 1) warp_sum[warp] = v;
        __syncthreads();
        long long before = carry, total = 0;
        for (int w = 0; w < kPlanWarps; ++w) {
            if (w < warp) before += warp_sum[w];
            total += warp_sum[w];
        }
        if (s < p.num_seqs) tile_ptr[s + 1] = (int)min(before + v, (long long)INT_MAX);
        carry += total;
        __syncthreads(); /* warp_sum is rewritten by the next chunk */
    }
}

bool head_dim_ok(int d) { return d == 64 || d == 128 || d == 256; }
bool kv_ok(int t)
{
    return t == QBLAS_DTYPE_F16 || t == QBLAS_DTYPE_BF16 || t == QBLAS_DTYPE_E4M3 || t == QBLAS_DTYPE_I8 ||
           t == QBLAS_DTYPE_U4;
}
bool q_ok(int t) { return t == QBLAS_DTYPE_F16 || t == QBLAS_DTYPE_BF16; }
bool al16(const void *ptr) { return ((uintptr_t)ptr & 15) == 0; }

/* The grid's x: an upper bound of the q tiles (see the file comment), or -1. */
long long tile_bound(const qb_attn_kparams *p)
{
    const long long rows = (long long)p->num_q_tokens * p->group;
    const long long b = (rows + qb::attn_pf::kBQ - 1) / qb::attn_pf::kBQ + p->num_seqs;
    return b > INT_MAX ? -1 : b;
}

} // namespace

extern "C" size_t qb_attn_prefill_workspace(const qb_attn_kparams *p)
{
    const size_t bytes = ((size_t)(p->num_seqs > 0 ? p->num_seqs : 0) + 1) * sizeof(int32_t);
    return (bytes + 255) & ~(size_t)255;
}

extern "C" cudaError_t qb_attn_prefill_launch(const qb_attn_kparams *p, void *ws, cudaStream_t s)
{
    /* what the host side should have refused already; never launch on it */
    if (!head_dim_ok(p->kv.head_dim) || !kv_ok(p->kv.dtype) || !q_ok(p->q_dtype) || p->group < 1 ||
        p->kv.num_kv_heads < 1 || p->kv.num_kv_heads > 65535 || p->num_seqs < 1 || !p->qo_indptr || !ws)
        return cudaErrorInvalidValue;
    /* cp.async copies q, k and v in 16-byte chunks; o is written 4 bytes at a time */
    if (!al16(p->q) || !al16(p->kv.k) || !al16(p->kv.v) || ((uintptr_t)p->o & 3) != 0)
        return cudaErrorMisalignedAddress;
    const long long bound = tile_bound(p);
    if (bound < 0) return cudaErrorInvalidValue;
    if (p->num_q_tokens == 0) return cudaSuccess;
    int *tile_ptr = static_cast<int *>(ws);
    QB_LAUNCH(1, kPlanThreads, 0, s, plan_kernel)(*p, tile_ptr);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    const dim3 grid((unsigned)bound, (unsigned)p->kv.num_kv_heads);
    using namespace qb::attn_pf;
    const bool f16 = p->q_dtype == QBLAS_DTYPE_F16;
    switch (p->kv.head_dim) {
    case 64: return f16 ? launch_f16_d64(p->kv.dtype, *p, tile_ptr, grid, s) : launch_bf16_d64(p->kv.dtype, *p, tile_ptr, grid, s);
    case 128: return f16 ? launch_f16_d128(p->kv.dtype, *p, tile_ptr, grid, s) : launch_bf16_d128(p->kv.dtype, *p, tile_ptr, grid, s);
    default: return f16 ? launch_f16_d256(p->kv.dtype, *p, tile_ptr, grid, s) : launch_bf16_d256(p->kv.dtype, *p, tile_ptr, grid, s);
    }
}

/* "attn_prefill_<cache>_q<f16|bf16>_d<D>_sm80_mma_q64k<BK>": the same
 * mma.sync kernel serves sm_80, sm_89 and sm_90a. */
#define QB_PF_NAMES_D(KVN, QN)                                                                            \
    {"attn_prefill_" KVN "_q" QN "_d64_sm80_mma_q64k64", "attn_prefill_" KVN "_q" QN "_d128_sm80_mma_q64k64", \
     "attn_prefill_" KVN "_q" QN "_d256_sm80_mma_q64k32"}
#define QB_PF_NAMES_Q(KVN) {QB_PF_NAMES_D(KVN, "f16"), QB_PF_NAMES_D(KVN, "bf16")}
static const char *const kNames[5][2][3] = {QB_PF_NAMES_Q("f16"), QB_PF_NAMES_Q("bf16"), QB_PF_NAMES_Q("e4m3"),
                                            QB_PF_NAMES_Q("i8"), QB_PF_NAMES_Q("u4")};

extern "C" const char *qb_attn_prefill_name(const qb_attn_kparams *p)
{
    if (!head_dim_ok(p->kv.head_dim) || !kv_ok(p->kv.dtype) || !q_ok(p->q_dtype)) return NULL;
    int kv;
    switch (p->kv.dtype) {
    case QBLAS_DTYPE_F16: kv = 0; break;
    case QBLAS_DTYPE_BF16: kv = 1; break;
    case QBLAS_DTYPE_E4M3: kv = 2; break;
    case QBLAS_DTYPE_I8: kv = 3; break;
    default: kv = 4; break;
    }
    const int d = p->kv.head_dim == 64 ? 0 : p->kv.head_dim == 128 ? 1 : 2;
    return kNames[kv][p->q_dtype == QBLAS_DTYPE_F16 ? 0 : 1][d];
}

extern "C" cudaError_t qb_attn_prefill_prepare(int smem_max)
{
    using namespace qb::attn_pf;
    cudaError_t e = prepare_f16_d64(smem_max);
    if (e == cudaSuccess) e = prepare_f16_d128(smem_max);
    if (e == cudaSuccess) e = prepare_f16_d256(smem_max);
    if (e == cudaSuccess) e = prepare_bf16_d64(smem_max);
    if (e == cudaSuccess) e = prepare_bf16_d128(smem_max);
    if (e == cudaSuccess) e = prepare_bf16_d256(smem_max);
    return e;
}
