import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { defineCommand } from '../framework/command.js';
import { UsageError } from '../framework/usage-error.js';

const SERVER_MAIN = 'apps/demo-server/src/main.ts';
const SERVER_PACKAGE = '@onnx-forge/demo-server';
/** Asks the server to send a failure to start over IPC rather than print it (the demo server's STARTUP_ERRORS_ENV). */
const STARTUP_ERRORS_ENV = 'ONNX_FORGE_SERVER_STARTUP_ERRORS';

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ForgeErrorCode));

/** The server's failure to start, as it sent it (`{startupError: {code, message, details}}`), or undefined for any other message. */
function startupError(message: unknown): ForgeError | undefined {
  const e = (message as { startupError?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.startupError;
  if (!e || typeof e.message !== 'string') return undefined;
  const code = typeof e.code === 'string' && KNOWN_CODES.has(e.code) ? (e.code as ForgeErrorCode) : ForgeErrorCode.INTERNAL;
  const details = typeof e.details === 'object' && e.details !== null ? (e.details as Record<string, unknown>) : {};
  return new ForgeError(code, e.message, { details });
}

/**
 * The workspace this CLI sits in, found by walking up from this file (apps/cli/src/commands in the
 * sources, apps/cli/dist in a build) to the folder that holds the demo server.
 */
function workspaceRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, SERVER_MAIN))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** How to start the demo server: its TypeScript sources in a clone of the repository, else the installed package. */
function serverCommand(): string[] | undefined {
  const root = workspaceRoot();
  if (root !== undefined) {
    // From its TypeScript sources (as `npm start` does): tsx from the workspace's root.
    const tsx = pathToFileURL(createRequire(path.join(root, 'package.json')).resolve('tsx')).href;
    return ['--conditions=@onnx-forge/source', '--import', tsx, path.join(root, SERVER_MAIN)];
  }
  // Installed from npm: @onnx-forge/demo-server is a dependency of this package; its bin is the built server.
  let manifest: string;
  try {
    manifest = createRequire(import.meta.url).resolve(`${SERVER_PACKAGE}/package.json`);
  } catch {
    return undefined;
  }
  const bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> }).bin?.['onnx-forge-server'];
  return bin === undefined ? undefined : [path.resolve(path.dirname(manifest), bin)];
}

/** The server's own flags this command takes and hands on as given (the server checks their values). */
const PASSED_ON: readonly { name: string; valueName: string; description: string; defaultText?: string }[] = [
  { name: 'port', valueName: 'N', description: 'port to listen on (0: any free port)', defaultText: '$PORT, else 8080' },
  { name: 'host', valueName: 'H', description: 'address to listen on', defaultText: '0.0.0.0' },
  { name: 'workers', valueName: 'N', description: 'worker threads per variant (each one onnxruntime session) (default 2, or 1 on a single core)' },
  { name: 'max-batch', valueName: 'N', description: 'most rows stacked into one run (default 16)' },
  { name: 'max-delay-ms', valueName: 'MS', description: 'longest a request waits for others to batch with (default 2)' },
  { name: 'preferred-batch-sizes', valueName: 'N,N', description: 'batch sizes that run at once, without waiting out the delay' },
  { name: 'max-concurrent', valueName: 'N', description: 'requests of one model running at once (default 64)' },
  { name: 'max-queue', valueName: 'N', description: 'requests of one model waiting beyond those; more get 503 (default 512)' },
  { name: 'body-limit', valueName: 'BYTES', description: 'largest request body; larger get 413 (default 33554432)' },
  { name: 'max-elements', valueName: 'N', description: 'most tensor elements in one request; more get 413 (default 4194304)' },
  { name: 'max-output-bytes', valueName: 'BYTES', description: 'largest answer (tensor data); a request that would make more gets 413 (default 67108864)' },
  { name: 'timeout-ms', valueName: 'MS', description: 'time limit of one variant call; past it the request moves to the next variant' },
  { name: 'grace-ms', valueName: 'MS', description: 'longest wait on SIGTERM for requests in flight (default 30000)' },
];
const passedOn = (flags: typeof PASSED_ON) => flags.map((f) => ({ kind: 'string' as const, ...f }));

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'Serve a model or a model repository over the Open Inference Protocol (KServe V2 REST), with dynamic batching and metrics.',
  description:
    'Runs the demo server (@onnx-forge/demo-server, apps/demo-server in the repository) on a model: a bare .onnx file is a repository of one model named after the ' +
    "file's stem (digits.onnx is served as digits); a folder written by `onnx-forge optimize` serves the highest version of " +
    'each model with every variant it measured, the variant chosen per request from live latency and checked against FP32. ' +
    'Endpoints: /v2/health/{live,ready}, /v2, /v2/models/{m}[/versions/{v}][/ready|/infer|/stats], /v2/repository/index and ' +
    '/v2/repository/models/{m}/{load,unload}, /metrics (Prometheus), and a page at / that optimizes models in the browser. ' +
    'The server runs in a child process; SIGTERM or SIGINT stops it gracefully (requests in flight finish). ' +
    'With --json, stdout is one JSON line once it listens ({url, models, page, protocol, metrics, readySeconds}); logs go to stderr. ' +
    'Every model is loaded before the server listens: one that cannot be loaded stops it with one error line ' +
    '(models loaded later through /v2/repository/models/{m}/load never stop it: they stay UNAVAILABLE with the reason).',
  args: [{ name: 'model', description: 'a .onnx file or a model repository folder' }],
  flags: [
    ...passedOn(PASSED_ON.slice(0, 3)),
    { name: 'no-batching', kind: 'boolean', description: 'run every request alone (no dynamic batching)' },
    ...passedOn(PASSED_ON.slice(3)),
    { name: 'no-page', kind: 'boolean', description: 'do not serve the browser page at /' },
  ],
  examples: [
    'onnx-forge serve digits.onnx --port 8000',
    'onnx-forge optimize model.onnx -o out && onnx-forge serve out --max-batch 32',
    'curl -s localhost:8080/v2/models/digits   # then POST /v2/models/digits/infer',
  ],
  exitNotes: [
    'serve runs until stopped: 0 after a graceful stop. It does not start, and exits 3 when a model is not a valid ONNX model ' +
      '(a truncated or non-ONNX file: FORGE_INVALID_MODEL; a graph that breaks an ONNX rule: FORGE_INVALID_GRAPH), 1 when the ' +
      'models cannot be read or onnxruntime cannot load one (FORGE_RUNTIME), 2 for a bad flag value.',
  ],
  async run(ctx) {
    const model = path.resolve(ctx.io.cwd, ctx.args.positionals[0] ?? '');
    if (!existsSync(model)) throw new ForgeError(ForgeErrorCode.IO, `cannot read "${ctx.args.positionals[0]}": no such file or folder`, { details: { path: model } });
    const port = ctx.args.string('port');
    if (port !== undefined && !(/^\d+$/.test(port) && Number(port) <= 65535)) throw new UsageError(`flag --port takes a port number from 0 to 65535, got "${port}"`, ctx.command, { flag: 'port' });
    const server = serverCommand();
    if (server === undefined) {
      throw new ForgeError(ForgeErrorCode.IO, `onnx-forge serve runs the demo server (${SERVER_PACKAGE}), which is neither beside this copy of the CLI nor installed: npm install ${SERVER_PACKAGE}, or run it from a clone of the repository`);
    }
    const forward: string[] = [];
    for (const { name } of PASSED_ON) {
      const v = ctx.args.string(name);
      if (v !== undefined) forward.push(`--${name}`, v);
    }
    if (ctx.args.bool('no-batching')) forward.push('--no-batching');
    if (ctx.args.bool('no-page')) forward.push('--no-page');
    // The one JSON document: the server's line saying where it listens (its logs stay on stderr).
    if (ctx.json) forward.push('--json');
    // An IPC channel only for a failure to start: the server sends it rather than printing it, and this
    // command reports it as its own error (one line with the code, or --json) with the exit code of its table.
    const child = spawn(process.execPath, [...server, model, ...forward], {
      cwd: ctx.io.cwd,
      env: { ...ctx.io.env, [STARTUP_ERRORS_ENV]: 'ipc' } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let failedToStart: ForgeError | undefined;
    child.on('message', (m) => {
      failedToStart ??= startupError(m);
    });
    child.stdout?.on('data', (d: Buffer) => ctx.io.stdout.write(d.toString()));
    child.stderr?.on('data', (d: Buffer) => ctx.io.stderr.write(d.toString()));
    // The server stops gracefully on these; this process waits for it and exits with its code.
    const forwardSignal = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onTerm = forwardSignal('SIGTERM');
    const onInt = forwardSignal('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    // And when this process ends first (`serve m.onnx | head -1`: the reader left, and a command that only
    // prints exits there), the server stops gracefully too, instead of serving on, orphaned, on its port.
    process.on('exit', onTerm);
    try {
      // 'close', not 'exit': by then its last output and IPC message have arrived.
      const code = await new Promise<number>((resolve, reject) => {
        child.on('error', (e) => reject(new ForgeError(ForgeErrorCode.IO, `cannot start the demo server: ${e.message}`, { cause: e })));
        child.on('close', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
      });
      if (failedToStart) throw failedToStart;
      return code;
    } finally {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('exit', onTerm);
    }
  },
});
