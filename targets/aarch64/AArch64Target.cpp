// AArch64Target: 64-bit Arm with NEON (Armv8-A; --cpu picks e.g. neoverse-n1
// for dotprod). Cross-compiled here; executables need the runtime built for
// aarch64 (the targets issue), objects and assembly work now.
#include "targets/Target.h"
#include "targets/TargetSupport.h"

#include "ir/Error.h"

#include <filesystem>

extern "C" const char ternc_kernels_aarch64_bc[];
extern "C" const char ternc_kernels_aarch64_bc_end[];

namespace ternc {

namespace {

class AArch64Target final : public Target {
public:
  std::string_view name() const override { return "aarch64"; }
  std::string_view description() const override {
    return "64-bit Arm, Linux, NEON (generic Armv8-A by default; --cpu=neoverse-n1 or newer adds dotprod)";
  }
  std::string triple() const override { return "aarch64-unknown-linux-gnu"; }

  CpuSelection selectCpu(const std::string &cpu) const override {
    if (cpu == "native") {
      if (!runsOnHost()) fail("--cpu=native: this host is not aarch64; name an Arm CPU (e.g. neoverse-n1)");
      return hostCpu();
    }
    CpuSelection sel{cpu.empty() ? "generic" : cpu, "+neon"};
    requireCpuFeatures(triple(), sel, {"neon"}, name());
    return sel;
  }

  std::vector<std::string> features() const override { return {"neon", "dotprod (with --cpu)"}; }

  HardwareInfo hardware() const override {
    return {.vectorBits = 128, .vectorRegisters = 32, .l1DataBytes = 64 << 10, .l2Bytes = 1 << 20,
            .l3Bytes = 32 << 20, .memoryGBs = 50, .cores = 8, .ghz = 2.5, .vectorIssue = 2};
  }

  std::string_view kernelBitcode() const override {
    return {ternc_kernels_aarch64_bc, size_t(ternc_kernels_aarch64_bc_end - ternc_kernels_aarch64_bc)};
  }

  LinkInfo linkInfo() const override {
    LinkInfo info = hostLinkInfo(triple());
    if (!std::filesystem::exists(info.libraries.front()))
      fail("no ternc runtime is built for {} yet, so only --emit=obj, asm and llvm work for target {}", triple(),
           name());
    return info;
  }

  bool runsOnHost() const override {
#if defined(__aarch64__)
    return true;
#else
    return false;
#endif
  }
};

} // namespace

std::unique_ptr<Target> createAArch64Target() { return std::make_unique<AArch64Target>(); }

} // namespace ternc
