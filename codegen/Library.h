// Library: the C API of a model compiled with --emit=lib — the exported
// wrapper functions in the LLVM module and the header that declares them.
#pragma once

#include "ir/IR.h"

#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/Module.h>

#include <string>
#include <vector>

namespace ternc::codegen {

/// Emits, for each graph of `m`, the external functions `<api>_create`,
/// `_destroy`, `_run`, `_run_shaped`, `_output_shape` and `_last_error` that
/// forward to the runtime's ternc_instance_* with the graph's descriptor
/// (`descriptors`, in graph order). `<api>` is the prefix for the first graph
/// and, when there are several, also `<prefix>_<graph>` for each; those are
/// the names libraryHeader declares. Throws Error if two graphs' names give
/// the same C identifier.
void emitLibraryApi(llvm::Module &lm, const Module &m, const std::string &prefix,
                    const std::vector<llvm::GlobalVariable *> &descriptors);

} // namespace ternc::codegen
