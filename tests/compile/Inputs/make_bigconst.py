"""Writes a module whose weight (f32 [256, 256], 256 KiB) is large enough to travel after an executable's
image (codegen's ExternalWeights), an input and the expected output; or, with --check OUT.npy, compares."""
import os
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(7)
w = rng.standard_normal((256, 256), dtype=np.float32)
x = rng.standard_normal((1, 256), dtype=np.float32)
want = (x.astype(np.float64) @ w.astype(np.float64)).astype(np.float32)
if len(sys.argv) > 3 and sys.argv[2] == "--check":
    got = np.load(sys.argv[3])
    err = float(np.max(np.abs(got - want)))
    print(f"max abs error {err:.3g}")
    sys.exit(0 if got.shape == want.shape and err < 1e-3 else 1)
with open(os.path.join(out, "big.tir.bin"), "wb") as f:
    f.write(w.tobytes())
with open(os.path.join(out, "big.tir"), "w") as f:
    f.write('module @big weights "big.tir.bin" {\n'
            '  const @w : f32[256,256] = blob<0, 262144>\n'
            '  graph @main(%x: f32[1,256]) -> (y: f32[1,256]) {\n'
            '    %y = MatMul(%x, @w) : f32[1,256]\n'
            '    return %y\n'
            '  }\n'
            '}\n')
np.save(os.path.join(out, "x.npy"), x)
