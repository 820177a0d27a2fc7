/**
 * Decodes a deterministic corpus of broken models (random bytes, truncations, byte mutations of a
 * real model) and checks whatever decodes. Run as a child process by bad-input.test.ts, which kills
 * it after a deadline: a synchronous hang cannot be caught inside the process that hangs.
 * Prints one JSON line: counts, and the first raw (non-ForgeError) exception if any.
 *
 *   node --import tsx src/testing/decode-soak.ts <model.onnx> [cases]
 */
import { readFileSync } from 'node:fs';
import { Rng } from '../builder/random.js';
import { checkModel } from '../checker/checker.js';
import { decodeModel } from '../codec/codec.js';
import { ForgeError } from '../errors.js';
import { Model } from '../ir/model.js';

const [file, casesArg] = process.argv.slice(2);
if (!file) throw new Error('usage: decode-soak.ts <model.onnx> [cases]');
const model = new Uint8Array(readFileSync(file));
const cases = Number(casesArg ?? 300);
const rng = new Rng(20240607);

function mutate(bytes: Uint8Array): Uint8Array {
  const at = rng.int(0, bytes.length);
  switch (rng.int(0, 5)) {
    case 0: {
      const out = bytes.slice();
      out[at] = (out[at] as number) ^ (1 << rng.int(0, 8));
      return out;
    }
    case 1:
      return bytes.slice(0, at);
    case 2: {
      const out = bytes.slice();
      for (let i = at; i < Math.min(out.length, at + rng.int(1, 16)); i++) out[i] = rng.int(0, 256);
      return out;
    }
    case 3: {
      const extra = Uint8Array.from({ length: rng.int(1, 16) }, () => rng.int(0, 256));
      const out = new Uint8Array(bytes.length + extra.length);
      out.set(bytes.subarray(0, at));
      out.set(extra, at);
      out.set(bytes.subarray(at), at + extra.length);
      return out;
    }
    default: {
      const from = rng.int(0, bytes.length);
      const piece = bytes.subarray(from, from + rng.int(1, 512));
      const out = new Uint8Array(bytes.length + piece.length);
      out.set(bytes.subarray(0, at));
      out.set(piece, at);
      out.set(bytes.subarray(at), at + piece.length);
      return out;
    }
  }
}

const counts = { cases: 0, refused: 0, decoded: 0, checked: 0, raw: 0 };
let firstRaw: string | undefined;
const inputs: (() => Uint8Array)[] = [
  () => new Uint8Array(0),
  ...[1, 10, 1000, 100_000].map((n) => () => Uint8Array.from({ length: n }, () => rng.int(0, 256))),
  ...Array.from({ length: cases }, () => () => mutate(model)),
];
for (const make of inputs) {
  counts.cases++;
  const bytes = make();
  try {
    const proto = decodeModel(bytes);
    counts.decoded++;
    if (proto.graph) {
      checkModel(new Model(proto));
      counts.checked++;
    }
  } catch (e) {
    if (e instanceof ForgeError) counts.refused++;
    else {
      counts.raw++;
      firstRaw ??= e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
  }
}
process.stdout.write(`${JSON.stringify({ ...counts, firstRaw })}\n`);
