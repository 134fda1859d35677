/* qblas.h - the whole public API of qblas, a library of quantized GEMM and
 * attention kernels for LLM inference. C99; no vendor headers.
 *
 *   qblas/qblas_types.h      status codes, dtypes, frozen enums, version macros
 *   qblas/qblas_handle.h     handle, version, errors, kernel queries
 *   qblas/qblas_gemm.h       W4A16 / INT8 / FP8 / W4A8 / 2:4 GEMMs, prepack
 *   qblas/qblas_quant.h      activation and weight quantizers, importers, 2:4 tools
 *   qblas/qblas_attention.h  paged quantized-KV attention, KV append
 *   qblas/qblas_tuning.h     tuning files (per-device kernel choice, autotune/)
 *
 * docs/API.md walks through a complete example; docs/FORMATS.md defines
 * every layout and formula.
 */
#ifndef QBLAS_H
#define QBLAS_H
#include "qblas/qblas_types.h"
#include "qblas/qblas_handle.h"
#include "qblas/qblas_gemm.h"
#include "qblas/qblas_quant.h"
#include "qblas/qblas_attention.h"
#include "qblas/qblas_tuning.h"
#endif
