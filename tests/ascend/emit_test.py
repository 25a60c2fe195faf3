#!/usr/bin/python3
"""emit_test.py: `ternc compile --target ascend-910b --emit=ascendc` end to end on tests/ternary's exported
models (the BitNet block: ActQuant + BitLinear relu2 + BitLinear with residual; the BitCPM-style gated FFN with
per-group scales and a bias). For each:
  - the project is written, every text file says it was emitted by ternc's ascend-910b target;
  - every emitted .cpp passes `g++ -std=c++17 -fsyntax-only` against tests/ascend/ascendc_syntax (a syntax
    check only, not CANN);
  - each tiling struct in kernels/tilings.h equals, field for field, the AscendMatmulTiling in the header of
    every packed weight file it names (read here with Python's struct, whose size must match headerBytes);
  - each tiling's storage is one `--explain-tiling` reports as chosen;
then a tiny LM of each architecture of tests/llm (LLaMA, BitNet, MiniCPM with muP; exported here from
tests/llm/models.py without export.py's reference checks), prefill and decode graphs whole:
  - every .cpp passes the same syntax check;
  - the host program's run_<graph> names, in graph order, exactly the ops `--emit=tir` shows that plan-memory
    left as neither views nor fused into an elementwise user (one `// op:` block each), and every block launches
    a kernel or a copy;
  - the same for tests/formats' BitNet checkpoint as GGUF (I2_S) and as a packed Hugging Face folder;
then bad output directories: a missing parent and an existing foreign directory fail with a clear message and
leave nothing behind.

Exits 77 (skipped) when this ternc has no ascend-910b target writing --emit=ascendc.

Usage: /usr/bin/python3 emit_test.py --ternc BUILD/ternc --source SRC --work DIR
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys

# AscendMatmulTiling (targets/ascend-910b/AscendSchedule.h), native alignment as the C compiler lays it out.
TILING = [("i", "storage"), ("i", "phase"), ("q", "m"), ("q", "n"), ("q", "k"), ("i", "blockDim"),
          ("i", "splitM"), ("i", "splitN"), ("q", "singleCoreM"), ("q", "singleCoreN"), ("q", "singleCoreK"),
          ("i", "baseM"), ("i", "baseN"), ("i", "baseK"), ("i", "depthA1"), ("i", "depthB1"), ("i", "stepM"),
          ("i", "stepN"), ("i", "stepKa"), ("i", "stepKb"), ("i", "dbL0A"), ("i", "dbL0B"), ("i", "dbL0C"),
          ("i", "kGroup"), ("i", "ringSlots"), ("q", "ringSlotBytes"), ("q", "weightOffset"),
          ("q", "weightBytes"), ("i", "gated"), ("i", "reserved")]
TILING_FORMAT = "@" + "".join(t for t, _ in TILING) + "0q"  # "0q": the trailing padding of an 8-aligned struct
HEADER_FORMAT = "@IIqq"  # magic, headerBytes, n, k; then the decode and prefill tilings
MAGIC = 0x31425341
STORAGE_NAMES = {0: "int8 NZ", 1: "int4 MSD", 2: "2-bit + AIV ring"}  # as --explain-tiling prints them


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def must(cmd):
    p = run(cmd)
    if p.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def read_header(path):
    data = open(path, "rb").read()
    head = struct.calcsize(HEADER_FORMAT)
    # The tilings start at an 8-byte boundary after the 24-byte prefix.
    size = struct.calcsize(TILING_FORMAT)
    magic, header_bytes, n, k = struct.unpack_from(HEADER_FORMAT, data, 0)
    if magic != MAGIC:
        raise AssertionError(f"{path}: magic {magic:#x}")
    if head + 2 * size != header_bytes:
        raise AssertionError(f"{path}: headerBytes {header_bytes}, but this test's AscendMatmulTiling layout "
                             f"gives {head + 2 * size}: update TILING to AscendSchedule.h")
    phases = {}
    for i, phase in enumerate(("decode", "prefill")):
        values = struct.unpack_from(TILING_FORMAT, data, head + i * size)
        phases[phase] = dict(zip((name for _, name in TILING), values))
    return phases


def parse_tilings(text):
    """{struct name: ({field: value}, [(weight file, phase)])}"""
    out, sources, name, fields = {}, [], None, {}
    for line in text.splitlines():
        m = re.search(r"// source: weights/(\S+) (decode|prefill)", line)
        if m:
            sources.append((m.group(1), m.group(2)))
        m = re.search(r"struct (\w+) \{", line)
        if m:
            name = m.group(1)
        m = re.search(r"static constexpr \w+ (\w+) = (-?\d+);", line)
        if m:
            fields[m.group(1)] = int(m.group(2))
        if "};" in line and name:
            out[name] = (fields, sources)
            name, fields, sources = None, {}, []
    return out


def check_project(out, syntax, failures, label, explain=None):
    files = []
    for root, _, names in os.walk(out):
        files += [os.path.join(root, n) for n in names]
    for f in files:
        if f.endswith(".bin"):
            continue
        first = open(f, encoding="utf-8").readline()
        if "Emitted by ternc's ascend-910b target" not in first:
            failures.append(f"{label}: {f} does not start by saying what emitted it")
    if "emitted, not compiled or run here" not in open(os.path.join(out, "README.md")).read():
        failures.append(f"{label}: README.md does not say the project was not compiled or run")
    cpps = [f for f in files if f.endswith(".cpp")]
    if not any("/kernels/" in f for f in cpps) or not any(f.endswith("host/main.cpp") for f in cpps):
        failures.append(f"{label}: expected kernels/*.cpp and host/main.cpp, got {cpps}")
    for f in cpps:
        p = run(["g++", "-std=c++17", "-fsyntax-only", "-Wall", "-I", syntax, "-I", os.path.join(out, "kernels"),
                 "-I", os.path.join(out, "host"), f])
        if p.returncode != 0:
            failures.append(f"{label}: {f} does not parse:\n{p.stderr[:4000]}")
    tilings = parse_tilings(open(os.path.join(out, "kernels", "tilings.h")).read())
    if not tilings:
        failures.append(f"{label}: no tiling structs in kernels/tilings.h")
    compared = 0
    for name, (fields, sources) in tilings.items():
        if not sources:
            failures.append(f"{label}: {name} names no packed weight")
        storage = STORAGE_NAMES.get(fields.get("storage"), "?")
        if explain is not None and f"storage {storage}" not in explain:
            failures.append(f"{label}: {name} has storage {storage}, which --explain-tiling never chose")
        for weight, phase in sources:
            want = read_header(os.path.join(out, "weights", weight))[phase]
            for key, value in want.items():
                if key == "reserved":
                    continue
                if fields.get(key) != value:
                    failures.append(f"{label}: {name}.{key} = {fields.get(key)}, the header of {weight} ({phase}) "
                                    f"says {value}")
            compared += 1
    # Every kernel instantiates a tiling that exists.
    for f in cpps:
        for used in re.findall(r"ternc_tiling::(\w+)", open(f).read()):
            if used not in tilings:
                failures.append(f"{label}: {f} uses {used}, which kernels/tilings.h lacks")
    return compared


# (label, config, extra `ternc compile` flags, a kernel file prefix the project must have): also the int8 head
# (quantize-head) and an f16 KV cache (converting copies).
LLM_CASES = (("llama-mha", "llama-mha", [], "ternc_matmul"),
             ("bitnet-gqa4-hd128", "bitnet-gqa4-hd128", [], "ternc_softmax"),
             ("minicpm-gqa8-g32", "minicpm-gqa8-g32", [], "ternc_gather"),
             ("bitnet-head-int8", "bitnet-gqa4-hd128", ["--head", "int8"], "ternc_head_int8"),
             ("llama-mha-f16-cache", "llama-mha", ["--kv-cache", "f16"], "ternc_convert_f32_f16"))
LAUNCH = re.compile(r"TERNC_LAUNCH\(|\bput\(|aclrtMemcpyAsync\(")


def export_llm(source, config, path):
    """tests/llm's model `config` as ONNX (export.export_onnx, without export.py's slow reference checks)."""
    script = (f"import sys; sys.path.insert(0, {os.path.join(source, 'tests', 'llm')!r}); import torch; "
              f"torch.set_num_threads(2); import export; cfg = export.CONFIGS[{config!r}]; "
              f"export.export_onnx(export.DecoderLM(cfg), cfg, {path!r})")
    must(["/usr/bin/python3", "-c", script])


def planned_ops(tir):
    """({graph: [op name of each op plan-memory left as neither a view (-3) nor fused (-1)]},
        {graph: [result of each elementwise op fused into its user]})"""
    graphs, fused, current = {}, {}, None
    for line in tir.splitlines():
        m = re.match(r"\s*graph @([\w.]+)\(", line)
        if m:
            current = graphs.setdefault(m.group(1), [])
            fused[m.group(1)] = folded = []
            continue
        m = re.match(r"\s*(%.*?) = ([A-Za-z]\w*)\(.*mem\.slots = \[(-?\d+)", line)
        if not m or current is None:
            continue
        slot = int(m.group(3))
        if slot not in (-1, -3):
            current.append(m.group(2))
        # quantize-head's DequantizeLinear and Transpose are read in place by the head kernel, not fused.
        elif slot == -1 and m.group(2) not in ("DequantizeLinear", "Transpose"):
            folded.append(m.group(1).replace('"', ""))
    return graphs, fused


def check_launches(out, tir, failures, label):
    """The host program runs every planned op in graph order, each with a launch or a copy."""
    host = open(os.path.join(out, "host", "main.cpp")).read()
    want, fused = planned_ops(tir)
    if not want:
        failures.append(f"{label}: no graphs in the --emit=tir output")
    for graph, ops in want.items():
        start = host.find(f"void Model::run_{graph}()")
        if start < 0:
            failures.append(f"{label}: host/main.cpp has no run_{graph}")
            continue
        body = host[start:host.find("\n}\n", start)]
        blocks = body.split("  // op: ")[1:]
        got = [re.search(r"([A-Za-z]\w*) [%@]\S+$", b.splitlines()[0]).group(1) for b in blocks]
        if got != ops:
            first = next((i for i, (a, b) in enumerate(zip(got, ops)) if a != b), min(len(got), len(ops)))
            failures.append(f"{label}: run_{graph} runs {len(got)} ops, the plan has {len(ops)}; first difference "
                            f"at op {first}")
        for b in blocks:
            if not LAUNCH.search(b):
                failures.append(f"{label}: run_{graph}: no launch or copy for {b.splitlines()[0]}")
        # Every fused op is computed by its chain's kernel (named in the chain's `// fused:` comment).
        named = set()
        for line in body.splitlines():
            if line.strip().startswith("// fused: "):
                named.update(line.strip()[len("// fused: "):].split(", "))
        missing = [v for v in fused[graph] if v not in named]
        if missing:
            failures.append(f"{label}: run_{graph}: fused ops in no chain kernel: {missing[:5]}")
        print(f"{label}: @{graph}: {len(got)} ops launched in graph order, {len(LAUNCH.findall(body))} launches, "
              f"{len(fused[graph])} fused ops in chain kernels")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    targets = run([args.ternc, "targets"]).stdout
    section = targets[targets.find("ascend-910b"):] if "ascend-910b" in targets else ""
    if "ascendc" not in section:
        print("SKIPPED: this ternc has no ascend-910b target that writes --emit=ascendc")
        return 77
    syntax = os.path.join(args.source, "tests", "ascend", "ascendc_syntax")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    models = os.path.join(args.work, "models")
    must(["/usr/bin/python3", os.path.join(args.source, "tests", "ternary", "export_block.py"), models])
    failures = []
    for name in ("block", "group"):
        out = os.path.join(args.work, name + "-ascendc")
        cmd = [args.ternc, "compile", os.path.join(models, name + ".onnx"), "--target", "ascend-910b",
               "--emit=ascendc", "-o", out]
        p = run(cmd)
        if p.returncode != 0 and "writes no such output" in p.stderr:
            # The target lists the kind but its emitCustom does not call the emitter yet.
            print(f"SKIPPED: {p.stderr.strip()}")
            return 77
        if p.returncode != 0:
            sys.exit(f"FAILED: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
        explain = must([args.ternc, "compile", os.path.join(models, name + ".onnx"), "--target", "ascend-910b",
                        "--emit=tir", "-o", os.path.join(args.work, name + ".tir"), "--explain-tiling"])
        compared = check_project(out, syntax, failures, name, explain)
        print(f"{name}: {compared} (tiling, packed header) pairs compared")
    # Whole language models, prefill and decode.
    for label, config, flags, kernel in LLM_CASES:
        model = os.path.join(models, config + ".onnx")
        if not os.path.exists(model):
            export_llm(args.source, config, model)
        out = os.path.join(args.work, label + "-ascendc")
        must([args.ternc, "compile", model, "--target", "ascend-910b", "--emit=ascendc", "-o", out, *flags])
        tir = os.path.join(args.work, label + ".tir")
        explain = must([args.ternc, "compile", model, "--target", "ascend-910b", "--emit=tir", "-o", tir,
                        "--explain-tiling", *flags])
        compared = check_project(out, syntax, failures, label, explain)
        check_launches(out, open(tir).read(), failures, label)
        if not any(n.startswith(kernel) for n in os.listdir(os.path.join(out, "kernels"))):
            failures.append(f"{label}: no {kernel} kernel")
        print(f"{label}: {compared} (tiling, packed header) pairs compared")
    # The formats' checkpoints (tests/formats/write_layouts.py): BitNet as GGUF I2_S and as the packed Hugging
    # Face folder, imported by their own frontends.
    layouts = os.path.join(args.work, "layouts")
    must(["/usr/bin/python3", os.path.join(args.source, "tests", "formats", "write_layouts.py"), "fmt-bitnet",
          layouts])
    for layout in ("i2_s.gguf", "hf-packed"):
        label = "fmt-bitnet-" + layout
        out = os.path.join(args.work, label + "-ascendc")
        model = os.path.join(layouts, layout)
        must([args.ternc, "compile", model, "--target", "ascend-910b", "--emit=ascendc", "-o", out,
              "--no-tokenizer"])
        tir = os.path.join(args.work, label + ".tir")
        explain = must([args.ternc, "compile", model, "--target", "ascend-910b", "--emit=tir", "-o", tir,
                        "--explain-tiling", "--no-tokenizer"])
        compared = check_project(out, syntax, failures, label, explain)
        check_launches(out, open(tir).read(), failures, label)
        print(f"{label}: {compared} (tiling, packed header) pairs compared")
    # Bad output directories: a clear error, nothing left behind.
    block = os.path.join(models, "block.onnx")
    p = run([args.ternc, "compile", block, "--target", "ascend-910b", "--emit=ascendc", "-o",
             os.path.join(args.work, "missing", "out")])
    if p.returncode == 0 or "does not exist" not in p.stderr or os.path.exists(os.path.join(args.work, "missing")):
        failures.append(f"missing parent: exit {p.returncode}, stderr {p.stderr!r}")
    foreign = os.path.join(args.work, "foreign")
    os.makedirs(foreign)
    open(os.path.join(foreign, "notes.txt"), "w").write("keep")
    p = run([args.ternc, "compile", block, "--target", "ascend-910b", "--emit=ascendc", "-o", foreign])
    if p.returncode == 0 or "not an earlier --emit=ascendc output" not in p.stderr:
        failures.append(f"foreign directory: exit {p.returncode}, stderr {p.stderr!r}")
    if os.listdir(foreign) != ["notes.txt"]:
        failures.append(f"foreign directory changed: {os.listdir(foreign)}")
    leftovers = [n for n in os.listdir(args.work) if ".ternc-" in n]
    if leftovers:
        failures.append(f"temporary directories left behind: {leftovers}")
    if failures:
        print("\n".join(failures))
        return 1
    print("ascend-emit-compile: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
