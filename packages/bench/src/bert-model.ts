import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BERT_BASE, transformerEncoder, writeModel } from '@onnx-forge/core';

/** The workspace root (benchmarks run from sources inside it). */
export const WORKSPACE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Git-ignored folder for generated models and benchmark results. */
export const BENCH_CACHE = join(WORKSPACE_ROOT, '.bench-cache');

/**
 * Cache key of the seeded BERT-base-shaped model: its parameters plus a hash of the builder's sources,
 * so a change to the builder rebuilds the model instead of measuring a stale one.
 */
export function bertModelKey(seed: number): string {
  const builder = join(WORKSPACE_ROOT, 'packages/core/src/builder');
  const hash = createHash('sha256');
  for (const f of ['zoo.ts', 'model-builder.ts', 'random.ts']) hash.update(readFileSync(join(builder, f)));
  const p = BERT_BASE;
  return `bert-base-L${p.layers}-H${p.hidden}-A${p.heads}-I${p.intermediate}-V${p.vocab}-P${p.maxPositions}-T${p.typeVocab}` +
    `${p.pooler ? '-pooler' : ''}-seed${seed}-${hash.digest('hex').slice(0, 10)}`;
}

export interface BertModelFile {
  path: string;
  bytes: number;
  /** Set when this call built the model. */
  built?: { buildMs: number; writeMs: number };
}

/**
 * The seeded BERT-base-shaped model (~440 MB) as a file under .bench-cache/core/, built on first use and
 * shared by every benchmark (core, fp16, int8) so they measure the same bytes.
 */
export async function ensureBertModel(seed: number, log: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<BertModelFile> {
  const dir = join(BENCH_CACHE, 'core');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${bertModelKey(seed)}.onnx`);
  if (existsSync(path)) return { path, bytes: statSync(path).size };
  log(`building ${path} ...`);
  const t0 = performance.now();
  const model = transformerEncoder({ ...BERT_BASE, seed });
  const t1 = performance.now();
  const tmp = `${path}.building`;
  await writeModel(model, tmp);
  renameSync(tmp, path);
  return { path, bytes: statSync(path).size, built: { buildMs: t1 - t0, writeMs: performance.now() - t1 } };
}
