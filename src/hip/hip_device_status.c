/* hip_device_status.c - qblas_device_status on the HIP (AMD) backend, and
 * the prepack verdict: the same device block and records as CUDA's
 * (cuda_kernels.h, "device-side checks"), taken atomically by the table's
 * dev_take; core explains the record (qb_dev_explain). */
#include "hip_backend.h"

qblas_status_t qb_hip_device_status(qblas_handle_t h, void *stream, qblas_status_t *status)
{
    hipStream_t s = (hipStream_t)stream;
    qb_dev_block *b = qb_hip(h)->dev;
    unsigned long long rec = 0;
    hipStreamCaptureStatus cap = hipStreamCaptureStatusNone;
    qblas_status_t st = qb_hip_on_device(h);
    if (st) return st;
    const hipError_t e = hipStreamIsCapturing(s, &cap);
    if (e == hipErrorStreamCaptureImplicit) (void)hipGetLastError(), cap = hipStreamCaptureStatusActive;
    else if (e != hipSuccess) return qb_hip_status(h, e, "hipStreamIsCapturing");
    if (cap != hipStreamCaptureStatusNone)
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE,
                       "qblas_device_status synchronizes: not on a stream that is capturing (nothing was read)");
    QB_HIP_TRY(h, qb_hip(h)->k->dev_take(b, s)); /* status -> taken, status = 0, atomically */
    QB_HIP_TRY(h, hipMemcpyAsync(&rec, &b->taken, sizeof rec, hipMemcpyDeviceToHost, s));
    QB_HIP_TRY(h, hipStreamSynchronize(s)); /* also reports a fault of the stream's earlier work */
    if (rec) *status = qb_dev_explain(h, rec, "HIP");
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_hip_prepack_verdict(qblas_handle_t h, hipStream_t s, unsigned long long **verdict)
{
    *verdict = &qb_hip(h)->dev->verdict;
    QB_HIP_TRY(h, hipMemsetAsync(*verdict, 0xFF, sizeof **verdict, s)); /* QB_DEV_PASS */
    return QBLAS_STATUS_SUCCESS;
}
