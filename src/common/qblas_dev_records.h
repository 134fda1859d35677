/* qblas_dev_records.h - the records of the device-side checks, shared by the
 * GPU backends' kernels (src/cuda/dev_check.cu, compiled for CUDA and HIP)
 * and their host code; core turns a record into a status and a reason
 * (qb_dev_explain, src/core/dev_records.c). Plain macros: C, C++, device. */
#ifndef QBLAS_DEV_RECORDS_H
#define QBLAS_DEV_RECORDS_H

/* Device-side checks (dev_check.cu, dev_check.cuh; docs/API.md "Device-side checks"):
 * Values in device memory that a call depends on and the host cannot read
 * without a synchronization (a static scale, zero points, what prepack
 * reads) are checked by kernels. A failed check is a record: the check (it
 * names the status and the message, cuda_device_status.c), a 48-bit index
 * and an 8-bit detail, so that among several failures of one call the
 * smallest record is the one the CPU backend reports. A call's own verdict
 * (QB_DEV_PASS, or its smallest record) gates every kernel of the call that
 * writes an output; the handle's status word keeps the first record since
 * qblas_device_status last took it (0: none). */
enum {
    QB_DEV_QACT_SCALE = 1,  /* index: the static activation scale's f32 bits */
    QB_DEV_I8_ZERO = 2,     /* index: m of an activation zero point outside -128..127 */
    QB_DEV_W4A16_GIDX = 3,  /* index: k of a g_idx outside 0..G-1 */
    QB_DEV_W4A16_ZERO = 4,  /* index: element of zeros [G][N]; detail: its value (> 15) */
    QB_DEV_W4A16_GROUP = 5, /* index: a group not holding group_size columns (NOT_SUPPORTED) */
    QB_DEV_W4A8 = 6,        /* index: g * N + n; detail: 1 s2 < 1, 2 z > 15, 3 a w8 outside int8 */
    QB_DEV_SP24_META = 7    /* index: byte of meta; detail: nibble (0 low, 1 high) << 4 | the field */
};
#define QB_DEV_PASS (~0ull) /* a verdict without failure */
#define QB_DEV_RECORD(check, index, detail)                                                          \
    (((unsigned long long)(check) << 56) | (((unsigned long long)(index) & 0xFFFFFFFFFFFFull) << 8) | \
     ((unsigned long long)(detail) & 0xFFu))

#endif /* QBLAS_DEV_RECORDS_H */
