/* AscendSchedule.h: what the ascend-910b target decides for one ternary matmul (BitLinear) and hands to both
 * of its consumers: the AscendC emitter (which prints it as the kernel's tiling constants and loop bounds) and
 * the functional simulator (a kernel in the target's bitcode that executes exactly that schedule on CPU-side
 * models of L1 / L0A / L0B / L0C / UB). One struct, so the simulator runs the schedule that was emitted.
 *
 * Freestanding (stdint only): it is compiled into ternc and into the simulator's kernel bitcode.
 *
 * The hardware facts are ../shared/design/ASCEND.md (Ascend 910B2); docs/ascend.md says how they are used. */
#ifndef TERNC_TARGETS_ASCEND_SCHEDULE_H
#define TERNC_TARGETS_ASCEND_SCHEDULE_H

#include <stdint.h>

#ifdef __cplusplus
namespace ternc::ascend {
#endif

/* ---- Ascend 910B2 (one chip) ---------------------------------------------------------------------------- */
enum {
  kAic = 24,                /* cube cores */
  kAiv = 48,                /* vector cores, 2 per AIC */
  kL1Bytes = 512 << 10,     /* per AIC */
  kL0ABytes = 64 << 10,
  kL0BBytes = 64 << 10,
  kL0CBytes = 128 << 10,
  kUbBytes = 192 << 10,     /* per AIV */
  kFractalBytes = 512,      /* 16 rows x 32 bytes */
  kAlignL0AB = 512,
  kAlignL0C = 64,
  kAlignMmadDst = 1024,
  kAlignL1 = 32,
  kAlignUb = 32,
  kVectorRepeatBytes = 256, /* one vector instruction repeat */
  kGmBytesPerCycle = 32,    /* MTE2 from GM, per AIC */
  kL1ToL0BytesPerCycle = 512,
};
#define TERNC_ASCEND_GHZ 1.8

/* How a ternary weight is stored in HBM (the cost model's candidates, ASCEND.md "What follows"). */
enum AscendStorage {
  kStorageInt8Nz = 0,      /* int8 -1/0/1 in NZ fractals; one int8 cube pass */
  kStorageInt4Msd = 1,     /* int4 -1/0/1 in NZ; activations split into high/low int4 halves, two int4 passes */
  kStoragePacked2bRing = 2 /* 2-bit codes; the AIV unpacks tiles to int8 NZ into a GM ring the AIC reads */
};

enum AscendPhase { kPhaseDecode = 0, kPhasePrefill = 1 };

/* One phase's schedule of one ternary matmul y[M, N] = q[M, K] . w[N, K]^T (the TCubeTiling fields of
 * AscendC's Matmul API, plus the storage and the ring of the 2-bit path). M is the row count the schedule
 * was planned for (1 at decode, the prompt tile at prefill); at run time M may differ and the M loop adapts
 * (rows beyond the plan take more baseM steps). All sizes in elements unless named Bytes. */
typedef struct AscendMatmulTiling {
  int32_t storage;                      /* AscendStorage */
  int32_t phase;                        /* AscendPhase */
  int64_t m, n, k;                      /* the planned shape */
  int32_t blockDim;                     /* AICs used (each with its 2 AIVs on the mixed path) */
  int32_t splitM, splitN;               /* blockDim = splitM * splitN; core c takes tile (c / splitN, c % splitN) */
  int64_t singleCoreM, singleCoreN, singleCoreK;
  int32_t baseM, baseN, baseK;          /* one Mmad: L0A baseM x baseK, L0B baseK x baseN, L0C baseM x baseN */
  int32_t depthA1, depthB1;             /* base tiles of A / B held in L1 */
  int32_t stepM, stepN, stepKa, stepKb; /* base tiles per L1 load along M, N, K(A), K(B) */
  int32_t dbL0A, dbL0B, dbL0C;          /* 1 or 2: double buffering */
  int32_t kGroup;                       /* K elements per scale group (= k for per-tensor / per-row scales):
                                           Fixpipe leaves L0C once per group so each group's int32 sum is
                                           scaled on its own */
  int32_t ringSlots;                    /* kStoragePacked2bRing: GM ring depth (tiles in flight) */
  int64_t ringSlotBytes;                /* bytes of one unpacked int8 weight tile in the ring */
  int64_t weightOffset, weightBytes;    /* this phase's weight storage inside the packed constant */
  int32_t gated;                        /* 1: the op also multiplies a gate weight (same schedule, run after the
                                           weight's for each output tile; the epilogue combines both) */
  int32_t reserved;                     /* 0 */
} AscendMatmulTiling;

/* ---- Storage layouts (the packed constant's bytes; ternc packs them, the simulator, the emitted host program
 * and kernels read them). W is the [N, K] ternary weight; Np = N rounded up to 16.
 *  kStorageInt8Nz:      Kp = K rounded up to 32. int8 t at byte (k / 32) * Np * 32 + n * 32 + k % 32, i.e. the
 *                       ND->NZ shape [Kp / 32][Np][32]: fractal (kb, nb) is the 512 contiguous bytes at
 *                       (kb * Np / 16 + nb) * 512, 16 rows n x 32 k, the Zn fractal of B = W^T that LoadData
 *                       moves to L0B unchanged. Padding is 0. Bytes: Np * Kp.
 *  kStorageInt4Msd:     Kp = K rounded up to 64. int4 t (two's complement) in the NZ shape [Kp / 64][Np][32
 *                       bytes]: weight (n, k) in byte (k / 64) * Np * 32 + n * 32 + (k % 64) / 2, low nibble for
 *                       even k. Then the MSD correction table: int8 c[n * (Kp / 64) + k / 64] = sum of t over that
 *                       64-weight block (the activations' low halves are stored offset by -8, so each group's
 *                       sum gains 8 * its weights' sum, which the epilogue adds back). Bytes: Np * Kp / 2 +
 *                       Np * Kp / 64.
 *  kStoragePacked2bRing: the int8 NZ byte stream of kStorageInt8Nz (Kp = K rounded up to 32), four bytes per
 *                       byte: int8 NZ byte 4i + s is (bits 2s..2s+1 of byte i) - 1 (codes t + 1; 3 is invalid).
 *                       A tile (K fractals x N rows) of the int8 stream is a contiguous quarter-size span here,
 *                       which the AIV unpacks into a GM ring slot. Bytes: Np * Kp / 4.
 * ------------------------------------------------------------------------------------------------------------ */
static inline int64_t ascendRoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
/* K elements per 32-byte fractal row of the cube operands the storage feeds (C0): 64 for int4, else 32. */
static inline int64_t ascendC0(int32_t storage) { return storage == kStorageInt4Msd ? 64 : 32; }
static inline int64_t ascendStorageBytes(int32_t storage, int64_t n, int64_t k) {
  int64_t np = ascendRoundUp(n, 16);
  if (storage == kStorageInt4Msd) {
    int64_t kp = ascendRoundUp(k, 64);
    return np * kp / 2 + np * (kp / 64);
  }
  int64_t kp = ascendRoundUp(k, 32);
  return storage == kStoragePacked2bRing ? np * kp / 4 : np * kp;
}
/* Activation rows core row-block `cm` (of splitM) takes at run time for M rows: the rows are split evenly in
 * multiples of 16 (the planned singleCoreM is the value for the planned M). */
static inline int64_t ascendRowsPerCore(const AscendMatmulTiling *t, int64_t M) {
  int64_t per = (M + t->splitM - 1) / t->splitM;
  return per <= 1 ? per : ascendRoundUp(per, 16);
}

#define TERNC_ASCEND_PACK_MAGIC 0x31425341u /* "ASB1" */

/* The start of a weight constant packed by the ascend-910b legalization (Constant::layout "ascend910b"):
 * this header, then the weight storages the two phases name (one copy when both chose the same storage),
 * each at its tiling's weightOffset from the start of the constant (aligned to kAlignL0AB). */
typedef struct AscendPackedWeight {
  uint32_t magic;                       /* TERNC_ASCEND_PACK_MAGIC */
  uint32_t headerBytes;                 /* sizeof(AscendPackedWeight) */
  int64_t n, k;
  AscendMatmulTiling decode, prefill;
} AscendPackedWeight;

#ifdef __cplusplus
} /* namespace ternc::ascend */
#endif

#endif /* TERNC_TARGETS_ASCEND_SCHEDULE_H */
