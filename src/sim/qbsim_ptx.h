/* qbsim_ptx.h - what the CUDA kernel sources call when the simulator
 * compiles them (QBLAS_CUDA_SIM): the twin of every inline-assembly wrapper
 * of src/cuda/cuda_ptx.cuh (same name, same operands; template parameters
 * that pick the instruction are arguments here). (The hooks of
 * src/cuda/qb_vendor.cuh's macros are qbsim_device.h's and qbsim_launch.h's.)
 *
 * Each function is called by one simulated thread with that thread's
 * registers, as the asm receives them; the collective instructions (mma,
 * ldmatrix, wgmma, setmaxnreg, ...) gather the lanes of the warp (warpgroup)
 * before they compute (src/sim/twins/ptx_twins.h). Shared-memory operands
 * are 32-bit shared-window addresses (what __cvta_generic_to_shared gives),
 * as in the asm.
 */
#ifndef QBSIM_PTX_H
#define QBSIM_PTX_H

#include <stdint.h>

#include "twins/ptx_twins.h" /* qbsim::ptx::Fp8 */

namespace qbsim {

/* ---------------------------------------------------------------- sm_80 */

uint64_t l2_evict_first();  /* createpolicy.fractional.L2::evict_first.b64 d, 1.0 */
uint64_t l2_evict_normal(); /* createpolicy.fractional.L2::evict_normal.b64 d, 1.0 */
uint64_t l2_evict_last();   /* createpolicy.fractional.L2::evict_last.b64 d, 1.0 */

/* cp.async.cg.shared.global.L2::cache_hint [saddr], [gmem], 16, src_bytes, pol */
void cp_async16(uint32_t saddr, const void *gmem, int src_bytes, uint64_t pol);
/* cp.async.ca.shared.global [saddr], [gmem], 4, src_bytes */
void cp_async4(uint32_t saddr, const void *gmem, int src_bytes);
void cp_async_commit();   /* cp.async.commit_group */
void cp_async_wait(int n); /* cp.async.wait_group n */

void ldmatrix_x4(uint32_t r[4], uint32_t saddr);       /* ldmatrix.sync.aligned.m8n8.x4.shared.b16 */
void ldmatrix_x4_trans(uint32_t r[4], uint32_t saddr); /* ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 */

uint32_t lop3(uint32_t a, uint32_t b, uint32_t c, int lut); /* lop3.b32 d, a, b, c, lut */
uint32_t sub_rn_f16x2(uint32_t a, uint32_t b);               /* sub.rn.f16x2 */
uint32_t mul_rn_f16x2(uint32_t a, uint32_t b);               /* mul.rn.f16x2 */
uint32_t fma_rn_bf16x2(uint32_t a, uint32_t b, uint32_t c);  /* fma.rn.bf16x2 */

/* mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 (C = D) */
void mma_f16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1);
/* mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (C = D) */
void mma_bf16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1);
/* mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 (C = D) */
void mma_s8(int32_t d[4], const uint32_t a[4], uint32_t b0, uint32_t b1);

/* mma.sp[::ordered_metadata].sync.aligned.m16n8k32.row.col.f32.f16.f16.f32 (C = D), metadata e, selector */
void mma_sp_f16(bool ordered, float d[4], const uint32_t a[4], const uint32_t b[4], uint32_t e, int selector);
/* mma.sp[::ordered_metadata].sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32 (C = D), metadata e, selector */
void mma_sp_bf16(bool ordered, float d[4], const uint32_t a[4], const uint32_t b[4], uint32_t e, int selector);
/* mma.sp[::ordered_metadata].sync.aligned.m16n8k64.row.col.s32.s8.s8.s32 (C = D), metadata e, selector */
void mma_sp_s8(bool ordered, int32_t d[4], const uint32_t a[4], const uint32_t b[4], uint32_t e, int selector);

/* mbarrier.init.shared::cta.b64 [bar], count */
void mbar_init(uint32_t bar, uint32_t count);
/* mbarrier.arrive.shared::cta.b64 _, [bar] */
void mbar_arrive(uint32_t bar);

/* ---------------------------------------------------------------- sm_89 */

/* cvt.rn.f16x2.e4m3x2 d, a */
uint32_t cvt_f16x2_e4m3x2(uint16_t a);
/* mma.sync.aligned.m16n8k32.row.col.f32.<ta>.<tb>.f32 (C = D) */
void mma_fp8(ptx::Fp8 ta, ptx::Fp8 tb, float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1);
/* mma.sp[::ordered_metadata].sync.aligned.m16n8k64.row.col.f32.<ta>.<tb>.f32 (C = D), metadata e, selector */
void mma_sp_fp8(ptx::Fp8 ta, ptx::Fp8 tb, bool ordered, float d[4], const uint32_t a[4], const uint32_t b[4],
                uint32_t e, int selector);

/* ---------------------------------------------------------------- sm_90 / sm_90a */

/* mbarrier.try_wait.parity.shared::cta.b64 p, [bar], parity: 1 if that phase has completed */
uint32_t mbar_try_wait(uint32_t bar, uint32_t parity);
/* mbarrier.arrive.expect_tx.shared::cta.b64 _, [bar], bytes */
void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes);
void fence_mbarrier_init();      /* fence.mbarrier_init.release.cluster */
void fence_proxy_async_shared(); /* fence.proxy.async.shared::cta */
/* cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [dst], [map, {c0, c1}], [bar]
 * (map: the kernel's CUtensorMap parameter) */
void tma_load_2d(uint32_t dst, const void *map, uint32_t bar, int32_t c0, int32_t c1);
/* prefetch.tensormap [map] */
void tma_prefetch_desc(const void *map);
/* setmaxnreg.inc.sync.aligned.u32 n (inc) / setmaxnreg.dec.sync.aligned.u32 n */
void setmaxnreg(bool inc, int n);
void wgmma_fence();  /* wgmma.fence.sync.aligned */
void wgmma_commit(); /* wgmma.commit_group.sync.aligned */
void wgmma_wait0();  /* wgmma.wait_group.sync.aligned 0 */
/* asm volatile("" : "+f"(d[i]) :: "memory") for the 64 accumulators: a compiler fence, no instruction */
void fence_acc(float (&d)[64]);
/* wgmma.mma_async.sync.aligned.m64n128k32.f32.<ta>.<tb> d, desc_a, desc_b, scale-d (scale_d != 0), 1, 1 */
void wgmma_m64n128k32(ptx::Fp8 ta, ptx::Fp8 tb, float (&d)[64], uint64_t desc_a, uint64_t desc_b, uint32_t scale_d);

} // namespace qbsim

#endif /* QBSIM_PTX_H */
