// NodeTestRunner: runs the ONNX backend node tests (one folder per case:
// model.onnx, test_data_set_N/{input,output}_K.pb) through the importer and
// a backend, classifies each case, prints a per-op table, and fails on any
// regression against the checked-in list of passing cases.
#include "frontend/onnx/OnnxImporter.h"
#include "frontend/onnx/OnnxOpsets.h"
#include "ir/Error.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "tests/onnx/NodeTestBackend.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace ternc;

namespace {

enum class Status { Pass, Fail, Unsupported };

std::string_view statusName(Status s) {
  switch (s) {
  case Status::Pass: return "pass";
  case Status::Fail: return "fail";
  case Status::Unsupported: return "unsupported";
  }
  return "?";
}

struct Outcome {
  Status status = Status::Fail;
  std::string reason;  // one line; empty for a pass
};

struct CaseInfo {
  std::string name;
  fs::path dir;
  std::vector<std::string> opTypes;  // distinct, `domain.Op` outside the default domain
  bool supportedOnly = false;        // every op is in the supported list
  Outcome outcome;
};

std::string oneLine(std::string s, size_t limit = 400) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (s.size() > limit) s = s.substr(0, limit) + "...";
  return s;
}

/// The distinct op types of a model, read directly (not through the
/// importer) so that the table can name the ops of unimportable cases too.
std::optional<std::vector<std::string>> readOpTypes(const fs::path &model) {
  std::ifstream in(model, std::ios::binary);
  onnx::ModelProto proto;
  if (!in || !proto.ParseFromIstream(&in)) return std::nullopt;
  std::set<std::string> ops;
  for (const auto &n : proto.graph().node())
    ops.insert(n.domain().empty() || n.domain() == "ai.onnx" ? n.op_type() : n.domain() + "." + n.op_type());
  return std::vector<std::string>(ops.begin(), ops.end());
}

/// ONNX's rule (onnx/backend/test/runner): |got - want| <= atol + rtol * |want|,
/// NaN equal to NaN; integers and bools compare exactly.
std::optional<std::string> compareTensors(const Tensor &got, const Tensor &want, double rtol, double atol) {
  if (got.dtype() != want.dtype())
    return fmt::format("dtype is {}, expected {}", dtypeName(got.dtype()), dtypeName(want.dtype()));
  if (got.shape() != want.shape())
    return fmt::format("shape is [{}], expected [{}]", fmt::join(got.shape(), ","), fmt::join(want.shape(), ","));
  int64_t bad = 0, first = -1;
  bool floating = isFloat(want.dtype());
  for (int64_t i = 0; i < want.numElements(); ++i) {
    bool ok;
    if (floating) {
      double a = got.getDouble(i), b = want.getDouble(i);
      ok = a == b || (std::isnan(a) && std::isnan(b)) ||
           (std::isfinite(a) && std::isfinite(b) && std::fabs(a - b) <= atol + rtol * std::fabs(b));
    } else {
      ok = got.getInt(i) == want.getInt(i);
    }
    if (!ok && bad++ == 0) first = i;
  }
  if (bad == 0) return std::nullopt;
  auto show = [&](const Tensor &t) {
    return floating ? fmt::format("{}", t.getDouble(first)) : fmt::format("{}", t.getInt(first));
  };
  return fmt::format("{} of {} elements differ; first at flat index {}: got {}, expected {}", bad, want.numElements(),
                     first, show(got), show(want));
}

std::vector<fs::path> numberedFiles(const fs::path &dir, const std::string &prefix) {
  std::vector<fs::path> out;
  for (int i = 0;; ++i) {
    fs::path p = dir / fmt::format("{}_{}.pb", prefix, i);
    if (!fs::exists(p)) break;
    out.push_back(p);
  }
  return out;
}

/// A case's test_data_set_N folders, in order of N.
std::vector<fs::path> testDataSets(const fs::path &caseDir) {
  std::vector<fs::path> out;
  for (int i = 0; fs::is_directory(caseDir / fmt::format("test_data_set_{}", i)); ++i)
    out.push_back(caseDir / fmt::format("test_data_set_{}", i));
  return out;
}

/// ONNX 1.12's test generator stores bfloat16 tensors as UINT16 holding the
/// bf16 bit patterns (NumPy has no bfloat16); such a tensor is read back as
/// the bf16 tensor it stands for.
Tensor bf16FromTestData(const Tensor &t, DType wanted) {
  if (wanted != DType::BF16 || t.dtype() != DType::U16) return t;
  return Tensor(DType::BF16, t.shape(), t.storage(), t.byteOffset());
}

/// Imports, runs and compares one case. Never throws.
Outcome runCase(const CaseInfo &c, nodetest::NodeTestBackend &backend, const fs::path &workDir) {
  try {
    std::unique_ptr<Module> module;
    try {
      module = importOnnx((c.dir / "model.onnx").string());
    } catch (const UnsupportedError &e) {
      return {Status::Unsupported, oneLine(e.what())};
    }
    // Every imported model must survive the text form: printing what was
    // parsed gives the same text byte for byte, and the case then runs on
    // the re-parsed module.
    PrintOptions hex;
    hex.weights = WeightMode::Hex;
    std::string text = printModule(*module, hex);
    std::unique_ptr<Module> reparsed = parseModule(text, c.name + ".tir");
    if (printModule(*reparsed, hex) != text) return {Status::Fail, "the IR text form does not round-trip"};
    module = std::move(reparsed);
    const Graph *g = module->findGraph("main");
    if (!g) return {Status::Fail, "import produced no graph 'main'"};
    std::vector<fs::path> dataSets = testDataSets(c.dir);
    if (dataSets.empty()) return {Status::Fail, "the case has no test_data_set_N folder"};
    for (const fs::path &dir : dataSets) {
      // Messages name the data set only where there is more than one.
      std::string where = dataSets.size() > 1 ? dir.filename().string() + ": " : "";
      nodetest::NodeTestData data;
      data.model = c.dir / "model.onnx";
      data.dir = dir;
      data.inputFiles = numberedFiles(dir, "input");
      std::vector<Tensor> expected;
      for (const auto &p : data.inputFiles) data.inputs.push_back(readTensorProtoFile(p.string()));
      for (const auto &p : numberedFiles(dir, "output")) expected.push_back(readTensorProtoFile(p.string()));
      if (data.inputs.size() != g->arguments().size())
        return {Status::Fail, fmt::format("{}{} input files, but the graph takes {} inputs", where, data.inputs.size(),
                                          g->arguments().size())};
      for (size_t i = 0; i < data.inputs.size(); ++i)
        data.inputs[i] = bf16FromTestData(data.inputs[i], g->argument(i)->type().dtype());
      std::vector<Tensor> got = backend.run(*module, data, workDir);
      if (got.size() != expected.size())
        return {Status::Fail, fmt::format("{}{} outputs, expected {}", where, got.size(), expected.size())};
      for (size_t i = 0; i < got.size(); ++i) expected[i] = bf16FromTestData(expected[i], got[i].dtype());
      for (size_t i = 0; i < got.size(); ++i)
        if (auto diff = compareTensors(got[i], expected[i], 1e-3, 1e-7))
          return {Status::Fail, fmt::format("{}output {} '{}': {}", where, i, g->outputNames()[i], *diff)};
    }
    return {Status::Pass, ""};
  } catch (const std::exception &e) {
    return {Status::Fail, oneLine(e.what())};
  }
}

/// Runs a case in a child process, so that a crash or a hang in one op's
/// reference code is reported as that case's failure instead of ending the
/// run.
Outcome runCaseIsolated(const CaseInfo &c, nodetest::NodeTestBackend &backend, const fs::path &workDir,
                        unsigned timeoutSeconds) {
  int fds[2];
  if (pipe(fds) != 0) return {Status::Fail, "pipe() failed"};
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return {Status::Fail, "fork() failed"};
  }
  if (pid == 0) {
    close(fds[0]);
    alarm(timeoutSeconds);
    Outcome o = runCase(c, backend, workDir);
    std::string msg = std::string(1, char('0' + int(o.status))) + o.reason;
    size_t off = 0;
    while (off < msg.size()) {
      ssize_t w = write(fds[1], msg.data() + off, msg.size() - off);
      if (w <= 0) break;
      off += size_t(w);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string msg;
  char buf[4096];
  for (ssize_t r; (r = read(fds[0], buf, sizeof buf)) != 0;) {
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    msg.append(buf, size_t(r));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGALRM) return {Status::Fail, fmt::format("timed out after {} s", timeoutSeconds)};
    return {Status::Fail, fmt::format("crashed with signal {} ({})", sig, strsignal(sig))};
  }
  if (msg.empty() || msg[0] < '0' || msg[0] > '2') return {Status::Fail, "the case's process reported nothing"};
  return {Status(msg[0] - '0'), msg.substr(1)};
}

std::set<std::string> readPassingList(const fs::path &path) {
  std::set<std::string> names;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    line.erase(std::find_if(line.rbegin(), line.rend(), [](char ch) { return !std::isspace(ch); }).base(), line.end());
    if (!line.empty() && line[0] != '#') names.insert(line);
  }
  return names;
}

void writePassingList(const fs::path &path, const std::string &backend, const std::vector<std::string> &names) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    out << fmt::format("# ONNX node-test cases that pass on the '{}' backend. A listed case that stops\n"
                       "# passing fails the test; regenerate with `ternc_onnx_node_tests --backend {} --update`.\n",
                       backend, backend);
    for (const auto &n : names) out << n << "\n";
    if (!out) ternc::fail("{}: cannot write", tmp.string());
  }
  fs::rename(tmp, path);
}

struct Counts {
  int pass = 0, fail = 0, unsupported = 0;
  void add(Status s) { (s == Status::Pass ? pass : s == Status::Fail ? fail : unsupported)++; }
  int total() const { return pass + fail + unsupported; }
};

void printReport(const std::vector<CaseInfo> &cases) {
  std::map<std::string, Counts> perOp;
  Counts all, supportedOnly;
  for (const auto &c : cases) {
    all.add(c.outcome.status);
    if (c.supportedOnly) supportedOnly.add(c.outcome.status);
    for (const auto &op : c.opTypes) perOp[op].add(c.outcome.status);
  }
  fmt::print("\n{:<32} {:>7} {:>7} {:>12}\n", "op type (cases using it)", "passed", "failed", "unsupported");
  for (const auto &[op, n] : perOp) {
    std::string mark = ternc::onnx_import::isSupportedOnnxOp(op) ? "" : " *";
    fmt::print("{:<32} {:>7} {:>7} {:>12}\n", op + mark, n.pass, n.fail, n.unsupported);
  }
  fmt::print("(* not in the supported op list)\n\n");
  fmt::print("all cases:                      {:>4}: passed {}, failed {}, unsupported {}\n", all.total(), all.pass,
             all.fail, all.unsupported);
  fmt::print("cases using only supported ops: {:>4}: passed {}, failed {}, unsupported {}\n", supportedOnly.total(),
             supportedOnly.pass, supportedOnly.fail, supportedOnly.unsupported);
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Runs the ONNX backend node tests through the ternc importer and a backend."};
  std::string dataDir = "/usr/share/libonnx-testdata/data/node";
  std::string backendName = "interp";
  std::string shard;
  std::string passingList;
  std::string filter;
  bool update = false, report = false, verbose = false, noFork = false;
  unsigned timeout = 120;
  app.add_option("--data", dataDir, "folder of test cases (one sub-folder per case)");
  app.add_option("--backend", backendName, fmt::format("backend to run: {}", fmt::join(nodetest::backendNames(), ", ")));
  app.add_option("--shard", shard, "run only shard I of N (I/N, 0-based): case k runs in shard k mod N");
  app.add_option("--passing-list", passingList, "checked-in list of cases that must pass (tests/onnx/passing-BACKEND.txt)");
  app.add_flag("--update", update, "rewrite --passing-list with the cases that pass now (needs a full run)");
  app.add_flag("--report", report, "print the per-op table and totals");
  app.add_option("--filter", filter, "run only cases whose name matches this regular expression");
  app.add_flag("-v,--verbose", verbose, "print every case's outcome");
  app.add_flag("--no-fork", noFork, "run cases in this process (for debugging; a crash ends the run)");
  app.add_option("--timeout", timeout, "seconds per case before it counts as failed");
  CLI11_PARSE(app, argc, argv);

  auto backend = nodetest::createBackend(backendName);
  if (!backend) {
    fmt::print(stderr, "unknown backend '{}' (known: {})\n", backendName, fmt::join(nodetest::backendNames(), ", "));
    return 2;
  }
  int shardIndex = 0, shardCount = 1;
  if (!shard.empty()) {
    if (std::sscanf(shard.c_str(), "%d/%d", &shardIndex, &shardCount) != 2 || shardCount < 1 || shardIndex < 0 ||
        shardIndex >= shardCount) {
      fmt::print(stderr, "--shard must be I/N with 0 <= I < N, not '{}'\n", shard);
      return 2;
    }
  }
  if (update && (shardCount > 1 || !filter.empty() || passingList.empty())) {
    fmt::print(stderr, "--update needs --passing-list and a full run (no --shard, no --filter)\n");
    return 2;
  }
  if (!fs::is_directory(dataDir)) {
    fmt::print("skipped: no test data at {} (install libonnx-testdata)\n", dataDir);
    return 77;
  }

  std::vector<std::string> names;
  for (const auto &e : fs::directory_iterator(dataDir))
    if (e.is_directory() && fs::exists(e.path() / "model.onnx")) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  std::optional<std::regex> filterRe;
  if (!filter.empty()) filterRe.emplace(filter);

  std::vector<CaseInfo> cases;
  for (size_t k = 0; k < names.size(); ++k) {
    if (int(k % size_t(shardCount)) != shardIndex) continue;
    if (filterRe && !std::regex_search(names[k], *filterRe)) continue;
    CaseInfo c;
    c.name = names[k];
    c.dir = fs::path(dataDir) / names[k];
    if (auto ops = readOpTypes(c.dir / "model.onnx")) {
      c.opTypes = *ops;
      c.supportedOnly = std::all_of(ops->begin(), ops->end(),
                                    [](const std::string &op) { return onnx_import::isSupportedOnnxOp(op); });
    }
    cases.push_back(std::move(c));
  }

  fs::path workRoot = fs::temp_directory_path() / fmt::format("ternc-node-tests-{}", getpid());
  for (auto &c : cases) {
    if (!c.supportedOnly && !c.opTypes.empty()) {
      std::vector<std::string> missing;
      for (const auto &op : c.opTypes)
        if (!onnx_import::isSupportedOnnxOp(op)) missing.push_back(op);
      c.outcome = {Status::Unsupported, fmt::format("uses ops outside the supported list: {}", fmt::join(missing, ", "))};
    } else {
      fs::path work = workRoot / c.name;
      fs::create_directories(work);
      c.outcome = noFork ? runCase(c, *backend, work) : runCaseIsolated(c, *backend, work, timeout);
      fs::remove_all(work);
    }
    bool show = verbose || (c.outcome.status == Status::Fail) ||
                (c.outcome.status == Status::Unsupported && c.supportedOnly);
    if (show)
      fmt::print("{:<11} {}{}\n", statusName(c.outcome.status), c.name,
                 c.outcome.reason.empty() ? "" : ": " + c.outcome.reason);
  }
  std::error_code ec;
  fs::remove_all(workRoot, ec);

  Counts all;
  for (const auto &c : cases) all.add(c.outcome.status);
  if (report) printReport(cases);
  else fmt::print("{} cases{}: passed {}, failed {}, unsupported {}\n", all.total(),
             shardCount > 1 ? fmt::format(" (shard {}/{})", shardIndex, shardCount) : "", all.pass, all.fail,
             all.unsupported);

  if (passingList.empty()) return 0;
  std::set<std::string> listed = readPassingList(passingList);
  std::map<std::string, const CaseInfo *> byName;
  for (const auto &c : cases) byName[c.name] = &c;
  std::vector<std::string> regressions, newlyPassing, passing;
  for (const auto &c : cases) {
    if (c.outcome.status == Status::Pass) {
      passing.push_back(c.name);
      if (!listed.count(c.name)) newlyPassing.push_back(c.name);
    }
  }
  // A listed case is this run's business if it falls in this shard/filter,
  // or if it no longer exists at all (checked by shard 0 only).
  for (const auto &name : listed) {
    auto it = byName.find(name);
    if (it != byName.end()) {
      if (it->second->outcome.status != Status::Pass)
        regressions.push_back(fmt::format("{} ({}: {})", name, statusName(it->second->outcome.status),
                                          it->second->outcome.reason));
    } else if (!std::binary_search(names.begin(), names.end(), name) && shardIndex == 0 && filter.empty()) {
      regressions.push_back(fmt::format("{} (no such case in {})", name, dataDir));
    }
  }
  if (!newlyPassing.empty() && !update)
    fmt::print("newly passing, not in {} (add them with --update): {}\n", passingList, fmt::join(newlyPassing, " "));
  if (update) {
    writePassingList(passingList, backend->name(), passing);
    fmt::print("wrote {} passing cases to {}\n", passing.size(), passingList);
    return 0;
  }
  if (!regressions.empty()) {
    fmt::print("REGRESSION: {} listed case(s) no longer pass:\n", regressions.size());
    for (const auto &r : regressions) fmt::print("  {}\n", r);
    return 1;
  }
  return 0;
}
