/* test_hip_dispatch.c - the HIP backend's host dispatch without an AMD GPU:
 * the library's host sources (core, CPU, src/hip/hip_*.c) linked with a
 * pretend HIP runtime of one device and launcher tables that record their
 * calls and check that every write lies inside the call's buffers
 * (hip_stub.c). For gfx942 and gfx90a: creation (target, table, plan
 * identity, $QBLAS_HIP_KERNEL), prepack sizes and layouts, each GEMM
 * format's selection, names, workspace, staging, split-K and refusals,
 * activation quantization, decode attention (splits; prefill refused), KV
 * append, device status (records, reset, capture refusal), tuning identity
 * and kernel lists. No kernel runs: the numbers are the simulated AMD
 * device's to check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hip_stub.h"
#include "qblas.h"

static int failures;
#define CHECK(c)                                                                                  \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            failures++;                                                                           \
            fprintf(stderr, "%s:%d: %s failed [%s] (%s)\n", __FILE__, __LINE__, #c, stub.arch, \
                    h ? qblas_last_error(h) : "");                                               \
        }                                                                                         \
    } while (0)

static qblas_handle_t h;
static int is942;

static void *dev(size_t n) /* device memory, 256-byte aligned, zeroed */
{
    void *p = aligned_alloc(256, (n + 511) / 256 * 256);
    memset(p, 0, (n + 511) / 256 * 256);
    return p;
}

/* prepack into a dst starting off a 256-byte boundary: the blob starts at the next one */
static qblas_status_t pack(const qblas_weight_t *w, qblas_weight_t *out, size_t *bytes)
{
    size_t b = 0;
    qblas_status_t st = qblas_prepack_size(h, w, &b);
    if (st) return st;
    uint8_t *dst = (uint8_t *)dev(b + 16) + 16;
    stub_reset();
    stub_allow(dst, b);
    st = qblas_prepack(h, w, dst, b, out, NULL);
    CHECK(stub.bad_writes == 0);
    if (!st) CHECK((uintptr_t)out->data % 256 == 0 && (uint8_t *)out->data >= dst && (uint8_t *)out->data < dst + 256);
    if (bytes) *bytes = b;
    return st;
}

/* query, run, plan and run planned; the kernel name and workspace of the query */
static qblas_status_t gemm(int64_t m, const qblas_act_t *x, const qblas_weight_t *w, qblas_dtype_t yd,
                           qblas_kernel_info_t *info)
{
    qblas_status_t st = qblas_gemm_query(h, m, w->n, w->k, x, w, yd, info);
    if (st) return st;
    uint8_t *ws = info->workspace_bytes ? (uint8_t *)dev(info->workspace_bytes + 8) + 8 : NULL; /* any alignment */
    void *y = dev((size_t)m * (size_t)w->n * 4);
    stub_reset();
    stub_allow(ws, info->workspace_bytes);
    stub_allow(y, (size_t)m * (size_t)w->n * (yd == QBLAS_DTYPE_F32 ? 4 : 2));
    st = qblas_gemm(h, m, w->n, w->k, x, w, NULL, yd, y, w->n, ws, info->workspace_bytes, NULL);
    CHECK(st == QBLAS_STATUS_SUCCESS);
    char name[QBLAS_KERNEL_NAME_MAX];
    CHECK(qblas_last_kernel(h, name, sizeof name) == QBLAS_STATUS_SUCCESS && strcmp(name, info->kernel_name) == 0);
    qblas_gemm_plan_t plan;
    CHECK(qblas_gemm_plan(h, m, w->n, w->k, x, w, yd, &plan) == QBLAS_STATUS_SUCCESS);
    CHECK(plan.device == ((is942 ? 0x942ull : 0x90aull) << 32 | 304u));
    CHECK(qblas_gemm_planned(h, &plan, m, w->n, w->k, x, w, NULL, yd, y, w->n, ws, info->workspace_bytes, NULL) ==
          QBLAS_STATUS_SUCCESS);
    CHECK(stub.bad_writes == 0);
    return st;
}

static bool has(const char *s, const char *part) { return strstr(s, part) != NULL; }

static void test_w4a16(void)
{
    const int64_t n = 300, k = 256;
    qblas_weight_t w = {0}, p;
    size_t bytes;
    qblas_kernel_info_t info;
    w.format = QBLAS_WFORMAT_W4A16, w.dtype = QBLAS_DTYPE_U4, w.n = n, w.k = k, w.data = dev(n * k / 2);
    w.scale_mode = QBLAS_SCALE_PER_GROUP, w.scale_dtype = QBLAS_DTYPE_F16, w.scales = dev(2 * n * 2);
    w.zeros = dev(2 * n), w.group_size = 128;
    CHECK(pack(&w, &p, &bytes) == QBLAS_STATUS_SUCCESS);
    /* codes 384/32 * 4 * 1024, scales 2 * 384 * 2 -> 1536, zeros 2 * 384 -> 768, + 255 */
    CHECK(bytes == 49152 + 1536 + 768 + 255);
    CHECK(p.layout == QBLAS_LAYOUT_HIP_W4A16 && p.g_idx == NULL);
    CHECK((uint8_t *)p.scales == (uint8_t *)p.data + 49152 && (uint8_t *)p.zeros == (uint8_t *)p.scales + 1536);
    CHECK(stub.calls[STUB_PACK_U4] == 1);

    qblas_act_t x = {QBLAS_DTYPE_F16, dev(512 * k * 2), k, QBLAS_SCALE_NONE, NULL, NULL};
    CHECK(gemm(1, &x, &p, QBLAS_DTYPE_F16, &info) == QBLAS_STATUS_SUCCESS);
    CHECK(has(info.kernel_name, "w4a16_f16_") && has(info.kernel_name, is942 ? "gfx942" : "gfx90a") &&
          has(info.kernel_name, "_m16n128k64") && info.workspace_bytes == 0);
    CHECK(stub.calls[STUB_W4A16] == 2 && stub.last_shape == QB_HIP_SHAPE_M16 && stub.calls[STUB_GATHER] == 0);
    CHECK(gemm(100, &x, &p, QBLAS_DTYPE_F32, &info) == QBLAS_STATUS_SUCCESS);
    CHECK(has(info.kernel_name, "_m128n128k64") && stub.last_shape == QB_HIP_SHAPE_M128);
    /* rows not 16-byte aligned: X staged through the workspace */
    qblas_act_t xm = x;
    xm.data = (uint8_t *)x.data + 2, xm.ld = k + 1;
    CHECK(gemm(3, &xm, &p, QBLAS_DTYPE_BF16, &info) == QBLAS_STATUS_SUCCESS);
    CHECK(info.workspace_bytes == 1536 + 255 && stub.calls[STUB_GATHER] == 2 && stub.last_gather_k == k);
    /* canonical, act-order, k % 16 */
    CHECK(qblas_gemm_query(h, 3, n, k, &x, &w, QBLAS_DTYPE_F16, &info) == QBLAS_STATUS_NOT_SUPPORTED);
    CHECK(has(qblas_last_error(h), "prepack first"));
    qblas_weight_t wg = w;
    wg.g_idx = dev(k * 4);
    CHECK(pack(&wg, &p, NULL) == QBLAS_STATUS_NOT_SUPPORTED && has(qblas_last_error(h), "act-order"));
    CHECK(stub.calls[STUB_PACK_U4] == 0);
    qblas_weight_t w40 = w;
    w40.k = 40, w40.group_size = 0, w40.zeros = NULL;
    CHECK(qblas_prepack_size(h, &w40, &bytes) == QBLAS_STATUS_NOT_SUPPORTED);

    /* k = 4096 at M = 2: split-K with the reduce */
    w.k = 4096, w.data = dev(n * 2048), w.scales = dev(32 * n * 4), w.scale_dtype = QBLAS_DTYPE_F32, w.zeros = NULL;
    CHECK(pack(&w, &p, NULL) == QBLAS_STATUS_SUCCESS && p.zeros == NULL);
    qblas_act_t x16 = {QBLAS_DTYPE_BF16, dev(16 * 4096 * 2), 4096, QBLAS_SCALE_NONE, NULL, NULL};
    CHECK(gemm(2, &x16, &p, QBLAS_DTYPE_BF16, &info) == QBLAS_STATUS_SUCCESS);
    CHECK(has(info.kernel_name, "w4a16_bf16_") && has(info.kernel_name, "_splitk"));
    CHECK(stub.last_splits > 1 && stub.calls[STUB_W4A16_REDUCE] == 2);
    CHECK(info.workspace_bytes == (size_t)stub.last_splits * 2 * 384 * 4 + 255);
}

static void test_int8_fp8(void)
{
    const int64_t n = 300, k = 256;
    qblas_kernel_info_t info;
    qblas_weight_t w = {0}, p;
    w.format = QBLAS_WFORMAT_INT8, w.dtype = QBLAS_DTYPE_I8, w.n = n, w.k = k, w.data = dev(n * k);
    w.scale_mode = QBLAS_SCALE_PER_ROW, w.scale_dtype = QBLAS_DTYPE_F32, w.scales = dev(n * 4);
    int32_t *zx = dev(512 * 4);
    qblas_act_t x = {QBLAS_DTYPE_I8, dev(512 * k), k, QBLAS_SCALE_PER_ROW, dev(512 * 4), zx};
    CHECK(gemm(7, &x, &w, QBLAS_DTYPE_BF16, &info) == QBLAS_STATUS_SUCCESS);
    CHECK(has(info.kernel_name, "int8_") && info.workspace_bytes == 1280 + 255);
    CHECK(stub.calls[STUB_SP24_COLSUM] == 2 && stub.last_colsum_k == 2 * k && stub.calls[STUB_INT8] == 2);
    size_t bytes;
    CHECK(qblas_prepack_size(h, &w, &bytes) == QBLAS_STATUS_NOT_SUPPORTED);
    qblas_act_t xm = x;
    xm.ld = k + 8;
    CHECK(qblas_gemm_query(h, 7, n, k, &xm, &w, QBLAS_DTYPE_F16, &info) == QBLAS_STATUS_NOT_SUPPORTED);

    qblas_weight_t wf = w;
    wf.format = QBLAS_WFORMAT_FP8, wf.dtype = QBLAS_DTYPE_E5M2;
    qblas_act_t xf = {QBLAS_DTYPE_E4M3FNUZ, x.data, k, QBLAS_SCALE_PER_ROW, x.scales, NULL};
    const qblas_status_t st = pack(&wf, &p, &bytes);
    if (!is942) {
        CHECK(st == QBLAS_STATUS_NOT_SUPPORTED && has(qblas_last_error(h), "gfx942"));
        CHECK(qblas_gemm_query(h, 1, n, k, &xf, &wf, QBLAS_DTYPE_F16, &info) == QBLAS_STATUS_NOT_SUPPORTED);
        return;
    }
    CHECK(st == QBLAS_STATUS_SUCCESS && p.layout == QBLAS_LAYOUT_HIP_FP8);
    CHECK(bytes == 76800 + 1280 + 255 && (uint8_t *)p.scales == (uint8_t *)p.data + 76800);
    CHECK(stub.calls[STUB_PACK_FP8] == 1);
    CHECK(gemm(1, &xf, &p, QBLAS_DTYPE_F16, &info) == QBLAS_STATUS_SUCCESS);
    CHECK(has(info.kernel_name, "fp8_e4m3_") && has(info.kernel_name, "_xe4m3fnuz_we5m2") && info.workspace_bytes == 0);
    CHECK(stub.calls[STUB_FP8] == 2);
    CHECK(qblas_gemm_query(h, 1, n, k, &xf, &wf, QBLAS_DTYPE_F16, &info) == QBLAS_STATUS_NOT_SUPPORTED);
}

static void test_w4a8(void)
{
    const int64_t n = 300;
    qblas_kernel_info_t info;
    qblas_weight_t w = {0}, p;
    size_t bytes;
    qblas_status_t dst;
    /* per-channel, k = 50: X staged zero-padded to 64 bytes a row */
    w.format = QBLAS_WFORMAT_W4A8, w.dtype = QBLAS_DTYPE_U4, w.n = n, w.k = 50, w.data = dev(n * 25);
    w.scale_mode = QBLAS_SCALE_PER_ROW, w.scale_dtype = QBLAS_DTYPE_F16, w.scales = dev(n * 2), w.zeros = dev(n);
    stub.fail_checks = 1;
    CHECK(pack(&w, &p, &bytes) == QBLAS_STATUS_SUCCESS);
    stub.fail_checks = 0;
    CHECK(bytes == 12288 + 768 + 1536 + 255 && p.layout == QBLAS_LAYOUT_HIP_W4A8 && p.group_scales == NULL);
    CHECK(stub.calls[STUB_W4A8_CHECK] == 1 && stub.calls[STUB_PACK_U4] == 1 && stub.calls[STUB_PACK_PARAMS] == 1);
    /* the check's record reaches qblas_device_status once */
    CHECK(qblas_device_status(h, NULL, &dst) == QBLAS_STATUS_SUCCESS && dst == QBLAS_STATUS_INVALID_VALUE);
    CHECK(has(qblas_last_error(h), "W4A8"));
    CHECK(qblas_device_status(h, NULL, &dst) == QBLAS_STATUS_SUCCESS && dst == QBLAS_STATUS_SUCCESS);
    qblas_act_t x = {QBLAS_DTYPE_I8, dev(512 * 64), 64, QBLAS_SCALE_PER_TENSOR, dev(4), NULL};
    CHECK(gemm(5, &x, &p, QBLAS_DTYPE_F16, &info) == QBLAS_STATUS_SUCCESS);
    CHECK(has(info.kernel_name, "w4a8_perchannel_") && info.workspace_bytes == 512 + 255);
    CHECK(stub.calls[STUB_GATHER] == 2 && stub.last_gather_k == 25 && stub.last_gather_ldo == 32);
    /* g128, k = 4096, M = 1: split-K */
    w.k = 4096, w.group_size = 128, w.scale_mode = QBLAS_SCALE_PER_GROUP, w.data = dev(n * 2048);
    w.group_scales = dev(32 * n), w.zeros = dev(32 * n);
    CHECK(pack(&w, &p, NULL) == QBLAS_STATUS_SUCCESS);
    qblas_act_t xb = {QBLAS_DTYPE_I8, dev(16 * 4096), 4096, QBLAS_SCALE_PER_ROW, dev(64), NULL};
    CHECK(gemm(1, &xb, &p, QBLAS_DTYPE_F32, &info) == QBLAS_STATUS_SUCCESS);
    CHECK(has(info.kernel_name, "w4a8_g128_") && has(info.kernel_name, "_splitk") && stub.calls[STUB_GATHER] == 0);
    CHECK(stub.last_splits > 1 && stub.calls[STUB_W4A8_REDUCE] == 2);
}

static void test_sparse24(void)
{
    const int64_t n = 300;
    qblas_kernel_info_t info;
    qblas_weight_t w = {0}, p;
    size_t bytes;
    qblas_status_t dst;
    w.format = QBLAS_WFORMAT_SPARSE24, w.dtype = QBLAS_DTYPE_F16, w.n = n, w.k = 36, w.data = dev(n * 18 * 2);
    w.meta = dev(n * 5);
    stub.fail_checks = 1;
    CHECK(pack(&w, &p, &bytes) == QBLAS_STATUS_SUCCESS);
    stub.fail_checks = 0;
    CHECK(bytes == 38400 + 255 && p.layout == QBLAS_LAYOUT_HIP_SPARSE24 && p.meta == NULL);
    CHECK(stub.calls[STUB_SP24_CHECK] == 1 && stub.calls[STUB_SP24_DECOMPRESS] == 1);
    CHECK(qblas_device_status(h, NULL, &dst) == QBLAS_STATUS_SUCCESS && dst == QBLAS_STATUS_INVALID_VALUE);
    CHECK(has(qblas_last_error(h), "2:4 meta"));
    qblas_act_t x = {QBLAS_DTYPE_F16, dev(512 * 40 * 2), 40, QBLAS_SCALE_NONE, NULL, NULL};
    CHECK(gemm(9, &x, &p, QBLAS_DTYPE_F16, &info) == QBLAS_STATUS_SUCCESS); /* k % 16 != 0: X staged */
    CHECK(has(info.kernel_name, "sp24_f16_") && info.workspace_bytes == 1024 + 255 && stub.last_gather_ldo == 48);

    w.dtype = QBLAS_DTYPE_I8, w.k = 64, w.scale_mode = QBLAS_SCALE_PER_TENSOR, w.scale_dtype = QBLAS_DTYPE_F32;
    w.scales = dev(4);
    CHECK(pack(&w, &p, &bytes) == QBLAS_STATUS_SUCCESS && stub.calls[STUB_SP24_COLSUM] == 1);
    CHECK(bytes == 19200 + 256 + 1280 + 255);
    qblas_act_t x8 = {QBLAS_DTYPE_I8, dev(512 * 64), 64, QBLAS_SCALE_PER_ROW, dev(512 * 4), dev(512 * 4)};
    CHECK(gemm(130, &x8, &p, QBLAS_DTYPE_F32, &info) == QBLAS_STATUS_SUCCESS);
    CHECK(has(info.kernel_name, "sp24_i8_") && info.workspace_bytes == 0 && stub.calls[STUB_SP24_DENSE] == 2);

    w.dtype = QBLAS_DTYPE_E4M3, w.scale_mode = QBLAS_SCALE_BLOCK_128X128, w.scales = dev(3 * 4);
    qblas_act_t xf = {QBLAS_DTYPE_E5M2, x8.data, 64, QBLAS_SCALE_BLOCK_1X128, dev(512 * 4), NULL};
    const qblas_status_t st = pack(&w, &p, NULL);
    if (!is942) {
        CHECK(st == QBLAS_STATUS_NOT_SUPPORTED);
        return;
    }
    CHECK(st == QBLAS_STATUS_SUCCESS);
    CHECK(gemm(20, &xf, &p, QBLAS_DTYPE_F32, &info) == QBLAS_STATUS_SUCCESS);
    CHECK(has(info.kernel_name, "sp24_e4m3_") && has(info.kernel_name, "_xe5m2_block128"));
}

static void test_attention(void)
{
    qblas_kernel_info_t info;
    qblas_kv_cache_t kv = {QBLAS_DTYPE_F16, 64, 16, 2, 128, dev(64 * 16 * 2 * 128 * 2), dev(64 * 16 * 2 * 128 * 2),
                           QBLAS_SCALE_NONE, NULL, NULL, NULL, NULL};
    qblas_attention_params_t ap = {0};
    ap.num_seqs = 2, ap.num_q_tokens = 2, ap.num_q_heads = 16, ap.q_dtype = QBLAS_DTYPE_F16;
    ap.q = dev(2 * 16 * 128 * 2), ap.o = dev(2 * 16 * 128 * 2), ap.seq_lens = dev(8), ap.block_tables = dev(512);
    ap.block_table_stride = 64, ap.max_seq_len = 1024, ap.sm_scale = 0.1f, ap.window_left = -1;
    CHECK(qblas_attention_query(h, &kv, &ap, &info) == QBLAS_STATUS_SUCCESS);
    /* 4 blocks for 608 slots: splits capped by 1024 / 256 keys */
    CHECK(has(info.kernel_name, "attn_decode_f16_d128_g8_") && has(info.kernel_name, "_split"));
    CHECK(info.workspace_bytes == 255 + 2 * 16 * 4 * (128 * 4 + 8));
    uint8_t *ws = dev(info.workspace_bytes);
    stub_reset();
    CHECK(qblas_attention(h, &kv, &ap, ws, info.workspace_bytes, NULL) == QBLAS_STATUS_SUCCESS);
    CHECK(stub.calls[STUB_ATTN_DECODE] == 1 && stub.last_splits == 4 && stub.last_group_tile == 8);
    qblas_attention_plan_t plan;
    CHECK(qblas_attention_plan(h, &kv, &ap, &plan) == QBLAS_STATUS_SUCCESS && plan.splits == 4);
    CHECK(qblas_attention_planned(h, &plan, &kv, &ap, ws, info.workspace_bytes, NULL) == QBLAS_STATUS_SUCCESS);
    ap.qo_indptr = dev(12);
    CHECK(qblas_attention_query(h, &kv, &ap, &info) == QBLAS_STATUS_NOT_SUPPORTED && has(qblas_last_error(h), "prefill"));

    int64_t *slots = dev(16);
    CHECK(qblas_kv_append(h, &kv, 2, QBLAS_DTYPE_F16, ap.q, ap.q, slots, NULL) == QBLAS_STATUS_SUCCESS);
    char name[QBLAS_KERNEL_NAME_MAX];
    CHECK(qblas_last_kernel(h, name, sizeof name) == QBLAS_STATUS_SUCCESS && has(name, "kv_append_f16_gfx9"));
    CHECK(stub.calls[STUB_KV_APPEND] == 1);

    void *q = dev(16 * 256);
    stub_reset();
    stub_allow(q, 16 * 256);
    CHECK(qblas_quantize_act(h, 16, 256, QBLAS_DTYPE_F16, ap.q, 256, QBLAS_DTYPE_I8, q, 256, QBLAS_SCALE_PER_ROW,
                             dev(64), NULL, NULL) == QBLAS_STATUS_SUCCESS);
    CHECK(stub.calls[STUB_QACT] == 1 && stub.last_cus == 304 && stub.bad_writes == 0);
    CHECK(qblas_last_kernel(h, name, sizeof name) == QBLAS_STATUS_SUCCESS && has(name, "quant_i8_row_gfx9"));
}

static void test_handle(void)
{
    qblas_tuning_header_t th;
    CHECK(qblas_tuning_device(h, &th) == QBLAS_STATUS_SUCCESS && th.cc == (is942 ? 94 : 90) && th.sms == 304);
    const char *names[16];
    size_t count = 0;
    CHECK(qblas_tuning_kernels(h, QBLAS_WFORMAT_W4A16, QBLAS_DTYPE_F16, names, 16, &count) == QBLAS_STATUS_SUCCESS &&
          count == 3);
    CHECK(qblas_tuning_kernels(h, QBLAS_WFORMAT_FP8, QBLAS_DTYPE_E4M3FNUZ, names, 16, &count) == QBLAS_STATUS_SUCCESS &&
          count == (is942 ? 3u : 0u));
    qblas_status_t dst;
    stub.capturing = 1;
    CHECK(qblas_device_status(h, NULL, &dst) == QBLAS_STATUS_INVALID_VALUE);
    stub.capturing = 0;
}

int main(void)
{
    static const char *const archs[2] = {"gfx942:sramecc+:xnack-", "gfx90a:sramecc+:xnack-"};
    for (int a = 0; a < 2; a++) {
        stub.arch = archs[a];
        is942 = a == 0;
        h = NULL;
        /* $QBLAS_HIP_KERNEL naming no configuration of this target refuses the handle */
        setenv("QBLAS_HIP_KERNEL", is942 ? "int8_90a_gfx90a_mfma_i32_16x16x16_i8_m16n128k64" : "nonsense", 1);
        CHECK(qblas_create(&h, QBLAS_BACKEND_HIP, 0) == QBLAS_STATUS_INVALID_VALUE);
        unsetenv("QBLAS_HIP_KERNEL");
        if (qblas_create(&h, QBLAS_BACKEND_HIP, 0) != QBLAS_STATUS_SUCCESS) {
            fprintf(stderr, "qblas_create(HIP) on the pretend %s failed\n", stub.arch);
            return 1;
        }
        test_w4a16();
        test_int8_fp8();
        test_w4a8();
        test_sparse24();
        test_attention();
        test_handle();
        CHECK(qblas_destroy(h) == QBLAS_STATUS_SUCCESS);
    }
    /* a device of a target this library has no code for */
    stub.arch = "gfx1100";
    h = NULL;
    CHECK(qblas_create(&h, QBLAS_BACKEND_HIP, 0) == QBLAS_STATUS_ARCH_MISMATCH);
    printf("test_hip_dispatch: %d failure(s)\n", failures);
    return failures != 0;
}
