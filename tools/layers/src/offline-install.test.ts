import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './testing/repo-root.js';

// `npm install` of the workspace, or of any one workspace, must work without a network beyond the
// registry's tarballs: no install script may fetch anything else. onnxruntime-node's postinstall
// downloads the CUDA provider libraries from NuGet unless told to skip (ANCHORS.md, onnxruntime in
// JavaScript), which the root .npmrc does; every other package with an install script is listed here
// with why it needs nothing else, so a new one fails this test until someone looks at what it does.

const root = REPO_ROOT;

interface LockEntry {
  version?: string;
  hasInstallScript?: boolean;
  optionalDependencies?: Record<string, string>;
  link?: boolean;
}
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
const packages = Object.entries(lock.packages);

/** The package name of a lock key (`node_modules/a/node_modules/@s/b` -> `@s/b`). */
const nameOf = (key: string) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);

/** Where npm resolves `dep` from the package at `key`: its own node_modules, then each enclosing one. */
function resolveInLock(key: string, dep: string): LockEntry | undefined {
  for (let dir = key; ; ) {
    const hit = lock.packages[`${dir ? `${dir}/` : ''}node_modules/${dep}`];
    if (hit) return hit;
    if (!dir) return undefined;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

/**
 * The environment without npm's own variables: a test started through npm or npx inherits
 * npm_config_* (the setting among them), which would answer for the .npmrc.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  // Without FORCE_COLOR (Nx sets it for its tasks), `node -p` prints plain values.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'ONNXRUNTIME_NODE_INSTALL' && k !== 'FORCE_COLOR'));
  return { ...env, NO_COLOR: '1' };
}

/** The value npm hands the install scripts of a package as `npm_config_onnxruntime_node_install`, run from `cwd`. */
function npmConfigSeenBy(cwd: string): string {
  return execFileSync('npm', ['exec', '-c', 'node -p "process.env.npm_config_onnxruntime_node_install"'], {
    cwd, env: cleanEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
}

describe('installing the workspace offline', () => {
  it('the root .npmrc tells onnxruntime-node to skip its download, and no workspace overrides it', () => {
    const npmrc = readFileSync(path.join(root, '.npmrc'), 'utf8');
    const settings = npmrc.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith(';'));
    expect(settings).toContain('onnxruntime-node-install=skip');
    const workspaces = packages.filter(([key, e]) => key && !key.includes('node_modules/') && !e.link).map(([key]) => key);
    expect(workspaces).toEqual(expect.arrayContaining(['apps/cli', 'packages/core', 'packages/runtime']));
    for (const ws of workspaces) expect(existsSync(path.join(root, ws, '.npmrc')), `${ws}/.npmrc`).toBe(false);
  });

  it('npm passes the setting to install scripts, from the root and from a workspace, and onnxruntime-node reads it as "skip"', () => {
    // npm 11 warns that it does not know this key ("will stop working in the next major version"), and
    // still passes it on. Under a later npm, ONNXRUNTIME_NODE_INSTALL=skip in the environment does the same.
    expect(npmConfigSeenBy(root)).toBe('skip');
    expect(npmConfigSeenBy(path.join(root, 'apps/cli'))).toBe('skip');
    const utils = path.join(root, 'node_modules/onnxruntime-node/script/install-utils.js');
    const flag = execFileSync(process.execPath, ['-p', `require(${JSON.stringify(utils)}).parseInstallFlag()`], {
      env: { ...cleanEnv(), npm_config_onnxruntime_node_install: 'skip' },
      encoding: 'utf8',
    }).trim();
    // false: install.js exits at once, before it looks for anything to download.
    expect(flag).toBe('false');
  });

  it('every package with an install script is one whose script needs nothing from the network', () => {
    const scripted = packages.filter(([key, e]) => key && e.hasInstallScript).map(([key]) => nameOf(key));
    const known: Record<string, string> = {
      'onnxruntime-node': 'downloads the CUDA libraries unless onnxruntime-node-install=skip (tested above)',
      esbuild: 'checks that its platform binary, an optional dependency in the lock file, is installed (tested below)',
      nx: 'post-install only updates the Nx Cloud client when nx.json uses Nx Cloud, and always exits 0',
      protobufjs: 'post-install compares version ranges in the parent package.json, locally',
    };
    expect(scripted.filter((name) => !(name in known)), 'install scripts nobody has looked at').toEqual([]);
    // Workspaces run no install scripts of their own.
    for (const [key, e] of packages) if (key && !key.includes('node_modules/')) expect(e.hasInstallScript, key).toBeUndefined();
  });

  it("esbuild's platform binaries are in the lock file, so its postinstall finds one and fetches nothing", () => {
    const esbuilds = packages.filter(([key]) => nameOf(key) === 'esbuild');
    expect(esbuilds.length).toBeGreaterThan(0);
    for (const [key, e] of esbuilds) {
      const platforms = Object.entries(e.optionalDependencies ?? {});
      expect(platforms.map(([name]) => name), key).toContain('@esbuild/linux-x64');
      for (const [name, version] of platforms) expect(resolveInLock(key, name)?.version, `${key} -> ${name}`).toBe(version);
    }
  });

  it('nx never connects to Nx Cloud, so its post-install has nothing to fetch', () => {
    const nx = JSON.parse(readFileSync(path.join(root, 'nx.json'), 'utf8')) as Record<string, unknown>;
    expect(nx.neverConnectToCloud).toBe(true);
    expect(nx.nxCloudId ?? nx.nxCloudAccessToken).toBeUndefined();
  });
});
