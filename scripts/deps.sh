#!/usr/bin/env bash
# The one list of what opml needs on a fresh Debian 12 machine: Debian packages through apt-get,
# Ethereum tools (anvil, forge, cast, solc-js) through npm from tools/eth/package-lock.json.
# Idempotent and quiet when everything is already there. Run as root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake pkg-config git ca-certificates curl
  libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
  libsecp256k1-dev librocksdb-dev libopenblas-dev
  libcurl4-openssl-dev libcjson-dev nettle-dev
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-user
  libonnx-dev libonnx-testdata dataset-fashion-mnist zlib1g-dev
  docker-compose
  jq
  clang libclang-rt-14-dev
)
# Node.js and npm come from Debian unless the machine already has them (some images ship their own).
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Ethereum tooling, pinned by the committed lock file.
if [ ! -x "$top/tools/eth/node_modules/.bin/anvil" ] || [ ! -x "$top/tools/eth/node_modules/.bin/forge" ] \
   || [ "$top/tools/eth/package-lock.json" -nt "$top/tools/eth/node_modules/.package-lock.json" ]; then
  echo "deps: installing Ethereum tools (npm ci)"
  (cd "$top/tools/eth" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
