# codegen_check.py: compiles each .tir model of a family with `ternc compile`, runs the executable and the
# reference interpreter (`ternc run`) on the same random inputs, and compares every output.
#
# Each model file states how it is run in `//` directives (any order, before or after the module):
#   // SIZES: batch=1 n=3          one run per SIZES line, binding the symbolic dims of the inputs;
#                                  the same executable serves every line (no SIZES line: one static run)
#   // RANGE: NAME LOW HIGH        draw input NAME from [LOW, HIGH] (integers: inclusive), default [-3, 3]
#   // TOLERANCE: rtol=R atol=A    for floating outputs (defaults by dtype, see DEFAULT_TOLERANCE)
#   // OPT: N                      ternc compile -ON (default 3)
# Floating outputs match when |compiled - interp| <= atol + rtol * |interp|, with NaN where the interpreter
# has NaN; integer and bool outputs match exactly. Dtypes, shapes and the set of output files must agree.
import argparse
import os
import re
import shutil
import subprocess
import sys
import zlib

import numpy as np

# Compiled code may reassociate sums and use different math routines than the interpreter: a few ulp for
# elementwise ops, more for long reductions. f16/bf16 results can round the other way at a tie.
DEFAULT_TOLERANCE = {
    "float64": (1e-9, 1e-12),
    "float32": (1e-5, 1e-6),
    "float16": (2e-3, 1e-4),
}

NUMPY_DTYPES = {
    "f64": np.float64, "f32": np.float32, "f16": np.float16, "i8": np.int8, "i16": np.int16, "i32": np.int32,
    "i64": np.int64, "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64, "bool": np.bool_,
}


class CaseFailure(Exception):
    pass


def parse_directives(text):
    sizes, ranges, tol, opt = [], {}, None, 3
    for line in text.splitlines():
        m = re.match(r"\s*//\s*([A-Z]+):\s*(.*)$", line)
        if not m:
            continue
        key, rest = m.group(1), m.group(2).strip()
        if key == "SIZES":
            sizes.append({k: int(v) for k, v in (kv.split("=") for kv in rest.split())})
        elif key == "RANGE":
            name, low, high = rest.split()
            ranges[name] = (float(low), float(high))
        elif key == "TOLERANCE":
            kv = dict(p.split("=") for p in rest.split())
            tol = (float(kv["rtol"]), float(kv["atol"]))
        elif key == "OPT":
            opt = int(rest)
    return sizes or [{}], ranges, tol, opt


def parse_inputs(text):
    """The first graph's arguments as (name, dtype, [dim, ...]), a dim being an int or a symbol name."""
    m = re.search(r"graph\s+@[\w.$-]+\s*\((.*?)\)\s*->", text, re.S)
    if not m:
        raise CaseFailure("no `graph @name(...) ->` header found")
    args = []
    for name, dtype, dims in re.findall(r"%([\w.$-]+)\s*:\s*(\w+)\[([^\]]*)\]", m.group(1)):
        shape = [] if not dims.strip() else [int(d) if re.fullmatch(r"\d+", d.strip()) else d.strip()
                                            for d in dims.split(",")]
        args.append((name, dtype, shape))
    return args


def random_input(rng, dtype, shape, value_range):
    np_dtype = NUMPY_DTYPES[dtype]
    if dtype == "bool":
        return rng.random(shape) < 0.5
    low, high = value_range if value_range else (-3, 3)
    if np.issubdtype(np_dtype, np.integer):
        info = np.iinfo(np_dtype)
        return rng.integers(max(int(low), info.min), min(int(high), info.max), size=shape, endpoint=True,
                            dtype=np_dtype)
    return rng.uniform(low, high, size=shape).astype(np_dtype)


def run(cmd, what):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise CaseFailure(f"{what} failed (exit {r.returncode}): {' '.join(cmd)}\n{r.stdout.strip()}")
    return r.stdout


def compare(name, got, want, tol):
    if got.dtype != want.dtype:
        return f"output {name}: dtype {got.dtype}, interpreter {want.dtype}"
    if got.shape != want.shape:
        return f"output {name}: shape {got.shape}, interpreter {want.shape}"
    if got.dtype.kind == "f":
        rtol, atol = tol or DEFAULT_TOLERANCE[str(got.dtype)]
        g, w = got.astype(np.float64), want.astype(np.float64)
        same_special = (np.isnan(g) & np.isnan(w)) | (g == w)
        with np.errstate(invalid="ignore"):  # inf - inf
            close = np.abs(g - w) <= atol + rtol * np.abs(w)
        bad = ~(same_special | (close & np.isfinite(g) & np.isfinite(w)))
    else:
        bad = got != want
    if not bad.any():
        return None
    idx = np.unravel_index(np.argmax(bad), bad.shape) if bad.ndim else ()
    return (f"output {name}: {int(bad.sum())} of {bad.size} elements differ; first at {tuple(int(i) for i in idx)}: "
            f"compiled {got[idx]!r}, interpreter {want[idx]!r}")


def check_model(ternc, path, work):
    text = open(path).read()
    sizes, ranges, tol, opt = parse_directives(text)
    args = parse_inputs(text)
    stem = os.path.splitext(os.path.basename(path))[0]
    base = os.path.join(work, stem)
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    exe = os.path.join(base, "model.exe")
    run([ternc, "compile", path, "-o", exe, f"-O{opt}"], "ternc compile")
    rng = np.random.default_rng(zlib.crc32(stem.encode()))
    shapes_seen = []
    for k, binding in enumerate(sizes):
        flags = []
        shapes = []
        for name, dtype, dims in args:
            shape = []
            for d in dims:
                if isinstance(d, str) and d not in binding:
                    raise CaseFailure(f"SIZES line {k + 1} does not bind symbol '{d}' of input {name}")
                shape.append(binding[d] if isinstance(d, str) else d)
            shapes.append(tuple(shape))
            file = os.path.join(base, f"in-{k}-{name}.npy")
            np.save(file, random_input(rng, dtype, shape, ranges.get(name)))
            flags += ["--input", f"{name}={file}"]
        shapes_seen.append(shapes)
        ref, out = os.path.join(base, f"ref-{k}"), os.path.join(base, f"out-{k}")
        run([ternc, "run", path, *flags, "--output-dir", ref], "ternc run")
        run([exe, *flags, "--output-dir", out], "the compiled executable")
        want_files, got_files = sorted(os.listdir(ref)), sorted(os.listdir(out))
        if want_files != got_files:
            raise CaseFailure(f"sizes {binding}: compiled wrote {got_files}, interpreter wrote {want_files}")
        for f in want_files:
            err = compare(f[:-4], np.load(os.path.join(out, f)), np.load(os.path.join(ref, f)), tol)
            if err:
                raise CaseFailure(f"sizes {binding}: {err}")
    if len(sizes) > 1 and len(set(map(tuple, shapes_seen))) < len(sizes):
        raise CaseFailure("two SIZES lines give the same input shapes; the symbolic runs would not differ")
    shutil.rmtree(base)
    return len(sizes)


def main():
    ap = argparse.ArgumentParser(description="Compares compiled models against the interpreter.")
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--work", required=True, help="scratch folder (emptied first)")
    ap.add_argument("models", nargs="+", help=".tir files or folders of them")
    a = ap.parse_args()
    files = []
    for m in a.models:
        files += sorted(os.path.join(m, f) for f in os.listdir(m) if f.endswith(".tir")) if os.path.isdir(m) else [m]
    if not files:
        print("no .tir models given")
        return 1
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    failed = 0
    for f in files:
        try:
            runs = check_model(a.ternc, f, a.work)
            print(f"ok    {os.path.basename(f)} ({runs} run{'s' if runs > 1 else ''})")
        except CaseFailure as e:
            failed += 1
            print(f"FAIL  {os.path.basename(f)}: {e}")
    print(f"{len(files) - failed} of {len(files)} models match the interpreter")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
