import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { REPO } from './global-setup.js';

/**
 * The release flow of the README ("Releasing"), without publishing: `changeset version` on a copy of
 * the workspace's manifests and changesets config, and `npm publish --dry-run` of every packed package.
 */
const tarballs = inject('tarballs');
const CHANGESET = path.join(path.dirname(createRequire(import.meta.url).resolve('@changesets/cli/package.json')), 'bin.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'onnx-forge-release-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Manifest {
  name: string;
  version: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
}

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Manifest;

function run(command: string, args: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' }, maxBuffer: 16 * 1024 * 1024 }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** The root manifest, every project's manifest and .changeset/config.json, copied to `dir`. */
function copyWorkspaceManifests(dir: string): string[] {
  const root = readJson(path.join(REPO, 'package.json'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: root.name, private: true, workspaces: root.workspaces }, null, 2));
  mkdirSync(path.join(dir, '.changeset'));
  copyFileSync(path.join(REPO, '.changeset/config.json'), path.join(dir, '.changeset/config.json'));
  const projects: string[] = [];
  for (const glob of root.workspaces ?? []) {
    const parent = glob.replace(/\/\*$/, '');
    for (const name of readdirSync(path.join(REPO, parent))) {
      const manifest = path.join(REPO, parent, name, 'package.json');
      if (!existsSync(manifest)) continue;
      mkdirSync(path.join(dir, parent, name), { recursive: true });
      copyFileSync(manifest, path.join(dir, parent, name, 'package.json'));
      projects.push(`${parent}/${name}`);
    }
  }
  return projects;
}

describe('changesets', () => {
  it('changeset version bumps the changed package, writes changelogs, and moves the internal ranges of its dependents', async () => {
    copyWorkspaceManifests(tmp);
    const version = (dir: string) => readJson(path.join(tmp, dir, 'package.json'));
    const before = version('packages/core').version;
    writeFileSync(path.join(tmp, '.changeset/core-feature.md'), '---\n"@onnx-forge/core": minor\n---\n\nA new core API.\n');

    const r = await run(process.execPath, [CHANGESET, 'version'], tmp);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const [major, minor] = before.split('.').map(Number);
    const next = `${major}.${(minor ?? 0) + 1}.0`;
    expect(version('packages/core').version).toBe(next);
    expect(readFileSync(path.join(tmp, 'packages/core/CHANGELOG.md'), 'utf8')).toContain(`## ${next}\n\n### Minor Changes\n\n- A new core API.`);
    // Dependents follow: their range on core moves to the new version, and the @onnx-forge/* packages
    // are linked (one version line), so they are released at the same version with a changelog entry.
    for (const dir of ['packages/graph-ops', 'packages/runtime', 'packages/hybrid', 'packages/convert', 'packages/bench', 'apps/demo-server']) {
      const pj = version(dir);
      expect(pj.version, dir).toBe(next);
      expect(pj.dependencies?.['@onnx-forge/core'], dir).toBe(`^${next}`);
      expect(readFileSync(path.join(tmp, dir, 'CHANGELOG.md'), 'utf8'), dir).toContain(`- Updated dependencies\n  - @onnx-forge/core@${next}`);
    }
    const cli = version('apps/cli');
    expect(cli.version).not.toBe(before);
    expect(cli.dependencies?.['@onnx-forge/core']).toBe(`^${next}`);
    expect(cli.dependencies?.['@onnx-forge/demo-server']).toBe(`^${next}`);
    // The changeset was applied and removed.
    expect(existsSync(path.join(tmp, '.changeset/core-feature.md'))).toBe(false);
  });
});

describe('a release dry run', () => {
  const published = Object.entries(tarballs).filter(([, t]) => t.published);

  // `npm publish --dry-run` packs and reports what it would upload; the only registry call is a login
  // check, which it reports as a warning. Pointed at a closed local port with no retries, the dry run
  // needs no network and stays fast (against the real registry it asks who is logged in).
  it.each(published.map(([name, t]) => [name, t] as const))('npm publish --dry-run %s', async (name, t) => {
    const r = await run('npm', ['publish', t.file, '--dry-run', '--json', '--registry', 'http://127.0.0.1:9/', '--fetch-retries=0'], tmp);
    expect(r.code, r.stderr).toBe(0);
    const report = (JSON.parse(r.stdout) as Record<string, { id: string; files: { path: string }[] }>)[name];
    const pj = JSON.parse(readFileSync(path.join(REPO, t.dir, 'package.json'), 'utf8')) as Manifest;
    expect(report?.id).toBe(`${name}@${pj.version}`);
    expect(report?.files.map((f) => f.path).sort()).toEqual([...t.files].sort());
    expect(r.stderr).toContain('(dry-run)');
  });

  // `changeset publish` runs `npm publish` in each package's folder, where npm first normalizes the
  // manifest and warns of what it had to correct ("bin[onnx-forge]" given as "./bin/..."): nothing may need it.
  it.each(published.map(([name, t]) => [name, t.dir] as const))('npm publish --dry-run in the folder of %s corrects nothing in package.json', async (_, dir) => {
    const r = await run('npm', ['publish', '--dry-run', '--ignore-scripts', '--registry', 'http://127.0.0.1:9/', '--fetch-retries=0'], path.join(REPO, dir));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('auto-corrected');
  });
});
