/* qblas_quant_math.h - the per-element arithmetic of activation quantization
 * (docs/FORMATS.md, "Activation quantization"), shared by the CPU oracle and
 * the GPU kernels.
 *
 * Both backends call these functions, so given the same range (amax, or
 * min/max over the finite values, which no summation order can change) they
 * produce the same scales, zero points and codes bit for bit. Every step is
 * a single IEEE f32 operation with no multiply to fuse: `/` must stay
 * correctly rounded (nvcc's default -prec-div=true; no fast-math, no
 * __fdividef).
 */
#ifndef QBLAS_QUANT_MATH_H
#define QBLAS_QUANT_MATH_H

#include "qblas_numeric.h"

/* Largest code magnitude a symmetric scale maps amax onto. */
#define QB_QACT_I8_QMAX 127.0f

/* A zero scale (all-zero span, or underflow) would divide by zero and an
 * infinite one (a range beyond FLT_MAX) would zero every code: use 1. */
QB_HD float qb_qact_usable(float s) { return s == 0.0f || isinf(s) ? 1.0f : s; }

/* |v| for the range of a span, 0 for inf and NaN (they never widen it). */
QB_HD float qb_qact_finite_abs(float v) { return isfinite(v) ? fabsf(v) : 0.0f; }

/* Symmetric scale of a span from its finite amax: amax / qmax, made usable. */
QB_HD float qb_qact_sym_scale(float amax, float qmax) { return qb_qact_usable(amax / qmax); }

/* Asymmetric int8 parameters from the finite range [lo, hi] of a row (both 0
 * when no value is finite): the range is widened to hold 0, so z stays an
 * int8 value even for rows that are all positive or all negative (the INT8
 * GEMMs need |x - z| <= 255; docs/FORMATS.md says why vLLM's true-min/max
 * rule is not followed). The sign of a zero lo or hi does not change s or z. */
QB_HD void qb_qact_asym_params(float lo, float hi, float *s, int32_t *z)
{
    lo = fminf(lo, 0.0f), hi = fmaxf(hi, 0.0f);
    float sc = qb_qact_usable((hi - lo) / 255.0f);
    *s = sc;
    *z = qb_round_clamp(-128.0f - lo / sc, -128, 127);
}

/* One element, symmetric int8: rint(x / s) clamped to [-127, 127]; NaN -> 0. */
QB_HD int8_t qb_qact_i8_sym(float x, float s) { return (int8_t)qb_round_clamp(x / s, -127, 127); }

/* One element, asymmetric int8: rint(x / s) + z clamped to [-128, 127]; NaN -> 0. */
QB_HD int8_t qb_qact_i8_asym(float x, float s, int32_t z)
{
    return (int8_t)qb_round_clamp(rintf(x / s) + (float)z, -128, 127);
}

/* One element, fp8: fp8(x / s). A NaN input is encoded as itself, so the
 * code keeps its sign whatever sign a platform gives the NaN of x / s
 * (GPUs return a canonical positive NaN). */
QB_HD uint8_t qb_qact_fp8(float x, float s, qb_fp8_fmt f)
{
    return qb_fp8_encode(x != x ? x : x / s, f);
}

#endif /* QBLAS_QUANT_MATH_H */
