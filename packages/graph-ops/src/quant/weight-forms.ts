import { DataType, attrInt, dtypeName, tensorDims, type Graph, type NodeProto } from '@onnx-forge/core';
import { constantDims, type ConstantRef } from './quant-graph.js';
import type { QuantSession } from './quant-session.js';

/**
 * Rewrites shared by dynamic and static quantization that touch only constant weights: the weight-only
 * form (int8 weights + DequantizeLinear feeding the float op) and the embedding-table Gather.
 */

function layoutLabel(axis: number | undefined, channels: number): string {
  return axis === undefined ? 'per-tensor' : `per-channel (axis ${axis}, ${channels} channel${channels === 1 ? '' : 's'})`;
}

/**
 * Replaces input `index` of `node` (a float constant) by its int8 form dequantized in front of the
 * node. Returns a description or the reason it could not.
 */
export function weightOnly(s: QuantSession, graph: Graph, node: NodeProto, index: number, ref: ConstantRef, axis: number | undefined): { ok: true; how: string } | { ok: false; reason: string } {
  const notes: string[] = [];
  if (axis !== undefined && !s.perAxisDequantize) {
    axis = undefined;
    if (!s.forms.perAxisDequantizeOnly) notes.push(`per-tensor because per-axis DequantizeLinear needs opset 13 (model: ${s.opset})`);
  }
  const dims = constantDims(ref);
  let repeatAlong: number | undefined;
  if (axis !== undefined && s.forms.perAxisDequantizeOnly && dims[axis] === 1) {
    // One channel is one scale for the whole tensor: such a target computes it as wrong as a per-tensor one.
    notes.push(`axis ${axis} has one channel, which is one scale for the whole tensor`);
    axis = undefined;
  }
  if (axis === undefined && s.forms.perAxisDequantizeOnly) {
    // (Such targets have their models upgraded to opset 13, which has per-axis DequantizeLinear: upgradeForQuantization.)
    // Along the last axis of more than one index: repeated along an axis of one, the scale would still be one.
    const along = dims.findLastIndex((d) => d > 1);
    if (along < 0) return { ok: false, reason: `target ${s.options.target} needs a per-axis DequantizeLinear over more than one index (${s.forms.perAxisDequantizeOnly}), and the weight holds one value` };
    repeatAlong = along;
    notes.push(`the per-tensor scale is written once per index of axis ${repeatAlong} (${s.forms.perAxisDequantizeOnly})`);
  }
  const wanted = s.options.weightType;
  const forced = s.forms.weightOnlyType;
  if (forced && forced.type !== wanted) notes.push(`${forced.type} weights, not ${wanted}: ${forced.why}`);
  const type = s.weightType('weight-only', forced?.type ?? wanted);
  const r = s.storeWeight(ref, axis !== undefined ? { type, axis } : repeatAlong !== undefined ? { type, repeatAlong } : { type });
  if (!r.ok) return r;
  const dq = s.dequantizedWeight(graph, r.w, node);
  graph.setInput(node, index, dq);
  s.touched.push(ref);
  const layout = repeatAlong !== undefined ? 'per-tensor' : layoutLabel(r.w.axis, r.w.weight.scale.length);
  return { ok: true, how: `${type.name} weights ${layout} + DequantizeLinear feeding float ${node.opType}${notes.map((n) => `; ${n}`).join('')}` };
}

/**
 * Gather over a constant float table (an embedding): the table is stored as 8-bit codes and only the
 * gathered rows are dequantized. Per-channel gives each row its own scale (rows are tokens, whose
 * norms differ), applied by gathering the scales with the same indices.
 */
export function quantizeGather(s: QuantSession, graph: Graph, node: NodeProto): void {
  const [dataName = '', indices = ''] = node.input;
  const ref = s.constant(graph, dataName);
  if (!ref) return s.rec.skipped(graph, node, 'the data input is computed at run time; only constant tables (embeddings) are quantized');
  if (s.forms.floatGatherTables) return s.rec.skipped(graph, node, `the table stays float for target ${s.options.target}: ${s.forms.floatGatherTables}`);
  if (ref.tensor.dataType !== DataType.FLOAT) return s.rec.skipped(graph, node, `the table is ${dtypeName(ref.tensor.dataType)}, not float32`);
  if (s.constant(graph, indices)) return s.rec.skipped(graph, node, 'both inputs are constants: a constant-folding candidate, not an embedding lookup');
  const dims = tensorDims(ref.tensor);
  if (dims.length === 0) return s.rec.skipped(graph, node, 'the table is a scalar');
  const axis = attrInt(node, 'axis', 0);
  const type = s.weightType('weight-only');
  const out = node.output[0] as string;
  const perRow = s.options.perChannel && (axis === 0 || axis === -dims.length) && dims.length >= 2;
  const r = s.storeWeight(ref, perRow ? { type, axis: 0 } : { type });
  if (!r.ok) return s.rec.skipped(graph, node, r.reason);
  const w = r.w;
  const e = s.editor;
  const gathered = e.name(`${out}_quantized`);
  const gather = e.node('Gather', [w.q, indices], [gathered], { axis }, `${node.name || 'Gather'}_quant`);
  if (!perRow) {
    const dq = e.node('DequantizeLinear', [gathered, w.scale, w.zeroPoint], [out], {}, `${node.name || 'Gather'}_DequantizeLinear`);
    graph.replaceNode(node, [gather, dq]);
  } else {
    // Scales as a [rows, 1, ...] table so the gathered scales broadcast over each row.
    const rows = dims[0] as number;
    const tableDims = [rows, ...dims.slice(1).map(() => 1)];
    const scaleTable = e.tensor(ref.owner, `${w.scale}_rows`, DataType.FLOAT, tableDims, w.weight.scale);
    const asFloat = e.name(`${out}_float`);
    const rowScale = e.name(`${out}_row_scale`);
    const nodes = [
      gather,
      e.node('Cast', [gathered], [asFloat], { to: DataType.FLOAT }),
      e.node('Gather', [scaleTable, indices], [rowScale], { axis: 0 }),
    ];
    const zp = w.weight.zeroPoint;
    if (zp.every((z) => z === 0)) {
      nodes.push(e.node('Mul', [asFloat, rowScale], [out]));
    } else {
      // (q - zp) * s = q * s + (-zp * s): one more gathered table instead of a Sub on every element.
      const offsets = new Float32Array(rows);
      for (let i = 0; i < rows; i++) offsets[i] = Math.fround(-(zp[i] as number) * (w.weight.scale[i] as number));
      const offsetTable = e.tensor(ref.owner, `${w.scale}_row_offset`, DataType.FLOAT, tableDims, offsets);
      const scaled = e.name(`${out}_scaled`);
      const rowOffset = e.name(`${out}_row_offset`);
      nodes.push(
        e.node('Mul', [asFloat, rowScale], [scaled]),
        e.node('Gather', [offsetTable, indices], [rowOffset], { axis: 0 }),
        e.node('Add', [scaled, rowOffset], [out]),
      );
    }
    graph.replaceNode(node, nodes);
  }
  s.touched.push(ref);
  s.rec.quantized(graph, node, `Gather over ${type.name} table ${perRow ? `with per-row scales (${dims[0]} rows)` : 'per-tensor'} + ${perRow ? 'Mul' : 'DequantizeLinear'} of the gathered rows`);
}

/**
 * LSTM/GRU: weight-only. W ([directions, gates x hidden, input]) and R ([directions, gates x hidden,
 * hidden]) become 8-bit with one scale per gate row, dequantized in front of the float op; the
 * recurrence itself stays float (onnxruntime's integer DynamicQuantizeLSTM is a contrib op no other
 * runtime has).
 */
export function quantizeRecurrent(s: QuantSession, graph: Graph, node: NodeProto): void {
  const done: string[] = [];
  const skipped: string[] = [];
  for (const [index, label] of [[1, 'W'], [2, 'R']] as const) {
    const ref = s.constantWeight(graph, node, index);
    if (!ref.ok) {
      skipped.push(`${label}: ${ref.reason}`);
      continue;
    }
    const r = weightOnly(s, graph, node, index, ref.ref, s.options.perChannel && ref.dims.length === 3 ? 1 : undefined);
    if (r.ok) done.push(label);
    else skipped.push(`${label}: ${r.reason}`);
  }
  if (!done.length) return s.rec.skipped(graph, node, skipped.join('; ') || 'no constant weights');
  s.rec.quantized(graph, node, `${done.join(' and ')} as 8-bit weights (per gate row) dequantized for the float ${node.opType}; the recurrence stays float${skipped.length ? `; ${skipped.join('; ')}` : ''}`);
}
