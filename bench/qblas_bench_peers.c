/* qblas_bench_peers.c - the libraries a user would otherwise call, measured
 * in the same binary: cuBLAS fp16/bf16 (cublasGemmEx), cuBLASLt FP8 (scalar,
 * outer-vector and block scales) and INT8 (cublasLtMatmul). cuSPARSELt is
 * looked up at run time with dlopen; its case skips either way, saying
 * whether the library is there, since its ABI (opaque struct sizes, enum
 * values) differs between versions and no header ships with the toolkit.
 * Without CUDA, and on the simulated device (no cuBLAS there), every peer
 * skips.
 *
 * Layout: row-major Y[M,N] = X[M,K] . W[N,K]^T is, column-major,
 * Y^T (N x M) = op_T(W as K x N) . X^T (K x M): A = W with transa = T,
 * B = X with transb = N, ld K for both. This is the "TN" form cuBLASLt
 * requires for FP8 and INT8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qblas_bench_internal.h"

#ifndef QBB_HAVE_PEERS

int qbb_peer_create(qbb_env_t *env, qbb_op_t op, int64_t m_max, int64_t n, int64_t k, qbb_peer_t **out, char *err,
                    size_t err_len)
{
    (void)env, (void)m_max, (void)n, (void)k;
    *out = NULL;
    return qbb_err(err, err_len, QBB_SKIP, "%s: this build has no cuBLAS (no CUDA, or the simulated device)",
                   qbb_op_name(op));
}
int qbb_peer_run(qbb_peer_t *peer, int64_t m, char *err, size_t err_len)
{
    (void)peer, (void)m;
    return qbb_err(err, err_len, QBB_SKIP, "this build has no cuBLAS");
}
void qbb_peer_info(const qbb_peer_t *peer, int64_t m, qbb_case_info_t *info) { (void)peer, (void)m, (void)info; }
void qbb_peer_destroy(qbb_peer_t *peer) { (void)peer; }

#else

#include <dlfcn.h>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#define LT_WORKSPACE ((size_t)32 << 20)

/* Scale modes (scalar, outer-vector, 128-blocks) arrived in cuBLASLt 12.9;
 * with an older toolkit the FP8 peers skip and plain int8 still runs. */
#if CUBLAS_VER_MAJOR > 12 || (CUBLAS_VER_MAJOR == 12 && CUBLAS_VER_MINOR >= 9)
#define QBB_LT_SCALE_MODES 1
#else
#define QBB_LT_SCALE_MODES 0
#endif

struct qbb_peer {
    qbb_env_t *env;
    qbb_op_t op;
    int64_t m_max, n, k;
    int copies, next;
    void *w[QBP_MAX_COPIES];
    size_t w_bytes, x_elt, y_elt;
    void *x, *y, *sa, *sb, *ws;
    size_t sa_count, sb_count;
    cublasHandle_t cb;
    cublasLtHandle_t lt;
    cublasLtMatmulDesc_t desc;
    int64_t desc_m; /* the M the layouts and algorithm below were made for */
    cublasLtMatrixLayout_t la, lb, ld;
    cublasLtMatmulAlgo_t algo;
    char kernel[96];
};

static int is_lt(qbb_op_t op) { return op >= QBB_PEER_LT_FP8_TENSOR && op <= QBB_PEER_LT_INT8; }

static void lt_release(qbb_peer_t *p)
{
    if (p->desc) cublasLtMatmulDescDestroy(p->desc);
    if (p->la) cublasLtMatrixLayoutDestroy(p->la);
    if (p->lb) cublasLtMatrixLayoutDestroy(p->lb);
    if (p->ld) cublasLtMatrixLayoutDestroy(p->ld);
    p->desc = NULL, p->la = p->lb = p->ld = NULL, p->desc_m = 0;
}

void qbb_peer_destroy(qbb_peer_t *p)
{
    if (!p) return;
    lt_release(p);
    for (int i = 0; i < QBP_MAX_COPIES; i++) qbp_free(&p->env->pe, p->w[i]);
    qbp_free(&p->env->pe, p->x), qbp_free(&p->env->pe, p->y), qbp_free(&p->env->pe, p->sa), qbp_free(&p->env->pe, p->sb);
    qbp_free(&p->env->pe, p->ws);
    if (p->cb) cublasDestroy(p->cb);
    if (p->lt) cublasLtDestroy(p->lt);
    free(p);
}

/* Fill a host staging buffer with count elements of the op's input type. */
static void fill_input(qbb_env_t *env, qbb_op_t op, void *dst, size_t count)
{
    if (op == QBB_PEER_CUBLAS_F16 || op == QBB_PEER_CUSPARSELT_F16) qbp_fill_half(&env->pe, dst, count, 0);
    else if (op == QBB_PEER_CUBLAS_BF16) qbp_fill_half(&env->pe, dst, count, 1);
    else if (op == QBB_PEER_LT_INT8) qbp_fill_bytes(&env->pe, dst, count);
    else qbp_fill_e4m3(&env->pe, dst, count);
}

static void *upload_random(qbb_peer_t *p, size_t count, size_t elt, int scales)
{
    size_t bytes = count * elt;
    void *h = malloc(bytes ? bytes : 1), *d = NULL;
    if (!h) return NULL;
    if (scales) qbp_fill_f32(&p->env->pe, h, count, 0.5e-2f, 1.5e-2f);
    else fill_input(p->env, p->op, h, count);
    d = qbp_alloc_upload(&p->env->pe, h, bytes);
    free(h);
    return d;
}

/* Scale vectors the cuBLASLt scale modes read; sized generously (M and N
 * rounded up to 128) so every documented padding fits. */
static void scale_counts(const qbb_peer_t *p, size_t *a, size_t *b)
{
    const size_t n = (size_t)(p->n + 127) / 128 * 128, m = (size_t)(p->m_max + 127) / 128 * 128;
    const size_t kb = (size_t)(p->k + 127) / 128;
    *a = *b = 0;
    if (p->op == QBB_PEER_LT_FP8_TENSOR) *a = *b = 1;
    if (p->op == QBB_PEER_LT_FP8_CHANNEL) *a = n, *b = m;
    if (p->op == QBB_PEER_LT_FP8_BLOCK) *a = (n / 128) * kb, *b = m * kb;
}

static int make_buffers(qbb_peer_t *p, char *err, size_t err_len)
{
    const int int8 = p->op == QBB_PEER_LT_INT8, half = p->op == QBB_PEER_CUBLAS_F16 || p->op == QBB_PEER_CUBLAS_BF16;
    p->x_elt = half ? 2 : 1;
    p->y_elt = int8 ? 4 : 2;
    p->w_bytes = (size_t)(p->n * p->k) * p->x_elt;
    p->w[0] = upload_random(p, (size_t)(p->n * p->k), p->x_elt, 0);
    p->x = upload_random(p, (size_t)(p->m_max * p->k), p->x_elt, 0);
    p->y = qbp_alloc(&p->env->pe, (size_t)(p->m_max * p->n) * p->y_elt);
    scale_counts(p, &p->sa_count, &p->sb_count);
    if (p->sa_count) p->sa = upload_random(p, p->sa_count, 4, 1), p->sb = upload_random(p, p->sb_count, 4, 1);
    if (is_lt(p->op)) p->ws = qbp_alloc(&p->env->pe, LT_WORKSPACE);
    if (!p->w[0] || !p->x || !p->y || (p->sa_count && (!p->sa || !p->sb)) || (is_lt(p->op) && !p->ws))
        return qbb_err(err, err_len, QBB_ERROR, "%s: cannot allocate device memory", qbb_op_name(p->op));
    p->copies = qbp_copies_for(&p->env->pe, p->w_bytes);
    for (int i = 1; i < p->copies; i++) {
        p->w[i] = qbp_alloc(&p->env->pe, p->w_bytes);
        if (!p->w[i] || qbp_copy(&p->env->pe, p->w[i], p->w[0], p->w_bytes) != QBB_OK)
            return qbb_err(err, err_len, QBB_ERROR, "%s: cannot allocate weight copy %d", qbb_op_name(p->op), i);
    }
    return QBB_OK;
}

/* Descriptor, layouts and the heuristic's first algorithm for m rows. */
static int lt_setup(qbb_peer_t *p, int64_t m, char *err, size_t err_len)
{
    if (p->desc_m == m) return QBB_OK;
    lt_release(p);
    const int int8 = p->op == QBB_PEER_LT_INT8;
    const cudaDataType_t in = int8 ? CUDA_R_8I : CUDA_R_8F_E4M3, out = int8 ? CUDA_R_32I : CUDA_R_16F;
    const cublasOperation_t tA = CUBLAS_OP_T, tB = CUBLAS_OP_N;
    int ok = cublasLtMatmulDescCreate(&p->desc, int8 ? CUBLAS_COMPUTE_32I : CUBLAS_COMPUTE_32F,
                                      int8 ? CUDA_R_32I : CUDA_R_32F) == CUBLAS_STATUS_SUCCESS;
    ok = ok && cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &tA, sizeof tA) == 0;
    ok = ok && cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tB, sizeof tB) == 0;
    if (ok && p->sa) {
#if QBB_LT_SCALE_MODES
        int32_t mode = p->op == QBB_PEER_LT_FP8_TENSOR    ? CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F
                       : p->op == QBB_PEER_LT_FP8_CHANNEL ? CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F
                                                          : CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F;
        int32_t bmode = p->op == QBB_PEER_LT_FP8_BLOCK ? CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F : mode;
        ok = cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode, sizeof mode) == 0 &&
             cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &bmode, sizeof bmode) == 0 &&
             cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &p->sa, sizeof p->sa) == 0 &&
             cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &p->sb, sizeof p->sb) == 0;
#else
        ok = 0;
#endif
    }
    ok = ok && cublasLtMatrixLayoutCreate(&p->la, in, (uint64_t)p->k, (uint64_t)p->n, p->k) == 0;
    ok = ok && cublasLtMatrixLayoutCreate(&p->lb, in, (uint64_t)p->k, (uint64_t)m, p->k) == 0;
    ok = ok && cublasLtMatrixLayoutCreate(&p->ld, out, (uint64_t)p->n, (uint64_t)m, p->n) == 0;
    if (!ok) {
        lt_release(p);
        return qbb_err(err, err_len, QBB_SKIP, "%s: this cuBLASLt does not take these scale modes/types",
                       qbb_op_name(p->op));
    }
    cublasLtMatmulPreference_t pref;
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    size_t wsb = LT_WORKSPACE;
    if (cublasLtMatmulPreferenceCreate(&pref) == 0) {
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof wsb);
        if (cublasLtMatmulAlgoGetHeuristic(p->lt, p->desc, p->la, p->lb, p->ld, p->ld, pref, 1, &res, &found) != 0)
            found = 0;
        cublasLtMatmulPreferenceDestroy(pref);
    }
    if (!found) {
        lt_release(p);
        return qbb_err(err, err_len, QBB_SKIP, "%s: cuBLASLt has no algorithm for M=%lld on this GPU", qbb_op_name(p->op),
                       (long long)m);
    }
    p->algo = res.algo;
    p->desc_m = m;
    return QBB_OK;
}

/* Is cuSPARSELt installed? (It is not part of the CUDA toolkit.) */
static int cusparselt_present(void)
{
    void *lib = dlopen("libcusparseLt.so.0", RTLD_LAZY | RTLD_LOCAL);
    if (!lib) return 0;
    dlclose(lib);
    return 1;
}

int qbb_peer_create(qbb_env_t *env, qbb_op_t op, int64_t m_max, int64_t n, int64_t k, qbb_peer_t **out, char *err,
                    size_t err_len)
{
    *out = NULL;
    if (!env->pe.gpu) return qbb_err(err, err_len, QBB_SKIP, "%s: needs a GPU handle", qbb_op_name(op));
    if (op == QBB_PEER_CUSPARSELT_F16)
        return qbb_err(err, err_len, QBB_SKIP,
                       cusparselt_present() ? "libcusparseLt found; this benchmark does not call it yet (its ABI differs between versions)"
                                            : "libcusparseLt.so.0 not found at run time");
    qbb_peer_t *p = calloc(1, sizeof *p);
    if (!p) return qbb_err(err, err_len, QBB_ERROR, "out of memory");
    p->env = env, p->op = op, p->m_max = m_max, p->n = n, p->k = k;
    int rc = is_lt(op) ? (cublasLtCreate(&p->lt) == CUBLAS_STATUS_SUCCESS ? QBB_OK : QBB_ERROR)
                       : (cublasCreate(&p->cb) == CUBLAS_STATUS_SUCCESS ? QBB_OK : QBB_ERROR);
    if (rc != QBB_OK) qbb_err(err, err_len, QBB_ERROR, "%s: cannot create the library handle", qbb_op_name(op));
    if (rc == QBB_OK) rc = make_buffers(p, err, err_len);
    if (rc == QBB_OK && is_lt(op)) rc = lt_setup(p, m_max, err, err_len);
    snprintf(p->kernel, sizeof p->kernel, "%s", is_lt(op) ? "cublasLtMatmul" : "cublasGemmEx");
    if (rc != QBB_OK) {
        qbb_peer_destroy(p);
        return rc;
    }
    *out = p;
    return QBB_OK;
}

int qbb_peer_run(qbb_peer_t *p, int64_t m, char *err, size_t err_len)
{
    const void *w = p->w[p->next];
    p->next = (p->next + 1) % p->copies;
    if (!is_lt(p->op)) {
        const float one = 1.0f, zero = 0.0f;
        const cudaDataType_t t = p->op == QBB_PEER_CUBLAS_F16 ? CUDA_R_16F : CUDA_R_16BF;
        cublasStatus_t st = cublasGemmEx(p->cb, CUBLAS_OP_T, CUBLAS_OP_N, (int)p->n, (int)m, (int)p->k, &one, w, t,
                                         (int)p->k, p->x, t, (int)p->k, &zero, p->y, t, (int)p->n, CUBLAS_COMPUTE_32F,
                                         CUBLAS_GEMM_DEFAULT);
        return st == CUBLAS_STATUS_SUCCESS ? QBB_OK : qbb_err(err, err_len, QBB_ERROR, "cublasGemmEx: status %d", (int)st);
    }
    int rc = lt_setup(p, m, err, err_len);
    if (rc != QBB_OK) return rc;
    const int32_t one_i = 1, zero_i = 0;
    const float one_f = 1.0f, zero_f = 0.0f;
    const int int8 = p->op == QBB_PEER_LT_INT8;
    cublasStatus_t st = cublasLtMatmul(p->lt, p->desc, int8 ? (const void *)&one_i : (const void *)&one_f, w, p->la, p->x,
                                       p->lb, int8 ? (const void *)&zero_i : (const void *)&zero_f, p->y, p->ld, p->y,
                                       p->ld, &p->algo, p->ws, LT_WORKSPACE, 0);
    return st == CUBLAS_STATUS_SUCCESS ? QBB_OK : qbb_err(err, err_len, QBB_ERROR, "cublasLtMatmul: status %d", (int)st);
}

void qbb_peer_info(const qbb_peer_t *p, int64_t m, qbb_case_info_t *info)
{
    snprintf(info->kernel, sizeof info->kernel, "%s", p->kernel);
    info->flops = 2.0 * (double)m * (double)p->n * (double)p->k;
    info->bytes = (double)p->w_bytes + (double)m * (double)p->k * (double)p->x_elt +
                  (double)m * (double)p->n * (double)p->y_elt + 4.0 * (double)(p->sa_count + p->sb_count);
}

#endif /* QBB_HAVE_PEERS */
