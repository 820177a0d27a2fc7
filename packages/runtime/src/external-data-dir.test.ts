import { mkdirSync, readFileSync, renameSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { Model, mlp, modelTensors, writeModel } from '@onnx-forge/core';
import { forgeRejection, tempFolders } from '@onnx-forge/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createSession } from './create-session.js';

const folder = tempFolders('forge-runtime-extdir-', afterAll);
const x = { data: new Float32Array([1, 2, 3, 4]), dims: [1, 4] };

/** A small MLP written to `<dir>/model/model.onnx` with its weights in `<dir>/model/<location>`; its bytes. */
async function modelWithData(dir: string, location: string): Promise<Uint8Array> {
  mkdirSync(path.join(dir, 'model', path.dirname(location)), { recursive: true });
  const file = path.join(dir, 'model', 'model.onnx');
  await writeModel(mlp({ sizes: [4, 8, 2], seed: 7 }), file, { externalData: { location, threshold: 16 } });
  return new Uint8Array(readFileSync(file));
}

/** The same model with every external data location replaced by `location`. */
function relocated(bytes: Uint8Array, location: string): Uint8Array {
  const m = Model.decode(bytes);
  for (const { tensor } of modelTensors(m.proto)) {
    for (const e of tensor.externalData) if (e.key === 'location') e.value = location;
  }
  return m.encode();
}

describe('createSession(bytes, { externalDataDir })', () => {
  it('refuses a data file that is a symbolic link to a file outside the folder', async () => {
    const dir = folder();
    const bytes = await modelWithData(dir, 'link.data');
    mkdirSync(path.join(dir, 'outside'));
    renameSync(path.join(dir, 'model', 'link.data'), path.join(dir, 'outside', 'secret'));
    symlinkSync(path.join(dir, 'outside', 'secret'), path.join(dir, 'model', 'link.data'));
    const e = await forgeRejection(createSession(bytes, { backend: 'node', externalDataDir: path.join(dir, 'model') }));
    expect(e.code).toBe('FORGE_EXTERNAL_DATA');
    expect(e.message).toMatch(/"link\.data" is a link to .*outside/);
  });

  it('refuses a data file reached through a linked folder outside externalDataDir', async () => {
    const dir = folder();
    const bytes = await modelWithData(dir, 'sub/w.data');
    renameSync(path.join(dir, 'model', 'sub'), path.join(dir, 'outside'));
    symlinkSync(path.join(dir, 'outside'), path.join(dir, 'model', 'sub'), 'dir');
    const e = await forgeRejection(createSession(bytes, { backend: 'node', externalDataDir: path.join(dir, 'model') }));
    expect(e.code).toBe('FORGE_EXTERNAL_DATA');
    expect(e.message).toMatch(/is a link to .*outside/);
  });

  it('still refuses a location that leaves the folder by name, or is absolute', async () => {
    const dir = folder();
    const bytes = await modelWithData(dir, 'w.data');
    mkdirSync(path.join(dir, 'outside'));
    renameSync(path.join(dir, 'model', 'w.data'), path.join(dir, 'outside', 'w.data'));
    for (const location of ['../outside/w.data', path.join(dir, 'outside', 'w.data')]) {
      const e = await forgeRejection(createSession(relocated(bytes, location), { backend: 'node', externalDataDir: path.join(dir, 'model') }));
      expect(e.code).toBe('FORGE_EXTERNAL_DATA');
      expect(e.message).toMatch(/points outside|is absolute/);
    }
  });

  it('loads a file whose name merely starts with two dots ("..data"), and a link that stays in the folder', async () => {
    const dir = folder();
    const bytes = await modelWithData(dir, '..data');
    const session = await createSession(bytes, { backend: 'node', externalDataDir: path.join(dir, 'model') });
    expect((await session.run({ x })).y?.dims).toEqual([1, 2]);
    await session.release();

    const dir2 = folder();
    const bytes2 = await modelWithData(dir2, 'link.data');
    renameSync(path.join(dir2, 'model', 'link.data'), path.join(dir2, 'model', 'real.data'));
    symlinkSync('real.data', path.join(dir2, 'model', 'link.data'));
    const linked = await createSession(bytes2, { backend: 'node', externalDataDir: path.join(dir2, 'model') });
    expect((await linked.run({ x })).y?.dims).toEqual([1, 2]);
    await linked.release();
  });
});

describe('createSession(path) on a model whose external data onnxruntime refuses', () => {
  it('reports onnxruntime\'s reason without advising a file path or externalDataDir, which would not help', async () => {
    const dir = folder();
    await modelWithData(dir, 'link.data');
    mkdirSync(path.join(dir, 'outside'));
    renameSync(path.join(dir, 'model', 'link.data'), path.join(dir, 'outside', 'secret'));
    symlinkSync(path.join(dir, 'outside', 'secret'), path.join(dir, 'model', 'link.data'));
    const e = await forgeRejection(createSession(path.join(dir, 'model', 'model.onnx'), { backend: 'node' }));
    expect(e.message).toMatch(/link\.data|external/i);
    expect(e.message).not.toMatch(/pass the model as a file path/);
  });
});
