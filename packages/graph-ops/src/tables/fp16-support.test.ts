import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { transformerEncoder } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { convertToFp16 } from '../fp16/fp16-pass.js';
import { assertValid } from '../testing/harness.js';
import { formatOpsets, parseOpsets } from './fp16-kernel-table.js';
import { ORT_FP16_PROBED } from './fp16-kernels-ort.generated.js';
import { fp16KernelVerdict } from './fp16-support.js';

describe('fp16 kernel tables', () => {
  it('were probed with the onnxruntime versions installed here (re-run scripts/probe-fp16-kernels.ts after an upgrade)', () => {
    const require = createRequire(import.meta.url);
    for (const pkg of ['onnxruntime-node', 'onnxruntime-web']) {
      // onnxruntime-web exports no ./package.json: walk up from its entry point instead.
      let dir = dirname(require.resolve(pkg));
      while (!existsSync(join(dir, 'package.json')) || (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== pkg) dir = dirname(dir);
      const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
      expect(ORT_FP16_PROBED.runtime[pkg], pkg).toBe(version);
    }
    expect(Object.keys(ORT_FP16_PROBED.cpu).length).toBeGreaterThan(100);
    expect(Object.keys(ORT_FP16_PROBED.wasm).length).toBeGreaterThan(100);
  });

  it.each([
    ['cpu', '', 'Relu', 17, false],
    ['cpu', '', 'Softplus', 17, false],
    ['cpu', '', 'LayerNormalization', 17, true],
    ['cpu', '', 'Cast', 13, true],
    ['cpu', '', 'Clip', 11, false],
    ['cpu', '', 'Clip', 13, true],
    ['wasm', '', 'MatMul', 13, false],
    ['wasm', '', 'Transpose', 13, true],
    ['cuda', '', 'MatMul', 13, true],
    ['cuda', '', 'Range', 13, false],
    ['cuda', '', 'Clip', 11, false],
    ['cuda', '', 'Clip', 12, true],
    ['cuda', 'com.microsoft', 'SkipLayerNormalization', 1, true],
    ['webgpu', '', 'Conv', 13, true],
    ['webgpu', '', 'Range', 13, false],
    ['any', '', 'Relu', 17, true],
  ] as const)('%s %s.%s at opset %i: %s', (target, domain, op, opset, want) => {
    const v = fp16KernelVerdict(target, domain, op, opset);
    expect(v.fp16, v.note).toBe(want);
    expect(v.note.length).toBeGreaterThan(5);
  });

  it('gives every reason as a code of the reasons table, each used, and the message whole in the note', () => {
    const used = new Set<string>();
    for (const target of ['cpu', 'wasm'] as const) {
      for (const [op, entry] of Object.entries(ORT_FP16_PROBED[target])) {
        expect(entry.why === undefined, `${target} ${op}: a reason exactly when some opset has no kernel`).toBe(entry.no === undefined);
        if (entry.why === undefined) continue;
        expect(ORT_FP16_PROBED.reasons, `${target} ${op}`).toHaveProperty([entry.why]);
        used.add(entry.why);
      }
    }
    expect(Object.keys(ORT_FP16_PROBED.reasons).sort()).toEqual([...used].sort());
    // The message ends as onnxruntime ended it (the table once cut it at 160 characters).
    expect(fp16KernelVerdict('cpu', '', 'ScatterND', 16).note).toMatch(/MLFloat16 data type is not supported with ScatterND opset 16 when reduction is 'add'\.\)$/);
    expect(fp16KernelVerdict('cpu', '', 'Relu', 17).note).toMatch(/onnxruntime inserted float32 Casts around it/);
  });

  it('knows nothing of an op it never probed, and says so', () => {
    const v = fp16KernelVerdict('cpu', 'my.domain', 'Thing', 1);
    expect(v.fp16).toBeUndefined();
    expect(v.note).toMatch(/not probed on cpu/);
  });

  it('takes the nearest probed opset below when the model uses one never probed', () => {
    const v = fp16KernelVerdict('cpu', '', 'Transpose', 30);
    expect(v.fp16).toBe(true);
    expect(v.note).toMatch(/probed at opset \d+, model uses 30/);
  });

  it('formats and parses opset ranges', () => {
    expect(formatOpsets([7, 8, 9, 12, 14, 15])).toBe('7-9,12,14-15');
    expect(parseOpsets('7-9,12')).toEqual([[7, 9], [12, 12]]);
  });

  it.each(['cuda', 'webgpu'] as const)('converts a BERT-shaped encoder for %s into a valid model', async (target) => {
    const model = transformerEncoder({ layers: 1, seed: 3 });
    const report = await convertToFp16(model, { target, keepIoTypes: true });
    assertValid(model);
    expect(report.decisions.find((d) => d.opType === 'MatMul')?.action).toBe('converted');
    expect(report.bytesAfter).toBeLessThan(report.bytesBefore * 0.55);
  });
});
