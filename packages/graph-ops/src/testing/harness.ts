import { Model, Rng, checkModel, type NodeProto } from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import type { ModelRunner, RunnerTensor } from '@onnx-forge/core';

/** onnxruntime-node (cpu) and onnxruntime-web (wasm, in Node), quiet. */
export const BACKENDS: { name: 'node' | 'web'; runner: ModelRunner }[] = [
  { name: 'node', runner: new OrtRunner({ sessionOptions: { logSeverityLevel: 4 } }) },
  { name: 'web', runner: new OrtRunner({ backend: 'web', sessionOptions: { logSeverityLevel: 4 } }) },
];

export const nodeRunner = (BACKENDS[0] as { runner: ModelRunner }).runner;

/** What `runOnce` needs: a ModelRunner, or the direct onnxruntime sessions of `ort-sessions.ts`. */
export interface Loader<F, O> {
  load(model: Uint8Array): Promise<{ run(feeds: F): Promise<O>; release(): Promise<void> }>;
}

/** Loads, runs once and releases. */
export async function runOnce<F, O>(runner: Loader<F, O>, model: Model | Uint8Array, feeds: F): Promise<O> {
  const loaded = await runner.load(model instanceof Uint8Array ? model : model.encode());
  try {
    return await loaded.run(feeds);
  } finally {
    await loaded.release();
  }
}

export function f32(dims: number[], values: ArrayLike<number>): RunnerTensor {
  return { type: 'float32', dims, data: Float32Array.from(values) };
}

/** Seeded values, roughly normal with the given spread. */
export function seeded(n: number, seed = 1, std = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal(0, std));
}

/** Throws with the checker's messages when the model breaks an ONNX rule. */
export function assertValid(model: Model): void {
  const r = checkModel(model);
  if (!r.ok) throw new Error(`invalid model: ${r.problems.filter((p) => p.severity === 'error').map((p) => `${p.code} ${p.message}`).join('; ')}`);
}

/** Every node of every graph reads only values defined before it (or in enclosing scopes). */
export function isTopologicallySorted(model: Model): boolean {
  for (const g of model.graphs()) {
    const seen = new Set<string>([...g.inputNames(), ...g.initializers.map((t) => t.name)]);
    for (const n of g.nodes) {
      for (const i of n.input) if (i && !seen.has(i) && g.producer(i)) return false;
      for (const o of n.output) seen.add(o);
    }
  }
  return true;
}

/** Every node of `opType` in every graph, with the path of its graph. */
export function nodesOf(model: Model, opType: string): { node: NodeProto; graph: string }[] {
  return [...model.allNodes()].filter(({ node }) => node.opType === opType).map(({ node, graph }) => ({ node, graph: graph.path }));
}

/** Op types of every node of every graph (with the domain when not the default). */
export function opTypes(model: Model): string[] {
  const out: string[] = [];
  for (const { node } of model.allNodes()) out.push(node.domain ? `${node.domain}.${node.opType}` : node.opType);
  return out;
}
