import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelBuilder, Rng, createNode, encodeModel, mlp, nullThrows, onnx, writeModel } from '@onnx-forge/core';

/** Models for the CLI tests, built with the project's model builder and written to a temp folder. */

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onnx-forge-cli-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function writeMlp(file: string, sizes = [16, 32, 4]): Promise<string> {
  await writeModel(mlp({ sizes }), file);
  return file;
}

/** x → Add(x, b) → a → Relu → b: `a` needs `b`, which needs `a`. Encoded as is (nothing checks on encode). */
export function writeCycleModel(file: string): string {
  const b = new ModelBuilder({ graphName: 'cycle' });
  const x = b.input('x', 'float32', [2]);
  b.addNode(createNode('Add', [x, 'b'], ['a'], { name: 'add_needs_b' }));
  b.addNode(createNode('Relu', ['a'], ['b'], { name: 'relu_needs_a' }));
  b.output('b', 'float32', [2]);
  writeFileSync(file, encodeModel(b.buildProto()));
  return file;
}

/** A node reading a value that nothing defines. */
export function writeUndefinedInputModel(file: string): string {
  const b = new ModelBuilder({ graphName: 'undefined_input' });
  const x = b.input('x', 'float32', [2]);
  const y = b.op('Add', [x, 'ghost'], {}, { name: 'add_ghost', outputs: ['y'] });
  b.output(y, 'float32', [2]);
  writeFileSync(file, encodeModel(b.buildProto()));
  return file;
}

/**
 * A model with everything inspect reports: an If whose then-branch holds another If (subgraph depth
 * 2), a model-local function and a call to it, metadata, symbolic dimensions, a second opset, and
 * weights written to an external data file.
 */
export async function writeRichModel(file: string): Promise<string> {
  const b = new ModelBuilder({ graphName: 'rich', opsets: { 'local.fns': 1 } });
  const x = b.input('x', 'float32', ['batch', 64]);
  const cond = b.input('cond', 'bool', []);
  const w = b.initializer('w', new Float32Array(64 * 64).fill(0.5), [64, 64]);
  const h = b.op('MatMul', [x, w], {}, { name: 'matmul' });
  const inner = (tag: string) =>
    b.subgraph(`inner_${tag}`, (g) => {
      const r = g.op('Relu', [h], {}, { name: `relu_${tag}` });
      g.output(r, 'float32', ['batch', 64]);
    });
  const thenBranch = b.subgraph('then', (g) => {
    const y = g.op('If', [cond], { then_branch: inner('a'), else_branch: inner('b') }, { name: 'inner_if' });
    g.output(y, 'float32', ['batch', 64]);
  });
  const elseBranch = b.subgraph('else', (g) => {
    const y = g.op('Neg', [h], {}, { name: 'neg' });
    g.output(y, 'float32', ['batch', 64]);
  });
  const branched = b.op('If', [cond], { then_branch: thenBranch, else_branch: elseBranch }, { name: 'outer_if' });
  const out = b.op('Double', [branched], {}, { name: 'call_double', domain: 'local.fns', outputs: ['out'] });
  b.output(out, 'float32', ['batch', 64]);
  const proto = b.buildProto();
  proto.functions.push(
    new onnx.FunctionProto({
      name: 'Double',
      domain: 'local.fns',
      input: ['v'],
      output: ['r'],
      node: [createNode('Add', ['v', 'v'], ['r'], { name: 'double_add' })],
      opsetImport: [new onnx.OperatorSetIdProto({ domain: '', version: 17 })],
    }),
  );
  proto.metadataProps.push(new onnx.StringStringEntryProto({ key: 'author', value: 'cli tests' }));
  await writeModel(proto, file, { externalData: { threshold: 1024 } });
  return file;
}

const normal = (rng: Rng, n: number, std: number) => rng.fillNormalish(new Float32Array(n), std);

/**
 * A probability map after logits too large for float16, as segmentation heads have: a dense head
 * gives logits of about 4e4, reshaped and transposed into [batch, 1, 8, 8] (onnxruntime keeps two
 * data-movement ops in a row in float16, even on its CPU), refined by a 3x3 Conv that subtracts
 * neighbours, then Sigmoid. In float16 the logits overflow and inf - inf is NaN; float32 is finite.
 * A second output z = Relu(x V) converts well.
 */
export async function writeOverflowModel(file: string): Promise<string> {
  const rng = new Rng(3);
  const scale = 4e4;
  const b = new ModelBuilder({ opset: 17, graphName: 'large_logits' });
  const x = b.input('x', 'float32', ['batch', 32]);
  const logits = b.op('MatMul', [x, b.initializer('head.weight', normal(rng, 32 * 64, scale / Math.sqrt(32)), [32, 64])], {}, { name: 'head' });
  const map = b.op('Transpose', [b.op('Reshape', [logits, b.constant([-1, 1, 8, 8], 'int64')], {}, { name: 'to_map' })], { perm: [0, 1, 3, 2] }, { name: 'transpose' });
  const kernel = Float32Array.from([-1, -1, -1, -1, 8, -1, -1, -1, -1], (v) => v / scale);
  const refined = b.op('Conv', [map, b.initializer('refine.weight', kernel, [1, 1, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'refine' });
  b.output(b.op('Sigmoid', [refined], {}, { name: 'sigmoid', outputs: ['y'] }), 'float32', ['batch', 1, 8, 8]);
  const z = b.op('Relu', [b.op('MatMul', [x, b.initializer('side.weight', normal(rng, 32 * 16, 0.3), [32, 16])], {}, { name: 'side' })], {}, { name: 'relu', outputs: ['z'] });
  b.output(z, 'float32', ['batch', 16]);
  await writeModel(b.build(), file);
  return file;
}

/**
 * An activation outlier that dynamic INT8 cannot hold: one feature of x is scaled by 1000 before
 * `first_matmul`, whose run-time uint8 scale then rounds every other feature to zero, while its
 * weight row is small; `second_matmul` after it quantizes well.
 */
export async function writeOutlierModel(file: string): Promise<string> {
  const rng = new Rng(4);
  const b = new ModelBuilder({ opset: 17, graphName: 'outlier' });
  const x = b.input('x', 'float32', ['batch', 16]);
  const gain = new Float32Array(16).fill(1);
  gain[0] = 1000;
  const scaled = b.op('Mul', [x, b.initializer('gain', gain, [16])], {}, { name: 'scale_features' });
  const w1 = normal(rng, 16 * 32, 0.5);
  for (let j = 0; j < 32; j++) w1[j] = 0.0005;
  const h = b.op('MatMul', [scaled, b.initializer('w1', w1, [16, 32])], {}, { name: 'first_matmul' });
  const r = b.op('Relu', [h], {}, { name: 'relu' });
  const y = b.op('MatMul', [r, b.initializer('w2', normal(rng, 32 * 8, 0.5), [32, 8])], {}, { name: 'second_matmul', outputs: ['y'] });
  b.output(y, 'float32', ['batch', 8]);
  await writeModel(b.build(), file);
  return file;
}

/** The MLP with its nodes stored in reverse order (onnxruntime sorts such models; the checker flags them). */
export function writeUnsortedModel(file: string): string {
  const proto = mlp({ sizes: [16, 32, 4] }).proto;
  const graph = nullThrows(proto.graph, 'mlp() builds a graph');
  graph.node = [...graph.node].reverse();
  writeFileSync(file, encodeModel(proto));
  return file;
}

/** The MLP with its first initializer given twice, the copy last (onnxruntime runs it with the last; the checker flags it). */
export function writeDuplicateInitializerModel(file: string): string {
  const proto = mlp({ sizes: [16, 32, 4] }).proto;
  const graph = nullThrows(proto.graph, 'mlp() builds a graph');
  graph.initializer = [...graph.initializer, nullThrows(graph.initializer[0], 'mlp() has weights')];
  writeFileSync(file, encodeModel(proto));
  return file;
}

/**
 * A model onnx-forge's checker accepts and onnxruntime fails to run: the Reshape to [3, 7] cannot
 * hold the 32 values of a row.
 */
export async function writeRuntimeFailureModel(file: string): Promise<string> {
  const b = new ModelBuilder({ opset: 17, graphName: 'fails_at_run' });
  const x = b.input('x', 'float32', ['batch', 32]);
  const w = b.initializer('w', normal(new Rng(6), 32 * 32, 0.5), [32, 32]);
  const h = b.op('MatMul', [x, w], {}, { name: 'matmul' });
  const r = b.op('Reshape', [h, b.constant([3, 7], 'int64')], {}, { name: 'bad_reshape' });
  b.output(b.op('ReduceSum', [r, b.constant([1], 'int64')], { keepdims: 1 }, { outputs: ['y'] }), 'float32', ['rows', 'cols']);
  await writeModel(b.build(), file);
  return file;
}

/** A model with no weight INT8 could quantize: y = Relu(x) + x. */
export async function writeNoWeightsModel(file: string): Promise<string> {
  const b = new ModelBuilder({ opset: 17, graphName: 'no_weights' });
  const x = b.input('x', 'float32', ['batch', 8]);
  b.output(b.op('Add', [b.op('Relu', [x]), x], {}, { outputs: ['y'] }), 'float32', ['batch', 8]);
  await writeModel(b.build(), file);
  return file;
}

/**
 * `writeMlp(file, sizes)`'s model with every node named "layer": onnxruntime refuses it ("two nodes
 * with same node name"), the checker flags it, and the commands that write a model rename the
 * later nodes. `writeMlp` with the same sizes gives the float32 reference to compare with.
 */
export async function writeDuplicateNamesModel(file: string, sizes = [16, 32, 4]): Promise<string> {
  const model = mlp({ sizes });
  for (const node of model.graph.nodes) node.name = 'layer';
  model.invalidate();
  await writeModel(model, file);
  return file;
}
