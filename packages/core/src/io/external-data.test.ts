import { closeSync, mkdirSync, openSync, readdirSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkModel } from '../checker/checker.js';
import { decodeModel, encodeModel } from '../codec/codec.js';
import { ForgeErrorCode } from '../errors.js';
import { tensorToArray } from '../ir/tensor.js';
import { onnx } from '../proto/onnx.generated.js';
import type { TensorProto } from '../proto/types.js';
import { forgeRejection as rejection } from '../testing/forge-rejection.js';
import { tempFolders } from '../testing/temp-folders.js';
import { readModel, writeModel } from './model-io.js';
import { externalLocations } from './external-data.js';
import { openModel } from './open-model.js';
import { externalAt } from './testing/external-at.js';

const folder = tempFolders('forge-ext-', afterAll);

/** The model of `externalAt(location)` with extra external_data entries (offset, length). */
function externalWith(location: string, entries: Record<string, string>): Uint8Array {
  const proto = decodeModel(externalAt(location));
  const t = proto.graph?.initializer[0] as TensorProto;
  for (const [key, value] of Object.entries(entries)) t.externalData.push(new onnx.StringStringEntryProto({ key, value }));
  return encodeModel(proto);
}

const readers = [
  ['readModel', (file: string) => readModel(file)],
  ['readModel lazy', (file: string) => readModel(file, { weights: 'lazy' })],
  ['openModel', (file: string) => openModel(file)],
] as const;

describe('external data behind a symbolic link', () => {
  it('refuses a link in the model\'s folder that leads outside it (its bytes would end up in the output)', async () => {
    const dir = folder();
    mkdirSync(join(dir, 'model'));
    mkdirSync(join(dir, 'private'));
    writeFileSync(join(dir, 'private', 'secret.bin'), new Uint8Array(16).fill(7));
    symlinkSync(join(dir, 'private', 'secret.bin'), join(dir, 'model', 'weights.bin'));
    writeFileSync(join(dir, 'model', 'model.onnx'), externalAt('weights.bin'));
    for (const [name, read] of readers) {
      const e = await rejection(read(join(dir, 'model', 'model.onnx')));
      expect(e.code, name).toBe(ForgeErrorCode.EXTERNAL_DATA);
      expect(e.message, name).toMatch(/tensor "w": external data location "weights\.bin" is a link to .*outside the model's folder/);
    }
  });

  it('refuses a linked folder that leads outside the model\'s folder', async () => {
    const dir = folder();
    mkdirSync(join(dir, 'model'));
    mkdirSync(join(dir, 'private'));
    writeFileSync(join(dir, 'private', 'secret.bin'), new Uint8Array(16));
    symlinkSync(join(dir, 'private'), join(dir, 'model', 'data'), 'dir');
    writeFileSync(join(dir, 'model', 'model.onnx'), externalAt('data/secret.bin'));
    const e = await rejection(readModel(join(dir, 'model', 'model.onnx')));
    expect(e.code).toBe(ForgeErrorCode.EXTERNAL_DATA);
    expect(e.message).toMatch(/outside the model's folder/);
  });

  it('accepts links that stay inside the folder, a model folder reached through a link, and a cache where model and data link into one store', async () => {
    const dir = folder();
    const weights = new Float32Array([1, 2, 3, 4]);
    const bytes = new Uint8Array(weights.buffer);
    // A link inside the folder to a file inside it.
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a', 'real.bin'), bytes);
    symlinkSync('real.bin', join(dir, 'a', 'weights.bin'));
    writeFileSync(join(dir, 'a', 'model.onnx'), externalAt('weights.bin'));
    // The model's folder itself reached through a link.
    symlinkSync(join(dir, 'a'), join(dir, 'a-link'), 'dir');
    // A Hugging Face style cache: snapshot files are links into a blob store, model and data alike.
    mkdirSync(join(dir, 'blobs'));
    mkdirSync(join(dir, 'snapshots'));
    writeFileSync(join(dir, 'blobs', 'm1'), externalAt('weights.bin'));
    writeFileSync(join(dir, 'blobs', 'd1'), bytes);
    symlinkSync('../blobs/m1', join(dir, 'snapshots', 'model.onnx'));
    symlinkSync('../blobs/d1', join(dir, 'snapshots', 'weights.bin'));
    for (const file of [join(dir, 'a', 'model.onnx'), join(dir, 'a-link', 'model.onnx'), join(dir, 'snapshots', 'model.onnx')]) {
      for (const [name, read] of readers) {
        const model = await read(file);
        const t = model.proto.graph?.initializer[0] as TensorProto;
        expect(Array.from(tensorToArray(t) as Float32Array), `${name} ${file}`).toEqual(Array.from(weights));
      }
    }
  });
});

describe('external data offset and length are decimal integers', () => {
  it.each([
    ['offset', '0x4'],
    ['offset', ''],
    ['offset', ' 4'],
    ['offset', '4.0'],
    ['offset', '1e1'],
    ['length', '0x10'],
    ['length', '1.6e1'],
    ['length', '+16'],
  ])('refuses %s "%s" instead of reading some other region', async (key, value) => {
    const dir = folder();
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(64));
    writeFileSync(join(dir, 'model.onnx'), externalWith('weights.bin', { [key]: value }));
    for (const [name, read] of readers) {
      const e = await rejection(read(join(dir, 'model.onnx')));
      expect(e.code, name).toBe(ForgeErrorCode.EXTERNAL_DATA);
      expect(e.message, name).toMatch(/bad external data (offset|length)/);
    }
  });

  it('still reads plain decimal offsets and lengths', async () => {
    const dir = folder();
    const bytes = new Uint8Array(64);
    new Float32Array(bytes.buffer, 16, 4).set([5, 6, 7, 8]);
    writeFileSync(join(dir, 'weights.bin'), bytes);
    writeFileSync(join(dir, 'model.onnx'), externalWith('weights.bin', { offset: '16', length: '16' }));
    for (const [name, read] of readers) {
      const model = await read(join(dir, 'model.onnx'));
      const t = model.proto.graph?.initializer[0] as TensorProto;
      expect(Array.from(tensorToArray(t) as Float32Array), name).toEqual([5, 6, 7, 8]);
    }
  });

  it('without a length, a tensor takes the bytes its dims and type need, as onnxruntime reads it', async () => {
    // Tensors sharing one file by offset alone: reading to the end of the file gave the first one
    // every following tensor's bytes too, and the checker refused a model onnxruntime runs.
    const dir = folder();
    const bytes = new Uint8Array(48);
    new Float32Array(bytes.buffer).set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    writeFileSync(join(dir, 'weights.bin'), bytes);
    for (const [entries, want] of [[{}, [1, 2, 3, 4]], [{ offset: '16' }, [5, 6, 7, 8]], [{ offset: '32' }, [9, 10, 11, 12]]] as const) {
      writeFileSync(join(dir, 'model.onnx'), externalWith('weights.bin', entries));
      for (const [name, read] of readers) {
        const model = await read(join(dir, 'model.onnx'));
        expect(Array.from(tensorToArray(model.proto.graph?.initializer[0] as TensorProto) as Float32Array), `${name} ${JSON.stringify(entries)}`).toEqual(want);
        expect(checkModel(model).ok).toBe(true);
      }
    }
    writeFileSync(join(dir, 'model.onnx'), externalWith('weights.bin', { offset: '40' }));
    for (const [name, read] of readers) {
      const e = await rejection(read(join(dir, 'model.onnx')));
      expect(e.code, name).toBe(ForgeErrorCode.EXTERNAL_DATA);
      expect(e.message, name).toMatch(/\[40, 56\) is past the end/);
    }
  });

  it('reads a region past 4 GiB of a large data file, and only that region', async () => {
    // A sparse file: 5 GiB long, one block on disk. Without a length, the rest of the file was read.
    const dir = folder();
    const at = 5 * 2 ** 30 + 64;
    const fd = openSync(join(dir, 'weights.bin'), 'w');
    try {
      writeSync(fd, new Uint8Array(new Float32Array([5, 6, 7, 8]).buffer), 0, 16, at);
    } finally {
      closeSync(fd);
    }
    const cases: Record<string, string>[] = [{ offset: String(at), length: '16' }, { offset: String(at - 16) }];
    for (const entries of cases) {
      writeFileSync(join(dir, 'model.onnx'), externalWith('weights.bin', entries));
      for (const [name, read] of readers) {
        const t = (await read(join(dir, 'model.onnx'))).proto.graph?.initializer[0] as TensorProto;
        const want = entries['length'] ? [5, 6, 7, 8] : [0, 0, 0, 0];
        expect(Array.from(tensorToArray(t) as Float32Array), `${name} ${JSON.stringify(entries)}`).toEqual(want);
      }
    }
  });

  it('writing a model read without its external data refuses a reference with a bad offset', async () => {
    for (const entries of [{ offset: '-16', length: '16' }, { offset: '0x0', length: '16' }, { offset: '0', length: '-1' }]) {
      const dir = folder();
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(64));
      writeFileSync(join(dir, 'model.onnx'), externalWith('weights.bin', entries));
      const model = await readModel(join(dir, 'model.onnx'), { externalData: false });
      const e = await rejection(writeModel(model, join(dir, 'copy.onnx')));
      expect(e.code, JSON.stringify(entries)).toBe(ForgeErrorCode.EXTERNAL_DATA);
      expect(readdirSync(dir).sort()).toEqual(['model.onnx', 'weights.bin']);
    }
  });
});

describe('externalLocations', () => {
  it('names each external data file once, in the order first named, and refuses a tensor with no location', () => {
    const proto = decodeModel(externalAt('a.bin'));
    const twin = (name: string, location: string) => {
      const t = decodeModel(externalAt(location)).graph?.initializer[0] as TensorProto;
      t.name = name;
      proto.graph?.initializer.push(t);
      return t;
    };
    twin('w2', 'b.bin');
    twin('w3', 'a.bin');
    expect(externalLocations(proto)).toEqual(['a.bin', 'b.bin']);
    const lost = twin('w4', 'c.bin');
    lost.externalData = lost.externalData.filter((e) => e.key !== 'location');
    expect(() => externalLocations(proto)).toThrow(/^tensor "w4": external data has no "location"$/);
  });
});
