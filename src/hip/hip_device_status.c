/* hip_device_status.c - qblas_device_status on the HIP (AMD) backend: the
 * device-side checks' words of the handle (hip_backend.h, qb_hip_dev).
 *
 * It waits for its stream, copies the words to the host and resets them
 * (stream-ordered copy and memsets, then one synchronization), and turns
 * the first record into a status and a reason, in this order: the status
 * word (activation quantization's static scale), the W4A8 prepack check's
 * smallest record, the 2:4 meta check's flag. The launcher table has no
 * atomic take (CUDA's qb_dev_take), so a record that a kernel on another
 * stream writes between the copy and the reset is lost; on the stream
 * itself nothing is. Records and words: cuda_kernels.h, "device-side
 * checks" (the messages are cuda_device_status.c's for the checks the HIP
 * backend has: duplicated, it is a static function of the CUDA backend). */
#include <string.h>

#include "hip_backend.h"

static qblas_status_t explain(qblas_handle_t h, unsigned long long rec)
{
    const int check = (int)(rec >> 56), detail = (int)(rec & 0xFF);
    const long long index = (long long)((rec >> 8) & 0xFFFFFFFFFFFFull);
    const qblas_status_t bad = QBLAS_STATUS_INVALID_VALUE;
    switch (check) {
    case QB_DEV_QACT_SCALE: {
        const uint32_t bits = (uint32_t)index;
        float v;
        memcpy(&v, &bits, sizeof v);
        return qb_fail(h, bad, "qblas_quantize_act: static activation scale %g must be finite and > 0 (nothing written)",
                       (double)v);
    }
    case QB_DEV_I8_ZERO:
        return qb_fail(h, bad, "qblas_gemm: activation zero point zeros[%lld] outside -128..127 (nothing written)",
                       index);
    case QB_DEV_W4A8: {
        static const char *const why[4] = {"?", "group scale s2 < 1", "zero point z > 15",
                                           "(code - z) * s2 leaves int8 for a code of the group"};
        return qb_fail(h, bad,
                       "qblas_prepack: W4A8 (group, row) element %lld of [groups][n]: %s (the HIP packed weight is "
                       "unspecified)",
                       index, why[detail & 3]);
    }
    default:
        return qb_fail(h, QBLAS_STATUS_INTERNAL_ERROR, "device status record 0x%016llx of no known check", rec);
    }
}

qblas_status_t qb_hip_device_status(qblas_handle_t h, void *stream, qblas_status_t *status)
{
    hipStream_t s = (hipStream_t)stream;
    qb_hip_dev *d = qb_hip(h)->dev;
    qb_hip_dev got;
    hipStreamCaptureStatus cap = hipStreamCaptureStatusNone;
    qblas_status_t st = qb_hip_on_device(h);
    if (st) return st;
    const hipError_t e = hipStreamIsCapturing(s, &cap);
    if (e == hipErrorStreamCaptureImplicit) (void)hipGetLastError(), cap = hipStreamCaptureStatusActive;
    else if (e != hipSuccess) return qb_hip_status(h, e, "hipStreamIsCapturing");
    if (cap != hipStreamCaptureStatusNone)
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE,
                       "qblas_device_status synchronizes: not on a stream that is capturing (nothing was read)");
    memset(&got, 0, sizeof got);
    QB_HIP_TRY(h, hipMemcpyAsync(&got, d, sizeof got, hipMemcpyDeviceToHost, s));
    QB_HIP_TRY(h, hipMemsetAsync(&d->status, 0, sizeof d->status, s));
    QB_HIP_TRY(h, hipMemsetAsync(&d->w4a8_first, 0xFF, sizeof d->w4a8_first, s));
    QB_HIP_TRY(h, hipMemsetAsync(&d->sp24_bad, 0, sizeof d->sp24_bad, s));
    QB_HIP_TRY(h, hipStreamSynchronize(s)); /* also reports a fault of the stream's earlier work */
    if (got.status)
        *status = explain(h, got.status);
    else if (got.w4a8_first != QB_DEV_PASS)
        *status = explain(h, got.w4a8_first);
    else if (got.sp24_bad)
        *status = qb_fail(h, QBLAS_STATUS_INVALID_VALUE,
                          "qblas_prepack: a 2:4 meta field has i0 >= i1 (only 0x4 0x8 0xC 0x9 0xD 0xE are valid; the "
                          "HIP packed weight is unspecified)");
    return QBLAS_STATUS_SUCCESS;
}
