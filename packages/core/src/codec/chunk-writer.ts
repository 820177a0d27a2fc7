import type Long from 'long';

/**
 * A protobuf writer for the generated encoders that never copies large byte fields: it produces a list
 * of chunks in which tensor payloads are the caller's own views. `writeModel` streams the chunks to a
 * file, so a 440 MB model is written without a second 440 MB buffer; `concat()` gives one buffer for
 * `encodeModel`. Length prefixes of nested messages are filled into reserved slots when a message ends.
 */
const SCRATCH = 64 * 1024;
/** Byte fields at least this long are referenced, not copied. */
const BY_REFERENCE = 4096;

const utf8 = new TextEncoder();

/**
 * Bytes not in memory yet (a lazy or deferred tensor payload): the writer knows their length, and
 * whoever writes the encoded message out reads them when it reaches them.
 */
export interface DeferredBytes {
  readonly length: number;
  readSync(): Uint8Array;
  read(): Promise<Uint8Array>;
  /** Hands the bytes to `sink` in pieces through lent memory; each piece is gone once `sink` returns. */
  emit(sink: (bytes: Uint8Array) => void): Promise<void>;
}

/** A part of an encoded message: bytes, or bytes to read when reached. */
export type EncodedPart = Uint8Array | DeferredBytes;

/** Stand-ins given to the encoder as byte field values, and what they stand for. */
const STAND_INS = new WeakMap<Uint8Array, DeferredBytes>();

/**
 * An empty array to give the encoder as a byte field's value: the writer writes `bytes`' length and
 * leaves a deferred part in the output where the payload goes.
 */
export function standIn(bytes: DeferredBytes): Uint8Array {
  const key = new Uint8Array(0);
  STAND_INS.set(key, bytes);
  return key;
}

export function isDeferredPart(p: EncodedPart): p is DeferredBytes {
  return !(p instanceof Uint8Array);
}

export class ChunkWriter {
  /** Parts in order; `null` marks a length slot not yet filled. */
  private parts: (EncodedPart | null)[] = [];
  private scratch = new Uint8Array(SCRATCH);
  private view = new DataView(this.scratch.buffer);
  /** Start of the not yet flushed region of `scratch`. */
  private start = 0;
  private pos = 0;
  /** Total bytes written before the current scratch region. */
  private flushed = 0;
  /** For each open fork: index of its slot in `parts` and total length at the fork. */
  private forks: { slot: number; at: number }[] = [];

  get length(): number {
    return this.flushed + (this.pos - this.start);
  }

  private flush(): void {
    if (this.pos > this.start) {
      this.parts.push(this.scratch.subarray(this.start, this.pos));
      this.flushed += this.pos - this.start;
      this.start = this.pos;
    }
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    this.flush();
    this.scratch = new Uint8Array(Math.max(SCRATCH, n));
    this.view = new DataView(this.scratch.buffer);
    this.start = 0;
    this.pos = 0;
  }

  uint32(value: number): this {
    value >>>= 0;
    this.reserve(5);
    const buf = this.scratch;
    while (value > 127) {
      buf[this.pos++] = (value & 127) | 128;
      value >>>= 7;
    }
    buf[this.pos++] = value;
    return this;
  }

  int32(value: number): this {
    // Negative int32 values are sign-extended to 10 bytes, as the protobuf wire format requires.
    return value < 0 ? this.writeVarint64(value >>> 0, 0xffffffff) : this.uint32(value);
  }

  int64(value: number | Long | string): this {
    // Most int64 values (dims, axes, indices) are small non-negative numbers: no split needed.
    if (typeof value === 'number') {
      if (value >= 0 && value < TWO_32) return this.uint32(value);
      if (Number.isSafeInteger(value)) {
        // Exact two's complement halves of a safe integer, without the array splitInt64 returns.
        const hi = Math.floor(value / TWO_32);
        return this.writeVarint64(value - hi * TWO_32, hi);
      }
    }
    const [lo, hi] = splitInt64(value);
    return this.writeVarint64(lo, hi);
  }

  uint64(value: number | Long | string): this {
    return this.int64(value);
  }

  private writeVarint64(lo: number, hi: number): this {
    this.reserve(10);
    const buf = this.scratch;
    lo >>>= 0;
    hi >>>= 0;
    while (hi) {
      buf[this.pos++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    // What is left is lo's own varint, within the 10 bytes reserved (so uint32's reserve never flushes).
    return this.uint32(lo);
  }

  float(value: number): this {
    this.reserve(4);
    this.view.setFloat32(this.pos, value, true);
    this.pos += 4;
    return this;
  }

  double(value: number): this {
    this.reserve(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
    return this;
  }

  bool(value: boolean): this {
    this.reserve(1);
    this.scratch[this.pos++] = value ? 1 : 0;
    return this;
  }

  // A field holding the wrong kind of value (a pass bug) must fail the encode rather than write bytes
  // that decode to something else: protobufjs' own writer would coerce it silently.
  string(value: string): this {
    if (typeof value !== 'string') throw new TypeError(`expected a string field value, got ${describe(value)}`);
    const bytes = utf8.encode(value);
    this.uint32(bytes.length);
    return this.raw(bytes);
  }

  bytes(value: Uint8Array): this {
    if (!(value instanceof Uint8Array)) throw new TypeError(`expected a bytes field value (Uint8Array), got ${describe(value)}`);
    const deferred = value.length === 0 ? STAND_INS.get(value) : undefined;
    if (deferred) {
      this.uint32(deferred.length);
      this.flush();
      this.parts.push(deferred);
      this.flushed += deferred.length;
      return this;
    }
    this.uint32(value.length);
    return this.raw(value);
  }

  /** Bytes written as they are (unknown fields, payloads). */
  raw(value: Uint8Array): this {
    if (value.length >= BY_REFERENCE) {
      this.flush();
      this.parts.push(value);
      this.flushed += value.length;
      return this;
    }
    this.reserve(value.length);
    this.scratch.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  private packed(count: number, bytesPer: number, write: (i: number) => void): this {
    this.reserve(count * bytesPer);
    for (let i = 0; i < count; i++) write(i);
    return this;
  }

  floats(values: ArrayLike<number>): this {
    this.uint32(values.length * 4);
    return this.packed(values.length, 4, (i) => {
      this.view.setFloat32(this.pos, values[i] as number, true);
      this.pos += 4;
    });
  }

  doubles(values: ArrayLike<number>): this {
    this.uint32(values.length * 8);
    return this.packed(values.length, 8, (i) => {
      this.view.setFloat64(this.pos, values[i] as number, true);
      this.pos += 8;
    });
  }

  /** Packed varints: the length is only known after encoding, so encode into a fork. */
  int32s(values: ArrayLike<number>): this {
    this.fork();
    for (let i = 0; i < values.length; i++) this.int32(values[i] as number);
    return this.ldelim();
  }

  int64s(values: ArrayLike<number | Long>): this {
    this.fork();
    for (let i = 0; i < values.length; i++) this.int64(values[i] as number | Long);
    return this.ldelim();
  }

  uint64s(values: ArrayLike<number | Long>): this {
    return this.int64s(values);
  }

  fork(): this {
    this.flush();
    this.forks.push({ slot: this.parts.length, at: this.flushed });
    this.parts.push(null);
    return this;
  }

  ldelim(): this {
    const f = this.forks.pop();
    if (!f) throw new Error('ldelim without fork');
    const len = this.length - f.at;
    this.parts[f.slot] = varint32(len);
    // The prefix belongs to the enclosing message: count it in the total.
    this.flushed += (this.parts[f.slot] as Uint8Array).length;
    return this;
  }

  /** The encoded message as parts in order: bytes (large payloads are the caller's views) and deferred payloads. */
  encodedParts(): EncodedPart[] {
    if (this.forks.length) throw new Error('unbalanced fork');
    this.flush();
    return this.parts as EncodedPart[];
  }

  /** The encoded message as a list of chunks, deferred payloads read now. */
  chunks(): Uint8Array[] {
    return this.encodedParts().map((p) => (isDeferredPart(p) ? p.readSync() : p));
  }

  /** The encoded message in one buffer (deferred payloads are read into it one at a time). */
  concat(): Uint8Array {
    const parts = this.encodedParts();
    const out = new Uint8Array(this.flushed);
    let at = 0;
    for (const p of parts) {
      out.set(isDeferredPart(p) ? p.readSync() : p, at);
      at += p.length;
    }
    return out;
  }
}

function varint32(value: number): Uint8Array {
  const out: number[] = [];
  value >>>= 0;
  while (value > 127) {
    out.push((value & 127) | 128);
    value >>>= 7;
  }
  out.push(value);
  return Uint8Array.from(out);
}

const TWO_32 = 4294967296;

/** Low and high 32 bits (two's complement) of a 64-bit integer given as number, Long or string. */
export function splitInt64(value: number | Long | string): [number, number] {
  if (typeof value === 'number') {
    if (value >= 0 && value < TWO_32) return [value >>> 0, 0];
    if (Number.isSafeInteger(value)) {
      const neg = value < 0;
      const v = neg ? -value : value;
      let lo = v % TWO_32;
      let hi = Math.floor(v / TWO_32);
      if (neg) {
        lo = ~lo >>> 0;
        hi = ~hi >>> 0;
        lo = (lo + 1) >>> 0;
        if (lo === 0) hi = (hi + 1) >>> 0;
      }
      return [lo >>> 0, hi >>> 0];
    }
    return splitInt64(BigInt.asIntN(64, BigInt(Math.trunc(value))).toString());
  }
  if (typeof value === 'string') {
    const b = BigInt.asUintN(64, BigInt(value));
    return [Number(b & 0xffffffffn), Number(b >> 32n)];
  }
  if (value === null || typeof value !== 'object' || typeof value.low !== 'number' || typeof value.high !== 'number') {
    throw new TypeError(`expected an int64 field value (number or Long), got ${describe(value)}`);
  }
  return [value.low >>> 0, value.high >>> 0];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no prototype'})`;
  return `${typeof value} ${String(value).slice(0, 40)}`;
}
