import { describe, expect, it } from 'vitest';
import { ModelBuilder } from '../builder/model-builder.js';
import { checkModel } from '../checker/checker.js';
import { ForgeError, ForgeErrorCode } from '../errors.js';
import type { Model } from '../ir/model.js';
import { createNode } from '../ir/model.js';
import { definePass } from './define-pass.js';
import { PassManager, type PassEvent } from './pass-manager.js';
import { PassRegistry } from './pass-registry.js';
import { runPass } from './run-pass.js';
import { defineService } from './service.js';
import { defineAnalysis } from '../ir/analysis.js';

function reluChain(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [2]);
  const a = b.op('Relu', [x]);
  const c = b.op('Identity', [a]);
  b.output(b.op('Relu', [c], {}, { outputs: ['y'] }), 'float32', [2]);
  return b.build();
}

/** Removes Identity nodes, reporting each. */
const dropIdentity = definePass({
  name: 'drop-identity',
  description: 'test',
  options: {},
  run(model, _o, ctx) {
    const g = model.graph;
    for (const n of [...g.nodes]) {
      if (n.opType !== 'Identity') continue;
      g.replaceAllUses(n.output[0] as string, n.input[0] as string);
      g.removeNode(n);
      ctx.count('removed');
      ctx.decide(g.path, n, 'removed', 'an Identity changes nothing');
      ctx.progress(1, 1, 'identities');
    }
  },
});

/** Breaks the graph: reads a value nobody defines. */
const breaker = definePass({
  name: 'breaker',
  description: 'test',
  options: {},
  run(model) {
    model.graph.addNode(createNode('Relu', ['nowhere'], ['z']));
  },
});

const thrower = definePass({
  name: 'thrower',
  description: 'test',
  options: {},
  run() {
    throw new Error('boom');
  },
});

const LABEL = defineService<string>('label', 'a label for the report', (v) => typeof v === 'string');

const needsLabel = definePass({
  name: 'needs-label',
  description: 'test',
  options: {},
  services: [LABEL],
  run(_m, _o, ctx) {
    ctx.set('label', ctx.service(LABEL));
  },
});

const undeclared = definePass({
  name: 'undeclared',
  description: 'test',
  options: {},
  run(_m, _o, ctx) {
    ctx.service(LABEL);
  },
});

describe('PassManager', () => {
  it('runs passes in order and reports statistics, decisions, node counts and events', async () => {
    const events: PassEvent['type'][] = [];
    const model = reluChain();
    const report = await new PassManager({ onEvent: (e) => events.push(e.type) }).add(dropIdentity()).run(model);
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Relu', 'Relu']);
    const p = report.passes[0];
    expect(p).toMatchObject({ name: 'drop-identity', nodesBefore: 3, nodesAfter: 2, stats: { removed: 1 } });
    expect(p?.decisions).toEqual([expect.objectContaining({ opType: 'Identity', action: 'removed', graph: 'main' })]);
    expect(events).toEqual(['pass-start', 'progress', 'pass-end']);
  });

  it('stops at the first pass that breaks the graph and names it', async () => {
    const pm = new PassManager().add(dropIdentity(), breaker(), dropIdentity());
    const err = await pm.run(reluChain()).catch((e) => e);
    expect(err).toMatchObject({ code: ForgeErrorCode.PASS_FAILED, details: { pass: 'breaker', index: 1 } });
    expect(err.message).toMatch(/pass "breaker" left an invalid graph: CHECK_UNDEFINED_INPUT/);
  });

  it('wraps an exception thrown by a pass with the pass name and keeps the cause', async () => {
    const err = await new PassManager().add(thrower()).run(reluChain()).catch((e) => e);
    expect(err).toMatchObject({ code: ForgeErrorCode.PASS_FAILED, details: { pass: 'thrower' } });
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('refuses an invalid input model before running anything', async () => {
    const model = reluChain();
    const first = model.graph.nodes[0];
    if (first) first.input[0] = 'defined_nowhere';
    model.invalidate();
    await expect(new PassManager().add(dropIdentity()).run(model)).rejects.toMatchObject({ code: ForgeErrorCode.INVALID_GRAPH });
  });

  it('builds pipelines from text through a registry', async () => {
    const registry = new PassRegistry([dropIdentity]);
    const pm = new PassManager({ registry }).addPipeline('drop-identity,drop-identity');
    expect(pm.pipeline.map((p) => p.name)).toEqual(['drop-identity', 'drop-identity']);
    expect(() => new PassManager({ registry }).addPipeline('nope')).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_PIPELINE }));
    expect(() => new PassManager().addPipeline('drop-identity')).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_PIPELINE }));
    expect(() => registry.register(definePass({ name: 'drop-identity', description: '', options: {}, run() {} }))).toThrow(/already registered/);
  });

  it('hands declared services to passes, typed by their key', async () => {
    const report = await new PassManager({ services: { label: 'the-label' } }).add(needsLabel()).run(reluChain());
    expect(report.passes[0]?.stats['label']).toBe('the-label');
    expect(needsLabel.services).toEqual([LABEL]);
  });

  it('refuses a pipeline whose services are missing or unusable before running anything, naming pass and service', async () => {
    const model = reluChain();
    const before = model.encode();
    const pm = new PassManager().add(dropIdentity(), needsLabel());
    await expect(pm.run(model)).rejects.toMatchObject({
      code: ForgeErrorCode.MISSING_SERVICE,
      message: expect.stringMatching(/pass "needs-label" needs the "label" service \(a label for the report\): pass it in services: \{ label \}/),
    });
    expect(Buffer.from(model.encode()).equals(Buffer.from(before))).toBe(true);
    await expect(new PassManager({ services: { label: 42 } }).add(needsLabel()).run(model)).rejects.toThrow(/the value given is not one/);
  });

  it('a pass that asks for a service it did not declare is an internal error', async () => {
    await expect(new PassManager({ services: { label: 'x' } }).add(undeclared()).run(reluChain())).rejects.toMatchObject({ code: ForgeErrorCode.PASS_FAILED, message: expect.stringMatching(/without declaring it/) });
  });

  it('runPass runs one pass as the manager does and returns its report', async () => {
    const report = await runPass(needsLabel(), reluChain(), { services: { label: 'alone' } });
    expect(report.name).toBe('needs-label');
    expect(report.stats.label).toBe('alone');
    await expect(runPass(needsLabel(), reluChain())).rejects.toMatchObject({ code: ForgeErrorCode.MISSING_SERVICE });
  });

  it('stops when cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(new PassManager({ signal: ac.signal }).add(dropIdentity()).run(reluChain())).rejects.toMatchObject({ code: ForgeErrorCode.CANCELLED });
  });

  it('passes on as it is a pass stopping because the signal was aborted (not as a failed pass)', async () => {
    const ac = new AbortController();
    const watcher = definePass({
      name: 'watcher',
      description: 'stops when aborted',
      options: {},
      run(_model, _options, ctx) {
        ac.abort();
        if (ctx.signal?.aborted) throw new ForgeError(ForgeErrorCode.CANCELLED, 'watcher: stopped');
      },
    });
    await expect(new PassManager({ signal: ac.signal }).add(watcher()).run(reluChain())).rejects.toMatchObject({ code: ForgeErrorCode.CANCELLED, message: 'watcher: stopped' });
  });
});

describe('PassManager: input models onnxruntime accepts', () => {
  it('sorts nodes that are out of topological order, with a warning, and runs the passes', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    const y = b.op('Relu', [b.op('Neg', [x])], {}, { outputs: ['y'] });
    b.output(y, 'float32', [2]);
    const model = b.build();
    model.graph.nodes.reverse();
    model.invalidate();
    expect(checkModel(model).problems.map((p) => p.code)).toContain('CHECK_NOT_TOPOLOGICAL');
    const warnings: string[] = [];
    const report = await new PassManager({ onEvent: (e) => e.type === 'warning' && warnings.push(`${e.pass}: ${e.message}`) }).run(model);
    expect(report.inputRepairs).toHaveLength(1);
    expect(warnings[0]).toMatch(/^input: nodes of main were out of topological order .* sorted before the passes ran/);
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Neg', 'Relu']);
    expect(checkModel(model).ok).toBe(true);
  });

  it('still refuses a model with a cycle', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    b.output(b.op('Add', [x, x], {}, { outputs: ['y'] }), 'float32', [2]);
    const model = b.build();
    const add = model.graph.nodes[0];
    if (add) add.input[1] = 'y';
    model.invalidate();
    await expect(new PassManager().run(model)).rejects.toMatchObject({ code: 'FORGE_INVALID_GRAPH' });
  });
});

describe('runPass errors', () => {
  it("rethrows the pass's own ForgeError (its code), not the manager's wrapper", async () => {
    const picky = definePass({ name: 'picky', description: 'test', options: {}, run() { throw new ForgeError(ForgeErrorCode.BAD_SAMPLES, 'no samples'); } });
    await expect(runPass(picky(), reluChain())).rejects.toMatchObject({ code: ForgeErrorCode.BAD_SAMPLES, message: 'no samples' });
    await expect(new PassManager().add(picky()).run(reluChain())).rejects.toMatchObject({ code: ForgeErrorCode.PASS_FAILED });
  });
});

describe('analyses cached on the model', () => {
  it('computes once per version of the model, and again after a change', () => {
    let computed = 0;
    const COUNT = defineAnalysis('nodeCount', (m) => (computed++, m.graph.nodes.length));
    const model = reluChain();
    expect(model.analysis(COUNT)).toBe(model.analysis(COUNT));
    expect(computed).toBe(1);
    model.graph.addNode(createNode('Relu', ['x'], ['extra']));
    expect(model.analysis(COUNT)).toBe(model.graph.nodes.length);
    expect(computed).toBe(2);
  });

  it('are kept across a pass that declares it preserves them, and dropped after one that does not', async () => {
    let computed = 0;
    const SHAPE = defineAnalysis('opTypes', (m) => (computed++, m.graph.nodes.map((n) => n.opType).sort().join(',')));
    const use = definePass({ name: 'use', description: 'reads the analysis', options: {}, run: (m, _o, ctx) => ctx.set('ops', m.analysis(SHAPE)) });
    const reverse = (preserves: boolean) => definePass({
      name: preserves ? 'reverse-preserving' : 'reverse',
      description: 'reverses independent nodes (a change that keeps the op multiset)',
      options: {},
      ...(preserves ? { preserves: [SHAPE] } : {}),
      run: (m) => {
        const g = m.graph;
        const nodes = [...g.nodes];
        for (const n of nodes) g.removeNode(n);
        for (const n of nodes) g.addNode(n);
      },
    });
    await new PassManager({ check: false }).add(use(), reverse(true)(), use()).run(reluChain());
    expect(computed).toBe(1);
    computed = 0;
    await new PassManager({ check: false }).add(use(), reverse(false)(), use()).run(reluChain());
    expect(computed).toBe(2);
  });
});
