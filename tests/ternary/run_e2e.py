#!/usr/bin/python3
"""run_e2e.py: the ternary end-to-end test. Exports the models of
export_block.py with PyTorch (the oracle), runs ternc's ternary pipeline on
each, checks that the fused graph holds exactly the expected ops, and that
`ternc run` on it, and executables from `ternc compile` (default CPU and
--cpu=native), reproduce PyTorch's output to float rounding of the same
integer math (one int8 activation rounded differently would be ~1e-3 off).

Usage: /usr/bin/python3 run_e2e.py --ternc BUILD/ternc --workdir DIR
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

import numpy as np

PIPELINE = "canonicalize,fold-constants,cse,dce,act-quant,ternarize,fuse-bitlinear"
# Relative to max|y|: PyTorch sums in float32 in its own order, ternc sums
# the integers exactly; both round the same int8 and ternary values.
TOLERANCE = 2e-6


def run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{proc.stderr}")
    return proc.stdout


def check_model(ternc, work, name):
    failures = []
    onnx_path = os.path.join(work, name + ".onnx")
    want = json.load(open(os.path.join(work, name + ".json")))
    ir = run([ternc, "opt", onnx_path, "--passes=" + PIPELINE, "--verify-each"])
    ops = collections.Counter(re.findall(r"= ([A-Za-z]+)\(", ir))
    other = {op: n for op, n in ops.items() if op not in ("ActQuant", "BitLinear")}
    print(f"{name}: fused graph ops {dict(ops)}")
    for op in ("ActQuant", "BitLinear"):
        if ops.get(op, 0) != want[op]:
            failures.append(f"{name}: {ops.get(op, 0)} {op} ops, expected {want[op]}")
    if sum(other.values()) != want["other"]:
        failures.append(f"{name}: ops left unfused: {other}")
    for tern in want.get("tern", []):
        if tern not in ir:
            failures.append(f"{name}: no constant of type {tern} in the fused graph")

    x = os.path.join(work, name + ".input.npy")
    expected = np.load(os.path.join(work, name + ".expected.npy"))
    runs = [("fused", [ternc, "run", onnx_path, "--passes=" + PIPELINE]), ("float graph", [ternc, "run", onnx_path])]
    # Compiled executables: the default CPU (x86-64-v3: the AVX2 kernel) and
    # this host (the AVX-512 VNNI kernel where the CPU has it).
    for cpu in ("", "native"):
        exe = os.path.join(work, f"{name}.{cpu or 'default'}.exe")
        compiled = run([ternc, "compile", onnx_path, "-o", exe, "--stats"] + (["--cpu=" + cpu] if cpu else []))
        ternary = re.search(r"ternary: (\d+) of (\d+) matmul parameters", compiled)
        if not ternary or ternary.group(1) != ternary.group(2):
            failures.append(f"{name}: compile --stats does not report every matmul parameter ternary:\n{compiled}")
        runs.append((f"compiled, cpu {cpu or 'default'}", [exe]))
    for label, cmd in runs:
        out = os.path.join(work, f"{name}.out.{re.sub('[^a-z0-9]+', '_', label)}")
        run(cmd + ["--input", "x=" + x, "--output-dir", out])
        y = np.load(os.path.join(out, "y.npy"))
        if y.shape != expected.shape:
            failures.append(f"{name} ({label}): shape {y.shape}, expected {expected.shape}")
            continue
        err = float(np.abs(y.astype(np.float64) - expected).max() / np.abs(expected).max())
        print(f"{name} ({label}): max |ternc - PyTorch| / max |PyTorch| = {err:.3g}")
        if not err <= TOLERANCE:
            failures.append(f"{name} ({label}): relative error {err:.3g} > {TOLERANCE}")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(args.workdir, exist_ok=True)
    run([sys.executable, os.path.join(here, "export_block.py"), args.workdir])
    failures = []
    for name in ("block", "stack4", "group"):
        failures += check_model(args.ternc, args.workdir, name)
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
