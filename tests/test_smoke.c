/* test_smoke.c - the library links, a handle comes and goes, and
 * qblas_convert (the public face of the conversions) keeps their rounding. */
#include "qb_test.h"

START_TEST(version_and_handle)
{
    ck_assert_int_eq(qblas_get_version(), QBLAS_VERSION);
    qblas_handle_t h = qbt_cpu();
    qblas_backend_t b;
    QBT_OK(qblas_get_backend(h, &b));
    ck_assert_int_eq(b, QBLAS_BACKEND_CPU);
    QBT_OK(qblas_destroy(h));
}
END_TEST

/* Every f16 code through f16 -> f32 -> f16 and f16 -> bf16 must match the
 * scalar conversions (tested exhaustively in test_convert.c). */
START_TEST(convert_matches_scalar)
{
    enum { N = 65536 };
    uint16_t *h16 = qbt_alloc(2 * N), *back = qbt_alloc(2 * N), *b16 = qbt_alloc(2 * N);
    float *f = qbt_alloc(4 * N);
    uint8_t *e4 = qbt_alloc(N);
    for (int i = 0; i < N; i++) h16[i] = (uint16_t)i;
    QBT_OK(qblas_convert(N, QBLAS_DTYPE_F16, h16, QBLAS_DTYPE_F32, f));
    QBT_OK(qblas_convert(N, QBLAS_DTYPE_F32, f, QBLAS_DTYPE_F16, back));
    QBT_OK(qblas_convert(N, QBLAS_DTYPE_F16, h16, QBLAS_DTYPE_BF16, b16));
    QBT_OK(qblas_convert(N, QBLAS_DTYPE_F16, h16, QBLAS_DTYPE_E4M3, e4));
    for (int i = 0; i < N; i++) {
        float v = qb_f16_to_f32((uint16_t)i);
        ck_assert_uint_eq(qb_f32_bits(f[i]), qb_f32_bits(v));
        ck_assert_uint_eq(back[i], qb_f32_to_f16(v));
        ck_assert_uint_eq(b16[i], qb_f32_to_bf16(v));
        ck_assert_uint_eq(e4[i], qb_fp8_encode(v, QB_FP8_E4M3));
    }
    qbt_free(h16), qbt_free(back), qbt_free(b16), qbt_free(f), qbt_free(e4);
}
END_TEST

START_TEST(convert_rejects_bad_input)
{
    uint16_t *src = qbt_alloc(16), *dst = qbt_alloc(16);
    void *snap = qbt_snapshot(dst, 16);
    QBT_STATUS(qblas_convert(4, QBLAS_DTYPE_F16, NULL, QBLAS_DTYPE_F32, dst), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_convert(0, QBLAS_DTYPE_F16, src, QBLAS_DTYPE_F16, dst), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_convert(-1, QBLAS_DTYPE_F16, src, QBLAS_DTYPE_F16, dst), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_convert(4, QBLAS_DTYPE_I8, src, QBLAS_DTYPE_F16, dst), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_convert(4, QBLAS_DTYPE_F16, src, (qblas_dtype_t)99, dst), QBLAS_STATUS_INVALID_VALUE);
    /* an f32 destination at an address that is not a multiple of 4 */
    QBT_STATUS(qblas_convert(2, QBLAS_DTYPE_F16, src, QBLAS_DTYPE_F32, (uint8_t *)dst + 2), QBLAS_STATUS_INVALID_VALUE);
    ck_assert_msg(strlen(qblas_last_error(NULL)) > 0, "a failure leaves a reason");
    ck_assert(qbt_unchanged(dst, snap, 16));
    free(snap);
    qbt_free(src), qbt_free(dst);
}
END_TEST

/* Prepack reads every buffer the format needs, so it checks them as the
 * GEMM does; and a CPU blob whose pointers were altered is checked again. */
START_TEST(prepack_needs_every_buffer)
{
    qblas_handle_t h = qbt_cpu();
    enum { N = 8, K = 64 };
    uint8_t *codes = qbt_alloc(N * K / 2);
    uint16_t *scales = qbt_alloc(2 * N * 2), *x = qbt_alloc(2 * K), *y = qbt_alloc(2 * N);
    qblas_weight_t w = {.format = QBLAS_WFORMAT_W4A16, .dtype = QBLAS_DTYPE_U4, .n = N, .k = K, .data = codes,
                        .scale_mode = QBLAS_SCALE_PER_GROUP, .scale_dtype = QBLAS_DTYPE_F16, .group_size = 32};
    size_t bytes = 1 << 16;
    uint8_t *blob = qbt_alloc(bytes);
    void *snap = qbt_snapshot(blob, bytes);
    qblas_weight_t packed;
    QBT_STATUS(qblas_prepack_size(h, &w, &bytes), QBLAS_STATUS_INVALID_VALUE); /* scales NULL */
    QBT_STATUS(qblas_prepack(h, &w, blob, bytes, &packed, NULL), QBLAS_STATUS_INVALID_VALUE);
    ck_assert(qbt_unchanged(blob, snap, bytes));
    w.scales = scales;
    QBT_OK(qblas_prepack_size(h, &w, &bytes));
    ck_assert(bytes <= 1 << 16);
    for (int i = 0; i < 2 * N; i++) scales[i] = qb_f32_to_f16(0.01f);
    for (int i = 0; i < K; i++) x[i] = qb_f32_to_f16(1.0f);
    QBT_OK(qblas_prepack(h, &w, blob, bytes, &packed, NULL));
    QBT_OK(qbt_gemm(h, 1, &(qblas_act_t){QBLAS_DTYPE_F16, x, K, QBLAS_SCALE_NONE, NULL, NULL}, &packed, NULL,
                    QBLAS_DTYPE_F16, y, N, NULL));
    packed.scales = NULL;
    qbt_poison(y, 2 * N);
    QBT_STATUS(qbt_gemm(h, 1, &(qblas_act_t){QBLAS_DTYPE_F16, x, K, QBLAS_SCALE_NONE, NULL, NULL}, &packed, NULL,
                        QBLAS_DTYPE_F16, y, N, NULL),
               QBLAS_STATUS_INVALID_VALUE);
    for (int i = 0; i < N; i++) ck_assert_uint_eq(y[i], 0xFFFF);
    free(snap);
    qbt_free(codes), qbt_free(scales), qbt_free(x), qbt_free(y), qbt_free(blob);
    qblas_destroy(h);
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("smoke");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, version_and_handle);
    tcase_add_test(tc, convert_matches_scalar);
    tcase_add_test(tc, convert_rejects_bad_input);
    tcase_add_test(tc, prepack_needs_every_buffer);
    suite_add_tcase(s, tc);
    return s;
}
