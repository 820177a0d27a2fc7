// Issue 15: weight passes on models streamed from their files. The same pass code runs on a model in
// memory and on one opened lazily (core's openModel): the outputs are the same bytes, the streamed one
// runs in onnxruntime-node with the same answers, and converting a model of 400+ MB holds a small part
// of it in memory (measured in a child process, as a benchmark would).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cnn, openModel, readModel, runPass, transformerDecoder, writeModel, type LoadedModel, type Model, type ModelFile, type ModelRunner, type PassInstance,
  type PassReport, type RunnerFeeds,
} from '@onnx-forge/core';
import { tempFolders } from '@onnx-forge/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { autoMixedPrecision } from './fp16/fp16-auto.js';
import { fp16Pass } from './fp16/fp16-pass.js';
import { quantizeStatic } from './quant/int8-static.js';
import { int4 } from './quant/int4/int4.js';
import { int8Dynamic } from './quant/int8-dynamic.js';
import { decoderPrompts } from './testing/decoder-eval.js';
import { nodeRunner } from './testing/harness.js';

const folder = tempFolders('forge-stream-', afterAll);

const DECODER = { layers: 2, hidden: 64, heads: 4, intermediate: 160, vocab: 300, seed: 3 } as const;
/** A low threshold, so nearly every weight lives in the side file. */
const EXTERNAL = { threshold: 256 };

const PASSES: [string, () => PassInstance<object>][] = [
  ['fp16', () => fp16Pass({ keepIoTypes: true }) as PassInstance<object>],
  ['fp16 --target cpu (weights stored float16)', () => fp16Pass({ keepIoTypes: true, target: 'cpu' }) as PassInstance<object>],
  ['int8-dynamic', () => int8Dynamic({}) as PassInstance<object>],
  ['int4 (MatMul and Gather, scale search)', () => int4({ ops: ['MatMul', 'Gather'], method: 'search' }) as PassInstance<object>],
  ['int4 (defaults: round to nearest by the wasm column kernels)', () => int4({}) as PassInstance<object>],
];

interface Converted {
  dir: string;
  report: PassReport;
}

async function convert(input: string, make: () => PassInstance<object>, streamed: boolean): Promise<Converted> {
  const model: Model = streamed ? await openModel(input) : await readModel(input);
  const report = await runPass(make(), model);
  const dir = folder();
  await writeModel(model, join(dir, 'out.onnx'), { externalData: EXTERNAL });
  return { dir, report };
}

async function logits(file: string, feeds: RunnerFeeds): Promise<Float32Array> {
  const loaded = await nodeRunner.load({ path: file });
  try {
    return (await loaded.run(feeds)).logits?.data as Float32Array;
  } finally {
    await loaded.release();
  }
}

describe('weight passes on a streamed model', () => {
  const source = join(folder(), 'decoder.onnx');
  const ready = writeModel(transformerDecoder(DECODER), source, { externalData: EXTERNAL });

  it.each(PASSES)('%s: streamed and in memory give the same bytes and decisions; the streamed output runs with the same logits', async (_, make) => {
    await ready;
    const memory = await convert(source, make, false);
    const streamed = await convert(source, make, true);
    for (const f of ['out.onnx', 'out.onnx.data']) {
      expect(Buffer.compare(readFileSync(join(streamed.dir, f)), readFileSync(join(memory.dir, f))), f).toBe(0);
    }
    expect(streamed.report.decisions).toEqual(memory.report.decisions);
    expect(streamed.report.stats).toEqual(memory.report.stats);
    expect(streamed.report.bytesAfter).toBe(memory.report.bytesAfter);

    const feeds = decoderPrompts(DECODER.vocab, 2, 16);
    const want = await logits(join(memory.dir, 'out.onnx'), feeds);
    const got = await logits(join(streamed.dir, 'out.onnx'), feeds);
    expect(got.length).toBe(2 * 16 * DECODER.vocab);
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});

describe('int8-dynamic on a streamed CNN (Conv weights, a Gemm weight stored transposed)', () => {
  const source = join(folder(), 'cnn.onnx');
  const ready = writeModel(cnn({ classes: 100, seed: 4 }), source, { externalData: EXTERNAL });

  it.each([false, true])('per channel %s: streamed and in memory give the same bytes', async (perChannel) => {
    await ready;
    const make = () => int8Dynamic({ perChannel }) as PassInstance<object>;
    const memory = await convert(source, make, false);
    const streamed = await convert(source, make, true);
    expect(memory.report.decisions.some((d) => d.opType === 'Gemm' && d.action === 'quantized' && /B stored transposed/.test(d.reason))).toBe(true);
    for (const f of ['out.onnx', 'out.onnx.data']) {
      expect(Buffer.compare(readFileSync(join(streamed.dir, f)), readFileSync(join(memory.dir, f))), f).toBe(0);
    }
  });
});

describe('passes that run the model, on a streamed model', () => {
  /** The runner, recording what each load was given: bytes, or a file (loadForRun for lazy models). */
  function recording(): { runner: ModelRunner; loads: string[] } {
    const loads: string[] = [];
    return {
      loads,
      runner: {
        load(model: Uint8Array | ModelFile): Promise<LoadedModel> {
          loads.push(model instanceof Uint8Array ? 'bytes' : 'path');
          return nodeRunner.load(model);
        },
      },
    };
  }
  const source = join(folder(), 'decoder.onnx');
  const ready = writeModel(transformerDecoder(DECODER), source, { externalData: EXTERNAL });
  const samples = [decoderPrompts(DECODER.vocab, 2, 16, 1), decoderPrompts(DECODER.vocab, 2, 16, 2)];

  it.each([
    ['int8-static (calibration)', (m: Model, r: ModelRunner) => quantizeStatic(m, r, samples)],
    ['fp16-auto (search)', (m: Model, r: ModelRunner) => autoMixedPrecision(m, r, samples, { target: 'any', tolerance: 0.05 })],
  ] as const)('%s loads the streamed model from a file, and gives the in-memory result', async (_, run) => {
    await ready;
    const memory = await readModel(source);
    const inMemory = recording();
    await run(memory, inMemory.runner);
    const streamed = await openModel(source);
    const fromFiles = recording();
    await run(streamed, fromFiles.runner);
    expect(inMemory.loads.every((l) => l === 'bytes')).toBe(true);
    expect(fromFiles.loads.length).toBeGreaterThan(0);
    expect(fromFiles.loads.every((l) => l === 'path')).toBe(true);
    const out = [folder(), folder()];
    await writeModel(memory, join(out[0] as string, 'out.onnx'), { externalData: EXTERNAL });
    await writeModel(streamed, join(out[1] as string, 'out.onnx'), { externalData: EXTERNAL });
    for (const f of ['out.onnx', 'out.onnx.data']) expect(Buffer.compare(readFileSync(join(out[1] as string, f)), readFileSync(join(out[0] as string, f))), f).toBe(0);
  });
});

const CHILD = fileURLToPath(new URL('./testing/stream-convert-main.ts', import.meta.url));

function child(args: string[]): { peakRssBytes: number; written: number } {
  const r = spawnSync(process.execPath, ['--conditions=@onnx-forge/source', '--import', 'tsx', CHILD, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { peakRssBytes: number; written: number };
}

describe('memory while streaming', () => {
  it('converting a 440 MB decoder to fp16, int8 and int4 holds a small part of it (peak RSS of the converting process)', async () => {
    // 32 layers of hidden 512: 110 M weights, none larger than 16 MB. Built a tensor at a time.
    const dir = folder();
    const input = join(dir, 'decoder.onnx');
    const built = await writeModel(transformerDecoder({ layers: 32, hidden: 512, heads: 8, intermediate: 1376, vocab: 8000, weights: 'deferred' }), input, { externalData: true });
    const modelBytes = built.bytes + (built.externalData?.bytes ?? 0);
    expect(modelBytes).toBeGreaterThan(400e6);

    const baseline = child(['baseline']).peakRssBytes;
    const sizes: Record<string, number> = { fp16: 0.51, 'int8-dynamic': 0.27, int4: 0.22 };
    for (const [pass, size] of Object.entries(sizes)) {
      const r = child([pass, input, join(dir, `${pass}.onnx`)]);
      expect(r.written).toBeLessThan(modelBytes * size);
      // What the conversion adds to a process that only loaded the packages: a few tensors of at most
      // 16 MB and their converted forms, not the model (in memory it is the model and its copy).
      const added = r.peakRssBytes - baseline;
      process.stdout.write(`${pass}: ${(modelBytes / 1e6).toFixed(0)} MB model, peak RSS ${(r.peakRssBytes / 1e6).toFixed(0)} MB (${(baseline / 1e6).toFixed(0)} MB with nothing converted)\n`);
      expect(added).toBeLessThan(modelBytes * 0.4);
      rmSync(join(dir, `${pass}.onnx`), { force: true });
      rmSync(join(dir, `${pass}.onnx.data`), { force: true });
    }
  }, 180_000);
});
