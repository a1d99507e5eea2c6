#!/usr/bin/env bash
# The native TensorFlow backend of the tfjs engine, built from registry parts only (docs/native.md):
# @tensorflow/tfjs-node's binding (binding/*.cc of its npm tarball) compiled against the TensorFlow C library of
# the PyPI wheel of the libtensorflow version that tfjs-node expects, instead of its install script's download.
#
#   scripts/native.sh [cpu|gpu]        (npm run native; npm run native -- gpu)
#
# cpu: @tensorflow/tfjs-node (an optional dependency of package.json, pinned by package-lock.json) against
#      tensorflow-cpu==2.9.1. gpu: @tensorflow/tfjs-node-gpu (installed here, --no-save) against tensorflow==2.9.1
#      and the CUDA 11 / cuDNN 8 libraries of NVIDIA's PyPI wheels (CUDA_WHEELS below); built and loaded (on the
#      CPU) here, never run on a GPU.
# Needs: Node with its headers (node_api.h), python3 with pip, g++, nm (binutils), flock (util-linux).
# Cached under $DYNSWEEP_CACHE/native (default ~/.cache/dynsweep/native): wheels, the extracted library, the
# compiled binding. Idempotent: a run that finds everything in place checks that it loads and returns.
# The binding is copied into node_modules/<package>/lib/napi-v<N>/ (where tfjs-node looks for it) and finds the
# library by an absolute run path into the cache, so the cache must stay where it was built.
set -euo pipefail
cd "$(dirname "$0")/.."

variant=${1:-cpu}
# The libtensorflow that @tensorflow/tfjs-node 4.22 is built for (LIBTENSORFLOW_VERSION in its
# scripts/deps-constants.js); checked against the installed package below.
TF_VERSION=2.9.1
# CUDA 11.8 / cuDNN 8.6 builds of the libraries TF 2.9 (built for CUDA 11.2, cuDNN 8.1) opens at run time; CUDA 11
# minor-version compatibility lets 11.8 serve it, and 11.8 / cuDNN 8.6 know Hopper GPUs.
CUDA_WHEELS=(nvidia-cuda-runtime-cu11==11.8.89 nvidia-cublas-cu11==11.11.3.6 nvidia-cufft-cu11==10.9.0.58
  nvidia-curand-cu11==10.3.0.86 nvidia-cusolver-cu11==11.4.1.48 nvidia-cusparse-cu11==11.7.5.86
  nvidia-cudnn-cu11==8.6.0.163)
case $variant in
  cpu) pkg=@tensorflow/tfjs-node; wheels=("tensorflow-cpu==$TF_VERSION") ;;
  gpu) pkg=@tensorflow/tfjs-node-gpu; wheels=("tensorflow==$TF_VERSION" "${CUDA_WHEELS[@]}") ;;
  *) echo "native.sh: unknown variant '$variant' (cpu or gpu)" >&2; exit 2 ;;
esac

cache=${DYNSWEEP_CACHE:-$HOME/.cache/dynsweep}/native
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # one build at a time per cache (parallel test runs)
say() { echo "native: $*" >&2; }
started=$(date +%s)

# 1. The package, without its install script (it downloads libtensorflow from outside the registries).
tfjs_version=$(node -p "require('@tensorflow/tfjs/package.json').version")
if ! node -e "require.resolve('$pkg/package.json')" 2>/dev/null; then
  if [ "$variant" = cpu ]; then
    # In package-lock.json as an optional dependency; npm 10 removes it when its install script fails (offline),
    # npm 11 keeps it (allowScripts denies the script). Restore it at the locked version, scripts off.
    say "installing $pkg from package-lock.json (--ignore-scripts)"
    npm install --no-save --ignore-scripts --no-audit --no-fund >&2
  else
    say "installing $pkg@$tfjs_version (--no-save --ignore-scripts)"
    npm install --no-save --ignore-scripts --no-audit --no-fund "$pkg@$tfjs_version" >&2
  fi
fi
pkg_dir=$(dirname "$(node -p "require.resolve('$pkg/package.json')")")
pkg_version=$(node -p "require('$pkg/package.json').version")
[ "$pkg_version" = "$tfjs_version" ] || { say "$pkg $pkg_version does not match @tensorflow/tfjs $tfjs_version"; exit 1; }
expected=$(node -p "require('$pkg_dir/scripts/deps-constants.js').LIBTENSORFLOW_VERSION")
[ "$expected" = "$TF_VERSION" ] || { say "$pkg $pkg_version expects libtensorflow $expected, this script builds $TF_VERSION"; exit 1; }

# 2. The wheels (pip download: no install, any Python; the C library does not depend on the interpreter).
mkdir -p "$cache/wheels"
for req in "${wheels[@]}"; do
  name=${req%%==*}; version=${req##*==}
  if ! compgen -G "$cache/wheels/${name//-/_}-$version-*.whl" >/dev/null; then
    say "downloading $req from PyPI"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 310 \
      --platform manylinux2014_x86_64 --dest "$cache/wheels" "$req" >&2
  fi
done

# 3. The library: the wheel exports the TF_ / TFE_ C API from _pywrap_tensorflow_internal.so, next to
# libtensorflow_framework.so.2; its C headers are in tensorflow/include. Extracted as real files (TF finds its
# own dependencies, and dlopens the CUDA libraries, through $ORIGIN run paths).
root=$cache/tf-$TF_VERSION-$variant
lib=$root/lib
if [ ! -f "$root/.extracted" ]; then
  say "extracting the TensorFlow C library into $root"
  rm -rf "$root"
  mkdir -p "$lib" "$root/include"
  python3 - "$root" "$cache/wheels" "${wheels[@]}" <<'PY'
import glob, os, shutil, sys, zipfile
root, wheels, reqs = sys.argv[1], sys.argv[2], sys.argv[3:]
def copy(z, member, dest):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with z.open(member) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    os.chmod(dest, 0o755)
for req in reqs:
    name, version = req.split("==")
    (wheel,) = glob.glob(os.path.join(wheels, f"{name.replace('-', '_')}-{version}-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        for m in z.namelist():
            if m.endswith("/"):
                continue
            if name.startswith("tensorflow"):
                if m in ("tensorflow/libtensorflow_framework.so.2", "tensorflow/python/_pywrap_tensorflow_internal.so"):
                    copy(z, m, os.path.join(root, "lib", os.path.basename(m)))
                elif m.startswith(("tensorflow/include/tensorflow/c/", "tensorflow/include/tensorflow/core/platform/")):
                    copy(z, m, os.path.join(root, "include", m[len("tensorflow/include/"):]))
            elif m.startswith("nvidia/") and "/lib/" in m and ".so" in os.path.basename(m):
                copy(z, m, os.path.join(root, "lib", os.path.basename(m)))  # CUDA libraries, flat beside TF
PY
  # Link names for the binding: -ltensorflow is the wheel's C API library, -ltensorflow_framework its framework.
  ln -sf _pywrap_tensorflow_internal.so "$lib/libtensorflow.so"
  ln -sf libtensorflow_framework.so.2 "$lib/libtensorflow_framework.so"
  # The wheel's library is also a Python extension: it refers to ~190 symbols of the Python C API (some of them
  # data, resolved at load time). No Python runs in Node, so a stub library defines them: functions abort with
  # their name, data are zeroed blocks, Py_IsInitialized says no. None is reached by the C API tfjs-node uses.
  {
    echo '#include <stdio.h>'
    echo '#include <stdlib.h>'
    echo 'static void die(const char *s) { fprintf(stderr, "dynsweep pystub: Python C API %s called outside Python\n", s); abort(); }'
    nm -D --undefined-only "$lib/_pywrap_tensorflow_internal.so" | awk '{print $NF}' | grep -E '^_?Py' | sort -u |
      while read -r s; do
        case $s in
          Py_IsInitialized) echo "int $s(void) { return 0; }" ;;
          PyExc_* | _Py_*Struct | Py*_Type) echo "void *$s[32];" ;;
          *) echo "void $s(void) { die(\"$s\"); }" ;;
        esac
      done
  } >"$root/pystub.c"
  gcc -shared -fPIC -O1 -Wl,-soname,libdynsweep_pystub.so -o "$lib/libdynsweep_pystub.so" "$root/pystub.c"
  touch "$root/.extracted"
fi

# 4. The binding: binding.gyp's sources, include dirs, NAPI_VERSION and libraries, compiled directly (no
# node-gyp: nothing to download, and the run path points into the cache). Keyed by everything that enters it.
module=$(cd "$pkg_dir" && node -p "require('@mapbox/node-pre-gyp').find(require('path').resolve('package.json'))")
napi=$(basename "$(dirname "$module")"); napi=${napi#napi-v}
node_include=$(dirname "$(dirname "$(node -p process.execPath)")")/include/node
[ -f "$node_include/node_api.h" ] || { say "no Node headers at $node_include (Debian: nodejs includes them; else install node's headers)"; exit 1; }
flags=(-shared -fPIC -O2 -std=c++17 -DNAPI_VERSION="$napi" -I"$node_include" -I"$root/include")
libs=(-L"$lib" -Wl,--no-as-needed -ltensorflow -ltensorflow_framework -ldynsweep_pystub -Wl,-rpath,"$lib")
key=$( { cat "$pkg_dir"/binding/*.cc "$pkg_dir"/binding/*.h; echo "${flags[*]} ${libs[*]} $pkg@$pkg_version"; } | sha256sum | cut -c1-16)
binding=$cache/binding-$variant-$key/tfjs_binding.node
if [ ! -f "$binding" ]; then
  say "compiling $pkg's binding (napi $napi)"
  mkdir -p "$(dirname "$binding")"
  g++ "${flags[@]}" "$pkg_dir/binding/tfjs_backend.cc" "$pkg_dir/binding/tfjs_binding.cc" "${libs[@]}" -o "$binding.tmp"
  mv "$binding.tmp" "$binding"
fi
if ! cmp -s "$binding" "$module"; then
  mkdir -p "$(dirname "$module")"
  cp "$binding" "$module"
fi

# 5. It loads and computes: a real op on the native backend. The GPU variant loads on a machine without a GPU too
# (TensorFlow then reports no libcuda.so.1 and runs on the CPU), so this also checks GPU images at build time.
TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2} node -e "
  const tf = require('$pkg');
  const v = tf.backend().binding.TF_Version;
  const s = tf.tensor([[1, 2], [3, 4]]).matMul(tf.tensor([[1], [1]])).dataSync().join(',');
  if (tf.getBackend() !== 'tensorflow' || s !== '3,7') throw new Error('native backend check failed: ' + tf.getBackend() + ' ' + s);
  const gpu = tf.backend().isUsingGpuDevice ? 'on a GPU' : 'on the CPU';
  console.error('native: $pkg $pkg_version on TensorFlow ' + v + ' ready, ' + gpu + ' ($module)');"
say "done in $(($(date +%s) - started)) s"
