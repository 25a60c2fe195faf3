// Library: the C API of a model compiled with --emit=lib — the exported
// wrapper functions (emitLibraryApi) and the header that declares them
// (libraryHeader). Both take their names from libraryEntries so they agree.
#include "codegen/Library.h"

#include "codegen/Codegen.h"
#include "ir/Error.h"

#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>

#include <optional>
#include <set>

namespace ternc {

namespace {

/// One graph's API: functions `<fn>_create` ..., macros `<MACRO>_NUM_INPUTS` ...
struct LibraryEntry {
  std::string fn;
  std::string macro;
  const Graph *graph;
  size_t index;  ///< in Module::graphs(), and so in the descriptors
};

std::string identifier(const std::string &s) {
  std::string r;
  for (char c : s) r += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return r;
}

std::string upper(std::string s) {
  for (char &c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// The first graph under the bare prefix; with several graphs, every graph
/// also under `<prefix>_<graph>`.
std::vector<LibraryEntry> libraryEntries(const Module &m, const std::string &prefix) {
  std::vector<LibraryEntry> entries;
  const auto &graphs = m.graphs();
  if (graphs.empty()) fail("the module has no graph to compile");
  entries.push_back({prefix, upper(prefix), graphs[0].get(), 0});
  if (graphs.size() > 1)
    for (size_t i = 0; i < graphs.size(); ++i) {
      std::string fn = prefix + "_" + identifier(graphs[i]->name());
      entries.push_back({fn, upper(fn), graphs[i].get(), i});
    }
  std::set<std::string> seen;
  for (const LibraryEntry &e : entries)
    if (!seen.insert(e.macro).second)
      fail("graphs of module '{}' give the same C API name {}_* (rename a graph or pass --name)", m.name(), e.fn);
  return entries;
}

/// The symbols in the descriptor's order (GraphLowering: the sorted names
/// appearing in input dims).
std::vector<std::string> graphSymbols(const Graph &g) {
  std::set<std::string> names;
  for (const auto &a : g.arguments())
    for (const Dim &d : a->type().dims())
      for (const std::string &s : d.symbols()) names.insert(s);
  return {names.begin(), names.end()};
}

/// A C string literal.
std::string quoted(const std::string &s) {
  std::string r = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') r += {'\\', char(c)};
    else if (c < 0x20 || c >= 0x7f) r += fmt::format("\\{:03o}", c);
    else r += char(c);
  }
  return r + "\"";
}

/// Text safe inside a /* */ comment.
std::string commentSafe(std::string s) {
  for (size_t at = s.find("*/"); at != std::string::npos; at = s.find("*/", at)) s.replace(at, 2, "* /");
  return s;
}

std::string dimsText(const Type &t) {
  std::string s = "[";
  for (size_t d = 0; d < t.rank(); ++d) s += (d ? ", " : "") + t.dims()[d].str();
  return s + "]";
}

std::optional<int64_t> staticElements(const Type &t) {
  int64_t n = 1;
  for (const Dim &d : t.dims()) {
    if (!d.isStatic()) return std::nullopt;
    if (d.value() != 0 && n > INT64_MAX / d.value()) return std::nullopt;
    n *= d.value();
  }
  return n;
}

/// The macros of one input or output (`kind` is INPUT or OUTPUT).
std::string tensorMacros(const std::string &macro, const char *kind, size_t i, const std::string &name, const Type &t) {
  std::string p = fmt::format("{}_{}_{}_", macro, kind, i);
  std::string h;
  h += fmt::format("#define {}NAME {}\n", p, quoted(name));
  h += fmt::format("#define {}DTYPE TERNC_{}\n", p, upper(std::string(dtypeName(t.dtype()))));
  h += fmt::format("#define {}RANK {}\n", p, t.rank());
  h += fmt::format("#define {}DIMS {}\n", p, quoted(dimsText(t)));
  if (t.rank() > 0) {
    std::vector<std::string> dims;
    for (const Dim &d : t.dims()) dims.push_back(d.isStatic() ? std::to_string(d.value()) : "-1");
    bool symbolic = !staticElements(t);
    h += fmt::format("#define {}SHAPE {{{}}}{}\n", p, fmt::join(dims, ", "), symbolic ? " /* -1: symbolic */" : "");
  }
  if (auto n = staticElements(t)) {
    int64_t size = int64_t(dtypeSize(t.dtype()));
    h += fmt::format("#define {}ELEMENTS {}\n", p, *n);
    if (*n <= INT64_MAX / size) h += fmt::format("#define {}BYTES {}\n", p, *n * size);
  }
  return h;
}

std::string entryHeader(const Module &m, const LibraryEntry &e) {
  const Graph &g = *e.graph;
  const std::string &P = e.macro, &f = e.fn;
  std::vector<std::string> symbols = graphSymbols(g);
  std::string h = fmt::format("/* ==== Graph '{}' of model '{}': {}_* and {}_* ====\n", commentSafe(g.name()),
                              commentSafe(m.name()), f, P);
  for (const auto &a : g.arguments())
    h += fmt::format(" *   input   {}: {}{}\n", commentSafe(a->name()), dtypeName(a->type().dtype()),
                     commentSafe(dimsText(a->type())));
  for (size_t i = 0; i < g.outputs().size(); ++i)
    h += fmt::format(" *   output  {}: {}{}\n", commentSafe(g.outputNames()[i]), dtypeName(g.outputs()[i]->type().dtype()),
                     commentSafe(dimsText(g.outputs()[i]->type())));
  if (symbols.empty())
    h += fmt::format(" * Static shapes: buffers of {0}_INPUT_<i>_BYTES / {0}_OUTPUT_<i>_BYTES and {1}_run. */\n\n", P, f);
  else
    h += fmt::format(" * Symbolic shapes ({}): {}_output_shape and {}_run_shaped take the input shapes. */\n\n",
                     commentSafe(fmt::format("{}", fmt::join(symbols, ", "))), f, f);

  h += fmt::format("#define {}_NUM_SYMBOLS {}\n", P, symbols.size());
  for (size_t s = 0; s < symbols.size(); ++s) h += fmt::format("#define {}_SYMBOL_{}_NAME {}\n", P, s, quoted(symbols[s]));
  h += fmt::format("#define {}_NUM_INPUTS {}\n#define {}_NUM_OUTPUTS {}\n\n", P, g.arguments().size(), P,
                   g.outputs().size());
  for (size_t i = 0; i < g.arguments().size(); ++i)
    h += tensorMacros(P, "INPUT", i, g.argument(i)->name(), g.argument(i)->type()) + "\n";
  for (size_t i = 0; i < g.outputs().size(); ++i)
    h += tensorMacros(P, "OUTPUT", i, g.outputNames()[i], g.outputs()[i]->type()) + "\n";

  h += fmt::format(R"(/* The model ready to run: its thread pool and scratch arena. An instance
 * runs one call at a time; use one per host thread. */
typedef struct {0}_instance {0}_instance;

/* threads <= 0: the cores available to the process. NULL if out of memory. */
{0}_instance *{0}_create(int threads);
void {0}_destroy({0}_instance *inst);
/* Runs the graph. inputs[i] and outputs[i] are dense row-major buffers in the
 * order above, aligned to their element type ({1}_INPUT_<i>_BYTES and
 * {1}_OUTPUT_<i>_BYTES bytes for static shapes). Returns 0, or non-zero with
 * the reason in {0}_last_error. A model with symbols needs {0}_run_shaped. */
int {0}_run({0}_instance *inst, const void *const *inputs, void *const *outputs);
/* {0}_run for these input shapes: input_shapes[i] points to input i's
 * {1}_INPUT_<i>_RANK dims. They bind the symbols and are checked against
 * every dim; outputs must hold the shapes {0}_output_shape gives. */
int {0}_run_shaped({0}_instance *inst, const void *const *inputs, const int64_t *const *input_shapes,
{2}void *const *outputs);
/* Writes the {1}_OUTPUT_<output>_RANK dims of output `output` for these input
 * shapes (NULL for a model without symbols) to dims. Returns 0 or non-zero. */
int {0}_output_shape({0}_instance *inst, const int64_t *const *input_shapes, int output, int64_t *dims);
/* Why the last failing call on `inst` failed; valid until the next call on it. */
const char *{0}_last_error(const {0}_instance *inst);

)",
                   f, P, std::string(f.size() + 16, ' '));
  return h;
}

/// The dtype enum of runtime.h, from the IR's dtype table (same order).
std::string dtypeEnum() {
  std::vector<std::string> names;
  for (int i = 0; i < kNumDTypes; ++i) names.push_back("TERNC_" + upper(std::string(dtypeName(DType(i)))));
  names[0] += " = 0";
  return fmt::format("/* Element types: the enum of ternc/runtime.h, under the same guard. */\n"
                     "#ifndef TERNC_DTYPE_DEFINED\n#define TERNC_DTYPE_DEFINED\n"
                     "typedef enum ternc_dtype {{\n  {},\n  {}\n}} ternc_dtype;\n#endif\n\n",
                     fmt::join(names.begin(), names.begin() + 8, ", "), fmt::join(names.begin() + 8, names.end(), ", "));
}

} // namespace

std::string libraryHeader(const Module &m, const std::string &prefix) {
  std::vector<LibraryEntry> entries = libraryEntries(m, prefix);
  std::string guard = "TERNC_LIB_" + upper(prefix) + "_H";
  std::string h = fmt::format("/* The C API ({}_*) of model '{}' compiled by ternc --emit=lib: link the static\n"
                              " * library written with this header, and -lstdc++ -lm -lpthread. */\n"
                              "#ifndef {}\n#define {}\n\n#include <stdint.h>\n\n"
                              "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n",
                              prefix, commentSafe(m.name()), guard, guard);
  h += dtypeEnum();
  for (const LibraryEntry &e : entries) h += entryHeader(m, e);
  h += "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return h;
}

void codegen::emitLibraryApi(llvm::Module &lm, const Module &m, const std::string &prefix,
                             const std::vector<llvm::GlobalVariable *> &descriptors) {
  llvm::LLVMContext &c = lm.getContext();
  llvm::IRBuilder<> b(c);
  llvm::Type *ptr = llvm::PointerType::get(c, 0), *i32 = b.getInt32Ty(), *voidTy = b.getVoidTy();
  auto runtime = [&](const char *name, llvm::Type *ret, std::vector<llvm::Type *> params) {
    return lm.getOrInsertFunction(name, llvm::FunctionType::get(ret, params, false));
  };
  llvm::FunctionCallee create = runtime("ternc_instance_create", ptr, {ptr, i32});
  llvm::FunctionCallee destroy = runtime("ternc_instance_destroy", voidTy, {ptr});
  llvm::FunctionCallee run = runtime("ternc_instance_run", i32, {ptr, ptr, ptr, ptr});
  llvm::FunctionCallee outputShape = runtime("ternc_instance_output_shape", i32, {ptr, ptr, i32, ptr});
  llvm::FunctionCallee lastError = runtime("ternc_instance_last_error", ptr, {ptr});

  // Each wrapper is one tail call: the handle is a ternc_instance.
  auto wrapper = [&](const std::string &name, llvm::Type *ret, std::vector<llvm::Type *> params,
                     const std::function<llvm::Value *(llvm::Function *)> &body) {
    // Internal functions may hold the name (GraphLowering's `<prefix>_<graph>_run`); they yield it.
    if (llvm::GlobalValue *old = lm.getNamedValue(name)) {
      if (!old->hasLocalLinkage()) fail("the library function {} is defined twice", name);
      old->setName(name + ".graph");
    }
    auto *f = llvm::Function::Create(llvm::FunctionType::get(ret, params, false), llvm::Function::ExternalLinkage,
                                     name, lm);
    if (f->getName() != name) fail("internal: the library function {} was renamed {}", name, f->getName().str());
    f->addFnAttr(llvm::Attribute::NoUnwind);
    b.SetInsertPoint(llvm::BasicBlock::Create(c, "entry", f));
    llvm::Value *r = body(f);
    if (auto *call = llvm::dyn_cast<llvm::CallInst>(r)) call->setTailCall();
    if (ret->isVoidTy()) b.CreateRetVoid();
    else b.CreateRet(r);
  };
  for (const LibraryEntry &e : libraryEntries(m, prefix)) {
    llvm::GlobalVariable *model = descriptors.at(e.index);
    wrapper(e.fn + "_create", ptr, {i32}, [&](llvm::Function *f) { return b.CreateCall(create, {model, f->getArg(0)}); });
    wrapper(e.fn + "_destroy", voidTy, {ptr}, [&](llvm::Function *f) { return b.CreateCall(destroy, {f->getArg(0)}); });
    wrapper(e.fn + "_run", i32, {ptr, ptr, ptr}, [&](llvm::Function *f) {
      return b.CreateCall(run, {f->getArg(0), f->getArg(1), llvm::ConstantPointerNull::get(llvm::PointerType::get(c, 0)),
                                f->getArg(2)});
    });
    wrapper(e.fn + "_run_shaped", i32, {ptr, ptr, ptr, ptr}, [&](llvm::Function *f) {
      return b.CreateCall(run, {f->getArg(0), f->getArg(1), f->getArg(2), f->getArg(3)});
    });
    wrapper(e.fn + "_output_shape", i32, {ptr, ptr, i32, ptr}, [&](llvm::Function *f) {
      return b.CreateCall(outputShape, {f->getArg(0), f->getArg(1), f->getArg(2), f->getArg(3)});
    });
    wrapper(e.fn + "_last_error", ptr, {ptr},
            [&](llvm::Function *f) { return b.CreateCall(lastError, {f->getArg(0)}); });
  }
}

} // namespace ternc
