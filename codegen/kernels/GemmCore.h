// GemmCore.h: the register-blocked matrix multiply behind tk_gemm_* and tk_matmul_integer_*.
//
// C(m, n) = alpha * sum_k A(m, k) B(k, n) + beta * C(m, n), in compute type Cp (float, double, or unsigned
// integers that wrap). Three paths, chosen from the shapes and strides (constants once codegen inlines):
//  - Tiled (the general case): an item is a block of rows and NR-wide column panels. For each block of KC
//    values of k, the item's part of B is packed into a stack buffer as KC x NR panels (zero-padded); then
//    for each MR rows of A, an MR x NR micro-kernel keeps its accumulators in registers and broadcasts
//    A(m, k) (read in place, any strides; the MR x KC slice stays in L1 across the panels) against the
//    panel's vectors. Packing copies rows of B as vectors, or, for a transposed B (columns contiguous),
//    transposes L x L blocks in registers.
//  - Rows (M == 1, B's rows contiguous): a GEMV that streams GemvRows rows of B at a time into a stack
//    accumulator for the item's columns, prefetching rows ahead since the runs are at most 4 KB.
//  - Dots (M == 1, A and B's columns contiguous, as for Gemm transB): dot products, four columns at a time.
#ifndef TERNC_CODEGEN_KERNELS_GEMMCORE_H
#define TERNC_CODEGEN_KERNELS_GEMMCORE_H

#include "KernelSupport.h"

namespace tk {

/// Tile sizes for compute type Cp, from the SIMD width. The MR x NRV accumulator vectors plus NRV panel
/// vectors and a broadcast must fit the register file: 8 x 3 (24 of 32 zmm) on AVX-512, which measured
/// faster than 12 x 2 there, and on NEON; 6 x 2 (12 of 16 ymm) on AVX2.
template <typename Cp> struct GemmTiles {
  static constexpr int L = kLanes<Cp>;
  static constexpr int NRV = TK_VECTOR_BYTES == 32 ? 2 : 3;
  static constexpr int NR = NRV * L;
  static constexpr int MR = TK_VECTOR_BYTES == 32 ? 6 : 8;
  /// k per packed block.
  static constexpr int64_t KC = 256;
  /// Panels per item at most: the packed KC x (NR * panels) block is at most 192 KB of stack, read from L2
  /// by each MR-row tile.
  static constexpr int64_t ItemPanels = 192 * 1024 / (KC * NR * int64_t(sizeof(Cp)));
  /// Rows per item at most (fewer when that gives the thread pool too few items).
  static constexpr int64_t MBMax = 20 * MR;
  /// Rows path: columns per item at most (4 KB of each row), rows per pass, and rows to prefetch ahead.
  static constexpr int64_t GemvCols = 4096 / int64_t(sizeof(Cp));
  static constexpr int GemvRows = 4;
  static constexpr int64_t GemvPrefetch = 8;
  /// Dots path: columns per item.
  static constexpr int64_t DotCols = 32;
  /// Items of less work than this (multiply-adds) are grouped into one task.
  static constexpr int64_t MinTaskWork = int64_t(1) << 15;
};

/// A(m, k) = A[m*sam + k*sak] - zp[m*szp] (zp only when ZP and non-null), converted to Cp.
template <typename TA, typename Cp, bool ZP> struct GemmA {
  const TA *p;
  int64_t sam, sak;
  const TA *zp;
  int64_t szp;
  TK_INLINE Cp zero(int64_t m) const {
    if constexpr (ZP) return zp ? Cp(zp[m * szp]) : Cp(0);
    else return Cp(0);
  }
};

/// B(k, n) = B[k*sbk + n*sbn] - zp[n*szp], like GemmA.
template <typename TB, typename Cp, bool ZP> struct GemmB {
  const TB *p;
  int64_t sbk, sbn;
  const TB *zp;
  int64_t szp;
  TK_INLINE Cp zero(int64_t n) const {
    if constexpr (ZP) return zp ? Cp(zp[n * szp]) : Cp(0);
    else return Cp(0);
  }
};

/// The output C[m*ldc + n] (TC has Cp's size) and the epilogue: floats store alpha * acc + beta * C on the
/// first k block and add alpha * acc after; integers ignore alpha and accumulate when beta != 0.
template <typename TC, typename Cp> struct GemmC {
  static_assert(sizeof(TC) == sizeof(Cp));
  static constexpr bool kFloat = kIsFloat<Cp>;
  TC *p;
  int64_t ldc;
  Cp alpha;
  float beta;

  /// The factor on C's old value (0: not read at all) for the first k block or a later one.
  TK_INLINE Cp oldScale(bool first) const { return first ? (beta != 0.0f ? Cp(kFloat ? beta : 1) : Cp(0)) : Cp(1); }

  TK_INLINE void put(TC *dst, Cp acc, Cp scale) const {
    Cp v = kFloat ? alpha * acc : acc;
    if (scale != Cp(0)) v = kFloat ? v + scale * Cp(*dst) : v + Cp(*dst);
    *dst = TC(v);
  }
  template <typename V> TK_INLINE void putVec(TC *dst, const V &acc, Cp scale) const {
    V v = acc;
    if constexpr (kFloat) v = alpha * acc;
    if (scale != Cp(0)) {
      V old;
      loadVec(old, dst);
      if constexpr (kFloat) v = v + scale * old;
      else v = v + old;
    }
    storeVec(dst, v);
  }
};

/// Sums of many vectors at once: LaneFold<V, L>::sums<L>(v) leaves in lane i of v[0] the total of the vector
/// first at v[i], for the L vectors v[0 .. L). Each step halves the block size B: vectors a and b each hold
/// L / B sums of B lanes; the result holds a's sums, then b's, each folded to B / 2 lanes (first half of each
/// block plus the second). 2(L - 1) shuffles and L - 1 additions in all, against L log2(L) of each for one
/// horizontal sum per vector.
template <typename V, int L> struct LaneFold {
  template <int B, bool Second> static constexpr int lane(int p) {
    int src = p < L / 2 ? 0 : L, pp = p % (L / 2);
    return src + pp / (B / 2) * B + pp % (B / 2) + (Second ? B / 2 : 0);
  }
  template <int B, bool Second, int... P>
  static TK_INLINE void half(V &out, const V &a, const V &b, IntSeq<int, P...>) {
    out = __builtin_shufflevector(a, b, lane<B, Second>(P)...);
  }
  template <int B> static TK_INLINE void sums(V *v) {
    if constexpr (B > 1) {
      staticFor<B / 2>([&](auto i) TK_LAMBDA_INLINE {
        V lo, hi;
        half<B, false>(lo, v[2 * i], v[2 * i + 1], MakeIntSeq<L>());
        half<B, true>(hi, v[2 * i], v[2 * i + 1], MakeIntSeq<L>());
        v[i] = lo + hi;
      });
      sums<B / 2>(v);
    }
  }
};

/// Sums the lanes of v pairwise (a tree, not a serial chain).
template <int W, typename Cp> TK_INLINE void foldHalves(Cp *t) {
  if constexpr (W >= 1) {
    staticFor<W>([&](auto i) TK_LAMBDA_INLINE { t[i] += t[i + W]; });
    foldHalves<W / 2>(t);
  }
}
template <typename Cp, typename V> TK_INLINE Cp sumLanes(const V &v) {
  Cp t[kLanes<Cp>];
  storeVec(t, v);
  foldHalves<kLanes<Cp> / 2>(t);
  return t[0];
}

/// The lane indices of one step of an L x L transpose: for rows a and b = a + H (a & H == 0), the Low result
/// takes a's lanes p with p & H == 0 and b's lanes p - H otherwise; the high result a's p + H and b's p.
template <int L, int H, bool Low> constexpr int transposeLane(int p) {
  return Low ? ((p & H) == 0 ? p : L + p - H) : ((p & H) == 0 ? p + H : L + p);
}
template <int L, int H, bool Low, typename V, int... P>
TK_INLINE void transposeShuffle(V &out, const V &a, const V &b, IntSeq<int, P...>) {
  out = __builtin_shufflevector(a, b, transposeLane<L, H, Low>(P)...);
}
/// Transposes the L x L matrix in the L vectors r (L a power of 2) by swapping off-diagonal blocks of
/// halving size H.
template <int L, int H = L / 2, typename V> TK_INLINE void transposeSquare(V (&r)[L]) {
  if constexpr (H >= 1) {
    staticFor<L>([&](auto i) TK_LAMBDA_INLINE {
      if constexpr ((i & H) == 0) {
        V lo, hi;
        transposeShuffle<L, H, true>(lo, r[i], r[i + H], MakeIntSeq<L>());
        transposeShuffle<L, H, false>(hi, r[i], r[i + H], MakeIntSeq<L>());
        r[i] = lo;
        r[i + H] = hi;
      }
    });
    transposeSquare<L, H / 2>(r);
  }
}

/// Calls f(Index<r>()) for a runtime 0 < r < Max (the row remainder of a block).
template <int R, int Max, typename F> TK_INLINE void dispatchRows(int64_t r, F &&f) {
  if constexpr (R < Max) {
    if (r == R) f(Index<R>());
    else dispatchRows<R + 1, Max>(r, f);
  }
}

template <typename TA, typename TB, typename TC, typename Cp, bool ZP, typename Tiles = GemmTiles<Cp>> struct Gemm {
  using T = Tiles;
  using V = Vec<Cp>;
  static constexpr int L = T::L, NR = T::NR, NRV = T::NRV, MR = T::MR;
  static constexpr int64_t KC = T::KC;
  /// Whether B and A can be read as Cp directly (no conversion, no zero points): the Rows and Dots paths.
  static constexpr bool kPlain = !ZP && sizeof(TA) == sizeof(Cp) && sizeof(TB) == sizeof(Cp);
  using A = GemmA<TA, Cp, ZP>;
  using B = GemmB<TB, Cp, ZP>;
  using C = GemmC<TC, Cp>;

  enum Path { Tiled, Rows, Dots };
  /// How the output is cut into items: nm row blocks of mb rows times nn column blocks, which are spans of
  /// the `panels` NR-wide panels (Tiled) or of `cols` columns (Rows, Dots).
  struct Plan {
    Path path;
    int64_t mb, nm, nn, panels, cols;
  };

  static TK_INLINE Plan plan(int64_t M, int64_t N, int64_t K, int64_t sak, int64_t sbk, int64_t sbn) {
    if (M <= 0 || N <= 0) return {Tiled, 1, 0, 0, 0, 0};
    if (kPlain && M == 1 && sbk == 1 && sak == 1 && (sbn != 1 || N < L))
      return {Dots, 1, 1, ceilDiv(N, T::DotCols), 0, T::DotCols};
    if (kPlain && M == 1 && sbn == 1) {
      // At least two items when there are two vectors of columns, for two threads.
      int64_t cols = minI(T::GemvCols, ceilDiv(ceilDiv(N, 2), L) * L);
      return {Rows, 1, 1, ceilDiv(N, cols), 0, cols};
    }
    int64_t panels = ceilDiv(N, NR);
    int64_t nn = ceilDiv(panels, T::ItemPanels);
    // A multiple of 4 column blocks (of whole panels, so some one panel narrower) balances 2 or 4 threads.
    if (nn > 2) nn = minI(panels, ceilDiv(nn, 4) * 4);
    // Aim for 8 items, without row blocks thinner than MR rows or taller than MBMax.
    int64_t nm = maxI(ceilDiv(M, T::MBMax), minI(ceilDiv(8, nn), ceilDiv(M, MR)));
    int64_t mb = ceilDiv(ceilDiv(M, nm), MR) * MR;
    return {Tiled, mb, ceilDiv(M, mb), nn, panels, 0};
  }

  static TK_INLINE int64_t items(int64_t M, int64_t N, int64_t K, int64_t sak, int64_t sbk, int64_t sbn) {
    Plan p = plan(M, N, K, sak, sbk, sbn);
    return p.nm * p.nn;
  }

  static TK_INLINE int64_t grain(int64_t M, int64_t N, int64_t K, int64_t sak, int64_t sbk, int64_t sbn) {
    Plan p = plan(M, N, K, sak, sbk, sbn);
    int64_t work = minI(p.mb, M) * ceilDiv(N, maxI(p.nn, 1)) * maxI(K, 1);
    return maxI(1, ceilDiv(T::MinTaskWork, maxI(work, 1)));
  }

  // ---- Tiled ------------------------------------------------------------------------------------------

  /// Packs B(k0 .. k0+kc, n0 .. n0+nb) as panels of kc x NR (column n0 + p*NR + j of row k at
  /// bp[(p*kc + k)*NR + j]), zero beyond nb.
  static TK_INLINE void packB(const B &b, Cp *bp, int64_t k0, int64_t kc, int64_t n0, int64_t nb) {
    for (int64_t p = 0; p * NR < nb; ++p) {
      Cp *dst = bp + p * kc * NR;
      int64_t nc = minI(NR, nb - p * NR), nbase = n0 + p * NR;
      Cp zb[NR];
      for (int j = 0; j < NR; ++j) zb[j] = j < nc ? b.zero(nbase + j) : Cp(0);
      if constexpr (kPlain) {
        if (b.sbn == 1 && nc == NR) {
          for (int64_t k = 0; k < kc; ++k) {
            const TB *src = b.p + (k0 + k) * b.sbk + nbase;
            staticFor<NRV>([&](auto v) TK_LAMBDA_INLINE {
              V x;
              loadVec(x, src + v * L);
              storeVec(dst + k * NR + v * L, x);
            });
          }
          continue;
        }
      }
      if (b.sbn == 1) {
        for (int64_t k = 0; k < kc; ++k) {
          const TB *src = b.p + (k0 + k) * b.sbk + nbase;
          for (int64_t j = 0; j < nc; ++j) dst[k * NR + j] = Cp(src[j]) - zb[j];
        }
      } else {
        // Columns of B are contiguous when sbk == 1 (a transposed B): read down each column.
        int64_t k = 0;
        if constexpr (kPlain) {
          // L x L blocks transposed in registers: L vector loads and stores instead of L^2 scalar ones.
          if (b.sbk == 1 && nc == NR) {
            for (; k + L <= kc; k += L)
              staticFor<NRV>([&](auto v) TK_LAMBDA_INLINE {
                V r[L];
                staticFor<L>([&](auto j) TK_LAMBDA_INLINE { loadVec(r[j], b.p + (nbase + v * L + j) * b.sbn + k0 + k); });
                transposeSquare<L>(r);
                staticFor<L>([&](auto i) TK_LAMBDA_INLINE { storeVec(dst + (k + i) * NR + v * L, r[i]); });
              });
          }
        }
        for (int64_t j = 0; j < nc; ++j) {
          const TB *src = b.p + (nbase + j) * b.sbn + k0 * b.sbk;
          for (int64_t kk = k; kk < kc; ++kk) dst[kk * NR + j] = Cp(src[kk * b.sbk]) - zb[j];
        }
      }
      // Zero padding column by column: a run per row would become a memset call.
      for (int64_t j = nc; j < NR; ++j)
        for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = Cp(0);
    }
  }

  /// acc += A(m0 .. m0+R, k0 .. k0+kc) @ the packed panel bp.
  template <int R> static TK_INLINE void microKernel(const A &a, int64_t m0, int64_t k0, int64_t kc, const Cp *bp,
                                                     V (&acc)[R][NRV]) {
    const TA *rows[R];
    Cp za[R];
    staticFor<R>([&](auto i) TK_LAMBDA_INLINE {
      rows[i] = a.p + (m0 + i) * a.sam + k0 * a.sak;
      za[i] = a.zero(m0 + i);
    });
    for (int64_t k = 0; k < kc; ++k) {
      V bv[NRV];
      staticFor<NRV>([&](auto j) TK_LAMBDA_INLINE { loadVec(bv[j], bp + k * NR + j * L); });
      staticFor<R>([&](auto i) TK_LAMBDA_INLINE {
        Cp av = Cp(rows[i][k * a.sak]) - za[i];
        staticFor<NRV>([&](auto j) TK_LAMBDA_INLINE { acc[i][j] += av * bv[j]; });
      });
    }
  }

  /// Stores R rows of NV accumulator vectors to C(m0.., n0..), the first nc columns of them.
  template <int R, int NV>
  static TK_INLINE void storeTile(const C &c, int64_t m0, int64_t n0, int64_t nc, V (&acc)[R][NV], bool first) {
    Cp scale = c.oldScale(first);
    if (nc == NV * L) {
      staticFor<R>([&](auto i) TK_LAMBDA_INLINE {
        staticFor<NV>([&](auto j) TK_LAMBDA_INLINE { c.putVec(c.p + (m0 + i) * c.ldc + n0 + j * L, acc[i][j], scale); });
      });
    } else {
      staticFor<R>([&](auto i) TK_LAMBDA_INLINE {
        Cp t[NV * L];
        staticFor<NV>([&](auto j) TK_LAMBDA_INLINE { storeVec(t + j * L, acc[i][j]); });
        TC *dst = c.p + (m0 + i) * c.ldc + n0;
        for (int64_t j = 0; j < nc; ++j) c.put(dst + j, t[j], scale);
      });
    }
  }

  /// The micro-kernel against every panel of the packed block (nb columns from n0), for rows m0 .. m0+R.
  template <int R>
  static TK_INLINE void rowTiles(const A &a, const C &c, int64_t m0, int64_t n0, int64_t nb, int64_t k0, int64_t kc,
                                 const Cp *bp, bool first) {
    for (int64_t p = 0; p * NR < nb; ++p) {
      V acc[R][NRV] = {};
      microKernel<R>(a, m0, k0, kc, bp + p * kc * NR, acc);
      storeTile<R, NRV>(c, m0, n0 + p * NR, minI(NR, nb - p * NR), acc, first);
    }
  }

  static TK_INLINE void tiledItem(const A &a, const B &b, const C &c, int64_t K, int64_t m0, int64_t m1, int64_t n0,
                                  int64_t n1) {
    alignas(64) Cp bp[KC * NR * T::ItemPanels];
    int64_t nb = n1 - n0;
    // One pass even when K == 0, so that C still gets beta * C.
    for (int64_t k0 = 0;; k0 += KC) {
      int64_t kc = minI(KC, K - k0);
      bool first = k0 == 0;
      packB(b, bp, k0, kc, n0, nb);
      int64_t m = m0;
      for (; m + MR <= m1; m += MR) rowTiles<MR>(a, c, m, n0, nb, k0, kc, bp, first);
      if (m < m1)
        dispatchRows<1, MR>(m1 - m, [&](auto r) TK_LAMBDA_INLINE {
          rowTiles<decltype(r)::value>(a, c, m, n0, nb, k0, kc, bp, first);
        });
      if (k0 + KC >= K) break;
    }
  }

  // ---- Rows: M == 1, B(k, n) = B[k*sbk + n] ----------------------------------------------------------

  /// Adds the R rows av[r] * rows[r][0 .. w) to acc[0 .. w), which starts at 0 when Init; when Final the sums
  /// go through the epilogue to C (columns n0 ..) instead. Prefetches the rows `ahead` elements further.
  /// (Starting and ending in the same pass avoids a zero-fill and a copy, which LLVM would make memset and
  /// memcpy calls.)
  template <int R, bool Init, bool Final>
  static TK_INLINE void addRows(Cp *acc, int64_t w, const Cp (&av)[R], const TB *const (&rows)[R], int64_t ahead,
                                const C &c, int64_t n0) {
    Cp scale = c.oldScale(true);
    int64_t j = 0;
    for (; j + L <= w; j += L) {
      V s = {};
      if constexpr (!Init) loadVec(s, acc + j);
      staticFor<R>([&](auto r) TK_LAMBDA_INLINE {
        V x;
        loadVec(x, rows[r] + j);
        s += av[r] * x;
        __builtin_prefetch(rows[r] + ahead + j);
      });
      if constexpr (Final) c.putVec(c.p + n0 + j, s, scale);
      else storeVec(acc + j, s);
    }
    for (; j < w; ++j) {
      Cp s = Init ? Cp(0) : acc[j];
      staticFor<R>([&](auto r) TK_LAMBDA_INLINE { s += av[r] * Cp(rows[r][j]); });
      if constexpr (Final) c.put(c.p + n0 + j, s, scale);
      else acc[j] = s;
    }
  }

  /// Rows k .. k+R of the GEMV, the first (Init) and/or the last (Final) of them as the runtime flags say.
  template <int R>
  static TK_INLINE void rowsPass(const A &a, const B &b, const C &c, Cp *acc, int64_t k, int64_t n0, int64_t w,
                                 bool init, bool final) {
    Cp av[R];
    const TB *rows[R];
    staticFor<R>([&](auto r) TK_LAMBDA_INLINE {
      av[r] = Cp(a.p[(k + r) * a.sak]);
      rows[r] = b.p + (k + r) * b.sbk + n0;
    });
    int64_t ahead = T::GemvPrefetch * b.sbk;
    if (init && final) addRows<R, true, true>(acc, w, av, rows, ahead, c, n0);
    else if (init) addRows<R, true, false>(acc, w, av, rows, ahead, c, n0);
    else if (final) addRows<R, false, true>(acc, w, av, rows, ahead, c, n0);
    else addRows<R, false, false>(acc, w, av, rows, ahead, c, n0);
  }

  static TK_INLINE void rowsItem(const A &a, const B &b, const C &c, int64_t K, int64_t n0, int64_t n1) {
    constexpr int GR = T::GemvRows;
    alignas(64) Cp acc[T::GemvCols];
    int64_t w = n1 - n0, full = K / GR * GR;
    if (K == 0) {
      Cp scale = c.oldScale(true);
      for (int64_t j = 0; j < w; ++j) c.put(c.p + n0 + j, Cp(0), scale);
    }
    for (int64_t k = 0; k < full; k += GR) rowsPass<GR>(a, b, c, acc, k, n0, w, k == 0, k + GR == K);
    for (int64_t k = full; k < K; ++k) rowsPass<1>(a, b, c, acc, k, n0, w, k == 0, k + 1 == K);
  }

  // ---- Dots: M == 1, A[k] and B(k, n) = B[n*sbn + k] contiguous in k ----------------------------------

  template <int NC> static TK_INLINE void dotColumns(const A &a, const B &b, const C &c, int64_t K, int64_t n) {
    const TB *col[NC];
    staticFor<NC>([&](auto j) TK_LAMBDA_INLINE { col[j] = b.p + (n + j) * b.sbn; });
    V acc[NC][2] = {};
    int64_t k = 0;
    for (; k + 2 * L <= K; k += 2 * L) {
      V a0, a1;
      loadVec(a0, a.p + k);
      loadVec(a1, a.p + k + L);
      staticFor<NC>([&](auto j) TK_LAMBDA_INLINE {
        V b0, b1;
        loadVec(b0, col[j] + k);
        loadVec(b1, col[j] + k + L);
        acc[j][0] += a0 * b0;
        acc[j][1] += a1 * b1;
      });
    }
    if (k + L <= K) {
      V a0;
      loadVec(a0, a.p + k);
      staticFor<NC>([&](auto j) TK_LAMBDA_INLINE {
        V b0;
        loadVec(b0, col[j] + k);
        acc[j][0] += a0 * b0;
      });
      k += L;
    }
    Cp scale = c.oldScale(true);
    staticFor<NC>([&](auto j) TK_LAMBDA_INLINE {
      V both = acc[j][0] + acc[j][1];
      Cp s = sumLanes<Cp>(both);
      for (int64_t kk = k; kk < K; ++kk) s += Cp(a.p[kk]) * Cp(col[j][kk]);
      c.put(c.p + n + j, s, scale);
    });
  }

  static TK_INLINE void dotsItem(const A &a, const B &b, const C &c, int64_t K, int64_t n0, int64_t n1) {
    int64_t n = n0;
    for (; n + 4 <= n1; n += 4) dotColumns<4>(a, b, c, K, n);
    for (; n < n1; ++n) dotColumns<1>(a, b, c, K, n);
  }

  // ---- Entry ------------------------------------------------------------------------------------------

  static TK_INLINE void run(const A &a, const B &b, const C &c, int64_t M, int64_t N, int64_t K, int64_t begin,
                            int64_t end) {
    Plan p = plan(M, N, K, a.sak, b.sbk, b.sbn);
    for (int64_t item = begin; item < end; ++item) {
      int64_t im = item / p.nn, in = item % p.nn;
      if constexpr (kPlain) {
        if (p.path != Tiled) {
          int64_t n0 = in * p.cols, n1 = minI(N, n0 + p.cols);
          if (p.path == Rows) rowsItem(a, b, c, K, n0, n1);
          else dotsItem(a, b, c, K, n0, n1);
          continue;
        }
      }
      int64_t m0 = im * p.mb, m1 = minI(M, m0 + p.mb);
      int64_t n0 = in * p.panels / p.nn * NR, n1 = minI(N, (in + 1) * p.panels / p.nn * NR);
      tiledItem(a, b, c, K, m0, m1, n0, n1);
    }
  }
};

} // namespace tk

#endif // TERNC_CODEGEN_KERNELS_GEMMCORE_H
