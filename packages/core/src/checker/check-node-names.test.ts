import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ModelBuilder } from '../builder/model-builder.js';
import { createNode, type Model } from '../ir/model.js';
import { renameDuplicateNodes } from '../ir/rename-duplicate-nodes.js';
import { onnx } from '../proto/onnx.generated.js';
import type { NodeProto } from '../proto/types.js';
import { checkModel } from './checker.js';
import { CheckCode } from './problem.js';

// Node names are checked the way onnxruntime 1.30 checks them (probed here): two nodes of one graph
// with the same non-empty name make InferenceSession.create fail with "two nodes with same node name";
// the same name in a graph and its subgraph, in two branches, or on unnamed nodes is accepted; inside
// a function body it fails once the function is inlined.

/** x -> Relu -> Neg -> Abs -> y, the three nodes named as given. */
function chain(names: [string, string, string]): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [2]);
  const r = b.addNode(createNode('Relu', [x], ['r'], { name: names[0] })).output[0] as string;
  const n = b.addNode(createNode('Neg', [r], ['n'], { name: names[1] })).output[0] as string;
  b.addNode(createNode('Abs', [n], ['y'], { name: names[2] }));
  b.output('y', 'float32', [2]);
  return b.build();
}

/** An If whose outer node and branch nodes carry the names given. */
function ifModel(outer: string, thenName: string, elseName: string): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [2]);
  const cond = b.input('cond', 'bool', []);
  b.addNode(createNode('Relu', [x], ['early'], { name: outer }));
  const thenG = b.subgraph('then', (g) => g.output(g.addNode(createNode('Identity', ['early'], ['t'], { name: thenName })).output[0] as string, 'float32', [2]));
  const elseG = b.subgraph('else', (g) => g.output(g.addNode(createNode('Neg', ['early'], ['e'], { name: elseName })).output[0] as string, 'float32', [2]));
  b.op('If', [cond], { then_branch: thenG, else_branch: elseG }, { name: 'if', outputs: ['y'] });
  b.output('y', 'float32', [2]);
  return b.build();
}

/** A model calling a local function whose body has two nodes named as given. */
function functionModel(first: string, second: string): Model {
  const b = new ModelBuilder({ opset: 17, opsets: { local: 1 } });
  const x = b.input('x', 'float32', [2]);
  b.output(b.op('Twice', [x], {}, { domain: 'local', name: 'call' }), 'float32', [2]);
  const m = b.build();
  m.proto.functions.push(new onnx.FunctionProto({
    name: 'Twice', domain: 'local', input: ['a'], output: ['b'],
    opsetImport: [new onnx.OperatorSetIdProto({ domain: '', version: 17 })],
    node: [createNode('Add', ['a', 'a'], ['t'], { name: first }), createNode('Neg', ['t'], ['b'], { name: second })],
  }));
  m.invalidate();
  return m;
}

async function ortLoads(m: Model): Promise<true | string> {
  try {
    const s = await ort.InferenceSession.create(m.encode());
    await s.release();
    return true;
  } catch (e) {
    return String(e);
  }
}

function nameProblems(m: Model) {
  return checkModel(m).problems.filter((p) => p.code === CheckCode.DUPLICATE_NODE_NAME);
}

describe('checkModel: duplicate node names', () => {
  it('reports two nodes of a graph with one name as an error naming them, as onnxruntime refuses the model', async () => {
    const m = chain(['dup', 'dup', 'dup']);
    const result = checkModel(m);
    expect(result.ok).toBe(false);
    expect(nameProblems(m)).toEqual([
      expect.objectContaining({ severity: 'error', graph: 'main', node: 'dup', opType: 'Relu', message: expect.stringMatching(/^3 nodes are named "dup" \(Relu, Neg, Abs\)/) as unknown }),
    ]);
    expect(await ortLoads(m)).toMatch(/two nodes with same node name \(dup\)/);
  });

  it('lists every repeated name once, and leaves unique names alone', () => {
    const m = chain(['a', 'b', 'a']);
    expect(nameProblems(m).map((p) => p.node)).toEqual(['a']);
    expect(checkModel(chain(['a', 'b', 'c'])).ok).toBe(true);
  });

  it('accepts unnamed nodes, and one name in a graph and its subgraphs, as onnxruntime does', async () => {
    for (const m of [chain(['', '', '']), ifModel('same', 'same', 'same'), ifModel('outer', 'branch', 'branch')]) {
      expect(checkModel(m).problems).toEqual([]);
      expect(await ortLoads(m)).toBe(true);
    }
  });

  it('reports a repeated name inside an If branch, in that branch', () => {
    const m = ifModel('outer', 'then', 'else');
    const branch = m.graph.nodes[1]?.attribute[0]?.g as { node: NodeProto[] };
    branch.node.push(createNode('Identity', ['t'], ['t2'], { name: 'then' }));
    m.invalidate();
    expect(nameProblems(m).map((p) => [p.graph, p.node])).toEqual([['main/if.then', 'then']]);
  });

  it('reports a repeated name inside a function body (onnxruntime refuses it once inlined)', async () => {
    const m = functionModel('same', 'same');
    expect(nameProblems(m).map((p) => [p.graph, p.node])).toEqual([['function:local.Twice', 'same']]);
    expect(await ortLoads(m)).toMatch(/two nodes with same node name/);
    const fixed = functionModel('same', 'other');
    expect(checkModel(fixed).ok).toBe(true);
    expect(await ortLoads(fixed)).toBe(true);
  });
});

describe('renameDuplicateNodes', () => {
  it('renames the later nodes to names used nowhere, so onnxruntime loads the model and computes the same', async () => {
    // Names the renaming could reach for are taken by values and nodes already: it must skip them.
    const m = chain(['dup', 'dup', 'dup']);
    (m.graph.nodes[0] as NodeProto).output[0] = 'dup_1';
    (m.graph.nodes[1] as NodeProto).input[0] = 'dup_1';
    m.invalidate();
    const renamed = renameDuplicateNodes(m);
    expect(renamed).toEqual([
      { graph: 'main', from: 'dup', to: 'dup_2', opType: 'Neg' },
      { graph: 'main', from: 'dup', to: 'dup_3', opType: 'Abs' },
    ]);
    expect(m.graph.nodes.map((n) => n.name)).toEqual(['dup', 'dup_2', 'dup_3']);
    expect(checkModel(m).ok).toBe(true);
    const s = await ort.InferenceSession.create(m.encode());
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1.5, -2]), [2]) });
    await s.release();
    expect(Array.from(out['y']?.data as Float32Array)).toEqual([1.5, 0]);
  });

  it('is deterministic: a copy taken before renaming is renamed the same way', () => {
    const m = functionModel('same', 'same');
    const copy = m.clone();
    expect(renameDuplicateNodes(copy)).toEqual(renameDuplicateNodes(m));
    expect(copy.encode()).toEqual(m.encode());
  });

  it('changes nothing on a model without repeated names', () => {
    const m = ifModel('same', 'same', 'same');
    const before = m.encode();
    expect(renameDuplicateNodes(m)).toEqual([]);
    expect(m.encode()).toEqual(before);
  });
});
