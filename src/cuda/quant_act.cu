/* quant_act.cu - activation quantization kernels (qblas_quantize_act),
 * bit-exact with the CPU oracle (src/cpu/quant_act.c).
 *
 * Exactness: inputs are widened to f32 exactly (qb_f16_to_f32 / qb_bf16_to_f32,
 * the oracle's conversions); ranges are max/min over the finite values, which
 * no reduction order changes; scales, zero points and codes come from the
 * functions of src/common/qblas_quant_math.h that the oracle calls too.
 *
 * Kernels:
 *  - row_kernel (PER_ROW, int8 sym/asym and fp8): a block per row. For
 *    k <= THREADS * ITEMS the row is read once into registers (ITEMS values
 *    per thread, element j * THREADS + tid, so every load is coalesced), its
 *    range is reduced with warp shuffles and a shared-memory step, and the
 *    codes are made from the kept values. Longer rows (ITEMS == 0) read X a
 *    second time for the codes.
 *  - block_kernel (BLOCK_1X128, fp8): a warp per 128-wide span, its values
 *    in registers, the amax reduced by shuffles alone.
 *  - tensor_kernel (PER_TENSOR, static scale): one thread per element; every
 *    thread reads and checks the scale itself, so an invalid one writes
 *    nothing and needs no synchronization (docs/API.md, device-side checks).
 */
#include "common/qblas_quant_math.h"
#include "cuda_kernels.h"
#include "dev_check.cuh"
#include "qb_vendor.cuh"
#include "qblas/qblas_types.h"

namespace {

constexpr int THREADS = 256;
constexpr int WARPS = THREADS / QB_WARP_SIZE;
constexpr int QBLK = 128; /* k per BLOCK_1X128 scale */
constexpr int BLK_ITEMS = QBLK / QB_WARP_SIZE;
static_assert(THREADS % QB_WARP_SIZE == 0 && QBLK % QB_WARP_SIZE == 0, "spans split evenly over lanes");

/* Input element types: storage type and the exact widening to f32. */
struct XF32 {
    using T = float;
    static __device__ float load(const T *p, long long i) { return p[i]; }
};
struct XF16 {
    using T = uint16_t;
    static __device__ float load(const T *p, long long i) { return qb_f16_to_f32(p[i]); }
};
struct XBF16 {
    using T = uint16_t;
    static __device__ float load(const T *p, long long i) { return qb_bf16_to_f32(p[i]); }
};

enum class Q { I8_SYM, I8_ASYM, FP8 };

/* The code of one element with scale s (and zero z for I8_ASYM). */
template <Q MODE>
__device__ void put(uint8_t *q, long long i, float v, float s, int32_t z, const qb_fp8_fmt &f)
{
    if constexpr (MODE == Q::I8_SYM)
        q[i] = (uint8_t)qb_qact_i8_sym(v, s);
    else if constexpr (MODE == Q::I8_ASYM)
        q[i] = (uint8_t)qb_qact_i8_asym(v, s, z);
    else
        q[i] = qb_qact_fp8(v, s, f);
}

__device__ float warp_max(float v)
{
#pragma unroll
    for (int o = QB_WARP_SIZE / 2; o > 0; o >>= 1) v = fmaxf(v, QB_SHFL_XOR(v, o));
    return v;
}

/* Max over the block, returned to every thread. red holds WARPS floats; the
 * trailing barrier lets the next call reuse it. */
__device__ float block_max(float v, float *red)
{
    v = warp_max(v);
    if (threadIdx.x % QB_WARP_SIZE == 0) red[threadIdx.x / QB_WARP_SIZE] = v;
    __syncthreads();
    float r = red[0];
#pragma unroll
    for (int w = 1; w < WARPS; w++) r = fmaxf(r, red[w]);
    __syncthreads();
    return r;
}

/* Range of one value, as the oracle's qb_finite_amax / qb_finite_minmax take
 * it: inf and NaN are skipped. -lo is kept so both reduce by max. */
struct Range {
    float amax = 0.0f, neg_lo = -INFINITY, hi = -INFINITY;
    __device__ void add(float v)
    {
        amax = fmaxf(amax, qb_qact_finite_abs(v));
        if (isfinite(v)) neg_lo = fmaxf(neg_lo, -v), hi = fmaxf(hi, v);
    }
};

/* One row per block (grid-stride over rows). ITEMS > 0: the row fits in
 * registers (k <= THREADS * ITEMS); ITEMS == 0: any k, X read twice. */
template <class X, Q MODE, int ITEMS>
__global__ void __launch_bounds__(THREADS) row_kernel(const qb_qact_kparams p)
{
    QB_SHARED_ARRAY(float, red, WARPS);
    const int tid = threadIdx.x;
    for (long long r = blockIdx.x; r < p.m; r += gridDim.x) {
        const typename X::T *xr = static_cast<const typename X::T *>(p.x) + r * p.ldx;
        uint8_t *qr = static_cast<uint8_t *>(p.q) + r * p.ldq;
        float v[ITEMS > 0 ? ITEMS : 1];
        Range g;
        if constexpr (ITEMS > 0) {
#pragma unroll
            for (int j = 0; j < ITEMS; j++) {
                const long long i = (long long)j * THREADS + tid;
                v[j] = i < p.k ? X::load(xr, i) : NAN; /* NaN: outside the row, ignored by the range */
                g.add(v[j]);
            }
        } else {
            for (long long i = tid; i < p.k; i += THREADS) g.add(X::load(xr, i));
        }
        float s;
        int32_t z = 0;
        if constexpr (MODE == Q::I8_ASYM) {
            float lo = -block_max(g.neg_lo, red), hi = block_max(g.hi, red);
            if (lo > hi) lo = hi = 0.0f; /* no finite value */
            qb_qact_asym_params(lo, hi, &s, &z);
            if (tid == 0) p.zeros[r] = z;
        } else {
            s = qb_qact_sym_scale(block_max(g.amax, red), p.qmax);
        }
        if (tid == 0) p.scales[r] = s;
        if constexpr (ITEMS > 0) {
#pragma unroll
            for (int j = 0; j < ITEMS; j++) {
                const long long i = (long long)j * THREADS + tid;
                if (i < p.k) put<MODE>(qr, i, v[j], s, z, p.fp8);
            }
        } else {
            for (long long i = tid; i < p.k; i += THREADS) put<MODE>(qr, i, X::load(xr, i), s, z, p.fp8);
        }
    }
}

/* BLOCK_1X128 (fp8): a warp per (row, 128-span), grid-stride over all spans;
 * the last span of a row may be short. */
template <class X>
__global__ void __launch_bounds__(THREADS) block_kernel(const qb_qact_kparams p)
{
    const int lane = threadIdx.x % QB_WARP_SIZE;
    const long long nkb = (p.k + QBLK - 1) / QBLK, spans = p.m * nkb;
    const long long stride = (long long)gridDim.x * WARPS;
    for (long long sp = (long long)blockIdx.x * WARPS + threadIdx.x / QB_WARP_SIZE; sp < spans; sp += stride) {
        const long long r = sp / nkb, k0 = (sp % nkb) * QBLK;
        const typename X::T *xr = static_cast<const typename X::T *>(p.x) + r * p.ldx;
        uint8_t *qr = static_cast<uint8_t *>(p.q) + r * p.ldq;
        float v[BLK_ITEMS], amax = 0.0f;
#pragma unroll
        for (int j = 0; j < BLK_ITEMS; j++) {
            const long long i = k0 + j * QB_WARP_SIZE + lane;
            v[j] = i < p.k ? X::load(xr, i) : NAN;
            amax = fmaxf(amax, qb_qact_finite_abs(v[j]));
        }
        const float s = qb_qact_sym_scale(warp_max(amax), p.qmax);
        if (lane == 0) p.scales[sp] = s; /* sp == r * nkb + kb */
#pragma unroll
        for (int j = 0; j < BLK_ITEMS; j++) {
            const long long i = k0 + j * QB_WARP_SIZE + lane;
            if (i < p.k) qr[i] = qb_qact_fp8(v[j], s, p.fp8);
        }
    }
}

/* PER_TENSOR: the static scale scales[0] for every element; one that is
 * not finite and > 0 writes nothing (block 0 records it). */
template <class X, Q MODE>
__global__ void __launch_bounds__(THREADS) tensor_kernel(const qb_qact_kparams p)
{
    const float s = p.scales[0];
    if (!(isfinite(s) && s > 0.0f)) {
        if (blockIdx.x == 0 && threadIdx.x == 0)
            qb::dev_record(p.status, QB_DEV_RECORD(QB_DEV_QACT_SCALE, __float_as_uint(s), 0));
        return;
    }
    const long long n = p.m * p.k, stride = (long long)gridDim.x * THREADS;
    for (long long e = (long long)blockIdx.x * THREADS + threadIdx.x; e < n; e += stride) {
        const long long r = e / p.k, i = e % p.k;
        const typename X::T *xr = static_cast<const typename X::T *>(p.x) + r * p.ldx;
        put<MODE>(static_cast<uint8_t *>(p.q) + r * p.ldq, i, X::load(xr, i), s, 0, p.fp8);
    }
}

/* Blocks for `work` independent units of `per_block` each, at most a few
 * waves (the kernels loop over the rest). */
unsigned grid_for(long long work, int per_block, int sms)
{
    const long long want = (work + per_block - 1) / per_block, cap = (long long)(sms > 0 ? sms : 1) * 16;
    return (unsigned)(want < cap ? want : cap);
}

template <class X, Q MODE>
void launch_rows(const qb_qact_kparams &p, int sms, cudaStream_t s)
{
    const unsigned g = grid_for(p.m, 1, sms);
    /* the smallest register cache that holds the row */
    if (p.k <= THREADS * 1)
        QB_LAUNCH(g, THREADS, 0, s, row_kernel<X, MODE, 1>)(p);
    else if (p.k <= THREADS * 4)
        QB_LAUNCH(g, THREADS, 0, s, row_kernel<X, MODE, 4>)(p);
    else if (p.k <= THREADS * 16)
        QB_LAUNCH(g, THREADS, 0, s, row_kernel<X, MODE, 16>)(p);
    else if (p.k <= THREADS * 64)
        QB_LAUNCH(g, THREADS, 0, s, row_kernel<X, MODE, 64>)(p);
    else
        QB_LAUNCH(g, THREADS, 0, s, row_kernel<X, MODE, 0>)(p);
}

template <class X>
void launch_x(const qb_qact_kparams &p, int sms, cudaStream_t s)
{
    const bool i8 = p.q_dtype == QBLAS_DTYPE_I8;
    if (p.mode == QBLAS_SCALE_PER_TENSOR) {
        const unsigned g = grid_for(p.m * p.k, THREADS, sms);
        if (i8)
            QB_LAUNCH(g, THREADS, 0, s, tensor_kernel<X, Q::I8_SYM>)(p);
        else
            QB_LAUNCH(g, THREADS, 0, s, tensor_kernel<X, Q::FP8>)(p);
    } else if (p.mode == QBLAS_SCALE_BLOCK_1X128) {
        QB_LAUNCH(grid_for(p.m * ((p.k + QBLK - 1) / QBLK), WARPS, sms), THREADS, 0, s, block_kernel<X>)(p);
    } else if (p.zeros) {
        launch_rows<X, Q::I8_ASYM>(p, sms, s);
    } else if (i8) {
        launch_rows<X, Q::I8_SYM>(p, sms, s);
    } else {
        launch_rows<X, Q::FP8>(p, sms, s);
    }
}

} // namespace

extern "C" cudaError_t qb_qact_launch(const qb_qact_kparams *p, int sms, cudaStream_t s)
{
    if (p->x_dtype == QBLAS_DTYPE_F16)
        launch_x<XF16>(*p, sms, s);
    else if (p->x_dtype == QBLAS_DTYPE_BF16)
        launch_x<XBF16>(*p, sms, s);
    else
        launch_x<XF32>(*p, sms, s);
    return cudaGetLastError();
}
