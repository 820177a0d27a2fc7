import type { RepositoryManifest } from '../repository/manifest.js';

/** A manifest as optimize writes one (an ok FP32 and INT8, a failed FP16, a skipped INT8-static), for tests. */
export function sampleManifest(): RepositoryManifest {
  return {
    format: 'onnx-forge-model-repository', formatVersion: 1, model: 'encoder', version: 3, createdAt: '2026-12-06T12:00:00.000Z',
    source: { file: '/models/encoder.onnx', bytes: 1000, sha256: 'ab' },
    inputs: [{ name: 'input_ids', type: 'int64', shape: ['batch', 'sequence'] }], outputs: [{ name: 'y', type: 'float32', shape: ['batch', 768] }],
    target: 'cpu', backend: 'node', provider: 'cpu', prefer: 'auto', tolerance: { metric: 'cosine', min: 0.99 },
    chosen: 'int8-dynamic', reason: 'fastest',
    machine: { cpu: 'AMD EPYC', isa: 'avx512-vnni', cores: 2, platform: 'linux', arch: 'x64', node: 'v20.20.2', onnxruntime: '1.30.0' },
    variants: [
      {
        name: 'fp32', precision: 'fp32', status: 'ok', file: 'fp32.onnx', bytes: 1000, sha256: 'ab',
        latencyMs: { runs: 30, p50: 10, p50Ci95: [9, 11], p90: 12, p95: 13, p99: 14, p999: 14, mean: 10.5, meanMarginOfError95: 0.4, runsPerSecond: 95 },
        accuracy: { metric: 'cosine', minCosine: 1, maxAbs: 0, maxRel: 0, top1: null, samples: 8, outputs: [{ name: 'y', cosine: 1, maxAbs: 0, maxRel: 0 }] },
      },
      {
        name: 'int8-dynamic', precision: 'int8', status: 'ok', file: 'int8-dynamic.onnx', bytes: 260,
        latencyMs: { runs: 30, p50: 5, p50Ci95: [4.5, 5.5], p90: 6, p95: 6, p99: 7, p999: 7, mean: 5.2, meanMarginOfError95: 0.2, runsPerSecond: 190 },
        accuracy: { metric: 'cosine', minCosine: 0.998, maxAbs: 0.04, maxRel: 0.01, top1: null, samples: 8, outputs: [{ name: 'y', cosine: 0.998, maxAbs: 0.04, maxRel: 0.01 }] },
      },
      { name: 'fp16', precision: 'fp16', status: 'failed', error: { stage: 'check', code: 'FORGE_INVALID_GRAPH', message: 'broken' } },
      { name: 'int8-static', precision: 'int8', status: 'skipped', reason: 'no calibration data' },
    ],
  };
}
