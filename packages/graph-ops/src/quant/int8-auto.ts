import {
  ForgeError, ForgeErrorCode, mapDecisions, nullThrows, type Model, type ModelRunner, type OptionSpecs, type PassContext, type PassReport, type RunPassOptions, type RunnerFeeds,
} from '@onnx-forge/core';
import { HEADROOM_OPTION, addedError, heldOutWarning, searchNodesToKeep } from '../precision/precision-search.js';
import { collectSamples, defineSampledPass, runWithSamples } from '../precision/samples-service.js';
import { quantizeDynamic, runDynamic } from './int8-dynamic.js';
import { quantizeStatic, runStatic } from './int8-static.js';
import { checkQuantOptions, quantOptionSpecs, staticOptionSpecs, type StaticQuantOptions } from './quant-options.js';
import { int8Scope, nothingToQuantize } from './quant-run.js';
import { upgradeForQuantization } from './quant-session.js';
import { quantReport, type QuantReport } from './quant-report.js';

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
  /** Share of the allowed error the search keeps in reserve for inputs it did not see. */
  headroom: number;
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
  headroom: HEADROOM_OPTION,
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
  /**
   * Smallest cosine per output on the samples the search held out (every third, with three samples or
   * more), the promise the tolerance makes for inputs it did not search on; see precision-search.ts.
   */
  heldOut?: { samples: number; cosine: Record<string, number>; ok: boolean; independent: boolean };
  evaluations: number;
  samples: number;
}

/** The search's outcome, recorded by the pass under `int8Auto` in its report data (int8AutoOutcome reads it). */
export type Int8AutoOutcome = Omit<Int8AutoResult, 'report'>;

/** The int8-auto search's outcome from its pass report (a pipeline's `report.passes[i]`). */
export function int8AutoOutcome(report: PassReport): Int8AutoOutcome {
  return nullThrows(report.data.int8Auto as Int8AutoOutcome | undefined, `the ${report.name} pass recorded no int8-auto outcome`);
}

const cosines = (differences: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(differences).map(([k, d]) => [k, 1 - d]));

/** The int8-auto pass's work: search which nodes to leave float32, then quantize the rest in place. */
async function searchInt8(model: Model, o: Int8AutoOptions, ctx: PassContext, runner: ModelRunner, samples: readonly RunnerFeeds[]): Promise<void> {
  if (!samples.length) throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, 'int8-auto needs sample inputs to compare against float32, and the samples service gave none');
  const { mode: _m, tolerance: _t, headroom: _h, maxEvaluations: _e, ...quantOptions } = o;
  // Dynamic mode takes only the options int8-dynamic knows.
  const base = o.mode === 'static' ? quantOptions : Object.fromEntries(Object.keys(quantOptionSpecs).map((k) => [k, quantOptions[k as keyof typeof quantOptions]]));
  const withExcluded = (excluded: Iterable<string>): StaticQuantOptions => ({ ...(base as StaticQuantOptions), excludeNodes: [...o.excludeNodes, ...excluded] });
  const quantize = (m: Model, excluded: Iterable<string>): Promise<QuantReport> =>
    o.mode === 'static' ? quantizeStatic(m, runner, samples, withExcluded(excluded), { check: false }) : quantizeDynamic(m, withExcluded(excluded), { check: false });
  const search = await searchNodesToKeep(model, ctx, {
    pass: 'int8-auto',
    runner,
    samples,
    // Every graph's nodes: a model's quantized nodes may all sit in subgraphs (Silero VAD's LSTM inside If branches).
    convert: async (m, kept) => [...new Set((await quantize(m, kept)).nodes.filter((d) => d.action === 'quantized').map((d) => d.node))],
    metric: 'cosine',
    tolerance: 1 - o.tolerance,
    headroom: o.headroom,
    maxEvaluations: o.maxEvaluations,
  });
  const sensitivity = new Map(search.kept.map((k) => [k.node, k.sensitivity]));
  const explained = mapDecisions(ctx, ({ node, action, reason }) => (sensitivity.has(node.name)
    ? { action: 'skipped', reason: `left float32 by int8-auto: quantizing it took an output below cosine ${o.tolerance}${addedError(sensitivity.get(node.name))}` }
    : { action, reason }));
  const allKept = (search.candidates ?? 0) > 0 && search.kept.length >= (search.candidates ?? 0);
  const finalOptions = withExcluded(sensitivity.keys());
  // Every candidate kept float32: the model stays as it is (a run would only say it found no weight to
  // quantize, as if the model had none); the warning below says why.
  if (!allKept) {
    if (o.mode === 'static') await runStatic(model, finalOptions, explained, runner, samples);
    else runDynamic(model, finalOptions, explained);
  }
  const v = search.validation;
  const outcome: Int8AutoOutcome = {
    excluded: search.kept, fullCosine: cosines(search.fullPerOutput), cosine: cosines(search.perOutput), evaluations: search.evaluations, samples: samples.length,
    ...(v ? { heldOut: { samples: v.samples, cosine: cosines(v.perOutput), ok: v.ok, independent: v.independent } } : {}),
  };
  heldOutWarning(ctx, 'int8-auto', v, `cosine ${o.tolerance}`, (d) => `cosine ${(1 - d).toFixed(4)}`);
  if (allKept) {
    ctx.warn(`int8-auto: every one of the ${search.candidates} node${search.candidates === 1 ? '' : 's'} INT8 would change had to stay float32 to hold cosine ${o.tolerance} on these samples, so the model is written unquantized; ` +
      'samples that resemble the real inputs may allow more, or INT8 does not suit this model at this tolerance');
  }
  ctx.set('tolerance', o.tolerance);
  ctx.set('excludedBySearch', search.kept.length);
  // Said as a stat too, so a caller knows the model is as given (nothing to check against float32).
  if (allKept) ctx.set('keptAll', search.kept.length);
  ctx.set('evaluations', search.evaluations);
  for (const [name, c] of Object.entries(outcome.cosine)) ctx.set(`cosine ${name}`, Number(c.toFixed(6)));
  ctx.detail('int8Auto', outcome);
}

export const int8Auto = defineSampledPass<Int8AutoOptions>({
  name: 'int8-auto',
  description: 'INT8 with an accuracy guard: nodes whose quantization drops an output below the cosine tolerance stay float32',
  options: INT8_AUTO_OPTION_SPECS,
  check: checkQuantOptions,
  run: async (model, options, ctx, runner, samples) => {
    // Nothing INT8 could change: said before any sample is made or model run (samples may not even be
    // makeable for such a model: a sequence input, an opset onnxruntime no longer loads).
    if (nothingToQuantize(model, ctx, int8Scope(options, 'int8-auto'))) {
      ctx.detail('int8Auto', { excluded: [], fullCosine: {}, cosine: {}, evaluations: 0, samples: 0 } satisfies Int8AutoOutcome);
      return;
    }
    upgradeForQuantization(model, ctx, options.target);
    await searchInt8(model, options, ctx, runner, await collectSamples(samples));
  },
});

/** int8-auto on `model` in place, outside a pipeline (the pass run alone with these services). */
export async function autoQuantize(model: Model, runner: ModelRunner, samples: readonly RunnerFeeds[], options: Partial<Int8AutoOptions> = {}, run: Omit<RunPassOptions, 'services'> = {}): Promise<Int8AutoResult> {
  const r = await runWithSamples(int8Auto(options), model, runner, samples, run);
  return { ...int8AutoOutcome(r), report: quantReport(r, model) };
}
