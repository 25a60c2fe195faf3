// Profile.cpp: printProfile, the --profile table of compiled executables (ternc_main and ternc_llm_main).
#include "Host.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace ternc::rt {

namespace {

/// The kernel's name with each layer index written as '*': "BitLinear %/model/layers.5/mlp/Add_2_1" becomes
/// "BitLinear %/model/layers.*/mlp/Add_2_1", so the rows of a 32-layer model sum into one row per role.
/// A digit run counts as an index when a '.' precedes it and it ends the name or a '/' or '.' follows.
std::string roleOf(const std::string &name) {
  std::string out;
  for (size_t i = 0; i < name.size();) {
    if (name[i] == '.' && i + 1 < name.size() && std::isdigit(static_cast<unsigned char>(name[i + 1]))) {
      size_t j = i + 1;
      while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
      if (j == name.size() || name[j] == '/' || name[j] == '.') {
        out += ".*";
        i = j;
        continue;
      }
    }
    out += name[i++];
  }
  return out;
}

} // namespace

void printProfile(const ternc_model &model, const ternc_context *ctx, double runMillis, int runs, bool byRole) {
  struct Row {
    std::string name;
    uint64_t nanos = 0, calls = 0;
  };
  std::vector<Row> rows;
  std::map<std::string, size_t> index;
  double kernelMillis = 0;
  for (int32_t k = 0; k < model.num_kernels; ++k) {
    uint64_t nanos = 0, calls = 0;
    ternc_profile_read(ctx, k, &nanos, &calls);
    kernelMillis += double(nanos) / 1e6;
    std::string name = byRole ? roleOf(model.kernel_names[k]) : model.kernel_names[k];
    auto [it, fresh] = index.try_emplace(name, rows.size());
    if (fresh) rows.push_back({name});
    rows[it->second].nanos += nanos;
    rows[it->second].calls += calls;
  }
  // Grouped tables are read for where the time goes: largest first. Per kernel, graph order.
  if (byRole) std::stable_sort(rows.begin(), rows.end(), [](const Row &a, const Row &b) { return a.nanos > b.nanos; });
  // The name column as wide as the longest name, so the numbers line up.
  int width = int(std::string("(outside kernels)").size());
  for (const Row &r : rows) width = std::max(width, int(r.name.size()));
  std::printf("profile (%d run%s, %.3f ms):\n", runs, runs == 1 ? "" : "s", runMillis);
  std::printf("  %-*s %10s %12s %7s\n", width, "kernel", "calls", "total ms", "%");
  auto line = [&](const std::string &name, unsigned long long calls, double ms) {
    std::printf("  %-*s %10llu %12.3f %6.1f%%\n", width, name.c_str(), calls, ms,
                runMillis > 0 ? 100.0 * ms / runMillis : 0.0);
  };
  for (const Row &r : rows) line(r.name, (unsigned long long)r.calls, double(r.nanos) / 1e6);
  // What no kernel accounts for: argument checks, the arena, the host's own work between runs.
  line("(outside kernels)", 0, std::max(0.0, runMillis - kernelMillis));
}

} // namespace ternc::rt
