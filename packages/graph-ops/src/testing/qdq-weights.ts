import type { Model } from '@onnx-forge/core';

/** Element type of the weight each Conv of the main graph reads through a DequantizeLinear (QDQ form). */
export function convWeightTypes(model: Model): (number | undefined)[] {
  return model.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => {
    const dq = model.graph.producer(n.input[1] ?? '');
    return model.graph.initializer(dq?.input[0] ?? '')?.dataType;
  });
}
