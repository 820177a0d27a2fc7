import { statSync } from 'node:fs';
import path from 'node:path';
import { externalLocations, modelWeightBytes, openModel, readModel, type Model } from '@onnx-forge/core';
import { formatBytes } from '@onnx-forge/core';
import type { Progress } from '../framework/progress.js';
import { recordInput } from './run-files.js';

export interface InputModel {
  model: Model;
  path: string;
  /** Size of the model's files: the .onnx and its external data, as the output's `totalBytes`. */
  bytes: number;
  /** The external data files the model keeps its weights in (absolute paths) and their size together. */
  externalData?: { paths: string[]; bytes: number };
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
 * `externalFiles` are the files the model's external data names, resolved in its folder (checked to
 * exist when the weights are read).
 */
export async function openInput(file: string, stream: boolean | undefined): Promise<{ model: Model; streamed: boolean; externalFiles: string[] }> {
  const dir = path.dirname(path.resolve(file));
  // The references, read from the graph alone: reading the weights (or pointing the tensors at their
  // regions) clears them.
  const externalFiles = externalLocations((await openModel(file, { externalData: false })).proto).map((l) => path.resolve(dir, l));
  if (stream === false) return { model: await readModel(file), streamed: false, externalFiles };
  const lazy = await openModel(file);
  if (stream === true || modelWeightBytes(lazy) >= STREAM_FROM_BYTES) return { model: lazy, streamed: true, externalFiles };
  return { model: await readModel(file), streamed: false, externalFiles };
}

/**
 * Reads the model a command transforms, as one progress phase. Its files are recorded for the run
 * (`recordInput`): the output checked before is refused now if it would replace the input's
 * external data, before any pass runs.
 */
export async function readInput(file: string, progress: Progress, options: { stream?: boolean } = {}): Promise<InputModel> {
  const onnxBytes = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  progress.start(`reading ${file}`);
  const { model, streamed, externalFiles } = await openInput(file, options.stream);
  const externalBytes = externalFiles.reduce((sum, f) => sum + (statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
  const bytes = onnxBytes + externalBytes;
  recordInput(progress, file, externalFiles);
  progress.end(streamed ? `${formatBytes(modelWeightBytes(model))} of weights, streamed from the file` : formatBytes(bytes));
  return { model, path: file, bytes, ...(externalFiles.length ? { externalData: { paths: externalFiles, bytes: externalBytes } } : {}), streamed };
}
