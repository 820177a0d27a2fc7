import { DataType } from '../dtype.js';
import type { Graph } from '../ir/graph.js';
import { isDefaultDomain, type Model } from '../ir/model.js';
import { nodeLabel } from '../ir/node-label.js';
import type { NodeProto } from '../proto/types.js';
import { ELEM_TYPES } from './elem-types-analysis.js';

/**
 * Whether a model makes onnxruntime compute in float16, as opposed to only storing weights in it.
 * onnxruntime-web's WebGPU kernels for float16 tensors are WGSL shaders that need the adapter's
 * 'shader-f16' feature: without it they fail to compile, and onnxruntime still creates the session
 * and answers every run (with zeros), reporting the failure only as uncaught WebGPU validation errors
 * on the console. Weights stored in float16 and cast to float32 cost nothing there, because
 * onnxruntime folds such casts of constants into float32 initializers when it loads the model.
 */

/** A node that computes in float16, and the float16 value it reads or makes. */
export interface Float16Compute {
  readonly node: string;
  readonly opType: string;
  readonly value: string;
}

/**
 * Ops onnxruntime never folds: random ones, and the quantization pair, which it keeps for its QDQ
 * fusions (counting them as computed is the cautious side: a float16 one is then reported).
 */
const NEVER_FOLDED = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'QuantizeLinear', 'DequantizeLinear']);

/**
 * The first node of `model` that reads or makes a float16 tensor at run time, or undefined.
 * `foldsConstants` is whether onnxruntime's constant folding runs (every graph optimization level
 * but 'disabled'): a default-domain node whose inputs are all constants is then computed once at
 * load, on the CPU. Nodes onnxruntime would place on the CPU for want of a GPU kernel are counted as
 * well: a float16 value they share with GPU nodes still needs a float16 kernel on one side.
 */
export function firstFloat16Compute(model: Model, options: { readonly foldsConstants: boolean }): Float16Compute | undefined {
  const types = model.analysis(ELEM_TYPES);
  const visit = (graph: Graph, outer: ReadonlySet<string>): Float16Compute | undefined => {
    const constant = constantValues(graph, outer, options.foldsConstants);
    for (const node of graph.nodes) {
      if (isFolded(node, constant)) continue;
      for (const name of [...node.input, ...node.output]) {
        if (name !== '' && types.get(graph, name) === DataType.FLOAT16) return { node: nodeLabel(node), opType: node.opType, value: name };
      }
      for (const sub of graph.subgraphs(node)) {
        const found = visit(sub, constant);
        if (found) return found;
      }
    }
    return undefined;
  };
  return visit(model.graph, new Set());
}

/** A node whose outputs are all known constants was folded (or is a Constant, which loads as an initializer). */
function isFolded(node: NodeProto, constant: ReadonlySet<string>): boolean {
  const outputs = node.output.filter((o) => o !== '');
  return outputs.length > 0 && outputs.every((o) => constant.has(o));
}

function isConstantNode(node: NodeProto): boolean {
  return node.opType === 'Constant' && isDefaultDomain(node.domain);
}

function foldable(node: NodeProto): boolean {
  return isDefaultDomain(node.domain) && !NEVER_FOLDED.has(node.opType) && node.attribute.every((a) => !a.g && a.graphs.length === 0);
}

/**
 * Values known before any run: initializers that are not also graph inputs (a feed could replace
 * those), Constant outputs, values of enclosing graphs known so, and with folding, the outputs of
 * foldable nodes all of whose inputs are such values. Walked in data order, whatever the node order.
 */
function constantValues(graph: Graph, outer: ReadonlySet<string>, folds: boolean): Set<string> {
  const inputs = new Set(graph.inputNames());
  const constant = new Set(outer);
  for (const t of graph.initializers) if (!inputs.has(t.name)) constant.add(t.name);
  const waiting = new Map<NodeProto, number>();
  const readers = new Map<string, NodeProto[]>();
  const ready: NodeProto[] = [];
  for (const node of graph.nodes) {
    if (isConstantNode(node)) {
      ready.push(node);
      continue;
    }
    if (!folds || !foldable(node)) continue;
    const pending = [...new Set(node.input.filter((i) => i !== '' && !constant.has(i)))];
    // A node with no input at all makes something new on every run (or is not foldable anyway).
    if (node.input.every((i) => i === '')) continue;
    if (pending.length === 0) ready.push(node);
    else {
      waiting.set(node, pending.length);
      for (const i of pending) readers.set(i, [...(readers.get(i) ?? []), node]);
    }
  }
  for (let node = ready.pop(); node !== undefined; node = ready.pop()) {
    for (const o of node.output) {
      if (o === '' || constant.has(o)) continue;
      constant.add(o);
      for (const r of readers.get(o) ?? []) {
        const left = (waiting.get(r) ?? 0) - 1;
        waiting.set(r, left);
        if (left === 0) ready.push(r);
      }
    }
  }
  return constant;
}
