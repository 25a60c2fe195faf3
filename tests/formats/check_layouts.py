#!/usr/bin/python3
"""check_layouts.py: the same tiny LM in every checkpoint layout (write_layouts.py) compiled by ternc must give
PyTorch's 64 greedy tokens, and its prefill / decode logits within 1e-3 of the largest (the same integer math;
only float rounding differs). The ONNX route is the first layout, so all of them also agree with each other.

Usage: /usr/bin/python3 check_layouts.py --ternc BUILD/ternc --workdir DIR CONFIG
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "llm"))
from run_compiled import must, rel  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("config")
    a = ap.parse_args()
    work = os.path.join(a.workdir, a.config)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    out = must(["/usr/bin/python3", os.path.join(HERE, "write_layouts.py"), a.config, work]).stdout.split()
    ref = os.path.join(work, "onnx")
    prompt = np.load(os.path.join(ref, "prompt.npy"))[0]
    greedy = list(np.load(os.path.join(ref, "greedy.npy")))
    prefill = np.load(os.path.join(ref, "prefill_logits.npy"))
    decode = np.load(os.path.join(ref, "decode_logits.npy"))
    failures = []
    for layout in out:
        tag = layout.replace("/", "-")
        exe = os.path.join(work, "exe-" + tag)
        must([a.ternc, "compile", os.path.join(work, layout), "-o", exe, "--no-tokenizer"])
        dump = os.path.join(work, "dump-" + tag)
        got = must([exe, "--tokens", ",".join(map(str, prompt)), "-n", str(len(greedy)), "--temp", "0",
                    "--dump", dump]).stdout.strip()
        tokens = [int(t) for t in got.split(",")]
        e1 = rel(np.load(os.path.join(dump, "prefill_logits.npy")), prefill)
        e2 = rel(np.load(os.path.join(dump, "decode_logits.npy"))[:len(decode)], decode)
        ok = tokens == greedy and e1 <= 1e-3 and e2 <= 1e-3
        print(f"{a.config} {layout:18s} greedy {'equal' if tokens == greedy else 'DIFFERENT'}; "
              f"prefill logits {e1:.2g}, decode logits {e2:.2g}")
        if not ok:
            failures.append(f"{layout}: tokens {tokens} vs {greedy}, logits {e1:.3g} / {e2:.3g}")
    if failures:
        print("FAILED:\n" + "\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
