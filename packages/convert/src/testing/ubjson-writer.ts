/**
 * Writes a JSON value as UBJSON in XGBoost's layout (src/common/json.cc, UBJWriter): keys and strings
 * with an int64 length, integers in the smallest of i/I/l/L, other numbers as float32 ('d'), arrays with
 * a count ('[#L'), and the arrays named in `typed` as typed arrays ('[$' marker '#L' count, then the bare
 * values), as XGBoost writes each tree's per-node arrays.
 */
export type TypedMarker = 'd' | 'U' | 'i' | 'l' | 'L';

export function toUbjson(value: unknown, typed: Readonly<Record<string, TypedMarker>> = {}): Uint8Array {
  const out: number[] = [];
  const scratch = new DataView(new ArrayBuffer(8));
  const put = (marker: string | undefined, write: (v: DataView) => number): void => {
    if (marker !== undefined) out.push(marker.charCodeAt(0));
    const n = write(scratch);
    for (let i = 0; i < n; i++) out.push(scratch.getUint8(i));
  };
  const number = (marker: TypedMarker, n: number, withMarker: boolean): void => {
    const m = withMarker ? marker : undefined;
    if (marker === 'd') put(m, (v) => (v.setFloat32(0, n), 4));
    else if (marker === 'U') put(m, (v) => (v.setUint8(0, n), 1));
    else if (marker === 'i') put(m, (v) => (v.setInt8(0, n), 1));
    else if (marker === 'l') put(m, (v) => (v.setInt32(0, n), 4));
    else put(m, (v) => (v.setBigInt64(0, BigInt(n)), 8));
  };
  const length = (n: number): void => number('L', n, true);
  const text = (s: string): void => {
    const bytes = new TextEncoder().encode(s);
    length(bytes.length);
    out.push(...bytes);
  };
  const integer = (n: number): void => {
    if (n > -128 && n < 127) number('i', n, true);
    else if (n > -32768 && n < 32767) put('I', (v) => (v.setInt16(0, n), 2));
    else if (n > -(2 ** 31) && n < 2 ** 31 - 1) number('l', n, true);
    else number('L', n, true);
  };
  const write = (v: unknown, key?: string): void => {
    const marker = key === undefined ? undefined : typed[key];
    if (Array.isArray(v) && marker !== undefined) {
      out.push(...Buffer.from(`[$${marker}#`));
      length(v.length);
      for (const x of v) number(marker, Number(x), false);
    } else if (Array.isArray(v)) {
      out.push(...Buffer.from('[#'));
      length(v.length);
      for (const x of v) write(x);
    } else if (v === null) out.push(0x5a);
    else if (typeof v === 'boolean') out.push((v ? 'T' : 'F').charCodeAt(0));
    else if (typeof v === 'number' && Number.isInteger(v)) integer(v);
    else if (typeof v === 'number') number('d', v, true);
    else if (typeof v === 'string') {
      out.push(0x53);
      text(v);
    } else if (typeof v === 'object') {
      out.push(0x7b);
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        text(k);
        write(x, k);
      }
      out.push(0x7d);
    } else throw new Error(`no UBJSON for ${typeof v}`);
  };
  write(value);
  return Uint8Array.from(out);
}

/** The typed arrays of an XGBoost 2.x tree and model, with the marker XGBoost writes for each. */
export const XGBOOST_TYPED_ARRAYS: Readonly<Record<string, TypedMarker>> = {
  left_children: 'l',
  right_children: 'l',
  parents: 'l',
  split_indices: 'l',
  split_conditions: 'd',
  base_weights: 'd',
  loss_changes: 'd',
  sum_hessian: 'd',
  default_left: 'U',
  split_type: 'U',
  categories: 'l',
  categories_nodes: 'l',
  categories_segments: 'L',
  categories_sizes: 'L',
  tree_info: 'l',
  iteration_indptr: 'l',
};
