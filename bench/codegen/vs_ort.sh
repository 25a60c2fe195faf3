#!/bin/bash
# vs_ort.sh: ternc-compiled float MatMul, LayerNorm and Softmax against ONNX
# Runtime's CPU provider on the same .onnx files, on 1 and 2 threads, in one
# run. Prints one table with median latencies and the ratio ORT/ternc (> 1
# means ternc is faster).
#
#   bash bench/codegen/vs_ort.sh [BUILD_DIR] [ITERS]
#
# Needs: the build (ternc), /usr/bin/python3 with numpy and onnx, node, and
# `cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip npm install`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
iters=${2:-200}
ternc=$build/ternc
work=$(mktemp -d /tmp/ternc-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

[ -x "$ternc" ] || { echo "vs_ort.sh: $ternc not built" >&2; exit 1; }
[ -d "$root/bench/peers/node_modules/onnxruntime-node" ] ||
  { echo "vs_ort.sh: run 'cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip npm install' first" >&2; exit 1; }

/usr/bin/python3 "$root/bench/models/make_models.py" "$work/models" > /dev/null
models="matmul_1x2048x2048 matmul_128x2048x2048 layernorm_128x2048 softmax_128x2048"
for m in $models; do
  "$ternc" compile "$work/models/$m.onnx" --cpu=native -o "$work/$m"
done

printf "%-22s %7s %12s %12s %10s\n" model threads "ternc ms" "ORT ms" "ORT/ternc"
for m in $models; do
  for t in 1 2; do
    mine=$("$work/$m" --input "x=$work/models/$m.x.npy" --bench "$iters" --threads "$t" |
           sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
    ort=$(node "$root/bench/peers/ort_bench.js" "$work/models/$m.onnx" "$work/models/$m.x.npy" \
            --threads "$t" --iters "$iters" --warmup 20 |
          /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])')
    ratio=$(/usr/bin/python3 -c "print(f'{$ort/$mine:.2f}')")
    printf "%-22s %7s %12s %12.4f %10s\n" "$m" "$t" "$mine" "$ort" "$ratio"
  done
done
