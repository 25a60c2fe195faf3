#!/usr/bin/python3
"""run_onnx_nodes.py: ONNX backend node tests (libonnx-testdata) in compiled mode for aarch64: each case of
tests/onnx/passing-compiled.txt in this shard is compiled with `ternc compile --target aarch64 -O1`
(binding integer and scalar inputs where the model's shapes depend on them, as tests/onnx does), run under
qemu-aarch64, and its outputs compared with the case's expected outputs by ONNX's rule (|got - want| <= 1e-7 +
1e-3 |want|, exact for integers and booleans) and with the same case compiled for x86 and run here (counted:
bit for bit equal or not; a difference beyond ONNX's rule fails).

Every case by default (--every N takes every N'th); each costs two compiles and two runs, about a second, so
ctest splits them into shards. Cases with bfloat16 inputs are left out (their test data is stored as uint16 and
needs relabelling, which tests/onnx does in C++).

Usage: /usr/bin/python3 run_onnx_nodes.py --ternc BUILD/ternc --runtime-dir DIR --workdir DIR --shard I/N
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/libonnx-testdata/data/node"
INTEGER_TYPES = {onnx.TensorProto.INT32, onnx.TensorProto.INT64}


def output_file(name):
    """runtime/Shapes.cpp's outputFileName."""
    f = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    if f in ("", ".", ".."):
        f = "_" + f
    return f + ".npy"


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def compare(got, want):
    """None if got matches want by ONNX's rule, else why not."""
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if want.dtype.kind in "iub":
        return None if np.array_equal(got, want.astype(got.dtype)) else "integer values differ"
    g, w = got.astype(np.float64), want.astype(np.float64)
    same_nan = np.isnan(g) == np.isnan(w)
    ok = same_nan & (np.isnan(w) | (g == w) | (np.abs(g - w) <= 1e-7 + 1e-3 * np.abs(w)))
    return None if ok.all() else f"{int((~ok).sum())} of {ok.size} values off"


class Case:
    def __init__(self, ternc, qemu, name, work):
        self.ternc, self.qemu, self.name, self.work = ternc, qemu, name, work
        self.model_path = os.path.join(DATA, name, "model.onnx")
        model = onnx.load(self.model_path, load_external_data=False)
        inits = {i.name for i in model.graph.initializer}
        self.inputs = [i for i in model.graph.input if i.name not in inits]
        self.outputs = [o.name for o in model.graph.output]
        self.exes = {}  # target: its executable, or None when each data set needs its own (binds)

    def bf16(self):
        return any(i.type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16 for i in self.inputs)

    def compile(self, exe, flags, binds):
        cmd = [self.ternc, "compile", self.model_path, "-o", exe, "-O1"] + flags
        for b in binds:
            cmd += ["--bind", b]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return None if p.returncode == 0 else (p.stderr.strip() or p.stdout.strip())

    def run_set(self, data_set):
        """Failures (strings) and whether aarch64 equalled x86 bit for bit, for one data set."""
        files = [os.path.join(data_set, f"input_{i}.pb") for i in range(len(self.inputs))]
        tag = os.path.basename(data_set)
        results, bound = {}, set()
        for target, flags, prefix in (("x86", [], []), ("aarch64", ["--target", "aarch64"],
                                                         common.qemu_cmd(self.qemu, "max"))):
            if target not in self.exes:  # first data set: compile without binds if the model allows
                exe = os.path.join(self.work, f"{target}.exe")
                err = self.compile(exe, flags, [])
                if err and "--bind NAME=FILE" not in err:
                    return [f"{target}: ternc compile: {err.splitlines()[-1]}"], False
                self.exes[target] = None if err else exe
            exe = self.exes[target]
            if exe is None:  # shapes depend on the integer and scalar inputs: compile for this data set's
                binds = []
                for i, inp in enumerate(self.inputs):
                    tt = inp.type.tensor_type
                    if tt.elem_type in INTEGER_TYPES or (tt.HasField("shape") and len(tt.shape.dim) == 0):
                        binds.append(f"{inp.name}={files[i]}")
                        bound.add(i)
                exe = os.path.join(self.work, f"{target}-{tag}.exe")
                err = self.compile(exe, flags, binds)
                if err:
                    return [f"{target}: ternc compile --bind: {err.splitlines()[-1]}"], False
            out = os.path.join(self.work, f"{target}-{tag}.out")
            cmd = prefix + [exe]
            for i, inp in enumerate(self.inputs):
                if i not in bound:
                    cmd += ["--input", f"{inp.name}={files[i]}"]
            p = subprocess.run(cmd + ["--output-dir", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                return [f"{target}: the executable failed ({p.returncode}): {p.stderr.strip()[-400:]}"], False
            results[target] = [np.load(os.path.join(out, output_file(o))) for o in self.outputs]
        failures = []
        for i, name in enumerate(self.outputs):
            want = load_pb(os.path.join(data_set, f"output_{i}.pb"))
            why = compare(results["aarch64"][i], want)
            if why:
                failures.append(f"output {name}: {why} (against the expected output)")
            why = compare(results["aarch64"][i], results["x86"][i])
            if why:
                failures.append(f"output {name}: {why} (against x86's)")
        exact = all(common.bit_equal(a, b) for a, b in zip(results["aarch64"], results["x86"]))
        return failures, exact


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--runtime-dir", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--shard", default="0/1")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("cases", nargs="*", help="run these cases instead of the sample")
    a = ap.parse_args()
    qemu = common.prerequisites(a.runtime_dir)
    if not os.path.isdir(DATA):
        print(f"SKIP: no ONNX node test data in {DATA} (Debian libonnx-testdata)")
        sys.exit(common.SKIP)
    shard, shards = map(int, a.shard.split("/"))
    listed = [l.strip() for l in open(os.path.join(HERE, "..", "onnx", "passing-compiled.txt"))
              if l.strip() and not l.startswith("#")]
    cases = a.cases or [c for i, c in enumerate(listed) if i % a.every == 0][shard::shards]
    if not cases:
        sys.exit(f"shard {a.shard}: no cases")
    shutil.rmtree(a.workdir, ignore_errors=True)
    failures, exact, total, skipped, inexact = [], 0, 0, [], []
    for name in cases:
        work = os.path.join(a.workdir, name)
        os.makedirs(work)
        case = Case(a.ternc, qemu, name, work)
        if case.bf16():
            skipped.append(name)
            continue
        for data_set in sorted(glob.glob(os.path.join(DATA, name, "test_data_set_*"))):
            fails, same = case.run_set(data_set)
            total += 1
            exact += int(same and not fails)
            if not same and not fails:
                inexact.append(name)
            failures += [f"{name}/{os.path.basename(data_set)}: {f}" for f in fails]
    print(f"shard {a.shard}: {len(cases) - len(skipped)} cases, {total} data sets under qemu-aarch64; "
          f"{total - len({f.split(':')[0] for f in failures})} pass, {exact} bit for bit equal to x86"
          + (f"; left out (bfloat16): {', '.join(skipped)}" if skipped else ""))
    if inexact:
        print("within ONNX's tolerance of x86 but not bit for bit:", ", ".join(inexact))
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
