import { loadForRun, type LoadedModel, type Model, type ModelRunner, type RunnerFeeds } from '@onnx-forge/core';
import { loadSamples, modelInputSpecs, seededFeeds } from '@onnx-forge/graph-ops';
import type { CommandContext } from '../framework/command.js';
import type { FlagSpec } from '../framework/flag-spec.js';
import type { Progress } from '../framework/progress.js';
import { checkDimNames, parseDims } from './parse-dims.js';

/** Seeds of the seeded inputs a command checks accuracy on when it is given no samples: three distinct inputs. */
export const SEEDS: readonly number[] = [1, 2, 3];

/**
 * Seeds of the seeded inputs passes search or calibrate on when given no samples (int8-auto,
 * fp16-auto): six, none of them a check seed, so the accuracy the command prints is measured on
 * inputs the search never saw (and the search can hold two of its own out; see graph-ops'
 * precision-search.ts).
 */
export const SEARCH_SEEDS: readonly number[] = [11, 12, 13, 14, 15, 16];

/** What samples are for: checking a result against float32, or a pass's search or calibration. */
export type SamplePurpose = 'check' | 'search';

/** Where a command's sample inputs come from: a folder, or seeded values shaped by the model. */
export interface SampleSpec {
  /** Folder of samples (ONNX .pb test data, .npy or JSON: graph-ops' loadSamples). */
  dir?: string;
  /** Sizes of symbolic input dimensions for seeded inputs (the rest are 1). */
  dims: Readonly<Record<string, number>>;
}

export interface CliSamples {
  feeds: RunnerFeeds[];
  /** Said in reports: "3 seeded inputs", "4 samples from calib/". */
  source: string;
  seeded: boolean;
  /** Sizes of symbolic dims the seeded inputs were made with (the user's --dims, or fitted ones); free ones are 1. */
  dims?: Readonly<Record<string, number>>;
}

export const DIMS_FLAG: FlagSpec = {
  name: 'dims',
  kind: 'list',
  valueName: 'NAME=N',
  description: 'sizes of symbolic input dims for seeded inputs (default 1), e.g. batch=4,sequence=128',
};

/** The sample spec of the command line: `dir` from the first of `dirFlags` given, and --dims. */
export function sampleSpec(ctx: CommandContext, dirFlags: readonly string[]): SampleSpec {
  const flag = dirFlags.find((f) => ctx.args.has(f));
  const dir = flag === undefined ? undefined : ctx.args.string(flag);
  return { ...(dir === undefined ? {} : { dir }), dims: parseDims(ctx.command, ctx.args.list('dims')) };
}

/**
 * Samples read from the folder and checked against the model's inputs (FORGE_BAD_SAMPLES when they
 * do not fit), or seeded inputs made from what the model's inputs declare.
 */
export async function loadCliSamples(model: Model, spec: SampleSpec, o: { progress: Progress; command: string; file: string }, purpose: SamplePurpose = 'check'): Promise<CliSamples> {
  if (spec.dir !== undefined) {
    o.progress.start(`loading samples from ${spec.dir}`);
    const feeds = await loadSamples(spec.dir, { inputs: model });
    const count = `${feeds.length} sample${feeds.length === 1 ? '' : 's'}`;
    o.progress.end(count);
    return { feeds, source: `${count} from ${spec.dir}`, seeded: false };
  }
  const symbols = new Set(modelInputSpecs(model).flatMap((s) => (s.dims ?? []).filter((d): d is string => typeof d === 'string')));
  checkDimNames(o.command, spec.dims, symbols, o.file);
  return seededSamples(model, spec.dims, purpose);
}

function seededSamples(model: Model, dims: Readonly<Record<string, number>>, purpose: SamplePurpose, fitted: readonly string[] = []): CliSamples {
  const feeds = (purpose === 'search' ? SEARCH_SEEDS : SEEDS).map((seed) => seededFeeds(model, { seed, dims }));
  const sized = fitted.length ? ` (${fitted.map((d) => `${d}=${dims[d]}`).join(', ')})` : '';
  return { feeds, source: `${feeds.length} seeded inputs${sized}`, seeded: true, dims };
}

/** Sizes tried for free symbolic dims when seeded inputs at 1 do not fit a model, smallest first. */
export const FIT_SIZES: readonly number[] = [16, 256, 4096, 16384];

/** Symbolic dims that name a batch stay at 1 when fitting: a model's batch size never has a minimum. */
const BATCH_DIM = /batch|^n$/i;

/**
 * Seeded inputs with every free symbolic dim at 1 do not fit every model: an audio front end's Conv
 * over `samples` needs at least its kernel's length. When `model` does not run on the first of the
 * seeded `samples`, tries the free dims (those the user did not size, batch dims aside) at each of
 * FIT_SIZES on one loaded session, and returns samples of the first size it runs on. Returns
 * `samples` itself when they are not seeded, when the model runs on them (what failed was something
 * else), or when no size fits.
 */
export async function fitSeededSamples(runner: ModelRunner, model: Model, samples: CliSamples, purpose: SamplePurpose = 'check'): Promise<CliSamples> {
  const first = samples.feeds[0];
  if (!samples.seeded || !first) return samples;
  const given = samples.dims ?? {};
  const free = [...new Set(modelInputSpecs(model).flatMap((s) => (s.dims ?? []).filter((d): d is string => typeof d === 'string')))]
    .filter((d) => given[d] === undefined && !BATCH_DIM.test(d));
  if (!free.length) return samples;
  let loaded: LoadedModel;
  try {
    loaded = await loadForRun(runner, model);
  } catch {
    return samples;
  }
  const runs = async (feeds: RunnerFeeds) => loaded.run(feeds).then(() => true, () => false);
  try {
    if (await runs(first)) return samples;
    for (const size of FIT_SIZES) {
      const dims = { ...given, ...Object.fromEntries(free.map((d) => [d, size])) };
      if (await runs(seededFeeds(model, { seed: SEEDS[0], dims }))) return seededSamples(model, dims, purpose, free);
    }
    return samples;
  } finally {
    await loaded.release();
  }
}
