// TargetPlugin: what an out-of-tree target (a shared library loaded with `ternc compile --load-target=PATH`)
// exports. Write one TERNC_TARGET_PLUGIN line in the plugin, naming functions that return its targets:
//
//   std::unique_ptr<ternc::Target> createMyTarget();
//   TERNC_TARGET_PLUGIN(createMyTarget)
//
// The plugin is built against the installed headers (include/ternc) and links no ternc library: the ternc
// executable exports the ternc:: API (TargetSupport.h, the pass registry, the IR) to the plugins it loads.
// examples/out-of-tree-target is a complete plugin; docs/adding-a-target.md walks through it.
#pragma once

#include "targets/Target.h"

extern "C" {
/// The kTargetAbiVersion the plugin was compiled against; ternc checks it before anything else.
using TerncTargetAbiVersionFn = int();
/// Adds the plugin's targets to the registry.
using TerncRegisterTargetsFn = void(ternc::TargetRegistry &);
}

/// Defines the plugin's two entry points; the arguments are factories returning std::unique_ptr<Target>.
#define TERNC_TARGET_PLUGIN(...)                                                             \
  extern "C" __attribute__((visibility("default"))) int ternc_target_abi_version() {        \
    return ternc::kTargetAbiVersion;                                                         \
  }                                                                                          \
  extern "C" __attribute__((visibility("default"))) void ternc_register_targets(ternc::TargetRegistry &r) { \
    for (auto *factory : {__VA_ARGS__}) r.add(factory());                                    \
  }
