/* AscendSim.h: the functional simulator of one Ascend 910B AI Core group (1 AIC + 2 AIV) running one phase's
 * schedule (AscendSchedule.h) of a ternary matmul, and the cycle model that counts what it issues.
 *
 * One walker (runCore) issues the schedule's operations in order: DataCopy GM -> L1 (Nd2Nz for activations),
 * the AIV's vector work (the 2-bit path's unpack into a GM ring slot, MSD activation splits, the epilogue),
 * LoadData L1 -> L0A/L0B, Mmad, Fixpipe L0C -> GM. Each operation is checked against the buffer sizes,
 * alignments and fractal shapes of ASCEND.md and counted (cube cycles, MTE2 bytes, MTE1 bytes, Fixpipe bytes,
 * vector repeats). With data (the kernel) it also moves the bytes through per-core arrays of the real buffer
 * sizes and computes exactly; without (ternc's cost model, AscendTiling.cpp) it only checks and counts, so the
 * estimate and the simulator's counts come from the same code.
 *
 * Freestanding (kernel rules, codegen/kernels/Kernels.h), except that a violated check calls the `fail`
 * function the includer passes (the kernel prints and aborts; ternc throws). */
#ifndef TERNC_TARGETS_ASCEND_SIM_H
#define TERNC_TARGETS_ASCEND_SIM_H

#include "targets/ascend-910b/AscendSchedule.h"

#include <stdint.h>

namespace ternc::ascend::sim {

/* ---- The cycle model's rates (ASCEND.md; the assumed ones are marked) ---------------------------------- */
/* MTE2 GM -> L1 per AIC: 32 B/cycle from HBM (ddr_rate), 110 B/cycle from L2. Weights stream from HBM; the
 * activations, the AIVs' workspaces (MSD halves, the 2-bit ring, the Fixpipe output) and the residual are
 * L2-resident (192 MiB of L2), so they move at the L2 rate. The AIVs' MTE2 GM -> UB: assumed the same rates. */
constexpr double kL2BytesPerCycle = 110;
constexpr double kAivGmBytesPerCycle = 32;
/* MTE1 L1 -> L0A/L0B: 512 B/cycle. */
/* Fixpipe L0C -> GM: assumed 64 B/cycle (not documented). */
constexpr double kFixpipeBytesPerCycle = 64;
/* Vector: one 256-byte repeat per cycle per AIV (assumed). */

/* What one core group issued. */
struct Counts {
  double cubeCycles = 0;   /* fractal-steps: ceil(m/16) * ceil(n/16) * K/C0 per Mmad */
  double aicGmBytes = 0;   /* MTE2 HBM -> L1 (weights) */
  double aicL2Bytes = 0;   /* MTE2 L2 -> L1 (activations, MSD halves, ring slots) */
  double aivGmBytes = 0;   /* MTE2 HBM -> UB, both AIVs (packed 2-bit weights, scales, MSD corrections) */
  double aivL2Bytes = 0;   /* MTE2 L2 -> UB, both AIVs (activations, Fixpipe output, residual) */
  double gmWriteBytes = 0; /* Fixpipe and MTE3 to GM */
  double mte1Bytes = 0;    /* L1 -> L0A / L0B */
  double fixpipeBytes = 0; /* L0C read by Fixpipe */
  double vectorRepeats = 0;
  int64_t mmads = 0;
};

/* The cycle model: with double-buffered L0A, L0B and L1 buffers the pipes overlap and the slowest one sets the
 * time (Fixpipe joins them when L0C is double-buffered too, else it adds); otherwise they run one after another. The
 * AIVs' vector repeats and GM reads are split over two AIVs. */
struct Cycles {
  double cube, mte2, mte1, fixpipe, vector, total;
};
inline Cycles cyclesOf(const Counts &c, const AscendMatmulTiling &t) {
  Cycles y;
  y.cube = c.cubeCycles;
  y.mte2 = c.aicGmBytes / double(kGmBytesPerCycle) + c.aicL2Bytes / kL2BytesPerCycle;
  y.mte1 = c.mte1Bytes / double(kL1ToL0BytesPerCycle);
  y.fixpipe = c.fixpipeBytes / kFixpipeBytesPerCycle;
  y.vector = (c.vectorRepeats + c.aivGmBytes / kAivGmBytesPerCycle + c.aivL2Bytes / kL2BytesPerCycle) / 2;
  bool pipelined = t.dbL0A == 2 && t.dbL0B == 2 && t.depthA1 >= 2 * t.stepKa && t.depthB1 >= 2 * t.stepKb;
  if (pipelined) {
    double m = y.cube;
    if (y.mte2 > m) m = y.mte2;
    if (y.mte1 > m) m = y.mte1;
    if (y.vector > m) m = y.vector;
    /* Fixpipe overlaps the next tile's Mmads only with a double-buffered L0C. */
    y.total = t.dbL0C == 2 ? (y.fixpipe > m ? y.fixpipe : m) : m + y.fixpipe;
  } else {
    y.total = y.cube + y.mte2 + y.mte1 + y.fixpipe + y.vector;
  }
  return y;
}

/* Runtime operands of one BitLinear call (targets/BitLinearKernel.h); null in count-only mode. */
struct Job {
  const int8_t *q = nullptr;
  const float *s = nullptr;
  const uint8_t *w[2] = {nullptr, nullptr};   /* weight and gate storages (at their weightOffset) */
  const float *scale[2] = {nullptr, nullptr}; /* wscale, gscale */
  const float *bias = nullptr, *gbias = nullptr, *residual = nullptr;
  float *y = nullptr;
  int64_t M = 1, sRow = 0, act = 0, dequantMul = 0;
};

/* Per-core-group memories: the AIC's L1, L0A, L0B, L0C, the two AIVs' UBs, and the core's GM workspaces (the
 * Fixpipe output, the MSD activation halves, the 2-bit ring). Real sizes; the workspaces are bounded by what
 * the checked capacities allow. */
struct Memories {
  alignas(1024) uint8_t l1[kL1Bytes];
  alignas(1024) uint8_t l0a[kL0ABytes];
  alignas(1024) uint8_t l0b[kL0BBytes];
  alignas(1024) int32_t l0c[kL0CBytes / 4];
  alignas(64) uint8_t ub[2][kUbBytes];
  alignas(64) int32_t fixWs[2 * 2 * kL0CBytes / 4]; /* [matrix][MSD half] tiles of baseM x baseN int32 */
  alignas(64) uint8_t splitWs[kL1Bytes];            /* MSD: hi then lo int4 Nz of one L1 load of A */
  alignas(64) uint8_t ring[4 * kL0BBytes];          /* 2-bit path: ringSlots x ringSlotBytes */
};
constexpr int64_t kMaxRingSlots = 4;
constexpr int64_t kMaxRingBytes = 4 * kL0BBytes;

/* UB bytes per AIV of the epilogue for this tiling: its half of the tile's rows of double accumulators (one
 * per matrix), and one row of int32 sums (two with MSD), scales and output. */
inline int64_t epilogueUbBytes(const AscendMatmulTiling &t) {
  int64_t mats = t.gated ? 2 : 1, halves = t.storage == kStorageInt4Msd ? 2 : 1;
  int64_t rowsPerAiv = (t.baseM / 16 + 1) / 2 * 16;
  return rowsPerAiv * t.baseN * 8 * mats + t.baseN * 4 * mats * halves + t.baseN * 4 * mats + t.baseN * 4 +
         t.baseN * 4 * mats /* MSD corrections */;
}

/* Checks and counts every operation; moves data when `mem` is set. Fail is a callable (const char *op,
 * const char *what, int64_t value, int64_t limit) that does not return. */
template <typename Fail> struct Machine {
  const AscendMatmulTiling &t;
  const Job &job;
  Memories *mem; /* null: count only */
  Fail fail;
  Counts c;
  int64_t N, K;

  bool data() const { return mem != nullptr; }

  void need(bool ok, const char *op, const char *what, int64_t value, int64_t limit) {
    if (!ok) fail(op, what, value, limit);
  }
  void inBuffer(const char *op, const char *buf, int64_t off, int64_t bytes, int64_t cap, int64_t align) {
    need(off >= 0 && bytes >= 0 && off + bytes <= cap, op, buf, off + bytes, cap);
    need(off % align == 0, op, "alignment", off, align);
  }
  /* Where the AIV's staging buffers start in UB: after the epilogue's accumulators. */
  int64_t ubBase() const;
  static int64_t repeats(int64_t bytes) { return (bytes + kVectorRepeatBytes - 1) / kVectorRepeatBytes; }

  /* DataCopy GM -> L1 with Nd2Nz: rows [m0, m0 + rows) x K columns [k0, k0 + span) of q (int8, row-major
   * [M, K]) into the Nz tile [span / 32][mPad][32] at l1Off; rows past `rows` and columns past K are zeros. */
  void copyActNd2Nz(int64_t l1Off, int64_t m0, int64_t rows, int64_t mPad, int64_t k0, int64_t span) {
    need(mPad % 16 == 0 && rows <= mPad, "DataCopy(Nd2Nz) A", "rows (multiple of 16)", mPad, 16);
    need(span % 32 == 0, "DataCopy(Nd2Nz) A", "columns (multiple of 32 bytes)", span, 32);
    inBuffer("DataCopy(Nd2Nz) A", "L1", l1Off, mPad * span, kL1Bytes, kAlignL1);
    int64_t valid = K - k0 < span ? K - k0 : span;
    c.aicL2Bytes += double(rows * valid);
    if (!data()) return;
    uint8_t *dst = mem->l1 + l1Off;
    for (int64_t kb = 0; kb < span / 32; ++kb)
      for (int64_t r = 0; r < mPad; ++r)
        for (int64_t j = 0; j < 32; ++j) {
          int64_t k = k0 + kb * 32 + j;
          dst[(kb * mPad + r) * 32 + j] = r < rows && k < K ? uint8_t(job.q[(m0 + r) * K + k]) : 0;
        }
  }

  /* MSD: the AIVs read the same activation block into UB, split each q into hi = q >> 4 and lo = (q & 15) - 8
   * (int4, q = 16 hi + lo + 8), write both halves as int4 Nz [span / 64][mPad][32 B] to the GM workspace,
   * and the AIC copies them to L1 at l1Off (hi) and l1Off + mPad * span / 2 (lo). */
  void splitActMsd(int64_t l1Off, int64_t m0, int64_t rows, int64_t mPad, int64_t k0, int64_t span) {
    const char *op = "AIV MSD split";
    need(span % 64 == 0, op, "columns (multiple of 64 int4)", span, 64);
    need(mPad % 16 == 0 && rows <= mPad, op, "rows (multiple of 16)", mPad, 16);
    int64_t half = mPad * span / 2;
    /* Each AIV takes half of the rows: its UB holds the int8 rows and both int4 halves. */
    int64_t rowsPerAiv = (mPad / 16 + 1) / 2 * 16;
    inBuffer(op, "UB", ubBase(), rowsPerAiv * span + rowsPerAiv * span, kUbBytes, kAlignUb);
    inBuffer(op, "GM workspace", 0, 2 * half, kL1Bytes, 32);
    int64_t valid = K - k0 < span ? K - k0 : span;
    c.aivL2Bytes += double(rows * valid);
    c.vectorRepeats += double(3 * repeats(mPad * span));
    c.gmWriteBytes += double(2 * half);
    inBuffer("DataCopy GM -> L1 (MSD halves)", "L1", l1Off, 2 * half, kL1Bytes, kAlignL1);
    c.aicL2Bytes += double(2 * half);
    if (!data()) return;
    uint8_t *hiWs = mem->splitWs, *loWs = mem->splitWs + half;
    for (int64_t b = 0; b < 2 * half; ++b) mem->splitWs[b] = 0;
    for (int64_t kb = 0; kb < span / 64; ++kb)
      for (int64_t r = 0; r < mPad; ++r)
        for (int64_t j = 0; j < 64; ++j) {
          int64_t k = k0 + kb * 64 + j;
          int v = r < rows && k < K ? job.q[(m0 + r) * K + k] : 0;
          int hi = v >> 4, lo = (v & 15) - 8;
          int64_t byte = (kb * mPad + r) * 32 + j / 2;
          int shift = (j & 1) * 4;
          hiWs[byte] = uint8_t(hiWs[byte] | ((hi & 15) << shift));
          loWs[byte] = uint8_t(loWs[byte] | ((lo & 15) << shift));
        }
    for (int64_t b = 0; b < 2 * half; ++b) mem->l1[l1Off + b] = mem->splitWs[b];
  }

  /* DataCopy GM -> L1 of weight NZ: for each 32-byte K fractal row kb of [kb0, kb0 + kbs), the nTile rows at
   * n0 (a contiguous nTile * 32-byte span of the [Kp/C0][Np][32 B] storage) into L1 [kbs][nTile][32 B]. */
  void copyWeight(int64_t l1Off, const uint8_t *src, int64_t srcBytes, int64_t np, int64_t n0, int64_t nTile,
                  int64_t kb0, int64_t kbs, const char *op) {
    need(nTile % 16 == 0 && n0 % 16 == 0, op, "rows (fractals of 16)", nTile, 16);
    inBuffer(op, "L1", l1Off, kbs * nTile * 32, kL1Bytes, kAlignL1);
    for (int64_t kb = 0; kb < kbs; ++kb) {
      int64_t from = ((kb0 + kb) * np + n0) * 32;
      need(from + nTile * 32 <= srcBytes, op, "GM source bytes", from + nTile * 32, srcBytes);
      if (data())
        for (int64_t b = 0; b < nTile * 32; ++b) mem->l1[l1Off + kb * nTile * 32 + b] = src[from + b];
    }
    c.aicGmBytes += double(kbs * nTile * 32);
  }

  /* The 2-bit path: an AIV reads the packed quarter-size span of the tile into UB, unpacks it to int8 Nz
   * (4 shift-and-mask-and-subtract passes), writes it to ring slot `slot` in GM; then the AIC copies the slot
   * to L1 (after the AIV's cross-core flag). */
  void unpackToRing(int64_t slot, int64_t l1Off, const uint8_t *src, int64_t srcBytes, int64_t np, int64_t n0,
                    int64_t nTile, int64_t kb0, int64_t kbs) {
    const char *op = "AIV unpack 2-bit -> GM ring";
    int64_t bytes = kbs * nTile * 32;
    need(t.ringSlots >= 2 && t.ringSlots <= kMaxRingSlots, op, "ring slots", t.ringSlots, kMaxRingSlots);
    need(bytes <= t.ringSlotBytes, op, "ring slot bytes", bytes, t.ringSlotBytes);
    inBuffer(op, "GM ring", slot * t.ringSlotBytes, bytes, int64_t(t.ringSlots) * t.ringSlotBytes, 32);
    need(int64_t(t.ringSlots) * t.ringSlotBytes <= kMaxRingBytes, op, "GM ring bytes",
         int64_t(t.ringSlots) * t.ringSlotBytes, kMaxRingBytes);
    inBuffer(op, "UB", ubBase(), bytes + bytes / 4, kUbBytes, kAlignUb);
    c.aivGmBytes += double(bytes / 4);
    c.vectorRepeats += double(4 * repeats(bytes / 4) + repeats(bytes));
    c.gmWriteBytes += double(bytes);
    uint8_t *ring = data() ? mem->ring + slot * t.ringSlotBytes : nullptr;
    for (int64_t kb = 0; kb < kbs; ++kb) {
      int64_t from = ((kb0 + kb) * np + n0) * 32;
      need(from / 4 + nTile * 8 <= srcBytes, op, "GM source bytes", from / 4 + nTile * 8, srcBytes);
      if (!data()) continue;
      uint8_t *ub = mem->ub[kb & 1] + ubBase();
      for (int64_t b = 0; b < nTile * 8; ++b) ub[b] = src[from / 4 + b];
      for (int64_t b = 0; b < nTile * 32; ++b) {
        int code = (ub[b / 4] >> (2 * (b % 4))) & 3;
        need(code != 3, op, "2-bit code 3 (not ternary) at byte", from / 4 + b / 4, 3);
        ub[nTile * 8 + b] = uint8_t(int8_t(code - 1));
      }
      for (int64_t b = 0; b < nTile * 32; ++b) ring[kb * nTile * 32 + b] = ub[nTile * 8 + b];
    }
    inBuffer("DataCopy GM ring -> L1", "L1", l1Off, bytes, kL1Bytes, kAlignL1);
    c.aicL2Bytes += double(bytes);
    if (data())
      for (int64_t b = 0; b < bytes; ++b) mem->l1[l1Off + b] = ring[b];
  }

  /* LoadData L1 -> L0A: the Nz A block [kbs][mPad][32 B] at l1Off, K fractals [kf, kf + baseK/C0), into Zz
   * fractals (mb, kb) at l0aOff + (mb * kfs + kb) * 512. */
  void loadA(int64_t l0aOff, int64_t l1Off, int64_t mPad, int64_t kbsInL1, int64_t kf, int64_t kfs) {
    const char *op = "LoadData L1 -> L0A";
    int64_t bytes = mPad * kfs * 32;
    inBuffer(op, "L0A", l0aOff, bytes, kL0ABytes, kAlignL0AB);
    need(kf + kfs <= kbsInL1, op, "K fractals in L1", kf + kfs, kbsInL1);
    inBuffer(op, "L1 source", l1Off + kf * mPad * 32, bytes, kL1Bytes, kAlignL1);
    c.mte1Bytes += double(bytes);
    if (!data()) return;
    for (int64_t mb = 0; mb < mPad / 16; ++mb)
      for (int64_t kb = 0; kb < kfs; ++kb) {
        const uint8_t *s = mem->l1 + l1Off + ((kf + kb) * mPad + mb * 16) * 32;
        uint8_t *d = mem->l0a + l0aOff + (mb * kfs + kb) * kFractalBytes;
        for (int64_t b = 0; b < kFractalBytes; ++b) d[b] = s[b];
      }
  }

  /* LoadData L1 -> L0B: the Nz B block [kbs][nTile][32 B] (= Zn fractals of W^T), K fractals [kf, kf + kfs),
   * into fractals (kb, nb) at l0bOff + (kb * nTile / 16 + nb) * 512. */
  void loadB(int64_t l0bOff, int64_t l1Off, int64_t nTile, int64_t kbsInL1, int64_t kf, int64_t kfs) {
    const char *op = "LoadData L1 -> L0B";
    int64_t bytes = nTile * kfs * 32;
    inBuffer(op, "L0B", l0bOff, bytes, kL0BBytes, kAlignL0AB);
    need(kf + kfs <= kbsInL1, op, "K fractals in L1", kf + kfs, kbsInL1);
    inBuffer(op, "L1 source", l1Off + kf * nTile * 32, bytes, kL1Bytes, kAlignL1);
    c.mte1Bytes += double(bytes);
    if (!data()) return;
    for (int64_t b = 0; b < bytes; ++b) mem->l0b[l0bOff + b] = mem->l1[l1Off + kf * nTile * 32 + b];
  }

  /* Mmad: L0C[mPad x nTile] (Nz, 16 x 16 int32 fractals (nb, mb) at (nb * mPad / 16 + mb) * 1024 bytes)
   * (+)= A (Zz in L0A, mPad x kElems) . B (Zn in L0B, kElems x nTile), int8 x int8 or int4 x int4 -> int32. */
  void mmad(int64_t l0cOff, int64_t l0aOff, int64_t l0bOff, int64_t mPad, int64_t nTile, int64_t kElems, bool int4,
            bool init) {
    const char *op = "Mmad";
    int64_t c0 = int4 ? 64 : 32, kfs = kElems / c0;
    need(mPad >= 1 && mPad <= 4095 && nTile >= 1 && nTile <= 4095 && kElems >= 1 && kElems <= 4095, op,
         "m, n, k <= 4095", mPad > nTile ? (mPad > kElems ? mPad : kElems) : (nTile > kElems ? nTile : kElems), 4095);
    need(mPad % 16 == 0 && nTile % 16 == 0 && kElems % c0 == 0, op, "fractal shape (m, n multiples of 16, k of C0)",
         kElems, c0);
    inBuffer(op, "L0A", l0aOff, mPad * kfs * 32, kL0ABytes, kAlignL0AB);
    inBuffer(op, "L0B", l0bOff, nTile * kfs * 32, kL0BBytes, kAlignL0AB);
    inBuffer(op, "L0C", l0cOff, mPad * nTile * 4, kL0CBytes, kAlignMmadDst);
    c.cubeCycles += double((mPad / 16) * (nTile / 16) * kfs);
    ++c.mmads;
    if (!data()) return;
    int32_t *C = mem->l0c + l0cOff / 4;
    const uint8_t *A = mem->l0a + l0aOff, *B = mem->l0b + l0bOff;
    for (int64_t nb = 0; nb < nTile / 16; ++nb)
      for (int64_t mb = 0; mb < mPad / 16; ++mb) {
        int32_t *frac = C + (nb * (mPad / 16) + mb) * 256;
        for (int64_t i = 0; i < 16; ++i)
          for (int64_t j = 0; j < 16; ++j) {
            int32_t acc = init ? 0 : frac[i * 16 + j];
            for (int64_t kb = 0; kb < kfs; ++kb) {
              const uint8_t *a = A + (mb * kfs + kb) * kFractalBytes + i * 32;
              const uint8_t *b = B + (kb * (nTile / 16) + nb) * kFractalBytes + j * 32;
              if (int4) {
                for (int64_t x = 0; x < 32; ++x) {
                  int a0 = int8_t(uint8_t(a[x] << 4)) >> 4, a1 = int8_t(a[x]) >> 4;
                  int b0 = int8_t(uint8_t(b[x] << 4)) >> 4, b1 = int8_t(b[x]) >> 4;
                  acc += a0 * b0 + a1 * b1;
                }
              } else {
                for (int64_t x = 0; x < 32; ++x) acc += int32_t(int8_t(a[x])) * int32_t(int8_t(b[x]));
              }
            }
            frac[i * 16 + j] = acc;
          }
      }
  }

  /* Fixpipe L0C -> GM: the Nz tile to ND int32 [rows x nValid] in the core's workspace slot (no quantization:
   * the epilogue scales the exact sums). */
  void fixpipe(int64_t wsSlot, int64_t l0cOff, int64_t mPad, int64_t nTile, int64_t rows, int64_t nValid) {
    const char *op = "Fixpipe L0C -> GM";
    inBuffer(op, "L0C", l0cOff, mPad * nTile * 4, kL0CBytes, kAlignL0C);
    need(mPad * nTile * 4 <= kL0CBytes, op, "workspace tile bytes", mPad * nTile * 4, kL0CBytes);
    need(wsSlot >= 0 && wsSlot < 4, op, "workspace slot", wsSlot, 4);
    c.fixpipeBytes += double(mPad * nTile * 4);
    c.gmWriteBytes += double(rows * nValid * 4);
    if (!data()) return;
    int32_t *ws = mem->fixWs + wsSlot * (kL0CBytes / 4);
    const int32_t *C = mem->l0c + l0cOff / 4;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t n = 0; n < nValid; ++n)
        ws[r * nTile + n] = C[((n / 16) * (mPad / 16) + r / 16) * 256 + (r % 16) * 16 + n % 16];
  }
};

template <typename Fail> int64_t Machine<Fail>::ubBase() const { return ascendRoundUp(epilogueUbBytes(t), 32); }

/* The epilogue callback: receives, for activation row m and weight row n, the scaled dot products (weight and
 * gate) and writes y. Count-only mode passes a callback that does nothing. */
struct NoEpilogue {
  void operator()(int64_t, int64_t, double, double, double) const {}
};

/* Runs core `core`'s share of the schedule for M activation rows. Epilogue(m, n, dw, dg) writes one output. */
template <typename Fail, typename Epilogue>
void runCore(Machine<Fail> &mc, int64_t M, int64_t core, Epilogue &&epilogue) {
  const AscendMatmulTiling &t = mc.t;
  const int64_t N = mc.N, K = mc.K;
  /* Before any division by them (a corrupt header must fail, not crash). */
  mc.need(t.splitM >= 1 && t.splitN >= 1 && t.kGroup >= 1 && t.stepKa >= 1 && t.stepKb >= 1 && t.dbL0A >= 1 &&
              t.dbL0B >= 1 && t.dbL0C >= 1 && t.baseM >= 16 && t.baseN >= 16 && t.baseK >= 32 && t.singleCoreN >= 16 &&
              (t.storage != kStoragePacked2bRing || t.ringSlots >= 1) && t.storage >= 0 && t.storage <= 2,
          "schedule", "the tiling's fields (positive splits, steps, buffers and tiles)", 0, 1);
  const bool msd = t.storage == kStorageInt4Msd, ring = t.storage == kStoragePacked2bRing;
  const int64_t c0 = ascendC0(t.storage), np = ascendRoundUp(N, 16);
  const int64_t kp = ascendRoundUp(K, c0);
  const int64_t cm = core / t.splitN, cn = core % t.splitN;
  const int64_t rpc = ascendRowsPerCore(&t, M);
  const int64_t mBegin = cm * rpc, mEnd = mBegin + rpc < M ? mBegin + rpc : M;
  const int64_t nBegin = cn * t.singleCoreN, nEnd = nBegin + t.singleCoreN < N ? nBegin + t.singleCoreN : N;
  if (mBegin >= mEnd || nBegin >= nEnd) return;
  const int64_t mats = t.gated ? 2 : 1;
  const int64_t groups = K / t.kGroup;
  const int64_t groupElems = t.kGroup;
  const int64_t stepK = t.stepKa;
  mc.need(t.stepKa == t.stepKb, "schedule", "stepKa == stepKb", t.stepKa, t.stepKb);
  mc.need(groups * t.kGroup == K, "schedule", "kGroup divides K", t.kGroup, K);
  /* L1: depthA1 / stepKa A buffers, then depthB1 / stepKb B buffers. A's element bytes: 1 (int8, or two int4
   * halves). B's: 1 (int8 or unpacked 2-bit) or 1/2 (int4). */
  const int64_t aBuf = int64_t(t.baseM) * t.baseK * stepK;
  const int64_t bBuf = (msd ? int64_t(t.baseK) * t.baseN / 2 : int64_t(t.baseK) * t.baseN) * stepK;
  const int64_t aSlots = t.depthA1 / t.stepKa, bSlots = t.depthB1 / t.stepKb;
  mc.need(aSlots >= 1 && bSlots >= 1, "schedule", "L1 depth >= step", t.depthA1, t.stepKa);
  const int64_t l0aSlot = int64_t(t.baseM) * t.baseK,
                l0bSlot = msd ? int64_t(t.baseK) * t.baseN / 2 : int64_t(t.baseK) * t.baseN;
  const int64_t l0cSlot = int64_t(t.baseM) * t.baseN * 4 * (msd ? 2 : 1);
  const int64_t storageBytes = ascendStorageBytes(t.storage, N, K);
  const int64_t rowsPerAiv = (t.baseM / 16 + 1) / 2 * 16;
  mc.inBuffer("AIV epilogue", "UB", 0, epilogueUbBytes(t), kUbBytes, kAlignUb);
  mc.need(aSlots * aBuf + bSlots * bBuf <= kL1Bytes, "schedule", "L1 (A and B buffers)", aSlots * aBuf + bSlots * bBuf,
          kL1Bytes);
  int64_t loadIndex = 0, kIndex = 0, tileIndex = 0, ringIndex = 0;
  /* One output tile: rows [m0, m0 + rows) x columns [n0, n0 + nValid). */
  auto tile = [&](int64_t m0, int64_t rows, int64_t n0, int64_t nValid) {
    const int64_t mPad = ascendRoundUp(rows, 16);
    const int64_t nTile = ascendRoundUp(nValid, 16);
    /* Both matrices' tiles of int32 sums for every group are consumed by the AIVs group by group: they keep
     * the running double sums in UB (rows split over the two AIVs) and finish with the epilogue. */
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t mat = 0; mat < mats; ++mat) {
        const uint8_t *w = mc.job.w[mat];
        const int64_t l0c = (tileIndex++ % t.dbL0C) * l0cSlot;
        const int64_t gBegin = g * groupElems, gEnd = gBegin + groupElems;
        const int64_t gEndPad = g == groups - 1 ? kp : gEnd;
        bool first = true;
        for (int64_t k0 = gBegin; k0 < gEndPad; k0 += int64_t(t.baseK) * stepK) {
          const int64_t span = gEndPad - k0 < int64_t(t.baseK) * stepK ? gEndPad - k0 : int64_t(t.baseK) * stepK;
          const int64_t aOff = (loadIndex % aSlots) * aBuf;
          const int64_t bOff = aSlots * aBuf + (loadIndex % bSlots) * bBuf;
          ++loadIndex;
          mc.need(span % c0 == 0, "schedule", "K span (multiple of C0)", span, c0);
          if (msd)
            mc.splitActMsd(aOff, m0, rows, mPad, k0, span);
          else
            mc.copyActNd2Nz(aOff, m0, rows, mPad, k0, span);
          mc.need(aOff + mPad * span <= aSlots * aBuf, "DataCopy A", "L1 A buffer", aOff + mPad * span, aSlots * aBuf);
          if (ring) {
            mc.unpackToRing(ringIndex++ % t.ringSlots, bOff, w, storageBytes, np, n0, nTile, k0 / 32, span / 32);
          } else {
            mc.copyWeight(bOff, w, msd ? np * kp / 2 : storageBytes, np, n0, nTile, k0 / c0, span / c0,
                          "DataCopy GM -> L1 B");
          }
          mc.need(bOff + nTile * span / (msd ? 2 : 1) <= aSlots * aBuf + bSlots * bBuf, "DataCopy B", "L1 B buffer",
                  bOff + nTile * span / (msd ? 2 : 1), aSlots * aBuf + bSlots * bBuf);
          for (int64_t kk = 0; kk < span; kk += t.baseK) {
            const int64_t kElems = span - kk < t.baseK ? span - kk : t.baseK;
            const int64_t l0a = (kIndex % t.dbL0A) * l0aSlot, l0b = (kIndex % t.dbL0B) * l0bSlot;
            ++kIndex;
            if (msd) {
              /* hi and lo halves: two int4 Zz blocks in the L0A slot, one int4 B block, two int4 passes into
               * the two halves of the L0C slot. */
              const int64_t half = mPad * span / 2;
              mc.loadA(l0a, aOff, mPad, span / 64, kk / 64, kElems / 64);
              mc.loadA(l0a + mPad * kElems / 2, aOff + half, mPad, span / 64, kk / 64, kElems / 64);
              mc.loadB(l0b, bOff, nTile, span / 64, kk / 64, kElems / 64);
              mc.mmad(l0c, l0a, l0b, mPad, nTile, kElems, true, first);
              mc.mmad(l0c + int64_t(t.baseM) * t.baseN * 4, l0a + mPad * kElems / 2, l0b, mPad, nTile, kElems, true,
                      first);
            } else {
              mc.loadA(l0a, aOff, mPad, span / 32, kk / 32, kElems / 32);
              mc.loadB(l0b, bOff, nTile, span / 32, kk / 32, kElems / 32);
              mc.mmad(l0c, l0a, l0b, mPad, nTile, kElems, false, first);
            }
            first = false;
          }
        }
        mc.fixpipe(mat * 2, l0c, mPad, nTile, rows, nValid);
        if (msd) mc.fixpipe(mat * 2 + 1, l0c + int64_t(t.baseM) * t.baseN * 4, mPad, nTile, rows, nValid);
      }
      /* AIVs: read the group's int32 sums (and the MSD corrections), scale and accumulate. */
      mc.c.aivL2Bytes += double(rows * nValid * 4 * mats * (msd ? 2 : 1));
      mc.c.aivGmBytes += double(nValid * 4 * mats);
      if (msd) mc.c.aivGmBytes += double(nValid * (groupElems / 64 > 0 ? groupElems / 64 : 1) * mats);
      mc.c.vectorRepeats += double(
          rows * (Machine<Fail>::repeats(nValid * 4) * (msd ? 4 : 1) + 2 * Machine<Fail>::repeats(nValid * 8)) * mats);
      if (mc.data()) {
        for (int64_t r = 0; r < rows; ++r) {
          double *accRow[2];
          for (int64_t mat = 0; mat < mats; ++mat) {
            /* The accumulators of row r live in its AIV's UB: AIV r / rowsPerAiv, row r % rowsPerAiv. */
            accRow[mat] =
                reinterpret_cast<double *>(mc.mem->ub[r / rowsPerAiv]) + ((r % rowsPerAiv) * mats + mat) * t.baseN;
            const int32_t *ws = mc.mem->fixWs + (mat * 2) * (kL0CBytes / 4) + r * nTile;
            const int32_t *lo = mc.mem->fixWs + (mat * 2 + 1) * (kL0CBytes / 4) + r * nTile;
            const float *scale = mc.job.scale[mat];
            for (int64_t j = 0; j < nValid; ++j) {
              int64_t n = n0 + j;
              int64_t dot = ws[j];
              if (msd) {
                /* 16 * hi + lo + 8 * (sum of the group's weights), from the correction table. */
                const int8_t *corr = reinterpret_cast<const int8_t *>(mc.job.w[mat]) + np * kp / 2 + n * (kp / 64);
                int64_t wsum = 0;
                const int64_t b0 = groups > 1 ? g * groupElems / 64 : 0;
                const int64_t b1 = groups > 1 ? (g + 1) * groupElems / 64 : kp / 64;
                for (int64_t b = b0; b < b1; ++b) wsum += corr[b];
                dot = 16 * int64_t(ws[j]) + int64_t(lo[j]) + 8 * wsum;
              }
              double v = double(int32_t(dot)) * double(scale[n * mc.job.sRow + (groups > 1 ? g : 0)]);
              accRow[mat][j] = g == 0 ? v : accRow[mat][j] + v;
            }
          }
          if (g == groups - 1) {
            int64_t m = m0 + r;
            double sm = double(mc.job.s[m]);
            for (int64_t j = 0; j < nValid; ++j) epilogue(m, n0 + j, accRow[0][j], mats == 2 ? accRow[1][j] : 0.0, sm);
          }
        }
      }
    }
    /* The epilogue's vector work and the output rows written back (MTE3). */
    mc.c.vectorRepeats += double(rows * 4 * Machine<Fail>::repeats(nValid * 8));
    mc.c.gmWriteBytes += double(rows * nValid * 4);
    if (mc.job.residual) mc.c.aivL2Bytes += double(rows * nValid * 4);
  };
  if (mc.data()) {
    for (int64_t m0 = mBegin; m0 < mEnd; m0 += t.baseM)
      for (int64_t n0 = nBegin; n0 < nEnd; n0 += t.baseN)
        tile(m0, mEnd - m0 < t.baseM ? mEnd - m0 : t.baseM, n0, nEnd - n0 < t.baseN ? nEnd - n0 : t.baseN);
    return;
  }
  /* Counting only: the tiles of one shape issue the same operations, so each distinct shape (full or the last
   * partial one, along M and N) is walked once, at its last position, and its counts multiplied. */
  const int64_t mFull = (mEnd - mBegin) / t.baseM, mRem = (mEnd - mBegin) % t.baseM;
  const int64_t nFull = (nEnd - nBegin) / t.baseN, nRem = (nEnd - nBegin) % t.baseN;
  const int64_t mClass[2][3] = {{mFull, t.baseM, mBegin + (mFull - 1) * t.baseM},
                                {mRem > 0, mRem, mBegin + mFull * t.baseM}};
  const int64_t nClass[2][3] = {{nFull, t.baseN, nBegin + (nFull - 1) * t.baseN},
                                {nRem > 0, nRem, nBegin + nFull * t.baseN}};
  for (const auto &mc_ : mClass)
    for (const auto &nc_ : nClass) {
      if (mc_[0] == 0 || nc_[0] == 0) continue;
      Counts before = mc.c;
      tile(mc_[2], mc_[1], nc_[2], nc_[1]);
      double times = double(mc_[0] * nc_[0] - 1);
      mc.c.cubeCycles += times * (mc.c.cubeCycles - before.cubeCycles);
      mc.c.aicGmBytes += times * (mc.c.aicGmBytes - before.aicGmBytes);
      mc.c.aicL2Bytes += times * (mc.c.aicL2Bytes - before.aicL2Bytes);
      mc.c.aivGmBytes += times * (mc.c.aivGmBytes - before.aivGmBytes);
      mc.c.aivL2Bytes += times * (mc.c.aivL2Bytes - before.aivL2Bytes);
      mc.c.gmWriteBytes += times * (mc.c.gmWriteBytes - before.gmWriteBytes);
      mc.c.mte1Bytes += times * (mc.c.mte1Bytes - before.mte1Bytes);
      mc.c.fixpipeBytes += times * (mc.c.fixpipeBytes - before.fixpipeBytes);
      mc.c.vectorRepeats += times * (mc.c.vectorRepeats - before.vectorRepeats);
      mc.c.mmads += int64_t(times) * (mc.c.mmads - before.mmads);
    }
}

} // namespace ternc::ascend::sim

#endif /* TERNC_TARGETS_ASCEND_SIM_H */
