// Safetensors: parses and validates .safetensors headers and checkpoint folders; tensors stay in the file mapping.
#include "frontend/hf/Safetensors.h"

#include "ir/Error.h"

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <sys/stat.h>

namespace ternc::hf {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct DTypeInfo {
  StDType st;
  std::string_view name;
  size_t size;
  DType ternc;
};

constexpr DTypeInfo kDTypes[] = {
    {StDType::BOOL, "BOOL", 1, DType::Bool}, {StDType::U8, "U8", 1, DType::U8},
    {StDType::I8, "I8", 1, DType::I8},       {StDType::U16, "U16", 2, DType::U16},
    {StDType::I16, "I16", 2, DType::I16},    {StDType::F16, "F16", 2, DType::F16},
    {StDType::BF16, "BF16", 2, DType::BF16}, {StDType::U32, "U32", 4, DType::U32},
    {StDType::I32, "I32", 4, DType::I32},    {StDType::F32, "F32", 4, DType::F32},
    {StDType::U64, "U64", 8, DType::U64},    {StDType::I64, "I64", 8, DType::I64},
    {StDType::F64, "F64", 8, DType::F64},
};

const DTypeInfo &info(StDType t) { return kDTypes[static_cast<int>(t)]; }

/// Newer safetensors dtypes ternc has no element type for: named in the error instead of "unknown".
constexpr std::string_view kUnsupportedDTypes[] = {"F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",
                                                   "C64"};

/// Deepest JSON nesting accepted. A safetensors header needs 3 levels, an index 2.
constexpr int kMaxJsonDepth = 16;

/// "bf16[4,16]".
std::string describe(StDType dtype, const std::vector<int64_t> &shape) {
  return fmt::format("{}[{}]", dtypeName(info(dtype).ternc), fmt::join(shape, ","));
}

/// The JSON value's kind for error messages: "a string", "an array", ...
std::string_view kindOf(const json &j) {
  switch (j.type()) {
  case json::value_t::null: return "null";
  case json::value_t::object: return "an object";
  case json::value_t::array: return "an array";
  case json::value_t::string: return "a string";
  case json::value_t::boolean: return "a boolean";
  case json::value_t::number_integer: return "a negative integer";
  case json::value_t::number_unsigned: return "an integer";
  case json::value_t::number_float: return "a fractional number";
  default: return "a binary value";
  }
}

/// `s` for an error message: control bytes escaped as \xNN, cut to 200 bytes.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) {
    if (uint8_t(c) < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", uint8_t(c));
    else out += c;
  }
  if (s.size() > 200) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

/// Drops nlohmann's "[json.exception.parse_error.101] " prefix.
std::string jsonMessage(const std::exception &e) {
  std::string m = e.what();
  if (m.rfind("[json.exception.", 0) == 0) {
    size_t close = m.find("] ");
    if (close != std::string::npos) m = m.substr(close + 2);
  }
  return m;
}

/// Parses `text` (from `file`, described as `what`) as JSON, rejecting syntax errors (with their byte position),
/// nesting deeper than kMaxJsonDepth and duplicate keys in any object (nlohmann would silently keep the last).
/// `topKeyName` names top-level keys in the duplicate message ("tensor" -> "tensor 'x' appears twice").
json parseStrict(std::string_view text, const std::string &file, std::string_view what, std::string_view topKeyName) {
  std::vector<std::set<std::string>> keys;  // Keys seen so far in each open object.
  std::vector<bool> isObject;               // Each open container: object or array.
  std::string topKey;                       // The most recent key of the top-level object.
  auto callback = [&](int, json::parse_event_t event, json &parsed) -> bool {
    switch (event) {
    case json::parse_event_t::object_start:
    case json::parse_event_t::array_start:
      if (isObject.size() >= size_t(kMaxJsonDepth))
        fail("{}: {} nests deeper than {} levels", file, what, kMaxJsonDepth);
      isObject.push_back(event == json::parse_event_t::object_start);
      if (isObject.back()) keys.emplace_back();
      break;
    case json::parse_event_t::object_end:
    case json::parse_event_t::array_end:
      if (!isObject.empty()) {
        if (isObject.back()) keys.pop_back();
        isObject.pop_back();
      }
      break;
    case json::parse_event_t::key: {
      const std::string &k = parsed.get_ref<const std::string &>();
      if (keys.empty()) break;
      bool fresh = keys.back().insert(k).second;
      if (keys.size() == 1) {
        if (!fresh) fail("{}: {}: {} '{}' appears twice", file, what, topKeyName, printable(k));
        topKey = k;
      } else if (!fresh) {
        fail("{}: {}: key '{}' appears twice in the entry of '{}'", file, what, printable(k), printable(topKey));
      }
      break;
    }
    case json::parse_event_t::value: break;
    }
    return true;
  };
  // nlohmann stops at a NUL byte as if the input ended there; JSON text never holds a raw one.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos)
    fail("{}: {} is not valid JSON (byte {}): a NUL byte", file, what, nul + 1);
  try {
    return json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true);
  } catch (const json::parse_error &e) {
    fail("{}: {} is not valid JSON (byte {}): {}", file, what, e.byte, jsonMessage(e));
  } catch (const json::exception &e) {
    fail("{}: {} is not valid JSON: {}", file, what, jsonMessage(e));
  }
}

/// A non-negative JSON integer that fits int64, or an error built by `where`.
template <typename Where> uint64_t nonNegative(const json &j, Where where) {
  if (!j.is_number_unsigned()) where(fmt::format("is {}, not a non-negative integer", kindOf(j)));
  uint64_t v = j.get<uint64_t>();
  if (v > uint64_t(INT64_MAX)) where(fmt::format("{} is too large", v));
  return v;
}

/// Edit distance between `a` and `b` (for "did you mean" lists).
size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t(0));
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

/// Reads a whole (small) text file; errors name the file.
std::string readTextFile(const std::string &path, uint64_t limit) {
  std::error_code ec;
  uint64_t size = fs::file_size(path, ec);
  if (ec) fail("{}: cannot read: {}", path, ec.message());
  if (size > limit) fail("{}: file has {} bytes, more than the {} accepted", path, size, limit);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open: {}", path, std::strerror(errno));
  std::string text(size, '\0');
  in.read(text.data(), std::streamsize(size));
  if (size_t(in.gcount()) != size) fail("{}: read {} of its {} bytes", path, in.gcount(), size);
  return text;
}

} // namespace

size_t stDTypeSize(StDType t) { return info(t).size; }
std::string_view stDTypeName(StDType t) { return info(t).name; }
DType toTerncDType(StDType t) { return info(t).ternc; }

std::optional<StDType> parseStDType(std::string_view s) {
  for (const DTypeInfo &d : kDTypes)
    if (d.name == s) return d.st;
  return std::nullopt;
}

int64_t StTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// ---------------------------------------------------------------------------
// SafetensorsFile

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail("{}: not a regular file", path);
  return fromBytes(path, Storage::mapFile(path, 0, size_t(st.st_size)));
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::fromBytes(std::string name, std::shared_ptr<Storage> bytes) {
  if (!bytes) fail("{}: no data", name);
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->name_ = std::move(name);
  f->storage_ = std::move(bytes);
  f->parse();
  return f;
}

void SafetensorsFile::parse() {
  const std::string &file = name_;
  const uint8_t *base = reinterpret_cast<const uint8_t *>(storage_->data());
  uint64_t fileSize = storage_->size();
  if (fileSize < 8) fail("{}: file has {} bytes, too few for the 8-byte header length", file, fileSize);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | base[i];
  if (n > kMaxHeaderBytes)
    fail("{}: header length {} is larger than the {} bytes accepted", file, n, uint64_t(kMaxHeaderBytes));
  if (n > fileSize - 8) fail("{}: header length {} runs past the end of the file ({} bytes)", file, n, fileSize);
  headerSize_ = n;
  const uint64_t bufStart = 8 + n;
  const uint64_t bufSize = fileSize - bufStart;

  std::string_view text(reinterpret_cast<const char *>(base + 8), size_t(n));
  json header = parseStrict(text, file, "header", "tensor");
  if (!header.is_object()) fail("{}: header is {}, not a JSON object", file, kindOf(header));

  struct Range {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Range> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string &key = it.key();
    const json &v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) fail("{}: __metadata__ is {}, not an object", file, kindOf(v));
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail("{}: __metadata__ '{}' is {}, not a string", file, printable(m.key()), kindOf(m.value()));
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string &msg) { fail("{}: tensor '{}': {}", file, printable(key), msg); };
    if (key.empty()) bad("empty tensor name");
    if (!v.is_object()) bad(fmt::format("entry is {}, not an object", kindOf(v)));
    auto field = [&](const char *f) -> const json & {
      auto fit = v.find(f);
      if (fit == v.end()) bad(fmt::format("missing \"{}\"", f));
      return *fit;
    };
    const json &jd = field("dtype");
    const json &js = field("shape");
    const json &jo = field("data_offsets");

    if (!jd.is_string()) bad(fmt::format("dtype is {}, not a string", kindOf(jd)));
    const std::string &dname = jd.get_ref<const std::string &>();
    std::optional<StDType> dtype = parseStDType(dname);
    if (!dtype) {
      if (std::find(std::begin(kUnsupportedDTypes), std::end(kUnsupportedDTypes), dname) !=
          std::end(kUnsupportedDTypes))
        bad(fmt::format("dtype '{}' is not supported (ternc reads BOOL, U8..U64, I8..I64, F16, BF16, F32, F64)", dname));
      bad(fmt::format("unknown dtype '{}'", printable(dname)));
    }

    if (!js.is_array()) bad(fmt::format("shape is {}, not an array", kindOf(js)));
    std::vector<int64_t> shape;
    // The product of the non-zero dims must fit too, so that no later stride computation overflows.
    uint64_t nonZero = 1;
    bool overflow = false, empty = false;
    for (size_t i = 0; i < js.size(); ++i) {
      uint64_t d = nonNegative(js[i], [&](const std::string &m) { bad(fmt::format("shape[{}] {}", i, m)); });
      shape.push_back(int64_t(d));
      if (d == 0) empty = true;
      else overflow |= __builtin_mul_overflow(nonZero, d, &nonZero);
    }
    uint64_t need = 0;
    overflow |= __builtin_mul_overflow(nonZero, uint64_t(info(*dtype).size), &need);
    need = empty ? 0 : need;
    if (overflow || nonZero > uint64_t(INT64_MAX))
      bad(fmt::format("{} has more bytes than fit in 64 bits", describe(*dtype, shape)));

    if (!jo.is_array() || jo.size() != 2)
      bad(fmt::format("data_offsets is {}, not an array of two integers",
                      jo.is_array() ? fmt::format("an array of {}", jo.size()) : std::string(kindOf(jo))));
    uint64_t begin = nonNegative(jo[0], [&](const std::string &m) { bad("data_offsets[0] " + m); });
    uint64_t end = nonNegative(jo[1], [&](const std::string &m) { bad("data_offsets[1] " + m); });
    if (end < begin) bad(fmt::format("data_offsets [{}, {}) end before they begin", begin, end));
    if (end > bufSize)
      bad(fmt::format("data_offsets [{}, {}) run past the end of the data ({} bytes after the {}-byte header)", begin,
                      end, bufSize, bufStart));
    if (end - begin != need)
      bad(fmt::format("data_offsets [{}, {}) hold {} bytes but {} needs {}", begin, end, end - begin,
                      describe(*dtype, shape), need));

    StTensor t;
    t.name = key;
    t.dtype = *dtype;
    t.shape = std::move(shape);
    t.offset = size_t(bufStart + begin);
    t.data = base + t.offset;
    t.nbytes = size_t(need);
    t.file = &name_;
    ranges.push_back({begin, end, tensors_.size()});
    tensors_.push_back(std::move(t));
  }

  // Overlap: sort by start; each non-empty range must start at or after the furthest end so far.
  std::sort(ranges.begin(), ranges.end(),
            [](const Range &a, const Range &b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  const Range *furthest = nullptr;
  for (const Range &r : ranges) {
    if (r.begin == r.end) continue;
    if (furthest && r.begin < furthest->end)
      fail("{}: tensor '{}': data_offsets [{}, {}) overlap those of tensor '{}' [{}, {})", file,
           printable(tensors_[r.index].name), r.begin, r.end, printable(tensors_[furthest->index].name),
           furthest->begin, furthest->end);
    if (!furthest || r.end > furthest->end) furthest = &r;
  }
  std::vector<StTensor> sorted;
  sorted.reserve(tensors_.size());
  for (const Range &r : ranges) sorted.push_back(std::move(tensors_[r.index]));
  tensors_ = std::move(sorted);
  for (size_t i = 0; i < tensors_.size(); ++i) byName_.emplace(tensors_[i].name, i);
}

const StTensor *SafetensorsFile::find(std::string_view name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : &tensors_[it->second];
}

Tensor SafetensorsFile::view(const StTensor &t) const {
  if (t.file != &name_) fail("internal: tensor '{}' of {} viewed through {}", t.name, t.file ? *t.file : "?", name_);
  DType dt = toTerncDType(t.dtype);
  if (reinterpret_cast<uintptr_t>(t.data) % stDTypeSize(t.dtype) == 0) return Tensor(dt, t.shape, storage_, t.offset);
  auto copy = Storage::allocate(t.nbytes);
  if (t.nbytes) std::memcpy(copy->mutableData(), t.data, t.nbytes);
  return Tensor(dt, t.shape, copy);
}

Tensor SafetensorsFile::toF32(const StTensor &t) const {
  if (t.file != &name_) fail("internal: tensor '{}' of {} converted through {}", t.name, t.file ? *t.file : "?", name_);
  if (t.dtype != StDType::F32 && t.dtype != StDType::F16 && t.dtype != StDType::BF16)
    fail("{}: tensor '{}': cannot convert {} to f32 (f32, f16 and bf16 can be)", name_, printable(t.name),
         describe(t.dtype, t.shape));
  Tensor out(DType::F32, t.shape);
  float *dst = out.mutableData<float>();
  size_t n = size_t(t.numElements());
  if (t.dtype == StDType::F32) {
    if (n) std::memcpy(dst, t.data, n * 4);
    return out;
  }
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, t.data + 2 * i, 2);
    dst[i] = t.dtype == StDType::F16 ? halfToFloat(h) : bf16ToFloat(h);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Checkpoint

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string &dir) {
  std::unique_ptr<Checkpoint> c(new Checkpoint());
  c->dir_ = dir;
  std::error_code ec;
  fs::file_status status = fs::status(dir, ec);
  if (ec || !fs::exists(status)) fail("{}: no such folder", dir);

  if (fs::is_regular_file(status)) {
    c->files_.push_back(SafetensorsFile::open(dir));
    for (const StTensor &t : c->files_.back()->tensors()) c->byName_.emplace(t.name, &t);
    return c;
  }
  if (!fs::is_directory(status)) fail("{}: not a folder or a .safetensors file", dir);

  const fs::path root(dir);
  const std::string indexPath = (root / "model.safetensors.index.json").string();
  if (fs::exists(indexPath, ec)) {
    json index = parseStrict(readTextFile(indexPath, SafetensorsFile::kMaxHeaderBytes), indexPath, "index", "key");
    if (!index.is_object()) fail("{}: index is {}, not a JSON object", indexPath, kindOf(index));
    auto wm = index.find("weight_map");
    if (wm == index.end()) fail("{}: missing \"weight_map\"", indexPath);
    if (!wm->is_object()) fail("{}: weight_map is {}, not an object", indexPath, kindOf(*wm));

    std::map<std::string, SafetensorsFile *> shards;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it.value().is_string())
        fail("{}: weight_map: tensor '{}' maps to {}, not a file name", indexPath, printable(it.key()), kindOf(it.value()));
      const std::string &shard = it.value().get_ref<const std::string &>();
      if (shard.empty() || shard == "." || shard == ".." || shard.find_first_of(std::string_view("/\\\0", 3)) !=
                                                                 std::string::npos)
        fail("{}: weight_map: tensor '{}' maps to '{}', which is not a plain file name in the folder", indexPath,
             printable(it.key()), printable(shard));
      shards.emplace(shard, nullptr);
    }
    for (auto &[shard, file] : shards) {
      fs::path p = root / shard;
      std::error_code sec;
      if (!fs::exists(p, sec))
        fail("{}: shard '{}' (named in model.safetensors.index.json) does not exist", dir, printable(shard));
      c->files_.push_back(SafetensorsFile::open(p.string()));
      file = c->files_.back().get();
    }
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      SafetensorsFile *file = shards.at(it.value().get<std::string>());
      const StTensor *t = file->find(it.key());
      if (!t) {
        std::string holder;
        for (const auto &f : c->files_)
          if (f->find(it.key())) holder = fmt::format(" (it is in '{}')", fs::path(f->name()).filename().string());
        fail("{}: model.safetensors.index.json maps tensor '{}' to '{}', which does not hold it{}", dir,
             printable(it.key()), printable(it.value().get<std::string>()), holder);
      }
      c->byName_.emplace(it.key(), t);
    }
    return c;
  }

  std::vector<std::string> paths;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    std::string fname = it->path().filename().string();
    if (fname.size() > 12 && fname.ends_with(".safetensors") && it->is_regular_file(fec))
      paths.push_back(it->path().string());
  }
  if (ec) fail("{}: cannot list the folder: {}", dir, ec.message());
  if (paths.empty()) fail("{}: no model.safetensors.index.json and no *.safetensors file", dir);
  std::sort(paths.begin(), paths.end());
  for (const std::string &p : paths) {
    c->files_.push_back(SafetensorsFile::open(p));
    for (const StTensor &t : c->files_.back()->tensors()) {
      auto [it, fresh] = c->byName_.emplace(t.name, &t);
      if (!fresh) fail("{}: tensor '{}' is in both {} and {}", dir, printable(t.name), *it->second->file, p);
    }
  }
  return c;
}

const StTensor *Checkpoint::find(std::string_view name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

const StTensor &Checkpoint::get(std::string_view name) const {
  if (const StTensor *t = find(name)) return *t;
  std::vector<std::pair<size_t, std::string_view>> scored;
  for (const auto &[n, t] : byName_) scored.emplace_back(editDistance(name.substr(0, 256), std::string_view(n).substr(0, 256)), n);
  size_t keep = std::min<size_t>(5, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + keep, scored.end());
  std::vector<std::string> similar;
  for (size_t i = 0; i < keep; ++i) similar.push_back(fmt::format("'{}'", printable(scored[i].second)));
  if (similar.empty()) fail("{}: no tensor '{}' (the checkpoint has no tensors)", dir_, printable(name));
  fail("{}: no tensor '{}' (similar: {})", dir_, printable(name), fmt::join(similar, ", "));
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(byName_.size());
  for (const auto &[n, t] : byName_) out.push_back(n);
  return out;
}

const SafetensorsFile &Checkpoint::fileOf(const StTensor &t) const {
  for (const auto &f : files_)
    if (&f->name() == t.file) return *f;
  fail("internal: tensor '{}' does not belong to checkpoint {}", t.name, dir_);
}

} // namespace ternc::hf
