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

/// The weights an executable carries after its ELF image rather than in its read-only segment, so that no
/// model is too large to link (the small code model reaches 2 GiB) and LLVM never holds them: pieces of one
/// blob, which linkExecutable appends and main() maps from /proc/self/exe at start-up
/// (runtime.h, ternc_weights_attach; docs/codegen.md).
///
/// The blob has two parts. The dense part holds the constants a run reads whole (ternary matrices, heads,
/// norms): the runtime reads it into huge pages. The sparse part, after the dense part padded to kSparseAlign,
/// holds constants only gathered from (embedding tables: a few rows per token), which stay mapped from the
/// file and load on touch (so they cost no memory beyond the rows used).
struct ExternalWeights {
  static constexpr uint64_t kMinBytes = 64 << 10;     ///< smaller constants stay LLVM globals
  static constexpr uint64_t kAlign = 64;              ///< each piece's alignment in its part
  static constexpr uint64_t kSparseAlign = 2 << 20;   ///< the sparse part's offset: a huge page multiple
  struct Piece {
    uint64_t offset;   ///< in its part
    const char *data;  ///< the constant's bytes (the Module must outlive the link)
    uint64_t size;
  };
  std::vector<Piece> pieces, sparsePieces;
  uint64_t bytes = 0;        ///< the dense part's size
  uint64_t sparseBytes = 0;  ///< the sparse part's size
  uint64_t id = 0;           ///< random; the executable checks that the blob it finds is its own
  /// Where the sparse part starts in the blob.
  uint64_t sparseOffset() const { return sparseBytes ? (bytes + kSparseAlign - 1) / kSparseAlign * kSparseAlign : bytes; }
  /// The blob's size.
  uint64_t totalBytes() const { return sparseOffset() + sparseBytes; }
};

struct CodegenOptions {
  std::string cpu;        ///< --cpu ("" = the target's default, "native")
  int optLevel = 3;       ///< 0..3
  /// Prefix of exported symbols: `<prefix>_model` (the ternc_model
  /// descriptor of the first graph), `<prefix>_create` ... for libraries.
  std::string symbolPrefix = "ternc";
  bool withMain = false;  ///< emit main() calling ternc_main (executables)
  /// Large constants go to externalWeights() (executables only: needs withMain).
  bool externalWeights = false;
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
  /// The blob of large constants (CodegenOptions::externalWeights), valid after lower().
  const ExternalWeights &externalWeights() const { return external_; }
  const CpuSelection &cpu() const { return cpu_; }

private:
  llvm::GlobalVariable *emitLlmDescriptor(const Module &m, const std::vector<llvm::GlobalVariable *> &graphs);

  const Target &target_;
  CodegenOptions opts_;
  CpuSelection cpu_;
  std::unique_ptr<llvm::LLVMContext> ctx_;
  std::unique_ptr<llvm::TargetMachine> tm_;
  std::unique_ptr<llvm::Module> module_;
  ExternalWeights external_;
};

/// Links an object (bytes) with the target's runtime into an executable at
/// `outPath`, atomically. Throws Error with the linker's message.
/// `tokenizerKind` (LlmInfo) >= 0 links a language model's tokenizers too. `weights` (if any) are appended
/// after the image with the trailer ternc_weights_attach reads.
void linkExecutable(const Target &target, const std::string &object, const std::string &outPath,
                    int32_t tokenizerKind = -1, const ExternalWeights *weights = nullptr);
/// Writes a static library at `outPath`, atomically: the model object plus
/// the runtime's members, so that linking it needs only -lstdc++ -lm
/// -lpthread.
void writeStaticLibrary(const Target &target, const std::string &object, const std::string &outPath);
/// The C header of a library compiled with `symbolPrefix` (--emit=lib).
std::string libraryHeader(const Module &m, const std::string &symbolPrefix);

} // namespace ternc
