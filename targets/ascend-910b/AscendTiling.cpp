// AscendTiling: the ascend-910b cost model (AscendTiling.h). Capacities and alignments are ASCEND.md's; the
// cycle counts come from walking the schedule with the simulator's own code (kernels/AscendSim.h) in
// count-only mode, so what the cost model estimates is what the simulator executes.
#include "targets/ascend-910b/AscendTiling.h"
#include "targets/TargetSupport.h"

#include "targets/ascend-910b/kernels/AscendSim.h"

#include "ir/Error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

namespace ternc::ascend {

namespace {

struct ThrowFail {
  [[noreturn]] void operator()(const char *op, const char *what, int64_t value, int64_t limit) const {
    fail("ascend-910b tiling: {} violates {} ({} against {})", op, what, value, limit);
  }
};

std::string kib(int64_t bytes) {
  if (bytes % 1024 == 0) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{:.1f} KiB", double(bytes) / 1024);
}

/// L1 bytes of the A and B buffers.
int64_t l1Bytes(const AscendMatmulTiling &t) {
  bool msd = t.storage == kStorageInt4Msd;
  int64_t aBuf = int64_t(t.baseM) * t.baseK * t.stepKa;
  int64_t bBuf = (msd ? int64_t(t.baseK) * t.baseN / 2 : int64_t(t.baseK) * t.baseN) * t.stepKb;
  return (t.depthA1 / std::max(1, t.stepKa)) * aBuf + (t.depthB1 / std::max(1, t.stepKb)) * bBuf;
}

/// The first capacity or alignment `t` violates, or "".
std::string violation(const AscendMatmulTiling &t) {
  if (t.storage < 0 || t.storage > 2) return fmt::format("storage {} (expected 0, 1 or 2)", t.storage);
  if (t.phase != kPhaseDecode && t.phase != kPhasePrefill) return fmt::format("phase {}", t.phase);
  if (t.m < 1 || t.n < 1 || t.k < 1) return fmt::format("shape [{}, {}, {}] (every dim >= 1)", t.m, t.n, t.k);
  if (t.phase == kPhaseDecode && t.m != 1) return fmt::format("decode plans M = 1, not {}", t.m);
  const bool msd = t.storage == kStorageInt4Msd, ring = t.storage == kStoragePacked2bRing;
  const int64_t c0 = ascendC0(t.storage);
  if (t.kGroup < 1 || t.k % t.kGroup != 0) return fmt::format("kGroup {} (must divide K = {})", t.kGroup, t.k);
  if (t.kGroup < t.k && t.kGroup % c0 != 0)
    return fmt::format("kGroup {} (a group must be whole {}-element K fractal rows for {})", t.kGroup, c0,
                       storageName(t.storage));
  for (auto [name, v, mult] : {std::tuple{"baseM", t.baseM, int64_t(16)}, std::tuple{"baseN", t.baseN, int64_t(16)},
                               std::tuple{"baseK", t.baseK, c0}}) {
    if (v < mult || v > 4095) return fmt::format("{} {} (Mmad takes 1 to 4095)", name, v);
    if (v % mult != 0)
      return fmt::format("{} alignment: {} is not a multiple of {} (the {} fractal)", name, v, mult,
                         std::string(name) == "baseK" ? "C0 of the operand type's" : "16-row");
  }
  if (t.stepM != 1 || t.stepN != 1)
    return fmt::format("stepM/stepN {}/{} (this schedule steps M and N by 1)", t.stepM, t.stepN);
  if (t.stepKa < 1 || t.stepKa != t.stepKb) return fmt::format("stepKa/stepKb {}/{} (equal, >= 1)", t.stepKa, t.stepKb);
  if (t.depthA1 != t.stepKa && t.depthA1 != 2 * t.stepKa)
    return fmt::format("depthA1 {} (stepKa or twice it)", t.depthA1);
  if (t.depthB1 != t.stepKb && t.depthB1 != 2 * t.stepKb)
    return fmt::format("depthB1 {} (stepKb or twice it)", t.depthB1);
  for (int db : {t.dbL0A, t.dbL0B, t.dbL0C})
    if (db != 1 && db != 2) return fmt::format("double buffering {} (1 or 2)", db);
  int64_t l0a = int64_t(t.baseM) * t.baseK * t.dbL0A; // int8, or two int4 halves
  if (l0a > kL0ABytes)
    return fmt::format("L0A capacity: baseM {} x baseK {} x 1 B x dbL0A {} = {} > {} per AIC", t.baseM, t.baseK,
                       t.dbL0A, kib(l0a), kib(kL0ABytes));
  int64_t l0b = (msd ? int64_t(t.baseK) * t.baseN / 2 : int64_t(t.baseK) * t.baseN) * t.dbL0B;
  if (l0b > kL0BBytes)
    return fmt::format("L0B capacity: baseK {} x baseN {} x {} B x dbL0B {} = {} > {} per AIC", t.baseK, t.baseN,
                       msd ? "0.5" : "1", t.dbL0B, kib(l0b), kib(kL0BBytes));
  int64_t l0c = int64_t(t.baseM) * t.baseN * 4 * (msd ? 2 : 1) * t.dbL0C;
  if (l0c > kL0CBytes)
    return fmt::format("L0C capacity: baseM {} x baseN {} x 4 B{} x dbL0C {} = {} > {} per AIC", t.baseM, t.baseN,
                       msd ? " x 2 (MSD halves)" : "", t.dbL0C, kib(l0c), kib(kL0CBytes));
  if (l1Bytes(t) > kL1Bytes)
    return fmt::format("L1 capacity: A and B buffers take {} > {} per AIC", kib(l1Bytes(t)), kib(kL1Bytes));
  int64_t ub = sim::epilogueUbBytes(t);
  if (ub > kUbBytes) return fmt::format("UB capacity: the epilogue takes {} > {} per AIV", kib(ub), kib(kUbBytes));
  int64_t ubBase = ascendRoundUp(ub, 32), span = int64_t(t.baseK) * t.stepKa;
  if (msd) {
    int64_t rowsPerAiv = (t.baseM / 16 + 1) / 2 * 16;
    if (ubBase + 2 * rowsPerAiv * span > kUbBytes)
      return fmt::format("UB capacity: the MSD split of {} rows x {} K takes {} after the epilogue's {} > {} per AIV",
                         rowsPerAiv, span, kib(2 * rowsPerAiv * span), kib(ubBase), kib(kUbBytes));
  }
  if (ring) {
    int64_t slot = span * t.baseN;
    if (t.ringSlots < 2 || t.ringSlots > sim::kMaxRingSlots)
      return fmt::format("ring slots {} (2 to {})", t.ringSlots, sim::kMaxRingSlots);
    if (t.ringSlotBytes < slot || t.ringSlotBytes % 32 != 0)
      return fmt::format("ring slot of {} B (holds a {} B tile, 32-byte aligned)", t.ringSlotBytes, slot);
    if (t.ringSlots * t.ringSlotBytes > sim::kMaxRingBytes)
      return fmt::format("GM ring capacity {} > {}", kib(t.ringSlots * t.ringSlotBytes), kib(sim::kMaxRingBytes));
    if (ubBase + slot + slot / 4 > kUbBytes)
      return fmt::format("UB capacity: unpacking a {} ring tile takes {} after the epilogue's {} > {} per AIV",
                         kib(slot), kib(slot + slot / 4), kib(ubBase), kib(kUbBytes));
  } else if (t.ringSlots != 0 || t.ringSlotBytes != 0) {
    return fmt::format("ring of {} slots (only the 2-bit storage has one)", t.ringSlots);
  }
  if (t.splitM < 1 || t.splitN < 1 || t.blockDim != t.splitM * t.splitN || t.blockDim > kAic)
    return fmt::format("core split {} x {} = blockDim {} (1 to {} AICs)", t.splitM, t.splitN, t.blockDim, int(kAic));
  if (t.singleCoreN % 16 != 0 || int64_t(t.splitN) * t.singleCoreN < t.n ||
      int64_t(t.splitN - 1) * t.singleCoreN >= t.n)
    return fmt::format("singleCoreN {} x splitN {} for N = {} (16-row multiples, no idle core)", t.singleCoreN,
                       t.splitN, t.n);
  if (t.singleCoreM != ascendRowsPerCore(&t, t.m) || int64_t(t.splitM - 1) * t.singleCoreM >= t.m)
    return fmt::format("singleCoreM {} x splitM {} for M = {} (no idle core)", t.singleCoreM, t.splitM, t.m);
  if (t.singleCoreK != t.k) return fmt::format("singleCoreK {} (the whole K = {})", t.singleCoreK, t.k);
  if (t.gated != 0 && t.gated != 1) return fmt::format("gated {}", t.gated);
  return "";
}

template <typename F> sim::Counts walk(const AscendMatmulTiling &t, int64_t m, int64_t core) {
  sim::Job job;
  job.M = m;
  sim::Machine<ThrowFail> mc{t, job, nullptr, ThrowFail{}, {}, t.n, t.k};
  sim::runCore(mc, m, core, sim::NoEpilogue{});
  return mc.c;
}

/// Candidate tilings of one storage, best (fewest cycles, then fewest GM bytes) kept.
AscendMatmulTiling search(const MatmulShape &s, AscendPhase phase, int storage) {
  const int64_t m = phase == kPhaseDecode ? 1 : std::max<int64_t>(1, s.m);
  const int64_t c0 = ascendC0(storage);
  const int64_t kSpan = ascendRoundUp(s.kGroup, c0);
  AscendMatmulTiling best{};
  double bestCycles = -1, bestBytes = 0, bestTile = 0;
  std::vector<int> splitMs = {1};
  if (m > 16)
    for (int sm : {2, 3, 4, 6, 8, 12, 24})
      if ((m + sm - 1) / sm >= 16) splitMs.push_back(sm);
  for (int splitM : splitMs) {
    int splitN = int(std::min<int64_t>(kAic / splitM, (s.n + 15) / 16));
    int64_t singleCoreN = ascendRoundUp((s.n + splitN - 1) / splitN, 16);
    splitN = int((s.n + singleCoreN - 1) / singleCoreN);
    AscendMatmulTiling t{};
    t.storage = storage;
    t.phase = phase;
    t.m = m;
    t.n = s.n;
    t.k = s.k;
    t.splitM = splitM;
    t.splitN = splitN;
    t.blockDim = splitM * splitN;
    t.singleCoreN = singleCoreN;
    t.singleCoreM = ascendRowsPerCore(&t, m);
    t.singleCoreK = s.k;
    t.stepM = t.stepN = 1;
    t.kGroup = int32_t(s.kGroup);
    t.gated = s.gated ? 1 : 0;
    if (int64_t(splitM - 1) * t.singleCoreM >= m) continue;
    for (int baseM : {16, 32, 64, 128, 256}) {
      if (baseM > 16 && baseM / 2 >= t.singleCoreM) break;
      for (int baseN : {16, 32, 64, 128, 256}) {
        if (baseN > 16 && baseN / 2 >= singleCoreN) break;
        for (int64_t baseK = c0; baseK <= 1024; baseK *= 2) {
          if (baseK > c0 && baseK / 2 >= kSpan) break;
          for (int stepK : {1, 2, 4, 8}) {
            if (stepK > 1 && baseK * stepK / 2 >= kSpan) break;
            bool fitted = false;
            for (auto [db, dbC] : {std::pair{2, 2}, std::pair{2, 1}, std::pair{1, 1}}) {
              if (fitted && db == 1) break; // double-buffered L0A/L0B/L1 never cost cycles in the model
              t.baseM = baseM;
              t.baseN = baseN;
              t.baseK = int32_t(baseK);
              t.stepKa = t.stepKb = stepK;
              t.depthA1 = t.depthB1 = stepK * db;
              t.dbL0A = t.dbL0B = db;
              t.dbL0C = dbC;
              t.ringSlots = storage == kStoragePacked2bRing ? 3 : 0;
              t.ringSlotBytes = storage == kStoragePacked2bRing ? baseK * stepK * baseN : 0;
              if (!violation(t).empty()) continue;
              fitted = true;
              CycleEstimate e = estimateCycles(t, m);
              double tile = double(baseM) * baseN * baseK;
              if (bestCycles < 0 || e.totalCycles < bestCycles ||
                  (e.totalCycles == bestCycles &&
                   (e.mte2Bytes < bestBytes || (e.mte2Bytes == bestBytes && tile > bestTile)))) {
                bestTile = tile;
                best = t;
                bestCycles = e.totalCycles;
                bestBytes = e.mte2Bytes;
              }
            }
          }
        }
      }
    }
  }
  if (bestCycles < 0)
    fail("ascend-910b tiling: no {} schedule of [{} x {} x {}] fits the AI Core's buffers", storageName(storage), m,
         s.n, s.k);
  return best;
}

} // namespace

const char *storageName(int storage) {
  switch (storage) {
  case kStorageInt8Nz:
    return "int8 NZ";
  case kStorageInt4Msd:
    return "int4 MSD";
  case kStoragePacked2bRing:
    return "2-bit + AIV ring";
  default:
    return "unknown storage";
  }
}

std::string storageUnsupported(const MatmulShape &s, int storage) {
  if (s.n < 1 || s.k < 1 || s.m < 1) return fmt::format("shape [{}, {}, {}]", s.m, s.n, s.k);
  if (s.kGroup < 1 || s.k % s.kGroup != 0) return fmt::format("scale groups of {} do not divide K = {}", s.kGroup, s.k);
  int64_t c0 = ascendC0(storage);
  if (s.kGroup < s.k && s.kGroup % c0 != 0)
    return fmt::format("scale groups of {} (a group must be whole {}-element fractal rows)", s.kGroup, c0);
  if (s.kGroup > 0x7fffffff) return "K too large";
  return "";
}

AscendMatmulTiling bestTilingFor(const MatmulShape &shape, AscendPhase phase, int storage) {
  if (std::string why = storageUnsupported(shape, storage); !why.empty())
    fail("ascend-910b tiling: {} cannot hold this matmul: {}", storageName(storage), why);
  // Models repeat a few shapes many times (every layer): memoize.
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, int, int>;
  static std::mutex mutex;
  static std::map<Key, AscendMatmulTiling> memo;
  Key key{phase == kPhaseDecode ? 1 : shape.m, shape.n, shape.k, shape.kGroup, shape.gated, int(phase), storage};
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = memo.find(key); it != memo.end()) return it->second;
  }
  AscendMatmulTiling t = search(shape, phase, storage);
  std::lock_guard<std::mutex> lock(mutex);
  memo.emplace(key, t);
  return t;
}

AscendMatmulTiling chooseTiling(const MatmulShape &shape, AscendPhase phase) {
  AscendMatmulTiling best{};
  double bestCycles = -1, bestBytes = 0;
  for (int storage : {kStorageInt8Nz, kStorageInt4Msd, kStoragePacked2bRing}) {
    if (!storageUnsupported(shape, storage).empty()) continue;
    AscendMatmulTiling t = bestTilingFor(shape, phase, storage);
    CycleEstimate e = estimateCycles(t, t.m);
    if (bestCycles < 0 || e.totalCycles < bestCycles * 0.999 ||
        (e.totalCycles <= bestCycles * 1.001 && e.mte2Bytes < bestBytes)) {
      best = t;
      bestCycles = e.totalCycles;
      bestBytes = e.mte2Bytes;
    }
  }
  if (bestCycles < 0)
    fail("ascend-910b tiling: no storage holds [{} x {} x {}] with scale groups of {}: {}", shape.m, shape.n, shape.k,
         shape.kGroup, storageUnsupported(shape, kStorageInt8Nz));
  return best;
}

void validateTiling(const AscendMatmulTiling &t) {
  if (std::string why = violation(t); !why.empty()) fail("ascend-910b tiling: {}", why);
  // The schedule's own operations, as the simulator issues them (the busiest core at the planned M).
  walk<ThrowFail>(t, t.m, 0);
}

CycleEstimate estimateCycles(const AscendMatmulTiling &t, int64_t m) {
  sim::Counts c = walk<ThrowFail>(t, m, 0);
  sim::Cycles y = sim::cyclesOf(c, t);
  CycleEstimate e{};
  e.cubeCycles = y.cube;
  e.mte2Bytes = c.aicGmBytes + c.aivGmBytes; // from HBM; the L2-resident traffic is in the cycles only
  e.mte2Cycles = y.mte2;
  e.mte1Cycles = y.mte1;
  e.fixpipeCycles = y.fixpipe;
  e.vectorRepeats = c.vectorRepeats;
  e.vectorCycles = y.vector;
  e.totalCycles = y.total;
  return e;
}

int64_t storageBytes(int storage, int64_t n, int64_t k) {
  if (storage < 0 || storage > 2) fail("ascend-910b: storage {} is not one of the three", storage);
  return ascendStorageBytes(storage, n, k);
}

void packStorage(int storage, const int8_t *t, int64_t n, int64_t k, uint8_t *dst) {
  int64_t bytes = storageBytes(storage, n, k), np = ascendRoundUp(n, 16);
  std::memset(dst, 0, size_t(bytes));
  if (storage == kStorageInt4Msd) {
    int64_t kp = ascendRoundUp(k, 64);
    int8_t *corr = reinterpret_cast<int8_t *>(dst + np * kp / 2);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c) {
        int v = t[r * k + c];
        uint8_t &b = dst[(c / 64) * np * 32 + r * 32 + (c % 64) / 2];
        b = uint8_t(b | ((v & 15) << ((c & 1) * 4)));
        corr[r * (kp / 64) + c / 64] = int8_t(corr[r * (kp / 64) + c / 64] + v);
      }
    return;
  }
  bool packed = storage == kStoragePacked2bRing;
  if (packed) std::memset(dst, 0x55, size_t(bytes)); // code 1 = weight 0, also the padding
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      int64_t at = (c / 32) * np * 32 + r * 32 + c % 32;
      int v = t[r * k + c];
      if (packed) {
        uint8_t &b = dst[at / 4];
        int shift = int(2 * (at % 4));
        b = uint8_t((b & ~(3 << shift)) | ((v + 1) << shift));
      } else {
        dst[at] = uint8_t(int8_t(v));
      }
    }
}

bool unpackStorage(int storage, const uint8_t *src, int64_t n, int64_t k, int8_t *t) {
  int64_t np = ascendRoundUp(n, 16);
  if (storage == kStorageInt4Msd) {
    int64_t kp = ascendRoundUp(k, 64);
    const int8_t *corr = reinterpret_cast<const int8_t *>(src + np * kp / 2);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t b = 0; b < kp / 64; ++b) {
        int sum = 0;
        for (int64_t c = b * 64; c < std::min(k, (b + 1) * 64); ++c) {
          int v = int8_t(uint8_t(src[(c / 64) * np * 32 + r * 32 + (c % 64) / 2] << (4 - (c & 1) * 4))) >> 4;
          if (v < -1 || v > 1) return false;
          t[r * k + c] = int8_t(v);
          sum += v;
        }
        if (corr[r * (kp / 64) + b] != sum) return false;
      }
    return true;
  }
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      int64_t at = (c / 32) * np * 32 + r * 32 + c % 32;
      int v = storage == kStoragePacked2bRing ? ((src[at / 4] >> (2 * (at % 4))) & 3) - 1 : int8_t(src[at]);
      if (v < -1 || v > 1) return false;
      t[r * k + c] = int8_t(v);
    }
  return true;
}

std::vector<uint8_t> packWeight(const int8_t *t, int64_t n, int64_t k, AscendMatmulTiling decode,
                                AscendMatmulTiling prefill) {
  AscendPackedWeight h{};
  h.magic = TERNC_ASCEND_PACK_MAGIC;
  h.headerBytes = sizeof(AscendPackedWeight);
  h.n = n;
  h.k = k;
  int64_t end = ascendRoundUp(sizeof(AscendPackedWeight), kAlignL0AB);
  decode.weightOffset = end;
  decode.weightBytes = storageBytes(decode.storage, n, k);
  end = ascendRoundUp(end + decode.weightBytes, kAlignL0AB);
  prefill.weightBytes = storageBytes(prefill.storage, n, k);
  if (prefill.storage == decode.storage) {
    prefill.weightOffset = decode.weightOffset;
  } else {
    prefill.weightOffset = end;
    end = ascendRoundUp(end + prefill.weightBytes, kAlignL0AB);
  }
  h.decode = decode;
  h.prefill = prefill;
  std::vector<uint8_t> out(size_t(end), 0);
  std::memcpy(out.data(), &h, sizeof h);
  packStorage(decode.storage, t, n, k, out.data() + decode.weightOffset);
  if (prefill.weightOffset != decode.weightOffset)
    packStorage(prefill.storage, t, n, k, out.data() + prefill.weightOffset);
  return out;
}

AscendPackedWeight packedHeader(const uint8_t *p) {
  AscendPackedWeight h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

std::string checkPackedWeight(const uint8_t *p, size_t size, int64_t n, int64_t k) {
  if (size < sizeof(AscendPackedWeight))
    return fmt::format("it holds {} bytes, less than the {}-byte ascend910b header", size, sizeof(AscendPackedWeight));
  AscendPackedWeight h = packedHeader(p);
  if (h.magic != TERNC_ASCEND_PACK_MAGIC || h.headerBytes != sizeof(AscendPackedWeight))
    return fmt::format("no ascend910b header (magic {:#x}, header bytes {})", h.magic, h.headerBytes);
  if (h.n != n || h.k != k) return fmt::format("the header says [{}, {}], the type [{}, {}]", h.n, h.k, n, k);
  int64_t end = 0;
  for (const AscendMatmulTiling *t : {&h.decode, &h.prefill}) {
    const char *phase = t == &h.decode ? "decode" : "prefill";
    if (t->n != n || t->k != k) return fmt::format("the {} tiling is for [{}, {}]", phase, t->n, t->k);
    if (std::string why = violation(*t); !why.empty()) return fmt::format("the {} tiling: {}", phase, why);
    if (t->weightOffset < int64_t(sizeof(AscendPackedWeight)) || t->weightOffset % kAlignL0AB != 0 ||
        t->weightBytes != ascendStorageBytes(t->storage, n, k) || t->weightOffset + t->weightBytes > int64_t(size))
      return fmt::format("the {} storage [{}, +{}) is misplaced in {} bytes", phase, t->weightOffset, t->weightBytes,
                         size);
    end = std::max(end, ascendRoundUp(t->weightOffset + t->weightBytes, kAlignL0AB));
  }
  if (int64_t(size) != end) return fmt::format("it holds {} bytes, its storages end at {}", size, end);
  return "";
}

std::string explainTiling(const AscendMatmulTiling &t) {
  bool msd = t.storage == kStorageInt4Msd;
  std::string out;
  out += fmt::format("storage {} ({} per matrix{}), {} AIC{} ({} x {} split): per core {} x {} x {} "
                     "(singleCoreM x singleCoreN x singleCoreK)\n",
                     storageName(t.storage), bytesText(double(ascendStorageBytes(t.storage, t.n, t.k))),
                     t.gated ? ", weight and gate" : "", t.blockDim, t.blockDim == 1 ? "" : "s", t.splitM, t.splitN,
                     t.singleCoreM, t.singleCoreN, t.singleCoreK);
  out += fmt::format("base tiles {} x {} x {} (baseM x baseN x baseK), K steps per L1 load {} (depthA1 {}, "
                     "depthB1 {}), double buffering L0A {} L0B {} L0C {}, kGroup {}",
                     t.baseM, t.baseN, t.baseK, t.stepKa, t.depthA1, t.depthB1, t.dbL0A, t.dbL0B, t.dbL0C, t.kGroup);
  if (t.storage == kStoragePacked2bRing)
    out += fmt::format(", GM ring {} slots x {}", t.ringSlots, kib(t.ringSlotBytes));
  out += "\n";
  out += fmt::format("buffers: L1 {} / {}, L0A {} / {}, L0B {} / {}, L0C {} / {}, UB (epilogue) {} / {}\n",
                     kib(l1Bytes(t)), kib(kL1Bytes), kib(int64_t(t.baseM) * t.baseK * t.dbL0A), kib(kL0ABytes),
                     kib((msd ? int64_t(t.baseK) * t.baseN / 2 : int64_t(t.baseK) * t.baseN) * t.dbL0B), kib(kL0BBytes),
                     kib(int64_t(t.baseM) * t.baseN * 4 * (msd ? 2 : 1) * t.dbL0C), kib(kL0CBytes),
                     kib(sim::epilogueUbBytes(t)), kib(kUbBytes));
  CycleEstimate e = estimateCycles(t, t.m);
  double total = 0, l2 = 0;
  for (int64_t core = 0; core < t.blockDim; ++core) {
    sim::Counts c = walk<ThrowFail>(t, t.m, core);
    total += c.aicGmBytes + c.aivGmBytes;
    l2 += c.aicL2Bytes + c.aivL2Bytes;
  }
  // What sets the time: the slowest overlapped pipe (plus Fixpipe when L0C is single-buffered), or all in a row.
  bool pipelined = t.dbL0A == 2 && t.dbL0B == 2 && t.depthA1 >= 2 * t.stepKa && t.depthB1 >= 2 * t.stepKb;
  std::pair<double, const char *> pipes[] = {{e.cubeCycles, "cube"},
                                             {e.mte2Cycles, "MTE2"},
                                             {e.mte1Cycles, "MTE1"},
                                             {e.vectorCycles, "vector"},
                                             {t.dbL0C == 2 ? e.fixpipeCycles : 0, "Fixpipe"}};
  std::string bound = std::max_element(std::begin(pipes), std::end(pipes))->second;
  if (!pipelined)
    bound = "all pipes in a row (no double buffering)";
  else if (t.dbL0C != 2)
    bound += " + Fixpipe (single-buffered L0C)";
  out += fmt::format("cycle model (busiest core, M = {}): cube {:.0f}, MTE2 {:.0f} ({} from HBM), MTE1 {:.0f}, "
                     "Fixpipe {:.0f}, vector {:.0f} ({:.0f} repeats); total {:.0f} cycles = {} at {} GHz, bound: {}; "
                     "all cores read {} from HBM and {} from L2",
                     t.m, e.cubeCycles, e.mte2Cycles, bytesText(e.mte2Bytes), e.mte1Cycles, e.fixpipeCycles,
                     e.vectorCycles, e.vectorRepeats, e.totalCycles, secondsText(cyclesToSeconds(e.totalCycles)),
                     TERNC_ASCEND_GHZ, bound, bytesText(total), bytesText(l2));
  return out;
}

} // namespace ternc::ascend
