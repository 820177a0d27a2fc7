// Models that cannot be loaded. At start from the command line (runServer, what `onnx-forge serve` and
// `npm start` run) the server does not start: it rejects with the load error (FORGE_INVALID_MODEL for a
// file that is not ONNX, FORGE_INVALID_GRAPH for one that breaks an ONNX rule, FORGE_RUNTIME when
// onnxruntime cannot load a valid one) naming the file, before it listens. Through the repository API
// (and with createServer's default), the server stays up and the model is UNAVAILABLE with its reason:
// readiness and inference then answer 503 with the load error's code, not FORGE_OVERLOADED. The index
// gives every model's version, loaded or not.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelBuilder, createNode, encodeModel } from '@onnx-forge/core';
import { deepTreeModel } from '@onnx-forge/runtime/testing';
import type { DemoServer } from './create-server.js';
import { createServer } from './create-server.js';
import { EXIT_CODE, exitCodeOf, runServer, startupErrorText } from './run-server.js';
import { smallCnn, startServer, tempDir, writeModels } from './testing/fixtures.js';
import { call, type V2Response } from './testing/v2-client.js';
import { v2Problems } from './testing/v2-schema.js';

/** x → Add(x, b) → a → Relu → b: decodes, but `a` needs `b`, which needs `a` (onnxruntime: "the graph is not acyclic"). */
function cycleModelBytes(): Uint8Array {
  const b = new ModelBuilder({ graphName: 'cycle' });
  const x = b.input('x', 'float32', [2]);
  b.addNode(createNode('Add', [x, 'b'], ['a'], { name: 'add_needs_b' }));
  b.addNode(createNode('Relu', ['a'], ['b'], { name: 'relu_needs_a' }));
  b.output('b', 'float32', [2]);
  return encodeModel(b.buildProto());
}

/** A valid ONNX model with an operator of a domain onnxruntime does not know: only onnxruntime refuses it. */
function unknownOpBytes(): Uint8Array {
  const b = new ModelBuilder({ graphName: 'unknown_op', opsets: { 'example.custom': 1 } });
  const x = b.input('x', 'float32', [2]);
  b.output(b.op('Frobnicate', [x], {}, { domain: 'example.custom', outputs: ['y'] }), 'float32', [2]);
  return encodeModel(b.buildProto());
}

let dir: string;
let remove: () => Promise<void>;
/** Files of their own folders, so that each start sees one model. */
const files = { good: '', truncated: '', cycle: '', unknownOp: '' };

function expect503(r: V2Response, code: string, pattern: RegExp): void {
  expect(r.status, JSON.stringify(r.json)).toBe(503);
  expect(v2Problems('error_response', r.json)).toEqual([]);
  expect(r.json).toMatchObject({ code, error: expect.stringMatching(pattern) });
}

beforeAll(async () => {
  ({ dir, remove } = await tempDir('load-failure'));
  await writeModels(dir, { good: smallCnn() });
  files.good = path.join(dir, 'good.onnx');
  // What `head -c 100 good.onnx > truncated.onnx` makes.
  files.truncated = path.join(dir, 'truncated.onnx');
  await writeFile(files.truncated, (await readFile(files.good)).subarray(0, 100));
  files.cycle = path.join(dir, 'cycle.bin');
  await writeFile(files.cycle, cycleModelBytes());
  files.unknownOp = path.join(dir, 'unknown-op.bin');
  await writeFile(files.unknownOp, unknownOpBytes());
});

afterAll(async () => {
  await remove?.();
});

describe('a model that cannot be loaded at start, from the command line', () => {
  const lines = { out: [] as string[], err: [] as string[] };
  const io = { env: {}, out: (l: string) => lines.out.push(l), err: (l: string) => lines.err.push(l) };
  const start = (model: string) => runServer([model, '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--no-page'], io, false);

  it('rejects a truncated file with FORGE_INVALID_MODEL naming it (exit 3), before listening and without logging it twice', async () => {
    lines.out.length = 0;
    lines.err.length = 0;
    const error = await start(files.truncated).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'FORGE_INVALID_MODEL', details: { model: 'truncated', version: 1, file: files.truncated } });
    expect(exitCodeOf(error)).toBe(EXIT_CODE.INVALID_MODEL);
    const text = startupErrorText(error);
    expect(text).toMatch(/^error FORGE_INVALID_MODEL: cannot load model 'truncated' version 1: cannot decode the ONNX model \(.*truncated\.onnx\): .*truncated/);
    expect(text).not.toContain('\n');
    // Whoever starts the server gets the file's full path (only HTTP clients get it relative to the repository).
    expect(text).toContain(files.truncated);
    // Nothing listened (no URL printed) and the failure is not logged beside the error the caller reports.
    expect(lines.out).toEqual([]);
    expect(lines.err).toEqual([]);
  });

  it('rejects a graph that breaks an ONNX rule with FORGE_INVALID_GRAPH (exit 3), and one only onnxruntime refuses with FORGE_RUNTIME (exit 1)', async () => {
    const folder = async (name: string, from: string) => {
      const sub = path.join(dir, name);
      await mkdir(sub, { recursive: true });
      await copyFile(from, path.join(sub, `${name}.onnx`));
      return path.join(sub, `${name}.onnx`);
    };
    const cycle = await start(await folder('cycle', files.cycle)).then(() => undefined, (e: unknown) => e);
    expect(cycle).toMatchObject({ code: 'FORGE_INVALID_GRAPH', message: expect.stringMatching(/cycle\.onnx breaks an ONNX rule, so onnxruntime cannot load it: CHECK_/) });
    expect(exitCodeOf(cycle)).toBe(EXIT_CODE.INVALID_MODEL);
    const unknown = await start(await folder('unknown-op', files.unknownOp)).then(() => undefined, (e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'FORGE_RUNTIME', message: expect.stringMatching(/cannot load model 'unknown-op' version 1: onnxruntime .*unknown-op\.onnx.*Frobnicate/) });
    expect(exitCodeOf(unknown)).toBe(EXIT_CODE.FAILURE);
    expect(lines.out).toEqual([]);
  });

  it('starts on a valid model (the same path npm start and serve take)', async () => {
    lines.out.length = 0;
    const running = await start(files.good);
    try {
      expect(lines.out[0]).toMatch(/^onnx-forge demo server: good \(ready\) on http:\/\/127\.0\.0\.1:\d+ /);
      expect((await call(`${running.url}/v2/health/ready`, 'GET')).status).toBe(200);
      // Started with --no-page: the page at / is not there (404), so the banner does not offer it.
      expect(lines.out[1]).toMatch(/^ {2}protocol http:\/\/127\.0\.0\.1:\d+\/v2 {2}· {2}metrics /);
      expect(lines.out.join('\n')).not.toMatch(/page http/);
      expect((await call(`${running.url}/`, 'GET')).status).toBe(404);
    } finally {
      expect(await running.stop()).toBe(0);
    }
  });

  it('maps a bad command line to 2', async () => {
    const error = await runServer([files.good, '--workers', 'x'], io, false).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
    expect(exitCodeOf(error)).toBe(EXIT_CODE.USAGE);
  });

  it('stops at the first model that fails, after loading those before it (createServer with failOnLoadError)', async () => {
    const both = path.join(dir, 'both');
    await mkdir(both, { recursive: true });
    // 'a-good' loads first (by name), then 'b-truncated' fails.
    await copyFile(files.good, path.join(both, 'a-good.onnx'));
    await copyFile(files.truncated, path.join(both, 'b-truncated.onnx'));
    const logs: string[] = [];
    const error = await createServer({ models: both, workers: 1, page: false, failOnLoadError: true, log: (l) => logs.push(l) }).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'FORGE_INVALID_MODEL', message: expect.stringMatching(/cannot load model 'b-truncated' version 1: .*b-truncated\.onnx/) });
    expect(logs.filter((l) => /^loaded a-good/.test(l))).toHaveLength(1);
    // The caller reports the error; the registry does not log it as well.
    expect(logs.filter((l) => /cannot load/.test(l))).toEqual([]);
  });
});

describe('a model that fails to load while the server runs', () => {
  let server: DemoServer;
  let url: string;
  let repo: string;
  const logs: string[] = [];

  beforeAll(async () => {
    repo = path.join(dir, 'running');
    await mkdir(repo, { recursive: true });
    await copyFile(files.good, path.join(repo, 'good.onnx'));
    await copyFile(files.truncated, path.join(repo, 'truncated.onnx'));
    // createServer's default: the server starts, the model that fails stays UNAVAILABLE.
    ({ server, url } = await startServer({ models: repo, log: (l) => logs.push(l) }));
  });

  afterAll(async () => {
    await server?.close();
  });

  const index = async () => (await call(`${url}/v2/repository/index`, 'POST')).json as { name: string; version?: string; state: string; reason: string }[];
  const infer = (model: string) => call(`${url}/v2/models/${model}/infer`, 'POST', { inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', data: Array.from({ length: 768 }, () => 0.5) }] });

  it('lists it with its version and reason, and answers readiness and inference with 503 and FORGE_INVALID_MODEL, not FORGE_OVERLOADED', async () => {
    const listed = await index();
    expect(v2Problems('repository_index_response', listed)).toEqual([]);
    expect(listed).toEqual([
      { name: 'good', version: '1', state: 'READY', reason: '' },
      { name: 'truncated', version: '1', state: 'UNAVAILABLE', reason: expect.stringMatching(/^failed to load: cannot decode the ONNX model \(.*truncated\.onnx\)/) },
    ]);
    expect503(await call(`${url}/v2/health/ready`, 'GET'), 'FORGE_INVALID_MODEL', /not ready: truncated unavailable \(failed to load: cannot decode/);
    expect503(await call(`${url}/v2/models/truncated/ready`, 'GET'), 'FORGE_INVALID_MODEL', /model 'truncated' is not ready \(unavailable: failed to load/);
    expect503(await infer('truncated'), 'FORGE_INVALID_MODEL', /not ready/);
    expect((await infer('good')).status).toBe(200);
    expect((await call(`${url}/v2/health/live`, 'GET')).status).toBe(200);
  });

  it('names the file relative to the repository in everything a client sees, and by its path only in the log', async () => {
    const answers = [
      await call(`${url}/v2/repository/index`, 'POST'),
      await call(`${url}/v2/health/ready`, 'GET'),
      await call(`${url}/v2/models/truncated/ready`, 'GET'),
      await infer('truncated'),
      await call(`${url}/v2/repository/models/truncated/load`, 'POST'),
    ];
    for (const r of answers) {
      const text = JSON.stringify(r.json);
      expect(text).toContain('(truncated.onnx)');
      expect(text).not.toContain(dir);
    }
    expect((answers[4]?.json as { error: string }).error).toMatch(/^cannot load model 'truncated' version 1: cannot decode the ONNX model \(truncated\.onnx\)/);
    // The operator's log keeps the full path of the file.
    expect(logs.filter((l) => l.startsWith('cannot load truncated:')).every((l) => l.includes(path.join(repo, 'truncated.onnx')))).toBe(true);
    expect(logs.filter((l) => l.startsWith('cannot load truncated:')).length).toBeGreaterThanOrEqual(2);
  });

  it('answers a load through the API with 400 and the load error, and stays up', async () => {
    const r = await call(`${url}/v2/repository/models/truncated/load`, 'POST');
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 'FORGE_INVALID_MODEL', error: expect.stringMatching(/cannot load model 'truncated' version 1: cannot decode the ONNX model \(.*truncated\.onnx\)/) });
    // A model added since the start that breaks an ONNX rule: its own code, here and on inference.
    await copyFile(files.cycle, path.join(repo, 'cycle.onnx'));
    const cycle = await call(`${url}/v2/repository/models/cycle/load`, 'POST');
    expect(cycle.status).toBe(400);
    expect(cycle.json).toMatchObject({ code: 'FORGE_INVALID_GRAPH' });
    expect503(await call(`${url}/v2/models/cycle/infer`, 'POST', { inputs: [] }), 'FORGE_INVALID_GRAPH', /not ready \(unavailable: failed to load: .*cycle\.onnx breaks an ONNX rule/);
    expect((await infer('good')).status).toBe(200);
  });

  it('keeps the version of a model it unloads, and readiness follows the failed models until they are unloaded', async () => {
    expect((await call(`${url}/v2/repository/models/good/unload`, 'POST')).status).toBe(200);
    expect((await index()).find((e) => e.name === 'good')).toEqual({ name: 'good', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' });
    // Unloaded is not a failure: 503 while not loaded, with the code of a model that is not taking requests.
    expect503(await call(`${url}/v2/models/good/ready`, 'GET'), 'FORGE_NOT_READY', /not ready \(unavailable: unloaded\)/);
    for (const m of ['cycle', 'truncated']) expect((await call(`${url}/v2/repository/models/${m}/unload`, 'POST')).status).toBe(200);
    expect((await index()).map((e) => [e.name, e.version, e.reason])).toEqual([
      ['cycle', '1', 'unloaded'],
      ['good', '1', 'unloaded'],
      ['truncated', '1', 'unloaded'],
    ]);
    expect((await call(`${url}/v2/repository/models/good/load`, 'POST')).status).toBe(200);
    expect((await call(`${url}/v2/health/ready`, 'GET')).status).toBe(200);
  });
  it('keeps serving the loaded version when a reload fails, READY, as if the reload had not been asked', async () => {
    await copyFile(files.truncated, path.join(repo, 'good.onnx'));
    const r = await call(`${url}/v2/repository/models/good/load`, 'POST');
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 'FORGE_INVALID_MODEL' });
    expect((await index()).find((e) => e.name === 'good')).toEqual({ name: 'good', version: '1', state: 'READY', reason: '' });
    expect((await infer('good')).status).toBe(200);
    expect((await call(`${url}/v2/health/ready`, 'GET')).status).toBe(200);
  });
});

describe('a repository that cannot be read when a model is loaded', () => {
  it('answers the load with an error that says so without the repository\'s path, and stays up', async () => {
    const gone = path.join(dir, 'gone');
    await mkdir(gone, { recursive: true });
    await copyFile(files.good, path.join(gone, 'good.onnx'));
    const { server, url } = await startServer({ models: gone });
    try {
      await rm(gone, { recursive: true, force: true });
      const r = await call(`${url}/v2/repository/models/good/load`, 'POST');
      expect(r.status, JSON.stringify(r.json)).toBe(500);
      expect(v2Problems('error_response', r.json)).toEqual([]);
      expect(r.json).toMatchObject({ code: 'FORGE_IO', error: expect.stringMatching(/^cannot read the model or repository "<repository>": ENOENT/) });
      expect(JSON.stringify(r.json)).not.toContain(dir);
      expect((await call(`${url}/v2/models/good/ready`, 'GET')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('an error nothing meant to send (a served file gone)', () => {
  it('answers 500 with a generic message and no server path; the log has the error', async () => {
    const repo = path.join(dir, 'vanishing');
    await mkdir(repo, { recursive: true });
    await copyFile(files.good, path.join(repo, 'gone.onnx'));
    const logs: string[] = [];
    const { server, url } = await startServer({ models: repo, page: true, log: (l) => logs.push(l) });
    try {
      expect((await call(`${url}/page/models/gone.onnx`, 'GET')).status).toBe(200);
      await rm(path.join(repo, 'gone.onnx'));
      const r = await call(`${url}/page/models/gone.onnx`, 'GET');
      expect(r.status).toBe(500);
      expect(r.json).toEqual({ error: 'internal server error (the server log has the details)', code: 'FORGE_INTERNAL' });
      expect(logs.some((l) => l.startsWith('GET /page/models/gone.onnx: internal error:') && l.includes(path.join(repo, 'gone.onnx')))).toBe(true);
      expect((await call(`${url}/v2/health/live`, 'GET')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('a model onnxruntime would crash on while loading it', () => {
  it('refuses a tree ensemble with a tree too deep for onnxruntime through the API with 400 FORGE_UNSUPPORTED_MODEL, and keeps serving', async () => {
    // onnxruntime builds trees recursively: past some thousands of levels it overflows its stack and the
    // whole process (a worker's crash included) dies of a segmentation fault.
    const repo = path.join(dir, 'deep');
    await mkdir(repo, { recursive: true });
    await copyFile(files.good, path.join(repo, 'good.onnx'));
    const { server, url } = await startServer({ models: repo });
    try {
      await writeFile(path.join(repo, 'deep.onnx'), deepTreeModel(20_000));
      const r = await call(`${url}/v2/repository/models/deep/load`, 'POST');
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ code: 'FORGE_UNSUPPORTED_MODEL', error: expect.stringMatching(/is 20000 levels deep, past the 4096 onnxruntime can load safely/) });
      expect((await call(`${url}/v2/health/live`, 'GET')).status).toBe(200);
      const good = await call(`${url}/v2/models/good/infer`, 'POST', { inputs: [{ name: 'image', shape: [1, 3, 16, 16], datatype: 'FP32', data: Array.from({ length: 768 }, () => 0.5) }] });
      expect(good.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
