#!/usr/bin/python3
"""gguf_seeds.py OUTDIR: writes the seed corpus of gguf_fuzz — small valid GGUF files covering every metadata value
type, every tensor type ternc decodes (raw blocks, no llama.cpp needed), both tokenizer models and the alignments
1, 32 and 64."""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
import gguf_writer as gw  # noqa: E402


def blocks(rng, ggml_type, n):
    block, size = gw.BLOCKS[ggml_type]
    data = bytearray(rng.randint(0, 256, n // block * size, dtype=np.uint8).tobytes())
    for b in range(n // block):
        if ggml_type == gw.GGML_TQ2_0:
            data[b * size:b * size + 64] = bytes(x & 0b10101010 for x in data[b * size:b * size + 64])
        struct.pack_into("<e", data, (b + 1) * size - 2 if ggml_type != gw.GGML_Q8_0 else b * size, 0.5)
    return bytes(data)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.RandomState(7)

    w = gw.GgufWriter()
    w.add("general.architecture", "llama")
    for key, t, v in (("u8", gw.U8, 1), ("i8", gw.I8, -1), ("u16", gw.U16, 2), ("i16", gw.I16, -2),
                      ("u32", gw.U32, 3), ("i32", gw.I32, -3), ("f32", gw.F32, 0.5), ("bool", gw.BOOL, True),
                      ("u64", gw.U64, 4), ("i64", gw.I64, -4), ("f64", gw.F64, 0.25)):
        w.add("t." + key, v, t)
    w.add("t.arr", [(gw.I32, [1, 2]), (gw.STRING, ["a"])], gw.ARRAY, gw.ARRAY)
    w.add("t.f32s", [1.0, 2.0], gw.ARRAY, gw.F32)
    w.add_tensor("f32", rng.randn(2, 4), gw.GGML_F32)
    w.add_tensor("f16", rng.randn(3), gw.GGML_F16)
    w.add_tensor("bf16", rng.randn(2, 2), gw.GGML_BF16)
    w.write(os.path.join(out, "types.gguf"))

    for align in (1, 32, 64):
        w = gw.GgufWriter(align)
        for t in (gw.GGML_Q8_0, gw.GGML_Q6_K, gw.GGML_TQ1_0, gw.GGML_TQ2_0):
            n = 256 if t != gw.GGML_Q8_0 else 64
            w.add_tensor_bytes(gw.TYPE_NAMES[t], [n], t, blocks(rng, t, n))
        w.add_tensor_bytes("i2_s", [128], gw.GGML_I2_S, gw.pack_i2s(rng.randint(-1, 2, 128), 0.75))
        w.write(os.path.join(out, "quant-align%d.gguf" % align))

    w = gw.GgufWriter()
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(4)] + ["\u2581a", "b", "\u2581ab"]
    w.add("tokenizer.ggml.model", "llama")
    w.add("tokenizer.ggml.tokens", tokens, gw.ARRAY, gw.STRING)
    w.add("tokenizer.ggml.scores", [0.0] * 7 + [-1.0, -2.0, -3.0], gw.ARRAY, gw.F32)
    w.add("tokenizer.ggml.token_type", [2, 3, 3, 6, 6, 6, 6, 1, 1, 1], gw.ARRAY, gw.I32)
    w.add("tokenizer.ggml.bos_token_id", 1, gw.U32)
    w.add("tokenizer.ggml.eos_token_id", 2, gw.U32)
    w.add("tokenizer.ggml.unknown_token_id", 0, gw.U32)
    w.add("tokenizer.ggml.add_space_prefix", True, gw.BOOL)
    w.write(os.path.join(out, "tok-llama.gguf"))

    w = gw.GgufWriter()
    w.add("tokenizer.ggml.model", "gpt2")
    w.add("tokenizer.ggml.pre", "llama-bpe")
    w.add("tokenizer.ggml.tokens", ["a", "b", "ab", "\u0120", "<|begin_of_text|>", "<x>"], gw.ARRAY, gw.STRING)
    w.add("tokenizer.ggml.token_type", [1, 1, 1, 1, 3, 4], gw.ARRAY, gw.I32)
    w.add("tokenizer.ggml.merges", ["a b"], gw.ARRAY, gw.STRING)
    w.add("tokenizer.ggml.bos_token_id", 4, gw.U32)
    w.add("tokenizer.ggml.add_bos_token", True, gw.BOOL)
    w.write(os.path.join(out, "tok-gpt2.gguf"))


if __name__ == "__main__":
    main()
