// Printer: writes a Module in the text form of docs/ir.md, and the weights
// file that `blob<OFFSET, SIZE>` constants point into.
#include "ir/Printer.h"

#include "ir/Error.h"
#include "ir/OpRegistry.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace ternc {

namespace {

constexpr size_t kBlobAlignment = 64;

bool isPlainNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '$' || c == '-';
}

/// `"..."` with C escapes; bytes >= 0x80 pass through so UTF-8 names stay readable.
std::string quoteString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    case '\r': out += "\\r"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
      else
        out += c;
    }
  }
  return out + "\"";
}

/// Shortest text that reads back to the same value, always recognizable as
/// a float (fmt prints 1.0f as "1", which would read back as an integer).
template <typename F> std::string formatFloat(F v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";  // 'n': inf, nan
  return s;
}

std::string formatElement(const Tensor &t, int64_t i) {
  switch (t.dtype()) {
  case DType::F64: return formatFloat(t.data<double>()[i]);
  case DType::F32: return formatFloat(t.data<float>()[i]);
  case DType::F16:
  case DType::BF16: return formatFloat(float(t.getDouble(i)));
  case DType::Bool: return t.getInt(i) ? "true" : "false";
  case DType::U64: return fmt::format("{}", t.data<uint64_t>()[i]);
  default: return fmt::format("{}", t.getInt(i));
  }
}

/// `dense<v>` for a scalar, `dense<[a, b, ...]>` otherwise (flat, row-major).
std::string formatDense(const Tensor &t) {
  std::string out = "dense<";
  if (t.rank() == 0) return out + formatElement(t, 0) + ">";
  out += "[";
  for (int64_t i = 0; i < t.numElements(); ++i) {
    if (i) out += ", ";
    out += formatElement(t, i);
  }
  return out + "]>";
}

std::string formatHex(const Tensor &t) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "hex<\"";
  out.reserve(t.byteSize() * 2 + 8);
  const auto *p = reinterpret_cast<const unsigned char *>(t.rawData());
  for (size_t i = 0; i < t.byteSize(); ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out + "\">";
}

std::string valueRef(const Value *v) {
  if (!v) return "_";
  return (v->kind() == Value::Kind::Constant ? "@" : "%") + quoteIdentifierIfNeeded(v->name());
}


/// A failed fwrite sets the stream's error flag, which writeFileAtomically checks.
void writeBytes(std::FILE *f, const void *data, size_t n) {
  if (n) std::fwrite(data, 1, n, f);
}

/// How each constant's data is printed, decided before printing because
/// the module header must say whether a weights file exists.
struct ConstantPlan {
  enum Form { Dense, Hex, Blob, Elided } form = Dense;
  size_t offset = 0;  // Blob: where in the weights file
};

std::vector<ConstantPlan> planConstants(const Module &m, const PrintOptions &opts, size_t &weightsBytes) {
  std::vector<ConstantPlan> plans;
  weightsBytes = 0;
  for (const auto &c : m.constants()) {
    if (!c->data.isValid()) fail("internal: constant @{} has no data to print", c->value.name());
    ConstantPlan p;
    bool small = c->data.numElements() <= opts.inlineLimit;
    // Packed data (a layout) has no element literals in the constant's own
    // dtype, so it is always written as bytes.
    if (small)
      p.form = c->layout.empty() ? ConstantPlan::Dense : ConstantPlan::Hex;
    else if (opts.weights == WeightMode::Hex)
      p.form = ConstantPlan::Hex;
    else if (opts.weights == WeightMode::Elide)
      p.form = ConstantPlan::Elided;
    else {
      p.form = ConstantPlan::Blob;
      p.offset = (weightsBytes + kBlobAlignment - 1) / kBlobAlignment * kBlobAlignment;
      weightsBytes = p.offset + c->data.byteSize();
    }
    plans.push_back(p);
  }
  return plans;
}

void writeWeightsFile(const Module &m, const std::vector<ConstantPlan> &plans, const std::string &path) {
  writeFileAtomically(path, [&](std::FILE *f) {
    static const char kZeros[kBlobAlignment] = {};
    size_t written = 0;
    for (size_t i = 0; i < plans.size(); ++i) {
      if (plans[i].form != ConstantPlan::Blob) continue;
      writeBytes(f, kZeros, plans[i].offset - written);
      const Tensor &t = m.constants()[i]->data;
      writeBytes(f, t.rawData(), t.byteSize());
      written = plans[i].offset + t.byteSize();
    }
  });
}

void printGraph(const Graph &g, std::ostream &os) {
  os << "  graph @" << quoteIdentifierIfNeeded(g.name()) << "(";
  for (size_t i = 0; i < g.arguments().size(); ++i) {
    const Value &a = *g.arguments()[i];
    os << (i ? ", " : "") << valueRef(&a) << ": " << a.type().str();
  }
  os << ") -> (";
  for (size_t i = 0; i < g.outputs().size(); ++i) {
    const Value *v = g.outputs()[i];
    os << (i ? ", " : "") << quoteIdentifierIfNeeded(g.outputNames()[i]) << ": "
       << (v ? v->type().str() : std::string("<null>"));
  }
  os << ") {\n";
  for (const auto &op : g.ops()) {
    os << "    ";
    for (size_t i = 0; i < op->numResults(); ++i) os << (i ? ", " : "") << valueRef(op->result(i));
    if (op->numResults()) os << " = ";
    os << op->opName() << "(";
    for (size_t i = 0; i < op->numOperands(); ++i) os << (i ? ", " : "") << valueRef(op->operand(i));
    os << ")";
    if (!op->attrs().empty()) {
      os << " {";
      bool first = true;
      for (const auto &[name, value] : op->attrs().entries()) {
        os << (first ? "" : ", ") << quoteIdentifierIfNeeded(name) << " = " << printAttrValue(value);
        first = false;
      }
      os << "}";
    }
    for (size_t i = 0; i < op->numResults(); ++i) os << (i ? ", " : " : ") << op->result(i)->type().str();
    os << "\n";
  }
  os << "    return";
  for (size_t i = 0; i < g.outputs().size(); ++i) os << (i ? ", " : " ") << valueRef(g.outputs()[i]);
  os << "\n  }\n";
}

} // namespace

/// Writes a file through a temporary file in the same folder and a rename,
/// so that readers never see a half-written file and a failure leaves
/// nothing behind. Mapped views of the old file stay valid (the old inode
/// lives on while mapped), which lets a module rewrite its own weights file.
void writeFileAtomically(const std::string &path, const std::function<void(std::FILE *)> &write) {
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail("{}: cannot create a temporary file next to it: {}", path, std::strerror(errno));
  ::fchmod(fd, 0644);
  std::FILE *f = ::fdopen(fd, "wb");
  if (!f) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail("{}: cannot write: {}", path, std::strerror(e));
  }
  auto abandon = [&](int err) {
    std::fclose(f);
    ::unlink(tmp.c_str());
    fail("{}: cannot write: {}", path, std::strerror(err));
  };
  try {
    write(f);
  } catch (...) {
    std::fclose(f);
    ::unlink(tmp.c_str());
    throw;
  }
  if (std::ferror(f) || std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0) abandon(errno ? errno : EIO);
  if (std::fclose(f) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail("{}: cannot write: {}", path, std::strerror(e));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail("{}: cannot write: {}", path, std::strerror(e));
  }
}

std::string quoteIdentifierIfNeeded(const std::string &name) {
  bool plain = !name.empty();
  for (char c : name) plain = plain && isPlainNameChar(c);
  return plain ? name : quoteString(name);
}

std::string printAttrValue(const AttrValue &v) {
  auto list = [](const auto &items, auto &&fmtOne) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + fmtOne(items[i]);
    return out + "]";
  };
  switch (attrKind(v)) {
  case AttrKind::Int: return fmt::format("{}", std::get<int64_t>(v));
  case AttrKind::Float: return formatFloat(std::get<float>(v));
  case AttrKind::String: return quoteString(std::get<std::string>(v));
  case AttrKind::Ints:
    return list(std::get<std::vector<int64_t>>(v), [](int64_t x) { return fmt::format("{}", x); });
  case AttrKind::Floats: return list(std::get<std::vector<float>>(v), [](float x) { return formatFloat(x); });
  case AttrKind::Strings:
    return list(std::get<std::vector<std::string>>(v), [](const std::string &s) { return quoteString(s); });
  case AttrKind::DType: return std::string(dtypeName(std::get<DType>(v)));
  case AttrKind::Tensor: {
    const Tensor &t = std::get<Tensor>(v);
    std::vector<Dim> dims(t.shape().begin(), t.shape().end());
    return formatDense(t) + " : " + Type(t.dtype(), std::move(dims)).str();
  }
  }
  return "?";
}

void printModule(const Module &m, std::ostream &os, const PrintOptions &opts) {
  size_t weightsBytes = 0;
  std::vector<ConstantPlan> plans = planConstants(m, opts, weightsBytes);
  bool anyBlob = std::any_of(plans.begin(), plans.end(), [](const auto &p) { return p.form == ConstantPlan::Blob; });
  if (anyBlob) {
    if (opts.weightsFileName.empty() || opts.weightsFilePath.empty())
      fail("internal: printing with external weights needs the weights file's name and path");
    writeWeightsFile(m, plans, opts.weightsFilePath);
  }

  os << "module @" << quoteIdentifierIfNeeded(m.name());
  if (anyBlob) os << " weights " << quoteString(opts.weightsFileName);
  os << " {\n";
  for (size_t i = 0; i < m.constants().size(); ++i) {
    const Constant &c = *m.constants()[i];
    os << "  const " << valueRef(&c.value) << " : " << c.value.type().str();
    if (!c.layout.empty()) os << " layout " << quoteString(c.layout);
    os << " = ";
    switch (plans[i].form) {
    case ConstantPlan::Dense: os << formatDense(c.data); break;
    case ConstantPlan::Hex: os << formatHex(c.data); break;
    case ConstantPlan::Blob: os << "blob<" << plans[i].offset << ", " << c.data.byteSize() << ">"; break;
    case ConstantPlan::Elided: os << "elided<" << c.data.byteSize() << ">"; break;
    }
    os << "\n";
  }
  for (const auto &s : m.states()) os << "  state @" << quoteIdentifierIfNeeded(s->name) << " : " << s->type.str() << "\n";
  bool needBlank = !m.constants().empty() || !m.states().empty();
  for (const auto &g : m.graphs()) {
    if (needBlank) os << "\n";
    printGraph(*g, os);
    needBlank = true;
  }
  os << "}\n";
}

std::string printModule(const Module &m, const PrintOptions &opts) {
  std::ostringstream os;
  printModule(m, os, opts);
  return os.str();
}

void writeModuleFile(const Module &m, const std::string &path, bool hexWeights) {
  PrintOptions opts;
  opts.weights = hexWeights ? WeightMode::Hex : WeightMode::External;
  opts.weightsFileName = std::filesystem::path(path).filename().string() + ".bin";
  opts.weightsFilePath = path + ".bin";
  std::string text = printModule(m, opts);
  writeFileAtomically(path, [&](std::FILE *f) { writeBytes(f, text.data(), text.size()); });
}

} // namespace ternc
