/* test_hip_table.c - the HIP backend's launcher tables (src/hip/hip_table.hip)
 * as the host code will read them, without a GPU: for every gfx target of
 * the build (QB_TEST_BUILT_<target>, from the build's QBLAS_HIP_TARGETS), its table
 * qb_hip_kernels_<target> is linked and says its target and features, and
 * no launcher is NULL; a target not built has no table (the weak NULL).
 * Linked with the whole libqblas (a weak reference pulls no archive member:
 * hip_kernels.h). Plain C, no check framework: exit status 0 = pass. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hip/hip_kernels.h"

#ifndef QB_TEST_BUILT_gfx90a
#define QB_TEST_BUILT_gfx90a 0
#endif
#ifndef QB_TEST_BUILT_gfx942
#define QB_TEST_BUILT_gfx942 0
#endif

static int check(const qb_hip_kernels *t, const char *target, int built)
{
    if (!t) {
        printf("%s %s: no table%s\n", built ? "FAIL" : "ok  ", target, built ? ", but the build compiled it" : "");
        return built;
    }
    if (!built) {
        printf("FAIL %s: a table, but the build did not compile the target\n", target);
        return 1;
    }
    int bad = strcmp(t->target, target) != 0 || t->has_fp8 != (strncmp(target, "gfx94", 5) == 0) || t->has_smfmac != 0;
    /* every field after the three scalars is a function pointer */
    const size_t first = offsetof(qb_hip_kernels, qact), count = (sizeof *t - first) / sizeof(void (*)(void));
    for (size_t i = 0; i < count; ++i) {
        void (*f)(void);
        memcpy(&f, (const char *)t + first + i * sizeof f, sizeof f);
        if (!f) printf("FAIL %s: function pointer %zu of %zu is NULL\n", target, i, count), bad = 1;
    }
    printf("%s %s: target \"%s\", has_fp8 %d, has_smfmac %d, %zu launchers\n", bad ? "FAIL" : "ok  ", target,
           t->target, t->has_fp8, t->has_smfmac, count);
    return bad;
}

int main(void)
{
    const int bad = check(&qb_hip_kernels_gfx90a ? &qb_hip_kernels_gfx90a : NULL, "gfx90a", QB_TEST_BUILT_gfx90a) |
                    check(&qb_hip_kernels_gfx942 ? &qb_hip_kernels_gfx942 : NULL, "gfx942", QB_TEST_BUILT_gfx942);
    return bad;
}
