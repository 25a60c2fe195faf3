// NodeTestBackend: the backends the ONNX node-test runner can use.
#include "tests/onnx/NodeTestBackend.h"

#include "ir/Error.h"
#include "ir/Interpreter.h"

namespace ternc::nodetest {

namespace {

class InterpreterBackend : public NodeTestBackend {
public:
  std::string name() const override { return "interp"; }
  std::vector<Tensor> run(Module &module, const std::vector<Tensor> &inputs, const std::filesystem::path &) override {
    const Graph *g = module.findGraph("main");
    if (!g) fail("the module has no graph 'main'");
    return interpret(*g, inputs);
  }
};

} // namespace

std::unique_ptr<NodeTestBackend> createInterpreterBackend() { return std::make_unique<InterpreterBackend>(); }

std::unique_ptr<NodeTestBackend> createBackend(const std::string &name) {
  if (name == "interp") return createInterpreterBackend();
  return nullptr;
}

std::vector<std::string> backendNames() { return {"interp"}; }

} // namespace ternc::nodetest
