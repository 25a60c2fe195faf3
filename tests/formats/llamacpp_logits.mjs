// llamacpp_logits.mjs: runs a GGUF file through llama.cpp (node-llama-cpp's prebuilt CPU library, 1 thread) and
// prints its logits as JSON, for llamacpp_crosscheck.py to compare with PyTorch and ternc (issue 6).
//
// Usage: node llamacpp_logits.mjs MODEL.gguf PROMPT_IDS STEPS [--force IDS] [--override KEY=FLOAT ...]
//   PROMPT_IDS, IDS: comma-separated token ids (no BOS is added).
//   Evaluates the prompt, then STEPS greedy steps: each step's logits are those llama.cpp returns for the next
//   token, and the step's token is their argmax. With --force IDS (at least STEPS - 1 ids), step i + 1 feeds
//   IDS[i] instead of the argmax (teacher forcing along a reference's tokens), so an early divergence does not
//   cascade. --override loads the model with a float metadata key replaced (llama.cpp's kv overrides), e.g.
//   --override minicpm.logit_scale=0.125, to see how llama.cpp reads that key.
// Output: {"prefill_logits_last": [vocab floats], "tokens": [STEPS argmax ids], "step_logits": [[vocab], ...]}
// (step_logits[0] is prefill_logits_last). Exits 77 when node-llama-cpp is not installed (tests/peers).
import path from "node:path";
import {createRequire} from "node:module";
import {fileURLToPath, pathToFileURL} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const peers = path.join(here, "..", "peers", "package.json");

function usage(msg) {
  process.stderr.write(`llamacpp_logits.mjs: ${msg}\nusage: node llamacpp_logits.mjs MODEL.gguf PROMPT_IDS STEPS ` +
                       "[--force IDS] [--override KEY=FLOAT ...]\n");
  process.exit(2);
}

function parseIds(text, what) {
  const ids = text.split(",").filter((s) => s.length > 0).map(Number);
  if (ids.length === 0 || ids.some((t) => !Number.isInteger(t) || t < 0))
    usage(`${what} '${text}' is not a comma-separated list of token ids`);
  return ids;
}

const args = process.argv.slice(2);
let force = null;
const forceAt = args.indexOf("--force");
if (forceAt >= 0) {
  if (forceAt + 1 >= args.length) usage("--force needs a list of token ids");
  force = parseIds(args[forceAt + 1], "--force");
  args.splice(forceAt, 2);
}
const overrides = {};
for (let at; (at = args.indexOf("--override")) >= 0;) {
  const m = /^([A-Za-z0-9_.]+)=(.+)$/.exec(args[at + 1] ?? "");
  const value = m ? Number(m[2]) : NaN;
  // node-llama-cpp sends integral numbers as int overrides, which llama.cpp rejects for a float key.
  if (!m || !Number.isFinite(value) || Number.isInteger(value))
    usage(`--override '${args[at + 1] ?? ""}' is not KEY=FLOAT with a non-integral FLOAT`);
  const path = m[1].split(".");
  let node = overrides;
  for (const part of path.slice(0, -1)) node = node[part] ??= {};
  node[path[path.length - 1]] = value;
  args.splice(at, 2);
}
if (args.length !== 3) usage("expected MODEL.gguf PROMPT_IDS STEPS");
const [modelPath, promptText, stepsText] = args;
const prompt = parseIds(promptText, "PROMPT_IDS");
const steps = Number(stepsText);
if (!Number.isInteger(steps) || steps < 1) usage(`STEPS '${stepsText}' is not a positive integer`);
if (force && force.length < steps - 1) usage(`--force has ${force.length} ids, ${steps} steps need ${steps - 1}`);

let nlc;
try {
  const entry = createRequire(peers).resolve("node-llama-cpp");
  nlc = await import(pathToFileURL(entry).href);
} catch (e) {
  process.stderr.write(`llamacpp_logits.mjs: node-llama-cpp is not installed (cd tests/peers && npm install ` +
                       `--no-audit --no-fund): ${e.message}\n`);
  process.exit(77);
}

// The prebuilt CPU library only: never build llama.cpp, never download anything.
const llama = await nlc.getLlama({gpu: false, build: "never", logLevel: nlc.LlamaLogLevel.error, maxThreads: 1});
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: false, metadataOverrides: overrides});
const nVocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
// An f32 KV cache, so that the only rounding llama.cpp adds over f32 math is its Q8_K activations.
const context = await model.createContext({contextSize: prompt.length + steps + 8, batchSize: prompt.length + steps + 8,
                                           threads: 1, flashAttention: false, experimentalKvCacheKeyType: "F32",
                                           experimentalKvCacheValueType: "F32"});
const sequence = context.getSequence();

// node-llama-cpp returns the raw logits as a Map sorted by value; back to vocabulary order.
function dense(map) {
  if (!map || map.size !== nVocab) throw new Error(`${modelPath}: got ${map ? map.size : 0} logits, vocab is ${nVocab}`);
  const out = new Array(nVocab);
  for (const [token, logit] of map) out[token] = logit;
  return out;
}

function argmax(a) {
  let best = 0;
  for (let i = 1; i < a.length; i++)
    if (a[i] > a[best]) best = i;
  return best;
}

const want = {generateNext: {logits: true}};
const tokens = [];
const stepLogits = [];
let input = prompt.map((t, i) => (i === prompt.length - 1 ? [t, want] : t));
for (let step = 0; step < steps; step++) {
  const res = await sequence.controlledEvaluate(input);
  const out = res[input.length - 1];
  const logits = dense(out?.next?.logits);
  stepLogits.push(logits);
  tokens.push(argmax(logits));
  input = [[force ? force[step] : tokens[step], want]];
}

process.stdout.write(JSON.stringify({prefill_logits_last: stepLogits[0], tokens, step_logits: stepLogits}) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
