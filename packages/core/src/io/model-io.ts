import { modelTensors } from '../ir/model-tensors.js';
import { PROTOBUF_LIMIT, decodeModel, encodeModelParts } from '../codec/codec.js';
import { isDeferredPart } from '../codec/chunk-writer.js';
import { ForgeError, ForgeErrorCode, errorMessage, isForgeError } from '../errors.js';
import { Model } from '../ir/model.js';
import { emitPending, pendingData } from '../ir/tensor-data.js';
import { onnx } from '../proto/onnx.generated.js';
import type { ModelProto, TensorProto } from '../proto/types.js';
import { externalEntry, externalRegions, externalSpan, folderResolver, locationProblem } from './external-data.js';
import { openModel } from './open-model.js';
import { memorySource } from './byte-source.js';
import { unreadableFile } from './file-source.js';
import { decodeModelLazily } from './decode-lazily.js';

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
  /**
   * `memory` (default): the file is read whole and tensor bytes are views into it (external data is
   * read into each tensor). `lazy`: only the graph is read; every weight of 4 KB or more, inline or
   * external, stays a region of its file that is read when a pass or the writer needs it, so models
   * larger than memory (or past protobuf's 2 GiB with external data) go through the same passes.
   * See `openModel`.
   */
  weights?: 'memory' | 'lazy';
}

/**
 * decodeModel, whose failure on bytes that are not a model is explained by the lazy decoder's walk
 * ("a field of 854219 bytes runs past the end of its message at byte 19") rather than protobufjs'
 * "index out of range": every command gives one file the same diagnosis, however it reads it.
 */
async function decodeDiagnosed(bytes: Uint8Array, file: string): Promise<ModelProto> {
  try {
    return decodeModel(bytes, { source: file });
  } catch (e) {
    if (!isForgeError(e, ForgeErrorCode.INVALID_MODEL) || bytes.length === 0) throw e;
    await decodeModelLazily(memorySource(bytes, file));
    throw e;
  }
}

/**
 * Reads an ONNX model file. External tensor data is read relative to the model's folder (never
 * outside it) into each tensor's raw_data, so the returned model is self-contained in memory; with
 * `weights: 'lazy'` tensors keep references to their files instead.
 */
export async function readModel(file: string, options: ReadModelOptions = {}): Promise<Model> {
  if (options.weights === 'lazy') return openModel(file, { externalData: options.externalData !== false });
  const { fs, path } = await nodeModules();
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_FS_FILE_TOO_LARGE') {
      // Node reads at most 2 GiB into one buffer, and no valid protobuf message is larger: only a model
      // whose weights are inline past the limit (which onnxruntime refuses) can be read, lazily.
      throw new ForgeError(
        ForgeErrorCode.MODEL_TOO_LARGE,
        `cannot read model "${file}" into memory: the file is past 2 GiB, more than one protobuf message may hold (onnxruntime refuses it); read it with { weights: 'lazy' } and write it with external data`,
        { cause: e, details: { path: file } },
      );
    }
    throw unreadableFile(file, e, 'model');
  }
  const proto = await decodeDiagnosed(bytes, file);
  if (options.externalData !== false) {
    const dir = path.dirname(path.resolve(file));
    for (const r of await externalRegions(proto, folderResolver(dir, fs, path, file), dir)) {
      const t = r.tensor;
      try {
        t.rawData = (r.source.readSync as NonNullable<typeof r.source.readSync>)(r.offset, r.length);
      } catch (e) {
        // EIO on a failing disk, or a file cut short since it was opened.
        throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `tensor "${t.name}": cannot read external data file "${r.location}": ${errorMessage(e)}`, {
          cause: e,
          details: { tensor: t.name, location: r.location, dir },
        });
      }
      t.externalData = [];
      delete (t as Partial<TensorProto>).dataLocation;
    }
  }
  return new Model(proto);
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
    const { offset, length } = externalSpan(t, size);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || length < 0) {
      fail(`has a bad offset/length there ("${externalEntry(t, 'offset')}"/"${externalEntry(t, 'length')}"; ONNX needs decimal byte counts)`);
    }
    const end = offset + length;
    if (!(end <= size)) fail(`is too short there (${size} bytes, the tensor ends at ${end})`);
  }
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
  /**
   * Stops the write (Ctrl-C): checked every few megabytes, where the writer lets the event loop turn so
   * that a signal handler can abort it, and before the rename. The temporary files are removed and the
   * target is left as it was; the promise rejects with FORGE_CANCELLED. Without it the write does not yield.
   */
  signal?: AbortSignal;
}

/** Bytes written between two turns of the event loop when writeModel has a signal to watch. */
const YIELD_BYTES = 16 * 2 ** 20;

export interface WriteModelResult {
  path: string;
  bytes: number;
  externalData?: { path: string; bytes: number; tensors: number };
}

/** A tensor bound for the side file: where it goes, and where its bytes come from. */
interface SidePlan {
  tensor: TensorProto;
  offset: number;
  length: number;
  /** In memory (a view), or undefined when the tensor is lazy (read or produced when reached). */
  data: Uint8Array | undefined;
}

/**
 * Writes a model without gathering it into one buffer: tensor payloads stream from their own memory
 * to the file, and lazy ones (`readModel(..., { weights: 'lazy' })`, or produced by a pass from lazy
 * ones) are read from their files or produced when the writer reaches them, then dropped, so writing
 * holds one weight at a time. Output goes to a temporary file that is renamed into place, so a
 * failure never leaves a half-written model.
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
  let encoded = encodeModelParts(proto);
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
    let modelTemp: string | undefined;
    const restore: (() => void)[] = [];
    try {
      let plan: SidePlan[] = [];
      let sideBytes = 0;
      if (ext) {
        const location = ext.location ?? `${path.basename(target)}.data`;
        const problem = locationProblem(location, dir, path) ??
          (path.resolve(dir, location) === target ? `external data location "${location}" is the model file itself` : undefined);
        if (problem) {
          throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `cannot write model "${file}": ${problem}`, { details: { location, dir } });
        }
        sidePath = path.resolve(dir, location);
        plan = planSideFile(proto, location, ext.threshold ?? 1024, ext.align ?? 4096, restore);
        const last = plan[plan.length - 1];
        sideBytes = last ? last.offset + last.length : 0;
        external = { path: sidePath, bytes: sideBytes, tensors: plan.length };
        // The graph with references in place of the payloads, encoded before any weight is written:
        // a graph still too large fails now, not after gigabytes of side file.
        encoded = encodeModelParts(proto);
        if (encoded.byteLength >= limit) {
          throw new ForgeError(
            ForgeErrorCode.MODEL_TOO_LARGE,
            `even with external data the model graph is ${encoded.byteLength} bytes (limit ${limit}); lower the external data threshold`,
            { details: { bytes: encoded.byteLength, limit } },
          );
        }
      }
      const total = sideBytes + encoded.byteLength;
      let written = 0;
      const advance = (n: number) => {
        written += n;
        options.onProgress?.(written, total);
      };
      // With a signal, a turn of the event loop every YIELD_BYTES (the writes themselves are synchronous),
      // so that a Ctrl-C handler can run and abort before the rename.
      let yieldedAt = 0;
      const { signal } = options;
      const pause = async (force = false) => {
        if (!signal || (!force && written - yieldedAt < YIELD_BYTES)) return;
        yieldedAt = written;
        await new Promise((resolve) => setImmediate(resolve));
        if (signal.aborted) throw new ForgeError(ForgeErrorCode.CANCELLED, `cancelled while writing "${file}": nothing was written`, { details: { path: file } });
      };
      // Every byte of both files goes out this way: written in full, then counted for progress.
      const sinkTo = (fd: number) => (bytes: Uint8Array) => {
        writeAll(fs, fd, bytes);
        advance(bytes.length);
      };

      if (ext && sidePath) {
        sideTemp = tempFor(sidePath);
        const fd = openForWrite(fs, sideTemp, sidePath, dir);
        try {
          await writeSideFile(plan, sinkTo(fd), pause);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }

      modelTemp = tempFor(target);
      const fd = openForWrite(fs, modelTemp, file, dir);
      try {
        const sink = sinkTo(fd);
        for (const part of encoded.parts) {
          // A lazy tensor written inline: read or produced now through lent memory, written, dropped.
          if (isDeferredPart(part)) await part.emit(sink);
          else sink(part);
          await pause();
        }
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      // The last chance to stop: after the renames the output is in place.
      await pause(true);
    } finally {
      for (const r of restore) r();
    }
    if (sideTemp && sidePath) fs.renameSync(sideTemp, sidePath);
    fs.renameSync(modelTemp as string, target);
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

/**
 * Chooses the initializers that go to the side file (data of at least `threshold` bytes, in memory
 * or lazy) and their aligned offsets, and points each at its place (undone by `restore`), so the
 * graph can be encoded before a single weight is written.
 */
function planSideFile(proto: ModelProto, location: string, threshold: number, align: number, restore: (() => void)[]): SidePlan[] {
  const plan: SidePlan[] = [];
  let offset = 0;
  for (const { tensor: t, initializer } of modelTensors(proto)) {
    if (!initializer || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const pending = pendingData(t);
    const inMemory = Object.prototype.hasOwnProperty.call(t, 'rawData');
    if (!pending && !inMemory) continue;
    const data = pending ? undefined : t.rawData;
    const length = pending ? pending.length : t.rawData.length;
    if (length < threshold) continue;
    const aligned = Math.ceil(offset / align) * align;
    plan.push({ tensor: t, offset: aligned, length, data });
    const saved = t.externalData;
    restore.push(() => {
      if (data) t.rawData = data;
      t.externalData = saved;
      delete (t as Partial<TensorProto>).dataLocation;
    });
    if (data) delete (t as Partial<TensorProto>).rawData;
    t.externalData = [
      new onnx.StringStringEntryProto({ key: 'location', value: location }),
      new onnx.StringStringEntryProto({ key: 'offset', value: String(aligned) }),
      new onnx.StringStringEntryProto({ key: 'length', value: String(length) }),
    ];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    offset = aligned + length;
  }
  return plan;
}

/**
 * Writes the planned tensors in order with zero padding between them. A lazy region is copied from
 * its file a chunk at a time, a produced tensor made when reached, both through lent memory
 * (`emitPending`).
 */
async function writeSideFile(plan: readonly SidePlan[], sink: (bytes: Uint8Array) => void, pause: () => Promise<void>): Promise<void> {
  let at = 0;
  const pad = new Uint8Array(4096);
  for (const p of plan) {
    while (at < p.offset) {
      const n = Math.min(pad.length, p.offset - at);
      sink(pad.subarray(0, n));
      at += n;
    }
    if (p.data) sink(p.data);
    else {
      const pending = pendingData(p.tensor);
      if (!pending) throw new ForgeError(ForgeErrorCode.INTERNAL, `tensor "${p.tensor.name}" lost its data while being written`);
      await emitPending(pending, sink);
    }
    at += p.length;
    await pause();
  }
}

/**
 * Opens the temporary file `temp` for `file`; a failure names `file`, what the user asked for, not
 * the temporary name.
 */
function openForWrite(fs: Fs, temp: string, file: string, dir: string): number {
  try {
    return fs.openSync(temp, 'wx');
  } catch (e) {
    const folderExists = fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true;
    throw uncreatableFile(file, dir, e, { folderExists });
  }
}

/**
 * FORGE_IO for a file that cannot be created in `dir`, worded the same whether the writer meets it
 * or a command checks its output before any work: `the folder "d" does not exist` (ENOENT),
 * `no permission to write in "d"` (EACCES, EPERM), `"d" is not a folder` (ENOTDIR), `"d" is on a
 * read-only file system` (EROFS), `no space left on the device of "d"` (ENOSPC, EDQUOT), else the
 * system's message. ENOENT in a folder known to exist (`folderExists`) is a file system that takes no
 * new files (/proc, /sys).
 */
export function uncreatableFile(file: string, dir: string, error: unknown, options: { folderExists?: boolean } = {}): ForgeError {
  const code = (error as NodeJS.ErrnoException).code;
  const hints: Record<string, string> = {
    ENOENT: options.folderExists ? `the file system of "${dir}" does not take new files` : `the folder "${dir}" does not exist`,
    EACCES: `no permission to write in "${dir}"`,
    EPERM: `no permission to write in "${dir}"`,
    ENOTDIR: `"${dir}" is not a folder`,
    EROFS: `"${dir}" is on a read-only file system`,
    ENOSPC: `no space left on the device of "${dir}"`,
    EDQUOT: `the disk quota of "${dir}" is used up`,
  };
  const hint = (code !== undefined && hints[code]) || errorMessage(error);
  return new ForgeError(ForgeErrorCode.IO, `cannot create "${file}": ${hint}`, { cause: error, details: { path: file, errno: code } });
}

function writeAll(fs: Fs, fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}
