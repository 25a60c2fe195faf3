#!/usr/bin/python3
"""make_matmul_models.py: float ONNX MatMul models with ternary weights, for ONNX Runtime's side of vs_ort.sh.

    /usr/bin/python3 bench/ternary/make_matmul_models.py OUT_DIR NxK [NxK ...]

For each decode shape N x K (weights [N, K] as bench/ternary names them) writes OUT_DIR/matmul_1xKxN.onnx,
y[1, N] = x[1, K] @ W[K, N] with W an initializer of ternary values (-1, 0, +1) times 0.046875 in float32 (the
same values a BitLinear's packed weights times its scale give; ONNX Runtime has no ternary type), and
OUT_DIR/matmul_1xKxN.x.npy, x ~ N(0, 1). Opset 17, fixed seeds.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SCALE = 0.046875


def make(out_dir, n, k):
    rng = np.random.default_rng(1000003 * n + k)
    w = rng.integers(-1, 2, size=(k, n), dtype=np.int8).astype(np.float32) * np.float32(SCALE)
    x = rng.standard_normal((1, k), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        f"matmul_1x{k}x{n}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])],
        [numpy_helper.from_array(w, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ternc-bench")
    onnx.checker.check_model(model)
    base = os.path.join(out_dir, f"matmul_1x{k}x{n}")
    onnx.save(model, base + ".onnx")
    np.save(base + ".x.npy", x)
    print(base + ".onnx")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    os.makedirs(sys.argv[1], exist_ok=True)
    for shape in sys.argv[2:]:
        n, k = (int(v) for v in shape.split("x"))
        make(sys.argv[1], n, k)


if __name__ == "__main__":
    main()
