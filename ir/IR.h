// IR: the ternc module — constants, state, entry graphs of SSA ops.
#pragma once

#include "ir/Tensor.h"
#include "ir/Type.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace ternc {

class Op;
class Graph;
class Module;
struct OpDef;
struct Constant;
struct StateVar;

// ---------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------

/// Kinds of attribute values. Text forms: `3`, `1.5`, `"s"`, `[1, 2]`,
/// `[1.5, 2.0]`, `f32` (dtype), `dense<...> : f32[2]` (tensor), `["a", "b"]`.
enum class AttrKind : uint8_t { Int, Float, String, Ints, Floats, Strings, DType, Tensor };

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                               std::vector<std::string>, DType, Tensor>;

AttrKind attrKind(const AttrValue &v);
std::string_view attrKindName(AttrKind k);

/// An op's attributes, kept sorted by name so that printing is deterministic.
class Attrs {
public:
  bool has(std::string_view name) const { return find(name) != nullptr; }
  const AttrValue *find(std::string_view name) const;
  void set(std::string name, AttrValue v);
  void erase(std::string_view name);
  int64_t getInt(std::string_view name, int64_t dflt) const;
  float getFloat(std::string_view name, float dflt) const;
  std::string getString(std::string_view name, const std::string &dflt) const;
  std::vector<int64_t> getInts(std::string_view name, const std::vector<int64_t> &dflt = {}) const;
  std::vector<float> getFloats(std::string_view name, const std::vector<float> &dflt = {}) const;
  const std::vector<std::pair<std::string, AttrValue>> &entries() const { return entries_; }
  bool operator==(const Attrs &o) const;
  bool empty() const { return entries_.empty(); }

private:
  std::vector<std::pair<std::string, AttrValue>> entries_;
};

bool attrValueEqual(const AttrValue &a, const AttrValue &b);

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

/// An SSA value: a graph argument, an op result, or a module constant
/// (printed `%name`, `%name`, `@name`).
class Value {
public:
  enum class Kind : uint8_t { Argument, Result, Constant };

  Kind kind() const { return kind_; }
  const std::string &name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }
  const Type &type() const { return type_; }
  void setType(Type t) { type_ = std::move(t); }

  /// Defining op for results, else null.
  Op *definingOp() const { return def_; }
  unsigned resultIndex() const { return index_; }
  /// The module constant for Kind::Constant, else null.
  Constant *constant() const { return constant_; }
  /// Graph for arguments and results; null for constants.
  Graph *graph() const { return graph_; }

  /// Known symbolic contents of a small 1-D or scalar integer tensor (the
  /// result of Shape and the arithmetic on it), used by shape inference to
  /// see through `Reshape(x, Concat(Shape(x)[0], -1))`. Unset when unknown.
  const std::optional<std::vector<Dim>> &symbolicValue() const { return symValue_; }
  void setSymbolicValue(std::optional<std::vector<Dim>> v) { symValue_ = std::move(v); }

private:
  friend class Op;
  friend class Graph;
  friend class Module;
  Kind kind_ = Kind::Argument;
  std::string name_;
  Type type_;
  Op *def_ = nullptr;
  unsigned index_ = 0;
  Constant *constant_ = nullptr;
  Graph *graph_ = nullptr;
  std::optional<std::vector<Dim>> symValue_;
};

// ---------------------------------------------------------------------------
// Ops
// ---------------------------------------------------------------------------

/// An operation: an OpDef, operands (null for an omitted optional input,
/// printed `_`), attributes and result values. `loc` says where it came
/// from (`model.onnx: node "Add_3"` or `f.tir:12:5`) for diagnostics.
class Op {
public:
  const OpDef &def() const { return *def_; }
  const std::string &opName() const;
  Graph *graph() const { return graph_; }

  size_t numOperands() const { return operands_.size(); }
  Value *operand(size_t i) const { return i < operands_.size() ? operands_[i] : nullptr; }
  const std::vector<Value *> &operands() const { return operands_; }
  void setOperand(size_t i, Value *v) { operands_[i] = v; }
  void setOperands(std::vector<Value *> v) { operands_ = std::move(v); }

  size_t numResults() const { return results_.size(); }
  Value *result(size_t i = 0) const { return results_[i].get(); }
  /// Adds a result value; its type is set by shape inference or the caller.
  Value *addResult(std::string name, Type type = Type());

  Attrs &attrs() { return attrs_; }
  const Attrs &attrs() const { return attrs_; }
  const std::string &loc() const { return loc_; }
  void setLoc(std::string l) { loc_ = std::move(l); }

  /// Runs the OpDef's type inference and sets the result types (and
  /// symbolic values). Throws Error naming loc() on failure.
  void inferTypes();

private:
  friend class Graph;
  const OpDef *def_ = nullptr;
  Graph *graph_ = nullptr;
  std::vector<Value *> operands_;
  std::vector<std::unique_ptr<Value>> results_;
  Attrs attrs_;
  std::string loc_;
};

// ---------------------------------------------------------------------------
// Graphs and modules
// ---------------------------------------------------------------------------

/// An entry graph: arguments, ops in a topological (dominance) order, and
/// named outputs. Output names stay fixed when passes replace the values.
class Graph {
public:
  Graph(Module *m, std::string name) : module_(m), name_(std::move(name)) {}
  Module *module() const { return module_; }
  const std::string &name() const { return name_; }

  Value *addArgument(std::string name, Type type);
  const std::vector<std::unique_ptr<Value>> &arguments() const { return args_; }
  Value *argument(size_t i) const { return args_[i].get(); }
  /// Removes an argument; it must be unused.
  void eraseArgument(size_t i);

  /// Creates an op at the end (or before `before`). Throws Error if no op
  /// of that name is registered. Results are added by the caller.
  Op *createOp(std::string_view opName, std::vector<Value *> operands, Attrs attrs = {}, Op *before = nullptr);
  /// Creates an op and adds `numResults` results named from `resultNames`
  /// (or fresh names), then infers their types.
  Op *buildOp(std::string_view opName, std::vector<Value *> operands, Attrs attrs,
              std::vector<std::string> resultNames, Op *before = nullptr);
  const std::vector<std::unique_ptr<Op>> &ops() const { return ops_; }
  /// Removes an op; its results must be unused.
  void eraseOp(Op *op);
  /// Removes every op for which `pred` is true (results must be unused).
  void eraseOpsIf(const std::function<bool(Op *)> &pred);
  /// Replaces every use of `from` (operands and outputs) with `to`.
  void replaceAllUses(Value *from, Value *to);
  /// Reorders ops topologically (stable); throws Error on a cycle.
  void sortTopologically();
  /// Number of uses of each value by ops and graph outputs.
  std::unordered_map<const Value *, int> useCounts() const;

  void addOutput(std::string name, Value *v) { outputNames_.push_back(std::move(name)); outputs_.push_back(v); }
  const std::vector<Value *> &outputs() const { return outputs_; }
  const std::vector<std::string> &outputNames() const { return outputNames_; }
  void setOutput(size_t i, Value *v) { outputs_[i] = v; }
  void eraseOutput(size_t i);

  /// Replaces symbols by values in the argument types and re-infers every
  /// op's result types (e.g. `seq` = 1 for a decode graph). Throws Error if
  /// inference fails under the new shapes.
  void specializeSymbols(const std::map<std::string, int64_t> &values);

  /// A value name not yet used in this graph, starting from `hint`.
  std::string uniqueName(std::string_view hint);
  /// Registers a name as used (the parser and importers call this).
  void reserveName(const std::string &n) { names_.insert({n, 0}); }

private:
  Module *module_;
  std::string name_;
  std::vector<std::unique_ptr<Value>> args_;
  std::vector<std::unique_ptr<Op>> ops_;
  std::vector<Value *> outputs_;
  std::vector<std::string> outputNames_;
  std::unordered_map<std::string, int> names_;
};

/// A module constant (`@name`): its value, its data and the memory layout of
/// that data. `layout` is "" for the plain row-major form; targets record
/// their packing here (e.g. "tern2b64", ir/TernaryPacking.h).
struct Constant {
  Value value;
  Tensor data;
  std::string layout;
};

/// Module state that outlives one graph run (e.g. a KV cache), shared by the
/// entry graphs. A KV cache is `f32[1,kv_heads,ctx,head_dim]`, its capacity a
/// symbol (`ctx`) that the host binds when it allocates the state; the ops
/// that read and write it are in ir/ops/State.cpp.
struct StateVar {
  std::string name;
  Type type;
};

/// The unit of compilation: constants and state shared by one or more entry
/// graphs (e.g. `prefill` and `decode`).
class Module {
public:
  explicit Module(std::string name = "model") : name_(std::move(name)) {}
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;

  const std::string &name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }

  /// Adds a constant; the name is made unique. Its type is derived from the
  /// tensor unless `type` is given (tern types carry a granularity).
  Value *addConstant(std::string name, Tensor data, std::optional<Type> type = std::nullopt,
                     std::string layout = "");
  const std::vector<std::unique_ptr<Constant>> &constants() const { return constants_; }
  Value *findConstant(std::string_view name) const;
  /// Drops constants no graph uses.
  void eraseUnusedConstants();

  StateVar *addState(std::string name, Type type);
  const std::vector<std::unique_ptr<StateVar>> &states() const { return states_; }

  Graph *addGraph(std::string name);
  const std::vector<std::unique_ptr<Graph>> &graphs() const { return graphs_; }
  Graph *findGraph(std::string_view name) const;
  /// A copy of `g` named `name` (same constants, states and attributes).
  Graph *cloneGraph(const Graph &g, std::string name);
  void eraseGraph(Graph *g);
  StateVar *findState(std::string_view name) const;

private:
  std::string name_;
  std::vector<std::unique_ptr<Constant>> constants_;
  std::unordered_map<std::string, Constant *> constantByName_;
  std::vector<std::unique_ptr<StateVar>> states_;
  std::vector<std::unique_ptr<Graph>> graphs_;
};

} // namespace ternc
