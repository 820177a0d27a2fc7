import { loadForRun, type LoadedModel, type Model, type ModelRunner } from '@onnx-forge/core';
import { modelInputSpecs } from '../quant/samples/validate-feeds.js';
import { dimName, seededFeeds } from './seeded-feeds.js';

/**
 * The size free symbolic dims are tried at first: at 1 a model may run and say nothing about real
 * inputs (a 1×1 image through an OCR detector, a one-token sequence through attention: INT8 of the
 * detector looked exact at 1×1 and was far off at 640×640), so seeded inputs are made at a size where
 * convolutions, pooling and attention have something to work on.
 */
export const REPRESENTATIVE_SIZE = 64;

/** Sizes tried, in this order, for free symbolic dims when the model does not run at REPRESENTATIVE_SIZE. */
export const FIT_SIZES: readonly number[] = [16, 256, 4096, 16384];

/** Symbolic dims whose name says batch. */
const BATCH_DIM = /batch|^n$/i;

/** Each dynamic dim of the model's inputs: its name (see dimName), axis and the input's rank, in order. */
function dynamicDims(model: Model): { name: string; axis: number; rank: number }[] {
  return modelInputSpecs(model).flatMap((spec) => (spec.dims ?? []).flatMap((d, axis) =>
    typeof d === 'number' ? [] : [{ name: dimName(spec.name, axis, d), axis, rank: spec.dims?.length ?? 0 }]));
}

/**
 * The dims taken for a batch, which stay at 1 when fitting (a model's batch size never has a minimum):
 * those named so, and the first dim of an input of rank 2 or more (`p2o.DynamicDimension.0`, `unk__1`,
 * an unnamed `x[0]`), where exporters put the batch.
 */
function batchDims(model: Model): Set<string> {
  return new Set(dynamicDims(model).filter((d) => BATCH_DIM.test(d.name) || (d.axis === 0 && d.rank >= 2)).map((d) => d.name));
}

/**
 * The symbolic dimension names of a model's inputs (`batch`, `sequence`), and `input[axis]` for dynamic
 * dims without a name, in order of appearance.
 */
export function symbolicDims(model: Model): string[] {
  return [...new Set(dynamicDims(model).map((d) => d.name))];
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
 * Sizes for the free symbolic dims of seeded inputs (those not in `dims`, batch dims aside: see batchDims). At 1 a model
 * may run and measure nothing real (a 1×1 image), and an audio front end's Conv over `samples` does not
 * run at all; so this runs `model` on seeded inputs with the free dims at REPRESENTATIVE_SIZE, then at
 * each of FIT_SIZES, then at 1, on one loaded session, and returns the first that runs (`fitted` names
 * the dims it sized, empty when only 1 runs). At each size, when sizing every free dim together fails,
 * each is tried alone with the others at 1 (a recurrent state's batch dim beside the audio's length). A model that does not load, or runs on no size, gets
 * `dims` back with `runs: false`: the caller's own run then reports why. With no free dim there is
 * nothing to size, and the model is neither loaded nor run.
 */
export async function fitSeededDims(runner: ModelRunner, model: Model, dims: Readonly<Record<string, number>> = {}, seed = 1): Promise<FittedDims> {
  const given = { ...dims };
  const batch = batchDims(model);
  const free = symbolicDims(model).filter((d) => given[d] === undefined && !batch.has(d));
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
    for (const size of [REPRESENTATIVE_SIZE, ...FIT_SIZES]) {
      const sized = { ...given, ...Object.fromEntries(free.map((d) => [d, size])) };
      if (await runs(sized)) return { dims: sized, fitted: free, runs: true };
      // Free dims that must agree with a batch of 1 (Silero VAD's state [2, ?, 128] beside its audio
      // [?, ?]) fail when all are sized together: size each alone, the others at 1.
      if (free.length > 1) {
        for (const d of free) {
          const one = { ...given, ...Object.fromEntries(free.map((f) => [f, f === d ? size : 1])) };
          if (await runs(one)) return { dims: one, fitted: [d], runs: true };
        }
      }
    }
    return { dims: given, fitted: [], runs: await runs(given) };
  } finally {
    await loaded.release();
  }
}

/** What reports add after their sample count when dims were fitted (" (samples=4096)"), else "". */
export function fittedNote(fit: { readonly dims: Readonly<Record<string, number>>; readonly fitted: readonly string[] }): string {
  return fit.fitted.length ? ` (${fit.fitted.map((d) => `${d}=${fit.dims[d]}`).join(', ')})` : '';
}
