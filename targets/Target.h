// Target: the interface every hardware target implements, and the registry
// of targets (`ternc targets`, `ternc compile --target NAME`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ternc {

class Module;
class Op;
class PassRegistry;

/// The version of this interface (Target, HardwareInfo, LinkInfo, CpuSelection, TargetRegistry) that an
/// out-of-tree target was compiled against; `--load-target` refuses a plugin built for another one. Bumped on
/// every change to these classes' layout or virtual functions.
inline constexpr int kTargetAbiVersion = 2;

/// The op attribute in which a target's legalization records the symbol of the kernel in its bitcode that runs
/// the op (e.g. a BitLinear's kernel, with the contract of targets/BitLinearKernel.h); codegen calls that symbol.
inline constexpr const char *kTargetKernelAttr = "target.kernel";

/// What a target's cost models and kernels need to know about the machine.
struct HardwareInfo {
  int vectorBits = 0;        ///< widest vector register used by default
  int vectorRegisters = 0;   ///< architectural vector registers
  int64_t l1DataBytes = 0;   ///< per core
  int64_t l2Bytes = 0;       ///< per core
  int64_t l3Bytes = 0;       ///< shared
  double memoryGBs = 0;      ///< sustained read bandwidth, all cores
  int cores = 0;             ///< cores the cost models spread work over
  double ghz = 0;            ///< sustained clock under vector load
  int vectorIssue = 0;       ///< vector multiply-add instructions issued per cycle per core
};

/// How to turn the target's object file into an executable or library:
/// the compiler driver used as linker and the runtime library.
struct LinkInfo {
  std::string driver;                  ///< e.g. "clang-16"
  std::vector<std::string> driverArgs; ///< e.g. --target=..., -fuse-ld=lld
  std::vector<std::string> libraries;  ///< archives linked after the object, in order
  std::vector<std::string> systemLibs; ///< e.g. -lstdc++ -lm -lpthread
  /// Language models also link the tokenizers (after `libraries`' first
  /// entry, the runtime); a SentencePiece tokenizer adds `spmLibraries` and
  /// `spmArgs` (runtime/tokenizer/CMakeLists.txt).
  std::vector<std::string> llmLibraries;
  std::vector<std::string> spmLibraries, spmArgs;
};

/// The CPU a model is compiled for: an LLVM CPU name and feature string.
struct CpuSelection {
  std::string cpu;       ///< LLVM CPU name, e.g. "x86-64-v3", "znver4"
  std::string features;  ///< LLVM feature string, e.g. "+avx2,+fma"
};

/// A hardware target. Each lives in targets/<name>/ and registers itself
/// with one line in targets/Targets.def.
class Target {
public:
  virtual ~Target() = default;
  /// `--target` name, e.g. "x86-avx2".
  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  /// LLVM target triple of the generated code.
  virtual std::string triple() const = 0;
  /// Resolves `--cpu` ("" = the target's default, "native" = this host
  /// when the host can run the target's code). Throws Error if unknown.
  virtual CpuSelection selectCpu(const std::string &cpu) const = 0;
  /// Features shown by `ternc targets`.
  virtual std::vector<std::string> features() const = 0;
  virtual HardwareInfo hardware() const = 0;
  /// LLVM bitcode of the target's kernel library, linked into every model.
  virtual std::string_view kernelBitcode() const = 0;
  /// Passes the target runs for the selected CPU after the model's own
  /// passes and before plan-memory (legalization: packings and tilings).
  /// `ternc compile` always runs them, even with --passes.
  virtual std::vector<std::string> pipeline(const CpuSelection &) const { return {}; }
  /// Adds the target's own passes to the registry (called once, when the
  /// target registry is built), so `ternc opt --passes` knows them too.
  virtual void registerPasses(PassRegistry &) const {}
  /// Why the target runs `op` the way its legalization chose, for `ternc compile --explain-tiling`: the
  /// packing, kernel, tile and thread split, and the cost-model numbers behind them (one or more lines, no
  /// trailing newline); "" for ops it has nothing to say about. Called after the target's passes.
  virtual std::string explainTiling(const Op &op, const CpuSelection &cpu) const { return ""; }
  /// Output kinds the target writes itself, beyond LLVM's (exe, obj, lib, llvm, asm) and tir: e.g. "ascendc"
  /// (kernel sources, host program and build files for a toolchain ternc does not run). `ternc compile
  /// --emit=KIND` accepts them for this target only.
  virtual std::vector<std::string> customEmitKinds() const { return {}; }
  /// Writes `--emit=kind` (one of customEmitKinds()) for the module after the target's passes and plan-memory,
  /// to `output` (a file or a directory, which must appear whole or not at all). Throws Error on failure.
  virtual void emitCustom(const Module &m, const CpuSelection &cpu, std::string_view kind,
                          const std::string &output) const;
  /// How to link executables and where the runtime library is.
  virtual LinkInfo linkInfo() const = 0;
  /// True if this host can run the target's executables (tests use this).
  virtual bool runsOnHost() const = 0;
};

/// The registered targets, in registration order; the first is the default.
class TargetRegistry {
public:
  static TargetRegistry &global();
  void add(std::unique_ptr<Target> t);
  /// Null if no target has that name.
  const Target *find(std::string_view name) const;
  /// Throws Error listing the known targets if `name` is unknown.
  const Target &get(std::string_view name) const;
  const Target &defaultTarget() const;
  const std::vector<std::unique_ptr<Target>> &all() const { return targets_; }
  /// Loads an out-of-tree target (`--load-target=PATH`): a shared library exporting
  /// `ternc_target_abi_version` and `ternc_register_targets` (targets/TargetPlugin.h), whose targets are
  /// added after the built-in ones with their passes. Throws Error if the library does not load, lacks the
  /// entry points or was built for another kTargetAbiVersion. Loading the same path twice is a no-op.
  void load(const std::string &path);

private:
  std::vector<std::unique_ptr<Target>> targets_;
  std::vector<std::string> loaded_;
};

/// Where the runtime libraries for `triple` live: the build tree's path
/// compiled in, or `<dir of ternc>/../lib/ternc/<triple>/` when installed.
std::string runtimeLibraryDir(const std::string &triple);

} // namespace ternc
