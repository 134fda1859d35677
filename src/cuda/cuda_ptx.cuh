/* cuda_ptx.cuh - ALL of the vendor's inline assembly: thin wrappers over the
 * PTX instructions the kernels use, one wrapper per instruction form, so no
 * kernel carries asm or an #if on __CUDA_ARCH__. sm_80: asynchronous copies
 * with L2 cache hints, ldmatrix (plain and transposed), lop3, f16x2/bf16x2
 * arithmetic, mma.sync m16n8k16 f16/bf16 and m16n8k32 s8, mma.sp; sm_89:
 * the fp8 forms of mma.sync / mma.sp and cvt from e4m3x2; sm_90(a): the
 * mbarrier, TMA, setmaxnreg and wgmma instructions of the Hopper FP8 GEMM.
 *
 * An instruction newer than sm_80 carries its architecture guard inside its
 * wrapper (below it: __trap(), never reached: the kernels test the
 * architecture with QB_IF_ARCH_GE / QB_IF_SM90A of qb_vendor.cuh, and the
 * registry never launches them there).
 *
 * Each wrapper has a simulator twin: under QBLAS_CUDA_SIM (the CPU
 * simulator compiling these kernels with a host C++ compiler) it calls the
 * ::qbsim function of the same name (src/sim/qbsim_ptx.h) instead of the
 * asm; template parameters that pick the instruction become arguments there.
 * Shared-memory addresses stay 32-bit shared-window addresses on both sides.
 */
#ifndef QBLAS_CUDA_PTX_CUH
#define QBLAS_CUDA_PTX_CUH

#include <stdint.h>

#include "qblas/qblas_types.h" /* QBLAS_DTYPE_E4M3 / E5M2: the fp8 operand types */

#if defined(__HIPCC__) || defined(QB_HIP_SIM)
/* A HIP build compiles the vendor-neutral sources that include this header
 * (attn_common.cuh) for AMD targets: there the NVIDIA wrappers are only
 * declared (names of discarded branches, never called); the AMD
 * instructions are src/hip/hip_isa.h. */
#include "../hip/hip_ptx_decls.h"
#else

#if defined(QBLAS_CUDA_SIM)
#include "sim/twins/ptx_twins.h" /* qbsim::ptx::Fp8 */
#include "sim/qbsim_ptx.h"
#endif

/* Architecture guards of the wrappers (device passes; 0 in the host pass). */
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
#define QB_PTX_SM89 1
#else
#define QB_PTX_SM89 0
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define QB_PTX_SM90 1
#else
#define QB_PTX_SM90 0
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define QB_PTX_SM90A 1
#else
#define QB_PTX_SM90A 0
#endif

/* mma.sp spelling: our metadata fields always have i0 < i1, so the
 * ::ordered_metadata form applies (the form PTX 8.5+ recommends; plain
 * mma.sp before CUDA 12.5). The simulator checks the ordered form's rule. */
#if defined(QBLAS_CUDA_SIM) || (__CUDACC_VER_MAJOR__ > 12) || \
    (__CUDACC_VER_MAJOR__ == 12 && __CUDACC_VER_MINOR__ >= 5)
#define QB_MMA_SP_ORDERED 1
#define QB_MMA_SP "mma.sp::ordered_metadata.sync.aligned"
#else
#define QB_MMA_SP_ORDERED 0
#define QB_MMA_SP "mma.sp.sync.aligned"
#endif

namespace qb {

#if defined(QBLAS_CUDA_SIM)
/* The simulator's name of an fp8 dtype (anything but E4M3 is E5M2, as in the asm choices below). */
constexpr ::qbsim::ptx::Fp8 sim_fp8(int dt)
{
    return dt == QBLAS_DTYPE_E4M3 ? ::qbsim::ptx::Fp8::E4M3 : ::qbsim::ptx::Fp8::E5M2;
}
#endif

__device__ __forceinline__ uint32_t smem_u32(const void *p)
{
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

/* ---------------------------------------------------------------- sm_80 */

/* L2 cache policies for cp.async: weights are read once per block row, so
 * they should not push the activations (reused by every block column) out. */
__device__ __forceinline__ uint64_t l2_evict_first()
{
    uint64_t pol;
#if defined(QBLAS_CUDA_SIM)
    pol = ::qbsim::l2_evict_first();
#else
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(pol));
#endif
    return pol;
}
__device__ __forceinline__ uint64_t l2_evict_normal()
{
    uint64_t pol;
#if defined(QBLAS_CUDA_SIM)
    pol = ::qbsim::l2_evict_normal();
#else
    asm volatile("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;\n" : "=l"(pol));
#endif
    return pol;
}
__device__ __forceinline__ uint64_t l2_evict_last()
{
    uint64_t pol;
#if defined(QBLAS_CUDA_SIM)
    pol = ::qbsim::l2_evict_last();
#else
    asm volatile("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;\n" : "=l"(pol));
#endif
    return pol;
}

/* 16-byte global -> shared copy that bypasses L1 (.cg). src_bytes < 16
 * zero-fills the rest: 0 gives 16 zero bytes without reading memory. */
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem, int src_bytes, uint64_t pol)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::cp_async16(smem_u32(smem), gmem, src_bytes, pol);
#else
    asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;\n" ::"r"(smem_u32(smem)),
                 "l"(gmem), "r"(src_bytes), "l"(pol)
                 : "memory");
#endif
}
/* 4-byte global -> shared asynchronous copy (.ca, the only form for 4
 * bytes); src_bytes 0 writes a zero without reading. */
__device__ __forceinline__ void cp_async4(void *smem, const void *gmem, int src_bytes)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::cp_async4(smem_u32(smem), gmem, src_bytes);
#else
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_u32(smem)), "l"(gmem), "r"(src_bytes)
                 : "memory");
#endif
}
__device__ __forceinline__ void cp_async_commit()
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::cp_async_commit();
#else
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
template <int N> __device__ __forceinline__ void cp_async_wait()
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::cp_async_wait(N);
#else
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}
/* wait_group takes an immediate; the pipeline depth is a launch parameter,
 * so pick the instruction with a (block-uniform) switch. */
__device__ __forceinline__ void cp_async_wait_pending(int n)
{
    switch (n) {
    case 0: cp_async_wait<0>(); break;
    case 1: cp_async_wait<1>(); break;
    case 2: cp_async_wait<2>(); break;
    case 3: cp_async_wait<3>(); break;
    case 4: cp_async_wait<4>(); break;
    case 5: cp_async_wait<5>(); break;
    default: cp_async_wait<6>(); break;
    }
}

/* Four 8x8 b16 matrices from shared memory; lane l gives the address of row
 * l % 8 of matrix l / 8, register i receives matrix i in mma fragment order.
 * The address is a shared-space one (smem_u32), or a generic pointer. */
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], uint32_t saddr)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::ldmatrix_x4(r, saddr);
#else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(saddr));
#endif
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void *smem) { ldmatrix_x4(r, smem_u32(smem)); }
/* The same, transposed: thread t receives the elements (rows 2(t%4) and
 * 2(t%4)+1, column t/4) of each matrix. */
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], uint32_t saddr)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::ldmatrix_x4_trans(r, saddr);
#else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(saddr));
#endif
}

/* d = any boolean function of a, b, c given by its truth table LUT
 * (a = 0xF0, b = 0xCC, c = 0xAA): one instruction. */
template <int LUT> __device__ __forceinline__ uint32_t lop3(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t d;
#if defined(QBLAS_CUDA_SIM)
    d = ::qbsim::lop3(a, b, c, LUT);
#else
    asm("lop3.b32 %0, %1, %2, %3, %4;\n" : "=r"(d) : "r"(a), "r"(b), "r"(c), "n"(LUT));
#endif
    return d;
}

/* f16x2 / bf16x2 arithmetic, each half rounded to nearest even. (bf16x2 has
 * fma only on sm_80: sub/mul.bf16x2 need sm_90.) */
__device__ __forceinline__ uint32_t sub_rn_f16x2(uint32_t a, uint32_t b)
{
    uint32_t d;
#if defined(QBLAS_CUDA_SIM)
    d = ::qbsim::sub_rn_f16x2(a, b);
#else
    asm("sub.rn.f16x2 %0, %1, %2;\n" : "=r"(d) : "r"(a), "r"(b));
#endif
    return d;
}
__device__ __forceinline__ uint32_t mul_rn_f16x2(uint32_t a, uint32_t b)
{
    uint32_t d;
#if defined(QBLAS_CUDA_SIM)
    d = ::qbsim::mul_rn_f16x2(a, b);
#else
    asm("mul.rn.f16x2 %0, %1, %2;\n" : "=r"(d) : "r"(a), "r"(b));
#endif
    return d;
}
__device__ __forceinline__ uint32_t fma_rn_bf16x2(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t d;
#if defined(QBLAS_CUDA_SIM)
    d = ::qbsim::fma_rn_bf16x2(a, b, c);
#else
    asm("fma.rn.bf16x2 %0, %1, %2, %3;\n" : "=r"(d) : "r"(a), "r"(b), "r"(c));
#endif
    return d;
}

/* D = A.B + D, m16n8k16, fp32 accumulators. */
__device__ __forceinline__ void mma_f16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::mma_f16(d, a, b0, b1);
#else
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}
__device__ __forceinline__ void mma_bf16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::mma_bf16(d, a, b0, b1);
#else
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}
/* D = A.B + D, m16n8k32, int8 inputs, int32 accumulators (exact). */
__device__ __forceinline__ void mma_s8(int32_t d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::mma_s8(d, a, b0, b1);
#else
    asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

/* D = A.B + D with sparse A (2:4 along k): a the kept values, e the
 * metadata, sparsity selector 0. m16n8k32 for f16/bf16, m16n8k64 for s8. */
__device__ __forceinline__ void mma_sp_f16(float (&d)[4], const uint4 &a, const uint32_t (&b)[4], uint32_t e)
{
#if defined(QBLAS_CUDA_SIM)
    const uint32_t av[4] = {a.x, a.y, a.z, a.w};
    ::qbsim::mma_sp_f16(QB_MMA_SP_ORDERED, d, av, b, e, 0);
#else
    asm(QB_MMA_SP ".m16n8k32.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, "
                  "{%0,%1,%2,%3}, %12, 0x0;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
#endif
}
__device__ __forceinline__ void mma_sp_bf16(float (&d)[4], const uint4 &a, const uint32_t (&b)[4], uint32_t e)
{
#if defined(QBLAS_CUDA_SIM)
    const uint32_t av[4] = {a.x, a.y, a.z, a.w};
    ::qbsim::mma_sp_bf16(QB_MMA_SP_ORDERED, d, av, b, e, 0);
#else
    asm(QB_MMA_SP ".m16n8k32.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, "
                  "{%0,%1,%2,%3}, %12, 0x0;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
#endif
}
__device__ __forceinline__ void mma_sp_s8(int32_t (&d)[4], const uint4 &a, const uint32_t (&b)[4], uint32_t e)
{
#if defined(QBLAS_CUDA_SIM)
    const uint32_t av[4] = {a.x, a.y, a.z, a.w};
    ::qbsim::mma_sp_s8(QB_MMA_SP_ORDERED, d, av, b, e, 0);
#else
    asm(QB_MMA_SP ".m16n8k64.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, "
                  "{%0,%1,%2,%3}, %12, 0x0;\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
#endif
}

/* ---------------------------------------------------------------- sm_89 */

/* Two e4m3 codes (low byte first) to two f16 in one register: exact. */
__device__ __forceinline__ uint32_t cvt_f16x2_e4m3x2(uint16_t a)
{
    uint32_t d;
#if defined(QBLAS_CUDA_SIM)
    d = ::qbsim::cvt_f16x2_e4m3x2(a);
#elif QB_PTX_SM89
    asm("cvt.rn.f16x2.e4m3x2 %0, %1;\n" : "=r"(d) : "h"(a));
#else
    d = 0;
    __trap();
#endif
    return d;
}

/* D = A.B + D, m16n8k32, fp8 codes XT (A) x WT (B) (QBLAS_DTYPE_E4M3 /
 * E5M2), fp32 accumulators. */
template <int XT, int WT>
__device__ __forceinline__ void mma_fp8(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::mma_fp8(sim_fp8(XT), sim_fp8(WT), d, a, b0, b1);
#elif QB_PTX_SM89
#define QB_FP8_MMA_ASM(ta, tb)                                                                         \
    asm("mma.sync.aligned.m16n8k32.row.col.f32." ta "." tb ".f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, " \
        "{%8, %9}, {%0, %1, %2, %3};\n"                                                                \
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                                               \
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1))
    if constexpr (XT == QBLAS_DTYPE_E4M3 && WT == QBLAS_DTYPE_E4M3)
        QB_FP8_MMA_ASM("e4m3", "e4m3");
    else if constexpr (XT == QBLAS_DTYPE_E4M3 && WT == QBLAS_DTYPE_E5M2)
        QB_FP8_MMA_ASM("e4m3", "e5m2");
    else if constexpr (XT == QBLAS_DTYPE_E5M2 && WT == QBLAS_DTYPE_E4M3)
        QB_FP8_MMA_ASM("e5m2", "e4m3");
    else
        QB_FP8_MMA_ASM("e5m2", "e5m2");
#undef QB_FP8_MMA_ASM
#else
    __trap();
#endif
}

/* mma.sp m16n8k64 with fp8 codes AT (sparse A) x BT (B), fp32 accumulators. */
template <int AT, int BT>
__device__ __forceinline__ void mma_sp_fp8(float (&d)[4], const uint4 &a, const uint32_t (&b)[4], uint32_t e)
{
#if defined(QBLAS_CUDA_SIM)
    const uint32_t av[4] = {a.x, a.y, a.z, a.w};
    ::qbsim::mma_sp_fp8(sim_fp8(AT), sim_fp8(BT), QB_MMA_SP_ORDERED, d, av, b, e, 0);
#elif QB_PTX_SM89
#define QB_SP_FP8_MMA_ASM(AS, BS)                                                                             \
    asm(QB_MMA_SP ".m16n8k64.row.col.f32." AS "." BS ".f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, " \
                  "{%0,%1,%2,%3}, %12, 0x0;\n"                                                              \
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                                                   \
        : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e))
    if constexpr (AT == QBLAS_DTYPE_E4M3 && BT == QBLAS_DTYPE_E4M3)
        QB_SP_FP8_MMA_ASM("e4m3", "e4m3");
    else if constexpr (AT == QBLAS_DTYPE_E4M3 && BT == QBLAS_DTYPE_E5M2)
        QB_SP_FP8_MMA_ASM("e4m3", "e5m2");
    else if constexpr (AT == QBLAS_DTYPE_E5M2 && BT == QBLAS_DTYPE_E4M3)
        QB_SP_FP8_MMA_ASM("e5m2", "e4m3");
    else
        QB_SP_FP8_MMA_ASM("e5m2", "e5m2");
#undef QB_SP_FP8_MMA_ASM
#else
    __trap();
#endif
}

/* ---------------------------------------------------------------- sm_90 / sm_90a
 * mbarrier (shared::cta, 64-bit), TMA and wgmma: the Hopper FP8 GEMM's. */

__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::mbar_init(bar, count);
#else
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
#endif
}
/* One test of the phase with parity `parity`: 1 if it has completed. */
__device__ __forceinline__ uint32_t mbar_try_wait(uint32_t bar, uint32_t parity)
{
    uint32_t done;
#if defined(QBLAS_CUDA_SIM)
    done = ::qbsim::mbar_try_wait(bar, parity);
#elif QB_PTX_SM90
    asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(bar), "r"(parity)
                 : "memory");
#else
    done = 1;
    __trap();
#endif
    return done;
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::mbar_arrive(bar);
#else
    asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.shared::cta.b64 st, [%0];\n}\n" ::"r"(bar) : "memory");
#endif
}
__device__ __forceinline__ void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::mbar_arrive_expect_tx(bar, bytes);
#elif QB_PTX_SM90
    asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.expect_tx.shared::cta.b64 st, [%0], %1;\n}\n" ::"r"(bar),
                 "r"(bytes)
                 : "memory");
#else
    __trap();
#endif
}
/* The mbarrier inits visible to the async proxy (TMA) before it uses them. */
__device__ __forceinline__ void fence_mbarrier_init()
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::fence_mbarrier_init();
#elif QB_PTX_SM90
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#else
    __trap();
#endif
}
__device__ __forceinline__ void fence_proxy_async_shared()
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::fence_proxy_async_shared();
#elif QB_PTX_SM90
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#else
    __trap();
#endif
}

/* 2D tile load: box at (c0 = k, c1 = row) of the tensor map `map` (a
 * CUtensorMap: a __grid_constant__ kernel parameter) into shared memory at
 * dst, its bytes counted on mbarrier bar. */
__device__ __forceinline__ void tma_load_2d(uint32_t dst, const void *map, uint32_t bar, int c0, int c1)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::tma_load_2d(dst, map, bar, c0, c1);
#elif QB_PTX_SM90
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4}], "
                 "[%2];\n" ::"r"(dst),
                 "l"(reinterpret_cast<uint64_t>(map)), "r"(bar), "r"(c0), "r"(c1)
                 : "memory");
#else
    __trap();
#endif
}
__device__ __forceinline__ void tma_prefetch_desc(const void *map)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::tma_prefetch_desc(map);
#elif QB_PTX_SM90
    asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
#else
    __trap();
#endif
}

/* Registers per thread of the warpgroup raised / lowered to N (sm_90a). */
template <int N> __device__ __forceinline__ void setmaxnreg_inc()
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::setmaxnreg(true, N);
#elif QB_PTX_SM90A
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N));
#else
    __trap();
#endif
}
template <int N> __device__ __forceinline__ void setmaxnreg_dec()
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::setmaxnreg(false, N);
#elif QB_PTX_SM90A
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N));
#else
    __trap();
#endif
}

__device__ __forceinline__ void wgmma_fence()
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::wgmma_fence();
#elif QB_PTX_SM90A
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#else
    __trap();
#endif
}
__device__ __forceinline__ void wgmma_commit()
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::wgmma_commit();
#elif QB_PTX_SM90A
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#else
    __trap();
#endif
}
__device__ __forceinline__ void wgmma_wait0()
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::wgmma_wait0();
#elif QB_PTX_SM90A
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
#else
    __trap();
#endif
}
/* Keeps the compiler from moving accumulator reads/writes across the
 * asynchronous wgmma window (an empty asm: no instruction). */
__device__ __forceinline__ void fence_acc(float (&d)[64])
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::fence_acc(d);
#else
#pragma unroll
    for (int i = 0; i < 64; ++i) asm volatile("" : "+f"(d[i])::"memory");
#endif
}

/* d (+)= A.B for one m64n128k32 step, A = X codes (e5m2 if XE5), B = W
 * codes (e5m2 if WE5), both K-major in shared memory (descriptors da, db);
 * acc_in 0: d = A.B (scale-d false), else d = A.B + d. */
#define QB_WGMMA_ACC8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), \
                          "+f"(d[i + 6]), "+f"(d[i + 7])
#define QB_WGMMA_FP8(TA, TB)                                                                                           \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                                          \
                 "wgmma.mma_async.sync.aligned.m64n128k32.f32." TA "." TB " "                                          \
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                             \
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "                    \
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "                    \
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "                   \
                 "%64, %65, p, 1, 1;\n}\n"                                                                             \
                 : QB_WGMMA_ACC8(0), QB_WGMMA_ACC8(8), QB_WGMMA_ACC8(16), QB_WGMMA_ACC8(24), QB_WGMMA_ACC8(32),        \
                   QB_WGMMA_ACC8(40), QB_WGMMA_ACC8(48), QB_WGMMA_ACC8(56)                                             \
                 : "l"(da), "l"(db), "r"(acc_in))
template <bool XE5, bool WE5>
__device__ __forceinline__ void wgmma_m64n128k32(float (&d)[64], uint64_t da, uint64_t db, uint32_t acc_in)
{
#if defined(QBLAS_CUDA_SIM)
    ::qbsim::wgmma_m64n128k32(XE5 ? ::qbsim::ptx::Fp8::E5M2 : ::qbsim::ptx::Fp8::E4M3,
                              WE5 ? ::qbsim::ptx::Fp8::E5M2 : ::qbsim::ptx::Fp8::E4M3, d, da, db, acc_in);
#elif QB_PTX_SM90A
    if constexpr (!XE5 && !WE5)
        QB_WGMMA_FP8("e4m3", "e4m3");
    else if constexpr (!XE5 && WE5)
        QB_WGMMA_FP8("e4m3", "e5m2");
    else if constexpr (XE5 && !WE5)
        QB_WGMMA_FP8("e5m2", "e4m3");
    else
        QB_WGMMA_FP8("e5m2", "e5m2");
#else
    __trap();
#endif
}
#undef QB_WGMMA_FP8
#undef QB_WGMMA_ACC8

} // namespace qb
#endif /* !__HIPCC__ */
#endif /* QBLAS_CUDA_PTX_CUH */
