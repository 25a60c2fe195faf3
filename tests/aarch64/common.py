"""common.py: what the aarch64 tests share: finding qemu-aarch64 and the cross-built runtime (or skipping with
exit status 77 and the reason, which ctest reports as skipped), running commands, and comparing outputs."""
import os
import shutil
import subprocess
import sys

import numpy as np

SKIP = 77
SYSROOT = "/usr/aarch64-linux-gnu"


def prerequisites(runtime_dir):
    """qemu-aarch64's command prefix, or exit 77 saying what is missing."""
    qemu = shutil.which("qemu-aarch64")
    if not qemu:
        print("SKIP: qemu-aarch64 is not installed (Debian qemu-user; scripts/setup.sh installs it)")
        sys.exit(SKIP)
    if not os.path.exists(os.path.join(runtime_dir, "libternc_runtime.a")):
        print(f"SKIP: no runtime cross-built for aarch64 in {runtime_dir} (the cross toolchain was missing when "
              "ternc was configured; scripts/setup.sh installs it, docs/aarch64.md)")
        sys.exit(SKIP)
    if not os.path.isdir(SYSROOT):
        print(f"SKIP: no aarch64 libraries in {SYSROOT} (Debian libc6-dev-arm64-cross)")
        sys.exit(SKIP)
    return qemu


def qemu_cmd(qemu, cpu):
    """Runs an aarch64 executable: `max` has dotprod (sdot); cortex-a53 (Armv8.0-A) has not, so a tbl build that
    used an Armv8.2 instruction would die of SIGILL there. The cross sysroot's ld.so must load the cross
    sysroot's libc: with Debian's arm64 multiarch libc6 installed too (libprotobuf-dev:arm64 pulls it in), its
    ld.so.cache points at /lib/aarch64-linux-gnu's libc of another build, and the first pthread_create then
    hangs. LD_LIBRARY_PATH in the guest's environment keeps the two together."""
    return [qemu, "-L", SYSROOT, "-E", f"LD_LIBRARY_PATH={SYSROOT}/lib", "-cpu", cpu]


def run(cmd, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"FAILED ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def bit_equal(a, b):
    """True if both arrays have the same shape, dtype and bytes (NaNs compare by their bits)."""
    return a.shape == b.shape and a.dtype == b.dtype and np.ascontiguousarray(a).tobytes() == \
        np.ascontiguousarray(b).tobytes()


def max_rel(a, b):
    if a.shape != b.shape:
        return float("inf")
    return float(np.abs(a.astype(np.float64) - b).max() / max(float(np.abs(b).max()), 1e-30))
