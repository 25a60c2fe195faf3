#!/usr/bin/python3
"""export.py: exports a small BitNet b1.58 block from PyTorch to ONNX.

Writes, next to this script:
  model.onnx    RMSNorm -> BitLinear(64->128) -> ReLU^2 -> BitLinear(128->64)
                -> residual add; opset 17, dims `batch` and `seq` dynamic
  input.npy     a seeded random input, float32 [1, 8, 64]
  expected.npy  PyTorch's output for input.npy

Run with Debian's Python (torch 1.13, onnx): /usr/bin/python3 export.py
"""
import os
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn

HIDDEN = 64
FFN = 128
EPS = 1e-5


class RMSNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim) + 0.1 * torch.randn(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


def weight_quant(w):
    """Absmean ternarization: W~ = RoundClip(W / mean|W|, -1, 1) * mean|W|."""
    scale = 1.0 / w.abs().mean().clamp(min=EPS)
    return (w * scale).round().clamp(-1, 1) / scale


def activation_quant(x):
    """Per-token absmax int8 fake quantization: s = 127 / max|x|."""
    scale = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=EPS)
    return (x * scale).round().clamp(-128, 127) / scale


class BitLinear(nn.Linear):
    """A linear layer with ternary weights and int8 activations in the
    forward pass; the straight-through estimator (x + (q(x) - x).detach())
    keeps the latent float weights trainable."""

    def forward(self, x):
        w = self.weight
        x_q = x + (activation_quant(x) - x).detach()
        w_q = w + (weight_quant(w) - w).detach()
        return nn.functional.linear(x_q, w_q)


class BitNetBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = RMSNorm(HIDDEN)
        self.up = BitLinear(HIDDEN, FFN, bias=False)
        self.down = BitLinear(FFN, HIDDEN, bias=False)

    def forward(self, x):
        h = self.up(self.norm(x))
        h = torch.relu(h) ** 2
        return x + self.down(h)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    block = BitNetBlock().eval()
    x = torch.randn(1, 8, HIDDEN)
    with torch.no_grad():
        y = block(x)

    path = os.path.join(here, "model.onnx")
    # torch 1.13 warns about its own prim::Constant shape inference; harmless.
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
    # do_constant_folding=False keeps the absmean weight quantizer visible in
    # the graph, as in a real exported checkpoint: recognizing it is ternc's
    # job (fold-constants now, ternarize later), not the exporter's.
    torch.onnx.export(block, (x,), path, opset_version=17, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}},
                      do_constant_folding=False)
    np.save(os.path.join(here, "input.npy"), x.numpy())
    np.save(os.path.join(here, "expected.npy"), y.numpy())

    model = onnx.load(path)
    onnx.checker.check_model(model)
    ops = sorted({n.op_type for n in model.graph.node})
    print("wrote", path, "ops:", " ".join(ops))


if __name__ == "__main__":
    main()
