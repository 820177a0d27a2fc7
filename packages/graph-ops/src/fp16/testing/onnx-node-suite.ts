import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataType, decodeTensor, tensorDims, tensorToArray, type TensorProto } from '@onnx-forge/core';
import type { RunnerFeeds, RunnerTensor, RunnerDType } from '../../runner.js';

/** Where Debian's `libonnx-testdata` installs the ONNX backend node tests. */
export const NODE_TEST_ROOT = '/usr/share/libonnx-testdata/data/node';

export interface NodeTestCase {
  name: string;
  dir: string;
  modelPath: string;
  dataSets: { inputs: TensorProto[]; outputs: TensorProto[] }[];
}

/** Every node test directory that has a model and at least one data set. */
export function listNodeTests(root = NODE_TEST_ROOT): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((n) => existsSync(join(root, n, 'model.onnx')))
    .sort();
}

function indexOf(file: string): number {
  return Number(/_(\d+)\.pb$/.exec(file)?.[1] ?? 0);
}

export function loadNodeTest(name: string, root = NODE_TEST_ROOT): NodeTestCase {
  const dir = join(root, name);
  const sets = readdirSync(dir).filter((n) => n.startsWith('test_data_set_') && statSync(join(dir, n)).isDirectory()).sort();
  const dataSets = sets.map((s) => {
    const files = readdirSync(join(dir, s));
    const load = (prefix: string) =>
      files
        .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
        .sort((a, b) => indexOf(a) - indexOf(b))
        .map((f) => decodeTensor(readFileSync(join(dir, s, f))));
    return { inputs: load('input_'), outputs: load('output_') };
  });
  return { name, dir, modelPath: join(dir, 'model.onnx'), dataSets };
}

const RUNNER_TYPE: Partial<Record<number, RunnerDType>> = {
  [DataType.FLOAT]: 'float32', [DataType.FLOAT16]: 'float16', [DataType.DOUBLE]: 'float64', [DataType.INT8]: 'int8',
  [DataType.UINT8]: 'uint8', [DataType.INT16]: 'int16', [DataType.UINT16]: 'uint16', [DataType.INT32]: 'int32',
  [DataType.UINT32]: 'uint32', [DataType.INT64]: 'int64', [DataType.UINT64]: 'uint64', [DataType.BOOL]: 'bool',
  [DataType.STRING]: 'string',
};

/** A TensorProto as a runner tensor, or undefined for element types onnxruntime-node cannot take from JS. */
export function protoToRunner(t: TensorProto): RunnerTensor | undefined {
  const type = RUNNER_TYPE[t.dataType];
  if (!type) return undefined;
  const dims = tensorDims(t);
  if (type === 'string') return { type, dims, data: t.stringData.map((b) => new TextDecoder().decode(b)) };
  const arr = tensorToArray(t);
  // Copy so the runtime never holds views into the test file buffers.
  return { type, dims, data: arr.slice() };
}

export function feedsFor(inputNames: readonly string[], inputs: TensorProto[]): RunnerFeeds | undefined {
  const feeds: RunnerFeeds = {};
  for (let i = 0; i < inputNames.length; i++) {
    const t = inputs[i];
    if (!t) return undefined;
    const r = protoToRunner(t);
    if (!r) return undefined;
    feeds[inputNames[i] as string] = r;
  }
  return feeds;
}
