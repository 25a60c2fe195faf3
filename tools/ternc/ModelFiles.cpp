// ModelFiles: loading a model by its extension and emitting a module as text.
#include "tools/ternc/Commands.h"

#include "frontend/onnx/OnnxImporter.h"
#include "ir/Error.h"
#include "ir/Npy.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

#include <filesystem>
#include <iostream>
#include <iterator>

namespace ternc {

std::unique_ptr<Module> loadModel(const std::string &path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".onnx") return importOnnx(path);
  if (ext == ".tir") {
    auto m = parseModuleFile(path);
    verify(*m);
    return m;
  }
  fail("{}: unknown model format '{}' (expected .onnx or .tir)", path, ext);
}

void emitModule(const Module &m, const std::string &outPath, bool hexWeights, bool fullWeights) {
  if (!outPath.empty()) {
    writeModuleFile(m, outPath, hexWeights);
    return;
  }
  PrintOptions print;
  print.weights = fullWeights ? WeightMode::Hex : WeightMode::Elide;
  printModule(m, std::cout, print);
  std::cout.flush();
  if (!std::cout) fail("cannot write to standard output");
}

Tensor readTensorFile(const std::string &path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".npy") return readNpy(path);
  if (ext == ".pb") return readTensorProtoFile(path);
  fail("{}: unknown tensor file format '{}' (expected .npy or ONNX TensorProto .pb)", path, ext);
}

} // namespace ternc
