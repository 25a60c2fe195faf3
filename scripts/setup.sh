#!/usr/bin/env bash
# setup.sh: install ternc's Debian packages (as root, no prompt) and build it.
# Usage: scripts/setup.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true

packages=(
  build-essential cmake ninja-build git
  llvm-16-dev clang-16 lld-16 llvm-16-tools
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev
  python3 python3-numpy python3-onnx python3-torch python3-matplotlib
  libpcre2-dev libsentencepiece-dev sentencepiece
  # aarch64: the cross toolchain and arm64 libraries the runtime is cross-built with, and qemu-aarch64 for the
  # tests (docs/aarch64.md). Not libsentencepiece-dev:arm64: it would replace the amd64 one.
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  libprotobuf-dev:arm64 libpcre2-dev:arm64
)
missing=()
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
# The arm64 packages above come from Debian's multiarch archive.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
fi
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm for the tests' oracles: Debian's, unless a node is already installed (e.g. NodeSource's).
command -v npm > /dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The tests' oracles from npm (tests/peers/package.json): the tokenizer
# reference implementations and llama.cpp (node-llama-cpp's prebuilt CPU
# library; the optional GPU builds are skipped). Offline-safe: the registry is
# the only source. Reinstalled when package.json changes.
peers="$root/tests/peers"
if [ ! -f "$peers/node_modules/.package-lock.json" ] || [ "$peers/package.json" -nt "$peers/node_modules/.package-lock.json" ]; then
  (cd "$root/tests/peers" && npm install --no-audit --no-fund --omit=optional --loglevel=error)
fi

cmake -S "$root" -B "$build" -G Ninja "$@"
targets=()
for t in ${TERNC_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
