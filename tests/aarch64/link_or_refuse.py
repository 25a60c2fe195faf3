#!/usr/bin/python3
"""link_or_refuse.py: `ternc compile --target aarch64 MODEL -o OUT` (an executable) either links, when the
runtime was cross-built (docs/aarch64.md), giving an AArch64 ELF executable (e_machine 183, ET_EXEC or ET_DYN),
or, without it, is refused with a message naming the missing runtime and leaves no file.
Prints "linked" or "refused" (tests/compile/aarch64-object.test).

Usage: link_or_refuse.py TERNC MODEL OUT
"""
import os
import struct
import subprocess
import sys


def main():
    ternc, model, out = sys.argv[1:4]
    p = subprocess.run([ternc, "compile", "--target", "aarch64", model, "-o", out], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode == 0:
        with open(out, "rb") as f:
            head = f.read(20)
        etype, machine = struct.unpack("<HH", head[16:20])
        if head[:4] != b"\x7fELF" or head[4] != 2 or machine != 183 or etype not in (2, 3):
            sys.exit(f"{out}: not a 64-bit AArch64 ELF executable (type {etype}, machine {machine})")
        print("linked")
        return
    if "no ternc runtime is built for aarch64-unknown-linux-gnu" not in p.stderr:
        sys.exit(f"ternc compile failed without naming the missing runtime: {p.stderr.strip()}")
    if os.path.exists(out):
        sys.exit(f"{out} was left behind by a failed compile")
    print("refused")


if __name__ == "__main__":
    main()
