// Instance.cpp: ternc_instance — a model with its context and arena, the state behind a library's P_create/P_run.
#include "Host.h"

#include <algorithm>
#include <string>
#include <vector>

struct ternc_instance {
  const ternc_model *model = nullptr;
  ternc_context *ctx = nullptr;
  ternc::rt::AlignedBuffer arena;

  ~ternc_instance() { ternc_context_destroy(ctx); }
};

namespace ternc::rt {

namespace {

/// The symbol values for these input shapes, by the same binding and checks
/// as `ternc run` (bindSymbols); a model without symbols may omit them.
std::vector<int64_t> bindShapes(const ternc_model &model, const int64_t *const *shapes) {
  if (!shapes) {
    if (model.num_symbols == 0) return {};
    std::string names;
    for (int32_t s = 0; s < model.num_symbols; ++s) names += std::string(s ? ", " : "") + model.symbols[s];
    throw Error("model '" + std::string(model.name) + "' has symbolic dims (" + names +
                "): pass the input shapes (the _run_shaped function)");
  }
  // bindSymbols reads only dtype and shape; the data stays the caller's.
  std::vector<HostTensor> tensors(size_t(model.num_inputs));
  std::vector<const HostTensor *> views;
  for (int32_t i = 0; i < model.num_inputs; ++i) {
    const ternc_tensor_info &info = model.inputs[i];
    if (info.rank > 0 && !shapes[i]) throw Error(std::string("input '") + info.name + "': its shape is NULL");
    HostTensor &t = tensors[size_t(i)];
    t.dtype = info.dtype;
    t.shape.assign(shapes[i], shapes[i] + info.rank);
    for (int32_t d = 0; d < info.rank; ++d)
      if (t.shape[size_t(d)] < 0)
        throw Error(std::string("input '") + info.name + "': dim " + std::to_string(d) + " is negative (" +
                    std::to_string(t.shape[size_t(d)]) + ")");
    views.push_back(&t);
  }
  return bindSymbols(model, views);
}

/// Runs `body`, turning any exception into the instance's error and a
/// non-zero result: nothing may unwind through the C ABI.
template <typename Body> int32_t guarded(ternc_instance *inst, Body &&body) {
  try {
    return body();
  } catch (const std::exception &e) {
    ternc_set_error(inst->ctx, e.what());
  } catch (...) {
    ternc_set_error(inst->ctx, "unknown error");
  }
  return 1;
}

} // namespace

} // namespace ternc::rt

using namespace ternc::rt;

extern "C" {

ternc_instance *ternc_instance_create(const ternc_model *model, int32_t threads) {
  if (!model || model->abi_version != TERNC_ABI_VERSION) return nullptr;
  try {
    auto *inst = new ternc_instance;
    inst->model = model;
    inst->ctx = ternc_context_create(threads);
    if (!inst->ctx) {
      delete inst;
      return nullptr;
    }
    return inst;
  } catch (...) {
    return nullptr;
  }
}

void ternc_instance_destroy(ternc_instance *inst) { delete inst; }

const ternc_model *ternc_instance_model(const ternc_instance *inst) { return inst->model; }

ternc_context *ternc_instance_context(ternc_instance *inst) { return inst->ctx; }

int32_t ternc_instance_run(ternc_instance *inst, const void *const *inputs, const int64_t *const *input_shapes,
                           void *const *outputs) {
  return guarded(inst, [&]() -> int32_t {
    const ternc_model &model = *inst->model;
    if (model.num_states > 0)
      throw Error(std::string("model '") + model.name +
                  "' keeps state (a KV cache) across runs: its library API is not supported yet");
    std::vector<int64_t> symbols = bindShapes(model, input_shapes);
    for (int32_t i = 0; i < model.num_inputs; ++i)
      if (!inputs || !inputs[i]) throw Error(std::string("input '") + model.inputs[i].name + "' is NULL");
    for (int32_t i = 0; i < model.num_outputs; ++i)
      if (!outputs || !outputs[i]) throw Error(std::string("output '") + model.outputs[i].name + "' is NULL");
    uint64_t need = model.arena_bytes(symbols.data());
    // Allocated on the first run, then grown by at least half, never shrunk:
    // a decode loop whose sequence grows by one reallocates O(log n) times.
    if (need > inst->arena.size()) {
      size_t grown = inst->arena.size() == 0 ? size_t(need) : std::max(size_t(need), inst->arena.size() * 3 / 2);
      inst->arena = AlignedBuffer();
      inst->arena = AlignedBuffer(grown);
    }
    return model.run(inst->ctx, symbols.data(), inputs, outputs, inst->arena.data());
  });
}

int32_t ternc_instance_output_shape(ternc_instance *inst, const int64_t *const *input_shapes, int32_t output,
                                    int64_t *dims) {
  return guarded(inst, [&]() -> int32_t {
    const ternc_model &model = *inst->model;
    if (output < 0 || output >= model.num_outputs)
      throw Error("output index " + std::to_string(output) + " is out of range: model '" + model.name + "' has " +
                  std::to_string(model.num_outputs) + " outputs");
    std::vector<int64_t> symbols = bindShapes(model, input_shapes);
    const ternc_tensor_info &info = model.outputs[output];
    for (int32_t d = 0; d < info.rank; ++d) {
      int64_t v = ternc_dim_value(&info.dims[d], symbols.data());
      if (v < 0)
        throw Error(std::string("output '") + info.name + "': dim " + std::to_string(d) + " = " +
                    dimText(model, info.dims[d]) + " is negative (" + std::to_string(v) + ") for these input shapes");
      dims[d] = v;
    }
    return 0;
  });
}

const char *ternc_instance_last_error(const ternc_instance *inst) { return ternc_last_error(inst->ctx); }

} // extern "C"
