/* ops_configs.c - the configuration model across families (docs/TUNING.md,
 * "Which kernel runs"): every configuration of the device's architecture
 * forced with QBLAS_CUDA_KERNEL, a tuning row of every family choosing a
 * configuration the default would not, and the plans' refusals. Problems
 * come from the shared builder (problem/qb_problem.h) and are checked
 * against the CPU oracle there (its bound serves every configuration; the
 * other groups hold the tight per-family bounds).
 *
 * The quick list (simulated device) runs one small problem per
 * configuration: this group is what makes the registry coverage complete
 * for configurations no default picks. */
#include "gpu_harness.h"
#include "qb_problem.h"

/* ---------------------------------------------------------------- the families */

/* The families are problem/'s (qbp_families), their problems at the
 * builder's small shapes; runs at M = m_max (sequences for decode). */
typedef qbp_family family;

/* The spec a configuration runs (2:4 fp8: its weight dtype and scale kind). */
static qbp_spec spec_for(const family *f, const char *config)
{
    return qbp_family_spec(f, f->spec.m_max, f->spec.kind == QBP_GEMM ? f->spec.n : f->spec.heads_q,
                           f->spec.kind == QBP_GEMM ? f->spec.k : f->spec.heads_kv, f->spec.head_dim, config);
}

/* The configurations of a family on gh (names are static strings of the library). */
static size_t candidates(qblas_handle_t gh, const family *f, const char **names, size_t cap)
{
    size_t n = 0;
    qblas_status_t st = qblas_tuning_candidates(gh, &f->key, names, cap, &n);
    expect(st == QBLAS_STATUS_SUCCESS, "qblas_tuning_candidates(%s): %s", f->name, qblas_status_string(st));
    return n < cap ? n : cap;
}

/* The problem of spec on handle h, or NULL (NOT_SUPPORTED here: e.g. fp8 on sm_80). */
static qbp_problem *problem(qbp_env *env, const qbp_spec *s)
{
    char err[256];
    qbp_problem *p = NULL;
    const int rc = qbp_create(env, s, &p, err, sizeof err);
    expect(rc != QBP_ERROR, "problem: %s", err);
    return rc == QBP_OK ? p : NULL;
}

/* One run (selecting), checked against the oracle; *plan: its plan. */
static void run_checked(qbp_problem *p, int64_t m, qbp_plan *plan)
{
    char why[256];
    qblas_status_t st = qbp_plan_make(p, m, plan);
    expect(st == QBLAS_STATUS_SUCCESS, "plan: %s (%s)", qblas_status_string(st), qblas_last_error(p->env->h));
    if (!st) st = qbp_run(p, m, NULL, NULL);
    expect(st == QBLAS_STATUS_SUCCESS, "run: %s (%s)", qblas_status_string(st), qblas_last_error(p->env->h));
    if (!st) expect(qbp_check(p, m, why, sizeof why), "vs the oracle: %s", why);
}

/* ---------------------------------------------------------------- forced */

/* Every configuration of every family, forced with QBLAS_CUDA_KERNEL on a
 * handle of its own, at an M its default bound would not give it; the
 * forced handle's other families keep their defaults. */
static void forced_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    printf("every configuration forced with QBLAS_CUDA_KERNEL:\n");
    for (int fi = 0; fi < qbp_nfamilies; fi++) {
        const family *f = &qbp_families[fi];
        const char *names[32];
        const size_t nc = candidates(gh, f, names, 32);
        for (size_t c = 0; c < nc; c++) {
            char what[160];
            snprintf(what, sizeof what, "%s forced, m=%lld", f->name, (long long)f->spec.m_max);
            case_begin();
            qblas_handle_t fh = NULL;
            setenv(kernel_env(), names[c], 1);
            qblas_status_t st = qblas_create(&fh, gpu_backend(), 0);
            unsetenv(kernel_env());
            expect(st == QBLAS_STATUS_SUCCESS, "create with %s=%s: %s (%s)", kernel_env(), names[c],
                   qblas_status_string(st), qblas_last_error(NULL));
            qbp_env env;
            const qbp_spec s = spec_for(f, names[c]);
            qbp_problem *p = st ? NULL : (qbp_env_init(&env, fh, cpu, rnd(), NULL, 0), problem(&env, &s));
            if (p) {
                qbp_plan plan;
                run_checked(p, f->spec.m_max, &plan);
                expect(!strcmp(qbp_plan_config(p, &plan), names[c]), "forced %s, the plan says %s", names[c],
                       qbp_plan_config(p, &plan));
                note_kernel(names[c]);
                qbp_destroy(p);
                /* another family on the forced handle: its own default, as on gh (once per family) */
                const family *o = &qbp_families[(fi + 2) % qbp_nfamilies];
                qbp_env ge;
                qbp_problem *pf = NULL, *pg = NULL;
                if (c == 0) {
                    qbp_env_init(&ge, gh, cpu, rnd(), NULL, 0);
                    pf = problem(&env, &o->spec), pg = problem(&ge, &o->spec);
                }
                if (pf && pg) {
                    qbp_plan a, b;
                    expect(qbp_plan_make(pf, o->spec.m_max, &a) == QBLAS_STATUS_SUCCESS &&
                               qbp_plan_make(pg, o->spec.m_max, &b) == QBLAS_STATUS_SUCCESS &&
                               !strcmp(qbp_plan_config(pf, &a), qbp_plan_config(pg, &b)),
                           "QBLAS_CUDA_KERNEL=%s changed %s's choice", names[c], o->name);
                }
                qbp_destroy(pf), qbp_destroy(pg);
            }
            qblas_destroy(fh);
            case_end(what, names[c]);
        }
    }
    /* (a name of no configuration: ops_w4a16.c, "QBLAS_CUDA_KERNEL / device") */
}

/* ---------------------------------------------------------------- tuned */

/* Per family: a row naming a configuration other than the default makes the
 * call (and its plan) run it; the row covers its M only; a plan made before
 * the row keeps its choice; clearing the rows restores the default. */
static void tuned_cases(qblas_handle_t gh, qblas_handle_t cpu)
{
    printf("a tuning row of every family:\n");
    qbp_env env;
    qbp_env_init(&env, gh, cpu, rnd(), NULL, 0);
    for (int fi = 0; fi < qbp_nfamilies; fi++) {
        const family *f = &qbp_families[fi];
        const char *names[32];
        const size_t nc = candidates(gh, f, names, 32);
        qbp_problem *p = nc ? problem(&env, &f->spec) : NULL;
        if (!p) continue;
        case_begin();
        qbp_plan before, below, tuned, other;
        const bool prefill = f->spec.kind == QBP_PREFILL; /* its problem has one M */
        expect(qbp_plan_make(p, f->spec.m_max, &before) == QBLAS_STATUS_SUCCESS &&
                   (prefill || qbp_plan_make(p, f->spec.m_max - 1, &below) == QBLAS_STATUS_SUCCESS),
               "plan: %s", qblas_last_error(gh));
        /* a configuration that runs this spec other than the default (or, with one, that one) */
        const char *dflt = qbp_plan_config(p, &before), *pick = names[0];
        for (size_t c = 0; c < nc; c++)
            if (strcmp(names[c], dflt) && !strstr(names[c], "_block128") && strncmp(names[c], "sp24_e5m2", 9)) {
                pick = names[c];
                break;
            }
        const qbp_spec *s = &f->spec;
        {
            const qblas_tuning_entry_t row = qbp_tuning_row(f, s, f->spec.m_max, f->spec.m_max, pick);
            qblas_status_t st = qbp_tuning_load(gh, &row, 1);
            expect(st == QBLAS_STATUS_SUCCESS, "load a row naming %s: %s (%s)", pick, qblas_status_string(st),
                   qblas_last_error(gh));
            run_checked(p, f->spec.m_max, &tuned);
            expect(!strcmp(qbp_plan_config(p, &tuned), pick), "the row names %s, the plan says %s", pick,
                   qbp_plan_config(p, &tuned));
            note_kernel(pick);
            /* the row covers its M only */
            expect(prefill || (qbp_plan_make(p, f->spec.m_max - 1, &other) == QBLAS_STATUS_SUCCESS &&
                               !strcmp(qbp_plan_config(p, &other), qbp_plan_config(p, &below))),
                   "a row for m=%lld changed m=%lld", (long long)f->spec.m_max, (long long)f->spec.m_max - 1);
            /* the plan made before the row still runs its own choice */
            expect(qbp_run(p, f->spec.m_max, &before, NULL) == QBLAS_STATUS_SUCCESS, "the earlier plan: %s",
                   qblas_last_error(gh));
            char last[QBLAS_KERNEL_NAME_MAX], why[256];
            expect(qblas_last_kernel(gh, last, sizeof last) == QBLAS_STATUS_SUCCESS &&
                       !strcmp(last, qbp_plan_kernel(p, &before)),
                   "the earlier plan ran %s, it says %s", last, qbp_plan_kernel(p, &before));
            expect(qbp_check(p, f->spec.m_max, why, sizeof why), "the earlier plan vs the oracle: %s", why);
            qblas_tuning_clear(gh);
            expect(qbp_plan_make(p, f->spec.m_max, &other) == QBLAS_STATUS_SUCCESS &&
                       !strcmp(qbp_plan_config(p, &other), dflt),
                   "the rows cleared: %s, not the default %s", qbp_plan_config(p, &other), dflt);
        }
        qbp_destroy(p);
        case_end(f->name, pick);
    }
}

/* ---------------------------------------------------------------- plans */

/* A plan is refused, with its documented status and nothing written, when
 * it was made for another problem, version, backend or device. */
static void plan_refusals(qblas_handle_t gh, qblas_handle_t cpu)
{
    printf("plans refused for another problem, version, backend or device:\n");
    qbp_env env, cenv;
    qbp_env_init(&env, gh, cpu, rnd(), NULL, 0);
    qbp_env_init(&cenv, cpu, NULL, rnd(), NULL, 0);
    /* m = 1, k = 4096: split-K, a workspace */
    qbp_spec s = qbp_family_named("w4a16_f16")->spec;
    s.m_max = 8, s.k = 4096;
    qbp_problem *p = problem(&env, &s), *pc = problem(&cenv, &s);
    case_begin();
    if (p && pc) {
        qbp_plan pl, cp;
        expect(qbp_plan_make(p, 4, &pl) == QBLAS_STATUS_SUCCESS && qbp_plan_make(pc, 4, &cp) == QBLAS_STATUS_SUCCESS,
               "plans: %s", qblas_last_error(gh));
        const qblas_gemm_plan_t g = pl.gemm;
        expect(g.magic == QBLAS_GEMM_PLAN_MAGIC && g.version == qblas_get_version() && g.m == 4 && g.n == s.n &&
                   g.k == s.k && g.config >= 0 && g.splits >= 1 && g.config_name[0],
               "plan fields: magic %x version %d m %lld config %d splits %d", g.magic, g.version, (long long)g.m,
               g.config, g.splits);
        const size_t yb = (size_t)(s.m_max * s.n) * 2;
        CUDA_OK(cudaMemset(p->y, 0xFF, yb));
        struct {
            const char *what;
            qblas_status_t want;
        } cases[] = {
            {"m above the plan's", QBLAS_STATUS_INVALID_VALUE}, {"another n", QBLAS_STATUS_INVALID_VALUE},
            {"another Y dtype", QBLAS_STATUS_INVALID_VALUE},    {"another scale mode", QBLAS_STATUS_INVALID_VALUE},
            {"an attention plan", QBLAS_STATUS_INVALID_VALUE},  {"another version", QBLAS_STATUS_ARCH_MISMATCH},
            {"another device", QBLAS_STATUS_ARCH_MISMATCH},     {"the CPU's plan", QBLAS_STATUS_ARCH_MISMATCH},
            {"a configuration this build lacks", QBLAS_STATUS_INVALID_VALUE},
            {"another family's configuration", QBLAS_STATUS_INVALID_VALUE},
            {"a workspace below the plan's", QBLAS_STATUS_INSUFFICIENT_WORKSPACE},
        };
        for (int c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
            qblas_gemm_plan_t b = g;
            int64_t m = 4;
            size_t ws = p->ws_bytes;
            switch (c) {
            case 0: m = 5; break;
            case 1: b.n += 1; break;
            case 2: b.y_dtype = QBLAS_DTYPE_F32; break;
            case 3: b.w_scale_mode = QBLAS_SCALE_PER_ROW; break;
            case 4: b.magic = QBLAS_ATTENTION_PLAN_MAGIC; break;
            case 5: b.version += 1; break;
            case 6: b.device ^= 1; break;
            case 7: b = cp.gemm; break;
            case 8: b.config = 100000; break;
            case 9: { /* an INT8 configuration's index and name */
                qbp_plan ip;
                qbp_problem *pi = problem(&env, &qbp_family_named("int8")->spec);
                if (pi && qbp_plan_make(pi, 4, &ip) == QBLAS_STATUS_SUCCESS) b.config = ip.gemm.config, memcpy(b.config_name, ip.gemm.config_name, sizeof b.config_name);
                qbp_destroy(pi);
                break;
            }
            default: ws = g.workspace_bytes - 1; break;
            }
            qblas_status_t st = qblas_gemm_planned(gh, &b, m, s.n, s.k, &p->x, &p->w[0], NULL, s.y_dtype, p->y, s.n,
                                                   p->ws, ws, NULL);
            expect(st == cases[c].want, "%s: %s, want %s (%s)", cases[c].what, qblas_status_string(st),
                   qblas_status_string(cases[c].want), qblas_last_error(gh));
            expect(strlen(qblas_last_error(gh)) > 0, "%s: no reason given", cases[c].what);
        }
        CUDA_OK(cudaDeviceSynchronize());
        expect_untouched(p->y, yb, "Y");
        expect(g.workspace_bytes > 0 && g.splits > 1, "m=4 k=4096 was meant to split K (%d splits)", g.splits);
        /* a GPU plan on the CPU handle, and M below the plan's: served */
        EXPECT_STATUS(qblas_gemm_planned(cpu, &g, 4, s.n, s.k, &pc->x, &pc->w[0], NULL, s.y_dtype, pc->y, s.n, pc->ws,
                                         pc->ws_bytes, NULL),
                      QBLAS_STATUS_ARCH_MISMATCH);
        char why[256];
        EXPECT_STATUS(qbp_run(p, 3, &pl, NULL), QBLAS_STATUS_SUCCESS);
        expect(qbp_check(p, 3, why, sizeof why), "a plan's run below its M vs the oracle: %s", why);
        EXPECT_STATUS(qbp_run(pc, 2, &cp, NULL), QBLAS_STATUS_SUCCESS);
    }
    case_end("gemm plans: M, N, Y dtype, scales, magic, version, device, backend, config, workspace", "");
    qbp_destroy(p), qbp_destroy(pc);

    /* attention: more sequences, prefill for decode, another head_dim */
    case_begin();
    qbp_spec as = qbp_family_named("attn_decode")->spec, ps = qbp_family_named("attn_prefill")->spec;
    qbp_problem *d = problem(&env, &as), *pf = problem(&env, &ps);
    if (d && pf) {
        qbp_plan dp, fp;
        expect(qbp_plan_make(d, 2, &dp) == QBLAS_STATUS_SUCCESS && qbp_plan_make(pf, ps.m_max, &fp) == QBLAS_STATUS_SUCCESS,
               "plans: %s", qblas_last_error(gh));
        qblas_attention_params_t a = d->ap;
        a.num_seqs = a.num_q_tokens = 3;
        EXPECT_STATUS(qblas_attention_planned(gh, &dp.attn, &d->kv, &a, d->ws, d->ws_bytes, NULL),
                      QBLAS_STATUS_INVALID_VALUE);
        EXPECT_STATUS(qblas_attention_planned(gh, &fp.attn, &d->kv, &a, d->ws, d->ws_bytes, NULL),
                      QBLAS_STATUS_INVALID_VALUE);
        qblas_attention_plan_t b = dp.attn;
        b.head_dim = 128;
        a.num_seqs = a.num_q_tokens = 2;
        EXPECT_STATUS(qblas_attention_planned(gh, &b, &d->kv, &a, d->ws, d->ws_bytes, NULL), QBLAS_STATUS_INVALID_VALUE);
        b = dp.attn, b.version -= 1;
        EXPECT_STATUS(qblas_attention_planned(gh, &b, &d->kv, &a, d->ws, d->ws_bytes, NULL), QBLAS_STATUS_ARCH_MISMATCH);
        b = dp.attn, b.magic = QBLAS_GEMM_PLAN_MAGIC; /* not an attention plan */
        EXPECT_STATUS(qblas_attention_planned(gh, &b, &d->kv, &a, d->ws, d->ws_bytes, NULL), QBLAS_STATUS_INVALID_VALUE);
        char why[256];
        EXPECT_STATUS(qbp_run(d, 2, &dp, NULL), QBLAS_STATUS_SUCCESS);
        expect(qbp_check(d, 2, why, sizeof why), "planned decode vs the oracle: %s", why);
        EXPECT_STATUS(qbp_run(pf, ps.m_max, &fp, NULL), QBLAS_STATUS_SUCCESS);
        expect(qbp_check(pf, ps.m_max, why, sizeof why), "planned prefill vs the oracle: %s", why);
    }
    case_end("attention plans: sequences, kind, head_dim, version", "");
    qbp_destroy(d), qbp_destroy(pf);
}

void qbg_configs(qblas_handle_t gh, qblas_handle_t cpu)
{
    forced_cases(gh, cpu);
    tuned_cases(gh, cpu);
    plan_refusals(gh, cpu);
}
