import { existsSync } from 'node:fs';
import path from 'node:path';
import { readModel, transformerDecoder, writeModel } from '@onnx-forge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoderPrompts } from '@onnx-forge/graph-ops/testing';
import { jsonOf, runCliProcess } from '../testing/cli-process.js';
import { compareOutputs } from '../testing/ort-compare.js';
import { tempDir } from '../testing/fixtures.js';

interface Int4Json {
  pipeline: string;
  passes: { name: string; options: Record<string, unknown>; stats: Record<string, number | string>; decisionSummary: { action: string; opType: string; count: number }[] }[];
  int4?: { matmulWeightBytesBefore: number; matmulWeightBytesAfter: number; matmulWeightRatio: number; gatherTableBytesBefore: number; gatherTableBytesAfter: number };
  accuracy?: { outputs?: { output: string; cosine: number }[]; failed?: unknown[] };
}

describe('onnx-forge quantize --bits 4', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  let input: string;
  beforeAll(async () => {
    input = file('decoder.onnx');
    await writeModel(transformerDecoder({ layers: 2, hidden: 128, heads: 4, intermediate: 344, vocab: 1000, seed: 3 }), input);
  });
  afterAll(() => tmp.cleanup());

  it('writes MatMulNBits weights at <= 0.16 x the MatMul bytes and checks the logits against float32', async () => {
    const out = file('decoder.q4.onnx');
    const r = await runCliProcess(['quantize', input, '-o', out, '--bits', '4', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const j = jsonOf<Int4Json>(r);
    expect(j.pipeline).toMatch(/^int4/);
    expect(j.passes[0]?.options).toMatchObject({ blockSize: 32, symmetric: true, accuracyLevel: 0, method: 'rtn', ops: ['MatMul'] });
    expect(j.int4?.matmulWeightRatio).toBeLessThanOrEqual(0.16);
    const quantized = (j.passes[0]?.decisionSummary ?? []).filter((d) => d.action === 'quantized' && d.opType === 'MatMul');
    expect(quantized.reduce((n, d) => n + d.count, 0)).toBe(15);
    const logits = j.accuracy?.outputs?.find((o) => o.output === 'logits');
    expect(logits?.cosine).toBeGreaterThanOrEqual(0.99);
    expect(j.accuracy?.failed).toEqual([]);
    const model = await readModel(out);
    expect(model.graph.nodes.filter((n) => n.opType === 'MatMulNBits' && n.domain === 'com.microsoft')).toHaveLength(15);
    expect(model.opset('com.microsoft')).toBe(1);
    // The written file against float32 in onnxruntime-node, on prompts of its own (not the CLI's figures).
    const cos = await compareOutputs(input, out, { feeds: decoderPrompts(1000, 2, 32, 5) });
    expect(cos.logits).toBeGreaterThanOrEqual(0.99);
  });

  it('passes the int4 flags on as pass options and prints the byte figures', async () => {
    const r = await runCliProcess([
      'quantize', input, '-o', file('decoder.q4b.onnx'), '--bits', '4',
      '--block-size', '64', '--no-symmetric', '--accuracy-level', '4', '--method', 'search', '--ops', 'MatMul,Gather', '--target', 'cpu', '--no-verify',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^INT4: MatMul weights \d+ -> \d+ bytes \(0\.1\d\d x, scales and zero points included\)$/m);
    const model = await readModel(file('decoder.q4b.onnx'));
    const nbits = model.graph.nodes.filter((n) => n.opType === 'MatMulNBits');
    expect(nbits.every((n) => n.input.length === 4)).toBe(true); // asymmetric: zero points
    const attr = (name: string) => Number(nbits[0]?.attribute.find((a) => a.name === name)?.i);
    expect([attr('block_size'), attr('accuracy_level')]).toEqual([64, 4]);
    expect(model.graph.nodes.some((n) => n.opType === 'GatherBlockQuantized')).toBe(true);
  });

  it('exits 2 for INT8-only flags with --bits 4, int4 flags without it, and bad int4 values', async () => {
    const cases: [string[], RegExp][] = [
      [['--bits', '4', '--isa', 'host'], /--isa is for INT8 \(--bits 8\)/],
      [['--bits', '4', '--tolerance', '0.99'], /--tolerance is for INT8/],
      [['--bits', '4', '--mode', 'static', '--calibration', tmp.dir], /--bits 4 is weight-only quantization/],
      [['--block-size', '64'], /--block-size is for --bits 4/],
      [['--bits', '4', '--block-size', '48'], /option "blockSize": must be 16, 32, 64, 128 or 256/],
      [['--bits', '4', '--ops', 'Conv'], /int4 quantizes MatMul, Gather/],
      [['--bits', '3'], /argument '3' is invalid. Allowed choices are 8, 4./],
    ];
    for (const [flags, message] of cases) {
      const out = file('never.onnx');
      const r = await runCliProcess(['quantize', input, '-o', out, ...flags]);
      expect(r.code, `${flags.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
  });
});
