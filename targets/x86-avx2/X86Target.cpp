// X86Target: the x86 targets' shared half — kernel choice, packing passes, CPU selection, linking, and the
// cost model behind `--explain-tiling`.
#include "targets/x86-avx2/X86Target.h"

#include "targets/TargetSupport.h"
#include "targets/x86-avx2/X86Passes.h"
#include "targets/x86-avx2/kernels/BitLinear.h"

#include "ir/Error.h"
#include "ir/IR.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>

extern "C" const char ternc_kernels_x86_64_bc[];
extern "C" const char ternc_kernels_x86_64_bc_end[];

namespace ternc {

const std::vector<X86Kernel> &x86Kernels() {
  // Tiles as in kernels/BitLinear.cpp's Isa structs. Instructions: AVX2 multiplies with vpmaddubsw + vpmaddwd
  // + vpaddd and extracts codes with a shift and a mask; VNNI multiplies with one vpdpbusd; on zmm GFNI
  // extracts with one vgf2p8affineqb (the first of four with a mask).
  static const std::vector<X86Kernel> kernels = {
      {"tk_bitlinear_tern2b64_vnni512", "tern2b64", "x86-pack-vnni512",
       "AVX512-VNNI vpdpbusd on zmm, GFNI code extraction", 64, 4, 2, 4, 8, 1.0, 1.0},
      {"tk_bitlinear_tern2b32_vnni256", "tern2b32", "x86-pack-vnni256", "AVX512-VNNI vpdpbusd on ymm", 32, 4, 2, 4,
       8, 1.0, 2.0},
      {"tk_bitlinear_tern2b32_avx2", "tern2b32", "x86-pack-avx2", "AVX2 vpmaddubsw + vpmaddwd on ymm", 32, 2, 1, 4, 4,
       3.0, 2.0},
  };
  return kernels;
}

namespace {

bool runsKernel(const std::string &triple, const CpuSelection &cpu, const X86Kernel &k) {
  if (k.blockBytes == 64)
    return cpuHasFeatures(triple, cpu, {"avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512vnni", "gfni"});
  if (std::string_view(k.symbol).find("vnni") != std::string_view::npos)
    return cpuHasFeatures(triple, cpu, {"avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512vnni"});
  return cpuHasFeatures(triple, cpu, {"avx2", "fma"});
}

/// The roofline estimate of one BitLinear call with M activation rows on kernel k.
struct Estimate {
  double weightBytes, otherBytes, macs, instructions, memorySeconds, computeSeconds;
  double seconds() const { return std::max(memorySeconds, computeSeconds); }
  const char *bound() const { return memorySeconds >= computeSeconds ? "memory-bound" : "compute-bound"; }
};

Estimate estimate(const X86Kernel &k, const HardwareInfo &hw, int64_t m, int64_t n, int64_t kk, bool gated,
                  bool grouped, bool residual) {
  int64_t b = k.blockBytes, npad = (n + TK_TERN_ROW_GROUP - 1) / TK_TERN_ROW_GROUP * TK_TERN_ROW_GROUP;
  int64_t kp = (kk + 4 * b - 1) / (4 * b) * (4 * b), vectors = kp / b;
  double matrices = gated ? 2 : 1;
  Estimate e{};
  e.weightBytes = matrices * double(npad) * double(kp / 4);
  e.otherBytes = double(m * kk) + 4.0 * double(m) * (1.0 + double(n) * (residual ? 2 : 1));
  e.macs = matrices * double(m) * double(n) * double(kk);
  int tileRows = m == 1 ? 1 : grouped ? k.mrGrouped : k.mr;
  // Grouped scales also subtract the offset, convert and fma per vector (kernels/BitLinearCore.inc).
  double perDot = k.instrPerDot + (grouped ? 3.0 : 0.0);
  double rowTiles = double((m + tileRows - 1) / tileRows);
  e.instructions = matrices * double(npad) * double(vectors) * (double(m) * perDot + rowTiles * k.instrPerCodes);
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
  HardwareInfo hw = hardware();
  int64_t npad = (n + TK_TERN_ROW_GROUP - 1) / TK_TERN_ROW_GROUP * TK_TERN_ROW_GROUP;
  int64_t kp = (kk + 4 * k->blockBytes - 1) / (4 * k->blockBytes) * (4 * k->blockBytes);
  out += fmt::format("  packing: {} (2-bit codes t + 1 in {}-byte blocks, rows interleaved in groups of {}): "
                     "[{}, {}] padded to [{}, {}], {} per matrix{}\n",
                     k->layout, k->blockBytes, TK_TERN_ROW_GROUP, n, kk, npad, kp, bytesText(double(npad * kp / 4)),
                     gated ? " (weight and gate)" : "");
  out += fmt::format("  kernel: {} ({}), the widest the cpu runs (", k->symbol, k->isa);
  for (const X86Kernel &c : x86Kernels())
    out += fmt::format("{}{}: {}", &c == &x86Kernels().front() ? "" : ", ", c.symbol + 13,
                       runsKernel(triple(), cpu, c) ? "yes" : "no");
  out += ")\n";
  out += fmt::format("  register tiles: decode (M = 1) 1 x {}, prefill {} x {} accumulators ({} vector registers of {} "
                     "bits)\n",
                     k->nr1, grouped ? k->mrGrouped : k->mr, k->nr, hw.vectorRegisters, hw.vectorBits);
  // Rows M: static if the activation's rows are, else decode (1) and a 128-token prefill.
  bool symbolic = false;
  for (int64_t m : explainedRows(*q, &symbolic)) {
    out += threadSplitText(m, symbolic, n, kk, TK_BITLINEAR_ROWS);
    Estimate e = estimate(*k, hw, m, n, kk, gated, grouped, residual);
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
                                        secondsText(estimate(c, hw, m, n, kk, gated, grouped, residual).seconds())));
    out += fmt::format("    estimate per kernel: {}\n", fmt::join(estimates, ", "));
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

} // namespace ternc
