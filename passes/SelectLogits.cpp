// select-logits: a language model's prefill graph computes the LM head only for the positions the caller asks
// for. The head's MatMul (the op producing the output `logits`, on activations [batch, seq, hidden]) then
// reads Gather(activations, logit_positions, axis 1), with `logit_positions` a new graph input i64
// [nlogits]. Generation asks for the last position (a prompt of n tokens costs one head row, not n), the
// executable's --perplexity and --dump for all of them. `ternc compile` runs it on language models it
// compiles to executables (docs/passes.md, "select-logits"; docs/llm.md).
#include "passes/Passes.h"

#include "ir/Error.h"

namespace ternc {

namespace {

class SelectLogits final : public BuiltinPass {
public:
  SelectLogits() : BuiltinPass("select-logits") {}

  bool run(Module &m) override {
    Graph *g = m.findGraph("prefill");
    if (!g) return false;
    for (const auto &arg : g->arguments())
      if (arg->name() == kLogitPositionsInput) return false;  // already selected
    for (size_t i = 0; i < g->outputs().size(); ++i) {
      if (g->outputNames()[i] != "logits") continue;
      Op *head = g->outputs()[i]->definingOp();
      if (!head || head->opName() != "MatMul" || head->numOperands() != 2 || !head->operand(0)) return false;
      Value *x = head->operand(0);
      const Type &xt = x->type();
      if (!xt.isRanked() || xt.rank() != 3) return false;
      // The head's result must feed nothing but the output, or other users would see fewer rows.
      if (g->useCounts()[head->result()] != 1) return false;
      Value *positions =
          g->addArgument(std::string(kLogitPositionsInput), Type(DType::I64, {Dim::symbol("nlogits")}));
      Attrs attrs;
      attrs.set("axis", int64_t(1));
      Op *gather = g->buildOp("Gather", {x, positions}, std::move(attrs), {"logit_rows"}, head);
      gather->setLoc(head->loc());
      head->setOperand(0, gather->result());
      head->inferTypes();
      return true;
    }
    return false;
  }
};

} // namespace

std::unique_ptr<Pass> createSelectLogitsPass() { return std::make_unique<SelectLogits>(); }

} // namespace ternc
