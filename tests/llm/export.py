#!/usr/bin/python3
"""export.py: exports one tiny ternary LM of models.py to ONNX in the
convention of Optimum's decoder-with-past exports, with PyTorch's own
KV-cache generation as reference data.

Usage: /usr/bin/python3 export.py CONFIG_NAME OUT_DIR
       /usr/bin/python3 export.py --list

Writes into OUT_DIR:
  model.onnx            opset 17; inputs input_ids, attention_mask, position_ids,
                        past_key_values.N.key/.value; outputs logits,
                        present.N.key/.value; dynamic axes batch_size,
                        sequence_length, past_sequence_length,
                        "past_sequence_length + sequence_length"
  config.json           the Config (plus bos/eos ids), and the reference summary
  prompt.npy            i64 [1, 7]: bos and 6 seeded random ids
  prefill_logits.npy    f32 [1, 7, vocab]: the prompt with an empty cache
  greedy.npy            i64 [64]: greedy tokens after the prompt (prefill, then
                        63 single-token decode steps with the cache)
  decode_logits.npy     f32 [4, vocab]: logits of the first 4 decode steps (fed
                        greedy[0..3]; their argmaxes are greedy[1..4])
  cache/present.N.{key,value}.npy
                        f32 [1, kv_heads, 11, head_dim]: the cache after the
                        prefill and those 4 decode steps
  run/inputs/*.npy, run/expected/*.npy
                        one general call of the graph: batch 2 (the second
                        row left-padded by 2), past 5, seq 2, and its outputs

Checks (fails loudly, naming the config to re-seed):
  - greedy robustness: at every one of the 64 steps the top-1 logit beats the
    runner-up by more than MARGIN * max|logit|; no eos among the tokens; the
    same 64 tokens from a float64 copy of the model and from NOISE_RUNS copies
    whose linear-layer inputs are perturbed by NOISE (relative): another
    float rounding of the same math, as ternc's will be;
  - tensor stability: the saved tensors move by at most STABILITY_TOLERANCE
    under STABILITY_NOISE perturbations, i.e. no int8 activation behind them
    sits on a rounding boundary (one that rounds the other way moves the
    logits by up to ~1e-2 of their max), so tests can compare them tightly;
  - the cached generation against one flat forward with an empty cache;
  - onnx.checker on the export.
"""
import contextlib
import copy
import dataclasses
import json
import os
import sys
import time
import warnings

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import Config, DecoderLM, FlatDecoderLM  # noqa: E402

PROMPT_LEN = 7
GREEDY_STEPS = 64
DECODE_LOGITS = 4
MARGIN = 2e-3  # (top1 - top2) / max|logit| at every greedy step
NOISE = 1e-6  # relative perturbation of the greedy robustness check
NOISE_RUNS = 3
STABILITY_NOISE = 1e-7  # relative perturbation of the tensor stability check
STABILITY_RUNS = 8
STABILITY_TOLERANCE = 1e-5


def _cfg(**kw):
    return Config(**kw)


# The named configs. Together: GQA ratios 1, 4 and 8; head_dim 64 and 128;
# tied and untied heads; per-tensor and per-group (32, 64) weight scales;
# both RoPE forms (cos/sin from inv_freq at run time, and gathered tables).
CONFIGS = {c.name: c for c in [
    _cfg(name="llama-mha", arch="llama", vocab_size=512, hidden_size=128, intermediate_size=384,
         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, head_dim=64,
         rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, seed=20),
    _cfg(name="llama-gqa4-tied", arch="llama", vocab_size=1000, hidden_size=192, intermediate_size=512,
         num_hidden_layers=3, num_attention_heads=8, num_key_value_heads=2, head_dim=64,
         rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True, embed_std=0.5,
         final_norm_signed=True, seed=5),
    _cfg(name="bitnet-gqa4-hd128", arch="bitnet", vocab_size=1024, hidden_size=256, intermediate_size=704,
         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=128,
         rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True, final_norm_signed=True, seed=10),
    _cfg(name="minicpm-gqa8-g32", arch="minicpm", vocab_size=2000, hidden_size=256, intermediate_size=640,
         num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=1, head_dim=64,
         rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False, weight_group=32,
         scale_emb=12.0, scale_depth=1.4, dim_model_base=32, max_position_embeddings=256,
         original_max_position_embeddings=64,
         rope_short_factor=[round(1.0 + 0.05 * i, 2) for i in range(32)], embed_std=0.1, seed=12),
    _cfg(name="minicpm-gqa4-g64-hd128", arch="minicpm", vocab_size=300, hidden_size=128, intermediate_size=384,
         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=128,
         rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False, weight_group=64,
         scale_emb=12.0, scale_depth=1.4, dim_model_base=32, max_position_embeddings=256, embed_std=0.1, seed=5),
    # The checkpoint-format tests (tests/formats/write_layouts.py): exact parameters, K a multiple of 256 (the
    # GGUF ternary block), per-tensor scales or groups of 256.
    _cfg(name="fmt-llama", arch="llama", vocab_size=512, hidden_size=256, intermediate_size=512,
         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=64,
         rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, exact_params=True, seed=56),
    _cfg(name="fmt-bitnet", arch="bitnet", vocab_size=512, hidden_size=256, intermediate_size=768,
         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=128,
         rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True, final_norm_signed=True,
         exact_params=True, seed=43),
    _cfg(name="fmt-minicpm", arch="minicpm", vocab_size=600, hidden_size=256, intermediate_size=512,
         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=64,
         rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False, weight_group=256,
         scale_emb=12.0, scale_depth=1.4, dim_model_base=32, max_position_embeddings=256, embed_std=0.1,
         exact_params=True, seed=47),
]}


def fail(msg):
    sys.exit(f"export.py: FAILED: {msg}")


def call(model, ids, mask, pos, past):
    with torch.no_grad():
        return model(ids, mask, pos, past)


def generate(model, prompt, dtype, steps=GREEDY_STEPS):
    """Prefill, then steps - 1 single-token decode steps with the cache.
    Returns the prefill logits, the logits behind each greedy token, the
    tokens, the decode logits of each step, and the cache after
    DECODE_LOGITS decode steps."""
    n = prompt.shape[1]
    logits, past = call(model, prompt, torch.ones(1, n, dtype=torch.int64),
                        torch.arange(n).unsqueeze(0), model.empty_cache(dtype=dtype))
    prefill = logits
    chosen = [logits[0, -1]]
    tokens, decode, cache = [], [], None
    for i in range(steps):
        tok = int(torch.argmax(chosen[-1]))
        tokens.append(tok)
        if i == steps - 1:
            break
        length = n + i
        logits, past = call(model, torch.tensor([[tok]]), torch.ones(1, length + 1, dtype=torch.int64),
                            torch.tensor([[length]]), past)
        decode.append(logits[0, -1])
        chosen.append(logits[0, -1])
        if i + 1 == DECODE_LOGITS:
            cache = [p.clone() for p in past]
    return prefill, torch.stack(chosen), tokens, torch.stack(decode), cache


@contextlib.contextmanager
def perturbed(model, noise, seed):
    """Within the block, every BitLinear and LM head input of `model` is
    multiplied by (1 + noise * randn): a stand-in for another
    implementation's float rounding (summation order in norms, softmax and
    float matmuls), including the int8 activations it then rounds the other
    way."""
    g = torch.Generator().manual_seed(seed)

    def jitter(module, args):
        x = args[0]
        return (x * (1 + noise * torch.randn(x.shape, generator=g, dtype=x.dtype)),)

    handles = [m.register_forward_pre_hook(jitter) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    try:
        yield model
    finally:
        for h in handles:
            h.remove()


def export_onnx(model, cfg, path, check=True):
    """torch.onnx.export with a batch of 2, past 3 and seq 2, so that no
    dynamic dim is traced as 1 or 0 and every mask branch is in the graph.
    `check`: run onnx.checker on the loaded file (not for models beyond
    protobuf's 2 GB, whose weights torch writes as external data)."""
    batch, past_len, seq = 2, 3, 2
    g = torch.Generator().manual_seed(123)
    ids = torch.randint(3, cfg.vocab_size, (batch, seq), generator=g)
    mask = torch.ones(batch, past_len + seq, dtype=torch.int64)
    pos = torch.arange(past_len, past_len + seq).unsqueeze(0).expand(batch, seq).contiguous()
    past = [torch.randn(batch, cfg.num_key_value_heads, past_len, cfg.head_dim, generator=g)
            for _ in range(2 * cfg.num_hidden_layers)]
    layers = range(cfg.num_hidden_layers)
    past_names = [f"past_key_values.{i}.{kv}" for i in layers for kv in ("key", "value")]
    present_names = [f"present.{i}.{kv}" for i in layers for kv in ("key", "value")]
    total = "past_sequence_length + sequence_length"
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: total},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    axes.update({n: {0: "batch_size", 2: "past_sequence_length"} for n in past_names})
    axes.update({n: {0: "batch_size", 2: total} for n in present_names})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer warns about the mask's Python conditions
        torch.onnx.export(FlatDecoderLM(model), (ids, mask, pos, *past), path, opset_version=17,
                          input_names=["input_ids", "attention_mask", "position_ids"] + past_names,
                          output_names=["logits"] + present_names, dynamic_axes=axes)
    if check:
        onnx.checker.check_model(onnx.load(path))


def run_case(model, cfg):
    """A general call for `ternc run`: batch 2, the second row left-padded by
    two (attention_mask 0, position_ids as HF computes them for padding),
    past 5 from a batched prefill, then 2 new tokens. Returns the inputs and
    the outputs, by graph name."""
    g = torch.Generator().manual_seed(cfg.seed + 1000)
    ids = torch.randint(3, cfg.vocab_size, (2, 7), generator=g)
    ids[:, 0] = cfg.bos_token_id
    mask = torch.ones(2, 7, dtype=torch.int64)
    mask[1, :2] = 0
    pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    _, past = call(model, ids[:, :5], mask[:, :5], pos[:, :5], model.empty_cache(batch=2))
    inputs = {"input_ids": ids[:, 5:], "attention_mask": mask, "position_ids": pos[:, 5:]}
    logits, present = call(model, inputs["input_ids"], mask, inputs["position_ids"], past)
    expected = {"logits": logits}
    for i in range(cfg.num_hidden_layers):
        inputs[f"past_key_values.{i}.key"], inputs[f"past_key_values.{i}.value"] = past[2 * i], past[2 * i + 1]
        expected[f"present.{i}.key"], expected[f"present.{i}.value"] = present[2 * i], present[2 * i + 1]
    return inputs, expected


def rel(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def first_difference(a, b):
    return next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)


def check_greedy(cfg, model, prompt, chosen, tokens):
    """The 64 greedy tokens must survive another float rounding: a clear
    top-1 margin at every step, the same tokens from a float64 copy and from
    NOISE_RUNS perturbed copies. Returns the smallest margin and its step."""
    top2 = torch.topk(chosen, 2, dim=-1).values
    margins = (top2[:, 0] - top2[:, 1]) / chosen.abs().max(dim=-1).values
    worst = int(torch.argmin(margins))
    if float(margins[worst]) <= MARGIN:
        fail(f"{cfg.name}: greedy step {worst}: top-1 beats top-2 by {float(margins[worst]):.3g} of max|logit| "
             f"(need > {MARGIN}); change the seed or init")
    if cfg.eos_token_id in tokens:
        fail(f"{cfg.name}: the greedy tokens contain eos {cfg.eos_token_id}; change the seed")
    tokens64 = generate(copy.deepcopy(model).double(), prompt, torch.float64)[2]
    if tokens64 != tokens:
        fail(f"{cfg.name}: float64 greedy differs from float32 at step {first_difference(tokens, tokens64)}")
    for seed in range(NOISE_RUNS):
        with perturbed(model, NOISE, seed):
            noisy = generate(model, prompt, torch.float32)[2]
        if noisy != tokens:
            fail(f"{cfg.name}: greedy with {NOISE} relative noise (run {seed}) differs at step "
                 f"{first_difference(tokens, noisy)}")
    return float(margins[worst]), worst


def check_tensor_stability(cfg, model, prompt, reference, run_expected, run_inputs):
    """The saved tensors must not hinge on an int8 activation sitting on a
    rounding boundary: one such activation rounded the other way moves the
    logits by up to ~1e-2 of their max, and a test could not tell that from
    a bug. Under STABILITY_NOISE (float32 rounding-sized) perturbations they
    must stay within STABILITY_TOLERANCE. Returns the largest deviation."""
    worst = 0.0
    for seed in range(STABILITY_RUNS):
        with perturbed(model, STABILITY_NOISE, 100 + seed):
            prefill, _, _, decode, cache = generate(model, prompt, torch.float32, steps=DECODE_LOGITS + 1)
            past = [v for k, v in run_inputs.items() if k.startswith("past")]
            logits, present = call(model, run_inputs["input_ids"], run_inputs["attention_mask"],
                                   run_inputs["position_ids"], past)
        got = [prefill, decode[:DECODE_LOGITS]] + cache
        got += [logits] + present
        for a, b in zip(got, reference + list(run_expected.values())):
            worst = max(worst, rel(a, b))
        if worst > STABILITY_TOLERANCE:
            fail(f"{cfg.name}: the reference tensors move by {worst:.3g} under {STABILITY_NOISE} relative noise "
                 f"(run {seed}): an int8 activation sits on a rounding boundary; change the seed")
    return worst


def check_flat(cfg, model, prompt, prefill, decode, cache, tokens):
    """The cached generation against one flat forward of prompt + 4 greedy
    tokens with an empty cache. Returns the logits and cache errors."""
    full = torch.cat([prompt, torch.tensor([tokens[:DECODE_LOGITS]])], dim=1)
    n = full.shape[1]
    flat_logits, flat_present = call(model, full, torch.ones(1, n, dtype=torch.int64),
                                     torch.arange(n).unsqueeze(0), model.empty_cache())
    logits_err = rel(flat_logits[0], torch.cat([prefill[0], decode[:DECODE_LOGITS]], dim=0))
    cache_err = max(rel(a, b) for a, b in zip(flat_present, cache))
    if logits_err > 1e-3 or cache_err > 1e-3:
        fail(f"{cfg.name}: cached generation differs from the flat forward: logits {logits_err:.3g}, "
             f"cache {cache_err:.3g}")
    flat_tokens = torch.argmax(flat_logits[0, PROMPT_LEN - 1:-1], dim=-1).tolist()
    if flat_tokens != tokens[:DECODE_LOGITS]:
        fail(f"{cfg.name}: flat forward predicts {flat_tokens}, cached {tokens[:DECODE_LOGITS]}")
    return logits_err, cache_err


def save(out_dir, name, tensor):
    path = os.path.join(out_dir, name + ".npy")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, tensor.numpy() if isinstance(tensor, torch.Tensor) else tensor)


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        print("\n".join(CONFIGS))
        return
    if len(sys.argv) != 3 or sys.argv[1] not in CONFIGS:
        sys.exit("usage: export.py CONFIG_NAME OUT_DIR   (configs: " + ", ".join(CONFIGS) + ")")
    cfg, out_dir = CONFIGS[sys.argv[1]], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    start = time.time()
    torch.set_num_threads(2)
    model = DecoderLM(cfg)

    # The prompt and PyTorch's generation with its KV cache, then the checks.
    g = torch.Generator().manual_seed(cfg.seed + 7)
    prompt = torch.randint(3, cfg.vocab_size, (1, PROMPT_LEN), generator=g)
    prompt[0, 0] = cfg.bos_token_id
    prefill, chosen, tokens, decode, cache = generate(model, prompt, torch.float32)
    run_inputs, run_expected = run_case(model, cfg)
    margin, margin_step = check_greedy(cfg, model, prompt, chosen, tokens)
    stability = check_tensor_stability(cfg, model, prompt, [prefill, decode[:DECODE_LOGITS]] + cache,
                                       run_expected, run_inputs)
    flat_err, cache_err = check_flat(cfg, model, prompt, prefill, decode, cache, tokens)

    # The ONNX export and the data.
    export_onnx(model, cfg, os.path.join(out_dir, "model.onnx"))
    save(out_dir, "prompt", prompt)
    save(out_dir, "prefill_logits", prefill)
    save(out_dir, "decode_logits", decode[:DECODE_LOGITS])
    save(out_dir, "greedy", np.array(tokens, dtype=np.int64))
    for i in range(cfg.num_hidden_layers):
        save(out_dir, f"cache/present.{i}.key", cache[2 * i])
        save(out_dir, f"cache/present.{i}.value", cache[2 * i + 1])
    for name, t in run_inputs.items():
        save(out_dir, "run/inputs/" + name, t)
    for name, t in run_expected.items():
        save(out_dir, "run/expected/" + name, t)
    summary = {"prompt_len": PROMPT_LEN, "greedy_steps": GREEDY_STEPS, "decode_logits_steps": DECODE_LOGITS,
               "min_greedy_margin": margin, "min_greedy_margin_step": margin_step,
               "distinct_greedy_tokens": len(set(tokens)), "tensor_stability": stability,
               "flat_vs_cached_logits_rel_err": flat_err, "flat_vs_cached_cache_rel_err": cache_err}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump({**dataclasses.asdict(cfg), "reference": summary}, f, indent=1)
    print(f"{cfg.name}: wrote {out_dir} in {time.time() - start:.1f} s; greedy: min margin {margin:.3g} "
          f"(step {margin_step}), {len(set(tokens))} distinct tokens; tensors move {stability:.2g} under noise; "
          f"flat vs cached: logits {flat_err:.2g}, cache {cache_err:.2g}")


if __name__ == "__main__":
    main()
