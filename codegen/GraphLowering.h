// GraphLowering: lowers one planned graph to a `run` function and its
// `ternc_model` descriptor.
#pragma once

#include "codegen/Codegen.h"
#include "ir/IR.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <map>
#include <set>
#include <string>

namespace ternc::codegen {

/// Globals shared by every graph of a module: weights (each constant once)
/// and C strings.
class ModuleGlobals {
public:
  /// `external`: null if every constant becomes an LLVM global; else the blob that constants of at least
  /// ExternalWeights::kMinBytes join instead (an executable's weights after its ELF image), addressed from
  /// the pointers in `externalBase` (the dense part) and `sparseBase` (the sparse part: the constants in
  /// `sparse`) that main() sets at start-up.
  explicit ModuleGlobals(llvm::Module &m, ExternalWeights *external = nullptr,
                         llvm::GlobalVariable *externalBase = nullptr, llvm::GlobalVariable *sparseBase = nullptr,
                         std::set<const Value *> sparse = {})
      : m_(m), external_(external), externalBase_(externalBase), sparseBase_(sparseBase), sparse_(std::move(sparse)) {}
  /// The address of a constant's bytes (64-byte aligned, read-only) at b's insertion point.
  llvm::Value *constant(llvm::IRBuilder<> &b, const Constant &c);
  llvm::Constant *cstring(const std::string &s);

private:
  llvm::Module &m_;
  ExternalWeights *external_;
  llvm::GlobalVariable *externalBase_, *sparseBase_;
  std::set<const Value *> sparse_;
  std::map<const Constant *, llvm::Constant *> constants_;
  std::map<const Constant *, uint64_t> offsets_;
  std::map<std::string, llvm::Constant *> strings_;
};

/// Emits the graph's functions and returns its descriptor, the external
/// global `<prefix>_<graph>_model`.
llvm::GlobalVariable *lowerGraph(llvm::Module &m, const Graph &g, const std::string &prefix, ModuleGlobals &globals);

} // namespace ternc::codegen
