/* cuda_attention.c - attention over the paged KV cache and KV append on the
 * CUDA backend, host side: checks, the plan (decode vs prefill, group tile,
 * flash-decoding splits), the workspace, the launches. The core validated
 * every generic argument (src/core/validate.c); the kernels are reached
 * through kernels_attention.h.
 *
 * Requirements (NOT_SUPPORTED before anything is written): q, o, k and v
 * 16-byte aligned (rows move in 16-byte vectors); grid limits (num_kv_heads
 * * ceil(G / 8) <= 65535, num_seqs * splits and the merge/append grids
 * within 2^31 - 1). Every G = Hq / Hkv works: the decode kernel takes a
 * group tile of 1, 2, 4 or 8 query heads; G > 8 runs ceil(G / 8) CTAs per
 * kv head.
 *
 * Split policy (decode), the selected configuration's (kernel_configs.h):
 * base = num_seqs * Hkv * ceil(G / GT) CTAs; when that leaves SMs idle
 * (base < sms * ctas_per_sm), each sequence is split into S =
 * min(floor(sms * ctas_per_sm / base), ceil(max_seq_len / min_split_tokens),
 * max_splits) parts; a plan's calls take the plan's S. The host cannot read seq_lens, so
 * S is sized by max_seq_len; on the device each split takes an equal share
 * (rounded up to whole tiles) of its own sequence's visible keys, and a
 * split with nothing to do writes an empty partial (m = -inf).
 *
 * Device data (seq_lens, block tables, slot mappings) are not checked: see
 * kernels_attention.h and docs/FORMATS.md for what bad values produce.
 */
#include <limits.h>
#include <stdio.h>

#include "../core/tuning.h"
#include "cuda_backend.h"
#include "kernels_attention.h"

#define LL(x) ((long long)(x))
#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)
#define GRID_X_MAX ((int64_t)0x7FFFFFFF)

typedef struct {
    const qb_cuda_cfg *cfg;
    qb_attn_kparams kp;
    int group_tile, num_splits; /* decode */
    size_t ws_bytes;
    char name[QBLAS_KERNEL_NAME_MAX];
} attn_plan;

static const char *kv_name(qblas_dtype_t t)
{
    switch (t) {
    case QBLAS_DTYPE_F16: return "f16";
    case QBLAS_DTYPE_BF16: return "bf16";
    case QBLAS_DTYPE_E4M3: return "e4m3";
    case QBLAS_DTYPE_I8: return "i8";
    default: return "u4";
    }
}

static bool al16(const void *p) { return ((uintptr_t)p & 15) == 0; }

static qb_kv_kparams kv_params(const qblas_kv_cache_t *kv)
{
    qb_kv_kparams k = {
        .dtype = (int)kv->dtype, .num_pages = kv->num_pages, .page_size = kv->page_size,
        .num_kv_heads = kv->num_kv_heads, .head_dim = kv->head_dim, .k = kv->k, .v = kv->v,
        .k_scale = kv->k_scale, .v_scale = kv->v_scale, .k_zero = kv->k_zero, .v_zero = kv->v_zero,
        .scale_per_head = kv->scale_mode == QBLAS_SCALE_PER_HEAD,
    };
    return k;
}

qblas_status_t qb_cuda_attention_init(qblas_handle_t h)
{
    const qb_cuda_state *s = qb_cuda(h);
    QB_CUDA_TRY(h, qb_attn_decode_prepare(s->smem_optin));
    QB_CUDA_TRY(h, qb_attn_prefill_prepare(s->smem_optin));
    return QBLAS_STATUS_SUCCESS;
}

/* Decode: group tile, splits (the configuration's policy, or a plan's
 * count), workspace, name. */
static qblas_status_t plan_decode(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_choice *fixed, attn_plan *pl)
{
    const qb_cuda_state *s = qb_cuda(h);
    const qb_cuda_cfg *cfg = pl->cfg;
    qb_attn_kparams *kp = &pl->kp;
    const int G = kp->group;
    const int gt = G >= 5 ? 8 : (G >= 3 ? 4 : G);
    const int64_t gchunks = qb_cdiv(G, gt);
    if (kv->num_kv_heads * gchunks > 65535)
        return UNSUPPORTED("CUDA decode attention needs num_kv_heads * ceil(G/8) <= 65535 (%lld): grid rows",
                           LL(kv->num_kv_heads * gchunks));
    const size_t smem = qb_attn_decode_smem(kp->kv.dtype, kp->kv.head_dim, gt);
    if (smem == 0 || smem > (size_t)s->smem_optin)
        return UNSUPPORTED("CUDA decode attention needs %zu bytes of shared memory, the device allows %d", smem,
                           s->smem_optin);
    /* splits: fill the idle SMs, never below min_split_tokens keys per split */
    const int64_t base = (int64_t)kp->num_seqs * kv->num_kv_heads * gchunks;
    const int64_t slots = (int64_t)s->sms * cfg->ctas_per_sm;
    int64_t S = 1;
    if (fixed) {
        S = fixed->splits < 1 ? 1 : fixed->splits > cfg->max_splits ? cfg->max_splits : fixed->splits;
    } else if (base < slots) {
        S = slots / base;
        const int64_t cap = qb_cdiv(kp->max_seq_len, cfg->min_split_tokens);
        if (S > cap) S = cap;
        if (S > cfg->max_splits) S = cfg->max_splits;
        if (S < 1) S = 1;
    }
    if ((int64_t)kp->num_seqs * S > GRID_X_MAX)
        return UNSUPPORTED("CUDA decode attention handles num_seqs <= %lld", LL(GRID_X_MAX));
    int64_t rows, acc;
    if (!qb_mul(kp->num_q_tokens, kp->num_q_heads, &rows) || qb_cdiv(rows, 4) > GRID_X_MAX ||
        !qb_mul(rows, S * (kp->kv.head_dim + 2) * 4, &acc) || acc > INT64_MAX - 512)
        return UNSUPPORTED("CUDA decode attention: num_q_tokens * num_q_heads = %lld is too large", LL(rows));
    pl->group_tile = gt;
    pl->num_splits = (int)S;
    pl->ws_bytes = qb_attn_decode_workspace(kp, (int)S);
    const char *tag = kv->dtype == QBLAS_DTYPE_E4M3 && s->cc >= 89 ? "sm89" : "sm80";
    snprintf(pl->name, sizeof pl->name, "attn_decode_%s_d%d_g%d_%s%s", kv_name(kv->dtype), kv->head_dim, gt, tag,
             S > 1 ? "_split" : "");
    return QBLAS_STATUS_SUCCESS;
}

/* fixed: a plan's (or the query's) choice; NULL: select. */
static qblas_status_t make_plan(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                const qb_choice *fixed, attn_plan *pl)
{
    qblas_status_t st;
    qblas_tuning_entry_t key;
    qb_tuning_attention_key(kv, p, &key);
    const qb_cuda_need need = {p->qo_indptr ? QB_FAM_ATTN_PREFILL : QB_FAM_ATTN_DECODE, QB_DTYPE_ANY, -1,
                               p->qo_indptr ? p->num_q_tokens : p->num_seqs, &key};
    if (!(pl->cfg = qb_cuda_select(h, &need, fixed, &st))) return st;
    if (!al16(p->q) || !al16(p->o))
        return UNSUPPORTED("CUDA attention needs q and o 16-byte aligned (rows move in 16-byte vectors)");
    if (!al16(kv->k) || !al16(kv->v))
        return UNSUPPORTED("CUDA attention needs the kv cache k and v 16-byte aligned (16-byte cp.async rows)");
    pl->kp = (qb_attn_kparams){
        .kv = kv_params(kv), .num_seqs = p->num_seqs, .num_q_tokens = p->num_q_tokens,
        .num_q_heads = p->num_q_heads, .group = p->num_q_heads / kv->num_kv_heads, .q_dtype = (int)p->q_dtype,
        .q = p->q, .o = p->o, .lse = p->lse, .qo_indptr = p->qo_indptr, .seq_lens = p->seq_lens,
        .block_tables = p->block_tables, .block_table_stride = p->block_table_stride,
        .max_seq_len = p->max_seq_len, .sm_scale = p->sm_scale, .logit_softcap = p->logit_softcap,
        .window_left = p->window_left, .causal = p->causal,
    };
    if (!p->qo_indptr) return plan_decode(h, kv, fixed, pl);
    /* prefill / extend: helper kernels of attn_prefill*.cu */
    if (kv->num_kv_heads > 65535) return UNSUPPORTED("CUDA prefill attention handles num_kv_heads <= 65535");
    /* grid x: an upper bound of the q tiles, ceil(num_q_tokens * G / rows) + num_seqs (attn_prefill.cu) */
    const int64_t tiles = ((int64_t)p->num_q_tokens * pl->kp.group + QB_ATTN_PREFILL_ROWS - 1) / QB_ATTN_PREFILL_ROWS +
                          p->num_seqs;
    if (tiles > INT_MAX)
        return UNSUPPORTED("CUDA prefill attention handles num_q_tokens * G / %d + num_seqs <= INT_MAX (%lld)",
                           QB_ATTN_PREFILL_ROWS, (long long)tiles);
    const char *name = qb_attn_prefill_name(&pl->kp);
    if (!name) return UNSUPPORTED("CUDA prefill attention has no kernel for this cache and query dtype");
    snprintf(pl->name, sizeof pl->name, "%s", name);
    const size_t ws = qb_attn_prefill_workspace(&pl->kp);
    pl->ws_bytes = ws ? ws + 255 : 0; /* used from a 256-byte boundary */
    pl->num_splits = 1;
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_attention_query(qblas_handle_t h, const qblas_kv_cache_t *kv,
                                       const qblas_attention_params_t *p, const qb_choice *fixed, qb_choice *chosen,
                                       qblas_kernel_info_t *info)
{
    attn_plan pl;
    qblas_status_t st = make_plan(h, kv, p, fixed, &pl);
    if (st) return st;
    qb_kernel_info(info, pl.ws_bytes, pl.name);
    *chosen = qb_cuda_choice(pl.cfg, pl.num_splits);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_cuda_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                 const qb_choice *c, void *ws, size_t ws_bytes, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    attn_plan pl;
    qblas_status_t st = make_plan(h, kv, p, c, &pl);
    if (st || (st = qb_cuda_on_device(h))) return st;
    (void)ws_bytes; /* the core checked it against the query */
    if (p->qo_indptr) {
        void *aligned = pl.ws_bytes ? (void *)(((uintptr_t)ws + 255) & ~(uintptr_t)255) : ws;
        QB_CUDA_TRY(h, qb_attn_prefill_launch(&pl.kp, aligned, s));
    } else {
        QB_CUDA_TRY(h, qb_attn_decode_launch(&pl.kp, pl.group_tile, pl.num_splits, ws, s));
    }
    return QBLAS_STATUS_SUCCESS;
}

/* ---- KV append ---- */

qblas_status_t qb_cuda_kv_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a, void *stream)
{
    qblas_status_t st;
    int64_t rows;
    if (!qb_mul(a->num_tokens, 2 * (int64_t)kv->num_kv_heads, &rows) || qb_cdiv(rows, 4) > GRID_X_MAX)
        return UNSUPPORTED("CUDA KV append: num_tokens * num_kv_heads = %lld rows is too large",
                           LL(a->num_tokens * kv->num_kv_heads));
    if ((st = qb_cuda_on_device(h))) return st;
    qb_kv_append_kparams kp = {
        .dtype = (int)kv->dtype, .num_pages = kv->num_pages, .page_size = kv->page_size,
        .num_kv_heads = kv->num_kv_heads, .head_dim = kv->head_dim, .k = kv->k, .v = kv->v,
        .k_scale = kv->k_scale, .v_scale = kv->v_scale, .k_zero = kv->k_zero, .v_zero = kv->v_zero,
        .scale_per_head = kv->scale_mode == QBLAS_SCALE_PER_HEAD, .num_tokens = a->num_tokens,
        .src_dtype = (int)a->src_dtype, .k_new = a->k_new, .v_new = a->v_new, .slot_mapping = a->slot_mapping,
    };
    QB_CUDA_TRY(h, qb_kv_append_launch(&kp, (cudaStream_t)stream));
    /* the core names no kernel for append: record it here */
    char name[QBLAS_KERNEL_NAME_MAX];
    snprintf(name, sizeof name, "kv_append_%s_sm80_warp", kv_name(kv->dtype));
    qb_set_kernel(h, name);
    return QBLAS_STATUS_SUCCESS;
}
