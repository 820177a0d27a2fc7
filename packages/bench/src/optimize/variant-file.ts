import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { decodeModel, encodeModel, modelTensors, onnx, writeModel, type Model } from '@onnx-forge/core';
import type { VariantResult } from './optimize-result.js';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Writes a variant's model and gives what the result says of its file, its size (external data
 * included) and hash, and `identity`: what two variants share when they are the same model, the file's
 * hash for a model in one file, and with external data (models past 2 GiB) a hash of the graph and of
 * the data file together (see externalIdentity).
 */
export async function writeVariantFile(model: Model, path: string): Promise<{ bytes: number; sha256: string; identity: string }> {
  const w = await writeModel(model, path);
  const sha256 = await sha256File(path);
  const identity = w.externalData ? await externalIdentity(path, w.externalData.path) : sha256;
  return { bytes: w.bytes + (w.externalData?.bytes ?? 0), sha256, identity };
}

/**
 * The identity of a model written with external data: the weights are in the data file, which the
 * .onnx file's hash leaves out, and the .onnx file names its data file (`<variant>.onnx.data`), so two
 * variants that are the same model never have the same .onnx hash. It hashes the graph with those
 * names blanked, and the data file.
 */
async function externalIdentity(path: string, dataPath: string): Promise<string> {
  const proto = decodeModel(await readFile(path));
  for (const { tensor } of modelTensors(proto)) {
    if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    for (const e of tensor.externalData) if (e.key === 'location') e.value = '';
  }
  const graph = createHash('sha256').update(encodeModel(proto)).digest('hex');
  return createHash('sha256').update(`${graph} ${await sha256File(dataPath)}`).digest('hex');
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
