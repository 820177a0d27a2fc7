import { join } from 'node:path';
import type { TensorProto } from '@onnx-forge/core';
import { ONNX_TEST_DATA, listTestDirs, readTestDataSets, tensorToOrtArgs, type TestDataSet } from '@onnx-forge/core/testing';
import type { RunnerDType, RunnerFeeds, RunnerTensor } from '@onnx-forge/core';

/** Where Debian's `libonnx-testdata` installs the ONNX backend node tests. */
export const NODE_TEST_ROOT = join(ONNX_TEST_DATA, 'node');

export interface NodeTestCase {
  name: string;
  dir: string;
  modelPath: string;
  dataSets: TestDataSet[];
}

/** Every node test directory that has a model. */
export function listNodeTests(root = NODE_TEST_ROOT): string[] {
  return listTestDirs(root);
}

export function loadNodeTest(name: string, root = NODE_TEST_ROOT): NodeTestCase {
  const dir = join(root, name);
  return { name, dir, modelPath: join(dir, 'model.onnx'), dataSets: readTestDataSets(dir) };
}

/** The element types a ModelRunner takes (core's test helpers also name int4/uint4, which it does not). */
const RUNNER_DTYPES: ReadonlySet<string> = new Set<RunnerDType>([
  'float32', 'float16', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string',
]);

/** A TensorProto as a runner tensor (its own copy of the data), or undefined for element types a runner cannot take. */
export function protoToRunner(t: TensorProto): RunnerTensor | undefined {
  const args = tensorToOrtArgs(t);
  if (!args || !RUNNER_DTYPES.has(args.type)) return undefined;
  return { type: args.type as RunnerDType, dims: args.dims, data: args.data as RunnerTensor['data'] };
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
