// AArch64Target: 64-bit Arm Linux with NEON, cross-compiled (docs/aarch64.md). BitLinear runs on the kernels of
// kernels/BitLinearNeon.h: `sdot` on 2-bit codes (neon2b16) where the CPU has dotprod (--cpu=neoverse-n1,
// cortex-a76, ...), else `tbl` lookup tables over pairs of weights (neonlut16); the aarch64-pack-* passes pack
// the weights for them. Executables link against the runtime cross-built into lib/ternc/aarch64-unknown-linux-gnu/
// (runtime/cross/) and run under qemu-aarch64 here (tests/aarch64/).
#include "targets/Target.h"
#include "targets/TargetSupport.h"
#include "targets/aarch64/kernels/BitLinearNeon.h"

#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/TernaryPacking.h"
#include "passes/Pass.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

extern "C" const char ternc_kernels_aarch64_bc[];
extern "C" const char ternc_kernels_aarch64_bc_end[];

namespace ternc {

namespace {

/// One of the BitLinear kernels of kernels/BitLinearNeon.h.
struct A64Kernel {
  const char *symbol;   ///< e.g. "tk_bitlinear_neon2b16_sdot"
  const char *layout;   ///< weight packing
  const char *pass;     ///< the pass that packs for it
  const char *isa;      ///< what it runs on, for explanations
  bool dotprod;         ///< needs +dotprod
  int rowGroup;         ///< weight rows packed together (N is padded to a multiple)
  int64_t kAlign;       ///< K is padded to a multiple of this
  const char *tiles;    ///< register tiles, for explanations
  double perRow;        ///< vector instructions per 16 weights of one weight row and one activation row
  double perTile;       ///< vector instructions per 16 weights of one weight row shared by a tile's activation rows
  int tileRows;         ///< activation rows of a tile (prefill)
};

/// Best first.
const std::vector<A64Kernel> &a64Kernels() {
  // sdot: one sdot per 16 weights and activation row plus a quarter of the q load (4 x 4 tiles); the codes
  // (a quarter load, shift, and) are shared by the tile's 4 activation rows.
  // tbl: per 16 weight rows, 4 weights and activation row: load, and, shift, 4 tbl, 4 zip, 4 add (15 per 64
  // weight-row elements: 3.75 per 16 weights of a row), plus the tables (about 8 per pair and activation row,
  // shared by the 64 rows of a block of 4 items: 1 per 16 weights of a row).
  static const std::vector<A64Kernel> kernels = {
      {"tk_bitlinear_neon2b16_sdot", "neon2b16", "aarch64-pack-sdot", "NEON sdot (Armv8.2-A dotprod)", true,
       TK_BITLINEAR_ROWS, 16, "panels of 4 rows; decode (M = 1) 4 panels x 4 accumulators, prefill 4 x 4 panels", 1.25, 2.25,
       4},
      {"tk_bitlinear_neonlut16_tbl", "neonlut16", "aarch64-pack-tbl",
       "NEON tbl lookup tables over pairs of weights (Armv8-A)", false, TK_NEON_LUT_ROWS, 4,
       "16 weight rows per tbl, 4 groups of 16 rows share one activation row's tables", 4.75, 0.0, 1},
  };
  return kernels;
}

const char *kTriple = "aarch64-unknown-linux-gnu";

bool runsKernel(const CpuSelection &cpu, const A64Kernel &k) {
  return !k.dotprod || cpuHasFeatures(kTriple, cpu, {"dotprod"});
}

const A64Kernel &kernelFor(const CpuSelection &cpu) {
  for (const A64Kernel &k : a64Kernels())
    if (runsKernel(cpu, k)) return k;
  return a64Kernels().back();
}

/// Why no aarch64 kernel takes this BitLinear weight, or "" if they do.
std::string unsupportedWeight(const Value &w) { return unsupportedTernaryWeight(w, 32); }

/// The codec of a layout of BitLinearNeon.h, so packed constants still interpret.
TernaryLayoutCodec layoutCodec(const std::string &name, int64_t (*bytes)(int64_t, int64_t),
                               void (*pack)(const int8_t *, int64_t, int64_t, uint8_t *),
                               bool (*unpack)(const uint8_t *, int64_t, int64_t, int8_t *)) {
  TernaryLayoutCodec c;
  c.bytes = bytes;
  c.pack = [bytes, pack](const int8_t *t, int64_t n, int64_t k) {
    std::vector<uint8_t> out(size_t(bytes(n, k)));
    pack(t, n, k, out.data());
    return out;
  };
  c.check = [name, bytes](const uint8_t *, size_t size, int64_t n, int64_t k) -> std::string {
    if (n < 0 || k < 0) return fmt::format("[{}, {}] is not a matrix shape", n, k);
    if (int64_t(size) != bytes(n, k))
      return fmt::format("it holds {} bytes, but [{}, {}] in {} takes {}", size, n, k, name, bytes(n, k));
    return "";
  };
  c.unpack = [unpack](const uint8_t *p, size_t, int64_t n, int64_t k, int8_t *t) { return unpack(p, n, k, t); };
  return c;
}

void registerLayouts() {
  registerTernaryLayout("neon2b16", layoutCodec("neon2b16", tk_neon::sdotBytes, tk_neon::packSdot,
                                                tk_neon::unpackSdot));
  registerTernaryLayout("neonlut16", layoutCodec("neonlut16", tk_neon::lutBytes, tk_neon::packLut,
                                                 tk_neon::unpackLut));
}

/// aarch64-pack-{sdot,tbl}: packs each BitLinear's ternary weights (and gate weights) the kernels take in the
/// kernel's layout and records the kernel's symbol as `target.kernel`.
class PackPass final : public Pass {
public:
  explicit PackPass(const A64Kernel &k) : k_(k), summary_(summaryOf(k)) {}
  std::string_view name() const override { return k_.pass; }
  std::string_view summary() const override { return summary_; }

  bool run(Module &m) override { return packBitLinearWeights(m, k_.pass, k_.layout, k_.symbol, unsupportedWeight); }

  static std::string summaryOf(const A64Kernel &k) {
    return fmt::format("Pack BitLinear ternary weights as {} for the aarch64 {} kernel", k.layout, k.isa);
  }

private:
  const A64Kernel &k_;
  std::string summary_;
};

class AArch64Target final : public Target {
public:
  std::string_view name() const override { return "aarch64"; }
  std::string_view description() const override {
    return "64-bit Arm, Linux, NEON (generic Armv8-A by default: tbl kernels; --cpu=neoverse-n1 or newer adds "
           "dotprod: sdot kernels)";
  }
  std::string triple() const override { return kTriple; }

  CpuSelection selectCpu(const std::string &cpu) const override {
    if (cpu == "native") {
      if (!runsOnHost()) fail("--cpu=native: this host is not aarch64; name an Arm CPU (e.g. neoverse-n1)");
      return hostCpu();
    }
    CpuSelection sel{cpu.empty() ? "generic" : cpu, "+neon"};
    requireCpuFeatures(triple(), sel, {"neon"}, name());
    return sel;
  }

  std::vector<std::string> features() const override {
    return {"neon (tbl kernels)", "dotprod (sdot kernels, with --cpu)"};
  }

  HardwareInfo hardware() const override {
    // A Neoverse-N1 class server core; the cost model only needs the orders of magnitude.
    return {.vectorBits = 128, .vectorRegisters = 32, .l1DataBytes = 64 << 10, .l2Bytes = 1 << 20,
            .l3Bytes = 32 << 20, .memoryGBs = 50, .cores = 8, .ghz = 2.5, .vectorIssue = 2};
  }

  std::string_view kernelBitcode() const override {
    return {ternc_kernels_aarch64_bc, size_t(ternc_kernels_aarch64_bc_end - ternc_kernels_aarch64_bc)};
  }

  std::vector<std::string> pipeline(const CpuSelection &cpu) const override { return {kernelFor(cpu).pass}; }

  void registerPasses(PassRegistry &r) const override {
    registerLayouts();
    for (auto it = a64Kernels().rbegin(); it != a64Kernels().rend(); ++it) {
      const A64Kernel &k = *it;
      r.add(k.pass, PackPass::summaryOf(k), [&k] { return std::make_unique<PackPass>(k); });
    }
  }

  std::string explainTiling(const Op &op, const CpuSelection &cpu) const override;

  LinkInfo linkInfo() const override {
    LinkInfo info = hostLinkInfo(triple());
    std::string dir = runtimeLibraryDir(triple());
    if (!std::filesystem::exists(info.libraries.front()))
      fail("no ternc runtime is built for {} ({} is missing: install the cross toolchain with scripts/setup.sh and "
           "rebuild ternc, docs/aarch64.md), so only --emit=obj, asm and llvm work for target {}",
           triple(), info.libraries.front(), name());
    // No SentencePiece here (docs/aarch64.md): the linker script stops such a link with a message saying so.
    info.spmLibraries = {dir + "/no-sentencepiece.ld"};
    info.spmArgs = {};
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

std::string AArch64Target::explainTiling(const Op &op, const CpuSelection &cpu) const {
  if (op.opName() != "BitLinear") return "";
  const Value *q = op.operand(0), *w = op.operand(2);
  bool gated = op.numOperands() > 5 && op.operand(5);
  bool residual = op.numOperands() > 8 && op.operand(8);
  const Type &wt = w->type();
  std::string kernel = op.attrs().getString(kTargetKernelAttr, "");
  if (kernel.empty()) {
    std::string why = unsupportedWeight(*w);
    if (why.empty()) why = "the target's packing pass did not run on it";
    return fmt::format("  no aarch64 kernel: {} (weight {})", why, wt.str());
  }
  const A64Kernel *k = nullptr;
  for (const A64Kernel &c : a64Kernels())
    if (kernel == c.symbol) k = &c;
  if (!k) return fmt::format("  kernel {} (not an aarch64 kernel this target knows)", kernel);
  int64_t n = wt.dim(0).value(), kk = wt.dim(1).value();
  TernScale g = wt.ternScale();
  bool grouped = g.kind == TernScale::Group && g.group < kk;
  HardwareInfo hw = hardware();
  int64_t npad = (n + k->rowGroup - 1) / k->rowGroup * k->rowGroup;
  int64_t kp = (kk + k->kAlign - 1) / k->kAlign * k->kAlign;
  double matrices = gated ? 2 : 1;
  std::string out;
  out += fmt::format("  packing: {} ({}): [{}, {}] padded to [{}, {}], {} per matrix{}\n", k->layout,
                     k->dotprod ? "2-bit codes t + 1 in 16-byte blocks, rows interleaved in groups of 8"
                                : "4-bit indices of weight pairs, 16 rows per 16-byte column",
                     n, kk, npad, kp, bytesText(double(npad * kp / 4)), gated ? " (weight and gate)" : "");
  out += fmt::format("  kernel: {} ({}), the best the cpu runs (", k->symbol, k->isa);
  for (const A64Kernel &c : a64Kernels())
    out += fmt::format("{}{}: {}", &c == &a64Kernels().front() ? "" : ", ", c.symbol + 13,
                       runsKernel(cpu, c) ? "yes" : "no (needs dotprod)");
  out += ")\n";
  std::string groups;
  if (grouped)
    groups = k->dotprod ? fmt::format("; scale groups of {}: exact sums per 16 weights, scaled and accumulated in "
                                      "f32 (prefill tiles 2 x 4)",
                                      g.group)
                        : fmt::format("; scale groups of {}: exact sums per group, scaled and accumulated in double",
                                      g.group);
  out += fmt::format("  tiles: {} ({} vector registers of {} bits){}\n", k->tiles, hw.vectorRegisters,
                     hw.vectorBits, groups);
  bool symbolic = false;
  for (int64_t m : explainedRows(*q, &symbolic)) {
    // Roofline: weights once, activations and outputs; vector instructions per 16 weights of a row.
    double weightBytes = matrices * double(npad) * double(kp) / 4;
    double otherBytes = double(m * kk) + 4.0 * double(m) * (1.0 + double(n) * (residual ? 2 : 1));
    double vectors = double(kp) / 16;
    double tiles = double((m + k->tileRows - 1) / k->tileRows);
    double instr = matrices * double(npad) * vectors * (double(m) * k->perRow + tiles * k->perTile);
    double memS = (weightBytes + otherBytes) / (hw.memoryGBs * 1e9);
    double cpuS = instr / (hw.ghz * 1e9 * hw.vectorIssue * std::max(1, hw.cores));
    out += threadSplitText(m, symbolic, n, kk, TK_BITLINEAR_ROWS, k->dotprod ? 4 : 1);  // the kernels' grain()
    out += fmt::format("    cost model: memory traffic {} of weights + {} of activations and outputs; {:.3g} M "
                       "multiply-adds in {:.3g} M vector instructions; memory {} at {} GB/s, compute {} at {} GHz x {} "
                       "per cycle x {} cores: {}\n",
                       bytesText(weightBytes), bytesText(otherBytes), matrices * double(m * n * kk) / 1e6, instr / 1e6,
                       secondsText(memS), hw.memoryGBs, secondsText(cpuS), hw.ghz, hw.vectorIssue, hw.cores,
                       memS >= cpuS ? "memory-bound" : "compute-bound");
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

} // namespace

std::unique_ptr<Target> createAArch64Target() { return std::make_unique<AArch64Target>(); }

} // namespace ternc
