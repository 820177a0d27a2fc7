import { ForgeError, ModelBuilder, PassManager, createPassContext, definePass, type Model, type PassEvent } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { checkNodeList, checkOpList, contradiction } from './model-lists.js';

/** x → MatMul(w) → Relu → y, plus a node of a custom domain the op tables do not know. */
function model(): Model {
  const b = new ModelBuilder({ opset: 17, opsets: { 'com.example': 1 } });
  const x = b.input('x', 'float32', [1, 2]);
  const m = b.op('MatMul', [x, b.initializer('w', Float32Array.from([1, 2, 3, 4]), [2, 2])], {}, { name: 'mm' });
  const r = b.op('Relu', [m], {}, { name: 'relu' });
  b.output(b.op('MyOp', [r], {}, { domain: 'com.example', name: 'mine', outputs: ['y'] }), 'float32', [1, 2]);
  return b.build();
}

function thrown(f: () => unknown): ForgeError {
  try {
    f();
  } catch (e) {
    if (e instanceof ForgeError) return e;
    throw e;
  }
  throw new Error('nothing was thrown');
}

describe('checkOpList', () => {
  it('accepts op types of the model, silently', () => {
    const ctx = createPassContext('fp16');
    expect(checkOpList(model(), 'fp16', 'blockOps', ['Relu', 'MatMul', 'com.example:MyOp', 'ai.onnx:Relu'], ctx)).toEqual([]);
    expect(ctx.record.warnings).toEqual([]);
  });

  it('warns about a known op type the model does not use, without refusing it (a pipeline serves many models)', () => {
    const ctx = createPassContext('fp16');
    expect(checkOpList(model(), 'fp16', 'blockOps', ['Resize', 'Relu'], ctx)).toEqual(['Resize']);
    expect(ctx.record.warnings).toEqual(['option "blockOps" names op type "Resize", which this model does not use (no node has it); it changes nothing here']);
    const two = createPassContext('fp16');
    expect(checkOpList(model(), 'fp16', 'includeOps', ['Resize', 'com.microsoft:FusedMatMul'], two)).toEqual(['Resize', 'com.microsoft:FusedMatMul']);
    expect(two.record.warnings).toEqual(['option "includeOps" names op types "Resize", "com.microsoft:FusedMatMul", which this model does not use (no node has them); they change nothing here']);
    // Without a context (a caller that only validates) the absent entries are returned all the same.
    expect(checkOpList(model(), 'fp16', 'blockOps', ['Resize'])).toEqual(['Resize']);
  });

  it('refuses an op type no known domain defines and the model lacks, before any warning', () => {
    const ctx = createPassContext('fp16');
    const e = thrown(() => checkOpList(model(), 'fp16', 'blockOps', ['Fooo', 'Resize', 'com.example:Other'], ctx));
    expect(e.code).toBe('FORGE_INVALID_OPTIONS');
    expect(e.message).toBe('pass "fp16": option "blockOps" names "Fooo", "com.example:Other", which are neither an operator of a known domain nor an op of this model (write other domains as domain:Op)');
    expect(e.details).toEqual({ pass: 'fp16', option: 'blockOps', unknown: ['Fooo', 'com.example:Other'] });
    expect(ctx.record.warnings).toEqual([]);
  });

  it("warns through the pass context's warn: a report warning and a warning event", async () => {
    const probe = definePass({
      name: 'probe-ops',
      description: 'checks an op list (test)',
      options: {},
      run(m, _o, ctx) {
        checkOpList(m, 'probe-ops', 'blockOps', ['Resize'], ctx);
      },
    });
    const events: PassEvent[] = [];
    const report = await new PassManager({ onEvent: (e) => events.push(e) }).add(probe()).run(model());
    const warning = 'option "blockOps" names op type "Resize", which this model does not use (no node has it); it changes nothing here';
    expect(report.passes[0]?.warnings).toEqual([warning]);
    expect(events).toContainEqual({ type: 'warning', pass: 'probe-ops', message: warning });
  });
});

describe('checkNodeList', () => {
  it('accepts node names of the model and refuses others', () => {
    expect(() => checkNodeList(model(), 'fp16', 'blockNodes', ['mm', 'mine'])).not.toThrow();
    const e = thrown(() => checkNodeList(model(), 'fp16', 'blockNodes', ['mm', 'nope']));
    expect(e.code).toBe('FORGE_INVALID_OPTIONS');
    expect(e.message).toBe('pass "fp16": option "blockNodes" names "nope", which is no node of this model (inspect --json lists node names)');
  });
});

describe('contradiction', () => {
  it('names entries two lists share', () => {
    expect(contradiction('blockOps', ['Relu', 'Add'], 'includeOps', ['Add'])).toBe('"blockOps" and "includeOps" both name "Add"; an entry can be in one of them');
    expect(contradiction('blockOps', ['Relu'], 'includeOps', ['Add'])).toBeUndefined();
  });
});
