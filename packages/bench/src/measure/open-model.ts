import { ForgeError, Model, decodeModel, externalLocations, isForgeError, openModel as openLazily, readModel, type ForgeErrorCode, type RunnerFeeds } from '@onnx-forge/core';
import type { Clock, Outputs, Session, SessionOptions } from '@onnx-forge/runtime';
import { defaultBenchClock } from './bench-clock.js';
import { feedsForSession } from './session-feeds.js';
import { stageError, type Stage } from './stage-error.js';

/** A model to measure: a file path, the bytes of a ModelProto, or a core Model. */
export type BenchSource = string | Uint8Array | Model;

export interface OpenModelOptions {
  /** 'node' (onnxruntime-node, default) or 'web' (onnxruntime-web: wasm in Node). */
  backend?: 'node' | 'web';
  /** Execution providers, in order (default: the backend's own, cpu or wasm). */
  providers?: readonly string[];
  /** onnxruntime session options (graphOptimizationLevel defaults to 'all'). */
  sessionOptions?: SessionOptions;
  clock?: Clock;
}

/** A model loaded for measuring. */
export interface OpenedModel {
  name: string;
  file: string | undefined;
  /** Size on disk (external data files included), or of the encoded bytes. */
  bytes: number;
  /** The graph (from a file: read without its external weights, which only onnxruntime needs). */
  model: Model;
  session: Session;
  backend: string;
  provider: string;
  /** Time to create the onnxruntime session. */
  createMs: number;
  /** Resident memory before the session was created, and how much it grew by creating it. */
  rssBeforeBytes: number;
  rssDeltaBytes: number;
  /** Runs the model on feeds made for the reference (float inputs converted to what this one takes). */
  run(feeds: RunnerFeeds): Promise<Outputs>;
  close(): Promise<void>;
}

/** The model's file size plus the external data files its tensors name (each counted once). */
async function fileBytes(file: string, model: Model): Promise<number> {
  const [{ stat }, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  let total = (await stat(file)).size;
  for (const loc of externalLocations(model.proto)) total += (await stat(path.join(path.dirname(file), loc)).catch(() => ({ size: 0 }))).size;
  return total;
}

/**
 * Reads a model file as every command does before onnxruntime sees it: its graph (external weights
 * left on disk, which only onnxruntime needs) and its size with them. A file that is not a model fails
 * with FORGE_INVALID_MODEL (a truncated one too), external data that is missing, outside the model's
 * folder or cut short with FORGE_EXTERNAL_DATA (core's checks, as check and fp16 make them), a missing
 * file with FORGE_IO: never as onnxruntime's "Protobuf parsing failed" or initializer.cc messages.
 */
export async function readModelFile(file: string): Promise<{ model: Model; bytes: number }> {
  const model = await readModel(file, { externalData: false });
  // Core's lazy open resolves every external region (location, link, offset, length, file size) and reads none.
  if (externalLocations(model.proto).length > 0) await openLazily(file);
  return { model, bytes: await fileBytes(file, model) };
}

/** The error as thrown, its code kept, with the stage it failed at in details.stage (see stageError). */
function atStage(stage: Stage, e: unknown): ForgeError {
  const f = stageError(stage, e);
  return new ForgeError(f.code as ForgeErrorCode, f.message, { cause: e, details: { ...(isForgeError(e) ? e.details : {}), stage } });
}

/**
 * Reads a model's description and creates its onnxruntime session, timing the creation. Failures keep
 * their code and say in details.stage whether reading (FORGE_IO, FORGE_INVALID_MODEL) or loading in
 * onnxruntime (FORGE_RUNTIME, FORGE_NO_PROVIDER) failed.
 */
export async function openModel(source: BenchSource, name: string, options: OpenModelOptions = {}): Promise<OpenedModel> {
  const clock = options.clock ?? defaultBenchClock;
  let model: Model;
  let bytes: number;
  let loadFrom: string | Uint8Array;
  const file = typeof source === 'string' ? source : undefined;
  try {
    if (typeof source === 'string') {
      ({ model, bytes } = await readModelFile(source));
      loadFrom = source;
    } else if (source instanceof Model) {
      loadFrom = source.encode();
      model = source;
      bytes = loadFrom.byteLength;
    } else {
      model = new Model(decodeModel(source));
      loadFrom = source;
      bytes = source.byteLength;
    }
  } catch (e) {
    throw atStage('read', e);
  }
  const { createSession } = await import('@onnx-forge/runtime');
  const rssBeforeBytes = process.memoryUsage.rss();
  const t = clock.now();
  let session: Session;
  try {
    session = await createSession(loadFrom, {
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.providers ? { providers: [...options.providers], strict: true } : {}),
      graphOptimizationLevel: 'all',
      // Fatal only: a failed run comes back as the rejected promise and is recorded with its stage; at 3
      // onnxruntime also prints it as "[E:onnxruntime …]" lines around the command's own report.
      logSeverityLevel: 4,
      ...options.sessionOptions,
      warmup: false,
    });
  } catch (e) {
    throw atStage('load', e);
  }
  const createMs = clock.now() - t;
  const rssDeltaBytes = Math.max(0, process.memoryUsage.rss() - rssBeforeBytes);
  return {
    name, file, bytes, model, session, backend: session.backend, provider: session.provider, createMs, rssBeforeBytes, rssDeltaBytes,
    run: (feeds) => session.run(feedsForSession(feeds, session.inputMetadata)),
    close: () => session.release(),
  };
}
