/**
 * Measures which operators onnxruntime runs in float16 natively, and writes the table the fp16 pass
 * reads for targets `cpu` (onnxruntime-node) and `wasm` (onnxruntime-web in Node).
 *
 *   node --conditions=@onnx-forge/source --import tsx packages/graph-ops/scripts/probe-fp16-kernels.ts
 *
 * For every one-node model of the ONNX node test suite (libonnx-testdata), stamped at each opset from
 * 7 to 21 at which the float32 model still loads and matches the test's outputs, the
 * script converts the node to float16 with the pass itself (target any, float16 inputs and outputs),
 * loads it and runs it. An op has a float16 kernel at that opset when the model loads, runs, and
 * onnxruntime inserted no Casts of its own: onnxruntime quietly wraps a node that lacks a float16
 * kernel in float32 Casts (its CastFloat16Transformer, logged at info level), which is exactly the
 * slow path the pass must avoid. A few ops the suite does not cover (random generators, newer ops) are
 * probed with models built here. One child process per runtime runs the cases (the two in parallel);
 * the parent reads each fp16 session's log between markers.
 *
 * It writes src/tables/fp16-kernels-ort.generated.ts: one line per op, and each reason an op has no
 * float16 kernel as a code into a short table of onnxruntime's messages, given whole.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DataType, Model, ModelBuilder, attr, float32ArrayToFloat16, float16ArrayToFloat32, tensorDims, tensorToArray,
  type TensorProto,
} from '@onnx-forge/core';
// The package's own entry point, so the script keeps working while the fp16 files move around.
import { convertToFp16 } from '../src/index.js';
import { formatOpsets, type ProbedKernelTable, type ProbedOp } from '../src/tables/fp16-kernel-table.js';
import { NODE_TEST_ROOT, listNodeTests, loadNodeTest } from '../src/testing/onnx-node-suite.js';

const here = dirname(fileURLToPath(import.meta.url));
const TABLE_FILE = resolve(here, '../src/tables/fp16-kernels-ort.generated.ts');
const MIN_OPSET = 7;
const MAX_OPSET = 21;
const TOLERANCE = 2e-2;

type Runtime = 'node' | 'web';

interface CaseResult {
  id: number;
  op: string;
  opset: number;
  source: string;
  /**
   * 'ok' | 'invalid' (the float16 model did not load: a type error) | 'run-error' | 'no-kernel' |
   * 'casts-inserted' (loaded and ran, but onnxruntime wrapped the node in float32 Casts)
   */
  status: string;
  detail: string;
  accurate: boolean;
}

/**
 * onnxruntime's own message, whole, without the frame each binding puts around it ("Can't create a
 * session. ERROR_CODE: 9, ERROR_MESSAGE: …" in onnxruntime-web, "Non-zero status code returned while
 * running X node. Name:'' Status Message: …" in onnxruntime-node), so both runtimes' reasons match.
 */
function ortMessage(raw: string): string {
  return raw
    .replace(/\s+/g, ' ')
    .replace(/^.*?ERROR_CODE: \d+, ERROR_MESSAGE: /, '')
    .replace(/^Non-zero status code returned while running \S+ node\. Name:'[^']*' Status Message: /, '')
    .trim();
}

// ------------------------------------------------------------------------------------------ child

interface OrtLike {
  InferenceSession: { create(bytes: Uint8Array, options: Record<string, unknown>): Promise<SessionLike> };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => unknown;
  env: { wasm?: { numThreads?: number } };
}
interface SessionLike {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { type: string; dims: readonly number[]; data: ArrayLike<unknown> }>>;
  release(): Promise<void>;
}

const ORT_TYPE: Partial<Record<number, string>> = {
  [DataType.FLOAT]: 'float32', [DataType.FLOAT16]: 'float16', [DataType.DOUBLE]: 'float64', [DataType.INT8]: 'int8',
  [DataType.UINT8]: 'uint8', [DataType.INT16]: 'int16', [DataType.UINT16]: 'uint16', [DataType.INT32]: 'int32',
  [DataType.UINT32]: 'uint32', [DataType.INT64]: 'int64', [DataType.UINT64]: 'uint64', [DataType.BOOL]: 'bool',
};

interface Feed { type: string; dims: number[]; data: ArrayLike<unknown> }

function feedOf(t: TensorProto): Feed | undefined {
  const type = ORT_TYPE[t.dataType];
  if (!type) return undefined;
  return { type, dims: tensorDims(t), data: tensorToArray(t).slice() };
}

function asNumbers(o: { type: string; data: ArrayLike<unknown> }): number[] {
  const d = o.data as ArrayLike<number | bigint | boolean>;
  if (o.type === 'float16') return Array.from(float16ArrayToFloat32(d as ArrayLike<number>));
  return Array.from(d, (v) => Number(v));
}

function close(a: number[], b: number[], tol: number): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Number.isNaN(y) ? !Number.isNaN(x) : !Number.isFinite(y) ? x !== y : !(Math.abs(x - y) <= tol + tol * Math.abs(y))) return false;
  }
  return true;
}

/** One-node models for ops the node test suite does not cover (or covers only non-deterministically). */
function syntheticCases(): { name: string; opset: number; model: Model; feeds: Record<string, Feed>; deterministic: boolean }[] {
  const out: ReturnType<typeof syntheticCases> = [];
  const x24 = (): Feed => ({ type: 'float32', dims: [2, 4], data: Float32Array.from({ length: 8 }, (_, i) => (i - 3) / 4) });
  const add = (name: string, opset: number, build: (b: ModelBuilder) => void, feeds: Record<string, Feed>, deterministic = true, opsets?: Record<string, number>) => {
    const b = new ModelBuilder(opsets ? { opset, opsets } : { opset });
    build(b);
    out.push({ name, opset, model: b.build(), feeds, deterministic });
  };
  for (const opset of [13, 17]) {
    add(`synthetic_random_normal_${opset}`, opset, (b) => b.output(b.op('RandomNormal', [], { shape: [2, 4], seed: attr.float('seed', 1) }), 'float32', [2, 4]), {}, false);
    add(`synthetic_random_uniform_${opset}`, opset, (b) => b.output(b.op('RandomUniform', [], { shape: [2, 4], seed: attr.float('seed', 1) }), 'float32', [2, 4]), {}, false);
    add(`synthetic_random_normal_like_${opset}`, opset, (b) => b.output(b.op('RandomNormalLike', [b.input('x', 'float32', [2, 4])], { seed: attr.float('seed', 1) }), 'float32', [2, 4]), { x: x24() }, false);
    add(`synthetic_random_uniform_like_${opset}`, opset, (b) => b.output(b.op('RandomUniformLike', [b.input('x', 'float32', [2, 4])], { seed: attr.float('seed', 1) }), 'float32', [2, 4]), { x: x24() }, false);
    add(`synthetic_multinomial_${opset}`, opset, (b) => b.output(b.op('Multinomial', [b.input('x', 'float32', [2, 4])], { sample_size: 3, seed: attr.float('seed', 1) }), 'int32', [2, 3]), { x: x24() }, false);
    add(`synthetic_cast_from_int64_${opset}`, opset, (b) => b.output(b.op('Cast', [b.input('x', 'int64', [3])], { to: DataType.FLOAT }), 'float32', [3]), { x: { type: 'int64', dims: [3], data: BigInt64Array.of(1n, 2n, 3n) } });
    add(`synthetic_bernoulli_${opset}`, Math.max(opset, 15), (b) => b.output(b.op('Bernoulli', [b.input('x', 'float32', [2, 4])], { seed: attr.float('seed', 1) }), 'float32', [2, 4]), { x: x24() }, false);
  }
  for (const opset of [18, 21]) {
    const c = opset >= 21 ? 4 : 2;
    add(`synthetic_group_normalization_${opset}`, opset, (b) => {
      const x = b.input('x', 'float32', [1, 4, 2, 2]);
      b.output(b.op('GroupNormalization', [x, b.constant(new Array(c).fill(1.5), 'float32', [c]), b.constant(new Array(c).fill(0.25), 'float32', [c])], { num_groups: 2 }), 'float32', [1, 4, 2, 2]);
    }, { x: { type: 'float32', dims: [1, 4, 2, 2], data: Float32Array.from({ length: 16 }, (_, i) => Math.sin(i)) } });
  }
  add('synthetic_gelu_20', 20, (b) => b.output(b.op('Gelu', [b.input('x', 'float32', [2, 4])]), 'float32', [2, 4]), { x: x24() });
  add('synthetic_layer_normalization_17', 17, (b) => {
    const x = b.input('x', 'float32', [2, 4]);
    b.output(b.op('LayerNormalization', [x, b.constant([1, 2, 3, 4], 'float32', [4]), b.constant([0, 0, 1, 1], 'float32', [4])], { axis: -1 }), 'float32', [2, 4]);
  }, { x: x24() });
  for (const op of ['Gelu', 'FastGelu', 'BiasGelu', 'QuickGelu']) {
    add(`synthetic_ms_${op}`, 17, (b) => {
      const x = b.input('x', 'float32', [2, 4]);
      const ins = op === 'Gelu' || op === 'QuickGelu' ? [x] : [x, b.constant([0.1, 0.2, 0.3, 0.4], 'float32', [4])];
      b.output(b.op(op, ins, {}, { domain: 'com.microsoft' }), 'float32', [2, 4]);
    }, { x: x24() }, true, { 'com.microsoft': 1 });
  }
  add('synthetic_ms_SkipLayerNormalization', 17, (b) => {
    const x = b.input('x', 'float32', [1, 2, 4]);
    const s = b.input('s', 'float32', [1, 2, 4]);
    b.output(b.op('SkipLayerNormalization', [x, s, b.constant([1, 1, 1, 1], 'float32', [4]), b.constant([0, 0, 0, 0], 'float32', [4])], {}, { domain: 'com.microsoft' }), 'float32', [1, 2, 4]);
  }, { x: { ...x24(), dims: [1, 2, 4] }, s: { ...x24(), dims: [1, 2, 4] } }, true, { 'com.microsoft': 1 });
  add('synthetic_ms_FusedMatMul', 17, (b) => {
    b.output(b.op('FusedMatMul', [b.input('x', 'float32', [2, 4]), b.constant(new Array(12).fill(0.5), 'float32', [4, 3])], { alpha: 1.0 }, { domain: 'com.microsoft' }), 'float32', [2, 3]);
  }, { x: x24() }, true, { 'com.microsoft': 1 });
  return out;
}

async function child(runtime: Runtime): Promise<void> {
  const ort = (runtime === 'node' ? await import('onnxruntime-node') : await import('onnxruntime-web')) as unknown as OrtLike;
  if (runtime === 'web' && ort.env.wasm) ort.env.wasm.numThreads = 1;
  const quiet = { logSeverityLevel: 3, graphOptimizationLevel: 'disabled' };
  const loud = { logSeverityLevel: 1, graphOptimizationLevel: 'disabled' };
  let id = 0;
  const emit = (r: CaseResult) => process.stdout.write(`${JSON.stringify(r)}\n`);
  const toTensors = (feeds: Record<string, Feed>) => Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.type, f.data, f.dims)]));

  const tryModel = async (model: Model, feeds: Record<string, Feed>, expected: (number[] | undefined)[] | undefined, source: string, deterministic: boolean) => {
    const fp32 = model.encode();
    let reference: number[][];
    try {
      const s = await ort.InferenceSession.create(fp32, quiet);
      const r = await s.run(toTensors(feeds));
      reference = s.outputNames.map((n) => asNumbers(r[n] as { type: string; data: ArrayLike<unknown> }));
      await s.release();
      if (expected && deterministic && !reference.every((v, i) => !expected[i] || close(v, expected[i] as number[], 1e-3))) return false;
    } catch {
      return false;
    }
    const node = model.graph.nodes[0];
    if (!node) return false;
    const converted = model.clone();
    // Unchecked: a test stamped at an older opset can be invalid there by the letter of the spec (a
    // Cast to string at opset 6) while onnxruntime runs it; the probe asks onnxruntime, not the checker.
    const report = await convertToFp16(converted, { keepIoTypes: false, target: 'any' }, { check: false });
    const decision = report.decisions.find((d) => d.graph === 'main' && d.opType === node.opType && d.action === 'converted');
    if (!decision) return true;
    // float16 inputs of the converted model take the float32 feeds rounded to float16.
    const feeds16: Record<string, Feed> = {};
    for (const input of converted.graph.inputs) {
      const f = feeds[input.name];
      if (!f) continue;
      feeds16[input.name] = input.type?.tensorType?.elemType === DataType.FLOAT16 && f.type === 'float32'
        ? { type: 'float16', dims: f.dims, data: float32ArrayToFloat16(f.data as Float32Array) }
        : f;
    }
    const result: CaseResult = { id: id++, op: node.domain ? `${node.domain}.${node.opType}` : node.opType, opset: model.opset('') ?? 0, source, status: 'ok', detail: '', accurate: true };
    process.stderr.write(`\n@@begin ${result.id}\n`);
    let session: SessionLike | undefined;
    try {
      session = await ort.InferenceSession.create(converted.encode(), loud);
    } catch (e) {
      const msg = String((e as Error).message ?? e);
      result.status = /Could not find an implementation|NOT_IMPLEMENTED|not implemented/i.test(msg) ? 'no-kernel' : 'invalid';
      result.detail = ortMessage(msg);
    }
    process.stderr.write(`\n@@end ${result.id}\n`);
    if (session) {
      try {
        const r = await session.run(toTensors(feeds16));
        const got = session.outputNames.map((n) => asNumbers(r[n] as { type: string; data: ArrayLike<unknown> }));
        result.accurate = !deterministic || got.every((v, i) => close(v, reference[i] as number[], TOLERANCE));
      } catch (e) {
        result.status = 'run-error';
        result.detail = ortMessage(String((e as Error).message ?? e));
      }
      await session.release();
    }
    emit(result);
    return true;
  };

  for (const name of listNodeTests()) {
    const tc = loadNodeTest(name);
    const base = Model.decode(readFileSync(tc.modelPath));
    if (base.graph.nodes.length !== 1 || base.proto.functions.length) continue;
    const node = base.graph.nodes[0];
    if (!node || (node.domain && node.domain !== 'ai.onnx')) continue;
    const ds = tc.dataSets[0];
    if (!ds) continue;
    const inputNames = base.graph.realInputNames();
    const feeds: Record<string, Feed> = {};
    let usable = true;
    inputNames.forEach((n, i) => {
      const t = ds.inputs[i];
      const f = t ? feedOf(t) : undefined;
      if (f) feeds[n] = f;
      else usable = false;
    });
    if (!usable) continue;
    const expected = ds.outputs.map((t) => (ORT_TYPE[t.dataType] ? asNumbers(feedOf(t) as Feed) : undefined));
    // Every opset at which the float32 model still loads and matches the test's outputs (tests
    // stamped before opset 7, such as Softplus at opset 1, are probed at the opsets models use).
    for (let v = MIN_OPSET; v <= MAX_OPSET; v++) {
      const m = Model.decode(readFileSync(tc.modelPath));
      m.setOpset('', v);
      await tryModel(m, feeds, expected, name, !name.includes('bernoulli'));
    }
  }
  for (const c of syntheticCases()) await tryModel(c.model, c.feeds, undefined, c.name, c.deterministic);
}

// ------------------------------------------------------------------------------------------ parent

function runChild(runtime: Runtime): Promise<CaseResult[]> {
  // The child's stderr goes to a file, not a pipe: onnxruntime-web writes its log through
  // emscripten, which drops lines when a busy parent lets the pipe fill up (EAGAIN).
  const dir = mkdtempSync(join(tmpdir(), `fp16-probe-${runtime}-`));
  const errPath = join(dir, 'stderr.log');
  const outPath = join(dir, 'stdout.jsonl');
  const errFd = openSync(errPath, 'w');
  const outFd = openSync(outPath, 'w');
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, ['--conditions=@onnx-forge/source', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', runtime], {
      stdio: ['ignore', outFd, errFd],
    });
    proc.on('close', (code) => {
      closeSync(errFd);
      closeSync(outFd);
      try {
        if (code !== 0) throw new Error(`probe child for ${runtime} exited with ${code}; see ${errPath}`);
        const results = readFileSync(outPath, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as CaseResult);
        const inserted = new Set<number>();
        let current: number | undefined;
        for (const line of readFileSync(errPath, 'utf8').split('\n')) {
          const mark = /^@@(begin|end) (\d+)$/.exec(line);
          if (mark) current = mark[1] === 'begin' ? Number(mark[2]) : undefined;
          else if (current !== undefined && line.includes('CastFloat16Transformer modified: 1')) inserted.add(current);
        }
        for (const r of results) {
          if (r.status === 'ok' && inserted.has(r.id)) r.status = 'casts-inserted';
        }
        rmSync(dir, { recursive: true, force: true });
        resolvePromise(results);
      } catch (e) {
        reject(e);
      }
    });
  });
}

const CASTS_INSERTED = 'onnxruntime inserted float32 Casts around it';

/** Why an op has no float16 kernel at an opset: what kind of failure, and onnxruntime's message. */
interface Failure {
  kind: 'casts-inserted' | 'no-kernel' | 'invalid' | 'run-error';
  message: string;
}

interface OpResult {
  yes?: string;
  no?: string;
  /** The failure at the lowest opset in `no`. */
  failure?: Failure;
}

function failureOf(r: CaseResult): Failure {
  switch (r.status) {
    case 'casts-inserted': return { kind: 'casts-inserted', message: CASTS_INSERTED };
    case 'no-kernel': return { kind: 'no-kernel', message: r.detail };
    case 'invalid': return { kind: 'invalid', message: `the float16 model does not load: ${r.detail}` };
    default: return { kind: 'run-error', message: `the float16 model loads but fails to run: ${r.detail}` };
  }
}

function tableFor(results: CaseResult[]): { table: Record<string, OpResult>; inaccurate: string[]; invalid: string[] } {
  const byOp = new Map<string, Map<number, CaseResult[]>>();
  for (const r of results) {
    let m = byOp.get(r.op);
    if (!m) byOp.set(r.op, (m = new Map()));
    let l = m.get(r.opset);
    if (!l) m.set(r.opset, (l = []));
    l.push(r);
  }
  const table: Record<string, OpResult> = {};
  const inaccurate: string[] = [];
  const invalid: string[] = [];
  for (const [op, m] of [...byOp].sort(([a], [b]) => a.localeCompare(b))) {
    const yes: number[] = [];
    const no: number[] = [];
    let failure: Failure | undefined;
    for (const [opset, rs] of [...m].sort(([a], [b]) => a - b)) {
      const bad = rs.find((r) => r.status !== 'ok');
      if (bad) {
        no.push(opset);
        failure ??= failureOf(bad);
        if (bad.status === 'invalid') invalid.push(`${op}@${opset} ${bad.source}: ${bad.detail}`);
      } else {
        yes.push(opset);
      }
      for (const r of rs) if (r.status === 'ok' && !r.accurate) inaccurate.push(`${op}@${opset} ${r.source}`);
    }
    const entry: OpResult = {};
    if (yes.length) entry.yes = formatOpsets(yes);
    if (no.length) {
      entry.no = formatOpsets(no);
      entry.failure = failure;
    }
    table[op] = entry;
  }
  return { table, inaccurate, invalid };
}

const kebab = (op: string) => op.replace(/\./g, '-').replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2').toLowerCase();

/**
 * A code for every distinct failure of both tables: 'casts-inserted' (the probe's own finding, one
 * message), else the kind and the first op (by name) that failed so ('no-kernel-eye-like').
 */
function reasonCodes(tables: readonly Record<string, OpResult>[]): { codeOf: (f: Failure) => string; reasons: Record<string, string> } {
  const firstOp = new Map<string, { failure: Failure; op: string }>();
  const id = (f: Failure) => `${f.kind}\u0000${f.message}`;
  for (const table of tables) {
    for (const [op, e] of Object.entries(table)) {
      if (!e.failure) continue;
      const seen = firstOp.get(id(e.failure));
      if (!seen || op.localeCompare(seen.op) < 0) firstOp.set(id(e.failure), { failure: e.failure, op });
    }
  }
  const distinct = [...firstOp.values()].sort((a, b) => a.failure.kind.localeCompare(b.failure.kind) || a.op.localeCompare(b.op) || a.failure.message.localeCompare(b.failure.message));
  const codes = new Map<string, string>();
  const reasons: Record<string, string> = {};
  for (const { failure, op } of distinct) {
    const base = failure.kind === 'casts-inserted' ? failure.kind : `${failure.kind}-${kebab(op)}`;
    let code = base;
    for (let n = 2; code in reasons; n++) code = `${base}-${n}`;
    reasons[code] = failure.message;
    codes.set(id(failure), code);
  }
  return { codeOf: (f) => codes.get(id(f)) ?? f.kind, reasons };
}

function probedOps(table: Record<string, OpResult>, codeOf: (f: Failure) => string): Record<string, ProbedOp> {
  return Object.fromEntries(
    Object.entries(table).map(([op, e]) => {
      const entry: ProbedOp = {};
      if (e.yes) entry.yes = e.yes;
      if (e.no) entry.no = e.no;
      if (e.failure) entry.why = codeOf(e.failure);
      return [op, entry];
    }),
  );
}

// Single quotes, or double quotes around a message that holds single quotes (onnxruntime's node names).
const quote = (s: string) => (s.includes("'") && !s.includes('"') ? JSON.stringify(s) : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
const propertyKey = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k));

/** The table as TypeScript: one line per op and per reason. */
function renderTable(data: ProbedKernelTable): string {
  const record = (name: string, entries: [string, string][]) => [`  ${name}: {`, ...entries.map(([k, v]) => `    ${propertyKey(k)}: ${v},`), '  },'];
  const opLine = (e: ProbedOp) => `{ ${[e.yes && `yes: ${quote(e.yes)}`, e.no && `no: ${quote(e.no)}`, e.why && `why: ${quote(e.why)}`].filter(Boolean).join(', ')} }`;
  const versions = Object.entries(data.runtime).map(([k, v]) => (k === 'platform' ? v : `${k} ${v}`)).join(', ');
  return [
    `// Generated by packages/graph-ops/scripts/probe-fp16-kernels.ts on ${data.generated} (${versions}). Do not edit:`,
    '// re-run it after upgrading onnxruntime: node --conditions=@onnx-forge/source --import tsx packages/graph-ops/scripts/probe-fp16-kernels.ts',
    "import type { ProbedKernelTable } from './fp16-kernel-table.js';",
    '',
    'export const ORT_FP16_PROBED: ProbedKernelTable = {',
    `  runtime: { ${Object.entries(data.runtime).map(([k, v]) => `${propertyKey(k)}: ${quote(v)}`).join(', ')} },`,
    `  generated: ${quote(data.generated)},`,
    `  method: ${quote(data.method)},`,
    ...record('reasons', Object.entries(data.reasons).map(([k, v]) => [k, quote(v)])),
    ...record('cpu', Object.entries(data.cpu).map(([k, v]) => [k, opLine(v)])),
    ...record('wasm', Object.entries(data.wasm).map(([k, v]) => [k, opLine(v)])),
    '};',
    '',
  ].join('\n');
}

function packageVersion(name: string): string {
  const require = createRequire(import.meta.url);
  try {
    const main = require.resolve(name);
    let dir = dirname(main);
    while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
    for (; dir !== dirname(dir); dir = dirname(dir)) {
      const p = join(dir, 'package.json');
      if (!existsSync(p)) continue;
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? '?';
    }
  } catch {
    // fall through
  }
  return '?';
}

async function parent(): Promise<void> {
  if (!existsSync(NODE_TEST_ROOT)) throw new Error(`the ONNX node tests are not installed at ${NODE_TEST_ROOT} (apt-get install libonnx-testdata)`);
  const t0 = performance.now();
  const [node, web] = await Promise.all([runChild('node'), runChild('web')]);
  const cpu = tableFor(node);
  const wasm = tableFor(web);
  const { codeOf, reasons } = reasonCodes([cpu.table, wasm.table]);
  const data: ProbedKernelTable = {
    runtime: {
      'onnxruntime-node': packageVersion('onnxruntime-node'),
      'onnxruntime-web': packageVersion('onnxruntime-web'),
      platform: `${process.platform}-${process.arch}`,
    },
    generated: new Date().toISOString().slice(0, 10),
    method: 'one-node float16 models (ONNX node tests at each opset 7-21 where float32 runs, plus built cases) loaded and run; no kernel when the load fails or onnxruntime inserts float32 Casts',
    reasons,
    cpu: probedOps(cpu.table, codeOf),
    wasm: probedOps(wasm.table, codeOf),
  };
  const text = renderTable(data);
  writeFileSync(TABLE_FILE, text);
  const summary = (label: string, results: CaseResult[], t: ReturnType<typeof tableFor>) => {
    const ops = Object.entries(t.table);
    const yes = ops.filter(([, e]) => e.yes).length;
    console.log(`${label}: ${results.length} float16 cases, ${ops.length} ops, ${yes} with a float16 kernel at some opset, ${ops.length - yes} without`);
    if (t.invalid.length) console.log(`  ${t.invalid.length} cases did not load for a reason other than a missing kernel:\n    ${t.invalid.slice(0, 30).join('\n    ')}`);
    if (t.inaccurate.length) console.log(`  ${t.inaccurate.length} cases ran in float16 but differ from float32 beyond ${TOLERANCE}: ${t.inaccurate.slice(0, 30).join(', ')}`);
  };
  summary('cpu (onnxruntime-node)', node, cpu);
  summary('wasm (onnxruntime-web)', web, wasm);
  console.log(`wrote ${TABLE_FILE} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) await child(process.argv[childIndex + 1] as Runtime);
else await parent();
