// A request of a few bytes could make an answer of any size: a model whose ConstantOfShape, Expand,
// Tile, Range or OneHot takes its size from an input answered a [5000, 5000] request with 100 MB, and
// a larger one would have the server hold gigabytes (several times over as JSON) until its memory ran out.
// --max-output-bytes bounds it: a tensor the request's values size is refused before the run, any
// other answer after the run and before it is written; both 413, and the server stays up.
import { describe, expect, it } from 'vitest';
import { ModelBuilder } from '@onnx-forge/core';
import { checkSizedTensors, sizedTensors } from './models/output-bound.js';
import { parseServerArgs } from './run-server.js';
import { servedFolder, writeModels } from './testing/fixtures.js';
import { call } from './testing/v2-client.js';

/**
 * shape int64 [2] → y float32 zeros of that shape; when `indirect`, through float32 and back (which the
 * server does not follow: its size is then only known after the run).
 */
function filled(indirect: boolean) {
  const b = new ModelBuilder({ opset: 17, graphName: 'filled' });
  const s = b.input('shape', 'int64', [2]);
  const shape = indirect ? b.op('Cast', [b.op('Cast', [s], { to: 1 })], { to: 7 }) : s;
  b.output(b.op('ConstantOfShape', [shape], {}, { outputs: ['y'] }), 'float32', ['a', 'b']);
  return b.build();
}

/** x float32 [2, 2] tiled by `repeats` int64 [2], and expanded to `shape` int64 [3]. */
function tiled() {
  const b = new ModelBuilder({ opset: 17, graphName: 'tiled' });
  const x = b.input('x', 'float32', [2, 2]);
  const repeats = b.input('repeats', 'int64', [2]);
  const shape = b.input('shape', 'int64', [3]);
  b.output(b.op('Tile', [x, repeats], {}, { outputs: ['tiled'] }), 'float32', ['a', 'b']);
  b.output(b.op('Expand', [x, shape], {}, { outputs: ['expanded'] }), 'float32', ['c', 'd', 'e']);
  return b.build();
}

/** Range(0, limit, 0.5) float32 with `limit` an input, and OneHot of `ids` int64 [n] to `depth` classes, int64 scalar input. */
function counted() {
  const b = new ModelBuilder({ opset: 17, graphName: 'counted' });
  const limit = b.input('limit', 'float32', []);
  const ids = b.input('ids', 'int64', ['n']);
  const depth = b.input('depth', 'int64', []);
  b.output(b.op('Range', [b.constant([0], 'float32', []), limit, b.constant([0.5], 'float32', [])], {}, { outputs: ['range'] }), 'float32', ['r']);
  b.output(b.op('OneHot', [ids, depth, b.constant([0, 1], 'float32', [2])], {}, { outputs: ['onehot'] }), 'float32', ['n', 'd']);
  return b.build();
}

/**
 * x float32 [n] → an [n, n] float32 mask of zeros, its shape made as exported graphs make it: Shape,
 * Gather and Slice of it, Unsqueeze, Concat, Cast to int64.
 */
function masked() {
  const b = new ModelBuilder({ opset: 17, graphName: 'masked' });
  const x = b.input('x', 'float32', ['n']);
  const shape = b.op('Shape', [x]);
  const first = b.op('Unsqueeze', [b.op('Gather', [shape, b.constant([0], 'int64', [])], { axis: 0 }), b.constant([0], 'int64', [1])]);
  const again = b.op('Slice', [shape, b.constant([0], 'int64', [1]), b.constant([1], 'int64', [1])]);
  const dims = b.op('Cast', [b.op('Concat', [first, again], { axis: 0 })], { to: 7 });
  b.output(b.op('ConstantOfShape', [dims], {}, { outputs: ['mask'] }), 'float32', ['n', 'n']);
  return b.build();
}

const LIMIT = 4096;
const served = servedFolder('output-limit', async (dir) => {
  await writeModels(dir, { filled: filled(false), indirect: filled(true), tiled: tiled(), counted: counted(), masked: masked() });
  return { maxOutputBytes: LIMIT, batching: false };
});

const shapeInput = (name: string, values: number[]) => ({ name, shape: [values.length], datatype: 'INT64', data: values });
const executions = async (model: string) => ((await call(`${served.url}/v2/models/${model}/stats`, 'GET')).json as { model_stats: { inference_stats: { success: { count: number }; fail: { count: number } } }[] }).model_stats[0]?.inference_stats;

describe('--max-output-bytes', () => {
  it('answers a tensor a shape input sizes up to the limit, and refuses a larger one with 413 before it runs', async () => {
    const ok = await call(`${served.url}/v2/models/filled/infer`, 'POST', { inputs: [shapeInput('shape', [32, 32])] });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ outputs: [{ name: 'y', shape: [32, 32] }] });
    const before = await executions('filled');
    for (const binary of [false, true]) {
      const r = await call(`${served.url}/v2/models/filled/infer`, 'POST', { inputs: [shapeInput('shape', [100000, 100000])], ...(binary ? { parameters: { binary_data_output: true } } : {}) });
      expect(r.status).toBe(413);
      expect(r.json).toEqual({ error: expect.stringMatching(/^input 'shape' asks ConstantOfShape node '.+' for a tensor of 10000000000 elements, .* more than the server's limit of 4096 bytes \(--max-output-bytes\); ask for a smaller shape$/), code: 'FORGE_BAD_INPUT' });
    }
    // Refused before the run: the model counted neither a success nor a failure.
    expect(await executions('filled')).toEqual(before);
    expect((await call(`${served.url}/v2/health/live`, 'GET')).status).toBe(200);
  });

  it("refuses Tile's repeats and Expand's shape the same way", async () => {
    const x = { name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] };
    const ok = await call(`${served.url}/v2/models/tiled/infer`, 'POST', { inputs: [x, shapeInput('repeats', [8, 16]), shapeInput('shape', [128, 2, 2])] });
    expect(ok.status).toBe(200);
    const tile = await call(`${served.url}/v2/models/tiled/infer`, 'POST', { inputs: [x, shapeInput('repeats', [17, 16]), shapeInput('shape', [1, 2, 2])] });
    expect(tile.status).toBe(413);
    expect((tile.json as { error: string }).error).toMatch(/^input 'repeats' asks Tile node '.+' for a tensor of 1088 elements, 4352 bytes, more than the server's limit of 4096 bytes \(--max-output-bytes\); ask for smaller repeats$/);
    const expand = await call(`${served.url}/v2/models/tiled/infer`, 'POST', { inputs: [x, shapeInput('repeats', [1, 1]), shapeInput('shape', [1000, 1, 2])] });
    expect(expand.status).toBe(413);
    expect((expand.json as { error: string }).error).toMatch(/^input 'shape' asks Expand node '.+' for a tensor of 4000 elements, 16000 bytes/);
  });

  it("refuses Range's bounds and OneHot's depth the same way", async () => {
    const scalar = (name: string, datatype: string, v: number) => ({ name, shape: [], datatype, data: [v] });
    const ids = { name: 'ids', shape: [4], datatype: 'INT64', data: [0, 1, 2, 3] };
    const ok = await call(`${served.url}/v2/models/counted/infer`, 'POST', { inputs: [scalar('limit', 'FP32', 256), ids, scalar('depth', 'INT64', 128)] });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ outputs: [{ name: 'range', shape: [512] }, { name: 'onehot', shape: [4, 128] }] });
    const range = await call(`${served.url}/v2/models/counted/infer`, 'POST', { inputs: [scalar('limit', 'FP32', 2 ** 40), ids, scalar('depth', 'INT64', 1)] });
    expect(range.status).toBe(413);
    expect((range.json as { error: string }).error).toMatch(/^input 'limit' asks Range node '.+' for a tensor of 2199023255552 elements, .*; ask for a shorter range$/);
    const onehot = await call(`${served.url}/v2/models/counted/infer`, 'POST', { inputs: [scalar('limit', 'FP32', 1), ids, scalar('depth', 'INT64', 1e9)] });
    expect(onehot.status).toBe(413);
    expect((onehot.json as { error: string }).error).toMatch(/^input 'depth' asks OneHot node '.+' for a tensor of 4000000000 elements, .*; ask for a smaller depth$/);
  });

  it('works a size out through the shape arithmetic of exported graphs (Shape, Gather, Slice, Unsqueeze, Concat)', async () => {
    const x = (n: number) => ({ name: 'x', shape: [n], datatype: 'FP32', data: Array.from({ length: n }, () => 1) });
    const ok = await call(`${served.url}/v2/models/masked/infer`, 'POST', { inputs: [x(32)] });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ outputs: [{ name: 'mask', shape: [32, 32] }] });
    const before = await executions('masked');
    const r = await call(`${served.url}/v2/models/masked/infer`, 'POST', { inputs: [x(33)] });
    expect(r.status).toBe(413);
    expect((r.json as { error: string }).error).toMatch(/^input 'x' asks ConstantOfShape node '.+' for a tensor of 1089 elements, 4356 bytes, more than the server's limit of 4096 bytes/);
    expect(await executions('masked')).toEqual(before);
  });

  it('refuses an answer over the limit whose size was not known before the run, with 413 before it is written', async () => {
    const ok = await call(`${served.url}/v2/models/indirect/infer`, 'POST', { inputs: [shapeInput('shape', [32, 32])] });
    expect(ok.status).toBe(200);
    for (const binary of [false, true]) {
      const r = await call(`${served.url}/v2/models/indirect/infer`, 'POST', { inputs: [shapeInput('shape', [32, 33])], ...(binary ? { parameters: { binary_data_output: true } } : {}) });
      expect(r.status).toBe(413);
      expect(r.json).toEqual({ error: "the answer would hold 4224 bytes of tensor data ('y' [32, 33] 4224 bytes), more than the server's limit of 4096 bytes (--max-output-bytes); ask for fewer outputs or a smaller result", code: 'FORGE_BAD_INPUT' });
    }
    expect((await call(`${served.url}/v2/health/ready`, 'GET')).status).toBe(200);
  });

  it('names every input that sizes a Range, and leaves a range onnxruntime refuses (infinite) to it', () => {
    const b = new ModelBuilder({ opset: 17, graphName: 'range' });
    const [start, limit, delta] = ['start', 'limit', 'delta'].map((n) => b.input(n, 'float32', [])) as [string, string, string];
    b.output(b.op('Range', [start, limit, delta], {}, { outputs: ['r'] }), 'float32', ['r']);
    const sized = sizedTensors(b.build().proto);
    const feeds = (l: number) => ({ start: { type: 'float32' as const, dims: [], data: Float32Array.of(0) }, limit: { type: 'float32' as const, dims: [], data: Float32Array.of(l) }, delta: { type: 'float32' as const, dims: [], data: Float32Array.of(1) } });
    expect(() => checkSizedTensors(sized, feeds(1024), LIMIT)).not.toThrow();
    expect(() => checkSizedTensors(sized, feeds(Number.POSITIVE_INFINITY), LIMIT)).not.toThrow();
    expect(() => checkSizedTensors(sized, feeds(1025), LIMIT)).toThrow(/^inputs 'start', 'limit', 'delta' ask Range node '.+' for a tensor of 1025 elements, 4100 bytes, more than/);
  });

  it('is set on the command line', () => {
    expect(parseServerArgs(['m.onnx', '--max-output-bytes', '1024'], {}).options.maxOutputBytes).toBe(1024);
    expect(() => parseServerArgs(['m.onnx', '--max-output-bytes', '0'], {})).toThrow(/--max-output-bytes/);
  });
});
