/* hip_table.hip - the table of one gfx target's launchers, qb_hip_kernels_<target>
 * (hip_kernels.h; QB_HIP_TABLE, hip_names.h), the only name the host code
 * (src/hip/hip_*.c) will call the kernels by. The AMD launchers (hip_launchers.h)
 * have the fields' signatures and go in as they are; the shared sources'
 * (src/cuda, renamed per target by hip_names.h) return a hipError_t and take
 * a hipStream_t, so each gets a one-line adapter here, as does the 2:4 dense
 * GEMM, whose launchers are split by the weight's family. Host code only:
 * this object holds no kernel, and its device pass compiles nothing (a
 * constant table of host function pointers would otherwise be emitted for
 * the device too, referencing host functions). */
#include "../cuda/cuda_kernels.h"       /* qact, W4A16 aux, device-side checks */
#include "../cuda/kernels_attention.h"  /* kv append, decode, merge */
#include "../cuda/kernels_fp8.h"        /* fp8 split-K reduce */
#include "../cuda/kernels_sparse24.h"   /* 2:4 prepack */
#include "../cuda/kernels_w4a8.h"       /* W4A8 check, reduce */
#include "hip_kernels.h"
#include "hip_launchers.h"
#include "qblas/qblas_types.h"

#if !defined(__HIP_DEVICE_COMPILE__)

namespace qb {
namespace amd {
namespace {

hipStream_t as_stream(void *s) { return static_cast<hipStream_t>(s); }

/* ---- shared sources: hipError_t / hipStream_t -> the table's int / void * ---- */
int qact(const qb_qact_kparams *p, int cus, void *s) { return (int)qb_qact_launch(p, cus, as_stream(s)); }
int kv_append(const qb_kv_append_kparams *p, void *s) { return (int)qb_kv_append_launch(p, as_stream(s)); }
int w4a16_gather_x(const void *x, long long ldx, const int32_t *perm, int m, int k, void *out, int ldo, void *s)
{
    return (int)qb_w4a16_gather_x(x, ldx, perm, m, k, out, ldo, as_stream(s));
}
int w4a16_reduce(const qb_w4a16_kparams *p, void *s) { return (int)qb_w4a16_reduce(p, as_stream(s)); }
int w4a8_check(const uint8_t *codes, const int8_t *s2, const uint8_t *z, int n, int k, int g128,
               unsigned long long *verdict, void *s)
{
    return (int)qb_w4a8_check(codes, s2, z, n, k, g128, verdict, as_stream(s));
}
int w4a8_reduce(const qb_w4a8_kparams *p, void *s) { return (int)qb_w4a8_reduce(p, as_stream(s)); }
int fp8_reduce(const qb_fp8_kparams *p, void *s) { return (int)qb_fp8_splitk_reduce(p, as_stream(s)); }
int sp24_check_meta(const uint8_t *meta, int n, int k, unsigned long long *verdict, void *s)
{
    return (int)qb_sp24_check_meta(meta, n, k, verdict, as_stream(s));
}
int sp24_colsum(const int8_t *vals, int n, int k, int np, int32_t *out, const unsigned long long *verdict, void *s)
{
    return (int)qb_sp24_colsum(vals, n, k, np, out, verdict, as_stream(s));
}
int attn_merge(const qb_attn_kparams *p, int num_splits, void *ws, void *s)
{
    return (int)qb_attn_decode_merge(p, num_splits, ws, as_stream(s));
}
int w4a16_check(const uint8_t *zeros, const int32_t *g_idx, int n, int k, int groups, int gs,
                unsigned long long *verdict, int32_t *counts, void *s)
{
    return (int)qb_w4a16_check(zeros, g_idx, n, k, groups, gs, verdict, counts, as_stream(s));
}
int w4a16_act_order(const int32_t *g_idx, int k, int groups, int gs, int32_t *cursor, int32_t *perm,
                    const unsigned long long *verdict, void *s)
{
    return (int)qb_w4a16_act_order(g_idx, k, groups, gs, cursor, perm, verdict, as_stream(s));
}
int dev_take(qb_dev_block *b, void *s) { return (int)qb_dev_take(b, as_stream(s)); }
int dev_publish(const unsigned long long *verdict, unsigned long long *status, void *s)
{
    return (int)qb_dev_publish(verdict, status, as_stream(s));
}
int dev_check_i8_zeros(const int32_t *zx, long long count, unsigned long long *verdict, unsigned long long *status,
                       void *s)
{
    return (int)qb_dev_check_i8_zeros(zx, count, verdict, status, as_stream(s));
}
int dev_copy(void *dst, const void *src, size_t bytes, const unsigned long long *verdict, void *s)
{
    return (int)qb_dev_copy(dst, src, bytes, verdict, as_stream(s));
}
int attn_decode(const qb_attn_kparams *p, int group_tile, int num_splits, void *ws, void *s)
{
    return (int)qb_attn_decode_launch(p, group_tile, num_splits, ws, as_stream(s));
}

/* ---- the 2:4 dense path: the launcher of the weight's family ---- */
int sp24_dense(int shape, int w_dtype, int x_dtype, int block_scales, const qb_sp24_kparams *p, void *s)
{
    switch (w_dtype) {
    case QBLAS_DTYPE_F16:
    case QBLAS_DTYPE_BF16: return QB_HIP_SYM(sp24_dense_f16)(shape, w_dtype, p, s); /* X has W's dtype */
    case QBLAS_DTYPE_I8: return QB_HIP_SYM(sp24_dense_i8)(shape, p, s);
    case QBLAS_DTYPE_E4M3:
    case QBLAS_DTYPE_E5M2: return QB_HIP_SYM(sp24_dense_fp8)(shape, w_dtype, x_dtype, block_scales, p, s);
    default: return (int)hipErrorInvalidValue;
    }
}

#define QB_HIP_STR_(x) #x
#define QB_HIP_STR(x) QB_HIP_STR_(x)

/* The table, each field set by name (positional braces would leave a
 * missed trailing field NULL without a word; tests/hip/test_hip_table.c
 * checks that none is NULL). Constant-initialized: no code runs at load. */
constexpr qb_hip_kernels make_table()
{
    qb_hip_kernels t{};
    t.target = QB_HIP_STR(QB_HIP_TARGET);
    t.has_fp8 = QB_HIP_GFX942; /* CDNA3's fp8 MFMA */
    t.has_smfmac = 0;          /* no SMFMAC kernel yet: the 2:4 weights take the dense path */
    t.qact = qact;
    t.kv_append = kv_append;
    t.w4a16_gather_x = w4a16_gather_x;
    t.w4a16_reduce = w4a16_reduce;
    t.w4a8_check = w4a8_check;
    t.w4a8_reduce = w4a8_reduce;
    t.fp8_reduce = fp8_reduce;
    t.sp24_check_meta = sp24_check_meta;
    t.sp24_colsum = sp24_colsum;
    t.attn_merge = attn_merge;
    t.w4a16_check = w4a16_check;
    t.w4a16_act_order = w4a16_act_order;
    t.dev_take = dev_take;
    t.dev_publish = dev_publish;
    t.dev_check_i8_zeros = dev_check_i8_zeros;
    t.dev_copy = dev_copy;
    t.pack_u4 = QB_HIP_SYM(pack_u4);
    t.pack_w4a8_params = QB_HIP_SYM(pack_w4a8_params);
    t.pack_rows = QB_HIP_SYM(pack_rows);
    t.pack_fp8 = QB_HIP_SYM(pack_fp8);
    t.sp24_decompress = QB_HIP_SYM(sp24_decompress);
    t.w4a16 = QB_HIP_SYM(w4a16);
    t.int8 = QB_HIP_SYM(int8);
    t.w4a8 = QB_HIP_SYM(w4a8);
    t.fp8 = QB_HIP_SYM(fp8);
    t.sp24_dense = sp24_dense;
    t.attn_decode = attn_decode;
    return t;
}

} // namespace
} // namespace amd
} // namespace qb

extern "C" const qb_hip_kernels QB_HIP_TABLE = qb::amd::make_table();

#endif /* !__HIP_DEVICE_COMPILE__ */
