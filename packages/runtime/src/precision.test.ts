import { describe, expect, it } from 'vitest';
import { precisionOrder } from './precision.js';

const all = ['fp32', 'fp16', 'int8'] as const;
const order = (provider: string, features: { fp16Native?: boolean }, policy = {}) => precisionOrder(provider, all, features, policy).map((c) => c.precision);

describe('precisionOrder', () => {
  it('puts fp16 first only where it runs natively', () => {
    expect(order('cuda', {})).toEqual(['fp16', 'fp32', 'int8']);
    expect(order('tensorrt', {})).toEqual(['fp16', 'fp32', 'int8']);
    expect(order('webgpu', { fp16Native: true })).toEqual(['fp16', 'fp32', 'int8']);
    expect(order('webgpu', { fp16Native: false })).toEqual(['fp32', 'int8', 'fp16']);
    expect(order('webgpu', {})).toEqual(['fp32', 'int8', 'fp16']);
    expect(order('webgpu', {}, { capabilities: { shaderF16: true } })).toEqual(['fp16', 'fp32', 'int8']);
    expect(order('cpu', { fp16Native: false })).toEqual(['fp32', 'int8', 'fp16']);
    expect(order('wasm', { fp16Native: false })).toEqual(['fp32', 'int8', 'fp16']);
  });

  it("prefers int8 on CPUs with prefer: 'speed', never on GPUs", () => {
    expect(order('cpu', {}, { prefer: 'speed' })).toEqual(['int8', 'fp32', 'fp16']);
    expect(order('wasm', {}, { prefer: 'speed' })).toEqual(['int8', 'fp32', 'fp16']);
    expect(order('webgpu', {}, { prefer: 'speed' })).toEqual(['fp32', 'int8', 'fp16']);
    expect(order('cuda', {}, { prefer: 'speed' })).toEqual(['fp16', 'fp32', 'int8']);
  });

  it('gives the reason of the first choice and marks the rest as fallbacks', () => {
    const cpu = precisionOrder('cpu', all, { fp16Native: false });
    expect(cpu[0]?.reason).toMatch(/fp32 is the reference precision; not fp16: cpu has no native fp16 kernels .*#25824.*; int8 is preferred with prefer: 'speed'/);
    expect(cpu[1]?.reason).toMatch(/^fallback after fp32 did not load/);
    const gpu = precisionOrder('webgpu', all, { fp16Native: true, note: 'the adapter has shader-f16' });
    expect(gpu[0]?.reason).toBe('webgpu runs fp16 natively (the adapter has shader-f16): half the memory traffic of fp32');
    expect(precisionOrder('webgpu', all, { fp16Native: false })[0]?.reason).toMatch(/the WebGPU adapter lacks shader-f16/);
    // Without shader-f16 a float16 variant is no "runs, but" on WebGPU: its kernels do not compile there.
    expect(precisionOrder('webgpu', all, { fp16Native: false })[2]?.reason).toBe('fallback after fp32, int8 did not load: fp16 only as a last try: the WebGPU adapter lacks shader-f16, which float16 WebGPU kernels need');
    expect(precisionOrder('cuda', ['int8'], {})[0]?.reason).toMatch(/ConvInteger has no CUDA kernel/);
  });

  it('orders only the variants given', () => {
    expect(precisionOrder('cpu', ['fp16'], {}).map((c) => c.precision)).toEqual(['fp16']);
    expect(precisionOrder('cpu', ['fp16'], {})[0]?.reason).toMatch(/^fp16 runs, but cpu has no native fp16 kernels/);
    expect(precisionOrder('cuda', ['fp32', 'int8'], {}).map((c) => c.precision)).toEqual(['fp32', 'int8']);
  });
});

describe('precisionOrder with the int8 fit of this CPU', () => {
  const withFit = (fit: { arithmetic: 'exact' | 'saturating'; saturationSafe: boolean | undefined }, policy = {}) =>
    precisionOrder('cpu', all, { fp16Native: false }, policy, fit);

  it('never puts a full-range int8 variant ahead on a CPU that saturates u8 x s8 pairs, even for speed', () => {
    const order = withFit({ arithmetic: 'saturating', saturationSafe: false }, { prefer: 'speed' });
    expect(order.map((c) => c.precision)).toEqual(['fp32', 'fp16', 'int8']);
    expect(order[0]?.reason).toMatch(/not int8: the int8 variant has full-range weights .* saturate u8 x s8 pairs/);
    expect(order[2]?.reason).toMatch(/re-quantize with isa portable/);
  });

  it('keeps int8 first for speed where it stays accurate, and says why', () => {
    const safe = withFit({ arithmetic: 'saturating', saturationSafe: true }, { prefer: 'speed' });
    expect(safe.map((c) => c.precision)).toEqual(['int8', 'fp32', 'fp16']);
    expect(safe[0]?.reason).toMatch(/7-bit weights stay within range/);
    const exact = withFit({ arithmetic: 'exact', saturationSafe: false }, { prefer: 'speed' });
    expect(exact.map((c) => c.precision)).toEqual(['int8', 'fp32', 'fp16']);
    expect(exact[0]?.reason).toMatch(/sum u8 x s8 products exactly/);
    const unknown = withFit({ arithmetic: 'saturating', saturationSafe: undefined }, { prefer: 'speed' });
    expect(unknown[0]?.reason).toMatch(/does not say whether its weights stay within range/);
  });
});
