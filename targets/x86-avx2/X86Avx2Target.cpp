// X86Avx2Target: x86-64 with AVX2 and FMA (x86-64-v3), the default target. Its kernels, passes and cost model
// are the x86 family's (X86Target.h); --cpu=native (or a CPU name with AVX-512 VNNI) gets the VNNI kernels.
#include "targets/x86-avx2/X86Target.h"

namespace ternc {

namespace {

class X86Avx2Target final : public X86TargetBase {
public:
  std::string_view name() const override { return "x86-avx2"; }
  std::string_view description() const override {
    return "x86-64 with AVX2 and FMA (x86-64-v3 or newer; --cpu=native uses every feature of this host)";
  }

  CpuSelection selectCpu(const std::string &cpu) const override {
    return selectX86Cpu(cpu, "x86-64-v3", {"avx2", "fma"});
  }

  std::vector<std::string> features() const override { return {"avx2", "fma", "f16c", "bmi2"}; }

  HardwareInfo hardware() const override {
    // A typical AVX2 desktop/server core; the cost models only need the orders of magnitude.
    return {.vectorBits = 256, .vectorRegisters = 16, .l1DataBytes = 32 << 10, .l2Bytes = 1 << 20,
            .l3Bytes = 32 << 20, .memoryGBs = 60, .cores = 8, .ghz = 3.5, .vectorIssue = 2};
  }
};

} // namespace

std::unique_ptr<Target> createX86Avx2Target() { return std::make_unique<X86Avx2Target>(); }

} // namespace ternc
