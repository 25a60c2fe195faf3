#!/usr/bin/python3
"""run.py: ternc vs llama.cpp on one GGUF file (issue 6, bench/README.md "Head to head").

For the GGUF (bench/h2h/make_gguf.py writes BitNet-2B4T / BitCPM-CANN-1B shaped ones):
  1. `ternc compile` it (wall time, the compiler's peak RSS, --pass-timing, the executable's size);
  2. memory read bandwidth on 1 and 2 threads (bench/h2h/bwprobe.c), before and after the timings;
  3. per thread count: ternc's `--bench` (pp128, tg128) and llama.cpp's (bench/h2h/llamacpp_bench.mjs through
     node-llama-cpp: the same tests, the prompt in one batch), each under /usr/bin/time -v for the peak RSS
     (llama.cpp's also net of the same node script loading the library without a model);
  4. time to first token from a cold start (process start to the first generated token, a 128-token prompt), with
     the page cache dropped if this machine permits (else the model files evicted with posix_fadvise, else warm,
     as the report says);
  5. the decode bandwidth bound: bytes one decode step reads (ternary weights at ternc's packing and their f32
     scales, the head, the embedding row) over the measured bandwidth, and ternc's tg128 as a fraction of it.
Writes OUT.md (Markdown tables), OUT.json (every figure) and OUT.png (a chart).

Usage: /usr/bin/python3 bench/h2h/run.py MODEL.gguf [--ternc PATH] [--threads 1,2] [--reps 3] [--ctx 512]
                                         [--out bench/results/h2h] [--work DIR] [--cpu native] [--skip-compile]
                                         [--ternc-args "--head int8"] [--also-compile ARGS]... [--replot]
"""
import argparse
import datetime
import json
import os
import random
import re
import shlex
import shutil
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PROMPT_LEN = 128
TQ2_0, Q6_K, F16, F32 = 35, 14, 1, 0
TYPE_BYTES = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 14: (256, 210), 34: (256, 54), 35: (256, 66)}


def log(msg):
    print(f"[h2h {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- GGUF header (metadata and tensor infos only) ----

def read_gguf_header(path):
    """(metadata dict of scalars and array lengths, [(name, ne, type)]) of a GGUF v3 file."""
    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
    with open(path, "rb") as f:
        def rd(fmt):
            n = struct.calcsize(fmt)
            b = f.read(n)
            if len(b) != n:
                raise SystemExit(f"run.py: {path}: truncated GGUF header")
            return struct.unpack(fmt, b)[0]

        def rstr():
            return f.read(rd("<Q")).decode("utf-8", "replace")

        def value(t):
            if t in scalar:
                return rd(scalar[t])
            if t == 8:
                return rstr()
            if t == 9:
                et, n = rd("<I"), rd("<Q")
                if et in scalar:
                    f.seek(n * struct.calcsize(scalar[et]), 1)
                else:
                    for _ in range(n):
                        value(et)
                return ("array", n)
            raise SystemExit(f"run.py: {path}: unknown GGUF value type {t}")

        if f.read(4) != b"GGUF" or rd("<I") != 3:
            raise SystemExit(f"run.py: {path}: not a GGUF v3 file")
        n_tensors, n_kv = rd("<Q"), rd("<Q")
        meta = {}
        for _ in range(n_kv):
            k = rstr()
            meta[k] = value(rd("<I"))
        tensors = []
        for _ in range(n_tensors):
            name = rstr()
            ne = [rd("<Q") for _ in range(rd("<I"))]
            t = rd("<I")
            tensors.append((name, ne, t, rd("<Q")))
        align = meta.get("general.alignment", 32)
        data_start = (f.tell() + align - 1) // align * align
    return meta, [(name, ne, t) for name, ne, t, _ in tensors], {name: data_start + off for name, _, _, off in tensors}


def ternc_scale_bytes(path, ne, t, offset):
    """Bytes of the scales ternc keeps for one TQ2_0 / TQ1_0 tensor (frontend/gguf/GgufImporter.cpp): one f32 if
    every block's f16 scale is equal, one f32 per row if each row's are, else one per 256-weight block, which the
    x86 legalization tiles by 16 rows (rows padded to 16) in binary16 after a 64-byte header holding an f32 factor
    (targets/TargetSupport.cpp, ir/TernaryPacking.h): the file's scales are binary16, and so they stay, times the
    constant fuse-bitlinear folds into some of them (MiniCPM's residual scale)."""
    import numpy as np
    k, n = ne
    block, size = TYPE_BYTES[t]
    blocks = np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=(n, k // block, size))
    d = blocks[:, :, size - 2:].copy().view(np.uint16).reshape(n, k // block)
    if (d == d[0, 0]).all():
        return 4
    if (d == d[:, :1]).all():
        return n * 4
    return 64 + (n + 15) // 16 * 16 * (k // block) * 2


def nbytes(ne, t):
    n = 1
    for d in ne:
        n *= d
    block, size = TYPE_BYTES[t]
    return n // block * size


def decode_bytes(meta, tensors, kv_mean_pos, head_int8, kv_f16=False, path=None, offsets=None):
    """Bytes one decode step must read, for ternc (tern2b codes, 2 bits per weight, rows padded to 8 and K to 256;
    their scales, decided from the file's block scales when `path` is given (ternc_scale_bytes); the head f32 as
    frontend/llm/DecoderBuilder builds it, or int8 with an f32 scale per vocabulary entry under `--head int8`;
    an f32 embedding row) and for llama.cpp (the file's own types, the f16 KV cache). Each as a dict
    of parts; the KV cache at the mean position of tg128 is listed separately."""
    arch = meta["general.architecture"]
    hidden = meta[f"{arch}.embedding_length"]
    layers = meta[f"{arch}.block_count"]
    kv_dim = meta[f"{arch}.attention.head_count_kv"] * meta[f"{arch}.attention.key_length"]
    by_name = {name: (ne, t) for name, ne, t in tensors}
    vocab = by_name["token_embd.weight"][0][1]
    head = by_name.get("output.weight", by_name["token_embd.weight"])
    tern_w = tern_b = tern_s = llama_tern = norms = 0
    for name, ne, t in tensors:
        if t in (TQ2_0, 34):
            k, n = ne
            tern_w += n * k
            tern_b += (n + 7) // 8 * 8 * ((k + 255) // 256 * 256) // 4
            tern_s += ternc_scale_bytes(path, ne, t, offsets[name]) if path else 4
            llama_tern += nbytes(ne, t)
        elif name.endswith("norm.weight"):
            norms += nbytes(ne, t)
    kv_rows = layers * 2 * kv_dim * kv_mean_pos
    return {
        "vocab": vocab, "hidden": hidden, "ternary_weights": tern_w,
        "ternc": {"ternary": tern_b, "scales": tern_s,
                  "head": hidden * vocab + vocab * 4 if head_int8 else hidden * vocab * 4,
                  "head_type": "int8 [vocab, hidden] + f32 scale per vocabulary entry" if head_int8
                  else f"f32 [{hidden}, {vocab}]", "embedding_row": hidden * 4, "norms": norms,
                  "kv_cache": kv_rows * (2 if kv_f16 else 4), "kv_type": "f16" if kv_f16 else "f32"},
        "llama.cpp": {"ternary": llama_tern, "head": nbytes(*head), "embedding_row": nbytes(by_name[
            "token_embd.weight"][0], by_name["token_embd.weight"][1]) // vocab, "norms": norms,
            "kv_cache_f16": kv_rows * 2},
    }


# ---- processes ----

def run_timed(cmd, log_path, env=None, timeout=None, check=True):
    """Runs cmd under /usr/bin/time -v; returns (stdout, stderr of cmd, max RSS in KiB, wall seconds); with
    check=False a failure returns stdout None instead of exiting."""
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env, timeout=timeout)
    wall = time.time() - t0
    with open(log_path, "w") as f:
        f.write("$ " + shlex.join(cmd) + "\n--- stdout\n" + p.stdout + "\n--- stderr\n" + p.stderr)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    if p.returncode != 0 and not check:
        return None, p.stderr, int(m.group(1)) if m else None, wall
    if p.returncode != 0:
        raise SystemExit(f"run.py: {shlex.join(cmd)} failed (exit {p.returncode}); see {log_path}:\n"
                         + p.stderr[-3000:])
    return p.stdout, p.stderr, int(m.group(1)) if m else None, wall


def first_line_time(cmd, pattern, log_path, timeout=1800):
    """Seconds from just before exec to the first stdout line matching pattern (the process then runs to its end)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, lines = None, []
    for line in p.stdout:
        if seen is None and re.search(pattern, line):
            seen = time.perf_counter() - t0
        lines.append(line)
    err = p.stderr.read()
    p.wait(timeout=timeout)
    with open(log_path, "w") as f:
        f.write("$ " + shlex.join(cmd) + "\n--- stdout\n" + "".join(lines) + "\n--- stderr\n" + err)
    if p.returncode != 0 or seen is None:
        raise SystemExit(f"run.py: {shlex.join(cmd)} failed (exit {p.returncode}); see {log_path}:\n{err[-3000:]}")
    return seen


def evict(paths):
    """Drops the page cache (all of it if permitted, else these files' pages); returns how."""
    subprocess.run(["sync"], check=False)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return "dropped (sync; echo 3 > /proc/sys/vm/drop_caches)"
    except OSError as e:
        reason = e.strerror
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return f"model files evicted with posix_fadvise(DONTNEED) (drop_caches: {reason})"


def cached_fraction(path):
    """Fraction of the file's pages in the page cache (util-linux fincore), or None."""
    if not shutil.which("fincore"):
        return None
    p = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES,SIZE", path], capture_output=True,
                       text=True)
    try:
        res, size = (int(x) for x in p.stdout.split()[:2])
        return res / size if size else None
    except ValueError:
        return None


def lscpu_model():
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    m = re.search(r"Model name:\s*(.+)", out)
    return m.group(1).strip() if m else "unknown"


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def parse_ternc_bench(out):
    r = {}
    for m in re.finditer(r"\|\s*\S+\s*\|\s*(\d+)\s*\|\s*(pp128|tg128)\s*\|\s*([\d.]+)\s*±\s*([\d.]+)\s*\|", out):
        r[m.group(2)[:2]] = {"mean": float(m.group(3)), "sd": float(m.group(4))}
    if set(r) != {"pp", "tg"}:
        raise SystemExit("run.py: could not read ternc's --bench table:\n" + out)
    return r


# ---- report ----

def fmt_rate(d):
    return f"{d['mean']:.2f} ± {d['sd']:.2f}"


def mib(kib):
    return f"{kib / 1024:.0f} MiB" if kib is not None else "n/a"


def plural(t):
    return f"{t} thread{'s' if int(t) > 1 else ''}"


def compile_row(c):
    passes = c.get("pass_timing") or []
    slow = ", ".join(f"{n} {s:.1f} s" for n, s in sorted(passes, key=lambda x: -x[1])[:3])
    if c["ok"]:
        outcome = f"executable {c['binary_bytes'] / 1e6:.0f} MB"
    else:
        outcome = "**failed**: " + "; ".join(f"`{e.strip()}`" for e in c["errors"][:3])
    return (f"| `{c['cmd']}` | {c['wall_s']:.1f} s | {mib(c['max_rss_kib'])} | {sum(s for _, s in passes):.1f} s "
            f"({slow}) | {outcome} |")


def write_report(res, out):
    d = res["decode_bytes"]
    c = res["compile"]
    ok = c["ok"]
    ts = [str(t) for t in res["threads"]]
    lines = [f"# Head to head: ternc vs llama.cpp on `{res['model_name']}`", "",
             f"- Date: {res['date']}; CPU: {res['cpu']} ({res['nproc']} cores); load average at start "
             f"{' '.join(res['load_start'])}, at end {' '.join(res['load_end'])}" +
             (" (**measured under contention: other jobs were running; re-run on a quiet machine**)"
              if res["contended"] else ""),
             f"- Model: `{res['model']}` ({res['arch']}, {res['layers']} layers, hidden {d['hidden']}, vocab "
             f"{d['vocab']}, {d['ternary_weights'] / 1e9:.3f}B ternary weights in TQ2_0, head {res['head_type']}, "
             f"GGUF {res['gguf_bytes'] / 1e6:.0f} MB), random weights (bench/h2h/make_gguf.py)",
             f"- ternc: `{c['cmd']}` (commit {res['commit']}), {d['ternc'].get('kv_type', 'f32')} KV cache; llama.cpp: node-llama-cpp "
             f"{res['llamacpp_version']} (llama.cpp {res['llamacpp_release']}, prebuilt CPU library, mmap, f16 KV "
             f"cache), batch {res['batch']} (the prompt is one batch); context {res['ctx']} for both",
             f"- Command: `{res['command']}`", ""]
    lines += ["## Compile", "", "| command | wall | peak RSS | passes (slowest) | result |", "| --- | ---: | ---: | --- | --- |"]
    for a in res.get("compile_attempts", []) + [c]:
        lines.append(compile_row(a))
    lines += ["", "Passes: `--pass-timing`; the rest of the wall time is import, codegen, LLVM and the link.", ""]
    lines += ["## Speed", "",
              "pp128: a 128-token prompt from an empty cache; tg128: 128 single-token decodes from an empty cache, "
              "each computing the full logits; tokens/s, mean ± sd of "
              f"{res['reps']} runs after one warm-up (ternc: `model --bench --bench-reps {res['reps']} --threads T "
              f"--ctx {res['ctx']}`, its own random ids; llama.cpp: llamacpp_bench.mjs with this run's 128 random ids, "
              "greedy sampling in llama.cpp).", "",
              "| threads | ternc pp128 | llama.cpp pp128 | pp ternc/llama.cpp | ternc tg128 | llama.cpp tg128 | "
              "tg ternc/llama.cpp |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for t in ts:
        b = res["llamacpp"][t]
        if ok:
            a = res["ternc"][t]
            lines.append(f"| {t} | {fmt_rate(a['pp'])} | {fmt_rate(b['pp'])} | {a['pp']['mean'] / b['pp']['mean']:.2f}x "
                         f"| {fmt_rate(a['tg'])} | {fmt_rate(b['tg'])} | {a['tg']['mean'] / b['tg']['mean']:.2f}x |")
        else:
            lines.append(f"| {t} | no executable | {fmt_rate(b['pp'])} | | no executable | {fmt_rate(b['tg'])} | |")
    lines += ["", "## Memory and cold start", "", "| | ternc | llama.cpp |", "| --- | ---: | ---: |",
              f"| model on disk | " + (f"executable {c['binary_bytes'] / 1e6:.0f} MB" if ok else "no executable") +
              f" | GGUF {res['gguf_bytes'] / 1e6:.0f} MB |"]
    for t in ts:
        b = res["llamacpp"][t]
        a = mib(res["ternc"][t]["max_rss_kib"]) if ok else "n/a"
        lines.append(f"| peak RSS, {plural(t)} | {a} | {mib(b['max_rss_kib'] - b['baseline_rss_kib'])} net "
                     f"({mib(b['max_rss_kib'])} node process - {mib(b['baseline_rss_kib'])} without a model) |")
    for t in ts:
        b = res["ttft"]["llamacpp"][t]
        a = res["ttft"]["ternc"].get(t)
        at = f"{a['cold_s']:.2f} s (warm {a['warm_s']:.2f} s)" if a else "n/a"
        lines.append(f"| time to first token, cold, {plural(t)} | {at} | {b['cold_s']:.2f} s (warm {b['warm_s']:.2f} s) |")
    rb = res["ttft"]["resident_before"]
    lines += ["", f"Cold start: {res['ttft']['method']}; page-cache residency of the model file just before the cold "
              f"run: " + ", ".join(f"{k} {v}" for k, v in rb.items()) + ". TTFT runs from just before exec to the "
              "stdout line carrying the first generated token (ternc: `model --tokens IDS -n 1 --temp 0`; llama.cpp: "
              "node starts, loads the library and the model, creates the context, evaluates the 128-token prompt, "
              "samples one token). Peak RSS: /usr/bin/time -v's maximum resident set size of the --bench runs, "
              f"which start from a cleared page cache ({res.get('bench_cache', 'not cleared: older run')}) "
              "(mapped model pages count once touched).", ""]
    bw = res["bandwidth"]
    tb, lb = d["ternc"], d["llama.cpp"]
    step = tb["ternary"] + tb.get("scales", 0) + tb["head"] + tb["embedding_row"]
    lstep = lb["ternary"] + lb["head"] + lb["embedding_row"]
    lines += ["## Decode bandwidth bound", "",
              "Bytes one decode step must read over the read bandwidth measured in this run (bench/h2h/bwprobe.c: "
              "1 GiB summed with AVX-512 loads, median of 7 passes; the better of the runs before and after the "
              "timings).", "",
              f"- ternc reads {step / 1e6:.1f} MB per step: ternary weights {tb['ternary'] / 1e6:.1f} MB (tern2b, "
              f"2 bits per weight), their scales {tb.get('scales', 0) / 1e6:.1f} MB (an f32 per tensor or per "
              f"row where the file's block scales repeat, else per 256-weight block in binary16, tiled), head {tb['head'] / 1e6:.1f} MB "
              f"({tb['head_type']}), embedding row "
              f"{tb['embedding_row'] / 1e3:.1f} kB (f32). Not counted: norms {tb['norms'] / 1e3:.0f} kB, the "
              f"{tb.get('kv_type', 'f32')} KV cache at tg128's mean position "
              f"{tb.get('kv_cache', tb.get('kv_cache_f32', 0)) / 1e6:.1f} MB.",
              f"- llama.cpp reads {lstep / 1e6:.1f} MB per step: TQ2_0 {lb['ternary'] / 1e6:.1f} MB, head "
              f"{lb['head'] / 1e6:.1f} MB ({res['head_type']}), embedding row {lb['embedding_row']} B.", "",
              "| threads | read bandwidth (before / after) | ternc bound | ternc tg128 | fraction | llama.cpp bound | "
              "llama.cpp tg128 | fraction |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for t in ts:
        g = bw[t]["best"]
        bt, bl = g * 1e9 / step, g * 1e9 / lstep
        tgl = res["llamacpp"][t]["tg"]["mean"]
        tern = (f"{res['ternc'][t]['tg']['mean']:.2f} | {res['ternc'][t]['tg']['mean'] / bt:.0%}" if ok else "n/a | n/a")
        lines.append(f"| {t} | {g:.1f} GB/s ({bw[t]['before']:.1f} / {bw[t]['after']:.1f}) | {bt:.2f} tok/s | {tern} | "
                     f"{bl:.2f} tok/s | {tgl:.2f} | {tgl / bl:.0%} |")
    lines.append("")
    text = "\n".join(lines)
    with open(out + ".md", "w") as f:
        f.write(text)
    return text


def write_chart(res, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is missing (apt-get install python3-matplotlib): no chart")
        return False
    ok = res["compile"]["ok"]
    ts = [str(t) for t in res["threads"]]
    xs = list(range(len(ts)))
    w = 0.38
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6))
    who = [("ternc", "ternc", "#1f77b4")] if ok else []
    who.append(("llamacpp", "llama.cpp", "#ff7f0e"))
    for ax, (key, title) in zip(axes[:2], [("pp", "prompt, pp128 (tokens/s)"), ("tg", "decode, tg128 (tokens/s)")]):
        for j, (k, name, color) in enumerate(who):
            vals = [res[k][t][key]["mean"] for t in ts]
            errs = [res[k][t][key]["sd"] for t in ts]
            off = (j - (len(who) - 1) / 2) * w
            bars = ax.bar([x + off for x in xs], vals, w, yerr=errs, label=name, color=color, capsize=3)
            ax.bar_label(bars, fmt="%.1f", fontsize=8)
        if key == "tg":  # each engine's bound (bytes per step / bandwidth) as a line over its bars
            d = res["decode_bytes"]
            for j, (k, name, color) in enumerate(who):
                step = sum(d["ternc" if k == "ternc" else "llama.cpp"].get(p, 0)
                           for p in ("ternary", "scales", "head", "embedding_row"))
                off = (j - (len(who) - 1) / 2) * w
                for i, t in enumerate(ts):
                    ax.hlines(res["bandwidth"][t]["best"] * 1e9 / step, i + off - w / 2, i + off + w / 2, colors="k",
                              linestyles="dashed", label="bandwidth bound" if i == 0 and j == 0 else None)
        ax.set_xticks(xs, [plural(t) for t in ts])
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
        ax.set_ylim(top=ax.get_ylim()[1] * 1.15)
    ax = axes[2]
    t = ts[-1]
    labels = ["peak RSS (GiB)", "TTFT cold (s)", "TTFT warm (s)"]
    b = [(res["llamacpp"][t]["max_rss_kib"] - res["llamacpp"][t]["baseline_rss_kib"]) / 2**20,
         res["ttft"]["llamacpp"][t]["cold_s"], res["ttft"]["llamacpp"][t]["warm_s"]]
    series = [(b, "llama.cpp (RSS net of node)", "#ff7f0e")]
    if ok:
        a = [res["ternc"][t]["max_rss_kib"] / 2**20, res["ttft"]["ternc"][t]["cold_s"], res["ttft"]["ternc"][t]["warm_s"]]
        series.insert(0, (a, "ternc", "#1f77b4"))
    for j, (vals, name, color) in enumerate(series):
        off = (j - (len(series) - 1) / 2) * w
        bars = ax.bar([x + off for x in range(3)], vals, w, label=name, color=color)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(range(3), labels)
    ax.set_title(f"memory and start-up ({plural(t)})", fontsize=10)
    ax.legend(fontsize=7)
    title = (f"{res['model_name']}: ternc vs llama.cpp {res['llamacpp_release']} — {res['cpu']}, {res['date']}"
             + (" — under contention" if res["contended"] else ""))
    if not ok:
        title += " — ternc failed to compile"
    fig.suptitle(title, fontsize=10)
    fig.text(0.01, 0.01, res["command"], fontsize=7, family="monospace")
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    fig.savefig(out + ".png", dpi=110)
    return True


def compile_model(ternc, model, exe, cpu, extra, log_prefix):
    """`ternc compile` under /usr/bin/time -v with --pass-timing: wall time, peak RSS, the executable's size, the
    passes' times, and on failure the first error lines (repeated linker errors counted, not listed)."""
    cmd = [ternc, "compile", model, "-o", exe, "--cpu", cpu, "--pass-timing"] + extra
    log("compiling: " + shlex.join(cmd))
    if os.path.exists(exe):
        os.remove(exe)
    out, err, rss, wall = run_timed(cmd, log_prefix + ".log", check=False)
    passes = [(m.group(2), float(m.group(1)) / 1e3)
              for m in re.finditer(r"^\s*([\d.]+) ms\s+([\w-]+)\s*$", err, re.M) if m.group(2) != "total"]
    r = {"cmd": shlex.join(["ternc", "compile", "MODEL.gguf", "-o", "model", "--cpu", cpu] + extra),
         "ok": out is not None, "wall_s": wall, "max_rss_kib": rss, "pass_timing": passes,
         "binary_bytes": os.path.getsize(exe) if out is not None else None}
    if out is None:
        errs = [l for l in err.splitlines() if "error" in l]
        kinds = {}
        for l in errs:  # one line per kind: a linker's repeated relocation errors differ only in offsets
            m = re.search(r"relocation \S+ out of range", l)
            key = m.group(0) if m else re.sub(r"\S*/tmp/\S*", "", l)
            kinds.setdefault(key, [l, 0])[1] += 1
        r["errors"] = [f"{l} (and {n - 1} more like it)" if n > 1 else l for l, n in kinds.values()][:8]
        log(f"compile FAILED after {wall:.1f} s, peak RSS {mib(rss)}: " + " | ".join(r["errors"][:3]))
    else:
        log(f"compiled in {wall:.1f} s, peak RSS {mib(rss)}, executable {r['binary_bytes'] / 1e6:.0f} MB")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--ternc", default=os.path.join(ROOT, "build", "ternc"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--cpu", default="native")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "h2h"))
    ap.add_argument("--work", help="where the executable and logs go (default: OUT's folder/work-<model>)")
    ap.add_argument("--skip-compile", action="store_true", help="reuse WORK/model from an earlier run")
    ap.add_argument("--ternc-args", default="", help="extra `ternc compile` options, e.g. \"--head int8\"")
    ap.add_argument("--also-compile", action="append", default=[], metavar="ARGS",
                    help="an extra compile attempt with these options, only recorded (repeatable; \"\" = defaults)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the 128 prompt ids")
    ap.add_argument("--replot", action="store_true", help="only rewrite OUT.md and OUT.png from OUT.json")
    args = ap.parse_args()
    if args.replot:
        with open(os.path.abspath(args.out) + ".json") as f:
            res = json.load(f)
        write_report(res, os.path.abspath(args.out))
        write_chart(res, os.path.abspath(args.out))
        return

    model = os.path.abspath(args.model)
    threads = [int(t) for t in args.threads.split(",")]
    name = os.path.splitext(os.path.basename(model))[0]
    out = os.path.abspath(args.out)
    work = os.path.abspath(args.work or os.path.join(os.path.dirname(out), "work-" + name))
    os.makedirs(work, exist_ok=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    meta, tensors, offsets = read_gguf_header(model)
    arch = meta["general.architecture"]
    decode = decode_bytes(meta, tensors, (PROMPT_LEN - 1) / 2, "int8" in args.ternc_args,
                          re.search(r"--kv-cache[= ]f16", args.ternc_args) is not None, model, offsets)
    rng = random.Random(args.seed)
    ids = [rng.randrange(259, decode["vocab"]) for _ in range(PROMPT_LEN)]
    ids_text = ",".join(map(str, ids))
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    res = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M UTC%z").strip(), "cpu": lscpu_model(),
           "nproc": os.cpu_count(), "load_start": loadavg(), "model": model, "model_name": name, "arch": arch,
           "layers": meta[f"{arch}.block_count"], "gguf_bytes": os.path.getsize(model), "threads": threads,
           "reps": args.reps, "ctx": args.ctx, "batch": args.batch, "prompt_ids": ids, "decode_bytes": decode,
           "commit": commit + ("+dirty" if dirty else ""),
           "head_type": {Q6_K: "Q6_K", F16: "F16", F32: "F32"}.get(
               {n: t for n, _, t in tensors}.get("output.weight", {n: t for n, _, t in tensors}["token_embd.weight"]),
               "?"),
           "command": "/usr/bin/python3 bench/h2h/run.py " + shlex.join(sys.argv[1:])}
    exe = os.path.join(work, "model")

    # 1. compile: the attempts only recorded (--also-compile), then the one benchmarked
    res["compile_attempts"] = [compile_model(args.ternc, model, os.path.join(work, "model-attempt%d" % i),
                                             args.cpu, shlex.split(a), os.path.join(work, "compile-attempt%d" % i))
                               for i, a in enumerate(args.also_compile)]
    for i in range(len(args.also_compile)):  # recorded, not run: free the disk
        if os.path.exists(os.path.join(work, "model-attempt%d" % i)):
            os.remove(os.path.join(work, "model-attempt%d" % i))
    if args.skip_compile and os.path.exists(exe):
        log(f"reusing {exe}")
        with open(os.path.join(work, "compile.json")) as f:
            res["compile"] = json.load(f)
    else:
        res["compile"] = compile_model(args.ternc, model, exe, args.cpu, shlex.split(args.ternc_args),
                                       os.path.join(work, "compile"))
        with open(os.path.join(work, "compile.json"), "w") as f:
            json.dump(res["compile"], f, indent=1)
    ternc_ok = res["compile"]["ok"]

    # 2. bandwidth probe (before)
    probe = os.path.join(work, "bwprobe")
    subprocess.run(["cc", "-O3", "-march=native", "-pthread", os.path.join(HERE, "bwprobe.c"), "-o", probe], check=True)

    def bandwidth(t):
        p = subprocess.run([probe, "--threads", str(t)], capture_output=True, text=True, check=True)
        return json.loads(p.stdout)["gbps_median"]

    res["bandwidth"] = {str(t): {"before": bandwidth(t)} for t in threads}
    log("bandwidth before: " + json.dumps(res["bandwidth"]))

    # 3. pp128 / tg128 and peak RSS
    node = shutil.which("node") or "node"
    mjs = os.path.join(HERE, "llamacpp_bench.mjs")
    res["ternc"], res["llamacpp"] = {}, {}
    # Both start from the same page-cache state: the executable was just written by the compile, and pages of a
    # freshly written file sit in the cache as large folios that a first touch maps whole (inflating peak RSS).
    res["bench_cache"] = evict([p for p in (exe, model) if os.path.exists(p)])
    for t in threads:
        if not ternc_ok:
            break
        log(f"ternc --bench, {t} thread(s)")
        out_, _, rss, _ = run_timed([exe, "--bench", "--bench-reps", str(args.reps), "--threads", str(t), "--ctx",
                                     str(args.ctx)], os.path.join(work, f"ternc-bench-t{t}.log"))
        res["ternc"][str(t)] = {**parse_ternc_bench(out_), "max_rss_kib": rss}
        log(f"  {res['ternc'][str(t)]}")
    for t in threads:
        log(f"llama.cpp bench, {t} thread(s)")
        out_, _, rss, _ = run_timed([node, mjs, model, "--ids", ids_text, "--threads", str(t), "--ctx", str(args.ctx),
                                     "--batch", str(args.batch), "--reps", str(args.reps)],
                                    os.path.join(work, f"llamacpp-bench-t{t}.log"))
        j = json.loads(out_.strip().splitlines()[-1])
        out_, _, base, _ = run_timed([node, mjs, "--no-model", "--threads", str(t)],
                                     os.path.join(work, f"llamacpp-nomodel-t{t}.log"))
        res["llamacpp"][str(t)] = {"pp": j["pp"], "tg": j["tg"], "load_ms": j["load_ms"], "max_rss_kib": rss,
                                   "baseline_rss_kib": base}
        res["llamacpp_version"], res["llamacpp_release"] = j["node-llama-cpp"], j["llamaCppRelease"]
        log(f"  {res['llamacpp'][str(t)]}")

    # 4. time to first token, cold then warm
    res["ttft"] = {"ternc": {}, "llamacpp": {}, "resident_before": {}}
    for t in threads:
        runs = {"ternc": ([exe, "--tokens", ids_text, "-n", "1", "--temp", "0", "--threads", str(t), "--ctx",
                           str(args.ctx)], r"^\d", exe),
                "llamacpp": ([node, mjs, model, "--ids", ids_text, "--ttft", "--threads", str(t), "--ctx",
                              str(args.ctx), "--batch", str(args.batch)], r"^first-token", model)}
        for who, (cmd, pat, file) in runs.items():
            if who == "ternc" and not ternc_ok:
                continue
            res["ttft"]["method"] = evict([p for p in (exe, model) if os.path.exists(p)])
            res["ttft"]["resident_before"][who] = (lambda r: f"{r:.0%}" if r is not None else "unknown")(
                cached_fraction(file))
            cold = first_line_time(cmd, pat, os.path.join(work, f"{who}-ttft-cold-t{t}.log"))
            warm = first_line_time(cmd, pat, os.path.join(work, f"{who}-ttft-warm-t{t}.log"))
            res["ttft"][who][str(t)] = {"cold_s": cold, "warm_s": warm}
            log(f"TTFT {who} {t} thread(s): cold {cold:.2f} s, warm {warm:.2f} s ({res['ttft']['method']})")

    # 2'. bandwidth probe (after)
    for t in threads:
        b = res["bandwidth"][str(t)]
        b["after"] = bandwidth(t)
        b["best"] = max(b["before"], b["after"])
    res["load_end"] = loadavg()
    # The 1-minute load before this run starts (its own 2-thread runs raise the load at the end).
    res["contended"] = float(res["load_start"][0]) > 0.5 * os.cpu_count()
    with open(out + ".json", "w") as f:
        json.dump(res, f, indent=1)
    print(write_report(res, out))
    if write_chart(res, out):
        log(f"wrote {out}.md, {out}.json, {out}.png")


if __name__ == "__main__":
    main()
