// PassManager: the registry of named passes (filled from PassRegistry.def)
// and the pipeline runner with --print-after, --stop-after, --verify-each
// and --pass-timing.
#include "passes/Pass.h"
#include "passes/Passes.h"

#include "ir/Error.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <chrono>

namespace ternc {

namespace {

struct BuiltinPassInfo {
  std::string_view name, summary;
};

constexpr BuiltinPassInfo kBuiltinPasses[] = {
#define TERNC_PASS(NAME, SUMMARY, FACTORY) {NAME, SUMMARY},
#include "passes/PassRegistry.def"
#undef TERNC_PASS
};

std::string knownPassNames() {
  std::string names;
  for (const auto &e : PassRegistry::global().entries()) names += (names.empty() ? "" : ", ") + e.name;
  return names;
}

/// Checks that a pass named by a debugging flag is in the pipeline, so that a
/// typo does not silently print or stop nothing.
void checkInPipeline(const std::vector<std::string> &pipeline, const std::string &name, std::string_view flag) {
  if (std::find(pipeline.begin(), pipeline.end(), name) != pipeline.end()) return;
  if (!PassRegistry::global().create(name))
    fail("{}: unknown pass '{}' (known passes: {})", flag, name, knownPassNames());
  fail("{}: pass '{}' is not in the pipeline ({})", flag, name, fmt::join(pipeline, ","));
}

} // namespace

BuiltinPass::BuiltinPass(std::string_view name) : name_(name) {
  for (const auto &info : kBuiltinPasses)
    if (info.name == name) {
      name_ = info.name;
      summary_ = info.summary;
      return;
    }
  fail("internal: pass '{}' has no line in PassRegistry.def", name);
}

PassRegistry &PassRegistry::global() {
  static PassRegistry *registry = [] {
    auto *r = new PassRegistry();
#define TERNC_PASS(NAME, SUMMARY, FACTORY) r->add(NAME, SUMMARY, FACTORY);
#include "passes/PassRegistry.def"
#undef TERNC_PASS
    return r;
  }();
  return *registry;
}

void PassRegistry::add(std::string name, std::string summary, Factory f) {
  for (const auto &e : entries_)
    if (e.name == name) fail("internal: pass '{}' registered twice", name);
  entries_.push_back({std::move(name), std::move(summary), std::move(f)});
}

std::unique_ptr<Pass> PassRegistry::create(std::string_view name) const {
  for (const auto &e : entries_)
    if (e.name == name) return e.factory();
  return nullptr;
}

PassManager::PassManager(PassOptions opts, std::ostream &dump) : opts_(std::move(opts)), dump_(dump) {}

void PassManager::run(Module &m) {
  stopped_ = false;
  // Create every pass first: a typo in the last name fails before any work.
  std::vector<std::unique_ptr<Pass>> pipeline;
  for (const auto &name : opts_.passes) {
    auto pass = PassRegistry::global().create(name);
    if (!pass) fail("unknown pass '{}' (known passes: {})", name, knownPassNames());
    pipeline.push_back(std::move(pass));
  }
  for (const auto &name : opts_.printAfter) checkInPipeline(opts_.passes, name, "--print-after");
  if (!opts_.stopAfter.empty()) checkInPipeline(opts_.passes, opts_.stopAfter, "--stop-after");

  using Clock = std::chrono::steady_clock;
  std::vector<std::pair<std::string_view, double>> timings;
  for (auto &pass : pipeline) {
    auto start = Clock::now();
    try {
      pass->run(m);
    } catch (const Error &e) {
      fail("pass '{}': {}", pass->name(), e.what());
    }
    timings.emplace_back(pass->name(), std::chrono::duration<double>(Clock::now() - start).count());

    if (opts_.verifyEach) verify(m, fmt::format("after pass '{}'", pass->name()));
    if (opts_.printAfterAll ||
        std::find(opts_.printAfter.begin(), opts_.printAfter.end(), pass->name()) != opts_.printAfter.end()) {
      fmt::print(dump_, "// -----// IR after {} //----- //\n", pass->name());
      PrintOptions print;
      print.weights = WeightMode::Elide;
      printModule(m, dump_, print);
      dump_.flush();
    }
    if (pass->name() == opts_.stopAfter) {
      stopped_ = true;
      break;
    }
  }

  if (opts_.timing) {
    double total = 0;
    fmt::print(dump_, "// -----// Pass timing (wall clock) //----- //\n");
    for (const auto &[name, seconds] : timings) {
      fmt::print(dump_, "{:>12.3f} ms  {}\n", seconds * 1e3, name);
      total += seconds;
    }
    fmt::print(dump_, "{:>12.3f} ms  total\n", total * 1e3);
    dump_.flush();
  }
}

std::vector<std::string> defaultPipeline() { return {"canonicalize", "fold-constants", "cse", "dce"}; }

std::vector<std::string> compilePipeline() {
  std::vector<std::string> p = {"kv-cache"};
  for (const std::string &n : defaultPipeline()) p.push_back(n);
  p.insert(p.end(), {"act-quant", "ternarize", "fuse-bitlinear", "fuse-attention", "dce"});
  return p;
}

} // namespace ternc
