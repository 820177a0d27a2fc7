import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataType, Model, cosineSimilarity, onnx, tensorToArray, tensorType, type GraphProto, type NodeProto } from '@onnx-forge/core';
import * as ort from 'onnxruntime-node';
import { quantizeDynamic } from '../quant/int8-dynamic.js';
import type { Int8Isa } from '../quant/isa-forms.js';
import { exactDot, saturatingPairDot } from '../quant/saturation-check.js';
import type { RunnerFeeds } from '@onnx-forge/core';
import { QUANT_CASES, quantCaseFeeds, type QuantCase } from './quant-models.js';

/**
 * INT8 models run on whichever of onnxruntime's two x86 INT8 paths this process takes (VNNI, or the
 * saturating AVX2 one: tests run this under valgrind to get the other), compared with FP32 and with
 * plain-JavaScript references of both arithmetics on the very activations onnxruntime quantized.
 *
 * `prepare` (run natively) writes the FP32 model, its INT8 forms and instrumented copies whose
 * MatMulInteger inputs and int32 results are graph outputs; `measure` (run on the path under test)
 * loads them in onnxruntime-node and reports, per case and form, the cosine against FP32 and which
 * reference onnxruntime's integer products matched.
 */

/** The cases and forms measured: the builder models whose full-range INT8 lost accuracy on AVX2. */
export const PATH_CASES = ['mlp (MatMul)', 'transformer (MatMul, Gather)', 'Gemm with a run-time C', 'If subgraphs reading an outer weight'];
export const PATH_FORMS: readonly Int8Isa[] = ['portable', 'vnni'];
const SEEDS = [7, 8, 9];

function caseByName(name: string): QuantCase {
  const c = QUANT_CASES.find((x) => x.name === name);
  if (!c) throw new Error(`no quant case ${name}`);
  return c;
}

const fileName = (c: string, form: string) => `${c.replace(/[^a-z0-9]+/gi, '_')}.${form}.onnx`;

/** Where a probed MatMulInteger's A, A zero point and int32 result appear among the probe model's outputs. */
interface Probe {
  node: NodeProto;
  a: string;
  az: string;
  y: string;
  /** For a node inside an If branch: the If's condition and the branch (the probe counts only when it ran). */
  when?: { cond: string; branch: boolean };
}

const PROBE_TYPES = [DataType.UINT8, DataType.UINT8, DataType.INT32];
const probeValues = (node: NodeProto) => [node.input[0] ?? '', node.input[2] ?? '', node.output[0] ?? ''];

function branchGraph(node: NodeProto, name: string): GraphProto | undefined {
  return (node.attribute.find((a) => a.name === name)?.g as GraphProto | null | undefined) ?? undefined;
}

/**
 * A copy of `model` whose MatMulInteger nodes also output their A, A zero point and int32 result: those
 * of the main graph directly, those inside the branches of a main-graph If as extra outputs of both
 * branches (the k-th MatMulInteger of each, so the branches keep matching outputs) and of the If.
 */
function instrument(model: Model): { model: Model; probes: Probe[] } {
  const m = model.clone();
  const g = m.graph;
  const probes: Probe[] = [];
  const have = new Set(g.outputNames());
  const add = (name: string, type: number) => {
    if (!name || have.has(name)) return;
    have.add(name);
    g.outputs.push(new onnx.ValueInfoProto({ name, type: tensorType(type) }));
  };
  for (const node of g.nodes) {
    if (node.opType === 'MatMulInteger') {
      const [a, az, y] = probeValues(node) as [string, string, string];
      probeValues(node).forEach((v, i) => add(v, PROBE_TYPES[i] as number));
      probes.push({ node, a, az, y });
    }
    if (node.opType !== 'If') continue;
    const branches = [branchGraph(node, 'then_branch'), branchGraph(node, 'else_branch')];
    const found = branches.map((b) => (b?.node ?? []).filter((n: NodeProto) => n.opType === 'MatMulInteger'));
    const count = Math.min(...found.map((f) => f.length));
    for (let k = 0; k < count; k++) {
      const names = PROBE_TYPES.map((_, i) => `${node.name || 'If'}.probe${k}.${i}`);
      branches.forEach((b, bi) => {
        probeValues(found[bi]?.[k] as NodeProto).forEach((v, i) => b?.output?.push(new onnx.ValueInfoProto({ name: v, type: tensorType(PROBE_TYPES[i] as number) })));
      });
      node.output.push(...names);
      names.forEach((n, i) => add(n, PROBE_TYPES[i] as number));
      found.forEach((f, bi) => probes.push({ node: f[k] as NodeProto, a: names[0] as string, az: names[1] as string, y: names[2] as string, when: { cond: node.input[0] ?? '', branch: bi === 0 } }));
    }
  }
  g.invalidate();
  return { model: m, probes };
}

/** Writes every case's FP32 model, INT8 forms and instrumented copies into `dir`. */
export async function prepareInt8Paths(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const name of PATH_CASES) {
    const c = caseByName(name);
    const fp32 = c.build();
    writeFileSync(join(dir, fileName(name, 'fp32')), fp32.encode());
    for (const isa of PATH_FORMS) {
      const q = fp32.clone();
      await quantizeDynamic(q, { isa });
      writeFileSync(join(dir, fileName(name, isa)), q.encode());
      writeFileSync(join(dir, fileName(name, `${isa}.probe`)), instrument(q).model.encode());
    }
  }
}

export interface MatMulCheck {
  node: string;
  elements: number;
  /** Elements where onnxruntime's int32 result equals the exact sum / the saturating-pairs sum. */
  matchesExact: number;
  matchesSaturating: number;
  /** Elements where the two references differ (saturation changes the result). */
  referencesDiffer: number;
}

export interface PathResult {
  case: string;
  form: Int8Isa;
  /** Smallest cosine against FP32 over the outputs and seeds. */
  cosine: number;
  matmuls: MatMulCheck[];
}

function toOrt(feeds: RunnerFeeds): Record<string, ort.Tensor> {
  const t: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) t[k] = new ort.Tensor(v.type as ort.Tensor.Type, v.data as ort.Tensor.DataType, v.dims);
  return t;
}

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
}

/**
 * Checks every probed MatMulInteger's int32 result against both references, element by element (a
 * node in an If branch when its branch ran for these feeds).
 */
function checkMatMuls(probes: readonly Probe[], model: Model, feeds: RunnerFeeds, out: ort.InferenceSession.OnnxValueMapType): MatMulCheck[] {
  return probes
    .filter((p) => !p.when || Boolean((feeds[p.when.cond]?.data as Uint8Array | undefined)?.[0]) === p.when.branch)
    .map((p) => checkOne(model, p, out));
}

function checkOne(model: Model, probe: Probe, out: ort.InferenceSession.OnnxValueMapType): MatMulCheck {
  const node = probe.node;
  const [, bName = '', , bzName = ''] = node.input;
  const a = out[probe.a]?.data as Uint8Array;
  const y = out[probe.y]?.data as Int32Array;
  const az = Number((out[probe.az]?.data as Uint8Array)[0]);
  const bTensor = model.graph.resolveInitializer(bName)?.tensor;
  const bzTensor = bzName ? model.graph.resolveInitializer(bzName)?.tensor : undefined;
  if (!bTensor) throw new Error(`MatMulInteger ${node.name}: B is not an initializer`);
  const [K = 0, N = 0] = bTensor.dims.map(Number);
  const b = Int32Array.from(tensorToArray(bTensor) as ArrayLike<number>);
  const bz = bzTensor ? Int32Array.from(tensorToArray(bzTensor) as ArrayLike<number>) : new Int32Array(1);
  const rows = a.length / K;
  const check: MatMulCheck = { node: node.name, elements: rows * N, matchesExact: 0, matchesSaturating: 0, referencesDiffer: 0 };
  const colSum = new Float64Array(N);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) colSum[n] = (colSum[n] as number) + (b[k * N + n] as number);
  for (let r = 0; r < rows; r++) {
    let rowSum = 0;
    for (let k = 0; k < K; k++) rowSum += a[r * K + k] as number;
    for (let n = 0; n < N; n++) {
      const zb = (bz.length > 1 ? bz[n] : bz[0]) as number;
      // The kernels multiply raw codes and subtract the zero-point terms afterwards.
      const correction = -az * (colSum[n] as number) - zb * rowSum + K * az * zb;
      const exact = exactDot(a, b, r * K, 1, n, N, K) + correction;
      const saturating = saturatingPairDot(a, b, r * K, 1, n, N, K) + correction;
      const got = y[r * N + n] as number;
      if (got === exact) check.matchesExact++;
      if (got === saturating) check.matchesSaturating++;
      if (exact !== saturating) check.referencesDiffer++;
    }
  }
  return check;
}

/** Runs every prepared case and form in onnxruntime-node (on this process's INT8 path). */
export async function measureInt8Paths(dir: string): Promise<PathResult[]> {
  const results: PathResult[] = [];
  for (const name of PATH_CASES) {
    const c = caseByName(name);
    const fp32Bytes = readFileSync(join(dir, fileName(name, 'fp32')));
    const fp32Model = Model.decode(fp32Bytes);
    const feeds = SEEDS.map((s) => quantCaseFeeds(c, fp32Model, s));
    const ref = await session(fp32Bytes);
    const want = [];
    for (const f of feeds) want.push(await ref.run(toOrt(f)));
    await ref.release();
    for (const form of PATH_FORMS) {
      const s = await session(readFileSync(join(dir, fileName(name, form))));
      let cosine = 1;
      for (let i = 0; i < feeds.length; i++) {
        const got = await s.run(toOrt(feeds[i] as RunnerFeeds));
        for (const o of ref.outputNames) cosine = Math.min(cosine, cosineSimilarity(want[i]?.[o]?.data as Float32Array, got[o]?.data as Float32Array));
      }
      await s.release();
      // The probes of the prepared copy, named again from the INT8 model (instrument is deterministic).
      const { model: probeModel, probes } = instrument(Model.decode(readFileSync(join(dir, fileName(name, form)))));
      const p = await session(readFileSync(join(dir, fileName(name, `${form}.probe`))));
      const matmuls: MatMulCheck[] = [];
      for (const f of feeds) {
        for (const m of checkMatMuls(probes, probeModel, f, await p.run(toOrt(f)))) {
          const prev = matmuls.find((x) => x.node === m.node);
          if (!prev) matmuls.push(m);
          else for (const k of ['elements', 'matchesExact', 'matchesSaturating', 'referencesDiffer'] as const) prev[k] += m[k];
        }
      }
      await p.release();
      results.push({ case: name, form, cosine, matmuls });
    }
  }
  return results;
}

