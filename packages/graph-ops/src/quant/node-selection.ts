import { isDefaultDomain, type NodeProto } from '@onnx-forge/core';
import { DEFAULT_OPS, QUANTIZABLE_OPS, type QuantOptions, type QuantizableOp } from './quant-options.js';

export type Selection = { ok: true } | { ok: false; reason: string; applicable: boolean };

/**
 * Whether the options ask for this node to be quantized. `applicable: false` marks op types the INT8
 * passes never quantize (reported as "not-quantized" rather than "skipped").
 */
export function selectNode(node: NodeProto, options: Pick<QuantOptions, 'ops' | 'excludeOps' | 'nodes' | 'excludeNodes'>): Selection {
  if (!isDefaultDomain(node.domain)) return { ok: false, reason: `op ${node.domain}.${node.opType} is not an ONNX op the pass quantizes`, applicable: false };
  if (!(QUANTIZABLE_OPS as readonly string[]).includes(node.opType)) {
    return { ok: false, reason: `${node.opType} is not quantized (the pass quantizes ${QUANTIZABLE_OPS.join(', ')})`, applicable: false };
  }
  if (!options.ops.includes(node.opType)) {
    const hint = DEFAULT_OPS.includes(node.opType as QuantizableOp) ? '' : `; add it to "ops" for 8-bit weights`;
    return { ok: false, reason: `op type ${node.opType} is not in "ops" (${options.ops.join(', ') || 'empty'})${hint}`, applicable: true };
  }
  if (options.excludeOps.includes(node.opType)) return { ok: false, reason: `op type ${node.opType} is in "excludeOps"`, applicable: true };
  if (options.nodes.length && !options.nodes.includes(node.name)) return { ok: false, reason: 'node is not listed in "nodes"', applicable: true };
  if (options.excludeNodes.includes(node.name)) return { ok: false, reason: 'node is listed in "excludeNodes"', applicable: true };
  return { ok: true };
}
