/* runtime.cc - the CUDA runtime API of the simulated device.
 *
 * One simulated device, its architecture chosen per run:
 *   QBLAS_SIM_ARCH = sm_80 | sm_89 | sm_90a | gfx90a | gfx942 (default sm_90a;
 *                    an AMD device is seen by the hip* names, hip_runtime.cc)
 *   QBLAS_SIM_SEED = the schedule's seed (default: from the clock; printed)
 *   QBLAS_SIM_SMS  = multiprocessor count to report (default: the card's)
 * Its properties are those of a real card of that architecture (A100,
 * L40S, H200): the limits the driver enforces (launch dimensions, shared
 * memory per block with and without opt-in) are enforced here with the
 * driver's error codes.
 *
 * Asynchronous work is late: launches, asynchronous copies and memsets are
 * queued and run only when the host synchronizes (cudaStreamSynchronize,
 * cudaDeviceSynchronize, cudaEventSynchronize, a synchronous cudaMemcpy,
 * cudaFree, a device-to-pageable copy), in submission order. A fault in a
 * kernel is returned by that synchronizing call (the real runtime's error
 * would be sticky; here the next call starts clean, so one failing case
 * does not take the rest of a test program with it).
 *
 * Stream capture records the captured stream's work into a graph instead
 * of running it; the calls the real runtime refuses during capture
 * (synchronization, allocation, synchronous copies, work on the legacy
 * stream; "Capture rules" below) are refused with its error codes and
 * invalidate the capture.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cxxabi.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "cuda.h"
#include "sim/sim_internal.h"

struct CUstream_st {
    unsigned flags = 0;
    bool capturing = false, invalidated = false;
    bool relaxed = false; /* captures in cudaStreamCaptureModeRelaxed */
    CUgraph_st *graph = nullptr;
};
struct CUevent_st {
    bool recorded = false, done = false;
    double ms = 0;           /* host time when it completed (meaningless for speed: simulated) */
    CUgraph_st *captured = nullptr;
};

namespace qbsim {

/* ---- the device ---- */
namespace {
const DeviceSpec kSpecs[] = {
    {"sm_80", "NVIDIA A100-SXM4-80GB (qblas simulated sm_80)", 80, false, 108, 166912, 167936, 1024, 65536, 2048, 32,
     40 << 20, (size_t)80 << 30, 32, false},
    {"sm_89", "NVIDIA L40S (qblas simulated sm_89)", 89, false, 142, 101376, 102400, 1024, 65536, 1536, 24, 96 << 20,
     (size_t)48 << 30, 32, false},
    {"sm_90a", "NVIDIA H200 (qblas simulated sm_90a)", 90, true, 132, 232448, 233472, 1024, 65536, 2048, 32, 50 << 20,
     (size_t)141 << 30, 32, false},
    /* AMD CDNA: 64 KiB of LDS per work-group (no opt-in, nothing reserved),
     * 2048 work-items (32 wave64 slots) per CU; MI250X: one GCD's 110 CUs
     * and 8 MiB L2; MI300X: 304 CUs, 4 MiB L2 per XCD (the 256 MiB Infinity
     * Cache not counted) */
    {"gfx90a", "AMD Instinct MI250X (qblas simulated gfx90a)", 0, false, 110, 65536, 65536, 0, 131072, 2048, 32,
     8 << 20, (size_t)64 << 30, 64, true},
    {"gfx942", "AMD Instinct MI300X (qblas simulated gfx942)", 0, false, 304, 65536, 65536, 0, 131072, 2048, 32,
     4 << 20, (size_t)192 << 30, 64, true},
};

struct State {
    DeviceSpec dev;
    uint64_t seed = 0;
    uint64_t launches = 0, submitted = 0; /* launches run, launches submitted */
    std::map<uintptr_t, Alloc> allocs;
    size_t allocated = 0;
    std::map<const void *, Kernel> kernels;
    cudaError_t async_error = cudaSuccess;
    int current_device = 0;
};

State &st()
{
    static State *s = [] {
        State *n = new State;
        const char *a = getenv("QBLAS_SIM_ARCH");
        const DeviceSpec *spec = &kSpecs[2];
        if (a && *a) {
            spec = nullptr;
            for (const DeviceSpec &d : kSpecs)
                if (strcmp(a, d.arch) == 0) spec = &d;
            if (!spec) {
                fprintf(stderr, "qbsim: QBLAS_SIM_ARCH=%s: choose sm_80, sm_89, sm_90a, gfx90a or gfx942\n", a);
                exit(2);
            }
        }
        n->dev = *spec;
        const char *sms = getenv("QBLAS_SIM_SMS");
        if (sms && atoi(sms) > 0) n->dev.sms = atoi(sms);
        const char *seed = getenv("QBLAS_SIM_SEED");
        n->seed = seed && *seed ? strtoull(seed, nullptr, 0)
                                : (uint64_t)time(nullptr) * 0x9E3779B97F4A7C15ull ^ (uint64_t)clock();
        fprintf(stderr, "qbsim: simulated %s (%s, %d SMs), schedule seed %llu (QBLAS_SIM_SEED repeats it)\n",
                n->dev.arch, n->dev.name, n->dev.sms, (unsigned long long)n->seed);
        return n;
    }();
    return *s;
}

thread_local cudaError_t t_last = cudaSuccess;

cudaError_t ret(cudaError_t e)
{
    if (e != cudaSuccess) t_last = e;
    return e;
}

double now_ms()
{
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

/* ---- queued work ---- */
struct Op {
    enum Kind { LAUNCH, COPY, SET, EVENT } kind;
    cudaStream_t stream;
    Op(Kind k, cudaStream_t s) : kind(k), stream(s) {}
    std::shared_ptr<Launch> L; /* LAUNCH */
    void *dst = nullptr;       /* COPY, SET */
    const void *src = nullptr; /* COPY: read at run time (device or pinned memory) ... */
    std::vector<uint8_t> staged; /* ... or staged at the call (pageable host memory) */
    size_t n = 0;
    int value = 0;
    CUevent_st *ev = nullptr;
};
std::deque<Op> g_queue;

void run_op(Op &op)
{
    switch (op.kind) {
    case Op::LAUNCH: {
        op.L->serial = ++st().launches;
        const cudaError_t e = run_launch(*op.L);
        if (e != cudaSuccess && st().async_error == cudaSuccess) st().async_error = e;
        break;
    }
    /* n == 0: an emptied op (a destroyed event's pending record), whose dst is NULL */
    case Op::COPY: if (op.n) memcpy(op.dst, op.staged.empty() ? op.src : op.staged.data(), op.n); break;
    case Op::SET: if (op.n) memset(op.dst, op.value, op.n); break;
    case Op::EVENT:
        op.ev->done = true;
        op.ev->ms = now_ms();
        break;
    }
}

/* Run everything queued; the first fault since the last report is returned (and cleared). */
cudaError_t drain()
{
    while (!g_queue.empty()) {
        Op op = std::move(g_queue.front());
        g_queue.pop_front();
        run_op(op);
    }
    const cudaError_t e = st().async_error;
    st().async_error = cudaSuccess;
    return e;
}

bool is_default(cudaStream_t s) { return s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread; }

/* Capture rules, as the CUDA runtime documents them
 * (cudaThreadExchangeStreamCaptureMode, cudaStreamBeginCapture; the codes
 * from cudaError's list: 900 cudaErrorStreamCaptureUnsupported, 901
 * cudaErrorStreamCaptureInvalidated, 906 cudaErrorStreamCaptureImplicit):
 *  - a "potentially unsafe" call (allocation, free, synchronization, a
 *    synchronous copy) while a capture of mode global or thread-local is
 *    active fails with 900 and invalidates it (EndCapture then answers
 *    901). The simulator's host is one thread, so thread-local acts as
 *    global; relaxed captures allow these calls (the documented case:
 *    cudaMalloc).
 *  - whatever the mode, work on the legacy stream while a blocking stream
 *    captures (the implicit synchronization between them) fails with 906,
 *    and synchronizing or querying the capturing stream itself fails with
 *    900; both invalidate the capture. */
struct CaptureSet {
    std::vector<CUstream_st *> streams;
};
CaptureSet g_capturing;

bool strict_capture()
{
    for (CUstream_st *s : g_capturing.streams)
        if (!s->relaxed) return true;
    return false;
}
cudaError_t capture_guard(cudaError_t e)
{
    if (!strict_capture()) return cudaSuccess;
    for (CUstream_st *s : g_capturing.streams)
        if (!s->relaxed) s->invalidated = true;
    return e;
}
/* Work on (or a wait for) the legacy stream. */
cudaError_t legacy_guard()
{
    bool hit = false;
    for (CUstream_st *s : g_capturing.streams)
        if (!(s->flags & cudaStreamNonBlocking)) s->invalidated = hit = true;
    return hit ? cudaErrorStreamCaptureImplicit : cudaSuccess;
}

} // namespace

struct GraphOps {
    std::vector<Op> ops;
};

const DeviceSpec &device() { return st().dev; }
int arch_code() { return device().cc == 89 ? 890 : device().cc * 10; }

const Alloc *alloc_below(uintptr_t a)
{
    auto &m = st().allocs;
    auto it = m.upper_bound(a);
    return it == m.begin() ? nullptr : &std::prev(it)->second;
}

Alloc *find_alloc(const void *p)
{
    auto &m = st().allocs;
    const uintptr_t a = (uintptr_t)p;
    auto it = m.upper_bound(a);
    if (it == m.begin()) return nullptr;
    --it;
    return a < it->second.base + it->second.size ? &it->second : nullptr;
}

/* nvcc's record of every kernel's __launch_bounds__ (generated:
 * cmake/sim_launch_bounds.cmake), by demangled signature. */
struct LaunchBound {
    const char *mangled;
    int max_threads;
};
extern const LaunchBound kLaunchBounds[];
extern const size_t kLaunchBoundsCount;

namespace {
std::string demangle(const char *m)
{
    int status = 0;
    char *d = abi::__cxa_demangle(m, nullptr, nullptr, &status);
    std::string r = status == 0 && d ? d : m;
    free(d);
    return r;
}

/* "void ns::kernel<args>(params)" or "ns::kernel(params)" -> "ns::kernel<args>":
 * how the simulator's and nvcc's names of one kernel agree. */
std::string kernel_name(std::string s)
{
    static const std::string anon = "(anonymous namespace)";
    if (s.compare(0, 5, "void ") == 0) s.erase(0, 5);
    int depth = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s.compare(i, anon.size(), anon) == 0) {
            i += anon.size() - 1;
            continue;
        }
        if (s[i] == '<') depth++;
        if (s[i] == '>') depth--;
        if (s[i] == '(' && depth == 0) return s.substr(0, i);
    }
    return s;
}

const std::map<std::string, int> &launch_bounds()
{
    static const std::map<std::string, int> table = [] {
        std::map<std::string, int> t;
        for (size_t i = 0; i < kLaunchBoundsCount; ++i)
            t[kernel_name(demangle(kLaunchBounds[i].mangled))] = kLaunchBounds[i].max_threads;
        return t;
    }();
    return table;
}
} // namespace

Kernel &kernel_for(const void *fn, const char *mangled)
{
    Kernel &k = st().kernels[fn];
    k.fn = fn;
    if (k.name.empty() && mangled) {
        /* "qbsim::Launcher<&(void ns::kernel<args>(params))>" or "qbsim::Launcher<&ns::kernel>" */
        std::string t = demangle(mangled);
        const size_t a = t.find("Launcher<&");
        if (a != std::string::npos && t.size() > a + 11) {
            t = t.substr(a + 10, t.size() - a - 11); /* drop "Launcher<&" and the final '>' */
            if (t.size() > 2 && t.front() == '(' && t.back() == ')' && t.compare(0, 21, "(anonymous namespace)") != 0)
                t = t.substr(1, t.size() - 2);
        }
        k.name = kernel_name(t);
        if (device().amd) {
            /* the LDS a work-group may have, with no opt-in; the kernels'
             * __launch_bounds__ as the AMD compiler saw them are not known
             * here (the table comes from nvcc's PTX): only the 1024 limit */
            k.max_dyn_smem = device().smem_optin;
            return k;
        }
        auto it = launch_bounds().find(k.name);
        k.max_threads = it != launch_bounds().end() ? it->second : -1;
        if (k.max_threads < 0 && kLaunchBoundsCount > 0)
            fprintf(stderr, "qbsim: no launch-bounds record for kernel %s (its threads per block are not checked)\n",
                    k.name.c_str());
    }
    return k;
}

} // namespace qbsim

struct CUgraph_st {
    qbsim::GraphOps g;
};
struct CUgraphExec_st {
    qbsim::GraphOps g;
};

using namespace qbsim;

namespace {

/* Where queued work goes: the capturing stream's graph, or the device queue. */
cudaError_t enqueue(Op &&op)
{
    CUstream_st *s = is_default(op.stream) ? nullptr : op.stream;
    if (s && s->capturing) {
        if (s->invalidated) return cudaErrorStreamCaptureInvalidated;
        s->graph->g.ops.push_back(std::move(op));
        return cudaSuccess;
    }
    if (!s)
        if (cudaError_t e = legacy_guard()) return e;
    g_queue.push_back(std::move(op));
    return cudaSuccess;
}

bool device_range(const void *p, size_t n)
{
    Alloc *a = find_alloc(p);
    return a && a->device && (uintptr_t)p + n <= a->base + a->size;
}

} // namespace

namespace qbsim {

void submit_launch(const void *fn, const char *mangled, dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                   std::shared_ptr<const void> args, size_t args_bytes, void (*entry)(const void *args))
{
    Kernel &k = kernel_for(fn, mangled);
    const uint64_t threads = (uint64_t)block.x * block.y * block.z;
    if (!block.x || !block.y || !block.z || block.x > 1024 || block.y > 1024 || block.z > 64 || threads > 1024 ||
        !grid.x || !grid.y || !grid.z || grid.x > 0x7FFFFFFFu || grid.y > 65535 || grid.z > 65535) {
        ret(cudaErrorInvalidConfiguration);
        return;
    }
    if (k.max_threads > 0 && threads > (uint64_t)k.max_threads) {
        /* more threads than the kernel's __launch_bounds__: the driver refuses the launch */
        ret(cudaErrorInvalidValue);
        return;
    }
    if (smem > (size_t)k.max_dyn_smem) {
        /* the driver refuses dynamic shared memory beyond the kernel's attribute (48 KiB unless raised) */
        ret(cudaErrorInvalidValue);
        return;
    }
    auto L = std::make_shared<Launch>();
    L->k = &k;
    L->grid = grid, L->block = block, L->smem = smem;
    L->args = std::move(args);
    L->args_bytes = args_bytes;
    L->entry = entry;
    if (device().amd) {
        /* hsa_kernel_dispatch_packet_t (hsa.h): workgroup_size_x/y/z (u16) at
         * byte 4, 6, 8; grid_size_x/y/z (u32, work-items) at 12, 16, 20 */
        const uint16_t wg[3] = {(uint16_t)block.x, (uint16_t)block.y, (uint16_t)block.z};
        const uint64_t gx = (uint64_t)grid.x * block.x, gy = (uint64_t)grid.y * block.y, gz = (uint64_t)grid.z * block.z;
        if (gx > 0xFFFFFFFFu || gy > 0xFFFFFFFFu || gz > 0xFFFFFFFFu) {
            ret(cudaErrorInvalidConfiguration); /* the packet's grid sizes are 32-bit */
            return;
        }
        const uint32_t gs[3] = {(uint32_t)gx, (uint32_t)gy, (uint32_t)gz};
        memcpy(L->hsa_packet + 4, wg, sizeof wg);
        memcpy(L->hsa_packet + 12, gs, sizeof gs);
    }
    L->seed = st().seed ^ (0xD1B54A32D192ED03ull * ++st().submitted);
    Op op(Op::LAUNCH, stream);
    op.L = std::move(L);
    const cudaError_t e = enqueue(std::move(op));
    if (e != cudaSuccess) ret(e);
}

} // namespace qbsim

extern "C" {

/* ---- device management ---- */
cudaError_t cudaGetDeviceCount(int *count)
{
    if (!count) return ret(cudaErrorInvalidValue);
    *count = st().dev.amd ? 0 : 1; /* an AMD device is the HIP runtime's (hip_runtime.cc) */
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int *device)
{
    if (!device) return ret(cudaErrorInvalidValue);
    *device = st().current_device;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int device)
{
    if (device != 0) return ret(cudaErrorInvalidDevice);
    st().current_device = 0;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)
{
    if (!value) return ret(cudaErrorInvalidValue);
    if (device != 0) return ret(cudaErrorInvalidDevice);
    const DeviceSpec &d = st().dev;
    switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrMaxBlockDimX: *value = 1024; break;
    case cudaDevAttrMaxBlockDimY: *value = 1024; break;
    case cudaDevAttrMaxBlockDimZ: *value = 64; break;
    case cudaDevAttrMaxGridDimX: *value = 0x7FFFFFFF; break;
    case cudaDevAttrMaxGridDimY: *value = 65535; break;
    case cudaDevAttrMaxGridDimZ: *value = 65535; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = 49152; break;
    case cudaDevAttrTotalConstantMemory: *value = 65536; break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMaxRegistersPerBlock: *value = 65536; break;
    case cudaDevAttrClockRate: *value = 1980000; break;
    case cudaDevAttrMultiProcessorCount: *value = d.sms; break;
    case cudaDevAttrIntegrated: *value = 0; break;
    case cudaDevAttrCanMapHostMemory: *value = 1; break;
    case cudaDevAttrComputeMode: *value = 0; break;
    case cudaDevAttrConcurrentKernels: *value = 1; break;
    case cudaDevAttrEccEnabled: *value = 1; break;
    case cudaDevAttrPciBusId: *value = 0; break;
    case cudaDevAttrMemoryClockRate: *value = 2619000; break;
    case cudaDevAttrGlobalMemoryBusWidth: *value = 5120; break;
    case cudaDevAttrL2CacheSize: *value = d.l2_bytes; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = d.max_threads_per_sm; break;
    case cudaDevAttrUnifiedAddressing: *value = 1; break;
    case cudaDevAttrComputeCapabilityMajor: *value = d.cc / 10; break;
    case cudaDevAttrComputeCapabilityMinor: *value = d.cc % 10; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *value = d.smem_per_sm; break;
    case cudaDevAttrMaxRegistersPerMultiprocessor: *value = d.regs_per_sm; break;
    case cudaDevAttrManagedMemory: *value = 0; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = d.smem_optin; break;
    case cudaDevAttrMaxBlocksPerMultiprocessor: *value = d.max_blocks_per_sm; break;
    case cudaDevAttrReservedSharedMemoryPerBlock: *value = d.smem_reserved; break;
    default: return ret(cudaErrorInvalidValue);
    }
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *p, int device)
{
    if (!p) return ret(cudaErrorInvalidValue);
    if (device != 0) return ret(cudaErrorInvalidDevice);
    const DeviceSpec &d = st().dev;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", d.name);
    p->totalGlobalMem = d.global_bytes;
    p->sharedMemPerBlock = 49152;
    p->regsPerBlock = 65536;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024, p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 0x7FFFFFFF, p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    p->major = d.cc / 10, p->minor = d.cc % 10;
    p->multiProcessorCount = d.sms;
    p->l2CacheSize = d.l2_bytes;
    p->maxThreadsPerMultiProcessor = d.max_threads_per_sm;
    p->sharedMemPerMultiprocessor = (size_t)d.smem_per_sm;
    p->regsPerMultiprocessor = d.regs_per_sm;
    p->sharedMemPerBlockOptin = (size_t)d.smem_optin;
    p->reservedSharedMemPerBlock = (size_t)d.smem_reserved;
    p->memoryBusWidth = 5120;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    if (cudaError_t e = capture_guard(cudaErrorStreamCaptureUnsupported)) return ret(e);
    return ret(drain());
}
cudaError_t cudaDeviceReset(void) { return cudaDeviceSynchronize(); }
cudaError_t cudaRuntimeGetVersion(int *v)
{
    if (!v) return ret(cudaErrorInvalidValue);
    *v = CUDART_VERSION;
    return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int *v)
{
    if (!v) return ret(cudaErrorInvalidValue);
    *v = CUDART_VERSION;
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    if (!free_bytes || !total_bytes) return ret(cudaErrorInvalidValue);
    *total_bytes = st().dev.global_bytes;
    *free_bytes = st().dev.global_bytes - st().allocated;
    return cudaSuccess;
}

/* ---- errors ---- */
cudaError_t cudaGetLastError(void)
{
    const cudaError_t e = t_last;
    t_last = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) { return t_last; }

const char *cudaGetErrorName(cudaError_t e)
{
    switch (e) {
#define QBSIM_E(n) \
    case n: return #n;
        QBSIM_E(cudaSuccess) QBSIM_E(cudaErrorInvalidValue) QBSIM_E(cudaErrorMemoryAllocation)
        QBSIM_E(cudaErrorInitializationError) QBSIM_E(cudaErrorInvalidConfiguration) QBSIM_E(cudaErrorInvalidSymbol)
        QBSIM_E(cudaErrorInvalidDevicePointer) QBSIM_E(cudaErrorInvalidMemcpyDirection)
        QBSIM_E(cudaErrorInsufficientDriver) QBSIM_E(cudaErrorInvalidDeviceFunction) QBSIM_E(cudaErrorNoDevice)
        QBSIM_E(cudaErrorInvalidDevice) QBSIM_E(cudaErrorNoKernelImageForDevice) QBSIM_E(cudaErrorUnsupportedPtxVersion)
        QBSIM_E(cudaErrorInvalidResourceHandle) QBSIM_E(cudaErrorIllegalState) QBSIM_E(cudaErrorNotReady)
        QBSIM_E(cudaErrorIllegalAddress) QBSIM_E(cudaErrorLaunchOutOfResources) QBSIM_E(cudaErrorLaunchTimeout)
        QBSIM_E(cudaErrorAssert) QBSIM_E(cudaErrorHardwareStackError) QBSIM_E(cudaErrorIllegalInstruction)
        QBSIM_E(cudaErrorMisalignedAddress) QBSIM_E(cudaErrorInvalidAddressSpace) QBSIM_E(cudaErrorInvalidPc)
        QBSIM_E(cudaErrorLaunchFailure) QBSIM_E(cudaErrorNotPermitted) QBSIM_E(cudaErrorNotSupported)
        QBSIM_E(cudaErrorStreamCaptureUnsupported) QBSIM_E(cudaErrorStreamCaptureInvalidated)
        QBSIM_E(cudaErrorStreamCaptureMerge) QBSIM_E(cudaErrorStreamCaptureUnmatched)
        QBSIM_E(cudaErrorStreamCaptureUnjoined) QBSIM_E(cudaErrorStreamCaptureIsolation)
        QBSIM_E(cudaErrorStreamCaptureImplicit) QBSIM_E(cudaErrorCapturedEvent)
        QBSIM_E(cudaErrorStreamCaptureWrongThread) QBSIM_E(cudaErrorUnknown)
#undef QBSIM_E
    }
    return "cudaErrorUnknown";
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorNoKernelImageForDevice: return "no kernel image is available for execution on the device";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchTimeout: return "the launch timed out and was terminated";
    case cudaErrorIllegalInstruction: return "an illegal instruction was encountered";
    case cudaErrorMisalignedAddress: return "misaligned address";
    case cudaErrorInvalidAddressSpace: return "operation not supported on global/shared address space";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit:
        return "operation would make the legacy stream depend on a capturing blocking stream";
    default: return cudaGetErrorName(e);
    }
}

/* ---- memory ---- */
static cudaError_t alloc(void **p, size_t size, bool dev)
{
    if (!p) return ret(cudaErrorInvalidValue);
    *p = nullptr;
    if (cudaError_t e = capture_guard(cudaErrorStreamCaptureUnsupported)) return ret(e);
    if (size == 0) return cudaSuccess; /* as the runtime: a NULL pointer, success */
    if (size > st().dev.global_bytes - st().allocated) return ret(cudaErrorMemoryAllocation);
    void *m = nullptr;
    /* an exact-size heap block: AddressSanitizer sees the first byte past it */
    if (posix_memalign(&m, 256, size)) return ret(cudaErrorMemoryAllocation);
    memset(m, 0xFF, size); /* fresh device memory is garbage: make it NaN-shaped */
    Alloc a;
    a.base = (uintptr_t)m, a.size = size, a.device = dev;
    st().allocs.emplace(a.base, std::move(a));
    st().allocated += size;
    *p = m;
    return cudaSuccess;
}

static cudaError_t release(void *p, bool dev)
{
    if (!p) return cudaSuccess;
    if (cudaError_t e = capture_guard(cudaErrorStreamCaptureUnsupported)) return ret(e);
    auto it = st().allocs.find((uintptr_t)p);
    if (it == st().allocs.end() || it->second.device != dev) return ret(cudaErrorInvalidValue);
    const cudaError_t e = drain(); /* cudaFree synchronizes with the device */
    st().allocated -= it->second.size;
    st().allocs.erase(it);
    alloc_freed();
    free(p);
    return ret(e);
}

cudaError_t cudaMalloc(void **p, size_t size) { return alloc(p, size, true); }
cudaError_t cudaFree(void *p) { return release(p, true); }
cudaError_t cudaMallocHost(void **p, size_t size) { return alloc(p, size, false); }
cudaError_t cudaFreeHost(void *p) { return release(p, false); }

/* The kind must describe the pointers (device side inside one allocation). */
static cudaError_t check_copy(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind, bool *dst_dev,
                              bool *src_dev)
{
    if (n == 0) return cudaSuccess;
    if (!dst || !src) return cudaErrorInvalidValue;
    const bool dd = device_range(dst, n), sd = device_range(src, n);
    const Alloc *da = find_alloc(dst), *sa = find_alloc(src);
    if ((da && da->device && !dd) || (sa && sa->device && !sd)) return cudaErrorInvalidValue; /* runs past an allocation */
    switch (kind) {
    case cudaMemcpyHostToHost:
        if (dd || sd) return cudaErrorInvalidValue;
        break;
    case cudaMemcpyHostToDevice:
        if (!dd || sd) return cudaErrorInvalidValue;
        break;
    case cudaMemcpyDeviceToHost:
        if (dd || !sd) return cudaErrorInvalidValue;
        break;
    case cudaMemcpyDeviceToDevice:
        if (!dd || !sd) return cudaErrorInvalidValue;
        break;
    case cudaMemcpyDefault: break;
    default: return cudaErrorInvalidMemcpyDirection;
    }
    *dst_dev = dd, *src_dev = sd;
    return cudaSuccess;
}

static bool pinned(const void *p)
{
    const Alloc *a = find_alloc(p);
    return a && !a->device;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind)
{
    bool dd = false, sd = false;
    if (cudaError_t e = check_copy(dst, src, n, kind, &dd, &sd)) return ret(e);
    if (cudaError_t e = legacy_guard()) return ret(e);
    if (cudaError_t e = capture_guard(cudaErrorStreamCaptureUnsupported)) return ret(e);
    const cudaError_t e = drain(); /* synchronous: after all earlier work */
    if (e != cudaSuccess) return ret(e);
    if (n) memmove(dst, src, n);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind, cudaStream_t s)
{
    bool dd = false, sd = false;
    if (cudaError_t e = check_copy(dst, src, n, kind, &dd, &sd)) return ret(e);
    if (n == 0) return cudaSuccess;
    const bool capturing = s && !is_default(s) && s->capturing;
    if (!dd && !pinned(dst) && !capturing) {
        /* to pageable host memory: returns only once the copy has completed */
        const cudaError_t e = drain();
        if (e != cudaSuccess) return ret(e);
        memcpy(dst, src, n);
        return cudaSuccess;
    }
    Op op(Op::COPY, s);
    op.dst = dst, op.src = src, op.n = n;
    if (!sd && !pinned(src)) op.staged.assign((const uint8_t *)src, (const uint8_t *)src + n); /* pageable source: staged now */
    return ret(enqueue(std::move(op)));
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t n, cudaStream_t s)
{
    if (n == 0) return cudaSuccess;
    if (!device_range(p, n) && !pinned(p)) return ret(cudaErrorInvalidValue);
    Op op(Op::SET, s);
    op.dst = p, op.value = value, op.n = n;
    return ret(enqueue(std::move(op)));
}
cudaError_t cudaMemset(void *p, int value, size_t n) { return cudaMemsetAsync(p, value, n, nullptr); }

cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *at, const void *p)
{
    if (!at) return ret(cudaErrorInvalidValue);
    const Alloc *a = find_alloc(p);
    at->device = 0;
    if (!a) {
        at->type = cudaMemoryTypeUnregistered; /* CUDA 11+: an unknown host pointer is not an error */
        at->devicePointer = at->hostPointer = nullptr;
        at->device = -2;
    } else if (a->device) {
        at->type = cudaMemoryTypeDevice;
        at->devicePointer = const_cast<void *>(p), at->hostPointer = nullptr;
    } else {
        at->type = cudaMemoryTypeHost;
        at->devicePointer = at->hostPointer = const_cast<void *>(p);
    }
    return cudaSuccess;
}

/* ---- streams and events ---- */
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int flags)
{
    if (!s) return ret(cudaErrorInvalidValue);
    *s = new CUstream_st;
    (*s)->flags = flags;
    return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t *s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }
cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    if (is_default(s)) return ret(cudaErrorInvalidResourceHandle);
    if (s->capturing) return ret(cudaErrorStreamCaptureUnsupported);
    delete s; /* its queued work still runs (the runtime's semantics) */
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    if (!is_default(s) && s->capturing) {
        s->invalidated = true;
        return ret(cudaErrorStreamCaptureUnsupported);
    }
    if (is_default(s))
        if (cudaError_t e = legacy_guard()) return ret(e);
    if (cudaError_t e = capture_guard(cudaErrorStreamCaptureUnsupported)) return ret(e);
    return ret(drain());
}
cudaError_t cudaStreamQuery(cudaStream_t s)
{
    if (!is_default(s) && s->capturing) {
        s->invalidated = true;
        return ret(cudaErrorStreamCaptureUnsupported);
    }
    return ret(drain()); /* the simulator finishes the work it is asked about */
}
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t ev, unsigned int)
{
    if (!ev) return ret(cudaErrorInvalidResourceHandle);
    return cudaSuccess; /* one in-order queue: every earlier record is already before us */
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *ev, unsigned int)
{
    if (!ev) return ret(cudaErrorInvalidValue);
    *ev = new CUevent_st;
    return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t *ev) { return cudaEventCreateWithFlags(ev, 0); }
cudaError_t cudaEventDestroy(cudaEvent_t ev)
{
    if (!ev) return ret(cudaErrorInvalidResourceHandle);
    for (Op &op : g_queue)
        if (op.ev == ev) op.ev = nullptr, op.kind = Op::SET, op.n = 0; /* a pending record of it does nothing */
    delete ev;
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t s)
{
    if (!ev) return ret(cudaErrorInvalidResourceHandle);
    ev->recorded = true, ev->done = false;
    Op op(Op::EVENT, s);
    op.ev = ev;
    return ret(enqueue(std::move(op)));
}
cudaError_t cudaEventSynchronize(cudaEvent_t ev)
{
    if (!ev) return ret(cudaErrorInvalidResourceHandle);
    if (cudaError_t e = capture_guard(cudaErrorStreamCaptureUnsupported)) return ret(e);
    return ret(drain());
}
cudaError_t cudaEventQuery(cudaEvent_t ev)
{
    if (!ev) return ret(cudaErrorInvalidResourceHandle);
    const cudaError_t e = drain();
    return ret(e != cudaSuccess ? e : cudaSuccess);
}
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
    if (!ms || !a || !b) return ret(cudaErrorInvalidResourceHandle);
    if (!a->done || !b->done) return ret(cudaErrorNotReady);
    *ms = (float)(b->ms - a->ms); /* host time of the simulation: says nothing about a GPU */
    return cudaSuccess;
}

/* ---- stream capture and graphs ---- */
cudaError_t cudaStreamBeginCapture(cudaStream_t s, enum cudaStreamCaptureMode mode)
{
    if (is_default(s)) return ret(cudaErrorStreamCaptureUnsupported); /* the legacy stream cannot be captured */
    if (s->capturing) return ret(cudaErrorIllegalState);
    s->capturing = true, s->invalidated = false, s->relaxed = mode == cudaStreamCaptureModeRelaxed;
    s->graph = new CUgraph_st;
    g_capturing.streams.push_back(s);
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g)
{
    if (is_default(s) || !g) return ret(cudaErrorInvalidValue);
    if (!s->capturing) return ret(cudaErrorIllegalState);
    s->capturing = false;
    auto &v = g_capturing.streams;
    v.erase(std::remove(v.begin(), v.end(), s), v.end());
    if (s->invalidated) {
        delete s->graph;
        s->graph = nullptr;
        *g = nullptr;
        return ret(cudaErrorStreamCaptureInvalidated);
    }
    *g = s->graph;
    s->graph = nullptr;
    return cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t s, enum cudaStreamCaptureStatus *status)
{
    if (!status) return ret(cudaErrorInvalidValue);
    /* the legacy stream while a blocking stream captures: 906, the capture not invalidated */
    if (is_default(s))
        for (CUstream_st *c : g_capturing.streams)
            if (!(c->flags & cudaStreamNonBlocking)) return ret(cudaErrorStreamCaptureImplicit);
    *status = is_default(s) || !s->capturing ? cudaStreamCaptureStatusNone
              : s->invalidated             ? cudaStreamCaptureStatusInvalidated
                                           : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long)
{
    if (!e || !g) return ret(cudaErrorInvalidValue);
    *e = new CUgraphExec_st;
    for (const Op &op : g->g.ops) {
        Op c(op.kind, nullptr);
        c.L = op.L, c.dst = op.dst, c.src = op.src, c.staged = op.staged, c.n = op.n, c.value = op.value, c.ev = op.ev;
        (*e)->g.ops.push_back(std::move(c));
    }
    return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s)
{
    if (!e) return ret(cudaErrorInvalidValue);
    for (const Op &op : e->g.ops) {
        Op c(op.kind, s);
        if (op.L) {
            c.L = std::make_shared<Launch>(*op.L); /* same kernel and parameters, a new run */
            c.L->seed ^= 0xA24BAED4963EE407ull * ++st().submitted;
        }
        c.dst = op.dst, c.src = op.src, c.staged = op.staged, c.n = op.n, c.value = op.value, c.ev = op.ev;
        if (cudaError_t r = enqueue(std::move(c))) return ret(r);
    }
    return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e)
{
    delete e;
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
    delete g;
    return cudaSuccess;
}

/* ---- kernels ---- */
cudaError_t cudaFuncSetAttribute(const void *fn, enum cudaFuncAttribute attr, int value)
{
    if (!fn) return ret(cudaErrorInvalidDeviceFunction);
    Kernel &k = kernel_for(fn, nullptr);
    switch (attr) {
    case cudaFuncAttributeMaxDynamicSharedMemorySize:
        if (value < 0 || value > st().dev.smem_optin) return ret(cudaErrorInvalidValue);
        k.max_dyn_smem = value;
        return cudaSuccess;
    case cudaFuncAttributePreferredSharedMemoryCarveout:
        if (value < -1 || value > 100) return ret(cudaErrorInvalidValue);
        return cudaSuccess;
    }
    return ret(cudaErrorInvalidValue);
}

cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *a, const void *fn)
{
    if (!a) return ret(cudaErrorInvalidValue);
    if (!fn) return ret(cudaErrorInvalidDeviceFunction);
    Kernel &k = kernel_for(fn, nullptr);
    memset(a, 0, sizeof *a);
    a->maxThreadsPerBlock = 1024;
    a->maxDynamicSharedSizeBytes = k.max_dyn_smem;
    a->ptxVersion = a->binaryVersion = st().dev.cc;
    return cudaSuccess;
}

/* ---- the driver's tensor-map encoder ---- */
CUresult cuTensorMapEncodeTiled(CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank, void *addr,
                                const cuuint64_t *dims, const cuuint64_t *strides, const cuuint32_t *box,
                                const cuuint32_t *estrides, CUtensorMapInterleave il, CUtensorMapSwizzle sw,
                                CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob)
{
    if (!map || !dims || !box || !estrides || (rank > 1 && !strides) || rank < 1 || rank > 5)
        return CUDA_ERROR_INVALID_VALUE;
    ptx::TensorMapParams p = {};
    p.data_type = (int)type, p.rank = rank, p.global_address = addr;
    for (cuuint32_t i = 0; i < rank; ++i) {
        p.global_dim[i] = dims[i], p.box_dim[i] = box[i], p.element_strides[i] = estrides[i];
        if (i + 1 < rank) p.global_strides[i] = strides[i];
    }
    p.interleave = (int)il, p.swizzle = (int)sw, p.l2_promotion = (int)l2, p.oob_fill = (int)oob;
    if (const char *why = ptx::tensor_map_encode(map, p)) {
        fprintf(stderr, "qbsim: cuTensorMapEncodeTiled: CUDA_ERROR_INVALID_VALUE: %s\n", why);
        return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

cudaError_t cudaGetDriverEntryPointByVersion(const char *symbol, void **fn, unsigned int, unsigned long long,
                                             cudaDriverEntryPointQueryResult *status)
{
    if (!symbol || !fn) return ret(cudaErrorInvalidValue);
    *fn = nullptr;
    if (strcmp(symbol, "cuTensorMapEncodeTiled") == 0) *fn = reinterpret_cast<void *>(&cuTensorMapEncodeTiled);
    if (status) *status = *fn ? cudaDriverEntryPointSuccess : cudaDriverEntryPointSymbolNotFound;
    return *fn || status ? cudaSuccess : ret(cudaErrorInvalidValue);
}
cudaError_t cudaGetDriverEntryPoint(const char *symbol, void **fn, unsigned long long flags,
                                    cudaDriverEntryPointQueryResult *status)
{
    return cudaGetDriverEntryPointByVersion(symbol, fn, CUDART_VERSION, flags, status);
}

} /* extern "C" */
