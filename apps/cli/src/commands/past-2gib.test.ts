// Issue 15: the CLI on a model past protobuf's 2 GiB. The weights are one sparse external data file
// (2.06 GiB of zeros that take no disk and read at memory speed), so the test exercises every size
// limit, reference check and streaming path without writing or generating gigabytes; the `large`
// benchmark does the same on a 3.3 GB decoder with real weights, and runs the outputs.
import { closeSync, openSync, ftruncateSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelBuilder, PROTOBUF_LIMIT, encodeModel, onnx, type TensorProto } from '@onnx-forge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../inspect/summarize-model.js';
import { jsonOf, runCliProcess } from '../testing/cli-process.js';
import { tempDir } from '../testing/fixtures.js';

const WIDTH = 4096;
const LAYERS = 33;
const TENSOR_BYTES = WIDTH * WIDTH * 4;

/** y = x W0 W1 ... W32, every W [4096, 4096] float32 in weights.bin at its own offset. */
function writeLargeModel(dir: string): string {
  const b = new ModelBuilder({ opset: 17, graphName: 'past_2gib' });
  let x = b.input('x', 'float32', ['batch', WIDTH]);
  for (let i = 0; i < LAYERS; i++) {
    // A 4-byte placeholder, replaced by the external reference below.
    const w = b.initializer(`w${i}`, new Float32Array(1), [1]);
    x = b.op('MatMul', [x, w], {}, { name: `matmul${i}`, ...(i === LAYERS - 1 ? { outputs: ['y'] } : {}) });
  }
  b.output(x, 'float32', ['batch', WIDTH]);
  const proto = b.buildProto();
  for (const [i, t] of (proto.graph?.initializer ?? []).entries()) {
    const tensor = t as TensorProto;
    delete (tensor as Partial<TensorProto>).rawData;
    tensor.dims = [WIDTH, WIDTH];
    tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    tensor.externalData = [
      new onnx.StringStringEntryProto({ key: 'location', value: 'weights.bin' }),
      new onnx.StringStringEntryProto({ key: 'offset', value: String(i * TENSOR_BYTES) }),
      new onnx.StringStringEntryProto({ key: 'length', value: String(TENSOR_BYTES) }),
    ];
  }
  const file = path.join(dir, 'model.onnx');
  writeFileSync(file, encodeModel(proto));
  const fd = openSync(path.join(dir, 'weights.bin'), 'w');
  ftruncateSync(fd, LAYERS * TENSOR_BYTES);
  closeSync(fd);
  return file;
}

describe('a model past 2 GiB (external data)', () => {
  const tmp = tempDir();
  let file: string;
  beforeAll(() => {
    file = writeLargeModel(tmp.dir);
  });
  afterAll(() => tmp.cleanup());

  it('inspect describes it from its references; check streams it', async () => {
    const s = jsonOf<ModelSummary>(await runCliProcess(['inspect', file, '--json']));
    expect(s.parameters.bytes).toBe(LAYERS * TENSOR_BYTES);
    expect(s.parameters.bytes).toBeGreaterThan(PROTOBUF_LIMIT);
    expect(s.externalData.files).toEqual([
      { location: 'weights.bin', tensors: LAYERS, elements: LAYERS * WIDTH * WIDTH, bytes: LAYERS * TENSOR_BYTES, fileBytes: LAYERS * TENSOR_BYTES, missing: false, truncated: false },
    ]);
    const c = await runCliProcess(['check', file, '--json']);
    expect(c.code, c.stderr).toBe(0);
    expect(jsonOf<{ valid: boolean }>(c).valid).toBe(true);
  });

  it('fp16 converts it a tensor at a time into a 1 GiB model', async () => {
    const out = path.join(tmp.dir, 'model.fp16.onnx');
    const r = await runCliProcess(['fp16', file, '-o', out, '--no-verify', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = jsonOf<{ input: { streamed: boolean }; output: { bytes: number; externalData?: { bytes: number } } }>(r);
    expect(result.input.streamed).toBe(true);
    const total = result.output.bytes + (result.output.externalData?.bytes ?? 0);
    expect(total).toBeGreaterThan(LAYERS * TENSOR_BYTES / 2);
    expect(total).toBeLessThan(LAYERS * TENSOR_BYTES / 2 + 1e6);
    expect(statSync(out).size).toBe(result.output.bytes);
    const s = jsonOf<ModelSummary>(await runCliProcess(['inspect', out, '--json']));
    expect(s.parameters.byDtype.float16?.tensors).toBe(LAYERS);
  }, 180_000);
});
