// ModelFiles: loading a model by its extension and emitting a module as text.
#include "tools/ternc/Commands.h"

#include "frontend/gguf/GgufImporter.h"
#include "frontend/hf/HfImporter.h"
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

std::unique_ptr<Module> loadModel(const std::string &path, ModelHints *hints) {
  namespace fs = std::filesystem;
  ModelHints local;
  ModelHints &h = hints ? *hints : local;
  std::error_code ec;
  std::string ext = fs::path(path).extension().string();
  std::unique_ptr<Module> m;
  if (fs::is_directory(path, ec)) {
    if (!isHuggingFaceFolder(path))
      fail("{}: a folder, but not a Hugging Face checkpoint (no config.json in it)", path);
    h.sideDir = path;
    m = importHuggingFace(path);
  } else if (ext == ".safetensors") {
    std::string dir = fs::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    if (!isHuggingFaceFolder(dir))
      fail("{}: a safetensors file needs the config.json of its Hugging Face folder beside it", path);
    h.sideDir = dir;
    m = importHuggingFace(dir);
  } else if (ext == ".gguf") {
    GgufModelInfo info;
    m = importGguf(path, &info);
    if (info.tokenizer) {
      h.tokenizerKind = info.tokenizer->kind == gguf::TokenizerBlob::Kind::HfJson ? 1 : 2;
      h.tokenizerData = std::move(info.tokenizer->bytes);
    }
    h.eosIds = info.eosIds;
    h.bosId = info.bosId;
    h.maxPositions = info.contextLength;
  } else if (ext == ".onnx") {
    h.sideDir = fs::path(path).parent_path().string();
    m = importOnnx(path);
  } else if (ext == ".tir") {
    h.sideDir = fs::path(path).parent_path().string();
    m = parseModuleFile(path);
  } else {
    fail("{}: unknown model format '{}' (expected .onnx, .gguf, .tir, or a Hugging Face folder)", path, ext);
  }
  verify(*m);
  return m;
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
