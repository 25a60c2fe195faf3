#!/usr/bin/python3
"""export_block.py: exports the ternary end-to-end test models from PyTorch.

Writes into OUT_DIR, for each model NAME:
  NAME.onnx          opset 17, exported by torch 1.13 with its quantizers kept
  NAME.input.npy     a seeded random input
  NAME.expected.npy  PyTorch's output for it: the oracle
  NAME.json          what the fused graph must hold (op counts)

Models:
  block      RMSNorm -> BitLinear -> ReLU^2 -> BitLinear -> + x, with
             BitLinear as in the BitNet b1.58 reference code: absmean
             weight quantizer, per-token absmax activation quantizer, both
             behind the straight-through estimator x + (q(x) - x).detach().
  stack4     four such blocks in a row.
  group      a BitCPM-style SwiGLU FFN whose weights are stored
             pseudo-quantized with one scale per group of 64 (gate, up) or
             128 (down) along K, a bias on down, 2-D input (so Linear
             exports as Gemm), and the activation quantizer written in its
             other form: step d = (max|x| + eps) / 127, q = x / d clamped by
             Max/Min, dequantized as q * d.

Run with Debian's Python (torch 1.13, onnx): /usr/bin/python3 export_block.py OUT_DIR
"""
import json
import os
import sys
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-5


# --- BitNet b1.58 reference (training code, as published) --------------------

def activation_quant(x):
    """Per-token absmax int8 fake quantization."""
    scale = 127.0 / x.abs().max(dim=-1, keepdim=True).values.clamp_(min=1e-5)
    return (x * scale).round().clamp_(-128, 127) / scale


def weight_quant(w):
    """Absmean ternarization, per tensor."""
    scale = 1.0 / w.abs().mean().clamp_(min=1e-5)
    return (w * scale).round().clamp_(-1, 1) / scale


class RMSNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim) + 0.1 * torch.randn(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


class BitLinear(nn.Linear):
    def forward(self, x):
        w = self.weight
        x_quant = x + (activation_quant(x) - x).detach()
        w_quant = w + (weight_quant(w) - w).detach()
        return F.linear(x_quant, w_quant)


class Block(nn.Module):
    """x + down(relu(up(norm(x)))^2)."""

    def __init__(self, hidden, ffn):
        super().__init__()
        self.norm = RMSNorm(hidden)
        self.up = BitLinear(hidden, ffn, bias=False)
        self.down = BitLinear(ffn, hidden, bias=False)

    def forward(self, x):
        return x + self.down(torch.relu(self.up(self.norm(x))) ** 2)


class Stack(nn.Module):
    def __init__(self, hidden, ffn, depth):
        super().__init__()
        self.blocks = nn.ModuleList([Block(hidden, ffn) for _ in range(depth)])

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


# --- BitCPM-style pseudo-quantized model --------------------------------------

def pseudo_quantize(w, group):
    """BitCPM: s = max(mean|W_g|, eps) per group of `group` along K,
    W = clamp(round(W / s), -1, 1) * s, multiplied out."""
    n, k = w.shape
    wg = w.reshape(n, k // group, group)
    s = wg.abs().mean(-1, keepdim=True).clamp(min=EPS)
    return ((wg / s).round().clamp(-1, 1) * s).reshape(n, k)


def step_quant(x):
    """The activation quantizer in step form, inference style (no STE)."""
    step = (x.abs().amax(dim=-1, keepdim=True) + 1e-6) / 127
    q = torch.minimum(torch.maximum((x / step).round(), torch.tensor(-128.0)), torch.tensor(127.0))
    return q * step


class GroupFFN(nn.Module):
    """x + down(q(silu(gate(q(norm x))) * up(q(norm x)))) + bias."""

    def __init__(self, hidden, ffn):
        super().__init__()
        self.norm = RMSNorm(hidden)
        self.gate = nn.Linear(hidden, ffn, bias=False)
        self.up = nn.Linear(hidden, ffn, bias=False)
        self.down = nn.Linear(ffn, hidden, bias=True)
        with torch.no_grad():
            self.gate.weight.copy_(pseudo_quantize(self.gate.weight, 64))
            self.up.weight.copy_(pseudo_quantize(self.up.weight, 64))
            self.down.weight.copy_(pseudo_quantize(self.down.weight, 128))

    def forward(self, x):
        h = step_quant(self.norm(x))
        return x + self.down(step_quant(F.silu(self.gate(h)) * self.up(h)))


# --- export -------------------------------------------------------------------

def export(name, model, x, dynamic, fused, out_dir):
    model.eval()
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out_dir, name + ".onnx")
    axes = {0: "batch", 1: "seq"} if dynamic else {0: "tokens"}
    # do_constant_folding=False keeps the weight quantizers in the graph, as
    # a training checkpoint's export does.
    torch.onnx.export(model, (x,), path, opset_version=17, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": axes, "y": axes}, do_constant_folding=False)
    onnx.checker.check_model(onnx.load(path))
    np.save(os.path.join(out_dir, name + ".input.npy"), x.numpy())
    np.save(os.path.join(out_dir, name + ".expected.npy"), y.numpy())
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(fused, f, indent=1)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: export_block.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    warnings.filterwarnings("ignore")  # torch 1.13's exporter warns about its own constant handling
    torch.manual_seed(0)

    hidden, ffn = 256, 512
    export("block", Block(hidden, ffn), torch.randn(2, 5, hidden), True,
           {"ActQuant": 2, "BitLinear": 2, "other": 0}, out_dir)
    export("stack4", Stack(hidden, ffn, 4), torch.randn(1, 7, hidden), True,
           {"ActQuant": 8, "BitLinear": 8, "other": 0}, out_dir)
    export("group", GroupFFN(hidden, ffn), torch.randn(6, hidden), False,
           {"ActQuant": 2, "BitLinear": 2, "other": 0, "tern": ["tern<g64>[512,256]", "tern<g128>[256,512]"]},
           out_dir)
    print("wrote block, stack4, group to", out_dir)


if __name__ == "__main__":
    main()
