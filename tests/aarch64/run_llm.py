#!/usr/bin/python3
"""run_llm.py: a tiny ternary LM of tests/llm (export.py CONFIG) compiled for x86 and for aarch64 (the tbl
kernel on the default CPU, run as a cortex-a53; the sdot kernel with --cpu=neoverse-n1, run as qemu's `max`):
the greedy tokens of --tokens PROMPT -n STEPS --temp 0 must equal the x86 executable's (and PyTorch's), and the
dumped prefill logits and the decode logits of the steps PyTorch exported be within 1e-3 of the largest of
PyTorch's, as tests/llm/run_compiled.py asks of x86. How close the logits are to x86's is printed: BitLinear is
exact on both, but the portable kernels' float reductions (RMSNorm, softmax: TK_REASSOCIATE) vectorize to each
CPU's width, so the last bits can differ and, rarely, flip an int8 activation downstream. A SentencePiece
tokenizer must stop an aarch64 compile with a message that says why (the aarch64 runtime has none).

Usage: /usr/bin/python3 run_llm.py --ternc BUILD/ternc --runtime-dir DIR --workdir DIR CONFIG [--steps N] [-O1]
(-O1: compile x86 and aarch64 alike at -O1, four times cheaper to compile than the default -O3 on this machine)
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = [
    ("aarch64-tbl", ["--target", "aarch64"], "cortex-a53"),
    ("aarch64-sdot", ["--target", "aarch64", "--cpu=neoverse-n1"], "max"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--runtime-dir", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--steps", type=int, default=24)
    ap.add_argument("--spm-error", action="store_true", help="also check the SentencePiece compile error")
    ap.add_argument("-O", dest="opt", default="", help="ternc compile's -O level for every build")
    ap.add_argument("config")
    a = ap.parse_args()
    qemu = common.prerequisites(a.runtime_dir)
    work = os.path.join(a.workdir, a.config)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    ref = os.path.join(work, "export")
    common.run(["/usr/bin/python3", os.path.join(HERE, "..", "llm", "export.py"), a.config, ref])
    model = os.path.join(ref, "model.onnx")
    prompt = ",".join(map(str, np.load(os.path.join(ref, "prompt.npy"))[0]))
    greedy = [int(t) for t in np.load(os.path.join(ref, "greedy.npy"))][:a.steps]
    want_logits = [np.load(os.path.join(ref, f)) for f in ("prefill_logits.npy", "decode_logits.npy")]
    args = ["--tokens", prompt, "-n", str(len(greedy)), "--temp", "0", "--threads", "2"]

    def generate(prefix, exe):
        dump = exe + ".dump"
        out = common.run(prefix + [exe] + args + ["--dump", dump]).stdout.strip()
        logits = [np.load(os.path.join(dump, f)) for f in ("prefill_logits.npy", "decode_logits.npy")]
        return [int(t) for t in out.split(",")], logits

    opt = ["-O" + a.opt] if a.opt else []
    x86exe = os.path.join(work, "model.x86")
    common.run([a.ternc, "compile", model, "-o", x86exe] + opt)
    tokens86, logits86 = generate([], x86exe)
    failures = []
    if tokens86 != greedy:
        failures.append(f"x86 greedy tokens are not PyTorch's: {tokens86} / {greedy}")
    for variant, flags, cpu in VARIANTS:
        exe = os.path.join(work, "model." + variant)
        common.run([a.ternc, "compile", model, "-o", exe] + flags + opt)
        tokens, logits = generate(common.qemu_cmd(qemu, cpu), exe)
        exact = all(common.bit_equal(g, w) for g, w in zip(logits, logits86))
        diff = max(common.max_rel(g, w) for g, w in zip(logits, logits86))
        print(f"{a.config} ({variant}, qemu -cpu {cpu}): {len(tokens)} greedy tokens "
              f"{'equal to' if tokens == tokens86 else 'DIFFERENT from'} x86's; logits "
              f"{'bit for bit equal' if exact else f'within {diff:.3g} of the largest'}")
        vspt = max(common.max_rel(g[:len(w)], w) for g, w in zip(logits, want_logits))
        print(f"  logits against PyTorch's (prefill, first {len(want_logits[1])} decode steps): {vspt:.3g}")
        if tokens != tokens86 or tokens != greedy:
            failures.append(f"{variant}: greedy tokens differ from x86's or PyTorch's:\n  {tokens}\n  {tokens86}")
        if not vspt <= 1e-3:
            failures.append(f"{variant}: logits differ from PyTorch's by {vspt:.3g} of the largest")
    if a.spm_error:
        prefix = os.path.join(work, "spm")
        common.run(["spm_train", "--input=/usr/share/common-licenses/GPL-3", f"--model_prefix={prefix}",
                    "--vocab_size=200", "--model_type=unigram", "--bos_id=1", "--eos_id=2", "--unk_id=0"])
        p = subprocess.run([a.ternc, "compile", model, "-o", os.path.join(work, "spm.exe"), "--target", "aarch64",
                            "--tokenizer", prefix + ".model"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        if p.returncode == 0 or "does not include" not in p.stderr or "SentencePiece" not in p.stderr:
            failures.append(f"a SentencePiece tokenizer for aarch64: rc {p.returncode}, {p.stderr.strip()[-800:]}")
        else:
            print("SentencePiece tokenizer for aarch64: refused:",
                  [line for line in p.stderr.splitlines() if "SentencePiece" in line][0].strip())
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
