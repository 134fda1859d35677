/* qb_test_main.c - shared main for every test program, and qb_test.h's helpers. */
#include <time.h>

#include "qb_test.h"

uint64_t qbt_seed;

void qbt_fill(qbt_rng *r, qblas_dtype_t t, void *p, int64_t n, double lo, double hi)
{
    for (int64_t i = 0; i < n; i++) {
        float v = (float)qbt_uniform(r, lo, hi);
        switch (t) {
        case QBLAS_DTYPE_F32: ((float *)p)[i] = v; break;
        case QBLAS_DTYPE_F16: ((uint16_t *)p)[i] = qb_f32_to_f16(v); break;
        case QBLAS_DTYPE_BF16: ((uint16_t *)p)[i] = qb_f32_to_bf16(v); break;
        default: ck_abort_msg("qbt_fill: dtype %d", (int)t);
        }
    }
}

void qbt_fill_bytes(qbt_rng *r, void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) ((uint8_t *)p)[i] = (uint8_t)qbt_next(r);
}

double qbt_get(qblas_dtype_t t, const void *p, int64_t i)
{
    switch (t) {
    case QBLAS_DTYPE_F32: return ((const float *)p)[i];
    case QBLAS_DTYPE_F16: return qb_f16_to_f32(((const uint16_t *)p)[i]);
    case QBLAS_DTYPE_BF16: return qb_bf16_to_f32(((const uint16_t *)p)[i]);
    case QBLAS_DTYPE_I8: return ((const int8_t *)p)[i];
    case QBLAS_DTYPE_U8: return ((const uint8_t *)p)[i];
    case QBLAS_DTYPE_I32: return ((const int32_t *)p)[i];
    case QBLAS_DTYPE_E4M3: return qb_fp8_decode(((const uint8_t *)p)[i], QB_FP8_E4M3);
    case QBLAS_DTYPE_E5M2: return qb_fp8_decode(((const uint8_t *)p)[i], QB_FP8_E5M2);
    case QBLAS_DTYPE_E4M3FNUZ: return qb_fp8_decode(((const uint8_t *)p)[i], QB_FP8_E4M3FNUZ);
    default: ck_abort_msg("qbt_get: dtype %d", (int)t); return 0;
    }
}

#define GUARD 64
#define CANARY 0xA5
typedef struct { size_t bytes; size_t pad; } qbt_hdr;

void *qbt_alloc(size_t bytes)
{
    /* [hdr | pad to 64][guard 64][data bytes][guard 64] */
    uint8_t *base = aligned_alloc(64, 64 + GUARD + ((bytes + 63) / 64) * 64 + GUARD);
    ck_assert_msg(base != NULL, "qbt_alloc(%zu) failed", bytes);
    ((qbt_hdr *)base)->bytes = bytes;
    uint8_t *data = base + 64 + GUARD;
    memset(base + 64, CANARY, GUARD);
    memset(data + bytes, CANARY, GUARD);
    static uint64_t salt = 1;
    qbt_rng r = qbt_rng_make(0xA110C + salt++);
    qbt_fill_bytes(&r, data, bytes);
    return data;
}

static uint8_t *base_of(const void *p) { return (uint8_t *)p - GUARD - 64; }
size_t qbt_size(const void *p) { return ((qbt_hdr *)base_of(p))->bytes; }

bool qbt_guard_ok(const void *p)
{
    const uint8_t *d = p;
    size_t bytes = qbt_size(p);
    for (int i = 0; i < GUARD; i++)
        if (d[-1 - i] != CANARY || d[bytes + i] != CANARY) return false;
    return true;
}

void qbt_free(void *p)
{
    if (!p) return;
    ck_assert_msg(qbt_guard_ok(p), "guard band overwritten [seed %llu]", (unsigned long long)qbt_seed);
    free(base_of(p));
}

void qbt_poison(void *p, size_t bytes) { memset(p, 0xFF, bytes); }

void *qbt_snapshot(const void *p, size_t bytes)
{
    void *s = malloc(bytes ? bytes : 1);
    ck_assert(s != NULL);
    memcpy(s, p, bytes);
    return s;
}

bool qbt_unchanged(const void *p, const void *snap, size_t bytes) { return memcmp(p, snap, bytes) == 0; }

double qbt_half_ulp(qblas_dtype_t t, double v)
{
    int mant;
    double min_normal;
    switch (t) {
    case QBLAS_DTYPE_F16: mant = 10, min_normal = 0x1p-14; break;
    case QBLAS_DTYPE_BF16: mant = 7, min_normal = 0x1p-126; break;
    default: mant = 23, min_normal = 0x1p-126; break;
    }
    double a = fabs(v);
    if (a < min_normal) a = min_normal;
    int e;
    frexp(a, &e); /* a in [2^(e-1), 2^e) */
    return ldexp(1.0, e - 1 - mant - 1);
}

qblas_handle_t qbt_cpu(void)
{
    qblas_handle_t h = NULL;
    QBT_OK(qblas_create(&h, QBLAS_BACKEND_CPU, 0));
    return h;
}

qblas_status_t qbt_gemm(qblas_handle_t h, int64_t m, const qblas_act_t *x, const qblas_weight_t *w,
                        const void *bias, qblas_dtype_t y_dtype, void *y, int64_t ldy, char *kernel)
{
    qblas_kernel_info_t info;
    qblas_status_t st = qblas_gemm_query(h, m, w->n, w->k, x, w, y_dtype, &info);
    if (st) return st;
    void *ws = qbt_alloc(info.workspace_bytes ? info.workspace_bytes : 1);
    st = qblas_gemm(h, m, w->n, w->k, x, w, bias, y_dtype, y, ldy, ws, info.workspace_bytes, NULL);
    qbt_free(ws);
    if (kernel) snprintf(kernel, QBLAS_KERNEL_NAME_MAX, "%s", info.kernel_name);
    return st;
}

void qbt_gemm_invariants(qblas_handle_t h, int64_t m, const qblas_act_t *x, const qblas_weight_t *w,
                         const void *bias, qblas_dtype_t y_dtype, const void *y, int64_t ldy, size_t ybytes)
{
    int threads;
    QBT_OK(qblas_get_num_threads(h, &threads));
    void *again = qbt_alloc(ybytes);
    for (int t = 2; t <= 3; t++) {
        QBT_OK(qblas_set_num_threads(h, t));
        qbt_poison(again, ybytes);
        QBT_OK(qbt_gemm(h, m, x, w, bias, y_dtype, again, ldy, NULL));
        QBT_EXPECT(memcmp(again, y, ybytes) == 0, "%d threads change Y [seed %llu]", t, (unsigned long long)qbt_seed);
    }
    QBT_OK(qblas_set_num_threads(h, threads));
    size_t bytes;
    QBT_OK(qblas_prepack_size(h, w, &bytes));
    void *blob = qbt_alloc(bytes);
    qblas_weight_t packed;
    QBT_OK(qblas_prepack(h, w, blob, bytes, &packed, NULL));
    qbt_poison(again, ybytes);
    QBT_OK(qbt_gemm(h, m, x, &packed, bias, y_dtype, again, ldy, NULL));
    QBT_EXPECT(memcmp(again, y, ybytes) == 0, "the prepacked weight changes Y [seed %llu]", (unsigned long long)qbt_seed);
    qbt_free(blob);
    qbt_free(again);
}

int main(void)
{
    const char *env = getenv("QBLAS_TEST_SEED");
    qbt_seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    printf("seed %llu (set QBLAS_TEST_SEED to repeat)\n", (unsigned long long)qbt_seed);
    SRunner *sr = srunner_create(qbt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
