// Math.cpp: the C entry points for the scalar math and f16/bf16 conversions of Kernels.h.
#include "Kernels.h"
#include "KernelMath.h"

extern "C" {

float tk_exp_f32(float x) { return tk::expF32(x); }
float tk_log_f32(float x) { return tk::logF32(x); }
float tk_tanh_f32(float x) { return tk::tanhF32(x); }
float tk_sigmoid_f32(float x) { return tk::sigmoidF32(x); }
float tk_erf_f32(float x) { return tk::erfF32(x); }
float tk_sin_f32(float x) { return tk::sinCosF32<false>(x); }
float tk_cos_f32(float x) { return tk::sinCosF32<true>(x); }

float tk_f16_to_f32(uint16_t h) { return tk::halfToFloat(h); }
uint16_t tk_f32_to_f16(float f) { return tk::floatToHalf(f); }
float tk_bf16_to_f32(uint16_t h) { return tk::bf16ToFloat(h); }
uint16_t tk_f32_to_bf16(float f) { return tk::floatToBF16(f); }

} // extern "C"
