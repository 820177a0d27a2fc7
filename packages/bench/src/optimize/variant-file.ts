import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { writeModel, type Model } from '@onnx-forge/core';
import type { VariantResult } from './optimize-result.js';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes a variant's model and gives what the result says of its file: its size (external data included) and hash. */
export async function writeVariantFile(model: Model, path: string): Promise<{ bytes: number; sha256: string }> {
  const w = await writeModel(model, path);
  return { bytes: w.bytes + (w.externalData?.bytes ?? 0), sha256: await sha256File(path) };
}

/**
 * Removes a variant's file (it failed to write, load or run) and what the result said of it: its name,
 * size and hash describe no file any more, so none of them is reported.
 */
export async function dropVariantFile(v: VariantResult, path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.data`, { force: true });
  delete v.file;
  delete v.bytes;
  delete v.sizeRatio;
  delete v.sha256;
}
