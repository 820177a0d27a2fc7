import type { Model } from '@onnx-forge/core';
import { type OrtBackend, openOrtSession } from '@onnx-forge/runtime/testing';

/*
 * Test sessions on onnxruntime-node (CPU) and onnxruntime-web (the wasm backend, run in Node): the
 * runtime's plain onnxruntime test sessions, with one float input of rows and typed outputs.
 */
export { ORT_BACKENDS } from '@onnx-forge/runtime/testing';
export type { OrtBackend } from '@onnx-forge/runtime/testing';

export interface OrtOutput {
  type: string;
  dims: readonly number[];
  data: Float32Array | BigInt64Array;
}

export interface TestSession {
  run(input: Float32Array, rows: number, inputName?: string): Promise<Record<string, OrtOutput>>;
  release(): Promise<void>;
}

export async function loadSession(backend: OrtBackend, model: Model | Uint8Array): Promise<TestSession> {
  const { ort, session } = await openOrtSession(backend, model instanceof Uint8Array ? model : model.encode());
  return {
    run: async (input, rows, inputName = 'input') => {
      const out = await session.run({ [inputName]: new ort.Tensor('float32', input, [rows, input.length / rows]) });
      const res: Record<string, OrtOutput> = {};
      for (const [k, v] of Object.entries(out)) res[k] = { type: v.type, dims: v.dims, data: v.data as Float32Array | BigInt64Array };
      return res;
    },
    release: () => session.release(),
  };
}

/** Runs a model once on one backend and releases the session. */
export async function runOnce(backend: OrtBackend, model: Model, input: Float32Array, rows: number, inputName?: string): Promise<Record<string, OrtOutput>> {
  const s = await loadSession(backend, model);
  try {
    return await s.run(input, rows, inputName);
  } finally {
    await s.release();
  }
}

/** Float32 values of an output. */
export function floats(o: OrtOutput | undefined): number[] {
  if (!o || !(o.data instanceof Float32Array)) throw new Error(`expected a float32 output, got ${o?.type}`);
  return Array.from(o.data);
}

/** int64 values of an output as numbers. */
export function ints(o: OrtOutput | undefined): number[] {
  if (!o || !(o.data instanceof BigInt64Array)) throw new Error(`expected an int64 output, got ${o?.type}`);
  return Array.from(o.data, Number);
}
