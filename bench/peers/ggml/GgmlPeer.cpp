// GgmlPeer: dlopen of llama.cpp's ggml libraries and the ternary GEMV / matmul entry points.
#include "GgmlPeer.h"

#include "ir/Error.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

namespace ternc::bench {

namespace {

// ---- ABI facts of ggml 0.25.1 (npm @node-llama-cpp/linux-x64@3.22.1) ----
// Only enum values and struct layouts this file needs; each is checked at run
// time against the library (type names, sizes, function pointers) where the
// library offers a way to check it.

constexpr int kTypeF32 = 0;
constexpr int kTypeQ8_K = 15;
constexpr int kTypeTQ1_0 = 34;
constexpr int kTypeTQ2_0 = 35;
constexpr int64_t kBlockWeights = 256; // QK_K
constexpr size_t kAlignment = 64;      // ggml's CPU buffers need 32; 64 suits AVX-512 too.

using FromFloatFn = void (*)(const float *x, void *y, int64_t k);
using ToFloatFn = void (*)(const void *x, float *y, int64_t k);
using VecDotFn = void (*)(int n, float *s, size_t bs, const void *x, size_t bx, const void *y,
                          size_t by, int nrc);

struct TypeTraits { // struct ggml_type_traits (ggml.h)
  const char *typeName;
  int64_t blckSize;
  int64_t blckSizeInterleave;
  size_t typeSize;
  bool isQuantized;
  ToFloatFn toFloat;
  FromFloatFn fromFloatRef;
};

struct TypeTraitsCpu { // struct ggml_type_traits_cpu (ggml-cpu.h)
  FromFloatFn fromFloat;
  VecDotFn vecDot;
  int vecDotType;
  int64_t nrows;
};

struct InitParams { // struct ggml_init_params (ggml.h)
  size_t memSize;
  void *memBuffer;
  bool noAlloc;
};

// struct ggml_threadpool_params: bool cpumask[GGML_MAX_N_THREADS = 512]; int
// n_threads; enum prio; uint32_t poll; bool strict_cpu; bool paused; -> 528
// bytes. Filled only by ggml_threadpool_params_init, so the layout matters for
// the size (checked with a guard zone) and the n_threads offset (checked).
constexpr size_t kThreadpoolParamsBytes = 528;
constexpr size_t kThreadpoolParamsNThreadsOffset = 512;

struct Context;   // opaque ggml_context
struct Tensor;    // opaque ggml_tensor
struct Graph;     // opaque ggml_cgraph
struct Buffer;    // opaque ggml_backend_buffer
struct Backend;   // opaque ggml_backend
struct Threadpool; // opaque ggml_threadpool

std::shared_ptr<uint8_t> allocAligned(size_t bytes) {
  size_t rounded = (std::max<size_t>(bytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
  auto *p = static_cast<uint8_t *>(std::aligned_alloc(kAlignment, rounded));
  if (!p)
    fail("ggml peer: cannot allocate {} bytes", bytes);
  return std::shared_ptr<uint8_t>(p, [](uint8_t *q) { std::free(q); });
}

int typeOf(GgmlTernaryFormat format) {
  return format == GgmlTernaryFormat::TQ2_0 ? kTypeTQ2_0 : kTypeTQ1_0;
}

/// Runs job(chunk) for chunk in [0, n) on the calling thread plus n-1 workers
/// that stay alive between calls, so a GEMV does not pay for thread creation.
/// Idle workers spin briefly (a GEMV follows the previous one within
/// microseconds in a benchmark loop), then sleep on the atomic.
class WorkerPool {
public:
  ~WorkerPool() {
    stop_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto &t : workers_)
      t.join();
  }

  template <typename Job> void run(int n, const Job &job) {
    while (static_cast<int>(workers_.size()) < n - 1) {
      // The worker starts from the generation current now, so the bump below
      // is seen as work even when the thread starts running after it.
      int index = static_cast<int>(workers_.size()) + 1;
      uint64_t seen = generation_.load();
      workers_.emplace_back([this, index, seen] { workerLoop(index, seen); });
    }
    if (n <= 1) {
      job(0);
      return;
    }
    job_ = [&job](int chunk) { job(chunk); };
    active_ = n;
    pending_.store(n - 1);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    job(0);
    while (pending_.load(std::memory_order_acquire) != 0)
      ;
  }

private:
  void workerLoop(int index, uint64_t seen) {
    for (;;) {
      uint64_t now;
      int spins = 0;
      while ((now = generation_.load(std::memory_order_acquire)) == seen) {
        if (++spins > (1 << 20))
          generation_.wait(seen);
      }
      seen = now;
      if (stop_.load())
        return;
      if (index < active_) {
        job_(index);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  std::vector<std::thread> workers_;
  std::function<void(int)> job_;
  int active_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

} // namespace

const char *ggmlFormatName(GgmlTernaryFormat format) {
  return format == GgmlTernaryFormat::TQ2_0 ? "tq2_0" : "tq1_0";
}

struct GgmlPeer::Impl {
  std::string dir;
  void *base = nullptr;
  void *cpu = nullptr;
  std::string cpuVariant;
  std::vector<std::pair<std::string, int>> scores;

  // libggml-base.so
  const TypeTraits *(*getTypeTraits)(int) = nullptr;
  FromFloatFn quantizeTq2Ref = nullptr, quantizeTq1Ref = nullptr;
  const char *(*ggmlVersion)() = nullptr;
  const char *(*ggmlCommit)() = nullptr;
  Context *(*ggmlInit)(InitParams) = nullptr;
  void (*ggmlFree)(Context *) = nullptr;
  size_t (*tensorOverhead)() = nullptr;
  size_t (*graphOverhead)() = nullptr;
  Tensor *(*newTensor2d)(Context *, int, int64_t, int64_t) = nullptr;
  Tensor *(*mulMat)(Context *, Tensor *, Tensor *) = nullptr;
  Graph *(*newGraph)(Context *) = nullptr;
  void (*buildForwardExpand)(Graph *, Tensor *) = nullptr;
  size_t (*nbytes)(const Tensor *) = nullptr;
  Buffer *(*bufferFromPtr)(void *, size_t) = nullptr;
  void (*bufferFree)(Buffer *) = nullptr;
  int (*tensorAlloc)(Buffer *, Tensor *, void *) = nullptr;
  int (*graphCompute)(Backend *, Graph *) = nullptr;
  void (*backendFree)(Backend *) = nullptr;
  void (*threadpoolParamsInit)(void *, int) = nullptr;

  // libggml-cpu-<variant>.so
  const TypeTraitsCpu *(*getTypeTraitsCpu)(int) = nullptr;
  void (*cpuInit)() = nullptr;
  Backend *(*cpuBackendInit)() = nullptr;
  void (*cpuSetNThreads)(Backend *, int) = nullptr;
  void (*cpuSetThreadpool)(Backend *, Threadpool *) = nullptr;
  Threadpool *(*threadpoolNew)(void *) = nullptr;
  void (*threadpoolFree)(Threadpool *) = nullptr;

  // Resolved and checked kernels.
  VecDotFn vecDot[2] = {nullptr, nullptr}; // indexed by GgmlTernaryFormat
  FromFloatFn quantizeQ8K = nullptr;
  size_t blockBytes[2] = {0, 0};
  size_t q8kBlockBytes = 0;

  WorkerPool pool;

  // matmul state: one CPU backend with its own ggml threadpool per thread count,
  // activation/result buffers per (K, N, M), a graph per (weights, M).
  struct BackendEntry {
    Backend *backend = nullptr;
    Threadpool *threadpool = nullptr;
  };
  struct IoBuffers {
    std::shared_ptr<uint8_t> x, y;
    Buffer *xBuf = nullptr, *yBuf = nullptr;
  };
  struct Plan {
    Context *ctx = nullptr;
    Graph *graph = nullptr;
    Buffer *wBuf = nullptr;
    IoBuffers *io = nullptr;
    // Keeps the weights alive while the plan exists, so their address (the
    // cache key) cannot be reused by a different matrix.
    std::shared_ptr<uint8_t> weights;
  };
  std::map<int, BackendEntry> backends;
  std::map<std::tuple<int64_t, int64_t, int64_t>, IoBuffers> ioBuffers;
  std::map<std::tuple<const void *, int, int64_t>, Plan> plans;

  void releasePlans() {
    for (auto &[key, plan] : plans) {
      bufferFree(plan.wBuf);
      ggmlFree(plan.ctx);
    }
    plans.clear();
  }

  ~Impl() {
    releasePlans();
    for (auto &[key, io] : ioBuffers) {
      bufferFree(io.xBuf);
      bufferFree(io.yBuf);
    }
    for (auto &[n, entry] : backends) {
      backendFree(entry.backend);
      threadpoolFree(entry.threadpool);
    }
    // The libraries stay loaded: ggml registers atexit-style state and CPU
    // feature tables that outlive any one peer.
  }

  template <typename Fn> void resolve(void *lib, const char *libName, const char *sym, Fn &out) {
    void *p = dlsym(lib, sym);
    if (!p)
      fail("ggml peer: {}/{} does not export {}", dir, libName, sym);
    out = reinterpret_cast<Fn>(p);
  }

  void load(const std::string &libDir);
  void pickCpuVariant();
  void checkTraits();
  BackendEntry &backendFor(int threads);
  Plan &planFor(GgmlTernaryFormat format, const GgmlPacked &weights, int64_t m);
};

void GgmlPeer::Impl::load(const std::string &libDir) {
  dir = libDir;
  if (dir.empty()) {
    const char *env = std::getenv("TERNC_GGML_DIR");
    if (!env || !*env)
      fail("ggml peer: no library folder given and TERNC_GGML_DIR is not set (it should name the "
           "folder holding libggml-base.so, e.g. bench/peers/ggml/node_modules/@node-llama-cpp/"
           "linux-x64/bins/linux-x64)");
    dir = env;
  }
  std::string basePath = dir + "/libggml-base.so";
  // RTLD_GLOBAL so the CPU variants' NEEDED libggml-base.so binds to this copy.
  base = dlopen(basePath.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!base)
    fail("ggml peer: cannot load {}: {}", basePath, dlerror());

  const char *b = "libggml-base.so";
  resolve(base, b, "ggml_get_type_traits", getTypeTraits);
  resolve(base, b, "quantize_row_tq2_0_ref", quantizeTq2Ref);
  resolve(base, b, "quantize_row_tq1_0_ref", quantizeTq1Ref);
  resolve(base, b, "ggml_version", ggmlVersion);
  resolve(base, b, "ggml_commit", ggmlCommit);
  resolve(base, b, "ggml_init", ggmlInit);
  resolve(base, b, "ggml_free", ggmlFree);
  resolve(base, b, "ggml_tensor_overhead", tensorOverhead);
  resolve(base, b, "ggml_graph_overhead", graphOverhead);
  resolve(base, b, "ggml_new_tensor_2d", newTensor2d);
  resolve(base, b, "ggml_mul_mat", mulMat);
  resolve(base, b, "ggml_new_graph", newGraph);
  resolve(base, b, "ggml_build_forward_expand", buildForwardExpand);
  resolve(base, b, "ggml_nbytes", nbytes);
  resolve(base, b, "ggml_backend_cpu_buffer_from_ptr", bufferFromPtr);
  resolve(base, b, "ggml_backend_buffer_free", bufferFree);
  resolve(base, b, "ggml_backend_tensor_alloc", tensorAlloc);
  resolve(base, b, "ggml_backend_graph_compute", graphCompute);
  resolve(base, b, "ggml_backend_free", backendFree);
  resolve(base, b, "ggml_threadpool_params_init", threadpoolParamsInit);

  pickCpuVariant();

  const char *c = cpuVariant.c_str();
  resolve(cpu, c, "ggml_get_type_traits_cpu", getTypeTraitsCpu);
  resolve(cpu, c, "ggml_cpu_init", cpuInit);
  resolve(cpu, c, "ggml_backend_cpu_init", cpuBackendInit);
  resolve(cpu, c, "ggml_backend_cpu_set_n_threads", cpuSetNThreads);
  resolve(cpu, c, "ggml_backend_cpu_set_threadpool", cpuSetThreadpool);
  resolve(cpu, c, "ggml_threadpool_new", threadpoolNew);
  resolve(cpu, c, "ggml_threadpool_free", threadpoolFree);
  cpuInit(); // fills the fp16 tables the kernels use
  checkTraits();
}

// Mirrors ggml's own loader (ggml_backend_load_best): every variant exports
// ggml_backend_score(), 0 when this CPU lacks one of its ISA features, higher
// for wider feature sets; dlopen alone runs no variant-specific code.
void GgmlPeer::Impl::pickCpuVariant() {
  const char *forced = std::getenv("TERNC_GGML_CPU_VARIANT");
  std::vector<std::string> names;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("libggml-cpu-", 0) == 0 && name.size() > 3 &&
        name.compare(name.size() - 3, 3, ".so") == 0)
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  if (names.empty())
    fail("ggml peer: no libggml-cpu-*.so in {}", dir);

  int bestScore = 0;
  for (const auto &name : names) {
    std::string variant = name.substr(12, name.size() - 15);
    if (forced && *forced && variant != forced)
      continue;
    std::string path = dir + "/" + name;
    void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib)
      fail("ggml peer: cannot load {}: {}", path, dlerror());
    auto score = reinterpret_cast<int (*)()>(dlsym(lib, "ggml_backend_score"));
    int s = score ? score() : 0;
    scores.emplace_back(name, s);
    if (s > bestScore) {
      if (cpu)
        dlclose(cpu);
      cpu = lib;
      cpuVariant = name;
      bestScore = s;
    } else {
      dlclose(lib);
    }
  }
  if (!cpu)
    fail("ggml peer: no usable CPU variant in {}{}", dir,
         forced && *forced ? fmt::format(" (TERNC_GGML_CPU_VARIANT={} scored 0 or is missing)", forced)
                           : std::string());
}

void GgmlPeer::Impl::checkTraits() {
  auto expectType = [&](int type, const char *name) -> const TypeTraits & {
    const TypeTraits *t = getTypeTraits(type);
    if (!t || !t->typeName || std::strcmp(t->typeName, name) != 0)
      fail("ggml peer: ggml type {} is '{}', expected '{}' (enum values differ from ggml 0.25.1)",
           type, t && t->typeName ? t->typeName : "?", name);
    if (t->blckSize != kBlockWeights)
      fail("ggml peer: {} has block size {}, expected {}", name, t->blckSize, kBlockWeights);
    return *t;
  };
  const TypeTraits &tq2 = expectType(kTypeTQ2_0, "tq2_0");
  const TypeTraits &tq1 = expectType(kTypeTQ1_0, "tq1_0");
  const TypeTraits &q8k = expectType(kTypeQ8_K, "q8_K");
  blockBytes[int(GgmlTernaryFormat::TQ2_0)] = tq2.typeSize;
  blockBytes[int(GgmlTernaryFormat::TQ1_0)] = tq1.typeSize;
  q8kBlockBytes = q8k.typeSize;
  // The documented layouts: tq2_0 = 64 B of 2-bit codes + fp16 d; tq1_0 =
  // 48 B base-3 + 4 B + fp16 d; q8_K = float d + 256 int8 + 16 int16 bsums.
  if (tq2.typeSize != 66 || tq1.typeSize != 54 || q8k.typeSize != 292)
    fail("ggml peer: block sizes tq2_0={} tq1_0={} q8_K={} differ from 66/54/292", tq2.typeSize,
         tq1.typeSize, q8k.typeSize);
  if (tq2.fromFloatRef != quantizeTq2Ref || tq1.fromFloatRef != quantizeTq1Ref)
    fail("ggml peer: type traits' from_float_ref is not quantize_row_tq*_0_ref");

  const TypeTraitsCpu *cq8 = getTypeTraitsCpu(kTypeQ8_K);
  void *exportedQ8K = dlsym(cpu, "quantize_row_q8_K");
  if (!cq8 || !cq8->fromFloat || reinterpret_cast<void *>(cq8->fromFloat) != exportedQ8K)
    fail("ggml peer: {} q8_K from_float is not quantize_row_q8_K", cpuVariant);
  quantizeQ8K = cq8->fromFloat;

  const char *dotNames[2] = {"ggml_vec_dot_tq2_0_q8_K", "ggml_vec_dot_tq1_0_q8_K"};
  for (int f = 0; f < 2; ++f) {
    int type = typeOf(static_cast<GgmlTernaryFormat>(f));
    const TypeTraitsCpu *ct = getTypeTraitsCpu(type);
    if (!ct || !ct->vecDot || ct->vecDotType != kTypeQ8_K || ct->nrows != 1)
      fail("ggml peer: {} traits for {}: vec_dot missing, vec_dot_type {} (want q8_K) or nrows {} "
           "(want 1)",
           cpuVariant, dotNames[f], ct ? ct->vecDotType : -1, ct ? ct->nrows : -1);
    // The table entry is what ggml's matmul calls; the exported symbol of the
    // same name must be that function, or the layouts above are wrong.
    void *exported = dlsym(cpu, dotNames[f]);
    if (exported && reinterpret_cast<void *>(ct->vecDot) != exported)
      fail("ggml peer: {} traits' vec_dot for type {} is not {}", cpuVariant, type, dotNames[f]);
    vecDot[f] = ct->vecDot;
  }

  // ggml_threadpool_params: check size and n_threads offset with a guard zone.
  uint8_t probe[1024];
  std::memset(probe, 0xA5, sizeof probe);
  threadpoolParamsInit(probe, 3);
  int nThreads;
  std::memcpy(&nThreads, probe + kThreadpoolParamsNThreadsOffset, sizeof nThreads);
  bool guardIntact = std::all_of(probe + kThreadpoolParamsBytes, probe + sizeof probe,
                                 [](uint8_t v) { return v == 0xA5; });
  if (nThreads != 3 || !guardIntact)
    fail("ggml peer: ggml_threadpool_params layout differs from ggml 0.25.1 ({} bytes, n_threads "
         "at {})",
         kThreadpoolParamsBytes, kThreadpoolParamsNThreadsOffset);
}

GgmlPeer::Impl::BackendEntry &GgmlPeer::Impl::backendFor(int threads) {
  auto it = backends.find(threads);
  if (it != backends.end())
    return it->second;
  alignas(8) uint8_t params[kThreadpoolParamsBytes];
  threadpoolParamsInit(params, threads);
  BackendEntry entry;
  entry.threadpool = threadpoolNew(params);
  entry.backend = cpuBackendInit();
  if (!entry.threadpool || !entry.backend)
    fail("ggml peer: cannot create a CPU backend with {} threads", threads);
  cpuSetNThreads(entry.backend, threads);
  cpuSetThreadpool(entry.backend, entry.threadpool);
  return backends.emplace(threads, entry).first->second;
}

GgmlPeer::Impl::Plan &GgmlPeer::Impl::planFor(GgmlTernaryFormat format, const GgmlPacked &weights,
                                              int64_t m) {
  auto key = std::make_tuple(static_cast<const void *>(weights.data()), int(format), m);
  auto it = plans.find(key);
  if (it != plans.end())
    return it->second;

  int64_t n = weights.rows, k = weights.cols;
  IoBuffers &io = ioBuffers[std::make_tuple(k, n, m)];
  if (!io.x) {
    size_t xBytes = static_cast<size_t>(m * k) * sizeof(float);
    size_t yBytes = static_cast<size_t>(m * n) * sizeof(float);
    io.x = allocAligned(xBytes);
    io.y = allocAligned(yBytes);
    io.xBuf = bufferFromPtr(io.x.get(), xBytes);
    io.yBuf = bufferFromPtr(io.y.get(), yBytes);
  }

  Plan plan;
  plan.io = &io;
  plan.weights = weights.storage;
  plan.ctx = ggmlInit(InitParams{tensorOverhead() * 4 + graphOverhead(), nullptr, true});
  if (!plan.ctx)
    fail("ggml peer: ggml_init failed");
  Tensor *w = newTensor2d(plan.ctx, typeOf(format), k, n);
  Tensor *x = newTensor2d(plan.ctx, kTypeF32, k, m);
  Tensor *y = mulMat(plan.ctx, w, x); // [m, n] f32
  if (nbytes(w) != weights.bytes())
    fail("ggml peer: ggml sizes a {}x{} {} tensor at {} bytes, packed data has {}", n, k,
         ggmlFormatName(format), nbytes(w), weights.bytes());
  plan.wBuf = bufferFromPtr(weights.data(), weights.bytes());
  if (tensorAlloc(plan.wBuf, w, weights.data()) != 0 || tensorAlloc(io.xBuf, x, io.x.get()) != 0 ||
      tensorAlloc(io.yBuf, y, io.y.get()) != 0)
    fail("ggml peer: ggml_backend_tensor_alloc failed for a {}x{}x{} matmul", m, n, k);
  plan.graph = newGraph(plan.ctx);
  buildForwardExpand(plan.graph, y);
  return plans.emplace(key, plan).first->second;
}

GgmlPeer::GgmlPeer(const std::string &libDir) : impl_(std::make_unique<Impl>()) {
  impl_->load(libDir);
}

GgmlPeer::~GgmlPeer() = default;

std::string GgmlPeer::version() const {
  return fmt::format("{} ({})", impl_->ggmlVersion(), impl_->ggmlCommit());
}

const std::string &GgmlPeer::cpuVariant() const { return impl_->cpuVariant; }

const std::vector<std::pair<std::string, int>> &GgmlPeer::variantScores() const {
  return impl_->scores;
}

size_t GgmlPeer::blockBytes(GgmlTernaryFormat format) const {
  return impl_->blockBytes[int(format)];
}

GgmlPacked GgmlPeer::quantizeWeights(GgmlTernaryFormat format, const float *src, int64_t rows,
                                     int64_t cols) const {
  if (cols % kBlockWeights != 0)
    fail("ggml peer: K = {} is not a multiple of {} ({} blocks are 256 weights)", cols,
         kBlockWeights, ggmlFormatName(format));
  GgmlPacked out;
  out.rows = rows;
  out.cols = cols;
  out.rowBytes = static_cast<size_t>(cols / kBlockWeights) * blockBytes(format);
  out.storage = allocAligned(out.bytes());
  FromFloatFn quantize =
      format == GgmlTernaryFormat::TQ2_0 ? impl_->quantizeTq2Ref : impl_->quantizeTq1Ref;
  for (int64_t r = 0; r < rows; ++r)
    quantize(src + r * cols, out.data() + r * out.rowBytes, cols);
  return out;
}

GgmlPacked GgmlPeer::quantizeActivations(const float *src, int64_t rows, int64_t cols) const {
  if (cols % kBlockWeights != 0)
    fail("ggml peer: K = {} is not a multiple of {} (q8_K blocks are 256 values)", cols,
         kBlockWeights);
  GgmlPacked out;
  out.rows = rows;
  out.cols = cols;
  out.rowBytes = static_cast<size_t>(cols / kBlockWeights) * impl_->q8kBlockBytes;
  out.storage = allocAligned(out.bytes());
  for (int64_t r = 0; r < rows; ++r)
    impl_->quantizeQ8K(src + r * cols, out.data() + r * out.rowBytes, cols);
  return out;
}

void GgmlPeer::gemv(GgmlTernaryFormat format, const GgmlPacked &weights, const GgmlPacked &act,
                    float *y, int threads) {
  if (act.cols != weights.cols || act.rows < 1)
    fail("ggml peer: gemv K mismatch (weights K = {}, activation K = {})", weights.cols, act.cols);
  if (weights.rowBytes != static_cast<size_t>(weights.cols / kBlockWeights) * blockBytes(format))
    fail("ggml peer: weights were not packed as {}", ggmlFormatName(format));
  VecDotFn dot = impl_->vecDot[int(format)];
  int k = static_cast<int>(weights.cols);
  int64_t n = weights.rows;
  int chunks = std::max(1, std::min<int>(threads, static_cast<int>(n)));
  const uint8_t *x = act.data();
  impl_->pool.run(chunks, [&](int chunk) {
    int64_t begin = n * chunk / chunks, end = n * (chunk + 1) / chunks;
    for (int64_t r = begin; r < end; ++r)
      dot(k, y + r, 0, weights.row(r), 0, x, 0, 1);
  });
}

void GgmlPeer::releaseMatmulPlans() { impl_->releasePlans(); }

void GgmlPeer::matmul(GgmlTernaryFormat format, const GgmlPacked &weights, const float *x,
                      int64_t m, float *y, int threads) {
  if (weights.rowBytes != static_cast<size_t>(weights.cols / kBlockWeights) * blockBytes(format))
    fail("ggml peer: weights were not packed as {}", ggmlFormatName(format));
  Impl::BackendEntry &backend = impl_->backendFor(threads);
  Impl::Plan &plan = impl_->planFor(format, weights, m);
  std::memcpy(plan.io->x.get(), x, static_cast<size_t>(m * weights.cols) * sizeof(float));
  if (impl_->graphCompute(backend.backend, plan.graph) != 0)
    fail("ggml peer: ggml_backend_graph_compute failed for a {}x{}x{} {} matmul", m, weights.rows,
         weights.cols, ggmlFormatName(format));
  std::memcpy(y, plan.io->y.get(), static_cast<size_t>(m * weights.rows) * sizeof(float));
}

} // namespace ternc::bench
