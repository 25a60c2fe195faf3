// KernelMath.h: branch-free f32 exp, log, tanh, sigmoid, erf, sin and cos for the kernel library.
//
// Each is a range reduction plus a polynomial whose coefficients were fitted (near-minimax, relative error)
// for this library; special values are fixed up with selects, never branches, so loops calling them
// vectorize. Accuracy (checked in tests/unit/KernelsTest.cpp against libm): a few ulp over the whole range;
// sin and cos reduce exactly for |x| < 2^20 * pi/2 and only promise results in [-1, 1] beyond. expF64 and
// logF64 (for the f64 kernels) are the same schemes with longer polynomials, to about 1 ulp of double.
#ifndef TERNC_CODEGEN_KERNELS_KERNELMATH_H
#define TERNC_CODEGEN_KERNELS_KERNELMATH_H

#include "KernelSupport.h"

namespace tk {

constexpr float kInf = __builtin_inff();
constexpr float kNaN = __builtin_nanf("");
/// ln 2 as a 9-bit head (so n * head is exact for |n| < 2^15) plus a tail.
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;

/// RoPE, rotate-half (ir/ops/State.cpp): out = x * cos + [-x[D/2:], x[:D/2]] * sin over one row of D (even),
/// each product and the sum rounded to f32 as the exporter's Mul, Neg, Concat and Add.
TK_INLINE void ropeRow(const float *x, const float *cos, const float *sin, float *out, int64_t D) {
  TK_NO_CONTRACT
  int64_t half = D / 2;
  for (int64_t d = 0; d < half; ++d) {
    float a = x[d] * cos[d], b = -x[d + half] * sin[d];
    out[d] = a + b;
  }
  for (int64_t d = half; d < D; ++d) {
    float a = x[d] * cos[d], b = x[d - half] * sin[d];
    out[d] = a + b;
  }
}

TK_INLINE float absF32(float x) { return floatFromBits(floatBits(x) & 0x7fffffffu); }
TK_INLINE float copySignF32(float mag, float sign) {
  return floatFromBits((floatBits(mag) & 0x7fffffffu) | (floatBits(sign) & 0x80000000u));
}

/// e^x. x = n ln2 + r with |r| <= ln2/2; e^r = 1 + r + r^2 P(r); the result is scaled by 2^n in two steps
/// so that subnormal results round once and overflow gives inf. NaN propagates through the arithmetic.
TK_INLINE float expF32(float x) {
  // Beyond these e^x is inf or 0 anyway; clamping keeps n in [-150, 128]. NaN fails both tests and stays.
  float xc = x > 88.8f ? 88.8f : x;
  xc = xc < -104.0f ? -104.0f : xc;
  const float round = 12582912.0f; // 1.5 * 2^23: adding it rounds to an integer in the low mantissa bits
  float t = xc * 1.44269504f + round;
  float n = t - round;
  int32_t ni = int32_t(floatBits(t) - floatBits(round));
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.381459995e-03f;
  p = p * r + 8.368715644e-03f;
  p = p * r + 4.166838899e-02f;
  p = p * r + 1.666652113e-01f;
  p = p * r + 4.999999404e-01f;
  p = 1.0f + (r + r * r * p);
  int32_t n1 = ni >> 1, n2 = ni - n1;
  float s1 = floatFromBits(uint32_t(n1 + 127) << 23), s2 = floatFromBits(uint32_t(n2 + 127) << 23);
  return p * s1 * s2;
}

/// Natural log. x = 2^e m with m in [sqrt(1/2), sqrt(2)); with f = m - 1 and s = f / (2 + f),
/// log(m) = 2 atanh(s) = f - (f^2/2 - s (f^2/2 + R(s^2))).
TK_INLINE float logF32(float x) {
  uint32_t ix = floatBits(x);
  bool subnormal = ix < 0x00800000u; // also +0, fixed up below
  float xs = subnormal ? x * 8388608.0f : x;
  int32_t ebias = subnormal ? -23 : 0;
  uint32_t t = floatBits(xs) - 0x3f3504f3u; // bits of sqrt(1/2)
  int32_t e = int32_t(t) >> 23;
  float m = floatFromBits((t & 0x007fffffu) + 0x3f3504f3u);
  float f = m - 1.0f;
  float s = f / (2.0f + f);
  float z = s * s;
  float R = z * (6.666681767e-01f + z * (3.997348845e-01f + z * 2.996434271e-01f));
  float hfsq = 0.5f * f * f;
  float ef = float(e + ebias);
  float res = ef * kLn2Hi + (f - (hfsq - (s * (hfsq + R) + ef * kLn2Lo)));
  res = x == 0.0f ? -kInf : res;
  res = x < 0.0f ? kNaN : res;
  res = x == kInf ? kInf : res;
  return x != x ? x : res;
}

/// tanh: an odd polynomial below 0.625, else 1 - 2 / (e^{2|x|} + 1) (which saturates to 1 as e^{2|x|}
/// overflows); NaN takes the second path and stays NaN.
TK_INLINE float tanhF32(float x) {
  float a = absF32(x);
  float z = x * x;
  float p = 2.142958809e-03f;
  p = p * z - 8.177394979e-03f;
  p = p * z + 2.170070074e-02f;
  p = p * z - 5.394676328e-02f;
  p = p * z + 1.333320588e-01f;
  p = p * z - 3.333333135e-01f;
  float small = copySignF32(x + x * z * p, x); // keeps tanh(-0) = -0
  float large = copySignF32(1.0f - 2.0f / (expF32(2.0f * a) + 1.0f), x);
  return a < 0.625f ? small : large;
}

/// 1 / (1 + e^-x), computed from e^-|x| so that neither tail overflows or cancels.
TK_INLINE float sigmoidF32(float x) {
  float e = expF32(-absF32(x));
  return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

/// erf: x P(x^2) below 1; above, 1 - e^{-x^2} g(1/|x|) with g fitted to erfc(x) e^{x^2}; 1 from 3.93 on,
/// where erfc is below half an ulp of 1.
TK_INLINE float erfF32(float x) {
  float a = absF32(x);
  float z = x * x;
  float p = 7.889119297e-05f;
  p = p * z - 8.020841051e-04f;
  p = p * z + 5.189535208e-03f;
  p = p * z - 2.685444430e-02f;
  p = p * z + 1.128360033e-01f;
  p = p * z - 3.761262596e-01f;
  p = p * z + 1.128379107e+00f;
  float small = x * p;
  float u = 1.0f / a;
  float g = 7.047563791e-03f;
  g = g * u - 5.995216593e-02f;
  g = g * u + 2.280340493e-01f;
  g = g * u - 5.066763759e-01f;
  g = g * u + 7.075755596e-01f;
  g = g * u - 5.768731833e-01f;
  g = g * u + 7.424192131e-02f;
  g = g * u + 5.535078049e-01f;
  g = g * u + 6.784212310e-04f;
  float large = 1.0f - expF32(-z) * g;
  large = a > 3.93f ? 1.0f : large;
  return a < 1.0f ? small : copySignF32(large, x);
}

/// sin (cosine = true: cos) of x. x = n pi/2 + r, reduced in double with pi/2 split into a 33-bit head
/// (n * head exact for |n| < 2^20) and a tail; then sin or cos of r by polynomials on [-pi/4, pi/4] and the
/// quadrant n mod 4. Infinities and NaN give NaN.
template <bool Cosine> TK_INLINE float sinCosF32(float x) {
  double xd = x;
  const double round = 6755399441055744.0; // 1.5 * 2^52
  double t = xd * 0.6366197723675814 + round;
  double n = t - round;
  uint32_t q = uint32_t(bitCast<uint64_t>(t) - bitCast<uint64_t>(round)) + (Cosine ? 1u : 0u);
  double rd = xd - n * 1.5707963267341256;
  rd = rd - n * 6.077100506506192e-11;
  float r = float(rd);
  float z = r * r;
  float s = 2.718311634e-06f;
  s = s * z - 1.983933471e-04f;
  s = s * z + 8.333329111e-03f;
  s = s * z - 1.666666716e-01f;
  s = copySignF32(r + r * z * s, r); // keeps sin(-0) = -0
  float c = -2.721023691e-07f;
  c = c * z + 2.479951945e-05f;
  c = c * z - 1.388888340e-03f;
  c = c * z + 4.166666791e-02f;
  c = 1.0f - 0.5f * z + z * z * c;
  float res = (q & 1u) ? c : s;
  res = (q & 2u) ? -res : res;
  // Past exact reduction r can be anything; keep the result a sine at least (NaN fails both tests).
  res = res > 1.0f ? 1.0f : res;
  return res < -1.0f ? -1.0f : res;
}

TK_INLINE uint64_t doubleBits(double d) { return bitCast<uint64_t>(d); }
TK_INLINE double doubleFromBits(uint64_t u) { return bitCast<double>(u); }

/// e^x in double, as expF32: x = n ln2 + r (ln2 as a 21-bit head and a tail), e^r = 1 + r + r^2 P(r).
TK_INLINE double expF64(double x) {
  double xc = x > 710.0 ? 710.0 : x;
  xc = xc < -746.0 ? -746.0 : xc;
  const double round = 6755399441055744.0; // 1.5 * 2^52
  double t = xc * 1.4426950408889634 + round;
  double n = t - round;
  int64_t ni = int64_t(doubleBits(t) - doubleBits(round));
  double r = xc - n * 0.6931467056274414;
  r = r - n * 4.7493250390316726e-07;
  double p = 2.5000080062641922e-08;
  p = p * r + 2.763023510421109e-07;
  p = p * r + 2.755758624818923e-06;
  p = p * r + 2.4801493132647698e-05;
  p = p * r + 0.00019841269506790164;
  p = p * r + 0.001388888894360135;
  p = p * r + 0.008333333333494335;
  p = p * r + 0.04166666666653025;
  p = p * r + 0.16666666666666413;
  p = p * r + 0.5000000000000011;
  p = 1.0 + (r + r * r * p);
  int64_t n1 = ni >> 1, n2 = ni - n1;
  double s1 = doubleFromBits(uint64_t(n1 + 1023) << 52), s2 = doubleFromBits(uint64_t(n2 + 1023) << 52);
  return p * s1 * s2;
}

/// Natural log in double, as logF32.
TK_INLINE double logF64(double x) {
  uint64_t ix = doubleBits(x);
  bool subnormal = ix < 0x0010000000000000ull;
  double xs = subnormal ? x * 4503599627370496.0 : x; // 2^52
  int64_t ebias = subnormal ? -52 : 0;
  uint64_t t = doubleBits(xs) - 0x3fe6a09e667f3bcdull; // bits of sqrt(1/2)
  int64_t e = int64_t(t) >> 52;
  double m = doubleFromBits((t & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull);
  double f = m - 1.0;
  double s = f / (2.0 + f);
  double z = s * s;
  double R = 0.14871496814244567;
  R = R * z + 0.1530598989493013;
  R = R * z + 0.18183904641979787;
  R = R * z + 0.22222191384854476;
  R = R * z + 0.28571428821117667;
  R = R * z + 0.3999999999900174;
  R = R * z + 0.6666666666666812;
  R = R * z;
  double hfsq = 0.5 * f * f;
  double ef = double(e + ebias);
  double res = ef * 0.6931467056274414 + (f - (hfsq - (s * (hfsq + R) + ef * 4.7493250390316726e-07)));
  const double inf = __builtin_inf();
  res = x == 0.0 ? -inf : res;
  res = x < 0.0 ? __builtin_nan("") : res;
  res = x == inf ? inf : res;
  return x != x ? x : res;
}

/// exp and log in a kernel's compute type.
TK_INLINE float expOf(float x) { return expF32(x); }
TK_INLINE double expOf(double x) { return expF64(x); }
TK_INLINE float logOf(float x) { return logF32(x); }
TK_INLINE double logOf(double x) { return logF64(x); }
TK_INLINE float sqrtOf(float x) { return __builtin_sqrtf(x); }
TK_INLINE double sqrtOf(double x) { return __builtin_sqrt(x); }

} // namespace tk

#endif // TERNC_CODEGEN_KERNELS_KERNELMATH_H
