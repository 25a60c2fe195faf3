// X86Target: what the x86 targets (x86-avx2, x86-avx512) share: the x86-64 triple, the kernel bitcode
// (portable kernels + the BitLinear kernels of kernels/), the choice of BitLinear kernel for a CPU, the
// packing passes and the cost model `--explain-tiling` prints. Each target adds its name, default CPU,
// required features and hardware description.
#pragma once

#include "targets/Target.h"

#include <initializer_list>
#include <string>
#include <vector>

namespace ternc {

/// One of the x86 BitLinear kernels (kernels/BitLinear.h) with the register tiles its Isa uses.
struct X86Kernel {
  const char *symbol;     ///< e.g. "tk_bitlinear_tern2b64_vnni512"
  const char *layout;     ///< weight packing, e.g. "tern2b64"
  const char *pass;       ///< the pass that packs for it, e.g. "x86-pack-vnni512"
  const char *isa;        ///< what it runs on, for explanations
  int blockBytes;         ///< B: bytes per vector (P = B / 4 weight rows by 4 weights)
  int mr, mrGrouped;      ///< activation rows of a prefill tile (per-tensor or per-row scales, grouped scales)
  double instrPerDot;     ///< vector instructions per multiply-add of a panel by 4 activations of one row
  double instrPerCodes;   ///< vector instructions extracting a panel's codes of one step (shared by the tile's rows)
};

/// The kernels, best first.
const std::vector<X86Kernel> &x86Kernels();
/// The best kernel the (validated) CPU runs.
const X86Kernel &x86KernelFor(const std::string &triple, const CpuSelection &cpu);

/// The x86 targets' common half.
class X86TargetBase : public Target {
public:
  std::string triple() const override { return "x86_64-pc-linux-gnu"; }
  std::string_view kernelBitcode() const override;
  /// The packing pass of the best kernel the CPU runs: AVX512-VNNI on zmm with GFNI code extraction
  /// (tern2b64) where the CPU has both, else VNNI on ymm, else AVX2 (tern2b32). bench/ternary measured the
  /// zmm kernel fastest (docs/ternary.md).
  std::vector<std::string> pipeline(const CpuSelection &cpu) const override;
  void registerPasses(PassRegistry &r) const override;
  std::string explainTiling(const Op &op, const CpuSelection &cpu) const override;
  LinkInfo linkInfo() const override;
  bool runsOnHost() const override;

protected:
  /// `--cpu` resolution: "" is `defaultCpu`, "native" this host (every feature it reports, so CPUs LLVM 16
  /// does not name still get their instructions); the result must have every feature in `required`.
  CpuSelection selectX86Cpu(const std::string &cpu, const char *defaultCpu,
                            std::initializer_list<const char *> required) const;
};

} // namespace ternc
