// kv-cache: turns a decoder exported with its KV cache as graph inputs and
// outputs (Hugging Face Optimum's convention: `past_key_values.N.key` in,
// `present.N.key` = Concat(past, new) out) into module state and two entry
// graphs, `prefill` and `decode`, that share it.
//
// The cache pairs are found by their role, not their names: a graph input
// that an output concatenates with rows the graph computed, along one axis,
// where the
// input's extent on that axis is a bare symbol (the cached length, `past`)
// and the rows it adds are a bare symbol too (`seq`), the same for every
// pair. Each pair becomes a state `@<output name>` sized by a capacity
// symbol (`ctx`), the Concat a CacheUpdate, and any other use of the past
// input (e.g. Shape, to find the position offset) a CacheRead. Generation
// runs one sequence, so a symbolic batch is specialized to 1; `decode` is
// `prefill` with seq = 1. A graph without cache pairs is left alone.
#include "passes/Passes.h"

#include "ir/Error.h"
#include "ir/Interpreter.h"

#include <algorithm>
#include <set>

namespace ternc {

namespace {

/// The symbol if `d` is exactly one symbol, else "".
std::string bareSymbol(const Dim &d) {
  if (d.isSymbolic() && d.terms().size() == 1 && d.terms()[0].second == 1 && d.terms()[0].first.size() == 1)
    return d.terms()[0].first[0];
  return "";
}

struct CachePair {
  size_t output;   // index of the `present` output
  Value *past;     // the graph input
  Op *concat;
  int64_t axis;
};

class KVCache final : public BuiltinPass {
public:
  KVCache(std::string_view name, DType dtype) : BuiltinPass(name), dtype_(dtype) {}

  bool run(Module &m) override {
    if (m.graphs().size() != 1 || !m.states().empty()) return false;
    Graph &g = *m.graphs()[0];
    std::vector<CachePair> pairs;
    std::string past, seq;
    for (size_t i = 0; i < g.outputs().size(); ++i) {
      Value *y = g.outputs()[i];
      Op *c = y->definingOp();
      if (!c || c->opName() != "Concat" || c->numOperands() != 2 || !c->operand(0) || !c->operand(1)) continue;
      Value *x = c->operand(0);
      // The new rows are computed by the graph (keys, values), not passed in.
      if (c->operand(1)->kind() != Value::Kind::Result) continue;
      if (x->kind() != Value::Kind::Argument || !x->type().isRanked() || !isFloat(x->type().dtype())) continue;
      int64_t rank = int64_t(x->type().rank()), axis = c->attrs().getInt("axis", 0);
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank) continue;
      std::string p = bareSymbol(x->type().dim(size_t(axis)));
      std::string s = bareSymbol(y->type().dim(size_t(axis)) - x->type().dim(size_t(axis)));
      if (p.empty() || s.empty()) continue;
      if (!past.empty() && (p != past || s != seq))
        fail("graph {}: cache output '{}' appends '{}' rows to '{}', but '{}' appends '{}' to '{}': every cache must "
             "share its lengths",
             g.name(), g.outputNames()[i], s, p, g.outputNames()[pairs[0].output], seq, past);
      past = p;
      seq = s;
      pairs.push_back({i, x, c, axis});
    }
    if (pairs.empty()) return false;

    // One sequence: a symbolic batch (dim 0 of the cache inputs) becomes 1.
    std::map<std::string, int64_t> batch;
    for (const CachePair &pr : pairs)
      if (pr.axis != 0) {
        std::string b = bareSymbol(pr.past->type().dim(0));
        if (!b.empty() && b != past && b != seq) batch[b] = 1;
      }
    if (!batch.empty()) g.specializeSymbols(batch);

    std::string capacity = freshSymbol(g, "ctx");
    auto uses = g.useCounts();
    std::set<size_t> deadOutputs;
    std::vector<Value *> deadInputs;
    for (const CachePair &pr : pairs) {
      const std::string &name = g.outputNames()[pr.output];
      std::vector<Dim> dims = pr.past->type().dims();
      dims[size_t(pr.axis)] = Dim::symbol(capacity);
      if (m.findState(name)) fail("graph {}: two cache outputs are named '{}'", g.name(), name);
      m.addState(name, Type(dtype_, dims));
      Attrs attrs;
      attrs.set("state", name);
      attrs.set("axis", pr.axis);
      attrs.set("past", past);
      Op *update = g.buildOp("CacheUpdate", {pr.concat->operand(1)}, attrs, {pr.concat->result()->name() + ".cache"},
                             pr.concat);
      update->setLoc(pr.concat->loc());
      deadOutputs.insert(pr.output);
      g.replaceAllUses(pr.concat->result(), update->result());
      if (uses[pr.past] > 1) {
        Attrs ra = attrs;
        ra.set("dtype", pr.past->type().dtype());
        Op *read = g.buildOp("CacheRead", {}, ra, {pr.past->name() + ".cached"}, g.ops().front().get());
        g.replaceAllUses(pr.past, read->result());
      }
      g.eraseOp(pr.concat);
      deadInputs.push_back(pr.past);
    }
    for (auto it = deadOutputs.rbegin(); it != deadOutputs.rend(); ++it) g.eraseOutput(*it);
    for (Value *x : deadInputs) g.eraseArgument(x->resultIndex());

    m.cloneGraph(g, "prefill");
    m.cloneGraph(g, "decode")->specializeSymbols({{seq, 1}});
    m.eraseGraph(&g);
    return true;
  }

private:
  DType dtype_;

  static std::string freshSymbol(const Graph &g, const std::string &hint) {
    std::set<std::string> used;
    auto add = [&](const Type &t) {
      for (const Dim &d : t.dims())
        for (const std::string &s : d.symbols()) used.insert(s);
    };
    for (const auto &a : g.arguments()) add(a->type());
    for (const auto &op : g.ops())
      for (size_t i = 0; i < op->numResults(); ++i) add(op->result(i)->type());
    std::string s = hint;
    for (int n = 1; used.count(s); ++n) s = hint + std::to_string(n);
    return s;
  }
};

} // namespace

std::unique_ptr<Pass> createKVCachePass() { return std::make_unique<KVCache>("kv-cache", DType::F32); }
std::unique_ptr<Pass> createKVCacheF16Pass() { return std::make_unique<KVCache>("kv-cache-f16", DType::F16); }

} // namespace ternc
