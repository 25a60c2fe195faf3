#!/usr/bin/python3
"""head_bench_model.py: a random BitNet b1.58 checkpoint with 2B4T's head (hidden 2560, vocab 128256, tied
embeddings) and few layers, as a Hugging Face folder (config.json + model.safetensors: packed uint8 ternary
weights with a bf16 weight_scale, bf16 norms and embeddings), for measuring the LM head's share of decode time:

    /usr/bin/python3 tests/llm/head_bench_model.py OUT_DIR [--layers 1] [--vocab 128256] [--hidden 2560]
    build/ternc compile OUT_DIR -o head-f32 --no-tokenizer
    build/ternc compile OUT_DIR -o head-int8 --no-tokenizer --head=int8
    ./head-f32 --bench --threads 1; ./head-int8 --bench --threads 1

The other sizes are 2B4T's (20 / 5 heads of 128, FFN 6912). The weights are random: the model says nothing, it
only has the shapes. Numpy only; the folder takes ~0.7 GB at the default sizes.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
import safetensors_io as st  # noqa: E402


def bf16(rng, shape, std, mean=0.0):
    """Random normal values as bf16 bits (truncated f32)."""
    x = (rng.standard_normal(shape, dtype=np.float32) * np.float32(std) + np.float32(mean)).astype(np.float32)
    return ((x.view(np.uint32) >> 16).astype(np.uint16), "BF16")


def packed(rng, out, inp):
    """A uint8 [out / 4, in] packed ternary weight: row chunk i holds code ((p >> 2i) & 3) - 1."""
    codes = rng.integers(0, 3, size=(4, out // 4, inp), dtype=np.uint8)
    return codes[0] | (codes[1] << 2) | (codes[2] << 4) | (codes[3] << 6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=2560)
    ap.add_argument("--vocab", type=int, default=128256)
    a = ap.parse_args()
    h, ffn, heads, kv, hd = a.hidden, 6912, 20, 5, 128
    cfg = {"architectures": ["BitNetForCausalLM"], "model_type": "bitnet", "vocab_size": a.vocab, "hidden_size": h,
           "intermediate_size": ffn, "num_hidden_layers": a.layers, "num_attention_heads": heads,
           "num_key_value_heads": kv, "head_dim": hd, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
           "max_position_embeddings": 4096, "tie_word_embeddings": True, "hidden_act": "relu2",
           "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16",
           "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear",
                                   "quantization_mode": "offline"}}
    rng = np.random.default_rng(1)
    t = {"model.embed_tokens.weight": bf16(rng, (a.vocab, h), 1.0),
         "model.norm.weight": bf16(rng, (h,), 0.1, 1.0)}
    shapes = {"self_attn.q_proj": (heads * hd, h), "self_attn.k_proj": (kv * hd, h), "self_attn.v_proj": (kv * hd, h),
              "self_attn.o_proj": (h, heads * hd), "mlp.gate_proj": (ffn, h), "mlp.up_proj": (ffn, h),
              "mlp.down_proj": (h, ffn)}
    for i in range(a.layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = bf16(rng, (h,), 0.1, 1.0)
        t[p + "post_attention_layernorm.weight"] = bf16(rng, (h,), 0.1, 1.0)
        t[p + "self_attn.attn_sub_norm.weight"] = bf16(rng, (heads * hd,), 0.1, 1.0)
        t[p + "mlp.ffn_sub_norm.weight"] = bf16(rng, (ffn,), 0.1, 1.0)
        for name, (o, i_) in shapes.items():
            t[p + name + ".weight"] = packed(rng, o, i_)
            t[p + name + ".weight_scale"] = (np.array([0x3c00], dtype=np.uint16), "BF16")  # 2^-7
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    st.write(os.path.join(a.out, "model.safetensors"), t)
    print(f"{a.out}: BitNet, {a.layers} layer(s), hidden {h}, vocab {a.vocab}")


if __name__ == "__main__":
    main()
