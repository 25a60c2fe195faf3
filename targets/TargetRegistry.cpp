// TargetRegistry: the built-in targets (Targets.def) and target lookup.
#include "targets/Target.h"

#include "ir/Error.h"
#include "passes/Pass.h"

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
