// IR: attributes, ops, graphs and modules.
#include "ir/IR.h"

#include "ir/Error.h"
#include "ir/OpRegistry.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

namespace ternc {

// ---------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------

AttrKind attrKind(const AttrValue &v) { return AttrKind(v.index()); }

std::string_view attrKindName(AttrKind k) {
  switch (k) {
  case AttrKind::Int: return "int";
  case AttrKind::Float: return "float";
  case AttrKind::String: return "string";
  case AttrKind::Ints: return "ints";
  case AttrKind::Floats: return "floats";
  case AttrKind::Strings: return "strings";
  case AttrKind::DType: return "dtype";
  case AttrKind::Tensor: return "tensor";
  }
  return "?";
}

bool attrValueEqual(const AttrValue &a, const AttrValue &b) {
  if (a.index() != b.index()) return false;
  if (auto *ta = std::get_if<Tensor>(&a)) return ta->identical(std::get<Tensor>(b));
  if (auto *fa = std::get_if<float>(&a)) {
    float fb = std::get<float>(b);
    return std::memcmp(fa, &fb, sizeof(float)) == 0;
  }
  return std::visit(
      [&](const auto &x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Tensor>) return false;  // handled above
        else return x == std::get<T>(b);
      },
      a);
}

const AttrValue *Attrs::find(std::string_view name) const {
  for (const auto &[n, v] : entries_)
    if (n == name) return &v;
  return nullptr;
}

void Attrs::set(std::string name, AttrValue v) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const auto &e, const std::string &n) { return e.first < n; });
  if (it != entries_.end() && it->first == name)
    it->second = std::move(v);
  else
    entries_.insert(it, {std::move(name), std::move(v)});
}

void Attrs::erase(std::string_view name) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](const auto &e) { return e.first == name; }),
                 entries_.end());
}

int64_t Attrs::getInt(std::string_view name, int64_t dflt) const {
  const AttrValue *v = find(name);
  if (!v) return dflt;
  if (auto *i = std::get_if<int64_t>(v)) return *i;
  fail("attribute '{}' is {}, expected int", name, attrKindName(attrKind(*v)));
}

float Attrs::getFloat(std::string_view name, float dflt) const {
  const AttrValue *v = find(name);
  if (!v) return dflt;
  if (auto *f = std::get_if<float>(v)) return *f;
  if (auto *i = std::get_if<int64_t>(v)) return float(*i);
  fail("attribute '{}' is {}, expected float", name, attrKindName(attrKind(*v)));
}

std::string Attrs::getString(std::string_view name, const std::string &dflt) const {
  const AttrValue *v = find(name);
  if (!v) return dflt;
  if (auto *s = std::get_if<std::string>(v)) return *s;
  fail("attribute '{}' is {}, expected string", name, attrKindName(attrKind(*v)));
}

std::vector<int64_t> Attrs::getInts(std::string_view name, const std::vector<int64_t> &dflt) const {
  const AttrValue *v = find(name);
  if (!v) return dflt;
  if (auto *i = std::get_if<std::vector<int64_t>>(v)) return *i;
  fail("attribute '{}' is {}, expected ints", name, attrKindName(attrKind(*v)));
}

std::vector<float> Attrs::getFloats(std::string_view name, const std::vector<float> &dflt) const {
  const AttrValue *v = find(name);
  if (!v) return dflt;
  if (auto *f = std::get_if<std::vector<float>>(v)) return *f;
  fail("attribute '{}' is {}, expected floats", name, attrKindName(attrKind(*v)));
}

bool Attrs::operator==(const Attrs &o) const {
  if (entries_.size() != o.entries_.size()) return false;
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].first != o.entries_[i].first || !attrValueEqual(entries_[i].second, o.entries_[i].second))
      return false;
  return true;
}

// ---------------------------------------------------------------------------
// Op
// ---------------------------------------------------------------------------

const std::string &Op::opName() const { return def_->name; }

Value *Op::addResult(std::string name, Type type) {
  auto v = std::make_unique<Value>();
  v->kind_ = Value::Kind::Result;
  v->name_ = std::move(name);
  v->type_ = std::move(type);
  v->def_ = this;
  v->index_ = unsigned(results_.size());
  v->graph_ = graph_;
  results_.push_back(std::move(v));
  return results_.back().get();
}

void Op::inferTypes() {
  InferContext ctx(*this);
  if (def_->infer) def_->infer(ctx);
}

// ---------------------------------------------------------------------------
// Graph
// ---------------------------------------------------------------------------

void Graph::eraseArgument(size_t i) {
  if (i >= args_.size()) fail("graph {}: no argument {}", name_, i);
  const Value *v = args_[i].get();
  auto uses = useCounts();
  if (uses.count(v) && uses.at(v) > 0) fail("graph {}: argument %{} is still used", name_, v->name());
  args_.erase(args_.begin() + long(i));
  for (size_t k = i; k < args_.size(); ++k) args_[k]->index_ = unsigned(k);
}

void Graph::eraseOutput(size_t i) {
  if (i >= outputs_.size()) fail("graph {}: no output {}", name_, i);
  outputs_.erase(outputs_.begin() + long(i));
  outputNames_.erase(outputNames_.begin() + long(i));
}

void Graph::specializeSymbols(const std::map<std::string, int64_t> &values) {
  for (auto &a : args_) a->type_ = a->type_.substitute(values);
  for (auto &op : ops_) op->inferTypes();
}

Value *Graph::addArgument(std::string name, Type type) {
  auto v = std::make_unique<Value>();
  v->kind_ = Value::Kind::Argument;
  reserveName(name);
  v->name_ = std::move(name);
  v->type_ = std::move(type);
  v->index_ = unsigned(args_.size());
  v->graph_ = this;
  args_.push_back(std::move(v));
  return args_.back().get();
}

Op *Graph::createOp(std::string_view opName, std::vector<Value *> operands, Attrs attrs, Op *before) {
  const OpDef *def = OpRegistry::global().find(opName);
  if (!def) fail("unknown op '{}'", opName);
  auto op = std::make_unique<Op>();
  op->def_ = def;
  op->graph_ = this;
  op->operands_ = std::move(operands);
  op->attrs_ = std::move(attrs);
  Op *raw = op.get();
  if (before) {
    auto it = std::find_if(ops_.begin(), ops_.end(), [&](const auto &p) { return p.get() == before; });
    ops_.insert(it, std::move(op));
  } else {
    ops_.push_back(std::move(op));
  }
  return raw;
}

Op *Graph::buildOp(std::string_view opName, std::vector<Value *> operands, Attrs attrs,
                   std::vector<std::string> resultNames, Op *before) {
  Op *op = createOp(opName, std::move(operands), std::move(attrs), before);
  for (auto &n : resultNames) op->addResult(uniqueName(n.empty() ? std::string(opName) : n));
  op->inferTypes();
  return op;
}

void Graph::eraseOp(Op *op) {
  eraseOpsIf([&](Op *o) { return o == op; });
}

void Graph::eraseOpsIf(const std::function<bool(Op *)> &pred) {
  ops_.erase(std::remove_if(ops_.begin(), ops_.end(), [&](const auto &p) { return pred(p.get()); }), ops_.end());
}

void Graph::replaceAllUses(Value *from, Value *to) {
  for (auto &op : ops_)
    for (auto &o : op->operands_)
      if (o == from) o = to;
  for (auto &o : outputs_)
    if (o == from) o = to;
}

void Graph::sortTopologically() {
  // Kahn's algorithm, preferring the existing order (stable).
  std::unordered_map<const Value *, Op *> producer;
  for (auto &op : ops_)
    for (auto &r : op->results_) producer[r.get()] = op.get();
  std::unordered_map<Op *, size_t> index;
  for (size_t i = 0; i < ops_.size(); ++i) index[ops_[i].get()] = i;
  std::vector<int> pending(ops_.size(), 0);
  std::vector<std::vector<size_t>> users(ops_.size());
  for (size_t i = 0; i < ops_.size(); ++i) {
    std::unordered_set<Op *> seen;
    for (Value *v : ops_[i]->operands_) {
      auto it = producer.find(v);
      if (it == producer.end() || !seen.insert(it->second).second) continue;
      ++pending[i];
      users[index[it->second]].push_back(i);
    }
  }
  std::vector<size_t> order;
  std::vector<size_t> ready;
  for (size_t i = ops_.size(); i-- > 0;)
    if (pending[i] == 0) ready.push_back(i);
  // `ready` is kept sorted descending so that back() is the earliest op.
  while (!ready.empty()) {
    size_t i = ready.back();
    ready.pop_back();
    order.push_back(i);
    for (size_t u : users[i])
      if (--pending[u] == 0) {
        ready.push_back(u);
        std::sort(ready.begin(), ready.end(), std::greater<>());
      }
  }
  if (order.size() != ops_.size()) fail("graph '{}' has a cycle", name_);
  std::vector<std::unique_ptr<Op>> sorted;
  sorted.reserve(ops_.size());
  for (size_t i : order) sorted.push_back(std::move(ops_[i]));
  ops_ = std::move(sorted);
}

std::unordered_map<const Value *, int> Graph::useCounts() const {
  std::unordered_map<const Value *, int> counts;
  for (const auto &op : ops_)
    for (Value *v : op->operands_)
      if (v) ++counts[v];
  for (Value *v : outputs_) ++counts[v];
  return counts;
}

std::string Graph::uniqueName(std::string_view hint) {
  std::string base(hint.empty() ? "v" : hint);
  auto [it, inserted] = names_.insert({base, 0});
  if (inserted) return base;
  for (;;) {
    std::string cand = fmt::format("{}_{}", base, ++it->second);
    if (names_.insert({cand, 0}).second) return cand;
  }
}

// ---------------------------------------------------------------------------
// Module
// ---------------------------------------------------------------------------

Value *Module::addConstant(std::string name, Tensor data, std::optional<Type> type, std::string layout) {
  std::string unique = name.empty() ? "c" : name;
  for (int n = 1; constantByName_.count(unique); ++n) unique = fmt::format("{}_{}", name, n);
  auto c = std::make_unique<Constant>();
  c->value.kind_ = Value::Kind::Constant;
  c->value.name_ = unique;
  if (type) {
    c->value.type_ = *type;
  } else {
    std::vector<Dim> dims(data.shape().begin(), data.shape().end());
    c->value.type_ = Type(data.dtype(), std::move(dims));
  }
  c->value.constant_ = c.get();
  c->data = std::move(data);
  c->layout = std::move(layout);
  constantByName_[unique] = c.get();
  constants_.push_back(std::move(c));
  return &constants_.back()->value;
}

Value *Module::findConstant(std::string_view name) const {
  auto it = constantByName_.find(std::string(name));
  return it == constantByName_.end() ? nullptr : &it->second->value;
}

void Module::eraseUnusedConstants() {
  std::unordered_set<const Value *> used;
  for (const auto &g : graphs_) {
    for (const auto &op : g->ops())
      for (Value *v : op->operands())
        if (v) used.insert(v);
    for (Value *v : g->outputs()) used.insert(v);
  }
  std::vector<std::unique_ptr<Constant>> kept;
  for (auto &c : constants_) {
    if (used.count(&c->value))
      kept.push_back(std::move(c));
    else
      constantByName_.erase(c->value.name());
  }
  constants_ = std::move(kept);
}

StateVar *Module::addState(std::string name, Type type) {
  states_.push_back(std::make_unique<StateVar>(StateVar{std::move(name), std::move(type)}));
  return states_.back().get();
}

Graph *Module::addGraph(std::string name) {
  graphs_.push_back(std::make_unique<Graph>(this, std::move(name)));
  return graphs_.back().get();
}

Graph *Module::cloneGraph(const Graph &g, std::string name) {
  Graph *c = addGraph(std::move(name));
  std::unordered_map<const Value *, Value *> map;
  auto mapped = [&](Value *v) -> Value * {
    if (!v || v->kind() == Value::Kind::Constant) return v;
    return map.at(v);
  };
  for (const auto &a : g.arguments()) map[a.get()] = c->addArgument(a->name(), a->type());
  for (const auto &op : g.ops()) {
    std::vector<Value *> operands;
    for (Value *v : op->operands()) operands.push_back(mapped(v));
    Op *n = c->createOp(op->opName(), std::move(operands), op->attrs());
    n->setLoc(op->loc());
    for (size_t i = 0; i < op->numResults(); ++i) {
      const Value *r = op->result(i);
      c->reserveName(r->name());
      Value *nr = n->addResult(r->name(), r->type());
      nr->setSymbolicValue(r->symbolicValue());
      map[r] = nr;
    }
  }
  for (size_t i = 0; i < g.outputs().size(); ++i) c->addOutput(g.outputNames()[i], mapped(g.outputs()[i]));
  return c;
}

void Module::eraseGraph(Graph *g) {
  graphs_.erase(std::remove_if(graphs_.begin(), graphs_.end(), [&](const auto &p) { return p.get() == g; }),
                graphs_.end());
}

StateVar *Module::findState(std::string_view name) const {
  for (const auto &s : states_)
    if (s->name == name) return s.get();
  return nullptr;
}

Graph *Module::findGraph(std::string_view name) const {
  for (const auto &g : graphs_)
    if (g->name() == name) return g.get();
  return nullptr;
}

} // namespace ternc
