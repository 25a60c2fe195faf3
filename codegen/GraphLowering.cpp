// GraphLowering: one planned graph to LLVM IR — weights as aligned
// read-only globals, the arena layout, one function per op, the graph's
// `run` function that schedules them on the thread pool, and the
// `ternc_model` descriptor the runtime reads.
#include "codegen/GraphLowering.h"

#include "codegen/Lowering.h"
#include "ir/Error.h"
#include "ir/Interpreter.h"
#include "ir/OpRegistry.h"
#include "passes/PlanMemory.h"

#include <fmt/format.h>

#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>

#include <algorithm>
#include <optional>
#include <set>

namespace ternc::codegen {

namespace {

std::string sanitize(const std::string &s) {
  std::string r;
  for (char c : s) r += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return r;
}

class GraphLowering final : public LoweringContext {
public:
  GraphLowering(llvm::Module &m, const Graph &g, std::string prefix, ModuleGlobals &globals)
      : m_(m), c_(m.getContext()), g_(g), prefix_(std::move(prefix)), globals_(globals) {}

  bool isFused(const Value *v) const override {
    return v->kind() == Value::Kind::Result && slotOf(*v) == kSlotFused;
  }

  llvm::GlobalVariable *lower() {
    collectSymbols();
    slots_ = readMemoryPlan(g_);
    for (const auto &op : g_.ops())
      for (size_t i = 0; i < op->numResults(); ++i)
        for (size_t s = 0; s < slots_.size(); ++s)
          for (const Value *v : slots_[s].members)
            if (v == op->result(i)) slotIndex_[v] = s;
    llvm::Function *arena = emitArenaBytes();
    llvm::Function *run = emitRun();
    return emitDescriptor(arena, run);
  }

private:
  llvm::Module &m_;
  llvm::LLVMContext &c_;
  const Graph &g_;
  std::string prefix_;
  ModuleGlobals &globals_;
  std::vector<std::string> symbols_;
  std::vector<ArenaSlot> slots_;
  std::unordered_map<const Value *, size_t> slotIndex_;
  std::vector<std::string> kernelNames_;
  std::string past_, capacity_;  ///< symbols the host binds (stateful graphs)
  std::optional<Dim> cacheLength_;

  llvm::PointerType *ptrTy() { return llvm::PointerType::get(c_, 0); }
  llvm::IntegerType *i64Ty() { return llvm::Type::getInt64Ty(c_); }
  llvm::IntegerType *i32Ty() { return llvm::Type::getInt32Ty(c_); }

  void collectSymbols() {
    std::set<std::string> names;
    auto add = [&](const Type &t) {
      for (const Dim &d : t.dims())
        for (const std::string &s : d.symbols()) names.insert(s);
    };
    for (const auto &a : g_.arguments()) add(a->type());
    // A stateful module: the host binds the cached length (`past` of the
    // state ops) and the states' capacity.
    std::set<std::string> bound;
    const Module &m = *g_.module();
    if (!m.states().empty()) {
      capacity_ = stateCapacitySymbol(m);
      for (const auto &s : m.states()) add(s->type);
      if (!capacity_.empty()) bound.insert(capacity_);
    }
    for (const auto &op : g_.ops()) {
      if (!isStateOp(*op)) continue;
      std::string p = op->attrs().getString("past", "");
      if (!past_.empty() && p != past_)
        fail("{}: graph {} caches with two lengths, '{}' and '{}'", op->loc(), g_.name(), past_, p);
      past_ = p;
      names.insert(p);
      bound.insert(p);
      auto after = cachedLengthAfter(*op);
      if (!after) continue;
      const Dim &len = *after;
      if (cacheLength_ && *cacheLength_ != len)
        fail("{}: graph {} appends {} cache rows here but {} elsewhere", op->loc(), g_.name(), len.str(),
             cacheLength_->str());
      cacheLength_ = len;
    }
    for (const auto &a : g_.arguments())
      for (const Dim &d : a->type().dims())
        if (d.isSymbolic() && d.terms().size() == 1 && d.terms()[0].second == 1 && d.terms()[0].first.size() == 1)
          bound.insert(d.terms()[0].first[0]);
    for (const std::string &s : names)
      if (!bound.count(s))
        fail("graph {}: symbol '{}' is not the whole of any input dim, so it cannot be bound at run time", g_.name(), s);
    for (const auto &op : g_.ops())
      for (size_t i = 0; i < op->numResults(); ++i)
        for (const Dim &d : op->result(i)->type().dims()) {
          if (d.isUnknown())
            fail("{}: {} result %{} has a dim unknown at compile time ({}); compile needs static or symbolic shapes "
                 "(bind data-dependent inputs with --bind NAME=FILE)",
                 op->loc(), op->opName(), op->result(i)->name(), op->result(i)->type().str());
          for (const std::string &s : d.symbols())
            if (!bound.count(s))
              fail("{}: result %{} uses symbol '{}' that no input binds", op->loc(), op->result(i)->name(), s);
        }
    symbols_.assign(names.begin(), names.end());
  }

  /// Slot offsets (i64) for the symbol values `syms` (a pointer), and the
  /// total; all constants when shapes are static.
  std::vector<llvm::Value *> slotOffsets(llvm::IRBuilder<> &b, llvm::Value *syms, llvm::Value **total) {
    Env env(b, nullptr, symbolLoader(b, syms), [](const Value *) -> llvm::Value * { return nullptr; });
    env.symbolNames = &symbols_;
    std::vector<llvm::Value *> offsets;
    llvm::Value *at = b.getInt64(0);
    for (const ArenaSlot &slot : slots_) {
      offsets.push_back(at);
      llvm::Value *size = b.getInt64(0);
      for (const Value *v : slot.members) {
        llvm::Value *bytes =
            b.CreateMul(env.product(v->type(), 0, v->type().rank()), b.getInt64(dtypeSize(v->type().dtype())));
        size = b.CreateSelect(b.CreateICmpUGT(bytes, size), bytes, size);
      }
      size = b.CreateAnd(b.CreateAdd(size, b.getInt64(63)), b.getInt64(~uint64_t(63)));
      at = b.CreateAdd(at, size);
    }
    *total = at;
    return offsets;
  }

  std::function<llvm::Value *(size_t)> symbolLoader(llvm::IRBuilder<> &b, llvm::Value *syms) {
    auto cache = std::make_shared<std::map<size_t, llvm::Value *>>();
    llvm::BasicBlock *entry = b.GetInsertBlock();
    return [this, &b, syms, cache, entry](size_t k) -> llvm::Value * {
      auto it = cache->find(k);
      if (it != cache->end()) return it->second;
      // Load in the entry block so that the value dominates every use.
      llvm::IRBuilder<> eb(entry, entry->getFirstInsertionPt());
      if (entry == b.GetInsertBlock()) eb.SetInsertPoint(b.GetInsertBlock(), b.GetInsertPoint());
      llvm::Value *v = eb.CreateLoad(i64Ty(), eb.CreateConstInBoundsGEP1_64(i64Ty(), syms, k), symbols_[k]);
      (*cache)[k] = v;
      return v;
    };
  }

  llvm::Function *emitArenaBytes() {
    auto *fty = llvm::FunctionType::get(i64Ty(), {ptrTy()}, false);
    auto *f = llvm::Function::Create(fty, llvm::Function::InternalLinkage, name("arena_bytes"), m_);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(c_, "entry", f));
    llvm::Value *total;
    slotOffsets(b, f->getArg(0), &total);
    b.CreateRet(total);
    return f;
  }

  std::string name(const std::string &what) { return prefix_ + "_" + sanitize(g_.name()) + "_" + what; }

  /// The runtime's functions used by generated code.
  llvm::FunctionCallee runtimeFn(const char *n, llvm::Type *ret, std::vector<llvm::Type *> args) {
    return m_.getOrInsertFunction(n, llvm::FunctionType::get(ret, args, false));
  }

  llvm::Function *emitRun() {
    // i32 run(ctx, const i64 *symbols, const void *const *inputs, void *const *outputs, void *arena)
    auto *fty = llvm::FunctionType::get(i32Ty(), {ptrTy(), ptrTy(), ptrTy(), ptrTy(), ptrTy()}, false);
    auto *f = llvm::Function::Create(fty, llvm::Function::InternalLinkage, name("run"), m_);
    llvm::Value *ctx = f->getArg(0), *syms = f->getArg(1), *inputs = f->getArg(2), *outputs = f->getArg(3),
                *arena = f->getArg(4);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(c_, "entry", f));
    llvm::Value *total;
    std::vector<llvm::Value *> offsets = slotOffsets(b, syms, &total);

    // Buffers of values in the run function.
    std::unordered_map<const Value *, llvm::Value *> buffer;
    for (size_t i = 0; i < g_.arguments().size(); ++i)
      buffer[g_.argument(i)] = b.CreateLoad(ptrTy(), b.CreateConstInBoundsGEP1_64(ptrTy(), inputs, i));
    std::unordered_map<const Value *, size_t> outputIndex;
    for (size_t i = 0; i < g_.outputs().size(); ++i) outputIndex.emplace(g_.outputs()[i], i);
    auto outputPtr = [&](size_t i) { return b.CreateLoad(ptrTy(), b.CreateConstInBoundsGEP1_64(ptrTy(), outputs, i)); };
    std::function<llvm::Value *(const Value *)> runBuffer = [&](const Value *v) -> llvm::Value * {
      auto it = buffer.find(v);
      if (it != buffer.end()) return it->second;
      llvm::Value *p = nullptr;
      if (v->kind() == Value::Kind::Constant) {
        p = globals_.constant(b, *v->constant());
      } else if (v->kind() == Value::Kind::Result) {
        int64_t s = slotOf(*v);
        if (s >= 0) p = b.CreateInBoundsGEP(b.getInt8Ty(), arena, offsets[slotIndex_.at(v)]);
        else if (s == kSlotOutput) p = outputPtr(outputIndex.at(v));
        else if (s == kSlotView) p = runBuffer(v->definingOp()->operand(0));
        else fail("internal: %{} has no buffer (slot {})", v->name(), s);
      }
      if (!p) fail("internal: no buffer for %{}", v->name());
      buffer[v] = p;
      return p;
    };
    Env runEnv(b, ctx, symbolLoader(b, syms), runBuffer);
    runEnv.symbolNames = &symbols_;

    emitBoundsChecks(b, runEnv, ctx);

    auto profBegin = runtimeFn("ternc_profile_begin", llvm::Type::getVoidTy(c_), {ptrTy(), i32Ty()});
    auto profEnd = runtimeFn("ternc_profile_end", llvm::Type::getVoidTy(c_), {ptrTy(), i32Ty()});
    auto parallelFor =
        runtimeFn("ternc_parallel_for", llvm::Type::getVoidTy(c_), {ptrTy(), i64Ty(), i64Ty(), ptrTy(), ptrTy()});

    const auto &table = opLowerings();
    for (const auto &opPtr : g_.ops()) {
      const Op &op = *opPtr;
      bool needed = false;
      for (size_t i = 0; i < op.numResults(); ++i) {
        int64_t s = slotOf(*op.result(i));
        needed = needed || (s != kSlotFused && s != kSlotUnused && s != kSlotView);
      }
      if (!needed) continue;
      OpCode code;
      if (op.def().elementwise) {
        code = lowerElementwiseTree(*this, op);
      } else {
        auto it = table.find(op.opName());
        if (it == table.end()) fail("{}: codegen cannot lower op {} yet", op.loc(), op.opName());
        code = it->second(*this, op);
      }
      int32_t id = int32_t(kernelNames_.size());
      kernelNames_.push_back(op.opName() + " %" + op.result(0)->name());
      // The op's own function: (ctx, symbols, buffers, begin, end).
      std::vector<const Value *> used;
      llvm::Function *k = emitOpFunction(op, code, id, used);
      // Buffer array for it, filled here.
      llvm::Value *bufs = b.CreateAlloca(ptrTy(), b.getInt32(std::max<size_t>(1, used.size())));
      for (size_t i = 0; i < used.size(); ++i)
        b.CreateStore(runBuffer(used[i]), b.CreateConstInBoundsGEP1_64(ptrTy(), bufs, i));
      b.CreateCall(profBegin, {ctx, b.getInt32(id)});
      llvm::Value *items = code.items ? code.items(runEnv) : b.getInt64(1);
      llvm::Value *grain = code.grainFn ? code.grainFn(runEnv) : b.getInt64(code.grain);
      auto *constItems = llvm::dyn_cast<llvm::ConstantInt>(items);
      auto *constGrain = llvm::dyn_cast<llvm::ConstantInt>(grain);
      bool serial = !code.items || (constItems && constGrain && constItems->getSExtValue() <= constGrain->getSExtValue());
      if (serial) {
        b.CreateCall(k, {ctx, syms, bufs, b.getInt64(0), items});
      } else {
        // Task trampoline: (void *arg, i64 begin, i64 end) with arg = {ctx, syms, bufs}.
        llvm::StructType *argTy = llvm::StructType::get(c_, {ptrTy(), ptrTy(), ptrTy()});
        llvm::Function *task = emitTask(k, argTy);
        llvm::Value *arg = b.CreateAlloca(argTy);
        b.CreateStore(ctx, b.CreateStructGEP(argTy, arg, 0));
        b.CreateStore(syms, b.CreateStructGEP(argTy, arg, 1));
        b.CreateStore(bufs, b.CreateStructGEP(argTy, arg, 2));
        b.CreateCall(parallelFor, {ctx, items, grain, task, arg});
      }
      b.CreateCall(profEnd, {ctx, b.getInt32(id)});
    }

    // Outputs not written in place: graph inputs, constants, views, and a
    // value given as more than one output.
    std::set<const Value *> written;
    for (size_t i = 0; i < g_.outputs().size(); ++i) {
      const Value *v = g_.outputs()[i];
      bool inPlace = v->kind() == Value::Kind::Result && slotOf(*v) == kSlotOutput && outputIndex.at(v) == i;
      if (inPlace) continue;
      llvm::Value *bytes = b.CreateMul(runEnv.product(v->type(), 0, v->type().rank()),
                                       b.getInt64(dtypeSize(v->type().dtype())));
      b.CreateMemCpy(outputPtr(i), llvm::MaybeAlign(1), runBuffer(v), llvm::MaybeAlign(1), bytes);
    }
    b.CreateRet(b.getInt32(0));
    return f;
  }

  /// Slices whose rows inference kept symbolic on a static axis (`table[0:past+seq]`) assume the end stays
  /// within the axis: checked here, at the start of the run, with an error naming the op.
  void emitBoundsChecks(llvm::IRBuilder<> &b, Env &env, llvm::Value *ctx) {
    auto setError = runtimeFn("ternc_set_error", llvm::Type::getVoidTy(c_), {ptrTy(), ptrTy()});
    for (const auto &opPtr : g_.ops()) {
      const Op &op = *opPtr;
      if (op.opName() != "Slice" || !op.operand(1) || op.operand(1)->kind() != Value::Kind::Constant) continue;
      const Type &x = op.operand(0)->type(), &r = op.result(0)->type();
      if (!x.isRanked() || !r.isRanked() || x.rank() != r.rank()) continue;
      std::vector<int64_t> starts = op.operand(1)->constant()->data.toI64Vector(), axes;
      const Value *ax = op.numOperands() > 3 ? op.operand(3) : nullptr;
      if (ax && ax->kind() == Value::Kind::Constant) axes = ax->constant()->data.toI64Vector();
      else if (ax) continue;
      else
        for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
      for (size_t i = 0; i < axes.size() && i < starts.size(); ++i) {
        int64_t a = axes[i] < 0 ? axes[i] + int64_t(x.rank()) : axes[i];
        if (a < 0 || a >= int64_t(x.rank())) continue;
        const Dim &d = x.dim(size_t(a)), &rows = r.dim(size_t(a));
        if (!d.isStatic() || !rows.isSymbolic()) continue;
        int64_t limit = d.value() - std::max<int64_t>(starts[i], 0);
        llvm::Value *bad = b.CreateICmpSGT(env.dim(rows), b.getInt64(uint64_t(limit)));
        llvm::Function *f = b.GetInsertBlock()->getParent();
        auto *fail = llvm::BasicBlock::Create(c_, "bounds.fail", f), *ok = llvm::BasicBlock::Create(c_, "bounds.ok", f);
        b.CreateCondBr(bad, fail, ok);
        b.SetInsertPoint(fail);
        std::string msg = fmt::format("{}: Slice reads {} rows of {} (the model's table holds {} positions: use a "
                                      "shorter context)",
                                      op.loc(), rows.str(), x.str(), d.value());
        b.CreateCall(setError, {ctx, cstring(msg)});
        b.CreateRet(b.getInt32(1));
        b.SetInsertPoint(ok);
      }
    }
  }

  llvm::Function *emitOpFunction(const Op &op, const OpCode &code, int32_t id, std::vector<const Value *> &used) {
    auto *fty = llvm::FunctionType::get(llvm::Type::getVoidTy(c_), {ptrTy(), ptrTy(), ptrTy(), i64Ty(), i64Ty()}, false);
    auto *f = llvm::Function::Create(fty, llvm::Function::InternalLinkage,
                                     name("op" + std::to_string(id) + "_" + sanitize(op.opName())), m_);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(c_, "entry", f));
    llvm::Value *bufs = f->getArg(2);
    std::unordered_map<const Value *, llvm::Value *> loaded;
    llvm::BasicBlock *entry = &f->getEntryBlock();
    auto buffer = [&, entry](const Value *v) -> llvm::Value * {
      auto it = loaded.find(v);
      if (it != loaded.end()) return it->second;
      size_t index = used.size();
      used.push_back(v);
      llvm::IRBuilder<> eb(entry, entry->begin());
      llvm::Value *p = eb.CreateLoad(ptrTy(), eb.CreateConstInBoundsGEP1_64(ptrTy(), bufs, index));
      loaded[v] = p;
      return p;
    };
    Env env(b, f->getArg(0), symbolLoader(b, f->getArg(1)), buffer);
    env.symbolNames = &symbols_;
    code.body(env, f->getArg(3), f->getArg(4));
    b.CreateRetVoid();
    return f;
  }

  llvm::Function *emitTask(llvm::Function *k, llvm::StructType *argTy) {
    auto *fty = llvm::FunctionType::get(llvm::Type::getVoidTy(c_), {ptrTy(), i64Ty(), i64Ty()}, false);
    auto *f = llvm::Function::Create(fty, llvm::Function::InternalLinkage, k->getName() + "_task", m_);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(c_, "entry", f));
    llvm::Value *arg = f->getArg(0);
    llvm::Value *ctx = b.CreateLoad(ptrTy(), b.CreateStructGEP(argTy, arg, 0));
    llvm::Value *syms = b.CreateLoad(ptrTy(), b.CreateStructGEP(argTy, arg, 1));
    llvm::Value *bufs = b.CreateLoad(ptrTy(), b.CreateStructGEP(argTy, arg, 2));
    b.CreateCall(k, {ctx, syms, bufs, f->getArg(1), f->getArg(2)});
    b.CreateRetVoid();
    return f;
  }

  // ---- The descriptor (runtime.h: ternc_model) -------------------------------

  llvm::Constant *cstring(const std::string &s) { return globals_.cstring(s); }

  llvm::Constant *dimsArray(const Type &t) {
    // ternc_dim { i64 value; i32 num_terms; ptr terms }
    llvm::StructType *termTy = llvm::StructType::get(c_, {i64Ty(), i32Ty(), llvm::ArrayType::get(i32Ty(), 4)});
    llvm::StructType *dimTy = llvm::StructType::get(c_, {i64Ty(), i32Ty(), ptrTy()});
    std::vector<llvm::Constant *> dims;
    for (const Dim &d : t.dims()) {
      if (d.isStatic()) {
        dims.push_back(llvm::ConstantStruct::get(dimTy, {llvm::ConstantInt::get(i64Ty(), d.value()),
                                                         llvm::ConstantInt::get(i32Ty(), 0),
                                                         llvm::ConstantPointerNull::get(ptrTy())}));
        continue;
      }
      std::vector<llvm::Constant *> terms;
      for (const auto &[monomial, coeff] : d.terms()) {
        if (monomial.size() > 4) fail("dim {} has a term of more than 4 symbols", d.str());
        std::vector<llvm::Constant *> factors(4, llvm::ConstantInt::get(i32Ty(), 0));
        for (size_t f = 0; f < monomial.size(); ++f) {
          size_t k = std::find(symbols_.begin(), symbols_.end(), monomial[f]) - symbols_.begin();
          factors[f] = llvm::ConstantInt::get(i32Ty(), k);
        }
        terms.push_back(llvm::ConstantStruct::get(
            termTy, {llvm::ConstantInt::get(i64Ty(), coeff), llvm::ConstantInt::get(i32Ty(), monomial.size()),
                     llvm::ConstantArray::get(llvm::ArrayType::get(i32Ty(), 4), factors)}));
      }
      auto *arr = llvm::ConstantArray::get(llvm::ArrayType::get(termTy, terms.size()), terms);
      auto *gv = new llvm::GlobalVariable(m_, arr->getType(), true, llvm::GlobalValue::PrivateLinkage, arr);
      dims.push_back(llvm::ConstantStruct::get(
          dimTy, {llvm::ConstantInt::get(i64Ty(), 0), llvm::ConstantInt::get(i32Ty(), terms.size()), gv}));
    }
    if (dims.empty()) return llvm::ConstantPointerNull::get(ptrTy());
    auto *arr = llvm::ConstantArray::get(llvm::ArrayType::get(dimTy, dims.size()), dims);
    return new llvm::GlobalVariable(m_, arr->getType(), true, llvm::GlobalValue::PrivateLinkage, arr);
  }

  llvm::Constant *tensorInfos(const std::vector<std::pair<std::string, const Type *>> &list) {
    // ternc_tensor_info { ptr name; i32 dtype; i32 rank; ptr dims }
    llvm::StructType *infoTy = llvm::StructType::get(c_, {ptrTy(), i32Ty(), i32Ty(), ptrTy()});
    std::vector<llvm::Constant *> infos;
    for (const auto &[n, t] : list)
      infos.push_back(llvm::ConstantStruct::get(
          infoTy, {cstring(n), llvm::ConstantInt::get(i32Ty(), int(t->dtype())),
                   llvm::ConstantInt::get(i32Ty(), t->rank()), dimsArray(*t)}));
    if (infos.empty()) return llvm::ConstantPointerNull::get(ptrTy());
    auto *arr = llvm::ConstantArray::get(llvm::ArrayType::get(infoTy, infos.size()), infos);
    return new llvm::GlobalVariable(m_, arr->getType(), true, llvm::GlobalValue::PrivateLinkage, arr);
  }

  llvm::Constant *stringArray(const std::vector<std::string> &list) {
    if (list.empty()) return llvm::ConstantPointerNull::get(ptrTy());
    std::vector<llvm::Constant *> ptrs;
    for (const auto &s : list) ptrs.push_back(cstring(s));
    auto *arr = llvm::ConstantArray::get(llvm::ArrayType::get(ptrTy(), ptrs.size()), ptrs);
    return new llvm::GlobalVariable(m_, arr->getType(), true, llvm::GlobalValue::PrivateLinkage, arr);
  }

  llvm::GlobalVariable *emitDescriptor(llvm::Function *arena, llvm::Function *run) {
    std::vector<std::pair<std::string, const Type *>> ins, outs;
    for (const auto &a : g_.arguments()) ins.emplace_back(a->name(), &a->type());
    for (size_t i = 0; i < g_.outputs().size(); ++i) outs.emplace_back(g_.outputNames()[i], &g_.outputs()[i]->type());
    std::vector<std::pair<std::string, const Type *>> states;
    for (const auto &s : g_.module()->states()) states.emplace_back(s->name, &s->type);
    auto symbolIndex = [&](const std::string &n) -> int64_t {
      auto it = std::find(symbols_.begin(), symbols_.end(), n);
      return n.empty() || it == symbols_.end() ? -1 : int64_t(it - symbols_.begin());
    };
    llvm::Constant *cacheLength = llvm::ConstantPointerNull::get(ptrTy());
    if (cacheLength_) cacheLength = dimsArray(Type(DType::I64, {*cacheLength_}));
    // runtime.h: ternc_model (TERNC_ABI_VERSION 2).
    std::vector<llvm::Type *> fields = {i32Ty(), ptrTy(), i32Ty(), ptrTy(), i32Ty(), ptrTy(), i32Ty(), ptrTy(),
                                        ptrTy(), ptrTy(), i32Ty(), ptrTy(), i32Ty(), ptrTy(), i32Ty(), i32Ty(),
                                        ptrTy()};
    llvm::StructType *modelTy = llvm::StructType::get(c_, fields);
    llvm::Constant *init = llvm::ConstantStruct::get(
        modelTy, {llvm::ConstantInt::get(i32Ty(), 2), cstring(g_.module()->name()),
                  llvm::ConstantInt::get(i32Ty(), symbols_.size()), stringArray(symbols_),
                  llvm::ConstantInt::get(i32Ty(), ins.size()), tensorInfos(ins),
                  llvm::ConstantInt::get(i32Ty(), outs.size()), tensorInfos(outs), arena, run,
                  llvm::ConstantInt::get(i32Ty(), kernelNames_.size()), stringArray(kernelNames_),
                  llvm::ConstantInt::get(i32Ty(), states.size()), tensorInfos(states),
                  llvm::ConstantInt::get(i32Ty(), symbolIndex(past_)),
                  llvm::ConstantInt::get(i32Ty(), symbolIndex(capacity_)), cacheLength});
    return new llvm::GlobalVariable(m_, modelTy, true, llvm::GlobalValue::ExternalLinkage, init,
                                    prefix_ + "_" + sanitize(g_.name()) + "_model");
  }
};

} // namespace

llvm::Constant *ModuleGlobals::cstring(const std::string &s) {
  auto it = strings_.find(s);
  if (it != strings_.end()) return it->second;
  llvm::IRBuilder<> b(m_.getContext());
  llvm::Constant *str = llvm::ConstantDataArray::getString(m_.getContext(), s);
  auto *gv = new llvm::GlobalVariable(m_, str->getType(), true, llvm::GlobalValue::PrivateLinkage, str, ".str");
  gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  strings_[s] = gv;
  return gv;
}

llvm::Value *ModuleGlobals::constant(llvm::IRBuilder<> &b, const Constant &c) {
  auto it = constants_.find(&c);
  if (it != constants_.end()) return it->second;
  const Tensor &t = c.data;
  if (!t.isValid()) fail("constant @{} has no data", c.value.name());
  const auto *bytes = reinterpret_cast<const char *>(t.rawData());
  size_t n = t.numElements() * dtypeSize(t.dtype());
  if (external_ && n >= ExternalWeights::kMinBytes) {
    // A piece of the blob after the executable's image: base (set by main) + offset. Small constants stay
    // globals, where LLVM can still fold loads of their values.
    bool sparse = sparseBase_ && sparse_.count(&c.value);
    auto at = offsets_.find(&c);
    if (at == offsets_.end()) {
      uint64_t &size = sparse ? external_->sparseBytes : external_->bytes;
      uint64_t off = (size + ExternalWeights::kAlign - 1) / ExternalWeights::kAlign * ExternalWeights::kAlign;
      (sparse ? external_->sparsePieces : external_->pieces).push_back({off, bytes, n});
      size = off + n;
      at = offsets_.emplace(&c, off).first;
    }
    llvm::Value *base = b.CreateLoad(llvm::PointerType::get(m_.getContext(), 0), sparse ? sparseBase_ : externalBase_,
                                     sparse ? "weights.sparse" : "weights");
    return b.CreateInBoundsGEP(b.getInt8Ty(), base, b.getInt64(at->second), "w." + sanitize(c.value.name()));
  }
  llvm::Constant *data = llvm::ConstantDataArray::getRaw(llvm::StringRef(bytes, n), n, llvm::Type::getInt8Ty(m_.getContext()));
  // Weights stay in the executable's read-only segment: mapped from the
  // file at start-up, never copied. 64-byte aligned for vector loads.
  auto *gv = new llvm::GlobalVariable(m_, data->getType(), true, llvm::GlobalValue::PrivateLinkage, data,
                                      "w." + sanitize(c.value.name()));
  gv->setAlignment(llvm::Align(64));
  constants_[&c] = gv;
  return gv;
}

llvm::GlobalVariable *lowerGraph(llvm::Module &m, const Graph &g, const std::string &prefix, ModuleGlobals &globals) {
  return GraphLowering(m, g, prefix, globals).lower();
}

} // namespace ternc::codegen
