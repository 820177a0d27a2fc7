import { DataType, attrFloat, attrInt, attrInts, getAttribute, removeAttribute } from '@onnx-forge/core';
import { refuseAttributeReference, type Adapter } from './adapter.js';
import type { StepContext } from './step-context.js';

/*
 * Attributes that became inputs: the value moves to a constant (an initializer, or a Constant node in a
 * function body) at the input position the new schema gives it; optional inputs left out stay empty.
 */

/** Puts `name` at input `index`, padding skipped optional inputs with ''. */
function setInputAt(c: StepContext, index: number, name: string): void {
  while (c.node.input.length < index) c.node.input.push('');
  c.node.input[index] = name;
  c.graph.invalidate();
}

/** Drops trailing empty inputs (an optional input at the end is left out, not named ''). */
function trimInputs(c: StepContext): void {
  while (c.node.input.length && c.node.input[c.node.input.length - 1] === '') c.node.input.pop();
}

/** An ints attribute → an int64 input at `index` (left empty when the attribute is absent and `required` is false). */
function intsToInput(name: string, index: number, required = false): Adapter {
  return (c) => {
    refuseAttributeReference(c, name);
    const values = attrInts(c.node, name);
    if (!values) {
      if (required) return c.refuse(`attribute "${name}" is missing, and from opset ${c.version} it is a required input`);
      return undefined;
    }
    removeAttribute(c.node, name);
    setInputAt(c, index, c.int64s(`${c.base}_${name}`, values));
    trimInputs(c);
    return `${name} attribute moved to an int64 input`;
  };
}

/** Slice-10: starts, ends, axes became inputs (and steps was added). */
export const sliceAttributesToInputs: Adapter = (c) => {
  for (const n of ['starts', 'ends', 'axes']) refuseAttributeReference(c, n);
  const starts = attrInts(c.node, 'starts');
  const ends = attrInts(c.node, 'ends');
  if (!starts || !ends) {
    if (c.node.input.length >= 3) return undefined;
    return c.refuse('Slice-1 needs starts and ends');
  }
  const axes = attrInts(c.node, 'axes');
  for (const n of ['starts', 'ends', 'axes']) removeAttribute(c.node, n);
  setInputAt(c, 1, c.int64s(`${c.base}_starts`, starts));
  setInputAt(c, 2, c.int64s(`${c.base}_ends`, ends));
  if (axes) setInputAt(c, 3, c.int64s(`${c.base}_axes`, axes));
  return `starts, ends${axes ? ', axes' : ''} moved to int64 inputs`;
};

/** TopK-10: `k` became the 1-D int64 input K. */
export const topKToInput: Adapter = (c) => {
  refuseAttributeReference(c, 'k');
  const k = attrInt(c.node, 'k');
  if (k === undefined) {
    if (c.node.input[1]) return undefined;
    return c.refuse('TopK-1 needs the k attribute');
  }
  removeAttribute(c.node, 'k');
  setInputAt(c, 1, c.int64s(`${c.base}_k`, [k]));
  return `k=${k} moved to the int64 input K`;
};

/** Clip-11: min and max became optional inputs of the input's element type. */
export const clipBoundsToInputs: Adapter = (c) => {
  refuseAttributeReference(c, 'min');
  refuseAttributeReference(c, 'max');
  const min = attrFloat(c.node, 'min');
  const max = attrFloat(c.node, 'max');
  if (min === undefined && max === undefined) return undefined;
  const t = c.requireElemType(0, 'the min/max constants of Clip-11');
  removeAttribute(c.node, 'min');
  removeAttribute(c.node, 'max');
  c.node.input.length = 1;
  setInputAt(c, 1, min === undefined ? '' : c.typed(`${c.base}_min`, t, [min], []));
  setInputAt(c, 2, max === undefined ? '' : c.typed(`${c.base}_max`, t, [max], []));
  trimInputs(c);
  return `${[min === undefined ? '' : `min=${min}`, max === undefined ? '' : `max=${max}`].filter(Boolean).join(', ')} moved to inputs`;
};

/** Pad-11: pads became an int64 input and value the optional constant_value input (data's type). */
export const padAttributesToInputs: Adapter = (c) => {
  refuseAttributeReference(c, 'pads');
  refuseAttributeReference(c, 'value');
  const pads = attrInts(c.node, 'pads');
  if (!pads) {
    if (c.node.input[1]) return undefined;
    return c.refuse('Pad-2 needs the pads attribute');
  }
  const value = attrFloat(c.node, 'value');
  removeAttribute(c.node, 'pads');
  removeAttribute(c.node, 'value');
  setInputAt(c, 1, c.int64s(`${c.base}_pads`, pads));
  if (value !== undefined && value !== 0) {
    const t = c.requireElemType(0, 'the constant_value input of Pad-11');
    setInputAt(c, 2, c.typed(`${c.base}_value`, t, [value], []));
  }
  return `pads${value !== undefined && value !== 0 ? ` and value=${value}` : ''} moved to inputs`;
};

/**
 * Dropout-12: `ratio` became an optional input (and training_mode an input, false by default). A
 * read mask is now defined at inference as all true; before opset 12 its value there was unspecified
 * ("not filled"; onnxruntime gave false), so the decision says so.
 */
export const dropoutRatioToInput: Adapter = (c) => {
  refuseAttributeReference(c, 'ratio');
  const done: string[] = [];
  const ratio = attrFloat(c.node, 'ratio');
  if (ratio !== undefined) {
    removeAttribute(c.node, 'ratio');
    setInputAt(c, 1, c.typed(`${c.base}_ratio`, DataType.FLOAT, [ratio], []));
    done.push(`ratio=${ratio} moved to an input`);
  }
  if (c.isRead(c.node.output[1])) {
    done.push('the mask is read: at inference it is all true from opset 12 (before, its value there was unspecified; onnxruntime gave false)');
  }
  return done.length ? done.join('; ') : undefined;
};

/** Split-13: `split` became an optional int64 input. */
export const splitToInput: Adapter = intsToInput('split', 1);

/** Squeeze-13: `axes` became an optional int64 input. */
export const squeezeAxesToInput: Adapter = intsToInput('axes', 1);

/** Unsqueeze-13: `axes` became a required int64 input. */
export const unsqueezeAxesToInput: Adapter = intsToInput('axes', 1, true);

/**
 * ReduceSum-13 and the other Reduce* at 18: `axes` became an optional input. Without axes the node
 * reduced every axis before, as it does now (noop_with_empty_axes defaults to 0).
 */
export const reduceAxesToInput: Adapter = intsToInput('axes', 1);

/**
 * DFT-20: `axis` became an optional input whose default moved from 1 to -2, so the axis is always
 * written out (the old default included).
 */
export const dftAxisToInput: Adapter = (c) => {
  refuseAttributeReference(c, 'axis');
  const axis = attrInt(c.node, 'axis', 1);
  const had = getAttribute(c.node, 'axis') !== undefined;
  removeAttribute(c.node, 'axis');
  setInputAt(c, 2, c.int64s(`${c.base}_axis`, [axis], []));
  return `axis=${axis}${had ? '' : ' (the old default)'} moved to the axis input, whose default is now -2`;
};
