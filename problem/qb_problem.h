/* qb_problem.h - random problems for every qblas operation, built through
 * the public C API only. One builder for the three programs that run
 * problems: the GPU harness (tests/gpu), the benchmark (bench) and the
 * tuner (autotune).
 *
 * A problem owns what a call needs, in the handle's memory (CUDA device
 * memory on a GPU handle): the canonical weight generated valid for its
 * format (random codes, positive scales, valid zero points and 2:4
 * metadata), prepacked when the backend has its own layout, in as many
 * copies as cover twice the GPU's L2 cache (each run takes the next, so a
 * run streams its weight from memory as in decoding; one copy on the CPU);
 * activations and their scales, the output, and the workspace the queries
 * ask for. Attention problems: a paged KV cache of one dtype and decode or
 * prefill queries over it.
 *
 * With an oracle (a CPU handle) the host copies are kept, and qbp_check
 * compares a run's output with the CPU backend on sampled rows.
 *
 * Functions returning int: QBP_OK, QBP_SKIP (the handle's backend does not
 * do it: NOT_SUPPORTED), QBP_ERROR; err receives the reason in words.
 */
#ifndef QB_PROBLEM_H
#define QB_PROBLEM_H

#include <stddef.h>
#include <stdint.h>

#include <qblas.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { QBP_OK = 0, QBP_SKIP = 1, QBP_ERROR = -1 };
#define QBP_MAX_COPIES 64

typedef struct qbp_env {
    qblas_handle_t h;      /* the handle problems run on */
    qblas_handle_t oracle; /* a CPU handle for qbp_check, or NULL (no host copies kept) */
    int gpu;               /* h's memory is CUDA device memory */
    size_t l2_bytes;       /* GPU L2 size: weights rotate through copies covering twice it; 0: one copy */
    uint64_t rng;          /* splitmix64 state: every fill draws fresh values */
} qbp_env;

/* h's backend, L2 size (GPU) and the random stream (seed). */
int qbp_env_init(qbp_env *env, qblas_handle_t h, qblas_handle_t oracle, uint64_t seed, char *err, size_t err_len);

typedef enum qbp_kind { QBP_GEMM = 0, QBP_DECODE = 1, QBP_PREFILL = 2 } qbp_kind;

/* What to build. */
typedef struct qbp_spec {
    qbp_kind kind;
    int64_t m_max;                 /* GEMM: rows of X; decode: sequences; prefill: query tokens */
    /* GEMM: Y[m, n] = X[m, k] . W[n, k]^T */
    qblas_wformat_t format;
    qblas_dtype_t x_dtype, w_dtype, y_dtype;
    qblas_scale_mode_t x_scale, w_scale; /* NONE for f16/bf16 */
    int32_t group_size;            /* W4A16, W4A8 */
    int zeros;                     /* W4A16: with zero points (W4A8 always has them) */
    int64_t n, k;
    /* attention (decode: one query per sequence; prefill: m_max query tokens over `seqs` sequences) */
    qblas_dtype_t q_dtype, kv_dtype;
    int32_t heads_q, heads_kv, head_dim, context, page_size, seqs;
} qbp_spec;

/* A short stable name of the spec ("w4a16_g128_f16", "attn_decode_e4m3kv", ...) into buf. */
void qbp_spec_name(const qbp_spec *s, char *buf, size_t len);

typedef struct qbp_problem {
    qbp_env *env;
    qbp_spec spec;
    /* GEMM: the weight's copies (prepacked, or canonical where the backend has no layout) */
    qblas_weight_t w[QBP_MAX_COPIES];
    void *blob[QBP_MAX_COPIES];
    size_t blob_bytes;
    int copies, next;
    double weight_bytes;           /* canonical bytes a call reads */
    qblas_act_t x;                 /* [m_max][k] */
    double x_row_bytes;            /* activation bytes per row, scales included */
    void *y;                       /* [m_max][n] (attention: O) of y_dtype */
    /* attention */
    qblas_kv_cache_t kv;
    qblas_attention_params_t ap;
    double kv_bytes_per_seq;
    float vmax;                    /* bound of |V| (dequantized): the oracle check's scale */
    /* the workspace: the largest a query asked for so far */
    void *ws;
    size_t ws_bytes;
    /* host copies (with an oracle): the canonical weight; X, or the cache and the queries */
    void *host_weight, *host_io;
    qblas_weight_t w_host;
    qblas_act_t x_host;
    qblas_kv_cache_t kv_host;
    qblas_attention_params_t ap_host;
} qbp_problem;

int qbp_create(qbp_env *env, const qbp_spec *spec, qbp_problem **out, char *err, size_t err_len);
void qbp_destroy(qbp_problem *p);

/* A plan of either kind (qbp_plan fills the problem's). */
typedef struct qbp_plan {
    qblas_gemm_plan_t gemm;
    qblas_attention_plan_t attn;
} qbp_plan;
const char *qbp_plan_config(const qbp_problem *p, const qbp_plan *pl); /* the configuration it chose */
const char *qbp_plan_kernel(const qbp_problem *p, const qbp_plan *pl); /* the kernel name */

/* The query for a run with m rows (GEMM), sequences (decode) or query
 * tokens (prefill: m_max only); the workspace grows to what it asks. */
qblas_status_t qbp_query(qbp_problem *p, int64_t m, qblas_kernel_info_t *info);
/* The same as a plan. */
qblas_status_t qbp_plan_make(qbp_problem *p, int64_t m, qbp_plan *pl);
/* One call with m rows on the next weight copy (asynchronous on a GPU): with
 * the plan, or selecting (plan NULL). */
qblas_status_t qbp_run(qbp_problem *p, int64_t m, const qbp_plan *plan, void *stream);

/* The last run's output (m rows) against the CPU oracle on sampled rows (or
 * sequences), within a bound derived in qb_problem.c for any configuration;
 * synchronizes. 1: within; 0: not (why says where). Needs an oracle. */
int qbp_check(qbp_problem *p, int64_t m, char *why, size_t why_len);

/* ---- the tunable families ----
 * One entry per tuning key (qblas_tuning_candidates: op, format, act,
 * kv_dtype) and the problem its configurations run; the GPU harness's
 * configuration group and qblas-tune walk the same list. The specs hold
 * small shapes (the harness's); qbp_family_spec sets others. */
typedef struct qbp_family {
    const char *name;         /* "w4a16_f16", "attn_decode", ... */
    qblas_tuning_entry_t key; /* the key fields only */
    qbp_spec spec;
} qbp_family;
extern const qbp_family qbp_families[];
extern const int qbp_nfamilies;
const qbp_family *qbp_family_named(const char *name); /* NULL: none */

/* f's spec with m_max and the shape: GEMM n, k; attention heads_q = n,
 * heads_kv = k, head_dim (0: keep the family's). config (NULL: none) adapts
 * the weight to what that configuration runs where one key covers several
 * (2:4 fp8: e5m2 weights, block scales). */
qbp_spec qbp_family_spec(const qbp_family *f, int64_t m_max, int64_t n, int64_t k, int32_t head_dim,
                         const char *config);
/* The tuning row of f's key for spec s, M m_min..m_max, naming config ("-" config text, time 1 us). */
qblas_tuning_entry_t qbp_tuning_row(const qbp_family *f, const qbp_spec *s, int64_t m_min, int64_t m_max,
                                    const char *config);
/* Load a tuning file of these rows (h's own header) into h, replacing its rows. */
qblas_status_t qbp_tuning_load(qblas_handle_t h, const qblas_tuning_entry_t *rows, size_t n);

/* Host random fills (the env's stream). */
uint64_t qbp_rand(qbp_env *env);
void qbp_fill_bytes(qbp_env *env, void *dst, size_t bytes);
void qbp_fill_half(qbp_env *env, uint16_t *dst, size_t count, int bf16); /* |v| in [2^-4, 1), random sign */
void qbp_fill_e4m3(qbp_env *env, uint8_t *dst, size_t count);            /* |v| < 2, never NaN */
void qbp_fill_f32(qbp_env *env, float *dst, size_t count, float lo, float hi);

/* Memory in the handle's space (device or host, 256-byte aligned). */
void *qbp_alloc(const qbp_env *env, size_t bytes);
void qbp_free(const qbp_env *env, void *p);
int qbp_upload(const qbp_env *env, void *dst, const void *host, size_t bytes);
int qbp_download(const qbp_env *env, void *host, const void *src, size_t bytes);
int qbp_copy(const qbp_env *env, void *dst, const void *src, size_t bytes);
void *qbp_alloc_upload(const qbp_env *env, const void *host, size_t bytes);
/* How many copies of a weight of this size rotate (>= 2 on a GPU, 1 on the CPU). */
int qbp_copies_for(const qbp_env *env, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif /* QB_PROBLEM_H */
