// ternarize: MatMul and Gemm ops whose weight is a ternary constant (every
// value of a tensor, row or group is -a, 0 or +a), or is computed from
// constants by a weight quantizer, become TernaryMatMul on a tern constant
// and its scales (docs/passes.md, "ternarize"). Also ternaryStats(), which
// reuses the same analysis.
#include "passes/Passes.h"
#include "passes/QuantizeHead.h"
#include "passes/TernaryPatterns.h"
#include "passes/TernaryStats.h"

#include "ir/Error.h"
#include "ir/Interpreter.h"
#include "ir/OpRegistry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace ternc {

namespace {

using namespace patterns;

/// Group sizes along K tried after per-tensor and per-row scales, coarsest
/// first (BitCPM-CANN's g = 128, 64 or 32; 256 is the GGUF ternary block).
constexpr int64_t kGroupSizes[] = {256, 128, 64, 32};

/// How far (relative) a nonzero weight may sit from its group's magnitude
/// and still be snapped onto it, when no granularity fits exactly. Latent
/// weights behind the straight-through estimator w + (q(w) - w), folded to
/// a constant, miss q(w) by a rounding of (q(w) - w): a few ulps for
/// outliers far beyond the scale (|w| > 2a), 2^-16 covers |w| up to ~256a.
constexpr double kSnapTolerance = 1.0 / 65536;

/// A weight matrix as [N, K] row-major floats: N output features, K the
/// reduction axis (the layout of tern tensors). A view of the constant when
/// it already has that layout, else of a transposed copy.
struct WeightMatrix {
  const float *v = nullptr;
  std::vector<float> transposed;
  int64_t n = 0, k = 0;
};

/// A ternary weight found in a float one.
struct TernaryFit {
  TernScale granularity;
  Tensor tern, scale;
  int64_t snapped = 0;  ///< weights moved onto their group's magnitude
};

std::string granularityName(TernScale g) {
  switch (g.kind) {
  case TernScale::Tensor: return "tensor";
  case TernScale::Row: return "row";
  case TernScale::Group: return fmt::format("g{}", g.group);
  case TernScale::None: break;
  }
  return "none";
}

/// The tern value of a pseudo-quantized weight: its sign.
int8_t ternarySign(float x) { return int8_t(x > 0 ? 1 : x < 0 ? -1 : 0); }

/// out[c * rows + r] = f(in[r * cols + c]): [rows, cols] to [cols, rows] in tiles, so that both sides stay in
/// cache (a [K, N] MatMul weight to the [N, K] of tern tensors).
template <typename T, typename F>
void transposeInTiles(const float *in, int64_t rows, int64_t cols, T *out, F f) {
  constexpr int64_t kTile = 64;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile)
    for (int64_t c0 = 0; c0 < cols; c0 += kTile)
      for (int64_t r = r0; r < std::min(r0 + kTile, rows); ++r)
        for (int64_t c = c0; c < std::min(c0 + kTile, cols); ++c) out[c * rows + r] = f(in[r * cols + c]);
}

/// The magnitude a of one group (values at [row, k0..k1) for each listed
/// row), such that every value is 0 or +-a; 0 for an all-zero group. In
/// snap mode a is the majority magnitude (the exact q(w) of the unrounded
/// weights) and the others may miss it by kSnapTolerance. On failure, `why`
/// says what was found.
std::optional<float> groupMagnitude(const WeightMatrix &w, int64_t row0, int64_t row1, int64_t k0, int64_t k1,
                                    bool snap, int64_t &snapped, std::string &why) {
  auto where = [&] {
    if (row1 - row0 > 1) return std::string("the tensor");
    if (k1 - k0 == w.k) return fmt::format("row {}", row0);
    return fmt::format("row {}, k {}..{}", row0, k0, k1 - 1);
  };
  // Boyer-Moore majority vote over the nonzero magnitudes; in exact mode
  // the first one must be the only one.
  float candidate = 0;
  int64_t votes = 0, nonzero = 0;
  for (int64_t r = row0; r < row1; ++r)
    for (int64_t j = k0; j < k1; ++j) {
      float v = w.v[r * w.k + j];
      if (!std::isfinite(v)) {
        why = fmt::format("{} holds {}", where(), v);
        return std::nullopt;
      }
      if (v == 0) continue;
      float m = std::fabs(v);
      ++nonzero;
      if (!snap) {
        if (candidate == 0) candidate = m;
        if (m != candidate) {
          why = fmt::format("{} holds magnitudes {} and {}", where(), candidate, m);
          return std::nullopt;
        }
        continue;
      }
      if (votes == 0) candidate = m;
      votes += m == candidate ? 1 : -1;
    }
  if (!snap || nonzero == 0) return candidate;
  int64_t off = 0;
  for (int64_t r = row0; r < row1; ++r)
    for (int64_t j = k0; j < k1; ++j) {
      float v = w.v[r * w.k + j];
      if (v == 0) continue;
      float m = std::fabs(v);
      if (m == candidate) continue;
      if (std::fabs(double(m) - double(candidate)) > kSnapTolerance * double(candidate)) {
        why = fmt::format("{} holds magnitudes {} and {}", where(), candidate, m);
        return std::nullopt;
      }
      ++off;
    }
  snapped += off;
  return candidate;
}

/// Fits `w` at granularity `g` (exactly, or snapping); on failure sets `why`.
std::optional<TernaryFit> fitAt(const WeightMatrix &w, TernScale g, bool snap, std::string &why) {
  int64_t groupSize = g.kind == TernScale::Group ? g.group : w.k;
  int64_t groupsPerRow = g.kind == TernScale::Group ? w.k / g.group : 1;
  TernaryFit fit;
  fit.granularity = g;
  std::vector<int64_t> scaleShape = g.kind == TernScale::Tensor ? std::vector<int64_t>{1}
                                    : g.kind == TernScale::Row  ? std::vector<int64_t>{w.n}
                                                                : std::vector<int64_t>{w.n, groupsPerRow};
  fit.scale = Tensor(DType::F32, scaleShape);
  float *scale = fit.scale.mutableData<float>();
  if (g.kind == TernScale::Tensor) {
    auto a = groupMagnitude(w, 0, w.n, 0, w.k, snap, fit.snapped, why);
    if (!a) return std::nullopt;
    scale[0] = *a;
  } else {
    for (int64_t r = 0; r < w.n; ++r)
      for (int64_t gi = 0; gi < groupsPerRow; ++gi) {
        auto a = groupMagnitude(w, r, r + 1, gi * groupSize, (gi + 1) * groupSize, snap, fit.snapped, why);
        if (!a) return std::nullopt;
        scale[r * groupsPerRow + gi] = *a;
      }
  }
  fit.tern = Tensor(DType::Tern, {w.n, w.k});
  int8_t *t = fit.tern.mutableData<int8_t>();
  for (int64_t i = 0; i < w.n * w.k; ++i) t[i] = ternarySign(w.v[i]);
  return fit;
}

/// The coarsest granularity at which `w` is ternary: per tensor, per row,
/// per group of 128, 64, 32 along K; exact fits first, then snapped ones
/// (see kSnapTolerance). On failure `why` holds the finest attempt's
/// evidence.
std::optional<TernaryFit> fitTernary(const WeightMatrix &w, std::string &why) {
  std::vector<TernScale> order = {{TernScale::Tensor, 0}, {TernScale::Row, 0}};
  for (int64_t g : kGroupSizes)
    if (g < w.k && w.k % g == 0) order.push_back({TernScale::Group, g});
  for (bool snap : {false, true})
    for (TernScale g : order)
      if (auto fit = fitAt(w, g, snap, why)) return fit;
  std::vector<std::string> tried;
  for (TernScale g : order) tried.push_back(granularityName(g));
  why = fmt::format("tried {}; at {}, {}", fmt::join(tried, ", "), tried.back(), why);
  return std::nullopt;
}

/// The per-tensor exact fit read straight from the weight as stored, [K, N] or [N, K] (`transposed`): the first
/// attempt of fitTernary, without the f32 [N, K] copy the other granularities need. A weight that is not ternary
/// per tensor gives nullopt, and fitTernary then tries the rest. The checks are the same as groupMagnitude's
/// (every value finite, 0 or +-a; -0 is 0), on bit patterns so the loop vectorizes.
std::optional<TernaryFit> fitTensorInPlace(const float *v, int64_t rows, int64_t cols, bool transposed) {
  const int64_t count = rows * cols;
  auto magnitude = [](float x) {
    uint32_t b;
    std::memcpy(&b, &x, 4);
    return b & 0x7fffffffu;
  };
  uint32_t a = 0;
  for (int64_t i = 0; i < count && a == 0; ++i) a = magnitude(v[i]);
  if (a >= 0x7f800000u) return std::nullopt;  // inf or nan
  uint32_t bad = 0;
  for (int64_t i = 0; i < count; ++i) {
    uint32_t m = magnitude(v[i]);
    bad |= uint32_t(m != 0 && m != a);
  }
  if (bad) return std::nullopt;
  TernaryFit fit;
  fit.granularity = {TernScale::Tensor, 0};
  fit.scale = Tensor(DType::F32, {1});
  std::memcpy(fit.scale.mutableData<float>(), &a, 4);
  const int64_t n = transposed ? rows : cols, k = transposed ? cols : rows;
  fit.tern = Tensor(DType::Tern, {n, k});
  int8_t *t = fit.tern.mutableData<int8_t>();
  if (transposed)
    for (int64_t i = 0; i < count; ++i) t[i] = ternarySign(v[i]);
  else
    transposeInTiles(v, rows, cols, t, ternarySign);
  return fit;
}

/// Values computed only from constants, evaluated with the interpreter's
/// evaluateOp (the weight quantizer subgraph when fold-constants has not
/// run). Memoized per value.
class ConstantEvaluator {
public:
  std::optional<Tensor> valueOf(const Value *v, int depth = 0) {
    if (!v) return std::nullopt;
    if (const Tensor *t = constantData(v)) return *t;
    Op *op = v->definingOp();
    if (!op || depth > kMaxDepth || !op->def().pure || !op->def().eval) return std::nullopt;
    // Generators (Expand, ConstantOfShape) could ask for any amount of
    // memory; weights are far below this.
    const Type &t = v->type();
    if (!t.isStatic() || *t.numElements() * int64_t(dtypeSize(t.dtype())) > kMaxBytes) return std::nullopt;
    if (auto it = cache_.find(v); it != cache_.end()) return it->second;
    std::optional<Tensor> result;
    std::vector<Tensor> inputs;
    bool allConstant = true;
    for (Value *operand : op->operands()) {
      if (!operand) {
        inputs.emplace_back();
        continue;
      }
      auto t = valueOf(operand, depth + 1);
      if (!t) {
        allConstant = false;
        break;
      }
      inputs.push_back(std::move(*t));
    }
    if (allConstant) {
      try {
        auto results = evaluateOp(*op, inputs);
        result = results[v->resultIndex()];
      } catch (const Error &) {
        // An op that cannot be evaluated now fails when the program runs.
      }
    }
    cache_[v] = result;
    return result;
  }

private:
  static constexpr int kMaxDepth = 256;
  static constexpr int64_t kMaxBytes = int64_t(1) << 32;
  std::unordered_map<const Value *, std::optional<Tensor>> cache_;
};

/// What ternarize makes of one MatMul or Gemm.
struct Analysis {
  Value *x = nullptr;       ///< the activations
  Value *weight = nullptr;  ///< the weight operand
  bool transposed = false;  ///< the weight operand is [N,K] (Gemm transB)
  bool activation = false;  ///< the weight is computed from graph inputs
  int64_t params = 0;
  std::string kind, detail;  ///< why not, when !fit
  std::optional<TernaryFit> fit;
};

Analysis analyze(const Op &op, ConstantEvaluator &eval) {
  Analysis a;
  a.x = op.operand(0);
  a.weight = op.operand(1);
  auto refuse = [&](std::string kind, std::string detail) {
    a.kind = std::move(kind);
    a.detail = std::move(detail);
    return a;
  };
  std::optional<Tensor> w = eval.valueOf(a.weight);
  if (!w) {
    a.activation = true;
    return refuse("activation matmul", "the weight operand is computed from graph inputs");
  }
  a.params = w->numElements();
  if (op.opName() == "Gemm") {
    a.transposed = op.attrs().getInt("transB", 0) != 0;
    if (op.attrs().getInt("transA", 0) != 0) return refuse("Gemm with transA", "transA = 1");
    float alpha = op.attrs().getFloat("alpha", 1.0f), beta = op.attrs().getFloat("beta", 1.0f);
    if (alpha != 1.0f) return refuse("Gemm with alpha != 1", fmt::format("alpha = {}", alpha));
    if (op.operand(2) && beta != 0.0f && beta != 1.0f)
      return refuse("Gemm with beta not 0 or 1", fmt::format("beta = {}", beta));
  }
  if (w->dtype() != DType::F32 || w->rank() != 2)
    return refuse("weight not f32[K,N]", fmt::format("the weight is {}[{}]", dtypeName(w->dtype()),
                                                     fmt::join(w->shape(), ",")));
  const Type &x = a.x->type();
  if (x.dtype() != DType::F32 || !x.isRanked() || x.rank() == 0)
    return refuse("activations not f32", fmt::format("the activations are {}", x.str()));
  int64_t rows = w->shape()[0], cols = w->shape()[1];
  // Weights memory-mapped from the model's files are read once here: their pages go back to the page cache
  // afterwards, so a 10 GB f32 checkpoint streams through instead of staying resident.
  struct Release {
    const Tensor &t;
    ~Release() { t.storage()->releaseResident(t.byteOffset(), t.byteSize()); }
  } release{*w};
  if ((a.fit = fitTensorInPlace(w->data<float>(), rows, cols, a.transposed))) return a;
  WeightMatrix m;
  m.n = a.transposed ? rows : cols;
  m.k = a.transposed ? cols : rows;
  const float *p = w->data<float>();
  if (a.transposed) {
    m.v = p;
  } else {
    m.transposed.resize(size_t(m.n * m.k));
    transposeInTiles(p, rows, cols, m.transposed.data(), [](float x) { return x; });
    m.v = m.transposed.data();
  }
  std::string why;
  a.fit = fitTernary(m, why);
  if (!a.fit) return refuse("not ternary at any granularity", why);
  return a;
}

class Ternarize final : public BuiltinPass {
public:
  Ternarize() : BuiltinPass("ternarize") {}

  bool run(Module &m) override {
    bool changed = false;
    for (const auto &g : m.graphs()) {
      ConstantEvaluator eval;
      // A weight read by several matmuls (tied) becomes one tern constant.
      std::map<std::pair<const Value *, bool>, std::pair<Value *, Value *>> made;
      std::vector<Op *> candidates;
      for (const auto &op : g->ops())
        if (op->opName() == "MatMul" || op->opName() == "Gemm") candidates.push_back(op.get());
      for (Op *op : candidates) {
        Analysis a = analyze(*op, eval);
        if (!a.fit) continue;
        auto key = std::make_pair(a.weight, a.transposed);
        if (!made.count(key)) {
          // Named after the weight value: the constant, or the last op of its
          // quantizer subgraph (what fold-constants would name it).
          const std::string &base = a.weight->name();
          Value *tern = m.addConstant(base + "_tern", a.fit->tern,
                                      Type::tern(a.fit->granularity, {Dim(a.fit->tern.shape()[0]),
                                                                      Dim(a.fit->tern.shape()[1])}));
          Value *scale = m.addConstant(base + "_scale", a.fit->scale);
          made[key] = {tern, scale};
        }
        auto [tern, scale] = made[key];
        Op *tmm = g->buildOp("TernaryMatMul", {a.x, tern, scale}, {}, {op->result()->name() + "_tmm"}, op);
        Value *result = tmm->result();
        if (op->opName() == "Gemm" && op->operand(2) && op->attrs().getFloat("beta", 1.0f) != 0.0f)
          result = g->buildOp("Add", {result, op->operand(2)}, {}, {op->result()->name() + "_bias"}, op)->result();
        if (result->type() != op->result()->type()) {
          // Inference disagrees (a symbolic dim Gemm left unknown): keep the op.
          g->eraseOpsIf([&](Op *o) { return o == tmm || (result != tmm->result() && o == result->definingOp()); });
          continue;
        }
        replaceOpKeepingName(*g, op, result);
        changed = true;
      }
    }
    if (!changed) return false;
    eraseDeadOps(m);
    m.eraseUnusedConstants();
    return true;
  }
};

std::string withThousands(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return v < 0 ? "-" + out : out;
}

} // namespace

std::unique_ptr<Pass> createTernarizePass() { return std::make_unique<Ternarize>(); }

int64_t TernaryStats::ternaryParams() const {
  int64_t n = 0;
  for (const auto &w : ternary) n += w.params;
  return n;
}

int64_t TernaryStats::floatMatMulParams() const {
  int64_t n = 0;
  for (const auto &w : stayedFloat) n += w.params;
  return n;
}

int64_t TernaryStats::int8Params() const {
  int64_t n = 0;
  for (const auto &w : int8) n += w.params;
  return n;
}

std::string TernaryStats::report() const {
  int64_t tern = ternaryParams(), flt = floatMatMulParams();
  int64_t all = tern + flt + int8Params() + scaleParams + otherFloatParams;
  auto pct = [&](int64_t v) { return all ? 100.0 * double(v) / double(all) : 0.0; };
  std::string out;
  out += fmt::format("ternary parameters:      {:>15} ({:5.1f}%) in {} matmul weights\n", withThousands(tern),
                     pct(tern), ternary.size());
  std::map<std::string, std::pair<int64_t, int64_t>> byKind;
  for (const auto &w : ternary) {
    byKind[w.kind].first += w.params;
    ++byKind[w.kind].second;
  }
  for (const auto &[kind, v] : byKind)
    out += fmt::format("  per {:<8}           {:>15} in {}\n", kind, withThousands(v.first), v.second);
  out += fmt::format("ternary scales (f32):    {:>15} ({:5.1f}%)\n", withThousands(scaleParams), pct(scaleParams));
  out += fmt::format("float matmul parameters: {:>15} ({:5.1f}%) in {} matmul weights\n", withThousands(flt), pct(flt),
                     stayedFloat.size());
  std::map<std::string, std::vector<const Weight *>> whyFloat;
  for (const auto &w : stayedFloat) whyFloat[w.kind].push_back(&w);
  for (const auto &[kind, list] : whyFloat) {
    int64_t params = 0;
    for (const Weight *w : list) params += w->params;
    out += fmt::format("  {}: {} in {}\n", kind, withThousands(params), list.size());
    constexpr size_t kExamples = 5;
    for (size_t i = 0; i < list.size() && i < kExamples; ++i)
      out += fmt::format("    {} %{} ({}, {}): {}\n", list[i]->graph, list[i]->value, list[i]->op,
                         withThousands(list[i]->params), list[i]->detail);
    if (list.size() > kExamples) out += fmt::format("    ... and {} more\n", list.size() - kExamples);
  }
  if (!int8.empty()) {
    int64_t params = int8Params();
    out += fmt::format("int8 matmul parameters:  {:>15} ({:5.1f}%) in {} matmul weights (per-column scales, "
                       "quantize-head)\n",
                       withThousands(params), pct(params), int8.size());
  }
  out += fmt::format("other float parameters:  {:>15} ({:5.1f}%) (norms, embeddings, biases, ...)\n",
                     withThousands(otherFloatParams), pct(otherFloatParams));
  if (activationMatMuls)
    out += fmt::format("matmuls of two activations (no parameters): {}\n", activationMatMuls);
  return out;
}

TernaryStats ternaryStats(const Module &m) {
  TernaryStats stats;
  std::unordered_set<const Value *> counted;  // constants accounted for as weights or scales
  for (const auto &g : m.graphs()) {
    ConstantEvaluator eval;
    for (const auto &opPtr : g->ops()) {
      const Op &op = *opPtr;
      const std::string &name = op.opName();
      auto addTernary = [&](size_t wi, size_t si) {
        const Value *w = op.operand(wi);
        if (!w || (w->constant() && !counted.insert(w).second)) return;
        TernaryStats::Weight entry{g->name(), op.result()->name(), name, 0, granularityName(w->type().ternScale()), ""};
        if (auto n = w->type().numElements()) entry.params = *n;
        stats.ternary.push_back(entry);
        if (const Value *s = op.operand(si); s && s->constant() && counted.insert(s).second)
          stats.scaleParams += s->constant()->data.numElements();
      };
      if (name == "TernaryMatMul") {
        addTernary(1, 2);
      } else if (name == "BitLinear") {
        addTernary(2, 3);
        addTernary(5, 6);
      } else if (auto q = matchInt8Weight(op)) {
        if (!counted.insert(q->q).second) continue;
        counted.insert(q->scale);
        stats.int8.push_back({g->name(), op.result()->name(), name, q->n * q->k, "int8 per column", ""});
      } else if (name == "MatMul" || name == "Gemm") {
        if (const Value *w = op.operand(1); w && w->constant() && counted.count(w)) continue;
        Analysis a = analyze(op, eval);
        if (a.activation) {
          ++stats.activationMatMuls;
          continue;
        }
        std::string kind = a.fit ? "ternary, not yet ternarized" : a.kind;
        std::string detail = a.fit ? fmt::format("ternary per {}; run the ternarize pass",
                                                 granularityName(a.fit->granularity))
                                   : a.detail;
        stats.stayedFloat.push_back({g->name(), op.result()->name(), name, a.params, kind, detail});
        if (a.weight->constant()) counted.insert(a.weight);
      }
    }
  }
  for (const auto &c : m.constants())
    if (isFloat(c->data.dtype()) && !counted.count(&c->value)) stats.otherFloatParams += c->data.numElements();
  return stats;
}

std::optional<TernaryWeightFit> fitTernaryWeight(const float *w, int64_t n, int64_t k, std::string &why) {
  WeightMatrix m;
  m.v = w;
  m.n = n;
  m.k = k;
  auto fit = fitTernary(m, why);
  if (!fit) return std::nullopt;
  return TernaryWeightFit{fit->granularity, std::move(fit->tern), std::move(fit->scale), fit->snapped};
}

} // namespace ternc
