"""Writes a module with two weights large enough to travel after an executable's image (codegen's
ExternalWeights): a matrix read whole (f32 [256, 256], 256 KiB: the blob's dense part) and an embedding table
only gathered from (f32 [1024, 128], 512 KiB: the sparse part), an input and the expected outputs.
  make_bigconst.py DIR                        writes DIR/big.tir(.bin), DIR/x.npy, DIR/ids.npy
  make_bigconst.py DIR --check OUTDIR         compares OUTDIR/y.npy and OUTDIR/e.npy
  make_bigconst.py DIR --trailer EXE          checks EXE's blob layout: the dense part, padded to 2 MiB, then
                                              the sparse part"""
import os
import struct
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(7)
w = rng.standard_normal((256, 256), dtype=np.float32)
table = rng.standard_normal((1024, 128), dtype=np.float32)
x = rng.standard_normal((1, 256), dtype=np.float32)
ids = np.array([[5, 1023, 0, 5]], dtype=np.int64)
want = (x.astype(np.float64) @ w.astype(np.float64)).astype(np.float32)
want_e = table[ids]
if len(sys.argv) > 3 and sys.argv[2] == "--check":
    got = np.load(os.path.join(sys.argv[3], "y.npy"))
    got_e = np.load(os.path.join(sys.argv[3], "e.npy"))
    err = float(np.max(np.abs(got - want)))
    print(f"max abs error {err:.3g}; embedding rows equal: {np.array_equal(got_e, want_e)}")
    sys.exit(0 if got.shape == want.shape and err < 1e-3 and np.array_equal(got_e, want_e) else 1)
if len(sys.argv) > 3 and sys.argv[2] == "--trailer":
    with open(sys.argv[3], "rb") as f:
        f.seek(-32, os.SEEK_END)
        magic, at, size, _ = struct.unpack("<8sQQQ", f.read(32))
    want_size = (2 << 20) + table.nbytes
    print(f"{magic.decode()} offset {at} size {size} (want {want_size})")
    sys.exit(0 if magic == b"TERNCWT1" and at % 65536 == 0 and size == want_size else 1)
with open(os.path.join(out, "big.tir.bin"), "wb") as f:
    f.write(w.tobytes())
    f.write(table.tobytes())
with open(os.path.join(out, "big.tir"), "w") as f:
    f.write('module @big weights "big.tir.bin" {\n'
            '  const @w : f32[256,256] = blob<0, 262144>\n'
            '  const @e : f32[1024,128] = blob<262144, 524288>\n'
            '  graph @main(%x: f32[1,256], %ids: i64[1,4]) -> (y: f32[1,256], e: f32[1,4,128]) {\n'
            '    %y = MatMul(%x, @w) : f32[1,256]\n'
            '    %e = Gather(@e, %ids) : f32[1,4,128]\n'
            '    return %y, %e\n'
            '  }\n'
            '}\n')
np.save(os.path.join(out, "x.npy"), x)
np.save(os.path.join(out, "ids.npy"), ids)
