// LlmSession.cpp: see LlmSession.h.
#include "LlmSession.h"

#include <algorithm>
#include <cstring>

namespace ternc::rt {

namespace {

int32_t findInput(const ternc_model &m, const char *name) {
  for (int32_t i = 0; i < m.num_inputs; ++i)
    if (std::strcmp(m.inputs[i].name, name) == 0) return i;
  return -1;
}

int32_t findOutput(const ternc_model &m, const char *name) {
  for (int32_t i = 0; i < m.num_outputs; ++i)
    if (std::strcmp(m.outputs[i].name, name) == 0) return i;
  return -1;
}

std::string graphName(const ternc_model &m, const char *role) { return std::string(role) + " graph of '" + m.name + "'"; }

/// The input by which the compiler's select-logits pass lets the caller choose the prefill positions whose
/// logits are computed (passes/SelectLogits.cpp).
constexpr const char *kLogitPositions = "logit_positions";

void checkGraph(const ternc_model &m, const char *role) {
  if (m.abi_version != TERNC_ABI_VERSION)
    throw Error(graphName(m, role) + " has ABI version " + std::to_string(m.abi_version) + ", this runtime has " +
                std::to_string(TERNC_ABI_VERSION));
  if (findInput(m, "input_ids") < 0) throw Error(graphName(m, role) + " has no input 'input_ids'");
  for (int32_t i = 0; i < m.num_inputs; ++i) {
    std::string n = m.inputs[i].name;
    if (n == kLogitPositions) {
      if (m.inputs[i].rank != 1 || m.inputs[i].dtype != TERNC_I64)
        throw Error(graphName(m, role) + ": input " + tensorInfoText(m, m.inputs[i]) + " must be i64 of rank 1");
      continue;
    }
    if (n != "input_ids" && n != "attention_mask" && n != "position_ids")
      throw Error(graphName(m, role) + " has an input '" + n +
                  "' that generation cannot feed (it feeds input_ids, attention_mask, position_ids and " +
                  kLogitPositions + ")");
    if (m.inputs[i].rank != 2 || (m.inputs[i].dtype != TERNC_I64 && m.inputs[i].dtype != TERNC_I32))
      throw Error(graphName(m, role) + ": input " + tensorInfoText(m, m.inputs[i]) +
                  " must be i64 or i32 of rank 2 [batch, tokens]");
  }
  int32_t lo = findOutput(m, "logits");
  if (lo < 0) throw Error(graphName(m, role) + " has no output 'logits'");
  const ternc_tensor_info &l = m.outputs[lo];
  if (l.dtype != TERNC_F32 || l.rank < 2 || l.dims[l.rank - 1].num_terms != 0)
    throw Error(graphName(m, role) + ": output " + tensorInfoText(m, l) + " must be f32 with a static vocabulary");
  if (m.num_states == 0) throw Error(graphName(m, role) + " keeps no KV cache");
  if (m.past_symbol < 0) throw Error(graphName(m, role) + " does not say which symbol is the cached length");
}

/// A [1, n] id tensor of dtype i64 or i32.
HostTensor idTensor(int32_t dtype, const std::vector<int64_t> &values) {
  HostTensor t = HostTensor::zeros(dtype, {1, int64_t(values.size())});
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == TERNC_I64) reinterpret_cast<int64_t *>(t.bytes.data())[i] = values[i];
    else reinterpret_cast<int32_t *>(t.bytes.data())[i] = int32_t(values[i]);
  }
  return t;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023, bits;
  if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp == 0) {
    float v = float(man) * (1.0f / 16777216.0f);  // man * 2^-24
    return sign ? -v : v;
  } else {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

} // namespace

LlmSession::LlmSession(const ternc_llm &llm, int64_t ctxLength, int threads)
    : prefill_(*llm.prefill), decode_(*llm.decode), ctx_(ctxLength) {
  if (llm.abi_version != TERNC_ABI_VERSION)
    throw Error("the language model has ABI version " + std::to_string(llm.abi_version) + ", this runtime has " +
                std::to_string(TERNC_ABI_VERSION));
  checkGraph(prefill_, "prefill");
  checkGraph(decode_, "decode");
  if (ctxLength < 1) throw Error("--ctx must be at least 1");
  if (prefill_.num_states != decode_.num_states) throw Error("the prefill and decode graphs keep different state");
  const ternc_tensor_info &l = prefill_.outputs[findOutput(prefill_, "logits")];
  vocab_ = l.dims[l.rank - 1].value;

  stateShapeSyms_.assign(size_t(std::max(1, prefill_.num_symbols)), 0);
  if (prefill_.capacity_symbol >= 0) stateShapeSyms_[size_t(prefill_.capacity_symbol)] = ctxLength;
  for (int32_t i = 0; i < prefill_.num_states; ++i) {
    const ternc_tensor_info &s = prefill_.states[i];
    if (std::strcmp(s.name, decode_.states[i].name) != 0)
      throw Error(std::string("the prefill and decode graphs disagree on state ") + s.name);
    size_t bytes = ternc_dtype_size(s.dtype);
    for (int32_t d = 0; d < s.rank; ++d) {
      int64_t v = ternc_dim_value(&s.dims[d], stateShapeSyms_.data());
      if (v < 0 || (v > 0 && bytes > (size_t(1) << 46) / size_t(v)))
        throw Error(std::string("state ") + s.name + " is too large for a context of " + std::to_string(ctxLength));
      bytes *= size_t(v);
    }
    states_.emplace_back(std::max<size_t>(bytes, 64));
    statePtrs_.push_back(states_.back().data());
  }
  context_ = ternc_context_create(threads);
  if (!context_) throw Error("cannot create the runtime context (out of memory?)");
  ternc_context_set_states(context_, statePtrs_.data(), int32_t(statePtrs_.size()));
}

LlmSession::~LlmSession() { ternc_context_destroy(context_); }

int LlmSession::threads() const { return ternc_num_threads(context_); }

const std::vector<float> &LlmSession::prefill(std::span<const int64_t> tokens, bool allLogits) {
  if (tokens.empty()) throw Error("the prompt is empty: give at least one token");
  return run(prefill_, tokens, allLogits);
}

const std::vector<float> &LlmSession::decode(int64_t token) {
  return run(decode_, std::span<const int64_t>(&token, 1), false);
}

const std::vector<float> &LlmSession::run(const ternc_model &m, std::span<const int64_t> tokens, bool allLogits) {
  int64_t n = int64_t(tokens.size()), past = position_;
  if (past + n > ctx_)
    throw Error("the context holds " + std::to_string(ctx_) + " tokens: " + std::to_string(past) + " cached and " +
                std::to_string(n) + " new do not fit (raise --ctx)");
  for (int64_t t : tokens)
    if (t < 0 || t >= vocab_)
      throw Error("token id " + std::to_string(t) + " is outside the vocabulary [0, " + std::to_string(vocab_) + ")");
  std::vector<HostTensor> inputs;
  for (int32_t i = 0; i < m.num_inputs; ++i) {
    std::string name = m.inputs[i].name;
    std::vector<int64_t> v;
    if (name == kLogitPositions) {  // select-logits: the rows of the head to compute
      for (int64_t k = allLogits ? 0 : n - 1; k < n; ++k) v.push_back(k);
      HostTensor t = HostTensor::zeros(TERNC_I64, {int64_t(v.size())});
      std::memcpy(t.bytes.data(), v.data(), v.size() * sizeof(int64_t));
      inputs.push_back(std::move(t));
      continue;
    }
    if (name == "input_ids") {
      v.assign(tokens.begin(), tokens.end());
    } else if (name == "attention_mask") {
      v.assign(size_t(past + n), 1);
    } else {  // position_ids
      for (int64_t k = 0; k < n; ++k) v.push_back(past + k);
    }
    inputs.push_back(idTensor(m.inputs[i].dtype, v));
  }
  std::vector<const HostTensor *> refs;
  for (const HostTensor &t : inputs) refs.push_back(&t);
  std::vector<std::pair<int32_t, int64_t>> host = {{m.past_symbol, past}};
  if (m.capacity_symbol >= 0) host.emplace_back(m.capacity_symbol, ctx_);
  std::vector<int64_t> symbols = bindSymbols(m, refs, host);

  std::vector<HostTensor> outputs;
  for (int32_t i = 0; i < m.num_outputs; ++i) {
    std::vector<int64_t> shape;
    for (int32_t d = 0; d < m.outputs[i].rank; ++d) shape.push_back(ternc_dim_value(&m.outputs[i].dims[d], symbols.data()));
    outputs.push_back(HostTensor::zeros(m.outputs[i].dtype, shape));
  }
  uint64_t need = m.arena_bytes(symbols.data());
  if (need > arena_.size()) {
    size_t grown = std::max(size_t(need), arena_.size() * 3 / 2);
    arena_ = AlignedBuffer();
    arena_ = AlignedBuffer(grown);
  }
  std::vector<const void *> inPtrs;
  for (const HostTensor &t : inputs) inPtrs.push_back(t.bytes.data());
  std::vector<void *> outPtrs;
  for (HostTensor &t : outputs) outPtrs.push_back(t.bytes.data());
  ternc_set_error(context_, "");
  if (m.run(context_, symbols.data(), inPtrs.data(), outPtrs.data(), arena_.data()) != 0) {
    const char *msg = ternc_last_error(context_);
    throw Error(std::string(m.name) + ": " + (msg && *msg ? msg : "the run failed without a message"));
  }
  position_ = m.cache_length ? ternc_dim_value(m.cache_length, symbols.data()) : past + n;

  const HostTensor &l = outputs[size_t(findOutput(m, "logits"))];
  int64_t rows = l.numElements() / vocab_;
  // The logits of the last n positions (a graph may return only the last).
  int64_t keep = std::min(rows, n);
  const float *src = reinterpret_cast<const float *>(l.bytes.data()) + (rows - keep) * vocab_;
  logits_.assign(src, src + keep * vocab_);
  return logits_;
}

HostTensor LlmSession::stateSnapshot(int32_t i) const {
  const ternc_tensor_info &s = prefill_.states[i];
  std::vector<int64_t> full, shape;
  int32_t axis = -1;
  for (int32_t d = 0; d < s.rank; ++d) {
    full.push_back(ternc_dim_value(&s.dims[d], stateShapeSyms_.data()));
    bool usesCapacity = false;
    for (int32_t t = 0; t < s.dims[d].num_terms; ++t)
      for (int32_t f = 0; f < s.dims[d].terms[t].num_factors; ++f)
        usesCapacity = usesCapacity || s.dims[d].terms[t].factors[f] == prefill_.capacity_symbol;
    if (usesCapacity) axis = d;
  }
  if (axis < 0) throw Error(std::string("state ") + s.name + " has no capacity axis");
  shape = full;
  shape[size_t(axis)] = position_;
  HostTensor out = HostTensor::zeros(TERNC_F32, shape);
  int64_t outer = 1, inner = 1;
  for (int32_t d = 0; d < axis; ++d) outer *= full[size_t(d)];
  for (int32_t d = axis + 1; d < s.rank; ++d) inner *= full[size_t(d)];
  const std::byte *src = states_[size_t(i)].data();
  float *dst = reinterpret_cast<float *>(out.bytes.data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t r = 0; r < position_ * inner; ++r) {
      int64_t at = o * full[size_t(axis)] * inner + r;
      float v;
      if (s.dtype == TERNC_F32) {
        std::memcpy(&v, src + at * 4, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, src + at * 2, 2);
        v = s.dtype == TERNC_F16 ? halfToFloat(h) : bf16ToFloat(h);
      }
      dst[o * position_ * inner + r] = v;
    }
  return out;
}

} // namespace ternc::rt
