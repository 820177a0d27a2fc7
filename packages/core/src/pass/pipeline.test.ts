import { describe, expect, it } from 'vitest';
import { ForgeErrorCode } from '../errors.js';
import { formatPipeline, parsePipeline } from './pipeline.js';

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
