#!/usr/bin/python3
"""spm_oracle.py: ternc's SentencePiece tokenizer against Debian's spm_encode / spm_decode.

Trains a small model with spm_train on the license texts in /usr/share/common-licenses (into the work
directory), then checks through ternc_tokenize_tool that, for the shared test strings, invalid UTF-8 and
lines of other Debian documentation:
  - encode(text) gives exactly the ids of `spm_encode --output_format=id`, and encode(text, special)
    those of `--extra_options=bos` (when the model has a BOS);
  - decode(ids) equals `spm_decode --input_format=id`, and so does the StreamDecoder's output, each
    pushed chunk being complete UTF-8;
  - on random id sequences (control, unknown and byte pieces included) the streamed text equals decode;
  - a truncated model is a load error naming the file, and randomly corrupted models load or are
    refused, never crash.
"""
import argparse
import glob
import json
import os
import random
import subprocess
import sys


def read_corpus_files():
    files = [f for f in sorted(glob.glob("/usr/share/common-licenses/*"))
             if os.path.isfile(f) and not os.path.islink(f)]
    if not files:
        sys.exit("no texts in /usr/share/common-licenses")
    return files


def doc_lines(limit):
    """Lines of /usr/share/doc/*/copyright, a text the model was not trained on."""
    lines = []
    for path in sorted(glob.glob("/usr/share/doc/*/copyright")):
        try:
            with open(path, "rb") as f:
                for raw in f.read().split(b"\n")[:6]:
                    if raw.strip() and b"\r" not in raw:
                        lines.append(raw)
        except OSError:
            continue
        if len(lines) >= limit:
            break
    return lines[:limit]


def run(cmd, stdin=None):
    r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit("command failed (%d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr.decode(errors="replace")))
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--strings", required=True)
    ap.add_argument("--model-type", required=True, choices=["unigram", "bpe"])
    ap.add_argument("--byte-fallback", action="store_true")
    ap.add_argument("--vocab-size", type=int, default=1500)
    ap.add_argument("--link-test", help="ternc_tokenizer_runtime_link_test to run with the trained model")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    prefix = os.path.join(args.workdir, "m")

    corpus = os.path.join(args.workdir, "corpus.txt")
    with open(corpus, "wb") as out:
        for path in read_corpus_files():
            with open(path, "rb") as f:
                out.write(f.read())
    train = ["spm_train", "--input=" + corpus, "--model_prefix=" + prefix, "--vocab_size=%d" % args.vocab_size,
             "--model_type=" + args.model_type, "--num_threads=2", "--minloglevel=2", "--user_defined_symbols=<sep>",
             "--byte_fallback=" + ("true" if args.byte_fallback else "false")]
    run(train)
    model = prefix + ".model"

    with open(args.strings, encoding="utf-8") as f:
        strings = [s.encode("utf-8") for s in json.load(f) if "\n" not in s and "\r" not in s]
    strings += [b"invalid \xff\xfe bytes \xc3 and \xe2\x82", b"\xf0\x9f\x98", b"x<sep>y <sep> z"]
    strings += doc_lines(300)
    lines = b"\n".join(strings) + b"\n"

    def parse_ids(out):
        rows = out.split(b"\n")[:-1]
        return [[int(x) for x in row.split()] for row in rows]

    expected = parse_ids(run(["spm_encode", "--model=" + model, "--output_format=id"], lines))
    expected_bos = parse_ids(run(["spm_encode", "--model=" + model, "--output_format=id", "--extra_options=bos"],
                                 lines))
    if len(expected) != len(strings):
        sys.exit("spm_encode gave %d lines for %d strings" % (len(expected), len(strings)))
    id_text = b"\n".join(b" ".join(str(i).encode() for i in ids) for ids in expected) + b"\n"
    expected_text = run(["spm_decode", "--model=" + model, "--input_format=id"], id_text).split(b"\n")[:-1]

    request = {"texts_hex": [s.hex() for s in strings], "random": {"count": 400, "max_len": 24, "seed": 11}}
    req_path = os.path.join(args.workdir, "request.json")
    with open(req_path, "w") as f:
        json.dump(request, f)
    got = json.loads(run([args.tool, "--kind", "spm", "--tokenizer", model, "--input", req_path]))

    failures = []
    has_bos = got["bos"] is not None
    for i, s in enumerate(strings):
        if got["encode"][i] != expected[i]:
            failures.append("encode %r: ternc %s, spm_encode %s" % (s, got["encode"][i], expected[i]))
        want_special = expected_bos[i] if has_bos else expected[i]
        if got["encode_special"][i] != want_special:
            failures.append("encode+bos %r: ternc %s, spm_encode %s" % (s, got["encode_special"][i], want_special))
        dec = bytes.fromhex(got["decode_hex"][i])
        if dec != expected_text[i]:
            failures.append("decode %s: ternc %r, spm_decode %r" % (expected[i], dec, expected_text[i]))
        if bytes.fromhex(got["stream_hex"][i]) != dec or not got["stream_chunks_valid"][i]:
            failures.append("stream %s: %r (chunks valid: %s), decode %r" % (
                expected[i], bytes.fromhex(got["stream_hex"][i]), got["stream_chunks_valid"][i], dec))
    for ids, d, s in zip(got["random_ids"], got["random_decode_hex"], got["random_stream_hex"]):
        if d != s:
            failures.append("random stream %s: %r, decode %r" % (ids, bytes.fromhex(s), bytes.fromhex(d)))
    if has_bos and got["bos"] != 1:
        failures.append("bos id %s, spm_train's default is 1" % got["bos"])
    if got["eos"] != [2]:
        failures.append("eos ids %s, spm_train's default is [2]" % got["eos"])

    truncated = os.path.join(args.workdir, "truncated.model")
    with open(model, "rb") as f, open(truncated, "wb") as out:
        out.write(f.read()[: os.path.getsize(model) // 2])
    r = subprocess.run([args.tool, "--kind", "spm", "--tokenizer", truncated], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    message = r.stderr.decode(errors="replace")
    if r.returncode != 2 or truncated not in message or "SentencePiece" not in message:
        failures.append("truncated model: exit %d, message %r" % (r.returncode, message))

    # Corrupted models load or are refused with a message; they never crash the process.
    rng = random.Random(17)
    corrupt = os.path.join(args.workdir, "corrupt.model")
    small = os.path.join(args.workdir, "small.json")
    with open(small, "w") as f:
        json.dump({"texts_hex": [s.hex() for s in strings[:20]], "random": {"count": 20, "max_len": 12, "seed": 2}}, f)
    with open(model, "rb") as f:
        original = f.read()
    n_corrupt = 60
    for _ in range(n_corrupt):
        b = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            p = rng.randrange(len(b))
            kind = rng.randrange(3)
            if kind == 0:
                b[p] = rng.randrange(256)
            elif kind == 1:
                del b[p:p + rng.randint(1, 8)]
            else:
                del b[p:]
        with open(corrupt, "wb") as f:
            f.write(b)
        r = subprocess.run([args.tool, "--kind", "spm", "--tokenizer", corrupt, "--input", small],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode not in (0, 2):
            failures.append("corrupted model: exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace")[-300:]))

    if args.link_test:
        r = subprocess.run([args.link_test, model, args.workdir], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            failures.append("runtime link test: exit %d: %s" % (r.returncode, r.stdout.decode(errors="replace")))

    for f in failures[:40]:
        print("FAIL:", f)
    n_unk = sum(ids.count(0) for ids in expected)
    n_checks = 4 * len(strings) + len(got["random_ids"]) + 3 + n_corrupt + (1 if args.link_test else 0)
    print("spm %s%s: vocab %d, %d strings (%d unknown pieces), %d random streams, encode %.3f s" % (
        args.model_type, " byte_fallback" if args.byte_fallback else "", got["vocab_size"], len(strings), n_unk,
        len(got["random_ids"]), got["seconds"]["encode"]))
    print("%d passed, %d failed" % (n_checks - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
