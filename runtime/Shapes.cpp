// Shapes.cpp: dims as text and the binding of a model's symbols from its actual input shapes.
#include "Host.h"

#include <cctype>
#include <cstdlib>
#include <optional>

namespace ternc::rt {

namespace {

/// The symbol index if `dim` is exactly one symbol (1 * s), else nothing.
std::optional<int32_t> bareSymbol(const ternc_dim &dim) {
  if (dim.num_terms == 1 && dim.terms[0].coeff == 1 && dim.terms[0].num_factors == 1) return dim.terms[0].factors[0];
  return std::nullopt;
}

std::string symbolName(const ternc_model &model, int32_t s) {
  return s >= 0 && s < model.num_symbols ? model.symbols[s] : "?" + std::to_string(s);
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

} // namespace

std::string outputFileName(const std::string &name) {
  std::string file = name;
  for (char &c : file)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (file.empty() || file == "." || file == "..") file = "_" + file;
  return file + ".npy";
}

std::string dimText(const ternc_model &model, const ternc_dim &dim) {
  if (dim.num_terms == 0) return std::to_string(dim.value);
  std::string s;
  for (int32_t t = 0; t < dim.num_terms; ++t) {
    const ternc_dim_term &term = dim.terms[t];
    int64_t coeff = term.coeff;
    if (t > 0) s += coeff < 0 ? "-" : "+";
    else if (coeff < 0) s += "-";
    int64_t magnitude = std::llabs(coeff);
    bool showCoeff = magnitude != 1 || term.num_factors == 0;
    if (showCoeff) s += std::to_string(magnitude);
    for (int32_t f = 0; f < term.num_factors; ++f) {
      if (showCoeff || f > 0) s += "*";
      s += symbolName(model, term.factors[f]);
    }
  }
  return s;
}

std::string tensorInfoText(const ternc_model &model, const ternc_tensor_info &info) {
  std::string s = std::string(info.name) + ": " + dtypeName(info.dtype) + "[";
  for (int32_t d = 0; d < info.rank; ++d) s += (d ? ", " : "") + dimText(model, info.dims[d]);
  return s + "]";
}

std::vector<int64_t> bindSymbols(const ternc_model &model, const std::vector<const HostTensor *> &inputs,
                                 const std::vector<std::pair<int32_t, int64_t>> &hostBound) {
  std::vector<int64_t> symbols(size_t(model.num_symbols), 0);
  std::vector<int32_t> boundBy(size_t(model.num_symbols), -1);  // input index that bound each symbol
  std::vector<bool> byHost(size_t(model.num_symbols), false);
  for (auto [s, v] : hostBound)
    if (s >= 0 && s < model.num_symbols) {
      symbols[size_t(s)] = v;
      byHost[size_t(s)] = true;
    }

  for (int32_t i = 0; i < model.num_inputs; ++i) {
    const ternc_tensor_info &info = model.inputs[i];
    const HostTensor &t = *inputs[size_t(i)];
    std::string name = std::string("input '") + info.name + "'";
    // A tern input is held as int8 in files.
    bool dtypeOk = t.dtype == info.dtype || (info.dtype == TERNC_TERN && t.dtype == TERNC_I8);
    if (!dtypeOk)
      throw Error(name + " has dtype " + dtypeName(t.dtype) + ", expected " + dtypeName(info.dtype) + " (" +
                  tensorInfoText(model, info) + ")");
    if (int32_t(t.shape.size()) != info.rank)
      throw Error(name + " has rank " + std::to_string(t.shape.size()) + " (shape " + shapeText(t.shape) +
                  "), expected " + std::to_string(info.rank) + " (" + tensorInfoText(model, info) + ")");
    for (int32_t d = 0; d < info.rank; ++d) {
      const ternc_dim &dim = info.dims[d];
      int64_t actual = t.shape[size_t(d)];
      if (dim.num_terms == 0 && dim.value != actual)
        throw Error(name + " has shape " + shapeText(t.shape) + ", but dim " + std::to_string(d) + " must be " +
                    std::to_string(dim.value) + " (" + tensorInfoText(model, info) + ")");
      if (auto s = bareSymbol(dim)) {
        size_t k = size_t(*s);
        if (byHost[k]) {
          if (symbols[k] != actual)
            throw Error(name + " has shape " + shapeText(t.shape) + ": dim " + std::to_string(d) + " must be " +
                        symbolName(model, *s) + " = " + std::to_string(symbols[k]));
          continue;
        }
        if (boundBy[k] >= 0 && symbols[k] != actual)
          throw Error(name + " has shape " + shapeText(t.shape) + ": dim " + std::to_string(d) + " sets symbol '" +
                      symbolName(model, *s) + "' to " + std::to_string(actual) + ", but input '" +
                      model.inputs[boundBy[k]].name + "' set it to " + std::to_string(symbols[k]));
        symbols[k] = actual;
        boundBy[k] = i;
      }
    }
  }
  for (int32_t s = 0; s < model.num_symbols; ++s)
    if (boundBy[size_t(s)] < 0 && !byHost[size_t(s)])
      throw Error("symbol '" + symbolName(model, s) + "' is not the size of any input dim, so it cannot be bound");

  // Polynomial dims, now that every symbol has a value.
  for (int32_t i = 0; i < model.num_inputs; ++i) {
    const ternc_tensor_info &info = model.inputs[i];
    const HostTensor &t = *inputs[size_t(i)];
    for (int32_t d = 0; d < info.rank; ++d) {
      const ternc_dim &dim = info.dims[d];
      if (dim.num_terms == 0 || bareSymbol(dim)) continue;
      int64_t expected = ternc_dim_value(&dim, symbols.data());
      if (expected != t.shape[size_t(d)])
        throw Error(std::string("input '") + info.name + "' has shape " + shapeText(t.shape) + ", but dim " +
                    std::to_string(d) + " must be " + dimText(model, dim) + " = " + std::to_string(expected) + " (" +
                    tensorInfoText(model, info) + ")");
    }
  }
  return symbols;
}

} // namespace ternc::rt
