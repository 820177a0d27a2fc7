import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mlp } from '@onnx-forge/core';
import { HybridModel } from '@onnx-forge/hybrid';
import { describe, expect, it } from 'vitest';
import { sampleManifest } from '../testing/sample-manifest.js';
import { listRepository, readManifest, variantFile } from './read-repository.js';
import { repositoryBackends } from './repository-backends.js';
import { UNMARKED_STALE_MS, stagingName } from './stale-staging.js';
import { VersionStager, listVersions } from './version-stager.js';
import { tempFolders } from '../testing/temp-folders.js';

const tempFolder = tempFolders();

async function stage(repo: string, model: string, files: Record<string, Uint8Array>): Promise<number> {
  const s = await VersionStager.begin(repo, model);
  for (const [name, bytes] of Object.entries(files)) await writeFile(s.path(name), bytes);
  const { version: _v, ...m } = { ...sampleManifest(), model };
  return (await s.commit(m)).version;
}

const PACKAGE = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A run in a process of its own that stages a version of `model` (one file written), prints the staging
 * folder, then exits at once as the CLI's second Ctrl-C does (process.exit), or stays (a live run).
 */
function stagingRun(repo: string, model: string, exit: boolean): Promise<{ dir: string; pid: number }> {
  const script = `import { writeFile } from 'node:fs/promises'; import { VersionStager } from './src/repository/version-stager.ts';
const s = await VersionStager.begin(${JSON.stringify(repo)}, ${JSON.stringify(model)}); await writeFile(s.path('fp32.onnx'), 'half a model');
process.stdout.write(s.dir + '\\n'); ${exit ? 'process.exit(130);' : 'setInterval(() => {}, 1000);'}`;
  const child = spawn(process.execPath, ['--conditions=@onnx-forge/source', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: PACKAGE, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!exit && out.includes('\n')) resolve({ dir: out.trim(), pid: child.pid as number });
    });
    child.on('close', (code) => (exit && code === 130 ? resolve({ dir: out.trim(), pid: child.pid as number }) : reject(new Error(`staging run exited with ${code}: ${out}`))));
  });
}

/** The pid of a process that has ended. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid as number;
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

  it('removes a version a run staged and left when its process exited at once (a second Ctrl-C), never a live run\'s, and lists neither', async () => {
    const repo = await tempFolder('repo-');
    const bytes = mlp().encode();
    expect(await stage(repo, 'encoder', { 'fp32.onnx': bytes, 'int8-dynamic.onnx': bytes })).toBe(1);
    // The live run first: its begin would remove the other's folder, as the next run's does below.
    const live = await stagingRun(repo, 'encoder', false);
    const left = await stagingRun(repo, 'encoder', true);
    try {
      expect(existsSync(left.dir)).toBe(true);
      // Readers never show either.
      expect(await listVersions(join(repo, 'encoder'))).toEqual([1]);
      expect(await listRepository(repo)).toEqual([{ model: 'encoder', versions: [1] }]);
      expect((await readManifest(repo, 'encoder')).version).toBe(1);
      // The next run removes the one whose process is gone, says so, and leaves the live run's alone.
      const next = await VersionStager.begin(repo, 'encoder');
      expect(next.stale).toEqual([{ dir: left.dir, pid: left.pid, removed: true }]);
      expect(existsSync(left.dir)).toBe(false);
      expect(existsSync(join(live.dir, 'fp32.onnx'))).toBe(true);
      await next.abort();
      // A second run finds nothing more to remove while the live run goes on.
      const again = await VersionStager.begin(repo, 'encoder');
      expect(again.stale).toEqual([]);
      await again.abort();
      expect((await readdir(join(repo, 'encoder'))).sort()).toEqual([live.dir.slice(join(repo, 'encoder').length + 1), '1'].sort());
    } finally {
      process.kill(live.pid, 'SIGKILL');
    }
  }, 60_000);

  it('a staging folder of a process on another machine, or of a live one, stays; an unmarked one of an earlier version goes once its pid is gone and it is a day old', async () => {
    const repo = await tempFolder('repo-');
    const dir = join(repo, 'encoder');
    await mkdir(dir);
    const dead = deadPid();
    const ours = stagingName();
    const elsewhere = ours.replace(/^\.staging-\d+-([pt]\d+)-[0-9a-f]{8}-/, `.staging-${dead}-$1-00000000-`);
    const oldGone = `.staging-${dead}-0123abcd`;
    const newGone = `.staging-${dead}-4567abcd`;
    const oldLive = `.staging-${process.pid}-89abcdef`;
    const dayAgo = (Date.now() - UNMARKED_STALE_MS - 60_000) / 1000;
    for (const name of [ours, elsewhere, oldGone, newGone, oldLive]) await mkdir(join(dir, name));
    for (const name of [elsewhere, oldGone, oldLive]) await utimes(join(dir, name), dayAgo, dayAgo);
    const s = await VersionStager.begin(repo, 'encoder');
    expect(s.stale).toEqual([{ dir: join(dir, oldGone), pid: dead, removed: true }]);
    expect((await readdir(dir)).sort()).toEqual([ours, elsewhere, newGone, oldLive, s.dir.slice(dir.length + 1)].sort());
    await s.abort();
  });
});
