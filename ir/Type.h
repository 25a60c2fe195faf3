// Type: dtypes, symbolic dimensions and tensor types of the ternc IR.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ternc {

/// Element types. `Tern` is logically -1/0/+1; its scale granularity lives in
/// the Type (TernScale), its packing in memory on the Constant (layout).
enum class DType : uint8_t {
  F64, F32, F16, BF16, I8, I16, I32, I64, U8, U16, U32, U64, Bool, Tern,
};

/// Number of dtypes, for tables indexed by DType.
inline constexpr int kNumDTypes = 14;

/// Name as printed in the IR: f32, i64, bool, tern, ...
std::string_view dtypeName(DType t);
/// Parses a dtype name; nullopt if unknown.
std::optional<DType> parseDType(std::string_view s);
/// Bytes per element in the plain (unpacked) layout. Tern is stored one int8
/// per element in the plain layout.
size_t dtypeSize(DType t);
bool isFloat(DType t);  ///< f64, f32, f16, bf16
bool isSignedInt(DType t);  ///< i8..i64
bool isUnsignedInt(DType t);  ///< u8..u64
inline bool isInteger(DType t) { return isSignedInt(t) || isUnsignedInt(t); }
/// ONNX TensorProto.DataType value <-> DType (nullopt for types ternc lacks).
std::optional<DType> dtypeFromOnnx(int onnxType);
int dtypeToOnnx(DType t);

/// A dimension: a static size, an expression over named symbols (a
/// polynomial such as `past+seq` or `batch*seq`), or unknown (`?`).
/// Symbols are resolved from the input shapes at run time.
class Dim {
public:
  Dim() : Dim(int64_t(0)) {}
  Dim(int64_t v);  // NOLINT: implicit, a number is a static dim
  static Dim symbol(std::string name);
  static Dim unknown();

  bool isStatic() const { return !unknown_ && (terms_.empty() || (terms_.size() == 1 && terms_[0].first.empty())); }
  bool isUnknown() const { return unknown_; }
  bool isSymbolic() const { return !unknown_ && !isStatic(); }
  /// The static value; only valid when isStatic().
  int64_t value() const;
  /// The symbols this dim mentions.
  std::vector<std::string> symbols() const;

  /// Evaluates with the given symbol bindings; nullopt if unknown or unbound.
  std::optional<int64_t> evaluate(const std::map<std::string, int64_t> &env) const;

  friend Dim operator+(const Dim &a, const Dim &b);
  friend Dim operator-(const Dim &a, const Dim &b);
  friend Dim operator*(const Dim &a, const Dim &b);
  /// Exact division: a symbolic result only where it divides evenly (e.g.
  /// `4*seq / 2 = 2*seq`), otherwise unknown. Static operands use floor.
  friend Dim floorDiv(const Dim &a, const Dim &b);
  /// Structural equality; two unknown dims are not known to be equal, but
  /// compare equal here (use isUnknown() where that matters).
  bool operator==(const Dim &o) const { return unknown_ == o.unknown_ && terms_ == o.terms_; }
  bool operator!=(const Dim &o) const { return !(*this == o); }

  /// Text form: `4`, `seq`, `past+seq`, `2*batch*seq+1`, `?`.
  std::string str() const;

  /// The dim with the given symbols replaced by their values (others kept):
  /// `past+seq` with seq = 1 is `past+1`.
  Dim substitute(const std::map<std::string, int64_t> &values) const;

  /// The polynomial's terms: (sorted symbol names, coefficient); an empty
  /// name list is the constant term. Empty for 0 and for unknown dims.
  const std::vector<std::pair<std::vector<std::string>, int64_t>> &terms() const { return terms_; }

private:
  // Polynomial: sorted (monomial, coefficient) pairs, no zero coefficients.
  // A monomial is a sorted list of symbol names; the empty one is the
  // constant term.
  using Monomial = std::vector<std::string>;
  std::vector<std::pair<Monomial, int64_t>> terms_;
  bool unknown_ = false;
  void normalize();
};

/// Scale granularity of a ternary tensor `[N, K]` (N output rows, K the
/// reduction axis): one scale per tensor, per row, or per group of `group`
/// consecutive elements along K.
struct TernScale {
  enum Kind : uint8_t { None, Tensor, Row, Group };
  Kind kind = None;
  int64_t group = 0;
  bool operator==(const TernScale &o) const { return kind == o.kind && group == o.group; }
};

/// A tensor type: dtype, ternary scale granularity (tern only), and either
/// a rank with dims or unranked.
class Type {
public:
  Type() = default;
  Type(DType dt, std::vector<Dim> dims) : dtype_(dt), dims_(std::move(dims)) {}
  static Type unranked(DType dt) { Type t; t.dtype_ = dt; t.ranked_ = false; return t; }
  static Type tern(TernScale scale, std::vector<Dim> dims) {
    Type t(DType::Tern, std::move(dims)); t.tern_ = scale; return t;
  }

  DType dtype() const { return dtype_; }
  TernScale ternScale() const { return tern_; }
  bool isRanked() const { return ranked_; }
  size_t rank() const { return dims_.size(); }
  const std::vector<Dim> &dims() const { return dims_; }
  const Dim &dim(size_t i) const { return dims_[i]; }
  /// True if ranked and every dim is static.
  bool isStatic() const;
  /// Static shape; only valid when isStatic().
  std::vector<int64_t> staticShape() const;
  /// Number of elements if static.
  std::optional<int64_t> numElements() const;

  Type withDType(DType dt) const { Type t = *this; t.dtype_ = dt; if (dt != DType::Tern) t.tern_ = {}; return t; }
  Type withDims(std::vector<Dim> dims) const { Type t = *this; t.dims_ = std::move(dims); t.ranked_ = true; return t; }
  /// Every dim with Dim::substitute applied.
  Type substitute(const std::map<std::string, int64_t> &values) const;

  bool operator==(const Type &o) const {
    return dtype_ == o.dtype_ && tern_ == o.tern_ && ranked_ == o.ranked_ && dims_ == o.dims_;
  }
  bool operator!=(const Type &o) const { return !(*this == o); }

  /// Text form: `f32[2,seq]`, `i64[]` (scalar), `f32[*]` (unranked),
  /// `tern<row>[N,K]`, `tern<g128>[N,K]`, `tern<tensor>[N,K]`.
  std::string str() const;

private:
  DType dtype_ = DType::F32;
  TernScale tern_;
  bool ranked_ = true;
  std::vector<Dim> dims_;
};

} // namespace ternc
