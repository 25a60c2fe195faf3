// Codegen: lowering a planned ternc module to LLVM IR for a target,
// optimizing it for the target CPU, and emitting objects, executables and
// static libraries.
#pragma once

#include "ir/IR.h"
#include "targets/Target.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
class GlobalVariable;
} // namespace llvm

namespace ternc {

enum class EmitKind { Exe, Obj, Lib, LLVM, Asm };

/// What a compiled language model embeds besides its graphs (runtime.h,
/// ternc_llm): the tokenizer file's bytes and the generation defaults.
struct LlmInfo {
  int32_t tokenizerKind = 0;  ///< 0 none, 1 tokenizer.json, 2 SentencePiece
  std::string tokenizerData;
  std::vector<int64_t> eosIds;
  int64_t bosId = -1;
  int64_t defaultCtx = 2048;
};

struct CodegenOptions {
  std::string cpu;        ///< --cpu ("" = the target's default, "native")
  int optLevel = 3;       ///< 0..3
  /// Prefix of exported symbols: `<prefix>_model` (the ternc_model
  /// descriptor of the first graph), `<prefix>_create` ... for libraries.
  std::string symbolPrefix = "ternc";
  bool withMain = false;  ///< emit main() calling ternc_main (executables)
  /// Emit the library's C API (`<prefix>_create`, `_run`, ...; codegen/Library.h).
  bool withLibraryApi = false;
  /// For a module with `prefill` and `decode` graphs and state: main()
  /// calls ternc_llm_main with this.
  LlmInfo llm;
};

/// True if `m` is a language model for ternc_llm_main: state shared by
/// entry graphs `prefill` and `decode`.
bool isLanguageModel(const Module &m);

/// One compilation's LLVM state: context, target machine and module.
class CodegenSession {
public:
  CodegenSession(const Target &target, CodegenOptions opts);
  ~CodegenSession();

  /// Lowers every graph of `m` (which plan-memory must have run on), links
  /// the target's kernel library in and drops what is unused. Throws Error
  /// naming the op for anything it cannot lower.
  void lower(const Module &m);
  /// Runs LLVM's O1-O3 pipeline for the target CPU.
  void optimize();
  /// The module as LLVM IR text, assembly, or an ELF object.
  std::string emit(EmitKind kind);

  llvm::Module &module();
  const CpuSelection &cpu() const { return cpu_; }

private:
  llvm::GlobalVariable *emitLlmDescriptor(const Module &m, const std::vector<llvm::GlobalVariable *> &graphs);

  const Target &target_;
  CodegenOptions opts_;
  CpuSelection cpu_;
  std::unique_ptr<llvm::LLVMContext> ctx_;
  std::unique_ptr<llvm::TargetMachine> tm_;
  std::unique_ptr<llvm::Module> module_;
};

/// Links an object (bytes) with the target's runtime into an executable at
/// `outPath`, atomically. Throws Error with the linker's message.
/// `tokenizerKind` (LlmInfo) >= 0 links a language model's tokenizers too.
void linkExecutable(const Target &target, const std::string &object, const std::string &outPath,
                    int32_t tokenizerKind = -1);
/// Writes a static library at `outPath`, atomically: the model object plus
/// the runtime's members, so that linking it needs only -lstdc++ -lm
/// -lpthread.
void writeStaticLibrary(const Target &target, const std::string &object, const std::string &outPath);
/// The C header of a library compiled with `symbolPrefix` (--emit=lib).
std::string libraryHeader(const Module &m, const std::string &symbolPrefix);

} // namespace ternc
