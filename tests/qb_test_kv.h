/* qb_test_kv.h - the KV-cache formats the attention and append tests cover:
 * every cache dtype with each scale mode it takes (docs/FORMATS.md). */
#ifndef QB_TEST_KV_H
#define QB_TEST_KV_H
#include "qb_test.h"

typedef struct {
    qblas_dtype_t dtype;
    qblas_scale_mode_t mode;
} kv_format;

static const kv_format formats[] = {
    {QBLAS_DTYPE_F16, QBLAS_SCALE_NONE},          {QBLAS_DTYPE_BF16, QBLAS_SCALE_NONE},
    {QBLAS_DTYPE_E4M3, QBLAS_SCALE_PER_TENSOR},   {QBLAS_DTYPE_E4M3, QBLAS_SCALE_PER_HEAD},
    {QBLAS_DTYPE_I8, QBLAS_SCALE_PER_TOKEN_HEAD}, {QBLAS_DTYPE_U4, QBLAS_SCALE_PER_TOKEN_HEAD},
};
#define NFORMATS ((int)(sizeof formats / sizeof formats[0]))
#endif
