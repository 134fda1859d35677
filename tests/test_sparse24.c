/* test_sparse24.c - 2:4 sparse weights: prune, compress, decompress, the
 * GEMM oracle for every dtype, the quantizer and the dequantizer, against
 * references written here from the format definition:
 *   group j = w[4j..4j+3] keeps i0 < i1; values[2j] = w[4j+i0],
 *   values[2j+1] = w[4j+i1]; meta byte j/2 holds i0 | i1 << 2 in its low
 *   (even j) or high (odd j) nibble.
 */
#include "qb_test.h"

static const qblas_dtype_t sp_dtypes[5] = {QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16, QBLAS_DTYPE_I8, QBLAS_DTYPE_E4M3,
                                           QBLAS_DTYPE_E5M2};

static size_t esz(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_F32 ? 4 : (t == QBLAS_DTYPE_F16 || t == QBLAS_DTYPE_BF16) ? 2 : 1;
}

static bool is_fp8(qblas_dtype_t t) { return t == QBLAS_DTYPE_E4M3 || t == QBLAS_DTYPE_E5M2 || t == QBLAS_DTYPE_E4M3FNUZ; }

static qb_fp8_fmt fmt_of(qblas_dtype_t t)
{
    return t == QBLAS_DTYPE_E5M2 ? QB_FP8_E5M2 : t == QBLAS_DTYPE_E4M3FNUZ ? QB_FP8_E4M3FNUZ : QB_FP8_E4M3;
}

/* Store v as element i of a t array (integers: v is already an integer in range). */
static void put(qblas_dtype_t t, void *p, int64_t i, double v)
{
    switch (t) {
    case QBLAS_DTYPE_F32: ((float *)p)[i] = (float)v; break;
    case QBLAS_DTYPE_F16: ((uint16_t *)p)[i] = qb_f32_to_f16((float)v); break;
    case QBLAS_DTYPE_BF16: ((uint16_t *)p)[i] = qb_f32_to_bf16((float)v); break;
    case QBLAS_DTYPE_I8: ((int8_t *)p)[i] = (int8_t)v; break;
    default: ((uint8_t *)p)[i] = qb_fp8_encode((float)v, fmt_of(t)); break;
    }
}

static bool elem_eq(qblas_dtype_t t, const void *a, int64_t i, const void *b, int64_t j)
{
    return memcmp((const uint8_t *)a + i * esz(t), (const uint8_t *)b + j * esz(t), esz(t)) == 0;
}

static bool elem_allzero_bits(qblas_dtype_t t, const void *p, int64_t i)
{
    for (size_t b = 0; b < esz(t); b++)
        if (((const uint8_t *)p)[i * esz(t) + b]) return false;
    return true;
}

/* Zero as the format defines it: decodes to 0 (NaN compares unequal, so it is non-zero). */
static bool elem_zero(qblas_dtype_t t, const void *p, int64_t i) { return qbt_get(t, p, i) == 0.0; }

/* A random non-zero finite value, or (one time in `special`) NaN / inf where t has them. */
static void put_nonzero(qbt_rng *r, qblas_dtype_t t, void *p, int64_t i, int special)
{
    if (special && qbt_int(r, 0, special - 1) == 0 && t != QBLAS_DTYPE_I8) {
        bool has_inf = t == QBLAS_DTYPE_F32 || t == QBLAS_DTYPE_F16 || t == QBLAS_DTYPE_BF16 || t == QBLAS_DTYPE_E5M2;
        if (t == QBLAS_DTYPE_E4M3)
            ((uint8_t *)p)[i] = (uint8_t)(qbt_int(r, 0, 1) ? 0xFF : 0x7F); /* the e4m3 NaN codes */
        else
            put(t, p, i, has_inf && qbt_int(r, 0, 1) ? -INFINITY : NAN);
        return;
    }
    double sgn = qbt_int(r, 0, 1) ? 1.0 : -1.0;
    if (t == QBLAS_DTYPE_I8)
        put(t, p, i, sgn * (double)qbt_int(r, 1, 127));
    else
        put(t, p, i, sgn * qbt_uniform(r, 0.1, 2.0));
}

/* A zero: +0 or -0 (the i8 zero has one encoding). */
static void put_zero(qbt_rng *r, qblas_dtype_t t, void *p, int64_t i) { put(t, p, i, qbt_int(r, 0, 1) ? 0.0 : -0.0); }

/* ---- the reference format, written from its definition ---- */

/* Field of a group by its non-zero mask (bit i: element i non-zero); -1: more than two.
 * The non-zeros' indices, completed by the lowest unused ones. */
static const int field_of_mask[16] = {
    0x4, /* {}    -> 0,1 */ 0x4, /* {0}   -> 0,1 */ 0x4, /* {1} -> 0,1 */ 0x4, /* {0,1} */
    0x8, /* {2}   -> 0,2 */ 0x8, /* {0,2} */        0x9, /* {1,2} */       -1,  /* {0,1,2} */
    0xC, /* {3}   -> 0,3 */ 0xC, /* {0,3} */        0xD, /* {1,3} */       -1,  /* {0,1,3} */
    0xE, /* {2,3} */        -1,                     -1,                    -1};

static unsigned ref_mask(qblas_dtype_t t, const void *dense, int64_t at)
{
    unsigned m = 0;
    for (int i = 0; i < 4; i++) m |= (unsigned)!elem_zero(t, dense, at + i) << i;
    return m;
}

/* values [n][k/2] and meta [n][ceil(k/8)] of a 2:4 dense matrix (each group's mask must be valid). */
static void ref_compress(qblas_dtype_t t, int64_t n, int64_t k, const void *dense, int64_t ld, void *values,
                         uint8_t *meta)
{
    int64_t mb = (k + 7) / 8;
    memset(meta, 0, (size_t)(n * mb));
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < k / 4; j++) {
            int f = field_of_mask[ref_mask(t, dense, r * ld + 4 * j)];
            ck_assert(f >= 0);
            memcpy((uint8_t *)values + (size_t)(r * (k / 2) + 2 * j) * esz(t),
                   (const uint8_t *)dense + (size_t)(r * ld + 4 * j + (f & 3)) * esz(t), esz(t));
            memcpy((uint8_t *)values + (size_t)(r * (k / 2) + 2 * j + 1) * esz(t),
                   (const uint8_t *)dense + (size_t)(r * ld + 4 * j + (f >> 2)) * esz(t), esz(t));
            meta[r * mb + j / 2] |= (uint8_t)(f << 4 * (j % 2));
        }
}

/* Dense W [n][k] as doubles from values and meta. */
static double *ref_dense(qblas_dtype_t t, int64_t n, int64_t k, const void *values, const uint8_t *meta)
{
    int64_t mb = (k + 7) / 8;
    double *w = calloc((size_t)(n * k), sizeof(double));
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < k / 4; j++) {
            int f = (meta[r * mb + j / 2] >> 4 * (j % 2)) & 15;
            w[r * k + 4 * j + (f & 3)] = qbt_get(t, values, r * (k / 2) + 2 * j);
            w[r * k + 4 * j + (f >> 2)] = qbt_get(t, values, r * (k / 2) + 2 * j + 1);
        }
    return w;
}

/* A random 2:4 dense matrix: each group gets a random valid mask. */
static void random_sparse_dense(qbt_rng *r, qblas_dtype_t t, int64_t n, int64_t k, void *dense, int64_t ld, int special)
{
    for (int64_t row = 0; row < n; row++)
        for (int64_t j = 0; j < k / 4; j++) {
            unsigned m;
            do m = (unsigned)qbt_int(r, 0, 15);
            while (field_of_mask[m] < 0);
            for (int i = 0; i < 4; i++) {
                if (m >> i & 1)
                    put_nonzero(r, t, dense, row * ld + 4 * j + i, special);
                else
                    put_zero(r, t, dense, row * ld + 4 * j + i);
            }
        }
}

/* ---- compress: all 16 masks of a group ---- */
START_TEST(compress_all_masks)
{
    const int64_t n = 2, k = 12, ld = 15, mb = 2; /* k % 8 == 4: the last meta byte is half used */
    for (int d = 0; d < 5; d++) {
        qblas_dtype_t t = sp_dtypes[d];
        qbt_rng r = qbt_rng_make(10 + d);
        for (unsigned mask = 0; mask < 16; mask++) {
            void *dense = qbt_alloc((size_t)(n * ld) * esz(t));
            void *vals = qbt_alloc((size_t)(n * k / 2) * esz(t)), *want_vals = qbt_alloc((size_t)(n * k / 2) * esz(t));
            uint8_t *meta = qbt_alloc((size_t)(n * mb)), *want_meta = qbt_alloc((size_t)(n * mb));
            random_sparse_dense(&r, t, n, k, dense, ld, 4);
            /* the group under test is the last one, so a rejection proves the whole matrix is checked first */
            for (int i = 0; i < 4; i++) {
                if (mask >> i & 1)
                    put_nonzero(&r, t, dense, 1 * ld + 8 + i, 4);
                else
                    put_zero(&r, t, dense, 1 * ld + 8 + i);
            }
            void *sv = qbt_snapshot(vals, qbt_size(vals)), *sm = qbt_snapshot(meta, qbt_size(meta));
            qblas_status_t st = qblas_sparse24_compress(n, k, t, dense, ld, vals, meta);
            int bits = (mask & 1) + (mask >> 1 & 1) + (mask >> 2 & 1) + (mask >> 3 & 1);
            if (bits > 2) {
                QBT_EXPECT(st == QBLAS_STATUS_INVALID_VALUE, "%s mask %x: %s", qblas_dtype_name(t), mask,
                       qblas_status_string(st));
                QBT_EXPECT(qbt_unchanged(vals, sv, qbt_size(vals)) && qbt_unchanged(meta, sm, qbt_size(meta)),
                       "%s mask %x: a rejected compress wrote", qblas_dtype_name(t), mask);
            } else {
                QBT_EXPECT(st == QBLAS_STATUS_SUCCESS, "%s mask %x: %s (%s)", qblas_dtype_name(t), mask,
                       qblas_status_string(st), qblas_last_error(NULL));
                ref_compress(t, n, k, dense, ld, want_vals, want_meta);
                QBT_EXPECT(memcmp(vals, want_vals, qbt_size(vals)) == 0, "%s mask %x: values", qblas_dtype_name(t), mask);
                QBT_EXPECT(memcmp(meta, want_meta, qbt_size(meta)) == 0, "%s mask %x: meta %02x %02x", qblas_dtype_name(t),
                       mask, meta[2], meta[3]);
                QBT_EXPECT((meta[3] & 15) == field_of_mask[mask] && (meta[3] >> 4) == 0,
                       "%s mask %x: last byte %02x", qblas_dtype_name(t), mask, meta[3]);
            }
            free(sv);
            free(sm);
            qbt_free(dense);
            qbt_free(vals);
            qbt_free(want_vals);
            qbt_free(meta);
            qbt_free(want_meta);
        }
    }
}
END_TEST

/* ---- the meta bits against bytes written by hand ---- */
START_TEST(meta_layout)
{
    /* row 0 non-zeros {1,3} {0,2} {2,3}: fields 1|3<<2 = 0xD, 0|2<<2 = 0x8, 2|3<<2 = 0xE
     * row 1 non-zeros {} {3} {1,2}:     fields 0x4 (0,1), 0xC (0,3), 0x9 (1,2) */
    static const int nz[2][12] = {{0, 5, 0, 6, 7, 0, 8, 0, 0, 0, 9, 10}, {0, 0, 0, 0, 0, 0, 0, 11, 0, 12, 13, 0}};
    static const uint8_t want_meta[4] = {0x8D, 0x0E, 0xC4, 0x09};
    static const int want_vals[2][6] = {{5, 6, 7, 8, 9, 10}, {0, 0, 0, 11, 12, 13}};
    int8_t *dense = qbt_alloc(24), *vals = qbt_alloc(12);
    uint8_t *meta = qbt_alloc(4);
    for (int i = 0; i < 24; i++) dense[i] = (int8_t)nz[i / 12][i % 12];
    QBT_OK(qblas_sparse24_compress(2, 12, QBLAS_DTYPE_I8, dense, 12, vals, meta));
    for (int i = 0; i < 4; i++) ck_assert_int_eq(meta[i], want_meta[i]);
    for (int i = 0; i < 12; i++) ck_assert_int_eq(vals[i], want_vals[i / 6][i % 6]);
    qbt_free(dense);
    qbt_free(vals);
    qbt_free(meta);
}
END_TEST

/* ---- decompress: round trip, rejected fields, the ignored half byte ---- */
START_TEST(round_trip)
{
    const int64_t n = 5, k = 36, ld = 39, mb = 5;
    for (int d = 0; d < 5; d++) {
        qblas_dtype_t t = sp_dtypes[d];
        qbt_rng r = qbt_rng_make(30 + d);
        size_t es = esz(t);
        void *dense = qbt_alloc((size_t)(n * ld) * es), *back = qbt_alloc((size_t)(n * ld) * es);
        void *vals = qbt_alloc((size_t)(n * k / 2) * es);
        uint8_t *meta = qbt_alloc((size_t)(n * mb));
        random_sparse_dense(&r, t, n, k, dense, ld, 8);
        QBT_OK(qblas_sparse24_compress(n, k, t, dense, ld, vals, meta));
        qbt_poison(back, qbt_size(back));
        QBT_OK(qblas_sparse24_decompress(n, k, t, vals, meta, back, ld));
        for (int64_t i = 0; i < n * ld; i++) {
            if (i % ld >= k) { /* ld padding untouched */
                for (size_t b = 0; b < es; b++) QBT_EXPECT(((uint8_t *)back)[i * es + b] == 0xFF, "padding written");
            } else if (elem_zero(t, dense, i)) { /* unkept zeros come back as +0 */
                QBT_EXPECT(elem_zero(t, back, i), "%s element %lld: zero lost", qblas_dtype_name(t), (long long)i);
            } else {
                QBT_EXPECT(elem_eq(t, back, i, dense, i), "%s element %lld differs", qblas_dtype_name(t), (long long)i);
            }
        }

        /* a field with i0 >= i1 anywhere: INVALID_VALUE, nothing written */
        static const int bad[10] = {0x0, 0x1, 0x2, 0x3, 0x5, 0x6, 0x7, 0xA, 0xB, 0xF};
        for (int b = 0; b < 10; b++) {
            uint8_t keep = meta[(n - 1) * mb + 4];
            meta[(n - 1) * mb + 4] = (uint8_t)((keep & 0xF0) | bad[b]); /* last row, last group */
            qbt_fill_bytes(&r, back, qbt_size(back));
            void *snap = qbt_snapshot(back, qbt_size(back));
            QBT_STATUS(qblas_sparse24_decompress(n, k, t, vals, meta, back, ld), QBLAS_STATUS_INVALID_VALUE);
            QBT_EXPECT(qbt_unchanged(back, snap, qbt_size(back)), "rejected decompress wrote");
            free(snap);
            meta[(n - 1) * mb + 4] = keep;
        }
        /* the unused high nibble at a row end is not a field: garbage there is ignored */
        ck_assert_int_eq(meta[mb - 1] >> 4, 0);
        meta[mb - 1] |= 0xF0;
        QBT_OK(qblas_sparse24_decompress(n, k, t, vals, meta, back, ld));
        qbt_free(dense);
        qbt_free(back);
        qbt_free(vals);
        qbt_free(meta);
    }
}
END_TEST

/* ---- prune ---- */

/* Rank of magnitudes: NaN above all, then larger |v|. */
static bool mag_gt(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && !isnan(b);
    return fabs(a) > fabs(b);
}

/* Expected kept mask: the first maximum, then the first maximum of the rest (ties: lower index). */
static unsigned expected_keep(qblas_dtype_t t, const void *src, int64_t at)
{
    unsigned keep = 0;
    for (int pass = 0; pass < 2; pass++) {
        int best = -1;
        for (int i = 0; i < 4; i++)
            if (!(keep >> i & 1) && (best < 0 || mag_gt(qbt_get(t, src, at + i), qbt_get(t, src, at + best)))) best = i;
        keep |= 1u << best;
    }
    return keep;
}

START_TEST(prune)
{
    static const qblas_dtype_t ts[6] = {QBLAS_DTYPE_F32, QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16,
                                        QBLAS_DTYPE_I8,  QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2};
    const int64_t n = 9, k = 44, lds = 46, ldd = 49;
    for (int d = 0; d < 6; d++) {
        qblas_dtype_t t = ts[d];
        size_t es = esz(t);
        qbt_rng r = qbt_rng_make(40 + d);
        void *src = qbt_alloc((size_t)(n * lds) * es), *dst = qbt_alloc((size_t)(n * ldd) * es);
        void *inplace = qbt_alloc((size_t)(n * lds) * es);
        /* few distinct magnitudes (many ties), both signs, zeros, NaN / inf now and then */
        for (int64_t i = 0; i < n * lds; i++) {
            int64_t v = qbt_int(&r, -3, 3);
            if (v == 0 && qbt_int(&r, 0, 2) == 0)
                put_nonzero(&r, t, src, i, 1);
            else if (v == 0)
                put_zero(&r, t, src, i);
            else
                put(t, src, i, (double)v);
        }
        memcpy(inplace, src, qbt_size(src));
        qbt_poison(dst, qbt_size(dst));
        QBT_OK(qblas_sparse24_prune(n, k, t, src, lds, dst, ldd));
        QBT_OK(qblas_sparse24_prune(n, k, t, inplace, lds, inplace, lds));
        for (int64_t row = 0; row < n; row++) {
            for (int64_t j = 0; j < k / 4; j++) {
                unsigned keep = expected_keep(t, src, row * lds + 4 * j);
                for (int i = 0; i < 4; i++) {
                    int64_t s = row * lds + 4 * j + i, o = row * ldd + 4 * j + i;
                    if (keep >> i & 1)
                        QBT_EXPECT(elem_eq(t, dst, o, src, s) && elem_eq(t, inplace, s, src, s),
                               "%s row %lld group %lld: entry %d not kept", qblas_dtype_name(t), (long long)row,
                               (long long)j, i);
                    else
                        QBT_EXPECT(elem_allzero_bits(t, dst, o) && elem_allzero_bits(t, inplace, s),
                               "%s row %lld group %lld: entry %d not zeroed", qblas_dtype_name(t), (long long)row,
                               (long long)j, i);
                }
            }
            for (int64_t c = k; c < ldd; c++)
                for (size_t b = 0; b < es; b++)
                    QBT_EXPECT(((uint8_t *)dst)[(row * ldd + c) * (int64_t)es + (int64_t)b] == 0xFF, "dst padding written");
            for (int64_t c = k; c < lds; c++) QBT_EXPECT(elem_eq(t, inplace, row * lds + c, src, row * lds + c), "in-place padding");
        }
        /* the kept set is what compress accepts */
        if (t != QBLAS_DTYPE_F32) {
            void *vals = qbt_alloc((size_t)(n * k / 2) * es);
            uint8_t *meta = qbt_alloc((size_t)(n * ((k + 7) / 8)));
            QBT_OK(qblas_sparse24_compress(n, k, t, dst, ldd, vals, meta));
            qbt_free(vals);
            qbt_free(meta);
        }
        /* overlapping, but not the same matrix: refused, nothing written */
        void *snap = qbt_snapshot(inplace, qbt_size(inplace));
        QBT_STATUS(qblas_sparse24_prune(n, k, t, inplace, lds, (uint8_t *)inplace + es * 4, lds),
                   QBLAS_STATUS_INVALID_VALUE);
        QBT_STATUS(qblas_sparse24_prune(n - 1, k, t, inplace, lds, inplace, k), QBLAS_STATUS_INVALID_VALUE);
        ck_assert(qbt_unchanged(inplace, snap, qbt_size(inplace)));
        free(snap);
        qbt_free(src);
        qbt_free(dst);
        qbt_free(inplace);
    }
}
END_TEST

START_TEST(bad_arguments)
{
    uint16_t *dense = qbt_alloc(64), *vals = qbt_alloc(32);
    uint8_t *meta = qbt_alloc(8);
    qbt_rng r = qbt_rng_make(50);
    qbt_fill(&r, QBLAS_DTYPE_F16, dense, 32, -1, 1);
    QBT_STATUS(qblas_sparse24_compress(1, 6, QBLAS_DTYPE_F16, dense, 8, vals, meta), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_sparse24_compress(0, 8, QBLAS_DTYPE_F16, dense, 8, vals, meta), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_sparse24_compress(1, 8, QBLAS_DTYPE_F32, dense, 8, vals, meta), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_sparse24_compress(1, 8, QBLAS_DTYPE_E4M3FNUZ, dense, 8, vals, meta), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_sparse24_compress(1, 8, QBLAS_DTYPE_F16, dense, 4, vals, meta), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_sparse24_compress(1, 8, QBLAS_DTYPE_F16, dense, 8, NULL, meta), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_sparse24_compress(1, 8, QBLAS_DTYPE_F16, (uint8_t *)dense + 1, 8, vals, meta),
               QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_sparse24_decompress(1, 8, QBLAS_DTYPE_F16, vals, NULL, dense, 8), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_sparse24_prune(1, 10, QBLAS_DTYPE_F16, dense, 12, dense, 12), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_sparse24_prune(1, 8, QBLAS_DTYPE_U8, dense, 8, dense, 8), QBLAS_STATUS_INVALID_VALUE);
    ck_assert(qblas_last_error(NULL)[0] != '\0');
    qbt_free(dense);
    qbt_free(vals);
    qbt_free(meta);
}
END_TEST

/* ---- GEMM ---- */

typedef struct {
    qblas_dtype_t t;
    int64_t n, k;
    void *vals;
    uint8_t *meta;
    float *scales;
    qblas_weight_t w;
    double *ref; /* dense W [n][k] */
} sw;

static const int valid_fields[6] = {0x4, 0x8, 0xC, 0x9, 0xD, 0xE};

/* Random values and random valid fields; the reference dense weight from them. */
static void sw_make(sw *s, qbt_rng *r, qblas_dtype_t t, int64_t n, int64_t k, qblas_scale_mode_t wmode)
{
    int64_t mb = (k + 7) / 8, ns = 0;
    memset(s, 0, sizeof *s);
    s->t = t, s->n = n, s->k = k;
    s->vals = qbt_alloc((size_t)(n * k / 2) * esz(t));
    s->meta = qbt_alloc((size_t)(n * mb));
    for (int64_t i = 0; i < n * k / 2; i++) put_nonzero(r, t, s->vals, i, 0);
    memset(s->meta, 0, (size_t)(n * mb));
    for (int64_t row = 0; row < n; row++)
        for (int64_t j = 0; j < k / 4; j++)
            s->meta[row * mb + j / 2] |= (uint8_t)(valid_fields[qbt_int(r, 0, 5)] << 4 * (j % 2));
    if (wmode == QBLAS_SCALE_PER_TENSOR) ns = 1;
    if (wmode == QBLAS_SCALE_PER_ROW) ns = n;
    if (wmode == QBLAS_SCALE_BLOCK_128X128) ns = ((n + 127) / 128) * ((k + 127) / 128);
    if (ns) {
        s->scales = qbt_alloc((size_t)ns * 4);
        for (int64_t i = 0; i < ns; i++) s->scales[i] = (float)qbt_uniform(r, 0.01, 0.1);
    }
    s->w = (qblas_weight_t){.format = QBLAS_WFORMAT_SPARSE24,
                            .layout = QBLAS_LAYOUT_CANONICAL,
                            .dtype = t,
                            .n = n,
                            .k = k,
                            .data = s->vals,
                            .meta = s->meta,
                            .scale_mode = wmode,
                            .scale_dtype = QBLAS_DTYPE_F32,
                            .scales = s->scales};
    s->ref = ref_dense(t, n, k, s->vals, s->meta);
}

static void sw_free(sw *s)
{
    qbt_free(s->vals);
    qbt_free(s->meta);
    qbt_free(s->scales);
    free(s->ref);
}

static double w_scale(const sw *s, int64_t n, int64_t kb)
{
    switch (s->w.scale_mode) {
    case QBLAS_SCALE_PER_TENSOR: return s->scales[0];
    case QBLAS_SCALE_PER_ROW: return s->scales[n];
    case QBLAS_SCALE_BLOCK_128X128: return s->scales[(n / 128) * ((s->k + 127) / 128) + kb];
    default: return 1.0;
    }
}

static double x_scale(const qblas_act_t *x, int64_t k, int64_t m, int64_t kb)
{
    switch (x->scale_mode) {
    case QBLAS_SCALE_PER_TENSOR: return x->scales[0];
    case QBLAS_SCALE_PER_ROW: return x->scales[m];
    case QBLAS_SCALE_BLOCK_1X128: return x->scales[m * ((k + 127) / 128) + kb];
    default: return 1.0;
    }
}

static qblas_handle_t cpu_threads(int nt)
{
    qblas_handle_t h = qbt_cpu();
    QBT_OK(qblas_set_num_threads(h, nt));
    return h;
}

/* Reference Y and its error bound for one output. A is the magnitude the fp32
 * evaluation works on (before the bias) and rel its relative error bound. */
typedef struct {
    double ref, A, rel;
} yref;

/* f16/bf16: products are exact in fp32 (11 or 8 bit significands), the fp32
 * sum of k of them errs by <= gamma_k sum |x w|. */
static yref ref_float(const void *x, qblas_dtype_t xt, int64_t ldx, const sw *s, int64_t m, int64_t n)
{
    yref y = {0, 0, qbt_gamma32(s->k)};
    for (int64_t i = 0; i < s->k; i++) {
        double p = qbt_get(xt, x, m * ldx + i) * s->ref[n * s->k + i];
        y.ref += p, y.A += fabs(p);
    }
    return y;
}

/* i8: exact integer dot; fl(fl(fl(acc) * sx) * sw): three roundings, (1+u)^3 - 1. */
static yref ref_int8(const qblas_act_t *x, const sw *s, int64_t m, int64_t n)
{
    int64_t acc = 0;
    int32_t zx = x->zeros ? x->zeros[m] : 0;
    for (int64_t i = 0; i < s->k; i++) acc += (int64_t)(((const int8_t *)x->data)[m * x->ld + i] - zx) * (int64_t)s->ref[n * s->k + i];
    double P = (double)acc * x_scale(x, s->k, m, 0) * w_scale(s, n, 0);
    return (yref){P, fabs(P), pow(1 + QBT_U32, 3) - 1};
}

/* fp8: products exact in fp32 (4/3-bit significands). Per-tensor/row: one fp32
 * sum (gamma_k) then two products: (1+gamma_k)(1+u)^2 - 1. Block: fp32 sums of
 * 128 (gamma_128), two products each, then a fp32 sum of the nb block terms:
 * (1+gamma_128)(1+u)^2(1+gamma_nb) - 1, relative to sum_b |sx sw| sum |x w|. */
static yref ref_fp8(const qblas_act_t *x, const sw *s, int64_t m, int64_t n)
{
    bool block = x->scale_mode == QBLAS_SCALE_BLOCK_1X128;
    int64_t nb = block ? (s->k + 127) / 128 : 1, bl = block ? 128 : s->k;
    yref y = {0, 0, 0};
    for (int64_t b = 0; b < nb; b++) {
        double sc = x_scale(x, s->k, m, b) * w_scale(s, n, b), part = 0, apart = 0;
        for (int64_t i = b * bl; i < s->k && i < (b + 1) * bl; i++) {
            double p = qbt_get(x->dtype, x->data, m * x->ld + i) * s->ref[n * s->k + i];
            part += p, apart += fabs(p);
        }
        y.ref += sc * part, y.A += fabs(sc) * apart;
    }
    y.rel = block ? (1 + qbt_gamma32(128)) * pow(1 + QBT_U32, 2) * (1 + qbt_gamma32(nb)) - 1
                  : (1 + qbt_gamma32(s->k)) * pow(1 + QBT_U32, 2) - 1;
    return y;
}

/* Bound on |got - (ref + b)|: the fp32 evaluation rel * A; the bias add rounds
 * once more, u (A (1 + rel) + |b|); the double reference 2^-50 (A + |b|); the
 * store to f16/bf16 half an ulp of a value of magnitude <= |ref + b| + error. */
static double tol_of(yref y, double b, int has_bias, qblas_dtype_t ydt)
{
    double e = y.rel * y.A + 0x1p-50 * (y.A + fabs(b));
    if (has_bias) e += QBT_U32 * (y.A * (1 + y.rel) + fabs(b));
    if (ydt != QBLAS_DTYPE_F32) e += qbt_half_ulp(ydt, fabs(y.ref + b) + e);
    return e;
}

typedef struct {
    qblas_dtype_t wt, xt;
    qblas_scale_mode_t xmode, wmode;
    int asym;
} gcase;

static const qblas_dtype_t ydts[3] = {QBLAS_DTYPE_F32, QBLAS_DTYPE_F16, QBLAS_DTYPE_BF16};

static bool padding_poisoned(const uint8_t *y, int64_t m, int64_t n, int64_t ldy, size_t es)
{
    for (int64_t r = 0; r < m; r++)
        for (size_t b = (size_t)n * es; b < (size_t)ldy * es; b++)
            if (y[(size_t)r * ldy * es + b] != 0xFF) return false;
    return true;
}

static void gemm_case(qblas_handle_t h1, gcase c, int64_t m, int64_t n, int64_t k, qblas_dtype_t ydt,
                      int has_bias, const char *want_kernel, uint64_t stream)
{
    qbt_rng r = qbt_rng_make(stream);
    sw s;
    sw_make(&s, &r, c.wt, n, k, c.wmode);
    int64_t ldx = k + 3, ldy = n + 2;
    size_t xes = esz(c.xt), yes = esz(ydt), ybytes = (size_t)(m * ldy) * yes;
    void *xd = qbt_alloc((size_t)(m * ldx) * xes);
    for (int64_t i = 0; i < m * ldx; i++) {
        if (c.xt == QBLAS_DTYPE_I8)
            ((int8_t *)xd)[i] = (int8_t)qbt_int(&r, -128, 127);
        else
            put(c.xt, xd, i, qbt_uniform(&r, -2.0, 2.0));
    }
    int64_t nsx = c.xmode == QBLAS_SCALE_PER_TENSOR ? 1 : c.xmode == QBLAS_SCALE_PER_ROW ? m
                  : c.xmode == QBLAS_SCALE_BLOCK_1X128 ? m * ((k + 127) / 128) : 0;
    float *sx = nsx ? qbt_alloc((size_t)nsx * 4) : NULL;
    for (int64_t i = 0; i < nsx; i++) sx[i] = (float)qbt_uniform(&r, 0.01, 0.1);
    int32_t *zx = c.asym ? qbt_alloc((size_t)m * 4) : NULL;
    for (int64_t i = 0; c.asym && i < m; i++) zx[i] = (int32_t)qbt_int(&r, -128, 127);
    qblas_act_t x = {c.xt, xd, ldx, c.xmode, sx, zx};
    void *bias = has_bias ? qbt_alloc((size_t)n * yes) : NULL;
    if (bias) qbt_fill(&r, ydt, bias, n, -2.0, 2.0);

    void *y1 = qbt_alloc(ybytes);
    char kernel[QBLAS_KERNEL_NAME_MAX];
    qbt_poison(y1, ybytes);
    QBT_OK(qbt_gemm(h1, m, &x, &s.w, bias, ydt, y1, ldy, kernel));
    ck_assert_str_eq(kernel, want_kernel);
    for (int64_t mm = 0; mm < m; mm++)
        for (int64_t nn = 0; nn < n; nn++) {
            yref yr = c.xt == QBLAS_DTYPE_I8 ? ref_int8(&x, &s, mm, nn)
                      : is_fp8(c.xt)        ? ref_fp8(&x, &s, mm, nn)
                                            : ref_float(xd, c.xt, ldx, &s, mm, nn);
            double b = bias ? qbt_get(ydt, bias, nn) : 0.0, tol = tol_of(yr, b, has_bias, ydt);
            double got = qbt_get(ydt, y1, mm * ldy + nn);
            QBT_EXPECT(qbt_close(got, yr.ref + b, tol), "%s m=%lld n=%lld k=%lld y[%lld][%lld] = %.9g, ref %.9g, tol %.3g [seed %llu]",
                   kernel, (long long)m, (long long)n, (long long)k, (long long)mm, (long long)nn, got, yr.ref + b, tol,
                   (unsigned long long)qbt_seed);
        }
    ck_assert_msg(padding_poisoned(y1, m, n, ldy, yes), "ldy padding written");

    /* more threads and a prepacked weight give the same bits */
    qbt_gemm_invariants(h1, m, &x, &s.w, bias, ydt, y1, ldy, ybytes);

    qbt_free(y1);
    qbt_free(bias);
    qbt_free(zx);
    qbt_free(sx);
    qbt_free(xd);
    sw_free(&s);
}

/* Shapes M {1,3,17} x N {1,7,33} x K {12, 132, 256} (k % 8 == 4 twice), y dtype and bias cycling. */
static void gemm_sweep(gcase c, const char *want_kernel, uint64_t stream)
{
    static const int64_t ms[] = {1, 3, 17}, ns[] = {1, 7, 33}, ks[] = {12, 132, 256};
    qblas_handle_t h1 = cpu_threads(1);
    int i = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int d = 0; d < 3; d++, i++)
                gemm_case(h1, c, ms[a], ns[b], ks[d], ydts[i % 3], (i / 3) % 2, want_kernel, stream + (uint64_t)i);
    qblas_destroy(h1);
}

START_TEST(gemm_f16_bf16)
{
    gemm_sweep((gcase){QBLAS_DTYPE_F16, QBLAS_DTYPE_F16, QBLAS_SCALE_NONE, QBLAS_SCALE_NONE, 0}, "cpu_ref_sparse24_f16", 1000);
    gemm_sweep((gcase){QBLAS_DTYPE_BF16, QBLAS_DTYPE_BF16, QBLAS_SCALE_NONE, QBLAS_SCALE_NONE, 0}, "cpu_ref_sparse24_bf16", 2000);
}
END_TEST

START_TEST(gemm_int8)
{
    const qblas_dtype_t I8 = QBLAS_DTYPE_I8;
    gemm_sweep((gcase){I8, I8, QBLAS_SCALE_PER_TENSOR, QBLAS_SCALE_PER_TENSOR, 0}, "cpu_ref_sparse24_i8", 3000);
    gemm_sweep((gcase){I8, I8, QBLAS_SCALE_PER_ROW, QBLAS_SCALE_PER_ROW, 0}, "cpu_ref_sparse24_i8", 4000);
    gemm_sweep((gcase){I8, I8, QBLAS_SCALE_PER_ROW, QBLAS_SCALE_PER_TENSOR, 1}, "cpu_ref_sparse24_i8_asym", 5000);
}
END_TEST

START_TEST(gemm_fp8)
{
    const qblas_dtype_t E4 = QBLAS_DTYPE_E4M3, E5 = QBLAS_DTYPE_E5M2;
    gemm_sweep((gcase){E4, E4, QBLAS_SCALE_PER_TENSOR, QBLAS_SCALE_PER_TENSOR, 0}, "cpu_ref_sparse24_fp8_e4m3xe4m3", 6000);
    gemm_sweep((gcase){E5, E4, QBLAS_SCALE_PER_ROW, QBLAS_SCALE_PER_ROW, 0}, "cpu_ref_sparse24_fp8_e4m3xe5m2", 7000);
    gemm_sweep((gcase){E4, E5, QBLAS_SCALE_BLOCK_1X128, QBLAS_SCALE_BLOCK_128X128, 0},
               "cpu_ref_sparse24_fp8_e5m2xe4m3_block128", 8000);
    gemm_sweep((gcase){E4, QBLAS_DTYPE_E4M3FNUZ, QBLAS_SCALE_PER_ROW, QBLAS_SCALE_PER_TENSOR, 0},
               "cpu_ref_sparse24_fp8_e4m3fnuzxe4m3", 9000);
    /* more than 128 weight rows: block scales of the second row block */
    qblas_handle_t h1 = cpu_threads(1);
    gemm_case(h1, (gcase){E5, E5, QBLAS_SCALE_BLOCK_1X128, QBLAS_SCALE_BLOCK_128X128, 0}, 5, 130, 260,
              QBLAS_DTYPE_F32, 1, "cpu_ref_sparse24_fp8_e5m2xe5m2_block128", 9500);
    qblas_destroy(h1);
}
END_TEST

/* Content checks the oracle makes itself: INVALID_VALUE and Y untouched. */
static void expect_invalid(qblas_handle_t h, const qblas_act_t *x, const qblas_weight_t *w, int64_t m)
{
    size_t ybytes = (size_t)(m * w->n) * 4, wsb = (size_t)1 << 20;
    float *y = qbt_alloc(ybytes);
    void *ws = qbt_alloc(wsb);
    void *snap = qbt_snapshot(y, ybytes);
    qblas_kernel_info_t info;
    QBT_STATUS(qblas_gemm_query(h, m, w->n, w->k, x, w, QBLAS_DTYPE_F32, &info), QBLAS_STATUS_INVALID_VALUE);
    QBT_STATUS(qblas_gemm(h, m, w->n, w->k, x, w, NULL, QBLAS_DTYPE_F32, y, w->n, ws, wsb, NULL),
               QBLAS_STATUS_INVALID_VALUE);
    ck_assert_msg(qbt_unchanged(y, snap, ybytes), "a failing GEMM wrote Y");
    free(snap);
    qbt_free(ws);
    qbt_free(y);
}

START_TEST(gemm_content_checks)
{
    qblas_handle_t h = qbt_cpu();
    qbt_rng r = qbt_rng_make(60);
    const int64_t m = 3, n = 7, k = 20;
    sw s;
    sw_make(&s, &r, QBLAS_DTYPE_F16, n, k, QBLAS_SCALE_NONE);
    uint16_t *xd = qbt_alloc((size_t)(m * k) * 2);
    qbt_fill(&r, QBLAS_DTYPE_F16, xd, m * k, -1, 1);
    qblas_act_t x = {QBLAS_DTYPE_F16, xd, k, QBLAS_SCALE_NONE, NULL, NULL};
    s.meta[6 * 3 + 2] = (uint8_t)((s.meta[6 * 3 + 2] & 0xF0) | 0x6); /* last row, group 4: i0 2 >= i1 1 */
    expect_invalid(h, &x, &s.w, m);
    /* the host dequantizer runs the same check */
    float *d = qbt_alloc((size_t)(n * k) * 4);
    void *dsnap = qbt_snapshot(d, qbt_size(d));
    QBT_STATUS(qblas_dequantize_weight(&s.w, QBLAS_DTYPE_F32, d, k), QBLAS_STATUS_INVALID_VALUE);
    ck_assert_msg(qbt_unchanged(d, dsnap, qbt_size(d)), "a failing dequantize wrote");
    free(dsnap);
    qbt_free(d);
    sw_free(&s);
    qbt_free(xd);

    /* i8 zero points outside -128..127 (the INT8 check) */
    sw_make(&s, &r, QBLAS_DTYPE_I8, n, k, QBLAS_SCALE_PER_TENSOR);
    int8_t *xi = qbt_alloc((size_t)(m * k));
    float sx[3] = {0.1f, 0.2f, 0.3f};
    int32_t zx[3] = {0, -129, 5};
    qblas_act_t xa = {QBLAS_DTYPE_I8, xi, k, QBLAS_SCALE_PER_ROW, sx, zx};
    expect_invalid(h, &xa, &s.w, m);
    sw_free(&s);
    qbt_free(xi);
    qblas_destroy(h);
}
END_TEST

/* ---- quantizer and dequantizer ---- */

static qblas_weight_t sparse_desc(qblas_dtype_t t, int64_t n, int64_t k, qblas_scale_mode_t mode, void *vals,
                                  void *meta, void *scales)
{
    return (qblas_weight_t){.format = QBLAS_WFORMAT_SPARSE24, .layout = QBLAS_LAYOUT_CANONICAL, .dtype = t, .n = n,
                            .k = k, .data = vals, .meta = meta, .scale_mode = mode,
                            .scale_dtype = QBLAS_DTYPE_F32, .scales = scales};
}

/* A random 2:4 f32 source: random dense, pruned by magnitude. */
static float *sparse_src(qbt_rng *r, int64_t n, int64_t k)
{
    float *src = qbt_alloc((size_t)(n * k) * 4);
    qbt_fill(r, QBLAS_DTYPE_F32, src, n * k, -3.0, 3.0);
    QBT_OK(qblas_sparse24_prune(n, k, QBLAS_DTYPE_F32, src, k, src, k));
    return src;
}

START_TEST(quantize_rejects_dense_source)
{
    const int64_t n = 3, k = 20, mb = 3;
    qbt_rng r = qbt_rng_make(70);
    float *src = sparse_src(&r, n, k);
    /* a NaN in place of a zero of the last group makes a third non-zero */
    int64_t at = 2 * k + 16;
    while (src[at] != 0.0f) at++;
    src[at] = NAN;
    for (int d = 0; d < 5; d++) {
        qblas_dtype_t t = sp_dtypes[d];
        void *vals = qbt_alloc((size_t)(n * k / 2) * esz(t));
        uint8_t *meta = qbt_alloc((size_t)(n * mb));
        float *scales = qbt_alloc(4);
        qblas_scale_mode_t mode = esz(t) == 2 ? QBLAS_SCALE_NONE : QBLAS_SCALE_PER_TENSOR;
        qblas_weight_t w = sparse_desc(t, n, k, mode, vals, meta, mode ? scales : NULL);
        void *sv = qbt_snapshot(vals, qbt_size(vals)), *sm = qbt_snapshot(meta, qbt_size(meta)),
             *ss = qbt_snapshot(scales, 4);
        QBT_STATUS(qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, k, &w), QBLAS_STATUS_INVALID_VALUE);
        ck_assert(qbt_unchanged(vals, sv, qbt_size(vals)) && qbt_unchanged(meta, sm, qbt_size(meta)) &&
                  qbt_unchanged(scales, ss, 4));
        free(sv);
        free(sm);
        free(ss);
        qbt_free(vals);
        qbt_free(meta);
        qbt_free(scales);
    }
    qbt_free(src);
}
END_TEST

/* f16/bf16: the values are the rounded source; dequant gives them back. */
START_TEST(quantize_float16)
{
    const int64_t n = 7, k = 644, mb = (k + 7) / 8; /* k > 512 and k % 8 == 4 */
    qbt_rng r = qbt_rng_make(80);
    float *src = sparse_src(&r, n, k);
    for (int d = 0; d < 2; d++) {
        qblas_dtype_t t = sp_dtypes[d];
        uint16_t *rounded = qbt_alloc((size_t)(n * k) * 2), *want_vals = qbt_alloc((size_t)(n * k / 2) * 2);
        uint16_t *vals = qbt_alloc((size_t)(n * k / 2) * 2);
        uint8_t *meta = qbt_alloc((size_t)(n * mb)), *want_meta = qbt_alloc((size_t)(n * mb));
        for (int64_t i = 0; i < n * k; i++) put(t, rounded, i, src[i]);
        ref_compress(t, n, k, rounded, k, want_vals, want_meta);
        qblas_weight_t w = sparse_desc(t, n, k, QBLAS_SCALE_NONE, vals, meta, NULL);
        qbt_poison(vals, qbt_size(vals));
        qbt_poison(meta, qbt_size(meta));
        QBT_OK(qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, k, &w));
        ck_assert(memcmp(vals, want_vals, qbt_size(vals)) == 0);
        ck_assert(memcmp(meta, want_meta, qbt_size(meta)) == 0);
        float *deq = qbt_alloc((size_t)(n * k) * 4);
        qbt_poison(deq, qbt_size(deq));
        QBT_OK(qblas_dequantize_weight(&w, QBLAS_DTYPE_F32, deq, k));
        for (int64_t i = 0; i < n * k; i++)
            QBT_EXPECT(qbt_close(deq[i], qbt_get(t, rounded, i), 0.0), "dequant element %lld", (long long)i);
        qbt_free(deq);
        qbt_free(rounded);
        qbt_free(want_vals);
        qbt_free(vals);
        qbt_free(meta);
        qbt_free(want_meta);
    }
    qbt_free(src);
}
END_TEST

/* i8/fp8: exactly the dense INT8/FP8 quantizer (scales over the dense matrix),
 * then compressed; dequant equals the dense dequant. */
START_TEST(quantize_int8_fp8)
{
    const int64_t n = 130, k = 644, mb = (k + 7) / 8;
    static const qblas_dtype_t ts[3] = {QBLAS_DTYPE_I8, QBLAS_DTYPE_E4M3, QBLAS_DTYPE_E5M2};
    static const qblas_scale_mode_t modes[3] = {QBLAS_SCALE_PER_TENSOR, QBLAS_SCALE_PER_ROW, QBLAS_SCALE_BLOCK_128X128};
    qbt_rng r = qbt_rng_make(90);
    float *src = sparse_src(&r, n, k);
    for (int d = 0; d < 3; d++)
        for (int md = 0; md < 3; md++) {
            qblas_dtype_t t = ts[d];
            qblas_scale_mode_t mode = modes[md];
            if (t == QBLAS_DTYPE_I8 && mode == QBLAS_SCALE_BLOCK_128X128) continue;
            int64_t ns = mode == QBLAS_SCALE_PER_TENSOR ? 1 : mode == QBLAS_SCALE_PER_ROW ? n : 2 * 6;
            uint8_t *dq = qbt_alloc((size_t)(n * k)), *want_vals = qbt_alloc((size_t)(n * k / 2));
            uint8_t *vals = qbt_alloc((size_t)(n * k / 2)), *meta = qbt_alloc((size_t)(n * mb));
            uint8_t *want_meta = qbt_alloc((size_t)(n * mb));
            float *dscales = qbt_alloc((size_t)ns * 4), *scales = qbt_alloc((size_t)ns * 4);
            qblas_weight_t dw = {.format = t == QBLAS_DTYPE_I8 ? QBLAS_WFORMAT_INT8 : QBLAS_WFORMAT_FP8,
                                 .dtype = t, .n = n, .k = k, .data = dq, .scale_mode = mode,
                                 .scale_dtype = QBLAS_DTYPE_F32, .scales = dscales};
            QBT_OK(qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, k, &dw));
            ref_compress(t, n, k, dq, k, want_vals, want_meta);
            qblas_weight_t w = sparse_desc(t, n, k, mode, vals, meta, scales);
            qbt_poison(vals, qbt_size(vals));
            qbt_poison(meta, qbt_size(meta));
            qbt_poison(scales, qbt_size(scales));
            QBT_OK(qblas_quantize_weight(n, k, QBLAS_DTYPE_F32, src, k, &w));
            ck_assert_msg(memcmp(scales, dscales, (size_t)ns * 4) == 0, "%s mode %d: scales", qblas_dtype_name(t), mode);
            ck_assert_msg(memcmp(vals, want_vals, qbt_size(vals)) == 0, "%s mode %d: values", qblas_dtype_name(t), mode);
            ck_assert_msg(memcmp(meta, want_meta, qbt_size(meta)) == 0, "%s mode %d: meta", qblas_dtype_name(t), mode);

            float *dd = qbt_alloc((size_t)(n * k) * 4), *sd = qbt_alloc((size_t)(n * k) * 4);
            qbt_poison(sd, qbt_size(sd));
            QBT_OK(qblas_dequantize_weight(&dw, QBLAS_DTYPE_F32, dd, k));
            QBT_OK(qblas_dequantize_weight(&w, QBLAS_DTYPE_F32, sd, k));
            ck_assert_msg(memcmp(dd, sd, qbt_size(sd)) == 0, "%s mode %d: dequant differs from the dense one",
                          qblas_dtype_name(t), mode);
            qbt_free(dd);
            qbt_free(sd);
            qbt_free(dq);
            qbt_free(want_vals);
            qbt_free(vals);
            qbt_free(meta);
            qbt_free(want_meta);
            qbt_free(dscales);
            qbt_free(scales);
        }
    qbt_free(src);
}
END_TEST

Suite *qbt_suite(void)
{
    Suite *s = suite_create("sparse24");
    /* one case per test, so CK_RUN_CASE can pick one */
    const struct { const char *name; const TTest *fn; } tests[] = {
        {"compress_all_masks", compress_all_masks},
        {"meta_layout", meta_layout},
        {"round_trip", round_trip},
        {"prune", prune},
        {"bad_arguments", bad_arguments},
        {"gemm_f16_bf16", gemm_f16_bf16},
        {"gemm_int8", gemm_int8},
        {"gemm_fp8", gemm_fp8},
        {"gemm_content_checks", gemm_content_checks},
        {"quantize_rejects_dense_source", quantize_rejects_dense_source},
        {"quantize_float16", quantize_float16},
        {"quantize_int8_fp8", quantize_int8_fp8},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        TCase *tc = tcase_create(tests[i].name);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, tests[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}
