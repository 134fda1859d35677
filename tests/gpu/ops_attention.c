/* ops_attention.c - decode attention over the paged, quantized KV cache and
 * KV append on the GPU, against the oracle and the definition.
 *
 * Decode: every KV dtype (f16, bf16, e4m3 per-tensor/per-head, i8, u4) x
 * head dim {64, 128, 256} x G {1, 4, 8} (plus G = 2, 3, 12), page sizes 16,
 * 64 and 5 in turn, f16/bf16 queries, ragged batches holding lengths 0, 1,
 * short and long (several flash-decoding splits; a many-sequence batch
 * runs the unsplit path), shuffled block tables whose unused entries are
 * garbage (out of range), sliding windows, soft-cap, lse on and off. O and
 * lse are checked against the definition evaluated in double with the
 * error bound derived next to the comparison (the oracle must meet it too),
 * poisoned guarded outputs, run-to-run identity, the kernel name; a
 * block-table entry outside the cache (GPU only) skips its keys.
 * Append: every KV dtype x D x src dtype; codes, scales and zeros equal to
 * the oracle's bit for bit (special rows: constant, all-positive, signed
 * zeros, inf/NaN), skipped slots untouched, an out-of-range slot writes
 * nothing on the GPU. Bad inputs return their status and write nothing.
 */
#include "gpu_harness.h"

#define U 0x1p-24 /* fp32 unit roundoff */

static size_t kv_row_bytes(qblas_dtype_t t, int D)
{
    return t == QBLAS_DTYPE_U4 ? (size_t)D / 2 : (t == QBLAS_DTYPE_F16 || t == QBLAS_DTYPE_BF16) ? (size_t)D * 2 : (size_t)D;
}
static const char *kvn(qblas_dtype_t t)
{
    switch (t) {
    case QBLAS_DTYPE_F16: return "f16";
    case QBLAS_DTYPE_BF16: return "bf16";
    case QBLAS_DTYPE_E4M3: return "e4m3";
    case QBLAS_DTYPE_I8: return "i8";
    default: return "u4";
    }
}

/* A cache on the host: codes, scales, zeros as the format stores them. */
typedef struct {
    qblas_dtype_t dt;
    int num_pages, P, Hkv, D;
    bool per_head;
    uint8_t *k, *v;
    float *ks, *vs, *kz, *vz;
    size_t bytes, nscale;
} hcache;

static void cache_fill(hcache *c)
{
    const int64_t rows = (int64_t)c->num_pages * c->P * c->Hkv;
    c->bytes = (size_t)rows * kv_row_bytes(c->dt, c->D);
    c->k = xmalloc(c->bytes), c->v = xmalloc(c->bytes);
    c->ks = c->vs = c->kz = c->vz = NULL;
    c->nscale = 0;
    for (size_t i = 0; i < c->bytes; i++) {
        uint8_t *b[2] = {c->k, c->v};
        for (int w = 0; w < 2; w++) {
            switch (c->dt) {
            case QBLAS_DTYPE_F16:
            case QBLAS_DTYPE_BF16:
                if (i % 2 == 0) from_f32(c->dt, b[w], (int64_t)(i / 2), (float)uni(-1.0, 1.0));
                break;
            case QBLAS_DTYPE_E4M3: {
                uint8_t code;
                do code = (uint8_t)rnd();
                while ((code & 0x7F) == 0x7F); /* no NaN codes: NaN would poison whole rows */
                b[w][i] = code;
                break;
            }
            default: b[w][i] = (uint8_t)rnd(); break; /* i8: -128..127, u4: any nibbles */
            }
        }
    }
    if (c->dt == QBLAS_DTYPE_E4M3) c->nscale = c->per_head ? (size_t)c->Hkv : 1;
    if (c->dt == QBLAS_DTYPE_I8 || c->dt == QBLAS_DTYPE_U4) c->nscale = (size_t)rows;
    if (c->nscale) {
        c->ks = xmalloc(c->nscale * 4), c->vs = xmalloc(c->nscale * 4);
        for (size_t i = 0; i < c->nscale; i++) {
            /* e4m3 codes reach 448: scales keep values within a few units */
            const double lo = c->dt == QBLAS_DTYPE_E4M3 ? 1.0 / 512 : c->dt == QBLAS_DTYPE_I8 ? 0.004 : 0.05;
            c->ks[i] = (float)uni(lo, 2 * lo), c->vs[i] = (float)uni(lo, 2 * lo);
        }
    }
    if (c->dt == QBLAS_DTYPE_U4) {
        c->kz = xmalloc(c->nscale * 4), c->vz = xmalloc(c->nscale * 4);
        for (size_t i = 0; i < c->nscale; i++) c->kz[i] = (float)uni(0.0, 15.0), c->vz[i] = (float)uni(0.0, 15.0);
    }
}

static void cache_free(hcache *c) { free(c->k), free(c->v), free(c->ks), free(c->vs), free(c->kz), free(c->vz); }

/* The dequantized element, by the definition: one fp32 rounding per
 * operation (separate float statements, FLT_EVAL_METHOD 0). */
static float deq(const hcache *c, bool is_v, int64_t r, int d, int h)
{
    const uint8_t *data = is_v ? c->v : c->k;
    const float *sc = is_v ? c->vs : c->ks, *zr = is_v ? c->vz : c->kz;
    switch (c->dt) {
    case QBLAS_DTYPE_F16: return qb_f16_to_f32(((const uint16_t *)data)[r * c->D + d]);
    case QBLAS_DTYPE_BF16: return qb_bf16_to_f32(((const uint16_t *)data)[r * c->D + d]);
    case QBLAS_DTYPE_E4M3: {
        float x = qb_fp8_decode(data[r * c->D + d], QB_FP8_E4M3);
        return x * sc[c->per_head ? h : 0];
    }
    case QBLAS_DTYPE_I8: return (float)(int8_t)data[r * c->D + d] * sc[r];
    default: {
        float x = (float)((data[r * (c->D / 2) + d / 2] >> (4 * (d % 2))) & 15);
        x = x - zr[r];
        return x * sc[r];
    }
    }
}

/* ---------------------------------------------------------------- decode */
typedef struct {
    qblas_dtype_t kv, q;
    int D, G, Hkv, P, nseq;
    int lens[48];
    int extra_max; /* max_seq_len = max(lens) + extra_max */
    int window;    /* -1: off */
    float cap;     /* 0: off */
    bool lse, per_head;
    bool bad_page; /* GPU only: block 1 of the last sequence points outside the cache (its keys are skipped) */
} dcase;

/* Per (token, head): the definition in double and its error bound.
 *
 * Logits: the fp32 dot of D products, times sm_scale, is within
 * gamma_(D+4) * |sm_scale| * sum_d |q_d k_d| of the exact value (D products
 * and adds in any order, the scale multiply; the GPU applies a quantized
 * cache's scale once per token, as (sm_scale * s) * dot(q, y) with y the
 * unscaled element: one rounding moved per term and one more product,
 * gamma_(D+3) in all). Soft-cap: x -> cap *
 * tanh(x / cap) is 1-Lipschitz, and its three fp32 steps (divide, tanhf
 * within 2 ulp, multiply) add at most 6u (|x| + cap). E = the largest
 * logit error of the query.
 * Probabilities: p_j = exp2((l_j - m) * log2 e) relative to the final max.
 * The logits enter only through l_j - m (the running maxima telescope:
 * exp(l_j - m1) exp(m1 - m2) = exp(l_j - m2)), off by <= 2E. Roundings: the
 * subtraction, the log2(e) multiply and log2(e) itself give <= 3u |arg| per
 * exp2f call, on p_j's own argument (<= Delta = max_j (m - l_j)) and on the
 * rescale arguments of the running max (monotone, so their sum is <= Delta);
 * exp2f is within 2 ulp (2^-21 relative with slack) per call, one call for
 * p_j plus one per rescale event (<= n/16 + 2 pipeline tiles, lane-group and
 * split merges: n/16 + 6). So each p_j is off by a relative
 * delta <= exp(2E + 6u Delta) (1 + 2^-21)^(n/16 + 6) - 1.
 * Sums: acc = sum p v and l = sum p are fp32 sums over the n visible keys
 * (any order) with the rescale multiplies in between (they scale acc and l
 * alike); the GPU forms p * s_v per token instead of rounding s_v * y per
 * element (2u per term): every term is perturbed by at most
 * gamma_(n + n/4 + 64) (the 64 covers these, the merges and the fma).
 * With eps = (1 + delta)(1 + gamma) - 1 per term, the ratio o = acc / l is
 * off by <= 2 eps / (1 - eps) * sum p|v| / sum p, plus 2u|o| for the
 * division and e4m3's V scale applied to acc, and half an ulp of q_dtype
 * for the store.
 * lse = m + log(l): off by <= E + 2 eps + 4u(|lse| + 1) (log and add). */
typedef struct {
    double o_tol_scale; /* 2 eps / (1 - eps) */
    double E, eps;
} dtol;

static void decode_case(qblas_handle_t gh, qblas_handle_t cpu, const dcase *c)
{
    char what[200], kernel[QBLAS_KERNEL_NAME_MAX] = "";
    const int Hq = c->Hkv * c->G, D = c->D, P = c->P, N = c->nseq;
    int maxL = 0;
    for (int s = 0; s < N; s++) maxL = c->lens[s] > maxL ? c->lens[s] : maxL;
    const int max_seq_len = maxL + c->extra_max;
    snprintf(what, sizeof what, "decode %s%s q%s D%d G%d Hkv%d P%d seqs%d max%d%s%s%s", kvn(c->kv),
             c->kv == QBLAS_DTYPE_E4M3 ? (c->per_head ? "/head" : "/tensor") : "", dn(c->q), D, c->G, c->Hkv, P, N,
             maxL, c->window >= 0 ? " window" : "", c->cap > 0 ? " cap" : "", c->lse ? " lse" : "");
    case_begin();

    /* pages: every sequence's pages distinct, shuffled, plus unused ones */
    int used = 0;
    for (int s = 0; s < N; s++) used += (c->lens[s] + P - 1) / P;
    hcache hc = {.dt = c->kv, .num_pages = used + 3, .P = P, .Hkv = c->Hkv, .D = D, .per_head = c->per_head};
    cache_fill(&hc);
    int *perm = xmalloc((size_t)hc.num_pages * 4);
    for (int i = 0; i < hc.num_pages; i++) perm[i] = i;
    for (int i = hc.num_pages - 1; i > 0; i--) {
        int j = (int)irand(0, i), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    const int stride = (max_seq_len + P - 1) / P + 2;
    int32_t *bt = xmalloc((size_t)N * stride * 4), *lens = xmalloc((size_t)N * 4);
    for (int s = 0, next = 0; s < N; s++) {
        lens[s] = c->lens[s];
        const int np = (c->lens[s] + P - 1) / P;
        for (int b = 0; b < stride; b++) /* unused entries: garbage a kernel must never read */
            bt[s * stride + b] = b < np ? perm[next++] : (b % 2 ? 0x7FFFFFFF : -7);
    }
    const size_t qn = (size_t)N * Hq * D, qbytes = qn * 2, lbytes = (size_t)N * Hq * 4;
    uint16_t *q = xmalloc(qbytes);
    for (size_t i = 0; i < qn; i++) from_f32(c->q, q, (int64_t)i, (float)uni(-1.0, 1.0));
    const float sm_scale = (float)(2.0 / sqrt((double)D)); /* peaky enough to exercise the running max */

    qblas_kv_cache_t kv = {c->kv, hc.num_pages, P, c->Hkv, D, hc.k, hc.v,
                           c->kv == QBLAS_DTYPE_F16 || c->kv == QBLAS_DTYPE_BF16 ? QBLAS_SCALE_NONE
                           : c->kv == QBLAS_DTYPE_E4M3 ? (c->per_head ? QBLAS_SCALE_PER_HEAD : QBLAS_SCALE_PER_TENSOR)
                                                       : QBLAS_SCALE_PER_TOKEN_HEAD,
                           hc.ks, hc.vs, hc.kz, hc.vz};
    qblas_attention_params_t ap = {N, N, Hq, c->q, q, NULL, NULL, NULL, lens, bt, stride, max_seq_len,
                                   sm_scale, c->cap, c->window, 0};

    /* the oracle */
    uint16_t *ocpu = xmalloc(qbytes);
    float *lcpu = xmalloc(lbytes);
    ap.o = ocpu, ap.lse = c->lse ? lcpu : NULL;
    qblas_kernel_info_t ci;
    qblas_status_t st = qblas_attention_query(cpu, &kv, &ap, &ci);
    void *cws = st ? NULL : xmalloc(ci.workspace_bytes);
    if (!st) st = qblas_attention(cpu, &kv, &ap, cws, ci.workspace_bytes, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "cpu oracle: %s (%s)", qblas_status_string(st), qblas_last_error(cpu));
    free(cws);

    /* the GPU: device copies, poisoned guarded outputs, two runs */
    qblas_kv_cache_t dkv = kv;
    dkv.k = dcopy(hc.k, hc.bytes), dkv.v = dcopy(hc.v, hc.bytes);
    dkv.k_scale = dcopy(hc.ks, hc.nscale * 4), dkv.v_scale = dcopy(hc.vs, hc.nscale * 4);
    dkv.k_zero = dcopy(hc.kz, hc.nscale * 4), dkv.v_zero = dcopy(hc.vz, hc.nscale * 4);
    qblas_attention_params_t dp = ap;
    const int bad_at = c->bad_page ? (N - 1) * stride + 1 : -1; /* the oracle would refuse it: GPU copy only */
    const int32_t good = bad_at >= 0 ? bt[bad_at] : 0;
    if (bad_at >= 0) bt[bad_at] = hc.num_pages + 5;
    dp.q = dcopy(q, qbytes), dp.seq_lens = dcopy(lens, (size_t)N * 4), dp.block_tables = dcopy(bt, (size_t)N * stride * 4);
    if (bad_at >= 0) bt[bad_at] = good;
    uint16_t *ogpu = xmalloc(qbytes);
    float *lgpu = xmalloc(lbytes);
    qblas_kernel_info_t gi;
    if (!st) {
        st = qblas_attention_query(gh, &dkv, &dp, &gi);
        expect(st == QBLAS_STATUS_SUCCESS, "attention_query: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
    }
    if (!st) {
        snprintf(kernel, sizeof kernel, "%s", gi.kernel_name);
        char want[64];
        const int gt = c->G >= 5 ? 8 : c->G >= 3 ? 4 : c->G;
        snprintf(want, sizeof want, "attn_decode_%s_d%d_g%d_%s", kvn(c->kv), D, gt, arch_tag());
        expect(strncmp(kernel, want, strlen(want)) == 0, "kernel '%s' is not %s*", kernel, want);
        note_kernel(kernel);
        void *ws = gi.workspace_bytes ? dalloc(gi.workspace_bytes) : NULL;
        uint8_t *od[2], *ld[2], *oh[2], *lh[2];
        qblas_attention_plan_t plan;
        bool planned = false;
        for (int r = 0; r < 2; r++) { /* the second run through the plan */
            od[r] = guarded(NULL, qbytes), ld[r] = guarded(NULL, lbytes);
            dp.o = od[r] + GUARD, dp.lse = c->lse ? (float *)(ld[r] + GUARD) : NULL;
            if (r) planned = attention_plan_for(gh, &dkv, &dp, &gi, &plan);
            st = r && planned ? qblas_attention_planned(gh, &plan, &dkv, &dp, ws, gi.workspace_bytes, NULL)
                              : qblas_attention(gh, &dkv, &dp, ws, gi.workspace_bytes, NULL);
            expect(st == QBLAS_STATUS_SUCCESS, "attention: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
            CUDA_OK(cudaDeviceSynchronize());
            oh[r] = fetch(od[r], qbytes), lh[r] = fetch(ld[r], lbytes);
            expect(all_ff(oh[r], GUARD) && all_ff(oh[r] + GUARD + qbytes, GUARD), "a write outside O (guard band)");
            expect(all_ff(lh[r], GUARD) && all_ff(lh[r] + GUARD + lbytes, GUARD), "a write outside lse (guard band)");
            if (!c->lse) expect(all_ff(lh[r] + GUARD, lbytes), "lse written though NULL");
        }
        /* deterministic: no atomics, fixed reduction orders */
        expect(memcmp(oh[0], oh[1], qbytes + 2 * GUARD) == 0 && memcmp(lh[0], lh[1], lbytes + 2 * GUARD) == 0,
               "two runs of the same call differ");
        char last[QBLAS_KERNEL_NAME_MAX];
        expect(qblas_last_kernel(gh, last, sizeof last) == QBLAS_STATUS_SUCCESS && strcmp(last, kernel) == 0,
               "last_kernel '%s' != query '%s'", last, kernel);
        memcpy(ogpu, oh[0] + GUARD, qbytes), memcpy(lgpu, lh[0] + GUARD, lbytes);
        for (int r = 0; r < 2; r++) free(oh[r]), free(lh[r]), cudaFree(od[r]), cudaFree(ld[r]);
        cudaFree(ws);
    }

    /* the definition, in double, and the comparison */
    double *logit = xmalloc((size_t)(maxL + 1) * sizeof(double)), *kf = xmalloc((size_t)D * sizeof(double));
    double *o = xmalloc((size_t)D * sizeof(double)), *a = xmalloc((size_t)D * sizeof(double));
    for (int s = 0; s < N && !st && g_case_ok; s++) {
        const int L = lens[s], pos = L - 1;
        const int first = c->window >= 0 && pos - c->window > 0 ? pos - c->window : 0;
        const int n = L - first > 0 ? L - first : 0;
        for (int hq = 0; hq < Hq && g_case_ok; hq++) {
            const int h = hq / c->G;
            const int64_t qo = ((int64_t)s * Hq + hq) * D;
            const float lg = lgpu[s * Hq + hq], lc = lcpu[s * Hq + hq];
            if (n == 0) { /* no visible key: O = +0, lse = -inf */
                for (int d = 0; d < D; d++)
                    if (ogpu[qo + d] != 0) {
                        expect(false, "seq %d head %d (no key): o[%d] bits %04x, want +0", s, hq, d, ogpu[qo + d]);
                        break;
                    }
                if (c->lse) expect(isinf(lg) && lg < 0, "seq %d head %d (no key): lse %g, want -inf", s, hq, lg);
                continue;
            }
            double E = 0, m = -INFINITY;
            int nvis = 0;
            for (int j = first; j < L; j++) {
                if (s * stride + j / P == bad_at) { /* skipped key */
                    logit[j - first] = -INFINITY;
                    continue;
                }
                nvis++;
                const int64_t r = ((int64_t)bt[s * stride + j / P] * P + j % P) * c->Hkv + h;
                double dot = 0, adot = 0;
                for (int d = 0; d < D; d++) {
                    const double qd = to_f32(c->q, q, qo + d), k = deq(&hc, false, r, d, h);
                    dot += qd * k, adot += fabs(qd * k);
                }
                double x = (double)sm_scale * dot, e = gamma_n(D + 4, U) * fabs((double)sm_scale) * adot;
                if (c->cap > 0) {
                    e += 6 * U * (fabs(x) + c->cap);
                    x = c->cap * tanh(x / c->cap);
                }
                logit[j - first] = x;
                E = e > E ? e : E;
                m = x > m ? x : m;
            }
            if (nvis == 0) { /* every visible key skipped: as no visible key */
                for (int d = 0; d < D; d++)
                    if (ogpu[qo + d] != 0) {
                        expect(false, "seq %d head %d (keys skipped): o[%d] bits %04x, want +0", s, hq, d, ogpu[qo + d]);
                        break;
                    }
                continue;
            }
            double l = 0, Delta = 0;
            for (int d = 0; d < D; d++) o[d] = a[d] = 0;
            for (int j = first; j < L; j++) {
                if (s * stride + j / P == bad_at) continue;
                const int64_t r = ((int64_t)bt[s * stride + j / P] * P + j % P) * c->Hkv + h;
                const double p = exp(logit[j - first] - m);
                Delta = m - logit[j - first] > Delta ? m - logit[j - first] : Delta;
                l += p;
                for (int d = 0; d < D; d++) {
                    kf[d] = deq(&hc, true, r, d, h);
                    o[d] += p * kf[d], a[d] += p * fabs(kf[d]);
                }
            }
            const double dmax = exp(2 * E + 6 * U * Delta) * pow(1 + 0x1p-21, n / 16 + 6) - 1;
            const double eps = (1 + dmax) * (1 + gamma_n(n + n / 4 + 64, U)) - 1, sc = 2 * eps / (1 - eps);
            for (int d = 0; d < D && g_case_ok; d++) {
                const double want = o[d] / l, err1 = sc * a[d] / l + 2 * U * fabs(want);
                const double tol = err1 + half_ulp(c->q, fabs(want) + err1);
                const double g = to_f32(c->q, ogpu, qo + d), cp = to_f32(c->q, ocpu, qo + d);
                if (!(fabs(g - want) <= tol))
                    expect(false, "seq %d (L=%d) head %d o[%d]: gpu %.9g, definition %.9g, tol %.3g (oracle %.9g)", s,
                           L, hq, d, g, want, tol, cp);
                if (bad_at < 0 && !(fabs(cp - want) <= tol))
                    expect(false, "seq %d head %d o[%d]: the ORACLE %.9g is outside the derived bound %.3g of %.9g "
                                  "(test bug)", s, hq, d, cp, tol, want);
            }
            if (c->lse) {
                const double want = m + log(l), tol = E + 2 * eps + 4 * U * (fabs(want) + 1);
                if (!(fabs(lg - want) <= tol))
                    expect(false, "seq %d head %d lse: gpu %.9g, definition %.9g, tol %.3g (oracle %.9g)", s, hq, lg,
                           want, tol, lc);
            }
        }
    }
    free(logit), free(kf), free(o), free(a);
    cudaFree(dkv.k), cudaFree(dkv.v), cudaFree(dkv.k_scale), cudaFree(dkv.v_scale), cudaFree(dkv.k_zero);
    cudaFree(dkv.v_zero), cudaFree((void *)dp.q), cudaFree((void *)dp.seq_lens), cudaFree((void *)dp.block_tables);
    cache_free(&hc);
    free(perm), free(bt), free(lens), free(q), free(ocpu), free(lcpu), free(ogpu), free(lgpu);
    case_end(what, kernel);
}

/* A ragged batch: 0, 1, short, and long lengths (long spans several splits). */
static int ragged(int *lens, int nseq, int longest)
{
    static const int base[] = {0, 1, 37, 0, 129, 7};
    for (int s = 0; s < nseq; s++) {
        if (s == nseq - 1) lens[s] = longest;
        else if (s < 6) lens[s] = base[s];
        else lens[s] = (int)irand(1, longest);
    }
    return nseq;
}

static void decode_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    static const qblas_dtype_t kvs[] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_I8,
                                        QBLAS_DTYPE_U4};
    static const int Ds[] = {64, 128, 256}, Gs[] = {1, 4, 8}, Ps[] = {16, 64, 5};
    printf("decode attention vs the definition (derived bound) and the oracle:\n");
    int idx = 0;
    for (int ki = 0; ki < 5; ki++)
        for (int di = 0; di < 3; di++)
            for (int gi = 0; gi < 3; gi++, idx++) {
                if (g_quick && idx % 6 != 0) continue;
                dcase c = {.kv = kvs[ki], .q = idx % 2 ? QBLAS_DTYPE_BF16 : QBLAS_DTYPE_F16, .D = Ds[di],
                           .G = Gs[gi], .Hkv = Gs[gi] == 8 ? 1 : 2, .P = Ps[idx % 3], .extra_max = (int)irand(0, 40),
                           .window = idx % 4 == 1 ? (int)irand(0, 300) : -1, .cap = idx % 5 == 2 ? 8.0f : 0.0f,
                           .lse = idx % 3 != 1, .per_head = idx % 2 == 0};
                c.nseq = ragged(c.lens, 7, g_quick ? 700 : 1500);
                decode_case(gh, cpu, &c);
            }
    /* odd group sizes (group tiles 2, 4 with a padded head, 8 twice), a
     * many-sequence batch (the unsplit path), window 0, a batch of empty sequences */
    dcase extra[] = {
        {.kv = QBLAS_DTYPE_I8, .q = QBLAS_DTYPE_F16, .D = 128, .G = 2, .Hkv = 3, .P = 16, .window = -1, .lse = true},
        {.kv = QBLAS_DTYPE_U4, .q = QBLAS_DTYPE_BF16, .D = 64, .G = 3, .Hkv = 2, .P = 5, .window = -1, .lse = true},
        {.kv = QBLAS_DTYPE_E4M3, .q = QBLAS_DTYPE_F16, .D = 128, .G = 12, .Hkv = 1, .P = 64, .window = 100,
         .lse = true, .per_head = true},
        {.kv = QBLAS_DTYPE_F16, .q = QBLAS_DTYPE_F16, .D = 128, .G = 4, .Hkv = 8, .P = 16, .window = -1, .lse = true},
        {.kv = QBLAS_DTYPE_BF16, .q = QBLAS_DTYPE_BF16, .D = 256, .G = 1, .Hkv = 2, .P = 16, .window = 0, .cap = 30.f,
         .lse = true},
        {.kv = QBLAS_DTYPE_U4, .q = QBLAS_DTYPE_F16, .D = 256, .G = 8, .Hkv = 1, .P = 64, .window = -1, .lse = true},
        {.kv = QBLAS_DTYPE_I8, .q = QBLAS_DTYPE_BF16, .D = 64, .G = 4, .Hkv = 2, .P = 16, .window = -1, .lse = true,
         .bad_page = true},
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        if (g_quick && i % 2 && i != 3) continue; /* 3: the only unsplit decode path */
        dcase c = extra[i];
        if (i == 3) { /* 48 sequences x 8 kv heads: enough CTAs that no split is made */
            c.nseq = 48;
            for (int s = 0; s < 48; s++) c.lens[s] = (int)irand(0, 300);
        } else if (i == 5) { /* only empty sequences */
            c.nseq = 3;
        } else {
            c.nseq = ragged(c.lens, 6, g_quick ? 600 : 2100);
        }
        decode_case(gh, cpu, &c);
    }
}

/* ---------------------------------------------------------------- append */
/* Codes, scales and zeros compare BIT FOR BIT with the oracle: the kernel
 * performs the oracle's fp32 operations (correctly rounded divisions, the
 * range over finite values with its first-in-order tie rule), so nothing
 * is left to differ. f16/bf16 NaN codes compare as "both NaN" (payloads
 * are not part of the format). */
typedef struct {
    qblas_dtype_t kv, src;
    int D, Hkv, P, num_pages, ntok;
    bool per_head;
} acase;

static bool nan_code(qblas_dtype_t t, const uint8_t *p, size_t i)
{
    const uint16_t v = ((const uint16_t *)p)[i / 2];
    return t == QBLAS_DTYPE_F16 ? (v & 0x7C00) == 0x7C00 && (v & 0x3FF) : (v & 0x7F80) == 0x7F80 && (v & 0x7F);
}

static void cmp_bytes(qblas_dtype_t t, const uint8_t *g, const uint8_t *c, size_t n, const char *what)
{
    const bool f16ish = t == QBLAS_DTYPE_F16 || t == QBLAS_DTYPE_BF16;
    for (size_t i = 0; i < n; i += f16ish ? 2 : 1) {
        const size_t w = f16ish ? 2 : 1;
        if (memcmp(g + i, c + i, w) == 0) continue;
        if (f16ish && nan_code(t, g, i) && nan_code(t, c, i)) continue;
        expect(false, "%s byte %zu: gpu %02x, oracle %02x", what, i, g[i], c[i]);
        return;
    }
}

static void append_case(qblas_handle_t gh, qblas_handle_t cpu, const acase *c)
{
    char what[160], kernel[QBLAS_KERNEL_NAME_MAX] = "";
    snprintf(what, sizeof what, "kv_append %s%s src %s D%d Hkv%d P%d tokens%d", kvn(c->kv),
             c->kv == QBLAS_DTYPE_E4M3 ? (c->per_head ? "/head" : "/tensor") : "", dn(c->src), c->D, c->Hkv, c->P,
             c->ntok);
    case_begin();
    const int D = c->D, Hkv = c->Hkv;
    const int64_t slots = (int64_t)c->num_pages * c->P, rows = slots * Hkv;
    const size_t es = dsize(c->src), n = (size_t)c->ntok * Hkv * D, cbytes = (size_t)rows * kv_row_bytes(c->kv, D);
    uint8_t *kn = xmalloc(n * es), *vn = xmalloc(n * es);
    for (size_t i = 0; i < n; i++) {
        const size_t row = i / D, d = i % D;
        float x[2];
        for (int w = 0; w < 2; w++) {
            switch (row % 7) {
            case 1: x[w] = 0.75f; break;                                          /* constant: s = 0 -> 1 */
            case 2: x[w] = (float)uni(10.0, 11.0); break;                         /* no 0 in range: zero off-grid */
            case 3: x[w] = d % 3 == 0 ? -0.0f : d % 3 == 1 ? 0.0f : (float)uni(0, 1); break; /* min is a zero */
            case 4: x[w] = d == 5 ? INFINITY : d == 9 ? NAN : d == 11 ? -INFINITY : (float)uni(-3, 3); break;
            default: x[w] = signed_uni(0.0, 2.0); break;
            }
        }
        from_f32(c->src, kn, (int64_t)i, x[0]), from_f32(c->src, vn, (int64_t)i, x[1]);
    }
    int64_t *map = xmalloc((size_t)c->ntok * 8);
    for (int t = 0; t < c->ntok; t++) map[t] = t % 5 == 3 ? -1 - t : -2; /* placeholder */
    { /* distinct random slots, one token in five skipped (negative) */
        int64_t *perm = xmalloc((size_t)slots * 8);
        for (int64_t i = 0; i < slots; i++) perm[i] = i;
        for (int64_t i = slots - 1; i > 0; i--) {
            int64_t j = irand(0, i), t = perm[i];
            perm[i] = perm[j], perm[j] = t;
        }
        for (int t = 0, next = 0; t < c->ntok; t++)
            if (map[t] == -2) map[t] = perm[next++];
        free(perm);
    }
    const size_t nsc = c->kv == QBLAS_DTYPE_E4M3 ? (c->per_head ? (size_t)Hkv : 1)
                       : (c->kv == QBLAS_DTYPE_I8 || c->kv == QBLAS_DTYPE_U4) ? (size_t)rows : 0;
    const bool zeros = c->kv == QBLAS_DTYPE_U4;
    /* host cache, poisoned like the GPU's (fp8 scales are inputs) */
    uint8_t *hk = xmalloc(cbytes), *hv = xmalloc(cbytes);
    float *hks = nsc ? xmalloc(nsc * 4) : NULL, *hvs = nsc ? xmalloc(nsc * 4) : NULL;
    float *hkz = zeros ? xmalloc(nsc * 4) : NULL, *hvz = zeros ? xmalloc(nsc * 4) : NULL;
    memset(hk, 0xFF, cbytes), memset(hv, 0xFF, cbytes);
    if (nsc) memset(hks, 0xFF, nsc * 4), memset(hvs, 0xFF, nsc * 4);
    if (zeros) memset(hkz, 0xFF, nsc * 4), memset(hvz, 0xFF, nsc * 4);
    if (c->kv == QBLAS_DTYPE_E4M3)
        for (size_t i = 0; i < nsc; i++) hks[i] = (float)uni(0.002, 0.02), hvs[i] = (float)uni(0.002, 0.02);
    const qblas_scale_mode_t mode = c->kv == QBLAS_DTYPE_F16 || c->kv == QBLAS_DTYPE_BF16 ? QBLAS_SCALE_NONE
                                    : c->kv == QBLAS_DTYPE_E4M3 ? (c->per_head ? QBLAS_SCALE_PER_HEAD : QBLAS_SCALE_PER_TENSOR)
                                                                : QBLAS_SCALE_PER_TOKEN_HEAD;
    qblas_kv_cache_t kv = {c->kv, c->num_pages, c->P, Hkv, D, hk, hv, mode, hks, hvs, hkz, hvz};

    /* GPU first (device copies of the poisoned cache), then the oracle on the host cache */
    uint8_t *dk[2], *dv[2], *dks[2], *dvs[2], *dkz[2], *dvz[2];
    int64_t *dmap = dcopy(map, (size_t)c->ntok * 8);
    void *dkn = dcopy(kn, n * es), *dvn = dcopy(vn, n * es);
    uint8_t *res[2][6];
    for (int r = 0; r < 2; r++) {
        dk[r] = guarded(hk, cbytes), dv[r] = guarded(hv, cbytes);
        dks[r] = nsc ? guarded(hks, nsc * 4) : NULL, dvs[r] = nsc ? guarded(hvs, nsc * 4) : NULL;
        dkz[r] = zeros ? guarded(hkz, nsc * 4) : NULL, dvz[r] = zeros ? guarded(hvz, nsc * 4) : NULL;
        qblas_kv_cache_t dkv = {c->kv, c->num_pages, c->P, Hkv, D, dk[r] + GUARD, dv[r] + GUARD, mode,
                                nsc ? (float *)(dks[r] + GUARD) : NULL, nsc ? (float *)(dvs[r] + GUARD) : NULL,
                                zeros ? (float *)(dkz[r] + GUARD) : NULL, zeros ? (float *)(dvz[r] + GUARD) : NULL};
        qblas_status_t st = qblas_kv_append(gh, &dkv, c->ntok, c->src, dkn, dvn, dmap, NULL);
        expect(st == QBLAS_STATUS_SUCCESS, "gpu kv_append: %s (%s)", qblas_status_string(st), qblas_last_error(gh));
        CUDA_OK(cudaDeviceSynchronize());
        if (r == 0) {
            qblas_last_kernel(gh, kernel, sizeof kernel);
            char want[64];
            snprintf(want, sizeof want, "kv_append_%s_", kvn(c->kv));
            expect(strncmp(kernel, want, strlen(want)) == 0, "kernel '%s' is not %s*", kernel, want);
            note_kernel(kernel);
        }
        res[r][0] = fetch(dk[r], cbytes), res[r][1] = fetch(dv[r], cbytes);
        res[r][2] = nsc ? fetch(dks[r], nsc * 4) : NULL, res[r][3] = nsc ? fetch(dvs[r], nsc * 4) : NULL;
        res[r][4] = zeros ? fetch(dkz[r], nsc * 4) : NULL, res[r][5] = zeros ? fetch(dvz[r], nsc * 4) : NULL;
    }
    qblas_status_t st = qblas_kv_append(cpu, &kv, c->ntok, c->src, kn, vn, map, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "cpu kv_append: %s (%s)", qblas_status_string(st), qblas_last_error(cpu));
    const size_t sizes[6] = {cbytes, cbytes, nsc * 4, nsc * 4, zeros ? nsc * 4 : 0, zeros ? nsc * 4 : 0};
    const uint8_t *want[6] = {hk, hv, (uint8_t *)hks, (uint8_t *)hvs, (uint8_t *)hkz, (uint8_t *)hvz};
    static const char *names[6] = {"k codes", "v codes", "k scales", "v scales", "k zeros", "v zeros"};
    for (int i = 0; i < 6; i++) {
        if (!sizes[i]) continue;
        expect(all_ff(res[0][i], GUARD) && all_ff(res[0][i] + GUARD + sizes[i], GUARD), "%s: guard band written",
               names[i]);
        /* skipped slots stay 0xFF in both: the comparison covers them */
        cmp_bytes(i < 2 ? c->kv : QBLAS_DTYPE_F32, res[0][i] + GUARD, want[i], sizes[i], names[i]);
        expect(memcmp(res[0][i], res[1][i], sizes[i] + 2 * GUARD) == 0, "%s: two runs differ", names[i]);
    }
    /* a slot past the cache writes nothing on the GPU (the CPU refuses it); the boundary slot too */
    if (c->ntok >= 2 && g_case_ok) {
        int64_t *m2 = xmalloc((size_t)c->ntok * 8);
        memcpy(m2, map, (size_t)c->ntok * 8);
        m2[0] = slots, m2[1] = INT64_MAX; /* the first slot past the end, and the farthest */
        int64_t *dm2 = dcopy(m2, (size_t)c->ntok * 8);
        uint8_t *gk = guarded(NULL, cbytes), *gv = guarded(NULL, cbytes);
        uint8_t *gs = nsc ? guarded(hks, nsc * 4) : NULL, *gvs = nsc ? guarded(hvs, nsc * 4) : NULL;
        uint8_t *gz = zeros ? guarded(NULL, nsc * 4) : NULL, *gvz = zeros ? guarded(NULL, nsc * 4) : NULL;
        if (nsc && c->kv != QBLAS_DTYPE_E4M3) { /* hks/hvs now hold the oracle's scales: poison instead */
            CUDA_OK(cudaMemset(gs, 0xFF, nsc * 4 + 2 * GUARD));
            CUDA_OK(cudaMemset(gvs, 0xFF, nsc * 4 + 2 * GUARD));
        }
        qblas_kv_cache_t dkv = {c->kv, c->num_pages, c->P, Hkv, D, gk + GUARD, gv + GUARD, mode,
                                nsc ? (float *)(gs + GUARD) : NULL, nsc ? (float *)(gvs + GUARD) : NULL,
                                zeros ? (float *)(gz + GUARD) : NULL, zeros ? (float *)(gvz + GUARD) : NULL};
        st = qblas_kv_append(gh, &dkv, c->ntok, c->src, dkn, dvn, dm2, NULL);
        expect(st == QBLAS_STATUS_SUCCESS, "gpu kv_append (slot past the cache): %s", qblas_status_string(st));
        CUDA_OK(cudaDeviceSynchronize());
        /* expected: the first run's cache with tokens 0 and 1 not applied. Tokens 0, 1 hold distinct slots
         * (or are skips), so their rows must be 0xFF and every other row equal to run 0. */
        uint8_t *hk2 = fetch(gk, cbytes);
        const size_t rb = kv_row_bytes(c->kv, D);
        for (int64_t r = 0; r < rows && g_case_ok; r++) {
            const int64_t slot = r / Hkv;
            const bool dropped = slot == map[0] || slot == map[1];
            const uint8_t *got = hk2 + GUARD + r * rb;
            if (dropped ? !all_ff(got, rb) : memcmp(got, res[0][0] + GUARD + r * rb, rb) != 0)
                expect(false, "slot past the cache: k row %lld wrong (%s)", (long long)r,
                       dropped ? "written" : "differs");
        }
        expect(all_ff(hk2, GUARD) && all_ff(hk2 + GUARD + cbytes, GUARD), "slot past the cache: guard written");
        free(hk2), free(m2);
        cudaFree(dm2), cudaFree(gk), cudaFree(gv), cudaFree(gs), cudaFree(gvs), cudaFree(gz), cudaFree(gvz);
    }
    for (int r = 0; r < 2; r++) {
        for (int i = 0; i < 6; i++) free(res[r][i]);
        cudaFree(dk[r]), cudaFree(dv[r]), cudaFree(dks[r]), cudaFree(dvs[r]), cudaFree(dkz[r]), cudaFree(dvz[r]);
    }
    cudaFree(dmap), cudaFree(dkn), cudaFree(dvn);
    free(kn), free(vn), free(map), free(hk), free(hv), free(hks), free(hvs), free(hkz), free(hvz);
    case_end(what, kernel);
}

static void append_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    static const qblas_dtype_t kvs[] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_I8,
                                        QBLAS_DTYPE_U4};
    static const qblas_dtype_t srcs[] = {QBLAS_DTYPE_F32, QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16};
    static const int Ds[] = {64, 128, 256};
    printf("kv append vs the oracle (bit for bit):\n");
    int idx = 0;
    for (int ki = 0; ki < 5; ki++)
        for (int di = 0; di < 3; di++)
            for (int si = 0; si < 3; si++, idx++) {
                if (g_quick && idx % 4 != 0) continue;
                acase c = {.kv = kvs[ki], .src = srcs[si], .D = Ds[di], .Hkv = 1 + idx % 3, .P = idx % 2 ? 16 : 5,
                           .num_pages = 9, .ntok = 23 + idx % 5, .per_head = idx % 2 == 0};
                append_case(gh, cpu, &c);
            }
}

/* ---------------------------------------------------------------- bad inputs */
static void bad_inputs(qblas_handle_t gh)
{
    char kernel[QBLAS_KERNEL_NAME_MAX] = "";
    case_begin();
    const int D = 128, Hkv = 1, G = 4, P = 16, pages = 64, Hq = Hkv * G;
    const size_t cb = (size_t)pages * P * Hkv * D * 2 + 16, qb = (size_t)Hq * D * 2 + 16;
    uint8_t *k = dalloc(cb), *v = dalloc(cb), *q = dalloc(qb);
    CUDA_OK(cudaMemset(k, 0, cb));
    CUDA_OK(cudaMemset(v, 0, cb));
    CUDA_OK(cudaMemset(q, 0, qb));
    int32_t hbt[64], hl = 1000;
    for (int i = 0; i < 64; i++) hbt[i] = i;
    int32_t *bt = dcopy(hbt, sizeof hbt), *lens = dcopy(&hl, 4);
    uint8_t *o = guarded(NULL, qb), *lse = guarded(NULL, (size_t)Hq * 4);
    qblas_kv_cache_t kv = {QBLAS_DTYPE_F16, pages, P, Hkv, D, k, v, QBLAS_SCALE_NONE, NULL, NULL, NULL, NULL};
    qblas_attention_params_t ap = {1, 1, Hq, QBLAS_DTYPE_F16, q, o + GUARD, (float *)(lse + GUARD), NULL, lens,
                                   bt, 64, 1024, 0.1f, 0.f, -1, 0};
    qblas_kernel_info_t info;
    /* q not 16-byte aligned (element-aligned: the core accepts it) */
    qblas_attention_params_t a2 = ap;
    a2.q = q + 2;
    EXPECT_STATUS(qblas_attention_query(gh, &kv, &a2, &info), QBLAS_STATUS_NOT_SUPPORTED);
    EXPECT_STATUS(qblas_attention(gh, &kv, &a2, NULL, 0, NULL), QBLAS_STATUS_NOT_SUPPORTED);
    /* o not 16-byte aligned */
    a2 = ap;
    a2.o = o + GUARD + 2;
    EXPECT_STATUS(qblas_attention(gh, &kv, &a2, NULL, 0, NULL), QBLAS_STATUS_NOT_SUPPORTED);
    /* the cache not 16-byte aligned */
    qblas_kv_cache_t k2 = kv;
    k2.k = k + 2;
    EXPECT_STATUS(qblas_attention(gh, &k2, &ap, NULL, 0, NULL), QBLAS_STATUS_NOT_SUPPORTED);
    /* heads not a multiple of kv heads (core) */
    a2 = ap;
    a2.num_q_heads = 3;
    k2 = kv;
    k2.num_kv_heads = 2;
    EXPECT_STATUS(qblas_attention(gh, &k2, &a2, NULL, 0, NULL), QBLAS_STATUS_INVALID_VALUE);
    /* O over Q (device address ranges compared by the core): refused */
    a2 = ap;
    a2.o = q;
    EXPECT_STATUS(qblas_attention(gh, &kv, &a2, NULL, 0, NULL), QBLAS_STATUS_INVALID_VALUE);
    /* an unknown cache dtype is named as such, not as a size overflow (core: enums before sizes) */
    k2 = kv;
    k2.dtype = (qblas_dtype_t)99;
    EXPECT_STATUS(qblas_attention(gh, &k2, &ap, NULL, 0, NULL), QBLAS_STATUS_INVALID_VALUE);
    expect(strstr(qblas_last_error(gh), "dtype") != NULL, "kv dtype 99: '%s'", qblas_last_error(gh));
    /* one sequence of 1000 keys splits: a workspace one byte short */
    qblas_status_t st = qblas_attention_query(gh, &kv, &ap, &info);
    expect(st == QBLAS_STATUS_SUCCESS, "query: %s", qblas_status_string(st));
    if (!st) {
        snprintf(kernel, sizeof kernel, "%s", info.kernel_name);
        if (info.workspace_bytes) {
            void *ws = dalloc(info.workspace_bytes);
            EXPECT_STATUS(qblas_attention(gh, &kv, &ap, ws, info.workspace_bytes - 1, NULL),
                          QBLAS_STATUS_INSUFFICIENT_WORKSPACE);
            cudaFree(ws);
        }
    }
    CUDA_OK(cudaDeviceSynchronize());
    expect_untouched(o, qb + 2 * GUARD, "O");
    expect_untouched(lse, (size_t)Hq * 4 + 2 * GUARD, "lse");
    /* append: no tokens (core), then a misaligned source (core); the cache stays poisoned */
    uint8_t *ck = guarded(NULL, cb), *cv = guarded(NULL, cb);
    qblas_kv_cache_t kc = {QBLAS_DTYPE_F16, pages, P, Hkv, D, ck + GUARD, cv + GUARD, QBLAS_SCALE_NONE, NULL, NULL,
                           NULL, NULL};
    int64_t hm = 3;
    int64_t *map = dcopy(&hm, 8);
    EXPECT_STATUS(qblas_kv_append(gh, &kc, 0, QBLAS_DTYPE_F16, q, q, map, NULL), QBLAS_STATUS_INVALID_VALUE);
    EXPECT_STATUS(qblas_kv_append(gh, &kc, 1, QBLAS_DTYPE_F32, q + 2, q, map, NULL), QBLAS_STATUS_INVALID_VALUE);
    k2 = kc;
    k2.dtype = (qblas_dtype_t)-1;
    EXPECT_STATUS(qblas_kv_append(gh, &k2, 1, QBLAS_DTYPE_F16, q, q, map, NULL), QBLAS_STATUS_INVALID_VALUE);
    expect(strstr(qblas_last_error(gh), "dtype") != NULL, "kv dtype -1: '%s'", qblas_last_error(gh));
    CUDA_OK(cudaDeviceSynchronize());
    expect_untouched(ck, cb + 2 * GUARD, "k cache");
    expect_untouched(cv, cb + 2 * GUARD, "v cache");
    cudaFree(k), cudaFree(v), cudaFree(q), cudaFree(bt), cudaFree(lens), cudaFree(o), cudaFree(lse);
    cudaFree(ck), cudaFree(cv), cudaFree(map);
    case_end("attention/append bad inputs (O over Q, unknown kv dtype included) -> status, nothing written", kernel);
}

void qbg_attention(qblas_handle_t gh, qblas_handle_t cpu)
{
    decode_cases(gh, cpu);
    append_cases(gh, cpu);
    bad_inputs(gh);
}
