// RunCommand: `ternc run MODEL --input NAME=PATH ... --output-dir DIR`:
// runs one graph on the reference interpreter and writes each output as .npy.
#include "tools/ternc/Commands.h"

#include "frontend/onnx/OnnxImporter.h"
#include "ir/Error.h"
#include "ir/Interpreter.h"
#include "ir/Npy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

namespace ternc {

namespace fs = std::filesystem;

namespace {

struct RunOptions {
  std::string model;
  std::vector<std::string> inputs;  ///< NAME=PATH
  std::string outputDir;
  std::string graph;
  PassOptions passes;
};

const Graph &chooseGraph(const Module &m, const std::string &model, const std::string &name) {
  std::vector<std::string> names;
  for (const auto &g : m.graphs()) names.push_back(g->name());
  if (!name.empty()) {
    if (const Graph *g = m.findGraph(name)) return *g;
    fail("{}: no graph '{}' (graphs: {})", model, name, fmt::join(names, ", "));
  }
  if (names.size() != 1) fail("{}: has {} graphs ({}); choose one with --graph", model, names.size(), fmt::join(names, ", "));
  return *m.graphs().front();
}


/// Reads every `--input NAME=PATH` and checks that they name the graph's
/// arguments exactly once each.
std::map<std::string, Tensor> readInputs(const Graph &g, const std::vector<std::string> &specs) {
  std::vector<std::string> argNames;
  for (const auto &a : g.arguments()) argNames.push_back(a->name());
  auto argList = [&] { return argNames.empty() ? std::string("none") : fmt::format("{}", fmt::join(argNames, ", ")); };

  std::map<std::string, std::string> paths;
  for (const auto &spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      fail("--input '{}': expected NAME=PATH", spec);
    std::string name = spec.substr(0, eq);
    if (std::find(argNames.begin(), argNames.end(), name) == argNames.end())
      fail("--input: graph '{}' has no input '{}' (its inputs: {})", g.name(), name, argList());
    if (!paths.emplace(name, spec.substr(eq + 1)).second) fail("--input: input '{}' is given twice", name);
  }
  std::vector<std::string> missing;
  for (const auto &n : argNames)
    if (!paths.count(n)) missing.push_back(n);
  if (!missing.empty())
    fail("missing --input for {} of graph '{}' (its inputs: {})", fmt::join(missing, ", "), g.name(), argList());

  std::map<std::string, Tensor> tensors;
  for (const auto &[name, path] : paths) tensors.emplace(name, readTensorFile(path));
  return tensors;
}

/// An output name as a file name: characters outside [A-Za-z0-9._-]
/// become '_' (ONNX names such as "/model/out:0" hold '/' and ':').
std::string outputFileName(const std::string &name) {
  std::string file = name;
  for (char &c : file)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (file.empty() || file == "." || file == "..") file = "_" + file;
  return file + ".npy";
}

/// Writes all outputs or none: each goes to a hidden temporary file first,
/// and only when every one is written are they renamed into place.
void writeOutputs(const Graph &g, const std::vector<Tensor> &outputs, const fs::path &dir) {
  std::vector<fs::path> finals;
  std::set<std::string> seen;
  for (const auto &name : g.outputNames()) {
    std::string file = outputFileName(name);
    if (!seen.insert(file).second)
      fail("outputs of graph '{}' collide as file '{}' in --output-dir", g.name(), file);
    finals.push_back(dir / file);
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create output directory '{}': {}", dir.string(), ec.message());

  std::vector<fs::path> temps;
  try {
    for (size_t i = 0; i < outputs.size(); ++i) {
      fs::path tmp = dir / fmt::format(".{}.partial", finals[i].filename().string());
      temps.push_back(tmp);
      writeNpy(outputs[i], tmp.string());
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      fs::rename(temps[i], finals[i], ec);
      if (ec) fail("cannot write '{}': {}", finals[i].string(), ec.message());
    }
  } catch (...) {
    for (const auto &t : temps) fs::remove(t, ec);
    throw;
  }
}

void runRun(const RunOptions &opts) {
  auto m = loadModel(opts.model);
  runPasses(*m, opts.passes);
  const Graph &g = chooseGraph(*m, opts.model, opts.graph);
  auto inputs = readInputs(g, opts.inputs);
  std::vector<Tensor> outputs = interpret(g, inputs);
  if (outputs.size() != g.outputs().size())
    fail("internal: graph '{}' gave {} outputs for {} names", g.name(), outputs.size(), g.outputs().size());
  writeOutputs(g, outputs, opts.outputDir);
}

} // namespace

void addRunCommand(CLI::App &app) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App *cmd = addSubcommand(app, "run", "Run a model on the reference interpreter, writing outputs as .npy");
  cmd->add_option("model", opts->model, "The model: .onnx or .tir")->required();
  cmd->add_option("--input", opts->inputs, "NAME=PATH: a graph input from a .npy or TensorProto .pb file (repeat)")
      ->allow_extra_args(false);
  cmd->add_option("--output-dir", opts->outputDir, "Folder for <output>.npy files (created if missing)")->required();
  cmd->add_option("--graph", opts->graph, "The graph to run when the module has several");
  addPassOptions(*cmd, opts->passes);
  cmd->callback([opts] { runRun(*opts); });
}

} // namespace ternc
