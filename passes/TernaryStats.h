// TernaryStats: how many of a module's parameters are ternary and how many
// stayed float, and why each float matmul weight was not ternarized.
#pragma once

#include "ir/IR.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ternc {

/// Parameter counts of a module after (or without) the ternarize pass. The
/// reasons are computed from the module itself (ternarize records nothing
/// on the ops): each MatMul or Gemm whose weight is a parameter is analyzed
/// the way ternarize analyzes it.
struct TernaryStats {
  /// One matmul's weight.
  struct Weight {
    std::string graph;   ///< the entry graph
    std::string value;   ///< the op's result name
    std::string op;      ///< TernaryMatMul, BitLinear, MatMul, Gemm
    int64_t params = 0;  ///< weight elements (N * K)
    /// Ternary: the granularity ("tensor", "row", "g64"). Float: a short,
    /// stable reason ("not ternary at any granularity", "Gemm with transA").
    std::string kind;
    std::string detail;  ///< float only: the specific evidence
  };
  std::vector<Weight> ternary;       ///< ternary weights (BitLinear's gate weight counts separately)
  std::vector<Weight> stayedFloat;   ///< MatMul/Gemm weights that are parameters but stayed float
  std::vector<Weight> int8;          ///< MatMul weights made int8 per column (quantize-head: the LM head)
  int64_t activationMatMuls = 0;     ///< MatMul/Gemm of two computed values (attention): no parameters
  int64_t scaleParams = 0;           ///< elements of the ternary weights' f32 scales
  int64_t otherFloatParams = 0;      ///< other float constants: norms, embeddings, biases

  int64_t ternaryParams() const;
  int64_t floatMatMulParams() const;
  int64_t int8Params() const;
  /// A readable report: totals, ternary parameters by granularity, float
  /// ones by reason with examples.
  std::string report() const;
};

/// Analyzes every graph of `m`; a weight constant that several graphs share (prefill and decode) counts once.
TernaryStats ternaryStats(const Module &m);

/// A ternary weight found in a float one: tern [N, K] and its f32 scales.
struct TernaryWeightFit {
  TernScale granularity;
  Tensor tern, scale;
  int64_t snapped = 0;  ///< weights moved onto their group's magnitude (see docs/passes.md, ternarize)
};

/// The ternarize pass's detection on a row-major f32 [n, k] weight: the coarsest granularity (tensor, row,
/// group of 128/64/32 along K) at which every value is -a, 0 or +a. On failure `why` says what was found.
std::optional<TernaryWeightFit> fitTernaryWeight(const float *w, int64_t n, int64_t k, std::string &why);

} // namespace ternc
