// ascend_estimates: the ascend-910b target's cost model applied to whole models: for BitCPM-CANN 1B (assumed
// dims, bench/h2h/make_gguf.py) and 8B shapes, the estimated time per layer and per token at decode and for a
// 128-token prefill on one Ascend 910B2, beside the HBM-bandwidth bound and the cube-throughput bound. Every
// number is a model estimate (the cycle model of targets/ascend-910b/kernels/AscendSim.h at ASCEND.md's rates),
// not a measurement: no Ascend hardware was used. Prints Markdown (bench/results/ascend-estimates.md).
//   cmake -S bench/ascend -B build-ascend-bench -G Ninja && ninja -C build-ascend-bench &&
//   build-ascend-bench/ascend_estimates
#include "targets/ascend-910b/AscendTiling.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace ternc::ascend;

namespace {

struct Model {
  const char *name, *note;
  int64_t hidden, layers, heads, kvHeads, headDim, ffn, vocab, group;
};

struct Matmul {
  const char *name;
  int64_t n, k;
  bool gated;
};

/// One 910B2's bounds: HBM at 24 x 32 B x 1.8 GHz, the cube at 8192 int8 MACs (16384 int4) per cycle per AIC.
constexpr double kHbmBytesPerSecond = double(kAic) * double(kGmBytesPerCycle) * TERNC_ASCEND_GHZ * 1e9;
constexpr double kInt8MacsPerSecond = double(kAic) * 8192.0 * TERNC_ASCEND_GHZ * 1e9;

std::string us(double s) { return s >= 1e-3 ? fmt::format("{:.2f} ms", s * 1e3) : fmt::format("{:.1f} us", s * 1e6); }

struct Phase {
  double seconds = 0, hbmBound = 0, cubeBound = 0, bytes2b = 0;
  std::vector<std::string> rows;
};

Phase phase(const Model &m, AscendPhase ph, int64_t rows) {
  int64_t q = m.heads * m.headDim, kv = m.kvHeads * m.headDim;
  const Matmul mms[] = {{"q", q, m.hidden, false},          {"k", kv, m.hidden, false},
                        {"v", kv, m.hidden, false},         {"o", m.hidden, q, false},
                        {"gate+up", m.ffn, m.hidden, true}, {"down", m.hidden, m.ffn, false}};
  Phase p;
  for (const Matmul &mm : mms) {
    int64_t group = m.group ? std::min(m.group, mm.k) : mm.k;
    AscendMatmulTiling t = chooseTiling({std::max<int64_t>(rows, 1), mm.n, mm.k, group, mm.gated}, ph);
    CycleEstimate e = estimateCycles(t, rows);
    double seconds = cyclesToSeconds(e.totalCycles);
    double mats = mm.gated ? 2 : 1;
    double bytes2b = mats * double(mm.n) * double(mm.k) / 4; // the ternary minimum: 2 bits per weight
    double macs = mats * double(rows) * double(mm.n) * double(mm.k);
    p.seconds += seconds;
    p.hbmBound += bytes2b / kHbmBytesPerSecond;
    p.cubeBound += macs / kInt8MacsPerSecond;
    p.bytes2b += bytes2b;
    p.rows.push_back(fmt::format("| {} | [{} x {} x {}]{} | {} | {}x{}x{}, {} AIC | {} | {} | {} |", mm.name, rows,
                                 mm.n, mm.k, mm.gated ? " x 2" : "", storageName(t.storage), t.baseM, t.baseN, t.baseK,
                                 t.blockDim, us(seconds), us(bytes2b / kHbmBytesPerSecond),
                                 us(macs / kInt8MacsPerSecond)));
  }
  return p;
}

void report(const Model &m) {
  fmt::print("## {}\n\n{}\n\nhidden {}, {} layers, {} heads / {} KV heads (head_dim {}), FFN {}, vocab {}, {}.\n\n",
             m.name, m.note, m.hidden, m.layers, m.heads, m.kvHeads, m.headDim, m.ffn, m.vocab,
             m.group ? fmt::format("a scale per {}-weight group", m.group) : std::string("one scale per matrix"));
  for (auto [ph, rows, label] : {std::tuple{kPhaseDecode, int64_t(1), "Decode (1 token)"},
                                 std::tuple{kPhasePrefill, int64_t(128), "Prefill (128 tokens)"}}) {
    Phase p = phase(m, ph, rows);
    fmt::print("### {}: the ternary matmuls of one layer (model estimate)\n\n", label);
    fmt::print(
        "| matmul | [M x N x K] | storage | base tile, cores | estimate | HBM bound (2 bits/weight) | cube bound "
        "(int8) |\n|---|---|---|---|---:|---:|---:|\n");
    for (const std::string &r : p.rows) fmt::print("{}\n", r);
    fmt::print("| **layer** | | | | **{}** | {} | {} |\n", us(p.seconds), us(p.hbmBound), us(p.cubeBound));
    double L = double(m.layers);
    fmt::print("| **{} layers** | | | | **{}** | {} | {} |\n\n", m.layers, us(p.seconds * L), us(p.hbmBound * L),
               us(p.cubeBound * L));
    if (ph == kPhaseDecode)
      fmt::print("Decode: {} per token for the ternary layers (model estimate; {:.0f} tokens/s), against an HBM "
                 "bound of {} ({:.0f} MB of 2-bit weights at {:.2f} TB/s).\n\n",
                 us(p.seconds * L), 1.0 / (p.seconds * L), us(p.hbmBound * L), p.bytes2b * L / 1e6,
                 kHbmBytesPerSecond / 1e12);
    else
      fmt::print("Prefill: {} for 128 tokens ({} per token) for the ternary layers (model estimate), against a "
                 "cube bound of {} at {:.0f} int8 TOPS.\n\n",
                 us(p.seconds * L), us(p.seconds * L / 128), us(p.cubeBound * L), 2 * kInt8MacsPerSecond / 1e12);
  }
}

} // namespace

int main() {
  fmt::print("# ascend-910b: estimated BitLinear time on one Ascend 910B2 (model estimates, not measurements)\n\n"
             "Produced by `bench/ascend/ascend_estimates` from the ascend-910b target's cost model: each ternary "
             "matmul gets the storage and schedule `ternc compile --target ascend-910b` chooses, and the time is "
             "the cycle model's count for the busiest AI Core (cube cycles; MTE2 bytes at 32 B/cycle per AIC "
             "from HBM for weights and 110 B/cycle from L2 for the L2-resident activations and workspaces; MTE1 "
             "at 512 B/cycle; Fixpipe at an assumed 64 B/cycle; vector repeats at an assumed 1 per cycle per AIV; "
             "the pipes overlap when double-buffered) at 1.8 GHz. No Ascend hardware was used. The "
             "bounds: HBM = the 2-bit ternary weights at 1.4 TB/s (24 x 32 B x 1.8 GHz); cube = the "
             "multiply-adds at the int8 rate, 8192 per cycle per AIC. Only the ternary matmuls are counted: "
             "attention, norms, embeddings and the LM head are not (docs/ascend.md).\n\n");
  report(
      {"BitCPM-CANN 8B shape", "The BitCPM-CANN 8B / MiniCPM4-8B dimensions.", 4096, 32, 32, 2, 128, 16384, 73448, 0});
  report({"BitCPM-CANN 1B shape (assumed dimensions)",
          "ASSUMED dimensions, as bench/h2h/make_gguf.py --shape bitcpm-cann-1b (the released config was not "
          "available offline): MiniCPM4-8B's ratios scaled down.",
          1536, 32, 24, 2, 64, 4096, 73448, 256});
  return 0;
}
