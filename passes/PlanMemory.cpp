// PlanMemory: the plan-memory pass — fusion of elementwise chains, views,
// and a liveness-based assignment of every other intermediate to arena
// slots that are reused once their tensors are dead.
#include "passes/PlanMemory.h"

#include "ir/Error.h"
#include "ir/OpRegistry.h"
#include "passes/Passes.h"
#include "passes/QuantizeHead.h"

#include <algorithm>
#include <map>

namespace ternc {

bool isViewOp(const Op &op) {
  const std::string &n = op.opName();
  return n == "Reshape" || n == "Squeeze" || n == "Unsqueeze" || n == "Identity" || n == "Flatten";
}

bool fusesIntoUser(const Value &v, const Op &user, const std::unordered_map<const Value *, int> &uses) {
  const Op *producer = v.definingOp();
  if (!producer || !producer->def().elementwise || !user.def().elementwise) return false;
  if (isViewOp(*producer) || isViewOp(user)) return false;
  if (producer->numResults() != 1) return false;
  auto it = uses.find(&v);
  if (it == uses.end() || it->second != 1) return false;
  for (const Value *out : user.graph()->outputs())
    if (out == &v) return false;
  const Type &a = v.type(), &b = user.result(0)->type();
  if (!a.isRanked() || !b.isRanked() || a.dims() != b.dims()) return false;
  for (const Dim &d : a.dims())
    if (d.isUnknown()) return false;
  return true;
}

std::optional<int64_t> staticBytes(const Type &t) {
  auto n = t.numElements();
  if (!n) return std::nullopt;
  return *n * int64_t(dtypeSize(t.dtype()));
}

int64_t slotOf(const Value &v) {
  const Op *op = v.definingOp();
  if (!op) fail("{} is not an op result", v.name());
  std::vector<int64_t> slots = op->attrs().getInts("mem.slots");
  if (slots.size() != op->numResults())
    fail("{}: op {} has no memory plan (run plan-memory)", op->loc(), op->opName());
  return slots[v.resultIndex()];
}

std::vector<ArenaSlot> readMemoryPlan(const Graph &g) {
  std::vector<ArenaSlot> slots;
  for (const auto &op : g.ops())
    for (size_t i = 0; i < op->numResults(); ++i) {
      int64_t s = slotOf(*op->result(i));
      if (s < 0) continue;
      if (size_t(s) >= slots.size()) slots.resize(s + 1);
      slots[s].members.push_back(op->result(i));
    }
  return slots;
}

std::optional<int64_t> staticArenaBytes(const Graph &g) {
  int64_t total = 0;
  for (const ArenaSlot &slot : readMemoryPlan(g)) {
    int64_t size = 0;
    for (const Value *v : slot.members) {
      auto b = staticBytes(v->type());
      if (!b) return std::nullopt;
      size = std::max(size, *b);
    }
    total += alignArena(size);
  }
  return total;
}

namespace {

/// Plans one graph; returns the `mem.slots` annotation for each op.
void planGraph(Graph &g) {
  auto uses = g.useCounts();
  const auto &ops = g.ops();
  std::unordered_map<const Value *, size_t> outputUses;
  for (const Value *v : g.outputs()) outputUses[v]++;

  // 1. Classify each result; find where each op's code runs (a fused op
  //    runs inside the loop of the root of its elementwise tree).
  std::unordered_map<const Value *, int64_t> kind;
  std::unordered_map<const Op *, size_t> position;
  for (size_t i = 0; i < ops.size(); ++i) position[ops[i].get()] = i;
  std::unordered_map<const Op *, const Op *> fusedInto;  // producer -> its user
  for (const auto &op : ops)
    for (size_t k = 0; k < op->numOperands(); ++k)
      if (const Value *v = op->operand(k); v && fusesIntoUser(*v, *op, uses)) fusedInto[v->definingOp()] = op.get();
  auto execPosition = [&](const Op *op) {
    while (fusedInto.count(op)) op = fusedInto.at(op);
    return position.at(op);
  };
  // The buffer a value's bytes live in (through views).
  std::unordered_map<const Value *, const Value *> root;
  auto rootOf = [&](const Value *v) {
    auto it = root.find(v);
    return it == root.end() ? v : it->second;
  };
  // quantize-head's f32 weight, Transpose(DequantizeLinear(@q, @scale)): the MatMul's kernel reads @q and
  // @scale in its place (codegen/LowerHead.cpp), so it is never computed or stored.
  std::unordered_set<const Value *> int8Weights = int8WeightValues(g);
  for (const auto &op : ops)
    for (size_t i = 0; i < op->numResults(); ++i) {
      const Value *r = op->result(i);
      int64_t k = 0;  // arena, slot assigned below
      if (outputUses.count(r)) k = kSlotOutput;
      else if (fusedInto.count(op.get()) || int8Weights.count(r)) k = kSlotFused;
      // ActQuant's kernel writes both results, so both need a buffer.
      else if ((!uses.count(r) || uses.at(r) == 0) && op->opName() != "ActQuant") k = kSlotUnused;
      else if (isViewOp(*op)) {
        k = kSlotView;
        root[r] = rootOf(op->operand(0));
      }
      kind[r] = k;
    }

  // 2. Liveness of arena buffers: from the defining op to the last op that
  //    reads the buffer directly or through views.
  std::unordered_map<const Value *, size_t> lastUse;
  for (const auto &op : ops) {
    size_t at = execPosition(op.get());
    for (const Value *v : op->operands())
      if (v) {
        const Value *r = rootOf(v);
        lastUse[r] = std::max(lastUse[r], at);
      }
  }

  // 3. Assign slots in program order; a slot is free again after the last
  //    use of its current tenant. Prefer the free slot whose size fits
  //    best (static sizes) or is the same expression (symbolic sizes).
  struct SlotState {
    std::optional<int64_t> bytes;  // largest static tenant, nullopt if any symbolic
    std::vector<Dim> lastDims;
    DType lastDType = DType::F32;
    size_t busyUntil = 0;
    bool busy = false;
  };
  std::vector<SlotState> slots;
  std::unordered_map<const Value *, int64_t> assigned;
  for (size_t i = 0; i < ops.size(); ++i) {
    Op *op = ops[i].get();
    for (SlotState &s : slots)
      if (s.busy && s.busyUntil < i) s.busy = false;
    std::vector<int64_t> codes;
    for (size_t r = 0; r < op->numResults(); ++r) {
      const Value *v = op->result(r);
      int64_t k = kind.at(v);
      if (k != 0) {
        codes.push_back(k);
        continue;
      }
      std::optional<int64_t> need = staticBytes(v->type());
      int best = -1;
      auto score = [&](const SlotState &s) -> int64_t {
        if (need && s.bytes) return *s.bytes >= *need ? *s.bytes - *need : (*need - *s.bytes) * 4;
        bool same = s.lastDims == v->type().dims() && dtypeSize(s.lastDType) == dtypeSize(v->type().dtype());
        return same ? 0 : int64_t(1) << 40;
      };
      for (size_t s = 0; s < slots.size(); ++s)
        if (!slots[s].busy && (best < 0 || score(slots[s]) < score(slots[best]))) best = int(s);
      if (best < 0 || (need && slots[best].bytes && *slots[best].bytes < *need && score(slots[best]) > *need)) {
        slots.push_back({});
        slots.back().bytes = need ? std::optional<int64_t>(0) : std::nullopt;
        best = int(slots.size() - 1);
      }
      SlotState &s = slots[best];
      if (need && s.bytes) s.bytes = std::max(*s.bytes, *need);
      else s.bytes = std::nullopt;
      s.lastDims = v->type().dims();
      s.lastDType = v->type().dtype();
      s.busy = true;
      s.busyUntil = lastUse.count(v) ? lastUse.at(v) : i;
      codes.push_back(best);
    }
    op->attrs().set("mem.slots", codes);
  }
}

class PlanMemoryPass : public BuiltinPass {
public:
  PlanMemoryPass() : BuiltinPass("plan-memory") {}
  bool run(Module &m) override {
    for (const auto &g : m.graphs()) planGraph(*g);
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> createPlanMemoryPass() { return std::make_unique<PlanMemoryPass>(); }

} // namespace ternc
