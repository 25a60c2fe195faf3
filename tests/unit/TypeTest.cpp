// TypeTest: symbolic dim arithmetic and printing, Type::str, and the
// f16/bf16 conversions checked against known bit patterns.
#include "ir/Tensor.h"
#include "ir/Type.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace ternc {
namespace {

Dim sym(const char *s) { return Dim::symbol(s); }

float floatFromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint32_t bitsOf(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

TEST(DimTest, StaticDims) {
  Dim four(4);
  EXPECT_TRUE(four.isStatic());
  EXPECT_FALSE(four.isSymbolic());
  EXPECT_FALSE(four.isUnknown());
  EXPECT_EQ(four.value(), 4);
  EXPECT_EQ(four.str(), "4");
  EXPECT_EQ(Dim(0).str(), "0");
  EXPECT_EQ(Dim(-3).str(), "-3");
  EXPECT_EQ((Dim(3) + Dim(4)).value(), 7);
  EXPECT_EQ((Dim(3) * Dim(4)).value(), 12);
  EXPECT_EQ((Dim(3) - Dim(4)).value(), -1);
}

TEST(DimTest, PolynomialPrinting) {
  EXPECT_EQ(sym("seq").str(), "seq");
  EXPECT_EQ((sym("past") + sym("seq")).str(), "past+seq");
  EXPECT_EQ((sym("seq") + sym("past")).str(), "past+seq");  // normalized order
  EXPECT_EQ((sym("batch") * sym("seq")).str(), "batch*seq");
  EXPECT_EQ((sym("seq") * sym("batch")).str(), "batch*seq");
  EXPECT_EQ((Dim(2) * sym("seq") + Dim(1)).str(), "2*seq+1");
  EXPECT_EQ((Dim(1) + sym("seq") * Dim(2)).str(), "2*seq+1");
  EXPECT_EQ((Dim(2) * sym("batch") * sym("seq") + Dim(1)).str(), "2*batch*seq+1");
  EXPECT_EQ((Dim(4) - sym("seq")).str(), "-seq+4");
  EXPECT_EQ((sym("seq") - Dim(1)).str(), "seq-1");
  EXPECT_EQ((sym("batch") * sym("seq") + sym("seq")).str(), "batch*seq+seq");
  EXPECT_EQ(Dim::unknown().str(), "?");
}

TEST(DimTest, PolynomialArithmetic) {
  Dim seq = sym("seq");
  EXPECT_EQ(seq + seq, Dim(2) * seq);
  EXPECT_EQ((seq + seq).str(), "2*seq");
  Dim zero = seq - seq;
  EXPECT_TRUE(zero.isStatic());
  EXPECT_EQ(zero.value(), 0);
  EXPECT_EQ(((sym("past") + seq) * Dim(2)).str(), "2*past+2*seq");
  EXPECT_EQ(((sym("past") + seq) - sym("past")), seq);
  EXPECT_TRUE((sym("a") * sym("b")).isSymbolic());
  EXPECT_EQ((seq * seq).str(), "seq*seq");
  std::vector<std::string> symbols = (sym("past") + sym("batch") * sym("past")).symbols();
  EXPECT_EQ(symbols, (std::vector<std::string>{"batch", "past"}));
  EXPECT_TRUE((seq + Dim::unknown()).isUnknown());
  EXPECT_TRUE((Dim::unknown() * Dim(2)).isUnknown());
  EXPECT_NE(seq, sym("past"));
}

TEST(DimTest, FloorDiv) {
  EXPECT_EQ(floorDiv(Dim(7), Dim(2)).value(), 3);
  EXPECT_EQ(floorDiv(Dim(-7), Dim(2)).value(), -4);
  EXPECT_EQ(floorDiv(Dim(7), Dim(-2)).value(), -4);
  EXPECT_EQ(floorDiv(Dim(-8), Dim(2)).value(), -4);
  EXPECT_TRUE(floorDiv(Dim(7), Dim(0)).isUnknown());
  Dim seq = sym("seq");
  EXPECT_EQ(floorDiv(Dim(4) * seq, Dim(2)).str(), "2*seq");
  EXPECT_TRUE(floorDiv(Dim(2) * seq + Dim(1), Dim(2)).isUnknown());
  EXPECT_EQ(floorDiv(sym("batch") * seq, seq).str(), "batch");
  EXPECT_EQ(floorDiv(Dim(6) * sym("batch") * seq, Dim(3) * seq).str(), "2*batch");
  EXPECT_EQ(floorDiv(seq, seq).value(), 1);
  EXPECT_TRUE(floorDiv(seq, sym("batch")).isUnknown());
  EXPECT_TRUE(floorDiv(seq, Dim(0)).isUnknown());
  EXPECT_TRUE(floorDiv(Dim::unknown(), Dim(2)).isUnknown());
}

TEST(DimTest, Evaluate) {
  std::map<std::string, int64_t> env{{"past", 3}, {"seq", 5}, {"batch", 2}};
  EXPECT_EQ((sym("past") + sym("seq")).evaluate(env), 8);
  EXPECT_EQ((Dim(2) * sym("batch") * sym("seq") + Dim(1)).evaluate(env), 21);
  EXPECT_EQ((Dim(4) - sym("seq")).evaluate(env), -1);
  EXPECT_EQ(Dim(7).evaluate({}), 7);
  EXPECT_EQ(sym("ctx").evaluate(env), std::nullopt);
  EXPECT_EQ(Dim::unknown().evaluate(env), std::nullopt);
}

TEST(TypeTest, Strings) {
  EXPECT_EQ(Type(DType::F32, {2, 3}).str(), "f32[2,3]");
  EXPECT_EQ(Type(DType::F32, {}).str(), "f32[]");
  EXPECT_EQ(Type::unranked(DType::F32).str(), "f32[*]");
  EXPECT_EQ(Type(DType::F32, {sym("batch"), sym("seq"), 64}).str(), "f32[batch,seq,64]");
  EXPECT_EQ(Type(DType::I64, {sym("past") + sym("seq")}).str(), "i64[past+seq]");
  EXPECT_EQ(Type(DType::F32, {sym("batch") * sym("seq"), 64}).str(), "f32[batch*seq,64]");
  EXPECT_EQ(Type(DType::F32, {Dim::unknown(), 4}).str(), "f32[?,4]");
  EXPECT_EQ(Type::tern({TernScale::Tensor, 0}, {sym("N"), sym("K")}).str(), "tern<tensor>[N,K]");
  EXPECT_EQ(Type::tern({TernScale::Row, 0}, {64, 64}).str(), "tern<row>[64,64]");
  EXPECT_EQ(Type::tern({TernScale::Group, 128}, {64, 256}).str(), "tern<g128>[64,256]");
  EXPECT_EQ(Type(DType::Tern, {4}).str(), "tern[4]");
  EXPECT_EQ(Type(DType::BF16, {1}).str(), "bf16[1]");
  EXPECT_EQ(Type(DType::Bool, {}).str(), "bool[]");
  EXPECT_EQ(Type(DType::U64, {0}).str(), "u64[0]");
}

TEST(TypeTest, DTypeNames) {
  for (int i = 0; i < kNumDTypes; ++i) {
    DType dt = DType(i);
    EXPECT_EQ(parseDType(dtypeName(dt)), dt) << dtypeName(dt);
  }
  EXPECT_EQ(parseDType("f33"), std::nullopt);
  EXPECT_EQ(dtypeSize(DType::Tern), 1u);
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
}

TEST(TypeTest, StaticShapes) {
  Type t(DType::F32, {2, 3, 4});
  EXPECT_TRUE(t.isStatic());
  EXPECT_EQ(t.numElements(), 24);
  EXPECT_EQ(t.staticShape(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(Type(DType::F32, {}).numElements(), 1);
  EXPECT_FALSE(Type(DType::F32, {sym("seq")}).isStatic());
  EXPECT_EQ(Type(DType::F32, {sym("seq")}).numElements(), std::nullopt);
  EXPECT_FALSE(Type::unranked(DType::F32).isStatic());
  EXPECT_NE(Type(DType::Tern, {4}), Type::tern({TernScale::Row, 0}, {4}));
  EXPECT_EQ(Type::tern({TernScale::Row, 0}, {4}).withDType(DType::I8), Type(DType::I8, {4}));
}

TEST(HalfTest, FloatToHalfNormals) {
  EXPECT_EQ(floatToHalf(0.0f), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(0.5f), 0x3800);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);     // largest half
  EXPECT_EQ(floatToHalf(0.333251953125f), 0x3555);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
}

TEST(HalfTest, FloatToHalfRoundsToNearestEven) {
  // Around 1.0 one half ulp is 2^-10; ties go to the even mantissa.
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11) - std::ldexp(1.0f, -20)), 0x3c00);
  // Rounding up out of the largest finite value overflows to infinity.
  EXPECT_EQ(floatToHalf(65519.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00);
  EXPECT_EQ(floatToHalf(1e10f), 0x7c00);
  EXPECT_EQ(floatToHalf(-1e10f), 0xfc00);
}

TEST(HalfTest, FloatToHalfSubnormals) {
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001);               // smallest subnormal
  EXPECT_EQ(floatToHalf(1023 * std::ldexp(1.0f, -24)), 0x03ff);        // largest subnormal
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);               // tie -> even (0)
  EXPECT_EQ(floatToHalf(3 * std::ldexp(1.0f, -25)), 0x0002);           // tie 1.5 ulp -> even (2)
  EXPECT_EQ(floatToHalf(1.5f * std::ldexp(1.0f, -25)), 0x0001);        // above the tie
  EXPECT_EQ(floatToHalf(-std::ldexp(1.0f, -24)), 0x8001);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -30)), 0x0000);               // underflow
  EXPECT_EQ(floatToHalf(1023.5f * std::ldexp(1.0f, -24)), 0x0400);     // rounds up into the normals
}

TEST(HalfTest, FloatToHalfSpecials) {
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(floatToHalf(-std::numeric_limits<float>::infinity()), 0xfc00);
  uint16_t nan = floatToHalf(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
  // A NaN whose payload sits only in the low float bits must stay a NaN.
  uint16_t lowPayload = floatToHalf(floatFromBits(0x7f800001u));
  EXPECT_EQ(lowPayload & 0x7c00, 0x7c00);
  EXPECT_NE(lowPayload & 0x03ff, 0);
}

TEST(HalfTest, HalfToFloat) {
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03ff), 1023 * std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(halfToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(halfToFloat(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  EXPECT_EQ(bitsOf(halfToFloat(0x8000)), 0x80000000u);
  // Every finite half survives a round trip through float.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;
    ASSERT_EQ(floatToHalf(halfToFloat(uint16_t(h))), h) << std::hex << h;
  }
}

TEST(BFloat16Test, Conversions) {
  EXPECT_EQ(floatToBF16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBF16(-2.0f), 0xc000);
  EXPECT_EQ(floatToBF16(3.140625f), 0x4049);
  EXPECT_EQ(bf16ToFloat(0x4049), 3.140625f);
  // One half ulp at 1.0 is 2^-8; ties go to even.
  EXPECT_EQ(floatToBF16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(floatToBF16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(floatToBF16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3f81);
  EXPECT_EQ(floatToBF16(floatFromBits(0x7f7fffffu)), 0x7f80);  // FLT_MAX rounds to inf
  EXPECT_EQ(floatToBF16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(floatToBF16(-std::numeric_limits<float>::infinity()), 0xff80);
  uint16_t nan = floatToBF16(floatFromBits(0x7f800001u));  // payload only in the dropped bits
  EXPECT_EQ(nan & 0x7f80, 0x7f80);
  EXPECT_NE(nan & 0x007f, 0);
  // Subnormals keep their top bits, with the same rounding.
  EXPECT_EQ(floatToBF16(floatFromBits(0x00018000u)), 0x0002);
  EXPECT_EQ(floatToBF16(floatFromBits(0x00008000u)), 0x0000);
  EXPECT_EQ(floatToBF16(floatFromBits(0x00010000u)), 0x0001);
  EXPECT_EQ(bitsOf(bf16ToFloat(0x0001)), 0x00010000u);
  EXPECT_EQ(bitsOf(bf16ToFloat(0x8000)), 0x80000000u);
}

TEST(TensorTest, HalfElementsThroughSetDouble) {
  Tensor t(DType::F16, {3});
  t.setDouble(0, 1.0);
  t.setDouble(1, 65520.0);
  t.setDouble(2, -0.5);
  EXPECT_EQ(t.data<uint16_t>()[0], 0x3c00);
  EXPECT_EQ(t.data<uint16_t>()[1], 0x7c00);
  EXPECT_EQ(t.data<uint16_t>()[2], 0xb800);
  EXPECT_EQ(t.getDouble(2), -0.5);
}

} // namespace
} // namespace ternc
