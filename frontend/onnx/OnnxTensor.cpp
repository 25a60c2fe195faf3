// OnnxTensor: converting TensorProtos — borrowing raw_data, converting typed
// fields, memory-mapping external data that stays inside the model's folder.
#include "frontend/onnx/OnnxTensor.h"

#include "frontend/onnx/OnnxImporter.h"
#include "ir/Error.h"

#include <fmt/ranges.h>

#include <bit>
#include <charconv>
#include <cstring>

namespace ternc::onnx_import {

namespace {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian; ternc borrows it as is");

/// Splits a location on both separators, so that a model written on Windows
/// (`sub\\w.bin`) is checked the same way.
std::vector<std::string> pathComponents(const std::string &location) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : location) {
    if (c == '/' || c == '\\') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

bool looksAbsolute(const std::string &location) {
  if (location.empty()) return false;
  if (location[0] == '/' || location[0] == '\\') return true;
  // A Windows drive (`C:\w.bin`, `C:w.bin`).
  return location.size() >= 2 && location[1] == ':' &&
         ((location[0] >= 'A' && location[0] <= 'Z') || (location[0] >= 'a' && location[0] <= 'z'));
}

} // namespace

std::string onnxTypeName(int onnxType) {
  if (onnx::TensorProto_DataType_IsValid(onnxType))
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(onnxType));
  return fmt::format("<unknown type {}>", onnxType);
}

DType dtypeOfOnnx(int onnxType, const std::string &file, const std::string &what) {
  if (onnxType == onnx::TensorProto_DataType_UNDEFINED)
    fail("{}: {} has no data type (UNDEFINED)", file, what);
  std::optional<DType> dt = dtypeFromOnnx(onnxType);
  if (!dt)
    throw UnsupportedError(
        fmt::format("{}: {} has data type {}, which ternc does not support", file, what, onnxTypeName(onnxType)));
  return *dt;
}

Tensor TensorReader::read(const onnx::TensorProto &t, const std::string &what) {
  DType dtype = dtypeOfOnnx(t.data_type(), file_, what);
  if (t.has_segment()) throw UnsupportedError(fmt::format("{}: {} is segmented, which ternc does not support", file_, what));
  std::vector<int64_t> shape;
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) fail("{}: {} has a negative dimension {}", file_, what, d);
    if (d != 0 && count > (int64_t(1) << 56) / d) fail("{}: {} has an impossibly large shape", file_, what);
    count *= d;
    shape.push_back(d);
  }
  size_t bytes = size_t(count) * dtypeSize(dtype);
  if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) return readExternal(t, what, dtype, shape, bytes);
  if (!t.has_raw_data()) return readTyped(t, what, dtype, shape, count);

  const std::string &raw = t.raw_data();
  if (raw.size() != bytes)
    fail("{}: {} has {} bytes of raw_data, but {}[{}] needs {}", file_, what, raw.size(), dtypeName(dtype),
         fmt::join(shape, ","), bytes);
  // Borrowing needs the element alignment; std::string storage provides at
  // least 8 bytes, so this copy is a safety net, not the normal path.
  if (!owner_ || reinterpret_cast<uintptr_t>(raw.data()) % dtypeSize(dtype) != 0) {
    Tensor out(dtype, shape);
    if (bytes) std::memcpy(out.mutableRawData(), raw.data(), bytes);
    return out;
  }
  return Tensor(dtype, shape, Storage::borrow(owner_, raw.data(), raw.size()));
}

Tensor TensorReader::readTyped(const onnx::TensorProto &t, const std::string &what, DType dtype,
                               const std::vector<int64_t> &shape, int64_t count) {
  Tensor out(dtype, shape);
  // Per onnx.proto: which repeated field holds the values of each type.
  int64_t have = 0;
  const char *field = "";
  switch (dtype) {
  case DType::F32: have = t.float_data_size(); field = "float_data"; break;
  case DType::F64: have = t.double_data_size(); field = "double_data"; break;
  case DType::I64: have = t.int64_data_size(); field = "int64_data"; break;
  case DType::U32:
  case DType::U64: have = t.uint64_data_size(); field = "uint64_data"; break;
  default: have = t.int32_data_size(); field = "int32_data"; break;
  }
  if (have != count) {
    if (have == 0) fail("{}: {} has no data for its {} elements (no raw_data, no {})", file_, what, count, field);
    fail("{}: {} has {} values in {}, but its shape [{}] has {} elements", file_, what, have, field,
         fmt::join(shape, ","), count);
  }
  std::byte *dst = count ? out.mutableRawData() : nullptr;
  for (int64_t i = 0; i < count; ++i) {
    switch (dtype) {
    case DType::F32: reinterpret_cast<float *>(dst)[i] = t.float_data(int(i)); break;
    case DType::F64: reinterpret_cast<double *>(dst)[i] = t.double_data(int(i)); break;
    case DType::I64: reinterpret_cast<int64_t *>(dst)[i] = t.int64_data(int(i)); break;
    case DType::U64: reinterpret_cast<uint64_t *>(dst)[i] = t.uint64_data(int(i)); break;
    case DType::U32: reinterpret_cast<uint32_t *>(dst)[i] = uint32_t(t.uint64_data(int(i))); break;
    // f16 and bf16 keep their bit pattern in the low 16 bits of int32_data.
    case DType::F16:
    case DType::BF16: reinterpret_cast<uint16_t *>(dst)[i] = uint16_t(t.int32_data(int(i))); break;
    case DType::Bool: reinterpret_cast<uint8_t *>(dst)[i] = t.int32_data(int(i)) != 0; break;
    default: out.setInt(i, t.int32_data(int(i))); break;
    }
  }
  return out;
}

Tensor TensorReader::readExternal(const onnx::TensorProto &t, const std::string &what, DType dtype,
                                  const std::vector<int64_t> &shape, size_t bytes) {
  std::string location;
  std::optional<uint64_t> offset, length;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      uint64_t v = 0;
      const std::string &s = kv.value();
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || end != s.data() + s.size() || s.empty())
        fail("{}: {}: external data {} '{}' is not a non-negative integer", file_, what, kv.key(), s);
      (kv.key() == "offset" ? offset : length) = v;
    }
    // "checksum" and other keys are informational.
  }
  if (location.empty()) fail("{}: {}: external data has no 'location'", file_, what);
  if (looksAbsolute(location))
    fail("{}: {}: external data location '{}' is an absolute path; it must be relative to the model's folder",
         file_, what, location);
  for (const auto &part : pathComponents(location))
    if (part == "..")
      fail("{}: {}: external data location '{}' leaves the model's folder ('..' is not allowed)", file_, what,
           location);

  std::filesystem::path full = baseDir_ / location;
  std::error_code ec;
  auto status = std::filesystem::status(full, ec);
  if (ec || !std::filesystem::exists(status))
    fail("{}: {}: external data file '{}' does not exist (looked for {})", file_, what, location, full.string());
  if (!std::filesystem::is_regular_file(status))
    fail("{}: {}: external data file '{}' is not a regular file", file_, what, location);
  uint64_t fileSize = std::filesystem::file_size(full, ec);
  if (ec) fail("{}: {}: cannot read the size of external data file '{}': {}", file_, what, location, ec.message());

  uint64_t off = offset.value_or(0);
  if (length && *length != bytes)
    fail("{}: {}: external data length is {} bytes, but {}[{}] needs {}", file_, what, *length, dtypeName(dtype),
         fmt::join(shape, ","), bytes);
  if (off > fileSize || bytes > fileSize - off)
    fail("{}: {}: external data file '{}' is too short: it has {} bytes, but the tensor needs {} bytes at offset "
         "{}",
         file_, what, location, fileSize, bytes, off);
  if (bytes == 0) return Tensor(dtype, shape);

  // Map each file once; every tensor in it is a view at its offset.
  std::string key = full.lexically_normal().string();
  auto it = mappedFiles_.find(key);
  if (it == mappedFiles_.end()) {
    try {
      it = mappedFiles_.emplace(key, Storage::mapFile(full.string(), 0, size_t(fileSize))).first;
    } catch (const Error &e) {
      fail("{}: {}: {}", file_, what, e.what());
    }
  }
  Tensor view(dtype, shape, it->second, size_t(off));
  // A misaligned offset would make element access undefined; copy instead.
  return off % dtypeSize(dtype) == 0 ? view : view.clone();
}

} // namespace ternc::onnx_import
