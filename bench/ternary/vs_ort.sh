#!/bin/bash
# vs_ort.sh: ternc's native ternary GEMV kernel against ONNX Runtime's float MatMul on the decode shapes of
# bench/ternary, on 1 and 2 threads. ORT runs y[1,N] = x[1,K] @ W[K,N] with W = ternary * scale in float32
# (make_matmul_models.py); ternc's time is ternary_bench's BitLinear GEMV (int8 activations quantized once) with
# weights rotating out of cache, and also with one matrix in cache. Prints a markdown table with ORT / ternc.
#
#   bash bench/ternary/vs_ort.sh [BENCH_BUILD_DIR] [ITERS]     (SHAPES="NxK ..." to run fewer shapes)
#
# Needs: cmake, ninja, clang++-16, /usr/bin/python3 with numpy and onnx, node, and
# `cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip npm install`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-tbench}
iters=${2:-50}
shapes=${SHAPES:-"2560x2560 640x2560 6912x2560 2560x6912 4096x4096 16384x4096 4096x16384"}
work=$(mktemp -d /tmp/ternc-vs-ort.XXXXXX)
trap 'rm -rf "$work"' EXIT

[ -d "$root/bench/peers/node_modules/onnxruntime-node" ] ||
  { echo "vs_ort.sh: run 'cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip npm install' first" >&2; exit 1; }
cmake -S "$root/bench/ternary" -B "$build" -G Ninja > /dev/null
ninja -C "$build" -j2 ternary_bench > /dev/null

# ternc: GEMV only, no llama.cpp; --hot adds the in-cache time (a single ORT model's weights stay in cache
# when they fit, so that is the like-for-like number for the small shapes).
# shellcheck disable=SC2086
"$build/ternary_bench" --skip-ggml --skip-gemm --hot --shapes $shapes --tsv "$work/ternc.tsv" > "$work/ternc.md"

echo "| N x K | threads | ternc us (from memory) | ternc us (in cache) | ORT us | ORT / ternc | ORT / ternc in cache |"
echo "|---|---|---|---|---|---|---|"
for shape in $shapes; do
  n=${shape%x*}
  k=${shape#*x}
  model=$work/matmul_1x${k}x${n}
  /usr/bin/python3 "$root/bench/ternary/make_matmul_models.py" "$work" "$shape" > /dev/null
  for t in 1 2; do
    ort=$(node "$root/bench/peers/ort_bench.js" "$model.onnx" "$model.x.npy" --threads "$t" --iters "$iters" \
            --warmup 10 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"] * 1e3)')
    read -r cold hot < <(awk -v n="$n" -v k="$k" -v t="$t" '$1 == n && $2 == k && $3 == t { print $4, $5 }' \
                           "$work/ternc.tsv")
    /usr/bin/python3 -c \
      "print(f'| $shape | $t | {$cold:.1f} | {$hot:.1f} | {$ort:.1f} | {$ort/$cold:.2f}x | {$ort/$hot:.2f}x |')"
  done
  rm -f "$model.onnx" "$model.x.npy"
done
echo
grep -E '^- (CPU|memory)|^The machine' "$work/ternc.md"
version=$(node -p "require('$root/bench/peers/node_modules/onnxruntime-node/package.json').version")
echo "ORT: onnxruntime-node $version, CPU provider, median of $iters runs after 10 warm-up runs (ort_bench.js)."
echo "reproduce: bash bench/ternary/vs_ort.sh $build $iters"
