/* test_tuning.c - tuning files on the CPU backend (docs/TUNING.md): valid
 * files load, are queried and looked up by M bucket; every malformed class
 * is rejected with INVALID_VALUE and a mismatched header with
 * ARCH_MISMATCH, leaving the handle's previous rows untouched; the writer's
 * output reads back identically; $QBLAS_TUNING_FILE fails qblas_create
 * loudly. Most files here are format version 1 (read as they are); the
 * version 2 tests add attention rows. Tolerances: none; every comparison here is exact (text, integers,
 * and times that are multiples of 0.001 us, which the file stores exactly
 * as <us>.<3 digits> and the parser turns back into the same double). */
#define _POSIX_C_SOURCE 200809L /* mkstemp, mkdtemp, setenv */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qb_test.h"
#include "core/tuning.h"

/* A valid CPU file of 3 rows (library version filled in). */
static const char base_fmt[] = "qblas-tuning 1\n"
                               "# comment lines and blank lines are allowed anywhere\n"
                               "library %s\n"
                               "device cpu\n"
                               "cc 0\n"
                               "sms 0\n"
                               "driver none\n"
                               "\n"
                               "runtime none\n"
                               "gemm w4a16 f16 1 16 4096 4096 cpu_ref_w4a16 - 10.000\n"
                               "gemm w4a16 f16 17 64 4096 4096 cpu_ref_w4a16 mt=1,stages=4 20.000\n"
                               "gemm int8 i8 1 4096 1024 512 cpu_ref_int8 - 5.500\n"
                               "end 3\n";

static char *fmt_text(const char *fmt, size_t fmt_size, size_t *len);
static char *base_text(size_t *len) { return fmt_text(base_fmt, sizeof base_fmt, len); }

/* A version 2 file: GEMM and attention rows, not in canonical order. */
static const char v2_fmt[] = "qblas-tuning 2\n"
                             "library %s\n"
                             "device cpu\n"
                             "cc 0\n"
                             "sms 0\n"
                             "driver none\n"
                             "runtime none\n"
                             "attn_prefill bf16 bf16 1 2147483647 64 8 128 cpu_ref_attention - 40.000\n"
                             "gemm w4a16 f16 1 16 4096 4096 cpu_ref_w4a16 - 10.000\n"
                             "attn_decode f16 e4m3 1 8 32 8 128 cpu_ref_attention fill=2 3.000\n"
                             "gemm int8 i8 1 4096 1024 512 cpu_ref_int8 - 5.500\n"
                             "end 4\n";

static char *fmt_text(const char *fmt, size_t fmt_size, size_t *len)
{
    char *t = qbt_alloc(fmt_size + 64);
    int n = snprintf(t, fmt_size + 64, fmt, qblas_get_version_string());
    ck_assert(n > 0 && (size_t)n < fmt_size + 64);
    *len = (size_t)n;
    return t;
}

/* The text of fmt with the first occurrence of `from` replaced by `to`
 * (lengths given: `to` may hold NUL bytes). */
static char *mutate_fmt(const char *fmt, size_t fmt_size, const char *from, const char *to, size_t to_len, size_t *len)
{
    size_t blen;
    char *base = fmt_text(fmt, fmt_size, &blen);
    const char *at = strstr(base, from);
    ck_assert_msg(at != NULL, "mutation '%s' does not apply", from);
    size_t pre = (size_t)(at - base), from_len = strlen(from);
    *len = blen - from_len + to_len;
    char *t = qbt_alloc(*len + 1);
    memcpy(t, base, pre);
    memcpy(t + pre, to, to_len);
    memcpy(t + pre + to_len, at + from_len, blen - pre - from_len);
    qbt_free(base);
    return t;
}

/* The version 1 base, mutated. */
static char *mutate(const char *from, const char *to, size_t to_len, size_t *len)
{
    return mutate_fmt(base_fmt, sizeof base_fmt, from, to, to_len, len);
}

/* The GEMM row a call with these arguments looks up. */
static const qblas_tuning_entry_t *find_gemm(qblas_handle_t h, qblas_wformat_t f, qblas_dtype_t act, int64_t m,
                                             int64_t n, int64_t k)
{
    const qblas_tuning_entry_t key = {.op = QBLAS_TUNING_GEMM, .format = f, .act = act, .n = n, .k = k};
    return qb_tuning_find(h, &key, m);
}

static bool entry_is_row(const qblas_tuning_entry_t *e, const qblas_tuning_row_t *r)
{
    return e->op == QBLAS_TUNING_GEMM && e->format == r->format && e->act == r->act && e->m_min == r->m_min &&
           e->m_max == r->m_max && e->n == r->n && e->k == r->k && !strcmp(e->kernel, r->kernel) &&
           !strcmp(e->config, r->config) && e->time_us == r->time_us && e->kv_dtype == 0 && e->head_dim == 0;
}

static qblas_handle_t loaded_handle(void)
{
    qblas_handle_t h = qbt_cpu();
    size_t len;
    char *t = base_text(&len);
    QBT_OK(qblas_tuning_load_buffer(h, t, len));
    qbt_free(t);
    return h;
}

static void all_rows(qblas_handle_t h, qblas_tuning_row_t **rows, size_t *n)
{
    QBT_OK(qblas_tuning_row_count(h, n));
    *rows = calloc(*n ? *n : 1, sizeof **rows);
    for (size_t i = 0; i < *n; i++) QBT_OK(qblas_tuning_get_row(h, i, &(*rows)[i]));
}

static bool same_rows(const qblas_tuning_row_t *a, const qblas_tuning_row_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].format != b[i].format || a[i].act != b[i].act || a[i].m_min != b[i].m_min ||
            a[i].m_max != b[i].m_max || a[i].n != b[i].n || a[i].k != b[i].k || strcmp(a[i].kernel, b[i].kernel) ||
            strcmp(a[i].config, b[i].config) || a[i].time_us != b[i].time_us)
            return false;
    return true;
}

START_TEST(valid_file_loads_and_is_queried)
{
    qblas_handle_t h = loaded_handle();
    qblas_tuning_row_t *rows;
    size_t n;
    all_rows(h, &rows, &n);
    ck_assert_uint_eq(n, 3);
    /* canonical order: format (w4a16 = 1 before int8 = 2), then m_min */
    ck_assert_int_eq(rows[0].format, QBLAS_WFORMAT_W4A16);
    ck_assert_int_eq(rows[0].act, QBLAS_DTYPE_F16);
    ck_assert(rows[0].m_min == 1 && rows[0].m_max == 16 && rows[0].n == 4096 && rows[0].k == 4096);
    ck_assert_str_eq(rows[0].kernel, "cpu_ref_w4a16");
    ck_assert_str_eq(rows[0].config, "-");
    ck_assert(rows[0].time_us == 10.0);
    ck_assert_str_eq(rows[1].config, "mt=1,stages=4");
    ck_assert(rows[1].m_min == 17 && rows[1].m_max == 64 && rows[1].time_us == 20.0);
    ck_assert_int_eq(rows[2].format, QBLAS_WFORMAT_INT8);
    ck_assert(rows[2].time_us == 5.5);
    free(rows);
    ck_assert_str_eq(qblas_last_error(h), "");

    qblas_tuning_row_t r;
    void *snap = qbt_snapshot(&r, sizeof r);
    QBT_STATUS(qblas_tuning_get_row(h, 3, &r), QBLAS_STATUS_INVALID_VALUE);
    ck_assert(qbt_unchanged(&r, snap, sizeof r));
    free(snap);

    QBT_OK(qblas_tuning_clear(h));
    QBT_OK(qblas_tuning_row_count(h, &n));
    ck_assert_uint_eq(n, 0);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* The lookup the GPU dispatchers make: exact (format, act, n, k), M inside a bucket. */
START_TEST(lookup_by_bucket)
{
    qblas_handle_t h = loaded_handle();
    const qblas_wformat_t W = QBLAS_WFORMAT_W4A16;
    for (int64_t m = 1; m <= 80; m++) {
        const qblas_tuning_entry_t *r = find_gemm(h, W, QBLAS_DTYPE_F16, m, 4096, 4096);
        if (m <= 16)
            ck_assert(r && r->m_max == 16);
        else if (m <= 64)
            ck_assert(r && r->m_min == 17);
        else
            ck_assert(r == NULL);
    }
    ck_assert(find_gemm(h, W, QBLAS_DTYPE_BF16, 8, 4096, 4096) == NULL);
    ck_assert(find_gemm(h, W, QBLAS_DTYPE_F16, 8, 4096, 4095) == NULL);
    ck_assert(find_gemm(h, W, QBLAS_DTYPE_F16, 8, 4097, 4096) == NULL);
    ck_assert(find_gemm(h, QBLAS_WFORMAT_INT8, QBLAS_DTYPE_I8, 4096, 1024, 512) != NULL);
    ck_assert(find_gemm(h, QBLAS_WFORMAT_INT8, QBLAS_DTYPE_I8, 4097, 1024, 512) == NULL);
    QBT_OK(qblas_tuning_clear(h));
    ck_assert(find_gemm(h, W, QBLAS_DTYPE_F16, 8, 4096, 4096) == NULL);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Each malformed class: INVALID_VALUE, a reason, the previous rows kept. */
typedef struct {
    const char *from, *to;
    size_t to_len; /* 0: strlen(to) */
} mutation;

static const mutation malformed[] = {
    {"qblas-tuning 1\n", "qblas-tuning 3\n"},           /* unknown format version */
    {"qblas-tuning 1\n", "qblas-tuning 0\n"},
    {"end 3\n", "attn_decode f16 f16 1 1 8 8 64 cpu_ref_attention - 1.000\nend 4\n"}, /* attention rows: version 2 */
    {"qblas-tuning 1\n", "qblas-tuning 01\n"},          /* leading zero */
    {"qblas-tuning 1\n", "qblas-tunin 1\n"},            /* wrong magic */
    {"qblas-tuning 1\n", "qblas-tuning  1\n"},          /* double space */
    {"cc 0\n", ""},                                     /* missing header field */
    {"cc 0\nsms 0\n", "sms 0\ncc 0\n"},                 /* header fields out of order */
    {"cc 0\n", "cc 99999999999999999999999999\n"},      /* huge number */
    {"cc 0\n", "cc -1\n"},                              /* sign */
    {"cc 0\n", "cc 0x0\n"},                             /* not decimal */
    {"cc 0\n", "cc 1001\n"},                            /* above the cc limit */
    {"sms 0\n", "sms 100001\n"},                        /* above the sms limit */
    {"sms 0\n", "sms\n"},                               /* no value */
    {"device cpu\n", "device cpu \n"},                  /* trailing space */
    {"device cpu\n", "device \n"},                      /* empty name */
    {"device cpu\n", "device aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"}, /* 64 bytes */
    {"driver none\n", "driver no/ne\n"},                /* character outside the token set */
    {"driver none\n", "driver aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"}, /* 32 bytes */
    {"runtime none\n", "runtime none\nruntime none\n"}, /* repeated header field */
    {"end 3\n", "end 4\n"},                             /* wrong row count */
    {"end 3\n", "end\n"},                               /* no row count */
    {"end 3\n", ""},                                    /* no end line: truncated */
    {"end 3\n", "end 3\ngemm int8 i8 1 1 1 1 cpu_ref_int8 - 1.000\n"}, /* text after end */
    {"end 3\n", "end 3"},                               /* last line without '\n' */
    {"end 3\n", "end 3\r\n"},                           /* CR */
    {"cc 0\n", "cc\t0\n"},                              /* tab */
    {"device cpu\n", "device c\0pu\n", 12},             /* embedded NUL */
    {"device cpu\n", "device c\xc3\xa9pu\n"},           /* non-ASCII (valid UTF-8) */
    {"device cpu\n", "device c\xff\xfepu\n"},           /* not UTF-8 at all */
    {"gemm int8", "gemm  int8"},                        /* double space in a row */
    {" 5.500\n", " 5.500 \n"},                          /* trailing space */
    {" 5.500\n", "\n"},                                 /* 9 fields */
    {" 5.500\n", " 5.500 x\n"},                         /* 11 fields */
    {"gemm int8", "gemv int8"},                         /* unknown operation */
    {"gemm int8", "gemm int9"},                         /* unknown format */
    {"int8 i8", "int8 f16"},                            /* activation not allowed for the format */
    {"int8 i8", "int8 I8"},                             /* dtype names are lower case */
    {"i8 1 4096", "i8 0 4096"},                         /* m_min 0 */
    {"i8 1 4096", "i8 4097 4096"},                      /* m_max < m_min */
    {"1024 512", "2147483648 512"},                     /* n above 2^31-1 */
    {"1024 512", "1024 0"},                             /* k 0 */
    {"1024 512", "1024 512.0"},                         /* k not an integer */
    {"cpu_ref_int8 -", "cpu_ref-int8 -"},               /* kernel character */
    {"cpu_ref_int8 -", "cpu_ref_int8 a/b"},             /* config character */
    {" 5.500\n", " 5.5\n"},                             /* time needs 3 decimals */
    {" 5.500\n", " 5\n"},
    {" 5.500\n", " 0.000\n"},                           /* zero time */
    {" 5.500\n", " -5.500\n"},
    {" 5.500\n", " 1e3.000\n"},
    {" 5.500\n", " 1000000000.000\n"},                  /* 10^9 us */
    {" 5.500\n", " 5.5.0\n"},
    {"end 3\n", "gemm int8 i8 1 4096 1024 512 cpu_ref_int8 - 5.500\nend 4\n"}, /* duplicate row */
    {"end 3\n", "gemm w4a16 f16 64 100 4096 4096 cpu_ref_w4a16 - 1.000\nend 4\n"}, /* overlapping M */
    {"end 3\n", "gemm w4a16 f16 1 1 4096 4096 cpu_ref_w4a16 - 1.000\nend 4\n"},    /* inside a bucket */
    {"cpu_ref_int8 -", "cpu_ref_w4a16 -"},              /* a kernel of another format */
    {"cpu_ref_int8 -", "w4a16_f16_sm90a_mma_m16n256k64_s6 -"}, /* not a CPU kernel */
};

START_TEST(malformed_rejected_and_rows_kept)
{
    qblas_handle_t h = loaded_handle();
    qblas_tuning_row_t *before, *after;
    size_t nb, na;
    all_rows(h, &before, &nb);
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        const mutation *mu = &malformed[i];
        size_t len;
        char *t = mutate(mu->from, mu->to, mu->to_len ? mu->to_len : strlen(mu->to), &len);
        qblas_status_t st = qblas_tuning_load_buffer(h, t, len);
        ck_assert_msg(st == QBLAS_STATUS_INVALID_VALUE, "case %zu ('%s' -> '%s'): %s", i, mu->from, mu->to,
                      qblas_status_string(st));
        ck_assert_msg(strlen(qblas_last_error(h)) > 0, "case %zu leaves no reason", i);
        all_rows(h, &after, &na);
        ck_assert_msg(na == nb && same_rows(before, after, nb), "case %zu changed the rows", i);
        free(after);
        qbt_free(t);
    }
    free(before);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Limits: overlong lines, more than 4096 rows, more than 2 MiB. */
START_TEST(limits_rejected)
{
    qblas_handle_t h = loaded_handle();
    char line[300];
    memset(line, 'x', sizeof line);
    line[0] = '#';
    line[255] = '\n'; /* a comment of 255 bytes: at the limit */
    size_t len;
    char *t, ok[300];
    snprintf(ok, sizeof ok, "cc 0\n%.256s", line);
    t = mutate("cc 0\n", ok, strlen(ok), &len);
    QBT_OK(qblas_tuning_load_buffer(h, t, len));
    qbt_free(t);
    line[255] = 'x';
    line[256] = '\n'; /* 256 bytes: one too many */
    snprintf(ok, sizeof ok, "cc 0\n%.257s", line);
    t = mutate("cc 0\n", ok, strlen(ok), &len);
    QBT_STATUS(qblas_tuning_load_buffer(h, t, len), QBLAS_STATUS_INVALID_VALUE);
    qbt_free(t);

    /* 4097 rows of distinct M buckets */
    size_t cap = 4097 * 80 + 512, n = 0;
    char *big = qbt_alloc(cap);
    n += (size_t)snprintf(big + n, cap - n, "qblas-tuning 1\nlibrary %s\ndevice cpu\ncc 0\nsms 0\ndriver none\n"
                          "runtime none\n", qblas_get_version_string());
    for (int i = 1; i <= 4097; i++)
        n += (size_t)snprintf(big + n, cap - n, "gemm int8 i8 %d %d 8 8 cpu_ref_int8 - 1.000\n", i, i);
    size_t rows_end = n;
    n += (size_t)snprintf(big + n, cap - n, "end 4097\n");
    QBT_STATUS(qblas_tuning_load_buffer(h, big, n), QBLAS_STATUS_INVALID_VALUE);
    /* 4096 rows load */
    char *last = big + rows_end - 1;
    while (last[-1] != '\n') last--;
    n = (size_t)(last - big);
    n += (size_t)snprintf(big + n, cap - n, "end 4096\n");
    QBT_OK(qblas_tuning_load_buffer(h, big, n));
    size_t rows;
    QBT_OK(qblas_tuning_row_count(h, &rows));
    ck_assert_uint_eq(rows, 4096);
    const qblas_tuning_entry_t *found = find_gemm(h, QBLAS_WFORMAT_INT8, QBLAS_DTYPE_I8, 4000, 8, 8);
    ck_assert(found != NULL && found->m_min == 4000);
    qbt_free(big);

    /* over 2 MiB of comments */
    size_t huge = (size_t)QBLAS_TUNING_MAX_BYTES + 1;
    char *hb = qbt_alloc(huge);
    memset(hb, '\n', huge);
    QBT_STATUS(qblas_tuning_load_buffer(h, hb, huge), QBLAS_STATUS_INVALID_VALUE);
    QBT_OK(qblas_tuning_row_count(h, &rows));
    ck_assert_uint_eq(rows, 4096);
    qbt_free(hb);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Every proper prefix of a valid file is rejected (a truncated file never loads). */
START_TEST(truncated_never_loads)
{
    qblas_handle_t h = qbt_cpu();
    size_t len;
    char *t = base_text(&len);
    for (size_t cut = 0; cut < len; cut++) {
        char *p = qbt_alloc(cut ? cut : 1);
        memcpy(p, t, cut);
        QBT_STATUS(qblas_tuning_load_buffer(h, p, cut), QBLAS_STATUS_INVALID_VALUE);
        qbt_free(p);
    }
    QBT_OK(qblas_tuning_load_buffer(h, t, len));
    qbt_free(t);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Well-formed, other device or library: ARCH_MISMATCH, nothing kept. */
START_TEST(header_mismatch_rejected_whole)
{
    static const char *const swaps[][2] = {
        {"device cpu\n", "device NVIDIA H100 80GB HBM3\n"},
        {"cc 0\n", "cc 90\n"},
        {"sms 0\n", "sms 132\n"},
    };
    qblas_handle_t h = loaded_handle();
    qblas_tuning_row_t *before, *after;
    size_t nb, na, len;
    all_rows(h, &before, &nb);
    for (size_t i = 0; i < 4; i++) {
        char *t;
        if (i < 3) {
            t = mutate(swaps[i][0], swaps[i][1], strlen(swaps[i][1]), &len);
        } else {
            char lib[64];
            snprintf(lib, sizeof lib, "library %s\n", qblas_get_version_string());
            t = mutate(lib, "library 99.0.0\n", 15, &len);
        }
        QBT_STATUS(qblas_tuning_load_buffer(h, t, len), QBLAS_STATUS_ARCH_MISMATCH);
        ck_assert(strlen(qblas_last_error(h)) > 0);
        all_rows(h, &after, &na);
        ck_assert(na == nb && same_rows(before, after, nb));
        free(after);
        qbt_free(t);
    }
    /* driver and runtime are recorded, not matched */
    char *t = mutate("driver none\n", "driver 12.4\n", 12, &len);
    QBT_OK(qblas_tuning_load_buffer(h, t, len));
    qbt_free(t);
    free(before);
    QBT_OK(qblas_destroy(h));
}
END_TEST

static const qblas_wformat_t fmts[] = {QBLAS_WFORMAT_W4A16, QBLAS_WFORMAT_INT8, QBLAS_WFORMAT_FP8,
                                       QBLAS_WFORMAT_W4A8, QBLAS_WFORMAT_SPARSE24};
static const qblas_dtype_t acts_of[][3] = {
    {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_F16}, {QBLAS_DTYPE_I8, QBLAS_DTYPE_I8, QBLAS_DTYPE_I8},
    {QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2, QBLAS_DTYPE_E4M3FNUZ}, {QBLAS_DTYPE_I8, QBLAS_DTYPE_I8, QBLAS_DTYPE_I8},
    {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_E4M3}};
static const char *const cpu_names[] = {"cpu_ref_w4a16", "cpu_ref_int8", "cpu_ref_fp8", "cpu_ref_w4a8",
                                        "cpu_ref_sparse24"};

/* Random rows: buckets of one key are consecutive, disjoint M ranges. */
static size_t random_rows(qbt_rng *r, qblas_tuning_row_t *rows, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        int f = (int)qbt_int(r, 0, 4);
        qblas_tuning_row_t base = {.format = fmts[f], .act = acts_of[f][qbt_int(r, 0, 2)],
                                   .n = qbt_int(r, 1, 2147483647), .k = qbt_int(r, 1, 65536)};
        int64_t m = 1;
        for (int b = (int)qbt_int(r, 1, 4); b > 0 && n < cap && m <= 2147483647 - 8192; b--) {
            qblas_tuning_row_t row = base;
            row.m_min = m;
            row.m_max = m + qbt_int(r, 0, 4096);
            m = row.m_max + 1 + qbt_int(r, 0, 3);
            snprintf(row.kernel, sizeof row.kernel, "%s", cpu_names[f]);
            snprintf(row.config, sizeof row.config, "mt=%d,stages=%d", (int)qbt_int(r, 1, 4), (int)qbt_int(r, 2, 8));
            row.time_us = (double)qbt_int(r, 1, 999999999999LL) / 1000.0;
            rows[n++] = row;
        }
    }
    return n;
}

/* writer -> loader -> rows -> writer: identical rows, identical bytes. */
START_TEST(round_trip)
{
    qbt_rng r = qbt_rng_make(7);
    qblas_handle_t h = qbt_cpu();
    qblas_tuning_header_t hd;
    QBT_OK(qblas_tuning_device(h, &hd));
    ck_assert_str_eq(hd.device, "cpu");
    ck_assert_str_eq(hd.library, qblas_get_version_string());
    ck_assert(hd.cc == 0 && hd.sms == 0);
    for (int trial = 0; trial < 20; trial++) {
        size_t want = (size_t)qbt_int(&r, 0, trial < 19 ? 40 : QBLAS_TUNING_MAX_ROWS);
        qblas_tuning_row_t *rows = calloc(want ? want : 1, sizeof *rows);
        size_t n = random_rows(&r, rows, want), len1, len2;
        size_t cap = 256 * (n + 16);
        char *t1 = qbt_alloc(cap), *t2 = qbt_alloc(cap);
        QBT_OK(qblas_tuning_write(&hd, rows, n, t1, cap, &len1));
        ck_assert_uint_eq(strlen(t1), len1);
        QBT_OK(qblas_tuning_load_buffer(h, t1, len1));
        qblas_tuning_row_t *got;
        size_t ng;
        all_rows(h, &got, &ng);
        ck_assert_uint_eq(ng, n);
        /* the file's rows come back in canonical order: compare as sets via the sorted copy */
        QBT_OK(qblas_tuning_write(&hd, got, ng, t2, cap, &len2));
        QBT_OK(qblas_tuning_load_buffer(h, t2, len2));
        qblas_tuning_row_t *again;
        size_t na;
        all_rows(h, &again, &na);
        ck_assert(na == ng && same_rows(got, again, ng));
        for (size_t i = 0; i < n; i++) { /* every written row is found, equal, by lookup */
            const qblas_tuning_entry_t *f = find_gemm(h, rows[i].format, rows[i].act, rows[i].m_max, rows[i].n,
                                                      rows[i].k);
            ck_assert(f && entry_is_row(f, &rows[i]));
        }
        /* written again from the loaded rows: the same bytes */
        char *t3 = qbt_alloc(cap);
        size_t len3;
        QBT_OK(qblas_tuning_write(&hd, again, na, t3, cap, &len3));
        ck_assert(len3 == len2 && memcmp(t2, t3, len2) == 0);
        qbt_free(t1), qbt_free(t2), qbt_free(t3);
        free(rows), free(got), free(again);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(writer_rejects_bad_fields)
{
    qblas_handle_t h = qbt_cpu();
    qblas_tuning_header_t hd;
    QBT_OK(qblas_tuning_device(h, &hd));
    qblas_tuning_row_t good = {.format = QBLAS_WFORMAT_W4A16, .act = QBLAS_DTYPE_BF16, .m_min = 1, .m_max = 8,
                               .n = 64, .k = 64, .kernel = "cpu_ref_w4a16", .config = "-", .time_us = 1.25};
    enum { CAP = 4096 };
    char *buf = qbt_alloc(CAP);
    void *snap = qbt_snapshot(buf, CAP);
    size_t len = 0;
    qblas_tuning_row_t rows[2] = {good, good};
    for (int c = 0; c < 11; c++) {
        qblas_tuning_header_t hh = hd;
        qblas_tuning_row_t r = good;
        switch (c) {
        case 0: r.act = QBLAS_DTYPE_I8; break;
        case 1: r.m_max = 0; break;
        case 2: r.n = 2147483648LL; break;
        case 3: snprintf(r.kernel, sizeof r.kernel, "bad name"); break;
        case 4: r.config[0] = '\0'; break;
        case 5: r.time_us = NAN; break;
        case 6: r.time_us = 0.0004; break;
        case 7: snprintf(hh.device, sizeof hh.device, " cpu"); break;
        case 8: hh.cc = -1; break;
        case 9: snprintf(hh.driver, sizeof hh.driver, "a b"); break;
        default: r.format = (qblas_wformat_t)9; break;
        }
        QBT_STATUS(qblas_tuning_write(&hh, &r, 1, buf, CAP, &len), QBLAS_STATUS_INVALID_VALUE);
    }
    QBT_STATUS(qblas_tuning_write(&hd, rows, 2, buf, CAP, &len), QBLAS_STATUS_INVALID_VALUE); /* overlap */
    QBT_STATUS(qblas_tuning_write(&hd, rows, 1, buf, 100, &len), QBLAS_STATUS_INVALID_VALUE); /* too small */
    ck_assert(len > 100);
    QBT_STATUS(qblas_tuning_write(&hd, rows, 1, buf, len, &len), QBLAS_STATUS_INVALID_VALUE); /* no room for NUL */
    ck_assert(qbt_unchanged(buf, snap, CAP));
    QBT_OK(qblas_tuning_write(&hd, rows, 1, buf, len + 1, &len));
    ck_assert(strstr(buf, " 1.250\n") != NULL);
    QBT_OK(qblas_tuning_write(&hd, NULL, 0, buf, CAP, &len)); /* a file of no rows is valid */
    QBT_OK(qblas_tuning_load_buffer(h, buf, len));
    free(snap);
    qbt_free(buf);
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(bad_arguments)
{
    qblas_handle_t h = qbt_cpu();
    size_t n;
    const char *names[4];
    QBT_STATUS(qblas_tuning_load_buffer(NULL, "x", 1), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_tuning_load_buffer(h, NULL, 10), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_tuning_load_file(h, NULL), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_tuning_load_file(h, "/nonexistent/qblas/tuning.txt"), QBLAS_STATUS_INVALID_VALUE);
    ck_assert(strstr(qblas_last_error(h), "/nonexistent/qblas/tuning.txt") != NULL);
    QBT_STATUS(qblas_tuning_clear(NULL), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_tuning_row_count(h, NULL), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_tuning_get_row(h, 0, NULL), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_tuning_device(h, NULL), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_tuning_kernels(h, QBLAS_WFORMAT_W4A16, QBLAS_DTYPE_F16, NULL, 4, &n), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_tuning_kernels(h, (qblas_wformat_t)0, QBLAS_DTYPE_F16, names, 4, &n), QBLAS_STATUS_INVALID_VALUE);
    /* the CPU: one kernel per format */
    QBT_OK(qblas_tuning_kernels(h, QBLAS_WFORMAT_W4A16, QBLAS_DTYPE_BF16, names, 4, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(names[0], "cpu_ref_w4a16");
    QBT_OK(qblas_tuning_kernels(h, QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E5M2, NULL, 0, &n));
    ck_assert_uint_eq(n, 1);
    QBT_OK(qblas_tuning_kernels(h, QBLAS_WFORMAT_W4A16, QBLAS_DTYPE_I8, names, 4, &n));
    ck_assert_uint_eq(n, 0);
    QBT_OK(qblas_destroy(h));
}
END_TEST

static char *write_temp(const char *text, size_t len)
{
    static const char tmpl[] = "/tmp/qblas_tuning_XXXXXX";
    char *path = malloc(sizeof tmpl);
    memcpy(path, tmpl, sizeof tmpl);
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    ck_assert(write(fd, text, len) == (ssize_t)len);
    close(fd);
    return path;
}

/* The file API and $QBLAS_TUNING_FILE: a file that does not load fails qblas_create. */
START_TEST(file_and_environment)
{
    size_t len, bad_len;
    char *t = base_text(&len), *bad = mutate("end 3\n", "end 2\n", 6, &bad_len);
    char *mis = NULL;
    size_t mis_len;
    mis = mutate("sms 0\n", "sms 132\n", 8, &mis_len);
    char *good_path = write_temp(t, len), *bad_path = write_temp(bad, bad_len), *mis_path = write_temp(mis, mis_len);
    qblas_handle_t h = qbt_cpu();
    size_t rows;
    QBT_OK(qblas_tuning_load_file(h, good_path));
    QBT_OK(qblas_tuning_row_count(h, &rows));
    ck_assert_uint_eq(rows, 3);
    QBT_STATUS(qblas_tuning_load_file(h, bad_path), QBLAS_STATUS_INVALID_VALUE);
    QBT_OK(qblas_tuning_row_count(h, &rows));
    ck_assert_uint_eq(rows, 3);
    QBT_OK(qblas_destroy(h));

    qblas_handle_t e = NULL;
    ck_assert(setenv("QBLAS_TUNING_FILE", good_path, 1) == 0);
    QBT_OK(qblas_create(&e, QBLAS_BACKEND_CPU, 0));
    QBT_OK(qblas_tuning_row_count(e, &rows));
    ck_assert_uint_eq(rows, 3);
    QBT_OK(qblas_destroy(e));

    ck_assert(setenv("QBLAS_TUNING_FILE", bad_path, 1) == 0);
    e = (qblas_handle_t)&rows; /* must come back NULL */
    QBT_STATUS(qblas_create(&e, QBLAS_BACKEND_CPU, 0), QBLAS_STATUS_INVALID_VALUE);
    ck_assert(e == NULL);
    ck_assert(strstr(qblas_last_error(NULL), "QBLAS_TUNING_FILE") != NULL);
    ck_assert(strstr(qblas_last_error(NULL), "end 2") != NULL);

    ck_assert(setenv("QBLAS_TUNING_FILE", mis_path, 1) == 0);
    QBT_STATUS(qblas_create(&e, QBLAS_BACKEND_CPU, 0), QBLAS_STATUS_ARCH_MISMATCH);
    ck_assert(e == NULL);

    ck_assert(setenv("QBLAS_TUNING_FILE", "", 1) == 0); /* empty: not set */
    QBT_OK(qblas_create(&e, QBLAS_BACKEND_CPU, 0));
    QBT_OK(qblas_tuning_row_count(e, &rows));
    ck_assert_uint_eq(rows, 0);
    QBT_OK(qblas_destroy(e));
    unsetenv("QBLAS_TUNING_FILE");

    unlink(good_path), unlink(bad_path), unlink(mis_path);
    free(good_path), free(bad_path), free(mis_path);
    qbt_free(t), qbt_free(bad), qbt_free(mis);
}
END_TEST

/* Error texts keep the reason when the path is long: a file ~420 bytes deep
 * (texts are cut at 255 bytes) that does not parse, loaded directly and
 * through $QBLAS_TUNING_FILE, and one that does not exist. Before, the path
 * came first and the reason was cut off entirely. */
START_TEST(long_path_keeps_reason)
{
    char dir[512] = "/tmp/qblas_long_XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char sub1[512], sub2[512], path[600], missing[600];
    snprintf(sub1, sizeof sub1, "%s/%0200d", dir, 1);
    snprintf(sub2, sizeof sub2, "%s/%0190d", sub1, 2);
    ck_assert(mkdir(sub1, 0700) == 0 && mkdir(sub2, 0700) == 0);
    snprintf(path, sizeof path, "%s/tuning.txt", sub2);
    snprintf(missing, sizeof missing, "%s/missing.txt", sub2);
    ck_assert(strlen(path) > 400);
    size_t bad_len;
    char *bad = mutate("end 3\n", "end 2\n", 6, &bad_len);
    FILE *f = fopen(path, "wb");
    ck_assert(f && fwrite(bad, 1, bad_len, f) == bad_len && fclose(f) == 0);

    /* the reason, as the parser gives it for the same bytes */
    qblas_handle_t h = qbt_cpu();
    QBT_STATUS(qblas_tuning_load_buffer(h, bad, bad_len), QBLAS_STATUS_INVALID_VALUE);
    char why[256];
    snprintf(why, sizeof why, "%s", qblas_last_error(h));
    ck_assert(strlen(why) > 0 && strlen(why) < 150);
    QBT_STATUS(qblas_tuning_load_file(h, path), QBLAS_STATUS_INVALID_VALUE);
    ck_assert_msg(strstr(qblas_last_error(h), why) != NULL, "'%s' lost the reason '%s'", qblas_last_error(h), why);
    QBT_STATUS(qblas_tuning_load_file(h, missing), QBLAS_STATUS_INVALID_VALUE);
    ck_assert_msg(strstr(qblas_last_error(h), strerror(ENOENT)) != NULL, "'%s' lost the reason", qblas_last_error(h));
    QBT_OK(qblas_destroy(h));

    qblas_handle_t e = NULL;
    ck_assert(setenv("QBLAS_TUNING_FILE", path, 1) == 0);
    QBT_STATUS(qblas_create(&e, QBLAS_BACKEND_CPU, 0), QBLAS_STATUS_INVALID_VALUE);
    ck_assert_msg(strstr(qblas_last_error(NULL), why) != NULL && strstr(qblas_last_error(NULL), "QBLAS_TUNING_FILE"),
                  "'%s' lost the reason '%s'", qblas_last_error(NULL), why);
    unsetenv("QBLAS_TUNING_FILE");

    unlink(path), rmdir(sub2), rmdir(sub1), rmdir(dir);
    qbt_free(bad);
}
END_TEST

/* Only regular files are tuning files: a FIFO with no writer (opening it
 * for reading would wait for one forever), a directory and a character
 * device are refused at once, from qblas_tuning_load_file and through
 * $QBLAS_TUNING_FILE. Before, the FIFO blocked qblas_create forever (this
 * test case has a 10 s limit for that). */
START_TEST(special_files_refused)
{
    char dir[64] = "/tmp/qblas_fifo_XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char fifo[96];
    snprintf(fifo, sizeof fifo, "%s/tuning.fifo", dir);
    ck_assert(mkfifo(fifo, 0600) == 0);
    const char *paths[] = {fifo, dir, "/dev/null"};
    qblas_handle_t h = qbt_cpu();
    for (int i = 0; i < 3; i++) {
        QBT_STATUS(qblas_tuning_load_file(h, paths[i]), QBLAS_STATUS_INVALID_VALUE);
        ck_assert_msg(strstr(qblas_last_error(h), "regular file") != NULL, "%s: '%s'", paths[i], qblas_last_error(h));
        qblas_handle_t e = NULL;
        ck_assert(setenv("QBLAS_TUNING_FILE", paths[i], 1) == 0);
        QBT_STATUS(qblas_create(&e, QBLAS_BACKEND_CPU, 0), QBLAS_STATUS_INVALID_VALUE);
        ck_assert(e == NULL);
    }
    unsetenv("QBLAS_TUNING_FILE");
    QBT_OK(qblas_destroy(h));
    unlink(fifo), rmdir(dir);
}
END_TEST

/* ---------------------------------------------------------------- format version 2 */

static qblas_handle_t v2_handle(void)
{
    qblas_handle_t h = qbt_cpu();
    size_t len;
    char *t = fmt_text(v2_fmt, sizeof v2_fmt, &len);
    QBT_OK(qblas_tuning_load_buffer(h, t, len));
    qbt_free(t);
    return h;
}

static qblas_tuning_entry_t attn_key(qblas_tuning_op_t op, qblas_dtype_t q, qblas_dtype_t kv, int64_t hq, int64_t hkv,
                                     int64_t d)
{
    const qblas_tuning_entry_t key = {.op = op, .act = q, .kv_dtype = kv, .n = hq, .k = hkv, .head_dim = d};
    return key;
}

/* Attention rows load, sort after the GEMM rows (which the version 1 API
 * still sees alone), and are found by their whole key and M bucket. */
START_TEST(attention_rows_load_and_lookup)
{
    qblas_handle_t h = v2_handle();
    size_t n, ng;
    QBT_OK(qblas_tuning_entry_count(h, &n));
    QBT_OK(qblas_tuning_row_count(h, &ng));
    ck_assert(n == 4 && ng == 2);
    qblas_tuning_entry_t e[4];
    for (size_t i = 0; i < 4; i++) QBT_OK(qblas_tuning_get_entry(h, i, &e[i]));
    ck_assert(e[0].op == QBLAS_TUNING_GEMM && e[0].format == QBLAS_WFORMAT_W4A16);
    ck_assert(e[1].op == QBLAS_TUNING_GEMM && e[1].format == QBLAS_WFORMAT_INT8);
    ck_assert(e[2].op == QBLAS_TUNING_ATTN_DECODE && e[2].act == QBLAS_DTYPE_F16 && e[2].kv_dtype == QBLAS_DTYPE_E4M3);
    ck_assert(e[2].m_min == 1 && e[2].m_max == 8 && e[2].n == 32 && e[2].k == 8 && e[2].head_dim == 128);
    ck_assert(e[2].format == QBLAS_WFORMAT_INVALID && !strcmp(e[2].config, "fill=2") && e[2].time_us == 3.0);
    ck_assert(e[3].op == QBLAS_TUNING_ATTN_PREFILL && e[3].kv_dtype == QBLAS_DTYPE_BF16 && e[3].m_max == 2147483647);
    qblas_tuning_row_t r;
    QBT_OK(qblas_tuning_get_row(h, 1, &r));
    ck_assert(entry_is_row(&e[1], &r));
    QBT_STATUS(qblas_tuning_get_row(h, 2, &r), QBLAS_STATUS_INVALID_VALUE); /* attention rows are not GEMM rows */
    QBT_STATUS(qblas_tuning_get_entry(h, 4, &e[0]), QBLAS_STATUS_INVALID_VALUE);

    qblas_tuning_entry_t k = attn_key(QBLAS_TUNING_ATTN_DECODE, QBLAS_DTYPE_F16, QBLAS_DTYPE_E4M3, 32, 8, 128);
    for (int64_t m = 1; m <= 9; m++) ck_assert((qb_tuning_find(h, &k, m) != NULL) == (m <= 8));
    const qblas_tuning_entry_t others[] = {
        attn_key(QBLAS_TUNING_ATTN_PREFILL, QBLAS_DTYPE_F16, QBLAS_DTYPE_E4M3, 32, 8, 128),
        attn_key(QBLAS_TUNING_ATTN_DECODE, QBLAS_DTYPE_BF16, QBLAS_DTYPE_E4M3, 32, 8, 128),
        attn_key(QBLAS_TUNING_ATTN_DECODE, QBLAS_DTYPE_F16, QBLAS_DTYPE_I8, 32, 8, 128),
        attn_key(QBLAS_TUNING_ATTN_DECODE, QBLAS_DTYPE_F16, QBLAS_DTYPE_E4M3, 64, 8, 128),
        attn_key(QBLAS_TUNING_ATTN_DECODE, QBLAS_DTYPE_F16, QBLAS_DTYPE_E4M3, 32, 4, 128),
        attn_key(QBLAS_TUNING_ATTN_DECODE, QBLAS_DTYPE_F16, QBLAS_DTYPE_E4M3, 32, 8, 64),
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) ck_assert(qb_tuning_find(h, &others[i], 1) == NULL);
    k = attn_key(QBLAS_TUNING_ATTN_PREFILL, QBLAS_DTYPE_BF16, QBLAS_DTYPE_BF16, 64, 8, 128);
    ck_assert(qb_tuning_find(h, &k, 2147483647) == &h->tuning->rows[3]);
    ck_assert(find_gemm(h, QBLAS_WFORMAT_W4A16, QBLAS_DTYPE_F16, 16, 4096, 4096) == &h->tuning->rows[0]);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Version 2's own malformed classes: INVALID_VALUE, rows kept. */
static const mutation malformed_v2[] = {
    {"attn_decode f16 e4m3", "attn_decode f32 e4m3"},   /* query dtype */
    {"attn_decode f16 e4m3", "attn_decode f16 u8"},     /* cache dtype */
    {" 32 8 128 ", " 32 8 100 "},                       /* head_dim */
    {" 32 8 128 ", " 32 8 0128 "},                      /* leading zero */
    {" 32 8 128 ", " 32 5 128 "},                       /* query heads not a multiple of KV heads */
    {" 32 8 128 ", " 32 0 128 "},                       /* no KV heads */
    {" 32 8 128 ", " 32 8 "},                           /* 10 fields */
    {" 32 8 128 ", " 32 8 128 128 "},                   /* 12 fields */
    {"attn_decode f16", "attn_decod f16"},              /* unknown operation */
    {"attn_decode f16", "attn_decode  f16"},            /* double space */
    {"cpu_ref_attention fill", "cpu_ref_int8 fill"},    /* a GEMM kernel on an attention row */
    {"gemm int8 i8 1 4096 1024 512 cpu_ref_int8", "gemm int8 i8 1 4096 1024 512 cpu_ref_attention"}, /* and back */
    {"end 4\n", "attn_decode f16 e4m3 8 9 32 8 128 cpu_ref_attention - 1.000\nend 5\n"}, /* overlapping M */
    {"end 4\n", "end 3\n"},                             /* wrong row count */
};

START_TEST(malformed_v2_rejected)
{
    qblas_handle_t h = v2_handle();
    for (size_t i = 0; i < sizeof malformed_v2 / sizeof malformed_v2[0]; i++) {
        const mutation *mu = &malformed_v2[i];
        size_t len, n;
        char *t = mutate_fmt(v2_fmt, sizeof v2_fmt, mu->from, mu->to, strlen(mu->to), &len);
        qblas_status_t st = qblas_tuning_load_buffer(h, t, len);
        ck_assert_msg(st == QBLAS_STATUS_INVALID_VALUE, "case %zu ('%s' -> '%s'): %s", i, mu->from, mu->to,
                      qblas_status_string(st));
        ck_assert_msg(strlen(qblas_last_error(h)) > 0, "case %zu leaves no reason", i);
        QBT_OK(qblas_tuning_entry_count(h, &n));
        ck_assert_uint_eq(n, 4);
        qbt_free(t);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Version 1 files are read as they are; an attention row in one is named as the reason. */
START_TEST(version1_read_compatibly)
{
    qblas_handle_t h = loaded_handle(); /* base_fmt: version 1 */
    size_t n, len;
    QBT_OK(qblas_tuning_entry_count(h, &n));
    ck_assert_uint_eq(n, 3);
    char *t = mutate("end 3\n", "attn_decode f16 f16 1 1 8 8 64 cpu_ref_attention - 1.000\nend 4\n", 61, &len);
    QBT_STATUS(qblas_tuning_load_buffer(h, t, len), QBLAS_STATUS_INVALID_VALUE);
    ck_assert_msg(strstr(qblas_last_error(h), "version 2") != NULL, "'%s'", qblas_last_error(h));
    qbt_free(t);
    t = mutate("qblas-tuning 1\n", "qblas-tuning 3\n", 15, &len);
    QBT_STATUS(qblas_tuning_load_buffer(h, t, len), QBLAS_STATUS_INVALID_VALUE);
    ck_assert_msg(strstr(qblas_last_error(h), "1 or 2") != NULL, "'%s'", qblas_last_error(h));
    qbt_free(t);
    /* the writer writes the current version; the rows read back the same */
    qblas_tuning_header_t hd;
    char buf[2048];
    QBT_OK(qblas_tuning_device(h, &hd));
    qblas_tuning_row_t r;
    QBT_OK(qblas_tuning_get_row(h, 0, &r));
    QBT_OK(qblas_tuning_write(&hd, &r, 1, buf, sizeof buf, &len));
    ck_assert(strncmp(buf, "qblas-tuning 2\n", 15) == 0);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Random entries of every kind: written, loaded, written again: the same bytes. */
START_TEST(entries_round_trip)
{
    static const qblas_dtype_t kvs[] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_I8,
                                        QBLAS_DTYPE_U4};
    qbt_rng r = qbt_rng_make(11);
    qblas_handle_t h = qbt_cpu();
    qblas_tuning_header_t hd;
    QBT_OK(qblas_tuning_device(h, &hd));
    for (int trial = 0; trial < 10; trial++) {
        enum { N = 60 };
        qblas_tuning_entry_t e[N];
        qblas_tuning_row_t rows[N];
        size_t ng = random_rows(&r, rows, N / 2), n = 0;
        for (size_t i = 0; i < ng; i++) {
            memset(&e[n], 0, sizeof e[n]);
            e[n] = (qblas_tuning_entry_t){.op = QBLAS_TUNING_GEMM, .format = rows[i].format, .act = rows[i].act,
                                          .m_min = rows[i].m_min, .m_max = rows[i].m_max, .n = rows[i].n,
                                          .k = rows[i].k, .time_us = rows[i].time_us};
            memcpy(e[n].kernel, rows[i].kernel, sizeof e[n].kernel);
            memcpy(e[n].config, rows[i].config, sizeof e[n].config);
            n++;
        }
        while (n < N) { /* attention rows: one key each, M buckets from 1 */
            const int64_t hkv = qbt_int(&r, 1, 64);
            qblas_tuning_entry_t a = {
                .op = qbt_int(&r, 0, 1) ? QBLAS_TUNING_ATTN_DECODE : QBLAS_TUNING_ATTN_PREFILL,
                .act = qbt_int(&r, 0, 1) ? QBLAS_DTYPE_F16 : QBLAS_DTYPE_BF16, .kv_dtype = kvs[qbt_int(&r, 0, 4)],
                .m_min = 1, .m_max = qbt_int(&r, 1, 2147483647), .n = hkv * qbt_int(&r, 1, 16), .k = hkv,
                .head_dim = 64 << qbt_int(&r, 0, 2), .kernel = "cpu_ref_attention", .config = "-",
                .time_us = (double)qbt_int(&r, 1, 999999999999LL) / 1000.0};
            e[n++] = a;
        }
        /* attention keys drawn at random may repeat: drop the repeats the loader would refuse */
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            bool dup = false;
            for (size_t j = 0; j < kept && e[i].op != QBLAS_TUNING_GEMM; j++)
                dup |= e[j].op == e[i].op && e[j].act == e[i].act && e[j].kv_dtype == e[i].kv_dtype &&
                       e[j].n == e[i].n && e[j].k == e[i].k && e[j].head_dim == e[i].head_dim;
            if (!dup) e[kept++] = e[i];
        }
        size_t cap = 256 * (kept + 16), len1, len2, got;
        char *t1 = qbt_alloc(cap), *t2 = qbt_alloc(cap);
        QBT_OK(qblas_tuning_write_entries(&hd, e, kept, t1, cap, &len1));
        QBT_OK(qblas_tuning_load_buffer(h, t1, len1));
        QBT_OK(qblas_tuning_entry_count(h, &got));
        ck_assert_uint_eq(got, kept);
        qblas_tuning_entry_t *back = calloc(got, sizeof *back);
        for (size_t i = 0; i < got; i++) QBT_OK(qblas_tuning_get_entry(h, i, &back[i]));
        for (size_t i = 0; i < kept; i++) { /* each written row is found, equal, by its key */
            const qblas_tuning_entry_t *f = qb_tuning_find(h, &e[i], e[i].m_min);
            ck_assert(f && !memcmp(f, &e[i], offsetof(qblas_tuning_entry_t, kernel)) && !strcmp(f->kernel, e[i].kernel) &&
                      !strcmp(f->config, e[i].config) && f->time_us == e[i].time_us);
        }
        QBT_OK(qblas_tuning_write_entries(&hd, back, got, t2, cap, &len2));
        char *t3 = qbt_alloc(cap);
        size_t len3;
        QBT_OK(qblas_tuning_load_buffer(h, t2, len2));
        for (size_t i = 0; i < got; i++) QBT_OK(qblas_tuning_get_entry(h, i, &back[i]));
        QBT_OK(qblas_tuning_write_entries(&hd, back, got, t3, cap, &len3));
        ck_assert(len3 == len2 && memcmp(t2, t3, len2) == 0);
        qbt_free(t1), qbt_free(t2), qbt_free(t3);
        free(back);
    }
    QBT_OK(qblas_destroy(h));
}
END_TEST

START_TEST(entry_writer_rejects_bad_fields)
{
    qblas_tuning_header_t hd;
    qblas_handle_t h = qbt_cpu();
    QBT_OK(qblas_tuning_device(h, &hd));
    const qblas_tuning_entry_t good = {.op = QBLAS_TUNING_ATTN_DECODE, .act = QBLAS_DTYPE_F16,
                                       .kv_dtype = QBLAS_DTYPE_E4M3, .m_min = 1, .m_max = 4, .n = 32, .k = 8,
                                       .head_dim = 128, .kernel = "cpu_ref_attention", .config = "-", .time_us = 1.0};
    char buf[2048];
    size_t len;
    QBT_OK(qblas_tuning_write_entries(&hd, &good, 1, buf, sizeof buf, &len));
    ck_assert(strstr(buf, "\nattn_decode f16 e4m3 1 4 32 8 128 cpu_ref_attention - 1.000\n") != NULL);
    for (int c = 0; c < 8; c++) {
        qblas_tuning_entry_t e = good;
        switch (c) {
        case 0: e.head_dim = 96; break;
        case 1: e.k = 5; break;                          /* 32 query heads over 5 KV heads */
        case 2: e.act = QBLAS_DTYPE_F32; break;
        case 3: e.kv_dtype = QBLAS_DTYPE_E5M2; break;
        case 4: e.format = QBLAS_WFORMAT_W4A16; break;   /* attention rows have no weight format */
        case 5: e.op = (qblas_tuning_op_t)3; break;
        case 6: e.op = QBLAS_TUNING_GEMM, e.format = QBLAS_WFORMAT_INT8, e.act = QBLAS_DTYPE_I8, e.kv_dtype = 0; break;
        default: e.op = QBLAS_TUNING_GEMM, e.format = QBLAS_WFORMAT_INT8, e.act = QBLAS_DTYPE_I8, e.head_dim = 0; break;
        }
        QBT_STATUS(qblas_tuning_write_entries(&hd, &e, 1, buf, sizeof buf, &len), QBLAS_STATUS_INVALID_VALUE);
    }
    qblas_tuning_entry_t two[2] = {good, good};
    two[1].m_min = 4, two[1].m_max = 9;
    QBT_STATUS(qblas_tuning_write_entries(&hd, two, 2, buf, sizeof buf, &len), QBLAS_STATUS_INVALID_VALUE); /* overlap */
    two[1].m_min = 5;
    QBT_OK(qblas_tuning_write_entries(&hd, two, 2, buf, sizeof buf, &len));
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* The candidates of every row kind (on the CPU: the reference kernels). */
START_TEST(candidates_of_every_kind)
{
    qblas_handle_t h = qbt_cpu();
    const char *names[4];
    size_t n;
    qblas_tuning_entry_t k = attn_key(QBLAS_TUNING_ATTN_DECODE, QBLAS_DTYPE_BF16, QBLAS_DTYPE_U4, 8, 8, 64);
    QBT_OK(qblas_tuning_candidates(h, &k, names, 4, &n));
    ck_assert(n == 1 && !strcmp(names[0], "cpu_ref_attention"));
    k.op = QBLAS_TUNING_ATTN_PREFILL;
    QBT_OK(qblas_tuning_candidates(h, &k, names, 4, &n));
    ck_assert(n == 1 && !strcmp(names[0], "cpu_ref_attention"));
    k.act = QBLAS_DTYPE_I8; /* not a query dtype */
    QBT_OK(qblas_tuning_candidates(h, &k, names, 4, &n));
    ck_assert_uint_eq(n, 0);
    k = (qblas_tuning_entry_t){.op = QBLAS_TUNING_GEMM, .format = QBLAS_WFORMAT_SPARSE24, .act = QBLAS_DTYPE_E5M2};
    QBT_OK(qblas_tuning_candidates(h, &k, names, 4, &n));
    ck_assert(n == 1 && !strcmp(names[0], "cpu_ref_sparse24"));
    k.op = (qblas_tuning_op_t)7;
    QBT_STATUS(qblas_tuning_candidates(h, &k, names, 4, &n), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_tuning_candidates(h, NULL, names, 4, &n), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_tuning_candidates(h, &k, NULL, 4, &n), QBLAS_STATUS_INVALID_VALUE);
    QBT_OK(qblas_destroy(h));
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("tuning");
    TCase *tc = tcase_create("tuning");
    tcase_add_test(tc, valid_file_loads_and_is_queried);
    tcase_add_test(tc, lookup_by_bucket);
    tcase_add_test(tc, malformed_rejected_and_rows_kept);
    tcase_add_test(tc, limits_rejected);
    tcase_add_test(tc, truncated_never_loads);
    tcase_add_test(tc, header_mismatch_rejected_whole);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, writer_rejects_bad_fields);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, file_and_environment);
    tcase_add_test(tc, long_path_keeps_reason);
    tcase_add_test(tc, attention_rows_load_and_lookup);
    tcase_add_test(tc, malformed_v2_rejected);
    tcase_add_test(tc, version1_read_compatibly);
    tcase_add_test(tc, entries_round_trip);
    tcase_add_test(tc, entry_writer_rejects_bad_fields);
    tcase_add_test(tc, candidates_of_every_kind);
    suite_add_tcase(s, tc);
    TCase *special = tcase_create("special_files");
    tcase_set_timeout(special, 10); /* a blocking open must fail the test, not hang it */
    tcase_add_test(special, special_files_refused);
    suite_add_tcase(s, special);
    return s;
}
