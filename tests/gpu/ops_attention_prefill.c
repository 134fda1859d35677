/* ops_attention_prefill.c - prefill / extend attention (qo_indptr given) over
 * the paged, quantized KV cache on the GPU, against the CPU oracle and
 * against the format's definition evaluated here in float64.
 *
 * Coverage: every cache dtype (f16, bf16, e4m3 per-tensor and per-head, i8,
 * u4) x f16/bf16 queries x head dims 64/128/256, GQA ratios 1, 4, 8, page
 * sizes 16, 64 and odd ones, ragged batches (qo_len 0, 1, 17, 64+, == L for
 * pure prefill and < L for extend), causal on/off, sliding window, soft-cap,
 * lse on/off, unused block-table entries holding garbage. O and lse are
 * poisoned (0xFF) with guard bands, the same call twice must give identical
 * bits (the kernel is deterministic: fixed tiling, no atomics), the kernel
 * name is checked. An out-of-range block-table entry must not crash and
 * must leave the other sequences right. Bad inputs: a short workspace, a
 * k or q pointer off 16-byte alignment -> the documented status, outputs
 * untouched.
 *
 * A prefill query always sees its own position (pos < L, and
 * pos - window_left <= pos), so "no visible key" (O = +0, lse = -inf) cannot
 * happen with valid inputs here; the decode group covers it.
 */
#include "gpu_harness.h"

#define PF_MAXSEQ 8

typedef struct {
    qblas_dtype_t kvt, qdt;
    int D, G, Hkv, P;
    int causal, window; /* window_left, -1: off */
    float cap;          /* logit soft-cap, 0: off */
    float sharp;        /* sm_scale = sharp / sqrt(D) */
    bool lse, per_head; /* per_head: E4M3 PER_HEAD scales (else PER_TENSOR) */
    int nseq, L[PF_MAXSEQ], qo[PF_MAXSEQ];
    int bad_seq; /* -1, or a sequence whose block table holds an entry outside [0, num_pages) */
} pf_case;

/* The host side of one case: cache, block tables, queries. */
typedef struct {
    qblas_kv_cache_t kv; /* host pointers */
    size_t data_bytes, nscale, nfp8;
    int32_t *bt, *bt_cpu, stride, *seq_lens, *indptr;
    int T, Hq, maxL;
    void *q;
    size_t q_bytes;
} pf_host;

static int pf_bk(int D) { return D == 256 ? 32 : 64; }

static size_t row_bytes(qblas_dtype_t t, int D)
{
    return t == QBLAS_DTYPE_U4 ? (size_t)D / 2 : t == QBLAS_DTYPE_F16 || t == QBLAS_DTYPE_BF16 ? (size_t)D * 2 : (size_t)D;
}

static void make_host(const pf_case *c, pf_host *H)
{
    memset(H, 0, sizeof *H);
    const int D = c->D, Hkv = c->Hkv, P = c->P;
    int pages = 0, maxpg = 0;
    H->T = 0, H->maxL = 0, H->Hq = c->G * Hkv;
    for (int s = 0; s < c->nseq; s++) {
        const int np = (c->L[s] + P - 1) / P;
        pages += np, maxpg = np > maxpg ? np : maxpg;
        H->T += c->qo[s], H->maxL = c->L[s] > H->maxL ? c->L[s] : H->maxL;
    }
    /* a few pages no sequence uses, and a wider block table than needed (its tail is garbage) */
    const int num_pages = pages + 3;
    H->stride = maxpg + 2;
    int32_t *perm = xmalloc((size_t)num_pages * 4);
    for (int i = 0; i < num_pages; i++) perm[i] = i;
    for (int i = num_pages - 1; i > 0; i--) {
        const int j = (int)irand(0, i), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    H->bt = xmalloc((size_t)c->nseq * H->stride * 4), H->bt_cpu = xmalloc((size_t)c->nseq * H->stride * 4);
    H->seq_lens = xmalloc((size_t)c->nseq * 4), H->indptr = xmalloc((size_t)(c->nseq + 1) * 4);
    int next = 0;
    H->indptr[0] = 0;
    for (int s = 0; s < c->nseq; s++) {
        const int np = (c->L[s] + P - 1) / P;
        for (int b = 0; b < H->stride; b++)
            H->bt[s * H->stride + b] = b < np ? perm[next++] : (int32_t)(rnd() | 0x40000000u); /* never read */
        H->seq_lens[s] = c->L[s];
        H->indptr[s + 1] = H->indptr[s] + c->qo[s];
    }
    memcpy(H->bt_cpu, H->bt, (size_t)c->nseq * H->stride * 4);
    if (c->bad_seq >= 0) /* the GPU gets an entry outside [0, num_pages); the oracle (which rejects it) a valid one */
        H->bt[c->bad_seq * H->stride + (c->L[c->bad_seq] - 1) / P / 2] = (rnd() & 1) ? num_pages + 5 : -3;
    free(perm);

    qblas_kv_cache_t *kv = &H->kv;
    kv->dtype = c->kvt, kv->num_pages = num_pages, kv->page_size = P, kv->num_kv_heads = Hkv, kv->head_dim = D;
    H->data_bytes = (size_t)num_pages * P * Hkv * row_bytes(c->kvt, D);
    H->nscale = (size_t)num_pages * P * Hkv;
    uint8_t *k = xmalloc(H->data_bytes), *v = xmalloc(H->data_bytes);
    kv->k = k, kv->v = v;
    switch (c->kvt) {
    case QBLAS_DTYPE_F16:
    case QBLAS_DTYPE_BF16:
        kv->scale_mode = QBLAS_SCALE_NONE;
        for (size_t i = 0; i < H->data_bytes / 2; i++)
            from_f32(c->kvt, k, (int64_t)i, signed_uni(0.0, 1.0)), from_f32(c->kvt, v, (int64_t)i, signed_uni(0.0, 1.0));
        break;
    case QBLAS_DTYPE_E4M3:
        kv->scale_mode = c->per_head ? QBLAS_SCALE_PER_HEAD : QBLAS_SCALE_PER_TENSOR;
        H->nfp8 = c->per_head ? (size_t)Hkv : 1;
        kv->k_scale = xmalloc(H->nfp8 * 4), kv->v_scale = xmalloc(H->nfp8 * 4);
        for (size_t i = 0; i < H->nfp8; i++) kv->k_scale[i] = (float)uni(1.0, 2.0) / 448.0f, kv->v_scale[i] = (float)uni(1.0, 2.0) / 448.0f;
        for (size_t i = 0; i < H->data_bytes; i++) {
            do k[i] = (uint8_t)rnd(); while ((k[i] & 0x7F) == 0x7F); /* no NaN codes */
            do v[i] = (uint8_t)rnd(); while ((v[i] & 0x7F) == 0x7F);
        }
        break;
    default: /* I8, U4: per token-head scales (U4: and zero points) */
        kv->scale_mode = QBLAS_SCALE_PER_TOKEN_HEAD;
        kv->k_scale = xmalloc(H->nscale * 4), kv->v_scale = xmalloc(H->nscale * 4);
        for (size_t i = 0; i < H->data_bytes; i++) k[i] = (uint8_t)rnd(), v[i] = (uint8_t)rnd();
        const float lv = c->kvt == QBLAS_DTYPE_I8 ? 127.0f : 7.5f;
        for (size_t i = 0; i < H->nscale; i++) kv->k_scale[i] = (float)uni(0.5, 1.5) / lv, kv->v_scale[i] = (float)uni(0.5, 1.5) / lv;
        if (c->kvt == QBLAS_DTYPE_U4) {
            kv->k_zero = xmalloc(H->nscale * 4), kv->v_zero = xmalloc(H->nscale * 4);
            for (size_t i = 0; i < H->nscale; i++) kv->k_zero[i] = (float)uni(5.0, 10.0), kv->v_zero[i] = (float)uni(5.0, 10.0);
        }
        break;
    }
    H->q_bytes = (size_t)H->T * H->Hq * D * 2;
    H->q = xmalloc(H->q_bytes);
    for (size_t i = 0; i < H->q_bytes / 2; i++) from_f32(c->qdt, H->q, (int64_t)i, signed_uni(0.0, 1.0));
}

static void free_host(pf_host *H)
{
    free(H->kv.k), free(H->kv.v), free(H->kv.k_scale), free(H->kv.v_scale), free(H->kv.k_zero), free(H->kv.v_zero);
    free(H->bt), free(H->bt_cpu), free(H->seq_lens), free(H->indptr), free(H->q);
}

static qblas_attention_params_t params(const pf_case *c, const pf_host *H)
{
    qblas_attention_params_t p = {0};
    p.num_seqs = c->nseq, p.num_q_tokens = H->T, p.num_q_heads = H->Hq, p.q_dtype = c->qdt;
    p.block_table_stride = H->stride, p.max_seq_len = H->maxL + 3; /* an upper bound, not the max */
    p.sm_scale = c->sharp / sqrtf((float)c->D), p.logit_softcap = c->cap;
    p.window_left = c->window, p.causal = c->causal;
    return p;
}

/* Dequantized row (cache token ti, head h) exactly as the format defines it:
 * each fp32 operation is a separate statement (one rounding each). */
static void kv_row(const qblas_kv_cache_t *kv, const uint8_t *data, const float *sc, const float *zr, int64_t ti, int h,
                   float *out)
{
    const int D = kv->head_dim;
    const int64_t r = ti * kv->num_kv_heads + h;
    for (int d = 0; d < D; d++) {
        float x;
        switch (kv->dtype) {
        case QBLAS_DTYPE_U4: {
            const float code = (float)((data[r * (D / 2) + d / 2] >> (4 * (d & 1))) & 15);
            x = code - zr[r];
            x = x * sc[r];
            break;
        }
        case QBLAS_DTYPE_I8: x = (float)(int8_t)data[r * D + d], x = x * sc[r]; break;
        case QBLAS_DTYPE_E4M3:
            x = qb_fp8_decode(data[r * D + d], QB_FP8_E4M3);
            x = x * sc[kv->scale_mode == QBLAS_SCALE_PER_HEAD ? h : 0];
            break;
        default: x = to_f32(kv->dtype, data, r * D + d); break;
        }
        out[d] = x;
    }
}

/* ---- the tolerance (docs/FORMATS.md "Attention"; derived per query) ----
 * Both sides compute the same definition from the same fp32 K/V values k_j,
 * v_j; the float64 reference uses exact logits x_j, p_j = exp(x_j - m),
 * l = sum p_j, o = sum p_j v_j / l. Per key:
 *  - logit error E_j, before the cap: |sm_scale| * (gamma_nd(u) * S'_j + R_j)
 *    + 2^-24 |x_j| (the scale multiply), S'_j = sum_d |q_d| (|k_jd| + R_jd),
 *    R_j = sum_d |q_d| R_jd, R_jd = the rounding of k_jd to the query dtype
 *    (GPU, cache dtype != query dtype: half an ulp; else 0). GPU: products
 *    exact on the tensor cores, fp32 accumulation whose adds may truncate
 *    (u = 2^-23), D in-mma adds + D/16 accumulator adds; CPU: D rounded
 *    products and adds (u = 2^-24, nd = D + 1).
 *  - soft-cap cap*tanhf(x/cap): |tanh'| <= 1 carries E_j; the division and
 *    the multiply 2^-24 each, tanhf 2 ulp (2^-22 relative): + 2^-24 |x_j|
 *    + 2^-21 |x'_j|.
 *  - exponent error (natural units) of p_j: eta_j = E_j + the base-2
 *    conversion (GPU: x*log2e, rounded: 2^-23 (|x'_j| + |m|)) + the
 *    subtraction x - m (2^-23 (m - x'_j) covers the GPU's chain of running
 *    maxima, whose differences add up to at most 2 (m - x'_j)) + exp errors:
 *    GPU exp2f 2 ulp per p and per rescale factor, the rescale multiplies
 *    of l and O (2^-24 each), once per key tile: (tiles + 1) * 2^-21; CPU
 *    expf 2^-23. Then |p^_j / p_j - 1| <= delta_j = expm1(eta_j).
 *  - O = acc / l with p^_j = p_j (1 + delta_j):
 *      acc^ - o l^ = sum p_j delta_j (v_j - o) + B + C + o (l^ - sum p^)
 *    B (GPU): P rounded to the query dtype for the mma (half an ulp of p^_j
 *    times |v|) and v rounded to it (cache dtype != query dtype); C: the
 *    fp32 accumulation of acc, gamma_na(u) * sum p^ |v~| (GPU: n keys + n/16
 *    accumulator adds + 2 per tile, u = 2^-23; CPU: 2n, u = 2^-24); l's sum
 *    gamma_nl(2^-24) (GPU: n + tiles + 4 adds and rescales; CPU: n).
 *    |O^ - o| <= (A + B + C + |o| gl l (1 + dmax)) / (l (1 - dmax) (1 - gl))
 *    + 2^-24 |o| (the division), A = sum p_j delta_j (|v_j| + |o|), then the
 *    store rounds to the query dtype: + half an ulp at |o| + that bound.
 *  - lse = m + log l: shift invariance leaves sum p_j delta_j / l + gl/(1-gl),
 *    plus the roundings of m (GPU: m2 * ln2), of logf (1 ulp) and of the add:
 *    2^-22 (|m| + |log l| + |lse|).
 * GPU vs oracle: the sum of the two bounds; NaN never passes. */
typedef struct {
    bool gpu;
    double u_acc;
    int nd, tiles;
} errm;

typedef struct {
    double o_tol[256], o_ref[256], lse_ref, lse_tol;
} refout;

/* Half an ulp of the query dtype at |a| as a cheap bound (the subnormal
 * floor included): 2^-11 |a| + 2^-25 (f16), 2^-8 |a| + 2^-134 (bf16). */
static double hu(qblas_dtype_t t, double a)
{
    return t == QBLAS_DTYPE_F16 ? 0x1p-11 * fabs(a) + 0x1p-25 : 0x1p-8 * fabs(a) + 0x1p-134;
}

static void reference(const pf_case *c, const qblas_attention_params_t *p, const float *qf, float *const *krows,
                      float *const *vrows, int n, const errm *em, refout *ro)
{
    const int D = c->D;
    const bool rq = em->gpu && c->kvt != c->qdt; /* K and V rounded to the query dtype */
    double *x = xmalloc((size_t)n * 8), *xa = xmalloc((size_t)n * 8), *E = xmalloc((size_t)n * 8);
    double m = -INFINITY;
    for (int j = 0; j < n; j++) {
        double dot = 0, S = 0, R = 0;
        for (int d = 0; d < D; d++) {
            const double qv = qf[d], kv = krows[j][d], r = rq ? hu(c->qdt, kv) : 0.0;
            dot += qv * kv, S += fabs(qv) * (fabs(kv) + r), R += fabs(qv) * r;
        }
        const double xs = p->sm_scale * dot;
        double e = fabs((double)p->sm_scale) * (gamma_n(em->nd, em->u_acc) * S + R) + 0x1p-24 * fabs(xs);
        double xc = xs;
        if (c->cap > 0) {
            xc = c->cap * tanh(xs / c->cap);
            e += 0x1p-24 * fabs(xs) + 0x1p-21 * fabs(xc);
        }
        x[j] = xc, xa[j] = fabs(xc), E[j] = e;
        if (xc > m) m = xc;
    }
    double l = 0, dmax = 0, lse_num = 0;
    double *pj = xmalloc((size_t)n * 8), *dj = xmalloc((size_t)n * 8);
    for (int j = 0; j < n; j++) {
        pj[j] = exp(x[j] - m);
        l += pj[j];
        double eta = E[j] + 0x1p-23 * (m - x[j]);
        eta += em->gpu ? 0x1p-23 * (xa[j] + fabs(m)) + (em->tiles + 1) * 0x1p-21 : 0x1p-23;
        dj[j] = expm1(eta);
        if (dj[j] > dmax) dmax = dj[j];
        lse_num += pj[j] * dj[j];
    }
    const double n_acc = em->gpu ? n + n / 16 + 2.0 * em->tiles + 2 : 2.0 * n;
    const double n_l = em->gpu ? n + em->tiles + 4.0 : (double)n;
    const double ga = gamma_n(n_acc, em->u_acc), gl = gamma_n(n_l, 0x1p-24);
    for (int d = 0; d < D; d++) {
        double o = 0;
        for (int j = 0; j < n; j++) o += pj[j] * vrows[j][d];
        o /= l;
        double A = 0, B = 0, C = 0;
        for (int j = 0; j < n; j++) {
            const double v = vrows[j][d], ph = pj[j] * (1 + dj[j]);
            const double rv = rq ? hu(c->qdt, v) : 0.0, rp = em->gpu ? hu(c->qdt, ph) : 0.0;
            A += pj[j] * dj[j] * (fabs(v) + fabs(o));
            B += rp * (fabs(v) + rv) + ph * rv;
            C += (ph + rp) * (fabs(v) + rv);
        }
        C *= ga;
        double t = (A + B + C + fabs(o) * gl * l * (1 + dmax)) / (l * (1 - dmax) * (1 - gl));
        t += 0x1p-24 * (fabs(o) + t);
        ro->o_ref[d] = o;
        ro->o_tol[d] = t + half_ulp(c->qdt, fabs(o) + t);
    }
    ro->lse_ref = m + log(l);
    ro->lse_tol = lse_num / l + gl / (1 - gl) + 0x1p-22 * (fabs(m) + fabs(log(l)) + fabs(ro->lse_ref));
    free(x), free(xa), free(E), free(pj), free(dj);
}

/* Device copies of the cache and params (bt: the table the GPU gets). */
typedef struct {
    qblas_kv_cache_t kv;
    qblas_attention_params_t p;
} pf_dev;

static void make_dev(const pf_case *c, const pf_host *H, pf_dev *dv)
{
    dv->kv = H->kv;
    dv->kv.k = dcopy(H->kv.k, H->data_bytes), dv->kv.v = dcopy(H->kv.v, H->data_bytes);
    const size_t ns = c->kvt == QBLAS_DTYPE_E4M3 ? H->nfp8 : H->nscale;
    dv->kv.k_scale = dcopy(H->kv.k_scale, ns * 4), dv->kv.v_scale = dcopy(H->kv.v_scale, ns * 4);
    dv->kv.k_zero = dcopy(H->kv.k_zero, ns * 4), dv->kv.v_zero = dcopy(H->kv.v_zero, ns * 4);
    dv->p = params(c, H);
    dv->p.q = dcopy(H->q, H->q_bytes);
    dv->p.qo_indptr = dcopy(H->indptr, (size_t)(c->nseq + 1) * 4);
    dv->p.seq_lens = dcopy(H->seq_lens, (size_t)c->nseq * 4);
    dv->p.block_tables = dcopy(H->bt, (size_t)c->nseq * H->stride * 4);
}

static void free_dev(pf_dev *dv)
{
    cudaFree(dv->kv.k), cudaFree(dv->kv.v), cudaFree(dv->kv.k_scale), cudaFree(dv->kv.v_scale);
    cudaFree(dv->kv.k_zero), cudaFree(dv->kv.v_zero);
    cudaFree((void *)dv->p.q), cudaFree((void *)dv->p.qo_indptr), cudaFree((void *)dv->p.seq_lens);
    cudaFree((void *)dv->p.block_tables);
}

static void describe(char *buf, size_t n, const pf_case *c)
{
    int k = snprintf(buf, n, "prefill kv %s q %s D%d G%d Hkv%d P%d%s", dn(c->kvt), dn(c->qdt), c->D, c->G, c->Hkv,
                     c->P, c->causal ? " causal" : "");
    if (c->window >= 0) k += snprintf(buf + k, n - (size_t)k, " win%d", c->window);
    if (c->cap > 0) k += snprintf(buf + k, n - (size_t)k, " cap%g", (double)c->cap);
    if (c->kvt == QBLAS_DTYPE_E4M3) k += snprintf(buf + k, n - (size_t)k, c->per_head ? " per-head" : " per-tensor");
    if (c->bad_seq >= 0) k += snprintf(buf + k, n - (size_t)k, " bad-page");
    k += snprintf(buf + k, n - (size_t)k, "%s (L,qo):", c->lse ? " lse" : "");
    for (int s = 0; s < c->nseq && k < (int)n - 12; s++) k += snprintf(buf + k, n - (size_t)k, " %d,%d", c->L[s], c->qo[s]);
}

static void pf_run(qblas_handle_t gh, qblas_handle_t cpu, const pf_case *c)
{
    char what[200], kernel[QBLAS_KERNEL_NAME_MAX] = "", want[QBLAS_KERNEL_NAME_MAX];
    describe(what, sizeof what, c);
    case_begin();
    pf_host H;
    make_host(c, &H);
    const int D = c->D, Hq = H.Hq;
    const size_t oelems = (size_t)H.T * Hq * D, obytes = oelems * 2, lbytes = (size_t)H.T * Hq * 4;

    /* the oracle, on host copies (with a valid table where the GPU gets a bad one) */
    qblas_attention_params_t hp = params(c, &H);
    hp.q = H.q, hp.qo_indptr = H.indptr, hp.seq_lens = H.seq_lens, hp.block_tables = H.bt_cpu;
    uint8_t *ocpu = xmalloc(obytes), *ogpu = xmalloc(obytes);
    float *lcpu = xmalloc(lbytes), *lgpu = xmalloc(lbytes);
    memset(ocpu, 0xFF, obytes), memset(lcpu, 0xFF, lbytes);
    hp.o = ocpu, hp.lse = c->lse ? lcpu : NULL;
    qblas_kernel_info_t ci;
    qblas_status_t st = qblas_attention_query(cpu, &H.kv, &hp, &ci);
    void *cws = st ? NULL : xmalloc(ci.workspace_bytes);
    if (!st) st = qblas_attention(cpu, &H.kv, &hp, cws, ci.workspace_bytes, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "cpu oracle: %s (%s)", qblas_status_string(st), qblas_last_error(cpu));
    free(cws);

    /* the GPU, twice, into poisoned guarded buffers */
    pf_dev dv;
    make_dev(c, &H, &dv);
    uint8_t *od[2], *ld[2];
    for (int r = 0; r < 2; r++) od[r] = guarded(NULL, obytes), ld[r] = guarded(NULL, lbytes);
    dv.p.o = od[0] + GUARD, dv.p.lse = c->lse ? (float *)(ld[0] + GUARD) : NULL;
    qblas_kernel_info_t gi;
    qblas_status_t gst = st ? st : qblas_attention_query(gh, &dv.kv, &dv.p, &gi);
    expect(gst == QBLAS_STATUS_SUCCESS, "attention_query: %s (%s)", qblas_status_string(gst), qblas_last_error(gh));
    if (!gst) {
        snprintf(kernel, sizeof kernel, "%s", gi.kernel_name);
        snprintf(want, sizeof want, "attn_prefill_%s_q%s_d%d_sm80_mma_q64k%d", dn(c->kvt), dn(c->qdt), D, pf_bk(D));
        expect(strcmp(kernel, want) == 0, "kernel '%s', want '%s'", kernel, want);
        void *ws = gi.workspace_bytes ? dalloc(gi.workspace_bytes) : NULL;
        uint8_t *oh[2], *lh[2];
        qblas_attention_plan_t plan;
        bool planned = false;
        for (int r = 0; r < 2; r++) { /* the second run through the plan */
            dv.p.o = od[r] + GUARD, dv.p.lse = c->lse ? (float *)(ld[r] + GUARD) : NULL;
            if (r) planned = attention_plan_for(gh, &dv.kv, &dv.p, &gi, &plan);
            gst = r && planned ? qblas_attention_planned(gh, &plan, &dv.kv, &dv.p, ws, gi.workspace_bytes, NULL)
                               : qblas_attention(gh, &dv.kv, &dv.p, ws, gi.workspace_bytes, NULL);
            expect(gst == QBLAS_STATUS_SUCCESS, "attention: %s (%s)", qblas_status_string(gst), qblas_last_error(gh));
            CUDA_OK(cudaDeviceSynchronize());
            oh[r] = fetch(od[r], obytes), lh[r] = fetch(ld[r], lbytes);
            expect(all_ff(oh[r], GUARD) && all_ff(oh[r] + GUARD + obytes, GUARD), "a write outside O (guard band)");
            expect(all_ff(lh[r], GUARD) && all_ff(lh[r] + GUARD + lbytes, GUARD), "a write outside lse (guard band)");
            if (!c->lse) expect_ff(lh[r] + GUARD, lbytes, "lse (NULL in the call)");
        }
        expect(memcmp(oh[0], oh[1], obytes + 2 * GUARD) == 0, "two runs of the same call differ (O)");
        expect(memcmp(lh[0], lh[1], lbytes + 2 * GUARD) == 0, "two runs of the same call differ (lse)");
        char last[QBLAS_KERNEL_NAME_MAX];
        expect(qblas_last_kernel(gh, last, sizeof last) == QBLAS_STATUS_SUCCESS && strcmp(last, kernel) == 0,
               "last_kernel '%s' != query '%s'", last, kernel);
        memcpy(ogpu, oh[0] + GUARD, obytes), memcpy(lgpu, lh[0] + GUARD, lbytes);
        for (int r = 0; r < 2; r++) free(oh[r]), free(lh[r]);
        cudaFree(ws);
    }
    for (int r = 0; r < 2; r++) cudaFree(od[r]), cudaFree(ld[r]);

    /* compare every (token, head) of the sequences with valid tables */
    if (!st && !gst) {
        float *qf = xmalloc((size_t)D * 4);
        float **kr = xmalloc((size_t)H.maxL * sizeof(float *)), **vr = xmalloc((size_t)H.maxL * sizeof(float *));
        for (int j = 0; j < H.maxL; j++) kr[j] = xmalloc((size_t)D * 4), vr[j] = xmalloc((size_t)D * 4);
        refout *rg = xmalloc(sizeof *rg), *rc = xmalloc(sizeof *rc);
        const qblas_kv_cache_t *kv = &H.kv;
        for (int s = 0; s < c->nseq && g_case_ok; s++) {
            if (s == c->bad_seq) continue; /* unspecified outputs; only the others must be right */
            const int L = c->L[s], qo = c->qo[s];
            for (int h = 0; h < c->Hkv && g_case_ok; h++) {
                for (int j = 0; j < L; j++) {
                    const int64_t ti = (int64_t)H.bt_cpu[s * H.stride + j / c->P] * c->P + j % c->P;
                    kv_row(kv, kv->k, kv->k_scale, kv->k_zero, ti, h, kr[j]);
                    kv_row(kv, kv->v, kv->v_scale, kv->v_zero, ti, h, vr[j]);
                }
                for (int i = 0; i < qo && g_case_ok; i++) {
                    const int pos = L - qo + i, tok = H.indptr[s] + i;
                    const int first = c->window >= 0 && pos - c->window > 0 ? pos - c->window : 0;
                    const int last = c->causal ? pos : L - 1, n = last - first + 1;
                    const errm eg = {true, 0x1p-23, D + D / 16 + 2, (n + pf_bk(D) - 1) / pf_bk(D) + 1};
                    const errm ec = {false, 0x1p-24, D + 1, 1};
                    for (int g = 0; g < c->G && g_case_ok; g++) {
                        const int hq = h * c->G + g;
                        const int64_t row = (int64_t)tok * Hq + hq;
                        for (int d = 0; d < D; d++) qf[d] = to_f32(c->qdt, H.q, row * D + d);
                        reference(c, &hp, qf, kr + first, vr + first, n, &eg, rg);
                        reference(c, &hp, qf, kr + first, vr + first, n, &ec, rc);
                        for (int d = 0; d < D; d++) {
                            const double og = to_f32(c->qdt, ogpu, row * D + d), oc = to_f32(c->qdt, ocpu, row * D + d);
                            const double ref = rg->o_ref[d];
                            if (!(fabs(oc - ref) <= rc->o_tol[d])) {
                                expect(false, "tok %d head %d d %d: oracle %.9g vs float64 %.9g, tol %.3g (test bug?)",
                                       tok, hq, d, oc, ref, rc->o_tol[d]);
                                break;
                            }
                            if (!(fabs(og - oc) <= rg->o_tol[d] + rc->o_tol[d]) || !(fabs(og - ref) <= rg->o_tol[d])) {
                                expect(false, "o[tok %d][head %d][%d]: gpu %.9g, oracle %.9g, float64 %.9g, tol %.3g",
                                       tok, hq, d, og, oc, ref, rg->o_tol[d]);
                                break;
                            }
                        }
                        if (c->lse) {
                            const double lg = lgpu[row], lc = lcpu[row];
                            expect(fabs(lc - rg->lse_ref) <= rc->lse_tol,
                                   "lse[%d][%d]: oracle %.9g vs float64 %.9g (test bug?)", tok, hq, lc, rg->lse_ref);
                            expect(fabs(lg - lc) <= rg->lse_tol + rc->lse_tol && fabs(lg - rg->lse_ref) <= rg->lse_tol,
                                   "lse[%d][%d]: gpu %.9g, oracle %.9g, float64 %.9g, tol %.3g", tok, hq, lg, lc,
                                   rg->lse_ref, rg->lse_tol);
                        }
                    }
                }
            }
        }
        for (int j = 0; j < H.maxL; j++) free(kr[j]), free(vr[j]);
        free(kr), free(vr), free(qf), free(rg), free(rc);
    }
    note_kernel(kernel);
    free_dev(&dv);
    free(ocpu), free(ogpu), free(lcpu), free(lgpu);
    free_host(&H);
    case_end(what, kernel);
}

/* (L, qo_len) shapes the batches are drawn from: decode-like, no queries,
 * an empty sequence, pure prefill (qo == L) on and off the 64-row tile,
 * extend (qo < L), long ones. */
static const int kShapes[][2] = {{1, 1},   {37, 0},   {17, 17}, {150, 70}, {300, 1},  {130, 130}, {64, 64},
                                 {90, 33}, {520, 17}, {0, 0},   {200, 65}, {77, 76}, {260, 129}};
#define NSHAPES ((int)(sizeof kShapes / sizeof kShapes[0]))

static void prefill_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    static const qblas_dtype_t kvts[5] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_I8,
                                          QBLAS_DTYPE_U4};
    static const int Ds[3] = {64, 128, 256}, Gs[3] = {1, 4, 8}, Ps[4] = {16, 64, 7, 33};
    printf("prefill/extend attention vs the oracle and float64 (derived tolerances):\n");
    int seq = 0;
    /* every (cache dtype, query dtype, D); the rest rotates */
    for (int kt = 0; kt < 5; kt++)
        for (int qi = 0; qi < 2; qi++)
            for (int di = 0; di < 3; di++, seq++) {
                if (g_quick && seq % 4 != 0) continue;
                pf_case c = {0};
                c.kvt = kvts[kt], c.qdt = qi ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16, c.D = Ds[di];
                /* the rest from a hash of seq, so the quick subset varies too */
                const unsigned hs = ((unsigned)seq * 2654435761u) >> 8;
                c.G = Gs[(seq + kt) % 3], c.Hkv = 1 + (hs & 1), c.P = Ps[(hs >> 1) % 4];
                c.causal = (hs >> 3) % 5 != 3;
                c.window = (hs >> 6) % 3 == 1 ? (int)irand(0, 80) : -1;
                c.cap = (hs >> 8) % 4 == 2 ? 20.0f : (hs >> 8) % 4 == 3 ? 3.0f : 0.0f;
                c.sharp = (hs >> 10) % 3 == 2 ? 4.0f : 1.0f;
                c.lse = (hs >> 12) % 4 != 0;
                c.per_head = (hs >> 14) & 1;
                c.bad_seq = -1;
                c.nseq = 3 + seq % 3;
                for (int s = 0; s < c.nseq; s++) {
                    const int sh = (seq * 5 + s * 7) % NSHAPES;
                    c.L[s] = kShapes[sh][0], c.qo[s] = kShapes[sh][1];
                }
                /* keep the float64 reference cheap at D = 256 with many heads */
                if (c.D == 256 && c.G * c.Hkv > 8) c.Hkv = 1;
                pf_run(gh, cpu, &c);
            }
    /* a larger GQA batch (Llama-like: G = 4, Hkv = 2, D = 128), i8 and e4m3 */
    for (int r = 0; r < (g_quick ? 1 : 2); r++) {
        pf_case c = {.kvt = r ? QBLAS_DTYPE_E4M3 : QBLAS_DTYPE_I8, .qdt = r ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16,
                     .D = 128, .G = 4, .Hkv = 2, .P = 16, .causal = 1, .window = -1, .sharp = 1.0f, .lse = true,
                     .per_head = true, .bad_seq = -1, .nseq = 2, .L = {600, 333}, .qo = {600, 200}};
        pf_run(gh, cpu, &c);
    }
    /* an out-of-range block-table entry in sequence 1: no crash, the others right */
    for (int r = 0; r < (g_quick ? 1 : 2); r++) {
        pf_case c = {.kvt = r ? QBLAS_DTYPE_U4 : QBLAS_DTYPE_F16, .qdt = QBLAS_DTYPE_F16, .D = 64, .G = 4, .Hkv = 2,
                     .P = 16, .causal = 1, .window = -1, .sharp = 1.0f, .lse = true, .bad_seq = 1, .nseq = 3,
                     .L = {90, 150, 64}, .qo = {33, 70, 64}};
        pf_run(gh, cpu, &c);
    }
}

/* Bad inputs: the documented status and O / lse untouched. */
static void prefill_error_cases(qblas_handle_t gh)
{
    printf("prefill attention: bad inputs (status, nothing written):\n");
    case_begin();
    pf_case c = {.kvt = QBLAS_DTYPE_F16, .qdt = QBLAS_DTYPE_F16, .D = 64, .G = 2, .Hkv = 1, .P = 16, .causal = 1,
                 .window = -1, .sharp = 1.0f, .lse = true, .bad_seq = -1, .nseq = 2, .L = {40, 20}, .qo = {40, 5}};
    pf_host H;
    make_host(&c, &H);
    pf_dev dv;
    make_dev(&c, &H, &dv);
    const size_t obytes = (size_t)H.T * H.Hq * c.D * 2, lbytes = (size_t)H.T * H.Hq * 4;
    uint8_t *o = dalloc(obytes), *l = dalloc(lbytes);
    CUDA_OK(cudaMemset(o, 0xFF, obytes));
    CUDA_OK(cudaMemset(l, 0xFF, lbytes));
    dv.p.o = o, dv.p.lse = (float *)l;
    qblas_kernel_info_t info;
    qblas_status_t st = qblas_attention_query(gh, &dv.kv, &dv.p, &info);
    expect(st == QBLAS_STATUS_SUCCESS, "attention_query: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    if (!st) {
        void *ws = dalloc(info.workspace_bytes + 64);
        expect(info.workspace_bytes > 0, "prefill needs a workspace (its tile plan)");
        /* a workspace one byte short */
        EXPECT_STATUS(qblas_attention(gh, &dv.kv, &dv.p, ws, info.workspace_bytes - 1, NULL),
                      QBLAS_STATUS_INSUFFICIENT_WORKSPACE);
        /* k off 16-byte alignment (element-aligned, so the core accepts it): cp.async needs 16 */
        uint8_t *k2 = dalloc(H.data_bytes + 16);
        qblas_kv_cache_t kvm = dv.kv;
        kvm.k = k2 + 2;
        EXPECT_STATUS(qblas_attention(gh, &kvm, &dv.p, ws, info.workspace_bytes, NULL), QBLAS_STATUS_NOT_SUPPORTED);
        expect(strlen(qblas_last_error(gh)) > 0, "NOT_SUPPORTED without a reason");
        /* q off 16-byte alignment */
        uint8_t *q2 = dalloc(H.q_bytes + 16);
        qblas_attention_params_t pm = dv.p;
        pm.q = q2 + 4;
        EXPECT_STATUS(qblas_attention(gh, &dv.kv, &pm, ws, info.workspace_bytes, NULL), QBLAS_STATUS_NOT_SUPPORTED);
        CUDA_OK(cudaDeviceSynchronize());
        expect_untouched(o, obytes, "O");
        expect_untouched(l, lbytes, "lse");
        cudaFree(k2), cudaFree(q2), cudaFree(ws);
    }
    case_end("prefill: short workspace / k and q off 16-byte alignment", "");
    cudaFree(o), cudaFree(l);
    free_dev(&dv);
    free_host(&H);
}

/* AMD has no prefill kernel yet: the query and the call refuse with a reason and write nothing. */
static void prefill_refused(qblas_handle_t gh)
{
    printf("prefill attention on AMD: NOT_SUPPORTED (no prefill kernel), nothing written:\n");
    case_begin();
    pf_case c = {.kvt = QBLAS_DTYPE_F16, .qdt = QBLAS_DTYPE_F16, .D = 64, .G = 2, .Hkv = 1, .P = 16, .causal = 1,
                 .window = -1, .sharp = 1.0f, .lse = true, .bad_seq = -1, .nseq = 2, .L = {40, 20}, .qo = {40, 5}};
    pf_host H;
    make_host(&c, &H);
    pf_dev dv;
    make_dev(&c, &H, &dv);
    const size_t obytes = (size_t)H.T * H.Hq * c.D * 2, lbytes = (size_t)H.T * H.Hq * 4;
    uint8_t *o = dalloc(obytes), *l = dalloc(lbytes), *ws = dalloc(1 << 20);
    CUDA_OK(cudaMemset(o, 0xFF, obytes));
    CUDA_OK(cudaMemset(l, 0xFF, lbytes));
    dv.p.o = o, dv.p.lse = (float *)l;
    qblas_kernel_info_t info;
    EXPECT_STATUS(qblas_attention_query(gh, &dv.kv, &dv.p, &info), QBLAS_STATUS_NOT_SUPPORTED);
    expect(strlen(qblas_last_error(gh)) > 0, "NOT_SUPPORTED without a reason");
    EXPECT_STATUS(qblas_attention(gh, &dv.kv, &dv.p, ws, 1 << 20, NULL), QBLAS_STATUS_NOT_SUPPORTED);
    CUDA_OK(cudaDeviceSynchronize());
    expect_untouched(o, obytes, "O");
    expect_untouched(l, lbytes, "lse");
    case_end("prefill on AMD: refused", "");
    cudaFree(o), cudaFree(l), cudaFree(ws);
    free_dev(&dv);
    free_host(&H);
}

void qbg_attention_prefill(qblas_handle_t gh, qblas_handle_t cpu)
{
    if (g_amd) {
        prefill_refused(gh);
        return;
    }
    prefill_cases(gh, cpu);
    prefill_error_cases(gh);
}
