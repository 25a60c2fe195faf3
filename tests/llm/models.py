#!/usr/bin/python3
"""models.py: tiny ternary decoder-only language models in plain PyTorch, the
oracle of ternc's LLM tests (issue 5).

One `Config` and one `DecoderLM` cover three architectures, each written to
follow the Hugging Face modeling code's structure and op order so that the
ONNX export looks like an Optimum export of the real model:

  llama    LlamaForCausalLM (transformers 4.36-4.40): RMSNorm, RoPE in the
           rotate_half form with cos/sin computed from position_ids through
           inv_freq (LlamaRotaryEmbedding of 4.38+), GQA through repeat_kv,
           SwiGLU FFN down(silu(gate) * up), no biases.
  bitnet   BitNetForCausalLM (BitNet b1.58 2B4T): as llama, but the attention
           output passes attn_sub_norm before o_proj and the FFN is
           down(ffn_sub_norm(relu(gate)^2 * up)); tied embeddings.
  minicpm  MiniCPMForCausalLM (MiniCPM4 / BitCPM): SwiGLU, muP scaling
           (embeddings * scale_emb, residual branches * scale_depth /
           sqrt(layers), logits of h / (hidden / dim_model_base)), untied
           head, and MiniCPM's own RoPE: cos/sin tables precomputed at init
           (LongRoPE: frequencies divided by per-dimension factors, scaled by
           a constant) and gathered by position_ids.

Every linear layer of the decoder blocks is a BitLinear as in BitNet b1.58:
the per-token absmax int8 activation fake-quantizer stays in the graph; the
weight is a constant stored already ternarized and multiplied by its scale
(per tensor, or per group of g along K), so no weight quantizer is exported.
Embeddings and the LM head stay float.

The forward follows Optimum's decoder-with-past convention:
  forward(input_ids [b,s] i64, attention_mask [b,past+s] i64,
          position_ids [b,s] i64, past_key_values: flat [k0, v0, k1, v1, ...]
          each [b, kv_heads, past, head_dim])
  -> (logits [b,s,vocab], present: flat [k0, v0, ...] each
      [b, kv_heads, past+s, head_dim])
The additive causal mask is built in the graph from attention_mask as
transformers 4.36's _prepare_4d_causal_attention_mask does.
"""
import dataclasses
import math
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCHS = ("llama", "bitnet", "minicpm")


@dataclasses.dataclass
class Config:
    """The hyperparameters of one tiny model; field names follow the Hugging
    Face configs (LlamaConfig, BitNetConfig, MiniCPMConfig)."""
    name: str
    arch: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int  # decoupled from hidden / heads, as 2B4T's and MiniCPM's configs allow
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = False
    # Weight scale granularity of the ternary weights: 0 = one scale per
    # tensor, g > 0 = one scale per group of g consecutive weights along K.
    weight_group: int = 0
    # minicpm only (muP and LongRoPE).
    scale_emb: float = 1.0
    scale_depth: float = 1.0
    dim_model_base: int = 0
    max_position_embeddings: int = 2048
    original_max_position_embeddings: int = 0
    rope_short_factor: Optional[List[float]] = None
    # Initialization (the models are random: these only shape the logits).
    seed: int = 0
    embed_std: float = 1.0
    # Norm weights are 1 + 0.1 randn; the final norm's are plain randn when
    # this is set: with a tied head the logit of the current token is then no
    # longer |e|^2-dominated, so greedy decoding does not just repeat it.
    final_norm_signed: bool = False
    # Every parameter exactly representable in bf16 and f16 and every ternary
    # scale a power of two, so that one model is written without rounding in
    # every checkpoint layout (tests/formats/write_layouts.py): the ternary
    # values stay, each scale becomes 2^floor(log2(a)).
    exact_params: bool = False
    bos_token_id: int = 1
    eos_token_id: int = 2

    def __post_init__(self):
        assert self.arch in ARCHS, self.arch
        assert self.num_attention_heads % self.num_key_value_heads == 0
        assert self.head_dim % 2 == 0
        if self.weight_group:
            for k in (self.hidden_size, self.intermediate_size, self.num_attention_heads * self.head_dim):
                assert k % self.weight_group == 0, f"K = {k} is not a multiple of the group {self.weight_group}"
        if self.rope_short_factor is not None:
            assert len(self.rope_short_factor) == self.head_dim // 2


# --- BitLinear ----------------------------------------------------------------

def activation_quant(x):
    """Per-token absmax int8 fake quantization (BitNet b1.58)."""
    scale = 127.0 / x.abs().max(dim=-1, keepdim=True).values.clamp_(min=1e-5)
    return (x * scale).round().clamp_(-128, 127) / scale


def ternarize(w, group):
    """Absmean ternarization, multiplied out ("pseudo-quantized"): every
    value of a tensor (group 0) or of a group of `group` weights along K
    becomes -a, 0 or +a with a = mean|W| of that tensor or group."""
    n, k = w.shape
    wg = w.reshape(n, k // group, group) if group else w.reshape(1, 1, n * k)
    a = wg.abs().mean(-1, keepdim=True).clamp(min=1e-5)
    return ((wg / a).round().clamp(-1, 1) * a).reshape(n, k)


class BitLinear(nn.Linear):
    """nn.Linear whose input is fake-quantized per token and whose weight is
    a constant pseudo-quantized ternary matrix (set at init)."""

    def __init__(self, in_features, out_features, group):
        super().__init__(in_features, out_features, bias=False)
        with torch.no_grad():
            self.weight.copy_(ternarize(torch.randn(out_features, in_features) / math.sqrt(in_features), group))

    def forward(self, x):
        return F.linear(activation_quant(x), self.weight)


def exactify(model, cfg):
    """Config.exact_params: bf16-representable float parameters (also exact
    in f16 at these magnitudes) and power-of-two ternary scales."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, BitLinear):
                w = m.weight
                n, k = w.shape
                g = cfg.weight_group or n * k
                wg = w.reshape(-1, g)
                a = wg.abs().amax(-1, keepdim=True)  # the group's magnitude (all nonzeros share it)
                pow2 = torch.where(a > 0, torch.exp2(torch.floor(torch.log2(a.clamp(min=1e-30)))), a)
                m.weight.copy_((torch.sign(wg) * pow2).reshape(n, k))
            elif isinstance(m, (nn.Embedding, nn.Linear, LlamaRMSNorm)):
                m.weight.copy_(m.weight.to(torch.bfloat16).to(torch.float32))


# --- norms, RoPE, mask (the transformers code, reduced to what runs here) ------

class LlamaRMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim) + 0.1 * torch.randn(dim))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class MiniCPMRMSNorm(LlamaRMSNorm):
    """MiniCPM's rms_layernorm: the same math, the weight multiplied last."""

    def forward(self, hidden_states):
        old_dtype = hidden_states.dtype
        variance = hidden_states.to(torch.float32).pow(2).mean(dim=-1, keepdim=True)
        hidden_states = (hidden_states * torch.rsqrt(variance + self.variance_epsilon)).to(old_dtype)
        return hidden_states * self.weight


class LlamaRotaryEmbedding(nn.Module):
    """cos/sin from position_ids: freqs = inv_freq (x) position_ids."""

    def __init__(self, dim, base):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x, position_ids):
        inv_freq_expanded = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype=x.dtype), emb.sin().to(dtype=x.dtype)


class MiniCPMLongRoPE(nn.Module):
    """MiniCPM4's RoPE: tables of max_position_embeddings rows computed at
    init, frequencies divided by per-dimension factors (LongRoPE's short
    factors) and cos/sin scaled by sqrt(1 + log(max / original) /
    log(original)); forward returns the first seq_len rows."""

    def __init__(self, cfg):
        super().__init__()
        dim, base = cfg.head_dim, cfg.rope_theta
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        factors = torch.tensor(cfg.rope_short_factor or [1.0] * (dim // 2), dtype=torch.float32)
        original = cfg.original_max_position_embeddings or cfg.max_position_embeddings
        scale = cfg.max_position_embeddings / original
        self.scaling_factor = math.sqrt(1 + math.log(scale) / math.log(original)) if scale > 1 else 1.0
        t = torch.arange(cfg.max_position_embeddings, dtype=torch.float32)
        freqs = torch.mul(torch.outer(t, 1.0 / factors), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos_cached", emb.cos() * self.scaling_factor, persistent=False)
        self.register_buffer("sin_cached", emb.sin() * self.scaling_factor, persistent=False)

    def forward(self, x, seq_len):
        return self.cos_cached[:seq_len].to(dtype=x.dtype), self.sin_cached[:seq_len].to(dtype=x.dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=1):
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    q_embed = (q * cos) + (rotate_half(q) * sin)
    k_embed = (k * cos) + (rotate_half(k) * sin)
    return q_embed, k_embed


def repeat_kv(hidden_states, n_rep):
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def _make_causal_mask(input_ids_shape, dtype, past_key_values_length):
    """[b, 1, s, past + s]: 0 where key j <= past + query i, min-float above."""
    bsz, tgt_len = input_ids_shape
    mask = torch.full((tgt_len, tgt_len), torch.finfo(dtype).min, dtype=dtype)
    mask_cond = torch.arange(mask.size(-1))
    mask.masked_fill_(mask_cond < (mask_cond + 1).view(mask.size(-1), 1), 0)
    mask = mask.to(dtype)
    if past_key_values_length > 0:
        mask = torch.cat([torch.zeros(tgt_len, past_key_values_length, dtype=dtype), mask], dim=-1)
    return mask[None, None, :, :].expand(bsz, 1, tgt_len, tgt_len + past_key_values_length)


def _expand_mask(mask, dtype, tgt_len):
    """attention_mask [b, src] -> [b, 1, tgt, src]: min-float where it is 0."""
    bsz, src_len = mask.size()
    expanded_mask = mask[:, None, None, :].expand(bsz, 1, tgt_len, src_len).to(dtype)
    inverted_mask = 1.0 - expanded_mask
    return inverted_mask.masked_fill(inverted_mask.to(torch.bool), torch.finfo(dtype).min)


def prepare_4d_causal_attention_mask(attention_mask, input_shape, dtype, past_key_values_length):
    """transformers 4.36 AttentionMaskConverter(is_causal=True).to_4d. The
    `> 1` and `> 0` tests are Python conditions: traced with seq > 1 and
    past > 0 the graph holds both branches, which is also right for seq = 1
    (the causal part is then all zero) and past = 0 (an empty Concat)."""
    causal_4d_mask = None
    if input_shape[-1] > 1:
        causal_4d_mask = _make_causal_mask(input_shape, dtype, past_key_values_length)
    expanded_attn_mask = _expand_mask(attention_mask, dtype, tgt_len=input_shape[-1])
    if causal_4d_mask is not None:
        expanded_attn_mask = causal_4d_mask.masked_fill(expanded_attn_mask.bool(), torch.finfo(dtype).min)
    return expanded_attn_mask


# --- the decoder ---------------------------------------------------------------

class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.num_heads = cfg.num_attention_heads
        self.num_key_value_heads = cfg.num_key_value_heads
        self.num_key_value_groups = cfg.num_attention_heads // cfg.num_key_value_heads
        self.head_dim = cfg.head_dim
        g, h = cfg.weight_group, cfg.hidden_size
        self.q_proj = BitLinear(h, self.num_heads * self.head_dim, g)
        self.k_proj = BitLinear(h, self.num_key_value_heads * self.head_dim, g)
        self.v_proj = BitLinear(h, self.num_key_value_heads * self.head_dim, g)
        self.o_proj = BitLinear(self.num_heads * self.head_dim, h, g)
        if cfg.arch == "bitnet":
            self.attn_sub_norm = LlamaRMSNorm(self.num_heads * self.head_dim, cfg.rms_norm_eps)
        if cfg.arch == "minicpm":
            self.rotary_emb = MiniCPMLongRoPE(cfg)
        else:
            self.rotary_emb = LlamaRotaryEmbedding(self.head_dim, cfg.rope_theta)

    def forward(self, hidden_states, attention_mask, position_ids, past_key_value):
        bsz, q_len, _ = hidden_states.size()
        query_states = self.q_proj(hidden_states)
        key_states = self.k_proj(hidden_states)
        value_states = self.v_proj(hidden_states)
        query_states = query_states.view(bsz, q_len, self.num_heads, self.head_dim).transpose(1, 2)
        key_states = key_states.view(bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        value_states = value_states.view(bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)

        if self.cfg.arch == "minicpm":
            kv_seq_len = key_states.shape[-2] + past_key_value[0].shape[-2]
            cos, sin = self.rotary_emb(value_states, seq_len=kv_seq_len)
            cos, sin = cos[position_ids], sin[position_ids]
        else:
            cos, sin = self.rotary_emb(value_states, position_ids)
        query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)

        key_states = torch.cat([past_key_value[0], key_states], dim=2)
        value_states = torch.cat([past_key_value[1], value_states], dim=2)
        present = (key_states, value_states)

        key_states = repeat_kv(key_states, self.num_key_value_groups)
        value_states = repeat_kv(value_states, self.num_key_value_groups)
        attn_weights = torch.matmul(query_states, key_states.transpose(2, 3)) / math.sqrt(self.head_dim)
        attn_weights = attn_weights + attention_mask
        attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query_states.dtype)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous()
        attn_output = attn_output.reshape(bsz, q_len, self.num_heads * self.head_dim)
        if self.cfg.arch == "bitnet":
            attn_output = self.attn_sub_norm(attn_output)
        return self.o_proj(attn_output), present


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.arch = cfg.arch
        g, h, f = cfg.weight_group, cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = BitLinear(h, f, g)
        self.up_proj = BitLinear(h, f, g)
        self.down_proj = BitLinear(f, h, g)
        if cfg.arch == "bitnet":
            self.ffn_sub_norm = LlamaRMSNorm(f, cfg.rms_norm_eps)

    def forward(self, x):
        if self.arch == "bitnet":  # ReLUSquaredActivation: square(relu(x))
            return self.down_proj(self.ffn_sub_norm(torch.square(F.relu(self.gate_proj(x))) * self.up_proj(x)))
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        norm = MiniCPMRMSNorm if cfg.arch == "minicpm" else LlamaRMSNorm
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = norm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = norm(cfg.hidden_size, cfg.rms_norm_eps)
        self.scale_depth = cfg.scale_depth
        self.num_hidden_layers = cfg.num_hidden_layers

    def forward(self, hidden_states, attention_mask, position_ids, past_key_value):
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        hidden_states, present = self.self_attn(hidden_states, attention_mask, position_ids, past_key_value)
        if self.cfg.arch == "minicpm":
            hidden_states = residual + hidden_states * (self.scale_depth / math.sqrt(self.num_hidden_layers))
        else:
            hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        hidden_states = self.mlp(hidden_states)
        if self.cfg.arch == "minicpm":
            hidden_states = residual + hidden_states * (self.scale_depth / math.sqrt(self.num_hidden_layers))
        else:
            hidden_states = residual + hidden_states
        return hidden_states, present


class DecoderLM(nn.Module):
    """The causal LM: embed_tokens, layers, norm, lm_head (HF's Model +
    ForCausalLM in one module). Built seeded from cfg.seed."""

    def __init__(self, cfg):
        super().__init__()
        torch.manual_seed(cfg.seed)
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        with torch.no_grad():
            self.embed_tokens.weight.normal_(0.0, cfg.embed_std)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        norm = MiniCPMRMSNorm if cfg.arch == "minicpm" else LlamaRMSNorm
        self.norm = norm(cfg.hidden_size, cfg.rms_norm_eps)
        if cfg.final_norm_signed:
            with torch.no_grad():
                self.norm.weight.normal_()
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        if cfg.exact_params:
            exactify(self, cfg)
        self.eval()

    def empty_cache(self, batch=1, dtype=torch.float32):
        """past_key_values for a first call: per layer key, value [b, kv, 0, hd]."""
        c = self.cfg
        return [torch.zeros(batch, c.num_key_value_heads, 0, c.head_dim, dtype=dtype)
                for _ in range(2 * c.num_hidden_layers)]

    def forward(self, input_ids, attention_mask, position_ids, past_key_values):
        cfg = self.cfg
        inputs_embeds = self.embed_tokens(input_ids)
        if cfg.arch == "minicpm":
            inputs_embeds = inputs_embeds * cfg.scale_emb
        batch_size, seq_length = input_ids.shape
        past_key_values_length = past_key_values[0].shape[2]
        attention_mask = prepare_4d_causal_attention_mask(attention_mask, (batch_size, seq_length),
                                                          inputs_embeds.dtype, past_key_values_length)
        hidden_states = inputs_embeds
        presents = []
        for i, layer in enumerate(self.layers):
            past = (past_key_values[2 * i], past_key_values[2 * i + 1])
            hidden_states, present = layer(hidden_states, attention_mask, position_ids, past)
            presents.extend(present)
        hidden_states = self.norm(hidden_states)
        if cfg.arch == "minicpm":
            logits = self.lm_head(hidden_states / (cfg.hidden_size / cfg.dim_model_base))
        else:
            logits = self.lm_head(hidden_states)
        return logits.float(), presents


class FlatDecoderLM(nn.Module):
    """The export wrapper: past_key_values as separate positional tensors
    (so each becomes one named graph input) and a flat output tuple."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *past_key_values):
        logits, presents = self.model(input_ids, attention_mask, position_ids, list(past_key_values))
        return (logits, *presents)
