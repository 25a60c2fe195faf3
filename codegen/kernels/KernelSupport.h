// KernelSupport.h: private helpers of the kernel library — forced inlining, reassociation pragmas, bit casts,
// fixed-width SIMD vector types and the f16/bf16 conversions every kernel shares.
//
// Everything here compiles to plain LLVM IR with no libc calls, so that codegen can inline the kernels into
// a model and vectorize them for the model's CPU. The kernels include no C or C++ library headers besides
// the compiler's own <stdint.h> and <stddef.h>, so the bitcode builds for any triple without a sysroot
// (with -nostdlibinc).
#ifndef TERNC_CODEGEN_KERNELS_KERNELSUPPORT_H
#define TERNC_CODEGEN_KERNELS_KERNELSUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// Forces inlining, so a kernel called with constant shapes specializes all the way down.
#define TK_INLINE inline __attribute__((always_inline))
/// The same for a lambda: `[&](auto i) TK_LAMBDA_INLINE { ... }`.
#define TK_LAMBDA_INLINE __attribute__((always_inline))

/// At the start of a block: lets clang reassociate the block's float additions, so reductions vectorize
/// (GCC, used only for the native unit tests, gets plain loops).
#ifdef __clang__
#define TK_REASSOCIATE _Pragma("clang fp reassociate(on)")
#else
#define TK_REASSOCIATE
#endif

/// At the start of a block: no FMA contraction in it, so each product rounds to f32 as the IR's Mul does.
#ifdef __clang__
#define TK_NO_CONTRACT _Pragma("clang fp contract(off)")
#else
#define TK_NO_CONTRACT
#endif

/// Bytes per SIMD register the register-blocked kernels are tiled for: 64 for AVX-512 (the default), 32 for
/// AVX2, 16 for NEON. The bitcode is compiled without -march, so the build passes this per target
/// (-DTK_VECTOR_BYTES=32); any value is correct everywhere, only the speed differs.
#ifndef TK_VECTOR_BYTES
#define TK_VECTOR_BYTES 64
#endif

namespace tk {

template <typename To, typename From> TK_INLINE To bitCast(From v) {
  static_assert(sizeof(To) == sizeof(From));
  return __builtin_bit_cast(To, v);
}

TK_INLINE uint32_t floatBits(float f) { return bitCast<uint32_t>(f); }
TK_INLINE float floatFromBits(uint32_t u) { return bitCast<float>(u); }

/// A GCC/clang vector of TK_VECTOR_BYTES bytes of T; the SIMD width of the tiled kernels.
template <typename T> struct VecOf;
#define TK_VEC(T)                                                                                            \
  template <> struct VecOf<T> {                                                                              \
    typedef T type __attribute__((vector_size(TK_VECTOR_BYTES)));                                            \
  };
TK_VEC(float)
TK_VEC(double)
TK_VEC(uint32_t)
TK_VEC(uint64_t)
#undef TK_VEC
template <typename T> using Vec = typename VecOf<T>::type;
template <typename T> constexpr int kLanes = TK_VECTOR_BYTES / int(sizeof(T));

/// Unaligned vector load and store (constant-size copies lower to one load / store). Vectors are passed by
/// reference only: by value their ABI would depend on the target's SIMD width.
template <typename V, typename T> TK_INLINE void loadVec(V &v, const T *p) { __builtin_memcpy(&v, p, sizeof(V)); }
template <typename V, typename T> TK_INLINE void storeVec(T *p, const V &v) { __builtin_memcpy(p, &v, sizeof(V)); }

/// A compile-time int (like std::integral_constant, which would need <type_traits>).
template <int I> struct Index {
  static constexpr int value = I;
  constexpr operator int() const { return I; }
};

/// A pack of ints 0 .. N-1 (like std::make_integer_sequence, from the compilers' builtins).
template <typename T, T... I> struct IntSeq {};
#ifdef __clang__
template <int N> using MakeIntSeq = __make_integer_seq<IntSeq, int, N>;
#else
template <int N> using MakeIntSeq = IntSeq<int, __integer_pack(N)...>;
#endif

template <typename T> inline constexpr bool kIsFloat = false;
template <> inline constexpr bool kIsFloat<float> = true;
template <> inline constexpr bool kIsFloat<double> = true;

/// Calls f(Index<I>()) for I = 0..N-1, unrolled at compile time so arrays indexed by I
/// stay in registers (the bitcode is compiled with -fno-unroll-loops).
template <int I, int N, typename F> TK_INLINE void staticFor(F &&f) {
  if constexpr (I < N) {
    f(Index<I>());
    staticFor<I + 1, N>(f);
  }
}
template <int N, typename F> TK_INLINE void staticFor(F &&f) { staticFor<0, N>(f); }

// ---- f16 / bf16 (round to nearest even; bit-identical to ternc's interpreter) ------------------------------

/// IEEE half to float; exact. Branch-free so loads of f16 tensors vectorize.
TK_INLINE float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t bits = uint32_t(h & 0x7fffu) << 13; // exponent and mantissa in float position
  uint32_t exp = bits & 0x0f800000u;
  uint32_t normal = bits + ((127u - 15u) << 23);
  // Inf/NaN: the exponent becomes 0xff, the mantissa (NaN payload) is kept.
  uint32_t special = bits | 0x7f800000u;
  // Subnormal: value = mant * 2^-24, computed exactly as (2^-14 + mant * 2^-24) - 2^-14.
  float sub = floatFromBits(bits + (113u << 23)) - floatFromBits(113u << 23);
  // Selected with masks, not `?:`: LLVM turns two tests of one value into a switch, which keeps the loops that
  // convert a row from vectorizing (the decode attention over an f16 KV cache).
  uint32_t isSpecial = 0u - ((exp + 0x00800000u) >> 28); // all ones iff exp == 0x0f800000
  uint32_t isZero = 0u - ((exp - 1u) >> 31);              // all ones iff exp == 0
  uint32_t r = (special & isSpecial) | (floatBits(sub) & isZero) | (normal & ~(isSpecial | isZero));
  return floatFromBits(sign | r);
}

/// Float to IEEE half, round to nearest even; overflow gives inf, NaN stays a quiet NaN with the payload's
/// top bits. Branch-free.
TK_INLINE uint16_t floatToHalf(float f) {
  uint32_t x = floatBits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t a = x & 0x7fffffffu;
  // Normal results: rebias the exponent and round the 13 dropped bits to nearest even (a carry into the
  // exponent is the correct rounding, up to inf).
  uint32_t normal = (a - ((127u - 15u) << 23) + 0xfffu + ((a >> 13) & 1u)) >> 13;
  // Subnormal results (|f| < 2^-14): adding 0.5 (whose ulp is 2^-24, the half subnormal step) makes the FPU
  // round to nearest even at the right bit; the low bits are then the half's mantissa.
  uint32_t sub = floatBits(floatFromBits(a) + 0.5f) - 0x3f000000u;
  uint32_t nan = 0x7e00u | ((a >> 13) & 0x3ffu);
  uint32_t r = a > 0x7f800000u ? nan : a >= 0x47800000u ? 0x7c00u : a < 0x38800000u ? sub : normal;
  return uint16_t(sign | r);
}

TK_INLINE float bf16ToFloat(uint16_t h) { return floatFromBits(uint32_t(h) << 16); }

/// Float to bfloat16, round to nearest even; NaN stays a quiet NaN.
TK_INLINE uint16_t floatToBF16(float f) {
  uint32_t x = floatBits(f);
  uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
  return uint16_t((x & 0x7fffffffu) > 0x7f800000u ? (x >> 16) | 0x40u : rounded);
}

/// How a stored element type is computed on: f16/bf16 (uint16_t bit patterns) in f32, everything else as
/// itself. `Half` and `BFloat` tag the two 16-bit float formats, which share a storage type.
struct Half {};
struct BFloat {};
template <typename Tag> struct Elem {
  using Storage = Tag;
  using Compute = Tag;
  static TK_INLINE Compute load(const Storage *p, int64_t i) { return p[i]; }
  static TK_INLINE void store(Storage *p, int64_t i, Compute v) { p[i] = v; }
};
template <> struct Elem<Half> {
  using Storage = uint16_t;
  using Compute = float;
  static TK_INLINE float load(const uint16_t *p, int64_t i) { return halfToFloat(p[i]); }
  static TK_INLINE void store(uint16_t *p, int64_t i, float v) { p[i] = floatToHalf(v); }
};
template <> struct Elem<BFloat> {
  using Storage = uint16_t;
  using Compute = float;
  static TK_INLINE float load(const uint16_t *p, int64_t i) { return bf16ToFloat(p[i]); }
  static TK_INLINE void store(uint16_t *p, int64_t i, float v) { p[i] = floatToBF16(v); }
};

/// The bits of a float format (f32, f64, Half, BFloat) as a signed integer key whose order is the values'
/// order (negative values have their magnitude bits flipped), so that max/min over floats are integer
/// max/min, which vectorize as reductions without fast-math flags. NaNs get keys beyond +-inf.
template <typename Tag> struct FloatKey;
#define TK_FLOAT_KEY(Tag, BitsT, KeyT, MagMask, Inf)                                                          \
  template <> struct FloatKey<Tag> {                                                                         \
    using Bits = BitsT;                                                                                      \
    using Key = KeyT;                                                                                        \
    static constexpr Bits kMag = MagMask, kInf = Inf;                                                        \
    static TK_INLINE Key key(Bits b) {                                                                       \
      Key k = Key(b);                                                                                        \
      return Key(k ^ Key((k >> (8 * sizeof(Key) - 1)) & Key(kMag)));                                        \
    }                                                                                                        \
    static TK_INLINE Bits bits(Key k) { return Bits(key(Bits(k))); } /* the map is its own inverse */       \
    static TK_INLINE bool isNaN(Bits b) { return Bits(b & kMag) > kInf; }                                  \
  };
TK_FLOAT_KEY(float, uint32_t, int32_t, 0x7fffffffu, 0x7f800000u)
TK_FLOAT_KEY(double, uint64_t, int64_t, 0x7fffffffffffffffull, 0x7ff0000000000000ull)
TK_FLOAT_KEY(Half, uint16_t, int16_t, 0x7fffu, 0x7c00u)
TK_FLOAT_KEY(BFloat, uint16_t, int16_t, 0x7fffu, 0x7f80u)
#undef TK_FLOAT_KEY

/// The raw bits of element i of a float tensor (f16/bf16 storage already is bits).
template <typename Tag> TK_INLINE typename FloatKey<Tag>::Bits floatBitsAt(const typename Elem<Tag>::Storage *p,
                                                                          int64_t i) {
  return bitCast<typename FloatKey<Tag>::Bits>(p[i]);
}

/// The value of float bits b in Tag's compute type.
template <typename Tag> TK_INLINE typename Elem<Tag>::Compute floatOfBits(typename FloatKey<Tag>::Bits b) {
  typename Elem<Tag>::Storage s = bitCast<typename Elem<Tag>::Storage>(b);
  return Elem<Tag>::load(&s, 0);
}

/// The key of -inf (Neg) or +inf.
template <typename Tag, bool Neg> TK_INLINE typename FloatKey<Tag>::Key infKey() {
  using FK = FloatKey<Tag>;
  return FK::key(typename FK::Bits(Neg ? FK::kInf | ~FK::kMag : FK::kInf));
}

TK_INLINE int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
TK_INLINE int64_t minI(int64_t a, int64_t b) { return a < b ? a : b; }
TK_INLINE int64_t maxI(int64_t a, int64_t b) { return a > b ? a : b; }

} // namespace tk

#endif // TERNC_CODEGEN_KERNELS_KERNELSUPPORT_H
