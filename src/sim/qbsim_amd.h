/* qbsim_amd.h - the simulator side of src/hip/hip_isa.h: every AMD
 * instruction wrapper of the HIP kernels, when they run on the simulated
 * gfx90a / gfx942 (QB_HIP_SIM builds, cmake/sim.cmake).
 *
 * Wavefront instructions (MFMA, ds_bpermute) are rendezvous of the 64 lanes
 * of the running thread's wavefront (src/sim/exec.cc): each lane deposits
 * its registers, the last to arrive runs the instruction's twin
 * (src/sim/twins/amd_twins.h, written from AMD's ISA documents) over all of
 * them, and every lane takes its result registers back. An instruction the
 * simulated target lacks is an illegal-instruction fault, as the kernel
 * would trap there. Per-lane instructions (v_mbcnt) are evaluated here. */
#ifndef QBSIM_AMD_H
#define QBSIM_AMD_H

#include <stdint.h>

namespace qbsim {
namespace gcn {

/* ---- launch geometry ---- */
/* s_load from the dispatch_ptr SGPR pair: the launch's HSA dispatch packet */
const uint8_t *dispatch_ptr();

/* ---- synchronisation ---- */
void s_barrier(); /* with the work-group fences of __syncthreads around it (memory ordered) */

/* ---- cross-lane ---- */
uint32_t mbcnt_lo(uint32_t mask, uint32_t add); /* v_mbcnt_lo_u32_b32 */
uint32_t mbcnt_hi(uint32_t mask, uint32_t add); /* v_mbcnt_hi_u32_b32 */
int32_t ds_bpermute(int32_t byte_addr, int32_t v); /* ds_bpermute_b32 */

/* ---- MFMA (registers as 32-bit words, lowest element in the low bits) ---- */
void mfma_f32_16x16x16(bool bf16, float d[4], const uint32_t a[2], const uint32_t b[2], const float c[4]);
void mfma_i32_16x16x16_i8(int32_t d[4], uint32_t a, uint32_t b, const int32_t c[4]);
void mfma_i32_16x16x32_i8(int32_t d[4], const uint32_t a[2], const uint32_t b[2], const int32_t c[4]);
void mfma_f32_16x16x32_f8(bool a_bf8, bool b_bf8, float d[4], const uint32_t a[2], const uint32_t b[2],
                          const float c[4]);

} // namespace gcn
} // namespace qbsim

#endif /* QBSIM_AMD_H */
