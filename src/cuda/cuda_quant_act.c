/* cuda_quant_act.c - qblas_quantize_act on the CUDA backend, host side: the
 * static-scale check, the kernel parameters and the kernel name. The core has
 * validated every argument it can (src/core/validate.c); the kernels are in
 * quant_act.cu and produce the CPU oracle's results bit for bit.
 *
 * PER_TENSOR (static) scale: scales[0] lives in device memory, so the
 * kernel reads it when it runs (after whatever produced it on the stream,
 * and afresh at every replay of a captured graph) and checks it: one that
 * is not finite and > 0 writes nothing and is reported by
 * qblas_device_status (the CPU backend returns INVALID_VALUE). No mode
 * synchronizes.
 */
#include "../common/qblas_quant_math.h"
#include "cuda_backend.h"

/* Kernel names: [q dtype: i8, e4m3, e5m2, e4m3fnuz][mode: tensor, row, block]; "i8asym_row" separately.
 * One source serves every architecture; sm80 names the oldest it is built for. */
static const char *const kernel_names[4][3] = {
    {"quant_i8_tensor_sm80", "quant_i8_row_sm80", ""},
    {"quant_e4m3_tensor_sm80", "quant_e4m3_row_sm80", "quant_e4m3_block128_sm80"},
    {"quant_e5m2_tensor_sm80", "quant_e5m2_row_sm80", "quant_e5m2_block128_sm80"},
    {"quant_e4m3fnuz_tensor_sm80", "quant_e4m3fnuz_row_sm80", "quant_e4m3fnuz_block128_sm80"},
};

static const char *kernel_name(const qb_qact_args *a)
{
    if (a->zeros) return "quant_i8asym_row_sm80";
    int t = a->q_dtype == QBLAS_DTYPE_I8 ? 0 : 1 + (int)(a->q_dtype - QBLAS_DTYPE_E4M3);
    int m = a->mode == QBLAS_SCALE_PER_TENSOR ? 0 : a->mode == QBLAS_SCALE_PER_ROW ? 1 : 2;
    return kernel_names[t][m];
}

qblas_status_t qb_cuda_quantize_act(qblas_handle_t h, const qb_qact_args *a, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    const bool i8 = a->q_dtype == QBLAS_DTYPE_I8;
    qblas_status_t st = qb_cuda_on_device(h);
    if (st) return st;
    qb_qact_kparams p = {
        .x = a->x, .ldx = a->ldx, .q = a->q, .ldq = a->ldq, .m = a->m, .k = a->k,
        .x_dtype = (int)a->x_dtype, .q_dtype = (int)a->q_dtype, .mode = (int)a->mode,
        .scales = a->scales, .zeros = a->zeros, .status = &qb_cuda(h)->dev->status,
        .qmax = i8 ? QB_QACT_I8_QMAX : qb_fp8_max(a->q_dtype),
        .fp8 = qb_fp8_fmt_of(i8 ? QBLAS_DTYPE_E4M3 : a->q_dtype),
    };
    QB_CUDA_TRY(h, qb_qact_launch(&p, qb_cuda(h)->sms, s));
    qb_set_kernel(h, kernel_name(a));
    return QBLAS_STATUS_SUCCESS;
}
