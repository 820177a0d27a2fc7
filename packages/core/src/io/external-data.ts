import { DataType, isKnownDataType, rawByteLength } from '../dtype.js';
import { ForgeError, ForgeErrorCode, errorMessage } from '../errors.js';
import { modelTensors } from '../ir/model-tensors.js';
import { onnx } from '../proto/onnx.generated.js';
import type { ModelProto, TensorProto } from '../proto/types.js';
import { checkRegion, type ByteSource } from './byte-source.js';
import { fileSourceOf } from './file-source.js';

type Fs = typeof import('node:fs');
type PathMod = typeof import('node:path');

/** Where external data comes from: a source per location (the model's folder in Node, dropped files in a browser). */
export type ExternalDataResolver = (location: string) => ByteSource | Promise<ByteSource>;

/** A value of a tensor's external_data entries (location, offset, length, checksum). */
export function externalEntry(t: TensorProto, key: string): string | undefined {
  return t.externalData.find((e) => e.key === key)?.value;
}

/**
 * Why an external data location is refused, or undefined when it is a file inside `dir`. ONNX
 * requires a relative path; anything that resolves outside the model's folder could read or overwrite
 * files the user never meant to share with the model.
 */
export function locationProblem(location: string, dir: string, path: PathMod): string | undefined {
  if (location.includes('\0')) return `external data location "${location}" contains a NUL character`;
  if (path.isAbsolute(location)) return `external data location "${location}" is absolute; ONNX requires a path relative to the model's folder`;
  const rel = path.relative(dir, path.resolve(dir, location));
  if (rel === '') return `external data location "${location}" is the model's folder itself, not a file in it`;
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    return `external data location "${location}" points outside the model's folder`;
  }
  return undefined;
}

/**
 * Why a location that `locationProblem` accepts is still refused once symbolic links are followed:
 * a link in the model's folder (to a file, or to a folder on the way) that leads outside it would
 * put bytes the user never meant to share into every model written from this one. Allowed real
 * places: the model's folder (itself perhaps reached through a link), and the real folder of the
 * model file, so a cache whose snapshot files all link into one store (Hugging Face's) still works.
 * A location that does not exist is left to the caller, which reports it.
 */
export function linkProblem(location: string, full: string, roots: readonly string[], fs: Fs, path: PathMod): string | undefined {
  let real: string;
  try {
    real = fs.realpathSync(full);
  } catch {
    return undefined;
  }
  const inside = (root: string) => {
    const rel = path.relative(root, real);
    return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
  };
  const realRoots: string[] = [];
  for (const root of roots) {
    try {
      realRoots.push(fs.realpathSync(root));
    } catch {
      // a root that does not exist holds nothing
    }
  }
  if (realRoots.some(inside)) return undefined;
  return `external data location "${location}" is a link to "${real}", outside the model's folder; copy the file into the model's folder if it belongs to the model`;
}

/**
 * Where a model's external data may really be once links are followed (linkProblem's roots): the
 * model's folder `dir`, and with `modelFile` the real folder of the model file.
 */
export function modelFolderRoots(dir: string, fs: Fs, path: PathMod, modelFile?: string): string[] {
  const roots = [dir];
  if (modelFile !== undefined) {
    try {
      roots.push(path.dirname(fs.realpathSync(modelFile)));
    } catch {
      // the model was read, so this only fails when it vanished since: the folder alone counts
    }
  }
  return roots;
}

/**
 * Files in the model's folder, and only there: a location that is absolute or leads outside it,
 * by name or through a symbolic link, is refused. One source per file, each checked to be a regular
 * file. `modelFile`, when given, lets a location link into the model file's own real folder.
 */
export function folderResolver(dir: string, fs: Fs, path: PathMod, modelFile?: string): ExternalDataResolver {
  const sources = new Map<string, ByteSource>();
  let roots: string[] | undefined;
  const rootsOf = (): string[] => (roots ??= modelFolderRoots(dir, fs, path, modelFile));
  return (location) => {
    const problem = locationProblem(location, dir, path);
    if (problem) throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, problem, { details: { location, dir } });
    const full = path.resolve(dir, location);
    let source = sources.get(full);
    if (!source) {
      // Links are followed once per file, when it is first opened.
      const linked = linkProblem(location, full, rootsOf(), fs, path);
      if (linked) throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, linked, { details: { location, dir } });
      let st: import('node:fs').Stats;
      try {
        st = fs.statSync(full);
        if (!st.isFile()) throw new Error(st.isDirectory() ? 'it is a folder' : 'it is not a regular file');
      } catch (e) {
        throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `cannot open external data file "${location}" next to the model: ${errorMessage(e)}`, { cause: e, details: { location, dir } });
      }
      source = fileSourceOf(fs, full, st.size, st);
      sources.set(full, source);
    }
    return source;
  };
}

/**
 * An external data offset or length as ONNX writes it: a decimal integer with nothing around it.
 * NaN for anything else ("0x10", "", " 4", "1e3", "-1"),
 * which would otherwise be read as some other number and point at the wrong bytes.
 */
function externalNumber(value: string): number {
  return /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
}

/**
 * A tensor's external data region in a file of `size` bytes: its offset (0 when absent) and length,
 * NaN where an entry is not a decimal integer (externalNumber). Without a length, the tensor takes
 * the bytes its dims and type need, as onnxruntime reads it (tensors that share a file often give
 * only offsets), or the rest of the file when its dims cannot say (strings, corrupt dims).
 */
export function externalSpan(t: TensorProto, size: number): { offset: number; length: number } {
  const offsetText = externalEntry(t, 'offset');
  const lengthText = externalEntry(t, 'length');
  const offset = offsetText === undefined ? 0 : externalNumber(offsetText);
  if (lengthText !== undefined) return { offset, length: externalNumber(lengthText) };
  return { offset, length: bytesByDims(t) ?? size - offset };
}

/** The raw data bytes a tensor's dims and type call for, or undefined when they cannot say. */
function bytesByDims(t: TensorProto): number | undefined {
  if (!isKnownDataType(t.dataType) || t.dataType === DataType.UNDEFINED || t.dataType === DataType.STRING) return undefined;
  let count = 1;
  for (const d of t.dims) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return undefined;
    count *= d;
  }
  const bytes = rawByteLength(t.dataType, count);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A tensor whose data is in an external source, with its checked region. */
export interface ExternalRegion {
  tensor: TensorProto;
  location: string;
  source: ByteSource;
  offset: number;
  length: number;
}

/**
 * The external data files `proto`'s tensors name, each once, in the order first named. A tensor stored
 * as external data with no location fails with FORGE_EXTERNAL_DATA naming it.
 */
export function externalLocations(proto: ModelProto): string[] {
  const locations = new Set<string>();
  for (const { tensor: t } of modelTensors(proto)) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const location = externalEntry(t, 'location');
    if (!location) throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `tensor "${t.name}": external data has no "location"`, { details: { tensor: t.name } });
    locations.add(location);
  }
  return [...locations];
}

/**
 * Every tensor of `proto` stored as external data, resolved to a checked region of its source: a
 * location that is missing or refused, an offset or length that is not a number, or a region past the
 * end of its file (a truncated download) fails with FORGE_EXTERNAL_DATA naming the tensor.
 */
export async function externalRegions(proto: ModelProto, resolve: ExternalDataResolver, where: string): Promise<ExternalRegion[]> {
  const out: ExternalRegion[] = [];
  for (const { tensor: t } of modelTensors(proto)) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const location = externalEntry(t, 'location');
    const fail = (msg: string, cause?: unknown): never => {
      throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `tensor "${t.name}": ${msg}`, { cause, details: { tensor: t.name, location, dir: where } });
    };
    if (!location) fail('external data has no "location"');
    const loc = location as string;
    let source: ByteSource | undefined;
    try {
      source = await resolve(loc);
    } catch (e) {
      fail(errorMessage(e), e);
    }
    const s = source as ByteSource;
    const offsetStr = externalEntry(t, 'offset');
    const lengthStr = externalEntry(t, 'length');
    const { offset, length } = externalSpan(t, s.size);
    if (!Number.isSafeInteger(offset)) fail(`bad external data offset "${offsetStr}": ONNX needs a decimal byte offset`);
    if (!Number.isSafeInteger(length) || length < 0) {
      fail(lengthStr === undefined ? `bad external data offset ${offset}: "${loc}" has only ${s.size} bytes` : `bad external data length "${lengthStr}": ONNX needs a decimal byte count`);
    }
    if (offset + length > s.size) fail(`external data [${offset}, ${offset + length}) is past the end of "${loc}" (${s.size} bytes): the file is truncated`);
    try {
      checkRegion(s, offset, length);
    } catch (e) {
      fail(errorMessage(e), e);
    }
    out.push({ tensor: t, location: loc, source: s, offset, length });
  }
  return out;
}
