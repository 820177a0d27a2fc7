import { isDefaultDomain, nodeSubgraphs, type Graph, type NodeProto } from '@onnx-forge/core';
import type { Evaluator } from './evaluators/index.js';

/** What happened to one node whose inputs are all constants. */
export interface FoldDecision {
  node: NodeProto;
  action: 'folded' | 'kept';
  reason: string;
}

export interface FoldGraphOptions {
  /** The evaluators to use, by op type (those the options allow). */
  evaluators: ReadonlyMap<string, Evaluator>;
  /** Why an op the pass could evaluate is left alone (not among the options' ops). */
  excluded: (opType: string) => string | undefined;
}

/**
 * Whether `name` is an input of `graph` or of a graph enclosing it. Models of IR version 3 list
 * initializers among the inputs, and a caller may feed such an input, so its initializer is a default,
 * not a constant (onnxruntime does not fold it either).
 */
function isOverridable(graph: Graph, name: string): boolean {
  for (let g: Graph | undefined = graph; g; g = g.parent) {
    if (g.isGraphInput(name)) return true;
    if (g.definesLocally(name)) return false;
  }
  return false;
}

/**
 * Folds, in topological order, every node of `graph` whose inputs are all constants and whose op has
 * an evaluator: its outputs become initializers and the node goes, so a chain of such nodes folds
 * whole. Initializers only the folded nodes read are removed. Nodes that stay are reported with why.
 */
export function foldGraph(graph: Graph, options: FoldGraphOptions): FoldDecision[] {
  const decisions: FoldDecision[] = [];
  const read = new Set<string>();
  for (const node of [...graph.nodes]) {
    if (node.opType === 'Constant' && isDefaultDomain(node.domain)) continue;
    const names = node.input;
    if (names.every((n) => n === '')) continue; // no inputs (a generator such as RandomNormal): nothing to fold from
    const inputs = names.map((n) => (n === '' ? undefined : graph.constantValue(n)));
    if (inputs.some((t, i) => t === undefined && names[i] !== '')) continue;
    const keep = (reason: string) => decisions.push({ node, action: 'kept', reason });
    const fed = names.find((n) => n !== '' && isOverridable(graph, n));
    if (fed !== undefined) {
      keep(`its input "${fed}" is an initializer listed among the graph inputs (IR < 4), so a caller may feed it`);
      continue;
    }
    if (!isDefaultDomain(node.domain)) {
      keep(`inputs are constant, but ${node.domain}.${node.opType} is not an ai.onnx op the pass evaluates`);
      continue;
    }
    const excluded = options.excluded(node.opType);
    if (excluded) {
      keep(excluded);
      continue;
    }
    const evaluator = options.evaluators.get(node.opType);
    if (!evaluator) {
      keep(`inputs are constant, but the pass has no evaluator for ${node.opType}`);
      continue;
    }
    if (nodeSubgraphs(node).length) {
      keep(`${node.opType} holds subgraphs`);
      continue;
    }
    const output = node.output.find((o) => o !== '' && graph.isGraphOutput(o));
    if (output !== undefined) {
      keep(`its output "${output}" is an output of the graph`);
      continue;
    }
    const result = evaluator.evaluate(node, inputs, graph);
    if (!Array.isArray(result)) {
      keep(result.refused);
      continue;
    }
    graph.removeNode(node);
    for (const tensor of result) graph.addInitializer(tensor);
    for (const n of names) if (n !== '') read.add(n);
    decisions.push({ node, action: 'folded', reason: `inputs are constant: ${node.opType} evaluated with ${evaluator.how}` });
  }
  // Initializers and Constant nodes that only folded nodes read are dead now.
  for (const name of read) {
    if (graph.uses(name).length || graph.isGraphOutput(name) || graph.implicitConsumers(name).length) continue;
    if (!graph.removeInitializer(name)) {
      const producer = graph.producer(name);
      if (producer?.opType === 'Constant' && producer.output.every((o) => graph.uses(o).length === 0)) graph.removeNode(producer);
    }
  }
  return decisions;
}
