import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import { listRepository, readManifest, variantFile, type RepositoryManifest } from '@onnx-forge/bench';
import type { Precision } from '@onnx-forge/runtime';

/** One model file to serve as a backend of a model version. */
export interface VariantSpec {
  readonly name: string;
  readonly precision: Precision;
  readonly file: string;
  readonly bytes: number | undefined;
}

/** A version ready to load: its variants, the one optimize chose (served first) and the reference. */
export interface VersionSpec {
  readonly version: number;
  readonly variants: readonly VariantSpec[];
  readonly chosen: string | undefined;
  /** The variant the others are checked against (fp32), when served. */
  readonly reference: string | undefined;
  /** The manifest `onnx-forge optimize` wrote, for repository models. */
  readonly manifest: RepositoryManifest | undefined;
}

/** A model found in the repository: its versions on disk and how to read one. */
export interface ModelSpec {
  readonly name: string;
  readonly kind: 'file' | 'repository';
  readonly versions: readonly number[];
  readVersion(version: number): Promise<VersionSpec>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A bare .onnx file: a repository of one model, named after the file's stem, version 1, one variant. */
function fileModel(file: string, bytes: number): ModelSpec {
  const name = path.basename(file).replace(/\.onnx$/i, '');
  return {
    name,
    kind: 'file',
    versions: [1],
    readVersion: async () => ({ version: 1, variants: [{ name: path.basename(file), precision: 'fp32', file, bytes }], chosen: undefined, reference: undefined, manifest: undefined }),
  };
}

/** A model of a repository that `onnx-forge optimize` wrote: numbered versions, each with its manifest. */
function repositoryModel(repository: string, name: string, versions: readonly number[]): ModelSpec {
  return {
    name,
    kind: 'repository',
    versions,
    async readVersion(version) {
      const manifest = await readManifest(repository, name, version);
      // Variants optimize measured and found within tolerance; rejected and failed ones stay out.
      const ok = manifest.variants.filter((v) => v.status === 'ok' && v.file !== undefined);
      const ordered = [...ok].sort((a, b) => Number(b.name === manifest.chosen) - Number(a.name === manifest.chosen));
      const variants = ordered.map((v) => ({ name: v.name, precision: v.precision, file: variantFile(manifest, v.name), bytes: v.bytes }));
      if (variants.length === 0) {
        throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `model ${name} version ${version} has no usable variant (${manifest.reason})`, { details: { model: name, version } });
      }
      return {
        version,
        variants,
        chosen: manifest.chosen ?? undefined,
        reference: ok.some((v) => v.name === 'fp32') ? 'fp32' : undefined,
        manifest,
      };
    },
  };
}

/**
 * The models under `source`: a bare `.onnx` file (one model named after its stem); or a folder holding
 * model folders as `onnx-forge optimize` writes them (`<model>/<version>/manifest.json`) and bare
 * `.onnx` files; or the folder optimize wrote its reports to (its `repository/` is used). Read anew on
 * every call, so models added to the folder can be loaded without a restart.
 */
/**
 * Names a path of the protocol already takes: `GET /v2/models/stats` is the statistics of every model,
 * so a model named so would have metadata no client could reach.
 */
const RESERVED = new Map([['stats', 'GET /v2/models/stats answers the statistics of every model, so its metadata could not be reached']]);

/** Why a model cannot be named `name`, or undefined when it can. */
function nameProblem(name: string): string | undefined {
  if (!NAME.test(name)) return `its model would be named ${JSON.stringify(name)}, and a model name takes letters, digits, '.', '_' and '-', starting with a letter or digit (it goes in URLs: /v2/models/<name>); rename the file`;
  const taken = RESERVED.get(name);
  return taken === undefined ? undefined : `its model would be named ${JSON.stringify(name)}, which the server cannot serve: ${taken}; rename the file`;
}

/**
 * Told of each file left out of a folder because its name cannot be a model's (see scanModels), with
 * the name it would have had.
 */
export type SkippedModel = (file: string, why: string, name: string) => void;

export async function scanModels(source: string, onSkip?: SkippedModel): Promise<Map<string, ModelSpec>> {
  let s;
  try {
    s = await stat(source);
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.IO, `cannot read the model or repository "${source}": ${errorMessage(e)}`, { cause: e, details: { path: source } });
  }
  const models = new Map<string, ModelSpec>();
  const add = (m: ModelSpec, file: string) => {
    const problem = nameProblem(m.name);
    if (problem) {
      // Given by itself, the file is what the user asked to serve: say so rather than serve nothing.
      if (file === source) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `cannot serve "${source}": ${problem}`, { details: { path: source, model: m.name } });
      onSkip?.(file, problem, m.name);
      return;
    }
    if (models.has(m.name)) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `two models in "${source}" are named ${m.name}: rename one of them`, { details: { path: source, model: m.name } });
    }
    models.set(m.name, m);
  };
  if (s.isFile()) {
    if (!/\.onnx$/i.test(source)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `"${source}" is neither an .onnx file nor a model repository folder`, { details: { path: source } });
    add(fileModel(source, s.size), source);
    return models;
  }
  for (const { model, versions } of await listRepository(source)) add(repositoryModel(source, model, versions), path.join(source, model));
  for (const e of await readdir(source, { withFileTypes: true })) {
    // A link to a model file counts as the file (models linked into a folder to serve them together).
    if ((e.isFile() || e.isSymbolicLink()) && /\.onnx$/i.test(e.name)) {
      const file = path.join(source, e.name);
      const target = await stat(file).catch(() => undefined);
      if (target?.isFile()) add(fileModel(file, target.size), file);
    }
  }
  if (models.size === 0) {
    const nested = path.join(source, 'repository');
    const inner = await stat(nested).catch(() => undefined);
    if (inner?.isDirectory()) return scanModels(nested, onSkip);
  }
  return models;
}
