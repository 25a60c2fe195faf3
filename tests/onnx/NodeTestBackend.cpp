// NodeTestBackend: the backends the ONNX node-test runner can use.
#include "tests/onnx/NodeTestBackend.h"

#include "ir/Error.h"
#include "ir/Interpreter.h"
#include "ir/Npy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ternc::nodetest {

namespace fs = std::filesystem;

namespace {

class InterpreterBackend : public NodeTestBackend {
public:
  std::string name() const override { return "interp"; }
  std::vector<Tensor> run(Module &module, const NodeTestData &data, const fs::path &) override {
    const Graph *g = module.findGraph("main");
    if (!g) fail("the module has no graph 'main'");
    return interpret(*g, data.inputs);
  }
};

struct ProcessResult {
  bool ok = false;      ///< exited with status 0
  std::string status;   ///< "exit status N" or "signal N (name)"
  std::string output;   ///< stdout and stderr, interleaved
};

/// Runs `argv` with stdout and stderr captured in `log`. The child dies with
/// its parent, so a case process killed by the runner's timeout takes a
/// hanging compiler or executable with it.
ProcessResult runProcess(const std::vector<std::string> &argv, const fs::path &log) {
  std::vector<char *> args;
  for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = getpid();
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) fail("fork() failed: {}", std::strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(127);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    execv(args[0], args.data());
    dprintf(2, "cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  ProcessResult r;
  std::ifstream in(log, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  r.output = text.str();
  if (WIFEXITED(status)) {
    r.ok = WEXITSTATUS(status) == 0;
    r.status = fmt::format("exit status {}", WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    r.status = fmt::format("signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return r;
}

/// The line of a tool's output that says what went wrong: the first
/// "error:" line, else the last non-empty line.
std::string errorLine(const std::string &output) {
  std::istringstream in(output);
  std::string last;
  for (std::string line; std::getline(in, line);) {
    if (line.find("error:") != std::string::npos) return line;
    if (!line.empty()) last = line;
  }
  return last.empty() ? "(no output)" : last;
}

/// An output name as the executable names its file: characters outside
/// [A-Za-z0-9._-] become '_'.
std::string outputFileName(const std::string &name) {
  std::string file = name;
  for (char &c : file)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (file.empty() || file == "." || file == "..") file = "_" + file;
  return file + ".npy";
}

/// ONNX 1.12 stores bf16 test data as UINT16 (NumPy has no bfloat16); the
/// executable checks input dtypes, so it gets a copy labelled BFLOAT16.
fs::path relabelBF16(const fs::path &file, const fs::path &out) {
  onnx::TensorProto proto;
  {
    std::ifstream in(file, std::ios::binary);
    if (!in || !proto.ParseFromIstream(&in)) fail("{}: cannot read the TensorProto", file.string());
  }
  if (proto.data_type() != onnx::TensorProto::UINT16) return file;
  proto.set_data_type(onnx::TensorProto::BFLOAT16);
  std::ofstream o(out, std::ios::binary);
  if (!o || !proto.SerializeToOstream(&o)) fail("{}: cannot write", out.string());
  return out;
}

class CompiledBackend : public NodeTestBackend {
public:
  explicit CompiledBackend(fs::path ternc) : ternc_(std::move(ternc)) {}
  std::string name() const override { return "compiled"; }

  std::vector<Tensor> run(Module &module, const NodeTestData &data, const fs::path &workDir) override {
    const Graph *g = module.findGraph("main");
    if (!g) fail("the module has no graph 'main'");
    if (data.model != model_) startCase(data.model, workDir);
    int set = dataSets_++;

    // A model with data-dependent shapes is compiled for this data set's
    // integer and scalar inputs (shapes, axes, starts, Range's bounds); the
    // executable then takes only the other inputs.
    fs::path exe = exe_;
    std::vector<bool> bound(g->arguments().size(), false);
    if (exe.empty()) {
      std::vector<std::string> binds;
      for (size_t i = 0; i < g->arguments().size(); ++i) {
        const Type &t = g->argument(i)->type();
        if (t.dtype() != DType::I64 && t.dtype() != DType::I32 && !(t.isRanked() && t.rank() == 0)) continue;
        binds.push_back(fmt::format("{}={}", g->argument(i)->name(), data.inputFiles.at(i).string()));
        bound[i] = true;
      }
      if (binds.empty()) fail("ternc compile: {} (and the model has no integer or scalar inputs to bind)", bindError_);
      exe = workDir / fmt::format("model-{}.exe", set);
      if (auto err = compile(exe, binds, workDir))
        fail("ternc compile --bind {}: {}", fmt::join(binds, " --bind "), *err);
    }

    fs::path outDir = workDir / fmt::format("out-{}", set);
    std::vector<std::string> argv = {exe.string()};
    for (size_t i = 0; i < g->arguments().size(); ++i) {
      if (bound[i]) continue;
      fs::path file = data.inputFiles.at(i);
      if (g->argument(i)->type().dtype() == DType::BF16)
        file = relabelBF16(file, workDir / fmt::format("bf16-{}-{}.pb", set, i));
      argv.push_back("--input");
      argv.push_back(fmt::format("{}={}", g->argument(i)->name(), file.string()));
    }
    argv.push_back("--output-dir");
    argv.push_back(outDir.string());
    ProcessResult r = runProcess(argv, workDir / fmt::format("run-{}.log", set));
    if (!r.ok) fail("the compiled executable failed ({}): {}", r.status, errorLine(r.output));

    std::vector<Tensor> outputs;
    for (const auto &name : g->outputNames()) outputs.push_back(readNpy((outDir / outputFileName(name)).string()));
    return outputs;
  }

private:
  /// Compiles the case's model without binds; remembers whether it needs them.
  void startCase(const fs::path &model, const fs::path &workDir) {
    model_ = model;
    dataSets_ = 0;
    exe_.clear();
    bindError_.clear();
    fs::path exe = workDir / "model.exe";
    auto err = compile(exe, {}, workDir);
    if (!err) {
      exe_ = exe;
      return;
    }
    // The compile error for a shape that depends on input data says to bind.
    if (err->find("--bind NAME=FILE") == std::string::npos) {
      model_.clear();
      fail("ternc compile: {}", *err);
    }
    bindError_ = *err;
  }

  /// Runs `ternc compile`; the error line if it fails.
  std::optional<std::string> compile(const fs::path &exe, const std::vector<std::string> &binds,
                                     const fs::path &workDir) {
    std::vector<std::string> argv = {ternc_.string(), "compile", model_.string(), "-o", exe.string(), "-O1"};
    for (const auto &b : binds) {
      argv.push_back("--bind");
      argv.push_back(b);
    }
    ProcessResult r = runProcess(argv, workDir / "compile.log");
    if (r.ok) return std::nullopt;
    return fmt::format("{} ({})", errorLine(r.output), r.status);
  }

  fs::path ternc_;
  fs::path model_;         ///< the case being run
  fs::path exe_;           ///< its executable when it compiled without binds
  std::string bindError_;  ///< why it needs binds, otherwise
  int dataSets_ = 0;       ///< data sets of the case run so far
};

} // namespace

std::unique_ptr<NodeTestBackend> createInterpreterBackend() { return std::make_unique<InterpreterBackend>(); }

std::unique_ptr<NodeTestBackend> createCompiledBackend(const fs::path &ternc) {
  return std::make_unique<CompiledBackend>(ternc);
}

std::unique_ptr<NodeTestBackend> createBackend(const std::string &name) {
  if (name == "interp") return createInterpreterBackend();
  if (name == "compiled") return createCompiledBackend(TERNC_BINARY);
  return nullptr;
}

std::vector<std::string> backendNames() { return {"interp", "compiled"}; }

} // namespace ternc::nodetest
