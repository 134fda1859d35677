/* attn_decode.cu - the decode attention entry points (kernels_attention.h):
 * dispatch to the per-KV-dtype kernels (attn_decode_<dtype>.cu); with
 * splits, the partials' workspace and their merge are attn_merge.cu's
 * (vendor-neutral, shared with the AMD decode kernels).
 */
#include "attn_decode.cuh"
#include "qb_vendor.cuh"

namespace qb {
namespace attn {

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

extern "C" cudaError_t qb_attn_decode_launch(const qb_attn_kparams *p, int group_tile, int num_splits, void *ws,
                                             cudaStream_t s)
{
    float *acc = NULL, *ml_pairs = NULL;
    if (num_splits > 1) qb_attn_decode_partials(p, num_splits, ws, &acc, &ml_pairs);
    float2 *ml = reinterpret_cast<float2 *>(ml_pairs);
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
    return qb_attn_decode_merge(p, num_splits, ws, s);
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
