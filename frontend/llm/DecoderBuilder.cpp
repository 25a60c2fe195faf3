// DecoderBuilder: the decoder graph of LLaMA, BitNet b1.58 and MiniCPM checkpoints (see DecoderBuilder.h).
// Op order and float steps follow the Hugging Face modeling code as PyTorch exports it (tests/llm/models.py is
// the executable reference), so that the compiled model reproduces the framework within float rounding.
#include "frontend/llm/DecoderBuilder.h"

#include "ir/Error.h"
#include "passes/TernaryStats.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <limits>
#include <map>

namespace ternc::llm {

const char *archName(Arch a) {
  switch (a) {
  case Arch::Llama: return "llama";
  case Arch::BitNet: return "bitnet";
  case Arch::MiniCPM: return "minicpm";
  }
  return "?";
}

void DecoderConfig::validate(const std::string &where) const {
  auto positive = [&](int64_t v, const char *name) {
    if (v <= 0 || v > (int64_t(1) << 31)) throw Error(fmt::format("{}: {} must be positive, got {}", where, name, v));
  };
  positive(vocab, "vocab_size");
  positive(hidden, "hidden_size");
  positive(intermediate, "intermediate_size");
  positive(layers, "num_hidden_layers");
  positive(heads, "num_attention_heads");
  positive(kvHeads, "num_key_value_heads");
  positive(headDim, "head_dim");
  positive(maxPositions, "max_position_embeddings");
  if (heads % kvHeads != 0)
    throw Error(fmt::format("{}: num_attention_heads ({}) is not a multiple of num_key_value_heads ({})", where,
                            heads, kvHeads));
  if (headDim % 2 != 0) throw Error(fmt::format("{}: head_dim ({}) must be even for RoPE", where, headDim));
  if (act != "silu" && act != "relu2")
    throw Error(fmt::format("{}: unsupported FFN activation '{}' (supported: silu, relu2)", where, act));
  if (!(rmsEps > 0) || !std::isfinite(rmsEps)) throw Error(fmt::format("{}: rms_norm_eps must be > 0", where));
  if (!(ropeTheta > 0) || !std::isfinite(ropeTheta)) throw Error(fmt::format("{}: rope_theta must be > 0", where));
  if (!ropeFactors.empty() && int64_t(ropeFactors.size()) != headDim / 2)
    throw Error(fmt::format("{}: {} RoPE scaling factors for head_dim {} (need head_dim / 2 = {})", where,
                            ropeFactors.size(), headDim, headDim / 2));
  for (double v : {embedScale, residualScale, logitDivisor, ropeScale})
    if (!std::isfinite(v) || v == 0) throw Error(fmt::format("{}: a muP / RoPE scale is {}", where, v));
}

void expectShape(const Tensor &t, const std::vector<int64_t> &shape, const std::string &what) {
  if (t.dtype() != DType::F32 || t.shape() != shape)
    throw Error(fmt::format("{} is {}{}, expected f32{}", what, dtypeName(t.dtype()), fmt::join(t.shape(), ","),
                            fmt::join(shape, ",")));
}

LinearWeight ternaryFromPseudoQuantized(const Tensor &dense, const std::string &what) {
  if (dense.dtype() != DType::F32 || dense.rank() != 2) throw Error(what + ": a linear weight must be 2-D float");
  std::string why;
  auto fit = fitTernaryWeight(dense.data<float>(), dense.shape()[0], dense.shape()[1], why);
  if (!fit)
    throw Error(fmt::format("{}: the weight is not ternary at any granularity (tensor, row, group of 256/128/64/32): {}",
                            what, why));
  return LinearWeight{std::move(fit->tern), fit->granularity, std::move(fit->scale)};
}

LinearWeight absmeanTernarize(const Tensor &latent) {
  int64_t n = latent.shape()[0], k = latent.shape()[1], count = n * k;
  const float *w = latent.data<float>();
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) sum += std::fabs(w[i]);
  float mean = float(sum / double(count));
  float s = 1.0f / std::max(mean, 1e-5f);
  LinearWeight out{Tensor(DType::Tern, {n, k}), {TernScale::Tensor, 0}, Tensor(DType::F32, {1})};
  int8_t *t = out.tern.mutableData<int8_t>();
  for (int64_t i = 0; i < count; ++i) t[i] = int8_t(std::clamp(std::nearbyint(w[i] * s), -1.0f, 1.0f));
  out.scale.mutableData<float>()[0] = 1.0f / s;  // W~ / s, as the weight times its multiplier
  return out;
}

namespace {

/// Builds the graph op by op; every helper returns the op's result.
class Builder {
public:
  Builder(const DecoderConfig &cfg, WeightSource &w, Module &m) : cfg_(cfg), w_(w), m_(m), g_(m.addGraph("main")) {}

  void build();

private:
  const DecoderConfig &cfg_;
  WeightSource &w_;
  Module &m_;
  Graph *g_;
  std::string scope_ = "model";
  std::map<std::string, Value *> consts_;
  Value *mask_ = nullptr, *cos_ = nullptr, *sin_ = nullptr, *positions_ = nullptr;

  Value *op(std::string_view name, std::vector<Value *> operands, Attrs attrs = {}) {
    std::string result = g_->uniqueName(fmt::format("/{}/{}", scope_, name));
    Op *o = g_->buildOp(name, std::move(operands), std::move(attrs), {result});
    Value *r = o->result();
    if (r->type().dtype() == DType::F32 && !r->type().isRanked())
      throw Error(fmt::format("internal: the type of {} was not inferred", result));
    return r;
  }
  static Attrs attrs(std::initializer_list<std::pair<std::string, AttrValue>> list) {
    Attrs a;
    for (auto &[k, v] : list) a.set(k, v);
    return a;
  }
  Value *constant(const std::string &name, Tensor t) { return m_.addConstant(name, std::move(t)); }
  Value *f32(float v) {
    std::string key = fmt::format("f{}", v);
    auto it = consts_.find(key);
    if (it != consts_.end()) return it->second;
    return consts_[key] = constant("c_f32", Tensor::scalarF32(v));
  }
  Value *i64s(const std::vector<int64_t> &v) {
    std::string key = fmt::format("i[{}]", fmt::join(v, ","));
    auto it = consts_.find(key);
    if (it != consts_.end()) return it->second;
    return consts_[key] = constant("c_i64", Tensor::fromI64(v));
  }
  Value *i64(int64_t v) {
    std::string key = fmt::format("i{}", v);
    auto it = consts_.find(key);
    if (it != consts_.end()) return it->second;
    return consts_[key] = constant("c_i64", Tensor::scalarI64(v));
  }
  Value *weight(const std::string &name, const std::vector<int64_t> &shape) {
    Tensor t = w_.tensor(name, shape);
    expectShape(t, shape, fmt::format("{}: tensor '{}'", w_.where(), name));
    return constant(name, std::move(t));
  }

  /// Reshape keeping the leading `keep` dims of `x` (read at run time) and appending `tail`.
  Value *reshapeKeep(Value *x, int64_t keep, const std::vector<int64_t> &tail) {
    Value *lead = op("Slice", {op("Shape", {x}), i64s({0}), i64s({keep})});
    return op("Reshape", {x, op("Concat", {lead, i64s(tail)}, attrs({{"axis", int64_t(0)}}))});
  }

  Value *rmsNorm(Value *x, const std::string &weightName, int64_t dim) {
    Value *w = weight(weightName, {dim});
    Value *var = op("ReduceMean", {op("Pow", {x, f32(2)})}, attrs({{"axes", std::vector<int64_t>{-1}},
                                                                  {"keepdims", int64_t(1)}}));
    Value *inv = op("Div", {f32(1), op("Sqrt", {op("Add", {var, f32(float(cfg_.rmsEps))})})});
    Value *h = op("Mul", {x, inv});
    return cfg_.arch == Arch::MiniCPM ? op("Mul", {h, w}) : op("Mul", {w, h});
  }

  /// BitNet's per-token absmax int8 fake quantization, as PyTorch exports `127 / clamp(max|x|, 1e-5)`.
  Value *actQuant(Value *x) {
    Value *m = op("ReduceMax", {op("Abs", {x})}, attrs({{"axes", std::vector<int64_t>{-1}}, {"keepdims", int64_t(1)}}));
    Value *s = op("Mul", {op("Reciprocal", {op("Clip", {m, f32(1e-5f)})}), f32(127)});
    Value *q = op("Clip", {op("Round", {op("Mul", {x, s})}), f32(-128), f32(127)});
    return op("Div", {q, s});
  }

  Value *linear(Value *quantized, const std::string &name, int64_t n, int64_t k) {
    LinearWeight lw = w_.linear(name, n, k);
    if (lw.tern.dtype() != DType::Tern || lw.tern.shape() != std::vector<int64_t>{n, k})
      throw Error(fmt::format("{}: linear layer '{}' must be ternary [{}, {}]", w_.where(), name, n, k));
    Value *t = m_.addConstant(name + ".weight", std::move(lw.tern), Type::tern(lw.granularity, {Dim(n), Dim(k)}));
    Value *s = constant(name + ".weight_scale", std::move(lw.scale));
    return op("TernaryMatMul", {quantized, t, s});
  }

  Value *rope(Value *x) {
    int64_t half = cfg_.headDim / 2;
    Value *x1 = op("Slice", {x, i64s({0}), i64s({half}), i64s({3})});
    Value *x2 = op("Slice", {x, i64s({half}), i64s({cfg_.headDim}), i64s({3})});
    Value *rotated = op("Concat", {op("Neg", {x2}), x1}, attrs({{"axis", int64_t(-1)}}));
    return op("Add", {op("Mul", {x, cos_}), op("Mul", {rotated, sin_})});
  }

  Value *repeatKV(Value *x) {
    int64_t groups = cfg_.heads / cfg_.kvHeads;
    if (groups == 1) return x;
    Value *u = op("Unsqueeze", {x, i64s({2})});
    Value *e = op("Expand", {u, i64s({1, 1, groups, 1, 1})});
    Value *shape = op("Shape", {x});
    Value *lead = op("Slice", {shape, i64s({0}), i64s({1})});
    Value *tail = op("Slice", {shape, i64s({2}), i64s({4})});
    return op("Reshape", {e, op("Concat", {lead, i64s({cfg_.heads}), tail}, attrs({{"axis", int64_t(0)}}))});
  }

  void buildTables();
  void buildMask(Value *inputIds, Value *attentionMask);
  Value *layer(int64_t i, Value *h, Value *pastK, Value *pastV, Value *&presentK, Value *&presentV);
};

void Builder::buildTables() {
  // cos/sin of every position, gathered by position_ids. Each step rounds to f32 as the PyTorch code does:
  // inv_freq = 1 / theta^(2i/d); freq = pos * inv_freq (LongRoPE: pos * (1 / factor_i) * inv_freq).
  int64_t d = cfg_.headDim, half = d / 2, rows = cfg_.maxPositions;
  Tensor cosT(DType::F32, {rows, d}), sinT(DType::F32, {rows, d});
  float *c = cosT.mutableData<float>(), *s = sinT.mutableData<float>();
  std::vector<float> inv(half);
  for (int64_t i = 0; i < half; ++i)
    inv[i] = 1.0f / std::pow(float(cfg_.ropeTheta), float(2 * i) / float(d));
  float scale = float(cfg_.ropeScale);
  for (int64_t p = 0; p < rows; ++p)
    for (int64_t i = 0; i < half; ++i) {
      float f = cfg_.ropeFactors.empty() ? float(p) * inv[i] : (float(p) * (1.0f / cfg_.ropeFactors[i])) * inv[i];
      float cv = std::cos(f), sv = std::sin(f);
      if (!cfg_.ropeFactors.empty()) cv *= scale, sv *= scale;
      c[p * d + i] = c[p * d + i + half] = cv;
      s[p * d + i] = s[p * d + i + half] = sv;
    }
  Value *ct = constant("model.rotary_emb.cos", std::move(cosT));
  Value *st = constant("model.rotary_emb.sin", std::move(sinT));
  scope_ = "model/rotary_emb";
  cos_ = op("Unsqueeze", {op("Gather", {ct, positions_}), i64s({1})});
  sin_ = op("Unsqueeze", {op("Gather", {st, positions_}), i64s({1})});
}

void Builder::buildMask(Value *inputIds, Value *attentionMask) {
  // [b, 1, s, past + s]: 0 where key j may be read by query i (j <= past + i and attention_mask[j] = 1), the
  // lowest f32 elsewhere, as transformers' 4-D causal mask.
  scope_ = "model/mask";
  Value *total = op("Gather", {op("Shape", {attentionMask}), i64(1)}, attrs({{"axis", int64_t(0)}}));
  Value *seq = op("Gather", {op("Shape", {inputIds}), i64(1)}, attrs({{"axis", int64_t(0)}}));
  Value *keys = op("Range", {i64(0), total, i64(1)});
  Value *queries = op("Add", {op("Range", {i64(0), seq, i64(1)}), op("Sub", {total, seq})});
  Value *future = op("Less", {op("Unsqueeze", {queries, i64s({1})}), keys});
  Value *padding = op("Unsqueeze", {op("Equal", {attentionMask, i64(0)}), i64s({1, 2})});
  Value *masked = op("Or", {future, padding});
  mask_ = op("Where", {masked, f32(std::numeric_limits<float>::lowest()), f32(0)});
}

Value *Builder::layer(int64_t i, Value *h, Value *pastK, Value *pastV, Value *&presentK, Value *&presentV) {
  const DecoderConfig &c = cfg_;
  std::string p = fmt::format("model.layers.{}", i);
  int64_t qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim;

  scope_ = fmt::format("model/layers.{}/self_attn", i);
  Value *residual = h;
  Value *x = actQuant(rmsNorm(h, p + ".input_layernorm.weight", c.hidden));
  Value *q = linear(x, p + ".self_attn.q_proj", qDim, c.hidden);
  Value *k = linear(x, p + ".self_attn.k_proj", kvDim, c.hidden);
  Value *v = linear(x, p + ".self_attn.v_proj", kvDim, c.hidden);
  Attrs heads = attrs({{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
  q = op("Transpose", {reshapeKeep(q, 2, {c.heads, c.headDim})}, heads);
  k = op("Transpose", {reshapeKeep(k, 2, {c.kvHeads, c.headDim})}, heads);
  v = op("Transpose", {reshapeKeep(v, 2, {c.kvHeads, c.headDim})}, heads);
  q = rope(q);
  k = rope(k);
  presentK = op("Concat", {pastK, k}, attrs({{"axis", int64_t(2)}}));
  presentV = op("Concat", {pastV, v}, attrs({{"axis", int64_t(2)}}));
  Value *kt = op("Transpose", {repeatKV(presentK)}, attrs({{"perm", std::vector<int64_t>{0, 1, 3, 2}}}));
  Value *scores = op("Div", {op("MatMul", {q, kt}), f32(float(std::sqrt(double(c.headDim))))});
  Value *probs = op("Softmax", {op("Add", {scores, mask_})}, attrs({{"axis", int64_t(-1)}}));
  Value *o = op("MatMul", {probs, repeatKV(presentV)});
  o = reshapeKeep(op("Transpose", {o}, heads), 2, {qDim});
  if (c.arch == Arch::BitNet) o = rmsNorm(o, p + ".self_attn.attn_sub_norm.weight", qDim);
  o = linear(actQuant(o), p + ".self_attn.o_proj", c.hidden, qDim);
  if (c.residualScale != 1) o = op("Mul", {o, f32(float(c.residualScale))});
  h = op("Add", {residual, o});

  scope_ = fmt::format("model/layers.{}/mlp", i);
  residual = h;
  x = actQuant(rmsNorm(h, p + ".post_attention_layernorm.weight", c.hidden));
  Value *gate = linear(x, p + ".mlp.gate_proj", c.intermediate, c.hidden);
  Value *up = linear(x, p + ".mlp.up_proj", c.intermediate, c.hidden);
  Value *a;
  if (c.act == "relu2") {
    Value *r = op("Relu", {gate});
    a = op("Mul", {r, r});
  } else {
    a = op("Mul", {gate, op("Sigmoid", {gate})});
  }
  Value *f = op("Mul", {a, up});
  if (c.arch == Arch::BitNet) f = rmsNorm(f, p + ".mlp.ffn_sub_norm.weight", c.intermediate);
  f = linear(actQuant(f), p + ".mlp.down_proj", c.hidden, c.intermediate);
  if (c.residualScale != 1) f = op("Mul", {f, f32(float(c.residualScale))});
  return op("Add", {residual, f});
}

void Builder::build() {
  const DecoderConfig &c = cfg_;
  Dim b = Dim::symbol("batch_size"), s = Dim::symbol("sequence_length"), past = Dim::symbol("past_sequence_length");
  Value *ids = g_->addArgument("input_ids", Type(DType::I64, {b, s}));
  Value *attention = g_->addArgument("attention_mask", Type(DType::I64, {b, past + s}));
  positions_ = g_->addArgument("position_ids", Type(DType::I64, {b, s}));
  std::vector<Value *> pastKV;
  for (int64_t i = 0; i < c.layers; ++i)
    for (const char *kind : {"key", "value"})
      pastKV.push_back(g_->addArgument(fmt::format("past_key_values.{}.{}", i, kind),
                                       Type(DType::F32, {b, Dim(c.kvHeads), past, Dim(c.headDim)})));

  scope_ = "model/embed_tokens";
  Value *embed = weight("model.embed_tokens.weight", {c.vocab, c.hidden});
  Value *h = op("Gather", {embed, ids}, attrs({{"axis", int64_t(0)}}));
  if (c.embedScale != 1) h = op("Mul", {h, f32(float(c.embedScale))});
  buildMask(ids, attention);
  buildTables();

  std::vector<std::pair<std::string, Value *>> presents;
  for (int64_t i = 0; i < c.layers; ++i) {
    Value *pk, *pv;
    h = layer(i, h, pastKV[2 * i], pastKV[2 * i + 1], pk, pv);
    presents.push_back({fmt::format("present.{}.key", i), pk});
    presents.push_back({fmt::format("present.{}.value", i), pv});
  }

  scope_ = "model/norm";
  h = rmsNorm(h, "model.norm.weight", c.hidden);
  if (c.logitDivisor != 1) h = op("Div", {h, f32(float(c.logitDivisor))});
  scope_ = "lm_head";
  // The head as MatMul on the transposed [hidden, vocab] weight, as exporters write nn.Linear.
  std::string headName = c.tiedEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  Tensor head = c.tiedEmbeddings ? embed->constant()->data : w_.tensor(headName, {c.vocab, c.hidden});
  expectShape(head, {c.vocab, c.hidden}, fmt::format("{}: tensor '{}'", w_.where(), headName));
  Tensor headT(DType::F32, {c.hidden, c.vocab});
  const float *src = head.data<float>();
  float *dst = headT.mutableData<float>();
  for (int64_t r = 0; r < c.vocab; ++r)
    for (int64_t k = 0; k < c.hidden; ++k) dst[k * c.vocab + r] = src[r * c.hidden + k];
  Value *logits = op("MatMul", {h, constant("lm_head.weight.T", std::move(headT))});

  g_->addOutput("logits", logits);
  for (auto &[name, v] : presents) g_->addOutput(name, v);
}

} // namespace

std::unique_ptr<Module> buildDecoder(const DecoderConfig &cfg, WeightSource &weights) {
  cfg.validate(weights.where());
  auto m = std::make_unique<Module>("model");
  Builder(cfg, weights, *m).build();
  return m;
}

} // namespace ternc::llm
