import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataType } from '../dtype.js';
import { ONNX_TEST_DATA, listTestDirs, readTestDataSets } from './index.js';

const NODE = join(ONNX_TEST_DATA, 'node');

describe.skipIf(!existsSync(NODE))('ONNX backend test data', () => {
  it('lists the test directories holding a model, sorted', () => {
    const names = listTestDirs(NODE);
    expect(names.length).toBeGreaterThan(900);
    expect(names).toEqual([...names].sort());
    for (const n of names.slice(0, 20)) expect(existsSync(join(NODE, n, 'model.onnx'))).toBe(true);
    expect(listTestDirs(join(NODE, 'no-such-dir'))).toEqual([]);
  });

  it('reads the data sets next to a model, inputs and outputs in index order', () => {
    const sets = readTestDataSets(join(NODE, 'test_add'));
    expect(sets.map((s) => s.name)).toEqual(['test_data_set_0']);
    const [set] = sets;
    expect(set?.inputs.map((t) => t.dataType)).toEqual([DataType.FLOAT, DataType.FLOAT]);
    expect(set?.outputs).toHaveLength(1);
    expect(readTestDataSets(join(NODE, 'no-such-test'))).toEqual([]);
  });
});
