/* tuning.c - tuning files: the strict parser, the writer, loading into a
 * handle, and the lookup the GPU selectors use (docs/TUNING.md). Every row,
 * GEMM or attention, is held as one qblas_tuning_entry_t.
 *
 * The parser trusts nothing in its input: every line is bounded
 * (QBLAS_TUNING_MAX_LINE), every byte must be printable ASCII, every number
 * is parsed digit by digit against its own limit, and the only allocation
 * is the row array, sized by the number of lines actually present and
 * capped at QBLAS_TUNING_MAX_ROWS. A file is either loaded whole or not at
 * all: it is parsed into a fresh qb_tuning and swapped into the handle only
 * after every check passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuning.h"

#define LL(x) ((long long)(x))
#define MAX_DIM 2147483647LL            /* m, n, k in 1 .. 2^31-1 */
#define MAX_TIME_NS 999999999999LL      /* time_us < 10^9 */
#define MAX_CC 1000
#define MAX_SMS 100000
#define MAGIC "qblas-tuning"

/* ================= characters and numbers ================= */

static int is_alnum(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int token_char(int c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; }
static int kernel_char(int c) { return is_alnum(c) || c == '_'; }
static int config_char(int c) { return is_alnum(c) || strchr("._=,:+-", c) != NULL; }

/* s[0..n) is 1..max-1 bytes, each accepted by ok (max counts the NUL). */
static int valid_field(const char *s, size_t n, size_t max, int (*ok)(int))
{
    if (n == 0 || n >= max) return 0;
    for (size_t i = 0; i < n; i++)
        if (!ok((unsigned char)s[i])) return 0;
    return 1;
}

static int valid_device(const char *s, size_t n)
{
    if (n == 0 || n >= QBLAS_TUNING_DEVICE_MAX || s[0] == ' ' || s[n - 1] == ' ') return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E) return 0;
    return 1;
}

/* Decimal without sign or leading zeros, at most 12 digits (no overflow
 * before the limit check), value <= max. */
static int parse_uint(const char *s, size_t n, int64_t max, int64_t *out)
{
    int64_t v = 0;
    if (n == 0 || n > 12 || (n > 1 && s[0] == '0')) return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max) return 0;
    *out = v;
    return 1;
}

/* "<int>.<3 digits>" microseconds -> nanoseconds, in 1 .. MAX_TIME_NS. */
static int parse_time(const char *s, size_t n, int64_t *ns)
{
    int64_t whole, frac;
    const char *dot = n > 4 ? memchr(s, '.', n) : NULL;
    if (!dot || (size_t)(s + n - dot) != 4) return 0;
    if (!parse_uint(s, (size_t)(dot - s), MAX_TIME_NS / 1000, &whole)) return 0;
    for (int i = 1; i <= 3; i++)
        if (dot[i] < '0' || dot[i] > '9') return 0;
    frac = (dot[1] - '0') * 100 + (dot[2] - '0') * 10 + (dot[3] - '0');
    *ns = whole * 1000 + frac;
    return *ns >= 1;
}

/* ================= formats ================= */

/* The GEMM formats a row may name, and their activation dtypes. */
static const struct {
    const char *name;
    qblas_wformat_t format;
    qblas_dtype_t acts[5];
    int nacts;
} formats[] = {
    {"w4a16", QBLAS_WFORMAT_W4A16, {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16}, 2},
    {"int8", QBLAS_WFORMAT_INT8, {QBLAS_DTYPE_I8}, 1},
    {"fp8", QBLAS_WFORMAT_FP8, {QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2, QBLAS_DTYPE_E4M3FNUZ}, 3},
    {"w4a8", QBLAS_WFORMAT_W4A8, {QBLAS_DTYPE_I8}, 1},
    {"sparse24", QBLAS_WFORMAT_SPARSE24, {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_I8, QBLAS_DTYPE_E4M3,
                                          QBLAS_DTYPE_E5M2}, 5},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

static int format_index(qblas_wformat_t f)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (formats[i].format == f) return (int)i;
    return -1;
}

static int act_allowed(int fi, qblas_dtype_t act)
{
    for (int i = 0; i < formats[fi].nacts; i++)
        if (formats[fi].acts[i] == act) return 1;
    return 0;
}

/* Attention rows: the query dtypes and cache dtypes qblas_attention takes. */
static const qblas_dtype_t attn_q[] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16};
static const qblas_dtype_t attn_kv[] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_I8,
                                        QBLAS_DTYPE_U4};
static int in_set(const qblas_dtype_t *set, size_t n, qblas_dtype_t t)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == t) return 1;
    return 0;
}
#define IN_SET(set, t) in_set(set, sizeof set / sizeof set[0], t)

static const char *const op_names[] = {"gemm", "attn_decode", "attn_prefill"};
static int op_valid(qblas_tuning_op_t op) { return op >= QBLAS_TUNING_GEMM && op <= QBLAS_TUNING_ATTN_PREFILL; }

/* The (op, format, act, kv_dtype) of a key may appear in a row. */
static int key_allowed(const qblas_tuning_entry_t *e)
{
    if (e->op == QBLAS_TUNING_GEMM) {
        int fi = format_index(e->format);
        return fi >= 0 && act_allowed(fi, e->act);
    }
    return op_valid(e->op) && e->format == QBLAS_WFORMAT_INVALID && IN_SET(attn_q, e->act) &&
           IN_SET(attn_kv, e->kv_dtype);
}

static int field_is(const char *s, size_t n, const char *word) { return strlen(word) == n && memcmp(s, word, n) == 0; }

static int lookup_format(const char *s, size_t n)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (field_is(s, n, formats[i].name)) return (int)i;
    return -1;
}

static int lookup_act(int fi, const char *s, size_t n, qblas_dtype_t *act)
{
    for (int i = 0; i < formats[fi].nacts; i++)
        if (field_is(s, n, qblas_dtype_name(formats[fi].acts[i]))) {
            *act = formats[fi].acts[i];
            return 1;
        }
    return 0;
}

/* ================= lines and fields ================= */

typedef struct {
    qblas_handle_t h;
    const char *buf;
    size_t len, pos;
    int version;      /* the file's format version (1 or 2), once its first line is read */
    long line;        /* 1-based number of the current line */
    const char *s;    /* current line, without its '\n' */
    size_t n;
} cursor;

#define BAD(c, msg, what) bad_line((c), (msg), (what))

/* INVALID_VALUE naming the line: msg (a fixed text) followed by what. */
static qblas_status_t bad_line(const cursor *c, const char *msg, const char *what)
{
    return qb_fail(c->h, QBLAS_STATUS_INVALID_VALUE, "tuning file line %ld: %s%s", c->line, msg, what);
}

/* Bytes of the line at s (at most room bytes there): the count before its
 * '\n', stopping at the first byte outside printable ASCII (*bad = it) or
 * one past the line limit. */
static size_t scan_line(const char *s, size_t room, int *bad)
{
    size_t n = 0;
    *bad = -1;
    for (; n < room && n <= QBLAS_TUNING_MAX_LINE && s[n] != '\n'; n++) {
        unsigned char b = (unsigned char)s[n];
        if (b < 0x20 || b > 0x7E) {
            *bad = b;
            break;
        }
    }
    return n;
}

/* The next line that is neither blank nor a comment: 1, 0 at the end of the
 * buffer, -1 (*st says why) for a line that breaks the byte rules. */
static int next_line(cursor *c, qblas_status_t *st)
{
    while (c->pos < c->len) {
        const char *s = c->buf + c->pos;
        size_t room = c->len - c->pos;
        int bad;
        size_t n = scan_line(s, room, &bad);
        c->line++;
        if (bad >= 0)
            *st = qb_fail(c->h, QBLAS_STATUS_INVALID_VALUE,
                          "tuning file line %ld: byte 0x%02x at column %zu (only printable ASCII and '\\n' are allowed)",
                          c->line, bad, n + 1);
        else if (n > QBLAS_TUNING_MAX_LINE)
            *st = BAD(c, "line longer than the limit of 255 bytes", "");
        else if (n == room)
            *st = BAD(c, "no '\\n' at the end of the last line (truncated file?)", "");
        if (bad >= 0 || n > QBLAS_TUNING_MAX_LINE || n == room) return -1;
        c->pos += n + 1;
        if (n == 0 || s[0] == '#') continue;
        c->s = s;
        c->n = n;
        return 1;
    }
    return 0;
}

/* Split the current line at single spaces: exactly `want` non-empty fields. */
typedef struct {
    const char *s[12];
    size_t n[12];
} fields;

static int split(const cursor *c, fields *f, int want)
{
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i <= c->n; i++) {
        if (i < c->n && c->s[i] != ' ') continue;
        if (i == start || k == want) return 0; /* empty field (double, leading or trailing space) or too many */
        f->s[k] = c->s + start;
        f->n[k++] = i - start;
        start = i + 1;
    }
    return k == want;
}

/* ================= header ================= */

/* "<key> <value>": the value, or NULL when the line has another key. */
static const char *key_value(const cursor *c, const char *key, size_t *vn)
{
    size_t kn = strlen(key);
    if (c->n <= kn + 1 || memcmp(c->s, key, kn) != 0 || c->s[kn] != ' ') return NULL;
    *vn = c->n - kn - 1;
    return c->s + kn + 1;
}

static void copy_field(char *dst, const char *s, size_t n)
{
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static qblas_status_t header_token(cursor *c, const char *key, char *dst)
{
    size_t vn = 0;
    const char *v = key_value(c, key, &vn);
    if (!v) return qb_fail(c->h, QBLAS_STATUS_INVALID_VALUE, "tuning file line %ld: expected '%s <value>'", c->line, key);
    if (!valid_field(v, vn, QBLAS_TUNING_TOKEN_MAX, token_char))
        return qb_fail(c->h, QBLAS_STATUS_INVALID_VALUE,
                       "tuning file line %ld: %s must be 1..31 characters of [A-Za-z0-9._-]", c->line, key);
    copy_field(dst, v, vn);
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t header_int(cursor *c, const char *key, int64_t max, int *dst)
{
    size_t vn = 0;
    int64_t v;
    const char *s = key_value(c, key, &vn);
    if (!s) return qb_fail(c->h, QBLAS_STATUS_INVALID_VALUE, "tuning file line %ld: expected '%s <number>'", c->line, key);
    if (!parse_uint(s, vn, max, &v))
        return qb_fail(c->h, QBLAS_STATUS_INVALID_VALUE, "tuning file line %ld: %s must be a decimal in 0..%lld",
                       c->line, key, LL(max));
    *dst = (int)v;
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t header_magic(cursor *c)
{
    fields f;
    int64_t v;
    if (!split(c, &f, 2) || !field_is(f.s[0], f.n[0], MAGIC))
        return BAD(c, "not a qblas tuning file (the first line must be '" MAGIC " 1')", "");
    if (!parse_uint(f.s[1], f.n[1], MAX_DIM, &v) || v < 1 || v > QBLAS_TUNING_FORMAT_VERSION)
        return BAD(c, "format version is not 1 or 2, the ones this library reads", "");
    c->version = (int)v;
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t header_device(cursor *c, char *dst)
{
    size_t vn = 0;
    const char *v = key_value(c, "device", &vn);
    if (!v) return BAD(c, "expected 'device <name>'", "");
    if (!valid_device(v, vn)) return BAD(c, "device name must be 1..63 characters, no leading or trailing space", "");
    copy_field(dst, v, vn);
    return QBLAS_STATUS_SUCCESS;
}

/* Header line `index` (0: magic, 1..6: the keys in their fixed order). */
static qblas_status_t header_line(cursor *c, int index, qblas_tuning_header_t *hd)
{
    switch (index) {
    case 0: return header_magic(c);
    case 1: return header_token(c, "library", hd->library);
    case 2: return header_device(c, hd->device);
    case 3: return header_int(c, "cc", MAX_CC, &hd->cc);
    case 4: return header_int(c, "sms", MAX_SMS, &hd->sms);
    case 5: return header_token(c, "driver", hd->driver);
    default: return header_token(c, "runtime", hd->runtime);
    }
}
#define HEADER_LINES 7

/* ================= rows ================= */

/* m_min, m_max and two more dimensions (fields i .. i+3). */
static qblas_status_t row_dims(cursor *c, const fields *f, int i, qblas_tuning_entry_t *r)
{
    if (!parse_uint(f->s[i], f->n[i], MAX_DIM, &r->m_min) || !parse_uint(f->s[i + 1], f->n[i + 1], MAX_DIM, &r->m_max) ||
        !parse_uint(f->s[i + 2], f->n[i + 2], MAX_DIM, &r->n) || !parse_uint(f->s[i + 3], f->n[i + 3], MAX_DIM, &r->k))
        return BAD(c, r->op == QBLAS_TUNING_GEMM ? "m_min, m_max, n and k must be decimals in 1..2147483647"
                                                 : "m_min, m_max and the head counts must be decimals in 1..2147483647",
                   "");
    if (r->m_min < 1 || r->n < 1 || r->k < 1)
        return BAD(c, r->op == QBLAS_TUNING_GEMM ? "m_min, n and k must be >= 1" : "m_min and the head counts must be >= 1",
                   "");
    if (r->m_max < r->m_min) return BAD(c, "m_max < m_min", "");
    return QBLAS_STATUS_SUCCESS;
}

/* kernel, config, time_us (fields i .. i+2). */
static qblas_status_t row_tail(cursor *c, const fields *f, int i, qblas_tuning_entry_t *r)
{
    int64_t ns;
    if (!valid_field(f->s[i], f->n[i], QBLAS_KERNEL_NAME_MAX, kernel_char))
        return BAD(c, "kernel name must be 1..95 characters of [A-Za-z0-9_]", "");
    if (!valid_field(f->s[i + 1], f->n[i + 1], QBLAS_TUNING_CONFIG_MAX, config_char))
        return BAD(c, "config must be 1..63 characters of [A-Za-z0-9._=,:+-]", "");
    if (!parse_time(f->s[i + 2], f->n[i + 2], &ns))
        return BAD(c, "time must be <us>.<3 digits>, 0.001 .. 999999999.999", "");
    copy_field(r->kernel, f->s[i], f->n[i]);
    copy_field(r->config, f->s[i + 1], f->n[i + 1]);
    r->time_us = (double)ns / 1000.0;
    return QBLAS_STATUS_SUCCESS;
}

/* "gemm format act m_min m_max n k kernel config time_us" */
static qblas_status_t parse_gemm(cursor *c, qblas_tuning_entry_t *r)
{
    fields f;
    if (!split(c, &f, 10)) return BAD(c, "a gemm row has 10 fields separated by single spaces", "");
    int fi = lookup_format(f.s[1], f.n[1]);
    if (fi < 0) return BAD(c, "unknown format (w4a16, int8, fp8, w4a8, sparse24)", "");
    r->format = formats[fi].format;
    if (!lookup_act(fi, f.s[2], f.n[2], &r->act)) return BAD(c, "activation dtype not allowed for format ", formats[fi].name);
    qblas_status_t st = row_dims(c, &f, 3, r);
    return st ? st : row_tail(c, &f, 7, r);
}

static int lookup_dtype(const qblas_dtype_t *set, size_t n, const char *s, size_t len, qblas_dtype_t *t)
{
    for (size_t i = 0; i < n; i++)
        if (field_is(s, len, qblas_dtype_name(set[i]))) {
            *t = set[i];
            return 1;
        }
    return 0;
}

/* "attn_decode|attn_prefill q kv m_min m_max num_q_heads num_kv_heads head_dim kernel config time_us" */
static qblas_status_t parse_attn(cursor *c, qblas_tuning_entry_t *r)
{
    fields f;
    int64_t d;
    if (c->version < 2) return BAD(c, "attention rows need format version 2 (the first line 'qblas-tuning 2')", "");
    if (!split(c, &f, 11)) return BAD(c, "an attention row has 11 fields separated by single spaces", "");
    if (!lookup_dtype(attn_q, sizeof attn_q / sizeof attn_q[0], f.s[1], f.n[1], &r->act))
        return BAD(c, "query dtype must be f16 or bf16", "");
    if (!lookup_dtype(attn_kv, sizeof attn_kv / sizeof attn_kv[0], f.s[2], f.n[2], &r->kv_dtype))
        return BAD(c, "cache dtype must be f16, bf16, e4m3, i8 or u4", "");
    qblas_status_t st = row_dims(c, &f, 3, r);
    if (st) return st;
    if (r->n % r->k) return BAD(c, "num_q_heads must be a multiple of num_kv_heads", "");
    if (!parse_uint(f.s[7], f.n[7], 256, &d) || (d != 64 && d != 128 && d != 256))
        return BAD(c, "head_dim must be 64, 128 or 256", "");
    r->head_dim = d;
    return row_tail(c, &f, 8, r);
}

static qblas_status_t parse_row(cursor *c, qblas_tuning_entry_t *r)
{
    size_t op_len = 0;
    memset(r, 0, sizeof *r);
    while (op_len < c->n && c->s[op_len] != ' ') op_len++;
    for (int op = 0; op < (int)(sizeof op_names / sizeof op_names[0]); op++)
        if (field_is(c->s, op_len, op_names[op])) {
            r->op = (qblas_tuning_op_t)op;
            return op == QBLAS_TUNING_GEMM ? parse_gemm(c, r) : parse_attn(c, r);
        }
    return BAD(c, "unknown operation (rows are 'gemm', 'attn_decode' or 'attn_prefill')", "");
}

/* "end <rows>": the count must be the rows read. */
static qblas_status_t parse_end(cursor *c, size_t nrows)
{
    fields f;
    int64_t v;
    if (!split(c, &f, 2) || !parse_uint(f.s[1], f.n[1], QBLAS_TUNING_MAX_ROWS, &v))
        return BAD(c, "'end <row count>' expected", "");
    if ((size_t)v != nrows)
        return qb_fail(c->h, QBLAS_STATUS_INVALID_VALUE, "tuning file line %ld: 'end %lld' but %zu rows were read",
                       c->line, LL(v), nrows);
    return QBLAS_STATUS_SUCCESS;
}

/* ================= order and overlaps ================= */

#define CMP(x, y) \
    if ((x) != (y)) return (x) < (y) ? -1 : 1
/* Rows of one key (everything but the M range) are one shape. */
static int cmp_key(const qblas_tuning_entry_t *a, const qblas_tuning_entry_t *b)
{
    CMP(a->op, b->op);
    CMP(a->format, b->format);
    CMP(a->act, b->act);
    CMP(a->kv_dtype, b->kv_dtype);
    CMP(a->n, b->n);
    CMP(a->k, b->k);
    CMP(a->head_dim, b->head_dim);
    return 0;
}
#undef CMP

static int cmp_rows(const void *pa, const void *pb)
{
    const qblas_tuning_entry_t *a = pa, *b = pb;
    int c = cmp_key(a, b);
    if (c) return c;
    return a->m_min < b->m_min ? -1 : a->m_min > b->m_min;
}

/* "w4a16 f16 n=4096 k=4096" or "attn_decode f16 kv=e4m3 heads=32/8 d=128": a row's key in errors. */
static void describe_key(const qblas_tuning_entry_t *r, char *buf, size_t cap)
{
    if (r->op == QBLAS_TUNING_GEMM)
        snprintf(buf, cap, "%s %s n=%lld k=%lld", formats[format_index(r->format)].name, qblas_dtype_name(r->act),
                 LL(r->n), LL(r->k));
    else
        snprintf(buf, cap, "%s %s kv=%s heads=%lld/%lld d=%lld", op_names[r->op], qblas_dtype_name(r->act),
                 qblas_dtype_name(r->kv_dtype), LL(r->n), LL(r->k), LL(r->head_dim));
}

/* Sort; rows of one key must not share an M. */
static qblas_status_t sort_rows(qblas_handle_t h, qblas_tuning_entry_t *rows, size_t nrows)
{
    if (nrows > 1) qsort(rows, nrows, sizeof *rows, cmp_rows);
    for (size_t i = 1; i < nrows; i++) {
        const qblas_tuning_entry_t *a = &rows[i - 1], *b = &rows[i];
        if (cmp_key(a, b) == 0 && a->m_max >= b->m_min) {
            char key[128];
            describe_key(a, key, sizeof key);
            return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "tuning rows overlap: %s has M %lld..%lld and %lld..%lld", key,
                           LL(a->m_min), LL(a->m_max), LL(b->m_min), LL(b->m_max));
        }
    }
    return QBLAS_STATUS_SUCCESS;
}

/* ================= the parser ================= */

void qb_tuning_free(qb_tuning *t)
{
    if (!t) return;
    free(t->rows);
    t->rows = NULL;
    t->nrows = t->ngemm = 0;
}

void qb_tuning_destroy(qb_tuning *t)
{
    qb_tuning_free(t);
    free(t);
}

/* Rows can be at most the lines present (and the cap): the only allocation. */
static size_t row_capacity(const char *buf, size_t len)
{
    size_t lines = 0;
    for (size_t i = 0; i < len && lines < QBLAS_TUNING_MAX_ROWS; i++) lines += buf[i] == '\n';
    return lines ? lines : 1;
}

static qblas_status_t parse_lines(cursor *c, qb_tuning *out, size_t cap)
{
    qblas_status_t st = QBLAS_STATUS_SUCCESS;
    int index = 0, ended = 0, r;
    while ((r = next_line(c, &st)) == 1) {
        if (ended) return BAD(c, "text after the 'end' line", "");
        if (index < HEADER_LINES) {
            if ((st = header_line(c, index++, &out->header))) return st;
        } else if (c->n >= 3 && memcmp(c->s, "end", 3) == 0 && (c->n == 3 || c->s[3] == ' ')) {
            if ((st = parse_end(c, out->nrows))) return st;
            ended = 1;
        } else if (out->nrows == cap) {
            return BAD(c, "more rows than the limit of 4096", "");
        } else if ((st = parse_row(c, &out->rows[out->nrows]))) {
            return st;
        } else {
            out->nrows++;
        }
    }
    if (r < 0) return st;
    if (index < HEADER_LINES) return qb_fail(c->h, QBLAS_STATUS_INVALID_VALUE, "tuning file: incomplete header (truncated?)");
    if (!ended) return qb_fail(c->h, QBLAS_STATUS_INVALID_VALUE, "tuning file: no 'end' line (truncated?)");
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qb_tuning_parse(qblas_handle_t h, const char *buf, size_t len, qb_tuning *out)
{
    memset(out, 0, sizeof *out);
    if (!buf && len) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "tuning buffer is NULL");
    if (len > QBLAS_TUNING_MAX_BYTES)
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "tuning file of %zu bytes exceeds the limit of %d", len,
                       QBLAS_TUNING_MAX_BYTES);
    size_t cap = row_capacity(buf, len);
    out->rows = calloc(cap, sizeof *out->rows);
    if (!out->rows) return qb_fail(h, QBLAS_STATUS_ALLOC_FAILED, "no memory for %zu tuning rows", cap);
    cursor c = {.h = h, .buf = buf, .len = len};
    qblas_status_t st = parse_lines(&c, out, cap);
    if (!st) st = sort_rows(h, out->rows, out->nrows);
    if (st) qb_tuning_free(out);
    while (!st && out->ngemm < out->nrows && out->rows[out->ngemm].op == QBLAS_TUNING_GEMM) out->ngemm++;
    return st;
}

/* ================= the handle's side ================= */

static qblas_status_t device_of(qblas_handle_t h, qblas_tuning_header_t *id)
{
    memset(id, 0, sizeof *id);
    snprintf(id->library, sizeof id->library, "%s", qblas_get_version_string());
    return h->ops->tuning_device(h, id);
}

/* Names a row of key's (op, format, act, kv_dtype) may give on this handle. */
static size_t kernels_of(qblas_handle_t h, const qblas_tuning_entry_t *key, const char **names, size_t cap)
{
    return key_allowed(key) ? h->ops->tuning_kernels(h, key, names, cap) : 0;
}

static int kernel_known(qblas_handle_t h, const qblas_tuning_entry_t *r)
{
    const char *names[128];
    size_t n = kernels_of(h, r, names, 128);
    for (size_t i = 0; i < n && i < 128; i++)
        if (strcmp(names[i], r->kernel) == 0) return 1;
    return 0;
}

static qblas_status_t match_device(qblas_handle_t h, const qblas_tuning_header_t *f)
{
    qblas_tuning_header_t id;
    qblas_status_t st = device_of(h, &id);
    if (st) return st;
    if (strcmp(f->library, id.library) != 0)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH, "tuning file is for qblas %s, this is qblas %s", f->library,
                       id.library);
    if (strcmp(f->device, id.device) != 0 || f->cc != id.cc || f->sms != id.sms)
        return qb_fail(h, QBLAS_STATUS_ARCH_MISMATCH,
                       "tuning file is for '%s' (cc %d, %d SMs); this handle's device is '%s' (cc %d, %d SMs)",
                       f->device, f->cc, f->sms, id.device, id.cc, id.sms);
    return QBLAS_STATUS_SUCCESS;
}

static qblas_status_t check_kernels(qblas_handle_t h, const qb_tuning *t)
{
    for (size_t i = 0; i < t->nrows; i++)
        if (!kernel_known(h, &t->rows[i])) {
            char key[128];
            describe_key(&t->rows[i], key, sizeof key);
            return qb_fail(h, QBLAS_STATUS_INVALID_VALUE,
                           "tuning row for %s names kernel '%s', which this %s handle does not have", key,
                           t->rows[i].kernel, h->ops->name);
        }
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_tuning_load_buffer(qblas_handle_t h, const void *buf, size_t len)
{
    if (!h) return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "handle is NULL");
    qb_tuning *t = malloc(sizeof *t);
    if (!t) return qb_fail(h, QBLAS_STATUS_ALLOC_FAILED, "no memory for a tuning file");
    qblas_status_t st = qb_tuning_parse(h, buf, len, t);
    if (!st) st = match_device(h, &t->header);
    if (!st) st = check_kernels(h, t);
    if (st) {
        qb_tuning_destroy(t);
        return st;
    }
    qb_tuning_destroy(h->tuning);
    h->tuning = t;
    qb_clear_error(h);
    return QBLAS_STATUS_SUCCESS;
}

/* A regular file, opened for reading. The open does not block (a FIFO
 * without a writer would wait forever: O_NONBLOCK, which changes nothing
 * for the reads of a regular file), and what it opened is
 * checked with fstat, so nothing can be swapped in between; FIFOs,
 * devices and directories are refused. */
static qblas_status_t open_regular(qblas_handle_t h, const char *path, FILE **f)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "cannot open tuning file: %s: '%s'", strerror(errno), path);
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "a tuning file must be a regular file: '%s'", path);
    }
    if (!(*f = fdopen(fd, "rb"))) {
        close(fd);
        return qb_fail(h, QBLAS_STATUS_ALLOC_FAILED, "cannot open tuning file: %s: '%s'", strerror(errno), path);
    }
    return QBLAS_STATUS_SUCCESS;
}

/* Read at most QBLAS_TUNING_MAX_BYTES + 1 bytes: one more says "too big".
 * Error texts are cut at QB_ERRMSG_MAX bytes: the reason goes first, the
 * path (any length) last. */
static qblas_status_t read_file(qblas_handle_t h, const char *path, char **buf, size_t *len)
{
    FILE *f;
    qblas_status_t st = open_regular(h, path, &f);
    if (st) return st;
    *buf = malloc((size_t)QBLAS_TUNING_MAX_BYTES + 1);
    if (!*buf) {
        fclose(f);
        return qb_fail(h, QBLAS_STATUS_ALLOC_FAILED, "no memory to read tuning file '%s'", path);
    }
    *len = fread(*buf, 1, (size_t)QBLAS_TUNING_MAX_BYTES + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err || *len > QBLAS_TUNING_MAX_BYTES) {
        free(*buf);
        *buf = NULL;
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "tuning file %s: '%s'",
                       err ? "read error" : "larger than the limit of 2 MiB", path);
    }
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_tuning_load_file(qblas_handle_t h, const char *path)
{
    char *buf = NULL;
    size_t len = 0;
    if (!h || !path) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "handle or path is NULL");
    qblas_status_t st = read_file(h, path, &buf, &len);
    if (st) return st;
    st = qblas_tuning_load_buffer(h, buf, len);
    free(buf);
    if (st) {
        /* keep the loader's reason, then name the file (a long path is cut, not the reason) */
        char why[QB_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", h->last_error);
        qb_fail(h, st, "%s (file '%s')", why, path);
    }
    return st;
}

qblas_status_t qb_tuning_on_create(qblas_handle_t h)
{
    const char *path = getenv("QBLAS_TUNING_FILE");
    if (!path || !*path) return QBLAS_STATUS_SUCCESS;
    qblas_status_t st = qblas_tuning_load_file(h, path);
    if (st) {
        /* a short prefix, then the reason (which ends with the path) */
        char why[QB_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", h->last_error);
        qb_fail(h, st, "QBLAS_TUNING_FILE: %s", why);
    }
    return st;
}

qblas_status_t qblas_tuning_clear(qblas_handle_t h)
{
    if (!h) return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "handle is NULL");
    qb_tuning_destroy(h->tuning);
    h->tuning = NULL;
    qb_clear_error(h);
    return QBLAS_STATUS_SUCCESS;
}

/* The GEMM view of an entry (and back): the version 1 API's row. */
static qblas_tuning_row_t row_of(const qblas_tuning_entry_t *e)
{
    qblas_tuning_row_t r = {.format = e->format, .act = e->act, .m_min = e->m_min, .m_max = e->m_max, .n = e->n,
                            .k = e->k, .time_us = e->time_us};
    memcpy(r.kernel, e->kernel, sizeof r.kernel);
    memcpy(r.config, e->config, sizeof r.config);
    return r;
}

static qblas_tuning_entry_t entry_of(const qblas_tuning_row_t *r)
{
    qblas_tuning_entry_t e = {.op = QBLAS_TUNING_GEMM, .format = r->format, .act = r->act, .m_min = r->m_min,
                              .m_max = r->m_max, .n = r->n, .k = r->k, .time_us = r->time_us};
    memcpy(e.kernel, r->kernel, sizeof e.kernel);
    memcpy(e.config, r->config, sizeof e.config);
    return e;
}

qblas_status_t qblas_tuning_row_count(qblas_handle_t h, size_t *rows)
{
    if (!h || !rows) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "handle or rows is NULL");
    *rows = h->tuning ? h->tuning->ngemm : 0;
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_tuning_get_row(qblas_handle_t h, size_t i, qblas_tuning_row_t *row)
{
    if (!h || !row) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "handle or row is NULL");
    size_t n = h->tuning ? h->tuning->ngemm : 0;
    if (i >= n) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "tuning row %zu of %zu GEMM rows", i, n);
    *row = row_of(&h->tuning->rows[i]); /* canonical order: the GEMM rows come first */
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_tuning_entry_count(qblas_handle_t h, size_t *entries)
{
    if (!h || !entries) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "handle or entries is NULL");
    *entries = h->tuning ? h->tuning->nrows : 0;
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_tuning_get_entry(qblas_handle_t h, size_t i, qblas_tuning_entry_t *entry)
{
    if (!h || !entry) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "handle or entry is NULL");
    size_t n = h->tuning ? h->tuning->nrows : 0;
    if (i >= n) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "tuning row %zu of %zu", i, n);
    *entry = h->tuning->rows[i];
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_tuning_device(qblas_handle_t h, qblas_tuning_header_t *header)
{
    if (!h || !header) return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "handle or header is NULL");
    return device_of(h, header);
}

qblas_status_t qblas_tuning_candidates(qblas_handle_t h, const qblas_tuning_entry_t *key, const char **names,
                                       size_t cap, size_t *count)
{
    if (!h || !key || !count || (cap && !names))
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "handle, key, count or names is NULL");
    if (!op_valid(key->op) || (key->op == QBLAS_TUNING_GEMM && format_index(key->format) < 0) ||
        !qb_dtype_valid(key->act) || (key->op != QBLAS_TUNING_GEMM && !qb_dtype_valid(key->kv_dtype)))
        return qb_fail(h, QBLAS_STATUS_INVALID_VALUE, "op %d / format %d / act %d / kv dtype %d outside their enums",
                       (int)key->op, (int)key->format, (int)key->act, (int)key->kv_dtype);
    *count = kernels_of(h, key, names, cap);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_tuning_kernels(qblas_handle_t h, qblas_wformat_t format, qblas_dtype_t act, const char **names,
                                    size_t cap, size_t *count)
{
    const qblas_tuning_entry_t key = {.op = QBLAS_TUNING_GEMM, .format = format, .act = act};
    return qblas_tuning_candidates(h, &key, names, cap, count);
}

void qb_tuning_gemm_key(const qb_gemm_args *a, qblas_tuning_entry_t *key)
{
    memset(key, 0, sizeof *key);
    key->op = QBLAS_TUNING_GEMM;
    key->format = a->w->format;
    key->act = a->x->dtype;
    key->n = a->n;
    key->k = a->k;
}

void qb_tuning_attention_key(const qblas_kv_cache_t *kv, const qblas_attention_params_t *p, qblas_tuning_entry_t *key)
{
    memset(key, 0, sizeof *key);
    key->op = p->qo_indptr ? QBLAS_TUNING_ATTN_PREFILL : QBLAS_TUNING_ATTN_DECODE;
    key->act = p->q_dtype;
    key->kv_dtype = kv->dtype;
    key->n = p->num_q_heads;
    key->k = kv->num_kv_heads;
    key->head_dim = kv->head_dim;
}

const qblas_tuning_entry_t *qb_tuning_find(qblas_handle_t h, const qblas_tuning_entry_t *key, int64_t m)
{
    const qb_tuning *t = h->tuning;
    if (!t) return NULL;
    /* the last row whose (key, m_min) is <= (key, m) */
    size_t lo = 0, hi = t->nrows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_key(&t->rows[mid], key);
        if (c < 0 || (c == 0 && t->rows[mid].m_min <= m))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return NULL;
    const qblas_tuning_entry_t *r = &t->rows[lo - 1];
    return cmp_key(r, key) == 0 && m <= r->m_max ? r : NULL;
}

/* ================= the writer ================= */

static qblas_status_t check_header(const qblas_tuning_header_t *hd)
{
    const char *bad = NULL;
    if (!valid_field(hd->library, strnlen(hd->library, QBLAS_TUNING_TOKEN_MAX), QBLAS_TUNING_TOKEN_MAX, token_char))
        bad = "library";
    else if (!valid_device(hd->device, strnlen(hd->device, QBLAS_TUNING_DEVICE_MAX)))
        bad = "device";
    else if (hd->cc < 0 || hd->cc > MAX_CC || hd->sms < 0 || hd->sms > MAX_SMS)
        bad = "cc or sms";
    else if (!valid_field(hd->driver, strnlen(hd->driver, QBLAS_TUNING_TOKEN_MAX), QBLAS_TUNING_TOKEN_MAX, token_char))
        bad = "driver";
    else if (!valid_field(hd->runtime, strnlen(hd->runtime, QBLAS_TUNING_TOKEN_MAX), QBLAS_TUNING_TOKEN_MAX,
                          token_char))
        bad = "runtime";
    return bad ? qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "tuning header: %s is not allowed by the grammar", bad)
               : QBLAS_STATUS_SUCCESS;
}

static int64_t time_ns(double us)
{
    if (!(us >= 0.0005 && us < 999999999.9995)) return -1; /* NaN fails too */
    return (int64_t)(us * 1000.0 + 0.5);
}

static qblas_status_t check_row(const qblas_tuning_entry_t *r, size_t i)
{
    const char *bad = NULL;
    const int gemm = r->op == QBLAS_TUNING_GEMM;
    if (!op_valid(r->op) || !key_allowed(r))
        bad = "op, format or dtype";
    else if (r->m_min < 1 || r->m_max < r->m_min || r->m_max > MAX_DIM || r->n < 1 || r->n > MAX_DIM || r->k < 1 ||
             r->k > MAX_DIM)
        bad = "m_min, m_max, n or k";
    else if (gemm ? r->kv_dtype != 0 || r->head_dim != 0
                  : r->n % r->k != 0 || (r->head_dim != 64 && r->head_dim != 128 && r->head_dim != 256))
        bad = gemm ? "kv_dtype or head_dim (0 in GEMM rows)" : "head counts or head_dim";
    else if (!valid_field(r->kernel, strnlen(r->kernel, QBLAS_KERNEL_NAME_MAX), QBLAS_KERNEL_NAME_MAX, kernel_char))
        bad = "kernel";
    else if (!valid_field(r->config, strnlen(r->config, QBLAS_TUNING_CONFIG_MAX), QBLAS_TUNING_CONFIG_MAX,
                          config_char))
        bad = "config";
    else if (time_ns(r->time_us) < 1 || time_ns(r->time_us) > MAX_TIME_NS)
        bad = "time_us";
    return bad ? qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "tuning row %zu: %s is not allowed by the grammar", i, bad)
               : QBLAS_STATUS_SUCCESS;
}

/* Overlaps, found as the loader would find them (on a sorted copy). */
static qblas_status_t check_overlaps(const qblas_tuning_entry_t *rows, size_t nrows)
{
    qblas_tuning_entry_t *copy = malloc((nrows ? nrows : 1) * sizeof *copy);
    if (!copy) return qb_fail(NULL, QBLAS_STATUS_ALLOC_FAILED, "no memory to check %zu tuning rows", nrows);
    if (nrows) memcpy(copy, rows, nrows * sizeof *copy);
    qblas_status_t st = sort_rows(NULL, copy, nrows);
    free(copy);
    return st;
}

/* Appends with snprintf semantics: len counts what the text needs. */
typedef struct {
    char *buf;
    size_t cap, len;
} sink;

static void put(sink *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void put(sink *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->len < s->cap ? s->buf + s->len : NULL, s->len < s->cap ? s->cap - s->len : 0, fmt, ap);
    va_end(ap);
    s->len += n > 0 ? (size_t)n : 0;
}

static void put_text(sink *s, const qblas_tuning_header_t *hd, const qblas_tuning_entry_t *rows, size_t nrows)
{
    put(s, MAGIC " %d\n# qblas tuning file (docs/TUNING.md)\n", QBLAS_TUNING_FORMAT_VERSION);
    put(s, "library %s\ndevice %s\ncc %d\nsms %d\ndriver %s\nruntime %s\n", hd->library, hd->device, hd->cc, hd->sms,
        hd->driver, hd->runtime);
    put(s, "# gemm format act m_min m_max n k kernel config time_us\n"
           "# attn_decode|attn_prefill q kv m_min m_max num_q_heads num_kv_heads head_dim kernel config time_us\n");
    for (size_t i = 0; i < nrows; i++) {
        const qblas_tuning_entry_t *r = &rows[i];
        int64_t ns = time_ns(r->time_us);
        if (r->op == QBLAS_TUNING_GEMM)
            put(s, "gemm %s %s", formats[format_index(r->format)].name, qblas_dtype_name(r->act));
        else
            put(s, "%s %s %s", op_names[r->op], qblas_dtype_name(r->act), qblas_dtype_name(r->kv_dtype));
        put(s, " %lld %lld %lld %lld", LL(r->m_min), LL(r->m_max), LL(r->n), LL(r->k));
        if (r->op != QBLAS_TUNING_GEMM) put(s, " %lld", LL(r->head_dim));
        put(s, " %s %s %lld.%03lld\n", r->kernel, r->config, LL(ns / 1000), LL(ns % 1000));
    }
    put(s, "end %zu\n", nrows);
}

qblas_status_t qblas_tuning_write_entries(const qblas_tuning_header_t *header, const qblas_tuning_entry_t *rows,
                                          size_t nrows, char *buf, size_t cap, size_t *len)
{
    if (!header || !len || (nrows && !rows) || (cap && !buf))
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "header, rows, buf or len is NULL");
    if (nrows > QBLAS_TUNING_MAX_ROWS)
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "%zu rows exceed the limit of %d", nrows, QBLAS_TUNING_MAX_ROWS);
    qblas_status_t st = check_header(header);
    for (size_t i = 0; i < nrows && !st; i++) st = check_row(&rows[i], i);
    if (!st) st = check_overlaps(rows, nrows);
    if (st) return st;
    sink count = {NULL, 0, 0};
    put_text(&count, header, rows, nrows);
    *len = count.len;
    if (cap <= count.len)
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "tuning file needs %zu bytes + NUL, buffer has %zu",
                       count.len, cap);
    sink out = {buf, cap, 0};
    put_text(&out, header, rows, nrows);
    qb_clear_error(NULL);
    return QBLAS_STATUS_SUCCESS;
}

qblas_status_t qblas_tuning_write(const qblas_tuning_header_t *header, const qblas_tuning_row_t *rows, size_t nrows,
                                  char *buf, size_t cap, size_t *len)
{
    if (!header || !len || (nrows && !rows) || (cap && !buf))
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "header, rows, buf or len is NULL");
    if (nrows > QBLAS_TUNING_MAX_ROWS)
        return qb_fail(NULL, QBLAS_STATUS_INVALID_VALUE, "%zu rows exceed the limit of %d", nrows, QBLAS_TUNING_MAX_ROWS);
    qblas_tuning_entry_t *e = malloc((nrows ? nrows : 1) * sizeof *e);
    if (!e) return qb_fail(NULL, QBLAS_STATUS_ALLOC_FAILED, "no memory for %zu tuning rows", nrows);
    for (size_t i = 0; i < nrows; i++) e[i] = entry_of(&rows[i]);
    qblas_status_t st = qblas_tuning_write_entries(header, e, nrows, buf, cap, len);
    free(e);
    return st;
}

/* The device name as the grammar allows it: printable ASCII, at most 63
 * bytes, no leading or trailing space (the same on writing and matching). */
void qb_tuning_device_name(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    while (*src == ' ') src++;
    for (; *src && n + 1 < cap; src++) dst[n++] = (*src >= 0x20 && *src <= 0x7E) ? *src : '_';
    while (n > 0 && dst[n - 1] == ' ') n--;
    dst[n] = '\0';
    if (n == 0) snprintf(dst, cap, "unknown");
}
