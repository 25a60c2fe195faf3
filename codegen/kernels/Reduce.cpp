// Reduce.cpp: tk_reduce_{sum,mean,max,min}_* over the middle axis of [outer, r, inner] into [outer, inner].
#include "Kernels.h"
#include "KernelSupport.h"

namespace {
using namespace tk;

enum class Kind { Sum, Mean, Max, Min };

template <typename T> struct Unsigned;
template <> struct Unsigned<int8_t> { using type = uint8_t; };
template <> struct Unsigned<uint8_t> { using type = uint8_t; };
template <> struct Unsigned<int16_t> { using type = uint16_t; };
template <> struct Unsigned<uint16_t> { using type = uint16_t; };
template <> struct Unsigned<int32_t> { using type = uint32_t; };
template <> struct Unsigned<uint32_t> { using type = uint32_t; };
template <> struct Unsigned<int64_t> { using type = uint64_t; };
template <> struct Unsigned<uint64_t> { using type = uint64_t; };
template <typename T> constexpr bool kIsSigned = T(-1) < T(0);

/// How one reduction accumulates Tag elements: `Acc` per output, `init()`, `step(acc, x, i)` for element i
/// of x, and `finish(acc, r)` into the stored type. Every `step` is a plain add or an integer max/min, so
/// loops of them vectorize (float sums with reassociation, see run()).
template <typename Tag, Kind K, bool Float = kIsFloat<typename Elem<Tag>::Compute>> struct Reducer;

/// Float sum and mean: in f32 (f64 for f64); the mean of nothing is 0/0 = NaN.
template <typename Tag, Kind K> struct Reducer<Tag, K, true> {
  static_assert(K == Kind::Sum || K == Kind::Mean);
  using E = Elem<Tag>;
  using S = typename E::Storage;
  using Acc = typename E::Compute;
  static TK_INLINE Acc init() { return Acc(0); }
  static TK_INLINE Acc step(Acc a, const S *x, int64_t i) {
    TK_REASSOCIATE // lets the loops calling this vectorize the sum
    return a + E::load(x, i);
  }
  static TK_INLINE void finish(S *y, int64_t i, Acc a, int64_t r) { E::store(y, i, K == Kind::Mean ? a / Acc(r) : a); }
};

/// Float max and min on ordered integer keys (FloatKey), with NaN mapped to the winning extreme so that it
/// propagates; the extreme key decodes to a NaN again.
template <typename Tag, Kind K> struct FloatExtreme {
  using FK = FloatKey<Tag>;
  using S = typename Elem<Tag>::Storage;
  using Acc = typename FK::Key;
  static constexpr bool kMax = K == Kind::Max;
  static constexpr Acc kNaNKey = kMax ? Acc(typename Unsigned<Acc>::type(-1) >> 1) : Acc(~(typename Unsigned<Acc>::type(-1) >> 1));
  static TK_INLINE Acc init() { return infKey<Tag, kMax>(); }
  static TK_INLINE Acc step(Acc a, const S *x, int64_t i) {
    typename FK::Bits b = floatBitsAt<Tag>(x, i);
    Acc k = FK::isNaN(b) ? kNaNKey : FK::key(b);
    if constexpr (kMax) return k > a ? k : a;
    else return k < a ? k : a;
  }
  static TK_INLINE void finish(S *y, int64_t i, Acc a, int64_t) { y[i] = bitCast<S>(FK::bits(a)); }
};
template <typename Tag> struct Reducer<Tag, Kind::Max, true> : FloatExtreme<Tag, Kind::Max> {};
template <typename Tag> struct Reducer<Tag, Kind::Min, true> : FloatExtreme<Tag, Kind::Min> {};

/// Integer sum: wraps in the type's width.
template <typename T> struct Reducer<T, Kind::Sum, false> {
  using Acc = typename Unsigned<T>::type;
  static TK_INLINE Acc init() { return 0; }
  static TK_INLINE Acc step(Acc a, const T *x, int64_t i) { return Acc(a + Acc(x[i])); }
  static TK_INLINE void finish(T *y, int64_t i, Acc a, int64_t) { y[i] = T(a); }
};

/// Integer mean: a 64-bit (wrapping) sum divided by r, truncated toward zero; 0 when r == 0.
template <typename T> struct Reducer<T, Kind::Mean, false> {
  using Acc = uint64_t;
  static TK_INLINE Acc init() { return 0; }
  static TK_INLINE Acc step(Acc a, const T *x, int64_t i) { return a + Acc(x[i]); }
  static TK_INLINE void finish(T *y, int64_t i, Acc a, int64_t r) {
    if (r <= 0) y[i] = T(0);
    else if constexpr (kIsSigned<T>) y[i] = T(int64_t(a) / r);
    else y[i] = T(a / uint64_t(r));
  }
};

/// Integer max and min; nothing reduces to the type's lowest (max) or highest (min) value.
template <typename T, Kind K> struct IntExtreme {
  using Acc = T;
  static constexpr bool kMax = K == Kind::Max;
  static TK_INLINE Acc init() {
    using U = typename Unsigned<T>::type;
    U high = kIsSigned<T> ? U(U(-1) >> 1) : U(-1);
    return kMax ? T(~high) : T(high); // ~highest is the lowest for both
  }
  static TK_INLINE Acc step(Acc a, const T *x, int64_t i) {
    if constexpr (kMax) return x[i] > a ? x[i] : a;
    else return x[i] < a ? x[i] : a;
  }
  static TK_INLINE void finish(T *y, int64_t i, Acc a, int64_t) { y[i] = a; }
};
template <typename T> struct Reducer<T, Kind::Max, false> : IntExtreme<T, Kind::Max> {};
template <typename T> struct Reducer<T, Kind::Min, false> : IntExtreme<T, Kind::Min> {};

/// An item is one output (inner == 1: a contiguous run of r elements) or a block of up to IB outputs of
/// one outer slice (inner > 1: swept row by row with one accumulator per output).
template <typename Tag, Kind K> struct Reduce {
  using Rd = Reducer<Tag, K>;
  using S = typename Elem<Tag>::Storage;
  using Acc = typename Rd::Acc;
  static constexpr int64_t IB = 256;
  static constexpr int64_t MinTaskWork = 16384;

  static TK_INLINE int64_t items(int64_t outer, int64_t r, int64_t inner) {
    return outer <= 0 || inner <= 0 ? 0 : outer * ceilDiv(inner, IB);
  }
  static TK_INLINE int64_t grain(int64_t outer, int64_t r, int64_t inner) {
    return maxI(1, ceilDiv(MinTaskWork, maxI(1, r * minI(inner, IB))));
  }

  static TK_INLINE void run(const S *x, S *y, int64_t outer, int64_t r, int64_t inner, int64_t begin, int64_t end) {
    int64_t blocks = ceilDiv(inner, IB);
    for (int64_t item = begin; item < end; ++item) {
      int64_t o = item / blocks, i0 = item % blocks * IB;
      const S *xs = x + o * r * inner + i0;
      if (inner == 1) {
        Acc a = Rd::init();
        for (int64_t j = 0; j < r; ++j) a = Rd::step(a, xs, j);
        Rd::finish(y, o, a, r);
        continue;
      }
      int64_t w = minI(IB, inner - i0);
      // The first two rows start the accumulators and the last finishes straight into y: an init loop or a
      // copy loop would become a memset or memcpy call (as it still may for the degenerate r <= 1).
      S *ys = y + o * inner + i0;
      Acc acc[IB];
      if (r <= 1) {
        for (int64_t i = 0; i < w; ++i) Rd::finish(ys, i, r == 0 ? Rd::init() : Rd::step(Rd::init(), xs, i), r);
        continue;
      }
      if (r == 2) {
        for (int64_t i = 0; i < w; ++i) Rd::finish(ys, i, Rd::step(Rd::step(Rd::init(), xs, i), xs + inner, i), r);
        continue;
      }
      for (int64_t i = 0; i < w; ++i) acc[i] = Rd::step(Rd::step(Rd::init(), xs, i), xs + inner, i);
      for (int64_t j = 2; j + 1 < r; ++j)
        for (int64_t i = 0; i < w; ++i) acc[i] = Rd::step(acc[i], xs + j * inner, i);
      for (int64_t i = 0; i < w; ++i) Rd::finish(ys, i, Rd::step(acc[i], xs + (r - 1) * inner, i), r);
    }
  }
};

} // namespace

#define TK_REDUCE_DEFINE(name, K, dt, Tag)                                                                     \
  int64_t tk_reduce_##name##_##dt##_items(const Elem<Tag>::Storage *x, Elem<Tag>::Storage *y, int64_t outer, \
                                          int64_t r, int64_t inner) {                                       \
    return Reduce<Tag, K>::items(outer, r, inner);                                                          \
  }                                                                                                         \
  int64_t tk_reduce_##name##_##dt##_grain(const Elem<Tag>::Storage *x, Elem<Tag>::Storage *y, int64_t outer, \
                                          int64_t r, int64_t inner) {                                       \
    return Reduce<Tag, K>::grain(outer, r, inner);                                                          \
  }                                                                                                         \
  void tk_reduce_##name##_##dt(const Elem<Tag>::Storage *x, Elem<Tag>::Storage *y, int64_t outer, int64_t r, \
                               int64_t inner, int64_t begin, int64_t end) {                                 \
    Reduce<Tag, K>::run(x, y, outer, r, inner, begin, end);                                                 \
  }
#define TK_REDUCE_DEFINE_ALL(name, K)                                                                           \
  TK_REDUCE_DEFINE(name, K, f32, float)                                                                        \
  TK_REDUCE_DEFINE(name, K, f64, double)                                                                       \
  TK_REDUCE_DEFINE(name, K, f16, Half)                                                                         \
  TK_REDUCE_DEFINE(name, K, bf16, BFloat)                                                                      \
  TK_REDUCE_DEFINE(name, K, i8, int8_t)                                                                        \
  TK_REDUCE_DEFINE(name, K, u8, uint8_t)                                                                       \
  TK_REDUCE_DEFINE(name, K, i16, int16_t)                                                                      \
  TK_REDUCE_DEFINE(name, K, u16, uint16_t)                                                                     \
  TK_REDUCE_DEFINE(name, K, i32, int32_t)                                                                      \
  TK_REDUCE_DEFINE(name, K, u32, uint32_t)                                                                     \
  TK_REDUCE_DEFINE(name, K, i64, int64_t)                                                                      \
  TK_REDUCE_DEFINE(name, K, u64, uint64_t)

extern "C" {
TK_REDUCE_DEFINE_ALL(sum, Kind::Sum)
TK_REDUCE_DEFINE_ALL(mean, Kind::Mean)
TK_REDUCE_DEFINE_ALL(max, Kind::Max)
TK_REDUCE_DEFINE_ALL(min, Kind::Min)
} // extern "C"
