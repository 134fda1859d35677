/* splits.c - split-K planning of the 4-bit weight GEMMs, shared by the GPU
 * backends (vendor-neutral arithmetic: qblas_internal.h, qb_plan_splits). */
#include "qblas_internal.h"

void qb_plan_splits(int64_t target, int64_t m, int64_t blocks, int64_t kt, int64_t kp, int64_t max_splits,
                    const qb_choice *fixed, int64_t *tiles_per_split, int64_t *splits)
{
    int64_t n = 1;
    if (fixed) { /* a plan's count: any 1 .. max_splits is correct; at most one split per k tile */
        n = fixed->splits < 1 ? 1 : fixed->splits > max_splits ? max_splits : fixed->splits;
        if (n > kt) n = kt;
    } else if (blocks < target) {
        int64_t most = kt / 4, traffic = kp / (64 * m);
        if (traffic < most) most = traffic;
        n = qb_cdiv(target, blocks);
        if (n > most) n = most;
        if (n > max_splits) n = max_splits;
        if (n < 1) n = 1;
    }
    *tiles_per_split = qb_cdiv(kt, n);
    *splits = qb_cdiv(kt, *tiles_per_split); /* no empty split */
}
