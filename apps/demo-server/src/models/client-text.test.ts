import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../testing/fixtures.js';
import { PathHider } from './client-text.js';

let dir: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  ({ dir, remove } = await tempDir('client-text'));
  await mkdir(path.join(dir, 'repo'));
});

afterAll(async () => {
  await remove?.();
});

describe('messages for HTTP clients', () => {
  it('names files under the repository relative to it, and the repository itself <repository>', () => {
    const repo = path.join(dir, 'repo');
    const h = new PathHider(repo);
    expect(h.hide(`cannot decode the ONNX model (${repo}/m/2/fp16.onnx): truncated`)).toBe('cannot decode the ONNX model (m/2/fp16.onnx): truncated');
    expect(h.hide(`cannot read "${repo}": ENOENT, stat '${repo}'.`)).toBe(`cannot read "<repository>": ENOENT, stat '<repository>'.`);
  });

  it('leaves other paths alone: a sibling folder whose name starts the same, a node name of the graph', () => {
    const repo = path.join(dir, 'repo');
    const h = new PathHider(repo);
    expect(h.hide(`${repo}2/x.onnx and ${repo}.old`)).toBe(`${repo}2/x.onnx and ${repo}.old`);
    expect(h.hide('node /model/layers.0/Conv failed')).toBe('node /model/layers.0/Conv failed');
  });

  it('hides the folder of a bare model file, a repository given relative to the working directory, and one reached through a link', async () => {
    const file = path.join(dir, 'repo', 'good.onnx');
    expect(new PathHider(file).hide(`cannot decode (${file})`)).toBe('cannot decode (good.onnx)');
    const relative = path.relative(process.cwd(), path.join(dir, 'repo'));
    const h = new PathHider(`${relative}/`);
    expect(h.hide(`(${relative}/a.onnx) (${path.join(dir, 'repo')}/b.onnx)`)).toBe('(a.onnx) (b.onnx)');
    const link = path.join(dir, 'link');
    await symlink(path.join(dir, 'repo'), link);
    expect(new PathHider(link).hide(`(${path.join(dir, 'repo')}/a.onnx) (${link}/b.onnx)`)).toBe('(a.onnx) (b.onnx)');
  });

  it('does not take every dot or slash with it when the repository is the working directory or the root', () => {
    expect(new PathHider('.').hide(`a.onnx in ${process.cwd()}/b.onnx`)).toBe('a.onnx in b.onnx');
    expect(new PathHider('/').hide('/a/b.onnx')).toBe('/a/b.onnx');
  });
});
