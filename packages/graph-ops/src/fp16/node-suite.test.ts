import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { convertToFp16 } from './fp16-pass.js';
import { BACKENDS, nodeRunner } from '../testing/harness.js';
import { NODE_TEST_ROOT } from '../testing/onnx-node-suite.js';
import { runNodeSuite, type SuiteResult } from '../testing/node-suite-run.js';

/**
 * The ONNX backend node tests (Debian libonnx-testdata, 932 tests): of the tests whose float32 model
 * onnxruntime-node runs correctly, every converted model must load and match the expected outputs
 * within rtol = atol = 2e-2. For reference, onnxruntime's own Python converter (keep_io_types) gives
 * 63 models out of 859 that onnxruntime cannot load or run (ANCHORS.md).
 */

function print(label: string, r: SuiteResult, failureLabel = 'FAIL'): void {
  const lines = [
    `${label}: ${r.total} node tests, ${r.fp32Ok} run correctly in float32, ${r.changed} changed by the conversion, ${r.passed} pass after it, ${r.failures.length} fail`,
    ...r.illConditioned.map((s) => `  left out (float16 inputs alone break it): ${s}`),
    ...r.failures.map((f) => `  ${failureLabel} ${f.name} [${f.stage}] ${f.detail.slice(0, 200)}`),
  ];
  console.log(lines.join('\n'));
}

describe.skipIf(!existsSync(NODE_TEST_ROOT))('fp16 on the ONNX node test suite', () => {
  it('keepIoTypes, target cpu: every model that runs in float32 loads and matches after conversion', async () => {
    const r = await runNodeSuite(nodeRunner, async (m) => { await convertToFp16(m, { keepIoTypes: true, target: 'cpu' }); });
    print('keepIoTypes, target cpu', r);
    expect(r.fp32Ok).toBeGreaterThan(850);
    expect(r.failures).toEqual([]);
    expect(r.passed).toBe(r.fp32Ok);
  }, 300_000);

  it('float16 inputs and outputs, target cpu: every model that float16 data can reproduce loads and matches', async () => {
    const r = await runNodeSuite(nodeRunner, async (m) => { await convertToFp16(m, { keepIoTypes: false, target: 'cpu' }); }, { float16Inputs: true });
    print('float16 io, target cpu', r);
    // Inputs and outputs turn float16 only where a node onnxruntime runs in float16 on cpu reads or
    // makes them (the others keep float32: a float16 boundary would only round them), about a hundred
    // models; every one of those loads and matches.
    expect(r.changed).toBeGreaterThan(80);
    expect(r.illConditioned.length).toBeLessThan(10);
    expect(r.failures).toEqual([]);
  }, 300_000);

  it('float16 inputs and outputs, target wasm, in onnxruntime-web: every model that float16 data can reproduce loads and matches', async () => {
    const web = BACKENDS.find((b) => b.name === 'web')!.runner;
    const r = await runNodeSuite(web, async (m) => { await convertToFp16(m, { keepIoTypes: false, target: 'wasm' }); }, { float16Inputs: true });
    print('float16 io, target wasm (onnxruntime-web)', r);
    expect(r.fp32Ok).toBeGreaterThan(850);
    // As on cpu: float16 inputs and outputs only where a float16 node reads or makes them.
    expect(r.changed).toBeGreaterThan(80);
    expect(r.failures).toEqual([]);
  }, 300_000);

  it('keepIoTypes, target any: a converted model that runs always computes the right outputs', async () => {
    // target any converts wherever the ONNX schema admits float16, so some models hit onnxruntime's
    // own gaps (no float16 EyeLike, no Cast-1 before opset 6, its MVN/MelWeightMatrix expansions, no
    // float16 Scatter with a reduction); none may run and answer wrongly.
    const r = await runNodeSuite(nodeRunner, async (m) => { await convertToFp16(m, { keepIoTypes: true, target: 'any' }); });
    print('keepIoTypes, target any', r, 'onnxruntime cannot load or run it (a gap of onnxruntime, expected for target any):');
    expect(r.changed).toBeGreaterThan(500);
    expect(r.failures.filter((f) => f.stage === 'compare' || f.stage === 'check' || f.stage === 'convert')).toEqual([]);
    expect(r.failures.length).toBeLessThan(20);
  }, 300_000);
});
