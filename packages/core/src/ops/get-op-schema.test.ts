import { describe, expect, it } from 'vitest';
import { DataType as D } from '../dtype.js';
import { AttributeType } from '../ir/attributes.js';
import { getOpSchema, knownDomains, knownOps, opSchemaVersions } from './get-op-schema.js';
import type { OpSchema } from './op-schema.js';

/** Allowed element types of input `i` (by position). */
function inputTypes(s: OpSchema | undefined, i: number): readonly number[] {
  const p = s?.inputs[i];
  return p ? (s?.typeConstraints[p.typeVar] ?? []) : [];
}
/** Whether input `i` shares its type variable with output `o` (the fp16 pass converts them together). */
function sharesWithOutput(s: OpSchema | undefined, i: number, o = 0): boolean {
  return !!s && s.inputs[i]?.typeVar === s.outputs[o]?.typeVar;
}

describe('getOpSchema', () => {
  it('picks the newest version not newer than the import, and nothing before the first', () => {
    expect(getOpSchema('Add', '', 12)?.sinceVersion).toBe(7);
    expect(getOpSchema('Add', '', 13)?.sinceVersion).toBe(13);
    expect(getOpSchema('Add', 'ai.onnx', 21)?.sinceVersion).toBe(14);
    expect(getOpSchema('LayerNormalization', '', 17)?.sinceVersion).toBe(17);
    expect(getOpSchema('Gelu', '', 19)).toBeUndefined();
    expect(getOpSchema('NoSuchOp', '', 17)).toBeUndefined();
    expect(getOpSchema('Add', 'org.example', 1)).toBeUndefined();
  });

  it('returns nothing from the opset that removed an operator', () => {
    expect(getOpSchema('Upsample', '', 9)?.sinceVersion).toBe(9);
    expect(getOpSchema('Upsample', '', 10)).toBeUndefined();
    expect(getOpSchema('Scatter', '', 10)?.sinceVersion).toBe(9);
    expect(getOpSchema('Scatter', '', 11)).toBeUndefined();
    expect(getOpSchema('TreeEnsembleRegressor', 'ai.onnx.ml', 3)?.sinceVersion).toBe(3);
    expect(getOpSchema('TreeEnsembleRegressor', 'ai.onnx.ml', 5)).toBeUndefined();
  });

  // Each case: what the fp16 and int8 passes rely on.
  const cases: { name: string; check: () => void }[] = [
    {
      name: 'Resize scales stay float32 while X and roi may be float16',
      check: () => {
        for (const v of [11, 13, 18, 19]) {
          const s = getOpSchema('Resize', '', v);
          expect(s?.inputs.map((p) => p.name)).toEqual(['X', 'roi', 'scales', 'sizes']);
          expect(inputTypes(s, 2)).toEqual([D.FLOAT]);
          expect(inputTypes(s, 3)).toEqual([D.INT64]);
          expect(sharesWithOutput(s, 0)).toBe(true);
          expect(sharesWithOutput(s, 1)).toBe(false);
          expect(inputTypes(s, 1)).toContain(D.FLOAT16);
        }
        expect(getOpSchema('Resize', '', 11)?.minInputs).toBe(3);
        expect(getOpSchema('Resize', '', 13)?.minInputs).toBe(1);
      },
    },
    {
      name: 'Clip takes min/max as inputs of the same type from opset 11',
      check: () => {
        expect(getOpSchema('Clip', '', 6)?.attributes.min?.type).toBe(AttributeType.FLOAT);
        const s = getOpSchema('Clip', '', 11);
        expect(s?.inputs.map((p) => [p.name, p.option])).toEqual([['input', 'single'], ['min', 'optional'], ['max', 'optional']]);
        expect(sharesWithOutput(s, 1) && sharesWithOutput(s, 2)).toBe(true);
        expect(s?.attributes.min).toBeUndefined();
      },
    },
    {
      name: 'Split, Squeeze, Unsqueeze and ReduceSum move axes to int64 inputs at 13, the other reductions at 18',
      check: () => {
        expect(getOpSchema('Split', '', 11)?.attributes.split?.type).toBe(AttributeType.INTS);
        expect(inputTypes(getOpSchema('Split', '', 13), 1)).toEqual([D.INT64]);
        expect(getOpSchema('Split', '', 18)?.attributes.num_outputs).toBeDefined();
        expect(getOpSchema('Squeeze', '', 11)?.attributes.axes).toBeDefined();
        expect(inputTypes(getOpSchema('Squeeze', '', 13), 1)).toEqual([D.INT64]);
        expect(getOpSchema('Unsqueeze', '', 11)?.attributes.axes?.required).toBe(true);
        expect(getOpSchema('Unsqueeze', '', 13)?.minInputs).toBe(2);
        expect(getOpSchema('ReduceSum', '', 13)?.inputs[1]?.name).toBe('axes');
        expect(getOpSchema('ReduceMean', '', 13)?.attributes.axes).toBeDefined();
        expect(getOpSchema('ReduceMean', '', 18)?.inputs[1]?.name).toBe('axes');
        expect(getOpSchema('ReduceMax', '', 20)?.typeConstraints.T).toContain(D.BOOL);
      },
    },
    {
      name: 'DequantizeLinear outputs float32 until 19, then the scale type; int4/int16 from 21',
      check: () => {
        const s13 = getOpSchema('DequantizeLinear', '', 13);
        expect(s13?.typeConstraints[s13.outputs[0]?.typeVar as string]).toEqual([D.FLOAT]);
        const s19 = getOpSchema('DequantizeLinear', '', 19);
        expect(s19?.inputs[1]?.typeVar).toBe(s19?.outputs[0]?.typeVar);
        expect(inputTypes(s19, 1)).toEqual([D.FLOAT, D.FLOAT16, D.BFLOAT16]);
        expect(inputTypes(s19, 0)).toContain(D.FLOAT8E4M3FN);
        expect(inputTypes(s19, 0)).not.toContain(D.INT4);
        const s21 = getOpSchema('DequantizeLinear', '', 21);
        expect(inputTypes(s21, 0)).toEqual(expect.arrayContaining([D.INT4, D.UINT4, D.INT16, D.UINT16, D.INT32]));
        expect(s21?.attributes.block_size).toBeDefined();
      },
    },
    {
      name: 'QuantizeLinear: float32/int32 input until 19, float16 scale shared with x from 19, int4 zero points at 21',
      check: () => {
        expect(inputTypes(getOpSchema('QuantizeLinear', '', 13), 0)).toEqual([D.FLOAT, D.INT32]);
        expect(inputTypes(getOpSchema('QuantizeLinear', '', 13), 1)).toEqual([D.FLOAT]);
        const s19 = getOpSchema('QuantizeLinear', '', 19);
        expect(s19?.inputs[1]?.typeVar).toBe(s19?.inputs[0]?.typeVar);
        expect(inputTypes(s19, 0)).toContain(D.FLOAT16);
        expect(getOpSchema('QuantizeLinear', '', 21)?.typeConstraints.T2).toEqual(expect.arrayContaining([D.INT4, D.UINT4, D.INT16]));
        expect(getOpSchema('DynamicQuantizeLinear', '', 11)?.outputs.map((p) => p.name)).toEqual(['y', 'y_scale', 'y_zero_point']);
      },
    },
    {
      name: 'LayerNormalization (17) and GroupNormalization (18, 21)',
      check: () => {
        const ln = getOpSchema('LayerNormalization', '', 17);
        expect(sharesWithOutput(ln, 1) && sharesWithOutput(ln, 2)).toBe(true);
        expect(ln?.typeConstraints[ln.outputs[1]?.typeVar as string]).toEqual([D.FLOAT, D.BFLOAT16]);
        // onnxruntime's own registration before the spec had it
        expect(getOpSchema('LayerNormalization', '', 13)?.runtimeOnly).toBe(true);
        const gn18 = getOpSchema('GroupNormalization', '', 18);
        expect(gn18?.attributes.num_groups?.required).toBe(true);
        expect(sharesWithOutput(gn18, 1) && sharesWithOutput(gn18, 2)).toBe(true);
        expect(getOpSchema('GroupNormalization', '', 21)?.attributes.stash_type).toBeDefined();
      },
    },
    {
      name: 'Cast and CastLike',
      check: () => {
        expect(getOpSchema('Cast', '', 1)?.attributes.to?.type).toBe(AttributeType.STRING);
        expect(getOpSchema('Cast', '', 6)?.attributes.to).toEqual({ type: AttributeType.INT, required: true });
        expect(getOpSchema('Cast', '', 13)?.typeConstraints.T2).toContain(D.BFLOAT16);
        expect(getOpSchema('Cast', '', 19)?.attributes.saturate).toBeDefined();
        expect(getOpSchema('Cast', '', 21)?.typeConstraints.T1).toContain(D.INT4);
        const cl = getOpSchema('CastLike', '', 15);
        expect(sharesWithOutput(cl, 1)).toBe(true);
        expect(sharesWithOutput(cl, 0)).toBe(false);
      },
    },
    {
      name: 'arity follows ONNX: optional inputs before a required one still take a slot',
      check: () => {
        const emb = getOpSchema('EmbedLayerNormalization', 'com.microsoft', 1);
        expect([emb?.minInputs, emb?.maxInputs]).toEqual([7, 9]);
        const concat = getOpSchema('Concat', '', 13);
        expect([concat?.minInputs, concat?.maxInputs]).toEqual([1, Infinity]);
        const loop = getOpSchema('Loop', '', 16);
        expect([loop?.minInputs, loop?.inputs[2]?.heterogeneous]).toEqual([2, true]);
        expect(getOpSchema('Loop', '', 9)?.minInputs).toBe(3);
        const dropout = getOpSchema('Dropout', '', 13);
        expect([dropout?.minOutputs, dropout?.maxOutputs]).toEqual([1, 2]);
      },
    },
    {
      name: 'com.microsoft operators onnxruntime users meet',
      check: () => {
        const ms = knownOps('com.microsoft');
        for (const op of [
          'DynamicQuantizeMatMul', 'MatMulIntegerToFloat', 'QLinearAdd', 'QLinearMul', 'QLinearConv', 'QLinearConcat', 'QuantizeLinear',
          'DequantizeLinear', 'Attention', 'MultiHeadAttention', 'SkipLayerNormalization', 'EmbedLayerNormalization', 'BiasGelu', 'FastGelu',
          'Gelu', 'QuickGelu', 'FusedMatMul', 'FusedConv', 'MatMulNBits', 'GroupQueryAttention', 'RotaryEmbedding', 'SkipSimplifiedLayerNormalization',
        ]) expect(ms).toContain(op);
        expect(getOpSchema('SimplifiedLayerNormalization', '', 17)?.runtimeOnly).toBe(true);
        const nbits = getOpSchema('MatMulNBits', 'com.microsoft', 1);
        expect(inputTypes(nbits, 1)).toEqual([D.UINT8]);
        expect(sharesWithOutput(nbits, 2)).toBe(true);
        expect(nbits?.attributes.block_size?.required).toBe(true);
        const sln = getOpSchema('SkipLayerNormalization', 'com.microsoft', 1);
        expect(sln?.typeConstraints[sln.outputs[1]?.typeVar as string]).toEqual([D.FLOAT]);
      },
    },
    {
      name: 'ai.onnx.ml operators by name, with containers marked',
      check: () => {
        const ml = knownOps('ai.onnx.ml');
        for (const op of ['TreeEnsembleClassifier', 'TreeEnsembleRegressor', 'TreeEnsemble', 'SVMClassifier', 'LinearClassifier', 'ZipMap', 'Scaler', 'LabelEncoder']) {
          expect(ml).toContain(op);
        }
        expect(getOpSchema('ZipMap', 'ai.onnx.ml', 1)?.containers?.T).toBe('sequence');
        expect(getOpSchema('DictVectorizer', 'ai.onnx.ml', 1)?.containers?.T1).toBe('map');
      },
    },
  ];
  it.each(cases)('$name', ({ check }) => check());

  it('lists domains and every version', () => {
    expect(knownDomains()).toEqual(['', 'ai.onnx.ml', 'ai.onnx.preview.training', 'com.microsoft']);
    expect(knownOps('').length).toBeGreaterThan(180);
    expect(knownOps()).toContain('MatMulNBits');
    expect(opSchemaVersions('Add', 'ai.onnx').map((s) => s.sinceVersion)).toEqual([1, 6, 7, 13, 14]);
  });

  it('gives every parameter a type variable with at least one allowed type', () => {
    for (const domain of knownDomains()) {
      for (const op of knownOps(domain)) {
        for (const s of opSchemaVersions(op, domain)) {
          for (const p of [...s.inputs, ...s.outputs]) {
            expect(s.typeConstraints[p.typeVar]?.length ?? 0, `${op}-${s.sinceVersion} ${p.name}`).toBeGreaterThan(0);
          }
          const variadic = s.inputs.findIndex((p) => p.option === 'variadic');
          expect(variadic === -1 || variadic === s.inputs.length - 1, `${op}-${s.sinceVersion}: variadic input is last`).toBe(true);
        }
      }
    }
  });
});
