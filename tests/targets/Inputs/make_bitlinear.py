"""Writes OUT.tir (+ OUT.tir.bin): BitLinear ops at a BitNet b1.58 2B4T shape for the --explain-tiling test:
a 2560x2560 projection (per-tensor scale) and a gated 640x2560 pair (per-row scales) on symbolic rows, a
128-group projection on 4 static rows, and a 4-weight-group one no x86 kernel takes."""
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(0)
blobs, consts = bytearray(), []


def const(name, ty, arr):
    global blobs
    off = (len(blobs) + 63) // 64 * 64
    blobs += bytes(off - len(blobs))
    data = arr.tobytes()
    blobs += data
    consts.append(f"  const @{name} : {ty} = blob<{off}, {len(data)}>")


def tern(n, k):
    return rng.integers(-1, 2, size=(n, k), dtype=np.int8)


const("w_o", "tern<tensor>[2560,2560]", tern(2560, 2560))
const("w_o_s", "f32[1]", np.array([0.03], np.float32))
const("w_up", "tern<row>[640,2560]", tern(640, 2560))
const("w_up_s", "f32[640]", np.full(640, 0.02, np.float32))
const("w_gate", "tern<row>[640,2560]", tern(640, 2560))
const("w_gate_s", "f32[640]", np.full(640, 0.02, np.float32))
const("w_g", "tern<g128>[256,512]", tern(256, 512))
const("w_g_s", "f32[256,4]", np.full((256, 4), 0.05, np.float32))
const("w_g4", "tern<g4>[4,8]", tern(4, 8))
const("w_g4_s", "f32[4,2]", np.full((4, 2), 0.5, np.float32))

with open(out + ".bin", "wb") as f:
    f.write(blobs)
name = out.rsplit("/", 1)[-1] + ".bin"
with open(out, "w") as f:
    f.write(f'module @m weights "{name}" {{\n' + "\n".join(consts) + "\n\n")
    f.write("""  graph @decode(%x: f32[batch,2560]) -> (y: f32[batch,2560], h: f32[batch,640]) {
    %q, %s = ActQuant(%x) {eps = 1e-05, eps_mode = "max", scale = "127/m"} : i8[batch,2560], f32[batch,1]
    %y = BitLinear(%q, %s, @w_o, @w_o_s) {act = "none", dequant = "div"} : f32[batch,2560]
    %h = BitLinear(%q, %s, @w_up, @w_up_s, _, @w_gate, @w_gate_s) {act = "silu", dequant = "div"} : f32[batch,640]
    return %y, %h
  }

  graph @grouped(%x: f32[4,512], %z: f32[2,8]) -> (y: f32[4,256], u: f32[2,4]) {
    %q, %s = ActQuant(%x) {eps = 1e-05, eps_mode = "max", scale = "127/m"} : i8[4,512], f32[4,1]
    %y = BitLinear(%q, %s, @w_g, @w_g_s) {act = "none", dequant = "div"} : f32[4,256]
    %r, %t = ActQuant(%z) {eps = 1e-05, eps_mode = "max", scale = "127/m"} : i8[2,8], f32[2,1]
    %u = BitLinear(%r, %t, @w_g4, @w_g4_s) {act = "none", dequant = "div"} : f32[2,4]
    return %y, %u
  }
}
""")
