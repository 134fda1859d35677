/* test_smoke.c - the library links, a handle comes and goes, FP8 and INT8 run. */
#include "qb_test.h"

START_TEST(version)
{
    ck_assert_int_eq(qblas_get_version(), QBLAS_VERSION);
    qblas_handle_t h = qbt_cpu();
    qblas_backend_t b;
    QBT_OK(qblas_get_backend(h, &b));
    ck_assert_int_eq(b, QBLAS_BACKEND_CPU);
    QBT_OK(qblas_destroy(h));
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("smoke");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, version);
    suite_add_tcase(s, tc);
    return s;
}
