import { loadForRun, type LoadedModel, type Model, type ModelRunner } from '@onnx-forge/core';
import { modelInputSpecs } from '../quant/samples/validate-feeds.js';
import { seededFeeds } from './seeded-feeds.js';

/** Sizes tried for free symbolic dims when seeded inputs at 1 do not fit a model, smallest first. */
export const FIT_SIZES: readonly number[] = [16, 256, 4096, 16384];

/** Symbolic dims that name a batch stay at 1 when fitting: a model's batch size never has a minimum. */
const BATCH_DIM = /batch|^n$/i;

/** The symbolic dimension names of a model's inputs (`batch`, `sequence`), in order of appearance. */
export function symbolicDims(model: Model): string[] {
  const out = new Set<string>();
  for (const spec of modelInputSpecs(model)) for (const d of spec.dims ?? []) if (typeof d === 'string') out.add(d);
  return [...out];
}

export interface FittedDims {
  /** Sizes to make seeded inputs with: the given ones, plus the fitted ones. */
  dims: Record<string, number>;
  /** Dims this call sized (empty when the given sizes run, or when no size fits). */
  fitted: string[];
  /** Whether the model ran on seeded inputs of `dims`; undefined when no dim was free to size, so it was not run. */
  runs?: boolean;
}

/**
 * Seeded inputs with every free symbolic dim at 1 do not fit every model: an audio front end's Conv
 * over `samples` needs at least its kernel's length. Runs `model` once on seeded inputs of `dims`;
 * when that fails, tries the free dims (symbolic dims not in `dims`, batch dims aside) at each of
 * FIT_SIZES on the same loaded session and returns the first size the model runs on. A model that
 * does not load, or runs on no size, gets `dims` back with `runs: false`: the caller's own run then
 * reports why. With no free dim there is nothing to size, and the model is neither loaded nor run.
 */
export async function fitSeededDims(runner: ModelRunner, model: Model, dims: Readonly<Record<string, number>> = {}, seed = 1): Promise<FittedDims> {
  const given = { ...dims };
  const free = symbolicDims(model).filter((d) => given[d] === undefined && !BATCH_DIM.test(d));
  if (!free.length) return { dims: given, fitted: [] };
  let loaded: LoadedModel;
  try {
    loaded = await loadForRun(runner, model);
  } catch {
    return { dims: given, fitted: [], runs: false };
  }
  const runs = async (sizes: Record<string, number>) => {
    try {
      await loaded.run(seededFeeds(model, { seed, dims: sizes }));
      return true;
    } catch {
      return false;
    }
  };
  try {
    if (await runs(given)) return { dims: given, fitted: [], runs: true };
    for (const size of FIT_SIZES) {
      const sized = { ...given, ...Object.fromEntries(free.map((d) => [d, size])) };
      if (await runs(sized)) return { dims: sized, fitted: free, runs: true };
    }
    return { dims: given, fitted: [], runs: false };
  } finally {
    await loaded.release();
  }
}

/** What reports add after their sample count when dims were fitted (" (samples=4096)"), else "". */
export function fittedNote(fit: { readonly dims: Readonly<Record<string, number>>; readonly fitted: readonly string[] }): string {
  return fit.fitted.length ? ` (${fit.fitted.map((d) => `${d}=${fit.dims[d]}`).join(', ')})` : '';
}
