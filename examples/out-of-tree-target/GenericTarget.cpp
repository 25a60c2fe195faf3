// GenericTarget: "x86-generic", an out-of-tree ternc target. Any x86-64 CPU (baseline x86-64 by default, no
// AVX needed): ternc's portable kernels for every op, and its own BitLinear kernel (kernels/GenericBitLinear.cpp)
// on unpacked int8 ternary weights, chosen by its legalization pass `x86-generic-bitlinear`. Built against the
// installed ternc headers; ternc loads it with --load-target (docs/adding-a-target.md).
#include "targets/Target.h"
#include "targets/TargetPlugin.h"
#include "targets/TargetSupport.h"

#include "ir/Error.h"
#include "ir/IR.h"
#include "passes/Pass.h"

#include <fmt/format.h>

// The kernel bitcode (ternc's portable kernels + ours), embedded by ternc_kernel_bitcode in CMakeLists.txt.
extern "C" const char ternc_x86_generic_bc[];
extern "C" const char ternc_x86_generic_bc_end[];

namespace {

constexpr const char *kKernel = "tk_bitlinear_i8_generic";

/// Why the kernel cannot take BitLinear weight w, or "" if it can.
std::string unsupported(const ternc::Value &w) {
  const ternc::Type &t = w.type();
  if (w.kind() != ternc::Value::Kind::Constant) return "the weight is not a constant";
  if (t.dtype() != ternc::DType::Tern || !t.isRanked() || t.rank() != 2 || !t.dim(1).isStatic())
    return "not a static tern matrix";
  if (!w.constant()->layout.empty()) return "the weight is already packed as " + w.constant()->layout;
  return "";
}

/// The legalization: every BitLinear whose weights the kernel takes runs it, on the weights as they are.
class GenericBitLinearPass final : public ternc::Pass {
public:
  std::string_view name() const override { return "x86-generic-bitlinear"; }
  std::string_view summary() const override {
    return "Run BitLinear with x86-generic's scalar kernel on unpacked int8 ternary weights";
  }
  bool run(ternc::Module &m) override {
    bool changed = false;
    for (const auto &g : m.graphs())
      for (const auto &op : g->ops()) {
        if (op->opName() != "BitLinear" || op->attrs().has(ternc::kTargetKernelAttr)) continue;
        bool ok = unsupported(*op->operand(2)).empty();
        if (op->numOperands() > 5 && op->operand(5)) ok = ok && unsupported(*op->operand(5)).empty();
        if (!ok) continue;  // codegen reports it; --explain-tiling says why
        op->attrs().set(ternc::kTargetKernelAttr, std::string(kKernel));
        changed = true;
      }
    return changed;
  }
};

class X86GenericTarget final : public ternc::Target {
public:
  std::string_view name() const override { return "x86-generic"; }
  std::string_view description() const override {
    return "any x86-64 CPU, portable scalar kernels (out-of-tree example: examples/out-of-tree-target)";
  }
  std::string triple() const override { return "x86_64-pc-linux-gnu"; }

  ternc::CpuSelection selectCpu(const std::string &cpu) const override {
    ternc::CpuSelection sel =
        cpu == "native" ? ternc::hostCpu() : ternc::CpuSelection{cpu.empty() ? "x86-64" : cpu, ""};
    ternc::requireCpuFeatures(triple(), sel, {"sse2"}, name());
    return sel;
  }

  std::vector<std::string> features() const override { return {"sse2"}; }

  ternc::HardwareInfo hardware() const override {
    return {.vectorBits = 128, .vectorRegisters = 16, .l1DataBytes = 32 << 10, .l2Bytes = 512 << 10,
            .l3Bytes = 8 << 20, .memoryGBs = 20, .cores = 4, .ghz = 2.5, .vectorIssue = 1};
  }

  std::string_view kernelBitcode() const override {
    return {ternc_x86_generic_bc, size_t(ternc_x86_generic_bc_end - ternc_x86_generic_bc)};
  }

  std::vector<std::string> pipeline(const ternc::CpuSelection &) const override { return {"x86-generic-bitlinear"}; }

  void registerPasses(ternc::PassRegistry &r) const override {
    r.add("x86-generic-bitlinear", "Run BitLinear with x86-generic's scalar kernel on unpacked int8 ternary weights",
          [] { return std::make_unique<GenericBitLinearPass>(); });
  }

  std::string explainTiling(const ternc::Op &op, const ternc::CpuSelection &) const override {
    if (op.opName() != "BitLinear") return "";
    const ternc::Value *w = op.operand(2);
    if (!op.attrs().has(ternc::kTargetKernelAttr))
      return fmt::format("  no kernel: {} (weight {})", unsupported(*w), w->type().str());
    int64_t n = w->type().dim(0).value(), k = w->type().dim(1).value();
    return fmt::format("  packing: none (int8 -1/0/1, {} bytes)\n  kernel: {} (scalar, one output at a time)\n"
                       "  threads: {} items of 16 output columns\n  cost model: 1 byte per weight, {} multiply-adds "
                       "per activation row: memory-bound at {} GB/s",
                       n * k, kKernel, (n + 15) / 16, n * k, hardware().memoryGBs);
  }

  ternc::LinkInfo linkInfo() const override { return ternc::hostLinkInfo(triple()); }
  bool runsOnHost() const override { return ternc::hostIsX86_64(); }
};

std::unique_ptr<ternc::Target> createX86GenericTarget() { return std::make_unique<X86GenericTarget>(); }

} // namespace

TERNC_TARGET_PLUGIN(createX86GenericTarget)
