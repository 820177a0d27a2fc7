import { defineConfig } from 'tsup';

export default defineConfig({
  // The pool's worker is its own entry: createPool starts dist/pool-worker.js, found next to the chunk
  // holding the pool code (see locateWorker).
  entry: ['src/index.ts', 'src/pool-worker.ts', 'src/testing/index.ts'],
  // ESM for import, CommonJS for require; each with its declarations (.d.ts, .d.cts).
  format: ['esm', 'cjs'],
  // CommonJS entries share chunks too, so every entry of the package holds one copy of each module.
  splitting: true,
  // locateWorker and the Node backend read import.meta.url; in the CommonJS build tsup's shim gives it
  // from __filename (the chunk in dist/), so the worker is still found beside it.
  shims: true,
  // The declaration build cannot use the composite project settings (tsup then fails with TS6307).
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
