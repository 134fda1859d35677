/* w4a16_bf16.cu - W4A16 GEMM kernels for bf16 activations, scales stored as bf16 (native dequant).
 * One translation unit per (activation dtype, dequant path) keeps each nvcc
 * job to three kernels (MT = 1, 2, 4) per architecture. */
#include "w4a16_kernel.cuh"

cudaError_t qb_w4a16_launch_bf16(int mt, const qb_w4a16_kparams *p, size_t smem, cudaStream_t s)
{
    return qb::launch<__nv_bfloat16, true>(mt, p, smem, s);
}

cudaError_t qb_w4a16_prepare_bf16(int smem_max) { return qb::prepare<__nv_bfloat16, true>(smem_max); }
