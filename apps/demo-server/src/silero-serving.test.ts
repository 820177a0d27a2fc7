// Silero VAD v5 served as a user serves it (@ricky0123/vad-web's file): an int64 `sr` declared as a
// scalar, a `state` [2, batch, 128] whose batch is on axis 1, a state output, and LSTMs inside If
// branches, its dims without names. The metadata says so, the answers are onnxruntime's own (JSON and
// binary, alone and many at once, stacked along the unnamed batch dims the check at load found), a
// scalar given several values is a 400, and an empty batch is a 400 too:
// onnxruntime aborts the whole process on an LSTM over an empty batch, which took the server down.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Session, createSession } from '@onnx-forge/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoServer } from './create-server.js';
import { startServer } from './testing/fixtures.js';
import { binaryBody, binaryOutputs, bytesOf, call } from './testing/v2-client.js';
import { v2Problems } from './testing/v2-schema.js';

const V5 = fileURLToPath(new URL('../../../node_modules/@ricky0123/vad-web/dist/silero_vad_v5.onnx', import.meta.url));

interface Chunk {
  readonly audio: Float32Array;
  readonly state: Float32Array;
}

/** A 512-sample chunk at 16 kHz (a tone with noise, `seed` apart) and a state as the model hands back. */
function chunk(seed: number): Chunk {
  const audio = Float32Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin((i * (seed + 3)) / 7) + 0.05 * Math.sin(i * seed * 1.3));
  const state = Float32Array.from({ length: 256 }, (_, i) => 0.2 * Math.cos(i * 0.37 + seed));
  return { audio, state };
}

const jsonRequest = (c: Chunk, sr = { shape: [] as number[], data: [16000] }) => ({
  inputs: [
    { name: 'input', datatype: 'FP32', shape: [1, 512], data: Array.from(c.audio) },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: Array.from(c.state) },
    { name: 'sr', datatype: 'INT64', shape: sr.shape, data: sr.data },
  ],
});

describe.skipIf(!existsSync(V5))('Silero VAD v5 served', () => {
  let server: DemoServer;
  let url: string;
  let reference: Session;
  const infer = (body: object | Buffer, headers: Record<string, string> = {}) => call(`${url}/v2/models/silero_vad_v5/infer`, 'POST', body, headers);

  /** The model's answer to `c`, from onnxruntime in this process. */
  async function expected(c: Chunk): Promise<{ output: number[]; stateN: number[] }> {
    const out = await reference.run({
      input: { data: c.audio, dims: [1, 512] },
      state: { data: c.state, dims: [2, 1, 128] },
      sr: { type: 'int64', data: BigInt64Array.of(16000n), dims: [] },
    });
    return { output: Array.from(out.output?.data as Float32Array), stateN: Array.from(out.stateN?.data as Float32Array) };
  }

  beforeAll(async () => {
    // Batching on, with a delay long enough for concurrent requests to meet.
    ({ server, url } = await startServer({ models: V5, batching: { maxBatch: 8, maxDelayMs: 50 } }));
    reference = await createSession(V5, { backend: 'node' });
  });

  afterAll(async () => {
    await reference?.release();
    await server?.close();
  });

  it('describes sr as an INT64 scalar and state with its batch on axis 1, and batches along it', async () => {
    const r = await call(`${url}/v2/models/silero_vad_v5`, 'GET');
    expect(v2Problems('metadata_model_response', r.json)).toEqual([]);
    expect(r.json).toMatchObject({
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [-1, -1] },
        { name: 'state', datatype: 'FP32', shape: [2, -1, 128] },
        { name: 'sr', datatype: 'INT64', shape: [] },
      ],
      outputs: [
        { name: 'output', datatype: 'FP32', shape: [-1, 1] },
        { name: 'stateN', datatype: 'FP32', shape: [-1, -1, -1] },
      ],
      parameters: { batching: { dimension: 'unnamed (dim 0 of input, dim 1 of state)' } },
    });
  });

  it('answers as onnxruntime does, in JSON and binary, one at a time and eight at once', async () => {
    const chunks = Array.from({ length: 8 }, (_, k) => chunk(k + 1));
    const want = await Promise.all(chunks.map(expected));
    const one = await infer(jsonRequest(chunks[0] as Chunk));
    expect(one.status, JSON.stringify(one.json)).toBe(200);
    const outs = (one.json as { outputs: { name: string; shape: number[]; data: number[] }[] }).outputs;
    expect(outs.map((o) => [o.name, o.shape])).toEqual([['output', [1, 1]], ['stateN', [2, 1, 128]]]);
    expect(outs[0]?.data).toEqual(want[0]?.output);
    expect(outs[1]?.data).toEqual(want[0]?.stateN);

    const binary = (c: Chunk) =>
      binaryBody(
        {
          inputs: [
            { name: 'input', datatype: 'FP32', shape: [1, 512], parameters: { binary_data_size: 2048 } },
            { name: 'state', datatype: 'FP32', shape: [2, 1, 128], parameters: { binary_data_size: 1024 } },
            { name: 'sr', datatype: 'INT64', shape: [], parameters: { binary_data_size: 8 } },
          ],
          parameters: { binary_data_output: true },
        },
        [bytesOf(c.audio), bytesOf(c.state), bytesOf(BigInt64Array.of(16000n))],
      );
    const answers = await Promise.all(
      chunks.map((c, k) => {
        if (k % 2 === 0) return infer(jsonRequest(c));
        const b = binary(c);
        return infer(b.body, b.headers);
      }),
    );
    answers.forEach((r, k) => {
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      let got: { output: number[]; stateN: number[] };
      if (k % 2 === 0) {
        const [o, s] = (r.json as { outputs: { data: number[] }[] }).outputs;
        got = { output: o?.data as number[], stateN: s?.data as number[] };
      } else {
        const bytes = binaryOutputs(r);
        const floats = (b: Buffer | undefined) => Array.from(new Float32Array(Uint8Array.from(b as Buffer).buffer));
        got = { output: floats(bytes.get('output')), stateN: floats(bytes.get('stateN')) };
      }
      // Stacked with others or alone, each stream's answer is its own (to float rounding).
      for (const key of ['output', 'stateN'] as const) {
        expect(got[key].length, `request ${k} ${key}`).toBe(want[k]?.[key].length);
        got[key].forEach((v, i) => expect(v, `request ${k} ${key}[${i}]`).toBeCloseTo(want[k]?.[key][i] as number, 6));
      }
    });
    const stats = (await call(`${url}/v2/models/silero_vad_v5/stats`, 'GET')).json as { model_stats: { batching: { enabled: boolean }; inference_count: number }[] };
    expect(stats.model_stats[0]).toMatchObject({ batching: { enabled: true }, inference_count: 9 });
  });

  it('takes sr as [] or [1], refuses it with two values, and refuses an empty batch with 400 instead of crashing', async () => {
    const c = chunk(1);
    const want = await expected(c);
    const asOne = await infer(jsonRequest(c, { shape: [1], data: [16000] }));
    expect(asOne.status).toBe(200);
    expect((asOne.json as { outputs: { data: number[] }[] }).outputs[0]?.data).toEqual(want.output);

    const two = await infer(jsonRequest(c, { shape: [2], data: [16000, 16000] }));
    expect(two.status).toBe(400);
    expect(two.json).toEqual({ code: 'FORGE_BAD_INPUT', error: "input 'sr' is a scalar: give it shape [] and one value, got shape [2]" });

    const empty = await infer({
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [0, 512], data: [] },
        { name: 'state', datatype: 'FP32', shape: [2, 0, 128], data: [] },
        { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
      ],
    });
    expect(empty.status, JSON.stringify(empty.json)).toBe(400);
    expect((empty.json as { error: string }).error).toMatch(/^input 'input' is empty \(shape \[0, 512\]\), which this model cannot take: it runs an LSTM \(node '[^']+'\), and onnxruntime aborts the whole process/);
    expect((await infer(jsonRequest(c))).status).toBe(200);
  });
});
