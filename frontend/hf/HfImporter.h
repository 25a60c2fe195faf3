// HfImporter: a Hugging Face checkpoint folder (config.json + *.safetensors, sharded or not) as a ternc Module.
#pragma once

#include "ir/IR.h"

#include <memory>
#include <string>

namespace ternc {

/// True if `path` is a folder holding a config.json (what importHuggingFace takes).
bool isHuggingFaceFolder(const std::string &path);

/// Imports the decoder-only language model in folder `dir`: LlamaForCausalLM, BitNetForCausalLM (packed uint8
/// weights with weight_scale, or bf16 latent weights ternarized with absmean) and MiniCPMForCausalLM (bf16
/// pseudo-quantized weights; the scale granularity is detected). The graph is built by frontend/llm/ in the
/// form the ONNX route imports (docs/frontend-hf.md). Throws Error naming the file and what is wrong.
std::unique_ptr<Module> importHuggingFace(const std::string &dir);

} // namespace ternc
