// hf_oracle.mjs: ternc's tokenizer.json support against @huggingface/tokenizers (pure-JS tokenizer.json).
//
//   node hf_oracle.mjs --flavor llama3|gpt2 --tool ternc_tokenize_tool --workdir DIR --strings test_strings.json
//                      --peers tests/peers
//
// Trains a small byte-level BPE on /usr/share/common-licenses (hf_common.mjs), writes it as a tokenizer.json
// of the given flavor and checks on the test strings, special-token texts and lines of other Debian texts:
//  - llama3: LLaMA-3's layout: Split(LLaMA-3 regex, Isolated) + ByteLevel, ignore_merges, "a b" merges,
//    LLaMA-3's special tokens, TemplateProcessing adding <|begin_of_text|>;
//  - gpt2: ByteLevel(add_prefix_space, GPT-2 regex) alone, [a, b] merges, RobertaProcessing <s> ... </s>;
// that ids with and without special tokens equal the JS library's, decode equals its decode, the
// StreamDecoder's text equals decode (in complete UTF-8 chunks), and random id sequences decode alike.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Checks, docLines, fromHex, hex, licenseText, parseArgs, peersOrSkip, runTool, sameIds, trainBpe,
         byteAlphabet } from "./hf_common.mjs";

const LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|" +
  " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// For training only (JS has no inline (?i:...)); which pieces the trainer sees only shapes the vocabulary.
const TRAIN_PATTERN =
  /'(?:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
const LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
  "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
  "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"];

function addedToken(id, content, special) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: !special, special };
}

function buildTokenizer(flavor, merges) {
  const vocab = {};
  const alphabet = byteAlphabet();
  alphabet.forEach((c, b) => (vocab[c] = b));
  let next = 256;
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = next++;
  if (flavor === "llama3") {
    const added = LLAMA3_SPECIALS.map((s, i) => addedToken(next + i, s, true));
    const bos = added[0].id;
    return {
      version: "1.0", truncation: null, padding: null, added_tokens: added, normalizer: null,
      pre_tokenizer: { type: "Sequence", pretokenizers: [
        { type: "Split", pattern: { Regex: LLAMA3_PATTERN }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }] },
      post_processor: { type: "Sequence", processors: [
        { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
        { type: "TemplateProcessing",
          single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
          pair: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
                 { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
          special_tokens: {
            "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [bos], tokens: ["<|begin_of_text|>"] } } }] },
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
               fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab,
               merges: merges.map(([a, b]) => `${a} ${b}`) },
    };
  }
  const added = ["<s>", "</s>", "<pad>"].map((s, i) => addedToken(next + i, s, true));
  return {
    version: "1.0", truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    post_processor: { type: "RobertaProcessing", sep: ["</s>", next + 1], cls: ["<s>", next], trim_offsets: true,
                      add_prefix_space: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
             fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const modules = peersOrSkip(args.peers);
  const { Tokenizer } = await import(
    pathToFileURL(path.join(modules, "@huggingface/tokenizers/dist/tokenizers.mjs")).href);
  const flavor = args.flavor;
  const workdir = args.workdir;
  fs.mkdirSync(workdir, { recursive: true });

  const merges = trainBpe(licenseText(), TRAIN_PATTERN, 1000);
  const json = buildTokenizer(flavor, merges);
  const tokenizerPath = path.join(workdir, "tokenizer.json");
  fs.writeFileSync(tokenizerPath, JSON.stringify(json));
  const oracle = new Tokenizer(json, { clean_up_tokenization_spaces: false });

  const specials = json.added_tokens.map((t) => t.content);
  const texts = JSON.parse(fs.readFileSync(args.strings, "utf8"));
  texts.push(`${specials[0]}Hello${specials[1]}`, `text ${specials.at(-1)} more ${specials[1]}\n`,
             `${specials[0]}${specials[0]} twice`, `half a special <|begin_of_te`, `<s></s><pad>`);
  texts.push(...docLines(400, 200).filter((l) => l.length > 0));
  const addedIds = json.added_tokens.map((t) => t.id);

  const got = runTool(args.tool, "hf", tokenizerPath, {
    texts_hex: texts.map(hex),
    random: { count: 300, max_len: 30, seed: 5, exclude: addedIds },
  }, workdir);

  const checks = new Checks(`hf ${flavor}`);
  const decodeJs = (ids) => (ids.length ? oracle.decode(ids, { clean_up_tokenization_spaces: false }) : "");
  texts.forEach((text, i) => {
    const want = oracle.encode(text, { add_special_tokens: false }).ids;
    const wantSpecial = oracle.encode(text).ids;
    const ids = got.encode[i];
    checks.expect(sameIds(ids, want), () => `encode ${JSON.stringify(text)}: ternc [${ids}], JS [${want}]`);
    checks.expect(sameIds(got.encode_special[i], wantSpecial),
      () => `encode+special ${JSON.stringify(text)}: ternc [${got.encode_special[i]}], JS [${wantSpecial}]`);
    const dec = fromHex(got.decode_hex[i]).toString("utf8");
    const wantDec = decodeJs(ids);
    checks.expect(dec === wantDec,
      () => `decode [${ids}]: ternc ${JSON.stringify(dec)}, JS ${JSON.stringify(wantDec)}`);
    if (flavor === "llama3") // (gpt2's add_prefix_space puts a space in front)
      checks.expect(dec === text, () => `round trip ${JSON.stringify(text)} gave ${JSON.stringify(dec)}`);
    checks.expect(got.stream_hex[i] === got.decode_hex[i] && got.stream_chunks_valid[i],
      () => `stream of [${ids}]: ${JSON.stringify(fromHex(got.stream_hex[i]).toString())}, ` +
            `decode ${JSON.stringify(dec)}`);
  });
  got.random_ids.forEach((ids, i) => {
    const wantDec = hex(decodeJs(ids));
    checks.expect(got.random_decode_hex[i] === wantDec,
      () => `decode random [${ids}]: ternc ${got.random_decode_hex[i]}, JS ${wantDec}`);
    checks.expect(got.random_stream_hex[i] === got.random_decode_hex[i] && got.random_stream_chunks_valid[i],
      () => `stream random [${ids}]: ${got.random_stream_hex[i]} vs decode ${got.random_decode_hex[i]}`);
  });
  const bos = addedIds[0];
  const eos = flavor === "llama3" ? [addedIds[1], addedIds[8], addedIds[9]] : [addedIds[1]];
  checks.expect(got.bos === bos, () => `bos ${got.bos}, expected ${bos}`);
  checks.expect(sameIds(got.eos, eos), () => `eos [${got.eos}], expected [${eos}]`);
  checks.expect(got.vocab_size === Math.max(...addedIds) + 1, () => `vocab size ${got.vocab_size}`);
  checks.finish(`${merges.length} merges, ${texts.length} texts, ${got.random_ids.length} random id sequences`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
