"""make_model.py: writes the small ONNX models the importer lit tests use,
good and deliberately broken, so that no binary test file is checked in.

Usage: make_model.py CASE OUT.onnx   (run with /usr/bin/python3: onnx 1.12)
"""
import os
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def linear(opset=17, bias=True):
    """x: f32[batch,4] -> MatMul(w) -> Add(b) -> Relu -> y: f32[batch,2]."""
    inits = [numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(4, 2) / 8, "w")]
    if bias:
        inits.append(numpy_helper.from_array(np.array([0.5, -0.5], dtype=np.float32), "b"))
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["xw"], name="mm"),
        helper.make_node("Add", ["xw", "b"], ["pre"], name="add_bias"),
        helper.make_node("Relu", ["pre"], ["y"], name="act"),
    ]
    graph = helper.make_graph(
        nodes, "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def external(location, size=None):
    """Adds x to an f32[4] initializer 'w' stored in `location`."""
    w = TensorProto()
    w.name = "w"
    w.data_type = TensorProto.FLOAT
    w.dims.append(4)
    w.data_location = TensorProto.EXTERNAL
    entry = w.external_data.add()
    entry.key, entry.value = "location", location
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add_w")], "ext",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main():
    case, out = sys.argv[1], sys.argv[2]
    folder = os.path.dirname(os.path.abspath(out))
    if case == "linear":
        model = linear()
    elif case == "opset12":
        model = linear(opset=12)
    elif case == "opset18":
        model = linear(opset=18)
    elif case == "missing-initializer":
        model = linear(bias=False)
    elif case == "type-mismatch":
        graph = helper.make_graph(
            [helper.make_node("Add", ["x", "ids"], ["y"], name="mixed_add")], "mixed",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]),
             helper.make_tensor_value_info("ids", TensorProto.INT64, [2])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    elif case == "unsupported":
        nodes = [
            helper.make_node("Conv", ["x", "k"], ["c1"], name="conv1"),
            helper.make_node("Relu", ["c1"], ["r"], name="relu"),
            helper.make_node("Conv", ["r", "k"], ["c2"], name="conv2"),
            helper.make_node("Resize", ["c2"], ["y"], name="up"),
        ]
        graph = helper.make_graph(
            nodes, "convs",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8]),
             helper.make_tensor_value_info("k", TensorProto.FLOAT, [1, 1, 3, 3])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    elif case == "external-ok":
        np.arange(4, dtype=np.float32).tofile(os.path.join(folder, "w.bin"))
        model = external("w.bin")
    elif case == "external-absolute":
        model = external("/etc/passwd")
    elif case == "external-dotdot":
        model = external("../w.bin")
    elif case == "external-missing":
        model = external("missing.bin")
    elif case == "external-short":
        np.arange(2, dtype=np.float32).tofile(os.path.join(folder, "short.bin"))
        model = external("short.bin")
    elif case in ("truncated", "corrupt"):
        data = linear().SerializeToString()
        if case == "truncated":
            data = data[: len(data) * 2 // 3]
        else:
            rng = random.Random(42)
            data = bytes(rng.randrange(256) for _ in range(1024))
        with open(out, "wb") as f:
            f.write(data)
        return
    else:
        sys.exit(f"make_model.py: unknown case '{case}'")
    onnx.save(model, out)


if __name__ == "__main__":
    main()
