# error_check.py: bad input to a compiled executable is a one-line error and a nonzero exit that leaves
# earlier outputs alone; a failed `ternc compile` writes nothing and keeps an existing output file; compiling
# the same model twice gives the same bytes; `--bind` makes a data-dependent model compile.
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "errors", "model.tir")  # x: f32[batch,17], y: f32[batch,1] -> z: f32[batch,17]
DATA_DEPENDENT = os.path.join(HERE, "errors", "data-dependent.tir")
SYNTAX_ERROR = os.path.join(HERE, "errors", "syntax-error.tir")

failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'}  {name}{'' if ok else ': ' + detail}")
    if not ok:
        failures.append(name)


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def expect_error(name, cmd, *needles):
    """The command exits with a nonzero status (not a signal) and one `error:` line naming every needle."""
    r = run(cmd)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    problems = []
    if r.returncode <= 0:
        problems.append(f"exit status {r.returncode}")
    if len(lines) != 1 or "error:" not in lines[0]:
        problems.append(f"stderr is not one error line: {r.stderr!r}")
    problems += [f"the message does not mention {n!r}" for n in needles if n not in r.stderr]
    check(name, not problems, "; ".join(problems) + f" (stderr: {r.stderr.strip()!r})")
    return r


def save(path, array):
    np.save(path, array)
    return path


def executable_errors(ternc, work):
    exe = os.path.join(work, "model.exe")
    r = run([ternc, "compile", MODEL, "-o", exe, "-O1"])
    if r.returncode != 0:
        check("compile the error-test model", False, r.stderr)
        return
    rng = np.random.default_rng(1)
    x = save(os.path.join(work, "x.npy"), rng.standard_normal((3, 17)).astype(np.float32))
    y = save(os.path.join(work, "y.npy"), rng.standard_normal((3, 1)).astype(np.float32))
    out = os.path.join(work, "out")

    # A good run first: its output must survive every failed run below.
    r = run([exe, "--input", f"x={x}", "--input", f"y={y}", "--output-dir", out])
    check("a good run writes z.npy", r.returncode == 0 and os.path.exists(os.path.join(out, "z.npy")), r.stderr)
    good = open(os.path.join(out, "z.npy"), "rb").read()

    y_shape = save(os.path.join(work, "y-shape.npy"), np.zeros((3, 2), np.float32))
    y_rank = save(os.path.join(work, "y-rank.npy"), np.zeros((3,), np.float32))
    y_batch = save(os.path.join(work, "y-batch.npy"), np.zeros((4, 1), np.float32))
    y_dtype = save(os.path.join(work, "y-dtype.npy"), np.zeros((3, 1), np.float64))
    y_int = save(os.path.join(work, "y-int.npy"), np.zeros((3, 1), np.int32))
    garbage_npy = os.path.join(work, "garbage.npy")
    garbage_pb = os.path.join(work, "garbage.pb")
    truncated = os.path.join(work, "truncated.npy")
    for path, data in ((garbage_npy, b"not a numpy file\n"), (garbage_pb, b"\xff\xff\xff\xff not a TensorProto"),
                       (truncated, open(y, "rb").read()[:-3])):
        with open(path, "wb") as f:
            f.write(data)
    missing = os.path.join(work, "no-such-file.npy")

    base = [exe, "--output-dir", out]
    expect_error("missing input", base + ["--input", f"x={x}"], "missing --input", "y")
    expect_error("unknown input", base + ["--input", f"x={x}", "--input", f"y={y}", "--input", f"w={y}"], "'w'")
    expect_error("input given twice", base + ["--input", f"x={x}", "--input", f"y={y}", "--input", f"y={y}"], "twice")
    expect_error("wrong shape", base + ["--input", f"x={x}", "--input", f"y={y_shape}"], "'y'", "[3, 2]")
    expect_error("wrong rank", base + ["--input", f"x={x}", "--input", f"y={y_rank}"], "'y'", "rank")
    expect_error("inconsistent symbolic dim", base + ["--input", f"x={x}", "--input", f"y={y_batch}"], "batch")
    expect_error("wrong dtype (f64 for f32)", base + ["--input", f"x={x}", "--input", f"y={y_dtype}"], "'y'", "f64")
    expect_error("wrong dtype (i32 for f32)", base + ["--input", f"x={x}", "--input", f"y={y_int}"], "'y'", "i32")
    expect_error("nonexistent file", base + ["--input", f"x={x}", "--input", f"y={missing}"], missing)
    expect_error("a directory as the file", base + ["--input", f"x={x}", "--input", f"y={work}"], work)
    expect_error("not a .npy file", base + ["--input", f"x={x}", "--input", f"y={garbage_npy}"], garbage_npy)
    expect_error("not a TensorProto .pb", base + ["--input", f"x={x}", "--input", f"y={garbage_pb}"], garbage_pb)
    expect_error("truncated .npy", base + ["--input", f"x={x}", "--input", f"y={truncated}"], truncated)
    expect_error("no --output-dir", [exe, "--input", f"x={x}", "--input", f"y={y}"], "--output-dir")
    expect_error("malformed --input", base + ["--input", f"x={x}", "--input", "y"], "NAME=PATH")
    after = open(os.path.join(out, "z.npy"), "rb").read()
    check("failed runs leave the earlier output alone", after == good and sorted(os.listdir(out)) == ["z.npy"],
          f"output folder holds {sorted(os.listdir(out))}")


def compile_errors(ternc, work):
    folder = os.path.join(work, "compile")
    os.makedirs(folder)
    for name, model, needle in (("syntax error", SYNTAX_ERROR, "expected ')'"),
                                ("data-dependent shape", DATA_DEPENDENT, "--bind NAME=FILE")):
        out = os.path.join(folder, "model.exe")
        expect_error(f"compile: {name}", [ternc, "compile", model, "-o", out], needle)
        check(f"compile: {name} writes no file", os.listdir(folder) == [], f"folder holds {os.listdir(folder)}")
        with open(out, "wb") as f:
            f.write(b"an earlier build\n")
        expect_error(f"compile: {name} over an existing file", [ternc, "compile", model, "-o", out], needle)
        kept = open(out, "rb").read() == b"an earlier build\n"
        check(f"compile: {name} keeps the existing file", kept and os.listdir(folder) == ["model.exe"],
              f"folder holds {os.listdir(folder)}")
        os.remove(out)
    nowhere = os.path.join(folder, "no-such-folder", "model.exe")
    expect_error("compile: the output folder does not exist", [ternc, "compile", MODEL, "-o", nowhere], nowhere)


def compile_determinism(ternc, work):
    for emit, ext in (("exe", "exe"), ("obj", "o"), ("llvm", "ll")):
        files = [os.path.join(work, f"same-{k}.{ext}") for k in (1, 2)]
        for f in files:
            r = run([ternc, "compile", MODEL, "-o", f, f"--emit={emit}"])
            if r.returncode != 0:
                check(f"compile --emit={emit}", False, r.stderr)
                return
        a, b = (open(f, "rb").read() for f in files)
        first = next((i for i, (p, q) in enumerate(zip(a, b)) if p != q), min(len(a), len(b)))
        check(f"compiling twice gives identical bytes (--emit={emit})", a == b and len(a) > 0,
              f"{len(a)} and {len(b)} bytes, first difference at byte {first}")


def bind_data_dependent(ternc, work):
    n = save(os.path.join(work, "n.npy"), np.array(5, np.int64))
    exe = os.path.join(work, "range.exe")
    r = run([ternc, "compile", DATA_DEPENDENT, "-o", exe, "--bind", f"n={n}", "-O1"])
    check("compile --bind a data-dependent input", r.returncode == 0, r.stderr)
    if r.returncode != 0:
        return
    out = os.path.join(work, "range-out")
    r = run([exe, "--output-dir", out])
    got = np.load(os.path.join(out, "r.npy")) if r.returncode == 0 else None
    check("the bound executable computes Range(0, 5, 1)", got is not None and got.dtype == np.int64 and
          got.tolist() == [0, 1, 2, 3, 4], f"exit {r.returncode}, {r.stderr.strip()}, got {got!r}")


def main():
    ap = argparse.ArgumentParser(description="Error behaviour of ternc compile and compiled executables.")
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--work", required=True, help="scratch folder (emptied first)")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    executable_errors(a.ternc, a.work)
    compile_errors(a.ternc, a.work)
    compile_determinism(a.ternc, a.work)
    bind_data_dependent(a.ternc, a.work)
    print(f"{len(failures)} check(s) failed" if failures else "all checks passed")
    if not failures:
        shutil.rmtree(a.work)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
