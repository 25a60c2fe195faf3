"""ascend-910b end to end: models compiled with `--target ascend-910b --emit=exe` (BitLinear on the functional
simulator of the AI Cores, the rest on the portable kernels) give the x86 target's outputs bit for bit:
  - the bundled BitNet block (examples/bitnet_block) and the ternary block tests' models (tests/ternary:
    block, stack4 with per-tensor scales; group with per-group scales (both targets sum the scaled groups exactly,
    in double, docs/ascend.md);
  - tiny LLMs from tests/llm (greedy --tokens, the dumped prefill and decode logits): bitnet-gqa4-hd128 and
    minicpm-gqa8-g32 (32-weight groups), bit for bit.
With TERNC_ASCEND_CYCLES=1 the simulator executable prints its cycle counts, labelled as model estimates."""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx

SIM_LABEL = "ascend-910b simulator: model estimate, not a measurement"


def run(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return p


def compare(name, a, b, exact, failures, tol=1e-5):
    if a.shape != b.shape:
        failures.append(f"{name}: shapes {a.shape} vs {b.shape}")
    elif exact:
        if not np.array_equal(a.view(np.uint32) if a.dtype == np.float32 else a,
                              b.view(np.uint32) if b.dtype == np.float32 else b):
            failures.append(f"{name}: differs from x86 (max |diff| {float(np.abs(a - b).max()):.3g}), expected bit for bit")
        else:
            print(f"ok: {name}: ascend-910b equals x86 bit for bit")
    else:
        err = float(np.abs(a - b).max() / max(1e-30, float(np.abs(b).max())))
        if err > tol:
            failures.append(f"{name}: differs from x86 by {err:.3g} of the largest")
        else:
            print(f"ok: {name}: ascend-910b equals x86 within {err:.2e} of the largest (grouped scales)")


def onnx_model(a, work, model, x, exact, name, failures):
    inp = onnx.load(model, load_external_data=False).graph.input[0].name
    outs = {}
    for target in ("x86-avx2", "ascend-910b"):
        exe = os.path.join(work, f"{name}-{target}")
        run([a.ternc, "compile", model, "-o", exe, "--target", target])
        od = exe + "-out"
        env = dict(os.environ)
        if target == "ascend-910b":
            env["TERNC_ASCEND_CYCLES"] = "1"
        p = run([exe, "--input", f"{inp}={x}", "--output-dir", od], env=env)
        if target == "ascend-910b" and SIM_LABEL not in p.stderr:
            failures.append(f"{name}: TERNC_ASCEND_CYCLES=1 printed no '{SIM_LABEL}' line:\n{p.stderr[:2000]}")
        outs[target] = {f: np.load(os.path.join(od, f)) for f in sorted(os.listdir(od))}
    for f, v in outs["x86-avx2"].items():
        compare(f"{name} {f}", outs["ascend-910b"][f], v, exact, failures)


def llm(a, work, config, exact, failures):
    ref = os.path.join(work, config)
    run(["/usr/bin/python3", os.path.join(a.source, "tests", "llm", "export.py"), config, ref])
    prompt = np.load(os.path.join(ref, "prompt.npy"))[0]
    greedy = np.load(os.path.join(ref, "greedy.npy"))
    got = {}
    for target in ("x86-avx2", "ascend-910b"):
        exe = os.path.join(work, f"{config}-{target}")
        run([a.ternc, "compile", os.path.join(ref, "model.onnx"), "-o", exe, "--target", target])
        dump = exe + "-dump"
        out = run([exe, "--tokens", ",".join(map(str, prompt)), "-n", str(len(greedy)), "--temp", "0", "--dump",
                   dump]).stdout.strip()
        got[target] = ([int(t) for t in out.split(",")], dump)
    if got["ascend-910b"][0] != got["x86-avx2"][0]:
        failures.append(f"{config}: greedy tokens differ: ascend {got['ascend-910b'][0]} x86 {got['x86-avx2'][0]}")
    else:
        print(f"ok: {config}: the same {len(greedy)} greedy tokens")
    for f in ("prefill_logits.npy", "decode_logits.npy"):
        compare(f"{config} {f}", np.load(os.path.join(got["ascend-910b"][1], f)),
                np.load(os.path.join(got["x86-avx2"][1], f)), exact, failures, tol=1e-2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    failures = []
    block = os.path.join(a.source, "examples", "bitnet_block")
    onnx_model(a, a.work, os.path.join(block, "model.onnx"), os.path.join(block, "input.npy"), True, "bitnet_block",
               failures)
    exported = os.path.join(a.work, "ternary")
    run(["/usr/bin/python3", os.path.join(a.source, "tests", "ternary", "export_block.py"), exported])
    for name, exact in (("block", True), ("stack4", True), ("group", True)):
        onnx_model(a, a.work, os.path.join(exported, f"{name}.onnx"), os.path.join(exported, f"{name}.input.npy"),
                   exact, name, failures)
    llm(a, a.work, "bitnet-gqa4-hd128", True, failures)
    llm(a, a.work, "minicpm-gqa8-g32", True, failures)
    if failures:
        sys.exit("FAILED:\n" + "\n".join(failures))


if __name__ == "__main__":
    main()
