import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import type { VariantName } from '../optimize/variant-name.js';
import { MANIFEST_FILE, validateManifest, type RepositoryManifest } from './manifest.js';
import { listVersions } from './version-stager.js';

/** Models of a repository folder (subfolders holding at least one numbered version) and their versions. */
export async function listRepository(repository: string): Promise<{ model: string; versions: number[] }[]> {
  let entries;
  try {
    entries = await readdir(repository, { withFileTypes: true });
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.IO, `cannot read the model repository "${repository}": ${errorMessage(e)}`, { cause: e, details: { path: repository } });
  }
  const out: { model: string; versions: number[] }[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    // A link to a model folder counts as the folder (models linked into one repository to serve them together).
    const folder = e.isDirectory() || (e.isSymbolicLink() && (await stat(join(repository, e.name)).then((st) => st.isDirectory(), () => false)));
    if (!folder) continue;
    const versions = await listVersions(join(repository, e.name));
    if (versions.length) out.push({ model: e.name, versions });
  }
  return out.sort((a, b) => a.model.localeCompare(b.model));
}

/** A version's manifest, checked (the highest version when none is given). */
export async function readManifest(repository: string, model: string, version?: number): Promise<RepositoryManifest & { dir: string }> {
  const v = version ?? (await listVersions(join(repository, model))).pop();
  if (v === undefined) throw new ForgeError(ForgeErrorCode.IO, `the repository "${repository}" has no version of model "${model}"`, { details: { path: join(repository, model) } });
  const dir = join(repository, model, String(v));
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.IO, `cannot read "${file}": ${errorMessage(e)}`, { cause: e, details: { path: file } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.BAD_INPUT, `"${file}" is not valid JSON: ${errorMessage(e)}`, { cause: e, details: { path: file } });
  }
  const manifest = validateManifest(json);
  if (manifest.model !== model || manifest.version !== v) {
    throw new ForgeError(ForgeErrorCode.BAD_INPUT, `"${file}" says it is ${manifest.model} version ${manifest.version}, but it sits in ${model}/${v}`, { details: { path: file } });
  }
  return { ...manifest, dir };
}

/** Path of a variant's model file in a version (the chosen one when none is named). */
export function variantFile(manifest: RepositoryManifest & { dir: string }, variant?: VariantName): string {
  const name = variant ?? manifest.chosen;
  const v = manifest.variants.find((x) => x.name === name);
  if (!name || !v?.file) {
    throw new ForgeError(ForgeErrorCode.BAD_INPUT, name ? `${manifest.model} version ${manifest.version} has no file for variant ${name} (status ${v?.status ?? 'absent'})` : `${manifest.model} version ${manifest.version} has no chosen variant: ${manifest.reason}`, {
      details: { model: manifest.model, version: manifest.version, variant: name },
    });
  }
  return join(manifest.dir, v.file);
}
