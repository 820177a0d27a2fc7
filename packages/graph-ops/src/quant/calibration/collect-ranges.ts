import { DataType, ForgeError, ForgeErrorCode, loadForRun, onnx, tensorType, type Model } from '@onnx-forge/core';
import type { LoadedModel, ModelRunner, RunnerFeeds, SampleSource } from '@onnx-forge/core';
import { validateFeeds, type SampleInputSpec } from '../samples/validate-feeds.js';
import { createCollector, type CalibratedRange, type CollectorOptions, type RangeCollector } from './range-collector.js';

/** Calibration batches: an array, or any (async) iterable, so samples can stream from disk. */

export interface CollectRangesOptions extends CollectorOptions {
  /** Bound on the bytes of activations fetched by one run; larger sets are fetched in groups. */
  memoryBytes: number;
  /** Inputs each batch is checked against before it runs. */
  inputs?: readonly SampleInputSpec[];
  signal?: AbortSignal;
  onBatch?: (batch: number) => void;
}

export interface CollectedRanges {
  ranges: Map<string, CalibratedRange>;
  /** Tensors with no usable range, and why (they stay float). */
  failed: Map<string, string>;
  batches: number;
  runs: number;
  /** Largest bytes of activations fetched in one run. */
  peakFetchBytes: number;
}

/** Tensors fetched per run for the first batch, before their sizes are known. */
const FIRST_GROUP = 8;

/**
 * Streams the batches through the model with the wanted tensors exposed as outputs and folds each
 * batch into per-tensor statistics right away, so memory holds one batch's activations at most (and
 * no more than `memoryBytes` of them per run: larger sets are fetched in groups, one run per group).
 */
export async function collectRanges(model: Model, tensors: readonly string[], runner: ModelRunner, samples: SampleSource, o: CollectRangesOptions): Promise<CollectedRanges> {
  const g = model.graph;
  const inputs = new Set(g.inputNames());
  const fromFeeds = tensors.filter((t) => inputs.has(t));
  const fetched = tensors.filter((t) => !inputs.has(t));
  const collectors = new Map<string, RangeCollector>(tensors.map((t) => [t, createCollector(o)]));
  const loaded = await loadExposed(model, fetched, runner);
  let batches = 0;
  let runs = 0;
  let peakFetchBytes = 0;
  // Bytes per tensor seen so far, scaled by the batch's input size to plan groups for larger batches.
  const sizes = new Map<string, number>();
  let sizedInputBytes = 0;
  try {
    for await (const feeds of samples as AsyncIterable<RunnerFeeds>) {
      if (o.signal?.aborted) throw new ForgeError(ForgeErrorCode.CANCELLED, 'calibration cancelled');
      if (o.inputs) validateFeeds(feeds, o.inputs, `calibration batch ${batches}`);
      for (const t of fromFeeds) addTo(collectors, t, feeds[t]?.data, t);
      const inBytes = feedBytes(feeds);
      const groups = planGroups(fetched, sizes, sizedInputBytes ? inBytes / sizedInputBytes : 1, o.memoryBytes);
      for (const group of groups) {
        const out = await loaded.run(feeds, group);
        runs++;
        let bytes = 0;
        for (const t of group) {
          const v = out[t];
          if (!v) throw new ForgeError(ForgeErrorCode.RUNTIME, `calibration run returned no value for "${t}"`);
          const b = (v.data as { byteLength?: number }).byteLength ?? 0;
          bytes += b;
          if (!sizes.has(t) || batches === 0) sizes.set(t, b);
          addTo(collectors, t, v.data, t);
        }
        peakFetchBytes = Math.max(peakFetchBytes, bytes);
      }
      if (batches === 0) sizedInputBytes = inBytes;
      batches++;
      o.onBatch?.(batches);
    }
  } finally {
    await loaded.release();
  }
  if (batches === 0) {
    throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, 'no calibration samples: the sample source is empty; static quantization needs at least one batch of representative inputs');
  }
  const ranges = new Map<string, CalibratedRange>();
  const failed = new Map<string, string>();
  for (const [t, c] of collectors) {
    const r = c.result();
    if (r.ok) ranges.set(t, r.range);
    else failed.set(t, r.reason);
  }
  return { ranges, failed, batches, runs, peakFetchBytes };
}

function addTo(collectors: Map<string, RangeCollector>, name: string, data: unknown, what: string): void {
  if (!(data instanceof Float32Array)) {
    throw new ForgeError(ForgeErrorCode.UNSUPPORTED_TYPE, `calibration tensor "${what}" is not float32 at run time; only float32 activations are quantized`);
  }
  collectors.get(name)?.add(data);
}

function feedBytes(feeds: RunnerFeeds): number {
  let n = 0;
  for (const t of Object.values(feeds)) n += (t.data as { byteLength?: number }).byteLength ?? t.data.length;
  return Math.max(1, n);
}

/** Groups of tensors whose expected bytes stay under the bound (unknown sizes: small groups). */
function planGroups(tensors: readonly string[], sizes: Map<string, number>, scale: number, bound: number): string[][] {
  if (!tensors.length) return [];
  if (!sizes.size) {
    const groups: string[][] = [];
    for (let i = 0; i < tensors.length; i += FIRST_GROUP) groups.push(tensors.slice(i, i + FIRST_GROUP));
    return groups;
  }
  const groups: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const t of tensors) {
    const b = (sizes.get(t) ?? 0) * Math.max(1, scale);
    if (current.length && bytes + b > bound) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(t);
    bytes += b;
  }
  if (current.length) groups.push(current);
  return groups;
}

/** Loads the model with `names` added as float32 graph outputs (the model itself is left unchanged). */
async function loadExposed(model: Model, names: readonly string[], runner: ModelRunner): Promise<LoadedModel> {
  const out = model.graph.outputs;
  const existing = new Set(out.map((v) => v.name));
  const added = names.filter((n) => !existing.has(n));
  const before = out.length;
  for (const n of added) out.push(new onnx.ValueInfoProto({ name: n, type: tensorType(DataType.FLOAT) }));
  try {
    // As bytes, or from a temporary file past 2 GiB or when the model is read lazily.
    return await loadForRun(runner, model);
  } finally {
    out.length = before;
    model.graph.invalidate();
  }
}
