/* cuda_device_status.c - the host side of the device-side checks
 * (cuda_kernels.h, "device-side checks"; docs/API.md): qblas_device_status
 * and the prepack verdict.
 *
 * qblas_device_status waits for its stream, then takes the handle's status
 * word with one atomic exchange on the device (a record that lands between
 * the read and a separate clear could not be lost that way) and turns the
 * record into a status and a reason. */
#include <string.h>

#include "cuda_backend.h"

#define LL(x) ((long long)(x))

/* The status and reason of a record (the check's words are the CPU backend's where it has the check). */
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
    case QB_DEV_W4A16_GIDX:
        return qb_fail(h, bad, "qblas_prepack: W4A16 g_idx[%lld] outside 0..k/group_size-1 (nothing written)", index);
    case QB_DEV_W4A16_ZERO:
        return qb_fail(h, bad, "qblas_prepack: W4A16 zero point zeros[%lld] = %d outside 0..15 (nothing written)",
                       index, detail);
    case QB_DEV_W4A16_GROUP:
        return qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED,
                       "qblas_prepack: CUDA W4A16 act-order needs every group to hold group_size columns of k; "
                       "group %lld does not (nothing written)",
                       index);
    case QB_DEV_W4A8: {
        static const char *const why[4] = {"?", "group scale s2 < 1", "zero point z > 15",
                                           "(code - z) * s2 leaves int8 for a code of the group"};
        return qb_fail(h, bad, "qblas_prepack: W4A8 (group, row) element %lld of [groups][n]: %s (nothing written)",
                       index, why[detail & 3]);
    }
    case QB_DEV_SP24_META:
        return qb_fail(h, bad,
                       "qblas_prepack: 2:4 meta byte %lld, %s nibble: field 0x%X has i0 >= i1 (only 0x4 0x8 0xC 0x9 "
                       "0xD 0xE are valid; nothing written)",
                       index, detail >> 4 ? "high" : "low", detail & 15);
    default:
        return qb_fail(h, QBLAS_STATUS_INTERNAL_ERROR, "device status record 0x%016llx of no known check", rec);
    }
}

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
    if (rec) *status = explain(h, rec);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_prepack_verdict(qblas_handle_t h, cudaStream_t s, unsigned long long **verdict)
{
    *verdict = &qb_cuda(h)->dev->verdict;
    QB_CUDA_TRY(h, cudaMemsetAsync(*verdict, 0xFF, sizeof **verdict, s)); /* QB_DEV_PASS */
    return QBLAS_STATUS_SUCCESS;
}
