/* ptx_exec.cc - the simulator side of every instruction wrapper of
 * src/cuda/cuda_ptx.cuh (declared in qbsim_ptx.h): the architecture the
 * instruction needs, its operands' alignment and address space, the lanes
 * it gathers, when its effects become visible, and the race detector's
 * view of the memory it touches. The arithmetic itself is the twins'
 * (src/sim/twins).
 *
 * Asynchronous instructions complete as late as the PTX ISA allows:
 *   cp.async      the bytes land at the issuing thread's cp.async.wait_group
 *                 that retires their group (the source is read then too);
 *   TMA           the box lands when a thread waits on the mbarrier and the
 *                 phase could otherwise complete (all arrivals are in);
 *   wgmma         operands are read and results written at wgmma.wait_group;
 *                 in between the accumulator registers hold NaN.
 */
#include <stdio.h>
#include <string.h>

#include <cmath>

#include "sim/qbsim_ptx.h"
#include "sim/sim_internal.h"

namespace qbsim {

namespace {

/* The instruction needs compute capability >= cc (x10) and, for sm_90a
 * features, the "a" target. */
void need(int cc, bool sm90a, const char *insn)
{
    if (arch_code() < cc || (sm90a && !device().sm90a))
        fault(cudaErrorIllegalInstruction, "%s needs %s%s; the simulated device is %s", insn,
              cc >= 900 ? "sm_90" : cc >= 890 ? "sm_89" : "sm_80", sm90a ? "a" : "", device().arch);
}

/* Collective operation codes (a warp's lanes must all reach the same one). */
enum Op {
    OP_LDMATRIX = 16,
    OP_LDMATRIX_T,
    OP_MMA_F16,
    OP_MMA_BF16,
    OP_MMA_S8,
    OP_MMA_FP8,
    OP_MMA_SP_F16,
    OP_MMA_SP_BF16,
    OP_MMA_SP_S8,
    OP_MMA_SP_FP8,
    OP_SETMAXNREG,
    OP_WGMMA,
    OP_WGMMA_COMMIT,
    OP_WGMMA_WAIT,
};

/* ---- L2 cache policies: opaque values; cp.async checks it got one ---- */
constexpr uint64_t kPolicyTag = 0x51A0C0DE00000000ull;
uint64_t policy(int kind)
{
    need(800, false, "createpolicy");
    return kPolicyTag | (uint64_t)kind;
}

} // namespace

uint64_t l2_evict_first() { return policy(1); }
uint64_t l2_evict_normal() { return policy(2); }
uint64_t l2_evict_last() { return policy(3); }

/* ---------------------------------------------------------------- cp.async */
namespace {
void cp_async(uint32_t saddr, const void *gmem, int size, int src_bytes, const char *insn)
{
    need(800, false, insn);
    Thread &t = self();
    if (src_bytes < 0 || src_bytes > size)
        fault(cudaErrorIllegalInstruction, "%s: src-size %d outside 0..%d", insn, src_bytes, size);
    if ((uintptr_t)gmem % size)
        fault(cudaErrorMisalignedAddress, "%s: global source %p is not %d-byte aligned", insn, gmem, size);
    (void)smem_ptr(*t.blk, saddr, size, size, insn);
    if (src_bytes) global_read_range(gmem, src_bytes, insn);
    /* From the issue on, the destination is being written: a read by another
     * thread not ordered before the issue (a refill without a barrier after
     * the last reads), or any later access not ordered after it, races. The
     * bytes are written again when they land, as this thread's. */
    smem_write(t, saddr, (uint32_t)size, "cp.async issue (destination in flight)");
    t.cp_open.push_back({saddr, static_cast<const uint8_t *>(gmem), size, src_bytes});
}
} // namespace

void cp_async16(uint32_t saddr, const void *gmem, int src_bytes, uint64_t pol)
{
    if ((pol & 0xFFFFFFFF00000000ull) != kPolicyTag)
        fault(cudaErrorIllegalInstruction, "cp.async: the cache-policy operand 0x%llx was not made by createpolicy",
              (unsigned long long)pol);
    cp_async(saddr, gmem, 16, src_bytes, "cp.async.cg.shared.global 16");
}
void cp_async4(uint32_t saddr, const void *gmem, int src_bytes) { cp_async(saddr, gmem, 4, src_bytes, "cp.async.ca.shared.global 4"); }

void cp_async_commit()
{
    need(800, false, "cp.async.commit_group");
    Thread &t = self();
    t.cp_groups.push_back(std::move(t.cp_open));
    t.cp_open.clear();
}

/* cp.async.wait_group n: every group but the newest n has completed. The
 * bytes land now: the source is read now and the shared memory written now,
 * as this thread's writes. */
void cp_async_wait(int n)
{
    need(800, false, "cp.async.wait_group");
    if (n < 0 || n > 255) fault(cudaErrorIllegalInstruction, "cp.async.wait_group %d", n);
    Thread &t = self();
    Block &b = *t.blk;
    while ((int)t.cp_groups.size() > n) {
        for (const CpAsync &c : t.cp_groups.front()) {
            smem_write(t, c.saddr, (uint32_t)c.bytes, "cp.async data landing");
            uint8_t *dst = b.win + c.saddr;
            memcpy(dst, c.src, (size_t)c.src_bytes);
            memset(dst + c.src_bytes, 0, (size_t)(c.bytes - c.src_bytes));
        }
        t.cp_groups.pop_front();
    }
}

/* ---------------------------------------------------------------- ldmatrix */
namespace {
struct LdmIn {
    uint32_t saddr;
};
void ldmatrix(uint32_t r[4], uint32_t saddr, bool trans)
{
    need(800, false, "ldmatrix");
    LdmIn in = {saddr};
    warp_collective(trans ? OP_LDMATRIX_T : OP_LDMATRIX, 0xFFFFFFFFu, &in, r, [](Block &b, Rendezvous &rv) {
        const uint8_t *rows[32];
        uint32_t out[32][4];
        for (int l = 0; l < 32; ++l) {
            const uint32_t a = static_cast<const LdmIn *>(rv.in[l])->saddr;
            rows[l] = smem_ptr(b, a, 16, 16, "ldmatrix row");
            smem_read(b.th[rv.first + l], a, 16, "ldmatrix row");
        }
        ptx::ldmatrix_x4(out, rows, rv.op == OP_LDMATRIX_T);
        for (int l = 0; l < 32; ++l) memcpy(rv.out[l], out[l], sizeof out[l]);
    });
}
} // namespace

void ldmatrix_x4(uint32_t r[4], uint32_t saddr) { ldmatrix(r, saddr, false); }
void ldmatrix_x4_trans(uint32_t r[4], uint32_t saddr) { ldmatrix(r, saddr, true); }

/* ---------------------------------------------------------------- scalar ALU */
uint32_t lop3(uint32_t a, uint32_t b, uint32_t c, int lut)
{
    if (lut < 0 || lut > 255) fault(cudaErrorIllegalInstruction, "lop3.b32 immLut %d", lut);
    return ptx::lop3_b32(a, b, c, (uint8_t)lut);
}
uint32_t sub_rn_f16x2(uint32_t a, uint32_t b) { return ptx::sub_rn_f16x2(a, b); }
uint32_t mul_rn_f16x2(uint32_t a, uint32_t b) { return ptx::mul_rn_f16x2(a, b); }
uint32_t fma_rn_bf16x2(uint32_t a, uint32_t b, uint32_t c)
{
    need(800, false, "fma.rn.bf16x2");
    return ptx::fma_rn_bf16x2(a, b, c);
}
uint32_t cvt_f16x2_e4m3x2(uint16_t a)
{
    need(890, false, "cvt.rn.f16x2.e4m3x2");
    return ptx::cvt_rn_f16x2_e4m3x2(a);
}

/* ---------------------------------------------------------------- mma.sync */
namespace {
template <class Acc> struct MmaIn {
    const uint32_t *a;
    uint32_t b[4];
    Acc *d;
    uint32_t e;
    int selector;
    ptx::Fp8 ta, tb;
    bool ordered;
};

/* Gather a warp's fragments, run the twin, scatter D. */
template <class Acc, int NB> void mma_collective(int op, MmaIn<Acc> &in, void (*fn)(Block &, Rendezvous &))
{
    (void)NB;
    warp_collective(op, 0xFFFFFFFFu, &in, nullptr, fn);
}

template <class Acc, int NB> struct Frags {
    uint32_t a[32][4], b[32][NB], e[32];
    Acc c[32][4], d[32][4];
    int selector = 0;
    bool ordered = false;
    ptx::Fp8 ta = ptx::Fp8::E4M3, tb = ptx::Fp8::E4M3;
    void gather(const Rendezvous &rv)
    {
        for (int l = 0; l < 32; ++l) {
            const MmaIn<Acc> &in = *static_cast<const MmaIn<Acc> *>(rv.in[l]);
            memcpy(a[l], in.a, sizeof a[l]);
            memcpy(b[l], in.b, sizeof b[l]);
            memcpy(c[l], in.d, sizeof c[l]);
            e[l] = in.e;
            if (l == 0) selector = in.selector, ordered = in.ordered, ta = in.ta, tb = in.tb;
            else if (in.selector != selector || in.ta != ta || in.tb != tb)
                fault(cudaErrorIllegalInstruction, "mma: lanes disagree on the instruction's types or selector");
        }
    }
    void scatter(const Rendezvous &rv)
    {
        for (int l = 0; l < 32; ++l) memcpy(static_cast<const MmaIn<Acc> *>(rv.in[l])->d, d[l], sizeof d[l]);
    }
};
} // namespace

void mma_f16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
    need(800, false, "mma.sync.m16n8k16.f16");
    MmaIn<float> in = {a, {b0, b1, 0, 0}, d, 0, 0, ptx::Fp8::E4M3, ptx::Fp8::E4M3, false};
    mma_collective<float, 2>(OP_MMA_F16, in, [](Block &, Rendezvous &rv) {
        Frags<float, 2> f;
        f.gather(rv);
        ptx::mma_m16n8k16_f32(ptx::F16::F16, f.d, f.a, f.b, f.c);
        f.scatter(rv);
    });
}
void mma_bf16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
    need(800, false, "mma.sync.m16n8k16.bf16");
    MmaIn<float> in = {a, {b0, b1, 0, 0}, d, 0, 0, ptx::Fp8::E4M3, ptx::Fp8::E4M3, false};
    mma_collective<float, 2>(OP_MMA_BF16, in, [](Block &, Rendezvous &rv) {
        Frags<float, 2> f;
        f.gather(rv);
        ptx::mma_m16n8k16_f32(ptx::F16::BF16, f.d, f.a, f.b, f.c);
        f.scatter(rv);
    });
}
void mma_s8(int32_t d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
    need(800, false, "mma.sync.m16n8k32.s8");
    MmaIn<int32_t> in = {a, {b0, b1, 0, 0}, d, 0, 0, ptx::Fp8::E4M3, ptx::Fp8::E4M3, false};
    mma_collective<int32_t, 2>(OP_MMA_S8, in, [](Block &, Rendezvous &rv) {
        Frags<int32_t, 2> f;
        f.gather(rv);
        ptx::mma_m16n8k32_s32_s8(f.d, f.a, f.b, f.c);
        f.scatter(rv);
    });
}
void mma_fp8(ptx::Fp8 ta, ptx::Fp8 tb, float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
    need(890, false, "mma.sync.m16n8k32.e4m3/e5m2");
    MmaIn<float> in = {a, {b0, b1, 0, 0}, d, 0, 0, ta, tb, false};
    mma_collective<float, 2>(OP_MMA_FP8, in, [](Block &, Rendezvous &rv) {
        Frags<float, 2> f;
        f.gather(rv);
        ptx::mma_m16n8k32_f32_fp8(f.ta, f.tb, f.d, f.a, f.b, f.c);
        f.scatter(rv);
    });
}

/* ---------------------------------------------------------------- mma.sp */
namespace {
void check_sp(bool ordered, int selector)
{
    if (selector < 0 || selector > 3) fault(cudaErrorIllegalInstruction, "mma.sp: sparsity selector %d", selector);
    /* sm_90 requires the ::ordered_metadata form (PTX ISA, mma.sp target notes) */
    if (!ordered && arch_code() >= 900)
        fault(cudaErrorIllegalInstruction, "mma.sp without ::ordered_metadata is not supported on sm_90");
}
} // namespace

void mma_sp_f16(bool ordered, float d[4], const uint32_t a[4], const uint32_t b[4], uint32_t e, int selector)
{
    need(800, false, "mma.sp.m16n8k32.f16");
    check_sp(ordered, selector);
    MmaIn<float> in = {a, {b[0], b[1], b[2], b[3]}, d, e, selector, ptx::Fp8::E4M3, ptx::Fp8::E4M3, ordered};
    mma_collective<float, 4>(OP_MMA_SP_F16, in, [](Block &, Rendezvous &rv) {
        Frags<float, 4> f;
        f.gather(rv);
        if (const char *why = ptx::mma_sp_m16n8k32_f32(ptx::F16::F16, f.ordered, f.d, f.a, f.b, f.c, f.e, f.selector))
            fault(cudaErrorIllegalInstruction, "mma.sp.m16n8k32.f16: %s", why);
        f.scatter(rv);
    });
}
void mma_sp_bf16(bool ordered, float d[4], const uint32_t a[4], const uint32_t b[4], uint32_t e, int selector)
{
    need(800, false, "mma.sp.m16n8k32.bf16");
    check_sp(ordered, selector);
    MmaIn<float> in = {a, {b[0], b[1], b[2], b[3]}, d, e, selector, ptx::Fp8::E4M3, ptx::Fp8::E4M3, ordered};
    mma_collective<float, 4>(OP_MMA_SP_BF16, in, [](Block &, Rendezvous &rv) {
        Frags<float, 4> f;
        f.gather(rv);
        if (const char *why = ptx::mma_sp_m16n8k32_f32(ptx::F16::BF16, f.ordered, f.d, f.a, f.b, f.c, f.e, f.selector))
            fault(cudaErrorIllegalInstruction, "mma.sp.m16n8k32.bf16: %s", why);
        f.scatter(rv);
    });
}
void mma_sp_s8(bool ordered, int32_t d[4], const uint32_t a[4], const uint32_t b[4], uint32_t e, int selector)
{
    need(800, false, "mma.sp.m16n8k64.s8");
    check_sp(ordered, selector);
    MmaIn<int32_t> in = {a, {b[0], b[1], b[2], b[3]}, d, e, selector, ptx::Fp8::E4M3, ptx::Fp8::E4M3, ordered};
    mma_collective<int32_t, 4>(OP_MMA_SP_S8, in, [](Block &, Rendezvous &rv) {
        Frags<int32_t, 4> f;
        f.gather(rv);
        if (const char *why = ptx::mma_sp_m16n8k64_s32_s8(f.ordered, f.d, f.a, f.b, f.c, f.e, f.selector))
            fault(cudaErrorIllegalInstruction, "mma.sp.m16n8k64.s8: %s", why);
        f.scatter(rv);
    });
}
void mma_sp_fp8(ptx::Fp8 ta, ptx::Fp8 tb, bool ordered, float d[4], const uint32_t a[4], const uint32_t b[4],
                uint32_t e, int selector)
{
    need(890, false, "mma.sp.m16n8k64.e4m3/e5m2");
    check_sp(ordered, selector);
    MmaIn<float> in = {a, {b[0], b[1], b[2], b[3]}, d, e, selector, ta, tb, ordered};
    mma_collective<float, 4>(OP_MMA_SP_FP8, in, [](Block &, Rendezvous &rv) {
        Frags<float, 4> f;
        f.gather(rv);
        if (const char *why = ptx::mma_sp_m16n8k64_f32_fp8(f.ta, f.tb, f.ordered, f.d, f.a, f.b, f.c, f.e, f.selector))
            fault(cudaErrorIllegalInstruction, "mma.sp.m16n8k64.fp8: %s", why);
        f.scatter(rv);
    });
}

/* ---------------------------------------------------------------- mbarrier */
namespace {
Mbarrier &mbar(uint32_t bar, const char *insn)
{
    Thread &t = self();
    Block &b = *t.blk;
    auto it = b.mbars.find(bar);
    if (it == b.mbars.end())
        fault(cudaErrorIllegalInstruction, "%s on shared address 0x%x, which holds no initialized mbarrier", insn, bar);
    /* its initialization must be visible to this thread: a barrier after mbarrier.init */
    const Block::Cell &c = shadow_cell(b, bar);
    if (c.wt != t.tid && c.wt < b.nvc && t.vc[c.wt] < c.wc)
        fault(cudaErrorLaunchFailure, "%s on mbarrier 0x%x before its initialization by thread %d is visible to this "
                                      "thread (no barrier between mbarrier.init and this use)",
              insn, bar, c.wt);
    return it->second;
}

void wake_waiters(Block &b, uint32_t bar)
{
    for (Thread &w : b.th)
        if (w.state == St::Mbar && w.wait_bar == bar) wake(w);
}

void complete_phase(Block &b, uint32_t bar, Mbarrier &m)
{
    m.vc_done[m.phase & 1] = m.vc_pending;
    m.vc_pending.assign(b.nvc, 0);
    m.phase++;
    m.pending = m.expected;
    m.tx = 0;
    b.progress++;
    wake_waiters(b, bar);
}

/* Land the TMA copies of barrier m: the bytes arrive, the transaction count drops. */
void land_tma(Block &b, Mbarrier &m)
{
    const uint32_t clock = ++m.async_clock; /* the clock of this landing */
    for (Mbarrier::Tma &op : m.tma) {
        const uint32_t bytes = ptx::tensor_map_box_bytes(op.map);
        smem_write_async(b, m.slot, op.vc.data(), clock, op.dst, bytes, "TMA tile landing");
        if (const char *why = ptx::tma_load_tile_2d(op.map, op.c0, op.c1, b.win + op.dst, op.dst))
            fault(cudaErrorIllegalInstruction, "cp.async.bulk.tensor: %s", why);
        m.tx -= bytes;
    }
    m.tma.clear();
    m.vc_pending[b.nthreads + m.slot] = clock;
}

void arrive(uint32_t bar, uint32_t tx_bytes, const char *insn)
{
    Thread &t = self();
    Block &b = *t.blk;
    Mbarrier &m = mbar(bar, insn);
    if (m.pending == 0)
        fault(cudaErrorIllegalInstruction, "%s on mbarrier 0x%x: more arrivals than its count %u in one phase", insn, bar,
              m.expected);
    m.tx += tx_bytes;
    vc_release_join(t, m.vc_pending);
    m.pending--;
    b.progress++;
    if (m.pending == 0) {
        if (m.tx == 0 && m.tma.empty())
            complete_phase(b, bar, m);
        else
            wake_waiters(b, bar); /* they land the copies and complete it */
    }
}
} // namespace

void mbar_init(uint32_t bar, uint32_t count)
{
    need(800, false, "mbarrier.init");
    Thread &t = self();
    Block &b = *t.blk;
    if (count < 1 || count > (1u << 20) - 1)
        fault(cudaErrorIllegalInstruction, "mbarrier.init count %u outside 1..2^20-1", count);
    (void)smem_ptr(b, bar, 8, 8, "mbarrier.init");
    b.mbars.erase(bar);
    smem_write(t, bar, 8, "mbarrier.init");
    if (b.mbar_slots >= b.nvc - b.nthreads)
        fault(cudaErrorLaunchOutOfResources, "more than %d mbarriers in one block", b.nvc - b.nthreads);
    Mbarrier &m = b.mbars[bar];
    m.expected = m.pending = count;
    m.slot = b.mbar_slots++;
    m.vc_pending.assign(b.nvc, 0);
    m.vc_done[0].assign(b.nvc, 0);
    m.vc_done[1].assign(b.nvc, 0);
}

void mbar_arrive(uint32_t bar)
{
    need(800, false, "mbarrier.arrive");
    arrive(bar, 0, "mbarrier.arrive");
}

void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes)
{
    need(900, false, "mbarrier.arrive.expect_tx");
    if (bytes > (1u << 20) - 1) fault(cudaErrorIllegalInstruction, "mbarrier.expect_tx of %u bytes", bytes);
    arrive(bar, bytes, "mbarrier.arrive.expect_tx");
}

/* try_wait.parity P: true once the phase of parity P (the current phase's
 * predecessor when the current parity differs) has completed. Blocks while
 * it has not (the ISA lets try_wait suspend); returns false now and then
 * anyway (its time limit), so callers must loop. */
uint32_t mbar_try_wait(uint32_t bar, uint32_t parity)
{
    need(900, false, "mbarrier.try_wait.parity");
    Thread &t = self();
    Block &b = *t.blk;
    if (parity > 1) fault(cudaErrorIllegalInstruction, "mbarrier.try_wait.parity with parity %u", parity);
    if (b.rng() % 8 == 0) return 0; /* a spurious time-out */
    for (;;) {
        Mbarrier &m = mbar(bar, "mbarrier.try_wait.parity");
        if ((m.phase & 1) != parity) {
            vc_acquire(t, m.vc_done[parity]);
            return 1;
        }
        if (m.pending == 0 && !m.tma.empty()) { /* the phase waits only for its copies: they land now */
            land_tma(b, m);
            if (m.tx == 0) {
                complete_phase(b, bar, m);
                continue;
            }
        }
        if (m.pending == 0 && m.tx < 0)
            fault(cudaErrorIllegalInstruction, "mbarrier 0x%x: more bytes completed than expect_tx announced", bar);
        t.wait_bar = bar, t.wait_phase = m.phase;
        yield(St::Mbar);
    }
}

void fence_mbarrier_init() { need(900, false, "fence.mbarrier_init.release.cluster"); }
void fence_proxy_async_shared() { need(900, false, "fence.proxy.async.shared::cta"); }

/* ---------------------------------------------------------------- TMA */
void tma_load_2d(uint32_t dst, const void *map, uint32_t bar, int32_t c0, int32_t c1)
{
    need(900, false, "cp.async.bulk.tensor.2d");
    Thread &t = self();
    Block &b = *t.blk;
    ptx::TensorMapParams p;
    if (const char *why = ptx::tensor_map_decode(map, p))
        fault(cudaErrorIllegalInstruction, "cp.async.bulk.tensor: the tensor map: %s", why);
    if (p.rank != 2) fault(cudaErrorIllegalInstruction, "cp.async.bulk.tensor.2d with a rank-%u tensor map", p.rank);
    const uint32_t bytes = ptx::tensor_map_box_bytes(p);
    (void)smem_ptr(b, dst, bytes, 128, "cp.async.bulk.tensor destination");
    Mbarrier &m = mbar(bar, "cp.async.bulk.tensor (its mbarrier)");
    /* the part of the box inside the tensor must be readable device memory */
    const uint64_t esz = p.box_dim[0] ? ptx::tensor_map_box_bytes(p) / ((uint64_t)p.box_dim[0] * p.box_dim[1]) : 1;
    const int64_t r0 = c1 < 0 ? 0 : c1, r1 = std::min<int64_t>((int64_t)c1 + p.box_dim[1], (int64_t)p.global_dim[1]);
    const int64_t k0 = c0 < 0 ? 0 : c0, k1 = std::min<int64_t>((int64_t)c0 + p.box_dim[0], (int64_t)p.global_dim[0]);
    if (r0 < r1 && k0 < k1) {
        const uint8_t *g = static_cast<const uint8_t *>(p.global_address);
        global_read_range(g + (uint64_t)r0 * p.global_strides[0] + (uint64_t)k0 * esz,
                          (uint64_t)(r1 - 1 - r0) * p.global_strides[0] + (uint64_t)(k1 - k0) * esz,
                          "cp.async.bulk.tensor (source box)");
    }
    Mbarrier::Tma op;
    op.map = p, op.c0 = c0, op.c1 = c1, op.dst = dst;
    op.vc.assign(t.vc, t.vc + b.nvc);
    m.tma.push_back(std::move(op));
}

void tma_prefetch_desc(const void *map)
{
    need(900, false, "prefetch.tensormap");
    ptx::TensorMapParams p;
    if (const char *why = ptx::tensor_map_decode(map, p))
        fault(cudaErrorIllegalInstruction, "prefetch.tensormap: %s", why);
}

/* ---------------------------------------------------------------- sm_90a: setmaxnreg, wgmma */
void setmaxnreg(bool inc, int n)
{
    need(900, true, inc ? "setmaxnreg.inc" : "setmaxnreg.dec");
    if (n < 24 || n > 256 || n % 8)
        fault(cudaErrorIllegalInstruction, "setmaxnreg %d: must be a multiple of 8 in 24..256", n);
    int arg = inc ? n : -n;
    warpgroup_collective(OP_SETMAXNREG, &arg, nullptr, [](Block &, Rendezvous &rv) {
        for (int i = 1; i < 128; ++i)
            if (*static_cast<const int *>(rv.in[i]) != *static_cast<const int *>(rv.in[0]))
                fault(cudaErrorIllegalInstruction, "setmaxnreg: the warpgroup's threads disagree on the count");
    });
}

void wgmma_fence() { need(900, true, "wgmma.fence"); }
void fence_acc(float (&)[64]) {}

namespace {
struct WgIn {
    float *d;
    uint64_t da, db;
    uint32_t scale_d;
    ptx::Fp8 ta, tb;
};

Warpgroup &my_wg(Block &b, const Rendezvous &rv) { return b.wg[rv.first / 128]; }

/* Complete one wgmma: read its operands now, as each warp's reads, and
 * write the accumulators. */
void complete_wgmma(Block &b, int first, WgmmaOp &op)
{
    const ptx::SmemDesc da = ptx::smem_desc_decode(op.da), db = ptx::smem_desc_decode(op.db);
    for (int w = 0; w < 4; ++w) {
        Thread &reader = b.th[first + 32 * w];
        for (int r = 16 * w; r < 16 * w + 16; ++r)
            for (int k = 0; k < 32; ++k) {
                const uint32_t a = ptx::smem_desc_kmajor_addr(da, r, k);
                (void)smem_ptr(b, a, 1, 1, "wgmma A operand");
                smem_read(reader, a, 1, "wgmma A operand");
            }
        for (int r = 0; r < 128; ++r)
            for (int k = 0; k < 32; ++k) {
                const uint32_t a = ptx::smem_desc_kmajor_addr(db, r, k);
                (void)smem_ptr(b, a, 1, 1, "wgmma B operand");
                smem_read(reader, a, 1, "wgmma B operand");
            }
    }
    static float acc[128][64];
    for (int t = 0; t < 128; ++t)
        for (int i = 0; i < 64; ++i) acc[t][i] = op.has_input ? op.input[(size_t)t * 64 + i] : op.d[t][i];
    const ptx::SmemReader smem = {b.win, b.win_size};
    if (const char *why = ptx::wgmma_m64n128k32_f32_fp8(op.ta, op.tb, acc, op.da, op.db, op.scale_d, smem))
        fault(cudaErrorIllegalInstruction, "wgmma.mma_async: %s", why);
    for (int t = 0; t < 128; ++t) memcpy(op.d[t], acc[t], sizeof acc[t]);
}
} // namespace

void wgmma_m64n128k32(ptx::Fp8 ta, ptx::Fp8 tb, float (&d)[64], uint64_t desc_a, uint64_t desc_b, uint32_t scale_d)
{
    need(900, true, "wgmma.mma_async");
    WgIn in = {d, desc_a, desc_b, scale_d, ta, tb};
    warpgroup_collective(OP_WGMMA, &in, nullptr, [](Block &b, Rendezvous &rv) {
        const WgIn &w0 = *static_cast<const WgIn *>(rv.in[0]);
        Warpgroup &wg = my_wg(b, rv);
        WgmmaOp op;
        op.ta = w0.ta, op.tb = w0.tb, op.da = w0.da, op.db = w0.db, op.scale_d = w0.scale_d != 0;
        for (int i = 0; i < 128; ++i) {
            const WgIn &w = *static_cast<const WgIn *>(rv.in[i]);
            if (w.da != w0.da || w.db != w0.db || (w.scale_d != 0) != op.scale_d || w.ta != w0.ta || w.tb != w0.tb)
                fault(cudaErrorIllegalInstruction, "wgmma.mma_async: the warpgroup's threads disagree on its "
                                                   "descriptors or scale-d (thread %d)",
                      i);
            op.d[i] = w.d;
        }
        /* the accumulators' current values are the input, unless an
         * earlier wgmma still in flight writes them: it feeds this one */
        bool chained = false;
        for (const WgmmaOp &o : wg.open) chained |= o.d[0] == op.d[0];
        for (const auto &g : wg.groups)
            for (const WgmmaOp &o : g) chained |= o.d[0] == op.d[0];
        op.has_input = !chained;
        if (op.has_input) {
            op.input.resize(128 * 64);
            for (int i = 0; i < 128; ++i) memcpy(&op.input[(size_t)i * 64], op.d[i], 64 * sizeof(float));
        }
        /* until wgmma.wait_group the registers are the instruction's: NaN */
        for (int i = 0; i < 128; ++i)
            for (int j = 0; j < 64; ++j) op.d[i][j] = std::nanf("");
        wg.open.push_back(std::move(op));
    });
}

void wgmma_commit()
{
    need(900, true, "wgmma.commit_group");
    warpgroup_collective(OP_WGMMA_COMMIT, nullptr, nullptr, [](Block &b, Rendezvous &rv) {
        Warpgroup &wg = my_wg(b, rv);
        wg.groups.push_back(std::move(wg.open));
        wg.open.clear();
    });
}

void wgmma_wait0()
{
    need(900, true, "wgmma.wait_group");
    warpgroup_collective(OP_WGMMA_WAIT, nullptr, nullptr, [](Block &b, Rendezvous &rv) {
        Warpgroup &wg = my_wg(b, rv);
        while (!wg.groups.empty()) {
            for (WgmmaOp &op : wg.groups.front()) complete_wgmma(b, rv.first, op);
            wg.groups.pop_front();
        }
    });
}

} // namespace qbsim
