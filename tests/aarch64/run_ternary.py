#!/usr/bin/python3
"""run_ternary.py: the ternary blocks of tests/ternary (export_block.py: block, stack4, group) compiled for
aarch64 and run under qemu-aarch64, against the same models compiled for x86 and run here:
  - aarch64 default CPU (generic Armv8-A: the tbl kernel), run as a cortex-a53 (no dotprod);
  - aarch64 --cpu=neoverse-n1 (the sdot kernel), run as qemu's `max` CPU;
outputs equal the x86 executable's bit for bit for block, stack4 (per-tensor scales) and group (per-group
scales, which every kernel sums exactly, in double); all within 2e-6 of
PyTorch's output, as tests/ternary/run_e2e.py asks of x86. `--explain-tiling` must name the kernel, and the
assembly of `block` hold `sdot` (sdot build) or `tbl` and no `sdot` (tbl build).

Usage: /usr/bin/python3 run_ternary.py --ternc BUILD/ternc --runtime-dir DIR --workdir DIR
"""
import argparse
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = 2e-6  # tests/ternary/run_e2e.py's, against PyTorch
VARIANTS = [  # name, ternc compile flags, qemu cpu, kernel
    ("aarch64-tbl", ["--target", "aarch64"], "cortex-a53", "tk_bitlinear_neonlut16_tbl"),
    ("aarch64-sdot", ["--target", "aarch64", "--cpu=neoverse-n1"], "max", "tk_bitlinear_neon2b16_sdot"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--runtime-dir", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    qemu = common.prerequisites(a.runtime_dir)
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    common.run(["/usr/bin/python3", os.path.join(HERE, "..", "ternary", "export_block.py"), a.workdir])
    failures = []
    for name in ("block", "stack4", "group"):
        model = os.path.join(a.workdir, name + ".onnx")
        x = os.path.join(a.workdir, name + ".input.npy")
        expected = np.load(os.path.join(a.workdir, name + ".expected.npy"))
        x86exe = os.path.join(a.workdir, name + ".x86")
        common.run([a.ternc, "compile", model, "-o", x86exe])
        common.run([x86exe, "--input", "x=" + x, "--output-dir", x86exe + ".out"])
        y86 = np.load(os.path.join(x86exe + ".out", "y.npy"))
        for variant, flags, cpu, kernel in VARIANTS:
            exe = os.path.join(a.workdir, f"{name}.{variant}")
            explain = common.run([a.ternc, "compile", model, "-o", exe, "--explain-tiling"] + flags).stdout
            if kernel not in explain:
                failures.append(f"{name} ({variant}): --explain-tiling does not name {kernel}:\n{explain}")
            if name == "block":  # the instructions each kernel is about
                common.run([a.ternc, "compile", model, "-o", exe + ".s", "--emit=asm"] + flags)
                asm = open(exe + ".s").read()
                want, unwanted = ("sdot", None) if variant.endswith("sdot") else ("tbl", "sdot")
                if f"\t{want}\t" not in asm or (unwanted and f"\t{unwanted}\t" in asm):
                    failures.append(f"{name} ({variant}): the assembly lacks {want}"
                                    + (f" or has {unwanted}" if unwanted else ""))
            common.run(common.qemu_cmd(qemu, cpu) + [exe, "--input", "x=" + x, "--output-dir", exe + ".out"])
            y = np.load(os.path.join(exe + ".out", "y.npy"))
            exact = common.bit_equal(y, y86)
            vs86 = common.max_rel(y, y86)
            vspt = common.max_rel(y, expected)
            print(f"{name} ({variant}, qemu -cpu {cpu}): {'bit for bit equal to' if exact else 'differs from'} x86 "
                  f"(max rel {vs86:.3g}); vs PyTorch {vspt:.3g}")
            if not exact:
                failures.append(f"{name} ({variant}): not bit for bit equal to x86 (max rel {vs86:.3g})")
            if not vspt <= TOLERANCE:
                failures.append(f"{name} ({variant}): relative error {vspt:.3g} against PyTorch > {TOLERANCE}")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
