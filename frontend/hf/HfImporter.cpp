// HfImporter: reads config.json into a DecoderConfig, serves the safetensors weights to the decoder builder
// (unpacking BitNet's 2-bit packed weights, ternarizing latent ones, detecting pseudo-quantized scales).
#include "frontend/hf/HfImporter.h"

#include "frontend/hf/Safetensors.h"
#include "frontend/llm/DecoderBuilder.h"
#include "ir/Error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ternc {

namespace fs = std::filesystem;
using nlohmann::json;
using llm::Arch;

bool isHuggingFaceFolder(const std::string &path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "config.json", ec);
}

namespace {

json readJson(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open", p.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::exception &e) {
    throw Error(fmt::format("{}: invalid JSON: {}", p.string(), e.what()));
  }
}

/// Typed access to config.json with errors naming the file and the key.
class Config {
public:
  Config(json j, std::string path) : j_(std::move(j)), path_(std::move(path)) {
    if (!j_.is_object()) throw Error(path_ + ": not a JSON object");
  }
  const std::string &path() const { return path_; }
  bool has(const char *key) const { return j_.contains(key) && !j_[key].is_null(); }
  int64_t integer(const char *key) const {
    if (!has(key)) throw Error(fmt::format("{}: missing \"{}\"", path_, key));
    return integer(key, 0);
  }
  int64_t integer(const char *key, int64_t dflt) const {
    if (!has(key)) return dflt;
    const json &v = j_[key];
    if (!v.is_number_integer()) throw Error(fmt::format("{}: \"{}\" must be an integer", path_, key));
    return v.get<int64_t>();
  }
  double number(const char *key, double dflt) const {
    if (!has(key)) return dflt;
    const json &v = j_[key];
    if (!v.is_number()) throw Error(fmt::format("{}: \"{}\" must be a number", path_, key));
    return v.get<double>();
  }
  std::string string(const char *key, const std::string &dflt) const {
    if (!has(key)) return dflt;
    const json &v = j_[key];
    if (!v.is_string()) throw Error(fmt::format("{}: \"{}\" must be a string", path_, key));
    return v.get<std::string>();
  }
  bool boolean(const char *key, bool dflt) const {
    if (!has(key)) return dflt;
    const json &v = j_[key];
    if (!v.is_boolean()) throw Error(fmt::format("{}: \"{}\" must be true or false", path_, key));
    return v.get<bool>();
  }
  const json &raw() const { return j_; }

private:
  json j_;
  std::string path_;
};

/// How a BitNet checkpoint's packed weights relate to weight_scale (see docs/frontend-hf.md): transformers'
/// AutoBitLinear ("autobitlinear", what 2B4T's config names) multiplies the layer's output by it, its BitLinear
/// (the default "bitlinear") divides the output by it.
enum class ScaleDirection { Multiply, Divide };

class HfWeights : public llm::WeightSource {
public:
  HfWeights(std::unique_ptr<hf::Checkpoint> ckpt, Arch arch, ScaleDirection dir)
      : ckpt_(std::move(ckpt)), arch_(arch), dir_(dir) {}

  std::string where() const override { return ckpt_->dir(); }
  bool has(const std::string &name) const override { return ckpt_->find(name) != nullptr; }

  Tensor tensor(const std::string &name, const std::vector<int64_t> &shape) override {
    const hf::StTensor &t = ckpt_->get(name);
    if (t.dtype != hf::StDType::F32 && t.dtype != hf::StDType::F16 && t.dtype != hf::StDType::BF16)
      throw Error(fmt::format("{}: tensor '{}' is {}, expected a float type", *t.file, name, hf::stDTypeName(t.dtype)));
    if (t.shape != shape)
      throw Error(fmt::format("{}: tensor '{}' has shape [{}], expected [{}]", *t.file, name,
                              fmt::join(t.shape, ", "), fmt::join(shape, ", ")));
    return ckpt_->toF32(t);
  }

  llm::LinearWeight linear(const std::string &name, int64_t n, int64_t k) override {
    const hf::StTensor &t = ckpt_->get(name + ".weight");
    std::string what = fmt::format("{}: tensor '{}.weight'", *t.file, name);
    if (t.dtype == hf::StDType::U8) return unpack(t, name, n, k, what);
    Tensor dense = tensor(name + ".weight", {n, k});
    // BitNet checkpoints without packed weights hold latent weights that transformers quantizes online.
    if (arch_ == Arch::BitNet) return llm::absmeanTernarize(dense);
    return llm::ternaryFromPseudoQuantized(dense, what);
  }

private:
  std::unique_ptr<hf::Checkpoint> ckpt_;
  Arch arch_;
  ScaleDirection dir_;

  /// BitNet's packed layout: uint8 [n/4, k]; row r of chunk c (output row c * n/4 + r) is
  /// ((p >> 2c) & 3) - 1, so codes 0, 1, 2 are -1, 0, +1.
  llm::LinearWeight unpack(const hf::StTensor &t, const std::string &name, int64_t n, int64_t k,
                           const std::string &what) {
    if (n % 4 != 0 || t.shape != std::vector<int64_t>{n / 4, k})
      throw Error(fmt::format("{}: packed uint8 shape [{}], expected [{}, {}] for a {}x{} layer", what,
                              fmt::join(t.shape, ", "), n / 4, k, n, k));
    llm::LinearWeight w{Tensor(DType::Tern, {n, k}), {TernScale::Tensor, 0}, Tensor(DType::F32, {1})};
    int8_t *dst = w.tern.mutableData<int8_t>();
    int64_t rows = n / 4;
    for (int64_t c = 0; c < 4; ++c)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < k; ++j) {
          int code = (t.data[r * k + j] >> (2 * c)) & 3;
          if (code == 3)
            throw Error(fmt::format("{}: byte [{}, {}] holds the invalid 2-bit code 3 at bits {}..{}", what, r, j,
                                    2 * c, 2 * c + 1));
          dst[(c * rows + r) * k + j] = int8_t(code - 1);
        }
    const hf::StTensor &s = ckpt_->get(name + ".weight_scale");
    if (s.numElements() != 1)
      throw Error(fmt::format("{}: tensor '{}.weight_scale' has {} elements, expected one per-tensor scale", *s.file,
                              name, s.numElements()));
    float ws = ckpt_->toF32(s).data<float>()[0];
    if (!std::isfinite(ws) || ws <= 0)
      throw Error(fmt::format("{}: tensor '{}.weight_scale' is {}, expected a positive scale", *s.file, name, ws));
    w.scale.mutableData<float>()[0] = dir_ == ScaleDirection::Multiply ? ws : 1.0f / ws;
    return w;
  }
};

std::vector<int64_t> idList(const json &v, const std::string &path, const char *key) {
  std::vector<int64_t> out;
  if (v.is_number_integer()) out.push_back(v.get<int64_t>());
  else if (v.is_array())
    for (const json &e : v) {
      if (!e.is_number_integer()) throw Error(fmt::format("{}: \"{}\" must hold integers", path, key));
      out.push_back(e.get<int64_t>());
    }
  else if (!v.is_null())
    throw Error(fmt::format("{}: \"{}\" must be an integer or a list of integers", path, key));
  return out;
}

} // namespace

std::unique_ptr<Module> importHuggingFace(const std::string &dir) {
  fs::path configPath = fs::path(dir) / "config.json";
  Config c(readJson(configPath), configPath.string());
  const std::string &where = c.path();

  std::string archName;
  if (c.raw().contains("architectures") && c.raw()["architectures"].is_array() && !c.raw()["architectures"].empty() &&
      c.raw()["architectures"][0].is_string())
    archName = c.raw()["architectures"][0].get<std::string>();
  else
    throw Error(where + ": missing \"architectures\" (e.g. [\"LlamaForCausalLM\"])");

  llm::DecoderConfig d;
  if (archName == "LlamaForCausalLM") d.arch = Arch::Llama;
  else if (archName == "BitNetForCausalLM" || archName == "BitnetForCausalLM") d.arch = Arch::BitNet;
  else if (archName == "MiniCPMForCausalLM") d.arch = Arch::MiniCPM;
  else
    throw Error(fmt::format("{}: unsupported architecture '{}' (supported: LlamaForCausalLM, BitNetForCausalLM, "
                            "MiniCPMForCausalLM)",
                            where, archName));

  d.vocab = c.integer("vocab_size");
  d.hidden = c.integer("hidden_size");
  d.intermediate = c.integer("intermediate_size");
  d.layers = c.integer("num_hidden_layers");
  d.heads = c.integer("num_attention_heads");
  d.kvHeads = c.integer("num_key_value_heads", d.heads);
  d.headDim = c.integer("head_dim", d.heads > 0 ? d.hidden / d.heads : 0);
  d.rmsEps = c.number("rms_norm_eps", 1e-6);
  d.ropeTheta = c.number("rope_theta", 10000.0);
  d.maxPositions = c.integer("max_position_embeddings", 2048);
  std::string act = c.string("hidden_act", d.arch == Arch::BitNet ? "relu2" : "silu");
  if (act == "relu2" || act == "silu") d.act = act;
  else throw Error(fmt::format("{}: unsupported hidden_act '{}' (supported: silu, relu2)", where, act));
  if (c.has("attention_bias") && c.boolean("attention_bias", false))
    throw Error(where + ": attention_bias = true is not supported (the supported architectures have no biases)");
  if (c.has("bos_token_id")) {
    auto ids = idList(c.raw()["bos_token_id"], where, "bos_token_id");
    if (!ids.empty()) d.bos = ids[0];
  }
  if (c.has("eos_token_id")) d.eos = idList(c.raw()["eos_token_id"], where, "eos_token_id");

  if (d.arch == Arch::MiniCPM) {
    d.embedScale = c.number("scale_emb", 1.0);
    double depth = c.number("scale_depth", 1.0);
    d.residualScale = depth / std::sqrt(double(d.layers > 0 ? d.layers : 1));
    int64_t base = c.integer("dim_model_base", 0);
    if (base > 0) d.logitDivisor = double(d.hidden) / double(base);
  }
  if (c.has("rope_scaling")) {
    const json &rs = c.raw()["rope_scaling"];
    std::string type = rs.is_object() ? rs.value("rope_type", rs.value("type", std::string())) : std::string();
    if (type == "longrope" && d.arch == Arch::MiniCPM) {
      if (!rs.contains("short_factor") || !rs["short_factor"].is_array())
        throw Error(where + ": rope_scaling \"longrope\" without a \"short_factor\" list");
      for (const json &f : rs["short_factor"]) {
        if (!f.is_number()) throw Error(where + ": rope_scaling.short_factor must hold numbers");
        d.ropeFactors.push_back(f.get<float>());
      }
      int64_t original = rs.value("original_max_position_embeddings", int64_t(0));
      if (original <= 0) original = d.maxPositions;
      double scale = double(d.maxPositions) / double(original);
      d.ropeScale = scale > 1 ? std::sqrt(1 + std::log(scale) / std::log(double(original))) : 1.0;
    } else {
      throw Error(fmt::format("{}: unsupported rope_scaling {} for {}", where, rs.dump(), archName));
    }
  }

  ScaleDirection scaleDir = ScaleDirection::Divide;
  if (c.has("quantization_config")) {
    const json &q = c.raw()["quantization_config"];
    if (!q.is_object()) throw Error(where + ": \"quantization_config\" must be an object");
    std::string method = q.value("quant_method", std::string());
    if (method != "bitnet")
      throw Error(fmt::format("{}: unsupported quantization_config.quant_method '{}' (supported: bitnet)", where,
                              method));
    if (q.value("linear_class", std::string("bitlinear")) == "autobitlinear") scaleDir = ScaleDirection::Multiply;
    if (q.value("use_rms_norm", false))
      throw Error(where + ": quantization_config.use_rms_norm = true is not supported");
  }

  auto ckpt = hf::Checkpoint::open(dir);
  // transformers' default differs by architecture; the checkpoint says it plainly: no lm_head means tied.
  d.tiedEmbeddings = c.has("tie_word_embeddings") ? c.boolean("tie_word_embeddings", false)
                                                  : ckpt->find("lm_head.weight") == nullptr;
  if (!d.tiedEmbeddings && !ckpt->find("lm_head.weight"))
    throw Error(fmt::format("{}: tie_word_embeddings is false but the checkpoint in {} has no 'lm_head.weight'", where,
                            dir));

  HfWeights weights(std::move(ckpt), d.arch, scaleDir);
  return llm::buildDecoder(d, weights);
}

} // namespace ternc
