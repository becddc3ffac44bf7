#!/usr/bin/env bash
# Benchmark-only dependencies: llama.cpp as the side-by-side reference of bench/. Installs the npm
# package node-llama-cpp@3.22.1 and its prebuilt CPU binaries @node-llama-cpp/linux-x64@3.22.1
# (llama.cpp release v0.5.0) from bench/llamacpp/package-lock.json without downloading or compiling
# anything else (NODE_LLAMA_CPP_SKIP_DOWNLOAD, no install scripts, optional GPU packages omitted:
# the registry's lock cannot list the other platforms' packages, so `npm install --no-save` with the
# lock is used rather than `npm ci`), copies llama.h and the ggml headers of that release out of
# the package's git bundle (never committed), and compiles bench/llamacpp/llamacpp_driver.c against
# the prebuilt libraries into bench/llamacpp/out/llamacpp-driver. Needs node/npm and git (deps.sh).
# Never run by deps.sh, the tests or the demo. Idempotent.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/bench/llamacpp"
libdir="$dir/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
bundle="$dir/node_modules/node-llama-cpp/llama/gitRelease.bundle"

if [ ! -f "$libdir/libllama.v0.5.0.so" ] || [ ! -f "$bundle" ] || \
   [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
  echo "bench-deps: installing llama.cpp's prebuilt library (npm, package-lock.json)"
  (cd "$dir" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-save --omit=optional --ignore-scripts \
     --no-audit --no-fund --loglevel=error >/dev/null)
fi

if [ ! -f "$dir/include/llama.h" ] || [ "$bundle" -nt "$dir/include/llama.h" ]; then
  echo "bench-deps: llama.h and ggml headers from the package's git bundle"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  git clone -q --bare "$bundle" "$tmp/src.git"
  mkdir -p "$dir/include"
  for f in include/llama.h ggml/include/ggml.h ggml/include/ggml-cpu.h ggml/include/ggml-backend.h \
           ggml/include/ggml-alloc.h ggml/include/ggml-opt.h ggml/include/gguf.h; do
    git --git-dir="$tmp/src.git" show "HEAD:$f" > "$dir/include/$(basename "$f")"
  done
fi

mkdir -p "$dir/out"
if [ ! -x "$dir/out/llamacpp-driver" ] || [ "$dir/llamacpp_driver.c" -nt "$dir/out/llamacpp-driver" ] || \
   [ "$dir/include/llama.h" -nt "$dir/out/llamacpp-driver" ]; then
  echo "bench-deps: compiling bench/llamacpp/out/llamacpp-driver"
  gcc -O2 -Wall -Wextra -Werror -I"$dir/include" -DLLAMACPP_LIBDIR="\"$libdir\"" "$dir/llamacpp_driver.c" \
      -L"$libdir" -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so -Wl,-rpath,"$libdir" -lm \
      -o "$dir/out/llamacpp-driver"
fi
