/* test_host_memory.c - the host memory the host weight tools take.
 *
 * This program is linked with -Wl,--wrap=malloc,--wrap=calloc
 * (tests/CMakeLists.txt): every malloc and calloc of the program, those of
 * the static library included, goes through the wrappers below, which
 * record what is asked for while a measurement is on. Nothing in the
 * library is instrumented, so what is measured is what a user's process
 * sees. (Under ASan, __real_malloc is ASan's malloc.)
 */
#include "qb_test.h"

void *__real_malloc(size_t bytes);
void *__real_calloc(size_t count, size_t size);

static bool g_measuring;
static size_t g_largest, g_total; /* the largest single request, the sum of requests */

static void record(size_t bytes)
{
    if (!g_measuring) return;
    g_total += bytes;
    if (bytes > g_largest) g_largest = bytes;
}

void *__wrap_malloc(size_t bytes)
{
    record(bytes);
    return __real_malloc(bytes);
}

void *__wrap_calloc(size_t count, size_t size)
{
    record(count * size);
    return __real_calloc(count, size);
}

/* A weight descriptor of each format, its buffers from qblas_weight_sizes. */
typedef struct {
    const char *name;
    qblas_weight_t w;
    bool g_idx, zeros; /* W4A16: act-order, asymmetric */
} qcase;

static void *alloc_or_null(size_t bytes) { return bytes ? qbt_alloc(bytes) : NULL; }

static void buffers(qblas_weight_t *w, bool zeros)
{
    qblas_weight_sizes_t sz;
    QBT_OK(qblas_weight_sizes(w, &sz));
    w->data = qbt_alloc(sz.data);
    w->scales = alloc_or_null(sz.scales);
    w->zeros = zeros ? alloc_or_null(sz.zeros) : NULL;
    w->group_scales = alloc_or_null(sz.group_scales);
    w->meta = alloc_or_null(sz.meta);
}

static void free_buffers(qblas_weight_t *w)
{
    qbt_free((void *)w->data), qbt_free((void *)w->scales), qbt_free((void *)w->zeros);
    qbt_free((void *)w->group_scales), qbt_free((void *)w->meta);
}

/* The same bytes in every output buffer of two weights quantized from the same values. */
static bool same_outputs(const qblas_weight_t *a, const qblas_weight_t *b)
{
    qblas_weight_sizes_t sz;
    QBT_OK(qblas_weight_sizes(a, &sz));
    return memcmp(a->data, b->data, sz.data) == 0 && (!sz.scales || memcmp(a->scales, b->scales, sz.scales) == 0) &&
           (!a->zeros || memcmp(a->zeros, b->zeros, sz.zeros) == 0) &&
           (!sz.group_scales || memcmp(a->group_scales, b->group_scales, sz.group_scales) == 0) &&
           (!sz.meta || memcmp(a->meta, b->meta, sz.meta) == 0);
}

/* qblas_quantize_weight on an f32 source reads it where it is: no f32 copy
 * of the matrix (n * k * 4 bytes; 256 MiB more for an 8192 x 8192 weight).
 * Every format, with a padded source (ld = k + 8) so the in-place path must
 * honour ld: the largest allocation and the sum of all allocations of the
 * call stay below the size of that copy (2:4 keeps a copy in its own, at
 * most 2-byte, dtype, so that a failure writes nothing), and the result
 * equals the one from a contiguous copy of the source. */
START_TEST(quantize_f32_source_in_place)
{
    const int64_t n = 256, k = 1024, ld = k + 8;
    const size_t f32_copy = (size_t)(n * k) * sizeof(float);
    qbt_rng r = qbt_rng_make(1201);
    float *src = qbt_alloc((size_t)(n * ld) * 4), *dense = qbt_alloc((size_t)(n * k) * 4);
    qbt_fill(&r, QBLAS_DTYPE_F32, src, n * ld, -1.0, 1.0);
    QBT_OK(qblas_sparse24_prune(n, k, QBLAS_DTYPE_F32, src, ld, src, ld)); /* 2:4 sources must be 2:4 */
    for (int64_t i = 0; i < n; i++) memcpy(dense + i * k, src + i * ld, (size_t)k * 4);
    int32_t *g_idx = qbt_alloc((size_t)k * 4);
    for (int64_t i = 0; i < k; i++) g_idx[i] = (int32_t)((i * 5) % 8); /* 8 groups of 128 */
    const qcase cases[] = {
        {"w4a16 g128 act-order asym", {.format = QBLAS_WFORMAT_W4A16, .dtype = QBLAS_DTYPE_U4,
                                       .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = QBLAS_DTYPE_F16,
                                       .group_size = 128}, true, true},
        {"w4a16 per-channel sym", {.format = QBLAS_WFORMAT_W4A16, .dtype = QBLAS_DTYPE_U4,
                                   .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = QBLAS_DTYPE_F32,
                                   .group_size = 0}, false, false},
        {"int8 per-row", {.format = QBLAS_WFORMAT_INT8, .dtype = QBLAS_DTYPE_I8, .scale_mode = QBLAS_SCALE_PER_ROW,
                          .scale_dtype = QBLAS_DTYPE_F32}, false, false},
        {"fp8 e4m3 128x128", {.format = QBLAS_WFORMAT_FP8, .dtype = QBLAS_DTYPE_E4M3,
                              .scale_mode = QBLAS_SCALE_BLOCK_128X128, .scale_dtype = QBLAS_DTYPE_F32}, false, false},
        {"w4a8 g128", {.format = QBLAS_WFORMAT_W4A8, .dtype = QBLAS_DTYPE_U4, .scale_mode = QBLAS_SCALE_PER_GROUP,
                       .scale_dtype = QBLAS_DTYPE_F16, .group_size = 128}, false, true},
        {"w4a8 per-channel", {.format = QBLAS_WFORMAT_W4A8, .dtype = QBLAS_DTYPE_U4, .scale_mode = QBLAS_SCALE_PER_ROW,
                              .scale_dtype = QBLAS_DTYPE_F16, .group_size = 0}, false, true},
        {"2:4 f16", {.format = QBLAS_WFORMAT_SPARSE24, .dtype = QBLAS_DTYPE_F16, .scale_mode = QBLAS_SCALE_NONE},
         false, false},
        {"2:4 e4m3 per-row", {.format = QBLAS_WFORMAT_SPARSE24, .dtype = QBLAS_DTYPE_E4M3,
                              .scale_mode = QBLAS_SCALE_PER_ROW, .scale_dtype = QBLAS_DTYPE_F32}, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        qblas_weight_t a = cases[i].w, b;
        a.n = n, a.k = k;
        a.g_idx = cases[i].g_idx ? g_idx : NULL;
        buffers(&a, cases[i].zeros);
        b = a;
        buffers(&b, cases[i].zeros);
        g_measuring = true, g_largest = g_total = 0;
        qblas_status_t st = qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, ld, &a);
        g_measuring = false;
        ck_assert_msg(st == QBLAS_STATUS_SUCCESS, "%s: %s", cases[i].name, qblas_last_error(NULL));
        QBT_EXPECT(g_largest < f32_copy && g_total < f32_copy,
                   "%s: allocated %zu bytes (largest %zu): an f32 copy of the %zu-byte source", cases[i].name,
                   g_total, g_largest, f32_copy);
        QBT_OK(qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, dense, k, &b));
        QBT_EXPECT(same_outputs(&a, &b), "%s: ld = k + 8 and ld = k differ", cases[i].name);
        free_buffers(&a), free_buffers(&b);
    }
    qbt_free(src), qbt_free(dense), qbt_free(g_idx);
}
END_TEST

/* The wrappers see the library's allocations (or the test above could not fail). */
START_TEST(wrappers_see_the_library)
{
    const int64_t n = 64, k = 256;
    qbt_rng r = qbt_rng_make(1202);
    uint16_t *src = qbt_alloc((size_t)(n * k) * 2);
    qbt_fill(&r, QBLAS_DTYPE_F16, src, n * k, -1.0, 1.0);
    qblas_weight_t w = {.format = QBLAS_WFORMAT_INT8, .dtype = QBLAS_DTYPE_I8, .n = n, .k = k,
                        .scale_mode = QBLAS_SCALE_PER_ROW, .scale_dtype = QBLAS_DTYPE_F32};
    buffers(&w, false);
    /* f16 rows are converted to f32 first: one n x k f32 buffer */
    g_measuring = true, g_largest = g_total = 0;
    QBT_OK(qblas_quantize_weight(n, k, QBLAS_DTYPE_F16, src, k, &w));
    g_measuring = false;
    ck_assert_uint_eq(g_largest, (size_t)(n * k) * 4);
    free_buffers(&w);
    qbt_free(src);
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("host_memory");
    TCase *tc = tcase_create("quantize_weight");
    tcase_add_test(tc, quantize_f32_source_in_place);
    tcase_add_test(tc, wrappers_see_the_library);
    suite_add_tcase(s, tc);
    return s;
}
