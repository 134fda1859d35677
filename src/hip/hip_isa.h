/* hip_isa.h - ALL of the AMD-specific instructions the HIP kernels use, one
 * wrapper per instruction (or per compiler builtin that becomes one), so no
 * kernel carries a builtin or an #if on the target. This is the AMD
 * counterpart of src/cuda/cuda_ptx.cuh. On the simulated gfx90a / gfx942
 * (QB_HIP_SIM) each wrapper calls its simulator side (src/sim/qbsim_amd.h),
 * which runs the instruction's twin (src/sim/twins/amd_twins.h), so the
 * kernels run there unchanged; SMFMAC has no twin (no kernel uses it) and
 * traps there.
 *
 * Sources of the facts (no code taken from them):
 *  - "AMD Instinct MI300 (CDNA3) Instruction Set Architecture", chapter 7
 *    (matrix arithmetic instructions: MFMA, SMFMAC, their operand layouts
 *    and the fp8/bf8 formats), and the CDNA2 (MI200) ISA, chapter 7;
 *  - AMD's Matrix Instruction Calculator (github.com/ROCm/
 *    amd_matrix_instruction_calculator), whose register layouts for the
 *    instructions below are quoted next to each wrapper;
 *  - LLVM's AMDGPU builtin list (clang/include/clang/Basic/BuiltinsAMDGPU.def)
 *    for the builtin spellings, and the HSA kernel dispatch packet
 *    (hsa.h, hsa_kernel_dispatch_packet_t) for the launch geometry.
 *
 * Targets: gfx90a (CDNA2, MI200) and gfx942 (CDNA3, MI300). An instruction a
 * target lacks compiles to a trap there (QB_AMD_GFX942 guards); the
 * registry never runs such a kernel on that target. The host pass of a HIP
 * translation unit sees the same declarations (and never calls them).
 */
#ifndef QBLAS_HIP_ISA_H
#define QBLAS_HIP_ISA_H

#include <stdint.h>

#if defined(__gfx942__) || defined(__gfx940__) || defined(__gfx941__)
#define QB_AMD_GFX942 1 /* CDNA3 instructions (i8 16x16x32, fp8/bf8 MFMA, SMFMAC) */
#else
#define QB_AMD_GFX942 0
#endif
#if defined(__HIP_DEVICE_COMPILE__)
#define QB_AMD_DEVICE 1
#else
#define QB_AMD_DEVICE 0
#endif
/* The build compiles every object for one target and says which
 * (QB_HIP_GFX942, host and device passes alike, so the host side of a
 * template sees the same instruction choices as its device side). */
#ifndef QB_HIP_GFX942
#define QB_HIP_GFX942 QB_AMD_GFX942
#endif
#if QB_AMD_DEVICE && QB_HIP_GFX942 != QB_AMD_GFX942
#error "QB_HIP_GFX942 disagrees with the target being compiled"
#endif
/* The simulated device (QB_HIP_SIM: these sources compiled as C++ for a
 * simulated gfx90a / gfx942, src/sim): each wrapper calls the instruction's
 * simulator side (src/sim/qbsim_amd.h), which runs its twin. */
#if defined(QB_HIP_SIM)
#define QB_AMD_SIM 1
#include "sim/qbsim_amd.h"
#else
#define QB_AMD_SIM 0
#endif
/* the CDNA3-only instructions exist: a gfx942 device pass, or a simulated gfx942 object */
#define QB_AMD_HAS_CDNA3 ((QB_AMD_DEVICE && QB_AMD_GFX942) || (QB_AMD_SIM && QB_HIP_GFX942))
/* s_trap: an instruction the target lacks (the simulator: a launch fault) */
#if QB_AMD_SIM
#define QB_AMD_TRAP() ::qbsim::trap()
#else
#define QB_AMD_TRAP() __builtin_trap()
#endif
#define QB_AMD_HAS_CDNA2_I8 ((QB_AMD_DEVICE && !QB_AMD_GFX942) || (QB_AMD_SIM && !QB_HIP_GFX942))

namespace qb {
namespace amd {

/* Operand and accumulator vectors of the 16x16 MFMA/SMFMAC forms. */
#if QB_AMD_SIM
/* the host compiler may lack _Float16: the simulator only moves the bits */
typedef unsigned short f16x4 __attribute__((ext_vector_type(4)));
typedef unsigned short f16x8 __attribute__((ext_vector_type(8)));
#else
typedef _Float16 f16x4 __attribute__((ext_vector_type(4)));
typedef _Float16 f16x8 __attribute__((ext_vector_type(8)));
#endif
typedef short i16x4 __attribute__((ext_vector_type(4))); /* bf16 operands are passed as their bits */
typedef short i16x8 __attribute__((ext_vector_type(8)));
typedef float f32x4 __attribute__((ext_vector_type(4)));
typedef int i32x4 __attribute__((ext_vector_type(4)));
typedef int i32x2 __attribute__((ext_vector_type(2)));

/* ---------------------------------------------------------------- launch geometry
 * threadIdx / blockIdx come from the work-item and work-group id registers
 * the hardware initialises (no device library involved); blockDim and gridDim
 * from the HSA dispatch packet: workgroup_size_x/y/z (u16) at byte 4/6/8,
 * grid_size_x/y/z (u32, in work-items) at byte 12/16/20. */
#if QB_AMD_SIM
__device__ __forceinline__ unsigned workitem_id_x() { return ::qbsim::thread_idx().x; }
__device__ __forceinline__ unsigned workitem_id_y() { return ::qbsim::thread_idx().y; }
__device__ __forceinline__ unsigned workitem_id_z() { return ::qbsim::thread_idx().z; }
__device__ __forceinline__ unsigned workgroup_id_x() { return ::qbsim::block_idx().x; }
__device__ __forceinline__ unsigned workgroup_id_y() { return ::qbsim::block_idx().y; }
__device__ __forceinline__ unsigned workgroup_id_z() { return ::qbsim::block_idx().z; }
__device__ __forceinline__ const uint8_t *dispatch_ptr() { return ::qbsim::gcn::dispatch_ptr(); }
#else
__device__ __forceinline__ unsigned workitem_id_x() { return __builtin_amdgcn_workitem_id_x(); }
__device__ __forceinline__ unsigned workitem_id_y() { return __builtin_amdgcn_workitem_id_y(); }
__device__ __forceinline__ unsigned workitem_id_z() { return __builtin_amdgcn_workitem_id_z(); }
__device__ __forceinline__ unsigned workgroup_id_x() { return __builtin_amdgcn_workgroup_id_x(); }
__device__ __forceinline__ unsigned workgroup_id_y() { return __builtin_amdgcn_workgroup_id_y(); }
__device__ __forceinline__ unsigned workgroup_id_z() { return __builtin_amdgcn_workgroup_id_z(); }
__device__ __forceinline__ const uint8_t *dispatch_ptr()
{
    return static_cast<const uint8_t *>((const void *)__builtin_amdgcn_dispatch_ptr());
}
#endif

/* ---------------------------------------------------------------- synchronisation
 * s_barrier; the fences around it make __syncthreads' memory semantics
 * (LDS and global writes of the work-group visible after the barrier). */
#if QB_AMD_SIM
/* the simulator's barrier orders memory itself (its race check's clocks) */
__device__ __forceinline__ void s_barrier() { ::qbsim::gcn::s_barrier(); }
__device__ __forceinline__ void fence_release_workgroup() {}
__device__ __forceinline__ void fence_acquire_workgroup() {}
#else
__device__ __forceinline__ void s_barrier() { __builtin_amdgcn_s_barrier(); }
__device__ __forceinline__ void fence_release_workgroup() { __builtin_amdgcn_fence(__ATOMIC_RELEASE, "workgroup"); }
__device__ __forceinline__ void fence_acquire_workgroup() { __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "workgroup"); }
#endif

/* ---------------------------------------------------------------- cross-lane
 * v_mbcnt_lo/hi: the lane's index in its 64-wide wavefront.
 * ds_bpermute_b32: v = the value of lane (byte_index / 4), read through LDS
 * hardware (no LDS allocation); lanes index any lane of the wavefront. */
#if QB_AMD_SIM
__device__ __forceinline__ unsigned mbcnt_lo(unsigned mask, unsigned add) { return ::qbsim::gcn::mbcnt_lo(mask, add); }
__device__ __forceinline__ unsigned mbcnt_hi(unsigned mask, unsigned add) { return ::qbsim::gcn::mbcnt_hi(mask, add); }
__device__ __forceinline__ int ds_bpermute(int byte_index, int v) { return ::qbsim::gcn::ds_bpermute(byte_index, v); }
#else
__device__ __forceinline__ unsigned mbcnt_lo(unsigned mask, unsigned add) { return __builtin_amdgcn_mbcnt_lo(mask, add); }
__device__ __forceinline__ unsigned mbcnt_hi(unsigned mask, unsigned add) { return __builtin_amdgcn_mbcnt_hi(mask, add); }
__device__ __forceinline__ int ds_bpermute(int byte_index, int v) { return __builtin_amdgcn_ds_bpermute(byte_index, v); }
#endif

/* ---------------------------------------------------------------- transcendental
 * v_exp_f32 / v_log_f32 through the compiler's llvm.exp2 / llvm.log2 (one
 * instruction, plus the input/output scaling LLVM adds for denormal results
 * on newer compilers); ~1 ulp. Only attention uses them (its tolerance
 * covers them, docs/FORMATS.md). v_ldexp_f32 is exact. */
__device__ __forceinline__ float exp2_f32(float x) { return __builtin_exp2f(x); }
__device__ __forceinline__ float log2_f32(float x) { return __builtin_log2f(x); }
#if QB_AMD_SIM
__device__ __forceinline__ float ldexp_f32(float x, int e) { return ldexpf(x, e); }
#else
__device__ __forceinline__ float ldexp_f32(float x, int e) { return __builtin_amdgcn_ldexpf(x, e); }
#endif

/* ---------------------------------------------------------------- MFMA, 16x16 forms
 * D = A.B + C for one wavefront. Register layouts (Matrix Instruction
 * Calculator, CDNA2 and CDNA3; lane l, g = l / 16):
 *   A[i][k]: lane 16 * (k / E) + i, element k % E of the lane's operand;
 *   B[k][j]: lane 16 * (k / E) + j, element k % E;
 *   D[i][j]: lane 16 * (i / 4) + j, register i % 4,
 * with E the elements per lane: 4 for f16/bf16 (K = 16) and gfx90a i8
 * (K = 16), 8 for gfx942 i8 / fp8 / bf8 (K = 32). So lane l holds row
 * (l % 16) of A and column (l % 16) of B over the k range [E g, E g + E),
 * and D rows 4 g .. 4 g + 3 of column l % 16. */

#if QB_AMD_SIM
/* the simulator takes registers as 32-bit words (element 0 in the low bits) */
template <class V> __device__ __forceinline__ void sim_words(const V &v, void *w) { __builtin_memcpy(w, &v, sizeof v); }
template <class V> __device__ __forceinline__ V sim_vec(const void *w)
{
    V v;
    __builtin_memcpy(&v, w, sizeof v);
    return v;
}
template <class A, class C>
__device__ __forceinline__ C sim_mfma16(bool bf16, const A &a, const A &b, const C &c)
{
    uint32_t wa[2], wb[2];
    float fc[4], fd[4];
    sim_words(a, wa), sim_words(b, wb), sim_words(c, fc);
    ::qbsim::gcn::mfma_f32_16x16x16(bf16, fd, wa, wb, fc);
    return sim_vec<C>(fd);
}
#endif

/* v_mfma_f32_16x16x16_f16 (gfx90a, gfx942). */
__device__ __forceinline__ f32x4 mfma_f32_16x16x16_f16(f16x4 a, f16x4 b, f32x4 c)
{
#if QB_AMD_SIM
    return sim_mfma16(false, a, b, c);
#else
    return __builtin_amdgcn_mfma_f32_16x16x16f16(a, b, c, 0, 0, 0);
#endif
}
/* v_mfma_f32_16x16x16_bf16 (gfx90a: v_mfma_f32_16x16x16bf16_1k; gfx942). */
__device__ __forceinline__ f32x4 mfma_f32_16x16x16_bf16(i16x4 a, i16x4 b, f32x4 c)
{
#if QB_AMD_SIM
    return sim_mfma16(true, a, b, c);
#else
    return __builtin_amdgcn_mfma_f32_16x16x16bf16_1k(a, b, c, 0, 0, 0);
#endif
}
/* v_mfma_i32_16x16x16_i8 (gfx90a only; 4 bytes per lane, byte e = element e). */
__device__ __forceinline__ i32x4 mfma_i32_16x16x16_i8(int a, int b, i32x4 c)
{
#if QB_AMD_SIM && QB_AMD_HAS_CDNA2_I8
    int32_t ic[4], id[4];
    sim_words(c, ic);
    ::qbsim::gcn::mfma_i32_16x16x16_i8(id, (uint32_t)a, (uint32_t)b, ic);
    return sim_vec<i32x4>(id);
#elif QB_AMD_HAS_CDNA2_I8
    return __builtin_amdgcn_mfma_i32_16x16x16i8(a, b, c, 0, 0, 0);
#else
    QB_AMD_TRAP();
    return c;
#endif
}
/* v_mfma_i32_16x16x32_i8 (gfx942 only; 8 bytes per lane in a 64-bit pair). */
__device__ __forceinline__ i32x4 mfma_i32_16x16x32_i8(long a, long b, i32x4 c)
{
#if QB_AMD_SIM && QB_AMD_HAS_CDNA3
    uint32_t wa[2], wb[2];
    int32_t ic[4], id[4];
    sim_words(a, wa), sim_words(b, wb), sim_words(c, ic);
    ::qbsim::gcn::mfma_i32_16x16x32_i8(id, wa, wb, ic);
    return sim_vec<i32x4>(id);
#elif QB_AMD_HAS_CDNA3
    return __builtin_amdgcn_mfma_i32_16x16x32_i8(a, b, c, 0, 0, 0);
#else
    QB_AMD_TRAP();
    return c;
#endif
}
/* v_mfma_f32_16x16x32_{fp8,bf8}_{fp8,bf8} (gfx942 only): A and B are 8 codes
 * per lane, fp8 = E4M3FNUZ (bias 8), bf8 = E5M2FNUZ (bias 16) on CDNA3. The
 * first type names A, the second B. Products are exact in fp32. */
#define QB_AMD_MFMA_FP8(NAME, BUILTIN, ABF8, BBF8)                                      \
    __device__ __forceinline__ f32x4 NAME(long a, long b, f32x4 c)                      \
    {                                                                                   \
        QB_AMD_MFMA_FP8_BODY(BUILTIN, ABF8, BBF8)                                       \
    }
#if QB_AMD_SIM && QB_AMD_HAS_CDNA3
#define QB_AMD_MFMA_FP8_BODY(BUILTIN, ABF8, BBF8)                                      \
    uint32_t wa[2], wb[2];                                                              \
    float fc[4], fd[4];                                                                 \
    sim_words(a, wa), sim_words(b, wb), sim_words(c, fc);                               \
    ::qbsim::gcn::mfma_f32_16x16x32_f8(ABF8, BBF8, fd, wa, wb, fc);                     \
    return sim_vec<f32x4>(fd);
#elif QB_AMD_HAS_CDNA3
#define QB_AMD_MFMA_FP8_BODY(BUILTIN, ABF8, BBF8) return BUILTIN(a, b, c, 0, 0, 0);
#else
#define QB_AMD_MFMA_FP8_BODY(BUILTIN, ABF8, BBF8) \
    QB_AMD_TRAP();                 \
    return c;
#endif
QB_AMD_MFMA_FP8(mfma_f32_16x16x32_fp8_fp8, __builtin_amdgcn_mfma_f32_16x16x32_fp8_fp8, false, false)
QB_AMD_MFMA_FP8(mfma_f32_16x16x32_fp8_bf8, __builtin_amdgcn_mfma_f32_16x16x32_fp8_bf8, false, true)
QB_AMD_MFMA_FP8(mfma_f32_16x16x32_bf8_fp8, __builtin_amdgcn_mfma_f32_16x16x32_bf8_fp8, true, false)
QB_AMD_MFMA_FP8(mfma_f32_16x16x32_bf8_bf8, __builtin_amdgcn_mfma_f32_16x16x32_bf8_bf8, true, true)
#undef QB_AMD_MFMA_FP8
#undef QB_AMD_MFMA_FP8_BODY

/* ---------------------------------------------------------------- SMFMAC (gfx942)
 * D = A.B + D with A 4:2 structured-sparse (CDNA3 ISA 7.x "sparse matrix
 * fused multiply-accumulate"; Matrix Instruction Calculator layouts):
 *   v_smfmac_f32_16x16x32_{f16,bf16}: A 16x32 held compressed, lane
 *     16 * (k / 8) + i, register (k / 4) % 2 holds the two kept values of
 *     4-group k / 4 (low half first); index register bits
 *     4 * ((k / 4) % 2) .. +3 hold that group's two 2-bit positions (first
 *     kept value in bits 0-1). B 32x16 dense: lane 16 * (k / 8) + j,
 *     element k % 8 (4 registers).
 *   v_smfmac_i32_16x16x64_i8: A 16x64, lane 16 * (k / 16) + i, register
 *     (k / 8) % 2, half (k / 4) % 2 holds the two kept bytes of 4-group
 *     k / 4; index bits 4 * ((k / 4) % 4) .. +3. B 64x16, lane
 *     16 * (k / 16) + j, byte k % 16 (4 registers).
 * D is laid out as for MFMA. The accumulator is read from and written to
 * the destination (the C field carries the index register). */
__device__ __forceinline__ f32x4 smfmac_f32_16x16x32_f16(f16x4 a, f16x8 b, f32x4 d, int idx)
{
#if QB_AMD_DEVICE && QB_AMD_GFX942
    return __builtin_amdgcn_smfmac_f32_16x16x32_f16(a, b, d, idx, 0, 0);
#else
    (void)a, (void)b, (void)idx;
    QB_AMD_TRAP();
    return d;
#endif
}
__device__ __forceinline__ f32x4 smfmac_f32_16x16x32_bf16(i16x4 a, i16x8 b, f32x4 d, int idx)
{
#if QB_AMD_DEVICE && QB_AMD_GFX942
    return __builtin_amdgcn_smfmac_f32_16x16x32_bf16(a, b, d, idx, 0, 0);
#else
    (void)a, (void)b, (void)idx;
    QB_AMD_TRAP();
    return d;
#endif
}
__device__ __forceinline__ i32x4 smfmac_i32_16x16x64_i8(i32x2 a, i32x4 b, i32x4 d, int idx)
{
#if QB_AMD_DEVICE && QB_AMD_GFX942
    return __builtin_amdgcn_smfmac_i32_16x16x64_i8(a, b, d, idx, 0, 0);
#else
    (void)a, (void)b, (void)idx;
    QB_AMD_TRAP();
    return d;
#endif
}

} // namespace amd
} // namespace qb

#endif /* QBLAS_HIP_ISA_H */
