import {
  DataType, ForgeError, ForgeErrorCode, Model, decodeTensor, dtypeName, errorMessage, float32ToFloat16Bits, isForgeError, onnx,
  tensorDims, tensorToArray, type TensorProto, type TypedArray,
} from '@onnx-forge/core';
import type { RunnerDType, RunnerFeeds, RunnerTensor } from '@onnx-forge/core';
import { parseNpy } from './parse-npy.js';
import { modelInputSpecs, validateFeeds, type SampleInputSpec } from './validate-feeds.js';

export interface LoadSamplesOptions {
  /** The model (or its input descriptions) every sample is checked against. */
  inputs?: Model | readonly SampleInputSpec[];
}

type Fs = typeof import('node:fs');
type PathMod = typeof import('node:path');

function bad(message: string, details: Record<string, unknown> = {}, cause?: unknown): ForgeError {
  return new ForgeError(ForgeErrorCode.BAD_SAMPLES, message, cause === undefined ? { details } : { details, cause });
}

const LAYOUTS =
  'expected ONNX test data (input_0.pb, input_1.pb ... or test_data_set_*/input_*.pb), NumPy files named after the inputs (<input>.npy or input_<k>.npy), or JSON files ({"<input>": nested array or {"type","dims","data"}}, or a list of such objects)';

/**
 * Reads calibration or validation samples from a folder, one RunnerFeeds per sample, checked against
 * the model's inputs (names, element types, shapes). Layouts:
 * - ONNX test data: `input_<k>.pb` TensorProto files in the folder (one sample) and/or in subfolders
 *   such as `test_data_set_<n>/` (one sample each); `output_*.pb` files are ignored.
 * - NumPy: `<input name>.npy` or `input_<k>.npy` files, laid out like the `.pb` files.
 * - JSON: each `.json` file holds one sample object or a list of them.
 * Node only: the file system is imported on use, so graph-ops still bundles for the browser.
 */
export async function loadSamples(dir: string, options: LoadSamplesOptions = {}): Promise<RunnerFeeds[]> {
  const out: RunnerFeeds[] = [];
  for await (const s of iterateSamples(dir, options)) out.push(s);
  return out;
}

/** Like loadSamples, one sample at a time (memory stays at one sample). */
export async function* iterateSamples(dir: string, options: LoadSamplesOptions = {}): AsyncGenerator<RunnerFeeds> {
  const [fs, path] = await Promise.all([import('node:fs'), import('node:path')]);
  const specs = options.inputs instanceof Model ? modelInputSpecs(options.inputs) : options.inputs;
  const nonTensor = options.inputs instanceof Model ? nonTensorInputs(options.inputs) : undefined;
  let stat;
  try {
    stat = fs.statSync(dir);
  } catch (e) {
    throw bad(`sample folder "${dir}" does not exist or cannot be read: ${errorMessage(e)}`, { dir }, e);
  }
  if (!stat.isDirectory()) throw bad(`"${dir}" is not a folder; ${LAYOUTS}`, { dir });
  const groups = [dir, ...listEntries(fs, path, dir, 'folders')];
  let count = 0;
  for (const folder of groups) {
    const files = listEntries(fs, path, folder, 'files');
    const tensorFiles = files.filter((f) => /\.(pb|npy)$/i.test(f) && !/^output_/i.test(path.basename(f)));
    if (tensorFiles.length) {
      const feeds = readTensorGroup(fs, path, tensorFiles, specs, nonTensor);
      const where = `sample ${path.relative(dir, folder) || path.basename(folder)}`;
      if (specs) validateFeeds(feeds, specs, `${where} (${folder})`);
      count++;
      yield feeds;
    }
    for (const file of files.filter((f) => /\.json$/i.test(f))) {
      for (const [i, feeds] of readJson(fs, file, specs, nonTensor).entries()) {
        if (specs) validateFeeds(feeds, specs, `sample ${i} of ${file}`);
        count++;
        yield feeds;
      }
    }
  }
  if (count === 0) throw bad(`no samples in "${dir}": ${LAYOUTS}`, { dir });
}

/** The folders or the files in `dir`, as paths, in natural order. */
function listEntries(fs: Fs, path: PathMod, dir: string, kind: 'folders' | 'files'): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => (kind === 'folders' ? e.isDirectory() : e.isFile()))
    .map((e) => path.join(dir, e.name))
    .sort(naturalCompare);
}

/** input_2 before input_10. */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function readBytes(fs: Fs, file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw bad(`cannot read sample file "${file}": ${errorMessage(e)}`, { file }, e);
  }
}

/** The type of a graph input as ONNX writes it: tensor(float), sequence(tensor(int64)), map(string, tensor(float)). */
interface TypeLike {
  tensorType?: { elemType: number } | null;
  sequenceType?: { elemType?: TypeLike | null } | null;
  mapType?: { keyType: number; valueType?: TypeLike | null } | null;
  optionalType?: { elemType?: TypeLike | null } | null;
  sparseTensorType?: { elemType: number } | null;
  opaqueType?: { domain: string; name: string } | null;
}

function typeText(t: TypeLike | null | undefined): string {
  if (!t) return '?';
  if (t.tensorType) return `tensor(${dtypeName(t.tensorType.elemType)})`;
  if (t.sequenceType) return `sequence(${typeText(t.sequenceType.elemType)})`;
  if (t.mapType) return `map(${dtypeName(t.mapType.keyType)}, ${typeText(t.mapType.valueType)})`;
  if (t.optionalType) return `optional(${typeText(t.optionalType.elemType)})`;
  if (t.sparseTensorType) return `sparse_tensor(${dtypeName(t.sparseTensorType.elemType)})`;
  if (t.opaqueType) return `opaque(${[t.opaqueType.domain, t.opaqueType.name].filter(Boolean).join('.')})`;
  return '?';
}

/** The model's inputs that take no plain tensor (sequence, map, optional, sparse), with their types. */
function nonTensorInputs(model: Model): Map<string, string> {
  const real = new Set(model.graph.realInputNames());
  const out = new Map<string, string>();
  for (const v of model.graph.inputs) {
    const t = v.type as TypeLike | null | undefined;
    if (real.has(v.name) && t && !t.tensorType && (t.sequenceType || t.mapType || t.optionalType || t.sparseTensorType || t.opaqueType)) out.set(v.name, typeText(t));
  }
  return out;
}

const NOT_SUPPORTED = 'sequence, map and optional inputs are not supported as samples (only tensors: .pb TensorProto, .npy or JSON)';

function nonTensorSample(where: string, input: string, type: string, file: string): ForgeError {
  return bad(`${where} is for input "${input}", which takes ${type}, not a tensor: ${NOT_SUPPORTED}`, { file, input, type });
}

/**
 * One sample from tensor files: each file names its input by the TensorProto name, by its file name
 * (`<input>.npy`), or by position (`input_<k>` is the k-th model input). A `.pb` that is not a
 * TensorProto (the SequenceProto, MapProto or OptionalProto of a non-tensor input) is refused.
 */
function readTensorGroup(fs: Fs, path: PathMod, files: string[], specs: readonly SampleInputSpec[] | undefined, nonTensor: ReadonlyMap<string, string> | undefined): RunnerFeeds {
  const feeds: RunnerFeeds = {};
  const inputNames = specs?.map((s) => s.name);
  // Tensors named for inputs the model does not have: taken by file name or position instead, they
  // are the likely cause when that goes wrong (test data of another model).
  const foreign: string[] = [];
  const foreignHint = () =>
    foreign.length && inputNames ? `; the files hold tensors named ${foreign.map((n) => `"${n}"`).join(', ')}, which are not inputs of the model (its inputs: ${inputNames.join(', ')}): are they samples of another model?` : '';
  for (const file of files) {
    const stem = path.basename(file).replace(/\.(pb|npy)$/i, '');
    const pb = /\.pb$/i.test(file);
    let proto: TensorProto | undefined;
    let decodeError: unknown;
    if (pb) {
      try {
        proto = decodeTensor(readBytes(fs, file), { source: file });
      } catch (e) {
        if (isForgeError(e, ForgeErrorCode.BAD_SAMPLES)) throw e;
        decodeError = e;
      }
    }
    const protoName = proto?.name ?? '';
    if (protoName && inputNames && !inputNames.includes(protoName)) foreign.push(protoName);
    const byIndex = /^input_(\d+)$/i.exec(stem);
    let name: string;
    if (protoName && (!inputNames || inputNames.includes(protoName))) name = protoName;
    else if (inputNames?.includes(stem)) name = stem;
    else if (byIndex && inputNames) {
      const k = Number(byIndex[1]);
      const n = inputNames[k];
      if (n === undefined) throw bad(`"${file}" is input ${k} but the model has ${inputNames.length} input(s): ${inputNames.join(', ')}${foreignHint()}`, { file });
      name = n;
    } else name = protoName || stem;
    const type = nonTensor?.get(name);
    if (type !== undefined) throw nonTensorSample(`"${file}"`, name, type, file);
    if (feeds[name]) throw bad(`two files give input "${name}" (the second is "${file}")${foreignHint()}`, { file, input: name });
    if (!pb) feeds[name] = parseNpy(readBytes(fs, file), file);
    else if (!proto) throw bad(`"${file}" is not a serialized ONNX TensorProto: ${errorMessage(decodeError)}`, { file }, decodeError);
    else feeds[name] = fromTensorProto(proto, file);
  }
  return feeds;
}

/**
 * A .pb that decodes as a TensorProto but whose dims do not match its values is another message read
 * as one: a SequenceProto's name, say, reads as a list of dims.
 */
function notATensor(file: string, dims: readonly number[], values: number | string): ForgeError {
  return bad(
    `"${file}" is not a TensorProto: read as one, it has dims [${dims.join(', ')}] but ${values} values, so it is likely a SequenceProto, MapProto or OptionalProto; ${NOT_SUPPORTED}`,
    { file, dims },
  );
}

function fromTensorProto(t: TensorProto, file: string): RunnerTensor {
  const type = dtypeName(t.dataType);
  const dims = tensorDims(t);
  const count = dims.reduce((a, d) => a * d, 1);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw notATensor(file, dims, 'an unknown number of');
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw bad(`"${file}" keeps its values in an external data file, which samples cannot; save the tensor with its values inside`, { file });
  }
  if (t.dataType === DataType.STRING) {
    if (t.stringData.length !== count) throw notATensor(file, dims, t.stringData.length);
    const dec = new TextDecoder();
    return { type: 'string', dims, data: t.stringData.map((b) => dec.decode(b)) };
  }
  const supported: readonly string[] = ['float32', 'float16', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool'];
  if (!supported.includes(type)) throw bad(`"${file}" holds ${type} data, which onnxruntime cannot take as an input`, { file, type });
  let view: TypedArray;
  try {
    view = tensorToArray(t) as TypedArray;
  } catch (e) {
    throw bad(`"${file}" is not a TensorProto that can be read (${errorMessage(e)}); ${NOT_SUPPORTED}`, { file }, e);
  }
  if (view.length !== count) throw notATensor(file, dims, view.length);
  // A copy, so the sample does not keep the file buffer alive and is aligned for any typed array.
  const data = (view as unknown as { slice(): TypedArray }).slice();
  return { type: type as RunnerDType, dims, data };
}

function readJson(fs: Fs, file: string, specs: readonly SampleInputSpec[] | undefined, nonTensor: ReadonlyMap<string, string> | undefined): RunnerFeeds[] {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(readBytes(fs, file)));
  } catch (e) {
    if (isForgeError(e)) throw e;
    throw bad(`"${file}" is not valid JSON: ${errorMessage(e)}`, { file }, e);
  }
  const list = Array.isArray(doc) ? doc : [doc];
  return list.map((entry, i) => {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw bad(`sample ${i} of "${file}" is not an object of input name -> tensor`, { file });
    const feeds: RunnerFeeds = {};
    for (const [name, value] of Object.entries(entry as Record<string, unknown>)) {
      if (specs && !specs.some((s) => s.name === name)) {
        throw bad(`sample ${i} of "${file}": tensor "${name}" is not an input of the model (inputs: ${specs.map((s) => s.name).join(', ')})`, { file, tensor: name });
      }
      const type = nonTensor?.get(name);
      if (type !== undefined) throw nonTensorSample(`sample ${i} of "${file}"`, name, type, file);
      feeds[name] = jsonTensor(value, specs?.find((s) => s.name === name)?.type, `input "${name}" of sample ${i} in "${file}"`);
    }
    return feeds;
  });
}

/** A tensor from JSON: `{type?, dims, data}` or a nested array (dims from the nesting). */
function jsonTensor(value: unknown, specType: RunnerDType | undefined, where: string): RunnerTensor {
  let type: string | undefined = specType;
  let dims: number[];
  let flat: unknown[];
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as { type?: unknown; dims?: unknown; data?: unknown };
    if (o.type !== undefined) {
      if (typeof o.type !== 'string') throw bad(`${where}: "type" must be a string`);
      type = o.type;
    }
    if (!Array.isArray(o.data)) throw bad(`${where}: "data" must be an array`);
    flat = (o.data as unknown[]).flat(Infinity);
    dims = Array.isArray(o.dims) ? (o.dims as unknown[]).map(Number) : nestedDims(o.data as unknown[], where);
  } else if (Array.isArray(value)) {
    dims = nestedDims(value, where);
    flat = value.flat(Infinity);
  } else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') {
    dims = [];
    flat = [value];
  } else {
    throw bad(`${where}: expected a nested array or {"type","dims","data"}`);
  }
  if (!type) throw bad(`${where}: no element type; give "type" or load with { inputs: model }`);
  return { type: type as RunnerDType, dims, data: typedFromJson(type, flat, where) };
}

function nestedDims(a: unknown[], where: string): number[] {
  const dims: number[] = [];
  let level: unknown = a;
  while (Array.isArray(level)) {
    dims.push(level.length);
    level = level[0];
  }
  const check = (x: unknown, depth: number): void => {
    if (depth === dims.length) {
      if (Array.isArray(x)) throw bad(`${where}: ragged nested array (deeper than its first element)`);
      return;
    }
    if (!Array.isArray(x) || x.length !== dims[depth]) throw bad(`${where}: ragged nested array (rows of different lengths at depth ${depth})`);
    for (const y of x) check(y, depth + 1);
  };
  check(a, 0);
  return dims;
}

function typedFromJson(type: string, flat: unknown[], where: string): TypedArray | string[] {
  const nums = (integer: boolean): number[] =>
    flat.map((v, i) => {
      const n = typeof v === 'boolean' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
        throw bad(`${where}: value ${i} (${JSON.stringify(v)}) is not ${integer ? 'an integer' : 'a number'} for ${type}`);
      }
      return n;
    });
  switch (type) {
    case 'float32': return Float32Array.from(nums(false));
    case 'float64': return Float64Array.from(nums(false));
    case 'float16': return Uint16Array.from(nums(false), (v) => float32ToFloat16Bits(v));
    case 'int8': return Int8Array.from(nums(true));
    case 'uint8': return Uint8Array.from(nums(true));
    case 'int16': return Int16Array.from(nums(true));
    case 'uint16': return Uint16Array.from(nums(true));
    case 'int32': return Int32Array.from(nums(true));
    case 'uint32': return Uint32Array.from(nums(true));
    case 'int64': return BigInt64Array.from(nums(true), (v) => BigInt(v));
    case 'uint64': return BigUint64Array.from(nums(true), (v) => BigInt(v));
    case 'bool': return Uint8Array.from(nums(true), (v) => (v ? 1 : 0));
    case 'string': return flat.map(String);
    default: throw bad(`${where}: unknown element type "${type}"`);
  }
}
