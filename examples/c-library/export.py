#!/usr/bin/python3
"""export.py: exports the tiny classifier of the C-library example from PyTorch to ONNX.

Writes, next to this script:
  model.onnx           Linear(8->16) -> ReLU -> Linear(16->4) -> Softmax; opset 17,
                       input `x: f32[2, 8]`, output `probs: f32[2, 4]` (static shapes)
  expected_output.txt  what main.c prints: PyTorch's output for main.c's input

main.c fills x[i] = ((7 * i) % 11 - 5) / 4 (exact in float); input() below is the
same formula. Run with Debian's Python (torch 1.13, onnx): /usr/bin/python3 export.py
"""
import os

import numpy as np
import onnx
import torch
import torch.nn as nn

BATCH, FEATURES, HIDDEN, CLASSES = 2, 8, 16, 4


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(FEATURES, HIDDEN)
        self.out = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x):
        return torch.softmax(self.out(torch.relu(self.hidden(x))), dim=-1)


def input():
    i = np.arange(BATCH * FEATURES)
    return (((7 * i) % 11 - 5) / 4).astype(np.float32).reshape(BATCH, FEATURES)


def printed(probs):
    """main.c's output format."""
    lines = [f"probs: f32[{BATCH}, {CLASSES}]"]
    for row in probs:
        lines.append(" ".join(f"{v:.6f}" for v in row))
    return "\n".join(lines) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    model = Classifier().eval()
    x = torch.from_numpy(input())
    path = os.path.join(here, "model.onnx")
    torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["probs"], opset_version=17)
    onnx.checker.check_model(onnx.load(path))
    with torch.no_grad():
        probs = model(x).numpy()
    with open(os.path.join(here, "expected_output.txt"), "w") as f:
        f.write(printed(probs))


if __name__ == "__main__":
    main()
