import { ModelBuilder } from '@onnx-forge/core';

let bytes: Uint8Array | undefined;

/**
 * The smallest real model (y = x + 1, float32 [1]): creating a session for it starts a provider
 * (loads its library, finds an adapter) without involving the user's model, so a failure here is the
 * provider's ('init' phase), not the model's ('create' phase).
 */
export function probeModel(): Uint8Array {
  if (!bytes) {
    const b = new ModelBuilder({ opset: 13, graphName: 'provider_probe' });
    const x = b.input('x', 'float32', [1]);
    b.output(b.op('Add', [x, b.constant([1])], {}, { outputs: ['y'] }), 'float32', [1]);
    bytes = b.build().encode();
  }
  return bytes;
}
