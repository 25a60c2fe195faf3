// ImportCommand: `ternc import MODEL [-o OUT.tir] [--hex-weights] [pass flags]`.
#include "tools/ternc/Commands.h"


namespace ternc {

namespace {

struct ImportOptions {
  std::string model;
  std::string output;
  bool hexWeights = false;
  PassOptions passes;
};

void runImport(const ImportOptions &opts) {
  auto m = loadModel(opts.model);
  runPasses(*m, opts.passes);
  // On the terminal the weights are elided: that text is for reading. Use
  // -o for a file that reads back, or --hex-weights for all of it inline.
  emitModule(*m, opts.output, opts.hexWeights, /*fullWeights=*/opts.hexWeights);
}

} // namespace

void addImportCommand(CLI::App &app) {
  auto opts = std::make_shared<ImportOptions>();
  CLI::App *cmd = addSubcommand(app, "import", "Import a model (ONNX, GGUF, Hugging Face folder) and print or write its IR");
  cmd->add_option("model", opts->model, "The model: .onnx, .gguf, or a Hugging Face folder (config.json + safetensors)")->required();
  cmd->add_option("-o,--output", opts->output, "Write the IR to OUT.tir (large weights to OUT.tir.bin)");
  cmd->add_flag("--hex-weights", opts->hexWeights, "Keep every weight inline as hex (one self-contained text)");
  addPassOptions(*cmd, opts->passes);
  cmd->callback([opts] { runImport(*opts); });
}

} // namespace ternc
