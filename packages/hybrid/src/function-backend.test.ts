import type { Feeds } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { functionBackend } from './function-backend.js';

describe('functionBackend', () => {
  it('turns { data, dims } into tensors, inferring the element type', async () => {
    const b = functionBackend('js', (feeds: Feeds) => ({
      y: { data: [1, 2], dims: [1, 2] },
      ids: { data: BigInt64Array.from([3n]), dims: [1] },
      half: { data: new Uint16Array(1), dims: [1], type: 'float16' },
      s: { data: ['a'], dims: [1] },
      echo: feeds.x as { data: Float32Array; dims: number[] },
    }), { sizeBytes: 42 });
    const out = await b.predict({ x: { data: new Float32Array([5]), dims: [1] } });
    expect(out.y).toEqual({ type: 'float32', dims: [1, 2], data: Float32Array.from([1, 2]) });
    expect(out.ids?.type).toBe('int64');
    expect(out.half?.type).toBe('float16');
    expect(out.s?.type).toBe('string');
    expect(out.echo?.type).toBe('float32');
    expect(b.sizeBytes).toBe(42);
  });

  it('types an empty plain array from dims and type, not as strings: no rows of scores are float32, or the type given', async () => {
    const b = functionBackend('js', () => ({
      none: { data: [], dims: [0, 4] },
      typed: { data: [], dims: [0], type: 'int32' },
      words: { data: [], dims: [0], type: 'string' },
    }));
    const out = await b.predict({});
    expect(out.none).toEqual({ type: 'float32', dims: [0, 4], data: new Float32Array(0) });
    expect(out.typed).toEqual({ type: 'int32', dims: [0], data: new Int32Array(0) });
    expect(out.words).toEqual({ type: 'string', dims: [0], data: [] });
  });

  it('fails a broken function as a backend error (FORGE_RUNTIME) saying what to return', async () => {
    const bad = (ret: unknown) => functionBackend('bad', () => ret as never).predict({});
    await expect(bad(null)).rejects.toThrow(/returned null instead of outputs by name/);
    await expect(bad({ y: { data: new Float32Array(3), dims: [2] } })).rejects.toThrow(/3 values for dims \[2\]/);
    await expect(bad({ y: { data: new Float32Array(1) } })).rejects.toMatchObject({ code: 'FORGE_RUNTIME' });
    // No outputs at all is no answer (a model has at least one output), not an empty one to serve.
    await expect(bad({})).rejects.toThrow(/returned no outputs/);
    expect(() => functionBackend('', () => ({}))).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
  });

  it('refuses malformed options (FORGE_INVALID_OPTIONS) instead of ignoring them', () => {
    const cases: [unknown, RegExp][] = [
      [{ size: 3 }, /functionBackend 'f': unknown option 'size' \(known: sizeBytes, warmup, dispose\)/],
      [{ sizeBytes: 'x' }, /sizeBytes must be a number of bytes ≥ 0, got "x"/],
      [{ sizeBytes: -1 }, /sizeBytes must be a number of bytes ≥ 0, got -1/],
      [{ warmup: true }, /warmup must be a function/],
      [null, /options must be an object/],
    ];
    for (const [options, message] of cases) {
      expect(() => functionBackend('f', () => ({}), options as never)).toThrow(message);
      expect(() => functionBackend('f', () => ({}), options as never)).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
    }
  });
});
