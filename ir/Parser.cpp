// Parser: a recursive-descent reader of the text form of docs/ir.md, with
// its scanner; checks names, arity and attribute schemas as it goes and
// re-runs type inference on every op.
#include "ir/Parser.h"

#include "ir/Error.h"
#include "ir/OpRegistry.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <cstdint>
#include <sstream>
#include <unordered_map>

namespace ternc {

namespace {

struct Loc {
  int line = 1;
  int col = 1;
};

bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c) || c == '.'; }
bool isNameChar(char c) { return isIdentStart(c) || isDigit(c) || c == '.' || c == '$' || c == '-'; }

/// A number or boolean as written in a dense literal, converted once the
/// element type is known.
struct Literal {
  enum Kind { Int, Float, Bool } kind;
  std::string text;
  Loc loc;
};

class Parser {
public:
  Parser(const std::string &text, const std::string &filename) : text_(text), file_(filename) {}

  /// `module @NAME [weights "FILE"] { const... state... graph... }`
  std::unique_ptr<Module> parseModule() {
    expectKeyword("module");
    std::string name = parseSigilName('@', "a module name '@NAME'");
    module_ = std::make_unique<Module>(name);
    if (tryKeyword("weights")) weightsName_ = parseString("a weights file name in quotes");
    expectPunct("{");
    for (;;) {
      if (tryKeyword("const")) parseConst();
      else if (tryKeyword("state")) parseState();
      else if (tryKeyword("graph")) parseGraph();
      else if (tryPunct("}")) break;
      else expected("'const', 'state', 'graph' or '}'");
    }
    if (!atEnd()) expected("end of file");
    return std::move(module_);
  }

private:
  const std::string &text_;
  std::string file_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t lineStart_ = 0;

  std::unique_ptr<Module> module_;
  std::string weightsName_;
  std::shared_ptr<Storage> weights_;
  std::string weightsPath_;

  // -- scanner ---------------------------------------------------------------

  /// Skips blanks and `//` comments; the only place that crosses newlines.
  void skipTrivia() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++pos_;
        ++line_;
        lineStart_ = pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  char peek() {
    skipTrivia();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  char peekAt(size_t ahead) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  bool atEnd() {
    skipTrivia();
    return pos_ >= text_.size();
  }
  Loc here() {
    skipTrivia();
    return {line_, int(pos_ - lineStart_) + 1};
  }
  std::string locString(Loc l) const { return fmt::format("{}:{}:{}", file_, l.line, l.col); }

  [[noreturn]] void errorAt(Loc l, const std::string &msg) const { throw Error(locString(l) + ": " + msg); }

  /// What the next token looks like, for `expected X, found Y`.
  std::string describeNext() {
    if (atEnd()) return "end of file";
    size_t end = pos_;
    char c = text_[pos_];
    if (c == '"') {
      ++end;
      while (end < text_.size() && text_[end] != '"' && text_[end] != '\n') end += text_[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, text_.size());
    } else if (c == '%' || c == '@' || isNameChar(c)) {
      ++end;
      if (c == '%' || c == '@') {
        if (end < text_.size() && text_[end] == '"') {
          ++end;
          while (end < text_.size() && text_[end] != '"' && text_[end] != '\n') end += text_[end] == '\\' ? 2 : 1;
          end = std::min(end + 1, text_.size());
        }
      }
      while (end < text_.size() && isNameChar(text_[end])) ++end;
    } else {
      ++end;
    }
    std::string tok = text_.substr(pos_, std::min<size_t>(end - pos_, 40));
    if (tok.find('\n') != std::string::npos) tok = tok.substr(0, tok.find('\n'));
    return "'" + tok + "'";
  }

  [[noreturn]] void expected(std::string_view what) {
    Loc l = here();
    errorAt(l, fmt::format("expected {}, found {}", what, describeNext()));
  }

  bool tryPunct(std::string_view p) {
    skipTrivia();
    if (text_.compare(pos_, p.size(), p) != 0) return false;
    pos_ += p.size();
    return true;
  }
  void expectPunct(std::string_view p) {
    if (!tryPunct(p)) expected(fmt::format("'{}'", p));
  }

  /// Scans `[A-Za-z_][A-Za-z0-9_.]*` without consuming it.
  std::string_view peekIdent() {
    skipTrivia();
    if (pos_ >= text_.size() || !isIdentStart(text_[pos_])) return {};
    size_t end = pos_ + 1;
    while (end < text_.size() && isIdentChar(text_[end])) ++end;
    return std::string_view(text_).substr(pos_, end - pos_);
  }
  bool tryKeyword(std::string_view kw) {
    if (peekIdent() != kw) return false;
    pos_ += kw.size();
    return true;
  }
  void expectKeyword(std::string_view kw) {
    if (!tryKeyword(kw)) expected(fmt::format("'{}'", kw));
  }
  std::string parseIdent(std::string_view what) {
    std::string_view id = peekIdent();
    if (id.empty()) expected(what);
    pos_ += id.size();
    return std::string(id);
  }

  /// A quoted string with C escapes (\" \\ \n \t \r \xNN).
  std::string parseString(std::string_view what) {
    if (peek() != '"') expected(what);
    Loc start = here();
    ++pos_;
    std::string out;
    for (;;) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') errorAt(start, "unterminated string");
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = pos_ < text_.size() ? text_[pos_++] : '\0';
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'x': {
        auto hexVal = [](char h) {
          return isDigit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
        };
        int hi = hexVal(peekAt(0)), lo = hexVal(peekAt(1));
        if (hi < 0 || lo < 0) errorAt({line_, int(pos_ - lineStart_) + 1}, "expected two hex digits after '\\x'");
        out += char(hi * 16 + lo);
        pos_ += 2;
        break;
      }
      default: errorAt({line_, int(pos_ - lineStart_)}, fmt::format("unknown escape '\\{}' in string", e));
      }
    }
  }

  /// A name: `[A-Za-z0-9_.$-]+`, or a quoted string.
  std::string parseName(std::string_view what) {
    if (peek() == '"') return parseString(what);
    size_t end = pos_;
    while (end < text_.size() && isNameChar(text_[end])) ++end;
    if (end == pos_) expected(what);
    std::string n = text_.substr(pos_, end - pos_);
    pos_ = end;
    return n;
  }
  /// `%name` or `@name` (sigil then name, no blank between).
  std::string parseSigilName(char sigil, std::string_view what) {
    if (peek() != sigil || (peekAt(1) != '"' && !isNameChar(peekAt(1)))) expected(what);
    ++pos_;
    return parseName(what);
  }

  /// Scans a number token: `-?(inf|nan|[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?)`.
  /// Returns nullopt (consuming nothing) if none is here.
  std::optional<Literal> tryNumber() {
    Loc l = here();
    size_t p = pos_;
    if (p < text_.size() && text_[p] == '-') ++p;
    auto word = [&](std::string_view w) {
      return text_.compare(p, w.size(), w) == 0 && (p + w.size() >= text_.size() || !isIdentChar(text_[p + w.size()]));
    };
    if (word("inf") || word("nan")) {
      p += 3;
      Literal lit{Literal::Float, text_.substr(pos_, p - pos_), l};
      pos_ = p;
      return lit;
    }
    if (p >= text_.size() || !isDigit(text_[p])) return std::nullopt;
    bool isFloat = false;
    while (p < text_.size() && isDigit(text_[p])) ++p;
    if (p < text_.size() && text_[p] == '.') {
      isFloat = true;
      ++p;
      while (p < text_.size() && isDigit(text_[p])) ++p;
    }
    if (p < text_.size() && (text_[p] == 'e' || text_[p] == 'E')) {
      size_t q = p + 1;
      if (q < text_.size() && (text_[q] == '+' || text_[q] == '-')) ++q;
      if (q < text_.size() && isDigit(text_[q])) {
        isFloat = true;
        p = q;
        while (p < text_.size() && isDigit(text_[p])) ++p;
      }
    }
    Literal lit{isFloat ? Literal::Float : Literal::Int, text_.substr(pos_, p - pos_), l};
    pos_ = p;
    return lit;
  }

  int64_t parseInt(std::string_view what) {
    std::optional<Literal> lit = tryNumber();
    if (!lit || lit->kind != Literal::Int) {
      if (lit) errorAt(lit->loc, fmt::format("expected {}, found '{}'", what, lit->text));
      expected(what);
    }
    return literalToInt64(*lit);
  }
  int64_t parseNonNegativeInt(std::string_view what) {
    Loc l = here();
    int64_t v = parseInt(what);
    if (v < 0) errorAt(l, fmt::format("expected {}, found '{}'", what, v));
    return v;
  }

  int64_t literalToInt64(const Literal &lit) const {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(lit.text.data(), lit.text.data() + lit.text.size(), v);
    if (ec != std::errc() || end != lit.text.data() + lit.text.size())
      errorAt(lit.loc, fmt::format("integer '{}' is out of range", lit.text));
    return v;
  }
  template <typename F> F literalToFloat(const Literal &lit, std::string_view typeName) const {
    F v{};
    auto [end, ec] = std::from_chars(lit.text.data(), lit.text.data() + lit.text.size(), v);
    if (ec != std::errc() || end != lit.text.data() + lit.text.size())
      errorAt(lit.loc, fmt::format("'{}' is out of range for {}", lit.text, typeName));
    return v;
  }

  // -- types -----------------------------------------------------------------

  Type parseType() {
    Loc l = here();
    std::string name = parseIdent("a type");
    std::optional<DType> dt = parseDType(name);
    if (!dt) errorAt(l, fmt::format("unknown dtype '{}'", name));
    TernScale scale;
    if (*dt == DType::Tern && tryPunct("<")) {
      Loc gl = here();
      std::string g = parseIdent("a ternary scale granularity (tensor, row or gN)");
      if (g == "tensor") {
        scale.kind = TernScale::Tensor;
      } else if (g == "row") {
        scale.kind = TernScale::Row;
      } else {
        int64_t group = 0;
        auto [end, ec] = std::from_chars(g.data() + 1, g.data() + g.size(), group);
        if (g.size() < 2 || g[0] != 'g' || ec != std::errc() || end != g.data() + g.size() || group <= 0)
          errorAt(gl, fmt::format("expected a ternary scale granularity (tensor, row or gN), found '{}'", g));
        scale.kind = TernScale::Group;
        scale.group = group;
      }
      expectPunct(">");
    }
    expectPunct("[");
    if (tryPunct("*")) {
      expectPunct("]");
      return Type::unranked(*dt);
    }
    std::vector<Dim> dims;
    if (!tryPunct("]")) {
      do dims.push_back(parseDim());
      while (tryPunct(","));
      expectPunct("]");
    }
    return *dt == DType::Tern ? Type::tern(scale, std::move(dims)) : Type(*dt, std::move(dims));
  }

  /// `?`, or a polynomial: `4`, `seq`, `past+seq`, `2*batch*seq-1`, `-seq+4`.
  Dim parseDim() {
    if (tryPunct("?")) return Dim::unknown();
    bool negate = tryPunct("-");
    Dim total = parseDimTerm();
    if (negate) total = Dim(0) - total;
    for (;;) {
      if (tryPunct("+"))
        total = total + parseDimTerm();
      else if (tryPunct("-"))
        total = total - parseDimTerm();
      else
        return total;
    }
  }
  Dim parseDimTerm() {
    Dim term = parseDimFactor();
    while (tryPunct("*")) term = term * parseDimFactor();
    return term;
  }
  Dim parseDimFactor() {
    if (isDigit(peek())) return Dim(parseNonNegativeInt("a dimension"));
    std::string_view id = peekIdent();
    if (id.empty()) expected("a dimension");
    pos_ += id.size();
    return Dim::symbol(std::string(id));
  }

  // -- constant data ---------------------------------------------------------

  /// `[a, b, ...]` or a single element (the part between `dense<` and `>`).
  std::vector<Literal> parseDenseBody() {
    std::vector<Literal> lits;
    auto element = [&] {
      Loc l = here();
      if (tryKeyword("true")) return Literal{Literal::Bool, "true", l};
      if (tryKeyword("false")) return Literal{Literal::Bool, "false", l};
      std::optional<Literal> n = tryNumber();
      if (!n) expected("a number, true or false");
      return *n;
    };
    if (tryPunct("[")) {
      if (!tryPunct("]")) {
        do lits.push_back(element());
        while (tryPunct(","));
        expectPunct("]");
      }
    } else {
      lits.push_back(element());
    }
    return lits;
  }

  /// Builds a tensor of `type` (static) from dense literals, converting each
  /// to the element type.
  Tensor denseToTensor(const std::vector<Literal> &lits, const Type &type, Loc where) {
    std::vector<int64_t> shape = type.staticShape();
    DType dt = type.dtype();
    Tensor t(dt, shape);
    if (int64_t(lits.size()) != t.numElements())
      errorAt(where, fmt::format("dense literal has {} values, but {} needs {}", lits.size(), type.str(),
                                 t.numElements()));
    for (size_t i = 0; i < lits.size(); ++i) storeLiteral(t, int64_t(i), lits[i]);
    return t;
  }

  void storeLiteral(Tensor &t, int64_t i, const Literal &lit) {
    DType dt = t.dtype();
    std::string_view dtName = dtypeName(dt);
    auto mismatch = [&](std::string_view want) {
      errorAt(lit.loc, fmt::format("expected {} for a {} element, found '{}'", want, dtName, lit.text));
    };
    if (isFloat(dt)) {
      if (lit.kind == Literal::Bool) mismatch("a number");
      switch (dt) {
      case DType::F64: t.mutableData<double>()[i] = literalToFloat<double>(lit, dtName); return;
      case DType::F32: t.mutableData<float>()[i] = literalToFloat<float>(lit, dtName); return;
      case DType::F16: t.mutableData<uint16_t>()[i] = floatToHalf(literalToFloat<float>(lit, dtName)); return;
      default: t.mutableData<uint16_t>()[i] = floatToBF16(literalToFloat<float>(lit, dtName)); return;
      }
    }
    if (dt == DType::Bool) {
      if (lit.kind == Literal::Bool) t.mutableData<uint8_t>()[i] = lit.text == "true";
      else if (lit.kind == Literal::Int && (lit.text == "0" || lit.text == "1")) t.mutableData<uint8_t>()[i] = lit.text == "1";
      else mismatch("true or false");
      return;
    }
    if (lit.kind != Literal::Int) mismatch("an integer");
    if (dt == DType::U64) {
      uint64_t v = 0;
      auto [end, ec] = std::from_chars(lit.text.data(), lit.text.data() + lit.text.size(), v);
      if (ec != std::errc() || end != lit.text.data() + lit.text.size())
        errorAt(lit.loc, fmt::format("'{}' is out of range for u64", lit.text));
      t.mutableData<uint64_t>()[i] = v;
      return;
    }
    int64_t v = literalToInt64(lit);
    int64_t lo = 0, hi = 0;
    switch (dt) {
    case DType::I8: lo = INT8_MIN; hi = INT8_MAX; break;
    case DType::I16: lo = INT16_MIN; hi = INT16_MAX; break;
    case DType::I32: lo = INT32_MIN; hi = INT32_MAX; break;
    case DType::I64: lo = INT64_MIN; hi = INT64_MAX; break;
    case DType::U8: hi = UINT8_MAX; break;
    case DType::U16: hi = UINT16_MAX; break;
    case DType::U32: hi = UINT32_MAX; break;
    case DType::Tern: lo = -1; hi = 1; break;
    default: break;
    }
    if (v < lo || v > hi) {
      if (dt == DType::Tern) errorAt(lit.loc, fmt::format("a tern element must be -1, 0 or 1, found '{}'", lit.text));
      errorAt(lit.loc, fmt::format("'{}' is out of range for {}", lit.text, dtName));
    }
    t.setInt(i, v);
  }

  Tensor hexToTensor(const std::string &hex, DType dt, std::vector<int64_t> shape, Loc where) {
    Tensor t(dt, std::move(shape));
    if (hex.size() != t.byteSize() * 2)
      errorAt(where, fmt::format("hex data has {} digits, but {} bytes ({} digits) are needed", hex.size(),
                                 t.byteSize(), t.byteSize() * 2));
    auto nibble = [&](char h) -> int {
      if (isDigit(h)) return h - '0';
      if (h >= 'a' && h <= 'f') return h - 'a' + 10;
      if (h >= 'A' && h <= 'F') return h - 'A' + 10;
      errorAt(where, fmt::format("hex data contains '{}', which is not a hex digit", h));
    };
    auto *out = reinterpret_cast<unsigned char *>(t.mutableRawData());
    for (size_t i = 0; i < t.byteSize(); ++i) out[i] = static_cast<unsigned char>(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
    return t;
  }

  /// The weights file, mapped once on first use; blobs are views into it.
  const std::shared_ptr<Storage> &weightsFile(Loc where) {
    if (weights_) return weights_;
    if (weightsName_.empty())
      errorAt(where, "blob<...> data needs a weights file, but the module header names none "
                     "(module @NAME weights \"FILE\" {...})");
    std::filesystem::path p(weightsName_);
    if (p.is_relative()) p = std::filesystem::path(file_).parent_path() / p;
    weightsPath_ = p.string();
    std::error_code ec;
    uintmax_t size = std::filesystem::file_size(p, ec);
    if (ec) errorAt(where, fmt::format("cannot open the weights file '{}': {}", weightsPath_, ec.message()));
    try {
      weights_ = Storage::mapFile(weightsPath_, 0, size_t(size));
    } catch (const Error &e) {
      errorAt(where, e.what());
    }
    return weights_;
  }

  Tensor blobToTensor(int64_t offset, int64_t size, DType dt, std::vector<int64_t> shape, Loc where) {
    const std::shared_ptr<Storage> &file = weightsFile(where);
    if (size_t(offset) > file->size() || size_t(size) > file->size() - size_t(offset))
      errorAt(where, fmt::format("blob<{}, {}> lies outside the weights file '{}' ({} bytes)", offset, size,
                                 weightsPath_, file->size()));
    if (offset % 64 != 0) errorAt(where, fmt::format("blob offset {} is not 64-byte aligned", offset));
    Tensor t(dt, std::move(shape), file, size_t(offset));
    if (int64_t(t.byteSize()) != size)
      errorAt(where, fmt::format("blob has {} bytes, but {} are needed", size, t.byteSize()));
    return t;
  }

  // -- module ----------------------------------------------------------------

  void parseConst() {
    Loc nameLoc = here();
    std::string name = parseSigilName('@', "a constant name '@NAME'");
    if (module_->findConstant(name)) errorAt(nameLoc, fmt::format("redefinition of constant @{}", quoteIdentifierIfNeeded(name)));
    expectPunct(":");
    Loc typeLoc = here();
    Type type = parseType();
    if (!type.isStatic()) errorAt(typeLoc, fmt::format("a constant needs a static type, found {}", type.str()));
    std::string layout;
    if (tryKeyword("layout")) layout = parseString("a layout name in quotes");
    expectPunct("=");
    Loc dataLoc = here();
    // Packed data (a layout) is kept as its raw bytes.
    DType dataType = layout.empty() ? type.dtype() : DType::U8;
    std::vector<int64_t> shape = type.staticShape();
    Tensor data;
    if (tryKeyword("dense")) {
      if (!layout.empty()) errorAt(dataLoc, "a constant with a layout takes hex<...> or blob<...> data, not dense<...>");
      expectPunct("<");
      std::vector<Literal> lits = parseDenseBody();
      expectPunct(">");
      data = denseToTensor(lits, type, dataLoc);
    } else if (tryKeyword("hex")) {
      expectPunct("<");
      std::string hex = parseString("hex digits in quotes");
      expectPunct(">");
      if (!layout.empty()) shape = {int64_t(hex.size() / 2)};
      data = hexToTensor(hex, dataType, shape, dataLoc);
    } else if (tryKeyword("blob")) {
      expectPunct("<");
      int64_t offset = parseNonNegativeInt("a byte offset");
      expectPunct(",");
      int64_t size = parseNonNegativeInt("a byte size");
      expectPunct(">");
      if (!layout.empty()) shape = {size};
      data = blobToTensor(offset, size, dataType, shape, dataLoc);
    } else if (tryKeyword("elided")) {
      errorAt(dataLoc, fmt::format("constant data was elided (@{}); write the module with "
                                   "`ternc import -o FILE.tir` to keep it",
                                   quoteIdentifierIfNeeded(name)));
    } else {
      expected("constant data (dense<...>, hex<...> or blob<...>)");
    }
    module_->addConstant(name, std::move(data), type, layout);
  }

  void parseState() {
    Loc nameLoc = here();
    std::string name = parseSigilName('@', "a state name '@NAME'");
    for (const auto &s : module_->states())
      if (s->name == name) errorAt(nameLoc, fmt::format("redefinition of state @{}", quoteIdentifierIfNeeded(name)));
    expectPunct(":");
    module_->addState(name, parseType());
  }

  // -- graphs ----------------------------------------------------------------

  struct GraphScope {
    Graph *graph;
    std::unordered_map<std::string, Value *> values;
  };

  /// `%name` (defined earlier in the graph), `@name` (a module constant), or
  /// `_` when `allowOmitted`.
  Value *parseValueRef(GraphScope &scope, bool allowOmitted) {
    Loc l = here();
    char c = peek();
    if (allowOmitted && c == '_' && !isNameChar(peekAt(1))) {
      ++pos_;
      return nullptr;
    }
    if (c == '@') {
      std::string name = parseSigilName('@', "a value");
      Value *v = module_->findConstant(name);
      if (!v) errorAt(l, fmt::format("use of undefined constant @{}", quoteIdentifierIfNeeded(name)));
      return v;
    }
    if (c != '%') expected(allowOmitted ? "an operand (%value, @constant or _)" : "a value (%value or @constant)");
    std::string name = parseSigilName('%', "a value");
    auto it = scope.values.find(name);
    if (it == scope.values.end())
      errorAt(l, fmt::format("use of undefined value %{}", quoteIdentifierIfNeeded(name)));
    return it->second;
  }

  void defineValue(GraphScope &scope, const std::string &name, Value *v, Loc l) {
    if (!scope.values.emplace(name, v).second)
      errorAt(l, fmt::format("redefinition of %{} in graph @{}", quoteIdentifierIfNeeded(name),
                             quoteIdentifierIfNeeded(scope.graph->name())));
    scope.graph->reserveName(name);
  }

  AttrValue parseAttrValue(std::optional<AttrKind> schemaKind) {
    char c = peek();
    if (c == '"') return parseString("a string");
    if (c == '[') {
      ++pos_;
      if (tryPunct("]")) {
        AttrKind k = schemaKind.value_or(AttrKind::Ints);
        if (k == AttrKind::Floats) return std::vector<float>{};
        if (k == AttrKind::Strings) return std::vector<std::string>{};
        return std::vector<int64_t>{};
      }
      if (peek() == '"') {
        std::vector<std::string> items;
        do items.push_back(parseString("a string"));
        while (tryPunct(","));
        expectPunct("]");
        return items;
      }
      std::vector<Literal> lits;
      bool anyFloat = schemaKind == AttrKind::Floats;
      do {
        std::optional<Literal> n = tryNumber();
        if (!n) expected("a number");
        anyFloat = anyFloat || n->kind == Literal::Float;
        lits.push_back(*n);
      } while (tryPunct(","));
      expectPunct("]");
      if (anyFloat) {
        std::vector<float> items;
        for (const auto &lit : lits) items.push_back(literalToFloat<float>(lit, "a float attribute"));
        return items;
      }
      std::vector<int64_t> items;
      for (const auto &lit : lits) items.push_back(literalToInt64(lit));
      return items;
    }
    if (tryKeyword("dense")) {
      Loc l = here();
      expectPunct("<");
      std::vector<Literal> lits = parseDenseBody();
      expectPunct(">");
      expectPunct(":");
      Loc typeLoc = here();
      Type type = parseType();
      if (!type.isStatic()) errorAt(typeLoc, fmt::format("a tensor attribute needs a static type, found {}", type.str()));
      return denseToTensor(lits, type, l);
    }
    if (std::optional<Literal> n = tryNumber()) {
      if (n->kind == Literal::Float || schemaKind == AttrKind::Float) return literalToFloat<float>(*n, "a float attribute");
      return literalToInt64(*n);
    }
    Loc l = here();
    std::string_view id = peekIdent();
    if (!id.empty()) {
      std::optional<DType> dt = parseDType(id);
      if (!dt) errorAt(l, fmt::format("expected an attribute value, found '{}' (not a dtype)", id));
      pos_ += id.size();
      return *dt;
    }
    expected("an attribute value");
  }

  Attrs parseAttrs(const OpDef &def) {
    Attrs attrs;
    if (!tryPunct("{")) return attrs;
    if (tryPunct("}")) return attrs;
    do {
      Loc nameLoc = here();
      std::string name = parseName("an attribute name");
      if (attrs.has(name)) errorAt(nameLoc, fmt::format("attribute '{}' is given twice", name));
      const AttrSpec *spec = nullptr;
      for (const auto &s : def.attrs)
        if (s.name == name) spec = &s;
      if (!spec && !def.openAttrs && !isAnnotationAttr(name)) errorAt(nameLoc, fmt::format("{} has no attribute '{}'", def.name, name));
      expectPunct("=");
      Loc valueLoc = here();
      AttrValue v = parseAttrValue(spec ? std::optional<AttrKind>(spec->kind) : std::nullopt);
      if (spec && attrKind(v) != spec->kind)
        errorAt(valueLoc, fmt::format("attribute '{}' of {} must be {}, found {}", name, def.name,
                                      attrKindName(spec->kind), attrKindName(attrKind(v))));
      attrs.set(std::move(name), std::move(v));
    } while (tryPunct(","));
    expectPunct("}");
    return attrs;
  }

  /// "1 operand", "2 operands", "1 to 3 operands", "at least 1 result".
  static std::string countRange(int lo, int hi, std::string_view noun) {
    if (hi < 0) return fmt::format("at least {} {}s", lo, noun);
    if (lo == hi) return fmt::format("{} {}{}", lo, noun, lo == 1 ? "" : "s");
    return fmt::format("{} to {} {}s", lo, hi, noun);
  }

  void parseOp(GraphScope &scope) {
    Loc opLoc = here();
    std::vector<std::pair<std::string, Loc>> resultNames;
    if (peek() == '%') {
      do {
        Loc l = here();
        resultNames.push_back({parseSigilName('%', "a result name '%NAME'"), l});
      } while (tryPunct(","));
      expectPunct("=");
    }
    Loc nameLoc = here();
    std::string opName = parseIdent(resultNames.empty() ? "an op or 'return'" : "an op name");
    const OpDef *def = OpRegistry::global().find(opName);
    if (!def) errorAt(nameLoc, fmt::format("unknown op '{}'", opName));

    expectPunct("(");
    std::vector<Value *> operands;
    if (!tryPunct(")")) {
      do operands.push_back(parseValueRef(scope, true));
      while (tryPunct(","));
      expectPunct(")");
    }
    Attrs attrs = parseAttrs(*def);
    std::vector<Type> types;
    if (!resultNames.empty()) {
      if (!tryPunct(":")) expected("':' and the result types");
      do types.push_back(parseType());
      while (tryPunct(","));
    }

    std::string where = locString(opLoc);
    int nIn = int(operands.size()), nOut = int(resultNames.size());
    if (nIn < def->minInputs || (def->maxInputs >= 0 && nIn > def->maxInputs))
      errorAt(opLoc, fmt::format("{} takes {}, found {}", opName, countRange(def->minInputs, def->maxInputs, "operand"), nIn));
    if (nOut < def->minOutputs || (def->maxOutputs >= 0 && nOut > def->maxOutputs))
      errorAt(opLoc, fmt::format("{} has {}, found {}", opName, countRange(def->minOutputs, def->maxOutputs, "result"), nOut));
    if (types.size() != resultNames.size())
      errorAt(opLoc, fmt::format("{} has {} results but {} result types", opName, nOut, types.size()));
    for (int i = 0; i < std::min(nIn, def->minInputs); ++i)
      if (!operands[size_t(i)]) errorAt(opLoc, fmt::format("{}: operand {} is required, but omitted ('_')", opName, i));
    for (const auto &s : def->attrs)
      if (s.required && !attrs.has(s.name))
        errorAt(opLoc, fmt::format("{}: missing required attribute '{}'", opName, s.name));

    Op *op = scope.graph->createOp(opName, std::move(operands), std::move(attrs));
    op->setLoc(where);
    for (size_t i = 0; i < resultNames.size(); ++i) {
      Value *v = op->addResult(resultNames[i].first, types[i]);
      defineValue(scope, resultNames[i].first, v, resultNames[i].second);
    }
    try {
      op->inferTypes();
    } catch (const Error &e) {
      std::string msg = e.what();
      if (msg.rfind(where, 0) == 0) throw;
      errorAt(opLoc, fmt::format("{}: {}", opName, msg));
    }
    for (size_t i = 0; i < types.size(); ++i) {
      Value *v = op->result(i);
      std::optional<Type> kept = reconcileInferredType(types[i], v->type());
      if (!kept)
        errorAt(opLoc, fmt::format("{}: result %{} is written {}, but type inference gives {}", opName,
                                   quoteIdentifierIfNeeded(v->name()), types[i].str(), v->type().str()));
      v->setType(*kept);
    }
  }

  void parseGraph() {
    Loc nameLoc = here();
    std::string name = parseSigilName('@', "a graph name '@NAME'");
    if (module_->findGraph(name)) errorAt(nameLoc, fmt::format("redefinition of graph @{}", quoteIdentifierIfNeeded(name)));
    GraphScope scope{module_->addGraph(name), {}};

    expectPunct("(");
    if (!tryPunct(")")) {
      do {
        Loc l = here();
        std::string arg = parseSigilName('%', "an argument '%NAME: TYPE'");
        expectPunct(":");
        Value *v = scope.graph->addArgument(arg, parseType());
        defineValue(scope, arg, v, l);
      } while (tryPunct(","));
      expectPunct(")");
    }

    struct DeclaredOutput {
      std::string name;
      Type type;
      Loc loc;
    };
    std::vector<DeclaredOutput> outs;
    expectPunct("->");
    expectPunct("(");
    if (!tryPunct(")")) {
      do {
        Loc l = here();
        std::string out = parseName("an output 'NAME: TYPE'");
        for (const auto &o : outs)
          if (o.name == out) errorAt(l, fmt::format("output '{}' is declared twice", out));
        expectPunct(":");
        outs.push_back({out, parseType(), l});
      } while (tryPunct(","));
      expectPunct(")");
    }

    expectPunct("{");
    Loc returnLoc = here();
    while (!tryKeyword("return")) {
      parseOp(scope);
      returnLoc = here();
    }
    std::vector<std::pair<Value *, Loc>> returned;
    if (peek() == '%' || peek() == '@') {
      do {
        Loc l = here();
        returned.push_back({parseValueRef(scope, false), l});
      } while (tryPunct(","));
    }
    if (returned.size() != outs.size())
      errorAt(returnLoc, fmt::format("graph @{} declares {} outputs, but returns {} values", quoteIdentifierIfNeeded(name),
                          outs.size(), returned.size()));
    for (size_t i = 0; i < outs.size(); ++i) {
      Value *v = returned[i].first;
      if (v->type() != outs[i].type)
        errorAt(returned[i].second, fmt::format("output '{}' is declared {}, but the returned value {}{} is {}",
                                                outs[i].name, outs[i].type.str(),
                                                v->kind() == Value::Kind::Constant ? "@" : "%",
                                                quoteIdentifierIfNeeded(v->name()), v->type().str()));
      scope.graph->addOutput(outs[i].name, v);
    }
    expectPunct("}");
  }
};

} // namespace

std::unique_ptr<Module> parseModule(const std::string &text, const std::string &filename) {
  Parser p(text, filename);
  return p.parseModule();
}

std::unique_ptr<Module> parseModuleFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot read: {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("{}: cannot read: {}", path, std::strerror(errno));
  return parseModule(ss.str(), path);
}

} // namespace ternc
