/* test_api.c - behaviour of the public API against a CPU handle.
 *
 *  - handles, versions, status and dtype names, last_error / last_kernel,
 *    thread count;
 *  - argument checks of every entry point: each bad argument returns the
 *    documented status, records a reason, and writes nothing (every output
 *    is poisoned and snapshotted before the call, compared after it, and its
 *    guard bands checked);
 *  - success paths the API promises: the kernel a GEMM reports, prepacked
 *    weights and thread counts giving bit-identical results.
 *
 * The bad arguments are one fault each on top of a call that is first shown
 * to succeed, so each status is caused by the fault under test.
 */
#include <limits.h>

#include "qb_test.h"

#define P2(e) ((int64_t)1 << (e))
#define INVALID QBLAS_STATUS_INVALID_VALUE

/* p moved by `bytes`, to make a misaligned pointer (never dereferenced) */
static void *skew(const void *p, size_t bytes) { return (uint8_t *)p + bytes; }

static qb_fp8_fmt fp8_fmt(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_E5M2 ? QB_FP8_E5M2 : t == QBLAS_DTYPE_E4M3FNUZ ? QB_FP8_E4M3FNUZ : QB_FP8_E4M3;
}

static void fill_i8(qbt_rng *r, int8_t *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++) p[i] = (int8_t)qbt_int(r, -127, 127);
}

/* fp8 codes of uniform values in [-4, 4): finite, never NaN */
static void fill_fp8(qbt_rng *r, qblas_dtype_t t, uint8_t *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++) p[i] = qb_fp8_encode((float)qbt_uniform(r, -4.0, 4.0), fp8_fmt(t));
}

/* ---- outputs that a failing call must not touch ---- */
#define WATCH_MAX 8
typedef struct {
    void *p[WATCH_MAX];
    size_t bytes[WATCH_MAX];
    bool poison[WATCH_MAX]; /* false: the call also reads it (a descriptor), only snapshot */
    void *snap[WATCH_MAX];
    int n;
} watch_t;

static void watch_add(watch_t *w, void *p, size_t bytes, bool poison)
{
    ck_assert_int_lt(w->n, WATCH_MAX);
    w->p[w->n] = p;
    w->bytes[w->n] = bytes;
    w->poison[w->n] = poison;
    w->snap[w->n++] = NULL;
}

static void watch_arm(watch_t *w)
{
    for (int i = 0; i < w->n; i++) {
        if (w->poison[i]) qbt_poison(w->p[i], w->bytes[i]);
        free(w->snap[i]);
        w->snap[i] = qbt_snapshot(w->p[i], w->bytes[i]);
    }
}

static void watch_check(const watch_t *w, const char *what, int line)
{
    for (int i = 0; i < w->n; i++) {
        QBT_EXPECT(qbt_unchanged(w->p[i], w->snap[i], w->bytes[i]), "line %d: %s wrote output %d", line, what, i);
        QBT_EXPECT(qbt_guard_ok(w->p[i]), "line %d: %s wrote past output %d", line, what, i);
    }
}

static void watch_done(watch_t *w)
{
    for (int i = 0; i < w->n; i++) free(w->snap[i]);
    w->n = 0;
}

/* A successful host call clears the per-thread error text, so a failing
 * call that follows must write its own reason. */
static void clear_host_error(void)
{
    qblas_weight_t w = {.format = QBLAS_WFORMAT_INT8, .dtype = QBLAS_DTYPE_I8, .n = 1, .k = 1,
                        .scale_mode = QBLAS_SCALE_PER_TENSOR, .scale_dtype = QBLAS_DTYPE_F32};
    qblas_weight_sizes_t s;
    QBT_OK(qblas_weight_sizes(&w, &s));
    ck_assert_str_eq(qblas_last_error(NULL), "");
}

/* The wanted status, a reason in words (on h, or per thread when h is NULL),
 * and every watched output unchanged with its guard bands intact. */
#define MUST_FAIL(wt, h, call, want)                                                                 \
    do {                                                                                             \
        watch_arm(wt);                                                                               \
        clear_host_error();                                                                          \
        QBT_STATUS(call, want);                                                                      \
        watch_check(wt, #call, __LINE__);                                                            \
        QBT_EXPECT(qblas_last_error(h)[0] != '\0', "line %d: %s failed without a reason", __LINE__, #call); \
    } while (0)

/* ---- owned buffers ---- */
#define POOL_MAX 24
typedef struct {
    void *p[POOL_MAX];
    int n;
} pool_t;

static void *pool_alloc(pool_t *pl, size_t bytes)
{
    ck_assert_int_lt(pl->n, POOL_MAX);
    return pl->p[pl->n++] = qbt_alloc(bytes ? bytes : 1);
}

static void pool_free(pool_t *pl)
{
    for (int i = 0; i < pl->n; i++) qbt_free(pl->p[i]);
    pl->n = 0;
}

/* =========================================================================
 * Handles, versions, names, errors
 * ========================================================================= */

START_TEST(create_and_destroy)
{
    int sentinel;
    qblas_handle_t h = (qblas_handle_t)(void *)&sentinel;
    QBT_STATUS(qblas_create(NULL, QBLAS_BACKEND_CPU, 0), INVALID);
    ck_assert(qblas_last_error(NULL)[0] != '\0');
    clear_host_error();
    QBT_STATUS(qblas_create(&h, QBLAS_BACKEND_CPU, -1), INVALID);
    ck_assert(h == NULL || h == (qblas_handle_t)(void *)&sentinel);
    ck_assert(qblas_last_error(NULL)[0] != '\0');
    const int bad_backends[] = {-1, 4, 99, INT_MAX};
    for (unsigned i = 0; i < sizeof bad_backends / sizeof bad_backends[0]; i++) {
        h = (qblas_handle_t)(void *)&sentinel;
        QBT_STATUS(qblas_create(&h, (qblas_backend_t)bad_backends[i], 0), INVALID);
        ck_assert(h == NULL || h == (qblas_handle_t)(void *)&sentinel);
    }
    ck_assert_int_eq(qblas_backend_available((qblas_backend_t)99), 0);

    /* GPU backends: a handle when one is available; otherwise NOT_SUPPORTED
     * (not compiled in, as in a CPU-only build) or ARCH_MISMATCH (compiled
     * in, but no usable device) */
    const qblas_backend_t gpus[] = {QBLAS_BACKEND_CUDA, QBLAS_BACKEND_HIP};
    for (int i = 0; i < 2; i++) {
        h = NULL;
        qblas_status_t st = qblas_create(&h, gpus[i], 0);
        if (qblas_backend_available(gpus[i])) {
            ck_assert_int_eq(st, QBLAS_STATUS_SUCCESS);
            QBT_OK(qblas_destroy(h));
        } else {
            ck_assert_msg(st == QBLAS_STATUS_NOT_SUPPORTED || st == QBLAS_STATUS_ARCH_MISMATCH,
                          "backend %d unavailable but create says %s", (int)gpus[i], qblas_status_string(st));
            ck_assert(h == NULL);
            ck_assert(qblas_last_error(NULL)[0] != '\0');
        }
    }

    /* CPU is always there; AUTO picks an available backend */
    ck_assert_int_eq(qblas_backend_available(QBLAS_BACKEND_CPU), 1);
    ck_assert_int_eq(qblas_backend_available(QBLAS_BACKEND_AUTO), 1);
    h = NULL;
    QBT_OK(qblas_create(&h, QBLAS_BACKEND_AUTO, 0));
    ck_assert(h != NULL);
    qblas_backend_t b;
    QBT_OK(qblas_get_backend(h, &b));
    ck_assert(b != QBLAS_BACKEND_AUTO);
    ck_assert_int_eq(qblas_backend_available(b), 1);
    int nt = 0;
    QBT_OK(qblas_get_num_threads(h, &nt));
    ck_assert_int_ge(nt, 1);
    ck_assert_str_eq(qblas_last_error(h), "");
    QBT_OK(qblas_destroy(h));
    QBT_OK(qblas_destroy(NULL));

    h = qbt_cpu();
    QBT_STATUS(qblas_get_backend(NULL, &b), INVALID);
    QBT_STATUS(qblas_get_backend(h, NULL), INVALID);
    QBT_OK(qblas_get_backend(h, &b));
    ck_assert_int_eq(b, QBLAS_BACKEND_CPU);
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(version)
{
    ck_assert_int_eq(qblas_get_version(), QBLAS_VERSION);
    ck_assert_int_eq(QBLAS_VERSION, QBLAS_VERSION_MAJOR * 10000 + QBLAS_VERSION_MINOR * 100 + QBLAS_VERSION_PATCH);
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", QBLAS_VERSION_MAJOR, QBLAS_VERSION_MINOR, QBLAS_VERSION_PATCH);
    ck_assert_ptr_nonnull(qblas_get_version_string());
    ck_assert_str_eq(qblas_get_version_string(), want);
}
END_TEST

START_TEST(status_strings)
{
    static const char *const names[] = {
        "QBLAS_STATUS_SUCCESS",         "QBLAS_STATUS_INVALID_VALUE",   "QBLAS_STATUS_NOT_SUPPORTED",
        "QBLAS_STATUS_INSUFFICIENT_WORKSPACE", "QBLAS_STATUS_ARCH_MISMATCH", "QBLAS_STATUS_ALLOC_FAILED",
        "QBLAS_STATUS_EXECUTION_FAILED", "QBLAS_STATUS_INTERNAL_ERROR"};
    for (int i = 0; i < 8; i++) {
        const char *s = qblas_status_string((qblas_status_t)i);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_eq(s, names[i]);
        for (int j = 0; j < i; j++) ck_assert_str_ne(s, qblas_status_string((qblas_status_t)j));
    }
    const int out_of_range[] = {8, -1, 1000, INT_MIN, INT_MAX};
    for (unsigned i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++) {
        const char *s = qblas_status_string((qblas_status_t)out_of_range[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert(s[0] != '\0');
    }
}
END_TEST

START_TEST(dtype_names)
{
    ck_assert_str_eq(qblas_dtype_name(QBLAS_DTYPE_F16), "f16");
    ck_assert_str_eq(qblas_dtype_name(QBLAS_DTYPE_E4M3), "e4m3");
    for (int i = QBLAS_DTYPE_F32; i <= QBLAS_DTYPE_I32; i++) {
        const char *s = qblas_dtype_name((qblas_dtype_t)i);
        ck_assert_ptr_nonnull(s);
        ck_assert(s[0] != '\0');
        ck_assert_str_ne(s, "unknown");
        for (int j = 0; j < i; j++) ck_assert_str_ne(s, qblas_dtype_name((qblas_dtype_t)j));
    }
    const int out_of_range[] = {-1, QBLAS_DTYPE_I32 + 1, 1000, INT_MIN};
    for (unsigned i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++)
        ck_assert_str_eq(qblas_dtype_name((qblas_dtype_t)out_of_range[i]), "unknown");
}
END_TEST

START_TEST(threads_and_errors)
{
    qblas_handle_t h = qbt_cpu();
    int nt = 0, before = 0;
    QBT_OK(qblas_get_num_threads(h, &before));
    const int bad[] = {0, -1, INT_MIN};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        QBT_STATUS(qblas_set_num_threads(h, bad[i]), INVALID);
        ck_assert(qblas_last_error(h)[0] != '\0');
        QBT_OK(qblas_get_num_threads(h, &nt));
        ck_assert_int_eq(nt, before);
    }
    QBT_OK(qblas_set_num_threads(h, 2));
    ck_assert_str_eq(qblas_last_error(h), ""); /* a success clears the reason */
    QBT_OK(qblas_get_num_threads(h, &nt));
    ck_assert_int_eq(nt, 2);
    QBT_OK(qblas_set_num_threads(h, 1));
    QBT_OK(qblas_get_num_threads(h, &nt));
    ck_assert_int_eq(nt, 1);
    QBT_STATUS(qblas_set_num_threads(NULL, 2), INVALID);
    QBT_STATUS(qblas_get_num_threads(NULL, &nt), INVALID);
    QBT_STATUS(qblas_get_num_threads(h, NULL), INVALID);

    /* last_kernel: bad buffers */
    char *buf = qbt_alloc(16);
    watch_t wt = {0};
    watch_add(&wt, buf, 16, true);
    watch_arm(&wt);
    QBT_STATUS(qblas_last_kernel(NULL, buf, 16), INVALID);
    QBT_STATUS(qblas_last_kernel(h, NULL, 16), INVALID);
    QBT_STATUS(qblas_last_kernel(h, buf, 0), INVALID);
    watch_check(&wt, "qblas_last_kernel", __LINE__);
    watch_done(&wt);
    qbt_free(buf);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* qblas_device_status on the CPU backend: it checks every value before it
 * returns, so there is never a device error: SUCCESS at once, also after a
 * call that failed a content check (that one failed synchronously). */
START_TEST(device_status_cpu)
{
    qblas_handle_t h = qbt_cpu();
    qblas_status_t dev = QBLAS_STATUS_INTERNAL_ERROR;
    QBT_OK(qblas_device_status(h, NULL, &dev));
    ck_assert_int_eq(dev, QBLAS_STATUS_SUCCESS);
    ck_assert_str_eq(qblas_last_error(h), "");
    /* a static activation scale of 0: the call itself answers INVALID_VALUE */
    float x[4] = {1, 2, 3, 4}, scale = 0.0f;
    int8_t q[4];
    QBT_STATUS(qblas_quantize_act(h, 1, 4, QBLAS_DTYPE_F32, x, 4, QBLAS_DTYPE_I8, q, 4, QBLAS_SCALE_PER_TENSOR, &scale,
                                  NULL, NULL),
               INVALID);
    dev = QBLAS_STATUS_INTERNAL_ERROR;
    QBT_OK(qblas_device_status(h, (void *)1 /* any stream: ignored */, &dev));
    ck_assert_int_eq(dev, QBLAS_STATUS_SUCCESS);
    ck_assert_str_eq(qblas_last_error(h), ""); /* the read succeeded: the old reason is gone */
    QBT_STATUS(qblas_device_status(NULL, NULL, &dev), INVALID);
    QBT_STATUS(qblas_device_status(h, NULL, NULL), INVALID);
    ck_assert(qblas_last_error(h)[0] != '\0');
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* =========================================================================
 * GEMM fixtures: a valid call, its buffers, and Y watched
 * ========================================================================= */

typedef struct {
    qblas_handle_t h;
    int64_t m, n, k, ldy;
    qblas_act_t x;
    qblas_weight_t w;
    bool no_x, no_w; /* pass NULL descriptors */
    const void *bias;
    qblas_dtype_t yt;
    void *y;
    void *ws;
    size_t wsb;
} gemm_call;

typedef struct {
    gemm_call c;
    pool_t pool;
    watch_t out;
    size_t ybytes;
} gemm_fix;

static qblas_status_t run_gemm(const gemm_call *c)
{
    return qblas_gemm(c->h, c->m, c->n, c->k, c->no_x ? NULL : &c->x, c->no_w ? NULL : &c->w, c->bias, c->yt, c->y,
                      c->ldy, c->ws, c->wsb, NULL);
}

static qblas_status_t query_gemm(const gemm_call *c, qblas_kernel_info_t *info)
{
    return qblas_gemm_query(c->h, c->m, c->n, c->k, c->no_x ? NULL : &c->x, c->no_w ? NULL : &c->w, c->yt, info);
}

/* Y and the workspace the query asks for (1 MiB when the query itself fails,
 * so argument checks still see a workspace). */
static void fix_finish(gemm_fix *f)
{
    gemm_call *c = &f->c;
    f->ybytes = (size_t)(c->m * c->ldy) * (c->yt == QBLAS_DTYPE_F32 ? 4 : 2);
    c->y = pool_alloc(&f->pool, f->ybytes);
    watch_add(&f->out, c->y, f->ybytes, true);
    qblas_kernel_info_t info;
    c->wsb = query_gemm(c, &info) == QBLAS_STATUS_SUCCESS ? info.workspace_bytes : (size_t)1 << 20;
    c->ws = pool_alloc(&f->pool, c->wsb);
}

static void fix_done(gemm_fix *f)
{
    watch_done(&f->out);
    pool_free(&f->pool);
}

/* INT8: X i8 [m][k+3] per-row scales, W i8 [n][k] per-row scales, Y [m][n+2]. */
static void int8_fix(gemm_fix *f, qblas_handle_t h, int64_t m, int64_t n, int64_t k, qblas_dtype_t yt)
{
    memset(f, 0, sizeof *f);
    qbt_rng r = qbt_rng_make(1000 + (uint64_t)(m * 131 + n * 7 + k));
    int64_t ldx = k + 3;
    int8_t *x = pool_alloc(&f->pool, (size_t)(m * ldx));
    float *sx = pool_alloc(&f->pool, (size_t)m * 4);
    int8_t *w = pool_alloc(&f->pool, (size_t)(n * k));
    float *sw = pool_alloc(&f->pool, (size_t)n * 4);
    fill_i8(&r, x, m * ldx);
    fill_i8(&r, w, n * k);
    qbt_fill(&r, QBLAS_DTYPE_F32, sx, m, 0.01, 0.1);
    qbt_fill(&r, QBLAS_DTYPE_F32, sw, n, 0.01, 0.1);
    f->c = (gemm_call){.h = h, .m = m, .n = n, .k = k, .ldy = n + 2, .yt = yt};
    f->c.x = (qblas_act_t){QBLAS_DTYPE_I8, x, ldx, QBLAS_SCALE_PER_ROW, sx, NULL};
    f->c.w = (qblas_weight_t){.format = QBLAS_WFORMAT_INT8, .dtype = QBLAS_DTYPE_I8, .n = n, .k = k, .data = w,
                              .scale_mode = QBLAS_SCALE_PER_ROW, .scale_dtype = QBLAS_DTYPE_F32, .scales = sw};
    fix_finish(f);
}

/* FP8: per-row scales, or 1x128 / 128x128 block scales. */
static void fp8_fix(gemm_fix *f, qblas_handle_t h, int64_t m, int64_t n, int64_t k, qblas_dtype_t xt,
                    qblas_dtype_t wt, bool block, qblas_dtype_t yt)
{
    memset(f, 0, sizeof *f);
    qbt_rng r = qbt_rng_make(2000 + (uint64_t)(m * 131 + n * 7 + k) + block);
    int64_t ldx = k + 1, kb = (k + 127) / 128;
    int64_t nsx = block ? m * kb : m, nsw = block ? ((n + 127) / 128) * kb : n;
    uint8_t *x = pool_alloc(&f->pool, (size_t)(m * ldx));
    uint8_t *w = pool_alloc(&f->pool, (size_t)(n * k));
    float *sx = pool_alloc(&f->pool, (size_t)nsx * 4);
    float *sw = pool_alloc(&f->pool, (size_t)nsw * 4);
    fill_fp8(&r, xt, x, m * ldx);
    fill_fp8(&r, wt, w, n * k);
    qbt_fill(&r, QBLAS_DTYPE_F32, sx, nsx, 0.01, 0.1);
    qbt_fill(&r, QBLAS_DTYPE_F32, sw, nsw, 0.01, 0.1);
    f->c = (gemm_call){.h = h, .m = m, .n = n, .k = k, .ldy = n, .yt = yt};
    f->c.x = (qblas_act_t){xt, x, ldx, block ? QBLAS_SCALE_BLOCK_1X128 : QBLAS_SCALE_PER_ROW, sx, NULL};
    f->c.w = (qblas_weight_t){.format = QBLAS_WFORMAT_FP8, .dtype = wt, .n = n, .k = k, .data = w,
                              .scale_mode = block ? QBLAS_SCALE_BLOCK_128X128 : QBLAS_SCALE_PER_ROW,
                              .scale_dtype = QBLAS_DTYPE_F32, .scales = sw};
    fix_finish(f);
}

/* W4A16: X f16, W u4 [n][k/2], f16 scales [k/g][n], symmetric, Y f16. */
static void w4a16_fix(gemm_fix *f, qblas_handle_t h, int64_t m, int64_t n, int64_t k, int32_t g)
{
    memset(f, 0, sizeof *f);
    qbt_rng r = qbt_rng_make(3000 + (uint64_t)(m * 131 + n * 7 + k));
    int64_t ldx = k + 2, G = g ? k / g : 1;
    uint16_t *x = pool_alloc(&f->pool, (size_t)(m * ldx) * 2);
    uint8_t *w = pool_alloc(&f->pool, (size_t)(n * ((k + 1) / 2)));
    uint16_t *s = pool_alloc(&f->pool, (size_t)(G * n) * 2);
    qbt_fill(&r, QBLAS_DTYPE_F16, x, m * ldx, -1.0, 1.0);
    qbt_fill_bytes(&r, w, (size_t)(n * ((k + 1) / 2)));
    qbt_fill(&r, QBLAS_DTYPE_F16, s, G * n, 0.01, 0.1);
    f->c = (gemm_call){.h = h, .m = m, .n = n, .k = k, .ldy = n, .yt = QBLAS_DTYPE_F16};
    f->c.x = (qblas_act_t){QBLAS_DTYPE_F16, x, ldx, QBLAS_SCALE_NONE, NULL, NULL};
    f->c.w = (qblas_weight_t){.format = QBLAS_WFORMAT_W4A16, .dtype = QBLAS_DTYPE_U4, .n = n, .k = k, .data = w,
                              .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = QBLAS_DTYPE_F16, .scales = s,
                              .group_size = g};
    fix_finish(f);
}

/* One fault on top of the fixture's valid call. */
#define GEMM_FAILS(f, edit, want)                                 \
    do {                                                          \
        gemm_call c_ = (f)->c;                                    \
        edit;                                                     \
        MUST_FAIL(&(f)->out, c_.h, run_gemm(&c_), want);          \
    } while (0)

/* ---- INT8: nulls, sizes, strides, overflow, enums, alignment ---- */

START_TEST(gemm_int8_bad_args)
{
    qblas_handle_t h = qbt_cpu();
    gemm_fix F, *f = &F;
    int8_fix(f, h, 3, 7, 33, QBLAS_DTYPE_F32);
    QBT_OK(run_gemm(&f->c)); /* the base call is valid */

    /* NULL handle: the reason is kept per thread */
    GEMM_FAILS(f, c_.h = NULL, INVALID);
    GEMM_FAILS(f, c_.no_x = true, INVALID);
    GEMM_FAILS(f, c_.no_w = true, INVALID);
    GEMM_FAILS(f, c_.y = NULL, INVALID);
    GEMM_FAILS(f, c_.x.data = NULL, INVALID);
    GEMM_FAILS(f, c_.w.data = NULL, INVALID);
    GEMM_FAILS(f, c_.w.scales = NULL, INVALID);
    GEMM_FAILS(f, c_.x.scales = NULL, INVALID);

    /* sizes and strides */
    const int64_t bad_sizes[] = {0, -1, INT64_MIN};
    for (int i = 0; i < 3; i++) {
        GEMM_FAILS(f, c_.m = bad_sizes[i], INVALID);
        GEMM_FAILS(f, c_.n = bad_sizes[i], INVALID);
        GEMM_FAILS(f, c_.k = bad_sizes[i], INVALID);
    }
    GEMM_FAILS(f, c_.x.ld = c_.k - 1, INVALID);
    GEMM_FAILS(f, c_.ldy = c_.n - 1, INVALID);
    GEMM_FAILS(f, c_.w.n = c_.n + 1, INVALID);
    GEMM_FAILS(f, c_.w.k = c_.k + 1, INVALID);
    GEMM_FAILS(f, (c_.n = c_.n + 1, c_.ldy = c_.n), INVALID); /* call disagrees with the weight */

    /* overflow of byte sizes: (m-1)*ldy, (m-1)*ldx, ldy itself */
    GEMM_FAILS(f, (c_.m = P2(40), c_.ldy = P2(30)), INVALID);
    GEMM_FAILS(f, (c_.m = P2(40), c_.x.ld = P2(30)), INVALID);
    GEMM_FAILS(f, c_.ldy = INT64_MAX, INVALID);
    GEMM_FAILS(f, c_.x.ld = INT64_MAX, INVALID);
    GEMM_FAILS(f, c_.m = INT64_MAX, INVALID);
    GEMM_FAILS(f, (c_.k = c_.w.k = c_.x.ld = INT64_MAX), QBLAS_STATUS_NOT_SUPPORTED); /* k > 65536 */

    /* enums out of range and wrong for the format */
    GEMM_FAILS(f, c_.w.format = QBLAS_WFORMAT_INVALID, INVALID);
    GEMM_FAILS(f, c_.w.format = (qblas_wformat_t)99, INVALID);
    GEMM_FAILS(f, c_.w.dtype = (qblas_dtype_t)99, INVALID);
    GEMM_FAILS(f, c_.w.dtype = QBLAS_DTYPE_U8, INVALID);
    GEMM_FAILS(f, c_.x.dtype = (qblas_dtype_t)99, INVALID);
    GEMM_FAILS(f, c_.x.dtype = QBLAS_DTYPE_E4M3, INVALID);
    GEMM_FAILS(f, c_.yt = (qblas_dtype_t)99, INVALID);
    GEMM_FAILS(f, c_.yt = QBLAS_DTYPE_I8, INVALID);
    GEMM_FAILS(f, c_.yt = QBLAS_DTYPE_I32, INVALID);
    GEMM_FAILS(f, c_.w.scale_mode = (qblas_scale_mode_t)99, INVALID);
    GEMM_FAILS(f, c_.w.scale_mode = QBLAS_SCALE_BLOCK_128X128, INVALID); /* INT8 has no block scales */
    GEMM_FAILS(f, c_.w.scale_mode = QBLAS_SCALE_PER_GROUP, INVALID);
    GEMM_FAILS(f, c_.w.scale_dtype = QBLAS_DTYPE_F16, INVALID);
    GEMM_FAILS(f, c_.x.scale_mode = (qblas_scale_mode_t)99, INVALID);
    GEMM_FAILS(f, c_.x.scale_mode = QBLAS_SCALE_NONE, INVALID);
    GEMM_FAILS(f, c_.x.scale_mode = QBLAS_SCALE_BLOCK_1X128, INVALID);

    /* fields another format owns must be NULL */
    GEMM_FAILS(f, c_.w.zeros = c_.w.scales, INVALID);
    GEMM_FAILS(f, c_.w.g_idx = (const int32_t *)c_.w.scales, INVALID);
    GEMM_FAILS(f, c_.w.meta = c_.w.data, INVALID);
    GEMM_FAILS(f, c_.w.group_scales = c_.w.data, INVALID);

    /* alignment: f32 scales and outputs at 4 bytes, i32 zeros at 4 */
    int32_t *zeros = pool_alloc(&f->pool, (size_t)f->c.m * 4 + 4);
    for (int64_t i = 0; i <= f->c.m; i++) zeros[i] = (int32_t)(i % 5) - 2;
    GEMM_FAILS(f, c_.w.scales = skew(c_.w.scales, 2), INVALID);
    GEMM_FAILS(f, c_.x.scales = skew(c_.x.scales, 1), INVALID);
    GEMM_FAILS(f, c_.y = skew(c_.y, 2), INVALID);
    GEMM_FAILS(f, c_.bias = skew(c_.x.scales, 2), INVALID);
    GEMM_FAILS(f, c_.x.zeros = skew(zeros, 2), INVALID);
    /* zero points need per-row scales, and must be in i8 range (checked on the host copy) */
    GEMM_FAILS(f, (c_.x.zeros = zeros, c_.x.scale_mode = QBLAS_SCALE_PER_TENSOR), INVALID);
    zeros[1] = 128;
    GEMM_FAILS(f, c_.x.zeros = zeros, INVALID);
    zeros[1] = -129;
    GEMM_FAILS(f, c_.x.zeros = zeros, INVALID);

    /* integer GEMMs stop at K = 65536 (int32 accumulation stays exact) */
    GEMM_FAILS(f, (c_.k = c_.w.k = 65537, c_.x.ld = 65537), QBLAS_STATUS_NOT_SUPPORTED);

    /* workspace */
    ck_assert_uint_gt(f->c.wsb, 0);
    GEMM_FAILS(f, c_.wsb = c_.wsb - 1, QBLAS_STATUS_INSUFFICIENT_WORKSPACE);
    GEMM_FAILS(f, (c_.ws = NULL, c_.wsb = 0), QBLAS_STATUS_INSUFFICIENT_WORKSPACE);
    GEMM_FAILS(f, c_.ws = NULL, INVALID);

    /* layouts packed for a GPU */
    GEMM_FAILS(f, c_.w.layout = QBLAS_LAYOUT_CUDA_W4A16, QBLAS_STATUS_ARCH_MISMATCH);
    GEMM_FAILS(f, c_.w.layout = (qblas_layout_t)31, QBLAS_STATUS_ARCH_MISMATCH);
    GEMM_FAILS(f, c_.w.layout = (qblas_layout_t)32, QBLAS_STATUS_ARCH_MISMATCH);
    GEMM_FAILS(f, (c_.w.layout = QBLAS_LAYOUT_CUDA_W4A16, c_.w.data = NULL), INVALID);

    /* the query checks the same arguments */
    qblas_kernel_info_t info;
    gemm_call c = f->c;
    QBT_STATUS(qblas_gemm_query(h, c.m, c.n, c.k, &c.x, &c.w, c.yt, NULL), INVALID);
    QBT_STATUS(qblas_gemm_query(NULL, c.m, c.n, c.k, &c.x, &c.w, c.yt, &info), INVALID);
    c.k = 0;
    QBT_STATUS(query_gemm(&c, &info), INVALID);
    c = f->c;
    c.w.layout = QBLAS_LAYOUT_CUDA_W4A16;
    QBT_STATUS(query_gemm(&c, &info), QBLAS_STATUS_ARCH_MISMATCH);

    fix_done(f);
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(gemm_fp8_bad_args)
{
    qblas_handle_t h = qbt_cpu();
    gemm_fix F, *f = &F;
    fp8_fix(f, h, 3, 7, 33, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2, false, QBLAS_DTYPE_BF16);
    QBT_OK(run_gemm(&f->c));
    int32_t *zeros = pool_alloc(&f->pool, (size_t)f->c.m * 4);
    for (int64_t i = 0; i < f->c.m; i++) zeros[i] = 1;

    /* block weight scales need block activation scales, and the reverse */
    GEMM_FAILS(f, c_.w.scale_mode = QBLAS_SCALE_BLOCK_128X128, INVALID);
    GEMM_FAILS(f, c_.x.scale_mode = QBLAS_SCALE_BLOCK_1X128, INVALID);
    /* zero points are INT8-only; fp8 weights take fp8 activations; f32 scales */
    GEMM_FAILS(f, c_.x.zeros = zeros, INVALID);
    GEMM_FAILS(f, c_.x.dtype = QBLAS_DTYPE_I8, INVALID);
    GEMM_FAILS(f, c_.x.dtype = QBLAS_DTYPE_F16, INVALID);
    GEMM_FAILS(f, c_.w.dtype = QBLAS_DTYPE_I8, INVALID);
    GEMM_FAILS(f, c_.w.scale_dtype = QBLAS_DTYPE_BF16, INVALID);
    GEMM_FAILS(f, c_.w.scale_mode = QBLAS_SCALE_NONE, INVALID);
    GEMM_FAILS(f, c_.w.scales = skew(c_.w.scales, 1), INVALID);
    GEMM_FAILS(f, c_.y = skew(c_.y, 1), INVALID); /* bf16 output at an odd address */
    /* n * k overflows the weight's byte size */
    GEMM_FAILS(f, (c_.n = c_.w.n = P2(40), c_.k = c_.w.k = P2(30), c_.x.ld = P2(30), c_.ldy = P2(40)), INVALID);
    GEMM_FAILS(f, (c_.n = c_.w.n = INT64_MAX, c_.ldy = INT64_MAX), INVALID);
    fix_done(f);

    /* block scales: 1x128 activations with per-row weights is the mismatch above;
     * here the valid block call, then per-tensor activations against block weights */
    fp8_fix(f, h, 3, 130, 300, QBLAS_DTYPE_E4M3FNUZ, QBLAS_DTYPE_E4M3FNUZ, true, QBLAS_DTYPE_F32);
    QBT_OK(run_gemm(&f->c));
    GEMM_FAILS(f, c_.x.scale_mode = QBLAS_SCALE_PER_ROW, INVALID);
    GEMM_FAILS(f, c_.x.scale_mode = QBLAS_SCALE_PER_TENSOR, INVALID);
    GEMM_FAILS(f, c_.w.scales = skew(c_.w.scales, 2), INVALID);
    GEMM_FAILS(f, c_.wsb = c_.wsb - 1, QBLAS_STATUS_INSUFFICIENT_WORKSPACE);
    fix_done(f);
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(gemm_w4a16_bad_args)
{
    qblas_handle_t h = qbt_cpu();
    gemm_fix F, *f = &F;
    /* K = 96: divisible by 32, not by 64 */
    w4a16_fix(f, h, 3, 7, 96, 32);
    int32_t *g_idx = pool_alloc(&f->pool, 96 * 4);
    for (int i = 0; i < 96; i++) g_idx[i] = i / 32;
    QBT_OK(run_gemm(&f->c));
    GEMM_FAILS(f, c_.w.group_size = 48, INVALID);
    GEMM_FAILS(f, c_.w.group_size = 16, INVALID);
    GEMM_FAILS(f, c_.w.group_size = -32, INVALID);
    GEMM_FAILS(f, c_.w.group_size = 64, INVALID); /* does not divide k = 96 */
    GEMM_FAILS(f, (c_.w.group_size = 0, c_.w.g_idx = g_idx), INVALID);
    GEMM_FAILS(f, c_.w.dtype = QBLAS_DTYPE_I4, INVALID);
    GEMM_FAILS(f, c_.w.scale_mode = QBLAS_SCALE_PER_ROW, INVALID);
    GEMM_FAILS(f, c_.w.scale_dtype = QBLAS_DTYPE_I8, INVALID);
    GEMM_FAILS(f, c_.x.dtype = QBLAS_DTYPE_I8, INVALID); /* W4A16 takes f16/bf16 activations */
    GEMM_FAILS(f, c_.x.dtype = QBLAS_DTYPE_F32, INVALID);
    GEMM_FAILS(f, (c_.x.scale_mode = QBLAS_SCALE_PER_ROW, c_.x.scales = c_.w.scales), INVALID);
    GEMM_FAILS(f, c_.x.data = skew(c_.x.data, 1), INVALID);    /* f16 X at an odd address */
    GEMM_FAILS(f, c_.w.scales = skew(c_.w.scales, 1), INVALID); /* f16 scales at an odd address */
    GEMM_FAILS(f, c_.w.g_idx = (const int32_t *)skew(g_idx, 2), INVALID);
    GEMM_FAILS(f, c_.y = skew(c_.y, 1), INVALID);
    GEMM_FAILS(f, (c_.n = c_.w.n = P2(62), c_.ldy = P2(62)), INVALID); /* n * k/2 bytes overflows */
    GEMM_FAILS(f, (c_.k = c_.w.k = c_.x.ld = INT64_MAX, c_.w.group_size = 0), INVALID); /* g_idx bytes overflow */

    /* contents the oracle reads on the host: group indices and zero points in range */
    g_idx[95] = 3; /* G = 3 groups: 0..2 */
    GEMM_FAILS(f, c_.w.g_idx = g_idx, INVALID);
    g_idx[95] = -1;
    GEMM_FAILS(f, c_.w.g_idx = g_idx, INVALID);
    uint8_t *zeros = pool_alloc(&f->pool, 3 * 7);
    for (int i = 0; i < 21; i++) zeros[i] = (uint8_t)(i % 16);
    zeros[20] = 16;
    GEMM_FAILS(f, c_.w.zeros = zeros, INVALID);
    fix_done(f);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* The workspace size is overflow-checked like every other size: M = N = 1
 * and K = 2^57 or 2^58 (valid descriptors; the query reads no data) once
 * gave about 9.8e18 bytes (beyond int64) or a wrapped small number, with
 * SUCCESS. A large K that fits
 * still gets a size that covers a panel of 16 decoded weight rows. */
START_TEST(gemm_query_workspace_overflow)
{
    qblas_handle_t h = qbt_cpu();
    pool_t pl = {0};
    void *buf = pool_alloc(&pl, 256); /* pointers only: nothing is read */
    qblas_act_t x8 = {QBLAS_DTYPE_E4M3, buf, 0, QBLAS_SCALE_PER_TENSOR, buf, NULL};
    qblas_weight_t w8 = {.format = QBLAS_WFORMAT_FP8, .dtype = QBLAS_DTYPE_E4M3, .n = 1, .data = buf,
                         .scale_mode = QBLAS_SCALE_PER_TENSOR, .scale_dtype = QBLAS_DTYPE_F32, .scales = buf};
    qblas_act_t x16 = {QBLAS_DTYPE_F16, buf, 0, QBLAS_SCALE_NONE, NULL, NULL};
    qblas_weight_t w4 = {.format = QBLAS_WFORMAT_W4A16, .dtype = QBLAS_DTYPE_U4, .n = 1, .data = buf,
                         .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = QBLAS_DTYPE_F16, .scales = buf,
                         .group_size = 0};
    const qblas_act_t *xs[2] = {&x8, &x16};
    qblas_weight_t *ws[2] = {&w8, &w4};
    for (int f = 0; f < 2; f++)
        for (int e = 40; e <= 62; e++) {
            qblas_act_t x = *xs[f];
            qblas_weight_t w = *ws[f];
            int64_t k = P2(e);
            x.ld = w.k = k;
            qblas_kernel_info_t info = {0};
            qblas_status_t st = qblas_gemm_query(h, 1, 1, k, &x, &w, QBLAS_DTYPE_F32, &info);
            if (st == QBLAS_STATUS_SUCCESS) {
                /* decoded X row and a 16-row weight panel, 4 bytes an element; byte counts are int64 */
                QBT_EXPECT(info.workspace_bytes / 4 / 17 >= (size_t)k && info.workspace_bytes <= (size_t)INT64_MAX,
                           "%s k = 2^%d: workspace %zu bytes", f ? "W4A16" : "FP8", e, info.workspace_bytes);
                continue;
            }
            QBT_EXPECT(st == INVALID && e >= 57, "%s k = 2^%d: %s (%s)", f ? "W4A16" : "FP8", e,
                       qblas_status_string(st), qblas_last_error(h));
            QBT_STATUS(qblas_gemm(h, 1, 1, k, &x, &w, NULL, QBLAS_DTYPE_F32, buf, 1, NULL, 0, NULL), INVALID);
        }
    pool_free(&pl);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* The workspace may start at any address (as attention's already could):
 * INT8 (int16 panels), FP8 and W4A16 (float panels) with a workspace 1..7
 * and 63 bytes past a 64-byte boundary give the bytes of an aligned run and
 * stay inside the workspace_bytes they were given. Before, the int16 and
 * float stores into such a workspace were misaligned (UBSan: undefined). */
START_TEST(gemm_workspace_any_alignment)
{
    qblas_handle_t h = qbt_cpu();
    QBT_OK(qblas_set_num_threads(h, 2));
    gemm_fix F, *f = &F;
    for (int fmt = 0; fmt < 3; fmt++) {
        if (fmt == 0) int8_fix(f, h, 5, 37, 70, QBLAS_DTYPE_F32);
        if (fmt == 1) fp8_fix(f, h, 5, 37, 300, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E4M3, true, QBLAS_DTYPE_F16);
        if (fmt == 2) w4a16_fix(f, h, 5, 37, 96, 32);
        gemm_call c = f->c;
        qbt_poison(c.y, f->ybytes);
        QBT_OK(run_gemm(&c));
        void *want = qbt_snapshot(c.y, f->ybytes);
        static const size_t offs[] = {1, 2, 3, 4, 5, 6, 7, 63};
        for (int i = 0; i < 8; i++) {
            uint8_t *buf = qbt_alloc(offs[i] + c.wsb); /* guard bands right after the workspace */
            c.ws = buf + offs[i];
            qbt_poison(c.y, f->ybytes);
            QBT_OK(run_gemm(&c));
            QBT_EXPECT(memcmp(c.y, want, f->ybytes) == 0, "format %d: workspace at +%zu changes Y", fmt, offs[i]);
            qbt_free(buf);
        }
        free(want);
        fix_done(f);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* =========================================================================
 * GEMM success paths
 * ========================================================================= */

/* Y[i][j] of an INT8 call in double, from the INT8 definition:
 * (sum_k (x - zx) * w) * sx * sw. */
static double int8_ref(const gemm_call *c, int64_t i, int64_t j)
{
    const int8_t *x = (const int8_t *)c->x.data + i * c->x.ld, *w = (const int8_t *)c->w.data + j * c->k;
    const float *sx = c->x.scales, *sw = c->w.scales;
    int64_t zx = c->x.zeros ? c->x.zeros[i] : 0, acc = 0;
    for (int64_t kk = 0; kk < c->k; kk++) acc += (x[kk] - zx) * w[kk];
    double s_x = c->x.scale_mode == QBLAS_SCALE_PER_ROW ? sx[i] : sx[0];
    double s_w = c->w.scale_mode == QBLAS_SCALE_PER_ROW ? sw[j] : sw[0];
    return (double)acc * s_x * s_w;
}

static void check_int8_values(const gemm_fix *f)
{
    const gemm_call *c = &f->c;
    const float *y = c->y;
    const uint32_t poison = 0xFFFFFFFFu;
    for (int64_t i = 0; i < c->m; i++) {
        for (int64_t j = 0; j < c->n; j++) {
            double ref = int8_ref(c, i, j);
            /* the int32 sum is exact and |sum| <= 132*127*33 < 2^24, so (float)sum
             * is exact; the two fp32 products by sx and sw each round with
             * relative error <= u = 2^-24: |err| <= ((1+u)^2 - 1)|ref| */
            double u = 0x1p-24, tol = (2 * u + u * u) * fabs(ref);
            double got = y[i * c->ldy + j];
            QBT_EXPECT(qbt_close(got, ref, tol), "y[%lld][%lld] = %.9g, want %.9g [seed %llu]", (long long)i,
                   (long long)j, got, ref, (unsigned long long)qbt_seed);
        }
        /* columns n..ldy-1 of Y are not the GEMM's */
        for (int64_t j = c->n; j < c->ldy; j++)
            QBT_EXPECT(memcmp(&y[i * c->ldy + j], &poison, 4) == 0, "y[%lld][%lld] (padding) written", (long long)i,
                   (long long)j);
    }
}

START_TEST(gemm_success_reports_kernel)
{
    qblas_handle_t h = qbt_cpu();
    gemm_fix F, *f = &F;
    int8_fix(f, h, 3, 7, 33, QBLAS_DTYPE_F32);
    for (int asym = 0; asym < 2; asym++) {
        if (asym) {
            int32_t *zeros = pool_alloc(&f->pool, (size_t)f->c.m * 4);
            for (int64_t i = 0; i < f->c.m; i++) zeros[i] = (int32_t)(i * 3 % 11) - 5;
            f->c.x.zeros = zeros;
        }
        /* a failure first: the success below must clear its reason */
        QBT_STATUS(qblas_set_num_threads(h, 0), INVALID);
        ck_assert(qblas_last_error(h)[0] != '\0');
        qblas_kernel_info_t info;
        QBT_OK(query_gemm(&f->c, &info));
        ck_assert_uint_le(info.workspace_bytes, f->c.wsb);
        ck_assert(info.kernel_name[0] != '\0');
        qbt_poison(f->c.y, f->ybytes);
        QBT_OK(run_gemm(&f->c));
        ck_assert_str_eq(qblas_last_error(h), "");
        check_int8_values(f);

        char name[QBLAS_KERNEL_NAME_MAX];
        QBT_OK(qblas_last_kernel(h, name, sizeof name));
        ck_assert_str_eq(name, info.kernel_name);
        /* exactly strlen + 1 bytes is enough; one less is refused, unwritten */
        size_t len = strlen(name);
        char *small = qbt_alloc(len + 1);
        QBT_OK(qblas_last_kernel(h, small, len + 1));
        ck_assert_str_eq(small, name);
        watch_t wt = {0};
        watch_add(&wt, small, len + 1, true);
        MUST_FAIL(&wt, h, qblas_last_kernel(h, small, len), INVALID);
        watch_done(&wt);
        qbt_free(small);
        /* a failing GEMM does not change the last kernel */
        gemm_call bad = f->c;
        bad.k = 0;
        QBT_STATUS(run_gemm(&bad), INVALID);
        QBT_OK(qblas_last_kernel(h, name, sizeof name));
        ck_assert_str_eq(name, info.kernel_name);
    }
    fix_done(f);

    /* FP8 reports its kernel the same way */
    fp8_fix(f, h, 3, 7, 33, QBLAS_DTYPE_E5M2, QBLAS_DTYPE_E4M3, false, QBLAS_DTYPE_F16);
    qblas_kernel_info_t info;
    char name[QBLAS_KERNEL_NAME_MAX];
    QBT_OK(query_gemm(&f->c, &info));
    QBT_OK(run_gemm(&f->c));
    QBT_OK(qblas_last_kernel(h, name, sizeof name));
    ck_assert_str_eq(name, info.kernel_name);
    fix_done(f);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* The packed weight gives bit-identical Y and stands alone (the canonical
 * buffers are wiped before it runs); bad prepack arguments write nothing. */
static void check_prepack(gemm_fix *f)
{
    gemm_call *c = &f->c;
    qblas_handle_t h = c->h;
    size_t need = 0, scratch;
    QBT_OK(qblas_prepack_size(h, &c->w, &need));
    ck_assert_uint_gt(need, 0);
    QBT_STATUS(qblas_prepack_size(h, &c->w, NULL), INVALID);
    QBT_STATUS(qblas_prepack_size(NULL, &c->w, &scratch), INVALID);
    QBT_STATUS(qblas_prepack_size(h, NULL, &scratch), INVALID);

    uint8_t *dst = qbt_alloc(need);
    qblas_weight_t *packed = qbt_alloc(sizeof *packed);
    watch_t wt = {0};
    watch_add(&wt, dst, need, true);
    watch_add(&wt, packed, sizeof *packed, true);
    qblas_weight_t bad = c->w;
    MUST_FAIL(&wt, h, qblas_prepack(h, &c->w, dst, need - 1, packed, NULL), INVALID);
    MUST_FAIL(&wt, h, qblas_prepack(h, &c->w, dst, 0, packed, NULL), INVALID);
    MUST_FAIL(&wt, h, qblas_prepack(h, &c->w, NULL, need, packed, NULL), INVALID);
    MUST_FAIL(&wt, h, qblas_prepack(h, &c->w, dst, need, NULL, NULL), INVALID);
    MUST_FAIL(&wt, NULL, qblas_prepack(NULL, &c->w, dst, need, packed, NULL), INVALID);
    MUST_FAIL(&wt, h, qblas_prepack(h, NULL, dst, need, packed, NULL), INVALID);
    bad.data = NULL;
    MUST_FAIL(&wt, h, qblas_prepack(h, &bad, dst, need, packed, NULL), INVALID);
    bad = c->w;
    bad.layout = QBLAS_LAYOUT_CPU_BLOB; /* prepack takes CANONICAL weights */
    MUST_FAIL(&wt, h, qblas_prepack(h, &bad, dst, need, packed, NULL), INVALID);
    bad = c->w;
    bad.scale_dtype = QBLAS_DTYPE_F16;
    MUST_FAIL(&wt, h, qblas_prepack(h, &bad, dst, need, packed, NULL), INVALID);
    watch_done(&wt);

    /* canonical result */
    qbt_poison(c->y, f->ybytes);
    QBT_OK(run_gemm(c));
    void *want = qbt_snapshot(c->y, f->ybytes);

    QBT_OK(qblas_prepack(h, &c->w, dst, need, packed, NULL));
    ck_assert_int_ne(packed->layout, QBLAS_LAYOUT_CANONICAL);
    ck_assert(packed->format == c->w.format && packed->dtype == c->w.dtype);
    ck_assert(packed->n == c->w.n && packed->k == c->w.k);

    /* wipe the canonical weight buffers while the packed one runs */
    qblas_weight_sizes_t sz;
    QBT_OK(qblas_weight_sizes(&c->w, &sz));
    void *keep_data = qbt_snapshot(c->w.data, sz.data), *keep_scales = qbt_snapshot(c->w.scales, sz.scales);
    qbt_poison((void *)c->w.data, sz.data);
    qbt_poison((void *)c->w.scales, sz.scales);

    gemm_call pc = *c;
    pc.w = *packed;
    qblas_kernel_info_t info;
    QBT_OK(query_gemm(&pc, &info));
    ck_assert_uint_le(info.workspace_bytes, c->wsb);
    qbt_poison(c->y, f->ybytes);
    QBT_OK(run_gemm(&pc));
    QBT_EXPECT(qbt_unchanged(c->y, want, f->ybytes), "GEMM on the prepacked %s weight differs from the canonical one",
           qblas_dtype_name(c->w.dtype));

    memcpy((void *)c->w.data, keep_data, sz.data);
    memcpy((void *)c->w.scales, keep_scales, sz.scales);
    free(keep_data);
    free(keep_scales);
    free(want);
    qbt_free(packed);
    qbt_free(dst);
}

START_TEST(prepack_bit_identical)
{
    qblas_handle_t h = qbt_cpu();
    gemm_fix F, *f = &F;
    int8_fix(f, h, 5, 33, 67, QBLAS_DTYPE_F32);
    check_prepack(f);
    fix_done(f);
    int8_fix(f, h, 1, 7, 33, QBLAS_DTYPE_BF16);
    f->c.w.scale_mode = QBLAS_SCALE_PER_TENSOR;
    check_prepack(f);
    fix_done(f);
    fp8_fix(f, h, 5, 130, 300, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E4M3, true, QBLAS_DTYPE_F32);
    check_prepack(f);
    fix_done(f);
    fp8_fix(f, h, 17, 7, 33, QBLAS_DTYPE_E5M2, QBLAS_DTYPE_E4M3FNUZ, false, QBLAS_DTYPE_F16);
    check_prepack(f);
    fix_done(f);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Results must not depend on the thread count: 1, 2 and 3 threads give the
 * same bytes (the workspace is sized by the query for each count). */
static void check_threads(gemm_fix *f)
{
    gemm_call c = f->c;
    void *first = NULL;
    for (int nt = 1; nt <= 3; nt++) {
        QBT_OK(qblas_set_num_threads(c.h, nt));
        qblas_kernel_info_t info;
        QBT_OK(query_gemm(&c, &info));
        c.ws = qbt_alloc(info.workspace_bytes);
        c.wsb = info.workspace_bytes;
        qbt_poison(c.y, f->ybytes);
        QBT_OK(run_gemm(&c));
        if (!first)
            first = qbt_snapshot(c.y, f->ybytes);
        else
            QBT_EXPECT(qbt_unchanged(c.y, first, f->ybytes), "%d threads differ from 1 (%s weights)", nt,
                   qblas_dtype_name(c.w.dtype));
        qbt_free(c.ws);
    }
    free(first);
}

START_TEST(threads_bit_identical)
{
    qblas_handle_t h = qbt_cpu();
    gemm_fix F, *f = &F;
    qbt_rng r = qbt_rng_make(77);
    /* M = 130 spans two activation chunks, N = 37 three weight panels */
    int8_fix(f, h, 130, 37, 300, QBLAS_DTYPE_F32);
    float *bias = pool_alloc(&f->pool, 37 * 4);
    qbt_fill(&r, QBLAS_DTYPE_F32, bias, 37, -1.0, 1.0);
    f->c.bias = bias;
    check_threads(f);
    fix_done(f);

    fp8_fix(f, h, 130, 37, 300, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E4M3, false, QBLAS_DTYPE_F16);
    uint16_t *bias16 = pool_alloc(&f->pool, 37 * 2);
    qbt_fill(&r, QBLAS_DTYPE_F16, bias16, 37, -1.0, 1.0);
    f->c.bias = bias16;
    check_threads(f);
    fix_done(f);

    fp8_fix(f, h, 130, 37, 300, QBLAS_DTYPE_E5M2, QBLAS_DTYPE_E4M3, true, QBLAS_DTYPE_F32);
    check_threads(f);
    fix_done(f);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* =========================================================================
 * Activation quantization
 * ========================================================================= */

typedef struct {
    qblas_handle_t h;
    int64_t m, k;
    qblas_dtype_t xt;
    const void *x;
    int64_t ldx;
    qblas_dtype_t qt;
    void *q;
    int64_t ldq;
    qblas_scale_mode_t mode;
    float *scales;
    int32_t *zeros;
} qact_call;

static qblas_status_t run_qact(const qact_call *c)
{
    return qblas_quantize_act(c->h, c->m, c->k, c->xt, c->x, c->ldx, c->qt, c->q, c->ldq, c->mode, c->scales,
                              c->zeros, NULL);
}

#define QACT_FAILS(base, wt, edit, want)                 \
    do {                                                 \
        qact_call c_ = (base);                           \
        edit;                                            \
        MUST_FAIL(wt, c_.h, run_qact(&c_), want);        \
    } while (0)

START_TEST(quantize_act_bad_args)
{
    qblas_handle_t h = qbt_cpu();
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(31);
    const int64_t m = 3, k = 33, ldx = 34;
    uint16_t *x = pool_alloc(&pl, (size_t)(m * ldx) * 2);
    qbt_fill(&r, QBLAS_DTYPE_F16, x, m * ldx, -2.0, 2.0);
    uint8_t *q = pool_alloc(&pl, (size_t)(m * k));
    float *scales = pool_alloc(&pl, (size_t)m * 4);
    int32_t *zeros = pool_alloc(&pl, (size_t)m * 4);
    float *sstatic = pool_alloc(&pl, 4);
    watch_t wt = {0};
    watch_add(&wt, q, (size_t)(m * k), true);
    watch_add(&wt, scales, (size_t)m * 4, true);
    watch_add(&wt, zeros, (size_t)m * 4, true);

    /* valid bases: asymmetric int8 per token, fp8 per token */
    const qact_call i8 = {h, m, k, QBLAS_DTYPE_F16, x, ldx, QBLAS_DTYPE_I8, q, k, QBLAS_SCALE_PER_ROW, scales, zeros};
    qact_call fp8 = i8;
    fp8.qt = QBLAS_DTYPE_E4M3;
    fp8.zeros = NULL;
    QBT_OK(run_qact(&i8));
    QBT_OK(run_qact(&fp8));

    QACT_FAILS(i8, &wt, c_.h = NULL, INVALID);
    QACT_FAILS(i8, &wt, c_.x = NULL, INVALID);
    QACT_FAILS(i8, &wt, c_.q = NULL, INVALID);
    QACT_FAILS(i8, &wt, c_.scales = NULL, INVALID);
    QACT_FAILS(i8, &wt, c_.m = 0, INVALID);
    QACT_FAILS(i8, &wt, c_.m = -1, INVALID);
    QACT_FAILS(i8, &wt, c_.k = 0, INVALID);
    QACT_FAILS(i8, &wt, c_.k = -5, INVALID);
    QACT_FAILS(i8, &wt, c_.xt = QBLAS_DTYPE_I8, INVALID);
    QACT_FAILS(i8, &wt, c_.xt = (qblas_dtype_t)99, INVALID);
    QACT_FAILS(i8, &wt, c_.qt = QBLAS_DTYPE_F16, INVALID);
    QACT_FAILS(i8, &wt, c_.qt = QBLAS_DTYPE_U8, INVALID);
    QACT_FAILS(i8, &wt, c_.qt = (qblas_dtype_t)99, INVALID);
    QACT_FAILS(i8, &wt, c_.mode = (qblas_scale_mode_t)99, INVALID);
    QACT_FAILS(i8, &wt, c_.mode = QBLAS_SCALE_NONE, INVALID);
    QACT_FAILS(i8, &wt, c_.mode = QBLAS_SCALE_PER_GROUP, INVALID);
    QACT_FAILS(fp8, &wt, c_.mode = QBLAS_SCALE_BLOCK_128X128, INVALID);
    QACT_FAILS(i8, &wt, (c_.mode = QBLAS_SCALE_BLOCK_1X128, c_.zeros = NULL), INVALID); /* blocks are fp8 only */
    QACT_FAILS(i8, &wt, c_.mode = QBLAS_SCALE_PER_TENSOR, INVALID);                      /* zeros need per-token */
    QACT_FAILS(fp8, &wt, c_.zeros = zeros, INVALID);                                     /* zeros are int8 only */
    QACT_FAILS(i8, &wt, c_.ldx = k - 1, INVALID);
    QACT_FAILS(i8, &wt, c_.ldq = k - 1, INVALID);
    QACT_FAILS(i8, &wt, (c_.m = P2(40), c_.ldx = P2(30)), INVALID);
    QACT_FAILS(i8, &wt, (c_.m = P2(40), c_.ldq = P2(30)), INVALID);
    QACT_FAILS(i8, &wt, c_.ldx = INT64_MAX, INVALID);
    QACT_FAILS(i8, &wt, c_.m = INT64_MAX, INVALID);
    QACT_FAILS(i8, &wt, (c_.m = 1, c_.k = c_.ldx = c_.ldq = INT64_MAX), INVALID); /* f16 row bytes overflow */
    QACT_FAILS(i8, &wt, c_.x = skew(x, 1), INVALID); /* f16 input at an odd address */
    QACT_FAILS(i8, &wt, c_.scales = skew(scales, 2), INVALID);
    QACT_FAILS(i8, &wt, c_.zeros = skew(zeros, 2), INVALID);
    QACT_FAILS(fp8, &wt, (c_.xt = QBLAS_DTYPE_F32, c_.x = skew(x, 2)), INVALID);

    /* static per-tensor scale: read from scales[0]; it divides, so it must be
     * finite and > 0 (checked before anything is written) */
    qact_call st = fp8;
    st.mode = QBLAS_SCALE_PER_TENSOR;
    st.scales = sstatic;
    sstatic[0] = 0.05f;
    QBT_OK(run_qact(&st));
    const float bad_scales[] = {0.0f, -0.05f, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        sstatic[0] = bad_scales[i];
        QACT_FAILS(st, &wt, (void)0, INVALID);
        QACT_FAILS(st, &wt, (c_.qt = QBLAS_DTYPE_I8), INVALID);
    }
    watch_done(&wt);
    pool_free(&pl);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* The per-thread row buffers of activation quantization are sized with
 * overflow checks too: k = 2^61 f16 values (a span the argument checks
 * accept; nothing is read) need 2^63 bytes of f32 rows, beyond int64. */
START_TEST(quantize_act_buffer_overflow)
{
    qblas_handle_t h = qbt_cpu();
    pool_t pl = {0};
    void *buf = pool_alloc(&pl, 64); /* pointers only */
    float *scales = pool_alloc(&pl, 8);
    watch_t wt = {0};
    watch_add(&wt, scales, 8, true);
    const int64_t k = P2(61);
    MUST_FAIL(&wt, h,
              qblas_quantize_act(h, 1, k, QBLAS_DTYPE_F16, buf, k, QBLAS_DTYPE_I8, buf, k, QBLAS_SCALE_PER_ROW,
                                 scales, NULL, NULL),
              INVALID);
    watch_done(&wt);
    pool_free(&pl);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* =========================================================================
 * Attention and KV append
 * ========================================================================= */

typedef struct {
    qblas_handle_t h;
    qblas_kv_cache_t kv;
    qblas_attention_params_t p;
    bool no_kv, no_p;
    void *ws;
    size_t wsb;
} attn_call;

static qblas_status_t run_attn(const attn_call *c)
{
    return qblas_attention(c->h, c->no_kv ? NULL : &c->kv, c->no_p ? NULL : &c->p, c->ws, c->wsb, NULL);
}

#define ATTN_FAILS(base, wt, edit, want)              \
    do {                                              \
        attn_call c_ = (base);                        \
        edit;                                         \
        MUST_FAIL(wt, c_.h, run_attn(&c_), want);     \
    } while (0)

START_TEST(attention_bad_args)
{
    qblas_handle_t h = qbt_cpu();
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(41);
    /* f16 cache: 5 pages of 16 tokens, 2 kv heads of 64; 4 query heads; room for 8 query tokens */
    const int32_t pages = 5, psz = 16, hkv = 2, hd = 64, hq = 4, tmax = 8;
    const int64_t cache_elems = (int64_t)pages * psz * hkv * hd, q_elems = (int64_t)tmax * hq * hd;
    void *kc = pool_alloc(&pl, (size_t)cache_elems * 2), *vc = pool_alloc(&pl, (size_t)cache_elems * 2);
    qbt_fill(&r, QBLAS_DTYPE_F16, kc, cache_elems, -1.0, 1.0);
    qbt_fill(&r, QBLAS_DTYPE_F16, vc, cache_elems, -1.0, 1.0);
    void *q = pool_alloc(&pl, (size_t)q_elems * 2), *o = pool_alloc(&pl, (size_t)q_elems * 2);
    qbt_fill(&r, QBLAS_DTYPE_F16, q, q_elems, -1.0, 1.0);
    float *lse = pool_alloc(&pl, (size_t)tmax * hq * 4);
    float *scales = pool_alloc(&pl, (size_t)pages * psz * hkv * 4);
    int32_t *seq_lens = pool_alloc(&pl, 2 * 4), *bt = pool_alloc(&pl, 4 * 4), *indptr = pool_alloc(&pl, 3 * 4);
    seq_lens[0] = 5, seq_lens[1] = 20;
    bt[0] = 0, bt[1] = 1, bt[2] = 2, bt[3] = 3;
    indptr[0] = 0, indptr[1] = 2, indptr[2] = 5; /* prefill: 2 and 3 query tokens */
    watch_t wt = {0};
    watch_add(&wt, o, (size_t)q_elems * 2, true);
    watch_add(&wt, lse, (size_t)tmax * hq * 4, true);

    attn_call dec = {.h = h};
    dec.kv = (qblas_kv_cache_t){.dtype = QBLAS_DTYPE_F16, .num_pages = pages, .page_size = psz, .num_kv_heads = hkv,
                                .head_dim = hd, .k = kc, .v = vc, .scale_mode = QBLAS_SCALE_NONE};
    dec.p = (qblas_attention_params_t){.num_seqs = 2, .num_q_tokens = 2, .num_q_heads = hq,
                                       .q_dtype = QBLAS_DTYPE_F16, .q = q, .o = o, .lse = lse,
                                       .seq_lens = seq_lens, .block_tables = bt, .block_table_stride = 2,
                                       .max_seq_len = 32, .sm_scale = 0.125f, .logit_softcap = 0.0f,
                                       .window_left = -1, .causal = 0};
    attn_call pre = dec;
    pre.p.qo_indptr = indptr;
    pre.p.num_q_tokens = 5;
    pre.p.causal = 1;
    /* workspace: the larger of the two queries (1 MiB if the query fails) */
    qblas_kernel_info_t i1, i2;
    size_t need = (size_t)1 << 20;
    if (qblas_attention_query(h, &dec.kv, &dec.p, &i1) == QBLAS_STATUS_SUCCESS &&
        qblas_attention_query(h, &pre.kv, &pre.p, &i2) == QBLAS_STATUS_SUCCESS)
        need = i1.workspace_bytes > i2.workspace_bytes ? i1.workspace_bytes : i2.workspace_bytes;
    dec.ws = pre.ws = pool_alloc(&pl, need);
    dec.wsb = pre.wsb = need;
    QBT_OK(run_attn(&dec));
    QBT_OK(run_attn(&pre));

    /* nulls */
    ATTN_FAILS(dec, &wt, c_.h = NULL, INVALID);
    ATTN_FAILS(dec, &wt, c_.no_kv = true, INVALID);
    ATTN_FAILS(dec, &wt, c_.no_p = true, INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.k = NULL, INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.v = NULL, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.q = NULL, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.o = NULL, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.seq_lens = NULL, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.block_tables = NULL, INVALID);

    /* kv descriptor */
    ATTN_FAILS(dec, &wt, c_.kv.head_dim = 96, INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.head_dim = 0, INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.head_dim = 512, INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.num_pages = 0, INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.page_size = 0, INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.num_kv_heads = 0, INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.dtype = QBLAS_DTYPE_F32, INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.dtype = (qblas_dtype_t)99, INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.scale_mode = QBLAS_SCALE_PER_TENSOR, INVALID);  /* f16 takes no scales */
    ATTN_FAILS(dec, &wt, (c_.kv.k_scale = c_.kv.v_scale = scales), INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.dtype = QBLAS_DTYPE_I8, INVALID);               /* i8 needs per-token-head scales */
    ATTN_FAILS(dec, &wt, (c_.kv.dtype = QBLAS_DTYPE_E4M3, c_.kv.scale_mode = QBLAS_SCALE_PER_TOKEN_HEAD,
                          c_.kv.k_scale = c_.kv.v_scale = scales), INVALID);
    ATTN_FAILS(dec, &wt, (c_.kv.dtype = QBLAS_DTYPE_U4, c_.kv.scale_mode = QBLAS_SCALE_PER_TOKEN_HEAD,
                          c_.kv.k_scale = c_.kv.v_scale = scales), INVALID); /* u4 needs zeros */
    ATTN_FAILS(dec, &wt, (c_.kv.dtype = QBLAS_DTYPE_I8, c_.kv.scale_mode = QBLAS_SCALE_PER_TOKEN_HEAD,
                          c_.kv.k_scale = c_.kv.v_scale = scales, c_.kv.k_zero = c_.kv.v_zero = scales), INVALID);
    ATTN_FAILS(dec, &wt, c_.kv.k = skew(kc, 1), INVALID);
    ATTN_FAILS(dec, &wt, (c_.kv.num_pages = c_.kv.page_size = c_.kv.num_kv_heads = INT32_MAX,
                          c_.kv.head_dim = 256), INVALID); /* cache bytes overflow */

    /* params */
    ATTN_FAILS(dec, &wt, c_.p.num_q_heads = 3, INVALID); /* not a multiple of 2 kv heads */
    ATTN_FAILS(dec, &wt, c_.p.num_q_heads = 0, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.num_seqs = 0, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.num_q_tokens = 3, INVALID); /* decode: one query per sequence */
    ATTN_FAILS(dec, &wt, c_.p.q_dtype = QBLAS_DTYPE_F32, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.block_table_stride = 0, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.max_seq_len = 33, INVALID); /* beyond stride 2 * page 16 */
    ATTN_FAILS(dec, &wt, c_.p.max_seq_len = -1, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.sm_scale = NAN, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.sm_scale = INFINITY, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.logit_softcap = -1.0f, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.logit_softcap = NAN, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.logit_softcap = INFINITY, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.window_left = -2, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.window_left = INT32_MIN, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.causal = 2, INVALID);
    ATTN_FAILS(dec, &wt, c_.p.q = skew(q, 1), INVALID);
    ATTN_FAILS(dec, &wt, c_.p.o = skew(o, 1), INVALID);
    ATTN_FAILS(dec, &wt, c_.p.lse = skew(lse, 2), INVALID);
    ATTN_FAILS(dec, &wt, c_.p.seq_lens = skew(seq_lens, 2), INVALID);
    ATTN_FAILS(dec, &wt, c_.p.block_tables = skew(bt, 2), INVALID);
    ATTN_FAILS(pre, &wt, c_.p.qo_indptr = skew(indptr, 2), INVALID);
    ATTN_FAILS(dec, &wt, (c_.p.num_seqs = c_.p.num_q_tokens = INT32_MAX, c_.p.num_q_heads = INT32_MAX - 1,
                          c_.kv.num_kv_heads = 1), INVALID); /* query bytes overflow; never read */

    /* contents (host-readable on the CPU): lengths and page indices in range */
    seq_lens[1] = 33; /* > max_seq_len */
    ATTN_FAILS(dec, &wt, (void)0, INVALID);
    seq_lens[1] = -1;
    ATTN_FAILS(dec, &wt, (void)0, INVALID);
    seq_lens[1] = 20;
    bt[3] = pages; /* second page of sequence 1: one past the last page */
    ATTN_FAILS(dec, &wt, (void)0, INVALID);
    bt[3] = -1;
    ATTN_FAILS(dec, &wt, (void)0, INVALID);
    bt[3] = 3;
    indptr[1] = 6; /* 6 queries for a 5-token sequence */
    ATTN_FAILS(pre, &wt, (void)0, INVALID);
    indptr[1] = 6, indptr[2] = 5; /* decreasing */
    ATTN_FAILS(pre, &wt, c_.p.num_q_tokens = 5, INVALID);
    indptr[1] = 2;
    ATTN_FAILS(pre, &wt, c_.p.num_q_tokens = 4, INVALID); /* qo_indptr[2] = 5 != 4 tokens */
    indptr[0] = 1;
    ATTN_FAILS(pre, &wt, (void)0, INVALID);
    indptr[0] = 0;
    QBT_OK(run_attn(&pre)); /* everything restored */

    /* workspace below what the query says, or missing */
    qblas_kernel_info_t info;
    QBT_OK(qblas_attention_query(h, &pre.kv, &pre.p, &info));
    if (info.workspace_bytes > 0) {
        ATTN_FAILS(pre, &wt, c_.wsb = info.workspace_bytes - 1, QBLAS_STATUS_INSUFFICIENT_WORKSPACE);
        ATTN_FAILS(pre, &wt, c_.ws = NULL, INVALID);
    }
    QBT_STATUS(qblas_attention_query(h, &dec.kv, &dec.p, NULL), INVALID);
    QBT_STATUS(qblas_attention_query(NULL, &dec.kv, &dec.p, &info), INVALID);
    attn_call bad = dec;
    bad.kv.head_dim = 96;
    QBT_STATUS(qblas_attention_query(h, &bad.kv, &bad.p, &info), INVALID);

    watch_done(&wt);
    pool_free(&pl);
    QBT_OK(qblas_destroy(h));
}
END_TEST

typedef struct {
    qblas_handle_t h;
    qblas_kv_cache_t kv;
    bool no_kv;
    int64_t nt;
    qblas_dtype_t st;
    const void *kn, *vn;
    const int64_t *slots;
} append_call;

static qblas_status_t run_append(const append_call *c)
{
    return qblas_kv_append(c->h, c->no_kv ? NULL : &c->kv, c->nt, c->st, c->kn, c->vn, c->slots, NULL);
}

#define APPEND_FAILS(base, wt, edit, want)             \
    do {                                               \
        append_call c_ = (base);                       \
        edit;                                          \
        MUST_FAIL(wt, c_.h, run_append(&c_), want);    \
    } while (0)

START_TEST(kv_append_bad_args)
{
    qblas_handle_t h = qbt_cpu();
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(51);
    /* int8 cache (it writes per-token-head scales): 3 pages of 16, 2 heads of 64 */
    const int32_t pages = 3, psz = 16, hkv = 2, hd = 64;
    const size_t cache_bytes = (size_t)pages * psz * hkv * hd, scale_bytes = (size_t)pages * psz * hkv * 4;
    void *kc = pool_alloc(&pl, cache_bytes), *vc = pool_alloc(&pl, cache_bytes);
    float *ks = pool_alloc(&pl, scale_bytes), *vs = pool_alloc(&pl, scale_bytes);
    const int64_t nt = 3, new_elems = nt * hkv * hd;
    void *kn = pool_alloc(&pl, (size_t)new_elems * 2), *vn = pool_alloc(&pl, (size_t)new_elems * 2);
    qbt_fill(&r, QBLAS_DTYPE_F16, kn, new_elems, -2.0, 2.0);
    qbt_fill(&r, QBLAS_DTYPE_F16, vn, new_elems, -2.0, 2.0);
    int64_t *slots = pool_alloc(&pl, 3 * 8);
    slots[0] = 0, slots[1] = 17, slots[2] = -1; /* page 0 slot 0, page 1 slot 1, skipped */
    watch_t wt = {0};
    watch_add(&wt, kc, cache_bytes, true);
    watch_add(&wt, vc, cache_bytes, true);
    watch_add(&wt, ks, scale_bytes, true);
    watch_add(&wt, vs, scale_bytes, true);

    append_call a = {.h = h, .nt = nt, .st = QBLAS_DTYPE_F16, .kn = kn, .vn = vn, .slots = slots};
    a.kv = (qblas_kv_cache_t){.dtype = QBLAS_DTYPE_I8, .num_pages = pages, .page_size = psz, .num_kv_heads = hkv,
                              .head_dim = hd, .k = kc, .v = vc, .scale_mode = QBLAS_SCALE_PER_TOKEN_HEAD,
                              .k_scale = ks, .v_scale = vs};
    QBT_OK(run_append(&a));

    APPEND_FAILS(a, &wt, c_.h = NULL, INVALID);
    APPEND_FAILS(a, &wt, c_.no_kv = true, INVALID);
    APPEND_FAILS(a, &wt, c_.kn = NULL, INVALID);
    APPEND_FAILS(a, &wt, c_.vn = NULL, INVALID);
    APPEND_FAILS(a, &wt, c_.slots = NULL, INVALID);
    APPEND_FAILS(a, &wt, c_.nt = 0, INVALID);
    APPEND_FAILS(a, &wt, c_.nt = -1, INVALID);
    APPEND_FAILS(a, &wt, c_.nt = P2(61), INVALID); /* source bytes overflow */
    APPEND_FAILS(a, &wt, c_.nt = INT64_MAX, INVALID);
    APPEND_FAILS(a, &wt, c_.st = QBLAS_DTYPE_I8, INVALID);
    APPEND_FAILS(a, &wt, c_.st = QBLAS_DTYPE_E4M3, INVALID);
    APPEND_FAILS(a, &wt, c_.st = (qblas_dtype_t)99, INVALID);
    APPEND_FAILS(a, &wt, c_.kn = skew(kn, 1), INVALID);
    APPEND_FAILS(a, &wt, (c_.st = QBLAS_DTYPE_F32, c_.vn = skew(vn, 2)), INVALID);
    APPEND_FAILS(a, &wt, c_.slots = (const int64_t *)skew(slots, 4), INVALID);
    APPEND_FAILS(a, &wt, c_.kv.head_dim = 96, INVALID);
    APPEND_FAILS(a, &wt, c_.kv.k_scale = NULL, INVALID);
    APPEND_FAILS(a, &wt, c_.kv.scale_mode = QBLAS_SCALE_PER_HEAD, INVALID);
    APPEND_FAILS(a, &wt, c_.kv.dtype = QBLAS_DTYPE_U4, INVALID); /* u4 without zeros */
    APPEND_FAILS(a, &wt, c_.kv.k_scale = (float *)skew(ks, 2), INVALID);
    /* a slot beyond the cache: nothing written, not even the earlier tokens */
    slots[1] = (int64_t)pages * psz;
    APPEND_FAILS(a, &wt, (void)0, INVALID);
    slots[1] = INT64_MAX;
    APPEND_FAILS(a, &wt, (void)0, INVALID);
    slots[1] = 17;
    QBT_OK(run_append(&a));

    watch_done(&wt);
    pool_free(&pl);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* An out-of-range KV dtype is named as such, not as a size overflow: enums
 * are checked before the sizes computed from them. */
START_TEST(kv_dtype_checked_before_sizes)
{
    qblas_handle_t h = qbt_cpu();
    pool_t pl = {0};
    const int32_t pages = 2, psz = 16, hkv = 1, hd = 64, hq = 2;
    const size_t cache_bytes = (size_t)pages * psz * hkv * hd * 2;
    void *kc = pool_alloc(&pl, cache_bytes), *vc = pool_alloc(&pl, cache_bytes);
    void *q = pool_alloc(&pl, (size_t)hq * hd * 2), *o = pool_alloc(&pl, (size_t)hq * hd * 2);
    int32_t *lens = pool_alloc(&pl, 4), *bt = pool_alloc(&pl, 8);
    int64_t *slots = pool_alloc(&pl, 8);
    lens[0] = 3, bt[0] = 0, bt[1] = 1, slots[0] = 0;
    void *ws = pool_alloc(&pl, (size_t)1 << 16);
    qblas_kv_cache_t kv = {.dtype = QBLAS_DTYPE_F16, .num_pages = pages, .page_size = psz, .num_kv_heads = hkv,
                           .head_dim = hd, .k = kc, .v = vc, .scale_mode = QBLAS_SCALE_NONE};
    qblas_attention_params_t p = {.num_seqs = 1, .num_q_tokens = 1, .num_q_heads = hq, .q_dtype = QBLAS_DTYPE_F16,
                                  .q = q, .o = o, .seq_lens = lens, .block_tables = bt, .block_table_stride = 2,
                                  .max_seq_len = 32, .sm_scale = 0.125f, .window_left = -1};
    qblas_kernel_info_t info;
    QBT_OK(qblas_attention_query(h, &kv, &p, &info));
    const int bad[] = {99, -1, INT_MAX, INT_MIN};
    for (int i = 0; i < 4; i++) {
        kv.dtype = (qblas_dtype_t)bad[i];
        QBT_STATUS(qblas_attention_query(h, &kv, &p, &info), INVALID);
        QBT_EXPECT(strstr(qblas_last_error(h), "dtype") && !strstr(qblas_last_error(h), "overflow"),
                   "kv dtype %d: '%s'", bad[i], qblas_last_error(h));
        QBT_STATUS(qblas_attention(h, &kv, &p, ws, (size_t)1 << 16, NULL), INVALID);
        QBT_EXPECT(strstr(qblas_last_error(h), "dtype") && !strstr(qblas_last_error(h), "overflow"),
                   "kv dtype %d: '%s'", bad[i], qblas_last_error(h));
        QBT_STATUS(qblas_kv_append(h, &kv, 1, QBLAS_DTYPE_F16, q, q, slots, NULL), INVALID);
        QBT_EXPECT(strstr(qblas_last_error(h), "dtype") && !strstr(qblas_last_error(h), "overflow"),
                   "kv dtype %d: '%s'", bad[i], qblas_last_error(h));
    }
    pool_free(&pl);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* =========================================================================
 * Host weight tools
 * ========================================================================= */

static const qblas_weight_t W_INT8 = {.format = QBLAS_WFORMAT_INT8, .dtype = QBLAS_DTYPE_I8, .n = 7, .k = 33,
                                      .scale_mode = QBLAS_SCALE_PER_ROW, .scale_dtype = QBLAS_DTYPE_F32};
static const qblas_weight_t W_W4A16 = {.format = QBLAS_WFORMAT_W4A16, .dtype = QBLAS_DTYPE_U4, .n = 7, .k = 64,
                                       .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = QBLAS_DTYPE_F16,
                                       .group_size = 32};
static const qblas_weight_t W_FP8B = {.format = QBLAS_WFORMAT_FP8, .dtype = QBLAS_DTYPE_E4M3, .n = 130, .k = 300,
                                      .scale_mode = QBLAS_SCALE_BLOCK_128X128, .scale_dtype = QBLAS_DTYPE_F32};
static const qblas_weight_t W_W4A8 = {.format = QBLAS_WFORMAT_W4A8, .dtype = QBLAS_DTYPE_U4, .n = 8, .k = 256,
                                      .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = QBLAS_DTYPE_F16,
                                      .group_size = 128};
static const qblas_weight_t W_SP16 = {.format = QBLAS_WFORMAT_SPARSE24, .dtype = QBLAS_DTYPE_F16, .n = 8, .k = 16,
                                      .scale_mode = QBLAS_SCALE_NONE};

#define SIZES_FAIL(base, edit, want)                                           \
    do {                                                                       \
        qblas_weight_t w_ = (base);                                            \
        edit;                                                                  \
        MUST_FAIL(&wt, NULL, qblas_weight_sizes(&w_, sz), want);               \
    } while (0)

START_TEST(weight_sizes_checks)
{
    qblas_weight_sizes_t *sz = qbt_alloc(sizeof *sz);
    watch_t wt = {0};
    watch_add(&wt, sz, sizeof *sz, true);
    const void *any = &wt; /* a non-NULL pointer for fields that must be NULL */

    /* sizes of the canonical buffers */
    QBT_OK(qblas_weight_sizes(&W_INT8, sz));
    ck_assert_uint_eq(sz->data, 7 * 33);
    ck_assert_uint_eq(sz->scales, 7 * 4);
    ck_assert(sz->meta == 0 && sz->zeros == 0 && sz->group_scales == 0 && sz->g_idx == 0);
    QBT_OK(qblas_weight_sizes(&W_FP8B, sz));
    ck_assert_uint_eq(sz->data, 130 * 300);
    ck_assert_uint_eq(sz->scales, 2 * 3 * 4); /* [ceil(130/128)][ceil(300/128)] */
    ck_assert(sz->meta == 0 && sz->zeros == 0 && sz->group_scales == 0);
    QBT_OK(qblas_weight_sizes(&W_W4A16, sz));
    ck_assert_uint_eq(sz->data, 7 * 32);
    ck_assert_uint_eq(sz->scales, 2 * 7 * 2);
    ck_assert_uint_eq(sz->zeros, 2 * 7);
    ck_assert(sz->meta == 0 && sz->group_scales == 0);
    qblas_weight_t odd = W_W4A16;
    odd.k = 65, odd.group_size = 0;
    QBT_OK(qblas_weight_sizes(&odd, sz));
    ck_assert_uint_eq(sz->data, 7 * 33); /* ceil(65/2) bytes per row */
    ck_assert_uint_eq(sz->scales, 7 * 2);
    QBT_OK(qblas_weight_sizes(&W_W4A8, sz));
    ck_assert_uint_eq(sz->data, 8 * 128);
    ck_assert_uint_eq(sz->scales, 8 * 2);
    ck_assert_uint_eq(sz->zeros, 2 * 8);
    ck_assert_uint_eq(sz->group_scales, 2 * 8);
    QBT_OK(qblas_weight_sizes(&W_SP16, sz));
    ck_assert_uint_eq(sz->data, 8 * 8 * 2);
    ck_assert_uint_eq(sz->meta, 8 * 2);
    ck_assert_uint_eq(sz->scales, 0);

    MUST_FAIL(&wt, NULL, qblas_weight_sizes(NULL, sz), INVALID);
    MUST_FAIL(&wt, NULL, qblas_weight_sizes(&W_INT8, NULL), INVALID);
    SIZES_FAIL(W_INT8, w_.n = 0, INVALID);
    SIZES_FAIL(W_INT8, w_.k = -1, INVALID);
    SIZES_FAIL(W_INT8, w_.format = QBLAS_WFORMAT_INVALID, INVALID);
    SIZES_FAIL(W_INT8, w_.format = (qblas_wformat_t)99, INVALID);
    SIZES_FAIL(W_INT8, w_.dtype = (qblas_dtype_t)99, INVALID);
    SIZES_FAIL(W_INT8, w_.dtype = QBLAS_DTYPE_U4, INVALID);
    SIZES_FAIL(W_INT8, w_.scale_dtype = QBLAS_DTYPE_F16, INVALID);
    SIZES_FAIL(W_INT8, w_.scale_mode = QBLAS_SCALE_PER_GROUP, INVALID);
    SIZES_FAIL(W_INT8, w_.scale_mode = QBLAS_SCALE_BLOCK_128X128, INVALID);
    SIZES_FAIL(W_INT8, w_.zeros = any, INVALID);
    SIZES_FAIL(W_INT8, w_.k = 65537, QBLAS_STATUS_NOT_SUPPORTED);
    SIZES_FAIL(W_W4A16, w_.group_size = 48, INVALID);
    SIZES_FAIL(W_W4A16, w_.group_size = 256, INVALID);
    SIZES_FAIL(W_W4A16, w_.group_size = -32, INVALID);
    SIZES_FAIL(W_W4A16, w_.group_size = 128, INVALID); /* does not divide k = 64 */
    SIZES_FAIL(W_W4A16, (w_.group_size = 0, w_.g_idx = any), INVALID);
    SIZES_FAIL(W_W4A16, w_.scale_mode = QBLAS_SCALE_PER_ROW, INVALID);
    SIZES_FAIL(W_W4A16, w_.scale_dtype = QBLAS_DTYPE_I8, INVALID);
    SIZES_FAIL(W_W4A16, w_.dtype = QBLAS_DTYPE_I4, INVALID);
    SIZES_FAIL(W_W4A16, w_.meta = any, INVALID);
    SIZES_FAIL(W_W4A16, w_.group_scales = any, INVALID);
    SIZES_FAIL(W_W4A16, w_.n = P2(62), INVALID); /* n * k/2 bytes overflows */
    SIZES_FAIL(W_FP8B, w_.dtype = QBLAS_DTYPE_I8, INVALID);
    SIZES_FAIL(W_FP8B, w_.scale_dtype = QBLAS_DTYPE_F16, INVALID);
    SIZES_FAIL(W_FP8B, w_.g_idx = any, INVALID);
    SIZES_FAIL(W_FP8B, (w_.n = P2(40), w_.k = P2(30)), INVALID);
    SIZES_FAIL(W_FP8B, (w_.n = INT64_MAX, w_.k = INT64_MAX), INVALID);
    SIZES_FAIL(W_W4A8, w_.k = 255, INVALID);
    SIZES_FAIL(W_W4A8, w_.group_size = 64, INVALID);
    SIZES_FAIL(W_W4A8, w_.scale_mode = QBLAS_SCALE_PER_ROW, INVALID);
    SIZES_FAIL(W_W4A8, (w_.group_size = 0, w_.scale_mode = QBLAS_SCALE_PER_ROW, w_.group_scales = any), INVALID);
    SIZES_FAIL(W_W4A8, w_.scale_dtype = QBLAS_DTYPE_F32, INVALID);
    SIZES_FAIL(W_W4A8, w_.k = 65536 + 128, QBLAS_STATUS_NOT_SUPPORTED);
    SIZES_FAIL(W_SP16, w_.k = 18, INVALID);
    SIZES_FAIL(W_SP16, (w_.n = INT64_MAX, w_.k = INT64_MAX - 3), INVALID);
    SIZES_FAIL(W_W4A16, (w_.k = INT64_MAX, w_.group_size = 0), INVALID);
    SIZES_FAIL(W_SP16, w_.scale_mode = QBLAS_SCALE_PER_ROW, INVALID);
    SIZES_FAIL(W_SP16, (w_.dtype = QBLAS_DTYPE_E4M3FNUZ, w_.scale_mode = QBLAS_SCALE_PER_ROW,
                        w_.scale_dtype = QBLAS_DTYPE_F32), INVALID);
    watch_done(&wt);
    qbt_free(sz);
}
END_TEST

START_TEST(quantize_weight_bad_args)
{
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(61);
    const int64_t n = 7, k = 33, ld = 34;
    float *src = pool_alloc(&pl, (size_t)(n * ld) * 4);
    qbt_fill(&r, QBLAS_DTYPE_F32, src, n * ld, -1.0, 1.0);
    void *data = pool_alloc(&pl, (size_t)(n * k)), *scales = pool_alloc(&pl, (size_t)n * 4);
    qblas_weight_t *o = qbt_alloc(sizeof *o);
    qblas_weight_t base = W_INT8;
    base.data = data, base.scales = scales;
    *o = base;
    QBT_OK(qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, ld, o));

    watch_t wt = {0};
    watch_add(&wt, data, (size_t)(n * k), true);
    watch_add(&wt, scales, (size_t)n * 4, true);
    watch_add(&wt, o, sizeof *o, false); /* the descriptor is read: snapshot only */
#define QW_FAILS(edit, want)                                                                   \
    do {                                                                                       \
        int64_t n_ = n, k_ = k, ld_ = ld;                                                      \
        qblas_dtype_t sdt_ = QBLAS_DTYPE_F32;                                                   \
        const void *src_ = src;                                                                \
        qblas_weight_t *o_ = o;                                                                \
        *o = base;                                                                             \
        edit;                                                                                  \
        MUST_FAIL(&wt, NULL, qblas_quantize_weight(n_, k_, sdt_, src_, ld_, o_), want);         \
    } while (0)
    QW_FAILS(src_ = NULL, INVALID);
    QW_FAILS(o_ = NULL, INVALID);
    QW_FAILS(n_ = 8, INVALID); /* out describes 7 rows */
    QW_FAILS(k_ = 32, INVALID);
    QW_FAILS((n_ = o->n = 0), INVALID);
    QW_FAILS(ld_ = k - 1, INVALID);
    QW_FAILS(sdt_ = QBLAS_DTYPE_I8, INVALID);
    QW_FAILS(sdt_ = (qblas_dtype_t)99, INVALID);
    QW_FAILS((sdt_ = QBLAS_DTYPE_F16, src_ = skew(src, 1)), INVALID);
    QW_FAILS(src_ = skew(src, 2), INVALID);
    QW_FAILS(o->data = NULL, INVALID);
    QW_FAILS(o->scales = NULL, INVALID);
    QW_FAILS(o->layout = QBLAS_LAYOUT_CPU_BLOB, INVALID);
    QW_FAILS(o->format = (qblas_wformat_t)99, INVALID);
    QW_FAILS(o->scale_dtype = QBLAS_DTYPE_F16, INVALID);
    QW_FAILS(o->zeros = scales, INVALID);
    QW_FAILS((n_ = o->n = P2(40), ld_ = P2(30)), INVALID); /* source span overflows */
    QW_FAILS((n_ = o->n = INT64_MAX), INVALID);              /* weight bytes overflow */
    watch_done(&wt);

    /* W4A16 with act-order: a group index out of range is refused before any write */
    const int64_t k4 = 64;
    float *src4 = pool_alloc(&pl, (size_t)(n * k4) * 4);
    qbt_fill(&r, QBLAS_DTYPE_F32, src4, n * k4, -1.0, 1.0);
    void *d4 = pool_alloc(&pl, (size_t)(n * k4 / 2)), *s4 = pool_alloc(&pl, 2 * (size_t)n * 2);
    int32_t *g_idx = pool_alloc(&pl, (size_t)k4 * 4);
    for (int64_t i = 0; i < k4; i++) g_idx[i] = (int32_t)((i * 5) % 2);
    qblas_weight_t w4 = W_W4A16;
    w4.data = d4, w4.scales = s4, w4.g_idx = g_idx;
    *o = w4;
    QBT_OK(qblas_quantize_weight(n, k4, QBLAS_DTYPE_F32, src4, k4, o));
    watch_add(&wt, d4, (size_t)(n * k4 / 2), true);
    watch_add(&wt, s4, 2 * (size_t)n * 2, true);
    g_idx[k4 - 1] = 2; /* G = 2 */
    *o = w4;
    MUST_FAIL(&wt, NULL, qblas_quantize_weight(n, k4, QBLAS_DTYPE_F32, src4, k4, o), INVALID);
    g_idx[0] = -1, g_idx[k4 - 1] = 0;
    MUST_FAIL(&wt, NULL, qblas_quantize_weight(n, k4, QBLAS_DTYPE_F32, src4, k4, o), INVALID);
    watch_done(&wt);
#undef QW_FAILS
    qbt_free(o);
    pool_free(&pl);
}
END_TEST

START_TEST(dequantize_weight_bad_args)
{
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(71);
    const int64_t n = 7, k = 33, ld = 35;
    int8_t *data = pool_alloc(&pl, (size_t)(n * k));
    float *scales = pool_alloc(&pl, (size_t)n * 4);
    fill_i8(&r, data, n * k);
    qbt_fill(&r, QBLAS_DTYPE_F32, scales, n, 0.01, 0.1);
    float *dst = pool_alloc(&pl, (size_t)(n * ld) * 4);
    qblas_weight_t w = W_INT8;
    w.data = data, w.scales = scales;
    QBT_OK(qblas_dequantize_weight(&w, QBLAS_DTYPE_F32, dst, ld));

    watch_t wt = {0};
    watch_add(&wt, dst, (size_t)(n * ld) * 4, true);
#define DQ_FAILS(edit, want)                                                       \
    do {                                                                           \
        qblas_weight_t w_ = w;                                                     \
        const qblas_weight_t *wp_ = &w_;                                           \
        qblas_dtype_t dt_ = QBLAS_DTYPE_F32;                                       \
        void *dst_ = dst;                                                          \
        int64_t ld_ = ld;                                                          \
        edit;                                                                      \
        MUST_FAIL(&wt, NULL, qblas_dequantize_weight(wp_, dt_, dst_, ld_), want);  \
    } while (0)
    DQ_FAILS(wp_ = NULL, INVALID);
    DQ_FAILS(dst_ = NULL, INVALID);
    DQ_FAILS(dt_ = QBLAS_DTYPE_I8, INVALID);
    DQ_FAILS(dt_ = (qblas_dtype_t)99, INVALID);
    DQ_FAILS(ld_ = k - 1, INVALID);
    DQ_FAILS(dst_ = skew(dst, 2), INVALID);
    DQ_FAILS((dt_ = QBLAS_DTYPE_BF16, dst_ = skew(dst, 1)), INVALID);
    DQ_FAILS(w_.data = NULL, INVALID);
    DQ_FAILS(w_.scales = NULL, INVALID);
    DQ_FAILS(w_.layout = QBLAS_LAYOUT_CPU_BLOB, INVALID);
    DQ_FAILS(w_.format = (qblas_wformat_t)99, INVALID);
    DQ_FAILS(w_.scale_dtype = QBLAS_DTYPE_F16, INVALID);
    DQ_FAILS((w_.n = P2(40), ld_ = P2(30)), INVALID); /* destination span overflows */
    DQ_FAILS(w_.n = INT64_MAX, INVALID);
    watch_done(&wt);
    pool_free(&pl);
}
END_TEST

/* The dequantizer's f32 row buffer is sized with an overflow check: an FP8
 * weight of one row of k = 2^61 (bf16 destination: 2^62 bytes, accepted)
 * needs 2^63 bytes of f32, beyond int64. Nothing is read. */
START_TEST(dequantize_row_buffer_overflow)
{
    pool_t pl = {0};
    void *buf = pool_alloc(&pl, 64); /* pointers only */
    watch_t wt = {0};
    watch_add(&wt, buf, 64, false);
    const int64_t k = P2(61);
    qblas_weight_t w = {.format = QBLAS_WFORMAT_FP8, .dtype = QBLAS_DTYPE_E4M3, .n = 1, .k = k, .data = buf,
                        .scale_mode = QBLAS_SCALE_PER_TENSOR, .scale_dtype = QBLAS_DTYPE_F32, .scales = buf};
    MUST_FAIL(&wt, NULL, qblas_dequantize_weight(&w, QBLAS_DTYPE_BF16, buf, k), INVALID);
    watch_done(&wt);
    pool_free(&pl);
}
END_TEST

/* Contents the dequantizer reads on the host are range-checked before the
 * first write, as the GEMM checks them. W4A16: zero points 0..15 and group
 * indices 0..G-1. */
START_TEST(dequantize_w4a16_contents)
{
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(72);
    watch_t wt = {0};
    const int64_t n = 7, k = 64, ld = k;
    uint8_t *d4 = pool_alloc(&pl, (size_t)(n * k / 2)), *z4 = pool_alloc(&pl, 2 * (size_t)n);
    uint16_t *s4 = pool_alloc(&pl, 2 * (size_t)n * 2);
    int32_t *g_idx = pool_alloc(&pl, (size_t)k * 4);
    float *dst = pool_alloc(&pl, (size_t)(n * k) * 4);
    qbt_fill_bytes(&r, d4, (size_t)(n * k / 2));
    qbt_fill(&r, QBLAS_DTYPE_F16, s4, 2 * n, 0.01, 0.1);
    for (int64_t i = 0; i < 2 * n; i++) z4[i] = (uint8_t)qbt_int(&r, 0, 15);
    for (int64_t i = 0; i < k; i++) g_idx[i] = (int32_t)(i % 2);
    qblas_weight_t w = W_W4A16;
    w.data = d4, w.scales = s4, w.zeros = z4, w.g_idx = g_idx;
    QBT_OK(qblas_dequantize_weight(&w, QBLAS_DTYPE_F32, dst, ld));
    watch_add(&wt, dst, (size_t)(n * k) * 4, true);
    z4[2 * n - 1] = 16;
    DQ_FAILS((void)0, INVALID);
    z4[2 * n - 1] = 15;
    g_idx[k - 1] = 2;
    DQ_FAILS((void)0, INVALID);
    g_idx[k - 1] = -1;
    DQ_FAILS((void)0, INVALID);
    watch_done(&wt);
    pool_free(&pl);
}
END_TEST

/* W4A8 g128: group scales >= 1 and zeros 0..15; its buffers present. */
START_TEST(dequantize_w4a8_contents)
{
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(73);
    watch_t wt = {0};
    const int64_t n = 8, k = 256, ld = k;
    uint8_t *d8 = pool_alloc(&pl, (size_t)(n * k / 2)), *z8 = pool_alloc(&pl, 2 * (size_t)n);
    int8_t *gs8 = pool_alloc(&pl, 2 * (size_t)n);
    uint16_t *s8 = pool_alloc(&pl, (size_t)n * 2);
    float *dst = pool_alloc(&pl, (size_t)(n * k) * 4);
    qbt_fill_bytes(&r, d8, (size_t)(n * k / 2));
    qbt_fill(&r, QBLAS_DTYPE_F16, s8, n, 0.01, 0.1);
    /* s2 <= 8 keeps every w8 = (code - z) * s2 inside int8 for any code and zero */
    for (int64_t i = 0; i < 2 * n; i++) z8[i] = (uint8_t)qbt_int(&r, 0, 15), gs8[i] = (int8_t)qbt_int(&r, 1, 8);
    qblas_weight_t w = W_W4A8;
    w.data = d8, w.scales = s8, w.zeros = z8, w.group_scales = gs8;
    QBT_OK(qblas_dequantize_weight(&w, QBLAS_DTYPE_F32, dst, ld));
    watch_add(&wt, dst, (size_t)(n * k) * 4, true);
    DQ_FAILS(w_.zeros = NULL, INVALID);
    DQ_FAILS(w_.group_scales = NULL, INVALID);
    gs8[2 * n - 1] = 0;
    DQ_FAILS((void)0, INVALID);
    gs8[2 * n - 1] = -3;
    DQ_FAILS((void)0, INVALID);
    gs8[2 * n - 1] = 1;
    z8[0] = 16;
    DQ_FAILS((void)0, INVALID);
    watch_done(&wt);
    pool_free(&pl);
}
END_TEST
#undef DQ_FAILS

/* =========================================================================
 * Checkpoint importers
 * ========================================================================= */

START_TEST(import_bad_args)
{
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(81);
    const int64_t k = 64, n = 16, G = 2;
    const int32_t g = 32;
    int32_t *qw = pool_alloc(&pl, (size_t)(k / 8 * n) * 4), *qz = pool_alloc(&pl, (size_t)(G * n / 8) * 4);
    int32_t *aw = pool_alloc(&pl, (size_t)(k * n / 8) * 4); /* AWQ qweight [k][n/8] */
    uint16_t *sc = pool_alloc(&pl, (size_t)(G * n) * 2);
    int32_t *gi = pool_alloc(&pl, (size_t)k * 4);
    qbt_fill_bytes(&r, qw, (size_t)(k / 8 * n) * 4);
    qbt_fill_bytes(&r, aw, (size_t)(k * n / 8) * 4);
    qbt_fill_bytes(&r, qz, (size_t)(G * n / 8) * 4);
    qbt_fill(&r, QBLAS_DTYPE_F16, sc, G * n, 0.01, 0.1);
    for (int64_t i = 0; i < k; i++) gi[i] = (int32_t)((i * 3) % G); /* act-order, not k / g */
    void *od = pool_alloc(&pl, (size_t)(n * k / 2)), *os = pool_alloc(&pl, (size_t)(G * n) * 2);
    void *oz = pool_alloc(&pl, (size_t)(G * n)), *og = pool_alloc(&pl, (size_t)k * 4);
    qblas_weight_t *o = qbt_alloc(sizeof *o);
    qblas_weight_t ob = {.data = od, .scales = os, .zeros = oz, .g_idx = og};
    *o = ob;
    QBT_OK(qblas_import_gptq(k, n, g, qw, qz, sc, QBLAS_DTYPE_F16, gi, 0, o));
    ck_assert_int_eq(o->format, QBLAS_WFORMAT_W4A16);
    *o = ob;
    QBT_OK(qblas_import_awq(k, n, g, aw, qz, sc, QBLAS_DTYPE_F16, o));

    watch_t wt = {0};
    watch_add(&wt, od, (size_t)(n * k / 2), true);
    watch_add(&wt, os, (size_t)(G * n) * 2, true);
    watch_add(&wt, oz, (size_t)(G * n), true);
    watch_add(&wt, og, (size_t)k * 4, true);
    watch_add(&wt, o, sizeof *o, false); /* the descriptor is read: snapshot only */
#define IMPORT_ARGS                                                                                \
    int64_t k_ = k, n_ = n;                                                                        \
    int32_t g_ = g;                                                                                \
    const int32_t *qz_ = qz, *gi_ = gi;                                                            \
    const void *sc_ = sc;                                                                          \
    qblas_dtype_t sd_ = QBLAS_DTYPE_F16;                                                           \
    qblas_weight_t *o_ = o;                                                                        \
    *o = ob;
#define GPTQ_FAILS(edit, want)                                                                      \
    do {                                                                                            \
        IMPORT_ARGS                                                                                 \
        const int32_t *qw_ = qw;                                                                    \
        int z1_ = 0;                                                                                \
        edit;                                                                                       \
        MUST_FAIL(&wt, NULL, qblas_import_gptq(k_, n_, g_, qw_, qz_, sc_, sd_, gi_, z1_, o_), want); \
    } while (0)
#define AWQ_FAILS(edit, want)                                                                       \
    do {                                                                                            \
        IMPORT_ARGS                                                                                 \
        const int32_t *qw_ = aw;                                                                    \
        (void)gi_;                                                                                  \
        edit;                                                                                       \
        MUST_FAIL(&wt, NULL, qblas_import_awq(k_, n_, g_, qw_, qz_, sc_, sd_, o_), want);           \
    } while (0)

    GPTQ_FAILS(qw_ = NULL, INVALID);
    GPTQ_FAILS(qz_ = NULL, INVALID);
    GPTQ_FAILS(sc_ = NULL, INVALID);
    GPTQ_FAILS(o_ = NULL, INVALID);
    GPTQ_FAILS(o->data = NULL, INVALID);
    GPTQ_FAILS(o->scales = NULL, INVALID);
    GPTQ_FAILS(o->g_idx = NULL, INVALID); /* act-order g_idx needs somewhere to go */
    GPTQ_FAILS(k_ = 0, INVALID);
    GPTQ_FAILS(n_ = -16, INVALID);
    GPTQ_FAILS((k_ = 60, g_ = 0, gi_ = NULL), INVALID); /* qweight holds k/8 rows of words */
    GPTQ_FAILS(n_ = 12, INVALID);                       /* qzeros holds n/8 words per group */
    GPTQ_FAILS(g_ = 48, INVALID);
    GPTQ_FAILS((g_ = 128, gi_ = NULL), INVALID); /* does not divide k */
    GPTQ_FAILS(sd_ = QBLAS_DTYPE_I8, INVALID);
    GPTQ_FAILS(sd_ = (qblas_dtype_t)99, INVALID);
    GPTQ_FAILS((k_ = P2(40), n_ = P2(30), g_ = 0, gi_ = NULL), INVALID); /* sizes overflow */
    GPTQ_FAILS((k_ = INT64_MAX - 7, n_ = 8, g_ = 0, gi_ = NULL), INVALID);
    GPTQ_FAILS((k_ = 8, n_ = INT64_MAX - 7, g_ = 0, gi_ = NULL), INVALID);
    gi[k - 1] = (int32_t)G;
    GPTQ_FAILS((void)0, INVALID);
    gi[k - 1] = -1;
    GPTQ_FAILS((void)0, INVALID);
    gi[k - 1] = 0;

    /* symmetric import (out->zeros NULL): every stored zero must mean 8 */
    for (int64_t i = 0; i < G * n / 8; i++) qz[i] = (int32_t)0x88888888u;
    *o = ob;
    o->zeros = NULL;
    QBT_OK(qblas_import_gptq(k, n, g, qw, qz, sc, QBLAS_DTYPE_F16, NULL, 0, o));
    GPTQ_FAILS((o->zeros = NULL, z1_ = 1), INVALID); /* v1 files: stored 8 means 9 */
    qz[1] = (int32_t)0x88887888u;
    GPTQ_FAILS((o->zeros = NULL, gi_ = NULL), INVALID);
    for (int64_t i = 0; i < G * n / 8; i++) qz[i] = 0x77777777;
    *o = ob;
    o->zeros = NULL;
    QBT_OK(qblas_import_gptq(k, n, g, qw, qz, sc, QBLAS_DTYPE_F16, NULL, 1, o));

    AWQ_FAILS(qw_ = NULL, INVALID);
    AWQ_FAILS(qz_ = NULL, INVALID);
    AWQ_FAILS(sc_ = NULL, INVALID);
    AWQ_FAILS(o_ = NULL, INVALID);
    AWQ_FAILS(o->zeros = NULL, INVALID); /* AWQ is asymmetric: zeros required */
    AWQ_FAILS(o->data = NULL, INVALID);
    AWQ_FAILS(n_ = 12, INVALID);
    AWQ_FAILS(g_ = 48, INVALID);
    AWQ_FAILS(g_ = 128, INVALID);
    AWQ_FAILS(sd_ = QBLAS_DTYPE_U8, INVALID);
    AWQ_FAILS((k_ = P2(40), n_ = P2(30), g_ = 0), INVALID);
    AWQ_FAILS((k_ = INT64_MAX, n_ = 8, g_ = 0), INVALID);
#undef GPTQ_FAILS
#undef AWQ_FAILS
#undef IMPORT_ARGS
    watch_done(&wt);
    qbt_free(o);
    pool_free(&pl);
}
END_TEST

/* The host tools check alignment as the docs promise (and the GEMM does):
 * quantize_weight's output scales and g_idx, dequantize_weight's scales and
 * g_idx, the importers' qweight, qzeros, g_idx and scales (and output
 * scales). Each misaligned pointer is INVALID_VALUE with nothing written;
 * before, each returned SUCCESS after misaligned loads and stores. */
START_TEST(host_tools_misaligned)
{
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(85);
    watch_t wt = {0};
    const int64_t n = 64, k = 256, G = 2;
    const int32_t g = 128;
    float *src = pool_alloc(&pl, (size_t)(n * k) * 4);
    qbt_fill(&r, QBLAS_DTYPE_F32, src, n * k, -1.0, 1.0);
    uint8_t *data = pool_alloc(&pl, (size_t)(n * k / 2)), *zeros = pool_alloc(&pl, (size_t)(G * n));
    uint8_t *scales = pool_alloc(&pl, (size_t)(G * n) * 2 + 4), *gbuf = pool_alloc(&pl, (size_t)k * 4 + 4);
    int32_t *g_idx = (int32_t *)gbuf;
    for (int64_t i = 0; i < k; i++) g_idx[i] = (int32_t)((i * 7) % G);
    qblas_weight_t w = {.format = QBLAS_WFORMAT_W4A16, .dtype = QBLAS_DTYPE_U4, .n = n, .k = k, .data = data,
                        .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = QBLAS_DTYPE_F16, .scales = scales,
                        .zeros = zeros, .group_size = g, .g_idx = g_idx};
    qblas_weight_t *o = qbt_alloc(sizeof *o);
    *o = w;
    QBT_OK(qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, k, o));
    float *dst = pool_alloc(&pl, (size_t)(n * k) * 4);
    QBT_OK(qblas_dequantize_weight(&w, QBLAS_DTYPE_F32, dst, k));

    /* quantize: f16 output scales at an odd address, g_idx off 4 bytes */
    watch_add(&wt, data, (size_t)(n * k / 2), true);
    watch_add(&wt, zeros, (size_t)(G * n), true);
    watch_add(&wt, scales, (size_t)(G * n) * 2 + 4, true);
    *o = w, o->scales = scales + 1;
    MUST_FAIL(&wt, NULL, qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, k, o), INVALID);
    memmove(gbuf + 2, gbuf, (size_t)k * 4);
    *o = w, o->g_idx = (const int32_t *)(gbuf + 2);
    MUST_FAIL(&wt, NULL, qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, k, o), INVALID);
    memmove(gbuf, gbuf + 2, (size_t)k * 4);
    watch_done(&wt);

    /* dequantize: scales and g_idx misaligned (data is whole bytes: any address) */
    watch_add(&wt, dst, (size_t)(n * k) * 4, true);
    qblas_weight_t b = w;
    b.scales = scales + 1;
    MUST_FAIL(&wt, NULL, qblas_dequantize_weight(&b, QBLAS_DTYPE_F32, dst, k), INVALID);
    memmove(gbuf + 2, gbuf, (size_t)k * 4);
    b = w, b.g_idx = (const int32_t *)(gbuf + 2);
    MUST_FAIL(&wt, NULL, qblas_dequantize_weight(&b, QBLAS_DTYPE_F32, dst, k), INVALID);
    memmove(gbuf, gbuf + 2, (size_t)k * 4);
    watch_done(&wt);

    /* importers: the issue's repro qblas_import_gptq(256, 64, 128, qw + 1 byte, ...), then each tensor */
    uint8_t *qw = pool_alloc(&pl, (size_t)(k / 8 * n) * 4 + 4), *aw = pool_alloc(&pl, (size_t)(k * n / 8) * 4 + 4);
    uint8_t *qz = pool_alloc(&pl, (size_t)(G * n / 8) * 4 + 4), *sc = pool_alloc(&pl, (size_t)(G * n) * 2 + 4);
    qbt_fill_bytes(&r, qw, qbt_size(qw)), qbt_fill_bytes(&r, aw, qbt_size(aw)), qbt_fill_bytes(&r, qz, qbt_size(qz));
    qbt_fill(&r, QBLAS_DTYPE_F16, sc, G * n + 2, 0.01, 0.1);
    int32_t *og = pool_alloc(&pl, (size_t)k * 4); /* the act-order g_idx goes here */
    const qblas_weight_t ob = {.data = data, .scales = scales, .zeros = zeros, .g_idx = og};
    *o = ob;
    QBT_OK(qblas_import_gptq(k, n, g, (int32_t *)qw, (int32_t *)qz, sc, QBLAS_DTYPE_F16, g_idx, 0, o));
    *o = ob;
    QBT_OK(qblas_import_awq(k, n, g, (int32_t *)aw, (int32_t *)qz, sc, QBLAS_DTYPE_F16, o));
    watch_add(&wt, data, (size_t)(n * k / 2), true);
    watch_add(&wt, zeros, (size_t)(G * n), true);
    watch_add(&wt, scales, (size_t)(G * n) * 2 + 4, true);
    watch_add(&wt, o, sizeof *o, false);
#define GPTQ_MIS(qw_, qz_, sc_, gi_, os_)                                                                        do {                                                                                                             *o = ob, o->scales = (os_);                                                                                  MUST_FAIL(&wt, NULL,                                                                                                   qblas_import_gptq(k, n, g, (const int32_t *)(qw_), (const int32_t *)(qz_), sc_,                                                QBLAS_DTYPE_F16, (const int32_t *)(gi_), 0, o),                                            INVALID);                                                                                      } while (0)
    GPTQ_MIS(qw + 1, qz, sc, g_idx, scales);
    GPTQ_MIS(qw, qz + 2, sc, g_idx, scales);
    GPTQ_MIS(qw, qz, sc + 1, g_idx, scales);
    watch_add(&wt, og, (size_t)k * 4, true);
    GPTQ_MIS(qw, qz, sc, gbuf + 2, scales);
    GPTQ_MIS(qw, qz, sc, g_idx, scales + 1);
#undef GPTQ_MIS
    *o = ob;
    MUST_FAIL(&wt, NULL, qblas_import_awq(k, n, g, (const int32_t *)(aw + 1), (int32_t *)qz, sc, QBLAS_DTYPE_F16, o),
              INVALID);
    *o = ob;
    MUST_FAIL(&wt, NULL, qblas_import_awq(k, n, g, (int32_t *)aw, (const int32_t *)(qz + 3), sc, QBLAS_DTYPE_F16, o),
              INVALID);
    *o = ob;
    MUST_FAIL(&wt, NULL, qblas_import_awq(k, n, g, (int32_t *)aw, (int32_t *)qz, sc + 1, QBLAS_DTYPE_F16, o),
              INVALID);
    watch_done(&wt);
    qbt_free(o);
    pool_free(&pl);
}
END_TEST

/* =========================================================================
 * 2:4 tools
 * ========================================================================= */

START_TEST(sparse24_bad_args)
{
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(91);
    const int64_t n = 7, k = 32, lds = 36, ldd = 34;
    float *src = pool_alloc(&pl, (size_t)(n * lds) * 4), *pruned = pool_alloc(&pl, (size_t)(n * ldd) * 4);
    qbt_fill(&r, QBLAS_DTYPE_F32, src, n * lds, -1.0, 1.0);
    QBT_OK(qblas_sparse24_prune(n, k, QBLAS_DTYPE_F32, src, lds, pruned, ldd));

    watch_t wt = {0};
    watch_add(&wt, pruned, (size_t)(n * ldd) * 4, true);
#define PRUNE_FAILS(edit, want)                                                                \
    do {                                                                                       \
        int64_t n_ = n, k_ = k, ls_ = lds, ld_ = ldd;                                          \
        qblas_dtype_t t_ = QBLAS_DTYPE_F32;                                                    \
        const void *s_ = src;                                                                  \
        void *d_ = pruned;                                                                     \
        edit;                                                                                  \
        MUST_FAIL(&wt, NULL, qblas_sparse24_prune(n_, k_, t_, s_, ls_, d_, ld_), want);        \
    } while (0)
    PRUNE_FAILS(s_ = NULL, INVALID);
    PRUNE_FAILS(d_ = NULL, INVALID);
    PRUNE_FAILS(n_ = 0, INVALID);
    PRUNE_FAILS(k_ = 0, INVALID);
    PRUNE_FAILS(k_ = 30, INVALID); /* not a multiple of 4 */
    PRUNE_FAILS(t_ = QBLAS_DTYPE_U8, INVALID);
    PRUNE_FAILS(t_ = QBLAS_DTYPE_E4M3FNUZ, INVALID);
    PRUNE_FAILS(t_ = (qblas_dtype_t)99, INVALID);
    PRUNE_FAILS(ls_ = k - 1, INVALID);
    PRUNE_FAILS(ld_ = k - 1, INVALID);
    PRUNE_FAILS(s_ = skew(src, 2), INVALID);
    PRUNE_FAILS((t_ = QBLAS_DTYPE_F16, d_ = skew(pruned, 1)), INVALID);
    PRUNE_FAILS((n_ = P2(40), ls_ = P2(30)), INVALID);
    PRUNE_FAILS((n_ = 1, k_ = ls_ = ld_ = INT64_MAX - 3), INVALID); /* f32 row bytes overflow */
#undef PRUNE_FAILS
    watch_done(&wt);

    /* compress / decompress on an f16 matrix with two non-zeros per group of four */
    uint16_t *dense = pool_alloc(&pl, (size_t)(n * ldd) * 2), *back = pool_alloc(&pl, (size_t)(n * ldd) * 2);
    for (int64_t i = 0; i < n * ldd; i++) {
        int64_t pos = (i % ldd) % 4, keep = (i / ldd + (i % ldd) / 4) % 3; /* keep {keep, 3} */
        dense[i] = (pos == keep || pos == 3) ? qb_f32_to_f16((float)qbt_uniform(&r, 0.5, 1.5)) : 0;
    }
    const size_t vbytes = (size_t)(n * k / 2) * 2, mbytes = (size_t)(n * ((k + 7) / 8));
    void *vals = pool_alloc(&pl, vbytes), *meta = pool_alloc(&pl, mbytes);
    QBT_OK(qblas_sparse24_compress(n, k, QBLAS_DTYPE_F16, dense, ldd, vals, meta));
    QBT_OK(qblas_sparse24_decompress(n, k, QBLAS_DTYPE_F16, vals, meta, back, ldd));

    watch_add(&wt, vals, vbytes, true);
    watch_add(&wt, meta, mbytes, true);
#define COMPRESS_FAILS(edit, want)                                                             \
    do {                                                                                       \
        int64_t n_ = n, k_ = k, ld_ = ldd;                                                     \
        qblas_dtype_t t_ = QBLAS_DTYPE_F16;                                                    \
        const void *d_ = dense;                                                                \
        void *v_ = vals, *m_ = meta;                                                           \
        edit;                                                                                  \
        MUST_FAIL(&wt, NULL, qblas_sparse24_compress(n_, k_, t_, d_, ld_, v_, m_), want);      \
    } while (0)
    COMPRESS_FAILS(d_ = NULL, INVALID);
    COMPRESS_FAILS(v_ = NULL, INVALID);
    COMPRESS_FAILS(m_ = NULL, INVALID);
    COMPRESS_FAILS(n_ = -1, INVALID);
    COMPRESS_FAILS(k_ = 30, INVALID);
    COMPRESS_FAILS(t_ = QBLAS_DTYPE_F32, INVALID); /* f32 is for prune only */
    COMPRESS_FAILS(t_ = QBLAS_DTYPE_U4, INVALID);
    COMPRESS_FAILS(ld_ = k - 1, INVALID);
    COMPRESS_FAILS(d_ = skew(dense, 1), INVALID);
    COMPRESS_FAILS(v_ = skew(vals, 1), INVALID);
    COMPRESS_FAILS((n_ = P2(40), ld_ = P2(30)), INVALID);
    COMPRESS_FAILS((n_ = INT64_MAX, ld_ = k), INVALID); /* values bytes overflow */
    /* a group with three non-zeros, in the last row: nothing may be written */
    int64_t last = (n - 1) * ldd + k - 4;
    dense[last] = dense[last + 1] = dense[last + 2] = qb_f32_to_f16(1.0f);
    COMPRESS_FAILS((void)0, INVALID);
#undef COMPRESS_FAILS
    watch_done(&wt);

    watch_add(&wt, back, (size_t)(n * ldd) * 2, true);
#define DECOMPRESS_FAILS(edit, want)                                                           \
    do {                                                                                       \
        int64_t n_ = n, k_ = k, ld_ = ldd;                                                     \
        qblas_dtype_t t_ = QBLAS_DTYPE_F16;                                                    \
        const void *v_ = vals, *m_ = meta;                                                     \
        void *d_ = back;                                                                       \
        edit;                                                                                  \
        MUST_FAIL(&wt, NULL, qblas_sparse24_decompress(n_, k_, t_, v_, m_, d_, ld_), want);    \
    } while (0)
    DECOMPRESS_FAILS(v_ = NULL, INVALID);
    DECOMPRESS_FAILS(m_ = NULL, INVALID);
    DECOMPRESS_FAILS(d_ = NULL, INVALID);
    DECOMPRESS_FAILS(k_ = 30, INVALID);
    DECOMPRESS_FAILS(k_ = 0, INVALID);
    DECOMPRESS_FAILS(t_ = QBLAS_DTYPE_F32, INVALID);
    DECOMPRESS_FAILS(ld_ = k - 1, INVALID);
    DECOMPRESS_FAILS(d_ = skew(back, 1), INVALID);
    DECOMPRESS_FAILS((n_ = P2(40), ld_ = P2(30)), INVALID);
    DECOMPRESS_FAILS((n_ = 1, k_ = ld_ = INT64_MAX - 3), INVALID);
#undef DECOMPRESS_FAILS
    watch_done(&wt);
    pool_free(&pl);
}
END_TEST

/* =========================================================================
 * Aliasing: an output that shares bytes with another argument (an input,
 * another output, the workspace) is refused with INVALID_VALUE and nothing
 * written, by comparing address ranges (API.md, "Aliasing"). Before, each
 * of these returned SUCCESS with wrong results. Inputs may share memory;
 * in-place prune / convert and prepack's descriptor update stay allowed.
 * ========================================================================= */

START_TEST(gemm_aliasing_refused)
{
    qblas_handle_t h = qbt_cpu();
    gemm_fix F, *f = &F;
    w4a16_fix(f, h, 3, 7, 96, 32);
    gemm_call b = f->c;
    QBT_OK(run_gemm(&b));
    /* Y == X with ldy != ldx: X's rows copied into a buffer Y then also uses */
    const size_t xbytes = (size_t)(b.m * b.x.ld) * 2;
    uint16_t *xy = pool_alloc(&f->pool, xbytes);
    memcpy(xy, b.x.data, xbytes);
    watch_add(&f->out, xy, xbytes, false);
    watch_add(&f->out, (void *)b.w.data, (size_t)(b.n * b.k / 2), false);
    watch_add(&f->out, (void *)b.w.scales, (size_t)(3 * b.n) * 2, false);
    GEMM_FAILS(f, (c_.x.data = xy, c_.y = xy, c_.ldy = c_.n), INVALID);
    GEMM_FAILS(f, (c_.x.data = xy, c_.y = xy + 1, c_.ldy = c_.x.ld), INVALID);
    /* bias inside Y, Y over W's codes, over W's scales */
    GEMM_FAILS(f, c_.bias = (uint16_t *)c_.y + 2, INVALID);
    GEMM_FAILS(f, (c_.y = (void *)c_.w.data, c_.ldy = c_.n), INVALID);
    GEMM_FAILS(f, c_.y = (uint16_t *)c_.w.scales + 1, INVALID);
    /* the workspace over Y, over X */
    GEMM_FAILS(f, c_.ws = c_.y, INVALID);
    GEMM_FAILS(f, c_.ws = (void *)c_.x.data, INVALID);
    fix_done(f);

    /* INT8: Y over the activation scales or zero points */
    int8_fix(f, h, 3, 7, 33, QBLAS_DTYPE_F32);
    int32_t *zeros = pool_alloc(&f->pool, (size_t)f->c.m * 4 + 64);
    memset(zeros, 0, (size_t)f->c.m * 4 + 64);
    f->c.x.zeros = zeros;
    QBT_OK(run_gemm(&f->c));
    watch_add(&f->out, (void *)f->c.x.scales, (size_t)f->c.m * 4, false);
    GEMM_FAILS(f, (c_.y = (void *)c_.x.scales, c_.m = 1, c_.ldy = c_.n), INVALID);
    GEMM_FAILS(f, (c_.y = zeros, c_.m = 1, c_.ldy = c_.n), INVALID);
    /* inputs may share memory: X's and W's scales one array */
    gemm_call same = f->c;
    same.x.scales = same.w.scales;
    QBT_OK(run_gemm(&same));
    fix_done(f);
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(quantize_act_aliasing_refused)
{
    qblas_handle_t h = qbt_cpu();
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(32);
    const int64_t m = 4, k = 64;
    float *x = pool_alloc(&pl, (size_t)(m * k) * 4);
    qbt_fill(&r, QBLAS_DTYPE_F32, x, m * k, -2.0, 2.0);
    uint8_t *q = pool_alloc(&pl, (size_t)(m * k));
    float *scales = pool_alloc(&pl, (size_t)m * 4 + 64);
    int32_t *zeros = pool_alloc(&pl, (size_t)m * 4);
    const qact_call base = {h, m, k, QBLAS_DTYPE_F32, x, k, QBLAS_DTYPE_I8, q, k, QBLAS_SCALE_PER_ROW, scales, zeros};
    QBT_OK(run_qact(&base));
    watch_t wt = {0};
    watch_add(&wt, x, (size_t)(m * k) * 4, false);
    watch_add(&wt, q, (size_t)(m * k), true);
    watch_add(&wt, zeros, (size_t)m * 4, true);
    /* codes over x (the issue: codes that differ from run to run), in place, scales/zeros over codes or x */
    QACT_FAILS(base, &wt, (c_.q = (uint8_t *)x + 8, c_.ldq = 4 * k), INVALID);
    QACT_FAILS(base, &wt, (c_.q = x, c_.ldq = 4 * k), INVALID);
    QACT_FAILS(base, &wt, c_.scales = (float *)q, INVALID);
    QACT_FAILS(base, &wt, c_.zeros = (int32_t *)x + 3, INVALID);
    QACT_FAILS(base, &wt, c_.zeros = (int32_t *)scales + 1, INVALID);
    /* static per-tensor: the scale is read, the codes must not cover it */
    QACT_FAILS(base, &wt, (c_.mode = QBLAS_SCALE_PER_TENSOR, c_.zeros = NULL, c_.scales = (float *)q + 3), INVALID);
    watch_done(&wt);
    pool_free(&pl);
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(prepack_aliasing_refused)
{
    qblas_handle_t h = qbt_cpu();
    gemm_fix F, *f = &F;
    w4a16_fix(f, h, 3, 7, 96, 32);
    qblas_weight_t w = f->c.w;
    size_t need;
    QBT_OK(qblas_prepack_size(h, &w, &need));
    /* a blob whose first bytes hold the weight's own codes and scales */
    uint8_t *blob = pool_alloc(&f->pool, need + 64);
    const size_t cb = (size_t)(w.n * w.k / 2), sb = (size_t)(3 * w.n) * 2;
    memcpy(blob, w.data, cb);
    memcpy(blob + 64 * ((cb + 63) / 64), w.scales, sb);
    qblas_weight_t src = w, *packed = qbt_alloc(sizeof *packed);
    src.data = blob, src.scales = blob + 64 * ((cb + 63) / 64);
    watch_t wt = {0};
    watch_add(&wt, blob, need + 64, false);
    watch_add(&wt, packed, sizeof *packed, true);
    MUST_FAIL(&wt, h, qblas_prepack(h, &src, blob, need, packed, NULL), INVALID);       /* dst over the source */
    MUST_FAIL(&wt, h, qblas_prepack(h, &src, blob + 1, need, packed, NULL), INVALID);
    uint8_t *dst = pool_alloc(&f->pool, need);
    MUST_FAIL(&wt, h, qblas_prepack(h, &w, dst, need, (qblas_weight_t *)(dst + 64), NULL), INVALID); /* descriptor in dst */
    watch_done(&wt);
    /* the descriptor may be updated in place: packed == &w */
    QBT_OK(qblas_prepack(h, &w, dst, need, &w, NULL));
    ck_assert_int_eq(w.layout, QBLAS_LAYOUT_CPU_BLOB);
    qbt_free(packed);
    fix_done(f);
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(attention_aliasing_refused)
{
    qblas_handle_t h = qbt_cpu();
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(42);
    const int32_t pages = 4, psz = 16, hkv = 2, hd = 64, hq = 4;
    const int64_t cache_elems = (int64_t)pages * psz * hkv * hd, q_elems = (int64_t)hq * hd;
    uint8_t *cache = pool_alloc(&pl, (size_t)cache_elems * 2 * 2); /* K then V */
    void *kc = cache, *vc = cache + cache_elems * 2;
    qbt_fill(&r, QBLAS_DTYPE_F16, cache, 2 * cache_elems, -1.0, 1.0);
    void *q = pool_alloc(&pl, (size_t)q_elems * 2), *o = pool_alloc(&pl, (size_t)q_elems * 2);
    qbt_fill(&r, QBLAS_DTYPE_F16, q, q_elems, -1.0, 1.0);
    float *lse = pool_alloc(&pl, (size_t)hq * 4);
    int32_t *lens = pool_alloc(&pl, 4), *bt = pool_alloc(&pl, 8);
    lens[0] = 20, bt[0] = 2, bt[1] = 0;
    attn_call a = {.h = h};
    a.kv = (qblas_kv_cache_t){.dtype = QBLAS_DTYPE_F16, .num_pages = pages, .page_size = psz, .num_kv_heads = hkv,
                              .head_dim = hd, .k = kc, .v = vc, .scale_mode = QBLAS_SCALE_NONE};
    a.p = (qblas_attention_params_t){.num_seqs = 1, .num_q_tokens = 1, .num_q_heads = hq, .q_dtype = QBLAS_DTYPE_F16,
                                     .q = q, .o = o, .lse = lse, .seq_lens = lens, .block_tables = bt,
                                     .block_table_stride = 2, .max_seq_len = 32, .sm_scale = 0.125f,
                                     .window_left = -1};
    qblas_kernel_info_t info;
    QBT_OK(qblas_attention_query(h, &a.kv, &a.p, &info));
    a.wsb = info.workspace_bytes;
    a.ws = pool_alloc(&pl, a.wsb);
    QBT_OK(run_attn(&a));
    watch_t wt = {0};
    watch_add(&wt, o, (size_t)q_elems * 2, true);
    watch_add(&wt, lse, (size_t)hq * 4, true);
    watch_add(&wt, cache, (size_t)cache_elems * 4, false);
    watch_add(&wt, q, (size_t)q_elems * 2, false);
    ATTN_FAILS(a, &wt, c_.p.o = q, INVALID);                         /* O over Q */
    ATTN_FAILS(a, &wt, c_.p.lse = (float *)o + 8, INVALID);          /* lse inside O */
    ATTN_FAILS(a, &wt, c_.p.o = (uint8_t *)vc + 256, INVALID);       /* O over the V cache */
    ATTN_FAILS(a, &wt, c_.p.lse = (float *)lens, INVALID);           /* lse over seq_lens */
    ATTN_FAILS(a, &wt, c_.ws = o, INVALID);                          /* the workspace over O */
    ATTN_FAILS(a, &wt, c_.ws = (void *)q, INVALID);
    QBT_STATUS(qblas_attention_query(h, &a.kv, &(qblas_attention_params_t){.num_seqs = 1, .num_q_tokens = 1,
               .num_q_heads = hq, .q_dtype = QBLAS_DTYPE_F16, .q = q, .o = (void *)q, .seq_lens = lens,
               .block_tables = bt, .block_table_stride = 2, .max_seq_len = 32, .sm_scale = 0.125f,
               .window_left = -1}, &info), INVALID); /* the query checks the same */
    /* inputs may share memory: K and V one array */
    attn_call same = a;
    same.kv.v = kc;
    QBT_OK(run_attn(&same));
    watch_done(&wt);

    /* append: the new rows inside the cache, K and V caches one array, i8 scales over the cache */
    const int64_t nt = 2, new_elems = nt * hkv * hd;
    void *kn = pool_alloc(&pl, (size_t)new_elems * 2);
    qbt_fill(&r, QBLAS_DTYPE_F16, kn, new_elems, -1.0, 1.0);
    int64_t *slots = pool_alloc(&pl, 16);
    slots[0] = 3, slots[1] = 40;
    append_call ap = {.h = h, .kv = a.kv, .nt = nt, .st = QBLAS_DTYPE_F16, .kn = kn, .vn = kn, .slots = slots};
    QBT_OK(run_append(&ap)); /* k_new and v_new may be one array */
    watch_add(&wt, cache, (size_t)cache_elems * 4, true);
    APPEND_FAILS(ap, &wt, c_.kn = (uint8_t *)kc + 64, INVALID);
    APPEND_FAILS(ap, &wt, c_.kv.v = c_.kv.k, INVALID);
    APPEND_FAILS(ap, &wt, c_.slots = (const int64_t *)vc, INVALID);
    float *ks = pool_alloc(&pl, (size_t)pages * psz * hkv * 4);
    APPEND_FAILS(ap, &wt, (c_.kv.dtype = QBLAS_DTYPE_I8, c_.kv.scale_mode = QBLAS_SCALE_PER_TOKEN_HEAD,
                           c_.kv.k_scale = ks, c_.kv.v_scale = (float *)kc), INVALID);
    watch_done(&wt);
    pool_free(&pl);
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(host_tools_aliasing_refused)
{
    pool_t pl = {0};
    qbt_rng r = qbt_rng_make(86);
    watch_t wt = {0};
    const int64_t n = 8, k = 64;
    float *src = pool_alloc(&pl, (size_t)(n * k) * 4);
    qbt_fill(&r, QBLAS_DTYPE_F32, src, n * k, -1.0, 1.0);
    /* quantize_weight: outputs over the (in-place read) f32 source, over each other */
    int8_t *data = pool_alloc(&pl, (size_t)(n * k));
    float *scales = pool_alloc(&pl, (size_t)n * 4);
    qblas_weight_t w = W_INT8, *o = qbt_alloc(sizeof *o);
    w.n = n, w.k = k, w.data = data, w.scales = scales;
    *o = w;
    QBT_OK(qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, k, o));
    watch_add(&wt, src, (size_t)(n * k) * 4, false);
    watch_add(&wt, data, (size_t)(n * k), true);
    watch_add(&wt, scales, (size_t)n * 4, true);
    *o = w, o->data = src;
    MUST_FAIL(&wt, NULL, qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, k, o), INVALID);
    *o = w, o->scales = (float *)data + 2;
    MUST_FAIL(&wt, NULL, qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, k, o), INVALID);
    *o = w, o->data = (int8_t *)o; /* the descriptor it reads */
    MUST_FAIL(&wt, NULL, qblas_quantize_weight(1, 16, QBLAS_DTYPE_F32, src, 16, (o->n = 1, o->k = 16, o)), INVALID);
    /* dequantize: dst over the codes or the scales */
    *o = w;
    MUST_FAIL(&wt, NULL, qblas_dequantize_weight(&w, QBLAS_DTYPE_F16, data, k), INVALID);
    MUST_FAIL(&wt, NULL, qblas_dequantize_weight(&w, QBLAS_DTYPE_F32, (float *)scales - 1, k), INVALID);
    watch_done(&wt);

    /* import: outputs over the checkpoint tensors, the descriptor inside an output */
    const int64_t ik = 64, in = 16;
    int32_t *qw = pool_alloc(&pl, (size_t)(ik / 8 * in) * 4), *qz = pool_alloc(&pl, (size_t)(in / 8) * 4);
    uint16_t *sc = pool_alloc(&pl, (size_t)in * 2);
    qbt_fill_bytes(&r, qw, (size_t)(ik / 8 * in) * 4), qbt_fill_bytes(&r, qz, (size_t)(in / 8) * 4);
    qbt_fill(&r, QBLAS_DTYPE_F16, sc, in, 0.01, 0.1);
    uint8_t *od = pool_alloc(&pl, (size_t)(in * ik / 2) + sizeof *o), *oz = pool_alloc(&pl, (size_t)in);
    uint16_t *os = pool_alloc(&pl, (size_t)in * 2);
    const qblas_weight_t ob = {.data = od, .scales = os, .zeros = oz};
    *o = ob;
    QBT_OK(qblas_import_gptq(ik, in, 0, qw, qz, sc, QBLAS_DTYPE_F16, NULL, 0, o));
    watch_add(&wt, qw, (size_t)(ik / 8 * in) * 4, false);
    watch_add(&wt, od, (size_t)(in * ik / 2) + sizeof *o, true);
    watch_add(&wt, os, (size_t)in * 2, true);
    *o = ob, o->data = qw;
    MUST_FAIL(&wt, NULL, qblas_import_gptq(ik, in, 0, qw, qz, sc, QBLAS_DTYPE_F16, NULL, 0, o), INVALID);
    *o = ob, o->zeros = os;
    MUST_FAIL(&wt, NULL, qblas_import_gptq(ik, in, 0, qw, qz, sc, QBLAS_DTYPE_F16, NULL, 0, o), INVALID);
    qblas_weight_t *inside = (qblas_weight_t *)(od + 64); /* written last: the codes would be overwritten */
    *inside = ob;
    MUST_FAIL(&wt, NULL, qblas_import_gptq(ik, in, 0, qw, qz, sc, QBLAS_DTYPE_F16, NULL, 0, inside), INVALID);
    watch_done(&wt);

    /* 2:4 compress / decompress: packed outputs over the dense matrix and back */
    uint16_t *dense = pool_alloc(&pl, (size_t)(n * k) * 2), *back = pool_alloc(&pl, (size_t)(n * k) * 2);
    for (int64_t i = 0; i < n * k; i++) dense[i] = i % 4 < 2 ? qb_f32_to_f16(1.0f + (float)(i % 7)) : 0;
    uint8_t *vals = pool_alloc(&pl, (size_t)(n * k)), *meta = pool_alloc(&pl, (size_t)(n * k / 8));
    QBT_OK(qblas_sparse24_compress(n, k, QBLAS_DTYPE_F16, dense, k, vals, meta));
    watch_add(&wt, dense, (size_t)(n * k) * 2, false);
    watch_add(&wt, vals, (size_t)(n * k), true);
    watch_add(&wt, meta, (size_t)(n * k / 8), true);
    MUST_FAIL(&wt, NULL, qblas_sparse24_compress(n, k, QBLAS_DTYPE_F16, dense, k, dense, meta), INVALID);
    MUST_FAIL(&wt, NULL, qblas_sparse24_compress(n, k, QBLAS_DTYPE_F16, dense, k, vals, vals + 8), INVALID);
    watch_done(&wt);
    QBT_OK(qblas_sparse24_compress(n, k, QBLAS_DTYPE_F16, dense, k, vals, meta));
    watch_add(&wt, back, (size_t)(n * k) * 2, true);
    watch_add(&wt, vals, (size_t)(n * k), false);
    MUST_FAIL(&wt, NULL, qblas_sparse24_decompress(n, k, QBLAS_DTYPE_F16, vals, meta, vals, k / 2), INVALID);
    watch_done(&wt);

    /* convert: a wider dst over its src is refused; same-size in place stays allowed */
    uint16_t *h16 = pool_alloc(&pl, 256 * 4);
    qbt_fill(&r, QBLAS_DTYPE_BF16, h16, 256, -4.0, 4.0);
    watch_add(&wt, h16, 256 * 4, false);
    MUST_FAIL(&wt, NULL, qblas_convert(256, QBLAS_DTYPE_BF16, h16, QBLAS_DTYPE_F32, h16), INVALID);
    MUST_FAIL(&wt, NULL, qblas_convert(200, QBLAS_DTYPE_BF16, h16, QBLAS_DTYPE_F16, h16 + 1), INVALID);
    watch_done(&wt);
    uint16_t want[256];
    QBT_OK(qblas_convert(256, QBLAS_DTYPE_BF16, h16, QBLAS_DTYPE_F16, want));
    QBT_OK(qblas_convert(256, QBLAS_DTYPE_BF16, h16, QBLAS_DTYPE_F16, h16));
    ck_assert(memcmp(h16, want, sizeof want) == 0);
    qbt_free(o);
    pool_free(&pl);
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("api");
    TCase *core = tcase_create("handle");
    tcase_add_test(core, create_and_destroy);
    tcase_add_test(core, version);
    tcase_add_test(core, status_strings);
    tcase_add_test(core, dtype_names);
    tcase_add_test(core, threads_and_errors);
    tcase_add_test(core, device_status_cpu);
    suite_add_tcase(s, core);

    TCase *gemm = tcase_create("gemm");
    tcase_add_test(gemm, gemm_int8_bad_args);
    tcase_add_test(gemm, gemm_fp8_bad_args);
    tcase_add_test(gemm, gemm_w4a16_bad_args);
    tcase_add_test(gemm, gemm_query_workspace_overflow);
    tcase_add_test(gemm, gemm_workspace_any_alignment);
    tcase_add_test(gemm, gemm_success_reports_kernel);
    tcase_add_test(gemm, prepack_bit_identical);
    tcase_add_test(gemm, threads_bit_identical);
    suite_add_tcase(s, gemm);

    TCase *ops = tcase_create("operations");
    tcase_add_test(ops, quantize_act_bad_args);
    tcase_add_test(ops, quantize_act_buffer_overflow);
    tcase_add_test(ops, attention_bad_args);
    tcase_add_test(ops, kv_append_bad_args);
    tcase_add_test(ops, kv_dtype_checked_before_sizes);
    suite_add_tcase(s, ops);

    TCase *host = tcase_create("host_tools");
    tcase_add_test(host, weight_sizes_checks);
    tcase_add_test(host, quantize_weight_bad_args);
    tcase_add_test(host, dequantize_weight_bad_args);
    tcase_add_test(host, dequantize_row_buffer_overflow);
    tcase_add_test(host, dequantize_w4a16_contents);
    tcase_add_test(host, dequantize_w4a8_contents);
    tcase_add_test(host, import_bad_args);
    tcase_add_test(host, host_tools_misaligned);
    tcase_add_test(host, sparse24_bad_args);
    suite_add_tcase(s, host);

    TCase *alias = tcase_create("aliasing");
    tcase_add_test(alias, gemm_aliasing_refused);
    tcase_add_test(alias, quantize_act_aliasing_refused);
    tcase_add_test(alias, prepack_aliasing_refused);
    tcase_add_test(alias, attention_aliasing_refused);
    tcase_add_test(alias, host_tools_aliasing_refused);
    suite_add_tcase(s, alias);
    return s;
}
