/* fuzz_tuning.c - fuzz target over the in-memory tuning-file loader
 * (qblas_tuning_load_buffer, src/core/tuning.c).
 *
 * For every input, on a fresh CPU handle that already holds a valid file:
 *   - the load returns SUCCESS, INVALID_VALUE or ARCH_MISMATCH, never
 *     anything else, and a failure leaves a reason;
 *   - a failed load leaves the previous rows exactly as they were;
 *   - a successful load round-trips: the rows (GEMM and attention) written
 *     by qblas_tuning_write_entries load again into the same rows, and the
 *     version 1 API's view is the GEMM rows, first.
 * Any broken invariant aborts (a crash for libFuzzer, a failure for CTest);
 * out-of-bounds reads and undefined behaviour are the sanitizers' to find.
 *
 * Two builds of this one file:
 *   libFuzzer (clang -fsanitize=fuzzer,address,undefined): LLVMFuzzerTestOneInput.
 *   standalone (-DQB_FUZZ_STANDALONE, any C compiler): main() runs the target
 *   over every file named on the command line (a directory: its files), and
 *   over deterministic variants of each: every prefix, and hostile bytes
 *   written at every position.
 */
#define _POSIX_C_SOURCE 200809L /* opendir */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qblas.h"

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "fuzz_tuning: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

enum { MAX_ROWS_CHECKED = QBLAS_TUNING_MAX_ROWS };

/* The rows a handle holds, every kind (caller frees). */
static qblas_tuning_entry_t *rows_of(qblas_handle_t h, size_t *n)
{
    CHECK(qblas_tuning_entry_count(h, n) == QBLAS_STATUS_SUCCESS);
    CHECK(*n <= MAX_ROWS_CHECKED);
    qblas_tuning_entry_t *r = calloc(*n ? *n : 1, sizeof *r);
    CHECK(r != NULL);
    for (size_t i = 0; i < *n; i++) CHECK(qblas_tuning_get_entry(h, i, &r[i]) == QBLAS_STATUS_SUCCESS);
    /* the version 1 view: the GEMM rows, first */
    size_t ng = 0;
    qblas_tuning_row_t g;
    CHECK(qblas_tuning_row_count(h, &ng) == QBLAS_STATUS_SUCCESS && ng <= *n);
    for (size_t i = 0; i < ng; i++)
        CHECK(qblas_tuning_get_row(h, i, &g) == QBLAS_STATUS_SUCCESS && r[i].op == QBLAS_TUNING_GEMM &&
              g.m_min == r[i].m_min && !strcmp(g.kernel, r[i].kernel));
    CHECK(ng == *n || r[ng].op != QBLAS_TUNING_GEMM);
    return r;
}

static int same(const qblas_tuning_entry_t *a, const qblas_tuning_entry_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].op != b[i].op || a[i].format != b[i].format || a[i].act != b[i].act ||
            a[i].kv_dtype != b[i].kv_dtype || a[i].m_min != b[i].m_min || a[i].m_max != b[i].m_max ||
            a[i].n != b[i].n || a[i].k != b[i].k || a[i].head_dim != b[i].head_dim ||
            strcmp(a[i].kernel, b[i].kernel) || strcmp(a[i].config, b[i].config) || a[i].time_us != b[i].time_us)
            return 0;
    return 1;
}

/* A valid file of three rows (GEMM and attention) for this handle, loaded before the input. */
static void load_previous(qblas_handle_t h)
{
    qblas_tuning_header_t hd;
    const qblas_tuning_entry_t rows[3] = {
        {QBLAS_TUNING_GEMM, QBLAS_WFORMAT_W4A16, QBLAS_DTYPE_F16, 0, 1, 16, 4096, 4096, 0, "cpu_ref_w4a16", "-", 12.5},
        {QBLAS_TUNING_GEMM, QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3, 0, 1, 8, 1024, 4096, 0, "cpu_ref_fp8", "block=128", 3.25},
        {QBLAS_TUNING_ATTN_DECODE, QBLAS_WFORMAT_INVALID, QBLAS_DTYPE_BF16, QBLAS_DTYPE_I8, 1, 64, 32, 8, 128,
         "cpu_ref_attention", "-", 7.0},
    };
    char buf[2048];
    size_t len;
    CHECK(qblas_tuning_device(h, &hd) == QBLAS_STATUS_SUCCESS);
    CHECK(qblas_tuning_write_entries(&hd, rows, 3, buf, sizeof buf, &len) == QBLAS_STATUS_SUCCESS);
    CHECK(qblas_tuning_load_buffer(h, buf, len) == QBLAS_STATUS_SUCCESS);
}

/* Loaded rows -> writer -> loader: the same rows. */
static void round_trip(qblas_handle_t h, const qblas_tuning_entry_t *rows, size_t n)
{
    qblas_tuning_header_t hd;
    size_t cap = 256 * (n + 16), len, n2;
    char *buf = malloc(cap);
    CHECK(buf != NULL);
    CHECK(qblas_tuning_device(h, &hd) == QBLAS_STATUS_SUCCESS);
    CHECK(qblas_tuning_write_entries(&hd, rows, n, buf, cap, &len) == QBLAS_STATUS_SUCCESS);
    CHECK(qblas_tuning_load_buffer(h, buf, len) == QBLAS_STATUS_SUCCESS);
    qblas_tuning_entry_t *again = rows_of(h, &n2);
    CHECK(n2 == n && same(rows, again, n));
    free(again);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qblas_handle_t h = NULL;
    size_t n0, n1;
    CHECK(qblas_create(&h, QBLAS_BACKEND_CPU, 0) == QBLAS_STATUS_SUCCESS);
    load_previous(h);
    qblas_tuning_entry_t *before = rows_of(h, &n0);
    qblas_status_t st = qblas_tuning_load_buffer(h, data, size);
    qblas_tuning_entry_t *after = rows_of(h, &n1);
    if (st == QBLAS_STATUS_SUCCESS) {
        round_trip(h, after, n1);
    } else {
        CHECK(st == QBLAS_STATUS_INVALID_VALUE || st == QBLAS_STATUS_ARCH_MISMATCH);
        CHECK(qblas_last_error(h)[0] != '\0');
        CHECK(n1 == n0 && same(before, after, n0));
    }
    free(before);
    free(after);
    qblas_destroy(h);
    return 0;
}

#ifdef QB_FUZZ_STANDALONE
#include <dirent.h>

static long runs;

static void run(const uint8_t *data, size_t size)
{
    /* an exact-size heap copy, so that ASan sees a read past the end */
    uint8_t *copy = malloc(size ? size : 1);
    CHECK(copy != NULL);
    if (size) memcpy(copy, data, size);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
    runs++;
}

/* The input, every prefix, and hostile bytes at each of the first 1024 positions. */
static void run_variants(const uint8_t *data, size_t size)
{
    static const uint8_t hostile[] = {0x00, '\n', ' ', '#', '0', '9', '-', '.', 0x7F, 0xC3, 0xFF};
    uint8_t *buf = malloc(size ? size : 1);
    CHECK(buf != NULL);
    run(data, size);
    for (size_t cut = 0; cut < size; cut++) run(data, cut);
    for (size_t i = 0; i < size && i < 1024; i++) {
        memcpy(buf, data, size);
        for (size_t b = 0; b < sizeof hostile; b++) {
            buf[i] = hostile[b];
            run(buf, size);
        }
    }
    free(buf);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fprintf(stderr, "fuzz_tuning: cannot open %s\n", path), 1;
    size_t cap = (size_t)QBLAS_TUNING_MAX_BYTES + 2, n;
    uint8_t *data = malloc(cap);
    CHECK(data != NULL);
    n = fread(data, 1, cap, f);
    fclose(f);
    run_variants(data, n);
    free(data);
    return 0;
}

static int run_path(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return run_file(path);
    int bad = 0, files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        bad |= run_file(sub);
        files++;
    }
    closedir(d);
    if (files == 0) return fprintf(stderr, "fuzz_tuning: %s holds no inputs\n", path), 1;
    return bad;
}

int main(int argc, char **argv)
{
    int bad = 0;
    if (argc < 2) return fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]), 2;
    for (int i = 1; i < argc; i++) bad |= run_path(argv[i]);
    printf("fuzz_tuning: %ld inputs, all invariants held\n", runs);
    return bad;
}
#endif
