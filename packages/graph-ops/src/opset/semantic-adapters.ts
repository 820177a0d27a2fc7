import { DataType, attr, attrInt, getAttribute, removeAttribute, setAttribute, tensorDims, tensorToFloat32 } from '@onnx-forge/core';
import { refuseAttributeReference, stringAttr, type Adapter } from './adapter.js';
import type { StepContext } from './step-context.js';

/*
 * Changes of opsets 10–21 that are not an attribute becoming an input: removed operators with a
 * renamed successor, output types and counts that changed, and defaults that moved.
 */

/** Scatter → ScatterElements at opset 11 (same inputs, attribute and arithmetic). */
export const scatterToScatterElements: Adapter = (c) => {
  c.node.opType = 'ScatterElements';
  c.graph.invalidate();
  return 'Scatter (removed at opset 11) became ScatterElements, which has the same inputs and arithmetic';
};

/** Dropout-10: the mask became bool (it had the data's type); a read mask is cast back, an unread one dropped. */
export const dropoutMaskToBool: Adapter = (c) => {
  const mask = c.node.output[1];
  if (!mask) return undefined;
  if (!c.isRead(mask)) {
    c.node.output.length = 1;
    c.graph.removeValueInfo(mask);
    c.graph.invalidate();
    return `dropped the unread mask output ${mask} (its type changed from the data's to bool)`;
  }
  const t = c.requireElemType(0, 'the Cast that keeps the mask in the data type');
  const { original, renamed } = c.detachOutput(1);
  c.insertAfter(c.newNode('Cast', [renamed], [original], { to: t }));
  return `mask is bool from opset 10; a Cast keeps ${original} in the data type its readers expect`;
};

/**
 * BatchNormalization-14: training is the training_mode attribute (before, any output past Y meant
 * training), and the saved_mean / saved_var outputs are gone: dropped when unread, refused when read.
 */
export const batchNormTrainingOutputs: Adapter = (c) => {
  const outs = c.node.output;
  if (outs.length <= 1) return undefined;
  const saved = outs.slice(3).filter(Boolean);
  const read = saved.filter((o) => c.isRead(o));
  if (read.length) return c.refuse(`the saved batch statistics ${read.join(', ')} are read, and BatchNormalization has no such outputs from opset 14`);
  for (const o of saved) c.graph.removeValueInfo(o);
  outs.length = Math.min(outs.length, 3);
  while (outs.length > 1 && outs[outs.length - 1] === '') outs.pop();
  c.graph.invalidate();
  setAttribute(c.node, attr.int('training_mode', 1));
  return `training_mode=1 written out (its extra outputs meant training before opset 14)${saved.length ? `; unread saved statistics ${saved.join(', ')} dropped` : ''}`;
};

/** RoiAlign-16: coordinate_transformation_mode was added with default half_pixel; the old arithmetic is output_half_pixel. */
export const roiAlignOutputHalfPixel: Adapter = (c) => {
  if (getAttribute(c.node, 'coordinate_transformation_mode')) return undefined;
  setAttribute(c.node, attr.string('coordinate_transformation_mode', 'output_half_pixel'));
  return 'coordinate_transformation_mode=output_half_pixel written out (the arithmetic before opset 16; the new default is half_pixel)';
};

/** Split-18: an even split now needs num_outputs (before, the number of outputs said it). */
export const splitNumOutputs: Adapter = (c) => {
  if (c.node.input[1] || getAttribute(c.node, 'num_outputs')) return undefined;
  setAttribute(c.node, attr.int('num_outputs', c.node.output.length));
  return `num_outputs=${c.node.output.length} written out: Split-18 needs it when no split sizes are given`;
};

/** GridSample-20: modes bilinear and bicubic were renamed linear and cubic. */
export const gridSampleModeNames: Adapter = (c) => {
  refuseAttributeReference(c, 'mode');
  const mode = stringAttr(c.node, 'mode');
  const renamed: Record<string, string> = { bilinear: 'linear', bicubic: 'cubic' };
  const to = mode === undefined ? undefined : renamed[mode];
  if (!to) return undefined;
  setAttribute(c.node, attr.string('mode', to));
  return `mode ${mode} renamed ${to}`;
};

/** One value per group → one per channel (each group's value repeated over its channels). */
function perChannel(c: StepContext, name: string, groups: number, channels: number | undefined, x: string): string {
  const t = c.constant(name);
  if (t && channels !== undefined) {
    const v = tensorToFloat32(t);
    if (v.length !== groups) return c.refuse(`${name} has ${v.length} values for ${groups} groups`);
    const per = channels / groups;
    const out = Array.from({ length: channels }, (_, i) => v[Math.floor(i / per)] as number);
    return c.typed(`${name}_per_channel`, t.dataType, out, [channels]);
  }
  // Channels known only at run time: Expand [G, 1] to [G, C / G] and flatten.
  const b = c.base;
  const col = c.fresh(`${name}_column`);
  const reps = c.fresh(`${b}_channels_per_group`);
  const expanded = c.fresh(`${name}_expanded`);
  const out = c.fresh(`${name}_per_channel`);
  let perGroup: string;
  if (channels !== undefined) {
    perGroup = c.int64s(`${b}_group_width`, [channels / groups]);
  } else {
    const shape = c.fresh(`${x}_shape`);
    const ch = c.fresh(`${x}_channels`);
    perGroup = c.fresh(`${b}_group_width`);
    c.insertBefore(c.newNode('Shape', [x], [shape]));
    c.insertBefore(c.newNode('Gather', [shape, c.int64s(`${b}_one`, [1])], [ch], { axis: 0 }));
    c.insertBefore(c.newNode('Div', [ch, c.int64s(`${b}_groups`, [groups])], [perGroup]));
  }
  c.insertBefore(c.newNode('Unsqueeze', [name, c.int64s(`${b}_axis1`, [1])], [col]));
  c.insertBefore(c.newNode('Concat', [c.int64s(`${b}_num_groups`, [groups]), perGroup], [reps], { axis: 0 }));
  c.insertBefore(c.newNode('Expand', [col, reps], [expanded]));
  c.insertBefore(c.newNode('Reshape', [expanded, c.int64s(`${b}_flat`, [-1])], [out]));
  return out;
}

/**
 * GroupNormalization-21: scale and bias hold one value per channel (they held one per group). Each
 * group's value is repeated over its C / num_groups channels: folded into new constants when the
 * channel count and the values are known, computed with Expand otherwise. stash_type (new) keeps its
 * default, float: for float32 inputs nothing changes; float16 inputs now get their statistics in float32.
 */
export const groupNormPerChannel: Adapter = (c) => {
  refuseAttributeReference(c, 'num_groups');
  const groups = attrInt(c.node, 'num_groups');
  if (groups === undefined || groups <= 0) return c.refuse('GroupNormalization needs num_groups');
  const [x = '', scale = '', bias = ''] = c.node.input;
  const dim = c.shape(x)?.[1];
  const channels = typeof dim === 'number' ? dim : undefined;
  if (channels !== undefined && channels % groups !== 0) return c.refuse(`${channels} channels do not divide into ${groups} groups`);
  const st = c.constant(scale);
  const scaleShape = st ? tensorDims(st) : c.shape(scale);
  if (channels !== undefined && scaleShape?.length === 1 && scaleShape[0] === channels && channels !== groups) {
    return c.refuse(`scale already has ${channels} values (one per channel), which GroupNormalization-18 does not allow`);
  }
  const t = c.elemType(x);
  c.node.input[1] = perChannel(c, scale, groups, channels, x);
  c.node.input[2] = perChannel(c, bias, groups, channels, x);
  c.graph.invalidate();
  removeAttribute(c.node, 'stash_type');
  const half = t === DataType.FLOAT16 || t === DataType.BFLOAT16;
  return `scale and bias repeated from ${groups} groups to ${channels ?? 'C'} channels${half ? '; statistics now computed in float32 (stash_type default)' : ''}`;
};

