// Type: dtype tables, symbolic dimension arithmetic and type printing.
#include "ir/Type.h"

#include "ir/Error.h"

#include <algorithm>
#include <array>

namespace ternc {

namespace {
struct DTypeInfo {
  DType dt;
  std::string_view name;
  size_t size;
  int onnx;  // TensorProto.DataType
};
constexpr std::array<DTypeInfo, kNumDTypes> kDTypes = {{
    {DType::F64, "f64", 8, 11},   {DType::F32, "f32", 4, 1},    {DType::F16, "f16", 2, 10},
    {DType::BF16, "bf16", 2, 16}, {DType::I8, "i8", 1, 3},      {DType::I16, "i16", 2, 5},
    {DType::I32, "i32", 4, 6},    {DType::I64, "i64", 8, 7},    {DType::U8, "u8", 1, 2},
    {DType::U16, "u16", 2, 4},    {DType::U32, "u32", 4, 12},   {DType::U64, "u64", 8, 13},
    {DType::Bool, "bool", 1, 9},  {DType::Tern, "tern", 1, -1},
}};
} // namespace

std::string_view dtypeName(DType t) { return kDTypes[size_t(t)].name; }
size_t dtypeSize(DType t) { return kDTypes[size_t(t)].size; }

std::optional<DType> parseDType(std::string_view s) {
  for (const auto &i : kDTypes)
    if (i.name == s) return i.dt;
  return std::nullopt;
}

bool isFloat(DType t) { return t == DType::F64 || t == DType::F32 || t == DType::F16 || t == DType::BF16; }
bool isSignedInt(DType t) { return t == DType::I8 || t == DType::I16 || t == DType::I32 || t == DType::I64; }
bool isUnsignedInt(DType t) { return t == DType::U8 || t == DType::U16 || t == DType::U32 || t == DType::U64; }

std::optional<DType> dtypeFromOnnx(int onnxType) {
  for (const auto &i : kDTypes)
    if (i.onnx == onnxType) return i.dt;
  return std::nullopt;
}
int dtypeToOnnx(DType t) { return kDTypes[size_t(t)].onnx; }

// ---------------------------------------------------------------------------
// Dim
// ---------------------------------------------------------------------------

Dim::Dim(int64_t v) {
  if (v != 0) terms_.push_back({{}, v});
}

Dim Dim::symbol(std::string name) {
  Dim d;
  d.terms_.push_back({{std::move(name)}, 1});
  return d;
}

Dim Dim::unknown() {
  Dim d;
  d.unknown_ = true;
  return d;
}

int64_t Dim::value() const {
  if (!isStatic()) fail("internal: value() of non-static dim {}", str());
  return terms_.empty() ? 0 : terms_[0].second;
}

std::vector<std::string> Dim::symbols() const {
  std::vector<std::string> out;
  for (const auto &[mono, c] : terms_)
    for (const auto &s : mono)
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<int64_t> Dim::evaluate(const std::map<std::string, int64_t> &env) const {
  if (unknown_) return std::nullopt;
  int64_t total = 0;
  for (const auto &[mono, c] : terms_) {
    int64_t t = c;
    for (const auto &s : mono) {
      auto it = env.find(s);
      if (it == env.end()) return std::nullopt;
      t *= it->second;
    }
    total += t;
  }
  return total;
}

void Dim::normalize() {
  // Monomials: sorted symbols. Terms: sorted so that higher degree comes
  // first, then lexicographic; the constant term is last.
  for (auto &[mono, c] : terms_) std::sort(mono.begin(), mono.end());
  std::sort(terms_.begin(), terms_.end(), [](const auto &a, const auto &b) {
    if (a.first.size() != b.first.size()) return a.first.size() > b.first.size();
    return a.first < b.first;
  });
  std::vector<std::pair<Monomial, int64_t>> merged;
  for (auto &t : terms_) {
    if (!merged.empty() && merged.back().first == t.first)
      merged.back().second += t.second;
    else
      merged.push_back(std::move(t));
  }
  merged.erase(std::remove_if(merged.begin(), merged.end(), [](const auto &t) { return t.second == 0; }),
               merged.end());
  terms_ = std::move(merged);
}

Dim operator+(const Dim &a, const Dim &b) {
  if (a.unknown_ || b.unknown_) return Dim::unknown();
  Dim r;
  r.terms_ = a.terms_;
  r.terms_.insert(r.terms_.end(), b.terms_.begin(), b.terms_.end());
  r.normalize();
  return r;
}

Dim operator-(const Dim &a, const Dim &b) { return a + b * Dim(-1); }

Dim operator*(const Dim &a, const Dim &b) {
  if (a.unknown_ || b.unknown_) return Dim::unknown();
  Dim r;
  for (const auto &[ma, ca] : a.terms_)
    for (const auto &[mb, cb] : b.terms_) {
      Dim::Monomial m = ma;
      m.insert(m.end(), mb.begin(), mb.end());
      r.terms_.push_back({std::move(m), ca * cb});
    }
  r.normalize();
  return r;
}

Dim floorDiv(const Dim &a, const Dim &b) {
  if (a.unknown_ || b.unknown_) return Dim::unknown();
  if (a.isStatic() && b.isStatic()) {
    int64_t x = a.value(), y = b.value();
    if (y == 0) return Dim::unknown();
    int64_t q = x / y;
    if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
    return Dim(q);
  }
  if (a == b) return Dim(1);
  if (b.isStatic()) {
    int64_t y = b.value();
    if (y == 0) return Dim::unknown();
    Dim r;
    for (const auto &[m, c] : a.terms_) {
      if (c % y != 0) return Dim::unknown();
      r.terms_.push_back({m, c / y});
    }
    r.normalize();
    return r;
  }
  // A single-term divisor: divide each monomial if it contains the symbols.
  if (b.terms_.size() == 1) {
    const auto &[mb, cb] = b.terms_[0];
    Dim r;
    for (const auto &[m, c] : a.terms_) {
      if (c % cb != 0) return Dim::unknown();
      Dim::Monomial rest = m;
      for (const auto &s : mb) {
        auto it = std::find(rest.begin(), rest.end(), s);
        if (it == rest.end()) return Dim::unknown();
        rest.erase(it);
      }
      r.terms_.push_back({std::move(rest), c / cb});
    }
    r.normalize();
    return r;
  }
  return Dim::unknown();
}

std::string Dim::str() const {
  if (unknown_) return "?";
  if (terms_.empty()) return "0";
  std::string out;
  for (size_t i = 0; i < terms_.size(); ++i) {
    const auto &[mono, c] = terms_[i];
    int64_t coeff = c;
    if (i > 0) {
      out += coeff < 0 ? "-" : "+";
      if (coeff < 0) coeff = -coeff;
    } else if (coeff < 0 && !mono.empty()) {
      out += "-";
      coeff = -coeff;
    }
    if (mono.empty()) {
      out += std::to_string(coeff);
      continue;
    }
    if (coeff != 1) out += std::to_string(coeff) + "*";
    for (size_t j = 0; j < mono.size(); ++j) {
      if (j) out += "*";
      out += mono[j];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Type
// ---------------------------------------------------------------------------

bool Type::isStatic() const {
  if (!ranked_) return false;
  return std::all_of(dims_.begin(), dims_.end(), [](const Dim &d) { return d.isStatic(); });
}

std::vector<int64_t> Type::staticShape() const {
  std::vector<int64_t> s;
  s.reserve(dims_.size());
  for (const auto &d : dims_) s.push_back(d.value());
  return s;
}

std::optional<int64_t> Type::numElements() const {
  if (!isStatic()) return std::nullopt;
  int64_t n = 1;
  for (const auto &d : dims_) n *= d.value();
  return n;
}

std::string Type::str() const {
  std::string out(dtypeName(dtype_));
  if (dtype_ == DType::Tern) {
    switch (tern_.kind) {
    case TernScale::None: break;
    case TernScale::Tensor: out += "<tensor>"; break;
    case TernScale::Row: out += "<row>"; break;
    case TernScale::Group: out += "<g" + std::to_string(tern_.group) + ">"; break;
    }
  }
  if (!ranked_) return out + "[*]";
  out += "[";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) out += ",";
    out += dims_[i].str();
  }
  return out + "]";
}

Dim Dim::substitute(const std::map<std::string, int64_t> &values) const {
  if (unknown_ || values.empty()) return *this;
  Dim r(int64_t(0));
  for (const auto &[monomial, coeff] : terms_) {
    Dim term(coeff);
    for (const std::string &s : monomial) {
      auto it = values.find(s);
      term = term * (it == values.end() ? Dim::symbol(s) : Dim(it->second));
    }
    r = r + term;
  }
  return r;
}

Type Type::substitute(const std::map<std::string, int64_t> &values) const {
  if (!ranked_) return *this;
  std::vector<Dim> dims;
  dims.reserve(dims_.size());
  for (const Dim &d : dims_) dims.push_back(d.substitute(values));
  return withDims(std::move(dims));
}

} // namespace ternc
