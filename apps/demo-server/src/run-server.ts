import { createServer as createNetServer } from 'node:net';
import { parseArgs } from 'node:util';
import { ExitCode, ForgeError, ForgeErrorCode, errorMessage, exitCodeOfError, isForgeError, timerProblem } from '@onnx-forge/core';
import { createServer, type DemoServer } from './create-server.js';
import type { ServerOptions } from './server-options.js';

export const USAGE = `usage: demo-server <model.onnx | repository folder> [--port N] [--host H] [--workers N]
          [--no-batching] [--max-batch N] [--max-delay-ms MS] [--preferred-batch-sizes N,N]
          [--max-concurrent N] [--max-queue N]
          [--body-limit BYTES] [--max-elements N] [--max-output-bytes BYTES] [--timeout-ms MS]
          [--no-page] [--grace-ms MS] [--json]
          [-h | --help]

Serves every model of the repository over the Open Inference Protocol (KServe V2) REST API, the
browser page at /, and Prometheus metrics at /metrics. The port is --port, else $PORT, else 8080.
SIGTERM or SIGINT stops it gracefully: requests in flight finish, then the workers are released.
A model that cannot be loaded at start stops it before it listens. Exit codes: 0 after a graceful
stop, 1 a model that cannot be read or loaded (onnxruntime), 2 a bad command line, 3 a model that is
not valid ONNX (a truncated file, a graph that breaks an ONNX rule).`;

/** `onnx-forge-server --help` (or `-h`): the usage, each option on its line, and examples. */
export const HELP = `usage: onnx-forge-server <model.onnx | repository folder> [options]

Serves every model of the repository over the Open Inference Protocol (KServe V2) REST API, the
browser page at /, and Prometheus metrics at /metrics. A bare .onnx file is a repository of one
model named after the file's stem. SIGTERM or SIGINT stops it gracefully: requests in flight finish,
then the workers are released.

options:
  --port N                     port to listen on, 0 for any free one (default: $PORT, else 8080)
  --host H                     address to listen on (default 0.0.0.0)
  --workers N                  worker threads per variant (default 2, or 1 on a single core)
  --no-batching                run every request alone (no dynamic batching)
  --max-batch N                most rows stacked into one run (default 16)
  --max-delay-ms MS            longest a request waits for others to batch with (default 2)
  --preferred-batch-sizes N,N  batch sizes that run at once, without waiting out the delay (each ≤ --max-batch)
  --max-concurrent N           requests of one model running at once (default 64)
  --max-queue N                requests of one model waiting beyond those, more get 503 (default 512)
  --body-limit BYTES           largest request body; larger get 413 (default 33554432)
  --max-elements N             most tensor elements in one request; more get 413 (default 4194304)
  --max-output-bytes BYTES     most tensor data in one answer, and in one tensor whose size an input gives
                               (to ConstantOfShape, Expand, Tile, Range, OneHot: refused before the run);
                               more get 413 (default 67108864)
  --timeout-ms MS              time limit of one variant call, then the next variant is tried
  --no-page                    do not serve the browser page at /
  --grace-ms MS                longest wait on SIGTERM for requests in flight (default 30000)
  --json                       once listening, print one JSON line (url, models with their state, page, protocol, metrics, readySeconds) instead of the banner
  -h, --help                   print this help and exit

Exit codes: 0 after a graceful stop (or --help), 1 a model that cannot be read or loaded
(onnxruntime), or requests still in flight after --grace-ms, 2 a bad command line, 3 a model that is
not valid ONNX or one it refuses to load (FORGE_UNSUPPORTED_MODEL: a tree too deep for onnxruntime).

examples:
  onnx-forge-server digits.onnx --port 8000
  onnx-forge-server out/ --max-batch 32 --max-delay-ms 5 --workers 2`;

/**
 * Set to `ipc` by `onnx-forge serve`, which starts this process with an IPC channel: a failure to start
 * is then sent to it as `{startupError: {code, message, details}}` instead of printed, so that the CLI
 * prints it as its own errors (one line with the code, or JSON) and exits by its table.
 */
export const STARTUP_ERRORS_ENV = 'ONNX_FORGE_SERVER_STARTUP_ERRORS';

/** Exit codes: core's, as the onnx-forge CLI's, which runs this server for `serve`. */
export const EXIT_CODE = ExitCode;

/** The exit code of a failure to start: 2 a command line it cannot act on, 3 a model that is not valid ONNX, else 1. */
export const exitCodeOf = exitCodeOfError;

/**
 * A failure to start on one line with its code (`error FORGE_INVALID_MODEL: cannot load model ...`);
 * a bad command line keeps the usage after it.
 */
export function startupErrorText(error: unknown): string {
  if (isForgeError(error, ForgeErrorCode.INVALID_OPTIONS)) return errorMessage(error);
  const line = errorMessage(error).replace(/\s*\n\s*/g, ' ').trim();
  return isForgeError(error) ? `error ${error.code}: ${line}` : line;
}

export interface RunIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  out(line: string): void;
  err(line: string): void;
}

export interface Running {
  readonly server: DemoServer;
  readonly url: string;
  /** Resolves with the exit code once the server has stopped (after a signal or `stop`). */
  readonly stopped: Promise<number>;
  stop(): Promise<number>;
}

function int(name: string, text: string | undefined, min = 1): number | undefined {
  if (text === undefined) return undefined;
  // Decimal digits only: Number() reads '' and ' ' as 0, and takes '0x50' and '1e3' too.
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `--${name} takes an integer ≥ ${min}, got "${text}"`, { details: { option: name } });
  return n;
}

/** A time in ms for a timer (see MAX_TIMER_MS): refused past what a timer can wait. */
function ms<T extends number | undefined>(name: string, value: T): T {
  const problem = value === undefined ? undefined : timerProblem(`--${name}`, value);
  if (problem) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, problem, { details: { option: name } });
  return value;
}

const OPTIONS = {
  port: { type: 'string' }, host: { type: 'string' }, workers: { type: 'string' },
  'no-batching': { type: 'boolean' }, 'max-batch': { type: 'string' }, 'max-delay-ms': { type: 'string' }, 'preferred-batch-sizes': { type: 'string' },
  'max-concurrent': { type: 'string' }, 'max-queue': { type: 'string' }, 'body-limit': { type: 'string' },
  'max-elements': { type: 'string' }, 'max-output-bytes': { type: 'string' }, 'timeout-ms': { type: 'string' }, 'no-page': { type: 'boolean' }, 'grace-ms': { type: 'string' },
  json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Whether the command line asks for the help (`--help` or `-h`, not after `--` and not as an
 * option's value: `--host -h` is not a request for help). Other arguments, even unknown ones, do not
 * matter: `onnx-forge-server --bogus --help` prints the help too.
 */
export function helpRequested(argv: readonly string[]): boolean {
  const { tokens } = parseArgs({ args: [...argv], allowPositionals: true, strict: false, tokens: true, options: OPTIONS });
  return tokens.some((t) => t.kind === 'option' && t.name === 'help');
}

/** The command line as server options and where to listen (see `helpRequested` for --help). */
export function parseServerArgs(argv: readonly string[], env: RunIo['env']): { options: ServerOptions; port: number; host: string; graceMs: number; json: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `${errorMessage(e)}\n${USAGE}`, { cause: e });
  }
  const v = parsed.values;
  // Callers print HELP first (helpRequested): a server must not start on a request for help.
  if (v.help) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `--help asks for the help, not for a server: see helpRequested\n${USAGE}`, { details: { option: 'help' } });
  const models = parsed.positionals[0];
  if (models === undefined || parsed.positionals.length > 1) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `give one model file or repository folder\n${USAGE}`);
  // PORT set but blank (a template that leaves it empty) is no port, not port 0 (any free one).
  const port = int('port', v.port ?? (env.PORT?.trim() ? env.PORT : undefined), 0) ?? 8080;
  if (port > 65535) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `--port must be at most 65535, got ${port}`, { details: { option: 'port' } });
  const maxDelay = v['max-delay-ms'] === undefined ? undefined : Number(v['max-delay-ms']);
  if (maxDelay !== undefined && !(maxDelay >= 0)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `--max-delay-ms takes a number ≥ 0, got "${v['max-delay-ms']}"`);
  ms('max-delay-ms', maxDelay);
  const maxBatch = int('max-batch', v['max-batch']);
  // Triton's preferred_batch_size: a batch that reaches one of these runs without waiting out the delay.
  const preferred = v['preferred-batch-sizes']?.split(',').map((x) => int('preferred-batch-sizes', x.trim()) as number);
  const largest = Math.max(...(preferred ?? []));
  if (!v['no-batching'] && largest > (maxBatch ?? 16)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `--preferred-batch-sizes ${largest} is larger than --max-batch ${maxBatch ?? '(16 by default)'}: a batch never grows past --max-batch, so it would never run at that size; raise --max-batch or lower the preferred size\n${USAGE}`, { details: { option: 'preferred-batch-sizes' } });
  }
  const options: ServerOptions = {
    models,
    ...(v.workers === undefined ? {} : { workers: int('workers', v.workers) }),
    batching: v['no-batching'] ? false : {
      ...(maxBatch === undefined ? {} : { maxBatch }), ...(maxDelay === undefined ? {} : { maxDelayMs: maxDelay }), ...(preferred === undefined ? {} : { preferredBatchSizes: preferred }),
    },
    ...(v['max-concurrent'] === undefined ? {} : { maxConcurrent: int('max-concurrent', v['max-concurrent']) }),
    ...(v['max-queue'] === undefined ? {} : { maxQueue: int('max-queue', v['max-queue'], 0) }),
    ...(v['body-limit'] === undefined ? {} : { bodyLimit: int('body-limit', v['body-limit']) }),
    ...(v['max-elements'] === undefined ? {} : { maxElements: int('max-elements', v['max-elements']) }),
    ...(v['max-output-bytes'] === undefined ? {} : { maxOutputBytes: int('max-output-bytes', v['max-output-bytes']) }),
    ...(v['timeout-ms'] === undefined ? {} : { timeoutMs: ms('timeout-ms', int('timeout-ms', v['timeout-ms'])) }),
    page: !v['no-page'],
  };
  return { options, port, host: v.host ?? '0.0.0.0', graceMs: ms('grace-ms', int('grace-ms', v['grace-ms'])) ?? 30_000, json: v.json === true };
}

/**
 * Starts the server from a command line, prints its URL, and stops it gracefully on SIGTERM or
 * SIGINT: exit code 0 when every request in flight finished within the grace period, 1 otherwise.
 * A model that cannot be loaded at start rejects with its load error before anything listens (see
 * exitCodeOf); models loaded later through the repository API never stop the server.
 */
/**
 * Fails when nothing can listen on `host:port` now (taken, or an address this machine does not have),
 * so that the start stops before its models load, which takes minutes for a large one. Port 0 (any
 * free one) always can. Another process may still take the port before the server listens: then the
 * listen itself fails, as before.
 */
async function checkAddress(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const probe = createNetServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ port, host, exclusive: true }, resolve);
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE' ? 'the address is in use (EADDRINUSE); stop what listens there or choose another --port'
      : code === 'EACCES' ? 'permission denied (EACCES): a port below 1024 needs privileges; choose another --port'
      : code === 'EADDRNOTAVAIL' ? 'this machine has no such address (EADDRNOTAVAIL); check --host'
      : errorMessage(e);
    throw new ForgeError(ForgeErrorCode.IO, `cannot listen on ${host}:${port}: ${why}`, { cause: e, details: { host, port } });
  } finally {
    await new Promise((resolve) => (probe.listening ? probe.close(resolve) : resolve(undefined)));
  }
}

export async function runServer(argv: readonly string[], io: RunIo, signals = true): Promise<Running> {
  const { options, port, host, graceMs, json } = parseServerArgs(argv, io.env);
  await checkAddress(port, host);
  const t0 = performance.now();
  const server = await createServer({ ...options, failOnLoadError: true, log: (line) => io.err(`demo-server: ${line}`) });
  const address = await server.listen(port, host);
  const shown = new URL(address);
  if (host === '0.0.0.0' || host === '::') shown.hostname = 'localhost';
  const url = shown.origin;
  const index = server.models.index();
  const readySeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  // --no-page: / answers 404, so it is not offered.
  const page = options.page === false ? undefined : `${url}/`;
  if (json) {
    // One line a script can read to learn where the server listens (logs go to stderr).
    io.out(JSON.stringify({ url, models: index.map((m) => ({ name: m.name, state: m.state })), page: page ?? null, protocol: `${url}/v2`, metrics: `${url}/metrics`, readySeconds }));
  } else {
    // A folder with no model yet is served (models come later through the repository API): say so.
    const models = index.length ? index.map((m) => `${m.name} (${m.state.toLowerCase()})`).join(', ') : `no model yet in ${options.models} (put .onnx files there, then POST /v2/repository/models/<name>/load)`;
    io.out(`onnx-forge demo server: ${models} on ${url} (ready in ${readySeconds.toFixed(1)} s)`);
    io.out(`  ${page === undefined ? '' : `page ${page}  ·  `}protocol ${url}/v2  ·  metrics ${url}/metrics`);
  }

  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((r) => (resolveStopped = r));
  let stopping: Promise<number> | undefined;
  const stop = (): Promise<number> => {
    stopping ??= (async () => {
      const timer = setTimeout(() => {
        io.err(`demo-server: requests still in flight after ${graceMs} ms; exiting anyway`);
        resolveStopped(1);
      }, graceMs);
      timer.unref();
      try {
        await server.close();
        resolveStopped(0);
      } catch (e) {
        io.err(`demo-server: error while stopping: ${errorMessage(e)}`);
        resolveStopped(1);
      } finally {
        clearTimeout(timer);
      }
      return stopped;
    })();
    return stopping;
  };
  if (signals) {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        io.err(`demo-server: ${sig}: stopping`);
        void stop();
      });
    }
  }
  return { server, url, stopped, stop };
}
