// DecoderBuilder: builds the IR of a decoder-only language model (LLaMA, BitNet b1.58, MiniCPM / BitCPM) from
// a configuration and its weights, for the importers of checkpoints that hold weights but no graph (Hugging
// Face safetensors folders, GGUF files). The graph is the one the ONNX route imports from an Optimum-style
// export of the same model (docs/frontend-hf.md, "The decoder graph"): the same inputs and outputs, the same
// core ops in the same order, with each BitNet linear layer already a TernaryMatMul behind the per-token
// int8 fake-quantizer, so the pipeline (act-quant, fuse-bitlinear, kv-cache, fuse-attention) treats both
// routes alike.
#pragma once

#include "ir/IR.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ternc::llm {

enum class Arch { Llama, BitNet, MiniCPM };
const char *archName(Arch a);

/// The hyperparameters the graph depends on. Field meanings follow the Hugging Face configs.
struct DecoderConfig {
  Arch arch = Arch::Llama;
  int64_t vocab = 0, hidden = 0, intermediate = 0, layers = 0, heads = 0, kvHeads = 0, headDim = 0;
  double rmsEps = 1e-5;
  double ropeTheta = 10000;
  /// Rows of the RoPE tables: the longest context the model supports.
  int64_t maxPositions = 2048;
  bool tiedEmbeddings = false;
  /// The FFN activation on the gate: "silu" (SwiGLU) or "relu2" (BitNet 2B4T's squared ReLU).
  std::string act = "silu";
  /// MiniCPM's muP scaling: embeddings * embedScale, residual + branch * residualScale, and the head reads
  /// h / logitDivisor. 1 means absent (no op emitted).
  double embedScale = 1, residualScale = 1, logitDivisor = 1;
  /// LongRoPE (MiniCPM): each frequency divided by its factor (headDim / 2 of them) and cos/sin times
  /// ropeScale. Empty: plain RoPE.
  std::vector<float> ropeFactors;
  double ropeScale = 1;
  std::optional<int64_t> bos;
  std::vector<int64_t> eos;

  /// Throws Error (prefixed by `where`) if a value is out of range or inconsistent.
  void validate(const std::string &where) const;
};

/// One linear layer's weight in the PyTorch layout [N, K] = [out_features, in_features].
struct LinearWeight {
  Tensor tern;  ///< tern [N, K] with values -1/0/+1
  TernScale granularity;
  Tensor scale;  ///< f32 multipliers: [1], [N] or [N, K/g]; the weight is tern * scale
};

/// Where the builder gets its weights, named as in a Hugging Face checkpoint ("model.layers.0.mlp.up_proj").
class WeightSource {
public:
  virtual ~WeightSource() = default;
  /// Where errors point (the file or folder).
  virtual std::string where() const = 0;
  virtual bool has(const std::string &name) const = 0;
  /// A float tensor (embeddings, norm weights, the head) as f32 in the PyTorch layout.
  virtual Tensor tensor(const std::string &name, const std::vector<int64_t> &shape) = 0;
  /// The ternary weight of linear layer `name` (without ".weight"), of shape [n, k].
  virtual LinearWeight linear(const std::string &name, int64_t n, int64_t k) = 0;
};

/// Builds the decoder as one graph @main in the convention of Optimum's decoder-with-past exports: inputs
/// input_ids, attention_mask, position_ids, past_key_values.N.key/.value; outputs logits and
/// present.N.key/.value. Constants are named after the checkpoint tensors.
std::unique_ptr<Module> buildDecoder(const DecoderConfig &cfg, WeightSource &weights);

/// The ternary form of a pseudo-quantized dense weight f32 [N, K] (every value of a tensor, row or group is
/// -a, 0 or +a; the coarsest such granularity, found by the ternarize pass's detection). Throws Error naming
/// `what` and the evidence when the weight is not ternary.
LinearWeight ternaryFromPseudoQuantized(const Tensor &dense, const std::string &what);

/// BitNet b1.58's online weight quantization of a latent weight f32 [N, K], as transformers' WeightQuant:
/// s = 1 / max(mean|W|, 1e-5); W~ = clamp(round(W * s), -1, 1); the weight is W~ / s (one per-tensor scale).
LinearWeight absmeanTernarize(const Tensor &latent);

/// Checks that `t` is f32 of exactly `shape`; throws Error naming `what` otherwise.
void expectShape(const Tensor &t, const std::vector<int64_t> &shape, const std::string &what);

} // namespace ternc::llm
