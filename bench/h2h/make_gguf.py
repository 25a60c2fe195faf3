#!/usr/bin/python3
"""make_gguf.py: writes a GGUF v3 file with the shape of a real ternary LM and random ternary weights, for the
ternc vs llama.cpp head to head (issue 6, bench/README.md "Head to head").

Shapes:
  bitnet-2b4t     microsoft/bitnet-b1.58-2B-4T: architecture "bitnet" (Q/K rows not permuted), hidden 2560,
                  30 layers, 20 heads / 5 KV heads (head_dim 128), FFN 6912 (squared ReLU), vocab 128256,
                  RoPE theta 500000, RMSNorm eps 1e-5, tied embeddings, sub-norms attn_sub_norm [2560] and
                  ffn_sub_norm [6912], one scale per tensor (every TQ2_0 block holds the same f16 scale).
  bitcpm-cann-1b  MiniCPM4 layout at BitCPM-CANN-1B size: architecture "minicpm", Q/K rows permuted as llama.cpp's
                  convert_hf_to_gguf.py does, muP keys (embedding_scale 12, residual_scale 1.4 / sqrt(layers),
                  logit_scale hidden / 256), untied head, a scale per 256-weight group. ASSUMED dimensions (the
                  released config was not available offline; MiniCPM4-8B's ratios scaled down): hidden 1536,
                  32 layers, 24 heads / 2 KV heads (head_dim 64), FFN 4096 (SwiGLU), vocab 73448, RMSNorm eps 1e-6,
                  RoPE theta 10000 without LongRoPE factors.

Weights: codes -1/0/+1 drawn uniformly (1/3 zeros) from --seed, times a scale of 2^round(log2(1/sqrt(K))) (exact
in f16; with group scales, that times 2^j for j in {-1, 0, 1} per 256-weight group), quantized to TQ2_0 with
llama.cpp's own quantize_row_tq2_0_ref (libggml-base.so, tests/formats/gguf_writer.py), which stores exactly these
codes and scales. Token embedding (and the untied head) N(0, 1) * 0.05 as Q6_K (quantize_row_q6_K_ref) or F16
(--embd f16); norms F32, all ones. A minimal llama-style tokenizer: <unk> <s> </s>, 256 byte tokens, then "tok<i>"
up to the vocabulary. Tensors are generated and written one chunk of rows at a time: the model never exists in
memory as a whole.

Usage: /usr/bin/python3 bench/h2h/make_gguf.py [--shape bitnet-2b4t|bitcpm-cann-1b] [--layers N] [--embd q6_k|f16]
                                               [--seed S] -o OUT.gguf
"""
import argparse
import math
import os
import struct
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "formats"))
import gguf_writer as gw  # noqa: E402

SHAPES = {
    "bitnet-2b4t": dict(arch="bitnet", name="bitnet-b1.58-2B-4T-shaped (random weights)", hidden=2560, layers=30,
                        heads=20, kv_heads=5, head_dim=128, ffn=6912, vocab=128256, rope_theta=500000.0,
                        rms_eps=1e-5, ctx=4096, tied=True, group_scales=False),
    "bitcpm-cann-1b": dict(arch="minicpm", name="BitCPM-CANN-1B-shaped (random weights, assumed dimensions)",
                           hidden=1536, layers=32, heads=24, kv_heads=2, head_dim=64, ffn=4096, vocab=73448,
                           rope_theta=10000.0, rms_eps=1e-6, ctx=4096, tied=False, group_scales=True,
                           scale_emb=12.0, scale_depth=1.4, dim_model_base=256),
}

ROWS_PER_CHUNK = 1024


class StreamingGguf:
    """A GGUF v3 file whose header (metadata and tensor infos) is written first and whose tensor data is then
    written tensor by tensor, in the order the tensors were declared, from chunks of bytes."""

    def __init__(self, path, alignment=32):
        self.path = path
        self.alignment = alignment
        self.kv = gw.GgufWriter(alignment)  # only its metadata list is used
        self.infos = []  # (name, ne, ggml_type, nbytes)

    def add(self, *args, **kwargs):
        self.kv.add(*args, **kwargs)

    def declare(self, name, ne, ggml_type):
        self.infos.append((name, list(ne), ggml_type, gw.tensor_nbytes(ggml_type, int(np.prod(ne)))))

    def write(self, produce):
        """produce(name, ne, ggml_type) yields the tensor's bytes in order; the total must match its size."""
        with open(self.path, "wb") as f:
            head = bytearray(b"GGUF")
            head += struct.pack("<IQQ", 3, len(self.infos), len(self.kv.kv))
            for key, vtype, value in self.kv.kv:
                head += gw._string(key) + struct.pack("<I", vtype) + gw._value(vtype, value)
            offset = 0
            for name, ne, ggml_type, nbytes in self.infos:
                head += gw._string(name) + struct.pack("<I", len(ne))
                head += b"".join(struct.pack("<Q", d) for d in ne)
                head += struct.pack("<IQ", ggml_type, offset)
                offset += gw._pad(nbytes, self.alignment)
            head += b"\0" * (gw._pad(len(head), self.alignment) - len(head))
            f.write(head)
            for name, ne, ggml_type, nbytes in self.infos:
                written = 0
                for chunk in produce(name, ne, ggml_type):
                    f.write(chunk)
                    written += len(chunk)
                if written != nbytes:
                    raise RuntimeError(f"{self.path}: tensor '{name}': wrote {written} bytes, expected {nbytes}")
                f.write(b"\0" * (gw._pad(nbytes, self.alignment) - nbytes))


def llama_permute(a, heads):
    """convert_hf_to_gguf.py's LlamaModel.permute: each head's rotate-half rows to the interleaved order."""
    n, k = a.shape
    return a.reshape(heads, 2, n // heads // 2, k).swapaxes(1, 2).reshape(n, k)


def pow2_scale(k):
    return 2.0 ** round(math.log2(1.0 / math.sqrt(k)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="bitnet-2b4t")
    ap.add_argument("--layers", type=int, help="override the layer count (a quick scaled-down run)")
    ap.add_argument("--embd", choices=["q6_k", "f16"], default="q6_k", help="token embedding (and untied head) type")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--uniform-scales", action="store_true",
                    help="one scale per tensor even where the shape has per-256 group scales (isolates their cost)")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()

    s = dict(SHAPES[args.shape])
    if args.layers is not None:
        if args.layers < 1:
            sys.exit("make_gguf.py: --layers must be at least 1")
        s["layers"] = args.layers
    if args.uniform_scales:
        s["group_scales"] = False
    arch, hidden, layers, vocab = s["arch"], s["hidden"], s["layers"], s["vocab"]
    heads, kv_heads, head_dim, ffn = s["heads"], s["kv_heads"], s["head_dim"], s["ffn"]
    embd_type = gw.GGML_Q6_K if args.embd == "q6_k" else gw.GGML_F16
    ggml = gw.Ggml()
    t_start = time.time()

    w = StreamingGguf(args.output)
    w.add("general.architecture", arch)
    w.add("general.name", s["name"])
    w.add(f"{arch}.block_count", layers, gw.U32)
    w.add(f"{arch}.context_length", s["ctx"], gw.U32)
    w.add(f"{arch}.embedding_length", hidden, gw.U32)
    w.add(f"{arch}.feed_forward_length", ffn, gw.U32)
    w.add(f"{arch}.attention.head_count", heads, gw.U32)
    w.add(f"{arch}.attention.head_count_kv", kv_heads, gw.U32)
    w.add(f"{arch}.attention.key_length", head_dim, gw.U32)
    w.add(f"{arch}.attention.value_length", head_dim, gw.U32)
    w.add(f"{arch}.rope.dimension_count", head_dim, gw.U32)
    w.add(f"{arch}.rope.freq_base", float(s["rope_theta"]), gw.F32)
    w.add(f"{arch}.attention.layer_norm_rms_epsilon", float(s["rms_eps"]), gw.F32)
    w.add(f"{arch}.vocab_size", vocab, gw.U32)
    if arch == "minicpm":
        w.add(f"{arch}.embedding_scale", float(s["scale_emb"]), gw.F32)
        w.add(f"{arch}.residual_scale", float(s["scale_depth"] / math.sqrt(layers)), gw.F32)
        w.add(f"{arch}.logit_scale", float(hidden / s["dim_model_base"]), gw.F32)
    w.add("general.file_type", 37, gw.U32)  # LLAMA_FTYPE_MOSTLY_TQ2_0
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    tokens += [f"tok{i}" for i in range(vocab - len(tokens))]
    types = [gw.TOKEN_UNKNOWN, gw.TOKEN_CONTROL, gw.TOKEN_CONTROL] + [gw.TOKEN_BYTE] * 256
    types += [gw.TOKEN_NORMAL] * (vocab - len(types))
    w.add("tokenizer.ggml.model", "llama")
    w.add("tokenizer.ggml.tokens", tokens, gw.ARRAY, gw.STRING)
    w.add("tokenizer.ggml.scores", np.arange(0, -vocab, -1, dtype=np.float32), gw.ARRAY, gw.F32)
    w.add("tokenizer.ggml.token_type", types, gw.ARRAY, gw.I32)
    w.add("tokenizer.ggml.bos_token_id", 1, gw.U32)
    w.add("tokenizer.ggml.eos_token_id", 2, gw.U32)
    w.add("tokenizer.ggml.unknown_token_id", 0, gw.U32)
    w.add("tokenizer.ggml.add_bos_token", True, gw.BOOL)

    # [out, in] of each linear layer (ggml ne = [in, out]).
    q_dim, kv_dim = heads * head_dim, kv_heads * head_dim
    linears = {"attn_q": (q_dim, hidden), "attn_k": (kv_dim, hidden), "attn_v": (kv_dim, hidden),
               "attn_output": (hidden, q_dim), "ffn_gate": (ffn, hidden), "ffn_up": (ffn, hidden),
               "ffn_down": (hidden, ffn)}
    w.declare("token_embd.weight", [hidden, vocab], embd_type)
    w.declare("output_norm.weight", [hidden], gw.GGML_F32)
    if not s["tied"]:
        w.declare("output.weight", [hidden, vocab], embd_type)
    for i in range(layers):
        w.declare(f"blk.{i}.attn_norm.weight", [hidden], gw.GGML_F32)
        for l in ("attn_q", "attn_k", "attn_v", "attn_output"):
            n, k = linears[l]
            w.declare(f"blk.{i}.{l}.weight", [k, n], gw.GGML_TQ2_0)
        if arch == "bitnet":
            w.declare(f"blk.{i}.attn_sub_norm.weight", [q_dim], gw.GGML_F32)
        w.declare(f"blk.{i}.ffn_norm.weight", [hidden], gw.GGML_F32)
        for l in ("ffn_gate", "ffn_up", "ffn_down"):
            n, k = linears[l]
            w.declare(f"blk.{i}.{l}.weight", [k, n], gw.GGML_TQ2_0)
        if arch == "bitnet":
            w.declare(f"blk.{i}.ffn_sub_norm.weight", [ffn], gw.GGML_F32)

    rng = np.random.default_rng(args.seed)
    counts = {"ternary weights": 0, "ternary bytes": 0}

    def ternary(name, n, k):
        l = name.split(".")[2]
        permute_heads = None
        if arch in ("llama", "minicpm") and l in ("attn_q", "attn_k"):
            permute_heads = heads if l == "attn_q" else kv_heads
        base = pow2_scale(k)
        # Q/K rows are permuted within each head, so a chunk holds whole heads.
        step = ROWS_PER_CHUNK if permute_heads is None else max(1, ROWS_PER_CHUNK // head_dim) * head_dim
        for r0 in range(0, n, step):
            rows = min(step, n - r0)
            codes = rng.integers(-1, 2, size=(rows, k), dtype=np.int8)
            if s["group_scales"]:
                g = 2.0 ** rng.integers(-1, 2, size=(rows, k // 256)).astype(np.float32)
                a = (codes.reshape(rows, k // 256, 256) * (base * g)[:, :, None]).reshape(rows, k).astype(np.float32)
            else:
                a = codes.astype(np.float32) * np.float32(base)
            if permute_heads is not None:
                a = llama_permute(a, rows // head_dim)
            data = ggml.quantize(gw.GGML_TQ2_0, a.reshape(-1))
            counts["ternary weights"] += a.size
            counts["ternary bytes"] += len(data)
            yield data

    def embedding(n, k):
        for r0 in range(0, n, ROWS_PER_CHUNK):
            rows = min(ROWS_PER_CHUNK, n - r0)
            a = (rng.standard_normal((rows, k), dtype=np.float32) * np.float32(0.05))
            if embd_type == gw.GGML_F16:
                yield a.astype(np.float16).tobytes()
            else:
                yield ggml.quantize(gw.GGML_Q6_K, a.reshape(-1))

    def produce(name, ne, ggml_type):
        if name.endswith("norm.weight"):
            yield np.ones(ne, dtype=np.float32).tobytes()
        elif name in ("token_embd.weight", "output.weight"):
            yield from embedding(ne[1], ne[0])
        else:
            yield from ternary(name, ne[1], ne[0])

    w.write(produce)
    size = os.path.getsize(args.output)
    elapsed = time.time() - t_start
    print(f"{args.output}: {args.shape}{' (' + str(layers) + ' layers)' if args.layers else ''}, {arch}, "
          f"{counts['ternary weights'] / 1e9:.3f}B ternary weights in TQ2_0 ({counts['ternary bytes'] / 1e6:.1f} MB), "
          f"embedding {args.embd}; file {size / 1e6:.1f} MB ({size} bytes), written in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
