// Codegen: the LLVM side of `ternc compile` — target machine, kernel
// bitcode linking, lowering, the optimization pipeline, and emission of
// objects, executables and static libraries.
#include "codegen/Codegen.h"

#include "codegen/GraphLowering.h"
#include "codegen/Library.h"
#include "ir/Error.h"
#include "ir/Printer.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Linker/Linker.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Object/Archive.h>
#include <llvm/Object/ArchiveWriter.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Program.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace ternc {

namespace {

void initializeLLVM() {
  static bool done = [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    llvm::InitializeAllAsmParsers();
    return true;
  }();
  (void)done;
}

std::string readWholeFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot read", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A temporary directory removed when it goes out of scope.
class TempDir {
public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ternc-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) fail("cannot create a temporary directory: {}", std::strerror(errno));
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string &name) const { return (std::filesystem::path(path_) / name).string(); }

private:
  std::string path_;
};

} // namespace

CodegenSession::CodegenSession(const Target &target, CodegenOptions opts)
    : target_(target), opts_(std::move(opts)), ctx_(std::make_unique<llvm::LLVMContext>()) {
  initializeLLVM();
  cpu_ = target_.selectCpu(opts_.cpu);
  std::string err;
  const llvm::Target *t = llvm::TargetRegistry::lookupTarget(target_.triple(), err);
  if (!t) fail("LLVM has no backend for {}: {}", target_.triple(), err);
  llvm::TargetOptions to;
  auto level = opts_.optLevel <= 0   ? llvm::CodeGenOpt::None
               : opts_.optLevel == 1 ? llvm::CodeGenOpt::Less
               : opts_.optLevel == 2 ? llvm::CodeGenOpt::Default
                                     : llvm::CodeGenOpt::Aggressive;
  tm_.reset(t->createTargetMachine(target_.triple(), cpu_.cpu, cpu_.features, to, llvm::Reloc::PIC_, std::nullopt,
                                   level));
  if (!tm_) fail("cannot create an LLVM target machine for {} (cpu {})", target_.triple(), cpu_.cpu);
}

CodegenSession::~CodegenSession() = default;

llvm::Module &CodegenSession::module() {
  if (!module_) fail("internal: no module lowered");
  return *module_;
}

bool isLanguageModel(const Module &m) {
  return !m.states().empty() && m.findGraph("prefill") && m.findGraph("decode");
}

llvm::GlobalVariable *CodegenSession::emitLlmDescriptor(const Module &m,
                                                        const std::vector<llvm::GlobalVariable *> &graphs) {
  auto descriptorOf = [&](const char *name) -> llvm::Constant * {
    for (size_t i = 0; i < m.graphs().size(); ++i)
      if (m.graphs()[i]->name() == name) return graphs[i];
    fail("internal: no graph {}", name);
  };
  llvm::LLVMContext &c = *ctx_;
  auto *i32 = llvm::Type::getInt32Ty(c), *i64 = llvm::Type::getInt64Ty(c);
  auto *ptrTy = llvm::PointerType::get(c, 0);
  const LlmInfo &info = opts_.llm;
  llvm::Constant *tok = llvm::ConstantPointerNull::get(ptrTy);
  if (!info.tokenizerData.empty()) {
    auto *data = llvm::ConstantDataArray::getRaw(info.tokenizerData, info.tokenizerData.size(), llvm::Type::getInt8Ty(c));
    tok = new llvm::GlobalVariable(*module_, data->getType(), true, llvm::GlobalValue::PrivateLinkage, data,
                                   "ternc.tokenizer");
  }
  llvm::Constant *eos = llvm::ConstantPointerNull::get(ptrTy);
  if (!info.eosIds.empty()) {
    std::vector<uint64_t> ids(info.eosIds.begin(), info.eosIds.end());
    auto *arr = llvm::ConstantDataArray::get(c, ids);
    eos = new llvm::GlobalVariable(*module_, arr->getType(), true, llvm::GlobalValue::PrivateLinkage, arr, "ternc.eos");
  }
  // runtime.h: ternc_llm.
  auto *ty = llvm::StructType::get(c, {i32, ptrTy, ptrTy, i32, ptrTy, i64, i32, ptrTy, i64, i64});
  auto *init = llvm::ConstantStruct::get(
      ty, {llvm::ConstantInt::get(i32, 2), descriptorOf("prefill"), descriptorOf("decode"),
           llvm::ConstantInt::get(i32, info.tokenizerKind), tok, llvm::ConstantInt::get(i64, info.tokenizerData.size()),
           llvm::ConstantInt::get(i32, info.eosIds.size()), eos, llvm::ConstantInt::get(i64, uint64_t(info.bosId)),
           llvm::ConstantInt::get(i64, uint64_t(info.defaultCtx))});
  return new llvm::GlobalVariable(*module_, ty, true, llvm::GlobalValue::ExternalLinkage, init,
                                  opts_.symbolPrefix + "_llm");
}

void CodegenSession::lower(const Module &m) {
  module_ = std::make_unique<llvm::Module>(opts_.symbolPrefix, *ctx_);
  module_->setSourceFileName(opts_.symbolPrefix);
  module_->setTargetTriple(target_.triple());
  module_->setDataLayout(tm_->createDataLayout());

  // The kernel library first, so that lowering can call its functions.
  std::string_view bc = target_.kernelBitcode();
  auto kernels = llvm::parseBitcodeFile(llvm::MemoryBufferRef(llvm::StringRef(bc.data(), bc.size()), "kernels"), *ctx_);
  if (!kernels) fail("target {}: its kernel bitcode does not load: {}", target_.name(), llvm::toString(kernels.takeError()));
  (*kernels)->setTargetTriple(target_.triple());
  (*kernels)->setDataLayout(module_->getDataLayout());
  if (llvm::Linker::linkModules(*module_, std::move(*kernels))) fail("target {}: linking its kernels failed", target_.name());

  llvm::GlobalVariable *weightsBase = nullptr, *sparseBase = nullptr;
  std::set<const Value *> sparse;
  if (opts_.externalWeights) {
    if (!opts_.withMain) fail("internal: external weights need an executable's main()");
    auto *ptrTy0 = llvm::PointerType::get(*ctx_, 0);
    weightsBase = new llvm::GlobalVariable(*module_, ptrTy0, false, llvm::GlobalValue::InternalLinkage,
                                           llvm::ConstantPointerNull::get(ptrTy0), "ternc.weights");
    sparseBase = new llvm::GlobalVariable(*module_, ptrTy0, false, llvm::GlobalValue::InternalLinkage,
                                          llvm::ConstantPointerNull::get(ptrTy0), "ternc.weights.sparse");
    external_ = {};
    external_.id = std::random_device{}() * 0x100000000ull + std::random_device{}();
    // Constants that every graph only gathers rows from (embedding tables, unless tied to a float head).
    std::set<const Value *> readWhole;
    for (const auto &g : m.graphs())
      for (const auto &op : g->ops())
        for (size_t i = 0; i < op->numOperands(); ++i) {
          const Value *v = op->operand(i);
          if (!v || v->kind() != Value::Kind::Constant) continue;
          (op->opName() == "Gather" && i == 0 ? sparse : readWhole).insert(v);
        }
    for (const Value *v : readWhole) sparse.erase(v);
  }
  codegen::ModuleGlobals globals(*module_, opts_.externalWeights ? &external_ : nullptr, weightsBase, sparseBase,
                                 std::move(sparse));
  std::vector<llvm::GlobalVariable *> descriptors;
  for (const auto &g : m.graphs()) descriptors.push_back(codegen::lowerGraph(*module_, *g, opts_.symbolPrefix, globals));
  if (descriptors.empty()) fail("the module has no graph to compile");

  llvm::IRBuilder<> b(*ctx_);
  auto *ptrTy = llvm::PointerType::get(*ctx_, 0);
  if (isLanguageModel(m)) descriptors.push_back(emitLlmDescriptor(m, descriptors));
  if (opts_.withMain) {
    auto mainFn = llvm::FunctionType::get(b.getInt32Ty(), {b.getInt32Ty(), ptrTy}, false);
    auto *f = llvm::Function::Create(mainFn, llvm::Function::ExternalLinkage, "main", *module_);
    b.SetInsertPoint(llvm::BasicBlock::Create(*ctx_, "entry", f));
    if (weightsBase && external_.totalBytes() > 0) {
      // Load the weights after the image before anything runs; a missing or foreign blob exits with a message.
      llvm::FunctionCallee attach = module_->getOrInsertFunction(
          "ternc_weights_attach",
          llvm::FunctionType::get(b.getInt32Ty(), {ptrTy, ptrTy, b.getInt64Ty(), b.getInt64Ty(), b.getInt64Ty()},
                                  false));
      llvm::Value *rc =
          b.CreateCall(attach, {weightsBase, sparseBase, b.getInt64(external_.id), b.getInt64(external_.totalBytes()),
                                b.getInt64(external_.sparseOffset())});
      auto *fail = llvm::BasicBlock::Create(*ctx_, "no_weights", f), *ok = llvm::BasicBlock::Create(*ctx_, "run", f);
      b.CreateCondBr(b.CreateICmpNE(rc, b.getInt32(0)), fail, ok);
      b.SetInsertPoint(fail);
      b.CreateRet(rc);
      b.SetInsertPoint(ok);
    }
    const char *entry = isLanguageModel(m) ? "ternc_llm_main" : "ternc_main";
    llvm::FunctionCallee tm = module_->getOrInsertFunction(
        entry, llvm::FunctionType::get(b.getInt32Ty(), {ptrTy, b.getInt32Ty(), ptrTy}, false));
    b.CreateRet(b.CreateCall(tm, {isLanguageModel(m) ? descriptors.back() : descriptors.front(), f->getArg(0),
                                  f->getArg(1)}));
  }

  // Only the descriptors (and main) are exported; everything else,
  // including unused kernels, is internal so the optimizer can drop it.
  bool wideVectors = tm_->getTargetTriple().isX86() && tm_->getMCSubtargetInfo()->checkFeatures("+avx512f,+avx512bw");
  for (llvm::Function &f : *module_) {
    if (f.isDeclaration()) continue;
    if (f.getName() != "main") f.setLinkage(llvm::GlobalValue::InternalLinkage);
    f.removeFnAttr(llvm::Attribute::OptimizeNone);
    f.removeFnAttr(llvm::Attribute::NoInline);
    // -ffreestanding marks the kernels no-builtins, which would stop them
    // inlining into generated code (and memcpy idioms being recognized).
    f.removeFnAttr("no-builtins");
    f.addFnAttr("target-cpu", cpu_.cpu);
    f.addFnAttr("tune-cpu", cpu_.cpu);
    f.addFnAttr("target-features", tm_->getTargetFeatureString());
    // Vectors as wide as the CPU's registers. LLVM's x86 tuning prefers 256-bit vectors even on AVX-512
    // CPUs, which split the kernels' 64-byte vectors in two: the int8 head at decode then issued twice the
    // instructions per byte and read 10.6 GB/s of 13.2 on one thread (BitCPM-CANN-1B, `--profile`).
    if (wideVectors) f.addFnAttr("prefer-vector-width", "512");
    // No C++ exceptions anywhere in generated code.
    f.addFnAttr(llvm::Attribute::NoUnwind);
  }
  for (llvm::GlobalVariable &gv : module_->globals())
    if (!gv.isDeclaration() && std::find(descriptors.begin(), descriptors.end(), &gv) == descriptors.end())
      gv.setLinkage(llvm::GlobalValue::PrivateLinkage);
  // Drop the kernels nothing calls, at every -O: a kernel written for
  // instructions the chosen CPU lacks (e.g. the AVX-512 variants on an AVX2
  // CPU) must not reach instruction selection.
  for (bool erased = true; erased;) {
    erased = false;
    for (llvm::Function &f : llvm::make_early_inc_range(*module_))
      if (!f.isDeclaration() && f.hasLocalLinkage() && f.use_empty()) {
        f.eraseFromParent();
        erased = true;
      }
  }
  // After internalizing, so that the API functions stay exported.
  if (opts_.withLibraryApi) codegen::emitLibraryApi(*module_, m, opts_.symbolPrefix, descriptors);

  std::string err;
  llvm::raw_string_ostream es(err);
  if (llvm::verifyModule(*module_, &es)) fail("internal error: generated LLVM IR is invalid: {}", es.str());
}

void CodegenSession::optimize() {
  if (opts_.optLevel <= 0) return;
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = true;
  pto.SLPVectorization = true;
  pto.LoopUnrolling = true;
  llvm::PassBuilder pb(tm_.get(), pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  auto level = opts_.optLevel == 1 ? llvm::OptimizationLevel::O1
               : opts_.optLevel == 2 ? llvm::OptimizationLevel::O2
                                     : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level);
  mpm.run(*module_, mam);
}

std::string CodegenSession::emit(EmitKind kind) {
  std::string out;
  llvm::raw_string_ostream os(out);
  if (kind == EmitKind::LLVM) {
    module().print(os, nullptr);
    return os.str();
  }
  llvm::SmallVector<char, 0> buf;
  llvm::raw_svector_ostream bos(buf);
  llvm::legacy::PassManager pm;
  auto type = kind == EmitKind::Asm ? llvm::CGFT_AssemblyFile : llvm::CGFT_ObjectFile;
  if (tm_->addPassesToEmitFile(pm, bos, nullptr, type)) fail("LLVM cannot emit this file type for {}", target_.triple());
  pm.run(module());
  return std::string(buf.data(), buf.size());
}

void linkExecutable(const Target &target, const std::string &object, const std::string &outPath,
                    int32_t tokenizerKind, const ExternalWeights *weights) {
  LinkInfo link = target.linkInfo();
  if (tokenizerKind >= 0 && !link.libraries.empty()) {
    std::vector<std::string> extra = link.llmLibraries;
    if (tokenizerKind == 2) {
      extra.insert(extra.begin(), link.spmLibraries.begin(), link.spmLibraries.end());
      link.systemLibs.insert(link.systemLibs.begin(), link.spmArgs.begin(), link.spmArgs.end());
    }
    link.libraries.insert(link.libraries.begin() + 1, extra.begin(), extra.end());
  }
  for (const std::string &lib : link.libraries)
    if (!std::filesystem::exists(lib)) fail("the runtime library {} is missing (is ternc fully built?)", lib);
  auto driver = llvm::sys::findProgramByName(link.driver);
  if (!driver) fail("cannot find the linker driver {} (install clang-16 and lld-16)", link.driver);
  TempDir tmp;
  std::string obj = tmp.file("model.o"), exe = tmp.file("model"), log = tmp.file("link.log");
  {
    std::ofstream o(obj, std::ios::binary);
    o.write(object.data(), std::streamsize(object.size()));
    if (!o) fail("cannot write a temporary object file {}", obj);
  }
  std::vector<std::string> args = {*driver};
  args.insert(args.end(), link.driverArgs.begin(), link.driverArgs.end());
  args.push_back(obj);
  args.insert(args.end(), link.libraries.begin(), link.libraries.end());
  args.insert(args.end(), link.systemLibs.begin(), link.systemLibs.end());
  args.insert(args.end(), {"-o", exe});
  std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log, log};
  std::string errMsg;
  int rc = llvm::sys::ExecuteAndWait(*driver, argRefs, std::nullopt, redirects, 0, 0, &errMsg);
  if (rc != 0) {
    std::string text;
    try {
      text = readWholeFile(log);
    } catch (const Error &) {
    }
    fail("linking {} failed{}{}:\n{}", outPath, errMsg.empty() ? "" : ": ", errMsg, text);
  }
  std::string bytes = readWholeFile(exe);
  writeFileAtomically(outPath, [&](std::FILE *f) {
    auto put = [&](const void *p, uint64_t n) {
      if (n && std::fwrite(p, 1, n, f) != n) fail("{}: short write", outPath);
    };
    put(bytes.data(), bytes.size());
    if (!weights || weights->totalBytes() == 0) return;
    // The blob, page aligned for mmap (64 KiB covers every page size), then the trailer (runtime/Weights.cpp).
    constexpr uint64_t kPage = 64 << 10;
    uint64_t at = (bytes.size() + kPage - 1) / kPage * kPage;
    std::vector<char> zeros(kPage);
    put(zeros.data(), at - bytes.size());
    // Each part's pieces at their offsets (the sparse part's padding to its 2 MiB offset can exceed kPage);
    // the last piece ends the blob.
    uint64_t pos = 0;
    auto putPart = [&](const std::vector<ExternalWeights::Piece> &pieces, uint64_t base) {
      for (const ExternalWeights::Piece &piece : pieces) {
        for (uint64_t gap = base + piece.offset - pos; gap > 0; gap -= std::min(gap, kPage))
          put(zeros.data(), std::min(gap, kPage));
        put(piece.data, piece.size);
        pos = base + piece.offset + piece.size;
      }
    };
    putPart(weights->pieces, 0);
    putPart(weights->sparsePieces, weights->sparseOffset());
    if (pos != weights->totalBytes()) fail("internal: the weights blob ends at {}, not {}", pos, weights->totalBytes());
    uint64_t trailer[4] = {0x315457434e524554ull /* "TERNCWT1" */, at, weights->totalBytes(), weights->id};
    put(trailer, sizeof trailer);
  });
  std::filesystem::permissions(outPath, std::filesystem::perms::owner_exec | std::filesystem::perms::group_exec |
                                            std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
}

void writeStaticLibrary(const Target &target, const std::string &object, const std::string &outPath) {
  LinkInfo link = target.linkInfo();
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> buffers;
  std::vector<std::unique_ptr<llvm::object::Archive>> archives;
  std::vector<llvm::NewArchiveMember> members;
  std::string base = std::filesystem::path(outPath).stem().string();
  members.emplace_back(llvm::MemoryBufferRef(llvm::StringRef(object.data(), object.size()), base + ".o"));
  for (const std::string &lib : link.libraries) {
    auto buf = llvm::MemoryBuffer::getFile(lib);
    if (!buf) fail("{}: cannot read: {}", lib, buf.getError().message());
    auto ar = llvm::object::Archive::create((*buf)->getMemBufferRef());
    if (!ar) fail("{}: not an archive: {}", lib, llvm::toString(ar.takeError()));
    llvm::Error err = llvm::Error::success();
    for (const auto &child : (*ar)->children(err)) {
      auto member = llvm::NewArchiveMember::getOldMember(child, true);
      if (!member) fail("{}: {}", lib, llvm::toString(member.takeError()));
      members.push_back(std::move(*member));
    }
    if (err) fail("{}: {}", lib, llvm::toString(std::move(err)));
    buffers.push_back(std::move(*buf));
    archives.push_back(std::move(*ar));
  }
  auto bytes = llvm::writeArchiveToBuffer(members, true, llvm::object::Archive::K_GNU, true, false);
  if (!bytes) fail("{}: cannot build the archive: {}", outPath, llvm::toString(bytes.takeError()));
  writeFileAtomically(outPath, [&](std::FILE *f) {
    if (std::fwrite((*bytes)->getBufferStart(), 1, (*bytes)->getBufferSize(), f) != (*bytes)->getBufferSize())
      fail("{}: short write", outPath);
  });
}

} // namespace ternc
