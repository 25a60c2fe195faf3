// OpRegistry: the one table of op definitions that the parser, printer,
// verifier, shape inference, interpreter and constant folder all read.
#pragma once

#include "ir/IR.h"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ternc {

/// One attribute of an op's schema.
struct AttrSpec {
  std::string name;
  AttrKind kind;
  bool required = false;
};

/// What type inference sees of one op: its operand types, known constant
/// operand values, attributes, and where to report errors.
class InferContext {
public:
  explicit InferContext(Op &op) : op_(op) {}
  Op &op() { return op_; }
  size_t numInputs() const { return op_.numOperands(); }
  /// True if operand i is present (optional operands may be omitted).
  bool hasInput(size_t i) const { return op_.operand(i) != nullptr; }
  const Type &inputType(size_t i) const;
  /// The value of operand i if it is a module constant, else null.
  const Tensor *constantInput(size_t i) const;
  /// The (possibly symbolic) contents of an integer operand: from a
  /// constant, or from Value::symbolicValue(). nullopt if unknown.
  std::optional<std::vector<Dim>> symbolicInput(size_t i) const;
  const Attrs &attrs() const { return op_.attrs(); }
  void setResultType(size_t i, Type t);
  void setResultSymbolicValue(size_t i, std::vector<Dim> v);
  /// Throws Error: "<loc>: <OpName>: <message>".
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args &&...args) const {
    failMessage(fmt::format(f, std::forward<Args>(args)...));
  }
  [[noreturn]] void failMessage(const std::string &msg) const;

private:
  Op &op_;
};

/// What evaluation sees: input tensors (invalid Tensor for omitted optional
/// inputs) and attributes. Returns the result tensors.
struct ModuleState;

class EvalContext {
public:
  EvalContext(const Op &op, std::vector<Tensor> inputs, ModuleState *state = nullptr,
              const std::map<std::string, int64_t> *symbols = nullptr)
      : op_(op), inputs_(std::move(inputs)), state_(state), symbols_(symbols) {}
  /// The module state, for the state ops; null outside a stateful run.
  ModuleState *state() const { return state_; }
  /// The symbol values of the running graph (null when folding constants).
  const std::map<std::string, int64_t> *symbols() const { return symbols_; }
  const Op &op() const { return op_; }
  size_t numInputs() const { return inputs_.size(); }
  bool hasInput(size_t i) const { return i < inputs_.size() && inputs_[i].isValid(); }
  const Tensor &input(size_t i) const { return inputs_[i]; }
  const Attrs &attrs() const { return op_.attrs(); }
  /// The static result type inferred at compile time (may hold unknown dims).
  const Type &resultType(size_t i) const { return op_.result(i)->type(); }
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args &&...args) const {
    failMessage(fmt::format(f, std::forward<Args>(args)...));
  }
  [[noreturn]] void failMessage(const std::string &msg) const;

private:
  const Op &op_;
  std::vector<Tensor> inputs_;
  ModuleState *state_ = nullptr;
  const std::map<std::string, int64_t> *symbols_ = nullptr;
};

using InferFn = std::function<void(InferContext &)>;
using EvalFn = std::function<std::vector<Tensor>(EvalContext &)>;

/// The declaration of one op.
struct OpDef {
  std::string name;     ///< e.g. "Add", "TernaryMatMul"
  std::string summary;  ///< one line, shown by `ternc ops`
  int minInputs = 0;
  int maxInputs = 0;    ///< -1: variadic
  int minOutputs = 1;
  int maxOutputs = 1;   ///< -1: variadic (count chosen by the op's creator)
  std::vector<AttrSpec> attrs;
  /// Sets result types from operand types and attributes; throws on error.
  InferFn infer;
  /// Reference semantics: obviously correct, not fast.
  EvalFn eval;
  /// False for ops with side effects (state writes): never folded,
  /// deduplicated or deleted.
  bool pure = true;
  /// Attributes not in `attrs` are rejected by the verifier unless true.
  bool openAttrs = false;
  /// True if each result element is a function of the operand elements at
  /// the same index under numpy broadcasting (Add, Exp, Where, Cast, ...).
  bool elementwise = false;
};

/// Annotation attributes (`mem.slot`, any name with a '.') are allowed on
/// every op: passes record analysis results in them (plan-memory) without
/// changing the op's schema. Passes that rewrite an op may drop them.
inline bool isAnnotationAttr(std::string_view name) { return name.find('.') != std::string_view::npos; }

/// The registry of all op definitions.
class OpRegistry {
public:
  /// The process-wide registry with every built-in op registered.
  static OpRegistry &global();
  void add(OpDef def);
  const OpDef *find(std::string_view name) const;
  std::vector<const OpDef *> all() const;

private:
  std::map<std::string, OpDef, std::less<>> defs_;
};

/// Built-in op families, each defined in ir/ops/<Family>.cpp.
void registerElementwiseOps(OpRegistry &r);
void registerReductionOps(OpRegistry &r);
void registerNNOps(OpRegistry &r);        // MatMul, Gemm, Softmax, LayerNorm, quantization
void registerShapeOps(OpRegistry &r);     // Reshape, Transpose, Gather, Concat, Slice, ...
void registerTernaryOps(OpRegistry &r);   // TernaryMatMul, ActQuant, BitLinear
void registerStateOps(OpRegistry &r);     // CacheUpdate, CacheRead, Attention

} // namespace ternc
