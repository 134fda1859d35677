/* w4a16_f16_f32dq.cu - W4A16 GEMM kernels for f16 activations, f32 or bf16 scales (fp32 dequant path).
 * One translation unit per (activation dtype, dequant path) keeps each nvcc
 * job to three kernels (MT = 1, 2, 4) per architecture. */
#include "w4a16_kernel.cuh"

cudaError_t qb_w4a16_launch_f16_f32dq(int mt, const qb_w4a16_kparams *p, size_t smem, cudaStream_t s)
{
    return qb::launch<__half, false>(mt, p, smem, s);
}

cudaError_t qb_w4a16_prepare_f16_f32dq(int smem_max) { return qb::prepare<__half, false>(smem_max); }
