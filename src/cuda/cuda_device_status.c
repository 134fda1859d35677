/* cuda_device_status.c - the host side of the device-side checks
 * (cuda_kernels.h, "device-side checks"; docs/API.md): qblas_device_status
 * and the prepack verdict.
 *
 * qblas_device_status waits for its stream, then takes the handle's status
 * word with one atomic exchange on the device (a record that lands between
 * the read and a separate clear could not be lost that way) and turns the
 * record into a status and a reason. */
#include "cuda_backend.h"

qblas_status_t qb_cuda_device_status(qblas_handle_t h, void *stream, qblas_status_t *status)
{
    cudaStream_t s = (cudaStream_t)stream;
    qb_dev_block *b = qb_cuda(h)->dev;
    unsigned long long rec = 0;
    enum cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;
    qblas_status_t st = qb_cuda_on_device(h);
    if (st) return st;
    /* asking is capture-safe; the read below would invalidate the caller's
     * capture. The legacy stream answers "implicit" while a blocking stream
     * captures: that is a capture too. */
    const cudaError_t e = cudaStreamIsCapturing(s, &cap);
    if (e == cudaErrorStreamCaptureImplicit) (void)cudaGetLastError(), cap = cudaStreamCaptureStatusActive;
    else if (e != cudaSuccess) return qb_cuda_status(h, e, "cudaStreamIsCapturing");
    if (cap != cudaStreamCaptureStatusNone)
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE,
                       "qblas_device_status synchronizes: not on a stream that is capturing (nothing was read)");
    QB_CUDA_TRY(h, qb_dev_take(b, s));
    QB_CUDA_TRY(h, cudaMemcpyAsync(&rec, &b->taken, sizeof rec, cudaMemcpyDeviceToHost, s));
    QB_CUDA_TRY(h, cudaStreamSynchronize(s)); /* also reports a fault of the stream's earlier work */
    if (rec) *status = qb_dev_explain(h, rec, "CUDA");
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_prepack_verdict(qblas_handle_t h, cudaStream_t s, unsigned long long **verdict)
{
    *verdict = &qb_cuda(h)->dev->verdict;
    QB_CUDA_TRY(h, cudaMemsetAsync(*verdict, 0xFF, sizeof **verdict, s)); /* QB_DEV_PASS */
    return QBLAS_STATUS_SUCCESS;
}
