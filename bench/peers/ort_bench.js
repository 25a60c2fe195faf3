// ort_bench.js: times one ONNX model on ONNX Runtime's CPU provider and prints one JSON line (the peer side of ternc's benchmarks).
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');
const v8 = require('v8');
const vm = require('vm');

// Why the process runs with these malloc settings and pre-faults heap memory before timing: the Node binding copies
// tensors into new JS buffers on every run, which are freed only at the next garbage collection, and with glibc's
// defaults (growing mmap threshold, heap trimming) they keep landing on fresh pages. On the virtual machines we
// benchmark on a page fault costs ~10 us, so a 1 MB output adds ~3 ms to a 0.2 ms Softmax. Large blocks stay on the
// never-trimmed heap, and the heap is grown and touched once up front, so the timed runs reuse warm memory: the time
// measured is ORT's, not the kernel's page-fault handler's.
const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296';
if (!(process.env.GLIBC_TUNABLES || '').includes(MALLOC_TUNABLES)) {
  // glibc reads its tunables once at start-up, so apply them by running this script again in a child.
  const tunables = [process.env.GLIBC_TUNABLES, MALLOC_TUNABLES].filter(Boolean).join(':');
  const child = childProcess.spawnSync(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, GLIBC_TUNABLES: tunables },
  });
  if (child.error) throw child.error;
  process.exit(child.status === null ? 1 : child.status);
}
// Enough for the per-run buffers of ~100 runs of a 1 MB-output model between two garbage collections.
const PREFAULT_BYTES = 256 << 20;
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc');

const ort = require('onnxruntime-node');

const USAGE = `Usage: node ort_bench.js MODEL.onnx INPUT... [--threads N] [--warmup W] [--iters I] [--output-dir DIR]

  MODEL.onnx        the model to time
  INPUT             a .npy file per graph input, in the order of the graph's inputs,
                    or NAME=PATH to bind one by name
  --threads N       intra-op threads (default 1); inter-op threads are always 1
  --warmup W        untimed runs before timing, after a first one (default 10)
  --iters I         timed runs (default 20)
  --output-dir DIR  write each output of the last run as DIR/<output name>.npy
                    (named as ternc run names them, so the files pair up)

Prints {"peer":"onnxruntime","version":...,"model":...,"threads":N,"median_ms":...,"min_ms":...,"iters":I}`;

// .npy dtype descriptors we read and write, and the typed arrays and ORT tensor types they map to.
// Only little-endian (or byte-sized) data: every machine we benchmark on is little-endian.
const NPY_TYPES = [
  { descr: '<f4', ort: 'float32', array: Float32Array },
  { descr: '<f8', ort: 'float64', array: Float64Array },
  { descr: '<f2', ort: 'float16', array: Uint16Array },
  { descr: '|i1', ort: 'int8', array: Int8Array },
  { descr: '|u1', ort: 'uint8', array: Uint8Array },
  { descr: '<i2', ort: 'int16', array: Int16Array },
  { descr: '<u2', ort: 'uint16', array: Uint16Array },
  { descr: '<i4', ort: 'int32', array: Int32Array },
  { descr: '<u4', ort: 'uint32', array: Uint32Array },
  { descr: '<i8', ort: 'int64', array: BigInt64Array },
  { descr: '<u8', ort: 'uint64', array: BigUint64Array },
  { descr: '|b1', ort: 'bool', array: Uint8Array },
];

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

function die(message) {
  process.stderr.write(`ort_bench: ${message}\n`);
  process.exit(1);
}

/** Reads a C-ordered .npy file (format versions 1-3) into an ORT tensor. */
function readNpy(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(NPY_MAGIC)) die(`${file}: not a .npy file`);
  const major = bytes[6];
  let headerStart;
  let headerLength;
  if (major === 1) {
    headerStart = 10;
    headerLength = bytes.readUInt16LE(8);
  } else if (major === 2 || major === 3) {
    headerStart = 12;
    headerLength = bytes.readUInt32LE(8);
  } else {
    die(`${file}: unsupported .npy format version ${major}`);
  }
  const header = bytes.toString(major === 3 ? 'utf8' : 'latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) die(`${file}: malformed .npy header ${JSON.stringify(header)}`);
  if (fortran[1] === 'True') die(`${file}: Fortran-ordered arrays are not supported`);
  const type = NPY_TYPES.find((t) => t.descr === descr[1] || t.descr === descr[1].replace(/^=/, '<'));
  if (!type) die(`${file}: unsupported dtype '${descr[1]}'`);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s, 10));
  const count = dims.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  const byteLength = count * type.array.BYTES_PER_ELEMENT;
  if (bytes.length - dataStart !== byteLength) {
    die(`${file}: expected ${byteLength} data bytes for shape [${dims}] of ${descr[1]}, found ${bytes.length - dataStart}`);
  }
  // Copy into a fresh, aligned buffer: the file buffer's offset need not be a multiple of the element size.
  const data = new type.array(count);
  new Uint8Array(data.buffer).set(bytes.subarray(dataStart, dataStart + byteLength));
  return new ort.Tensor(type.ort, data, dims);
}

/** Writes an ORT tensor as a version 1 .npy file. */
function writeNpy(file, tensor) {
  const type = NPY_TYPES.find((t) => t.ort === tensor.type);
  if (!type) die(`${file}: cannot write ORT tensor type '${tensor.type}' as .npy`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${type.descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // The header, newline included, pads the data offset to a multiple of 64 bytes as numpy does.
  const unpadded = NPY_MAGIC.length + 4 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(NPY_MAGIC.length + 4);
  NPY_MAGIC.copy(prefix, 0);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  const payload = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), payload]));
}

/** An output name as a file name, the same way `ternc run` names its files: characters outside [A-Za-z0-9._-] become '_'. */
function outputFileName(name) {
  let file = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (file === '' || file === '.' || file === '..') file = `_${file}`;
  return `${file}.npy`;
}

function parseCount(flag, text, minimum) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) die(`${flag} needs an integer >= ${minimum}, got '${text}'`);
  return value;
}

function parseArgs(argv) {
  const args = { positional: [], threads: 1, warmup: 10, iters: 20, outputDir: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) die(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (arg === '--threads') args.threads = parseCount(arg, next(), 1);
    else if (arg === '--warmup') args.warmup = parseCount(arg, next(), 0);
    else if (arg === '--iters') args.iters = parseCount(arg, next(), 1);
    else if (arg === '--output-dir') args.outputDir = next();
    else if (arg.startsWith('--')) die(`unknown option ${arg}\n${USAGE}`);
    else args.positional.push(arg);
  }
  if (args.positional.length < 1) die(`no model given\n${USAGE}`);
  return args;
}

/** Binds each INPUT argument to a graph input: NAME=PATH by name, a bare path by position. */
function bindInputs(session, inputArgs) {
  const feeds = {};
  let position = 0;
  for (const arg of inputArgs) {
    const eq = arg.indexOf('=');
    let name;
    let file;
    if (eq > 0 && session.inputNames.includes(arg.slice(0, eq))) {
      name = arg.slice(0, eq);
      file = arg.slice(eq + 1);
    } else {
      if (position >= session.inputNames.length) die(`more inputs given than the model has (${session.inputNames.join(', ')})`);
      name = session.inputNames[position++];
      file = arg;
    }
    if (name in feeds) die(`input '${name}' given twice`);
    feeds[name] = readNpy(file);
  }
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length > 0) die(`no value for graph input(s) ${missing.join(', ')}`);
  return feeds;
}

/** Grows the malloc heap by `bytes` of touched memory and frees it again, for later allocations to reuse. */
function prefaultHeap(bytes) {
  // Blocks under the mmap threshold come from the heap; one big block would be mmapped and unmapped on free.
  const blockBytes = 16 << 20;
  let blocks = [];
  for (let done = 0; done < bytes; done += blockBytes) blocks.push(new Uint8Array(blockBytes).fill(1));
  blocks = null;
  collectGarbage();
}

function median(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const [modelPath, ...inputArgs] = args.positional;
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const feeds = bindInputs(session, inputArgs);

  // The first run gives the outputs' types and shapes; later runs write into buffers of those.
  const first = await session.run(feeds);
  const outputs = {};
  for (const name of session.outputNames) {
    const type = NPY_TYPES.find((t) => t.ort === first[name].type);
    if (!type) die(`output '${name}' has type '${first[name].type}', which this script cannot preallocate`);
    outputs[name] = new ort.Tensor(first[name].type, new type.array(first[name].size), first[name].dims);
  }
  prefaultHeap(PREFAULT_BYTES);
  for (let i = 0; i < args.warmup; i++) await session.run(feeds, outputs);
  const times = [];
  for (let i = 0; i < args.iters; i++) {
    const start = process.hrtime.bigint();
    await session.run(feeds, outputs);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);

  if (args.outputDir) {
    fs.mkdirSync(args.outputDir, { recursive: true });
    for (const name of session.outputNames) writeNpy(path.join(args.outputDir, outputFileName(name)), outputs[name]);
  }
  await session.release();

  const round = (ms) => Math.round(ms * 1e4) / 1e4;
  const result = {
    peer: 'onnxruntime',
    version: ort.env.versions.node,
    model: path.basename(modelPath),
    threads: args.threads,
    median_ms: round(median(times)),
    min_ms: round(times[0]),
    iters: args.iters,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err) => die(err && err.stack ? err.stack : String(err)));
