import { statSync } from 'node:fs';
import { readModel, type Model } from '@onnx-forge/core';
import { formatBytes } from '../framework/format.js';
import type { Progress } from '../framework/progress.js';

export interface InputModel {
  model: Model;
  path: string;
  /** Size of the .onnx file (external data not counted). */
  bytes: number;
}

/** Reads the model a command transforms, as one progress phase. */
export async function readInput(file: string, progress: Progress): Promise<InputModel> {
  const bytes = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  progress.start(`reading ${file}`);
  const model = await readModel(file);
  progress.end(formatBytes(bytes));
  return { model, path: file, bytes };
}
