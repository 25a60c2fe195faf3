// Interpreter: runs a graph op by op with each OpDef's reference eval,
// binding symbolic dims from the inputs and checking every result against
// the type that inference recorded for it.
#include "ir/Interpreter.h"

#include "ir/Error.h"
#include "ir/OpRegistry.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <new>
#include <unordered_map>

namespace ternc {

namespace {

std::string shapeStr(const std::vector<int64_t> &shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

std::string tensorTypeStr(const Tensor &t) { return fmt::format("{}{}", dtypeName(t.dtype()), shapeStr(t.shape())); }

/// Values of the symbols in the graph's dims, with where each was bound
/// (for error messages).
class SymbolBindings {
public:
  const std::map<std::string, int64_t> &env() const { return env_; }
  void bind(const std::string &s, int64_t v, std::string where) {
    env_[s] = v;
    origin_[s] = std::move(where);
  }

  /// Matches one concrete extent against a (possibly symbolic) dim. Binds a
  /// dim's single unbound symbol when the dim is linear in it (`seq`,
  /// `past+seq` once `past` is known, `2*n`). Returns false when the dim
  /// still has unbound symbols it cannot solve for (call again later).
  /// Throws the message from `mismatch(expectedText)` on a contradiction.
  template <typename Mismatch>
  bool match(const Dim &dim, int64_t extent, const std::string &where, Mismatch &&mismatch) {
    if (dim.isUnknown()) return true;
    if (auto v = dim.evaluate(env_)) {
      if (*v != extent) mismatch(describe(dim, *v));
      return true;
    }
    std::vector<std::string> unbound;
    for (const auto &s : dim.symbols())
      if (!env_.count(s)) unbound.push_back(s);
    if (unbound.size() != 1) return false;
    // f(s) = a*s + b, found by evaluating at s = 0, 1 and checked at s = 2.
    const std::string &s = unbound[0];
    auto at = [&](int64_t x) {
      auto env = env_;
      env[s] = x;
      return *dim.evaluate(env);
    };
    int64_t b = at(0), a = at(1) - b;
    if (a == 0 || at(2) != b + 2 * a) return false;
    if ((extent - b) % a != 0 || (extent - b) / a < 0)
      mismatch(fmt::format("{} (no value of '{}' gives {})", dim.str(), s, extent));
    env_[s] = (extent - b) / a;
    origin_[s] = where;
    return true;
  }

  /// `past+seq` -> `past+seq = 7 (past = 3 from input 'kv', seq = 4 from input 'x')`.
  std::string describe(const Dim &dim, int64_t value) const {
    std::vector<std::string> parts;
    for (const auto &s : dim.symbols()) parts.push_back(fmt::format("{} = {} from {}", s, env_.at(s), origin_.at(s)));
    if (dim.isStatic()) return std::to_string(value);
    if (dim.symbols().size() == 1 && dim == Dim::symbol(dim.symbols()[0])) return parts[0];
    return fmt::format("{} = {} ({})", dim.str(), value, fmt::join(parts, ", "));
  }

private:
  std::map<std::string, int64_t> env_;
  std::map<std::string, std::string> origin_;
};

/// Checks a concrete tensor against a declared type, binding symbols.
/// Dims whose symbols are not yet bound are returned for a second pass.
struct PendingDim {
  const Dim *dim;
  int64_t extent;
  size_t axis;
  size_t owner;  // index into the caller's list of checked tensors
};

template <typename Fail>
void checkAgainstType(SymbolBindings &syms, const Tensor &t, const Type &type, const std::string &where, size_t owner,
                      std::vector<PendingDim> &pending, Fail &&failWith) {
  if (t.dtype() != type.dtype())
    failWith(fmt::format("expected {}, got {}", type.str(), tensorTypeStr(t)));
  if (!type.isRanked()) return;
  if (t.rank() != type.rank())
    failWith(fmt::format("expected {} (rank {}), got {} (rank {})", type.str(), type.rank(), tensorTypeStr(t),
                         t.rank()));
  for (size_t i = 0; i < type.rank(); ++i) {
    int64_t extent = t.shape()[i];
    bool done = syms.match(type.dim(i), extent, where, [&](const std::string &expected) {
      failWith(fmt::format("dim {} is {}, but the type {} requires {}", i, extent, type.str(), expected));
    });
    if (!done) pending.push_back({&type.dim(i), extent, i, owner});
  }
}

[[noreturn]] void failNamingOp(const Op &op, const std::string &msg) {
  std::string where = op.loc().empty() ? std::string() : op.loc() + ": ";
  fail("{}{}: {}", where, op.opName(), msg);
}

} // namespace

std::vector<Tensor> evaluateOp(const Op &op, const std::vector<Tensor> &inputs, ModuleState *state,
                               const std::map<std::string, int64_t> *symbols) {
  const OpDef &def = op.def();
  if (!def.eval) failNamingOp(op, "has no reference semantics (no eval in its OpDef)");
  EvalContext ctx(op, inputs, state, symbols);
  std::vector<Tensor> results;
  try {
    results = def.eval(ctx);
  } catch (const Error &) {
    throw;
  } catch (const std::bad_alloc &) {
    failNamingOp(op, "out of memory");
  } catch (const std::exception &e) {
    failNamingOp(op, fmt::format("internal error: {}", e.what()));
  }
  if (results.size() != op.numResults())
    failNamingOp(op, fmt::format("internal error: eval returned {} results for an op with {}", results.size(),
                                 op.numResults()));
  // Dtype, rank and static dims must be what inference said; symbolic dims
  // are checked by interpret(), which knows the symbols' values.
  for (size_t i = 0; i < results.size(); ++i) {
    const Tensor &r = results[i];
    const Type &type = op.result(i)->type();
    if (!r.isValid()) failNamingOp(op, fmt::format("internal error: eval returned no tensor for result {}", i));
    bool ok = r.dtype() == type.dtype();
    if (ok && type.isRanked()) {
      ok = r.rank() == type.rank();
      for (size_t d = 0; ok && d < type.rank(); ++d)
        ok = !type.dim(d).isStatic() || type.dim(d).value() == r.shape()[d];
    }
    if (!ok)
      failNamingOp(op, fmt::format("internal error: result {} ('{}') is {} but type inference said {}", i,
                                   op.result(i)->name(), tensorTypeStr(r), type.str()));
  }
  return results;
}

bool isStateOp(const Op &op) {
  const std::string &n = op.opName();
  return n == "CacheUpdate" || n == "CacheRead" || n == "CacheWrite" || n == "Attention";
}

std::optional<Dim> cachedLengthAfter(const Op &op) {
  if (op.opName() != "CacheUpdate" && op.opName() != "CacheWrite") return std::nullopt;
  const Type &t = op.operand(0)->type();
  int64_t axis = op.attrs().getInt("axis", 0);
  if (axis < 0) axis += int64_t(t.rank());
  if (axis < 0 || axis >= int64_t(t.rank())) return std::nullopt;
  return Dim::symbol(op.attrs().getString("past", "")) + t.dim(size_t(axis));
}

std::vector<Tensor> interpret(const Graph &graph, const std::vector<Tensor> &inputs, ModuleState *state) {
  const auto &args = graph.arguments();
  if (inputs.size() != args.size())
    fail("graph '{}' takes {} inputs, but {} were given", graph.name(), args.size(), inputs.size());

  // The state binds the cached length (`past` of the state ops) and the
  // capacity symbol; then symbols come from the inputs: first every dim that
  // can be solved on its own, then the remaining polynomial dims once their
  // symbols are known.
  SymbolBindings syms;
  bool stateful = false;
  for (const auto &op : graph.ops())
    if (isStateOp(*op)) {
      if (!state) fail("graph '{}' reads and writes module state: run it with the module's state", graph.name());
      stateful = true;
      syms.bind(op->attrs().getString("past", ""), state->length, "the cached length");
    }
  if (stateful) {
    std::string cap = stateCapacitySymbol(*graph.module());
    if (!cap.empty()) syms.bind(cap, state->capacity, "the state's capacity");
  }
  std::vector<PendingDim> pending;
  auto inputFailer = [&](size_t i) {
    return [&, i](const std::string &msg) { fail("input '{}': {}", args[i]->name(), msg); };
  };
  for (size_t i = 0; i < args.size(); ++i) {
    if (!inputs[i].isValid()) fail("input '{}' has no value", args[i]->name());
    checkAgainstType(syms, inputs[i], args[i]->type(), fmt::format("input '{}'", args[i]->name()), i, pending,
                     inputFailer(i));
  }
  for (bool progress = true; progress && !pending.empty();) {
    progress = false;
    std::vector<PendingDim> still;
    for (const PendingDim &p : pending) {
      const Type &type = args[p.owner]->type();
      bool done = syms.match(*p.dim, p.extent, fmt::format("input '{}'", args[p.owner]->name()),
                             [&](const std::string &expected) {
                               inputFailer(p.owner)(fmt::format("dim {} is {}, but the type {} requires {}", p.axis,
                                                                p.extent, type.str(), expected));
                             });
      if (done) progress = true;
      else still.push_back(p);
    }
    pending = std::move(still);
  }
  // Dims like `a*b` whose symbols appear nowhere else stay unchecked: any
  // extent is consistent with some binding.

  // Where each value is last used, so that its tensor is freed after it.
  std::unordered_map<const Value *, size_t> lastUse;
  const auto &ops = graph.ops();
  for (size_t k = 0; k < ops.size(); ++k)
    for (const Value *v : ops[k]->operands())
      if (v) lastUse[v] = k;
  for (const Value *v : graph.outputs()) lastUse[v] = ops.size();

  std::unordered_map<const Value *, Tensor> live;
  for (size_t i = 0; i < args.size(); ++i) live[args[i].get()] = inputs[i];

  auto valueOf = [&](const Op &op, const Value *v) -> Tensor {
    if (!v) return Tensor();
    if (v->constant()) return v->constant()->data;
    auto it = live.find(v);
    if (it == live.end())
      failNamingOp(op, fmt::format("internal error: operand '{}' has no value (not defined before its use)",
                                   v->name()));
    return it->second;
  };

  for (size_t k = 0; k < ops.size(); ++k) {
    const Op &op = *ops[k];
    std::vector<Tensor> in;
    in.reserve(op.numOperands());
    for (const Value *v : op.operands()) in.push_back(valueOf(op, v));
    std::vector<Tensor> out = evaluateOp(op, in, state, &syms.env());
    in.clear();

    std::vector<PendingDim> unsolved;
    for (size_t i = 0; i < out.size(); ++i) {
      const Value *r = op.result(i);
      checkAgainstType(syms, out[i], r->type(), fmt::format("result '{}' of {}", r->name(), op.opName()), i,
                       unsolved, [&](const std::string &msg) {
                         failNamingOp(op, fmt::format("internal error: result {} ('{}') does not match its inferred "
                                                      "type: {}",
                                                      i, r->name(), msg));
                       });
      auto use = lastUse.find(r);
      if (use != lastUse.end()) live[r] = std::move(out[i]);
    }
    for (const Value *v : op.operands()) {
      auto use = lastUse.find(v);
      if (v && !v->constant() && use != lastUse.end() && use->second == k) live.erase(v);
    }
  }

  // The cache now holds what the CacheUpdate ops appended.
  if (stateful)
    for (const auto &op : graph.ops())
      if (auto len = cachedLengthAfter(*op))
        if (auto v = len->evaluate(syms.env())) state->length = *v;

  std::vector<Tensor> results;
  results.reserve(graph.outputs().size());
  for (size_t i = 0; i < graph.outputs().size(); ++i) {
    const Value *v = graph.outputs()[i];
    if (v->constant()) {
      results.push_back(v->constant()->data);
      continue;
    }
    auto it = live.find(v);
    if (it == live.end()) fail("graph '{}': output '{}' was never computed", graph.name(), graph.outputNames()[i]);
    results.push_back(it->second);
  }
  return results;
}

std::vector<Tensor> interpret(const Graph &graph, const std::map<std::string, Tensor> &inputs,
                              ModuleState *state) {
  std::vector<Tensor> ordered;
  std::vector<std::string> names;
  for (const auto &a : graph.arguments()) names.push_back(a->name());
  for (const auto &a : graph.arguments()) {
    auto it = inputs.find(a->name());
    if (it == inputs.end()) fail("missing input '{}' (graph '{}' takes: {})", a->name(), graph.name(), fmt::join(names, ", "));
    ordered.push_back(it->second);
  }
  for (const auto &[name, t] : inputs)
    if (std::find(names.begin(), names.end(), name) == names.end())
      fail("unknown input '{}' (graph '{}' takes: {})", name, graph.name(), fmt::join(names, ", "));
  return interpret(graph, ordered, state);
}

} // namespace ternc
