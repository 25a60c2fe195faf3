// TensorTestUtil: tensor builders and error capture shared by the unit tests.
#pragma once

#include "ir/Error.h"
#include "ir/Tensor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace ternc::testutil {

/// A tensor of `dt` holding `values` (converted with Tensor::setDouble).
inline Tensor make(DType dt, std::vector<int64_t> shape, const std::vector<double> &values) {
  Tensor t(dt, std::move(shape));
  EXPECT_EQ(t.numElements(), int64_t(values.size()));
  for (size_t i = 0; i < values.size(); ++i) t.setDouble(int64_t(i), values[i]);
  return t;
}

/// A tensor of `dt` holding integer `values` exactly (Tensor::setInt).
inline Tensor makeInt(DType dt, std::vector<int64_t> shape, const std::vector<int64_t> &values) {
  Tensor t(dt, std::move(shape));
  EXPECT_EQ(t.numElements(), int64_t(values.size()));
  for (size_t i = 0; i < values.size(); ++i) t.setInt(int64_t(i), values[i]);
  return t;
}

/// All elements as doubles.
inline std::vector<double> valuesOf(const Tensor &t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numElements(); ++i) v.push_back(t.getDouble(i));
  return v;
}

/// Checks dtype, shape and values; NaN must be NaN, infinities exact, other
/// values within `tol` relative (absolute below 1).
inline void expectValues(const Tensor &t, DType dt, const std::vector<int64_t> &shape,
                         const std::vector<double> &want, double tol = 0) {
  ASSERT_EQ(t.dtype(), dt) << dtypeName(t.dtype());
  ASSERT_EQ(t.shape(), shape);
  ASSERT_EQ(t.numElements(), int64_t(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    double got = t.getDouble(int64_t(i));
    if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got)) << "element " << i << " is " << got;
    else if (std::isinf(want[i])) EXPECT_EQ(got, want[i]) << "element " << i;
    else EXPECT_NEAR(got, want[i], tol * std::max(1.0, std::abs(want[i]))) << "element " << i;
  }
}

/// The message of the ternc::Error that `f` throws, or "<no error>".
inline std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "<no error>";
}

} // namespace ternc::testutil
