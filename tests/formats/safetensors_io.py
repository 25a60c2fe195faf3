#!/usr/bin/python3
"""safetensors_io: write and read .safetensors files and sharded Hugging Face checkpoints with numpy only.

The layout matches the reference implementation (the `safetensors` Rust crate behind the Python package):
8-byte little-endian header length, a compact JSON header with "__metadata__" first and the tensors ordered
by decreasing element size then name, padded with spaces to a multiple of 8 bytes, then the tensors' bytes in
that order. Sharding follows transformers' `save_pretrained` / huggingface_hub's `split_state_dict_into_shards`:
tensors go in order into shards of at most `max_shard_bytes` (a larger tensor gets its own shard at once), files are
model-00001-of-0000N.safetensors, and model.safetensors.index.json holds {"metadata": {"total_size"},
"weight_map"} (indent 2, sorted keys). A checkpoint that fits one shard is a single model.safetensors.

    write(path, {"w": np.ones((2, 3), np.float32), "b": (bf16_bits, "BF16")}, metadata={"format": "pt"})
    write_sharded(folder, tensors, max_shard_bytes=1 << 20)
    tensors, metadata = read(path)      # BF16 comes back as float32 (exact)

Tensor values: a numpy array (dtype from the array), a (numpy array, "DTYPE") pair to override the dtype
(BF16 bits as np.uint16, or np.uint16 with "F16"), or a torch tensor (bfloat16 included).
Run `safetensors_io.py --self-test` to check it; `--fixture DIR` writes the folder the C++ tests read.
"""

import json
import os
import struct
import sys

import numpy as np

_NP_TO_ST = {
    np.dtype(np.bool_): "BOOL", np.dtype(np.uint8): "U8", np.dtype(np.int8): "I8",
    np.dtype(np.uint16): "U16", np.dtype(np.int16): "I16", np.dtype(np.float16): "F16",
    np.dtype(np.uint32): "U32", np.dtype(np.int32): "I32", np.dtype(np.float32): "F32",
    np.dtype(np.uint64): "U64", np.dtype(np.int64): "I64", np.dtype(np.float64): "F64",
}
_ST_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2, "U32": 4, "I32": 4, "F32": 4,
            "U64": 8, "I64": 8, "F64": 8}
_ST_TO_NP = {v: k for k, v in _NP_TO_ST.items()}
_ST_TO_NP["BF16"] = np.dtype(np.uint16)


def bf16_bits(x):
    """float32 values -> bfloat16 bits (np.uint16), rounding to nearest even like torch."""
    x = np.asarray(x, dtype=np.float32)
    bits = x.reshape(-1).view(np.uint32).astype(np.uint64)
    rounded = (bits + np.uint64(0x7FFF) + ((bits >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    out = rounded.astype(np.uint16)
    out[np.isnan(x.reshape(-1))] = 0x7FC0
    return out.reshape(x.shape)


def bf16_to_f32(bits):
    """bfloat16 bits (np.uint16) -> float32 (exact)."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def _contiguous(array):
    """C-contiguous (np.ascontiguousarray would turn a 0-d array into 1-d)."""
    return array if array.flags.c_contiguous else array.copy(order="C")


def _normalize(value):
    """A tensor value -> (C-contiguous little-endian array, safetensors dtype name)."""
    if hasattr(value, "detach"):  # torch
        import torch
        t = value.detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            return t.view(torch.int16).numpy().view(np.uint16), "BF16"
        return _normalize(t.numpy())
    if isinstance(value, tuple):
        array, dtype = value
        array = np.asarray(array)
        if dtype not in _ST_SIZE:
            raise ValueError(f"unknown safetensors dtype {dtype!r}")
        if array.dtype.itemsize != _ST_SIZE[dtype]:
            raise ValueError(f"{dtype} needs {_ST_SIZE[dtype]}-byte elements, got {array.dtype}")
        return _contiguous(array).astype(array.dtype.newbyteorder("<"), copy=False), dtype
    array = np.asarray(value)
    key = array.dtype.newbyteorder("=") if array.dtype.byteorder not in "=|" else array.dtype
    if key not in _NP_TO_ST:
        raise ValueError(f"no safetensors dtype for {array.dtype}")
    return _contiguous(array).astype(array.dtype.newbyteorder("<"), copy=False), _NP_TO_ST[key]


def serialize(tensors, metadata=None):
    """The bytes of a .safetensors file holding `tensors` (name -> value)."""
    items = {name: _normalize(v) for name, v in tensors.items()}
    order = sorted(items, key=lambda n: (-_ST_SIZE[items[n][1]], n))
    header = {}
    if metadata is not None:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name in order:
        array, dtype = items[name]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return b"".join([struct.pack("<Q", len(text)), text] + [items[n][0].tobytes() for n in order])


def write(path, tensors, metadata=None):
    """Writes `tensors` (name -> value) to the .safetensors file `path`."""
    data = serialize(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)


def write_sharded(folder, tensors, max_shard_bytes, metadata=None):
    """Writes `tensors` as a Hugging Face checkpoint in `folder`; returns the file names written."""
    os.makedirs(folder, exist_ok=True)
    items = {name: _normalize(v) for name, v in tensors.items()}
    # huggingface_hub.split_state_dict_into_shards_factory: a tensor larger than the limit gets a shard of its own
    # at once (before the shard being filled); otherwise a tensor that would tip the current shard over starts a
    # new one.
    shards, current, current_size = [], {}, 0
    for name, (array, dtype) in items.items():
        if array.nbytes > max_shard_bytes:
            shards.append({name: (array, dtype)})
            continue
        if current_size + array.nbytes > max_shard_bytes:
            shards.append(current)
            current, current_size = {}, 0
        current[name] = (array, dtype)
        current_size += array.nbytes
    if current or not shards:
        shards.append(current)
    meta = {"format": "pt"} if metadata is None else metadata
    if len(shards) == 1:
        write(os.path.join(folder, "model.safetensors"), shards[0], meta)
        return ["model.safetensors"]
    names, weight_map = [], {}
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write(os.path.join(folder, fname), shard, meta)
        names.append(fname)
        for name in shard:
            weight_map[name] = fname
    index = {"metadata": {"total_size": sum(a.nbytes for a, _ in items.values())}, "weight_map": weight_map}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return names + ["model.safetensors.index.json"]


def read_raw(path):
    """(name -> (array, dtype name), metadata) of a .safetensors file; BF16 arrays are np.uint16 bits."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dt = _ST_TO_NP[entry["dtype"]].newbyteorder("<")
        out[name] = (np.frombuffer(data[base + begin:base + end], dtype=dt).reshape(entry["shape"]), entry["dtype"])
    return out, metadata


def read(path):
    """(name -> np.ndarray, metadata) of a .safetensors file; BF16 tensors come back as exact float32."""
    raw, metadata = read_raw(path)
    return {n: (bf16_to_f32(a) if d == "BF16" else a) for n, (a, d) in raw.items()}, metadata


def fixture(folder):
    """The checkpoint the C++ tests read (tests/formats/SafetensorsTest.cpp, PythonWriter): 3 shards of a
    4-layer toy model with f32, bf16, f16, i8 and u8 tensors whose values are their flat indices (f32: i / 8)."""
    tensors = {}
    for layer in range(4):
        p = f"model.layers.{layer}."
        tensors[p + "self_attn.q_proj.weight"] = (bf16_bits(np.arange(64, dtype=np.float32).reshape(8, 8) - layer),
                                                  "BF16")
        tensors[p + "input_layernorm.weight"] = np.arange(8, dtype=np.float32) / 8 + layer
        tensors[p + "mlp.up_proj.weight"] = (np.arange(32, dtype=np.float16) + layer).reshape(4, 8)
        tensors[p + "mlp.down_proj.weight"] = (np.arange(32) % 3 - 1).astype(np.int8).reshape(8, 4)
    tensors["model.embed_tokens.weight"] = np.arange(48, dtype=np.uint8).reshape(6, 8)
    return write_sharded(folder, tensors, max_shard_bytes=400)


def _self_test():
    import tempfile
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        x = rng.standard_normal((3, 5)).astype(np.float32)
        b = bf16_bits(x)
        tensors = {"b.w": x, "a.bf": (b, "BF16"), "c.i64": np.arange(4, dtype=np.int64), "d.bool": np.array([True]),
                   "e.scalar": np.float64(2.5), "f.empty": np.zeros((0, 3), np.int8)}
        path = os.path.join(tmp, "t.safetensors")
        write(path, tensors, {"format": "pt"})
        data = open(path, "rb").read()
        (n,) = struct.unpack("<Q", data[:8])
        assert (8 + n) % 8 == 0, "header not padded to 8"
        header_text = data[8:8 + n].decode()
        assert header_text.startswith('{"__metadata__":{"format":"pt"},"c.i64"'), header_text
        got, meta = read(path)
        assert meta == {"format": "pt"}
        assert np.array_equal(got["b.w"], x) and np.array_equal(got["c.i64"], np.arange(4))
        assert np.array_equal(got["a.bf"], bf16_to_f32(b))
        assert np.all(np.abs(got["a.bf"] - x) <= np.abs(x) * 2.0**-8), "bf16 rounding"
        assert got["e.scalar"].shape == () and got["e.scalar"] == 2.5 and got["f.empty"].shape == (0, 3)
        # bf16 round to nearest even on ties: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7.
        assert bf16_bits(np.array([1 + 2.0**-8, 1 + 3 * 2.0**-8], np.float32)).tolist() == [0x3F80, 0x3F82]
        try:
            import torch
            t = torch.tensor([1.5, -2.25, 3e-3], dtype=torch.bfloat16)
            write(path, {"t": t})
            got, _ = read(path)
            assert np.array_equal(got["t"], t.float().numpy())
            assert bf16_bits(np.array([3e-3], np.float32))[0] == t[2:].view(torch.int16).numpy().view(np.uint16)[0]
        except ImportError:
            pass
        names = fixture(os.path.join(tmp, "ckpt"))
        assert names[-1] == "model.safetensors.index.json" and names[0] == f"model-00001-of-{len(names) - 1:05d}.safetensors"
        index = json.load(open(os.path.join(tmp, "ckpt", names[-1])))
        total = 0
        for shard in names[:-1]:
            raw, meta = read_raw(os.path.join(tmp, "ckpt", shard))
            assert meta == {"format": "pt"}
            shard_bytes = sum(a.nbytes for a, _ in raw.values())
            assert shard_bytes <= 400 or len(raw) == 1
            total += shard_bytes
            for name in raw:
                assert index["weight_map"][name] == shard
        assert index["metadata"]["total_size"] == total and len(index["weight_map"]) == 17
        assert write_sharded(os.path.join(tmp, "one"), {"x": x}, 1 << 20) == ["model.safetensors"]
        big = {"a": np.zeros(4, np.uint8), "big": np.zeros(100, np.uint8), "b": np.zeros(4, np.uint8)}
        names = write_sharded(os.path.join(tmp, "big"), big, 16)
        index = json.load(open(os.path.join(tmp, "big", names[-1])))
        assert index["weight_map"] == {"big": "model-00001-of-00002.safetensors",
                                       "a": "model-00002-of-00002.safetensors",
                                       "b": "model-00002-of-00002.safetensors"}, index
    print("safetensors_io self-test passed")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        _self_test()
    elif len(sys.argv) == 3 and sys.argv[1] == "--fixture":
        print("\n".join(fixture(sys.argv[2])))
    else:
        sys.exit(f"usage: {sys.argv[0]} --self-test | --fixture DIR")
