import { PassManager, nullThrows, type Model, type PassReport, type RunnerFeeds } from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import { constantFoldingPass } from '../constant-folding.js';

/** onnxruntime-node with its own graph optimizations (constant folding among them) off: it computes every node as written. */
export const literalRunner = new OrtRunner({ sessionOptions: { graphOptimizationLevel: 'disabled' } });
/** onnxruntime-node as users run it (every optimization on). */
export const optimizingRunner = new OrtRunner();

export interface Folded {
  report: PassReport;
  /** The model before folding, encoded. */
  before: Uint8Array;
}

/** Runs constant-folding over `model` (in place) with the given options, runner and samples. */
export async function fold(model: Model, samples: readonly RunnerFeeds[], options: Parameters<typeof constantFoldingPass>[0] = {}, runner = literalRunner): Promise<Folded> {
  const before = model.encode();
  const report = await new PassManager({ services: { runner, samples } }).add(constantFoldingPass(options)).run(model);
  return { report: nullThrows(report.passes[0], 'one pass ran'), before };
}

/** Every output of two models on each sample, from the runner: [original, folded] per sample. */
export async function runBoth(before: Uint8Array, after: Model, samples: readonly RunnerFeeds[], runner = literalRunner): Promise<[RunnerFeeds, RunnerFeeds][]> {
  const [a, b] = await Promise.all([runner.load(before), runner.load(after.encode())]);
  try {
    const out: [RunnerFeeds, RunnerFeeds][] = [];
    for (const feeds of samples) out.push([await a.run(feeds), await b.run(feeds)]);
    return out;
  } finally {
    await a.release();
    await b.release();
  }
}

/** Whether two outputs hold the same elements bit for bit (NaN equal to NaN, +0 and -0 apart). */
export function identical(a: RunnerFeeds, b: RunnerFeeds): boolean {
  const names = Object.keys(a);
  if (names.join() !== Object.keys(b).join()) return false;
  return names.every((n) => {
    const x = a[n];
    const y = b[n];
    if (!x || !y || x.type !== y.type || x.dims.join() !== y.dims.join() || x.data.length !== y.data.length) return false;
    for (let i = 0; i < x.data.length; i++) if (!Object.is(x.data[i], y.data[i])) return false;
    return true;
  });
}
