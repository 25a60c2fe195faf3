#!/usr/bin/python3
"""test_import_errors.py: bad Hugging Face folders and GGUF models (well-formed files, wrong models) must give
`ternc: error:` naming the file and the problem, exit 1, and leave no output file.

Usage: /usr/bin/python3 test_import_errors.py --ternc BUILD/ternc --workdir DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gguf_writer as gw  # noqa: E402
import safetensors_io as st  # noqa: E402

CONFIG = {"architectures": ["LlamaForCausalLM"], "vocab_size": 16, "hidden_size": 8, "intermediate_size": 16,
          "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 4,
          "rms_norm_eps": 1e-5, "max_position_embeddings": 32, "tie_word_embeddings": False}
SHAPES = {"self_attn.q_proj": (8, 8), "self_attn.k_proj": (4, 8), "self_attn.v_proj": (4, 8),
          "self_attn.o_proj": (8, 8), "mlp.gate_proj": (16, 8), "mlp.up_proj": (16, 8), "mlp.down_proj": (8, 16)}


def tensors(rng):
    t = {"model.embed_tokens.weight": rng.standard_normal((16, 8)).astype(np.float32),
         "model.norm.weight": np.ones(8, np.float32), "lm_head.weight": rng.standard_normal((16, 8)).astype(np.float32),
         "model.layers.0.input_layernorm.weight": np.ones(8, np.float32),
         "model.layers.0.post_attention_layernorm.weight": np.ones(8, np.float32)}
    for name, shape in SHAPES.items():
        t[f"model.layers.0.{name}.weight"] = (rng.integers(-1, 2, shape) * 0.25).astype(np.float32)
    return t


def folder(path, config, ts):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    with open(os.path.join(path, "config.json"), "w") as f:
        f.write(config if isinstance(config, str) else json.dumps(config))
    st.write(os.path.join(path, "model.safetensors"), ts)
    return path


def gguf(path, arch="llama", drop=None):
    w = gw.GgufWriter()
    w.add("general.architecture", arch)
    for k, v in [("block_count", 1), ("embedding_length", 8), ("feed_forward_length", 16),
                 ("attention.head_count", 2), ("attention.head_count_kv", 1), ("context_length", 32)]:
        w.add(f"{arch}.{k}", v, gw.U32)
    rng = np.random.default_rng(1)
    for name, a in tensors(rng).items():
        g = (name.replace("model.embed_tokens", "token_embd").replace("model.norm", "output_norm")
             .replace("lm_head", "output").replace("model.layers.0.", "blk.0.")
             .replace("input_layernorm", "attn_norm").replace("post_attention_layernorm", "ffn_norm")
             .replace("self_attn.q_proj", "attn_q").replace("self_attn.k_proj", "attn_k")
             .replace("self_attn.v_proj", "attn_v").replace("self_attn.o_proj", "attn_output")
             .replace("mlp.gate_proj", "ffn_gate").replace("mlp.up_proj", "ffn_up").replace("mlp.down_proj", "ffn_down"))
        if g != drop:
            w.add_tensor(g, a, gw.GGML_F32)
    w.write(path)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternc", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    rng = np.random.default_rng(0)
    base = tensors(rng)
    cases = []  # (name, model path, expected substrings)

    good = folder(os.path.join(a.workdir, "good"), CONFIG, base)
    p = subprocess.run([a.ternc, "import", good], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"FAILED: the valid folder does not import: {p.stderr}")

    cases.append(("unsupported architecture", folder(os.path.join(a.workdir, "arch"),
                  {**CONFIG, "architectures": ["GPT2LMHeadModel"]}, base), ["config.json", "GPT2LMHeadModel"]))
    cases.append(("invalid JSON", folder(os.path.join(a.workdir, "json"), "{\"vocab_size\": 16,", base),
                  ["config.json", "invalid JSON"]))
    cases.append(("wrong JSON type", folder(os.path.join(a.workdir, "type"), {**CONFIG, "hidden_size": "8"}, base),
                  ["config.json", "hidden_size", "integer"]))
    missing = dict(base)
    del missing["model.layers.0.self_attn.q_proj.weight"]
    cases.append(("missing tensor", folder(os.path.join(a.workdir, "missing"), CONFIG, missing),
                  ["model.layers.0.self_attn.q_proj.weight"]))
    shape = dict(base, **{"model.layers.0.mlp.up_proj.weight": np.zeros((16, 4), np.float32)})
    cases.append(("wrong shape", folder(os.path.join(a.workdir, "shape"), CONFIG, shape),
                  ["model.safetensors", "up_proj", "shape"]))
    dense = dict(base, **{"model.layers.0.self_attn.k_proj.weight": rng.standard_normal((4, 8)).astype(np.float32)})
    cases.append(("not ternary", folder(os.path.join(a.workdir, "dense"), CONFIG, dense),
                  ["k_proj", "not ternary"]))
    packed = {k: v for k, v in base.items()}
    bitnet = {**CONFIG, "architectures": ["BitNetForCausalLM"], "hidden_act": "relu2",
              "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear"}}
    for name, (n, k) in SHAPES.items():
        packed[f"model.layers.0.{name}.weight"] = np.full((n // 4, k), 0b01010101, np.uint8)
        packed[f"model.layers.0.{name}.weight_scale"] = np.ones(1, np.float32)
    packed["model.layers.0.self_attn.attn_sub_norm.weight"] = np.ones(8, np.float32)
    packed["model.layers.0.mlp.ffn_sub_norm.weight"] = np.ones(16, np.float32)
    ok_packed = folder(os.path.join(a.workdir, "packed-ok"), bitnet, packed)
    p = subprocess.run([a.ternc, "import", ok_packed], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"FAILED: the valid packed folder does not import: {p.stderr}")
    bad = dict(packed, **{"model.layers.0.mlp.up_proj.weight": np.full((4, 8), 0b11, np.uint8)})
    cases.append(("packed code 3", folder(os.path.join(a.workdir, "packed"), bitnet, bad),
                  ["up_proj", "invalid 2-bit code 3"]))
    cases.append(("GGUF architecture", gguf(os.path.join(a.workdir, "arch.gguf"), arch="gpt2"),
                  ["arch.gguf", "gpt2"]))
    cases.append(("GGUF missing tensor", gguf(os.path.join(a.workdir, "missing.gguf"), drop="blk.0.ffn_down.weight"),
                  ["missing.gguf", "blk.0.ffn_down.weight"]))

    failures = []
    for name, model, want in cases:
        out = os.path.join(a.workdir, "out-" + name.replace(" ", "-"))
        p = subprocess.run([a.ternc, "compile", model, "-o", out], capture_output=True, text=True)
        msg = p.stderr.strip()
        if p.returncode != 1 or not msg.startswith("ternc: error:") or not all(w in msg for w in want):
            failures.append(f"{name}: rc {p.returncode}, stderr {msg!r} (want {want})")
        elif os.path.exists(out):
            failures.append(f"{name}: left an output file")
        else:
            print(f"{name}: {msg}")
    if failures:
        print("FAILED:\n" + "\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
