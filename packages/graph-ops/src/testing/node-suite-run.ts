import { readFileSync } from 'node:fs';
import { DataType, FLOAT16_MAX, Model, checkModel, float16ArrayToFloat32, float32ArrayToFloat16 } from '@onnx-forge/core';
import type { LoadedModel, ModelRunner } from '@onnx-forge/core';
import { mismatch } from './compare.js';
import { feedsFor, listNodeTests, loadNodeTest, protoToRunner, type NodeTestCase } from './onnx-node-suite.js';

export interface SuiteFailure {
  name: string;
  stage: 'convert' | 'check' | 'load' | 'run' | 'compare';
  detail: string;
}

export interface SuiteResult {
  total: number;
  /** Tests whose float32 model loads, runs and matches its expected outputs. */
  fp32Ok: number;
  /** Tests left out because float16 inputs alone cannot reproduce their outputs (float16Inputs only). */
  illConditioned: string[];
  /** Of those, models the conversion changed. */
  changed: number;
  passed: number;
  failures: SuiteFailure[];
}

export interface SuiteOptions {
  /** rtol = atol (default 2e-2). */
  tol?: number;
  /**
   * The converted model takes float16 inputs: the float32 baseline then runs on inputs rounded to
   * float16, and a test whose expected outputs that rounding alone breaks, or whose outputs exceed
   * the float16 range, is ill-conditioned for float16 inputs and not counted.
   */
  float16Inputs?: boolean;
  only?: (name: string) => boolean;
}

async function runCase(loaded: LoadedModel, model: Model, tc: NodeTestCase, tol: number, roundInputs = false): Promise<string | undefined> {
  const inputNames = model.graph.realInputNames();
  const outputNames = model.graph.outputNames();
  for (const ds of tc.dataSets) {
    const feeds = feedsFor(inputNames, ds.inputs);
    if (!feeds) return 'inputs are not plain tensors';
    // A model whose float inputs became float16 gets the test's float32 inputs rounded to float16.
    for (const input of model.graph.inputs) {
      const f = feeds[input.name];
      if (roundInputs && f && f.type === 'float32') {
        feeds[input.name] = { type: 'float32', dims: f.dims, data: float16ArrayToFloat32(float32ArrayToFloat16(f.data as Float32Array)) };
        continue;
      }
      if (f && f.type === 'float32' && input.type?.tensorType?.elemType === DataType.FLOAT16) {
        feeds[input.name] = { type: 'float16', dims: f.dims, data: float32ArrayToFloat16(f.data as Float32Array) };
      }
    }
    const result = await loaded.run(feeds);
    for (let i = 0; i < outputNames.length; i++) {
      const exp = ds.outputs[i] ? protoToRunner(ds.outputs[i] as never) : undefined;
      const got = result[outputNames[i] as string];
      if (!exp || !got) return `output ${outputNames[i]} missing`;
      const m = mismatch(got, exp, tol, tol);
      if (m) return `${outputNames[i]}: ${m}`;
      if (roundInputs && exp.type === 'float32' && Array.from(exp.data as Float32Array).some((v) => Number.isFinite(v) && Math.abs(v) > FLOAT16_MAX)) {
        return `${outputNames[i]}: expected values beyond the float16 range`;
      }
    }
  }
  return undefined;
}

/**
 * Runs every ONNX node test: the float32 model first (tests it does not pass are not counted), then
 * the model after `convert`, which must pass the checker, load, and match the expected outputs.
 */
export async function runNodeSuite(runner: ModelRunner, convert: (model: Model) => void | Promise<void>, options: SuiteOptions = {}): Promise<SuiteResult> {
  const { tol = 2e-2, float16Inputs = false, only } = options;
  const res: SuiteResult = { total: 0, fp32Ok: 0, illConditioned: [], changed: 0, passed: 0, failures: [] };
  for (const name of listNodeTests()) {
    if (only && !only(name)) continue;
    res.total++;
    const tc = loadNodeTest(name);
    const bytes = readFileSync(tc.modelPath);
    const model = Model.decode(bytes);
    let base: LoadedModel;
    try {
      base = await runner.load(bytes);
    } catch {
      continue;
    }
    let baseProblem: string | undefined;
    try {
      baseProblem = await runCase(base, model, tc, tol);
    } catch (e) {
      baseProblem = String(e);
    }
    if (!baseProblem && float16Inputs) {
      try {
        const rounded = await runCase(base, model, tc, tol, true);
        if (rounded) res.illConditioned.push(`${name}: ${rounded}`);
        baseProblem = rounded;
      } catch (e) {
        baseProblem = String(e);
      }
    }
    await base.release();
    if (baseProblem) continue;
    res.fp32Ok++;
    const converted = Model.decode(bytes);
    try {
      await convert(converted);
    } catch (e) {
      res.failures.push({ name, stage: 'convert', detail: String((e as Error).message ?? e) });
      continue;
    }
    const check = checkModel(converted);
    if (!check.ok) {
      res.failures.push({ name, stage: 'check', detail: check.problems.filter((p) => p.severity === 'error').slice(0, 2).map((p) => p.message).join('; ') });
      continue;
    }
    const out = converted.encode();
    if (out.length !== bytes.length || out.some((b, i) => b !== bytes[i])) res.changed++;
    let loaded: LoadedModel;
    try {
      loaded = await runner.load(out);
    } catch (e) {
      res.failures.push({ name, stage: 'load', detail: String((e as Error).message ?? e).slice(0, 300) });
      continue;
    }
    try {
      const problem = await runCase(loaded, converted, tc, tol);
      if (problem) res.failures.push({ name, stage: 'compare', detail: problem });
      else res.passed++;
    } catch (e) {
      res.failures.push({ name, stage: 'run', detail: String((e as Error).message ?? e).slice(0, 300) });
    }
    await loaded.release();
  }
  return res;
}
