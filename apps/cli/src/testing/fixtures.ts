import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelBuilder, createNode, encodeModel, mlp, onnx, writeModel } from '@onnx-forge/core';

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
