import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ModelBuilder } from '../builder/model-builder.js';
import { checkModel } from '../checker/checker.js';
import { CheckCode } from '../checker/problem.js';
import { DataType } from '../dtype.js';
import { ForgeErrorCode } from '../errors.js';
import { createTensor } from '../ir/tensor.js';
import { createNode, type Model } from '../ir/model.js';
import type { NodeProto } from '../proto/types.js';
import { definePass } from './define-pass.js';
import { PassManager } from './pass-manager.js';

/** x -> Relu -> Neg -> Abs -> Sigmoid -> y, every node named "dup" (or as given). */
function dupChain(names: string[] = ['dup', 'dup', 'dup', 'dup']): Model {
  const b = new ModelBuilder({ opset: 17 });
  let v = b.input('x', 'float32', [3]);
  ['Relu', 'Neg', 'Abs', 'Sigmoid'].forEach((op, i) => {
    v = b.addNode(createNode(op, [v], [i === 3 ? 'y' : `v${i}`], { name: names[i] ?? '' })).output[0] as string;
  });
  b.output(v, 'float32', [3]);
  return b.build();
}

/** Inserts a named node (as passes do, through uniqueName), so the repaired names must not collide with it. */
const insertScale = definePass({
  name: 'insert-scale',
  description: 'test: multiplies the output by 2 with a node named from "dup"',
  options: {},
  run(model) {
    const g = model.graph;
    const last = g.nodes.at(-1) as NodeProto;
    const two = model.uniqueName('two');
    g.addInitializer(createTensor(two, DataType.FLOAT, [], Float32Array.from([2])));
    const mid = model.uniqueName('pre_y');
    g.replaceAllUses('y', mid, { graphOutputs: false });
    last.output[0] = mid;
    g.addNode(createNode('Mul', [mid, two], ['y'], { name: model.uniqueName('dup') }));
    model.invalidate();
  },
});

async function run(m: Model, x: number[]): Promise<number[]> {
  const s = await ort.InferenceSession.create(m.encode());
  try {
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from(x), [x.length]) });
    return Array.from(out['y']?.data as Float32Array);
  } finally {
    await s.release();
  }
}

describe('PassManager: input repairs', () => {
  it('renames nodes repeating a name, with a warning listing them, and the output loads in onnxruntime', async () => {
    const model = dupChain();
    expect(checkModel(model).problems.map((p) => p.code)).toEqual([CheckCode.DUPLICATE_NODE_NAME]);
    const warnings: string[] = [];
    const report = await new PassManager({ onEvent: (e) => e.type === 'warning' && warnings.push(`${e.pass}: ${e.message}`) }).run(model);
    expect(report.inputRepairs).toHaveLength(1);
    expect(warnings).toEqual([
      'input: 3 nodes of main repeated the name of an earlier node of their graph (onnxruntime refuses "two nodes with same node name"): ' +
        'renamed before the passes ran: "dup" -> "dup_1" (Neg), "dup" -> "dup_2" (Abs), "dup" -> "dup_3" (Sigmoid)',
    ]);
    expect(model.graph.nodes.map((n) => n.name)).toEqual(['dup', 'dup_1', 'dup_2', 'dup_3']);
    expect(checkModel(model).ok).toBe(true);
    const x = [0.5, -1, 2];
    const want = x.map((v) => 1 / (1 + Math.exp(-Math.abs(-Math.max(v, 0)))));
    (await run(model, x)).forEach((v, i) => expect(v).toBeCloseTo(want[i] as number, 6));
  });

  it('names nodes that passes insert apart from the renamed ones', async () => {
    const model = dupChain();
    await new PassManager().add(insertScale()).run(model);
    expect(model.graph.nodes.map((n) => n.name)).toEqual(['dup', 'dup_1', 'dup_2', 'dup_3', 'dup_4']);
    expect(checkModel(model).ok).toBe(true);
    const x = [0.5, -1, 2];
    (await run(model, x)).forEach((v, i) => expect(v).toBeCloseTo(2 / (1 + Math.exp(-Math.abs(-Math.max(x[i] as number, 0)))), 6));
  });

  it('sorts and renames in one go when the input has both problems', async () => {
    const model = dupChain(['a', 'b', 'a', 'c']);
    model.graph.nodes.reverse();
    model.invalidate();
    expect(new Set(checkModel(model).problems.map((p) => p.code))).toEqual(new Set([CheckCode.NOT_TOPOLOGICAL, CheckCode.DUPLICATE_NODE_NAME]));
    const report = await new PassManager().run(model);
    expect(report.inputRepairs).toEqual([expect.stringMatching(/out of topological order/), expect.stringMatching(/"a" -> "a_1" \((Relu|Abs)\)/)]);
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Relu', 'Neg', 'Abs', 'Sigmoid']);
    expect(checkModel(model).ok).toBe(true);
  });

  it('still refuses a model whose other errors it cannot repair, naming all of them', async () => {
    const model = dupChain();
    (model.graph.nodes[2] as NodeProto).input[0] = 'nowhere';
    model.invalidate();
    const failure = new PassManager().run(model);
    await expect(failure).rejects.toMatchObject({ code: ForgeErrorCode.INVALID_GRAPH });
    await expect(failure).rejects.toThrow(/CHECK_UNDEFINED_INPUT.*CHECK_DUPLICATE_NODE_NAME/);
    expect(model.graph.nodes.map((n) => n.name)).toEqual(['dup', 'dup', 'dup', 'dup']);
  });

  it('repairs nothing when the checks are off (the caller opted out)', async () => {
    const model = dupChain();
    const report = await new PassManager({ check: false }).run(model);
    expect(report.inputRepairs).toEqual([]);
  });
});

describe('initializers given more than once', () => {
  /** y = x + w, with w given twice ([1, 2, 3] then [10, 20, 30]), in the main graph. */
  function twiceInitialized(): Model {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3]);
    const w = b.initializer('w', Float32Array.from([1, 2, 3]), [3]);
    b.output(b.op('Add', [x, w], {}, { outputs: ['y'] }), 'float32', [3]);
    const model = b.build();
    model.graph.initializers.push(createTensor('w', DataType.FLOAT, [3], Float32Array.from([10, 20, 30])));
    model.invalidate();
    return model;
  }

  it('are refused by the check but kept last-wins, as onnxruntime runs them, before the passes', async () => {
    const model = twiceInitialized();
    // onnxruntime loads it (with a warning) and uses the last one.
    expect(await run(model, [0, 0, 0])).toEqual([10, 20, 30]);
    expect(checkModel(model).problems.map((p) => p.code)).toContain(CheckCode.DUPLICATE_INITIALIZER);
    const warnings: string[] = [];
    const report = await new PassManager({ onEvent: (e) => e.type === 'warning' && warnings.push(e.message) }).run(model);
    expect(report).toBeDefined();
    expect(warnings.join('\n')).toMatch(/initializer name of main appeared more than once \("w"\); onnxruntime uses the last one: the 1 earlier one was dropped/);
    expect(model.graph.initializers.map((t) => t.name)).toEqual(['w']);
    expect(checkModel(model).ok).toBe(true);
    expect(await run(model, [1, 1, 1])).toEqual([11, 21, 31]);
  });

  it('a model with another error as well is still refused, unchanged', async () => {
    const model = twiceInitialized();
    (model.graph.nodes[0] as NodeProto).input[0] = 'nowhere';
    model.invalidate();
    const e = await new PassManager().run(model).catch((err: unknown) => err);
    expect(e).toMatchObject({ code: ForgeErrorCode.INVALID_GRAPH });
    expect(model.graph.initializers).toHaveLength(2);
  });
});
