/* qblas_attention.h - attention over a paged, quantized KV cache.
 *
 * The cache holds pages of page_size tokens. K and V each are
 *   [num_pages][page_size][num_kv_heads][head_dim]
 * elements of the cache dtype (U4: head_dim/2 bytes per token-head, the even
 * d in the low nibble). A sequence's token t lives in page
 * block_tables[seq][t / page_size], slot t % page_size.
 *
 *   dtype   scale_mode          dequantized value (fp32)
 *   F16     NONE                x
 *   BF16    NONE                x
 *   E4M3    PER_TENSOR          x * scale[0]
 *           PER_HEAD            x * scale[h]
 *   I8      PER_TOKEN_HEAD      q * scale[page][slot][h]
 *   U4      PER_TOKEN_HEAD      (q - zero[page][slot][h]) * scale[page][slot][h]
 *
 * K and V have separate scale (and zero) arrays. docs/FORMATS.md has the
 * details, including how qblas_kv_append() computes scales and zeros.
 */
#ifndef QBLAS_ATTENTION_H
#define QBLAS_ATTENTION_H

#include "qblas_handle.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qblas_kv_cache {
    qblas_dtype_t dtype;            /* F16, BF16, E4M3, I8, U4 */
    int32_t num_pages;
    int32_t page_size;              /* tokens per page, >= 1 */
    int32_t num_kv_heads;
    int32_t head_dim;               /* 64, 128 or 256 */
    void *k, *v;
    qblas_scale_mode_t scale_mode;  /* see the table above */
    float *k_scale, *v_scale;
    float *k_zero, *v_zero;         /* U4 only */
} qblas_kv_cache_t;

/* One attention call over num_seqs sequences.
 * Decode: qo_indptr == NULL, one query token per sequence (num_q_tokens == num_seqs).
 * Prefill/extend: qo_indptr[num_seqs + 1] (CSR offsets into the query tokens);
 * sequence s has qo_len = qo_indptr[s+1] - qo_indptr[s] <= seq_lens[s] query
 * tokens, which are the last qo_len of its seq_lens[s] cached tokens: query i
 * sits at position seq_lens[s] - qo_len + i. */
typedef struct qblas_attention_params {
    int32_t num_seqs;
    int32_t num_q_tokens;
    int32_t num_q_heads;            /* a multiple of num_kv_heads */
    qblas_dtype_t q_dtype;          /* F16 or BF16; O has the same dtype */
    const void *q;                  /* [num_q_tokens][num_q_heads][head_dim] */
    void *o;                        /* [num_q_tokens][num_q_heads][head_dim] */
    float *lse;                     /* optional [num_q_tokens][num_q_heads]: natural-log sum-exp of the logits */
    const int32_t *qo_indptr;       /* NULL for decode */
    const int32_t *seq_lens;        /* [num_seqs] cached tokens per sequence (incl. the new ones) */
    const int32_t *block_tables;    /* [num_seqs][block_table_stride] page indices */
    int32_t block_table_stride;
    int32_t max_seq_len;            /* an upper bound of seq_lens (sizes the workspace) */
    float sm_scale;                 /* logit = sm_scale * q.k */
    float logit_softcap;            /* > 0: logit = cap * tanh(logit / cap); 0: off */
    int32_t window_left;            /* >= 0: keys at positions < pos - window_left are masked; -1: off */
    int32_t causal;                 /* 1: mask keys after the query position (prefill); decode ignores it */
} qblas_attention_params_t;

qblas_status_t qblas_attention_query(qblas_handle_t handle, const qblas_kv_cache_t *kv,
                                     const qblas_attention_params_t *p, qblas_kernel_info_t *info);

/* O = softmax(mask(logits)) . V for every query token and head.
 * A query with no visible key gets O = 0 and lse = -inf. */
qblas_status_t qblas_attention(qblas_handle_t handle, const qblas_kv_cache_t *kv,
                               const qblas_attention_params_t *p,
                               void *workspace, size_t workspace_bytes, void *stream);

/* ---- plans (as qblas_gemm_plan, qblas_gemm.h) ----
 * The selection behind qblas_attention_query (the decode split policy and
 * the split count, or the prefill configuration) kept as a plain value.
 * A plan serves calls of the same kind (decode or prefill) with num_seqs
 * and num_q_tokens up to its own, and the same heads, head_dim, query and
 * cache dtypes and cache scale mode; max_seq_len, seq_lens and the block
 * tables may change from call to call (decode steps). Refusals as for GEMM
 * plans: INVALID_VALUE (another problem, not a plan), ARCH_MISMATCH
 * (another library version, backend or kind of device). */
#define QBLAS_ATTENTION_PLAN_MAGIC 0x50544151u /* "QATP" */
typedef struct qblas_attention_plan {
    uint32_t magic;                 /* QBLAS_ATTENTION_PLAN_MAGIC once made */
    int32_t version;                /* QBLAS_VERSION of the library that made it */
    qblas_backend_t backend;
    uint64_t device;                /* as in qblas_gemm_plan_t */
    int32_t prefill;                /* 1: made for qo_indptr != NULL */
    int32_t num_seqs, num_q_tokens; /* calls may have up to these */
    int32_t num_q_heads, num_kv_heads, head_dim;
    qblas_dtype_t q_dtype, kv_dtype;
    qblas_scale_mode_t kv_scale_mode;
    int32_t config;                 /* the backend's configuration index (-1: none) */
    int32_t splits;                 /* decode: context splits per sequence (1: none) */
    size_t workspace_bytes;
    char config_name[QBLAS_KERNEL_NAME_MAX];
    char kernel_name[QBLAS_KERNEL_NAME_MAX];
} qblas_attention_plan_t;

qblas_status_t qblas_attention_plan(qblas_handle_t handle, const qblas_kv_cache_t *kv,
                                    const qblas_attention_params_t *p, qblas_attention_plan_t *plan);
qblas_status_t qblas_attention_planned(qblas_handle_t handle, const qblas_attention_plan_t *plan,
                                       const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                       void *workspace, size_t workspace_bytes, void *stream);

/* Quantize num_tokens new K and V rows ([num_tokens][num_kv_heads][head_dim],
 * src_dtype F32, F16 or BF16) into the cache slots slot_mapping[t] =
 * page * page_size + slot (a negative entry skips that token). Writes the
 * per-token-head scale (and zero) for I8/U4 caches; fp8 caches use the
 * scales already in the cache descriptor. */
qblas_status_t qblas_kv_append(qblas_handle_t handle, const qblas_kv_cache_t *kv,
                               int64_t num_tokens, qblas_dtype_t src_dtype,
                               const void *k_new, const void *v_new,
                               const int64_t *slot_mapping, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_ATTENTION_H */
