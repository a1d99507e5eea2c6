#!/usr/bin/env bash
# The fast engine's native kernel (native/; docs/performance.md "Native kernel"): an N-API addon compiled with this
# machine's g++ against Node's own headers (no node-gyp, nothing downloaded) into dist/native/fast-kernel.node, with
# the spirals kernels and the warm Lanczos solve's vector work for AVX2 and AVX-512 (the addon picks what the CPU
# runs). Run by `npm run build`. Optional by design: without an x86-64 CPU, g++ or Node's headers it says why and
# exits 0, and the fast engine runs its WebAssembly kernel and the Lanczos work its JS code (the same numbers). DYNSWEEP_NATIVE_KERNEL: auto (default), off (no build), required (a
# missing compiler or a failed build is an error). Rebuilt only when the sources, flags, compiler or Node change.
# Needs: g++ (CXX overrides), Node's headers (node_api.h; Debian's nodejs ships them), objdump (binutils) for the
# no-FMA check when present.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${DYNSWEEP_NATIVE_KERNEL:-auto}
say() { echo "native kernel: $*" >&2; }
skip() {
  if [ "$mode" = required ]; then say "$1 (DYNSWEEP_NATIVE_KERNEL=required)"; exit 1; fi
  say "$1; not built, the fast engine runs its WebAssembly kernel"
  exit 0
}
case $mode in
  off) say "off (DYNSWEEP_NATIVE_KERNEL=off)"; exit 0 ;;
  auto | required) ;;
  *) say "DYNSWEEP_NATIVE_KERNEL must be auto, off or required, not '$mode'"; exit 2 ;;
esac
[ "$(uname -m)" = x86_64 ] || skip "not an x86-64 machine"
cxx=${CXX:-g++}
command -v "$cxx" >/dev/null || skip "no C++ compiler ($cxx)"
node_include=$(dirname "$(dirname "$(node -p process.execPath)")")/include/node
[ -f "$node_include/node_api.h" ] || skip "no Node headers at $node_include"

# Bit-identity with the wasm kernel needs IEEE arithmetic exactly as written: no fused multiply-add (-ffp-contract=off;
# the AVX-512 target implies FMA instructions), no fast-math reassociation.
common=(-O2 -std=c++17 -fPIC -fno-fast-math -ffp-contract=off -Wall -Wextra -Wno-maybe-uninitialized)
out=dist/native
target=$out/fast-kernel.node
key=$( { cat native/*.h native/*.cc; echo "${common[*]}"; "$cxx" --version | head -1; node --version; } | sha256sum | cut -c1-16)
if [ -f "$target" ] && [ "$(cat "$out/fast-kernel.key" 2>/dev/null)" = "$key" ]; then exit 0; fi

mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build() {
  "$cxx" "${common[@]}" -DNATIVE_ISA=avx2 -mavx2 -c native/isa.cc -o "$tmp/avx2.o" &&
    "$cxx" "${common[@]}" -DNATIVE_ISA=avx512 -mavx512f -mavx512dq -c native/isa.cc -o "$tmp/avx512.o" &&
    "$cxx" "${common[@]}" -DNAPI_VERSION=8 -I"$node_include" -c native/addon.cc -o "$tmp/addon.o" &&
    "$cxx" -shared "$tmp/addon.o" "$tmp/avx2.o" "$tmp/avx512.o" -o "$tmp/fast-kernel.node"
}
build || skip "the compile failed"
if command -v objdump >/dev/null && objdump -d "$tmp/fast-kernel.node" | grep -q 'vfn\?m\(add\|sub\)'; then
  say "fused multiply-adds in the binary: its numbers would differ from the wasm kernel's"
  exit 1
fi
node -e "const k = require('./$tmp/fast-kernel.node'); if (!Array.isArray(k.isas)) throw new Error('no isas');" 2>/dev/null ||
  node -e "const k = require('$tmp/fast-kernel.node'); if (!Array.isArray(k.isas)) throw new Error('no isas');" ||
  skip "the built addon does not load"
mv "$tmp/fast-kernel.node" "$target"
echo "$key" >"$out/fast-kernel.key"
say "built $target ($(node -p "require('./$target').isas.join(', ') || 'no supported instruction set on this CPU'"))"
