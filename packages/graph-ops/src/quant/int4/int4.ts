import {
  DataType, ForgeError, ForgeErrorCode, attrInt, createNode, definePass, dtypeName, isDefaultDomain, nodeLabel, runPass, tensorDims, tensorElementCount, lentView, withScratch, withTensorFloat32,
  type Graph, type Model, type NodeProto, type PassContext, type PassReport, type RunPassOptions, type TensorProto,
} from '@onnx-forge/core';
import { GraphEditor, findConstant, type ConstantRef } from '../quant-graph.js';
import { QuantRecorder, quantReportBase, type QuantReportBase } from '../quant-report.js';
import { nothingToQuantize, warnWebGpuMiscompute } from '../quant-run.js';
import { blockParams, packBlocks, type BlockLayout, type BlockParams } from './block-quantize.js';
import { INT4_TARGET_FORMS, WEBGPU_BUILD_WASM_GATHER, type Int4TargetForms } from './int4-forms.js';
import { INT4_OPS, INT4_OPTION_SPECS, checkInt4Options, type Int4Options } from './int4-options.js';

/**
 * `int4`: 4-bit weight-only quantization in onnxruntime's com.microsoft forms. MatMul with a constant
 * 2-D float32 weight becomes MatMulNBits (blocks along K, packed nibbles, a float32 scale per block,
 * packed 4-bit zero points when asymmetric); a Gather over a constant 2-D table (opt in with
 * ops=[MatMul,Gather]) becomes GatherBlockQuantized. Activations stay float. Every node gets a
 * decision with its reason.
 */
export const int4 = definePass<Int4Options>({
  name: 'int4',
  description: '4-bit weight-only quantization: MatMul -> MatMulNBits, Gather tables -> GatherBlockQuantized (com.microsoft)',
  options: INT4_OPTION_SPECS,
  check: checkInt4Options,
  run: (model, options, ctx) => {
    runInt4(model, options, ctx);
  },
});

const MS_DOMAIN = 'com.microsoft';

/** Bytes of weights the pass rewrote, before (float32) and after (codes, scales, zero points). */
export interface Int4Bytes {
  before: number;
  after: number;
  /** after / before (1 when nothing was rewritten). */
  ratio: number;
}

export interface Int4Report extends QuantReportBase {
  pass: 'int4';
  /** The MatMul weights that became MatMulNBits. */
  matmulWeights: Int4Bytes;
  /** The Gather tables that became GatherBlockQuantized. */
  gatherTables: Int4Bytes;
  /**
   * Squared error of the stored weights relative to round-to-nearest on the same blocks (1 for
   * `rtn`; below 1 when the search found better scales).
   */
  errorVsRtn: number;
}

/** A weight quantized once and shared by every node reading it. */
interface Stored {
  q: BlockParams;
  names: string[];
  bytes: number;
}

/**
 * How a weight is stored: where its rows are (the layout `blockParams` reads), the packed codes'
 * tensor made from `packBlocks`' output, and the other tensors (scales, zero points) from the params.
 */
interface StoredForm {
  layout: BlockLayout;
  /**
   * The stored codes: `packBlocks`' output as it is, or, with `from`, rearranged from it (into `into`,
   * lent memory, when given).
   */
  packed: { base: string; dims: (q: BlockParams) => number[]; from?: (codes: Uint8Array, q: BlockParams, into?: Uint8Array) => Uint8Array };
  others: (q: BlockParams) => [string, number, number[], Uint8Array | Float32Array][];
}

/** State of one run: editor, recorder, caches, byte counts. */
class Int4Run {
  readonly editor: GraphEditor;
  readonly rec: QuantRecorder;
  readonly forms: Int4TargetForms;
  readonly stored = new Map<string, Stored>();
  readonly touched: ConstantRef[] = [];
  readonly bytes = { matmul: { before: 0, after: 0 }, gather: { before: 0, after: 0 } };
  sse = 0;
  rtnSse = 0;

  constructor(readonly model: Model, readonly options: Int4Options, readonly ctx: PassContext) {
    this.editor = new GraphEditor(model);
    this.rec = new QuantRecorder(ctx);
    this.forms = INT4_TARGET_FORMS[options.target];
  }

  key(ref: ConstantRef, kind: string): string {
    return `${ref.owner.path}::${ref.name}|${kind}`;
  }
}

type Selection = { ok: true } | { ok: false; reason: string; applicable: boolean };

function select(node: NodeProto, o: Int4Options): Selection {
  if (!isDefaultDomain(node.domain)) return { ok: false, reason: `op ${node.domain}.${node.opType} is not an ONNX op the int4 pass quantizes`, applicable: false };
  if (!(INT4_OPS as readonly string[]).includes(node.opType)) {
    const hint = node.opType === 'Gemm' || node.opType === 'Conv' ? ' (int8-dynamic quantizes it)' : '';
    return { ok: false, reason: `${node.opType} is not quantized by int4, which rewrites ${INT4_OPS.join(' and ')}${hint}`, applicable: false };
  }
  if (!o.ops.includes(node.opType)) {
    const hint = node.opType === 'Gather' ? '; add it (ops=[MatMul,Gather]) to store constant tables 4-bit as GatherBlockQuantized' : '';
    return { ok: false, reason: `op type ${node.opType} is not in "ops" (${o.ops.join(', ') || 'empty'})${hint}`, applicable: true };
  }
  if (o.excludeOps.includes(node.opType)) return { ok: false, reason: `op type ${node.opType} is in "excludeOps"`, applicable: true };
  if (o.nodes.length && !o.nodes.includes(node.name)) return { ok: false, reason: 'node is not listed in "nodes"', applicable: true };
  if (o.excludeNodes.includes(node.name)) return { ok: false, reason: 'node is listed in "excludeNodes"', applicable: true };
  return { ok: true };
}

/** Input position of the constant each op reads: MatMul's B, Gather's table. */
const WEIGHT_INDEX: Readonly<Record<string, number>> = { MatMul: 1, Gather: 0 };

function layout(o: Int4Options, q: BlockParams): string {
  const zp = o.symmetric ? 'symmetric (no zero points: code 8 is zero)' : 'asymmetric (a 4-bit zero point per block)';
  const pad = q.cols % q.blockSize ? `, the last block padded from ${q.cols % q.blockSize}` : '';
  const search = o.method === 'search' && q.rtnSse > 0 ? `, scale search: squared error ${(q.sse / q.rtnSse).toFixed(3)} x round-to-nearest` : ', round to nearest';
  return `${q.blocks} block${q.blocks === 1 ? '' : 's'} of ${q.blockSize}${pad}, ${zp}${search}`;
}

/** Why a constant the node reads cannot be quantized, or its values. */
function constantOf(run: Int4Run, graph: Graph, node: NodeProto, index: number, what: string): { ref: ConstantRef; dims: number[] } | string {
  const name = node.input[index] ?? '';
  const ref = findConstant(graph, name);
  if (!ref) {
    if (node.opType === 'MatMul' && findConstant(graph, node.input[0] ?? '')) {
      return `${what} "${name}" is computed at run time and A is constant; MatMulNBits takes a constant B`;
    }
    return node.opType === 'MatMul'
      ? `both inputs are computed at run time (e.g. attention scores); MatMulNBits needs a constant weight`
      : `${what} "${name}" is computed at run time; only constant tables are quantized`;
  }
  if (ref.tensor.dataType !== DataType.FLOAT) return `${what} "${name}" is ${dtypeName(ref.tensor.dataType)}; int4 quantizes float32 weights (run fp16 after int4, not before)`;
  return { ref, dims: tensorDims(ref.tensor) };
}

/**
 * The packed codes of a weight, from its float values when the writer reaches it. Made outside
 * `store`, so the function kept until then holds the form and the scales, not the values `store`
 * read (a closure made there would keep them alive through their shared scope).
 */
function codesOf(form: StoredForm, q: BlockParams): (src: TensorProto, into?: Uint8Array) => Uint8Array {
  return (src, into) => withTensorFloat32(src, (values) => packedCodes(form, values, q, into));
}

/** The stored codes of a weight's values: in `into` (the writer's lent memory) when given. */
function packedCodes(form: StoredForm, values: Float32Array, q: BlockParams, into?: Uint8Array): Uint8Array {
  const from = form.packed.from;
  if (!from) return packBlocks(values, form.layout, q, into);
  if (!into) return from(packBlocks(values, form.layout, q), q);
  return withScratch(q.rows * q.blocks * (q.blockSize / 2), (codes) => from(packBlocks(values, form.layout, q, codes), q, into));
}

function store(run: Int4Run, ref: ConstantRef, key: string, form: StoredForm): Stored | string {
  const hit = run.stored.get(key);
  if (hit) return hit;
  // The values are lent for this call only (a weight in its file is read into reused memory): the
  // eager producer below runs inside it, and nothing else keeps them.
  return withTensorFloat32(ref.tensor, (data) => storeValues(run, ref, key, form, data));
}

function storeValues(run: Int4Run, ref: ConstantRef, key: string, form: StoredForm, data: Float32Array): Stored | string {
  const o = run.options;
  // Scales and zero points now: the graph needs them, and they are small.
  const q = blockParams(data, form.layout, { blockSize: o.blockSize, symmetric: o.symmetric, method: o.method });
  if (!q.finite) return `the weight "${ref.name}" holds NaN or infinite values; a 4-bit scale cannot represent them`;
  const dims = form.packed.dims(q);
  // The codes (the weight's size / 8): made now from the values in hand for a weight in memory, or
  // from the float weight when the writer reaches them for one streamed from its file.
  const names = [run.editor.derivedTensor(ref.owner, form.packed.base, DataType.UINT8, dims, ref.tensor, codesOf(form, q), () => packedCodes(form, data, q))];
  let bytes = dims.reduce((n, d) => n * d, 1);
  for (const [base, dt, tdims, values] of form.others(q)) {
    names.push(run.editor.tensor(ref.owner, base, dt, tdims, values));
    bytes += values.byteLength;
  }
  run.sse += q.sse;
  run.rtnSse += q.rtnSse;
  const s: Stored = { q, names, bytes };
  run.stored.set(key, s);
  return s;
}

const safeBase = (name: string) => name.replace(/[^A-Za-z0-9_.:/-]/g, '_');

function quantizeMatMul(run: Int4Run, graph: Graph, node: NodeProto): void {
  const o = run.options;
  const c = constantOf(run, graph, node, 1, 'the weight');
  if (typeof c === 'string') {
    run.rec.skipped(graph, node, c);
    return;
  }
  const { ref, dims } = c;
  if (dims.length !== 2) {
    run.rec.skipped(graph, node, `the weight "${ref.name}" is ${dims.length}-D [${dims.join(', ')}]; MatMulNBits takes a 2-D [K, N] weight`);
    return;
  }
  const key = run.key(ref, 'matmul');
  run.rec.weight(key, tensorElementCount(ref.tensor));
  if (!run.forms.matmulNBits) {
    run.rec.skipped(graph, node, `target ${o.target} has no MatMulNBits kernel`);
    return;
  }
  const [K, N] = dims as [number, number];
  const fresh = !run.stored.has(key);
  const base = safeBase(ref.name);
  const s = store(run, ref, key, {
    // Rows of the packed form are the N columns of the [K, N] weight: stride 1 between rows, N along K.
    layout: { rows: N, cols: K, rowStride: 1, colStride: N },
    packed: { base: `${base}_Q4`, dims: (q) => [N, q.blocks, o.blockSize / 2] },
    others: (q) => [
      // Scales and zero points 1-D, as onnxruntime's own quantizer writes them (1.30 also takes [N, blocks]).
      [`${base}_scales`, DataType.FLOAT, [N * q.blocks], q.scales],
      ...(q.zeroPoints ? [[`${base}_zero_points`, DataType.UINT8, [q.zeroPoints.length], q.zeroPoints] as [string, number, number[], Uint8Array]] : []),
    ],
  });
  if (typeof s === 'string') {
    run.rec.skipped(graph, node, s);
    return;
  }
  if (fresh) {
    run.bytes.matmul.before += K * N * 4;
    run.bytes.matmul.after += s.bytes;
  }
  const attributes: Record<string, number> = { K, N, bits: 4, block_size: o.blockSize };
  if (o.accuracyLevel) attributes.accuracy_level = o.accuracyLevel;
  const replacement = createNode('MatMulNBits', [node.input[0] ?? '', ...s.names], [...node.output], {
    name: run.editor.name(node.name ? `${node.name}_Q4` : 'MatMulNBits'),
    domain: MS_DOMAIN,
    attributes,
  });
  graph.replaceNode(node, [replacement]);
  run.touched.push(ref);
  run.rec.weightQuantized(key);
  run.rec.quantized(graph, node, `MatMulNBits: weight [${K}, ${N}] in ${layout(o, s.q)}${o.accuracyLevel ? `; accuracy_level ${o.accuracyLevel}` : ''}`);
}

function quantizeGather(run: Int4Run, graph: Graph, node: NodeProto): void {
  const o = run.options;
  const c = constantOf(run, graph, node, 0, 'the table');
  if (typeof c === 'string') {
    run.rec.skipped(graph, node, c);
    return;
  }
  const { ref, dims } = c;
  if (dims.length !== 2) {
    run.rec.skipped(graph, node, `the table "${ref.name}" is ${dims.length}-D; GatherBlockQuantized with packed uint8 data is used for 2-D tables here`);
    return;
  }
  const axis = attrInt(node, 'axis', 0);
  if (axis !== 0 && axis !== -2) {
    run.rec.skipped(graph, node, `gathers along axis ${axis}; onnxruntime's GatherBlockQuantized with packed uint8 data gathers rows only (gather_axis 0)`);
    return;
  }
  const [rows, cols] = dims as [number, number];
  if (cols % 2) {
    run.rec.skipped(graph, node, `rows of ${cols} values cannot be packed two 4-bit codes per byte (GatherBlockQuantized's uint8 data is [rows, cols / 2])`);
    return;
  }
  if (!run.forms.gatherBlockQuantized) {
    run.rec.skipped(graph, node, `target ${o.target} has no GatherBlockQuantized kernel`);
    return;
  }
  const blocks = Math.ceil(cols / o.blockSize);
  if (!o.symmetric && blocks % 2 && run.forms.flatGatherZeroPoints) {
    run.rec.skipped(graph, node,
      `asymmetric rows of ${blocks} blocks: onnxruntime's WebGPU GatherBlockQuantized reads 4-bit zero points without the per-row byte padding its CPU kernel requires, so an odd block count per row gives wrong rows there (target ${o.target}); use symmetric or target cpu/wasm`);
    return;
  }
  const key = run.key(ref, 'gather');
  const fresh = !run.stored.has(key);
  const base = safeBase(ref.name);
  const s = store(run, ref, key, {
    layout: { rows, cols, rowStride: cols, colStride: 1 },
    packed: {
      base: `${base}_Q4`,
      dims: () => [rows, cols / 2],
      // GatherBlockQuantized's data is the rows packed without block padding: [rows, cols / 2].
      from: (codes, q, into) => {
        const blob = (q.blocks * o.blockSize) / 2;
        const size = (rows * cols) / 2;
        const packed = lentView(into, Uint8Array, size) ?? new Uint8Array(size);
        for (let r = 0; r < rows; r++) packed.set(codes.subarray(r * blob, r * blob + cols / 2), (r * cols) / 2);
        return packed;
      },
    },
    others: (q) => [
      [`${base}_scales`, DataType.FLOAT, [rows, q.blocks], q.scales],
      ...(q.zeroPoints ? [[`${base}_zero_points`, DataType.UINT8, [rows, Math.ceil(q.blocks / 2)], q.zeroPoints] as [string, number, number[], Uint8Array]] : []),
    ],
  });
  if (typeof s === 'string') {
    run.rec.skipped(graph, node, s);
    return;
  }
  if (fresh) {
    run.bytes.gather.before += rows * cols * 4;
    run.bytes.gather.after += s.bytes;
  }
  const [data, scales, zeroPoints] = s.names as [string, string, string | undefined];
  const replacement = createNode('GatherBlockQuantized', [data, node.input[1] ?? '', scales, ...(zeroPoints ? [zeroPoints] : [])], [...node.output], {
    name: run.editor.name(node.name ? `${node.name}_Q4` : 'GatherBlockQuantized'),
    domain: MS_DOMAIN,
    attributes: { gather_axis: 0, quantize_axis: 1, block_size: o.blockSize, bits: 4 },
  });
  const others = ref.owner.consumers(ref.name).filter((u) => u !== node && u.opType !== 'Gather');
  graph.replaceNode(node, [replacement]);
  run.touched.push(ref);
  const kept = others.length ? `; the float table stays too, for ${others.slice(0, 2).map(nodeLabel).join(', ')}` : '';
  run.rec.quantized(graph, node, `GatherBlockQuantized: table [${rows}, ${cols}] in ${layout(o, s.q)}${kept}`);
}

/**
 * What a model with no MatMul to quantize may still hold: Gemm nodes with a constant weight, which
 * MatMulNBits does not replace and 8-bit quantization does ("" when there are none).
 */
function gemmHint(model: Model): string {
  let gemms = 0;
  for (const g of model.graphs()) for (const n of g.nodes) if (n.opType === 'Gemm' && g.resolveInitializer(n.input[1] ?? '')) gemms++;
  return gemms ? `; its ${gemms} Gemm node${gemms === 1 ? '' : 's'} with a constant weight ${gemms === 1 ? 'is' : 'are'} quantized by 8-bit quantize (int8-dynamic), not by 4-bit MatMulNBits` : '';
}

/** Runs the int4 pass in place (options already validated and defaulted). */
export function runInt4(model: Model, options: Int4Options, ctx: PassContext): void {
  if (nothingToQuantize(model, ctx, { ...options, pass: 'int4', weightIndex: WEIGHT_INDEX, selected: (n) => select(n, options).ok, hint: gemmHint })) return;
  const run = new Int4Run(model, options, ctx);
  const graphs = [...model.graphs()];
  const total = graphs.reduce((n, g) => n + g.nodes.length, 0);
  let done = 0;
  for (const graph of graphs) {
    for (const node of [...graph.nodes]) {
      if (++done % 16 === 0) {
        if (ctx.signal?.aborted) throw new ForgeError(ForgeErrorCode.CANCELLED, 'int4 cancelled');
        ctx.progress(done, total, node.name);
      }
      const sel = select(node, options);
      if (!sel.ok) {
        if (sel.applicable) run.rec.skipped(graph, node, sel.reason);
        else run.rec.notApplicable(graph, node, sel.reason);
        continue;
      }
      if (graph.isFunction) {
        run.rec.skipped(graph, node, 'inside a model-local function, which cannot hold initializers for the quantized weights');
        continue;
      }
      if (node.opType === 'MatMul') quantizeMatMul(run, graph, node);
      else quantizeGather(run, graph, node);
    }
  }
  ctx.progress(total, total);
  // Float originals no node reads any more go; shared or still-read ones stay.
  const seen = new Set<string>();
  for (const ref of run.touched) {
    const k = `${ref.owner.path}::${ref.name}`;
    if (seen.has(k)) continue;
    seen.add(k);
    if (run.editor.isUnused(ref)) run.editor.remove(ref);
  }
  run.rec.finish();
  if (run.rec.quantizedNodes > 0) model.ensureOpset(MS_DOMAIN, 1);
  else {
    ctx.warn('int4: no node was quantized: every candidate was skipped (see each node\'s decision for its reason)');
    ctx.set('nothingToQuantize', 'every candidate skipped');
  }
  const m = run.bytes.matmul;
  const g = run.bytes.gather;
  ctx.set('matmulWeightBytesBefore', m.before);
  ctx.set('matmulWeightBytesAfter', m.after);
  ctx.set('matmulWeightRatio', m.before ? Number((m.after / m.before).toFixed(6)) : 1);
  ctx.set('gatherTableBytesBefore', g.before);
  ctx.set('gatherTableBytesAfter', g.after);
  ctx.set('errorVsRtn', run.rtnSse > 0 ? Number((run.sse / run.rtnSse).toFixed(6)) : 1);
  ctx.set('target', options.target);
  if (options.accuracyLevel === 4) ctx.set('accuracyLevel4', run.forms.int8Compute);
  if (options.accuracyLevel === 4 && options.target === 'wasm') ctx.warn(`int4: accuracyLevel 4 on wasm: ${run.forms.int8Compute}`);
  const limit = run.forms.maxBlockSize;
  if (limit && !limit.refuse && options.blockSize > limit.size && run.rec.quantizedNodes > 0) {
    ctx.warn(`int4: blockSize ${options.blockSize} with target ${options.target}, which includes webgpu: ${limit.why}; use blockSize 16 or 32, or target cpu or wasm`);
  }
  if (g.before > 0 && (options.target === 'wasm' || options.target === 'any' || options.target === 'webgpu')) {
    ctx.warn(`int4: tables stored 4-bit as GatherBlockQuantized for target ${options.target}: ${WEBGPU_BUILD_WASM_GATHER}; for that build keep tables float (ops=[MatMul]) or 8-bit (int8-dynamic)`);
  }
  warnWebGpuMiscompute(model, options.target, ctx, 'int4');
}

/** An Int4Report from the int4 pass's report and the model it rewrote. */
export function int4Report(r: PassReport, model: Model): Int4Report {
  const stat = (k: string) => Number(r.stats[k] ?? 0);
  const bytes = (before: number, after: number): Int4Bytes => ({ before, after, ratio: before ? after / before : 1 });
  return {
    ...quantReportBase(r, model),
    pass: 'int4',
    matmulWeights: bytes(stat('matmulWeightBytesBefore'), stat('matmulWeightBytesAfter')),
    gatherTables: bytes(stat('gatherTableBytesBefore'), stat('gatherTableBytesAfter')),
    errorVsRtn: r.stats.errorVsRtn === undefined ? 1 : stat('errorVsRtn'),
  };
}

/**
 * 4-bit weight-only quantization of `model` in place, outside a pipeline: the int4 pass run alone
 * (options validated and defaulted as in a pipeline); the report lists every node's decision.
 */
export async function quantizeInt4(model: Model, options: Partial<Int4Options> = {}, run: RunPassOptions = {}): Promise<Int4Report> {
  return int4Report(await runPass(int4(options), model, run), model);
}
