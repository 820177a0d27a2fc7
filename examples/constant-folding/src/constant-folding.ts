import { ForgeError, ForgeErrorCode, RUNNER, SAMPLES, definePass, type LoadedModel } from '@onnx-forge/core';
import { compareOutputs } from './compare-outputs.js';
import { EVALUATORS } from './evaluators/index.js';
import { foldGraph } from './fold-graph.js';

/**
 * DequantizeLinear of a constant weight is left alone unless asked for: onnxruntime keeps it on
 * purpose, to fuse it with the op reading the weight into an integer kernel (QDQ), and folding it
 * stores float32 weights, four times the int8 bytes.
 */
const KEPT_BY_DEFAULT: ReadonlyMap<string, string> = new Map([
  [
    'DequantizeLinear',
    'a constant DequantizeLinear is left for onnxruntime, which fuses it with the op reading the weight into an integer kernel; folding stores float32 weights, 4x the bytes (add DequantizeLinear to ops to fold it anyway)',
  ],
]);

export const DEFAULT_OPS: readonly string[] = [...EVALUATORS.keys()].filter((op) => !KEPT_BY_DEFAULT.has(op));

/**
 * The statistics every run reports, 0 where nothing happened: nodes folded, nodes with constant inputs
 * kept (each with its reason among the decisions), samples the folded model was checked on (0 when
 * nothing folded: there is nothing to check), and the largest change of an output on them.
 */
export const STAT_KEYS = ['nodesFolded', 'constantNodesKept', 'samplesCompared', 'largestRelativeChange'] as const;

/**
 * constant-folding: replaces every node whose inputs are all constants (initializers, Constant nodes)
 * with its result, for the ops it evaluates: Cast between float32 and float16, QuantizeLinear and
 * DequantizeLinear (core's WebAssembly kernels), and Identity, Reshape, Flatten, Squeeze, Unsqueeze,
 * Transpose (the same bytes moved). Chains fold whole; initializers only they read are dropped.
 *
 * It declares the services it uses: RUNNER and SAMPLES. After folding it runs the original and the
 * folded model on the samples and refuses (FORGE_PASS_FAILED) when an output moved by more than
 * `tolerance`, so an evaluator that disagrees with the runtime never ships a wrong model.
 */
export const constantFoldingPass = definePass({
  name: 'constant-folding',
  description: 'Folds nodes whose inputs are all constants into initializers, and checks the outputs on the samples',
  options: {
    ops: {
      type: 'string[]',
      default: DEFAULT_OPS,
      description: `op types to fold; known: ${[...EVALUATORS.keys()].join(', ')} (DequantizeLinear only when listed)`,
      validate: (ops) => {
        const unknown = ops.filter((op) => !EVALUATORS.has(op));
        return unknown.length ? `the pass does not evaluate ${unknown.join(', ')}; it evaluates ${[...EVALUATORS.keys()].join(', ')}` : undefined;
      },
    },
    tolerance: {
      type: 'number',
      default: 0,
      description: 'largest change of an output allowed on the samples, relative to its largest magnitude (0: bit for bit)',
      validate: (t) => (t >= 0 ? undefined : 'must be 0 or more'),
    },
  },
  services: [RUNNER, SAMPLES],
  async run(model, options, ctx) {
    const before = model.encode();
    const evaluators = new Map([...EVALUATORS].filter(([op]) => options.ops.includes(op)));
    const excluded = (op: string): string | undefined =>
      EVALUATORS.has(op) && !options.ops.includes(op) ? (KEPT_BY_DEFAULT.get(op) ?? `${op} is not among the ops to fold (option ops)`) : undefined;
    let folded = 0;
    let kept = 0;
    for (const graph of [...model.graphs()]) {
      // Functions hold no initializers: their constants are Constant nodes inside each call.
      if (graph.isFunction) continue;
      for (const d of foldGraph(graph, { evaluators, excluded })) {
        ctx.decide(graph.path, d.node, d.action, d.reason);
        if (d.action === 'folded') folded++;
        else kept++;
      }
    }
    // Every statistic is reported on every run, 0 where nothing happened (STAT_KEYS, in this order).
    ctx.set('nodesFolded', folded);
    ctx.set('constantNodesKept', kept);
    ctx.set('samplesCompared', 0);
    ctx.set('largestRelativeChange', 0);
    if (folded === 0) return;

    const runner = ctx.service(RUNNER);
    const original: LoadedModel = await runner.load(before);
    let rewritten: LoadedModel | undefined;
    try {
      rewritten = await runner.load(model.encode());
      let samples = 0;
      let worst = 0;
      for await (const feeds of ctx.service(SAMPLES)) {
        const [want, got] = await Promise.all([original.run(feeds), rewritten.run(feeds)]);
        for (const d of compareOutputs(want, got)) {
          if (d.mismatch !== undefined || d.relative > options.tolerance) {
            throw new ForgeError(
              ForgeErrorCode.PASS_FAILED,
              `constant-folding: output "${d.output}" of the folded model ${d.mismatch ?? `moved by ${d.relative.toExponential(2)} of its magnitude`} on sample ${samples}, over the tolerance ${options.tolerance}; fold fewer ops (option ops) or allow more (option tolerance)`,
              { details: { pass: 'constant-folding', output: d.output, sample: samples, relative: d.relative, tolerance: options.tolerance } },
            );
          }
          worst = Math.max(worst, d.relative);
        }
        samples++;
      }
      ctx.set('samplesCompared', samples);
      ctx.set('largestRelativeChange', worst);
    } finally {
      await original.release();
      await rewritten?.release();
    }
  },
});
