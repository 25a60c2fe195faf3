#!/usr/bin/env bash
# demo.sh: set up ternc and run the main job on the bundled examples:
# 1. compile the small ternary language model trained on Debian's fortunes
#    (examples/tiny-fortunes) into a native executable, generate text with
#    it and measure its held-out perplexity against PyTorch's;
# 2. import the exported BitNet block, print its IR before and after the
#    ternary passes, run it through the reference interpreter, then compile
#    it and run that, checking both against PyTorch's output.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" "$root/build"
ternc="$root/build/ternc"
ex="$root/examples/bitnet_block"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

lm="$root/examples/tiny-fortunes"
echo "== ternc compile $lm/model.onnx: a ternary language model (KV cache, prefill and decode graphs,"
echo "   its SentencePiece tokenizer embedded) into one executable"
"$ternc" compile "$lm/model.onnx" -o "$out/fortunes" --cpu=native
"$out/fortunes" --info
echo
echo "== ./fortunes --prompt ... (sampled, seeded)"
"$out/fortunes" --prompt "The best way to" -n 60 --seed 42 --temp 0.7
"$out/fortunes" --prompt "Q: What" -n 60 --seed 7 --temp 0.7
echo
echo "== held-out perplexity: the compiled ternary model vs PyTorch (examples/tiny-fortunes/perplexity.json)"
"$out/fortunes" --perplexity "$lm/heldout.txt" --ctx 256
/usr/bin/python3 -c "import json; p = json.load(open('$lm/perplexity.json')); print(f\"PyTorch: ternary {p['ternary_pytorch']}, float (latent weights) {p['float_latent']}, over {p['tokens_scored']} tokens\")"
echo

echo "== ternc import $ex/model.onnx (the IR as imported)"
"$ternc" import "$ex/model.onnx"
echo
echo "== after the ternary pipeline: the fake-quant subgraphs become ActQuant, the weights tern constants,"
echo "   and each quantized matmul with its norm, scales, activation and residual one BitLinear"
"$ternc" import "$ex/model.onnx" --pass-timing \
  --passes=canonicalize,fold-constants,cse,dce,act-quant,ternarize,fuse-bitlinear,dce
echo
echo "== ternc run: interpreter on examples/bitnet_block/input.npy"
"$ternc" run "$ex/model.onnx" --input x="$ex/input.npy" --output-dir "$out/interp"
check() {
  /usr/bin/python3 - "$1" "$ex/expected.npy" "$2" <<'PY'
import sys, numpy as np
got, want = np.load(sys.argv[1]), np.load(sys.argv[2])
err = np.abs(got - want).max()
print(f"{sys.argv[3]}: output y {got.shape} {got.dtype}; max |ternc - PyTorch| = {err:.3g}")
sys.exit(0 if np.allclose(got, want, rtol=1e-4, atol=1e-5) else 1)
PY
}
check "$out/interp/y.npy" interpreter
echo
echo "== ternc compile: a native executable (x86-avx2, this CPU's best ternary kernel), then run it"
"$ternc" compile "$ex/model.onnx" -o "$out/bitnet_block" --stats --cpu=native
"$out/bitnet_block" --info
"$out/bitnet_block" --input x="$ex/input.npy" --output-dir "$out/native"
check "$out/native/y.npy" "compiled executable"
"$out/bitnet_block" --input x="$ex/input.npy" --bench 100
