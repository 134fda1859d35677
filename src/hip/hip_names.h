/* hip_names.h - one libqblas holds the CUDA backend and the HIP objects of
 * every gfx target (each source is compiled once per target, with a code
 * object for that target only). So that none of their symbols meet, a HIP
 * compile (QB_HIP_TARGET defined, e.g. gfx942) renames, before any qblas
 * code is read:
 *   - the C++ namespace qb (every kernel, template and helper of src/cuda
 *     and src/hip) to qb_hip_<target>: kernels of different targets never
 *     share a host-side launch function, so each launch finds its own target's code
 *     object;
 *   - the extern "C" launchers of the shared sources (src/cuda) to
 *     qb_hip_<target>_<name>, listed below (the AMD sources' own launchers,
 *     the .hip files of src/hip, are written QB_HIP_SYM(name) where they are defined
 *     and declared, hip_launchers.h, so they need no entry here);
 *   - the target's launcher table (hip_kernels.h, defined by hip_table.hip)
 *     to qb_hip_kernels_<target> (QB_HIP_TABLE).
 * The host code (src/hip/hip_*.c) calls none of these names: it reaches a
 * target's kernels through its table, qb_hip_kernels_<target>.
 * Force-included by the HIP prelude (src/hip/include/cuda_runtime.h). */
#ifndef QBLAS_HIP_NAMES_H
#define QBLAS_HIP_NAMES_H

#if defined(QB_HIP_TARGET)
#define QB_HIP_CAT3_(a, b, c) a##b##c
#define QB_HIP_CAT3(a, b, c) QB_HIP_CAT3_(a, b, c)
/* qb_hip_<target>_<name> */
#define QB_HIP_SYM(name) QB_HIP_CAT3(qb_hip_, QB_HIP_TARGET, QB_HIP_CAT3(_, name, ))
/* qb_hip_kernels_<target>: the target's table (hip_kernels.h) */
#define QB_HIP_TABLE QB_HIP_CAT3(qb_hip_kernels_, QB_HIP_TARGET, )

#define qb QB_HIP_CAT3(qb_hip_, QB_HIP_TARGET, )

/* quant_act.cu */
#define qb_qact_launch QB_HIP_SYM(qact_launch)
/* attn_append.cu */
#define qb_kv_append_launch QB_HIP_SYM(kv_append_launch)
/* w4a16_aux.cu */
#define qb_w4a16_check QB_HIP_SYM(w4a16_check)
#define qb_w4a16_act_order QB_HIP_SYM(w4a16_act_order)
#define qb_w4a16_pack_codes QB_HIP_SYM(w4a16_pack_codes)
#define qb_w4a16_pack_groups QB_HIP_SYM(w4a16_pack_groups)
#define qb_w4a16_gather_x QB_HIP_SYM(w4a16_gather_x)
#define qb_w4a16_reduce QB_HIP_SYM(w4a16_reduce)
/* w4a8_prepack.cu */
#define qb_w4a8_check QB_HIP_SYM(w4a8_check)
#define qb_w4a8_pack QB_HIP_SYM(w4a8_pack)
/* sp24_prepack.cu */
#define qb_sp24_check_meta QB_HIP_SYM(sp24_check_meta)
#define qb_sp24_pack QB_HIP_SYM(sp24_pack)
#define qb_sp24_colsum QB_HIP_SYM(sp24_colsum)
/* gemm_reduce.cu */
#define qb_w4a8_reduce QB_HIP_SYM(w4a8_reduce)
#define qb_fp8_splitk_reduce QB_HIP_SYM(fp8_splitk_reduce)
/* attn_decode.cu (the decode kernels: attn_decode_<dtype>.cu, namespace qb) */
#define qb_attn_decode_smem QB_HIP_SYM(attn_decode_smem)
#define qb_attn_decode_tile QB_HIP_SYM(attn_decode_tile)
#define qb_attn_decode_launch QB_HIP_SYM(attn_decode_launch)
#define qb_attn_decode_prepare QB_HIP_SYM(attn_decode_prepare)
/* dev_check.cu (the device-side checks' status, docs/API.md) */
#define qb_dev_take QB_HIP_SYM(dev_take)
#define qb_dev_publish QB_HIP_SYM(dev_publish)
#define qb_dev_check_i8_zeros QB_HIP_SYM(dev_check_i8_zeros)
#define qb_dev_copy QB_HIP_SYM(dev_copy)
/* attn_merge.cu */
#define qb_attn_decode_workspace QB_HIP_SYM(attn_decode_workspace)
#define qb_attn_decode_partials QB_HIP_SYM(attn_decode_partials)
#define qb_attn_decode_merge QB_HIP_SYM(attn_decode_merge)
#endif

#endif /* QBLAS_HIP_NAMES_H */
