import { ModelBuilder } from '@onnx-forge/core';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession } from './create-session.js';
import { fromFloat16, toFloat16 } from './tensor.js';
import { encoderFeeds, mixedTypesModel, smallEncoder } from './test-models.js';
import type { Feeds, Session } from './types.js';

const BACKENDS = [
  { backend: 'node' as const, ort: ortNode as unknown as typeof ortWeb },
  { backend: 'web' as const, ort: ortWeb },
];

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
  return 'resolved';
}

describe.each(BACKENDS)('feeds on the $backend backend', ({ backend, ort }) => {
  let mixed: Session;
  let encoder: Session;
  beforeAll(async () => {
    mixed = await createSession(mixedTypesModel(), { backend });
    encoder = await createSession(smallEncoder(), { backend });
  });
  afterAll(async () => {
    await mixed.release();
    await encoder.release();
  });

  const good = (): Record<string, unknown> => ({
    x: new Float32Array([1, 2, 3, 4, 5, 6]),
    ids: { data: [1, 2, 3] },
    f16: { data: toFloat16([0.5, -2, 65504]), dims: [3] },
    flag: { data: [true] },
  });

  it('exposes input metadata from the model', () => {
    expect(mixed.inputMetadata).toEqual([
      { name: 'x', type: 'float32', shape: [2, 3] },
      { name: 'ids', type: 'int64', shape: ['n'] },
      { name: 'f16', type: 'float16', shape: ['n'] },
      { name: 'flag', type: 'bool', shape: [1] },
    ]);
  });

  it('takes bare typed arrays for fixed shapes, plain arrays converted by declared type, fp16 bits, int64 from numbers', async () => {
    const out = await mixed.run(good() as Feeds);
    expect(Array.from(out.x2?.data as Float32Array)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(out.x2?.dims).toEqual([2, 3]);
    expect(Array.from(out.ids_f?.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(out.f16_f?.data as Float32Array)).toEqual([0.5, -2, 65504]);
    expect(Array.from(out.flag_f?.data as Float32Array)).toEqual([1]);
  });

  it('takes plain values given with their type and dims, as { type, dims, data } from JSON', async () => {
    const feeds = {
      x: { type: 'float32', dims: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      ids: { type: 'int64', dims: [2], data: [7, 8] },
      f16: { type: 'float16', dims: [2], data: [0.5, -2] },
      flag: { type: 'bool', dims: [1], data: [true] },
    };
    const out = await mixed.run(feeds as Feeds);
    expect(Array.from(out.x2?.data as Float32Array)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(Array.from(out.ids_f?.data as Float32Array)).toEqual([7, 8]);
    expect(Array.from(out.f16_f?.data as Float32Array)).toEqual([0.5, -2]);
    expect(Array.from(out.flag_f?.data as Float32Array)).toEqual([1]);
    expect(await code(mixed.run({ ...feeds, ids: { type: 'int64', dims: [2], data: [7, 8.5] } } as Feeds))).toMatch(/^FORGE_BAD_INPUT: .*not an integer/);
  });

  it('reads any non-zero byte of a bool feed as true (onnxruntime computes Not(2) = 3 and Not(255) = 254, and casts 2 to 0 in WebAssembly)', async () => {
    const b = new ModelBuilder({ opset: 17, graphName: 'bools' });
    const f = b.input('f', 'bool', ['n']);
    b.output(b.op('Not', [f], {}, { outputs: ['not'] }), 'bool', ['n']);
    b.output(b.op('Cast', [f], { to: 1 }, { outputs: ['num'] }), 'float32', ['n']);
    const s = await createSession(b.build().encode(), { backend });
    try {
      const bytes = new Uint8Array([0, 1, 2, 255]);
      for (const feed of [{ data: bytes, dims: [4] }, new ort.Tensor('bool', bytes, [4])]) {
        const out = await s.run({ f: feed } as Feeds);
        expect(Array.from(out.not?.data as Uint8Array)).toEqual([1, 0, 0, 0]);
        expect(Array.from(out.num?.data as Float32Array)).toEqual([0, 1, 1, 1]);
      }
      expect(Array.from(bytes)).toEqual([0, 1, 2, 255]); // the caller's array is left as it was
    } finally {
      await s.release();
    }
  });

  it("takes the backend's own Tensors and the other build's Tensors alike", async () => {
    const other = ort === ortWeb ? ortNode : ortWeb;
    const feeds = {
      x: new ort.Tensor('float32', new Float32Array(6).fill(1), [2, 3]),
      ids: new other.Tensor('int64', new BigInt64Array([5n]), [1]),
      f16: new ort.Tensor('float16', toFloat16([1.5]), [1]),
      flag: new other.Tensor('bool', new Uint8Array([0]), [1]),
    };
    const out = await mixed.run(feeds as unknown as Feeds);
    expect(Array.from(out.ids_f?.data as Float32Array)).toEqual([5]);
    expect(fromFloat16(toFloat16([1.5]))[0]).toBe(1.5);
    expect(Array.from(out.f16_f?.data as Float32Array)).toEqual([1.5]);
  });

  it('takes views with a byteOffset and views over a SharedArrayBuffer (onnxruntime-node refuses shared memory: "Invalid argument")', async () => {
    const whole = new Float32Array([9, 9, 1, 2, 3, 4, 5, 6, 9]);
    const shared = new Float32Array(new SharedArrayBuffer(6 * 4));
    shared.set([1, 2, 3, 4, 5, 6]);
    const ids = new BigInt64Array(new SharedArrayBuffer(2 * 8));
    ids.set([7n, 8n]);
    for (const [x, idsFeed] of [[whole.subarray(2, 8), { data: ids, dims: [2] }], [shared, { data: ids, dims: [2] }], [new ort.Tensor('float32', shared, [2, 3]), new ort.Tensor('int64', ids, [2])]] as const) {
      const out = await mixed.run({ ...good(), x, ids: idsFeed, f16: { data: toFloat16([1, 2]), dims: [2] } } as Feeds);
      expect(Array.from(out.x2?.data as Float32Array)).toEqual([2, 4, 6, 8, 10, 12]);
      expect(Array.from(out.ids_f?.data as Float32Array)).toEqual([7, 8]);
    }
    // The caller's memory is read, never written nor detached.
    expect(Array.from(shared)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('fetches only the outputs asked for', async () => {
    const out = await mixed.run(good() as Feeds, { outputs: ['ids_f'] });
    expect(Object.keys(out)).toEqual(['ids_f']);
    expect(await code(mixed.run(good() as Feeds, { outputs: ['nope'] }))).toMatch(/^FORGE_BAD_INPUT: unknown output 'nope'/);
  });

  it.each([
    ['an unknown input', { extra: new Float32Array(1) }, /unknown input 'extra': the model's inputs are 'x', 'ids', 'f16', 'flag'/],
    ['a missing input', { flag: undefined }, /missing input 'flag'/],
    ['a wrong element type', { ids: { data: new Int32Array([1]), dims: [1] } }, /input 'ids' must be int64 \(BigInt64Array\), got int32/],
    ['an explicit type that is not the declared one', { f16: { data: new Float32Array([1]), dims: [1], type: 'float32' } }, /input 'f16' must be float16/],
    ['a container that does not fit the type', { x: { data: new Float64Array(6), dims: [2, 3], type: 'float32' } }, /needs a Float32Array, got Float64Array/],
    ['a wrong rank', { x: { data: new Float32Array(6), dims: [6] } }, /input 'x' must have rank 2 \(\[2, 3\]\), got dims \[6\]/],
    ['a wrong fixed dim', { x: { data: new Float32Array(6), dims: [3, 2] } }, /input 'x' dimension 0 must be 2/],
    ['a length that does not match dims', { ids: { data: new BigInt64Array(3), dims: [4] } }, /has 3 values but dims \[4\] need 4/],
    ['a fractional int64', { ids: { data: [1.5] } }, /not an integer/],
    ['negative dims', { ids: { data: new BigInt64Array(0), dims: [-1] } }, /non-negative integers/],
    ['a bare array for a symbolic shape', { ids: new BigInt64Array(2) }, /bare BigInt64Array but its shape \[n\] is not fixed: pass \{ data, dims \}/],
    ['a non-tensor value', { x: 'hello' }, /must be a Tensor, \{ data, dims \} or a typed array, got string/],
  ])('rejects %s with FORGE_BAD_INPUT before onnxruntime sees it', async (_what, patch, message) => {
    const feeds: Record<string, unknown> = { ...good(), ...patch };
    for (const k of Object.keys(feeds)) if (feeds[k] === undefined) delete feeds[k];
    const got = await code(mixed.run(feeds as Feeds));
    expect(got).toMatch(/^FORGE_BAD_INPUT: /);
    expect(got).toMatch(message);
  });

  it("reads only the feed object's own names: a __proto__ feed (from JSON) is an unknown input, not the fields of the tensor it holds", async () => {
    const parsed = JSON.parse('{"__proto__": {"data": [1], "dims": [1]}}') as Record<string, unknown>;
    const feeds = Object.assign(parsed, good());
    expect(await code(mixed.run(feeds as Feeds))).toMatch(/^FORGE_BAD_INPUT: unknown input '__proto__': the model's inputs are 'x'/);
    // Assigned, __proto__ sets the prototype: the tensor's fields are inherited, not inputs.
    const assigned: Record<string, unknown> = { ...good() };
    assigned['__proto__'] = { data: new Float32Array(1), dims: [1] };
    expect(Object.keys((await mixed.run(assigned as Feeds)) as object).sort()).toEqual(['f16_f', 'flag_f', 'ids_f', 'x2']);
  });

  it('rejects feeds that are not an object', async () => {
    expect(await code(mixed.run(null as never))).toMatch(/^FORGE_BAD_INPUT: feeds must be an object/);
    expect(await code(mixed.run([] as never))).toMatch(/^FORGE_BAD_INPUT/);
  });

  it('checks that a symbolic dim has one size across inputs', async () => {
    const feeds = encoderFeeds(1, 8);
    expect((await encoder.run(feeds)).last_hidden_state?.dims).toEqual([1, 8, 32]);
    const mismatched = { ...feeds, attention_mask: { data: new BigInt64Array(9).fill(1n), dims: [1, 9] } };
    expect(await code(encoder.run(mismatched))).toMatch(/^FORGE_BAD_INPUT: dimension 'sequence' is 8 in input 'input_ids' but 9 in input 'attention_mask'/);
  });
});
