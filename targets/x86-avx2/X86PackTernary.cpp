// X86PackTernary: the x86 target's legalization of ternary matmuls. For each BitLinear whose ternary weights
// the x86 kernels take (scales per tensor, per row, or per group of a multiple of 32 weights), the weights
// (and gate weights) become constants packed in the layout of the chosen instruction set (tern2b32 for AVX2,
// tern2b64 for AVX-512 VNNI; ir/TernaryPacking.h), and the op records the symbol of the kernel that will run it
// as `target.kernel` (visible in IR dumps; codegen calls what it names). Constant group scales (several groups
// per row, as BitCPM's and GGUF TQ2_0's 256-weight groups) are tiled by 16 rows, in binary16 times an f32 factor
// when that is exact (ir/TernaryPacking.h): an item of 16 rows then reads each group's scales from one contiguous run, in order,
// rather than gathering 16 rows' scales from 16 places per group (BitCPM-CANN-1B shapes: grouped decode GEMV from
// 1.20-1.27x to 1.00-1.05x the time of the same weights with one scale, docs/ternary.md). Packed constants still
// interpret: the interpreter unpacks them.
#include "targets/x86-avx2/X86Passes.h"
#include "targets/x86-avx2/X86Target.h"
#include "targets/TargetSupport.h"

#include "ir/IR.h"

namespace ternc {

std::string x86UnsupportedWeight(const Value &w) { return unsupportedTernaryWeight(w, 32); }

namespace {

class PackTernaryPass final : public Pass {
public:
  explicit PackTernaryPass(const X86Kernel &k) : k_(k), summary_(packSummary(k)) {}
  std::string_view name() const override { return k_.pass; }
  std::string_view summary() const override { return summary_; }

  bool run(Module &m) override {
    return packBitLinearWeights(m, k_.pass, k_.layout, k_.symbol, x86UnsupportedWeight, /*tileGroupScales=*/true);
  }

  static std::string packSummary(const X86Kernel &k) {
    return "Pack BitLinear ternary weights as 2-bit codes in " + std::to_string(k.blockBytes) + "-byte blocks (" +
           k.layout + ") for the " + k.isa + " kernel, and tile their group scales by 16 rows";
  }

private:
  const X86Kernel &k_;
  std::string summary_;
};

} // namespace

void registerX86Passes(PassRegistry &r) {
  // Plainest first, as `ternc passes` lists them.
  for (auto it = x86Kernels().rbegin(); it != x86Kernels().rend(); ++it) {
    const X86Kernel &k = *it;
    r.add(k.pass, PackTernaryPass::packSummary(k), [&k] { return std::make_unique<PackTernaryPass>(k); });
  }
}

} // namespace ternc
