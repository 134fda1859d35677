# The kernel sources of the HIP backend, compiled once per gfx target: the
# AMD kernels (src/hip/*.hip) and the vendor-neutral sources of src/cuda (no
# NVIDIA instruction), built through the vendor header (src/cuda/
# qb_vendor.cuh -> src/hip/qb_vendor_hip.h): prepack checks and packing, the
# device-side checks' status, activation quantization, KV append, the
# split-K reductions, the decode attention (its cp.async pipeline becomes
# synchronous copies on AMD: src/hip/hip_ptx_decls.h) and its split merge.
# Read by cmake/hip.cmake (real targets) and cmake/sim.cmake (simulated).
file(GLOB qb_hip_kernel_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/hip/*.hip)
set(qb_hip_shared quant_act attn_append attn_merge gemm_reduce w4a16_aux w4a8_prepack sp24_prepack dev_check
    attn_decode attn_decode_f16 attn_decode_bf16 attn_decode_e4m3 attn_decode_i8 attn_decode_u4)
foreach(s ${qb_hip_shared})
  list(APPEND qb_hip_kernel_sources ${PROJECT_SOURCE_DIR}/src/cuda/${s}.cu)
endforeach()
