/** Where a pool worker starts from, and what it is told at start. */
export interface WorkerLocation {
  readonly url: URL;
  readonly workerData: Record<string, unknown>;
}

/**
 * Finds the worker entry: the built .js beside this module, or, when running from the TypeScript
 * sources (vitest, tsx), the .ts entry started through a bootstrap that registers tsx in the worker.
 * An override may be a .js file, or a .ts file when running from sources (e.g. an entry that imports
 * ./pool-worker.js after registering custom operators).
 */
export function locateWorker(override?: string | URL): WorkerLocation {
  const here = import.meta.url;
  const isTs = (u: string) => /\.[mc]?ts$/.test(new URL(u).pathname);
  const entry = override === undefined ? (isTs(here) ? new URL('./pool-worker.ts', here) : new URL('./pool-worker.js', here)) : new URL(String(override));
  if (isTs(entry.href)) return { url: new URL('./worker-bootstrap.mjs', here), workerData: { entry: entry.href } };
  return { url: entry, workerData: {} };
}
