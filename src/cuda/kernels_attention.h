/* kernels_attention.h - the attention and KV-append kernels' launch
 * interface (POD + extern "C", like cuda_kernels.h): what the host side
 * (cuda_attention.c) plans and the kernels (attn_*.cu) read. Semantics:
 * docs/FORMATS.md, "Attention over a paged, quantized KV cache".
 *
 * Every pointer is device memory. The host cannot read seq_lens,
 * qo_indptr or block_tables without a synchronization, so the kernels
 * defend themselves: a sequence length is clamped to [0, max_seq_len], a
 * block-table entry outside [0, num_pages) reads nothing (its keys are
 * skipped), a slot_mapping entry outside the cache writes nothing. Such
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
/* Workspace bytes the prefill launch needs for p (0 if none); the host
 * adds it to qblas_attention_query's answer. */
size_t qb_attn_prefill_workspace(const qb_attn_kparams *p);
/* Launch on s; ws: at least qb_attn_prefill_workspace(p) bytes, 256-byte aligned. */
cudaError_t qb_attn_prefill_launch(const qb_attn_kparams *p, void *ws, cudaStream_t s);
/* Kernel name for the which-kernel queries, e.g. "attn_prefill_e4m3_d128_sm80_mma_q64k64". */
const char *qb_attn_prefill_name(const qb_attn_kparams *p);
/* Allow the dynamic shared memory the prefill kernels need (up to smem_max). */
cudaError_t qb_attn_prefill_prepare(int smem_max);

#ifdef __cplusplus
}
#endif
#endif /* QBLAS_KERNELS_ATTENTION_H */
