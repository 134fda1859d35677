/* memcheck.cc - every load and store of kernel code, checked.
 *
 * The kernel sources are compiled with clang's load/store tracing
 * (-fsanitize-coverage=trace-loads,trace-stores): each access calls one of
 * the __sanitizer_cov_load/store hooks below with its address. While a
 * simulated thread runs, the hook classifies the address:
 *   - the thread's own fiber stack (its registers and local memory): fine;
 *   - the block's shared window: inside memory the kernel declared, not an
 *     mbarrier object, and not racing (below);
 *   - a device allocation: inside it; and no other block of the same launch
 *     wrote the byte (written bytes are shadowed per launch and block);
 *   - the launch's parameter block (AMD: and its dispatch packet): read-only;
 *   - the program's loaded images (constants): read-only;
 *   - anything else (host heap, another fiber's stack): a fault, as a real
 *     kernel touching host memory would be an illegal address.
 * (AddressSanitizer, in the CI build, also catches every access past an
 * allocation's end byte-exactly; this check works without it too.)
 *
 * Shared-memory race detector (compute-sanitizer's racecheck is the
 * model): vector clocks. Each thread has a clock; __syncthreads,
 * __syncwarp and mbarrier phases join the clocks of the threads they
 * synchronize. Every byte of the window remembers its last writer and up to
 * two readers with their clocks; an access that conflicts with one that is
 * not ordered before it (a read after another thread's write, or a write
 * after another thread's read or write, with no synchronization both
 * passed) is reported with both threads and the byte's offset. Accesses the
 * hardware makes on a thread's behalf count as that thread's: ldmatrix rows
 * (the lane that gave the address), cp.async data (the issuing thread, when
 * it lands), wgmma operands (each warp, when the results are waited for);
 * TMA writes belong to their mbarrier (an extra clock per barrier), so
 * only threads that waited on that barrier's phase may read them.
 */
#include <link.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>

#include "sim/sim_internal.h"

namespace qbsim {

namespace {

constexpr uint16_t kNone = 0xFFFF;

/* ---- the program's loaded segments (constants a kernel may read) ---- */
struct Seg {
    uintptr_t lo, hi;
};
std::vector<Seg> &segments()
{
    static std::vector<Seg> segs = [] {
        std::vector<Seg> v;
        dl_iterate_phdr(
            [](struct dl_phdr_info *info, size_t, void *data) {
                auto *out = static_cast<std::vector<Seg> *>(data);
                for (int i = 0; i < info->dlpi_phnum; ++i)
                    if (info->dlpi_phdr[i].p_type == PT_LOAD) {
                        const uintptr_t lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
                        out->push_back({lo, lo + info->dlpi_phdr[i].p_memsz});
                    }
                return 0;
            },
            &v);
        return v;
    }();
    return segs;
}
bool in_image(uintptr_t a)
{
    for (const Seg &s : segments())
        if (a >= s.lo && a < s.hi) return true;
    return false;
}

Alloc *g_last[4]; /* the allocations recent checks hit, most recent first (cleared when any is freed) */

Alloc *lookup(uintptr_t a)
{
    for (int i = 0; i < 4; ++i) {
        Alloc *al = g_last[i];
        if (al && a >= al->base && a < al->base + al->size) {
            if (i) std::swap(g_last[0], g_last[i]);
            return al;
        }
    }
    Alloc *al = find_alloc(reinterpret_cast<const void *>(a));
    if (al) {
        memmove(g_last + 1, g_last, 3 * sizeof g_last[0]);
        g_last[0] = al;
    }
    return al;
}

const char *kind_name(bool w) { return w ? "store" : "load"; }

[[noreturn]] void race(Block &b, uint32_t saddr, const char *what, bool write, int other, bool other_write,
                       const char *other_what)
{
    char o[128];
    if (other >= b.nthreads)
        snprintf(o, sizeof o, "the TMA copies completing on mbarrier slot %d", other - b.nthreads);
    else
        snprintf(o, sizeof o, "thread %d (warp %d lane %d)", other, b.th[other].warp, b.th[other].lane);
    const long off = (long)saddr - (long)b.dyn_base;
    fault(cudaErrorLaunchFailure,
          "shared-memory race at shared address 0x%x (dynamic shared memory offset %ld): this %s (%s) conflicts with "
          "a %s (%s) by %s, and no barrier orders them",
          saddr, off, kind_name(write), what, other_write ? "write" : "read", other_what, o);
}

inline bool ordered(const uint32_t *vc, uint16_t who, uint32_t clk) { return who == kNone || vc[who] >= clk; }

/* One byte, accessed by thread `who` (a thread id, or nthreads + mbarrier
 * slot for TMA) whose view is vc and current clock clk. */
void access_byte(Block &b, uint32_t saddr, int who, const uint32_t *vc, uint32_t clk, bool write, const char *what)
{
    Block::Cell &c = shadow_cell(b, saddr);
    if (c.wt != who && !ordered(vc, c.wt, c.wc)) race(b, saddr, what, write, c.wt, true, "an earlier write");
    if (write) {
        for (int r = 0; r < 2; ++r)
            if (c.rt[r] != who && !ordered(vc, c.rt[r], c.rc[r])) race(b, saddr, what, true, c.rt[r], false, "a read");
        c.wt = (uint16_t)who, c.wc = clk;
        c.rt[0] = c.rt[1] = kNone;
        return;
    }
    /* remember this read; replace a reader already ordered before it, so the
     * two kept are the ones a later write could still race with */
    for (int r = 0; r < 2; ++r)
        if (c.rt[r] == who) {
            c.rc[r] = clk;
            return;
        }
    for (int r = 0; r < 2; ++r)
        if (c.rt[r] == kNone || ordered(vc, c.rt[r], c.rc[r])) {
            c.rt[r] = (uint16_t)who, c.rc[r] = clk;
            return;
        }
}

/* Inside the memory the kernel declared (dynamic region, claimed statics)? */
bool declared(const Block &b, uint32_t off, uint32_t n)
{
    if (!b.dyn_placed) return false;
    const uint64_t end = (uint64_t)off + n;
    return (off >= b.dyn_base && end <= (uint64_t)b.dyn_base + b.dyn_size) ||
           (off >= b.stat_base && end <= (uint64_t)b.stat_base + b.stat_used);
}

void smem_access(Thread &t, uint32_t off, uint32_t n, bool write, const char *what)
{
    Block &b = *t.blk;
    vc_ready(b);
    if (!declared(b, off, n))
        fault(cudaErrorIllegalAddress, "%s of %u bytes at shared address 0x%x: outside the shared memory the kernel "
                                       "declared (dynamic [0x%x, 0x%x))",
              kind_name(write), n, off, b.dyn_base, b.dyn_base + b.dyn_size);
    if (!b.mbars.empty()) {
        auto it = b.mbars.upper_bound(off + n - 1);
        if (it != b.mbars.begin() && std::prev(it)->first + 8 > off)
            fault(cudaErrorIllegalAddress, "plain %s of an initialized mbarrier object at 0x%x (only mbarrier "
                                           "instructions may touch it until it is invalidated)",
                  kind_name(write), std::prev(it)->first);
    }
    for (uint32_t i = 0; i < n; ++i) access_byte(b, off + i, t.tid, t.vc, t.vc[t.tid], write, what);
}

void global_access(Thread &t, uintptr_t a, size_t n, bool write)
{
    Alloc *al = lookup(a);
    if (!al) {
        const Launch &L = *t.blk->L;
        const uintptr_t p = (uintptr_t)L.args.get();
        if (a >= p && a + n <= p + L.args_bytes) {
            if (write) fault(cudaErrorIllegalAddress, "store into the kernel's parameters at %p", (void *)a);
            return;
        }
        const uintptr_t q = (uintptr_t)L.hsa_packet;
        if (a >= q && a + n <= q + sizeof L.hsa_packet) {
            if (write) fault(cudaErrorIllegalAddress, "store into the dispatch packet at %p", (void *)a);
            return;
        }
        if (!write && in_image(a)) return;
        if (const Alloc *below = alloc_below(a))
            if (a - (below->base + below->size) < 65536)
                fault(cudaErrorIllegalAddress, "%s of %zu bytes at %p: %zu bytes past the end of a %zu-byte allocation at %p",
                      kind_name(write), n, (void *)a, (size_t)(a - (below->base + below->size)), below->size,
                      (void *)below->base);
        fault(cudaErrorIllegalAddress, "%s of %zu bytes at %p: not device memory (a host pointer passed to a kernel?)",
              kind_name(write), n, (void *)a);
    }
    if (a + n > al->base + al->size)
        fault(cudaErrorIllegalAddress, "%s of %zu bytes at %p runs past the end of a %zu-byte allocation at %p (offset %zu)",
              kind_name(write), n, (void *)a, al->size, (void *)al->base, (size_t)(a - al->base));
    /* inter-block races: the (launch, block) of each byte's last write */
    const Block &b = *t.blk;
    const uint64_t key = (b.L->serial << 32) | b.serial;
    for (size_t i = 0; i < n; ++i) {
        const size_t off = (size_t)(a - al->base) + i, pg = off >> 12;
        if (pg >= al->wpages.size()) al->wpages.resize((al->size + 4095) >> 12);
        std::unique_ptr<uint64_t[]> &page = al->wpages[pg];
        if (!page) {
            if (!write) continue;
            page.reset(new uint64_t[4096]());
        }
        uint64_t &cell = page[off & 4095];
        if ((cell >> 32) == b.L->serial && cell != key)
            fault(cudaErrorLaunchFailure,
                  "global-memory race: this %s of byte %p (offset %zu of a %zu-byte allocation) follows a write by "
                  "block #%u of the same launch (blocks of one launch are not ordered)",
                  kind_name(write), (void *)(a + i), off, al->size, (unsigned)(cell & 0xFFFFFFFFu));
        if (write) cell = key;
    }
}

inline void on_access(const void *p, size_t n, bool write)
{
    Thread *t = t_cur;
    if (!t) return; /* host code */
    const uintptr_t a = (uintptr_t)p;
    if (a - (uintptr_t)t->stack < t->stack_size) return;
    Block &b = *t->blk;
    if (a - (uintptr_t)b.win < b.win_size) return smem_access(*t, (uint32_t)(a - (uintptr_t)b.win), (uint32_t)n, write, "plain access");
    global_access(*t, a, n, write);
}

} // namespace

/* ---- vector clocks ---- */
void vc_ready(Block &b)
{
    if (b.vc_on) return;
    b.vc_store.assign((size_t)b.nthreads * b.nvc, 0);
    for (int i = 0; i < b.nthreads; ++i) {
        b.th[i].vc = &b.vc_store[(size_t)i * b.nvc];
        b.th[i].vc[i] = 1; /* own clock starts past everyone's initial view */
    }
    b.vc_on = true;
}

void vc_release_join(Thread &t, std::vector<uint32_t> &into)
{
    const int n = t.blk->nvc;
    if ((int)into.size() < n) into.resize(n, 0);
    for (int i = 0; i < n; ++i) into[i] = std::max(into[i], t.vc[i]);
    t.vc[t.tid]++;
}

void vc_acquire(Thread &t, const std::vector<uint32_t> &from)
{
    const int n = std::min<int>(t.blk->nvc, (int)from.size());
    for (int i = 0; i < n; ++i)
        if (i != t.tid) t.vc[i] = std::max(t.vc[i], from[i]);
}

/* One shadow for every block (they run one at a time); an epoch per block
 * empties it without clearing it. */
std::vector<Block::Cell> g_shadow;
uint32_t g_epoch;

void race_begin_block(Block &b)
{
    if (g_shadow.size() < b.win_size) g_shadow.assign(b.win_size, Block::Cell{});
    if (++g_epoch == 0) { /* wrapped: really clear */
        std::fill(g_shadow.begin(), g_shadow.end(), Block::Cell{});
        g_epoch = 1;
    }
    b.shadow = g_shadow.data();
    b.epoch = g_epoch;
}

Block::Cell &shadow_cell(Block &b, uint32_t off)
{
    Block::Cell &c = b.shadow[off];
    if (c.epoch != b.epoch) {
        c.epoch = b.epoch;
        c.wc = c.rc[0] = c.rc[1] = 0;
        c.wt = c.rt[0] = c.rt[1] = kNone;
    }
    return c;
}

void smem_read(Thread &t, uint32_t saddr, uint32_t bytes, const char *what) { smem_access(t, saddr, bytes, false, what); }
void smem_write(Thread &t, uint32_t saddr, uint32_t bytes, const char *what) { smem_access(t, saddr, bytes, true, what); }

void smem_write_async(Block &b, int slot, const uint32_t *issuer_vc, uint32_t clock, uint32_t saddr, uint32_t bytes,
                      const char *what)
{
    if (!declared(b, saddr, bytes))
        fault(cudaErrorIllegalAddress, "%s: shared address 0x%x (+%u) outside the declared shared memory", what, saddr,
              bytes);
    const int who = b.nthreads + slot;
    for (uint32_t i = 0; i < bytes; ++i) access_byte(b, saddr + i, who, issuer_vc, clock, true, what);
}

void alloc_freed() { memset(g_last, 0, sizeof g_last); }

void global_read_range(const void *p, size_t bytes, const char *what)
{
    if (!bytes) return;
    Alloc *al = find_alloc(p);
    if (!al || (uintptr_t)p + bytes > al->base + al->size)
        fault(cudaErrorIllegalAddress, "%s reads %zu bytes at %p: not inside one device allocation", what, bytes, p);
}

void atomic_access(const void *p, size_t bytes)
{
    Thread *t = t_cur;
    if (!t) return;
    const uintptr_t a = (uintptr_t)p;
    Block &b = *t->blk;
    if (a - (uintptr_t)b.win < b.win_size) {
        if (!declared(b, (uint32_t)(a - (uintptr_t)b.win), (uint32_t)bytes))
            fault(cudaErrorIllegalAddress, "atomic at shared address 0x%x outside the declared shared memory",
                  (unsigned)(a - (uintptr_t)b.win));
        return;
    }
    if (a % bytes) fault(cudaErrorMisalignedAddress, "atomic of %zu bytes at %p is misaligned", bytes, p);
    Alloc *al = find_alloc(p);
    if (!al || a + bytes > al->base + al->size)
        fault(cudaErrorIllegalAddress, "atomic of %zu bytes at %p: not inside a device allocation", bytes, p);
}

} // namespace qbsim

/* ---- the hooks clang's load/store tracing calls from kernel code ---- */
extern "C" {
/* the function-entry counters the tracing mode needs (unused) */
void __sanitizer_cov_8bit_counters_init(char *, char *) {}
void __sanitizer_cov_load1(uint8_t *p) { qbsim::on_access(p, 1, false); }
void __sanitizer_cov_load2(uint16_t *p) { qbsim::on_access(p, 2, false); }
void __sanitizer_cov_load4(uint32_t *p) { qbsim::on_access(p, 4, false); }
void __sanitizer_cov_load8(uint64_t *p) { qbsim::on_access(p, 8, false); }
void __sanitizer_cov_load16(__int128 *p) { qbsim::on_access(p, 16, false); }
void __sanitizer_cov_store1(uint8_t *p) { qbsim::on_access(p, 1, true); }
void __sanitizer_cov_store2(uint16_t *p) { qbsim::on_access(p, 2, true); }
void __sanitizer_cov_store4(uint32_t *p) { qbsim::on_access(p, 4, true); }
void __sanitizer_cov_store8(uint64_t *p) { qbsim::on_access(p, 8, true); }
void __sanitizer_cov_store16(__int128 *p) { qbsim::on_access(p, 16, true); }
}
