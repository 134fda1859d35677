/* test_plan.c - plans on the CPU backend (include/qblas/qblas_gemm.h,
 * qblas_attention.h; docs/API.md "Plans"): a plan records where and for
 * what it was made and the backend's choice; a planned call gives the bytes
 * of the unplanned one, serves M up to the plan's, and is refused with the
 * documented status, writing nothing, for another problem, library
 * version, backend or device. (The CUDA side, where a plan also fixes the
 * configuration and the splits, is tests/gpu: every GEMM and attention case
 * runs once planned, and ops_configs.c.) Problems come from the shared
 * builder (problem/qb_problem.h). Comparisons are exact: the CPU backend is
 * deterministic. */
#include "qb_problem.h"
#include "qb_test.h"

static qbp_env env;

static bool all_ff(const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((const uint8_t *)p)[i] != 0xFF) return false;
    return true;
}

static qbp_problem *make(const qbp_spec *s)
{
    char err[256];
    qbp_problem *p = NULL;
    ck_assert_msg(qbp_create(&env, s, &p, err, sizeof err) == QBP_OK, "problem: %s", err);
    return p;
}

static void setup(void)
{
    qblas_handle_t h = qbt_cpu();
    ck_assert(qbp_env_init(&env, h, NULL, qbt_seed, NULL, 0) == QBP_OK);
}

static void teardown(void) { qblas_destroy(env.h); }

#define GEMM(f, xt, wt, xs, ws, g) \
    {.kind = QBP_GEMM, .m_max = 9, .format = f, .x_dtype = xt, .w_dtype = wt, .y_dtype = QBLAS_DTYPE_F16, \
     .x_scale = xs, .w_scale = ws, .group_size = g, .zeros = 1, .n = 40, .k = 256}
static const qbp_spec gemms[] = {
    GEMM(QBLAS_WFORMAT_W4A16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_U4, QBLAS_SCALE_NONE, QBLAS_SCALE_PER_GROUP, 64),
    GEMM(QBLAS_WFORMAT_INT8, QBLAS_DTYPE_I8, QBLAS_DTYPE_I8, QBLAS_SCALE_PER_ROW, QBLAS_SCALE_PER_TENSOR, 0),
    GEMM(QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2, QBLAS_SCALE_BLOCK_1X128, QBLAS_SCALE_BLOCK_128X128, 0),
    GEMM(QBLAS_WFORMAT_W4A8, QBLAS_DTYPE_I8, QBLAS_DTYPE_U4, QBLAS_SCALE_PER_TENSOR, QBLAS_SCALE_PER_GROUP, 128),
    GEMM(QBLAS_WFORMAT_SPARSE24, QBLAS_DTYPE_F16, QBLAS_DTYPE_F16, QBLAS_SCALE_NONE, QBLAS_SCALE_NONE, 0),
};
static const char *const cpu_names[] = {"cpu_ref_w4a16", "cpu_ref_int8", "cpu_ref_fp8", "cpu_ref_w4a8",
                                        "cpu_ref_sparse24"};

/* Y bytes of a run with m rows. */
static void *y_of(const qbp_problem *p, int64_t m)
{
    const size_t bytes = (size_t)(m * p->spec.n) * 2;
    void *y = malloc(bytes);
    memcpy(y, p->y, bytes);
    return y;
}

/* Every format: the plan's fields, the planned call's bytes, M below the plan's. */
START_TEST(gemm_plan_round_trip)
{
    for (size_t i = 0; i < sizeof gemms / sizeof gemms[0]; i++) {
        qbp_problem *p = make(&gemms[i]);
        qbp_plan pl;
        qblas_kernel_info_t info;
        QBT_OK(qbp_plan_make(p, 7, &pl));
        QBT_OK(qbp_query(p, 7, &info));
        const qblas_gemm_plan_t *g = &pl.gemm;
        ck_assert(g->magic == QBLAS_GEMM_PLAN_MAGIC && g->version == QBLAS_VERSION && g->backend == QBLAS_BACKEND_CPU);
        ck_assert(g->device == 0 && g->m == 7 && g->n == 40 && g->k == 256 && g->format == gemms[i].format);
        ck_assert(g->x_dtype == gemms[i].x_dtype && g->y_dtype == QBLAS_DTYPE_F16 && g->w_scale_mode == p->w[0].scale_mode);
        ck_assert(g->config == -1 && g->splits == 1); /* the CPU has one kernel per format: no choice to keep */
        ck_assert_str_eq(g->config_name, cpu_names[i]);
        ck_assert_str_eq(g->kernel_name, info.kernel_name);
        ck_assert_uint_eq(g->workspace_bytes, info.workspace_bytes);
        for (int64_t m = 7; m >= 1; m -= 6) { /* the plan's M, and one below */
            qbt_poison(p->y, (size_t)(9 * 40) * 2);
            QBT_OK(qbp_run(p, m, NULL, NULL));
            void *want = y_of(p, m);
            qbt_poison(p->y, (size_t)(9 * 40) * 2);
            QBT_OK(qbp_run(p, m, &pl, NULL));
            ck_assert_msg(memcmp(want, p->y, (size_t)(m * 40) * 2) == 0, "%s m=%lld: the planned call differs",
                          cpu_names[i], (long long)m);
            char last[QBLAS_KERNEL_NAME_MAX];
            QBT_OK(qblas_last_kernel(env.h, last, sizeof last));
            ck_assert(strncmp(last, "cpu_ref_", 8) == 0);
            free(want);
        }
        qbp_destroy(p);
    }
}
END_TEST

/* A plan made for something else: the status, a reason, Y untouched. */
START_TEST(gemm_plan_refused)
{
    qbp_problem *p = make(&gemms[0]), *o = make(&gemms[1]);
    qbp_plan pl, other;
    QBT_OK(qbp_plan_make(p, 5, &pl));
    QBT_OK(qbp_plan_make(o, 5, &other));
    const qbp_spec *s = &p->spec;
    const size_t yb = (size_t)(9 * 40) * 2;
    for (int c = 0; c < 13; c++) {
        qblas_gemm_plan_t b = pl.gemm;
        qblas_status_t want = QBLAS_STATUS_INVALID_VALUE;
        int64_t m = 5;
        size_t ws = p->ws_bytes;
        const qblas_gemm_plan_t *use = &b;
        switch (c) {
        case 0: m = 6; break;                                              /* M above the plan's */
        case 1: b.n = 41; break;                                           /* another N */
        case 2: b.k = 128; break;                                          /* another K */
        case 3: b.y_dtype = QBLAS_DTYPE_F32; break;                        /* another Y dtype */
        case 4: b.x_dtype = QBLAS_DTYPE_F16; break;                        /* another X dtype */
        case 5: b.w_scale_mode = QBLAS_SCALE_PER_ROW; break;               /* another scale mode */
        case 6: b = other.gemm; break;                                     /* another format's plan */
        case 7: b.magic = 0; break;                                        /* not a plan */
        case 8: use = NULL; break;
        case 9: b.version += 100, want = QBLAS_STATUS_ARCH_MISMATCH; break; /* another library version */
        case 10: b.backend = QBLAS_BACKEND_CUDA, want = QBLAS_STATUS_ARCH_MISMATCH; break;
        case 11: b.device = 0x5A00000084ull, want = QBLAS_STATUS_ARCH_MISMATCH; break; /* a CUDA device's identity */
        default: /* a workspace below the plan's */
            b.workspace_bytes = ws + 1;
            want = QBLAS_STATUS_INSUFFICIENT_WORKSPACE;
            break;
        }
        qbt_poison(p->y, yb);
        qblas_status_t st = qblas_gemm_planned(env.h, use, m, s->n, s->k, &p->x, &p->w[0], NULL, s->y_dtype, p->y,
                                               s->n, p->ws, ws, NULL);
        ck_assert_msg(st == want, "case %d: %s, want %s (%s)", c, qblas_status_string(st), qblas_status_string(want),
                      qblas_last_error(env.h));
        ck_assert_msg(qblas_last_error(env.h)[0] != '\0', "case %d leaves no reason", c);
        ck_assert_msg(all_ff(p->y, yb), "case %d wrote Y", c);
    }
    /* the reason names both problems */
    qblas_gemm_plan_t b = pl.gemm;
    b.n = 41;
    qblas_gemm_planned(env.h, &b, 5, s->n, s->k, &p->x, &p->w[0], NULL, s->y_dtype, p->y, s->n, p->ws, p->ws_bytes,
                       NULL);
    ck_assert_msg(strstr(qblas_last_error(env.h), "N=41") && strstr(qblas_last_error(env.h), "N=40"), "'%s'",
                  qblas_last_error(env.h));
    QBT_STATUS(qblas_gemm_plan(env.h, 5, s->n, s->k, &p->x, &p->w[0], s->y_dtype, NULL), QBLAS_STATUS_INVALID_VALUE);
    qbp_destroy(p), qbp_destroy(o);
}
END_TEST

#define ATTN(kind_, m, kv) \
    {.kind = kind_, .m_max = m, .q_dtype = QBLAS_DTYPE_BF16, .kv_dtype = kv, .heads_q = 4, .heads_kv = 2, \
     .head_dim = 64, .context = 40, .page_size = 8, .seqs = 2}

START_TEST(attention_plan_round_trip_and_refused)
{
    const qbp_spec specs[2] = {ATTN(QBP_DECODE, 3, QBLAS_DTYPE_I8), ATTN(QBP_PREFILL, 16, QBLAS_DTYPE_U4)};
    qbp_problem *p[2];
    qbp_plan pl[2];
    for (int i = 0; i < 2; i++) {
        p[i] = make(&specs[i]);
        QBT_OK(qbp_plan_make(p[i], specs[i].m_max, &pl[i]));
        const qblas_attention_plan_t *a = &pl[i].attn;
        ck_assert(a->magic == QBLAS_ATTENTION_PLAN_MAGIC && a->prefill == i && a->num_q_heads == 4 &&
                  a->num_kv_heads == 2 && a->head_dim == 64 && a->kv_dtype == specs[i].kv_dtype);
        ck_assert_str_eq(a->config_name, "cpu_ref_attention");
        const size_t ob = (size_t)specs[i].m_max * 4 * 64 * 2;
        QBT_OK(qbp_run(p[i], specs[i].m_max, NULL, NULL));
        void *want = malloc(ob);
        memcpy(want, p[i]->y, ob);
        qbt_poison(p[i]->y, ob);
        QBT_OK(qbp_run(p[i], specs[i].m_max, &pl[i], NULL));
        ck_assert_msg(memcmp(want, p[i]->y, ob) == 0, "the planned %s differs", i ? "prefill" : "decode");
        free(want);
    }
    /* decode: fewer sequences served; more, prefill's plan, another head_dim, version, magic refused */
    qbp_problem *d = p[0];
    qblas_attention_params_t a = d->ap;
    a.num_seqs = a.num_q_tokens = 2;
    QBT_OK(qblas_attention_planned(env.h, &pl[0].attn, &d->kv, &a, d->ws, d->ws_bytes, NULL));
    a.num_seqs = a.num_q_tokens = 3;
    for (int c = 0; c < 6; c++) {
        qblas_attention_plan_t b = pl[0].attn;
        qblas_status_t want = QBLAS_STATUS_INVALID_VALUE;
        switch (c) {
        case 0: b.num_seqs = b.num_q_tokens = 2; break;
        case 1: b = pl[1].attn; break;
        case 2: b.head_dim = 128; break;
        case 3: b.kv_dtype = QBLAS_DTYPE_U4; break;
        case 4: b.magic = QBLAS_GEMM_PLAN_MAGIC; break;
        default: b.version -= 1, want = QBLAS_STATUS_ARCH_MISMATCH; break;
        }
        qbt_poison(d->y, (size_t)3 * 4 * 64 * 2);
        qblas_status_t st = qblas_attention_planned(env.h, &b, &d->kv, &a, d->ws, d->ws_bytes, NULL);
        ck_assert_msg(st == want, "case %d: %s (%s)", c, qblas_status_string(st), qblas_last_error(env.h));
        ck_assert_msg(all_ff(d->y, (size_t)3 * 4 * 64 * 2), "case %d wrote O", c);
    }
    qbp_destroy(p[0]), qbp_destroy(p[1]);
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, gemm_plan_round_trip);
    tcase_add_test(tc, gemm_plan_refused);
    tcase_add_test(tc, attention_plan_round_trip_and_refused);
    suite_add_tcase(s, tc);
    return s;
}
