import type { TypedArray } from '../dtype.js';
import { onnx } from '../proto/onnx.generated.js';
import type { TensorProto } from '../proto/types.js';
import { createTensor, replaceTensorData } from './tensor.js';
import { deferTensorData, isLazy, snapshotTensor } from './tensor-data.js';

export type Derive = (source: TensorProto) => TypedArray | Uint8Array;

/**
 * Sets `target`'s data to `derive(from)`: the one way a weight pass stores what it computed from a
 * weight, so the same pass code serves models in memory and models streamed from files. When `from`
 * is in memory the result is stored now (`computed`, when the pass already has it, else
 * `derive(from)`). When `from` is lazy (still in its file), `computed` is dropped and `derive` runs
 * again on a snapshot of `from` when the writer reaches `target`, so converting a model holds one
 * weight at a time, never the converted model. `derive` must give the same bytes every time.
 */
export function deriveTensorData(target: TensorProto, dataType: number, from: TensorProto, derive: Derive, computed?: TypedArray | Uint8Array): void {
  if (!isLazy(from)) {
    replaceTensorData(target, dataType, computed ?? derive(from));
    return;
  }
  const source = snapshotTensor(from);
  deferTensorData(target, dataType, () => derive(source));
}

/** A new tensor whose data is `derive(from)`, stored or deferred as `deriveTensorData` does. */
export function derivedTensor(name: string, dataType: number, dims: readonly number[], from: TensorProto, derive: Derive, computed?: TypedArray | Uint8Array): TensorProto {
  if (!isLazy(from)) return createTensor(name, dataType, dims, computed ?? derive(from));
  const t = new onnx.TensorProto({ name, dataType, dims: [...dims] });
  const source = snapshotTensor(from);
  deferTensorData(t, dataType, () => derive(source));
  return t;
}
