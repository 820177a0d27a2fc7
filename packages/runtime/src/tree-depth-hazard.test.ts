// onnxruntime builds each tree of a tree ensemble recursively when it loads a model: a deep enough tree
// overflows its stack and the process dies of a segmentation fault, no error to catch. A server that
// loads such a model through its repository API went down with it. Sessions and pools refuse the model
// before onnxruntime sees it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForgeErrorCode, Model, isForgeError } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { createPool, createSession } from './index.js';
import { findModelHazards } from './model-hazards.js';
import { deepTreeModel, tinyMlp } from './test-models.js';
import { MAX_TREE_LEVELS, treeDepthHazardIn } from './tree-depth-hazard.js';

const require = createRequire(import.meta.url);

/** Loads the model in a bare onnxruntime-node in a child process (in a worker thread when asked) and runs it on x = 2.5; how that ended. */
function bareLoad(model: Uint8Array, inWorker: boolean): { status: number | null; signal: string | null; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'forge-deep-'));
  try {
    const file = join(dir, 'm.onnx');
    writeFileSync(file, model);
    const body = `
      const ort = require(${JSON.stringify(require.resolve('onnxruntime-node'))});
      ort.InferenceSession.create(${JSON.stringify(file)})
        .then((s) => s.run({ input: new ort.Tensor('float32', new Float32Array([2.5]), [1, 1]) }))
        .then((out) => process.stdout.write('answered ' + String(out.variable.data[0]) + '\\n'), (e) => process.stdout.write('refused ' + e.message + '\\n'));`;
    const script = inWorker ? `new (require('node:worker_threads').Worker)(${JSON.stringify(body)}, { eval: true });` : body;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, signal: r.signal, stdout: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('trees too deep for onnxruntime to load', () => {
  it('a bare onnxruntime-node dies of SIGSEGV loading a 12,000-level tree, and loads one at the limit in a worker thread', { timeout: 300_000 }, () => {
    expect(bareLoad(deepTreeModel(12_000), false).signal).toBe('SIGSEGV');
    // A worker thread has half the main thread's stack: the limit keeps clear of its edge too.
    const atLimit = bareLoad(deepTreeModel(MAX_TREE_LEVELS), true);
    expect(atLimit.signal).toBeNull();
    expect(atLimit.stdout.trim()).toBe('answered 3');
  });

  it('finds the deepest tree in both ai.onnx.ml forms, and nothing in a model within the limit', async () => {
    for (const form of ['ids', 'roots'] as const) {
      const deep = treeDepthHazardIn(Model.decode(deepTreeModel(MAX_TREE_LEVELS + 1, form)));
      expect(deep, form).toEqual({ op: form === 'ids' ? 'TreeEnsembleRegressor' : 'TreeEnsemble', node: expect.any(String), tree: 0, levels: MAX_TREE_LEVELS + 1 });
      expect(treeDepthHazardIn(Model.decode(deepTreeModel(MAX_TREE_LEVELS, form))), form).toBeUndefined();
      expect(treeDepthHazardIn(Model.decode(deepTreeModel(10, form)), 9)?.levels, form).toBe(10);
    }
    expect(await findModelHazards(tinyMlp())).toEqual({ emptyInput: undefined, deepTree: undefined });
  });

  it('createSession and createPool refuse the model with FORGE_UNSUPPORTED_MODEL naming the tree, and the process goes on', async () => {
    const deep = deepTreeModel(12_000);
    for (const create of [() => createSession(deep, { cache: false }), () => createPool(deep, { workers: 1 })]) {
      const error = await create().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isForgeError(error, ForgeErrorCode.UNSUPPORTED_MODEL)).toBe(true);
      expect((error as Error).message).toMatch(/tree 0 of TreeEnsembleRegressor node '.*' is 12000 levels deep, past the 4096 onnxruntime can load safely/);
    }
    // Within the limit the same chain loads and answers: x = 2.5 passes splits 0, 1 and 2 and stops at 3.
    const session = await createSession(deepTreeModel(1000, 'roots'), { cache: false });
    const out = await session.run({ input: { data: new Float32Array([2.5, 1e9]), dims: [2, 1] } });
    expect(Array.from(out.variable?.data as Float32Array)).toEqual([3, -1]);
    await session.release();
  });
});
