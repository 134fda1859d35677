#!/bin/sh
# The installed package relocates: install this build with
# `cmake --install --prefix DIR` into a scratch DIR (not the configure-time
# prefix), then check that pkg-config, reading DIR's qblas.pc, points at the
# headers and the library installed under DIR, and that a program compiles
# against its --cflags. (tools/package-check also links and runs one.)
#   pkgconfig_prefix.sh BUILD_DIR C_COMPILER PKG_CONFIG
set -eu
build=$1 cc=$2 pkgconfig=$3
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name qblas.pc)
[ -n "$pc" ] || { echo "FAIL: no qblas.pc under $prefix"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
real_prefix=$(cd "$prefix" && pwd -P)
for var in includedir libdir; do
  dir=$("$pkgconfig" --variable=$var qblas)
  real=$(cd "$dir" 2>/dev/null && pwd -P) || { echo "FAIL: $var=$dir does not exist"; exit 1; }
  case "$real/" in
    "$real_prefix"/*) ;;
    *) echo "FAIL: $var=$dir is outside the install prefix $prefix"; exit 1 ;;
  esac
done
[ -f "$("$pkgconfig" --variable=includedir qblas)/qblas.h" ] || { echo "FAIL: no qblas.h in includedir"; exit 1; }
[ -f "$("$pkgconfig" --variable=libdir qblas)/libqblas.a" ] || { echo "FAIL: no libqblas.a in libdir"; exit 1; }
printf '#include <qblas.h>\nint main(void) { return qblas_get_version() == QBLAS_VERSION ? 0 : 1; }\n' >"$prefix/t.c"
# shellcheck disable=SC2046 # the flags are words
"$cc" -std=c11 -fsyntax-only $("$pkgconfig" --cflags qblas) "$prefix/t.c" || { echo "FAIL: --cflags do not find qblas.h"; exit 1; }
echo "qblas.pc relocates: $("$pkgconfig" --cflags --libs qblas)"
