// X86Target: the x86 targets' shared half — kernel choice, packing passes, CPU selection, linking, and the
// cost model behind `--explain-tiling`.
#include "targets/x86-avx2/X86Target.h"

#include "targets/TargetSupport.h"
#include "targets/x86-avx2/X86Passes.h"
#include "targets/x86-avx2/kernels/BitLinear.h"

#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/TernaryPacking.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>

extern "C" const char ternc_kernels_x86_64_bc[];
extern "C" const char ternc_kernels_x86_64_bc_end[];

namespace ternc {

const std::vector<X86Kernel> &x86Kernels() {
  // Tiles as in kernels/BitLinear.cpp's Isa structs. Instructions per multiply-add of one panel by 4
  // broadcast activations: AVX2 vpmaddubsw + vpmaddwd + vpaddd, VNNI one vpdpbusd; code extraction per panel
  // and step: AVX2 a shift and a mask, zmm one vgf2p8affineqb.
  static const std::vector<X86Kernel> kernels = {
      {"tk_bitlinear_tern2b64_vnni512", "tern2b64", "x86-pack-vnni512",
       "AVX512-VNNI vpdpbusd on zmm, GFNI code extraction", 64, 8, 8, 1.0, 1.25},
      {"tk_bitlinear_tern2b32_vnni256", "tern2b32", "x86-pack-vnni256", "AVX512-VNNI vpdpbusd on ymm", 32, 4, 4, 1.0,
       2.25},
      {"tk_bitlinear_tern2b32_avx2", "tern2b32", "x86-pack-avx2", "AVX2 vpmaddubsw + vpmaddwd on ymm", 32, 4, 2, 3.0,
       2.25},
  };
  return kernels;
}

namespace {

bool runsKernel(const std::string &triple, const CpuSelection &cpu, const X86Kernel &k) {
  if (k.blockBytes == 64)
    return cpuHasFeatures(triple, cpu, {"avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512vnni", "gfni"});
  if (std::string_view(k.symbol).find("vnni") != std::string_view::npos)
    return cpuHasFeatures(triple, cpu, {"avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512vnni"});
  return cpuHasFeatures(triple, cpu, {"avx2", "fma", "f16c"});
}

/// The roofline estimate of one BitLinear call with M activation rows on kernel k.
struct Estimate {
  double weightBytes, otherBytes, macs, instructions, memorySeconds, computeSeconds;
  double seconds() const { return std::max(memorySeconds, computeSeconds); }
  const char *bound() const { return memorySeconds >= computeSeconds ? "memory-bound" : "compute-bound"; }
};

/// `groups`: scale groups along K (1 for per-tensor and per-row scales).
Estimate estimate(const X86Kernel &k, const HardwareInfo &hw, int64_t m, int64_t n, int64_t kk, bool gated,
                  int64_t groups, bool residual) {
  const TernaryLayout *layout = findTernaryLayout(k.layout);
  int64_t npad = layout->paddedN(n), kp = layout->paddedK(kk), blocks = kp / TernaryLayout::kBlockK;
  double panels = double(npad / layout->panelRows());
  double matrices = gated ? 2 : 1;
  Estimate e{};
  e.weightBytes = matrices * double(layout->bytes(n, kk));
  e.otherBytes = double(m * kk) + 4.0 * double(m) * (1.0 + double(n) * (residual ? 2 : 1));
  e.macs = matrices * double(m) * double(n) * double(kk);
  int tileRows = m == 1 ? 1 : groups > 1 ? k.mrGrouped : k.mr;
  double rowTiles = double((m + tileRows - 1) / tileRows);
  // 4 steps per block; each scale group ends with a subtraction, 2 conversions and 2 fmas per accumulator.
  e.instructions = matrices * panels *
                   (double(blocks) * 4.0 * (double(m) * k.instrPerDot + rowTiles * k.instrPerCodes) +
                    double(groups) * double(m) * 5.0);
  e.memorySeconds = (e.weightBytes + e.otherBytes) / (hw.memoryGBs * 1e9);
  e.computeSeconds = e.instructions / (hw.ghz * 1e9 * hw.vectorIssue * std::max(1, hw.cores));
  return e;
}

} // namespace

const X86Kernel &x86KernelFor(const std::string &triple, const CpuSelection &cpu) {
  for (const X86Kernel &k : x86Kernels())
    if (runsKernel(triple, cpu, k)) return k;
  return x86Kernels().back();
}

std::string_view X86TargetBase::kernelBitcode() const {
  return {ternc_kernels_x86_64_bc, size_t(ternc_kernels_x86_64_bc_end - ternc_kernels_x86_64_bc)};
}

std::vector<std::string> X86TargetBase::pipeline(const CpuSelection &cpu) const {
  return {x86KernelFor(triple(), cpu).pass};
}

void X86TargetBase::registerPasses(PassRegistry &r) const {
  // Both x86 targets share the passes; the registry is filled once.
  static bool done = false;
  if (done) return;
  registerX86Passes(r);
  done = true;
}

LinkInfo X86TargetBase::linkInfo() const { return hostLinkInfo(triple()); }

bool X86TargetBase::runsOnHost() const { return hostIsX86_64(); }

CpuSelection X86TargetBase::selectX86Cpu(const std::string &cpu, const char *defaultCpu,
                                        std::initializer_list<const char *> required) const {
  CpuSelection sel = cpu == "native" ? hostCpu() : CpuSelection{cpu.empty() ? defaultCpu : cpu, ""};
  if (cpu == "native" && !runsOnHost()) fail("--cpu=native: this host is not x86-64; name an x86 CPU (e.g. znver4)");
  requireCpuFeatures(triple(), sel, required, name());
  return sel;
}

std::string X86TargetBase::explainTiling(const Op &op, const CpuSelection &cpu) const {
  if (op.opName() != "BitLinear") return "";
  const Value *q = op.operand(0), *w = op.operand(2);
  bool gated = op.numOperands() > 5 && op.operand(5);
  bool residual = op.numOperands() > 8 && op.operand(8);
  const Type &wt = w->type();
  std::string out;
  std::string kernel = op.attrs().getString(kTargetKernelAttr, "");
  std::string why = kernel.empty() ? x86UnsupportedWeight(*w) : "";
  if (kernel.empty()) {
    if (why.empty()) why = "the target's packing pass did not run on it";
    return fmt::format("  no x86 kernel: {} (weight {})", why, wt.str());
  }
  const X86Kernel *k = nullptr;
  for (const X86Kernel &c : x86Kernels())
    if (kernel == c.symbol) k = &c;
  if (!k) return fmt::format("  kernel {} (not an x86 kernel this target knows)", kernel);
  int64_t n = wt.dim(0).value(), kk = wt.dim(1).value();
  TernScale g = wt.ternScale();
  bool grouped = g.kind == TernScale::Group && g.group < kk;
  int64_t groups = grouped ? kk / g.group : 1;
  HardwareInfo hw = hardware();
  const TernaryLayout *layout = findTernaryLayout(k->layout);
  int64_t npad = layout->paddedN(n), kp = layout->paddedK(kk);
  out += fmt::format("  packing: {} (2-bit codes t + 1, panels of {} rows by 16 weights in {}-byte blocks): "
                     "[{}, {}] padded to [{}, {}], {} per matrix{}\n",
                     k->layout, layout->panelRows(), k->blockBytes, n, kk, npad, kp,
                     bytesText(double(layout->bytes(n, kk))), gated ? " (weight and gate)" : "");
  out += fmt::format("  kernel: {} ({}), the widest the cpu runs (", k->symbol, k->isa);
  for (const X86Kernel &c : x86Kernels())
    out += fmt::format("{}{}: {}", &c == &x86Kernels().front() ? "" : ", ", c.symbol + 13,
                       runsKernel(triple(), cpu, c) ? "yes" : "no");
  out += ")\n";
  out += fmt::format("  register tiles: decode (M = 1) 1 x {} rows (4 accumulators per panel), prefill {} x {} "
                     "({} vector registers of {} bits)\n",
                     TK_BITLINEAR_ROWS, grouped ? k->mrGrouped : k->mr, TK_BITLINEAR_ROWS, hw.vectorRegisters,
                     hw.vectorBits);
  // Rows M: static if the activation's rows are, else decode (1) and a 128-token prefill.
  bool symbolic = false;
  for (int64_t m : explainedRows(*q, &symbolic)) {
    out += threadSplitText(m, symbolic, n, kk, TK_BITLINEAR_ROWS, 4);  // BitLinearCore.inc grain()
    Estimate e = estimate(*k, hw, m, n, kk, gated, groups, residual);
    out += fmt::format("    cost model: memory traffic {} of weights + {} of activations and outputs; {:.3g} M "
                       "multiply-adds in {:.3g} M vector instructions; memory {} at {} GB/s, compute {} at {} GHz x {} "
                       "per cycle x {} cores: {}\n",
                       bytesText(e.weightBytes), bytesText(e.otherBytes), e.macs / 1e6, e.instructions / 1e6,
                       secondsText(e.memorySeconds), hw.memoryGBs, secondsText(e.computeSeconds), hw.ghz,
                       hw.vectorIssue, hw.cores, e.bound());
    std::vector<std::string> estimates;
    for (const X86Kernel &c : x86Kernels())
      if (runsKernel(triple(), cpu, c))
        estimates.push_back(fmt::format("{} {}", c.symbol + 13,
                                        secondsText(estimate(c, hw, m, n, kk, gated, groups, residual).seconds())));
    out += fmt::format("    estimate per kernel: {}\n", fmt::join(estimates, ", "));
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

} // namespace ternc
