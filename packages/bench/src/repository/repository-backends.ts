import type { Backend } from '@onnx-forge/hybrid';
import type { CreateSessionOptions } from '@onnx-forge/runtime';
import type { VariantName } from '../optimize/variant-name.js';
import type { RepositoryManifest, VariantStatus } from './manifest.js';
import { readManifest, variantFile } from './read-repository.js';

export interface RepositoryBackendsOptions {
  /** Version to load (default the highest). */
  version?: number;
  /** Variants with these statuses become backends (default ok only: rejected ones stay out). */
  statuses?: readonly VariantStatus[];
  /** Options of every session (backend, providers, threads...). */
  sessionOptions?: CreateSessionOptions;
}

export interface RepositoryBackends {
  manifest: RepositoryManifest & { dir: string };
  /** One per variant, named after it, chosen one first, with its measured file size. */
  backends: Backend[];
  /** 'fp32' when it is among the backends: the reference for HybridModel's accuracy canary. */
  reference: VariantName | undefined;
  chosen: VariantName | null;
}

/**
 * The variants of one repository version as HybridModel backends (sessions over their files), the
 * chosen variant first, FP32 named as the reference: `new HybridModel({ backends, reference })` then
 * serves what optimize measured, and keeps checking it against FP32.
 */
export async function repositoryBackends(repository: string, model: string, options: RepositoryBackendsOptions = {}): Promise<RepositoryBackends> {
  const manifest = await readManifest(repository, model, options.version);
  const statuses = options.statuses ?? ['ok'];
  const picked = manifest.variants
    .filter((v) => v.file !== undefined && statuses.includes(v.status))
    .sort((a, b) => Number(b.name === manifest.chosen) - Number(a.name === manifest.chosen));
  const [{ createSession }, { sessionBackend }] = await Promise.all([import('@onnx-forge/runtime'), import('@onnx-forge/hybrid')]);
  const backends: Backend[] = [];
  try {
    for (const v of picked) {
      const session = await createSession(variantFile(manifest, v.name), { ...options.sessionOptions, precision: v.precision });
      backends.push(sessionBackend(v.name, session, v.bytes === undefined ? {} : { sizeBytes: v.bytes }));
    }
  } catch (e) {
    await Promise.all(backends.map((b) => b.dispose()));
    throw e;
  }
  return { manifest, backends, reference: picked.some((v) => v.name === 'fp32') ? 'fp32' : undefined, chosen: manifest.chosen };
}
