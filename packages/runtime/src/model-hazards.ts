import { memorySource, openModel } from '@onnx-forge/core';
import { type EmptyInputHazard, emptyInputHazardIn } from './empty-input-hazard.js';
import { type DeepTree, treeDepthHazardIn } from './tree-depth-hazard.js';

/** What in a model makes onnxruntime end the process instead of failing: checked before it loads it. */
export interface ModelHazards {
  /** A node an empty tensor must not reach (feeds with a 0 dimension are refused). */
  readonly emptyInput: EmptyInputHazard | undefined;
  /** A tree too deep to load (the model is refused). */
  readonly deepTree: DeepTree | undefined;
}

const NONE: ModelHazards = { emptyInput: undefined, deepTree: undefined };

/**
 * The hazards of a model given as bytes or a path. The graph is decoded without its weights
 * (milliseconds even for a large model). A model that cannot be read here, or a URL in a browser, has
 * none: onnxruntime judges it on load, and this only tightens the checks.
 */
export async function findModelHazards(model: Uint8Array | string): Promise<ModelHazards> {
  if (typeof model === 'string' && (typeof process === 'undefined' || !process.versions?.node)) return NONE;
  let opened;
  try {
    opened = await openModel(typeof model === 'string' ? model : memorySource(model), { externalData: false });
  } catch {
    return NONE;
  }
  return { emptyInput: emptyInputHazardIn(opened), deepTree: treeDepthHazardIn(opened) };
}

/** The first node of the model on which onnxruntime aborts when an empty tensor reaches it, or undefined. */
export async function findEmptyInputHazard(model: Uint8Array | string): Promise<EmptyInputHazard | undefined> {
  return (await findModelHazards(model)).emptyInput;
}
