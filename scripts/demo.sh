#!/usr/bin/env bash
# demo.sh: set up ternc and run the main job on the bundled example: import
# the exported BitNet block, print its IR, optimize it, and run it through
# the reference interpreter, checking the result against PyTorch's output.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" "$root/build"
ternc="$root/build/ternc"
ex="$root/examples/bitnet_block"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== ternc import $ex/model.onnx (the IR as imported)"
"$ternc" import "$ex/model.onnx"
echo
echo "== after the cleanup pipeline (canonicalize, fold-constants, cse, dce)"
"$ternc" import "$ex/model.onnx" --passes=canonicalize,fold-constants,cse,dce --pass-timing
echo
echo "== ternc run: interpreter on examples/bitnet_block/input.npy"
"$ternc" run "$ex/model.onnx" --input x="$ex/input.npy" --output-dir "$out"
/usr/bin/python3 - "$out/y.npy" "$ex/expected.npy" <<'PY'
import sys, numpy as np
got, want = np.load(sys.argv[1]), np.load(sys.argv[2])
err = np.abs(got - want).max()
print(f"output y {got.shape} {got.dtype}; max |ternc - PyTorch| = {err:.3g}")
sys.exit(0 if np.allclose(got, want, rtol=1e-4, atol=1e-5) else 1)
PY
