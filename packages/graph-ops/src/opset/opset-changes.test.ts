import { knownOps, opSchemaVersions } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { MAX_TABLE_OPSET, OPSET_CHANGES } from './opset-changes.js';

/**
 * The change table must account for every version of every ai.onnx operator from opset 2 to 21 in the
 * project's schema table (core's ops/ai-onnx.ts, verified against onnxruntime's registered schemas),
 * and for every removal; every row must be such a version, and rows that rewrite must have an adapter.
 */
describe('OPSET_CHANGES', () => {
  const key = (op: string, v: number) => `${op}-${v}`;
  const rows = new Map(OPSET_CHANGES.map((r) => [key(r.op, r.since), r]));
  const schemaVersions = new Set<string>();
  const removals = new Set<string>();
  for (const op of knownOps('')) {
    const versions = opSchemaVersions(op, '').filter((s) => s.sinceVersion <= MAX_TABLE_OPSET);
    versions.slice(1).forEach((s) => schemaVersions.add(key(op, s.sinceVersion)));
    const last = versions[versions.length - 1];
    if (last?.deprecatedSince !== undefined && last.deprecatedSince <= MAX_TABLE_OPSET) removals.add(key(op, last.deprecatedSince));
  }

  it('has a row for every operator version after the first, opsets 2 to 21', () => {
    expect([...schemaVersions].filter((k) => !rows.has(k))).toEqual([]);
    expect(schemaVersions.size).toBeGreaterThan(300);
  });

  it('has a removed row, with an adapter, for every operator removed by opset 21', () => {
    expect([...removals].sort()).toEqual(
      ['Affine-10', 'Crop-10', 'DynamicSlice-10', 'GivenTensorFill-10', 'ImageScaler-10', 'ParametricSoftplus-10', 'Scale-10', 'ScaledTanh-10', 'Scatter-11', 'Upsample-10'].sort(),
    );
    for (const k of removals) {
      expect(rows.get(k)?.kind, k).toBe('removed');
      expect(rows.get(k)?.adapt, k).toBeDefined();
    }
  });

  it('lists only versions the schema table knows, once each, one kind each', () => {
    expect(OPSET_CHANGES.filter((r) => !schemaVersions.has(key(r.op, r.since)) && !removals.has(key(r.op, r.since))).map((r) => key(r.op, r.since))).toEqual([]);
    expect(rows.size).toBe(OPSET_CHANGES.length);
    for (const r of OPSET_CHANGES) {
      expect(r.since).toBeGreaterThanOrEqual(2);
      expect(r.since).toBeLessThanOrEqual(MAX_TABLE_OPSET);
      if (r.kind === 'rewrite') expect(r.adapt, key(r.op, r.since)).toBeDefined();
      if (r.kind === 'types' || r.kind === 'compatible') expect(r.adapt, key(r.op, r.since)).toBeUndefined();
    }
  });

  it('covers the signature changes the ONNX changelog names', () => {
    const rewrites = OPSET_CHANGES.filter((r) => r.kind !== 'types' && r.kind !== 'compatible').map((r) => key(r.op, r.since));
    expect(rewrites).toEqual(expect.arrayContaining([
      'Slice-10', 'TopK-10', 'Clip-11', 'Pad-11', 'Dropout-12', 'Split-13', 'Split-18', 'Squeeze-13', 'Unsqueeze-13', 'ReduceSum-13',
      'ReduceMean-18', 'ReduceMax-18', 'DFT-20', 'Upsample-9', 'Upsample-10', 'Add-7', 'Gemm-7', 'BatchNormalization-7', 'BatchNormalization-9',
      'BatchNormalization-14', 'Dropout-7', 'Softmax-13', 'LogSoftmax-13', 'Hardmax-13', 'Resize-11', 'RoiAlign-16', 'GridSample-20',
      'GroupNormalization-21', 'Scatter-11', 'Scan-9', 'Cast-6', 'Reshape-5', 'Concat-4',
    ]));
  });
});
