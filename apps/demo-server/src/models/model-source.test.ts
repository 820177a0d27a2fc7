// The models a folder holds. Files linked into a folder to serve them together (`ln -s ~/models/*.onnx
// serve/`) are models like the files themselves: the folder used to be served with no model at all.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallCnn, tempDir, writeModels } from '../testing/fixtures.js';
import { scanModels } from './model-source.js';

let dir: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  ({ dir, remove } = await tempDir('model-source'));
  await mkdir(path.join(dir, 'elsewhere'));
  await mkdir(path.join(dir, 'served'));
  await writeModels(path.join(dir, 'elsewhere'), { linked: smallCnn() });
  await writeModels(path.join(dir, 'served'), { plain: smallCnn() });
  await symlink(path.join(dir, 'elsewhere', 'linked.onnx'), path.join(dir, 'served', 'linked.onnx'));
  // A link to nothing, and a link to a folder named like a model: neither is a model file.
  await symlink(path.join(dir, 'elsewhere', 'gone.onnx'), path.join(dir, 'served', 'dangling.onnx'));
  await symlink(path.join(dir, 'elsewhere'), path.join(dir, 'served', 'folder.onnx'));
  await writeFile(path.join(dir, 'served', 'notes.txt'), 'not a model');
});

afterAll(async () => {
  await remove?.();
});

describe('scanModels', () => {
  it('serves a model file linked into the folder, named after the link, with the size of its target', async () => {
    const models = await scanModels(path.join(dir, 'served'));
    expect([...models.keys()].sort()).toEqual(['linked', 'plain']);
    const version = await models.get('linked')?.readVersion(1);
    expect(version?.variants).toEqual([{ name: 'linked.onnx', precision: 'fp32', file: path.join(dir, 'served', 'linked.onnx'), bytes: expect.any(Number) }]);
    expect(version?.variants[0]?.bytes).toBeGreaterThan(1000);
  });
});
