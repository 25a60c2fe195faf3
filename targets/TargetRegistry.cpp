// TargetRegistry: the built-in targets (Targets.def), out-of-tree targets (--load-target) and target lookup.
#include "targets/Target.h"
#include "targets/TargetPlugin.h"

#include "ir/Error.h"
#include "passes/Pass.h"

#include <algorithm>
#include <dlfcn.h>
#include <filesystem>
#include <unistd.h>

namespace ternc {

#define TERNC_TARGET(FACTORY) std::unique_ptr<Target> FACTORY();
#include "targets/Targets.def"
#undef TERNC_TARGET

TargetRegistry &TargetRegistry::global() {
  static TargetRegistry *registry = [] {
    auto *r = new TargetRegistry;
#define TERNC_TARGET(FACTORY) r->add(FACTORY());
#include "targets/Targets.def"
#undef TERNC_TARGET
    for (const auto &t : r->all()) t->registerPasses(PassRegistry::global());
    return r;
  }();
  return *registry;
}

void TargetRegistry::add(std::unique_ptr<Target> t) {
  if (!t) fail("a null target was registered");
  if (find(t->name())) fail("target '{}' is registered twice", t->name());
  targets_.push_back(std::move(t));
}

const Target *TargetRegistry::find(std::string_view name) const {
  for (const auto &t : targets_)
    if (t->name() == name) return t.get();
  return nullptr;
}

const Target &TargetRegistry::get(std::string_view name) const {
  if (const Target *t = find(name)) return *t;
  std::string known;
  for (const auto &t : targets_) known += (known.empty() ? "" : ", ") + std::string(t->name());
  fail("unknown target '{}' (known: {}; see `ternc targets`)", name, known);
}

const Target &TargetRegistry::defaultTarget() const {
  if (targets_.empty()) fail("no targets are registered");
  return *targets_.front();
}

void TargetRegistry::load(const std::string &path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("--load-target {}: no such file", path);
  std::string canonical = fs::canonical(path, ec).string();
  if (ec) canonical = path;
  if (std::find(loaded_.begin(), loaded_.end(), canonical) != loaded_.end()) return;
  // dlopen searches the library path for a name without '/'; the option names a file.
  std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  // Never closed: the targets' code and vtables live in the library.
  void *handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *err = ::dlerror();
    fail("--load-target {}: cannot load it: {}", path, err ? err : "unknown dlopen error");
  }
  auto *version = reinterpret_cast<TerncTargetAbiVersionFn *>(::dlsym(handle, "ternc_target_abi_version"));
  auto *registerFn = reinterpret_cast<TerncRegisterTargetsFn *>(::dlsym(handle, "ternc_register_targets"));
  if (!version || !registerFn)
    fail("--load-target {}: not a ternc target plugin (it does not export ternc_target_abi_version and "
         "ternc_register_targets; see targets/TargetPlugin.h)",
         path);
  int v = version();
  if (v != kTargetAbiVersion)
    fail("--load-target {}: the plugin was built for target interface version {}, this ternc has version {}; "
         "rebuild it against this ternc's headers",
         path, v, kTargetAbiVersion);
  size_t before = targets_.size();
  registerFn(*this);
  if (targets_.size() == before) fail("--load-target {}: the plugin registered no target", path);
  for (size_t i = before; i < targets_.size(); ++i) targets_[i]->registerPasses(PassRegistry::global());
  loaded_.push_back(canonical);
}

void Target::emitCustom(const Module &, const CpuSelection &, std::string_view kind, const std::string &) const {
  fail("--emit={}: target {} writes no such output", kind, name());
}

std::string runtimeLibraryDir(const std::string &triple) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = self.parent_path().parent_path() / "lib" / "ternc" / triple;
    if (fs::exists(installed / "libternc_runtime.a", ec)) return installed.string();
  }
#ifdef TERNC_BUILD_RUNTIME_DIR
  return std::string(TERNC_BUILD_RUNTIME_DIR) + "/" + triple;
#else
  fail("cannot find the ternc runtime library for {}", triple);
#endif
}

} // namespace ternc
