/**
 * Server benchmark (issue 12, "Must show"): the demo server (apps/demo-server) in its own process, on
 * a small CNN from core's builder (`cnn({ channels: [8, 16, 32], imageSize: 16 })`: image
 * [batch, 3, 16, 16] → 10 logits; onnxruntime-node CPU, 2 worker threads), loaded by autocannon at
 * concurrency 32 with single-image requests in Triton's binary tensor format:
 *   - batching off against batching on (the server's defaults: up to 16 rows, at most 2 ms of waiting),
 *     two servers up at once, runs alternating over rounds (medians reported, so that the machine's
 *     changing load falls on both): requests/s and p50/p99 latency   target: on ≥ 2 × off, no request fails
 *   - batching on again while a fuzzer sends malformed and oversized requests (bounded: a fixed count,
 *     a few at a time): every good request answered 200, every bad one a 4xx, the server still live,
 *     and SIGTERM still stops it cleanly (exit 0)
 * Traffic goes to 127.0.0.1 only.
 *
 *   npm run bench -- server                        # from the repository root
 *   npm run bench -- server -- --seconds 10 --rounds 5 --connections 32
 *   npm run bench -- server -- --channels 16,32,64 --size 32   # core's default cnn: more compute per image
 *
 * Results go to .bench-cache/results/server.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cnn } from '@onnx-forge/core';
import { BENCH_CACHE, WORKSPACE_ROOT } from '../src/bert-model.js';
import { formatTable } from '../src/format-table.js';
import { readmeSection } from '../src/readme-section.js';
import { saveResult, targetsLine } from '../src/save-result.js';
import { freePort } from '@onnx-forge/core/testing';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' }, rounds: { type: 'string', default: '5' }, connections: { type: 'string', default: '32' }, fuzz: { type: 'string', default: '600' },
    channels: { type: 'string', default: '8,16,32' }, size: { type: 'string', default: '16' }, workers: { type: 'string', default: '2' },
    // The server's defaults unless given.
    'max-batch': { type: 'string' }, 'max-delay-ms': { type: 'string' },
  },
});
const CHANNELS = args.channels.split(',').map(Number);
const SIZE = Number(args.size);
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const FUZZ_REQUESTS = Number(args.fuzz);
const BODY_LIMIT = 1024 * 1024;
const MODEL = 'cnn';


function modelFile(): string {
  const file = join(BENCH_CACHE, 'server', `c${CHANNELS.join('-')}-s${SIZE}`, `${MODEL}.onnx`);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, cnn({ channels: CHANNELS, imageSize: SIZE, seed: 7 }).encode());
    renameSync(`${file}.tmp`, file);
  }
  return file;
}

interface Server {
  readonly port: number;
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  log(): string;
}

/** Starts apps/demo-server in its own process (an app: run, never imported) and waits until it is ready. */
async function startServer(model: string, batching: boolean): Promise<Server> {
  const port = await freePort();
  const flags = ['--port', String(port), '--host', '127.0.0.1', '--workers', args.workers, '--no-page', '--body-limit', String(BODY_LIMIT), '--max-concurrent', '64'];
  if (!batching) flags.push('--no-batching');
  if (batching && args['max-batch'] !== undefined) flags.push('--max-batch', args['max-batch']);
  if (batching && args['max-delay-ms'] !== undefined) flags.push('--max-delay-ms', args['max-delay-ms']);
  const proc = spawn(process.execPath, ['--conditions=@onnx-forge/source', '--import', 'tsx', join(WORKSPACE_ROOT, 'apps/demo-server/src/main.ts'), model, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const t0 = performance.now();
  while (performance.now() - t0 < 60_000) {
    if (proc.exitCode !== null) throw new Error(`the server exited with ${proc.exitCode}:\n${log}`);
    const status = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).then((r) => r.status, () => 0);
    if (status === 200) return { port, proc, exited, log: () => log };
    await new Promise((r) => setTimeout(r, 200));
  }
  proc.kill('SIGKILL');
  throw new Error(`the server was not ready within 60 s:\n${log}`);
}

/** One image [1, 3, SIZE, SIZE] in Triton's binary tensor format, as Triton's own clients send it. */
function goodRequest(): { body: Buffer; headers: Record<string, string> } {
  const image = Float32Array.from({ length: 3 * SIZE * SIZE }, (_, i) => Math.sin(i * 0.01));
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', shape: [1, 3, SIZE, SIZE], datatype: 'FP32', parameters: { binary_data_size: image.byteLength } }], parameters: { binary_data_output: true } }));
  return { body: Buffer.concat([header, Buffer.from(image.buffer)]), headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) } };
}

interface LoadResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  /** CPU time of the server process (every thread) per answered request, in ms. */
  readonly serverCpuMsPerRequest: number;
}

/**
 * CPU seconds a process has used, all its threads (utime + stime of /proc/<pid>/stat). On a machine
 * whose cores other work keeps busy, wall-clock throughput moves with the share the server gets;
 * CPU per request does not.
 */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return Number.NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: field 3 is the state, so utime (14) and stime (15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function load(server: Server, seconds: number): Promise<LoadResult> {
  const { body, headers } = goodRequest();
  const cpu0 = cpuSeconds(server.proc.pid);
  const r = await autocannon({ url: `http://127.0.0.1:${server.port}/v2/models/${MODEL}/infer`, method: 'POST', body, headers, connections: CONNECTIONS, duration: seconds, timeout: 10 });
  const cpu = cpuSeconds(server.proc.pid) - cpu0;
  return {
    requestsPerSecond: r.requests.average, requests: r.requests.total, p50Ms: r.latency.p50, p90Ms: r.latency.p90, p99Ms: r.latency.p99,
    errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, serverCpuMsPerRequest: (cpu * 1000) / Math.max(1, r['2xx']),
  };
}

interface FuzzCase {
  readonly name: string;
  readonly body: Buffer | string;
  readonly headers?: Record<string, string>;
  readonly path?: string;
}

/** Malformed and oversized requests, each a kind a broken or hostile client sends. */
function fuzzCases(): FuzzCase[] {
  const good = goodRequest();
  const json = (o: unknown) => JSON.stringify(o);
  const input = { name: 'image', shape: [1, 3, SIZE, SIZE], datatype: 'FP32', data: Array.from({ length: 3 * SIZE * SIZE }, () => 0.5) };
  return [
    { name: 'malformed JSON', body: '{"inputs": [{"name": "image", "shape": [1, 3' },
    { name: 'empty body', body: '' },
    { name: 'not an object', body: '[1, 2, 3]' },
    { name: 'random bytes', body: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)) },
    { name: 'wrong datatype', body: json({ inputs: [{ ...input, datatype: 'INT64' }] }) },
    { name: 'wrong shape', body: json({ inputs: [{ ...input, shape: [1, 3, SIZE + 1, SIZE] }] }) },
    { name: 'short data', body: json({ inputs: [{ ...input, data: input.data.slice(1) }] }) },
    { name: 'unknown input', body: json({ inputs: [{ ...input, name: 'x' }] }) },
    { name: 'unknown model', body: json({ inputs: [input] }), path: '/v2/models/nope/infer' },
    { name: 'unknown version', body: json({ inputs: [input] }), path: `/v2/models/${MODEL}/versions/9/infer` },
    { name: 'header length past the body', body: good.body, headers: { ...good.headers, 'inference-header-content-length': '99999999' } },
    { name: 'truncated binary', body: good.body.subarray(0, good.body.length - 100), headers: good.headers },
    { name: 'huge declared shape', body: json({ inputs: [{ ...input, shape: [100000, 3, SIZE, SIZE] }] }) },
    { name: 'oversized body', body: Buffer.alloc(BODY_LIMIT + 4096, 0x20), headers: { 'content-type': 'application/json' } },
  ];
}

interface FuzzResult {
  readonly sent: number;
  readonly byCase: Record<string, Record<string, number>>;
  /** Answers that were not a 4xx (a 5xx, or the connection dropped without an answer). */
  readonly bad: number;
}

/** Sends `count` bad requests, `parallel` at a time, cycling through the cases. */
async function fuzz(port: number, count: number, parallel = 4): Promise<FuzzResult> {
  const cases = fuzzCases();
  const byCase: Record<string, Record<string, number>> = {};
  let next = 0;
  let bad = 0;
  const worker = async () => {
    while (next < count) {
      const c = cases[next++ % cases.length] as FuzzCase;
      let outcome: string;
      try {
        const res = await fetch(`http://127.0.0.1:${port}${c.path ?? `/v2/models/${MODEL}/infer`}`, { method: 'POST', body: c.body as BodyInit, headers: { 'content-type': 'application/json', ...c.headers } });
        await res.arrayBuffer();
        outcome = String(res.status);
        if (res.status < 400 || res.status >= 500) bad++;
      } catch (e) {
        outcome = `error: ${(e as Error).cause ? String((e as { cause: { code?: string } }).cause.code) : (e as Error).message}`;
        bad++;
      }
      const row = (byCase[c.name] ??= {});
      row[outcome] = (row[outcome] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { sent: count, byCase, bad };
}

async function stop(server: Server): Promise<number | null> {
  server.proc.kill('SIGTERM');
  return server.exited;
}

const fmt = (n: number, d = 1) => n.toFixed(d);

async function main(): Promise<number> {
  const file = modelFile();
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`server: ${MODEL} (core cnn, channels ${CHANNELS.join('/')}, 3x${SIZE}x${SIZE} → 10) in apps/demo-server, ${CONNECTIONS} connections, ${SECONDS} s per run, binary requests of one image; ${cpu}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);

  // Both servers stay up; their runs alternate (off, on, then on, off, ...) so that a change in the
  // machine's load during the benchmark falls on both alike. Figures are the medians over the rounds.
  const servers = { off: await startServer(file, false), on: await startServer(file, true) };
  const rounds: { off: LoadResult; on: LoadResult }[] = [];
  try {
    for (const s of Object.values(servers)) await load(s, 2); // warm-up: workers, kernels, the hybrid's first measurements
    for (let r = 0; r < ROUNDS; r++) {
      const order: ('off' | 'on')[] = r % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
      const round: Partial<Record<'off' | 'on', LoadResult>> = {};
      for (const mode of order) round[mode] = await load(servers[mode], SECONDS);
      rounds.push(round as { off: LoadResult; on: LoadResult });
      process.stdout.write(`round ${r + 1}: off ${fmt(round.off?.requestsPerSecond ?? 0)} requests/s, on ${fmt(round.on?.requestsPerSecond ?? 0)} requests/s\n`);
    }
  } finally {
    const code = await stop(servers.off);
    if (code !== 0) process.stderr.write(`the batching-off server exited with ${code} after SIGTERM:\n${servers.off.log()}\n`);
  }
  const median = (xs: number[]) => {
    const a = [...xs].sort((x, y) => x - y);
    const m = Math.floor(a.length / 2);
    return a.length % 2 ? (a[m] as number) : ((a[m - 1] as number) + (a[m] as number)) / 2;
  };
  const summary = (mode: 'off' | 'on'): LoadResult => {
    const rs = rounds.map((x) => x[mode]);
    const pick = (k: keyof LoadResult) => median(rs.map((x) => x[k]));
    const sum = (k: keyof LoadResult) => rs.reduce((a, x) => a + x[k], 0);
    return {
      requestsPerSecond: pick('requestsPerSecond'), requests: sum('requests'), p50Ms: pick('p50Ms'), p90Ms: pick('p90Ms'), p99Ms: pick('p99Ms'),
      errors: sum('errors'), timeouts: sum('timeouts'), non2xx: sum('non2xx'), serverCpuMsPerRequest: pick('serverCpuMsPerRequest'),
    };
  };
  const runs: Record<string, LoadResult> = { 'batching off': summary('off'), 'batching on': summary('on') };
  const ratios = rounds.map((x) => x.on.requestsPerSecond / x.off.requestsPerSecond);

  // Load and fuzz at once, on the server with batching on.
  const server = servers.on;
  const [underFuzz, fuzzed] = await Promise.all([load(server, SECONDS), fuzz(server.port, FUZZ_REQUESTS)]);
  const live = await fetch(`http://127.0.0.1:${server.port}/v2/health/live`).then((r) => r.status, () => 0);
  const stats = (await fetch(`http://127.0.0.1:${server.port}/v2/models/${MODEL}/stats`).then((r) => r.json())) as { model_stats: { batching: { variants: Record<string, { meanBatchSize: number; largestBatch: number }> } }[] };
  const exitCode = await stop(server);
  runs['batching on + fuzz'] = underFuzz;

  const off = runs['batching off'] as LoadResult;
  const on = runs['batching on'] as LoadResult;
  // The runs are paired: each round measures off and on back to back under the same outside load, so
  // the estimate is the median of the per-round ratios (the ratio of the two medians would pair runs
  // from different rounds, and let a load spike in one round count against one side only).
  const ratio = median(ratios);
  process.stdout.write(`\n${formatTable(
    ['run', 'requests/s', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'server CPU ms/request', 'errors', 'timeouts', 'non-2xx'],
    Object.entries(runs).map(([name, r]) => [name, fmt(r.requestsPerSecond), String(r.requests), fmt(r.p50Ms), fmt(r.p90Ms), fmt(r.p99Ms), fmt(r.serverCpuMsPerRequest, 3), String(r.errors), String(r.timeouts), String(r.non2xx)]),
  )}\n(on and off: medians of ${ROUNDS} alternating rounds of ${SECONDS} s; requests and failures summed; on / off: median of the rounds' ratios)\n`);
  const batch = Object.values(stats.model_stats[0]?.batching.variants ?? {})[0];
  const cpuRatio = off.serverCpuMsPerRequest / on.serverCpuMsPerRequest;
  process.stdout.write(`\nserver CPU per request, off / on: ${cpuRatio.toFixed(2)} × (CPU time of the server's threads over answered requests: unlike requests/s, it does not move with the share of the cores other work leaves the server)\n`);
  process.stdout.write(`batching on / off: ${ratio.toFixed(2)} × (target ≥ 2; per round ${ratios.map((x) => x.toFixed(2)).join(', ')}); mean batch under fuzz ${batch ? fmt(batch.meanBatchSize) : '?'}, largest ${batch?.largestBatch ?? '?'}\n`);
  process.stdout.write(`fuzz: ${fuzzed.sent} bad requests during the load; answers by kind:\n`);
  for (const [name, outcomes] of Object.entries(fuzzed.byCase)) process.stdout.write(`  ${name.padEnd(28)} ${Object.entries(outcomes).map(([o, n]) => `${o} × ${n}`).join(', ')}\n`);
  process.stdout.write(`server live after the fuzz: ${live === 200 ? 'yes' : `no (${live})`}; exit code after SIGTERM: ${exitCode}\n`);

  const failed = (r: LoadResult) => r.errors + r.timeouts + r.non2xx;
  const missed: string[] = [];
  if (!(ratio >= 2)) missed.push(`batching on ${ratio.toFixed(2)} × off (< 2)`);
  for (const [name, r] of Object.entries(runs)) if (failed(r) > 0) missed.push(`${failed(r)} failed good requests (${name})`);
  if (fuzzed.bad > 0) missed.push(`${fuzzed.bad} bad requests not answered with a 4xx`);
  if (live !== 200) missed.push('server not live after the fuzz');
  if (exitCode !== 0) missed.push(`exit code ${exitCode} after SIGTERM`);
  const file2 = saveResult('server', {
    date: new Date().toISOString(), cpu, cores: cpus().length, loadavg: loadavg(), node: process.version,
    rounds: rounds.length, roundRatios: ratios, model: { name: MODEL, builder: `cnn({ channels: [${CHANNELS.join(', ')}], imageSize: ${SIZE}, seed: 7 })`, input: [1, 3, SIZE, SIZE] }, workers: Number(args.workers), batching: { maxBatch: args['max-batch'] ?? 'server default', maxDelayMs: args['max-delay-ms'] ?? 'server default' }, connections: CONNECTIONS, seconds: SECONDS,
    runs, perRound: rounds, ratio, serverCpuRatio: cpuRatio, fuzz: fuzzed, liveAfterFuzz: live === 200, exitCodeAfterSigterm: exitCode, batchStatsUnderFuzz: stats.model_stats[0]?.batching, missed,
    readme: await readmeSection({
      title: 'Demo server',
      command: 'npm run bench -- server',
      tables: [{
        head: ['run', 'requests/s', 'p50 ms', 'p99 ms', 'server CPU per request', 'failed', 'target'],
        rows: [
          ...Object.entries(runs).map(([name, r]) => [name, fmt(r.requestsPerSecond), fmt(r.p50Ms), fmt(r.p99Ms), `${fmt(r.serverCpuMsPerRequest, 3)} ms`, `${failed(r)} of ${r.requests}`, '0 failed']),
          ['on / off', `${ratio.toFixed(2)} × (rounds ${ratios.map((x) => x.toFixed(2)).join(', ')})`, '', '', `${cpuRatio.toFixed(2)} × less`, '', '≥ 2 ×'],
        ],
      }],
      notes: [
        `The server in its own process on a builder CNN (\`cnn({ channels: [${CHANNELS.join(', ')}], imageSize: ${SIZE} })\`, onnxruntime-node CPU, ${args.workers} workers), loaded by autocannon from the same cores at ${CONNECTIONS} connections with single-image binary requests; batching off and on run on two servers at once, alternating over ${rounds.length} rounds of ${SECONDS} s (medians). Load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(', ')}.`,
        `During "batching on + fuzz", ${fuzzed.sent} malformed and oversized requests (${Object.keys(fuzzed.byCase).length} kinds) went in: ${fuzzed.bad === 0 ? 'each got a 4xx' : `${fuzzed.bad} did not get a 4xx`}; the server ${live === 200 ? 'stayed live' : 'was NOT live after'} and exited ${exitCode} on SIGTERM.`,
      ],
    }),
  });
  process.stdout.write(`${targetsLine(missed, file2)}\n`);
  return missed.length ? 1 : 0;
}

process.exitCode = await main();
