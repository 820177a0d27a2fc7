import { ModelBuilder, Rng, cosineSimilarity, nullThrows, tensorToArray, type Model, type NodeProto, type RunnerFeeds } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { ORT_BACKENDS, load } from '../../testing/ort-sessions.js';
import { assertValid } from '../../testing/harness.js';
import { quantizeBlocks, dequantizeBlocks } from './block-quantize.js';
import { int4, quantizeInt4 } from './int4.js';

/*
 * The packed forms are checked against onnxruntime itself (onnxruntime-node CPU and onnxruntime-web
 * wasm, 1.30): the quantized model's output must equal a plain JavaScript dequantize + matmul of the
 * initializers the pass wrote, read back from the model (not from the quantizer), for each block
 * size, symmetric and asymmetric, with K not a multiple of the block size.
 */

function matmulModel(K: number, N: number, seed: number, std = 1): Model {
  const b = new ModelBuilder({ opset: 17 });
  const a = b.input('A', 'float32', ['M', K]);
  const w = b.initializer('W', new Rng(seed).fillNormalish(new Float32Array(K * N), std), [K, N]);
  b.output(b.op('MatMul', [a, w], {}, { name: 'mm', outputs: ['Y'] }), 'float32', ['M', N]);
  return b.build();
}

const floatsOf = (m: Model, name: string) => Float32Array.from(tensorToArray(nullThrows(m.graph.initializer(name), `initializer ${name}`)) as ArrayLike<number>);
const bytesOf = (m: Model, name: string) => Uint8Array.from(tensorToArray(nullThrows(m.graph.initializer(name), `initializer ${name}`)) as ArrayLike<number>);
const only = (m: Model, opType: string): NodeProto => nullThrows(m.graph.nodes.find((n) => n.opType === opType), `a ${opType} node`);
const attr = (n: NodeProto, name: string) => Number(n.attribute.find((a) => a.name === name)?.i ?? NaN);

/** A [M, K] x W, with W given as rows of K (the [N, K] layout the packed form dequantizes to). */
function matmulRows(a: Float32Array, M: number, K: number, rows: Float32Array, N: number): Float32Array {
  const out = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (a[m * K + k] as number) * (rows[n * K + k] as number);
      out[m * N + n] = s;
    }
  }
  return out;
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('int4: MatMulNBits packing against onnxruntime', () => {
  const cases = [16, 32, 64, 128].flatMap((blockSize) => [true, false].map((symmetric) => ({ blockSize, symmetric })));
  describe.each(ORT_BACKENDS)('on %s', (backend) => {
    it.each(cases)('block $blockSize, symmetric $symmetric, K = 2.5 blocks + 3: onnxruntime computes A x dequantize(B)', async ({ blockSize, symmetric }) => {
      const K = 2 * blockSize + blockSize / 2 + 3;
      const N = 5;
      const M = 3;
      const model = matmulModel(K, N, blockSize + (symmetric ? 1 : 2));
      const original = floatsOf(model, 'W');
      const report = await quantizeInt4(model, { blockSize, symmetric, target: backend === 'node' ? 'cpu' : 'wasm' });
      assertValid(model);
      expect(report.quantized).toBe(1);
      const node = only(model, 'MatMulNBits');
      expect(node.domain).toBe('com.microsoft');
      expect([attr(node, 'K'), attr(node, 'N'), attr(node, 'bits'), attr(node, 'block_size')]).toEqual([K, N, 4, blockSize]);
      expect(node.attribute.some((a) => a.name === 'accuracy_level')).toBe(false);
      expect(model.graph.initializer('W')).toBeUndefined();
      const blocks = Math.ceil(K / blockSize);
      expect(model.graph.initializer(node.input[1] ?? '')?.dims.map(Number)).toEqual([N, blocks, blockSize / 2]);
      expect(model.graph.initializer(node.input[2] ?? '')?.dims.map(Number)).toEqual([N * blocks]);
      expect(node.input.length).toBe(symmetric ? 3 : 4);
      const zeroPoints = symmetric ? undefined : bytesOf(model, node.input[3] ?? '');
      if (zeroPoints) expect(zeroPoints.length).toBe(N * Math.ceil(blocks / 2));
      const rows = dequantizeBlocks({
        rows: N, cols: K, blockSize,
        packed: bytesOf(model, node.input[1] ?? ''),
        scales: floatsOf(model, node.input[2] ?? ''),
        ...(zeroPoints ? { zeroPoints } : {}),
      });
      const a = new Rng(5).fillNormalish(new Float32Array(M * K), 1);
      const session = await load(backend, model.encode());
      try {
        const y = nullThrows((await session.run({ A: { type: 'float32', dims: [M, K], data: a } })).Y, 'output Y');
        const reference = matmulRows(a, M, K, rows, N);
        expect(maxAbs(y, reference)).toBeLessThan(1e-4 * Math.sqrt(K));
        // And it is a 4-bit approximation of the float weight: column by column close to the original.
        const transposed = new Float32Array(N * K);
        for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) transposed[n * K + k] = original[k * N + n] as number;
        expect(cosineSimilarity(rows, transposed)).toBeGreaterThan(0.98);
        expect(cosineSimilarity(y, matmulRows(a, M, K, transposed, N))).toBeGreaterThan(0.98);
      } finally {
        await session.release();
      }
    });
  });

  it('accuracy_level 4 is written, and onnxruntime-node CPU then computes with int8 A (close, not equal)', async () => {
    const model = matmulModel(96, 8, 3);
    await quantizeInt4(model, { accuracyLevel: 4, target: 'cpu' });
    expect(attr(only(model, 'MatMulNBits'), 'accuracy_level')).toBe(4);
    const exact = model.clone();
    const n = only(exact, 'MatMulNBits');
    n.attribute = n.attribute.filter((a) => a.name !== 'accuracy_level');
    const feeds: RunnerFeeds = { A: { type: 'float32', dims: [4, 96], data: new Rng(2).fillNormalish(new Float32Array(4 * 96), 1) } };
    const run = async (m: Model) => {
      const s = await load('node', m.encode());
      try {
        return nullThrows((await s.run(feeds)).Y, 'Y');
      } finally {
        await s.release();
      }
    };
    const [level4, level0] = [await run(model), await run(exact)];
    expect(cosineSimilarity(level4, level0)).toBeGreaterThan(0.999);
    // Not equal: the int8 A of level 4 rounds differently, so onnxruntime did take the attribute.
    expect(Array.from(level4)).not.toEqual(Array.from(level0));
  });
});

describe('int4: block quantization', () => {
  it('search never leaves more squared error than round to nearest, and lowers it on Gaussian weights', () => {
    const data = new Rng(11).fillNormalish(new Float32Array(64 * 96), 1);
    for (const symmetric of [true, false]) {
      const rtn = quantizeBlocks(data, 64, 96, 96, 1, { blockSize: 32, symmetric, method: 'rtn' });
      const search = quantizeBlocks(data, 64, 96, 96, 1, { blockSize: 32, symmetric, method: 'search' });
      expect(search.rtnSse).toBeCloseTo(rtn.sse, 6);
      expect(search.sse).toBeLessThan(rtn.sse * 0.95);
      // The squared error is the one the stored form has.
      const back = dequantizeBlocks(search);
      let sse = 0;
      for (let i = 0; i < data.length; i++) sse += ((data[i] as number) - (back[i] as number)) ** 2;
      expect(sse).toBeCloseTo(search.sse, 3);
    }
  });

  it('a block of zeros gets scale 0 and dequantizes to zeros; the largest magnitude is exact in symmetric RTN', () => {
    const data = Float32Array.from([...Array(16).fill(0), -3, 1, 0.5, 2, ...Array(12).fill(0.25)]);
    const q = quantizeBlocks(data, 1, 32, 32, 1, { blockSize: 16, symmetric: true, method: 'rtn' });
    expect(q.scales[0]).toBe(0);
    const back = dequantizeBlocks(q);
    expect(Array.from(back.subarray(0, 16))).toEqual(Array(16).fill(0));
    expect(back[16]).toBeCloseTo(-3, 6);
  });
});

describe('int4: GatherBlockQuantized tables against onnxruntime', () => {
  describe.each(ORT_BACKENDS)('on %s', (backend) => {
    it.each([true, false])('symmetric %s: rows of 2.5 blocks gathered as the dequantized table', async (symmetric) => {
      const V = 9;
      const H = 80; // 2.5 blocks of 32: an odd block count per row, with an even row length
      const b = new ModelBuilder({ opset: 17 });
      const ids = b.input('ids', 'int64', [2, 3]);
      b.initializer('table', new Rng(4).fillNormalish(new Float32Array(V * H), 1), [V, H]);
      b.output(b.op('Gather', ['table', ids], { axis: 0 }, { name: 'embed', outputs: ['Y'] }), 'float32', [2, 3, H]);
      const model = b.build();
      const report = await quantizeInt4(model, { ops: ['Gather'], symmetric, target: backend === 'node' ? 'cpu' : 'wasm' });
      expect(report.quantized).toBe(1);
      expect(report.gatherTables.ratio).toBeLessThan(0.2);
      const node = only(model, 'GatherBlockQuantized');
      const zeroPoints = symmetric ? undefined : bytesOf(model, node.input[3] ?? '');
      // The table's rows are stored without block padding, [V, H / 2]; dequantize them with the block layout.
      const data = bytesOf(model, node.input[0] ?? '');
      expect(data.length).toBe((V * H) / 2);
      const blocks = Math.ceil(H / 32);
      const padded = new Uint8Array(V * blocks * 16);
      for (let r = 0; r < V; r++) padded.set(data.subarray((r * H) / 2, ((r + 1) * H) / 2), r * blocks * 16);
      const table = dequantizeBlocks({ rows: V, cols: H, blockSize: 32, packed: padded, scales: floatsOf(model, node.input[2] ?? ''), ...(zeroPoints ? { zeroPoints } : {}) });
      const index = [3, 0, 8, 8, 1, 5];
      const session = await load(backend, model.encode());
      try {
        const y = nullThrows((await session.run({ ids: { type: 'int64', dims: [2, 3], data: BigInt64Array.from(index, BigInt) } })).Y, 'Y');
        const expected = new Float32Array(index.length * H);
        index.forEach((r, i) => expected.set(table.subarray(r * H, (r + 1) * H), i * H));
        expect(maxAbs(y, expected)).toBeLessThan(1e-6);
      } finally {
        await session.release();
      }
    });
  });
});

describe('int4: where 4-bit tables do not load', () => {
  it("targets that include wasm say that onnxruntime-web/webgpu's WebAssembly provider has no GatherBlockQuantized (wasm-targets.browser.test.ts); cpu and cuda do not, nor MatMul alone", async () => {
    const table = () => {
      const b = new ModelBuilder({ opset: 17 });
      const ids = b.input('ids', 'int64', [2]);
      b.initializer('table', new Rng(4).fillNormalish(new Float32Array(8 * 64), 1), [8, 64]);
      b.output(b.op('Gather', ['table', ids], { axis: 0 }, { outputs: ['Y'] }), 'float32', [2, 64]);
      return b.build();
    };
    for (const target of ['wasm', 'any', 'webgpu'] as const) {
      const r = await quantizeInt4(table(), { ops: ['MatMul', 'Gather'], target, blockSize: 32 });
      expect(r.quantized, target).toBe(1);
      expect(r.warnings.join('\n'), target).toMatch(
        new RegExp(`int4: tables stored 4-bit as GatherBlockQuantized for target ${target}: onnxruntime-web/webgpu's WebAssembly provider .* has no GatherBlockQuantized kernel .*; for that build keep tables float \\(ops=\\[MatMul\\]\\) or 8-bit \\(int8-dynamic\\)`),
      );
    }
    for (const target of ['cpu', 'cuda'] as const) expect((await quantizeInt4(table(), { ops: ['MatMul', 'Gather'], target })).warnings.join('\n')).not.toMatch(/GatherBlockQuantized/);
    expect((await quantizeInt4(table(), { target: 'wasm' })).warnings.join('\n')).not.toMatch(/GatherBlockQuantized/);
  });
});

describe('int4: decisions', () => {
  function mixed(): Model {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', ['batch', 64]);
    const ids = b.input('ids', 'int64', ['batch']);
    const rng = new Rng(1);
    const shared = b.initializer('shared', rng.fillNormalish(new Float32Array(64 * 64), 0.1), [64, 64]);
    const h1 = b.op('MatMul', [x, shared], {}, { name: 'first' });
    const h2 = b.op('MatMul', [h1, shared], {}, { name: 'second' });
    const scores = b.op('MatMul', [h1, b.op('Transpose', [h2], {}, { name: 't' })], {}, { name: 'activations' });
    const w3 = b.initializer('w3', rng.fillNormalish(new Float32Array(2 * 64 * 8), 0.1), [2, 64, 8]);
    const batched = b.op('MatMul', [h2, w3], {}, { name: 'batched' });
    const gemm = b.op('Gemm', [h2, b.initializer('g', rng.fillNormalish(new Float32Array(64 * 4), 0.1), [64, 4])], {}, { name: 'gemm' });
    const emb = b.op('Gather', [b.initializer('emb', rng.fillNormalish(new Float32Array(10 * 64), 1), [10, 64]), ids], { axis: 0 }, { name: 'embed' });
    const bad = b.initializer('bad', Float32Array.from({ length: 64 * 4 }, (_, i) => (i === 5 ? Infinity : 0.1)), [64, 4]);
    const inf = b.op('MatMul', [h2, bad], {}, { name: 'nonfinite' });
    for (const [name, v] of [['scores', scores], ['batched', batched], ['gemm', gemm], ['emb', emb], ['inf', inf]] as const) {
      b.output(b.op('Identity', [v], {}, { outputs: [`${name}_out`] }), 'float32', null);
    }
    return b.build();
  }

  it('gives every node a decision with its reason, and quantizes a shared weight once', async () => {
    const model = mixed();
    const r = await quantizeInt4(model);
    const reason = (node: string) => r.nodes.find((d) => d.node.includes(`"${node}"`) || d.node === node)?.reason ?? `(no decision for ${node}: ${r.nodes.map((d) => d.node).join(', ')})`;
    const action = (node: string) => r.nodes.find((d) => d.node.includes(`"${node}"`) || d.node === node)?.action;
    expect(action('first')).toBe('quantized');
    expect(action('second')).toBe('quantized');
    expect(model.graph.nodes.filter((n) => n.opType === 'MatMulNBits').map((n) => n.input[1])).toEqual(['shared_Q4', 'shared_Q4']);
    expect(reason('activations')).toMatch(/both inputs are computed at run time/);
    expect(reason('batched')).toMatch(/3-D \[2, 64, 8\]; MatMulNBits takes a 2-D/);
    expect(reason('nonfinite')).toMatch(/NaN or infinite/);
    expect(action('gemm')).toBe('not-quantized');
    expect(reason('gemm')).toMatch(/int8-dynamic/);
    expect(action('embed')).toBe('skipped');
    expect(reason('embed')).toMatch(/not in "ops".*GatherBlockQuantized/);
    expect(r.nodes.filter((d) => d.opType === 'Identity').every((d) => d.action === 'not-quantized')).toBe(true);
    // Byte counts: the shared weight once, 64 x 64 float32 -> 2 blocks of 32 per column.
    expect(r.matmulWeights.before).toBe(64 * 64 * 4);
    expect(r.matmulWeights.after).toBe(64 * 2 * 16 + 64 * 2 * 4);
    expect(model.opset('com.microsoft')).toBe(1);
    assertValid(model);
    expect(model.graph.initializer('shared')).toBeUndefined();
    expect(model.graph.initializer('bad')).toBeDefined();
  });

  it('skips asymmetric tables with an odd block count per row for WebGPU (flat zero-point reads) but not for cpu', async () => {
    const build = () => {
      const b = new ModelBuilder({ opset: 17 });
      const ids = b.input('ids', 'int64', [2]);
      b.output(b.op('Gather', [b.initializer('emb', new Rng(2).fillNormalish(new Float32Array(4 * 96), 1), [4, 96]), ids], { axis: 0 }, { name: 'embed', outputs: ['y'] }), 'float32', [2, 96]);
      return b.build();
    };
    for (const target of ['webgpu', 'any'] as const) {
      const r = await quantizeInt4(build(), { ops: ['Gather'], symmetric: false, target });
      expect(r.nodes.find((d) => d.opType === 'Gather')?.reason).toMatch(/WebGPU GatherBlockQuantized reads 4-bit zero points/);
      expect(r.warnings.join(' ')).toMatch(/no node was quantized/);
    }
    expect((await quantizeInt4(build(), { ops: ['Gather'], symmetric: false, target: 'cpu' })).quantized).toBe(1);
    expect((await quantizeInt4(build(), { ops: ['Gather'], symmetric: true, target: 'webgpu' })).quantized).toBe(1);
  });

  it('for webgpu, names a node of the model as given that onnxruntime-web\'s WebGPU computes wrong (MatMulNBits blocks of 64 made for cpu)', async () => {
    const model = matmulModel(128, 8, 1);
    await quantizeInt4(model, { target: 'cpu', blockSize: 64 });
    const again = await quantizeInt4(model, { target: 'webgpu' });
    expect(again.quantized).toBe(0);
    expect(again.warnings.join('\n')).toMatch(/int4: the model as given has MatMulNBits node '.+', which onnxruntime-web's WebGPU computes wrong \(blocks of 64: .*\): @onnx-forge\/runtime runs such a model on wasm/);
    expect((await quantizeInt4(model, { target: 'cpu' })).warnings.join('\n')).not.toMatch(/computes wrong/);
  });

  it('leaves an already quantized model unchanged with a warning, and refuses bad options', async () => {
    const model = matmulModel(64, 4, 1);
    await quantizeInt4(model);
    const once = model.encode();
    const again = await quantizeInt4(model);
    expect(again.warnings.join(' ')).toMatch(/already quantized \(it holds 1 MatMulNBits\)/);
    expect(Buffer.compare(model.encode(), once)).toBe(0);
    expect(() => int4({ blockSize: 48 })).toThrow(/must be 16, 32, 64, 128 or 256/);
    expect(() => int4({ accuracyLevel: 5 })).toThrow(/must be 0, 1, 2, 3 or 4/);
    expect(() => int4({ ops: ['Conv'] })).toThrow(/int4 quantizes MatMul, Gather/);
    expect(() => int4.fromText({ method: 'hqq' })).toThrow(/method/);
  });

  it('on a model of Gemm layers (a wake-word head) says 8-bit quantize is what takes them', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', ['M', 64]);
    const w = b.initializer('W', new Rng(3).fillNormalish(new Float32Array(64 * 8), 1), [8, 64]);
    b.output(b.op('Gemm', [x, w], { transB: 1 }), 'float32', ['M', 8]);
    const r = await quantizeInt4(b.build());
    expect(r.quantized).toBe(0);
    expect(r.warnings.join(' ')).toMatch(/its 1 Gemm node with a constant weight is quantized by 8-bit quantize \(int8-dynamic\), not by 4-bit MatMulNBits/);
    // Without a Gemm the warning says nothing of it.
    const plain = new ModelBuilder({ opset: 17 });
    plain.output(plain.op('Relu', [plain.input('x', 'float32', [4])]), 'float32', [4]);
    expect((await quantizeInt4(plain.build())).warnings.join(' ')).not.toMatch(/Gemm/);
  });
});
