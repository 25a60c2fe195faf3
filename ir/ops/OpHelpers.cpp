// OpHelpers: broadcasting, axis normalization and strides.
#include "ir/ops/OpHelpers.h"

#include <algorithm>

namespace ternc::ops {

std::vector<Dim> broadcastDims(const InferContext &ctx, const std::vector<Dim> &a, const std::vector<Dim> &b) {
  size_t rank = std::max(a.size(), b.size());
  std::vector<Dim> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const Dim *da = i + a.size() >= rank ? &a[i + a.size() - rank] : nullptr;
    const Dim *db = i + b.size() >= rank ? &b[i + b.size() - rank] : nullptr;
    if (!da) { out[i] = *db; continue; }
    if (!db) { out[i] = *da; continue; }
    bool aOne = da->isStatic() && da->value() == 1;
    bool bOne = db->isStatic() && db->value() == 1;
    if (aOne) out[i] = *db;
    else if (bOne) out[i] = *da;
    else if (da->isUnknown()) out[i] = *db;
    else if (db->isUnknown()) out[i] = *da;
    else if (*da == *db) out[i] = *da;
    else if (da->isStatic() && db->isStatic())
      ctx.fail("shapes cannot be broadcast: dim {} vs {}", da->str(), db->str());
    else
      out[i] = Dim::unknown();  // e.g. seq vs past: only known at run time
  }
  return out;
}

std::vector<int64_t> broadcastShapes(const EvalContext &ctx, const std::vector<int64_t> &a,
                                     const std::vector<int64_t> &b) {
  size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
    int64_t db = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else ctx.fail("shapes cannot be broadcast: dim {} vs {}", da, db);
  }
  return out;
}

int64_t normalizeAxis(const InferContext &ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) ctx.fail("axis {} is out of range for rank {}", axis, rank);
  return axis < 0 ? axis + rank : axis;
}

int64_t normalizeAxis(const EvalContext &ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) ctx.fail("axis {} is out of range for rank {}", axis, rank);
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

std::vector<int64_t> broadcastStrides(const std::vector<int64_t> &shape, const std::vector<int64_t> &outShape) {
  std::vector<int64_t> own = stridesOf(shape);
  std::vector<int64_t> out(outShape.size(), 0);
  size_t off = outShape.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) out[off + i] = shape[i] == 1 ? 0 : own[i];
  return out;
}

std::optional<std::vector<int64_t>> staticInts(const InferContext &ctx, size_t i) {
  auto sym = ctx.symbolicInput(i);
  if (!sym) return std::nullopt;
  std::vector<int64_t> out;
  for (const Dim &d : *sym) {
    if (!d.isStatic()) return std::nullopt;
    out.push_back(d.value());
  }
  return out;
}

void inferBroadcast(InferContext &ctx, std::optional<DType> outDType) {
  std::optional<std::vector<Dim>> dims;
  bool ranked = true;
  DType dt = outDType.value_or(ctx.inputType(0).dtype());
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    if (!ctx.hasInput(i)) continue;
    const Type &t = ctx.inputType(i);
    if (!t.isRanked()) { ranked = false; continue; }
    dims = dims ? broadcastDims(ctx, *dims, t.dims()) : t.dims();
  }
  if (!ranked || !dims) ctx.setResultType(0, Type::unranked(dt));
  else ctx.setResultType(0, Type(dt, *dims));
}

} // namespace ternc::ops
