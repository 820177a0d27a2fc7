import { PROTOBUF_LIMIT, decodeModel, sniff } from '../codec/codec.js';
import { ForgeError, ForgeErrorCode, errorMessage } from '../errors.js';
import { modelTensors } from '../ir/model-tensors.js';
import { setTensorRegion } from '../ir/tensor-data.js';
import type { ModelProto } from '../proto/types.js';
import type { ByteSource } from './byte-source.js';

/**
 * Decodes a model from a source without reading its weights: the protobuf wire format is walked
 * through the messages that can hold tensors (model, graph, node, attribute, tensor, sparse tensor,
 * function, training info), every `raw_data` payload of at least `minBytes` is skipped, and the rest
 * is copied into a skeleton that the ordinary decoder reads. Each skipped payload becomes a region of
 * the source that its tensor reads on demand. Only headers are read, a small window at a time, so a
 * model of any size is opened with memory for its graph alone.
 */
export interface DecodeLazilyOptions {
  /** raw_data payloads at least this long stay in the source (default 4096). */
  minBytes?: number;
}

type Schema = { [field: number]: Schema | 'raw' };

const TENSOR: Schema = { 9: 'raw' };
const SPARSE: Schema = { 1: TENSOR, 2: TENSOR };
const GRAPH: Schema = {};
const ATTRIBUTE: Schema = { 5: TENSOR, 6: GRAPH, 10: TENSOR, 11: GRAPH, 22: SPARSE, 23: SPARSE };
const NODE: Schema = { 5: ATTRIBUTE };
Object.assign(GRAPH, { 1: NODE, 5: TENSOR, 15: SPARSE });
const FUNCTION: Schema = { 7: NODE };
const TRAINING: Schema = { 1: GRAPH, 2: GRAPH };
const MODEL: Schema = { 7: GRAPH, 20: TRAINING, 25: FUNCTION };

/** The external_data key that marks a skipped payload in the skeleton (removed after decoding). */
const MARK = '\u0000onnx-forge-region';
/** Nesting protobufjs and onnxruntime's parser accept (the model is depth 0). */
const MAX_DEPTH = 100;
const TOO_DEEP = "its messages nest more than 100 deep (subgraphs inside subgraphs, about 32 levels of If, Loop or Scan), which onnxruntime's protobuf parser refuses as well.";
const WINDOW = 64 * 1024;

/** A copied range of the source, or bytes made for the skeleton (rewritten length prefixes, marks). */
type Part = { from: number; to: number } | Uint8Array;

class Window {
  private buf: Uint8Array = new Uint8Array(0);
  private at = 0;

  constructor(private readonly source: ByteSource) {}

  /** Whether [pos, pos + n) is readable now. */
  has(pos: number, n: number): boolean {
    return pos >= this.at && pos + n <= this.at + this.buf.length;
  }

  /** Makes [pos, pos + n) readable (n small: a tag or a length). */
  async ensure(pos: number, n: number): Promise<void> {
    if (this.has(pos, n)) return;
    const len = Math.min(Math.max(WINDOW, n), this.source.size - pos);
    this.buf = await this.source.read(pos, len);
    this.at = pos;
  }

  byte(pos: number): number {
    return this.buf[pos - this.at] as number;
  }
}

function varintBytes(value: number): Uint8Array {
  const out: number[] = [];
  while (value > 127) {
    out.push((value % 128) | 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Uint8Array.from(out);
}

class Walker {
  readonly regions: { offset: number; length: number }[] = [];
  private readonly win: Window;

  constructor(private readonly source: ByteSource, private readonly minBytes: number) {
    this.win = new Window(source);
  }

  private bad(pos: number, what: string): ForgeError {
    return new ForgeError(ForgeErrorCode.INVALID_MODEL, `cannot decode the ONNX model (${this.source.name}): ${what} at byte ${pos}.`, {
      details: { source: this.source.name, at: pos },
    });
  }

  /**
   * A varint at `pos` (up to 2^53) and the position after it, at once when the window holds it: a
   * model whose attributes hold millions of unpacked integers (a tree ensemble's node ids) has a
   * varint per value.
   */
  private varint(pos: number, end: number): [number, number] | Promise<[number, number]> {
    const n = Math.min(10, end - pos);
    if (n <= 0 || !this.win.has(pos, n)) return this.varintAcross(pos, end);
    let value = 0;
    let scale = 1;
    for (let i = 0; i < n; i++) {
      const b = this.win.byte(pos++);
      value += (b & 127) * scale;
      if (b < 128) return [value, pos];
      scale *= 128;
    }
    // Past the end of its message or longer than 10 bytes: the slow path says which.
    return this.varintAcross(pos - n, end);
  }

  /** A varint read a byte at a time, moving the window as needed. */
  private async varintAcross(pos: number, end: number): Promise<[number, number]> {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw this.bad(pos, 'a varint runs past the end of its message');
      await this.win.ensure(pos, 1);
      const b = this.win.byte(pos++);
      value += (b & 127) * scale;
      if (b < 128) return [value, pos];
      scale *= 128;
    }
    throw this.bad(pos, 'a varint is longer than 10 bytes');
  }

  /** The parts that make up the message in [start, end) with lazy payloads taken out. */
  async message(start: number, end: number, schema: Schema, parts: Part[], depth = 0): Promise<number> {
    // protobuf's limit (decodeModel's and onnxruntime's), checked here before an async recursion
    // thousands deep overflows the stack inside V8's promise machinery.
    if (depth > MAX_DEPTH) {
      throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `cannot decode the ONNX model (${this.source.name}): ${TOO_DEEP}`, {
        details: { source: this.source.name, at: start, tooDeep: true },
      });
    }
    let pos = start;
    let length = 0;
    const copy = (from: number, to: number) => {
      const last = parts[parts.length - 1];
      if (last && !(last instanceof Uint8Array) && last.to === from) last.to = to;
      else parts.push({ from, to });
      length += to - from;
    };
    const emit = (bytes: Uint8Array) => {
      parts.push(bytes);
      length += bytes.length;
    };
    while (pos < end) {
      const fieldStart = pos;
      // Awaited only when the window must move: an await per field took seconds on large graphs.
      let read = this.varint(pos, end);
      const [tag, afterTag] = read instanceof Promise ? await read : read;
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      pos = afterTag;
      if (wire === 0) {
        read = this.varint(pos, end);
        [, pos] = read instanceof Promise ? await read : read;
        copy(fieldStart, pos);
      } else if (wire === 1 || wire === 5) {
        pos += wire === 1 ? 8 : 4;
        if (pos > end) throw this.bad(fieldStart, 'a fixed-size field runs past the end of its message');
        copy(fieldStart, pos);
      } else if (wire === 2) {
        read = this.varint(pos, end);
        const [len, payload] = read instanceof Promise ? await read : read;
        const payloadEnd = payload + len;
        if (payloadEnd > end) throw this.bad(fieldStart, `a field of ${len} bytes runs past the end of its message`);
        const sub = schema[field];
        if (sub === 'raw' && len >= this.minBytes) {
          // The payload stays in the source; a mark in its place tells which region it was.
          const index = this.regions.push({ offset: payload, length: len }) - 1;
          const enc = new TextEncoder();
          const key = enc.encode(MARK);
          const value = enc.encode(String(index));
          const entry = [Uint8Array.of(10), varintBytes(key.length), key, Uint8Array.of(18), varintBytes(value.length), value];
          const entryLen = entry.reduce((n, b) => n + b.length, 0);
          emit(Uint8Array.of(13 * 8 + 2));
          emit(varintBytes(entryLen));
          for (const b of entry) emit(b);
        } else if (sub && sub !== 'raw') {
          const inner: Part[] = [];
          const innerLen = await this.message(payload, payloadEnd, sub, inner, depth + 1);
          if (innerLen === len) {
            copy(fieldStart, payloadEnd);
          } else {
            copy(fieldStart, afterTag);
            emit(varintBytes(innerLen));
            for (const p of inner) {
              if (p instanceof Uint8Array) emit(p);
              else copy(p.from, p.to);
            }
          }
        } else {
          copy(fieldStart, payloadEnd);
        }
        pos = payloadEnd;
      } else if (wire === 3) {
        // A group: ONNX defines none, but a field unknown to this schema may be one, and protobuf
        // (onnxruntime, decodeModel) keeps it as an unknown field; copied as it is.
        pos = await this.skipGroup(pos, end, field);
        copy(fieldStart, pos);
      } else {
        throw this.bad(fieldStart, wire === 4 ? 'an end-group tag with no group' : `invalid wire type ${wire}`);
      }
    }
    return length;
  }

  /** The position after the end-group tag of the group of `field` whose fields start at `pos` (groups nest). */
  private async skipGroup(pos: number, end: number, field: number): Promise<number> {
    const open = [field];
    while (open.length) {
      if (pos >= end) throw this.bad(pos, `group ${open[open.length - 1]} has no end-group tag before the end of its message`);
      const at = pos;
      let read = this.varint(pos, end);
      const [tag, afterTag] = read instanceof Promise ? await read : read;
      const wire = tag % 8;
      pos = afterTag;
      if (wire === 0) {
        read = this.varint(pos, end);
        [, pos] = read instanceof Promise ? await read : read;
      } else if (wire === 1 || wire === 5) {
        pos += wire === 1 ? 8 : 4;
      } else if (wire === 2) {
        read = this.varint(pos, end);
        const [len, payload] = read instanceof Promise ? await read : read;
        pos = payload + len;
      } else if (wire === 3) {
        open.push(Math.floor(tag / 8));
      } else if (wire === 4) {
        if (Math.floor(tag / 8) !== open.pop()) throw this.bad(at, 'an end-group tag does not match its group');
      } else {
        throw this.bad(at, `invalid wire type ${wire}`);
      }
      if (pos > end) throw this.bad(at, 'a field runs past the end of its message');
    }
    return pos;
  }

  /** The skeleton: every part in one buffer, copied ranges read from the source in order. */
  async assemble(parts: Part[], length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      if (p instanceof Uint8Array) {
        out.set(p, at);
        at += p.length;
        continue;
      }
      // Copied ranges are metadata (names, dims, nodes, small tensors): read in bounded pieces.
      for (let from = p.from; from < p.to; ) {
        const n = Math.min(p.to - from, 8 << 20);
        out.set(await this.source.read(from, n), at);
        at += n;
        from += n;
      }
    }
    return out;
  }
}

/**
 * A ModelProto decoded from `source` whose raw_data payloads of at least `minBytes` stay regions of
 * the source (lazy tensors). Throws FORGE_INVALID_MODEL like decodeModel for bytes that are not a model.
 */
export async function decodeModelLazily(source: ByteSource, options: DecodeLazilyOptions = {}): Promise<ModelProto> {
  const walker = new Walker(source, options.minBytes ?? 4096);
  const parts: Part[] = [];
  let length: number;
  try {
    length = await walker.message(0, source.size, MODEL, parts);
  } catch (e) {
    if (e instanceof ForgeError && (e.code !== ForgeErrorCode.INVALID_MODEL || (e.details as { tooDeep?: boolean } | undefined)?.tooDeep)) throw e;
    // Say what the file looks like, as decodeModel does (a zip, a TFLite flatbuffer, an HTML page...).
    const looksLike = sniff(await source.read(0, Math.min(64, source.size)));
    const why = e instanceof ForgeError ? e.message.replace(/ The file may be truncated.*$/, '') : `cannot decode the ONNX model (${source.name}): ${errorMessage(e)}.`;
    const hint = looksLike ? ` The file looks like ${looksLike}, not an ONNX model.` : ' The file may be truncated or not an ONNX model; re-export or re-download it.';
    throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `${why}${hint}`, { cause: e, details: { source: source.name, bytes: source.size, looksLike } });
  }
  // The graph without its large payloads is one protobuf message: past 2 GiB neither protobufjs nor
  // onnxruntime reads it. Refused before assembling, which would read all of it into memory.
  if (length >= PROTOBUF_LIMIT) {
    throw new ForgeError(
      ForgeErrorCode.INVALID_MODEL,
      `cannot decode the ONNX model (${source.name}): without its tensor payloads it still holds ${length} bytes, past protobuf's 2 GiB limit for one message; onnxruntime refuses it too. The file is corrupt, or not an ONNX model.`,
      { details: { source: source.name, bytes: source.size, graphBytes: length } },
    );
  }
  const skeleton = await walker.assemble(parts, length);
  const proto = decodeModel(skeleton, { source: source.name });
  let resolved = 0;
  for (const { tensor } of modelTensors(proto)) {
    const marks = tensor.externalData.filter((e) => e.key === MARK);
    const mark = marks[marks.length - 1];
    if (!mark) continue;
    // raw_data given twice (legal protobuf, however odd): the last one counts, as in decodeModel.
    resolved += marks.length;
    const region = walker.regions[Number(mark.value)];
    if (!region) throw new ForgeError(ForgeErrorCode.INTERNAL, `lazy decoding lost the region of tensor "${tensor.name}"`);
    tensor.externalData = tensor.externalData.filter((e) => e.key !== MARK);
    if (tensor.externalData.length) {
      throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `tensor "${tensor.name}" has both raw_data and external_data entries (${source.name}); re-export the model`, { details: { tensor: tensor.name } });
    }
    setTensorRegion(tensor, source, region.offset, region.length);
  }
  // A payload left in the file that no tensor reads would be written back as an empty tensor.
  if (resolved !== walker.regions.length) {
    throw new ForgeError(ForgeErrorCode.INTERNAL, `lazy decoding left ${walker.regions.length - resolved} of ${walker.regions.length} tensor payloads of ${source.name} unresolved`);
  }
  return proto;
}
