#!/usr/bin/python3
"""run_packing.py: the aarch64 legalization passes on tests/passes/x86-pack-ternary.tir (no qemu needed):
aarch64-pack-sdot and aarch64-pack-tbl pack the weights the kernels take (scales per tensor; a weight shared by
two operands once) in their layout and name the kernel as target.kernel, leave groups of 4 weights alone; the
packed module still interprets (the layouts' codecs unpack it), with outputs bit for bit those of the unpacked
one; `ternc targets`-level pipeline choice: --cpu=neoverse-n1 gets sdot, the default CPU tbl.

Usage: /usr/bin/python3 run_packing.py --ternc BUILD/ternc --workdir DIR
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "passes", "x86-pack-ternary.tir")
PASSES = {"aarch64-pack-sdot": ("neon2b16", "tk_bitlinear_neon2b16_sdot"),
          "aarch64-pack-tbl": ("neonlut16", "tk_bitlinear_neonlut16_tbl")}


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    rng = np.random.default_rng(5)
    inputs = {"tensor_scale": rng.standard_normal((5, 40)).astype(np.float32),
              "gated": rng.standard_normal((3, 40)).astype(np.float32),
              "groups_of_32": rng.standard_normal((2, 64)).astype(np.float32),
              "groups_of_32_gated": rng.standard_normal((2, 64)).astype(np.float32),
              "groups_of_4": rng.standard_normal((2, 8)).astype(np.float32)}
    failures = []
    for pass_name, (layout, kernel) in PASSES.items():
        packed = os.path.join(a.workdir, pass_name + ".tir")
        ir = run([a.ternc, "opt", MODEL, "--passes=" + pass_name, "--verify-each", "-o", packed]).stdout
        text = open(packed).read()
        consts = re.findall(r"const @(\w+) : tern<tensor>\[4,40\] layout \"(\w+)\"", text)
        if consts != [("w_" + layout, layout)]:
            failures.append(f"{pass_name}: packed constants {consts}, expected one @w_{layout}")
        if text.count(f'target.kernel = "{kernel}"') != 4:
            failures.append(f"{pass_name}: expected 4 BitLinear ops with target.kernel = {kernel}")
        # The aarch64 kernels read row-major scales: its legalization does not tile them (x86's does).
        if "scales16" in text:
            failures.append(f"{pass_name}: group scales were tiled")
        if "BitLinear(%q, %s, @w_g, @w_g_scale) {act = \"none\", dequant = \"div\"}" not in text:
            failures.append(f"{pass_name}: the groups-of-4 BitLinear was changed")
        for graph, x in inputs.items():
            xin = os.path.join(a.workdir, graph + ".x.npy")
            np.save(xin, x)
            outs = []
            for label, model in (("plain", MODEL), ("packed", packed)):
                out = os.path.join(a.workdir, f"{pass_name}.{graph}.{label}")
                run([a.ternc, "run", model, "--graph", graph, "--input", "x=" + xin, "--output-dir", out])
                outs.append(np.load(os.path.join(out, "y.npy")))
            same = outs[0].tobytes() == outs[1].tobytes() and outs[0].shape == outs[1].shape
            print(f"{pass_name} {graph}: packed interprets {'bit for bit equal' if same else 'DIFFERENT'}")
            if not same:
                failures.append(f"{pass_name} {graph}: the packed module interprets differently")
    # The pipeline `ternc compile` runs: tbl by default, sdot with dotprod.
    for cpu, kernel in (("", "tk_bitlinear_neonlut16_tbl"), ("neoverse-n1", "tk_bitlinear_neon2b16_sdot"),
                        ("cortex-a53", "tk_bitlinear_neonlut16_tbl"), ("cortex-a76", "tk_bitlinear_neon2b16_sdot")):
        out = os.path.join(a.workdir, f"pipeline-{cpu or 'default'}.tir")
        run([a.ternc, "compile", MODEL, "--target", "aarch64", "--emit=tir", "-o", out]
            + (["--cpu=" + cpu] if cpu else []))
        if f'target.kernel = "{kernel}"' not in open(out).read():
            failures.append(f"--cpu={cpu or '(default)'}: the pipeline did not choose {kernel}")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
