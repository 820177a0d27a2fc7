import { modelTensors } from '../ir/model-tensors.js';
import { PROTOBUF_LIMIT, decodeModel, encodeModelChunks } from '../codec/codec.js';
import { ForgeError, ForgeErrorCode, errorMessage } from '../errors.js';
import { Model } from '../ir/model.js';
import { onnx } from '../proto/onnx.generated.js';
import type { AttributeProto, GraphProto, ModelProto, TensorProto } from '../proto/types.js';

// Node built-ins are imported on use, so the rest of core still bundles for the browser.
type Fs = typeof import('node:fs');
type PathMod = typeof import('node:path');
async function nodeModules(): Promise<{ fs: Fs; path: PathMod }> {
  const [fs, path] = await Promise.all([import('node:fs'), import('node:path')]);
  return { fs, path };
}

export interface ReadModelOptions {
  /** Load tensors stored in external data files (default true). */
  externalData?: boolean;
}

/**
 * Reads an ONNX model file. External tensor data is read relative to the model's folder (never
 * outside it) into each tensor's raw_data, so the returned model is self-contained in memory.
 */
export async function readModel(file: string, options: ReadModelOptions = {}): Promise<Model> {
  const { fs, path } = await nodeModules();
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? 'the file does not exist' : code === 'EISDIR' ? 'the path is a folder, not a model file' : errorMessage(e);
    throw new ForgeError(ForgeErrorCode.IO, `cannot read model "${file}": ${hint}`, { cause: e, details: { path: file, errno: code } });
  }
  const proto = decodeModel(bytes, { source: file });
  if (options.externalData !== false) loadExternalData(proto, path.dirname(path.resolve(file)), fs, path);
  return new Model(proto);
}

function externalEntry(t: TensorProto, key: string): string | undefined {
  return t.externalData.find((e) => e.key === key)?.value;
}

function loadExternalData(proto: ModelProto, dir: string, fs: Fs, path: PathMod): void {
  const fds = new Map<string, { fd: number; size: number }>();
  try {
    for (const { tensor: t } of modelTensors(proto)) {
      if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
      const location = externalEntry(t, 'location');
      const fail = (msg: string, cause?: unknown): never => {
        throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `tensor "${t.name}": ${msg}`, {
          cause,
          details: { tensor: t.name, location, dir },
        });
      };
      if (!location) fail('external data has no "location"');
      const loc = location as string;
      const problem = locationProblem(loc, dir, path);
      if (problem) fail(problem);
      const full = path.resolve(dir, loc);
      let file = fds.get(full);
      if (!file) {
        try {
          const fd = fs.openSync(full, 'r');
          file = { fd, size: fs.fstatSync(fd).size };
          fds.set(full, file);
        } catch (e) {
          fail(`cannot open external data file "${loc}" next to the model: ${errorMessage(e)}`, e);
        }
      }
      const f = file as { fd: number; size: number };
      const offset = Number(externalEntry(t, 'offset') ?? 0);
      const lengthStr = externalEntry(t, 'length');
      const length = lengthStr === undefined ? f.size - offset : Number(lengthStr);
      if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
        fail(`bad external data offset/length (${externalEntry(t, 'offset')}/${lengthStr})`);
      }
      if (offset + length > f.size) fail(`external data [${offset}, ${offset + length}) is past the end of "${loc}" (${f.size} bytes): the file is truncated`);
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        let n = 0;
        try {
          n = fs.readSync(f.fd, buf, got, length - got, offset + got);
        } catch (e) {
          // EISDIR when the location names a folder, EIO on a failing disk.
          fail(`cannot read external data file "${loc}": ${errorMessage(e)}`, e);
        }
        if (n === 0) fail(`unexpected end of "${loc}"`);
        got += n;
      }
      t.rawData = buf;
      t.externalData = [];
      delete (t as Partial<TensorProto>).dataLocation;
    }
  } finally {
    for (const { fd } of fds.values()) fs.closeSync(fd);
  }
}

/**
 * Tensors whose data is still in external files (a model read with `externalData: false`) are written
 * as references: check that each reference holds next to the file being written, so writing never
 * produces a model whose weights are missing, and that writing does not replace a file they point to.
 */
function checkExternalReferences(proto: ModelProto, dir: string, target: string, sideFile: string | undefined, fs: Fs, path: PathMod): void {
  const sizes = new Map<string, number>();
  for (const { tensor: t } of modelTensors(proto)) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const location = externalEntry(t, 'location') ?? '';
    const fail = (msg: string): never => {
      throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `cannot write model "${target}": tensor "${t.name}" keeps its data in "${location}" (not loaded), which ${msg}; read the model with external data, or write it into the folder that holds "${location}"`, {
        details: { tensor: t.name, location, dir },
      });
    };
    const problem = locationProblem(location, dir, path);
    if (problem) fail(`is unusable here (${problem})`);
    const full = path.resolve(dir, location);
    if (full === sideFile || full === target) fail('this write would replace');
    let size = sizes.get(full);
    if (size === undefined) {
      try {
        const st = fs.statSync(full);
        size = st.isFile() ? st.size : -1;
      } catch {
        size = -1;
      }
      sizes.set(full, size);
    }
    if (size < 0) fail(`is not in ${dir}`);
    const end = Number(externalEntry(t, 'offset') ?? 0) + Number(externalEntry(t, 'length') ?? 0);
    if (!(end <= size)) fail(`is too short there (${size} bytes, the tensor ends at ${end})`);
  }
}

/**
 * Why an external data location is refused, or undefined when it is a file inside `dir`. ONNX
 * requires a relative path; anything that resolves outside the model's folder could read or overwrite
 * files the user never meant to share with the model.
 */
function locationProblem(location: string, dir: string, path: PathMod): string | undefined {
  if (location.includes('\0')) return `external data location "${location}" contains a NUL character`;
  if (path.isAbsolute(location)) return `external data location "${location}" is absolute; ONNX requires a path relative to the model's folder`;
  const rel = path.relative(dir, path.resolve(dir, location));
  if (rel === '') return `external data location "${location}" is the model's folder itself, not a file in it`;
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    return `external data location "${location}" points outside the model's folder`;
  }
  return undefined;
}

export interface ExternalDataOptions {
  /** Side file name, relative to the model's folder (default `<model file name>.data`). */
  location?: string;
  /** Tensors with at least this many bytes go to the side file (default 1024). */
  threshold?: number;
  /** Offset alignment in the side file (default 4096, so onnxruntime can map it). */
  align?: number;
}

export interface WriteModelOptions {
  /**
   * true or options: initializers above the threshold go to one side file. false: everything inline
   * (fails past 2 GiB). Unset: inline unless the model would pass protobuf's 2 GiB limit.
   */
  externalData?: boolean | ExternalDataOptions;
  /** Called as bytes reach the disk. */
  onProgress?: (written: number, total: number) => void;
  /**
   * Largest model written as a single file when `externalData` is unset (default: protobuf's 2 GiB
   * limit, which onnxruntime also enforces). A lower value moves weights to a side file sooner, e.g.
   * for runtimes with smaller buffers, and lets tests exercise the switch without writing 2 GiB.
   */
  inlineLimit?: number;
}

export interface WriteModelResult {
  path: string;
  bytes: number;
  externalData?: { path: string; bytes: number; tensors: number };
}

/**
 * Writes a model without gathering it into one buffer: tensor payloads stream from their own memory
 * to the file. Output goes to a temporary file that is renamed into place, so a failure never leaves
 * a half-written model.
 */
export async function writeModel(model: Model | ModelProto, file: string, options: WriteModelOptions = {}): Promise<WriteModelResult> {
  const { fs, path } = await nodeModules();
  const proto = model instanceof Model ? model.proto : model;
  const target = path.resolve(file);
  const dir = path.dirname(target);
  let ext: ExternalDataOptions | undefined;
  if (options.externalData === true) ext = {};
  else if (options.externalData && typeof options.externalData === 'object') ext = options.externalData;

  const limit = options.inlineLimit ?? PROTOBUF_LIMIT;
  if (!(limit > 0)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `inlineLimit must be a positive number of bytes, got ${options.inlineLimit}`);
  let encoded = encodeModelChunks(proto);
  if (!ext && options.externalData === undefined && encoded.byteLength >= limit) ext = {};
  if (!ext && encoded.byteLength >= limit) {
    throw new ForgeError(ForgeErrorCode.MODEL_TOO_LARGE, `the model is ${encoded.byteLength} bytes, past the ${limit}-byte limit of one protobuf message; write it with { externalData: true }`, {
      details: { bytes: encoded.byteLength, limit },
    });
  }

  const sideFile = ext ? path.resolve(dir, ext.location ?? `${path.basename(target)}.data`) : undefined;
  checkExternalReferences(proto, dir, target, sideFile, fs, path);

  // A folder in the way would make the final rename fail after the side file was already replaced.
  let targetIsDir = false;
  try {
    targetIsDir = fs.statSync(target).isDirectory();
  } catch {
    // does not exist yet: the usual case
  }
  if (targetIsDir) throw new ForgeError(ForgeErrorCode.IO, `cannot write model "${file}": the path is a folder`, { details: { path: file } });

  const temps: string[] = [];
  const tempFor = (p: string) => {
    const t = `${p}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    temps.push(t);
    return t;
  };
  try {
    let external: WriteModelResult['externalData'];
    let sideTemp: string | undefined;
    let sidePath: string | undefined;
    const restore: (() => void)[] = [];
    try {
      if (ext) {
        const location = ext.location ?? `${path.basename(target)}.data`;
        const problem = locationProblem(location, dir, path) ??
          (path.resolve(dir, location) === target ? `external data location "${location}" is the model file itself` : undefined);
        if (problem) {
          throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `cannot write model "${file}": ${problem}`, { details: { location, dir } });
        }
        sidePath = path.resolve(dir, location);
        sideTemp = tempFor(sidePath);
        const threshold = ext.threshold ?? 1024;
        const align = ext.align ?? 4096;
        const fd = openForWrite(fs, sideTemp, dir);
        let offset = 0;
        let count = 0;
        const pad = new Uint8Array(align);
        try {
          for (const { tensor: t, initializer } of modelTensors(proto)) {
            if (!initializer || t.dataLocation === 1 || !Object.prototype.hasOwnProperty.call(t, 'rawData')) continue;
            const data = t.rawData;
            if (data.length < threshold) continue;
            const aligned = Math.ceil(offset / align) * align;
            if (aligned > offset) writeAll(fs, fd, pad.subarray(0, aligned - offset));
            writeAll(fs, fd, data);
            const saved = { externalData: t.externalData };
            restore.push(() => {
              t.rawData = data;
              t.externalData = saved.externalData;
              delete (t as Partial<TensorProto>).dataLocation;
            });
            delete (t as Partial<TensorProto>).rawData;
            t.externalData = [
              new onnx.StringStringEntryProto({ key: 'location', value: location }),
              new onnx.StringStringEntryProto({ key: 'offset', value: String(aligned) }),
              new onnx.StringStringEntryProto({ key: 'length', value: String(data.length) }),
            ];
            t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
            offset = aligned + data.length;
            count++;
          }
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        external = { path: sidePath, bytes: offset, tensors: count };
        encoded = encodeModelChunks(proto);
        if (encoded.byteLength >= limit) {
          throw new ForgeError(
            ForgeErrorCode.MODEL_TOO_LARGE,
            `even with external data the model graph is ${encoded.byteLength} bytes (limit ${limit}); lower the external data threshold`,
            { details: { bytes: encoded.byteLength, limit } },
          );
        }
      }
    } finally {
      for (const r of restore) r();
    }

    const modelTemp = tempFor(target);
    const fd = openForWrite(fs, modelTemp, dir);
    try {
      let written = 0;
      for (const c of encoded.chunks) {
        writeAll(fs, fd, c);
        written += c.length;
        options.onProgress?.(written, encoded.byteLength);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (sideTemp && sidePath) fs.renameSync(sideTemp, sidePath);
    fs.renameSync(modelTemp, target);
    temps.length = 0;
    return external ? { path: target, bytes: encoded.byteLength, externalData: external } : { path: target, bytes: encoded.byteLength };
  } catch (e) {
    for (const t of temps) {
      try {
        fs.unlinkSync(t);
      } catch {
        // already gone
      }
    }
    if (e instanceof ForgeError) throw e;
    throw new ForgeError(ForgeErrorCode.IO, `cannot write model "${file}": ${errorMessage(e)}`, { cause: e, details: { path: file } });
  }
}

function openForWrite(fs: Fs, file: string, dir: string): number {
  try {
    return fs.openSync(file, 'wx');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? `the folder "${dir}" does not exist` : code === 'EACCES' ? `no permission to write in "${dir}"` : errorMessage(e);
    throw new ForgeError(ForgeErrorCode.IO, `cannot create "${file}": ${hint}`, { cause: e, details: { path: file, errno: code } });
  }
}

function writeAll(fs: Fs, fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}
