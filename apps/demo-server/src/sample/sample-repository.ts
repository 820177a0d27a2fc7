import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { cnn, writeModel } from '@onnx-forge/core';
import { listRepository, optimizeModel } from '@onnx-forge/bench';

/** Name of the sample in the repository. */
export const SAMPLE_MODEL = 'sample-cnn';

/**
 * A model repository holding the sample: a seeded CNN (image [batch, 3, 32, 32] → logits [batch, 10])
 * built by core's model builder, and its FP16 and INT8 variants made, measured and chosen by bench's
 * optimize workflow, the same as `onnx-forge optimize` would. Made once under `cacheDir`; later starts
 * find it there.
 */
export async function ensureSampleRepository(cacheDir: string, log: (line: string) => void = () => undefined): Promise<string> {
  const out = path.join(cacheDir, 'sample');
  const repository = path.join(out, 'repository');
  const existing = await stat(repository).then(() => listRepository(repository), () => []);
  if (existing.some((m) => m.model === SAMPLE_MODEL)) return repository;
  const t0 = performance.now();
  log(`making the sample model and its variants in ${out} (first start only)`);
  await mkdir(out, { recursive: true });
  const file = path.join(out, `${SAMPLE_MODEL}.onnx`);
  await writeModel(cnn({ channels: [16, 32, 64], imageSize: 32, classes: 10, seed: 12 }), file);
  const result = await optimizeModel(file, { out, name: SAMPLE_MODEL, variants: ['fp32', 'fp16', 'int8-dynamic'], runs: 20, warmup: 3, samples: 4, reports: true });
  log(`sample ready in ${Math.round(performance.now() - t0)} ms: ${result.reason}`);
  return repository;
}
