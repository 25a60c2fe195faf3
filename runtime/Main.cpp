// Main.cpp: ternc_main, the main() of compiled executables — the `ternc run` contract plus --info, --bench, --profile, --threads.
#include "CommandLine.h"
#include "Host.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ternc::rt {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct MainOptions {
  std::vector<std::string> inputs;  ///< NAME=PATH
  std::string outputDir;
  bool info = false;
  int bench = 0;
  bool profile = false;
  int threads = 0;
};

/// Frees a context however ternc_main leaves.
struct ContextDeleter {
  void operator()(ternc_context *ctx) const { ternc_context_destroy(ctx); }
};

std::string joinNames(const std::vector<std::string> &names) {
  if (names.empty()) return "none";
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s;
}

void printInfo(const ternc_model &model) {
  std::printf("model: %s\n", model.name);
  std::vector<std::string> symbols(model.symbols, model.symbols + model.num_symbols);
  std::printf("symbols: %s\n", joinNames(symbols).c_str());
  std::printf("inputs:\n");
  for (int32_t i = 0; i < model.num_inputs; ++i) std::printf("  %s\n", tensorInfoText(model, model.inputs[i]).c_str());
  std::printf("outputs:\n");
  for (int32_t i = 0; i < model.num_outputs; ++i) std::printf("  %s\n", tensorInfoText(model, model.outputs[i]).c_str());
}

/// Reads every `--input NAME=PATH`, in the model's input order, after
/// checking that they name the model's inputs exactly once each.
std::vector<HostTensor> readInputs(const ternc_model &model, const std::vector<std::string> &specs) {
  std::vector<std::string> names;
  for (int32_t i = 0; i < model.num_inputs; ++i) names.push_back(model.inputs[i].name);
  std::map<std::string, std::string> paths;
  for (const auto &spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throw Error("--input '" + spec + "': expected NAME=PATH");
    std::string name = spec.substr(0, eq);
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw Error("--input: model '" + std::string(model.name) + "' has no input '" + name + "' (its inputs: " +
                  joinNames(names) + ")");
    if (!paths.emplace(name, spec.substr(eq + 1)).second) throw Error("--input: input '" + name + "' is given twice");
  }
  std::vector<std::string> missing;
  for (const auto &n : names)
    if (!paths.count(n)) missing.push_back(n);
  if (!missing.empty())
    throw Error("missing --input for " + joinNames(missing) + " of model '" + model.name + "' (its inputs: " +
                joinNames(names) + ")");
  std::vector<HostTensor> tensors;
  for (const auto &n : names) tensors.push_back(readTensorFile(paths[n]));
  return tensors;
}

/// Allocates the outputs from their dims, after checking they can be
/// written (so that nothing runs, or is written, for a doomed request).
std::vector<HostTensor> allocateOutputs(const ternc_model &model, const std::vector<int64_t> &symbols, bool writing) {
  std::vector<HostTensor> outputs;
  std::set<std::string> files;
  for (int32_t o = 0; o < model.num_outputs; ++o) {
    const ternc_tensor_info &info = model.outputs[o];
    std::string name = std::string("output '") + info.name + "'";
    if (writing && info.dtype == TERNC_BF16)
      throw Error(name + " is bf16, which .npy cannot hold (numpy has no bf16)");
    if (writing && !files.insert(outputFileName(info.name)).second)
      throw Error("outputs of model '" + std::string(model.name) + "' collide as file '" + outputFileName(info.name) +
                  "' in --output-dir");
    std::vector<int64_t> shape;
    for (int32_t d = 0; d < info.rank; ++d) {
      int64_t v = ternc_dim_value(&info.dims[d], symbols.data());
      if (v < 0)
        throw Error(name + " dim " + std::to_string(d) + " (" + dimText(model, info.dims[d]) + ") is " +
                    std::to_string(v) + " for these inputs");
      shape.push_back(v);
    }
    try {
      outputs.push_back(HostTensor::zeros(info.dtype, shape));
    } catch (const Error &e) {
      throw Error(name + ": " + e.what());
    }
  }
  return outputs;
}

/// Writes all outputs or none: each to a hidden temporary file first, and
/// only when every one is written are they renamed into place.
void writeOutputs(const ternc_model &model, const std::vector<HostTensor> &outputs, const fs::path &dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create output directory '" + dir.string() + "': " + ec.message());
  std::vector<fs::path> temps, finals;
  try {
    for (size_t o = 0; o < outputs.size(); ++o) {
      finals.push_back(dir / outputFileName(model.outputs[o].name));
      temps.push_back(dir / ("." + finals.back().filename().string() + ".partial"));
      writeNpyFile(outputs[o], temps.back().string());
    }
    for (size_t o = 0; o < outputs.size(); ++o) {
      fs::rename(temps[o], finals[o], ec);
      if (ec) throw Error("cannot write '" + finals[o].string() + "': " + ec.message());
    }
  } catch (...) {
    for (const auto &t : temps) fs::remove(t, ec);
    throw;
  }
}

double millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int runMain(const ternc_model &model, const MainOptions &opts) {
  if (model.abi_version != TERNC_ABI_VERSION)
    throw Error("model '" + std::string(model.name ? model.name : "?") + "' has ABI version " +
                std::to_string(model.abi_version) + ", this runtime has " + std::to_string(TERNC_ABI_VERSION));
  if (model.num_states > 0)
    throw Error("model '" + std::string(model.name ? model.name : "?") +
                "' keeps state (a KV cache) across runs: it runs as a language model (ternc_llm_main)");
  if (opts.info) {
    printInfo(model);
    if (opts.inputs.empty()) return 0;
  }
  if (opts.bench < 0) throw Error("--bench must be at least 1");
  bool writing = !opts.outputDir.empty();
  if (!writing && opts.bench == 0) throw Error("--output-dir is required (or --bench N, or --info)");

  std::vector<HostTensor> inputs = readInputs(model, opts.inputs);
  std::vector<const HostTensor *> inputRefs;
  for (const auto &t : inputs) inputRefs.push_back(&t);
  std::vector<int64_t> symbols = bindSymbols(model, inputRefs);
  std::vector<HostTensor> outputs = allocateOutputs(model, symbols, writing);
  AlignedBuffer arena(size_t(model.arena_bytes(symbols.data())));

  std::unique_ptr<ternc_context, ContextDeleter> ctx(ternc_context_create(opts.threads));
  if (!ctx) throw Error("cannot create the runtime context (thread pool)");
  std::vector<const void *> inPtrs;
  for (const auto &t : inputs) inPtrs.push_back(t.bytes.data());
  std::vector<void *> outPtrs;
  for (auto &t : outputs) outPtrs.push_back(t.bytes.data());
  auto runOnce = [&] {
    auto start = Clock::now();
    if (model.run(ctx.get(), symbols.data(), inPtrs.data(), outPtrs.data(), arena.data()) != 0) {
      const char *message = ternc_last_error(ctx.get());
      throw Error("model '" + std::string(model.name) + "' failed: " +
                  (message && *message ? message : "run returned an error without a message"));
    }
    return Clock::now() - start;
  };

  ternc_set_profiling(ctx.get(), opts.profile);
  std::vector<double> times;
  if (opts.bench > 0) {
    runOnce();  // warm-up: page in weights and arena, wake the pool
    ternc_profile_reset(ctx.get());
    for (int i = 0; i < opts.bench; ++i) times.push_back(millis(runOnce()));
  } else {
    times.push_back(millis(runOnce()));
  }
  if (writing) writeOutputs(model, outputs, opts.outputDir);

  if (opts.bench > 0) {
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    size_t n = sorted.size();
    double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    std::printf("bench: %d runs, %d threads: median %.4f ms, min %.4f ms\n", opts.bench,
                ternc_num_threads(ctx.get()), median, sorted.front());
  }
  if (opts.profile) {
    double total = 0;
    for (double t : times) total += t;
    printProfile(model, ctx.get(), total, int(times.size()), false);
  }
  std::fflush(stdout);
  return 0;
}

} // namespace

} // namespace ternc::rt

extern "C" int ternc_main(const ternc_model *model, int argc, char **argv) {
  using namespace ternc::rt;
  std::string program = programName(argc, argv);
  MainOptions opts;
  CLI::App app("Runs the compiled model '" + std::string(model->name ? model->name : "?") + "'.", program);
  app.add_option("--input", opts.inputs, "NAME=PATH: a model input from a .npy or ONNX TensorProto .pb file (repeat)")
      ->allow_extra_args(false);
  app.add_option("--output-dir", opts.outputDir, "Folder for <output>.npy files (created if missing)");
  app.add_flag("--info", opts.info, "Print the inputs, outputs, shapes, dtypes and symbolic dims");
  app.add_option("--bench", opts.bench, "Run N times after a warm-up run; print the median and min latency");
  app.add_flag("--profile", opts.profile, "Print the time spent per kernel");
  app.add_option("--threads", opts.threads, "Worker threads (default: the cores available)");
  if (auto code = parseCommandLine(app, argc, argv, program)) return *code;
  return runReportingErrors(program, [&] { return runMain(*model, opts); });
}
