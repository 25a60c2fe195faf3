#!/usr/bin/python3
"""check_example.py: the bundled example (examples/tiny-fortunes) compiled:
its held-out perplexity equals PyTorch's (perplexity.json, measured by
train.py the way the executable measures it) to 1e-4 relative, its greedy
ids equal PyTorch's, and --prompt streams text that starts with the prompt.

Usage: /usr/bin/python3 check_example.py --ternc BUILD/ternc --workdir DIR
"""
import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EX = os.path.join(ROOT, "examples", "tiny-fortunes")


def greedy_budget(ref):
    """Tokens to ask the executable for: PyTorch's count plus a margin when its greedy run stopped at EOS (so
    the executable must stop there too), else exactly PyTorch's count (train.py stops at 60 tokens). Also used
    by check_head.py."""
    ids = ref["greedy_ids"]
    eos = json.load(open(os.path.join(EX, "config.json")))["eos_token_id"]
    return len(ids) + 8 if ids and ids[-1] == eos else len(ids)


def must(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    exe = os.path.join(a.workdir, "fortunes")
    must([a.ternc, "compile", os.path.join(EX, "model.onnx"), "-o", exe])
    ref = json.load(open(os.path.join(EX, "perplexity.json")))
    failures = []
    out = must([exe, "--perplexity", os.path.join(EX, "heldout.txt"), "--ctx", str(ref["ctx"])])
    m = re.search(r"perplexity: ([0-9.]+) over (\d+) tokens", out)
    if not m:
        failures.append(f"no perplexity in: {out!r}")
    else:
        ppl, n = float(m.group(1)), int(m.group(2))
        if n != ref["tokens_scored"] or abs(ppl - ref["ternary_pytorch"]) > 1e-4 * ref["ternary_pytorch"]:
            failures.append(f"perplexity {ppl} over {n} tokens; PyTorch: {ref['ternary_pytorch']} over "
                            f"{ref['tokens_scored']}")
        print(f"perplexity: compiled {ppl}, PyTorch ternary {ref['ternary_pytorch']}, float {ref['float_latent']}")
    ids = ",".join(map(str, ref["greedy_prompt_ids"]))
    got = must([exe, "--tokens", ids, "-n", str(greedy_budget(ref)), "--temp", "0"]).strip()
    if got != ",".join(map(str, ref["greedy_ids"])):
        failures.append(f"greedy ids {got}; PyTorch {ref['greedy_ids']}")
    text = must([exe, "--prompt", "The", "-n", "20", "--seed", "1"])
    if not text.startswith("The"):
        failures.append(f"--prompt output does not start with the prompt: {text!r}")
    if failures:
        print("\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
