"""The out-of-tree target end to end: install ternc into a prefix in the build tree, build
examples/out-of-tree-target against that installation, load the plugin into the installed ternc (`ternc targets`
lists it, `--target x86-generic` compiles examples/bitnet_block with it) and compare the executable's output with
the default target's and with PyTorch's. Also: a plugin built for another interface version and a library that is
no plugin are refused with a clear error."""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stdout}")
    return p.stdout


def expect_error(cmd, needle):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode < 0:
        sys.exit(f"FAILED: {' '.join(cmd)} crashed (signal {-p.returncode}):\n{p.stdout}")
    if p.returncode == 0 or needle not in p.stdout:
        sys.exit(f"FAILED: expected an error containing {needle!r} from {' '.join(cmd)}, "
                 f"got ({p.returncode}):\n{p.stdout}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="ternc's build directory")
    ap.add_argument("--source", required=True, help="ternc's source directory")
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    prefix = os.path.join(a.work, "prefix")
    run(["cmake", "--install", a.build, "--prefix", prefix])
    ternc = os.path.join(prefix, "bin", "ternc")
    for f in ["include/ternc/targets/Target.h", "include/ternc/targets/TargetPlugin.h",
              "lib/ternc/x86_64-pc-linux-gnu/libternc_runtime.a",
              "lib/ternc/x86_64-pc-linux-gnu/kernels-portable.bc", "lib/cmake/ternc/terncConfig.cmake"]:
        if not os.path.exists(os.path.join(prefix, f)):
            sys.exit(f"FAILED: the installation lacks {f}")

    plugin_build = os.path.join(a.work, "plugin")
    run(["cmake", "-S", os.path.join(a.source, "examples", "out-of-tree-target"), "-B", plugin_build, "-G", "Ninja",
         f"-DCMAKE_PREFIX_PATH={prefix}"])
    run(["ninja", "-C", plugin_build, "-j2"])
    plugin = os.path.join(plugin_build, "libternc_x86_generic.so")

    out = run([ternc, "targets", f"--load-target={plugin}"])
    if "x86-generic" not in out or "default cpu x86-64\n" not in out or "features: sse2" not in out:
        sys.exit(f"FAILED: `ternc targets --load-target` does not list x86-generic:\n{out}")
    out = run([ternc, "passes", "--load-target", plugin])
    if "x86-generic-bitlinear" not in out:
        sys.exit(f"FAILED: `ternc passes --load-target` does not list the plugin's pass:\n{out}")

    block = os.path.join(a.source, "examples", "bitnet_block")
    model = os.path.join(block, "model.onnx")
    gen, ref = os.path.join(a.work, "block-generic"), os.path.join(a.work, "block-default")
    run([ternc, "compile", model, "-o", os.path.join(a.work, "block.tir"), "--emit=tir", "--target", "x86-generic",
         f"--load-target={plugin}"])
    with open(os.path.join(a.work, "block.tir")) as f:
        tir = f.read()
    if tir.count('target.kernel = "tk_bitlinear_i8_generic"') != 2:
        sys.exit("FAILED: the plugin's pass did not give both BitLinear ops its kernel")
    out = run([ternc, "compile", model, "-o", gen, "--target", "x86-generic", f"--load-target={plugin}",
               "--explain-tiling"])
    if "kernel: tk_bitlinear_i8_generic" not in out:
        sys.exit(f"FAILED: --explain-tiling does not show the plugin's choice:\n{out}")
    run([ternc, "compile", model, "-o", ref])
    x = os.path.join(block, "input.npy")
    for exe in (gen, ref):
        run([exe, "--input", f"x={x}", "--output-dir", exe + "-out"])
    yg = np.load(os.path.join(gen + "-out", "y.npy"))
    yr = np.load(os.path.join(ref + "-out", "y.npy"))
    expected = np.load(os.path.join(block, "expected.npy"))
    diff = float(np.abs(yg - yr).max())
    if yg.shape != yr.shape or diff > 1e-5:
        sys.exit(f"FAILED: x86-generic and the default target differ by {diff}")
    err = float(np.abs(yg - expected).max())
    if err > 1e-3:
        sys.exit(f"FAILED: x86-generic differs from PyTorch by {err}")

    # A plugin for another interface version, and a library that is no plugin.
    bad = os.path.join(a.work, "bad_abi.cpp")
    with open(bad, "w") as f:
        f.write('namespace ternc { class TargetRegistry; }\n'
                'extern "C" int ternc_target_abi_version() { return 999; }\n'
                'extern "C" void ternc_register_targets(ternc::TargetRegistry &) { __builtin_trap(); }\n')
    bad_so = os.path.join(a.work, "libbad_abi.so")
    run(["c++", "-shared", "-fPIC", bad, "-o", bad_so])
    expect_error([ternc, "targets", f"--load-target={bad_so}"], "the plugin was built for target interface version 999")
    none_cpp = os.path.join(a.work, "none.cpp")
    with open(none_cpp, "w") as f:
        f.write('extern "C" int something() { return 1; }\n')
    none_so = os.path.join(a.work, "libnone.so")
    run(["c++", "-shared", "-fPIC", none_cpp, "-o", none_so])
    expect_error([ternc, "compile", model, "-o", os.path.join(a.work, "x"), f"--load-target={none_so}"],
                 "not a ternc target plugin")
    expect_error([ternc, "targets", "--load-target", os.path.join(a.work, "missing.so")], "no such file")
    print(f"ok: x86-generic plugin loaded; output equals the default target's within {diff:.2e}, "
          f"PyTorch's within {err:.2e}")


if __name__ == "__main__":
    main()
