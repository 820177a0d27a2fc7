/**
 * What a source file is for. 'source' files are published and held to the layer rules; 'test' files
 * (tests, their helpers and fixtures) and 'script' files (a project's scripts/ folder: generators,
 * probes, benchmarks) run only in the workspace and may use what they need, except an app.
 */
export type FileRole = 'source' | 'test' | 'script';

/**
 * Test fixtures that are neither `*.test.ts` nor under a `testing/` folder, each with the reason it
 * sits where it does. Keep this list short: a new helper belongs in a `testing/` folder.
 */
export const TEST_FIXTURES: ReadonlyMap<string, string> = new Map([
  [
    'packages/runtime/src/test-worker.ts',
    "a pool worker entry for tests; it sits beside pool-worker.ts because the pool starts workers by a path next to its own chunk (locate-worker.ts)",
  ],
  ['packages/runtime/src/test-models.ts', "the models test-worker.ts and the runtime's tests share (CRASH_MARKER among them)"],
]);

/**
 * Files that only ever run from the TypeScript sources in the workspace, never from a build: they
 * count as scripts (they may use the workspace's tools) and are not published.
 */
export const WORKSPACE_ONLY: ReadonlyMap<string, string> = new Map([
  [
    'packages/runtime/src/worker-bootstrap.mjs',
    "starts pool workers from the .ts sources under vitest and tsx (it loads tsx); dist/pool-worker.js starts without it",
  ],
]);

const TEST_NAME = /\.(test|spec)\.[cm]?[jt]sx?$/;

/** `file` relative to the workspace root, `projectDir` the folder of the project holding it. */
export function fileRole(file: string, projectDir: string): FileRole {
  const inProject = file.slice(projectDir.length + 1);
  if (inProject.startsWith('scripts/') || WORKSPACE_ONLY.has(file)) return 'script';
  if (TEST_NAME.test(file) || inProject.split('/').includes('testing') || TEST_FIXTURES.has(file)) return 'test';
  return 'source';
}

export function isTestFileName(file: string): boolean {
  return TEST_NAME.test(file);
}
