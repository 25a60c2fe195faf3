#!/usr/bin/python3
"""test_gguf_tokenizer.py: tokenizers written into GGUF metadata and converted back by tokenizerFromGguf.

For each case a tokenizer file is written into tokenizer.ggml.* metadata with gguf_writer.py the way llama.cpp's
converter does, ternc_gguf_dump converts it back (--tokenizer-out), and ternc_tokenize_tool runs the original and
the converted file on the shared test strings (tests/tokenizer/test_strings.json) plus special-token texts. The
ids with and without special tokens, the decoded text, vocab size, BOS and EOS must be identical:
  - spm-bpe: a SentencePiece BPE model with byte fallback and a user-defined symbol, trained here by spm_train with
    LLaMA's normalizer settings (identity, no removal of extra whitespace: what GGUF's "llama" model implies);
  - spm-bpe-nobos: the same with tokenizer.ggml.add_bos_token false (no BOS added, bos null);
  - gpt2-llama3: a byte-level BPE (trained here) as a LLaMA-3 tokenizer.json (Split regex + ByteLevel,
    ignore_merges, special tokens, TemplateProcessing adding BOS), pre-tokenizer "llama-bpe";
  - gpt2-gpt2: the same vocabulary in GPT-2's layout (ByteLevel with its regex, no template), pre "gpt-2".
  - tiny-fortunes: examples/tiny-fortunes/tokenizer.model is a unigram model with NFKC normalization, which GGUF
    cannot express (llama.cpp treats every "llama" vocabulary as score-ranked BPE); for it the converted piece
    table (pieces, scores, types, special pieces) must equal the original's and the original's ids must decode to
    the same text.
"""
import argparse
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer as gw  # noqa: E402

LLAMA3_PATTERN = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
                  " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
# For training only: which pieces the trainer sees only shapes the vocabulary.
TRAIN_PATTERN = re.compile(r"'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d{1,3}| ?[^\s\w]+|\s+(?!\S)|\s+")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failures = []

    def expect(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit("command failed (%d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr.decode(errors="replace")))
    return r.stdout


def license_text():
    files = [f for f in sorted(glob.glob("/usr/share/common-licenses/*")) if os.path.isfile(f)
             and not os.path.islink(f)]
    return "\n".join(open(f, encoding="utf-8", errors="replace").read() for f in files)


def byte_alphabet():
    chars, nxt = [], 0x100
    for b in range(256):
        if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or b >= 0xAE:
            chars.append(chr(b))
        else:
            chars.append(chr(nxt))
            nxt += 1
    return chars


def train_bpe(text, num_merges):
    """Byte-level BPE: repeatedly merges the most frequent adjacent pair (ties: the smaller pair)."""
    alphabet = byte_alphabet()
    counts = collections.Counter("".join(alphabet[b] for b in m.group(0).encode("utf-8"))
                                 for m in TRAIN_PATTERN.finditer(text))
    words = [[list(w), n] for w, n in counts.items()]
    pairs = collections.Counter()
    for sym, n in words:
        for a, b in zip(sym, sym[1:]):
            pairs[(a, b)] += n
    merges = []
    for _ in range(num_merges):
        best = max(pairs.items(), key=lambda kv: (kv[1], tuple(-ord(c) for c in kv[0][0] + " " + kv[0][1])),
                   default=None)
        if best is None or best[1] < 2:
            break
        (a, b), _ = best
        merges.append((a, b))
        for w in words:
            sym, n = w
            if len(sym) < 2 or a not in sym:
                continue
            out, i, changed = [], 0, False
            while i < len(sym):
                if i + 1 < len(sym) and sym[i] == a and sym[i + 1] == b:
                    out.append(a + b)
                    i += 2
                    changed = True
                else:
                    out.append(sym[i])
                    i += 1
            if changed:
                for x, y in zip(sym, sym[1:]):
                    pairs[(x, y)] -= n
                for x, y in zip(out, out[1:]):
                    pairs[(x, y)] += n
                w[0] = out
        pairs = collections.Counter({k: v for k, v in pairs.items() if v > 0})
    return merges


def added(i, content, special):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


def hf_tokenizer(flavor, merges):
    """A tokenizer.json in the layout Hugging Face gives LLaMA-3 ("llama3") or GPT-2 ("gpt2")."""
    vocab = {c: b for b, c in enumerate(byte_alphabet())}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    n = len(vocab)
    if flavor == "llama3":
        specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                    "<|eot_id|>"]
        toks = [added(n + k, s, True) for k, s in enumerate(specials)] + [added(n + len(specials), "<sep>", False)]
        bos = n
        tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": toks, "normalizer": None,
              "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                  {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
                  {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
              "post_processor": {"type": "Sequence", "processors": [
                  {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
                  {"type": "TemplateProcessing",
                   "single": [{"SpecialToken": {"id": specials[0], "type_id": 0}},
                              {"Sequence": {"id": "A", "type_id": 0}}],
                   "pair": [{"SpecialToken": {"id": specials[0], "type_id": 0}},
                            {"Sequence": {"id": "A", "type_id": 0}},
                            {"SpecialToken": {"id": specials[0], "type_id": 1}},
                            {"Sequence": {"id": "B", "type_id": 1}}],
                   "special_tokens": {specials[0]: {"id": specials[0], "ids": [bos], "tokens": [specials[0]]}}}]},
              "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
              "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                        "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                        "vocab": vocab, "merges": ["%s %s" % m for m in merges]}}
        return tj, {"bos": bos, "eos": n + 1, "pre": "llama-bpe", "add_bos": True, "specials": specials + ["<sep>"]}
    # GPT-2: one special token (id n) that is both BOS and EOS, nothing added around the text.
    toks = [added(n, "<|endoftext|>", True)]
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": toks, "normalizer": None,
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
          "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                             "use_regex": True},
          "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                    "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                    "vocab": vocab, "merges": [list(m) for m in merges]}}
    return tj, {"bos": n, "eos": n, "pre": "gpt-2", "add_bos": False, "specials": ["<|endoftext|>"]}


def tokenize(args, kind, path, texts, id_lists=()):
    req = os.path.join(args.workdir, "request-%s.json" % os.path.basename(path))
    with open(req, "w") as f:
        json.dump({"texts_hex": [t.hex() for t in texts], "id_lists": list(id_lists)}, f)
    return json.loads(run([args.tokenize, "--kind", kind, "--tokenizer", path, "--input", req]))


def convert(args, gguf_path, out_path):
    info = json.loads(run([args.dump, gguf_path, "--tokenizer-out", out_path]))
    return info["tokenizer"]


def compare(c, name, texts, want, got):
    for key in ("vocab_size", "bos", "eos"):
        c.expect(want[key] == got[key], "%s: %s %r, original %r" % (name, key, got[key], want[key]))
    for i, t in enumerate(texts):
        for key in ("encode", "encode_special", "decode_hex"):
            c.expect(want[key][i] == got[key][i],
                     "%s: %s of %r: converted %r, original %r" % (name, key, t, got[key][i], want[key][i]))


def case_spm_bpe(c, args, texts):
    if shutil.which("spm_train") is None:
        print("note: spm_train not found (Debian package sentencepiece): SentencePiece BPE cases not run")
        return
    work = os.path.join(args.workdir, "spm-bpe")
    os.makedirs(work, exist_ok=True)
    corpus = os.path.join(work, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write(license_text())
    prefix = os.path.join(work, "m")
    run(["spm_train", "--input=" + corpus, "--model_prefix=" + prefix, "--vocab_size=1000", "--model_type=bpe",
         "--byte_fallback=true", "--normalization_rule_name=identity", "--remove_extra_whitespaces=false",
         "--user_defined_symbols=<sep>", "--num_threads=2", "--minloglevel=2"])
    original = prefix + ".model"
    want = tokenize(args, "spm", original, texts)
    for add_bos in (True, False):
        tag = "spm-bpe" if add_bos else "spm-bpe-nobos"
        w = gw.GgufWriter()
        w.add("general.architecture", "llama")
        gw.add_sentencepiece_tokenizer(w, original, add_bos=add_bos)
        path = os.path.join(work, tag + ".gguf")
        w.write(path)
        converted = os.path.join(work, tag + ".model")
        c.expect(convert(args, path, converted) == "sentencepiece", "%s: kind" % tag)
        got = tokenize(args, "spm", converted, texts)
        if add_bos:
            compare(c, tag, texts, want, got)
            a, b = gw.parse_sentencepiece(original), gw.parse_sentencepiece(converted)
            c.expect(a["pieces"] == b["pieces"], "%s: piece tables differ" % tag)
            c.expect(b["trainer"]["model_type"] == 2 and b["trainer"]["byte_fallback"], "%s: trainer spec" % tag)
        else:
            c.expect(got["bos"] is None, "%s: bos %r" % (tag, got["bos"]))
            c.expect(got["encode_special"] == want["encode"] and got["encode"] == want["encode"],
                     "%s: ids differ from the original's without BOS" % tag)


def case_tiny_fortunes(c, args, texts):
    work = os.path.join(args.workdir, "tiny-fortunes")
    os.makedirs(work, exist_ok=True)
    w = gw.GgufWriter()
    gw.add_sentencepiece_tokenizer(w, args.spm_model)
    path = os.path.join(work, "tf.gguf")
    w.write(path)
    converted = os.path.join(work, "tf.model")
    c.expect(convert(args, path, converted) == "sentencepiece", "tiny-fortunes: kind")
    a, b = gw.parse_sentencepiece(args.spm_model), gw.parse_sentencepiece(converted)
    c.expect(a["pieces"] == b["pieces"], "tiny-fortunes: piece tables differ")
    for k in ("unk_id", "bos_id", "eos_id", "unk_piece", "bos_piece", "eos_piece", "byte_fallback"):
        c.expect(a["trainer"][k] == b["trainer"][k], "tiny-fortunes: trainer %s %r vs %r" % (
            k, b["trainer"][k], a["trainer"][k]))
    want = tokenize(args, "spm", args.spm_model, texts)
    got = tokenize(args, "spm", converted, texts, id_lists=want["encode"])
    for key in ("vocab_size", "bos", "eos"):
        c.expect(want[key] == got[key], "tiny-fortunes: %s %r, original %r" % (key, got[key], want[key]))
    for i, ids in enumerate(want["encode"]):
        c.expect(got["id_lists_decode_hex"][i] == want["decode_hex"][i],
                 "tiny-fortunes: decode %r: %r vs %r" % (ids, got["id_lists_decode_hex"][i], want["decode_hex"][i]))


def case_hf(c, args, texts, merges):
    for flavor in ("llama3", "gpt2"):
        tag = "gpt2-" + flavor
        work = os.path.join(args.workdir, tag)
        os.makedirs(work, exist_ok=True)
        tj, meta = hf_tokenizer(flavor, merges)
        original = os.path.join(work, "tokenizer.json")
        with open(original, "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False)
        w = gw.GgufWriter()
        gw.add_hf_bpe_tokenizer(w, original, meta["pre"], bos=meta["bos"], eos=meta["eos"], add_bos=meta["add_bos"])
        path = os.path.join(work, tag + ".gguf")
        w.write(path)
        converted = os.path.join(work, "converted.json")
        c.expect(convert(args, path, converted) == "hf-json", "%s: kind" % tag)
        sp = meta["specials"]
        all_texts = texts + [("%sHello%s" % (sp[0], sp[-1])).encode(), ("a %s b %s\n" % (sp[0], sp[0])).encode(),
                             b"half a special <|begin_of_te", b"x<sep>y <sep> z"]
        want = tokenize(args, "hf", original, all_texts)
        got = tokenize(args, "hf", converted, all_texts)
        compare(c, tag, all_texts, want, got)
        if flavor == "llama3":
            c.expect(want["bos"] == meta["bos"] and want["encode_special"][1][0] == meta["bos"],
                     "%s: the original adds no BOS" % tag)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--tokenize", required=True)
    ap.add_argument("--strings", required=True)
    ap.add_argument("--spm-model", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    with open(args.strings, encoding="utf-8") as f:
        texts = [s.encode("utf-8") for s in json.load(f)]
    # spm_encode-style line input is not involved: texts travel as hex, so newlines are fine.
    c = Checks()
    case_spm_bpe(c, args, texts)
    case_tiny_fortunes(c, args, texts)
    merges = train_bpe(license_text()[:120000], 300)
    case_hf(c, args, texts, merges)
    for f in c.failures[:40]:
        print("FAIL:", f)
    print("gguf tokenizer: %d test strings, %d BPE merges" % (len(texts), len(merges)))
    print("%d passed, %d failed" % (c.passed, len(c.failures)))
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
