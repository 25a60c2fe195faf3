// BitLinearAscend.cpp: the ascend-910b target's BitLinear kernel (contract: targets/BitLinearKernel.h), a
// functional simulator of the Ascend 910B AI Cores running the schedule the target's legalization stored in the
// packed weight constant (AscendSchedule.h: the AscendPackedWeight header, then the storages). Work items are
// the schedule's AICs (blockDim); each item simulates one AIC and its two AIVs with buffers of the real sizes
// on the stack (kernels/AscendSim.h), checking every operation. Outputs equal the x86 kernels' bit for bit
// (exact integer sums; per-group scales applied and summed in double, exactly, as on x86; the shared epilogue of
// targets/BitLinearEpilogue.h; docs/ascend.md).
//
// Unlike the other kernels this one calls three libc functions, on cold paths only: a violated check prints
// the operation and capacity to stderr and aborts (the kernel contract has no error channel), and with
// TERNC_ASCEND_CYCLES=1 in the environment each call prints the cycle model's counts.
#include "targets/BitLinearEpilogue.h"
#include "targets/BitLinearKernel.h"
#include "targets/ascend-910b/kernels/AscendSim.h"

extern "C" {
int dprintf(int fd, const char *format, ...);
void abort(void);
char *getenv(const char *name);
}

namespace {

using namespace ternc::ascend;

[[noreturn]] void simFail(const char *op, const char *what, int64_t value, int64_t limit) {
  dprintf(2, "ascend-910b simulator: %s violates %s (%lld against %lld); aborting\n", op, what, (long long)value,
          (long long)limit);
  abort();
  __builtin_unreachable();
}

struct KernelFail {
  void operator()(const char *op, const char *what, int64_t value, int64_t limit) const {
    simFail(op, what, value, limit);
  }
};

/// The packed constant's header, read without assuming its alignment and checked against the call.
AscendPackedWeight header(const uint8_t *w, int64_t N, int64_t K, const char *which) {
  AscendPackedWeight h;
  __builtin_memcpy(&h, w, sizeof h);
  if (h.magic != TERNC_ASCEND_PACK_MAGIC || h.headerBytes != sizeof(AscendPackedWeight))
    simFail(which, "the ascend910b packed-weight header (magic)", int64_t(h.magic), TERNC_ASCEND_PACK_MAGIC);
  if (h.n != N || h.k != K) simFail(which, "the packed weight's shape (N)", h.n, N);
  return h;
}

const AscendMatmulTiling &phaseOf(const AscendPackedWeight &h, int64_t M) { return M <= 1 ? h.decode : h.prefill; }

/// The cycle model's per-call totals, summed over the call's cores (the last core to finish prints them).
struct CallCounts {
  int64_t done, cube, aicGm, aivGm, mte1, fixpipe, repeats, maxCycles;
};
CallCounts gCounts;

void add(int64_t *p, int64_t v) { __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

void report(const AscendMatmulTiling &t, int64_t M, int64_t N, int64_t K, const sim::Counts &c) {
  sim::Cycles y = sim::cyclesOf(c, t);
  add(&gCounts.cube, int64_t(c.cubeCycles));
  add(&gCounts.aicGm, int64_t(c.aicGmBytes));
  add(&gCounts.aivGm, int64_t(c.aivGmBytes));
  add(&gCounts.mte1, int64_t(c.mte1Bytes));
  add(&gCounts.fixpipe, int64_t(c.fixpipeBytes));
  add(&gCounts.repeats, int64_t(c.vectorRepeats));
  int64_t mine = int64_t(y.total), seen = __atomic_load_n(&gCounts.maxCycles, __ATOMIC_RELAXED);
  while (mine > seen &&
         !__atomic_compare_exchange_n(&gCounts.maxCycles, &seen, mine, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  if (__atomic_add_fetch(&gCounts.done, 1, __ATOMIC_ACQ_REL) != t.blockDim) return;
  static const char *const storages[] = {"int8 NZ", "int4 MSD", "2-bit + AIV ring"};
  double cycles = double(gCounts.maxCycles);
  dprintf(2,
          "ascend-910b simulator: model estimate, not a measurement: BitLinear M=%lld N=%lld K=%lld (%s schedule, "
          "%s, %d AIC): cube %lld cycles, MTE2 GM->L1 %lld B, AIV GM->UB %lld B, MTE1 %lld B, Fixpipe %lld B, "
          "vector %lld repeats; busiest core %.0f cycles = %.3f us at %.1f GHz\n",
          (long long)M, (long long)N, (long long)K, t.phase == kPhaseDecode ? "decode" : "prefill",
          storages[t.storage < 0 || t.storage > 2 ? 0 : t.storage], t.blockDim, (long long)gCounts.cube,
          (long long)gCounts.aicGm, (long long)gCounts.aivGm, (long long)gCounts.mte1, (long long)gCounts.fixpipe,
          (long long)gCounts.repeats, cycles, cycles / (TERNC_ASCEND_GHZ * 1e3), TERNC_ASCEND_GHZ);
  gCounts = CallCounts{};
}

bool cyclesWanted() {
  const char *v = getenv("TERNC_ASCEND_CYCLES");
  return v && v[0] == '1' && v[1] == 0;
}

} // namespace

extern "C" {

int64_t tk_bitlinear_ascend910b_items(TK_BITLINEAR_ARGS) {
  AscendPackedWeight h = header(w, N, K, "BitLinear weight");
  return phaseOf(h, M).blockDim;
}

int64_t tk_bitlinear_ascend910b_grain(TK_BITLINEAR_ARGS) { return 1; }

void tk_bitlinear_ascend910b(TK_BITLINEAR_ARGS, int64_t begin, int64_t end) {
  AscendPackedWeight h = header(w, N, K, "BitLinear weight");
  const AscendMatmulTiling &t = phaseOf(h, M);
  sim::Job job;
  job.q = q;
  job.s = s;
  job.w[0] = w + t.weightOffset;
  job.scale[0] = wscale;
  if (gate) {
    AscendPackedWeight g = header(gate, N, K, "BitLinear gate");
    const AscendMatmulTiling &gt = phaseOf(g, M);
    if (gt.storage != t.storage || gt.baseM != t.baseM || gt.baseN != t.baseN || gt.baseK != t.baseK ||
        gt.splitN != t.splitN || gt.splitM != t.splitM || gt.kGroup != t.kGroup || !t.gated || !gt.gated)
      simFail("BitLinear gate", "the weight's schedule (the gate must be packed with the same tiling)", gt.storage,
              t.storage);
    job.w[1] = gate + gt.weightOffset;
    job.scale[1] = gscale;
  } else if (t.gated) {
    simFail("BitLinear", "the schedule (planned gated, called without a gate)", 0, 1);
  }
  if (t.kGroup != group) simFail("BitLinear", "the schedule's kGroup (the call's scale group)", t.kGroup, group);
  job.bias = bias;
  job.gbias = gbias;
  job.residual = residual;
  job.y = y;
  job.M = M;
  job.sRow = sRow;
  job.act = act;
  job.dequantMul = dequantMul;
  bool counting = cyclesWanted();
  for (int64_t core = begin; core < end; ++core) {
    sim::Memories mem;
    sim::Machine<KernelFail> mc{t, job, &mem, KernelFail{}, {}, N, K};
    bool gated = gate != nullptr;
    sim::runCore(mc, M, core, [&](int64_t m, int64_t n, double dw, double dg, double sm) {
      y[m * N + n] = tk::bitLinearEpilogue(dw, dg, gated, sm, dequantMul, bias, gbias, residual, act, m, n, N);
    });
    if (counting) report(t, M, N, K, mc.c);
  }
}

} // extern "C"
