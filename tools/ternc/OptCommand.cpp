// OptCommand: `ternc opt IN.tir --passes=a,b [-o OUT.tir] [pass flags]`.
#include "tools/ternc/Commands.h"

#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

#include <iostream>
#include <iterator>

namespace ternc {

namespace {

struct OptOptions {
  std::string input;
  std::string output;
  bool hexWeights = false;
  PassOptions passes;
};

/// True if some large constant's bytes are memory-mapped from a weights
/// file (read-only storage) rather than held in the text.
bool hasFileBackedWeights(const Module &m) {
  const int64_t inlineLimit = PrintOptions{}.inlineLimit;
  for (const auto &c : m.constants())
    if (c->data.isValid() && c->data.numElements() > inlineLimit && !c->data.storage()->mutableData()) return true;
  return false;
}

void runOpt(const OptOptions &opts) {
  std::unique_ptr<Module> m;
  if (opts.input == "-") {
    std::string text(std::istreambuf_iterator<char>(std::cin), {});
    m = parseModule(text, "<stdin>");
    verify(*m);
  } else {
    m = loadModel(opts.input);
  }
  runPasses(*m, opts.passes);
  // On stdout, a module whose weights were in the text prints them in full,
  // so that text in is text out (and can be piped into another `ternc opt`);
  // one whose weights live in a weights file prints them elided.
  emitModule(*m, opts.output, opts.hexWeights, opts.hexWeights || !hasFileBackedWeights(*m));
}

} // namespace

void addOptCommand(CLI::App &app) {
  auto opts = std::make_shared<OptOptions>();
  CLI::App *cmd = addSubcommand(app, "opt", "Run passes on textual IR (.tir) and print the result");
  cmd->add_option("input", opts->input, "The .tir file (or .onnx), `-` for stdin")->required();
  cmd->add_option("-o,--output", opts->output, "Write the IR to OUT.tir (large weights to OUT.tir.bin)");
  cmd->add_flag("--hex-weights", opts->hexWeights, "Print or write every weight inline as hex");
  addPassOptions(*cmd, opts->passes);
  cmd->callback([opts] { runOpt(*opts); });
}

} // namespace ternc
