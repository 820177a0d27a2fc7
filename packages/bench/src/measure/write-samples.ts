import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTensor, dataTypeFromName, encodeTensor, type RunnerFeeds } from '@onnx-forge/core';

/**
 * Samples in memory as a folder of ONNX test data, which the measuring process reads as it reads a
 * folder given (graph-ops' loadSamples): `test_data_set_<n>/input_<k>.pb`, each a TensorProto named
 * after its input. Returns the folder, made in `parent` (the OS temp folder by default).
 */
export async function writeSamples(samples: readonly RunnerFeeds[], parent: string = tmpdir()): Promise<string> {
  const dir = await mkdtemp(join(parent, 'onnx-forge-inputs-'));
  try {
    for (const [n, feeds] of samples.entries()) {
      const set = join(dir, `test_data_set_${n}`);
      await mkdir(set);
      for (const [k, [name, t]] of Object.entries(feeds).entries()) {
        await writeFile(join(set, `input_${k}.pb`), encodeTensor(createTensor(name, dataTypeFromName(t.type), t.dims, t.data)));
      }
    }
    return dir;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
