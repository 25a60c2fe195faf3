#!/usr/bin/python3
"""Exports a BitNet-b1.58-2B4T-shaped decoder to ONNX with its KV cache, the
way a user's PyTorch export of the real model looks: issue 5's benchmark of
the ONNX route at full size.

Usage: /usr/bin/python3 bench/models/make_bitnet_2b4t_onnx.py OUT_DIR [--layers N]

The model is tests/llm/models.py's `bitnet` architecture (BitNetForCausalLM:
attn_sub_norm, ffn_sub_norm, squared ReLU, tied embeddings) at 2B4T's real
dimensions (hidden 2560, 30 layers, 20 heads with 5 KV heads of 128, FFN
6912, vocab 128256, RoPE theta 500000), random ternary weights with one scale
per tensor stored pseudo-quantized in f32 (every value -a, 0 or +a), and the
BitNet per-token int8 activation quantizer in the graph. torch.onnx.export
writes it in Hugging Face Optimum's decoder-with-past convention
(tests/llm/export.py); at about 9.7 GB of f32 weights the initializers go to
external data files beside OUT_DIR/model.onnx (protobuf stops at 2 GB).

Memory: the exported graph multiplies by each weight transposed, [K, N]
(MatMul(x, W^T)), which torch's constant folding would otherwise produce as a
second 8 GB copy during the export. Each BitLinear here keeps its weight as
W^T from the start and multiplies with torch.matmul, which exports exactly
that graph; peak memory of this script is about the model's 9.7 GB plus the
tied head's 1.3 GB transposed copy.
"""
import argparse
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "llm"))
import models  # noqa: E402
from export import export_onnx  # noqa: E402


def config(layers):
    return models.Config(name="bitnet-2b4t", arch="bitnet", vocab_size=128256, hidden_size=2560,
                         intermediate_size=6912, num_hidden_layers=layers, num_attention_heads=20,
                         num_key_value_heads=5, head_dim=128, rms_norm_eps=1e-5, rope_theta=500000.0,
                         tie_word_embeddings=True, seed=2404, embed_std=0.02)


class TransposedBitLinear(torch.nn.Module):
    """models.BitLinear with the weight held as W^T [K, N]: the same math and
    the same exported graph, without the export's folded copy."""

    def __init__(self, linear):
        super().__init__()
        self.wt = torch.nn.Parameter(linear.weight.detach().t().contiguous(), requires_grad=False)

    def forward(self, x):
        return torch.matmul(models.activation_quant(x), self.wt)


def swap_linears(module):
    for name, child in list(module.named_children()):
        if isinstance(child, models.BitLinear):
            setattr(module, name, TransposedBitLinear(child))  # the [N, K] weight is freed here
        else:
            swap_linears(child)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("out_dir")
    ap.add_argument("--layers", type=int, default=30, help="decoder layers (30 in 2B4T)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_grad_enabled(False)
    cfg = config(args.layers)
    t0 = time.time()
    # Build layer by layer and swap each layer's linears at once, so that no
    # more than one layer exists twice.
    real_layer = models.DecoderLayer

    def layer(c):
        lay = real_layer(c)
        swap_linears(lay)
        return lay

    models.DecoderLayer = layer
    try:
        model = models.DecoderLM(cfg)
    finally:
        models.DecoderLayer = real_layer
    params = sum(p.numel() for p in model.parameters())
    print(f"built {params / 1e9:.2f} B parameters ({params * 4 / 1e9:.1f} GB f32) in {time.time() - t0:.0f} s",
          flush=True)
    t0 = time.time()
    path = os.path.join(args.out_dir, "model.onnx")
    export_onnx(model, cfg, path, check=False)
    size = sum(os.path.getsize(os.path.join(args.out_dir, f)) for f in os.listdir(args.out_dir))
    print(f"exported {path} ({size / 1e9:.1f} GB with its external data) in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
