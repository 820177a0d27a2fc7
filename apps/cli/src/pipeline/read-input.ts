import { statSync } from 'node:fs';
import { modelWeightBytes, openModel, readModel, type Model } from '@onnx-forge/core';
import { formatBytes } from '@onnx-forge/core';
import type { Progress } from '../framework/progress.js';

export interface InputModel {
  model: Model;
  path: string;
  /** Size of the .onnx file (external data not counted). */
  bytes: number;
  /** Whether the weights stay in their files and stream through the passes to the output. */
  streamed: boolean;
}

/**
 * Models whose weights (inline and external) add up to this are streamed: a model past 2 GiB must
 * keep its weights in external data, and one of 1 GiB would already hold the machine's memory twice
 * over with its converted copy.
 */
export const STREAM_FROM_BYTES = 1 << 30;

/**
 * Opens the model a command reads. The graph is read first without the weights (core's `openModel`,
 * which also checks every external data reference); the weights then stay in their files when
 * `stream` is true, or unset and they add up to STREAM_FROM_BYTES or more: passes read each weight
 * when they convert it and the writer when it reaches it, so memory holds the graph and a few
 * tensors, not the model. Smaller models are read whole (tensor bytes are views into one buffer).
 */
export async function openInput(file: string, stream: boolean | undefined): Promise<{ model: Model; streamed: boolean }> {
  if (stream === false) return { model: await readModel(file), streamed: false };
  const lazy = await openModel(file);
  if (stream === true || modelWeightBytes(lazy) >= STREAM_FROM_BYTES) return { model: lazy, streamed: true };
  return { model: await readModel(file), streamed: false };
}

/** Reads the model a command transforms, as one progress phase. */
export async function readInput(file: string, progress: Progress, options: { stream?: boolean } = {}): Promise<InputModel> {
  const bytes = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  progress.start(`reading ${file}`);
  const { model, streamed } = await openInput(file, options.stream);
  progress.end(streamed ? `${formatBytes(modelWeightBytes(model))} of weights, streamed from the file` : formatBytes(bytes));
  return { model, path: file, bytes, streamed };
}
