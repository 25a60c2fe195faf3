// TernaryData: the benchmark's operands (random ternary weights, activations), its ActQuant and the scalar
// integer reference the kernels are checked against.
#pragma once

#include <cstdint>
#include <vector>

namespace ternc::bench {

/// splitmix64: the next value of the generator whose state is `state`; fast enough to fill a gigabyte of
/// weights, and deterministic across platforms.
uint64_t splitmix(uint64_t &state);

/// A random ternary matrix t[n, k] (-1, 0, +1 about equally often) from `seed`. Weight 0 of every 256-weight
/// block is +1, so each llama.cpp block's absmax scale equals the tensor scale and TQ2_0/TQ1_0 hold exactly
/// the same values as ternc's packing.
std::vector<int8_t> randomTernary(uint64_t seed, int64_t n, int64_t k);

/// Per-row, per-group weight scales [n, groups] as ternary checkpoints store them (BitCPM, TQ2_0: one per 256
/// weights of a row): `base` times 2^-1, 2^0 or 2^1, chosen at random per (row, group) from `seed`, as
/// bench/h2h/make_gguf.py does. Powers of two apart, so a group's exact integer dot times its scale, and the sum
/// of those products over a row, stay exact in double (the reference the kernels are checked against), and a
/// base exact in fp16 gives scales exact in fp16 (TQ2_0/TQ1_0's block scale).
std::vector<float> randomGroupScales(uint64_t seed, int64_t n, int64_t groups, float base);

/// `count` floats drawn from N(0, 1).
std::vector<float> randomNormal(uint64_t seed, int64_t count);

/// Per-row absmax int8 quantization as BitNet's activation quantizer does it (the cost ternc's ActQuant adds
/// before a BitLinear): s[r] = 127 / max|x[r, :]|, q = round-to-nearest-even(x * s) clamped to [-128, 127].
/// BitLinear's epilogue then divides by s (dequantMul = 0).
void actQuant(const float *x, int64_t rows, int64_t k, int8_t *q, float *s);

/// sum over i < k of q[i] * t[i], the exact integer dot the kernels must reproduce.
int32_t referenceDot(const int8_t *q, const int8_t *t, int64_t k);

} // namespace ternc::bench
