import {
  DataType, attrFloat, attrInt, isDefaultDomain, tensorDims, tensorElementCount, tensorToFloat32,
  type Graph, type NodeProto,
} from '@onnx-forge/core';
import { findConstant, type ConstantRef } from './quant-graph.js';
import type { QuantSession } from './quant-session.js';

/** What static (QDQ) quantization will do to one node, decided before calibration. */
export interface StaticPlan {
  graph: Graph;
  node: NodeProto;
  /** Activation inputs quantized through a QuantizeLinear/DequantizeLinear pair: [input index, tensor]. */
  activations: [number, string][];
  weight?: { index: number; ref: ConstantRef; axis?: number };
  /** A bias stored as int32 with scale = input scale x weight scale. */
  bias?: { index: number; ref: ConstantRef };
  /** The output quantized after the node (the Relu/Clip output when one is folded in). */
  output?: { tensor: string; folded?: NodeProto };
  notes: string[];
}

/**
 * Plans QDQ for a MatMul, Gemm or Conv of the main graph, or records why it is skipped. Returns
 * undefined when the node stays float.
 */
export function planStatic(s: QuantSession, graph: Graph, node: NodeProto, keepRelu: boolean): StaticPlan | undefined {
  const plan: StaticPlan = { graph, node, activations: [], notes: [] };
  const [a = '', b = ''] = node.input;
  const wIndex = 1;
  const wRef = s.constant(graph, b);
  if (node.opType === 'MatMul' && !wRef) {
    if (s.constant(graph, a)) {
      s.rec.skipped(graph, node, 'A is a constant and B is computed at run time; the pass quantizes constant weights in the B position');
      return undefined;
    }
    // Both inputs are activations (attention scores): both get a QDQ pair, no weight.
    for (const [i, name] of [[0, a], [1, b]] as const) {
      const problem = s.activationProblem(graph, node, i);
      if (problem) {
        s.rec.skipped(graph, node, problem);
        return undefined;
      }
      plan.activations.push([i, name]);
    }
  } else {
    if (!wRef) {
      s.rec.skipped(graph, node, `the weight "${b}" is computed at run time; only constant weights are quantized`);
      return undefined;
    }
    if (wRef.tensor.dataType !== DataType.FLOAT) {
      s.rec.skipped(graph, node, `the weight "${b}" is ${wRef.tensor.dataType === DataType.FLOAT16 ? 'float16' : `type ${wRef.tensor.dataType}`}; only float32 weights are quantized`);
      return undefined;
    }
    s.rec.weight(s.coverageKey(wRef), tensorElementCount(wRef.tensor));
    if (s.constant(graph, a)) {
      s.rec.skipped(graph, node, 'both inputs are constants: a constant-folding candidate');
      return undefined;
    }
    const problem = s.activationProblem(graph, node, 0);
    if (problem) {
      s.rec.skipped(graph, node, problem);
      return undefined;
    }
    plan.activations.push([0, a]);
    const dims = tensorDims(wRef.tensor);
    let axis: number | undefined;
    if (node.opType === 'Conv') {
      if (dims.length < 3) {
        s.rec.skipped(graph, node, `W is ${dims.length}-D; Conv weights are [M, C/group, k...]`);
        return undefined;
      }
      axis = 0;
    } else if (node.opType === 'Gemm') {
      if (dims.length !== 2) {
        s.rec.skipped(graph, node, `B is ${dims.length}-D; Gemm takes a 2-D B`);
        return undefined;
      }
      axis = attrInt(node, 'transB', 0) ? 0 : 1;
    } else if (dims.length === 2) {
      axis = 1;
    } else if (dims.length > 2 && s.options.perChannel) {
      // onnxruntime fuses a QDQ MatMul into MatMulIntegerToFloat or QLinearMatMul, which take B's scale
      // and zero point per column only for a 2-D B: per-axis ones on a batched B load, then fail every run.
      plan.notes.push(`per-tensor: per-channel needs a 2-D B (B is ${dims.length}-D)`);
    }
    if (!s.options.perChannel) axis = undefined;
    else if (axis !== undefined && !s.perAxisDequantize) {
      axis = undefined;
      plan.notes.push(`per-tensor weights: per-axis DequantizeLinear needs opset 13 (model: ${s.opset})`);
    }
    plan.weight = axis === undefined ? { index: wIndex, ref: wRef } : { index: wIndex, ref: wRef, axis };
    planBias(s, graph, node, plan, dims);
  }
  planOutput(graph, node, plan, keepRelu);
  return plan;
}

function planBias(s: QuantSession, graph: Graph, node: NodeProto, plan: StaticPlan, wDims: number[]): void {
  const c = node.input[2];
  if (!c || node.opType === 'MatMul') return;
  const ref = s.constant(graph, c);
  const channels = node.opType === 'Conv' ? wDims[0] : attrInt(node, 'transB', 0) ? wDims[0] : wDims[1];
  if (!ref || ref.tensor.dataType !== DataType.FLOAT) {
    plan.notes.push(`bias "${c}" stays float: not a float32 constant`);
    return;
  }
  const dims = tensorDims(ref.tensor);
  if (dims.length !== 1 || dims[0] !== channels) {
    plan.notes.push(`bias "${c}" stays float: shape [${dims.join(', ')}] is not one value per output channel (${channels})`);
    return;
  }
  if (node.opType === 'Gemm' && (attrFloat(node, 'alpha', 1) !== 1 || attrFloat(node, 'beta', 1) !== 1)) {
    plan.notes.push('bias stays float: Gemm alpha/beta are not 1, so C does not add straight into the product');
    return;
  }
  plan.bias = { index: 2, ref };
}

/** Clip bounds when constant (inputs from opset 11, attributes before). */
function clipBounds(graph: Graph, node: NodeProto): { min: number; max: number } | undefined {
  let min = -Infinity;
  let max = Infinity;
  if (node.input.length > 1 || (graph.model.opset('') ?? 0) >= 11) {
    for (const [i, set] of [[1, (v: number) => (min = v)], [2, (v: number) => (max = v)]] as const) {
      const name = node.input[i];
      if (!name) continue;
      const ref = findConstant(graph, name);
      if (!ref) return undefined;
      const v = tensorToFloat32(ref.tensor)[0];
      if (v === undefined) return undefined;
      set(v);
    }
  } else {
    min = attrFloat(node, 'min', -3.4028234663852886e38);
    max = attrFloat(node, 'max', 3.4028234663852886e38);
  }
  return { min, max };
}

/**
 * The node's output may get a QDQ pair (as onnxruntime's QDQ format does, so DQ -> op -> Q fuses into
 * an integer kernel); runStatic keeps it only when a quantized node reads the output. Without
 * keepRelu, a Relu (or a Clip whose bounds straddle 0) that is the only reader is folded in: the
 * quantization range of its output, which starts at 0, does the clipping.
 */
function planOutput(graph: Graph, node: NodeProto, plan: StaticPlan, keepRelu: boolean): void {
  const y = node.output[0];
  if (!y || graph.isGraphOutput(y)) return;
  const readers = graph.consumers(y);
  const only = readers.length === 1 ? readers[0] : undefined;
  if (!keepRelu && only && isDefaultDomain(only.domain) && only.input[0] === y && only.output[0] && graph.uses(y).length === 1) {
    if (only.opType === 'Relu') {
      plan.output = { tensor: only.output[0], folded: only };
      return;
    }
    if (only.opType === 'Clip') {
      const b = clipBounds(graph, only);
      if (b && b.min <= 0 && b.max >= 0) {
        plan.output = { tensor: only.output[0], folded: only };
        return;
      }
    }
  }
  if (readers.length === 0) return;
  plan.output = { tensor: y };
}
