// GgufImporter: reads a GGUF file's hyperparameters into a DecoderConfig and serves its tensors to the decoder
// builder under the Hugging Face names (docs/frontend-gguf.md, "Models").
#include "frontend/gguf/GgufImporter.h"

#include "frontend/gguf/GgufFile.h"
#include "frontend/gguf/GgufTensors.h"
#include "frontend/llm/DecoderBuilder.h"
#include "ir/Error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <regex>

namespace ternc {

using llm::Arch;

namespace {

/// The GGUF name of a Hugging Face tensor or linear layer name.
std::string ggufName(const std::string &hf) {
  static const std::pair<const char *, const char *> fixed[] = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  for (auto [from, to] : fixed)
    if (hf == from) return to;
  static const std::regex layer(R"(model\.layers\.(\d+)\.(.+))");
  static const std::pair<const char *, const char *> parts[] = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"self_attn.attn_sub_norm.weight", "attn_sub_norm.weight"},
      {"mlp.ffn_sub_norm.weight", "ffn_sub_norm.weight"},
      {"self_attn.q_proj", "attn_q"},
      {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},
      {"self_attn.o_proj", "attn_output"},
      {"mlp.gate_proj", "ffn_gate"},
      {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"},
  };
  std::smatch m;
  if (std::regex_match(hf, m, layer))
    for (auto [from, to] : parts)
      if (m[2] == from) return fmt::format("blk.{}.{}", m[1].str(), to);
  throw Error("internal: no GGUF name for '" + hf + "'");
}

class GgufWeights : public llm::WeightSource {
public:
  GgufWeights(const gguf::GgufFile &f, Arch arch, bool permutedQK, int64_t heads, int64_t kvHeads)
      : f_(f), arch_(arch), permutedQK_(permutedQK), heads_(heads), kvHeads_(kvHeads) {}

  std::string where() const override { return f_.path(); }
  bool has(const std::string &name) const override { return f_.findTensor(ggufName(name)) != nullptr; }

  Tensor tensor(const std::string &name, const std::vector<int64_t> &shape) override {
    const gguf::TensorInfo &t = f_.getTensor(ggufName(name));
    check(t, shape);
    return gguf::toF32(f_, t);
  }

  llm::LinearWeight linear(const std::string &name, int64_t n, int64_t k) override {
    std::string gname = ggufName(name) + ".weight";
    const gguf::TensorInfo &t = f_.getTensor(gname);
    check(t, {n, k});
    llm::LinearWeight w;
    if (t.type == gguf::GgmlType::TQ1_0 || t.type == gguf::GgmlType::TQ2_0 || t.type == gguf::GgmlType::I2_S) {
      gguf::TernaryWeight tw = gguf::decodeTernary(f_, t);
      w = fromDecoded(tw, n, k);
    } else {
      w = llm::ternaryFromPseudoQuantized(gguf::toF32(f_, t), fmt::format("{}: tensor '{}'", f_.path(), gname));
    }
    // upstream llama.cpp's bitnet layout keeps a per-tensor scale beside the weight
    if (const gguf::TensorInfo *s = f_.findTensor(ggufName(name) + ".scale")) {
      Tensor sv = gguf::toF32(f_, *s);
      if (sv.numElements() != 1)
        throw Error(fmt::format("{}: tensor '{}' must hold one scale", f_.path(), s->name));
      float m = sv.data<float>()[0];
      float *dst = w.scale.mutableData<float>();
      for (int64_t i = 0; i < w.scale.numElements(); ++i) dst[i] *= m;
    }
    std::string_view base = name;
    if (permutedQK_ && (base.ends_with("q_proj") || base.ends_with("k_proj")))
      unpermute(w, base.ends_with("q_proj") ? heads_ : kvHeads_, n, k);
    return w;
  }

private:
  const gguf::GgufFile &f_;
  Arch arch_;
  bool permutedQK_;
  int64_t heads_, kvHeads_;

  void check(const gguf::TensorInfo &t, const std::vector<int64_t> &shape) {
    if (t.shape() != shape)
      throw Error(fmt::format("{}: tensor '{}' has shape [{}], expected [{}]", f_.path(), t.name,
                              fmt::join(t.shape(), ", "), fmt::join(shape, ", ")));
  }

  /// The decoded codes and scales as a tern weight; a scale that is the same for a whole row or the whole
  /// tensor becomes one per row or per tensor (the same products, and a cheaper kernel epilogue).
  static llm::LinearWeight fromDecoded(const gguf::TernaryWeight &tw, int64_t n, int64_t k) {
    llm::LinearWeight w;
    w.tern = Tensor(DType::Tern, {n, k});
    std::copy(tw.codes.begin(), tw.codes.end(), w.tern.mutableData<int8_t>());
    if (tw.group == 0) {
      w.granularity = {TernScale::Tensor, 0};
      w.scale = Tensor(DType::F32, {1});
      w.scale.mutableData<float>()[0] = tw.scales.at(0);
      return w;
    }
    int64_t groups = k / tw.group;
    bool uniformRows = true, uniform = true;
    for (int64_t r = 0; r < n; ++r)
      for (int64_t g = 0; g < groups; ++g) {
        float s = tw.scales[r * groups + g];
        uniformRows = uniformRows && s == tw.scales[r * groups];
        uniform = uniform && s == tw.scales[0];
      }
    if (uniform) {
      w.granularity = {TernScale::Tensor, 0};
      w.scale = Tensor(DType::F32, {1});
      w.scale.mutableData<float>()[0] = tw.scales[0];
    } else if (uniformRows) {
      w.granularity = {TernScale::Row, 0};
      w.scale = Tensor(DType::F32, {n});
      for (int64_t r = 0; r < n; ++r) w.scale.mutableData<float>()[r] = tw.scales[r * groups];
    } else {
      w.granularity = {TernScale::Group, tw.group};
      w.scale = Tensor(DType::F32, {n, groups});
      std::copy(tw.scales.begin(), tw.scales.end(), w.scale.mutableData<float>());
    }
    return w;
  }

  /// llama.cpp's converter reorders each head's rows of Q and K from the rotate-half RoPE layout to the
  /// interleaved one: GGUF row h*d + 2i + j holds Hugging Face row h*d + j*d/2 + i. This puts them back.
  static void unpermute(llm::LinearWeight &w, int64_t heads, int64_t n, int64_t k) {
    int64_t d = n / heads, half = d / 2;
    auto rowOf = [&](int64_t hfRow) {
      int64_t h = hfRow / d, r = hfRow % d, j = r / half, i = r % half;
      return h * d + 2 * i + j;
    };
    Tensor t(DType::Tern, {n, k});
    const int8_t *src = w.tern.data<int8_t>();
    int8_t *dst = t.mutableData<int8_t>();
    for (int64_t r = 0; r < n; ++r) std::copy(src + rowOf(r) * k, src + rowOf(r) * k + k, dst + r * k);
    w.tern = std::move(t);
    if (w.granularity.kind == TernScale::Tensor) return;
    int64_t per = w.scale.numElements() / n;
    Tensor s(DType::F32, w.scale.shape());
    for (int64_t r = 0; r < n; ++r)
      std::copy(w.scale.data<float>() + rowOf(r) * per, w.scale.data<float>() + rowOf(r) * per + per,
                s.mutableData<float>() + r * per);
    w.scale = std::move(s);
  }
};

} // namespace

std::unique_ptr<Module> importGguf(const std::string &path, GgufModelInfo *info) {
  auto f = gguf::GgufFile::open(path);
  std::string a = f->getString("general.architecture");
  llm::DecoderConfig d;
  bool permuted = false;
  if (a == "llama") d.arch = Arch::Llama, permuted = true;
  else if (a == "minicpm") d.arch = Arch::MiniCPM, permuted = true;
  else if (a == "bitnet" || a == "bitnet-b1.58" || a == "bitnet-25") d.arch = Arch::BitNet;
  else
    throw Error(fmt::format("{}: unsupported architecture '{}' (supported: llama, bitnet, minicpm)", path, a));
  auto key = [&](const char *k) { return a + "." + k; };
  d.act = d.arch == Arch::BitNet ? "relu2" : "silu";
  d.layers = f->getInt(key("block_count"));
  d.hidden = f->getInt(key("embedding_length"));
  d.intermediate = f->getInt(key("feed_forward_length"));
  d.heads = f->getInt(key("attention.head_count"));
  d.kvHeads = f->getInt(key("attention.head_count_kv"), d.heads);
  d.headDim = f->getInt(key("attention.key_length"), d.heads > 0 ? d.hidden / d.heads : 0);
  if (f->has(key("rope.dimension_count")) && f->getInt(key("rope.dimension_count")) != d.headDim)
    throw Error(fmt::format("{}: {} = {} rotates part of each head; ternc supports full-head RoPE ({})", path,
                            key("rope.dimension_count"), f->getInt(key("rope.dimension_count")), d.headDim));
  d.rmsEps = f->getFloat(key("attention.layer_norm_rms_epsilon"), 1e-5);
  d.ropeTheta = f->getFloat(key("rope.freq_base"), 10000.0);
  d.maxPositions = f->getInt(key("context_length"), 2048);
  const gguf::TensorInfo &embed = f->getTensor("token_embd.weight");
  if (embed.ne.size() != 2) throw Error(path + ": tensor 'token_embd.weight' must be 2-D");
  d.vocab = f->getInt(key("vocab_size"), embed.ne[1]);
  d.tiedEmbeddings = f->findTensor("output.weight") == nullptr;
  if (d.arch == Arch::MiniCPM) {
    d.embedScale = f->getFloat(key("embedding_scale"), 1.0);
    d.residualScale = f->getFloat(key("residual_scale"), 1.0);
    d.logitDivisor = f->getFloat(key("logit_scale"), 1.0);  // hidden_size / dim_model_base, as the converter writes
    if (const gguf::TensorInfo *rf = f->findTensor("rope_factors_short.weight")) {
      Tensor t = gguf::toF32(*f, *rf);
      d.ropeFactors.assign(t.data<float>(), t.data<float>() + t.numElements());
      int64_t original = f->getInt(key("rope.scaling.original_context_length"), d.maxPositions);
      double scale = original > 0 ? double(d.maxPositions) / double(original) : 1.0;
      d.ropeScale = scale > 1 ? std::sqrt(1 + std::log(scale) / std::log(double(original))) : 1.0;
    }
  }
  if (info) {
    info->tokenizer = gguf::tokenizerFromGguf(*f);
    if (f->has("tokenizer.ggml.eos_token_id")) info->eosIds = {f->getInt("tokenizer.ggml.eos_token_id")};
    if (f->has("tokenizer.ggml.eot_token_id")) {
      int64_t eot = f->getInt("tokenizer.ggml.eot_token_id");
      if (std::find(info->eosIds.begin(), info->eosIds.end(), eot) == info->eosIds.end()) info->eosIds.push_back(eot);
    }
    bool addBos = f->getBool("tokenizer.ggml.add_bos_token", true);
    if (addBos && f->has("tokenizer.ggml.bos_token_id")) info->bosId = f->getInt("tokenizer.ggml.bos_token_id");
    info->contextLength = d.maxPositions;
  }
  GgufWeights weights(*f, d.arch, permuted, d.heads, d.kvHeads);
  return llm::buildDecoder(d, weights);
}

} // namespace ternc
