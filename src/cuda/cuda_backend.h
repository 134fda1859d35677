/* cuda_backend.h - the CUDA backend's host side (plain C): handle state,
 * the kernel-configuration registry and its selector, CUDA error mapping,
 * every family's entry points. Kernels are reached only through
 * cuda_kernels.h and the kernels_<family>.h headers. */
#ifndef QBLAS_CUDA_BACKEND_H
#define QBLAS_CUDA_BACKEND_H

#include "../core/qblas_internal.h"
#include "cuda_kernels.h"

/* ---- errors ----
 * Every CUDA runtime call goes through QB_CUDA_TRY: a failure is recorded on
 * the handle with the call and CUDA's own message, and becomes a status
 * (qb_cuda_status says which). Nothing aborts, nothing prints. */
qblas_status_t qb_cuda_status(qblas_handle_t h, cudaError_t e, const char *call);
#define QB_CUDA_TRY(h, call)                                                 \
    do {                                                                     \
        cudaError_t qb_e_ = (call);                                          \
        if (qb_e_ != cudaSuccess) return qb_cuda_status((h), qb_e_, #call); \
    } while (0)

/* ---- registry (cuda_registry.c, built from kernel_configs.h) ---- */
typedef enum qb_cuda_family {
    QB_FAM_W4A16,
    QB_FAM_INT8,
    QB_FAM_FP8,
    QB_FAM_W4A8,
    QB_FAM_SPARSE24,
    QB_FAM_ATTN_DECODE,
    QB_FAM_ATTN_PREFILL,
    QB_FAM_COUNT
} qb_cuda_family;

#define QB_CUDA_NARCH 3                    /* sm_80, sm_89, sm_90a: the columns of kernel_configs.h */
#define QB_DTYPE_ANY ((qblas_dtype_t)-1)   /* a configuration (or a call) of every dtype */

/* One kernel configuration, of any family: a row of the registry's table. */
typedef struct qb_cuda_cfg {
    const char *name;        /* base name: QBLAS_CUDA_KERNEL, tuning rows and plans name it */
    qb_cuda_family fam;
    qblas_dtype_t dtype;     /* the dtype it serves (W4A16: activations, 2:4: weights), or QB_DTYPE_ANY */
    int bm, bn, stages;      /* GEMM block tile rows (tokens) x columns, pipeline depth */
    int variant;             /* FP8: 1 = wgmma; 2:4: 1 = block scales; else 0 */
    int ctas_per_sm, min_split_tokens, max_splits; /* decode attention: the split policy */
    size_t smem;             /* dynamic shared memory per block (attention: planned per call, 0 here) */
    int64_t max_m[QB_CUDA_NARCH]; /* per architecture: QB_NO, QB_OPT, a bound or QB_ANY (kernel_configs.h) */
} qb_cuda_cfg;

/* One architecture: its compute capabilities and its column of the lists. */
typedef struct qb_cuda_arch {
    const char *name;    /* "sm_90a" */
    int cc_min, cc_max;  /* compute capabilities (major*10 + minor) it serves */
    int col;
} qb_cuda_arch;

/* What a call asks of the selector. */
typedef struct qb_cuda_need {
    qb_cuda_family fam;
    qblas_dtype_t dtype;      /* configurations of this dtype only, or QB_DTYPE_ANY */
    int variant;              /* configurations of this variant only, or -1 */
    int64_t m;                /* the default selection's M (decode: sequences, prefill: query tokens) */
    const qblas_tuning_entry_t *key; /* the tuning-row lookup (its key fields), or NULL */
} qb_cuda_need;

const qb_cuda_arch *qb_cuda_arch_for(int cc);
const char *qb_cuda_family_name(qb_cuda_family f);
const qb_cuda_cfg *qb_cuda_cfg_at(int32_t index); /* NULL outside the table */
int32_t qb_cuda_cfg_index(const qb_cuda_cfg *c);
bool qb_cuda_cfg_on(const qb_cuda_cfg *c, const qb_cuda_arch *a);
bool qb_cuda_cfg_runs(const qb_cuda_cfg *c, const qb_cuda_need *need); /* family, dtype and variant fit */
/* A configuration of the architecture by base name; NULL: unknown. */
const qb_cuda_cfg *qb_cuda_cfg_find(const qb_cuda_arch *a, const char *name);
/* Largest dynamic shared memory the architecture's configurations of a
 * family (of dtype, or QB_DTYPE_ANY; of variant, or -1) ask for; 0: none. */
size_t qb_cuda_cfg_max_smem(const qb_cuda_arch *a, qb_cuda_family f, qblas_dtype_t dtype, int variant);
/* The base names of the architecture's configurations that run `need`: how
 * many there are, the first cap in names (tuning rows may name these). */
size_t qb_cuda_cfg_names(const qb_cuda_arch *a, const qb_cuda_need *need, const char **names, size_t cap);
/* Every configuration of cc's architecture, by family and base name. */
int qb_cuda_catalog(int cc, void (*fn)(void *ctx, const char *family, const char *name), void *ctx);
/* The configuration the call runs: the plan's (`fixed`, checked), else
 * $QBLAS_CUDA_KERNEL's for its family, else the tuning row's, else the
 * architecture's default; NULL with *st (and the reason) when none runs it. */
const qb_cuda_cfg *qb_cuda_select(qblas_handle_t h, const qb_cuda_need *need, const qb_choice *fixed,
                                  qblas_status_t *st);

#include "cuda_attention.h" /* attention and KV append */

/* ---- what the core's operation table asks (cuda_backend.c, cuda_tuning.c) ---- */
int qb_cuda_device_count(void);
qblas_status_t qb_cuda_tuning_device(qblas_handle_t h, qblas_tuning_header_t *id);
size_t qb_cuda_tuning_kernels(qblas_handle_t h, const qblas_tuning_entry_t *key, const char **names, size_t cap);

/* ---- handle state ---- */
typedef struct qb_cuda_state {
    int device;
    int cc;               /* major*10 + minor */
    int sms;              /* multiprocessors */
    int smem_optin;       /* max dynamic shared memory per block */
    int smem_per_sm;
    const qb_cuda_arch *arch;
    const qb_cuda_cfg *forced; /* $QBLAS_CUDA_KERNEL at qblas_create (for its family only), or NULL */
    qb_dev_block *dev;    /* device memory: the device-side checks' status and prepack scratch */
} qb_cuda_state;

static inline qb_cuda_state *qb_cuda(qblas_handle_t h) { return (qb_cuda_state *)h->backend_state; }

/* ---- the GEMM families' entry points, one file each (cuda_<format>.c) ----
 * query: select (fixed NULL) or take a plan's choice, and say what it
 * chose; gemm: run with the query's choice. */
#define QB_CUDA_GEMM_ENTRY_POINTS(f)                                                                                 \
    qblas_status_t qb_cuda_##f##_init(qblas_handle_t h); /* kernel attributes for this device */                   \
    qblas_status_t qb_cuda_##f##_query(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *fixed,             \
                                       qb_choice *chosen, qblas_kernel_info_t *info);                               \
    qblas_status_t qb_cuda_##f##_gemm(qblas_handle_t h, const qb_gemm_args *a, const qb_choice *c, void *ws,        \
                                      size_t ws_bytes, void *stream);                                               \
    qblas_status_t qb_cuda_##f##_prepack_size(qblas_handle_t h, const qblas_weight_t *w, size_t *bytes);            \
    qblas_status_t qb_cuda_##f##_prepack(qblas_handle_t h, const qblas_weight_t *w, void *dst, size_t dst_bytes,    \
                                         qblas_weight_t *packed, void *stream);
QB_CUDA_GEMM_ENTRY_POINTS(w4a16)
QB_CUDA_GEMM_ENTRY_POINTS(int8)
QB_CUDA_GEMM_ENTRY_POINTS(fp8)
QB_CUDA_GEMM_ENTRY_POINTS(w4a8)
QB_CUDA_GEMM_ENTRY_POINTS(sparse24)
#undef QB_CUDA_GEMM_ENTRY_POINTS

/* A choice (qblas_internal.h) of configuration c with `splits` splits. */
qb_choice qb_cuda_choice(const qb_cuda_cfg *c, int64_t splits);

/* ---- activation quantization (cuda_quant_act.c) ---- */
qblas_status_t qb_cuda_quantize_act(qblas_handle_t h, const qb_qact_args *a, void *stream);

/* ---- device-side checks (cuda_device_status.c) ---- */
qblas_status_t qb_cuda_device_status(qblas_handle_t h, void *stream, qblas_status_t *status);
/* The handle's prepack verdict, reset to QB_DEV_PASS on s: a prepack's
 * check kernels record into it, then qb_dev_publish, then its writing
 * kernels are gated by it. */
qblas_status_t qb_cuda_prepack_verdict(qblas_handle_t h, cudaStream_t s, unsigned long long **verdict);

/* The handle's device is the current one (CUDA calls act on the current device). */
qblas_status_t qb_cuda_on_device(qblas_handle_t h);
/* p (when not NULL) is memory of the handle's device, or managed memory: the
 * canonical buffers a prepack reads and the blob it writes. INVALID_VALUE
 * naming `what` otherwise. */
qblas_status_t qb_cuda_device_ptr(qblas_handle_t h, const void *p, const char *what);
/* The byte-operand GEMMs (INT8, FP8, W4A8) copy X rows, and canonical
 * weight rows, in 16-byte chunks: x->data, x->ld and w_data (NULL: not
 * checked) must be multiples of 16; NOT_SUPPORTED naming the family
 * ("INT8") otherwise. */
qblas_status_t qb_cuda_check_rows16(qblas_handle_t h, const qblas_act_t *x, const void *w_data, const char *family);
/* Split-K planning of the 4-bit weight GEMMs (W4A16, W4A8), whose blocks
 * (`blocks` of them, smem bytes each) cover the M x Np output: split K when
 * the grid alone would leave SMs idle, aiming at every SM holding as many
 * blocks as fit (at most 4). Each split covers at least 4 of the kt k
 * tiles, and the 4-byte partial sums (written and read back: 8 * M * Np
 * bytes per split) stay within a quarter of the weight bytes (Np * Kp / 2),
 * so splits <= Kp / (64 M); at most max_splits. A plan's choice (fixed)
 * gives the count instead (kept within 1 .. max_splits and kt). Sets
 * *tiles_per_split and *splits (no split is empty). */
void qb_cuda_plan_splits(const qb_cuda_state *s, int64_t m, int64_t blocks, size_t smem, int64_t kt, int64_t kp,
                         int64_t max_splits, const qb_choice *fixed, int64_t *tiles_per_split, int64_t *splits);

#endif /* QBLAS_CUDA_BACKEND_H */
