import type { NodeProto } from '../proto/types.js';

/** How messages name a node: its name, or `OpType(first output)` for an unnamed one. */
export function nodeLabel(node: NodeProto): string {
  return node.name || `${node.opType}(${node.output[0] ?? ''})`;
}
