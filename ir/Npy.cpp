// Npy: reading and writing NumPy .npy files (format 1.0-3.0 read, 1.0 write).
#include "ir/Npy.h"

#include "ir/Error.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace ternc {

namespace {

static_assert(std::endian::native == std::endian::little, "ternc assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

/// NumPy type strings for ternc dtypes. One-byte types have no byte order
/// ('|'); NumPy writes them that way. bf16 and tern have no NumPy dtype.
struct NpyCode {
  DType dtype;
  const char *code;  // without the byte-order character
};
constexpr NpyCode kCodes[] = {
    {DType::F64, "f8"}, {DType::F32, "f4"}, {DType::F16, "f2"}, {DType::I8, "i1"},  {DType::I16, "i2"},
    {DType::I32, "i4"}, {DType::I64, "i8"}, {DType::U8, "u1"},  {DType::U16, "u2"}, {DType::U32, "u4"},
    {DType::U64, "u8"}, {DType::Bool, "b1"},
};

std::optional<DType> dtypeFromDescr(const std::string &path, const std::string &descr) {
  if (descr.size() < 2) return std::nullopt;
  char order = descr[0];
  std::string code = descr.substr(1);
  for (const auto &c : kCodes) {
    if (code != c.code) continue;
    bool oneByte = dtypeSize(c.dtype) == 1;
    if (order == '>' && !oneByte)
      fail("{}: big-endian data ('{}') is not supported; save it little-endian (arr.astype('<{}'))", path, descr,
           code);
    if (order == '<' || order == '=' || (oneByte && (order == '|' || order == '>'))) return c.dtype;
    return std::nullopt;
  }
  return std::nullopt;
}

/// The header is a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`. This reads
/// exactly that grammar: string keys, and values that are strings, booleans
/// or tuples of integers.
class HeaderParser {
public:
  HeaderParser(const std::string &path, const std::string &text) : path_(path), s_(text) {}

  struct Fields {
    std::optional<std::string> descr;
    std::optional<bool> fortranOrder;
    std::optional<std::vector<int64_t>> shape;
  };

  Fields parse() {
    Fields f;
    expect('{');
    skipSpace();
    while (peek() != '}') {
      std::string key = parseString();
      expect(':');
      skipSpace();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"')
          bad("'descr' is not a simple type string (structured dtypes are not supported)");
        f.descr = parseString();
      } else if (key == "fortran_order") {
        f.fortranOrder = parseBool();
      } else if (key == "shape") {
        f.shape = parseShape();
      } else {
        bad(fmt::format("unexpected key '{}'", key));
      }
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        skipSpace();
      } else if (peek() != '}') {
        bad("expected ',' or '}'");
      }
    }
    return f;
  }

private:
  [[noreturn]] void bad(const std::string &what) const {
    fail("{}: malformed .npy header ({}): {}", path_, what, s_);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  void expect(char c) {
    skipSpace();
    if (peek() != c) bad(fmt::format("expected '{}'", c));
    ++pos_;
  }
  std::string parseString() {
    skipSpace();
    char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string");
    size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) bad("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool parseBool() {
    if (s_.compare(pos_, 4, "True") == 0) { pos_ += 4; return true; }
    if (s_.compare(pos_, 5, "False") == 0) { pos_ += 5; return false; }
    bad("expected True or False");
  }
  std::vector<int64_t> parseShape() {
    expect('(');
    std::vector<int64_t> dims;
    skipSpace();
    while (peek() != ')') {
      size_t start = pos_;
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (INT64_MAX - 9) / 10) bad("dimension too large");
        v = v * 10 + (peek() - '0');
        ++pos_;
      }
      if (pos_ == start) bad("expected a dimension");
      if (peek() == 'L') ++pos_;  // Python 2 long suffix
      dims.push_back(v);
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        skipSpace();
      } else if (peek() != ')') {
        bad("expected ',' or ')' in the shape");
      }
    }
    ++pos_;
    return dims;
  }

  const std::string &path_;
  const std::string &s_;
  size_t pos_ = 0;
};

uint32_t readLE(const unsigned char *p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

} // namespace

Tensor readNpy(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open: {}", path, std::strerror(errno));
  unsigned char pre[12];
  in.read(reinterpret_cast<char *>(pre), 10);
  if (in.gcount() < 10 || std::memcmp(pre, kMagic, kMagicLen) != 0)
    fail("{}: not a .npy file (missing the \\x93NUMPY magic)", path);
  int major = pre[6];
  size_t headerLen;
  size_t prefixLen;
  if (major == 1) {
    headerLen = readLE(pre + 8, 2);
    prefixLen = 10;
  } else if (major == 2 || major == 3) {
    in.read(reinterpret_cast<char *>(pre + 10), 2);
    if (in.gcount() < 2) fail("{}: truncated .npy header", path);
    headerLen = readLE(pre + 8, 4);
    prefixLen = 12;
  } else {
    fail("{}: unsupported .npy format version {}.{} (ternc reads 1.0 to 3.0)", path, major, int(pre[7]));
  }
  std::string header(headerLen, '\0');
  in.read(header.data(), std::streamsize(headerLen));
  if (size_t(in.gcount()) < headerLen)
    fail("{}: truncated .npy header: {} bytes expected, {} found", path, headerLen, in.gcount());

  auto fields = HeaderParser(path, header).parse();
  if (!fields.descr || !fields.fortranOrder || !fields.shape)
    fail("{}: .npy header lacks 'descr', 'fortran_order' or 'shape': {}", path, header);
  std::optional<DType> dtype = dtypeFromDescr(path, *fields.descr);
  if (!dtype)
    fail("{}: unsupported .npy dtype '{}' (supported: <f8 <f4 <f2 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1)", path,
         *fields.descr);
  const std::vector<int64_t> &shape = *fields.shape;
  if (*fields.fortranOrder)
    fail("{}: Fortran-order arrays are not supported; save with np.ascontiguousarray", path);

  uint64_t count = 1;
  for (int64_t d : shape) {
    if (d != 0 && count > (uint64_t(1) << 56) / uint64_t(d)) fail("{}: shape is too large", path);
    count *= uint64_t(d);
  }
  size_t bytes = size_t(count) * dtypeSize(*dtype);
  Tensor t(*dtype, shape);
  if (bytes) in.read(reinterpret_cast<char *>(t.mutableRawData()), std::streamsize(bytes));
  size_t got = bytes ? size_t(in.gcount()) : 0;
  if (got < bytes)
    fail("{}: truncated: the header promises {} bytes of data ({} x {}), but the file has {} after the "
         "{}-byte header",
         path, bytes, dtypeName(*dtype), count, got, prefixLen + headerLen);
  if (in.peek() != std::char_traits<char>::eof())
    fail("{}: has bytes after the {} bytes of data its header describes", path, bytes);
  if (*dtype == DType::Bool) {
    const auto *p = reinterpret_cast<const uint8_t *>(t.rawData());
    for (size_t i = 0; i < count; ++i)
      if (p[i] > 1) fail("{}: bool element {} has the value {}, not 0 or 1", path, i, int(p[i]));
  }
  return t;
}

void writeNpy(const Tensor &t, const std::string &path) {
  const char *code = nullptr;
  for (const auto &c : kCodes)
    if (c.dtype == t.dtype()) code = c.code;
  if (!code) {
    if (t.dtype() == DType::BF16)
      fail("{}: cannot write a bf16 tensor as .npy: NumPy has no bfloat16 dtype (cast it to f32 first)", path);
    fail("{}: cannot write a {} tensor as .npy: NumPy has no such dtype", path, dtypeName(t.dtype()));
  }
  std::string shape = "(";
  for (size_t i = 0; i < t.rank(); ++i) shape += fmt::format("{}, ", t.shape()[i]);
  if (t.rank() > 1) shape.resize(shape.size() - 2);  // (2, 3) but (3,) for rank 1
  else if (t.rank() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  char order = dtypeSize(t.dtype()) == 1 ? '|' : '<';
  std::string header = fmt::format("{{'descr': '{}{}', 'fortran_order': False, 'shape': {}, }}", order, code, shape);
  // Pad with spaces so that the data starts 64-byte aligned, as NumPy does.
  size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  if (header.size() > 0xffff) fail("{}: .npy header too long for format 1.0", path);

  std::string prefix(kMagic, kMagicLen);
  prefix += char(1);
  prefix += char(0);
  prefix += char(header.size() & 0xff);
  prefix += char(header.size() >> 8);

  // Write next to the target and rename, so a failure never leaves a partial file.
  std::filesystem::path target(path);
  std::string tmpl = (target.parent_path() / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  int fd = mkstemp(tmpl.data());
  if (fd < 0) fail("{}: cannot create a temporary file: {}", path, std::strerror(errno));
  auto writeAll = [&](const void *data, size_t n) {
    const char *p = static_cast<const char *>(data);
    while (n > 0) {
      ssize_t w = ::write(fd, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      p += w;
      n -= size_t(w);
    }
    return true;
  };
  bool ok = writeAll(prefix.data(), prefix.size()) && writeAll(header.data(), header.size()) &&
            (t.byteSize() == 0 || writeAll(t.rawData(), t.byteSize()));
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok) {
    // mkstemp creates the file 0600; give it the usual permissions.
    mode_t mask = umask(0);
    umask(mask);
    chmod(tmpl.c_str(), 0666 & ~mask);
    if (std::rename(tmpl.c_str(), path.c_str()) != 0) {
      ok = false;
      err = errno;
    }
  }
  if (!ok) {
    std::remove(tmpl.c_str());
    fail("{}: cannot write: {}", path, std::strerror(err));
  }
}

} // namespace ternc
