/* qblas_bench_shim.h - the C side of the benchmark (bench/qblas_bench.cc).
 *
 * It reaches qblas only through the public C API (<qblas.h>), so the
 * benchmark times exactly what a C user calls. A problem owns everything one
 * benchmark case needs: fresh random inputs in the handle's memory space
 * (device memory through the CUDA runtime on a GPU handle), the weight in its
 * quantized canonical form, prepacked for the handle, in enough rotating
 * copies to exceed the GPU's L2 cache, the output and the workspace.
 * Peer libraries (cuBLAS, cuBLASLt) live in qblas_bench_peers.c and are
 * reached through the same problem interface.
 *
 * Every function returns 0 on success, QBB_SKIP when the backend or peer
 * does not do the operation (the benchmark reports it skipped), or QBB_ERROR;
 * err receives the reason in words.
 */
#ifndef QBLAS_BENCH_SHIM_H
#define QBLAS_BENCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { QBB_OK = 0, QBB_SKIP = 1, QBB_ERROR = -1 };

/* Operations. GEMMs read (m, n, k) as Y[m,n] = X[m,k] . W[n,k]^T; attention
 * reads m = batch (sequences, one decode query each), n = context tokens per
 * sequence, k unused (Hq 32, Hkv 8, head_dim 128, page 16). */
typedef enum qbb_op {
    QBB_W4A16_F16 = 0,      /* W4A16 g128, f16 X, f16 scales */
    QBB_W4A16_BF16,         /* W4A16 g128, bf16 X, bf16 scales */
    QBB_INT8,               /* W8A8 i8, per-token X scales, per-channel W scales */
    QBB_FP8_TENSOR,         /* e4m3 x e4m3, per-tensor scales */
    QBB_FP8_CHANNEL,        /* e4m3, per-token X x per-channel W scales */
    QBB_FP8_BLOCK,          /* e4m3, 1x128 X blocks x 128x128 W blocks */
    QBB_W4A8,               /* QServe QoQ g128, i8 per-token X */
    QBB_W4A8_CHANNEL,       /* QServe QoQ per-channel, i8 per-token X */
    QBB_SPARSE24_F16,       /* 2:4 sparse f16 */
    QBB_SPARSE24_BF16,      /* 2:4 sparse bf16 */
    QBB_SPARSE24_I8,        /* 2:4 sparse i8, per-token X x per-channel W scales */
    QBB_ATTN_F16,           /* paged decode attention, f16 KV (first of the attention ops) */
    QBB_ATTN_BF16,          /* bf16 KV (bf16 queries) */
    QBB_ATTN_E4M3,          /* e4m3 KV, per-head scales */
    QBB_ATTN_I8,            /* i8 KV, per-token-head scales */
    QBB_ATTN_U4,            /* u4 KV, per-token-head scales and zeros (last of the attention ops) */
    /* peers, called directly (CUDA builds only; elsewhere they skip) */
    QBB_PEER_CUBLAS_F16,    /* cublasGemmEx f16 x f16 -> f16, fp32 accumulate */
    QBB_PEER_CUBLAS_BF16,   /* cublasGemmEx bf16 -> bf16 */
    QBB_PEER_LT_FP8_TENSOR, /* cublasLtMatmul e4m3, scalar scales -> f16 */
    QBB_PEER_LT_FP8_CHANNEL,/* cublasLtMatmul e4m3, outer-vector scales -> f16 */
    QBB_PEER_LT_FP8_BLOCK,  /* cublasLtMatmul e4m3, 128-element / 128x128 block scales -> f16 */
    QBB_PEER_LT_INT8,       /* cublasLtMatmul i8 x i8 -> i32 */
    QBB_PEER_CUSPARSELT_F16,/* cuSPARSELt 2:4 f16, when libcusparseLt is found at run time */
    QBB_OP_COUNT
} qbb_op_t;

/* A short stable name ("w4a16_g128_f16", "cublas_f16", ...). */
const char *qbb_op_name(qbb_op_t op);
int qbb_op_is_attention(qbb_op_t op);
int qbb_op_is_peer(qbb_op_t op);

typedef struct qbb_env qbb_env_t;
typedef struct qbb_problem qbb_problem_t;

/* One qblas handle on the best backend present (backend: 0 auto, 1 CPU,
 * 2 CUDA, as qblas_backend_t), the device's L2 size and its measured copy
 * bandwidth. */
int qbb_env_create(qbb_env_t **out, int backend, char *err, size_t err_len);
void qbb_env_destroy(qbb_env_t *env);
int qbb_env_is_gpu(const qbb_env_t *env);
/* The GPU is qblas's simulated device (src/sim): its times are host time of a CPU simulation. */
int qbb_env_is_simulated(const qbb_env_t *env);
/* "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)" or "CPU backend, 2 threads" */
const char *qbb_env_device(const qbb_env_t *env);
/* Bytes per second of a large device-to-device copy (GPU) or memcpy (CPU),
 * counting both the read and the write, measured once at creation. */
double qbb_env_copy_bytes_per_s(const qbb_env_t *env);

/* Create the problem for op at its largest size: m_max rows of X (or
 * m_max sequences), weight n x k. Runs with any m <= m_max reuse it. */
int qbb_problem_create(qbb_env_t *env, qbb_op_t op, int64_t m_max, int64_t n, int64_t k,
                       qbb_problem_t **out, char *err, size_t err_len);
void qbb_problem_destroy(qbb_problem_t *p);

/* Run the operation once with m rows, on the next weight copy. On a GPU the
 * call is asynchronous; *seconds (if not NULL) receives the call's time:
 * CUDA events around it on a GPU (then it waits), wall clock on the CPU. */
int qbb_problem_run(qbb_problem_t *p, int64_t m, double *seconds, char *err, size_t err_len);

/* What a run with m rows does: 2*M*N*K (GEMM) or 4*B*Hq*ctx*D (attention)
 * floating or integer operations, and the compulsory bytes it moves: weights
 * (codes, scales, zeros, metadata) + activations (with their scales) +
 * outputs, or for attention the K and V cache with its scales + Q + O. */
typedef struct qbb_case_info {
    double flops;
    double bytes;
    char kernel[96]; /* the kernel the call runs (qblas query) or the peer's entry point */
} qbb_case_info_t;
void qbb_problem_info(const qbb_problem_t *p, int64_t m, qbb_case_info_t *info);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_BENCH_SHIM_H */
