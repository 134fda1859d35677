#!/usr/bin/env bash
# hip_mfma_check.sh OBJDIR - the AMD kernels' code, checked without a GPU.
# For every HIP object of the build (OBJDIR/<target>/*.o, one gfx target per
# folder): take its offload bundle (.hip_fatbin), unbundle the target's code
# object (clang-offload-bundler), disassemble it (llvm-objdump --mcpu=<target>)
# and read its kernel metadata (llvm-readelf --notes), then check that
#   - every MFMA GEMM kernel the target must have is there (gfx90a: 12 f16/bf16,
#     6 i8, no fp8; gfx942: 12 f16/bf16, 6 i8, 18 fp8), and contains the MFMA
#     instruction of its template arguments: f16 v_mfma_f32_16x16x16_f16, bf16
#     v_mfma_f32_16x16x16_bf16 (gfx90a: ..bf16_1k), i8 v_mfma_i32_16x16x16_i8
#     (gfx90a) / v_mfma_i32_16x16x32_i8 (gfx942), fp8 v_mfma_f32_16x16x32_<w>_<x>
#     with <w> the weight's and <x> the activations' fp8/bf8;
#   - no MFMA kernel spills to scratch: private segment size 0, no scratch_*
#     and no buffer_load/buffer_store (the kernels use only global loads and
#     stores: a buffer access is a scratch access). Register-to-register
#     spills (VGPRs to AGPRs, SGPRs to VGPR lanes: the metadata's spill
#     counts with a private segment of 0) are not memory; they are printed;
#   - the decode attention kernels (the shared source, CUDA cores / VALU:
#     no MFMA) and the 8 prepack kernels (src/hip/hip_prepack.hip) exist and
#     use no scratch either;
#   - no global symbol is defined twice across the objects of all targets
#     (both targets live in one libqblas, next to the CUDA backend).
# Tools: llvm-19 and clang-tools-19 (tools/deps), or those named by
# LLVM_OBJDUMP, LLVM_OBJCOPY, LLVM_READELF, CLANG_OFFLOAD_BUNDLER, LLVM_NM.
set -euo pipefail
objdir=$1
pick() { # first of the candidates that exists
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 && { echo "$c"; return; }; done
  echo "hip_mfma_check: none of $* found" >&2; exit 2
}
OBJDUMP=${LLVM_OBJDUMP:-$(pick llvm-objdump-19 llvm-objdump-20 llvm-objdump-18 llvm-objdump)}
OBJCOPY=${LLVM_OBJCOPY:-$(pick llvm-objcopy-19 llvm-objcopy-20 llvm-objcopy-18 llvm-objcopy)}
READELF=${LLVM_READELF:-$(pick llvm-readelf-19 llvm-readelf-20 llvm-readelf-18 llvm-readelf)}
BUNDLER=${CLANG_OFFLOAD_BUNDLER:-$(pick clang-offload-bundler-19 clang-offload-bundler-20 clang-offload-bundler-18 clang-offload-bundler)}
NM=${LLVM_NM:-$(pick llvm-nm-19 llvm-nm-20 llvm-nm-18 nm)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for tdir in "$objdir"/*/; do
  t=$(basename "$tdir")
  : >"$tmp/$t.meta"
  : >"$tmp/$t.dis"
  for o in "$tdir"*.o; do
    n=$(basename "$o" .o)
    # an object without device code (gfx90a's fp8 launchers: no fp8 MFMA
    # there) has no bundle; the kernel counts below say what must exist
    "$OBJCOPY" --dump-section=.hip_fatbin="$tmp/$n.fatbin" "$o" "$tmp/$n.host" 2>/dev/null || {
      echo "note $t/$n: no device code"; continue; }
    id=$("$BUNDLER" --list --type=o --input="$tmp/$n.fatbin" | grep -E -- "-$t(:|$)" | head -1)
    [ -n "$id" ] || { echo "FAIL $t/$n: the bundle holds no $t code object"; fail=1; continue; }
    "$BUNDLER" --unbundle --type=o --input="$tmp/$n.fatbin" --targets="$id" --output="$tmp/$n.co"
    "$READELF" --notes "$tmp/$n.co" >>"$tmp/$t.meta"
    "$OBJDUMP" -d --mcpu="$t" "$tmp/$n.co" >>"$tmp/$t.dis"
  done
  # per kernel: name, private segment, spills (metadata), then the MFMA
  # mnemonics and scratch/buffer accesses of its code (disassembly)
  awk '/^ *\.name:/ {k=$2} /\.private_segment_fixed_size:/ {p[k]=$2}
       /\.vgpr_spill_count:/ {v[k]=$2} /\.sgpr_spill_count:/ {s[k]=$2}
       END {for (k in p) print k, p[k], (k in v ? v[k] : 0), (k in s ? s[k] : 0)}' "$tmp/$t.meta" | sort >"$tmp/$t.kmeta"
  awk '/^[0-9a-f]+ <.*>:$/ {k=$2; gsub(/[<>:]/, "", k); next}
       k != "" && /v_mfma|v_smfmac/ {for (i = 1; i <= NF; i++) if ($i ~ /^v_s?mfma/) m[k] = m[k] " " $i}
       k != "" && /scratch_|buffer_load|buffer_store/ {bad[k] = 1}
       END {for (k in m) print k, (k in bad ? "SCRATCH" : "ok"), m[k]}' "$tmp/$t.dis" | sort >"$tmp/$t.kdis"
  nf16=0 ni8=0 nfp8=0 ndec=0 ddec=0 npk=0
  # a kernel without MFMA: scratch fails (private segment, or scratch /
  # buffer accesses in its code), VGPRs spilled to AGPRs are printed
  valu_no_scratch() { # kernel priv vsp
    if [ "$2" != 0 ] || grep -A100000 -F "<$1>:" "$tmp/$t.dis" | awk 'NR > 1 && /^[0-9a-f]+ <.*>:$/ {exit} /scratch_|buffer_load|buffer_store/ {f = 1} END {exit !f}'; then
      echo "FAIL $t $1: scratch (private segment $2, VGPR spills $3)"; return 1
    elif [ "$3" != 0 ]; then
      echo "ok   $t $1: $3 VGPRs spilled to AGPRs (private segment 0, no scratch)"
    fi
  }
  while read -r k priv vsp ssp; do
    want=""
    if [[ $k =~ gemm_f16_kernelILi[0-9]ELb([01])ELb[01]EE ]]; then
      [ "${BASH_REMATCH[1]}" = 1 ] && want='v_mfma_f32_16x16x16_?bf16(_1k)?' || want='v_mfma_f32_16x16x16_?f16'
      nf16=$((nf16 + 1))
    elif [[ $k =~ gemm_i8_kernelILi[0-9]ELb[01]EE ]]; then
      [[ $t == gfx94* ]] && want='v_mfma_i32_16x16x32_?i8' || want='v_mfma_i32_16x16x16_?i8'
      ni8=$((ni8 + 1))
    elif [[ $k =~ gemm_fp8_kernelILi[0-9]ELi([0-9]+)ELb([01])EE ]]; then
      w=fp8 x=fp8
      [ "${BASH_REMATCH[2]}" = 1 ] && w=bf8
      [ "${BASH_REMATCH[1]}" = 8 ] && x=bf8 # QBLAS_DTYPE_E5M2
      want="v_mfma_f32_16x16x32_${w}_${x}"
      nfp8=$((nfp8 + 1))
    elif [[ $k =~ attn_decode_kernel ]]; then
      # the decode attention (shared source, no MFMA): no scratch either
      ndec=$((ndec + 1))
      valu_no_scratch "$k" "$priv" "$vsp" || { fail=1; ddec=1; }
      continue
    elif [[ $k =~ (pack_u4|pack_w4a8_params|pack_rows|pack_fp8|sp24_decompress)_kernel ]]; then
      npk=$((npk + 1))
      valu_no_scratch "$k" "$priv" "$vsp" || fail=1
      continue
    else
      continue
    fi
    line=$(grep -F "$k " "$tmp/$t.kdis" || true)
    mn=$(echo "$line" | cut -d' ' -f3- | tr ' ' '\n' | sort -u | tr '\n' ' ')
    if ! echo " $mn" | grep -Eq " ${want}( |$)"; then
      echo "FAIL $t $k: no ${want} (has: ${mn:-none})"; fail=1
    elif [ "$priv" != 0 ] || echo "$line" | grep -q SCRATCH; then
      echo "FAIL $t $k: scratch (private segment $priv, VGPR spills $vsp, $(echo "$line" | cut -d' ' -f2))"; fail=1
    elif [ "$vsp" != 0 ] || [ "$ssp" != 0 ]; then
      # with no private segment a VGPR spill went to AGPRs (gfx90a/gfx942
      # have them), an SGPR spill to VGPR lanes: registers, not memory
      echo "ok   $t $k: $mn(private 0, no scratch; spilled to registers: $vsp VGPRs to AGPRs, $ssp SGPRs to VGPR lanes)"
    else
      echo "ok   $t $k: $mn(private 0, no spills)"
    fi
  done <"$tmp/$t.kmeta"
  case $t in
  gfx90a) exp="12 6 0" ;;
  gfx94*) exp="12 6 18" ;;
  *) exp="$nf16 $ni8 $nfp8" ;;
  esac
  if [ "$nf16 $ni8 $nfp8" != "$exp" ]; then
    echo "FAIL $t: MFMA kernels f16/i8/fp8 = $nf16 $ni8 $nfp8, want $exp"; fail=1
  else
    echo "$t: $nf16 f16/bf16, $ni8 i8, $nfp8 fp8 MFMA kernels checked"
  fi
  if [ "$ndec" = 0 ]; then
    echo "FAIL $t: no decode attention kernel"; fail=1
  elif [ "$ddec" = 0 ]; then
    echo "$t: $ndec decode attention kernels, none uses scratch"
  fi
  if [ "$npk" != 8 ]; then
    echo "FAIL $t: $npk prepack kernels, want 8 (u4, W4A8 params, 3 row widths, fp8, 2:4 of 1 and 2 bytes)"; fail=1
  else
    echo "$t: 8 prepack kernels checked for scratch"
  fi
done
# one definition of each global symbol across every target's objects
"$NM" --defined-only -g "$objdir"/*/*.o 2>/dev/null | awk 'NF == 3 && $2 ~ /[TDBRW]/ && $2 != "W" {print $3}' | sort | uniq -d >"$tmp/dups"
if [ -s "$tmp/dups" ]; then
  echo "FAIL: global symbols defined in more than one HIP object:"; sed 's/^/  /' "$tmp/dups"; fail=1
fi
[ $fail = 0 ] && echo "hip_mfma_check: all MFMA kernels contain their instructions; no kernel checked spills to scratch"
exit $fail
