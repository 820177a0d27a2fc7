import type { Graph, NodeProto } from '@onnx-forge/core';

/**
 * Removes a node that passes its input `from` through unchanged as its output `to` (Identity, a
 * no-op Cast, Dropout at inference), pointing every reader of `to` at `from`. When `to` is an output
 * of the graph, the value feeding the node is renamed instead (only if a node of this graph produces
 * it and it is not itself a graph output). Returns false, changing nothing, when neither is possible.
 */
export function bypassNode(graph: Graph, node: NodeProto, from: string, to: string): boolean {
  if (!graph.isGraphOutput(to)) {
    graph.removeNode(node);
    graph.replaceAllUses(to, from);
    graph.removeValueInfo(to);
    return true;
  }
  const producer = graph.producer(from);
  if (!producer || producer === node || graph.isGraphOutput(from) || graph.isGraphInput(from)) return false;
  graph.removeNode(node);
  graph.removeValueInfo(from);
  graph.replaceAllUses(from, to, { graphOutputs: false });
  const i = producer.output.indexOf(from);
  producer.output[i] = to;
  graph.invalidate();
  return true;
}
