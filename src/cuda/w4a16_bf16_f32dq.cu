/* w4a16_bf16_f32dq.cu - W4A16 GEMM kernels for bf16 activations, f32 or f16 scales (fp32 dequant path).
 * One translation unit per (activation dtype, dequant path) keeps each nvcc
 * job to three kernels (MT = 1, 2, 4) per architecture. */
#include "w4a16_kernel.cuh"

cudaError_t qb_w4a16_launch_bf16_f32dq(int mt, const qb_w4a16_kparams *p, size_t smem, cudaStream_t s)
{
    return qb::launch<__nv_bfloat16, false>(mt, p, smem, s);
}

cudaError_t qb_w4a16_prepare_bf16_f32dq(int smem_max) { return qb::prepare<__nv_bfloat16, false>(smem_max); }
