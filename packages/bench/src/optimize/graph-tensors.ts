import { declaredDims, type Model } from '@onnx-forge/core';
import { modelInputSpecs } from '@onnx-forge/graph-ops';
import type { ManifestTensor } from '../repository/manifest.js';

function dtypeOf(elem: number): string {
  const names: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64' };
  return names[elem] ?? `type ${elem}`;
}

/** A model's inputs and outputs as the result and the manifest list them: name, element type and declared shape. */
export function graphTensors(model: Model): { inputs: ManifestTensor[]; outputs: ManifestTensor[] } {
  const inputs = modelInputSpecs(model).map((s) => ({ name: s.name, type: s.type, shape: s.dims ? [...s.dims] : null }));
  const outputs = model.graph.outputs.map((v) => {
    const t = v.type?.tensorType;
    const shape = declaredDims(t?.shape);
    return { name: v.name, type: t ? dtypeOf(t.elemType ?? 0) : 'unknown', shape };
  });
  return { inputs, outputs };
}
