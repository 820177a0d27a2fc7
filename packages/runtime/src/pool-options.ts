import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type { ResourceLimits, WorkerOptions } from 'node:worker_threads';
import { type Clock, isClock, systemClock } from './clock.js';
import { type CreateSessionOptions, CREATE_OPTION_KEYS, validateProviders } from './create-session-options.js';
import type { WorkerSessionOptions } from './pool-protocol.js';
import { closest, validateSessionOptions } from './session-options.js';
import type { PoolWorker } from './worker-slot.js';

/** What createPool takes: createSession's options (sent to every worker) and the pool's own. */
export interface PoolOptions extends Omit<CreateSessionOptions, 'backend' | 'cache'> {
  backend?: 'node' | 'web';
  /** Worker threads, each with its own session (default: available cores). */
  workers?: number;
  /** Runs allowed to wait for a worker (default 256); more are rejected with FORGE_OVERLOADED. */
  maxQueue?: number;
  /** Default per-run time limit, from submission (queue wait included). */
  timeoutMs?: number;
  /**
   * Nice value of the worker threads (Linux; 0 to 19 without privileges). A positive value makes the
   * event loop win the core whenever it wakes, at the cost of the workers' share against other
   * processes. Default 0 (same as the main thread).
   */
  workerPriority?: number;
  /** Consecutive failed worker starts after which the pool gives up replacing (default 3). */
  maxRestarts?: number;
  /** V8 heap limits of each worker. */
  resourceLimits?: ResourceLimits;
  /** Worker entry file, for bundlers that move it (default: found next to this module). */
  workerUrl?: string | URL;
  /** Creates worker threads (tests wrap it to reach the Worker objects, or stand in for them). */
  spawn?: (url: URL, options: WorkerOptions) => PoolWorker;
}

export const POOL_OPTION_KEYS = ['workers', 'maxQueue', 'timeoutMs', 'workerPriority', 'maxRestarts', 'resourceLimits', 'workerUrl', 'spawn'] as const;

/** PoolOptions checked, with defaults filled in, split into what the pool uses and what goes to each worker's session. */
export interface ResolvedPoolOptions {
  readonly backend: 'node' | 'web';
  readonly workers: number;
  readonly maxQueue: number;
  readonly timeoutMs: number | undefined;
  readonly maxRestarts: number;
  readonly workerPriority: number | undefined;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly workerUrl: string | URL | undefined;
  readonly spawn: PoolOptions['spawn'];
  readonly onEvent: PoolOptions['onEvent'];
  /** Times runs and their limits in this thread (workers time onnxruntime's run() with their own). */
  readonly clock: Clock;
  /** The createSession options every worker gets (structured-clonable). */
  readonly session: WorkerSessionOptions;
}

/** Checks every option before any thread starts; unknown keys are errors with a suggestion. */
export async function resolvePoolOptions(options: PoolOptions): Promise<ResolvedPoolOptions> {
  const backend = options.backend ?? 'node';
  if (backend !== 'node' && backend !== 'web') throw invalid("a pool's backend must be 'node' or 'web' (custom backend objects cannot cross to worker threads)", 'backend');
  await validateSessionOptions(options, backend, [...CREATE_OPTION_KEYS, ...POOL_OPTION_KEYS]);
  validateProviders(options.providers, backend === 'node' ? 'cpu' : 'wasm');
  const workers = options.workers === undefined ? Math.max(1, (await import('node:os')).availableParallelism()) : positiveInt('workers', options.workers, 256);
  const maxQueue = options.maxQueue === undefined ? 256 : options.maxQueue === 0 ? 0 : positiveInt('maxQueue', options.maxQueue, 1e7);
  if (options.timeoutMs !== undefined && !(typeof options.timeoutMs === 'number' && options.timeoutMs > 0)) throw invalid('timeoutMs must be a positive number of milliseconds', 'timeoutMs');
  const maxRestarts = options.maxRestarts === undefined ? 3 : nonNegativeInt('maxRestarts', options.maxRestarts, 1000);
  checkResourceLimits(options.resourceLimits);
  if (options.workerPriority !== undefined && !(Number.isInteger(options.workerPriority) && options.workerPriority >= -20 && options.workerPriority <= 19)) {
    throw invalid(`workerPriority must be a nice value, an integer from -20 to 19, got ${JSON.stringify(options.workerPriority)}`, 'workerPriority');
  }
  if (options.clock !== undefined && !isClock(options.clock)) throw invalid('clock must have now(), setTimeout() and clearTimeout() (see systemClock)', 'clock');
  // Functions (onEvent, spawn, the clock) stay in this thread: they cannot be sent to a worker.
  const {
    onEvent, clock, workers: _w, maxQueue: _q, timeoutMs, maxRestarts: _r, workerPriority, resourceLimits, workerUrl, spawn, ...rest
  } = options;
  return {
    backend,
    workers,
    maxQueue,
    timeoutMs,
    maxRestarts,
    workerPriority,
    resourceLimits,
    workerUrl,
    spawn,
    onEvent,
    clock: clock ?? systemClock,
    // One intra-op thread per worker by default: N workers × 1 thread uses N cores without oversubscribing.
    session: { intraOpNumThreads: 1, ...rest, backend },
  };
}

function invalid(message: string, option: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, message, { details: { option } });
}

function nonNegativeInt(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw invalid(`${name} must be an integer from 0 to ${max}, got ${shown(v)}`, name);
  return v;
}

/** A value as a message shows it: numbers as numbers (Infinity, NaN), the rest as JSON. */
function shown(v: unknown): string {
  return typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
}

const RESOURCE_LIMIT_KEYS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

/** Node's Worker ignores resourceLimits keys it does not know, so a misspelt limit would be no limit. */
function checkResourceLimits(limits: unknown): void {
  if (limits === undefined) return;
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    throw invalid(`resourceLimits must be an object such as { maxOldGenerationSizeMb: 512 }, got ${JSON.stringify(limits)}`, 'resourceLimits');
  }
  for (const [k, v] of Object.entries(limits)) {
    if (!(RESOURCE_LIMIT_KEYS as readonly string[]).includes(k)) {
      const hint = closest(k, RESOURCE_LIMIT_KEYS);
      throw invalid(`resourceLimits: '${k}' is unknown${hint ? `; did you mean '${hint}'?` : ''} (keys: ${RESOURCE_LIMIT_KEYS.join(', ')})`, 'resourceLimits');
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw invalid(`resourceLimits.${k} must be a number of megabytes > 0, got ${shown(v)}`, 'resourceLimits');
  }
}

function positiveInt(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw invalid(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`, name);
  return v;
}
