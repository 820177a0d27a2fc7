import { ForgeError, ForgeErrorCode, float32ArrayToFloat16, isForgeError, type Model, type ModelRunner, type RunnerFeeds } from '@onnx-forge/core';
import { arbitraryInputsNote, fitSeededDims, fittedNote, loadSamples, modelInputSpecs, seededFeeds, symbolicDims, validateFeeds } from '@onnx-forge/graph-ops';

export interface ModelInputsOptions {
  /** Seed of the first seeded sample; sample i uses seed + i (default 1). */
  seed?: number;
  /** Values of the model's symbolic input dimensions (`batch`, `sequence`); others take 1. */
  dims?: Readonly<Record<string, number>>;
  /** Seeded samples to make (default 1). */
  count?: number;
  /**
   * Spread of seeded float inputs (graph-ops' seededFeeds std, default 1): 32768 for audio in int16
   * units, 255 for raw pixel values, where float16 may overflow and ±1 would not show it.
   */
  inputScale?: number;
  /**
   * Samples instead of seeded ones: a folder (ONNX test-data `.pb`, `.npy` or JSON, read by graph-ops'
   * loadSamples and checked against the model) or feeds in memory.
   */
  inputs?: string | readonly RunnerFeeds[];
  /**
   * With seeded samples: a runner to try the model on them first, so that free dims it does not run
   * on at 1 (an audio front end's `samples`) are sized to fit (graph-ops' fitSeededDims).
   */
  runner?: ModelRunner;
}

export interface ModelInputs {
  feeds: RunnerFeeds[];
  source: 'seeded' | 'folder' | 'given';
  /** Where the samples came from: the folder, or the seeds. */
  from: string;
  /** Seeded samples: the sizes of symbolic dims they were made with (given and fitted). */
  dims?: Record<string, number>;
}

/** Refuses dimension values for names the model's inputs do not have, or that are not positive integers. */
export function checkDims(model: Model, dims: Readonly<Record<string, number>> | undefined): void {
  if (!dims) return;
  const known = symbolicDims(model);
  for (const [name, value] of Object.entries(dims)) {
    if (!known.includes(name)) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `dims: no input of the model has a dimension named "${name}" (${known.length ? `its symbolic dims: ${known.join(', ')}` : 'its inputs have no symbolic dims'})`, {
        details: { option: 'dims', dim: name, known },
      });
    }
    if (!Number.isInteger(value) || value < 1) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `dims: ${name} must be a positive integer, got ${value}`, { details: { option: 'dims', dim: name } });
    }
  }
}

/**
 * Inputs for measuring a model: samples from a folder or memory when given (checked against the
 * model's inputs: FORGE_BAD_SAMPLES when they do not fit), else seeded samples shaped from what the
 * inputs declare (graph-ops' seededFeeds: floats roughly normal, token ids within their table).
 */
export async function modelInputs(model: Model, options: ModelInputsOptions = {}): Promise<ModelInputs> {
  const { feed, count, ...rest } = await modelSamples(model, options);
  return { feeds: Array.from({ length: count }, (_, i) => feed(i)), ...rest };
}

/**
 * modelInputs' samples one at a time: `feed(i)` gives the i-th of `count`. Seeded samples are made on
 * demand and not kept, so that a caller that runs them one by one (compareAccuracy) holds one sample's
 * feeds at a time whatever the count; the same i always gives the same values.
 */
export interface ModelSamples extends Omit<ModelInputs, 'feeds'> {
  count: number;
  feed(i: number): RunnerFeeds;
}

/** modelInputs without making every sample up front (see ModelSamples). */
export async function modelSamples(model: Model, options: ModelInputsOptions = {}): Promise<ModelSamples> {
  checkDims(model, options.dims);
  const scale = options.inputScale;
  if (scale !== undefined && !(Number.isFinite(scale) && scale > 0)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `inputScale must be a positive number, got ${scale}`, { details: { option: 'inputScale' } });
  }
  const given = (feeds: readonly RunnerFeeds[]) => ({ count: feeds.length, feed: (i: number) => feeds[i] as RunnerFeeds });
  if (typeof options.inputs === 'string') {
    return { ...given(await folderSamples(options.inputs, model)), source: 'folder', from: options.inputs };
  }
  if (options.inputs) {
    if (options.inputs.length === 0) throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, 'inputs: the list of samples is empty');
    // Checked as a folder's samples are: a feed of another shape or type is the caller's data, not a failure of the model.
    const specs = modelInputSpecs(model);
    for (const [i, feeds] of options.inputs.entries()) validateFeeds(feeds, specs, `inputs: sample ${i}`);
    return { ...given([...options.inputs]), source: 'given', from: `${options.inputs.length} sample(s) in memory` };
  }
  const seed = options.seed ?? 1;
  const count = options.count ?? 1;
  const fit = options.runner ? await fitSeededDims(options.runner, model, options.dims, seed) : undefined;
  const dims = fit ? fit.dims : options.dims;
  const feed = (i: number) => seededFeeds(model, { seed: seed + i, ...(dims ? { dims } : {}), ...(scale === undefined ? {} : { std: scale }) });
  const seeds = count === 1 ? `seed ${seed}` : `seeds ${seed}-${seed + count - 1}`;
  // Integer inputs that index no table and are no mask get arbitrary values: say so, they may matter.
  const warning = arbitraryInputsNote(model);
  return { count, feed, source: 'seeded', from: `${seeds}${fit ? fittedNote(fit) : ''}${scale === undefined ? '' : ` at input scale ${scale}`}${warning}`, dims: { ...dims } };
}

/**
 * A folder's samples, checked against the model. A model taking float16 where the samples are float32
 * (an FP16 variant converted without keeping its I/O types, measured on the samples of the float32
 * model it came from) gets them converted to float16, as compare converts them for such a candidate and
 * as a variant's session is fed (feedsForSession); any other mismatch is refused as before.
 */
async function folderSamples(dir: string, model: Model): Promise<RunnerFeeds[]> {
  try {
    return await loadSamples(dir, { inputs: model });
  } catch (e) {
    const d = isForgeError(e) ? (e.details as { got?: unknown; want?: unknown } | undefined) : undefined;
    if (!(isForgeError(e) && e.code === ForgeErrorCode.BAD_SAMPLES && d?.got === 'float32' && d?.want === 'float16')) throw e;
    const specs = modelInputSpecs(model);
    const half = new Set(specs.filter((s) => s.type === 'float16').map((s) => s.name));
    const samples = await loadSamples(dir, { inputs: specs.map((s) => (half.has(s.name) ? { ...s, type: 'float32' as const } : s)) });
    return samples.map((feeds) => Object.fromEntries(Object.entries(feeds).map(([name, t]) => [
      name, half.has(name) && t.data instanceof Float32Array ? { type: 'float16' as const, dims: t.dims, data: float32ArrayToFloat16(t.data) } : t,
    ])));
  }
}
