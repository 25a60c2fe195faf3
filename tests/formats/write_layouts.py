#!/usr/bin/python3
"""write_layouts.py: one tiny ternary LM (a tests/llm/export.py config with exact_params) written in every
checkpoint layout users hold, from the same weights (issue 6):

  onnx/model.onnx          export.py's Optimum-style export (and PyTorch's reference data beside it)
  hf/                      Hugging Face folder, bf16 pseudo-quantized weights, sharded in two
                           (LlamaForCausalLM / MiniCPMForCausalLM)
  hf-packed/               BitNetForCausalLM as microsoft/bitnet-b1.58-2B-4T ships it: uint8 [out/4, in] packed
                           weights, a bf16 weight_scale, quantization_config linear_class "autobitlinear"
                           (transformers multiplies the output by weight_scale)
  hf-packed-div/           the same codes under linear_class "bitlinear" (transformers divides the output by
                           weight_scale, so it holds 1 / scale)
  hf-latent/               the -bf16 variant: latent weights that BitNet's absmean quantizer (run at compile time)
                           maps to the same ternary weights and scales
  tq2_0.gguf, tq1_0.gguf   GGUF v3 quantized with llama.cpp's own quantize_row_tq{2,1}_0_ref, in llama.cpp's
                           conventions (tensor names, metadata keys, Q/K rows permuted for llama and minicpm)
  i2_s.gguf                bitnet.cpp's I2_S (per-tensor scales only)

Every float parameter is exact in bf16 and f16 and every scale is a power of two (Config.exact_params), so all
layouts hold the same numbers; the latent weights are built so that mean|W| is exactly the scale.

Usage: /usr/bin/python3 write_layouts.py CONFIG OUT_DIR
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "llm"))
sys.path.insert(0, HERE)
from models import BitLinear, DecoderLM  # noqa: E402
import export  # noqa: E402
import gguf_writer as gw  # noqa: E402
import safetensors_io as st  # noqa: E402

LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
GGUF_LINEARS = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
                "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                "mlp.down_proj": "ffn_down"}
HF_ARCH = {"llama": "LlamaForCausalLM", "bitnet": "BitNetForCausalLM", "minicpm": "MiniCPMForCausalLM"}


def hf_config(cfg, **extra):
    c = {"architectures": [HF_ARCH[cfg.arch]], "model_type": cfg.arch, "vocab_size": cfg.vocab_size,
         "hidden_size": cfg.hidden_size, "intermediate_size": cfg.intermediate_size,
         "num_hidden_layers": cfg.num_hidden_layers, "num_attention_heads": cfg.num_attention_heads,
         "num_key_value_heads": cfg.num_key_value_heads, "head_dim": cfg.head_dim, "rms_norm_eps": cfg.rms_norm_eps,
         "rope_theta": cfg.rope_theta, "max_position_embeddings": cfg.max_position_embeddings,
         "tie_word_embeddings": cfg.tie_word_embeddings, "hidden_act": "relu2" if cfg.arch == "bitnet" else "silu",
         "bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id, "torch_dtype": "bfloat16"}
    if cfg.arch == "minicpm":
        c.update({"scale_emb": cfg.scale_emb, "scale_depth": cfg.scale_depth, "dim_model_base": cfg.dim_model_base})
        if cfg.rope_short_factor:
            c["rope_scaling"] = {"rope_type": "longrope", "short_factor": cfg.rope_short_factor,
                                 "long_factor": cfg.rope_short_factor,
                                 "original_max_position_embeddings": cfg.original_max_position_embeddings}
    c.update(extra)
    return c


def bf16(t):
    return t.detach().to(torch.bfloat16)


def float_params(model):
    """The non-linear parameters under their Hugging Face names."""
    sd = {("model." + k if not k.startswith("lm_head") else k): v for k, v in model.state_dict().items()}
    return {k: v for k, v in sd.items() if not any(k.endswith(l + ".weight") for l in LINEARS)}


def linears(model, cfg):
    """(hf name without .weight, the pseudo-quantized f32 weight) of every linear layer."""
    for i, layer in enumerate(model.layers):
        for l in LINEARS:
            yield i, l, f"model.layers.{i}.{l}", dict(layer.named_modules())[l].weight.detach()


def write_hf(model, cfg, out, layout):
    os.makedirs(out, exist_ok=True)
    tensors = {k: bf16(v) for k, v in float_params(model).items()}
    if cfg.tie_word_embeddings:
        tensors.pop("lm_head.weight", None)
    extra = {}
    for _, _, name, w in linears(model, cfg):
        if layout == "hf":
            tensors[name + ".weight"] = bf16(w)
            continue
        scale = float(w.abs().max())  # per tensor (bitnet configs have weight_group 0)
        codes = torch.sign(w).to(torch.int64)
        if layout in ("hf-packed", "hf-packed-div"):
            n, k = codes.shape
            q = (codes + 1).reshape(4, n // 4, k)
            packed = q[0] | (q[1] << 2) | (q[2] << 4) | (q[3] << 6)
            tensors[name + ".weight"] = packed.to(torch.uint8)
            ws = scale if layout == "hf-packed" else 1.0 / scale
            tensors[name + ".weight_scale"] = torch.tensor([ws], dtype=torch.bfloat16)
        else:  # hf-latent
            tensors[name + ".weight"] = bf16(latent(codes, scale))
    if layout == "hf-packed":
        extra["quantization_config"] = {"quant_method": "bitnet", "linear_class": "autobitlinear",
                                        "quantization_mode": "offline"}
    elif layout == "hf-packed-div":
        extra["quantization_config"] = {"quant_method": "bitnet", "linear_class": "bitlinear"}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(hf_config(cfg, **extra), f, indent=1)
    if layout == "hf":
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        st.write_sharded(out, tensors, max_shard_bytes=total // 2 + 1)
    else:
        st.write(os.path.join(out, "model.safetensors"), tensors)


def latent(codes, scale):
    """Latent weights L with round(L / mean|L|) clamped to [-1, 1] equal to `codes` and mean|L| == scale exactly:
    |L| is a multiple of scale / 8, 8..11 of them where codes are nonzero (rounds to +-1), 0..3 where they are
    zero (rounds to 0), with the total chosen to be 8 * count."""
    flat = codes.reshape(-1)
    n = flat.numel()
    nz = int((flat != 0).sum())
    units = torch.where(flat != 0, torch.full_like(flat, 8), torch.zeros_like(flat))
    need = 8 * n - 8 * nz
    if need < 0 or need > 3 * nz + 3 * (n - nz):
        sys.exit(f"write_layouts.py: {nz}/{n} nonzero weights: no latent weights have mean|L| = scale")
    g = torch.Generator().manual_seed(n)
    order = torch.randperm(n, generator=g)
    for idx in order.tolist():
        if need == 0:
            break
        add = min(3, need)
        units[idx] += add
        need -= add
    sign = torch.where(flat != 0, flat, torch.where(torch.rand(n, generator=g) < 0.5, -1, 1))
    return (sign * units).to(torch.float32).reshape(codes.shape) * (scale / 8)


def write_gguf(model, cfg, path, qtype, ggml):
    arch = cfg.arch
    w = gw.GgufWriter()
    w.add("general.architecture", arch)
    w.add("general.name", cfg.name)
    w.add(f"{arch}.block_count", cfg.num_hidden_layers, gw.U32)
    w.add(f"{arch}.context_length", cfg.max_position_embeddings, gw.U32)
    w.add(f"{arch}.embedding_length", cfg.hidden_size, gw.U32)
    w.add(f"{arch}.feed_forward_length", cfg.intermediate_size, gw.U32)
    w.add(f"{arch}.attention.head_count", cfg.num_attention_heads, gw.U32)
    w.add(f"{arch}.attention.head_count_kv", cfg.num_key_value_heads, gw.U32)
    w.add(f"{arch}.attention.key_length", cfg.head_dim, gw.U32)
    w.add(f"{arch}.attention.value_length", cfg.head_dim, gw.U32)
    w.add(f"{arch}.rope.dimension_count", cfg.head_dim, gw.U32)
    w.add(f"{arch}.rope.freq_base", float(cfg.rope_theta), gw.F32)
    w.add(f"{arch}.attention.layer_norm_rms_epsilon", float(cfg.rms_norm_eps), gw.F32)
    w.add(f"{arch}.vocab_size", cfg.vocab_size, gw.U32)
    if arch == "minicpm":
        w.add(f"{arch}.embedding_scale", float(cfg.scale_emb), gw.F32)
        w.add(f"{arch}.residual_scale", float(cfg.scale_depth / np.sqrt(cfg.num_hidden_layers)), gw.F32)
        w.add(f"{arch}.logit_scale", float(cfg.hidden_size / cfg.dim_model_base), gw.F32)
    w.add("general.file_type", {gw.GGML_TQ1_0: 36, gw.GGML_TQ2_0: 37, gw.GGML_I2_S: 40}.get(qtype, 1), gw.U32)
    # A minimal tokenizer (llama.cpp needs one to load the file): byte tokens after three specials.
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    tokens += [f"tok{i}" for i in range(cfg.vocab_size - len(tokens))]
    types = [gw.TOKEN_UNKNOWN, gw.TOKEN_CONTROL, gw.TOKEN_CONTROL] + [gw.TOKEN_BYTE] * 256
    types += [gw.TOKEN_NORMAL] * (cfg.vocab_size - len(types))
    w.add("tokenizer.ggml.model", "llama")
    w.add("tokenizer.ggml.tokens", tokens, gw.ARRAY, gw.STRING)
    w.add("tokenizer.ggml.scores", [float(-i) for i in range(cfg.vocab_size)], gw.ARRAY, gw.F32)
    w.add("tokenizer.ggml.token_type", types, gw.ARRAY, gw.I32)
    w.add("tokenizer.ggml.bos_token_id", cfg.bos_token_id, gw.U32)
    w.add("tokenizer.ggml.eos_token_id", cfg.eos_token_id, gw.U32)
    w.add("tokenizer.ggml.unknown_token_id", 0, gw.U32)

    params = float_params(model)
    w.add_tensor("token_embd.weight", params["model.embed_tokens.weight"].numpy(), gw.GGML_F16)
    w.add_tensor("output_norm.weight", params["model.norm.weight"].numpy(), gw.GGML_F32)
    if not cfg.tie_word_embeddings:
        w.add_tensor("output.weight", params["lm_head.weight"].numpy(), gw.GGML_F16)
    permute = arch in ("llama", "minicpm")
    for i, l, name, weight in linears(model, cfg):
        blk = f"blk.{i}."
        a = weight.numpy()
        if permute and l in ("self_attn.q_proj", "self_attn.k_proj"):
            heads = cfg.num_attention_heads if l.endswith("q_proj") else cfg.num_key_value_heads
            a = llama_permute(a, heads)
        if qtype == gw.GGML_I2_S:
            scale = float(np.abs(a).max())
            w.add_tensor_bytes(blk + GGUF_LINEARS[l] + ".weight", list(reversed(a.shape)), gw.GGML_I2_S,
                               gw.pack_i2s(np.sign(a).astype(np.int8).reshape(-1), scale))
        else:
            w.add_tensor(blk + GGUF_LINEARS[l] + ".weight", a, qtype, ggml)
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        w.add_tensor(f"blk.{i}.attn_norm.weight", params[p + "input_layernorm.weight"].numpy(), gw.GGML_F32)
        w.add_tensor(f"blk.{i}.ffn_norm.weight", params[p + "post_attention_layernorm.weight"].numpy(), gw.GGML_F32)
        if arch == "bitnet":
            w.add_tensor(f"blk.{i}.attn_sub_norm.weight", params[p + "self_attn.attn_sub_norm.weight"].numpy(),
                         gw.GGML_F32)
            w.add_tensor(f"blk.{i}.ffn_sub_norm.weight", params[p + "mlp.ffn_sub_norm.weight"].numpy(), gw.GGML_F32)
    w.write(path)


def llama_permute(a, heads):
    """convert_hf_to_gguf.py's LlamaModel.permute: each head's rotate-half rows to the interleaved order."""
    n, k = a.shape
    return a.reshape(heads, 2, n // heads // 2, k).swapaxes(1, 2).reshape(n, k)


def layouts(cfg):
    hf = ["hf-packed", "hf-packed-div", "hf-latent"] if cfg.arch == "bitnet" else ["hf"]
    gguf = ["tq2_0.gguf", "tq1_0.gguf"] + (["i2_s.gguf"] if cfg.weight_group == 0 else [])
    return ["onnx/model.onnx"] + hf + gguf


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    name, out = sys.argv[1], sys.argv[2]
    cfg = export.CONFIGS[name]
    if not cfg.exact_params:
        sys.exit(f"write_layouts.py: config {name} lacks exact_params")
    os.makedirs(out, exist_ok=True)
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "..", "llm", "export.py"), name, os.path.join(out, "onnx")],
                   check=True, stdout=subprocess.DEVNULL)
    model = DecoderLM(cfg)
    ggml = gw.Ggml()
    for layout in layouts(cfg):
        path = os.path.join(out, layout)
        if layout.startswith("hf"):
            write_hf(model, cfg, path, layout)
        elif layout.endswith(".gguf"):
            qtype = {"tq2_0": gw.GGML_TQ2_0, "tq1_0": gw.GGML_TQ1_0, "i2_s": gw.GGML_I2_S}[layout[:-5]]
            write_gguf(model, cfg, path, qtype, ggml)
    print("\n".join(layouts(cfg)))


if __name__ == "__main__":
    main()
