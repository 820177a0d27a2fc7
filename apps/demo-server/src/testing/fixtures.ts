import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DTypeName, type Model, ModelBuilder, cnn, writeModel } from '@onnx-forge/core';
import { createServer, type DemoServer } from '../create-server.js';
import type { ServerOptions } from '../server-options.js';
import { afterAll, beforeAll } from 'vitest';

/** Every datatype the protocol and onnxruntime share, with the model's element type. */
export const TYPED_INPUTS: readonly { name: string; type: DTypeName; datatype: string }[] = [
  { name: 'f32', type: 'float32', datatype: 'FP32' },
  { name: 'f64', type: 'float64', datatype: 'FP64' },
  { name: 'f16', type: 'float16', datatype: 'FP16' },
  { name: 'i8', type: 'int8', datatype: 'INT8' },
  { name: 'u8', type: 'uint8', datatype: 'UINT8' },
  { name: 'i16', type: 'int16', datatype: 'INT16' },
  { name: 'u16', type: 'uint16', datatype: 'UINT16' },
  { name: 'i32', type: 'int32', datatype: 'INT32' },
  { name: 'u32', type: 'uint32', datatype: 'UINT32' },
  { name: 'i64', type: 'int64', datatype: 'INT64' },
  { name: 'u64', type: 'uint64', datatype: 'UINT64' },
  { name: 'b', type: 'bool', datatype: 'BOOL' },
  { name: 's', type: 'string', datatype: 'BYTES' },
];

/** Identity for each datatype: input `<t>` [batch, 2] → output `<t>_out`, so what goes in must come back. */
export function typesModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'types' });
  for (const t of TYPED_INPUTS) {
    const x = b.input(t.name, t.type, ['batch', 2]);
    b.output(b.op('Identity', [x], {}, { outputs: [`${t.name}_out`] }), t.type, ['batch', 2]);
  }
  return b.build();
}

/** A small seeded CNN: image [batch, 3, 16, 16] → logits [batch, 10]. */
export function smallCnn(seed = 5) {
  return cnn({ channels: [4, 8], imageSize: 16, classes: 10, seed });
}

/** Rows of the embedding table of `lookupModel`. */
export const LOOKUP_TABLE: readonly (readonly [number, number])[] = [[0, 1], [10, 11], [20, 21], [30, 31], [40, 41]];

/**
 * An embedding lookup, ids int64 [n] → emb float32 [n, 2] (rows of LOOKUP_TABLE): an id outside
 * -5..4 passes every protocol check (right name, datatype and shape) and fails inside onnxruntime's
 * Gather, as an out-of-vocabulary token id fails a text model. 'n' leads every input and output, so
 * the server batches it.
 */
export function lookupModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'lookup' });
  const ids = b.input('ids', 'int64', ['n']);
  const table = b.constant(LOOKUP_TABLE.flat(), 'float32', [LOOKUP_TABLE.length, 2]);
  b.output(b.op('Gather', [table, ids], { axis: 0 }, { outputs: ['emb'] }), 'float32', ['n', 2]);
  return b.build();
}

/** Identity over a matrix of any size: x float32 [rows, cols] → y. Both dims are free, so a shape may hold a 0 beside a huge dim. */
export function matrixModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'matrix' });
  const x = b.input('x', 'float32', ['rows', 'cols']);
  b.output(b.op('Identity', [x], {}, { outputs: ['y'] }), 'float32', ['rows', 'cols']);
  return b.build();
}

/** x float32 [1, 4] reshaped to `shape` int64 [2] → y: a shape whose product is not 4 fails inside onnxruntime's Reshape. Not batched. */
export function reshapeModel() {
  const b = new ModelBuilder({ opset: 17, graphName: 'reshape' });
  const x = b.input('x', 'float32', [1, 4]);
  const shape = b.input('shape', 'int64', [2]);
  b.output(b.op('Reshape', [x, shape], {}, { outputs: ['y'] }), 'float32', ['rows', 'cols']);
  return b.build();
}

export async function tempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `forge-server-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes models into `dir` as bare files (`<name>.onnx`). */
export async function writeModels(dir: string, models: Record<string, Model>): Promise<void> {
  for (const [name, m] of Object.entries(models)) await writeModel(m, path.join(dir, `${name}.onnx`));
}

/**
 * A demo server over a temporary folder, for the test file or describe block that calls this: in its
 * beforeAll, `fill` writes the models into the folder and gives the server's options (`models` is the
 * folder unless it says otherwise), and the server starts (startServer); in its afterAll, the server
 * closes and the folder goes. The fields are set once that beforeAll has run.
 */
export function servedFolder(prefix: string, fill: (dir: string) => Promise<Partial<ServerOptions>>): { server: DemoServer; url: string; dir: string } {
  const served = {} as { server: DemoServer; url: string; dir: string };
  let remove: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ dir: served.dir, remove } = await tempDir(prefix));
    ({ server: served.server, url: served.url } = await startServer({ models: served.dir, ...(await fill(served.dir)) }));
  });
  afterAll(async () => {
    await served.server?.close();
    await remove?.();
  });
  return served;
}

/** A server on a free loopback port, with one worker per variant (tests share two cores). */
export async function startServer(options: ServerOptions): Promise<{ server: DemoServer; url: string }> {
  const server = await createServer({ workers: 1, page: false, ...options });
  const url = await server.listen(0, '127.0.0.1');
  return { server, url };
}
