/* dev_check.cuh - the device side of the device-side checks (cuda_kernels.h,
 * "device-side checks"): recording a failure as the handle's status, the
 * gate every writing kernel of a checked call passes before its first
 * store, and the activation zero-point check the INT8 and 2:4 GEMMs share. */
#ifndef QBLAS_DEV_CHECK_CUH
#define QBLAS_DEV_CHECK_CUH

#include "cuda_kernels.h"
#include "qb_vendor.cuh"

namespace qb {

/* The status keeps the first record until qblas_device_status takes it. */
__device__ __forceinline__ void dev_record(unsigned long long *status, unsigned long long rec)
{
    atomicCAS(status, 0ull, rec);
}

/* Must this kernel write nothing? The verdict was final before the kernel
 * started (stream order), so every block reads the same answer. NULL: the
 * call checks nothing. */
__device__ __forceinline__ bool dev_failed(const unsigned long long *verdict)
{
    return verdict && *verdict != QB_DEV_PASS;
}

/* One block of THREADS: *verdict = the record of the first m < count with
 * zx[m] outside -128..127 (also recorded as the status), or QB_DEV_PASS. */
template <int THREADS>
__device__ void check_i8_zeros_block(const int32_t *zx, long long count, unsigned long long *verdict,
                                     unsigned long long *status)
{
    constexpr int WARPS = THREADS / QB_WARP_SIZE;
    QB_SHARED_ARRAY(long long, first, WARPS);
    long long f = count; /* count: none; each thread's first is its smallest */
    for (long long i = threadIdx.x; i < count && f == count; i += THREADS)
        if (zx[i] < -128 || zx[i] > 127) f = i;
#pragma unroll
    for (int o = QB_WARP_SIZE / 2; o > 0; o >>= 1) {
        const long long v = QB_SHFL_XOR(f, o);
        f = v < f ? v : f;
    }
    if (threadIdx.x % QB_WARP_SIZE == 0) first[threadIdx.x / QB_WARP_SIZE] = f;
    __syncthreads();
    if (threadIdx.x != 0) return;
    for (int w = 1; w < WARPS; w++) f = first[w] < f ? first[w] : f;
    const unsigned long long rec = f < count ? QB_DEV_RECORD(QB_DEV_I8_ZERO, f, 0) : QB_DEV_PASS;
    *verdict = rec;
    if (rec != QB_DEV_PASS) dev_record(status, rec);
}

} // namespace qb
#endif /* QBLAS_DEV_CHECK_CUH */
