import { ForgeError, ForgeErrorCode, declaredDims, dtypeName, type Model } from '@onnx-forge/core';
import type { RunnerDType, RunnerFeeds } from '@onnx-forge/core';

/** What a model expects for one input: element type and shape (numbers fixed, strings/null free). */
export interface SampleInputSpec {
  name: string;
  type: RunnerDType;
  dims: readonly (number | string | null)[] | null;
  /**
   * The element type the model declares, when samples cannot carry it (bfloat16, float8, complex...):
   * `type` then falls back to float32, and a message must not name that fallback as the model's type.
   */
  declaredType?: string;
}

const RUNNER_TYPES: readonly string[] = ['float32', 'float16', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string'];

/** The inputs a model takes from its caller (graph inputs that are not initializers). */
export function modelInputSpecs(model: Model): SampleInputSpec[] {
  const g = model.graph;
  const real = new Set(g.realInputNames());
  return g.inputs
    .filter((v) => real.has(v.name))
    .map((v) => {
      const t = v.type?.tensorType;
      const type = dtypeName(t?.elemType ?? 0);
      const dims = declaredDims(t?.shape);
      if (RUNNER_TYPES.includes(type)) return { name: v.name, type: type as RunnerDType, dims };
      return { name: v.name, type: 'float32' as RunnerDType, dims, declaredType: type };
    });
}

function bad(message: string, details: Record<string, unknown> = {}): ForgeError {
  return new ForgeError(ForgeErrorCode.BAD_SAMPLES, message, { details });
}

/**
 * Checks one sample against the model's inputs: every input present, no unknown names, element types
 * equal, ranks equal and fixed dimensions matching, data length matching the dims.
 */
export function validateFeeds(feeds: RunnerFeeds, specs: readonly SampleInputSpec[], where: string): void {
  const names = specs.map((s) => s.name);
  for (const name of Object.keys(feeds)) {
    if (!names.includes(name)) {
      throw bad(`${where}: tensor "${name}" is not an input of the model (inputs: ${names.join(', ')})`, { where, tensor: name, inputs: names });
    }
  }
  for (const spec of specs) {
    const t = feeds[spec.name];
    if (!t) throw bad(`${where}: no tensor for input "${spec.name}" (${spec.type}${fmtDims(spec.dims)})`, { where, input: spec.name });
    if (spec.declaredType !== undefined) {
      throw bad(`${where}: input "${spec.name}" is ${t.type} but the model takes ${spec.declaredType}, which onnxruntime-node cannot be fed from samples`, {
        where, input: spec.name, got: t.type, want: spec.declaredType,
      });
    }
    if (t.type !== spec.type) {
      throw bad(`${where}: input "${spec.name}" is ${t.type} but the model takes ${spec.type}; convert the data (e.g. numpy .astype) before saving it`, {
        where, input: spec.name, got: t.type, want: spec.type,
      });
    }
    const count = t.dims.reduce((a, d) => a * d, 1);
    if (t.dims.some((d) => !Number.isInteger(d) || d < 0) || count !== t.data.length) {
      throw bad(`${where}: input "${spec.name}" has dims [${t.dims.join(', ')}] but ${t.data.length} values`, { where, input: spec.name });
    }
    if (spec.dims) {
      if (spec.dims.length !== t.dims.length) {
        throw bad(`${where}: input "${spec.name}" has shape [${t.dims.join(', ')}] (rank ${t.dims.length}) but the model takes${fmtDims(spec.dims)} (rank ${spec.dims.length})`, {
          where, input: spec.name, got: t.dims, want: spec.dims,
        });
      }
      spec.dims.forEach((d, i) => {
        if (typeof d === 'number' && t.dims[i] !== d) {
          throw bad(`${where}: input "${spec.name}" has shape [${t.dims.join(', ')}] but the model takes${fmtDims(spec.dims)} (dimension ${i} must be ${d})`, {
            where, input: spec.name, got: t.dims, want: spec.dims,
          });
        }
      });
    }
  }
}

function fmtDims(dims: SampleInputSpec['dims']): string {
  return dims ? ` [${dims.map((d) => d ?? '?').join(', ')}]` : '';
}
