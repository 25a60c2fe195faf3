"""Writes the float benchmark models (MatMul, LayerNormalization, Softmax) as ONNX opset 17 plus one .npy input each.

Usage: /usr/bin/python3 bench/models/make_models.py OUT_DIR

Every model has one graph input "x" and one graph output "y"; its input is
written beside it as <model stem>.x.npy. Weights and inputs come from fixed
seeds, so running the script twice writes identical files. The shapes are the
ones of a 2048-wide transformer layer (hidden size 2048):

  matmul_1x2048x2048.onnx    y[1,2048]    = x[1,2048]    @ W[2048,2048]  (decode: one token)
  matmul_128x2048x2048.onnx  y[128,2048]  = x[128,2048]  @ W[2048,2048]  (prefill: 128 tokens)
  layernorm_128x2048.onnx    y[128,2048]  = LayerNormalization(x, scale[2048], bias[2048]), axis -1, epsilon 1e-5
  softmax_128x2048.onnx      y[128,2048]  = Softmax(x), axis -1

W is an initializer drawn from N(0, 1/2048) so that outputs stay near unit
scale; both MatMul models share the same W.
"""

import argparse
import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
HIDDEN = 2048
TOKENS = 128
WEIGHT_SEED = 2048
PRODUCER = "ternc bench/models/make_models.py"


def float_info(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def save_model(out_dir, stem, nodes, x_shape, y_shape, initializers, x_value):
    """Checks and writes <stem>.onnx and its input <stem>.x.npy."""
    graph = helper.make_graph(
        nodes,
        stem,
        [float_info("x", x_shape)],
        [float_info("y", y_shape)],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
    )
    # onnx 1.12 defaults ir_version to 8, which every runtime that reads opset 17 accepts.
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(out_dir / f"{stem}.onnx"))
    assert x_value.shape == tuple(x_shape) and x_value.dtype == np.float32
    np.save(out_dir / f"{stem}.x.npy", x_value)


def random_input(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def make_matmul(out_dir, rows):
    weight = np.random.default_rng(WEIGHT_SEED).standard_normal((HIDDEN, HIDDEN), dtype=np.float32)
    weight *= np.float32(1.0 / np.sqrt(HIDDEN))
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")]
    save_model(
        out_dir,
        f"matmul_{rows}x{HIDDEN}x{HIDDEN}",
        nodes,
        (rows, HIDDEN),
        (rows, HIDDEN),
        [numpy_helper.from_array(weight, "W")],
        random_input(rows, (rows, HIDDEN)),
    )


def make_layernorm(out_dir):
    rng = np.random.default_rng(17)
    scale = (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
    bias = (0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
    nodes = [
        helper.make_node(
            "LayerNormalization", ["x", "scale", "bias"], ["y"], name="layernorm", axis=-1, epsilon=1e-5
        )
    ]
    # Shifted and scaled so that the normalization has real work to do.
    x_value = (3.0 * random_input(TOKENS + 1, (TOKENS, HIDDEN)) + 0.5).astype(np.float32)
    save_model(
        out_dir,
        f"layernorm_{TOKENS}x{HIDDEN}",
        nodes,
        (TOKENS, HIDDEN),
        (TOKENS, HIDDEN),
        [numpy_helper.from_array(scale, "scale"), numpy_helper.from_array(bias, "bias")],
        x_value,
    )


def make_softmax(out_dir):
    nodes = [helper.make_node("Softmax", ["x"], ["y"], name="softmax", axis=-1)]
    # Logit-like spread, wide enough that a softmax without max-subtraction would overflow.
    x_value = (4.0 * random_input(TOKENS + 2, (TOKENS, HIDDEN))).astype(np.float32)
    x_value[0, 0] = 100.0
    save_model(out_dir, f"softmax_{TOKENS}x{HIDDEN}", nodes, (TOKENS, HIDDEN), (TOKENS, HIDDEN), [], x_value)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=pathlib.Path, help="folder for the .onnx and .npy files (created if missing)")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    make_matmul(args.out_dir, 1)
    make_matmul(args.out_dir, TOKENS)
    make_layernorm(args.out_dir)
    make_softmax(args.out_dir)
    for path in sorted(args.out_dir.glob("*")):
        if path.suffix in (".onnx", ".npy"):
            print(f"{path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
