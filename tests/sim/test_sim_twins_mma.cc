/* test_sim_twins_mma.cc - the mma.sync, mma.sp and ldmatrix twins
 * (src/sim/twins/mma.cc, ldmatrix.cc) against the PTX ISA.
 *
 * Layouts: every fragment layout is written out below as the ISA figure
 * draws it (PTX ISA 9.1 figure numbers): the matrix, each cell naming the
 * thread and element that holds it ("T5a2": lane 5, element a2; "T4[7:4]":
 * bits 7..4 of lane 4's metadata register). The tests pack operands and read
 * results through these tables only. The tables were transcribed from the
 * ISA's figures and the row/column formulas printed beside them, and for the
 * figures the ISA gives no formula for (sparse B, Figures 121 and 132-135;
 * metadata, Figures 122 and 136-137) checked against CUTLASS/CuTe's
 * thread-value layouts of the same instructions (mma_traits_sm120_sparse.hpp,
 * mma_traits_sm90_gmma_sparse.hpp, which uses Figure 122 for each warp).
 *
 * Techniques: one-hot A against random B and C (each A position must land
 * where the figures say, multiplying the B row the figures say, into the D
 * cell the figures say), random full products against a naive triple loop,
 * and special values (NaN, inf * 0, signed zeros, subnormals, fp8 NaN codes,
 * integer wrap). Floating-point expectations follow the twins' documented
 * accumulation (exact products, C first, k ascending, in double, one
 * rounding to fp32); NaN results are the canonical 0x7FFFFFFF.
 */
extern "C" {
#include "qb_test.h"
}

#include <vector>

#include "sim/twins/ptx_twins.h"

using namespace qbsim::ptx;

namespace {

/* Figure 79: mma.m16n8k16 A (.f16/.bf16), 16 rows x 16 columns */
const char *const kFig79[16] = {
    "T0a0  T0a1  T1a0  T1a1  T2a0  T2a1  T3a0  T3a1  T0a4  T0a5  T1a4  T1a5  T2a4  T2a5  T3a4  T3a5",
    "T4a0  T4a1  T5a0  T5a1  T6a0  T6a1  T7a0  T7a1  T4a4  T4a5  T5a4  T5a5  T6a4  T6a5  T7a4  T7a5",
    "T8a0  T8a1  T9a0  T9a1  T10a0 T10a1 T11a0 T11a1 T8a4  T8a5  T9a4  T9a5  T10a4 T10a5 T11a4 T11a5",
    "T12a0 T12a1 T13a0 T13a1 T14a0 T14a1 T15a0 T15a1 T12a4 T12a5 T13a4 T13a5 T14a4 T14a5 T15a4 T15a5",
    "T16a0 T16a1 T17a0 T17a1 T18a0 T18a1 T19a0 T19a1 T16a4 T16a5 T17a4 T17a5 T18a4 T18a5 T19a4 T19a5",
    "T20a0 T20a1 T21a0 T21a1 T22a0 T22a1 T23a0 T23a1 T20a4 T20a5 T21a4 T21a5 T22a4 T22a5 T23a4 T23a5",
    "T24a0 T24a1 T25a0 T25a1 T26a0 T26a1 T27a0 T27a1 T24a4 T24a5 T25a4 T25a5 T26a4 T26a5 T27a4 T27a5",
    "T28a0 T28a1 T29a0 T29a1 T30a0 T30a1 T31a0 T31a1 T28a4 T28a5 T29a4 T29a5 T30a4 T30a5 T31a4 T31a5",
    "T0a2  T0a3  T1a2  T1a3  T2a2  T2a3  T3a2  T3a3  T0a6  T0a7  T1a6  T1a7  T2a6  T2a7  T3a6  T3a7",
    "T4a2  T4a3  T5a2  T5a3  T6a2  T6a3  T7a2  T7a3  T4a6  T4a7  T5a6  T5a7  T6a6  T6a7  T7a6  T7a7",
    "T8a2  T8a3  T9a2  T9a3  T10a2 T10a3 T11a2 T11a3 T8a6  T8a7  T9a6  T9a7  T10a6 T10a7 T11a6 T11a7",
    "T12a2 T12a3 T13a2 T13a3 T14a2 T14a3 T15a2 T15a3 T12a6 T12a7 T13a6 T13a7 T14a6 T14a7 T15a6 T15a7",
    "T16a2 T16a3 T17a2 T17a3 T18a2 T18a3 T19a2 T19a3 T16a6 T16a7 T17a6 T17a7 T18a6 T18a7 T19a6 T19a7",
    "T20a2 T20a3 T21a2 T21a3 T22a2 T22a3 T23a2 T23a3 T20a6 T20a7 T21a6 T21a7 T22a6 T22a7 T23a6 T23a7",
    "T24a2 T24a3 T25a2 T25a3 T26a2 T26a3 T27a2 T27a3 T24a6 T24a7 T25a6 T25a7 T26a6 T26a7 T27a6 T27a7",
    "T28a2 T28a3 T29a2 T29a3 T30a2 T30a3 T31a2 T31a3 T28a6 T28a7 T29a6 T29a7 T30a6 T30a7 T31a6 T31a7",
};

/* Figure 81: mma.m16n8k16 B (.f16/.bf16), 16 rows (k) x 8 columns (n) */
const char *const kFig81[16] = {
    "T0b0  T4b0  T8b0  T12b0 T16b0 T20b0 T24b0 T28b0",
    "T0b1  T4b1  T8b1  T12b1 T16b1 T20b1 T24b1 T28b1",
    "T1b0  T5b0  T9b0  T13b0 T17b0 T21b0 T25b0 T29b0",
    "T1b1  T5b1  T9b1  T13b1 T17b1 T21b1 T25b1 T29b1",
    "T2b0  T6b0  T10b0 T14b0 T18b0 T22b0 T26b0 T30b0",
    "T2b1  T6b1  T10b1 T14b1 T18b1 T22b1 T26b1 T30b1",
    "T3b0  T7b0  T11b0 T15b0 T19b0 T23b0 T27b0 T31b0",
    "T3b1  T7b1  T11b1 T15b1 T19b1 T23b1 T27b1 T31b1",
    "T0b2  T4b2  T8b2  T12b2 T16b2 T20b2 T24b2 T28b2",
    "T0b3  T4b3  T8b3  T12b3 T16b3 T20b3 T24b3 T28b3",
    "T1b2  T5b2  T9b2  T13b2 T17b2 T21b2 T25b2 T29b2",
    "T1b3  T5b3  T9b3  T13b3 T17b3 T21b3 T25b3 T29b3",
    "T2b2  T6b2  T10b2 T14b2 T18b2 T22b2 T26b2 T30b2",
    "T2b3  T6b3  T10b3 T14b3 T18b3 T22b3 T26b3 T30b3",
    "T3b2  T7b2  T11b2 T15b2 T19b2 T23b2 T27b2 T31b2",
    "T3b3  T7b3  T11b3 T15b3 T19b3 T23b3 T27b3 T31b3",
};

/* Figures 83 / 92: C/D of m16n8k16 and m16n8k32, 16 rows x 8 columns */
const char *const kFig83[16] = {
    "T0c0  T0c1  T1c0  T1c1  T2c0  T2c1  T3c0  T3c1",
    "T4c0  T4c1  T5c0  T5c1  T6c0  T6c1  T7c0  T7c1",
    "T8c0  T8c1  T9c0  T9c1  T10c0 T10c1 T11c0 T11c1",
    "T12c0 T12c1 T13c0 T13c1 T14c0 T14c1 T15c0 T15c1",
    "T16c0 T16c1 T17c0 T17c1 T18c0 T18c1 T19c0 T19c1",
    "T20c0 T20c1 T21c0 T21c1 T22c0 T22c1 T23c0 T23c1",
    "T24c0 T24c1 T25c0 T25c1 T26c0 T26c1 T27c0 T27c1",
    "T28c0 T28c1 T29c0 T29c1 T30c0 T30c1 T31c0 T31c1",
    "T0c2  T0c3  T1c2  T1c3  T2c2  T2c3  T3c2  T3c3",
    "T4c2  T4c3  T5c2  T5c3  T6c2  T6c3  T7c2  T7c3",
    "T8c2  T8c3  T9c2  T9c3  T10c2 T10c3 T11c2 T11c3",
    "T12c2 T12c3 T13c2 T13c3 T14c2 T14c3 T15c2 T15c3",
    "T16c2 T16c3 T17c2 T17c3 T18c2 T18c3 T19c2 T19c3",
    "T20c2 T20c3 T21c2 T21c3 T22c2 T22c3 T23c2 T23c3",
    "T24c2 T24c3 T25c2 T25c3 T26c2 T26c3 T27c2 T27c3",
    "T28c2 T28c3 T29c2 T29c3 T30c2 T30c3 T31c2 T31c3",
};

/* Figure 88: mma.m16n8k32 A (.s8/.e4m3/.e5m2), 16 rows x 32 columns */
const char *const kFig88[16] = {
    "T0a0   T0a1   T0a2   T0a3   T1a0   T1a1   T1a2   T1a3   T2a0   T2a1   T2a2   T2a3   T3a0   T3a1   T3a2   T3a3   T0a8   T0a9   T0a10  T0a11  T1a8   T1a9   T1a10  T1a11  T2a8   T2a9   T2a10  T2a11  T3a8   T3a9   T3a10  T3a11",
    "T4a0   T4a1   T4a2   T4a3   T5a0   T5a1   T5a2   T5a3   T6a0   T6a1   T6a2   T6a3   T7a0   T7a1   T7a2   T7a3   T4a8   T4a9   T4a10  T4a11  T5a8   T5a9   T5a10  T5a11  T6a8   T6a9   T6a10  T6a11  T7a8   T7a9   T7a10  T7a11",
    "T8a0   T8a1   T8a2   T8a3   T9a0   T9a1   T9a2   T9a3   T10a0  T10a1  T10a2  T10a3  T11a0  T11a1  T11a2  T11a3  T8a8   T8a9   T8a10  T8a11  T9a8   T9a9   T9a10  T9a11  T10a8  T10a9  T10a10 T10a11 T11a8  T11a9  T11a10 T11a11",
    "T12a0  T12a1  T12a2  T12a3  T13a0  T13a1  T13a2  T13a3  T14a0  T14a1  T14a2  T14a3  T15a0  T15a1  T15a2  T15a3  T12a8  T12a9  T12a10 T12a11 T13a8  T13a9  T13a10 T13a11 T14a8  T14a9  T14a10 T14a11 T15a8  T15a9  T15a10 T15a11",
    "T16a0  T16a1  T16a2  T16a3  T17a0  T17a1  T17a2  T17a3  T18a0  T18a1  T18a2  T18a3  T19a0  T19a1  T19a2  T19a3  T16a8  T16a9  T16a10 T16a11 T17a8  T17a9  T17a10 T17a11 T18a8  T18a9  T18a10 T18a11 T19a8  T19a9  T19a10 T19a11",
    "T20a0  T20a1  T20a2  T20a3  T21a0  T21a1  T21a2  T21a3  T22a0  T22a1  T22a2  T22a3  T23a0  T23a1  T23a2  T23a3  T20a8  T20a9  T20a10 T20a11 T21a8  T21a9  T21a10 T21a11 T22a8  T22a9  T22a10 T22a11 T23a8  T23a9  T23a10 T23a11",
    "T24a0  T24a1  T24a2  T24a3  T25a0  T25a1  T25a2  T25a3  T26a0  T26a1  T26a2  T26a3  T27a0  T27a1  T27a2  T27a3  T24a8  T24a9  T24a10 T24a11 T25a8  T25a9  T25a10 T25a11 T26a8  T26a9  T26a10 T26a11 T27a8  T27a9  T27a10 T27a11",
    "T28a0  T28a1  T28a2  T28a3  T29a0  T29a1  T29a2  T29a3  T30a0  T30a1  T30a2  T30a3  T31a0  T31a1  T31a2  T31a3  T28a8  T28a9  T28a10 T28a11 T29a8  T29a9  T29a10 T29a11 T30a8  T30a9  T30a10 T30a11 T31a8  T31a9  T31a10 T31a11",
    "T0a4   T0a5   T0a6   T0a7   T1a4   T1a5   T1a6   T1a7   T2a4   T2a5   T2a6   T2a7   T3a4   T3a5   T3a6   T3a7   T0a12  T0a13  T0a14  T0a15  T1a12  T1a13  T1a14  T1a15  T2a12  T2a13  T2a14  T2a15  T3a12  T3a13  T3a14  T3a15",
    "T4a4   T4a5   T4a6   T4a7   T5a4   T5a5   T5a6   T5a7   T6a4   T6a5   T6a6   T6a7   T7a4   T7a5   T7a6   T7a7   T4a12  T4a13  T4a14  T4a15  T5a12  T5a13  T5a14  T5a15  T6a12  T6a13  T6a14  T6a15  T7a12  T7a13  T7a14  T7a15",
    "T8a4   T8a5   T8a6   T8a7   T9a4   T9a5   T9a6   T9a7   T10a4  T10a5  T10a6  T10a7  T11a4  T11a5  T11a6  T11a7  T8a12  T8a13  T8a14  T8a15  T9a12  T9a13  T9a14  T9a15  T10a12 T10a13 T10a14 T10a15 T11a12 T11a13 T11a14 T11a15",
    "T12a4  T12a5  T12a6  T12a7  T13a4  T13a5  T13a6  T13a7  T14a4  T14a5  T14a6  T14a7  T15a4  T15a5  T15a6  T15a7  T12a12 T12a13 T12a14 T12a15 T13a12 T13a13 T13a14 T13a15 T14a12 T14a13 T14a14 T14a15 T15a12 T15a13 T15a14 T15a15",
    "T16a4  T16a5  T16a6  T16a7  T17a4  T17a5  T17a6  T17a7  T18a4  T18a5  T18a6  T18a7  T19a4  T19a5  T19a6  T19a7  T16a12 T16a13 T16a14 T16a15 T17a12 T17a13 T17a14 T17a15 T18a12 T18a13 T18a14 T18a15 T19a12 T19a13 T19a14 T19a15",
    "T20a4  T20a5  T20a6  T20a7  T21a4  T21a5  T21a6  T21a7  T22a4  T22a5  T22a6  T22a7  T23a4  T23a5  T23a6  T23a7  T20a12 T20a13 T20a14 T20a15 T21a12 T21a13 T21a14 T21a15 T22a12 T22a13 T22a14 T22a15 T23a12 T23a13 T23a14 T23a15",
    "T24a4  T24a5  T24a6  T24a7  T25a4  T25a5  T25a6  T25a7  T26a4  T26a5  T26a6  T26a7  T27a4  T27a5  T27a6  T27a7  T24a12 T24a13 T24a14 T24a15 T25a12 T25a13 T25a14 T25a15 T26a12 T26a13 T26a14 T26a15 T27a12 T27a13 T27a14 T27a15",
    "T28a4  T28a5  T28a6  T28a7  T29a4  T29a5  T29a6  T29a7  T30a4  T30a5  T30a6  T30a7  T31a4  T31a5  T31a6  T31a7  T28a12 T28a13 T28a14 T28a15 T29a12 T29a13 T29a14 T29a15 T30a12 T30a13 T30a14 T30a15 T31a12 T31a13 T31a14 T31a15",
};

/* Figures 90-91: mma.m16n8k32 B (.s8/.e4m3/.e5m2), 32 rows (k) x 8 columns (n) */
const char *const kFig90[32] = {
    "T0b0  T4b0  T8b0  T12b0 T16b0 T20b0 T24b0 T28b0",
    "T0b1  T4b1  T8b1  T12b1 T16b1 T20b1 T24b1 T28b1",
    "T0b2  T4b2  T8b2  T12b2 T16b2 T20b2 T24b2 T28b2",
    "T0b3  T4b3  T8b3  T12b3 T16b3 T20b3 T24b3 T28b3",
    "T1b0  T5b0  T9b0  T13b0 T17b0 T21b0 T25b0 T29b0",
    "T1b1  T5b1  T9b1  T13b1 T17b1 T21b1 T25b1 T29b1",
    "T1b2  T5b2  T9b2  T13b2 T17b2 T21b2 T25b2 T29b2",
    "T1b3  T5b3  T9b3  T13b3 T17b3 T21b3 T25b3 T29b3",
    "T2b0  T6b0  T10b0 T14b0 T18b0 T22b0 T26b0 T30b0",
    "T2b1  T6b1  T10b1 T14b1 T18b1 T22b1 T26b1 T30b1",
    "T2b2  T6b2  T10b2 T14b2 T18b2 T22b2 T26b2 T30b2",
    "T2b3  T6b3  T10b3 T14b3 T18b3 T22b3 T26b3 T30b3",
    "T3b0  T7b0  T11b0 T15b0 T19b0 T23b0 T27b0 T31b0",
    "T3b1  T7b1  T11b1 T15b1 T19b1 T23b1 T27b1 T31b1",
    "T3b2  T7b2  T11b2 T15b2 T19b2 T23b2 T27b2 T31b2",
    "T3b3  T7b3  T11b3 T15b3 T19b3 T23b3 T27b3 T31b3",
    "T0b4  T4b4  T8b4  T12b4 T16b4 T20b4 T24b4 T28b4",
    "T0b5  T4b5  T8b5  T12b5 T16b5 T20b5 T24b5 T28b5",
    "T0b6  T4b6  T8b6  T12b6 T16b6 T20b6 T24b6 T28b6",
    "T0b7  T4b7  T8b7  T12b7 T16b7 T20b7 T24b7 T28b7",
    "T1b4  T5b4  T9b4  T13b4 T17b4 T21b4 T25b4 T29b4",
    "T1b5  T5b5  T9b5  T13b5 T17b5 T21b5 T25b5 T29b5",
    "T1b6  T5b6  T9b6  T13b6 T17b6 T21b6 T25b6 T29b6",
    "T1b7  T5b7  T9b7  T13b7 T17b7 T21b7 T25b7 T29b7",
    "T2b4  T6b4  T10b4 T14b4 T18b4 T22b4 T26b4 T30b4",
    "T2b5  T6b5  T10b5 T14b5 T18b5 T22b5 T26b5 T30b5",
    "T2b6  T6b6  T10b6 T14b6 T18b6 T22b6 T26b6 T30b6",
    "T2b7  T6b7  T10b7 T14b7 T18b7 T22b7 T26b7 T30b7",
    "T3b4  T7b4  T11b4 T15b4 T19b4 T23b4 T27b4 T31b4",
    "T3b5  T7b5  T11b5 T15b5 T19b5 T23b5 T27b5 T31b5",
    "T3b6  T7b6  T11b6 T15b6 T19b6 T23b6 T27b6 T31b6",
    "T3b7  T7b7  T11b7 T15b7 T19b7 T23b7 T27b7 T31b7",
};

/* Figure 120: sparse mma.m16n8k32 A (.f16/.bf16), 16 rows x 16 compressed columns */
const char *const kFig120[16] = {
    "T0a0  T0a1  T1a0  T1a1  T2a0  T2a1  T3a0  T3a1  T0a4  T0a5  T1a4  T1a5  T2a4  T2a5  T3a4  T3a5",
    "T4a0  T4a1  T5a0  T5a1  T6a0  T6a1  T7a0  T7a1  T4a4  T4a5  T5a4  T5a5  T6a4  T6a5  T7a4  T7a5",
    "T8a0  T8a1  T9a0  T9a1  T10a0 T10a1 T11a0 T11a1 T8a4  T8a5  T9a4  T9a5  T10a4 T10a5 T11a4 T11a5",
    "T12a0 T12a1 T13a0 T13a1 T14a0 T14a1 T15a0 T15a1 T12a4 T12a5 T13a4 T13a5 T14a4 T14a5 T15a4 T15a5",
    "T16a0 T16a1 T17a0 T17a1 T18a0 T18a1 T19a0 T19a1 T16a4 T16a5 T17a4 T17a5 T18a4 T18a5 T19a4 T19a5",
    "T20a0 T20a1 T21a0 T21a1 T22a0 T22a1 T23a0 T23a1 T20a4 T20a5 T21a4 T21a5 T22a4 T22a5 T23a4 T23a5",
    "T24a0 T24a1 T25a0 T25a1 T26a0 T26a1 T27a0 T27a1 T24a4 T24a5 T25a4 T25a5 T26a4 T26a5 T27a4 T27a5",
    "T28a0 T28a1 T29a0 T29a1 T30a0 T30a1 T31a0 T31a1 T28a4 T28a5 T29a4 T29a5 T30a4 T30a5 T31a4 T31a5",
    "T0a2  T0a3  T1a2  T1a3  T2a2  T2a3  T3a2  T3a3  T0a6  T0a7  T1a6  T1a7  T2a6  T2a7  T3a6  T3a7",
    "T4a2  T4a3  T5a2  T5a3  T6a2  T6a3  T7a2  T7a3  T4a6  T4a7  T5a6  T5a7  T6a6  T6a7  T7a6  T7a7",
    "T8a2  T8a3  T9a2  T9a3  T10a2 T10a3 T11a2 T11a3 T8a6  T8a7  T9a6  T9a7  T10a6 T10a7 T11a6 T11a7",
    "T12a2 T12a3 T13a2 T13a3 T14a2 T14a3 T15a2 T15a3 T12a6 T12a7 T13a6 T13a7 T14a6 T14a7 T15a6 T15a7",
    "T16a2 T16a3 T17a2 T17a3 T18a2 T18a3 T19a2 T19a3 T16a6 T16a7 T17a6 T17a7 T18a6 T18a7 T19a6 T19a7",
    "T20a2 T20a3 T21a2 T21a3 T22a2 T22a3 T23a2 T23a3 T20a6 T20a7 T21a6 T21a7 T22a6 T22a7 T23a6 T23a7",
    "T24a2 T24a3 T25a2 T25a3 T26a2 T26a3 T27a2 T27a3 T24a6 T24a7 T25a6 T25a7 T26a6 T26a7 T27a6 T27a7",
    "T28a2 T28a3 T29a2 T29a3 T30a2 T30a3 T31a2 T31a3 T28a6 T28a7 T29a6 T29a7 T30a6 T30a7 T31a6 T31a7",
};

/* Figure 121: sparse mma.m16n8k32 B (.f16/.bf16), 32 rows (k) x 8 columns (n) */
const char *const kFig121[32] = {
    "T0b0  T4b0  T8b0  T12b0 T16b0 T20b0 T24b0 T28b0",
    "T0b1  T4b1  T8b1  T12b1 T16b1 T20b1 T24b1 T28b1",
    "T1b0  T5b0  T9b0  T13b0 T17b0 T21b0 T25b0 T29b0",
    "T1b1  T5b1  T9b1  T13b1 T17b1 T21b1 T25b1 T29b1",
    "T2b0  T6b0  T10b0 T14b0 T18b0 T22b0 T26b0 T30b0",
    "T2b1  T6b1  T10b1 T14b1 T18b1 T22b1 T26b1 T30b1",
    "T3b0  T7b0  T11b0 T15b0 T19b0 T23b0 T27b0 T31b0",
    "T3b1  T7b1  T11b1 T15b1 T19b1 T23b1 T27b1 T31b1",
    "T0b2  T4b2  T8b2  T12b2 T16b2 T20b2 T24b2 T28b2",
    "T0b3  T4b3  T8b3  T12b3 T16b3 T20b3 T24b3 T28b3",
    "T1b2  T5b2  T9b2  T13b2 T17b2 T21b2 T25b2 T29b2",
    "T1b3  T5b3  T9b3  T13b3 T17b3 T21b3 T25b3 T29b3",
    "T2b2  T6b2  T10b2 T14b2 T18b2 T22b2 T26b2 T30b2",
    "T2b3  T6b3  T10b3 T14b3 T18b3 T22b3 T26b3 T30b3",
    "T3b2  T7b2  T11b2 T15b2 T19b2 T23b2 T27b2 T31b2",
    "T3b3  T7b3  T11b3 T15b3 T19b3 T23b3 T27b3 T31b3",
    "T0b4  T4b4  T8b4  T12b4 T16b4 T20b4 T24b4 T28b4",
    "T0b5  T4b5  T8b5  T12b5 T16b5 T20b5 T24b5 T28b5",
    "T1b4  T5b4  T9b4  T13b4 T17b4 T21b4 T25b4 T29b4",
    "T1b5  T5b5  T9b5  T13b5 T17b5 T21b5 T25b5 T29b5",
    "T2b4  T6b4  T10b4 T14b4 T18b4 T22b4 T26b4 T30b4",
    "T2b5  T6b5  T10b5 T14b5 T18b5 T22b5 T26b5 T30b5",
    "T3b4  T7b4  T11b4 T15b4 T19b4 T23b4 T27b4 T31b4",
    "T3b5  T7b5  T11b5 T15b5 T19b5 T23b5 T27b5 T31b5",
    "T0b6  T4b6  T8b6  T12b6 T16b6 T20b6 T24b6 T28b6",
    "T0b7  T4b7  T8b7  T12b7 T16b7 T20b7 T24b7 T28b7",
    "T1b6  T5b6  T9b6  T13b6 T17b6 T21b6 T25b6 T29b6",
    "T1b7  T5b7  T9b7  T13b7 T17b7 T21b7 T25b7 T29b7",
    "T2b6  T6b6  T10b6 T14b6 T18b6 T22b6 T26b6 T30b6",
    "T2b7  T6b7  T10b7 T14b7 T18b7 T22b7 T26b7 T30b7",
    "T3b6  T7b6  T11b6 T15b6 T19b6 T23b6 T27b6 T31b6",
    "T3b7  T7b7  T11b7 T15b7 T19b7 T23b7 T27b7 T31b7",
};

/* Figures 130-131: sparse mma.m16n8k64 A (8-bit), 16 rows x 32 compressed columns */
const char *const kFig130[16] = {
    "T0a0   T0a1   T0a2   T0a3   T1a0   T1a1   T1a2   T1a3   T2a0   T2a1   T2a2   T2a3   T3a0   T3a1   T3a2   T3a3   T0a8   T0a9   T0a10  T0a11  T1a8   T1a9   T1a10  T1a11  T2a8   T2a9   T2a10  T2a11  T3a8   T3a9   T3a10  T3a11",
    "T4a0   T4a1   T4a2   T4a3   T5a0   T5a1   T5a2   T5a3   T6a0   T6a1   T6a2   T6a3   T7a0   T7a1   T7a2   T7a3   T4a8   T4a9   T4a10  T4a11  T5a8   T5a9   T5a10  T5a11  T6a8   T6a9   T6a10  T6a11  T7a8   T7a9   T7a10  T7a11",
    "T8a0   T8a1   T8a2   T8a3   T9a0   T9a1   T9a2   T9a3   T10a0  T10a1  T10a2  T10a3  T11a0  T11a1  T11a2  T11a3  T8a8   T8a9   T8a10  T8a11  T9a8   T9a9   T9a10  T9a11  T10a8  T10a9  T10a10 T10a11 T11a8  T11a9  T11a10 T11a11",
    "T12a0  T12a1  T12a2  T12a3  T13a0  T13a1  T13a2  T13a3  T14a0  T14a1  T14a2  T14a3  T15a0  T15a1  T15a2  T15a3  T12a8  T12a9  T12a10 T12a11 T13a8  T13a9  T13a10 T13a11 T14a8  T14a9  T14a10 T14a11 T15a8  T15a9  T15a10 T15a11",
    "T16a0  T16a1  T16a2  T16a3  T17a0  T17a1  T17a2  T17a3  T18a0  T18a1  T18a2  T18a3  T19a0  T19a1  T19a2  T19a3  T16a8  T16a9  T16a10 T16a11 T17a8  T17a9  T17a10 T17a11 T18a8  T18a9  T18a10 T18a11 T19a8  T19a9  T19a10 T19a11",
    "T20a0  T20a1  T20a2  T20a3  T21a0  T21a1  T21a2  T21a3  T22a0  T22a1  T22a2  T22a3  T23a0  T23a1  T23a2  T23a3  T20a8  T20a9  T20a10 T20a11 T21a8  T21a9  T21a10 T21a11 T22a8  T22a9  T22a10 T22a11 T23a8  T23a9  T23a10 T23a11",
    "T24a0  T24a1  T24a2  T24a3  T25a0  T25a1  T25a2  T25a3  T26a0  T26a1  T26a2  T26a3  T27a0  T27a1  T27a2  T27a3  T24a8  T24a9  T24a10 T24a11 T25a8  T25a9  T25a10 T25a11 T26a8  T26a9  T26a10 T26a11 T27a8  T27a9  T27a10 T27a11",
    "T28a0  T28a1  T28a2  T28a3  T29a0  T29a1  T29a2  T29a3  T30a0  T30a1  T30a2  T30a3  T31a0  T31a1  T31a2  T31a3  T28a8  T28a9  T28a10 T28a11 T29a8  T29a9  T29a10 T29a11 T30a8  T30a9  T30a10 T30a11 T31a8  T31a9  T31a10 T31a11",
    "T0a4   T0a5   T0a6   T0a7   T1a4   T1a5   T1a6   T1a7   T2a4   T2a5   T2a6   T2a7   T3a4   T3a5   T3a6   T3a7   T0a12  T0a13  T0a14  T0a15  T1a12  T1a13  T1a14  T1a15  T2a12  T2a13  T2a14  T2a15  T3a12  T3a13  T3a14  T3a15",
    "T4a4   T4a5   T4a6   T4a7   T5a4   T5a5   T5a6   T5a7   T6a4   T6a5   T6a6   T6a7   T7a4   T7a5   T7a6   T7a7   T4a12  T4a13  T4a14  T4a15  T5a12  T5a13  T5a14  T5a15  T6a12  T6a13  T6a14  T6a15  T7a12  T7a13  T7a14  T7a15",
    "T8a4   T8a5   T8a6   T8a7   T9a4   T9a5   T9a6   T9a7   T10a4  T10a5  T10a6  T10a7  T11a4  T11a5  T11a6  T11a7  T8a12  T8a13  T8a14  T8a15  T9a12  T9a13  T9a14  T9a15  T10a12 T10a13 T10a14 T10a15 T11a12 T11a13 T11a14 T11a15",
    "T12a4  T12a5  T12a6  T12a7  T13a4  T13a5  T13a6  T13a7  T14a4  T14a5  T14a6  T14a7  T15a4  T15a5  T15a6  T15a7  T12a12 T12a13 T12a14 T12a15 T13a12 T13a13 T13a14 T13a15 T14a12 T14a13 T14a14 T14a15 T15a12 T15a13 T15a14 T15a15",
    "T16a4  T16a5  T16a6  T16a7  T17a4  T17a5  T17a6  T17a7  T18a4  T18a5  T18a6  T18a7  T19a4  T19a5  T19a6  T19a7  T16a12 T16a13 T16a14 T16a15 T17a12 T17a13 T17a14 T17a15 T18a12 T18a13 T18a14 T18a15 T19a12 T19a13 T19a14 T19a15",
    "T20a4  T20a5  T20a6  T20a7  T21a4  T21a5  T21a6  T21a7  T22a4  T22a5  T22a6  T22a7  T23a4  T23a5  T23a6  T23a7  T20a12 T20a13 T20a14 T20a15 T21a12 T21a13 T21a14 T21a15 T22a12 T22a13 T22a14 T22a15 T23a12 T23a13 T23a14 T23a15",
    "T24a4  T24a5  T24a6  T24a7  T25a4  T25a5  T25a6  T25a7  T26a4  T26a5  T26a6  T26a7  T27a4  T27a5  T27a6  T27a7  T24a12 T24a13 T24a14 T24a15 T25a12 T25a13 T25a14 T25a15 T26a12 T26a13 T26a14 T26a15 T27a12 T27a13 T27a14 T27a15",
    "T28a4  T28a5  T28a6  T28a7  T29a4  T29a5  T29a6  T29a7  T30a4  T30a5  T30a6  T30a7  T31a4  T31a5  T31a6  T31a7  T28a12 T28a13 T28a14 T28a15 T29a12 T29a13 T29a14 T29a15 T30a12 T30a13 T30a14 T30a15 T31a12 T31a13 T31a14 T31a15",
};

/* Figures 132-135: sparse mma.m16n8k64 B (8-bit), 64 rows (k) x 8 columns (n) */
const char *const kFig132[64] = {
    "T0b0   T4b0   T8b0   T12b0  T16b0  T20b0  T24b0  T28b0",
    "T0b1   T4b1   T8b1   T12b1  T16b1  T20b1  T24b1  T28b1",
    "T0b2   T4b2   T8b2   T12b2  T16b2  T20b2  T24b2  T28b2",
    "T0b3   T4b3   T8b3   T12b3  T16b3  T20b3  T24b3  T28b3",
    "T1b0   T5b0   T9b0   T13b0  T17b0  T21b0  T25b0  T29b0",
    "T1b1   T5b1   T9b1   T13b1  T17b1  T21b1  T25b1  T29b1",
    "T1b2   T5b2   T9b2   T13b2  T17b2  T21b2  T25b2  T29b2",
    "T1b3   T5b3   T9b3   T13b3  T17b3  T21b3  T25b3  T29b3",
    "T2b0   T6b0   T10b0  T14b0  T18b0  T22b0  T26b0  T30b0",
    "T2b1   T6b1   T10b1  T14b1  T18b1  T22b1  T26b1  T30b1",
    "T2b2   T6b2   T10b2  T14b2  T18b2  T22b2  T26b2  T30b2",
    "T2b3   T6b3   T10b3  T14b3  T18b3  T22b3  T26b3  T30b3",
    "T3b0   T7b0   T11b0  T15b0  T19b0  T23b0  T27b0  T31b0",
    "T3b1   T7b1   T11b1  T15b1  T19b1  T23b1  T27b1  T31b1",
    "T3b2   T7b2   T11b2  T15b2  T19b2  T23b2  T27b2  T31b2",
    "T3b3   T7b3   T11b3  T15b3  T19b3  T23b3  T27b3  T31b3",
    "T0b4   T4b4   T8b4   T12b4  T16b4  T20b4  T24b4  T28b4",
    "T0b5   T4b5   T8b5   T12b5  T16b5  T20b5  T24b5  T28b5",
    "T0b6   T4b6   T8b6   T12b6  T16b6  T20b6  T24b6  T28b6",
    "T0b7   T4b7   T8b7   T12b7  T16b7  T20b7  T24b7  T28b7",
    "T1b4   T5b4   T9b4   T13b4  T17b4  T21b4  T25b4  T29b4",
    "T1b5   T5b5   T9b5   T13b5  T17b5  T21b5  T25b5  T29b5",
    "T1b6   T5b6   T9b6   T13b6  T17b6  T21b6  T25b6  T29b6",
    "T1b7   T5b7   T9b7   T13b7  T17b7  T21b7  T25b7  T29b7",
    "T2b4   T6b4   T10b4  T14b4  T18b4  T22b4  T26b4  T30b4",
    "T2b5   T6b5   T10b5  T14b5  T18b5  T22b5  T26b5  T30b5",
    "T2b6   T6b6   T10b6  T14b6  T18b6  T22b6  T26b6  T30b6",
    "T2b7   T6b7   T10b7  T14b7  T18b7  T22b7  T26b7  T30b7",
    "T3b4   T7b4   T11b4  T15b4  T19b4  T23b4  T27b4  T31b4",
    "T3b5   T7b5   T11b5  T15b5  T19b5  T23b5  T27b5  T31b5",
    "T3b6   T7b6   T11b6  T15b6  T19b6  T23b6  T27b6  T31b6",
    "T3b7   T7b7   T11b7  T15b7  T19b7  T23b7  T27b7  T31b7",
    "T0b8   T4b8   T8b8   T12b8  T16b8  T20b8  T24b8  T28b8",
    "T0b9   T4b9   T8b9   T12b9  T16b9  T20b9  T24b9  T28b9",
    "T0b10  T4b10  T8b10  T12b10 T16b10 T20b10 T24b10 T28b10",
    "T0b11  T4b11  T8b11  T12b11 T16b11 T20b11 T24b11 T28b11",
    "T1b8   T5b8   T9b8   T13b8  T17b8  T21b8  T25b8  T29b8",
    "T1b9   T5b9   T9b9   T13b9  T17b9  T21b9  T25b9  T29b9",
    "T1b10  T5b10  T9b10  T13b10 T17b10 T21b10 T25b10 T29b10",
    "T1b11  T5b11  T9b11  T13b11 T17b11 T21b11 T25b11 T29b11",
    "T2b8   T6b8   T10b8  T14b8  T18b8  T22b8  T26b8  T30b8",
    "T2b9   T6b9   T10b9  T14b9  T18b9  T22b9  T26b9  T30b9",
    "T2b10  T6b10  T10b10 T14b10 T18b10 T22b10 T26b10 T30b10",
    "T2b11  T6b11  T10b11 T14b11 T18b11 T22b11 T26b11 T30b11",
    "T3b8   T7b8   T11b8  T15b8  T19b8  T23b8  T27b8  T31b8",
    "T3b9   T7b9   T11b9  T15b9  T19b9  T23b9  T27b9  T31b9",
    "T3b10  T7b10  T11b10 T15b10 T19b10 T23b10 T27b10 T31b10",
    "T3b11  T7b11  T11b11 T15b11 T19b11 T23b11 T27b11 T31b11",
    "T0b12  T4b12  T8b12  T12b12 T16b12 T20b12 T24b12 T28b12",
    "T0b13  T4b13  T8b13  T12b13 T16b13 T20b13 T24b13 T28b13",
    "T0b14  T4b14  T8b14  T12b14 T16b14 T20b14 T24b14 T28b14",
    "T0b15  T4b15  T8b15  T12b15 T16b15 T20b15 T24b15 T28b15",
    "T1b12  T5b12  T9b12  T13b12 T17b12 T21b12 T25b12 T29b12",
    "T1b13  T5b13  T9b13  T13b13 T17b13 T21b13 T25b13 T29b13",
    "T1b14  T5b14  T9b14  T13b14 T17b14 T21b14 T25b14 T29b14",
    "T1b15  T5b15  T9b15  T13b15 T17b15 T21b15 T25b15 T29b15",
    "T2b12  T6b12  T10b12 T14b12 T18b12 T22b12 T26b12 T30b12",
    "T2b13  T6b13  T10b13 T14b13 T18b13 T22b13 T26b13 T30b13",
    "T2b14  T6b14  T10b14 T14b14 T18b14 T22b14 T26b14 T30b14",
    "T2b15  T6b15  T10b15 T14b15 T18b15 T22b15 T26b15 T30b15",
    "T3b12  T7b12  T11b12 T15b12 T19b12 T23b12 T27b12 T31b12",
    "T3b13  T7b13  T11b13 T15b13 T19b13 T23b13 T27b13 T31b13",
    "T3b14  T7b14  T11b14 T15b14 T19b14 T23b14 T27b14 T31b14",
    "T3b15  T7b15  T11b15 T15b15 T19b15 T23b15 T27b15 T31b15",
};

/* Figure 122: sparse mma.m16n8k32 (.f16/.bf16) metadata, selector 0: 16 rows x 8 chunks of 4 columns */
const char *const kFig122[16] = {
    "T0[3:0]    T0[7:4]    T0[11:8]   T0[15:12]  T1[3:0]    T1[7:4]    T1[11:8]   T1[15:12]",
    "T4[3:0]    T4[7:4]    T4[11:8]   T4[15:12]  T5[3:0]    T5[7:4]    T5[11:8]   T5[15:12]",
    "T8[3:0]    T8[7:4]    T8[11:8]   T8[15:12]  T9[3:0]    T9[7:4]    T9[11:8]   T9[15:12]",
    "T12[3:0]   T12[7:4]   T12[11:8]  T12[15:12] T13[3:0]   T13[7:4]   T13[11:8]  T13[15:12]",
    "T16[3:0]   T16[7:4]   T16[11:8]  T16[15:12] T17[3:0]   T17[7:4]   T17[11:8]  T17[15:12]",
    "T20[3:0]   T20[7:4]   T20[11:8]  T20[15:12] T21[3:0]   T21[7:4]   T21[11:8]  T21[15:12]",
    "T24[3:0]   T24[7:4]   T24[11:8]  T24[15:12] T25[3:0]   T25[7:4]   T25[11:8]  T25[15:12]",
    "T28[3:0]   T28[7:4]   T28[11:8]  T28[15:12] T29[3:0]   T29[7:4]   T29[11:8]  T29[15:12]",
    "T0[19:16]  T0[23:20]  T0[27:24]  T0[31:28]  T1[19:16]  T1[23:20]  T1[27:24]  T1[31:28]",
    "T4[19:16]  T4[23:20]  T4[27:24]  T4[31:28]  T5[19:16]  T5[23:20]  T5[27:24]  T5[31:28]",
    "T8[19:16]  T8[23:20]  T8[27:24]  T8[31:28]  T9[19:16]  T9[23:20]  T9[27:24]  T9[31:28]",
    "T12[19:16] T12[23:20] T12[27:24] T12[31:28] T13[19:16] T13[23:20] T13[27:24] T13[31:28]",
    "T16[19:16] T16[23:20] T16[27:24] T16[31:28] T17[19:16] T17[23:20] T17[27:24] T17[31:28]",
    "T20[19:16] T20[23:20] T20[27:24] T20[31:28] T21[19:16] T21[23:20] T21[27:24] T21[31:28]",
    "T24[19:16] T24[23:20] T24[27:24] T24[31:28] T25[19:16] T25[23:20] T25[27:24] T25[31:28]",
    "T28[19:16] T28[23:20] T28[27:24] T28[31:28] T29[19:16] T29[23:20] T29[27:24] T29[31:28]",
};

/* Figures 136-137: sparse mma.m16n8k64 (8-bit) metadata: 16 rows x 16 chunks of 4 columns */
const char *const kFig136[16] = {
    "T0[3:0]    T0[7:4]    T0[11:8]   T0[15:12]  T0[19:16]  T0[23:20]  T0[27:24]  T0[31:28]  T2[3:0]    T2[7:4]    T2[11:8]   T2[15:12]  T2[19:16]  T2[23:20]  T2[27:24]  T2[31:28]",
    "T4[3:0]    T4[7:4]    T4[11:8]   T4[15:12]  T4[19:16]  T4[23:20]  T4[27:24]  T4[31:28]  T6[3:0]    T6[7:4]    T6[11:8]   T6[15:12]  T6[19:16]  T6[23:20]  T6[27:24]  T6[31:28]",
    "T8[3:0]    T8[7:4]    T8[11:8]   T8[15:12]  T8[19:16]  T8[23:20]  T8[27:24]  T8[31:28]  T10[3:0]   T10[7:4]   T10[11:8]  T10[15:12] T10[19:16] T10[23:20] T10[27:24] T10[31:28]",
    "T12[3:0]   T12[7:4]   T12[11:8]  T12[15:12] T12[19:16] T12[23:20] T12[27:24] T12[31:28] T14[3:0]   T14[7:4]   T14[11:8]  T14[15:12] T14[19:16] T14[23:20] T14[27:24] T14[31:28]",
    "T16[3:0]   T16[7:4]   T16[11:8]  T16[15:12] T16[19:16] T16[23:20] T16[27:24] T16[31:28] T18[3:0]   T18[7:4]   T18[11:8]  T18[15:12] T18[19:16] T18[23:20] T18[27:24] T18[31:28]",
    "T20[3:0]   T20[7:4]   T20[11:8]  T20[15:12] T20[19:16] T20[23:20] T20[27:24] T20[31:28] T22[3:0]   T22[7:4]   T22[11:8]  T22[15:12] T22[19:16] T22[23:20] T22[27:24] T22[31:28]",
    "T24[3:0]   T24[7:4]   T24[11:8]  T24[15:12] T24[19:16] T24[23:20] T24[27:24] T24[31:28] T26[3:0]   T26[7:4]   T26[11:8]  T26[15:12] T26[19:16] T26[23:20] T26[27:24] T26[31:28]",
    "T28[3:0]   T28[7:4]   T28[11:8]  T28[15:12] T28[19:16] T28[23:20] T28[27:24] T28[31:28] T30[3:0]   T30[7:4]   T30[11:8]  T30[15:12] T30[19:16] T30[23:20] T30[27:24] T30[31:28]",
    "T1[3:0]    T1[7:4]    T1[11:8]   T1[15:12]  T1[19:16]  T1[23:20]  T1[27:24]  T1[31:28]  T3[3:0]    T3[7:4]    T3[11:8]   T3[15:12]  T3[19:16]  T3[23:20]  T3[27:24]  T3[31:28]",
    "T5[3:0]    T5[7:4]    T5[11:8]   T5[15:12]  T5[19:16]  T5[23:20]  T5[27:24]  T5[31:28]  T7[3:0]    T7[7:4]    T7[11:8]   T7[15:12]  T7[19:16]  T7[23:20]  T7[27:24]  T7[31:28]",
    "T9[3:0]    T9[7:4]    T9[11:8]   T9[15:12]  T9[19:16]  T9[23:20]  T9[27:24]  T9[31:28]  T11[3:0]   T11[7:4]   T11[11:8]  T11[15:12] T11[19:16] T11[23:20] T11[27:24] T11[31:28]",
    "T13[3:0]   T13[7:4]   T13[11:8]  T13[15:12] T13[19:16] T13[23:20] T13[27:24] T13[31:28] T15[3:0]   T15[7:4]   T15[11:8]  T15[15:12] T15[19:16] T15[23:20] T15[27:24] T15[31:28]",
    "T17[3:0]   T17[7:4]   T17[11:8]  T17[15:12] T17[19:16] T17[23:20] T17[27:24] T17[31:28] T19[3:0]   T19[7:4]   T19[11:8]  T19[15:12] T19[19:16] T19[23:20] T19[27:24] T19[31:28]",
    "T21[3:0]   T21[7:4]   T21[11:8]  T21[15:12] T21[19:16] T21[23:20] T21[27:24] T21[31:28] T23[3:0]   T23[7:4]   T23[11:8]  T23[15:12] T23[19:16] T23[23:20] T23[27:24] T23[31:28]",
    "T25[3:0]   T25[7:4]   T25[11:8]  T25[15:12] T25[19:16] T25[23:20] T25[27:24] T25[31:28] T27[3:0]   T27[7:4]   T27[11:8]  T27[15:12] T27[19:16] T27[23:20] T27[27:24] T27[31:28]",
    "T29[3:0]   T29[7:4]   T29[11:8]  T29[15:12] T29[19:16] T29[23:20] T29[27:24] T29[31:28] T31[3:0]   T31[7:4]   T31[11:8]  T31[15:12] T31[19:16] T31[23:20] T31[27:24] T31[31:28]",
};

/* Figure 104: ldmatrix, one 8x8 matrix of 16-bit elements: a0 = low half, a1 = high half of the register */
const char *const kFig104[8] = {
    "T0a0  T0a1  T1a0  T1a1  T2a0  T2a1  T3a0  T3a1",
    "T4a0  T4a1  T5a0  T5a1  T6a0  T6a1  T7a0  T7a1",
    "T8a0  T8a1  T9a0  T9a1  T10a0 T10a1 T11a0 T11a1",
    "T12a0 T12a1 T13a0 T13a1 T14a0 T14a1 T15a0 T15a1",
    "T16a0 T16a1 T17a0 T17a1 T18a0 T18a1 T19a0 T19a1",
    "T20a0 T20a1 T21a0 T21a1 T22a0 T22a1 T23a0 T23a1",
    "T24a0 T24a1 T25a0 T25a1 T26a0 T26a1 T27a0 T27a1",
    "T28a0 T28a1 T29a0 T29a1 T30a0 T30a1 T31a0 T31a1",
};

/* ---------------------------------------------------------------- reading the figures */

struct Cell {
    int lane, elem; /* elem: element index (a2 -> 2); metadata: the nibble's lowest bit */
};

struct Figure {
    int rows = 0, cols = 0;
    std::vector<Cell> cell;
    const Cell &at(int r, int c) const { return cell[(size_t)(r * cols + c)]; }
};

/* Parses a figure: rows x cols cells, no (lane, element) twice. */
Figure read_figure(const char *const *text, int rows, int cols)
{
    Figure f;
    f.rows = rows, f.cols = cols;
    std::vector<int> seen(kWarp * 32, 0);
    for (int r = 0; r < rows; ++r) {
        const char *p = text[r];
        for (int c = 0; c < cols; ++c) {
            int lane = -1, e = -1, hi = -1, n = 0;
            while (*p == ' ') ++p;
            if (sscanf(p, "T%d[%d:%d]%n", &lane, &hi, &e, &n) == 3)
                QBT_EXPECT(hi == e + 3 && e % 4 == 0, "figure row %d: bad bit range %s", r, p);
            else
                QBT_EXPECT(sscanf(p, "T%d%*1[abc]%d%n", &lane, &e, &n) == 2, "figure row %d: bad cell %s", r, p);
            QBT_EXPECT(lane >= 0 && lane < kWarp && e >= 0 && e < 32, "figure row %d: cell out of range", r);
            QBT_EXPECT(++seen[lane * 32 + e] == 1, "figure: T%d element %d twice", lane, e);
            f.cell.push_back({lane, e});
            p += n;
        }
        while (*p == ' ') ++p;
        QBT_EXPECT(*p == 0, "figure row %d: extra cells", r);
    }
    return f;
}

struct Figures {
    Figure a16, b16, cd, a8, b8, spa16, spb16, spa8, spb8, meta16, meta8, ldm;
};

const Figures &figs()
{
    static const Figures f = {
        read_figure(kFig79, 16, 16),  read_figure(kFig81, 16, 8),  read_figure(kFig83, 16, 8),
        read_figure(kFig88, 16, 32),  read_figure(kFig90, 32, 8),  read_figure(kFig120, 16, 16),
        read_figure(kFig121, 32, 8),  read_figure(kFig130, 16, 32), read_figure(kFig132, 64, 8),
        read_figure(kFig122, 16, 8),  read_figure(kFig136, 16, 16), read_figure(kFig104, 8, 8),
    };
    return f;
}

/* ---------------------------------------------------------------- element values, from the format definitions */

double ref_ieee(uint32_t c, int ebits, int mbits)
{
    int bias = (1 << (ebits - 1)) - 1;
    int s = (int)(c >> (ebits + mbits)) & 1, e = (int)(c >> mbits) & ((1 << ebits) - 1);
    double m = (double)(c & ((1u << mbits) - 1)), mag;
    if (e == (1 << ebits) - 1)
        mag = m != 0 ? NAN : INFINITY;
    else if (e == 0)
        mag = ldexp(m, 1 - bias - mbits);
    else
        mag = ldexp(1.0 + ldexp(m, -mbits), e - bias);
    return s ? -mag : mag;
}

double ref_e4m3(uint32_t c) /* PTX ISA 5.2.3: no infinities, NaN only 0x7F / 0xFF */
{
    int e = (int)(c >> 3) & 15, m = (int)c & 7;
    double mag = e == 15 && m == 7 ? NAN : e == 0 ? ldexp(m, -9) : ldexp(1.0 + m / 8.0, e - 7);
    return c & 0x80 ? -mag : mag;
}

/* ---------------------------------------------------------------- the instruction forms */

enum class Op { F16, BF16, S8, FP8 };

struct Form {
    const char *name;
    Op op;
    Fp8 ta, tb; /* Op::FP8 only */
    bool sparse;
    int K; /* dense k */
    int bits() const { return op == Op::F16 || op == Op::BF16 ? 16 : 8; }
    bool integer() const { return op == Op::S8; }
    int acols() const { return sparse ? K / 2 : K; } /* stored A columns */
    const Figure &fa() const
    {
        return bits() == 16 ? (sparse ? figs().spa16 : figs().a16) : (sparse ? figs().spa8 : figs().a8);
    }
    const Figure &fb() const
    {
        return bits() == 16 ? (sparse ? figs().spb16 : figs().b16) : (sparse ? figs().spb8 : figs().b8);
    }
    const Figure &fe() const { return bits() == 16 ? figs().meta16 : figs().meta8; }
    double value(uint32_t code, bool is_b) const
    {
        switch (op) {
        case Op::F16: return ref_ieee(code, 5, 10);
        case Op::BF16: return ref_ieee(code, 8, 7);
        case Op::S8: return (int8_t)(uint8_t)code;
        default: return ((is_b ? tb : ta) == Fp8::E4M3) ? ref_e4m3(code) : ref_ieee(code, 5, 2);
        }
    }
    uint32_t one(bool is_b) const /* the code of 1 */
    {
        switch (op) {
        case Op::F16: return 0x3C00;
        case Op::BF16: return 0x3F80;
        case Op::S8: return 0x01;
        default: return (is_b ? tb : ta) == Fp8::E4M3 ? 0x38 : 0x3C;
        }
    }
};

const Fp8 E4 = Fp8::E4M3, E5 = Fp8::E5M2;
const Form kForms[] = {
    {"mma.m16n8k16.f32.f16", Op::F16, E4, E4, false, 16},
    {"mma.m16n8k16.f32.bf16", Op::BF16, E4, E4, false, 16},
    {"mma.m16n8k32.s32.s8", Op::S8, E4, E4, false, 32},
    {"mma.m16n8k32.f32.e4m3.e4m3", Op::FP8, E4, E4, false, 32},
    {"mma.m16n8k32.f32.e4m3.e5m2", Op::FP8, E4, E5, false, 32},
    {"mma.m16n8k32.f32.e5m2.e4m3", Op::FP8, E5, E4, false, 32},
    {"mma.m16n8k32.f32.e5m2.e5m2", Op::FP8, E5, E5, false, 32},
    {"mma.sp.m16n8k32.f32.f16", Op::F16, E4, E4, true, 32},
    {"mma.sp.m16n8k32.f32.bf16", Op::BF16, E4, E4, true, 32},
    {"mma.sp.m16n8k64.s32.s8", Op::S8, E4, E4, true, 64},
    {"mma.sp.m16n8k64.f32.e4m3.e4m3", Op::FP8, E4, E4, true, 64},
    {"mma.sp.m16n8k64.f32.e4m3.e5m2", Op::FP8, E4, E5, true, 64},
    {"mma.sp.m16n8k64.f32.e5m2.e4m3", Op::FP8, E5, E4, true, 64},
    {"mma.sp.m16n8k64.f32.e5m2.e5m2", Op::FP8, E5, E5, true, 64},
};

/* One instruction's operands as whole matrices of codes. */
struct Problem {
    const Form *f;
    int sel = 0;
    bool ordered = false;
    uint32_t a[16][64] = {};    /* A codes: dense 16 x K, sparse 16 x K/2 (kept elements) */
    uint32_t meta[16][16] = {}; /* sparse: the nibble of (row, 4-wide chunk) */
    uint32_t b[64][8] = {};     /* B codes, K x 8 */
    double c[16][8] = {};       /* C values (fp32 or s32) */
    uint32_t efill = 0;         /* metadata register bits no figure cell covers */
    explicit Problem(const Form &form) : f(&form)
    {
        for (auto &row : meta)
            for (auto &n : row) n = 0x4; /* indices 0, 1 */
    }
};

struct Result {
    const char *err;
    uint32_t d[16][8]; /* D bits (fp32 or s32) */
};

const uint32_t kSentinel = 0xDEADBEEFu; /* D before the call */

uint32_t f32_bits(float v) { uint32_t u; memcpy(&u, &v, 4); return u; }
float bits_f32(uint32_t u) { float v; memcpy(&v, &u, 4); return v; }

/* Places `code` (bits wide) at the register and position of cell x. */
void put(uint32_t frag[kWarp][4], Cell x, int bits, uint32_t code)
{
    int per = 32 / bits;
    frag[x.lane][x.elem / per] |= code << (bits * (x.elem % per));
}

/* Packs p's matrices into registers through the figures, runs the twin,
 * reads D back through the C/D figure. */
Result run(const Problem &p)
{
    const Form &f = *p.f;
    const Figures &F = figs();
    uint32_t a[kWarp][4] = {}, b[kWarp][4] = {}, b2[kWarp][2], e[kWarp];
    for (int r = 0; r < 16; ++r)
        for (int k = 0; k < f.acols(); ++k) put(a, f.fa().at(r, k), f.bits(), p.a[r][k]);
    for (int k = 0; k < f.K; ++k)
        for (int n = 0; n < 8; ++n) put(b, f.fb().at(k, n), f.bits(), p.b[k][n]);
    for (int l = 0; l < kWarp; ++l) e[l] = p.efill, b2[l][0] = b[l][0], b2[l][1] = b[l][1];
    if (f.sparse) {
        /* Figure 122 is drawn for selector 0; selector 1 moves it to T2, T3 of each group (9.7.14.6.1) */
        int shift = f.bits() == 16 && p.sel == 1 ? 2 : 0;
        for (int r = 0; r < 16; ++r)
            for (int q = 0; q < f.K / 4; ++q) {
                Cell x = f.fe().at(r, q);
                uint32_t &w = e[x.lane + shift];
                w = (w & ~(0xFu << x.elem)) | p.meta[r][q] << x.elem;
            }
    }
    float cf[kWarp][4], df[kWarp][4];
    int32_t ci[kWarp][4], di[kWarp][4];
    for (int r = 0; r < 16; ++r)
        for (int n = 0; n < 8; ++n) {
            Cell x = F.cd.at(r, n);
            if (f.integer())
                ci[x.lane][x.elem] = (int32_t)p.c[r][n];
            else
                cf[x.lane][x.elem] = (float)p.c[r][n];
        }
    for (int l = 0; l < kWarp; ++l)
        for (int i = 0; i < 4; ++i) df[l][i] = bits_f32(kSentinel), di[l][i] = (int32_t)kSentinel;
    Result res = {nullptr, {}};
    if (!f.sparse) {
        if (f.op == Op::S8)
            mma_m16n8k32_s32_s8(di, a, b2, ci);
        else if (f.op == Op::FP8)
            mma_m16n8k32_f32_fp8(f.ta, f.tb, df, a, b2, cf);
        else
            mma_m16n8k16_f32(f.op == Op::F16 ? F16::F16 : F16::BF16, df, a, b2, cf);
    } else {
        if (f.op == Op::S8)
            res.err = mma_sp_m16n8k64_s32_s8(p.ordered, di, a, b, ci, e, p.sel);
        else if (f.op == Op::FP8)
            res.err = mma_sp_m16n8k64_f32_fp8(f.ta, f.tb, p.ordered, df, a, b, cf, e, p.sel);
        else
            res.err = mma_sp_m16n8k32_f32(f.op == Op::F16 ? F16::F16 : F16::BF16, p.ordered, df, a, b, cf, e, p.sel);
    }
    for (int r = 0; r < 16; ++r)
        for (int n = 0; n < 8; ++n) {
            Cell x = F.cd.at(r, n);
            res.d[r][n] = f.integer() ? (uint32_t)di[x.lane][x.elem] : f32_bits(df[x.lane][x.elem]);
        }
    return res;
}

/* The expected D: A expanded by the metadata (9.7.14.6.1: in chunk q,
 * stored columns 2q, 2q+1 sit at 4q + bits[1:0], 4q + bits[3:2]); then
 * C + sum over k of A*B, in double with C first and k ascending, rounded
 * once to fp32 (positions a sparse A leaves empty take no part); s32 wraps. */
Result expect(const Problem &p)
{
    const Form &f = *p.f;
    double A[16][64];
    bool kept[16][64] = {};
    for (int r = 0; r < 16; ++r) {
        if (!f.sparse)
            for (int k = 0; k < f.K; ++k) A[r][k] = f.value(p.a[r][k], false), kept[r][k] = true;
        else
            for (int q = 0; q < f.K / 4; ++q)
                for (int s = 0; s < 2; ++s) {
                    int k = 4 * q + (int)(p.meta[r][q] >> 2 * s & 3);
                    A[r][k] = f.value(p.a[r][2 * q + s], false), kept[r][k] = true;
                }
    }
    Result res = {nullptr, {}};
    for (int r = 0; r < 16; ++r)
        for (int n = 0; n < 8; ++n) {
            if (f.integer()) {
                uint32_t acc = (uint32_t)(int32_t)p.c[r][n];
                for (int k = 0; k < f.K; ++k)
                    if (kept[r][k]) acc += (uint32_t)(int32_t)(A[r][k] * f.value(p.b[k][n], true));
                res.d[r][n] = acc;
            } else {
                double acc = (float)p.c[r][n];
                for (int k = 0; k < f.K; ++k)
                    if (kept[r][k]) acc += A[r][k] * f.value(p.b[k][n], true);
                float v = (float)acc;
                res.d[r][n] = v != v ? 0x7FFFFFFFu : f32_bits(v);
            }
        }
    return res;
}

void check(const Problem &p, const char *what)
{
    Result got = run(p), want = expect(p);
    QBT_EXPECT(!got.err, "%s %s: unexpected error: %s", p.f->name, what, got.err);
    for (int r = 0; r < 16; ++r)
        for (int n = 0; n < 8; ++n)
            QBT_EXPECT(got.d[r][n] == want.d[r][n], "%s %s: D[%d][%d] = 0x%08X (%g), want 0x%08X (%g) [seed %llu]",
                       p.f->name, what, r, n, got.d[r][n], (double)bits_f32(got.d[r][n]), want.d[r][n],
                       (double)bits_f32(want.d[r][n]), (unsigned long long)qbt_seed);
}

/* ---------------------------------------------------------------- random operands */

/* A random finite code: f16/bf16 with |v| in [2^-6, 2^6) or zero; any finite fp8; any s8. */
uint32_t random_code(const Form &f, bool is_b, qbt_rng *r)
{
    uint32_t x = (uint32_t)qbt_next(r);
    if (x % 16 == 0) return 0;
    switch (f.op) {
    case Op::F16: return (x & 0x8000) | (uint32_t)(9 + (x >> 20) % 12) << 10 | (x & 0x3FF);
    case Op::BF16: return (x & 0x8000) | (uint32_t)(121 + (x >> 20) % 12) << 7 | (x & 0x7F);
    case Op::S8: return x & 0xFF;
    default:
        for (;; x = (uint32_t)qbt_next(r)) {
            double v = f.value(x & 0xFF, is_b);
            if (v == v && !isinf(v)) return x & 0xFF;
        }
    }
}

double random_c(const Form &f, qbt_rng *r)
{
    return f.integer() ? (double)qbt_int(r, -100000, 100000) : (double)(float)qbt_uniform(r, -8, 8);
}

/* A random valid metadata nibble: two different indices, increasing if ordered. */
uint32_t random_nibble(bool ordered, qbt_rng *r)
{
    for (;;) {
        uint32_t i0 = (uint32_t)qbt_next(r) & 3, i1 = (uint32_t)qbt_next(r) & 3;
        if (i0 != i1 && (!ordered || i0 < i1)) return i0 | i1 << 2;
    }
}

void randomize(Problem &p, qbt_rng *r)
{
    const Form &f = *p.f;
    for (int i = 0; i < 16; ++i)
        for (int k = 0; k < f.acols(); ++k) p.a[i][k] = random_code(f, false, r);
    for (int k = 0; k < f.K; ++k)
        for (int n = 0; n < 8; ++n) p.b[k][n] = random_code(f, true, r);
    for (int i = 0; i < 16; ++i)
        for (int n = 0; n < 8; ++n) p.c[i][n] = random_c(f, r);
    if (f.sparse)
        for (int i = 0; i < 16; ++i)
            for (int q = 0; q < f.K / 4; ++q) p.meta[i][q] = random_nibble(p.ordered, r);
}

} // namespace

/* ---------------------------------------------------------------- dense mma: layouts */

START_TEST(dense_one_hot_a)
{
    /* A = 1 at (r, k) only: D row r must be B row k plus C, every other row C. */
    qbt_rng rng = qbt_rng_make(10);
    for (const Form &f : kForms) {
        if (f.sparse) continue;
        Problem p(f);
        randomize(p, &rng);
        for (int r = 0; r < 16; ++r)
            for (int k = 0; k < f.K; ++k) {
                memset(p.a, 0, sizeof p.a);
                p.a[r][k] = f.one(false);
                char what[32];
                snprintf(what, sizeof what, "A=e(%d,%d)", r, k);
                check(p, what);
            }
    }
}
END_TEST

START_TEST(dense_one_hot_b)
{
    /* B = 1 at (k, n) only: D column n must be A column k plus C. */
    qbt_rng rng = qbt_rng_make(11);
    for (const Form &f : kForms) {
        if (f.sparse) continue;
        Problem p(f);
        randomize(p, &rng);
        for (int k = 0; k < f.K; ++k)
            for (int n = 0; n < 8; ++n) {
                memset(p.b, 0, sizeof p.b);
                p.b[k][n] = f.one(true);
                char what[32];
                snprintf(what, sizeof what, "B=e(%d,%d)", k, n);
                check(p, what);
            }
    }
}
END_TEST

START_TEST(dense_spot_checks)
{
    /* A few cells worked out by hand from the ISA's formulas, independent of
     * the tables: groupID g = lane >> 2, threadID_in_group t = lane % 4. */
    const Figures &F = figs();
    /* Fig 79: lane 5 (g 1, t 1), a2 -> row g+8 = 9, col 2t + 0 = 2; a7 -> row 9, col 2t+1+8 = 11 */
    ck_assert(F.a16.at(9, 2).lane == 5 && F.a16.at(9, 2).elem == 2);
    ck_assert(F.a16.at(9, 11).lane == 5 && F.a16.at(9, 11).elem == 7);
    /* Fig 81: lane 30 (g 7, t 2), b3 -> row 2t+1+8 = 13, col 7 */
    ck_assert(F.b16.at(13, 7).lane == 30 && F.b16.at(13, 7).elem == 3);
    /* Fig 83: lane 11 (g 2, t 3), c2 -> row 10, col 6 */
    ck_assert(F.cd.at(10, 6).lane == 11 && F.cd.at(10, 6).elem == 2);
    /* Fig 88: lane 6 (g 1, t 2), a13 -> row 9, col 4t + 1 + 16 = 25 */
    ck_assert(F.a8.at(9, 25).lane == 6 && F.a8.at(9, 25).elem == 13);
    /* Fig 90/91: lane 7 (g 1, t 3), b6 -> row 4t + 2 + 16 = 30, col 1 */
    ck_assert(F.b8.at(30, 1).lane == 7 && F.b8.at(30, 1).elem == 6);

    /* and through the twin: f16, only lane 5's register a1 (elements a2, a3) set to 1.0, 2.0:
     * A(9, 2) = 1, A(9, 3) = 2, so D row 9 = B row 2 + 2 * B row 3 */
    uint32_t a[kWarp][4] = {}, b[kWarp][2] = {};
    float c[kWarp][4] = {}, d[kWarp][4];
    a[5][1] = 0x40003C00u;
    for (int l = 0; l < kWarp; ++l) /* B(k, n) = k + 16 n: lane l holds column g */
        for (int j = 0; j < 2; ++j)
            for (int h = 0; h < 2; ++h) {
                int k = 2 * (l % 4) + h + 8 * j, n = l / 4;
                b[l][j] |= (uint32_t)qb_f32_to_f16((float)(k + 16 * n)) << 16 * h;
            }
    mma_m16n8k16_f32(F16::F16, d, a, b, c);
    /* D(9, n) lives in lanes 4*1 + n/2, registers c2 (even n) / c3 (odd n) */
    for (int n = 0; n < 8; ++n) {
        float want = (float)((2 + 16 * n) + 2 * (3 + 16 * n));
        ck_assert_float_eq(d[4 + n / 2][2 + n % 2], want);
    }
    for (int l = 0; l < kWarp; ++l)
        for (int i = 0; i < 4; ++i)
            if (!(l / 4 == 1 && i >= 2)) ck_assert_float_eq(d[l][i], 0.0f);
}
END_TEST

START_TEST(dense_random_products)
{
    qbt_rng rng = qbt_rng_make(12);
    for (const Form &f : kForms) {
        if (f.sparse) continue;
        for (int it = 0; it < 50; ++it) {
            Problem p(f);
            randomize(p, &rng);
            check(p, "random");
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- dense mma: values */

START_TEST(dense_nan_inf_propagation)
{
    for (const Form &f : kForms) {
        if (f.integer() || f.sparse) continue;
        const uint32_t nan_a = f.op == Op::F16 ? 0x7E00 : f.op == Op::BF16 ? 0x7FC0 : f.ta == E4 ? 0x7F : 0x7E;
        const uint32_t inf_b = f.op == Op::F16 ? 0x7C00 : f.op == Op::BF16 ? 0x7F80 : f.tb == E4 ? 0 : 0x7C;
        const uint32_t kOne = 0x3F800000u, kInf = 0x7F800000u, kNegInf = 0xFF800000u, kNaN = 0x7FFFFFFFu;

        /* a NaN in A row 3 (B all 1): all of D row 3 is NaN; row 4 (one 1 in A) is 1; the rest 0 */
        Problem p(f);
        for (int k = 0; k < f.K; ++k)
            for (int n = 0; n < 8; ++n) p.b[k][n] = f.one(true);
        p.a[3][5] = nan_a;
        p.a[4][5] = f.one(false);
        Result d = run(p);
        for (int r = 0; r < 16; ++r)
            for (int n = 0; n < 8; ++n)
                QBT_EXPECT(d.d[r][n] == (r == 3 ? kNaN : r == 4 ? kOne : 0u), "%s NaN in A: D[%d][%d] = 0x%08X", f.name,
                           r, n, d.d[r][n]);

        /* C NaN stays NaN */
        Problem q(f);
        q.c[7][7] = NAN;
        QBT_EXPECT(run(q).d[7][7] == kNaN, "%s NaN in C", f.name);

        if (!inf_b) continue; /* e4m3 has no infinity */
        /* A(2, 4) = 1, otherwise 0; B(4, 6) = inf, otherwise 0: rows r != 2 get 0 * inf = NaN in
         * column 6, row 2 gets 1 * inf = inf; C(2, 5) = -inf gives -inf, C(2, 6) = -inf gives NaN */
        for (int cminus = 5; cminus <= 6; ++cminus) {
            Problem s(f);
            s.a[2][4] = f.one(false);
            s.b[4][6] = inf_b;
            s.c[2][cminus] = -INFINITY;
            Result e = run(s);
            for (int r = 0; r < 16; ++r)
                for (int n = 0; n < 8; ++n) {
                    uint32_t want = n != 6 ? 0u : r != 2 ? kNaN : kInf;
                    if (r == 2 && n == cminus) want = n == 6 ? kNaN : kNegInf;
                    QBT_EXPECT(e.d[r][n] == want, "%s inf: D[%d][%d] = 0x%08X, want 0x%08X", f.name, r, n, e.d[r][n],
                               want);
                }
        }
    }
}
END_TEST

START_TEST(signed_zero)
{
    /* every product -0 (A = -0, B = 1): C = -0 gives -0, C = +0 gives +0 (IEEE sums) */
    for (const Form &f : kForms) {
        if (f.integer()) continue;
        for (int cneg = 0; cneg < 2; ++cneg) {
            Problem p(f);
            for (int r = 0; r < 16; ++r)
                for (int k = 0; k < f.acols(); ++k) p.a[r][k] = f.bits() == 16 ? 0x8000 : 0x80;
            for (int k = 0; k < f.K; ++k)
                for (int n = 0; n < 8; ++n) p.b[k][n] = f.one(true);
            for (int r = 0; r < 16; ++r)
                for (int n = 0; n < 8; ++n) p.c[r][n] = cneg ? -0.0 : 0.0;
            Result d = run(p);
            for (int r = 0; r < 16; ++r)
                for (int n = 0; n < 8; ++n)
                    QBT_EXPECT(d.d[r][n] == (cneg ? 0x80000000u : 0u), "%s -0 products, C %s0: D[%d][%d] = 0x%08X",
                               f.name, cneg ? "-" : "+", r, n, d.d[r][n]);
        }
    }
}
END_TEST

START_TEST(subnormal_inputs)
{
    /* subnormal operands are used exactly (not flushed): */
    struct {
        const Form *f;
        uint32_t a, b;
        float want;
    } cases[] = {
        {&kForms[0], 0x0001, 0x0001, 0x1p-48f},   /* f16 2^-24 * 2^-24 */
        {&kForms[0], 0x03FF, 0x3C00, 0x1.ff8p-15f}, /* largest f16 subnormal */
        {&kForms[1], 0x0001, 0x3F80, 0x1p-133f},  /* bf16 2^-133 * 1: an fp32 subnormal */
        {&kForms[4], 0x01, 0x01, 0x1p-25f},       /* e4m3 2^-9 * e5m2 2^-16 */
        {&kForms[5], 0x03, 0x07, 0x1.5p-21f},     /* e5m2 3*2^-16 * e4m3 7*2^-9 = 21*2^-25 */
        {&kForms[7], 0x0001, 0x0001, 0x1p-48f},   /* sparse f16 */
        {&kForms[10], 0x81, 0x01, -0x1p-18f},     /* sparse e4m3 -2^-9 * 2^-9 */
    };
    for (auto &t : cases) {
        Problem p(*t.f);
        p.a[6][2] = t.a;
        int k = t.f->sparse ? 4 : 2; /* sparse: metadata 0b0100 puts stored column 2 (chunk 1, slot 0) at k 4 */
        for (int n = 0; n < 8; ++n) p.b[k][n] = t.b;
        Result d = run(p);
        for (int n = 0; n < 8; ++n)
            QBT_EXPECT(d.d[6][n] == f32_bits(t.want), "%s subnormal: D[6][%d] = %a, want %a", t.f->name, n,
                       (double)bits_f32(d.d[6][n]), (double)t.want);
    }
}
END_TEST

START_TEST(fp32_rounded_once)
{
    /* C = 1 and products of 2^-24 (f16 2^-12 * 2^-12): one product gives the
     * tie 1 + 2^-24 -> 1; two give 1 + 2^-23 exactly (adding each product to
     * an fp32 running sum would give 1 again). */
    for (int nprod = 1; nprod <= 2; ++nprod) {
        Problem p(kForms[0]);
        for (int k = 0; k < nprod; ++k) p.a[0][k] = 0x0C00, p.b[k][0] = 0x0C00;
        p.c[0][0] = 1.0;
        Result d = run(p);
        ck_assert_uint_eq(d.d[0][0], nprod == 1 ? 0x3F800000u : 0x3F800001u);
    }
    /* e4m3 448 * 448 = 200704 exactly; 16 of them + C = 3211264 */
    Problem q(kForms[3]);
    for (int k = 0; k < 16; ++k) q.a[1][k] = 0x7E, q.b[k][1] = 0x7E;
    Result d = run(q);
    ck_assert_float_eq(bits_f32(d.d[1][1]), 3211264.0f);
}
END_TEST

START_TEST(s32_wraps)
{
    for (const Form &f : kForms) {
        if (!f.integer()) continue;
        Problem p(f);
        p.a[0][0] = 0x01, p.b[0][0] = 0x01; /* sparse meta 0x4: stored column 0 -> k 0 */
        p.c[0][0] = INT32_MAX;
        p.a[1][0] = 0xFF; /* -1 */
        p.c[1][0] = INT32_MIN;
        for (int r = 2; r < 4; ++r)
            for (int k = 0; k < f.acols(); ++k) p.a[r][k] = 0x80; /* -128 */
        for (int k = 0; k < f.K; ++k) p.b[k][3] = 0x80;
        p.c[3][3] = INT32_MAX - 524287;
        Result d = run(p);
        ck_assert_int_eq((int32_t)d.d[0][0], INT32_MIN);
        ck_assert_int_eq((int32_t)d.d[1][0], INT32_MAX);
        ck_assert_int_eq((int32_t)d.d[2][3], 32 * 16384); /* 32 products (stored or dense) of (-128)^2 */
        ck_assert_int_eq((int32_t)d.d[3][3], INT32_MIN);  /* INT32_MAX - 524287 + 524288 wraps */
    }
}
END_TEST

START_TEST(fp8_codes)
{
    /* PTX ISA 5.2.3: e4m3 has no infinity, 0x7F / 0xFF are NaN, S.1111.110 = 448,
     * S.1111.000 = 256; e5m2 0x7C inf, 0x7D-0x7F NaN */
    struct {
        Fp8 ta, tb;
        uint32_t a, b;
        uint32_t want;
    } cases[] = {
        {E4, E4, 0x7F, 0x38, 0x7FFFFFFFu}, {E4, E4, 0xFF, 0x38, 0x7FFFFFFFu}, {E4, E4, 0x38, 0x7F, 0x7FFFFFFFu},
        {E4, E4, 0x7E, 0x38, 0x43E00000u}, /* 448 */
        {E4, E4, 0xF8, 0x38, 0xC3800000u}, /* -256 */
        {E4, E4, 0x78, 0x78, 0x47800000u}, /* 65536 */
        {E5, E4, 0x7C, 0x38, 0x7F800000u}, {E5, E4, 0xFC, 0x38, 0xFF800000u}, {E5, E4, 0x7D, 0x38, 0x7FFFFFFFu},
        {E4, E5, 0x38, 0x7F, 0x7FFFFFFFu}, {E5, E5, 0x7B, 0x3C, 0x47600000u}, /* 57344 */
        {E5, E5, 0x7C, 0x00, 0x7FFFFFFFu},                                   /* inf * 0 */
    };
    for (auto &t : cases)
        for (int sparse = 0; sparse < 2; ++sparse) {
            const Form *f = nullptr;
            for (const Form &g : kForms)
                if (g.op == Op::FP8 && g.ta == t.ta && g.tb == t.tb && g.sparse == (sparse != 0)) f = &g;
            Problem p(*f);
            p.a[9][0] = t.a;
            p.b[0][5] = t.b; /* dense k 0; sparse: stored column 0 -> k 0 (meta 0x4) */
            Result d = run(p);
            QBT_EXPECT(d.d[9][5] == t.want, "%s A 0x%02X B 0x%02X: 0x%08X, want 0x%08X", f->name, t.a, t.b, d.d[9][5],
                       t.want);
        }
}
END_TEST

START_TEST(d_may_alias_c)
{
    qbt_rng rng = qbt_rng_make(13);
    uint32_t a[kWarp][4], b[kWarp][4], b2[kWarp][2], e[kWarp];
    float c[kWarp][4], d[kWarp][4];
    int32_t ci[kWarp][4], di[kWarp][4];
    for (int l = 0; l < kWarp; ++l) {
        for (int i = 0; i < 4; ++i) {
            a[l][i] = (uint32_t)qbt_next(&rng) & 0x3BFF3BFFu, b[l][i] = (uint32_t)qbt_next(&rng) & 0x3BFF3BFFu;
            c[l][i] = (float)qbt_uniform(&rng, -1, 1), ci[l][i] = (int32_t)qbt_int(&rng, -1000, 1000);
        }
        b2[l][0] = b[l][0], b2[l][1] = b[l][1];
        e[l] = 0x44444444u;
    }
    mma_m16n8k16_f32(F16::F16, d, a, b2, c);
    mma_m16n8k16_f32(F16::F16, c, a, b2, c);
    ck_assert(memcmp(c, d, sizeof d) == 0);
    ck_assert(!mma_sp_m16n8k32_f32(F16::BF16, true, d, a, b, c, e, 1));
    ck_assert(!mma_sp_m16n8k32_f32(F16::BF16, true, c, a, b, c, e, 1));
    ck_assert(memcmp(c, d, sizeof d) == 0);
    mma_m16n8k32_s32_s8(di, a, b2, ci);
    mma_m16n8k32_s32_s8(ci, a, b2, ci);
    ck_assert(memcmp(ci, di, sizeof di) == 0);
}
END_TEST

/* ---------------------------------------------------------------- mma.sp: layouts */

START_TEST(sparse_one_hot_a)
{
    /* One stored A element = 1 at (r, stored column 2q + s); the metadata of
     * (r, q) sends it to dense column k = 4q + p: D row r must be B row k
     * plus C. Every (r, k, s) and both selectors of m16n8k32; the other
     * threads' metadata registers hold invalid nibbles (0), which the
     * instruction must not read. */
    qbt_rng rng = qbt_rng_make(20);
    for (const Form &f : kForms) {
        if (!f.sparse) continue;
        for (int sel = 0; sel < (f.bits() == 16 ? 2 : 1); ++sel) {
            Problem p(f);
            randomize(p, &rng);
            p.sel = sel;
            for (int r = 0; r < 16; ++r)
                for (int k = 0; k < f.K; ++k)
                    for (int s = 0; s < 2; ++s) {
                        int q = k / 4, pos = k % 4, other = (pos + 1) % 4;
                        memset(p.a, 0, sizeof p.a);
                        for (auto &row : p.meta)
                            for (auto &n : row) n = 0x4;
                        p.a[r][2 * q + s] = f.one(false);
                        p.meta[r][q] = s == 0 ? (uint32_t)(pos | other << 2) : (uint32_t)(other | pos << 2);
                        char what[96];
                        snprintf(what, sizeof what, "sel %d A=e(%d,%d) stored %d", sel, r, k, 2 * q + s);
                        check(p, what);
                    }
        }
    }
}
END_TEST

START_TEST(sparse_one_hot_b)
{
    /* A all 1 with metadata 0b1110 (positions 2, 3) in every chunk; B = 1 at
     * (k, n) only: D column n is 1 in every row iff k % 4 is 2 or 3, else 0. */
    for (const Form &f : kForms) {
        if (!f.sparse) continue;
        Problem p(f);
        for (int r = 0; r < 16; ++r) {
            for (int k = 0; k < f.acols(); ++k) p.a[r][k] = f.one(false);
            for (int q = 0; q < f.K / 4; ++q) p.meta[r][q] = 0xE;
        }
        for (int k = 0; k < f.K; ++k)
            for (int n = 0; n < 8; ++n) {
                memset(p.b, 0, sizeof p.b);
                p.b[k][n] = f.one(true);
                Result d = run(p);
                uint32_t one = f.integer() ? 1u : 0x3F800000u;
                for (int r = 0; r < 16; ++r)
                    for (int m = 0; m < 8; ++m)
                        QBT_EXPECT(d.d[r][m] == (m == n && k % 4 >= 2 ? one : 0u), "%s B=e(%d,%d): D[%d][%d] = 0x%08X",
                                   f.name, k, n, r, m, d.d[r][m]);
            }
    }
}
END_TEST

START_TEST(sparse_spot_checks)
{
    /* By hand from 9.7.14.6.1 and Figure 122: with selector 1, lane 6 (group 1,
     * second pair, first thread) holds row 1 + 8 = 9 of chunks 0-3 in bits
     * 31..16; bits 19..16 are chunk 0. Nibble 0b1110 there puts row 9's
     * stored columns 0, 1 (lane 4, register a1 = elements a2, a3 of Figure 120:
     * row g+8, chunk t = 0) at k = 2 and 3. */
    const Figures &F = figs();
    ck_assert(F.meta16.at(9, 0).lane + 2 == 6 && F.meta16.at(9, 0).elem == 16);
    ck_assert(F.spa16.at(9, 0).lane == 4 && F.spa16.at(9, 0).elem == 2);
    ck_assert(F.spa16.at(9, 1).lane == 4 && F.spa16.at(9, 1).elem == 3);
    /* Figure 136: lane 27 (group 6, thread 3) holds row 14, chunks 8-15 (columns 32-63); bits 23..20 = chunk 13 */
    ck_assert(F.meta8.at(14, 13).lane == 27 && F.meta8.at(14, 13).elem == 20);
    /* Figure 130: lane 27 (g 6, t 3) a14 -> row 14, dense columns 8t + 32 .. = 56..63: stored columns 28..31, a14 = 30 */
    ck_assert(F.spa8.at(14, 30).lane == 27 && F.spa8.at(14, 30).elem == 14);
    /* Figure 132-135: lane 9 (g 2, t 1) b13 -> row 16 * 3 + 4 + 1 = 53, column 2; Figure 121: lane 9 b5 -> row 8 * 2 + 2 + 1 = 19 */
    ck_assert(F.spb8.at(53, 2).lane == 9 && F.spb8.at(53, 2).elem == 13);
    ck_assert(F.spb16.at(19, 2).lane == 9 && F.spb16.at(19, 2).elem == 5);

    /* the same through the twin, registers written directly */
    uint32_t a[kWarp][4] = {}, b[kWarp][4] = {}, e[kWarp];
    float c[kWarp][4] = {}, d[kWarp][4];
    for (int l = 0; l < kWarp; ++l) e[l] = l % 4 >= 2 ? 0x44444444u : 0; /* selector 1: T2, T3 valid; T0, T1 invalid */
    e[6] = 0x444E4444u;        /* row 9 chunk 0: positions 2, 3 */
    a[4][1] = 0x40003C00u;     /* row 9, stored columns 0 and 1: 1.0, 2.0 */
    for (int l = 0; l < kWarp; ++l) /* B(k, n) = k + 32 n, Figure 121: register j holds rows 8j + 2t + h */
        for (int j = 0; j < 4; ++j)
            for (int h = 0; h < 2; ++h) {
                int k = 8 * j + 2 * (l % 4) + h, n = l / 4;
                b[l][j] |= (uint32_t)qb_f32_to_f16((float)(k + 32 * n)) << 16 * h;
            }
    ck_assert_ptr_null(mma_sp_m16n8k32_f32(F16::F16, false, d, a, b, c, e, 1));
    for (int n = 0; n < 8; ++n) ck_assert_float_eq(d[4 + n / 2][2 + n % 2], (float)((2 + 32 * n) + 2 * (3 + 32 * n)));
    /* with selector 0 the invalid nibbles of T0, T1 are read */
    ck_assert_ptr_nonnull(mma_sp_m16n8k32_f32(F16::F16, false, d, a, b, c, e, 0));
}
END_TEST

START_TEST(sparse_random_products)
{
    qbt_rng rng = qbt_rng_make(21);
    for (const Form &f : kForms) {
        if (!f.sparse) continue;
        for (int it = 0; it < 40; ++it) {
            Problem p(f);
            p.ordered = it & 1;
            p.sel = f.bits() == 16 ? (it >> 1) & 1 : 0;
            p.efill = (uint32_t)qbt_next(&rng); /* the unselected pair's registers: anything */
            randomize(p, &rng);
            check(p, p.ordered ? "random ordered" : "random");
        }
    }
}
END_TEST

/* ---------------------------------------------------------------- mma.sp: undefined operands */

START_TEST(sparse_rejects_undefined_metadata)
{
    qbt_rng rng = qbt_rng_make(22);
    for (const Form &f : kForms) {
        if (!f.sparse) continue;
        for (int ordered = 0; ordered < 2; ++ordered)
            for (uint32_t nib = 0; nib < 16; ++nib) {
                Problem p(f);
                p.ordered = ordered;
                randomize(p, &rng);
                p.meta[5][3] = nib;
                /* 9.7.14.6.1: 0b0000, 0b0101, 0b1010, 0b1111 undefined; ::ordered_metadata:
                 * only 0b0100, 0b1000, 0b1001, 0b1100, 0b1101, 0b1110 (increasing from the LSB) */
                bool equal = nib == 0x0 || nib == 0x5 || nib == 0xA || nib == 0xF;
                bool increasing = nib == 0x4 || nib == 0x8 || nib == 0x9 || nib == 0xC || nib == 0xD || nib == 0xE;
                bool valid = ordered ? increasing : !equal;
                Result d = run(p);
                if (valid) {
                    check(p, "valid nibble");
                } else {
                    QBT_EXPECT(d.err != nullptr, "%s%s nibble 0x%X accepted", f.name, ordered ? " ordered" : "", nib);
                    for (int r = 0; r < 16; ++r)
                        for (int n = 0; n < 8; ++n)
                            QBT_EXPECT(d.d[r][n] == kSentinel, "%s: D written despite the error", f.name);
                }
            }
    }
}
END_TEST

START_TEST(sparse_unordered_metadata_places_by_index)
{
    /* plain mma.sp: nibble 0b0001 = indices (1, 0): stored column 0 goes to
     * k = 1, stored column 1 to k = 0 (by hand: D = a0 * B(1) + a1 * B(0)) */
    Problem p(kForms[9]); /* mma.sp.m16n8k64.s32.s8 */
    p.meta[0][0] = 0x1;
    p.a[0][0] = 3, p.a[0][1] = 5;
    for (int n = 0; n < 8; ++n) p.b[0][n] = (uint32_t)(n + 1), p.b[1][n] = (uint32_t)(10 * n + 10);
    Result d = run(p);
    ck_assert_ptr_null(d.err);
    for (int n = 0; n < 8; ++n) ck_assert_int_eq((int32_t)d.d[0][n], 3 * (10 * n + 10) + 5 * (n + 1));
    p.ordered = true;
    ck_assert_ptr_nonnull(run(p).err);
}
END_TEST

START_TEST(sparse_rejects_selector)
{
    for (const Form &f : kForms) {
        if (!f.sparse) continue;
        for (int sel = -1; sel <= 3; ++sel) {
            Problem p(f);
            p.sel = sel;
            p.efill = 0x44444444u;
            bool valid = f.bits() == 16 ? sel == 0 || sel == 1 : sel == 0;
            Result d = run(p);
            QBT_EXPECT((d.err == nullptr) == valid, "%s selector %d: %s", f.name, sel, d.err ? d.err : "accepted");
        }
    }
}
END_TEST

START_TEST(sparse_empty_positions_do_not_multiply)
{
    /* The twins' documented choice: positions the metadata leaves empty take
     * no part (the hardware multiplies the B rows the metadata selects), so
     * inf / NaN in B there does not reach D; a stored zero does multiply. */
    for (const Form &f : kForms) {
        if (!f.sparse || f.integer()) continue;
        uint32_t inf_b = f.op == Op::F16 ? 0x7C00 : f.op == Op::BF16 ? 0x7F80 : f.tb == E4 ? 0x7F /* NaN */ : 0x7C;
        Problem p(f); /* meta 0x4: positions 0, 1 of every chunk; stored A = 0 */
        for (int n = 0; n < 8; ++n) p.b[2][n] = inf_b, p.b[3][n] = inf_b, p.b[1][n] = n == 7 ? inf_b : 0;
        Result d = run(p);
        for (int r = 0; r < 16; ++r)
            for (int n = 0; n < 8; ++n)
                QBT_EXPECT(d.d[r][n] == (n == 7 ? 0x7FFFFFFFu : 0u), "%s: D[%d][%d] = 0x%08X", f.name, r, n, d.d[r][n]);
    }
}
END_TEST

/* ---------------------------------------------------------------- ldmatrix */

START_TEST(ldmatrix_plain_and_trans)
{
    /* Four 8x8 matrices of distinct 16-bit values M_m(i, j) = 0x1000 m + 0x100 i + j + 1,
     * their 32 rows scattered over a buffer (rows need not be contiguous). */
    uint8_t buf[64 * 16];
    const uint8_t *row[kWarp];
    memset(buf, 0xCD, sizeof buf);
    for (int l = 0; l < kWarp; ++l) {
        uint8_t *p = buf + 16 * ((l * 37 + 11) % 64);
        row[l] = p;
        for (int j = 0; j < 8; ++j) {
            uint32_t v = 0x1000u * (uint32_t)(l / 8) + 0x100u * (uint32_t)(l % 8) + (uint32_t)j + 1;
            p[2 * j] = (uint8_t)v, p[2 * j + 1] = (uint8_t)(v >> 8);
        }
    }
    const Figure &fig = figs().ldm;
    uint32_t r[kWarp][4];
    for (int trans = 0; trans < 2; ++trans) {
        ldmatrix_x4(r, row, trans);
        for (int m = 0; m < 4; ++m)
            for (int i = 0; i < 8; ++i)
                for (int j = 0; j < 8; ++j) {
                    /* Figure 104 describes the matrix as loaded: the stored one, or with .trans its transpose */
                    Cell x = trans ? fig.at(j, i) : fig.at(i, j);
                    uint32_t got = r[x.lane][m] >> 16 * x.elem & 0xFFFF;
                    uint32_t want = 0x1000u * (uint32_t)m + 0x100u * (uint32_t)i + (uint32_t)j + 1;
                    QBT_EXPECT(got == want, "ldmatrix%s matrix %d (%d, %d): 0x%04X, want 0x%04X",
                               trans ? ".trans" : "", m, i, j, got, want);
                }
    }
    /* by hand: lane 5 (row 1, columns 2, 3), register 2 = matrix 2 */
    ldmatrix_x4(r, row, false);
    ck_assert_uint_eq(r[5][2], 0x21042103u);
    /* .trans: lane 5 gets column 1, rows 2 and 3 */
    ldmatrix_x4(r, row, true);
    ck_assert_uint_eq(r[5][2], 0x23022202u);
}
END_TEST

extern "C" Suite *qbt_suite(void)
{
    Suite *s = suite_create("sim_twins_mma");
    TCase *tc = tcase_create("mma");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, dense_one_hot_a);
    tcase_add_test(tc, dense_one_hot_b);
    tcase_add_test(tc, dense_spot_checks);
    tcase_add_test(tc, dense_random_products);
    tcase_add_test(tc, dense_nan_inf_propagation);
    tcase_add_test(tc, signed_zero);
    tcase_add_test(tc, subnormal_inputs);
    tcase_add_test(tc, fp32_rounded_once);
    tcase_add_test(tc, s32_wraps);
    tcase_add_test(tc, fp8_codes);
    tcase_add_test(tc, d_may_alias_c);
    tcase_add_test(tc, sparse_one_hot_a);
    tcase_add_test(tc, sparse_one_hot_b);
    tcase_add_test(tc, sparse_spot_checks);
    tcase_add_test(tc, sparse_random_products);
    tcase_add_test(tc, sparse_rejects_undefined_metadata);
    tcase_add_test(tc, sparse_unordered_metadata_places_by_index);
    tcase_add_test(tc, sparse_rejects_selector);
    tcase_add_test(tc, sparse_empty_positions_do_not_multiply);
    tcase_add_test(tc, ldmatrix_plain_and_trans);
    suite_add_tcase(s, tc);
    return s;
}
