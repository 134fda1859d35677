/* hip_stub.c - a HIP runtime of one pretend device, and a launcher table per
 * gfx target that records its calls and checks what they would write
 * (tests/hip/test_hip_dispatch.c): the HIP backend's host dispatch runs
 * without an AMD GPU, no kernel runs. Host memory stands for device memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hip_stub.h"

hip_stub_state stub = {.arch = "gfx942:sramecc+:xnack-", .cus = 304};

/* ---- the runtime ---- */
hipError_t hipGetDeviceCount(int *n) { *n = 1; return hipSuccess; }
hipError_t hipGetDeviceProperties(hipDeviceProp_t *p, int d)
{
    (void)d;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "AMD Instinct (stub)");
    snprintf(p->gcnArchName, sizeof p->gcnArchName, "%s", stub.arch);
    p->major = 9, p->minor = strstr(stub.arch, "942") ? 4 : 0;
    p->multiProcessorCount = stub.cus;
    return hipSuccess;
}
hipError_t hipGetLastError(void) { return hipSuccess; }
const char *hipGetErrorString(hipError_t e) { (void)e; return "stub error"; }
const char *hipGetErrorName(hipError_t e) { (void)e; return "hipErrorStub"; }
hipError_t hipSetDevice(int d) { return d == 0 ? hipSuccess : hipErrorInvalidDevice; }
hipError_t hipGetDevice(int *d) { *d = 0; return hipSuccess; }
hipError_t hipDeviceGetAttribute(int *v, hipDeviceAttribute_t a, int d)
{
    (void)d;
    *v = a == hipDeviceAttributeMultiprocessorCount ? stub.cus : 0;
    return hipSuccess;
}
hipError_t hipMalloc(void **p, size_t n)
{
    *p = calloc(1, n);
    stub.device_words = *p, stub.device_words_n = n; /* the handle's words: the backend's own to write */
    return *p ? hipSuccess : hipErrorOutOfMemory;
}
hipError_t hipFree(void *p) { free(p); return hipSuccess; }
hipError_t hipMemset(void *p, int v, size_t n) { memset(p, v, n); return hipSuccess; }
hipError_t hipDeviceSynchronize(void) { return hipSuccess; }
hipError_t hipStreamSynchronize(hipStream_t s) { (void)s; return hipSuccess; }
hipError_t hipStreamIsCapturing(hipStream_t s, hipStreamCaptureStatus *c)
{
    (void)s;
    *c = stub.capturing ? hipStreamCaptureStatusActive : hipStreamCaptureStatusNone;
    return hipSuccess;
}
hipError_t hipDriverGetVersion(int *v) { *v = 60342134; return hipSuccess; }
hipError_t hipRuntimeGetVersion(int *v) { *v = 60342134; return hipSuccess; }

/* Asynchronous operations: stream-ordered writes, checked like the kernels'. */
hipError_t hipMemsetAsync(void *p, int v, size_t n, hipStream_t s)
{
    (void)s;
    stub.async_ops++;
    stub_write(p, n, "hipMemsetAsync");
    memset(p, v, n);
    return hipSuccess;
}
hipError_t hipMemcpyAsync(void *d, const void *src, size_t n, hipMemcpyKind k, hipStream_t s)
{
    (void)s;
    stub.async_ops++;
    if (k != hipMemcpyDeviceToHost) stub_write(d, n, "hipMemcpyAsync");
    memcpy(d, src, n);
    return hipSuccess;
}
hipError_t hipMemcpy2DAsync(void *d, size_t dp, const void *src, size_t sp, size_t w, size_t h, hipMemcpyKind k,
                            hipStream_t s)
{
    (void)s, (void)k;
    stub.async_ops++;
    for (size_t r = 0; r < h; r++) {
        stub_write((char *)d + r * dp, w, "hipMemcpy2DAsync");
        memcpy((char *)d + r * dp, (const char *)src + r * sp, w);
    }
    return hipSuccess;
}

/* ---- what a call may write ---- */
void stub_allow(void *p, size_t n)
{
    if (stub.nallowed < STUB_RANGES) stub.allowed[stub.nallowed].p = p, stub.allowed[stub.nallowed++].n = n;
}
void stub_reset(void)
{
    stub.nallowed = 0;
    stub.bad_writes = 0;
    memset(stub.calls, 0, sizeof stub.calls);
}
void stub_write(void *p, size_t n, const char *who)
{
    if ((char *)p >= (char *)stub.device_words && (char *)p + n <= (char *)stub.device_words + stub.device_words_n)
        return;
    for (int i = 0; i < stub.nallowed; i++)
        if ((char *)p >= (char *)stub.allowed[i].p && (char *)p + n <= (char *)stub.allowed[i].p + stub.allowed[i].n) {
            memset(p, 0x5A, n);
            return;
        }
    stub.bad_writes++;
    fprintf(stderr, "stub: %s writes %zu bytes at %p outside the call's buffers\n", who, n, p);
}
static void write_y(void *y, long long ldy, int m, int n, int dt)
{
    const size_t es = dt == QBLAS_DTYPE_F32 ? 4 : 2;
    stub_write(y, ((size_t)(m - 1) * (size_t)ldy + (size_t)n) * es, "GEMM output");
}

/* ---- the launchers ---- */
#define CALL(f) (stub.calls[STUB_##f]++)
static int qact(const qb_qact_kparams *p, int cus, void *s)
{
    (void)s;
    CALL(QACT);
    stub.last_cus = cus;
    stub_write(p->q, (size_t)(p->m - 1) * (size_t)p->ldq + (size_t)p->k, "qact");
    return 0;
}
static int kv_append(const qb_kv_append_kparams *p, void *s) { (void)p, (void)s; CALL(KV_APPEND); return 0; }
static int gather(const void *x, long long ldx, const int32_t *perm, int m, int k, void *out, int ldo, void *s)
{
    (void)s, (void)perm;
    CALL(GATHER);
    stub.last_gather_k = k, stub.last_gather_ldo = ldo;
    for (int r = 0; r < m; r++) {
        stub_write((uint16_t *)out + (size_t)r * ldo, (size_t)k * 2, "gather_x");
        memcpy((uint16_t *)out + (size_t)r * ldo, (const uint16_t *)x + r * ldx, (size_t)k * 2);
    }
    return 0;
}
static int w4a16_reduce(const qb_w4a16_kparams *p, void *s)
{
    (void)s;
    CALL(W4A16_REDUCE);
    write_y(p->y, p->ldy, p->m, p->n, p->y_dtype);
    return 0;
}
static int w4a8_reduce(const qb_w4a8_kparams *p, void *s)
{
    (void)s;
    CALL(W4A8_REDUCE);
    write_y(p->y, p->ldy, p->m, p->n, p->y_dtype);
    return 0;
}
static int fp8_reduce(const qb_fp8_kparams *p, void *s) { (void)p, (void)s; CALL(FP8_REDUCE); return 0; }
static int w4a8_check(const uint8_t *c, const int8_t *s2, const uint8_t *z, int n, int k, int g, unsigned long long *f,
                      void *s)
{
    (void)c, (void)s2, (void)z, (void)n, (void)k, (void)g, (void)s;
    CALL(W4A8_CHECK);
    if (stub.fail_checks) *f = QB_DEV_RECORD(QB_DEV_W4A8, 3, 2);
    return 0;
}
static int sp24_check_meta(const uint8_t *m, int n, int k, int *bad, void *s)
{
    (void)m, (void)n, (void)k, (void)s;
    CALL(SP24_CHECK);
    if (stub.fail_checks) *bad = 1;
    return 0;
}
static int sp24_colsum(const int8_t *v, int n, int k, int np, int32_t *out, void *s)
{
    (void)v, (void)n, (void)s;
    CALL(SP24_COLSUM);
    stub.last_colsum_k = k;
    stub_write(out, (size_t)np * 4, "sp24_colsum");
    return 0;
}
static int attn_merge(const qb_attn_kparams *p, int ns, void *ws, void *s) { (void)p, (void)ns, (void)ws, (void)s; CALL(ATTN_MERGE); return 0; }
static int pack_u4(const uint8_t *src, int n, int k, const int32_t *perm, int np, int kt, int pad, uint8_t *dst, void *s)
{
    (void)src, (void)n, (void)k, (void)perm, (void)pad, (void)s;
    CALL(PACK_U4);
    stub_write(dst, (size_t)np * (size_t)kt * 32, "pack_u4");
    return 0;
}
static int pack_params(const int8_t *s2, const uint8_t *z, const uint16_t *s1, int n, int groups, int g128, int np,
                       uint16_t *params, float *s1o, void *s)
{
    (void)s2, (void)z, (void)s1, (void)n, (void)g128, (void)s;
    CALL(PACK_PARAMS);
    stub_write(params, (size_t)groups * (size_t)np * 2, "pack_w4a8_params");
    stub_write(s1o, (size_t)np * 4, "pack_w4a8_params");
    return 0;
}
static int pack_fp8(const uint8_t *src, long long count, int dt, uint8_t *dst, void *s)
{
    (void)src, (void)dt, (void)s;
    CALL(PACK_FP8);
    stub_write(dst, (size_t)count, "pack_fp8");
    return 0;
}
static int sp24_decompress(const void *v, const uint8_t *meta, int wdt, int n, int k, int np, int kp, void *dst, void *s)
{
    (void)v, (void)meta, (void)n, (void)k, (void)s;
    CALL(SP24_DECOMPRESS);
    stub_write(dst, (size_t)np * (size_t)kp * (wdt == QBLAS_DTYPE_F16 || wdt == QBLAS_DTYPE_BF16 ? 2 : 1),
               "sp24_decompress");
    return 0;
}
static int w4a16(int shape, int act, const qb_w4a16_kparams *p, void *s)
{
    (void)act, (void)s;
    CALL(W4A16);
    stub.last_shape = shape, stub.last_splits = p->splits;
    if (p->splits > 1) stub_write(p->partial, (size_t)p->splits * p->m * p->np * 4, "w4a16 partial");
    else write_y(p->y, p->ldy, p->m, p->n, p->y_dtype);
    return 0;
}
static int int8(int shape, const qb_int8_kparams *p, void *s)
{
    (void)s;
    CALL(INT8);
    stub.last_shape = shape;
    write_y(p->y, p->ldy, p->m, p->n, p->y_dtype);
    return 0;
}
static int w4a8(int shape, const qb_w4a8_kparams *p, void *s)
{
    (void)s;
    CALL(W4A8);
    stub.last_shape = shape, stub.last_splits = p->splits;
    if (p->splits > 1) stub_write(p->partial, (size_t)p->splits * p->m * p->np * 4, "w4a8 partial");
    else write_y(p->y, p->ldy, p->m, p->n, p->y_dtype);
    return 0;
}
static int fp8(int shape, const qb_fp8_kparams *p, void *s)
{
    (void)s;
    CALL(FP8);
    stub.last_shape = shape;
    write_y(p->y, p->ldy, p->m, p->n, p->y_dtype);
    return 0;
}
static int sp24_dense(int shape, int wdt, int xdt, int blk, const qb_sp24_kparams *p, void *s)
{
    (void)wdt, (void)xdt, (void)blk, (void)s;
    CALL(SP24_DENSE);
    stub.last_shape = shape;
    write_y(p->y, p->ldy, p->m, p->n, p->y_dtype);
    return 0;
}
static int attn_decode(const qb_attn_kparams *p, int gt, int ns, void *ws, void *s)
{
    (void)p, (void)ws, (void)s;
    CALL(ATTN_DECODE);
    stub.last_splits = ns, stub.last_group_tile = gt;
    return 0;
}

#define TABLE(tgt, fp8_)                                                                                             \
    const qb_hip_kernels qb_hip_kernels_##tgt = {                                                                    \
        .target = #tgt, .has_fp8 = fp8_, .qact = qact, .kv_append = kv_append, .w4a16_gather_x = gather,             \
        .w4a16_reduce = w4a16_reduce, .w4a8_check = w4a8_check, .w4a8_reduce = w4a8_reduce, .fp8_reduce = fp8_reduce, \
        .sp24_check_meta = sp24_check_meta, .sp24_colsum = sp24_colsum, .attn_merge = attn_merge,                     \
        .pack_u4 = pack_u4, .pack_w4a8_params = pack_params, .pack_fp8 = pack_fp8,                                    \
        .sp24_decompress = sp24_decompress, .w4a16 = w4a16, .int8 = int8, .w4a8 = w4a8, .fp8 = fp8,                    \
        .sp24_dense = sp24_dense, .attn_decode = attn_decode}
TABLE(gfx90a, 0);
TABLE(gfx942, 1);
