import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mlp } from '@onnx-forge/core';
import { HybridModel } from '@onnx-forge/hybrid';
import { describe, expect, it } from 'vitest';
import { sampleManifest } from '../testing/sample-manifest.js';
import { listRepository, readManifest, variantFile } from './read-repository.js';
import { repositoryBackends } from './repository-backends.js';
import { VersionStager } from './version-stager.js';
import { tempFolders } from '../testing/temp-folders.js';

const tempFolder = tempFolders();

async function stage(repo: string, model: string, files: Record<string, Uint8Array>): Promise<number> {
  const s = await VersionStager.begin(repo, model);
  for (const [name, bytes] of Object.entries(files)) await writeFile(s.path(name), bytes);
  const { version: _v, ...m } = { ...sampleManifest(), model };
  return (await s.commit(m)).version;
}

describe('model repository', () => {
  it('numbers versions, shows no staging folder to readers, and reads the latest or a given version', async () => {
    const repo = await tempFolder('repo-');
    const bytes = mlp().encode();
    expect(await stage(repo, 'encoder', { 'fp32.onnx': bytes, 'int8-dynamic.onnx': bytes })).toBe(1);
    expect(await stage(repo, 'encoder', { 'fp32.onnx': bytes, 'int8-dynamic.onnx': bytes })).toBe(2);
    const abandoned = await VersionStager.begin(repo, 'encoder');
    await mkdir(join(repo, 'notes'));
    expect(await listRepository(repo)).toEqual([{ model: 'encoder', versions: [1, 2] }]);
    expect((await readManifest(repo, 'encoder')).version).toBe(2);
    const v1 = await readManifest(repo, 'encoder', 1);
    expect(variantFile(v1)).toBe(join(repo, 'encoder', '1', 'int8-dynamic.onnx'));
    expect(() => variantFile(v1, 'fp16')).toThrow(/has no file for variant fp16 \(status failed\)/);
    await abandoned.abort();
    expect((await readdir(join(repo, 'encoder'))).sort()).toEqual(['1', '2']);
  });

  it('lists a model folder linked into the repository (models gathered to be served together), not a dangling link', async () => {
    const elsewhere = await tempFolder('repo-elsewhere-');
    await stage(elsewhere, 'classifier', { 'fp32.onnx': mlp().encode(), 'int8-dynamic.onnx': mlp().encode() });
    const repo = await tempFolder('repo-');
    await symlink(join(elsewhere, 'classifier'), join(repo, 'classifier'));
    await symlink(join(elsewhere, 'gone'), join(repo, 'gone'));
    expect(await listRepository(repo)).toEqual([{ model: 'classifier', versions: [1] }]);
    expect((await readManifest(repo, 'classifier')).version).toBe(1);
  });

  it('never commits a manifest that lists a file the version does not hold', async () => {
    const repo = await tempFolder('repo-');
    const s = await VersionStager.begin(repo, 'encoder');
    // int8-dynamic.onnx, which the sample manifest lists, is not staged.
    await writeFile(s.path('fp32.onnx'), mlp().encode());
    const { version: _v, ...m } = { ...sampleManifest(), model: 'encoder' };
    await expect(s.commit(m)).rejects.toMatchObject({ code: 'FORGE_BAD_INPUT', message: 'the manifest lists int8-dynamic.onnx for variant int8-dynamic (/variants/1/file), but the version holds no such file' });
    expect((await listRepository(repo))).toEqual([]);
    await s.abort();
  });

  it('builds the manifest for the version number and folder it commits to', async () => {
    const repo = await tempFolder('repo-');
    const s = await VersionStager.begin(repo, 'encoder');
    for (const f of ['fp32.onnx', 'int8-dynamic.onnx']) await writeFile(s.path(f), mlp().encode());
    const { version: _v, ...m } = { ...sampleManifest(), model: 'encoder' };
    const { version, dir } = await s.commit((n, folder) => ({ ...m, reason: `version ${n} in ${folder}` }));
    expect((await readManifest(repo, 'encoder', version)).reason).toBe(`version 1 in ${dir}`);
    expect(dir).toBe(join(repo, 'encoder', '1'));
  });

  it('refuses a manifest that sits in another model\'s folder', async () => {
    const repo = await tempFolder('repo-');
    await stage(repo, 'a', { 'fp32.onnx': mlp().encode(), 'int8-dynamic.onnx': mlp().encode() });
    const { rename } = await import('node:fs/promises');
    await mkdir(join(repo, 'b'));
    await rename(join(repo, 'a', '1'), join(repo, 'b', '1'));
    await expect(readManifest(repo, 'b')).rejects.toMatchObject({ code: 'FORGE_BAD_INPUT', message: expect.stringMatching(/says it is a version 1, but it sits in b\/1/) });
  });

  it('serves a version through HybridModel: the chosen variant first, FP32 as the reference', async () => {
    const repo = await tempFolder('repo-');
    const model = mlp({ sizes: [64, 32, 10] });
    await stage(repo, 'mlp', { 'fp32.onnx': model.encode(), 'int8-dynamic.onnx': model.encode() });
    const r = await repositoryBackends(repo, 'mlp');
    expect(r.backends.map((b) => b.name)).toEqual(['int8-dynamic', 'fp32']);
    expect(r.reference).toBe('fp32');
    const hybrid = new HybridModel({ backends: r.backends, reference: r.reference, canary: false });
    try {
      const out = await hybrid.predict({ x: { data: new Float32Array(64).fill(0.5), dims: [1, 64] } });
      expect(out.y?.dims).toEqual([1, 10]);
    } finally {
      await hybrid.dispose();
    }
  });
});
