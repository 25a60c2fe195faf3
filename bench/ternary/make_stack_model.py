#!/usr/bin/python3
"""make_stack_model.py: exports a stack of BitNet blocks (RMSNorm + BitLinear
up + ReLU^2 + BitLinear down + residual, tests/ternary/export_block.py) at
BitNet b1.58 2B4T's sizes to ONNX with PyTorch, for timing a compiled decode
step end to end against ONNX Runtime on the same file:

  /usr/bin/python3 bench/ternary/make_stack_model.py OUT_DIR [--hidden 2560 --ffn 6912 --depth 4]
  build/ternc compile OUT_DIR/stack.onnx -o OUT_DIR/stack --cpu=native
  OUT_DIR/stack --input x=OUT_DIR/x.npy --bench 50 --threads 2
  node bench/peers/ort_bench.js OUT_DIR/stack.onnx OUT_DIR/x.npy --threads 2 --iters 10
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "ternary"))
import export_block  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--hidden", type=int, default=2560)
    ap.add_argument("--ffn", type=int, default=6912)
    ap.add_argument("--depth", type=int, default=4)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(0)
    model = export_block.Stack(args.hidden, args.ffn, args.depth).eval()
    x = torch.randn(1, 1, args.hidden)
    torch.onnx.export(model, x, os.path.join(args.out_dir, "stack.onnx"), input_names=["x"], output_names=["y"],
                      opset_version=17)
    np.save(os.path.join(args.out_dir, "x.npy"), x.numpy())


if __name__ == "__main__":
    main()
