import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { functionBackend } from './function-backend.js';
import { HybridModel } from './hybrid-model.js';

const x = { x: { data: new Float32Array([1, 2]), dims: [1, 2] } };
const answer = () => ({ y: { data: [3], dims: [1, 1] } });
const mustBeHalf = () => {
  throw new ForgeError(ForgeErrorCode.BAD_INPUT, 'input "x" must be float16, got float32');
};

describe('HybridModel.summary()', () => {
  it('gives the last error of a backend that had errors, healthy or not', async () => {
    const hybrid = new HybridModel({ backends: [functionBackend('bad', mustBeHalf), functionBackend('good', answer)], policy: { order: ['good', 'bad'] }, breaker: false, stability: { exploration: 1 } });
    for (let i = 0; i < 4; i++) await hybrid.predict(x);
    const s = hybrid.stats();
    expect(s.backends.bad).toMatchObject({ state: 'healthy', successes: 0 });
    const summary = hybrid.summary();
    expect(summary).toMatch(new RegExp(`bad healthy, ${s.backends.bad?.errors} of ${s.backends.bad?.errors} calls failed; the last: input "x" must be float16, got float32`));
    expect(summary).toMatch(/selected good after/);
    await hybrid.dispose();
  });

  it('never names a backend that served nothing as selected without saying every call failed', async () => {
    const hybrid = new HybridModel({ backends: [functionBackend('bad', mustBeHalf), functionBackend('good', answer)], policy: { order: ['bad', 'good'] }, breaker: false });
    for (let i = 0; i < 5; i++) await hybrid.predict(x);
    const s = hybrid.stats();
    expect(s).toMatchObject({ selected: 'bad', failed: 0, fallbacks: 5, backends: { bad: { served: 0, successes: 0, errors: 5 }, good: { served: 5 } } });
    expect(hybrid.summary()).toMatch(/selected bad \(every call failed: input "x" must be float16, got float32\) after 0 switches/);
    await hybrid.dispose();
  });
});
