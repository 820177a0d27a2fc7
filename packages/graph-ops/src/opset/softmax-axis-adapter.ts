import { attr, attrInt, setAttribute } from '@onnx-forge/core';
import { refuseAttributeReference, type Adapter } from './adapter.js';

/**
 * Softmax, LogSoftmax, Hardmax at opset 13: before, the input was coerced to 2-D at `axis` (default 1)
 * and the operator ran over everything from `axis` on; from 13 it runs over `axis` alone (default -1).
 *
 * When the rank is known and `axis` is the last axis, or every axis after it has size 1, the two agree
 * and only `axis` is written out. Otherwise the old result is kept with Flatten(axis) → op over the
 * last axis → Reshape back, to the declared shape when it is fully known and to Shape(input) when not.
 */
export const coercedTo2dAxis: Adapter = (c) => {
  refuseAttributeReference(c, 'axis');
  const given = attrInt(c.node, 'axis');
  const axis = given ?? 1;
  const x = c.node.input[0] ?? '';
  const shape = c.shape(x);
  if (shape) {
    const rank = shape.length;
    const a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= Math.max(rank, 1)) return c.refuse(`axis=${axis} is outside the rank ${rank} of ${x}`);
    if (a === rank - 1 || shape.slice(a + 1).every((d) => d === 1)) {
      if (given === a) return undefined;
      setAttribute(c.node, attr.int('axis', a));
      return given === undefined
        ? `axis=${a} written out: the old default (1) ${a === rank - 1 ? 'is the last axis' : 'has only unit axes after it'}, and the default is now -1`
        : `axis ${axis} → ${a}: only unit axes follow it, so the 2-D coercion changes nothing`;
    }
  }
  // Run over the flattened trailing block, then restore the shape.
  const flat = c.fresh(`${x}_flat2d`);
  c.insertBefore(c.newNode('Flatten', [x], [flat], { axis }));
  c.graph.setInput(c.node, 0, flat);
  setAttribute(c.node, attr.int('axis', -1));
  const { original, renamed } = c.detachOutput(0);
  const known = shape?.every((d): d is number => typeof d === 'number' && d > 0) === true;
  let target: string;
  let how: string;
  if (known && shape) {
    target = c.int64s(`${original}_shape`, shape as number[]);
    how = `Reshape to the declared shape [${shape.join(', ')}]`;
  } else {
    target = c.fresh(`${x}_shape`);
    c.insertBefore(c.newNode('Shape', [x], [target]));
    how = 'Reshape to Shape(input) (the shape is not fully declared)';
  }
  c.insertAfter(c.newNode('Reshape', [renamed, target], [original]));
  return `kept the 2-D coercion at axis ${axis}${given === undefined ? ' (the old default)' : ''}: Flatten, ${c.node.opType} over the last axis, ${how}`;
};
