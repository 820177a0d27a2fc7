import { ManualClock } from '@onnx-forge/runtime';
import { Registry, register as defaultRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import * as hybrid from './index.js';
import { HybridModel } from './hybrid-model.js';
import { requestFeeds, scriptedBackend } from './testing/scripted-backend.js';

describe('metrics', () => {
  it('registers nothing on import, not even in prom-client\'s default registry', () => {
    expect(Object.keys(hybrid)).toContain('HybridModel');
    expect(defaultRegistry.getMetricsAsArray().filter((m) => m.name.startsWith('onnx_forge_hybrid_'))).toEqual([]);
  });

  it('reports requests, errors, latency, selections, quarantines and breaker state per model and backend; two models share one registry', async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    const make = (name: string) => {
      const ref = scriptedBackend('ref', clock, () => ({ latencyMs: 10 }));
      const wrong = scriptedBackend('wrong', clock, () => ({ latencyMs: 1, wrong: true }));
      const broken = scriptedBackend('broken', clock, () => ({ latencyMs: 1, fail: true }));
      return new HybridModel({ name, backends: [wrong, broken, ref], reference: 'ref', breaker: { failures: 1 }, clock, metrics: { registry } });
    };
    const one = make('one');
    const two = make('two');
    for (let i = 0; i < 10; i++) {
      await clock.run(one.predict(requestFeeds(i)));
      await clock.run(two.predict(requestFeeds(i)));
    }
    const text = await registry.metrics();
    for (const model of ['one', 'two']) {
      expect(text).toContain(`onnx_forge_hybrid_requests_total{model="${model}",outcome="ok"} 10`);
      expect(text).toContain(`onnx_forge_hybrid_quarantines_total{model="${model}",backend="wrong"} 1`);
      expect(text).toContain(`onnx_forge_hybrid_quarantined{model="${model}",backend="wrong"} 1`);
      expect(text).toContain(`onnx_forge_hybrid_breaker_state{model="${model}",backend="broken"} 2`);
      expect(text).toContain(`onnx_forge_hybrid_backend_errors_total{model="${model}",backend="broken",code="FORGE_RUNTIME"} 1`);
      expect(text).toContain(`onnx_forge_hybrid_selected{model="${model}",backend="ref"} 1`);
      expect(text).toMatch(new RegExp(`onnx_forge_hybrid_selections_total\\{model="${model}",backend="ref",reason="unavailable"\\} \\d`));
      expect(text).toContain(`onnx_forge_hybrid_backend_call_seconds_count{model="${model}",backend="ref"} 10`);
      expect(text).toMatch(new RegExp(`onnx_forge_hybrid_backend_calls_total\\{model="${model}",backend="ref",route="canary"\\} \\d`));
    }
    // The same name twice on one registry would merge two models' series: refused, until the first is disposed.
    expect(() => make('one')).toThrow(/already reports to this registry/);
    await one.dispose();
    expect(() => make('one')).not.toThrow();
    expect(await registry.metrics()).not.toContain('onnx_forge_hybrid_quarantined{model="one",backend="wrong"} 1');
  });

  it('times requests by outcome: request_seconds carries outcome ok or error, as requests_total', async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    let failing = false;
    const a = scriptedBackend('a', clock, () => ({ latencyMs: failing ? 1 : 20, fail: failing }));
    const model = new HybridModel({ name: 'timed', backends: [a], breaker: false, clock, metrics: { registry } });
    for (let i = 0; i < 3; i++) await clock.run(model.predict(requestFeeds(i)));
    failing = true;
    await expect(clock.run(model.predict(requestFeeds(3)))).rejects.toThrow(/every backend failed/);
    const text = await registry.metrics();
    expect(text).toMatch(/# HELP onnx_forge_hybrid_request_seconds .*outcome ok.*outcome error/);
    expect(text).toContain('onnx_forge_hybrid_request_seconds_count{model="timed",outcome="ok"} 3');
    expect(text).toContain('onnx_forge_hybrid_request_seconds_sum{model="timed",outcome="ok"} 0.06');
    expect(text).toContain('onnx_forge_hybrid_request_seconds_count{model="timed",outcome="error"} 1');
    expect(text).toContain('onnx_forge_hybrid_request_seconds_sum{model="timed",outcome="error"} 0.001');
    expect(text).not.toMatch(/onnx_forge_hybrid_request_seconds_count\{model="timed"\}/);
    await model.dispose();
  });

  it('keeps the code label of backend errors bounded: codes past the first 16 of a model, or not shaped like codes, are counted as OTHER', async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    let n = 0;
    // A backend that puts the request in its error code (as some HTTP clients do): one new code per call.
    const leaky = {
      name: 'leaky',
      async predict(): Promise<never> {
        await clock.sleep(1);
        throw Object.assign(new Error('upstream refused'), { code: n % 2 ? `E_REQUEST_${n++}` : `refused request ${n++} {"id": 1}` });
      },
      async dispose() {},
    };
    const model = new HybridModel({ name: 'bounded', backends: [leaky, scriptedBackend('ok', clock, () => ({ latencyMs: 1 }))], breaker: false, clock, metrics: { registry } });
    for (let i = 0; i < 200; i++) await clock.run(model.predict(requestFeeds(i)));
    const lines = (await registry.metrics()).split('\n').filter((l) => l.startsWith('onnx_forge_hybrid_backend_errors_total{'));
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.length).toBeLessThanOrEqual(17);
    expect(lines.some((l) => l.includes('code="OTHER"'))).toBe(true);
    expect(lines.every((l) => /code="[A-Z][A-Z0-9_]*"/.test(l))).toBe(true);
    const counted = lines.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    expect(counted).toBe(model.stats().backends.leaky?.errors);
    // onnx-forge's own codes keep their series past the bound.
    const timedOut = new HybridModel({ name: 'bounded-late', backends: [leaky, scriptedBackend('slow', clock, () => ({ latencyMs: 50 })), scriptedBackend('ok', clock, () => ({ latencyMs: 1 }))], breaker: false, timeoutMs: 10, clock, metrics: { registry } });
    for (let i = 0; i < 60; i++) await clock.run(timedOut.predict(requestFeeds(i)));
    expect(await registry.metrics()).toMatch(/onnx_forge_hybrid_backend_errors_total\{model="bounded-late",backend="slow",code="FORGE_TIMEOUT"\} [1-9]/);
    await timedOut.dispose();
    await model.dispose();
  });

  it("uses prom-client's default registry only when asked", async () => {
    const clock = new ManualClock();
    const model = new HybridModel({ name: 'on-default', backends: [scriptedBackend('a', clock, () => ({ latencyMs: 1 }))], clock, metrics: { registry: 'default' } });
    await clock.run(model.predict(requestFeeds(1)));
    expect(await defaultRegistry.metrics()).toContain('onnx_forge_hybrid_requests_total{model="on-default",outcome="ok"} 1');
    await model.dispose();
    defaultRegistry.clear();
  });
});
