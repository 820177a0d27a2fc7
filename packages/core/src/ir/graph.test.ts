import { describe, expect, it } from 'vitest';
import { ModelBuilder } from '../builder/model-builder.js';
import { checkModel } from '../checker/checker.js';
import { ForgeErrorCode } from '../errors.js';
import { createNode, Model } from './model.js';
import { scalarTensor } from './tensor.js';

/** x → Relu → a; If(cond){ then: a + w (outer initializer), else: Neg(a) } → y. */
function withSubgraphs(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [2]);
  const cond = b.input('cond', 'bool', []);
  const w = b.initializer('w', new Float32Array([1, 2]), [2]);
  const a = b.op('Relu', [x], {}, { outputs: ['a'] });
  const thenG = b.subgraph('then', (g) => g.output(g.op('Add', [a, w], {}, { outputs: ['t'] }), 'float32', [2]));
  const elseG = b.subgraph('else', (g) => g.output(g.op('Neg', [a], {}, { outputs: ['e'] }), 'float32', [2]));
  b.output(b.op('If', [cond], { then_branch: thenG, else_branch: elseG }, { outputs: ['y'] }), 'float32', [2]);
  return b.build();
}

describe('Graph', () => {
  it('knows producers, direct uses and consumers through subgraphs', () => {
    const m = withSubgraphs();
    const g = m.graph;
    const ifNode = g.nodes[1]!;
    expect(g.producer('a')?.opType).toBe('Relu');
    expect(g.uses('a')).toEqual([]);
    expect(g.consumers('a')).toEqual([ifNode]);
    expect(g.consumers('w')).toEqual([ifNode]);
    expect(g.implicitConsumers('w')).toEqual([ifNode]);
    const [thenG] = g.subgraphs(ifNode);
    expect(thenG?.path).toBe(`main/${ifNode.name}.then`);
    expect([...thenG!.outerNames()].sort()).toEqual(['a', 'w']);
    expect(thenG?.resolveInitializer('w')?.graph).toBe(g);
    expect([...m.graphs()].map((x) => x.kind)).toEqual(['main', 'subgraph', 'subgraph']);
  });

  it('lets a local definition shadow an outer initializer', () => {
    const m = withSubgraphs();
    const [thenG] = m.graph.subgraphs(m.graph.nodes[1]!);
    thenG!.addNode(createNode('Identity', ['a'], ['w']), { before: thenG!.nodes[0]! });
    expect(thenG!.resolveInitializer('w')).toBeUndefined();
    expect(thenG!.constantValue('w')).toBeUndefined();
  });

  it('rewires every reader, including subgraph readers, with replaceAllUses', () => {
    const m = withSubgraphs();
    const g = m.graph;
    const relu = g.nodes[0]!;
    const id = g.addNode(createNode('Identity', ['a'], ['a2']), { after: relu });
    const n = g.replaceAllUses('a', 'a2', { except: new Set([id]) });
    expect(n).toBe(2); // one in each branch
    expect(g.consumers('a')).toEqual([id]);
    expect(checkModel(m).ok).toBe(true);
  });

  it('sorts nodes topologically, keeping an already valid order, and finds cycles', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    const p = b.op('Relu', [x]);
    const q = b.op('Neg', [x]);
    b.output(b.op('Add', [p, q], {}, { outputs: ['y'] }), 'float32', [2]);
    const m = b.build();
    const before = [...m.graph.nodes];
    m.graph.toposort();
    expect(m.graph.nodes).toEqual(before);
    m.graph.nodes.reverse();
    m.invalidate();
    m.graph.toposort();
    // Reversed order was Add, Neg, Relu: producers move ahead, ties keep their current order.
    expect(m.graph.nodes.map((n) => n.opType)).toEqual(['Neg', 'Relu', 'Add']);
    expect(checkModel(m).ok).toBe(true);
    // Make a cycle: Neg reads Add's output.
    m.graph.nodes[0]!.input[0] = 'y';
    m.invalidate();
    expect(() => m.graph.toposort()).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_GRAPH }));
  });

  it('orders a node after the producers its subgraphs read', () => {
    const m = withSubgraphs();
    m.graph.nodes.reverse(); // If before Relu: the then branch reads "a" too early
    m.invalidate();
    expect(checkModel(m).ok).toBe(false);
    m.graph.toposort();
    expect(m.graph.nodes.map((n) => n.opType)).toEqual(['Relu', 'If']);
    expect(checkModel(m).ok).toBe(true);
  });

  it('adds and removes initializers (and their IR<4 graph input entries)', () => {
    const m = withSubgraphs();
    const g = m.graph;
    g.addInitializer(scalarTensor('k', 1, 3));
    expect(g.initializer('k')).toBeDefined();
    expect(g.removeInitializer('k')).toBe(true);
    expect(g.removeInitializer('k')).toBe(false);
  });

  it('hands out names not used anywhere in the model, subgraphs included', () => {
    const m = withSubgraphs();
    expect(m.uniqueName('t')).toBe('t_1');
    expect(m.uniqueName('t')).toBe('t_2');
    expect(m.uniqueName('fresh')).toBe('fresh');
    expect(m.uniqueName('fresh')).toBe('fresh_1');
  });

  it('records types of values', () => {
    const m = withSubgraphs();
    m.graph.setTensorType('a', 1, [2]);
    expect(m.graph.declaredElemType('a')).toBe(1);
    m.graph.setElemType('a', 10);
    expect(m.graph.declaredElemType('a')).toBe(10);
    const [thenG] = m.graph.subgraphs(m.graph.nodes[1]!);
    expect(thenG!.declaredElemType('a')).toBe(10);
  });

  it('manages opset imports, treating "ai.onnx" as the default domain', () => {
    const m = withSubgraphs();
    expect(m.opset('ai.onnx')).toBe(17);
    m.ensureOpset('com.microsoft', 1);
    m.ensureOpset('com.microsoft', 5);
    expect(m.opset('com.microsoft')).toBe(1);
    m.setOpset('', 19);
    expect(m.opset()).toBe(19);
  });

  it('clones deeply', () => {
    const m = withSubgraphs();
    const c = m.clone();
    c.graph.nodes[0]!.opType = 'Neg';
    expect(m.graph.nodes[0]!.opType).toBe('Relu');
    expect(c.graph.initializers[0]!.rawData).not.toBe(m.graph.initializers[0]!.rawData);
  });
});
