// TensorFiles.cpp: host tensors and their files — .npy read/write (format 1.0-3.0) and ONNX TensorProto .pb read.
#include "Host.h"

#include "tensor_proto.pb.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string_view>

namespace ternc::rt {

namespace {

/// Printf-style formatting into a std::string (the runtime avoids fmt to stay
/// free of compiler-side dependencies).
template <typename... Args> std::string format(const char *pattern, Args... args) {
  int n = std::snprintf(nullptr, 0, pattern, args...);
  std::string s(size_t(n), '\0');
  std::snprintf(s.data(), s.size() + 1, pattern, args...);
  return s;
}

[[noreturn]] void failFile(const std::string &path, const std::string &what) { throw Error(path + ": " + what); }

/// numpy's dtype string (the 'descr' field) for each ternc_dtype; tern is
/// stored as int8, bf16 has none.
const char *npyDescr(int32_t dtype) {
  switch (dtype) {
  case TERNC_F64: return "<f8";
  case TERNC_F32: return "<f4";
  case TERNC_F16: return "<f2";
  case TERNC_I8: case TERNC_TERN: return "|i1";
  case TERNC_I16: return "<i2";
  case TERNC_I32: return "<i4";
  case TERNC_I64: return "<i8";
  case TERNC_U8: return "|u1";
  case TERNC_U16: return "<u2";
  case TERNC_U32: return "<u4";
  case TERNC_U64: return "<u8";
  case TERNC_BOOL: return "|b1";
  default: return nullptr;
  }
}

/// The ternc_dtype of a numpy descr, or -1. Single-byte types may carry any
/// byte-order mark; wider ones must be little-endian ('<', or '=' here).
int32_t dtypeFromDescr(std::string_view d) {
  if (d.size() < 3) return -1;
  char order = d[0];
  std::string_view kind = d.substr(1);
  bool oneByte = kind == "i1" || kind == "u1" || kind == "b1";
  if (!(order == '<' || order == '=' || (oneByte && order == '|'))) return -1;
  static const std::pair<std::string_view, int32_t> table[] = {
      {"f8", TERNC_F64}, {"f4", TERNC_F32}, {"f2", TERNC_F16}, {"i1", TERNC_I8},  {"i2", TERNC_I16},
      {"i4", TERNC_I32}, {"i8", TERNC_I64}, {"u1", TERNC_U8},  {"u2", TERNC_U16}, {"u4", TERNC_U32},
      {"u8", TERNC_U64}, {"b1", TERNC_BOOL}};
  for (const auto &[k, t] : table)
    if (k == kind) return t;
  return -1;
}

/// Reads a whole file; throws Error naming it.
std::string readWholeFile(const std::string &path) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) failFile(path, format("cannot open: %s", std::strerror(errno)));
  std::string data;
  char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof(buffer), f)) > 0) data.append(buffer, got);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad) failFile(path, "read error");
  return data;
}

/// The value of `key` in numpy's header dict, e.g. `'<f4'`, `False`, `(2, 3)`.
std::string_view headerField(const std::string &path, std::string_view header, std::string_view key) {
  std::string quoted = "'" + std::string(key) + "'";
  size_t at = header.find(quoted);
  if (at == std::string_view::npos) failFile(path, format("npy header has no '%s'", std::string(key).c_str()));
  size_t colon = header.find(':', at + quoted.size());
  if (colon == std::string_view::npos) failFile(path, "malformed npy header");
  size_t start = header.find_first_not_of(' ', colon + 1);
  if (start == std::string_view::npos) failFile(path, "malformed npy header");
  size_t stop;
  if (header[start] == '(') stop = header.find(')', start) + 1;
  else if (header[start] == '\'') stop = header.find('\'', start + 1) + 1;
  else stop = header.find_first_of(",}", start);
  if (stop == std::string_view::npos || stop == 0) failFile(path, "malformed npy header");
  return header.substr(start, stop - start);
}

std::vector<int64_t> parseShape(const std::string &path, std::string_view tuple) {
  std::vector<int64_t> shape;
  std::string inner(tuple.substr(1, tuple.size() - 2));
  const char *p = inner.c_str();
  for (;;) {
    while (*p == ' ' || *p == ',') ++p;
    if (*p == '\0') break;
    char *end;
    errno = 0;
    long long v = std::strtoll(p, &end, 10);
    if (end == p || errno != 0 || v < 0) failFile(path, "malformed shape in npy header: " + std::string(tuple));
    shape.push_back(v);
    p = end;
    while (*p == 'L') ++p;  // Python 2 longs
  }
  return shape;
}

} // namespace

HostTensor readNpy(const std::string &path) {
  std::string file = readWholeFile(path);
  static const char magic[] = "\x93NUMPY";
  if (file.size() < 10 || file.compare(0, 6, magic, 6) != 0) failFile(path, "not a .npy file (bad magic)");
  int major = (unsigned char)file[6];
  size_t headerLength, headerStart;
  if (major == 1) {
    headerLength = (unsigned char)file[8] | size_t((unsigned char)file[9]) << 8;
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (file.size() < 12) failFile(path, "truncated npy header");
    headerLength = 0;
    for (int i = 3; i >= 0; --i) headerLength = headerLength << 8 | (unsigned char)file[8 + size_t(i)];
    headerStart = 12;
  } else {
    failFile(path, format("unsupported npy format version %d", major));
  }
  if (headerStart + headerLength > file.size()) failFile(path, "truncated npy header");
  std::string_view header(file.data() + headerStart, headerLength);

  std::string_view descr = headerField(path, header, "descr");
  std::string_view descrText = descr.size() >= 2 ? descr.substr(1, descr.size() - 2) : descr;
  int32_t dtype = dtypeFromDescr(descrText);
  if (dtype < 0) failFile(path, "unsupported npy dtype " + std::string(descr));
  if (headerField(path, header, "fortran_order") != "False") failFile(path, "Fortran-order npy arrays are not supported");
  std::string_view shapeText = headerField(path, header, "shape");
  if (shapeText.empty() || shapeText.front() != '(') failFile(path, "malformed shape in npy header");

  HostTensor t;
  try {
    t = HostTensor::zeros(dtype, parseShape(path, shapeText));
  } catch (const Error &e) {
    failFile(path, e.what());
  }
  size_t dataStart = headerStart + headerLength;
  if (file.size() - dataStart != t.byteSize())
    failFile(path, format("holds %zu data bytes, but its header (%s, shape %s) needs %zu", file.size() - dataStart,
                          std::string(descr).c_str(), std::string(shapeText).c_str(), t.byteSize()));
  std::memcpy(t.bytes.data(), file.data() + dataStart, t.byteSize());
  return t;
}

void writeNpyFile(const HostTensor &t, const std::string &path) {
  const char *descr = npyDescr(t.dtype);
  if (!descr) failFile(path, format("cannot write dtype %s as .npy (numpy has no such dtype)", dtypeName(t.dtype)));
  std::string shape = "(";
  for (size_t i = 0; i < t.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(t.shape[i]);
  shape += t.shape.size() == 1 ? ",)" : ")";  // numpy writes a 1-tuple as "(3,)"
  std::string dict = format("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape.c_str());
  // Version 1.0 has a 2-byte header length; version 2.0 is needed past 64 KiB.
  bool v2 = dict.size() + 1 + 10 > 65535;
  size_t prefix = v2 ? 12 : 10;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;  // data starts 64-byte aligned
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string head("\x93NUMPY", 6);
  head.push_back(char(v2 ? 2 : 1));
  head.push_back(0);
  size_t len = dict.size();
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i) head.push_back(char((len >> (8 * i)) & 0xff));
  head += dict;

  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) failFile(path, format("cannot create: %s", std::strerror(errno)));
  bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size() &&
            std::fwrite(t.bytes.data(), 1, t.byteSize(), f) == t.byteSize();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    int err = errno;
    std::remove(path.c_str());
    failFile(path, format("write failed: %s", std::strerror(err)));
  }
}

void writeNpy(const HostTensor &t, const std::string &path) {
  namespace fs = std::filesystem;
  if (!npyDescr(t.dtype))
    failFile(path, format("cannot write dtype %s as .npy (numpy has no such dtype)", dtypeName(t.dtype)));
  fs::path target(path);
  fs::path temp = target.parent_path() / ("." + target.filename().string() + format(".%d.partial", int(getpid())));
  writeNpyFile(t, temp.string());
  std::error_code ec;
  fs::rename(temp, target, ec);
  if (ec) {
    fs::remove(temp, ec);
    failFile(path, "cannot rename into place: " + ec.message());
  }
}

HostTensor readTensorProto(const std::string &path) {
  std::string file = readWholeFile(path);
  ternc::rt::TensorProto proto;
  if (!proto.ParseFromString(file)) failFile(path, "not a valid ONNX TensorProto");
  if (proto.data_location() == 1 || proto.external_data_size() > 0)
    failFile(path, "TensorProto with external data is not supported");

  // ONNX TensorProto.DataType -> ternc_dtype.
  int32_t dtype;
  switch (proto.data_type()) {
  case 1: dtype = TERNC_F32; break;
  case 2: dtype = TERNC_U8; break;
  case 3: dtype = TERNC_I8; break;
  case 4: dtype = TERNC_U16; break;
  case 5: dtype = TERNC_I16; break;
  case 6: dtype = TERNC_I32; break;
  case 7: dtype = TERNC_I64; break;
  case 9: dtype = TERNC_BOOL; break;
  case 10: dtype = TERNC_F16; break;
  case 11: dtype = TERNC_F64; break;
  case 12: dtype = TERNC_U32; break;
  case 13: dtype = TERNC_U64; break;
  case 16: dtype = TERNC_BF16; break;
  default: failFile(path, format("unsupported TensorProto data_type %d", int(proto.data_type())));
  }
  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());
  HostTensor t;
  try {
    t = HostTensor::zeros(dtype, shape);
  } catch (const Error &e) {
    failFile(path, e.what());
  }
  size_t n = size_t(t.numElements());
  std::byte *out = t.bytes.data();

  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != t.byteSize())
      failFile(path, format("raw_data holds %zu bytes, expected %zu for %s with %zu elements", proto.raw_data().size(),
                            t.byteSize(), dtypeName(dtype), n));
    std::memcpy(out, proto.raw_data().data(), t.byteSize());
    return t;
  }
  auto checkCount = [&](int count, const char *field) {
    if (size_t(count) != n) failFile(path, format("%s holds %d values, expected %zu", field, count, n));
  };
  switch (dtype) {
  case TERNC_F32:
    checkCount(proto.float_data_size(), "float_data");
    std::memcpy(out, proto.float_data().data(), n * 4);
    break;
  case TERNC_F64:
    checkCount(proto.double_data_size(), "double_data");
    std::memcpy(out, proto.double_data().data(), n * 8);
    break;
  case TERNC_I64:
    checkCount(proto.int64_data_size(), "int64_data");
    std::memcpy(out, proto.int64_data().data(), n * 8);
    break;
  case TERNC_U32:
  case TERNC_U64: {
    checkCount(proto.uint64_data_size(), "uint64_data");
    for (size_t i = 0; i < n; ++i) {
      uint64_t v = proto.uint64_data(int(i));
      if (dtype == TERNC_U32) { uint32_t w = uint32_t(v); std::memcpy(out + 4 * i, &w, 4); }
      else std::memcpy(out + 8 * i, &v, 8);
    }
    break;
  }
  default: {
    // int32_data carries i32 and, one value per element, every narrower
    // integer, bool, and the bit patterns of f16/bf16 (low 16 bits).
    checkCount(proto.int32_data_size(), "int32_data");
    size_t size = ternc_dtype_size(dtype);
    for (size_t i = 0; i < n; ++i) {
      uint32_t v = uint32_t(proto.int32_data(int(i)));
      if (dtype == TERNC_BOOL) v = v != 0;
      std::memcpy(out + size * i, &v, size);  // little-endian: the low bytes
    }
    break;
  }
  }
  return t;
}

HostTensor readTensorFile(const std::string &path) {
  if (std::filesystem::path(path).extension() == ".pb") return readTensorProto(path);
  return readNpy(path);
}

} // namespace ternc::rt
