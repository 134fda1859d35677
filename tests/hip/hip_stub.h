/* hip_stub.h - the pretend HIP runtime and launcher tables of
 * tests/hip/test_hip_dispatch.c (hip_stub.c). */
#ifndef QB_HIP_STUB_H
#define QB_HIP_STUB_H

#include "hip/hip_kernels.h"
#include "qblas.h"

enum {
    STUB_QACT, STUB_KV_APPEND, STUB_GATHER, STUB_W4A16_REDUCE, STUB_W4A8_REDUCE, STUB_FP8_REDUCE, STUB_W4A8_CHECK,
    STUB_SP24_CHECK, STUB_SP24_COLSUM, STUB_ATTN_MERGE, STUB_PACK_U4, STUB_PACK_PARAMS, STUB_PACK_FP8,
    STUB_SP24_DECOMPRESS, STUB_W4A16, STUB_INT8, STUB_W4A8, STUB_FP8, STUB_SP24_DENSE, STUB_ATTN_DECODE, STUB_CALLS
};
#define STUB_RANGES 8

typedef struct hip_stub_state {
    const char *arch; /* the device's gcnArchName */
    int cus;
    int capturing;    /* hipStreamIsCapturing's answer */
    int fail_checks;  /* the content checks record a failure */
    int calls[STUB_CALLS];
    int async_ops;
    struct { void *p; size_t n; } allowed[STUB_RANGES];
    int nallowed, bad_writes;
    void *device_words;
    size_t device_words_n;
    int last_shape, last_splits, last_group_tile, last_cus, last_gather_k, last_gather_ldo, last_colsum_k;
} hip_stub_state;
extern hip_stub_state stub;

/* The buffers the next calls may write (outputs, workspace, dst, the handle's words). */
void stub_allow(void *p, size_t n);
void stub_reset(void);
/* A write of the pretend device: counted as bad outside the allowed buffers. */
void stub_write(void *p, size_t n, const char *who);

#endif
