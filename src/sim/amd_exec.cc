/* amd_exec.cc - the AMD instructions of src/hip/hip_isa.h on the simulated
 * gfx90a / gfx942 (declared in qbsim_amd.h): wavefront rendezvous around the
 * twins of src/sim/twins/amd_twins.h, the per-lane v_mbcnt, the barrier and
 * the dispatch packet.
 *
 * Every lane of a wavefront must reach a wavefront instruction together
 * (EXEC all ones): the kernels issue MFMA and ds_bpermute in uniform control
 * flow, and the rendezvous reports a lane that went elsewhere or exited. */
#include <string.h>

#include "sim/qbsim_amd.h"
#include "sim/sim_internal.h"
#include "sim/twins/amd_twins.h"

namespace qbsim {
void syncthreads(); /* exec.cc: __syncthreads' barrier and memory ordering */

namespace gcn {
namespace {

/* Wavefront operation codes (every lane must reach the same one). */
enum Op { OP_BPERMUTE = 64, OP_MFMA_F16, OP_MFMA_BF16, OP_MFMA_I8_K16, OP_MFMA_I8_K32, OP_MFMA_F8 };

bool cdna3() { return strcmp(device().arch, "gfx942") == 0; }

/* The instruction exists on the simulated target (else the hardware would
 * not decode it: an illegal instruction). */
void need(bool ok, const char *insn)
{
    if (!device().amd)
        fault(cudaErrorIllegalInstruction, "%s: an AMD instruction on %s", insn, device().arch);
    if (!ok) fault(cudaErrorIllegalInstruction, "%s does not exist on %s", insn, device().arch);
}

/* One lane's operands: up to two A / B words, four accumulators (f32 or i32
 * bits), where D goes, and the operand types. */
struct MfmaIn {
    uint32_t a[2], b[2], c[4];
    uint32_t *d;
    int ta, tb;
};

template <class Acc> struct WaveRegs {
    uint32_t a[amd::kWave][2], b[amd::kWave][2], a1[amd::kWave], b1[amd::kWave];
    Acc c[amd::kWave][4], d[amd::kWave][4];
    int ta = 0, tb = 0;
    void gather(const Rendezvous &rv)
    {
        if (rv.count != amd::kWave)
            fault(cudaErrorIllegalInstruction, "MFMA in a partial wavefront (%d lanes): its missing lanes' "
                                               "registers are undefined", rv.count);
        for (int l = 0; l < amd::kWave; ++l) {
            const MfmaIn &in = *static_cast<const MfmaIn *>(rv.in[l]);
            memcpy(a[l], in.a, sizeof a[l]), memcpy(b[l], in.b, sizeof b[l]);
            a1[l] = in.a[0], b1[l] = in.b[0];
            memcpy(c[l], in.c, sizeof c[l]);
            if (l == 0) ta = in.ta, tb = in.tb;
            else if (in.ta != ta || in.tb != tb)
                fault(cudaErrorIllegalInstruction, "MFMA: lanes disagree on the operand types");
        }
    }
    void scatter(const Rendezvous &rv)
    {
        for (int l = 0; l < amd::kWave; ++l) memcpy(static_cast<const MfmaIn *>(rv.in[l])->d, d[l], sizeof d[l]);
    }
};

void mfma(int op, MfmaIn &in, void (*fn)(Block &, Rendezvous &)) { wave_collective(op, &in, nullptr, fn); }

} // namespace

const uint8_t *dispatch_ptr()
{
    need(true, "s_load (dispatch_ptr)");
    return self().blk->L->hsa_packet;
}

void s_barrier()
{
    need(true, "s_barrier");
    ::qbsim::syncthreads();
}

/* CDNA3 ISA, VOP3 "V_MBCNT_LO_U32_B32: D = S1 + popcount(S0 & ThreadMask[31:0])",
 * "V_MBCNT_HI_U32_B32: D = S1 + popcount(S0 & ThreadMask[63:32])", ThreadMask
 * the bits of the lanes below the executing one. */
uint32_t mbcnt_lo(uint32_t mask, uint32_t add)
{
    need(true, "v_mbcnt_lo_u32_b32");
    const int lane = self().lane;
    const uint32_t below = lane >= 32 ? 0xFFFFFFFFu : (1u << lane) - 1u;
    return add + (uint32_t)__builtin_popcount(mask & below);
}
uint32_t mbcnt_hi(uint32_t mask, uint32_t add)
{
    need(true, "v_mbcnt_hi_u32_b32");
    const int lane = self().lane;
    const uint32_t below = lane < 32 ? 0u : (1u << (lane - 32)) - 1u;
    return add + (uint32_t)__builtin_popcount(mask & below);
}

int32_t ds_bpermute(int32_t byte_addr, int32_t v)
{
    need(true, "ds_bpermute_b32");
    struct In { uint32_t addr, v; } in = {(uint32_t)byte_addr, (uint32_t)v};
    uint32_t out = 0;
    wave_collective(OP_BPERMUTE, &in, &out, [](Block &, Rendezvous &rv) {
        uint32_t addr[amd::kWave] = {}, data[amd::kWave] = {}, res[amd::kWave] = {};
        const uint64_t exec = rv.count == amd::kWave ? ~0ull : (1ull << rv.count) - 1;
        for (int l = 0; l < rv.count; ++l) {
            addr[l] = static_cast<const In *>(rv.in[l])->addr;
            data[l] = static_cast<const In *>(rv.in[l])->v;
        }
        amd::ds_bpermute_b32(res, addr, data, exec);
        for (int l = 0; l < rv.count; ++l) *static_cast<uint32_t *>(rv.out[l]) = res[l];
    });
    return (int32_t)out;
}

void mfma_f32_16x16x16(bool bf16, float d[4], const uint32_t a[2], const uint32_t b[2], const float c[4])
{
    need(true, bf16 ? "v_mfma_f32_16x16x16bf16_1k" : "v_mfma_f32_16x16x16f16");
    MfmaIn in = {{a[0], a[1]}, {b[0], b[1]}, {}, reinterpret_cast<uint32_t *>(d), bf16, bf16};
    memcpy(in.c, c, sizeof in.c);
    mfma(bf16 ? OP_MFMA_BF16 : OP_MFMA_F16, in, [](Block &, Rendezvous &rv) {
        static thread_local WaveRegs<float> r;
        r.gather(rv);
        amd::mfma_f32_16x16x16(r.ta ? amd::F16::BF16 : amd::F16::F16, r.d, r.a, r.b, r.c);
        r.scatter(rv);
    });
}

void mfma_i32_16x16x16_i8(int32_t d[4], uint32_t a, uint32_t b, const int32_t c[4])
{
    need(!cdna3(), "v_mfma_i32_16x16x16i8"); /* CDNA3 dropped it for 16x16x32 */
    MfmaIn in = {{a, 0}, {b, 0}, {}, reinterpret_cast<uint32_t *>(d), 0, 0};
    memcpy(in.c, c, sizeof in.c);
    mfma(OP_MFMA_I8_K16, in, [](Block &, Rendezvous &rv) {
        static thread_local WaveRegs<int32_t> r;
        r.gather(rv);
        amd::mfma_i32_16x16x16_i8(r.d, r.a1, r.b1, r.c);
        r.scatter(rv);
    });
}

void mfma_i32_16x16x32_i8(int32_t d[4], const uint32_t a[2], const uint32_t b[2], const int32_t c[4])
{
    need(cdna3(), "v_mfma_i32_16x16x32_i8");
    MfmaIn in = {{a[0], a[1]}, {b[0], b[1]}, {}, reinterpret_cast<uint32_t *>(d), 0, 0};
    memcpy(in.c, c, sizeof in.c);
    mfma(OP_MFMA_I8_K32, in, [](Block &, Rendezvous &rv) {
        static thread_local WaveRegs<int32_t> r;
        r.gather(rv);
        amd::mfma_i32_16x16x32_i8(r.d, r.a, r.b, r.c);
        r.scatter(rv);
    });
}

void mfma_f32_16x16x32_f8(bool a_bf8, bool b_bf8, float d[4], const uint32_t a[2], const uint32_t b[2],
                          const float c[4])
{
    need(cdna3(), "v_mfma_f32_16x16x32_{fp8,bf8}_{fp8,bf8}");
    MfmaIn in = {{a[0], a[1]}, {b[0], b[1]}, {}, reinterpret_cast<uint32_t *>(d), a_bf8, b_bf8};
    memcpy(in.c, c, sizeof in.c);
    mfma(OP_MFMA_F8, in, [](Block &, Rendezvous &rv) {
        static thread_local WaveRegs<float> r;
        r.gather(rv);
        amd::mfma_f32_16x16x32_f8(r.ta ? amd::F8::BF8 : amd::F8::FP8, r.tb ? amd::F8::BF8 : amd::F8::FP8, r.d, r.a,
                                  r.b, r.c);
        r.scatter(rv);
    });
}

} // namespace gcn
} // namespace qbsim
