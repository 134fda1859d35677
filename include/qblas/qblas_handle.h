/* qblas_handle.h - library handle, version, errors, "which kernel" queries.
 *
 * A handle belongs to one backend and one device. Calls on one handle must
 * not run concurrently from several threads (as with cuBLAS handles); use one
 * handle per thread. The library never prints and never aborts: every failure
 * is a status, and qblas_last_error() explains the last one in words.
 */
#ifndef QBLAS_HANDLE_H
#define QBLAS_HANDLE_H

#include "qblas_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qblas_handle_s *qblas_handle_t;

/* What a query says about the kernel an operation would run (or ran). */
#define QBLAS_KERNEL_NAME_MAX 96
typedef struct qblas_kernel_info {
    size_t workspace_bytes;                 /* workspace the call needs */
    char kernel_name[QBLAS_KERNEL_NAME_MAX]; /* e.g. "cpu_ref_w4a16_f16" */
} qblas_kernel_info_t;

/* Runtime version: QBLAS_VERSION of the library that was linked. */
int qblas_get_version(void);
/* "major.minor.patch" */
const char *qblas_get_version_string(void);

/* A static string naming the status ("QBLAS_STATUS_INVALID_VALUE"); never NULL. */
const char *qblas_status_string(qblas_status_t status);
/* "f16", "e4m3", ...; "unknown" for values outside the enum. */
const char *qblas_dtype_name(qblas_dtype_t dtype);

/* Is this backend compiled in and has it a usable device? AUTO asks whether any does. */
int qblas_backend_available(qblas_backend_t backend);

/* Create a handle. backend AUTO picks the best one present. device is the
 * GPU index (ignored by the CPU backend, must be >= 0).
 * Errors: INVALID_VALUE (null out, bad enum, negative device), NOT_SUPPORTED
 * (backend not compiled in), ARCH_MISMATCH (no such device / unsupported GPU),
 * ALLOC_FAILED. */
qblas_status_t qblas_create(qblas_handle_t *out, qblas_backend_t backend, int device);
/* Destroy a handle; NULL is accepted and does nothing. */
qblas_status_t qblas_destroy(qblas_handle_t handle);

qblas_status_t qblas_get_backend(qblas_handle_t handle, qblas_backend_t *backend);

/* CPU backend: number of worker threads (>= 1). Default: $QBLAS_NUM_THREADS
 * or the number of online processors. Other backends accept and ignore it. */
qblas_status_t qblas_set_num_threads(qblas_handle_t handle, int num_threads);
qblas_status_t qblas_get_num_threads(qblas_handle_t handle, int *num_threads);

/* Human-readable reason for the last failing call on this handle
 * ("" when the last call succeeded), or for the device-side error that
 * qblas_device_status() just reported. Valid until the next call on the handle. */
const char *qblas_last_error(qblas_handle_t handle);

/* Device-side checks (docs/API.md, "Device-side checks"). On a GPU handle,
 * values that live in device memory (a static activation scale, activation
 * zero points, the contents prepack reads) are checked by the kernels: a
 * call with an invalid one returns SUCCESS, writes nothing, and the handle
 * records the first such error on the device (later ones are not recorded
 * until it is read). This call waits for the work queued on `stream`, then
 * takes the recorded error and clears it: *status is SUCCESS when there was
 * none, else its status (INVALID_VALUE, or NOT_SUPPORTED for a valid weight
 * this backend cannot pack) with the reason in qblas_last_error(handle).
 * It synchronizes: never call it while a stream is capturing. The CPU
 * backend checks everything before it returns: *status is always SUCCESS.
 * Returns SUCCESS when the status was read; INVALID_VALUE (NULL handle or
 * status, or `stream` is capturing: nothing read, the capture intact),
 * EXECUTION_FAILED (the stream or the read failed, e.g. a kernel fault)
 * otherwise. */
qblas_status_t qblas_device_status(qblas_handle_t handle, void *stream, qblas_status_t *status);

/* Name of the kernel the last successful operation on this handle ran. */
qblas_status_t qblas_last_kernel(qblas_handle_t handle, char *buf, size_t buf_len);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_HANDLE_H */
