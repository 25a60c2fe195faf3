// NodeTestBackend: how the ONNX node-test runner executes a test case: the
// reference interpreter on the imported module, or the compiled backend
// (`ternc compile` to an executable, run it, read its .npy outputs).
#pragma once

#include "ir/IR.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ternc::nodetest {

/// One data set of a case (test_data_set_N), as files and as tensors, both
/// in the order of the graph's arguments.
struct NodeTestData {
  std::filesystem::path model;                   ///< the case's model.onnx
  std::filesystem::path dir;                     ///< the test_data_set_N folder
  std::vector<std::filesystem::path> inputFiles; ///< input_K.pb
  std::vector<Tensor> inputs;                    ///< the same, read (bf16 test data already relabelled)
};

/// Runs one imported test model on concrete inputs.
class NodeTestBackend {
public:
  virtual ~NodeTestBackend() = default;
  /// The name used on the command line (`--backend NAME`) and in the
  /// checked-in list of passing cases (`passing-NAME.txt`).
  virtual std::string name() const = 0;
  /// Returns one tensor per output of the module's `main` graph. Called
  /// once per data set of a case, in order, with the same `module` and
  /// `workDir` (an empty folder private to the case, removed afterwards),
  /// so a backend may reuse work between data sets. Throws Error on failure.
  virtual std::vector<Tensor> run(Module &module, const NodeTestData &data, const std::filesystem::path &workDir) = 0;
};

/// The reference interpreter.
std::unique_ptr<NodeTestBackend> createInterpreterBackend();

/// Compiles the case's model.onnx with the `ternc` binary at `ternc`
/// (`ternc compile -O1`) and runs the executable on the data set's .pb
/// files. A model whose shapes depend on input data is compiled once per
/// data set with its integer and scalar inputs bound (`--bind NAME=FILE`).
std::unique_ptr<NodeTestBackend> createCompiledBackend(const std::filesystem::path &ternc);

/// The backend named `name`, or null if there is none.
std::unique_ptr<NodeTestBackend> createBackend(const std::string &name);

/// Names accepted by createBackend(), for --help and errors.
std::vector<std::string> backendNames();

} // namespace ternc::nodetest
