/* cuda_ptx.cuh - thin wrappers over the PTX instructions the kernels use
 * (sm_80+): asynchronous copies with L2 cache hints, ldmatrix (plain and
 * transposed), lop3 and mma.sync m16n8k16. Each wrapper is one instruction.
 * (The sm_90a-only TMA, mbarrier and wgmma wrappers live with their one
 * user, fp8_sm90a_wgmma.cuh.)
 */
#ifndef QBLAS_CUDA_PTX_CUH
#define QBLAS_CUDA_PTX_CUH

#include <stdint.h>

namespace qb {

__device__ __forceinline__ uint32_t smem_u32(const void *p)
{
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

/* L2 cache policies for cp.async: weights are read once per block row, so
 * they should not push the activations (reused by every block column) out. */
__device__ __forceinline__ uint64_t l2_evict_first()
{
    uint64_t pol;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(pol));
    return pol;
}
__device__ __forceinline__ uint64_t l2_evict_normal()
{
    uint64_t pol;
    asm volatile("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;\n" : "=l"(pol));
    return pol;
}
__device__ __forceinline__ uint64_t l2_evict_last()
{
    uint64_t pol;
    asm volatile("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;\n" : "=l"(pol));
    return pol;
}

/* 16-byte global -> shared copy that bypasses L1 (.cg). src_bytes < 16
 * zero-fills the rest: 0 gives 16 zero bytes without reading memory. */
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem, int src_bytes, uint64_t pol)
{
    asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;\n" ::"r"(smem_u32(smem)),
                 "l"(gmem), "r"(src_bytes), "l"(pol)
                 : "memory");
}
/* 4-byte global -> shared asynchronous copy (.ca, the only form for 4
 * bytes); src_bytes 0 writes a zero without reading. */
__device__ __forceinline__ void cp_async4(void *smem, const void *gmem, int src_bytes)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_u32(smem)), "l"(gmem), "r"(src_bytes)
                 : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void cp_async_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
/* wait_group takes an immediate; the pipeline depth is a launch parameter,
 * so pick the instruction with a (block-uniform) switch. */
__device__ __forceinline__ void cp_async_wait_pending(int n)
{
    switch (n) {
    case 0: cp_async_wait<0>(); break;
    case 1: cp_async_wait<1>(); break;
    case 2: cp_async_wait<2>(); break;
    case 3: cp_async_wait<3>(); break;
    case 4: cp_async_wait<4>(); break;
    case 5: cp_async_wait<5>(); break;
    default: cp_async_wait<6>(); break;
    }
}

/* Four 8x8 b16 matrices from shared memory; lane l gives the address of row
 * l % 8 of matrix l / 8, register i receives matrix i in mma fragment order.
 * The address is a shared-space one (smem_u32), or a generic pointer. */
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], uint32_t saddr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(saddr));
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void *smem) { ldmatrix_x4(r, smem_u32(smem)); }
/* The same, transposed: thread t receives the elements (rows 2(t%4) and
 * 2(t%4)+1, column t/4) of each matrix. */
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], uint32_t saddr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(saddr));
}

/* d = any boolean function of a, b, c given by its truth table LUT
 * (a = 0xF0, b = 0xCC, c = 0xAA): one instruction. */
template <int LUT> __device__ __forceinline__ uint32_t lop3(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t d;
    asm("lop3.b32 %0, %1, %2, %3, %4;\n" : "=r"(d) : "r"(a), "r"(b), "r"(c), "n"(LUT));
    return d;
}

/* D = A.B + D, m16n8k16, fp32 accumulators. */
__device__ __forceinline__ void mma_f16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma_bf16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

} // namespace qb
#endif /* QBLAS_CUDA_PTX_CUH */
