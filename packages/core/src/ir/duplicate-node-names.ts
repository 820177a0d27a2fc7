import type { NodeProto } from '../proto/types.js';
import type { Graph } from './graph.js';

/**
 * Named nodes of one graph that share a name, by name, in graph order (the first is the original).
 * Unnamed nodes may repeat: onnxruntime names them itself.
 */
export function duplicateNodeNames(graph: Graph): Map<string, NodeProto[]> {
  const byName = new Map<string, NodeProto[]>();
  for (const node of graph.nodes) {
    if (!node.name) continue;
    const same = byName.get(node.name);
    if (same) same.push(node);
    else byName.set(node.name, [node]);
  }
  for (const [name, nodes] of byName) if (nodes.length < 2) byName.delete(name);
  return byName;
}
