import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openModel } from '@onnx-forge/core';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, writeRichModel } from '../testing/fixtures.js';
import { printSummary } from './print-summary.js';
import { summarizeModel, type ExternalFileSummary } from './summarize-model.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** The rich model (one external tensor, 16384 bytes) in a folder of its own, its weight pointing at `location`. */
async function inspectAt(name: string, location: string, prepare?: (dir: string) => void): Promise<{ file: ExternalFileSummary; text: string[] }> {
  const dir = path.join(tmp.dir, name, 'model');
  mkdirSync(dir, { recursive: true });
  const file = await writeRichModel(path.join(dir, 'm.onnx'));
  prepare?.(dir);
  const model = await openModel(file, { externalData: false });
  for (const tensor of model.graph.initializers) {
    for (const e of tensor.externalData) if (e.key === 'location') e.value = location;
  }
  const summary = summarizeModel(model, file);
  return { file: summary.externalData.files[0] as ExternalFileSummary, text: printSummary(summary) };
}

describe('inspect: external data locations that check and the conversions refuse', () => {
  it('warns about a location outside the model folder, and does not look at that file', async () => {
    const { file, text } = await inspectAt('up', '../outside/secret.data', (dir) => {
      mkdirSync(path.join(dir, '..', 'outside'));
      writeFileSync(path.join(dir, '..', 'outside', 'secret.data'), new Uint8Array(20000));
    });
    expect(file).toMatchObject({ location: '../outside/secret.data', fileBytes: null, missing: false, truncated: false });
    expect(file.problem).toMatch(/"\.\.\/outside\/secret\.data" points outside the model's folder/);
    expect(text.join('\n')).toMatch(/\.\.\/outside\/secret\.data .*REFUSED/);
    expect(text).toContainEqual(expect.stringMatching(/^ {2}warning: external data location "\.\.\/outside\/secret\.data" points outside the model's folder .*check/));
  });

  it('warns about an absolute location', async () => {
    const outside = path.join(tmp.dir, 'abs-secret.data');
    writeFileSync(outside, new Uint8Array(20000));
    const { file, text } = await inspectAt('abs', outside);
    expect(file).toMatchObject({ fileBytes: null, missing: false });
    expect(file.problem).toMatch(/is absolute/);
    expect(text.join('\n')).toMatch(/warning: .*is absolute/);
  });

  it('warns about a file in the folder that is a link leading outside it', async () => {
    const { file, text } = await inspectAt('link', 'link.data', (dir) => {
      renameSync(path.join(dir, 'm.onnx.data'), path.join(dir, '..', 'secret.data'));
      symlinkSync(path.join(dir, '..', 'secret.data'), path.join(dir, 'link.data'));
    });
    expect(file.problem).toMatch(/"link\.data" is a link to .*secret\.data", outside the model's folder/);
    expect(text.join('\n')).toMatch(/link\.data .*REFUSED/);
  });

  it('says nothing about usable locations: a name starting with two dots, a link within the folder', async () => {
    const dots = await inspectAt('dots', '..data', (dir) => renameSync(path.join(dir, 'm.onnx.data'), path.join(dir, '..data')));
    expect(dots.file).toEqual({ location: '..data', tensors: 1, elements: 4096, bytes: 16384, fileBytes: 16384, missing: false, truncated: false });
    expect(dots.text.join('\n')).not.toMatch(/warning|REFUSED/);
    const linked = await inspectAt('inner-link', 'link.data', (dir) => symlinkSync('m.onnx.data', path.join(dir, 'link.data')));
    expect(linked.file).toEqual({ location: 'link.data', tensors: 1, elements: 4096, bytes: 16384, fileBytes: 16384, missing: false, truncated: false });
    const gone = await inspectAt('gone', 'nope.data');
    expect(gone.file).toMatchObject({ fileBytes: null, missing: true });
    expect(gone.file.problem).toBeUndefined();
  });
});
