import { describe, expect, it } from 'vitest';
import { getOpSchema, opSchemaVersions } from './get-op-schema.js';
import { probeSchema } from './testing/ort-schema-probe.js';

// The operators whose float type variables the fp16 and int8 passes rely on, checked at each version
// against the schemas onnxruntime registered: arity, attributes, the element types each input
// accepts, which inputs share a type variable, and the output types onnxruntime infers. The whole
// table is checked the same way by scripts/verify-op-schemas.mts (about ten minutes).
const CRITICAL: [domain: string, ops: string[], maxOpset: number][] = [
  ['', [
    'Resize', 'Upsample', 'Clip', 'Pow', 'LayerNormalization', 'GroupNormalization', 'BatchNormalization', 'InstanceNormalization',
    'QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'Cast', 'CastLike', 'Split', 'Squeeze', 'Unsqueeze', 'ReduceMean',
    'ReduceSum', 'Range', 'CumSum', 'TopK', 'Where', 'Gemm', 'MatMul', 'Conv',
  ], 21],
  ['com.microsoft', [
    'SkipLayerNormalization', 'SkipSimplifiedLayerNormalization', 'MatMulNBits', 'MatMulIntegerToFloat', 'DynamicQuantizeMatMul',
    'QuantizeLinear', 'DequantizeLinear', 'FastGelu', 'BiasGelu', 'GroupQueryAttention', 'MultiHeadAttention', 'Attention', 'RotaryEmbedding',
  ], 1],
];

describe('schema table agrees with onnxruntime', () => {
  for (const [domain, ops, maxOpset] of CRITICAL) {
    it.each(ops.filter((op) => opSchemaVersions(op, domain).length))(`${domain || 'ai.onnx'}.%s at each version`, async (op) => {
      const problems: string[] = [];
      const inconclusive: string[] = [];
      // The probes whose answer can be inconclusive: input arity (when an input is required) and output
      // arity (when bounded), once per version. All other probes conclude (or report a problem).
      let arityProbes = 0;
      // Each version where the table changes, and the newest opset; the script also covers the opsets between.
      const opsets = new Set([...opSchemaVersions(op, domain).map((s) => s.sinceVersion).filter((v) => v <= maxOpset), maxOpset]);
      for (const opset of opsets) {
        const s = getOpSchema(op, domain, opset);
        if (!s) continue;
        arityProbes += (s.minInputs > 0 ? 1 : 0) + (s.maxOutputs !== Infinity ? 1 : 0);
        const r = await probeSchema(s, opset);
        for (const f of r.findings) (f.inconclusive ? inconclusive : problems).push(`@${f.opset}: ${f.issue}`);
      }
      expect(problems).toEqual([]);
      // An inconclusive answer checks nothing: if onnxruntime words its arity errors differently, the
      // probes above would pass on silence. Today every one concludes; at least half must.
      expect(arityProbes).toBeGreaterThan(0);
      const conclusive = arityProbes - inconclusive.length;
      expect(conclusive, `${conclusive} of ${arityProbes} arity probes conclusive; inconclusive: ${inconclusive.join('; ')}`).toBeGreaterThanOrEqual(Math.ceil(arityProbes / 2));
    });
  }
});
