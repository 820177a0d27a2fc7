import type { TypedArray } from '../dtype.js';
import { onnx } from '../proto/onnx.generated.js';
import type { TensorProto } from '../proto/types.js';
import { createTensor, replaceTensorData } from './tensor.js';
import { deferTensorData, isLazy, snapshotTensor } from './tensor-data.js';

/**
 * Makes the derived data from the source tensor. `into`, when given, is lent memory of the result's
 * byte length (see `deferTensorData`) that the derive may fill and return instead of new memory.
 */
export type Derive = (source: TensorProto, into?: Uint8Array) => TypedArray | Uint8Array;

/** What the pass already has: the data, or a function that makes it from what the pass holds (called only for a weight in memory). */
export type Computed = TypedArray | Uint8Array | (() => TypedArray | Uint8Array);

function now(computed: Computed | undefined, derive: Derive, from: TensorProto): TypedArray | Uint8Array {
  if (computed === undefined) return derive(from);
  return typeof computed === 'function' ? computed() : computed;
}

/**
 * Sets `target`'s data to `derive(from)`: the one way a weight pass stores what it computed from a
 * weight, so the same pass code serves models in memory and models streamed from files. When `from`
 * is in memory the result is stored now (`computed`, when the pass already has it or can make it from
 * what it holds, else `derive(from)`). When `from` is lazy (still in its file), `computed` is dropped
 * (given as a function, never called: the pass computes only what the graph needs now) and `derive`
 * runs on a snapshot of `from` when the writer reaches `target`, so converting a model holds one
 * weight at a time, never the converted model. `derive` must give the same bytes every time.
 */
export function deriveTensorData(target: TensorProto, dataType: number, from: TensorProto, derive: Derive, computed?: Computed): void {
  if (!isLazy(from)) {
    replaceTensorData(target, dataType, now(computed, derive, from));
    return;
  }
  const source = snapshotTensor(from);
  deferTensorData(target, dataType, (into) => derive(source, into));
}

/** A new tensor whose data is `derive(from)`, stored or deferred as `deriveTensorData` does. */
export function derivedTensor(name: string, dataType: number, dims: readonly number[], from: TensorProto, derive: Derive, computed?: Computed): TensorProto {
  if (!isLazy(from)) return createTensor(name, dataType, dims, now(computed, derive, from));
  const t = new onnx.TensorProto({ name, dataType, dims: [...dims] });
  const source = snapshotTensor(from);
  deferTensorData(t, dataType, (into) => derive(source, into));
  return t;
}
