import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataType, mlp, replaceTensorData, tensorToFloat32, type Model } from '@onnx-forge/core';
import { convertToFp16 } from '@onnx-forge/graph-ops';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { optimizeModel } from './optimize-model.js';
import { tempFolders } from '../testing/temp-folders.js';

// Every model written with its weights in a data file beside it, as models past 2 GiB are.
vi.mock('@onnx-forge/core', async (importOriginal) => {
  const core = await importOriginal<typeof import('@onnx-forge/core')>();
  return { ...core, writeModel: (m: Parameters<typeof core.writeModel>[0], file: string, o: Parameters<typeof core.writeModel>[2] = {}) => core.writeModel(m, file, { ...o, externalData: { threshold: 0 } }) };
});

const tempFolder = tempFolders();
let root: string;
beforeAll(async () => {
  root = await tempFolder('optimize-identity-');
});

const quick = { runs: 3, warmup: 0, samples: 2, reports: false } as const;

describe('variants written with external data', () => {
  it('a conversion that changed nothing is the same model as fp32 though each .onnx names its own data file', async () => {
    const half = mlp({ sizes: [64, 256, 10] });
    await convertToFp16(half, { target: 'any' });
    const r = await optimizeModel(half, { ...quick, out: join(root, 'half'), name: 'half', variants: ['fp32', 'fp16'] });
    expect(r.variants.find((v) => v.name === 'fp32')).toMatchObject({ status: 'ok' });
    expect(existsSync(join(r.repository?.path as string, 'fp32.onnx.data'))).toBe(true);
    // The .onnx files differ only in the data file they name: compared by their hash, fp16 was kept as a second copy.
    expect(r.variants.find((v) => v.name === 'fp16')).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^the same model as fp32 /) });
    expect(existsSync(join(r.repository?.path as string, 'fp16.onnx.data'))).toBe(false);
  });

  it('variants with the same graph and other weights in their data files are not the same', async () => {
    // Weights halved: the same graph, the same offsets in the data file, other bytes there.
    const halved = async (m: Model) => {
      for (const t of m.graph.initializers) replaceTensorData(t, DataType.FLOAT, tensorToFloat32(t).map((x) => x / 2));
      return ['halved'];
    };
    const r = await optimizeModel(mlp({ sizes: [64, 256, 10] }), { ...quick, out: join(root, 'halved'), name: 'halved', variants: ['fp32', 'fp16'], builders: { fp16: halved } });
    expect(r.variants.find((v) => v.name === 'fp16')?.status).not.toBe('skipped');
    expect(existsSync(join(r.repository?.path as string, 'fp16.onnx.data'))).toBe(true);
  });
});
