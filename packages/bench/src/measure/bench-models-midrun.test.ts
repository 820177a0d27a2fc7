import { ModelBuilder, type Model, type RunnerFeeds } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { benchModels } from './bench-models.js';

/** y = x reshaped to [2, 2]: runs on a [1, 4] sample, fails on a [2, 4] one. */
function reshapeModel(): Model {
  const b = new ModelBuilder({ opset: 17, graphName: 'reshape_fixed' });
  const x = b.input('x', 'float32', ['batch', 4]);
  const y = b.op('Reshape', [x, b.constant([2, 2], 'int64')], {}, { outputs: ['y'] });
  b.output(y, 'float32', [2, 2]);
  return b.build();
}

/** y = x + x: runs at any batch. */
function addModel(): Model {
  const b = new ModelBuilder({ opset: 17, graphName: 'add_any' });
  const x = b.input('x', 'float32', ['batch', 4]);
  const y = b.op('Add', [x, x], {}, { outputs: ['y'] });
  b.output(y, 'float32', ['batch', 4]);
  return b.build();
}

const samples: RunnerFeeds[] = [
  { x: { type: 'float32', dims: [1, 4], data: new Float32Array([1, 2, 3, 4]) } },
  { x: { type: 'float32', dims: [2, 4], data: new Float32Array(8).fill(1) } },
];

describe('benchModels: a model that fails during the timed runs', () => {
  it('is reported with its code while the other models are still measured', async () => {
    const r = await benchModels([addModel(), reshapeModel()], { names: ['add', 'reshape'], inputs: samples, runs: 6, warmup: 2 });
    const [add, reshape] = r.models;
    expect(reshape).toMatchObject({ name: 'reshape', status: 'failed', error: { stage: 'benchmark' } });
    expect(add?.status, JSON.stringify(add?.error)).toBe('ok');
    expect(add?.latency?.n).toBe(6);
    expect(r.baseline).toBe('add');
  });
});
