// Commands: the subcommands of the `ternc` driver and what they share
// (pass flags, model loading, printing).
#pragma once

#include "ir/IR.h"
#include "passes/Pass.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

namespace ternc {

/// `ternc import MODEL.onnx`: import, optionally run passes, print or write.
void addImportCommand(CLI::App &app);
/// `ternc opt IN.tir --passes=a,b`: parse, run passes, print or write.
void addOptCommand(CLI::App &app);
/// `ternc run MODEL --input NAME=PATH --output-dir DIR`: interpret a graph.
void addRunCommand(CLI::App &app);
/// `ternc ops` and `ternc passes`: list the op table and the passes.
void addListCommands(CLI::App &app);
/// `ternc compile MODEL -o OUT`: compile to an executable, object, library, ...
void addCompileCommand(CLI::App &app);
/// `ternc targets`: list the registered targets.
void addTargetsCommand(CLI::App &app);

/// A subcommand with `--help` and `--version` like the top level.
CLI::App *addSubcommand(CLI::App &app, const std::string &name, const std::string &description);

/// Adds --passes, --print-after, --print-after-all, --stop-after,
/// --verify-each and --pass-timing, stored into `opts`.
void addPassOptions(CLI::App &cmd, PassOptions &opts);

/// Runs the passes named in `opts` (nothing if none), dumping to stderr.
void runPasses(Module &m, const PassOptions &opts);

/// What a checkpoint says about generation besides its graph: where sidecar files may sit, an embedded
/// tokenizer, special ids and the context length.
struct ModelHints {
  std::string sideDir;        ///< where tokenizer.json / config.json may sit beside the model ("" = nowhere)
  int32_t tokenizerKind = 0;  ///< an embedded tokenizer (GGUF metadata), as LlmInfo::tokenizerKind
  std::string tokenizerData;
  std::vector<int64_t> eosIds;
  int64_t bosId = -1;
  int64_t maxPositions = 0;  ///< 0 = unknown
};

/// Loads a model: `.onnx` (imported), `.tir` (parsed), `.gguf`, or a Hugging Face folder (config.json +
/// safetensors; also given as one of its .safetensors files), and verifies it. Fills `hints` if given.
std::unique_ptr<Module> loadModel(const std::string &path, ModelHints *hints = nullptr);

/// Reads a tensor from `.npy` or ONNX TensorProto `.pb`.
Tensor readTensorFile(const std::string &path);

/// Writes `m` to `outPath` (a .tir, large constants in `outPath.bin` unless
/// `hexWeights`) or, if `outPath` is empty, prints it to stdout with large
/// constants in full (`fullWeights`) or elided.
void emitModule(const Module &m, const std::string &outPath, bool hexWeights, bool fullWeights);

} // namespace ternc
