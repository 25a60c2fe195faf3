#!/usr/bin/python3
"""check_ternc.py: runs an export of export.py on ternc's reference
interpreter (`ternc run`, one call per step) and compares it with PyTorch's
reference data: the general call of run/ (batch 2, left padding, past 5,
seq 2), the prefill with an empty cache, the first decode steps' logits, the
cache after them, and the 64 greedy tokens.

Usage: /usr/bin/python3 check_ternc.py --ternc BUILD/ternc DIR [DIR ...]
                                       [--passes=P1,P2,...] [--workdir TMP]
  DIR       an OUT_DIR of export.py
  --passes  run these ternc passes first (e.g. the ternary pipeline
            canonicalize,fold-constants,cse,dce,act-quant,ternarize,fuse-bitlinear)

Exits 1 and lists every mismatch if any. Tensors must agree to TOLERANCE
relative to their max |value| (the same integer math, summed in another
order); greedy tokens must be equal.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

TOLERANCE = 1e-4


def ternc_run(ternc, model, inputs, out_dir, passes):
    """One `ternc run`; inputs: name -> array. Returns name -> array."""
    os.makedirs(out_dir, exist_ok=True)
    cmd = [ternc, "run", model, "--output-dir", out_dir] + (["--passes=" + passes] if passes else [])
    for name, value in inputs.items():
        path = os.path.join(out_dir, "in." + name + ".npy")
        np.save(path, value)
        cmd += ["--input", f"{name}={path}"]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise RuntimeError(f"{ternc}: {e}") from e
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n{proc.stderr.strip()}")
    return {f[:-4]: np.load(os.path.join(out_dir, f)) for f in os.listdir(out_dir)
            if f.endswith(".npy") and not f.startswith("in.")}


def rel(got, want):
    if got.shape != want.shape:
        return float("inf")
    return float(np.abs(got.astype(np.float64) - want).max() / max(np.abs(want).max(), 1e-30))


def check(ternc, export_dir, work, passes):
    cfg = json.load(open(os.path.join(export_dir, "config.json")))
    model = os.path.join(export_dir, "model.onnx")
    layers, kv, hd = cfg["num_hidden_layers"], cfg["num_key_value_heads"], cfg["head_dim"]
    names = [f"{i}.{t}" for i in range(layers) for t in ("key", "value")]
    failures, report = [], []

    def compare(label, got, want):
        err = rel(got, want)
        report.append(f"{label} {err:.2g}")
        if not err <= TOLERANCE:
            failures.append(f"{label}: relative error {err:.3g} (shape {got.shape}, expected {want.shape})")

    # The general call.
    run_in = os.path.join(export_dir, "run", "inputs")
    inputs = {f[:-4]: np.load(os.path.join(run_in, f)) for f in os.listdir(run_in)}
    out = ternc_run(ternc, model, inputs, os.path.join(work, "run"), passes)
    run_exp = os.path.join(export_dir, "run", "expected")
    for f in sorted(os.listdir(run_exp)):
        compare("run/" + f[:-4], out[f[:-4]], np.load(os.path.join(run_exp, f)))

    # Prefill with an empty cache, then greedy decoding with ternc's cache.
    prompt = np.load(os.path.join(export_dir, "prompt.npy"))
    greedy = np.load(os.path.join(export_dir, "greedy.npy"))
    decode_want = np.load(os.path.join(export_dir, "decode_logits.npy"))
    past = {n_: np.zeros((1, kv, 0, hd), np.float32) for n_ in names}
    ids, tokens = prompt, []
    for step in range(len(greedy)):
        past_len = next(iter(past.values())).shape[2]
        inputs = {"input_ids": ids, "attention_mask": np.ones((1, past_len + ids.shape[1]), np.int64),
                  "position_ids": np.arange(past_len, past_len + ids.shape[1], dtype=np.int64)[None]}
        inputs.update({"past_key_values." + n_: v for n_, v in past.items()})
        out = ternc_run(ternc, model, inputs, os.path.join(work, f"step{step}"), passes)
        past = {n_: out["present." + n_] for n_ in names}
        if step == 0:
            compare("prefill_logits", out["logits"], np.load(os.path.join(export_dir, "prefill_logits.npy")))
        elif step <= len(decode_want):
            compare(f"decode_logits[{step - 1}]", out["logits"][0, -1], decode_want[step - 1])
        if step == len(decode_want):
            for n_ in names:
                want = np.load(os.path.join(export_dir, "cache", f"present.{n_}.npy"))
                compare("cache/present." + n_, past[n_], want)
        tokens.append(int(np.argmax(out["logits"][0, -1])))
        if tokens[-1] != greedy[step]:
            failures.append(f"greedy token {step}: ternc {tokens[-1]}, PyTorch {greedy[step]}")
            break
        ids = np.array([[tokens[-1]]], np.int64)
    report.append(f"greedy {len(tokens)} tokens" + (" equal" if tokens == greedy.tolist() else " DIFFER"))
    return failures, report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--passes", default="")
    ap.add_argument("--workdir")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in args.dirs:
            name = os.path.basename(os.path.normpath(d))
            work = os.path.join(args.workdir or tmp, name)
            try:
                fails, report = check(args.ternc, d, work, args.passes)
            except RuntimeError as e:
                fails, report = [f"ternc failed: {e}"], []
            print(f"{name}: " + ("ok" if not fails else "FAILED") + ("; " + ", ".join(report) if report else ""))
            failures += [f"{name}: {f}" for f in fails]
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    main()
