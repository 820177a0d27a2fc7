import { ForgeError, ForgeErrorCode, RUNNER, SAMPLES, definePass, type Model, type OptionSpecs, type PassContext } from '@onnx-forge/core';
import { addedError, nameNodes, searchMixedPrecision } from '../precision/precision-search.js';
import { collectSamples } from '../precision/samples-service.js';
import type { ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { quantizeDynamic, runDynamic } from './int8-dynamic.js';
import { quantizeStatic, runStatic } from './int8-static.js';
import { quantOptionSpecs, staticOptionSpecs, type StaticQuantOptions } from './quant-options.js';
import { checkQuantOptions } from './quant-options.js';
import { recordingContext, tensorBytes, type QuantReport } from './quant-report.js';
import { assertValid, buildReport } from './quant-run.js';

/**
 * `int8-auto`: INT8 with an accuracy guard, as fp16-auto is for float16. The model is quantized
 * (dynamic, or static QDQ calibrated on the samples), run against float32 on the samples, and when an
 * output's cosine similarity falls below `tolerance`, the nodes whose quantization costs the most are
 * left float32 until every output holds (see precision/precision-search.ts). An LSTM cell built from
 * Gemm nodes, whose recurrent state compounds 8-bit error, or a sigmoid probability map fed by large
 * logits are what this catches.
 */

export interface Int8AutoOptions extends StaticQuantOptions {
  mode: 'dynamic' | 'static';
  /** Smallest cosine similarity to float32 allowed on every output of every sample. */
  tolerance: number;
  maxEvaluations: number;
}

export const INT8_AUTO_OPTION_SPECS: OptionSpecs<Int8AutoOptions> = {
  ...staticOptionSpecs,
  mode: { type: { enum: ['dynamic', 'static'] }, default: 'dynamic', description: 'dynamic (activations quantized at run time) or static (QDQ calibrated on the samples)' },
  tolerance: {
    type: 'number',
    default: 0.99,
    description: 'smallest cosine similarity to float32 allowed on every output of every sample',
    validate: (v) => (v > 0 && v < 1 ? undefined : 'must be a cosine similarity in (0, 1)'),
  },
  maxEvaluations: {
    type: 'integer',
    default: 48,
    description: 'most candidate models the search builds and runs',
    validate: (v) => (v >= 2 ? undefined : 'must be at least 2'),
  },
};

export interface Int8AutoResult {
  report: QuantReport;
  /** Nodes left float32 by the search, most costly first, with the error each added (rel-l2). */
  excluded: { node: string; sensitivity: number }[];
  /** Smallest cosine per output over the samples: with everything quantized, and in the result. */
  fullCosine: Record<string, number>;
  cosine: Record<string, number>;
  evaluations: number;
  samples: number;
}

const cosines = (differences: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(differences).map(([k, d]) => [k, 1 - d]));

/**
 * A context that records for the report and forwards to the caller's context, with the decision of
 * every node the search excluded explained.
 */
function guardedContext(outer: Partial<PassContext> | undefined, why: (node: string) => string | undefined, services: Record<string, unknown>): ReturnType<typeof recordingContext> {
  const rec = recordingContext('int8-auto', services, outer?.signal);
  return {
    ...rec,
    count: (k, d) => { rec.count(k, d); outer?.count?.(k, d); },
    set: (k, v) => { rec.set(k, v); outer?.set?.(k, v); },
    warn: (m) => { rec.warn(m); outer?.warn?.(m); },
    progress: (d, t, l) => outer?.progress?.(d, t, l),
    decide: (graph, node, action, reason) => {
      const r = why(node.name) ?? reason;
      rec.decide(graph, node, action, r);
      outer?.decide?.(graph, node, action, r);
    },
  };
}

/** Quantizes `model` in place within `tolerance` (cosine) of float32 on `samples`; the report names what was left float32. */
export async function autoQuantize(model: Model, runner: ModelRunner, samples: readonly RunnerFeeds[], options: Partial<Int8AutoOptions> = {}, ctx?: Partial<PassContext>): Promise<Int8AutoResult> {
  const o = int8Auto(options).options as Int8AutoOptions;
  if (!samples.length) throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, 'int8-auto needs sample inputs to compare against float32: pass services: { samples: [feeds, ...] }');
  const { mode: _m, tolerance: _t, maxEvaluations: _e, ...quantOptions } = o;
  // Dynamic mode takes only the options int8-dynamic knows.
  const base = o.mode === 'static' ? quantOptions : Object.fromEntries(Object.keys(quantOptionSpecs).map((k) => [k, quantOptions[k as keyof typeof quantOptions]]));
  const withExcluded = (excluded: Iterable<string>): StaticQuantOptions => ({ ...(base as StaticQuantOptions), excludeNodes: [...o.excludeNodes, ...excluded] });
  const quantize = (m: Model, excluded: Iterable<string>): Promise<QuantReport> | QuantReport =>
    o.mode === 'static' ? quantizeStatic(m, runner, samples, withExcluded(excluded)) : quantizeDynamic(m, withExcluded(excluded));
  nameNodes(model, 'int8auto');
  const original = model.clone();
  const candidates = (await quantize(original.clone(), [])).nodes.filter((d) => d.action === 'quantized' && d.graph === 'main').map((d) => d.node);
  // Static candidates are calibrated asynchronously: each is made by `prepare` just before `build`.
  const built = new Map<string, Model>();
  const key = (kept: ReadonlySet<string>) => [...kept].sort().join('\u0000');
  const search = await searchMixedPrecision({
    pass: 'int8-auto',
    runner,
    samples,
    original,
    candidates,
    prepare: async (kept) => {
      const k = key(kept);
      if (built.has(k)) return;
      const c = original.clone();
      await quantize(c, kept);
      built.set(k, c);
    },
    build: (kept) => {
      const hit = built.get(key(kept));
      if (!hit) throw new ForgeError(ForgeErrorCode.INTERNAL, 'int8-auto: a candidate was built before it was prepared');
      return hit;
    },
    metric: 'cosine',
    tolerance: 1 - o.tolerance,
    maxEvaluations: o.maxEvaluations,
    ...(ctx?.progress ? { progress: ctx.progress.bind(ctx) } : {}),
  });
  built.clear();

  const sensitivity = new Map(search.kept.map((k) => [k.node, k.sensitivity]));
  const why = (node: string) => {
    if (!sensitivity.has(node)) return undefined;
    return `left float32 by int8-auto: quantizing it took an output below cosine ${o.tolerance}${addedError(sensitivity.get(node))}`;
  };
  const started = performance.now();
  const before = tensorBytes(model);
  const final = guardedContext(ctx, why, {});
  const finalOptions = withExcluded(sensitivity.keys());
  const s = o.mode === 'static' ? await runStatic(model, finalOptions, final, runner, samples) : runDynamic(model, finalOptions, final);
  model.invalidate();
  assertValid(model, 'int8-auto');
  const report = buildReport(o.mode === 'static' ? 'int8-static' : 'int8-dynamic', model, s, final, finalOptions, before, started);
  const result: Int8AutoResult = {
    report, excluded: search.kept, fullCosine: cosines(search.fullPerOutput), cosine: cosines(search.perOutput), evaluations: search.evaluations, samples: samples.length,
  };
  final.set('tolerance', o.tolerance);
  final.set('excludedBySearch', search.kept.length);
  final.set('evaluations', search.evaluations);
  for (const [name, c] of Object.entries(result.cosine)) final.set(`cosine ${name}`, Number(c.toFixed(6)));
  return result;
}

export const int8Auto = definePass<Int8AutoOptions>({
  name: 'int8-auto',
  description: 'INT8 with an accuracy guard: nodes whose quantization drops an output below the cosine tolerance stay float32',
  options: INT8_AUTO_OPTION_SPECS,
  check: checkQuantOptions,
  services: [RUNNER, SAMPLES],
  async run(model, options, ctx) {
    const samples = await collectSamples(ctx.service(SAMPLES));
    if (!samples.length) throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, 'int8-auto needs sample inputs to compare against float32, and the samples service gave none');
    await autoQuantize(model, ctx.service(RUNNER), samples, options, ctx);
  },
});
