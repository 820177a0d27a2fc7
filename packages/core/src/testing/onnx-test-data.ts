import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeTensor } from '../codec/codec.js';
import type { TensorProto } from '../proto/types.js';

/** Where Debian's `libonnx-testdata` installs the ONNX backend test suite. */
export const ONNX_TEST_DATA = '/usr/share/libonnx-testdata/data';

/** One test data set of an ONNX backend test: `input_<i>.pb` and `output_<i>.pb`, in index order. */
export interface TestDataSet {
  name: string;
  inputs: TensorProto[];
  outputs: TensorProto[];
}

/** Every `.onnx` file under `root`, sorted, as absolute paths. */
export function findOnnxFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.onnx')) out.push(full);
    }
  };
  walk(root);
  return out.sort();
}

/** Names of the test directories directly under `root` that hold a `model.onnx`, sorted (none when `root` is missing). */
export function listTestDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((n) => existsSync(join(root, n, 'model.onnx')))
    .sort();
}

/**
 * The test data sets next to a model (`<dir>/test_data_set_*`), decoded with `decodeTensor`. Files
 * that hold a SequenceProto, MapProto or OptionalProto decode as junk tensors: callers decide from the
 * model's declared input types whether the data is usable.
 */
export function readTestDataSets(modelDir: string): TestDataSet[] {
  let names: string[];
  try {
    names = readdirSync(modelDir).filter((n) => n.startsWith('test_data_set_') && statSync(join(modelDir, n)).isDirectory());
  } catch {
    return [];
  }
  return names.sort().map((name) => {
    const dir = join(modelDir, name);
    const files = readdirSync(dir);
    const load = (prefix: string) =>
      files
        .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
        .sort((x, y) => index(x) - index(y))
        .map((f) => decodeTensor(readFileSync(join(dir, f)), { source: join(dir, f) }));
    return { name, inputs: load('input_'), outputs: load('output_') };
  });
}

function index(file: string): number {
  return Number(/_(\d+)\.pb$/.exec(file)?.[1] ?? 0);
}
