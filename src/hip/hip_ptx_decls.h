/* hip_ptx_decls.h - what a HIP build sees of src/cuda/cuda_ptx.cuh.
 *
 *  - The global -> shared copies the vendor-neutral pipelines use
 *    (cp_async16/4, commit, wait; the L2 policies): on AMD a plain global
 *    load and an LDS store, done before the call returns. That is one of the
 *    timings an asynchronous copy may have (the data lands before the
 *    thread's wait, which is all the CUDA code relies on: other threads
 *    read it only after a barrier), so a pipeline that is race-free with
 *    cp.async (the simulator checks every timing) is correct with these;
 *    it just does not overlap the copy with compute. The policies are
 *    hints and are dropped (0).
 *  - The NVIDIA wrappers that shared sources mention in branches a HIP
 *    target never takes (QB_IF_ARCH_GE is false there: QB_CUDA_ARCH is 0),
 *    declared and never defined: calling one is a link error, never a
 *    silent wrong result. */
#ifndef QBLAS_HIP_PTX_DECLS_H
#define QBLAS_HIP_PTX_DECLS_H

#include <stdint.h>

namespace qb {

__device__ __forceinline__ uint64_t l2_evict_first() { return 0; }
__device__ __forceinline__ uint64_t l2_evict_normal() { return 0; }
__device__ __forceinline__ uint64_t l2_evict_last() { return 0; }

/* 16 bytes global -> LDS; src_bytes < 16 zero-fills the rest (0: no read). */
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem, int src_bytes, uint64_t)
{
    uint8_t b[16];
    if (src_bytes >= 16) {
        *reinterpret_cast<uint4 *>(b) = *static_cast<const uint4 *>(gmem);
    } else {
        for (int i = 0; i < 16; ++i) b[i] = i < src_bytes ? static_cast<const uint8_t *>(gmem)[i] : 0;
    }
    *static_cast<uint4 *>(smem) = *reinterpret_cast<const uint4 *>(b);
}
/* 4 bytes global -> LDS; src_bytes 0 writes a zero without reading. */
__device__ __forceinline__ void cp_async4(void *smem, const void *gmem, int src_bytes)
{
    *static_cast<uint32_t *>(smem) = src_bytes ? *static_cast<const uint32_t *>(gmem) : 0u;
}
__device__ __forceinline__ void cp_async_commit() {}
template <int N> __device__ __forceinline__ void cp_async_wait() {}
__device__ __forceinline__ void cp_async_wait_pending(int) {}

/* attn_common.cuh, e4m3x4_f32: the sm_89 hardware e4m3 -> f16x2 conversion */
__device__ uint32_t cvt_f16x2_e4m3x2(unsigned short v);

} // namespace qb

#endif /* QBLAS_HIP_PTX_DECLS_H */
