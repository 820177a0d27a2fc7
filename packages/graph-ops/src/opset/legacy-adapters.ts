import {
  AttributeType, DataType, attr, attrFloat, attrFloats, attrInt, attrInts, getAttribute, removeAttribute, setAttribute, tensorDims,
} from '@onnx-forge/core';
import { chain, dropAttributes, dropConsumedInputs, refuseAttributeReference, stringAttr, type Adapter } from './adapter.js';

/*
 * Adapters for the changes of opsets 2–9: the attributes ONNX renamed, retyped or removed before
 * opset 10, and the experimental Upsample and MeanVarianceNormalization that became standard with
 * other attributes. Each says what it changed; each refuses what has no faithful equivalent.
 */

const ones = (n: number): number[] => Array.from({ length: n }, () => 1);

/** Pad-2: `paddings` was renamed `pads` (same [begin..., end...] layout). */
export const padRenamePaddings: Adapter = (c) => {
  refuseAttributeReference(c, 'paddings');
  const paddings = attrInts(c.node, 'paddings');
  if (!paddings) return undefined;
  removeAttribute(c.node, 'paddings');
  setAttribute(c.node, attr.ints('pads', paddings));
  return 'renamed attribute paddings to pads';
};

/** Split-2: the optional `split` input became the `split` attribute. */
export const splitInputToAttribute: Adapter = (c) => {
  const input = c.node.input[1];
  if (!input) {
    if (c.node.input.length > 1) c.node.input.length = 1;
    return undefined;
  }
  const sizes = c.constInts(input);
  if (!sizes) return c.refuse(`the split sizes come from ${input}, which is not a constant, and Split-2 takes them only as an attribute`);
  c.node.input.length = 1;
  c.graph.invalidate();
  setAttribute(c.node, attr.ints('split', sizes.map((v) => Math.round(v))));
  return `split sizes moved from input ${input} to the split attribute`;
};

/** GlobalLpPool-2 / LpPool-2: `p` became an integer (and LpPool's kernel_shape required). */
export const lpPoolIntegerP: Adapter = (c) => {
  refuseAttributeReference(c, 'p');
  const done: string[] = [];
  if (c.node.opType === 'LpPool' && !getAttribute(c.node, 'kernel_shape')) {
    return c.refuse('LpPool-1 without kernel_shape has no equivalent: LpPool-2 requires it');
  }
  const a = getAttribute(c.node, 'p');
  if (a && a.type === AttributeType.FLOAT) {
    if (!Number.isInteger(a.f)) return c.refuse(`p=${a.f} is not an integer, and from opset 2 p is an integer`);
    setAttribute(c.node, attr.int('p', a.f));
    done.push(`p=${a.f} stored as an integer`);
  }
  return done.length ? done.join('; ') : undefined;
};

/** Concat-4: `axis` became required; its old default was 1. */
export const concatDefaultAxis: Adapter = (c) => {
  if (getAttribute(c.node, 'axis')) return undefined;
  setAttribute(c.node, attr.int('axis', 1));
  return 'axis=1 (the default before opset 4) written out, as the attribute is now required';
};

/** Reshape-5: the `shape` attribute became an int64 input. */
export const reshapeShapeToInput: Adapter = chain(dropConsumedInputs, (c) => {
  refuseAttributeReference(c, 'shape');
  const shape = attrInts(c.node, 'shape');
  if (!shape) return c.refuse('Reshape-1 without a shape attribute has no target shape');
  removeAttribute(c.node, 'shape');
  c.node.input[1] = c.int64s(`${c.base}_shape`, shape);
  c.graph.invalidate();
  return 'shape attribute moved to an int64 input';
});

/** Cast-6: `to` changed from a type name (string) to a TensorProto.DataType number. */
export const castToNumber: Adapter = (c) => {
  refuseAttributeReference(c, 'to');
  const a = getAttribute(c.node, 'to');
  if (!a || a.type === AttributeType.INT) return undefined;
  const name = (stringAttr(c.node, 'to') ?? '').toUpperCase();
  const type = (DataType as unknown as Record<string, number>)[name];
  if (type === undefined || typeof type !== 'number' || type === 0) return c.refuse(`to="${name}" is not an ONNX data type name`);
  setAttribute(c.node, attr.int('to', type));
  return `to="${name}" written as data type ${type}`;
};

/** Tile-6: (tiles, axis) scalars became one `repeats` vector. */
export const tileRepeats: Adapter = (c) => {
  const [x = '', tiles, axis] = c.node.input;
  if (c.node.input.length < 3) return undefined;
  const t = c.constInts(tiles);
  const ax = c.constInts(axis);
  const rank = c.rank(x);
  if (!t || !ax || rank === undefined) {
    return c.refuse(`Tile-1 needs constant tiles and axis and an input of known rank to become Tile-6 (${!t ? `${tiles} is not constant` : !ax ? `${axis} is not constant` : `${x} has no declared shape`})`);
  }
  const a = (ax[0] ?? 0) < 0 ? (ax[0] ?? 0) + rank : (ax[0] ?? 0);
  const repeats = ones(rank);
  repeats[a] = Math.round(t[0] ?? 1);
  c.node.input.length = 1;
  c.node.input.push(c.int64s(`${c.base}_repeats`, repeats));
  c.graph.invalidate();
  return `tiles=${repeats[a]} along axis ${a} written as repeats [${repeats.join(', ')}]`;
};

/**
 * Binary ops at opset 7 (Add, Sub, Mul, Div, Pow, And, Or, Xor, Equal, Greater, Less): `broadcast` and
 * `axis` were removed for numpy broadcasting. Suffix broadcasting is numpy broadcasting; B aligned at
 * an explicit `axis` gets unit dimensions appended so numpy aligns it the same way.
 */
export const legacyBroadcast: Adapter = (c) => {
  refuseAttributeReference(c, 'broadcast');
  refuseAttributeReference(c, 'axis');
  const broadcast = attrInt(c.node, 'broadcast', 0);
  const axis = attrInt(c.node, 'axis');
  const a = c.node.input[0] ?? '';
  const b = c.node.input[1] ?? '';
  if (broadcast && axis !== undefined) {
    const rA = c.rank(a);
    const rB = c.rank(b);
    if (rA === undefined || rB === undefined) {
      return c.refuse(`broadcast=1 with axis=${axis} aligns B inside A, which needs the rank of both, and ${rA === undefined ? a : b} has no declared shape`);
    }
    const start = axis < 0 ? axis + rA : axis;
    const trailing = rA - start - rB;
    if (start < 0 || trailing < 0) return c.refuse(`axis=${axis} does not fit B (rank ${rB}) inside A (rank ${rA})`);
    dropAttributes(c.node, ['broadcast', 'axis']);
    if (trailing === 0) return `dropped broadcast=1, axis=${axis}: B already lines up with the trailing dimensions of A`;
    const t = c.constant(b);
    let aligned: string;
    if (t) {
      aligned = c.reshapedConstant(`${b}_aligned`, t, [...tensorDims(t), ...ones(trailing)]);
    } else {
      aligned = c.fresh(`${b}_aligned`);
      c.insertBefore(c.newNode('Unsqueeze', [b], [aligned], { axes: Array.from({ length: trailing }, (_, i) => rB + i) }));
    }
    c.graph.setInput(c.node, 1, aligned);
    return `B aligned at axis ${axis} by ${trailing} trailing unit dimension(s), then numpy broadcasting`;
  }
  const had = dropAttributes(c.node, ['broadcast', 'axis']);
  if (!had.length) return undefined;
  return broadcast ? 'dropped broadcast=1: suffix broadcasting is numpy broadcasting' : 'dropped broadcast=0 (operands of one shape broadcast the same way)';
};

/** Gemm-7: `broadcast` removed; C is now always unidirectionally broadcast (a superset). */
export const gemmDropBroadcast: Adapter = (c) =>
  dropAttributes(c.node, ['broadcast']).length ? 'dropped broadcast (C broadcasts unidirectionally from opset 7)' : undefined;

/**
 * BatchNormalization-7, Dropout-7: `is_test` was removed; inference is the mode a runtime runs.
 * is_test=1 (and its absence, as onnx's own converter treats it) carries over; an explicit is_test=0
 * asks for training behaviour that the same node cannot express from opset 7.
 */
export const dropIsTest: Adapter = (c) => {
  refuseAttributeReference(c, 'is_test');
  const a = getAttribute(c.node, 'is_test');
  if (!a) return undefined;
  if (attrInt(c.node, 'is_test', 0) === 0) {
    return c.refuse('is_test=0 asks for training-mode behaviour, which this node cannot express from opset 7 (set is_test=1 if the model is for inference)');
  }
  removeAttribute(c.node, 'is_test');
  return 'dropped is_test=1 (inference is the default from opset 7)';
};

/** RNN-7, GRU-7, LSTM-7: `output_sequence` was removed (Y is computed when its output is named). */
export const dropOutputSequence: Adapter = (c) =>
  dropAttributes(c.node, ['output_sequence']).length ? 'dropped output_sequence (Y is produced when its output is named)' : undefined;

/**
 * PRelu-7: slope broadcasting became numpy-style (unidirectional). A 1-D slope with several values on
 * an input of rank > 2 read per channel before and per last axis now: no safe rewrite, so refused.
 */
export const preluSlope: Adapter = (c) => {
  const slope = c.shape(c.node.input[1] ?? '');
  const rank = c.rank(c.node.input[0] ?? '');
  const n = slope?.reduce<number>((p, d) => p * (typeof d === 'number' ? d : NaN), 1);
  if (slope && slope.length === 1 && n !== 1 && (rank === undefined || rank > 2)) {
    return c.refuse('a 1-D slope with several values on an input of rank > 2 is ambiguous before opset 7 (per channel) and broadcasts over the last axis from opset 7');
  }
  return undefined;
};

/** Upsample-7: the experimental Upsample (height_scale, width_scale on NCHW) became `scales` for every axis. */
export const upsampleExperimental: Adapter = (c) => {
  const h = attrFloat(c.node, 'height_scale');
  const w = attrFloat(c.node, 'width_scale');
  if (h === undefined || w === undefined) {
    if (attrFloats(c.node, 'scales')) return undefined;
    return c.refuse('the experimental Upsample needs height_scale and width_scale');
  }
  const mode = stringAttr(c.node, 'mode') ?? 'nearest';
  dropAttributes(c.node, ['height_scale', 'width_scale', 'mode']);
  setAttribute(c.node, attr.floats('scales', [1, 1, h, w]));
  setAttribute(c.node, attr.string('mode', mode === 'bilinear' ? 'linear' : mode));
  return `height_scale=${h}, width_scale=${w} written as scales [1, 1, ${h}, ${w}]${mode === 'bilinear' ? ', mode bilinear → linear' : ''}`;
};

/** Upsample-9: the `scales` attribute became a float input. */
export const upsampleScalesToInput: Adapter = (c) => {
  refuseAttributeReference(c, 'scales');
  const scales = attrFloats(c.node, 'scales');
  if (!scales) return undefined;
  removeAttribute(c.node, 'scales');
  c.node.input[1] = c.typed(`${c.base}_scales`, DataType.FLOAT, scales);
  c.graph.invalidate();
  return 'scales attribute moved to a float input';
};

/**
 * BatchNormalization-9: `spatial` was removed (only spatial=1 remains). spatial=0 at inference
 * (per-activation statistics) is the same arithmetic written out: (X - mean) / sqrt(var + eps) * scale + B.
 */
export const batchNormSpatial: Adapter = (c) => {
  refuseAttributeReference(c, 'spatial');
  const a = getAttribute(c.node, 'spatial');
  if (!a) return undefined;
  const spatial = attrInt(c.node, 'spatial', 1);
  removeAttribute(c.node, 'spatial');
  if (spatial !== 0) return 'dropped spatial=1 (the only mode from opset 9)';
  if (c.node.output.slice(1).some((o) => c.isRead(o))) {
    return c.refuse('spatial=0 in training mode (running statistics read) has no equivalent from opset 9');
  }
  const [x = '', scale = '', bias = '', mean = '', variance = ''] = c.node.input;
  const y = c.node.output[0] ?? '';
  const t = c.requireElemType(0, 'the epsilon constant of the per-activation rewrite');
  const eps = c.typed(`${c.base}_epsilon`, t, [attrFloat(c.node, 'epsilon', 1e-5)], []);
  const names = ['var_eps', 'std', 'centered', 'normalized', 'scaled'].map((s) => c.fresh(`${c.base}_${s}`)) as [string, string, string, string, string];
  const nodes = [
    c.newNode('Add', [variance, eps], [names[0]]),
    c.newNode('Sqrt', [names[0]], [names[1]]),
    c.newNode('Sub', [x, mean], [names[2]]),
    c.newNode('Div', [names[2], names[1]], [names[3]]),
    c.newNode('Mul', [names[3], scale], [names[4]]),
    c.newNode('Add', [names[4], bias], [y]),
  ];
  c.replaceWith(nodes, nodes[nodes.length - 1] as (typeof nodes)[number]);
  return 'spatial=0 (per-activation statistics) written out as (X - mean) / sqrt(var + epsilon) * scale + B';
};

/**
 * MeanVarianceNormalization-9: the experimental MVN (across_channels, normalize_variance, per sample)
 * became the standard one over `axes`. Per sample means axes [2..r) or [1..r) with across_channels;
 * normalize_variance=0 is X - mean.
 */
export const mvnExperimental: Adapter = (c) => {
  if (!getAttribute(c.node, 'across_channels') && !getAttribute(c.node, 'normalize_variance') && getAttribute(c.node, 'axes')) return undefined;
  refuseAttributeReference(c, 'across_channels');
  refuseAttributeReference(c, 'normalize_variance');
  const x = c.node.input[0] ?? '';
  const rank = c.rank(x);
  if (rank === undefined) return c.refuse(`the experimental MeanVarianceNormalization normalizes per sample over the axes after the batch, which needs the rank of ${x}`);
  const across = attrInt(c.node, 'across_channels', 0) !== 0;
  const normalizeVariance = attrInt(c.node, 'normalize_variance', 1) !== 0;
  const axes = Array.from({ length: rank - (across ? 1 : 2) }, (_, i) => i + (across ? 1 : 2));
  dropAttributes(c.node, ['across_channels', 'normalize_variance']);
  if (normalizeVariance) {
    setAttribute(c.node, attr.ints('axes', axes));
    return `across_channels=${across ? 1 : 0} written as axes [${axes.join(', ')}]`;
  }
  const y = c.node.output[0] ?? '';
  const mean = c.fresh(`${c.base}_mean`);
  const reduce = c.newNode('ReduceMean', [x], [mean], { axes, keepdims: 1 });
  const sub = c.newNode('Sub', [x, mean], [y]);
  c.replaceWith([reduce, sub], sub);
  return `normalize_variance=0 written as X - ReduceMean(X, axes [${axes.join(', ')}])`;
};
