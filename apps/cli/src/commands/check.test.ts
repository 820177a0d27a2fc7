import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoStack, jsonOf, runCliProcess } from '../testing/cli-process.js';
import { tempDir, writeCycleModel, writeDuplicateInitializerModel, writeMlp, writeUndefinedInputModel, writeUnsortedModel } from '../testing/fixtures.js';

interface CheckJson {
  file: string;
  valid: boolean;
  errors: number;
  warnings: number;
  problems: { code: string; severity: string; graph: string; node?: string; message: string }[];
}

describe('onnx-forge check', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  beforeAll(async () => {
    await writeMlp(file('valid.onnx'));
    writeCycleModel(file('cycle.onnx'));
    writeUndefinedInputModel(file('undefined-input.onnx'));
    writeFileSync(file('random.onnx'), Uint8Array.from({ length: 200 }, (_, i) => (i * 151 + 7) & 0xff));
  });
  afterAll(() => tmp.cleanup());

  it('exits 0 for a valid model', async () => {
    const r = await runCliProcess(['check', file('valid.onnx')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid\.onnx: valid \(0 errors, \d+ warnings?\)/);
    const j = jsonOf<CheckJson>(await runCliProcess(['check', file('valid.onnx'), '--json']));
    expect(j).toMatchObject({ valid: true, errors: 0 });
  });

  it('exits 3 for a graph with a cycle and names the nodes', async () => {
    const r = await runCliProcess(['check', file('cycle.onnx'), '--json']);
    expect(r.code).toBe(3);
    const j = jsonOf<CheckJson>(r);
    expect(j.valid).toBe(false);
    const cycle = j.problems.find((p) => p.code === 'CHECK_CYCLE');
    expect(cycle).toMatchObject({ severity: 'error', graph: 'main' });
    const text = await runCliProcess(['check', file('cycle.onnx')]);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain('INVALID');
    expect(text.stdout).toContain('CHECK_CYCLE');
  });

  it('exits 3 for an initializer given twice, says onnxruntime runs it with the last, and the command it names repairs it', async () => {
    const r = await runCliProcess(['check', writeDuplicateInitializerModel(file('twice.onnx'))]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('CHECK_DUPLICATE_INITIALIZER');
    expect(r.stdout).toContain(`onnx-forge run ${file('twice.onnx')} --pipeline toposort -o <out.onnx> writes it with one`);
    const once = await runCliProcess(['run', file('twice.onnx'), '--pipeline', 'toposort', '-o', file('once.onnx')]);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stderr).toMatch(/appeared more than once/);
    expect((await runCliProcess(['check', file('once.onnx')])).code).toBe(0);
  });

  it('exits 3 for nodes out of topological order (which fp16 and quantize sort with a warning)', async () => {
    const r = await runCliProcess(['check', writeUnsortedModel(file('unsorted.onnx')), '--json']);
    expect(r.code).toBe(3);
    const j = jsonOf<CheckJson>(r);
    expect(j.valid).toBe(false);
    expect(j.problems.map((p) => p.code)).toEqual(expect.arrayContaining(['CHECK_NOT_TOPOLOGICAL']));
    // The text says how to repair it, and the command it names does.
    const text = await runCliProcess(['check', file('unsorted.onnx')]);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain(`onnx-forge run ${file('unsorted.onnx')} --pipeline toposort -o <out.onnx>`);
    const sorted = await runCliProcess(['run', file('unsorted.onnx'), '--pipeline', 'toposort', '-o', file('sorted.onnx')]);
    expect(sorted.code).toBe(0);
    expect((await runCliProcess(['check', file('sorted.onnx')])).code).toBe(0);
  });

  it('exits 3 for an undefined input, with the node and graph', async () => {
    const r = await runCliProcess(['check', file('undefined-input.onnx'), '--json']);
    expect(r.code).toBe(3);
    const p = jsonOf<CheckJson>(r).problems.find((x) => x.code === 'CHECK_UNDEFINED_INPUT');
    expect(p).toMatchObject({ severity: 'error', node: 'add_ghost', graph: 'main' });
    expect(p?.message).toContain('ghost');
    const text = await runCliProcess(['check', file('undefined-input.onnx')]);
    expect(text.stdout).toMatch(/error\s+CHECK_UNDEFINED_INPUT\s+add_ghost \(Add\) in main/);
  });

  it('exits 3 for a file that is not an ONNX model, with one error line', async () => {
    for (const name of ['random.onnx']) {
      const r = await runCliProcess(['check', file(name)]);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^onnx-forge check: error FORGE_INVALID_MODEL: [^\n]+\n$/);
      assertNoStack(r);
    }
    const j = await runCliProcess(['check', file('random.onnx'), '--json']);
    expect(j.code).toBe(3);
    expect(j.stderr).toBe('');
    const doc = jsonOf<{ error: { code: string; message: string; details: unknown } }>(j);
    expect(Object.keys(doc)).toEqual(['error']);
    expect(doc.error.code).toBe('FORGE_INVALID_MODEL');
    expect(typeof doc.error.message).toBe('string');
    expect(typeof doc.error.details).toBe('object');
  });

  it('exits 2 for a usage error', async () => {
    const missing = await runCliProcess(['check']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("onnx-forge check: error FORGE_INVALID_OPTIONS: missing required argument 'model' (see: onnx-forge check --help)\n");
    const flag = await runCliProcess(['check', file('valid.onnx'), '--jsno']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe("onnx-forge check: error FORGE_INVALID_OPTIONS: unknown option '--jsno' (Did you mean --json?) (see: onnx-forge check --help)\n");
    const extra = await runCliProcess(['check', file('valid.onnx'), 'other.onnx', '--json']);
    expect(extra.code).toBe(2);
    expect(jsonOf<{ error: { code: string } }>(extra).error.code).toBe('FORGE_INVALID_OPTIONS');
    const command = await runCliProcess(['chekc', 'x.onnx']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain("unknown command 'chekc' (Did you mean check?)");
    const none = await runCliProcess([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: onnx-forge [options] [command]');
  });

  it('exits 1 for a missing file', async () => {
    const r = await runCliProcess(['check', file('does-not-exist.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FORGE_IO: cannot read model .*does-not-exist\.onnx.*the file does not exist/);
    assertNoStack(r);
  });

  it('documents its exit codes in --help', async () => {
    const r = await runCliProcess(['check', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: onnx-forge check [options] <model>');
    expect(r.stdout).toMatch(/3\s+when\s+it\s+is\s+not,\s+including\s+a\s+file\s+that\s+is\s+not\s+an\s+ONNX\s+model/);
    expect(r.stdout).toMatch(/does not\s+exist or cannot be read exits 1/);
  });
});
