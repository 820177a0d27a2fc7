import { ForgeError, mlp } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { quantizeDynamic } from './int8-dynamic.js';
import { checkQuantOptions } from './quant-options.js';

// `excludeOps` naming every op type of `ops` (`quantize --ops Gemm --exclude-ops Gemm`) selected
// nothing, and the pass answered "nothing to quantize ... no (no op types selected) node" with exit 0,
// while fp16's blockOps/includeOps contradiction exits 2. Issue 8: contradicting lists are usage errors.

const sel = { ops: ['MatMul', 'Gemm'], excludeOps: [] as string[], nodes: [] as string[], excludeNodes: [] as string[] };

describe('checkQuantOptions', () => {
  it('lets excludeOps take some op types out of ops (its purpose)', () => {
    expect(checkQuantOptions({ ...sel, excludeOps: ['Gemm'] })).toBeUndefined();
    expect(checkQuantOptions({ ...sel, excludeOps: ['Conv'] })).toBeUndefined();
  });

  it('refuses excludeOps that leave no op type of ops, naming them', () => {
    expect(checkQuantOptions({ ...sel, excludeOps: ['Gemm', 'MatMul'] })).toBe(
      '"excludeOps" names every op type of "ops" ("MatMul", "Gemm"), so nothing could be quantized; leave one op type out of excludeOps',
    );
  });

  it('still refuses a node in both nodes and excludeNodes', () => {
    expect(checkQuantOptions({ ...sel, nodes: ['a'], excludeNodes: ['a'] })).toMatch(/both name "a"/);
  });

  it('int8-dynamic refuses such options with FORGE_INVALID_OPTIONS before touching the model', async () => {
    const model = mlp({ sizes: [8, 4], op: 'MatMul' });
    const err = await quantizeDynamic(model, { ops: ['MatMul'], excludeOps: ['MatMul'] }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect((err as ForgeError).code).toBe('FORGE_INVALID_OPTIONS');
    expect((err as ForgeError).message).toMatch(/"excludeOps" names every op type of "ops" \("MatMul"\)/);
  });
});
