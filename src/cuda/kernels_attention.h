/* kernels_attention.h - the attention and KV-append kernels' launch
 * interface (POD + extern "C", like cuda_kernels.h): what the host side
 * (cuda_attention.c) plans and the kernels (attn_*.cu) read. Semantics:
 * docs/FORMATS.md, "Attention over a paged, quantized KV cache".
 *
 * Every pointer is device memory. The host cannot read seq_lens,
 * qo_indptr or block_tables without a synchronization, so the kernels
 * defend themselves: a sequence length is clamped to [0, max_seq_len], a
 * block-table entry outside [0, num_pages) reads nothing (decode skips
 * its keys, prefill takes them as zero rows: logit 0, value 0), a
 * slot_mapping entry outside the cache writes nothing. Such
 * inputs give unspecified values in their own outputs, never an access
 * out of bounds.
 */
#ifndef QBLAS_KERNELS_ATTENTION_H
#define QBLAS_KERNELS_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The cache, as every attention kernel reads it. */
typedef struct qb_kv_kparams {
    int dtype;              /* qblas_dtype_t: F16, BF16, E4M3, I8, U4 */
    int num_pages, page_size, num_kv_heads, head_dim;
    const void *k, *v;      /* [num_pages][page_size][num_kv_heads][head_dim] (U4: head_dim / 2 bytes) */
    const float *k_scale, *v_scale; /* E4M3: [1] or [Hkv]; I8/U4: [num_pages][page_size][Hkv]; else NULL */
    const float *k_zero, *v_zero;   /* U4 only */
    int scale_per_head;     /* E4M3: 1 for PER_HEAD, 0 for PER_TENSOR */
} qb_kv_kparams;

/* One attention call. */
typedef struct qb_attn_kparams {
    qb_kv_kparams kv;
    int num_seqs, num_q_tokens, num_q_heads, group; /* group = num_q_heads / num_kv_heads */
    int q_dtype;            /* F16 or BF16; O has the same dtype */
    const void *q;          /* [num_q_tokens][num_q_heads][head_dim] */
    void *o;
    float *lse;             /* [num_q_tokens][num_q_heads] or NULL */
    const int32_t *qo_indptr; /* [num_seqs + 1], NULL for decode */
    const int32_t *seq_lens;  /* [num_seqs] */
    const int32_t *block_tables;
    int block_table_stride, max_seq_len;
    float sm_scale, logit_softcap; /* softcap 0: off */
    int window_left;        /* -1: off */
    int causal;
} qb_attn_kparams;

/* ---- prefill / extend (attn_prefill*.cu): qo_indptr != NULL ----
 * Tensor cores (mma.sync) for Q.K^T and P.V, causal mask, sliding window,
 * soft-cap, over the paged quantized cache. */
#define QB_ATTN_PREFILL_ROWS 64 /* query rows (token x query head of one kv head) per prefill CTA */
/* Workspace bytes the prefill launch needs for p (0 if none); the host
 * adds it to qblas_attention_query's answer. */
size_t qb_attn_prefill_workspace(const qb_attn_kparams *p);
/* Launch on s; ws: at least qb_attn_prefill_workspace(p) bytes, 256-byte aligned. */
cudaError_t qb_attn_prefill_launch(const qb_attn_kparams *p, void *ws, cudaStream_t s);
/* Kernel name for the which-kernel queries, e.g. "attn_prefill_e4m3_d128_sm80_mma_q64k64". */
const char *qb_attn_prefill_name(const qb_attn_kparams *p);
/* Allow the dynamic shared memory the prefill kernels need (up to smem_max). */
cudaError_t qb_attn_prefill_prepare(int smem_max);

/* ---- decode (attn_decode*.cu): qo_indptr == NULL ----
 * One CTA per (sequence, kv head, chunk of group_tile query heads, split):
 * the G query heads of a kv head share every K/V byte read. num_splits > 1
 * splits each sequence's visible keys into num_splits equal chunks
 * (flash-decoding); the partials go to the workspace and a merge kernel
 * combines them by log-sum-exp. group_tile: 1, 2, 4 or 8 (>= G, or 8 when
 * G > 8: then ceil(G / 8) CTAs per kv head each take 8 query heads). */
/* Dynamic shared memory of the decode kernel for this configuration. */
size_t qb_attn_decode_smem(int kv_dtype, int head_dim, int group_tile);
/* Workspace bytes for num_splits > 1 (0 for 1), used from a 256-byte boundary. */
size_t qb_attn_decode_workspace(const qb_attn_kparams *p, int num_splits);
/* Launch on s; ws: qb_attn_decode_workspace bytes (any alignment). */
cudaError_t qb_attn_decode_launch(const qb_attn_kparams *p, int group_tile, int num_splits, void *ws, cudaStream_t s);
/* The split partials (attn_merge.cu, vendor-neutral: the CUDA and the AMD
 * decode kernels write them, one merge kernel reads them). In ws (from its
 * first 256-byte boundary): acc [num_q_tokens][Hq][num_splits][D] f32, the
 * sum of p * v relative to m, then ml [num_q_tokens][Hq][num_splits] f32x2
 * (m, l) pairs, m = -inf for an empty split. */
void qb_attn_decode_partials(const qb_attn_kparams *p, int num_splits, void *ws, float **acc, float **ml);
/* o (and lse) from the partials: M = max m_s, w_s = exp(m_s - M),
 * l = sum l_s w_s, o = (sum acc_s w_s) / l, lse = M + log(l), splits in
 * index order (deterministic). */
cudaError_t qb_attn_decode_merge(const qb_attn_kparams *p, int num_splits, void *ws, cudaStream_t s);
/* Allow the dynamic shared memory every decode kernel needs (up to smem_max). */
cudaError_t qb_attn_decode_prepare(int smem_max);
/* Tokens per pipeline tile of the decode kernel (4096 / head_dim): the split granule. */
int qb_attn_decode_tile(int head_dim);

/* ---- KV append (attn_append.cu) ---- */
typedef struct qb_kv_append_kparams {
    int dtype, num_pages, page_size, num_kv_heads, head_dim;
    void *k, *v;
    float *k_scale, *v_scale, *k_zero, *v_zero; /* as qb_kv_kparams; written for I8 and U4 */
    int scale_per_head;
    long long num_tokens;
    int src_dtype;          /* F32, F16, BF16 */
    const void *k_new, *v_new; /* [num_tokens][num_kv_heads][head_dim] */
    const int64_t *slot_mapping;
} qb_kv_append_kparams;
cudaError_t qb_kv_append_launch(const qb_kv_append_kparams *a, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_KERNELS_ATTENTION_H */
