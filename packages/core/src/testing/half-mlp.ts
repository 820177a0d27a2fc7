import { ModelBuilder } from '../builder/model-builder.js';
import { Rng } from '../builder/random.js';
import { float16ArrayToFloat32, float32ArrayToFloat16 } from '../numeric/float16.js';

/**
 * One seeded two-layer MLP (x float32 [batch, 16] → y float32 [batch, 8]) in three forms:
 * - 'fp32': float32 throughout, its weights rounded to float16 values, so the others differ from it
 *   only by float16 arithmetic;
 * - 'fp16': computes in float16 (Cast of x, MatMul/Add/Relu on float16 weights, Cast of y), the form
 *   the fp16 pass gives with keepIoTypes, built here for packages below graph-ops (runtime's tests);
 * - 'fp16-weights': weights stored in float16 and cast to float32 where read, computing in float32.
 */
export function halfMlp(form: 'fp32' | 'fp16' | 'fp16-weights'): Uint8Array {
  const rng = new Rng(11);
  const half = (n: number, std: number) => float32ArrayToFloat16(rng.fillNormalish(new Float32Array(n), std));
  const layers = [
    { w: half(16 * 32, 0.35), b: half(32, 0.05), dims: [16, 32] },
    { w: half(32 * 8, 0.25), b: half(8, 0.05), dims: [32, 8] },
  ];
  const b = new ModelBuilder({ opset: 17, graphName: `half_mlp_${form}` });
  const weight = (name: string, bits: Uint16Array, dims: number[]) => {
    if (form === 'fp16') return b.initializer(name, bits, dims, 'float16');
    if (form === 'fp32') return b.initializer(name, float16ArrayToFloat32(bits), dims);
    return b.op('Cast', [b.initializer(`${name}_fp16`, bits, dims, 'float16')], { to: 1 });
  };
  let x = b.input('x', 'float32', ['batch', 16]);
  if (form === 'fp16') x = b.op('Cast', [x], { to: 10 }, { name: 'cast_in' });
  layers.forEach((l, i) => {
    x = b.op('Add', [b.op('MatMul', [x, weight(`w${i}`, l.w, l.dims)], {}, { name: `matmul_${i}` }), weight(`b${i}`, l.b, [l.dims[1] as number])]);
    if (i === 0) x = b.op('Relu', [x]);
  });
  if (form === 'fp16') x = b.op('Cast', [x], { to: 1 }, { name: 'cast_out' });
  b.output(b.op('Identity', [x], {}, { outputs: ['y'] }), 'float32', ['batch', 8]);
  return b.build().encode();
}
