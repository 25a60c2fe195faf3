// OnnxImporter: translates an ONNX ModelProto into a ternc Module — opset
// checks, initializers as borrowed constants, symbolic input dims, one IR op
// per node, type inference and verification.
#include "frontend/onnx/OnnxImporter.h"

#include "frontend/onnx/OnnxOpsets.h"
#include "frontend/onnx/OnnxTensor.h"
#include "ir/Error.h"
#include "ir/OpRegistry.h"
#include "ir/Verifier.h"

#include <fmt/ranges.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace ternc {

using onnx_import::TensorReader;

namespace {

bool isDefaultDomain(const std::string &domain) { return domain.empty() || domain == "ai.onnx"; }

/// `node "conv1"` or, for an unnamed node, `node #3`.
std::string nodeLabel(const onnx::NodeProto &n, size_t index) {
  return n.name().empty() ? fmt::format("node #{}", index) : fmt::format("node \"{}\"", n.name());
}

/// `Conv` for the default domain, `com.microsoft.FusedMatMul` otherwise.
std::string qualifiedOpType(const onnx::NodeProto &n) {
  return isDefaultDomain(n.domain()) ? n.op_type() : n.domain() + "." + n.op_type();
}

/// Parses a protobuf file straight from disk (no second copy of a large
/// model in memory); errors name the file.
template <typename Proto> std::shared_ptr<Proto> parseProtoFile(const std::string &path, const char *what) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) fail("{}: no such file", path);
  if (std::filesystem::is_directory(status)) fail("{}: is a directory, not {}", path, what);
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size == 0) fail("{}: is empty, not {}", path, what);
  if (!ec && size > uintmax_t(INT_MAX))
    fail("{}: is {} bytes; protobuf files are limited to 2 GB (store the weights as external data)", path, size);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  google::protobuf::io::FileInputStream stream(fd);
  stream.SetCloseOnDelete(true);
  auto proto = std::make_shared<Proto>();
  if (!proto->ParseFromZeroCopyStream(&stream)) {
    if (stream.GetErrno() != 0) fail("{}: read error: {}", path, std::strerror(stream.GetErrno()));
    fail("{}: not {}: the protobuf data is truncated or corrupt", path, what);
  }
  return proto;
}

/// Turns a dim_param into a Dim: a polynomial when it reads as one over
/// identifiers and integers (Optimum writes `past_sequence_length + 1`),
/// otherwise a single symbol with the characters that are not allowed in
/// the IR's symbol names replaced by '_'.
class DimParamReader {
public:
  Dim read(const std::string &param) {
    if (auto poly = parsePolynomial(param)) return *poly;
    auto it = sanitized_.find(param);
    if (it != sanitized_.end()) return Dim::symbol(it->second);
    std::string name;
    for (char c : param) name += isIdentChar(c) ? c : '_';
    if (name.empty() || !isIdentStart(name[0])) name = "_" + name;
    // Two params that differ only in replaced characters stay distinct.
    std::string unique = name;
    for (int n = 1; taken_.count(unique); ++n) unique = fmt::format("{}_{}", name, n);
    taken_.insert(unique);
    sanitized_[param] = unique;
    return Dim::symbol(unique);
  }

  /// Records symbol names already in use (so fresh symbols avoid them).
  void reserve(const std::string &param) {
    if (auto poly = parsePolynomial(param))
      for (const auto &s : poly->symbols()) taken_.insert(s);
  }
  bool isTaken(const std::string &s) const { return taken_.count(s) != 0; }
  void take(const std::string &s) { taken_.insert(s); }

private:
  static bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
  static bool isIdentChar(char c) { return isIdentStart(c) || (c >= '0' && c <= '9'); }

  // sum := term (('+'|'-') term)* ; term := factor ('*' factor)* ; factor := int | ident
  std::optional<Dim> parsePolynomial(const std::string &s) {
    size_t pos = 0;
    auto skip = [&] {
      while (pos < s.size() && s[pos] == ' ') ++pos;
    };
    auto factor = [&]() -> std::optional<Dim> {
      skip();
      size_t start = pos;
      if (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        int64_t v = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (v > (INT64_MAX - 9) / 10) return std::nullopt;
          v = v * 10 + (s[pos++] - '0');
        }
        return Dim(v);
      }
      if (pos < s.size() && isIdentStart(s[pos])) {
        while (pos < s.size() && isIdentChar(s[pos])) ++pos;
        taken_.insert(s.substr(start, pos - start));
        return Dim::symbol(s.substr(start, pos - start));
      }
      return std::nullopt;
    };
    auto term = [&]() -> std::optional<Dim> {
      auto t = factor();
      while (t) {
        skip();
        if (pos >= s.size() || s[pos] != '*') break;
        ++pos;
        auto f = factor();
        if (!f) return std::nullopt;
        t = *t * *f;
      }
      return t;
    };
    auto total = term();
    while (total) {
      skip();
      if (pos >= s.size()) break;
      char op = s[pos];
      if (op != '+' && op != '-') return std::nullopt;
      ++pos;
      auto t = term();
      if (!t) return std::nullopt;
      total = op == '+' ? *total + *t : *total - *t;
    }
    if (!total || total->isStatic()) return std::nullopt;  // "2" as a name is not a size
    return total;
  }

  std::unordered_map<std::string, std::string> sanitized_;
  std::set<std::string> taken_;
};

class OnnxImporter {
public:
  explicit OnnxImporter(std::string path) : path_(std::move(path)) {}

  std::unique_ptr<Module> run() {
    model_ = parseProtoFile<onnx::ModelProto>(path_, "an ONNX model");
    if (!model_->has_graph()) fail("{}: not an ONNX model: it has no graph", path_);
    checkOpset();
    const onnx::GraphProto &g = model_->graph();
    checkSupported(g);

    module_ = std::make_unique<Module>(moduleName());
    graph_ = module_->addGraph("main");
    std::filesystem::path base = std::filesystem::path(path_).parent_path();
    tensors_ = std::make_unique<TensorReader>(path_, base.empty() ? "." : base,
                                              std::shared_ptr<const void>(model_));
    importInitializers(g);
    importInputs(g);
    // Reserve every ONNX value name up front, so that fresh names (for
    // omitted outputs) never take one that a later node defines.
    for (const auto &n : g.node())
      for (const auto &out : n.output())
        if (!out.empty()) graph_->reserveName(out);
    for (size_t i : topologicalOrder(g)) importNode(g.node(int(i)), i);
    importOutputs(g);
    try {
      verify(*module_);
    } catch (const Error &e) {
      throw Error(namingFile(e.what()));
    }
    return std::move(module_);
  }

private:
  std::string namingFile(const std::string &msg) const {
    return msg.rfind(path_, 0) == 0 ? msg : fmt::format("{}: {}", path_, msg);
  }

  std::string moduleName() const {
    std::string stem = std::filesystem::path(path_).stem().string();
    return stem.empty() ? "model" : stem;
  }

  /// Opsets 13..17 of the default domain are imported as they are. An older
  /// model is accepted when none of its ops changed between its opset and
  /// 13, so that it means exactly what it would at 13 (the ONNX test suite
  /// declares opset 7 for And, 1 for Not, ...); anything else is refused.
  void checkOpset() {
    std::optional<int64_t> version;
    for (const auto &o : model_->opset_import())
      if (isDefaultDomain(o.domain())) version = o.version();
    if (!version) fail("{}: the model imports no opset of the default ONNX domain", path_);
    opset_ = int(std::clamp<int64_t>(*version, 0, INT_MAX));
    if (opset_ > onnx_import::kMaxOpset)
      throw UnsupportedError(fmt::format("{}: opset {} is not supported (ternc imports opsets {}..{})", path_,
                                         *version, onnx_import::kMinOpset, onnx_import::kMaxOpset));
    if (opset_ >= onnx_import::kMinOpset) return;
    std::vector<std::string> changed;
    std::set<std::string> seen;
    for (const auto &n : model_->graph().node()) {
      if (!isDefaultDomain(n.domain()) || !seen.insert(n.op_type()).second) continue;
      auto then = onnx_import::onnxOpSinceVersion(n.op_type(), opset_);
      auto at13 = onnx_import::onnxOpSinceVersion(n.op_type(), onnx_import::kMinOpset);
      if (then && at13 && *then != *at13)
        changed.push_back(fmt::format("{} (opset {} -> {})", n.op_type(), *then, *at13));
    }
    if (!changed.empty())
      throw UnsupportedError(fmt::format("{}: opset {} is not supported (ternc imports opsets {}..{}); ops whose "
                                         "definition changed since: {}",
                                         path_, *version, onnx_import::kMinOpset, onnx_import::kMaxOpset,
                                         fmt::join(changed, ", ")));
  }

  /// Lists every unsupported op type with the nodes that use it, in one
  /// error, so that a user sees the whole gap at once.
  void checkSupported(const onnx::GraphProto &g) {
    std::vector<std::pair<std::string, std::vector<std::string>>> unsupported;
    for (int i = 0; i < g.node_size(); ++i) {
      const onnx::NodeProto &n = g.node(i);
      bool ok = isDefaultDomain(n.domain()) && onnx_import::isSupportedOnnxOp(n.op_type()) &&
                (n.op_type() == "Constant" || OpRegistry::global().find(n.op_type()));
      if (ok) {
        if (!onnx_import::onnxOpSinceVersion(n.op_type(), opset_))
          fail("{}: {} ({}): {} does not exist in opset {} (it was added in opset {})", path_,
               nodeLabel(n, size_t(i)), n.op_type(), n.op_type(), opset_,
               *onnx_import::onnxOpSinceVersion(n.op_type(), INT_MAX));
        continue;
      }
      std::string op = qualifiedOpType(n);
      auto it = std::find_if(unsupported.begin(), unsupported.end(), [&](const auto &e) { return e.first == op; });
      if (it == unsupported.end()) it = unsupported.insert(unsupported.end(), {op, {}});
      it->second.push_back(n.name().empty() ? fmt::format("#{}", i) : fmt::format("\"{}\"", n.name()));
    }
    if (unsupported.empty()) return;
    std::vector<std::string> parts;
    for (const auto &[op, nodes] : unsupported)
      parts.push_back(fmt::format("{} ({} {})", op, nodes.size() == 1 ? "node" : "nodes", fmt::join(nodes, ", ")));
    throw UnsupportedError(fmt::format("{}: unsupported ops: {}", path_, fmt::join(parts, ", ")));
  }

  void define(const std::string &name, Value *v, std::string by) {
    auto [it, inserted] = values_.emplace(name, v);
    if (!inserted) fail("{}: {} defines \"{}\", which {} already defines", path_, by, name, definedBy_[name]);
    definedBy_[name] = std::move(by);
  }

  void importInitializers(const onnx::GraphProto &g) {
    if (g.sparse_initializer_size())
      throw UnsupportedError(fmt::format("{}: sparse initializers are not supported (\"{}\")", path_,
                                         g.sparse_initializer(0).values().name()));
    for (const auto &init : g.initializer()) {
      if (init.name().empty()) fail("{}: an initializer has no name", path_);
      std::string what = fmt::format("initializer \"{}\"", init.name());
      Value *v = module_->addConstant(init.name(), tensors_->read(init, what));
      define(init.name(), v, what);
    }
  }

  Type typeOf(const onnx::ValueInfoProto &vi, const std::string &what) {
    if (!vi.has_type()) fail("{}: {} has no type", path_, what);
    const onnx::TypeProto &tp = vi.type();
    if (tp.value_case() != onnx::TypeProto::kTensorType) {
      const char *kind = tp.value_case() == onnx::TypeProto::kSequenceType       ? "a sequence"
                         : tp.value_case() == onnx::TypeProto::kOptionalType     ? "an optional"
                         : tp.value_case() == onnx::TypeProto::kMapType          ? "a map"
                         : tp.value_case() == onnx::TypeProto::kSparseTensorType ? "a sparse tensor"
                                                                                 : "not a tensor";
      throw UnsupportedError(fmt::format("{}: {} is {}; ternc imports tensors only", path_, what, kind));
    }
    const auto &tt = tp.tensor_type();
    DType dt = onnx_import::dtypeOfOnnx(tt.elem_type(), path_, what);
    if (!tt.has_shape()) return Type::unranked(dt);
    std::vector<Dim> dims;
    for (const auto &d : tt.shape().dim()) {
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) fail("{}: {} has a negative dimension {}", path_, what, d.dim_value());
        dims.push_back(Dim(d.dim_value()));
      } else if (d.has_dim_param() && !d.dim_param().empty()) {
        dims.push_back(dimParams_.read(d.dim_param()));
      } else {
        // An anonymous dim gets its own symbol: inference can then still see
        // that x + x keeps the shape of x, which `?` would lose.
        std::string name;
        do name = fmt::format("unk__{}", nextUnknown_++);
        while (dimParams_.isTaken(name));
        dimParams_.take(name);
        dims.push_back(Dim::symbol(name));
      }
    }
    return Type(dt, std::move(dims));
  }

  void importInputs(const onnx::GraphProto &g) {
    // Reserve every dim_param first so fresh `unk__N` symbols avoid them.
    for (const auto &vi : g.input())
      if (vi.type().has_tensor_type() && vi.type().tensor_type().has_shape())
        for (const auto &d : vi.type().tensor_type().shape().dim())
          if (d.has_dim_param()) dimParams_.reserve(d.dim_param());
    std::unordered_set<std::string> inputNames;
    for (const auto &vi : g.input()) {
      if (vi.name().empty()) fail("{}: a graph input has no name", path_);
      if (!inputNames.insert(vi.name()).second) fail("{}: graph input \"{}\" is listed twice", path_, vi.name());
      // IR version < 4 lists initializers among the inputs; they are constants.
      if (values_.count(vi.name()) && values_[vi.name()]->constant()) continue;
      std::string what = fmt::format("graph input \"{}\"", vi.name());
      define(vi.name(), graph_->addArgument(vi.name(), typeOf(vi, what)), what);
    }
  }

  /// The nodes in a topological order, stable with respect to the file's
  /// (which ONNX requires to be topological already, but not every exporter
  /// manages). Names nobody defines are reported when the node is imported.
  std::vector<size_t> topologicalOrder(const onnx::GraphProto &g) {
    size_t n = size_t(g.node_size());
    std::unordered_map<std::string, size_t> producer;
    for (size_t i = 0; i < n; ++i)
      for (const auto &out : g.node(int(i)).output())
        if (!out.empty()) producer.emplace(out, i);
    std::vector<std::vector<size_t>> users(n);
    std::vector<size_t> pending(n, 0);
    for (size_t i = 0; i < n; ++i) {
      std::set<size_t> deps;
      for (const auto &in : g.node(int(i)).input()) {
        if (in.empty() || values_.count(in)) continue;
        auto it = producer.find(in);
        if (it != producer.end() && it->second != i) deps.insert(it->second);
      }
      pending[i] = deps.size();
      for (size_t d : deps) users[d].push_back(i);
    }
    std::set<size_t> ready;
    for (size_t i = 0; i < n; ++i)
      if (pending[i] == 0) ready.insert(i);
    std::vector<size_t> order;
    while (!ready.empty()) {
      size_t i = *ready.begin();
      ready.erase(ready.begin());
      order.push_back(i);
      for (size_t u : users[i])
        if (--pending[u] == 0) ready.insert(u);
    }
    if (order.size() != n) {
      std::vector<std::string> stuck;
      for (size_t i = 0; i < n && stuck.size() < 5; ++i)
        if (pending[i] > 0) stuck.push_back(nodeLabel(g.node(int(i)), i));
      fail("{}: the graph has a cycle through {}", path_, fmt::join(stuck, ", "));
    }
    return order;
  }

  /// `by` names the node (`node "n" (Op)`); errors add the file.
  AttrValue convertAttribute(const onnx::AttributeProto &a, const std::string &by) {
    std::string where = fmt::format("{}: {}", path_, by);
    if (!a.ref_attr_name().empty())
      throw UnsupportedError(fmt::format("{}: attribute '{}' refers to a function attribute, which ternc does not "
                                         "support",
                                         where, a.name()));
    using A = onnx::AttributeProto;
    A::AttributeType type = a.type();
    if (type == A::UNDEFINED) {
      // Very old models leave `type` unset; the field that is set tells.
      if (a.has_f()) type = A::FLOAT;
      else if (a.has_i()) type = A::INT;
      else if (a.has_s()) type = A::STRING;
      else if (a.has_t()) type = A::TENSOR;
      else if (a.floats_size()) type = A::FLOATS;
      else if (a.ints_size()) type = A::INTS;
      else if (a.strings_size()) type = A::STRINGS;
    }
    switch (type) {
    case A::FLOAT: return a.f();
    case A::INT: return int64_t(a.i());
    case A::STRING: return a.s();
    case A::TENSOR: return tensors_->read(a.t(), fmt::format("{}: attribute '{}'", by, a.name()));
    case A::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
    case A::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case A::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case A::UNDEFINED: fail("{}: attribute '{}' has no type and no value", where, a.name());
    default:
      throw UnsupportedError(fmt::format("{}: attribute '{}' is of type {}, which ternc does not support", where,
                                         a.name(), A::AttributeType_Name(type)));
    }
  }

  Tensor constantNodeValue(const onnx::NodeProto &n, const std::string &by) {
    std::string where = fmt::format("{}: {}", path_, by);
    if (n.attribute_size() != 1)
      fail("{}: a Constant node needs exactly one value attribute, it has {}", where, n.attribute_size());
    const onnx::AttributeProto &a = n.attribute(0);
    const std::string &name = a.name();
    if (name == "value") {
      if (!a.has_t()) fail("{}: attribute 'value' holds no tensor", where);
      return tensors_->read(a.t(), fmt::format("{}: attribute 'value'", by));
    }
    if (name == "value_float") return Tensor::scalarF32(a.f());
    if (name == "value_int") return Tensor::scalarI64(a.i());
    if (name == "value_ints") return Tensor::fromI64(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
    if (name == "value_floats") {
      Tensor t(DType::F32, {int64_t(a.floats_size())});
      for (int i = 0; i < a.floats_size(); ++i) t.mutableData<float>()[i] = a.floats(i);
      return t;
    }
    if (name == "value_string" || name == "value_strings")
      throw UnsupportedError(fmt::format("{}: string constants are not supported", where));
    if (name == "sparse_value")
      throw UnsupportedError(fmt::format("{}: sparse constants are not supported", where));
    fail("{}: unknown Constant attribute '{}'", where, name);
  }

  void importNode(const onnx::NodeProto &n, size_t index) {
    std::string loc = fmt::format("{}: {} ({})", path_, nodeLabel(n, index), n.op_type());
    std::string by = fmt::format("{} ({})", nodeLabel(n, index), n.op_type());

    if (n.op_type() == "Constant") {
      if (n.output_size() != 1 || n.output(0).empty()) fail("{}: a Constant node needs one output", loc);
      define(n.output(0), module_->addConstant(n.output(0), constantNodeValue(n, by)), by);
      return;
    }

    std::vector<Value *> operands;
    for (const auto &in : n.input()) {
      if (in.empty()) {
        operands.push_back(nullptr);
        continue;
      }
      auto it = values_.find(in);
      if (it == values_.end())
        fail("{}: input \"{}\" is not defined by any node, initializer or graph input", loc, in);
      operands.push_back(it->second);
    }
    // Trailing omitted optional inputs are the same as absent ones.
    while (!operands.empty() && !operands.back()) operands.pop_back();

    int numOutputs = n.output_size();
    while (numOutputs > 0 && n.output(numOutputs - 1).empty()) --numOutputs;
    const OpDef &def = *OpRegistry::global().find(n.op_type());
    auto arityError = [&](const char *what, size_t count, int lo, int hi) {
      if (int(count) >= lo && (hi < 0 || int(count) <= hi)) return;
      std::string range = hi < 0 ? fmt::format("at least {}", lo) : lo == hi ? std::to_string(lo)
                                                                             : fmt::format("{} to {}", lo, hi);
      fail("{}: has {} {}, but {} takes {}", loc, count, what, n.op_type(), range);
    };
    arityError("inputs", operands.size(), def.minInputs, def.maxInputs);
    arityError("outputs", size_t(numOutputs), def.minOutputs, def.maxOutputs);

    Attrs attrs;
    for (const auto &a : n.attribute()) {
      AttrValue v = convertAttribute(a, by);
      if (n.op_type() == "Cast" && a.name() == "to") {
        // ONNX gives the target type as a TensorProto.DataType number.
        auto *code = std::get_if<int64_t>(&v);
        if (!code) fail("{}: attribute 'to' must be an int", loc);
        v = onnx_import::dtypeOfOnnx(int(*code), path_, fmt::format("{}: attribute 'to'", by));
      }
      attrs.set(a.name(), std::move(v));
    }

    Op *op = graph_->createOp(n.op_type(), std::move(operands), std::move(attrs));
    op->setLoc(loc);
    for (int i = 0; i < numOutputs; ++i) {
      const std::string &name = n.output(i);
      if (name.empty()) {
        op->addResult(graph_->uniqueName(fmt::format("{}_unused{}", n.name().empty() ? n.op_type() : n.name(), i)));
        continue;
      }
      if (values_.count(name)) fail("{}: output \"{}\" is already defined by {}", loc, name, definedBy_[name]);
      op->addResult(name);
    }
    try {
      op->inferTypes();
    } catch (const Error &e) {
      std::string msg = e.what();
      throw Error(msg.find(loc) == std::string::npos ? fmt::format("{}: {}", loc, msg) : msg);
    } catch (const std::exception &e) {
      fail("{}: type inference failed: {}", loc, e.what());
    }
    for (int i = 0; i < numOutputs; ++i)
      if (!n.output(i).empty()) define(n.output(i), op->result(size_t(i)), by);
  }

  void importOutputs(const onnx::GraphProto &g) {
    for (const auto &vi : g.output()) {
      auto it = values_.find(vi.name());
      if (it == values_.end())
        fail("{}: graph output \"{}\" is not defined by any node, initializer or graph input", path_, vi.name());
      Value *v = it->second;
      std::string what = fmt::format("graph output \"{}\"", vi.name());
      // The declared type must agree with what inference computed.
      if (vi.has_type()) {
        if (vi.type().value_case() != onnx::TypeProto::kTensorType) typeOf(vi, what);  // throws Unsupported
        const auto &tt = vi.type().tensor_type();
        if (tt.elem_type() != onnx::TensorProto_DataType_UNDEFINED) {
          DType declared = onnx_import::dtypeOfOnnx(tt.elem_type(), path_, what);
          if (declared != v->type().dtype())
            fail("{}: {} is declared {} but {} computes {}", path_, what, dtypeName(declared), definedBy_[vi.name()],
                 v->type().str());
        }
        if (tt.has_shape() && v->type().isRanked()) {
          const auto &dims = tt.shape().dim();
          if (size_t(dims.size()) != v->type().rank())
            fail("{}: {} is declared with rank {} but {} computes {}", path_, what, dims.size(),
                 definedBy_[vi.name()], v->type().str());
          for (int i = 0; i < dims.size(); ++i)
            if (dims[i].has_dim_value() && v->type().dim(size_t(i)).isStatic() &&
                dims[i].dim_value() != v->type().dim(size_t(i)).value())
              fail("{}: {} is declared with dim {} = {} but {} computes {}", path_, what, i, dims[i].dim_value(),
                   definedBy_[vi.name()], v->type().str());
        }
      }
      graph_->addOutput(vi.name(), v);
    }
  }

  std::string path_;
  std::shared_ptr<onnx::ModelProto> model_;
  int opset_ = 0;
  std::unique_ptr<Module> module_;
  Graph *graph_ = nullptr;
  std::unique_ptr<TensorReader> tensors_;
  std::unordered_map<std::string, Value *> values_;
  std::unordered_map<std::string, std::string> definedBy_;
  DimParamReader dimParams_;
  int nextUnknown_ = 0;
};

} // namespace

std::unique_ptr<Module> importOnnx(const std::string &path) { return OnnxImporter(path).run(); }

Tensor readTensorProtoFile(const std::string &path) {
  auto proto = parseProtoFile<onnx::TensorProto>(path, "an ONNX TensorProto");
  std::filesystem::path base = std::filesystem::path(path).parent_path();
  TensorReader reader(path, base.empty() ? "." : base, std::shared_ptr<const void>(proto));
  std::string what = proto->name().empty() ? std::string("the tensor") : fmt::format("tensor \"{}\"", proto->name());
  return reader.read(*proto, what);
}

} // namespace ternc
