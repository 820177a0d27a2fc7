/**
 * JSON text for command output. Values from the ONNX codec may hold int64 as `Long` or BigInt and
 * tensor bytes as typed arrays; JSON cannot hold those, so they are turned into numbers, strings or a
 * short placeholder.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, replacer, 2);
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (ArrayBuffer.isView(value)) return `<${value.constructor.name} ${value.byteLength} bytes>`;
  if (value && typeof value === 'object' && isLong(value)) {
    const n = value.toNumber();
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  return value;
}

function isLong(v: object): v is { toNumber(): number; toString(): string } {
  const o = v as { low?: unknown; high?: unknown; toNumber?: unknown };
  return typeof o.low === 'number' && typeof o.high === 'number' && typeof o.toNumber === 'function';
}
