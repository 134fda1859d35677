/* sim_internal.h - the simulated device's internals, shared by runtime.cc
 * (the CUDA runtime API), exec.cc (blocks, fibers, barriers, collectives),
 * memcheck.cc (memory-access checks and the race detector) and ptx_exec.cc
 * (the simulator side of every instruction wrapper). Not for kernel code.
 *
 * Model, in one paragraph: the host enqueues work on streams; nothing runs
 * until the host synchronizes (late completion). A launch runs its blocks
 * one after another in a shuffled order; inside a block every GPU thread is
 * a fiber, and the scheduler picks the next runnable fiber at random (the
 * seed is printed), so warp and lane order between synchronization points
 * varies. A fiber runs until it waits: at a barrier, in a warp(group)
 * collective, on an mbarrier phase, or at exit. Asynchronous copies land as
 * late as the ISA allows (cp.async at wait_group, TMA when the phase
 * completes, wgmma results at wait_group). Shared memory starts poisoned;
 * every load and store of kernel code is checked (space, bounds, races).
 */
#ifndef QBSIM_SIM_INTERNAL_H
#define QBSIM_SIM_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cuda_runtime_api.h"
#include "sim/twins/ptx_twins.h"

namespace qbsim {

/* ---- the simulated device (runtime.cc) ---- */
struct DeviceSpec {
    const char *arch;  /* "sm_80", "sm_89", "sm_90a" */
    const char *name;  /* what cudaGetDeviceProperties reports */
    int cc;            /* 80, 89, 90 */
    bool sm90a;
    int sms;
    int smem_optin;    /* max dynamic + static shared memory per block (opt-in) */
    int smem_per_sm;
    int smem_reserved; /* per block, by the driver */
    int regs_per_sm;
    int max_threads_per_sm;
    int max_blocks_per_sm;
    int l2_bytes;
    size_t global_bytes;
    int warp;          /* lanes of a warp (NVIDIA: 32) or wavefront (AMD CDNA: 64) */
    bool amd;          /* an AMD device: the HIP runtime names see it, the CUDA ones do not */
};
const DeviceSpec &device();
int arch_code(); /* 800, 890, 900 */

/* ---- faults ----
 * A fault stops the launch (like a device exception): the message names the
 * kernel, block and thread; the error is returned by the host's next
 * synchronizing call. */
[[noreturn]] void fault(cudaError_t e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- device memory (runtime.cc) ---- */
struct Alloc {
    uintptr_t base;
    size_t size;
    bool device;      /* false: pinned host memory (cudaMallocHost) */
    /* global race shadow: per 4 KiB page written by kernels, per byte the
     * (launch, block) of the last write */
    std::vector<std::unique_ptr<uint64_t[]>> wpages;
};
Alloc *find_alloc(const void *p); /* the allocation holding p, or NULL */
const Alloc *alloc_below(uintptr_t a); /* the allocation with the highest base <= a, or NULL */
void alloc_freed();               /* an allocation is gone: forget cached lookups (memcheck.cc) */

/* ---- kernels and launches ---- */
struct Kernel {
    const void *fn;
    std::string name;             /* "qb::w4a16_mma_kernel<__half, 1, true>" */
    int max_dyn_smem = 48 * 1024; /* cudaFuncAttributeMaxDynamicSharedMemorySize */
    int max_threads = 0;          /* its __launch_bounds__ as nvcc compiled it; 0: none; -1: unknown */
};
/* The kernel at fn; mangled: the name of Launcher<&kernel>'s type, or NULL. */
Kernel &kernel_for(const void *fn, const char *mangled);

struct Launch {
    Kernel *k;
    dim3 grid, block;
    size_t smem;
    std::shared_ptr<const void> args; /* the parameter block (a std::tuple of the kernel's parameters) */
    size_t args_bytes;
    void (*entry)(const void *args);
    uint64_t serial;   /* launch number, 1.. (the epoch of the global race shadow) */
    /* AMD: the HSA kernel dispatch packet the hardware's dispatch_ptr points
     * at (hsa_kernel_dispatch_packet_t: workgroup_size_x/y/z u16 at byte
     * 4/6/8, grid_size_x/y/z u32 in work-items at 12/16/20); read-only to
     * kernels, like the parameters */
    alignas(64) uint8_t hsa_packet[64] = {};
    uint64_t seed;     /* block order and fiber schedule */
};
/* Run every block of the launch; returns cudaSuccess or the fault's error. */
cudaError_t run_launch(Launch &L);

/* ---- blocks, threads (exec.cc) ---- */
struct Block;

struct CpAsync { /* one cp.async, landing at this thread's wait_group */
    uint32_t saddr;
    const uint8_t *src;
    int bytes, src_bytes;
};

enum class St : uint8_t { Ready, Bar, Coll, Mbar, Exited };

struct Thread {
    Block *blk;
    int tid, warp, lane;
    uint3 idx;
    St state = St::Ready;
    bool unwound = false;         /* the kernel returned (its stack holds no live frames) */
    void *ctx = nullptr;          /* the fiber's suspended context */
    uint8_t *stack = nullptr;     /* [stack, stack + stack_size) */
    size_t stack_size = 0;
    void *asan_fake = nullptr;
    std::vector<CpAsync> cp_open;                /* not yet committed */
    std::deque<std::vector<CpAsync>> cp_groups;  /* committed, oldest first */
    uint32_t *vc = nullptr;                      /* vector clock: blk->nvc entries */
    uint32_t wait_bar = 0;                       /* Mbar: the barrier's shared address */
    uint32_t wait_phase = 0;                     /* Mbar: the phase count being waited for */
};

/* One rendezvous of a warp (32 lanes) or a warpgroup (128 threads): each
 * participant deposits pointers to its operands; the last to arrive runs
 * `fn` over all of them, then everyone continues. */
struct Rendezvous {
    int op = -1;           /* what is being executed (collective kind), -1: idle */
    const void *site = nullptr;
    uint64_t expect[2] = {0, 0}; /* participants (bit per thread of the group) */
    uint64_t arrived[2] = {0, 0};
    int first = 0, count = 0;    /* thread range of the group */
    uint32_t mask = 0;           /* warp collectives: the member mask every lane passed */
    void *in[128];
    void *out[128];
};

struct Mbarrier {
    uint32_t expected = 0, pending = 0; /* arrivals per phase, arrivals still missing */
    int64_t tx = 0;                     /* transaction bytes still expected */
    uint32_t phase = 0;                 /* completed phases */
    int slot = 0;                       /* its vector-clock slot (TMA writes complete through it) */
    uint32_t async_clock = 0;           /* that slot's clock: one tick per landing */
    std::vector<uint32_t> vc_pending;   /* releases of the phase in progress */
    std::vector<uint32_t> vc_done[2];   /* the last two completed phases, by parity */
    struct Tma { ptx::TensorMapParams map; int32_t c0, c1; uint32_t dst; std::vector<uint32_t> vc; };
    std::vector<Tma> tma;               /* copies that complete on this barrier, not yet landed */
};

struct WgmmaOp { /* one wgmma.mma_async of a warpgroup */
    ptx::Fp8 ta, tb;
    uint64_t da, db;
    bool scale_d;
    float *d[128];          /* each thread's accumulator registers */
    bool has_input;         /* the accumulators' values at issue (none when an earlier pending op writes them) */
    std::vector<float> input;
};
struct Warpgroup {
    std::vector<WgmmaOp> open;                   /* issued, not committed */
    std::deque<std::vector<WgmmaOp>> groups;     /* committed, oldest first */
};

struct Block {
    Launch *L;
    uint3 idx;
    uint32_t serial;       /* position in the launch's execution order */
    int nthreads, nwarps;
    std::vector<Thread> th;
    int alive;
    std::mt19937_64 rng;
    void *sched_ctx = nullptr;
    /* shared window: shared-space address a <-> host win + a */
    uint8_t *win = nullptr, *win_alloc = nullptr;
    uint32_t win_size = 0;
    uint32_t dyn_base = 0, dyn_size = 0;
    bool dyn_placed = false;
    uint32_t stat_base = 0, stat_used = 0, stat_cap = 0;
    std::map<std::pair<const char *, int>, uint32_t> statics;
    /* race detector */
    int nvc;               /* vector-clock entries: threads, then one per mbarrier slot */
    int mbar_slots = 0;
    bool vc_on = false;    /* clocks exist (made at the block's first barrier or shared access) */
    std::vector<uint32_t> vc_store;
    struct Cell { uint32_t epoch, wc, rc[2]; uint16_t wt, rt[2]; };
    Cell *shadow = nullptr;    /* per byte of the window; cells of an older epoch (block) are empty */
    uint32_t epoch = 0;
    /* synchronization */
    std::vector<int> bar_wait;       /* threads waiting at __syncthreads */
    std::vector<Rendezvous> warp_rv;  /* per warp */
    std::vector<Rendezvous> wg_rv;    /* per warpgroup */
    std::vector<Warpgroup> wg;
    std::map<uint32_t, Mbarrier> mbars;
    uint64_t progress = 0;
};

extern thread_local Thread *t_cur; /* the running GPU thread; NULL on the host */
inline Thread &self() { return *t_cur; }

/* Switch from the running fiber to the scheduler; it continues when the
 * scheduler resumes it (state Ready). */
void yield(St state);
/* Mark t runnable again. */
void wake(Thread &t);

/* Synchronization bookkeeping of the race detector (memcheck.cc). */
/* The block's vector clocks, made on first use: blocks that never
 * synchronize or touch shared memory (most elementwise kernels) skip them. */
void vc_ready(Block &b);
void vc_release_join(Thread &t, std::vector<uint32_t> &into); /* into = max(into, t.vc); t's clock ticks */
void vc_acquire(Thread &t, const std::vector<uint32_t> &from); /* t.vc = max(t.vc, from) */
/* Shared-window accesses made on behalf of a thread (ldmatrix, cp.async landing, wgmma, TMA). */
void smem_read(Thread &t, uint32_t saddr, uint32_t bytes, const char *what);
void smem_write(Thread &t, uint32_t saddr, uint32_t bytes, const char *what);
/* A write by an asynchronous unit (TMA) completing through mbarrier `slot`:
 * ordered after what the issuing thread's view (issuer_vc) covers. */
void smem_write_async(Block &b, int slot, const uint32_t *issuer_vc, uint32_t clock, uint32_t saddr, uint32_t bytes,
                      const char *what);
/* Host pointer of shared-window bytes [saddr, saddr+bytes), or a fault. */
uint8_t *smem_ptr(Block &b, uint32_t saddr, uint32_t bytes, uint32_t align, const char *what);
/* A global range a copy engine or async unit reads on a thread's behalf: must be device memory. */
void global_read_range(const void *p, size_t bytes, const char *what);
/* A new block's (empty) shadow of its window. */
void race_begin_block(Block &b);
/* The shadow cell of window byte off, emptied if it belongs to an earlier block. */
Block::Cell &shadow_cell(Block &b, uint32_t off);

/* Rendezvous of the warp (mask: member lanes) or warpgroup of the running thread. */
void warp_collective(int op, uint32_t mask, void *in, void *out, void (*fn)(Block &, Rendezvous &));
/* AMD: a rendezvous of every lane of the running thread's wavefront (64
 * lanes; fewer in a block's last, partial wavefront). The lanes stand in
 * rv.in / rv.out by lane; `first`/`count` say which threads they are. */
void wave_collective(int op, void *in, void *out, void (*fn)(Block &, Rendezvous &));
void warpgroup_collective(int op, void *in, void *out, void (*fn)(Block &, Rendezvous &));

const char *thread_name(const Thread &t, char *buf, size_t n); /* "block (x,y,z) thread t (warp w lane l)" */
void logf_sim(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

} // namespace qbsim

#endif /* QBSIM_SIM_INTERNAL_H */
