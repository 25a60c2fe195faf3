// NodeTestBackend: how the ONNX node-test runner executes an imported model.
// The interpreter is one backend; a compiled backend (compile to an
// executable, run it, read its outputs) plugs in beside it.
#pragma once

#include "ir/IR.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ternc::nodetest {

/// Runs one imported test model on concrete inputs.
class NodeTestBackend {
public:
  virtual ~NodeTestBackend() = default;
  /// The name used on the command line (`--backend NAME`) and in the
  /// checked-in list of passing cases (`passing-NAME.txt`).
  virtual std::string name() const = 0;
  /// Returns one tensor per output of the module's `main` graph. `workDir`
  /// is an empty folder private to this case, for backends that write
  /// files. Throws Error on failure.
  virtual std::vector<Tensor> run(Module &module, const std::vector<Tensor> &inputs,
                                  const std::filesystem::path &workDir) = 0;
};

/// The reference interpreter.
std::unique_ptr<NodeTestBackend> createInterpreterBackend();

/// The backend named `name`, or null if there is none.
std::unique_ptr<NodeTestBackend> createBackend(const std::string &name);

/// Names accepted by createBackend(), for --help and errors.
std::vector<std::string> backendNames();

} // namespace ternc::nodetest
