/* dev_records.c - a device-side check's record (src/common/qblas_dev_records.h)
 * as a status and a reason, for every GPU backend's qblas_device_status
 * (the check's words are the CPU backend's where it has the check). */
#include <string.h>

#include "../common/qblas_dev_records.h"
#include "qblas_internal.h"

/* The status and reason of a record (the check's words are the CPU backend's where it has the check). */
qblas_status_t qb_dev_explain(qblas_handle_t h, unsigned long long rec, const char *backend)
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
                       "qblas_prepack: %s W4A16 act-order needs every group to hold group_size columns of k; "
                       "group %lld does not (nothing written)",
                       backend, index);
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

