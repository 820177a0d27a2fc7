import { ModelBuilder, Rng, type Model } from '@onnx-forge/core';

/**
 * A classifier whose hidden activations span three orders of magnitude: one channel of the features is
 * scaled by `outlier` (300; as a badly normalised input or an outlier feature does in real models) but
 * carries little weight, so the output is made by the small channels. Dynamic INT8 quantizes each
 * activation tensor with one scale set by its largest value, which rounds most small values to zero:
 * at the default outlier the logits fall far below a 0.99 cosine and lose top-1 agreement (the tests
 * that use it assert that INT8 is refused or below 0.9), less so at smaller outliers. Float16 holds such
 * values easily.
 * Input x float32 [batch, 64]; output y float32 [batch, 16].
 */
export function wideRangeClassifier(seed = 3, outlier = 300): Model {
  const rng = new Rng(seed);
  const b = new ModelBuilder({ opset: 17, graphName: 'wide_range_classifier' });
  const x = b.input('x', 'float32', ['batch', 64]);
  const scale = new Float32Array(64).fill(1);
  scale[0] = outlier;
  const h = b.op('Mul', [x, b.initializer('feature_scale', scale, [64])]);
  const w1 = rng.fillNormalish(new Float32Array(64 * 64), 0.15);
  for (let j = 0; j < 64; j++) w1[j] = 1e-5 * rng.normal();
  const h1 = b.op('Relu', [b.op('MatMul', [h, b.initializer('fc1.weight', w1, [64, 64])])]);
  const w2 = rng.fillNormalish(new Float32Array(64 * 16), 0.2);
  const y = b.op('MatMul', [h1, b.initializer('fc2.weight', w2, [64, 16])], {}, { outputs: ['y'] });
  b.output(y, 'float32', ['batch', 16]);
  return b.build();
}
