// X86Avx2Target: x86-64 with AVX2 and FMA (x86-64-v3), the default target.
#include "targets/Target.h"
#include "targets/TargetSupport.h"
#include "targets/x86-avx2/X86Passes.h"

#include "ir/Error.h"

extern "C" const char ternc_kernels_x86_64_bc[];
extern "C" const char ternc_kernels_x86_64_bc_end[];

namespace ternc {

namespace {

class X86Avx2Target final : public Target {
public:
  std::string_view name() const override { return "x86-avx2"; }
  std::string_view description() const override {
    return "x86-64 with AVX2 and FMA (x86-64-v3 or newer; --cpu=native uses every feature of this host)";
  }
  std::string triple() const override { return "x86_64-pc-linux-gnu"; }

  CpuSelection selectCpu(const std::string &cpu) const override {
    CpuSelection sel = cpu == "native" ? hostCpu() : CpuSelection{cpu.empty() ? "x86-64-v3" : cpu, ""};
    requireCpuFeatures(triple(), sel, {"avx2", "fma"}, name());
    return sel;
  }

  std::vector<std::string> features() const override { return {"avx2", "fma", "f16c", "bmi2"}; }

  HardwareInfo hardware() const override {
    // A typical AVX2 desktop/server core; the cost models only need the
    // orders of magnitude.
    return {.vectorBits = 256, .vectorRegisters = 16, .l1DataBytes = 32 << 10, .l2Bytes = 1 << 20,
            .l3Bytes = 32 << 20, .memoryGBs = 60};
  }

  std::string_view kernelBitcode() const override {
    return {ternc_kernels_x86_64_bc, size_t(ternc_kernels_x86_64_bc_end - ternc_kernels_x86_64_bc)};
  }

  /// Packs ternary weights for the best kernel the CPU runs: AVX512-VNNI on zmm with GFNI code extraction
  /// (tern2b64) where the CPU has both, else VNNI on ymm, else AVX2 (tern2b32). bench/ternary measured the
  /// zmm kernel fastest on Zen 5 (docs/ternary.md).
  std::vector<std::string> pipeline(const CpuSelection &cpu) const override {
    bool vnni = cpuHasFeatures(triple(), cpu, {"avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512vnni"});
    return {x86PackPass(vnni && cpuHasFeatures(triple(), cpu, {"gfni"}), vnni)};
  }

  void registerPasses(PassRegistry &r) const override { registerX86Passes(r); }

  LinkInfo linkInfo() const override { return hostLinkInfo(triple()); }

  bool runsOnHost() const override { return hostIsX86_64(); }
};

} // namespace

std::unique_ptr<Target> createX86Avx2Target() { return std::make_unique<X86Avx2Target>(); }

} // namespace ternc
