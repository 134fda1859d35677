/* hip_attention.c - activation quantization, decode attention over the paged
 * KV cache, and KV append on the HIP (AMD) backend, host side. The kernels
 * are the shared CUDA sources compiled for wave64 (quant_act.cu,
 * attn_decode*.cu, attn_merge.cu, attn_append.cu), reached through the
 * target's table; the host logic mirrors src/cuda/cuda_attention.c and
 * cuda_quant_act.c.
 *
 * Attention: decode only (qo_indptr NULL). Prefill / extend answers
 * NOT_SUPPORTED: no AMD prefill kernel is written. Requirements as CUDA's
 * (q, o, k, v 16-byte aligned; the grid limits). The decode split policy is
 * CUDA's default (attn_decode_sm80_fill2: fill 2 blocks per CU, a split at
 * least 256 keys, at most 64 splits), on the device's CU count; a plan's
 * calls take the plan's split count. The table's attn_decode is taken to be
 * the shared qb_attn_decode_launch, which merges the splits itself (the
 * table's attn_merge is not called). The workspace is attn_merge.cu's
 * (qb_attn_decode_workspace: the same arithmetic, below). The decode
 * kernel's LDS need is not checked on the host (qb_attn_decode_smem is not
 * in the table; every configuration fits 64 KiB).
 */
#include <limits.h>
#include <stdio.h>

#include "../common/qblas_quant_math.h"
#include "hip_backend.h"

#define LL(x) ((long long)(x))
#define UNSUPPORTED(...) qb_fail(h, QBLAS_STATUS_NOT_SUPPORTED, __VA_ARGS__)
#define GRID_X_MAX ((int64_t)0x7FFFFFFF)

/* the decode split policy (CUDA's default configuration, kernel_configs.h) */
#define DECODE_BLOCKS_PER_CU 2
#define DECODE_MIN_SPLIT_TOKENS 256
#define DECODE_MAX_SPLITS 64

static bool al16(const void *p) { return ((uintptr_t)p & 15) == 0; }

/* ---- activation quantization ---- */

static const char *q_name(qblas_dtype_t t)
{
    switch (t) {
    case QBLAS_DTYPE_I8: return "i8";
    case QBLAS_DTYPE_E4M3: return "e4m3";
    case QBLAS_DTYPE_E5M2: return "e5m2";
    default: return "e4m3fnuz";
    }
}

qblas_status_t qb_hip_quantize_act(qblas_handle_t h, const qb_qact_args *a, void *stream)
{
    const qb_hip_state *s = qb_hip(h);
    const bool i8 = a->q_dtype == QBLAS_DTYPE_I8;
    qblas_status_t st = qb_hip_on_device(h);
    if (st) return st;
    qb_qact_kparams p = {
        .x = a->x, .ldx = a->ldx, .q = a->q, .ldq = a->ldq, .m = a->m, .k = a->k,
        .x_dtype = (int)a->x_dtype, .q_dtype = (int)a->q_dtype, .mode = (int)a->mode,
        .scales = a->scales, .zeros = a->zeros, .status = &s->dev->status,
        .qmax = i8 ? QB_QACT_I8_QMAX : qb_fp8_max(a->q_dtype),
        .fp8 = qb_fp8_fmt_of(i8 ? QBLAS_DTYPE_E4M3 : a->q_dtype),
    };
    QB_HIP_TRY(h, s->k->qact(&p, s->cus, (void *)stream));
    /* cuda_quant_act.c's names, the target in place of sm80 */
    char name[QBLAS_KERNEL_NAME_MAX];
    const char *mode = a->mode == QBLAS_SCALE_PER_TENSOR ? "tensor" : a->mode == QBLAS_SCALE_PER_ROW ? "row" : "block128";
    if (a->zeros)
        snprintf(name, sizeof name, "quant_i8asym_row_%s", s->target->name);
    else
        snprintf(name, sizeof name, "quant_%s_%s_%s", q_name(a->q_dtype), mode, s->target->name);
    qb_set_kernel(h, name);
    return QBLAS_STATUS_SUCCESS;
}

/* ---- attention ---- */

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

typedef struct {
    qb_attn_kparams kp;
    int group_tile, num_splits;
    size_t ws_bytes;
    char name[QBLAS_KERNEL_NAME_MAX];
} attn_plan;

/* attn_merge.cu's workspace: from the first 256-byte boundary, acc [tokens][Hq][S][D] f32 then (m, l) pairs */
static size_t decode_workspace(const qb_attn_kparams *p, int splits)
{
    if (splits <= 1) return 0;
    const size_t rows = (size_t)p->num_q_tokens * (size_t)p->num_q_heads * (size_t)splits;
    return 255 + rows * (size_t)p->kv.head_dim * 4 + rows * 8;
}

static qblas_status_t make_plan(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                const qb_choice *fixed, attn_plan *pl)
{
    const qb_hip_state *s = qb_hip(h);
    if (p->qo_indptr)
        return UNSUPPORTED("HIP attention: prefill / extend (qo_indptr set) is not supported on AMD yet (no prefill "
                           "kernel); decode (qo_indptr NULL) is");
    if (!al16(p->q) || !al16(p->o))
        return UNSUPPORTED("HIP attention needs q and o 16-byte aligned (rows move in 16-byte vectors)");
    if (!al16(kv->k) || !al16(kv->v))
        return UNSUPPORTED("HIP attention needs the kv cache k and v 16-byte aligned (16-byte row copies)");
    pl->kp = (qb_attn_kparams){
        .kv = {.dtype = (int)kv->dtype, .num_pages = kv->num_pages, .page_size = kv->page_size,
               .num_kv_heads = kv->num_kv_heads, .head_dim = kv->head_dim, .k = kv->k, .v = kv->v,
               .k_scale = kv->k_scale, .v_scale = kv->v_scale, .k_zero = kv->k_zero, .v_zero = kv->v_zero,
               .scale_per_head = kv->scale_mode == QBLAS_SCALE_PER_HEAD},
        .num_seqs = p->num_seqs, .num_q_tokens = p->num_q_tokens, .num_q_heads = p->num_q_heads,
        .group = p->num_q_heads / kv->num_kv_heads, .q_dtype = (int)p->q_dtype, .q = p->q, .o = p->o,
        .lse = p->lse, .qo_indptr = NULL, .seq_lens = p->seq_lens, .block_tables = p->block_tables,
        .block_table_stride = p->block_table_stride, .max_seq_len = p->max_seq_len, .sm_scale = p->sm_scale,
        .logit_softcap = p->logit_softcap, .window_left = p->window_left, .causal = p->causal,
    };
    const int G = pl->kp.group;
    const int gt = G >= 5 ? 8 : (G >= 3 ? 4 : G);
    const int64_t gchunks = qb_cdiv(G, gt);
    if (kv->num_kv_heads * gchunks > 65535)
        return UNSUPPORTED("HIP decode attention needs num_kv_heads * ceil(G/8) <= 65535 (%lld): grid rows",
                           LL(kv->num_kv_heads * gchunks));
    const int64_t base = (int64_t)p->num_seqs * kv->num_kv_heads * gchunks;
    const int64_t slots = (int64_t)s->cus * DECODE_BLOCKS_PER_CU;
    int64_t S = 1;
    if (fixed) {
        S = fixed->splits < 1 ? 1 : fixed->splits > DECODE_MAX_SPLITS ? DECODE_MAX_SPLITS : fixed->splits;
    } else if (base < slots) {
        S = slots / base;
        const int64_t cap = qb_cdiv(p->max_seq_len, DECODE_MIN_SPLIT_TOKENS);
        if (S > cap) S = cap;
        if (S > DECODE_MAX_SPLITS) S = DECODE_MAX_SPLITS;
        if (S < 1) S = 1;
    }
    if ((int64_t)p->num_seqs * S > GRID_X_MAX)
        return UNSUPPORTED("HIP decode attention handles num_seqs <= %lld", LL(GRID_X_MAX));
    int64_t rows, acc;
    if (!qb_mul(p->num_q_tokens, p->num_q_heads, &rows) || qb_cdiv(rows, 4) > GRID_X_MAX ||
        !qb_mul(rows, S * (kv->head_dim + 2) * 4, &acc) || acc > INT64_MAX - 512)
        return UNSUPPORTED("HIP decode attention: num_q_tokens * num_q_heads = %lld is too large", LL(rows));
    pl->group_tile = gt;
    pl->num_splits = (int)S;
    pl->ws_bytes = decode_workspace(&pl->kp, (int)S);
    snprintf(pl->name, sizeof pl->name, "attn_decode_%s_d%d_g%d_%s%s", kv_name(kv->dtype), kv->head_dim, gt,
             s->target->name, S > 1 ? "_split" : "");
    return QBLAS_STATUS_SUCCESS;
}

/* One decode policy, no registry configuration: the choice's config is -1
 * (as the CPU backend's), its name the policy's. */
static qb_choice attn_choice(int splits) { return (qb_choice){-1, splits, "attn_decode_hip_fill2"}; }

qblas_status_t qb_hip_attention_query(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                      const qb_choice *fixed, qb_choice *chosen, qblas_kernel_info_t *info)
{
    attn_plan pl;
    qblas_status_t st = make_plan(h, kv, p, fixed, &pl);
    if (st) return st;
    qb_kernel_info(info, pl.ws_bytes, pl.name);
    *chosen = attn_choice(pl.num_splits);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_hip_attention(qblas_handle_t h, const qblas_kv_cache_t *kv, const qblas_attention_params_t *p,
                                const qb_choice *c, void *ws, size_t ws_bytes, void *stream)
{
    attn_plan pl;
    qblas_status_t st = make_plan(h, kv, p, c, &pl);
    if (st || (st = qb_hip_on_device(h))) return st;
    (void)ws_bytes; /* the core checked it against the query */
    QB_HIP_TRY(h, qb_hip(h)->k->attn_decode(&pl.kp, pl.group_tile, pl.num_splits, ws, stream));
    return QBLAS_STATUS_SUCCESS;
}

/* ---- KV append ---- */

qblas_status_t qb_hip_kv_append(qblas_handle_t h, const qblas_kv_cache_t *kv, const qb_append_args *a, void *stream)
{
    qblas_status_t st;
    int64_t rows;
    if (!qb_mul(a->num_tokens, 2 * (int64_t)kv->num_kv_heads, &rows) || qb_cdiv(rows, 4) > GRID_X_MAX)
        return UNSUPPORTED("HIP KV append: num_tokens * num_kv_heads = %lld rows is too large",
                           LL(a->num_tokens * kv->num_kv_heads));
    if ((st = qb_hip_on_device(h))) return st;
    qb_kv_append_kparams kp = {
        .dtype = (int)kv->dtype, .num_pages = kv->num_pages, .page_size = kv->page_size,
        .num_kv_heads = kv->num_kv_heads, .head_dim = kv->head_dim, .k = kv->k, .v = kv->v,
        .k_scale = kv->k_scale, .v_scale = kv->v_scale, .k_zero = kv->k_zero, .v_zero = kv->v_zero,
        .scale_per_head = kv->scale_mode == QBLAS_SCALE_PER_HEAD, .num_tokens = a->num_tokens,
        .src_dtype = (int)a->src_dtype, .k_new = a->k_new, .v_new = a->v_new, .slot_mapping = a->slot_mapping,
    };
    QB_HIP_TRY(h, qb_hip(h)->k->kv_append(&kp, stream));
    char name[QBLAS_KERNEL_NAME_MAX];
    snprintf(name, sizeof name, "kv_append_%s_%s", kv_name(kv->dtype), qb_hip(h)->target->name);
    qb_set_kernel(h, name);
    return QBLAS_STATUS_SUCCESS;
}
