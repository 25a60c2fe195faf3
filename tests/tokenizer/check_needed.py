#!/usr/bin/python3
"""check_needed.py BINARY --forbid NAME...: fails if the ELF binary's DT_NEEDED names a forbidden library."""
import subprocess
import sys


def main():
    binary, rest = sys.argv[1], sys.argv[2:]
    if not rest or rest[0] != "--forbid":
        sys.exit("usage: check_needed.py BINARY --forbid NAME...")
    forbidden = rest[1:]
    out = subprocess.run(["readelf", "-d", binary], check=True, stdout=subprocess.PIPE, text=True).stdout
    needed = [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]
    bad = [n for n in needed if any(n.startswith(f) for f in forbidden)]
    print("%s needs: %s" % (binary, ", ".join(needed)))
    if not needed:
        print("FAIL: no NEEDED entries read (not a dynamic ELF binary?)")
        return 1
    for n in bad:
        print("FAIL: depends on", n)
    print("%d passed, %d failed" % (1 if not bad else 0, 1 if bad else 0))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
