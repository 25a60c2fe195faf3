#!/usr/bin/python3
"""gguf_writer.py: writes GGUF v3 files for ternc's tests (docs/frontend-gguf.md).

- GgufWriter: metadata of every GGUF value type (nested arrays included) and tensors at alignment 32.
- Quantization through llama.cpp's own reference code: quantize_row_{tq1_0,tq2_0,q8_0,q6_K}_ref and
  dequantize_row_* of libggml-base.so from the npm package @node-llama-cpp/linux-x64 (tests/peers), loaded with
  ctypes (Ggml). F32/F16/BF16 are written with numpy; I2_S (bitnet.cpp's x86 layout, no upstream function) is
  packed here (pack_i2s) and has its own numpy reference decoder (unpack_i2s).
- Tokenizer metadata (tokenizer.ggml.*) from a SentencePiece .model file (its protobuf wire format is parsed here,
  no sentencepiece module needed) or from a Hugging Face tokenizer.json with a BPE model.
"""
import ctypes
import json
import os
import struct

import numpy as np

# gguf_type
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_SCALAR_FORMATS = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
                   U64: "<Q", I64: "<q", F64: "<d"}
_NUMPY_DTYPES = {U8: np.uint8, I8: np.int8, U16: np.uint16, I16: np.int16, U32: np.uint32, I32: np.int32,
                 F32: np.float32, BOOL: np.uint8, U64: np.uint64, I64: np.int64, F64: np.float64}

# ggml_type ids (ggml.h; I2_S is bitnet.cpp's) with (block size, bytes per block).
GGML_F32, GGML_F16, GGML_Q8_0, GGML_Q6_K, GGML_BF16, GGML_TQ1_0, GGML_TQ2_0, GGML_I2_S = 0, 1, 8, 14, 30, 34, 35, 36
BLOCKS = {GGML_F32: (1, 4), GGML_F16: (1, 2), GGML_BF16: (1, 2), GGML_Q8_0: (32, 34), GGML_Q6_K: (256, 210),
          GGML_TQ1_0: (256, 54), GGML_TQ2_0: (256, 66)}
TYPE_NAMES = {GGML_F32: "f32", GGML_F16: "f16", GGML_BF16: "bf16", GGML_Q8_0: "q8_0", GGML_Q6_K: "q6_K",
              GGML_TQ1_0: "tq1_0", GGML_TQ2_0: "tq2_0", GGML_I2_S: "i2_s"}

# llama.cpp's token types (equal to SentencePiece's piece types 1..6).
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED, TOKEN_BYTE = 1, 2, 3, 4, 5, 6

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GGML_BASE = os.path.join(HERE, "..", "peers", "node_modules", "@node-llama-cpp", "linux-x64", "bins",
                                 "linux-x64", "libggml-base.so")


def tensor_nbytes(ggml_type, n):
    if ggml_type == GGML_I2_S:
        return (n + 3) // 4 + 32
    block, size = BLOCKS[ggml_type]
    assert n % block == 0, (n, block)
    return n // block * size


class GgufWriter:
    """Collects metadata and tensors and writes them as one GGUF v3 file."""

    def __init__(self, alignment=32):
        self.alignment = alignment
        self.kv = []       # (key, type, value)
        self.tensors = []  # (name, ne, ggml_type, bytes)

    def add(self, key, value, vtype=None, elem_type=None):
        """Adds a metadata pair. Without vtype: bool -> BOOL, int -> I64, float -> F32, str -> STRING, list -> ARRAY
        (of elem_type, or inferred from the first element)."""
        if vtype is None:
            vtype = _infer_type(value)
        if vtype == ARRAY and elem_type is None:
            elem_type = _infer_type(value[0]) if len(value) else U8
        self.kv.append((key, vtype, value if vtype != ARRAY else (elem_type, value)))

    def add_tensor_bytes(self, name, ne, ggml_type, data):
        """A tensor from raw bytes; ne in ggml order (ne[0] innermost)."""
        n = int(np.prod(ne))
        assert len(data) == tensor_nbytes(ggml_type, n), (name, len(data), tensor_nbytes(ggml_type, n))
        self.tensors.append((name, list(ne), ggml_type, bytes(data)))

    def add_tensor(self, name, array, ggml_type, ggml=None):
        """A tensor from a numpy array (row-major, shape [ne[n-1], ..., ne[0]]), quantized to ggml_type (Q8_0, Q6_K,
        TQ1_0, TQ2_0 need `ggml`, a Ggml). Returns the bytes written."""
        array = np.ascontiguousarray(array, dtype=np.float32)
        ne = list(reversed(array.shape))
        if ggml_type == GGML_F32:
            data = array.tobytes()
        elif ggml_type == GGML_F16:
            data = array.astype(np.float16).tobytes()
        elif ggml_type == GGML_BF16:
            data = f32_to_bf16_bits(array).tobytes()
        else:
            data = ggml.quantize(ggml_type, array.reshape(-1))
        self.add_tensor_bytes(name, ne, ggml_type, data)
        return data

    def to_bytes(self):
        if self.alignment != 32 and not any(k == "general.alignment" for k, _, _ in self.kv):
            self.add("general.alignment", self.alignment, U32)
        out = bytearray(b"GGUF")
        out += struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))
        for key, vtype, value in self.kv:
            out += _string(key)
            out += struct.pack("<I", vtype)
            out += _value(vtype, value)
        offset = 0
        offsets = []
        for name, ne, ggml_type, data in self.tensors:
            out += _string(name)
            out += struct.pack("<I", len(ne))
            out += b"".join(struct.pack("<Q", d) for d in ne)
            out += struct.pack("<IQ", ggml_type, offset)
            offsets.append(offset)
            offset += _pad(len(data), self.alignment)
        out += b"\0" * (_pad(len(out), self.alignment) - len(out))
        for (name, ne, ggml_type, data), off in zip(self.tensors, offsets):
            out += data
            out += b"\0" * (_pad(len(data), self.alignment) - len(data))
        return bytes(out)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.to_bytes())


def _pad(n, alignment):
    return (n + alignment - 1) // alignment * alignment


def _infer_type(v):
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, (int, np.integer)):
        return I64
    if isinstance(v, (float, np.floating)):
        return F32
    if isinstance(v, (str, bytes)):
        return STRING
    if isinstance(v, (list, tuple, np.ndarray)):
        return ARRAY
    raise TypeError("no GGUF type for %r" % (v,))


def _string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _value(vtype, value):
    if vtype == STRING:
        return _string(value)
    if vtype == ARRAY:
        elem_type, items = value
        out = struct.pack("<IQ", elem_type, len(items))
        if elem_type in _NUMPY_DTYPES:
            arr = np.asarray(items, dtype=_NUMPY_DTYPES[elem_type])
            return out + arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        if elem_type == STRING:
            return out + b"".join(_string(s) for s in items)
        # Nested arrays: each item is (elem_type, items).
        return out + b"".join(_value(ARRAY, it) for it in items)
    return struct.pack(_SCALAR_FORMATS[vtype], value)


def f32_to_bf16_bits(a):
    """Round to nearest even, as torch and ggml's ggml_compute_fp32_to_bf16 do (finite inputs)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return r.astype(np.uint16)


def bf16_bits_to_f32(b):
    return (np.asarray(b, dtype=np.uint32) << 16).view(np.float32)


class Ggml:
    """llama.cpp's reference quantizers and dequantizers (libggml-base.so) through ctypes."""

    _FUNCS = {GGML_Q8_0: "q8_0", GGML_Q6_K: "q6_K", GGML_TQ1_0: "tq1_0", GGML_TQ2_0: "tq2_0"}

    def __init__(self, path=None):
        path = path or os.environ.get("TERNC_GGML_BASE") or DEFAULT_GGML_BASE
        self.path = os.path.abspath(path)
        self.lib = ctypes.CDLL(self.path)
        for name in self._FUNCS.values():
            for fn in ("quantize_row_%s_ref" % name, "dequantize_row_%s" % name):
                f = getattr(self.lib, fn)
                f.restype = None
                f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        self.lib.ggml_blck_size.restype = ctypes.c_int64
        self.lib.ggml_type_size.restype = ctypes.c_size_t
        for t, (block, size) in BLOCKS.items():  # the block table above is ggml's
            assert (self.lib.ggml_blck_size(t), self.lib.ggml_type_size(t)) == (block, size), t

    @staticmethod
    def available(path=None):
        return os.path.exists(path or os.environ.get("TERNC_GGML_BASE") or DEFAULT_GGML_BASE)

    def quantize(self, ggml_type, x):
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
        out = ctypes.create_string_buffer(tensor_nbytes(ggml_type, x.size))
        getattr(self.lib, "quantize_row_%s_ref" % self._FUNCS[ggml_type])(x.ctypes.data, out, x.size)
        return out.raw

    def dequantize(self, ggml_type, data, n):
        assert len(data) == tensor_nbytes(ggml_type, n)
        buf = ctypes.create_string_buffer(bytes(data), len(data))
        y = np.zeros(n, dtype=np.float32)
        getattr(self.lib, "dequantize_row_%s" % self._FUNCS[ggml_type])(buf, y.ctypes.data, n)
        return y


def pack_i2s(codes, scale):
    """bitnet.cpp's x86 I2_S: codes (-1/0/+1, flat, a multiple of 128) in blocks of 128 weights in 32 bytes, byte j
    holding weights j, j+32, j+64, j+96 in bits 7:6, 5:4, 3:2, 1:0 as 0/1/2; the f32 scale right after the n/4
    packed bytes; zero padding to n/4 + 32 bytes."""
    q = (np.asarray(codes, dtype=np.int64).reshape(-1) + 1).astype(np.uint8)
    assert q.size % 128 == 0 and q.max(initial=0) <= 2
    blocks = q.reshape(-1, 4, 32)  # [block, group, position]
    packed = (blocks[:, 0] << 6) | (blocks[:, 1] << 4) | (blocks[:, 2] << 2) | blocks[:, 3]
    out = packed.astype(np.uint8).tobytes() + struct.pack("<f", scale)
    return out + b"\0" * (tensor_nbytes(GGML_I2_S, q.size) - len(out))


def unpack_i2s(data, n):
    """The numpy reference decoder of pack_i2s's layout: (codes -1/0/+1 as int8, f32 scale)."""
    packed = np.frombuffer(data, dtype=np.uint8, count=n // 4).reshape(-1, 32)
    groups = [(packed >> s) & 3 for s in (6, 4, 2, 0)]
    codes = np.stack(groups, axis=1).reshape(-1).astype(np.int8) - 1
    scale = struct.unpack_from("<f", data, n // 4)[0]
    return codes, np.float32(scale)


# ---- tokenizers ----

def _varint(buf, i):
    x = shift = 0
    while True:
        b = buf[i]
        i += 1
        x |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return x, i


def _fields(buf):
    """(field, wire type, value) of a protobuf message: ints for varints, bytes for length-delimited and fixed."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield field, wire, v


def _int32(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def parse_sentencepiece(path):
    """The parts of a SentencePiece ModelProto (sentencepiece_model.proto) GGUF keeps: pieces (text, score, type),
    the trainer spec's model type, special ids and pieces, and the normalizer spec."""
    with open(path, "rb") as f:
        buf = f.read()
    pieces = []
    trainer = {"model_type": 1, "unk_id": 0, "bos_id": 1, "eos_id": 2, "pad_id": -1, "byte_fallback": False,
               "unk_piece": "<unk>", "bos_piece": "<s>", "eos_piece": "</s>", "pad_piece": "<pad>"}
    normalizer = {"name": None, "add_dummy_prefix": True, "remove_extra_whitespaces": True,
                  "escape_whitespaces": True, "precompiled_charsmap": b""}
    for field, _, v in _fields(buf):
        if field == 1:
            p = {"piece": "", "score": 0.0, "type": TOKEN_NORMAL}
            for f2, _, v2 in _fields(v):
                if f2 == 1:
                    p["piece"] = v2.decode("utf-8")
                elif f2 == 2:
                    p["score"] = struct.unpack("<f", v2)[0]
                elif f2 == 3:
                    p["type"] = v2
            pieces.append(p)
        elif field == 2:
            names = {3: "model_type", 35: "byte_fallback", 40: "unk_id", 41: "bos_id", 42: "eos_id", 43: "pad_id",
                     45: "unk_piece", 46: "bos_piece", 47: "eos_piece", 48: "pad_piece"}
            for f2, _, v2 in _fields(v):
                if f2 in names:
                    name = names[f2]
                    trainer[name] = v2.decode("utf-8") if name.endswith("piece") else (
                        bool(v2) if name == "byte_fallback" else _int32(v2))
        elif field == 3:
            names = {1: "name", 2: "precompiled_charsmap", 3: "add_dummy_prefix", 4: "remove_extra_whitespaces",
                     5: "escape_whitespaces"}
            for f2, _, v2 in _fields(v):
                if f2 in names:
                    name = names[f2]
                    normalizer[name] = v2.decode("utf-8") if name == "name" else (
                        v2 if name == "precompiled_charsmap" else bool(v2))
    return {"pieces": pieces, "trainer": trainer, "normalizer": normalizer}


def add_sentencepiece_tokenizer(w, model_path, add_bos=True, add_eos=False):
    """tokenizer.ggml.* of a "llama" (SentencePiece) vocabulary, as llama.cpp's converter writes it, except that
    user-defined pieces keep their type (4)."""
    m = parse_sentencepiece(model_path)
    pieces, t = m["pieces"], m["trainer"]
    w.add("tokenizer.ggml.model", "llama")
    w.add("tokenizer.ggml.tokens", [p["piece"] for p in pieces], ARRAY, STRING)
    w.add("tokenizer.ggml.scores", [p["score"] for p in pieces], ARRAY, F32)
    w.add("tokenizer.ggml.token_type", [p["type"] for p in pieces], ARRAY, I32)
    for name in ("bos", "eos", "pad"):
        if t[name + "_id"] >= 0:
            w.add("tokenizer.ggml.%s_token_id" % name, t[name + "_id"], U32)
    w.add("tokenizer.ggml.unknown_token_id", t["unk_id"], U32)
    w.add("tokenizer.ggml.add_bos_token", add_bos, BOOL)
    w.add("tokenizer.ggml.add_eos_token", add_eos, BOOL)
    w.add("tokenizer.ggml.add_space_prefix", m["normalizer"]["add_dummy_prefix"], BOOL)
    return m


def add_hf_bpe_tokenizer(w, tokenizer_json_path, pre, bos=None, eos=None, add_bos=None):
    """tokenizer.ggml.* of a "gpt2" (byte-level BPE) vocabulary from a tokenizer.json: tokens by id (the model's
    vocabulary and the added tokens; gaps as "[PAD<i>]" with the unused type, as llama.cpp does), added special
    tokens as control, other added tokens as user-defined, merges as "a b"."""
    with open(tokenizer_json_path, encoding="utf-8") as f:
        tj = json.load(f)
    model = tj["model"]
    assert model["type"] == "BPE"
    by_id = {i: (tok, TOKEN_NORMAL) for tok, i in model["vocab"].items()}
    for a in tj.get("added_tokens", []):
        by_id[a["id"]] = (a["content"], TOKEN_CONTROL if a.get("special") else TOKEN_USER_DEFINED)
    n = max(by_id) + 1
    tokens, types = [], []
    for i in range(n):
        tok, typ = by_id.get(i, ("[PAD%d]" % i, TOKEN_UNUSED))
        tokens.append(tok)
        types.append(typ)
    merges = [m if isinstance(m, str) else "%s %s" % tuple(m) for m in model["merges"]]
    w.add("tokenizer.ggml.model", "gpt2")
    w.add("tokenizer.ggml.pre", pre)
    w.add("tokenizer.ggml.tokens", tokens, ARRAY, STRING)
    w.add("tokenizer.ggml.token_type", types, ARRAY, I32)
    w.add("tokenizer.ggml.merges", merges, ARRAY, STRING)
    if bos is not None:
        w.add("tokenizer.ggml.bos_token_id", bos, U32)
    if eos is not None:
        w.add("tokenizer.ggml.eos_token_id", eos, U32)
    if add_bos is not None:
        w.add("tokenizer.ggml.add_bos_token", add_bos, BOOL)
    return tj
