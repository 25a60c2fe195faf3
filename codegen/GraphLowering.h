// GraphLowering: lowers one planned graph to a `run` function and its
// `ternc_model` descriptor.
#pragma once

#include "ir/IR.h"

#include <llvm/IR/Module.h>

#include <map>
#include <string>

namespace ternc::codegen {

/// Globals shared by every graph of a module: weights (each constant once)
/// and C strings.
class ModuleGlobals {
public:
  explicit ModuleGlobals(llvm::Module &m) : m_(m) {}
  /// The read-only, 64-byte aligned global holding a constant's bytes.
  llvm::Constant *constant(const Constant &c);
  llvm::Constant *cstring(const std::string &s);

private:
  llvm::Module &m_;
  std::map<const Constant *, llvm::Constant *> constants_;
  std::map<std::string, llvm::Constant *> strings_;
};

/// Emits the graph's functions and returns its descriptor, the external
/// global `<prefix>_<graph>_model`.
llvm::GlobalVariable *lowerGraph(llvm::Module &m, const Graph &g, const std::string &prefix, ModuleGlobals &globals);

} // namespace ternc::codegen
