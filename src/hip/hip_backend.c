/* hip_backend.c - the HIP (AMD) backend's operation table (registered
 * through QBLAS_BACKEND_OPS like every backend: no core file names it).
 *
 * State of the backend (docs/FORMATS.md, "HIP (AMD) backend"): the kernels
 * are compiled for gfx90a and gfx942 and checked by disassembly (ctest
 * hip_mfma_check); the host side that plans, prepacks and launches them is
 * not written yet. So:
 *   - device_count counts the devices whose target this build has code for
 *     (gfx90a, gfx942), and is 0 - quietly - when the HIP runtime finds no
 *     device or no driver (the CI machines: libamdhip64 is there, /dev/kfd
 *     is not);
 *   - on a machine with such a device, qblas_create(QBLAS_BACKEND_HIP)
 *     answers NOT_SUPPORTED with a message saying so, rather than a handle
 *     whose operations would not run: nothing here claims to work.
 * tuning_kernels lists the kernels each target has (hip_registry.c), so the
 * names are fixed before the dispatch exists. */
#include <stdio.h>
#include <string.h>

#include <hip/hip_runtime_api.h>

#include "core/qblas_internal.h"
#include "hip_registry.h"

/* The device's target ("gfx942" from "gfx942:sramecc+:xnack-"), or NULL. */
static const qb_hip_target *target_of(int d)
{
    hipDeviceProp_t prop;
    if (hipGetDeviceProperties(&prop, d) != hipSuccess) return NULL;
    char arch[sizeof prop.gcnArchName];
    snprintf(arch, sizeof arch, "%s", prop.gcnArchName);
    char *colon = strchr(arch, ':');
    if (colon) *colon = '\0';
    return qb_hip_target_find(arch);
}

static int hip_device_count(void)
{
    int n = 0, usable = 0;
    if (hipGetDeviceCount(&n) != hipSuccess) {
        (void)hipGetLastError();
        return 0;
    }
    for (int d = 0; d < n; d++) usable += target_of(d) != NULL;
    (void)hipGetLastError();
    return usable;
}

static qblas_status_t hip_init(qblas_handle_t h)
{
    int n = 0;
    const hipError_t e = hipGetDeviceCount(&n);
    if (e != hipSuccess || n == 0) {
        (void)hipGetLastError();
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "no HIP device (%s)",
                       e != hipSuccess ? hipGetErrorString(e) : "the runtime reports none");
    }
    if (h->device >= n)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "HIP device %d requested, %d present", h->device, n);
    const qb_hip_target *t = target_of(h->device);
    if (!t)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "HIP device %d: no code for its target (built: gfx90a, gfx942)",
                       h->device);
    return qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED,
                   "HIP backend: the %s kernels are compiled, but the host dispatch (planning, prepack, launches) "
                   "is not written yet",
                   t->name);
}

static void hip_fini(qblas_handle_t h) { (void)h; }

static qblas_status_t hip_tuning_device(qblas_handle_t h, qblas_tuning_header_t *id)
{
    (void)id;
    return qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, "HIP backend: no tuning identity yet");
}

static size_t hip_tuning_kernels(qblas_handle_t h, qblas_wformat_t f, qblas_dtype_t act, const char **names,
                                 size_t cap)
{
    const qb_hip_target *t = h->device >= 0 ? target_of(h->device) : NULL;
    return t ? qb_hip_target_kernels(t, f, act, names, cap) : 0;
}

const qb_backend_ops qb_hip_backend_ops = {
    .name = "hip",
    .id = QBLAS_BACKEND_HIP,
    .device_count = hip_device_count,
    .init = hip_init,
    .fini = hip_fini,
    .tuning_device = hip_tuning_device,
    .tuning_kernels = hip_tuning_kernels,
};
