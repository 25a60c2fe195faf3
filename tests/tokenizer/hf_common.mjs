// hf_common.mjs: shared pieces of the tokenizer.json oracle scripts — the byte-level alphabet, a small
// byte-level BPE trainer, corpus readers, running ternc_tokenize_tool and comparing its answers.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

/// Exit code ctest treats as "skipped" (SKIP_RETURN_CODE).
export const SKIP = 77;

/// The node_modules of tests/peers, or a skip with the reason when `npm install` has not been run there.
export function peersOrSkip(peers) {
  const modules = path.join(peers, "node_modules");
  if (!fs.existsSync(modules)) {
    console.log(`SKIP: ${modules} is absent (run 'npm install --no-audit --no-fund' in ${peers})`);
    process.exit(SKIP);
  }
  return modules;
}

export function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--")) throw new Error(`unexpected argument ${argv[i]}`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  return args;
}

/// GPT-2's byte -> character table, written out from its definition.
export function byteAlphabet() {
  const chars = new Array(256);
  let next = 0x100;
  for (let b = 0; b < 256; ++b) {
    const self = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    chars[b] = String.fromCodePoint(self ? b : next++);
  }
  return chars;
}

const ALPHABET = byteAlphabet();

export function bytesToToken(bytes) {
  let s = "";
  for (const b of bytes) s += ALPHABET[b];
  return s;
}

/// Trains byte-level BPE: the most frequent adjacent pair (ties: the smaller pair string) is merged,
/// `numMerges` times or until no pair occurs twice. Returns the merges as [left, right] tokens.
export function trainBpe(text, pattern, numMerges) {
  const counts = new Map();
  const encoder = new TextEncoder();
  for (const m of text.matchAll(pattern)) {
    const w = bytesToToken(encoder.encode(m[0]));
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const words = [...counts].map(([w, n]) => ({ symbols: Array.from(w), n }));
  const merges = [];
  for (let step = 0; step < numMerges; ++step) {
    const pairs = new Map();
    for (const { symbols, n } of words) {
      for (let i = 0; i + 1 < symbols.length; ++i) {
        const key = symbols[i] + " " + symbols[i + 1]; // byte-level tokens never contain ' '
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
    }
    let best = null, bestCount = 1;
    for (const [key, n] of pairs) {
      if (n > bestCount || (n === bestCount && best !== null && key < best)) {
        best = key;
        bestCount = n;
      }
    }
    if (best === null) break;
    const [a, b] = best.split(" ");
    merges.push([a, b]);
    for (const w of words) {
      const s = w.symbols;
      let out = null;
      for (let i = 0; i < s.length; ++i) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out ??= s.slice(0, i);
          out.push(a + b);
          ++i;
        } else if (out) {
          out.push(s[i]);
        }
      }
      if (out) w.symbols = out;
    }
  }
  return merges;
}

/// Regular files of /usr/share/common-licenses, concatenated.
export function licenseText() {
  const dir = "/usr/share/common-licenses";
  return fs.readdirSync(dir).sort()
    .map((f) => path.join(dir, f))
    .filter((p) => fs.lstatSync(p).isFile())
    .map((p) => fs.readFileSync(p, "utf8"))
    .join("\n");
}

/// Lines of Debian package texts other than the licenses: copyright files, then man page sources.
export function docLines(copyrightLines, manLines) {
  const out = [];
  const docs = fs.readdirSync("/usr/share/doc").sort();
  for (const d of docs) {
    if (out.length >= copyrightLines) break;
    const p = path.join("/usr/share/doc", d, "copyright");
    if (!fs.existsSync(p)) continue;
    out.push(...fs.readFileSync(p, "utf8").split("\n").slice(0, 12));
  }
  const res = out.slice(0, copyrightLines);
  const man = [];
  for (const section of ["man1", "man3", "man5", "man7", "man8"]) {
    const dir = path.join("/usr/share/man", section);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).sort()) {
      if (man.length >= manLines) break;
      if (!f.endsWith(".gz")) continue;
      try {
        man.push(...zlib.gunzipSync(fs.readFileSync(path.join(dir, f))).toString("utf8").split("\n").slice(0, 40));
      } catch {
        continue;
      }
    }
  }
  return res.concat(man.slice(0, manLines));
}

export const hex = (s) => Buffer.from(s, "utf8").toString("hex");
export const fromHex = (h) => Buffer.from(h, "hex");

/// Runs ternc_tokenize_tool on `request` and returns its JSON answer.
export function runTool(tool, kind, tokenizerPath, request, workdir) {
  const req = path.join(workdir, "request.json");
  fs.writeFileSync(req, JSON.stringify(request));
  const out = execFileSync(tool, ["--kind", kind, "--tokenizer", tokenizerPath, "--input", req], {
    maxBuffer: 1 << 30,
    encoding: "utf8",
  });
  return JSON.parse(out);
}

/// Collects failures and prints the summary; exits non-zero when any check failed.
export class Checks {
  constructor(name) {
    this.name = name;
    this.passed = 0;
    this.failures = [];
  }
  expect(ok, what) {
    if (ok) ++this.passed;
    else this.failures.push(what());
  }
  finish(info) {
    for (const f of this.failures.slice(0, 40)) console.log("FAIL:", f);
    if (info) console.log(`${this.name}: ${info}`);
    console.log(`${this.passed} passed, ${this.failures.length} failed`);
    process.exit(this.failures.length ? 1 : 0);
  }
}

export const sameIds = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
