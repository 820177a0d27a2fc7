import { attrFloat, attrFloats, attrInts, type NodeProto } from '@onnx-forge/core';
import { refuseAttributeReference, type Adapter } from './adapter.js';
import type { StepContext } from './step-context.js';

/*
 * The experimental operators of opset 1 were removed at opset 10 (onnxruntime still runs them below
 * 10). Those that are plain arithmetic or slicing are written with standard operators; the rest are
 * refused.
 */

const INT64_MAX = Number.MAX_SAFE_INTEGER;

/** Replaces the node by `nodes`, the last of which must produce the node's output. */
function rewriteAs(c: StepContext, nodes: NodeProto[]): void {
  const last = nodes[nodes.length - 1];
  if (last) c.replaceWith(nodes, last);
}

/** x * a + b as nodes (a step is left out when it is the identity). */
function affine(c: StepContext, a: number, b: number | string | undefined): NodeProto[] {
  const x = c.node.input[0] ?? '';
  const y = c.node.output[0] ?? '';
  const t = c.requireElemType(0, 'the constants that replace it');
  const nodes: NodeProto[] = [];
  let cur = x;
  const addB = b !== undefined && b !== 0;
  if (a !== 1 || !addB) {
    const out = addB ? c.fresh(`${c.base}_scaled`) : y;
    nodes.push(c.newNode('Mul', [cur, c.typed(`${c.base}_scale`, t, [a], [])], [out]));
    cur = out;
  }
  if (addB) {
    const bias = typeof b === 'string' ? b : c.typed(`${c.base}_bias`, t, [b], []);
    nodes.push(c.newNode('Add', [cur, bias], [y]));
  }
  return nodes;
}

function requireFloat(c: StepContext, name: string): number {
  refuseAttributeReference(c, name);
  const v = attrFloat(c.node, name);
  if (v === undefined) return c.refuse(`attribute "${name}" is missing and has no default`);
  return v;
}

/** ImageScaler (NCHW): scale * x + bias[c]. */
export const imageScalerToArithmetic: Adapter = (c) => {
  refuseAttributeReference(c, 'scale');
  refuseAttributeReference(c, 'bias');
  const scale = attrFloat(c.node, 'scale', 1);
  const bias = attrFloats(c.node, 'bias');
  let biasName: string | undefined;
  if (bias && bias.some((v) => v !== 0)) {
    const rank = c.rank(c.node.input[0] ?? '') ?? 4;
    const t = c.requireElemType(0, 'the bias constant');
    biasName = c.typed(`${c.base}_bias`, t, bias, [bias.length, ...Array.from({ length: Math.max(rank - 2, 0) }, () => 1)]);
  }
  rewriteAs(c, affine(c, scale, biasName));
  return `ImageScaler (removed at opset 10) written as Mul by ${scale}${biasName ? ' and Add of the per-channel bias' : ''}`;
};

/** Affine: alpha * x + beta. */
export const affineToArithmetic: Adapter = (c) => {
  refuseAttributeReference(c, 'alpha');
  refuseAttributeReference(c, 'beta');
  const alpha = attrFloat(c.node, 'alpha', 1);
  const beta = attrFloat(c.node, 'beta', 0);
  rewriteAs(c, affine(c, alpha, beta));
  return `Affine (removed at opset 10) written as ${alpha} * x + ${beta}`;
};

/** Scale: x * scale. */
export const scaleToMul: Adapter = (c) => {
  refuseAttributeReference(c, 'scale');
  const s = attrFloat(c.node, 'scale', 1);
  rewriteAs(c, affine(c, s, undefined));
  return `Scale (removed at opset 10) written as Mul by ${s}`;
};

/** ScaledTanh: alpha * tanh(beta * x); ParametricSoftplus: alpha * softplus(beta * x). */
function scaledUnary(op: 'Tanh' | 'Softplus', label: string): Adapter {
  return (c) => {
    const alpha = requireFloat(c, 'alpha');
    const beta = requireFloat(c, 'beta');
    const t = c.requireElemType(0, 'the alpha and beta constants');
    const x = c.node.input[0] ?? '';
    const y = c.node.output[0] ?? '';
    const inner = c.fresh(`${c.base}_beta_x`);
    const act = c.fresh(`${c.base}_${op.toLowerCase()}`);
    rewriteAs(c, [
      c.newNode('Mul', [x, c.typed(`${c.base}_beta`, t, [beta], [])], [inner]),
      c.newNode(op, [inner], [act]),
      c.newNode('Mul', [act, c.typed(`${c.base}_alpha`, t, [alpha], [])], [y]),
    ]);
    return `${label} (removed at opset 10) written as ${alpha} * ${op}(${beta} * x)`;
  };
}

export const scaledTanhToArithmetic = scaledUnary('Tanh', 'ScaledTanh');
export const parametricSoftplusToArithmetic = scaledUnary('Softplus', 'ParametricSoftplus');

/** Crop (NCHW): border [left, top, right, bottom], optional scale [height, width] → Slice over H and W. */
export const cropToSlice: Adapter = (c) => {
  refuseAttributeReference(c, 'border');
  refuseAttributeReference(c, 'scale');
  const border = attrInts(c.node, 'border');
  if (!border || border.length !== 4) return c.refuse('Crop needs border = [left, top, right, bottom]');
  const [left, top, right, bottom] = border as [number, number, number, number];
  const scale = attrInts(c.node, 'scale');
  const ends = scale && scale.length === 2
    ? [top + (scale[0] as number), left + (scale[1] as number)]
    : [bottom > 0 ? -bottom : INT64_MAX, right > 0 ? -right : INT64_MAX];
  const x = c.node.input[0] ?? '';
  const slice = c.newNode('Slice', [x, c.int64s(`${c.base}_starts`, [top, left]), c.int64s(`${c.base}_ends`, ends), c.int64s(`${c.base}_axes`, [2, 3])], [c.node.output[0] ?? '']);
  rewriteAs(c, [slice]);
  return `Crop (removed at opset 10) written as Slice of axes 2, 3 from [${top}, ${left}] to [${ends.join(', ')}]`;
};

/** DynamicSlice(data, starts, ends, axes) is Slice-10 with the same inputs. */
export const dynamicSliceToSlice: Adapter = (c) => {
  c.node.opType = 'Slice';
  c.graph.invalidate();
  return 'DynamicSlice (removed at opset 10) became Slice, which takes the same inputs from opset 10';
};

/** No standard operator fills a tensor from attribute values and an input shape the same way. */
export const refuseRemovedExperimental: Adapter = (c) =>
  c.refuse(`${c.node.opType} was an experimental operator, removed at opset 10, with no standard equivalent the upgrade can write`);
