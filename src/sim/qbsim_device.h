/* qbsim_device.h - the CUDA device language on the simulated device: what a
 * kernel source may use besides the instruction wrappers of
 * src/cuda/cuda_ptx.cuh (whose simulator side is qbsim_ptx.h).
 *
 * Kernels are ordinary C++ functions here. Every GPU thread of a block runs
 * as a fiber (src/sim/exec.cc); threadIdx & co. read the running fiber's
 * coordinates; __syncthreads, __syncwarp and the warp shuffles are real
 * rendezvous of the fibers involved. Loads and stores of kernel code are
 * seen by the simulator's memory checker (clang's load/store tracing, see
 * src/sim/memcheck.cc). Intrinsics with non-trivial semantics (__byte_perm,
 * __dp4a, the f16/bf16 conversions) call the instruction twins
 * (src/sim/twins), so the conformance program can hold them to a GPU.
 *
 * Deliberately absent: __shared__, __constant__, __device__ variables. Kernel
 * sources declare shared memory through QB_DYNAMIC_SMEM / QB_SHARED_ARRAY
 * (src/cuda/qb_vendor.cuh), so the simulator can place, poison and watch it.
 */
#ifndef QBSIM_DEVICE_H
#define QBSIM_DEVICE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_runtime_api.h"
#include "sim/qbsim_launch.h"
#include "sim/twins/ptx_twins.h"

/* ---- qualifiers ---- */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __restrict__ __restrict
#define __grid_constant__

namespace qbsim {

/* ---- the running GPU thread (exec.cc) ---- */
uint3 thread_idx();
uint3 block_idx();
dim3 block_dim();
dim3 grid_dim();
int arch();        /* 800, 890 or 900: the simulated device's compute capability x 10 */
bool arch_sm90a(); /* sm_90a features (wgmma, setmaxnreg, TMA) */

/* ---- synchronization (exec.cc) ---- */
void syncthreads();
void syncwarp(uint32_t mask);
[[noreturn]] void trap();

/* ---- warp shuffles: the 32-bit exchange all of them reduce to ----
 * kind: 0 idx, 1 up, 2 down, 3 bfly (PTX shfl.sync modes) */
uint32_t shfl_sync(uint32_t mask, uint32_t v, int kind, int lane_or_delta, int width);

/* ---- shared memory (exec.cc) ---- */
void *dynamic_smem(size_t align);
void *static_smem_bytes(size_t bytes, size_t align, const char *file, int line);
template <class T> T *static_smem(size_t count, const char *file, int line)
{
    return static_cast<T *>(static_smem_bytes(count * sizeof(T), alignof(T), file, line));
}
size_t cvta_to_shared(const void *p);

/* ---- atomics: excluded from the race check, executed atomically ---- */
void atomic_access(const void *p, size_t bytes); /* bounds/space check of an atomic (memcheck.cc) */

template <class T, class F> inline T atomic_rmw(T *p, F f)
{
    atomic_access(p, sizeof(T));
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(p, &old, f(old), false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return old;
}

template <class T> uint32_t bits32(T v)
{
    static_assert(sizeof(T) == 4, "32-bit value");
    uint32_t u;
    memcpy(&u, &v, 4);
    return u;
}
template <class T> T from_bits32(uint32_t u)
{
    T v;
    memcpy(&v, &u, 4);
    return v;
}

/* 32- and 64-bit shuffles (a 64-bit one is two 32-bit ones, as in CUDA's headers). */
template <class T> T shfl(uint32_t mask, T v, int kind, int arg, int width)
{
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "shuffles move 4 or 8 bytes");
    if constexpr (sizeof(T) == 4) {
        return from_bits32<T>(shfl_sync(mask, bits32(v), kind, arg, width));
    } else {
        uint32_t w[2];
        memcpy(w, &v, 8);
        w[0] = shfl_sync(mask, w[0], kind, arg, width);
        w[1] = shfl_sync(mask, w[1], kind, arg, width);
        T r;
        memcpy(&r, w, 8);
        return r;
    }
}

} // namespace qbsim

/* ---- built-in variables ---- */
#define threadIdx (::qbsim::thread_idx())
#define blockIdx (::qbsim::block_idx())
#define blockDim (::qbsim::block_dim())
#define gridDim (::qbsim::grid_dim())
#define warpSize 32

/* ---- synchronization functions ---- */
inline void __syncthreads() { ::qbsim::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xFFFFFFFFu) { ::qbsim::syncwarp(mask); }
[[noreturn]] inline void __trap() { ::qbsim::trap(); }

/* ---- warp shuffle functions ---- */
template <class T> inline T __shfl_sync(unsigned mask, T v, int src, int width = 32)
{
    return ::qbsim::shfl(mask, v, 0, src, width);
}
template <class T> inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
    return ::qbsim::shfl(mask, v, 1, (int)delta, width);
}
template <class T> inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
    return ::qbsim::shfl(mask, v, 2, (int)delta, width);
}
template <class T> inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32)
{
    return ::qbsim::shfl(mask, v, 3, lane_mask, width);
}

/* ---- atomic functions (return the old value) ---- */
template <class T> inline T atomicAdd(T *p, T v) { return ::qbsim::atomic_rmw(p, [v](T o) { return (T)(o + v); }); }
template <class T> inline T atomicOr(T *p, T v) { return ::qbsim::atomic_rmw(p, [v](T o) { return (T)(o | v); }); }
template <class T> inline T atomicAnd(T *p, T v) { return ::qbsim::atomic_rmw(p, [v](T o) { return (T)(o & v); }); }
template <class T> inline T atomicMin(T *p, T v) { return ::qbsim::atomic_rmw(p, [v](T o) { return v < o ? v : o; }); }
template <class T> inline T atomicMax(T *p, T v) { return ::qbsim::atomic_rmw(p, [v](T o) { return v > o ? v : o; }); }
template <class T> inline T atomicExch(T *p, T v) { return ::qbsim::atomic_rmw(p, [v](T) { return v; }); }
template <class T> inline T atomicCAS(T *p, T cmp, T v)
{
    return ::qbsim::atomic_rmw(p, [cmp, v](T o) { return o == cmp ? v : o; });
}

/* ---- integer and float intrinsics ---- */
/* CUDA's __byte_perm takes 3-bit selectors (nvcc masks with 0x7777 before prmt) */
inline unsigned __byte_perm(unsigned a, unsigned b, unsigned s) { return ::qbsim::ptx::prmt_b32(a, b, s & 0x7777u); }
inline int __dp4a(int a, int b, int c) { return ::qbsim::ptx::dp4a_s32(a, b, c); }
inline int __dp4a(unsigned a, unsigned b, unsigned c) = delete; /* the unsigned form is another instruction */
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __clz(int v) { return v ? __builtin_clz((unsigned)v) : 32; }
inline int __ffs(int v) { return __builtin_ffs(v); }
inline float __uint_as_float(unsigned u) { return ::qbsim::from_bits32<float>(u); }
inline unsigned __float_as_uint(float f) { return ::qbsim::bits32(f); }
inline float __int_as_float(int i) { return ::qbsim::from_bits32<float>((uint32_t)i); }
inline int __float_as_int(float f) { return (int)::qbsim::bits32(f); }
/* The _rn forms are single IEEE operations, rounded to nearest even; the
 * kernels are compiled with -ffp-contract=off so nothing fuses them. */
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
inline float __int2float_rn(int i) { return (float)i; }
inline float __uint2float_rn(unsigned i) { return (float)i; }
inline float __ll2float_rn(long long i) { return (float)i; }
inline int __float2int_rn(float f) { return (int)rintf(f); }
template <class T> inline T __ldg(const T *p) { return *p; }

/* min/max: CUDA's overloads for every arithmetic pair (usual conversions). */
template <class A, class B, class = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> min(A a, B b)
{
    using C = std::common_type_t<A, B>;
    if constexpr (std::is_floating_point<C>::value) return sizeof(C) == 4 ? fminf((float)a, (float)b) : fmin(a, b);
    else return (C)a < (C)b ? (C)a : (C)b;
}
template <class A, class B, class = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> max(A a, B b)
{
    using C = std::common_type_t<A, B>;
    if constexpr (std::is_floating_point<C>::value) return sizeof(C) == 4 ? fmaxf((float)a, (float)b) : fmax(a, b);
    else return (C)a > (C)b ? (C)a : (C)b;
}

/* ---- address space conversion ---- */
inline size_t __cvta_generic_to_shared(const void *p) { return ::qbsim::cvta_to_shared(p); }

/* ---- vector constructors ---- */
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline int2 make_int2(int x, int y) { return int2{x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }

#endif /* QBSIM_DEVICE_H */
