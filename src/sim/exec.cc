/* exec.cc - how the simulated device executes a launch: blocks one after
 * another in a shuffled order, every GPU thread of a block a fiber
 * (Boost.Context's fcontext), a scheduler that resumes a random runnable
 * fiber whenever the running one waits, real barriers and warp(group)
 * rendezvous, and the shared-memory window each block sees.
 *
 * Hostile by design (docs/SIM.md): the window starts filled with 0xFF
 * (NaN in every float format), dynamic shared memory is placed with exactly
 * the alignment the kernel declared and no more, the next fiber is drawn at
 * random at every wait, and a block that cannot make progress is reported
 * as a deadlock with every thread's state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <algorithm>

#include <boost/context/detail/fcontext.hpp>

#include "sim/sim_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define QBSIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QBSIM_ASAN 1
#endif
#endif
#ifdef QBSIM_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace bc = boost::context::detail;

namespace qbsim {

thread_local Thread *t_cur;
void release_barrier(Block &b);

namespace {

/* ---- fiber stacks: a pool, each with a guard page below ---- */
constexpr size_t kStack = 512 * 1024, kGuard = 4096;
std::vector<uint8_t *> g_stacks;

uint8_t *stack_get()
{
    if (!g_stacks.empty()) {
        uint8_t *s = g_stacks.back();
        g_stacks.pop_back();
        return s;
    }
    void *m = mmap(nullptr, kStack + kGuard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        fprintf(stderr, "qbsim: out of memory for fiber stacks\n");
        abort();
    }
    mprotect(m, kGuard, PROT_NONE);
    return static_cast<uint8_t *>(m) + kGuard;
}

void stack_put(uint8_t *s, bool unwound)
{
#ifdef QBSIM_ASAN
    /* a fiber abandoned mid-kernel leaves its frames' redzones poisoned */
    if (!unwound) ASAN_UNPOISON_MEMORY_REGION(s, kStack);
#else
    (void)unwound;
#endif
    g_stacks.push_back(s);
}

/* The scheduler's own stack, as AddressSanitizer needs it for each switch back. */
[[maybe_unused]] thread_local const void *g_sched_bottom;
[[maybe_unused]] thread_local size_t g_sched_size;

void fiber_main(bc::transfer_t tr)
{
    Thread *t = static_cast<Thread *>(tr.data);
    t->blk->sched_ctx = tr.fctx;
#ifdef QBSIM_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &g_sched_bottom, &g_sched_size);
#endif
    t->blk->L->entry(t->blk->L->args.get());
    /* the kernel returned: this thread has exited */
    Block &b = *t->blk;
    t->state = St::Exited;
    t->unwound = true;
    b.alive--;
    b.progress++;
    t->cp_open.clear();
    t->cp_groups.clear(); /* copies never waited for are dropped: nobody may read them */
    const Rendezvous &wr = b.warp_rv[t->warp], &gr = b.wg_rv[t->tid / 128];
    if (wr.op >= 0 && ((wr.expect[0] >> t->lane) & 1)) /* a member lane (warp: its mask; wavefront: all) */
        fault(cudaErrorIllegalInstruction, "a lane exited while its warp (wavefront) waits for it in a collective instruction");
    if (gr.op >= 0)
        fault(cudaErrorIllegalInstruction, "a thread exited while its warpgroup waits for it in a warpgroup instruction");
    if (!b.bar_wait.empty() && (int)b.bar_wait.size() == b.alive) {
        /* the others wait at __syncthreads for this thread, which exited:
         * exited threads count as arrived (bar.sync on sm_70+) */
        release_barrier(b);
    }
#ifdef QBSIM_ASAN
    __sanitizer_start_switch_fiber(nullptr, g_sched_bottom, g_sched_size);
#endif
    bc::jump_fcontext(b.sched_ctx, nullptr);
    abort(); /* an exited fiber is never resumed */
}

} // namespace

void yield(St state)
{
    Thread &t = self();
    t.state = state;
#ifdef QBSIM_ASAN
    __sanitizer_start_switch_fiber(&t.asan_fake, g_sched_bottom, g_sched_size);
#endif
    bc::transfer_t r = bc::jump_fcontext(t.blk->sched_ctx, nullptr);
#ifdef QBSIM_ASAN
    __sanitizer_finish_switch_fiber(t.asan_fake, &g_sched_bottom, &g_sched_size);
#endif
    t.blk->sched_ctx = r.fctx;
    t_cur = &t;
}

namespace {
thread_local std::vector<int> *g_ready;
}

void wake(Thread &t)
{
    t.state = St::Ready;
    g_ready->push_back(t.tid);
    t.blk->progress++;
}

const char *thread_name(const Thread &t, char *buf, size_t n)
{
    const Block &b = *t.blk;
    snprintf(buf, n, "block (%u,%u,%u) thread %d (warp %d lane %d)", b.idx.x, b.idx.y, b.idx.z, t.tid, t.warp, t.lane);
    return buf;
}

/* ---- the block's built-in variables ---- */
uint3 thread_idx() { return self().idx; }
uint3 block_idx() { return self().blk->idx; }
dim3 block_dim() { return self().blk->L->block; }
dim3 grid_dim() { return self().blk->L->grid; }
int arch() { return arch_code(); }
bool arch_sm90a() { return device().sm90a; }

/* ---- __syncthreads ---- */
void release_barrier(Block &b)
{
    /* every participant's view becomes the join of all of them, then each
     * one's own clock ticks: accesses before the barrier are ordered before
     * every access after it */
    vc_ready(b);
    std::vector<uint32_t> j(b.nvc, 0);
    for (int tid : b.bar_wait) vc_release_join(b.th[tid], j);
    for (int tid : b.bar_wait) {
        Thread &t = b.th[tid];
        vc_acquire(t, j);
        if (&t != t_cur) wake(t);
    }
    b.bar_wait.clear();
    b.progress++;
}

void syncthreads()
{
    Thread &t = self();
    Block &b = *t.blk;
    b.bar_wait.push_back(t.tid);
    if ((int)b.bar_wait.size() == b.alive)
        release_barrier(b);
    else
        yield(St::Bar);
}

[[noreturn]] void trap() { fault(cudaErrorLaunchFailure, "__trap() (trap instruction)"); }

/* ---- rendezvous ---- */
namespace {
void rendezvous(Rendezvous &r, int op, int first, int count, uint64_t expect0, uint64_t expect1, uint32_t mask,
                void *in, void *out, void (*fn)(Block &, Rendezvous &), const char *what)
{
    Thread &t = self();
    Block &b = *t.blk;
    const int i = t.tid - first;
    if (r.op < 0) { /* the first to arrive checks that every member can come */
        for (int k = 0; k < count; ++k) {
            const uint64_t bit = (k < 64 ? expect0 >> k : expect1 >> (k - 64)) & 1;
            if (bit && (first + k >= b.nthreads || b.th[first + k].state == St::Exited))
                fault(cudaErrorIllegalInstruction, "%s: thread %d of the member set does not exist or has exited", what,
                      first + k);
        }
        r.op = op, r.first = first, r.count = count, r.mask = mask;
        r.expect[0] = expect0, r.expect[1] = expect1, r.arrived[0] = r.arrived[1] = 0;
    } else if (r.op != op || r.mask != mask || r.expect[0] != expect0 || r.expect[1] != expect1) {
        fault(cudaErrorIllegalInstruction,
              "%s: the threads of one warp/warpgroup reached different collective instructions or member masks "
              "(op %d mask %08x vs op %d mask %08x): .sync.aligned instructions must be executed by all of them "
              "together",
              what, r.op, r.mask, op, mask);
    }
    r.in[i] = in, r.out[i] = out;
    r.arrived[i >> 6] |= 1ull << (i & 63);
    if (r.arrived[0] == r.expect[0] && r.arrived[1] == r.expect[1]) {
        fn(b, r);
        const uint64_t e0 = r.expect[0], e1 = r.expect[1];
        r.op = -1;
        for (int k = 0; k < count; ++k) {
            const uint64_t bit = (k < 64 ? e0 >> k : e1 >> (k - 64)) & 1;
            if (bit && first + k != t.tid) wake(b.th[first + k]);
        }
        b.progress++;
    } else {
        yield(St::Coll);
    }
}
} // namespace

void warp_collective(int op, uint32_t mask, void *in, void *out, void (*fn)(Block &, Rendezvous &))
{
    Thread &t = self();
    if (device().warp != 32) fault(cudaErrorIllegalInstruction, "a 32-lane warp instruction on a wave64 device");
    if (!((mask >> t.lane) & 1))
        fault(cudaErrorIllegalInstruction, "warp-collective instruction: the executing lane %d is not in its member mask %08x",
              t.lane, mask);
    rendezvous(t.blk->warp_rv[t.warp], op, t.warp * 32, 32, mask, 0, mask, in, out, fn, "warp collective");
}

void warpgroup_collective(int op, void *in, void *out, void (*fn)(Block &, Rendezvous &))
{
    Thread &t = self();
    const int g = t.tid / 128;
    if ((g + 1) * 128 > t.blk->nthreads)
        fault(cudaErrorIllegalInstruction, "warpgroup instruction in an incomplete warpgroup (block of %d threads)",
              t.blk->nthreads);
    rendezvous(t.blk->wg_rv[g], op, g * 128, 128, ~0ull, ~0ull, 0xFFFFFFFFu, in, out, fn, "warpgroup collective");
}

void wave_collective(int op, void *in, void *out, void (*fn)(Block &, Rendezvous &))
{
    Thread &t = self();
    const int first = t.warp * 64, count = std::min(64, t.blk->nthreads - first);
    if (device().warp != 64) fault(cudaErrorIllegalInstruction, "a wavefront instruction on a 32-lane device");
    /* no member mask: every lane of the wavefront (EXEC all ones) takes part */
    rendezvous(t.blk->warp_rv[t.warp], op, first, count, count == 64 ? ~0ull : (1ull << count) - 1, 0, 0, in, out, fn,
               "wavefront instruction");
}

/* __syncwarp: a rendezvous of the member lanes that also orders their memory accesses. */
void syncwarp(uint32_t mask)
{
    warp_collective(/*op*/ 1, mask, nullptr, nullptr, [](Block &b, Rendezvous &r) {
        vc_ready(b);
        std::vector<uint32_t> j(b.nvc, 0);
        for (int l = 0; l < 32; ++l)
            if ((r.mask >> l) & 1) vc_release_join(b.th[r.first + l], j);
        for (int l = 0; l < 32; ++l)
            if ((r.mask >> l) & 1) vc_acquire(b.th[r.first + l], j);
    });
}

/* Shuffles: PTX shfl.sync (9.7.9.6): lane l reads the value of source lane
 * j (idx: c; up: l - c; down: l + c; bfly: l ^ c) inside its segment of
 * `width` lanes; out of the segment (up/down) a lane keeps its own value.
 * Reading from a lane outside the member mask is undefined: a fault. */
uint32_t shfl_sync(uint32_t mask, uint32_t v, int kind, int arg, int width)
{
    struct In { uint32_t v; int kind, arg, width; } in = {v, kind, arg, width};
    uint32_t out = 0;
    if (width <= 0 || width > 32 || (width & (width - 1)))
        fault(cudaErrorIllegalInstruction, "shuffle width %d is not a power of two <= 32", width);
    warp_collective(/*op*/ 2 + kind, mask, &in, &out, [](Block &, Rendezvous &r) {
        for (int l = 0; l < 32; ++l) {
            if (!((r.mask >> l) & 1)) continue;
            const In &a = *static_cast<const In *>(r.in[l]);
            const int seg = l & ~(a.width - 1), last = seg + a.width - 1;
            int j;
            switch (a.kind) {
            case 0: j = seg + (a.arg & (a.width - 1)); break;
            case 1: j = l - a.arg < seg ? l : l - a.arg; break;
            case 2: j = l + a.arg > last ? l : l + a.arg; break;
            default: j = (l ^ a.arg) > last || (l ^ a.arg) < seg ? l : l ^ a.arg; break;
            }
            if (!((r.mask >> j) & 1))
                fault(cudaErrorIllegalInstruction, "shuffle: lane %d reads lane %d, which is not in the member mask %08x",
                      l, j, r.mask);
            *static_cast<uint32_t *>(r.out[l]) = static_cast<const In *>(r.in[j])->v;
        }
    });
    return out;
}

/* ---- shared memory ---- */
namespace {
constexpr uint32_t kReserved = 1024;     /* the driver's per-block reservation at the window's start */
constexpr uint32_t kStaticArena = 16384; /* room for QB_SHARED_ARRAY variables */
} // namespace

void *dynamic_smem(size_t align)
{
    Thread &t = self();
    Block &b = *t.blk;
    if (align < 16 || align > 1024 || (align & (align - 1)))
        fault(cudaErrorInvalidValue, "dynamic shared memory alignment %zu: the simulator places 16..1024 (powers of two)",
              align);
    if (!b.dyn_placed) {
        /* exactly the declared alignment and no more: base = reserved + align
         * is a multiple of align but not of 2 * align (for align < 1024) */
        b.dyn_base = kReserved + (uint32_t)(align < kReserved ? align : 0);
        b.dyn_placed = true;
        b.stat_base = (b.dyn_base + b.dyn_size + 15) & ~15u;
#ifdef QBSIM_ASAN
        ASAN_UNPOISON_MEMORY_REGION(b.win + b.dyn_base, b.dyn_size);
#endif
    } else if (b.dyn_base % align) {
        fault(cudaErrorMisalignedAddress, "dynamic shared memory declared with alignment %zu here but less elsewhere", align);
    }
    return b.win + b.dyn_base;
}

void *static_smem_bytes(size_t bytes, size_t align, const char *file, int line)
{
    Thread &t = self();
    Block &b = *t.blk;
    if (!b.dyn_placed) (void)dynamic_smem(16); /* statics go after the dynamic region */
    auto key = std::make_pair(file, line);
    auto it = b.statics.find(key);
    if (it != b.statics.end()) return b.win + it->second;
    uint32_t off = (b.stat_base + b.stat_used + (uint32_t)align - 1) & ~((uint32_t)align - 1);
    if (off + bytes > (size_t)b.stat_base + b.stat_cap)
        fault(cudaErrorLaunchOutOfResources, "static shared memory beyond the simulator's %u-byte arena", kStaticArena);
    const size_t total = (size_t)(off + bytes - kReserved);
    if (total + kReserved > (size_t)device().smem_optin + device().smem_reserved)
        fault(cudaErrorLaunchOutOfResources, "static + dynamic shared memory %zu bytes exceeds the %d bytes a block may use",
              total, device().smem_optin);
    b.stat_used = off + (uint32_t)bytes - b.stat_base;
    b.statics[key] = off;
#ifdef QBSIM_ASAN
    ASAN_UNPOISON_MEMORY_REGION(b.win + off, bytes);
#endif
    return b.win + off;
}

size_t cvta_to_shared(const void *p)
{
    Block &b = *self().blk;
    const uintptr_t a = (uintptr_t)p, w = (uintptr_t)b.win;
    if (a < w || a >= w + b.win_size)
        fault(cudaErrorInvalidAddressSpace, "cvta.to.shared of %p, which is not in this block's shared memory", p);
    return (size_t)(a - w);
}

uint8_t *smem_ptr(Block &b, uint32_t saddr, uint32_t bytes, uint32_t align, const char *what)
{
    if (align > 1 && saddr % align)
        fault(cudaErrorMisalignedAddress, "%s: shared address 0x%x is not %u-byte aligned", what, saddr, align);
    const uint64_t end = (uint64_t)saddr + bytes;
    const bool in_dyn = b.dyn_placed && saddr >= b.dyn_base && end <= (uint64_t)b.dyn_base + b.dyn_size;
    const bool in_stat = b.dyn_placed && saddr >= b.stat_base && end <= (uint64_t)b.stat_base + b.stat_used;
    if (!in_dyn && !in_stat)
        fault(cudaErrorIllegalAddress, "%s: shared address 0x%x (+%u bytes) is outside the block's shared memory "
                                       "(dynamic [0x%x, 0x%x))",
              what, saddr, bytes, b.dyn_base, b.dyn_base + b.dyn_size);
    return b.win + saddr;
}

/* ---- running a launch ---- */
namespace {

void setup_block(Block &b, Launch &L)
{
    const DeviceSpec &dev = device();
    b.L = &L;
    b.nthreads = (int)(L.block.x * L.block.y * L.block.z);
    const int ws = dev.warp; /* 32 lanes (NVIDIA) or 64 (AMD wavefront) */
    b.nwarps = (b.nthreads + ws - 1) / ws;
    b.alive = b.nthreads;
    b.dyn_size = (uint32_t)L.smem;
    b.stat_cap = kStaticArena;
    /* window: reservation, up to 1 KiB of alignment slack, dynamic, statics;
     * host address win + a keeps the shared address a's low 10 bits */
    b.win_size = kReserved + 1024 + ((b.dyn_size + 15) & ~15u) + kStaticArena;
    /* one buffer serves every block (they run one at a time) */
    static uint8_t *buf;
    static uint32_t cap;
    if (cap < b.win_size) {
#ifdef QBSIM_ASAN
        if (buf) ASAN_UNPOISON_MEMORY_REGION(buf, cap);
#endif
        free(buf);
        void *m = nullptr;
        if (posix_memalign(&m, 1024, b.win_size)) {
            fprintf(stderr, "qbsim: out of memory for a block's shared memory\n");
            abort();
        }
        buf = static_cast<uint8_t *>(m), cap = b.win_size;
    }
    b.win_alloc = b.win = buf;
#ifdef QBSIM_ASAN
    ASAN_UNPOISON_MEMORY_REGION(b.win, b.win_size);
#endif
    memset(b.win, 0xFF, b.win_size); /* poison: NaN in f32/f16/bf16/fp8, -1 in integers */
#ifdef QBSIM_ASAN
    ASAN_POISON_MEMORY_REGION(b.win, b.win_size); /* regions are unpoisoned as the kernel claims them */
#endif
    b.mbar_slots = 0;
    b.nvc = b.nthreads + 64;
    b.vc_on = false;
    b.th.resize(b.nthreads);
    const dim3 bd = L.block;
    for (int i = 0; i < b.nthreads; ++i) {
        Thread &t = b.th[i];
        t = Thread();
        t.blk = &b;
        t.tid = i, t.warp = i / ws, t.lane = i % ws;
        t.idx = uint3{(unsigned)i % bd.x, ((unsigned)i / bd.x) % bd.y, (unsigned)i / (bd.x * bd.y)};
    }
    b.warp_rv.assign(b.nwarps, Rendezvous());
    b.wg_rv.assign((b.nthreads + 127) / 128, Rendezvous());
    b.wg.assign((b.nthreads + 127) / 128, Warpgroup());
    b.bar_wait.clear();
    b.mbars.clear();
    b.statics.clear();
    b.dyn_placed = false;
    b.stat_used = 0;
    race_begin_block(b);
}

const char *state_name(St s)
{
    switch (s) {
    case St::Ready: return "runnable";
    case St::Bar: return "waiting at __syncthreads";
    case St::Coll: return "waiting in a warp/warpgroup collective";
    case St::Mbar: return "waiting on an mbarrier phase";
    default: return "exited";
    }
}

void report_deadlock(Block &b)
{
    fprintf(stderr, "qbsim: DEADLOCK in kernel %s, block (%u,%u,%u): no thread can continue\n", b.L->k->name.c_str(),
            b.idx.x, b.idx.y, b.idx.z);
    int shown = 0;
    for (Thread &t : b.th) {
        if (t.state == St::Exited) continue;
        if (shown++ < 12) {
            fprintf(stderr, "  thread %d (warp %d lane %d): %s", t.tid, t.warp, t.lane, state_name(t.state));
            if (t.state == St::Mbar) fprintf(stderr, " (barrier 0x%x, phase %u)", t.wait_bar, t.wait_phase);
            fprintf(stderr, "\n");
        }
    }
    if (shown > 12) fprintf(stderr, "  ... and %d more threads\n", shown - 12);
}

struct BlockFault {
    cudaError_t err = cudaSuccess;
};
thread_local BlockFault *g_fault;

/* Run one block to completion; returns its error. */
cudaError_t run_block(Block &b)
{
    std::vector<int> ready;
    g_ready = &ready;
    BlockFault bf;
    g_fault = &bf;
    for (int i = b.nthreads - 1; i >= 0; --i) {
        Thread &t = b.th[i];
        t.stack = stack_get();
        t.stack_size = kStack;
        t.ctx = bc::make_fcontext(t.stack + kStack, kStack, fiber_main);
        ready.push_back(i);
    }
    cudaError_t err = cudaSuccess;
    while (bf.err == cudaSuccess) {
        if (ready.empty()) {
            if (b.alive == 0) break;
            report_deadlock(b);
            err = cudaErrorLaunchTimeout; /* a hung kernel: the watchdog's error */
            break;
        }
        const size_t k = (size_t)(b.rng() % ready.size());
        const int tid = ready[k];
        ready[k] = ready.back();
        ready.pop_back();
        Thread &t = b.th[tid];
        t_cur = &t;
#ifdef QBSIM_ASAN
        void *fake = nullptr;
        __sanitizer_start_switch_fiber(&fake, t.stack, t.stack_size);
#endif
        bc::transfer_t r = bc::jump_fcontext(t.ctx, &t);
#ifdef QBSIM_ASAN
        __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
        t_cur = nullptr;
        t.ctx = r.fctx;
    }
    if (bf.err != cudaSuccess) err = bf.err;
    for (Thread &t : b.th) stack_put(t.stack, t.unwound);
    g_ready = nullptr;
    g_fault = nullptr;
    return err;
}

} // namespace

/* A fault inside a fiber: report it, stop the block (the fiber never resumes). */
void fault(cudaError_t e, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Thread *t = t_cur;
    if (!t || !g_fault) {
        fprintf(stderr, "qbsim: internal error outside a simulated thread: %s\n", msg);
        abort();
    }
    char who[128];
    fprintf(stderr, "qbsim: %s in kernel %s, %s: %s\n", cudaGetErrorName(e), t->blk->L->k->name.c_str(),
            thread_name(*t, who, sizeof who), msg);
    g_fault->err = e;
    t->state = St::Exited; /* abandoned: never resumed */
#ifdef QBSIM_ASAN
    __sanitizer_start_switch_fiber(nullptr, g_sched_bottom, g_sched_size);
#endif
    bc::jump_fcontext(t->blk->sched_ctx, nullptr);
    abort();
}

cudaError_t run_launch(Launch &L)
{
    const unsigned n = L.grid.x * L.grid.y * L.grid.z;
    std::vector<unsigned> order(n);
    for (unsigned i = 0; i < n; ++i) order[i] = i;
    std::mt19937_64 rng(L.seed);
    std::shuffle(order.begin(), order.end(), rng);
    Block b;
    for (unsigned s = 0; s < n; ++s) {
        const unsigned lin = order[s];
        b.idx = uint3{lin % L.grid.x, (lin / L.grid.x) % L.grid.y, lin / (L.grid.x * L.grid.y)};
        b.serial = s;
        b.rng.seed(L.seed ^ (0x9E3779B97F4A7C15ull * (lin + 1)));
        setup_block(b, L);
        const cudaError_t e = run_block(b);
#ifdef QBSIM_ASAN
        ASAN_UNPOISON_MEMORY_REGION(b.win_alloc, b.win_size);
#endif
        b.win = b.win_alloc = nullptr;
        if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
}

} // namespace qbsim
