// Generate.cpp: ternc_llm_main, the main() of a compiled language model — text generation from --prompt or
// --tokens with streaming output and sampling, llama-bench style --bench (pp128, tg128), --perplexity FILE,
// and --dump DIR for tests (docs/runtime.md, "Language models").
#include "CommandLine.h"
#include "Host.h"
#include "LlmSession.h"
#include "Sampler.h"
#include "tokenizer/Tokenizer.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace ternc::rt {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct LlmOptions {
  std::string prompt, tokens, perplexity, dump;
  bool promptGiven = false, tokensGiven = false;
  int n = 128;
  float temperature = 0.8f, topP = 0.95f;
  int topK = 40;
  int64_t seed = -1;
  int threads = 0;
  int64_t ctx = 0;
  bool bench = false, profile = false, info = false, noBos = false;
  int benchReps = 3;
};

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::vector<int64_t> parseIds(const std::string &text) {
  std::vector<int64_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b == std::string::npos) throw Error("--tokens '" + text + "': an empty id (expected ids like 1,2,3)");
    item = item.substr(b, e - b + 1);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception &) {
      used = 0;
    }
    if (used != item.size() || v < 0) throw Error("--tokens '" + text + "': '" + item + "' is not a token id");
    ids.push_back(v);
  }
  if (ids.empty()) throw Error("--tokens is empty: give at least one id");
  return ids;
}

std::string readText(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw Error(path + ": cannot read");
  return ss.str();
}

/// log(sum(exp(logits))) - logits[target], in double.
double negLogLikelihood(const float *logits, int64_t vocab, int64_t target) {
  double m = -INFINITY;
  for (int64_t i = 0; i < vocab; ++i) m = std::max(m, double(logits[i]));
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(double(logits[i]) - m);
  return m + std::log(sum) - double(logits[target]);
}

void writeDump(const std::string &dir, const std::string &name, const HostTensor &t) {
  fs::create_directories(dir);
  writeNpy(t, (fs::path(dir) / outputFileName(name)).string());
}

HostTensor floats(std::vector<int64_t> shape, const std::vector<float> &v) {
  HostTensor t = HostTensor::zeros(TERNC_F32, std::move(shape));
  std::copy(v.begin(), v.end(), reinterpret_cast<float *>(t.bytes.data()));
  return t;
}

/// Everything one invocation does, after the options are parsed.
class Generator {
public:
  Generator(const ternc_llm &llm, const LlmOptions &o) : llm_(llm), opts_(o) {
    if (llm.tokenizer_kind != 0) {
      std::string_view bytes(reinterpret_cast<const char *>(llm.tokenizer_data), size_t(llm.tokenizer_size));
      try {
        tokenizer_ = Tokenizer::load(TokenizerKind(llm.tokenizer_kind), bytes, "the embedded tokenizer");
      } catch (const std::runtime_error &e) {
        throw Error(e.what());
      }
    }
    for (int32_t i = 0; i < llm.num_eos; ++i) eos_.insert(llm.eos_ids[i]);
    if (tokenizer_)
      for (int32_t id : tokenizer_->eosIds()) eos_.insert(id);
  }

  int run() {
    int64_t ctx = opts_.ctx > 0 ? opts_.ctx : llm_.default_ctx;
    if (opts_.info) return info(ctx);
    if (opts_.bench) return bench(std::max<int64_t>(ctx, 256));
    if (!opts_.perplexity.empty()) return perplexity(ctx);
    return generate(ctx);
  }

private:
  const ternc_llm &llm_;
  const LlmOptions &opts_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::set<int64_t> eos_;

  const Tokenizer &needTokenizer(const char *what) const {
    if (!tokenizer_)
      throw Error(std::string(what) + " needs a tokenizer, and this model was compiled without one: give ids with "
                  "--tokens, or compile with --tokenizer PATH");
    return *tokenizer_;
  }

  std::vector<int64_t> encode(const std::string &text, bool special) const {
    std::vector<int32_t> ids = needTokenizer("--prompt").encode(text, special);
    return std::vector<int64_t>(ids.begin(), ids.end());
  }

  int info(int64_t ctx) {
    LlmSession s(llm_, ctx, opts_.threads);
    std::printf("model: %s (language model)\n", llm_.prefill->name);
    std::printf("vocabulary: %lld, context: %lld, threads: %d\n", (long long)s.vocabSize(), (long long)ctx, s.threads());
    std::printf("tokenizer: %s\n", tokenizer_ ? std::string(tokenizerKindName(tokenizer_->kind())).c_str() : "none");
    std::string eos;
    for (int64_t e : eos_) eos += (eos.empty() ? "" : ",") + std::to_string(e);
    std::printf("eos: %s\n", eos.empty() ? "none" : eos.c_str());
    std::printf("kv cache: %d states\n", s.numStates());
    for (int32_t i = 0; i < s.numStates(); ++i)
      std::printf("  %s\n", tensorInfoText(*llm_.prefill, llm_.prefill->states[i]).c_str());
    return 0;
  }

  int generate(int64_t ctx) {
    if (opts_.promptGiven == opts_.tokensGiven)
      throw Error("give the prompt as --prompt TEXT or as --tokens IDS (one of them)");
    if (opts_.n < 0) throw Error("-n must be at least 0");
    std::vector<int64_t> prompt = opts_.tokensGiven ? parseIds(opts_.tokens) : encode(opts_.prompt, !opts_.noBos);
    if (prompt.empty()) throw Error("the prompt gives no tokens");
    LlmSession session(llm_, ctx, opts_.threads);
    if (int64_t(prompt.size()) > ctx)
      throw Error("the prompt has " + std::to_string(prompt.size()) + " tokens, more than the context of " +
                  std::to_string(ctx) + " (raise --ctx)");
    uint64_t seed = opts_.seed >= 0 ? uint64_t(opts_.seed) : uint64_t(std::random_device{}());
    Sampler sampler({opts_.temperature, opts_.topK, opts_.topP, seed});

    // The prompt is echoed as typed. The stream decodes prompt and continuation together (a SentencePiece
    // word's leading space depends on what precedes it), and the bytes of the decoded prompt are skipped.
    std::unique_ptr<StreamDecoder> stream;
    size_t skip = 0;
    auto emit = [&](std::string piece) {
      size_t drop = std::min(skip, piece.size());
      skip -= drop;
      std::fwrite(piece.data() + drop, 1, piece.size() - drop, stdout);
      std::fflush(stdout);
    };
    if (!opts_.tokensGiven) {
      stream = std::make_unique<StreamDecoder>(*tokenizer_);
      std::vector<int32_t> ids(prompt.begin(), prompt.end());
      skip = tokenizer_->decode(ids).size();
      for (int32_t id : ids) emit(stream->push(id));
      std::fputs(opts_.prompt.c_str(), stdout);
      std::fflush(stdout);
    }
    int64_t vocab = session.vocabSize();
    auto t0 = Clock::now();
    const std::vector<float> &pl = session.prefill(prompt, !opts_.dump.empty());
    std::vector<float> prefillLogits, decodeLogits;
    if (!opts_.dump.empty()) prefillLogits = pl;
    std::vector<float> last(pl.end() - vocab, pl.end());
    auto t1 = Clock::now();
    std::vector<int64_t> generated;
    bool full = false;
    while (int64_t(generated.size()) < opts_.n) {
      int64_t next = sampler.sample(last);
      generated.push_back(next);
      if (stream) emit(stream->push(int32_t(next)));
      if (eos_.count(next) || int64_t(generated.size()) == opts_.n) break;
      if (session.position() >= ctx) {
        full = true;
        break;
      }
      const std::vector<float> &dl = session.decode(next);
      if (!opts_.dump.empty()) decodeLogits.insert(decodeLogits.end(), dl.begin(), dl.end());
      last.assign(dl.begin(), dl.end());
    }
    auto t2 = Clock::now();
    if (stream) {
      emit(stream->finish());
      std::fputc('\n', stdout);
    } else {
      for (size_t i = 0; i < generated.size(); ++i) std::printf("%s%lld", i ? "," : "", (long long)generated[i]);
      std::printf("\n");
    }
    std::fflush(stdout);
    if (full) std::fprintf(stderr, "note: stopped at the context length of %lld tokens (raise --ctx)\n", (long long)ctx);
    double pp = seconds(t1 - t0), tg = seconds(t2 - t1);
    size_t decoded = generated.empty() ? 0 : generated.size() - 1;
    std::fprintf(stderr, "prompt: %zu tokens in %.1f ms (%.2f tokens/s); generated: %zu tokens, %.2f tokens/s\n",
                 prompt.size(), pp * 1e3, pp > 0 ? double(prompt.size()) / pp : 0.0, generated.size(),
                 tg > 0 && decoded ? double(decoded) / tg : 0.0);
    if (!opts_.dump.empty()) {
      HostTensor ids = HostTensor::zeros(TERNC_I64, {int64_t(prompt.size())});
      std::copy(prompt.begin(), prompt.end(), reinterpret_cast<int64_t *>(ids.bytes.data()));
      writeDump(opts_.dump, "prompt_ids", ids);
      writeDump(opts_.dump, "prefill_logits", floats({1, int64_t(prompt.size()), vocab}, prefillLogits));
      writeDump(opts_.dump, "decode_logits", floats({int64_t(decodeLogits.size()) / vocab, vocab}, decodeLogits));
      for (int32_t i = 0; i < session.numStates(); ++i) writeDump(opts_.dump, session.stateName(i), session.stateSnapshot(i));
    }
    return 0;
  }

  /// llama-bench's pp and tg tests: a prompt of 128 tokens from an empty cache, and 128 tokens decoded one at a
  /// time from an empty cache; each repeated, after a warm-up, and reported as mean ± standard deviation.
  int bench(int64_t ctx) {
    LlmSession session(llm_, ctx, opts_.threads);
    int reps = std::max(1, opts_.benchReps);
    std::mt19937_64 rng(1);
    std::vector<int64_t> tokens(128);
    for (int64_t &t : tokens) t = int64_t(rng() % uint64_t(session.vocabSize()));
    auto pp = [&] {
      session.reset();
      auto t0 = Clock::now();
      session.prefill(tokens);
      return 128.0 / seconds(Clock::now() - t0);
    };
    auto tg = [&] {
      session.reset();
      auto t0 = Clock::now();
      for (int64_t t : tokens) session.decode(t);
      return 128.0 / seconds(Clock::now() - t0);
    };
    std::printf("| model | threads | test | t/s |\n| --- | ---: | ---: | ---: |\n");
    for (auto [name, fn] : {std::pair<const char *, std::function<double()>>{"pp128", pp}, {"tg128", tg}}) {
      fn();  // warm-up: page the weights in, wake the pool
      ternc_set_profiling(session.context(), opts_.profile);
      ternc_profile_reset(session.context());
      std::vector<double> r;
      for (int i = 0; i < reps; ++i) r.push_back(fn());
      ternc_set_profiling(session.context(), 0);
      double mean = 0, var = 0;
      for (double v : r) mean += v / double(reps);
      for (double v : r) var += (v - mean) * (v - mean) / double(std::max(1, reps - 1));
      std::printf("| %s | %d | %s | %.2f ± %.2f |\n", llm_.prefill->name, session.threads(), name, mean, std::sqrt(var));
      std::fflush(stdout);
      if (opts_.profile) {
        // The graph's kernels summed over the timed repetitions, one row per role across layers.
        double millis = 0;
        for (double tps : r) millis += 128.0 / tps * 1e3;
        std::printf("\n%s, %s graph: ", name, name == std::string("pp128") ? "prefill" : "decode");
        printProfile(name == std::string("pp128") ? *llm_.prefill : *llm_.decode, session.context(), millis, reps, true);
        std::printf("\n");
      }
    }
    return 0;
  }

  /// Perplexity of the file's text: tokenized without special tokens, cut into chunks of ctx tokens (ctx - 1
  /// after the BOS the tokenizer adds, if any); each chunk runs as one prompt from an empty cache and every
  /// token after its first is scored.
  int perplexity(int64_t ctx) {
    std::string text = readText(opts_.perplexity);
    const Tokenizer &tok = needTokenizer("--perplexity");
    std::vector<int32_t> ids = tok.encode(text, false);
    std::optional<int32_t> bos = opts_.noBos ? std::nullopt : tok.bosId();
    int64_t body = ctx - (bos ? 1 : 0);
    if (body < 2) throw Error("--ctx is too small for --perplexity");
    if (int64_t(ids.size()) < 2) throw Error(opts_.perplexity + ": too little text to score (fewer than 2 tokens)");
    LlmSession session(llm_, ctx, opts_.threads);
    int64_t vocab = session.vocabSize();
    double nll = 0;
    int64_t scored = 0, chunks = 0;
    for (size_t at = 0; at + 1 < ids.size(); at += size_t(body)) {
      std::vector<int64_t> chunk;
      if (bos) chunk.push_back(*bos);
      size_t end = std::min(ids.size(), at + size_t(body));
      chunk.insert(chunk.end(), ids.begin() + long(at), ids.begin() + long(end));
      session.reset();
      const std::vector<float> &logits = session.prefill(chunk, true);
      for (size_t i = bos ? 1 : 0; i + 1 < chunk.size(); ++i) {
        nll += negLogLikelihood(logits.data() + i * size_t(vocab), vocab, chunk[i + 1]);
        ++scored;
      }
      ++chunks;
    }
    std::printf("perplexity: %.4f over %lld tokens (%lld chunks of up to %lld tokens)\n", std::exp(nll / double(scored)),
                (long long)scored, (long long)chunks, (long long)ctx);
    return 0;
  }
};

} // namespace

} // namespace ternc::rt

extern "C" int ternc_llm_main(const ternc_llm *llm, int argc, char **argv) {
  using namespace ternc::rt;
  std::string program = programName(argc, argv);
  LlmOptions o;
  CLI::App app("Generates text with the compiled language model '" +
                   std::string(llm && llm->prefill && llm->prefill->name ? llm->prefill->name : "?") + "'.",
               program);
  auto *prompt = app.add_option("--prompt", o.prompt, "The prompt text (tokenized by the embedded tokenizer)");
  auto *tokens = app.add_option("--tokens", o.tokens, "The prompt as token ids, 1,2,3; prints the generated ids");
  prompt->excludes(tokens);
  app.add_option("-n", o.n, "Tokens to generate at most (stops earlier at an end-of-sequence token)")
      ->capture_default_str();
  app.add_option("--temp", o.temperature, "Sampling temperature; 0 is greedy")->capture_default_str();
  app.add_option("--top-k", o.topK, "Sample from the k most likely tokens; 0 for all")->capture_default_str();
  app.add_option("--top-p", o.topP, "Sample from the smallest set of tokens with this much probability")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed (default: a random one); the same seed gives the same tokens");
  app.add_option("--threads", o.threads, "Worker threads (default: the cores available)");
  app.add_option("--ctx", o.ctx, "Context length: the KV cache holds this many tokens (default: the model's)");
  auto *benchFlag = app.add_flag("--bench", o.bench, "Print prompt processing (pp128) and generation (tg128) tokens per second");
  app.add_flag("--profile", o.profile, "With --bench: print the time of each kernel, summed over layers")->needs(benchFlag);
  app.add_option("--bench-reps", o.benchReps, "Repetitions of each --bench test")->capture_default_str();
  app.add_option("--perplexity", o.perplexity, "Print the perplexity of the text in FILE");
  app.add_flag("--no-bos", o.noBos, "Do not add the tokenizer's special tokens (BOS) to the prompt");
  app.add_flag("--info", o.info, "Print the model's vocabulary, tokenizer, end-of-sequence ids and KV cache");
  app.add_option("--dump", o.dump, "Write the prompt ids, prefill and decode logits and the KV cache as .npy files to DIR (tests)");
  if (auto code = parseCommandLine(app, argc, argv, program)) return *code;
  o.promptGiven = prompt->count() > 0;
  o.tokensGiven = tokens->count() > 0;
  return runReportingErrors(program, [&] {
    if (!llm) throw Error("no model");
    return Generator(*llm, o).run();
  });
}
