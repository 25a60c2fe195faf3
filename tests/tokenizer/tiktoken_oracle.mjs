// tiktoken_oracle.mjs: real vocabularies (cl100k_base, o200k_base as tokenizer.json) against js-tiktoken.
//
//   node tiktoken_oracle.mjs --encoding cl100k_base|o200k_base --tool ternc_tokenize_tool --workdir DIR
//                            --strings test_strings.json --peers tests/peers
//
// The converter turns js-tiktoken's ranks into a byte-level BPE tokenizer.json: every token's id is its rank;
// the merges are, in the order of the merged token's rank, every split of a token into two tokens (tiktoken
// merges any adjacent pair whose concatenation has a rank, the lowest rank first); ignore_merges is set
// because tiktoken takes a whole piece that has a rank directly; the pre-tokenizer is a Split with the
// encoding's own pattern and ByteLevel. ternc's ids and decodes must equal js-tiktoken's on the test strings and on a
// few thousand lines of Debian package text (licenses, copyright files, man page sources).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { bytesToToken, Checks, docLines, fromHex, hex, licenseText, parseArgs, peersOrSkip, runTool,
         sameIds } from "./hf_common.mjs";

/// tokenizer.json for a tiktoken encoding in js-tiktoken's format ({pat_str, special_tokens, bpe_ranks}).
function convert(ranks) {
  const byRank = []; // rank -> token bytes
  const rankOf = new Map(); // token bytes as a latin1 string -> rank
  for (const line of ranks.bpe_ranks.split("\n")) {
    if (!line) continue;
    const [, offset, ...tokens] = line.split(" ");
    tokens.forEach((b64, i) => {
      const bytes = Buffer.from(b64, "base64");
      byRank[Number(offset) + i] = bytes;
      rankOf.set(bytes.toString("latin1"), Number(offset) + i);
    });
  }
  const vocab = {};
  const merges = [];
  byRank.forEach((bytes, rank) => {
    if (!bytes) return;
    vocab[bytesToToken(bytes)] = rank;
    const key = bytes.toString("latin1");
    const splits = [];
    for (let k = 1; k < key.length; ++k) {
      const l = rankOf.get(key.slice(0, k)), r = rankOf.get(key.slice(k));
      if (l !== undefined && r !== undefined) splits.push([l, r]);
    }
    splits.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    for (const [l, r] of splits) merges.push([bytesToToken(byRank[l]), bytesToToken(byRank[r])]);
  });
  const added = Object.entries(ranks.special_tokens).map(([content, id]) => (
    { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return {
    version: "1.0", truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: { type: "Sequence", pretokenizers: [
      { type: "Split", pattern: { Regex: ranks.pat_str }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }] },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
             fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges },
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const modules = peersOrSkip(args.peers);
  const { Tiktoken } = await import(pathToFileURL(path.join(modules, "js-tiktoken/dist/lite.js")).href);
  const encoding = args.encoding;
  if (!["cl100k_base", "o200k_base"].includes(encoding)) throw new Error(`unknown --encoding ${encoding}`);
  const ranks = (await import(pathToFileURL(path.join(modules, `js-tiktoken/dist/ranks/${encoding}.js`)).href)).default;
  const enc = new Tiktoken(ranks);
  fs.mkdirSync(args.workdir, { recursive: true });

  let t0 = Date.now();
  const json = convert(ranks);
  const tokenizerPath = path.join(args.workdir, "tokenizer.json");
  fs.writeFileSync(tokenizerPath, JSON.stringify(json));
  const convertSeconds = (Date.now() - t0) / 1000;

  // JS's \s also takes U+FEFF and not U+0085 (Unicode White_Space, which ternc and the Rust tokenizers use);
  // lines with those, or with special-token text that tiktoken refuses, are left out.
  const usable = (s) => !/[\uFEFF\u0085]/u.test(s) && !s.includes("<|");
  const lines = licenseText().split("\n").concat(docLines(2000, 1500)).filter(usable);
  const texts = JSON.parse(fs.readFileSync(args.strings, "utf8")).filter(usable);
  const groups = 5; // lines per text, joined with their newlines
  for (let i = 0; i < lines.length; i += groups) texts.push(lines.slice(i, i + groups).join("\n") + "\n");

  t0 = Date.now();
  const want = texts.map((t) => enc.encode(t));
  const jsSeconds = (Date.now() - t0) / 1000;
  const got = runTool(args.tool, "hf", tokenizerPath, {
    texts_hex: texts.map(hex),
    random: { count: 200, max_len: 20, seed: 3, exclude: json.added_tokens.map((t) => t.id) },
  }, args.workdir);

  const checks = new Checks(encoding);
  let tokens = 0;
  texts.forEach((text, i) => {
    const ids = got.encode[i];
    tokens += ids.length;
    checks.expect(sameIds(ids, want[i]),
      () => `encode ${JSON.stringify(text)}: ternc [${ids}], js-tiktoken [${want[i]}]`);
    const wantDec = hex(enc.decode(want[i]));
    checks.expect(got.decode_hex[i] === wantDec,
      () => `decode of ${JSON.stringify(text)}: ternc ${JSON.stringify(fromHex(got.decode_hex[i]).toString())}`);
    checks.expect(got.stream_hex[i] === got.decode_hex[i] && got.stream_chunks_valid[i],
      () => `stream of ${JSON.stringify(text)} differs from decode`);
  });
  got.random_ids.forEach((ids, i) => {
    const wantDec = hex(enc.decode(ids));
    checks.expect(got.random_decode_hex[i] === wantDec,
      () => `decode [${ids}]: ternc ${got.random_decode_hex[i]}, js ${wantDec}`);
    checks.expect(got.random_stream_hex[i] === got.random_decode_hex[i] && got.random_stream_chunks_valid[i],
      () => `stream [${ids}] differs from decode`);
  });
  const eos = ranks.special_tokens["<|endoftext|>"];
  const vocabSize = Object.values(json.model.vocab).concat(json.added_tokens.map((t) => t.id))
    .reduce((a, b) => Math.max(a, b), -1) + 1;
  checks.expect(got.bos === null, () => `bos ${got.bos}: ${encoding} has none`);
  checks.expect(sameIds(got.eos, [eos]), () => `eos [${got.eos}], expected [${eos}] (<|endoftext|>)`);
  checks.expect(got.vocab_size === vocabSize, () => `vocab size ${got.vocab_size}, expected ${vocabSize}`);
  const s = got.seconds;
  checks.finish(
    `${json.model.merges.length} merges, ${texts.length} texts (${lines.length} lines), ${tokens} tokens; ` +
    `convert ${convertSeconds.toFixed(2)} s, ternc load ${s.load.toFixed(2)} s, encode ${s.encode.toFixed(3)} s ` +
    `(${(2 * tokens / s.encode / 1e6).toFixed(2)} M tokens/s; every text is encoded twice, with and without ` +
    `specials), js-tiktoken ${jsSeconds.toFixed(2)} s`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
