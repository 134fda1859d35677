/* qb_test_qact.h - every activation-quantization variant qblas_quantize_act
 * has (docs/FORMATS.md), and the input dtypes it takes. Shared by the CPU
 * test (tests/test_quant_act.c) and the GPU harness, so both cover the same
 * list; no Check dependency, the GPU harness is a plain program. */
#ifndef QB_TEST_QACT_H
#define QB_TEST_QACT_H
#include <stdbool.h>

#include "qblas.h"

typedef struct {
    qblas_dtype_t qt;        /* quantized dtype */
    qblas_scale_mode_t mode;
    bool asym;               /* int8 with zero points */
} qbt_qact_variant;

static const qbt_qact_variant qbt_qact_variants[] = {
    {QBLAS_DTYPE_I8, QBLAS_SCALE_PER_ROW, false},           {QBLAS_DTYPE_I8, QBLAS_SCALE_PER_ROW, true},
    {QBLAS_DTYPE_I8, QBLAS_SCALE_PER_TENSOR, false},        {QBLAS_DTYPE_E4M3, QBLAS_SCALE_PER_ROW, false},
    {QBLAS_DTYPE_E4M3, QBLAS_SCALE_BLOCK_1X128, false},     {QBLAS_DTYPE_E4M3, QBLAS_SCALE_PER_TENSOR, false},
    {QBLAS_DTYPE_E5M2, QBLAS_SCALE_PER_ROW, false},         {QBLAS_DTYPE_E5M2, QBLAS_SCALE_BLOCK_1X128, false},
    {QBLAS_DTYPE_E5M2, QBLAS_SCALE_PER_TENSOR, false},      {QBLAS_DTYPE_E4M3FNUZ, QBLAS_SCALE_PER_ROW, false},
    {QBLAS_DTYPE_E4M3FNUZ, QBLAS_SCALE_BLOCK_1X128, false}, {QBLAS_DTYPE_E4M3FNUZ, QBLAS_SCALE_PER_TENSOR, false},
};
#define QBT_N_QACT_VARIANTS ((int)(sizeof qbt_qact_variants / sizeof qbt_qact_variants[0]))

static const qblas_dtype_t qbt_qact_inputs[3] = {QBLAS_DTYPE_F32, QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16};
#endif
