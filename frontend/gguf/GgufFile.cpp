// GgufFile: parsing and validation of GGUF v2/v3 files (docs/frontend-gguf.md).
#include "frontend/gguf/GgufFile.h"

#include "ir/Error.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>

namespace ternc::gguf {

namespace {

struct TypeEntry {
  GgmlType type;
  GgmlTypeTraits traits;
};

// Sizes as ggml reports them (ggml_blck_size / ggml_type_size); I2_S's are per element, see ggmlTensorBytes.
constexpr std::array<TypeEntry, 36> kTypes = {{
    {GgmlType::F32, {"f32", 1, 4}},
    {GgmlType::F16, {"f16", 1, 2}},
    {GgmlType::Q4_0, {"q4_0", 32, 18}},
    {GgmlType::Q4_1, {"q4_1", 32, 20}},
    {GgmlType::Q5_0, {"q5_0", 32, 22}},
    {GgmlType::Q5_1, {"q5_1", 32, 24}},
    {GgmlType::Q8_0, {"q8_0", 32, 34}},
    {GgmlType::Q8_1, {"q8_1", 32, 36}},
    {GgmlType::Q2_K, {"q2_K", 256, 84}},
    {GgmlType::Q3_K, {"q3_K", 256, 110}},
    {GgmlType::Q4_K, {"q4_K", 256, 144}},
    {GgmlType::Q5_K, {"q5_K", 256, 176}},
    {GgmlType::Q6_K, {"q6_K", 256, 210}},
    {GgmlType::Q8_K, {"q8_K", 256, 292}},
    {GgmlType::IQ2_XXS, {"iq2_xxs", 256, 66}},
    {GgmlType::IQ2_XS, {"iq2_xs", 256, 74}},
    {GgmlType::IQ3_XXS, {"iq3_xxs", 256, 98}},
    {GgmlType::IQ1_S, {"iq1_s", 256, 50}},
    {GgmlType::IQ4_NL, {"iq4_nl", 32, 18}},
    {GgmlType::IQ3_S, {"iq3_s", 256, 110}},
    {GgmlType::IQ2_S, {"iq2_s", 256, 82}},
    {GgmlType::IQ4_XS, {"iq4_xs", 256, 136}},
    {GgmlType::I8, {"i8", 1, 1}},
    {GgmlType::I16, {"i16", 1, 2}},
    {GgmlType::I32, {"i32", 1, 4}},
    {GgmlType::I64, {"i64", 1, 8}},
    {GgmlType::F64, {"f64", 1, 8}},
    {GgmlType::IQ1_M, {"iq1_m", 256, 56}},
    {GgmlType::BF16, {"bf16", 1, 2}},
    {GgmlType::TQ1_0, {"tq1_0", 256, 54}},
    {GgmlType::TQ2_0, {"tq2_0", 256, 66}},
    {GgmlType::I2_S, {"i2_s", 1, 1}},
    {GgmlType::MXFP4, {"mxfp4", 32, 17}},
    {GgmlType::NVFP4, {"nvfp4", 64, 36}},
    {GgmlType::Q1_0, {"q1_0", 128, 18}},
    {GgmlType::Q2_0, {"q2_0", 64, 18}},
}};

constexpr std::array<std::string_view, 13> kValueTypeNames = {"u8",  "i8",   "u16",    "i16",   "u32", "i32", "f32",
                                                             "bool", "string", "array", "u64", "i64", "f64"};

/// Bytes of one element of a scalar value type (0 for string and array).
size_t scalarSize(ValueType t) {
  switch (t) {
  case ValueType::U8:
  case ValueType::I8:
  case ValueType::Bool: return 1;
  case ValueType::U16:
  case ValueType::I16: return 2;
  case ValueType::U32:
  case ValueType::I32:
  case ValueType::F32: return 4;
  case ValueType::U64:
  case ValueType::I64:
  case ValueType::F64: return 8;
  case ValueType::String:
  case ValueType::Array: return 0;
  }
  return 0;
}

/// Fewest bytes one value of type `t` can take in a file (for bounding counts before allocating).
uint64_t minValueBytes(ValueType t) {
  if (t == ValueType::String)
    return 8;
  if (t == ValueType::Array)
    return 12;
  return scalarSize(t);
}

/// Sequential bounds-checked reads over the file bytes. Every failure names the file, the item being read (set by
/// the caller through `what`) and the position.
class Reader {
public:
  Reader(const std::string &path, const std::byte *data, uint64_t size) : path_(path), data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  void setItem(std::string item) { item_ = std::move(item); }

  [[noreturn]] void error(const std::string &msg) const {
    throw Error(item_.empty() ? fmt::format("{}: {}", path_, msg) : fmt::format("{}: {}: {}", path_, item_, msg));
  }

  void need(uint64_t n, std::string_view what) const {
    if (n > remaining())
      error(fmt::format("{} ({} bytes at offset {}) runs past the end of the file ({} bytes)", what, n, pos_, size_));
  }

  template <typename T> T read(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  const std::byte *take(uint64_t n, std::string_view what) {
    need(n, what);
    const std::byte *p = data_ + pos_;
    pos_ += n;
    return p;
  }

  /// A string; `what` names it in errors, with " {index}" appended when index >= 0 (formatted only on failure:
  /// vocabularies have 10^5 strings).
  std::string_view readString(std::string_view what, int64_t index = -1) {
    auto label = [&] { return index < 0 ? std::string(what) : fmt::format("{} {}", what, index); };
    if (remaining() < 8)
      need(8, "the length of " + label());
    uint64_t len = read<uint64_t>("a string length");
    if (len > remaining())
      error(fmt::format("{} has length {}, which runs past the end of the file ({} bytes left at offset {})", label(),
                        len, remaining(), pos_));
    const std::byte *p = data_ + pos_;
    pos_ += len;
    return {reinterpret_cast<const char *>(p), size_t(len)};
  }

  ValueType readValueType(std::string_view what) {
    uint32_t t = read<uint32_t>(what);
    if (t >= kValueTypeNames.size())
      error(fmt::format("unknown value type {} (at offset {})", t, pos_ - 4));
    return ValueType(t);
  }

  /// A value of type `t`; `depth` counts enclosing arrays.
  Value readValue(ValueType t, int depth) {
    Value v;
    v.type = t;
    switch (t) {
    case ValueType::U8: v.u = read<uint8_t>("a u8 value"); break;
    case ValueType::I8: v.i = read<int8_t>("an i8 value"); break;
    case ValueType::U16: v.u = read<uint16_t>("a u16 value"); break;
    case ValueType::I16: v.i = read<int16_t>("an i16 value"); break;
    case ValueType::U32: v.u = read<uint32_t>("a u32 value"); break;
    case ValueType::I32: v.i = read<int32_t>("an i32 value"); break;
    case ValueType::U64: v.u = read<uint64_t>("a u64 value"); break;
    case ValueType::I64: v.i = read<int64_t>("an i64 value"); break;
    case ValueType::F32: v.f = read<float>("an f32 value"); break;
    case ValueType::F64: v.f = read<double>("an f64 value"); break;
    case ValueType::Bool: {
      uint8_t b = read<uint8_t>("a bool value");
      if (b > 1)
        error(fmt::format("bool value {} at offset {} is neither 0 nor 1", b, pos_ - 1));
      v.u = b;
      break;
    }
    case ValueType::String: v.str = readString("a string value"); break;
    case ValueType::Array: readArray(v, depth); break;
    }
    return v;
  }

private:
  void readArray(Value &v, int depth) {
    if (depth >= GgufFile::kMaxArrayDepth)
      error(fmt::format("arrays nested more than {} deep", GgufFile::kMaxArrayDepth));
    v.elemType = readValueType("an array's element type");
    v.count = read<uint64_t>("an array's length");
    uint64_t minBytes = minValueBytes(v.elemType);
    if (v.count > remaining() / minBytes)
      error(fmt::format("array of {} {} values cannot fit in the {} bytes left in the file (at offset {})", v.count,
                        valueTypeName(v.elemType), remaining(), pos_));
    if (size_t elemSize = scalarSize(v.elemType)) {
      uint64_t start = pos_;
      v.elems = take(v.count * elemSize, "array data");
      if (v.elemType == ValueType::Bool) {
        for (uint64_t k = 0; k < v.count; ++k) {
          auto b = static_cast<uint8_t>(v.elems[k]);
          if (b > 1)
            error(fmt::format("bool array element {} (offset {}) is {}, neither 0 nor 1", k, start + k, b));
        }
      }
    } else if (v.elemType == ValueType::String) {
      v.strings.reserve(size_t(v.count));
      for (uint64_t k = 0; k < v.count; ++k)
        v.strings.push_back(readString("string array element", int64_t(k)));
    } else {
      v.arrays.reserve(size_t(v.count));
      for (uint64_t k = 0; k < v.count; ++k)
        v.arrays.push_back(readValue(ValueType::Array, depth + 1));
    }
  }

  const std::string &path_;
  const std::byte *data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string item_;
};

/// Raw element k of a scalar array as int64 (integers and bool); nullopt if a u64 exceeds int64.
std::optional<int64_t> intElement(const Value &v, uint64_t k) {
  Value e = v.element(k);
  if (e.type == ValueType::I8 || e.type == ValueType::I16 || e.type == ValueType::I32 || e.type == ValueType::I64)
    return e.i;
  if (e.type == ValueType::F32 || e.type == ValueType::F64) return std::nullopt;
  if (e.u > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return int64_t(e.u);
}

/// `s` for a message: at most 80 bytes, bytes outside printable ASCII as \xNN.
std::string printable(std::string_view s) {
  std::string out;
  for (size_t k = 0; k < s.size() && k < 80; ++k) {
    auto c = static_cast<unsigned char>(s[k]);
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out += char(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  if (s.size() > 80)
    out += "...";
  return out;
}

bool isIntegerType(ValueType t) {
  switch (t) {
  case ValueType::U8:
  case ValueType::I8:
  case ValueType::U16:
  case ValueType::I16:
  case ValueType::U32:
  case ValueType::I32:
  case ValueType::U64:
  case ValueType::I64: return true;
  default: return false;
  }
}

bool isSigned(ValueType t) {
  return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}

} // namespace

std::optional<GgmlType> ggmlTypeFromId(uint32_t id) {
  for (const TypeEntry &e : kTypes) {
    if (uint32_t(e.type) == id)
      return e.type;
  }
  return std::nullopt;
}

const GgmlTypeTraits &ggmlTypeTraits(GgmlType t) {
  for (const TypeEntry &e : kTypes) {
    if (e.type == t)
      return e.traits;
  }
  fail("unknown ggml type id {}", uint32_t(t));
}

std::string_view ggmlTypeName(GgmlType t) { return ggmlTypeTraits(t).name; }

std::optional<uint64_t> ggmlTensorBytes(GgmlType t, int64_t n, int64_t rowLength) {
  const GgmlTypeTraits &tr = ggmlTypeTraits(t);
  if (n < 0 || rowLength <= 0 || rowLength % tr.blockSize != 0)
    return std::nullopt;
  if (t == GgmlType::I2_S)
    return uint64_t(n / 4 + (n % 4 != 0)) + 32;
  uint64_t blocks = uint64_t(n / tr.blockSize);
  if (blocks > std::numeric_limits<uint64_t>::max() / uint64_t(tr.typeSize))
    return std::nullopt;
  return blocks * uint64_t(tr.typeSize);
}

std::string_view valueTypeName(ValueType t) {
  auto i = size_t(t);
  return i < kValueTypeNames.size() ? kValueTypeNames[i] : std::string_view("?");
}

Value Value::element(uint64_t k) const {
  Value e;
  e.type = elemType;
  const std::byte *p = elems + k * scalarSize(elemType);
  auto load = [p](auto x) {
    std::memcpy(&x, p, sizeof(x));
    return x;
  };
  switch (elemType) {
  case ValueType::U8:
  case ValueType::Bool: e.u = load(uint8_t()); break;
  case ValueType::I8: e.i = load(int8_t()); break;
  case ValueType::U16: e.u = load(uint16_t()); break;
  case ValueType::I16: e.i = load(int16_t()); break;
  case ValueType::U32: e.u = load(uint32_t()); break;
  case ValueType::I32: e.i = load(int32_t()); break;
  case ValueType::U64: e.u = load(uint64_t()); break;
  case ValueType::I64: e.i = load(int64_t()); break;
  case ValueType::F32: e.f = load(float()); break;
  case ValueType::F64: e.f = load(double()); break;
  case ValueType::String:
  case ValueType::Array: throw Error("internal: Value::element on an array of " + std::string(valueTypeName(elemType)));
  }
  return e;
}

bool Value::isInteger() const { return isIntegerType(type); }

std::string Value::describe() const {
  if (type != ValueType::Array)
    return std::string(valueTypeName(type));
  std::string inner = elemType == ValueType::Array && !arrays.empty() ? arrays[0].describe()
                                                                     : std::string(valueTypeName(elemType));
  return "array of " + inner;
}

std::string Value::brief() const {
  switch (type) {
  case ValueType::String: {
    std::string s(str.substr(0, 60));
    return "\"" + s + (str.size() > 60 ? "...\"" : "\"");
  }
  case ValueType::Array: return fmt::format("[{} x {}]", count, valueTypeName(elemType));
  case ValueType::Bool: return u ? "true" : "false";
  case ValueType::F32:
  case ValueType::F64: return fmt::format("{}", f);
  default: return isSigned(type) ? fmt::format("{}", i) : fmt::format("{}", u);
  }
}

int64_t TensorInfo::numElements() const {
  int64_t n = 1;
  for (int64_t d : ne)
    n *= d;
  return n;
}

int64_t TensorInfo::numRows() const {
  int64_t n = 1;
  for (size_t k = 1; k < ne.size(); ++k)
    n *= ne[k];
  return n;
}

std::vector<int64_t> TensorInfo::shape() const { return {ne.rbegin(), ne.rend()}; }

std::unique_ptr<GgufFile> GgufFile::open(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    fail("{}: cannot open: {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    fail("{}: not a regular file", path);
  return fromBytes(path, Storage::mapFile(path, 0, size_t(st.st_size)));
}

std::unique_ptr<GgufFile> GgufFile::fromBytes(std::string name, std::shared_ptr<Storage> bytes) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = std::move(name);
  f->storage_ = std::move(bytes);
  f->parse();
  return f;
}

void GgufFile::parse() {
  const std::byte *base = storage_->data();
  const uint64_t size = storage_->size();
  Reader r(path_, base, size);

  r.setItem("header");
  if (size < 4 || std::memcmp(base, "GGUF", 4) != 0)
    r.error("not a GGUF file (the magic bytes \"GGUF\" are missing)");
  r.take(4, "magic");
  version_ = r.read<uint32_t>("the version");
  if (version_ != 2 && version_ != 3) {
    if (version_ == 1)
      r.error("GGUF version 1 is not supported (versions 2 and 3 are)");
    r.error(fmt::format("unsupported GGUF version {} (versions 2 and 3 are supported; a byte-swapped version "
                        "means a big-endian file)",
                        version_));
  }
  uint64_t tensorCount = r.read<uint64_t>("the tensor count");
  uint64_t kvCount = r.read<uint64_t>("the metadata count");
  // Each metadata pair takes at least 13 bytes (key length, value type, one byte), each tensor info at least 32
  // (name length, n_dims, one dim, type, offset).
  if (kvCount > r.remaining() / 13)
    r.error(fmt::format("{} metadata pairs cannot fit in the {} bytes left in the file", kvCount, r.remaining()));
  if (tensorCount > r.remaining() / 32)
    r.error(fmt::format("{} tensors cannot fit in the {} bytes left in the file", tensorCount, r.remaining()));

  metadata_.reserve(size_t(kvCount));
  for (uint64_t k = 0; k < kvCount; ++k) {
    r.setItem(fmt::format("metadata pair {}", k));
    std::string_view key = r.readString("the key");
    if (key.empty())
      r.error("empty key");
    r.setItem(fmt::format("metadata '{}'", printable(key)));
    if (keyIndex_.count(key))
      r.error("duplicate key");
    ValueType t = r.readValueType("the value type");
    Value v = r.readValue(t, 0);
    keyIndex_.emplace(std::string(key), metadata_.size());
    metadata_.emplace_back(std::string(key), std::move(v));
  }

  if (const Value *a = find("general.alignment")) {
    r.setItem("metadata 'general.alignment'");
    if (!a->isInteger())
      r.error(fmt::format("expected an integer, found {}", a->describe()));
    uint64_t al = isSigned(a->type) ? uint64_t(a->i) : a->u;
    if (isSigned(a->type) && a->i <= 0)
      r.error(fmt::format("alignment {} is not a positive power of two", a->i));
    if (al == 0 || (al & (al - 1)) != 0 || al > (uint64_t(1) << 30))
      r.error(fmt::format("alignment {} is not a power of two between 1 and 2^30", al));
    alignment_ = al;
  }

  tensors_.reserve(size_t(tensorCount));
  for (uint64_t k = 0; k < tensorCount; ++k) {
    r.setItem(fmt::format("tensor {}", k));
    std::string_view name = r.readString("the tensor name");
    if (name.empty())
      r.error("empty tensor name");
    r.setItem(fmt::format("tensor '{}'", printable(name)));
    if (tensorIndex_.count(name))
      r.error("duplicate tensor name");
    TensorInfo t;
    t.name = std::string(name);
    uint32_t nDims = r.read<uint32_t>("the number of dimensions");
    if (nDims < 1 || nDims > uint32_t(kMaxDims))
      r.error(fmt::format("{} dimensions (1 to {} are allowed)", nDims, kMaxDims));
    int64_t n = 1;
    for (uint32_t d = 0; d < nDims; ++d) {
      uint64_t dim = r.read<uint64_t>("a dimension");
      if (dim == 0)
        r.error(fmt::format("dimension {} is 0", d));
      if (dim > uint64_t(std::numeric_limits<int64_t>::max()) ||
          int64_t(dim) > std::numeric_limits<int64_t>::max() / n)
        r.error(fmt::format("the element count overflows at dimension {} ({})", d, dim));
      n *= int64_t(dim);
      t.ne.push_back(int64_t(dim));
    }
    uint32_t typeId = r.read<uint32_t>("the type");
    std::optional<GgmlType> type = ggmlTypeFromId(typeId);
    if (!type)
      r.error(fmt::format("unknown ggml type id {}", typeId));
    t.type = *type;
    const GgmlTypeTraits &tr = ggmlTypeTraits(t.type);
    if (t.ne[0] % tr.blockSize != 0)
      r.error(fmt::format("rows of {} elements are not a whole number of {} blocks ({} elements each)", t.ne[0],
                          tr.name, tr.blockSize));
    std::optional<uint64_t> nbytes = ggmlTensorBytes(t.type, n, t.ne[0]);
    if (!nbytes)
      r.error(fmt::format("the size of {} {} elements overflows", n, tr.name));
    t.nbytes = *nbytes;
    t.offset = r.read<uint64_t>("the data offset");
    if (t.offset % alignment_ != 0)
      r.error(fmt::format("data offset {} is not a multiple of the alignment {}", t.offset, alignment_));
    tensorIndex_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment.
  uint64_t end = r.pos();
  uint64_t pad = (alignment_ - end % alignment_) % alignment_;
  dataOffset_ = end + pad;
  if (tensors_.empty())
    return;
  if (dataOffset_ > size)
    fail("{}: the data section would start at offset {}, past the end of the file ({} bytes)", path_, dataOffset_,
         size);
  uint64_t dataSize = size - dataOffset_;
  for (TensorInfo &t : tensors_) {
    if (t.offset > dataSize || t.nbytes > dataSize - t.offset)
      fail("{}: tensor '{}': data [{}, {}) of the data section runs past the end of the file (the section has {} "
           "bytes)",
           path_, printable(t.name), t.offset, t.offset > dataSize ? t.offset : t.offset + t.nbytes, dataSize);
    t.fileOffset = dataOffset_ + t.offset;
    t.data = base + t.fileOffset;
  }
  // No two tensors may share bytes.
  std::vector<const TensorInfo *> byOffset;
  for (const TensorInfo &t : tensors_)
    byOffset.push_back(&t);
  std::sort(byOffset.begin(), byOffset.end(),
            [](const TensorInfo *a, const TensorInfo *b) { return a->offset < b->offset; });
  for (size_t k = 1; k < byOffset.size(); ++k) {
    const TensorInfo &a = *byOffset[k - 1], &b = *byOffset[k];
    if (b.offset < a.offset + a.nbytes)
      fail("{}: tensor '{}': data [{}, {}) overlaps tensor '{}' at [{}, {})", path_, printable(b.name), b.offset,
           b.offset + b.nbytes, printable(a.name), a.offset, a.offset + a.nbytes);
  }
}

const Value *GgufFile::find(std::string_view key) const {
  auto it = keyIndex_.find(key);
  return it == keyIndex_.end() ? nullptr : &metadata_[it->second].second;
}

void GgufFile::failKey(std::string_view key, const std::string &what) const {
  fail("{}: metadata '{}': {}", path_, key, what);
}

const Value &GgufFile::get(std::string_view key) const {
  const Value *v = find(key);
  if (!v)
    fail("{}: metadata key '{}' is missing", path_, key);
  return *v;
}

std::string GgufFile::getString(std::string_view key) const {
  const Value &v = get(key);
  if (v.type != ValueType::String)
    failKey(key, fmt::format("expected a string, found {}", v.describe()));
  return std::string(v.str);
}

std::string GgufFile::getString(std::string_view key, const std::string &def) const {
  return has(key) ? getString(key) : def;
}

int64_t GgufFile::getInt(std::string_view key) const {
  const Value &v = get(key);
  if (!v.isInteger())
    failKey(key, fmt::format("expected an integer, found {}", v.describe()));
  if (isSigned(v.type))
    return v.i;
  if (v.u > uint64_t(std::numeric_limits<int64_t>::max()))
    failKey(key, fmt::format("value {} is out of the int64 range", v.u));
  return int64_t(v.u);
}

int64_t GgufFile::getInt(std::string_view key, int64_t def) const { return has(key) ? getInt(key) : def; }

uint32_t GgufFile::getU32(std::string_view key) const {
  int64_t x = getInt(key);
  if (x < 0 || x > int64_t(std::numeric_limits<uint32_t>::max()))
    failKey(key, fmt::format("value {} is out of the u32 range", x));
  return uint32_t(x);
}

uint32_t GgufFile::getU32(std::string_view key, uint32_t def) const { return has(key) ? getU32(key) : def; }

double GgufFile::getFloat(std::string_view key) const {
  const Value &v = get(key);
  if (v.isFloat())
    return v.f;
  if (v.isInteger())
    return isSigned(v.type) ? double(v.i) : double(v.u);
  failKey(key, fmt::format("expected a number, found {}", v.describe()));
}

double GgufFile::getFloat(std::string_view key, double def) const { return has(key) ? getFloat(key) : def; }

bool GgufFile::getBool(std::string_view key) const {
  const Value &v = get(key);
  if (v.type != ValueType::Bool)
    failKey(key, fmt::format("expected a bool, found {}", v.describe()));
  return v.u != 0;
}

bool GgufFile::getBool(std::string_view key, bool def) const { return has(key) ? getBool(key) : def; }

const Value &GgufFile::getArray(std::string_view key) const {
  const Value &v = get(key);
  if (v.type != ValueType::Array)
    failKey(key, fmt::format("expected an array, found {}", v.describe()));
  return v;
}

std::vector<std::string> GgufFile::getStringArray(std::string_view key) const {
  const Value &v = getArray(key);
  if (v.elemType != ValueType::String)
    failKey(key, fmt::format("expected an array of string, found {}", v.describe()));
  return {v.strings.begin(), v.strings.end()};
}

std::vector<float> GgufFile::getFloatArray(std::string_view key) const {
  const Value &v = getArray(key);
  std::vector<float> out;
  out.reserve(size_t(v.count));
  if (v.elemType == ValueType::F32) {
    out.resize(size_t(v.count));
    if (v.count)
      std::memcpy(out.data(), v.elems, size_t(v.count) * 4);
  } else if (v.elemType == ValueType::F64) {
    for (uint64_t k = 0; k < v.count; ++k) {
      double d;
      std::memcpy(&d, v.elems + k * 8, 8);
      out.push_back(float(d));
    }
  } else {
    failKey(key, fmt::format("expected an array of f32 or f64, found {}", v.describe()));
  }
  return out;
}

std::vector<int64_t> GgufFile::getIntArray(std::string_view key) const {
  const Value &v = getArray(key);
  if (!isIntegerType(v.elemType))
    failKey(key, fmt::format("expected an array of integers, found {}", v.describe()));
  std::vector<int64_t> out;
  out.reserve(size_t(v.count));
  for (uint64_t k = 0; k < v.count; ++k) {
    std::optional<int64_t> x = intElement(v, k);
    if (!x)
      failKey(key, fmt::format("element {} is out of the int64 range", k));
    out.push_back(*x);
  }
  return out;
}

const TensorInfo *GgufFile::findTensor(std::string_view name) const {
  auto it = tensorIndex_.find(name);
  return it == tensorIndex_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo &GgufFile::getTensor(std::string_view name) const {
  const TensorInfo *t = findTensor(name);
  if (!t)
    fail("{}: tensor '{}' is missing", path_, name);
  return *t;
}

} // namespace ternc::gguf
