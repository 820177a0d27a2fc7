import { existsSync, readFileSync } from 'node:fs';
import { ForgeError, ForgeErrorCode, Model, checkModel, getOpSchema, isDefaultDomain } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import type { LoadedModel, ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { mismatch } from '../testing/compare.js';
import { BACKENDS, nodeRunner } from '../testing/harness.js';
import { NODE_TEST_ROOT, feedsFor, listNodeTests, loadNodeTest, protoToRunner, type NodeTestCase } from '../testing/onnx-node-suite.js';
import { upgradeOpset } from './upgrade-opset.js';

/*
 * The ONNX backend node tests (Debian libonnx-testdata): every model below opset 11 that
 * onnxruntime-node runs correctly as it is, upgraded to 13, 17 and 21, and every model at opsets
 * 11–16, upgraded to 17 and 21 (21 reaches the Reduce*, Split, Pad and Resize changes of 18–21), and those
 * at 17 upgraded to 21, must pass the checker, have an ai.onnx schema at the target for every node, and
 * still produce the expected outputs within rtol = atol = 2e-2 (the fp16 suite's tolerance) — and
 * the outputs of the model before the upgrade within 1e-5. The opset-17 models also run in
 * onnxruntime-web (wasm), the backing for 17 as the default target. A model the upgrade refuses must
 * be listed here with its reason.
 */

const TOL = 2e-2;
const SAME = 1e-5;

/** Node tests the upgrade is expected to refuse, with the reason (none today: every model upgrades). */
const EXPECTED_REFUSALS: Record<string, RegExp> = {};

interface Group {
  label: string;
  targets: number[];
  models: number;
  /** Run correctly in onnxruntime-node before any upgrade. */
  baseline: number;
  /** By target: upgraded and matching, of which a rewrite changed nodes, failures, refusals. */
  passed: Record<number, number>;
  rewritten: Record<number, number>;
  web: number;
  failures: string[];
  refused: string[];
}

const newGroup = (label: string, targets: number[]): Group => ({
  label, targets, models: 0, baseline: 0, passed: {}, rewritten: {}, web: 0, failures: [], refused: [],
});

async function runAll(loaded: LoadedModel, model: Model, tc: NodeTestCase): Promise<RunnerFeeds[] | string> {
  const inputs = model.graph.realInputNames();
  const out: RunnerFeeds[] = [];
  for (const ds of tc.dataSets) {
    const feeds = feedsFor(inputs, ds.inputs);
    if (!feeds) return 'inputs are not plain tensors';
    out.push(await loaded.run(feeds));
  }
  return out;
}

/** Where `got` differs from the expected outputs (and, when given, from the outputs before the upgrade). */
function compare(model: Model, tc: NodeTestCase, got: RunnerFeeds[], before?: RunnerFeeds[]): string | undefined {
  const names = model.graph.outputNames();
  for (let d = 0; d < tc.dataSets.length; d++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const exp = tc.dataSets[d]?.outputs[i];
      const want = exp ? protoToRunner(exp) : undefined;
      const g = got[d]?.[name];
      if (!want || !g) return `${name}: missing`;
      const m = mismatch(g, want, TOL, TOL);
      if (m) return `${name}: ${m}`;
      const b = before?.[d]?.[name];
      const same = b ? mismatch(g, b, SAME, SAME) : undefined;
      if (same) return `${name} vs before the upgrade: ${same}`;
    }
  }
  return undefined;
}

async function tryRun(runner: ModelRunner, bytes: Uint8Array, model: Model, tc: NodeTestCase): Promise<RunnerFeeds[] | string> {
  let loaded: LoadedModel;
  try {
    loaded = await runner.load(bytes);
  } catch (e) {
    return `load: ${String((e as Error).message ?? e).slice(0, 200)}`;
  }
  try {
    return await runAll(loaded, model, tc);
  } catch (e) {
    return `run: ${String((e as Error).message ?? e).slice(0, 200)}`;
  } finally {
    await loaded.release();
  }
}

describe.skipIf(!existsSync(NODE_TEST_ROOT))('opset upgrade on the ONNX node test suite', () => {
  it('upgraded models (below 11 → 13, 17, 21; 11–16 → 17, 21; 17 → 21) still match their expected outputs', async () => {
    const web = (BACKENDS.find((b) => b.name === 'web') as (typeof BACKENDS)[number]).runner;
    const old = newGroup('opset < 11', [13, 17, 21]);
    const mid = newGroup('opset 11–16', [17, 21]);
    const at17 = newGroup('opset 17', [21]);
    let leftAlone = 0;
    let noDefaultDomain = 0;
    for (const name of listNodeTests()) {
      const tc = loadNodeTest(name);
      const bytes = readFileSync(tc.modelPath);
      const original = Model.decode(bytes);
      const from = original.opset('');
      if (from === undefined) {
        noDefaultDomain++;
        continue;
      }
      if (from >= 17) {
        // At or above the default target: left alone, byte for byte.
        const r = upgradeOpset(original, 17);
        if (r.status === 'unchanged' && Buffer.from(original.encode()).equals(bytes)) leftAlone++;
        if (from > 17) continue;
      }
      const group = from < 11 ? old : from < 17 ? mid : at17;
      group.models++;
      const before = await tryRun(nodeRunner, bytes, original, tc);
      if (typeof before === 'string' || compare(original, tc, before)) continue;
      group.baseline++;
      for (const target of group.targets) {
        const model = Model.decode(bytes);
        let rewritten = false;
        try {
          rewritten = upgradeOpset(model, target).nodesUpgraded > 0;
        } catch (e) {
          if (!(e instanceof ForgeError) || e.code !== ForgeErrorCode.UNSUPPORTED_OP) throw e;
          group.refused.push(`${name} → ${target}: ${e.message}`);
          const expected = EXPECTED_REFUSALS[name];
          if (!expected || !expected.test(e.message)) group.failures.push(`${name} → ${target} [refused, not an expected refusal]: ${e.message}`);
          continue;
        }
        const check = checkModel(model);
        if (!check.ok) {
          group.failures.push(`${name} → ${target} [check]: ${check.problems.filter((p) => p.severity === 'error').slice(0, 2).map((p) => p.message).join('; ')}`);
          continue;
        }
        const noSchema = [...model.allNodes()].filter(({ node }) => isDefaultDomain(node.domain) && !getOpSchema(node.opType, '', target));
        if (noSchema.length) {
          group.failures.push(`${name} → ${target} [schema]: no opset-${target} schema for ${noSchema.map(({ node }) => node.opType).join(', ')}`);
          continue;
        }
        const upgradedBytes = model.encode();
        const after = await tryRun(nodeRunner, upgradedBytes, model, tc);
        const problem = typeof after === 'string' ? after : compare(model, tc, after, before);
        if (problem) {
          group.failures.push(`${name} → ${target} [onnxruntime-node]: ${problem}`);
          continue;
        }
        group.passed[target] = (group.passed[target] ?? 0) + 1;
        if (rewritten) group.rewritten[target] = (group.rewritten[target] ?? 0) + 1;
        if (target === 17) {
          const inWeb = await tryRun(web, upgradedBytes, model, tc);
          const webProblem = typeof inWeb === 'string' ? inWeb : compare(model, tc, inWeb);
          if (webProblem) group.failures.push(`${name} → 17 [onnxruntime-web]: ${webProblem}`);
          else group.web++;
        }
      }
    }
    for (const name of Object.keys(EXPECTED_REFUSALS)) {
      expect([...old.refused, ...mid.refused, ...at17.refused].some((r) => r.startsWith(`${name} →`)), `${name} is listed as refused but was not`).toBe(true);
    }
    const lines = [`node suite: ${noDefaultDomain} models without ai.onnx; ${leftAlone} at opset 17 left unchanged by a target of 17`];
    for (const g of [old, mid, at17]) {
      lines.push(`${g.label}: ${g.models} models, ${g.baseline} run correctly in onnxruntime-node as they are`);
      for (const t of g.targets) {
        lines.push(`  → ${t}: ${g.passed[t] ?? 0} pass (${g.rewritten[t] ?? 0} with nodes rewritten), ${g.failures.filter((f) => f.includes(`→ ${t} `)).length} fail, ${g.refused.filter((r) => r.includes(`→ ${t}:`)).length} refused`);
      }
      if (g.targets.includes(17)) lines.push(`  → 17 in onnxruntime-web: ${g.web} pass`);
      lines.push(...g.refused.map((r) => `  REFUSED ${r}`), ...g.failures.map((f) => `  FAIL ${f}`));
    }
    console.log(lines.join('\n'));
    expect([...old.failures, ...mid.failures, ...at17.failures]).toEqual([]);
    expect(old.baseline).toBeGreaterThan(100);
    expect(mid.baseline).toBeGreaterThan(650);
    expect(leftAlone).toBe(at17.models);
    for (const g of [old, mid, at17]) for (const t of g.targets) expect(g.passed[t]).toBe(g.baseline - g.refused.filter((r) => r.includes(`→ ${t}:`)).length);
    expect(old.web + mid.web).toBe((old.passed[17] ?? 0) + (mid.passed[17] ?? 0));
  }, 300_000);
});
