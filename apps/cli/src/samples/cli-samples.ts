import { statSync } from 'node:fs';
import path from 'node:path';
import { ForgeError, ForgeErrorCode, errorMessage, type Model, type ModelRunner, type RunnerFeeds } from '@onnx-forge/core';
import { arbitraryInputsNote, fitSeededDims, fittedNote, iterateSamples, loadSamples, seededFeeds, symbolicDims } from '@onnx-forge/graph-ops';
import type { CommandContext } from '../framework/command.js';
import type { FlagSpec } from '../framework/flag-spec.js';
import type { Progress } from '../framework/progress.js';
import { UsageError } from '../framework/usage-error.js';
import { checkDimNames, parseDims } from './parse-dims.js';

/**
 * Seeds of the seeded inputs a command checks accuracy on when it is given no samples: the eight that
 * compare and optimize measure on (bench's seeds 1-8), so that every command gives one model the same
 * verdict (with three seeds, quantize passed Silero VAD's INT8 state above the 0.99 tolerance while
 * optimize, on eight, refused it).
 */
export const SEEDS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8];

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
  /** Spread of seeded float inputs (--input-scale; graph-ops' seededFeeds std, 1 when absent). */
  scale?: number;
}

export interface CliSamples {
  feeds: RunnerFeeds[];
  /** Said in reports: "8 seeded inputs", "4 samples from calib/". */
  source: string;
  seeded: boolean;
  /** Sizes of symbolic dims the seeded inputs were made with (the user's --dims, or fitted ones); free ones are 1. */
  dims?: Readonly<Record<string, number>>;
  /** Dims fitSeededSamples sized (to a representative size, or to one the model runs on). */
  fitted?: readonly string[];
  /** fitSeededSamples has sized these seeded samples already (whether or not it changed a dim). */
  sized?: boolean;
  /** The --input-scale seeded inputs were made with, when one was given. */
  scale?: number;
}

export const DIMS_FLAG: FlagSpec = {
  name: 'dims',
  kind: 'list',
  valueName: 'NAME=N',
  description:
    'sizes of symbolic input dims for seeded inputs, e.g. batch=4,sequence=128 (an unnamed dim as input[axis]=N); ' +
    'a batch dim not given is 1, any other 64, or the first of 16, 256, 4096, 16384, 1 the model runs at',
};

export const INPUT_SCALE_FLAG: FlagSpec = {
  name: 'input-scale',
  kind: 'string',
  valueName: 'S',
  description: 'spread of seeded float inputs (roughly normal, default 1): 32768 for audio in int16 units, 255 for raw pixel values',
};

/** `--input-scale S`: a positive number, or undefined when not given. */
function inputScale(ctx: CommandContext): number | undefined {
  const text = ctx.args.string(INPUT_SCALE_FLAG.name);
  if (text === undefined) return undefined;
  const scale = Number(text);
  if (!(text.trim() && Number.isFinite(scale) && scale > 0)) {
    throw new UsageError(`--input-scale takes a positive number (such as 32768), got "${text}"`, ctx.command, { flag: INPUT_SCALE_FLAG.name });
  }
  return scale;
}

/**
 * The sample spec of the command line: `dir` from the first of `dirFlags` given, --dims, and
 * --input-scale (refused beside a folder: real samples have their own scale).
 */
export function sampleSpec(ctx: CommandContext, dirFlags: readonly string[]): SampleSpec {
  const flag = dirFlags.find((f) => ctx.args.has(f));
  const dir = flag === undefined ? undefined : ctx.args.string(flag);
  const scale = inputScale(ctx);
  if (scale !== undefined && flag !== undefined) {
    throw new UsageError(`--input-scale sets the spread of seeded inputs, and --${flag} gives real samples instead`, ctx.command, { flag: INPUT_SCALE_FLAG.name });
  }
  if (flag !== undefined && dir !== undefined) checkFolderFlag(ctx, flag, path.resolve(ctx.io.cwd, dir), dir);
  return { ...(dir === undefined ? {} : { dir }), dims: parseDims(ctx.command, ctx.args.list('dims')), ...(scale === undefined ? {} : { scale }) };
}

/**
 * --dims beside a folder of samples (--inputs, --calibration) when every sample the command uses comes
 * from the folder: the sizes are of seeded inputs and the folder's samples keep their own shapes, so
 * the sizes asked for would silently not be applied (a usage error, as bench, compare and hybrid say).
 */
export function refuseDimsBesideFolder(ctx: CommandContext, spec: SampleSpec, dirFlags: readonly string[]): void {
  const flag = dirFlags.find((f) => ctx.args.has(f));
  if (spec.dir === undefined || flag === undefined || Object.keys(spec.dims).length === 0) return;
  throw new UsageError(
    `--dims sizes seeded inputs, and --${flag} gives samples of their own shapes instead, so the sizes would not be applied: leave out --dims`,
    ctx.command,
    { flag: 'dims' },
  );
}

/**
 * Refuses, before any work, a folder flag (--inputs, --calibration) whose path names nothing
 * (FORGE_IO, as for a missing model: a typo) or a file (a usage error): measuring or calibrating on
 * anything else than the folder the user named would pass off other data as theirs.
 */
export function checkFolderFlag(ctx: CommandContext, flag: string, dir: string, given = dir): void {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? 'it does not exist' : code === 'ENOTDIR' ? 'a part of the path is a file, not a folder' : code === 'EACCES' ? 'no permission to read it' : errorMessage(e);
    throw new ForgeError(ForgeErrorCode.IO, `cannot read the --${flag} folder "${given}": ${hint}`, { cause: e, details: { path: dir, errno: code } });
  }
  if (!st.isDirectory()) throw new UsageError(`--${flag} ${given} is not a folder; give a folder of samples (ONNX .pb test data, .npy or JSON)`, ctx.command, { flag });
}

/**
 * Reads the first sample of a folder the user named, against the model's inputs, without the rest: a
 * folder that holds none, or whose samples do not fit the model (FORGE_BAD_SAMPLES), is said before a
 * pass runs on a large model, not once it is done.
 */
export async function checkFirstSample(model: Model, dir: string): Promise<void> {
  const samples = iterateSamples(dir, { inputs: model });
  try {
    await samples.next();
  } finally {
    await samples.return(undefined);
  }
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
  checkDimNames(o.command, spec.dims, new Set(symbolicDims(model)), o.file);
  return seededSamples(model, spec.dims, spec.scale, purpose);
}

/**
 * Seeded samples; their source names fitted dims, the input scale and integer inputs drawn at random:
 * "8 seeded inputs (samples=4096) at input scale 32768", "8 seeded inputs (sr at random: …)".
 */
function seededSamples(model: Model, dims: Readonly<Record<string, number>>, scale: number | undefined, purpose: SamplePurpose, fitted?: readonly string[]): CliSamples {
  const feeds = (purpose === 'search' ? SEARCH_SEEDS : SEEDS).map((seed) => seededFeeds(model, { seed, dims, ...(scale === undefined ? {} : { std: scale }) }));
  const source = `${feeds.length} seeded inputs${fittedNote({ dims, fitted: fitted ?? [] })}${scale === undefined ? '' : ` at input scale ${scale}`}${arbitraryInputsNote(model)}`;
  return { feeds, source, seeded: true, dims, ...(fitted === undefined ? {} : { sized: true }), ...(fitted?.length ? { fitted } : {}), ...(scale === undefined ? {} : { scale }) };
}

/**
 * Seeded samples for `purpose` shaped as `like` (its dims, fitted ones included, and its scale), so a
 * check after a search, or a search after a check, does not fit the model's dims again.
 */
export function seededLike(model: Model, like: CliSamples, purpose: SamplePurpose): CliSamples {
  return seededSamples(model, like.dims ?? {}, like.scale, purpose, like.sized ? (like.fitted ?? []) : undefined);
}

/**
 * `samples` made again with the free dims sized when they are seeded (graph-ops' fitSeededDims: a
 * representative size rather than a 1×1 image, or one an audio front end runs on); `samples` itself
 * otherwise, and when only 1 or no size runs.
 */
export async function fitSeededSamples(runner: ModelRunner, model: Model, samples: CliSamples, purpose: SamplePurpose = 'check'): Promise<CliSamples> {
  if (!samples.seeded || samples.sized) return samples;
  const fit = await fitSeededDims(runner, model, samples.dims, SEEDS[0]);
  return fit.fitted.length ? seededSamples(model, fit.dims, samples.scale, purpose, fit.fitted) : { ...samples, sized: true };
}
