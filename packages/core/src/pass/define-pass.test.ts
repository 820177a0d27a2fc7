import { describe, expect, it } from 'vitest';
import { ForgeErrorCode } from '../errors.js';
import { definePass } from './define-pass.js';

const demo = definePass({
  name: 'demo',
  description: 'test pass',
  options: {
    keepIoTypes: { type: ['boolean', 'string[]'], default: false as boolean | string[], description: 'keep io' },
    ratio: { type: 'number', default: 0.5, description: 'a ratio', validate: (v) => (v < 0 || v > 1 ? 'must be within [0, 1]' : undefined) },
    target: { type: { enum: ['cpu', 'wasm'] as const }, default: 'cpu' as 'cpu' | 'wasm', description: 'target' },
    steps: { type: 'integer', default: 3, description: 'steps' },
  },
  run() {},
});

const invalid = expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS });

describe('definePass', () => {
  it('fills in defaults and freezes the options', () => {
    const p = demo();
    expect(p.name).toBe('demo');
    expect(p.options).toEqual({ keepIoTypes: false, ratio: 0.5, target: 'cpu', steps: 3 });
    expect(Object.isFrozen(p.options)).toBe(true);
    expect(demo.passName).toBe('demo');
  });

  it.each([
    [{ nope: 1 }, /unknown option "nope"; options are keepIoTypes, ratio, target, steps/],
    [{ ratio: 'high' }, /option "ratio" must be number/],
    [{ ratio: 2 }, /option "ratio": must be within \[0, 1\]/],
    [{ target: 'gpu' }, /one of cpu\|wasm/],
    [{ steps: 1.5 }, /must be integer/],
    [{ keepIoTypes: 'x' }, /must be boolean or string\[\]/],
  ])('rejects %j with FORGE_INVALID_OPTIONS', (opts, message) => {
    expect(() => demo(opts as never)).toThrow(invalid);
    expect(() => demo(opts as never)).toThrow(message);
  });

  it('accepts either form of a union option', () => {
    expect(demo({ keepIoTypes: true }).options.keepIoTypes).toBe(true);
    expect(demo({ keepIoTypes: ['a', 'b'] }).options.keepIoTypes).toEqual(['a', 'b']);
  });

  it('types options written as text (pipelines, command lines)', () => {
    expect(demo.fromText({ keepIoTypes: 'true', ratio: '0.25', steps: '7', target: 'wasm' }).options).toEqual({
      keepIoTypes: true, ratio: 0.25, steps: 7, target: 'wasm',
    });
    expect(demo.fromText({ keepIoTypes: ['in', 'out'] }).options.keepIoTypes).toEqual(['in', 'out']);
    // A bare flag is true; a single word that is not a boolean is a one-name list.
    expect(demo.fromText({ keepIoTypes: '' }).options.keepIoTypes).toBe(true);
    expect(demo.fromText({ keepIoTypes: 'logits' }).options.keepIoTypes).toEqual(['logits']);
    expect(() => demo.fromText({ ratio: 'abc' })).toThrow(invalid);
    expect(() => demo.fromText({ steps: '' })).toThrow(invalid);
  });

  it('refuses a badly named pass', () => {
    expect(() => definePass({ name: 'Bad Name', description: '', options: {}, run() {} })).toThrow(invalid);
  });
});
