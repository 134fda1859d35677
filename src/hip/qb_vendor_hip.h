/* qb_vendor_hip.h - the HIP (AMD) half of src/cuda/qb_vendor.cuh: the
 * vendor spellings that make the shared kernel sources (src/cuda files that
 * use no NVIDIA instruction: quant_act.cu, attn_append.cu, w4a16_aux.cu, the
 * split-K reductions, the prepack checks) and the AMD kernels (src/hip)
 * compile for gfx90a and gfx942 unchanged.
 *
 *  - QB_WARP_SIZE: the wavefront width of the target. Device passes take it
 *    from the compiler (__AMDGCN_WAVEFRONT_SIZE: 64 on CDNA); the host pass
 *    (launch geometry) from QB_HIP_WAVE_SIZE, which the build derives from
 *    its target list (64 for gfx9), and every device pass checks that they
 *    agree.
 *  - QB_SHFL_XOR: ds_bpermute over the whole wavefront.
 *  - threadIdx, blockIdx, blockDim, gridDim and __syncthreads() are taken
 *    from the hardware registers, the dispatch packet and s_barrier
 *    (hip_isa.h), never from the device library (HIP 5.2's ockl has no
 *    gfx942 build: the gfx942 objects are compiled with -nogpulib).
 *
 * Included by qb_vendor.cuh and by the HIP prelude (src/hip/include/
 * cuda_runtime.h), after <hip/hip_runtime.h>: the names below shadow HIP's
 * own definitions from here on.
 */
#ifndef QBLAS_VENDOR_HIP_H
#define QBLAS_VENDOR_HIP_H

#include <hip/hip_runtime.h>

#include "../hip/hip_isa.h"

#ifndef QB_HIP_WAVE_SIZE
#define QB_HIP_WAVE_SIZE 64 /* CDNA (gfx9): wave64 */
#endif
constexpr int QB_WARP_SIZE = QB_HIP_WAVE_SIZE;
#if defined(__HIP_DEVICE_COMPILE__) && defined(__AMDGCN_WAVEFRONT_SIZE)
static_assert(__AMDGCN_WAVEFRONT_SIZE == QB_HIP_WAVE_SIZE, "the host's wavefront width is the target's");
#endif

namespace qb {
namespace amd {

__device__ __forceinline__ int lane_id() { return (int)mbcnt_hi(~0u, mbcnt_lo(~0u, 0u)); }

/* v of lane (lane_id ^ mask), for 32- and 64-bit types (ds_bpermute moves
 * one dword per lane: a 64-bit value takes two). */
template <typename T> __device__ __forceinline__ T shfl_xor(T v, int mask)
{
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "32- or 64-bit values");
    int bits[sizeof(T) / 4];
    __builtin_memcpy(bits, &v, sizeof(T));
    const int addr = (lane_id() ^ mask) << 2;
    for (int i = 0; i < (int)(sizeof(T) / 4); ++i) bits[i] = ds_bpermute(addr, bits[i]);
    T r;
    __builtin_memcpy(&r, bits, sizeof(T));
    return r;
}

/* The launch geometry objects: x/y/z convert to unsigned, as HIP's and
 * CUDA's do (so `threadIdx.x % 64`, `(long long)blockIdx.x * n` read alike). */
#define QB_AMD_COORD(NAME, FX, FY, FZ)                                                     \
    struct NAME {                                                                          \
        struct X { __device__ operator unsigned() const { return FX; } };                  \
        struct Y { __device__ operator unsigned() const { return FY; } };                  \
        struct Z { __device__ operator unsigned() const { return FZ; } };                  \
        static constexpr X x{};                                                            \
        static constexpr Y y{};                                                            \
        static constexpr Z z{};                                                            \
    };
__device__ __forceinline__ unsigned block_dim(int d)
{
    return *reinterpret_cast<const uint16_t *>(dispatch_ptr() + 4 + 2 * d);
}
__device__ __forceinline__ unsigned grid_dim(int d)
{
    return *reinterpret_cast<const uint32_t *>(dispatch_ptr() + 12 + 4 * d) / block_dim(d);
}
QB_AMD_COORD(ThreadIdx, workitem_id_x(), workitem_id_y(), workitem_id_z())
QB_AMD_COORD(BlockIdx, workgroup_id_x(), workgroup_id_y(), workgroup_id_z())
QB_AMD_COORD(BlockDim, block_dim(0), block_dim(1), block_dim(2))
QB_AMD_COORD(GridDim, grid_dim(0), grid_dim(1), grid_dim(2))
#undef QB_AMD_COORD

__device__ __forceinline__ void syncthreads()
{
    fence_release_workgroup();
    s_barrier();
    fence_acquire_workgroup();
}

} // namespace amd
} // namespace qb

#undef threadIdx
#undef blockIdx
#undef blockDim
#undef gridDim
#define threadIdx (::qb::amd::ThreadIdx{})
#define blockIdx (::qb::amd::BlockIdx{})
#define blockDim (::qb::amd::BlockDim{})
#define gridDim (::qb::amd::GridDim{})
#define __syncthreads() ::qb::amd::syncthreads()

#define QB_SHFL_XOR(v, lane) ::qb::amd::shfl_xor((v), (lane))

#endif /* QBLAS_VENDOR_HIP_H */
