// llamacpp_bench.mjs: llama.cpp's side of the head to head (bench/h2h/run.py): a GGUF file through node-llama-cpp's
// prebuilt CPU library, timed as llama-bench and ternc's --bench time: pp128 (a 128-token prompt, one batch, from an
// empty cache) and tg128 (128 single-token decodes from an empty cache, each computing the last token's logits and
// sampling greedily in llama.cpp), after one untimed warm-up of each, repeated --reps times.
//
// Usage: node llamacpp_bench.mjs MODEL.gguf --ids 1,2,...   [--threads N] [--ctx C] [--batch B] [--reps R]
//        node llamacpp_bench.mjs MODEL.gguf --ids 1,2,... --ttft [--threads N] [--ctx C] [--batch B]
//        node llamacpp_bench.mjs --no-model [--threads N]
//   --ids: the prompt (comma-separated ids, no BOS added); pp evaluates them all, tg feeds them one at a time.
//   --ttft: load, evaluate the prompt, print the first generated token at once ("first-token" line), exit: the
//           cold-start time to first token is measured by the caller from process start to that line.
//   --no-model: load the library only (the baseline of the peak-RSS measurement), print one JSON line, exit.
// Output: one JSON line on stdout.
import fs from "node:fs";
import path from "node:path";
import {createRequire} from "node:module";
import {fileURLToPath, pathToFileURL} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const peers = path.join(here, "..", "..", "tests", "peers", "package.json");

function usage(msg) {
  process.stderr.write(`llamacpp_bench.mjs: ${msg}\nusage: node llamacpp_bench.mjs MODEL.gguf --ids IDS [--threads N] ` +
                       "[--ctx C] [--batch B] [--reps R] [--ttft] | --no-model\n");
  process.exit(2);
}

const opts = {threads: 1, ctx: 512, batch: 512, reps: 3, ttft: false, noModel: false, ids: null, model: null};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const num = () => {
    const v = Number(argv[++i]);
    if (!Number.isInteger(v) || v < 1) usage(`${a} needs a positive integer`);
    return v;
  };
  if (a === "--threads") opts.threads = num();
  else if (a === "--ctx") opts.ctx = num();
  else if (a === "--batch") opts.batch = num();
  else if (a === "--reps") opts.reps = num();
  else if (a === "--ttft") opts.ttft = true;
  else if (a === "--no-model") opts.noModel = true;
  else if (a === "--ids") {
    opts.ids = (argv[++i] ?? "").split(",").filter((s) => s.length > 0).map(Number);
    if (opts.ids.length === 0 || opts.ids.some((t) => !Number.isInteger(t) || t < 0)) usage("--ids needs token ids");
  } else if (a.startsWith("--")) usage(`unknown option ${a}`);
  else if (opts.model === null) opts.model = a;
  else usage(`unexpected argument ${a}`);
}
if (!opts.noModel && (opts.model === null || opts.ids === null)) usage("give MODEL.gguf and --ids (or --no-model)");
if (!opts.noModel && opts.ids.length > opts.batch) usage(`the prompt (${opts.ids.length}) must fit one batch (--batch)`);

let nlc, version;
try {
  const entry = createRequire(peers).resolve("node-llama-cpp");
  nlc = await import(pathToFileURL(entry).href);
  const pkg = path.join(path.dirname(entry), "..", "package.json");
  version = JSON.parse(fs.readFileSync(pkg, "utf8")).version;
} catch (e) {
  process.stderr.write(`llamacpp_bench.mjs: node-llama-cpp is not installed (cd tests/peers && npm install): ${e.message}\n`);
  process.exit(77);
}

// The prebuilt CPU library only: never build llama.cpp, never download anything.
const llama = await nlc.getLlama({gpu: false, build: "never", logLevel: nlc.LlamaLogLevel.error,
                                  maxThreads: opts.threads});
const info = {peer: "llama.cpp", "node-llama-cpp": version, llamaCppRelease: llama.llamaCppRelease.release,
              threads: opts.threads};
if (opts.noModel) {
  process.stdout.write(JSON.stringify({...info, mode: "no-model"}) + "\n");
  await llama.dispose();
  process.exit(0);
}

const tLoad0 = performance.now();
const model = await llama.loadModel({modelPath: opts.model, gpuLayers: 0});
const context = await model.createContext({contextSize: opts.ctx, batchSize: opts.batch, threads: opts.threads,
                                           sequences: 1});
const sequence = context.getSequence();
const loadMs = performance.now() - tLoad0;
const greedy = {temperature: 0, yieldEogToken: true};

// One evaluation of `tokens` from the current cache, returning the sampled next token, and an iterator that
// continues with the tokens fed through next().
async function start(tokens) {
  const it = sequence.evaluateWithMetadata(tokens, {}, greedy);
  const first = await it.next();
  if (first.done) throw new Error(`${opts.model}: llama.cpp produced no token`);
  return [it, first.value.token];
}

async function pp() {
  await sequence.clearHistory();
  const t0 = performance.now();
  const [it] = await start(opts.ids);
  const ms = performance.now() - t0;
  await it.return();
  return opts.ids.length / (ms / 1e3);
}

async function tg() {
  await sequence.clearHistory();
  const n = opts.ids.length;
  const t0 = performance.now();
  const [it] = await start([opts.ids[0]]);
  for (let i = 1; i < n; i++) {
    const r = await it.next(opts.ids[i]);
    if (r.done) throw new Error(`${opts.model}: generation stopped after ${i} tokens`);
  }
  const ms = performance.now() - t0;
  await it.return();
  return n / (ms / 1e3);
}

if (opts.ttft) {
  const [it, token] = await start(opts.ids);
  // performance.now() counts from the process's time origin (its start), the caller measures from its exec.
  process.stdout.write(`first-token ${token} ${performance.now().toFixed(1)}\n`);
  await it.return();
  process.stdout.write(JSON.stringify({...info, mode: "ttft", token, ms_since_origin: performance.now(),
                                       load_ms: loadMs}) + "\n");
} else {
  const stats = (v) => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
    return {mean, sd, runs: v};
  };
  const out = {...info, mode: "bench", ctx: opts.ctx, batch: opts.batch, reps: opts.reps, load_ms: loadMs,
               prompt: opts.ids.length};
  for (const [name, fn] of [["pp", pp], ["tg", tg]]) {
    await fn();  // warm-up: page the weights in, wake the threads
    const runs = [];
    for (let r = 0; r < opts.reps; r++) runs.push(await fn());
    out[name] = stats(runs);
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
await context.dispose();
await model.dispose();
await llama.dispose();
