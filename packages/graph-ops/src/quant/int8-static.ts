import {
  DataType, attrInt, nodeLabel, type Graph, type Model, type ModelRunner, type NodeProto, type PassContext, type RunPassOptions, type SampleSource, withTensorFloat32,
} from '@onnx-forge/core';
import { defineSampledPass, runWithSamples } from '../precision/samples-service.js';
import { collectRanges } from './calibration/collect-ranges.js';
import type { CalibratedRange } from './calibration/range-collector.js';
import { admitNode, finishInt8Run, int8Scope, nothingToQuantize } from './quant-run.js';
import { feedsLog } from './log-sensitivity.js';
import { zeroPointArray } from './quant-graph.js';
import { checkQuantOptions, staticOptionSpecs, type StaticQuantOptions } from './quant-options.js';

import { computeQuantParams, quantType, type QuantParams } from './quant-params.js';
import { quantReport, type QuantReport } from './quant-report.js';
import { QuantSession, type ActivationQ } from './quant-session.js';
import { modelInputSpecs } from './samples/validate-feeds.js';
import { planStatic, type StaticPlan } from './static-plan.js';
import { staticConvWeights } from './target-forms.js';
import { quantizeGather, quantizeRecurrent, weightOnly } from './weight-forms.js';
import { quantizeBias } from './weight-quantizer.js';

/**
 * `int8-static`: QDQ quantization calibrated on sample inputs. Activations entering (and leaving)
 * MatMul, Gemm and Conv get QuantizeLinear/DequantizeLinear pairs with ranges measured by running the
 * samples through the model; weights are 8-bit (per channel when asked), biases int32 with scale =
 * input scale x weight scale and no zero point. Needs the `runner` and `samples` services.
 */
export const int8Static = defineSampledPass<StaticQuantOptions>({
  name: 'int8-static',
  description: 'INT8 static quantization (QDQ) calibrated by MinMax, Percentile or Entropy on sample inputs',
  options: staticOptionSpecs,
  check: checkQuantOptions,
  run: runStatic,
});

/** Runs static quantization in place. */
export async function runStatic(model: Model, options: StaticQuantOptions, ctx: PassContext, runner: ModelRunner, samples: SampleSource): Promise<QuantSession | undefined> {
  if (nothingToQuantize(model, ctx, int8Scope(options, 'int8-static'))) return undefined;
  const s = new QuantSession(model, options, ctx);
  const plans: StaticPlan[] = [];
  const graphs = [...model.graphs()];
  const later: (() => void)[] = [];
  for (const graph of graphs) {
    for (const node of [...graph.nodes]) {
      if (!admitNode(s, graph, node, options)) continue;
      if (node.opType === 'Gather') {
        later.push(() => quantizeGather(s, graph, node));
      } else if (node.opType === 'LSTM' || node.opType === 'GRU') {
        later.push(() => quantizeRecurrent(s, graph, node));
      } else if (s.forms.floatActivations) {
        const why = `activations stay float for target ${options.target}: ${s.forms.floatActivations}`;
        later.push(() => weightOnlyNode(s, graph, node, why));
      } else if (graph.kind !== 'main') {
        later.push(() => weightOnlyNode(s, graph, node, `activations stay float: they are inside a subgraph (${graph.path}), which calibration cannot observe`));
      } else if (feedsLog(graph, node)) {
        const log = feedsLog(graph, node);
        later.push(() => weightOnlyNode(s, graph, node, `activations stay float: the output reaches ${log}, which magnifies 8-bit activation error on small values`));
      } else {
        const plan = planStatic(s, graph, node, options.keepRelu);
        if (plan) plans.push(plan);
      }
    }
  }

  // An output gets its QDQ pair only when a quantized node reads it: then it is quantized anyway, and
  // one pair serves producer and reader (DQ -> op -> Q chains fuse into integer kernels). An output
  // only float nodes read keeps full precision: a logit range calibrated on one class would clip the
  // other (openWakeWord's hey_mycroft flips decisions that way).
  const readByQuantized = new Set(plans.flatMap((p) => p.activations.map(([, t]) => t)));
  for (const p of plans) if (p.output && !readByQuantized.has(p.output.tensor)) delete p.output;

  // Calibrate every activation the plans quantize, on the model as it is before any rewrite.
  const wanted = new Set<string>();
  for (const p of plans) {
    for (const [, t] of p.activations) wanted.add(t);
    if (p.output) wanted.add(p.output.tensor);
  }
  let ranges = new Map<string, CalibratedRange>();
  let failed = new Map<string, string>();
  if (wanted.size) {
    const result = await collectRanges(model, [...wanted], runner, samples, {
      calibration: options.calibration,
      movingAverage: options.movingAverage,
      averagingConstant: options.averagingConstant,
      percentile: options.percentile,
      memoryBytes: options.calibrationMemoryMB * 1024 * 1024,
      inputs: modelInputSpecs(model),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onBatch: (n) => ctx.progress(n, Array.isArray(samples) ? samples.length : 0, 'calibration'),
    });
    ranges = result.ranges;
    failed = result.failed;
    ctx.set('calibrationBatches', result.batches);
    ctx.set('calibrationRuns', result.runs);
    ctx.set('calibratedTensors', ranges.size);
    ctx.set('calibrationPeakFetchBytes', result.peakFetchBytes);
    for (const [t, why] of failed) ctx.warn(`activation "${t}" stays float: ${why}`);
  }
  ctx.set('calibration', options.calibration);

  if (s.forms.floatActivations) {
    ctx.warn(`int8-static{target=${options.target}}: activations stay float and every weight takes the weight-only form (${s.forms.floatActivations}); nothing was calibrated, and int8-dynamic{target=${options.target}} makes the same model`);
  }
  applyPlans(s, plans, ranges, failed, options);
  for (const f of later) f();
  finishInt8Run(s, model, 'int8-static');
  return s;
}

/**
 * Int8 weights dequantized for the float op, activations float: for nodes inside If/Loop/Scan bodies
 * (their activations cannot be fetched as model outputs to calibrate) and nodes feeding a Log.
 */
function weightOnlyNode(s: QuantSession, graph: Graph, node: NodeProto, why: string): void {
  const index = 1;
  const ref = s.constantWeight(graph, node, index);
  if (!ref.ok) return s.rec.skipped(graph, node, ref.reason);
  const dims = ref.dims;
  s.rec.weight(s.coverageKey(ref.ref), ref.dims.reduce((a, d) => a * d, 1));
  const axis = !s.options.perChannel ? undefined : node.opType === 'Conv' ? 0 : node.opType === 'Gemm' ? (attrInt(node, 'transB', 0) ? 0 : 1) : dims.length - 1;
  const r = weightOnly(s, graph, node, index, ref.ref, dims.length >= 2 ? axis : undefined);
  if (!r.ok) return s.rec.skipped(graph, node, r.reason);
  s.rec.weightQuantized(s.coverageKey(ref.ref));
  s.rec.quantized(graph, node, `${r.how}; ${why}`);
}

/** The QuantizeLinear/DequantizeLinear pair of one activation. */
interface QdqPair extends ActivationQ {
  dq: string;
  params: QuantParams;
}

function applyPlans(s: QuantSession, plans: StaticPlan[], ranges: Map<string, CalibratedRange>, failed: Map<string, string>, o: StaticQuantOptions): void {
  const actType = quantType(o.activationType, false);
  const e = s.editor;
  // Tensors whose every reader switches to the dequantized value (outputs of quantized nodes).
  const allReaders = new Set(plans.flatMap((p) => (p.output ? [p.output.tensor] : [])));
  const pairs = new Map<string, QdqPair>();

  const pairFor = (graph: Graph, tensor: string, folded?: NodeProto): QdqPair | undefined => {
    const hit = pairs.get(tensor);
    if (hit) return hit;
    const r = ranges.get(tensor);
    if (!r) return undefined;
    const params = computeQuantParams(r.min, r.max, actType);
    const scale = e.scalarF32(graph, `${tensor}_scale`, params.scale);
    const zeroPoint = e.tensor(graph, `${tensor}_zero_point`, actType.dataType, [], zeroPointArray(actType.dataType, [params.zeroPoint]));
    // With a folded Relu/Clip, the pair reads the node output and produces the Relu's output name.
    const source = folded ? (folded.input[0] as string) : tensor;
    const q = e.name(`${tensor}_quantized`);
    const dq = folded ? tensor : e.name(`${tensor}_dequantized`);
    const qNode = e.node('QuantizeLinear', [source, scale, zeroPoint], [q], {}, `${tensor}_QuantizeLinear`);
    const dqNode = e.node('DequantizeLinear', [q, scale, zeroPoint], [dq], {}, `${tensor}_DequantizeLinear`);
    if (folded) {
      graph.replaceNode(folded, [qNode, dqNode]);
    } else {
      const producer = graph.producer(source);
      if (producer) graph.addNode(qNode, { after: producer });
      else graph.addNode(qNode, graph.nodes.length ? { before: graph.nodes[0] as NodeProto } : {});
      graph.addNode(dqNode, { after: qNode });
      if (allReaders.has(tensor)) graph.replaceAllUses(tensor, dq, { except: new Set([qNode]), graphOutputs: false });
    }
    const pair = { q, scale, zeroPoint, dq, params };
    pairs.set(tensor, pair);
    return pair;
  };

  for (const p of plans) {
    const { graph, node } = p;
    const notes = [...p.notes];
    const missing = p.activations.filter(([, t]) => !ranges.has(t));
    if (missing.length) {
      const why = missing.map(([, t]) => `"${t}": ${failed.get(t) ?? 'no range'}`).join('; ');
      if (p.weight) {
        const r = weightOnly(s, graph, node, p.weight.index, p.weight.ref, p.weight.axis);
        if (r.ok) {
          s.rec.weightQuantized(s.coverageKey(p.weight.ref));
          s.rec.quantized(graph, node, `${r.how}; activation stays float (${why})`);
          continue;
        }
      }
      s.rec.skipped(graph, node, `activation has no calibrated range (${why})`);
      continue;
    }
    let inputScale = 1;
    for (const [i, t] of p.activations) {
      const pair = pairFor(graph, t);
      if (!pair) continue;
      if (i === 0) inputScale = pair.params.scale;
      if (node.input[i] === t) graph.setInput(node, i, pair.dq);
    }
    let how = `QDQ: ${o.activationType} activations (${o.calibration}${o.calibration === 'minmax' && o.movingAverage ? ', moving average' : ''})`;
    if (p.weight) {
      // onnxruntime's CPU provider fuses DQ -> op -> Q into integer kernels (QLinearConv, QLinearMatMul);
      // Conv weights take the type staticConvWeights gives (see target-forms.ts).
      const conv = node.opType === 'Conv' ? staticConvWeights(s.forms, s.options) : undefined;
      if (conv?.why) notes.push(conv.why);
      const type = s.weightType('integer', conv?.type ?? s.options.weightType);
      const r = s.storeWeight(p.weight.ref, p.weight.axis === undefined ? { type } : { type, axis: p.weight.axis });
      if (!r.ok) {
        s.rec.skipped(graph, node, r.reason);
        continue;
      }
      graph.setInput(node, p.weight.index, s.dequantizedWeight(graph, r.w, node));
      s.touched.push(p.weight.ref);
      s.rec.weightQuantized(s.coverageKey(p.weight.ref));
      how += `, ${type.name} weights ${r.w.axis === undefined ? 'per-tensor' : `per-channel (axis ${r.w.axis})`}`;
      if (p.bias) {
        const b = quantizeBias(withTensorFloat32(p.bias.ref.tensor, (v) => v.slice()), inputScale, r.w.weight.scale);
        if (b.ok) {
          const owner = p.bias.ref.owner;
          const base = p.bias.ref.name;
          const bq = e.tensor(owner, `${base}_quantized`, DataType.INT32, [b.data.length], b.data);
          const bs = e.tensor(owner, `${base}_scale`, DataType.FLOAT, b.scale.length > 1 ? [b.scale.length] : [], b.scale);
          const out = e.name(`${base}_dequantized`);
          // int32 DequantizeLinear carries no zero point: the ONNX spec gives int32 none, and WebGPU rejects one.
          graph.addNode(e.node('DequantizeLinear', [bq, bs], [out], b.scale.length > 1 ? { axis: 0 } : {}, `${nodeLabel(node)}_bias_DequantizeLinear`), { before: node });
          graph.setInput(node, p.bias.index, out);
          s.touched.push(p.bias.ref);
          how += ', int32 bias (scale = input scale x weight scale, no zero point)';
        } else {
          notes.push(`bias stays float: ${b.reason}`);
        }
      }
    } else {
      how += ', both inputs activations';
    }
    if (p.output) {
      const pair = pairFor(graph, p.output.tensor, p.output.folded);
      if (!pair) notes.push(`output stays float: ${failed.get(p.output.tensor) ?? 'no range'}`);
      else if (p.output.folded) how += `, ${p.output.folded.opType} folded into the output quantization`;
      else how += ', output quantized';
    }
    s.rec.quantized(graph, node, how + (notes.length ? `; ${notes.join('; ')}` : ''));
  }
}

/**
 * Static INT8 (QDQ) quantization of `model` in place, outside a pipeline: the int8-static pass run
 * alone, calibrating on `samples` through `runner` (e.g. `new OrtRunner()`). The report lists every
 * node's decision.
 */
export async function quantizeStatic(model: Model, runner: ModelRunner, samples: SampleSource, options: Partial<StaticQuantOptions> = {}, run: Omit<RunPassOptions, 'services'> = {}): Promise<QuantReport> {
  return quantReport(await runWithSamples(int8Static(options), model, runner, samples, run), model);
}
