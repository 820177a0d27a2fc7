import { DataType, attr, setAttribute, tensorToFloat32 } from '@onnx-forge/core';
import { refuseAttributeReference, stringAttr, type Adapter } from './adapter.js';

/*
 * Upsample was removed at opset 10 for Resize, whose coordinate mapping and rounding became
 * attributes at 11 with new defaults (half_pixel, round_prefer_floor), and whose
 * tf_half_pixel_for_nn mode was dropped at 13.
 */

/** Upsample → Resize at opset 10: Resize-10 has Upsample-9's inputs, modes and arithmetic. */
export const upsampleToResize: Adapter = (c) => {
  c.node.opType = 'Resize';
  c.graph.invalidate();
  return 'Upsample (removed at opset 10) became Resize, which has the same inputs and arithmetic at opset 10';
};

/**
 * Resize-11: roi is inserted before scales, and the opset-10 arithmetic (asymmetric coordinates;
 * nearest rounds down when enlarging and up when shrinking, as onnxruntime's opset-10 kernel does)
 * is written out, since the new defaults differ.
 */
export const resizeTo11: Adapter = (c) => {
  refuseAttributeReference(c, 'mode');
  const mode = stringAttr(c.node, 'mode') ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'linear') return c.refuse(`mode "${mode}" is not a Resize-10 mode (nearest or linear)`);
  const [x = '', scales = ''] = c.node.input;
  let rounding = '';
  if (mode === 'nearest') {
    const t = c.constant(scales);
    const values = t ? Array.from(tensorToFloat32(t)) : undefined;
    const up = values?.some((s) => s > 1) ?? false;
    const down = values?.some((s) => s < 1) ?? false;
    if (up && down) return c.refuse(`scales [${values?.join(', ')}] enlarge some axes and shrink others; opset 10 rounded each way differently and one nearest_mode cannot express both`);
    const nearest = down ? 'ceil' : 'floor';
    setAttribute(c.node, attr.string('nearest_mode', nearest));
    rounding = values ? `, nearest_mode=${nearest}` : ', nearest_mode=floor (scales not constant: taken as enlarging, as Upsample required)';
  }
  setAttribute(c.node, attr.string('coordinate_transformation_mode', 'asymmetric'));
  const roi = c.typed(`${c.base}_roi`, DataType.FLOAT, [], [0]);
  c.node.input.length = 0;
  c.node.input.push(x, roi, scales);
  c.graph.invalidate();
  return `empty roi input inserted before scales; coordinate_transformation_mode=asymmetric${rounding} keep the opset-10 arithmetic`;
};

/**
 * Resize-13 deprecated coordinate_transformation_mode=tf_half_pixel_for_nn (onnx Changelog, Resize-13;
 * onnxruntime warns from 13, microsoft/onnxruntime#5575), x = (y + 0.5) / scale. With
 * nearest, rounding that down (up) is rounding x - 0.5 half-up (up), i.e. half_pixel with
 * round_prefer_ceil (ceil); other combinations have no equivalent.
 */
export const resizeDropTfHalfPixelForNn: Adapter = (c) => {
  refuseAttributeReference(c, 'coordinate_transformation_mode');
  if (stringAttr(c.node, 'coordinate_transformation_mode') !== 'tf_half_pixel_for_nn') return undefined;
  const mode = stringAttr(c.node, 'mode') ?? 'nearest';
  const nearest = stringAttr(c.node, 'nearest_mode') ?? 'round_prefer_floor';
  const equivalent: Record<string, string> = { floor: 'round_prefer_ceil', round_prefer_floor: 'ceil' };
  const to = equivalent[nearest];
  if (mode !== 'nearest' || !to) {
    return c.refuse(`coordinate_transformation_mode=tf_half_pixel_for_nn (removed at opset 13) with mode=${mode}, nearest_mode=${nearest} has no equivalent`);
  }
  setAttribute(c.node, attr.string('coordinate_transformation_mode', 'half_pixel'));
  setAttribute(c.node, attr.string('nearest_mode', to));
  return `tf_half_pixel_for_nn with nearest_mode=${nearest} written as half_pixel with nearest_mode=${to}`;
};
