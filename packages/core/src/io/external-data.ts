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
 * Files in the model's folder, and only there: a location that is absolute or leads outside it is
 * refused. One source per file, each checked to be a regular file.
 */
export function folderResolver(dir: string, fs: Fs, path: PathMod): ExternalDataResolver {
  const sources = new Map<string, ByteSource>();
  return (location) => {
    const problem = locationProblem(location, dir, path);
    if (problem) throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, problem, { details: { location, dir } });
    const full = path.resolve(dir, location);
    let source = sources.get(full);
    if (!source) {
      let size: number;
      try {
        const st = fs.statSync(full);
        if (!st.isFile()) throw new Error(st.isDirectory() ? 'it is a folder' : 'it is not a regular file');
        size = st.size;
      } catch (e) {
        throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `cannot open external data file "${location}" next to the model: ${errorMessage(e)}`, { cause: e, details: { location, dir } });
      }
      source = fileSourceOf(fs, full, size);
      sources.set(full, source);
    }
    return source;
  };
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
    const offset = Number(offsetStr ?? 0);
    const length = lengthStr === undefined ? s.size - offset : Number(lengthStr);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      fail(`bad external data offset/length (${offsetStr}/${lengthStr})`);
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
