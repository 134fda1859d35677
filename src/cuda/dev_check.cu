/* dev_check.cu - the small kernels of the device-side checks
 * (cuda_kernels.h, "device-side checks"): taking the handle's status for
 * qblas_device_status, publishing a prepack's verdict, the zero-point check
 * of the 2:4 GEMM, and a copy gated by a verdict. */
#include "dev_check.cuh"

namespace {

constexpr int THREADS = 256;

__global__ void __launch_bounds__(1) take_kernel(qb_dev_block *b) { b->taken = atomicExch(&b->status, 0ull); }

__global__ void __launch_bounds__(1) publish_kernel(const unsigned long long *verdict, unsigned long long *status)
{
    if (*verdict != QB_DEV_PASS) qb::dev_record(status, *verdict);
}

__global__ void __launch_bounds__(THREADS) zeros_kernel(const int32_t *zx, long long count,
                                                        unsigned long long *verdict, unsigned long long *status)
{
    qb::check_i8_zeros_block<THREADS>(zx, count, verdict, status);
}

__global__ void __launch_bounds__(THREADS) copy_kernel(uint8_t *dst, const uint8_t *src, size_t bytes,
                                                       const unsigned long long *verdict)
{
    if (qb::dev_failed(verdict)) return;
    for (size_t i = blockIdx.x * (size_t)THREADS + threadIdx.x; i < bytes; i += (size_t)gridDim.x * THREADS)
        dst[i] = src[i];
}

} // namespace

extern "C" cudaError_t qb_dev_take(qb_dev_block *b, cudaStream_t s)
{
    QB_LAUNCH(1, 1, 0, s, take_kernel)(b);
    return cudaGetLastError();
}

extern "C" cudaError_t qb_dev_publish(const unsigned long long *verdict, unsigned long long *status, cudaStream_t s)
{
    QB_LAUNCH(1, 1, 0, s, publish_kernel)(verdict, status);
    return cudaGetLastError();
}

extern "C" cudaError_t qb_dev_check_i8_zeros(const int32_t *zx, long long count, unsigned long long *verdict,
                                             unsigned long long *status, cudaStream_t s)
{
    QB_LAUNCH(1, THREADS, 0, s, zeros_kernel)(zx, count, verdict, status);
    return cudaGetLastError();
}

extern "C" cudaError_t qb_dev_copy(void *dst, const void *src, size_t bytes, const unsigned long long *verdict,
                                   cudaStream_t s)
{
    const size_t blocks = (bytes + THREADS - 1) / THREADS;
    QB_LAUNCH((unsigned)(blocks < 1 ? 1 : blocks > 4096 ? 4096 : blocks), THREADS, 0, s, copy_kernel)(
        static_cast<uint8_t *>(dst), static_cast<const uint8_t *>(src), bytes, verdict);
    return cudaGetLastError();
}
