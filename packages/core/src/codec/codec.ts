import Long from 'long';
import protobuf from 'protobufjs/minimal.js';
import { ForgeError, ForgeErrorCode, errorMessage } from '../errors.js';
import { onnx } from '../proto/onnx.generated.js';
import type { ModelProto, TensorProto } from '../proto/types.js';
import { modelTensors } from '../ir/model-tensors.js';
import { emitPending, pendingData, readPending, readPendingSync, sharePendingData } from '../ir/tensor-data.js';
import { ChunkWriter, isDeferredPart, standIn, type EncodedPart } from './chunk-writer.js';
import { findWireTypeMismatch } from './wire-check.js';

// int64 fields must round-trip exactly (Slice ends of INT64_MAX are common), so protobufjs must have
// Long; ForgeReader then hands out plain numbers whenever they are exact.
protobuf.util.Long = Long as unknown as typeof protobuf.util.Long;
protobuf.configure();

const TWO_32 = 4294967296;
/** The halves of the last varint read by ForgeReader.varint64 (decoding is synchronous, never re-entered). */
let LO = 0;
let HI = 0;

const BaseReader = protobuf.Reader as unknown as {
  new (buf: Uint8Array): protobuf.Reader;
  prototype: protobuf.Reader;
};

/**
 * protobufjs' reader, with 64-bit integers as numbers when they fit in 2^53 and as Long otherwise.
 * Byte fields are `subarray` views into the input, so tensor payloads are never copied.
 */
class ForgeReader extends BaseReader {
  /** Set once any field was skipped as unknown: only then is the wire-type check worth a walk. */
  skippedUnknown = false;

  constructor(buf: Uint8Array) {
    super(buf);
    // Fields this schema does not know (a newer ONNX, a vendor extension) are kept as raw bytes in
    // `$unknowns` and written back by the encoder, so a round trip never drops them.
    this.discardUnknown = false;
  }
  override int64(): Long {
    if (!this.varint64()) return narrow(BaseReader.prototype.int64.call(this) as Long) as unknown as Long;
    const value = (HI | 0) * TWO_32 + LO;
    // Exact whenever it is a safe integer: past 2^53 the sum rounds but stays out of the safe range.
    return (Number.isSafeInteger(value) ? value : Long.fromBits(LO | 0, HI | 0, false)) as unknown as Long;
  }
  override uint64(): Long {
    if (!this.varint64()) return narrow(BaseReader.prototype.uint64.call(this) as Long) as unknown as Long;
    const value = HI * TWO_32 + LO;
    return (Number.isSafeInteger(value) ? value : Long.fromBits(LO | 0, HI | 0, true)) as unknown as Long;
  }

  // Packed int64/uint64 fields (dims, int64_data, attribute ints): protobufjs pushes one value at a
  // time; sizing the array from the count of terminating bytes first is several times faster.
  override int64s(array: (number | Long)[] = []): (number | Long)[] {
    return this.packedVarints(array, false);
  }
  override uint64s(array: (number | Long)[] = []): (number | Long)[] {
    return this.packedVarints(array, true);
  }

  private packedVarints(array: (number | Long)[], unsigned: boolean): (number | Long)[] {
    const size = this.uint32();
    const end = this.pos + size;
    if (end > this.len) throw new RangeError(`index out of range: ${this.pos} + ${size} > ${this.len}`);
    const buf = this.buf;
    let count = 0;
    for (let p = this.pos; p < end; p++) if ((buf[p] as number) < 128) count++;
    let i = array.length;
    array.length = i + count;
    // Values may not run past the field: a varint cut by `end` fails in the Long path.
    const len = this.len;
    this.len = end;
    while (this.pos < end) array[i++] = unsigned ? this.uint64() : this.int64();
    this.len = len;
    return array;
  }

  /**
   * Reads a varint into LO/HI (unsigned 32-bit halves) without allocating: protobufjs builds a
   * LongBits and a Long per value, which dominates decoding of large int64_data. Returns false, with
   * the position unchanged, on a truncated or over-long varint so protobufjs' reader reports it.
   */
  private varint64(): boolean {
    const buf = this.buf;
    const len = this.len;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= len) return false;
      b = buf[p++] as number;
      lo |= (b & 127) << shift;
      if (b < 128) return this.done(p, lo, 0);
    }
    if (p >= len) return false;
    b = buf[p++] as number;
    lo |= (b & 127) << 28;
    hi = (b & 127) >>> 4;
    if (b < 128) return this.done(p, lo, hi);
    for (let shift = 3; shift < 32; shift += 7) {
      if (p >= len) return false;
      b = buf[p++] as number;
      hi |= (b & 127) << shift;
      if (b < 128) return this.done(p, lo, hi);
    }
    return false;
  }

  private done(p: number, lo: number, hi: number): true {
    this.pos = p;
    LO = lo >>> 0;
    HI = hi >>> 0;
    return true;
  }
  override skipType(wireType: number, depth?: number, fieldNumber?: number): this {
    this.skippedUnknown = true;
    (BaseReader.prototype.skipType as (w: number, d?: number, f?: number) => unknown).call(this, wireType, depth, fieldNumber);
    return this;
  }
}

/** Decodes with ForgeReader and refuses known fields that arrived with the wrong wire type. */
function decodeWith<T extends object>(type: { decode(reader: protobuf.Reader): T }, bytes: Uint8Array): T {
  const reader = new ForgeReader(bytes);
  const message = type.decode(reader as unknown as protobuf.Reader);
  if (reader.skippedUnknown) {
    const mismatch = findWireTypeMismatch(message, bytes);
    if (mismatch) throw new Error(mismatch.text);
  }
  return message;
}

function narrow(value: Long): number | Long {
  const n = value.toNumber();
  return Number.isSafeInteger(n) ? n : value;
}

export interface DecodeOptions {
  /** Where the bytes came from, for error messages. */
  source?: string;
}

/** What a file that is not an ONNX model most likely is, from its first bytes. */
export function sniff(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 16));
  if (head.startsWith('PK\x03\x04')) return 'a zip archive (a PyTorch .pt/.pth checkpoint or a zipped model?)';
  if (head.slice(4, 8) === 'TFL3') return 'a TensorFlow Lite flatbuffer';
  if (head.startsWith('\x89HDF')) return 'an HDF5 file (a Keras .h5 model?)';
  if (head.startsWith('\x93NUMPY')) return 'a NumPy .npy array';
  if (head.startsWith('GGUF')) return 'a GGUF file';
  if (/^\s*[{[]/.test(head)) return 'JSON text';
  if (/^\s*</.test(head)) return 'HTML or XML text (a download error page?)';
  if (/^\s*(ir_version|<)/.test(head)) return 'ONNX text format';
  return undefined;
}

/**
 * Decodes an ONNX ModelProto. Tensor bytes stay views into `bytes` (keep it alive and unmodified).
 * Throws FORGE_INVALID_MODEL for anything that is not a decodable model.
 */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): ModelProto {
  const where = options.source ? ` (${options.source})` : '';
  if (!(bytes instanceof Uint8Array)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `decodeModel expects a Uint8Array${where}`);
  }
  if (bytes.length === 0) {
    throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `the model is empty (0 bytes)${where}: check the path and that the file was fully written`, {
      details: { bytes: 0 },
    });
  }
  let model: ModelProto;
  try {
    model = decodeWith(onnx.ModelProto, bytes);
  } catch (e) {
    const looksLike = sniff(bytes);
    const hint = looksLike
      ? ` The file looks like ${looksLike}, not an ONNX model.`
      : errorMessage(e) === DEPTH_ERROR
        ? ` ${NESTING}, which onnxruntime's protobuf parser refuses as well.`
        : ' The file may be truncated or not an ONNX model; re-export or re-download it.';
    throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `cannot decode the ONNX model${where}: ${errorMessage(e)}.${hint}`, {
      cause: e,
      details: { bytes: bytes.length, looksLike },
    });
  }
  if (!model.graph && model.functions.length === 0) {
    const looksLike = sniff(bytes);
    throw new ForgeError(
      ForgeErrorCode.INVALID_MODEL,
      `the data decodes as protobuf but holds no ONNX graph${where}` +
        (looksLike ? `; it looks like ${looksLike}` : '; it is probably not an ONNX model'),
      { details: { bytes: bytes.length, looksLike } },
    );
  }
  return model;
}

/**
 * Runs `encode` with every lazy tensor's payload (a region of a file, or data a pass will produce)
 * standing in as a deferred part of the output, so encoding never reads a weight.
 */
function withStandIns<T>(model: ModelProto, encode: () => T): T {
  const lazy: TensorProto[] = [];
  for (const { tensor } of modelTensors(model)) {
    // A lazy tensor the writer is sending to a side file is written as its reference.
    if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const p = pendingData(tensor);
    if (!p) continue;
    tensor.rawData = standIn({ length: p.length, readSync: () => readPendingSync(tensor, p), read: () => readPending(tensor, p), emit: (sink) => emitPending(p, sink) });
    lazy.push(tensor);
  }
  try {
    return encode();
  } finally {
    for (const t of lazy) delete (t as Partial<TensorProto>).rawData;
  }
}

/** What protobufjs throws past its recursion limit of 100 nested messages, reading or writing. */
const DEPTH_ERROR = 'max depth exceeded';
const NESTING = 'Its messages nest more than 100 deep (subgraphs inside subgraphs, about 32 levels of If, Loop or Scan)';

function encodeInto(model: ModelProto): ChunkWriter {
  const writer = new ChunkWriter();
  try {
    withStandIns(model, () => onnx.ModelProto.encode(model, writer as unknown as protobuf.Writer));
  } catch (e) {
    const why = errorMessage(e) === DEPTH_ERROR ? `. ${NESTING}: onnxruntime could not read it` : '';
    throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `cannot encode the model: ${errorMessage(e)}${why}`, { cause: e });
  }
  return writer;
}

/**
 * Encodes into parts in order: bytes (large tensor payloads are the model's own views, not copies)
 * and, for lazy tensors, deferred parts to read or produce when the output reaches them.
 */
export function encodeModelParts(model: ModelProto): { parts: EncodedPart[]; byteLength: number } {
  const writer = encodeInto(model);
  return { parts: writer.encodedParts(), byteLength: writer.length };
}

/** Encodes into a list of chunks; large tensor payloads are the model's own views, not copies (lazy ones are read). */
export function encodeModelChunks(model: ModelProto): { chunks: Uint8Array[]; byteLength: number } {
  const { parts, byteLength } = encodeModelParts(model);
  return { chunks: parts.map((p) => (isDeferredPart(p) ? p.readSync() : p)), byteLength };
}

/** Encodes a ModelProto into one buffer. Models of 2 GiB or more need `writeModel` with external data. */
export function encodeModel(model: ModelProto): Uint8Array {
  const writer = encodeInto(model);
  if (writer.length >= PROTOBUF_LIMIT) {
    throw new ForgeError(
      ForgeErrorCode.MODEL_TOO_LARGE,
      `the encoded model is ${writer.length} bytes, past protobuf's 2 GiB limit; write it with writeModel(model, path, { externalData: true })`,
      { details: { bytes: writer.length } },
    );
  }
  return writer.concat();
}

/**
 * A deep copy of a model through the codec: payloads in memory are copied, lazy ones are not read
 * (the copy reads the same regions, or runs the same producers, when it needs them).
 */
export function cloneModelProto(model: ModelProto): ModelProto {
  const tensors = [...modelTensors(model)].map((x) => x.tensor);
  const lazy = tensors.filter((t) => t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL && pendingData(t) !== undefined);
  if (!lazy.length) return decodeModel(encodeModel(model));
  const writer = new ChunkWriter();
  for (const t of lazy) t.rawData = new Uint8Array(0);
  try {
    onnx.ModelProto.encode(model, writer as unknown as protobuf.Writer);
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `cannot encode the model: ${errorMessage(e)}`, { cause: e });
  } finally {
    for (const t of lazy) delete (t as Partial<TensorProto>).rawData;
  }
  const copy = decodeModel(writer.concat());
  const copies = [...modelTensors(copy)].map((x) => x.tensor);
  const isLazy = new Set(lazy);
  for (let i = 0; i < tensors.length; i++) {
    const from = tensors[i] as TensorProto;
    const to = copies[i];
    if (!to) throw new ForgeError(ForgeErrorCode.INTERNAL, 'a copy of the model has fewer tensors than the model');
    if (isLazy.has(from)) sharePendingData(from, to);
  }
  return copy;
}

/** protobuf messages (and onnxruntime's parser) stop at 2 GiB. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Decodes one serialized TensorProto (the `.pb` files of the ONNX test data). */
export function decodeTensor(bytes: Uint8Array, options: DecodeOptions = {}): TensorProto {
  const where = options.source ? ` (${options.source})` : '';
  if (bytes.length === 0) throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `the tensor file is empty${where}`);
  try {
    return decodeWith(onnx.TensorProto, bytes);
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `cannot decode a TensorProto${where}: ${errorMessage(e)}`, { cause: e });
  }
}

export function encodeTensor(tensor: TensorProto): Uint8Array {
  const writer = new ChunkWriter();
  onnx.TensorProto.encode(tensor, writer as unknown as protobuf.Writer);
  return writer.concat();
}
