// The models a folder holds. Files linked into a folder to serve them together (`ln -s ~/models/*.onnx
// serve/`) are models like the files themselves: the folder used to be served with no model at all.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallCnn, tempDir, writeModels } from '../testing/fixtures.js';
import { createServer } from '../create-server.js';
import { runServer } from '../run-server.js';
import { call } from '../testing/v2-client.js';
import { scanModels } from './model-source.js';

let dir: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  ({ dir, remove } = await tempDir('model-source'));
  await mkdir(path.join(dir, 'elsewhere'));
  await mkdir(path.join(dir, 'served'));
  await writeModels(path.join(dir, 'elsewhere'), { linked: smallCnn() });
  await writeModels(path.join(dir, 'served'), { plain: smallCnn() });
  await symlink(path.join(dir, 'elsewhere', 'linked.onnx'), path.join(dir, 'served', 'linked.onnx'));
  // A link to nothing, and a link to a folder named like a model: neither is a model file.
  await symlink(path.join(dir, 'elsewhere', 'gone.onnx'), path.join(dir, 'served', 'dangling.onnx'));
  await symlink(path.join(dir, 'elsewhere'), path.join(dir, 'served', 'folder.onnx'));
  await writeFile(path.join(dir, 'served', 'notes.txt'), 'not a model');
  // Files whose stem cannot be a model name (it goes in URLs: /v2/models/<name>).
  await mkdir(path.join(dir, 'odd'));
  await writeModels(path.join(dir, 'odd'), { 'my model': smallCnn(), '-draft': smallCnn(), good: smallCnn() });
});

afterAll(async () => {
  await remove?.();
});

describe('scanModels', () => {
  it('serves a model file linked into the folder, named after the link, with the size of its target', async () => {
    const models = await scanModels(path.join(dir, 'served'));
    expect([...models.keys()].sort()).toEqual(['linked', 'plain']);
    const version = await models.get('linked')?.readVersion(1);
    expect(version?.variants).toEqual([{ name: 'linked.onnx', precision: 'fp32', file: path.join(dir, 'served', 'linked.onnx'), bytes: expect.any(Number) }]);
    expect(version?.variants[0]?.bytes).toBeGreaterThan(1000);
  });
});

// A model file whose stem is no model name ("my model.onnx", "-draft.onnx") was dropped without a word:
// `onnx-forge serve "my model.onnx"` started, served nothing and was never ready; in a folder the file
// was simply not there.
describe('a file whose name cannot be a model name', () => {
  it('given alone, is refused with a usage error that says why and what to do', async () => {
    const file = path.join(dir, 'odd', 'my model.onnx');
    const refusal = expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringMatching(/^cannot serve ".*my model\.onnx": its model would be named "my model", and a model name takes letters, digits, '\.', '_' and '-', starting with a letter or digit .*rename the file/) });
    await expect(scanModels(file)).rejects.toThrow(refusal);
    await expect(createServer({ models: file, page: false })).rejects.toThrow(refusal);
  });

  it('in a folder, is left out and reported, and the other models are served', async () => {
    const skipped: string[] = [];
    const models = await scanModels(path.join(dir, 'odd'), (file, why) => skipped.push(`${path.basename(file)}: ${why}`));
    expect([...models.keys()]).toEqual(['good']);
    expect(skipped.sort()).toEqual([
      `-draft.onnx: its model would be named "-draft", and a model name takes letters, digits, '.', '_' and '-', starting with a letter or digit (it goes in URLs: /v2/models/<name>); rename the file`,
      `my model.onnx: its model would be named "my model", and a model name takes letters, digits, '.', '_' and '-', starting with a letter or digit (it goes in URLs: /v2/models/<name>); rename the file`,
    ]);
  });

  it('is named in the server log at start', async () => {
    const lines: string[] = [];
    const server = await createServer({ models: path.join(dir, 'odd'), page: false, workers: 1, log: (l) => lines.push(l) });
    try {
      expect(lines.filter((l) => l.startsWith('skipping'))).toHaveLength(2);
      expect(lines).toContainEqual(expect.stringMatching(/^skipping .*my model\.onnx: its model would be named "my model"/));
      expect(server.models.index().map((e) => e.name)).toEqual(['good']);
    } finally {
      await server.close();
    }
  });
});

// A model file named stats.onnx was served as 'stats', and GET /v2/models/stats, the statistics of every
// model, hid its metadata; every other route of it answered. The name is refused as those above are.
describe('a model named like a path of the protocol', () => {
  it('is left out of a folder with the reason, a load of it says why, and /v2/models/stats stays the statistics of every model', async () => {
    const folder = path.join(dir, 'reserved');
    await mkdir(folder);
    await writeModels(folder, { stats: smallCnn(), good: smallCnn() });
    const lines: string[] = [];
    const server = await createServer({ models: folder, page: false, workers: 1, log: (l) => lines.push(l) });
    try {
      const url = await server.listen(0, '127.0.0.1');
      expect(lines).toContainEqual(expect.stringMatching(/^skipping .*stats\.onnx: its model would be named "stats", which the server cannot serve: GET \/v2\/models\/stats answers the statistics of every model.*; rename the file$/));
      expect(server.models.index().map((e) => e.name)).toEqual(['good']);
      const load = await call(`${url}/v2/repository/models/stats/load`, 'POST');
      expect(load.status).toBe(400);
      expect(load.json).toEqual({ error: expect.stringMatching(/^cannot load model 'stats': its model would be named "stats", which the server cannot serve/), code: 'FORGE_BAD_INPUT' });
      const stats = await call(`${url}/v2/models/stats`, 'GET');
      expect(stats.status).toBe(200);
      expect((stats.json as { model_stats: { name: string }[] }).model_stats.map((m) => m.name)).toEqual(['good']);
    } finally {
      await server.close();
    }
    await expect(scanModels(path.join(folder, 'stats.onnx'))).rejects.toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringMatching(/^cannot serve ".*stats\.onnx": its model would be named "stats"/) }));
  });
});

// A 404 for an unknown model listed every model of the repository: with hundreds, each mistyped or
// scanned name got an answer of tens of kilobytes.
describe('a large repository', () => {
  it('names its first ten models in a 404 and counts the rest', async () => {
    const folder = path.join(dir, 'many');
    await mkdir(folder);
    // Files that are not ONNX: listed (UNAVAILABLE) without starting a worker.
    for (let i = 0; i < 11; i++) await writeFile(path.join(folder, `m${String(i).padStart(2, '0')}.onnx`), 'not a model');
    const server = await createServer({ models: folder, page: false, workers: 1 });
    try {
      const url = await server.listen(0, '127.0.0.1');
      const r = await call(`${url}/v2/models/nope`, 'GET');
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ error: "unknown model 'nope': this server has 'm00', 'm01', 'm02', 'm03', 'm04', 'm05', 'm06', 'm07', 'm08', 'm09' and 1 more (GET /v2/repository/index lists them)", code: 'FORGE_BAD_INPUT' });
    } finally {
      await server.close();
    }
  });
});

// A folder with no model yet (models to be loaded later through the repository API) started with the
// banner "onnx-forge demo server:  on http://..." (an empty list), and said nothing of why it was not ready.
describe('a repository with no model', () => {
  it('starts, and the banner says there is no model yet and how to load one', async () => {
    const empty = path.join(dir, 'empty');
    await mkdir(empty);
    const out: string[] = [];
    const running = await runServer([empty, '--port', '0', '--host', '127.0.0.1', '--no-page'], { env: {}, out: (l) => out.push(l), err: () => undefined }, false);
    try {
      expect(out[0]).toMatch(/^onnx-forge demo server: no model yet in .*empty \(put \.onnx files there, then POST \/v2\/repository\/models\/<name>\/load\) on http:\/\/127\.0\.0\.1:\d+ \(ready in /);
    } finally {
      await running.stop();
    }
  });
});
