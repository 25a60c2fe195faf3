// X86Avx512Target: x86-64 with AVX-512 VNNI (Ice Lake server, Sapphire Rapids, Zen 4 and newer). Ternary
// matmuls run the zmm kernel (vpdpbusd on 512-bit vectors, GFNI code extraction; tern2b64 packing), or the
// ymm VNNI kernel on a CPU without GFNI. The kernels, packing passes and cost model are the x86 family's,
// shared with x86-avx2 (targets/x86-avx2/X86Target.h, kernels/BitLinear.cpp); this target differs in its
// default CPU, the features it requires and its hardware description.
#include "targets/x86-avx2/X86Target.h"

namespace ternc {

namespace {

class X86Avx512Target final : public X86TargetBase {
public:
  std::string_view name() const override { return "x86-avx512"; }
  std::string_view description() const override {
    return "x86-64 with AVX-512 VNNI on 512-bit vectors (znver4 by default; --cpu=native detects this host's "
           "features, also on CPUs LLVM 16 has no name for)";
  }

  CpuSelection selectCpu(const std::string &cpu) const override {
    return selectX86Cpu(cpu, "znver4", {"avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512vnni"});
  }

  std::vector<std::string> features() const override {
    return {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512vnni", "gfni (zmm kernel; else ymm VNNI)"};
  }

  HardwareInfo hardware() const override {
    // A Zen 4 / Sapphire Rapids class server core: 32 zmm registers, 48 KiB L1d, 1-2 MiB L2, two 512-bit
    // multiply-add pipes (Zen 4 double-pumps 256-bit ones). Orders of magnitude for the cost model.
    return {.vectorBits = 512, .vectorRegisters = 32, .l1DataBytes = 48 << 10, .l2Bytes = 1 << 20,
            .l3Bytes = 32 << 20, .memoryGBs = 60, .cores = 8, .ghz = 3.0, .vectorIssue = 2};
  }
};

} // namespace

std::unique_ptr<Target> createX86Avx512Target() { return std::make_unique<X86Avx512Target>(); }

} // namespace ternc
