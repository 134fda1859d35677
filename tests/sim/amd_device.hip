/* amd_device.hip - the simulated AMD device itself (wave64 executor,
 * src/sim/amd_exec.cc): launch geometry through the dispatch packet, lane
 * ids and shuffles over 64 lanes, MFMA through the wavefront rendezvous, and
 * each check shown to catch the fault it exists for (a lane that skips a
 * wavefront instruction, an instruction the target lacks, an LDS race
 * without s_barrier), so "the simulator says an AMD kernel is right" means
 * something. Compiled like src/hip's gfx942 objects (QB_HIP_SIM, the HIP
 * prelude) and run on simulated gfx942 and gfx90a (ctest amd_device_*). */
#include <stdint.h>
#include <string.h>

#include "cuda/qb_vendor.cuh"
#include "hip/hip_isa.h"
#include "qb_test.h"
#include "sim/twins/amd_twins.h"

namespace {

using namespace qb::amd;

template <class T> T *dev(size_t n)
{
    void *p = nullptr;
    ck_assert_int_eq(hipMalloc(&p, n * sizeof(T)), hipSuccess);
    ck_assert_int_eq(hipMemset(p, 0xFF, n * sizeof(T)), hipSuccess);
    return static_cast<T *>(p);
}

bool on942() { return strcmp(getenv("QBLAS_SIM_ARCH") ? getenv("QBLAS_SIM_ARCH") : "", "gfx942") == 0; }

/* ---- kernels ---- */
__global__ void geometry(unsigned *out)
{
    const unsigned t = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    const unsigned b = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    unsigned *o = out + 8 * (b * blockDim.x * blockDim.y * blockDim.z + t);
    o[0] = threadIdx.x, o[1] = threadIdx.y, o[2] = blockIdx.x, o[3] = blockIdx.y;
    o[4] = blockDim.x, o[5] = blockDim.y, o[6] = gridDim.x, o[7] = gridDim.y;
}

/* lane ids from v_mbcnt and a butterfly over the whole wavefront */
__global__ void lanes_and_shuffles(int *out)
{
    const int lane = lane_id();
    int v = lane * lane;
    for (int o = 1; o < QB_WARP_SIZE; o <<= 1) v += QB_SHFL_XOR(v, o);
    out[2 * threadIdx.x] = lane, out[2 * threadIdx.x + 1] = v;
}

/* one f16 MFMA per wavefront, registers straight from memory */
__global__ void one_mfma(const uint32_t *a, const uint32_t *b, const float *c, float *d)
{
    const int l = threadIdx.x;
    f16x4 av, bv;
    __builtin_memcpy(&av, a + 2 * l, 8), __builtin_memcpy(&bv, b + 2 * l, 8);
    f32x4 cv;
    __builtin_memcpy(&cv, c + 4 * l, 16);
    const f32x4 dv = mfma_f32_16x16x16_f16(av, bv, cv);
    __builtin_memcpy(d + 4 * l, &dv, 16);
}

/* lane 5 leaves before the MFMA: on hardware its EXEC bit is off and its
 * registers undefined for the others; the simulator refuses it */
__global__ void divergent_mfma(float *d)
{
    if (threadIdx.x == 5) return;
    f16x4 z = {};
    const f32x4 dv = mfma_f32_16x16x16_f16(z, z, f32x4{});
    d[threadIdx.x] = dv[0];
}

/* an fp8 MFMA: gfx942 only (the gfx942 object; a simulated gfx90a faults) */
__global__ void fp8_mfma(float *d)
{
    const f32x4 dv = mfma_f32_16x16x32_fp8_fp8(0x3838383838383838l, 0x3838383838383838l, f32x4{});
    d[threadIdx.x] = dv[0];
}

/* an LDS exchange between wavefronts, with and without the barrier */
template <bool BARRIER> __global__ void lds_exchange(int *y)
{
    QB_DYNAMIC_SMEM(int, s, 16);
    const int t = threadIdx.x, n = blockDim.x;
    s[t] = t * 3;
    if (BARRIER) __syncthreads();
    y[t] = s[(t + 64) % n]; /* the next wavefront's element */
}

/* ---- tests ---- */
START_TEST(geometry_from_the_dispatch_packet)
{
    const dim3 grid(3, 2, 1), block(96, 2, 1); /* 192 work-items: 3 wavefronts, the last a full one */
    const int n = 6 * 192;
    unsigned *o = dev<unsigned>(8 * n), h[8 * 6 * 192];
    QB_LAUNCH(grid, block, 0, 0, geometry)(o);
    ck_assert_int_eq(hipDeviceSynchronize(), hipSuccess);
    ck_assert_int_eq(hipMemcpy(h, o, sizeof h, hipMemcpyDeviceToHost), hipSuccess);
    for (unsigned b = 0; b < 6; ++b)
        for (unsigned t = 0; t < 192; ++t) {
            const unsigned *e = h + 8 * (b * 192 + t);
            const unsigned want[8] = {t % 96, t / 96, b % 3, b / 3, 96, 2, 3, 2};
            for (int i = 0; i < 8; ++i) ck_assert_uint_eq(e[i], want[i]);
        }
    hipFree(o);
}
END_TEST

START_TEST(wave64_lanes_and_shuffles)
{
    int *o = dev<int>(2 * 256), h[2 * 256];
    QB_LAUNCH(1, 256, 0, 0, lanes_and_shuffles)(o);
    ck_assert_int_eq(hipDeviceSynchronize(), hipSuccess);
    ck_assert_int_eq(hipMemcpy(h, o, sizeof h, hipMemcpyDeviceToHost), hipSuccess);
    int want = 0;
    for (int l = 0; l < 64; ++l) want += l * l; /* the butterfly sums the whole 64-lane wavefront */
    for (int t = 0; t < 256; ++t) {
        ck_assert_int_eq(h[2 * t], t % 64);
        ck_assert_int_eq(h[2 * t + 1], want);
    }
    hipFree(o);
}
END_TEST

/* the executor's gather/scatter against the twin called directly */
START_TEST(mfma_through_the_executor)
{
    qbt_rng r = qbt_rng_make(1);
    uint32_t ha[64][2], hb[64][2];
    float hc[64][4], want[64][4], got[64][4];
    for (int l = 0; l < 64; ++l) {
        for (int e = 0; e < 2; ++e)
            ha[l][e] = qb_f32_to_f16((float)qbt_uniform(&r, -2, 2)) | (uint32_t)qb_f32_to_f16((float)qbt_uniform(&r, -2, 2)) << 16,
            hb[l][e] = qb_f32_to_f16((float)qbt_uniform(&r, -2, 2)) | (uint32_t)qb_f32_to_f16((float)qbt_uniform(&r, -2, 2)) << 16;
        for (int i = 0; i < 4; ++i) hc[l][i] = (float)qbt_uniform(&r, -1, 1);
    }
    qbsim::amd::mfma_f32_16x16x16(qbsim::amd::F16::F16, want, ha, hb, hc);
    uint32_t *a = dev<uint32_t>(128), *b = dev<uint32_t>(128);
    float *c = dev<float>(256), *d = dev<float>(256);
    hipMemcpy(a, ha, sizeof ha, hipMemcpyHostToDevice), hipMemcpy(b, hb, sizeof hb, hipMemcpyHostToDevice);
    hipMemcpy(c, hc, sizeof hc, hipMemcpyHostToDevice);
    QB_LAUNCH(1, 64, 0, 0, one_mfma)(a, b, c, d);
    ck_assert_int_eq(hipDeviceSynchronize(), hipSuccess);
    hipMemcpy(got, d, sizeof got, hipMemcpyDeviceToHost);
    ck_assert(memcmp(got, want, sizeof got) == 0);
    hipFree(a), hipFree(b), hipFree(c), hipFree(d);
}
END_TEST

START_TEST(faults_are_caught)
{
    float *d = dev<float>(64);
    QB_LAUNCH(1, 64, 0, 0, divergent_mfma)(d);
    ck_assert_int_eq(hipDeviceSynchronize(), cudaErrorIllegalInstruction);
    QB_LAUNCH(1, 64, 0, 0, fp8_mfma)(d);
    const hipError_t e = hipDeviceSynchronize();
    if (on942()) {
        ck_assert_int_eq(e, hipSuccess);
        float h[64];
        hipMemcpy(h, d, sizeof h, hipMemcpyDeviceToHost);
        /* 0x38 in E4M3FNUZ is 2^(7-8) * 1 = 0.5: 32 products of 0.25 */
        for (int l = 0; l < 64; ++l) ck_assert(h[l] == 8.0f);
    } else {
        ck_assert_int_eq(e, cudaErrorIllegalInstruction); /* gfx90a has no fp8 MFMA */
    }
    int *y = dev<int>(256);
    QB_LAUNCH(1, 256, 256 * sizeof(int), 0, lds_exchange<false>)(y);
    ck_assert_int_eq(hipDeviceSynchronize(), cudaErrorLaunchFailure); /* the race check */
    QB_LAUNCH(1, 256, 256 * sizeof(int), 0, lds_exchange<true>)(y);
    ck_assert_int_eq(hipDeviceSynchronize(), hipSuccess);
    int h[256];
    hipMemcpy(h, y, sizeof h, hipMemcpyDeviceToHost);
    for (int t = 0; t < 256; ++t) ck_assert_int_eq(h[t], (t + 64) % 256 * 3);
    hipFree(d), hipFree(y);
}
END_TEST

START_TEST(limits_and_device_queries)
{
    int n = -1;
    ck_assert_int_eq(hipGetDeviceCount(&n), hipSuccess);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(cudaGetDeviceCount(&n), cudaSuccess);
    ck_assert_int_eq(n, 0); /* the CUDA names see no AMD device */
    hipDeviceProp_t p;
    ck_assert_int_eq(hipGetDeviceProperties(&p, 0), hipSuccess);
#undef warpSize /* the simulator's CUDA spelling of the constant, not HIP's field */
    ck_assert_int_eq(p.warpSize, 64);
    ck_assert(strncmp(p.gcnArchName, on942() ? "gfx942:" : "gfx90a:", 7) == 0);
    int *y = dev<int>(2048);
    QB_LAUNCH(1, 1025, 0, 0, lds_exchange<true>)(y); /* over 1024 work-items */
    ck_assert_int_eq(hipGetLastError(), cudaErrorInvalidConfiguration);
    QB_LAUNCH(1, 256, 65536 + 4, 0, lds_exchange<true>)(y); /* over 64 KiB of LDS */
    ck_assert_int_eq(hipGetLastError(), hipErrorInvalidValue);
    hipFree(y);
}
END_TEST

} // namespace

extern "C" Suite *qbt_suite(void)
{
    Suite *s = suite_create("amd_device");
    TCase *tc = tcase_create("wave64");
    tcase_add_test(tc, geometry_from_the_dispatch_packet);
    tcase_add_test(tc, wave64_lanes_and_shuffles);
    tcase_add_test(tc, mfma_through_the_executor);
    tcase_add_test(tc, faults_are_caught);
    tcase_add_test(tc, limits_and_device_queries);
    suite_add_tcase(s, tc);
    return s;
}
