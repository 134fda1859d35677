/* test_hip_layout.c - the AMD kernels' index arithmetic (src/hip/hip_layout.h)
 * on the host, against cases worked by hand from AMD's documents (CDNA2 /
 * CDNA3 ISA chapter 7, the AMD Matrix Instruction Calculator's register
 * layouts), and the properties the kernels' correctness rests on: every
 * (row, k) of an MFMA operand has one lane and element, every D element one
 * lane and register, every k of a stage is fed to the MFMA exactly once and
 * at the same k' for both operands, the packed u4 chunk is a bijection, and
 * the fp8 -> fnuz conversion halves every finite value exactly; and the
 * prepack kernels' work items (src/hip/hip_prepack.h), run over every item
 * on the host, against the canonical formats (the CPU oracle's 2:4 tools).
 * Built on every machine: nothing here needs the HIP toolchain. */
#include "qb_test.h"

#include "hip/hip_layout.h"
#include "hip/hip_prepack.h"

/* Hand-worked from the calculator's tables for v_mfma_f32_16x16x16_f16
 * (E = 4): A[0][0..3] lane 0 elements 0..3 (v0.lo v0.hi v1.lo v1.hi),
 * A[0][4] lane 16, A[0][15] lane 48 element 3, A[1][0] lane 1, A[15][12]
 * lane 63; D[0][0] lane 0 reg 0, D[1][0] lane 0 reg 1, D[4][0] lane 16 reg
 * 0, D[0][1] lane 1 reg 0, D[15][15] lane 63 reg 3. v_mfma_i32_16x16x32_i8
 * (E = 8): A[0][7] lane 0 byte 7, A[0][8] lane 16 byte 0, A[3][31] lane 51
 * byte 7. */
START_TEST(mfma16_hand_cases)
{
    ck_assert_int_eq(qb_amd_mfma16_ab_lane(0, 0, 4), 0);
    ck_assert_int_eq(qb_amd_mfma16_ab_elem(3, 4), 3);
    ck_assert_int_eq(qb_amd_mfma16_ab_lane(0, 3, 4), 0);
    ck_assert_int_eq(qb_amd_mfma16_ab_lane(0, 4, 4), 16);
    ck_assert_int_eq(qb_amd_mfma16_ab_elem(4, 4), 0);
    ck_assert_int_eq(qb_amd_mfma16_ab_lane(0, 15, 4), 48);
    ck_assert_int_eq(qb_amd_mfma16_ab_elem(15, 4), 3);
    ck_assert_int_eq(qb_amd_mfma16_ab_lane(1, 0, 4), 1);
    ck_assert_int_eq(qb_amd_mfma16_ab_lane(15, 12, 4), 63);
    ck_assert_int_eq(qb_amd_mfma16_d_lane(0, 0), 0);
    ck_assert_int_eq(qb_amd_mfma16_d_reg(0), 0);
    ck_assert_int_eq(qb_amd_mfma16_d_lane(1, 0), 0);
    ck_assert_int_eq(qb_amd_mfma16_d_reg(1), 1);
    ck_assert_int_eq(qb_amd_mfma16_d_lane(4, 0), 16);
    ck_assert_int_eq(qb_amd_mfma16_d_reg(4), 0);
    ck_assert_int_eq(qb_amd_mfma16_d_lane(0, 1), 1);
    ck_assert_int_eq(qb_amd_mfma16_d_lane(15, 15), 63);
    ck_assert_int_eq(qb_amd_mfma16_d_reg(15), 3);
    ck_assert_int_eq(qb_amd_mfma16_ab_lane(0, 7, 8), 0);
    ck_assert_int_eq(qb_amd_mfma16_ab_elem(7, 8), 7);
    ck_assert_int_eq(qb_amd_mfma16_ab_lane(0, 8, 8), 16);
    ck_assert_int_eq(qb_amd_mfma16_ab_lane(3, 31, 8), 51);
    ck_assert_int_eq(qb_amd_mfma16_ab_elem(31, 8), 7);
}
END_TEST

/* Every operand element and every result element has exactly one place in
 * the 64 lanes x E elements (x 4 registers for D). */
START_TEST(mfma16_bijective)
{
    for (int e = 4; e <= 8; e += 4) {
        int seen[64][8];
        memset(seen, 0, sizeof seen);
        for (int i = 0; i < 16; ++i)
            for (int k = 0; k < 4 * e; ++k) {
                const int l = qb_amd_mfma16_ab_lane(i, k, e), el = qb_amd_mfma16_ab_elem(k, e);
                ck_assert(l >= 0 && l < 64 && el >= 0 && el < e);
                ck_assert_int_eq(seen[l][el]++, 0);
                /* the kernels' reading: lane l holds row l % 16 over k [E (l / 16), + E) */
                ck_assert_int_eq(l % 16, i);
                ck_assert_int_eq(e * (l / 16) + el, k);
            }
    }
    int d[64][4];
    memset(d, 0, sizeof d);
    for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 16; ++j) {
            const int l = qb_amd_mfma16_d_lane(i, j), r = qb_amd_mfma16_d_reg(i);
            ck_assert_int_eq(d[l][r]++, 0);
            /* the kernels' store: n = 4 (lane / 16) + reg, m = lane % 16 */
            ck_assert_int_eq(4 * (l / 16) + r, i);
            ck_assert_int_eq(l % 16, j);
        }
}
END_TEST

/* A stage's 64 k, fed as (step, k') for E = 4 (4 steps) and E = 8 (2
 * steps): each k exactly once; the lane that holds k' (lane group k' / E)
 * is the lane group whose run contains k (so the lane's loaded run is what
 * the MFMA reads), and A and B use the same map, so D accumulates
 * sum_k A[n][k] B[k][m] over the stage. */
START_TEST(stage_k_order)
{
    for (int e = 4; e <= 8; e += 4)
        for (int t = 0; t < 3; ++t) {
            int seen[64];
            memset(seen, 0, sizeof seen);
            for (int s = 0; s < 16 / e; ++s)
                for (int kp = 0; kp < 4 * e; ++kp) {
                    const int k = qb_amd_stage_k(t, s, kp, e);
                    ck_assert(k >= 64 * t && k < 64 * t + 64);
                    ck_assert_int_eq(seen[k - 64 * t]++, 0);
                    const int g = kp / e; /* the lane group holding operand k' */
                    ck_assert_int_eq((k - 64 * t) / 16, g);
                    /* element E s + k' % E of the group's run */
                    ck_assert_int_eq((k - 64 * t) % 16, e * s + kp % e);
                }
        }
    /* hand case: E = 4, stage 1, step 2, k' = 9 (group 2, element 1): k = 64 + 32 + 8 + 1 */
    ck_assert_int_eq(qb_amd_stage_k(1, 2, 9, 4), 105);
    /* E = 8, stage 0, step 1, k' = 31 (group 3, element 7): k = 48 + 8 + 7 */
    ck_assert_int_eq(qb_amd_stage_k(0, 1, 31, 8), 63);
}
END_TEST

/* The packed u4 chunk: a bijection of (32 rows x 64 k) onto 1024 bytes x 2
 * nibbles; the kernels' reading (lane l's 16 bytes, MFMA step s reads byte
 * j of word s / 2 at nibble s % 2 for run element 4 s + j) finds the code
 * of (row 32 r32 + l % 16 (+ 16 for bytes 8-15), k = 64 t + 16 (l / 16) + 4 s + j). */
START_TEST(u4_chunk)
{
    const int kt = 3, rows = 64;
    static uint8_t used[2 * 3 * 1024 * 2];
    memset(used, 0, sizeof used);
    for (int r = 0; r < rows; ++r)
        for (int k = 0; k < 64 * kt; ++k) {
            const long long b = qb_amd_u4_byte(r, k, kt);
            const int sh = qb_amd_u4_shift(k);
            ck_assert(b >= 0 && b < (long long)(rows / 32) * kt * 1024);
            ck_assert_int_eq(used[2 * b + sh / 4]++, 0);
            /* the byte's other nibble is the partner's: whole bytes per (row, k octet) */
            ck_assert_int_eq(qb_amd_u4_partner(k) / 8, k / 8);
            ck_assert_int_eq(qb_amd_u4_byte(r, qb_amd_u4_partner(k), kt), b);
            ck_assert_int_eq(qb_amd_u4_shift(qb_amd_u4_partner(k)), 4 - sh);
        }
    for (int r32 = 0; r32 < rows / 32; ++r32)
        for (int t = 0; t < kt; ++t)
            for (int l = 0; l < 64; ++l)
                for (int half = 0; half < 2; ++half) /* the lane's two tiles */
                    for (int s = 0; s < 4; ++s)
                        for (int j = 0; j < 4; ++j) {
                            const long long b = ((long long)r32 * kt + t) * 1024 + 16 * l + 8 * half + 4 * (s / 2) + j;
                            const int row = 32 * r32 + 16 * half + l % 16, k = 64 * t + 16 * (l / 16) + 4 * s + j;
                            ck_assert_int_eq(qb_amd_u4_byte(row, k, kt), b);
                            ck_assert_int_eq(qb_amd_u4_shift(k), 4 * (s % 2));
                        }
    /* hand case: row 17, k = 70 (t = 1, group 0, kl = 6): lane 1, bytes 8 + 0 + 2, high nibble */
    ck_assert_int_eq(qb_amd_u4_byte(17, 70, kt), 1024 + 16 + 10);
    ck_assert_int_eq(qb_amd_u4_shift(70), 4);
}
END_TEST

/* Every OCP E4M3 / E5M2 code: the fnuz code it becomes is worth exactly
 * half (finite), NaN stays NaN (inf becomes NaN: fnuz has none), -0 -> +0;
 * the four bytes of a word convert independently. */
START_TEST(fp8_to_fnuz_all)
{
    for (int e5 = 0; e5 < 2; ++e5) {
        const qb_fp8_fmt ocp = e5 ? QB_FP8_E5M2 : QB_FP8_E4M3;
        const qb_fp8_fmt fnuz = e5 ? (qb_fp8_fmt){2, 16, 57344.0f, 0x7F, 2} : QB_FP8_E4M3FNUZ;
        for (int c = 0; c < 256; ++c) {
            const float v = qb_fp8_decode((uint8_t)c, ocp);
            for (int pos = 0; pos < 4; ++pos) {
                const uint32_t other = 0x3C3C3C3Cu & ~(0xFFu << (8 * pos)); /* a finite neighbour */
                const uint32_t w = qb_amd_fp8x4_to_fnuz(other | (uint32_t)c << (8 * pos), e5);
                const uint8_t f = (uint8_t)(w >> (8 * pos));
                const float u = qb_fp8_decode(f, fnuz);
                if (isnan(v) || isinf(v))
                    ck_assert_msg(f == 0x80, "%s code 0x%02x -> 0x%02x, want the fnuz NaN", e5 ? "e5m2" : "e4m3", c, f);
                else if (v == 0.f)
                    ck_assert_int_eq(f, 0x00);
                else
                    ck_assert_msg(u * 2.f == v, "%s code 0x%02x (%g) -> 0x%02x (%g)", e5 ? "e5m2" : "e4m3", c, v, f, u);
                for (int q = 0; q < 4; ++q)
                    if (q != pos) ck_assert_int_eq((uint8_t)(w >> (8 * q)), 0x3C);
            }
        }
    }
    /* hand cases: e4m3 1.0 = 0x38 reads 0.5 as fnuz; 448 = 0x7E -> 224 */
    ck_assert(qb_fp8_decode(0x38, QB_FP8_E4M3FNUZ) == 0.5f);
    ck_assert(qb_fp8_decode((uint8_t)qb_amd_fp8x4_to_fnuz(0x7E, 0), QB_FP8_E4M3FNUZ) == 224.f);
}
END_TEST

/* W4A8 widening: for every group scale s2 (1..127) and zero z (0..15),
 * every code whose w8 = (code - z) s2 fits int8 (what the prepack check
 * admits), in each byte position and nibble, next to other admitted codes:
 * the byte is w8's two's complement. Hand case: s2 = 3, z = 8, code 15 ->
 * 21 (0x15), code 0 -> -24 (0xE8). */
START_TEST(w4a8_widen)
{
    for (uint32_t s2 = 1; s2 <= 127; ++s2)
        for (uint32_t z = 0; z <= 15; ++z) {
            int ok[16], nok = 0;
            for (int c = 0; c < 16; ++c) {
                const int w8 = (c - (int)z) * (int)s2;
                if (w8 >= -128 && w8 <= 127) ok[nok++] = c;
            }
            const uint32_t kc = qb_amd_w4a8_kc(z, s2);
            for (int i = 0; i < nok; ++i)
                for (int hi = 0; hi < 2; ++hi) {
                    /* byte b holds codes ok[(i + b) % nok] (low or high nibble), the other nibble junk */
                    uint32_t q = 0;
                    for (int b = 0; b < 4; ++b) {
                        const uint32_t c = (uint32_t)ok[(i + b) % nok];
                        q |= (hi ? (c << 4) | ((uint32_t)(b * 5) & 15u) : c | ((15u - (uint32_t)b) << 4)) << (8 * b);
                    }
                    const uint32_t w = qb_amd_widen_u4x4(q, hi, s2, kc);
                    for (int b = 0; b < 4; ++b) {
                        const int want = (ok[(i + b) % nok] - (int)z) * (int)s2;
                        ck_assert_msg((int8_t)(uint8_t)(w >> (8 * b)) == want, "s2=%u z=%u byte %d: %d, want %d", s2,
                                      z, b, (int8_t)(uint8_t)(w >> (8 * b)), want);
                    }
                }
        }
    const uint32_t kc = qb_amd_w4a8_kc(8, 3);
    ck_assert_uint_eq(qb_amd_widen_u4x4(0x0000000Fu, 0, 3, kc) & 0xFFu, 0x15u);
    ck_assert_uint_eq(qb_amd_widen_u4x4(0x00000000u, 0, 3, kc) & 0xFFu, 0xE8u);
}
END_TEST

/* pack_u4's items over the whole packed weight (np = 64 rows, kt = 2 stages:
 * n = 37, odd k = 101 with rows of 51 bytes; with and without an act-order
 * permutation): every byte is written (two different fills give the same
 * bytes), and every (row, k position) reads back, through the GEMM's
 * positions (qb_amd_u4_byte / shift), as the canonical code of column
 * perm[p] (or p), pad past n or k. */
START_TEST(pack_u4_items)
{
    enum { N = 37, K = 101, NP = 64, KT = 2, ROWB = (K + 1) / 2, BYTES = NP / 32 * KT * 1024 };
    const uint32_t pad = 8;
    static uint8_t src[N * ROWB], dst[2][BYTES];
    static int32_t perm[K];
    qbt_rng r = qbt_rng_make(0x9AC4);
    qbt_fill_bytes(&r, src, sizeof src);
    for (int i = 0; i < K; ++i) perm[i] = i;
    for (int i = K - 1; i > 0; --i) { /* Fisher-Yates */
        const int j = (int)qbt_int(&r, 0, i), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    for (int use_perm = 0; use_perm < 2; ++use_perm) {
        const int32_t *pm = use_perm ? perm : NULL;
        for (int fill = 0; fill < 2; ++fill) {
            memset(dst[fill], fill ? 0xFF : 0x00, BYTES);
            for (int row = 0; row < NP; ++row)
                for (int a = 0; a < KT * 8; ++a) qb_amd_pack_u4_octet(src, N, K, pm, KT, pad, row, a, dst[fill]);
        }
        ck_assert_int_eq(memcmp(dst[0], dst[1], BYTES), 0);
        for (int row = 0; row < NP; ++row)
            for (int p = 0; p < KT * 64; ++p) {
                const uint32_t got = (dst[0][qb_amd_u4_byte(row, p, KT)] >> qb_amd_u4_shift(p)) & 15u;
                uint32_t want = pad;
                if (row < N && p < K) {
                    const int c = pm ? pm[p] : p;
                    want = (src[row * ROWB + c / 2] >> (4 * (c % 2))) & 15u;
                }
                ck_assert_msg(got == want, "perm %d row %d p %d: code %u, want %u", use_perm, row, p, got, want);
            }
    }
}
END_TEST

/* W4A8 parameters: s2 | z << 8 from [groups][n] (g128), s2 = 1 per channel,
 * s2 = 1 z = 0 for padding columns. */
START_TEST(w4a8_param_items)
{
    const int8_t s2[6] = {1, 16, 127, 3, 5, 7};
    const uint8_t z[6] = {0, 7, 15, 8, 1, 2};
    ck_assert_uint_eq(qb_amd_w4a8_param(s2, z, 3, 1, 0, 1), 16u | 7u << 8);
    ck_assert_uint_eq(qb_amd_w4a8_param(s2, z, 3, 1, 1, 2), 7u | 2u << 8); /* g 1, col 2: index 5 */
    ck_assert_uint_eq(qb_amd_w4a8_param(s2, z, 3, 1, 1, 3), 1u);           /* padding */
    ck_assert_uint_eq(qb_amd_w4a8_param(NULL, z, 3, 0, 0, 2), 1u | 15u << 8);
    ck_assert_uint_eq(qb_amd_w4a8_param(NULL, z, 3, 0, 0, 4), 1u);
}
END_TEST

/* sp24_decompress's items against the oracle's qblas_sparse24_decompress, for
 * every 2:4 dtype, K % 8 == 0 and 4: pruned random rows compressed by the
 * oracle, decompressed by the items into np = n + 3 rows of kp = k + 12
 * elements: the oracle's elements (fp8: as fnuz codes, each byte of the
 * word converted alone), zeros in the padding. */
START_TEST(sp24_decompress_items)
{
    enum { N = 5, NP = N + 3, KMAX = 24, KPMAX = KMAX + 12 };
    const qblas_dtype_t dts[] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_I8, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2};
    static uint8_t dense[N * KMAX * 2], pruned[N * KMAX * 2], ref[N * KMAX * 2], vals[N * KMAX], meta[N * KMAX / 8];
    static uint32_t out[NP * KPMAX / 4][2];
    qbt_rng r = qbt_rng_make(0x5924);
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; ++d)
        for (int k = 20; k <= KMAX; k += 4) {
            const qblas_dtype_t t = dts[d];
            const int es = t == QBLAS_DTYPE_F16 || t == QBLAS_DTYPE_BF16 ? 2 : 1;
            const int fnuz = t == QBLAS_DTYPE_E4M3 || t == QBLAS_DTYPE_E5M2, e5m2 = t == QBLAS_DTYPE_E5M2;
            const int kp = k + 12;
            qbt_fill_bytes(&r, dense, sizeof dense);
            ck_assert_int_eq(qblas_sparse24_prune(N, k, t, dense, k, pruned, k), QBLAS_STATUS_SUCCESS);
            ck_assert_int_eq(qblas_sparse24_compress(N, k, t, pruned, k, vals, meta), QBLAS_STATUS_SUCCESS);
            ck_assert_int_eq(qblas_sparse24_decompress(N, k, t, vals, meta, ref, k), QBLAS_STATUS_SUCCESS);
            for (int row = 0; row < NP; ++row)
                for (int j = 0; j < kp / 4; ++j)
                    qb_amd_sp24_group(vals, meta, es, fnuz, e5m2, N, k, row, j, out[row * (kp / 4) + j]);
            for (int row = 0; row < NP; ++row)
                for (int c = 0; c < kp; ++c) {
                    const uint32_t *w = out[row * (kp / 4) + c / 4];
                    const uint32_t got = es == 1 ? (w[0] >> (8 * (c % 4))) & 0xFFu : (w[(c % 4) / 2] >> (16 * (c % 2))) & 0xFFFFu;
                    uint32_t want = 0;
                    if (row < N && c < k) {
                        want = es == 1 ? ref[row * k + c] : ((const uint16_t *)ref)[row * k + c];
                        if (fnuz) want = qb_amd_fp8x4_to_fnuz(want, e5m2) & 0xFFu;
                    }
                    ck_assert_msg(got == want, "%s k %d row %d col %d: 0x%x, want 0x%x", qblas_dtype_name(t), k, row, c,
                                  got, want);
                }
        }
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("hip_layout");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, mfma16_hand_cases);
    tcase_add_test(tc, mfma16_bijective);
    tcase_add_test(tc, stage_k_order);
    tcase_add_test(tc, u4_chunk);
    tcase_add_test(tc, fp8_to_fnuz_all);
    tcase_add_test(tc, w4a8_widen);
    tcase_add_test(tc, pack_u4_items);
    tcase_add_test(tc, w4a8_param_items);
    tcase_add_test(tc, sp24_decompress_items);
    suite_add_tcase(s, tc);
    return s;
}
