// Pass: the pass interface, the registry of named passes, and the pass
// manager with its debugging flags.
#pragma once

#include "ir/IR.h"

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace ternc {

/// A transformation of a module. A pass is small: a name, a one-line
/// summary, and run(). It must leave the module verifiable.
class Pass {
public:
  virtual ~Pass() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view summary() const = 0;
  /// Returns true if the module changed.
  virtual bool run(Module &m) = 0;
};

/// Registered pass factories, by name. Each pass registers with one line in
/// passes/PassRegistry.def.
class PassRegistry {
public:
  static PassRegistry &global();
  using Factory = std::function<std::unique_ptr<Pass>()>;
  void add(std::string name, std::string summary, Factory f);
  std::unique_ptr<Pass> create(std::string_view name) const;  ///< null if unknown
  struct Entry { std::string name, summary; Factory factory; };
  const std::vector<Entry> &entries() const { return entries_; }

private:
  std::vector<Entry> entries_;
};

/// Flags shared by `ternc opt`, `ternc compile` and `ternc run`.
struct PassOptions {
  std::vector<std::string> passes;        ///< --passes=a,b (empty: none)
  std::vector<std::string> printAfter;    ///< --print-after=NAME (repeatable)
  bool printAfterAll = false;             ///< --print-after-all
  std::string stopAfter;                  ///< --stop-after=NAME
  bool verifyEach = false;                ///< --verify-each
  bool timing = false;                    ///< --pass-timing
};

/// Runs a pipeline of named passes with the debugging flags. IR dumps and
/// timing go to `dump` (stderr in the driver).
class PassManager {
public:
  PassManager(PassOptions opts, std::ostream &dump);
  /// Throws Error if a pass name is unknown (listing the known ones).
  void run(Module &m);
  /// True if --stop-after stopped the pipeline early.
  bool stopped() const { return stopped_; }

private:
  PassOptions opts_;
  std::ostream &dump_;
  bool stopped_ = false;
};

/// The default cleanup pipeline: canonicalize, fold-constants, cse, dce.
std::vector<std::string> defaultPipeline();
/// What `ternc compile` runs unless --passes is given: kv-cache, the cleanup
/// pipeline, then act-quant, ternarize, fuse-bitlinear, fuse-attention and dce
/// (docs/passes.md).
std::vector<std::string> compilePipeline();

} // namespace ternc
