// ShapesTest.cpp: dim evaluation and text, output file names, and symbol binding from input shapes.
#include "Host.h"

#include <gtest/gtest.h>

namespace ternc::rt {
namespace {

// Symbols: past, seq. Dims: past+seq, 2*past*seq-3.
const char *const kSymbols[] = {"past", "seq"};
const ternc_dim_term kPast = {1, 1, {0}};
const ternc_dim_term kSeq = {1, 1, {1}};
const ternc_dim_term kPastPlusSeq[] = {{1, 1, {0}}, {1, 1, {1}}};
const ternc_dim_term kPoly[] = {{2, 2, {0, 1}}, {-3, 0, {}}};

const ternc_dim kPastDims[] = {{0, 1, &kPast}, {8, 0, nullptr}};
const ternc_dim kSeqDims[] = {{0, 1, &kSeq}};
const ternc_dim kTotalDims[] = {{0, 2, kPastPlusSeq}};
const ternc_tensor_info kInputs[] = {
    {"cache", TERNC_F32, 2, kPastDims}, {"tokens", TERNC_I64, 1, kSeqDims}, {"mask", TERNC_BOOL, 1, kTotalDims}};
const ternc_model kModel = {TERNC_ABI_VERSION, "decoder", 2, kSymbols, 3, kInputs, 0, nullptr, nullptr, nullptr, 0,
                            nullptr, 0, nullptr, -1, -1, nullptr};

TEST(Dims, Value) {
  int64_t symbols[] = {5, 3};
  ternc_dim fixed = {7, 0, nullptr};
  EXPECT_EQ(ternc_dim_value(&fixed, symbols), 7);
  EXPECT_EQ(ternc_dim_value(&kTotalDims[0], symbols), 8);
  ternc_dim poly = {0, 2, kPoly};
  EXPECT_EQ(ternc_dim_value(&poly, symbols), 2 * 5 * 3 - 3);
}

TEST(Dims, Text) {
  EXPECT_EQ(dimText(kModel, kPastDims[1]), "8");
  EXPECT_EQ(dimText(kModel, kPastDims[0]), "past");
  EXPECT_EQ(dimText(kModel, kTotalDims[0]), "past+seq");
  ternc_dim poly = {0, 2, kPoly};
  EXPECT_EQ(dimText(kModel, poly), "2*past*seq-3");
  EXPECT_EQ(tensorInfoText(kModel, kInputs[0]), "cache: f32[past, 8]");
}

TEST(Dims, OutputFileName) {
  EXPECT_EQ(outputFileName("logits"), "logits.npy");
  EXPECT_EQ(outputFileName("/model/out:0"), "_model_out_0.npy");
  EXPECT_EQ(outputFileName("a.b-c_d"), "a.b-c_d.npy");
  EXPECT_EQ(outputFileName(".."), "_...npy");
}

struct Inputs {
  HostTensor cache, tokens, mask;
  Inputs(int64_t past, int64_t width, int64_t seq, int64_t total)
      : cache(HostTensor::zeros(TERNC_F32, {past, width})), tokens(HostTensor::zeros(TERNC_I64, {seq})),
        mask(HostTensor::zeros(TERNC_BOOL, {total})) {}
  std::vector<const HostTensor *> refs() const { return {&cache, &tokens, &mask}; }
};

std::string bindError(const Inputs &in) {
  try {
    bindSymbols(kModel, in.refs());
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST(Binding, BindsBareSymbolsAndChecksPolynomials) {
  Inputs in(5, 8, 3, 8);
  EXPECT_EQ(bindSymbols(kModel, in.refs()), (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(bindError(Inputs(5, 8, 3, 9)),
            "input 'mask' has shape [9], but dim 0 must be past+seq = 8 (mask: bool[past+seq])");
  EXPECT_EQ(bindError(Inputs(5, 7, 3, 8)), "input 'cache' has shape [5, 7], but dim 1 must be 8 (cache: f32[past, 8])");
}

TEST(Binding, DtypeAndRank) {
  Inputs in(5, 8, 3, 8);
  in.tokens = HostTensor::zeros(TERNC_I32, {3});
  EXPECT_EQ(bindError(in), "input 'tokens' has dtype i32, expected i64 (tokens: i64[seq])");
  in.tokens = HostTensor::zeros(TERNC_I64, {3, 1});
  EXPECT_EQ(bindError(in), "input 'tokens' has rank 2 (shape [3, 1]), expected 1 (tokens: i64[seq])");
}

TEST(Binding, InconsistentSymbol) {
  const ternc_dim twoBatch[] = {{0, 1, &kPast}, {0, 1, &kPast}};
  const ternc_dim oneBatch[] = {{0, 1, &kPast}};
  const ternc_tensor_info inputs[] = {{"a", TERNC_F32, 2, twoBatch}, {"b", TERNC_F32, 1, oneBatch}};
  ternc_model m = kModel;
  m.num_symbols = 1;
  m.num_inputs = 2;
  m.inputs = inputs;
  HostTensor a = HostTensor::zeros(TERNC_F32, {2, 2}), b = HostTensor::zeros(TERNC_F32, {3});
  try {
    bindSymbols(m, {&a, &b});
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(), "input 'b' has shape [3]: dim 0 sets symbol 'past' to 3, but input 'a' set it to 2");
  }
  HostTensor square = HostTensor::zeros(TERNC_F32, {2, 4});
  try {
    bindSymbols(m, {&square, &b});
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(), "input 'a' has shape [2, 4]: dim 1 sets symbol 'past' to 4, but input 'a' set it to 2");
  }
}

TEST(Binding, UnbindableSymbol) {
  // Only past+seq appears: neither symbol can be bound.
  const ternc_tensor_info inputs[] = {{"mask", TERNC_BOOL, 1, kTotalDims}};
  ternc_model m = kModel;
  m.num_inputs = 1;
  m.inputs = inputs;
  HostTensor mask = HostTensor::zeros(TERNC_BOOL, {4});
  EXPECT_THROW(bindSymbols(m, {&mask}), Error);
}

} // namespace
} // namespace ternc::rt
