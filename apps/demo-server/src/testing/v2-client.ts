/** A minimal Open Inference Protocol client for tests and benchmarks: JSON and binary tensor bodies. */

export interface V2Response {
  readonly status: number;
  readonly headers: Headers;
  /** The JSON body, or the JSON header of a binary body. */
  readonly json: unknown;
  /** Bytes after the JSON header (empty for a JSON body). */
  readonly binary: Buffer;
}

export async function call(url: string, method: 'GET' | 'POST', body?: string | Buffer | object, headers: Record<string, string> = {}): Promise<V2Response> {
  const payload = body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await fetch(url, { method, headers: { ...(payload !== undefined && !headers['content-type'] ? { 'content-type': 'application/json' } : {}), ...headers }, ...(payload === undefined ? {} : { body: payload as BodyInit }) });
  const raw = Buffer.from(await res.arrayBuffer());
  const h = res.headers.get('inference-header-content-length');
  const n = h === null ? raw.length : Number(h);
  const text = raw.subarray(0, n).toString('utf8');
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json, binary: raw.subarray(n) };
}

/** A request body with binary tensors: the JSON header, then each buffer in order. */
export function binaryBody(json: object, buffers: readonly Buffer[]): { body: Buffer; headers: Record<string, string> } {
  const header = Buffer.from(JSON.stringify(json), 'utf8');
  return { body: Buffer.concat([header, ...buffers]), headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' } };
}

/** Bytes of a typed array (little-endian on the machines this runs on). */
export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Splits binary outputs of a response by their binary_data_size, in order. */
export function binaryOutputs(r: V2Response): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  for (const o of (r.json as { outputs: { name: string; parameters?: { binary_data_size?: number } }[] }).outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    out.set(o.name, r.binary.subarray(at, at + size));
    at += size;
  }
  if (at !== r.binary.length) throw new Error(`binary outputs add up to ${at} bytes, the body has ${r.binary.length}`);
  return out;
}
