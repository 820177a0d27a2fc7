import { describe, expect, it } from 'vitest';
import { ForgeErrorCode } from '../errors.js';
import { formatPipeline, parsePipeline } from './pipeline.js';
import { definePass } from './define-pass.js';
import { definePipeline } from './define-pipeline.js';
import { PassRegistry } from './pass-registry.js';

describe('parsePipeline', () => {
  it.each([
    ['cleanup', [{ name: 'cleanup', options: {} }]],
    ['fp16{keepIoTypes=true},cleanup', [{ name: 'fp16', options: { keepIoTypes: 'true' } }, { name: 'cleanup', options: {} }]],
    ['fp16{ blockOps = [Resize, TopK] , target=cpu }', [{ name: 'fp16', options: { blockOps: ['Resize', 'TopK'], target: 'cpu' } }]],
    ['int8-dynamic{nodes=["a,b", c]}', [{ name: 'int8-dynamic', options: { nodes: ['a,b', 'c'] } }]],
    ['fp16{keepIoTypes}', [{ name: 'fp16', options: { keepIoTypes: '' } }]],
  ])('parses %s', (text, expected) => {
    expect(parsePipeline(text)).toEqual(expected);
  });

  it.each(['', 'fp16{', 'fp16{a=1,a=2}', 'Fp16', 'fp16,', 'fp16{x=[a,b}', 'a b', 'fp16{=1}'])('rejects %j with FORGE_INVALID_PIPELINE', (text) => {
    expect(() => parsePipeline(text)).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_PIPELINE }));
  });

  it('formats back to text that parses to the same steps', () => {
    const steps = parsePipeline('fp16{keepIoTypes=[in,"a,b"],target=cpu},cleanup');
    expect(parsePipeline(formatPipeline(steps))).toEqual(steps);
  });
});

describe('named pipelines', () => {
  const pass = (name: string) => definePass({ name, description: name, options: { n: { type: 'integer', default: 0, description: 'n' } }, run() {} });
  const registry = () => new PassRegistry([pass('a'), pass('b'), definePipeline({ name: 'both', description: 'a then b', steps: 'a,b{n=2}' })]);

  it('expand into their passes, each configured as written in the definition', () => {
    const passes = registry().parse('both,a{n=1}');
    expect(passes.map((p) => `${p.name}:${(p.options as { n: number }).n}`)).toEqual(['a:0', 'b:2', 'a:1']);
    expect(registry().pipelines().map((p) => p.pipelineName)).toEqual(['both']);
    expect(registry().has('both')).toBe(true);
  });

  it('take no options, may not include themselves, and may not reuse a pass name', () => {
    expect(() => registry().parse('both{n=1}')).toThrow(/is a pipeline \(a,b\{n=2\}\) and takes no options/);
    const r = registry().register(definePipeline({ name: 'loop', description: 'x', steps: 'a,loop' }));
    expect(() => r.parse('loop')).toThrow(/includes itself \(loop -> loop\)/);
    expect(() => registry().register(definePipeline({ name: 'a', description: 'x', steps: 'b' }))).toThrow(/already registered/);
    expect(() => definePipeline({ name: 'bad', description: 'x', steps: 'a{' })).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_PIPELINE' }));
  });
});
