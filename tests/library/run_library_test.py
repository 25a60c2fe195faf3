#!/usr/bin/python3
"""run_library_test.py: the --emit=lib tests. Each case compiles a model with `ternc compile --emit=lib`, builds
a host program against the library and its header with the system C or C++ compiler, exactly as a user would
(no include path but the header's folder, no libraries beyond -lstdc++ -lm -lpthread), runs it, and compares its
output with values computed here with numpy or saved by the example's PyTorch export.

  run_library_test.py CASE --ternc TERNC --source SRC --work DIR
  CASE: example    examples/c-library: the static classifier (Gemm, Relu, Softmax) against PyTorch's output
        symbolic   tests/library/kv.tir: two graphs, symbolic and polynomial dims, the shape API and its errors
                   (under valgrind's memcheck if installed)
        cxx        kv.h compiled as C++ (-pedantic -Werror) in both orders with ternc/runtime.h; names.tir's
                   header, whose names need escaping, as C99 and C++
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import numpy as np

LINK_LIBS = ["-lstdc++", "-lm", "-lpthread"]


def run(cmd, **kw):
    """Runs cmd; on failure prints it with its output and exits 1."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"FAILED (exit {p.returncode}): {' '.join(cmd)}\n{p.stdout}")
    return p.stdout


def compile_library(args, model, lib_name):
    os.makedirs(args.work, exist_ok=True)
    lib = os.path.join(args.work, lib_name)
    run([args.ternc, "compile", model, "--emit=lib", "-o", lib])
    header = os.path.join(args.work, lib_name[len("lib"):-len(".a")] + ".h")  # libkv.a -> kv.h
    if not os.path.exists(header):
        sys.exit(f"FAILED: ternc wrote no header {header}")
    return lib


def check(cond, message):
    if not cond:
        sys.exit("FAILED: " + message)


def close(actual, expected, what, atol=1e-5):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    check(actual.shape == expected.shape, f"{what}: {actual.size} values, expected {expected.size}")
    if not np.allclose(actual, expected, rtol=1e-5, atol=atol):
        bad = np.argmax(np.abs(actual - expected))
        sys.exit(f"FAILED: {what}: value {bad} is {actual.flat[bad]}, expected {expected.flat[bad]}\n"
                 f"  actual   {actual.tolist()}\n  expected {expected.tolist()}")


def case_example(args):
    src = os.path.join(args.source, "examples", "c-library")
    lib = compile_library(args, os.path.join(src, "model.onnx"), "libmodel.a")
    exe = os.path.join(args.work, "main")
    # The README's command, with warnings as errors; model.h is found next to main.c's copy.
    shutil.copy(os.path.join(src, "main.c"), args.work)
    run(["cc", "-Wall", "-Wextra", "-Werror", "main.c", os.path.basename(lib), *LINK_LIBS, "-o", exe], cwd=args.work)
    out = run([exe]).splitlines()
    with open(os.path.join(src, "expected_output.txt")) as f:
        expected = f.read().splitlines()
    check(out[0] == expected[0], f"first line {out[0]!r}, expected {expected[0]!r}")
    check(len(out) == len(expected), f"{len(out)} lines, expected {len(expected)}:\n" + "\n".join(out))
    values = lambda lines: [float(v) for line in lines[1:] for v in line.split()]
    close(values(out), values(expected), "probs", atol=2e-6)
    print("\n".join(out))


# ---- symbolic: tests/library/kv.tir through symbolic_main.c ----------------------------------------------------

W = np.array([0.5, -1.0, 2.0, 0.25], np.float32)


def filled(n, seed):
    """symbolic_main.c's filled()."""
    i = np.arange(n)
    return ((((5 * i + seed) % 13) - 6) / 8).astype(np.float32)


def expected_step(batch, n):
    x = filled(batch * 4, 1).reshape(batch, 4)
    z = filled(n * 4, 2).reshape(n, 4)
    return [f"step batch={batch} n={n}", ("cat", np.concatenate([np.maximum(x * W, 0), z])), ("xt", x.T)]


def expected_decode():
    lines, past, cache = [], 3, filled(6, 3).reshape(3, 2)
    for s, seq in enumerate([1, 1, 2, 1]):
        lines.append(f"decode past={past} seq={seq}")
        cache = np.concatenate([cache, filled(seq * 2, s).reshape(seq, 2)])
        lines.append(("kv", cache))
        past = cache.shape[0]
    return lines


ERRORS = [
    ("run without shapes", "model 'kv' has symbolic dims (batch, n): pass the input shapes"),
    ("static dim", "input 'z' has shape [1, 5], but dim 1 must be 4"),
    ("output_shape static dim", "input 'z' has shape [1, 5], but dim 1 must be 4"),
    ("output index", "output index 2 is out of range: model 'kv' has 2 outputs"),
    ("null input", "input 'z' is NULL"),
]


def case_symbolic(args):
    lib = compile_library(args, os.path.join(args.source, "tests", "library", "kv.tir"), "libkv.a")
    exe = os.path.join(args.work, "symbolic")
    run(["cc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-I", args.work,
         os.path.join(args.source, "tests", "library", "symbolic_main.c"), lib, *LINK_LIBS, "-o", exe])
    # Under memcheck when it is installed: the model's code is not instrumented, so only valgrind sees an
    # arena that did not grow with the symbols, or an instance that leaks.
    memcheck = ["valgrind", "-q", "--error-exitcode=9", "--leak-check=full", "--errors-for-leak-kinds=definite"]
    out = run((memcheck if shutil.which("valgrind") else []) + [exe]).splitlines()
    print("\n".join(out))
    expected = ["symbols 2: batch n", "inputs x[batch, 4] z[n, 4]", "outputs cat[batch+n, 4] xt[4, batch]"]
    for batch, n in [(1, 2), (5, 3), (2, 1), (3, 4)]:
        expected += expected_step(batch, n)
    expected += [f"error-case {label}" for label, _ in ERRORS]
    expected += expected_step(4, 2) + expected_decode()
    check(len(out) == len(expected), f"{len(out)} lines, expected {len(expected)}")
    errors = dict(ERRORS)
    for got, want in zip(out, expected):
        if isinstance(want, tuple):
            name, array = want
            m = re.fullmatch(r"(\S+) \[([\d ]*)\]((?: \S+)*)", got)
            check(m is not None and m.group(1) == name, f"expected output {name}, got {got!r}")
            dims = tuple(int(d) for d in m.group(2).split())
            check(dims == array.shape, f"{name}: shape {dims}, expected {array.shape}")
            close([float(v) for v in m.group(3).split()], array.ravel(), f"{name}{list(dims)}")
        elif want.startswith("error-case "):
            label = want[len("error-case "):]
            m = re.fullmatch(r"error-case (.*): rc=(-?\d+): (.*)", got)
            check(m is not None and m.group(1) == label, f"expected error case {label!r}, got {got!r}")
            check(m.group(2) != "0", f"{label}: returned 0, expected an error")
            check(errors[label] in m.group(3), f"{label}: message {m.group(3)!r} lacks {errors[label]!r}")
        else:
            check(got == want, f"got {got!r}, expected {want!r}")


def case_cxx(args):
    lib = compile_library(args, os.path.join(args.source, "tests", "library", "kv.tir"), "libkv.a")
    exe = os.path.join(args.work, "headercheck")
    tests = os.path.join(args.source, "tests", "library")
    run(["c++", "-std=c++17", "-pedantic", "-Wall", "-Wextra", "-Werror", "-I", args.work,
         "-I", os.path.join(args.source, "runtime", "include"), os.path.join(tests, "HeaderCheck.cpp"),
         os.path.join(tests, "HeaderCheckRuntimeFirst.cpp"), lib, "-lm", "-lpthread", "-o", exe])
    print(run([exe]), end="")

    # Names that need escaping: the header must still be valid C99 and C++, and its strings the real names.
    compile_library(args, os.path.join(tests, "names.tir"), "libnames.a")
    names = os.path.join(args.work, "names_check.c")
    with open(names, "w") as f:
        f.write('#include "names.h"\n#include <string.h>\n'
                'int main(void) {\n'
                '  return strcmp(NAMES_INPUT_0_NAME, "x\\"q") != 0 || strcmp(NAMES_OUTPUT_1_NAME, "r*/") != 0 ||\n'
                '         NAMES_INPUT_1_RANK != 0 || NAMES_INPUT_1_BYTES != 4;\n}\n')
    for compiler in [["cc", "-std=c99"], ["c++", "-x", "c++", "-std=c++17"]]:
        run([*compiler, "-pedantic", "-Wall", "-Wextra", "-Werror", "-I", args.work, names, "-o", names + ".exe"])
        run([names + ".exe"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=["example", "symbolic", "cxx"])
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--source", required=True, help="the ternc source tree")
    ap.add_argument("--work", required=True, help="a build folder for this case")
    args = ap.parse_args()
    {"example": case_example, "symbolic": case_symbolic, "cxx": case_cxx}[args.case](args)
    print(f"PASSED {args.case}")


if __name__ == "__main__":
    main()
