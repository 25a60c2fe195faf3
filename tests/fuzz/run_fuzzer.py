#!/usr/bin/python3
"""run_fuzzer.py: runs a libFuzzer binary for a bounded time over a fresh copy of a seed corpus (the ctest entries of
tests/fuzz/CMakeLists.txt).

  run_fuzzer.py --fuzzer BIN --seeds DIR --workdir DIR --seconds N [--dict FILE] [--max-len BYTES]

Exits with the fuzzer's status (non-zero when it found a crash, a sanitizer report or a timeout; the reproducer is
left in WORKDIR as crash-*/timeout-*/oom-*), after printing its final statistics."""
import argparse
import os
import shutil
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fuzzer", required=True)
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--dict")
    ap.add_argument("--max-len", type=int, default=16384)
    args = ap.parse_args()
    corpus = os.path.join(args.workdir, "corpus")
    shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus)
    for name in sorted(os.listdir(args.seeds)):
        shutil.copy(os.path.join(args.seeds, name), corpus)
    cmd = [args.fuzzer, corpus, "-max_total_time=%d" % args.seconds, "-max_len=%d" % args.max_len,
           "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1", "-artifact_prefix=" + args.workdir + "/"]
    if args.dict:
        cmd.append("-dict=" + args.dict)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode(errors="replace")
    lines = out.splitlines()
    if r.returncode != 0:
        print(out[-20000:])
    else:
        print("\n".join(l for l in lines if l.startswith("stat::") or "DONE" in l or "INITED" in l))
    print("%s: %d seeds, %d s, exit %d" % (os.path.basename(args.fuzzer), len(os.listdir(args.seeds)),
                                           args.seconds, r.returncode))
    print("%d passed, %d failed" % (r.returncode == 0, r.returncode != 0))
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
