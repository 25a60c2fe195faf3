"""x86-avx512 on this machine: compile examples/bitnet_block with `--target x86-avx512 --cpu=native` (features
detected by ternc, whatever name LLVM gives the CPU) and with the default target, run both, and check that the
AVX-512 executable's output equals the AVX2 one's and PyTorch's. Skipped (77) on hosts without AVX-512 VNNI."""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit(f"FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stdout}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    with open("/proc/cpuinfo") as f:
        flags = next((l.split(":", 1)[1].split() for l in f if l.startswith("flags")), [])
    if not {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"} <= set(flags):
        print("skipped: this CPU has no AVX-512 VNNI")
        sys.exit(77)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    block = os.path.join(a.source, "examples", "bitnet_block")
    model, x = os.path.join(block, "model.onnx"), os.path.join(block, "input.npy")
    zmm, ymm = os.path.join(a.work, "avx512"), os.path.join(a.work, "avx2")
    out = run([a.ternc, "compile", model, "-o", zmm, "--target", "x86-avx512", "--cpu=native", "--explain-tiling"])
    want = "kernel: tk_bitlinear_tern2b64_vnni512" if "gfni" in flags else "kernel: tk_bitlinear_tern2b32_vnni256"
    if want not in out:
        sys.exit(f"FAILED: --target x86-avx512 --cpu=native did not choose {want.split()[1]}:\n{out}")
    run([a.ternc, "compile", model, "-o", ymm])
    for exe in (zmm, ymm):
        run([exe, "--input", f"x={x}", "--output-dir", exe + "-out"])
    y512 = np.load(os.path.join(zmm + "-out", "y.npy"))
    y2 = np.load(os.path.join(ymm + "-out", "y.npy"))
    expected = np.load(os.path.join(block, "expected.npy"))
    diff, err = float(np.abs(y512 - y2).max()), float(np.abs(y512 - expected).max())
    if diff > 1e-5 or err > 1e-3:
        sys.exit(f"FAILED: x86-avx512 vs x86-avx2 {diff}, vs PyTorch {err}")
    print(f"ok: x86-avx512 (native) equals x86-avx2 within {diff:.2e}, PyTorch within {err:.2e}")


if __name__ == "__main__":
    main()
