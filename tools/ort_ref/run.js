#!/usr/bin/env node
// ONNX Runtime (CPU) reference runner. Used only as a correctness/speed reference for the
// engine, never inside it.
//
//   node run.js --model m.onnx [--input name=in.npy ...] --outdir DIR
//               [--threads N] [--iterations N [--warmup N]] [--opt-level all|extended|basic|disabled]
//               [--stacked]
//
// Writes every output as DIR/<output name with '/' replaced by '_'>.npy (.npy format 1.0,
// C order). Without --input, deterministic inputs are generated with the ONNX backend-test
// rule (np.arange(N).reshape(shape) / N as float32; integer inputs get np.arange(N)) and
// written to DIR/input_<name>.npy as well. With --iterations, prints
// {"median_ms":..,"mean_ms":..,"min_ms":..,"iterations":..} on stdout; everything else
// (shapes, notes) goes to stderr so stdout stays machine-readable.
// With --stacked, every --input file holds K samples along its first axis (a batch-1
// input [1, C, H, W] given as [K, C, H, W], the same K for all inputs); the model runs
// once per sample in one session, fed row k as [1, ...], and each output is written with
// the K results concatenated along its first axis (e.g. [1, 1000] -> [K, 1000]): a whole
// evaluation set in one process. Every input must be given; no timing.
'use strict';

const fs = require('fs');
const path = require('path');

function die(msg) {
  process.stderr.write(`run.js: ${msg}\n`);
  process.exit(2);
}

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  die(`cannot load onnxruntime-node (${e.message}); run tools/ort_ref/setup.sh first`);
}

// ---------------------------------------------------------------------------------------
// command line
// ---------------------------------------------------------------------------------------
function parseArgs(argv) {
  const a = { inputs: [], threads: 0, iterations: 0, warmup: null, optLevel: 'all', stacked: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) die(`missing value for ${k}`);
      return argv[++i];
    };
    const int = (v) => {
      if (!/^\d+$/.test(v)) die(`${k} expects a non-negative integer, got '${v}'`);
      return parseInt(v, 10);
    };
    switch (k) {
      case '--model': a.model = next(); break;
      case '--input': {
        const v = next();
        const eq = v.indexOf('=');
        if (eq <= 0) die(`--input expects name=file.npy, got '${v}'`);
        a.inputs.push([v.slice(0, eq), v.slice(eq + 1)]);
        break;
      }
      case '--outdir': a.outdir = next(); break;
      case '--threads': a.threads = int(next()); break;
      case '--iterations': a.iterations = int(next()); break;
      case '--warmup': a.warmup = int(next()); break;
      case '--opt-level': a.optLevel = next(); break;
      case '--stacked': a.stacked = true; break;
      case '-h': case '--help':
        process.stdout.write(
          'usage: node run.js --model m.onnx [--input name=in.npy ...] --outdir DIR\n' +
          '                   [--threads N] [--iterations N [--warmup N]]\n' +
          '                   [--opt-level all|extended|basic|disabled] [--stacked]\n');
        process.exit(0);
      default: die(`unknown argument '${k}' (see --help)`);
    }
  }
  if (!a.model) die('--model is required');
  if (!a.outdir) die('--outdir is required');
  if (!['all', 'extended', 'basic', 'disabled'].includes(a.optLevel)) die(`bad --opt-level '${a.optLevel}'`);
  if (a.stacked && a.iterations > 0) die('--stacked does not time (drop --iterations)');
  if (a.warmup === null) a.warmup = a.iterations > 0 ? 5 : 0;
  return a;
}

// ---------------------------------------------------------------------------------------
// .npy reader / writer
// ---------------------------------------------------------------------------------------
const NPY_TYPES = {
  // descr: [ort type, TypedArray, bytes per element]
  '<f4': ['float32', Float32Array, 4],
  '<f2': ['float16', Uint16Array, 2],
  '<f8': ['float64', Float64Array, 8],
  '<i8': ['int64', BigInt64Array, 8],
  '<i4': ['int32', Int32Array, 4],
  '|u1': ['uint8', Uint8Array, 1],
  '|i1': ['int8', Int8Array, 1],
  '|b1': ['bool', Uint8Array, 1],
};
const ORT_TO_DESCR = {};
for (const [d, [t]] of Object.entries(NPY_TYPES)) ORT_TO_DESCR[t] = d;

function readNpy(file) {
  if (!fs.existsSync(file)) die(`input file not found: ${file}`);
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    die(`${file}: not a .npy file`);
  }
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) { hlen = buf.readUInt16LE(8); hstart = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); hstart = 12; }
  else die(`${file}: unsupported .npy version ${major}`);
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = (header.match(/'descr'\s*:\s*'([^']*)'/) || [])[1];
  const fortran = (header.match(/'fortran_order'\s*:\s*(True|False)/) || [])[1];
  const shapeStr = (header.match(/'shape'\s*:\s*\(([^)]*)\)/) || [])[1];
  if (descr === undefined || fortran === undefined || shapeStr === undefined) {
    die(`${file}: cannot parse .npy header ${JSON.stringify(header)}`);
  }
  if (fortran === 'True') die(`${file}: fortran_order arrays are not supported (save a C-order array)`);
  const t = NPY_TYPES[descr];
  if (!t) die(`${file}: unsupported dtype '${descr}' (supported: ${Object.keys(NPY_TYPES).join(' ')})`);
  const shape = shapeStr.split(',').map((s) => s.trim()).filter((s) => s.length).map((s) => parseInt(s, 10));
  const count = shape.reduce((p, d) => p * d, 1);
  const off = hstart + hlen;
  if (buf.length - off !== count * t[2]) {
    die(`${file}: data size ${buf.length - off} != ${count} x ${t[2]} bytes`);
  }
  // copy into an aligned buffer
  const ab = new ArrayBuffer(count * t[2]);
  new Uint8Array(ab).set(buf.subarray(off, off + count * t[2]));
  let data = new t[1](ab);
  if (t[0] === 'bool') data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  return { type: t[0], dims: shape, data, descr };
}

function writeNpy(file, type, dims, data) {
  const descr = ORT_TO_DESCR[type];
  if (!descr) {
    process.stderr.write(`run.js: note: output type '${type}' has no .npy writer; ${file} not written\n`);
    return false;
  }
  const shape = dims.length === 0 ? '()' : dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // total header (magic 6 + version 2 + len 2 + dict + '\n') padded to a multiple of 64
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  if (header.length > 65535) die('npy header too long');
  const pre = Buffer.alloc(10);
  pre[0] = 0x93;
  pre.write('NUMPY', 1, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  let bytes;
  if (type === 'bool') bytes = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)));
  else bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), bytes]));
  return true;
}

// ---------------------------------------------------------------------------------------
// minimal ONNX protobuf reader: graph inputs (name, elem_type, dims) and initializer names.
// onnxruntime-node 1.20 does not expose input shapes, so we read them from the model.
// ---------------------------------------------------------------------------------------
function readVarint(buf, pos) {
  let result = 0, mul = 1, b;
  do {
    if (pos.p >= buf.length) throw new Error('truncated varint');
    b = buf[pos.p++];
    result += (b & 0x7f) * mul;
    mul *= 128;
  } while (b & 0x80);
  return result; // exact up to 2^53, enough for lengths and dims
}

// Iterate over the fields of a message in buf[start, end): cb(fieldNo, wireType, valueOrRange)
function forFields(buf, start, end, cb) {
  const pos = { p: start };
  while (pos.p < end) {
    const key = readVarint(buf, pos);
    const field = Math.floor(key / 8), wt = key & 7;
    if (wt === 0) cb(field, wt, readVarint(buf, pos));
    else if (wt === 1) { pos.p += 8; }
    else if (wt === 5) { pos.p += 4; }
    else if (wt === 2) {
      const len = readVarint(buf, pos);
      const s = pos.p;
      pos.p += len;
      cb(field, wt, [s, s + len]);
    } else throw new Error(`unsupported wire type ${wt}`);
  }
}

const ONNX_ELEM = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

function readModelInputs(file) {
  const buf = fs.readFileSync(file);
  const inputs = [];
  const inits = new Set();
  const str = (r) => buf.toString('utf8', r[0], r[1]);
  forFields(buf, 0, buf.length, (f, wt, graph) => {
    if (f !== 7 || wt !== 2) return; // ModelProto.graph
    forFields(buf, graph[0], graph[1], (gf, gwt, r) => {
      if (gwt !== 2) return;
      if (gf === 5) { // GraphProto.initializer -> TensorProto.name (8)
        forFields(buf, r[0], r[1], (tf, twt, tr) => { if (tf === 8 && twt === 2) inits.add(str(tr)); });
      } else if (gf === 11) { // GraphProto.input -> ValueInfoProto
        const vi = { name: '', type: 'unknown', dims: [] };
        forFields(buf, r[0], r[1], (vf, vwt, vr) => {
          if (vf === 1 && vwt === 2) vi.name = str(vr);
          if (vf === 2 && vwt === 2) { // TypeProto
            forFields(buf, vr[0], vr[1], (tf, twt, tr) => {
              if (tf !== 1 || twt !== 2) return; // TypeProto.tensor_type
              forFields(buf, tr[0], tr[1], (xf, xwt, xr) => {
                if (xf === 1 && xwt === 0) vi.type = ONNX_ELEM[xr] || `onnx_elem_${xr}`;
                if (xf === 2 && xwt === 2) { // TensorShapeProto
                  forFields(buf, xr[0], xr[1], (sf, swt, sr) => {
                    if (sf !== 1 || swt !== 2) return; // Dimension
                    let d = null;
                    forFields(buf, sr[0], sr[1], (df, dwt, dv) => {
                      if (df === 1 && dwt === 0) d = dv;
                      if (df === 2 && dwt === 2) d = str(dv);
                    });
                    vi.dims.push(d);
                  });
                }
              });
            });
          }
        });
        inputs.push(vi);
      }
    });
  });
  return inputs.filter((vi) => !inits.has(vi.name));
}

function makeDeterministicInput(vi) {
  const dims = vi.dims.map((d) => {
    if (typeof d === 'number') return d;
    process.stderr.write(`run.js: note: input '${vi.name}' has symbolic dim '${d}', using 1\n`);
    return 1;
  });
  const n = dims.reduce((p, d) => p * d, 1);
  let data;
  switch (vi.type) {
    case 'float32':
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = Math.fround(i / n); // np.arange(n)/n -> float32
      break;
    case 'float64':
      data = new Float64Array(n);
      for (let i = 0; i < n; i++) data[i] = i / n;
      break;
    case 'int64':
      data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = BigInt(i);
      break;
    case 'int32':
      data = new Int32Array(n);
      for (let i = 0; i < n; i++) data[i] = i;
      break;
    default:
      die(`cannot generate input '${vi.name}' of type ${vi.type}; pass --input ${vi.name}=file.npy`);
  }
  return { type: vi.type, dims, data };
}

// ---------------------------------------------------------------------------------------
function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const m = s.length;
  const median = m % 2 ? s[(m - 1) / 2] : (s[m / 2 - 1] + s[m / 2]) / 2;
  const mean = s.reduce((p, v) => p + v, 0) / m;
  const r = (v) => Math.round(v * 1000) / 1000;
  return { median_ms: r(median), mean_ms: r(mean), min_ms: r(s[0]), iterations: m };
}

function safeName(name) {
  return name.replace(/\//g, '_');
}

// --stacked: sample k of every input is row k of its file; outputs are stacked likewise.
async function runStacked(args, session) {
  const given = new Map(args.inputs);
  for (const name of session.inputNames) {
    if (!given.has(name)) die(`--stacked needs every input; missing --input ${name}=file.npy`);
  }
  const stacks = {};
  let count = -1;
  for (const name of session.inputNames) {
    const t = readNpy(given.get(name));
    if (t.dims.length < 1) die(`--stacked: ${given.get(name)} has no leading sample axis`);
    if (count >= 0 && t.dims[0] !== count) die(`--stacked: inputs hold different sample counts`);
    count = t.dims[0];
    stacks[name] = t;
    process.stderr.write(`input  ${name}: ${t.type} [${t.dims.join(',')}] (${count} samples)\n`);
  }
  const outs = {};
  for (let k = 0; k < count; k++) {
    const feeds = {};
    for (const name of session.inputNames) {
      const t = stacks[name];
      const dims = [1, ...t.dims.slice(1)];
      const n = dims.reduce((p, d) => p * d, 1);
      feeds[name] = new ort.Tensor(t.type, t.data.subarray(k * n, (k + 1) * n), dims);
    }
    const results = await session.run(feeds);
    for (const name of session.outputNames) {
      const r = results[name];
      if (!outs[name]) {
        outs[name] = { type: r.type, dims: r.dims, data: new r.data.constructor(count * r.data.length) };
      }
      const o = outs[name];
      if (r.data.length * count !== o.data.length) die(`--stacked: output '${name}' changes size between samples`);
      o.data.set(r.data, k * r.data.length);
    }
  }
  for (const name of session.outputNames) {
    const o = outs[name];
    if (!o) continue;
    const f = path.join(args.outdir, `${safeName(name)}.npy`);
    const dims = o.dims.length ? [count * o.dims[0], ...o.dims.slice(1)] : [count];
    const ok = writeNpy(f, o.type, dims, o.data);
    process.stderr.write(`output ${name}: ${o.type} [${dims.join(',')}]${ok ? ` -> ${f}` : ''}\n`);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(args.model)) die(`model not found: ${args.model}`);
  fs.mkdirSync(args.outdir, { recursive: true });

  const opts = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: args.optLevel,
    executionMode: 'sequential',
    interOpNumThreads: 1,
  };
  if (args.threads > 0) opts.intraOpNumThreads = args.threads;
  const session = await ort.InferenceSession.create(args.model, opts);

  if (args.stacked) {
    await runStacked(args, session);
    return;
  }

  const feeds = {};
  const given = new Map(args.inputs);
  for (const [name] of given) {
    if (!session.inputNames.includes(name)) {
      die(`model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    }
  }
  let modelInputs = null;
  for (const name of session.inputNames) {
    let t;
    if (given.has(name)) {
      t = readNpy(given.get(name));
    } else {
      if (!modelInputs) modelInputs = readModelInputs(args.model);
      const vi = modelInputs.find((v) => v.name === name);
      if (!vi) die(`cannot find type/shape of input '${name}' in the model; pass --input ${name}=file.npy`);
      t = makeDeterministicInput(vi);
      const f = path.join(args.outdir, `input_${safeName(name)}.npy`);
      writeNpy(f, t.type, t.dims, t.data);
      process.stderr.write(`input  ${name}: ${t.type} [${t.dims.join(',')}] (generated -> ${f})\n`);
    }
    if (given.has(name)) process.stderr.write(`input  ${name}: ${t.type} [${t.dims.join(',')}] (${given.get(name)})\n`);
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }

  const results = await session.run(feeds);
  for (const name of session.outputNames) {
    const t = results[name];
    const f = path.join(args.outdir, `${safeName(name)}.npy`);
    const ok = writeNpy(f, t.type, t.dims, t.data);
    let extra = '';
    if (t.type === 'float32' || t.type === 'float64') {
      let s = 0, s2 = 0, mn = Infinity, mx = -Infinity;
      for (const v of t.data) { s += v; s2 += v * v; if (v < mn) mn = v; if (v > mx) mx = v; }
      const n = t.data.length || 1;
      const mean = s / n;
      const std = Math.sqrt(Math.max(0, s2 / n - mean * mean));
      extra = ` mean=${mean.toPrecision(4)} std=${std.toPrecision(4)} min=${mn.toPrecision(4)} max=${mx.toPrecision(4)}`;
    }
    process.stderr.write(`output ${name}: ${t.type} [${t.dims.join(',')}]${extra}${ok ? ` -> ${f}` : ''}\n`);
  }

  if (args.iterations > 0) {
    for (let i = 0; i < args.warmup; i++) await session.run(feeds);
    const times = [];
    for (let i = 0; i < args.iterations; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    process.stdout.write(JSON.stringify(stats(times)) + '\n');
  }
}

main().catch((e) => {
  process.stderr.write(`run.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
