#!/usr/bin/python3
"""test_gguf_decode.py: ternc's GGUF reader and tensor decoders against llama.cpp's own code.

Writes GGUF files with gguf_writer.py — metadata of every value type (nested arrays too) and tensors of every type
ternc decodes, quantized by llama.cpp's quantize_row_*_ref (libggml-base.so from tests/peers) or written as raw
random blocks — and checks through ternc_gguf_dump that:
  - the metadata reads back with the types and values written, tensor infos (ne, type, offset, size) too;
  - toF32 equals llama.cpp's dequantize_row_q8_0 / _q6_K / _tq1_0 / _tq2_0 bit for bit, F32/F16/BF16 equal numpy's
    conversions, I2_S equals the numpy reference decoder of bitnet.cpp's layout (gguf_writer.unpack_i2s);
  - decodeTernary's codes are -1/0/+1 and codes * scales equals the same values bit for bit, its TQ scales are the
    blocks' f16 d, its I2_S scale the stored f32;
  - at alignments 32, 64 and 1 (unaligned f32 data is copied, not viewed);
  - a TQ2_0 or I2_S tensor holding the code 3 is refused with a message naming the file and the tensor.
Exits 77 (skipped) when libggml-base.so is not installed (npm install in tests/peers).
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer as gw  # noqa: E402


class Checks:
    def __init__(self):
        self.passed = 0
        self.failures = []

    def expect(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)


def same_bits(a, b):
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def first_difference(a, b):
    a = np.asarray(a, dtype=np.float32).reshape(-1)
    b = np.asarray(b, dtype=np.float32).reshape(-1)
    if a.size != b.size:
        return "sizes %d and %d" % (a.size, b.size)
    idx = np.nonzero(a.view(np.uint32) != b.view(np.uint32))[0]
    return "%d differ, first at %d: %r vs %r" % (idx.size, idx[0], a[idx[0]], b[idx[0]]) if idx.size else "none"


def random_f16(rng, n, lo=-4.0, hi=4.0):
    """n finite f16 scales as raw uint16 bits (subnormals and zero included)."""
    d = rng.uniform(lo, hi, n).astype(np.float16)
    d[::7] = np.float16(0)
    d[3::11] = np.float16(6.1e-6)  # subnormal
    return d.view(np.uint16)


def raw_blocks(rng, ggml_type, n):
    """Random blocks of `ggml_type` for n elements: every byte random except the f16 scales (finite) and, for TQ2_0,
    codes 0..2."""
    block, size = gw.BLOCKS[ggml_type]
    nb = n // block
    data = bytearray(rng.randint(0, 256, nb * size, dtype=np.uint8).tobytes())
    scales = random_f16(rng, nb)
    for b in range(nb):
        if ggml_type == gw.GGML_Q8_0:
            struct.pack_into("<H", data, b * size, int(scales[b]))
        elif ggml_type == gw.GGML_Q6_K:
            struct.pack_into("<H", data, b * size + 208, int(scales[b]))
        elif ggml_type == gw.GGML_TQ1_0:
            struct.pack_into("<H", data, b * size + 52, int(scales[b]))
        elif ggml_type == gw.GGML_TQ2_0:
            codes = rng.randint(0, 3, (64, 4))
            qs = codes[:, 0] | (codes[:, 1] << 2) | (codes[:, 2] << 4) | (codes[:, 3] << 6)
            data[b * size:b * size + 64] = qs.astype(np.uint8).tobytes()
            struct.pack_into("<H", data, b * size + 64, int(scales[b]))
    return bytes(data)


def build(ggml, rng, alignment):
    """A GGUF with metadata of every type and tensors of every decodable type. Returns the writer and, per tensor,
    its expected f32 values (and for ternary types the expected codes and scales)."""
    w = gw.GgufWriter(alignment)
    w.add("general.architecture", "llama")
    w.add("general.name", "ternc gguf test \u00e9\u4e2d")
    w.add("t.u8", 200, gw.U8)
    w.add("t.i8", -100, gw.I8)
    w.add("t.u16", 60000, gw.U16)
    w.add("t.i16", -30000, gw.I16)
    w.add("t.u32", 4000000000, gw.U32)
    w.add("t.i32", -2000000000, gw.I32)
    w.add("t.f32", 0.1, gw.F32)
    w.add("t.bool", True, gw.BOOL)
    w.add("t.u64", 2 ** 63 + 5, gw.U64)
    w.add("t.i64", -(2 ** 62), gw.I64)
    w.add("t.f64", 1e300, gw.F64)
    w.add("t.empty", "", gw.STRING)
    w.add("t.arr.u8", [0, 1, 255], gw.ARRAY, gw.U8)
    w.add("t.arr.i32", [-1, 2, -3], gw.ARRAY, gw.I32)
    w.add("t.arr.f32", [0.5, -1.25, 3.0e-3], gw.ARRAY, gw.F32)
    w.add("t.arr.f64", [0.5, -1e-300], gw.ARRAY, gw.F64)
    w.add("t.arr.bool", [True, False, True], gw.ARRAY, gw.BOOL)
    w.add("t.arr.str", ["a", "", "b c", "\u2581x"], gw.ARRAY, gw.STRING)
    w.add("t.arr.empty", [], gw.ARRAY, gw.I64)
    w.add("t.arr.nested", [(gw.I16, [1, -2]), (gw.STRING, ["x"]), (gw.ARRAY, [(gw.U8, [7])])], gw.ARRAY, gw.ARRAY)

    expected = {}

    def add_float(name, shape, ggml_type):
        x = (rng.randn(*shape) * 3).astype(np.float32)
        x.reshape(-1)[:5] = [0.0, -0.0, 1e-40, 65504.0, -1e-8]
        w.add_tensor(name, x, ggml_type)
        if ggml_type == gw.GGML_F32:
            want = x
        elif ggml_type == gw.GGML_F16:
            want = x.astype(np.float16).astype(np.float32)
        else:
            want = gw.bf16_bits_to_f32(gw.f32_to_bf16_bits(x)).reshape(shape)
        expected[name] = {"f32": want}

    def add_quant(name, shape, ggml_type, raw):
        n = int(np.prod(shape))
        if raw:
            data = raw_blocks(rng, ggml_type, n)
            w.add_tensor_bytes(name, list(reversed(shape)), ggml_type, data)
        else:
            x = (rng.randn(*shape)).astype(np.float32)
            if ggml_type in (gw.GGML_TQ1_0, gw.GGML_TQ2_0):
                # Ternary-looking weights (per-block absmax scales make most of them round to +-1 or 0).
                x = (rng.randint(-1, 2, shape) * rng.uniform(0.5, 1.0, shape)).astype(np.float32)
                x.reshape(-1)[:256] = 0  # an all-zero block: d = 0
            data = w.add_tensor(name, x, ggml_type, ggml)
        e = {"f32": ggml.dequantize(ggml_type, data, n).reshape(shape)}
        if ggml_type in (gw.GGML_TQ1_0, gw.GGML_TQ2_0):
            size = gw.BLOCKS[ggml_type][1]
            d = np.frombuffer(data, dtype=np.uint8).reshape(-1, size)[:, size - 2:].copy().view(np.float16)
            e["scales"] = d.astype(np.float32).reshape(int(np.prod(shape[:-1])), shape[-1] // 256)
        expected[name] = e

    def add_i2s(name, shape):
        n = int(np.prod(shape))
        codes = rng.randint(-1, 2, n).astype(np.int8)
        scale = np.float32(rng.uniform(0.01, 2.0))
        data = gw.pack_i2s(codes, float(scale))
        w.add_tensor_bytes(name, list(reversed(shape)), gw.GGML_I2_S, data)
        ref_codes, ref_scale = gw.unpack_i2s(data, n)
        assert np.array_equal(ref_codes, codes) and ref_scale == scale
        expected[name] = {"f32": (ref_codes.astype(np.float32) * ref_scale).reshape(shape),
                          "codes": ref_codes.reshape(int(np.prod(shape[:-1])), shape[-1]),
                          "scales": np.array([ref_scale], dtype=np.float32)}

    add_float("f32.vec", [37], gw.GGML_F32)
    add_float("f32.mat", [3, 5, 7], gw.GGML_F32)
    add_float("f16.mat", [4, 33], gw.GGML_F16)
    add_float("bf16.mat", [2, 3, 2, 9], gw.GGML_BF16)
    for ggml_type, shapes in ((gw.GGML_Q8_0, ([2, 64], [96])), (gw.GGML_Q6_K, ([3, 512], [256])),
                              (gw.GGML_TQ1_0, ([4, 512], [2, 2, 256])), (gw.GGML_TQ2_0, ([4, 512], [2, 2, 256]))):
        tname = gw.TYPE_NAMES[ggml_type]
        for k, shape in enumerate(shapes):
            add_quant("%s.ref.%d" % (tname, k), shape, ggml_type, raw=False)
        add_quant("%s.raw" % tname, [5, 256 if ggml_type != gw.GGML_Q8_0 else 64], ggml_type, raw=True)
    add_i2s("blk.0.ffn_down.weight", [6, 256])
    add_i2s("i2_s.vec", [128])
    return w, expected


def check_metadata(c, got, w):
    meta = got["metadata"]
    for key, vtype, value in w.kv:
        m = meta.get(key)
        if m is None:
            c.expect(False, "metadata %s missing" % key)
            continue
        c.expect(m["type"] == ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64",
                               "i64", "f64"][vtype], "metadata %s type %s" % (key, m["type"]))
        if vtype == gw.F32:
            c.expect(np.float32(m["value"]) == np.float32(value), "metadata %s = %r" % (key, m["value"]))
        elif vtype == gw.ARRAY:
            elem_type, items = value
            if elem_type == gw.ARRAY:
                ok = [(x["elem"], [y if not isinstance(y, dict) else y["value"] for y in x["value"]])
                      for x in m["value"]] == [("i16", [1, -2]), ("string", ["x"]), ("array", [[7]])]
                c.expect(ok, "metadata %s = %r" % (key, m["value"]))
            elif elem_type == gw.F32:
                c.expect([np.float32(x) for x in m["value"]] == [np.float32(x) for x in items],
                         "metadata %s = %r" % (key, m["value"]))
            else:
                c.expect(m["value"] == list(items), "metadata %s = %r, wrote %r" % (key, m["value"], items))
        else:
            c.expect(m["value"] == value, "metadata %s = %r, wrote %r" % (key, m["value"], value))
    c.expect(len(meta) == len(w.kv), "%d metadata keys read, %d written" % (len(meta), len(w.kv)))


def check_file(c, args, ggml, rng, alignment):
    w, expected = build(ggml, rng, alignment)
    tag = "align%d" % alignment
    path = os.path.join(args.workdir, "%s.gguf" % tag)
    w.write(path)
    npy = os.path.join(args.workdir, tag)
    os.makedirs(npy, exist_ok=True)
    r = subprocess.run([args.tool, path, "--npy-dir", npy], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        c.expect(False, "%s: ternc_gguf_dump failed (%d): %s" % (tag, r.returncode, r.stderr.decode()))
        return
    got = json.loads(r.stdout)
    c.expect(got["version"] == 3 and got["alignment"] == alignment, "%s: header %r" % (tag, got["version"]))
    check_metadata(c, got, w)
    offset = 0
    for (name, ne, ggml_type, data), t in zip(w.tensors, got["tensors"]):
        c.expect(t == {"name": name, "ne": ne, "type": gw.TYPE_NAMES[ggml_type], "offset": offset,
                       "nbytes": len(data)}, "%s: tensor info %r" % (tag, t))
        offset += (len(data) + alignment - 1) // alignment * alignment
        e = expected[name]
        f32 = np.load(os.path.join(npy, name + ".f32.npy"))
        c.expect(same_bits(f32, e["f32"]),
                 "%s: %s toF32 vs reference: %s" % (tag, name, first_difference(f32, e["f32"])))
        if ggml_type in (gw.GGML_TQ1_0, gw.GGML_TQ2_0, gw.GGML_I2_S):
            codes = np.load(os.path.join(npy, name + ".codes.npy"))
            scales = np.load(os.path.join(npy, name + ".scales.npy"))
            c.expect(codes.dtype == np.int8 and set(np.unique(codes)) <= {-1, 0, 1}, "%s: %s codes" % (tag, name))
            c.expect(same_bits(scales, e["scales"]), "%s: %s scales: %s" % (tag, name,
                                                                            first_difference(scales, e["scales"])))
            if ggml_type == gw.GGML_I2_S:
                c.expect(np.array_equal(codes, e["codes"]), "%s: %s I2_S codes" % (tag, name))
                recon = codes.astype(np.float32) * scales[0]
            else:
                recon = (codes.reshape(codes.shape[0], -1, 256).astype(np.float32) * scales[:, :, None])
            c.expect(same_bits(recon.reshape(-1), e["f32"].reshape(-1)),
                     "%s: %s codes * scales vs dequantize: %s" % (tag, name, first_difference(recon, e["f32"])))
    c.expect(len(got["tensors"]) == len(w.tensors), "%s: tensor count" % tag)


def check_code3(c, args):
    """A code 3 in TQ2_0 / I2_S data is an error naming the file and the tensor."""
    for ggml_type, name in ((gw.GGML_TQ2_0, "blk.3.attn_q.weight"), (gw.GGML_I2_S, "blk.4.ffn_up.weight")):
        w = gw.GgufWriter()
        if ggml_type == gw.GGML_TQ2_0:
            data = bytearray(66 * 2)
            data[66 + 5] = 0b00110000  # element 2 * 32 + 5 of block 1
        else:
            data = bytearray(gw.pack_i2s(np.zeros(256, dtype=np.int8), 1.0))
            data[40] = 0b00000011  # block 1, byte 8: element 128 + 96 + 8
        w.add_tensor_bytes(name, [256, 2] if ggml_type == gw.GGML_TQ2_0 else [256], ggml_type, bytes(data))
        path = os.path.join(args.workdir, "code3-%s.gguf" % gw.TYPE_NAMES[ggml_type])
        w.write(path)
        r = subprocess.run([args.tool, path, "--npy-dir", args.workdir], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        msg = r.stderr.decode()
        where = "row 1, column 69" if ggml_type == gw.GGML_TQ2_0 else "row 0, column 232"
        c.expect(r.returncode == 2 and path in msg and name in msg and "code 3" in msg and where in msg,
                 "code 3 in %s: exit %d, %r" % (gw.TYPE_NAMES[ggml_type], r.returncode, msg))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    if not gw.Ggml.available():
        print("SKIP: %s is absent (run 'npm install --no-audit --no-fund' in tests/peers)" % gw.DEFAULT_GGML_BASE)
        return 77
    os.makedirs(args.workdir, exist_ok=True)
    ggml = gw.Ggml()
    rng = np.random.RandomState(1234)
    c = Checks()
    for alignment in (32, 64, 1):
        check_file(c, args, ggml, rng, alignment)
    check_code3(c, args)
    for f in c.failures[:40]:
        print("FAIL:", f)
    print("gguf decode: llama.cpp reference %s" % ggml.path)
    print("%d passed, %d failed" % (c.passed, len(c.failures)))
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
