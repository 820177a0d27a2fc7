import {
  DataType, firstJsepMiscompute, tensorElementCount, type PassContext,
  type Graph, type Model, type NodeProto,
} from '@onnx-forge/core';
import { INT8_METADATA } from './isa-forms.js';
import { checkNodeList } from '../options/model-lists.js';
import { selectNode } from './node-selection.js';
import { float16Weights, float16WeightsMessage } from './float16-weights.js';
import { findConstant } from './quant-graph.js';
import type { QuantOptions } from './quant-options.js';
import type { QuantSession } from './quant-session.js';

/** Steps both INT8 passes share around their rewrites: coverage, the nothing-done check, the report. */

/** Position of the weight input of the ops whose weights count for coverage. */
export const WEIGHT_INPUT: Readonly<Record<string, number>> = { MatMul: 1, Gemm: 1, Conv: 1 };

/** Counts a MatMul/Conv/Gemm weight the pass left alone, so coverage reflects it. */
export function countUncovered(s: QuantSession, graph: Graph, node: NodeProto): void {
  const index = WEIGHT_INPUT[node.opType];
  if (index === undefined || node.domain) return;
  const ref = s.constant(graph, node.input[index] ?? '');
  if (ref && ref.tensor.dataType === DataType.FLOAT) s.rec.weight(s.coverageKey(ref), tensorElementCount(ref.tensor));
}

/**
 * Whether a pass may rewrite `node`: the options select it and it is outside a model-local function
 * (which cannot hold the quantized weights' initializers). When not, the node gets its decision with
 * the reason and its weight counts as uncovered.
 */
export function admitNode(s: QuantSession, graph: Graph, node: NodeProto, options: QuantOptions): boolean {
  const sel = selectNode(node, options);
  if (!sel.ok) {
    if (sel.applicable) s.rec.skipped(graph, node, sel.reason);
    else s.rec.notApplicable(graph, node, sel.reason);
    countUncovered(s, graph, node);
    return false;
  }
  if (graph.isFunction) {
    s.rec.skipped(graph, node, 'inside a model-local function, which cannot hold initializers for the quantized weights');
    countUncovered(s, graph, node);
    return false;
  }
  return true;
}

/** Quantized ops of the ONNX and onnxruntime domains: a model holding them is already quantized. */
const QUANTIZED_OPS = new Set([
  'MatMulInteger', 'ConvInteger', 'QLinearMatMul', 'QLinearConv', 'DynamicQuantizeLinear', 'QuantizeLinear',
  'DynamicQuantizeMatMul', 'MatMulIntegerToFloat', 'QAttention', 'QGemm', 'MatMulNBits', 'DynamicQuantizeLSTM', 'GatherBlockQuantized',
]);

/** Counts of the quantized ops a model already holds (by op type), empty when it holds none. */
export function quantizedOps(model: Model): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { node } of model.allNodes()) if (QUANTIZED_OPS.has(node.opType)) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  return counts;
}

/** Position of the constant weight each quantizable op reads (LSTM/GRU: W; R is checked by the pass). */
const CANDIDATE_WEIGHT: Readonly<Record<string, number>> = { MatMul: 1, Gemm: 1, Conv: 1, Gather: 0, LSTM: 1, GRU: 1 };

/** What a quantizing pass selects, as the nothing-to-quantize check reads it (int8 and int4 alike). */
export interface QuantScope {
  pass: string;
  /** Input position of the constant weight each op the pass rewrites reads. */
  weightIndex: Readonly<Record<string, number>>;
  /** Whether the options select the node (op lists, node lists). */
  selected(node: NodeProto): boolean;
  ops: readonly string[];
  excludeOps: readonly string[];
  nodes: readonly string[];
  excludeNodes: readonly string[];
  target: string;
  /** More to say when no selected node has a float32 weight (int4: where its Gemm nodes go). */
  hint?: (model: Model) => string;
}

/** The INT8 passes' scope: the ops of `options`, selected as selectNode does. */
export function int8Scope(options: QuantOptions, pass: string): QuantScope {
  return { ...options, pass, weightIndex: CANDIDATE_WEIGHT, selected: (n) => selectNode(n, options).ok };
}

/** Whether some node the scope selects reads a constant float32 weight the pass could quantize. */
function hasCandidate(model: Model, scope: QuantScope): boolean {
  for (const { graph, node } of model.allNodes()) {
    const index = scope.weightIndex[node.opType];
    if (index === undefined || graph.isFunction || !scope.selected(node)) continue;
    if (findConstant(graph, node.input[index] ?? '')?.tensor.dataType === DataType.FLOAT) return true;
  }
  return false;
}

/** "A", "A or B", "A, B or C". */
const orList = (names: readonly string[]) => (names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : (names[0] ?? ''));

/**
 * Checked before anything changes: when no node can be quantized (no selected op with a float32
 * constant weight, or an already quantized model), says so as a warning and returns true; the pass
 * then leaves the model exactly as it was.
 */
export function nothingToQuantize(model: Model, ctx: PassContext, scope: QuantScope): boolean {
  const { pass } = scope;
  checkNodeList(model, pass, 'nodes', scope.nodes);
  checkNodeList(model, pass, 'excludeNodes', scope.excludeNodes);
  const half = float16Weights(model, scope.weightIndex, scope.selected);
  if (hasCandidate(model, scope)) {
    // Said once here: each such node's own decision only sees a weight computed at run time (the Cast).
    if (half) ctx.warn(float16WeightsMessage(pass, half, true));
    return false;
  }
  const held = Object.entries(quantizedOps(model)).map(([op, n]) => `${n} ${op}`).join(', ');
  const ops = orList(scope.ops.filter((o) => !scope.excludeOps.includes(o))) || '(no op types selected)';
  ctx.warn(
    half && !held ? float16WeightsMessage(pass, half) : held
      ? `${pass}: nothing to quantize: the model is already quantized (it holds ${held}) and has no float32 weight left that the options select; the model is unchanged`
      : `${pass}: nothing to quantize: the model has no ${ops} node with a constant float32 weight that the options select; the model is unchanged${scope.hint?.(model) ?? ''}`,
  );
  ctx.set('nothingToQuantize', held ? 'already quantized' : half ? 'float16 weights' : 'no eligible weights');
  if (held) ctx.set('alreadyQuantized', held);
  warnWebGpuMiscompute(model, scope.target, ctx, pass);
  return true;
}

/**
 * The end of an int8-dynamic or int8-static run: float constants no node reads any more are removed,
 * the decisions are final, and the outcome is recorded (a warning when no node was quantized, else the
 * integer form the weights got).
 */
export function finishInt8Run(s: QuantSession, model: Model, pass: string): void {
  s.releaseTouched();
  s.rec.finish();
  s.ctx.set('target', s.options.target);
  if (s.rec.quantizedNodes === 0) warnNothingQuantized(s, pass);
  else recordInt8Form(s, model);
  warnWebGpuMiscompute(model, s.options.target, s.ctx, pass);
}

/**
 * For target webgpu: a node of the output that onnxruntime-web's WebGPU computes wrong can only have
 * come with the model (the pass writes none), as in a model quantized elsewhere; says so, since the
 * runtime will run such a model on wasm.
 */
export function warnWebGpuMiscompute(model: Model, target: string, ctx: PassContext, pass: string): void {
  if (target !== 'webgpu') return;
  const wrong = firstJsepMiscompute(model);
  if (!wrong) return;
  ctx.warn(
    `${pass}: the model as given has ${wrong.opType} node '${wrong.node}', which onnxruntime-web's WebGPU computes wrong (${wrong.why}): ` +
      '@onnx-forge/runtime runs such a model on wasm; quantize its float32 original with target webgpu for a form WebGPU computes right',
  );
}

/** After a run that quantized no node (every candidate was skipped): a warning naming where the reasons are. */
function warnNothingQuantized(s: QuantSession, pass: string): void {
  s.ctx.warn(`${pass}: no node was quantized: every candidate was skipped (see each node's decision for its reason)`);
  s.ctx.set('nothingToQuantize', 'every candidate skipped');
}

/**
 * Records which integer range the weights got and why, as statistics and as model metadata (so a
 * runtime can tell whether the model stays accurate on a CPU without VNNI).
 */
function recordInt8Form(s: QuantSession, model: Model): void {
  s.ctx.set('isa', s.options.isa);
  s.ctx.set('weightRange', [...s.rangeReasons].join(' | ') || 'no weights quantized');
  s.ctx.set('saturationSafe', s.fullRangeIntegerInt8 ? 'no' : 'yes');
  model.setMetadata(INT8_METADATA.isa, s.options.isa);
  model.setMetadata(INT8_METADATA.saturationSafe, s.fullRangeIntegerInt8 ? 'no' : 'yes');
}
