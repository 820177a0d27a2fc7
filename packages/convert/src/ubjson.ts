import { invalidModel } from './convert-errors.js';

/*
 * UBJSON (Universal Binary JSON), as XGBoost writes it to .ubj files (its default format since 2.1):
 * big-endian values after one-byte markers; object keys are a length (an integer marker and its value)
 * and UTF-8 bytes, with no 'S' before them. XGBoost writes the per-node arrays of each tree as typed
 * arrays ('[', '$' and the element marker, '#' and the count, then the bare values), other arrays with
 * a count ('[#L' and the count) and objects without one, closed by '}'. The reader takes the whole of
 * draft 12 as far as JSON holds it: counted and typed objects, arrays closed by ']', no-op markers.
 */

/** The most nested containers read; an XGBoost model nests about eight deep. */
const MAX_DEPTH = 256;

/** Whether file bytes open as a UBJSON object does: '{', then the length marker of the first key. */
export function looksLikeUbjsonBytes(bytes: Uint8Array): boolean {
  return bytes[0] === 0x7b && bytes.length > 1 && 'iUIlL'.includes(String.fromCharCode(bytes[1] as number));
}

/** Bytes of each number marker's value. */
const WIDTH: Record<string, number> = { i: 1, U: 1, I: 2, l: 4, d: 4, L: 8, D: 8 };

class UbjsonReader {
  private pos = 0;
  private readonly view: DataView;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  read(): unknown {
    const value = this.value(this.marker(), 0);
    if (this.pos !== this.bytes.length) this.fail(`${this.bytes.length - this.pos} bytes follow the end of the model`);
    return value;
  }

  private fail(why: string): never {
    throw invalidModel('xgboost', `the UBJSON model is damaged at byte ${this.pos}: ${why}; save the model again with save_model("model.ubj") or save_model("model.json")`, { offset: this.pos });
  }

  private need(n: number): void {
    if (n > this.bytes.length - this.pos) this.fail('the file ends inside a value (truncated?)');
  }

  /** The next marker, skipping no-op ('N') markers. */
  private marker(): string {
    for (;;) {
      this.need(1);
      const c = String.fromCharCode(this.bytes[this.pos++] as number);
      if (c !== 'N') return c;
    }
  }

  private peek(): string {
    this.need(1);
    return String.fromCharCode(this.bytes[this.pos] as number);
  }

  private number(type: string): number {
    const width = WIDTH[type];
    if (width === undefined) this.fail(`"${type}" is no number marker`);
    this.need(width);
    const at = this.pos;
    this.pos += width;
    switch (type) {
      case 'i':
        return this.view.getInt8(at);
      case 'U':
        return this.view.getUint8(at);
      case 'I':
        return this.view.getInt16(at);
      case 'l':
        return this.view.getInt32(at);
      case 'd':
        return this.view.getFloat32(at);
      case 'D':
        return this.view.getFloat64(at);
      default: {
        const big = this.view.getBigInt64(at);
        if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
          this.pos = at;
          this.fail(`the integer ${big} is past what a JavaScript number holds exactly`);
        }
        return Number(big);
      }
    }
  }

  /** A count or length: an integer marker and its value, not negative. */
  private count(what: string): number {
    const type = this.marker();
    if (!'iUIlL'.includes(type)) this.fail(`the ${what} has marker "${type}", not an integer`);
    const n = this.number(type);
    if (n < 0) this.fail(`the ${what} is ${n}`);
    return n;
  }

  private string(): string {
    const length = this.count('string length');
    this.need(length);
    const text = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    try {
      return this.utf8.decode(text);
    } catch {
      this.pos -= length;
      return this.fail('a string is not UTF-8');
    }
  }

  private value(type: string, depth: number): unknown {
    switch (type) {
      case 'Z':
        return null;
      case 'T':
        return true;
      case 'F':
        return false;
      case 'S':
        return this.string();
      case 'C':
        // A char is a string of one ASCII character.
        this.need(1);
        return String.fromCharCode(this.bytes[this.pos++] as number);
      case 'H': {
        // A high-precision number, written as its decimal text.
        const text = this.string();
        const n = Number(text);
        if (text.trim() === '' || Number.isNaN(n)) this.fail(`high-precision number "${text}" is no number`);
        return n;
      }
      case '[':
      case '{':
        if (depth >= MAX_DEPTH) this.fail(`containers nest more than ${MAX_DEPTH} deep`);
        return type === '[' ? this.array(depth + 1) : this.object(depth + 1);
      default:
        if (WIDTH[type] === undefined) {
          this.pos--;
          this.fail(`unknown marker "${type}" (0x${type.charCodeAt(0).toString(16)})`);
        }
        return this.number(type);
    }
  }

  /** The '$' type and '#' count that may open a container. */
  private header(): { type?: string; count?: number } {
    let type: string | undefined;
    if (this.peek() === '$') {
      this.pos++;
      type = this.marker();
      if (this.peek() !== '#') this.fail('a typed container has no count');
    }
    if (this.peek() !== '#') return {};
    this.pos++;
    const count = this.count('container count');
    // No real model holds more elements than its file has bytes; a damaged count would make room for them.
    if (count > this.bytes.length) this.fail(`a container counts ${count} elements, more than the file has bytes`);
    return type === undefined ? { count } : { type, count };
  }

  private array(depth: number): unknown[] {
    const { type, count } = this.header();
    if (count === undefined) {
      const out: unknown[] = [];
      for (let m = this.marker(); m !== ']'; m = this.marker()) out.push(this.value(m, depth));
      return out;
    }
    if (type !== undefined && WIDTH[type] !== undefined) {
      // Typed numbers: check the whole run is there before making room for it.
      this.need(count * (WIDTH[type] as number));
      const out = new Array<number>(count);
      for (let i = 0; i < count; i++) out[i] = this.number(type);
      return out;
    }
    // A count alone, or a typed run of another kind ('$S', '$[', ...).
    const out = new Array<unknown>(count);
    for (let i = 0; i < count; i++) out[i] = this.value(type ?? this.marker(), depth);
    return out;
  }

  private object(depth: number): Record<string, unknown> {
    const { type, count } = this.header();
    // Keys from the file may be "__proto__": a prototype-free object keeps them as plain keys.
    const out = Object.create(null) as Record<string, unknown>;
    if (count === undefined) {
      while (this.peek() !== '}') {
        if (this.peek() === 'N') {
          this.pos++;
          continue;
        }
        const key = this.string();
        out[key] = this.value(this.marker(), depth);
      }
      this.pos++;
      return out;
    }
    for (let i = 0; i < count; i++) {
      const key = this.string();
      out[key] = this.value(type ?? this.marker(), depth);
    }
    return out;
  }
}

/** Parses UBJSON bytes (an XGBoost .ubj model) into the value JSON.parse gives for the same model. */
export function readUbjson(bytes: Uint8Array): unknown {
  return new UbjsonReader(bytes).read();
}
