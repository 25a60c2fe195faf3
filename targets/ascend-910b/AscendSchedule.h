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
} AscendMatmulTiling;

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
