import { ForgeError, ForgeErrorCode, type TypedArray } from '@onnx-forge/core';
import type { RunnerDType, RunnerTensor } from '@onnx-forge/core';

const DESCR: Record<string, { type: RunnerDType; bytes: number; ctor: new (n: number) => TypedArray }> = {
  f4: { type: 'float32', bytes: 4, ctor: Float32Array },
  f8: { type: 'float64', bytes: 8, ctor: Float64Array },
  f2: { type: 'float16', bytes: 2, ctor: Uint16Array },
  i8: { type: 'int64', bytes: 8, ctor: BigInt64Array },
  u8: { type: 'uint64', bytes: 8, ctor: BigUint64Array },
  i4: { type: 'int32', bytes: 4, ctor: Int32Array },
  u4: { type: 'uint32', bytes: 4, ctor: Uint32Array },
  i2: { type: 'int16', bytes: 2, ctor: Int16Array },
  u2: { type: 'uint16', bytes: 2, ctor: Uint16Array },
  i1: { type: 'int8', bytes: 1, ctor: Int8Array },
  u1: { type: 'uint8', bytes: 1, ctor: Uint8Array },
  b1: { type: 'bool', bytes: 1, ctor: Uint8Array },
};

function bad(where: string, message: string): ForgeError {
  return new ForgeError(ForgeErrorCode.BAD_SAMPLES, `${where}: ${message}`, { details: { file: where } });
}

/**
 * Parses a NumPy .npy file (format versions 1, 2 and 3): C-order arrays of numeric or bool dtype,
 * little- or big-endian. Fortran-order and object arrays are refused with what to do instead.
 */
export function parseNpy(bytes: Uint8Array, where = 'npy'): RunnerTensor {
  const magic = '\x93NUMPY';
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic.charCodeAt(i)) throw bad(where, 'not a NumPy .npy file (bad magic)');
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    offset = 12;
  } else {
    throw bad(where, `unsupported .npy format version ${major}`);
  }
  if (offset + headerLen > bytes.length) throw bad(where, 'truncated .npy header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(offset, offset + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad(where, `cannot read the .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') throw bad(where, 'the array is in Fortran order; save it with np.save(path, np.ascontiguousarray(a))');
  const order = descr[0];
  const info = DESCR[descr.slice(1)];
  if (!info || !['<', '>', '|', '='].includes(order as string)) throw bad(where, `unsupported dtype "${descr}"; use a numeric or bool array`);
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw bad(where, `bad shape (${shapeText})`);
  const count = dims.reduce((a, d) => a * d, 1);
  const start = offset + headerLen;
  const need = count * info.bytes;
  if (bytes.length - start < need) throw bad(where, `the file holds ${bytes.length - start} data bytes; shape (${dims.join(', ')}) of ${descr} needs ${need}`);
  const data = new info.ctor(count);
  const out = new Uint8Array(data.buffer);
  out.set(bytes.subarray(start, start + need));
  if (order === '>' && info.bytes > 1) {
    for (let i = 0; i < need; i += info.bytes) out.subarray(i, i + info.bytes).reverse();
  }
  return { type: info.type, dims, data };
}
