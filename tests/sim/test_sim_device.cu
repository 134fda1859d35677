/* test_sim_device.cu - the simulated device itself: its runtime, scheduler
 * and checks. Each check of the simulator is shown to catch the fault it
 * exists for (a kernel with that bug fails, its fixed twin passes), so "the
 * simulator says the kernel is right" means something.
 *
 * Kernels here are compiled like src/cuda's (as C++ against the simulator's
 * headers, with load/store tracing) and launched through QB_LAUNCH. */
#include <stdint.h>
#include <string.h>

#include "cuda/cuda_ptx.cuh"
#include "cuda/qb_vendor.cuh"
#include "qb_test.h"

namespace {

/* ---- kernels ---- */
__global__ void block_sum(const int *x, int *out, int n)
{
    QB_DYNAMIC_SMEM(int, s, 16);
    const int t = threadIdx.x;
    s[t] = t < n ? x[t] : 0;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if (t < w) s[t] += s[t + w];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = s[0];
}

/* the same without the barrier between the halving steps: a race */
__global__ void block_sum_racy(const int *x, int *out, int n)
{
    QB_DYNAMIC_SMEM(int, s, 16);
    const int t = threadIdx.x;
    s[t] = t < n ? x[t] : 0;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2)
        if (t < w) s[t] += s[t + w];
    if (t == 0) out[blockIdx.x] = s[0];
}

/* a warp reduction through shuffles */
__global__ void warp_sum(const float *x, float *out)
{
    float v = x[threadIdx.x];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
    if (threadIdx.x % 32 == 0) out[threadIdx.x / 32] = v;
}

__global__ void write_n(int *y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) y[i] = i; /* one past the end when i == n */
}

__global__ void write_all(int *y, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = i;
}

/* a cp.async refill of a buffer other threads read, with (racy) and without
 * the barrier between their reads and its issue */
template <bool BARRIER> __global__ void refill(const uint4 *g, int *y)
{
    QB_DYNAMIC_SMEM(uint4, s4, 16);
    const int t = threadIdx.x, n = blockDim.x;
    s4[t] = g[t];
    __syncthreads();
    const int v = (int)s4[(t + 1) % n].x; /* read a neighbour's chunk */
    if (BARRIER) __syncthreads();
    qb::cp_async16(&s4[t], g + n + t, 16, qb::l2_evict_normal());
    qb::cp_async_commit();
    qb::cp_async_wait<0>();
    __syncthreads();
    y[t] = v + (int)s4[(t + 1) % n].x;
}

/* every block writes y[0]: blocks of one launch are unordered */
__global__ void all_blocks_write_one(int *y) { if (threadIdx.x == 0) y[0] = (int)blockIdx.x; }

/* reads shared memory the kernel never declared */
__global__ void smem_overrun(int *y)
{
    QB_DYNAMIC_SMEM(int, s, 16);
    s[threadIdx.x] = 1;
    __syncthreads();
    y[threadIdx.x] = s[threadIdx.x + blockDim.x];
}

/* reads shared memory nobody wrote: the poison */
__global__ void smem_uninit(float *y)
{
    QB_DYNAMIC_SMEM(float, sf, 16); /* (nvcc: one name per element type for extern __shared__) */
    y[threadIdx.x] = sf[threadIdx.x];
}

/* lane 0 waits at __syncwarp for lanes that wait at __syncthreads for it */
__global__ void deadlock(int *y)
{
    if (threadIdx.x == 0)
        __syncwarp();
    else
        __syncthreads();
    y[threadIdx.x] = 1;
}

__global__ void traps(int *) { __trap(); }

__global__ void static_smem(int *y)
{
    QB_SHARED_ARRAY(int, a, 64);
    a[threadIdx.x] = (int)threadIdx.x * 3;
    __syncthreads();
    y[threadIdx.x] = a[63 - threadIdx.x];
}

/* may be launched with at most 64 threads per block */
__global__ void __launch_bounds__(64) bounded(int *y) { y[threadIdx.x] = 1; }

__global__ void big_smem(int *y)
{
    QB_DYNAMIC_SMEM(uint8_t, sb, 16);
    sb[threadIdx.x] = 7;
    __syncthreads();
    y[threadIdx.x] = sb[threadIdx.x];
}

/* ---- helpers ---- */
template <class T> T *dev(size_t n)
{
    void *p = nullptr;
    ck_assert_int_eq(cudaMalloc(&p, n * sizeof(T)), cudaSuccess);
    return static_cast<T *>(p);
}

} // namespace

START_TEST(block_reduction_and_shuffles)
{
    int hx[128], *x = dev<int>(128), *out = dev<int>(1), got = 0;
    int want = 0;
    for (int i = 0; i < 128; i++) hx[i] = i * 7 - 300, want += hx[i];
    ck_assert_int_eq(cudaMemcpy(x, hx, sizeof hx, cudaMemcpyHostToDevice), cudaSuccess);
    QB_LAUNCH(1, 128, 128 * sizeof(int), 0, block_sum)(x, out, 128);
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy(&got, out, 4, cudaMemcpyDeviceToHost), cudaSuccess);
    ck_assert_int_eq(got, want);

    float hf[64], *f = dev<float>(64), *fo = dev<float>(2), r[2];
    for (int i = 0; i < 64; i++) hf[i] = (float)(i % 32);
    ck_assert_int_eq(cudaMemcpy(f, hf, sizeof hf, cudaMemcpyHostToDevice), cudaSuccess);
    QB_LAUNCH(1, 64, 0, 0, warp_sum)(f, fo);
    ck_assert_int_eq(cudaMemcpy(r, fo, sizeof r, cudaMemcpyDeviceToHost), cudaSuccess);
    ck_assert(r[0] == 496.0f && r[1] == 496.0f);

    int *y = dev<int>(64), hy[64];
    QB_LAUNCH(1, 64, 0, 0, static_smem)(y);
    ck_assert_int_eq(cudaMemcpy(hy, y, sizeof hy, cudaMemcpyDeviceToHost), cudaSuccess);
    for (int i = 0; i < 64; i++) ck_assert_int_eq(hy[i], (63 - i) * 3);
    cudaFree(x), cudaFree(out), cudaFree(f), cudaFree(fo), cudaFree(y);
}
END_TEST

START_TEST(race_is_caught)
{
    int hx[128], *x = dev<int>(128), *out = dev<int>(1);
    for (int i = 0; i < 128; i++) hx[i] = i;
    ck_assert_int_eq(cudaMemcpy(x, hx, sizeof hx, cudaMemcpyHostToDevice), cudaSuccess);
    QB_LAUNCH(1, 128, 128 * sizeof(int), 0, block_sum_racy)(x, out, 128);
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess); /* launching is fine ... */
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaErrorLaunchFailure); /* ... running is not */
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaSuccess); /* reported once */

    /* an asynchronous copy into memory another thread still reads races from its issue on */
    uint4 *g = dev<uint4>(64);
    int *y = dev<int>(32);
    ck_assert_int_eq(cudaMemset(g, 1, 64 * sizeof(uint4)), cudaSuccess);
    QB_LAUNCH(1, 32, 32 * sizeof(uint4), 0, refill<false>)(g, y);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
    QB_LAUNCH(1, 32, 32 * sizeof(uint4), 0, refill<true>)(g, y);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaSuccess);
    cudaFree(x), cudaFree(out), cudaFree(g), cudaFree(y);
}
END_TEST

START_TEST(memory_faults_are_caught)
{
    int *y = dev<int>(100);
    QB_LAUNCH(1, 128, 0, 0, write_n)(y, 100); /* y[100]: one past the end */
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaErrorIllegalAddress);
    QB_LAUNCH(1, 128, 0, 0, write_all)(y, 100);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaSuccess);

    static int host_buf[128];
    QB_LAUNCH(1, 128, 0, 0, write_all)(host_buf, 128);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaErrorIllegalAddress);

    QB_LAUNCH(4, 32, 0, 0, all_blocks_write_one)(y);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaErrorLaunchFailure);

    QB_LAUNCH(1, 32, 32 * sizeof(int), 0, smem_overrun)(y);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaErrorIllegalAddress);

    float *f = dev<float>(32), hf[32];
    QB_LAUNCH(1, 32, 32 * sizeof(float), 0, smem_uninit)(f);
    ck_assert_int_eq(cudaMemcpy(hf, f, sizeof hf, cudaMemcpyDeviceToHost), cudaSuccess);
    for (int i = 0; i < 32; i++) ck_assert(hf[i] != hf[i]); /* poison reads as NaN */
    cudaFree(y), cudaFree(f);
}
END_TEST

START_TEST(hangs_and_traps_are_caught)
{
    int *y = dev<int>(64);
    QB_LAUNCH(1, 64, 0, 0, deadlock)(y);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaErrorLaunchTimeout);
    QB_LAUNCH(1, 32, 0, 0, traps)(y);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
    cudaFree(y);
}
END_TEST

START_TEST(driver_limits)
{
    int *y = dev<int>(2048), v = 0;
    QB_LAUNCH(1, 1025, 0, 0, write_all)(y, 2048);
    ck_assert_int_eq(cudaGetLastError(), cudaErrorInvalidConfiguration);
    QB_LAUNCH(dim3(1, 65536), 32, 0, 0, write_all)(y, 2048);
    ck_assert_int_eq(cudaGetLastError(), cudaErrorInvalidConfiguration);
    /* more threads than __launch_bounds__ (as nvcc recorded them; the table exists when nvcc was found) */
    QB_LAUNCH(1, 64, 0, 0, bounded)(y);
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess);
    QB_LAUNCH(1, 128, 0, 0, bounded)(y);
#ifdef QBLAS_SIM_HAVE_LAUNCH_BOUNDS
    ck_assert_int_eq(cudaGetLastError(), cudaErrorInvalidValue);
#else
    (void)cudaGetLastError();
#endif
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaSuccess);
    /* more than 48 KiB of dynamic shared memory needs the opt-in attribute */
    QB_LAUNCH(1, 32, 64 * 1024, 0, big_smem)(y);
    ck_assert_int_eq(cudaGetLastError(), cudaErrorInvalidValue);
    ck_assert_int_eq(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0), cudaSuccess);
    ck_assert_int_eq(cudaFuncSetAttribute(big_smem, cudaFuncAttributeMaxDynamicSharedMemorySize, v + 1),
                     cudaErrorInvalidValue);
    ck_assert_int_eq(cudaGetLastError(), cudaErrorInvalidValue); /* the failed call is the last error, until read */
    ck_assert_int_eq(cudaFuncSetAttribute(big_smem, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024),
                     cudaSuccess);
    QB_LAUNCH(1, 32, 64 * 1024, 0, big_smem)(y);
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaSuccess);
    cudaFree(y);
}
END_TEST

START_TEST(late_completion_and_capture)
{
    int *y = dev<int>(64), *pinned = nullptr;
    ck_assert_int_eq(cudaMallocHost((void **)&pinned, 64 * sizeof(int)), cudaSuccess);
    ck_assert_int_eq(cudaMemset(y, 0, 64 * sizeof(int)), cudaSuccess);
    cudaStream_t s;
    ck_assert_int_eq(cudaStreamCreate(&s), cudaSuccess);
    QB_LAUNCH(1, 64, 0, s, write_all)(y, 64);
    memset(pinned, 0x55, 64 * sizeof(int));
    ck_assert_int_eq(cudaMemcpyAsync(pinned, y, 64 * sizeof(int), cudaMemcpyDeviceToHost, s), cudaSuccess);
    ck_assert_int_eq(pinned[5], 0x55555555); /* nothing ran yet */
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaSuccess);
    ck_assert_int_eq(pinned[5], 5);

    /* capture: work is recorded, synchronization is refused */
    cudaGraph_t g = nullptr;
    cudaGraphExec_t ge = nullptr;
    ck_assert_int_eq(cudaMemset(y, 0, 64 * sizeof(int)), cudaSuccess);
    ck_assert_int_eq(cudaDeviceSynchronize(), cudaSuccess);
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    QB_LAUNCH(1, 64, 0, s, write_all)(y, 64);
    ck_assert_int_eq(cudaGetLastError(), cudaSuccess);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy(pinned, y, 64 * sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
    ck_assert_int_eq(pinned[5], 0); /* captured, not run */
    ck_assert_int_eq(cudaGraphInstantiate(&ge, g, 0), cudaSuccess);
    ck_assert_int_eq(cudaGraphLaunch(ge, s), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy(pinned, y, 64 * sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
    ck_assert_int_eq(pinned[5], 5);

    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    void *p = nullptr;
    ck_assert_int_eq(cudaMalloc(&p, 16), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    /* every other call that waits for the device or frees memory: refused, and the capture is lost */
    cudaEvent_t ev;
    ck_assert_int_eq(cudaEventCreate(&ev), cudaSuccess);
    ck_assert_int_eq(cudaEventRecord(ev, s), cudaSuccess);
    const cudaError_t want[5] = {cudaErrorStreamCaptureUnsupported, cudaErrorStreamCaptureUnsupported,
                                 cudaErrorStreamCaptureImplicit, cudaErrorStreamCaptureUnsupported,
                                 cudaErrorStreamCaptureImplicit};
    for (int c = 0; c < 5; c++) {
        ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
        const cudaError_t e = c == 0   ? cudaDeviceSynchronize()
                              : c == 1 ? cudaEventSynchronize(ev)
                              : c == 2 ? cudaMemcpy(pinned, y, 4, cudaMemcpyDeviceToHost)
                              : c == 3 ? cudaFree(y)
                                       : cudaMemset(y, 0, 4); /* the legacy stream */
        ck_assert_msg(e == want[c], "call %d during capture: %s", c, cudaGetErrorName(e));
        ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    }
    ck_assert_int_eq(cudaEventDestroy(ev), cudaSuccess);
    /* asking the legacy stream while a blocking stream captures: 906, the capture survives */
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    cudaStreamCaptureStatus legacy;
    ck_assert_int_eq(cudaStreamIsCapturing(nullptr, &legacy), cudaErrorStreamCaptureImplicit);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaSuccess);
    ck_assert_int_eq(cudaGraphDestroy(g), cudaSuccess);
    /* thread-local mode refuses the same calls (the capturing thread is the caller) */
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    ck_assert_int_eq(cudaMalloc(&p, 16), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    /* relaxed mode allows them, but never a wait for the capturing stream itself */
    ck_assert_int_eq(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed), cudaSuccess);
    ck_assert_int_eq(cudaMalloc(&p, 16), cudaSuccess);
    ck_assert_int_eq(cudaFree(p), cudaSuccess);
    cudaStreamCaptureStatus cs;
    ck_assert_int_eq(cudaStreamIsCapturing(s, &cs), cudaSuccess);
    ck_assert_int_eq(cs, cudaStreamCaptureStatusActive);
    ck_assert_int_eq(cudaStreamSynchronize(s), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamIsCapturing(s, &cs), cudaSuccess);
    ck_assert_int_eq(cs, cudaStreamCaptureStatusInvalidated);
    ck_assert_int_eq(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    /* a non-blocking stream has no implicit synchronization with the legacy
     * stream: legacy work runs beside its capture (global mode), synchronous
     * calls are refused all the same */
    cudaStream_t nb;
    ck_assert_int_eq(cudaStreamCreateWithFlags(&nb, cudaStreamNonBlocking), cudaSuccess);
    ck_assert_int_eq(cudaStreamBeginCapture(nb, cudaStreamCaptureModeGlobal), cudaSuccess);
    ck_assert_int_eq(cudaMemset(y, 0, 4), cudaSuccess);
    ck_assert_int_eq(cudaMemcpy(pinned, y, 4, cudaMemcpyDeviceToHost), cudaErrorStreamCaptureUnsupported);
    ck_assert_int_eq(cudaStreamEndCapture(nb, &g), cudaErrorStreamCaptureInvalidated);
    ck_assert_int_eq(cudaStreamDestroy(nb), cudaSuccess);
    (void)cudaGetLastError();
    cudaGraphExecDestroy(ge);
    cudaStreamDestroy(s);
    cudaFreeHost(pinned), cudaFree(y);
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("sim_device");
    TCase *tc = tcase_create("device");
    tcase_add_test(tc, block_reduction_and_shuffles);
    tcase_add_test(tc, race_is_caught);
    tcase_add_test(tc, memory_faults_are_caught);
    tcase_add_test(tc, hangs_and_traps_are_caught);
    tcase_add_test(tc, driver_limits);
    tcase_add_test(tc, late_completion_and_capture);
    suite_add_tcase(s, tc);
    return s;
}
